/* p4reg runs [MODEL]: experiment runs with their params and metrics. */
#include "cmd.h"
#include "p4reg/metrics.h"
#include "p4reg/output.h"

#include <stdlib.h>
#include <string.h>

const char cmd_runs_usage[] =
	"usage: p4reg runs [MODEL] [--experiment TYPE]\n"
	"\n"
	"Lists runs, newest first, with the version they describe, their params\n"
	"and the latest value of each metric logged in them.\n"
	"\n"
	"      --experiment TYPE  only runs of this experiment type\n";

enum { OPT_EXPERIMENT = 1 };

static const p4r_option options[] = {
	{ "experiment", 0, true, OPT_EXPERIMENT },
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

static void run_text(const p4r_run_info *r)
{
	char when[32], num[32];
	size_t i;

	p4r_format_time(when, sizeof(when), r->created_ms);
	printf("%s  %s@%lld  %s  %s\n", p4r_escape(r->name), p4r_escape(r->model), (long long)r->version,
	       p4r_escape(r->experiment), when);
	if (r->nparams) {
		fputs("  params: ", stdout);
		for (i = 0; i < r->nparams; i++)
			printf("%s%s=%s", i ? " " : "", p4r_escape(r->params[i].key), p4r_escape(r->params[i].value));
		putchar('\n');
	}
	if (r->nmetrics) {
		fputs("  metrics:", stdout);
		for (i = 0; i < r->nmetrics; i++) {
			p4r_metric_format(num, sizeof(num), r->metrics[i].value);
			printf(" %s=%s", p4r_escape(r->metrics[i].key), num);
		}
		putchar('\n');
	}
}

int cmd_runs(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	const char *model = NULL, *experiment = NULL, *value;
	p4r_run_info *runs = NULL;
	size_t n = 0, i;
	p4r_opts o;
	int id, rc;

	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_EXPERIMENT) {
			if (!p4r_experiment_valid(value))
				return cmd_usage_error(cli, "invalid experiment '%s': use 1..%d letters, digits "
						       "and '_ . - / @'", value, P4R_EXPERIMENT_MAX);
			experiment = value;
		} else if (model) {
			return cmd_usage_error(cli, "runs takes at most one MODEL");
		} else {
			if (!p4r_model_name_valid(value))
				return cmd_usage_error(cli, "invalid model name '%s'", value);
			model = value;
		}
	}
	if (rc < 0)
		return rc;
	if ((rc = p4r_metrics_runs(p4r_repo_registry(repo), model, experiment, &runs, &n)) < 0)
		return rc;
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "runs");

		for (i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, run_json(&runs[i]));
		rc = cmd_print_json(doc);
	} else {
		for (i = 0; i < n; i++)
			run_text(&runs[i]);
	}
	p4r_run_array_free(runs, n);
	return rc;
}
