/* Unit tests for p4r_add (ops/add.c), called directly: a new file becomes
 * a version, an object and a pointer; the same bytes again are "unchanged";
 * a bad path is refused with its code before anything is written; several
 * files are hashed on several threads. The temporary repository is outside
 * any git work tree, and nothing is staged. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/hash.h"
#include "p4reg/manifest.h"
#include "p4reg/ops/add.h"
#include "p4reg/repo.h"
#include "p4reg/worktree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HELLO_OID "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

struct fx {
	char *dir;
	p4r_repo *repo;
	char *paths[16];
	size_t npaths;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	fx->dir = tu_mkdtemp();
	assert_int_equal(p4r_repo_init(fx->dir, NULL), 0);
	assert_int_equal(p4r_repo_open(&fx->repo, fx->dir), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	size_t i;

	for (i = 0; i < fx->npaths; i++)
		free(fx->paths[i]);
	p4r_repo_free(fx->repo);
	tu_rmtree_free(fx->dir);
	free(fx);
	return 0;
}

/* Writes NAME (DATA) in the repository and keeps its absolute path for
 * the options. */
static const char *file(struct fx *fx, const char *name, const char *data)
{
	char *path = tu_write(fx->dir, name, data, strlen(data));

	fx->paths[fx->npaths++] = path;
	return path;
}

/* Adds PATHS (N of them) on THREADS threads, without staging. */
static int add(struct fx *fx, const char **paths, size_t n, unsigned threads, p4r_add_result *res)
{
	p4r_add_opts opts = { .paths = paths, .npaths = n, .no_stage = true, .threads = threads };

	return p4r_add(fx->repo, &opts, NULL, res);
}

static size_t count_versions(struct fx *fx, const char *model)
{
	p4r_version *v = NULL;
	size_t n = 0, i;

	if (p4r_registry_version_list(p4r_repo_registry(fx->repo), model, &v, &n) < 0) {
		p4r_error_clear();
		return 0;
	}
	for (i = 0; i < n; i++)
		p4r_version_clear(&v[i]);
	free(v);
	return n;
}

static char *slurp_in(struct fx *fx, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	return tu_slurp(path, NULL);
}

struct seen {
	const char *label;
	uint64_t last_done, total;
};

static void on_progress(const char *label, uint64_t done, uint64_t total, void *payload)
{
	struct seen *s = payload;

	s->label = label;
	s->last_done = done;
	s->total = total;
}

static void test_add_makes_version_object_and_pointer(void **state)
{
	struct fx *fx = *state;
	const char *paths[] = { file(fx, "m.bin", "hello") };
	struct seen seen = { 0 };
	p4r_op_report report = { .progress = on_progress, .payload = &seen };
	p4r_add_opts opts = { .paths = paths, .npaths = 1, .no_stage = true, .message = "first" };
	p4r_add_result res;
	p4r_oid oid;
	char *ptr, *ignore;

	assert_int_equal(p4r_add(fx->repo, &opts, &report, &res), 0);
	assert_int_equal(res.n, 1);
	assert_string_equal(res.files[0].rel, "m.bin");
	assert_int_equal(res.files[0].outcome, P4R_ADD_NEW);
	assert_string_equal(res.files[0].version.model, "m");
	assert_int_equal(res.files[0].version.number, 1);
	assert_int_equal(res.files[0].version.size, 5);
	assert_string_equal(res.files[0].version.oid.hex, HELLO_OID);
	assert_string_equal(res.files[0].version.message, "first");
	assert_null(res.files[0].moved_from);
	assert_false(res.files[0].lfs);
	assert_int_not_equal(res.norder, 0);
	assert_int_equal(res.damage.n, 0);
	/* one file: its hashing was reported, to the end */
	assert_non_null(seen.label);
	assert_string_equal(seen.label, "add");
	assert_int_equal(seen.last_done, 5);
	p4r_add_result_free(&res);

	assert_int_equal(p4r_oid_parse(&oid, HELLO_OID), 0);
	assert_true(p4r_store_has(p4r_repo_store(fx->repo), &oid));
	ptr = slurp_in(fx, "m.bin.p4reg");
	assert_string_equal(ptr, "p4reg-pointer 1\nmodel m\nversion 1\noid sha256:" HELLO_OID "\nsize 5\n");
	ignore = slurp_in(fx, ".gitignore");
	assert_non_null(strstr(ignore, "m.bin"));
	free(ptr);
	free(ignore);
	assert_int_equal(count_versions(fx, "m"), 1);
}

static void test_same_bytes_again_are_unchanged(void **state)
{
	struct fx *fx = *state;
	const char *paths[] = { file(fx, "m.bin", "hello") };
	p4r_add_result res;

	assert_int_equal(add(fx, paths, 1, 0, &res), 0);
	p4r_add_result_free(&res);
	assert_int_equal(add(fx, paths, 1, 0, &res), 0);
	assert_int_equal(res.files[0].outcome, P4R_ADD_UNCHANGED);
	assert_int_equal(res.files[0].version.number, 1);
	assert_string_equal(res.files[0].version.oid.hex, HELLO_OID);
	p4r_add_result_free(&res);
	assert_int_equal(count_versions(fx, "m"), 1);
}

