/* Unit tests for worktree_dir.c: a folder made exactly one directory
 * version -- onto an empty folder, from one version to the next, files in
 * no version refused (and forced), links never followed, a crash half way
 * finished by a rerun, and an object changed in the store never written. */
#include "testutil.h"
#include "p4reg/dirwalk.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/manifest.h"
#include "p4reg/repo.h"
#include "p4reg/store.h"
#include "p4reg/worktree_dir.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REL "models/m"

static const p4r_link_type COPY[] = { P4R_LINK_COPY };

struct fx {
	char *top;      /* the test's folder: TOP/r is the repository */
	char *root;     /* TOP/r */
	char *outside;  /* TOP/outside: what a planted link points at */
	p4r_repo *repo;
};

/* One file of a test version. */
struct file {
	const char *path, *bytes;
	bool exec;
};

static const struct file V1[] = {
	{ "config.json", "{\"v\":1}", false },
	{ "run.sh", "#!/bin/sh\necho hi\n", true },
	{ "sub/w.bin", "weights one", false },
};

/* config.json changed, run.sh kept, sub/w.bin removed, tok.json added,
 * deep/a/b.bin nested new. */
static const struct file V2[] = {
	{ "config.json", "{\"v\":2}", false },
	{ "deep/a/b.bin", "nested bytes", false },
	{ "run.sh", "#!/bin/sh\necho hi\n", true },
	{ "tok.json", "{\"tok\":true}", false },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	fx->top = tu_mkdtemp();
	fx->repo = tu_repo_new(fx->top, "r");
	fx->root = p4r_path_join(fx->top, "r");
	fx->outside = p4r_path_join(fx->top, "outside");
	assert_int_equal(mkdir(fx->outside, 0755), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	p4r_repo_free(fx->repo);
	free(fx->root);
	free(fx->outside);
	tu_rmtree_free(fx->top);
	free(fx);
	return 0;
}

/* The manifest of FILES; each object stored unless it is MISSING. */
static void manifest(struct fx *fx, p4r_manifest *m, const struct file *files, size_t n,
		     const char *missing)
{
	char *buf;
	size_t len, i;
	p4r_oid oid;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < n; i++) {
		const char *b = files[i].bytes;

		if (missing && !strcmp(files[i].path, missing))
			assert_int_equal(p4r_hash_buffer(&oid, b, strlen(b)), 0);
		else
			assert_int_equal(p4r_store_insert_buffer(p4r_repo_store(fx->repo), b, strlen(b), &oid), 0);
		assert_int_equal(p4r_manifest_add(m, files[i].path, &oid, (int64_t)strlen(b), files[i].exec), 0);
	}
	assert_int_equal(p4r_manifest_encode(m, &buf, &len), 0); /* sorts it */
	free(buf);
}

static char *wt(struct fx *fx, const char *path)
{
	char rel[PATH_MAX];

	snprintf(rel, sizeof(rel), REL "/%s", path);
	return p4r_path_join(fx->root, rel);
}

static void put(struct fx *fx, const char *path, const char *bytes)
{
	char rel[PATH_MAX];

	snprintf(rel, sizeof(rel), REL "/%s", path);
	free(tu_write(fx->root, rel, bytes, strlen(bytes)));
}

static bool exists(struct fx *fx, const char *path)
{
	char *p = wt(fx, path);
	struct stat st;
	bool yes = lstat(p, &st) == 0;

	free(p);
	return yes;
}

/* The folder holds exactly FILES: same paths, bytes and modes. */
static void assert_tree(struct fx *fx, const struct file *files, size_t n)
{
	char *dir = p4r_path_join(fx->root, REL), *p, *got;
	p4r_dirwalk_opts opts = { .display = REL, .allow_empty = true };
	p4r_dirwalk w = { 0 };
	size_t i, len;
	struct stat st;
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	assert_true(fd >= 0);
	assert_int_equal(p4r_dirwalk_list(&w, fd, &opts), 0);
	close(fd);
	assert_int_equal(w.n, n);
	for (i = 0; i < n; i++) {
		assert_string_equal(w.v[i].path, files[i].path);
		p = wt(fx, files[i].path);
		got = tu_slurp(p, &len);
		assert_int_equal(len, strlen(files[i].bytes));
		assert_memory_equal(got, files[i].bytes, len);
		assert_int_equal(lstat(p, &st), 0);
		assert_int_equal(st.st_mode & 07777, files[i].exec ? 0755 : 0644);
		free(got);
		free(p);
	}
	p4r_dirwalk_clear(&w);
	free(dir);
}

