/* Unit tests for search and filter (issue 16): p4r_log's --where parsing,
 * the SQL filter of versions (registry/metrics_sql.c) checked against
 * p4r_metrics_value's rule, --since/--until and -n; the event query of
 * history (kind, time range, the last N); models by stage; runs sorted by
 * a metric. Real registries in temporary folders. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/lifecycle.h"
#include "p4reg/metrics.h"
#include "p4reg/ops/log.h"
#include "p4reg/registry.h"
#include "p4reg/repo.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/sql.h" /* p4r_registry_db: a row no command writes */

#define T0 1771407000000LL /* 2026-02-18T09:30:00Z */
#define DAY 86400000LL
#define NV 6

struct fx {
	char *dir;
	p4r_repo *repo;
	p4r_registry *reg;
	p4r_version v[NV + 1];   /* emb@1..emb@6, one a day from T0 */
};

static void add_version(struct fx *fx, const char *model, unsigned seed, int64_t at, p4r_version *out)
{
	char path[64];
	p4r_version_input in = { .model = model, .path = path, .size = 100 + seed, .author = "alice",
				 .git_dirty = -1, .now_ms = at };
	bool unchanged = true;

	snprintf(path, sizeof(path), "models/%s.onnx", model);
	snprintf(in.oid.hex, sizeof(in.oid.hex), "%064x", seed);
	assert_int_equal(p4r_registry_add_version(fx->reg, &in, out, &unchanged), 0);
	assert_false(unchanged);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	int i;

	assert_non_null(fx);
	fx->repo = tu_repo_isolated(&fx->dir, NULL);
	fx->reg = p4r_repo_registry(fx->repo);
	for (i = 1; i <= NV; i++)
		add_version(fx, "emb", (unsigned)i, T0 + (i - 1) * DAY, &fx->v[i]);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	int i;

	for (i = 0; i <= NV; i++)
		p4r_version_clear(&fx->v[i]);
	p4r_repo_free(fx->repo);
	tu_rmtree_free(fx->dir);
	free(fx);
	return 0;
}

/* KEY=VALUE on version N in RUN (NULL: outside any run is not reachable
 * through p4r_metrics_log; the default name) of EXPERIMENT at STEP, AT. */
static void put(struct fx *fx, int n, const char *run, const char *experiment, const char *key,
		double value, int64_t step, int64_t at)
{
	p4r_metric_kv m = { key, value };
	p4r_metric_log log = { .version = &fx->v[n], .run = run, .experiment = experiment, .step = step,
			       .at_ms = at, .metrics = &m, .nmetrics = 1 };

	assert_int_equal(p4r_metrics_log(fx->reg, &log, NULL), 0);
}

/* KEY=VALUE on version N outside any run, as a p4reg before runs left it. */
static void implicit_point(struct fx *fx, int n, const char *key, double value, int64_t at)
{
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_prepare_v2(p4r_registry_db(fx->reg), "INSERT INTO metrics(version_id, run_id,"
					    " key, value, step, at_ms) VALUES (?1, NULL, ?2, ?3, 0, ?4)", -1, &st,
					    NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, fx->v[n].id);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 3, value);
	sqlite3_bind_int64(st, 4, at);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

/* The numbers of the versions p4r_log lists for WHERE[0..NW), as "6 3 1". */
static int listed(struct fx *fx, const char *const *where, size_t nw, int64_t limit, char *buf, size_t sz)
{
	p4r_log_opts o = { .model = "emb", .where = where, .nwhere = nw, .limit = limit };
	p4r_log_result r;
	size_t i, used = 0;
	int rc = p4r_log(fx->repo, &o, NULL, &r);

	buf[0] = '\0';
	for (i = 0; rc == 0 && i < r.n; i++)
		used += (size_t)snprintf(buf + used, sz - used, "%s%lld", i ? " " : "", (long long)r.versions[i].number);
	if (rc == 0)
		assert_int_equal(r.metrics.nrows, r.n);
	p4r_log_result_free(&r);
	return rc;
}

static const char *where1(struct fx *fx, const char *expr)
{
	static char buf[128];

	assert_int_equal(listed(fx, &expr, 1, 0, buf, sizeof(buf)), 0);
	return buf;
}

/* ---- --where ---- */

