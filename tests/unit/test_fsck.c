/* Unit tests for fsck and gc against a real repository in a temporary folder. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/fsck.h"
#include "p4reg/gc.h"
#include "p4reg/repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct fixture {
	char *dir;
	p4r_repo *repo;
	p4r_oid v1;     /* registered as m@1 */
	p4r_oid orphan; /* in the store, no version */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	p4r_version_input in = { .model = "m", .path = "m.bin", .author = "t", .git_dirty = -1 };

	assert_non_null(f);
	f->dir = tu_mkdtemp();
	assert_int_equal(p4r_repo_init(f->dir, NULL), 0);
	assert_int_equal(p4r_repo_open(&f->repo, f->dir), 0);
	assert_int_equal(p4r_store_insert_buffer(p4r_repo_store(f->repo), "model bytes", 11, &f->v1), 0);
	in.oid = f->v1;
	in.size = 11;
	assert_int_equal(p4r_registry_add_version(p4r_repo_registry(f->repo), &in, NULL, NULL), 0);
	assert_int_equal(p4r_store_insert_buffer(p4r_repo_store(f->repo), "orphan", 6, &f->orphan), 0);
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

static void object_path(struct fixture *f, const p4r_oid *oid, char *buf, size_t sz)
{
	assert_int_equal(p4r_store_object_path(p4r_repo_store(f->repo), oid, buf, sz), 0);
}

static void test_clean(void **state)
{
	struct fixture *f = *state;
	p4r_fsck_report rep;

	assert_int_equal(p4r_fsck_run(f->repo, NULL, &rep), 0);
	assert_int_equal(rep.nproblems, 0);
	assert_int_equal(rep.objects_checked, 2);
	assert_int_equal(rep.bytes_checked, 17);
	p4r_fsck_report_clear(&rep);
}

static void test_corrupt_is_quarantined(void **state)
{
	struct fixture *f = *state;
	p4r_fsck_report rep;
	char path[4096], q[4200];
	FILE *fp;

	object_path(f, &f->v1, path, sizeof(path));
	assert_int_equal(chmod(path, 0644), 0);
	assert_non_null(fp = fopen(path, "r+"));
	fputc('M' ^ 1, fp);
	fclose(fp);
	assert_int_equal(p4r_fsck_run(f->repo, NULL, &rep), 0);
	assert_int_equal(rep.nproblems, 2);
	assert_string_equal(rep.problems[0].kind, "corrupt-object");
	assert_string_equal(rep.problems[0].object, f->v1.hex);
	assert_non_null(rep.problems[0].fix);
	assert_string_equal(rep.problems[1].kind, "missing-object");
	assert_string_equal(rep.problems[1].model, "m");
	assert_non_null(strstr(rep.problems[1].message, "m@1"));
	assert_int_equal(rep.quarantined, 1);
	p4r_fsck_report_clear(&rep);
	assert_int_not_equal(access(path, F_OK), 0);
	snprintf(q, sizeof(q), "%s/quarantine/%s", p4r_repo_meta(f->repo), f->v1.hex);
	assert_int_equal(access(q, F_OK), 0);
}

static void test_gc_grace(void **state)
{
	struct fixture *f = *state;
	p4r_gc_opts opts = { .grace_s = P4R_GC_GRACE_DEFAULT_S };
	p4r_gc_result res;
	char path[4096];

	object_path(f, &f->orphan, path, sizeof(path));
	/* just written: too young */
	assert_int_equal(p4r_gc_run(f->repo, &opts, &res), 0);
	assert_int_equal(res.objects, 0);
	assert_int_equal(res.kept_recent, 1);
	assert_int_equal(res.referenced, 1);
	p4r_gc_result_clear(&res);
	/* two hours later, dry run: reported, kept */
	opts.now_s = (int64_t)time(NULL) + 7200;
	opts.dry_run = true;
	assert_int_equal(p4r_gc_run(f->repo, &opts, &res), 0);
	assert_int_equal(res.objects, 1);
	assert_int_equal(res.object_bytes, 6);
	assert_string_equal(res.items[0].oid, f->orphan.hex);
	p4r_gc_result_clear(&res);
	assert_int_equal(access(path, F_OK), 0);
	/* for real: only the orphan goes */
	opts.dry_run = false;
	assert_int_equal(p4r_gc_run(f->repo, &opts, &res), 0);
	assert_int_equal(res.objects, 1);
	p4r_gc_result_clear(&res);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_true(p4r_store_has(p4r_repo_store(f->repo), &f->v1));
	opts.grace_s = -1;
	assert_int_equal(p4r_gc_run(f->repo, &opts, &res), P4R_EUSAGE);
	p4r_gc_result_clear(&res);
}

static void test_referenced_oids(void **state)
{
	struct fixture *f = *state;
	p4r_oid *refs = NULL;
	char **users = NULL;
	size_t n = 0, nusers = 0;

	assert_int_equal(p4r_registry_referenced_oids(p4r_repo_registry(f->repo), &refs, NULL, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(refs[0].hex, f->v1.hex);
	free(refs);
	assert_int_equal(p4r_registry_oid_users(p4r_repo_registry(f->repo), &f->v1, 5, &users, &nusers), 0);
	assert_int_equal(nusers, 1);
	assert_string_equal(users[0], "m@1");
	free(users[0]);
	free(users);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clean, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_is_quarantined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc_grace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_referenced_oids, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
