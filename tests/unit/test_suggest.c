/* Unit tests for "did you mean": the edit distance and the closeness rule. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/suggest.h"

#include <stdint.h>
#include <string.h>

static void test_distance(void **state)
{
	char longname[P4R_SUGGEST_MAX + 2];

	(void)state;
	assert_int_equal(p4r_edit_distance("", ""), 0);
	assert_int_equal(p4r_edit_distance("abc", ""), 3);
	assert_int_equal(p4r_edit_distance("", "abc"), 3);
	assert_int_equal(p4r_edit_distance("promote", "promote"), 0);
	assert_int_equal(p4r_edit_distance("promte", "promote"), 1);   /* deletion */
	assert_int_equal(p4r_edit_distance("promoote", "promote"), 1); /* insertion */
	assert_int_equal(p4r_edit_distance("promoti", "promote"), 1);  /* substitution */
	assert_int_equal(p4r_edit_distance("pormote", "promote"), 1);  /* swap of neighbours */
	assert_int_equal(p4r_edit_distance("kitten", "sitting"), 3);
	/* optimal string alignment: no edit of a swapped pair ("ca" -> "abc" is 3) */
	assert_int_equal(p4r_edit_distance("ca", "abc"), 3);
	assert_int_equal(p4r_edit_distance("Minilm", "minilm"), 1);    /* bytes, case counts */
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_true(p4r_edit_distance(longname, "a") == SIZE_MAX);
	longname[P4R_SUGGEST_MAX] = '\0';
	assert_int_equal(p4r_edit_distance(longname, longname), 0);
}

static void test_among(void **state)
{
	static const char *const cmds[] = { "init", "add", "log", "list", "promote", "remote", "rollback", "gc" };
	const size_t n = sizeof(cmds) / sizeof(cmds[0]);

	(void)state;
	assert_string_equal(p4r_suggest_among("promte", cmds, n), "promote");
	assert_string_equal(p4r_suggest_among("rmote", cmds, n), "remote");
	assert_string_equal(p4r_suggest_among("lst", cmds, n), "list");
	assert_string_equal(p4r_suggest_among("rollbak", cmds, n), "rollback");
	/* "lit": one edit from "list", two from "log" */
	assert_string_equal(p4r_suggest_among("lit", cmds, n), "list");
	/* a tie keeps the earlier candidate */
	assert_string_equal(p4r_suggest_among("abx", (const char *const[]){ "abc", "abd" }, 2), "abc");
	assert_string_equal(p4r_suggest_among("abx", (const char *const[]){ "abd", "abc" }, 2), "abd");
	assert_string_equal(p4r_suggest_among("ad", cmds, n), "add");
	assert_string_equal(p4r_suggest_among("lig", cmds, n), "log");
	assert_string_equal(p4r_suggest_among("lgo", cmds, n), "log");
	/* too far, or nothing to suggest */
	assert_null(p4r_suggest_among("xyzzy", cmds, n));
	assert_null(p4r_suggest_among("foo", cmds, n));
	assert_null(p4r_suggest_among("promote", cmds + 4, 1)); /* the word itself is no suggestion */
	assert_string_equal(p4r_suggest_among("promote", cmds, n), "remote"); /* but a close other is */
	assert_null(p4r_suggest_among("x", cmds, 0));
	/* never more edits than the candidate has characters: "q" is not "gc" */
	assert_null(p4r_suggest_among("q", cmds, n));
}

static void test_streamed(void **state)
{
	p4r_suggest s;

	(void)state;
	p4r_suggest_init(&s, "minlm");
	assert_null(p4r_suggest_result(&s));
	p4r_suggest_offer(&s, "bert");
	assert_null(p4r_suggest_result(&s));
	p4r_suggest_offer(&s, "minilm-large"); /* 7 edits: too far for a 5-letter word */
	assert_null(p4r_suggest_result(&s));
	p4r_suggest_offer(&s, "minilm2");      /* 2 edits: close */
	assert_string_equal(p4r_suggest_result(&s), "minilm2");
	p4r_suggest_offer(&s, "minilm");       /* 1 edit: closer wins */
	assert_string_equal(p4r_suggest_result(&s), "minilm");
	p4r_suggest_offer(&s, "minlmx");       /* 1 edit too: a tie keeps the first */
	assert_string_equal(p4r_suggest_result(&s), "minilm");
	p4r_suggest_offer(&s, "");
	assert_string_equal(p4r_suggest_result(&s), "minilm");
}

static void test_error_hint(void **state)
{
	(void)state;
	p4r_error_set(P4R_ENOTFOUND, "unknown model '%s'", "minlm");
	assert_string_equal(p4r_error_hint_text(), "");
	p4r_error_hint("did you mean '%s'?", "minilm");
	assert_string_equal(p4r_error_hint_text(), "did you mean 'minilm'?");
	assert_string_equal(p4r_error_message(), "unknown model 'minlm'");
	/* a new error drops the old hint, and so does clearing */
	p4r_error_set(P4R_ERROR, "something else");
	assert_string_equal(p4r_error_hint_text(), "");
	p4r_error_hint("x");
	p4r_error_clear();
	assert_string_equal(p4r_error_hint_text(), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_distance),
		cmocka_unit_test(test_among),
		cmocka_unit_test(test_streamed),
		cmocka_unit_test(test_error_hint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
