/* Unit tests for the checkout operation (ops/checkout.c), called directly
 * on a temporary repository outside git: a version's exact bytes land in
 * the work tree, a file with changes in no version is refused and left as
 * it was, and a version whose object is nowhere is an error naming it. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/ops/checkout.h"
#include "p4reg/registry.h"
#include "p4reg/repo.h"
#include "p4reg/store.h"
#include "p4reg/worktree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct fx {
	char *dir;
	p4r_repo *repo;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char *models;

	assert_non_null(fx);
	fx->dir = tu_mkdtemp();
	/* the user's own config (core.remote, core.offline) must not leak in */
	setenv("XDG_CONFIG_HOME", fx->dir, 1);
	assert_int_equal(p4r_repo_init(fx->dir, NULL), 0);
	assert_int_equal(p4r_repo_open(&fx->repo, fx->dir), 0);
	assert_int_equal(asprintf(&models, "%s/models", fx->dir) > 0, 1);
	assert_int_equal(mkdir(models, 0755), 0);
	free(models);
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

/* Registers BYTES as the next version of model "m" at models/m.bin (stored
 * when STORE) and leaves the file and its pointer at that version. */
static void add_version(struct fx *fx, const char *bytes, bool store, int64_t want)
{
	p4r_version_input in = { 0 };
	p4r_version v;
	bool unchanged;
	char *path = tu_write(fx->dir, "models/m.bin", bytes, strlen(bytes));

	if (store)
		assert_int_equal(p4r_store_insert_buffer(p4r_repo_store(fx->repo), bytes, strlen(bytes),
							 &in.oid), 0);
	else
		assert_int_equal(p4r_hash_buffer(&in.oid, bytes, strlen(bytes)), 0);
	in.model = "m";
	in.path = "models/m.bin";
	in.size = (int64_t)strlen(bytes);
	in.author = "tester";
	in.git_dirty = -1;
	assert_int_equal(p4r_registry_add_version(p4r_repo_registry(fx->repo), &in, &v, &unchanged), 0);
	assert_int_equal(v.number, want);
	assert_int_equal(p4r_worktree_write_pointer(fx->repo, &v, "models/m.bin", NULL), 0);
	p4r_version_clear(&v);
	free(path);
}

static char *work_file(struct fx *fx)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/models/m.bin", fx->dir);
	return tu_slurp(path, NULL);
}

static int checkout(struct fx *fx, const char *arg, bool force, p4r_checkout_result *res)
{
	char *args[] = { (char *)arg };
	p4r_checkout_opts opts = { .args = args, .nargs = arg ? 1 : 0, .force = force };

	memset(res, 0, sizeof(*res));
	return p4r_checkout(fx->repo, &opts, NULL, res);
}

static void test_checkout_version_bytes(void **state)
{
	struct fx *fx = *state;
	p4r_checkout_result res;
	p4r_pointer ptr;
	char *bytes;

	add_version(fx, "first bytes\n", true, 1);
	add_version(fx, "second, longer bytes\n", true, 2);
	assert_int_equal(checkout(fx, "m@1", false, &res), 0);
	assert_int_equal(res.n, 1);
	assert_string_equal(res.rows[0].path, "models/m.bin");
	assert_string_equal(res.rows[0].model, "m");
	assert_int_equal(res.rows[0].version, 1);
	assert_int_equal(res.rows[0].action, P4R_CHECKOUT_WRITTEN);
	assert_false(res.rows[0].lfs);
	assert_null(res.rows[0].moved_to);
	assert_int_equal(res.objects_received, 0);
	p4r_checkout_result_free(&res);
	bytes = work_file(fx);
	assert_string_equal(bytes, "first bytes\n");
	free(bytes);
	assert_int_equal(p4r_worktree_read_pointer(fx->repo, "models/m.bin", &ptr), 0);
	assert_int_equal(ptr.version, 1);

	/* every pointer, with no argument: the file already holds them */
	assert_int_equal(checkout(fx, NULL, false, &res), 0);
	assert_int_equal(res.n, 1);
	assert_int_equal(res.rows[0].action, P4R_CHECKOUT_UNCHANGED);
	p4r_checkout_result_free(&res);
}

static void test_checkout_refuses_local_changes(void **state)
{
	struct fx *fx = *state;
	p4r_checkout_result res;
	char *bytes;

	add_version(fx, "first bytes\n", true, 1);
	add_version(fx, "second bytes\n", true, 2);
	free(tu_write(fx->dir, "models/m.bin", "my own edit\n", 12));
	assert_int_equal(checkout(fx, "m@1", false, &res), P4R_ERROR);
	assert_string_equal(p4r_error_message(), "'models/m.bin' has changes that are in no version; "
			    "'p4reg add' it first, or use --force to overwrite");
	assert_int_equal(res.n, 0);
	p4r_checkout_result_free(&res);
	bytes = work_file(fx);
	assert_string_equal(bytes, "my own edit\n");
	free(bytes);

	assert_int_equal(checkout(fx, "m@1", true, &res), 0);
	assert_int_equal(res.rows[0].action, P4R_CHECKOUT_WRITTEN);
	p4r_checkout_result_free(&res);
	bytes = work_file(fx);
	assert_string_equal(bytes, "first bytes\n");
	free(bytes);
}

static void test_checkout_missing_object_no_remote(void **state)
{
	struct fx *fx = *state;
	p4r_checkout_result res;
	char *bytes;

	add_version(fx, "stored\n", true, 1);
	add_version(fx, "never stored\n", false, 2);
	/* the file holds v2's bytes, which no store has: --force */
	assert_int_equal(checkout(fx, "m@1", true, &res), 0);
	p4r_checkout_result_free(&res);
	assert_int_equal(checkout(fx, "m@2", false, &res), P4R_ENOTFOUND);
	assert_non_null(strstr(p4r_error_message(), "of 'm@2' is not in the local store and cannot "
			       "be downloaded: no remote is configured"));
	assert_int_equal(res.n, 0);
	p4r_checkout_result_free(&res);
	bytes = work_file(fx);
	assert_string_equal(bytes, "stored\n");
	free(bytes);
}

static void test_checkout_unknown_argument(void **state)
{
	struct fx *fx = *state;
	p4r_checkout_result res;

	assert_int_equal(checkout(fx, "no/such/file.bin", false, &res), P4R_ENOTFOUND);
	assert_string_equal(p4r_error_message(), "'no/such/file.bin' has no pointer and names no model");
	assert_int_equal(res.n, 0);
	p4r_checkout_result_free(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_checkout_version_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkout_refuses_local_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkout_missing_object_no_remote, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkout_unknown_argument, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
