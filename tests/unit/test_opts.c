/* Unit tests for the shared option parser and reference parser. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/opts.h"
#include "p4reg/ref.h"

#include <stdio.h>
#include <string.h>

enum { O_NAME = 1, O_FORCE, O_TO };

static const p4r_option table[] = {
	{ "name", 'n', true, O_NAME },
	{ "force", 'f', false, O_FORCE },
	{ "to", 0, true, O_TO },
	{ NULL, 0, false, 0 },
};

/* Parses ARGV and writes "id:value" tokens joined by spaces into OUT. */
static int collect(int argc, char **argv, char *out, size_t sz)
{
	p4r_opts o;
	const char *v;
	int id, rc;
	size_t used = 0;

	out[0] = '\0';
	p4r_opts_init(&o, argc, argv, table);
	while ((rc = p4r_opts_next(&o, &id, &v)) == 0 && id != P4R_OPT_DONE)
		used += (size_t)snprintf(out + used, sz - used, "%s%d:%s", used ? " " : "", id, v ? v : "-");
	return rc;
}

static void test_mixed(void **state)
{
	char *argv[] = { "a", "-n", "x", "--to=staging", "-f", "b", "--name", "y", "-nz", "--", "-f", "--to" };
	char out[256];

	(void)state;
	assert_int_equal(collect(12, argv, out, sizeof(out)), 0);
	assert_string_equal(out, "-100:a 1:x 3:staging 2:- -100:b 1:y 1:z -100:-f -100:--to");
}

static void test_errors(void **state)
{
	char *unknown[] = { "--bogus" }, *noval[] = { "--to" }, *flagval[] = { "--force=1" }, *shortx[] = { "-x" };
	char *help[] = { "-fh" };
	char out[128];
	p4r_opts o;
	const char *v;
	int id;

	(void)state;
	assert_int_equal(collect(1, unknown, out, sizeof(out)), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(), "unknown option '--bogus'");
	assert_int_equal(collect(1, noval, out, sizeof(out)), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(), "option '--to' needs a value");
	assert_int_equal(collect(1, flagval, out, sizeof(out)), P4R_EUSAGE);
	assert_int_equal(collect(1, shortx, out, sizeof(out)), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(), "unknown option '-x'");
	p4r_opts_init(&o, 1, help, table);
	assert_int_equal(p4r_opts_next(&o, &id, &v), 0);
	assert_int_equal(id, O_FORCE);
	assert_int_equal(p4r_opts_next(&o, &id, &v), 0);
	assert_int_equal(id, P4R_OPT_HELP);
}

static void test_parse_int(void **state)
{
	long long v;

	(void)state;
	assert_int_equal(p4r_parse_int64(&v, "42", 0, 100, "step"), 0);
	assert_int_equal(v, 42);
	assert_int_equal(p4r_parse_int64(&v, "101", 0, 100, "step"), P4R_EUSAGE);
	assert_int_equal(p4r_parse_int64(&v, "4x", 0, 100, "step"), P4R_EUSAGE);
	assert_int_equal(p4r_parse_int64(&v, "", 0, 100, "step"), P4R_EUSAGE);
	assert_int_equal(p4r_parse_int64(&v, " 4", 0, 100, "step"), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(), "invalid step ' 4'");
}

static void test_ref_parse(void **state)
{
	p4r_ref r;

	(void)state;
	assert_int_equal(p4r_ref_parse(&r, "emb@3"), 0);
	assert_int_equal(r.kind, P4R_REF_NUMBER);
	assert_int_equal(r.number, 3);
	assert_int_equal(p4r_ref_parse(&r, "emb@v12"), 0);
	assert_int_equal(r.number, 12);
	assert_int_equal(p4r_ref_parse(&r, "emb@latest"), 0);
	assert_int_equal(r.kind, P4R_REF_LATEST);
	assert_int_equal(p4r_ref_parse(&r, "emb"), 0);
	assert_true(r.bare);
	assert_int_equal(p4r_ref_parse(&r, "emb@production"), 0);
	assert_int_equal(r.kind, P4R_REF_STAGE);
	assert_int_equal(r.stage, P4R_STAGE_PRODUCTION);
	assert_int_equal(p4r_ref_parse(&r, "all-MiniLM-L6-v2@staging"), 0);
	assert_string_equal(r.model, "all-MiniLM-L6-v2");
	assert_int_equal(p4r_ref_parse(&r, "emb@0"), P4R_EUSAGE);
	assert_int_equal(p4r_ref_parse(&r, "emb@-1"), P4R_EUSAGE);
	assert_int_equal(p4r_ref_parse(&r, "emb@Abc"), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(), "invalid reference 'emb@Abc': unknown version, stage or alias 'Abc'");
	/* a valid alias name is an alias (the registry says whether it exists) */
	assert_int_equal(p4r_ref_parse(&r, "emb@abc"), 0);
	assert_int_equal(r.kind, P4R_REF_ALIAS);
	assert_string_equal(r.alias, "abc");
	assert_int_equal(p4r_ref_parse(&r, "emb@v2x"), 0);
	assert_int_equal(r.kind, P4R_REF_ALIAS);
	assert_int_equal(p4r_ref_parse(&r, "emb@a.b"), P4R_EUSAGE);
	assert_int_equal(p4r_ref_parse(&r, "emb@99999999999"), P4R_EUSAGE);
	assert_int_equal(p4r_ref_parse(&r, "@3"), P4R_EUSAGE);
	assert_int_equal(p4r_ref_parse(&r, "a/b@3"), P4R_EUSAGE);
	assert_int_equal(p4r_ref_parse(&r, "emb@"), P4R_EUSAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_parse_int),
		cmocka_unit_test(test_ref_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
