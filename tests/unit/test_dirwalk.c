/* Unit tests for dirwalk.c: a Hugging Face folder listed exactly, every
 * entry a model folder may not hold refused with its message, excludes
 * from the caller and from .p4regignore. */
#include "testutil.h"
#include "p4reg/dirwalk.h"
#include "p4reg/error.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* DIR/REL as a new malloc'd path. */
static char *at(const char *dir, const char *rel)
{
	size_t sz = strlen(dir) + strlen(rel) + 2;
	char *p = malloc(sz);

	assert_non_null(p);
	snprintf(p, sz, "%s/%s", dir, rel);
	return p;
}

static void mkdir_in(const char *dir, const char *rel)
{
	char *p = at(dir, rel);

	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
}

static void put(const char *dir, const char *rel, const char *text)
{
	free(tu_write(dir, rel, text, strlen(text)));
}

/* Walks DIR with OPTS (display "models/m" unless set); the paths joined by
 * ',' go to LISTING (when the walk succeeds). */
static int walk(const char *dir, p4r_dirwalk_opts *opts, char *listing, size_t cap)
{
	p4r_dirwalk w = { 0 };
	int fd = open(dir, O_RDONLY | O_DIRECTORY), rc;
	size_t i;

	assert_true(fd >= 0);
	if (!opts->display)
		opts->display = "models/m";
	rc = p4r_dirwalk_list(&w, fd, opts);
	close(fd);
	listing[0] = '\0';
	for (i = 0; i < w.n; i++) {
		if (i)
			strncat(listing, ",", cap - strlen(listing) - 1);
		strncat(listing, w.v[i].path, cap - strlen(listing) - 1);
	}
	if (rc < 0)
		assert_int_equal(w.n, 0);
	p4r_dirwalk_clear(&w);
	return rc;
}

/* Walks DIR with no exclude and expects P4R_EUSAGE with MESSAGE. */
static void refused(const char *dir, const char *message)
{
	p4r_dirwalk_opts o = { 0 };
	char got[256];

	assert_int_equal(walk(dir, &o, got, sizeof(got)), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(), message);
}

static void test_hf_folder(void **state)
{
	char *dir = tu_mkdtemp(), got[512];
	p4r_dirwalk w = { 0 };
	p4r_dirwalk_opts o = { .display = "models/m" };
	int fd;

	(void)state;
	put(dir, "config.json", "{}");
	put(dir, ".gitattributes", "*.onnx filter=lfs\n");
	put(dir, "empty.txt", "");
	put(dir, "tokenizer.json", "{\"t\":1}");
	mkdir_in(dir, "onnx");
	put(dir, "onnx/model.onnx", "graph");
	put(dir, "onnx/model.onnx_data", "weights!");
	mkdir_in(dir, "unused");  /* an empty folder adds nothing */
	assert_int_equal(walk(dir, &o, got, sizeof(got)), 0);
	assert_string_equal(got, ".gitattributes,config.json,empty.txt,onnx/model.onnx,"
			    "onnx/model.onnx_data,tokenizer.json");

	/* each row carries the file's own lstat */
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_int_equal(p4r_dirwalk_list(&w, fd, &o), 0);
	close(fd);
	assert_int_equal(w.n, 6);
	assert_string_equal(w.v[2].path, "empty.txt");
	assert_int_equal(w.v[2].st.st_size, 0);
	assert_true(S_ISREG(w.v[4].st.st_mode));
	assert_int_equal(w.v[4].st.st_size, 8);
	p4r_dirwalk_clear(&w);
	p4r_dirwalk_clear(&w); /* twice is fine */
	tu_rmtree_free(dir);
}

static void test_refusals(void **state)
{
	char *dir = tu_mkdtemp(), *p;

	(void)state;
	put(dir, "config.json", "{}");
	mkdir_in(dir, "sub");

	p = at(dir, "sub/link");
	assert_int_equal(symlink("../config.json", p), 0);
	refused(dir, "'models/m/sub/link' is a symbolic link: a model folder holds regular files only");
	assert_int_equal(unlink(p), 0);
	free(p);

	p = at(dir, "dirlink");
	assert_int_equal(symlink("/etc", p), 0);
	refused(dir, "'models/m/dirlink' is a symbolic link: a model folder holds regular files only");
	assert_int_equal(unlink(p), 0);
	free(p);

	/* a FIFO is refused from its lstat, never opened: nothing blocks */
	p = at(dir, "sub/fifo");
	assert_int_equal(mkfifo(p, 0644), 0);
	refused(dir, "'models/m/sub/fifo' is a FIFO, device or socket: a model folder holds regular "
		"files only");
	assert_int_equal(unlink(p), 0);
	free(p);

	mkdir_in(dir, "sub/.git");
	refused(dir, "'models/m/sub/.git' is a .git or .p4reg entry: a model folder cannot hold one");
	p = at(dir, "sub/.git");
	assert_int_equal(rmdir(p), 0);
	free(p);

	put(dir, ".P4REG", "x");
	refused(dir, "'models/m/.P4REG' is a .git or .p4reg entry: a model folder cannot hold one");
	tu_rmtree_free(dir);
}

