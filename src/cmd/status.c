/* p4reg status: each tracked file as clean, modified, missing or
 * object-missing. The stat cache answers for files that did not change. */
#include "cmd.h"
#include "p4reg/ops/status.h"

#include <stdlib.h>

const char cmd_status_usage[] =
	"usage: p4reg status\n"
	"\n"
	"Lists every pointer in the repository with the state of its file:\n"
	"  clean           the file's bytes are the version the pointer names\n"
	"  modified        the bytes differ: 'p4reg add' makes a new version\n"
	"  missing         no file: 'p4reg checkout' restores it\n"
	"  object-missing  the store lacks the version's bytes: 'p4reg pull'\n"
	"                  (or any command that needs them) downloads them\n"
	"  unknown-version the pointer names a version the registry lacks:\n"
	"                  'p4reg fetch' brings the registry up to date\n"
	"  invalid         the pointer cannot be read or parsed, disagrees with the\n"
	"                  registry, or the file is not a regular file\n"
	"  damaged         the store's copy of the version's bytes was changed in\n"
	"                  place (a hard-linked file written to) and is quarantined:\n"
	"                  'p4reg fsck --repair' fetches it from a remote; exit 4\n"
	"  moved           a pointer left at a model's old path by a move fetched\n"
	"                  from a remote (the model is now at the path shown):\n"
	"                  'p4reg mv OLD NEW' finishes the move here\n"
	"A folder model gets one row per file inside it that differs from its\n"
	"version: modified, added (in no version: 'p4reg add FOLDER' takes it),\n"
	"deleted; 'clean FOLDER/' when none does (files its .p4regignore\n"
	"excludes are not reported).\n"
	"Then every registered model whose path git sends to Git LFS (no pointer\n"
	"file), against the Git LFS pointer staged in the git index (else the\n"
	"model's latest version); its object may also be in .git/lfs/objects.\n"
	"Exit 4 when a pointer is invalid or a version damaged, after the whole listing.\n";

static cJSON *json_row(const p4r_status_row *row)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "file", row->rel);
	cJSON_AddStringToObject(o, "state", row->state);
	p4r_json_add_text(o, "model", row->version ? row->model : NULL);
	if (row->version)
		cJSON_AddNumberToObject(o, "version", (double)row->version);
	else
		cJSON_AddNullToObject(o, "version");
	if (row->moved_to)
		cJSON_AddStringToObject(o, "to", row->moved_to);
	if (row->lfs) {
		cJSON_AddBoolToObject(o, "lfs", true);
		cJSON_AddStringToObject(o, "oid", row->oid.hex);
	}
	return o;
}

static void print_row(const p4r_status_row *row)
{
	const char *rel = p4r_escape(row->rel);

	if (row->lfs && row->version)
		printf("%-14s %s (%s@%lld, Git LFS)\n", row->state, rel, row->model, (long long)row->version);
	else if (row->lfs)
		printf("%-14s %s (Git LFS %.12s)\n", row->state, rel, row->oid.hex);
	else if (row->moved_to)
		printf("%-14s %s (%s is now at %s)\n", row->state, rel, row->model, p4r_escape(row->moved_to));
	else if (row->version)
		printf("%-14s %s (%s@%lld)\n", row->state, rel, row->model, (long long)row->version);
	else
		printf("%-14s %s\n", row->state, rel);
}

static int print_json(const p4r_status_result *res)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(doc, "files");
	size_t i;

	for (i = 0; i < res->n; i++)
		cJSON_AddItemToArray(arr, json_row(&res->rows[i]));
	return cmd_print_json(doc);
}

/* Exit 4 after the listing: a version whose stored bytes are gone or
 * stuck, or an invalid pointer (the warnings said which; in JSON mode the
 * document is the answer and the error goes to stderr alone). */
static int verdict(p4r_cli *cli, const p4r_status_result *res)
{
	size_t invalid = res->invalid;
	int rc = cmd_guard_report(cli, &res->damage);

	if (rc == 0 && res->stuck) {
		rc = p4r_error_set(P4R_EINTEGRITY, "stored bytes that changed in place could not be "
				   "moved out of the store (see above); run 'p4reg fsck' with write access");
		if (cli->json) {
			fprintf(stderr, "p4reg: %s\n", p4r_escape(p4r_error_message()));
			cli->reported = true;
		}
	}
	if (rc == 0 && invalid) {
		cli->reported = cli->json;
		rc = p4r_error_set(P4R_EINTEGRITY, "%zu invalid pointer%s (the warning%s above say%s why)",
				   invalid, invalid == 1 ? "" : "s", invalid == 1 ? "" : "s", invalid == 1 ? "s" : "");
	}
	return rc;
}

int cmd_status(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	p4r_status_opts opts = { 0 };
	p4r_status_result res = { 0 };
	cmd_report cr;
	p4r_op_report report = cmd_report_init(&cr, cli);
	size_t i;
	int rc;

	if ((rc = cmd_no_args(cli, "status", argc, argv)) < 0)
		return rc;
	rc = p4r_status(repo, &opts, &report, &res);
	cmd_report_done(&cr);
	/* text: the files judged before an error are still shown */
	for (i = 0; !cli->json && i < res.n; i++)
		print_row(&res.rows[i]);
	if (rc < 0)
		goto done;
	if (cli->json)
		rc = print_json(&res);
	else if (res.n == 0 && !cli->quiet)
		fputs("no tracked files\n", stderr);
	if (rc == 0)
		rc = verdict(cli, &res);
done:
	p4r_status_result_free(&res);
	return rc;
}
