/* The lines and JSON keys push, fetch and pull share (cmd.h): versions
 * renumbered, pointer files rewritten, models moved, the counts of one
 * sync with a remote. */
#include "cmd.h"
#include "p4reg/output.h"
#include "p4reg/pointer.h"
#include "p4reg/remote.h"
#include "p4reg/sync.h"

void cmd_sync_print_renumbered(p4r_cli *cli, const p4r_sync_result *res)
{
	size_t i;

	if (cli->json || cli->quiet)
		return;
	for (i = 0; i < res->nrenumbered; i++)
		printf("renumbered %s@%lld -> %s@%lld (the remote had taken its number)\n",
		       p4r_escape(res->renumbered[i].model), (long long)res->renumbered[i].from,
		       p4r_escape(res->renumbered[i].model), (long long)res->renumbered[i].to);
	for (i = 0; i < res->nrewritten; i++)
		printf("rewrote pointer %s%s\n", p4r_escape(res->rewritten[i]), P4R_POINTER_SUFFIX);
}

void cmd_sync_json(cJSON *doc, const p4r_remote *r, const p4r_sync_result *res)
{
	cmd_sync_json_named(doc, r->name, res);
}

void cmd_sync_json_named(cJSON *doc, const char *name, const p4r_sync_result *res)
{
	cJSON *o, *arr;
	size_t i;

	cJSON_AddStringToObject(doc, "remote", name);
	o = cJSON_AddObjectToObject(doc, "objects");
	cJSON_AddNumberToObject(o, "sent", (double)res->objects_sent);
	cJSON_AddNumberToObject(o, "bytes_sent", (double)res->bytes_sent);
	cJSON_AddNumberToObject(o, "received", (double)res->objects_received);
	cJSON_AddNumberToObject(o, "bytes_received", (double)res->bytes_received);
	cJSON_AddNumberToObject(o, "already_present", (double)res->objects_present);
	o = cJSON_AddObjectToObject(doc, "events");
	cJSON_AddNumberToObject(o, "applied", (double)res->events_applied);
	cJSON_AddNumberToObject(o, "batches_applied", (double)res->batches_applied);
	cJSON_AddNumberToObject(o, "published", (double)res->events_published);
	if (res->batch_seq)
		cJSON_AddNumberToObject(o, "batch", (double)res->batch_seq);
	else
		cJSON_AddNullToObject(o, "batch");
	arr = cJSON_AddArrayToObject(doc, "renumbered");
	for (i = 0; arr && i < res->nrenumbered; i++) {
		cJSON *x = cJSON_CreateObject();

		cJSON_AddStringToObject(x, "model", res->renumbered[i].model);
		cJSON_AddNumberToObject(x, "from", (double)res->renumbered[i].from);
		cJSON_AddNumberToObject(x, "to", (double)res->renumbered[i].to);
		cJSON_AddItemToArray(arr, x);
	}
}

void cmd_sync_print_moves(p4r_cli *cli, const p4r_sync_result *res)
{
	size_t i;

	if (cli->json || cli->quiet)
		return;
	for (i = 0; i < res->nmoves; i++) {
		const p4r_sync_move *m = &res->moves[i];

		printf("model '%s' moved from %s to %s", p4r_escape(m->model), p4r_escape(m->from),
		       p4r_escape(m->to));
		printf(m->actor ? " (by %s)\n" : "\n", m->actor ? p4r_escape(m->actor) : "");
	}
}

void cmd_sync_json_moves(cJSON *doc, const p4r_sync_result *res)
{
	cJSON *arr = cJSON_AddArrayToObject(doc, "moves");
	size_t i;

	for (i = 0; arr && i < res->nmoves; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "model", res->moves[i].model);
		cJSON_AddStringToObject(o, "from", res->moves[i].from);
		cJSON_AddStringToObject(o, "to", res->moves[i].to);
		p4r_json_add_text(o, "actor", res->moves[i].actor);
		cJSON_AddItemToArray(arr, o);
	}
}

void cmd_sync_print_present(const p4r_sync_result *res)
{
	if (res->objects_present)
		printf(", %zu already present", res->objects_present);
	putchar('\n');
}
