/* p4reg rm REF: delete a version (its number is never reused). */
#include "cmd.h"
#include "p4reg/ops/rm.h"

#include <string.h>

const char cmd_rm_usage[] =
	"usage: p4reg rm REF [-m REASON] [--force] [--dry-run]\n"
	"\n"
	"Deletes the version REF names (a bare model name is its latest version):\n"
	"it leaves list, log, show, metrics and every reference (naming it is an\n"
	"error that says it was deleted); its number is never reused; a delete\n"
	"event records who and why (history), and push shares it. Its object\n"
	"becomes garbage for p4reg gc unless another version has the same bytes.\n"
	"A version in validation, staging or production, one an alias names, or\n"
	"the one rollback would return to is kept (exit 3) unless --force. A file\n"
	"in the work tree that holds the version stays, with its pointer.\n"
	"\n"
	"  -f, --force         delete it all the same (the event records forced)\n"
	"      --dry-run       say what would happen, change nothing\n"
	"  -m, --message TEXT  the reason, recorded in the history\n";

enum { OPT_FORCE = 1, OPT_DRY_RUN, OPT_MESSAGE };

static const p4r_option options[] = {
	{ "force", 'f', false, OPT_FORCE },
	{ "dry-run", 0, false, OPT_DRY_RUN },
	{ "message", 'm', true, OPT_MESSAGE },
	{ NULL, 0, false, 0 },
};

static int print_json(const p4r_rm_result *res, const p4r_rm_opts *opts)
{
	cJSON *doc = cJSON_CreateObject();

	cJSON_AddStringToObject(doc, "model", res->version.model);
	cJSON_AddNumberToObject(doc, "version", (double)res->version.number);
	cJSON_AddStringToObject(doc, "stage", p4r_stage_name(res->version.stage));
	cJSON_AddBoolToObject(doc, "deleted", res->deleted);
	cJSON_AddBoolToObject(doc, "dry_run", opts->dry_run);
	cJSON_AddBoolToObject(doc, "forced", res->forced);
	p4r_json_add_text(doc, "kept_by", res->refusal);
	cJSON_AddItemToObject(doc, "aliases", p4r_json_alias_names(res->aliases, res->naliases, 0));
	cJSON_AddBoolToObject(doc, "rollback_target", res->rollback_target);
	cJSON_AddBoolToObject(doc, "object_kept", res->object_kept);
	p4r_json_add_text(doc, "checked_out", res->checked_out);
	p4r_json_add_text(doc, "reason", opts->reason);
	return cmd_print_json(doc);
}

static void print_text(const p4r_rm_result *res, const p4r_rm_opts *opts)
{
	const p4r_version *v = &res->version;

	printf("%s %s@%lld", opts->dry_run ? "would delete" : "deleted", v->model, (long long)v->number);
	if (res->forced)
		printf(" (forced: %s)", res->refusal);
	if (res->object_kept)
		printf("; its object stays: another version has the same bytes\n");
	else
		printf("; its object %s garbage: p4reg gc removes it\n", opts->dry_run ? "would be" : "is now");
}

int cmd_rm(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	p4r_rm_opts opts = { 0 };
	p4r_rm_result res = { 0 };
	p4r_op_report report;
	const char *value;
	cmd_report cr;
	p4r_opts o;
	int id, rc;

	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_FORCE)
			opts.force = true;
		else if (id == OPT_DRY_RUN)
			opts.dry_run = true;
		else if (id == OPT_MESSAGE)
			opts.reason = value;
		else if (opts.ref)
			return cmd_usage_error(cli, "rm takes one REF");
		else
			opts.ref = value;
	}
	if (rc < 0)
		return rc;
	if (!opts.ref)
		return cmd_usage_error(cli, "rm needs a REF");
	report = cmd_report_init(&cr, cli);
	rc = p4r_rm(repo, &opts, &report, &res);
	cmd_report_done(&cr);
	if (rc == 0 && cli->json)
		rc = print_json(&res, &opts);
	else if (rc == 0 && !cli->quiet)
		print_text(&res, &opts);
	p4r_rm_result_free(&res);
	return rc;
}
