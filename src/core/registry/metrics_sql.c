/* The SQL of experiment tracking: logging metrics and params into runs, and
 * reading back latest values, tables, histories and runs (see metrics.h).
 * Every statement binds its parameters; every mutation is one BEGIN
 * IMMEDIATE transaction through p4r_registry_begin. */
#include "p4reg/metrics.h"
#include "p4reg/batch.h"
#include "p4reg/error.h"
#include "p4reg/lifecycle.h"
#include "p4reg/output.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/sql.h"

/* ---- statement helpers ---- */

/* A copy of text column I ("" for NULL); NULL only when out of memory. */
static char *col_dup(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return strdup(s ? s : "");
}

/* A metric key read back must still be one: tables and CSV rely on it. */
static const char *col_key(sqlite3_stmt *st, int i, int *rc)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	if (!s || !p4r_metric_key_valid(s)) {
		*rc = p4r_error_set(P4R_EINTEGRITY, "registry: malformed metric key in the database");
		return NULL;
	}
	return s;
}

/* ---- logging ---- */

/* The event's detail: what the call recorded, so the trail alone can
 * rebuild it. Owned by the caller (cJSON_free). */
static char *event_detail(const p4r_metric_log *log, const char *run, const char *experiment,
			  int64_t at_ms)
{
	cJSON *doc = cJSON_CreateObject(), *m, *p;
	char when[32], *text;
	size_t i;

	if (!doc)
		return NULL;
	p4r_format_time(when, sizeof(when), at_ms);
	cJSON_AddStringToObject(doc, "run", run);
	cJSON_AddStringToObject(doc, "experiment", experiment);
	cJSON_AddNumberToObject(doc, "step", (double)log->step);
	cJSON_AddStringToObject(doc, "time", when);
	cJSON_AddNumberToObject(doc, "at_ms", (double)at_ms);
	m = cJSON_AddObjectToObject(doc, "metrics");
	for (i = 0; m && i < log->nmetrics; i++)
		cJSON_AddNumberToObject(m, log->metrics[i].key, log->metrics[i].value);
	p = cJSON_AddObjectToObject(doc, "params");
	for (i = 0; p && i < log->nparams; i++)
		cJSON_AddStringToObject(p, log->params[i].key, log->params[i].value);
	text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	return text;
}

/* Finds run NAME of the version or creates it; *EXPERIMENT gets its
 * experiment (malloc'd). */
static int run_find_or_create(sqlite3 *db, const p4r_metric_log *log, const char *name,
			      int64_t at_ms, int64_t *run_id, char **experiment)
{
	const char *want = log->experiment && *log->experiment ? log->experiment : NULL;
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = p4r_sql_prepare(db, &st, "SELECT id, experiment FROM runs WHERE version_id = ?1 AND name = ?2")) < 0 ||
	    (rc = p4r_sql_bind_int(db, st, 1, log->version->id)) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 2, name)) < 0 ||
	    (rc = p4r_sql_step(db, st)) < 0)
		goto done;
	if (rc == 1) {
		*run_id = sqlite3_column_int64(st, 0);
		if (!(*experiment = col_dup(st, 1))) {
			rc = p4r_error_set(P4R_ERROR, "out of memory");
			goto done;
		}
		rc = 0;
		if (want && strcmp(want, *experiment))
			rc = p4r_error_set(P4R_EREFUSED, "run '%s' of %s@%lld belongs to experiment '%s', "
					   "not '%s'", name, log->version->model,
					   (long long)log->version->number, *experiment, want);
		goto done;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (!(*experiment = strdup(want ? want : "default"))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	if ((rc = p4r_sql_prepare(db, &st, "INSERT INTO runs(version_id, name, experiment, created_ms)"
			  " VALUES (?1, ?2, ?3, ?4)")) < 0 ||
	    (rc = p4r_sql_bind_int(db, st, 1, log->version->id)) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 2, name)) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 3, *experiment)) < 0 ||
	    (rc = p4r_sql_bind_int(db, st, 4, at_ms)) < 0 ||
	    (rc = p4r_sql_step(db, st)) < 0)
		goto done;
	*run_id = sqlite3_last_insert_rowid(db);
	rc = 0;
done:
	sqlite3_finalize(st);
	return rc;
}

/* Params are immutable: a key already held with the same value is fine,
 * with another value refused. */
static int params_put(sqlite3 *db, const p4r_metric_log *log, int64_t run_id, const char *run,
		      bool first_wins)
{
	sqlite3_stmt *get = NULL, *put = NULL;
	size_t i;
	int rc;

	if (log->nparams == 0)
		return 0;
	if ((rc = p4r_sql_prepare(db, &get, "SELECT value FROM params WHERE run_id = ?1 AND key = ?2")) < 0 ||
	    (rc = p4r_sql_prepare(db, &put, "INSERT INTO params(run_id, key, value) VALUES (?1, ?2, ?3)")) < 0)
		goto done;
	for (i = 0; i < log->nparams; i++) {
		const p4r_param_kv *p = &log->params[i];

		sqlite3_reset(get);
		if ((rc = p4r_sql_bind_int(db, get, 1, run_id)) < 0 || (rc = p4r_sql_bind_text(db, get, 2, p->key)) < 0 ||
		    (rc = p4r_sql_step(db, get)) < 0)
			goto done;
		if (rc == 1) {
			const char *old = (const char *)sqlite3_column_text(get, 0);

			if (!first_wins && (!old || strcmp(old, p->value))) {
				rc = p4r_error_set(P4R_EREFUSED, "param '%s' of run '%s' is '%s', not '%s'; "
						   "params are immutable (log to a new --run)",
						   p->key, run, old ? old : "", p->value);
				goto done;
			}
			continue;
		}
		sqlite3_reset(put);
		if ((rc = p4r_sql_bind_int(db, put, 1, run_id)) < 0 || (rc = p4r_sql_bind_text(db, put, 2, p->key)) < 0 ||
		    (rc = p4r_sql_bind_text(db, put, 3, p->value)) < 0 || (rc = p4r_sql_step(db, put)) < 0)
			goto done;
	}
	rc = 0;
done:
	sqlite3_finalize(get);
	sqlite3_finalize(put);
	return rc;
}

static int metrics_put(sqlite3 *db, const p4r_metric_log *log, int64_t run_id, int64_t at_ms)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc;

	if (log->nmetrics == 0)
		return 0;
	if ((rc = p4r_sql_prepare(db, &st, "INSERT INTO metrics(version_id, run_id, key, value, step, at_ms)"
			  " VALUES (?1, ?2, ?3, ?4, ?5, ?6)")) < 0 ||
	    (rc = p4r_sql_bind_int(db, st, 1, log->version->id)) < 0 ||
	    (rc = p4r_sql_bind_int(db, st, 2, run_id)) < 0 ||
	    (rc = p4r_sql_bind_int(db, st, 5, log->step)) < 0 ||
	    (rc = p4r_sql_bind_int(db, st, 6, at_ms)) < 0)
		goto done;
	for (i = 0; i < log->nmetrics; i++) {
		sqlite3_reset(st);
		if ((rc = p4r_sql_bind_text(db, st, 3, log->metrics[i].key)) < 0 ||
		    sqlite3_bind_double(st, 4, log->metrics[i].value) != SQLITE_OK ||
		    (rc = p4r_sql_step(db, st)) < 0) {
			if (rc >= 0)
				rc = p4r_sql_error(db);
			goto done;
		}
	}
	rc = 0;
