/* p4reg pull [REF|PATH...]: fetch events, download the objects the named
 * versions (else the work tree's pointers) need, then check them out
 * (verified). */
#include "cmd.h"
#include "p4reg/ops/pull.h"
#include "p4reg/output.h"

#include <stdlib.h>

const char cmd_pull_usage[] =
	"usage: p4reg pull [-r NAME] [--force] [--no-stage] [REF|PATH...]\n"
	"\n"
	"Fetches the remote's registry events, downloads the objects named by the\n"
	"work tree's pointer files (hashed into .p4reg/tmp, stored only when their\n"
	"oid and size match) and checks every pointer out. With REFs (name@3,\n"
	"name@production) or paths, downloads exactly those versions and checks\n"
	"them out, as 'p4reg checkout' would (the .gitignore line beside each\n"
	"file kept, the pointer and .gitignore files written staged in git, config\n"
	"core.autostage). A pointer left at a model's old path by a move is skipped\n"
	"with a note. A corrupt remote object exits 4 and leaves the work tree\n"
	"untouched; so does a batch of events that cannot apply (see 'p4reg fetch\n"
	"--skip-batch').\n"
	"\n"
	"  -r, --remote NAME  the remote (default: core.remote, or the only one)\n"
	"  -f, --force        overwrite files whose bytes are in no version\n"
	"      --no-stage     do not stage pointers and .gitignore files in git\n";

enum { OPT_REMOTE = 1, OPT_FORCE, OPT_NO_STAGE };

static const p4r_option options[] = {
	{ "remote", 'r', true, OPT_REMOTE },
	{ "force", 'f', false, OPT_FORCE },
	{ "no-stage", 0, false, OPT_NO_STAGE },
	{ NULL, 0, false, 0 },
};

/* What was pulled, after the files (JSON: the one document). */
static int print_summary(p4r_cli *cli, const p4r_remote *r, const p4r_sync_result *res,
			 cJSON *files)
{
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject();

		cmd_sync_json(doc, r, res);
		cmd_sync_json_moves(doc, res);
		cJSON_AddItemToObject(doc, "checked_out", files);
		return cmd_print_json(doc);
	}
	cJSON_Delete(files);
	if (!cli->quiet) {
		char size[32];

		cmd_sync_print_renumbered(cli, res);
		p4r_format_size(size, sizeof(size), res->bytes_received);
		printf("pulled from '%s': %zu event%s, %zu object%s (%s)", r->name, res->events_applied,
		       res->events_applied == 1 ? "" : "s", res->objects_received,
		       res->objects_received == 1 ? "" : "s", size);
		cmd_sync_print_present(res);
	}
	return 0;
}

/* Text: the moves fetched, then the files, also after a failure (they
 * say what changed); JSON: one document, only on success. */
static int print_result(p4r_cli *cli, const p4r_pull_result *res, int rc)
{
	cJSON *files;

	if (!res->fetched || (rc < 0 && cli->json))
		return rc;
	cmd_sync_print_moves(cli, &res->sync);
	files = cmd_checkout_rows(cli, &res->checkout);
	if (rc < 0) {
		cJSON_Delete(files);
		return cmd_checkout_refused(cli, rc, &res->checkout);
	}
	return print_summary(cli, res->remote, &res->sync, files);
}

int cmd_pull(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	char **args = calloc((size_t)argc + 1, sizeof(*args));
	p4r_pull_opts opts = { .args = args };
	p4r_pull_result res = { 0 };
	p4r_op_report report;
	const char *value;
	cmd_report cr;
	p4r_opts o;
	int id, rc;

	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_REMOTE)
			opts.remote = value;
		else if (id == OPT_FORCE)
			opts.force = true;
		else if (id == OPT_NO_STAGE)
			opts.no_stage = true;
		else if (args)
			args[opts.nargs++] = (char *)value;
	}
	if (rc < 0 || !args) {
		free(args);
		return rc < 0 ? rc : p4r_error_set(P4R_ERROR, "out of memory");
	}
	report = cmd_report_init(&cr, cli);
	rc = p4r_pull(repo, &opts, &report, &res);
	cmd_report_done(&cr);
	rc = print_result(cli, &res, rc);
	p4r_pull_result_free(&res);
	free(args);
	return rc;
}
