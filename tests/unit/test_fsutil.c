/* Unit tests for fsutil.c, with fsync/rename failures injected. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Fault injection: these definitions win over libc's for every object in
 * this test binary (the core library included), so no link flags are
 * needed. 0 means behave normally; otherwise fail with that errno. */
static int fail_fsync_errno;
static int fail_rename_errno;

int fsync(int fd)
{
	if (fail_fsync_errno) {
		errno = fail_fsync_errno;
		return -1;
	}
	return (int)syscall(SYS_fsync, fd);
}

int renameat(int fromfd, const char *from, int tofd, const char *to)
{
	if (fail_rename_errno) {
		errno = fail_rename_errno;
		return -1;
	}
	return (int)syscall(SYS_renameat2, fromfd, from, tofd, to, 0);
}

/* Entries in DIR other than . and .. */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static char *join(const char *a, const char *b)
{
	char *p = p4r_path_join(a, b);

	assert_non_null(p);
	return p;
}

static void test_path_join(void **state)
{
	char *p;

	(void)state;
	p = join("a", "b");
	assert_string_equal(p, "a/b");
	free(p);
	p = join("a/", "b");
	assert_string_equal(p, "a/b");
	free(p);
	p = join("a//", "/b/c");
	assert_string_equal(p, "a/b/c");
	free(p);
	p = join("/", "x");
	assert_string_equal(p, "/x");
	free(p);
}

static void test_mkdir_p(void **state)
{
	char *dir = tu_mkdtemp(), *deep = join(dir, "a/b//c/"), *file, *blocked;
	struct stat st;

	(void)state;
	assert_int_equal(p4r_mkdir_p(deep, 0755), 0);
	assert_int_equal(stat(deep, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	/* existing folders are fine */
	assert_int_equal(p4r_mkdir_p(deep, 0755), 0);
	assert_int_equal(p4r_mkdir_p(dir, 0755), 0);

	file = tu_write(dir, "f", "x", 1);
	blocked = join(file, "sub");
	assert_int_equal(p4r_mkdir_p(blocked, 0755), P4R_ERROR);
	assert_non_null(strstr(p4r_error_message(), "cannot create folder"));
	assert_int_equal(p4r_mkdir_p(file, 0755), P4R_ERROR);
	assert_int_equal(p4r_mkdir_p("", 0755), P4R_EUSAGE);

	free(blocked);
	free(file);
	free(deep);
	tu_rmtree_free(dir);
}

static void test_write_file_atomic(void **state)
{
	char *dir = tu_mkdtemp(), *path = join(dir, "pointer"), *text;
	struct stat st;
	size_t len;

	(void)state;
	assert_int_equal(p4r_write_file_atomic(path, "first\n", 6, 0640), 0);
	text = tu_slurp(path, &len);
	assert_int_equal(len, 6);
	assert_string_equal(text, "first\n");
	free(text);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);

	assert_int_equal(p4r_write_file_atomic(path, "second", 6, 0644), 0);
	text = tu_slurp(path, NULL);
	assert_string_equal(text, "second");
	free(text);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);

	/* empty content is a valid file */
	assert_int_equal(p4r_write_file_atomic(path, "", 0, 0644), 0);
	text = tu_slurp(path, &len);
	assert_int_equal(len, 0);
	free(text);
	/* no temporary file is left behind */
	assert_int_equal(count_entries(dir), 1);

	free(path);
	tu_rmtree_free(dir);
}

static void test_write_file_atomic_fsync_fails(void **state)
{
	char *dir = tu_mkdtemp(), *path = join(dir, "cfg"), *text;

	(void)state;
	/* the first call must succeed: arm the fault only for the second */
	assert_int_equal(p4r_write_file_atomic(path, "old", 3, 0644), 0);
	fail_fsync_errno = EIO;
	assert_int_equal(p4r_write_file_atomic(path, "new", 3, 0644), P4R_ERROR);
	fail_fsync_errno = 0;
	assert_non_null(strstr(p4r_error_message(), "cannot fsync"));
	assert_non_null(strstr(p4r_error_message(), strerror(EIO)));
	text = tu_slurp(path, NULL);
	assert_string_equal(text, "old");
	free(text);
	assert_int_equal(count_entries(dir), 1);
	free(path);
	tu_rmtree_free(dir);
}

