/* Unit tests for git's hooks and Git LFS configuration (gitio.c): where
 * hooks go, p4reg's pre-push hook installed once, a user's hook kept and
 * chained, git-lfs's replaced, a conflict left alone; configured Git LFS
 * extensions. Repositories are made by the git CLI in temporary folders. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/gitio.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fx {
	char *dir;
	p4r_git *git;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	fx->dir = tu_mkdtemp();
	tu_sh(fx->dir, "git init -q .");
	assert_int_equal(p4r_git_open(&fx->git, fx->dir), 0);
	assert_non_null(fx->git);
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

static char *path_in(const struct fx *fx, const char *rel)
{
	char *p = p4r_path_join(p4r_git_workdir(fx->git), rel);

	assert_non_null(p);
	return p;
}

static void assert_file_is(const struct fx *fx, const char *rel, const char *text)
{
	char *p = path_in(fx, rel), *got = tu_slurp(p, NULL);

	assert_string_equal(got, text);
	free(got);
	free(p);
}

static bool exists(const struct fx *fx, const char *rel)
{
	char *p = path_in(fx, rel);
	struct stat st;
	bool yes = lstat(p, &st) == 0;

	free(p);
	return yes;
}

static mode_t mode_of(const struct fx *fx, const char *rel)
{
	char *p = path_in(fx, rel);
	struct stat st;

	assert_int_equal(lstat(p, &st), 0);
	free(p);
	return st.st_mode & 07777;
}

static p4r_hook_action install(struct fx *fx)
{
	p4r_git_install inst;

	assert_int_equal(p4r_git_lfs_install(fx->git, P4R_GIT_FILTER_P4REG, &inst), 0);
	return inst.pre_push;
}

static void test_hooks_dir(void **state)
{
	struct fx *fx = *state;
	char *dir, *want;

	assert_int_equal(p4r_git_hooks_dir(fx->git, &dir), 0);
	want = path_in(fx, ".git/hooks");
	assert_string_equal(dir, want);
	free(dir);
	free(want);
	/* relative: to the work tree root, as git runs hooks there */
	tu_sh(fx->dir, "git config core.hooksPath .githooks/");
	assert_int_equal(p4r_git_hooks_dir(fx->git, &dir), 0);
	want = path_in(fx, ".githooks");
	assert_string_equal(dir, want);
	free(dir);
	free(want);
	tu_sh(fx->dir, "git config core.hooksPath /srv/hooks");
	assert_int_equal(p4r_git_hooks_dir(fx->git, &dir), 0);
	assert_string_equal(dir, "/srv/hooks");
	free(dir);
}

static void test_install_once(void **state)
{
	struct fx *fx = *state;
	const char *hook = p4r_git_pre_push_hook();
	p4r_git_install inst;

	assert_int_equal(p4r_git_lfs_install(fx->git, P4R_GIT_FILTER_P4REG, &inst), 0);
	assert_int_equal(inst.pre_push, P4R_HOOK_WRITTEN);
	assert_true(inst.config_written);
	assert_non_null(strstr(inst.hooks_dir, "/.git/hooks"));
	assert_file_is(fx, ".git/hooks/pre-push", hook);
	assert_int_equal(mode_of(fx, ".git/hooks/pre-push"), 0755);
	/* the hook names no path: nothing of the repository's is shell code */
	assert_null(strstr(hook, fx->dir));
	assert_non_null(strstr(hook, "\n" P4R_GIT_PRE_PUSH_MARKER "\n"));
	/* again: nothing changes, nothing is chained */
	assert_int_equal(p4r_git_lfs_install(fx->git, P4R_GIT_FILTER_P4REG, &inst), 0);
	assert_int_equal(inst.pre_push, P4R_HOOK_CURRENT);
	assert_false(inst.config_written);
	assert_false(exists(fx, ".git/hooks/pre-push.local"));
	/* an older p4reg hook, or ours made not executable: rewritten */
	tu_sh(fx->dir, "chmod 644 .git/hooks/pre-push");
	assert_int_equal(install(fx), P4R_HOOK_UPDATED);
	assert_int_equal(mode_of(fx, ".git/hooks/pre-push"), 0755);
	tu_sh(fx->dir, "printf '#!/bin/sh\\n%%s\\nold\\n' \"" P4R_GIT_PRE_PUSH_MARKER "\" >.git/hooks/pre-push");
	assert_int_equal(install(fx), P4R_HOOK_UPDATED);
	assert_file_is(fx, ".git/hooks/pre-push", hook);
}

static void test_install_chains_user_hook(void **state)
{
	struct fx *fx = *state;
	char *p = path_in(fx, ".git/hooks/pre-push"), *l = path_in(fx, ".git/hooks/pre-push.local");
	struct stat before, after;

	tu_sh(fx->dir, "mkdir -p .git/hooks && printf '#!/bin/sh\\necho mine\\n' >.git/hooks/pre-push && "
	   "chmod 700 .git/hooks/pre-push");
	assert_int_equal(stat(p, &before), 0);
	assert_int_equal(install(fx), P4R_HOOK_CHAINED);
	assert_file_is(fx, ".git/hooks/pre-push.local", "#!/bin/sh\necho mine\n");
	assert_int_equal(stat(l, &after), 0);
	assert_int_equal(after.st_ino, before.st_ino); /* the user's file itself, mode and all */
	assert_int_equal(mode_of(fx, ".git/hooks/pre-push.local"), 0700);
	assert_file_is(fx, ".git/hooks/pre-push", p4r_git_pre_push_hook());
	/* idempotent: not chained twice */
	assert_int_equal(install(fx), P4R_HOOK_CURRENT);
	assert_file_is(fx, ".git/hooks/pre-push.local", "#!/bin/sh\necho mine\n");
	/* an interrupted run (linked, not yet replaced) is finished */
	tu_sh(fx->dir, "rm .git/hooks/pre-push && ln .git/hooks/pre-push.local .git/hooks/pre-push");
	assert_int_equal(install(fx), P4R_HOOK_CHAINED);
	assert_file_is(fx, ".git/hooks/pre-push", p4r_git_pre_push_hook());
	assert_file_is(fx, ".git/hooks/pre-push.local", "#!/bin/sh\necho mine\n");
	/* a user's symbolic link is chained as it is, never read through */
	tu_sh(fx->dir, "rm .git/hooks/pre-push .git/hooks/pre-push.local && ln -s /nonexistent/hook .git/hooks/pre-push");
	assert_int_equal(install(fx), P4R_HOOK_CHAINED);
	tu_sh(fx->dir, "test \"$(readlink .git/hooks/pre-push.local)\" = /nonexistent/hook");
	free(p);
	free(l);
}

