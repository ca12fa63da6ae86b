/* The log-metric operation (p4reg log-metric): metrics and params of a
 * version recorded in a run, all or nothing (metrics.h holds the rules
 * and the registry's side). */
#ifndef P4REG_OPS_LOG_METRIC_H
#define P4REG_OPS_LOG_METRIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p4reg/metrics.h"
#include "p4reg/ops/op.h"
#include "p4reg/registry.h"
#include "p4reg/repo.h"

typedef struct p4r_log_metric_opts {
	const char *ref;          /* name@3, name@production, a model name, a pointer's path */
	const char *run;          /* the run to create or append to; NULL: the default name */
	const char *experiment;   /* NULL: "default" */
	const char *file;         /* --file: a JSON file of metrics, params and step; nullable */
	bool has_step;            /* STEP given (else the file's, else 0) */
	int64_t step;
	int64_t at_ms;            /* when the values were measured; 0: now */
	const p4r_metric_kv *metrics; /* the command line's; win over the file's */
	size_t nmetrics;
	const p4r_param_kv *params;
	size_t nparams;
} p4r_log_metric_opts;

typedef struct p4r_log_metric_result {
	p4r_version version;      /* the version the metrics describe */
	char *run;                /* the run's name; owned */
	char *experiment;         /* the run's experiment; owned */
	int64_t step;
	int64_t at_ms;
	p4r_metric_kv *metrics;   /* what was logged, the command line's first;
				   * keys owned */
	size_t nmetrics;
	p4r_param_kv *params;     /* keys and values owned */
	size_t nparams;
} p4r_log_metric_result;

/* Reads OPTS->file (p4r_metrics_file_read) and appends its metrics and
 * params to the command line's, checks them all (p4r_metric_log_check:
 * P4R_EUSAGE before anything is looked up), resolves OPTS->ref and records
 * everything in one transaction (p4r_metrics_log: a param the run holds
 * with another value is P4R_EREFUSED, nothing recorded). REPORT is unused
 * (nullable). Free OUT with p4r_log_metric_result_free. */
int p4r_log_metric(p4r_repo *repo, const p4r_log_metric_opts *opts, const p4r_op_report *report,
		   p4r_log_metric_result *out);
void p4r_log_metric_result_free(p4r_log_metric_result *r);

#endif
