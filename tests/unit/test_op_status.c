/* Unit tests for p4r_status (ops/status.c) and the stat cache rule
 * (p4r_worktree_stat_remember): clean, modified and missing files; a
 * cache row only for a stat that held still during the read and is not
 * racily clean; a write that sets mtime back is still seen. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/ops/add.h"
#include "p4reg/ops/status.h"
#include "p4reg/repo.h"
#include "p4reg/worktree.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HELLO_OID "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

struct fx {
	char *dir;
	char *file;   /* m.bin, added as m@1 ("hello") */
	p4r_repo *repo;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	p4r_add_result res;
	const char *paths[1];
	p4r_add_opts opts = { .paths = paths, .npaths = 1, .no_stage = true };

	fx->dir = tu_mkdtemp();
	assert_int_equal(p4r_repo_init(fx->dir, NULL), 0);
	assert_int_equal(p4r_repo_open(&fx->repo, fx->dir), 0);
	paths[0] = fx->file = tu_write(fx->dir, "m.bin", "hello", 5);
	assert_int_equal(p4r_add(fx->repo, &opts, NULL, &res), 0);
	p4r_add_result_free(&res);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	p4r_repo_free(fx->repo);
	free(fx->file);
	tu_rmtree_free(fx->dir);
	free(fx);
	return 0;
}

/* Runs status and checks its one row: m.bin as STATE, naming m@1. */
static void expect_state(struct fx *fx, const char *state)
{
	p4r_status_opts opts = { 0 };
	p4r_status_result res;

	assert_int_equal(p4r_status(fx->repo, &opts, NULL, &res), 0);
	assert_int_equal(res.n, 1);
	assert_string_equal(res.rows[0].rel, "m.bin");
	assert_string_equal(res.rows[0].state, state);
	assert_string_equal(res.rows[0].model, "m");
	assert_int_equal(res.rows[0].version, 1);
	assert_null(res.rows[0].moved_to);
	assert_false(res.rows[0].lfs);
	assert_int_equal(res.invalid, 0);
	assert_int_equal(res.damage.n, 0);
	assert_false(res.stuck);
	p4r_status_result_free(&res);
}

static void test_clean_modified_missing(void **state)
{
	struct fx *fx = *state;

	expect_state(fx, "clean");
	free(tu_write(fx->dir, "m.bin", "HELLO!", 6));
	expect_state(fx, "modified");
	assert_int_equal(unlink(fx->file), 0);
	expect_state(fx, "missing");
}

static void test_invalid_pointer_is_a_row_and_counted(void **state)
{
	struct fx *fx = *state;
	p4r_status_opts opts = { 0 };
	p4r_status_result res;

	free(tu_write(fx->dir, "m.bin.p4reg", "not a pointer\n", 14));
	assert_int_equal(p4r_status(fx->repo, &opts, NULL, &res), 0);
	assert_int_equal(res.n, 1);
	assert_string_equal(res.rows[0].state, "invalid");
	assert_int_equal(res.rows[0].version, 0);
	assert_int_equal(res.invalid, 1);
	p4r_status_result_free(&res);
}

static bool cached(struct fx *fx, const p4r_stat_key *key)
{
	p4r_oid oid;
	bool found = false;

	assert_int_equal(p4r_registry_statcache_get(p4r_repo_registry(fx->repo), "m.bin", key, &oid, &found), 0);
	return found;
}

/* The rule itself: a row only when all five fields held still, and never
 * for a file changed in the last two seconds. */
static void test_stat_remember_rule(void **state)
{
	struct fx *fx = *state;
	p4r_stat_key before = { 1, 2, 5, 1000000000, 1000000000, 0 }, after = before;
	int64_t now = p4r_now_ms() * 1000000;
	p4r_oid oid;

	assert_int_equal(p4r_oid_parse(&oid, HELLO_OID), 0);
	after.ctime_ns++; /* a write whose mtime was set back */
	assert_int_equal(p4r_worktree_stat_remember(fx->repo, "m.bin", &before, &after, &oid), 0);
	assert_false(cached(fx, &before));
	assert_false(cached(fx, &after));
	after = before;
	after.mtime_ns = before.mtime_ns = now; /* racily clean */
	after.ctime_ns = before.ctime_ns = now;
	assert_int_equal(p4r_worktree_stat_remember(fx->repo, "m.bin", &before, &after, &oid), 0);
	assert_false(cached(fx, &after));
	before.mtime_ns = before.ctime_ns = after.mtime_ns = after.ctime_ns = 1000000000;
	assert_int_equal(p4r_worktree_stat_remember(fx->repo, "m.bin", &before, &after, &oid), 0);
	assert_true(cached(fx, &after));
}

/* Status fills the cache once the file is old enough, and a later write
 * of the same size with mtime set back is still modified (ctime moved). */
static void test_status_cache_sees_mtime_set_back(void **state)
{
	struct fx *fx = *state;
	struct stat st;
	p4r_stat_key key;
	struct timespec times[2];

	usleep(2100000); /* past the racy window */
	expect_state(fx, "clean");
	assert_int_equal(stat(fx->file, &st), 0);
	p4r_worktree_stat_key(&st, &key);
	assert_true(cached(fx, &key));
	expect_state(fx, "clean"); /* answered by the row */
	free(tu_write(fx->dir, "m.bin", "jello", 5));
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, fx->file, times, 0), 0);
	expect_state(fx, "modified");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clean_modified_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_pointer_is_a_row_and_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stat_remember_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_cache_sees_mtime_set_back, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
