/* Unit tests for worktree.c: finding pointers on file systems that leave
 * d_type unknown, never walking through links, pointers never read through
 * a link; which model a path is (add's binding rules), clearing the path a
 * model left, moving a model (p4reg mv), what checkout keeps beside a file
 * and a pointer a move left behind. readdir is wrapped so
 * DT_UNKNOWN can be forced. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/repo.h"
#include "p4reg/worktree.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool force_unknown;

/* The executable's readdir wins over libc's for the core linked into it. */
struct dirent *readdir(DIR *dir)
{
	static struct dirent *(*real)(DIR *);
	struct dirent *de;

	if (!real)
		real = (struct dirent *(*)(DIR *))dlsym(RTLD_NEXT, "readdir");
	de = real(dir);
	if (de && force_unknown)
		de->d_type = DT_UNKNOWN;
	return de;
}

static const char POINTER[] =
	"p4reg-pointer 1\nmodel m\nversion 1\n"
	"oid sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae\nsize 3\n";

struct fx {
	char *dir;
	char *outside;
	p4r_repo *repo;
};

static char *join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *s = malloc(n);

	snprintf(s, n, "%s/%s", a, b);
	return s;
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char *path;

	fx->dir = tu_mkdtemp();
	fx->outside = tu_mkdtemp();
	assert_int_equal(p4r_repo_init(fx->dir, NULL), 0);
	assert_int_equal(p4r_repo_open(&fx->repo, fx->dir), 0);
	free(tu_write(fx->dir, "top.bin.p4reg", POINTER, sizeof(POINTER) - 1));
	path = join(fx->dir, "a");
	assert_int_equal(mkdir(path, 0755), 0);
	free(path);
	free(tu_write(fx->dir, "a/deep.bin.p4reg", POINTER, sizeof(POINTER) - 1));
	free(tu_write(fx->outside, "far.bin.p4reg", POINTER, sizeof(POINTER) - 1));
	path = join(fx->dir, "out");
	assert_int_equal(symlink(fx->outside, path), 0);
	free(path);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	force_unknown = false;
	p4r_repo_free(fx->repo);
	tu_rmtree_free(fx->dir);
	tu_rmtree_free(fx->outside);
	free(fx);
	return 0;
}

static void check_list(struct fx *fx)
{
	char **rels = NULL;
	size_t n = 0;

	assert_int_equal(p4r_worktree_list_pointers(fx->repo, &rels, &n), 0);
	/* the symlinked folder out/ is never walked into */
	assert_int_equal(n, 2);
	assert_string_equal(rels[0], "a/deep.bin");
	assert_string_equal(rels[1], "top.bin");
	p4r_strv_free(rels, n);
}

static void test_lists_pointers_in_subfolders(void **state)
{
	check_list(*state);
	/* again, in the same process: the scan must not share the root
	 * descriptor's read position (a dup would start at its end) */
	check_list(*state);
}

static void test_lists_pointers_when_d_type_is_unknown(void **state)
{
	force_unknown = true;
	check_list(*state);
}

static void test_pointer_never_read_through_a_link(void **state)
{
	struct fx *fx = *state;
	p4r_pointer ptr;

	assert_int_equal(p4r_worktree_read_pointer(fx->repo, "a/deep.bin", &ptr), 0);
	assert_string_equal(ptr.model, "m");
	assert_int_equal(p4r_worktree_read_pointer(fx->repo, "out/far.bin", &ptr), P4R_EUSAGE);
	assert_int_equal(p4r_worktree_read_pointer(fx->repo, "none.bin", &ptr), P4R_ENOTFOUND);
	assert_int_equal(p4r_worktree_read_pointer(fx->repo, "../x", &ptr), P4R_EUSAGE);
}

#define FOO_OID "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"

/* Registers the bytes "foo" as the next version of MODEL at REL. */
static void reg_foo(struct fx *fx, const char *model, const char *rel)
{
	p4r_version_input in = { .model = model, .path = rel, .size = 3, .author = "t", .git_dirty = -1 };

	assert_int_equal(p4r_oid_parse(&in.oid, FOO_OID), 0);
	assert_int_equal(p4r_registry_add_version(p4r_repo_registry(fx->repo), &in, NULL, NULL), 0);
}