static int run(struct fx *fx, const p4r_manifest *old_m, const p4r_manifest *new_m, bool force,
	       p4r_dir_result *out)
{
	return p4r_worktree_materialize_dir(fx->repo, REL, old_m, new_m, COPY, 1, force, out, NULL, NULL);
}

/* The manifests V1 and V2, and V1 on disk. */
static void at_v1(struct fx *fx, p4r_manifest *v1, p4r_manifest *v2)
{
	p4r_dir_result r;

	manifest(fx, v1, V1, N(V1), NULL);
	manifest(fx, v2, V2, N(V2), NULL);
	assert_int_equal(run(fx, NULL, v1, false, &r), 0);
	p4r_dir_result_clear(&r);
}

static void on_progress(uint64_t done, uint64_t total, void *payload)
{
	uint64_t *last = payload;

	assert_true(done <= total);
	last[0] = done;
	last[1] = total;
}

static void test_onto_empty(void **state)
{
	struct fx *fx = *state;
	p4r_manifest v1;
	p4r_dir_result r;

	uint64_t last[2] = { 0, 0 };

	manifest(fx, &v1, V1, N(V1), NULL);
	assert_int_equal(p4r_worktree_materialize_dir(fx->repo, REL, NULL, &v1, COPY, 1, false, &r, on_progress,
						      last), 0);
	assert_int_equal(last[0], (uint64_t)p4r_manifest_total(&v1)); /* the run's bytes, not a file's */
	assert_int_equal(last[1], last[0]);
	assert_tree(fx, V1, N(V1));
	assert_int_equal(r.written, 3);
	assert_int_equal(r.unchanged, 0);
	assert_int_equal(r.removed, 0);
	assert_int_equal(r.bytes_written, (uint64_t)p4r_manifest_total(&v1));
	assert_int_equal(r.nforeign, 0);
	p4r_dir_result_clear(&r);
	/* again: nothing to do */
	assert_int_equal(run(fx, &v1, &v1, false, &r), 0);
	assert_int_equal(r.written, 0);
	assert_int_equal(r.unchanged, 3);
	p4r_dir_result_clear(&r);
	p4r_manifest_clear(&v1);
}

static void test_v1_to_v2(void **state)
{
	struct fx *fx = *state;
	p4r_manifest v1, v2;
	p4r_dir_result r;

	at_v1(fx, &v1, &v2);
	assert_int_equal(run(fx, &v1, &v2, false, &r), 0);
	assert_tree(fx, V2, N(V2));
	assert_false(exists(fx, "sub/w.bin"));
	assert_false(exists(fx, "sub")); /* left empty: removed */
	assert_int_equal(r.written, 3);
	assert_int_equal(r.unchanged, 1);
	assert_int_equal(r.removed, 1);
	assert_int_equal(r.bytes_written, strlen(V2[0].bytes) + strlen(V2[1].bytes) + strlen(V2[3].bytes));
	p4r_dir_result_clear(&r);
	p4r_manifest_clear(&v1);
	p4r_manifest_clear(&v2);
}

/* v1 on disk, then config.json edited (bytes NEW would overwrite), a new
 * notes.txt and sub/x.txt: three files in no version. */
static void plant_foreign(struct fx *fx, p4r_manifest *v1, p4r_manifest *v2)
{
	at_v1(fx, v1, v2);
	put(fx, "config.json", "edited by hand");
	put(fx, "notes.txt", "my notes");
	put(fx, "sub/x.txt", "scratch");
}

static void test_foreign_refused(void **state)
{
	static const struct file after[] = {
		{ "config.json", "edited by hand", false },
		{ "notes.txt", "my notes", false },
		{ "run.sh", "#!/bin/sh\necho hi\n", true },
		{ "sub/w.bin", "weights one", false },
		{ "sub/x.txt", "scratch", false },
	};
	struct fx *fx = *state;
	p4r_manifest v1, v2;
	p4r_dir_result r;

	plant_foreign(fx, &v1, &v2);
	assert_int_equal(run(fx, &v1, &v2, false, &r), P4R_ERROR);
	assert_string_equal(p4r_error_message(),
			    "'models/m/config.json' and 2 more files are in no version of 'm'; use --force to "
			    "overwrite or remove them");
	assert_int_equal(r.nforeign, 3);
	assert_string_equal(r.foreign[0], "models/m/config.json");
	assert_string_equal(r.foreign[1], "models/m/notes.txt");
	assert_string_equal(r.foreign[2], "models/m/sub/x.txt");
	assert_int_equal(r.written + r.removed, 0);
	assert_tree(fx, after, N(after)); /* nothing changed */
	assert_false(exists(fx, "tok.json"));
	p4r_dir_result_clear(&r);
	p4r_manifest_clear(&v1);
	p4r_manifest_clear(&v2);
}