done:
	sqlite3_finalize(st);
	return rc;
}

static int log_txn(p4r_registry *reg, const p4r_metric_log *log, const char *run, int64_t at_ms)
{
	sqlite3 *db = p4r_registry_db(reg);
	p4r_event ev = { 0 };
	char *experiment = NULL, *detail = NULL;
	int64_t run_id = 0;
	int rc;

	if ((rc = run_find_or_create(db, log, run, at_ms, &run_id, &experiment)) < 0 ||
	    (rc = params_put(db, log, run_id, run, false)) < 0 ||
	    (rc = metrics_put(db, log, run_id, at_ms)) < 0)
		goto done;
	if (!(detail = event_detail(log, run, experiment, at_ms))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	/* The event travels to remotes whole; one they refuse blocks every clone. */
	if (strlen(detail) > P4R_EVENT_DETAIL_MAX) {
		rc = p4r_error_set(P4R_EUSAGE, "these metrics and params are too large for one event (%zu "
				   "bytes as JSON; a remote accepts at most %d): log them in several calls",
				   strlen(detail), P4R_EVENT_DETAIL_MAX);
		goto done;
	}
	snprintf(ev.model, sizeof(ev.model), "%s", log->version->model);
	ev.version = log->version->number;
	snprintf(ev.kind, sizeof(ev.kind), "log-metric");
	ev.actor = (char *)(log->actor ? log->actor : "");
	ev.at_ms = p4r_now_ms();
	ev.reason = "";
	ev.detail = detail;
	rc = p4r_registry_event_add(reg, &ev);
done:
	cJSON_free(detail);
	free(experiment);
	return rc;
}

/* ---- replaying events from a remote ---- */

/* True when V is a whole number an int64_t holds exactly: the check comes
 * before the cast, which is undefined for NaN and out-of-range values. */
static bool whole_in_range(double v)
{
	return v >= -9007199254740991.0 && v <= 9007199254740991.0 && floor(v) == v;
}

/* Fills the arrays of LOG from the "metrics"/"params" objects of DOC; the
 * arrays point into DOC. */
static int replay_parse(p4r_metric_log *log, p4r_metric_kv **metrics, p4r_param_kv **params,
			const cJSON *doc)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, "metrics");
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(doc, "params");
	const cJSON *step = cJSON_GetObjectItemCaseSensitive(doc, "step");
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(doc, "at_ms");
	const cJSON *run = cJSON_GetObjectItemCaseSensitive(doc, "run");
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(doc, "experiment");
	const cJSON *it;
	size_t nm = 0, np = 0;

	if (!cJSON_IsString(run) || !cJSON_IsNumber(step) || !cJSON_IsNumber(at) ||
	    (m && !cJSON_IsObject(m)) || (p && !cJSON_IsObject(p)) || (exp && !cJSON_IsString(exp)) ||
	    !whole_in_range(step->valuedouble) || !whole_in_range(at->valuedouble))
		return P4R_EUSAGE;
	log->run = run->valuestring;
	log->experiment = exp ? exp->valuestring : NULL;
	log->step = (int64_t)step->valuedouble;
	log->at_ms = (int64_t)at->valuedouble;
	*metrics = calloc((size_t)cJSON_GetArraySize(m) + 1, sizeof(**metrics));
	*params = calloc((size_t)cJSON_GetArraySize(p) + 1, sizeof(**params));
	if (!*metrics || !*params)
		return P4R_ERROR;
	cJSON_ArrayForEach(it, m) {
		if (!cJSON_IsNumber(it) || !it->string)
			return P4R_EUSAGE;
		(*metrics)[nm].key = it->string;
		(*metrics)[nm++].value = it->valuedouble;
	}
	cJSON_ArrayForEach(it, p) {
		if (!cJSON_IsString(it) || !it->string)
			return P4R_EUSAGE;
		(*params)[np].key = it->string;
		(*params)[np++].value = it->valuestring;
	}
	log->metrics = *metrics;
	log->nmetrics = nm;
	log->params = *params;
	log->nparams = np;
	return 0;
}

/* Parses and checks DETAIL into LOG (pointing into *DOC, which the caller
 * frees with *METRICS and *PARAMS): P4R_EINTEGRITY naming VERSION when it
 * does not validate. */
static int replay_prepare(cJSON **doc, p4r_metric_log *log, p4r_metric_kv **metrics,
			  p4r_param_kv **params, const p4r_version *version, const char *detail)
{
	int rc;

	*doc = detail ? cJSON_Parse(detail) : NULL;
	rc = *doc ? replay_parse(log, metrics, params, *doc) : P4R_EUSAGE;
	if (rc == 0 && p4r_metric_json_numbers_check(detail, strlen(detail)) < 0)
		rc = P4R_EUSAGE;
	if (rc == 0)
		rc = p4r_metric_log_check(log);
	if (rc == P4R_ERROR)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if (rc < 0)
		return p4r_error_set(P4R_EINTEGRITY, "invalid log-metric event for %s@%lld from the remote",
				     version->model, (long long)version->number);
	return 0;
}

int p4r_metrics_replay_check(const p4r_version *version, const char *detail)
{
	p4r_metric_log log = { .version = version };
	p4r_metric_kv *metrics = NULL;
	p4r_param_kv *params = NULL;
	cJSON *doc = NULL;
	int rc = replay_prepare(&doc, &log, &metrics, &params, version, detail);

	free(metrics);
	free(params);
	cJSON_Delete(doc);
	return rc;
}

int p4r_metrics_replay(p4r_registry *reg, const p4r_version *version, const char *detail)
{
	sqlite3 *db = p4r_registry_db(reg);
	p4r_metric_log log = { .version = version };
	p4r_metric_kv *metrics = NULL;
	p4r_param_kv *params = NULL;
	char *experiment = NULL;
	cJSON *doc = NULL;
	int64_t run_id = 0;
	int rc;

	if ((rc = replay_prepare(&doc, &log, &metrics, &params, version, detail)) < 0)
		goto done;
	/* two machines that named one run differently keep the first's
	 * experiment and params: a remote's history must always apply */
	rc = run_find_or_create(db, &log, log.run, log.at_ms, &run_id, &experiment);
	if (rc == P4R_EREFUSED) {
		p4r_error_clear();
		rc = 0;
	}
	if (rc == 0)
		rc = params_put(db, &log, run_id, log.run, true);
	if (rc == 0)
		rc = metrics_put(db, &log, run_id, log.at_ms);
done:
	free(experiment);
	free(metrics);
	free(params);
	cJSON_Delete(doc);
	return rc;
}