/* Writes REL (the bytes "foo") and its pointer naming MODEL@1. */
static void put_foo(struct fx *fx, const char *model, const char *rel)
{
	p4r_version v = { .number = 1, .size = 3 };
	char *path = join(fx->dir, rel), *slash = strrchr(path, '/');

	*slash = '\0';
	if (mkdir(path, 0755) < 0)
		assert_int_equal(access(path, F_OK), 0);
	free(path);
	free(tu_write(fx->dir, rel, "foo", 3));
	snprintf(v.model, sizeof(v.model), "%s", model);
	assert_int_equal(p4r_oid_parse(&v.oid, FOO_OID), 0);
	assert_int_equal(p4r_worktree_write_pointer(fx->repo, &v, rel, NULL), 0);
}

static bool exists(struct fx *fx, const char *rel)
{
	char *path = join(fx->dir, rel);
	struct stat st;
	bool yes = lstat(path, &st) == 0;

	free(path);
	return yes;
}

static char *slurp_rel(struct fx *fx, const char *rel)
{
	char *path = join(fx->dir, rel), *text = tu_slurp(path, NULL);

	free(path);
	return text;
}

static void expect_error(int rc, int code, const char *msg)
{
	assert_int_equal(rc, code);
	if (!strstr(p4r_error_message(), msg))
		fail_msg("'%s' does not contain '%s'", p4r_error_message(), msg);
}

/* A file's default name drops its extension, a folder's keeps every dot. */
static void test_default_name(void **state)
{
	char name[P4R_MODEL_NAME_MAX + 1];

	(void)state;
	assert_int_equal(p4r_worktree_default_name(name, sizeof(name), "models/all-MiniLM-L6-v2.onnx", false), 0);
	assert_string_equal(name, "all-MiniLM-L6-v2");
	assert_int_equal(p4r_worktree_default_name(name, sizeof(name), "models/Qwen2.5-0.5B", true), 0);
	assert_string_equal(name, "Qwen2.5-0.5B");
	assert_int_equal(p4r_worktree_default_name(name, sizeof(name), "models/Qwen2.5-0.5B", false), 0);
	assert_string_equal(name, "Qwen2.5-0"); /* the last dot: why folders keep theirs */
	assert_int_equal(p4r_worktree_default_name(name, sizeof(name), "m/a b", true), P4R_EUSAGE);
}

static void test_resolve_binding(void **state)
{
	struct fx *fx = *state;
	p4r_binding b;

	reg_foo(fx, "tok", "a/x.bin");
	reg_foo(fx, "y", "b/y.bin");
	/* the model bound to the path, whatever the file is called */
	assert_int_equal(p4r_worktree_resolve_binding(fx->repo, NULL, "a/x.bin", false, &b), 0);
	assert_string_equal(b.model, "tok");
	assert_null(b.moved_from);
	/* a new path: the file's name */
	assert_int_equal(p4r_worktree_resolve_binding(fx->repo, NULL, "new/z.onnx", false, &b), 0);
	assert_string_equal(b.model, "z");
	/* -n of a model bound elsewhere: it moves */
	assert_int_equal(p4r_worktree_resolve_binding(fx->repo, "tok", "c/x.bin", false, &b), 0);
	assert_string_equal(b.model, "tok");
	assert_string_equal(b.moved_from, "a/x.bin");
	p4r_binding_clear(&b);
	assert_null(b.moved_from);
	assert_int_equal(p4r_worktree_resolve_binding(fx->repo, "tok", "a/x.bin", false, &b), 0);
	assert_null(b.moved_from);
	/* refusals */
	expect_error(p4r_worktree_resolve_binding(fx->repo, "other", "b/y.bin", false, &b), P4R_EUSAGE,
		     "'b/y.bin' is bound to model 'y'; add it as -n y, or move model 'y' elsewhere first");
	expect_error(p4r_worktree_resolve_binding(fx->repo, NULL, "c/y.bin", false, &b), P4R_EEXISTS,
		     "model 'y' is bound to 'b/y.bin', not 'c/y.bin'");
	expect_error(p4r_worktree_resolve_binding(fx->repo, "a/b", "c/y.bin", false, &b), P4R_EUSAGE,
		     "invalid model name 'a/b'");
	/* a pointer beside a free path: its model, unless bound elsewhere */
	put_foo(fx, "tok", "c/q.bin");
	expect_error(p4r_worktree_resolve_binding(fx->repo, NULL, "c/q.bin", false, &b), P4R_EEXISTS,
		     "'c/q.bin.p4reg' names model 'tok', which is bound to 'a/x.bin'");
	/* one this registry lacks proves nothing alone (a planted pointer
	 * would make these bytes someone else's model): fetch, or -n */
	put_foo(fx, "ghost", "c/q.bin");
	expect_error(p4r_worktree_resolve_binding(fx->repo, NULL, "c/q.bin", false, &b), P4R_ENOTFOUND,
		     "'c/q.bin.p4reg' names model 'ghost', which this registry does not know; 'p4reg fetch' "
		     "first, or choose the model with -n (-n ghost joins it)");
	/* unless it names the file's own name, which chooses nothing */
	put_foo(fx, "q", "c/q.bin");
	assert_int_equal(p4r_worktree_resolve_binding(fx->repo, NULL, "c/q.bin", false, &b), 0);
	assert_string_equal(b.model, "q");
	/* with -n the pointer does not count */
	assert_int_equal(p4r_worktree_resolve_binding(fx->repo, "q2", "c/q.bin", false, &b), 0);
	assert_string_equal(b.model, "q2");
}