static void test_one_foreign(void **state)
{
	struct fx *fx = *state;
	p4r_manifest v1, v2;
	p4r_dir_result r;

	at_v1(fx, &v1, &v2);
	put(fx, "notes.txt", "my notes");
	assert_int_equal(run(fx, &v1, &v2, false, &r), P4R_ERROR);
	assert_string_equal(p4r_error_message(), "'models/m/notes.txt' is in no version of 'm'; use --force "
			    "to overwrite or remove it");
	assert_int_equal(r.nforeign, 1);
	p4r_dir_result_clear(&r);
	/* without OLD, v1's config.json and sub/w.bin are in no version either */
	assert_int_equal(run(fx, NULL, &v2, false, &r), P4R_ERROR);
	assert_int_equal(r.nforeign, 3);
	assert_string_equal(r.foreign[0], "models/m/config.json");
	assert_string_equal(r.foreign[2], "models/m/sub/w.bin");
	assert_true(exists(fx, "sub/w.bin"));
	p4r_dir_result_clear(&r);
	p4r_manifest_clear(&v1);
	p4r_manifest_clear(&v2);
}

static void test_force(void **state)
{
	struct fx *fx = *state;
	p4r_manifest v1, v2;
	p4r_dir_result r;

	plant_foreign(fx, &v1, &v2);
	assert_int_equal(run(fx, &v1, &v2, true, &r), 0);
	assert_tree(fx, V2, N(V2));
	assert_false(exists(fx, "notes.txt"));
	assert_false(exists(fx, "sub"));
	assert_int_equal(r.nforeign, 3); /* what --force overwrote or removed */
	assert_int_equal(r.written, 3);
	assert_int_equal(r.removed, 3); /* notes.txt, sub/w.bin, sub/x.txt */
	p4r_dir_result_clear(&r);
	p4r_manifest_clear(&v1);
	p4r_manifest_clear(&v2);
}

/* The target outside the repository a link points at, and its bytes. */
static char *plant_target(struct fx *fx)
{
	return tu_write(fx->outside, "w.bin", "weights one", 11);
}

static void assert_target(const char *target)
{
	size_t len;
	char *got = tu_slurp(target, &len);

	assert_int_equal(len, 11);
	assert_memory_equal(got, "weights one", 11);
	free(got);
}

/* A link planted as a subfolder is refused, even with --force: its target
 * untouched, nothing written. */
static void test_link_as_folder(void **state)
{
	struct fx *fx = *state;
	p4r_manifest v1, v2;
	p4r_dir_result r;
	char *target = plant_target(fx), *p, *got;
	size_t len;

	at_v1(fx, &v1, &v2);
	assert_int_equal(unlink(p = wt(fx, "sub/w.bin")), 0);
	free(p);
	assert_int_equal(rmdir(p = wt(fx, "sub")), 0);
	assert_int_equal(symlink(fx->outside, p), 0);
	free(p);
	assert_int_equal(run(fx, &v1, &v2, true, &r), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "symbolic link"));
	p4r_dir_result_clear(&r);
	assert_target(target);
	assert_false(exists(fx, "tok.json"));
	got = tu_slurp(p = wt(fx, "config.json"), &len);
	assert_memory_equal(got, V1[0].bytes, len);
	free(got);
	free(p);
	free(target);
	p4r_manifest_clear(&v1);
	p4r_manifest_clear(&v2);
}

