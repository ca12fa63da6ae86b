/* Unit tests for the checkout operation (ops/checkout.c), called directly
 * on a temporary repository outside git: a version's exact bytes land in
 * the work tree, a file with changes in no version is refused and left as
 * it was, and a version whose object is nowhere is an error naming it. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/manifest.h"
#include "p4reg/ops/checkout.h"
#include "p4reg/pointer.h"
#include "p4reg/registry.h"
#include "p4reg/repo.h"
#include "p4reg/store.h"
#include "p4reg/worktree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int setup(void **state)
{
	tu_fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	/* the user's own config (core.remote, core.offline) must not leak in */
	fx->repo = tu_repo_isolated(&fx->dir, "models");
	*state = fx;
	return 0;
}

/* Registers BYTES as the next version of model "m" at models/m.bin (stored
 * when STORE) and leaves the file and its pointer at that version. */
static void add_version(tu_fx *fx, const char *bytes, bool store, int64_t want)
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

static char *work_file(tu_fx *fx)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/models/m.bin", fx->dir);
	return tu_slurp(path, NULL);
}

static int checkout(tu_fx *fx, const char *arg, bool force, p4r_checkout_result *res)
{
	char *args[] = { (char *)arg };
	p4r_checkout_opts opts = { .args = args, .nargs = arg ? 1 : 0, .force = force };

	memset(res, 0, sizeof(*res));
	return p4r_checkout(fx->repo, &opts, NULL, res);
}

static void test_checkout_version_bytes(void **state)
{
	tu_fx *fx = *state;
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
	tu_fx *fx = *state;
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
	tu_fx *fx = *state;
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
	tu_fx *fx = *state;
	p4r_checkout_result res;

	assert_int_equal(checkout(fx, "no/such/file.bin", false, &res), P4R_ENOTFOUND);
	assert_string_equal(p4r_error_message(), "'no/such/file.bin' has no pointer and names no model");
	assert_int_equal(res.n, 0);
	p4r_checkout_result_free(&res);
}

/* ---- folder versions ---- */

struct dfile {
	const char *path, *bytes;
	bool exec;
};

static const struct dfile D1[] = {
	{ "a.json", "{\"a\":1}", false },
	{ "b.bin", "same in both", false },
	{ "sub/c.sh", "#!/bin/sh\n", true },
};
static const struct dfile D2[] = {
	{ "a.json", "{\"a\":2}", false },
	{ "b.bin", "same in both", false },
	{ "new.txt", "only in v2", false },
};

#define NF(a) (sizeof(a) / sizeof((a)[0]))

/* Registers FILES as version WANT of the folder model "d" at models/d, as
 * add does: objects, the manifest object, the version and its rows. */
static void add_dir_version(tu_fx *fx, const struct dfile *files, size_t n, int64_t want)
{
	p4r_version_input in = { .model = "d", .path = "models/d", .author = "tester", .git_dirty = -1,
				 .kind = P4R_KIND_DIR, .files = (int64_t)n };
	p4r_manifest m = { 0 };
	p4r_version v;
	bool unchanged;
	p4r_oid oid;
	size_t i;

	for (i = 0; i < n; i++) {
		assert_int_equal(p4r_store_insert_buffer(p4r_repo_store(fx->repo), files[i].bytes,
							 strlen(files[i].bytes), &oid), 0);
		assert_int_equal(p4r_manifest_add(&m, files[i].path, &oid, (int64_t)strlen(files[i].bytes),
						  files[i].exec), 0);
	}
	assert_int_equal(p4r_manifest_store(fx->repo, &m, &in.oid, &in.size), 0);
	in.tree_size = p4r_manifest_total(&m);
	assert_int_equal(p4r_registry_manifest_put(p4r_repo_registry(fx->repo), &in.oid, &m), 0);
	assert_int_equal(p4r_registry_add_version(p4r_repo_registry(fx->repo), &in, &v, &unchanged), 0);
	assert_int_equal(v.number, want);
	p4r_version_clear(&v);
	p4r_manifest_clear(&m);
}

/* models/d holds exactly FILES (bytes and modes) and nothing else. */
static void assert_dir(tu_fx *fx, const struct dfile *files, size_t n)
{
	char cmd[8192], *p, *got, *list;
	struct stat st;
	size_t i, len;
	FILE *f;

	for (i = 0; i < n; i++) {
		assert_int_equal(asprintf(&p, "%s/models/d/%s", fx->dir, files[i].path) > 0, 1);
		got = tu_slurp(p, &len);
		assert_int_equal(len, strlen(files[i].bytes));
		assert_memory_equal(got, files[i].bytes, len);
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 0777, files[i].exec ? 0755 : 0644);
		free(got);
		free(p);
	}
	snprintf(cmd, sizeof(cmd), "cd '%s/models/d' && find . -type f | wc -l", fx->dir);
	assert_non_null(f = popen(cmd, "r"));
	assert_non_null(list = calloc(1, 64));
	assert_non_null(fgets(list, 64, f));
	pclose(f);
	assert_int_equal(atoi(list), (int)n);
	free(list);
}

