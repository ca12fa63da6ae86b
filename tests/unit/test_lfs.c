/* Unit tests for Git LFS pointer blobs and .git/lfs/objects placement. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/lfs.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define OID "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393"
#define GOOD "version https://git-lfs.github.com/spec/v1\noid sha256:" OID "\nsize 12345\n"

static int parse(const char *text, p4r_oid *oid, uint64_t *size)
{
	return p4r_lfs_pointer_parse(oid, size, text, strlen(text));
}

static void test_format_canonical(void **state)
{
	char buf[P4R_LFS_POINTER_MAX + 1];
	p4r_oid oid;
	size_t len;

	(void)state;
	assert_int_equal(p4r_oid_parse(&oid, OID), 0);
	assert_int_equal(p4r_lfs_pointer_format(buf, sizeof(buf), &len, &oid, 12345), 0);
	assert_string_equal(buf, GOOD);
	assert_int_equal(len, strlen(GOOD));
	/* git-lfs writes an empty file as an empty blob */
	assert_int_equal(p4r_lfs_pointer_format(buf, sizeof(buf), &len, &oid, 0), 0);
	assert_int_equal(len, 0);
	assert_int_equal(p4r_lfs_pointer_format(buf, 20, &len, &oid, 1), P4R_ERROR);
}

