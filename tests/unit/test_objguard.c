/* Unit tests for objguard.c and registry/objguard_sql.c: the fingerprint rule,
 * quarantine and damage marks, the hard-linked work file, settle. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/objguard.h"
#include "p4reg/repo.h"
#include "p4reg/worktree.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define V1_BYTES "version one bytes"
#define V2_BYTES "version two, other"

struct fixture {
	char *dir;
	p4r_repo *repo;
	p4r_oid v1;        /* m@1 */
	char obj[PATH_MAX]; /* its object */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	p4r_version_input in = { .model = "m", .path = "m.bin", .author = "t", .git_dirty = -1 };

	assert_non_null(f);
	f->dir = tu_mkdtemp();
	assert_int_equal(p4r_repo_init(f->dir, NULL), 0);
	assert_int_equal(p4r_repo_open(&f->repo, f->dir), 0);
	assert_int_equal(p4r_store_insert_buffer(p4r_repo_store(f->repo), V1_BYTES,
						 strlen(V1_BYTES), &f->v1), 0);
	in.oid = f->v1;
	in.size = (int64_t)strlen(V1_BYTES);
	assert_int_equal(p4r_registry_add_version(p4r_repo_registry(f->repo), &in, NULL, NULL), 0);
	assert_int_equal(p4r_store_object_path(p4r_repo_store(f->repo), &f->v1, f->obj,
					       sizeof(f->obj)), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	p4r_repo_free(f->repo);
	tu_rmtree_free(f->dir);
	free(f);
	return 0;
}

/* Overwrites the object in place, as a write through a hard link does. */
static void write_through(const char *path, const char *bytes)
{
	int fd;

	assert_int_equal(chmod(path, 0644), 0);
	assert_true((fd = open(path, O_WRONLY | O_TRUNC)) >= 0);
	assert_int_equal(write(fd, bytes, strlen(bytes)), (ssize_t)strlen(bytes));
	assert_int_equal(close(fd), 0);
}

static bool recorded(struct fixture *f, p4r_stat_key *key)
{
	bool found = false;

	assert_int_equal(p4r_registry_objstat_get(p4r_repo_registry(f->repo), &f->v1, key, &found), 0);
	return found;
}

/* Unknown fingerprint: re-hashed, whole, recorded; then trusted as is. */
static void test_unknown_is_rehashed_and_recorded(void **state)
{
	struct fixture *f = *state;
	p4r_stat_key key, now;
	struct stat st;
	bool damaged = true;

	assert_false(recorded(f, &key));
	assert_int_equal(p4r_objguard_check(f->repo, &f->v1, NULL, &damaged), 0);
	assert_false(damaged);
	assert_true(recorded(f, &key));
	assert_int_equal(lstat(f->obj, &st), 0);
	p4r_worktree_stat_key(&st, &now);
	/* the fingerprint: all of the stat key but when it was taken */
	now.seen_ns = key.seen_ns;
	assert_memory_equal(&key, &now, sizeof(key));
}

/* The fast path reads nothing: a fingerprint that matches is trusted even
 * over wrong bytes (which is why p4reg records only what it verified). */
static void test_matching_fingerprint_is_trusted_without_a_read(void **state)
{
	struct fixture *f = *state;
	p4r_stat_key key;
	struct stat st, verified;
	bool damaged = true;

	write_through(f->obj, V2_BYTES);
	assert_int_equal(lstat(f->obj, &st), 0);
	p4r_worktree_stat_key(&st, &key);
	assert_int_equal(p4r_registry_objstat_put(p4r_repo_registry(f->repo), &f->v1, &key), 0);
	assert_int_equal(p4r_objguard_check(f->repo, &f->v1, NULL, &damaged), 0);
	assert_false(damaged);
	assert_int_equal(p4r_objguard_require(f->repo, &f->v1, &verified), 0);
	assert_int_equal(verified.st_ino, st.st_ino);
	assert_int_equal(access(f->obj, F_OK), 0);
}

