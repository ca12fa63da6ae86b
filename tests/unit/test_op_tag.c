/* Unit tests for p4r_tag (ops/tag.c) and the tag rules (registry/
 * tag_sql.c): tags of a version and of a model, a model's description,
 * one event per change with only what changed, hostile keys and values
 * refused before anything is written, add --tag in the add's transaction. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/ops/add.h"
#include "p4reg/ops/tag.h"
#include "p4reg/repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "registry/sql.h"

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

static int add(tu_fx *fx, const char *bytes, const char *const *tags, size_t ntags)
{
	const char *paths[1];
	p4r_add_opts opts = { .paths = paths, .npaths = 1, .no_stage = true, .tags = tags, .ntags = ntags };
	p4r_add_result res;
	char *file;
	int rc;

	paths[0] = file = tu_write(fx->dir, "m.bin", bytes, strlen(bytes));
	rc = p4r_add(fx->repo, &opts, NULL, &res);
	p4r_add_result_free(&res);
	free(file);
	return rc;
}

static int setup(void **state)
{
	tu_fx *fx = calloc(1, sizeof(*fx));

	fx->repo = tu_repo_isolated(&fx->dir, NULL);
	assert_int_equal(add(fx, "one", NULL, 0), 0);
	assert_int_equal(add(fx, "two", NULL, 0), 0);
	*state = fx;
	return 0;
}

static int tag(tu_fx *fx, const char *target, bool model, bool remove, const char *const *args,
	       size_t n, p4r_tag_result *res)
{
	p4r_tag_opts opts = { .target = target, .model = model, .remove = remove, .args = args, .nargs = n,
			      .reason = "why" };

	return p4r_tag(fx->repo, &opts, NULL, res);
}

static void test_version_tags(void **state)
{
	tu_fx *fx = *state;
	const char *set[] = { "team=nlp", "note=hello = world", "empty=" };
	const char *again[] = { "team=nlp", "note=changed" };
	const char *del[] = { "team" };
	p4r_tag_result res;

	assert_int_equal(tag(fx, "m@1", false, false, set, 3, &res), 0);
	assert_int_equal(res.changed, 3);
	assert_int_equal(res.version, 1);
	assert_int_equal(res.tags.n, 3);
	assert_string_equal(res.tags.v[0].key, "empty");
	assert_string_equal(res.tags.v[0].value, "");
	assert_string_equal(res.tags.v[1].key, "note");
	assert_string_equal(res.tags.v[1].value, "hello = world");
	assert_null(res.description);
	p4r_tag_result_free(&res);
	/* only what changes goes into the event */
	assert_int_equal(tag(fx, "m@1", false, false, again, 2, &res), 0);
	assert_int_equal(res.changed, 1);
	p4r_tag_result_free(&res);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM events WHERE kind = 'tag-set'"
			       " AND detail = '{\"tags\":{\"note\":\"changed\"}}' AND reason = 'why'"), 1);
	assert_int_equal(tag(fx, "m@1", false, false, again, 2, &res), 0);
	assert_int_equal(res.changed, 0);
	p4r_tag_result_free(&res);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM events WHERE kind = 'tag-set'"), 2);
	/* remove; a key not there removes nothing */
	assert_int_equal(tag(fx, "m@1", false, true, del, 1, &res), 0);
	assert_int_equal(res.tags.n, 2);
	p4r_tag_result_free(&res);
	assert_int_equal(tag(fx, "m@1", false, true, del, 1, &res), P4R_ENOTFOUND);
	assert_string_equal(p4r_error_message(), "m@1 has no tag 'team'");
	/* the other version has none; the list is what it is */
	assert_int_equal(tag(fx, "m", false, false, NULL, 0, &res), 0);
	assert_int_equal(res.version, 2);
	assert_int_equal(res.tags.n, 0);
	p4r_tag_result_free(&res);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM version_tags"), 2);
}

static void test_model_tags_and_description(void **state)
{
	tu_fx *fx = *state;
	const char *set[] = { "owner=ann" };
	p4r_tag_opts desc = { .target = "m", .description = "line one\nline\ttwo" };
	p4r_tag_result res;

	assert_int_equal(tag(fx, "m", true, false, set, 1, &res), 0);
	assert_int_equal(res.version, 0);
	assert_string_equal(res.description, "");
	p4r_tag_result_free(&res);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM model_tags WHERE key = 'owner' AND value = 'ann'"), 1);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM events WHERE kind = 'tag-set' AND version_id IS NULL"), 1);
	assert_int_equal(p4r_tag(fx->repo, &desc, NULL, &res), 0);
	assert_true(res.described);
	assert_string_equal(res.description, "line one\nline\ttwo");
	assert_int_equal(res.tags.n, 1);
	p4r_tag_result_free(&res);
	assert_int_equal(p4r_tag(fx->repo, &desc, NULL, &res), 0);
	assert_false(res.described);
	p4r_tag_result_free(&res);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM events WHERE kind = 'describe'"), 1);
	/* --model takes a model, not a reference */
	assert_int_equal(tag(fx, "m@1", true, false, set, 1, &res), P4R_EUSAGE);
	desc.description = "bad\x1b[31m";
	assert_int_equal(p4r_tag(fx->repo, &desc, NULL, &res), P4R_EUSAGE);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM events WHERE kind = 'describe'"), 1);
}

