/* p4reg fetch: download registry events (and objects on request). */
#include "cmd.h"
#include "p4reg/ops/fetch.h"
#include "p4reg/output.h"

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

static void print_skip(p4r_cli *cli, const char *remote, const p4r_skip_result *skip)
{
	if (cli->json || cli->quiet || !skip->seq)
		return;
	printf("skipped batch %lld of '%s' (%s%s); recorded\n", (long long)skip->seq, remote,
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

static int print_result(p4r_cli *cli, const p4r_fetch_result *out)
{
	const p4r_sync_result *res = &out->sync;
	char size[32];

	if (cli->json) {
		cJSON *doc = cJSON_CreateObject();

		cmd_sync_json_named(doc, out->remote, res);
		cmd_sync_json_moves(doc, res);
		json_skip(doc, &out->skip);
		return cmd_print_json(doc);
	}
	if (cli->quiet)
		return 0;
	cmd_sync_print_renumbered(cli, res);
	cmd_sync_print_moves(cli, res);
	p4r_format_size(size, sizeof(size), res->bytes_received);
	printf("fetched from '%s': %zu event%s in %zu batch%s, %zu object%s (%s)", out->remote,
	       res->events_applied, res->events_applied == 1 ? "" : "s", res->batches_applied,
	       res->batches_applied == 1 ? "" : "es", res->objects_received,
	       res->objects_received == 1 ? "" : "s", size);
	cmd_sync_print_present(res);
	return 0;
}

int cmd_fetch(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	cmd_report cr;
	p4r_op_report report = cmd_report_init(&cr, cli);
	p4r_fetch_result out = { 0 };
	p4r_fetch_opts fo = { 0 };
	const char *value;
	char **refs = calloc((size_t)argc, sizeof(*refs));
	long long skip_seq = 0;
	p4r_opts o;
	int id, rc;

	if (!refs)
		return p4r_error_set(P4R_ERROR, "out of memory");
	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_REMOTE)
			fo.remote = value;
		else if (id == OPT_OBJECTS)
			fo.all_objects = true;
		else if (id == OPT_SKIP)
			rc = p4r_parse_int64(&skip_seq, value, 1, INT64_MAX, "--skip-batch");
		else
			refs[fo.n_refs++] = (char *)value;
		if (rc < 0)
			goto done;
	}
	if (rc < 0)
		goto done;
	if (fo.all_objects && fo.n_refs) {
		rc = cmd_usage_error(cli, "--objects fetches every object; give it no REF");
		goto done;
	}
	fo.refs = refs;
	fo.skip_batch = skip_seq;
	rc = p4r_fetch(repo, &fo, &report, &out);
	cmd_report_done(&cr);
	/* a skip that happened is said even when the fetch after it failed */
	print_skip(cli, out.remote, &out.skip);
	if (rc < 0)
		goto done;
	rc = print_result(cli, &out);
done:
	p4r_fetch_result_free(&out);
	free(refs);
	return rc;
}