/* PATHS refused with CODE, after which nothing of GOOD (also in PATHS,
 * before the bad one) was registered or written. */
static void refused(struct fx *fx, const char **paths, size_t n, int code, const char *msg)
{
	p4r_add_result res;
	struct stat st;
	char ptr[4096];

	assert_int_equal(add(fx, paths, n, 0, &res), code);
	assert_non_null(strstr(p4r_error_message(), msg));
	p4r_add_result_free(&res);
	p4r_error_clear();
	assert_int_equal(count_versions(fx, "good"), 0);
	snprintf(ptr, sizeof(ptr), "%s/good.bin.p4reg", fx->dir);
	assert_int_equal(stat(ptr, &st), -1);
}

static void test_bad_path_changes_nothing(void **state)
{
	struct fx *fx = *state;
	char dir[4096], link[4096], outside[4096];
	const char *paths[2] = { file(fx, "good.bin", "good") };
	p4r_oid good;

	snprintf(dir, sizeof(dir), "%s/folder", fx->dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	paths[1] = dir;
	refused(fx, paths, 2, P4R_EUSAGE, "no file to add in");
	snprintf(link, sizeof(link), "%s/link.bin", fx->dir);
	assert_int_equal(symlink(paths[0], link), 0);
	paths[1] = link;
	refused(fx, paths, 2, P4R_EUSAGE, "is a symbolic link");
	paths[1] = file(fx, "x.bin.p4reg", "p4reg-pointer 1\n");
	refused(fx, paths, 2, P4R_EUSAGE, "is a pointer file");
	snprintf(outside, sizeof(outside), "%s/../elsewhere.bin", fx->dir);
	paths[1] = outside;
	refused(fx, paths, 2, P4R_EUSAGE, "");
	/* -n with two files is a usage error of the operation too */
	{
		p4r_add_opts opts = { .paths = paths, .npaths = 2, .name = "x", .no_stage = true };
		p4r_add_result res;

		assert_int_equal(p4r_add(fx->repo, &opts, NULL, &res), P4R_EUSAGE);
		p4r_add_result_free(&res);
	}
	/* refused before the store step: not even the object was written */
	assert_int_equal(p4r_hash_buffer(&good, "good", 4), 0);
	assert_false(p4r_store_has(p4r_repo_store(fx->repo), &good));
}

static void test_parallel_add_of_several_files(void **state)
{
	struct fx *fx = *state;
	const char *paths[8];
	char name[32], data[64];
	p4r_add_result res;
	size_t i;

	for (i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "f%zu.bin", i);
		snprintf(data, sizeof(data), "bytes of file %zu", i);
		paths[i] = file(fx, name, data);
	}
	assert_int_equal(add(fx, paths, 8, 4, &res), 0);
	assert_int_equal(res.n, 8);
	for (i = 0; i < 8; i++) {
		char model[16], *ptr;

		snprintf(model, sizeof(model), "f%zu", i);
		snprintf(name, sizeof(name), "f%zu.bin.p4reg", i);
		/* the rows stay in the order given, whatever thread hashed them */
		assert_string_equal(res.files[i].version.model, model);
		assert_int_equal(res.files[i].version.number, 1);
		assert_true(p4r_store_has(p4r_repo_store(fx->repo), &res.files[i].version.oid));
		ptr = slurp_in(fx, name);
		assert_non_null(strstr(ptr, res.files[i].version.oid.hex));
		free(ptr);
		assert_int_equal(count_versions(fx, model), 1);
	}
	p4r_add_result_free(&res);
}

/* A folder models/mm with config.json, w.bin and sub/run.sh (755). */
static char *make_folder(struct fx *fx)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/models", fx->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/models/mm", fx->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/models/mm/sub", fx->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	file(fx, "models/mm/config.json", "{}");
	file(fx, "models/mm/w.bin", "hello");
	assert_int_equal(chmod(file(fx, "models/mm/sub/run.sh", "#!/bin/sh\n"), 0755), 0);
	snprintf(path, sizeof(path), "%s/models/mm", fx->dir);
	return strdup(path);
}

