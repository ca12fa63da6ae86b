/* Unit tests for gc's retention (p4r_gc with --keep-last, ops/gc.c) and
 * the remote's objects (p4r_gc_remote_objects, store/gc_remote.c), called
 * directly: the newest N stay; what p4reg rm's rule keeps (a stage, an
 * alias, rollback's target) stays with its reason; --keep-stages keeps
 * what ever entered validation, staging or production; each deletion is
 * a delete event with the actor and the reason; a dry run reports exactly
 * what a real run does and changes nothing; freed bytes count each object
 * once and never one a live version shares; a second run deletes nothing.
 * On a folder remote, only objects no live version in the remote's own
 * log needs, older than the grace period, go; foreign names stay. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/gc.h"
#include "p4reg/lifecycle.h"
#include "p4reg/ops/add.h"
#include "p4reg/ops/alias.h"
#include "p4reg/ops/gc.h"
#include "p4reg/ops/push.h"
#include "p4reg/ops/rm.h"
#include "p4reg/registry.h"
#include "p4reg/remote.h"
#include "p4reg/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sqlite3.h>

#include "registry/sql.h"

/* Adds BYTES as the next version of the model of file NAME. */
static void add(tu_fx *fx, const char *name, const char *bytes)
{
	const char *paths[1];
	p4r_add_opts opts = { .paths = paths, .npaths = 1, .no_stage = true };
	p4r_add_result res;
	char *file;

	paths[0] = file = tu_write(fx->dir, name, bytes, strlen(bytes));
	assert_int_equal(p4r_add(fx->repo, &opts, NULL, &res), 0);
	p4r_add_result_free(&res);
	free(file);
}