static void test_write_file_atomic_rename_fails(void **state)
{
	char *dir = tu_mkdtemp(), *path = join(dir, "cfg"), *text;

	(void)state;
	assert_int_equal(p4r_write_file_atomic(path, "old", 3, 0644), 0);
	fail_rename_errno = EXDEV;
	assert_int_equal(p4r_write_file_atomic(path, "new", 3, 0644), P4R_ERROR);
	fail_rename_errno = 0;
	assert_non_null(strstr(p4r_error_message(), "cannot replace"));
	text = tu_slurp(path, NULL);
	assert_string_equal(text, "old");
	free(text);
	assert_int_equal(count_entries(dir), 1);
	free(path);
	tu_rmtree_free(dir);
}

/* A real short write: RLIMIT_FSIZE makes write(2) fail with EFBIG. */
static void test_write_file_atomic_write_fails(void **state)
{
	struct rlimit old, small = { 4096, 4096 };
	char *big = calloc(1, 65536);
	void (*prev)(int);

	(void)state;
	assert_non_null(big);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small.rlim_max = old.rlim_max;
	prev = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	{
		char *dir = tu_mkdtemp(), *path = join(dir, "cfg"), *text;

		assert_int_equal(p4r_write_file_atomic(path, "old", 3, 0644), 0);
		assert_int_equal(p4r_write_file_atomic(path, big, 65536, 0644), P4R_ERROR);
		assert_non_null(strstr(p4r_error_message(), "cannot write"));
		assert_non_null(strstr(p4r_error_message(), strerror(EFBIG)));
		text = tu_slurp(path, NULL);
		assert_string_equal(text, "old");
		free(text);
		assert_int_equal(count_entries(dir), 1);
		free(path);
		tu_rmtree_free(dir);
	}
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, prev);
	free(big);
}

static void test_read_file(void **state)
{
	char *dir = tu_mkdtemp(), *path, *empty, *missing = join(dir, "missing"), *buf = NULL;
	size_t len = 99;

	(void)state;
	path = tu_write(dir, "f", "hello\nworld", 11);
	assert_int_equal(p4r_read_file(&buf, &len, path, 1024), 0);
	assert_int_equal(len, 11);
	assert_string_equal(buf, "hello\nworld");
	free(buf);

	/* exactly MAX bytes is allowed, one more is not */
	assert_int_equal(p4r_read_file(&buf, &len, path, 11), 0);
	free(buf);
	assert_int_equal(p4r_read_file(&buf, &len, path, 10), P4R_EUSAGE);
	assert_null(buf);
	assert_non_null(strstr(p4r_error_message(), "too large"));

	empty = tu_write(dir, "e", "", 0);
	assert_int_equal(p4r_read_file(&buf, NULL, empty, 10), 0);
	assert_string_equal(buf, "");
	free(buf);

	assert_int_equal(p4r_read_file(&buf, &len, missing, 10), P4R_ENOTFOUND);
	assert_non_null(strstr(p4r_error_message(), missing));
	assert_int_equal(p4r_read_file(&buf, &len, dir, 10), P4R_EUSAGE);

	free(missing);
	free(empty);
	free(path);
	tu_rmtree_free(dir);
}

/* Files whose st_size lies (0 for /proc) are read to their real end. */
static void test_read_file_proc(void **state)
{
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(p4r_read_file(&buf, &len, "/proc/self/status", 1 << 20), 0);
	assert_true(len > 0);
	assert_int_equal(strlen(buf), len);
	assert_non_null(strstr(buf, "Pid:"));
	free(buf);
	assert_int_equal(p4r_read_file(&buf, &len, "/proc/self/status", 8), P4R_EUSAGE);
	assert_null(buf);
}

static void test_write_all(void **state)
{
	const size_t len = 1 << 20;
	char *big = malloc(len), *dir = tu_mkdtemp(), *path = join(dir, "out"), *back;
	size_t got;
	int fd;

	(void)state;
	assert_non_null(big);
	memset(big, 'x', len);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(p4r_write_all(fd, big, len), 0);
	close(fd);
	back = tu_slurp(path, &got);
	assert_int_equal(got, len);
	assert_memory_equal(back, big, len);
	free(back);

	fd = open("/dev/full", O_WRONLY);
	if (fd >= 0) {
		assert_int_equal(p4r_write_all(fd, big, 10), P4R_ERROR);
		assert_non_null(strstr(p4r_error_message(), strerror(ENOSPC)));
		close(fd);
	}
	free(path);
	free(big);
	tu_rmtree_free(dir);
}

