/* Unit tests of the log-metric operation (ops/log_metric.c): what is
 * logged is in the registry's run and in the result, a file's pairs come
 * after the command line's (whose step wins), the default run name, bad
 * input refused before the reference is looked up, a changed param
 * refused with nothing recorded. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/ops/log_metric.h"
#include "p4reg/registry.h"
#include "p4reg/store.h"

#include <stdlib.h>
#include <string.h>

/* 2026-02-18T09:30:00Z */
#define AT_MS 1771407000000LL

struct fx {
	char *top;
	p4r_repo *repo;
	int64_t version_id;  /* m@1 */
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	p4r_version_input in = { .model = "m", .path = "m.bin", .author = "t", .git_dirty = -1 };
	p4r_version v = { 0 };

	fx->top = tu_mkdtemp();
	fx->repo = tu_repo_new(fx->top, "r");
	assert_int_equal(p4r_store_insert_buffer(p4r_repo_store(fx->repo), "x", 1, &in.oid), 0);
	in.size = 1;
	assert_int_equal(p4r_registry_add_version(p4r_repo_registry(fx->repo), &in, &v, NULL), 0);
	fx->version_id = v.id;
	p4r_version_clear(&v);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	p4r_repo_free(fx->repo);
	tu_rmtree_free(fx->top);
	free(fx);
	return 0;
}

static const p4r_metric_kv F1[] = { { "f1", 0.8 } };
static const p4r_param_kv LR[] = { { "lr", "0.1" } };

/* One metric and one param on m@1 in run r1: result and registry agree. */
static void test_log(void **state)
{
	struct fx *fx = *state;
	p4r_log_metric_opts o = { .ref = "m@1", .run = "r1", .experiment = "eval", .has_step = true,
				  .step = 3, .at_ms = AT_MS, .metrics = F1, .nmetrics = 1,
				  .params = LR, .nparams = 1 };
	p4r_log_metric_result r;
	p4r_run_info info = { 0 };

	assert_int_equal(p4r_log_metric(fx->repo, &o, NULL, &r), 0);
	assert_string_equal(r.version.model, "m");
	assert_int_equal(r.version.number, 1);
	assert_string_equal(r.run, "r1");
	assert_string_equal(r.experiment, "eval");
	assert_int_equal(r.step, 3);
	assert_int_equal(r.at_ms, AT_MS);
	assert_int_equal(r.nmetrics, 1);
	assert_string_equal(r.metrics[0].key, "f1");
	assert_true(r.metrics[0].value == 0.8);
	assert_int_equal(r.nparams, 1);
	assert_string_equal(r.params[0].key, "lr");
	assert_string_equal(r.params[0].value, "0.1");
	p4r_log_metric_result_free(&r);

	assert_int_equal(p4r_metrics_run_get(p4r_repo_registry(fx->repo), fx->version_id, "r1", &info), 0);
	assert_string_equal(info.experiment, "eval");
	assert_int_equal(info.nmetrics, 1);
	assert_string_equal(info.metrics[0].key, "f1");
	assert_true(info.metrics[0].value == 0.8);
	assert_int_equal(info.nparams, 1);
	assert_string_equal(info.params[0].value, "0.1");
	p4r_run_info_clear(&info);
}

/* --file: its metrics and params after the command line's, its step used
 * unless the command line gives one; the run gets the default name. */
static void test_file(void **state)
{
	struct fx *fx = *state;
	static const char doc[] = "{\"metrics\": {\"acc\": 0.9}, \"params\": {\"seed\": \"7\"}, \"step\": 5}";
	char *file = tu_write(p4r_repo_root(fx->repo), "eval.json", doc, sizeof(doc) - 1);
	p4r_log_metric_opts o = { .ref = "m", .file = file, .at_ms = AT_MS, .metrics = F1, .nmetrics = 1 };
	p4r_log_metric_result r;

	assert_int_equal(p4r_log_metric(fx->repo, &o, NULL, &r), 0);
	assert_string_equal(r.run, "20260218_m_default_v1");
	assert_string_equal(r.experiment, "default");
	assert_int_equal(r.step, 5);
	assert_int_equal(r.nmetrics, 2);
	assert_string_equal(r.metrics[0].key, "f1");
	assert_string_equal(r.metrics[1].key, "acc");
	assert_int_equal(r.nparams, 1);
	assert_string_equal(r.params[0].key, "seed");
	assert_string_equal(r.params[0].value, "7");
	p4r_log_metric_result_free(&r);

	o.has_step = true;
	o.step = 9;
	assert_int_equal(p4r_log_metric(fx->repo, &o, NULL, &r), 0);
	assert_int_equal(r.step, 9);
	p4r_log_metric_result_free(&r);
	free(file);
}

/* Nothing to log is P4R_EUSAGE before the reference is looked up (an
 * unknown one would be P4R_ENOTFOUND); no run is made. */
static void test_bad_input_first(void **state)
{
	struct fx *fx = *state;
	p4r_log_metric_opts o = { .ref = "nope@1", .run = "r1" };
	p4r_log_metric_result r;
	p4r_run_info info = { 0 };

	assert_int_equal(p4r_log_metric(fx->repo, &o, NULL, &r), P4R_EUSAGE);
	p4r_error_clear();
	p4r_log_metric_result_free(&r);
	o.metrics = F1;
	o.nmetrics = 1;
	assert_int_equal(p4r_log_metric(fx->repo, &o, NULL, &r), P4R_ENOTFOUND);
	p4r_error_clear();
	p4r_log_metric_result_free(&r);
	assert_int_equal(p4r_metrics_run_get(p4r_repo_registry(fx->repo), fx->version_id, "r1", &info),
			 P4R_ENOTFOUND);
	p4r_error_clear();
}

/* A param the run holds with another value: P4R_EREFUSED, and the metric
 * given with it is not recorded either. */
static void test_param_immutable(void **state)
{
	struct fx *fx = *state;
	static const p4r_metric_kv acc[] = { { "acc", 0.5 } };
	static const p4r_param_kv lr2[] = { { "lr", "0.2" } };
	p4r_log_metric_opts o = { .ref = "m@1", .run = "r1", .at_ms = AT_MS, .metrics = F1, .nmetrics = 1,
				  .params = LR, .nparams = 1 };
	p4r_log_metric_result r;
	p4r_run_info info = { 0 };

	assert_int_equal(p4r_log_metric(fx->repo, &o, NULL, &r), 0);
	p4r_log_metric_result_free(&r);
	o.metrics = acc;
	o.params = lr2;
	assert_int_equal(p4r_log_metric(fx->repo, &o, NULL, &r), P4R_EREFUSED);
	assert_non_null(strstr(p4r_error_message(), "params are immutable"));
	p4r_error_clear();
	p4r_log_metric_result_free(&r);
	assert_int_equal(p4r_metrics_run_get(p4r_repo_registry(fx->repo), fx->version_id, "r1", &info), 0);
	assert_int_equal(info.nmetrics, 1);
	assert_string_equal(info.metrics[0].key, "f1");
	assert_string_equal(info.params[0].value, "0.1");
	p4r_run_info_clear(&info);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_param_immutable, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