static int64_t db_int(tu_fx *fx, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(p4r_registry_db(p4r_repo_registry(fx->repo)), sql, -1, &st,
					    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void promote(tu_fx *fx, int64_t number, p4r_stage to)
{
	p4r_promote_req req = { .model = "m", .number = number, .to = to, .force = true, .actor = "t" };
	p4r_promotion p = { 0 };

	assert_int_equal(p4r_lifecycle_promote(p4r_repo_registry(fx->repo), &req, &p), 0);
	p4r_promotion_clear(&p);
}

static void alias(tu_fx *fx, const char *name, const char *version)
{
	p4r_alias_opts ao = { .action = P4R_ALIAS_SET, .model = "m", .name = name, .version = version };
	p4r_alias_result ar;

	assert_int_equal(p4r_alias(fx->repo, &ao, NULL, &ar), 0);
	p4r_alias_result_free(&ar);
}

/* gc --keep-last KEEP (and --keep-stages) with no grace and a clock past
 * every file, so the store's part is exact too. */
static int gc(tu_fx *fx, int64_t keep, bool stages, bool dry_run, p4r_gc_op_result *res)
{
	p4r_gc_op_opts opts = { .gc = { .dry_run = dry_run, .grace_s = 0, .now_s = (int64_t)time(NULL) + 10 },
				.keep_last = keep, .keep_stages = stages };

	return p4r_gc(fx->repo, &opts, NULL, res);
}

static const p4r_retain_item *item(const p4r_gc_op_result *res, int64_t number)
{
	size_t i;

	for (i = 0; i < res->retention.nitems; i++)
		if (res->retention.items[i].number == number)
			return &res->retention.items[i];
	return NULL;
}

/* m@1..7: 1 an alias, 2 rollback's target, 3 production, 4 staging; 5
 * archived after validation; 6 and 7 the newest two. */
static void seven(tu_fx *fx)
{
	static const char *const bytes[] = { "one", "two", "three", "four", "five!", "six", "seven" };
	size_t i;

	for (i = 0; i < 7; i++)
		add(fx, "m.bin", bytes[i]);
	promote(fx, 2, P4R_STAGE_PRODUCTION);
	promote(fx, 3, P4R_STAGE_PRODUCTION);   /* 2 archived: rollback's target */
	promote(fx, 4, P4R_STAGE_STAGING);
	promote(fx, 5, P4R_STAGE_VALIDATION);
	promote(fx, 5, P4R_STAGE_ARCHIVED);
	alias(fx, "champion", "1");
}

static void test_keep_last_rules(void **state)
{
	tu_fx *fx = *state;
	p4r_gc_op_result res;

	seven(fx);
	assert_int_equal(gc(fx, 2, false, false, &res), 0);
	assert_int_equal(res.retention.models, 1);
	assert_int_equal(res.retention.nitems, 5);   /* 1..5: older than the newest two */
	assert_int_equal(res.retention.deleted, 1);
	assert_int_equal(res.retention.kept, 4);
	assert_int_equal(item(&res, 1)->kept, P4R_KEPT_ALIAS);
	assert_string_equal(item(&res, 1)->kept_by, "alias 'champion' names it");
	assert_int_equal(item(&res, 2)->kept, P4R_KEPT_ROLLBACK);
	assert_string_equal(item(&res, 2)->kept_by, "rollback would return to it");
	assert_int_equal(item(&res, 3)->kept, P4R_KEPT_STAGE);
	assert_string_equal(item(&res, 3)->kept_by, "it is in production");
	assert_int_equal(item(&res, 4)->kept, P4R_KEPT_STAGE);
	assert_true(item(&res, 5)->deleted);
	assert_int_equal(item(&res, 5)->stage, P4R_STAGE_ARCHIVED);
	assert_int_equal(item(&res, 5)->freed_objects, 1);
	assert_int_equal(item(&res, 5)->freed_bytes, 5);
	assert_int_equal(res.retention.freed_bytes, 5);
	assert_int_equal(res.store.objects, 1);      /* the store's gc removed it */
	assert_int_equal(res.store.object_bytes, 5);
	assert_string_equal(res.retention.reason, "gc --keep-last 2");
	p4r_gc_op_result_free(&res);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM events e JOIN versions v ON v.id = e.version_id"
			       " WHERE e.kind = 'delete' AND v.number = 5 AND e.reason = 'gc --keep-last 2'"
			       " AND e.actor <> '' AND e.forced = 0 AND v.deleted_ms IS NOT NULL"), 1);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM versions WHERE deleted_ms IS NOT NULL"), 1);
	/* a second run: nothing more to delete */
	assert_int_equal(gc(fx, 2, false, false, &res), 0);
	assert_int_equal(res.retention.deleted, 0);
	assert_int_equal(res.retention.kept, 4);
	assert_int_equal(res.store.objects, 0);
	p4r_gc_op_result_free(&res);
}

static void test_keep_stages(void **state)
{
	tu_fx *fx = *state;
	p4r_gc_op_result res;

	seven(fx);
	add(fx, "m.bin", "eight");
	promote(fx, 4, P4R_STAGE_PRODUCTION);  /* 3 archived and rollback's target; 2 archived */
	assert_int_equal(gc(fx, 2, true, false, &res), 0);
	assert_int_equal(item(&res, 2)->kept, P4R_KEPT_HELD_STAGE);
	assert_string_equal(item(&res, 2)->kept_by, "it was in production (--keep-stages)");
	assert_int_equal(item(&res, 5)->kept, P4R_KEPT_HELD_STAGE);
	assert_string_equal(item(&res, 5)->kept_by, "it was in validation (--keep-stages)");
	assert_int_equal(item(&res, 3)->kept, P4R_KEPT_ROLLBACK);
	assert_true(item(&res, 6)->deleted);  /* never past development */
	assert_int_equal(res.retention.deleted, 1);
	assert_string_equal(res.retention.reason, "gc --keep-last 2 --keep-stages");
	p4r_gc_op_result_free(&res);
	/* without it, the ex-production 2 and the once-validated 5 go */
	assert_int_equal(gc(fx, 2, false, false, &res), 0);
	assert_true(item(&res, 2)->deleted);
	assert_true(item(&res, 5)->deleted);
	assert_int_equal(res.retention.deleted, 2);
	p4r_gc_op_result_free(&res);
}