static void test_folder_is_one_model(void **state)
{
	struct fx *fx = *state;
	char *dir = make_folder(fx), *ptr, *ignore, want[512];
	const char *paths[] = { dir };
	p4r_registry *reg = p4r_repo_registry(fx->repo);
	p4r_manifest m = { 0 };
	p4r_add_result res;
	const p4r_manifest_entry *e;

	assert_int_equal(add(fx, paths, 1, 2, &res), 0);
	assert_string_equal(res.files[0].rel, "models/mm");
	assert_string_equal(res.files[0].version.model, "mm");
	assert_int_equal(res.files[0].outcome, P4R_ADD_NEW);
	assert_int_equal(res.files[0].version.kind, P4R_KIND_DIR);
	assert_int_equal(res.files[0].version.files, 3);
	assert_int_equal(res.files[0].version.tree_size, 2 + 5 + 10);
	/* the manifest rows, each file an object, the manifest an object */
	assert_int_equal(p4r_registry_manifest_get(reg, &res.files[0].version.oid, &m), 0);
	assert_int_equal(m.n, 3);
	assert_non_null(e = p4r_manifest_find(&m, "w.bin"));
	assert_string_equal(e->oid.hex, HELLO_OID);
	assert_false(e->exec);
	assert_non_null(e = p4r_manifest_find(&m, "sub/run.sh"));
	assert_true(e->exec);
	assert_true(p4r_store_has(p4r_repo_store(fx->repo), &e->oid));
	assert_true(p4r_store_has(p4r_repo_store(fx->repo), &res.files[0].version.oid));
	p4r_manifest_clear(&m);
	/* the pointer beside the folder and the folder's .gitignore line */
	snprintf(want, sizeof(want), "p4reg-pointer 1\nmodel mm\nversion 1\noid sha256:%s\nsize %lld\n"
		 "kind dir\nfiles 3\n", res.files[0].version.oid.hex, (long long)res.files[0].version.size);
	ptr = slurp_in(fx, "models/mm.p4reg");
	assert_string_equal(ptr, want);
	ignore = slurp_in(fx, "models/.gitignore");
	assert_string_equal(ignore, "/mm/\n");
	free(ptr);
	free(ignore);
	p4r_add_result_free(&res);
	/* the same files again: unchanged, no new version */
	assert_int_equal(add(fx, paths, 1, 2, &res), 0);
	assert_int_equal(res.files[0].outcome, P4R_ADD_UNCHANGED);
	assert_int_equal(res.files[0].version.number, 1);
	p4r_add_result_free(&res);
	assert_int_equal(count_versions(fx, "mm"), 1);
	free(dir);
}

/* What the count callback heard of a run: its last counts, and whether
 * any went back. */
struct counts {
	p4r_progress last;
	char label[32], unit[32];
	size_t calls;
	bool backwards;
};

static void on_count(const p4r_progress *p, void *payload)
{
	struct counts *c = payload;

	c->backwards = c->backwards || (c->calls && (p->items < c->last.items || p->bytes < c->last.bytes));
	c->last = *p;
	snprintf(c->label, sizeof(c->label), "%s", p->label);
	snprintf(c->unit, sizeof(c->unit), "%s", p->unit ? p->unit : "");
	c->calls++;
}

/* A folder's add counts its files and their bytes on one line, never
 * going back though its files are read in parallel. */
static void test_folder_reports_files_and_bytes(void **state)
{
	struct fx *fx = *state;
	char *dir = make_folder(fx);
	const char *paths[] = { dir };
	struct counts c = { 0 };
	p4r_op_report report = { .count = on_count, .payload = &c };
	p4r_add_opts opts = { .paths = paths, .npaths = 1, .no_stage = true, .threads = 2 };
	p4r_add_result res;

	assert_int_equal(p4r_add(fx->repo, &opts, &report, &res), 0);
	p4r_add_result_free(&res);
	assert_string_equal(c.label, "add");
	assert_string_equal(c.unit, "files");
	assert_true(c.last.has_bytes);
	assert_int_equal(c.last.items, 3);
	assert_int_equal(c.last.items_total, 3);
	assert_int_equal(c.last.bytes, 2 + 5 + 10);
	assert_int_equal(c.last.bytes_total, 2 + 5 + 10);
	assert_false(c.backwards);
	free(dir);
}

static void test_folder_with_link_changes_nothing(void **state)
{
	struct fx *fx = *state;
	char *dir = make_folder(fx), link[4096], path[4096];
	const char *paths[] = { dir };
	p4r_add_result res;
	struct stat st;

	snprintf(link, sizeof(link), "%s/sub/link", dir);
	assert_int_equal(symlink("../w.bin", link), 0);
	assert_int_equal(add(fx, paths, 1, 0, &res), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "is a symbolic link"));
	p4r_error_clear();
	p4r_add_result_free(&res);
	assert_int_equal(count_versions(fx, "mm"), 0);
	snprintf(path, sizeof(path), "%s.p4reg", dir);
	assert_int_equal(stat(path, &st), -1);
	snprintf(path, sizeof(path), "%s/models/.gitignore", fx->dir);
	assert_int_equal(stat(path, &st), -1);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_makes_version_object_and_pointer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_bytes_again_are_unchanged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_path_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parallel_add_of_several_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_folder_is_one_model, setup, teardown),
		cmocka_unit_test_setup_teardown(test_folder_reports_files_and_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_folder_with_link_changes_nothing, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