static void assert_dir_row(const p4r_checkout_row *r, p4r_checkout_action action, int64_t version,
			   size_t written, size_t unchanged, size_t removed)
{
	assert_string_equal(r->path, "models/d");
	assert_string_equal(r->model, "d");
	assert_true(r->dir);
	assert_int_equal(r->version, version);
	assert_int_equal(r->files, 3);
	assert_int_equal(r->action, action);
	assert_int_equal(r->written, written);
	assert_int_equal(r->unchanged, unchanged);
	assert_int_equal(r->removed, removed);
}

/* A folder version by reference, by folder path (with or without '/'),
 * by pointer, and with no argument. */
static void test_checkout_dir_versions(void **state)
{
	tu_fx *fx = *state;
	const char *const args[] = { "models/d", "models/d/", "models/d.p4reg", NULL };
	p4r_checkout_result res;
	p4r_pointer ptr;
	char cwd[4096], *gi, *path;
	size_t i;

	add_dir_version(fx, D1, NF(D1), 1);
	add_dir_version(fx, D2, NF(D2), 2);
	assert_int_equal(checkout(fx, "d@2", false, &res), 0);
	assert_int_equal(res.n, 1);
	assert_dir_row(&res.rows[0], P4R_CHECKOUT_WRITTEN, 2, 3, 0, 0);
	p4r_checkout_result_free(&res);
	assert_dir(fx, D2, NF(D2));
	assert_int_equal(p4r_worktree_read_pointer(fx->repo, "models/d", &ptr), 0);
	assert_true(ptr.dir);
	assert_int_equal(ptr.version, 2);
	assert_int_equal(ptr.files, 3);
	assert_int_equal(asprintf(&path, "%s/models/.gitignore", fx->dir) > 0, 1);
	gi = tu_slurp(path, NULL);
	assert_string_equal(gi, "/d/\n");
	free(gi);
	free(path);
	/* back to v1: a.json and sub/c.sh written, b.bin kept, new.txt removed */
	assert_int_equal(checkout(fx, "d@1", false, &res), 0);
	assert_dir_row(&res.rows[0], P4R_CHECKOUT_WRITTEN, 1, 2, 1, 1);
	p4r_checkout_result_free(&res);
	assert_dir(fx, D1, NF(D1));
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(fx->dir), 0);
	for (i = 0; i < NF(args); i++) {
		assert_int_equal(checkout(fx, args[i], false, &res), 0);
		assert_int_equal(res.n, 1);
		assert_dir_row(&res.rows[0], P4R_CHECKOUT_UNCHANGED, 1, 0, 3, 0);
		p4r_checkout_result_free(&res);
	}
	assert_int_equal(chdir(cwd), 0);
}

/* A file in no version refuses the folder, listed, nothing changed;
 * force removes it. */
static void test_checkout_dir_foreign(void **state)
{
	tu_fx *fx = *state;
	p4r_checkout_result res;
	p4r_pointer ptr;

	add_dir_version(fx, D1, NF(D1), 1);
	add_dir_version(fx, D2, NF(D2), 2);
	assert_int_equal(checkout(fx, "d@1", false, &res), 0);
	p4r_checkout_result_free(&res);
	free(tu_write(fx->dir, "models/d/notes.txt", "mine", 4));
	assert_int_equal(checkout(fx, "d@2", false, &res), P4R_ERROR);
	assert_string_equal(p4r_error_message(), "'models/d/notes.txt' is in no version of 'd'; use --force "
			    "to overwrite or remove it");
	assert_int_equal(res.n, 0);
	assert_int_equal(res.nforeign, 1);
	assert_string_equal(res.foreign[0], "models/d/notes.txt");
	p4r_checkout_result_free(&res);
	assert_int_equal(p4r_worktree_read_pointer(fx->repo, "models/d", &ptr), 0);
	assert_int_equal(ptr.version, 1);
	assert_int_equal(checkout(fx, "d@2", true, &res), 0);
	assert_dir_row(&res.rows[0], P4R_CHECKOUT_WRITTEN, 2, 2, 1, 2);
	p4r_checkout_result_free(&res);
	assert_dir(fx, D2, NF(D2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_checkout_version_bytes, setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_checkout_refuses_local_changes, setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_checkout_missing_object_no_remote, setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_checkout_unknown_argument, setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_checkout_dir_versions, setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_checkout_dir_foreign, setup, tu_fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
