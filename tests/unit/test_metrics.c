/* Unit tests for experiment tracking (metrics.c, registry/metrics_sql.c): key and
 * value validation, run naming, times, JSON files, directions, and against a
 * real repository in a temporary folder: latest-value ordering, run append,
 * param immutability, all-or-nothing, tables, histories and runs. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/metrics.h"
#include "p4reg/repo.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <sqlite3.h>

#include "registry/sql.h" /* p4r_registry_db: the tests look at the rows */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T_20260218_0930 1771407000000LL /* 2026-02-18T09:30:00Z */

/* ---- pure functions ---- */

static void test_key_valid(void **state)
{
	char long_key[P4R_METRIC_KEY_MAX + 2];

	(void)state;
	assert_true(p4r_metric_key_valid("f1"));
	assert_true(p4r_metric_key_valid("precision@5"));
	assert_true(p4r_metric_key_valid("ndcg@10"));
	assert_true(p4r_metric_key_valid("tokens/sec"));
	assert_true(p4r_metric_key_valid("eval.val-loss_2"));
	memset(long_key, 'k', sizeof(long_key));
	long_key[P4R_METRIC_KEY_MAX] = '\0';
	assert_true(p4r_metric_key_valid(long_key));
	long_key[P4R_METRIC_KEY_MAX] = 'k';
	long_key[P4R_METRIC_KEY_MAX + 1] = '\0';
	assert_false(p4r_metric_key_valid(long_key));
	assert_false(p4r_metric_key_valid(""));
	assert_false(p4r_metric_key_valid(NULL));
	assert_false(p4r_metric_key_valid("a b"));
	assert_false(p4r_metric_key_valid("a=b"));
	assert_false(p4r_metric_key_valid("a,b"));
	assert_false(p4r_metric_key_valid("a\"b"));
	assert_false(p4r_metric_key_valid("caf\xc3\xa9"));
	assert_false(p4r_metric_key_valid("a\nb"));
}

static void test_parse_value(void **state)
{
	static const char *const good[] = { "0.83", "-1e-3", "+2", "1.", ".5", "1E5", "0", "-0", "12" };
	static const char *const bad[] = { "nan", "NaN", "inf", "-inf", "infinity", "0x10", "", " 1",
					   "1 ", "1e", "1e999", "-1e999", "--1", "1,5", ".", "e5", "1.2.3",
					   "0.8abc" };
	double v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (p4r_metric_parse_value(&v, good[i]) != 0)
			fail_msg("'%s' was refused", good[i]);
	assert_int_equal(p4r_metric_parse_value(&v, "0.83"), 0);
	assert_true(v == 0.83);
	assert_int_equal(p4r_metric_parse_value(&v, "-1e-3"), 0);
	assert_true(v == -0.001);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (p4r_metric_parse_value(&v, bad[i]) != P4R_EUSAGE)
			fail_msg("'%s' was accepted", bad[i]);
}

/* Numbers no double holds are refused, not turned into 0 or inf; zeros
 * written any way and subnormals are kept. */
static void test_parse_value_range(void **state)
{
	static const char *const under[] = { "1e-400", "-1e-400", "2e-324", "0.1e-323", "1e-99999" };
	static const char *const over[] = { "1e400", "-1e309", "1.8e308", "1e99999" };
	double v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(under) / sizeof(under[0]); i++) {
		v = 42;
		if (p4r_metric_parse_value(&v, under[i]) != P4R_EUSAGE)
			fail_msg("'%s' was accepted as %g", under[i], v);
		assert_true(v == 42);
		assert_non_null(strstr(p4r_error_message(), "rounds to 0"));
		assert_non_null(strstr(p4r_error_message(), under[i]));
	}
	for (i = 0; i < sizeof(over) / sizeof(over[0]); i++) {
		if (p4r_metric_parse_value(&v, over[i]) != P4R_EUSAGE)
			fail_msg("'%s' was accepted as %g", over[i], v);
		assert_non_null(strstr(p4r_error_message(), "out of range"));
	}
	assert_int_equal(p4r_metric_parse_value(&v, "1e-310"), 0);
	assert_true(v > 0 && v < 2.2250738585072014e-308);
	assert_int_equal(p4r_metric_parse_value(&v, "4.9e-324"), 0);
	assert_true(v > 0);
	assert_int_equal(p4r_metric_parse_value(&v, "-3e-324"), 0);
	assert_true(v < 0);
	assert_int_equal(p4r_metric_parse_value(&v, "1.7976931348623157e308"), 0);
	assert_true(isfinite(v));
	assert_int_equal(p4r_metric_parse_value(&v, "0e-400"), 0);
	assert_true(v == 0);
	assert_int_equal(p4r_metric_parse_value(&v, "0.000e999"), 0);
	assert_true(v == 0);
	assert_int_equal(p4r_metric_parse_value(&v, "0x1p-3"), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "not a finite decimal number"));
}

/* The re-check of numbers cJSON accepted: strings and keys are skipped. */
static void test_json_numbers_check(void **state)
{
	static const char *const good[] = {
		"{\"f1\": 0.8, \"n\": -1E+5, \"z\": 0e-400}", "{\"k\": \"1e-400\"}",
		"{\"1e-400\": 1}", "{\"a\": \"x\\\"1e-400\"}", "[true, false, null, 1e-310]",
	};
	static const char *const bad[] = {
		"{\"f1\": 1e-400}", "[1, 2, -1e-400]", "{\"a\": \"\\\\\", \"b\": 1e400}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (p4r_metric_json_numbers_check(good[i], strlen(good[i])) != 0)
			fail_msg("'%s' was refused: %s", good[i], p4r_error_message());
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (p4r_metric_json_numbers_check(bad[i], strlen(bad[i])) != P4R_EUSAGE)
			fail_msg("'%s' was accepted", bad[i]);
}

static void test_parse_pair(void **state)
{
	const char *pv;
	char *key;
	double v;

	(void)state;
	assert_int_equal(p4r_metric_parse_pair(&key, &v, "precision@5=0.5"), 0);
	assert_string_equal(key, "precision@5");
	assert_true(v == 0.5);
	free(key);
	assert_int_equal(p4r_metric_parse_pair(&key, &v, "f1"), P4R_EUSAGE);
	assert_null(key);
	assert_non_null(strstr(p4r_error_message(), "'f1'"));
	assert_int_equal(p4r_metric_parse_pair(&key, &v, "=1"), P4R_EUSAGE);
	assert_int_equal(p4r_metric_parse_pair(&key, &v, "f1=abc"), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "'f1=abc'"));
	assert_int_equal(p4r_metric_parse_pair(&key, &v, "f1=1e-400"), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(), "invalid metric 'f1=1e-400': value '1e-400' is out of "
			    "range: it is not 0 but rounds to 0 (the smallest magnitude is 4.9e-324)");
	assert_int_equal(p4r_metric_parse_pair(&key, &v, "f 1=2"), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "'f 1=2'"));
	assert_int_equal(p4r_param_parse_pair(&key, &pv, "lr=0.001=x"), 0);
	assert_string_equal(key, "lr");
	assert_string_equal(pv, "0.001=x");
	free(key);
	assert_int_equal(p4r_param_parse_pair(&key, &pv, "lr"), P4R_EUSAGE);
	assert_int_equal(p4r_param_parse_pair(&key, &pv, "lr=a\tb"), P4R_EUSAGE);
	assert_int_equal(p4r_param_parse_pair(&key, &pv, "lr=\xff"), P4R_EUSAGE);
	assert_int_equal(p4r_param_parse_pair(&key, &pv, "opt=caf\xc3\xa9"), 0);
	free(key);
}

