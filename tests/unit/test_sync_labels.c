/* Unit tests of aliases, tags, descriptions and deletions between two
 * clones and a folder remote (testutil's sync fixture): what A changes, B
 * gets on fetch; two clones setting one alias end with the one pushed
 * last, as for stages; a deletion travels, its number is never reused on
 * the other clone, and an alias set concurrently on the deleted version
 * is ignored everywhere. */
#include "testutil.h"
#include "p4reg/alias.h"
#include "p4reg/deletion.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/fsck.h"
#include "p4reg/lifecycle.h"
#include "p4reg/ops/fetch.h"
#include "p4reg/ops/push.h"
#include "p4reg/ref.h"
#include "p4reg/registry.h"
#include "p4reg/store.h"
#include "p4reg/tag.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "registry/sql.h"

static int setup(void **state)
{
	*state = tu_sync_new();
	return 0;
}

static int teardown(void **state)
{
	tu_sync_free(*state);
	return 0;
}

/* Stores BYTES in REPO and registers them as the next version of m. */
static int64_t add(p4r_repo *repo, const char *bytes)
{
	p4r_version_input in = { .model = "m", .path = "m.bin", .author = "t", .git_dirty = -1,
				 .size = (int64_t)strlen(bytes) };
	p4r_version v = { 0 };
	int64_t n;

	assert_int_equal(p4r_store_insert_buffer(p4r_repo_store(repo), bytes, strlen(bytes), &in.oid), 0);
	assert_int_equal(p4r_registry_add_version(p4r_repo_registry(repo), &in, &v, NULL), 0);
	n = v.number;
	p4r_version_clear(&v);
	return n;
}

static void push(p4r_repo *repo)
{
	p4r_push_opts po = { .remote = "origin" };
	p4r_push_result pr;

	assert_int_equal(p4r_push(repo, &po, NULL, &pr), 0);
	p4r_push_result_free(&pr);
}

static void fetch(p4r_repo *repo)
{
	p4r_fetch_opts fo = { .remote = "origin" };
	p4r_fetch_result fr;

	assert_int_equal(p4r_fetch(repo, &fo, NULL, &fr), 0);
	p4r_fetch_result_free(&fr);
}

static void set_alias(p4r_repo *repo, const char *name, int64_t number, const char *actor)
{
	p4r_alias_req req = { .model = "m", .name = name, .number = number, .actor = actor };
	int64_t previous;

	assert_int_equal(p4r_registry_alias_set(p4r_repo_registry(repo), &req, &previous), 0);
}

/* The number m@NAME names in REPO, 0 when none. */
static int64_t alias_of(p4r_repo *repo, const char *name)
{
	p4r_version v = { 0 };
	int64_t n;

	if (p4r_registry_alias_resolve(p4r_repo_registry(repo), "m", name, &v) == P4R_ENOTFOUND) {
		p4r_error_clear();
		return 0;
	}
	n = v.number;
	p4r_version_clear(&v);
	return n;
}