static void test_reserved_even_when_excluded(void **state)
{
	char *dir = tu_mkdtemp(), got[64];
	const char *ex[] = { ".git" };
	p4r_dirwalk_opts o = { .excludes = ex, .nexcludes = 1 };

	(void)state;
	put(dir, "a", "1");
	mkdir_in(dir, ".Git");
	assert_int_equal(walk(dir, &o, got, sizeof(got)), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(),
			    "'models/m/.Git' is a .git or .p4reg entry: a model folder cannot hold one");
	tu_rmtree_free(dir);
}

static void test_excluded_link_is_left_out(void **state)
{
	char *dir = tu_mkdtemp(), got[64], *p = at(dir, "cache");
	const char *ex[] = { "cache" };
	p4r_dirwalk_opts o = { .excludes = ex, .nexcludes = 1 };

	(void)state;
	put(dir, "a", "1");
	assert_int_equal(symlink("/", p), 0);
	assert_int_equal(walk(dir, &o, got, sizeof(got)), 0);
	assert_string_equal(got, "a");
	free(p);
	tu_rmtree_free(dir);
}

static void test_empty(void **state)
{
	char *dir = tu_mkdtemp(), got[64];
	const char *ex[] = { "*.bin" };
	p4r_dirwalk_opts o = { 0 };

	(void)state;
	mkdir_in(dir, "sub");
	assert_int_equal(walk(dir, &o, got, sizeof(got)), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(), "no file to add in 'models/m'");
	o.allow_empty = true;
	assert_int_equal(walk(dir, &o, got, sizeof(got)), 0);
	assert_string_equal(got, "");

	/* every file excluded is empty too */
	put(dir, "sub/w.bin", "w");
	o = (p4r_dirwalk_opts){ .excludes = ex, .nexcludes = 1 };
	assert_int_equal(walk(dir, &o, got, sizeof(got)), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(), "no file to add in 'models/m'");
	tu_rmtree_free(dir);
}

/* config.json, w.bin, logs/run.txt, logs/w.bin, a/b/w.bin, a/logs (a file),
 * .hidden.bin */
static char *excl_fixture(void)
{
	char *dir = tu_mkdtemp();

	put(dir, "config.json", "{}");
	put(dir, "w.bin", "w");
	put(dir, ".hidden.bin", "h");
	mkdir_in(dir, "logs");
	put(dir, "logs/run.txt", "r");
	put(dir, "logs/w.bin", "w");
	mkdir_in(dir, "a");
	mkdir_in(dir, "a/b");
	put(dir, "a/b/w.bin", "w");
	put(dir, "a/logs", "a file, not a folder");
	return dir;
}

static void expect_excl(const char *dir, const char *pat, const char *listing)
{
	const char *ex[] = { pat };
	p4r_dirwalk_opts o = { .excludes = ex, .nexcludes = 1 };
	char got[512];

	assert_int_equal(walk(dir, &o, got, sizeof(got)), 0);
	assert_string_equal(got, listing);
}

static void test_excludes(void **state)
{
	char *dir = excl_fixture();

	(void)state;
	expect_excl(dir, "nothing", ".hidden.bin,a/b/w.bin,a/logs,config.json,logs/run.txt,"
		    "logs/w.bin,w.bin");
	/* a base-name pattern at any depth; '*' does not match a leading '.' */
	expect_excl(dir, "*.bin", ".hidden.bin,a/logs,config.json,logs/run.txt");
	/* a path pattern: anchored, '*' stops at '/' */
	expect_excl(dir, "a/*/w.bin", ".hidden.bin,a/logs,config.json,logs/run.txt,logs/w.bin,w.bin");
	expect_excl(dir, "*/w.bin", ".hidden.bin,a/b/w.bin,a/logs,config.json,logs/run.txt,w.bin");
	expect_excl(dir, "/w.bin", ".hidden.bin,a/b/w.bin,a/logs,config.json,logs/run.txt,"
		    "logs/w.bin");
	/* 'logs/' is only a folder (the file a/logs stays); 'logs' is both */
	expect_excl(dir, "logs/", ".hidden.bin,a/b/w.bin,a/logs,config.json,w.bin");
	expect_excl(dir, "logs", ".hidden.bin,a/b/w.bin,config.json,w.bin");
	expect_excl(dir, ".*", "a/b/w.bin,a/logs,config.json,logs/run.txt,logs/w.bin,w.bin");
	tu_rmtree_free(dir);
}