static void test_parse_good(void **state)
{
	p4r_oid oid;
	uint64_t size;

	(void)state;
	assert_int_equal(parse(GOOD, &oid, &size), 0);
	assert_string_equal(oid.hex, OID);
	assert_int_equal(size, 12345);
	assert_int_equal(parse("version https://hawser.github.com/spec/v1\noid sha256:" OID "\nsize 1\n",
			       &oid, &size), 0);
	assert_int_equal(p4r_lfs_pointer_parse(&oid, &size, "", 0), 0);
	assert_int_equal(size, 0);
	assert_string_equal(oid.hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void expect_bad(const char *text, const char *msg)
{
	p4r_oid oid = { "unchanged" };
	uint64_t size = 77;

	assert_int_equal(parse(text, &oid, &size), P4R_EUSAGE);
	if (!strstr(p4r_error_message(), msg))
		fail_msg("'%s' does not contain '%s'", p4r_error_message(), msg);
	assert_int_equal(size, 77);
	assert_string_equal(oid.hex, "unchanged");
}

static void test_parse_bad(void **state)
{
	(void)state;
	expect_bad("hello world\n", "missing or misplaced key");
	expect_bad("version https://example.com/spec/v9\noid sha256:" OID "\nsize 1\n", "unknown version");
	expect_bad("version https://git-lfs.github.com/spec/v1\noid sha1:" OID "\nsize 1\n", "malformed oid");
	expect_bad("version https://git-lfs.github.com/spec/v1\noid sha256:" OID "\nsize 01\n", "malformed size");
	expect_bad("version https://git-lfs.github.com/spec/v1\noid sha256:" OID "\nsize -1\n", "malformed size");
	expect_bad("version https://git-lfs.github.com/spec/v1\noid sha256:" OID "\nsize 99999999999999999999\n", "size");
	expect_bad("version https://git-lfs.github.com/spec/v1\noid sha256:" OID "\nsize 1", "missing final newline");
	expect_bad("version https://git-lfs.github.com/spec/v1\noid sha256:" OID "\nsize 1\nx y\n", "unexpected content");
	expect_bad("version https://git-lfs.github.com/spec/v1\next-0-foo sha256:" OID "\n", "missing or misplaced key");
	expect_bad("version https://git-lfs.github.com/spec/v1\r\noid sha256:" OID "\r\nsize 1\r\n", "unknown version");
}


#define OID2 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define EXT_PTR "version https://git-lfs.github.com/spec/v1\n" \
	"ext-0-foo sha256:" OID2 "\next-1-bar.baz sha256:" OID "\noid sha256:" OID "\nsize 42\n"

/* Extension lines are decoded, kept, and encoded back to the same bytes. */
static void test_ext_roundtrip(void **state)
{
	char buf[P4R_LFS_POINTER_MAX + 1];
	p4r_lfs_pointer p;
	size_t len;

	(void)state;
	assert_int_equal(p4r_lfs_pointer_decode(&p, EXT_PTR, strlen(EXT_PTR)), 0);
	assert_int_equal(p.next, 2);
	assert_int_equal(p.ext[0].priority, 0);
	assert_string_equal(p.ext[0].name, "foo");
	assert_string_equal(p.ext[0].oid.hex, OID2);
	assert_int_equal(p.ext[1].priority, 1);
	assert_string_equal(p.ext[1].name, "bar.baz");
	assert_string_equal(p.oid.hex, OID);
	assert_int_equal(p.size, 42);
	assert_int_equal(p4r_lfs_pointer_encode(buf, sizeof(buf), &len, &p), 0);
	assert_int_equal(len, strlen(EXT_PTR));
	assert_string_equal(buf, EXT_PTR);
	/* too small a buffer for the extension lines */
	assert_int_equal(p4r_lfs_pointer_encode(buf, 100, &len, &p), P4R_ERROR);
	/* without extensions, encode is format */
	assert_int_equal(p4r_lfs_pointer_decode(&p, GOOD, strlen(GOOD)), 0);
	assert_int_equal(p.next, 0);
	assert_int_equal(p4r_lfs_pointer_encode(buf, sizeof(buf), &len, &p), 0);
	assert_string_equal(buf, GOOD);
	assert_int_equal(p4r_lfs_pointer_unsupported(&p), 0);
}

/* Callers that need the bytes get a clear refusal, never the object alone. */
static void test_ext_refused_by_parse(void **state)
{
	p4r_lfs_pointer p;
	p4r_oid oid = { "unchanged" };
	uint64_t size = 77;

	(void)state;
	assert_int_equal(parse(EXT_PTR, &oid, &size), P4R_ERROR);
	assert_string_equal(p4r_error_message(), "Git LFS extension 'foo' (and 1 more) is not supported by "
			    "p4reg; install git-lfs and the extensions");
	assert_string_equal(oid.hex, "unchanged");
	assert_int_equal(size, 77);
	assert_int_equal(parse("version https://git-lfs.github.com/spec/v1\next-3-crypt sha256:" OID
			       "\noid sha256:" OID "\nsize 1\n", &oid, &size), P4R_ERROR);
	assert_string_equal(p4r_error_message(), "Git LFS extension 'crypt' is not supported by p4reg; "
			    "install git-lfs and the extension");
	assert_int_equal(p4r_lfs_pointer_decode(&p, EXT_PTR, strlen(EXT_PTR)), 0);
	assert_int_equal(p4r_lfs_pointer_unsupported(&p), P4R_ERROR);
}

static void expect_bad_ext(const char *ext_lines, const char *msg)
{
	char text[P4R_LFS_POINTER_MAX * 2];
	p4r_lfs_pointer p = { .size = 77 };

	snprintf(text, sizeof(text), "version https://git-lfs.github.com/spec/v1\n%soid sha256:" OID "\nsize 1\n",
		 ext_lines);
	assert_int_equal(p4r_lfs_pointer_decode(&p, text, strlen(text)), P4R_EUSAGE);
	if (!strstr(p4r_error_message(), msg))
		fail_msg("'%s' does not contain '%s' for '%s'", p4r_error_message(), msg, ext_lines);
	assert_int_equal(p.size, 77);
}

static void test_ext_bad(void **state)
{
	char many[P4R_LFS_POINTER_MAX * 2] = "";
	int i;

	(void)state;
	expect_bad_ext("ext-1-a sha256:" OID "\next-0-b sha256:" OID "\n", "out of order");
	expect_bad_ext("ext-1-a sha256:" OID "\next-1-b sha256:" OID "\n", "out of order or repeated");
	expect_bad_ext("ext-12-a sha256:" OID "\n", "malformed extension key");
	expect_bad_ext("ext-x-a sha256:" OID "\n", "malformed extension key");
	expect_bad_ext("ext-0- sha256:" OID "\n", "malformed extension key");
	expect_bad_ext("ext-0-.a sha256:" OID "\n", "malformed extension key");
	expect_bad_ext("ext-0-a\x1b sha256:" OID "\n", "malformed extension key");
	expect_bad_ext("ext-0-a sha1:" OID "\n", "malformed oid");
	expect_bad_ext("ext-0-a sha256:" OID "x\n", "malformed oid");
	expect_bad_ext("ext-0-a  sha256:" OID "\n", "malformed oid");
	expect_bad_ext("ext-0-a sha256:" OID, "malformed value");
	/* eleven cannot fit one digit each */
	for (i = 0; i < 11; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "ext-%d-e sha256:" OID "\n", i % 10);
	expect_bad_ext(many, "");
	/* an extension after oid is not where git-lfs puts it */
	expect_bad("version https://git-lfs.github.com/spec/v1\noid sha256:" OID "\next-0-a sha256:" OID
		   "\nsize 1\n", "missing or misplaced key");
}

static void test_parse_too_large(void **state)
{
	char big[P4R_LFS_POINTER_MAX + 2];
	p4r_oid oid;
	uint64_t size;

	(void)state;
	memset(big, 'a', sizeof(big));
	assert_int_equal(p4r_lfs_pointer_parse(&oid, &size, big, sizeof(big)), P4R_EUSAGE);
}

static void test_place_link_and_copy(void **state)
{
	char *dir = tu_mkdtemp(), *src, *lfs = p4r_path_join(dir, "lfs"), path[PATH_MAX], *got;
	p4r_oid oid, other;
	struct stat a, b;
	bool linked;

	(void)state;
	src = tu_write(dir, "model.bin", "hello lfs\n", 10);
	assert_int_equal(p4r_hash_buffer(&oid, "hello lfs\n", 10), 0);
	assert_false(p4r_lfs_has(lfs, &oid));
	assert_int_equal(p4r_lfs_place(lfs, &oid, src, &linked), 0);
	assert_true(linked);
	assert_true(p4r_lfs_has(lfs, &oid));
	assert_int_equal(p4r_lfs_object_path(path, sizeof(path), lfs, &oid), 0);
	assert_non_null(strstr(path, "/objects/"));
	assert_int_equal(stat(path, &a), 0);
	assert_int_equal(stat(src, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	got = tu_slurp(path, NULL);
	assert_string_equal(got, "hello lfs\n");
	free(got);
	/* a second placement leaves the object alone */
	assert_int_equal(p4r_lfs_place(lfs, &oid, src, &linked), 0);
	assert_false(linked);
	/* the wrong bytes for an oid never land (the link fails over to a hashed
	 * copy only across file systems, so exercise the mismatch with a
	 * missing source instead) */
	assert_int_equal(p4r_hash_buffer(&other, "x", 1), 0);
	assert_true(p4r_lfs_place(lfs, &other, "/nonexistent/file", NULL) < 0);
	assert_false(p4r_lfs_has(lfs, &other));
	free(src);
	free(lfs);
	tu_rmtree_free(dir);
}

/* The nearest .p4reg above a path in the work tree, never through a link;
 * else the one at or above the top. */
static void test_repo_for_path(void **state)
{
	char *top = tu_mkdtemp(), *root = NULL, *want, cmd[1024];

	(void)state;
	unsetenv("P4REG_DIR");
	snprintf(cmd, sizeof(cmd), "cd '%s' && mkdir -p a/b/.p4reg a/c d/.p4reg e && ln -s a/b lnk && "
		 "ln -s ../d e/x", top);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(p4r_lfs_repo_for_path(&root, top, "a/b/m.bin"), 0);
	want = p4r_path_join(top, "a/b");
	assert_string_equal(root, want);
	free(want);
	free(root);
	assert_int_equal(p4r_lfs_repo_for_path(&root, top, "a/b/deep/er/m.bin"), 0);
	assert_non_null(strstr(root, "/a/b"));
	free(root);
	/* a folder that does not exist yet (a checkout makes it) still finds a/b */
	assert_int_equal(p4r_lfs_repo_for_path(&root, top, "a/b/new/m.bin"), 0);
	assert_non_null(strstr(root, "/a/b"));
	free(root);
	/* no repository on the way, none at or above the top */
	assert_int_equal(p4r_lfs_repo_for_path(&root, top, "a/c/m.bin"), 0);
	assert_null(root);
	assert_int_equal(p4r_lfs_repo_for_path(&root, top, "m.bin"), 0);
	assert_null(root);
	/* the file's own name is not a folder: a/b/.p4reg is not "above" a/b */
	assert_int_equal(p4r_lfs_repo_for_path(&root, top, "a/b"), 0);
	assert_null(root);
	/* links are never followed, even to a repository inside */
	assert_int_equal(p4r_lfs_repo_for_path(&root, top, "lnk/m.bin"), 0);
	assert_null(root);
	assert_int_equal(p4r_lfs_repo_for_path(&root, top, "e/x/m.bin"), 0);
	assert_null(root);
	/* one at the top serves what nothing nearer holds */
	snprintf(cmd, sizeof(cmd), "mkdir '%s/.p4reg'", top);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(p4r_lfs_repo_for_path(&root, top, "a/c/m.bin"), 0);
	assert_non_null(root);
	assert_null(strstr(root, "/a"));
	free(root);
	/* P4REG_DIR wins, as for every command */
	want = p4r_path_join(top, "d");
	setenv("P4REG_DIR", want, 1);
	assert_int_equal(p4r_lfs_repo_for_path(&root, top, "a/b/m.bin"), 0);
	assert_string_equal(root, want);
	free(root);
	free(want);
	unsetenv("P4REG_DIR");
	/* not a path git gives */
	assert_int_equal(p4r_lfs_repo_for_path(&root, top, "../x"), P4R_EUSAGE);
	assert_int_equal(p4r_lfs_repo_for_path(&root, top, "a/../../x"), P4R_EUSAGE);
	assert_int_equal(p4r_lfs_repo_for_path(&root, top, "/etc/passwd"), P4R_EUSAGE);
	assert_int_equal(p4r_lfs_repo_for_path(&root, top, ""), P4R_EUSAGE);
	assert_int_equal(p4r_lfs_repo_for_path(&root, top, "a//b"), P4R_EUSAGE);
	assert_null(root);
	tu_rmtree_free(top);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_canonical),
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_too_large),
		cmocka_unit_test(test_ext_roundtrip),
		cmocka_unit_test(test_ext_refused_by_parse),
		cmocka_unit_test(test_ext_bad),
		cmocka_unit_test(test_place_link_and_copy),
		cmocka_unit_test(test_repo_for_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
