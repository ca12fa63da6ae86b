/* Unit tests for the pointer file parser and writer. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/pointer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#define OID "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define GOOD "p4reg-pointer 1\nmodel emb\nversion 3\noid sha256:" OID "\nsize 81234567\n"

#define HEAD "p4reg-pointer 1\nmodel minilm\nversion 2\noid sha256:" OID "\nsize 412\n"
#define DIR_GOOD HEAD "kind dir\nfiles 12\n"

static int parse(const char *text, p4r_pointer *p)
{
	return p4r_pointer_parse(p, text, strlen(text), "x.p4reg");
}

static void test_parse_good(void **state)
{
	p4r_pointer p;

	(void)state;
	assert_int_equal(parse(GOOD, &p), 0);
	assert_string_equal(p.model, "emb");
	assert_int_equal(p.version, 3);
	assert_string_equal(p.oid.hex, OID);
	assert_int_equal(p.size, 81234567);
}

static void test_format_round_trip(void **state)
{
	p4r_pointer p, q;
	char buf[P4R_POINTER_MAX_BYTES];
	size_t len;

	(void)state;
	assert_int_equal(parse(GOOD, &p), 0);
	assert_int_equal(p4r_pointer_format(&p, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, strlen(GOOD));
	assert_string_equal(buf, GOOD);
	assert_int_equal(p4r_pointer_parse(&q, buf, len, "y"), 0);
	assert_memory_equal(&p, &q, sizeof(p));
}

static void expect_bad(const char *text, const char *msg)
{
	p4r_pointer p;

	assert_int_equal(parse(text, &p), P4R_EINTEGRITY);
	if (!strstr(p4r_error_message(), msg))
		fail_msg("'%s' does not contain '%s'", p4r_error_message(), msg);
}

static void test_parse_bad(void **state)
{
	(void)state;
	expect_bad("", "line 1: missing 'p4reg-pointer' line (truncated)");
	expect_bad("p4reg-pointer 1\nmodel emb\n", "line 3: missing 'version'");
	expect_bad("p4reg-pointer 2\nmodel emb\nversion 3\noid sha256:" OID "\nsize 1\n", "unknown format version '2'");
	expect_bad("p4reg-pointer 01\n", "unknown format version");
	expect_bad("p4reg-pointer 1\nmodel a/b\nversion 3\noid sha256:" OID "\nsize 1\n", "invalid model name 'a/b'");
	expect_bad("p4reg-pointer 1\nmodel ..\nversion 3\noid sha256:" OID "\nsize 1\n", "invalid model name '..'");
	expect_bad("p4reg-pointer 1\nmodel emb\nversion 0\noid sha256:" OID "\nsize 1\n", "line 3: malformed version");
	expect_bad("p4reg-pointer 1\nmodel emb\nversion +3\noid sha256:" OID "\nsize 1\n", "malformed version");
	expect_bad("p4reg-pointer 1\nmodel emb\nversion 3\noid sha256:" OID "0\nsize 1\n", "line 4: malformed oid");
	expect_bad("p4reg-pointer 1\nmodel emb\nversion 3\noid sha1:" OID "\nsize 1\n", "malformed oid");
	expect_bad("p4reg-pointer 1\nmodel emb\nversion 3\noid sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855\nsize 1\n", "malformed oid");
	expect_bad("p4reg-pointer 1\nmodel emb\nversion 3\noid sha256:" OID "\nsize -1\n", "negative size");
	expect_bad("p4reg-pointer 1\nmodel emb\nversion 3\noid sha256:" OID "\nsize 1125899906842625\n", "absurd size");
	expect_bad("p4reg-pointer 1\nmodel emb\nversion 3\noid sha256:" OID "\nsize 1", "missing final newline");
	expect_bad("p4reg-pointer 1\nmodel emb\nversion 3\noid sha256:" OID "\nsize 1\nextra 2\n", "line 6: unexpected content");
	expect_bad("p4reg-pointer 1\r\nmodel emb\n", "unknown format version");
	expect_bad("p4reg-pointer 1\nmodel  emb\nversion 3\noid sha256:" OID "\nsize 1\n", "invalid model name");
	expect_bad("p4reg-pointer 1\nversion 3\n", "line 2: expected 'model'");
}

static void test_parse_nul_and_huge(void **state)
{
	char big[P4R_POINTER_MAX_BYTES + 10];
	p4r_pointer p;

	(void)state;
	memset(big, 'a', sizeof(big));
	assert_int_equal(p4r_pointer_parse(&p, big, sizeof(big), "big"), P4R_EINTEGRITY);
	assert_int_equal(p4r_pointer_parse(&p, "p4reg-pointer 1\0\n", 17, "nul"), P4R_EINTEGRITY);
	assert_non_null(strstr(p4r_error_message(), "NUL"));
}

static void test_dir_pointer(void **state)
{
	p4r_pointer p, q;
	char buf[P4R_POINTER_MAX_BYTES];
	size_t len;

	(void)state;
	assert_int_equal(parse(DIR_GOOD, &p), 0);
	assert_true(p.dir);
	assert_int_equal(p.files, 12);
	assert_int_equal(p.size, 412);
	assert_int_equal(p4r_pointer_format(&p, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, strlen(DIR_GOOD));
	assert_string_equal(buf, DIR_GOOD);
	assert_int_equal(p4r_pointer_parse(&q, buf, len, "y"), 0);
	assert_memory_equal(&p, &q, sizeof(p));

	/* a file pointer says nothing of a kind: dir false, files 0 */
	assert_int_equal(parse(GOOD, &p), 0);
	assert_false(p.dir);
	assert_int_equal(p.files, 0);
	p.files = 7; /* ignored for a file */
	assert_int_equal(p4r_pointer_format(&p, buf, sizeof(buf), &len), 0);
	assert_string_equal(buf, GOOD);

	/* the bounds, and a count that would not parse back is not written */
	assert_int_equal(parse(HEAD "kind dir\nfiles 1\n", &p), 0);
	assert_int_equal(parse(HEAD "kind dir\nfiles 1000000\n", &p), 0);
	assert_int_equal(p.files, 1000000);
	p.files = 0;
	assert_int_equal(p4r_pointer_format(&p, buf, sizeof(buf), &len), P4R_ERROR);
	p.files = 1000001;
	assert_int_equal(p4r_pointer_format(&p, buf, sizeof(buf), &len), P4R_ERROR);
}

