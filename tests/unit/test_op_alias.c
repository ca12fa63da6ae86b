/* Unit tests for p4r_alias (ops/alias.c) and the alias name rules
 * (registry/alias_sql.c): set, move, keep, remove and list; name@ALIAS
 * resolves where a reference does; reserved and hostile names are usage
 * errors that record nothing; a deleted version gets no alias and loses
 * the ones it had. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/ops/add.h"
#include "p4reg/ops/alias.h"
#include "p4reg/ops/rm.h"
#include "p4reg/ref.h"
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

static void add(tu_fx *fx, const char *bytes)
{
	const char *paths[1];
	p4r_add_opts opts = { .paths = paths, .npaths = 1, .no_stage = true };
	p4r_add_result res;
	char *file;

	paths[0] = file = tu_write(fx->dir, "m.bin", bytes, strlen(bytes));
	assert_int_equal(p4r_add(fx->repo, &opts, NULL, &res), 0);
	p4r_add_result_free(&res);
	free(file);
}

/* m@1..m@3 */
static int setup(void **state)
{
	tu_fx *fx = calloc(1, sizeof(*fx));

	fx->repo = tu_repo_isolated(&fx->dir, NULL);
	add(fx, "one");
	add(fx, "two");
	add(fx, "three");
	*state = fx;
	return 0;
}

static int alias(tu_fx *fx, p4r_alias_action action, const char *model, const char *name,
		 const char *version, p4r_alias_result *res)
{
	p4r_alias_opts opts = { .action = action, .model = model, .name = name, .version = version,
				.reason = "best f1" };

	return p4r_alias(fx->repo, &opts, NULL, res);
}

static int64_t resolves_to(tu_fx *fx, const char *ref)
{
	p4r_version v = { 0 };
	int64_t n;

	assert_int_equal(p4r_ref_resolve(fx->repo, ref, &v), 0);
	n = v.number;
	p4r_version_clear(&v);
	return n;
}

static void test_set_move_keep_delete(void **state)
{
	tu_fx *fx = *state;
	p4r_alias_result res;

	assert_int_equal(alias(fx, P4R_ALIAS_SET, "m", "champion", "2", &res), 0);
	assert_true(res.changed);
	assert_int_equal(res.version, 2);
	assert_int_equal(res.previous, 0);
	p4r_alias_result_free(&res);
	assert_int_equal(resolves_to(fx, "m@champion"), 2);
	/* move: N may be any selector */
	assert_int_equal(alias(fx, P4R_ALIAS_SET, "m", "champion", "latest", &res), 0);
	assert_int_equal(res.version, 3);
	assert_int_equal(res.previous, 2);
	p4r_alias_result_free(&res);
	assert_int_equal(resolves_to(fx, "m@champion"), 3);
	/* the same version again: nothing recorded */
	assert_int_equal(alias(fx, P4R_ALIAS_SET, "m", "champion", "v3", &res), 0);
	assert_false(res.changed);
	p4r_alias_result_free(&res);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM events WHERE kind = 'alias-set'"), 2);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM events WHERE kind = 'alias-set' AND reason = 'best f1'"
			       " AND detail = '{\"alias\":\"champion\"}'"), 2);
	/* a second alias, from another alias */
	assert_int_equal(alias(fx, P4R_ALIAS_SET, "m", "canary", "champion", &res), 0);
	p4r_alias_result_free(&res);
	assert_int_equal(alias(fx, P4R_ALIAS_LIST, "m", NULL, NULL, &res), 0);
	assert_int_equal(res.n, 2);
	assert_string_equal(res.aliases[0].name, "canary");
	assert_int_equal(res.aliases[0].version, 3);
	assert_string_equal(res.aliases[1].name, "champion");
	p4r_alias_result_free(&res);
	/* delete */
	assert_int_equal(alias(fx, P4R_ALIAS_DELETE, "m", "champion", NULL, &res), 0);
	assert_int_equal(res.version, 3);
	p4r_alias_result_free(&res);
	assert_int_equal(p4r_ref_resolve(fx->repo, "m@champion", &(p4r_version){ 0 }), P4R_ENOTFOUND);
	assert_string_equal(p4r_error_message(), "model 'm' has no alias 'champion'");
	assert_int_equal(alias(fx, P4R_ALIAS_DELETE, "m", "champion", NULL, &res), P4R_ENOTFOUND);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM events WHERE kind = 'alias-delete'"), 1);
}