int p4r_metrics_log(p4r_registry *reg, const p4r_metric_log *log, char **run_out)
{
	int64_t at_ms;
	char *run = NULL;
	int rc;

	if (run_out)
		*run_out = NULL;
	if ((rc = p4r_metric_log_check(log)) < 0)
		return rc;
	at_ms = log->at_ms ? log->at_ms : p4r_now_ms();
	if (log->run)
		run = strdup(log->run);
	else if ((rc = p4r_metrics_run_name(&run, log->version->model, log->experiment,
					    log->version->number, at_ms)) < 0)
		return rc;
	if (!run)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if ((rc = p4r_registry_begin(reg)) < 0)
		goto done;
	if ((rc = log_txn(reg, log, run, at_ms)) < 0) {
		p4r_registry_abort(reg);
		goto done;
	}
	if ((rc = p4r_registry_commit(reg)) < 0)
		goto done;
	if (run_out) {
		*run_out = run;
		run = NULL;
	}
done:
	free(run);
	return rc;
}

/* ---- the value of a key ---- */

/* p4r_metrics_value in one statement: PICK is the run of the most recent
 * point (the implicit run is run_id NULL, matched with IS), then that
 * run's highest step. Both walk the metrics_latest index. */
#define VALUE_SQL \
	"WITH pick AS (SELECT m.run_id AS run_id FROM metrics m LEFT JOIN runs r ON r.id = m.run_id" \
	"  WHERE m.version_id = ?1 AND m.key = ?2 AND (?3 IS NULL OR r.experiment = ?3)" \
	"  ORDER BY m.at_ms DESC, m.id DESC LIMIT 1)" \
	" SELECT m.value, m.step, m.at_ms, m.id, m.run_id IS NOT NULL, r.name, r.experiment" \
	" FROM pick JOIN metrics m ON m.version_id = ?1 AND m.key = ?2 AND m.run_id IS pick.run_id" \
	" LEFT JOIN runs r ON r.id = m.run_id" \
	" ORDER BY m.step DESC, m.at_ms DESC, m.id DESC LIMIT 1"

int p4r_metrics_value(p4r_registry *reg, int64_t version_id, const char *key,
		      const char *experiment, p4r_metric_value *out)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	const char *s;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = p4r_sql_prepare(db, &st, VALUE_SQL)) < 0 ||
	    (rc = p4r_sql_bind_int(db, st, 1, version_id)) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 2, key)) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 3, experiment)) < 0 ||
	    (rc = p4r_sql_step(db, st)) < 0)
		goto done;
	if (rc == 1) {
		out->found = true;
		out->value = sqlite3_column_double(st, 0);
		out->step = sqlite3_column_int64(st, 1);
		out->at_ms = sqlite3_column_int64(st, 2);
		out->id = sqlite3_column_int64(st, 3);
		out->in_run = sqlite3_column_int(st, 4) != 0;
		if ((s = (const char *)sqlite3_column_text(st, 5)))
			snprintf(out->run, sizeof(out->run), "%s", s);
		if ((s = (const char *)sqlite3_column_text(st, 6)))
			snprintf(out->experiment, sizeof(out->experiment), "%s", s);
	}
	rc = 0;
done:
	sqlite3_finalize(st);
	return rc;
}

int p4r_metrics_latest(p4r_registry *reg, int64_t version_id, const char *key,
		       double *value, bool *found)
{
	p4r_metric_value v;
	int rc = p4r_metrics_value(reg, version_id, key, NULL, &v);

	*value = v.found ? v.value : 0;
	*found = v.found;
	return rc;
}

/* ---- tables ---- */

/* Builds a metric table from rows (version_id, key, value, step, at_ms, id,
 * run_id) in any order: keys are interned in a hash, each new key gets a
 * column of NROWS cells (so nothing is copied as keys appear), and each
 * cell follows p4r_metrics_value's rule in one pass. A cell holds the run
 * with the most recent point so far and that run's best point; the other
 * runs of the cell wait in a side table (SPARES, keyed by cell and run), so
 * a run that takes the lead later brings every point it had. Most cells
 * have one run and never touch the side table. */
struct runbest {
	p4r_metric_cell best;    /* highest step, then latest time, then row; id 0: none */
	int64_t recent_at;       /* the run's most recent point: time, then row */
	int64_t recent_id;
};

struct tcell {
	struct runbest cur;      /* the leading run's points */
	int64_t run;             /* the leading run; NO_RUN for the implicit one */
};

#define NO_RUN INT64_MIN

struct spare {
	size_t cell;             /* column * nrows + row */
	int64_t run;
	struct runbest rb;
};

struct collector {
	struct idrow { int64_t id; size_t row; } *map; /* sorted by id */
	size_t nrows;
	char **keys;
	struct tcell **columns;  /* columns[key][row] */
	size_t nkeys, cap;
	size_t *slots;           /* open addressing: key index + 1, 0 empty */
	size_t nslots;
	int64_t last_vid;        /* the previous row's version and its range */
	size_t last_lo, last_hi; /* in MAP: rows come grouped by version */
	struct spare *spares;    /* runs not leading their cell */
	size_t nspares, capspares;
	size_t *spare_slots;     /* open addressing: spare index + 1, 0 empty */
	size_t nspare_slots;
};