/* A write after the fingerprint: re-hashed, quarantined, marked, named. */
static void test_changed_bytes_are_quarantined_and_marked(void **state)
{
	struct fixture *f = *state;
	p4r_registry *reg = p4r_repo_registry(f->repo);
	p4r_guard_event ev;
	p4r_damage d;
	p4r_stat_key key;
	char q[PATH_MAX + 64];
	bool damaged = false, found = false;
	p4r_oid v2;

	assert_int_equal(p4r_objguard_record(f->repo, &f->v1, NULL), 0);
	assert_true(recorded(f, &key));
	write_through(f->obj, V2_BYTES);
	assert_int_equal(p4r_hash_buffer(&v2, V2_BYTES, strlen(V2_BYTES)), 0);
	assert_int_equal(p4r_objguard_check(f->repo, &f->v1, &ev, &damaged), 0);
	assert_true(damaged);
	assert_string_equal(ev.oid.hex, f->v1.hex);
	assert_string_equal(ev.got.hex, v2.hex);
	assert_string_equal(ev.first, "m@1");
	assert_string_equal(ev.versions, "m@1");
	assert_int_equal(ev.size, (int64_t)strlen(V1_BYTES));
	snprintf(q, sizeof(q), ".p4reg/quarantine/%s", f->v1.hex);
	assert_string_equal(ev.quarantine, q);
	assert_int_not_equal(access(f->obj, F_OK), 0);
	snprintf(q, sizeof(q), "%s/.p4reg/quarantine/%s", f->dir, f->v1.hex);
	assert_int_equal(access(q, F_OK), 0);
	/* the mark, and no fingerprint for bytes that are gone */
	assert_int_equal(p4r_registry_damage_get(reg, &f->v1, &d, &found), 0);
	assert_true(found);
	assert_string_equal(d.got.hex, v2.hex);
	assert_int_equal(d.repaired_ms, 0);
	assert_false(recorded(f, &key));
	/* every later use names the version, exit 4 */
	assert_int_equal(p4r_objguard_require(f->repo, &f->v1, NULL), P4R_EINTEGRITY);
	assert_non_null(strstr(p4r_error_message(), "the stored bytes of m@1 were found damaged earlier"));
	assert_non_null(strstr(p4r_error_message(), "not repaired"));
}

/* Only ctime may move between the guard's look and the record: p4reg's
 * own link(2); a changed mtime or size is someone's write. */
static void test_record_follows_only_ctime(void **state)
{
	struct fixture *f = *state;
	p4r_stat_key key;
	struct stat before, after;
	char link_path[PATH_MAX + 16];
	struct timespec pause = { 0, 20 * 1000 * 1000 };

	assert_int_equal(lstat(f->obj, &before), 0);
	nanosleep(&pause, NULL);
	snprintf(link_path, sizeof(link_path), "%s/linked", f->dir);
	assert_int_equal(link(f->obj, link_path), 0);
	assert_int_equal(lstat(f->obj, &after), 0);
	assert_int_equal(p4r_objguard_record(f->repo, &f->v1, &before), 0);
	assert_true(recorded(f, &key));
	assert_int_equal(key.ctime_ns, (int64_t)after.st_ctim.tv_sec * 1000000000 + after.st_ctim.tv_nsec);

	assert_int_equal(p4r_registry_objstat_drop(p4r_repo_registry(f->repo), &f->v1), 0);
	before.st_mtim.tv_nsec ^= 1;
	assert_int_equal(p4r_objguard_record(f->repo, &f->v1, &before), 0);
	assert_false(recorded(f, &key));
	/* nothing known about the object (no insert stat): nothing recorded */
	memset(&before, 0, sizeof(before));
	assert_int_equal(p4r_objguard_record(f->repo, &f->v1, &before), 0);
	assert_false(recorded(f, &key));
}

/* A work file hard-linked to the object and written: found through its
 * inode, with the file named; a copy of the bytes is not. */
static void test_linked_work_file(void **state)
{
	struct fixture *f = *state;
	char work[PATH_MAX + 16];
	p4r_guard_event ev;
	struct stat st;
	bool damaged = true;

	snprintf(work, sizeof(work), "%s/m.bin", f->dir);
	assert_int_equal(link(f->obj, work), 0);
	assert_int_equal(p4r_objguard_record(f->repo, &f->v1, NULL), 0);
	assert_int_equal(lstat(work, &st), 0);
	/* unchanged: not damaged, nothing read */
	assert_int_equal(p4r_objguard_linked(f->repo, "m.bin", &st, &ev, &damaged), 0);
	assert_false(damaged);
	write_through(work, V2_BYTES);
	assert_int_equal(lstat(work, &st), 0);
	assert_int_equal(p4r_objguard_linked(f->repo, "m.bin", &st, &ev, &damaged), 0);
	assert_true(damaged);
	assert_string_equal(ev.work, "m.bin");
	assert_string_equal(ev.first, "m@1");
	assert_false(p4r_store_has(p4r_repo_store(f->repo), &f->v1));
	/* a file with one link shares nothing */
	st.st_nlink = 1;
	assert_int_equal(p4r_objguard_linked(f->repo, "m.bin", &st, &ev, &damaged), 0);
	assert_false(damaged);
}

