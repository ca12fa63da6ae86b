/* Unit tests for worktree.c: finding pointers on file systems that leave
 * d_type unknown, never walking through links, pointers never read through
 * a link. readdir is wrapped so DT_UNKNOWN can be forced. */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lists_pointers_in_subfolders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lists_pointers_when_d_type_is_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pointer_never_read_through_a_link, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