static void test_dir_pointer_bad(void **state)
{
	(void)state;
	expect_bad(HEAD "kind file\nfiles 1\n", "line 6: unknown kind 'file'");
	expect_bad(HEAD "kind Dir\nfiles 1\n", "line 6: unknown kind 'Dir'");
	expect_bad(HEAD "kind dir \nfiles 1\n", "line 6: unknown kind 'dir '");
	expect_bad(HEAD "kind dir\n", "line 7: missing 'files' line (truncated)");
	expect_bad(HEAD "kind dir", "line 6: missing final newline");
	expect_bad(HEAD "files 3\nkind dir\n", "line 6: unexpected content after 'size'");
	expect_bad(HEAD "kind dir\nfile 3\n", "line 7: expected 'files'");
	expect_bad(HEAD "kind dir\nfiles 0\n", "line 7: malformed or absurd file count");
	expect_bad(HEAD "kind dir\nfiles 012\n", "line 7: malformed or absurd file count");
	expect_bad(HEAD "kind dir\nfiles -1\n", "line 7: malformed or absurd file count");
	expect_bad(HEAD "kind dir\nfiles 1000001\n", "line 7: malformed or absurd file count");
	expect_bad(HEAD "kind dir\nfiles 12\r\n", "line 7: malformed or absurd file count");
	expect_bad(HEAD "kind dir\nfiles 12", "line 7: missing final newline");
	expect_bad(HEAD "kind dir\nfiles 12\n\n", "line 8: unexpected content after 'files'");
	expect_bad(HEAD "kind dir\nfiles 12\nkind dir\n", "line 8: unexpected content after 'files'");
	expect_bad(HEAD "\nkind dir\nfiles 12\n", "line 6: unexpected content after 'size'");
}

static void test_read_write_file(void **state)
{
	char *dir = tu_mkdtemp(), *path, *text;
	p4r_pointer p, q;
	int fd;

	(void)state;
	assert_int_equal(parse(GOOD, &p), 0);
	path = tu_write(dir, "m.onnx.p4reg", "", 0);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_int_equal(p4r_pointer_write_at(&p, fd, "m.onnx.p4reg", "m.onnx.p4reg"), 0);
	text = tu_slurp(path, NULL);
	assert_string_equal(text, GOOD);
	assert_int_equal(p4r_pointer_read_at(&q, fd, "m.onnx.p4reg", "m.onnx.p4reg"), 0);
	assert_int_equal(q.version, 3);
	/* a pointer that is a link is never read through */
	assert_int_equal(symlinkat(path, fd, "l.onnx.p4reg"), 0);
	assert_int_equal(p4r_pointer_read_at(&q, fd, "l.onnx.p4reg", "l.onnx.p4reg"), P4R_EUSAGE);
	close(fd);
	free(text);
	free(path);
	tu_rmtree_free(dir);
}

static void test_is_pointer_path(void **state)
{
	(void)state;
	assert_true(p4r_pointer_is_pointer_path("models/x.onnx.p4reg"));
	assert_false(p4r_pointer_is_pointer_path(".p4reg"));
	assert_false(p4r_pointer_is_pointer_path("models/.p4reg"));
	assert_false(p4r_pointer_is_pointer_path("x.onnx"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_nul_and_huge),
		cmocka_unit_test(test_dir_pointer),
		cmocka_unit_test(test_dir_pointer_bad),
		cmocka_unit_test(test_read_write_file),
		cmocka_unit_test(test_is_pointer_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