static void test_unbind(void **state)
{
	static const char mine[] = "# mine\r\n/x.bin\r\n/other\r\n";
	struct fx *fx = *state;
	p4r_unbind u;
	char *text;

	put_foo(fx, "tok", "a/x.bin");
	free(tu_write(fx->dir, "a/.gitignore", mine, sizeof(mine) - 1));
	/* the file is still there: the pointer goes, the line stays */
	assert_int_equal(p4r_worktree_unbind(fx->repo, "tok", "a/x.bin", &u), 0);
	assert_non_null(u.pointer_abs);
	assert_non_null(strstr(u.pointer_abs, "/a/x.bin.p4reg"));
	assert_null(u.gitignore_abs);
	assert_false(exists(fx, "a/x.bin.p4reg"));
	p4r_unbind_clear(&u);
	/* the file gone, and no pointer says the path was the model's here
	 * (a path a remote's move named): the line is the user's, it stays */
	text = join(fx->dir, "a/x.bin");
	assert_int_equal(unlink(text), 0);
	free(text);
	assert_int_equal(p4r_worktree_unbind(fx->repo, "tok", "a/x.bin", &u), 0);
	assert_null(u.pointer_abs);
	assert_null(u.gitignore_abs);
	text = slurp_rel(fx, "a/.gitignore");
	assert_string_equal(text, mine);
	free(text);
	/* with the model's pointer there: its line goes, every other byte stays */
	put_foo(fx, "tok", "a/x.bin");
	text = join(fx->dir, "a/x.bin");
	assert_int_equal(unlink(text), 0);
	free(text);
	assert_int_equal(p4r_worktree_unbind(fx->repo, "tok", "a/x.bin", &u), 0);
	assert_non_null(u.pointer_abs);
	assert_non_null(u.gitignore_abs);
	assert_true(u.gitignore_changed);
	assert_false(u.gitignore_deleted);
	p4r_unbind_clear(&u);
	text = slurp_rel(fx, "a/.gitignore");
	assert_string_equal(text, "# mine\r\n/other\r\n");
	free(text);
	/* a pointer naming another model is not ours to remove, nor its line */
	put_foo(fx, "other", "b/x.bin");
	free(tu_write(fx->dir, "b/.gitignore", "/x.bin\n", 7));
	text = join(fx->dir, "b/x.bin");
	assert_int_equal(unlink(text), 0);
	free(text);
	assert_int_equal(p4r_worktree_unbind(fx->repo, "tok", "b/x.bin", &u), 0);
	assert_null(u.pointer_abs);
	assert_null(u.gitignore_abs);
	assert_true(exists(fx, "b/x.bin.p4reg"));
	assert_true(exists(fx, "b/.gitignore"));
	p4r_unbind_clear(&u);
	/* a .gitignore holding only the model's line was p4reg's: it goes */
	put_foo(fx, "tok", "b/x.bin");
	text = join(fx->dir, "b/x.bin");
	assert_int_equal(unlink(text), 0);
	free(text);
	assert_int_equal(p4r_worktree_unbind(fx->repo, "tok", "b/x.bin", &u), 0);
	assert_non_null(u.pointer_abs);
	assert_true(u.gitignore_deleted);
	assert_false(exists(fx, "b/.gitignore"));
	p4r_unbind_clear(&u);
	/* a folder that is not there: nothing to do */
	assert_int_equal(p4r_worktree_unbind(fx->repo, "tok", "none/x.bin", &u), 0);
	assert_null(u.pointer_abs);
	assert_null(u.gitignore_abs);
	/* never through a link */
	assert_int_equal(p4r_worktree_unbind(fx->repo, "m", "out/far.bin", &u), P4R_EUSAGE);
	text = join(fx->outside, "far.bin.p4reg");
	assert_int_equal(access(text, F_OK), 0);
	free(text);
}

