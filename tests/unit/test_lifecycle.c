/* Unit tests for lifecycle.c and registry/lifecycle_sql.c: the stage-move rules,
 * gate parsing and evaluation, config policies, rollback planning, the
 * production history in the shared log's order, and promotions and
 * rollbacks against a real registry in a temporary repository, plus the
 * hook runner. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/fsck.h"
#include "p4reg/lifecycle.h"
#include "p4reg/metrics.h"
#include "p4reg/registry.h"
#include "p4reg/repo.h"

#include <sqlite3.h>

#include "registry/sql.h" /* p4r_registry_db: the tests look at the rows */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- rules ---- */

static void test_check_move_table(void **state)
{
	enum { OK, FORCE, NEVER };
	/* [from][to]: development, validation, staging, production, archived */
	static const int want[P4R_STAGE_COUNT][P4R_STAGE_COUNT] = {
		{ NEVER, OK, FORCE, FORCE, OK },
		{ FORCE, NEVER, OK, FORCE, OK },
		{ FORCE, FORCE, NEVER, OK, OK },
		{ FORCE, FORCE, FORCE, NEVER, OK },
		{ FORCE, FORCE, FORCE, FORCE, NEVER },
	};
	int f, t;

	(void)state;
	for (f = 0; f < P4R_STAGE_COUNT; f++) {
		for (t = 0; t < P4R_STAGE_COUNT; t++) {
			bool forced = true;
			int rc = p4r_lifecycle_check_move((p4r_stage)f, (p4r_stage)t, false, &forced);

			assert_int_equal(rc, want[f][t] == OK ? 0 : P4R_EREFUSED);
			assert_false(forced);
			rc = p4r_lifecycle_check_move((p4r_stage)f, (p4r_stage)t, true, &forced);
			assert_int_equal(rc, want[f][t] == NEVER ? P4R_EREFUSED : 0);
			assert_int_equal(forced, want[f][t] == FORCE);
		}
	}
	assert_int_equal(p4r_lifecycle_check_move(P4R_STAGE_DEVELOPMENT, P4R_STAGE_STAGING, false, NULL),
			 P4R_EREFUSED);
	assert_non_null(strstr(p4r_error_message(), "needs --force"));
	assert_int_equal(p4r_lifecycle_check_move(P4R_STAGE_PRODUCTION, P4R_STAGE_PRODUCTION, true, NULL),
			 P4R_EREFUSED);
	assert_string_equal(p4r_error_message(), "already in production");
	assert_int_equal(p4r_lifecycle_check_move(P4R_STAGE_COUNT, P4R_STAGE_STAGING, true, NULL),
			 P4R_EUSAGE);
}

/* ---- gates ---- */

static void test_gate_parse_good(void **state)
{
	static const struct {
		const char *expr, *text, *key;
		p4r_gate_op op;
		bool vs_stage;
		p4r_stage stage;
		double number;
	} cases[] = {
		{ "f1>=0.8", "f1>=0.8", "f1", P4R_GATE_GE, false, 0, 0.8 },
		{ "  f1 \t>=  0.80 ", "f1>=0.80", "f1", P4R_GATE_GE, false, 0, 0.8 },
		{ "loss<-1e-3", "loss<-1e-3", "loss", P4R_GATE_LT, false, 0, -1e-3 },
		{ "latency_ms <= 12", "latency_ms<=12", "latency_ms", P4R_GATE_LE, false, 0, 12 },
		{ "acc>0", "acc>0", "acc", P4R_GATE_GT, false, 0, 0 },
		{ "ndcg@10==1", "ndcg@10==1", "ndcg@10", P4R_GATE_EQ, false, 0, 1 },
		{ "eval/f1 != +2.5", "eval/f1!=+2.5", "eval/f1", P4R_GATE_NE, false, 0, 2.5 },
		{ "spearman>=production", "spearman>=production", "spearman", P4R_GATE_GE, true,
		  P4R_STAGE_PRODUCTION, 0 },
		{ "f1 > staging", "f1>staging", "f1", P4R_GATE_GT, true, P4R_STAGE_STAGING, 0 },
		{ "tokens/sec>=production", "tokens/sec>=production", "tokens/sec", P4R_GATE_GE, true,
		  P4R_STAGE_PRODUCTION, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p4r_gate g;

		assert_int_equal(p4r_gate_parse(&g, cases[i].expr, NULL), 0);
		assert_string_equal(g.text, cases[i].text);
		assert_string_equal(g.key, cases[i].key);
		assert_int_equal(g.op, cases[i].op);
		assert_int_equal(g.vs_stage, cases[i].vs_stage);
		if (g.vs_stage)
			assert_int_equal(g.stage, cases[i].stage);
		else
			assert_true(g.number == cases[i].number);
		assert_string_equal(g.origin, "--require");
	}
}

static void test_gate_parse_bad(void **state)
{
	static const char *const bad[] = {
		"", "   ", "f1", "f1>=", "f1 >=  ", ">=0.8", "f1=0.8", "f1=>0.8", "f1>>0.8",
		"f1<=>0.8", "f1===1", "f1>=abc", "f1>=validation", "f1>=development",
		"f1>=archived", "f1>=nan", "f1>=inf", "f1>=0x10", "f1>=1e999", "f 1>=0.8",
		"f1>=0.8 x", "f1>=0.8;rm -rf /", "f1>=Production", "f1 ≥ 0.8", "f$1>=1",
		"f1>=0.8>=0.9",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa>=1",
	};
	char huge[400];
	p4r_gate g;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (p4r_gate_parse(&g, bad[i], NULL) != P4R_EUSAGE)
			fail_msg("gate '%s' was accepted", bad[i]);
	}
	memset(huge, '1', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	memcpy(huge, "f1>=", 4);
	assert_int_equal(p4r_gate_parse(&g, huge, NULL), P4R_EUSAGE);
	assert_int_equal(p4r_gate_parse(&g, NULL, NULL), P4R_EUSAGE);
	assert_int_equal(p4r_gate_parse(&g, "f1>=abc", "stage.production.require"), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "stage.production.require"));
	assert_non_null(strstr(p4r_error_message(), "'f1>=abc'"));
}

/* "EXPERIMENT:KEY OP RIGHT": the scope, blanks around every token, and
 * p4r_gate_scope giving a default to unscoped gates only. */
