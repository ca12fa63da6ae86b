/* p4reg alias: name a version of a model (name@champion), move or remove
 * the name, list them. */
#include "cmd.h"
#include "p4reg/ops/alias.h"

#include <string.h>

const char cmd_alias_usage[] =
	"usage: p4reg alias MODEL NAME N [-m REASON]\n"
	"       p4reg alias -d MODEL NAME [-m REASON]\n"
	"       p4reg alias MODEL\n"
	"\n"
	"Points alias NAME of MODEL at version N (3, v3, latest, a stage or another\n"
	"alias), or moves it there: an alias names one version at a time, and\n"
	"MODEL@NAME is that version wherever a reference is taken (show, checkout,\n"
	"promote, rm, get, ...). -d removes it; MODEL alone lists the aliases.\n"
	"Every change is an event (history) that push shares; on fetch the last\n"
	"change in the shared log's order wins, as for stages. NAME is 1..64 of\n"
	"a-z, 0-9, '-' and '_', starting with a letter; the stage names, latest\n"
	"and vN are reserved.\n"
	"\n"
	"  -d, --delete        remove alias NAME\n"
	"  -m, --message TEXT  the reason, recorded in the history\n";

enum { OPT_DELETE = 1, OPT_MESSAGE };

static const p4r_option options[] = {
	{ "delete", 'd', false, OPT_DELETE },
	{ "message", 'm', true, OPT_MESSAGE },
	{ NULL, 0, false, 0 },
};

/* NAME  MODEL@N  TIME  ACTOR */
static const cmd_column columns[] = {
	{ 0, false, "  " }, { 0, false, "  " }, { 0, false, "  " }, { 0, false, NULL },
};

static int print_list(const p4r_alias_result *res)
{
	cmd_table *t = cmd_table_new(columns, 4);
	size_t i;
	int rc = t ? 0 : p4r_error_set(P4R_ERROR, "out of memory");

	for (i = 0; rc == 0 && i < res->n; i++) {
		const p4r_alias_entry *a = &res->aliases[i];
		char who[P4R_MODEL_NAME_MAX + 24], when[32];
		const char *row[4] = { a->name, who, when, a->actor };

		snprintf(who, sizeof(who), "%s@%lld", a->model, (long long)a->version);
		p4r_format_time(when, sizeof(when), a->set_ms);
		rc = cmd_table_row(t, row);
	}
	if (rc == 0)
		cmd_table_print(t);
	cmd_table_free(t);
	return rc;
}

static cJSON *json_list(const p4r_alias_result *res, const char *model)
{
	cJSON *doc = cJSON_CreateObject(), *arr;
	size_t i;

	cJSON_AddStringToObject(doc, "model", model);
	arr = cJSON_AddArrayToObject(doc, "aliases");
	for (i = 0; i < res->n; i++) {
		const p4r_alias_entry *a = &res->aliases[i];
		cJSON *o = cJSON_CreateObject();
		char when[32];

		p4r_format_time(when, sizeof(when), a->set_ms);
		cJSON_AddStringToObject(o, "alias", a->name);
		cJSON_AddNumberToObject(o, "version", (double)a->version);
		p4r_json_add_text(o, "actor", a->actor);
		cJSON_AddStringToObject(o, "time", when);
		cJSON_AddItemToArray(arr, o);
	}
	return doc;
}

static cJSON *json_change(const p4r_alias_result *res, const p4r_alias_opts *opts)
{
	cJSON *doc = cJSON_CreateObject();

	cJSON_AddStringToObject(doc, "model", opts->model);
	cJSON_AddStringToObject(doc, "alias", opts->name);
	cJSON_AddStringToObject(doc, "action", res->action == P4R_ALIAS_SET ? "set" : "delete");
	if (res->action == P4R_ALIAS_SET)
		cJSON_AddNumberToObject(doc, "version", (double)res->version);
	else
		cJSON_AddNullToObject(doc, "version");
	if (res->action == P4R_ALIAS_SET && res->previous)
		cJSON_AddNumberToObject(doc, "previous", (double)res->previous);
	else if (res->action == P4R_ALIAS_DELETE)
		cJSON_AddNumberToObject(doc, "previous", (double)res->version);
	else
		cJSON_AddNullToObject(doc, "previous");
	cJSON_AddBoolToObject(doc, "changed", res->changed);
	p4r_json_add_text(doc, "reason", opts->reason);
	return doc;
}

static int print_result(p4r_cli *cli, const p4r_alias_result *res, const p4r_alias_opts *opts)
{
	const char *m = opts->model, *a = opts->name;

	if (cli->json)
		return cmd_print_json(res->action == P4R_ALIAS_LIST ? json_list(res, m) : json_change(res, opts));
	if (res->action == P4R_ALIAS_LIST && res->n == 0)
		cmd_note(cli, "model '%s' has no aliases: 'p4reg alias %s NAME N' sets one", m, m);
	if (res->action == P4R_ALIAS_LIST)
		return print_list(res);
	if (cli->quiet)
		return 0;
	if (res->action == P4R_ALIAS_DELETE)
		printf("removed %s@%s (it named %s@%lld)\n", m, a, m, (long long)res->version);
	else if (!res->changed)
		printf("%s@%s already names %s@%lld\n", m, a, m, (long long)res->version);
	else if (res->previous)
		printf("%s@%s -> %s@%lld (moved from %s@%lld)\n", m, a, m, (long long)res->version, m,
		       (long long)res->previous);
	else
		printf("%s@%s -> %s@%lld\n", m, a, m, (long long)res->version);
	return 0;
}

/* Fills OPTS from ARGV: MODEL [NAME N], or -d MODEL NAME. */
static int parse(p4r_cli *cli, int argc, char **argv, p4r_alias_opts *opts)
{
	const char *args[3] = { NULL }, *value;
	bool del = false;
	size_t n = 0;
	p4r_opts o;
	int id, rc;

	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_DELETE)
			del = true;
		else if (id == OPT_MESSAGE)
			opts->reason = value;
		else if (n < 3)
			args[n++] = value;
		else
			return cmd_usage_error(cli, "alias takes at most MODEL NAME N");
	}
	if (rc < 0)
		return rc;
	if (n == 0 || (del && n != 2) || (!del && n == 2))
		return cmd_usage_error(cli, del ? "alias -d needs MODEL and NAME" :
				       "alias needs MODEL, or MODEL NAME N");
	opts->action = del ? P4R_ALIAS_DELETE : n == 1 ? P4R_ALIAS_LIST : P4R_ALIAS_SET;
	opts->model = args[0];
	opts->name = args[1];
	opts->version = args[2];
	if (opts->action == P4R_ALIAS_LIST && opts->reason)
		return cmd_usage_error(cli, "-m applies to a change, not to the list");
	return cmd_model_arg("alias", opts->model);
}

int cmd_alias(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	p4r_alias_opts opts = { 0 };
	p4r_alias_result res = { 0 };
	p4r_op_report report;
	cmd_report cr;
	int rc;

	if ((rc = parse(cli, argc, argv, &opts)) < 0)
		return rc;
	report = cmd_report_init(&cr, cli);
	rc = p4r_alias(repo, &opts, &report, &res);
	cmd_report_done(&cr);
	if (rc == 0)
		rc = print_result(cli, &res, &opts);
	p4r_alias_result_free(&res);
	return rc;
}
