/* p4reg push: upload objects, then publish registry events to a remote. */
#include "cmd.h"
#include "p4reg/ops/push.h"
#include "p4reg/output.h"

#include <stdlib.h>

const char cmd_push_usage[] =
	"usage: p4reg push [-r NAME] [--allow-missing] [--unsafe-concurrent] [MODEL...]\n"
	"\n"
	"Uploads the objects of every version (or of the MODELs named) that the\n"
	"remote lacks, verified, then appends the registry events the remote lacks\n"
	"to its log (in several batches when they do not fit one). When another\n"
	"push got there first, its events are fetched, local versions whose\n"
	"numbers it took are renumbered (pointers follow) and the push is retried.\n"
	"A version whose object is neither here nor on the remote is refused\n"
	"(exit 1, nothing pushed) unless --allow-missing. Before any upload, every\n"
	"object passes the object guard: one whose bytes changed in place (a\n"
	"hard-linked file written to) is quarantined and fetched back from the\n"
	"remote when it has it; else the push exits 4 naming the damaged versions,\n"
	"nothing uploaded (add the original file again, or 'p4reg fsck --repair\n"
	"-r OTHER' from a remote that has it).\n"
	"\n"
	"  -r, --remote NAME      the remote (default: core.remote, or the only one)\n"
	"      --allow-missing    publish versions whose object is nowhere (warned)\n"
	"      --unsafe-concurrent  push to an S3 server that ignores If-None-Match;\n"
	"                         concurrent pushes from two machines can then lose events\n";

enum { OPT_REMOTE = 1, OPT_UNSAFE, OPT_ALLOW_MISSING };

static const p4r_option options[] = {
	{ "remote", 'r', true, OPT_REMOTE },
	{ "unsafe-concurrent", 0, false, OPT_UNSAFE },
	{ "allow-missing", 0, false, OPT_ALLOW_MISSING },
	{ NULL, 0, false, 0 },
};

static void print_result(p4r_cli *cli, const p4r_push_result *out)
{
	const p4r_sync_result *res = &out->sync;
	char size[32];

	cmd_sync_print_renumbered(cli, res);
	cmd_sync_print_moves(cli, res);
	p4r_format_size(size, sizeof(size), res->bytes_sent);
	printf("pushed to '%s': %zu object%s (%s) uploaded, %zu already there; ",
	       out->remote, res->objects_sent, res->objects_sent == 1 ? "" : "s", size, res->objects_present);
	if (res->batches_published > 1)
		printf("%zu events published as batches %lld-%lld\n", res->events_published,
		       (long long)(res->batch_seq - (int64_t)res->batches_published + 1),
		       (long long)res->batch_seq);
	else if (res->batch_seq)
		printf("%zu event%s published as batch %lld\n", res->events_published,
		       res->events_published == 1 ? "" : "s", (long long)res->batch_seq);
	else
		printf("no events to publish\n");
}

int cmd_push(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	cmd_report cr;
	p4r_op_report report = cmd_report_init(&cr, cli);
	p4r_push_result out = { 0 };
	const char *value;
	char **models = calloc((size_t)argc, sizeof(*models));
	size_t nmodels = 0, i;
	p4r_push_opts popts = { 0 };
	p4r_opts o;
	int id, rc;

	if (!models)
		return p4r_error_set(P4R_ERROR, "out of memory");
	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_REMOTE)
			popts.remote = value;
		else if (id == OPT_UNSAFE)
			popts.unsafe = true;
		else if (id == OPT_ALLOW_MISSING)
			popts.allow_missing = true;
		else
			models[nmodels++] = (char *)value;
	}
	if (rc < 0)
		goto done;
	for (i = 0; i < nmodels; i++)
		if ((rc = cmd_model_arg("push", models[i])) < 0)
			goto done;
	popts.models = models;
	popts.n_models = nmodels;
	rc = p4r_push(repo, &popts, &report, &out);
	cmd_report_done(&cr);
	if (rc < 0)
		goto done;
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject(), *missing;

		cmd_sync_json_named(doc, out.remote, &out.sync);
		cmd_sync_json_moves(doc, &out.sync);
		missing = cJSON_AddArrayToObject(doc, "missing");
		for (i = 0; missing && i < out.sync.nmissing; i++)
			cJSON_AddItemToArray(missing, cJSON_CreateString(out.sync.missing[i]));
		rc = cmd_print_json(doc);
	} else if (!cli->quiet) {
		print_result(cli, &out);
	}
done:
	p4r_push_result_free(&out);
	free(models);
	return rc;
}
