/* Unit tests for p4r_rm (ops/rm.c), called directly: a deleted version's
 * number is never reused; it leaves every list and reference; a stage
 * holder, an alias holder and rollback's target are kept unless forced; a
 * dry run changes nothing; the object becomes garbage for gc unless a
 * live version uses it; a checked-out version's file stays. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/gc.h"
#include "p4reg/lifecycle.h"
#include "p4reg/ops/add.h"
#include "p4reg/ops/alias.h"
#include "p4reg/ops/rm.h"
#include "p4reg/ref.h"
#include "p4reg/repo.h"
#include "p4reg/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sqlite3.h>

#include "registry/sql.h"

/* Adds BYTES as the next version of the model of file NAME; its number. */
static int64_t add(tu_fx *fx, const char *name, const char *bytes)
{
	const char *paths[1];
	p4r_add_opts opts = { .paths = paths, .npaths = 1, .no_stage = true };
	p4r_add_result res;
	int64_t n;
	char *file;

	paths[0] = file = tu_write(fx->dir, name, bytes, strlen(bytes));
	assert_int_equal(p4r_add(fx->repo, &opts, NULL, &res), 0);
	n = res.files[0].version.number;
	p4r_add_result_free(&res);
	free(file);
	return n;
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

static int rm(tu_fx *fx, const char *ref, bool force, bool dry_run, p4r_rm_result *res)
{
	p4r_rm_opts opts = { .ref = ref, .force = force, .dry_run = dry_run, .reason = "bad data" };

	return p4r_rm(fx->repo, &opts, NULL, res);
}

static void rm_ok(tu_fx *fx, const char *ref, bool force)
{
	p4r_rm_result res;

	assert_int_equal(rm(fx, ref, force, false, &res), 0);
	assert_true(res.deleted);
	p4r_rm_result_free(&res);
}

static void promote(tu_fx *fx, int64_t number, p4r_stage to)
{
	p4r_promote_req req = { .model = "m", .number = number, .to = to, .force = true, .actor = "t" };
	p4r_promotion p = { 0 };

	assert_int_equal(p4r_lifecycle_promote(p4r_repo_registry(fx->repo), &req, &p), 0);
	p4r_promotion_clear(&p);
}

static void test_number_never_reused(void **state)
{
	tu_fx *fx = *state;
	p4r_registry *reg = p4r_repo_registry(fx->repo);
	p4r_version v = { 0 };
	p4r_model m = { 0 };

	assert_int_equal(add(fx, "m.bin", "one"), 1);
	assert_int_equal(add(fx, "m.bin", "two"), 2);
	assert_int_equal(add(fx, "m.bin", "three"), 3);
	rm_ok(fx, "m@3", false);
	/* the deleted latest's number stays taken, also for its own bytes */
	assert_int_equal(add(fx, "m.bin", "three"), 4);
	rm_ok(fx, "m", false);  /* a bare name: the latest, now 4 */
	assert_int_equal(add(fx, "m.bin", "five"), 5);
	assert_int_equal(p4r_registry_version_get(reg, "m", 3, &v), P4R_ENOTFOUND);
	assert_string_equal(p4r_error_message(), "version 3 of model 'm' was deleted (p4reg rm);"
			    " 'p4reg history m' says by whom and why");
	assert_int_equal(p4r_registry_version_find(reg, "m", 3, &v), 0);
	assert_true(v.deleted_ms > 0);
	assert_int_equal(v.stage, P4R_STAGE_ARCHIVED);
	p4r_version_clear(&v);
	assert_int_equal(p4r_registry_model_get(reg, "m", &m), 0);
	assert_int_equal(m.version_count, 3);
	assert_int_equal(m.latest, 5);
	p4r_model_clear(&m);
	assert_int_equal(p4r_ref_resolve(fx->repo, "m@latest", &v), 0);
	assert_int_equal(v.number, 5);
	p4r_version_clear(&v);
	/* the event records who, why, from which stage */
	assert_int_equal(db_int(fx, "SELECT count(*) FROM events e JOIN versions v ON v.id = e.version_id"
			       " WHERE e.kind = 'delete' AND v.number = 3 AND e.reason = 'bad data'"
			       " AND e.from_stage = 'development' AND e.to_stage = 'archived' AND e.forced = 0"), 1);
	/* the rows stay */
	assert_int_equal(db_int(fx, "SELECT count(*) FROM versions"), 5);
	/* deleting a deleted version names it */
	assert_int_equal(rm(fx, "m@3", true, false, &(p4r_rm_result){ 0 }), P4R_ENOTFOUND);
	assert_non_null(strstr(p4r_error_message(), "was deleted"));
}

static void test_refusals(void **state)
{
	tu_fx *fx = *state;
	p4r_alias_opts ao = { .action = P4R_ALIAS_SET, .model = "m", .name = "champion", .version = "3" };
	p4r_alias_result ar;
	p4r_rm_result res;
	int64_t events;

	add(fx, "m.bin", "one");
	add(fx, "m.bin", "two");
	add(fx, "m.bin", "three");
	add(fx, "m.bin", "four");
	promote(fx, 1, P4R_STAGE_PRODUCTION);
	promote(fx, 2, P4R_STAGE_PRODUCTION);  /* 1 archived: rollback's target */
	assert_int_equal(p4r_alias(fx->repo, &ao, NULL, &ar), 0);
	p4r_alias_result_free(&ar);
	events = db_int(fx, "SELECT count(*) FROM events");

	assert_int_equal(rm(fx, "m@2", false, false, &res), P4R_EREFUSED);
	assert_string_equal(p4r_error_message(), "cannot delete 'm@2': it is in production; --force deletes"
			    " it anyway");
	p4r_rm_result_free(&res);
	assert_int_equal(rm(fx, "m@3", false, false, &res), P4R_EREFUSED);
	assert_string_equal(p4r_error_message(), "cannot delete 'm@3': alias 'champion' names it; --force"
			    " deletes it anyway");
	assert_int_equal(res.naliases, 1);
	p4r_rm_result_free(&res);
	assert_int_equal(rm(fx, "m@1", false, false, &res), P4R_EREFUSED);
	assert_string_equal(p4r_error_message(), "cannot delete 'm@1': rollback would return to it; --force"
			    " deletes it anyway");
	assert_true(res.rollback_target);
	p4r_rm_result_free(&res);
	/* a dry run refuses the same way */
	assert_int_equal(rm(fx, "m@champion", false, true, &res), P4R_EREFUSED);
	p4r_rm_result_free(&res);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM events"), events);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM versions WHERE deleted_ms IS NOT NULL"), 0);

	/* forced: archived, the alias gone, the event says forced */
	assert_int_equal(rm(fx, "m@champion", true, false, &res), 0);
	assert_true(res.forced);
	assert_string_equal(res.refusal, "alias 'champion' names it");
	p4r_rm_result_free(&res);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM aliases"), 0);
	assert_int_equal(rm(fx, "m@production", true, false, &res), 0);
	assert_int_equal(res.version.number, 2);
	p4r_rm_result_free(&res);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM versions WHERE stage = 'production'"), 0);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM events WHERE kind = 'delete' AND forced = 1"
			       " AND from_stage = 'production'"), 1);
	/* development and archived are no reason to keep a version */
	rm_ok(fx, "m@4", false);
	/* with production gone, 1 is no rollback target any more */
	rm_ok(fx, "m@1", false);
}

