/* p4reg fetch: download registry events (and objects on request). */
#include "cmd.h"
#include "p4reg/output.h"
#include "p4reg/ref.h"
#include "p4reg/remote.h"
#include "p4reg/sync.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const char cmd_fetch_usage[] =
	"usage: p4reg fetch [-r NAME] [--skip-batch SEQ] [--objects] [REF...]\n"
	"\n"
	"Downloads and applies the registry events the remote has and this\n"
	"registry lacks. With --objects, also downloads the object of every\n"
	"version; with REFs (name@3, name@production, name), those versions'\n"
	"objects. Objects are hashed while written to .p4reg/tmp and enter the\n"
	"store only when they match their oid and size (a mismatch exits 4).\n"
	"A batch that cannot apply stops the fetch (exit 4); --skip-batch SEQ\n"
	"skips it for good (never applied here, recorded with its SHA-256, who\n"
	"and why), then fetches the rest.\n"
	"\n"
	"  -r, --remote NAME     the remote (default: core.remote, or the only one)\n"
	"      --skip-batch SEQ  skip batch SEQ, the one a fetch stops at\n"
	"      --objects         download every version's object\n";

enum { OPT_REMOTE = 1, OPT_OBJECTS, OPT_SKIP };

static const p4r_option options[] = {
	{ "remote", 'r', true, OPT_REMOTE },
	{ "objects", 0, false, OPT_OBJECTS },
	{ "skip-batch", 0, true, OPT_SKIP },
	{ NULL, 0, false, 0 },
};

static void print_skip(p4r_cli *cli, const p4r_remote *r, const p4r_skip_result *skip)
{
	if (cli->json || cli->quiet || !skip->seq)
		return;
	printf("skipped batch %lld of '%s' (%s%s); recorded\n", (long long)skip->seq, r->name,
	       skip->sha256[0] ? "sha256:" : "unreadable", skip->sha256);
}

static void json_skip(cJSON *doc, const p4r_skip_result *skip)
{
	cJSON *o;

	if (!skip->seq) {
		cJSON_AddNullToObject(doc, "skipped");
		return;
	}
	o = cJSON_AddObjectToObject(doc, "skipped");
	cJSON_AddNumberToObject(o, "batch", (double)skip->seq);
	p4r_json_add_text(o, "sha256", skip->sha256);
	p4r_json_add_text(o, "error", skip->error);
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

int cmd_fetch(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	cmd_progress progress = { .cli = cli, .label = "fetch" };
	p4r_sync_progress prog = { .fn = cmd_progress_update, .payload = &progress };
	p4r_sync_result res = { 0 };
	p4r_remote *r = NULL;
	const char *name = NULL, *value;
	char **refs = calloc((size_t)argc, sizeof(*refs));
	p4r_oid *oids = NULL;
	int64_t *sizes = NULL;
	size_t nrefs = 0, n = 0, i;
	p4r_skip_result skip = { 0 };
	long long skip_seq = 0;
	bool all = false;
	p4r_opts o;
	int id, rc;

	if (!refs)
		return p4r_error_set(P4R_ERROR, "out of memory");
	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_REMOTE)
			name = value;
		else if (id == OPT_OBJECTS)
			all = true;
		else if (id == OPT_SKIP)
			rc = p4r_parse_int64(&skip_seq, value, 1, INT64_MAX, "--skip-batch");
		else
			refs[nrefs++] = (char *)value;
		if (rc < 0)
			goto done;
	}
	if (rc < 0)
		goto done;
	if (all && nrefs) {
		rc = cmd_usage_error(cli, "--objects fetches every object; give it no REF");
		goto done;
	}
	if ((rc = p4r_remote_open(&r, p4r_repo_config(repo), p4r_repo_meta(repo), name)) < 0 ||
	    (skip_seq && (rc = p4r_sync_skip_batch(repo, r, skip_seq, &skip)) < 0))
		goto done;
	print_skip(cli, r, &skip);
	if ((rc = p4r_sync_fetch_events(repo, r, &res)) < 0)
		goto done;
	if (all) {
		rc = p4r_registry_sync_objects(p4r_repo_registry(repo), NULL, 0, &oids, &sizes, &n);
	} else if (nrefs) {
		oids = calloc(nrefs, sizeof(*oids));
		sizes = calloc(nrefs, sizeof(*sizes));
		if (!oids || !sizes)
			rc = p4r_error_set(P4R_ERROR, "out of memory");
		for (i = 0; rc == 0 && i < nrefs; i++) {
			p4r_version v = { 0 };

			if ((rc = p4r_ref_resolve(repo, refs[i], &v)) < 0)
				break;
			oids[n] = v.oid;
			sizes[n++] = v.size;
			p4r_version_clear(&v);
		}
	}
	if (rc < 0 || (rc = p4r_sync_fetch_objects(repo, r, oids, sizes, n, &prog, &res)) < 0) {
		cmd_progress_done(&progress);
		goto done;
	}
	cmd_progress_done(&progress);
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject();

		cmd_sync_json(doc, r, &res);
		cmd_sync_json_moves(doc, &res);
		json_skip(doc, &skip);
		rc = cmd_print_json(doc);
	} else if (!cli->quiet) {
		char size[32];

		cmd_sync_print_renumbered(cli, &res);
		cmd_sync_print_moves(cli, &res);
		p4r_format_size(size, sizeof(size), res.bytes_received);
		printf("fetched from '%s': %zu event%s in %zu batch%s, %zu object%s (%s)", r->name,
		       res.events_applied, res.events_applied == 1 ? "" : "s", res.batches_applied,
		       res.batches_applied == 1 ? "" : "es", res.objects_received,
		       res.objects_received == 1 ? "" : "s", size);
		cmd_sync_print_present(&res);
	}
done:
	p4r_sync_result_clear(&res);
	p4r_remote_free(r);
	free(oids);
	free(sizes);
	free(refs);
	return rc;
}
