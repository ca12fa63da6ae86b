/* Unit tests for repo/trustcache.c: the answer "git tracks nothing private
 * in .p4reg" is reused only while every file it was read from is as it
 * was. Each case first makes the cache say "clean", then changes git's
 * side the way a user, git or a hostile clone could, and checks the
 * tracked file is found all the same (docs/security.md, "The trust
 * cache"). */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "repo/localcache.h"
#include "repo/trustcache.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const shared[] = { "config", ".gitignore", NULL };

#ifdef P4REG_TEST_KNOBS
#define NEED_KNOBS() ((void)0)
#else
#define NEED_KNOBS() skip()
#endif

struct fx {
	char *top;   /* the test's folder: the cache lives here too */
	char *root;  /* TOP/w: git work tree and p4reg repository */
};

/* Runs the shell command FMT... (paths here have no quote in them). */
static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("'%s' failed", cmd);
}

/* A git work tree with a p4reg repository, its init committed. */
static void make_repo(struct fx *fx)
{
	assert_int_equal(mkdir(fx->root, 0755), 0);
	sh("git -C '%s' init -q", fx->root);
	assert_int_equal(p4r_repo_init(fx->root, NULL), 0);
	sh("git -C '%s' add .p4reg/config .p4reg/.gitignore", fx->root);
	free(tu_write(fx->root, ".p4reg/config.local", "", 0));
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char *cache;

	fx->top = tu_mkdtemp();
	fx->root = p4r_path_join(fx->top, "w");
	cache = p4r_path_join(fx->top, "cache");
	setenv("XDG_CACHE_HOME", cache, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("HOME", fx->top, 1);
	setenv("GIT_AUTHOR_NAME", "t", 1);
	setenv("GIT_AUTHOR_EMAIL", "t@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "t", 1);
	setenv("GIT_COMMITTER_EMAIL", "t@example.com", 1);
	/* the index just written is not racy a millisecond later */
	setenv("P4REG_TEST_TS_WINDOW_NS", "1000", 1);
	free(cache);
	make_repo(fx);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	unsetenv("P4REG_TEST_TS_WINDOW_NS");
	tu_rmtree_free(fx->top);
	free(fx->root);
	free(fx);
	return 0;
}

static p4r_localcache *open_cache(struct fx *fx)
{
	char *meta = p4r_path_join(fx->root, ".p4reg");
	p4r_localcache *lc = NULL;
	struct stat st;

	assert_int_equal(stat(meta, &st), 0);
	assert_int_equal(p4r_localcache_open(&lc, fx->root, &st), 0);
	free(meta);
	return lc;
}

/* What the trust check finds now ("" for nothing). */
static char *tracked(struct fx *fx)
{
	p4r_localcache *lc = open_cache(fx);
	char *t = NULL;

	usleep(20000); /* older than a tick of the coarse clock */
	assert_int_equal(p4r_trustcache_tracked(lc, fx->root, ".p4reg", shared, &t), 0);
	p4r_localcache_free(lc);
	return t ? t : strdup("");
}

static bool cache_says_clean(struct fx *fx)
{
	p4r_localcache *lc = open_cache(fx);
	bool yes = p4r_localcache_get(lc, "trust") != NULL;

	p4r_localcache_free(lc);
	return yes;
}

static void expect(struct fx *fx, const char *want)
{
	char *t = tracked(fx);

	assert_string_equal(t, want);
	free(t);
}

/* Clean, kept; then `git add -f` of private state: found at once. */
static void test_git_add_after_clean(void **state)
{
	struct fx *fx = *state;

	NEED_KNOBS();
	expect(fx, "");
	assert_true(cache_says_clean(fx));
	expect(fx, ""); /* answered by the cache */
	sh("git -C '%s' add -f .p4reg/config.local", fx->root);
	expect(fx, ".p4reg/config.local");
	sh("git -C '%s' commit -qm x", fx->root);
	expect(fx, ".p4reg/config.local");
}

/* Writes an index holding one empty blob at PATH (no extensions: its size
 * depends on the length of PATH alone). */
static void one_entry_index(struct fx *fx, const char *path)
{
	char *index = p4r_path_join(fx->root, ".git/index");

	unlink(index);
	sh("git -C '%s' update-index --add --cacheinfo 100644,e69de29bb2d1d6434b8b29ae775ad8c2e48c5391,%s",
	   fx->root, path);
	free(index);
}

/* An index replaced by another of the same size, its mtime set back to
 * the old one's (perhaps even on the same inode number): its ctime moved,
 * which no one but the kernel sets. */
static void test_index_same_size_and_mtime(void **state)
{
	struct fx *fx = *state;
	char *index = p4r_path_join(fx->root, ".git/index");
	struct timespec times[2];
	struct stat a, b;

	NEED_KNOBS();
	one_entry_index(fx, ".p4req/config.local"); /* as long as the other */
	expect(fx, "");
	assert_true(cache_says_clean(fx));
	assert_int_equal(stat(index, &a), 0);
	one_entry_index(fx, ".p4reg/config.local");
	times[0] = a.st_atim;
	times[1] = a.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, index, times, 0), 0);
	assert_int_equal(stat(index, &b), 0);
	assert_int_equal(a.st_size, b.st_size);
	assert_int_equal(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
	expect(fx, ".p4reg/config.local");
	free(index);
}

/* Another repository made at the same path is not the one the cache knew. */
static void test_other_repository_same_path(void **state)
{
	struct fx *fx = *state;
	char *old = p4r_path_join(fx->top, "old");

	NEED_KNOBS();
	expect(fx, "");
	assert_true(cache_says_clean(fx));
	/* the old one moved away (not deleted: its inodes stay taken) */
	assert_int_equal(rename(fx->root, old), 0);
	make_repo(fx);
	assert_false(cache_says_clean(fx));
	sh("git -C '%s' add -f .p4reg/config.local", fx->root);
	expect(fx, ".p4reg/config.local");
	free(old);
}

/* A git directory named by a gitfile, and then another one. */
static void test_gitfile_moves(void **state)
{
	struct fx *fx = *state;
	char *gitdir = p4r_path_join(fx->top, "gitdir"), *dotgit = p4r_path_join(fx->root, ".git");
	char *other = p4r_path_join(fx->top, "other");
	char text[4200];

	NEED_KNOBS();
	assert_int_equal(rename(dotgit, gitdir), 0);
	snprintf(text, sizeof(text), "gitdir: %s\n", gitdir);
	free(tu_write(fx->root, ".git", text, strlen(text)));
	sh("git -C '%s' config core.worktree '%s'", gitdir, fx->root);
	expect(fx, "");
	assert_true(cache_says_clean(fx));
	/* a copy of the git directory that tracks private state, named instead */
	sh("cp -a '%s' '%s'", gitdir, other);
	sh("git --git-dir='%s' --work-tree='%s' -C '%s' add -f .p4reg/config.local", other, fx->root, fx->root);
	snprintf(text, sizeof(text), "gitdir: %s\n", other);
	free(tu_write(fx->root, ".git", text, strlen(text)));
	expect(fx, ".p4reg/config.local");
	free(gitdir);
	free(dotgit);
	free(other);
}

/* An index changed within the window of the read: the answer is used but
 * not kept. */
static void test_racy_index_not_kept(void **state)
{
	struct fx *fx = *state;

	NEED_KNOBS();
	setenv("P4REG_TEST_TS_WINDOW_NS", "600000000000", 1);
	expect(fx, "");
	assert_false(cache_says_clean(fx));
	setenv("P4REG_TEST_TS_WINDOW_NS", "1000", 1);
	expect(fx, "");
	assert_true(cache_says_clean(fx));
}

/* Outside git nothing is tracked, and nothing is kept. */
static void test_outside_git(void **state)
{
	struct fx *fx = *state;
	char *dotgit = p4r_path_join(fx->root, ".git"), *away = p4r_path_join(fx->top, "dotgit");

	NEED_KNOBS();
	assert_int_equal(rename(dotgit, away), 0);
	expect(fx, "");
	assert_false(cache_says_clean(fx));
	free(dotgit);
	free(away);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_git_add_after_clean, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_same_size_and_mtime, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_repository_same_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitfile_moves, setup, teardown),
		cmocka_unit_test_setup_teardown(test_racy_index_not_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outside_git, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
