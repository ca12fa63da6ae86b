/* p4reg log-metric REF KEY=VALUE...: record metrics (and params) of a
 * version in a run, all or nothing. */
#include "cmd.h"
#include "p4reg/metrics.h"
#include "p4reg/output.h"
#include "p4reg/ref.h"

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
	"                         \"step\": N}; options on the command line win\n"
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

/* Everything one call collects from its arguments; keys are owned. */
struct args {
	const char *ref;
	const char *run;
	const char *experiment;
	const char *file;
	bool has_step;
	int64_t step;
	int64_t at_ms;
	p4r_metric_kv *metrics;   /* argv pairs, then the file's */
	size_t nmetrics, nargmetrics;
	p4r_param_kv *params;     /* --param pairs, then the file's */
	size_t nparams, nargparams;
	p4r_metrics_file f;
};

static void args_free(struct args *a)
{
	size_t i;

	for (i = 0; i < a->nargmetrics; i++)
		free((char *)a->metrics[i].key);
	for (i = 0; i < a->nargparams; i++)
		free((char *)a->params[i].key);
	free(a->metrics);
	free(a->params);
	p4r_metrics_file_clear(&a->f);
}

static int parse_args(p4r_cli *cli, struct args *a, int argc, char **argv)
{
	const char *value;
	long long n;
	p4r_opts o;
	int id, rc;

	/* Every argument could be a metric or a param: size for the worst case. */
	a->metrics = calloc((size_t)argc + 1, sizeof(*a->metrics));
	a->params = calloc((size_t)argc + 1, sizeof(*a->params));
	if (!a->metrics || !a->params)
		return p4r_error_set(P4R_ERROR, "out of memory");
	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		switch (id) {
		case OPT_STEP:
			if ((rc = p4r_parse_int64(&n, value, 0, P4R_STEP_MAX, "--step")) < 0)
				return rc;
			a->has_step = true;
			a->step = n;
			break;
		case OPT_EXPERIMENT:
			if (!p4r_experiment_valid(value))
				return cmd_usage_error(cli, "invalid experiment '%s': use 1..%d letters, digits "
						       "and '_ . - / @'", value, P4R_EXPERIMENT_MAX);
			a->experiment = value;
			break;
		case OPT_RUN:
			if (!p4r_run_name_valid(value))
				return cmd_usage_error(cli, "invalid run name '%s': use 1..%d letters, digits "
						       "and '_ . - / @'", value, P4R_RUN_NAME_MAX);
			a->run = value;
			break;
		case OPT_PARAM: {
			char *key;
			const char *pv;

			if ((rc = p4r_param_parse_pair(&key, &pv, value)) < 0)
				return rc;
			a->params[a->nparams].key = key;
			a->params[a->nparams++].value = pv;
			a->nargparams++;
			break;
		}
		case OPT_FILE:
			if (a->file)
				return cmd_usage_error(cli, "--file given twice");
			a->file = value;
			break;
		case OPT_TIME:
			if ((rc = p4r_metrics_parse_time(&a->at_ms, value)) < 0)
				return rc;
			break;
		default: {
			char *key;
			double v;

			if (!a->ref) {
				if (strchr(value, '='))
					return cmd_usage_error(cli, "log-metric needs a REF before '%s'", value);
				a->ref = value;
				break;
			}
			if ((rc = p4r_metric_parse_pair(&key, &v, value)) < 0)
				return rc;
			a->metrics[a->nmetrics].key = key;
			a->metrics[a->nmetrics++].value = v;
			a->nargmetrics++;
			break;
		}
		}
	}
	if (rc < 0)
		return rc;
	if (!a->ref)
		return cmd_usage_error(cli, "log-metric needs a REF and KEY=VALUE pairs");
	return 0;
}