static void test_run_name(void **state)
{
	char *name;

	(void)state;
	assert_int_equal(p4r_metrics_run_name(&name, "miniLM", "embedding_quality", 1, T_20260218_0930), 0);
	assert_string_equal(name, "20260218_miniLM_embedding_quality_v1");
	free(name);
	assert_int_equal(p4r_metrics_run_name(&name, "jackpot", NULL, 12, T_20260218_0930 + 15 * 3600 * 1000LL), 0);
	assert_string_equal(name, "20260219_jackpot_default_v12");
	free(name);
	assert_int_equal(p4r_metrics_run_name(&name, "x", "", 3, 0), 0);
	assert_string_equal(name, "19700101_x_default_v3");
	free(name);
}

static void test_parse_time(void **state)
{
	int64_t ms;

	(void)state;
	assert_int_equal(p4r_metrics_parse_time(&ms, "2026-02-18T09:30:00Z"), 0);
	assert_int_equal(ms, T_20260218_0930);
	assert_int_equal(p4r_metrics_parse_time(&ms, "2026-02-18T10:30:00+01:00"), 0);
	assert_int_equal(ms, T_20260218_0930);
	assert_int_equal(p4r_metrics_parse_time(&ms, "2026-02-18T09:30:00.250Z"), 0);
	assert_int_equal(ms, T_20260218_0930 + 250);
	assert_int_equal(p4r_metrics_parse_time(&ms, "2026-02-18"), 0);
	assert_int_equal(ms, T_20260218_0930 - (9 * 3600 + 30 * 60) * 1000LL);
	assert_int_equal(p4r_metrics_parse_time(&ms, "2024-02-29T00:00Z"), 0);
	assert_int_equal(p4r_metrics_parse_time(&ms, "2026-02-29T00:00:00Z"), P4R_EUSAGE);
	assert_int_equal(p4r_metrics_parse_time(&ms, "2026-13-01T00:00:00Z"), P4R_EUSAGE);
	assert_int_equal(p4r_metrics_parse_time(&ms, "2026-02-18T24:00:00Z"), P4R_EUSAGE);
	assert_int_equal(p4r_metrics_parse_time(&ms, "2026-02-18T09:30:00"), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "time zone"));
	assert_int_equal(p4r_metrics_parse_time(&ms, "yesterday"), P4R_EUSAGE);
	assert_int_equal(p4r_metrics_parse_time(&ms, "1969-12-31T23:59:59Z"), P4R_EUSAGE);
	assert_int_equal(p4r_metrics_parse_time(&ms, "2026-02-18T09:30:00Zjunk"), P4R_EUSAGE);
	assert_int_equal(p4r_metrics_parse_time(&ms, ""), P4R_EUSAGE);
}

static void test_format(void **state)
{
	static const double values[] = { 0.83, 12, -0.5, 1e-7, 0.1 + 0.2, 1e20, 123456.789012,
					 -0.000001, 1.0 / 3, 5e-324, 1.7976931348623157e308 };
	char buf[32];
	size_t i;

	(void)state;
	p4r_metric_format(buf, sizeof(buf), 0.83);
	assert_string_equal(buf, "0.83");
	p4r_metric_format(buf, sizeof(buf), 12);
	assert_string_equal(buf, "12");
	p4r_metric_format(buf, sizeof(buf), -0.5);
	assert_string_equal(buf, "-0.5");
	p4r_metric_format(buf, sizeof(buf), -0.000001);
	assert_string_equal(buf, "-0.000001");
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		p4r_metric_format(buf, sizeof(buf), values[i]);
		if (strtod(buf, NULL) != values[i])
			fail_msg("%s does not read back as %.17g", buf, values[i]);
	}
}