static int cmp_idrow(const void *a, const void *b)
{
	const struct idrow *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static uint64_t hash_key(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int collector_init(struct collector *c, const p4r_version *versions, size_t n)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	c->nrows = n;
	if (n && !(c->map = malloc(n * sizeof(*c->map))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < n; i++) {
		c->map[i].id = versions[i].id;
		c->map[i].row = i;
	}
	/* qsort with a NULL array is undefined even when empty (log --where
	 * that matches nothing, a model whose versions were all deleted) */
	if (n)
		qsort(c->map, n, sizeof(*c->map), cmp_idrow);
	return 0;
}

static void collector_free(struct collector *c)
{
	size_t i;

	for (i = 0; i < c->nkeys; i++) {
		free(c->keys[i]);
		free(c->columns[i]);
	}
	free(c->keys);
	free(c->columns);
	free(c->slots);
	free(c->map);
	free(c->spares);
	free(c->spare_slots);
}

/* Doubles the key arrays and rebuilds the hash. */
static int collector_grow(struct collector *c)
{
	size_t ncap = c->cap ? c->cap * 2 : 64, nslots = ncap * 2, i;
	struct tcell **columns;
	size_t *slots;
	char **keys;

	if (!(keys = realloc(c->keys, ncap * sizeof(*keys))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	c->keys = keys;
	if (!(columns = realloc(c->columns, ncap * sizeof(*columns))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	c->columns = columns;
	if (!(slots = calloc(nslots, sizeof(*slots))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < c->nkeys; i++) {
		size_t h = (size_t)hash_key(c->keys[i]) & (nslots - 1);

		while (slots[h])
			h = (h + 1) & (nslots - 1);
		slots[h] = i + 1;
	}
	free(c->slots);
	c->slots = slots;
	c->nslots = nslots;
	c->cap = ncap;
	return 0;
}

/* *COL gets KEY's column, adding it on first sight. */
static int collector_key(struct collector *c, const char *key, size_t *col)
{
	size_t h;
	int rc;

	if (c->nslots) {
		for (h = (size_t)hash_key(key) & (c->nslots - 1); c->slots[h];
		     h = (h + 1) & (c->nslots - 1)) {
			if (!strcmp(c->keys[c->slots[h] - 1], key)) {
				*col = c->slots[h] - 1;
				return 0;
			}
		}
	}
	/* Checked once per key, not per row: tables and CSV rely on it. */
	if (!p4r_metric_key_valid(key))
		return p4r_error_set(P4R_EINTEGRITY, "registry: malformed metric key in the database");
	if (c->nkeys == c->cap && (rc = collector_grow(c)) < 0)
		return rc;
	if (!(c->columns[c->nkeys] = calloc(c->nrows, sizeof(**c->columns))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	if (!(c->keys[c->nkeys] = strdup(key))) {
		free(c->columns[c->nkeys]);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	for (h = (size_t)hash_key(key) & (c->nslots - 1); c->slots[h]; h = (h + 1) & (c->nslots - 1))
		;
	c->slots[h] = c->nkeys + 1;
	*col = c->nkeys++;
	return 0;
}

static size_t spare_hash(size_t cell, int64_t run, size_t nslots)
{
	uint64_t h = ((uint64_t)cell * 0x9E3779B97F4A7C15ULL) ^ ((uint64_t)run * 0xC2B2AE3D27D4EB4FULL);

	return (size_t)(h ^ (h >> 29)) & (nslots - 1);
}

/* *AT gets the index in C->spares of run RUN of cell CELL, added empty on
 * first sight. Indexes stay valid; pointers do not (the array grows). */
static int spare_get(struct collector *c, size_t cell, int64_t run, size_t *at)
{
	size_t h, i;

	if (c->nspare_slots) {
		for (h = spare_hash(cell, run, c->nspare_slots); c->spare_slots[h];
		     h = (h + 1) & (c->nspare_slots - 1)) {
			const struct spare *sp = &c->spares[c->spare_slots[h] - 1];

			if (sp->cell == cell && sp->run == run) {
				*at = c->spare_slots[h] - 1;
				return 0;
			}
		}
	}
	if (c->nspares == c->capspares) {
		size_t ncap = c->capspares ? c->capspares * 2 : 64, nslots = ncap * 2;
		struct spare *arr = realloc(c->spares, ncap * sizeof(*arr));
		size_t *slots;

		if (!arr)
			return p4r_error_set(P4R_ERROR, "out of memory");
		c->spares = arr;
		if (!(slots = calloc(nslots, sizeof(*slots))))
			return p4r_error_set(P4R_ERROR, "out of memory");
		for (i = 0; i < c->nspares; i++) {
			for (h = spare_hash(arr[i].cell, arr[i].run, nslots); slots[h]; h = (h + 1) & (nslots - 1))
				;
			slots[h] = i + 1;
		}
		free(c->spare_slots);
		c->spare_slots = slots;
		c->nspare_slots = nslots;
		c->capspares = ncap;
	}
	for (h = spare_hash(cell, run, c->nspare_slots); c->spare_slots[h]; h = (h + 1) & (c->nspare_slots - 1))
		;
	memset(&c->spares[c->nspares], 0, sizeof(c->spares[c->nspares]));
	c->spares[c->nspares].cell = cell;
	c->spares[c->nspares].run = run;
	c->spare_slots[h] = c->nspares + 1;
	*at = c->nspares++;
	return 0;
}

/* Within one run: the higher step, then the later time, then the later row. */
static bool cell_better(const p4r_metric_cell *a, const p4r_metric_cell *b)
{
	if (a->step != b->step)
		return a->step > b->step;
	if (a->at_ms != b->at_ms)
		return a->at_ms > b->at_ms;
	return a->id > b->id;
}

/* Adds the point ROW to the points of one run. */
static void runbest_add(struct runbest *rb, const p4r_metric_cell *row)
{
	if (rb->best.id == 0 || row->at_ms > rb->recent_at ||
	    (row->at_ms == rb->recent_at && row->id > rb->recent_id)) {
		rb->recent_at = row->at_ms;
		rb->recent_id = row->id;
	}
	if (rb->best.id == 0 || cell_better(row, &rb->best))
		rb->best = *row;
}

/* True when run A's most recent point is more recent than run B's. */
static bool runbest_leads(const struct runbest *a, const struct runbest *b)
{
	return a->recent_at > b->recent_at || (a->recent_at == b->recent_at && a->recent_id > b->recent_id);
}

/* One row of RUN into the cell T at index CELL (p4r_metrics_value's rule). */
static int cell_take(struct collector *c, struct tcell *t, size_t cell, const p4r_metric_cell *row,
		     int64_t run)
{
	struct runbest lead;
	int64_t lead_run;
	size_t at;
	int rc;

	if (t->cur.best.id == 0 || run == t->run) {
		if (t->cur.best.id == 0)
			t->run = run;
		runbest_add(&t->cur, row);
		return 0;
	}
	if ((rc = spare_get(c, cell, run, &at)) < 0)
		return rc;
	runbest_add(&c->spares[at].rb, row);
	if (!runbest_leads(&c->spares[at].rb, &t->cur))
		return 0;
	/* RUN takes the lead with all its points; the old leader waits. Its
	 * entry may be stale from an earlier turn: overwritten whole. */
	lead = t->cur;
	lead_run = t->run;
	t->cur = c->spares[at].rb;
	t->run = run;
	if ((rc = spare_get(c, cell, lead_run, &at)) < 0)
		return rc;
	c->spares[at].rb = lead;
	return 0;
}

/* Sets C's cached range of MAP rows holding version VID (empty if none). */
static void collector_find(struct collector *c, int64_t vid)
{
	struct idrow want = { .id = vid }, *hit;
	size_t lo, hi;

	c->last_vid = vid;
	c->last_lo = c->last_hi = 0;
	/* bsearch with a NULL array is undefined even when empty */
	hit = c->nrows ? bsearch(&want, c->map, c->nrows, sizeof(*c->map), cmp_idrow) : NULL;
	if (!hit)
		return;
	/* The same version may be asked for twice ("metrics x@1 x@1"). */
	for (lo = (size_t)(hit - c->map); lo > 0 && c->map[lo - 1].id == vid; lo--)
		;
	for (hi = (size_t)(hit - c->map) + 1; hi < c->nrows && c->map[hi].id == vid; hi++)
		;
	c->last_lo = lo;
	c->last_hi = hi;
}

/* Takes one row (version_id, key, value, step, at_ms, id, run_id) of ST. */
static int collector_row(struct collector *c, sqlite3_stmt *st)
{
	int64_t vid = sqlite3_column_int64(st, 0), run;
	const char *key;
	p4r_metric_cell cell;
	size_t col = 0, i;
	int rc;

	if (vid != c->last_vid || c->last_vid == 0)
		collector_find(c, vid);
	if (c->last_lo == c->last_hi)
		return 0;
	key = (const char *)sqlite3_column_text(st, 1);
	if (!key)
		return p4r_error_set(P4R_EINTEGRITY, "registry: malformed metric key in the database");
	if ((rc = collector_key(c, key, &col)) < 0)
		return rc;
	cell.value = sqlite3_column_double(st, 2);
	cell.step = sqlite3_column_int64(st, 3);
	cell.at_ms = sqlite3_column_int64(st, 4);
	cell.id = sqlite3_column_int64(st, 5);
	run = sqlite3_column_type(st, 6) == SQLITE_NULL ? NO_RUN : sqlite3_column_int64(st, 6);
	for (i = c->last_lo; i < c->last_hi; i++)
		if ((rc = cell_take(c, &c->columns[col][c->map[i].row], col * c->nrows + c->map[i].row,
				    &cell, run)) < 0)
			return rc;
	return 0;
}

static int collector_run(struct collector *c, sqlite3 *db, sqlite3_stmt *st)
{
	int rc;

	while ((rc = p4r_sql_step(db, st)) == 1)
		if ((rc = collector_row(c, st)) < 0)
			return rc;
	return rc;
}

static int cmp_colkey(const void *a, const void *b, void *keys)
{
	char **k = keys;

	return strcmp(k[*(const size_t *)a], k[*(const size_t *)b]);
}

/* Moves the collected columns into T with the keys sorted, each column of
 * working cells replaced by the cells it chose. */
static int collector_finish(struct collector *c, p4r_metric_table *t)
{
	p4r_metric_cell **columns = NULL;
	size_t *order = NULL, i, r;
	char **keys = NULL;

	t->nrows = c->nrows;
	if (c->nkeys == 0)
		return 0;
	order = malloc(c->nkeys * sizeof(*order));
	keys = malloc(c->nkeys * sizeof(*keys));
	columns = calloc(c->nkeys, sizeof(*columns));
	if (!order || !keys || !columns)
		goto nomem;
	/* Column by column, so the working cells and the result are never
	 * both held whole. */
	for (i = 0; i < c->nkeys; i++) {
		if (!(columns[i] = malloc(c->nrows * sizeof(**columns))))
			goto nomem;
		for (r = 0; r < c->nrows; r++)
			columns[i][r] = c->columns[i][r].cur.best;
		free(c->columns[i]);
		c->columns[i] = NULL;
	}
	for (i = 0; i < c->nkeys; i++)
		order[i] = i;
	qsort_r(order, c->nkeys, sizeof(*order), cmp_colkey, c->keys);
	t->keys = keys;
	t->columns = calloc(c->nkeys, sizeof(*t->columns));
	if (!t->columns) {
		t->keys = NULL;
		goto nomem;
	}
	for (i = 0; i < c->nkeys; i++) {
		keys[i] = c->keys[order[i]];
		t->columns[i] = columns[order[i]];
		c->keys[order[i]] = NULL;
	}
	t->nkeys = c->nkeys;
	free(columns);
	free(order);
	return 0;
nomem:
	for (i = 0; columns && i < c->nkeys; i++)
		free(columns[i]);
	free(columns);
	free(keys);
	free(order);
	return p4r_error_set(P4R_ERROR, "out of memory");
}

static bool one_model(const p4r_version *versions, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		if (strcmp(versions[i].model, versions[0].model))
			return false;
	return true;
}

/* The runs filter of a table query: every row, or only rows of runs of ?E
 * (the parameter number is the query's own). */
#define TABLE_COLS "m.version_id, m.key, m.value, m.step, m.at_ms, m.id, m.run_id"
#define SCOPE_JOIN " JOIN runs r ON r.id = m.run_id AND r.experiment = "

/* About how many versions the registry (MODEL NULL) or model MODEL has,
 * from one index descent, never a count of the rows: the largest row id of
 * versions (rows are never deleted, so their ids run 1..N) and the live
 * versions the model's row counts (models.live_versions). Only the choice of
 * how to read below depends on it, never what is read. */
static int count_versions(sqlite3 *db, const char *model, int64_t *total)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*total = 0;
	rc = model ? p4r_sql_prepare(db, &st, "SELECT live_versions FROM models WHERE name = ?1") :
		     p4r_sql_prepare(db, &st, "SELECT coalesce(max(id), 0) FROM versions");
	if (rc == 0 && (!model || (rc = p4r_sql_bind_text(db, st, 1, model)) == 0) &&
	    (rc = p4r_sql_step(db, st)) > 0) {
		*total = sqlite3_column_int64(st, 0);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Most of the registry: one sequential pass over the table beats an index
 * walk that fetches every row by id (3x here). */
static int collect_all(struct collector *c, sqlite3 *db, const char *experiment)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = experiment ?
		p4r_sql_prepare(db, &st, "SELECT " TABLE_COLS " FROM metrics m" SCOPE_JOIN "?1") :
		p4r_sql_prepare(db, &st, "SELECT " TABLE_COLS " FROM metrics m");
	if (rc == 0 && (!experiment || (rc = p4r_sql_bind_text(db, st, 1, experiment)) == 0))
		rc = collector_run(c, db, st);
	sqlite3_finalize(st);
	return rc;
}

/* Many versions of one model: one join through the model's name. */
static int collect_model(struct collector *c, sqlite3 *db, const char *model, const char *experiment)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = experiment ?
		p4r_sql_prepare(db, &st, "SELECT " TABLE_COLS
				" FROM models mo JOIN versions v ON v.model_id = mo.id"
				" JOIN metrics m ON m.version_id = v.id" SCOPE_JOIN "?2 WHERE mo.name = ?1") :
		p4r_sql_prepare(db, &st, "SELECT " TABLE_COLS
				" FROM models mo JOIN versions v ON v.model_id = mo.id"
				" JOIN metrics m ON m.version_id = v.id WHERE mo.name = ?1");
	if (rc == 0 && (rc = p4r_sql_bind_text(db, st, 1, model)) == 0 &&
	    (!experiment || (rc = p4r_sql_bind_text(db, st, 2, experiment)) == 0))
		rc = collector_run(c, db, st);
	sqlite3_finalize(st);
	return rc;
}

/* A few versions: one indexed query each, the statement reused. */
static int collect_each(struct collector *c, sqlite3 *db, const p4r_version *versions, size_t n,
			const char *experiment)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc;

	rc = experiment ?
		p4r_sql_prepare(db, &st, "SELECT " TABLE_COLS " FROM metrics m" SCOPE_JOIN "?2"
				" WHERE m.version_id = ?1") :
		p4r_sql_prepare(db, &st, "SELECT " TABLE_COLS " FROM metrics m WHERE m.version_id = ?1");
	if (rc < 0 || (experiment && (rc = p4r_sql_bind_text(db, st, 2, experiment)) < 0))
		goto done;
	for (i = 0; i < n; i++) {
		sqlite3_reset(st);
		if ((rc = p4r_sql_bind_int(db, st, 1, versions[i].id)) < 0 ||
		    (rc = collector_run(c, db, st)) < 0)
			goto done;
	}
done:
	sqlite3_finalize(st);
	return rc;
}

/* The cheapest read of VERSIONS' rows: a few, or a small part of their
 * model (log -n 10 of 10,000 versions), one indexed query each; most of
 * one model, its rows; most of the registry, every row. */
static int collect(struct collector *c, sqlite3 *db, const p4r_version *versions, size_t n,
		   const char *experiment)
{
	int64_t total = 0;
	int rc;

	if (n <= 4)
		return collect_each(c, db, versions, n, experiment);
	if ((rc = count_versions(db, NULL, &total)) < 0)
		return rc;
	if ((int64_t)n * 4 >= total)
		return collect_all(c, db, experiment);
	if (one_model(versions, n) && (rc = count_versions(db, versions[0].model, &total)) < 0)
		return rc;
	if (one_model(versions, n) && (int64_t)n * 4 >= total)
		return collect_model(c, db, versions[0].model, experiment);
	return collect_each(c, db, versions, n, experiment);
}

int p4r_metrics_table_scoped(p4r_registry *reg, const p4r_version *versions, size_t n,
			     const char *experiment, p4r_metric_table *out)
{
	sqlite3 *db = p4r_registry_db(reg);
	struct collector c;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = collector_init(&c, versions, n)) < 0)
		goto done;
	if (n == 0)
		goto finish;
	if ((rc = collect(&c, db, versions, n, experiment)) < 0)
		goto done;
finish:
	rc = collector_finish(&c, out);
done:
	collector_free(&c);
	if (rc < 0)
		p4r_metric_table_clear(out);
	return rc;
}

int p4r_metrics_table(p4r_registry *reg, const p4r_version *versions, size_t n,
		      p4r_metric_table *out)
{
	return p4r_metrics_table_scoped(reg, versions, n, NULL, out);
}

/* ---- history ---- */

void p4r_metric_points_free(p4r_metric_point *p, size_t n)
{
	size_t i;

	for (i = 0; p && i < n; i++)
		free(p[i].run);
	free(p);
}

int p4r_metrics_history(p4r_registry *reg, int64_t version_id, const char *key,
			p4r_metric_point **out, size_t *n)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	p4r_metric_point *arr = NULL, *p;
	size_t cap = 0, count = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = p4r_sql_prepare(db, &st, "SELECT m.id, m.step, m.at_ms, m.value, r.name FROM metrics m"
			  " LEFT JOIN runs r ON r.id = m.run_id"
			  " WHERE m.version_id = ?1 AND m.key = ?2 ORDER BY m.step, m.at_ms, m.id")) < 0 ||
	    (rc = p4r_sql_bind_int(db, st, 1, version_id)) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 2, key)) < 0)
		goto done;
	while ((rc = p4r_sql_step(db, st)) == 1) {
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 16;

			if (!(p = realloc(arr, ncap * sizeof(*arr)))) {
				rc = p4r_error_set(P4R_ERROR, "out of memory");
				goto done;
			}
			arr = p;
			cap = ncap;
		}
		p = &arr[count];
		p->id = sqlite3_column_int64(st, 0);
		p->step = sqlite3_column_int64(st, 1);
		p->at_ms = sqlite3_column_int64(st, 2);
		p->value = sqlite3_column_double(st, 3);
		p->run = NULL;
		if (sqlite3_column_type(st, 4) != SQLITE_NULL && !(p->run = col_dup(st, 4))) {
			rc = p4r_error_set(P4R_ERROR, "out of memory");
			goto done;
		}
		count++;
	}
done:
	sqlite3_finalize(st);
	if (rc < 0) {
		p4r_metric_points_free(arr, count);
		return rc;
	}
	*out = arr;
	*n = count;
	return 0;
}

