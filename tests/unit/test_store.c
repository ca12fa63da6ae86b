/* Unit tests for store.c: layout, link methods, checkout integrity, faults. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/hash.h"
#include "p4reg/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define MiB ((size_t)1 << 20)

/* Fault injection: these definitions win over libc's for the whole test
 * binary, the core library included. 0 = normal; else fail with it. */
/* p4r_store_checkout to a path: opens its folder as the work tree code does. */
static int checkout_path(p4r_store *store, const p4r_oid *oid, const char *dest,
			 const p4r_link_type *order, size_t n, p4r_link_type *used,
			 p4r_progress_fn progress, void *payload)
{
	char *dir = strdup(dest), *slash = strrchr(dir, '/');
	int fd, rc;

	*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	rc = fd < 0 ? -1 : p4r_store_checkout(store, oid, fd, slash + 1, dest, order, n, used,
					       progress, payload);
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

static int fail_fsync_errno;
static int fail_rename_errno;
static int fail_syncfs_errno;
static unsigned fsync_calls, syncfs_calls;

int fsync(int fd)
{
	fsync_calls++;
	if (fail_fsync_errno) {
		errno = fail_fsync_errno;
		return -1;
	}
	return (int)syscall(SYS_fsync, fd);
}

int rename(const char *from, const char *to)
{
	if (fail_rename_errno) {
		errno = fail_rename_errno;
		return -1;
	}
	return renameat(AT_FDCWD, from, AT_FDCWD, to);
}

int syncfs(int fd)
{
	syncfs_calls++;
	if (fail_syncfs_errno) {
		errno = fail_syncfs_errno;
		return -1;
	}
	return (int)syscall(SYS_syncfs, fd);
}

/* the store publishes objects with renameat2 (RENAME_NOREPLACE) */
int renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned int flags)
{
	if (fail_rename_errno) {
		errno = fail_rename_errno;
		return -1;
	}
	return (int)syscall(SYS_renameat2, fromfd, from, tofd, to, flags);
}

/* One store per test, in its own temporary folder. */
struct fx {
	char *dir;          /* the work tree */
	char *meta;         /* DIR/.p4reg */
	char *tmp;          /* META/tmp */
	p4r_store *store;
};

static const p4r_link_type COPY[] = { P4R_LINK_COPY };
static const p4r_link_type HARDLINK[] = { P4R_LINK_HARDLINK };
static const p4r_link_type REFLINK_COPY[] = { P4R_LINK_REFLINK, P4R_LINK_COPY };

static char *join(const char *a, const char *b)
{
	char *p = p4r_path_join(a, b);

	assert_non_null(p);
	return p;
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->dir = tu_mkdtemp();
	fx->meta = join(fx->dir, ".p4reg");
	fx->tmp = join(fx->meta, "tmp");
	assert_int_equal(mkdir(fx->meta, 0755), 0);
	assert_int_equal(p4r_store_init(fx->meta), 0);
	assert_int_equal(p4r_store_open(&fx->store, fx->meta), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	fail_fsync_errno = fail_rename_errno = fail_syncfs_errno = 0;
	p4r_store_free(fx->store);
	free(fx->tmp);
	free(fx->meta);
	tu_rmtree_free(fx->dir);
	free(fx);
	return 0;
}

/* Deterministic bytes that do not repeat on block boundaries. */
static unsigned char *random_bytes(size_t len, uint32_t seed)
{
	unsigned char *buf = malloc(len ? len : 1);
	uint32_t x = seed ? seed : 1;
	size_t i;

	assert_non_null(buf);
	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (unsigned char)(x >> 24);
	}
	return buf;
}

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

static void object_path(struct fx *fx, const p4r_oid *oid, char *buf, size_t sz)
{
	assert_int_equal(p4r_store_object_path(fx->store, oid, buf, sz), 0);
}

static void assert_file_bytes(const char *path, const void *data, size_t len)
{
	size_t got;
	char *back = tu_slurp(path, &got);

	assert_int_equal(got, len);
	if (len)
		assert_memory_equal(back, data, len);
	free(back);
}

/* Flips one byte of a read-only object, as bit rot or a careless editor would. */
static void corrupt_object(struct fx *fx, const p4r_oid *oid, off_t at)
{
	char path[PATH_MAX];
	unsigned char c;
	int fd;

	object_path(fx, oid, path, sizeof(path));
	assert_int_equal(chmod(path, 0644), 0);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, at), 1);
	c ^= 0x5a;
	assert_int_equal(pwrite(fd, &c, 1, at), 1);
	close(fd);
	assert_int_equal(chmod(path, 0444), 0);
}

static void insert_data(struct fx *fx, const char *name, const void *data, size_t len,
			p4r_insert_result *res)
{
	char *path = tu_write(fx->dir, name, data, len);

	assert_int_equal(p4r_store_insert_file(fx->store, path, COPY, 1, res, NULL, NULL), 0);
	free(path);
}