static void test_goal_defaults(void **state)
{
	static const struct { const char *key; p4r_metric_goal goal; } cases[] = {
		{ "latency", P4R_GOAL_MIN }, { "latency_p95", P4R_GOAL_MIN }, { "val_loss", P4R_GOAL_MIN },
		{ "loss", P4R_GOAL_MIN }, { "error_rate", P4R_GOAL_MIN }, { "ttft_ms", P4R_GOAL_MIN },
		{ "mae", P4R_GOAL_MIN }, { "mse", P4R_GOAL_MIN }, { "rmse", P4R_GOAL_MIN },
		{ "accuracy", P4R_GOAL_MAX }, { "precision", P4R_GOAL_MAX }, { "precision@5", P4R_GOAL_MAX },
		{ "recall@10", P4R_GOAL_MAX }, { "f1", P4R_GOAL_MAX }, { "F1", P4R_GOAL_MAX },
		{ "spearman", P4R_GOAL_MAX }, { "cosine_similarity", P4R_GOAL_MAX }, { "ndcg@10", P4R_GOAL_MAX },
		{ "tokens/sec", P4R_GOAL_MAX }, { "quality_score", P4R_GOAL_MAX }, { "eval/f1", P4R_GOAL_MAX },
		{ "f1@5", P4R_GOAL_MAX }, { "quality_loss", P4R_GOAL_MIN }, { "eval/latency", P4R_GOAL_MIN },
		{ "daily_hits", P4R_GOAL_UNKNOWN }, { "f1_macro", P4R_GOAL_UNKNOWN }, { "sec", P4R_GOAL_UNKNOWN },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (p4r_metric_default_goal(cases[i].key) != cases[i].goal)
			fail_msg("goal of '%s' is %d, expected %d", cases[i].key,
				 p4r_metric_default_goal(cases[i].key), cases[i].goal);
	assert_string_equal(p4r_metric_goal_name(P4R_GOAL_MAX), "max");
	assert_string_equal(p4r_metric_goal_name(P4R_GOAL_MIN), "min");
	assert_null(p4r_metric_goal_name(P4R_GOAL_UNKNOWN));
}

static int parse_file(p4r_metrics_file *f, const char *text)
{
	return p4r_metrics_file_parse(f, text, strlen(text), "eval.json");
}

static void expect_file_bad(const char *text, const char *msg)
{
	p4r_metrics_file f;
	int rc = parse_file(&f, text);

	p4r_metrics_file_clear(&f);
	if (rc != P4R_EUSAGE)
		fail_msg("'%s' gave %d, expected a usage error", text, rc);
	if (!strstr(p4r_error_message(), msg))
		fail_msg("'%s': message '%s' lacks '%s'", text, p4r_error_message(), msg);
	if (!strstr(p4r_error_message(), "eval.json"))
		fail_msg("'%s': message '%s' does not name the file", text, p4r_error_message());
}

static void test_file_parse(void **state)
{
	p4r_metrics_file f;

	(void)state;
	assert_int_equal(parse_file(&f, "{\"spearman\": 0.83, \"cosine\": 0.91}\n"), 0);
	assert_int_equal(f.nmetrics, 2);
	assert_string_equal(f.metrics[0].key, "spearman");
	assert_true(f.metrics[0].value == 0.83);
	assert_false(f.has_step);
	p4r_metrics_file_clear(&f);

	assert_int_equal(parse_file(&f, "{\"metrics\": {\"f1\": 0.8, \"precision@5\": 1},"
				    " \"params\": {\"lr\": 0.001, \"opt\": \"adam\", \"warm\": true},"
				    " \"step\": 3}"), 0);
	assert_int_equal(f.nmetrics, 2);
	assert_int_equal(f.nparams, 3);
	assert_string_equal(f.params[0].value, "0.001");
	assert_string_equal(f.params[1].value, "adam");
	assert_string_equal(f.params[2].value, "true");
	assert_true(f.has_step);
	assert_int_equal(f.step, 3);
	p4r_metrics_file_clear(&f);

	assert_int_equal(parse_file(&f, "{}"), 0);
	assert_int_equal(f.nmetrics, 0);
	p4r_metrics_file_clear(&f);

	expect_file_bad("{\"f1\": 0.8", "not valid JSON");
	expect_file_bad("", "not valid JSON");
	expect_file_bad("{\"f1\": 0.8} trailing", "not valid JSON");
	expect_file_bad("[0.8]", "JSON object");
	expect_file_bad("{\"f1\": \"0.8\"}", "metric 'f1' is not a finite number");
	expect_file_bad("{\"f1\": null}", "not a finite number");
	expect_file_bad("{\"f1\": true}", "not a finite number");
	expect_file_bad("{\"f1\": 1e999}", "not a finite number");
	expect_file_bad("{\"f1\": {\"a\": 1}}", "not a finite number");
	expect_file_bad("{\"f1\": [1, 2]}", "not a finite number");
	expect_file_bad("{\"bad key\": 1}", "invalid metric key");
	expect_file_bad("{\"metrics\": {\"f1\": 1}, \"extra\": 2}", "unknown key 'extra'");
	expect_file_bad("{\"metrics\": {\"f1\": {\"deep\": 1}}}", "not a finite number");
	expect_file_bad("{\"metrics\": {\"f1\": 1}, \"params\": [1]}", "\"params\" must be one object");
	expect_file_bad("{\"metrics\": {\"f1\": 1}, \"params\": {\"x\": {\"y\": 1}}}", "param 'x'");
	expect_file_bad("{\"metrics\": {\"f1\": 1}, \"params\": {\"x\": null}}", "param 'x'");
	expect_file_bad("{\"metrics\": {\"f1\": 1}, \"step\": 1.5}", "\"step\"");
	expect_file_bad("{\"metrics\": {\"f1\": 1}, \"step\": -1}", "\"step\"");
	expect_file_bad("{\"metrics\": {\"f1\": 1}, \"step\": \"3\"}", "\"step\"");
	expect_file_bad("{\"metrics\": {\"f1\": 1}, \"step\": 1, \"step\": 2}", "given twice");
	/* cJSON reads 1e-400 as 0 without a word: refused, wherever it is. */
	expect_file_bad("{\"f1\": 1e-400}", "'1e-400' is out of range");
	expect_file_bad("{\"metrics\": {\"f1\": 0.5}, \"params\": {\"lr\": 1e-400}}", "out of range");
	expect_file_bad("{\"metrics\": {\"f1\": 0.5}, \"step\": 1e-400}", "out of range");
	assert_int_equal(parse_file(&f, "{\"f1\": 1e-310, \"note\": 0}"), 0);
	assert_true(f.metrics[0].value > 0);
	p4r_metrics_file_clear(&f);

	/* An embedded NUL and a file over the bound. */
	assert_int_equal(p4r_metrics_file_parse(&f, "{\"f1\": 1}\0x", 11, "eval.json"), P4R_EUSAGE);
	p4r_metrics_file_clear(&f);
	assert_int_equal(p4r_metrics_file_parse(&f, "{}", P4R_METRICS_FILE_MAX + 1, "eval.json"), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "larger than"));
	p4r_metrics_file_clear(&f);
}

#define SECRET_JSON "{\"params\": {\"token\": \"s3cret\"}}"

