/* Unit tests for beneath.c: every case runs twice, with openat2 and with
 * the O_NOFOLLOW walk the kernel-less fallback uses. */
#include "testutil.h"
#include "p4reg/beneath.h"
#include "p4reg/error.h"
#include "p4reg/worktree.h"
#include "p4reg/relpath.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fx {
	char *dir;     /* the "repository" */
	char *outside; /* a folder beside it, holding a secret */
	int root;
};

static char *join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *s = malloc(n);

	snprintf(s, n, "%s/%s", a, b);
	return s;
}

static int setup(void **state, bool walk)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char *p;

	fx->dir = tu_mkdtemp();
	fx->outside = tu_mkdtemp();
	free(tu_write(fx->outside, "secret", "s3cret", 6));
	free(tu_write(fx->dir, "inside.bin", "bytes", 5));
	p = join(fx->dir, "models");
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	free(tu_write(fx->dir, "models/m.bin", "model", 5));
	p = join(fx->dir, "escape");
	assert_int_equal(symlink(fx->outside, p), 0);
	free(p);
	p = join(fx->dir, "inner");
	assert_int_equal(symlink("models", p), 0); /* stays inside */
	free(p);
	p = join(fx->dir, "models/secret.bin");
	assert_int_equal(symlink("../../", p), 0); /* leads above the root */
	free(p);
	fx->root = open(fx->dir, O_RDONLY | O_DIRECTORY);
	assert_true(fx->root >= 0);
	p4r_beneath_force_walk(walk);
	*state = fx;
	return 0;
}

static int setup_openat2(void **state) { return setup(state, false); }
static int setup_walk(void **state) { return setup(state, true); }

static int teardown(void **state)
{
	struct fx *fx = *state;

	p4r_beneath_force_walk(false);
	close(fx->root);
	tu_rmtree_free(fx->dir);
	tu_rmtree_free(fx->outside);
	free(fx);
	return 0;
}

static void test_opens_inside(void **state)
{
	struct fx *fx = *state;
	char buf[8] = { 0 };
	int fd;

	assert_int_equal(p4r_beneath_open(&fd, fx->root, "models/m.bin", O_RDONLY, 0), 0);
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), 5);
	assert_string_equal(buf, "model");
	close(fd);
}

static void test_refuses_a_symlinked_folder_out(void **state)
{
	struct fx *fx = *state;
	int fd = -1;

	assert_int_equal(p4r_beneath_open(&fd, fx->root, "escape/secret", O_RDONLY, 0), P4R_EUSAGE);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(p4r_error_message(), "escape/secret"));
	assert_int_equal(p4r_beneath_open(&fd, fx->root, "models/secret.bin", O_RDONLY, 0), P4R_EUSAGE);
	assert_int_equal(p4r_beneath_open(&fd, fx->root, "../x", O_RDONLY, 0), P4R_EUSAGE);
	/* a link that stays inside (to .p4reg/, say) is not followed either */
	assert_int_equal(p4r_beneath_open(&fd, fx->root, "inner/m.bin", O_RDONLY, 0), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "symbolic link"));
	assert_int_equal(p4r_beneath_open(&fd, fx->root, "/etc/passwd", O_RDONLY, 0), P4R_EUSAGE);
	assert_int_equal(p4r_beneath_open(&fd, fx->root, "/proc/self/root/etc/passwd", O_RDONLY, 0),
			 P4R_EUSAGE);
}

static void test_parent_creates_below_and_refuses_links(void **state)
{
	struct fx *fx = *state;
	const char *base;
	char *made;
	struct stat st;
	int dir;

	assert_int_equal(p4r_beneath_parent(&dir, &base, fx->root, "a/b/c/file", true), 0);
	assert_string_equal(base, "file");
	close(dir);
	made = join(fx->dir, "a/b/c");
	assert_int_equal(stat(made, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	free(made);
	/* a link on the way is refused, and nothing is made behind it */
	assert_int_equal(p4r_beneath_parent(&dir, &base, fx->root, "escape/new/file", true), P4R_EUSAGE);
	made = join(fx->outside, "new");
	assert_int_not_equal(stat(made, &st), 0);
	free(made);
	/* a top-level name has the root as its folder */
	assert_int_equal(p4r_beneath_parent(&dir, &base, fx->root, "top.bin", false), 0);
	assert_string_equal(base, "top.bin");
	close(dir);
	assert_int_equal(p4r_beneath_parent(&dir, &base, fx->root, "missing/x", false), P4R_ENOTFOUND);
}

static void test_open_regular_refuses_fifo_and_links(void **state)
{
	struct fx *fx = *state;
	char *fifo = join(fx->dir, "pipe.bin"), *link = join(fx->dir, "zero.bin");
	struct stat st;
	int fd = -1;

	assert_int_equal(mkfifo(fifo, 0644), 0);
	assert_int_equal(symlink("/dev/zero", link), 0);
	/* would block forever without O_NONBLOCK: must return at once */
	assert_int_equal(p4r_beneath_open_regular(&fd, &st, fx->root, "pipe.bin"), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "not a regular file"));
	assert_int_equal(p4r_beneath_open_regular(&fd, &st, fx->root, "zero.bin"), P4R_EUSAGE);
	assert_int_equal(p4r_beneath_open_regular(&fd, &st, fx->root, "inside.bin"), 0);
	assert_int_equal(st.st_size, 5);
	/* the descriptor reads normally (O_NONBLOCK was cleared) */
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	close(fd);
	free(fifo);
	free(link);
}

static void test_path_check(void **state)
{
	char long_name[300];

	(void)state;
	assert_int_equal(p4r_relpath_check("models/x.onnx"), 0);
	assert_int_equal(p4r_relpath_check("a/.gitx/b"), 0);
	assert_int_equal(p4r_relpath_check("../x"), P4R_EUSAGE);
	assert_int_equal(p4r_relpath_check("a/../../x"), P4R_EUSAGE);
	assert_int_equal(p4r_relpath_check("/etc/passwd"), P4R_EUSAGE);
	assert_int_equal(p4r_relpath_check("a//b"), P4R_EUSAGE);
	assert_int_equal(p4r_relpath_check("./a"), P4R_EUSAGE);
	assert_int_equal(p4r_relpath_check(".git/config"), P4R_EUSAGE);
	assert_int_equal(p4r_relpath_check("sub/.GIT/hooks/x"), P4R_EUSAGE);
	assert_int_equal(p4r_relpath_check(".p4reg/registry.db"), P4R_EUSAGE);
	assert_int_equal(p4r_relpath_check("a\nb"), P4R_EUSAGE);
	assert_int_equal(p4r_relpath_check("a\033[31mb"), P4R_EUSAGE);
	assert_int_equal(p4r_relpath_check(""), P4R_EUSAGE);
	memset(long_name, 'a', 249);
	long_name[249] = '\0';
	assert_int_equal(p4r_relpath_check(long_name), 0); /* + ".p4reg" = 255 */
	memset(long_name, 'a', 250);
	long_name[250] = '\0';
	assert_int_equal(p4r_relpath_check(long_name), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "too long"));
}

#define BOTH(t) cmocka_unit_test_setup_teardown(t, setup_openat2, teardown), \
		cmocka_unit_test_setup_teardown(t, setup_walk, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_opens_inside),
		BOTH(test_refuses_a_symlinked_folder_out),
		BOTH(test_parent_creates_below_and_refuses_links),
		BOTH(test_open_regular_refuses_fifo_and_links),
		cmocka_unit_test(test_path_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