/* ---- runs ---- */

void p4r_run_info_clear(p4r_run_info *r)
{
	size_t i;

	if (!r)
		return;
	free(r->name);
	free(r->experiment);
	for (i = 0; i < r->nparams; i++) {
		free((char *)r->params[i].key);
		free((char *)r->params[i].value);
	}
	free(r->params);
	for (i = 0; i < r->nmetrics; i++)
		free((char *)r->metrics[i].key);
	free(r->metrics);
	memset(r, 0, sizeof(*r));
}

void p4r_run_array_free(p4r_run_info *r, size_t n)
{
	size_t i;

	for (i = 0; r && i < n; i++)
		p4r_run_info_clear(&r[i]);
	free(r);
}

/* The filter every runs query shares (runs of deleted versions are gone
 * with them); NULL parameters match everything. */
#define RUN_FROM \
	" FROM runs r JOIN versions v ON v.id = r.version_id JOIN models mo ON mo.id = v.model_id"
#define RUN_WHERE \
	" WHERE " P4R_SQL_LIVE("v") " AND (?1 IS NULL OR mo.name = ?1) AND (?2 IS NULL OR r.experiment = ?2)" \
	" AND (?3 IS NULL OR r.version_id = ?3) AND (?4 IS NULL OR r.name = ?4)"

