/* p4reg log-metric REF KEY=VALUE...: record metrics (and params) of a
 * version in a run, all or nothing (ops/log_metric.h). */
#include "cmd.h"
#include "p4reg/metrics.h"
#include "p4reg/ops/log_metric.h"
#include "p4reg/output.h"

#include <stdlib.h>
#include <string.h>

const char cmd_log_metric_usage[] =
	"usage: p4reg log-metric REF KEY=VALUE... [--step N] [--experiment TYPE] [--run NAME]\n"
	"                        [--param K=V]... [--file F.json] [--time ISO8601]\n"
	"\n"
	"Records metrics of a version (REF: name@3, name@production, a model name\n"
	"for its latest version, or a path with a pointer) in a run, all or nothing.\n"
	"Keys are letters, digits and '_ . - / @' (precision@5, tokens/sec); values\n"
	"are finite decimal numbers.\n"
	"\n"
	"      --step N           step of these values (default 0); a key's value is\n"
	"                         read from the run that logged it last (by time), at\n"
	"                         that run's highest step\n"
	"      --experiment TYPE  experiment type (default \"default\")\n"
	"      --run NAME         run to create or append to (default\n"
	"                         {YYYYMMDD}_{model}_{experiment}_v{N})\n"
	"      --param K=V        a param of the run; params never change once set\n"
	"      --file F.json      {\"f1\": 0.8, ...} or {\"metrics\": {...}, \"params\": {...},\n"
	"                         \"step\": N}; options on the command line win; '-'\n"
	"                         reads it from standard input\n"
	"      --time ISO8601     when the values were measured (default now), e.g.\n"
	"                         2026-02-18T09:30:00Z\n";

enum { OPT_STEP = 1, OPT_EXPERIMENT, OPT_RUN, OPT_PARAM, OPT_FILE, OPT_TIME };

static const p4r_option options[] = {
	{ "step", 0, true, OPT_STEP },
	{ "experiment", 0, true, OPT_EXPERIMENT },
	{ "run", 0, true, OPT_RUN },
	{ "param", 0, true, OPT_PARAM },
	{ "file", 0, true, OPT_FILE },
	{ "time", 0, true, OPT_TIME },
	{ NULL, 0, false, 0 },
};

/* The operation's options, and the pairs of the command line (keys owned). */
struct args {
	p4r_log_metric_opts o;
	p4r_metric_kv *metrics;
	p4r_param_kv *params;
};

static void args_free(struct args *a)
{
	size_t i;

	for (i = 0; i < a->o.nmetrics; i++)
		free((char *)a->metrics[i].key);
	for (i = 0; i < a->o.nparams; i++)
		free((char *)a->params[i].key);
	free(a->metrics);
	free(a->params);
}

static int add_param(struct args *a, const char *value)
{
	char *key;
	const char *pv;
	int rc;

	if ((rc = p4r_param_parse_pair(&key, &pv, value)) < 0)
		return rc;
	a->params[a->o.nparams].key = key;
	a->params[a->o.nparams++].value = pv;
	return 0;
}

/* The REF first, then KEY=VALUE pairs. */
static int add_operand(p4r_cli *cli, struct args *a, const char *value)
{
	char *key;
	double v;
	int rc;

	if (!a->o.ref) {
		if (strchr(value, '='))
			return cmd_usage_error(cli, "log-metric needs a REF before '%s'", value);
		a->o.ref = value;
		return 0;
	}
	if ((rc = p4r_metric_parse_pair(&key, &v, value)) < 0)
		return rc;
	a->metrics[a->o.nmetrics].key = key;
	a->metrics[a->o.nmetrics++].value = v;
	return 0;
}