static void test_excluded_predicate(void **state)
{
	const char *dirpat[] = { "logs/" }, *base[] = { "*.bin" }, *anch[] = { "/a/b" };

	(void)state;
	assert_true(p4r_dirwalk_excluded("logs", true, dirpat, 1));
	assert_false(p4r_dirwalk_excluded("logs", false, dirpat, 1));
	assert_true(p4r_dirwalk_excluded("x/logs/deep/f.txt", false, dirpat, 1));
	assert_true(p4r_dirwalk_excluded("d/e/w.bin", false, base, 1));
	assert_false(p4r_dirwalk_excluded("d/.w.bin", false, base, 1));
	assert_true(p4r_dirwalk_excluded("a/b/c", false, anch, 1));
	assert_false(p4r_dirwalk_excluded("x/a/b", false, anch, 1));
	assert_false(p4r_dirwalk_excluded("a", true, NULL, 0));
}

static void test_ignore_file(void **state)
{
	char *dir = excl_fixture(), got[512], *p;
	p4r_dirwalk_opts o = { .read_ignore_file = true };

	(void)state;
	put(dir, ".p4regignore", "# training leftovers\n\n   \nlogs/\r\n*.bin  \n#w.bin\n");
	assert_int_equal(walk(dir, &o, got, sizeof(got)), 0);
	assert_string_equal(got, ".hidden.bin,.p4regignore,a/logs,config.json");
	/* without read_ignore_file its lines do nothing */
	o.read_ignore_file = false;
	assert_int_equal(walk(dir, &o, got, sizeof(got)), 0);
	assert_string_equal(got, ".hidden.bin,.p4regignore,a/b/w.bin,a/logs,config.json,"
			    "logs/run.txt,logs/w.bin,w.bin");

	put(dir, ".p4regignore", "ok\n!keep.bin\n");
	o.read_ignore_file = true;
	assert_int_equal(walk(dir, &o, got, sizeof(got)), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(), "invalid pattern '!keep.bin' in 'models/m/.p4regignore' "
			    "line 2: '!' (negation) is not supported\nescape a leading '!' as '\\!'");

	/* a linked .p4regignore is refused, never followed */
	p = at(dir, ".p4regignore");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink("config.json", p), 0);
	assert_int_equal(walk(dir, &o, got, sizeof(got)), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(),
			    "'models/m/.p4regignore' is a symbolic link; p4reg does not follow it here");
	free(p);
	tu_rmtree_free(dir);
}

static void test_bad_patterns(void **state)
{
	char *dir = excl_fixture(), got[64];
	const char *ex[] = { "w.bin", "" };
	p4r_dirwalk_opts o = { .excludes = ex, .nexcludes = 2 };

	(void)state;
	assert_int_equal(walk(dir, &o, got, sizeof(got)), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(), "invalid exclude pattern '' in --exclude: it names no path");
	ex[1] = "a\nb";
	assert_int_equal(walk(dir, &o, got, sizeof(got)), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(), "invalid exclude pattern in --exclude: control character");
	tu_rmtree_free(dir);
}

static void test_too_deep(void **state)
{
	char *dir = tu_mkdtemp(), rel[512] = "", msg[640];
	int i;

	(void)state;
	/* 64 folders deep is fine, the 65th is refused */
	for (i = 0; i < 64; i++) {
		strcat(rel, i ? "/d" : "d");
		mkdir_in(dir, rel);
	}
	put(dir, "d/f", "x");
	{
		p4r_dirwalk_opts o = { 0 };
		char got[64];

		assert_int_equal(walk(dir, &o, got, sizeof(got)), 0);
		assert_string_equal(got, "d/f");
	}
	strcat(rel, "/d");
	mkdir_in(dir, rel);
	snprintf(msg, sizeof(msg), "'models/m/%s' is nested too deeply (more than 64 folders)", rel);
	refused(dir, msg);
	tu_rmtree_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hf_folder),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_reserved_even_when_excluded),
		cmocka_unit_test(test_excluded_link_is_left_out),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_excludes),
		cmocka_unit_test(test_excluded_predicate),
		cmocka_unit_test(test_ignore_file),
		cmocka_unit_test(test_bad_patterns),
		cmocka_unit_test(test_too_deep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