/* A deleted production version is never rollback's target: the walk goes past it. */
static void test_rollback_skips_deleted(void **state)
{
	tu_fx *fx = *state;
	int64_t t = 0;

	add(fx, "m.bin", "one");
	add(fx, "m.bin", "two");
	add(fx, "m.bin", "three");
	promote(fx, 1, P4R_STAGE_PRODUCTION);
	promote(fx, 2, P4R_STAGE_PRODUCTION);
	promote(fx, 3, P4R_STAGE_PRODUCTION);
	assert_int_equal(p4r_lifecycle_rollback_target(p4r_repo_registry(fx->repo), "m", &t), 0);
	assert_int_equal(t, 2);
	rm_ok(fx, "m@2", true);
	assert_int_equal(p4r_lifecycle_rollback_target(p4r_repo_registry(fx->repo), "m", &t), 0);
	assert_int_equal(t, 1);
}

static void test_dry_run(void **state)
{
	tu_fx *fx = *state;
	p4r_rm_result res;
	int64_t events;

	add(fx, "m.bin", "one");
	add(fx, "m.bin", "two");
	events = db_int(fx, "SELECT count(*) FROM events");
	assert_int_equal(rm(fx, "m@1", false, true, &res), 0);
	assert_false(res.deleted);
	assert_false(res.object_kept);
	assert_int_equal(res.version.number, 1);
	p4r_rm_result_free(&res);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM events"), events);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM versions WHERE deleted_ms IS NOT NULL"), 0);
}