static void test_file_read_bounds(void **state)
{
	char *dir = tu_mkdtemp(), *outside = tu_mkdtemp(), *path, *secret, *link;
	p4r_repo *repo = NULL;
	p4r_metrics_file f;
	char *big;
	FILE *fp;

	(void)state;
	assert_int_equal(p4r_repo_init(dir, NULL), 0);
	assert_int_equal(p4r_repo_open(&repo, dir), 0);
	path = tu_write(dir, "ok.json", "{\"f1\": 0.5}", 11);
	assert_int_equal(p4r_metrics_file_read(&f, repo, path), 0);
	assert_int_equal(f.nmetrics, 1);
	p4r_metrics_file_clear(&f);
	free(path);
	/* outside the work tree: the user's own file, read as it is */
	path = tu_write(outside, "mine.json", "{\"f1\": 0.5}", 11);
	assert_int_equal(p4r_metrics_file_read(&f, repo, path), 0);
	p4r_metrics_file_clear(&f);
	/* inside: a link a clone delivered is never followed */
	secret = tu_write(outside, "secret.json", SECRET_JSON, strlen(SECRET_JSON));
	link = malloc(strlen(dir) + 16);
	sprintf(link, "%s/eval.json", dir);
	assert_int_equal(symlink(secret, link), 0);
	assert_int_equal(p4r_metrics_file_read(&f, repo, link), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "symbolic link"));
	p4r_metrics_file_clear(&f);
	free(link);
	free(secret);
	free(path);
	/* One byte over the bound: refused before parsing. */
	big = malloc(strlen(dir) + 16);
	assert_non_null(big);
	sprintf(big, "%s/big.json", dir);
	assert_non_null(fp = fopen(big, "wb"));
	assert_int_equal(fseek(fp, (long)P4R_METRICS_FILE_MAX, SEEK_SET), 0);
	assert_int_equal(fputc(' ', fp), ' ');
	fclose(fp);
	assert_int_equal(p4r_metrics_file_read(&f, repo, big), P4R_EUSAGE);
	p4r_metrics_file_clear(&f);
	assert_int_equal(p4r_metrics_file_read(&f, repo, "/nonexistent/x.json"), P4R_ENOTFOUND);
	p4r_metrics_file_clear(&f);
	free(big);
	p4r_repo_free(repo);
	tu_rmtree_free(dir);
	tu_rmtree_free(outside);
}

/* ---- against a repository ---- */

struct fx {
	char *dir;
	p4r_repo *repo;
	p4r_registry *reg;
	p4r_version v1, v2;   /* emb@1, emb@2 */
};

static void add_model_version(struct fx *fx, const char *model, const char *path, unsigned seed,
			      p4r_version *out)
{
	p4r_version_input in = {
		.model = model, .path = path, .size = 100 + seed, .author = "alice",
		.git_dirty = -1, .now_ms = T_20260218_0930,
	};
	bool unchanged = true;

	snprintf(in.oid.hex, sizeof(in.oid.hex), "%064x", seed);
	assert_int_equal(p4r_registry_add_version(fx->reg, &in, out, &unchanged), 0);
	assert_false(unchanged);
}

static void add_version(struct fx *fx, unsigned seed, p4r_version *out)
{
	add_model_version(fx, "emb", "models/emb.onnx", seed, out);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->dir = tu_mkdtemp();
	setenv("XDG_CONFIG_HOME", fx->dir, 1);
	unsetenv("P4REG_DIR");
	assert_int_equal(p4r_repo_init(fx->dir, NULL), 0);
	assert_int_equal(p4r_repo_open(&fx->repo, fx->dir), 0);
	fx->reg = p4r_repo_registry(fx->repo);
	add_version(fx, 1, &fx->v1);
	add_version(fx, 2, &fx->v2);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	p4r_version_clear(&fx->v1);
	p4r_version_clear(&fx->v2);
	p4r_repo_free(fx->repo);
	tu_rmtree_free(fx->dir);
	free(fx);
	return 0;
}

