/* Unit tests for .gitignore entries. */
#include "testutil.h"
#include "p4reg/ignore.h"
#include "p4reg/error.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

static void test_pattern_escaping(void **state)
{
	char buf[128];

	(void)state;
	assert_int_equal(p4r_ignore_pattern(buf, sizeof(buf), "x.onnx"), 0);
	assert_string_equal(buf, "/x.onnx");
	assert_int_equal(p4r_ignore_pattern(buf, sizeof(buf), "a*b?[c]\\d"), 0);
	assert_string_equal(buf, "/a\\*b\\?\\[c]\\\\d");
	assert_int_equal(p4r_ignore_pattern(buf, sizeof(buf), "#x !y"), 0);
	assert_string_equal(buf, "/#x !y");
	assert_int_equal(p4r_ignore_pattern(buf, sizeof(buf), "trail  "), 0);
	assert_string_equal(buf, "/trail\\ \\ ");
}

/* p4r_ignore_ensure_at in the folder DIR, as worktree.c calls it. */
static int ensure(const char *dir, const char *name, bool *added)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY), rc;

	assert_true(fd >= 0);
	rc = p4r_ignore_ensure_at(fd, name, added, ".gitignore");
	close(fd);
	return rc;
}

static void test_symlinked_gitignore_refused(void **state)
{
	char *dir = tu_mkdtemp(), *secret = tu_write(dir, "secret", "key", 3), *link;
	bool added = true;

	(void)state;
	link = malloc(strlen(dir) + 16);
	snprintf(link, strlen(dir) + 16, "%s/.gitignore", dir);
	assert_int_equal(symlink(secret, link), 0);
	assert_int_equal(ensure(dir, "m.onnx", &added), P4R_EUSAGE);
	assert_false(added);
	free(link);
	free(secret);
	tu_rmtree_free(dir);
}

static void test_ensure_appends_once_and_keeps_bytes(void **state)
{
	char *dir = tu_mkdtemp(), *path, *text;
	bool added;

	(void)state;
	path = tu_write(dir, ".gitignore", "*.log\r\nno-newline", 17);
	assert_int_equal(ensure(dir, "m.onnx", &added), 0);
	assert_true(added);
	text = tu_slurp(path, NULL);
	assert_string_equal(text, "*.log\r\nno-newline\n/m.onnx\n");
	free(text);
	assert_int_equal(ensure(dir, "m.onnx", &added), 0);
	assert_false(added);
	free(path);
	tu_rmtree_free(dir);
}

static void test_ensure_creates(void **state)
{
	char *dir = tu_mkdtemp(), *path, *text;

	(void)state;
	assert_int_equal(ensure(dir, "w.bin", NULL), 0);
	path = malloc(strlen(dir) + 16);
	snprintf(path, strlen(dir) + 16, "%s/.gitignore", dir);
	text = tu_slurp(path, NULL);
	assert_string_equal(text, "/w.bin\n");
	free(text);
	free(path);
	tu_rmtree_free(dir);
}

/* p4r_ignore_ensure_dir_at / p4r_ignore_remove_dir_at in DIR. */
static int ensure_dir(const char *dir, const char *name, bool *added)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY), rc;

	assert_true(fd >= 0);
	rc = p4r_ignore_ensure_dir_at(fd, name, added, ".gitignore");
	close(fd);
	return rc;
}

static int remove_dir_line(const char *dir, const char *name, bool *removed, bool *deleted)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY), rc;

	assert_true(fd >= 0);
	rc = p4r_ignore_remove_dir_at(fd, name, removed, deleted, ".gitignore");
	close(fd);
	return rc;
}

static void test_dir_pattern(void **state)
{
	char buf[128];

	(void)state;
	assert_int_equal(p4r_ignore_pattern_dir(buf, sizeof(buf), "minilm"), 0);
	assert_string_equal(buf, "/minilm/");
	assert_int_equal(p4r_ignore_pattern_dir(buf, sizeof(buf), "a*b?[c]\\d"), 0);
	assert_string_equal(buf, "/a\\*b\\?\\[c]\\\\d/");
	assert_int_equal(p4r_ignore_pattern_dir(buf, sizeof(buf), "trail "), 0);
	assert_string_equal(buf, "/trail\\ /");
	assert_int_equal(p4r_ignore_pattern_dir(buf, sizeof(buf), "a\nb"), P4R_EUSAGE);
	assert_int_equal(p4r_ignore_pattern_dir(buf, 8, "minilm"), P4R_ERROR);
}

static void test_dir_line_ensure_and_remove(void **state)
{
	char *dir = tu_mkdtemp(), *path, *text;
	bool added, removed, deleted;

	(void)state;
	path = tu_write(dir, ".gitignore", "*.log\n/minilm\nlast", 18);
	assert_int_equal(ensure_dir(dir, "minilm", &added), 0);
	assert_true(added);
	text = tu_slurp(path, NULL);
	assert_string_equal(text, "*.log\n/minilm\nlast\n/minilm/\n");
	free(text);
	/* idempotent */
	assert_int_equal(ensure_dir(dir, "minilm", &added), 0);
	assert_false(added);

	/* the file's line and the folder's are different lines */
	assert_int_equal(ensure(dir, "minilm", &added), 0);
	assert_false(added);
	assert_int_equal(remove_dir_line(dir, "minilm", &removed, &deleted), 0);
	assert_true(removed);
	assert_false(deleted);
	text = tu_slurp(path, NULL);
	assert_string_equal(text, "*.log\n/minilm\nlast\n");
	free(text);
	assert_int_equal(remove_dir_line(dir, "minilm", &removed, &deleted), 0);
	assert_false(removed);
	free(path);

	/* a CRLF line counts; a file that held only the folder's line goes */
	path = tu_write(dir, ".gitignore", "/w/\r\n", 5);
	assert_int_equal(ensure_dir(dir, "w", &added), 0);
	assert_false(added);
	assert_int_equal(remove_dir_line(dir, "w", &removed, &deleted), 0);
	assert_true(removed);
	assert_true(deleted);
	assert_int_equal(access(path, F_OK), -1);
	free(path);
	tu_rmtree_free(dir);
}

static void test_dir_line_symlink_refused(void **state)
{
	char *dir = tu_mkdtemp(), *secret = tu_write(dir, "secret", "/minilm/\n", 9), *link, *text;
	bool added = true, removed = true, deleted = true;

	(void)state;
	link = malloc(strlen(dir) + 16);
	snprintf(link, strlen(dir) + 16, "%s/.gitignore", dir);
	assert_int_equal(symlink(secret, link), 0);
	assert_int_equal(ensure_dir(dir, "minilm", &added), P4R_EUSAGE);
	assert_false(added);
	assert_int_equal(remove_dir_line(dir, "minilm", &removed, &deleted), P4R_EUSAGE);
	assert_false(removed);
	assert_false(deleted);
	text = tu_slurp(secret, NULL);
	assert_string_equal(text, "/minilm/\n");
	free(text);
	free(link);
	free(secret);
	tu_rmtree_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pattern_escaping),
		cmocka_unit_test(test_symlinked_gitignore_refused),
		cmocka_unit_test(test_ensure_appends_once_and_keeps_bytes),
		cmocka_unit_test(test_ensure_creates),
		cmocka_unit_test(test_dir_pattern),
		cmocka_unit_test(test_dir_line_ensure_and_remove),
		cmocka_unit_test(test_dir_line_symlink_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