static void test_move(void **state)
{
	struct fx *fx = *state;
	p4r_registry *reg = p4r_repo_registry(fx->repo);
	p4r_move_result r;
	p4r_model m = { 0 };
	char *text;

	reg_foo(fx, "tok", "a/x.bin");
	put_foo(fx, "tok", "a/x.bin");
	assert_int_equal(p4r_worktree_ignore(fx->repo, "a/x.bin", NULL), 0);
	assert_int_equal(p4r_worktree_move(fx->repo, "a/x.bin", "n/e/w.bin", "ann", &r), 0);
	assert_string_equal(r.model, "tok");
	assert_int_equal(r.version, 1);
	assert_true(r.file_moved);
	assert_false(r.resumed);
	assert_false(r.already);
	/* to stage: the new pointer and .gitignore; to drop: the old pointer
	 * and the old .gitignore (it held only the line) */
	assert_int_equal(r.nstage, 2);
	assert_non_null(strstr(r.stage[0], "/n/e/w.bin.p4reg"));
	assert_non_null(strstr(r.stage[1], "/n/e/.gitignore"));
	assert_int_equal(r.nunstage, 2);
	assert_non_null(strstr(r.unstage[0], "/a/x.bin.p4reg"));
	assert_non_null(strstr(r.unstage[1], "/a/.gitignore"));
	p4r_move_result_clear(&r);
	assert_false(exists(fx, "a/x.bin"));
	assert_false(exists(fx, "a/x.bin.p4reg"));
	assert_false(exists(fx, "a/.gitignore"));
	text = slurp_rel(fx, "n/e/w.bin");
	assert_string_equal(text, "foo");
	free(text);
	text = slurp_rel(fx, "n/e/.gitignore");
	assert_string_equal(text, "/w.bin\n");
	free(text);
	assert_int_equal(p4r_registry_model_get(reg, "tok", &m), 0);
	assert_string_equal(m.path, "n/e/w.bin");
	p4r_model_clear(&m);
	/* again: done already */
	assert_int_equal(p4r_worktree_move(fx->repo, "a/x.bin", "n/e/w.bin", "ann", &r), 0);
	assert_true(r.already);
	p4r_move_result_clear(&r);

	/* refusals, nothing changed */
	free(tu_write(fx->dir, "taken.bin", "x", 1));
	expect_error(p4r_worktree_move(fx->repo, "n/e/w.bin", "taken.bin", "ann", &r), P4R_EUSAGE,
		     "'taken.bin' already exists; p4reg mv does not overwrite");
	expect_error(p4r_worktree_move(fx->repo, "n/e/w.bin", "out/w.bin", "ann", &r), P4R_EUSAGE,
		     "symbolic link");
	expect_error(p4r_worktree_move(fx->repo, "taken.bin", "t2.bin", "ann", &r), P4R_ENOTFOUND,
		     "no model is bound to 'taken.bin'");
	expect_error(p4r_worktree_move(fx->repo, "n/e/w.bin", "../w.bin", "ann", &r), P4R_EUSAGE, "'../w.bin'");
	expect_error(p4r_worktree_move(fx->repo, "n/e/w.bin", "w.bin.p4reg", "ann", &r), P4R_EUSAGE,
		     "is a pointer file");
	expect_error(p4r_worktree_move(fx->repo, "n/e/w.bin", "n/e/w.bin", "ann", &r), P4R_EUSAGE,
		     "the same path");
	assert_int_equal(p4r_registry_model_get(reg, "tok", &m), 0);
	assert_string_equal(m.path, "n/e/w.bin");
	p4r_model_clear(&m);
	assert_true(exists(fx, "n/e/w.bin"));
	text = join(fx->outside, "w.bin");
	assert_int_equal(access(text, F_OK), -1);
	free(text);
}

