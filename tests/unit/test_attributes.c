/* Unit tests for .gitattributes editing (track/untrack) and pattern checks. */
#include "testutil.h"
#include "p4reg/attributes.h"
#include "p4reg/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LFS " filter=lfs diff=lfs merge=lfs -text"

/* Tracks (or untracks) PATS in TEXT and compares with WANT. */
static void check_edit(bool track, const char *text, const char *const *pats, size_t n,
		       const char *want, const p4r_attr_action *want_actions)
{
	p4r_attr_action actions[8];
	char *out = NULL;
	size_t len = 0, i;

	if (track)
		assert_int_equal(p4r_attr_track_text(&out, &len, text, strlen(text), pats, n, actions), 0);
	else
		assert_int_equal(p4r_attr_untrack_text(&out, &len, text, strlen(text), pats, n, actions), 0);
	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));
	for (i = 0; want_actions && i < n; i++)
		assert_int_equal(actions[i], want_actions[i]);
	free(out);
}

static void test_escape(void **state)
{
	char buf[256];

	(void)state;
	assert_int_equal(p4r_attr_escape(buf, sizeof(buf), "models/my model*.bin"), 0);
	assert_string_equal(buf, "models/my[[:space:]]model*.bin");
	assert_int_equal(p4r_attr_escape(buf, sizeof(buf), "a#b.bin"), 0);
	assert_string_equal(buf, "a\\#b.bin");
	assert_int_equal(p4r_attr_escape(buf, sizeof(buf), "./x/*.pt"), 0);
	assert_string_equal(buf, "x/*.pt");
	assert_int_equal(p4r_attr_escape(buf, sizeof(buf), ""), P4R_EUSAGE);
	assert_int_equal(p4r_attr_escape(buf, sizeof(buf), "./"), P4R_EUSAGE);
	assert_int_equal(p4r_attr_escape(buf, sizeof(buf), "!x"), P4R_EUSAGE);
	assert_int_equal(p4r_attr_escape(buf, sizeof(buf), "a\nb"), P4R_EUSAGE);
	assert_int_equal(p4r_attr_escape(buf, sizeof(buf), "a\tb"), P4R_EUSAGE);
	assert_int_equal(p4r_attr_escape(buf, 8, "abcdefghij"), P4R_EUSAGE);
}

static void test_track_new_and_existing(void **state)
{
	const char *pats[] = { "*.onnx", "my model.bin", "a#b", "*.onnx" };
	const p4r_attr_action acts[] = { P4R_ATTR_ADDED, P4R_ATTR_ADDED, P4R_ATTR_ADDED, P4R_ATTR_ALREADY };
	const char *one[] = { "*.onnx" };
	const p4r_attr_action already[] = { P4R_ATTR_ALREADY };
	const p4r_attr_action replaced[] = { P4R_ATTR_REPLACED };

	(void)state;
	check_edit(true, "", pats, 4,
		   "*.onnx" LFS "\nmy[[:space:]]model.bin" LFS "\na\\#b" LFS "\n", acts);
	check_edit(true, "*.onnx" LFS "\n", one, 1, "*.onnx" LFS "\n", already);
	/* an existing line for the pattern without filter=lfs becomes the LFS line */
	check_edit(true, "*.txt text\n*.onnx -text\n# end\n", one, 1,
		   "*.txt text\n*.onnx" LFS "\n# end\n", replaced);
	/* blank lines, comments and odd spacing are kept byte for byte */
	check_edit(true, "# c\n\n   \n\t*.x  binary\n", one, 1,
		   "# c\n\n   \n\t*.x  binary\n*.onnx" LFS "\n", NULL);
}

static void test_track_crlf_and_no_newline(void **state)
{
	const char *one[] = { "*.onnx" };

	(void)state;
	check_edit(true, "*.txt text\r\n*.png binary\r\n", one, 1,
		   "*.txt text\r\n*.png binary\r\n*.onnx" LFS "\r\n", NULL);
	check_edit(true, "*.txt text\r\n*.png binary", one, 1,
		   "*.txt text\r\n*.png binary\r\n*.onnx" LFS "\r\n", NULL);
	check_edit(true, "*.txt text", one, 1, "*.txt text\n*.onnx" LFS "\n", NULL);
	check_edit(true, "*.onnx -text", one, 1, "*.onnx" LFS "\n", NULL);
	check_edit(true, "*.onnx -text\r\n", one, 1, "*.onnx" LFS "\r\n", NULL);
}