struct run_filter {
	const char *model, *experiment, *name;
	int64_t version_id;     /* 0: any */
	const char *sort_key;   /* runs by their latest value of this key; NULL: newest first */
	bool desc;              /* SORT_KEY's highest first */
};

static int bind_filter(sqlite3 *db, sqlite3_stmt *st, const struct run_filter *f)
{
	int rc;

	if ((rc = p4r_sql_bind_text(db, st, 1, f->model)) < 0 || (rc = p4r_sql_bind_text(db, st, 2, f->experiment)) < 0 ||
	    (rc = (f->version_id ? p4r_sql_bind_int(db, st, 3, f->version_id) : p4r_sql_bind_text(db, st, 3, NULL))) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 4, f->name)) < 0)
		return rc;
	return 0;
}

/* runs --sort KEY: the run's latest value of ?5 (as runs lists it: the
 * highest step, then time, then row), NULL when it has none (?5 NULL: no
 * sort); runs without it come last either way, ties newest first. */
#define RUN_SORT_VALUE \
	" (SELECT m.value FROM metrics m WHERE m.version_id = r.version_id AND m.run_id = r.id" \
	" AND m.key = ?5 ORDER BY m.step DESC, m.at_ms DESC, m.id DESC LIMIT 1)"
#define RUN_ORDER \
	"sortv IS NULL, CASE WHEN ?6 THEN -sortv ELSE sortv END, r.created_ms DESC, r.id DESC"

struct runidx { int64_t id; size_t at; };

static int cmp_runidx(const void *a, const void *b)
{
	const struct runidx *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static p4r_run_info *run_by_id(p4r_run_info *runs, const struct runidx *idx, size_t n, int64_t id)
{
	struct runidx want = { .id = id };
	const struct runidx *hit = n ? bsearch(&want, idx, n, sizeof(*idx), cmp_runidx) : NULL;

	return hit ? &runs[hit->at] : NULL;
}

static int runs_main(sqlite3 *db, const struct run_filter *f, p4r_run_info **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	p4r_run_info *arr = NULL, *r;
	size_t cap = 0, count = 0;
	int rc;

	if ((rc = p4r_sql_prepare(db, &st, "SELECT r.id, mo.name, v.number, r.name, r.experiment, r.created_ms,"
			  RUN_SORT_VALUE " AS sortv" RUN_FROM RUN_WHERE " ORDER BY " RUN_ORDER)) < 0 ||
	    (rc = bind_filter(db, st, f)) < 0 || (rc = p4r_sql_bind_text(db, st, 5, f->sort_key)) < 0 ||
	    (rc = p4r_sql_bind_int(db, st, 6, f->desc)) < 0)
		goto done;
	while ((rc = p4r_sql_step(db, st)) == 1) {
		const char *model = (const char *)sqlite3_column_text(st, 1);

		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 16;

			if (!(r = realloc(arr, ncap * sizeof(*arr)))) {
				rc = p4r_error_set(P4R_ERROR, "out of memory");
				goto done;
			}
			arr = r;
			cap = ncap;
		}
		r = &arr[count];
		memset(r, 0, sizeof(*r));
		count++;
		r->id = sqlite3_column_int64(st, 0);
		snprintf(r->model, sizeof(r->model), "%s", model ? model : "");
		r->version = sqlite3_column_int64(st, 2);
		r->created_ms = sqlite3_column_int64(st, 5);
		if (!(r->name = col_dup(st, 3)) || !(r->experiment = col_dup(st, 4))) {
			rc = p4r_error_set(P4R_ERROR, "out of memory");
			goto done;
		}
	}
done:
	sqlite3_finalize(st);
	*out = arr;
	*n = count;
	return rc;
}

