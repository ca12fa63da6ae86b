/* p4reg tag: the tags of a version or of a model, and a model's
 * description. */
#include "cmd.h"
#include "p4reg/ops/tag.h"

#include <stdlib.h>
#include <string.h>

const char cmd_tag_usage[] =
	"usage: p4reg tag REF [KEY=VALUE...] [-m REASON]\n"
	"       p4reg tag -d REF KEY... [-m REASON]\n"
	"       p4reg tag --model MODEL [KEY=VALUE... | -d KEY...] [-m REASON]\n"
	"       p4reg tag --model MODEL --description TEXT [-m REASON]\n"
	"\n"
	"Sets tags KEY=VALUE on the version REF names (a bare model name is its\n"
	"latest version), or with --model on the model itself; a key's new value\n"
	"replaces its old one. -d removes the KEYs (each must be there). Without\n"
	"KEY=VALUE the tags are listed (with --model, the description first).\n"
	"--description sets the model's description (\"\" clears it). Every change\n"
	"is one event (history) that push shares. KEY is 1..128 of A-Z, a-z, 0-9,\n"
	"'_', '.', ':', '/' and '-', starting with a letter or digit; VALUE is at\n"
	"most 4096 bytes of UTF-8 without control characters. show and log --json\n"
	"show a version's tags.\n"
	"\n"
	"      --model             the tags of the model MODEL, not of a version\n"
	"      --description TEXT  set the model's description (implies --model)\n"
	"  -d, --delete            remove the KEYs\n"
	"  -m, --message TEXT      the reason, recorded in the history\n";

enum { OPT_MODEL = 1, OPT_DESCRIPTION, OPT_DELETE, OPT_MESSAGE };

static const p4r_option options[] = {
	{ "model", 0, false, OPT_MODEL },
	{ "description", 0, true, OPT_DESCRIPTION },
	{ "delete", 'd', false, OPT_DELETE },
	{ "message", 'm', true, OPT_MESSAGE },
	{ NULL, 0, false, 0 },
};

static const char *action_name(const p4r_tag_opts *opts)
{
	if (opts->description)
		return "describe";
	if (!opts->nargs)
		return "list";
	return opts->remove ? "delete" : "set";
}

static int print_json(const p4r_tag_result *res, const p4r_tag_opts *opts)
{
	cJSON *doc = cJSON_CreateObject();

	cJSON_AddStringToObject(doc, "model", res->model);
	if (res->version)
		cJSON_AddNumberToObject(doc, "version", (double)res->version);
	else
		cJSON_AddNullToObject(doc, "version");
	cJSON_AddStringToObject(doc, "action", action_name(opts));
	cJSON_AddNumberToObject(doc, "changed", (double)(opts->description ? res->described : res->changed));
	cJSON_AddItemToObject(doc, "tags", p4r_json_tags(&res->tags, -1));
	p4r_json_add_text(doc, "description", res->description);
	p4r_json_add_text(doc, "reason", opts->reason);
	return cmd_print_json(doc);
}

static void print_list(const p4r_tag_result *res)
{
	size_t i;

	if (res->description && res->description[0])
		printf("description: %s\n", p4r_escape(res->description));
	for (i = 0; i < res->tags.n; i++)
		printf("%s=%s\n", p4r_escape(res->tags.v[i].key), p4r_escape(res->tags.v[i].value));
}

static int print_text(p4r_cli *cli, const p4r_tag_result *res, const p4r_tag_opts *opts)
{
	char who[P4R_MODEL_NAME_MAX + 32];

	if (res->version)
		snprintf(who, sizeof(who), "%s@%lld", res->model, (long long)res->version);
	else
		snprintf(who, sizeof(who), "model '%s'", res->model);
	if (!opts->nargs && !opts->description) {
		print_list(res);
		return 0;
	}
	if (cli->quiet)
		return 0;
	if (opts->description)
		printf(res->described ? "described %s\n" : "%s already has this description\n", who);
	else if (opts->remove)
		printf("removed %zu tag%s from %s\n", res->changed, res->changed == 1 ? "" : "s", who);
	else if (res->changed)
		printf("set %zu tag%s on %s\n", res->changed, res->changed == 1 ? "" : "s", who);
	else
		printf("%s already has these tags\n", who);
	return 0;
}

/* Fills OPTS from ARGV; *ARGS (malloc'd) holds the KEY=VALUE/KEY words. */
static int parse(p4r_cli *cli, int argc, char **argv, p4r_tag_opts *opts, const char ***args)
{
	const char *value;
	p4r_opts o;
	int id, rc;

	if (!(*args = calloc((size_t)argc + 1, sizeof(**args))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_MODEL)
			opts->model = true;
		else if (id == OPT_DESCRIPTION)
			opts->description = value;
		else if (id == OPT_DELETE)
			opts->remove = true;
		else if (id == OPT_MESSAGE)
			opts->reason = value;
		else if (!opts->target)
			opts->target = value;
		else
			(*args)[opts->nargs++] = value;
	}
	if (rc < 0)
		return rc;
	opts->args = *args;
	if (!opts->target)
		return cmd_usage_error(cli, "tag needs a REF (or --model MODEL)");
	if (opts->description && (opts->nargs || opts->remove))
		return cmd_usage_error(cli, "--description takes no KEY=VALUE and no -d");
	if (opts->remove && !opts->nargs)
		return cmd_usage_error(cli, "tag -d needs the KEYs to remove");
	if (!opts->nargs && !opts->description && opts->reason)
		return cmd_usage_error(cli, "-m applies to a change, not to the list");
	return 0;
}

int cmd_tag(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	p4r_tag_opts opts = { 0 };
	p4r_tag_result res = { 0 };
	const char **args = NULL;
	p4r_op_report report;
	cmd_report cr;
	int rc;

	if ((rc = parse(cli, argc, argv, &opts, &args)) == 0) {
		report = cmd_report_init(&cr, cli);
		rc = p4r_tag(repo, &opts, &report, &res);
		cmd_report_done(&cr);
	}
	if (rc == 0)
		rc = cli->json ? print_json(&res, &opts) : print_text(cli, &res, &opts);
	p4r_tag_result_free(&res);
	free(args);
	return rc;
}