static int add_option(p4r_cli *cli, struct args *a, int id, const char *value)
{
	long long n;
	int rc;

	switch (id) {
	case OPT_STEP:
		if ((rc = p4r_parse_int64(&n, value, 0, P4R_STEP_MAX, "--step")) < 0)
			return rc;
		a->o.has_step = true;
		a->o.step = n;
		return 0;
	case OPT_EXPERIMENT:
		if (!p4r_experiment_valid(value))
			return cmd_usage_error(cli, "invalid experiment '%s': use 1..%d letters, digits "
					       "and '_ . - / @'", value, P4R_EXPERIMENT_MAX);
		a->o.experiment = value;
		return 0;
	case OPT_RUN:
		if (!p4r_run_name_valid(value))
			return cmd_usage_error(cli, "invalid run name '%s': use 1..%d letters, digits "
					       "and '_ . - / @'", value, P4R_RUN_NAME_MAX);
		a->o.run = value;
		return 0;
	case OPT_PARAM:
		return add_param(a, value);
	case OPT_FILE:
		if (a->o.file)
			return cmd_usage_error(cli, "--file given twice");
		a->o.file = value;
		return 0;
	case OPT_TIME:
		return p4r_metrics_parse_time(&a->o.at_ms, value);
	default:
		return add_operand(cli, a, value);
	}
}

static int parse_args(p4r_cli *cli, struct args *a, int argc, char **argv)
{
	const char *value;
	p4r_opts o;
	int id, rc;

	/* Every argument could be a metric or a param: size for the worst case. */
	a->metrics = calloc((size_t)argc + 1, sizeof(*a->metrics));
	a->params = calloc((size_t)argc + 1, sizeof(*a->params));
	if (!a->metrics || !a->params)
		return p4r_error_set(P4R_ERROR, "out of memory");
	a->o.metrics = a->metrics;
	a->o.params = a->params;
	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE)
		if ((rc = add_option(cli, a, id, value)) < 0)
			return rc;
	if (rc < 0)
		return rc;
	if (!a->o.ref)
		return cmd_usage_error(cli, "log-metric needs a REF and KEY=VALUE pairs");
	return 0;
}

static int print_json(const p4r_log_metric_result *r, const char *when)
{
	cJSON *doc = cJSON_CreateObject(), *m, *p;
	size_t i;

	cJSON_AddStringToObject(doc, "model", r->version.model);
	cJSON_AddNumberToObject(doc, "version", (double)r->version.number);
	cJSON_AddStringToObject(doc, "run", r->run);
	cJSON_AddStringToObject(doc, "experiment", r->experiment);
	cJSON_AddNumberToObject(doc, "step", (double)r->step);
	cJSON_AddStringToObject(doc, "time", when);
	m = cJSON_AddObjectToObject(doc, "metrics");
	for (i = 0; i < r->nmetrics; i++)
		cJSON_AddNumberToObject(m, r->metrics[i].key, r->metrics[i].value);
	p = cJSON_AddObjectToObject(doc, "params");
	for (i = 0; i < r->nparams; i++)
		cJSON_AddStringToObject(p, r->params[i].key, r->params[i].value);
	return cmd_print_json(doc);
}

static int print_result(p4r_cli *cli, const p4r_log_metric_result *r)
{
	char when[32], num[32];
	size_t i;

	p4r_format_time(when, sizeof(when), r->at_ms);
	if (cli->json)
		return print_json(r, when);
	if (cli->quiet)
		return 0;
	printf("logged %zu metric%s and %zu param%s on %s@%lld\n", r->nmetrics,
	       r->nmetrics == 1 ? "" : "s", r->nparams, r->nparams == 1 ? "" : "s",
	       p4r_escape(r->version.model), (long long)r->version.number);
	printf("run %s (experiment %s, step %lld, %s)\n", p4r_escape(r->run), p4r_escape(r->experiment),
	       (long long)r->step, when);
	for (i = 0; i < r->nmetrics; i++) {
		p4r_metric_format(num, sizeof(num), r->metrics[i].value);
		printf("  %s = %s\n", p4r_escape(r->metrics[i].key), num);
	}
	for (i = 0; i < r->nparams; i++)
		printf("  param %s = %s\n", p4r_escape(r->params[i].key), p4r_escape(r->params[i].value));
	return 0;
}

int cmd_log_metric(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	struct args a = { 0 };
	p4r_log_metric_result out = { 0 };
	int rc;

	if ((rc = parse_args(cli, &a, argc, argv)) == 0 &&
	    (rc = p4r_log_metric(repo, &a.o, NULL, &out)) == 0)
		rc = print_result(cli, &out);
	p4r_log_metric_result_free(&out);
	args_free(&a);
	return rc;
}