static void test_gate_parse_scoped(void **state)
{
	static const struct {
		const char *expr, *text, *experiment, *key, *right;
	} cases[] = {
		{ "eval:f1>=0.8", "eval:f1>=0.8", "eval", "f1", "0.8" },
		{ " eval : f1 >= 0.80 ", "eval:f1>=0.80", "eval", "f1", "0.80" },
		{ "embedding_quality:spearman>=production", "embedding_quality:spearman>=production",
		  "embedding_quality", "spearman", "production" },
		{ "a.b-c/d@e:eval/f1@5<1", "a.b-c/d@e:eval/f1@5<1", "a.b-c/d@e", "eval/f1@5", "1" },
		{ "f1>=0.8", "f1>=0.8", "", "f1", "0.8" },
	};
	static const char *const bad[] = {
		":f1>=0.8", " : f1>=0.8", "eval:>=0.8", "eval:", "eval: >= 1", "a:b:f1>=1",
		"eval::f1>=1", "ev al:f1>=1", "ev$l:f1>=1", "caf\xc3\xa9:f1>=1", "eval:f 1>=1",
		"eval:f1=1", "eval:f1>=staging:x", "eval:f1>=validation", "eval:f1>=",
		"eval:f1>=0.8:", "f1:>=1",
		"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee:f1>1",
	};
	char exp64[80];
	p4r_gate g;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(p4r_gate_parse(&g, cases[i].expr, NULL), 0);
		assert_string_equal(g.text, cases[i].text);
		assert_string_equal(g.experiment, cases[i].experiment);
		assert_string_equal(g.key, cases[i].key);
		assert_string_equal(g.right, cases[i].right);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (p4r_gate_parse(&g, bad[i], NULL) != P4R_EUSAGE)
			fail_msg("gate '%s' was accepted", bad[i]);
	assert_int_equal(p4r_gate_parse(&g, ":f1>1", "stage.production.require"), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(), "invalid gate ':f1>1' in stage.production.require: "
			    "expected an experiment name (1..64 letters, digits and '_ . - / @') before ':'");
	/* 64 characters is the longest experiment name */
	memset(exp64, 'e', 64);
	snprintf(exp64 + 64, sizeof(exp64) - 64, ":f1>1");
	assert_int_equal(p4r_gate_parse(&g, exp64, NULL), 0);
	assert_int_equal(strlen(g.experiment), 64);
	/* a right side longer than any number is refused, not cut */
	assert_int_equal(p4r_gate_parse(&g, "f1>=0.00000000000000000000000000000000000000000000000000000000000000001",
					NULL), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "is neither a number"));

	assert_int_equal(p4r_gate_parse(&g, "f1 >= production", NULL), 0);
	p4r_gate_scope(&g, "eval");
	assert_string_equal(g.text, "eval:f1>=production");
	assert_string_equal(g.experiment, "eval");
	assert_true(g.vs_stage);
	p4r_gate_scope(&g, "train");  /* a scoped gate keeps its scope */
	assert_string_equal(g.text, "eval:f1>=production");
	assert_int_equal(p4r_gate_parse(&g, "f1<1", NULL), 0);
	p4r_gate_scope(&g, NULL);
	p4r_gate_scope(&g, "");
	assert_string_equal(g.text, "f1<1");
}

static void test_gate_holds(void **state)
{
	(void)state;
	assert_true(p4r_gate_holds(0.8, P4R_GATE_GE, 0.8));
	assert_false(p4r_gate_holds(0.79, P4R_GATE_GE, 0.8));
	assert_true(p4r_gate_holds(0.81, P4R_GATE_GT, 0.8));
	assert_false(p4r_gate_holds(0.8, P4R_GATE_GT, 0.8));
	assert_true(p4r_gate_holds(0.8, P4R_GATE_LE, 0.8));
	assert_false(p4r_gate_holds(0.8, P4R_GATE_LT, 0.8));
	assert_true(p4r_gate_holds(-1, P4R_GATE_LT, 0));
	assert_true(p4r_gate_holds(1, P4R_GATE_EQ, 1));
	assert_false(p4r_gate_holds(1, P4R_GATE_NE, 1));
	assert_true(p4r_gate_holds(1, P4R_GATE_NE, 2));
	assert_string_equal(p4r_gate_op_name(P4R_GATE_NE), "!=");
	assert_null(p4r_gate_op_name((p4r_gate_op)42));
}

/* ---- a real repository ---- */

struct fx {
	char *dir;
	p4r_repo *repo;
	p4r_registry *reg;
};

static int setup_repo(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->dir = tu_mkdtemp();
	/* The user's own config must not leak into the test. */
	setenv("XDG_CONFIG_HOME", fx->dir, 1);
	assert_int_equal(p4r_repo_init(fx->dir, NULL), 0);
	assert_int_equal(p4r_repo_open(&fx->repo, fx->dir), 0);
	fx->reg = p4r_repo_registry(fx->repo);
	*state = fx;
	return 0;
}

static int teardown_repo(void **state)
{
	struct fx *fx = *state;

	p4r_repo_free(fx->repo);
	tu_rmtree_free(fx->dir);
	free(fx);
	return 0;
}

/* Registers version N of model "m" with a distinct fake oid. */
static void add_version(struct fx *fx, int n)
{
	p4r_version_input in = { 0 };
	p4r_version out;
	bool unchanged;

	in.model = "m";
	in.path = "models/m.bin";
	snprintf(in.oid.hex, sizeof(in.oid.hex), "%064x", n);
	in.size = n;
	in.author = "tester";
	in.git_dirty = -1;
	assert_int_equal(p4r_registry_add_version(fx->reg, &in, &out, &unchanged), 0);
	assert_false(unchanged);
	assert_int_equal(out.number, n);
	p4r_version_clear(&out);
}

static void log_metric(struct fx *fx, int number, const char *key, double value)
{
	p4r_metric_kv kv = { key, value };
	p4r_metric_log log = { 0 };
	p4r_version v;

	assert_int_equal(p4r_registry_version_get(fx->reg, "m", number, &v), 0);
	log.version = &v;
	log.metrics = &kv;
	log.nmetrics = 1;
	log.actor = "tester";
	assert_int_equal(p4r_metrics_log(fx->reg, &log, NULL), 0);
	p4r_version_clear(&v);
}

static p4r_stage stage_of(struct fx *fx, int number)
{
	p4r_version v;
	p4r_stage s;

	assert_int_equal(p4r_registry_version_get(fx->reg, "m", number, &v), 0);
	s = v.stage;
	p4r_version_clear(&v);
	return s;
}

static bool rolled_back(struct fx *fx, int number)
{
	p4r_version v;
	bool rb;

	assert_int_equal(p4r_registry_version_get(fx->reg, "m", number, &v), 0);
	rb = v.rolled_back;
	p4r_version_clear(&v);
	return rb;
}

static size_t event_count(struct fx *fx)
{
	p4r_event *ev;
	size_t n;

	assert_int_equal(p4r_registry_event_list(fx->reg, "m", 0, &ev, &n), 0);
	p4r_event_array_free(ev, n);
	return n;
}

/* Promotes (DRY: decides only); returns the result code and leaves the
 * outcome in *OUT. */
static int promote_mode(struct fx *fx, int number, p4r_stage to, bool force, const char *const *exprs,
			size_t nexprs, bool dry, p4r_promotion *out)
{
	p4r_promote_req req = { .dry_run = dry };
	p4r_gate *gates = NULL;
	size_t ngates = 0;
	int rc;

	assert_int_equal(p4r_lifecycle_gates(&gates, &ngates, p4r_repo_config(fx->repo), to,
					     exprs, nexprs, NULL), 0);
	req.model = "m";
	req.number = number;
	req.to = to;
	req.force = force;
	req.gates = gates;
	req.ngates = ngates;
	req.actor = "tester";
	req.reason = "test";
	rc = p4r_lifecycle_promote(fx->reg, &req, out);
	free(gates);
	return rc;
}