static int64_t db_int(p4r_repo *repo, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(p4r_registry_db(p4r_repo_registry(repo)), sql, -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void test_labels_travel(void **state)
{
	tu_sync *s = *state;
	const char *keys[] = { "team" }, *values[] = { "nlp" };
	p4r_tag_req treq = { .model = "m", .number = 1, .keys = keys, .values = values, .n = 1, .actor = "ann" };
	p4r_tags t = { 0 };
	p4r_model m = { 0 };
	char *path, *text;
	bool changed;
	size_t n;

	set_alias(s->a, "champion", 1, "ann");
	assert_int_equal(p4r_registry_tags_set(p4r_repo_registry(s->a), &treq, &n), 0);
	treq.number = 0;
	assert_int_equal(p4r_registry_tags_set(p4r_repo_registry(s->a), &treq, &n), 0);
	assert_int_equal(p4r_registry_describe(p4r_repo_registry(s->a), "m", "embeddings", "ann", NULL, 0,
					       &changed), 0);
	push(s->a);
	fetch(s->b);
	assert_int_equal(alias_of(s->b, "champion"), 1);
	assert_int_equal(p4r_registry_tags_get(p4r_repo_registry(s->b), "m", 1, &t), 0);
	assert_int_equal(t.n, 1);
	assert_string_equal(t.v[0].value, "nlp");
	p4r_tags_clear(&t);
	assert_int_equal(p4r_registry_tags_get(p4r_repo_registry(s->b), "m", 0, &t), 0);
	assert_int_equal(t.n, 1);
	p4r_tags_clear(&t);
	assert_int_equal(p4r_registry_model_get(p4r_repo_registry(s->b), "m", &m), 0);
	assert_string_equal(m.description, "embeddings");
	p4r_model_clear(&m);
	assert_int_equal(db_int(s->b, "SELECT count(*) FROM events WHERE kind IN"
				" ('alias-set', 'tag-set', 'describe')"), 4);
	/* the batch that carried them is format 4 */
	assert_non_null(path = p4r_path_join(s->remote, "log/0000000001.json"));
	assert_non_null(text = tu_slurp(path, NULL));
	assert_non_null(strstr(text, "{\"format\":4,"));
	free(text);
	free(path);
}

/* Both clones point champion elsewhere: the push that comes last wins on both. */
static void test_alias_conflict(void **state)
{
	tu_sync *s = *state;

	assert_int_equal(add(s->a, "version two"), 2);
	push(s->a);
	fetch(s->b);
	set_alias(s->a, "champion", 1, "ann");
	set_alias(s->b, "champion", 2, "bob");
	push(s->a);
	fetch(s->b);
	/* B's own change is later in the shared log's order: it stays */
	assert_int_equal(alias_of(s->b, "champion"), 2);
	push(s->b);
	fetch(s->a);
	assert_int_equal(alias_of(s->a, "champion"), 2);
	assert_int_equal(db_int(s->a, "SELECT count(*) FROM events WHERE kind = 'alias-set'"), 2);
}

static void test_delete_travels(void **state)
{
	tu_sync *s = *state;
	p4r_delete_req req = { .model = "m", .number = 2, .actor = "ann", .reason = "leaked data" };
	p4r_version v = { 0 };

	assert_int_equal(add(s->a, "version two"), 2);
	push(s->a);
	fetch(s->b);
	/* B names 2 meanwhile (not pushed); A deletes 2 and pushes first */
	set_alias(s->b, "canary", 2, "bob");
	assert_int_equal(p4r_registry_version_delete(p4r_repo_registry(s->a), &req), 0);
	push(s->a);
	fetch(s->b);
	assert_int_equal(p4r_registry_version_get(p4r_repo_registry(s->b), "m", 2, &v), P4R_ENOTFOUND);
	assert_non_null(strstr(p4r_error_message(), "was deleted"));
	/* the alias on a version deleted earlier in the log is ignored */
	assert_int_equal(alias_of(s->b, "canary"), 0);
	/* B's next version does not take the deleted number */
	assert_int_equal(add(s->b, "version three"), 3);
	push(s->b);
	fetch(s->a);
	assert_int_equal(alias_of(s->a, "canary"), 0);
	assert_int_equal(p4r_registry_version_get(p4r_repo_registry(s->a), "m", 3, &v), 0);
	p4r_version_clear(&v);
	assert_int_equal(db_int(s->a, "SELECT count(*) FROM versions WHERE deleted_ms IS NOT NULL"), 1);
	assert_int_equal(db_int(s->b, "SELECT count(*) FROM versions WHERE deleted_ms IS NOT NULL"), 1);
}

static void count_issue(const p4r_invariant_issue *issue, void *payload)
{
	print_message("invariant %s: %s\n", issue->kind, issue->message);
	(*(int *)payload)++;
}

/* fsck's invariants hold on REPO. */
static void consistent(p4r_repo *repo)
{
	int issues = 0;

	assert_int_equal(p4r_registry_fsck_invariants(p4r_repo_registry(repo), count_issue, &issues), 0);
	assert_int_equal(issues, 0);
}

/* B promotes a version A deleted (B had not fetched yet): after the fetch
 * it is deleted and archived on B, and on A once B pushes; the previous
 * staging holder was archived by the promotion, as the log says. */
static void test_promote_of_deleted(void **state)
{
	tu_sync *s = *state;
	p4r_delete_req req = { .model = "m", .number = 2, .actor = "ann" };
	p4r_promote_req pr = { .model = "m", .number = 2, .to = P4R_STAGE_STAGING, .force = true, .actor = "bob" };
	p4r_promotion p = { 0 };

	assert_int_equal(add(s->a, "version two"), 2);
	push(s->a);
	fetch(s->b);
	assert_int_equal(p4r_registry_version_delete(p4r_repo_registry(s->a), &req), 0);
	push(s->a);
	assert_int_equal(p4r_lifecycle_promote(p4r_repo_registry(s->b), &pr, &p), 0);
	p4r_promotion_clear(&p);
	fetch(s->b);
	assert_int_equal(db_int(s->b, "SELECT count(*) FROM versions WHERE number = 2 AND stage = 'archived'"
				" AND deleted_ms IS NOT NULL"), 1);
	consistent(s->b);
	push(s->b);
	fetch(s->a);
	assert_int_equal(db_int(s->a, "SELECT count(*) FROM versions WHERE number = 2 AND stage = 'archived'"
				" AND deleted_ms IS NOT NULL"), 1);
	assert_int_equal(db_int(s->a, "SELECT count(*) FROM versions WHERE stage = 'staging'"), 0);
	consistent(s->a);
}

/* A version deleted here is not uploaded: its bytes may be gone already. */
static void test_deleted_not_uploaded(void **state)
{
	tu_sync *s = *state;
	p4r_delete_req req = { .model = "m", .number = 2, .actor = "ann" };
	p4r_push_opts po = { .remote = "origin" };
	p4r_push_result pr;

	assert_int_equal(add(s->a, "version two"), 2);
	assert_int_equal(p4r_registry_version_delete(p4r_repo_registry(s->a), &req), 0);
	assert_int_equal(p4r_push(s->a, &po, NULL, &pr), 0);
	assert_int_equal(pr.sync.objects_sent, 1);  /* m@1's only */
	p4r_push_result_free(&pr);
	fetch(s->b);
	assert_int_equal(db_int(s->b, "SELECT count(*) FROM versions WHERE number = 2"
				" AND deleted_ms IS NOT NULL AND stage = 'archived'"), 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_labels_travel),
		T(test_alias_conflict),
		T(test_delete_travels),
		T(test_deleted_not_uploaded),
		T(test_promote_of_deleted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
