/* Experiment tracking: metrics per version (grouped in runs), params per
 * run. Gates and tables read "the" value of a key on a version by one rule
 * (p4r_metrics_value): the run that logged the key most recently, and in it
 * the highest step. docs/lifecycle.md, "Which value a gate reads". */
#ifndef P4REG_METRICS_H
#define P4REG_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "p4reg/config.h"
#include "p4reg/registry.h"
#include "p4reg/repo.h"

#define P4R_METRIC_KEY_MAX 64

/* True when KEY is 1..64 of letters, digits and "_ . - / @". */
bool p4r_metric_key_valid(const char *key);

/* Parses a finite decimal number ("0.83", "-1e-3"); P4R_EUSAGE otherwise
 * (nan, inf, hex, empty, trailing text), and for a number no double holds:
 * a magnitude above 1.7976931348623157e308 ("1e400") or a non-zero value
 * that rounds to 0 ("1e-400"; the smallest is 4.9e-324). Subnormals
 * ("1e-310") are kept, with the fewer digits they have. */
int p4r_metric_parse_value(double *out, const char *text);

/* 0 when every number in the LEN bytes of JSON TEXT (already accepted by
 * cJSON, which converts out-of-range numbers to 0 or inf without a word)
 * passes p4r_metric_parse_value; P4R_EUSAGE naming the first that does not. */
int p4r_metric_json_numbers_check(const char *text, size_t len);

typedef struct p4r_metric_kv {
	const char *key;
	double value;
} p4r_metric_kv;

typedef struct p4r_param_kv {
	const char *key;
	const char *value;
} p4r_param_kv;

/* One log-metric call. */
typedef struct p4r_metric_log {
	const p4r_version *version; /* the version the metrics describe */
	const char *run;            /* NULL: the default name {date}_{model}_{experiment}_v{N} */
	const char *experiment;     /* NULL or "": "default" */
	int64_t step;               /* 0 unless given */
	int64_t at_ms;              /* 0: now */
	const p4r_metric_kv *metrics;
	size_t nmetrics;
	const p4r_param_kv *params;
	size_t nparams;
	const char *actor;          /* who logs, for the "log-metric" event; NULL: "" */
} p4r_metric_log;

/* Records everything in LOG in one transaction, creating or appending to its
 * run: all or nothing. A param whose key the run already holds with another
 * value is P4R_EREFUSED ("param 'lr' of run 'x' is 0.1; params are
 * immutable"). *RUN_OUT (nullable) gets the run's name, malloc'd. */
int p4r_metrics_log(p4r_registry *reg, const p4r_metric_log *log, char **run_out);

/* Records again, on VERSION (id, model, number set), what a "log-metric"
 * event's DETAIL says was logged: the run, its params and metrics. For events
 * arriving from a remote; joins the caller's transaction and records no new
 * event. Where the run already holds a param with another value, or another
 * experiment, the first one stays (a remote's history must always apply).
 * A detail that does not validate is P4R_EINTEGRITY. */
int p4r_metrics_replay(p4r_registry *reg, const p4r_version *version, const char *detail);
/* The validation of p4r_metrics_replay alone (no registry): 0 when DETAIL
 * would apply, P4R_EINTEGRITY when it does not validate (p4reg get refuses
 * the batches fetch refuses). */
int p4r_metrics_replay_check(const p4r_version *version, const char *detail);

/* ---- names, values and times (metrics.c) ---- */

#define P4R_RUN_NAME_MAX 256
#define P4R_EXPERIMENT_MAX 64
#define P4R_PARAM_VALUE_MAX 1024
#define P4R_METRICS_PER_CALL_MAX 10000
#define P4R_PARAMS_PER_CALL_MAX 1000
#define P4R_METRICS_FILE_MAX ((size_t)16 << 20)
/* Steps stay exact in JSON (2^53 - 1). */
#define P4R_STEP_MAX 9007199254740991LL