static void test_install_conflict_and_lfs(void **state)
{
	struct fx *fx = *state;
	p4r_git_install inst;

	/* both names taken by the user: nothing is touched */
	tu_sh(fx->dir, "mkdir -p .git/hooks && echo a >.git/hooks/pre-push && echo b >.git/hooks/pre-push.local");
	assert_int_equal(install(fx), P4R_HOOK_CONFLICT);
	assert_file_is(fx, ".git/hooks/pre-push", "a\n");
	assert_file_is(fx, ".git/hooks/pre-push.local", "b\n");
	tu_sh(fx->dir, "rm .git/hooks/pre-push .git/hooks/pre-push.local && mkdir .git/hooks/pre-push");
	assert_int_equal(install(fx), P4R_HOOK_CONFLICT);
	tu_sh(fx->dir, "rmdir .git/hooks/pre-push");
	/* git-lfs's hook cannot work without git-lfs: replaced, not chained */
	assert_int_equal(p4r_git_lfs_install(fx->git, P4R_GIT_FILTER_GIT_LFS, &inst), 0);
	assert_int_equal(inst.hooks_written, 4);
	assert_int_equal(install(fx), P4R_HOOK_REPLACED_LFS);
	assert_false(exists(fx, ".git/hooks/pre-push.local"));
	assert_file_is(fx, ".git/hooks/pre-push", p4r_git_pre_push_hook());
	/* and back: git-lfs's hook takes the place of p4reg's */
	assert_int_equal(p4r_git_lfs_install(fx->git, P4R_GIT_FILTER_GIT_LFS, &inst), 0);
	assert_int_equal(inst.hooks_written, 1);
	assert_int_equal(inst.pre_push, P4R_HOOK_NONE);
	tu_sh(fx->dir, "grep -q 'git lfs pre-push' .git/hooks/pre-push");
	/* p4reg's hook that chained a user's: switching to git-lfs gives the user's back */
	tu_sh(fx->dir, "printf '#!/bin/sh\\necho mine\\n' >.git/hooks/pre-push");
	assert_int_equal(install(fx), P4R_HOOK_CHAINED);
	assert_int_equal(p4r_git_lfs_install(fx->git, P4R_GIT_FILTER_GIT_LFS, &inst), 0);
	assert_int_equal(inst.hooks_kept, 1);
	assert_file_is(fx, ".git/hooks/pre-push", "#!/bin/sh\necho mine\n");
	assert_false(exists(fx, ".git/hooks/pre-push.local"));
}

static void test_install_hooks_path(void **state)
{
	struct fx *fx = *state;
	p4r_git_install inst;

	tu_sh(fx->dir, "git config core.hooksPath .githooks");
	assert_int_equal(p4r_git_lfs_install(fx->git, P4R_GIT_FILTER_P4REG, &inst), 0);
	assert_int_equal(inst.pre_push, P4R_HOOK_WRITTEN);
	assert_file_is(fx, ".githooks/pre-push", p4r_git_pre_push_hook());
	assert_false(exists(fx, ".git/hooks/pre-push"));
	/* a work-tree hooks folder that is a symbolic link is not followed */
	tu_sh(fx->dir, "rm -r .githooks && mkdir ../elsewhere-$$ && ln -s \"$PWD/../elsewhere-$$\" .githooks");
	assert_int_equal(p4r_git_lfs_install(fx->git, P4R_GIT_FILTER_P4REG, &inst), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "symbolic link"));
	tu_sh(fx->dir, "rm .githooks && rmdir ../elsewhere-*");
}

static void test_lfs_extension_config(void **state)
{
	struct fx *fx = *state;
	char name[65];

	assert_int_equal(p4r_git_lfs_extension(fx->git, name, sizeof(name)), 0);
	assert_string_equal(name, "");
	tu_sh(fx->dir, "git config lfs.extension.foo.clean 'foo clean %%f' && git config lfs.extension.foo.priority 0");
	assert_int_equal(p4r_git_lfs_extension(fx->git, name, sizeof(name)), 0);
	assert_string_equal(name, "foo");
}

int main(void)
{
	char *home = tu_mkdtemp();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hooks_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_install_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_install_chains_user_hook, setup, teardown),
		cmocka_unit_test_setup_teardown(test_install_conflict_and_lfs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_install_hooks_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lfs_extension_config, setup, teardown),
	};
	int rc;

	/* git and libgit2 read only this test's configuration */
	setenv("HOME", home, 1);
	setenv("XDG_CONFIG_HOME", home, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	tu_rmtree_free(home);
	return rc;
}