static void test_mkstemp_in(void **state)
{
	char *dir = tu_mkdtemp(), *path = NULL, *want, *path2 = NULL, longp[301];
	struct stat st;
	int fd = -1, fd2 = -1;

	(void)state;
	assert_int_equal(p4r_mkstemp_in(&fd, &path, dir, "model.bin"), 0);
	assert_true(fd >= 0);
	want = join(dir, ".model.bin.");
	assert_int_equal(strncmp(path, want, strlen(want)), 0);
	assert_int_equal(strlen(path), strlen(want) + 6);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	assert_int_equal(write(fd, "x", 1), 1);

	/* a second call gives another file */
	assert_int_equal(p4r_mkstemp_in(&fd2, &path2, dir, "model.bin"), 0);
	assert_string_not_equal(path, path2);
	close(fd2);
	free(path2);

	/* a prefix as long as a file name still gives a valid name */
	memset(longp, 'n', 300);
	longp[300] = '\0';
	assert_int_equal(p4r_mkstemp_in(&fd2, &path2, dir, longp), 0);
	close(fd2);
	free(path2);

	free(want);
	close(fd);
	free(path);
	tu_rmtree_free(dir);
}

static void test_mkstemp_in_missing_dir(void **state)
{
	char *dir = tu_mkdtemp(), *gone = join(dir, "gone"), *path = (char *)"unchanged";
	int fd = 5;

	(void)state;
	assert_int_equal(p4r_mkstemp_in(&fd, &path, gone, "x"), P4R_ENOTFOUND);
	assert_int_equal(fd, -1);
	assert_null(path);
	assert_non_null(strstr(p4r_error_message(), gone));
	free(gone);
	tu_rmtree_free(dir);
}

static void test_fsync_dir(void **state)
{
	char *dir = tu_mkdtemp(), *file, *gone = join(dir, "gone");

	(void)state;
	file = tu_write(dir, "f", "x", 1);
	assert_int_equal(p4r_fsync_dir(dir), 0);
	assert_int_equal(p4r_fsync_parent(file), 0);
	assert_int_equal(p4r_fsync_parent("relative-name"), 0);
	assert_int_equal(p4r_fsync_parent("/top"), 0);
	assert_int_equal(p4r_fsync_dir(gone), P4R_ENOTFOUND);
	assert_int_equal(p4r_fsync_dir(file), P4R_ERROR); /* ENOTDIR */

	fail_fsync_errno = EIO;
	assert_int_equal(p4r_fsync_dir(dir), P4R_ERROR);
	fail_fsync_errno = 0;
	assert_non_null(strstr(p4r_error_message(), "cannot fsync folder"));

	free(gone);
	free(file);
	tu_rmtree_free(dir);
}

/* The temporary file beside NAME, and the shapes that are not one. */
static void test_tmp_beside_target(void **state)
{
	char t[64];

	(void)state;
	assert_true(p4r_tmp_beside_target("sub/.model.bin.p4reg-tmp.Ab3dE9", t, sizeof(t)));
	assert_string_equal(t, "sub/model.bin");
	assert_true(p4r_tmp_beside_target(".a.p4reg-tmp.zzzzzz", t, sizeof(t)));
	assert_string_equal(t, "a");
	assert_false(p4r_tmp_beside_target("model.bin.p4reg-tmp.Ab3dE9", t, sizeof(t)));  /* no dot */
	assert_false(p4r_tmp_beside_target(".p4reg-tmp.Ab3dE9", t, sizeof(t)));          /* no NAME */
	assert_false(p4r_tmp_beside_target(".a.p4reg-tmp.Ab3d", t, sizeof(t)));          /* short */
	assert_false(p4r_tmp_beside_target(".a.p4reg-tmp.Ab3d-9", t, sizeof(t)));        /* not alnum */
	assert_false(p4r_tmp_beside_target(".a.p4reg-tmp.Ab3dE9.bak", t, sizeof(t)));
	assert_false(p4r_tmp_beside_target("d/.a.p4reg-tmp.Ab3dE9", t, 3));                /* too small */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_join),
		cmocka_unit_test(test_mkdir_p),
		cmocka_unit_test(test_write_file_atomic),
		cmocka_unit_test(test_write_file_atomic_fsync_fails),
		cmocka_unit_test(test_write_file_atomic_rename_fails),
		cmocka_unit_test(test_write_file_atomic_write_fails),
		cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_read_file_proc),
		cmocka_unit_test(test_write_all),
		cmocka_unit_test(test_mkstemp_in),
		cmocka_unit_test(test_mkstemp_in_missing_dir),
		cmocka_unit_test(test_fsync_dir),
		cmocka_unit_test(test_tmp_beside_target),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