/* A link planted at NEW's own path, and the model folder itself a link. */
static void test_link_as_file(void **state)
{
	struct fx *fx = *state;
	p4r_manifest v1, v2;
	p4r_dir_result r;
	char *target = plant_target(fx), *p;

	at_v1(fx, &v1, &v2);
	assert_int_equal(symlink(target, p = wt(fx, "tok.json")), 0);
	free(p);
	assert_int_equal(run(fx, &v1, &v2, true, &r), P4R_EUSAGE);
	p4r_dir_result_clear(&r);
	assert_target(target);
	assert_false(exists(fx, "deep"));

	p = p4r_path_join(fx->root, "models/n");
	assert_int_equal(symlink(fx->outside, p), 0);
	free(p);
	assert_int_equal(p4r_worktree_materialize_dir(fx->repo, "models/n", NULL, &v1, COPY, 1, true, &r, NULL,
						      NULL), P4R_EUSAGE);
	p4r_dir_result_clear(&r);
	p = p4r_path_join(fx->outside, "config.json");
	assert_int_equal(access(p, F_OK), -1);
	free(p);
	free(target);
	p4r_manifest_clear(&v1);
	p4r_manifest_clear(&v2);
}

/* A run stopped half way (here: the last object is missing) leaves every
 * file old or new; the rerun finishes, removing a checkout's leftover
 * temporary file too. */
static void test_crash_rerun(void **state)
{
	struct fx *fx = *state;
	p4r_manifest v1, v2;
	p4r_dir_result r;
	const char *tok = V2[3].bytes;
	p4r_oid oid;

	manifest(fx, &v1, V1, N(V1), NULL);
	assert_int_equal(run(fx, NULL, &v1, false, &r), 0);
	p4r_dir_result_clear(&r);
	manifest(fx, &v2, V2, N(V2), "tok.json");
	assert_int_equal(run(fx, &v1, &v2, false, &r), P4R_ENOTFOUND);
	assert_int_equal(r.written, 2); /* config.json, deep/a/b.bin; then tok.json */
	assert_false(exists(fx, "tok.json"));
	p4r_dir_result_clear(&r);
	put(fx, ".tok.json.p4reg-tmp.Ab12Cd", "half");

	assert_int_equal(p4r_store_insert_buffer(p4r_repo_store(fx->repo), tok, strlen(tok), &oid), 0);
	assert_int_equal(run(fx, &v1, &v2, false, &r), 0);
	assert_tree(fx, V2, N(V2));
	assert_int_equal(r.written, 1);
	assert_int_equal(r.unchanged, 3);
	assert_int_equal(r.nforeign, 0);
	p4r_dir_result_clear(&r);
	p4r_manifest_clear(&v1);
	p4r_manifest_clear(&v2);
}

/* An object whose bytes changed in the store: the guard says so, nothing
 * of it reaches the work tree. */
static void test_damaged_object(void **state)
{
	struct fx *fx = *state;
	p4r_manifest v1;
	p4r_dir_result r;
	const p4r_manifest_entry *e;
	char obj[PATH_MAX], *sub;
	int fd;

	manifest(fx, &v1, V1, N(V1), NULL);
	e = p4r_manifest_find(&v1, "sub/w.bin");
	assert_int_equal(p4r_store_object_path(p4r_repo_store(fx->repo), &e->oid, obj, sizeof(obj)), 0);
	assert_int_equal(chmod(obj, 0644), 0);
	assert_true((fd = open(obj, O_WRONLY | O_TRUNC)) >= 0);
	assert_int_equal(write(fd, "weights ONE", 11), 11);
	close(fd);
	assert_int_equal(run(fx, NULL, &v1, false, &r), P4R_EINTEGRITY);
	assert_false(exists(fx, "sub/w.bin"));
	sub = wt(fx, "sub");
	assert_true(access(sub, F_OK) < 0 || rmdir(sub) == 0); /* nothing beside it either */
	free(sub);
	p4r_dir_result_clear(&r);
	p4r_manifest_clear(&v1);
}

/* A hard link is the object (0444); an executable entry is never one. */
static void test_hardlink_modes(void **state)
{
	static const p4r_link_type order[] = { P4R_LINK_HARDLINK, P4R_LINK_COPY };
	struct fx *fx = *state;
	p4r_manifest v1;
	p4r_dir_result r;
	struct stat st, ost;
	char obj[PATH_MAX], *p;

	manifest(fx, &v1, V1, N(V1), NULL);
	assert_int_equal(p4r_worktree_materialize_dir(fx->repo, REL, NULL, &v1, order, 2, false, &r, NULL, NULL),
			 0);
	p4r_dir_result_clear(&r);
	assert_int_equal(lstat(p = wt(fx, "config.json"), &st), 0);
	free(p);
	assert_int_equal(p4r_store_object_path(p4r_repo_store(fx->repo), &v1.v[0].oid, obj, sizeof(obj)), 0);
	assert_int_equal(lstat(obj, &ost), 0);
	assert_int_equal(st.st_ino, ost.st_ino);
	assert_int_equal(st.st_mode & 07777, 0444);
	assert_int_equal(lstat(p = wt(fx, "run.sh"), &st), 0);
	free(p);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(st.st_nlink, 1);
	/* known and unchanged on the next run: nothing relinked */
	assert_int_equal(p4r_worktree_materialize_dir(fx->repo, REL, &v1, &v1, order, 2, false, &r, NULL, NULL),
			 0);
	assert_int_equal(r.unchanged, 3);
	p4r_dir_result_clear(&r);
	p4r_manifest_clear(&v1);
}