/* "The" value of a key on a version, with where it came from. */
typedef struct p4r_metric_value {
	bool found;             /* false: no run in scope logged the key */
	double value;
	int64_t step;
	int64_t at_ms;
	int64_t id;             /* metrics row id; 0 when !found */
	bool in_run;            /* false: logged outside any run */
	char run[P4R_RUN_NAME_MAX + 1];           /* "" outside a run */
	char experiment[P4R_EXPERIMENT_MAX + 1];  /* the run's; "" outside a run */
} p4r_metric_value;

/* The value of KEY on the version with registry id VERSION_ID that gates,
 * tables and comparisons read:
 *   1. the run: among the runs that logged KEY on the version (only those
 *      of EXPERIMENT when it is not NULL), the one whose most recent point
 *      for KEY is the most recent: latest time (the point's --time), then
 *      the highest metrics row id (logged last);
 *   2. the point: in that run, the highest step, then the latest time, then
 *      the highest id.
 * Points logged outside any run form one implicit run without a name or an
 * experiment, which EXPERIMENT never selects. OUT->found is false (and 0
 * returned) when nothing in scope logged KEY. */
int p4r_metrics_value(p4r_registry *reg, int64_t version_id, const char *key,
		      const char *experiment, p4r_metric_value *out);

/* p4r_metrics_value's number alone, every experiment in scope. */
int p4r_metrics_latest(p4r_registry *reg, int64_t version_id, const char *key,
		       double *value, bool *found);

/* True when NAME is 1..P4R_RUN_NAME_MAX of the key characters. */
bool p4r_run_name_valid(const char *name);
/* True when NAME is 1..P4R_EXPERIMENT_MAX of the key characters. */
bool p4r_experiment_valid(const char *name);
/* 0, or P4R_EUSAGE naming the param when KEY or VALUE is invalid (value:
 * at most P4R_PARAM_VALUE_MAX bytes of UTF-8 without control characters). */
int p4r_param_check(const char *key, const char *value);

/* Checks everything in LOG without touching the registry: keys, finite
 * values, params, run and experiment names, the step, no key given twice,
 * at least one metric or param. P4R_EUSAGE naming the first problem. */
int p4r_metric_log_check(const p4r_metric_log *log);

/* Parses "KEY=VALUE" into *KEY (malloc'd) and *VALUE; P4R_EUSAGE naming the
 * pair when either side is invalid. */
int p4r_metric_parse_pair(char **key, double *value, const char *pair);
/* Same for "--param KEY=VALUE": *KEY and *VALUE point into a malloc'd copy
 * returned in *KEY (free only *KEY). */
int p4r_param_parse_pair(char **key, const char **value, const char *pair);

/* The default run name {YYYYMMDD}_{model}_{experiment}_v{N}, the date being
 * AT_MS's in UTC; EXPERIMENT NULL or "" is "default". Malloc'd into *OUT. */
int p4r_metrics_run_name(char **out, const char *model, const char *experiment,
			 int64_t number, int64_t at_ms);

/* Parses an ISO 8601 UTC time: "2026-02-18", "2026-02-18T09:30:00Z",
 * fractions of a second and "+01:00"-style offsets allowed; P4R_EUSAGE
 * otherwise. Years 1970..9999. */
int p4r_metrics_parse_time(int64_t *out_ms, const char *text);
/* The same for the end of a range (--until): a date alone ("2026-02-18")
 * is the last millisecond of that day (UTC), so the day is included. */
int p4r_metrics_parse_time_end(int64_t *out_ms, const char *text);

/* The shortest text that reads back as V (at most 17 significant digits),
 * e.g. "0.83", "12", "1e-07". BUF should hold 32 bytes. */
void p4r_metric_format(char *buf, size_t bufsz, double v);

/* What an evaluation script's JSON file holds: {"f1": 0.8, ...} or
 * {"metrics": {...}, "params": {...}, "step": 3}. Strings point into PRIV. */