static int promote(struct fx *fx, int number, p4r_stage to, bool force, const char *const *exprs,
		   size_t nexprs, p4r_promotion *out)
{
	return promote_mode(fx, number, to, force, exprs, nexprs, false, out);
}

static int promote_plain(struct fx *fx, int number, p4r_stage to, bool force)
{
	p4r_promotion p;
	int rc = promote(fx, number, to, force, NULL, 0, &p);

	p4r_promotion_clear(&p);
	return rc;
}

static void test_promote_walk_and_refusals(void **state)
{
	struct fx *fx = *state;
	p4r_promotion p;
	p4r_event *ev;
	size_t n, before;

	add_version(fx, 1);
	add_version(fx, 2);
	assert_int_equal(promote_plain(fx, 1, P4R_STAGE_VALIDATION, false), 0);
	assert_int_equal(promote_plain(fx, 1, P4R_STAGE_STAGING, false), 0);
	assert_int_equal(promote_plain(fx, 1, P4R_STAGE_PRODUCTION, false), 0);
	assert_int_equal(stage_of(fx, 1), P4R_STAGE_PRODUCTION);

	/* Refusals change nothing, not even the events. */
	before = event_count(fx);
	assert_int_equal(promote(fx, 2, P4R_STAGE_STAGING, false, NULL, 0, &p), P4R_EREFUSED);
	assert_non_null(strstr(p.verdict.message, "skipping a stage"));
	assert_false(p.promoted);
	p4r_promotion_clear(&p);
	assert_int_equal(promote(fx, 1, P4R_STAGE_STAGING, false, NULL, 0, &p), P4R_EREFUSED);
	assert_non_null(strstr(p.verdict.message, "moving backward"));
	p4r_promotion_clear(&p);
	assert_int_equal(promote(fx, 1, P4R_STAGE_PRODUCTION, true, NULL, 0, &p), P4R_EREFUSED);
	assert_string_equal(p.verdict.message, "'m@1' is already in production");
	p4r_promotion_clear(&p);
	assert_int_equal(event_count(fx), before);
	assert_int_equal(stage_of(fx, 2), P4R_STAGE_DEVELOPMENT);

	/* Forced skip into production archives the holder in the same step. */
	assert_int_equal(promote(fx, 2, P4R_STAGE_PRODUCTION, true, NULL, 0, &p), 0);
	assert_true(p.promoted);
	assert_true(p.forced);
	assert_int_equal(p.replaced, 1);
	assert_int_equal(p.version.stage, P4R_STAGE_PRODUCTION);
	p4r_promotion_clear(&p);
	assert_int_equal(stage_of(fx, 1), P4R_STAGE_ARCHIVED);
	assert_int_equal(stage_of(fx, 2), P4R_STAGE_PRODUCTION);

	assert_int_equal(p4r_registry_event_list(fx->reg, "m", 0, &ev, &n), 0);
	assert_int_equal(n, before + 2);
	assert_string_equal(ev[n - 2].kind, "promote");
	assert_int_equal(ev[n - 2].version, 1);
	assert_string_equal(ev[n - 2].from_stage, "production");
	assert_string_equal(ev[n - 2].to_stage, "archived");
	assert_string_equal(ev[n - 2].reason, "replaced by v2");
	assert_false(ev[n - 2].forced);
	assert_int_equal(ev[n - 1].version, 2);
	assert_true(ev[n - 1].forced);
	assert_string_equal(ev[n - 1].from_stage, "development");
	assert_string_equal(ev[n - 1].actor, "tester");
	assert_string_equal(ev[n - 1].reason, "test");
	assert_non_null(strstr(ev[n - 1].detail, "\"conditions\":[]"));
	p4r_event_array_free(ev, n);

	/* Leaving archived needs force; archiving never does. */
	assert_int_equal(promote_plain(fx, 1, P4R_STAGE_VALIDATION, false), P4R_EREFUSED);
	assert_int_equal(promote_plain(fx, 2, P4R_STAGE_ARCHIVED, false), 0);
	assert_int_equal(promote_plain(fx, 1, P4R_STAGE_VALIDATION, true), 0);
	assert_int_equal(stage_of(fx, 1), P4R_STAGE_VALIDATION);
}

static void test_promote_gates(void **state)
{
	struct fx *fx = *state;
	const char *const above[] = { "f1>=0.8" };
	const char *const vs_prod[] = { "f1 >= production", "recall>0.5" };
	p4r_promotion p;
	p4r_event *ev;
	size_t n, before;

	add_version(fx, 1);
	add_version(fx, 2);
	log_metric(fx, 1, "f1", 0.75);
	log_metric(fx, 1, "f1", 0.85);  /* the latest value counts */

	assert_int_equal(promote(fx, 1, P4R_STAGE_VALIDATION, false, above, 1, &p), 0);
	assert_int_equal(p.nconds, 1);
	assert_true(p.conds[0].pass);
	assert_true(p.conds[0].left == 0.85);
	assert_string_equal(p.conds[0].right_source, "0.8");
	p4r_promotion_clear(&p);

	/* Missing metric fails, and --force does not skip gates. */
	before = event_count(fx);
	assert_int_equal(promote(fx, 2, P4R_STAGE_VALIDATION, true, above, 1, &p), P4R_EREFUSED);
	assert_false(p.conds[0].has_left);
	assert_false(p.conds[0].pass);
	assert_non_null(strstr(p.verdict.message, "1 of 1 conditions failed (f1>=0.8: no run logged 'f1')"));
	assert_false(p.conds[0].left_from.found);
	p4r_promotion_clear(&p);

	/* Against production with no production version: fails. */
	assert_int_equal(promote(fx, 1, P4R_STAGE_STAGING, false, vs_prod, 1, &p), P4R_EREFUSED);
	assert_string_equal(p.conds[0].right_source, "production (none)");
	assert_false(p.conds[0].has_right);
	p4r_promotion_clear(&p);
	assert_int_equal(event_count(fx), before);

	assert_int_equal(promote_plain(fx, 1, P4R_STAGE_STAGING, false), 0);
	assert_int_equal(promote_plain(fx, 1, P4R_STAGE_PRODUCTION, false), 0);
	log_metric(fx, 2, "f1", 0.84);
	log_metric(fx, 2, "recall", 0.6);
	assert_int_equal(promote_plain(fx, 2, P4R_STAGE_VALIDATION, false), 0);
	assert_int_equal(promote(fx, 2, P4R_STAGE_STAGING, false, vs_prod, 2, &p), P4R_EREFUSED);
	assert_true(p.conds[0].left == 0.84);
	assert_true(p.conds[0].right == 0.85);
	assert_string_equal(p.conds[0].right_source, "production v1");
	assert_false(p.conds[0].pass);
	assert_true(p.conds[1].pass);
	assert_non_null(strstr(p.verdict.message, "1 of 2 conditions failed (f1>=production)"));
	p4r_promotion_clear(&p);
	assert_int_equal(stage_of(fx, 2), P4R_STAGE_VALIDATION);

	log_metric(fx, 2, "f1", 0.9);
	assert_int_equal(promote(fx, 2, P4R_STAGE_STAGING, false, vs_prod, 2, &p), 0);
	p4r_promotion_clear(&p);
	assert_int_equal(p4r_registry_event_list(fx->reg, "m", 0, &ev, &n), 0);
	assert_non_null(strstr(ev[n - 1].detail, "\"expr\":\"f1>=production\""));
	assert_non_null(strstr(ev[n - 1].detail, "\"right_source\":\"production v1\""));
	assert_non_null(strstr(ev[n - 1].detail, "\"pass\":true"));
	p4r_event_array_free(ev, n);
}