/* v1 and v2 with a .p4regignore each: on disk v1's excludes "*.tmp", v2's
 * (about to be written) "*.bak" and the folder "cache/"; v2 names w.tmp,
 * which v1's patterns exclude. */
static const struct file VI1[] = {
	{ ".p4regignore", "*.tmp\n", false },
	{ "config.json", "{\"v\":1}", false },
	{ "run.sh", "#!/bin/sh\necho hi\n", true },
	{ "sub/w.bin", "weights one", false },
};
static const struct file VI2[] = {
	{ ".p4regignore", "# v2\n*.bak  \n\ncache/\n", false },
	{ "config.json", "{\"v\":2}", false },
	{ "run.sh", "#!/bin/sh\necho hi\n", true },
	{ "w.tmp", "new tmp", false },
};

static void assert_bytes(struct fx *fx, const char *path, const char *bytes)
{
	char *p = wt(fx, path), *got;
	size_t len;

	got = tu_slurp(p, &len);
	assert_non_null(got);
	assert_int_equal(len, strlen(bytes));
	assert_memory_equal(got, bytes, len);
	free(got);
	free(p);
}

/* Files either .p4regignore excludes are left alone, never foreign; an
 * excluded folder is not entered (a link in it is not refused); a path NEW
 * names is planned all the same (foreign bytes there refuse). */
static void test_ignored_left_alone(void **state)
{
	struct fx *fx = *state;
	p4r_manifest v1, v2;
	p4r_dir_result r;
	char *link;

	manifest(fx, &v1, VI1, N(VI1), NULL);
	manifest(fx, &v2, VI2, N(VI2), NULL);
	assert_int_equal(run(fx, NULL, &v1, false, &r), 0);
	p4r_dir_result_clear(&r);
	put(fx, "x.tmp", "scratch");         /* the .p4regignore on disk */
	put(fx, "sub/y.bak", "backup");      /* NEW's */
	link = wt(fx, "cache");
	assert_int_equal(mkdir(link, 0755), 0);
	free(link);
	put(fx, "cache/blob", "cached");
	link = wt(fx, "cache/link");
	assert_int_equal(symlink(fx->outside, link), 0);
	put(fx, "w.tmp", "mine");            /* excluded, but NEW writes it */
	assert_int_equal(run(fx, &v1, &v2, false, &r), P4R_ERROR);
	assert_int_equal(r.nforeign, 1);
	assert_string_equal(r.foreign[0], "models/m/w.tmp");
	assert_bytes(fx, ".p4regignore", "*.tmp\n"); /* nothing changed */
	p4r_dir_result_clear(&r);
	free(link);
	link = wt(fx, "w.tmp");
	assert_int_equal(unlink(link), 0);
	assert_int_equal(run(fx, &v1, &v2, false, &r), 0);
	assert_int_equal(r.nforeign, 0);
	assert_int_equal(r.written, 3);   /* .p4regignore, config.json, w.tmp */
	assert_int_equal(r.unchanged, 1); /* run.sh */
	assert_int_equal(r.removed, 1);   /* sub/w.bin; sub/ stays for y.bak */
	assert_bytes(fx, "w.tmp", "new tmp");
	assert_bytes(fx, ".p4regignore", VI2[0].bytes);
	assert_bytes(fx, "x.tmp", "scratch");
	assert_bytes(fx, "sub/y.bak", "backup");
	assert_bytes(fx, "cache/blob", "cached");
	assert_true(exists(fx, "cache/link"));
	assert_false(exists(fx, "sub/w.bin"));
	p4r_dir_result_clear(&r);
	free(link);
	p4r_manifest_clear(&v1);
	p4r_manifest_clear(&v2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_onto_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v1_to_v2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_foreign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_force, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_as_folder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_as_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_rerun, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_object, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hardlink_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ignored_left_alone, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