/* Appends to R's params (PARAM true) or metrics, growing by one. */
static int run_append(p4r_run_info *r, bool param, char *key, char *value, double v)
{
	if (param) {
		p4r_param_kv *p = realloc(r->params, (r->nparams + 1) * sizeof(*p));

		if (!p)
			return p4r_error_set(P4R_ERROR, "out of memory");
		r->params = p;
		p[r->nparams].key = key;
		p[r->nparams++].value = value;
	} else {
		p4r_metric_kv *m = realloc(r->metrics, (r->nmetrics + 1) * sizeof(*m));

		if (!m)
			return p4r_error_set(P4R_ERROR, "out of memory");
		r->metrics = m;
		m[r->nmetrics].key = key;
		m[r->nmetrics++].value = v;
	}
	return 0;
}

static int runs_params(sqlite3 *db, const struct run_filter *f, p4r_run_info *runs,
		       const struct runidx *idx, size_t n)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = p4r_sql_prepare(db, &st, "SELECT p.run_id, p.key, p.value" RUN_FROM
			  " JOIN params p ON p.run_id = r.id" RUN_WHERE " ORDER BY p.run_id, p.key")) < 0 ||
	    (rc = bind_filter(db, st, f)) < 0)
		goto done;
	while ((rc = p4r_sql_step(db, st)) == 1) {
		p4r_run_info *r = run_by_id(runs, idx, n, sqlite3_column_int64(st, 0));
		char *key, *value;

		if (!r)
			continue;
		key = col_dup(st, 1);
		value = col_dup(st, 2);
		if (!key || !value || (rc = run_append(r, true, key, value, 0)) < 0) {
			free(key);
			free(value);
			rc = p4r_error_set(P4R_ERROR, "out of memory");
			goto done;
		}
	}
done:
	sqlite3_finalize(st);
	return rc;
}

/* Rows come ordered so the last of each (run, key) is its latest value. */
static int runs_metrics(sqlite3 *db, const struct run_filter *f, p4r_run_info *runs,
			const struct runidx *idx, size_t n)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = p4r_sql_prepare(db, &st, "SELECT m.run_id, m.key, m.value" RUN_FROM
			  " JOIN metrics m ON m.version_id = r.version_id AND m.run_id = r.id" RUN_WHERE
			  " ORDER BY m.run_id, m.key, m.step, m.at_ms, m.id")) < 0 ||
	    (rc = bind_filter(db, st, f)) < 0)
		goto done;
	while ((rc = p4r_sql_step(db, st)) == 1) {
		p4r_run_info *r = run_by_id(runs, idx, n, sqlite3_column_int64(st, 0));
		const char *key = col_key(st, 1, &rc);
		char *copy;

		if (!key)
			goto done;
		if (!r)
			continue;
		if (r->nmetrics && !strcmp(r->metrics[r->nmetrics - 1].key, key)) {
			r->metrics[r->nmetrics - 1].value = sqlite3_column_double(st, 2);
			continue;
		}
		if (!(copy = strdup(key)) || (rc = run_append(r, false, copy, NULL, sqlite3_column_double(st, 2))) < 0) {
			free(copy);
			rc = p4r_error_set(P4R_ERROR, "out of memory");
			goto done;
		}
	}
done:
	sqlite3_finalize(st);
	return rc;
}

static int runs_query(p4r_registry *reg, const struct run_filter *f, p4r_run_info **out, size_t *n)
{
	sqlite3 *db = p4r_registry_db(reg);
	struct runidx *idx = NULL;
	p4r_run_info *runs = NULL;
	size_t count = 0, i;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = runs_main(db, f, &runs, &count)) < 0)
		goto done;
	if (count == 0)
		goto done;
	if (!(idx = malloc(count * sizeof(*idx)))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	for (i = 0; i < count; i++) {
		idx[i].id = runs[i].id;
		idx[i].at = i;
	}
	qsort(idx, count, sizeof(*idx), cmp_runidx);
	if ((rc = runs_params(db, f, runs, idx, count)) < 0 ||
	    (rc = runs_metrics(db, f, runs, idx, count)) < 0)
		goto done;
done:
	free(idx);
	if (rc < 0) {
		p4r_run_array_free(runs, count);
		return rc;
	}
	*out = runs;
	*n = count;
	return 0;
}

int p4r_metrics_run_query(p4r_registry *reg, const p4r_run_query *q, p4r_run_info **out, size_t *n)
{
	struct run_filter f = { .model = q->model, .experiment = q->experiment, .sort_key = q->sort_key,
				.desc = q->desc };
	p4r_model m = { 0 };
	int rc;

	*out = NULL;
	*n = 0;
	if (q->sort_key && !p4r_metric_key_valid(q->sort_key))
		return p4r_error_set(P4R_EUSAGE, "invalid metric key '%s': use 1..%d letters, digits and "
				     "'_ . - / @'", q->sort_key, P4R_METRIC_KEY_MAX);
	if (q->model) {
		if ((rc = p4r_registry_model_get(reg, q->model, &m)) < 0)
			return rc;
		p4r_model_clear(&m);
	}
	return runs_query(reg, &f, out, n);
}

int p4r_metrics_runs(p4r_registry *reg, const char *model, const char *experiment,
		     p4r_run_info **out, size_t *n)
{
	p4r_run_query q = { .model = model, .experiment = experiment };

	return p4r_metrics_run_query(reg, &q, out, n);
}

int p4r_metrics_run_get(p4r_registry *reg, int64_t version_id, const char *name, p4r_run_info *out)
{
	struct run_filter f = { .version_id = version_id, .name = name };
	p4r_run_info *runs = NULL;
	size_t n = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = runs_query(reg, &f, &runs, &n)) < 0)
		return rc;
	if (n == 0) {
		free(runs);
		return p4r_error_set(P4R_ENOTFOUND, "no run '%s' on that version", name);
	}
	*out = runs[0];
	memset(&runs[0], 0, sizeof(runs[0]));
	p4r_run_array_free(runs, n);
	return 0;
}

/* ---- versions by their metrics (log --where) ---- */

/* The SQL operator of each gate operator (lifecycle.h's order). */
static const char *const where_ops[] = {
	[P4R_GATE_LT] = "<", [P4R_GATE_LE] = "<=", [P4R_GATE_GT] = ">",
	[P4R_GATE_GE] = ">=", [P4R_GATE_EQ] = "=", [P4R_GATE_NE] = "!=",
};

