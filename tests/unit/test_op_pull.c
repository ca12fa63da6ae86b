/* Unit tests of the pull operation (ops/pull.c) against a folder remote
 * (testutil's sync fixture): what A pushes, B pulls -- the version, the
 * verified object and the work file's bytes with its pointer; a corrupt
 * remote object leaves B's work tree untouched. In copy mode the download
 * writes the object and the work file from one read (issue 18): the
 * object is never opened afterwards, and a failed fsync of either
 * temporary file publishes neither. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/config.h"
#include "p4reg/ops/pull.h"
#include "p4reg/ops/push.h"
#include "p4reg/pointer.h"
#include "p4reg/registry.h"
#include "p4reg/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Fault injection and counting: these definitions win over libc's for
 * the whole test binary, the core library included. */
static const char *fail_fsync_on;  /* fsync of a file whose path has this fails (EIO) */
static const char *count_open_of;  /* open(2) of a path with this is counted */
static unsigned opens_counted;

int fsync(int fd)
{
	char link[64], path[PATH_MAX];
	ssize_t n;

	if (fail_fsync_on) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, path, sizeof(path) - 1);
		path[n > 0 ? n : 0] = '\0';
		if (strstr(path, fail_fsync_on)) {
			errno = EIO;
			return -1;
		}
	}
	return (int)syscall(SYS_fsync, fd);
}

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (count_open_of && strstr(path, count_open_of))
		opens_counted++;
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

static int setup(void **state)
{
	tu_sync *s = tu_sync_new();
	p4r_push_opts po = { .remote = "origin" };
	p4r_push_result pr;

	assert_int_equal(p4r_push(s->a, &po, NULL, &pr), 0);
	p4r_push_result_free(&pr);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	fail_fsync_on = count_open_of = NULL;
	opens_counted = 0;
	tu_sync_free(*state);
	return 0;
}

/* The fixture with B set to copy its work files (core.cacheType copy). */
static int setup_copy(void **state)
{
	tu_sync *s;

	setup(state);
	s = *state;
	assert_int_equal(p4r_config_set(p4r_repo_config(s->b), true, "core.cacheType", "copy"), 0);
	return 0;
}

/* Entries of the folder DIR other than "." and "..", sync.lock and the
 * names in KEEP (NULL-terminated). */
static int foreign_entries(const char *dir, const char *const *keep)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	size_t i;
	bool kept;

	assert_non_null(d);
	while ((e = readdir(d))) {
		kept = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, "sync.lock");
		for (i = 0; keep && keep[i] && !kept; i++)
			kept = !strcmp(e->d_name, keep[i]);
		n += !kept;
	}
	closedir(d);
	return n;
}

/* Nothing but B's own files in its work tree, nothing in its tmp/. */
static void assert_no_leftovers(tu_sync *s)
{
	static const char *const root[] = { ".p4reg", "m.bin", "m.bin" P4R_POINTER_SUFFIX, ".gitignore",
					     NULL };
	char *tmp = p4r_path_join(p4r_repo_meta(s->b), "tmp");

	assert_int_equal(foreign_entries(p4r_repo_root(s->b), root), 0);
	assert_int_equal(foreign_entries(tmp, NULL), 0);
	free(tmp);
}

static char *b_path(tu_sync *s, const char *rel)
{
	return p4r_path_join(p4r_repo_root(s->b), rel);
}

/* pull m@1 into B: the event, the object and m.bin with its pointer. */
static void test_pull_ref(void **state)
{
	tu_sync *s = *state;
	char *args[] = { "m@1" };
	p4r_pull_opts po = { .remote = "origin", .args = args, .nargs = 1, .no_stage = true };
	p4r_pull_result pr = { 0 };
	p4r_version v = { 0 };
	char *file = b_path(s, "m.bin"), *ptr = b_path(s, "m.bin" P4R_POINTER_SUFFIX), *back;
	struct stat st;
	size_t len;

	assert_int_equal(p4r_pull(s->b, &po, NULL, &pr), 0);
	assert_true(pr.fetched);
	assert_string_equal(pr.remote->name, "origin");
	assert_int_equal(pr.sync.events_applied, 1);
	assert_int_equal(pr.checkout.n, 1);
	assert_string_equal(pr.checkout.rows[0].path, "m.bin");
	assert_string_equal(pr.checkout.rows[0].model, "m");
	assert_int_equal(pr.checkout.rows[0].version, 1);
	assert_int_equal(pr.checkout.rows[0].action, P4R_CHECKOUT_WRITTEN);
	assert_int_equal(pr.sync.objects_received, 1);
	assert_int_equal(pr.sync.bytes_received, TU_SYNC_SIZE);
	p4r_pull_result_free(&pr);

	assert_int_equal(p4r_registry_version_get(p4r_repo_registry(s->b), "m", 1, &v), 0);
	assert_true(p4r_oid_equal(&v.oid, &s->v1));
	p4r_version_clear(&v);
	assert_int_equal(p4r_store_verify(p4r_repo_store(s->b), &s->v1), 0);
	back = tu_slurp(file, &len);
	assert_int_equal(len, TU_SYNC_SIZE);
	assert_memory_equal(back, TU_SYNC_BYTES, len);
	free(back);
	assert_int_equal(lstat(ptr, &st), 0);
	back = tu_slurp(ptr, NULL);
	assert_non_null(strstr(back, s->v1.hex));
	free(back);
	free(ptr);
	free(file);
}

/* The remote's object has other bytes: P4R_EINTEGRITY, no file written,
 * the object not stored; the events are applied (fetched is true). */