typedef struct p4r_metrics_file {
	p4r_metric_kv *metrics;
	size_t nmetrics;
	p4r_param_kv *params;
	size_t nparams;
	bool has_step;
	int64_t step;
	void *priv;             /* the parsed document and converted values */
} p4r_metrics_file;

/* Parses LEN bytes of TEXT; NAME is for messages. Malformed JSON, a value
 * that is not a finite number, nested objects where numbers belong, unknown
 * top-level keys in the structured form: P4R_EUSAGE naming the file and what
 * is wrong. Free with p4r_metrics_file_clear even on failure. */
int p4r_metrics_file_parse(p4r_metrics_file *out, const char *text, size_t len, const char *name);
/* Reads PATH (at most P4R_METRICS_FILE_MAX bytes; inside REPO's work
 * tree never through a link, see p4r_repo_read_user_file; "-": standard
 * input, named "standard input" in messages) and parses it. */
int p4r_metrics_file_read(p4r_metrics_file *out, p4r_repo *repo, const char *path);
void p4r_metrics_file_clear(p4r_metrics_file *f);

/* Which way is better for a metric. */
typedef enum p4r_metric_goal {
	P4R_GOAL_UNKNOWN = 0,
	P4R_GOAL_MAX,
	P4R_GOAL_MIN,
} p4r_metric_goal;

/* The built-in direction of KEY (case-insensitive; also tried on the part
 * after the last '/' and without an "@k" suffix): latency*, *loss*, error*,
 * *_ms, mae, mse, rmse are min; accuracy, precision*, recall*, f1, spearman,
 * cosine*, ndcg*, tokens/sec, quality* are max. */
p4r_metric_goal p4r_metric_default_goal(const char *key);
/* "max", "min" or NULL. */
const char *p4r_metric_goal_name(p4r_metric_goal g);

/* Config metric.<KEY>.goal (max|min) when set in CFG (nullable), else the
 * default. A value other than max or min is P4R_EUSAGE. */
int p4r_metric_goal_get(p4r_metric_goal *out, p4r_config *cfg, const char *key);

/* ---- reading back (registry/metrics_sql.c) ---- */

/* The value of one key on one version (p4r_metrics_value's rule), with
 * where it came from. */
typedef struct p4r_metric_cell {
	double value;
	int64_t step;
	int64_t at_ms;
	int64_t id;   /* metrics row id; 0 when the version has no such key */
} p4r_metric_cell;

/* Versions x keys: the value of every key on every version. */
typedef struct p4r_metric_table {
	char **keys;            /* sorted (strcmp); owned */
	size_t nkeys;
	size_t nrows;           /* one per version asked for, in that order */
	p4r_metric_cell **columns; /* columns[key][row]; owned */
} p4r_metric_table;

/* Fills OUT with the values of VERSIONS[0..N) (any models), each cell
 * chosen by p4r_metrics_value's rule. Versions of one model are read with a
 * single query. Free with _clear. */
int p4r_metrics_table(p4r_registry *reg, const p4r_version *versions, size_t n,
		      p4r_metric_table *out);
/* The same, only from runs of EXPERIMENT (NULL: every run, as above). */
int p4r_metrics_table_scoped(p4r_registry *reg, const p4r_version *versions, size_t n,
			     const char *experiment, p4r_metric_table *out);
void p4r_metric_table_clear(p4r_metric_table *t);
/* The cell of ROW and column COL; NULL when absent. */
const p4r_metric_cell *p4r_metric_table_get(const p4r_metric_table *t, size_t row, size_t col);

struct cJSON;
/* {"key": value, ...} of ROW's present cells, numbers in their shortest
 * exact form; a new object owned by the caller (cJSON_Delete), NULL when
 * out of memory. */
