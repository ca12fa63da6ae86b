/* p4r_report: the registry as one self-contained HTML page (the operation
 * behind `p4reg report [-o FILE] [-n N] [MODEL...]`): per model its
 * versions, a metric trend per key, the stage timeline and production
 * against staging. The data is gathered here in one read snapshot; the
 * page is drawn by report/html.c (report_html.h) into memory, then written
 * to OPTS->output atomically or left in OUT->html for the caller. */
#ifndef P4REG_OPS_REPORT_H
#define P4REG_OPS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p4reg/alias.h"
#include "p4reg/metrics.h"
#include "p4reg/ops/op.h"
#include "p4reg/registry.h"
#include "p4reg/repo.h"
#include "p4reg/tag.h"

/* Versions per model, and events per stage timeline, without -n. */
#define P4R_REPORT_LIMIT_DEFAULT 50

typedef struct p4r_report_opts {
	const char *const *models; /* the models to show, by name; none: every model */
	size_t nmodels;
	int64_t limit;             /* > 0: the newest LIMIT versions of each model (plus
				    * its production and staging versions) and the last
				    * LIMIT events of its timeline; 0: the default */
	const char *output;        /* the file to write; NULL or "-": none (OUT->html) */
	int64_t now_ms;            /* the page's "generated" time; 0: now */
} p4r_report_opts;

/* Production against staging on one metric key. */
typedef struct p4r_report_delta {
	const char *key;               /* borrowed from the model's metric table */
	const p4r_metric_cell *prod;   /* NULL: production lacks the key */
	const p4r_metric_cell *staging;
	p4r_metric_goal goal;          /* which way is better (config, else built in) */
	const char *better;            /* "production", "staging", "equal" or NULL
					* (a side missing, or the goal unknown) */
} p4r_report_delta;

typedef struct p4r_report_model {
	p4r_model model;
	p4r_version *versions;     /* shown, highest number first */
	size_t n;
	int64_t omitted;           /* live versions not shown (older than the limit) */
	p4r_metric_table metrics;  /* one row per shown version: the values gates read */
	p4r_metric_goal *goals;    /* one per metrics.nkeys */
	p4r_tags model_tags;       /* the model's own tags */
	p4r_tags version_tags;     /* every version's tags (by version id) */
	p4r_alias_entry *aliases;  /* the model's aliases, by name */
	size_t naliases;
	p4r_event *events;         /* the stage timeline, oldest first (promote,
				    * rollback, hook, delete) */
	size_t nevents;
	bool events_cut;           /* older timeline events were left out */
	p4r_report_delta *deltas;  /* one per metric key production or staging logged,
				    * when the model has both (else none) */
	size_t ndeltas;
	ptrdiff_t prod_row;        /* row of the production version in VERSIONS, -1: none */
	ptrdiff_t staging_row;     /* likewise for staging */
} p4r_report_model;

typedef struct p4r_report_result {
	p4r_report_model *models;  /* in the order OPTS names them, else by name */
	size_t n;
	int64_t limit;             /* the limit applied */
	int64_t generated_ms;
	char *repo_name;           /* the repository folder's base name; owned */
	size_t versions;           /* versions shown, over all models */
	char *html;                /* the page, NUL-terminated; owned */
	size_t len;
} p4r_report_result;

/* Checks OPTS->output first when given (its folder must exist: P4R_ENOTFOUND
 * "folder 'x' does not exist"; a folder, FIFO, device or socket there is
 * P4R_EUSAGE; a symbolic link is replaced, never written through), then
 * gathers every model OPTS names (an unknown one is P4R_ENOTFOUND with the
 * closest name as a hint; a name given twice is shown once) or every model,
 * in one read snapshot, draws the page and writes it to OPTS->output
 * (temporary file, fsync, rename, folder fsync: a reader never sees half a
 * page, and a failure leaves the old file). OUT->html holds the page either
 * way. REPORT is unused (nullable). Free OUT with p4r_report_result_free,
 * also on failure. */
int p4r_report(p4r_repo *repo, const p4r_report_opts *opts, const p4r_op_report *report,
	       p4r_report_result *out);
void p4r_report_result_free(p4r_report_result *r);

#endif