/* What checkout keeps beside a file (its pointer and .gitignore line,
 * reporting what changed), and a pointer left behind by a move. */
static void test_place_pointer_and_moved(void **state)
{
	struct fx *fx = *state;
	p4r_version v = { .number = 1, .size = 3, .model = "tok" };
	p4r_file_state st;
	p4r_pointer ptr;
	p4r_placed pl;
	char to[64], *text;
	bool moved = true;

	assert_int_equal(p4r_oid_parse(&v.oid, FOO_OID), 0);
	reg_foo(fx, "tok", "a/x.bin");
	put_foo(fx, "tok", "a/x.bin");
	/* the pointer says it already: only the line is new */
	assert_int_equal(p4r_worktree_place_pointer(fx->repo, &v, "a/x.bin", &pl), 0);
	assert_null(pl.pointer_abs);
	assert_non_null(pl.gitignore_abs);
	assert_non_null(strstr(pl.gitignore_abs, "/a/.gitignore"));
	p4r_placed_clear(&pl);
	text = slurp_rel(fx, "a/.gitignore");
	assert_string_equal(text, "/x.bin\n");
	free(text);
	/* again: nothing changed, nothing to stage */
	assert_int_equal(p4r_worktree_place_pointer(fx->repo, &v, "a/x.bin", &pl), 0);
	assert_null(pl.pointer_abs);
	assert_null(pl.gitignore_abs);
	/* a new path: both */
	assert_int_equal(p4r_worktree_place_pointer(fx->repo, &v, "b/x.bin", &pl), 0);
	assert_non_null(pl.pointer_abs);
	assert_non_null(strstr(pl.pointer_abs, "/b/x.bin.p4reg"));
	assert_non_null(pl.gitignore_abs);
	p4r_placed_clear(&pl);
	/* never through a link */
	assert_int_equal(p4r_worktree_place_pointer(fx->repo, &v, "out/x.bin", &pl), P4R_EUSAGE);
	assert_null(pl.pointer_abs);

	/* the model's own path: not moved; after a move, its old pointer is */
	assert_int_equal(p4r_worktree_read_pointer(fx->repo, "a/x.bin", &ptr), 0);
	assert_int_equal(p4r_worktree_pointer_moved(fx->repo, "a/x.bin", &ptr, to, sizeof(to), &moved), 0);
	assert_false(moved);
	assert_string_equal(to, "");
	assert_int_equal(p4r_worktree_file_state(fx->repo, "a/x.bin", &ptr, &st), 0);
	assert_int_equal(st, P4R_FILE_OBJECT_MISSING); /* registered, never stored */
	assert_int_equal(p4r_registry_model_move(p4r_repo_registry(fx->repo), "tok", "a/x.bin", "c/x.bin",
						 "ann", 0), 0);
	assert_int_equal(p4r_worktree_pointer_moved(fx->repo, "a/x.bin", &ptr, to, sizeof(to), &moved), 0);
	assert_true(moved);
	assert_string_equal(to, "c/x.bin");
	assert_int_equal(p4r_worktree_file_state(fx->repo, "a/x.bin", &ptr, &st), 0);
	assert_int_equal(st, P4R_FILE_MOVED);
	assert_string_equal(p4r_file_state_name(st), "moved");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lists_pointers_in_subfolders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lists_pointers_when_d_type_is_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pointer_never_read_through_a_link, setup, teardown),
		cmocka_unit_test(test_default_name),
		cmocka_unit_test_setup_teardown(test_resolve_binding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unbind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_place_pointer_and_moved, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
