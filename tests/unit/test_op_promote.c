/* Unit tests for the promote operation (ops/promote.c), called directly on
 * a temporary repository: --dry-run decides exactly as the promotion does
 * (the same code, refusal kind, message, conditions and replaced version,
 * config policies included) and writes no row; bad input is the same
 * error either way. */
#include "testutil.h"
#include "p4reg/config.h"
#include "p4reg/error.h"
#include "p4reg/lifecycle.h"
#include "p4reg/metrics.h"
#include "p4reg/ops/promote.h"
#include "p4reg/registry.h"
#include "p4reg/repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Registers version N of "m" (a fake oid: the operation never reads it). */
static void add_version(tu_fx *fx, int n)
{
	p4r_version_input in = { .model = "m", .path = "models/m.bin", .author = "t", .git_dirty = -1 };
	p4r_version v;
	bool unchanged;

	snprintf(in.oid.hex, sizeof(in.oid.hex), "%064x", n);
	in.size = n;
	assert_int_equal(p4r_registry_add_version(p4r_repo_registry(fx->repo), &in, &v, &unchanged), 0);
	p4r_version_clear(&v);
}

static void log_metric(tu_fx *fx, int number, const char *key, double value)
{
	p4r_metric_kv kv = { key, value };
	p4r_metric_log log = { .metrics = &kv, .nmetrics = 1, .actor = "t" };
	p4r_version v;

	assert_int_equal(p4r_registry_version_get(p4r_repo_registry(fx->repo), "m", number, &v), 0);
	log.version = &v;
	assert_int_equal(p4r_metrics_log(p4r_repo_registry(fx->repo), &log, NULL), 0);
	p4r_version_clear(&v);
}

static int setup(void **state)
{
	tu_fx *fx = calloc(1, sizeof(*fx));
	int i;

	assert_non_null(fx);
	fx->repo = tu_repo_isolated(&fx->dir, NULL);
	for (i = 1; i <= 3; i++)
		add_version(fx, i);
	*state = fx;
	return 0;
}

/* p4r_promote dry, then for real: the same answer; the dry run changed no
 * row, a refusal neither. Returns the code; the real outcome in *OUT. */
static int promote_both(tu_fx *fx, p4r_promote_opts *opts, p4r_refusal_kind want, p4r_promotion *out)
{
	char *before = tu_registry_dump(p4r_repo_registry(fx->repo)), *after;
	p4r_promotion dry = { 0 };
	int rc_dry, rc;
	size_t i;

	opts->dry_run = true;
	rc_dry = p4r_promote(fx->repo, opts, NULL, &dry);
	after = tu_registry_dump(p4r_repo_registry(fx->repo));
	assert_string_equal(after, before);
	free(after);
	opts->dry_run = false;
	memset(out, 0, sizeof(*out));
	rc = p4r_promote(fx->repo, opts, NULL, out);
	assert_int_equal(rc_dry, rc);
	assert_int_equal(dry.verdict.refusal, want);
	assert_int_equal(out->verdict.refusal, want);
	assert_string_equal(dry.verdict.message, out->verdict.message);
	assert_int_equal(dry.verdict.nrules, out->verdict.nrules);
	assert_int_equal(dry.replaced, out->replaced);
	assert_int_equal(dry.forced, out->forced);
	assert_int_equal(dry.nconds, out->nconds);
	for (i = 0; i < dry.nconds; i++) {
		assert_string_equal(dry.conds[i].gate.text, out->conds[i].gate.text);
		assert_int_equal(dry.conds[i].pass, out->conds[i].pass);
	}
	assert_false(dry.promoted);
	assert_int_equal(out->promoted, rc == 0);
	if (rc < 0) {
		after = tu_registry_dump(p4r_repo_registry(fx->repo));
		assert_string_equal(after, before);
		free(after);
	}
	free(before);
	p4r_promotion_clear(&dry);
	return rc;
}

static void test_dry_run_decides_as_promote(void **state)
{
	tu_fx *fx = *state;
	const char *const req[] = { "f1>=0.8", "f1>=production" };
	p4r_promote_opts o = { .ref = "m@1", .to = "validation" };
	p4r_promotion p;

	assert_int_equal(promote_both(fx, &o, P4R_REFUSAL_NONE, &p), 0);
	p4r_promotion_clear(&p);
	assert_int_equal(promote_both(fx, &o, P4R_REFUSAL_ALREADY_THERE, &p), P4R_EREFUSED);
	p4r_promotion_clear(&p);
	o.to = "production";
	assert_int_equal(promote_both(fx, &o, P4R_REFUSAL_STEP_RULE, &p), P4R_EREFUSED);
	p4r_promotion_clear(&p);
	o.force = true;
	assert_int_equal(promote_both(fx, &o, P4R_REFUSAL_NONE, &p), 0);
	assert_true(p.forced);
	p4r_promotion_clear(&p);

	/* v2 against production (v1): a gate; then it passes and replaces v1 */
	log_metric(fx, 1, "f1", 0.85);
	log_metric(fx, 2, "f1", 0.82);
	o.ref = "m@2";
	o.require = req;
	o.nrequire = 2;
	assert_int_equal(promote_both(fx, &o, P4R_REFUSAL_GATE, &p), P4R_EREFUSED);
	assert_non_null(strstr(p.verdict.message, "1 of 2 conditions failed (f1>=production)"));
	p4r_promotion_clear(&p);
	log_metric(fx, 2, "f1", 0.9);
	assert_int_equal(promote_both(fx, &o, P4R_REFUSAL_NONE, &p), 0);
	assert_int_equal(p.replaced, 1);
	p4r_promotion_clear(&p);
}

/* A committed policy is a gate like --require: the same kind, its origin
 * named, dry or not. */
static void test_dry_run_policy_gate(void **state)
{
	tu_fx *fx = *state;
	p4r_promote_opts o = { .ref = "m@3", .to = "validation" };
	p4r_promotion p;

	assert_int_equal(p4r_config_add(p4r_repo_config(fx->repo), false, "stage.validation.require",
					"eval:acc>=0.5"), 0);
	assert_int_equal(promote_both(fx, &o, P4R_REFUSAL_GATE, &p), P4R_EREFUSED);
	assert_string_equal(p.conds[0].gate.origin, "stage.validation.require");
	p4r_promotion_clear(&p);
}

/* Bad input is the same error dry or not, before anything is read. */
static void test_dry_run_bad_input(void **state)
{
	tu_fx *fx = *state;
	const char *const bad[] = { "f1=0.8" };
	p4r_promote_opts cases[] = {
		{ .ref = "m@1", .to = "prod" },
		{ .ref = "m@1", .to = "validation", .require = bad, .nrequire = 1 },
		{ .ref = "m@9", .to = "validation" },
		{ .ref = "nope@1", .to = "validation" },
		{ .ref = "m@1", .to = "validation", .experiment = "bad name" },
	};
	const int want[] = { P4R_EUSAGE, P4R_EUSAGE, P4R_ENOTFOUND, P4R_ENOTFOUND, P4R_EUSAGE };
	p4r_promotion p;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(promote_both(fx, &cases[i], P4R_REFUSAL_NONE, &p), want[i]);
		p4r_promotion_clear(&p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dry_run_decides_as_promote, setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_dry_run_policy_gate, setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_dry_run_bad_input, setup, tu_fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