/* The same decisions, freed bytes and store garbage as the real run;
 * nothing in the registry or the store changes. */
static void test_dry_run_equals_run(void **state)
{
	tu_fx *fx = *state;
	p4r_gc_op_result dry, real;
	char *before, *after;
	size_t i;

	seven(fx);
	before = tu_registry_dump(p4r_repo_registry(fx->repo));
	assert_int_equal(gc(fx, 1, false, true, &dry), 0);
	after = tu_registry_dump(p4r_repo_registry(fx->repo));
	assert_string_equal(before, after);
	assert_int_equal(dry.retention.deleted, 2);  /* 5 and 6 */
	assert_int_equal(dry.store.objects, 2);       /* in a dry run: would remove */
	assert_true(p4r_store_has(p4r_repo_store(fx->repo), &item(&dry, 5)->oid));
	assert_int_equal(gc(fx, 1, false, false, &real), 0);
	assert_int_equal(real.retention.nitems, dry.retention.nitems);
	for (i = 0; i < real.retention.nitems; i++) {
		assert_int_equal(real.retention.items[i].number, dry.retention.items[i].number);
		assert_int_equal(real.retention.items[i].deleted, dry.retention.items[i].deleted);
		assert_int_equal(real.retention.items[i].freed_bytes, dry.retention.items[i].freed_bytes);
	}
	assert_int_equal(real.retention.freed_bytes, dry.retention.freed_bytes);
	assert_int_equal(real.retention.freed_bytes, 8);  /* "five!" and "six" */
	assert_int_equal(real.store.objects, dry.store.objects);
	assert_int_equal(real.store.object_bytes, dry.store.object_bytes);
	assert_false(p4r_store_has(p4r_repo_store(fx->repo), &item(&real, 5)->oid));
	p4r_gc_op_result_free(&dry);
	p4r_gc_op_result_free(&real);
	free(before);
	free(after);
}

/* An object a live version of another model has is not freed; one two
 * deleted versions share is counted once, at the first. */
static void test_freed_bytes_exact(void **state)
{
	tu_fx *fx = *state;
	p4r_gc_op_result res;
	const char *named[] = { "a", "b", "a" };
	p4r_gc_op_opts opts = { .gc = { .grace_s = 0, .now_s = (int64_t)time(NULL) + 10 }, .keep_last = 1,
				.models = named, .nmodels = 3 };
	const p4r_retain_item *it;

	add(fx, "a.bin", "shared with n");
	add(fx, "a.bin", "twice");
	add(fx, "a.bin", "a newest");
	add(fx, "b.bin", "twice");
	add(fx, "b.bin", "b newest");
	add(fx, "n.bin", "shared with n");
	add(fx, "n.bin", "n newest");
	assert_int_equal(p4r_gc(fx->repo, &opts, NULL, &res), 0);
	assert_int_equal(res.retention.models, 2);    /* a repeated name counts once; n untouched */
	assert_int_equal(res.retention.deleted, 3);
	it = res.retention.items;
	assert_string_equal(it[0].model, "a");
	assert_int_equal(it[0].number, 1);
	assert_int_equal(it[0].freed_bytes, 0);       /* n@1 has the bytes */
	assert_int_equal(it[1].number, 2);
	assert_int_equal(it[1].freed_objects, 1);
	assert_int_equal(it[1].freed_bytes, 5);
	assert_string_equal(it[2].model, "b");
	assert_int_equal(it[2].freed_bytes, 0);       /* counted at a@2 */
	assert_int_equal(res.retention.freed.n, 1);
	assert_int_equal(res.retention.freed_bytes, 5);
	assert_int_equal(res.store.object_bytes, 5);
	p4r_gc_op_result_free(&res);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM versions v JOIN models m ON m.id = v.model_id"
			       " WHERE m.name = 'n' AND v.deleted_ms IS NULL"), 2);
}