static void test_where_basic(void **state)
{
	struct fx *fx = *state;
	const char *both[] = { "f1>=0.8", "loss<0.3" };
	char buf[64];

	put(fx, 1, NULL, NULL, "f1", 0.5, 0, T0);
	put(fx, 2, NULL, NULL, "f1", 0.9, 0, T0);
	put(fx, 3, NULL, NULL, "f1", 0.8, 0, T0);
	put(fx, 3, NULL, NULL, "loss", 0.2, 0, T0);
	put(fx, 4, NULL, NULL, "loss", 0.1, 0, T0);   /* no f1 */
	put(fx, 5, NULL, NULL, "f1", 0.85, 0, T0);
	put(fx, 5, NULL, NULL, "loss", 0.4, 0, T0);
	assert_string_equal(where1(fx, "f1>=0.8"), "5 3 2");
	assert_string_equal(where1(fx, "f1 > 0.8"), "5 2");
	assert_string_equal(where1(fx, "f1<0.8"), "1");
	assert_string_equal(where1(fx, "f1<=0.8"), "3 1");
	assert_string_equal(where1(fx, "f1==0.8"), "3");
	/* a version without the metric matches nothing, not even != */
	assert_string_equal(where1(fx, "f1!=0.8"), "5 2 1");
	assert_string_equal(where1(fx, "recall>0"), "");
	/* repeated: AND */
	assert_int_equal(listed(fx, both, 2, 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "3");
	/* -n: the newest that match */
	assert_int_equal(listed(fx, both, 1, 2, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "5 3");
	assert_int_equal(listed(fx, NULL, 0, 4, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "6 5 4 3");
	assert_int_equal(listed(fx, NULL, 0, 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "6 5 4 3 2 1");
}

/* The SQL reads the value gates read: the run that logged the key most
 * recently, then that run's highest step; an experiment narrows the runs. */
static void test_where_value_rule(void **state)
{
	struct fx *fx = *state;
	p4r_metric_value v;
	int n;

	/* @1: a later run wins over an earlier one with a higher value */
	put(fx, 1, "a", NULL, "f1", 0.9, 0, T0);
	put(fx, 1, "b", NULL, "f1", 0.6, 0, T0 + 1000);
	/* @2: inside one run the highest step wins, even logged earlier */
	put(fx, 2, "a", NULL, "f1", 0.9, 5, T0);
	put(fx, 2, "a", NULL, "f1", 0.6, 1, T0 + 1000);
	/* @3: the run whose newest point is newest; its best step is older */
	put(fx, 3, "a", NULL, "f1", 0.95, 3, T0);
	put(fx, 3, "a", NULL, "f1", 0.1, 1, T0 + 5000);
	put(fx, 3, "b", NULL, "f1", 0.2, 9, T0 + 2000);
	/* @4: experiments */
	put(fx, 4, "e1", "eval", "f1", 0.85, 0, T0);
	put(fx, 4, "t1", "train", "f1", 0.3, 0, T0 + 1000);
	/* @5: same time, the later row wins */
	put(fx, 5, "a", NULL, "f1", 0.3, 0, T0);
	put(fx, 5, "b", NULL, "f1", 0.88, 0, T0);
	/* @6: a point outside any run (an older p4reg's) is the implicit run,
	 * which an experiment never selects */
	put(fx, 6, "a", NULL, "f1", 0.1, 0, T0);
	implicit_point(fx, 6, "f1", 0.95, T0 + 9000);
	assert_string_equal(where1(fx, "f1>=0.8"), "6 5 3 2");
	assert_string_equal(where1(fx, "f1<0.8"), "4 1");
	assert_string_equal(where1(fx, "eval:f1>=0.8"), "4");
	assert_string_equal(where1(fx, "train:f1<0.8"), "4");
	assert_string_equal(where1(fx, "default:f1<0.8"), "6 1");
	assert_string_equal(where1(fx, "nosuch:f1<0.8"), "");
	/* every version's answer is p4r_metrics_value's */
	for (n = 1; n <= 6; n++) {
		char buf[32];

		assert_int_equal(p4r_metrics_value(fx->reg, fx->v[n].id, "f1", NULL, &v), 0);
		assert_true(v.found);
		snprintf(buf, sizeof(buf), "%d", n);
		assert_true((strstr(where1(fx, "f1>=0.8"), buf) != NULL) == (v.value >= 0.8));
	}
}

static void test_where_bad(void **state)
{
	struct fx *fx = *state;
	const char *many[P4R_WHERE_MAX + 1];
	char buf[64];
	size_t i;

	assert_int_equal(listed(fx, (const char *[]){ "f1>>0.8" }, 1, 0, buf, sizeof(buf)), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(),
			    "invalid --where 'f1>>0.8': expected an operator < <= > >= == != after 'f1'");
	assert_int_equal(listed(fx, (const char *[]){ "f1>=" }, 1, 0, buf, sizeof(buf)), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(), "invalid --where 'f1>=': expected a number or a stage after '>='");
	assert_int_equal(listed(fx, (const char *[]){ "f1>=abc" }, 1, 0, buf, sizeof(buf)), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "invalid --where 'f1>=abc'"));
	assert_int_equal(listed(fx, (const char *[]){ "f1>=1e999" }, 1, 0, buf, sizeof(buf)), P4R_EUSAGE);
	assert_int_equal(listed(fx, (const char *[]){ ">=0.8" }, 1, 0, buf, sizeof(buf)), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "expected a metric key"));
	assert_int_equal(listed(fx, (const char *[]){ "" }, 1, 0, buf, sizeof(buf)), P4R_EUSAGE);
	assert_int_equal(listed(fx, (const char *[]){ "f1>=production" }, 1, 0, buf, sizeof(buf)), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(), "invalid --where 'f1>=production': compare with a number "
			    "('production' is a stage: promote --require compares with a stage's version)");
	for (i = 0; i <= P4R_WHERE_MAX; i++)
		many[i] = "f1>0";
	assert_int_equal(listed(fx, many, P4R_WHERE_MAX + 1, 0, buf, sizeof(buf)), P4R_EUSAGE);
	assert_int_equal(listed(fx, many, P4R_WHERE_MAX, 0, buf, sizeof(buf)), 0);
}

static void test_range_and_unknown(void **state)
{
	struct fx *fx = *state;
	p4r_log_opts o = { .model = "emb", .since_ms = T0 + DAY, .until_ms = T0 + 3 * DAY };
	p4r_log_result r;

	assert_int_equal(p4r_log(fx->repo, &o, NULL, &r), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.versions[0].number, 4);
	assert_int_equal(r.versions[2].number, 2);
	p4r_log_result_free(&r);
	o.until_ms = T0 + DAY - 1;   /* until before since */
	assert_int_equal(p4r_log(fx->repo, &o, NULL, &r), P4R_EUSAGE);
	p4r_log_result_free(&r);
	o = (p4r_log_opts){ .model = "emd" };
	assert_int_equal(p4r_log(fx->repo, &o, NULL, &r), P4R_ENOTFOUND);
	assert_string_equal(p4r_error_message(), "unknown model 'emd'");
	assert_string_equal(p4r_error_hint_text(), "did you mean 'emb'?");
	p4r_log_result_free(&r);
	o = (p4r_log_opts){ .model = "emb", .limit = -1 };
	assert_int_equal(p4r_log(fx->repo, &o, NULL, &r), P4R_EUSAGE);
	p4r_log_result_free(&r);
}

/* The metric table of a small part of a model is read version by version
 * and agrees with the one read whole. */
static void test_table_of_few(void **state)
{
	struct fx *fx = *state;
	p4r_metric_table few, all;
	int n;

	for (n = 1; n <= NV; n++)
		put(fx, n, NULL, NULL, "f1", n / 10.0, 0, T0);
	assert_int_equal(p4r_metrics_table(fx->reg, &fx->v[1], 5, &few), 0);
	assert_int_equal(p4r_metrics_table(fx->reg, &fx->v[1], NV, &all), 0);
	assert_int_equal(few.nrows, 5);
	for (n = 0; n < 5; n++)
		assert_true(p4r_metric_table_get(&few, (size_t)n, 0)->value ==
			    p4r_metric_table_get(&all, (size_t)n, 0)->value);
	p4r_metric_table_clear(&few);
	p4r_metric_table_clear(&all);
}

/* ---- history ---- */

/* The events F lists, as "model@version:kind" joined by spaces. */
static int events(struct fx *fx, const p4r_event_filter *f, char *buf, size_t sz)
{
	p4r_event *ev = NULL;
	size_t n = 0, i, used = 0;
	int rc = p4r_registry_event_query(fx->reg, f, &ev, &n);

	buf[0] = '\0';
	for (i = 0; i < n; i++)
		used += (size_t)snprintf(buf + used, sz - used, "%s%s@%lld:%s", i ? " " : "", ev[i].model,
					 (long long)ev[i].version, ev[i].kind);
	p4r_event_array_free(ev, n);
	return rc;
}

static void test_event_query(void **state)
{
	struct fx *fx = *state;
	p4r_version other;
	char buf[512];
	bool held;

	add_version(fx, "bert", 99, T0 + 10 * DAY, &other);
	put(fx, 2, NULL, NULL, "f1", 0.5, 0, T0);
	assert_int_equal(events(fx, &(p4r_event_filter){ .kind = "register", .limit = 2 }, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "emb@6:register bert@1:register");
	assert_int_equal(events(fx, &(p4r_event_filter){ .model = "emb", .kind = "register", .limit = 2 },
			        buf, sizeof(buf)), 0);
	assert_string_equal(buf, "emb@5:register emb@6:register");
	assert_int_equal(events(fx, &(p4r_event_filter){ .model = "emb", .since_ms = T0 + 4 * DAY }, buf,
			        sizeof(buf)), 0);
	assert_string_equal(buf, "emb@5:register emb@6:register emb@2:log-metric");
	assert_int_equal(events(fx, &(p4r_event_filter){ .since_ms = T0 + DAY, .until_ms = T0 + 2 * DAY },
			        buf, sizeof(buf)), 0);
	assert_string_equal(buf, "emb@2:register emb@3:register");
	assert_int_equal(events(fx, &(p4r_event_filter){ .kind = "promote" }, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(events(fx, &(p4r_event_filter){ .model = "nope" }, buf, sizeof(buf)), P4R_ENOTFOUND);
	assert_int_equal(p4r_registry_event_kind_exists(fx->reg, "log-metric", &held), 0);
	assert_true(held);
	assert_int_equal(p4r_registry_event_kind_exists(fx->reg, "promote", &held), 0);
	assert_false(held);
	p4r_version_clear(&other);
}

/* ---- list --stage ---- */

static void test_models_in_stage(void **state)
{
	struct fx *fx = *state;
	p4r_promote_req req = { .model = "emb", .number = 3, .to = P4R_STAGE_VALIDATION, .actor = "t" };
	p4r_promotion pr = { 0 };
	p4r_version other;
	p4r_model *m = NULL;
	size_t n = 0;

	add_version(fx, "bert", 99, T0, &other);
	assert_int_equal(p4r_lifecycle_promote(fx->reg, &req, &pr), 0);
	p4r_promotion_clear(&pr);
	assert_int_equal(p4r_registry_model_list_in_stage(fx->reg, P4R_STAGE_VALIDATION, &m, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(m[0].name, "emb");
	p4r_model_array_free(m, n);
	assert_int_equal(p4r_registry_model_list_in_stage(fx->reg, P4R_STAGE_DEVELOPMENT, &m, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(m[0].name, "bert");
	p4r_model_array_free(m, n);
	assert_int_equal(p4r_registry_model_list_in_stage(fx->reg, P4R_STAGE_PRODUCTION, &m, &n), 0);
	assert_int_equal(n, 0);
	p4r_model_array_free(m, n);
	assert_int_equal(p4r_registry_model_list_in_stage(fx->reg, P4R_STAGE_COUNT, &m, &n), P4R_EUSAGE);
	assert_int_equal(p4r_stage_parse(&req.to, "prodution"), P4R_EUSAGE);
	assert_string_equal(p4r_error_hint_text(), "did you mean 'production'?");
	p4r_version_clear(&other);
}

/* ---- runs --sort ---- */

static void runs_order(struct fx *fx, const p4r_run_query *q, char *buf, size_t sz)
{
	p4r_run_info *r = NULL;
	size_t n = 0, i, used = 0;

	assert_int_equal(p4r_metrics_run_query(fx->reg, q, &r, &n), 0);
	buf[0] = '\0';
	for (i = 0; i < n; i++)
		used += (size_t)snprintf(buf + used, sz - used, "%s%s", i ? " " : "", r[i].name);
	p4r_run_array_free(r, n);
}

static void test_runs_sorted(void **state)
{
	struct fx *fx = *state;
	p4r_run_info *r = NULL;
	size_t n = 0;
	char buf[256];

	put(fx, 1, "low", NULL, "f1", 0.2, 0, T0);
	put(fx, 1, "high", NULL, "f1", 0.7, 0, T0 + 1);
	put(fx, 1, "high", NULL, "f1", 0.9, 2, T0 + 2);   /* its latest: step 2 */
	put(fx, 2, "mid", NULL, "f1", 0.5, 0, T0 + 3);
	put(fx, 2, "none", NULL, "loss", 0.5, 0, T0 + 4);
	put(fx, 3, "tie", NULL, "f1", 0.5, 0, T0 + 5);
	runs_order(fx, &(p4r_run_query){ 0 }, buf, sizeof(buf));
	assert_string_equal(buf, "tie none mid high low");
	runs_order(fx, &(p4r_run_query){ .sort_key = "f1" }, buf, sizeof(buf));
	assert_string_equal(buf, "low tie mid high none");
	runs_order(fx, &(p4r_run_query){ .sort_key = "f1", .desc = true }, buf, sizeof(buf));
	assert_string_equal(buf, "high tie mid low none");
	runs_order(fx, &(p4r_run_query){ .model = "emb", .sort_key = "recall", .desc = true }, buf, sizeof(buf));
	assert_string_equal(buf, "tie none mid high low");
	assert_int_equal(p4r_metrics_run_query(fx->reg, &(p4r_run_query){ .sort_key = "a b" }, &r, &n), P4R_EUSAGE);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_where_basic), T(test_where_value_rule), T(test_where_bad), T(test_range_and_unknown),
		T(test_table_of_few), T(test_event_query), T(test_models_in_stage), T(test_runs_sorted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