/* One condition, p4r_metrics_value's rule as a correlated subquery: the
 * run whose most recent point for the key is the most recent (PICK), then
 * that run's highest step. Parameters: the key (1st %d), the number (2nd)
 * and, scoped, the experiment (3rd). Unscoped, points outside any run are
 * one implicit run (run_id NULL, matched with IS); scoped, only runs of the
 * experiment, so a version without such a point yields NULL (no match). */
#define WHERE_ANY \
	" AND (SELECT mm.value FROM metrics mm WHERE mm.version_id = v.id AND mm.key = ?%d" \
	" AND mm.run_id IS (SELECT p.run_id FROM metrics p WHERE p.version_id = v.id AND p.key = ?%d" \
	" ORDER BY p.at_ms DESC, p.id DESC LIMIT 1)" \
	" ORDER BY mm.step DESC, mm.at_ms DESC, mm.id DESC LIMIT 1) %s ?%d"
#define WHERE_SCOPED \
	" AND (SELECT mm.value FROM metrics mm WHERE mm.version_id = v.id AND mm.key = ?%d" \
	" AND mm.run_id = (SELECT p.run_id FROM metrics p JOIN runs pr ON pr.id = p.run_id" \
	" AND pr.experiment = ?%d WHERE p.version_id = v.id AND p.key = ?%d" \
	" ORDER BY p.at_ms DESC, p.id DESC LIMIT 1)" \
	" ORDER BY mm.step DESC, mm.at_ms DESC, mm.id DESC LIMIT 1) %s ?%d"

/* ?1 model, ?2 since, ?3 until, ?4 limit; condition I uses ?5+3I (key),
 * ?6+3I (number), ?7+3I (experiment). */
#define QUERY_HEAD " WHERE m.name = ?1 AND " P4R_SQL_LIVE("v") " AND v.created_ms >= ?2 AND v.created_ms <= ?3"
#define QUERY_TAIL " ORDER BY v.number DESC LIMIT ?4"
#define WHERE_PARAM(i, k) (5 + 3 * (int)(i) + (k))

/* The query's text for Q (malloc'd), or NULL when out of memory. */
static char *version_query_sql(const p4r_version_query *q)
{
	size_t cap = strlen(p4r_sql_version_select) + sizeof(QUERY_HEAD) + sizeof(QUERY_TAIL) +
		     q->nwhere * (sizeof(WHERE_SCOPED) + 32);
	char *sql = malloc(cap);
	size_t len, i;

	if (!sql)
		return NULL;
	len = (size_t)snprintf(sql, cap, "%s" QUERY_HEAD, p4r_sql_version_select);
	for (i = 0; i < q->nwhere; i++) {
		const p4r_gate *g = &q->where[i];
		int key = WHERE_PARAM(i, 0), num = WHERE_PARAM(i, 1), exp = WHERE_PARAM(i, 2);

		if (g->experiment[0])
			len += (size_t)snprintf(sql + len, cap - len, WHERE_SCOPED, key, exp, key,
						where_ops[g->op], num);
		else
			len += (size_t)snprintf(sql + len, cap - len, WHERE_ANY, key, key, where_ops[g->op], num);
	}
	snprintf(sql + len, cap - len, "%s", QUERY_TAIL);
	return sql;
}

static int version_query_bind(sqlite3 *db, sqlite3_stmt *st, const p4r_version_query *q)
{
	size_t i;
	int rc;

	if ((rc = p4r_sql_bind_text(db, st, 1, q->model)) < 0 || (rc = p4r_sql_bind_int(db, st, 2, q->since_ms)) < 0 ||
	    (rc = p4r_sql_bind_int(db, st, 3, q->until_ms > 0 ? q->until_ms : INT64_MAX)) < 0 ||
	    (rc = p4r_sql_bind_int(db, st, 4, q->limit > 0 ? q->limit : -1)) < 0)
		return rc;
	for (i = 0; i < q->nwhere; i++) {
		const p4r_gate *g = &q->where[i];

		if ((rc = p4r_sql_bind_text(db, st, WHERE_PARAM(i, 0), g->key)) < 0 ||
		    (g->experiment[0] && (rc = p4r_sql_bind_text(db, st, WHERE_PARAM(i, 2), g->experiment)) < 0))
			return rc;
		if (sqlite3_bind_double(st, WHERE_PARAM(i, 1), g->number) != SQLITE_OK)
			return p4r_sql_error(db);
	}
	return 0;
}

/* Q's conditions are ones the query can ask: numbers, known operators. */
static int version_query_check(const p4r_version_query *q)
{
	size_t i;

	if (!q->model || !p4r_model_name_valid(q->model))
		return p4r_error_set(P4R_EUSAGE, "invalid model name '%s'", q->model ? q->model : "");
	if (q->nwhere > P4R_WHERE_MAX)
		return p4r_error_set(P4R_EUSAGE, "at most %d --where conditions", P4R_WHERE_MAX);
	for (i = 0; i < q->nwhere; i++) {
		const p4r_gate *g = &q->where[i];

		if ((int)g->op < 0 || (size_t)g->op >= sizeof(where_ops) / sizeof(where_ops[0]) ||
		    g->vs_stage || !p4r_metric_key_valid(g->key) ||
		    (g->experiment[0] && !p4r_experiment_valid(g->experiment)))
			return p4r_error_set(P4R_EUSAGE, "invalid --where '%s': expected [EXPERIMENT:]KEY OP "
					     "NUMBER", g->text);
	}
	return 0;
}

/* The rows of the bound statement ST into *OUT, *N (freed on failure). */
static int version_rows(sqlite3 *db, sqlite3_stmt *st, p4r_version **out, size_t *n)
{
	p4r_version *arr = NULL, *grown;
	size_t cap = 0, count = 0;
	int rc;

	while ((rc = p4r_sql_step(db, st)) == 1) {
		if (count == cap) {
			cap = cap ? 2 * cap : 16;
			if (!(grown = realloc(arr, cap * sizeof(*arr)))) {
				rc = p4r_error_set(P4R_ERROR, "out of memory");
				break;
			}
			arr = grown;
		}
		if ((rc = p4r_sql_read_version(&arr[count], st)) < 0)
			break;
		count++;
	}
	if (rc < 0) {
		p4r_version_array_free(arr, count);
		return rc;
	}
	*out = arr;
	*n = count;
	return 0;
}

int p4r_metrics_version_query(p4r_registry *reg, const p4r_version_query *q, p4r_version **out, size_t *n)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	char *sql = NULL;
	p4r_model m = { 0 };
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = version_query_check(q)) < 0)
		return rc;
	if (!(sql = version_query_sql(q)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	if ((rc = p4r_sql_prepare(db, &st, sql)) == 0 && (rc = version_query_bind(db, st, q)) == 0)
		rc = version_rows(db, st, out, n);
	sqlite3_finalize(st);
	free(sql);
	/* no row: an unknown model says so */
	if (rc == 0 && *n == 0 && (rc = p4r_registry_model_get(reg, q->model, &m)) == 0)
		p4r_model_clear(&m);
	return rc;
}