/* scan logs present damaged objects and absent marked ones; settle marks
 * what came back and fails, naming the version, on what did not. */
static void test_scan_and_settle(void **state)
{
	struct fixture *f = *state;
	p4r_guard_log log = { 0 };
	p4r_damage d;
	p4r_oid back;
	bool found;

	write_through(f->obj, V2_BYTES);
	assert_int_equal(p4r_objguard_scan(f->repo, &f->v1, 1, &log), 0);
	assert_int_equal(log.n, 1);
	assert_false(log.v[0].earlier);
	assert_int_equal(p4r_objguard_settle(f->repo, &log, NULL, "no remote is configured", NULL,
					     NULL), P4R_EINTEGRITY);
	assert_non_null(strstr(p4r_error_message(), "the stored bytes of m@1 changed in place"));
	assert_non_null(strstr(p4r_error_message(), "not repaired (no remote is configured)"));
	p4r_guard_log_clear(&log);

	/* absent now: the mark alone keeps it damaged */
	assert_int_equal(p4r_objguard_scan(f->repo, &f->v1, 1, &log), 0);
	assert_int_equal(log.n, 1);
	assert_true(log.v[0].earlier);
	/* the right bytes come back (as a download would place them) */
	assert_int_equal(p4r_store_insert_buffer(p4r_repo_store(f->repo), V1_BYTES, strlen(V1_BYTES),
						 &back), 0);
	assert_int_equal(p4r_objguard_settle(f->repo, &log, "origin", NULL, NULL, NULL), 0);
	assert_string_equal(log.v[0].repaired, "remote 'origin'");
	assert_int_equal(p4r_registry_damage_get(p4r_repo_registry(f->repo), &f->v1, &d, &found), 0);
	assert_true(found);
	assert_true(d.repaired_ms > 0);
	assert_string_equal(d.repaired_from, "remote 'origin'");
	p4r_guard_log_clear(&log);
	assert_int_equal(p4r_objguard_require(f->repo, &f->v1, NULL), 0);
}

static void test_describe(void **state)
{
	p4r_guard_event ev;
	char buf[1024];

	(void)state;
	memset(&ev, 0, sizeof(ev));
	memset(ev.oid.hex, 'a', P4R_OID_HEXLEN);
	memset(ev.got.hex, 'b', P4R_OID_HEXLEN);
	snprintf(ev.first, sizeof(ev.first), "m@1");
	snprintf(ev.versions, sizeof(ev.versions), "m@1, n@2");
	snprintf(ev.work, sizeof(ev.work), "models/m.bin");
	snprintf(ev.quarantine, sizeof(ev.quarantine), ".p4reg/quarantine/q");
	p4r_objguard_describe(buf, sizeof(buf), &ev);
	assert_string_equal(buf, "'models/m.bin' was written in place through a hard link: the stored "
			    "bytes of m@1, n@2 are destroyed (object aaaaaaaaaaaa now hashes to "
			    "bbbbbbbbbbbb, moved to '.p4reg/quarantine/q')");
	snprintf(ev.repaired, sizeof(ev.repaired), "remote 'origin'");
	p4r_objguard_describe(buf, sizeof(buf), &ev);
	assert_non_null(strstr(buf, "; repaired m@1 from remote 'origin'"));
	ev.work[0] = '\0';
	ev.repaired[0] = '\0';
	p4r_objguard_describe(buf, sizeof(buf), &ev);
	assert_string_equal(buf, "the stored bytes of m@1, n@2 changed in place (object aaaaaaaaaaaa "
			    "now hashes to bbbbbbbbbbbb, moved to '.p4reg/quarantine/q')");
}

static void test_hardlink_hazard(void **state)
{
	const p4r_link_type both[] = { P4R_LINK_REFLINK, P4R_LINK_HARDLINK };

	(void)state;
	assert_false(p4r_objguard_hardlink_hazard(both, 1));
	assert_int_equal(p4r_objguard_hardlink_hazard(both, 2), geteuid() == 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_unknown_is_rehashed_and_recorded),
		T(test_matching_fingerprint_is_trusted_without_a_read),
		T(test_changed_bytes_are_quarantined_and_marked),
		T(test_record_follows_only_ctime),
		T(test_linked_work_file),
		T(test_scan_and_settle),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_hardlink_hazard),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