/* Logs KEY=VALUE on m@NUMBER into RUN of EXPERIMENT at STEP and time AT. */
static void log_run(struct fx *fx, int number, const char *run, const char *experiment,
		    const char *key, double value, int64_t step, int64_t at)
{
	p4r_metric_kv kv = { key, value };
	p4r_metric_log log = { 0 };
	p4r_version v;

	assert_int_equal(p4r_registry_version_get(fx->reg, "m", number, &v), 0);
	log.version = &v;
	log.run = run;
	log.experiment = experiment;
	log.step = step;
	log.at_ms = at;
	log.metrics = &kv;
	log.nmetrics = 1;
	assert_int_equal(p4r_metrics_log(fx->reg, &log, NULL), 0);
	p4r_version_clear(&v);
}

/* The issue's sequence: training logs f1=0.99 at step 1000, evaluation
 * later logs f1=0.70 at step 0. An unscoped gate reads the evaluation;
 * scoped gates read their experiment; --experiment scopes the command
 * line's gates only, never a policy. */
static void test_gates_scoped(void **state)
{
	struct fx *fx = *state;
	const int64_t t = 1771407000000LL;
	const char *const unscoped[] = { "f1>=0.8" };
	const char *const both[] = { "train:f1>=0.9", "eval:f1 >= 0.9", "bench:f1>0" };
	const char *const vs_prod[] = { "f1>=production", "eval:f1>=production" };
	p4r_promotion p;
	p4r_gate *gates;
	size_t n, before;
	char *path = malloc(strlen(fx->dir) + 32);
	FILE *f;

	add_version(fx, 1);
	add_version(fx, 2);
	log_run(fx, 1, "train-1", "train", "f1", 0.99, 1000, t);
	log_run(fx, 1, "eval-1", "eval", "f1", 0.70, 0, t + 60000);
	before = event_count(fx);
	assert_int_equal(promote(fx, 1, P4R_STAGE_VALIDATION, false, unscoped, 1, &p), P4R_EREFUSED);
	assert_true(p.conds[0].left == 0.70);
	assert_true(p.conds[0].left_from.found && p.conds[0].left_from.in_run);
	assert_string_equal(p.conds[0].left_from.run, "eval-1");
	assert_string_equal(p.conds[0].left_from.experiment, "eval");
	assert_int_equal(p.conds[0].left_from.step, 0);
	assert_false(p.conds[0].right_from.found);
	p4r_promotion_clear(&p);
	assert_int_equal(event_count(fx), before);
	assert_int_equal(stage_of(fx, 1), P4R_STAGE_DEVELOPMENT);

	assert_int_equal(promote(fx, 1, P4R_STAGE_VALIDATION, false, both, 3, &p), P4R_EREFUSED);
	assert_true(p.conds[0].pass && p.conds[0].left == 0.99);
	assert_string_equal(p.conds[0].left_from.run, "train-1");
	assert_int_equal(p.conds[0].left_from.step, 1000);
	assert_false(p.conds[1].pass);
	assert_true(p.conds[1].left == 0.70);
	assert_false(p.conds[2].has_left);
	assert_string_equal(p.verdict.message, "cannot promote 'm@1' to validation: 2 of 3 conditions failed "
			    "(eval:f1>=0.9, bench:f1>0: no run of experiment 'bench' logged 'f1')");
	p4r_promotion_clear(&p);

	/* --experiment: unscoped command-line gates only; duplicates once */
	assert_non_null(path);
	snprintf(path, strlen(fx->dir) + 32, "%s/.p4reg/config", fx->dir);
	assert_non_null(f = fopen(path, "a"));
	fputs("[stage \"validation\"]\n\trequire = f1 >= 0.8\n\trequire = train:f1>=0.9\n", f);
	fclose(f);
	free(path);
	p4r_repo_free(fx->repo);
	assert_int_equal(p4r_repo_open(&fx->repo, fx->dir), 0);
	fx->reg = p4r_repo_registry(fx->repo);
	assert_int_equal(p4r_lifecycle_gates(&gates, &n, p4r_repo_config(fx->repo), P4R_STAGE_VALIDATION,
					     (const char *const[]){ "f1>=0.9", "eval:f1>0" }, 2, "train"), 0);
	assert_int_equal(n, 3);
	assert_string_equal(gates[0].text, "train:f1>=0.9");
	assert_string_equal(gates[0].origin, "--require");
	assert_string_equal(gates[1].text, "eval:f1>0");
	assert_string_equal(gates[2].text, "f1>=0.8");
	assert_string_equal(gates[2].experiment, "");
	assert_string_equal(gates[2].origin, "stage.validation.require");
	free(gates);
	assert_int_equal(p4r_lifecycle_gates(&gates, &n, NULL, P4R_STAGE_VALIDATION, NULL, 0, "bad name"),
			 P4R_EUSAGE);
	assert_string_equal(p4r_error_message(), "invalid experiment 'bad name': use 1..64 letters, "
			    "digits and '_ . - / @'");
	assert_null(gates);

	/* stage gates read the holder by the same rule, in the same scope */
	assert_int_equal(promote_plain(fx, 1, P4R_STAGE_PRODUCTION, true), 0);
	log_run(fx, 2, "eval-1", "eval", "f1", 0.75, 0, t);
	log_run(fx, 2, "train-1", "train", "f1", 0.5, 7, t + 120000);
	assert_int_equal(promote(fx, 2, P4R_STAGE_VALIDATION, false, vs_prod, 2, &p), P4R_EREFUSED);
	assert_true(p.conds[0].left == 0.5 && p.conds[0].right == 0.70);
	assert_string_equal(p.conds[0].left_from.run, "train-1");
	assert_string_equal(p.conds[0].right_from.run, "eval-1");
	assert_int_equal(p.conds[0].right_version, 1);
	assert_false(p.conds[0].pass);
	assert_true(p.conds[1].left == 0.75 && p.conds[1].right == 0.70 && p.conds[1].pass);
	p4r_promotion_clear(&p);
}