static void test_pull_corrupt_object(void **state)
{
	tu_sync *s = *state;
	char *args[] = { "m@1" };
	p4r_pull_opts po = { .remote = "origin", .args = args, .nargs = 1, .no_stage = true };
	p4r_pull_result pr = { 0 };
	char *file = b_path(s, "m.bin");
	struct stat st;

	tu_sync_corrupt_remote(s);
	assert_int_equal(p4r_pull(s->b, &po, NULL, &pr), P4R_EINTEGRITY);
	p4r_error_clear();
	assert_true(pr.fetched);
	assert_int_equal(pr.checkout.n, 0);
	p4r_pull_result_free(&pr);
	assert_false(p4r_store_has(p4r_repo_store(s->b), &s->v1));
	assert_int_equal(lstat(file, &st), -1);
	free(file);
}

/* Copy mode: the work file and the object come from one read of the
 * remote's bytes -- two inodes, both whole, the object never opened after
 * it was published -- and the object's fingerprint is recorded. */
static void test_pull_copy_reads_once(void **state)
{
	tu_sync *s = *state;
	char *args[] = { "m@1" };
	p4r_pull_opts po = { .remote = "origin", .args = args, .nargs = 1, .no_stage = true };
	p4r_pull_result pr = { 0 };
	char *file = b_path(s, "m.bin"), obj[PATH_MAX], *back;
	struct stat fst, ost;
	size_t len;

	assert_int_equal(p4r_store_object_path(p4r_repo_store(s->b), &s->v1, obj, sizeof(obj)), 0);
	count_open_of = "/objects/";
	assert_int_equal(p4r_pull(s->b, &po, NULL, &pr), 0);
	count_open_of = NULL;
	assert_int_equal(opens_counted, 0);
	assert_int_equal(pr.checkout.rows[0].action, P4R_CHECKOUT_WRITTEN);
	p4r_pull_result_free(&pr);
	back = tu_slurp(file, &len);
	assert_int_equal(len, TU_SYNC_SIZE);
	assert_memory_equal(back, TU_SYNC_BYTES, len);
	free(back);
	assert_int_equal(stat(file, &fst), 0);
	assert_int_equal(stat(obj, &ost), 0);
	assert_true(fst.st_ino != ost.st_ino);
	assert_int_equal(fst.st_mode & 07777, 0644);
	assert_int_equal(ost.st_mode & 07777, 0444);
	assert_int_equal(p4r_store_verify(p4r_repo_store(s->b), &s->v1), 0);
	assert_no_leftovers(s);
	free(file);
}

/* The copy mode's temporary files: a failed fsync of either one (the
 * work file's, the object's) publishes neither, and leaves nothing. */
static void fsync_fails_case(tu_sync *s, const char *which)
{
	char *args[] = { "m@1" };
	p4r_pull_opts po = { .remote = "origin", .args = args, .nargs = 1, .no_stage = true };
	p4r_pull_result pr = { 0 };
	char *file = b_path(s, "m.bin");
	struct stat st;

	fail_fsync_on = which;
	assert_int_equal(p4r_pull(s->b, &po, NULL, &pr), P4R_ERROR);
	fail_fsync_on = NULL;
	assert_non_null(strstr(p4r_error_message(), "Input/output error"));
	p4r_error_clear();
	assert_int_equal(pr.checkout.n, 0);
	p4r_pull_result_free(&pr);
	assert_false(p4r_store_has(p4r_repo_store(s->b), &s->v1));
	assert_int_equal(lstat(file, &st), -1);
	assert_no_leftovers(s);
	/* and the next pull gets both */
	assert_int_equal(p4r_pull(s->b, &po, NULL, &pr), 0);
	p4r_pull_result_free(&pr);
	assert_int_equal(lstat(file, &st), 0);
	assert_true(p4r_store_has(p4r_repo_store(s->b), &s->v1));
	free(file);
}

static void test_pull_copy_work_fsync_fails(void **state)
{
	fsync_fails_case(*state, ".m.bin.p4reg-tmp.");
}

static void test_pull_copy_object_fsync_fails(void **state)
{
	fsync_fails_case(*state, "/tmp/.fetch.");
}

/* A corrupt remote object in copy mode: exit 4, neither file published,
 * no temporary file left. */
static void test_pull_copy_corrupt(void **state)
{
	tu_sync *s = *state;
	char *args[] = { "m@1" };
	p4r_pull_opts po = { .remote = "origin", .args = args, .nargs = 1, .no_stage = true };
	p4r_pull_result pr = { 0 };
	char *file = b_path(s, "m.bin");
	struct stat st;

	tu_sync_corrupt_remote(s);
	assert_int_equal(p4r_pull(s->b, &po, NULL, &pr), P4R_EINTEGRITY);
	p4r_error_clear();
	p4r_pull_result_free(&pr);
	assert_false(p4r_store_has(p4r_repo_store(s->b), &s->v1));
	assert_int_equal(lstat(file, &st), -1);
	assert_no_leftovers(s);
	free(file);
}

/* An unknown remote: nothing fetched, no remote in the result. */
static void test_pull_unknown_remote(void **state)
{
	tu_sync *s = *state;
	p4r_pull_opts po = { .remote = "elsewhere" };
	p4r_pull_result pr = { 0 };

	assert_int_equal(p4r_pull(s->b, &po, NULL, &pr), P4R_ENOTFOUND);
	p4r_error_clear();
	assert_null(pr.remote);
	assert_false(pr.fetched);
	p4r_pull_result_free(&pr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pull_ref, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pull_corrupt_object, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pull_unknown_remote, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pull_copy_reads_once, setup_copy, teardown),
		cmocka_unit_test_setup_teardown(test_pull_copy_work_fsync_fails, setup_copy, teardown),
		cmocka_unit_test_setup_teardown(test_pull_copy_object_fsync_fails, setup_copy, teardown),
		cmocka_unit_test_setup_teardown(test_pull_copy_corrupt, setup_copy, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