static bool stored(tu_fx *fx, const p4r_oid *oid)
{
	return p4r_store_has(p4r_repo_store(fx->repo), oid);
}

static void test_object_garbage(void **state)
{
	tu_fx *fx = *state;
	p4r_gc_opts go = { .grace_s = 0 };
	p4r_gc_result gr;
	p4r_rm_result res;
	p4r_oid shared, alone;

	add(fx, "m.bin", "shared bytes");
	add(fx, "m.bin", "alone");
	add(fx, "n.bin", "shared bytes");
	assert_int_equal(rm(fx, "m@1", false, false, &res), 0);
	assert_true(res.object_kept);  /* n@1 has the same bytes */
	shared = res.version.oid;
	p4r_rm_result_free(&res);
	assert_int_equal(rm(fx, "m@2", false, false, &res), 0);
	assert_false(res.object_kept);
	alone = res.version.oid;
	p4r_rm_result_free(&res);
	/* gc, with every file past the grace period */
	go.now_s = (int64_t)time(NULL) + 10;
	assert_int_equal(p4r_gc_run(fx->repo, &go, &gr), 0);
	assert_int_equal(gr.objects, 1);
	p4r_gc_result_clear(&gr);
	assert_false(stored(fx, &alone));
	assert_true(stored(fx, &shared));
}

static void test_checked_out_stays(void **state)
{
	tu_fx *fx = *state;
	p4r_rm_result res;
	char *path;
	struct stat st;

	add(fx, "m.bin", "one");
	add(fx, "m.bin", "two");  /* m.bin now holds m@2 */
	assert_int_equal(rm(fx, "m@1", false, false, &res), 0);
	assert_null(res.checked_out);
	p4r_rm_result_free(&res);
	assert_int_equal(rm(fx, "m@2", false, false, &res), 0);
	assert_string_equal(res.checked_out, "m.bin");
	p4r_rm_result_free(&res);
	assert_non_null(path = malloc(strlen(fx->dir) + 16));
	snprintf(path, strlen(fx->dir) + 16, "%s/m.bin.p4reg", fx->dir);
	assert_int_equal(stat(path, &st), 0);
	path[strlen(path) - 6] = '\0';
	assert_int_equal(stat(path, &st), 0);
	/* the pointer names a deleted version: resolving it says so */
	assert_int_equal(p4r_ref_resolve(fx->repo, path, &(p4r_version){ 0 }), P4R_ENOTFOUND);
	assert_non_null(strstr(p4r_error_message(), "version 2 of model 'm' was deleted"));
	free(path);
}

static void test_bad_refs(void **state)
{
	tu_fx *fx = *state;
	p4r_rm_result res;

	add(fx, "m.bin", "one");
	assert_int_equal(rm(fx, "nope@1", false, false, &res), P4R_ENOTFOUND);
	assert_string_equal(p4r_error_message(), "unknown model 'nope'");
	assert_int_equal(rm(fx, "m@9", false, false, &res), P4R_ENOTFOUND);
	assert_int_equal(rm(fx, "m@Bad", false, false, &res), P4R_EUSAGE);
	assert_int_equal(rm(fx, "m@nobody", false, false, &res), P4R_ENOTFOUND);
	assert_string_equal(p4r_error_message(), "model 'm' has no alias 'nobody'");
	assert_int_equal(db_int(fx, "SELECT count(*) FROM versions WHERE deleted_ms IS NOT NULL"), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, tu_fx_setup, tu_fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_number_never_reused),
		T(test_refusals),
		T(test_rollback_skips_deleted),
		T(test_dry_run),
		T(test_object_garbage),
		T(test_checked_out_stays),
		T(test_bad_refs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
