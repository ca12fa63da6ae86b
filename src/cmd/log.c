/* p4reg log MODEL: a model's versions, newest first, with their stages. */
#include "cmd.h"
#include "p4reg/metrics.h"
#include "p4reg/ops/log.h"
#include "p4reg/output.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const char cmd_log_usage[] =
	"usage: p4reg log MODEL [--where EXPR]... [--since DATE] [--until DATE] [-n N]\n"
	"\n"
	"Lists the versions of MODEL, newest first: number, stage, oid, size,\n"
	"author, time and message, then the latest value of each of its metrics.\n"
	"\n"
	"      --where EXPR   only versions where EXPR holds: [EXPERIMENT:]KEY OP NUMBER,\n"
	"                     OP one of < <= > >= == != (f1>=0.8, eval:loss<0.2), on\n"
	"                     the value gates read (the run that logged KEY last, at\n"
	"                     its highest step); a version without KEY never matches;\n"
	"                     repeat for AND\n"
	"      --since DATE   only versions registered at or after DATE: 2026-02-18\n"
	"                     (midnight UTC) or ISO 8601 with a zone, 2026-02-18T09:30:00Z\n"
	"      --until DATE   only versions registered at or before DATE (a date alone:\n"
	"                     to the end of that day)\n"
	"  -n, --max-count N  the newest N versions that match\n";

enum { OPT_WHERE = 1, OPT_SINCE, OPT_UNTIL, OPT_COUNT };

static const p4r_option options[] = {
	{ "where", 0, true, OPT_WHERE },
	{ "since", 0, true, OPT_SINCE },
	{ "until", 0, true, OPT_UNTIL },
	{ "max-count", 'n', true, OPT_COUNT },
	{ NULL, 0, false, 0 },
};

/* MODEL@N, stage, oid, size, time, author, message: columns as wide as
 * their longest value. */
static const cmd_column columns[] = {
	{ 0, false, NULL }, { 11, false, NULL }, { 12, false, NULL }, { 10, true, "  " },
	{ 0, false, "  " }, { 0, false, "  " }, { 0, false, NULL },
};

static int add_version_row(cmd_table *t, const p4r_version *v)
{
	char who[P4R_MODEL_NAME_MAX + 24], oid[13], when[32], size[32];
	const char *row[7] = { who, p4r_stage_name(v->stage), oid, size, when, v->author, v->message };

	snprintf(who, sizeof(who), "%s@%lld", v->model, (long long)v->number);
	snprintf(oid, sizeof(oid), "%.12s", v->oid.hex);
	p4r_format_time(when, sizeof(when), v->created_ms);
	p4r_format_size(size, sizeof(size), (uint64_t)v->size);
	return cmd_table_row(t, row);
}

/* "    f1=0.86 spearman=0.83" under a version that has metrics. */
static int add_metrics_line(cmd_table *t, const p4r_metric_table *m, size_t row)
{
	const p4r_metric_cell *c;
	char *line = NULL, *grown, num[32];
	size_t len = 0, k, need;
	int rc = 0;

	for (k = 0; k < m->nkeys; k++) {
		if (!(c = p4r_metric_table_get(m, row, k)))
			continue;
		p4r_metric_format(num, sizeof(num), c->value);
		need = len + strlen(m->keys[k]) + strlen(num) + 6;
		if (!(grown = realloc(line, need))) {
			free(line);
			return p4r_error_set(P4R_ERROR, "out of memory");
		}
		line = grown;
		len += (size_t)snprintf(line + len, need - len, "%s%s=%s", len ? " " : "    ", m->keys[k], num);
	}
	if (line)
		rc = cmd_table_line(t, line);
	free(line);
	return rc;
}

static int print_text(const char *name, const p4r_version *versions, size_t n, const p4r_metric_table *m)
{
	cmd_column cols[sizeof(columns) / sizeof(columns[0])];
	cmd_table *t;
	size_t i;
	int rc = 0;

	/* "x@1    " as before: the number padded to four digits */
	memcpy(cols, columns, sizeof(cols));
	cols[0].min = strlen(name) + 5;
	if (!(t = cmd_table_new(cols, sizeof(cols) / sizeof(cols[0]))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; rc == 0 && i < n; i++)
		if ((rc = add_version_row(t, &versions[i])) == 0)
			rc = add_metrics_line(t, m, i);
	if (rc == 0)
		cmd_table_print(t);
	cmd_table_free(t);
	return rc;
}

/* One option into OPTS (WHERE has room for every argument). */
static int take_option(p4r_cli *cli, p4r_log_opts *opts, const char **where, int id, const char *value)
{
	switch (id) {
	case OPT_WHERE:
		where[opts->nwhere++] = value;
		return 0;
	case OPT_SINCE:
		return p4r_metrics_parse_time(&opts->since_ms, value);
	case OPT_UNTIL:
		return p4r_metrics_parse_time_end(&opts->until_ms, value);
	case OPT_COUNT:
		return cmd_parse_count(&opts->limit, "-n", value);
	default:
		if (opts->model)
			return cmd_usage_error(cli, "log takes one MODEL");
		opts->model = value;
		return 0;
	}
}

/* One MODEL and the search's options. */
static int parse_args(p4r_cli *cli, int argc, char **argv, p4r_log_opts *opts, const char **where)
{
	const char *value;
	p4r_opts o;
	int id, rc;

	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE)
		if ((rc = take_option(cli, opts, where, id, value)) < 0)
			return rc;
	if (rc < 0)
		return rc;
	if (!opts->model)
		return cmd_usage_error(cli, "log needs a MODEL");
	opts->where = where;
	return cmd_model_arg("log", opts->model);
}

/* The model (with its own tags), then each version with its metrics,
 * tags and aliases. */
static int print_json(const p4r_log_result *res)
{
	cJSON *doc = p4r_json_model(&res->model), *arr;
	size_t i;

	arr = cJSON_AddArrayToObject(doc, "history");
	for (i = 0; i < res->n; i++) {
		cJSON *o = p4r_json_version(&res->versions[i]);

		cJSON_AddItemToObject(o, "metrics", p4r_json_metric_row(&res->metrics, i));
		cJSON_AddItemToObject(o, "tags", p4r_json_tags(&res->version_tags, res->versions[i].id));
		cJSON_AddItemToObject(o, "aliases",
				      p4r_json_alias_names(res->aliases, res->naliases, res->versions[i].number));
		cJSON_AddItemToArray(arr, o);
	}
	cJSON_AddItemToObject(doc, "tags", p4r_json_tags(&res->model_tags, 0));
	return cmd_print_json(doc);
}

int cmd_log(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	const char **where = calloc((size_t)argc, sizeof(*where));
	p4r_log_opts opts = { 0 };
	p4r_log_result res = { 0 };
	int rc;

	if (!where)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if ((rc = parse_args(cli, argc, argv, &opts, where)) == 0 && (rc = p4r_log(repo, &opts, NULL, &res)) == 0)
		rc = cli->json ? print_json(&res) : print_text(res.model.name, res.versions, res.n, &res.metrics);
	if (rc == 0 && res.n == 0)
		cmd_note(cli, "no version of '%s' matches", res.model.name);
	p4r_log_result_free(&res);
	free(where);
	return rc;
}