static void test_init_layout(void **state)
{
	struct fx *fx = *state;
	char *objects = join(fx->meta, "objects");
	struct stat st;

	assert_int_equal(stat(objects, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(stat(fx->tmp, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	/* init on an existing store is harmless */
	assert_int_equal(p4r_store_init(fx->meta), 0);
	free(objects);
}

static void test_object_path(void **state)
{
	struct fx *fx = *state;
	char buf[PATH_MAX], want[PATH_MAX], tiny[8];
	p4r_oid oid, bad;

	assert_int_equal(p4r_oid_parse(&oid, EMPTY_SHA), 0);
	object_path(fx, &oid, buf, sizeof(buf));
	snprintf(want, sizeof(want), "%s/objects/e3/b0/%s", fx->meta, EMPTY_SHA);
	assert_string_equal(buf, want);
	assert_int_equal(p4r_store_object_path(fx->store, &oid, tiny, sizeof(tiny)), P4R_ERROR);

	/* an oid that is not 64 lowercase hex digits never becomes a path */
	memcpy(&bad, &oid, sizeof(bad));
	bad.hex[0] = '.';
	bad.hex[1] = '.';
	assert_int_equal(p4r_store_object_path(fx->store, &bad, buf, sizeof(buf)), P4R_EUSAGE);
	assert_false(p4r_store_has(fx->store, &bad));
	assert_false(p4r_store_has(fx->store, &oid));
}

static void test_insert_copy_small(void **state)
{
	struct fx *fx = *state;
	char *path = tu_write(fx->dir, "model.bin", "hello weights", 13), obj[PATH_MAX];
	p4r_insert_result res;
	p4r_oid want;
	struct stat st;

	assert_int_equal(p4r_store_insert_file(fx->store, path, COPY, 1, &res, NULL, NULL), 0);
	assert_int_equal(p4r_hash_buffer(&want, "hello weights", 13), 0);
	assert_string_equal(res.oid.hex, want.hex);
	assert_int_equal(res.size, 13);
	assert_false(res.existed);
	assert_int_equal(res.used, P4R_LINK_COPY);
	assert_true(p4r_store_has(fx->store, &res.oid));

	object_path(fx, &res.oid, obj, sizeof(obj));
	assert_non_null(strstr(obj, "/objects/"));
	assert_int_equal(stat(obj, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0444);
	assert_file_bytes(obj, "hello weights", 13);
	/* the work tree file is untouched by a copy */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0200, 0200);
	assert_int_equal(count_entries(fx->tmp), 0);
	free(path);
}

struct progress_log {
	unsigned calls;
	uint64_t last_done, last_total;
	bool monotonic;
};

static void record_progress(uint64_t done, uint64_t total, void *payload)
{
	struct progress_log *log = payload;

	if (done < log->last_done || done > total)
		log->monotonic = false;
	log->calls++;
	log->last_done = done;
	log->last_total = total;
}

/* More blocks than ring slots: every slot is reused at least once. */
static void test_insert_copy_large(void **state)
{
	struct fx *fx = *state;
	const size_t len = 21 * MiB + 123;
	unsigned char *data = random_bytes(len, 1234);
	char *path = tu_write(fx->dir, "big.bin", data, len), obj[PATH_MAX];
	struct progress_log log = { 0, 0, 0, true };
	p4r_insert_result res;
	p4r_oid want;
	struct stat st;

	assert_int_equal(p4r_store_insert_file(fx->store, path, COPY, 1, &res, record_progress,
					       &log), 0);
	assert_int_equal(p4r_hash_buffer(&want, data, len), 0);
	assert_string_equal(res.oid.hex, want.hex);
	assert_int_equal(res.size, len);
	assert_false(res.existed);
	object_path(fx, &res.oid, obj, sizeof(obj));
	assert_int_equal(stat(obj, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0444);
	assert_file_bytes(obj, data, len);
	assert_int_equal(count_entries(fx->tmp), 0);

	assert_true(log.calls >= 2);
	assert_true(log.monotonic);
	assert_int_equal(log.last_done, len);
	assert_int_equal(log.last_total, len);
	assert_int_equal(p4r_store_verify(fx->store, &res.oid), 0);
	free(path);
	free(data);
}

static void test_insert_twice_existed(void **state)
{
	struct fx *fx = *state;
	const size_t len = 5 * MiB + 3;
	unsigned char *data = random_bytes(len, 99);
	p4r_insert_result a, b, c;

	insert_data(fx, "a.bin", data, len, &a);
	assert_false(a.existed);
	insert_data(fx, "a.bin", data, len, &b);
	assert_true(b.existed);
	assert_string_equal(a.oid.hex, b.oid.hex);
	assert_int_equal(b.size, len);
	/* same bytes under another name are the same object */
	insert_data(fx, "copy-of-a.bin", data, len, &c);
	assert_true(c.existed);
	assert_string_equal(a.oid.hex, c.oid.hex);
	assert_int_equal(count_entries(fx->tmp), 0);
	free(data);
}

static void test_insert_empty_file(void **state)
{
	struct fx *fx = *state;
	p4r_insert_result res;
	char obj[PATH_MAX];

	insert_data(fx, "empty", "", 0, &res);
	assert_string_equal(res.oid.hex, EMPTY_SHA);
	assert_int_equal(res.size, 0);
	object_path(fx, &res.oid, obj, sizeof(obj));
	assert_file_bytes(obj, "", 0);
	assert_int_equal(count_entries(fx->tmp), 0);
}

static void test_insert_hardlink(void **state)
{
	struct fx *fx = *state;
	const size_t len = 6 * MiB + 5;
	unsigned char *data = random_bytes(len, 5);
	char *path = tu_write(fx->dir, "linked.bin", data, len), obj[PATH_MAX];
	p4r_insert_result res;
	struct stat work, ost;
	p4r_oid want;

	assert_int_equal(p4r_store_insert_file(fx->store, path, HARDLINK, 1, &res, NULL, NULL), 0);
	assert_int_equal(p4r_hash_buffer(&want, data, len), 0);
	assert_string_equal(res.oid.hex, want.hex);
	assert_int_equal(res.size, len);
	assert_false(res.existed);
	assert_int_equal(res.used, P4R_LINK_HARDLINK);

	object_path(fx, &res.oid, obj, sizeof(obj));
	assert_int_equal(stat(obj, &ost), 0);
	assert_int_equal(stat(path, &work), 0);
	assert_int_equal(work.st_ino, ost.st_ino);
	assert_int_equal(work.st_dev, ost.st_dev);
	assert_int_equal(ost.st_nlink, 2);
	/* documented: the work tree file becomes read-only with the object */
	assert_int_equal(ost.st_mode & 07777, 0444);
	assert_file_bytes(obj, data, len);
	assert_int_equal(count_entries(fx->tmp), 0);
	free(path);
	free(data);
}

static void test_insert_reflink_or_copy(void **state)
{
	struct fx *fx = *state;
	char *path = tu_write(fx->dir, "r.bin", "reflink me", 10), obj[PATH_MAX];
	static const p4r_link_type only_reflink[] = { P4R_LINK_REFLINK };
	p4r_insert_result res;
	int rc;

	/* ext4/tmpfs cannot reflink: the order falls through to copy */
	assert_int_equal(p4r_store_insert_file(fx->store, path, REFLINK_COPY, 2, &res, NULL,
					       NULL), 0);
	assert_true(res.used == P4R_LINK_REFLINK || res.used == P4R_LINK_COPY);
	object_path(fx, &res.oid, obj, sizeof(obj));
	assert_file_bytes(obj, "reflink me", 10);
	assert_int_equal(count_entries(fx->tmp), 0);
	free(path);

	path = tu_write(fx->dir, "r2.bin", "reflink only", 12);
	rc = p4r_store_insert_file(fx->store, path, only_reflink, 1, &res, NULL, NULL);
	if (rc == 0) {
		assert_int_equal(res.used, P4R_LINK_REFLINK);
		assert_true(p4r_store_has(fx->store, &res.oid));
	} else {
		assert_int_equal(rc, P4R_ERROR);
		assert_non_null(strstr(p4r_error_message(), "reflink"));
	}
	assert_int_equal(count_entries(fx->tmp), 0);
	free(path);
}

static void test_insert_errors(void **state)
{
	struct fx *fx = *state;
	char *missing = join(fx->dir, "missing.bin");
	p4r_insert_result res;

	assert_int_equal(p4r_store_insert_file(fx->store, fx->meta, COPY, 1, &res, NULL, NULL),
			 P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "is not a regular file"));
	assert_int_equal(p4r_store_insert_file(fx->store, missing, COPY, 1, &res, NULL, NULL),
			 P4R_ENOTFOUND);
	assert_non_null(strstr(p4r_error_message(), missing));
	assert_int_equal(count_entries(fx->tmp), 0);
	free(missing);
}

static void test_insert_buffer(void **state)
{
	struct fx *fx = *state;
	char obj[PATH_MAX];
	struct stat st;
	p4r_oid oid, again;

	assert_int_equal(p4r_store_insert_buffer(fx->store, "abc", 3, &oid), 0);
	assert_string_equal(oid.hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_true(p4r_store_has(fx->store, &oid));
	object_path(fx, &oid, obj, sizeof(obj));
	assert_file_bytes(obj, "abc", 3);
	assert_int_equal(stat(obj, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0444);
	assert_int_equal(p4r_store_insert_buffer(fx->store, "abc", 3, &again), 0);
	assert_true(p4r_oid_equal(&oid, &again));
	assert_int_equal(count_entries(fx->tmp), 0);
}

/* A batch: no fsync per object, one syncfs for all, none when idle. */
static void test_deferred_batch(void **state)
{
	struct fx *fx = *state;
	p4r_insert_result res[20];
	char name[32], *path, obj[PATH_MAX];
	size_t i;

	p4r_store_defer_sync(fx->store, true);
	fsync_calls = syncfs_calls = 0;
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "f%zu", i);
		path = tu_write(fx->dir, name, name, strlen(name));
		assert_int_equal(p4r_store_insert_file(fx->store, path, COPY, 1, &res[i], NULL, NULL), 0);
		free(path);
	}
	p4r_store_defer_sync(fx->store, false);
	assert_int_equal(fsync_calls, 0);
	assert_int_equal(p4r_store_sync(fx->store), 0);
	assert_int_equal(syncfs_calls, 1);
	assert_int_equal(p4r_store_sync(fx->store), 0);
	assert_int_equal(syncfs_calls, 1);
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "f%zu", i);
		object_path(fx, &res[i].oid, obj, sizeof(obj));
		assert_file_bytes(obj, name, strlen(name));
	}
	assert_int_equal(count_entries(fx->tmp), 0);
}

/* A failed syncfs fails the batch: nothing may name its objects. */
static void test_deferred_sync_fails(void **state)
{
	struct fx *fx = *state;
	p4r_oid oid;

	p4r_store_defer_sync(fx->store, true);
	assert_int_equal(p4r_store_insert_buffer(fx->store, "abc", 3, &oid), 0);
	p4r_store_defer_sync(fx->store, false);
	fail_syncfs_errno = EIO;
	assert_int_equal(p4r_store_sync(fx->store), P4R_ERROR);
	assert_non_null(strstr(p4r_error_message(), "cannot sync"));
}

/* An object with the right name and other bytes (a crashed batch) is
 * replaced by insert_buffer, not trusted; the right one is kept. */
static void test_insert_buffer_replaces_damaged(void **state)
{
	struct fx *fx = *state;
	char obj[PATH_MAX], *dir;
	p4r_oid oid;

	assert_int_equal(p4r_hash_buffer(&oid, "abc", 3), 0);
	object_path(fx, &oid, obj, sizeof(obj));
	dir = strdup(obj);
	*strrchr(dir, '/') = '\0';
	assert_int_equal(p4r_mkdir_p(dir, 0755), 0);
	free(tu_write(dir, oid.hex, "\0\0\0", 3));
	free(dir);
	assert_int_equal(p4r_store_insert_buffer(fx->store, "abc", 3, &oid), 0);
	assert_file_bytes(obj, "abc", 3);
	fsync_calls = 0;
	assert_int_equal(p4r_store_insert_buffer(fx->store, "abc", 3, &oid), 0);
	assert_file_bytes(obj, "abc", 3);
	/* found, compared, and synced in case another batch has not yet */
	assert_int_equal(fsync_calls, 2);
}

static void test_checkout_copy(void **state)
{
	struct fx *fx = *state;
	const size_t len = 13 * MiB + 77;
	unsigned char *data = random_bytes(len, 77);
	char *sub = join(fx->dir, "out"), *dest = join(sub, "model.bin"), *old;
	p4r_link_type used = P4R_LINK_HARDLINK;
	p4r_insert_result res;
	struct stat st;

	insert_data(fx, "src.bin", data, len, &res);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(checkout_path(fx->store, &res.oid, dest, COPY, 1, &used, NULL,
					    NULL), 0);
	assert_int_equal(used, P4R_LINK_COPY);
	assert_file_bytes(dest, data, len);
	assert_int_equal(stat(dest, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(st.st_nlink, 1);
	assert_int_equal(count_entries(sub), 1);

	/* an existing, different file is replaced whole */
	old = tu_write(sub, "small.bin", "old bytes", 9);
	assert_int_equal(checkout_path(fx->store, &res.oid, old, COPY, 1, NULL, NULL, NULL),
			 0);
	assert_file_bytes(old, data, len);
	assert_int_equal(count_entries(sub), 2);
	free(old);
	free(dest);
	free(sub);
	free(data);
}

static void test_checkout_hardlink(void **state)
{
	struct fx *fx = *state;
	char *dest = join(fx->dir, "linked.bin"), obj[PATH_MAX];
	p4r_link_type used = P4R_LINK_COPY;
	p4r_insert_result res;
	struct stat a, b;

	insert_data(fx, "src.bin", "shared bytes", 12, &res);
	assert_int_equal(checkout_path(fx->store, &res.oid, dest, HARDLINK, 1, &used, NULL,
					    NULL), 0);
	assert_int_equal(used, P4R_LINK_HARDLINK);
	object_path(fx, &res.oid, obj, sizeof(obj));
	assert_int_equal(stat(obj, &a), 0);
	assert_int_equal(stat(dest, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_file_bytes(dest, "shared bytes", 12);

	/* DEST is already that inode: rename() is a no-op, no temp may stay */
	assert_int_equal(checkout_path(fx->store, &res.oid, dest, HARDLINK, 1, &used, NULL,
					    NULL), 0);
	assert_int_equal(count_entries(fx->dir), 3); /* .p4reg, src.bin, linked.bin */
	assert_int_equal(stat(obj, &a), 0);
	assert_int_equal(a.st_nlink, 2);
	free(dest);
}

static void test_checkout_reflink_or_copy(void **state)
{
	struct fx *fx = *state;
	char *dest = join(fx->dir, "out.bin");
	p4r_link_type used = P4R_LINK_HARDLINK;
	p4r_insert_result res;

	insert_data(fx, "src.bin", "clone me", 8, &res);
	assert_int_equal(checkout_path(fx->store, &res.oid, dest, REFLINK_COPY, 2, &used,
					    NULL, NULL), 0);
	assert_true(used == P4R_LINK_REFLINK || used == P4R_LINK_COPY);
	assert_file_bytes(dest, "clone me", 8);
	assert_int_equal(count_entries(fx->dir), 3);
	free(dest);
}

static void test_checkout_corrupt_keeps_dest(void **state)
{
	struct fx *fx = *state;
	const size_t len = 9 * MiB + 123;
	unsigned char *data = random_bytes(len, 3);
	char *sub = join(fx->dir, "w"), *dest;
	p4r_insert_result res;

	insert_data(fx, "src.bin", data, len, &res);
	corrupt_object(fx, &res.oid, (off_t)(len - 10));
	assert_int_equal(mkdir(sub, 0755), 0);
	dest = tu_write(sub, "model.bin", "precious local bytes", 20);

	assert_int_equal(checkout_path(fx->store, &res.oid, dest, COPY, 1, NULL, NULL, NULL),
			 P4R_EINTEGRITY);
	assert_non_null(strstr(p4r_error_message(), res.oid.hex));
	assert_non_null(strstr(p4r_error_message(), "is corrupt: its bytes hash to"));
	assert_file_bytes(dest, "precious local bytes", 20);
	assert_int_equal(count_entries(sub), 1);
	free(dest);
	free(sub);
	free(data);
}

static void test_checkout_missing(void **state)
{
	struct fx *fx = *state;
	char *dest = join(fx->dir, "never.bin"), want[200];
	p4r_oid oid;
	struct stat st;

	assert_int_equal(p4r_oid_parse(&oid, EMPTY_SHA), 0);
	assert_int_equal(checkout_path(fx->store, &oid, dest, COPY, 1, NULL, NULL, NULL),
			 P4R_ENOTFOUND);
	snprintf(want, sizeof(want), "object %s is missing from the store; 'p4reg pull' downloads "
		 "it, 'p4reg fsck' checks the rest", EMPTY_SHA);
	assert_string_equal(p4r_error_message(), want);
	assert_int_equal(stat(dest, &st), -1);
	free(dest);
}

/* A failing fsync of the temp file leaves DEST and the folder as they were. */
static void test_checkout_fsync_fails(void **state)
{
	struct fx *fx = *state;
	char *dest = tu_write(fx->dir, "keep.bin", "keep", 4);
	p4r_insert_result res;

	insert_data(fx, "src.bin", "new bytes", 9, &res);
	fail_fsync_errno = EIO;
	assert_int_equal(checkout_path(fx->store, &res.oid, dest, COPY, 1, NULL, NULL, NULL),
			 P4R_ERROR);
	fail_fsync_errno = 0;
	assert_non_null(strstr(p4r_error_message(), "cannot fsync"));
	assert_file_bytes(dest, "keep", 4);
	assert_int_equal(count_entries(fx->dir), 3);
	free(dest);
}

static void test_write_to_fd(void **state)
{
	struct fx *fx = *state;
	const size_t len = 11 * MiB + 1;
	unsigned char *data = random_bytes(len, 11);
	char *out = join(fx->dir, "out.bin");
	p4r_insert_result res;
	p4r_oid missing;
	int fd;

	insert_data(fx, "src.bin", data, len, &res);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(p4r_store_write_to_fd(fx->store, &res.oid, fd), 0);
	close(fd);
	assert_file_bytes(out, data, len);

	fd = open("/dev/full", O_WRONLY);
	if (fd >= 0) {
		assert_int_equal(p4r_store_write_to_fd(fx->store, &res.oid, fd), P4R_ERROR);
		assert_non_null(strstr(p4r_error_message(), strerror(ENOSPC)));
		close(fd);
	}

	corrupt_object(fx, &res.oid, 0);
	fd = open(out, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(p4r_store_write_to_fd(fx->store, &res.oid, fd), P4R_EINTEGRITY);
	close(fd);

	assert_int_equal(p4r_oid_parse(&missing, EMPTY_SHA), 0);
	assert_int_equal(p4r_store_write_to_fd(fx->store, &missing, STDOUT_FILENO), P4R_ENOTFOUND);
	free(out);
	free(data);
}

/* A download of LIMIT bytes: the bytes reach H and DST through the
 * pipeline (large) or one buffer (small); a source with more is refused
 * at the first block too many, and nothing past LIMIT reaches DST. */
static void copy_into_case(struct fx *fx, size_t limit, size_t have, int want_rc)
{
	unsigned char *data = random_bytes(have, (unsigned)have);
	char *src = tu_write(fx->dir, "src.bin", data, have), *out = join(fx->dir, "out.bin");
	p4r_hasher *h = NULL;
	p4r_oid got, want;
	uint64_t size = 0;
	struct stat st;
	int in = open(src, O_RDONLY), dst = open(out, O_RDWR | O_CREAT | O_TRUNC, 0600);

	assert_true(in >= 0 && dst >= 0);
	assert_int_equal(p4r_hasher_new(&h), 0);
	assert_int_equal(p4r_store_copy_into(h, &size, in, src, dst, out, limit, NULL, NULL), want_rc);
	assert_int_equal(fstat(dst, &st), 0);
	assert_true((size_t)st.st_size <= limit);
	if (want_rc == 0) {
		assert_int_equal(size, have);
		assert_int_equal(p4r_hasher_final(h, &got), 0);
		assert_int_equal(p4r_hash_buffer(&want, data, have), 0);
		assert_string_equal(got.hex, want.hex);
		assert_file_bytes(out, data, have);
	} else {
		assert_non_null(strstr(p4r_error_message(), "grew past its recorded size"));
	}
	p4r_hasher_free(h);
	close(in);
	close(dst);
	free(src);
	free(out);
	free(data);
}

static void test_copy_into_bounded(void **state)
{
	struct fx *fx = *state;

	copy_into_case(fx, 1000, 1000, 0);
	copy_into_case(fx, 1000, 1001, P4R_EINTEGRITY);
	copy_into_case(fx, 9 * MiB + 3, 9 * MiB + 3, 0);
	copy_into_case(fx, 9 * MiB + 3, 9 * MiB + 4, P4R_EINTEGRITY);
	copy_into_case(fx, 8 * MiB, 8 * MiB, 0);
	copy_into_case(fx, 8 * MiB, 12 * MiB, P4R_EINTEGRITY);
}

/* A download into two files from one read (a pull in copy mode): both get
 * every byte and H their hash, through the pipeline (large: a writer
 * thread each, O_DIRECT) or one buffer; more than LIMIT reaches neither. */
static void copy_tee_case(struct fx *fx, size_t limit, size_t have, int want_rc)
{
	unsigned char *data = random_bytes(have, (unsigned)have + 7);
	char *src = tu_write(fx->dir, "src.bin", data, have), *out = join(fx->dir, "out.bin"),
	     *out2 = join(fx->dir, "out2.bin");
	int in = open(src, O_RDONLY), dst = open(out, O_RDWR | O_CREAT | O_TRUNC, 0600),
	    dst2 = open(out2, O_RDWR | O_CREAT | O_TRUNC, 0600);
	p4r_hasher *h = NULL;
	p4r_oid got, want;
	uint64_t size = 0;
	struct stat st, st2;

	assert_true(in >= 0 && dst >= 0 && dst2 >= 0);
	assert_int_equal(p4r_hasher_new(&h), 0);
	assert_int_equal(p4r_store_copy_tee(h, &size, in, src, dst, out, dst2, out2, limit, NULL, NULL),
			 want_rc);
	assert_int_equal(fstat(dst, &st), 0);
	assert_int_equal(fstat(dst2, &st2), 0);
	assert_true((size_t)st.st_size <= limit && (size_t)st2.st_size <= limit);
	/* O_DIRECT is taken off again: the caller's own unaligned I/O works */
	assert_false(fcntl(dst, F_GETFL) & O_DIRECT);
	assert_false(fcntl(dst2, F_GETFL) & O_DIRECT);
	if (want_rc == 0) {
		assert_int_equal(size, have);
		assert_int_equal(p4r_hasher_final(h, &got), 0);
		assert_int_equal(p4r_hash_buffer(&want, data, have), 0);
		assert_string_equal(got.hex, want.hex);
		assert_file_bytes(out, data, have);
		assert_file_bytes(out2, data, have);
	} else {
		assert_non_null(strstr(p4r_error_message(), "grew past its recorded size"));
	}
	p4r_hasher_free(h);
	close(in);
	close(dst);
	close(dst2);
	free(src);
	free(out);
	free(out2);
	free(data);
}

static void test_copy_tee(void **state)
{
	struct fx *fx = *state;

	copy_tee_case(fx, 1000, 1000, 0);
	copy_tee_case(fx, 0, 0, 0);
	copy_tee_case(fx, 1000, 1001, P4R_EINTEGRITY);
	copy_tee_case(fx, 9 * MiB + 3, 9 * MiB + 3, 0);
	copy_tee_case(fx, 9 * MiB + 3, 9 * MiB + 4, P4R_EINTEGRITY);
	copy_tee_case(fx, 16 * MiB, 16 * MiB, 0);
	copy_tee_case(fx, 8 * MiB, 12 * MiB, P4R_EINTEGRITY);
}

/* The second file cannot be written (opened read-only): the copy fails
 * naming it, whichever path copies (one buffer, the pipeline). */
static void test_copy_tee_second_fails(void **state)
{
	struct fx *fx = *state;
	static const size_t sizes[] = { 1000, 9 * MiB + 3 };
	size_t i;

	for (i = 0; i < 2; i++) {
		unsigned char *data = random_bytes(sizes[i], 11);
		char *src = tu_write(fx->dir, "src.bin", data, sizes[i]), *out = join(fx->dir, "out.bin"),
		     *out2 = tu_write(fx->dir, "ro.bin", "", 0);
		int in = open(src, O_RDONLY), dst = open(out, O_RDWR | O_CREAT | O_TRUNC, 0600),
		    dst2 = open(out2, O_RDONLY);
		p4r_hasher *h = NULL;
		uint64_t size = 0;

		assert_int_equal(p4r_hasher_new(&h), 0);
		assert_int_equal(p4r_store_copy_tee(h, &size, in, src, dst, out, dst2, "second", sizes[i],
						    NULL, NULL), P4R_ERROR);
		assert_non_null(strstr(p4r_error_message(), "cannot write 'second'"));
		p4r_error_clear();
		p4r_hasher_free(h);
		close(in);
		close(dst);
		close(dst2);
		free(src);
		free(out);
		free(out2);
		free(data);
	}
}

static void test_verify(void **state)
{
	struct fx *fx = *state;
	p4r_insert_result a, b;
	char obj[PATH_MAX];
	p4r_oid missing;

	insert_data(fx, "a", "alpha bytes", 11, &a);
	insert_data(fx, "b", "beta bytes", 10, &b);
	assert_int_equal(p4r_store_verify(fx->store, &a.oid), 0);
	corrupt_object(fx, &a.oid, 3);
	assert_int_equal(p4r_store_verify(fx->store, &a.oid), P4R_EINTEGRITY);
	assert_non_null(strstr(p4r_error_message(), "is corrupt"));

	/* a truncated object is corrupt too */
	object_path(fx, &b.oid, obj, sizeof(obj));
	assert_int_equal(truncate(obj, 4), 0);
	assert_int_equal(p4r_store_verify(fx->store, &b.oid), P4R_EINTEGRITY);

	assert_int_equal(p4r_oid_parse(&missing, EMPTY_SHA), 0);
	assert_int_equal(p4r_store_verify(fx->store, &missing), P4R_ENOTFOUND);
	assert_non_null(strstr(p4r_error_message(), "is missing from the store"));
}

static void assert_same_stat(const struct stat *a, const struct stat *b)
{
	assert_int_equal(a->st_dev, b->st_dev);
	assert_int_equal(a->st_ino, b->st_ino);
	assert_int_equal(a->st_size, b->st_size);
	assert_int_equal(a->st_mtim.tv_sec, b->st_mtim.tv_sec);
	assert_int_equal(a->st_mtim.tv_nsec, b->st_mtim.tv_nsec);
	assert_int_equal(a->st_ctim.tv_sec, b->st_ctim.tv_sec);
	assert_int_equal(a->st_ctim.tv_nsec, b->st_ctim.tv_nsec);
}

/* The stat an insert reports is the object's after every step that moves
 * its ctime (chmod, link, rename): what the object guard records. */
static void test_insert_reports_placed_stat(void **state)
{
	struct fx *fx = *state;
	char *a = tu_write(fx->dir, "copied.bin", "copied bytes", 12);
	char *b = tu_write(fx->dir, "linked.bin", "linked bytes", 12), obj[PATH_MAX];
	p4r_insert_result res;
	struct stat now;

	assert_int_equal(p4r_store_insert_file(fx->store, a, COPY, 1, &res, NULL, NULL), 0);
	object_path(fx, &res.oid, obj, sizeof(obj));
	assert_int_equal(lstat(obj, &now), 0);
	assert_same_stat(&res.placed, &now);

	assert_int_equal(p4r_store_insert_file(fx->store, b, HARDLINK, 1, &res, NULL, NULL), 0);
	assert_int_equal(res.used, P4R_LINK_HARDLINK);
	object_path(fx, &res.oid, obj, sizeof(obj));
	assert_int_equal(lstat(obj, &now), 0);
	assert_same_stat(&res.placed, &now);

	/* an object that was already there was not placed: nothing to report */
	assert_int_equal(p4r_store_insert_file(fx->store, a, COPY, 1, &res, NULL, NULL), 0);
	assert_true(res.existed);
	assert_int_equal(res.placed.st_ino, 0);
	free(a);
	free(b);
}

static void test_hash_object_and_stat(void **state)
{
	struct fx *fx = *state;
	p4r_insert_result a;
	struct stat st, now;
	p4r_oid got, missing;
	char obj[PATH_MAX];
	bool stable = false;

	insert_data(fx, "a", "alpha bytes", 11, &a);
	object_path(fx, &a.oid, obj, sizeof(obj));
	assert_int_equal(p4r_store_object_stat(fx->store, &a.oid, &st), 0);
	assert_int_equal(lstat(obj, &now), 0);
	assert_same_stat(&st, &now);
	assert_int_equal(p4r_store_hash_object(fx->store, &a.oid, &got, &st, &stable), 0);
	assert_string_equal(got.hex, a.oid.hex);
	assert_true(stable);
	assert_same_stat(&st, &now);

	/* wrong bytes are reported as what they hash to, not as an error */
	corrupt_object(fx, &a.oid, 3);
	assert_int_equal(p4r_store_hash_object(fx->store, &a.oid, &got, &st, &stable), 0);
	assert_string_not_equal(got.hex, a.oid.hex);

	assert_int_equal(p4r_oid_parse(&missing, EMPTY_SHA), 0);
	assert_int_equal(p4r_store_object_stat(fx->store, &missing, &st), P4R_ENOTFOUND);
	assert_int_equal(p4r_store_hash_object(fx->store, &missing, &got, &st, &stable), P4R_ENOTFOUND);
}

static void test_link_parse(void **state)
{
	p4r_link_type order[P4R_LINK_MAX];
	size_t n = 99;

	(void)state;
	assert_int_equal(p4r_link_parse(order, &n, "reflink,copy"), 0);
	assert_int_equal(n, 2);
	assert_int_equal(order[0], P4R_LINK_REFLINK);
	assert_int_equal(order[1], P4R_LINK_COPY);

	assert_int_equal(p4r_link_parse(order, &n, " hardlink ,\tcopy "), 0);
	assert_int_equal(n, 2);
	assert_int_equal(order[0], P4R_LINK_HARDLINK);
	assert_int_equal(order[1], P4R_LINK_COPY);

	assert_int_equal(p4r_link_parse(order, &n, "copy,copy,reflink,copy,hardlink"), 0);
	assert_int_equal(n, 3);
	assert_int_equal(order[0], P4R_LINK_COPY);
	assert_int_equal(order[1], P4R_LINK_REFLINK);
	assert_int_equal(order[2], P4R_LINK_HARDLINK);

	assert_int_equal(p4r_link_parse(order, &n, "symlink"), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(), "unknown cache type 'symlink'");
	assert_int_equal(p4r_link_parse(order, &n, "copy, nope"), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(), "unknown cache type 'nope'");
	assert_int_equal(p4r_link_parse(order, &n, ""), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(), "unknown cache type ''");
	assert_int_equal(p4r_link_parse(order, &n, "copy,,reflink"), P4R_EUSAGE);
	assert_int_equal(p4r_link_parse(order, &n, "copy,"), P4R_EUSAGE);
	assert_int_equal(p4r_link_parse(order, &n, "Copy"), P4R_EUSAGE);

	assert_string_equal(p4r_link_name(P4R_LINK_REFLINK), "reflink");
	assert_string_equal(p4r_link_name(P4R_LINK_HARDLINK), "hardlink");
	assert_string_equal(p4r_link_name(P4R_LINK_COPY), "copy");
}

static void check_insert_fails(struct fx *fx, size_t len, const char *what, const char *why)
{
	unsigned char *data = random_bytes(len, (uint32_t)len);
	char *path = tu_write(fx->dir, "f.bin", data, len);
	p4r_insert_result res;
	p4r_oid oid;
	int rc;

	assert_int_equal(p4r_hash_buffer(&oid, data, len), 0);
	rc = p4r_store_insert_file(fx->store, path, COPY, 1, &res, NULL, NULL);
	fail_fsync_errno = fail_rename_errno = 0;
	assert_int_equal(rc, P4R_ERROR);
	assert_non_null(strstr(p4r_error_message(), what));
	assert_non_null(strstr(p4r_error_message(), why));
	assert_false(p4r_store_has(fx->store, &oid));
	assert_int_equal(count_entries(fx->tmp), 0);
	free(path);
	free(data);
}

static void test_insert_fsync_fails(void **state)
{
	fail_fsync_errno = EIO;
	check_insert_fails(*state, 1000, "cannot fsync", strerror(EIO));
}

static void test_insert_rename_fails(void **state)
{
	fail_rename_errno = ENOSPC;
	check_insert_fails(*state, 6 * MiB, "cannot rename", strerror(ENOSPC));
}

/* Real write(2) failures: RLIMIT_FSIZE makes writes past it fail with
 * EFBIG, in the one-buffer path and in the writer thread. */
static void test_insert_write_fails(void **state)
{
	struct fx *fx = *state;
	struct rlimit old, small;
	void (*prev)(int);

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small.rlim_cur = 2 * MiB;
	small.rlim_max = old.rlim_max;
	prev = signal(SIGXFSZ, SIG_IGN);
	/* the test's own input files are written before the limit applies */
	{
		const size_t sizes[] = { 3 * MiB, 9 * MiB + 5 };
		unsigned char *data;
		char *path, name[32];
		p4r_insert_result res;
		p4r_oid oid;
		size_t i;

		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			data = random_bytes(sizes[i], 17 + (uint32_t)i);
			snprintf(name, sizeof(name), "in%zu.bin", i);
			path = tu_write(fx->dir, name, data, sizes[i]);
			assert_int_equal(p4r_hash_buffer(&oid, data, sizes[i]), 0);
			assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
			assert_int_equal(p4r_store_insert_file(fx->store, path, COPY, 1, &res, NULL,
							       NULL), P4R_ERROR);
			assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
			assert_non_null(strstr(p4r_error_message(), "cannot write"));
			assert_non_null(strstr(p4r_error_message(), strerror(EFBIG)));
			assert_false(p4r_store_has(fx->store, &oid));
			assert_int_equal(count_entries(fx->tmp), 0);
			free(path);
			free(data);
		}
	}
	signal(SIGXFSZ, prev);
}

struct racer {
	p4r_store *store;
	const char *path;
	p4r_insert_result res;
	int rc;
};

static void *race_insert(void *arg)
{
	struct racer *r = arg;

	r->rc = p4r_store_insert_file(r->store, r->path, COPY, 1, &r->res, NULL, NULL);
	return NULL;
}

/* add stores files from several threads; two may carry the same bytes. */
static void test_concurrent_same_object(void **state)
{
	struct fx *fx = *state;
	const size_t len = 10 * MiB + 9;
	unsigned char *data = random_bytes(len, 21);
	char *p1 = tu_write(fx->dir, "one.bin", data, len);
	char *p2 = tu_write(fx->dir, "two.bin", data, len), obj[PATH_MAX];
	struct racer r[2] = { { .store = fx->store, .path = p1, .rc = -1 },
			      { .store = fx->store, .path = p2, .rc = -1 } };
	pthread_t t[2];
	int i;

	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, race_insert, &r[i]), 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(r[0].rc, 0);
	assert_int_equal(r[1].rc, 0);
	assert_string_equal(r[0].res.oid.hex, r[1].res.oid.hex);
	object_path(fx, &r[0].res.oid, obj, sizeof(obj));
	assert_file_bytes(obj, data, len);
	assert_int_equal(count_entries(fx->tmp), 0);
	free(p1);
	free(p2);
	free(data);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_init_layout),
		T(test_object_path),
		T(test_insert_copy_small),
		T(test_insert_copy_large),
		T(test_insert_twice_existed),
		T(test_insert_empty_file),
		T(test_insert_hardlink),
		T(test_insert_reflink_or_copy),
		T(test_insert_errors),
		T(test_insert_buffer),
		T(test_deferred_batch),
		T(test_deferred_sync_fails),
		T(test_insert_buffer_replaces_damaged),
		T(test_checkout_copy),
		T(test_checkout_hardlink),
		T(test_checkout_reflink_or_copy),
		T(test_checkout_corrupt_keeps_dest),
		T(test_checkout_missing),
		T(test_checkout_fsync_fails),
		T(test_write_to_fd),
		T(test_copy_into_bounded),
		T(test_copy_tee),
		T(test_copy_tee_second_fails),
		T(test_verify),
		T(test_insert_reports_placed_stat),
		T(test_hash_object_and_stat),
		cmocka_unit_test(test_link_parse),
		T(test_insert_fsync_fails),
		T(test_insert_rename_fails),
		T(test_insert_write_fails),
		T(test_concurrent_same_object),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