static void test_bad_options(void **state)
{
	tu_fx *fx = *state;
	const char *unknown[] = { "m", "nope" }, *bad[] = { "Bad Name" };
	p4r_gc_op_opts opts = { .gc = { .grace_s = 0 }, .keep_last = 1, .models = unknown, .nmodels = 2 };
	p4r_gc_op_result res;
	char *before, *after;

	add(fx, "m.bin", "one");
	add(fx, "m.bin", "two");
	before = tu_registry_dump(p4r_repo_registry(fx->repo));
	assert_int_equal(p4r_gc(fx->repo, &opts, NULL, &res), P4R_ENOTFOUND);
	assert_string_equal(p4r_error_message(), "unknown model 'nope'");
	p4r_gc_op_result_free(&res);
	opts.models = bad;
	opts.nmodels = 1;
	assert_int_equal(p4r_gc(fx->repo, &opts, NULL, &res), P4R_EUSAGE);
	p4r_gc_op_result_free(&res);
	opts = (p4r_gc_op_opts){ .keep_stages = true };
	assert_int_equal(p4r_gc(fx->repo, &opts, NULL, &res), P4R_EUSAGE);
	opts = (p4r_gc_op_opts){ .keep_last = -1 };
	assert_int_equal(p4r_gc(fx->repo, &opts, NULL, &res), P4R_EUSAGE);
	opts = (p4r_gc_op_opts){ .models = unknown, .nmodels = 1 };
	assert_int_equal(p4r_gc(fx->repo, &opts, NULL, &res), P4R_EUSAGE);
	after = tu_registry_dump(p4r_repo_registry(fx->repo));
	assert_string_equal(before, after);
	free(before);
	free(after);
}

/* ---- the objects of a folder remote (testutil's sync fixture) ---- */

static int sync_setup(void **state)
{
	*state = tu_sync_new();
	return 0;
}

static int sync_teardown(void **state)
{
	tu_sync_free(*state);
	return 0;
}

/* BYTES as the next version of m in A. */
static void sync_add(tu_sync *s, const char *bytes, p4r_oid *oid)
{
	p4r_version_input in = { .model = "m", .path = "m.bin", .author = "t", .git_dirty = -1 };

	assert_int_equal(p4r_store_insert_buffer(p4r_repo_store(s->a), bytes, strlen(bytes), oid), 0);
	in.oid = *oid;
	in.size = (int64_t)strlen(bytes);
	assert_int_equal(p4r_registry_add_version(p4r_repo_registry(s->a), &in, NULL, NULL), 0);
}

static void sync_push(tu_sync *s)
{
	p4r_push_opts po = { .remote = "origin" };
	p4r_push_result pr;

	assert_int_equal(p4r_push(s->a, &po, NULL, &pr), 0);
	p4r_push_result_free(&pr);
}

static void sync_rm(tu_sync *s, const char *ref)
{
	p4r_rm_opts o = { .ref = ref };
	p4r_rm_result r;

	assert_int_equal(p4r_rm(s->a, &o, NULL, &r), 0);
	p4r_rm_result_free(&r);
}

/* gc of the remote's objects from A; NOW_S 0: the real clock. */
static int gc_remote(tu_sync *s, bool dry_run, int64_t grace, int64_t now_s, p4r_gc_remote_objects_result *out)
{
	p4r_gc_opts o = { .dry_run = dry_run, .grace_s = grace, .now_s = now_s };
	p4r_remote *r = NULL;
	int rc;

	assert_int_equal(p4r_remote_open(&r, p4r_repo_config(s->a), p4r_repo_meta(s->a), "origin"), 0);
	rc = p4r_gc_remote_objects(s->a, r, &o, out);
	p4r_remote_free(r);
	return rc;
}

static bool on_remote(const tu_sync *s, const char *rel)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", s->remote, rel);
	return lstat(path, &st) == 0;
}

static bool oid_on_remote(const tu_sync *s, const p4r_oid *oid)
{
	char key[128];

	p4r_remote_object_key(key, sizeof(key), oid);
	return on_remote(s, key);
}

