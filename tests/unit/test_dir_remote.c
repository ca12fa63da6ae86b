/* Folder versions across machines (issue 14): the objects of a version
 * (manifest + files) in push, fetch, gc and fsck, with the sync fixture's
 * two repositories and folder remote. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/fsck.h"
#include "p4reg/fsutil.h"
#include "p4reg/gc.h"
#include "p4reg/manifest.h"
#include "p4reg/ops/fetch.h"
#include "p4reg/ops/push.h"
#include "p4reg/registry.h"
#include "p4reg/store.h"
#include "p4reg/version_objects.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define F1 "{\"hidden\":384}\n"
#define F2 "safetensors shard bytes"

struct fix {
	tu_sync *s;
	p4r_oid manifest, f1, f2;
};

/* A registers d@1: a folder of config.json and model.safetensors. */
static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	p4r_store *st;
	p4r_manifest m = { 0 };
	p4r_version_input in = { .model = "d", .path = "d", .author = "t", .git_dirty = -1,
				 .kind = P4R_KIND_DIR, .files = 2 };
	int64_t size;

	f->s = tu_sync_new();
	st = p4r_repo_store(f->s->a);
	assert_int_equal(p4r_store_insert_buffer(st, F1, strlen(F1), &f->f1), 0);
	assert_int_equal(p4r_store_insert_buffer(st, F2, strlen(F2), &f->f2), 0);
	assert_int_equal(p4r_manifest_add(&m, "config.json", &f->f1, strlen(F1), false), 0);
	assert_int_equal(p4r_manifest_add(&m, "model.safetensors", &f->f2, strlen(F2), false), 0);
	assert_int_equal(p4r_manifest_store(f->s->a, &m, &f->manifest, &size), 0);
	assert_int_equal(p4r_registry_manifest_put(p4r_repo_registry(f->s->a), &f->manifest, &m), 0);
	in.oid = f->manifest;
	in.size = size;
	in.tree_size = (int64_t)(strlen(F1) + strlen(F2));
	assert_int_equal(p4r_registry_add_version(p4r_repo_registry(f->s->a), &in, NULL, NULL), 0);
	p4r_manifest_clear(&m);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	tu_sync_free(f->s);
	free(f);
	return 0;
}

static char *remote_obj(const struct fix *f, const p4r_oid *oid)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/objects/%.2s/%.2s/%s", f->s->remote, oid->hex, oid->hex + 2, oid->hex) > 0);
	return p;
}

static void push(struct fix *f)
{
	p4r_push_opts po = { .remote = "origin" };
	p4r_op_report rep = { 0 };
	p4r_push_result pr;

	if (p4r_push(f->s->a, &po, &rep, &pr) < 0)
		fail_msg("%s", p4r_error_message());
	/* m@1's object, the manifest and its two files */
	assert_int_equal(pr.sync.objects_sent, 4);
	p4r_push_result_free(&pr);
}

static int fetch_all(struct fix *f)
{
	p4r_fetch_opts fo = { .remote = "origin", .all_objects = true };
	p4r_op_report rep = { 0 };
	p4r_fetch_result fr;
	int rc = p4r_fetch(f->s->b, &fo, &rep, &fr);

	p4r_fetch_result_free(&fr);
	return rc;
}

static void sql(p4r_repo *repo, const char *q)
{
	char *path = p4r_path_join(p4r_repo_meta(repo), "registry.db");
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, q, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	free(path);
}

/* A push sends the manifest and every file; the bytes on the remote are the files'. */
static void test_push_dir(void **state)
{
	struct fix *f = *state;
	char *o1, *o2, *om, *back;
	size_t len;

	push(f);
	o1 = remote_obj(f, &f->f1);
	o2 = remote_obj(f, &f->f2);
	om = remote_obj(f, &f->manifest);
	back = tu_slurp(o2, &len);
	assert_int_equal(len, strlen(F2));
	assert_memory_equal(back, F2, len);
	free(back);
	assert_int_equal(access(o1, R_OK), 0);
	assert_int_equal(access(om, R_OK), 0);
	free(o1);
	free(o2);
	free(om);
}

/* A fetch brings the version (kind dir), its manifest rows and all objects. */
static void test_fetch_dir(void **state)
{
	struct fix *f = *state;
	p4r_registry *reg = p4r_repo_registry(f->s->b);
	p4r_version v;
	p4r_manifest m = { 0 };
	bool has;

	push(f);
	assert_int_equal(fetch_all(f), 0);
	assert_int_equal(p4r_registry_version_get(reg, "d", 1, &v), 0);
	assert_int_equal(v.kind, P4R_KIND_DIR);
	assert_int_equal(v.files, 2);
	p4r_version_clear(&v);
	assert_int_equal(p4r_registry_manifest_has(reg, &f->manifest, &has), 0);
	assert_true(has);
	assert_int_equal(p4r_registry_manifest_get(reg, &f->manifest, &m), 0);
	assert_int_equal(m.n, 2);
	p4r_manifest_clear(&m);
	assert_true(p4r_store_has(p4r_repo_store(f->s->b), &f->manifest));
	assert_true(p4r_store_has(p4r_repo_store(f->s->b), &f->f1));
	assert_true(p4r_store_has(p4r_repo_store(f->s->b), &f->f2));
}

/* A file the remote holds with other bytes: exit 4, nothing stored for it. */
static void test_fetch_corrupt_file(void **state)
{
	struct fix *f = *state;
	char *o2;
	char bad[sizeof(F2) - 1];

	push(f);
	o2 = remote_obj(f, &f->f2);
	memset(bad, 'x', sizeof(bad));
	assert_int_equal(chmod(o2, 0644), 0);
	free(tu_write(f->s->remote, o2 + strlen(f->s->remote) + 1, bad, sizeof(bad)));
	assert_int_equal(fetch_all(f), P4R_EINTEGRITY);
	assert_false(p4r_store_has(p4r_repo_store(f->s->b), &f->f2));
	free(o2);
}

/* gc keeps every file of a folder version whose rows were deleted. */
static void test_gc_rebuilds_rows(void **state)
{
	struct fix *f = *state;
	p4r_gc_opts go = { .grace_s = 0, .now_s = 4102444800LL };
	p4r_gc_result gr;

	sql(f->s->a, "DELETE FROM manifest_files");
	assert_int_equal(p4r_gc_run(f->s->a, &go, &gr), 0);
	p4r_gc_result_clear(&gr);
	assert_true(p4r_store_has(p4r_repo_store(f->s->a), &f->manifest));
	assert_true(p4r_store_has(p4r_repo_store(f->s->a), &f->f1));
	assert_true(p4r_store_has(p4r_repo_store(f->s->a), &f->f2));
}

/* fsck names the folder version and the file of a missing file object. */
static void test_fsck_missing_file(void **state)
{
	struct fix *f = *state;
	p4r_fsck_opts fo = { .offline = false };
	p4r_fsck_report rep;
	char path[4096];
	size_t i;
	bool seen = false;

	assert_int_equal(p4r_store_object_path(p4r_repo_store(f->s->a), &f->f2, path, sizeof(path)), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(p4r_fsck_run(f->s->a, &fo, &rep), 0);
	for (i = 0; i < rep.nproblems; i++) {
		if (strcmp(rep.problems[i].kind, "missing-object"))
			continue;
		seen = true;
		assert_non_null(strstr(rep.problems[i].message, "d@1 file 'model.safetensors'"));
		assert_string_equal(rep.problems[i].model, "d");
	}
	assert_true(seen);
	p4r_fsck_report_clear(&rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_push_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_corrupt_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc_rebuilds_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fsck_missing_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