/* Appends the file's metrics and params after the command line's. */
static int add_file(p4r_repo *repo, struct args *a)
{
	p4r_metric_kv *m;
	p4r_param_kv *p;
	int rc;

	if ((rc = p4r_metrics_file_read(&a->f, repo, a->file)) < 0)
		return rc;
	if (a->f.nmetrics) {
		if (!(m = realloc(a->metrics, (a->nmetrics + a->f.nmetrics) * sizeof(*m))))
			return p4r_error_set(P4R_ERROR, "out of memory");
		a->metrics = m;
		memcpy(m + a->nmetrics, a->f.metrics, a->f.nmetrics * sizeof(*m));
		a->nmetrics += a->f.nmetrics;
	}
	if (a->f.nparams) {
		if (!(p = realloc(a->params, (a->nparams + a->f.nparams) * sizeof(*p))))
			return p4r_error_set(P4R_ERROR, "out of memory");
		a->params = p;
		memcpy(p + a->nparams, a->f.params, a->f.nparams * sizeof(*p));
		a->nparams += a->f.nparams;
	}
	if (a->f.has_step && !a->has_step) {
		a->has_step = true;
		a->step = a->f.step;
	}
	return 0;
}

static int print_result(p4r_cli *cli, const p4r_version *v, const p4r_metric_log *log,
			const char *run, const char *experiment, int64_t at_ms)
{
	char when[32], num[32];
	size_t i;

	p4r_format_time(when, sizeof(when), at_ms);
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject(), *m, *p;

		cJSON_AddStringToObject(doc, "model", v->model);
		cJSON_AddNumberToObject(doc, "version", (double)v->number);
		cJSON_AddStringToObject(doc, "run", run);
		cJSON_AddStringToObject(doc, "experiment", experiment);
		cJSON_AddNumberToObject(doc, "step", (double)log->step);
		cJSON_AddStringToObject(doc, "time", when);
		m = cJSON_AddObjectToObject(doc, "metrics");
		for (i = 0; i < log->nmetrics; i++)
			cJSON_AddNumberToObject(m, log->metrics[i].key, log->metrics[i].value);
		p = cJSON_AddObjectToObject(doc, "params");
		for (i = 0; i < log->nparams; i++)
			cJSON_AddStringToObject(p, log->params[i].key, log->params[i].value);
		return cmd_print_json(doc);
	}
	if (cli->quiet)
		return 0;
	printf("logged %zu metric%s and %zu param%s on %s@%lld\n", log->nmetrics,
	       log->nmetrics == 1 ? "" : "s", log->nparams, log->nparams == 1 ? "" : "s",
	       p4r_escape(v->model), (long long)v->number);
	printf("run %s (experiment %s, step %lld, %s)\n", p4r_escape(run), p4r_escape(experiment),
	       (long long)log->step, when);
	for (i = 0; i < log->nmetrics; i++) {
		p4r_metric_format(num, sizeof(num), log->metrics[i].value);
		printf("  %s = %s\n", p4r_escape(log->metrics[i].key), num);
	}
	for (i = 0; i < log->nparams; i++)
		printf("  param %s = %s\n", p4r_escape(log->params[i].key), p4r_escape(log->params[i].value));
	return 0;
}

int cmd_log_metric(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	struct args a = { 0 };
	p4r_metric_log log = { 0 };
	p4r_version v = { 0 };
	p4r_run_info info = { 0 };
	char *run = NULL, *actor = NULL;
	int rc;

	if ((rc = parse_args(cli, &a, argc, argv)) < 0)
		goto done;
	if (a.file && (rc = add_file(repo, &a)) < 0)
		goto done;
	log.version = &v;
	log.run = a.run;
	log.experiment = a.experiment;
	log.step = a.step;
	log.at_ms = a.at_ms ? a.at_ms : p4r_now_ms();
	log.metrics = a.metrics;
	log.nmetrics = a.nmetrics;
	log.params = a.params;
	log.nparams = a.nparams;
	/* Bad input is a usage error before anything is looked up. */
	{
		p4r_version probe = { .number = 1 };

		log.version = &probe;
		rc = p4r_metric_log_check(&log);
		log.version = &v;
		if (rc < 0)
			goto done;
	}
	if ((rc = p4r_ref_resolve(repo, a.ref, &v)) < 0)
		goto done;
	log.actor = actor = p4r_repo_actor(repo);
	if ((rc = p4r_metrics_log(p4r_repo_registry(repo), &log, &run)) < 0)
		goto done;
	if ((rc = p4r_metrics_run_get(p4r_repo_registry(repo), v.id, run, &info)) < 0)
		goto done;
	rc = print_result(cli, &v, &log, run, info.experiment, log.at_ms);
done:
	p4r_run_info_clear(&info);
	p4r_version_clear(&v);
	free(actor);
	free(run);
	args_free(&a);
	return rc;
}