static void plant_foreign(const tu_sync *s, const p4r_oid *oid)
{
	char path[4096], rel[128];

	/* a name that is no oid, and an oid in a folder not its own */
	free(tu_write(s->remote, "objects/notes.txt", "x", 1));
	snprintf(path, sizeof(path), "%s/objects/00", s->remote);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/objects/00/00", s->remote);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(rel, sizeof(rel), "objects/00/00/%s", oid->hex);
	free(tu_write(s->remote, rel, "y", 1));
}

/* The remote's log decides: m@1 deleted there goes; m@2, deleted here but
 * not pushed, is still live there and stays; foreign names stay. */
static void test_remote_objects(void **state)
{
	tu_sync *s = *state;
	p4r_gc_remote_objects_result res;
	int64_t later = (int64_t)time(NULL) + 10;
	p4r_oid v2, v3;

	sync_add(s, "version two", &v2);
	sync_add(s, "version three", &v3);
	sync_push(s);
	sync_rm(s, "m@1");
	sync_push(s);
	sync_rm(s, "m@2");
	plant_foreign(s, &v3);
	/* the default grace: everything was written just now */
	assert_int_equal(gc_remote(s, false, P4R_GC_GRACE_DEFAULT_S, 0, &res), 0);
	assert_true(res.supported);
	assert_int_equal(res.nremoved, 0);
	assert_int_equal(res.kept_recent, 1);
	assert_int_equal(res.needed, 2);
	assert_int_equal(res.foreign, 2);
	assert_int_equal(res.batches, 2);
	assert_int_equal(res.live_versions, 2);
	p4r_gc_remote_objects_result_clear(&res);
	/* a dry run names it and removes nothing */
	assert_int_equal(gc_remote(s, true, 0, later, &res), 0);
	assert_int_equal(res.nremoved, 1);
	assert_true(p4r_oid_equal(&res.removed[0].oid, &s->v1));
	assert_int_equal(res.bytes, TU_SYNC_SIZE);
	p4r_gc_remote_objects_result_clear(&res);
	assert_true(oid_on_remote(s, &s->v1));
	assert_int_equal(gc_remote(s, false, 0, later, &res), 0);
	assert_int_equal(res.nremoved, 1);
	p4r_gc_remote_objects_result_clear(&res);
	assert_false(oid_on_remote(s, &s->v1));
	assert_true(oid_on_remote(s, &v2));
	assert_true(oid_on_remote(s, &v3));
	assert_true(on_remote(s, "objects/notes.txt"));
	assert_true(on_remote(s, "log/0000000001.json"));
	/* once m@2's deletion is pushed, its object goes too; a rerun finds nothing */
	sync_push(s);
	assert_int_equal(gc_remote(s, false, 0, later, &res), 0);
	assert_int_equal(res.nremoved, 1);
	assert_true(p4r_oid_equal(&res.removed[0].oid, &v2));
	p4r_gc_remote_objects_result_clear(&res);
	assert_int_equal(gc_remote(s, false, 0, later, &res), 0);
	assert_int_equal(res.nremoved, 0);
	assert_int_equal(res.needed, 1);
	p4r_gc_remote_objects_result_clear(&res);
}

/* A remote whose log does not replay removes nothing. */
static void test_remote_bad_log(void **state)
{
	tu_sync *s = *state;
	p4r_gc_remote_objects_result res;

	sync_push(s);
	sync_rm(s, "m@1");
	sync_push(s);
	free(tu_write(s->remote, "log/0000000003.json", "{not json", 9));
	assert_int_equal(gc_remote(s, false, 0, (int64_t)time(NULL) + 10, &res), P4R_EINTEGRITY);
	p4r_gc_remote_objects_result_clear(&res);
	assert_true(oid_on_remote(s, &s->v1));
}


/* ---- format 2: a push that reuses old packs while gc -r runs ---- */

static tu_sync *hook_sync;          /* the fixture the hook pushes from */
static const p4r_remote_ops *real_ops;
static bool hook_fired;

