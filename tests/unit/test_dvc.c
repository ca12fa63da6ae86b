/* Unit tests for dvc/dvc.c: .dvc files as DVC 2 and 3 write them, every
 * malformed one refused with one reason (P4R_EINTEGRITY), the two cache
 * layouts, and the MD5 of a file against md5sum's. */
#include "testutil.h"
#include "p4reg/dvc.h"
#include "p4reg/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MD5 "6f5902ac237024bdd0c176cb93063dc4" /* md5 of "hello world\n" */

static int parse(p4r_dvc_file *f, const char *text)
{
	return p4r_dvc_parse(f, text, strlen(text));
}

static void test_parse_written_by_dvc(void **state)
{
	p4r_dvc_file f;

	(void)state;
	/* DVC 3 (dvc add) */
	assert_int_equal(parse(&f, "outs:\n- md5: " MD5 "\n  size: 12\n  hash: md5\n  path: model.bin\n"), 0);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.outs[0].path, "model.bin");
	assert_string_equal(f.outs[0].md5, MD5);
	assert_int_equal(f.outs[0].size, 12);
	assert_false(f.outs[0].dir);
	p4r_dvc_file_clear(&f);
	/* DVC 2: a root md5, no hash, no size; other keys are ignored; quoted */
	assert_int_equal(parse(&f, "md5: 0123\nouts:\n- md5: '" MD5 "'\n  path: \"m/x y.pt\"\n  cache: true\n"
			       "  persist: false\nfrozen: true\n"), 0);
	assert_string_equal(f.outs[0].path, "m/x y.pt");
	assert_int_equal(f.outs[0].size, -1);
	p4r_dvc_file_clear(&f);
	/* two outputs, a directory */
	assert_int_equal(parse(&f, "outs:\n- {md5: " MD5 ", path: a}\n- md5: " MD5 ".dir\n  path: data\n"), 0);
	assert_int_equal(f.n, 2);
	assert_true(f.outs[1].dir);
	assert_string_equal(f.outs[1].md5, MD5);
	p4r_dvc_file_clear(&f);
	/* an alias is the node it names: read once, never expanded */
	assert_int_equal(parse(&f, "outs:\n- &o {md5: " MD5 ", path: a}\n- *o\n"), 0);
	assert_int_equal(f.n, 2);
	assert_string_equal(f.outs[1].path, "a");
	p4r_dvc_file_clear(&f);
}

static void test_parse_refuses(void **state)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "", "it is not a YAML mapping" },
		{ "- a\n- b\n", "it is not a YAML mapping" },
		{ "outs: [\n", "not YAML" },
		{ "deps: []\n", "it has no 'outs' list" },
		{ "outs: []\n", "its 'outs' list is empty" },
		{ "outs: {md5: x}\n", "it has no 'outs' list" },
		{ "outs:\n- just text\n", "an entry of 'outs' is not a mapping" },
		{ "outs:\n- path: a\n", "an output lacks 'md5' or 'path'" },
		{ "outs:\n- md5: " MD5 "\n", "an output lacks 'md5' or 'path'" },
		{ "outs:\n- md5: 6F5902AC237024BDD0C176CB93063DC4\n  path: a\n", "'md5' is not 32 lowercase hex" },
		{ "outs:\n- md5: zz\n  path: a\n", "'md5' is not 32 lowercase hex" },
		{ "outs:\n- md5: [1]\n  path: a\n", "'md5' is not text" },
		{ "outs:\n- md5: " MD5 "\n  path: ''\n", "'path' is not a file name" },
		{ "outs:\n- md5: " MD5 "\n  path: a\n  size: -1\n", "'size' is not a count of bytes" },
		{ "outs:\n- md5: " MD5 "\n  path: a\n  size: 99999999999999999999\n", "'size' is not a count" },
		{ "outs:\n- md5: " MD5 "\n  path: a\n  hash: sha256\n", "its 'hash' is not md5" },
		{ "wdir: ..\nouts:\n- md5: " MD5 "\n  path: a\n", "'wdir' is not supported" },
	};
	p4r_dvc_file f;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(&f, bad[i].text), P4R_EINTEGRITY);
		if (!strstr(p4r_error_message(), bad[i].why))
			fail_msg("'%s': got '%s', want '%s'", bad[i].text, p4r_error_message(), bad[i].why);
		assert_int_equal(f.n, 0);
		assert_null(f.outs);
	}
	{
		char big[P4R_DVC_FILE_MAX + 2];

		memset(big, ' ', sizeof(big));
		assert_int_equal(p4r_dvc_parse(&f, big, sizeof(big)), P4R_EINTEGRITY);
	}
}

static void test_cache_and_md5(void **state)
{
	char *dir = tu_mkdtemp(), cache[1024], path[4096], hex[33], cmd[4200];
	uint64_t size = 0;

	(void)state;
	snprintf(cache, sizeof(cache), "%s/.dvc/cache", dir);
	assert_int_equal(p4r_dvc_cache_find(path, sizeof(path), cache, MD5), P4R_ENOTFOUND);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/6f' '%s/files/md5/6f'", cache, cache);
	assert_int_equal(system(cmd), 0);
	/* the older layout */
	free(tu_write(dir, ".dvc/cache/6f/5902ac237024bdd0c176cb93063dc4", "hello world\n", 12));
	assert_int_equal(p4r_dvc_cache_find(path, sizeof(path), cache, MD5), 0);
	assert_non_null(strstr(path, "/.dvc/cache/6f/5902ac237024bdd0c176cb93063dc4"));
	assert_int_equal(p4r_dvc_md5_file(hex, &size, path), 0);
	assert_string_equal(hex, MD5);
	assert_int_equal(size, 12);
	/* DVC 3's layout first */
	free(tu_write(dir, ".dvc/cache/files/md5/6f/5902ac237024bdd0c176cb93063dc4", "hello world\n", 12));
	assert_int_equal(p4r_dvc_cache_find(path, sizeof(path), cache, MD5), 0);
	assert_non_null(strstr(path, "/.dvc/cache/files/md5/6f/5902ac237024bdd0c176cb93063dc4"));
	/* a link there is not a cache entry */
	snprintf(cmd, sizeof(cmd), "cd '%s/.dvc/cache' && rm files/md5/6f/* 6f/* && ln -s /etc/passwd "
		 "6f/5902ac237024bdd0c176cb93063dc4", dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(p4r_dvc_cache_find(path, sizeof(path), cache, MD5), P4R_ENOTFOUND);
	assert_int_equal(p4r_dvc_cache_find(path, sizeof(path), cache, "../x"), P4R_EUSAGE);
	tu_rmtree_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_written_by_dvc),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_cache_and_md5),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