static void test_config_policy(void **state)
{
	struct fx *fx = *state;
	const char *const req[] = { "f1>=production", "recall > 0.5" };
	char *path = malloc(strlen(fx->dir) + 32);
	p4r_gate *gates;
	size_t n;
	FILE *f;

	assert_non_null(path);
	snprintf(path, strlen(fx->dir) + 32, "%s/.p4reg/config", fx->dir);
	f = fopen(path, "a");
	assert_non_null(f);
	fputs("[stage \"production\"]\n\trequire = f1 >= production\n\trequire = latency_ms<=20\n", f);
	fclose(f);
	free(path);
	/* Reopen: the policy is read from the file. */
	p4r_repo_free(fx->repo);
	assert_int_equal(p4r_repo_open(&fx->repo, fx->dir), 0);
	fx->reg = p4r_repo_registry(fx->repo);

	assert_int_equal(p4r_lifecycle_gates(&gates, &n, p4r_repo_config(fx->repo),
					     P4R_STAGE_PRODUCTION, req, 2, NULL), 0);
	assert_int_equal(n, 3);
	assert_string_equal(gates[0].text, "f1>=production");
	assert_string_equal(gates[0].origin, "--require");
	assert_string_equal(gates[1].text, "recall>0.5");
	assert_string_equal(gates[2].text, "latency_ms<=20");
	assert_string_equal(gates[2].origin, "stage.production.require");
	free(gates);
	/* Other stages do not get production's policy. */
	assert_int_equal(p4r_lifecycle_gates(&gates, &n, p4r_repo_config(fx->repo),
					     P4R_STAGE_STAGING, NULL, 0, NULL), 0);
	assert_int_equal(n, 0);
	free(gates);
	/* A bad --require is a usage error before anything else. */
	assert_int_equal(p4r_lifecycle_gates(&gates, &n, NULL, P4R_STAGE_STAGING,
					     (const char *const[]){ "f1=0.8" }, 1, NULL), P4R_EUSAGE);
	assert_null(gates);
}

static void test_config_policy_bad(void **state)
{
	struct fx *fx = *state;
	char *path = malloc(strlen(fx->dir) + 32);
	p4r_gate *gates;
	size_t n;
	FILE *f;

	assert_non_null(path);
	snprintf(path, strlen(fx->dir) + 32, "%s/.p4reg/config", fx->dir);
	f = fopen(path, "a");
	assert_non_null(f);
	fputs("[stage \"staging\"]\n\trequire = f1 >> 1\n", f);
	fclose(f);
	free(path);
	p4r_repo_free(fx->repo);
	assert_int_equal(p4r_repo_open(&fx->repo, fx->dir), 0);
	fx->reg = p4r_repo_registry(fx->repo);
	assert_int_equal(p4r_lifecycle_gates(&gates, &n, p4r_repo_config(fx->repo),
					     P4R_STAGE_STAGING, NULL, 0, NULL), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "stage.staging.require"));
}

/* ---- rollback ---- */

static void test_rollback_plan(void **state)
{
	const p4r_prod_entry hist[] = {
		{ 5, false }, { 4, true }, { 3, false }, { 2, false }, { 1, true },
	};
	int64_t t;
	bool forced;

	(void)state;
	assert_int_equal(p4r_rollback_plan(&t, &forced, "m", 5, hist, 5, 0, false, NULL), 0);
	assert_int_equal(t, 3);
	assert_false(forced);
	assert_int_equal(p4r_rollback_plan(&t, &forced, "m", 3, hist + 2, 3, 0, false, NULL), 0);
	assert_int_equal(t, 2);
	assert_int_equal(p4r_rollback_plan(&t, &forced, "m", 2, hist + 3, 2, 0, false, NULL), P4R_EREFUSED);
	assert_int_equal(p4r_rollback_plan(&t, &forced, "m", 5, hist, 1, 0, false, NULL), P4R_EREFUSED);
	assert_int_equal(p4r_rollback_plan(&t, &forced, "m", 5, NULL, 0, 0, false, NULL), P4R_EREFUSED);
	/* --to N */
	assert_int_equal(p4r_rollback_plan(&t, &forced, "m", 5, hist, 5, 2, false, NULL), 0);
	assert_int_equal(t, 2);
	assert_false(forced);
	assert_int_equal(p4r_rollback_plan(&t, &forced, "m", 5, hist, 5, 5, true, NULL), P4R_EREFUSED);
	assert_non_null(strstr(p4r_error_message(), "already in production"));
	assert_int_equal(p4r_rollback_plan(&t, &forced, "m", 5, hist, 5, 4, false, NULL), P4R_EREFUSED);
	assert_non_null(strstr(p4r_error_message(), "rolled back before"));
	assert_int_equal(p4r_rollback_plan(&t, &forced, "m", 5, hist, 5, 4, true, NULL), 0);
	assert_int_equal(t, 4);
	assert_true(forced);
	assert_int_equal(p4r_rollback_plan(&t, &forced, "m", 5, hist, 5, 9, false, NULL), P4R_EREFUSED);
	assert_non_null(strstr(p4r_error_message(), "never held production"));
	assert_int_equal(p4r_rollback_plan(&t, &forced, "m", 5, hist, 5, 9, true, NULL), 0);
	assert_true(forced);
}

static int rollback(struct fx *fx, int64_t to, bool force, p4r_rollback_result *r)
{
	p4r_rollback_req req = { .model = "m", .to = to, .force = force, .actor = "op",
				 .reason = "broken" };

	return p4r_lifecycle_rollback(fx->reg, &req, r);
}

static void test_rollback_walks_back(void **state)
{
	struct fx *fx = *state;
	p4r_rollback_result r;
	p4r_event *ev;
	size_t n, before;
	int i;

	for (i = 1; i <= 4; i++)
		add_version(fx, i);
	assert_int_equal(rollback(fx, 0, false, &r), P4R_EREFUSED);
	assert_non_null(strstr(p4r_error_message(), "no production version"));
	for (i = 1; i <= 3; i++)
		assert_int_equal(promote_plain(fx, i, P4R_STAGE_PRODUCTION, true), 0);
	assert_int_equal(promote_plain(fx, 4, P4R_STAGE_VALIDATION, false), 0);

	before = event_count(fx);
	assert_int_equal(rollback(fx, 0, false, &r), 0);
	assert_int_equal(r.restored.number, 2);
	assert_int_equal(r.restored.stage, P4R_STAGE_PRODUCTION);
	assert_int_equal(r.rolled_back.number, 3);
	assert_int_equal(r.rolled_back.stage, P4R_STAGE_ARCHIVED);
	assert_true(r.rolled_back.rolled_back);
	p4r_rollback_result_clear(&r);
	assert_int_equal(p4r_registry_event_list(fx->reg, "m", 0, &ev, &n), 0);
	assert_int_equal(n, before + 2);
	assert_string_equal(ev[n - 2].kind, "rollback");
	assert_int_equal(ev[n - 2].version, 3);
	assert_string_equal(ev[n - 2].to_stage, "archived");
	assert_string_equal(ev[n - 2].reason, "broken");
	assert_int_equal(ev[n - 1].version, 2);
	assert_string_equal(ev[n - 1].from_stage, "archived");
	assert_string_equal(ev[n - 1].to_stage, "production");
	p4r_event_array_free(ev, n);

	/* Further back, never onto 3. */
	assert_int_equal(rollback(fx, 0, false, &r), 0);
	assert_int_equal(r.restored.number, 1);
	assert_int_equal(r.rolled_back.number, 2);
	p4r_rollback_result_clear(&r);
	before = event_count(fx);
	assert_int_equal(rollback(fx, 0, false, &r), P4R_EREFUSED);
	assert_int_equal(event_count(fx), before);
	assert_int_equal(stage_of(fx, 1), P4R_STAGE_PRODUCTION);

	/* --to: a rolled-back version needs --force, one never in production too. */
	assert_int_equal(rollback(fx, 3, false, &r), P4R_EREFUSED);
	assert_int_equal(rollback(fx, 4, false, &r), P4R_EREFUSED);
	assert_int_equal(rollback(fx, 9, true, &r), P4R_ENOTFOUND);
	assert_int_equal(event_count(fx), before);
	assert_int_equal(rollback(fx, 3, true, &r), 0);
	assert_true(r.forced);
	assert_int_equal(r.restored.number, 3);
	assert_false(r.restored.rolled_back);  /* re-approved by hand */
	p4r_rollback_result_clear(&r);
	assert_true(rolled_back(fx, 1));
	assert_int_equal(stage_of(fx, 4), P4R_STAGE_VALIDATION);
}