struct cJSON *p4r_json_metric_row(const p4r_metric_table *t, size_t row);
/* A cJSON number item printed as p4r_metric_format text (exact, cheap). */
struct cJSON *p4r_json_metric_value(double v);

/* One logged value of a key. */
typedef struct p4r_metric_point {
	int64_t id;
	int64_t step;
	int64_t at_ms;
	double value;
	char *run;              /* owned; NULL when logged outside a run */
} p4r_metric_point;

/* Every value of KEY on VERSION_ID ordered by step, time, id. */
int p4r_metrics_history(p4r_registry *reg, int64_t version_id, const char *key,
			p4r_metric_point **out, size_t *n);
void p4r_metric_points_free(p4r_metric_point *p, size_t n);

/* A run with its params and the latest value of each key logged in it. */
typedef struct p4r_run_info {
	int64_t id;
	char model[P4R_MODEL_NAME_MAX + 1];
	int64_t version;        /* version number */
	char *name;             /* owned */
	char *experiment;       /* owned */
	int64_t created_ms;
	p4r_param_kv *params;   /* keys and values owned; sorted by key */
	size_t nparams;
	p4r_metric_kv *metrics; /* keys owned; sorted by key */
	size_t nmetrics;
} p4r_run_info;

/* Runs, newest first; MODEL NULL for all models (P4R_ENOTFOUND for an
 * unknown one), EXPERIMENT NULL for all. Three queries however many runs. */
int p4r_metrics_runs(p4r_registry *reg, const char *model, const char *experiment,
		     p4r_run_info **out, size_t *n);

/* Which runs p4r_metrics_run_query lists, in which order. */
typedef struct p4r_run_query {
	const char *model;      /* NULL: every model */
	const char *experiment; /* NULL: every experiment */
	const char *sort_key;   /* NULL: newest first; else by the run's latest
				 * value of this metric, runs without it last
				 * (ties newest first) */
	bool desc;              /* with SORT_KEY: highest first (else lowest) */
} p4r_run_query;

/* p4r_metrics_runs with Q's order; an invalid SORT_KEY is P4R_EUSAGE. */
int p4r_metrics_run_query(p4r_registry *reg, const p4r_run_query *q, p4r_run_info **out, size_t *n);
/* The run NAME of VERSION_ID into OUT (params and metrics filled too);
 * P4R_ENOTFOUND when none. */
int p4r_metrics_run_get(p4r_registry *reg, int64_t version_id, const char *name, p4r_run_info *out);
void p4r_run_info_clear(p4r_run_info *r);
void p4r_run_array_free(p4r_run_info *r, size_t n);

/* ---- versions by their metrics (registry/metrics_sql.c) ---- */

#define P4R_WHERE_MAX 16

struct p4r_gate;

/* Which versions of a model p4r_metrics_version_query lists. */
typedef struct p4r_version_query {
	const char *model;
	const struct p4r_gate *where; /* conditions "[EXPERIMENT:]KEY OP NUMBER"
				       * (lifecycle.h), all of which must hold */
	size_t nwhere;                /* at most P4R_WHERE_MAX */
	int64_t since_ms;             /* registered at or after; 0: any time */
	int64_t until_ms;             /* registered at or before; 0: any time */
	int64_t limit;                /* > 0: the newest LIMIT that match */
} p4r_version_query;

/* The versions of Q->model that match Q, highest number first, filtered
 * and limited in one SQL query. A condition reads the value of its key on
 * the version by p4r_metrics_value's rule (from runs of its experiment when
 * scoped): a version without one matches no condition on that key, not
 * even "!=". A stage on the right side ("f1>=production"), more than
 * P4R_WHERE_MAX conditions or an invalid model name is P4R_EUSAGE; an
 * unknown model P4R_ENOTFOUND. Free with p4r_version_array_free. */
int p4r_metrics_version_query(p4r_registry *reg, const p4r_version_query *q, p4r_version **out, size_t *n);

#endif
