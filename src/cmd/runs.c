/* p4reg runs [MODEL]: experiment runs with their params and metrics. */
#include "cmd.h"
#include "p4reg/metrics.h"
#include "p4reg/output.h"

#include <stdlib.h>
#include <string.h>

const char cmd_runs_usage[] =
	"usage: p4reg runs [MODEL] [--experiment TYPE] [--sort KEY [--desc]]\n"
	"\n"
	"Lists runs, newest first, with the version they describe, their params\n"
	"and the latest value of each metric logged in them.\n"
	"\n"
	"      --experiment TYPE  only runs of this experiment type\n"
	"      --sort KEY         by the run's latest value of metric KEY, lowest first;\n"
	"                         runs without KEY last, ties newest first\n"
	"      --desc             with --sort: highest first\n";

enum { OPT_EXPERIMENT = 1, OPT_SORT, OPT_DESC };

static const p4r_option options[] = {
	{ "experiment", 0, true, OPT_EXPERIMENT },
	{ "sort", 0, true, OPT_SORT },
	{ "desc", 0, false, OPT_DESC },
	{ NULL, 0, false, 0 },
};

static cJSON *run_json(const p4r_run_info *r)
{
	cJSON *o = cJSON_CreateObject(), *p, *m;
	char when[32];
	size_t i;

	p4r_format_time(when, sizeof(when), r->created_ms);
	cJSON_AddStringToObject(o, "run", r->name);
	cJSON_AddStringToObject(o, "model", r->model);
	cJSON_AddNumberToObject(o, "version", (double)r->version);
	cJSON_AddStringToObject(o, "experiment", r->experiment);
	cJSON_AddStringToObject(o, "created", when);
	p = cJSON_AddObjectToObject(o, "params");
	for (i = 0; i < r->nparams; i++)
		cJSON_AddStringToObject(p, r->params[i].key, r->params[i].value);
	m = cJSON_AddObjectToObject(o, "metrics");
	for (i = 0; i < r->nmetrics; i++)
		cJSON_AddItemToObject(m, r->metrics[i].key, p4r_json_metric_value(r->metrics[i].value));
	return o;
}

/* run, model@version, experiment, time: columns as wide as their longest
 * value; params and metrics on lines of their own below. */
static const cmd_column columns[] = {
	{ 0, false, "  " }, { 0, false, "  " }, { 0, false, "  " }, { 0, false, NULL },
};

/* Appends TEXT to *LINE (malloc'd, *LEN bytes long). */
static int append(char **line, size_t *len, const char *text)
{
	size_t need = *len + strlen(text) + 1;
	char *grown = realloc(*line, need);

	if (!grown)
		return p4r_error_set(P4R_ERROR, "out of memory");
	memcpy(grown + *len, text, need - *len);
	*line = grown;
	*len = need - 1;
	return 0;
}

static int add_run(cmd_table *t, const p4r_run_info *r)
{
	char when[32], who[P4R_MODEL_NAME_MAX + 24], num[32];
	const char *row[4] = { r->name, who, r->experiment, when };
	char *line = NULL;
	size_t i, len = 0;
	int rc;

	p4r_format_time(when, sizeof(when), r->created_ms);
	snprintf(who, sizeof(who), "%s@%lld", r->model, (long long)r->version);
	if ((rc = cmd_table_row(t, row)) < 0)
		return rc;
	for (i = 0; rc == 0 && i < r->nparams; i++)
		if ((rc = append(&line, &len, i ? " " : "  params: ")) == 0 &&
		    (rc = append(&line, &len, r->params[i].key)) == 0 && (rc = append(&line, &len, "=")) == 0)
			rc = append(&line, &len, r->params[i].value);
	if (rc == 0 && line)
		rc = cmd_table_line(t, line);
	free(line);
	line = NULL;
	len = 0;
	for (i = 0; rc == 0 && i < r->nmetrics; i++) {
		p4r_metric_format(num, sizeof(num), r->metrics[i].value);
		if ((rc = append(&line, &len, i ? " " : "  metrics: ")) == 0 &&
		    (rc = append(&line, &len, r->metrics[i].key)) == 0 && (rc = append(&line, &len, "=")) == 0)
			rc = append(&line, &len, num);
	}
	if (rc == 0 && line)
		rc = cmd_table_line(t, line);
	free(line);
	return rc;
}

static int print_text(const p4r_run_info *runs, size_t n)
{
	cmd_table *t = cmd_table_new(columns, sizeof(columns) / sizeof(columns[0]));
	size_t i;
	int rc = t ? 0 : p4r_error_set(P4R_ERROR, "out of memory");

	for (i = 0; rc == 0 && i < n; i++)
		rc = add_run(t, &runs[i]);
	if (rc == 0)
		cmd_table_print(t);
	cmd_table_free(t);
	return rc;
}

/* One option or the MODEL into Q. */
static int take_option(p4r_cli *cli, p4r_run_query *q, int id, const char *value)
{
	switch (id) {
	case OPT_EXPERIMENT:
		if (!p4r_experiment_valid(value))
			return cmd_usage_error(cli, "invalid experiment '%s': use 1..%d letters, digits "
					       "and '_ . - / @'", value, P4R_EXPERIMENT_MAX);
		q->experiment = value;
		return 0;
	case OPT_SORT:
		if (!p4r_metric_key_valid(value))
			return p4r_error_set(P4R_EUSAGE, "invalid metric key '%s': use 1..%d letters, digits "
					     "and '_ . - / @'", value, P4R_METRIC_KEY_MAX);
		q->sort_key = value;
		return 0;
	case OPT_DESC:
		q->desc = true;
		return 0;
	default:
		if (q->model)
			return cmd_usage_error(cli, "runs takes at most one MODEL");
		q->model = value;
		return cmd_model_arg("runs", value);
	}
}

int cmd_runs(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	p4r_run_query q = { 0 };
	p4r_run_info *runs = NULL;
	const char *value;
	size_t n = 0, i;
	p4r_opts o;
	int id, rc;

	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE)
		if ((rc = take_option(cli, &q, id, value)) < 0)
			return rc;
	if (rc < 0)
		return rc;
	if (q.desc && !q.sort_key)
		return cmd_usage_error(cli, "--desc needs --sort KEY");
	if ((rc = p4r_metrics_run_query(p4r_repo_registry(repo), &q, &runs, &n)) < 0)
		return rc;
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "runs");

		for (i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, run_json(&runs[i]));
		rc = cmd_print_json(doc);
	} else {
		rc = print_text(runs, n);
	}
	p4r_run_array_free(runs, n);
	return rc;
}
