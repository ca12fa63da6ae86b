/* p4r_log_metric: the log-metric operation (ops/log_metric.h). */
#include "p4reg/ops/log_metric.h"
#include "p4reg/error.h"
#include "p4reg/ref.h"

#include <stdlib.h>
#include <string.h>

/* The command line's pairs, then the file's (its strings in FILE). */
struct pairs {
	p4r_metrics_file file;
	p4r_metric_kv *metrics;
	size_t nmetrics;
	p4r_param_kv *params;
	size_t nparams;
};

static void pairs_clear(struct pairs *p)
{
	free(p->metrics);
	free(p->params);
	p4r_metrics_file_clear(&p->file);
}

/* Copies N items of SIZE bytes from A, then M from B, into *OUT. */
static int concat(void *out, const void *a, size_t n, const void *b, size_t m, size_t size)
{
	char *v = calloc(n + m + 1, size);

	if (!v)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if (n)
		memcpy(v, a, n * size);
	if (m)
		memcpy(v + n * size, b, m * size);
	*(char **)out = v;
	return 0;
}

/* OPTS's pairs followed by OPTS->file's; *STEP the step to log. */
static int gather(p4r_repo *repo, const p4r_log_metric_opts *opts, struct pairs *p, int64_t *step)
{
	const p4r_metrics_file *f = &p->file;
	int rc;

	*step = opts->step;
	if (opts->file && (rc = p4r_metrics_file_read(&p->file, repo, opts->file)) < 0)
		return rc;
	if ((rc = concat(&p->metrics, opts->metrics, opts->nmetrics, f->metrics, f->nmetrics,
			 sizeof(*p->metrics))) < 0 ||
	    (rc = concat(&p->params, opts->params, opts->nparams, f->params, f->nparams,
			 sizeof(*p->params))) < 0)
		return rc;
	p->nmetrics = opts->nmetrics + f->nmetrics;
	p->nparams = opts->nparams + f->nparams;
	if (f->has_step && !opts->has_step)
		*step = f->step;
	return 0;
}

/* Bad input is a usage error before anything is looked up. */
static int check(p4r_metric_log *log)
{
	p4r_version probe = { .number = 1 };
	const p4r_version *v = log->version;
	int rc;

	log->version = &probe;
	rc = p4r_metric_log_check(log);
	log->version = v;
	return rc;
}

/* What LOG recorded, into OUT (its own copies). */
static int keep_logged(p4r_log_metric_result *out, const p4r_metric_log *log)
{
	size_t i;

	out->step = log->step;
	out->at_ms = log->at_ms;
	if (!(out->metrics = calloc(log->nmetrics + 1, sizeof(*out->metrics))) ||
	    !(out->params = calloc(log->nparams + 1, sizeof(*out->params))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	/* the entries are NULL until copied: p4r_log_metric_result_free
	 * frees whatever a failure left */
	out->nmetrics = log->nmetrics;
	out->nparams = log->nparams;
	for (i = 0; i < log->nmetrics; i++) {
		out->metrics[i].value = log->metrics[i].value;
		if (!(out->metrics[i].key = strdup(log->metrics[i].key)))
			return p4r_error_set(P4R_ERROR, "out of memory");
	}
	for (i = 0; i < log->nparams; i++)
		if (!(out->params[i].key = strdup(log->params[i].key)) ||
		    !(out->params[i].value = strdup(log->params[i].value)))
			return p4r_error_set(P4R_ERROR, "out of memory");
	return 0;
}

/* Records LOG on OUT->version; OUT gets the run's name and experiment. */
static int record(p4r_repo *repo, const p4r_metric_log *log, p4r_log_metric_result *out)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_run_info info = { 0 };
	int rc;

	if ((rc = p4r_metrics_log(reg, log, &out->run)) < 0 ||
	    (rc = p4r_metrics_run_get(reg, out->version.id, out->run, &info)) < 0)
		return rc;
	out->experiment = info.experiment;
	info.experiment = NULL;
	p4r_run_info_clear(&info);
	return 0;
}

int p4r_log_metric(p4r_repo *repo, const p4r_log_metric_opts *opts, const p4r_op_report *report,
		   p4r_log_metric_result *out)
{
	p4r_metric_log log = { .version = &out->version, .run = opts->run, .experiment = opts->experiment };
	struct pairs p = { 0 };
	char *actor = NULL;
	int rc;

	(void)report;
	memset(out, 0, sizeof(*out));
	if ((rc = gather(repo, opts, &p, &log.step)) < 0)
		goto done;
	log.at_ms = opts->at_ms ? opts->at_ms : p4r_now_ms();
	log.metrics = p.metrics;
	log.nmetrics = p.nmetrics;
	log.params = p.params;
	log.nparams = p.nparams;
	if ((rc = check(&log)) < 0 || (rc = p4r_ref_resolve(repo, opts->ref, &out->version)) < 0)
		goto done;
	log.actor = actor = p4r_repo_actor(repo);
	if ((rc = record(repo, &log, out)) == 0)
		rc = keep_logged(out, &log);
done:
	free(actor);
	pairs_clear(&p);
	return rc;
}

void p4r_log_metric_result_free(p4r_log_metric_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nmetrics; i++)
		free((char *)r->metrics[i].key);
	for (i = 0; i < r->nparams; i++) {
		free((char *)r->params[i].key);
		free((char *)r->params[i].value);
	}
	free(r->metrics);
	free(r->params);
	p4r_version_clear(&r->version);
	free(r->run);
	free(r->experiment);
	memset(r, 0, sizeof(*r));
}