/* Runs SQL on the registry (hand-built sync rows). */
static void exec_sql(struct fx *fx, const char *sql)
{
	char *err = NULL, msg[1024];

	if (sqlite3_exec(p4r_registry_db(fx->reg), sql, NULL, NULL, &err) != SQLITE_OK) {
		snprintf(msg, sizeof(msg), "%s: %s", sql, err ? err : "?");
		sqlite3_free(err);
		fail_msg("%s", msg);
	}
}

/* The production history of "m" as "4 2 1 3" (numbers, newest entry first). */
static void assert_history(struct fx *fx, const char *want)
{
	p4r_prod_entry *hist;
	char got[128] = "";
	size_t n, i, len = 0;

	assert_int_equal(p4r_registry_production_history(fx->reg, "m", &hist, &n), 0);
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%lld", i ? " " : "",
					(long long)hist[i].number);
	free(hist);
	assert_string_equal(got, want);
}

/* The log position of vN's entry into production, as sync records it:
 * SEQ/IDX NULL with a uuid is "exported, not yet published". */
#define SET_POS(n, seq, idx) \
	"INSERT OR REPLACE INTO event_sync(event_id, uuid, seq, idx) SELECT e.id, 'uuid-' || e.id, " \
	seq ", " idx " FROM events e JOIN versions v ON v.id = e.version_id" \
	" WHERE v.number = " n " AND e.to_stage = 'production'"

static void test_production_history_log_order(void **state)
{
	struct fx *fx = *state;
	p4r_rollback_req req = { .model = "m", .actor = "op", .dry_run = true };
	p4r_rollback_result target;
	p4r_event *ev;
	size_t n, i;
	char order[64] = "";
	size_t len = 0;
	int k;

	for (k = 1; k <= 4; k++)
		add_version(fx, k);
	for (k = 1; k <= 4; k++)
		assert_int_equal(promote_plain(fx, k, P4R_STAGE_PRODUCTION, true), 0);
	/* Nothing published: the log is the local order. */
	assert_history(fx, "4 3 2 1");

	/* A fetch brought v3's and v1's entries in one batch (v3 first, by
	 * index), while v2's and v4's stayed unpublished (v2 exported: a uuid,
	 * no position). Local ids say v1 < v2 < v3 < v4; the log says v3, v1,
	 * then the unpublished v2, v4. */
	exec_sql(fx, SET_POS("3", "1", "1"));
	exec_sql(fx, SET_POS("1", "1", "3"));
	exec_sql(fx, SET_POS("2", "NULL", "NULL"));
	assert_history(fx, "4 2 1 3");
	/* rollback of v4 lands on v2 (v4 replaced it in the log), not on v3 */
	assert_int_equal(p4r_lifecycle_rollback(fx->reg, &req, &target), 0);
	assert_int_equal(target.restored.number, 2);
	p4r_rollback_result_clear(&target);

	/* history lists the same order */
	assert_int_equal(p4r_registry_event_list(fx->reg, "m", 0, &ev, &n), 0);
	for (i = 0; i < n; i++)
		if (!strcmp(ev[i].to_stage, "production"))
			len += (size_t)snprintf(order + len, sizeof(order) - len, "%lld ",
						(long long)ev[i].version);
	p4r_event_array_free(ev, n);
	assert_string_equal(order, "3 1 2 4 ");

	/* Positions beat ids among published events too: v4 in batch 2, v2 in
	 * batch 3 (as if another clone had pushed them in that order). */
	exec_sql(fx, SET_POS("4", "2", "0"));
	exec_sql(fx, SET_POS("2", "3", "0"));
	assert_history(fx, "2 4 1 3");

	/* A version counts once, at its latest entry in the log: v3 enters
	 * again, unpublished, so it is now the newest. */
	assert_int_equal(promote_plain(fx, 3, P4R_STAGE_PRODUCTION, true), 0);
	assert_history(fx, "3 2 4 1");
}

static void collect_issue(const p4r_invariant_issue *issue, void *payload)
{
	char *acc = payload;
	size_t len = strlen(acc);

	snprintf(acc + len, 2048 - len, "%s\n", issue->message);
}

/* The stage-history invariant of fsck replays the same order: a version a
 * later entry (in the log) pushed out of production has no event of its
 * own, and is right to be archived. */
static void test_fsck_stage_history_log_order(void **state)
{
	struct fx *fx = *state;
	char issues[2048] = "";

	add_version(fx, 1);
	add_version(fx, 2);
	/* Two clones promoted at once: both entries, no "replaced" event. */
	exec_sql(fx, "INSERT INTO events(model_id, version_id, kind, from_stage, to_stage, actor, at_ms)"
		 " SELECT model_id, id, 'promote', 'development', 'production', 'x', 1 FROM versions"
		 " ORDER BY number");
	exec_sql(fx, "UPDATE versions SET stage = 'archived' WHERE number = 1");
	exec_sql(fx, "UPDATE versions SET stage = 'production' WHERE number = 2");
	assert_int_equal(p4r_registry_fsck_invariants(fx->reg, collect_issue, issues), 0);
	assert_string_equal(issues, "");

	/* Both registers and v2's entry came from the remote (batch 1); v1's
	 * entry is unpublished, so it is later in the log: v1 holds
	 * production, v2 is archived. */
	exec_sql(fx, "INSERT INTO event_sync(event_id, uuid, seq, idx) SELECT e.id, 'uuid-' || e.id, 1,"
		 " v.number - 1 FROM events e JOIN versions v ON v.id = e.version_id"
		 " WHERE e.kind = 'register'");
	exec_sql(fx, SET_POS("2", "1", "2"));
	assert_int_equal(p4r_registry_fsck_invariants(fx->reg, collect_issue, issues), 0);
	assert_string_equal(issues,
			    "version 1 of model 'm' is in archived but its latest stage event moved it to production\n"
			    "version 2 of model 'm' is in production but its history archives it (another "
			    "version entered production after it)\n");
	issues[0] = '\0';
	exec_sql(fx, "UPDATE versions SET stage = 'archived' WHERE number = 2");
	exec_sql(fx, "UPDATE versions SET stage = 'production' WHERE number = 1");
	assert_int_equal(p4r_registry_fsck_invariants(fx->reg, collect_issue, issues), 0);
	assert_string_equal(issues, "");
}