static void test_untrack(void **state)
{
	const char *pats[] = { "*.onnx", "my m.bin", "*.bin", "nope" };
	const p4r_attr_action acts[] = { P4R_ATTR_REMOVED, P4R_ATTR_REMOVED, P4R_ATTR_ABSENT, P4R_ATTR_ABSENT };

	(void)state;
	check_edit(false, "*.txt text\r\n*.onnx" LFS "\r\n*.bin -text\r\nmy[[:space:]]m.bin" LFS, pats, 4,
		   "*.txt text\r\n*.bin -text\r\n", acts);
}

static void test_pattern_matches(void **state)
{
	(void)state;
	assert_true(p4r_attr_pattern_matches("*.onnx", "models/x.onnx"));
	assert_true(p4r_attr_pattern_matches("*.onnx", "x.onnx"));
	assert_false(p4r_attr_pattern_matches("models/*.onnx", "models/a/x.onnx"));
	assert_true(p4r_attr_pattern_matches("models/**/*.onnx", "models/a/b/x.onnx"));
	assert_true(p4r_attr_pattern_matches("models/**/*.onnx", "models/x.onnx"));
	assert_true(p4r_attr_pattern_matches("**/x.bin", "a/b/x.bin"));
	assert_true(p4r_attr_pattern_matches("/x.bin", "x.bin"));
	assert_false(p4r_attr_pattern_matches("/x.bin", "a/x.bin"));
	assert_true(p4r_attr_pattern_matches("*", ".p4reg"));
	assert_true(p4r_attr_pattern_matches(".p4reg/**", ".p4reg/objects/ab/cd/x"));
	assert_true(p4r_attr_pattern_matches(".p4reg/", ".p4reg"));
	assert_true(p4r_attr_pattern_matches("[.]p4*", ".p4reg"));
	assert_true(p4r_attr_pattern_matches("my model?.bin", "my model1.bin"));
	assert_true(p4r_attr_pattern_matches("a[[:digit:]].bin", "a7.bin"));
	assert_false(p4r_attr_pattern_matches("a[!0-9].bin", "a7.bin"));
	assert_false(p4r_attr_pattern_matches("*.onnx", "x.bin"));
}

static void test_check_pattern(void **state)
{
	(void)state;
	assert_int_equal(p4r_attr_check_pattern("*.onnx", ".p4reg"), 0);
	assert_int_equal(p4r_attr_check_pattern("models/*", ".p4reg"), 0);
	assert_int_equal(p4r_attr_check_pattern("*", ".p4reg"), P4R_EUSAGE);
	assert_int_equal(p4r_attr_check_pattern(".p4reg/**", ".p4reg"), P4R_EUSAGE);
	assert_int_equal(p4r_attr_check_pattern("config", ".p4reg"), P4R_EUSAGE);
	assert_int_equal(p4r_attr_check_pattern("*.db", ".p4reg"), P4R_EUSAGE);
	assert_int_equal(p4r_attr_check_pattern("*.p4reg", ".p4reg"), P4R_EUSAGE);
	assert_int_equal(p4r_attr_check_pattern("sub/.p4reg/*", "sub/.p4reg"), P4R_EUSAGE);
	assert_int_equal(p4r_attr_check_pattern(".p4reg/*", "sub/.p4reg"), 0);
}

static void test_files(void **state)
{
	char *dir = tu_mkdtemp(), *path, *text, **pats = NULL;
	const char *add[] = { "*.onnx", "a b.bin" };
	p4r_attr_action acts[2];
	size_t n = 0;
	bool changed;

	(void)state;
	path = tu_write(dir, ".gitattributes", "*.txt text\r\n", 12);
	assert_int_equal(p4r_attr_track_file(path, add, 2, acts, &changed), 0);
	assert_true(changed);
	text = tu_slurp(path, NULL);
	assert_string_equal(text, "*.txt text\r\n*.onnx" LFS "\r\na[[:space:]]b.bin" LFS "\r\n");
	free(text);
	assert_int_equal(p4r_attr_track_file(path, add, 1, acts, &changed), 0);
	assert_false(changed);
	assert_int_equal(p4r_attr_list_lfs(path, &pats, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(pats[0], "*.onnx");
	assert_string_equal(pats[1], "a[[:space:]]b.bin");
	free(pats[0]);
	free(pats[1]);
	free(pats);
	assert_int_equal(p4r_attr_untrack_file(path, add, 2, acts, &changed), 0);
	assert_true(changed);
	text = tu_slurp(path, NULL);
	assert_string_equal(text, "*.txt text\r\n");
	free(text);
	free(path);
	tu_rmtree_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_track_new_and_existing),
		cmocka_unit_test(test_track_crlf_and_no_newline),
		cmocka_unit_test(test_untrack),
		cmocka_unit_test(test_pattern_matches),
		cmocka_unit_test(test_check_pattern),
		cmocka_unit_test(test_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
