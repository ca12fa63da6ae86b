/* Unit tests of the pull operation (ops/pull.c) against a folder remote
 * (testutil's sync fixture): what A pushes, B pulls -- the version, the
 * verified object and the work file's bytes with its pointer; a corrupt
 * remote object leaves B's work tree untouched. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/ops/pull.h"
#include "p4reg/ops/push.h"
#include "p4reg/pointer.h"
#include "p4reg/registry.h"
#include "p4reg/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int setup(void **state)
{
	tu_sync *s = tu_sync_new();
	p4r_push_opts po = { .remote = "origin" };
	p4r_push_result pr;

	assert_int_equal(p4r_push(s->a, &po, NULL, &pr), 0);
	p4r_push_result_free(&pr);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	tu_sync_free(*state);
	return 0;
}

static char *b_path(tu_sync *s, const char *rel)
{
	return p4r_path_join(p4r_repo_root(s->b), rel);
}

/* pull m@1 into B: the event, the object and m.bin with its pointer. */
static void test_pull_ref(void **state)
{
	tu_sync *s = *state;
	char *args[] = { "m@1" };
	p4r_pull_opts po = { .remote = "origin", .args = args, .nargs = 1, .no_stage = true };
	p4r_pull_result pr = { 0 };
	p4r_version v = { 0 };
	char *file = b_path(s, "m.bin"), *ptr = b_path(s, "m.bin" P4R_POINTER_SUFFIX), *back;
	struct stat st;
	size_t len;

	assert_int_equal(p4r_pull(s->b, &po, NULL, &pr), 0);
	assert_true(pr.fetched);
	assert_string_equal(pr.remote->name, "origin");
	assert_int_equal(pr.sync.events_applied, 1);
	assert_int_equal(pr.checkout.n, 1);
	assert_string_equal(pr.checkout.rows[0].path, "m.bin");
	assert_string_equal(pr.checkout.rows[0].model, "m");
	assert_int_equal(pr.checkout.rows[0].version, 1);
	assert_int_equal(pr.checkout.rows[0].action, P4R_CHECKOUT_WRITTEN);
	assert_int_equal(pr.sync.objects_received, 1);
	assert_int_equal(pr.sync.bytes_received, TU_SYNC_SIZE);
	p4r_pull_result_free(&pr);

	assert_int_equal(p4r_registry_version_get(p4r_repo_registry(s->b), "m", 1, &v), 0);
	assert_true(p4r_oid_equal(&v.oid, &s->v1));
	p4r_version_clear(&v);
	assert_int_equal(p4r_store_verify(p4r_repo_store(s->b), &s->v1), 0);
	back = tu_slurp(file, &len);
	assert_int_equal(len, TU_SYNC_SIZE);
	assert_memory_equal(back, TU_SYNC_BYTES, len);
	free(back);
	assert_int_equal(lstat(ptr, &st), 0);
	back = tu_slurp(ptr, NULL);
	assert_non_null(strstr(back, s->v1.hex));
	free(back);
	free(ptr);
	free(file);
}

/* The remote's object has other bytes: P4R_EINTEGRITY, no file written,
 * the object not stored; the events are applied (fetched is true). */
static void test_pull_corrupt_object(void **state)
{
	tu_sync *s = *state;
	char *args[] = { "m@1" };
	p4r_pull_opts po = { .remote = "origin", .args = args, .nargs = 1, .no_stage = true };
	p4r_pull_result pr = { 0 };
	char *file = b_path(s, "m.bin");
	struct stat st;

	tu_sync_corrupt_remote(s);
	assert_int_equal(p4r_pull(s->b, &po, NULL, &pr), P4R_EINTEGRITY);
	p4r_error_clear();
	assert_true(pr.fetched);
	assert_int_equal(pr.checkout.n, 0);
	p4r_pull_result_free(&pr);
	assert_false(p4r_store_has(p4r_repo_store(s->b), &s->v1));
	assert_int_equal(lstat(file, &st), -1);
	free(file);
}

/* An unknown remote: nothing fetched, no remote in the result. */
static void test_pull_unknown_remote(void **state)
{
	tu_sync *s = *state;
	p4r_pull_opts po = { .remote = "elsewhere" };
	p4r_pull_result pr = { 0 };

	assert_int_equal(p4r_pull(s->b, &po, NULL, &pr), P4R_ENOTFOUND);
	p4r_error_clear();
	assert_null(pr.remote);
	assert_false(pr.fetched);
	p4r_pull_result_free(&pr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pull_ref, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pull_corrupt_object, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pull_unknown_remote, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