static void test_rollback_needs_object(void **state)
{
	struct fx *fx = *state;
	p4r_rollback_req req = { .model = "m", .actor = "op" };
	p4r_rollback_result r;

	add_version(fx, 1);
	add_version(fx, 2);
	assert_int_equal(promote_plain(fx, 1, P4R_STAGE_PRODUCTION, true), 0);
	assert_int_equal(promote_plain(fx, 2, P4R_STAGE_PRODUCTION, true), 0);
	req.store = p4r_repo_store(fx->repo);
	assert_int_equal(p4r_lifecycle_rollback(fx->reg, &req, &r), P4R_ENOTFOUND);
	assert_non_null(strstr(p4r_error_message(), "is not in the local store"));
	assert_int_equal(stage_of(fx, 2), P4R_STAGE_PRODUCTION);
	assert_false(rolled_back(fx, 2));
	req.model = "nope";
	req.store = NULL;
	assert_int_equal(p4r_lifecycle_rollback(fx->reg, &req, &r), P4R_ENOTFOUND);
}

/* ---- decisions: refusal kinds, dry runs ---- */

static void assert_same_verdict(const p4r_verdict *a, const p4r_verdict *b)
{
	size_t i;

	assert_int_equal(a->refusal, b->refusal);
	assert_string_equal(a->message, b->message);
	assert_int_equal(a->nrules, b->nrules);
	for (i = 0; i < a->nrules; i++) {
		assert_int_equal(a->rules[i].kind, b->rules[i].kind);
		assert_int_equal(a->rules[i].ok, b->rules[i].ok);
		assert_string_equal(a->rules[i].name, b->rules[i].name);
		assert_string_equal(a->rules[i].detail, b->rules[i].detail);
	}
}

/* Promotes dry, then for real: the same code, verdict, conditions and
 * replaced version; the dry run (and a refusal) changed no row. Returns
 * the code; the real outcome stays in *OUT. */
static int promote_both(struct fx *fx, int number, p4r_stage to, bool force, const char *const *exprs,
			size_t nexprs, p4r_refusal_kind want, p4r_promotion *out)
{
	char *before = tu_registry_dump(fx->reg), *after;
	p4r_promotion dry;
	int rc_dry, rc;
	size_t i;

	rc_dry = promote_mode(fx, number, to, force, exprs, nexprs, true, &dry);
	after = tu_registry_dump(fx->reg);
	assert_string_equal(after, before);
	free(after);
	assert_false(dry.promoted);
	rc = promote(fx, number, to, force, exprs, nexprs, out);
	assert_int_equal(rc_dry, rc);
	assert_int_equal(out->verdict.refusal, want);
	assert_same_verdict(&dry.verdict, &out->verdict);
	assert_int_equal(dry.forced, out->forced);
	assert_int_equal(dry.replaced, out->replaced);
	assert_int_equal(dry.nconds, out->nconds);
	for (i = 0; i < dry.nconds; i++)
		assert_int_equal(dry.conds[i].pass, out->conds[i].pass);
	after = tu_registry_dump(fx->reg);
	if (rc < 0)
		assert_string_equal(after, before);
	else
		assert_string_not_equal(after, before);
	free(after);
	free(before);
	p4r_promotion_clear(&dry);
	return rc;
}

static void test_promote_refusal_kinds(void **state)
{
	struct fx *fx = *state;
	const char *const gate[] = { "f1>=0.8" };
	p4r_promotion p;
	int i;

	for (i = 1; i <= 3; i++)
		add_version(fx, i);
	assert_int_equal(promote_both(fx, 1, P4R_STAGE_VALIDATION, false, NULL, 0, P4R_REFUSAL_NONE, &p), 0);
	assert_int_equal(p.verdict.nrules, 2);
	assert_string_equal(p.verdict.rules[1].name, "development -> validation");
	assert_string_equal(p.verdict.rules[1].detail, "one step forward");
	p4r_promotion_clear(&p);
	/* the stage it holds: even --force */
	assert_int_equal(promote_both(fx, 1, P4R_STAGE_VALIDATION, true, NULL, 0,
				      P4R_REFUSAL_ALREADY_THERE, &p), P4R_EREFUSED);
	assert_int_equal(p.verdict.nrules, 1);
	assert_false(p.verdict.rules[0].ok);
	assert_string_equal(p.verdict.message, "'m@1' is already in validation");
	p4r_promotion_clear(&p);
	/* skipping a stage, moving backward, leaving archived */
	assert_int_equal(promote_both(fx, 2, P4R_STAGE_STAGING, false, NULL, 0, P4R_REFUSAL_STEP_RULE, &p),
			 P4R_EREFUSED);
	assert_string_equal(p.verdict.rules[1].detail, "skipping a stage needs --force");
	p4r_promotion_clear(&p);
	assert_int_equal(promote_both(fx, 1, P4R_STAGE_DEVELOPMENT, false, NULL, 0,
				      P4R_REFUSAL_STEP_RULE, &p), P4R_EREFUSED);
	assert_non_null(strstr(p.verdict.message, "moving backward (validation to development)"));
	p4r_promotion_clear(&p);
	assert_int_equal(promote_both(fx, 3, P4R_STAGE_ARCHIVED, false, NULL, 0, P4R_REFUSAL_NONE, &p), 0);
	assert_string_equal(p.verdict.rules[1].detail, "archiving is always allowed");
	p4r_promotion_clear(&p);
	assert_int_equal(promote_both(fx, 3, P4R_STAGE_VALIDATION, false, NULL, 0,
				      P4R_REFUSAL_STEP_RULE, &p), P4R_EREFUSED);
	assert_non_null(strstr(p.verdict.message, "leaving archived"));
	p4r_promotion_clear(&p);
	/* a gate: the rules held, the condition did not */
	assert_int_equal(promote_both(fx, 2, P4R_STAGE_VALIDATION, false, gate, 1, P4R_REFUSAL_GATE, &p),
			 P4R_EREFUSED);
	assert_true(p.verdict.rules[0].ok && p.verdict.rules[1].ok);
	assert_false(p.conds[0].pass);
	p4r_promotion_clear(&p);
	log_metric(fx, 2, "f1", 0.9);
	assert_int_equal(promote_both(fx, 2, P4R_STAGE_VALIDATION, false, gate, 1, P4R_REFUSAL_NONE, &p), 0);
	p4r_promotion_clear(&p);
	/* a forced move that replaces the holder: the dry run names it too */
	assert_int_equal(promote_both(fx, 1, P4R_STAGE_PRODUCTION, true, NULL, 0, P4R_REFUSAL_NONE, &p), 0);
	assert_int_equal(p.replaced, 0);
	p4r_promotion_clear(&p);
	assert_int_equal(promote_both(fx, 2, P4R_STAGE_PRODUCTION, true, gate, 1, P4R_REFUSAL_NONE, &p), 0);
	assert_int_equal(p.replaced, 1);
	assert_true(p.forced);
	assert_string_equal(p.verdict.rules[1].detail, "skipping a stage (forced)");
	p4r_promotion_clear(&p);
	assert_int_equal(stage_of(fx, 1), P4R_STAGE_ARCHIVED);
}

