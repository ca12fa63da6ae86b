/* Unit tests for Git LFS pointers in git's history (gitscan.c): git's
 * pre-push lines, the pointers a push sends (and what the remote already
 * has), and the pointers gc must keep. Repositories are made by the git
 * CLI in temporary folders; the pointers are committed as plain files. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/gitscan.h"
#include "p4reg/lfs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The output of the shell command FMT in DIR, without its newline. */
static void sh_out(char *out, size_t outsz, const char *dir, const char *fmt, ...)
{
	char cmd[2048], line[1800];
	va_list ap;
	FILE *p;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "cd '%s' && %s", dir, line);
	assert_non_null(p = popen(cmd, "r"));
	n = fread(out, 1, outsz - 1, p);
	out[n] = '\0';
	if (n && out[n - 1] == '\n')
		out[n - 1] = '\0';
	assert_int_equal(pclose(p), 0);
}

/* Writes a pointer to the object of TEXT at REL in DIR; OID gets its oid. */
static void write_pointer(const char *dir, const char *rel, const char *text, p4r_oid *oid)
{
	char buf[P4R_LFS_POINTER_MAX + 1];
	size_t len;

	assert_int_equal(p4r_hash_buffer(oid, text, strlen(text)), 0);
	assert_int_equal(p4r_lfs_pointer_format(buf, sizeof(buf), &len, oid, strlen(text)), 0);
	free(tu_write(dir, rel, buf, len));
}

static void update(p4r_git_push_update *u, const char *line)
{
	assert_int_equal(p4r_git_push_line_parse(u, line), 0);
}

static void test_push_line(void **state)
{
	p4r_git_push_update u;
	char line[256];
	const char *a = "1111111111111111111111111111111111111111", *z = "0000000000000000000000000000000000000000";

	(void)state;
	snprintf(line, sizeof(line), "refs/heads/main %s refs/heads/main %s", a, z);
	assert_int_equal(p4r_git_push_line_parse(&u, line), 0);
	assert_string_equal(u.local_sha, a);
	assert_string_equal(u.remote_sha, z);
	assert_false(u.deletion);
	assert_true(u.new_ref);
	snprintf(line, sizeof(line), "(delete) %s refs/heads/old %s", z, a);
	assert_int_equal(p4r_git_push_line_parse(&u, line), 0);
	assert_true(u.deletion);
	assert_false(u.new_ref);
	{
		static const char *const bad[] = {
			"", "refs/heads/main", "a b c d",
			"refs/heads/main 111 refs/heads/main 0000000000000000000000000000000000000000",
			"refs/heads/main  1111111111111111111111111111111111111111 refs/heads/main 0000000000000000000000000000000000000000",
			"refs/heads/main 1111111111111111111111111111111111111111 refs/heads/main 0000000000000000000000000000000000000000 x",
			"refs/heads/main 1111111111111111111111111111111111111111 refs/heads/main 0000000000000000000000000000000000000000 ",
			"refs/heads/main 111111111111111111111111111111111111111A refs/heads/main 0000000000000000000000000000000000000000",
			"ref\tx 1111111111111111111111111111111111111111 refs/heads/main 0000000000000000000000000000000000000000",
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			assert_int_equal(p4r_git_push_line_parse(&u, bad[i]), P4R_EUSAGE);
			assert_non_null(strstr(p4r_error_message(), "malformed pre-push line"));
		}
	}
}

struct fx {
	char *dir;
	p4r_git *git;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	fx->dir = tu_mkdtemp();
	tu_sh(fx->dir, "git init -q -b main . && git config user.name t && git config user.email t@example.com");
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	p4r_git_free(fx->git);
	tu_rmtree_free(fx->dir);
	free(fx);
	return 0;
}

static bool has(const p4r_git_pointer *v, size_t n, const p4r_oid *oid, const char *path)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p4r_oid_equal(&v[i].oid, oid) && (!path || !strcmp(v[i].path, path)))
			return true;
	return false;
}