static int64_t count(struct fx *fx, const char *sql)
{
	sqlite3_stmt *st;
	int64_t n;

	assert_int_equal(sqlite3_prepare_v2(p4r_registry_db(fx->reg), sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static int log1(struct fx *fx, const p4r_version *v, const char *key, double value, int64_t step,
		int64_t at_ms, char **run)
{
	p4r_metric_kv m = { key, value };
	p4r_metric_log log = { .version = v, .step = step, .at_ms = at_ms, .metrics = &m, .nmetrics = 1 };

	return p4r_metrics_log(fx->reg, &log, run);
}

static double latest(struct fx *fx, const p4r_version *v, const char *key)
{
	bool found = false;
	double value = -1;

	assert_int_equal(p4r_metrics_latest(fx->reg, v->id, key, &value, &found), 0);
	return found ? value : NAN;
}

static void test_latest_ordering(void **state)
{
	struct fx *fx = *state;
	int64_t t = T_20260218_0930;

	/* Step wins over time: an old high step beats a new low step. */
	assert_int_equal(log1(fx, &fx->v1, "f1", 0.7, 5, t, NULL), 0);
	assert_int_equal(log1(fx, &fx->v1, "f1", 0.9, 1, t + 60000, NULL), 0);
	assert_true(latest(fx, &fx->v1, "f1") == 0.7);
	/* Same step: the later time wins, whatever the logging order. */
	assert_int_equal(log1(fx, &fx->v1, "f1", 0.75, 5, t + 1000, NULL), 0);
	assert_int_equal(log1(fx, &fx->v1, "f1", 0.72, 5, t + 500, NULL), 0);
	assert_true(latest(fx, &fx->v1, "f1") == 0.75);
	/* Same step and time: the last logged wins. */
	assert_int_equal(log1(fx, &fx->v1, "f1", 0.76, 5, t + 1000, NULL), 0);
	assert_true(latest(fx, &fx->v1, "f1") == 0.76);
	/* Other keys and versions are separate. */
	assert_true(isnan(latest(fx, &fx->v2, "f1")));
	assert_true(isnan(latest(fx, &fx->v1, "recall")));
}

static void test_log_defaults_and_append(void **state)
{
	struct fx *fx = *state;
	p4r_metric_kv m[] = { { "spearman", 0.83 }, { "cosine", 0.91 } };
	p4r_param_kv p[] = { { "lr", "0.001" } };
	p4r_metric_log log = { .version = &fx->v1, .experiment = "embedding_quality",
			       .at_ms = T_20260218_0930, .metrics = m, .nmetrics = 2,
			       .params = p, .nparams = 1, .actor = "ci" };
	p4r_run_info info;
	char *run = NULL;

	assert_int_equal(p4r_metrics_log(fx->reg, &log, &run), 0);
	assert_string_equal(run, "20260218_emb_embedding_quality_v1");
	free(run);
	/* The same day and experiment: the same run, appended to. */
	m[0].value = 0.84;
	log.step = 1;
	log.at_ms += 3600 * 1000;
	assert_int_equal(p4r_metrics_log(fx->reg, &log, &run), 0);
	assert_string_equal(run, "20260218_emb_embedding_quality_v1");
	assert_int_equal(count(fx, "SELECT count(*) FROM runs"), 1);
	assert_int_equal(count(fx, "SELECT count(*) FROM metrics"), 4);
	assert_int_equal(count(fx, "SELECT count(*) FROM params"), 1);
	assert_int_equal(count(fx, "SELECT count(*) FROM events WHERE kind = 'log-metric'"), 2);
	assert_int_equal(p4r_metrics_run_get(fx->reg, fx->v1.id, run, &info), 0);
	assert_string_equal(info.experiment, "embedding_quality");
	assert_int_equal(info.nparams, 1);
	assert_int_equal(info.nmetrics, 2);
	assert_string_equal(info.metrics[0].key, "cosine");
	assert_string_equal(info.metrics[1].key, "spearman");
	assert_true(info.metrics[1].value == 0.84);
	p4r_run_info_clear(&info);
	free(run);
	/* Appending to a named run with another experiment is refused. */
	log.run = "20260218_emb_embedding_quality_v1";
	log.experiment = "other";
	assert_int_equal(p4r_metrics_log(fx->reg, &log, NULL), P4R_EREFUSED);
	/* Without an experiment, a named run keeps its own. */
	log.experiment = NULL;
	assert_int_equal(p4r_metrics_log(fx->reg, &log, NULL), 0);
	assert_int_equal(count(fx, "SELECT count(*) FROM runs"), 1);
	/* A default run on another version is another run. */
	log.version = &fx->v2;
	log.run = NULL;
	assert_int_equal(p4r_metrics_log(fx->reg, &log, &run), 0);
	assert_string_equal(run, "20260218_emb_default_v2");
	free(run);
}

static void test_param_immutable(void **state)
{
	struct fx *fx = *state;
	p4r_metric_kv m[] = { { "f1", 0.8 } };
	p4r_param_kv p[] = { { "lr", "0.001" }, { "epochs", "3" } };
	p4r_metric_log log = { .version = &fx->v1, .run = "r1", .at_ms = T_20260218_0930,
			       .metrics = m, .nmetrics = 1, .params = p, .nparams = 2 };
	int64_t metrics, events;

	assert_int_equal(p4r_metrics_log(fx->reg, &log, NULL), 0);
	/* The same values again: fine. */
	assert_int_equal(p4r_metrics_log(fx->reg, &log, NULL), 0);
	metrics = count(fx, "SELECT count(*) FROM metrics");
	events = count(fx, "SELECT count(*) FROM events");
	/* One changed value: refused, and nothing of the call is recorded. */
	p[1].value = "4";
	assert_int_equal(p4r_metrics_log(fx->reg, &log, NULL), P4R_EREFUSED);
	assert_non_null(strstr(p4r_error_message(), "param 'epochs' of run 'r1' is '3'"));
	assert_int_equal(count(fx, "SELECT count(*) FROM metrics"), metrics);
	assert_int_equal(count(fx, "SELECT count(*) FROM events"), events);
	assert_int_equal(count(fx, "SELECT count(*) FROM params WHERE value = '4'"), 0);
	/* A new param key on the run is fine; another run may differ. */
	p[1].key = "batch";
	assert_int_equal(p4r_metrics_log(fx->reg, &log, NULL), 0);
	p[1].key = "epochs";
	log.run = "r2";
	assert_int_equal(p4r_metrics_log(fx->reg, &log, NULL), 0);
	assert_int_equal(count(fx, "SELECT count(*) FROM params"), 5);
}

static void test_all_or_nothing(void **state)
{
	struct fx *fx = *state;
	p4r_metric_kv m[] = { { "f1", 0.8 }, { "recall", 0.7 }, { "bad key", 0.1 } };
	p4r_param_kv p[] = { { "lr", "0.1" } };
	p4r_metric_log log = { .version = &fx->v1, .metrics = m, .nmetrics = 3 };

	assert_int_equal(p4r_metrics_log(fx->reg, &log, NULL), P4R_EUSAGE);
	m[2].key = "precision";
	m[2].value = NAN;
	assert_int_equal(p4r_metrics_log(fx->reg, &log, NULL), P4R_EUSAGE);
	m[2].value = INFINITY;
	assert_int_equal(p4r_metrics_log(fx->reg, &log, NULL), P4R_EUSAGE);
	m[2].key = "f1";
	m[2].value = 0.5;
	assert_int_equal(p4r_metrics_log(fx->reg, &log, NULL), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "metric 'f1' given twice"));
	m[2].key = "precision";
	log.step = -1;
	assert_int_equal(p4r_metrics_log(fx->reg, &log, NULL), P4R_EUSAGE);
	log.step = 0;
	log.run = "bad run";
	assert_int_equal(p4r_metrics_log(fx->reg, &log, NULL), P4R_EUSAGE);
	log.run = NULL;
	log.experiment = "a b";
	assert_int_equal(p4r_metrics_log(fx->reg, &log, NULL), P4R_EUSAGE);
	log.experiment = NULL;
	p[0].value = "x\ny";
	log.params = p;
	log.nparams = 1;
	assert_int_equal(p4r_metrics_log(fx->reg, &log, NULL), P4R_EUSAGE);
	log.nmetrics = 0;
	log.nparams = 0;
	assert_int_equal(p4r_metrics_log(fx->reg, &log, NULL), P4R_EUSAGE);
	assert_int_equal(count(fx, "SELECT count(*) FROM metrics"), 0);
	assert_int_equal(count(fx, "SELECT count(*) FROM runs"), 0);
	assert_int_equal(count(fx, "SELECT count(*) FROM params"), 0);
	assert_int_equal(count(fx, "SELECT count(*) FROM events WHERE kind = 'log-metric'"), 0);
	/* After all that, a good call works (no transaction left open). */
	log.nmetrics = 3;
	assert_int_equal(p4r_metrics_log(fx->reg, &log, NULL), 0);
	assert_int_equal(count(fx, "SELECT count(*) FROM metrics"), 3);
}

static void test_table(void **state)
{
	struct fx *fx = *state;
	p4r_version vs[2];
	p4r_metric_table t;
	const p4r_metric_cell *c;
	int64_t at = T_20260218_0930;

	assert_int_equal(log1(fx, &fx->v1, "spearman", 0.81, 0, at, NULL), 0);
	assert_int_equal(log1(fx, &fx->v1, "f1", 0.5, 2, at, NULL), 0);
	assert_int_equal(log1(fx, &fx->v1, "f1", 0.6, 1, at + 1, NULL), 0);
	assert_int_equal(log1(fx, &fx->v2, "latency_ms", 12, 0, at, NULL), 0);
	vs[0] = fx->v2;
	vs[1] = fx->v1;
	assert_int_equal(p4r_metrics_table(fx->reg, vs, 2, &t), 0);
	assert_int_equal(t.nrows, 2);
	assert_int_equal(t.nkeys, 3);
	assert_string_equal(t.keys[0], "f1");
	assert_string_equal(t.keys[1], "latency_ms");
	assert_string_equal(t.keys[2], "spearman");
	assert_null(p4r_metric_table_get(&t, 0, 0));
	assert_non_null(c = p4r_metric_table_get(&t, 0, 1));
	assert_true(c->value == 12);
	assert_non_null(c = p4r_metric_table_get(&t, 1, 0));
	assert_true(c->value == 0.5);
	assert_int_equal(c->step, 2);
	assert_null(p4r_metric_table_get(&t, 2, 0));
	p4r_metric_table_clear(&t);
}

/* The single-query paths (more than a few versions) agree with the
 * per-version one and with p4r_metrics_latest. */
static void test_table_many(void **state)
{
	struct fx *fx = *state;
	p4r_version *vs = NULL;
	p4r_metric_table t;
	size_t n = 0, i;
	int64_t at = T_20260218_0930;
	char key[16];
	unsigned s;

	for (s = 3; s <= 12; s++) {
		p4r_version v;

		add_version(fx, s, &v);
		p4r_version_clear(&v);
	}
	assert_int_equal(p4r_registry_version_list(fx->reg, "emb", &vs, &n), 0);
	assert_int_equal(n, 12);
	for (i = 0; i < n; i += 2) {
		snprintf(key, sizeof(key), "k%zu", i % 3);
		assert_int_equal(log1(fx, &vs[i], key, (double)i, 1, at, NULL), 0);
		assert_int_equal(log1(fx, &vs[i], key, (double)i + 0.5, 0, at + 5, NULL), 0);
	}
	assert_int_equal(p4r_metrics_table(fx->reg, vs, n, &t), 0);
	assert_int_equal(t.nrows, n);
	assert_int_equal(t.nkeys, 3);
	for (i = 0; i < n; i++) {
		size_t k;

		for (k = 0; k < t.nkeys; k++) {
			const p4r_metric_cell *c = p4r_metric_table_get(&t, i, k);
			double want = latest(fx, &vs[i], t.keys[k]);

			if (isnan(want))
				assert_null(c);
			else
				assert_true(c && c->value == want && c->value == (double)i);
		}
	}
	p4r_metric_table_clear(&t);
	/* Another model outnumbers emb: a subset of emb's versions is then read
	 * through the model's join, and the other model's metrics stay out. */
	for (s = 100; s < 130; s++) {
		p4r_version v;

		add_model_version(fx, "other", "models/other.bin", s, &v);
		assert_int_equal(log1(fx, &v, "k0", -1, 9, at + 9, NULL), 0);
		assert_int_equal(log1(fx, &v, "only_other", -1, 0, at, NULL), 0);
		p4r_version_clear(&v);
	}
	assert_int_equal(p4r_metrics_table(fx->reg, vs + 2, 5, &t), 0);
	assert_int_equal(t.nrows, 5);
	assert_int_equal(t.nkeys, 3);
	for (i = 0; i < 5; i++) {
		const p4r_metric_cell *c;
		size_t k;

		for (k = 0; k < t.nkeys; k++)
			if ((c = p4r_metric_table_get(&t, i, k)))
				assert_true(c->value == (double)(i + 2));
	}
	p4r_metric_table_clear(&t);
	/* And the full scan (all of the registry's versions asked for). */
	assert_int_equal(p4r_metrics_table(fx->reg, vs, n, &t), 0);
	assert_int_equal(t.nkeys, 3);
	p4r_metric_table_clear(&t);
	p4r_version_array_free(vs, n);
}

/* Logs KEY=VALUE on V into RUN of EXPERIMENT (NULL: default) at STEP, AT. */
static void log_run(struct fx *fx, const p4r_version *v, const char *run, const char *experiment,
		    const char *key, double value, int64_t step, int64_t at)
{
	p4r_metric_kv m = { key, value };
	p4r_metric_log log = { .version = v, .run = run, .experiment = experiment, .step = step,
			       .at_ms = at, .metrics = &m, .nmetrics = 1 };

	assert_int_equal(p4r_metrics_log(fx->reg, &log, NULL), 0);
}

static p4r_metric_value value_of(struct fx *fx, const p4r_version *v, const char *key, const char *exp)
{
	p4r_metric_value out;

	assert_int_equal(p4r_metrics_value(fx->reg, v->id, key, exp, &out), 0);
	return out;
}

/* The gate rule: the run that logged the key most recently, then its
 * highest step; experiments narrow the runs; the implicit run. */
static void test_value_rule(void **state)
{
	struct fx *fx = *state;
	int64_t t = T_20260218_0930;
	p4r_metric_value v;
	sqlite3_stmt *st;

	v = value_of(fx, &fx->v1, "f1", NULL);
	assert_false(v.found);
	assert_int_equal(v.id, 0);
	/* training logs a high step, evaluation later a low one: evaluation */
	log_run(fx, &fx->v1, "train-1", "train", "f1", 0.99, 1000, t);
	log_run(fx, &fx->v1, "eval-1", "eval", "f1", 0.70, 0, t + 1000);
	v = value_of(fx, &fx->v1, "f1", NULL);
	assert_true(v.found && v.in_run && v.value == 0.70);
	assert_string_equal(v.run, "eval-1");
	assert_string_equal(v.experiment, "eval");
	assert_int_equal(v.step, 0);
	assert_int_equal(v.at_ms, t + 1000);
	v = value_of(fx, &fx->v1, "f1", "train");
	assert_true(v.value == 0.99 && v.step == 1000);
	assert_string_equal(v.run, "train-1");
	assert_false(value_of(fx, &fx->v1, "f1", "bench").found);
	assert_false(value_of(fx, &fx->v1, "recall", NULL).found);
	assert_false(value_of(fx, &fx->v2, "f1", NULL).found);
	/* by time, not by logging order: a backdated point does not take over */
	log_run(fx, &fx->v1, "train-2", "train", "f1", 0.5, 3, t - 5000);
	assert_true(value_of(fx, &fx->v1, "f1", NULL).value == 0.70);
	assert_true(value_of(fx, &fx->v1, "f1", "train").value == 0.99);
	/* within the chosen run: the highest step, even logged at an older time */
	log_run(fx, &fx->v1, "eval-1", "eval", "f1", 0.72, 5, t + 500);
	log_run(fx, &fx->v1, "eval-1", "eval", "f1", 0.71, 2, t + 2000);
	v = value_of(fx, &fx->v1, "f1", NULL);
	assert_true(v.value == 0.72 && v.step == 5 && v.at_ms == t + 500);
	/* same step: the later time, then the later row */
	log_run(fx, &fx->v1, "eval-1", "eval", "f1", 0.73, 5, t + 600);
	log_run(fx, &fx->v1, "eval-1", "eval", "f1", 0.74, 5, t + 600);
	assert_true(value_of(fx, &fx->v1, "f1", NULL).value == 0.74);
	/* two runs at the same time: the one logged last */
	log_run(fx, &fx->v1, "eval-2", "eval", "f1", 0.1, 0, t + 2000);
	v = value_of(fx, &fx->v1, "f1", "eval");
	assert_true(v.value == 0.1);
	assert_string_equal(v.run, "eval-2");
	/* points outside any run are one run of their own, never in an experiment */
	assert_int_equal(sqlite3_prepare_v2(p4r_registry_db(fx->reg), "INSERT INTO metrics(version_id, "
					    "run_id, key, value, step, at_ms) VALUES (?1, NULL, 'f1', 0.4, 9, ?2)",
					    -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, fx->v1.id);
	sqlite3_bind_int64(st, 2, t + 3000);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	v = value_of(fx, &fx->v1, "f1", NULL);
	assert_true(v.found && !v.in_run && v.value == 0.4 && v.step == 9);
	assert_string_equal(v.run, "");
	assert_string_equal(v.experiment, "");
	assert_true(value_of(fx, &fx->v1, "f1", "eval").value == 0.1);
	assert_true(latest(fx, &fx->v1, "f1") == 0.4);
}

/* A small deterministic generator: the same sequence on every machine. */
static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s >> 8;
}

static void assert_table_agrees(struct fx *fx, const p4r_version *vs, size_t n, const char *exp)
{
	p4r_metric_table t;
	size_t r, k, seen = 0;
	char key[8];

	assert_int_equal(p4r_metrics_table_scoped(fx->reg, vs, n, exp, &t), 0);
	for (r = 0; r < n; r++) {
		for (k = 0; k < 3; k++) {
			const p4r_metric_cell *c = NULL;
			p4r_metric_value v;
			size_t col;

			snprintf(key, sizeof(key), "k%zu", k);
			for (col = 0; col < t.nkeys; col++)
				if (!strcmp(t.keys[col], key))
					c = p4r_metric_table_get(&t, r, col);
			v = value_of(fx, &vs[r], key, exp);
			if (!v.found) {
				assert_null(c);
				continue;
			}
			if (!c || c->id != v.id || c->value != v.value || c->step != v.step)
				fail_msg("%s@%lld %s (%s): table has row %lld, p4r_metrics_value %lld",
					 vs[r].model, (long long)vs[r].number, key, exp ? exp : "any",
					 c ? (long long)c->id : 0LL, (long long)v.id);
			seen++;
		}
	}
	assert_true(seen > 0);
	p4r_metric_table_clear(&t);
}

/* The one-pass table and the single-value query agree on every cell, on
 * every query path, scoped or not, with runs logged in turns, backdated
 * times, equal times and equal steps (the cases the table must ask again). */
static void test_table_agrees_with_value(void **state)
{
	static const char *const runs[] = { "r0", "r1", "r2", "r3" };
	static const char *const exps[] = { "e0", "e1", "e0", "e1" };
	struct fx *fx = *state;
	p4r_version *vs = NULL;
	uint32_t seed = 12345;
	size_t n = 0, i, j;
	unsigned s;

	for (s = 3; s <= 12; s++) {
		p4r_version v;

		add_version(fx, s, &v);
		p4r_version_clear(&v);
	}
	for (s = 100; s < 120; s++) {
		p4r_version v;

		add_model_version(fx, "other", "models/other.bin", s, &v);
		p4r_version_clear(&v);
	}
	assert_int_equal(p4r_registry_version_list(fx->reg, "emb", &vs, &n), 0);
	assert_int_equal(n, 12);
	assert_int_equal(p4r_registry_begin(fx->reg), 0);
	for (i = 0; i < n; i++) {
		for (j = 0; j < 40; j++) {
			unsigned r = lcg(&seed) % 4;
			char key[8];

			snprintf(key, sizeof(key), "k%u", (unsigned)(lcg(&seed) % 3));
			log_run(fx, &vs[i], runs[r], exps[r], key, (double)(lcg(&seed) % 1000) / 1000,
				lcg(&seed) % 4, T_20260218_0930 + (int64_t)(lcg(&seed) % 8) * 1000);
		}
	}
	assert_int_equal(p4r_registry_commit(fx->reg), 0);
	/* 12 of 32 versions: one scan of the metrics table */
	assert_table_agrees(fx, vs, n, NULL);
	assert_table_agrees(fx, vs, n, "e1");
	/* a part of one model: the model's join */
	assert_table_agrees(fx, vs + 3, 6, NULL);
	assert_table_agrees(fx, vs + 3, 6, "e0");
	/* a few versions: one query each */
	assert_table_agrees(fx, vs + 1, 3, NULL);
	assert_table_agrees(fx, vs + 1, 3, "e1");
	p4r_version_array_free(vs, n);
}

static void test_history(void **state)
{
	struct fx *fx = *state;
	p4r_metric_point *pts;
	size_t n;
	int64_t at = T_20260218_0930;
	char *run = NULL;

	assert_int_equal(log1(fx, &fx->v1, "loss", 0.3, 2, at, &run), 0);
	assert_int_equal(log1(fx, &fx->v1, "loss", 0.9, 0, at + 2000, NULL), 0);
	assert_int_equal(log1(fx, &fx->v1, "loss", 0.5, 1, at, NULL), 0);
	assert_int_equal(log1(fx, &fx->v1, "loss", 0.8, 0, at + 1000, NULL), 0);
	assert_int_equal(p4r_metrics_history(fx->reg, fx->v1.id, "loss", &pts, &n), 0);
	assert_int_equal(n, 4);
	assert_true(pts[0].value == 0.8 && pts[0].step == 0);
	assert_true(pts[1].value == 0.9 && pts[1].step == 0);
	assert_true(pts[2].value == 0.5 && pts[2].step == 1);
	assert_true(pts[3].value == 0.3 && pts[3].step == 2);
	assert_string_equal(pts[3].run, run);
	p4r_metric_points_free(pts, n);
	assert_int_equal(p4r_metrics_history(fx->reg, fx->v2.id, "loss", &pts, &n), 0);
	assert_int_equal(n, 0);
	p4r_metric_points_free(pts, n);
	free(run);
}

static void test_runs(void **state)
{
	struct fx *fx = *state;
	p4r_metric_kv m[] = { { "f1", 0.8 } };
	p4r_param_kv p[] = { { "lr", "0.1" } };
	p4r_metric_log log = { .version = &fx->v1, .experiment = "jackpot", .at_ms = T_20260218_0930,
			       .metrics = m, .nmetrics = 1, .params = p, .nparams = 1 };
	p4r_run_info *runs;
	size_t n;

	assert_int_equal(p4r_metrics_log(fx->reg, &log, NULL), 0);
	log.version = &fx->v2;
	log.experiment = "retrieval";
	log.at_ms += 1000;
	assert_int_equal(p4r_metrics_log(fx->reg, &log, NULL), 0);
	assert_int_equal(p4r_metrics_runs(fx->reg, NULL, NULL, &runs, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(runs[0].experiment, "retrieval");   /* newest first */
	assert_int_equal(runs[0].version, 2);
	assert_string_equal(runs[1].name, "20260218_emb_jackpot_v1");
	assert_int_equal(runs[1].nparams, 1);
	assert_string_equal(runs[1].params[0].value, "0.1");
	p4r_run_array_free(runs, n);
	assert_int_equal(p4r_metrics_runs(fx->reg, "emb", "jackpot", &runs, &n), 0);
	assert_int_equal(n, 1);
	p4r_run_array_free(runs, n);
	assert_int_equal(p4r_metrics_runs(fx->reg, "nope", NULL, &runs, &n), P4R_ENOTFOUND);
}

static void test_goal_config(void **state)
{
	struct fx *fx = *state;
	p4r_config *cfg = p4r_repo_config(fx->repo);
	p4r_metric_goal g;

	assert_int_equal(p4r_metric_goal_get(&g, cfg, "f1"), 0);
	assert_int_equal(g, P4R_GOAL_MAX);
	assert_int_equal(p4r_config_set(cfg, false, "metric.f1.goal", "min"), 0);
	assert_int_equal(p4r_config_set(cfg, false, "metric.tokens/sec.goal", "min"), 0);
	assert_int_equal(p4r_config_set(cfg, false, "metric.daily_hits.goal", "max"), 0);
	assert_int_equal(p4r_config_set(cfg, false, "metric.loss.goal", "sideways"), 0);
	p4r_repo_free(fx->repo);
	assert_int_equal(p4r_repo_open(&fx->repo, fx->dir), 0);
	fx->reg = p4r_repo_registry(fx->repo);
	cfg = p4r_repo_config(fx->repo);
	assert_int_equal(p4r_metric_goal_get(&g, cfg, "f1"), 0);
	assert_int_equal(g, P4R_GOAL_MIN);
	assert_int_equal(p4r_metric_goal_get(&g, cfg, "tokens/sec"), 0);
	assert_int_equal(g, P4R_GOAL_MIN);
	assert_int_equal(p4r_metric_goal_get(&g, cfg, "daily_hits"), 0);
	assert_int_equal(g, P4R_GOAL_MAX);
	assert_int_equal(p4r_metric_goal_get(&g, cfg, "loss"), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "sideways"));
	assert_int_equal(p4r_metric_goal_get(&g, NULL, "latency"), 0);
	assert_int_equal(g, P4R_GOAL_MIN);
}

/* Events from a remote: an out-of-range number or a step no int64 holds
 * is an invalid event (the cast would be undefined), and nothing is logged. */
static void test_replay_range(void **state)
{
	struct fx *fx = *state;
	static const char *const bad[] = {
		"{\"run\":\"r1\",\"step\":0,\"at_ms\":1771407000000,\"metrics\":{\"f1\":1e-400}}",
		"{\"run\":\"r1\",\"step\":1e300,\"at_ms\":1771407000000,\"metrics\":{\"f1\":1}}",
		"{\"run\":\"r1\",\"step\":0,\"at_ms\":-1e300,\"metrics\":{\"f1\":1}}",
		"{\"run\":\"r1\",\"step\":0,\"at_ms\":1e400,\"metrics\":{\"f1\":1}}",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (p4r_metrics_replay(fx->reg, &fx->v1, bad[i]) != P4R_EINTEGRITY)
			fail_msg("'%s' was replayed", bad[i]);
	assert_int_equal(count(fx, "SELECT count(*) FROM metrics"), 0);
	assert_int_equal(p4r_metrics_replay(fx->reg, &fx->v1, "{\"run\":\"r1\",\"step\":0,"
					    "\"at_ms\":1771407000000,\"metrics\":{\"f1\":1e-310}}"), 0);
	assert_int_equal(count(fx, "SELECT count(*) FROM metrics"), 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_valid),
		cmocka_unit_test(test_parse_value),
		cmocka_unit_test(test_parse_value_range),
		cmocka_unit_test(test_json_numbers_check),
		cmocka_unit_test(test_parse_pair),
		cmocka_unit_test(test_run_name),
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_goal_defaults),
		cmocka_unit_test(test_file_parse),
		cmocka_unit_test(test_file_read_bounds),
		T(test_latest_ordering),
		T(test_log_defaults_and_append),
		T(test_param_immutable),
		T(test_all_or_nothing),
		T(test_table),
		T(test_table_many),
		T(test_value_rule),
		T(test_table_agrees_with_value),
		T(test_history),
		T(test_runs),
		T(test_goal_config),
		T(test_replay_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