/* Each refused name: P4R_EUSAGE with MSG, and nothing recorded. */
static void refused(tu_fx *fx, const char *name, const char *msg)
{
	p4r_alias_result res;
	int64_t events = db_int(fx, "SELECT count(*) FROM events");

	assert_int_equal(alias(fx, P4R_ALIAS_SET, "m", name, "1", &res), P4R_EUSAGE);
	if (!strstr(p4r_error_message(), msg))
		fail_msg("'%s' does not contain '%s'", p4r_error_message(), msg);
	assert_int_equal(alias(fx, P4R_ALIAS_DELETE, "m", name, NULL, &res), P4R_EUSAGE);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM events"), events);
	assert_false(p4r_alias_name_valid(name));
}

static void test_reserved_and_hostile_names(void **state)
{
	static const char *const stages[] = {
		"development", "validation", "staging", "production", "archived",
	};
	char long_name[80];
	size_t i;

	for (i = 0; i < sizeof(stages) / sizeof(stages[0]); i++)
		refused(*state, stages[i], "is reserved: it is a stage");
	refused(*state, "latest", "is reserved: name@latest is the highest version");
	refused(*state, "v3", "is reserved: it reads as a version number");
	refused(*state, "v0", "is reserved");
	refused(*state, "3", "invalid alias name '3'");
	refused(*state, "Champion", "invalid alias name");
	refused(*state, "", "invalid alias name ''");
	refused(*state, "-x", "invalid alias name");
	refused(*state, "_x", "invalid alias name");
	refused(*state, "a b", "invalid alias name");
	refused(*state, "a/b", "invalid alias name");
	refused(*state, "../x", "invalid alias name");
	refused(*state, "a.b", "invalid alias name");
	refused(*state, "a@b", "invalid alias name");
	refused(*state, "x\n", "invalid alias name");
	refused(*state, "x\x1b[31m", "invalid alias name");
	refused(*state, "caf\xc3\xa9", "invalid alias name");
	memset(long_name, 'a', 65);
	long_name[65] = '\0';
	refused(*state, long_name, "invalid alias name");
	long_name[64] = '\0';
	assert_true(p4r_alias_name_valid(long_name));
	assert_true(p4r_alias_name_valid("v3x"));
	assert_true(p4r_alias_name_valid("prod-2_b"));
}

static void test_unknown_things(void **state)
{
	tu_fx *fx = *state;
	p4r_alias_result res;

	assert_int_equal(alias(fx, P4R_ALIAS_SET, "nope", "champion", "1", &res), P4R_ENOTFOUND);
	assert_string_equal(p4r_error_message(), "unknown model 'nope'");
	assert_int_equal(alias(fx, P4R_ALIAS_SET, "m", "champion", "9", &res), P4R_ENOTFOUND);
	assert_string_equal(p4r_error_message(), "model 'm' has no version 9");
	assert_int_equal(alias(fx, P4R_ALIAS_SET, "m", "champion", "0", &res), P4R_EUSAGE);
	assert_int_equal(alias(fx, P4R_ALIAS_SET, "m", "champion", "x@1", &res), P4R_EUSAGE);
	assert_int_equal(alias(fx, P4R_ALIAS_SET, "m", "champion", "nobody", &res), P4R_ENOTFOUND);
	assert_int_equal(alias(fx, P4R_ALIAS_LIST, "nope", NULL, NULL, &res), P4R_ENOTFOUND);
	assert_int_equal(alias(fx, P4R_ALIAS_LIST, "a/b", NULL, NULL, &res), P4R_EUSAGE);
	assert_int_equal(alias(fx, P4R_ALIAS_DELETE, "nope", "champion", NULL, &res), P4R_ENOTFOUND);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM events WHERE kind LIKE 'alias%'"), 0);
}

static void test_deleted_versions(void **state)
{
	tu_fx *fx = *state;
	p4r_rm_opts ro = { .ref = "m@2", .force = true };
	p4r_rm_result rr;
	p4r_alias_result res;

	assert_int_equal(alias(fx, P4R_ALIAS_SET, "m", "champion", "2", &res), 0);
	p4r_alias_result_free(&res);
	assert_int_equal(alias(fx, P4R_ALIAS_SET, "m", "canary", "3", &res), 0);
	p4r_alias_result_free(&res);
	assert_int_equal(p4r_rm(fx->repo, &ro, NULL, &rr), 0);
	p4r_rm_result_free(&rr);
	/* the deleted version's alias went with it, the other stays */
	assert_int_equal(db_int(fx, "SELECT count(*) FROM aliases"), 1);
	assert_int_equal(resolves_to(fx, "m@canary"), 3);
	assert_int_equal(alias(fx, P4R_ALIAS_SET, "m", "champion", "2", &res), P4R_ENOTFOUND);
	assert_non_null(strstr(p4r_error_message(), "version 2 of model 'm' was deleted"));
	assert_int_equal(db_int(fx, "SELECT count(*) FROM aliases"), 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, tu_fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_set_move_keep_delete),
		T(test_reserved_and_hostile_names),
		T(test_unknown_things),
		T(test_deleted_versions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
