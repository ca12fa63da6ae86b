/* Unit tests for p4r_track / p4r_untrack (ops/track.c), called directly:
 * the line `git lfs track` writes, once; a bad pattern refused before the
 * file is touched; listing; untracking; no git work tree. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/ops/track.h"
#include "p4reg/repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LINE "*.onnx filter=lfs diff=lfs merge=lfs -text"

struct fx {
	char *dir;
	char *attr;   /* DIR/.gitattributes */
	p4r_repo *repo;
};

static int open_repo(void **state, bool git)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char cmd[4096];

	fx->dir = tu_mkdtemp();
	snprintf(cmd, sizeof(cmd), "git init -q '%s'", fx->dir);
	if (git)
		assert_int_equal(system(cmd), 0);
	assert_int_equal(p4r_repo_init(fx->dir, NULL), 0);
	assert_int_equal(p4r_repo_open(&fx->repo, fx->dir), 0);
	snprintf(cmd, sizeof(cmd), "%s/.gitattributes", fx->dir);
	fx->attr = strdup(cmd);
	*state = fx;
	return 0;
}

static int setup_git(void **state) { return open_repo(state, true); }
static int setup_plain(void **state) { return open_repo(state, false); }

static int teardown(void **state)
{
	struct fx *fx = *state;

	p4r_repo_free(fx->repo);
	free(fx->attr);
	tu_rmtree_free(fx->dir);
	free(fx);
	return 0;
}

static void attributes_are(struct fx *fx, const char *want)
{
	char *text = tu_slurp(fx->attr, NULL);

	assert_non_null(text);
	assert_string_equal(text, want);
	free(text);
}

static void test_track_writes_the_line_once(void **state)
{
	struct fx *fx = *state;
	const char *pats[] = { "./*.onnx" };
	p4r_track_opts opts = { .patterns = pats, .n = 1 };
	p4r_track_result res;

	assert_int_equal(p4r_track(fx->repo, &opts, NULL, &res), 0);
	assert_int_equal(res.n, 1);
	assert_string_equal(res.rows[0].pattern, "*.onnx");
	assert_string_equal(res.rows[0].line, LINE);
	assert_int_equal(res.rows[0].action, P4R_ATTR_ADDED);
	p4r_track_result_free(&res);
	attributes_are(fx, LINE "\n");
	assert_int_equal(p4r_track(fx->repo, &opts, NULL, &res), 0);
	assert_int_equal(res.rows[0].action, P4R_ATTR_ALREADY);
	p4r_track_result_free(&res);
	attributes_are(fx, LINE "\n");
	/* no patterns: the list */
	opts.n = 0;
	assert_int_equal(p4r_track(fx->repo, &opts, NULL, &res), 0);
	assert_int_equal(res.nlisted, 1);
	assert_string_equal(res.listed[0], "*.onnx");
	p4r_track_result_free(&res);
}

static void test_bad_pattern_touches_nothing(void **state)
{
	struct fx *fx = *state;
	const char *pats[] = { "*.onnx", "*.p4reg" };
	p4r_track_opts opts = { .patterns = pats, .n = 2 };
	p4r_track_result res;
	struct stat st;

	assert_int_equal(p4r_track(fx->repo, &opts, NULL, &res), P4R_EUSAGE);
	p4r_track_result_free(&res);
	p4r_error_clear();
	assert_int_equal(stat(fx->attr, &st), -1);
}

static void test_untrack_removes_the_line(void **state)
{
	struct fx *fx = *state;
	const char *pats[] = { "*.onnx" };
	p4r_track_opts opts = { .patterns = pats, .n = 1 };
	p4r_track_result res;

	assert_int_equal(p4r_track(fx->repo, &opts, NULL, &res), 0);
	p4r_track_result_free(&res);
	assert_int_equal(p4r_untrack(fx->repo, &opts, NULL, &res), 0);
	assert_int_equal(res.rows[0].action, P4R_ATTR_REMOVED);
	p4r_track_result_free(&res);
	attributes_are(fx, "");
	assert_int_equal(p4r_untrack(fx->repo, &opts, NULL, &res), 0);
	assert_int_equal(res.rows[0].action, P4R_ATTR_ABSENT);
	p4r_track_result_free(&res);
}

static void test_outside_git_is_an_error(void **state)
{
	struct fx *fx = *state;
	const char *pats[] = { "*.onnx" };
	p4r_track_opts opts = { .patterns = pats, .n = 1 };
	p4r_track_result res;

	assert_int_equal(p4r_track(fx->repo, &opts, NULL, &res), P4R_ERROR);
	assert_non_null(strstr(p4r_error_message(), "cannot track Git LFS patterns"));
	p4r_track_result_free(&res);
	p4r_error_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_track_writes_the_line_once, setup_git, teardown),
		cmocka_unit_test_setup_teardown(test_bad_pattern_touches_nothing, setup_git, teardown),
		cmocka_unit_test_setup_teardown(test_untrack_removes_the_line, setup_git, teardown),
		cmocka_unit_test_setup_teardown(test_outside_git_is_an_error, setup_plain, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