static void test_pushed_pointers(void **state)
{
	struct fx *fx = *state;
	char c1[64], c2[64], c3[64], line[512];
	p4r_git_push_update u[2];
	p4r_git_pointer *v = NULL;
	p4r_oid a, b, c;
	size_t n = 0;

	write_pointer(fx->dir, "a.bin", "one", &a);
	free(tu_write(fx->dir, "readme.txt", "not a pointer\n", 14));
	tu_sh(fx->dir, "git add -A && git commit -qm one");
	sh_out(c1, sizeof(c1), fx->dir, "git rev-parse HEAD");
	tu_sh(fx->dir, "mkdir -p m");
	write_pointer(fx->dir, "m/b.bin", "two", &b);
	tu_sh(fx->dir, "git add -A && git commit -qm two");
	sh_out(c2, sizeof(c2), fx->dir, "git rev-parse HEAD");
	assert_int_equal(p4r_git_open(&fx->git, fx->dir), 0);

	/* the remote has c1: only what c2 adds */
	snprintf(line, sizeof(line), "refs/heads/main %s refs/heads/main %s", c2, c1);
	update(&u[0], line);
	assert_int_equal(p4r_git_pushed_pointers(fx->git, "origin", u, 1, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_true(has(v, n, &b, "m/b.bin"));
	assert_int_equal(v[0].size, 3);
	p4r_git_pointer_array_free(v, n);

	/* a new branch to a remote with no tracking refs: the whole history */
	snprintf(line, sizeof(line), "refs/heads/main %s refs/heads/main 0000000000000000000000000000000000000000", c2);
	update(&u[0], line);
	assert_int_equal(p4r_git_pushed_pointers(fx->git, "origin", u, 1, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_true(has(v, n, &a, "a.bin") && has(v, n, &b, "m/b.bin"));
	p4r_git_pointer_array_free(v, n);

	/* ... but what refs/remotes/origin/ reaches, origin has */
	tu_sh(fx->dir, "git update-ref refs/remotes/origin/main %s", c1);
	assert_int_equal(p4r_git_pushed_pointers(fx->git, "origin", u, 1, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_true(has(v, n, &b, NULL));
	p4r_git_pointer_array_free(v, n);
	/* another remote's refs say nothing about this one */
	assert_int_equal(p4r_git_pushed_pointers(fx->git, "backup", u, 1, &v, &n), 0);
	assert_int_equal(n, 2);
	p4r_git_pointer_array_free(v, n);
	/* pushing to a URL: no remote-tracking refs to trust */
	assert_int_equal(p4r_git_pushed_pointers(fx->git, "file:///srv/x.git", u, 1, &v, &n), 0);
	assert_int_equal(n, 2);
	p4r_git_pointer_array_free(v, n);

	/* a merge: what the side branch brought counts; an unknown remote sha
	 * (the remote moved on) is ignored, as git-lfs's --ignore-missing */
	tu_sh(fx->dir, "git checkout -q -b side %s", c1);
	write_pointer(fx->dir, "c.bin", "three", &c);
	tu_sh(fx->dir, "git add -A && git commit -qm three && git checkout -q main && git merge -q --no-edit side");
	sh_out(c3, sizeof(c3), fx->dir, "git rev-parse HEAD");
	snprintf(line, sizeof(line), "refs/heads/main %s refs/heads/main %s", c3, c2);
	update(&u[0], line);
	snprintf(line, sizeof(line), "refs/heads/x %s refs/heads/x 2222222222222222222222222222222222222222", c2);
	update(&u[1], line);
	assert_int_equal(p4r_git_pushed_pointers(fx->git, NULL, u, 2, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_true(has(v, n, &c, "c.bin"));
	p4r_git_pointer_array_free(v, n);

	/* a deletion sends nothing */
	snprintf(line, sizeof(line), "(delete) 0000000000000000000000000000000000000000 refs/heads/x %s", c2);
	update(&u[0], line);
	assert_int_equal(p4r_git_pushed_pointers(fx->git, "origin", u, 1, &v, &n), 0);
	assert_int_equal(n, 0);
	p4r_git_pointer_array_free(v, n);

	/* a local sha this repository lacks is an error */
	update(&u[0], "refs/heads/main 3333333333333333333333333333333333333333 refs/heads/main "
		      "0000000000000000000000000000000000000000");
	assert_int_equal(p4r_git_pushed_pointers(fx->git, "origin", u, 1, &v, &n), P4R_ERROR);
	assert_null(v);
	assert_int_equal(n, 0);
}

static bool in(const p4r_oid *v, size_t n, const p4r_oid *oid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p4r_oid_equal(&v[i], oid))
			return true;
	return false;
}

static void test_lfs_referenced(void **state)
{
	struct fx *fx = *state;
	p4r_oid tip, old, branch, staged, gone, *v = NULL;
	size_t n = 7;

	write_pointer(fx->dir, "old.bin", "old", &old);
	tu_sh(fx->dir, "git add -A && git commit -qm old && git rm -q old.bin && git commit -qm rm");
	write_pointer(fx->dir, "tip.bin", "tip", &tip);
	tu_sh(fx->dir, "git add -A && git commit -qm tip && git checkout -q -b side && mkdir side");
	write_pointer(fx->dir, "side/b.bin", "branch", &branch);
	tu_sh(fx->dir, "git add -A && git commit -qm side && git checkout -q main");
	write_pointer(fx->dir, "staged.bin", "staged", &staged);
	write_pointer(fx->dir, "gone.bin", "gone", &gone);
	tu_sh(fx->dir, "git add staged.bin gone.bin && git rm -q --cached gone.bin");

	/* no Git LFS objects folder: no filter stored anything, nothing to scan */
	assert_int_equal(p4r_git_lfs_referenced(fx->dir, &v, &n), 0);
	assert_int_equal(n, 0);
	assert_null(v);

	tu_sh(fx->dir, "mkdir -p .git/lfs/objects");
	assert_int_equal(p4r_git_lfs_referenced(fx->dir, &v, &n), 0);
	assert_true(in(v, n, &tip));
	assert_true(in(v, n, &old));    /* history, not only tips */
	assert_true(in(v, n, &branch)); /* another branch */
	assert_true(in(v, n, &staged)); /* the index */
	assert_false(in(v, n, &gone));  /* a blob nothing reaches */
	assert_int_equal(n, 4);
	free(v);

	/* a stash is a ref too */
	write_pointer(fx->dir, "tip.bin", "stashed", &gone);
	tu_sh(fx->dir, "git stash -q");
	assert_int_equal(p4r_git_lfs_referenced(fx->dir, &v, &n), 0);
	assert_true(in(v, n, &gone));
	free(v);

	/* outside git: nothing, no error */
	{
		char *plain = tu_mkdtemp();

		assert_int_equal(p4r_git_lfs_referenced(plain, &v, &n), 0);
		assert_int_equal(n, 0);
		tu_rmtree_free(plain);
	}
}

/* Only the paths under "m/". */
static bool want_m(const char *path, void *payload)
{
	(void)payload;
	return !strncmp(path, "m/", 2);
}

static void test_lfs_history(void **state)
{
	struct fx *fx = *state;
	char c1[64], c2[64], s1[64], merge[64];
	p4r_git_lfs_walk w = { 0 };
	p4r_git_lfs_change *v = NULL;
	p4r_oid a1, a2, b1, side;
	size_t n = 7;

	/* an unborn HEAD: no history, no error */
	assert_int_equal(p4r_git_open(&fx->git, fx->dir), 0);
	assert_int_equal(p4r_git_lfs_history(fx->git, &w, &v, &n), 0);
	assert_int_equal(n, 0);
	assert_null(v);

	tu_sh(fx->dir, "mkdir m");
	write_pointer(fx->dir, "m/a.bin", "a one", &a1);
	free(tu_write(fx->dir, "readme.txt", "version 1.0\n", 12));
	tu_sh(fx->dir, "git add -A && GIT_AUTHOR_NAME=Alice GIT_AUTHOR_EMAIL=alice@example.com "
	   "GIT_AUTHOR_DATE=2024-02-01T10:00:00Z git commit -qm 'a one' -m 'the body'");
	sh_out(c1, sizeof(c1), fx->dir, "git rev-parse HEAD");
	write_pointer(fx->dir, "m/a.bin", "a two", &a2);
	write_pointer(fx->dir, "b.bin", "b one", &b1);
	/* starts as a pointer, is none: refused, with the parser's reason */
	{
		static const char bad[] = "version https://git-lfs.github.com/spec/v1\noid sha256:xyz\nsize 1\n";

		free(tu_write(fx->dir, "m/bad.bin", bad, strlen(bad)));
	}
	tu_sh(fx->dir, "git add -A && git commit -qm two");
	sh_out(c2, sizeof(c2), fx->dir, "git rev-parse HEAD");
	tu_sh(fx->dir, "git checkout -q -b side %s", c1);
	write_pointer(fx->dir, "m/a.bin", "side", &side);
	tu_sh(fx->dir, "git add -A && git commit -qm side");
	sh_out(s1, sizeof(s1), fx->dir, "git rev-parse HEAD");
	tu_sh(fx->dir, "git checkout -q main && git merge -q -X theirs --no-edit side");
	sh_out(merge, sizeof(merge), fx->dir, "git rev-parse HEAD");

	/* first parents: the merge brings the side branch's pointer */
	assert_int_equal(p4r_git_lfs_history(fx->git, &w, &v, &n), 0);
	assert_int_equal(n, 5);
	assert_string_equal(v[0].path, "m/a.bin");
	assert_string_equal(v[0].commit, c1);
	assert_true(v[0].pointer && p4r_oid_equal(&v[0].oid, &a1) && v[0].size == 5);
	assert_string_equal(v[0].author, "Alice <alice@example.com>");
	assert_int_equal(v[0].time_ms, INT64_C(1706781600000));
	assert_string_equal(v[0].subject, "a one");
	assert_null(v[0].refused);
	/* one commit's changes in the order git's diff gives them */
	assert_string_equal(v[1].path, "b.bin");
	assert_string_equal(v[2].path, "m/a.bin");
	assert_true(p4r_oid_equal(&v[2].oid, &a2));
	assert_string_equal(v[3].path, "m/bad.bin");
	assert_false(v[3].pointer);
	assert_string_equal(v[3].refused, "not a Git LFS pointer: malformed oid");
	assert_string_equal(v[4].commit, merge);
	assert_true(p4r_oid_equal(&v[4].oid, &side));
	p4r_git_lfs_change_array_free(v, n);

	/* every parent: the side commit itself, and the merge brings nothing */
	w.all_parents = true;
	assert_int_equal(p4r_git_lfs_history(fx->git, &w, &v, &n), 0);
	assert_int_equal(n, 5);
	{
		size_t i, sides = 0;

		for (i = 0; i < n; i++) {
			assert_string_not_equal(v[i].commit, merge);
			sides += !strcmp(v[i].commit, s1) && p4r_oid_equal(&v[i].oid, &side);
		}
		assert_int_equal(sides, 1);
	}
	p4r_git_lfs_change_array_free(v, n);

	/* --since and the path filter */
	w.all_parents = false;
	w.since = c1;
	w.want = want_m;
	assert_int_equal(p4r_git_lfs_history(fx->git, &w, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].commit, c2);
	assert_string_equal(v[0].path, "m/a.bin");
	assert_string_equal(v[1].path, "m/bad.bin");
	assert_string_equal(v[2].commit, merge);
	p4r_git_lfs_change_array_free(v, n);
	w.since = "no-such-revision";
	assert_int_equal(p4r_git_lfs_history(fx->git, &w, &v, &n), P4R_ENOTFOUND);
	assert_null(v);
}

int main(void)
{
	char *home = tu_mkdtemp();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_push_line),
		cmocka_unit_test_setup_teardown(test_pushed_pointers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lfs_referenced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lfs_history, setup, teardown),
	};
	int rc;

	setenv("HOME", home, 1);
	setenv("XDG_CONFIG_HOME", home, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	tu_rmtree_free(home);
	return rc;
}
