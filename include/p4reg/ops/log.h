/* p4r_log: a model's versions, newest first, with their metrics, searched
 * (the operation behind `p4reg log MODEL [--where EXPR]... [--since DATE]
 * [--until DATE] [-n N]`). */
#ifndef P4REG_OPS_LOG_H
#define P4REG_OPS_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "p4reg/alias.h"
#include "p4reg/metrics.h"
#include "p4reg/ops/op.h"
#include "p4reg/registry.h"
#include "p4reg/repo.h"
#include "p4reg/tag.h"

typedef struct p4r_log_opts {
	const char *model;
	const char *const *where;  /* "[EXPERIMENT:]KEY OP NUMBER" each (a gate's
				    * syntax with a number on the right); all must hold */
	size_t nwhere;
	int64_t since_ms;          /* registered at or after; 0: any time */
	int64_t until_ms;          /* registered at or before; 0: any time */
	int64_t limit;             /* > 0: the newest LIMIT versions that match */
} p4r_log_opts;

typedef struct p4r_log_result {
	p4r_model model;
	p4r_version *versions;     /* highest number first */
	size_t n;
	p4r_metric_table metrics;  /* one row per version: its latest values */
	p4r_tags model_tags;       /* the model's own tags */
	p4r_tags version_tags;     /* the listed versions' tags (by version id) */
	p4r_alias_entry *aliases;  /* the model's aliases */
	size_t naliases;
} p4r_log_result;

/* Parses every OPTS->where (P4R_EUSAGE "invalid --where 'EXPR': ..." for
 * one that is not KEY OP NUMBER, before anything is read), then lists the
 * matching versions (p4r_metrics_version_query: the filter is SQL), their
 * metrics, and the model's tags and aliases and its versions' tags. An unknown model is P4R_ENOTFOUND. REPORT is unused
 * (nullable). Free OUT with p4r_log_result_free, also on failure. */
int p4r_log(p4r_repo *repo, const p4r_log_opts *opts, const p4r_op_report *report, p4r_log_result *out);
void p4r_log_result_free(p4r_log_result *r);

#endif
