/* Unit tests for p4r_mv (ops/mv.c), called directly: a model moves with
 * its file, pointer, .gitignore line and binding; a pointer file named as
 * the new path is refused before anything changes. Outside git: nothing
 * is staged. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/ops/add.h"
#include "p4reg/ops/mv.h"
#include "p4reg/repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fx {
	char *dir;
	p4r_repo *repo;
};

static char *in(struct fx *fx, const char *rel)
{
	size_t n = strlen(fx->dir) + strlen(rel) + 2;
	char *s = malloc(n);

	snprintf(s, n, "%s/%s", fx->dir, rel);
	return s;
}

static bool exists(struct fx *fx, const char *rel)
{
	char *path = in(fx, rel);
	struct stat st;
	bool yes = lstat(path, &st) == 0;

	free(path);
	return yes;
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	const char *paths[1];
	p4r_add_opts opts = { .paths = paths, .npaths = 1, .no_stage = true };
	p4r_add_result res;
	char *file;

	fx->dir = tu_mkdtemp();
	assert_int_equal(p4r_repo_init(fx->dir, NULL), 0);
	assert_int_equal(p4r_repo_open(&fx->repo, fx->dir), 0);
	paths[0] = file = tu_write(fx->dir, "m.bin", "hello", 5);
	assert_int_equal(p4r_add(fx->repo, &opts, NULL, &res), 0);
	p4r_add_result_free(&res);
	free(file);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	p4r_repo_free(fx->repo);
	tu_rmtree_free(fx->dir);
	free(fx);
	return 0;
}

static void model_path_is(struct fx *fx, const char *want)
{
	p4r_model m = { 0 };

	assert_int_equal(p4r_registry_model_get(p4r_repo_registry(fx->repo), "m", &m), 0);
	assert_string_equal(m.path, want);
	p4r_model_clear(&m);
}

static void test_mv_moves_file_pointer_and_binding(void **state)
{
	struct fx *fx = *state;
	char *from = in(fx, "m.bin"), *to = in(fx, "sub/dir/n.bin"), *bytes, *path;
	p4r_mv_opts opts = { .from = from, .to = to };
	p4r_mv_result res;

	assert_int_equal(p4r_mv(fx->repo, &opts, NULL, &res), 0);
	assert_string_equal(res.from, "m.bin");
	assert_string_equal(res.to, "sub/dir/n.bin");
	assert_string_equal(res.move.model, "m");
	assert_int_equal(res.move.version, 1);
	assert_true(res.move.file_moved);
	assert_false(res.move.resumed);
	assert_false(res.staged); /* no git work tree */
	p4r_mv_result_free(&res);
	assert_false(exists(fx, "m.bin"));
	assert_false(exists(fx, "m.bin.p4reg"));
	assert_true(exists(fx, "sub/dir/n.bin.p4reg"));
	path = in(fx, "sub/dir/n.bin");
	bytes = tu_slurp(path, NULL);
	assert_string_equal(bytes, "hello");
	free(bytes);
	free(path);
	model_path_is(fx, "sub/dir/n.bin");
	free(from);
	free(to);
}

static void test_mv_refuses_before_changing_anything(void **state)
{
	struct fx *fx = *state;
	char *from = in(fx, "m.bin"), *to = in(fx, "n.bin.p4reg"), *none = in(fx, "none.bin");
	char *other = in(fx, "other.bin");
	p4r_mv_opts opts = { .from = from, .to = to };
	p4r_mv_result res;

	assert_int_equal(p4r_mv(fx->repo, &opts, NULL, &res), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "is a pointer file"));
	p4r_mv_result_free(&res);
	/* a path bound to no model */
	opts.from = none;
	opts.to = other;
	assert_int_equal(p4r_mv(fx->repo, &opts, NULL, &res), P4R_ENOTFOUND);
	p4r_mv_result_free(&res);
	p4r_error_clear();
	assert_true(exists(fx, "m.bin"));
	assert_true(exists(fx, "m.bin.p4reg"));
	assert_false(exists(fx, "other.bin.p4reg"));
	model_path_is(fx, "m.bin");
	free(from);
	free(to);
	free(none);
	free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mv_moves_file_pointer_and_binding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mv_refuses_before_changing_anything, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