/* ARG as the one KEY=VALUE is P4R_EUSAGE with MSG; nothing recorded. */
static void refused(tu_fx *fx, const char *arg, const char *msg)
{
	const char *args[] = { arg };
	p4r_tag_result res;
	int64_t events = db_int(fx, "SELECT count(*) FROM events");

	assert_int_equal(tag(fx, "m@1", false, false, args, 1, &res), P4R_EUSAGE);
	if (!strstr(p4r_error_message(), msg))
		fail_msg("'%s' does not contain '%s'", p4r_error_message(), msg);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM events"), events);
}

static void test_hostile_input(void **state)
{
	tu_fx *fx = *state;
	const char *twice[] = { "a=1", "a=2" };
	char big[P4R_TAG_VALUE_MAX + 8], key[P4R_TAG_KEY_MAX + 8];
	p4r_tag_result res;

	refused(fx, "novalue", "expected KEY=VALUE");
	refused(fx, "=x", "invalid tag key '': 1..128");
	refused(fx, "a b=x", "invalid tag key");
	refused(fx, "-a=x", "invalid tag key");
	refused(fx, "k\n=x", "invalid tag key");
	refused(fx, "k=line\nbreak", "invalid value of tag 'k': at most 4096 bytes");
	refused(fx, "k=tab\there", "invalid value of tag 'k'");
	refused(fx, "k=\x1b[2Jclear", "invalid value of tag 'k'");
	refused(fx, "k=\x7f", "invalid value of tag 'k'");
	refused(fx, "k=\xc2\x9b" "csi", "invalid value of tag 'k'");
	refused(fx, "k=\xff\xfe", "invalid value of tag 'k'");
	memset(big, 'v', sizeof(big));
	memcpy(big, "k=", 2);
	big[P4R_TAG_VALUE_MAX + 3] = '\0';
	refused(fx, big, "invalid value of tag 'k'");
	big[P4R_TAG_VALUE_MAX + 2] = '\0';
	assert_int_equal(tag(fx, "m@1", false, false, (const char *[]){ big }, 1, &res), 0);
	p4r_tag_result_free(&res);
	memset(key, 'k', sizeof(key));
	key[P4R_TAG_KEY_MAX + 1] = '=';
	key[P4R_TAG_KEY_MAX + 2] = '\0';
	refused(fx, key, "invalid tag key");
	assert_int_equal(tag(fx, "m@1", false, false, twice, 2, &res), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(), "tag 'a' is named twice");
	assert_int_equal(tag(fx, "m@1", false, true, (const char *[]){ "bad key" }, 1, &res), P4R_EUSAGE);
	assert_true(p4r_tag_value_valid("caf\xc3\xa9 \xe2\x9c\x93"));
	assert_true(p4r_tag_key_valid("mlflow.source/git:main-1"));
	/* unknown and deleted targets */
	assert_int_equal(tag(fx, "nope@1", false, false, (const char *[]){ "a=1" }, 1, &res), P4R_ENOTFOUND);
	assert_int_equal(tag(fx, "m@7", false, false, (const char *[]){ "a=1" }, 1, &res), P4R_ENOTFOUND);
	assert_int_equal(tag(fx, "nope", true, false, (const char *[]){ "a=1" }, 1, &res), P4R_ENOTFOUND);
}

static void test_add_tags(void **state)
{
	tu_fx *fx = *state;
	const char *tags[] = { "run=r42", "data=2026-02" };
	const char *bad[] = { "run=r1", "run=r2" };

	assert_int_equal(add(fx, "three", tags, 2), 0);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM version_tags t JOIN versions v ON v.id = t.version_id"
			       " WHERE v.number = 3"), 2);
	/* unchanged bytes: the tags go on the version found */
	assert_int_equal(add(fx, "three", (const char *[]){ "run=r43" }, 1), 0);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM version_tags t JOIN versions v ON v.id = t.version_id"
			       " WHERE v.number = 3 AND t.key = 'run' AND t.value = 'r43'"), 1);
	/* bad tags: nothing added at all */
	assert_int_equal(add(fx, "four", bad, 2), P4R_EUSAGE);
	assert_int_equal(add(fx, "four", (const char *[]){ "x" }, 1), P4R_EUSAGE);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM versions"), 3);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, tu_fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_version_tags),
		T(test_model_tags_and_description),
		T(test_hostile_input),
		T(test_add_tags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