/* Lists as the backend does; right after gc's first listing of chunks/,
 * A pushes (a version whose chunks an old pack of a deleted one holds). */
static int list_then_push(p4r_remote *r, const char *top, p4r_remote_object_fn fn, void *payload,
			  size_t *foreign)
{
	int rc = real_ops->list_objects(r, top, fn, payload, foreign);

	if (rc == 0 && !hook_fired && !strcmp(top, "chunks")) {
		hook_fired = true;
		sync_push(hook_sync);
	}
	return rc;
}

/* N bytes at BYTES as the next version of m in A. */
static void sync_add_bytes(tu_sync *s, const unsigned char *bytes, size_t n, p4r_oid *oid)
{
	p4r_version_input in = { .model = "m", .path = "m.bin", .author = "t", .git_dirty = -1 };

	assert_int_equal(p4r_store_insert_buffer(p4r_repo_store(s->a), bytes, n, oid), 0);
	in.oid = *oid;
	in.size = (int64_t)n;
	assert_int_equal(p4r_registry_add_version(p4r_repo_registry(s->a), &in, NULL, NULL), 0);
}

/* m@2 (2 MiB, chunked) is deleted on the remote; while gc -r runs, m@3
 * (m@2 but its last 64 KiB) is pushed after gc listed chunks/ and reuses
 * m@2's old pack. gc removes m@2's list, but no pack m@3's list names. */
static void test_remote_pack_reused_during_gc(void **state)
{
	tu_sync *s = *state;
	static p4r_remote_ops hooked;
	p4r_gc_opts o = { .grace_s = 0, .now_s = (int64_t)time(NULL) + 10 };
	p4r_gc_remote_objects_result res;
	size_t n = (size_t)2 << 20, i;
	unsigned char *bytes = malloc(n);
	uint64_t x = 19;
	p4r_chunklist l = { 0 };
	p4r_remote *r = NULL;
	p4r_oid v2, v3;
	char key[128];

	assert_non_null(bytes);
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		bytes[i] = (unsigned char)x;
	}
	sync_add_bytes(s, bytes, n, &v2);
	sync_push(s);
	sync_rm(s, "m@2");
	sync_push(s);
	memset(bytes + n - 65536, 0, 65536);
	sync_add_bytes(s, bytes, n, &v3);
	free(bytes);
	assert_int_equal(p4r_remote_open(&r, p4r_repo_config(s->a), p4r_repo_meta(s->a), "origin"), 0);
	real_ops = r->ops;
	hooked = *r->ops;
	hooked.list_objects = list_then_push;
	r->ops = &hooked;
	hook_sync = s;
	hook_fired = false;
	assert_int_equal(p4r_gc_remote_objects(s->a, r, &o, &res), 0);
	assert_true(hook_fired);
	p4r_gc_remote_objects_result_clear(&res);
	p4r_remote_chunks_key(key, sizeof(key), &v2);
	assert_false(on_remote(s, key));
	assert_int_equal(p4r_remote_get_chunklist(r, &v3, &l), 0);
	assert_true(l.npacks >= 2); /* m@2's old pack and m@3's own */
	for (i = 0; i < l.npacks; i++) {
		p4r_oid pack;

		p4r_oid_from_raw(&pack, l.packs[i]);
		p4r_remote_pack_key(key, sizeof(key), &pack);
		assert_true(on_remote(s, key));
	}
	p4r_chunklist_clear(&l);
	p4r_remote_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_keep_last_rules, tu_fx_setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_keep_stages, tu_fx_setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_dry_run_equals_run, tu_fx_setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_freed_bytes_exact, tu_fx_setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_options, tu_fx_setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_remote_objects, sync_setup, sync_teardown),
		cmocka_unit_test_setup_teardown(test_remote_bad_log, sync_setup, sync_teardown),
		cmocka_unit_test_setup_teardown(test_remote_pack_reused_during_gc, sync_setup, sync_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