/* Rolls back dry, then for real: the same code, verdict and versions; the
 * dry run (and a refusal) changed no row. */
static int rollback_both(struct fx *fx, int64_t to, bool force, p4r_refusal_kind want)
{
	p4r_rollback_req req = { .model = "m", .to = to, .force = force, .actor = "op", .dry_run = true };
	char *before = tu_registry_dump(fx->reg), *after;
	p4r_rollback_result dry, real;
	int rc_dry, rc;

	rc_dry = p4r_lifecycle_rollback(fx->reg, &req, &dry);
	after = tu_registry_dump(fx->reg);
	assert_string_equal(after, before);
	free(after);
	req.dry_run = false;
	rc = p4r_lifecycle_rollback(fx->reg, &req, &real);
	assert_int_equal(rc_dry, rc);
	assert_int_equal(real.verdict.refusal, want);
	assert_same_verdict(&dry.verdict, &real.verdict);
	assert_int_equal(dry.forced, real.forced);
	assert_int_equal(dry.restored.number, real.restored.number);
	assert_int_equal(dry.rolled_back.number, real.rolled_back.number);
	if (rc == 0) {
		assert_int_equal(dry.rolled_back.stage, P4R_STAGE_PRODUCTION);  /* as it was */
		assert_int_equal(real.restored.stage, P4R_STAGE_PRODUCTION);
	}
	after = tu_registry_dump(fx->reg);
	if (rc < 0)
		assert_string_equal(after, before);
	free(after);
	free(before);
	p4r_rollback_result_clear(&dry);
	p4r_rollback_result_clear(&real);
	return rc;
}

static void test_rollback_refusal_kinds(void **state)
{
	struct fx *fx = *state;
	int i;

	for (i = 1; i <= 4; i++)
		add_version(fx, i);
	assert_int_equal(rollback_both(fx, 0, false, P4R_REFUSAL_NO_TARGET), P4R_EREFUSED);
	assert_int_equal(promote_plain(fx, 1, P4R_STAGE_PRODUCTION, true), 0);
	assert_int_equal(rollback_both(fx, 0, false, P4R_REFUSAL_NO_TARGET), P4R_EREFUSED);
	assert_int_equal(promote_plain(fx, 2, P4R_STAGE_PRODUCTION, true), 0);
	assert_int_equal(rollback_both(fx, 2, true, P4R_REFUSAL_ALREADY_THERE), P4R_EREFUSED);
	assert_int_equal(rollback_both(fx, 4, false, P4R_REFUSAL_STEP_RULE), P4R_EREFUSED);
	assert_int_equal(rollback_both(fx, 0, false, P4R_REFUSAL_NONE), 0);
	assert_int_equal(stage_of(fx, 1), P4R_STAGE_PRODUCTION);
	assert_int_equal(rollback_both(fx, 2, false, P4R_REFUSAL_POLICY), P4R_EREFUSED);
	assert_int_equal(rollback_both(fx, 0, false, P4R_REFUSAL_NO_TARGET), P4R_EREFUSED);
	assert_int_equal(rollback_both(fx, 2, true, P4R_REFUSAL_NONE), 0);
	assert_int_equal(rollback_both(fx, 99, true, P4R_REFUSAL_NONE), P4R_ENOTFOUND);
	assert_string_equal(p4r_refusal_kind_name(P4R_REFUSAL_NO_TARGET), "no-target");
	assert_string_equal(p4r_refusal_kind_name(P4R_REFUSAL_STEP_RULE), "step-rule");
	assert_null(p4r_refusal_kind_name(P4R_REFUSAL_NONE));
}

/* A dry run reads a snapshot: another connection holding the write lock
 * does not stop it (the real promotion would wait for it). */
static void test_dry_run_takes_no_write_lock(void **state)
{
	struct fx *fx = *state;
	sqlite3 *other = NULL;
	char path[4096];
	p4r_promotion p;

	add_version(fx, 1);
	snprintf(path, sizeof(path), "%s/registry.db", p4r_repo_meta(fx->repo));
	assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(promote_mode(fx, 1, P4R_STAGE_VALIDATION, false, NULL, 0, true, &p), 0);
	assert_int_equal(p.version.stage, P4R_STAGE_DEVELOPMENT);
	p4r_promotion_clear(&p);
	assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	assert_int_equal(promote_plain(fx, 1, P4R_STAGE_VALIDATION, false), 0);
}

/* ---- hooks ---- */

static void test_run_hook(void **state)
{
	char *dir = tu_mkdtemp(), *path, *text;
	const char *const env[] = { "P4REG_MODEL", "m", "P4REG_VERSION", "7", NULL };
	int status;

	(void)state;
	assert_int_equal(p4r_lifecycle_run_hook("echo \"$P4REG_MODEL@$P4REG_VERSION\" >out; pwd >>out",
						dir, env, &status), 0);
	assert_int_equal(status, 0);
	path = malloc(strlen(dir) + 8);
	assert_non_null(path);
	snprintf(path, strlen(dir) + 8, "%s/out", dir);
	text = tu_slurp(path, NULL);
	assert_non_null(strstr(text, "m@7\n"));
	assert_non_null(strstr(text, "p4reg-unit-"));
	free(text);
	free(path);
	assert_int_equal(p4r_lifecycle_run_hook("exit 3", dir, NULL, &status), 0);
	assert_int_equal(status, 3);
	assert_int_equal(p4r_lifecycle_run_hook("kill -9 $$", dir, NULL, &status), 0);
	assert_int_equal(status, 128 + 9);
	tu_rmtree_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_move_table),
		cmocka_unit_test(test_gate_parse_good),
		cmocka_unit_test(test_gate_parse_bad),
		cmocka_unit_test(test_gate_parse_scoped),
		cmocka_unit_test(test_gate_holds),
		cmocka_unit_test(test_rollback_plan),
		cmocka_unit_test(test_run_hook),
		cmocka_unit_test_setup_teardown(test_promote_walk_and_refusals, setup_repo, teardown_repo),
		cmocka_unit_test_setup_teardown(test_promote_gates, setup_repo, teardown_repo),
		cmocka_unit_test_setup_teardown(test_gates_scoped, setup_repo, teardown_repo),
		cmocka_unit_test_setup_teardown(test_config_policy, setup_repo, teardown_repo),
		cmocka_unit_test_setup_teardown(test_config_policy_bad, setup_repo, teardown_repo),
		cmocka_unit_test_setup_teardown(test_rollback_walks_back, setup_repo, teardown_repo),
		cmocka_unit_test_setup_teardown(test_rollback_needs_object, setup_repo, teardown_repo),
		cmocka_unit_test_setup_teardown(test_production_history_log_order, setup_repo,
						teardown_repo),
		cmocka_unit_test_setup_teardown(test_fsck_stage_history_log_order, setup_repo,
						teardown_repo),
		cmocka_unit_test_setup_teardown(test_promote_refusal_kinds, setup_repo, teardown_repo),
		cmocka_unit_test_setup_teardown(test_rollback_refusal_kinds, setup_repo, teardown_repo),
		cmocka_unit_test_setup_teardown(test_dry_run_takes_no_write_lock, setup_repo,
						teardown_repo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
