/* Unit tests for util/dl.c and the libgit2, libcurl, libini_config and
 * libyaml tables: a library
 * that is missing or lacks a function is one error naming its package, and
 * nothing of it is used; a present one is loaded once. The tests run in
 * this order: the failures first, while neither library is loaded (once
 * loaded, a library stays). This test links the whole core
 * (CMakeLists.txt), so a libgit2 or libcurl function called anywhere but
 * missing from its list fails the build. */
#include "testutil.h"
#include "p4reg/error.h"
#include "git/libgit2_dl.h"
#include "remote/libcurl_dl.h"
#include "remote/iniconfig_dl.h"
#include "dvc/libyaml_dl.h"

#include <stdlib.h>
#include <string.h>

/* P4REG_TEST_DL_MISSING needs a build with test knobs. */
#ifdef P4REG_TEST_KNOBS
#define NEED_KNOBS() ((void)0)
#else
#define NEED_KNOBS() skip()
#endif

/* Before anything is loaded, the frees are no-ops on what cannot exist. */
static void test_frees_before_loading(void **state)
{
	(void)state;
	assert_false(p4r_libgit2_loaded());
	git_repository_free(NULL);
	git_buf_dispose(NULL);
	git_error_clear();
	curl_slist_free_all(NULL);
	curl_easy_cleanup(NULL);
	ini_config_destroy(NULL);
	yaml_document_delete(NULL);
	p4r_libgit2_shutdown(); /* without an init: nothing */
	assert_false(p4r_libgit2_loaded());
}

static void test_libgit2_missing(void **state)
{
	(void)state;
	NEED_KNOBS();
	setenv("P4REG_TEST_DL_MISSING", "1", 1);
	assert_int_equal(p4r_libgit2_init(), P4R_ERROR);
	assert_string_equal(p4r_error_message(),
			    "cannot load libgit2 ('libp4reg-test-missing.so.0'), which this command needs: install "
			    "the package '" P4R_LIBGIT2_PACKAGE "' (libp4reg-test-missing.so.0: cannot open shared "
			    "object file: No such file or directory)");
	assert_false(p4r_libgit2_loaded());
	assert_null(p4r_libgit2_tab[P4R_LG2_git_libgit2_init]);
	unsetenv("P4REG_TEST_DL_MISSING");
}

/* A library without one of the functions (an older one): not used at all. */
static void test_libgit2_lacks_a_function(void **state)
{
	size_t i;

	(void)state;
	NEED_KNOBS();
	setenv("P4REG_TEST_DL_MISSING", "256", 1);
	assert_int_equal(p4r_libgit2_init(), P4R_ERROR);
	assert_string_equal(p4r_error_message(), "libgit2 ('" P4R_LIBGIT2_SONAME "') has no function "
			    "'p4reg_test_missing_function' (too old?): install the package '" P4R_LIBGIT2_PACKAGE "'");
	for (i = 0; i < P4R_LG2_COUNT; i++)
		assert_null(p4r_libgit2_tab[i]);
	unsetenv("P4REG_TEST_DL_MISSING");
}

static void test_libcurl_missing(void **state)
{
	(void)state;
	NEED_KNOBS();
	setenv("P4REG_TEST_DL_MISSING", "2", 1);
	assert_int_equal(p4r_libcurl_init(), P4R_ERROR);
	assert_non_null(strstr(p4r_error_message(), "cannot load libcurl ('libp4reg-test-missing.so.0'), "
				"which this command needs: install the package '" P4R_LIBCURL_PACKAGE "'"));
	setenv("P4REG_TEST_DL_MISSING", "512", 1);
	assert_int_equal(p4r_libcurl_init(), P4R_ERROR);
	assert_non_null(strstr(p4r_error_message(), "libcurl ('" P4R_LIBCURL_SONAME "') has no function"));
	assert_null(p4r_libcurl_tab[P4R_CURL_curl_easy_init]);
	unsetenv("P4REG_TEST_DL_MISSING");
}

static void test_iniconfig_missing(void **state)
{
	(void)state;
	NEED_KNOBS();
	setenv("P4REG_TEST_DL_MISSING", "4", 1);
	assert_int_equal(p4r_iniconfig_init(), P4R_ERROR);
	assert_non_null(strstr(p4r_error_message(), "cannot load libini_config ('libp4reg-test-missing.so.0'), "
				"which this command needs: install the package '" P4R_INICONFIG_PACKAGE "'"));
	setenv("P4REG_TEST_DL_MISSING", "1024", 1);
	assert_int_equal(p4r_iniconfig_init(), P4R_ERROR);
	assert_non_null(strstr(p4r_error_message(), "libini_config ('" P4R_INICONFIG_SONAME "') has no function"));
	assert_null(p4r_iniconfig_tab[P4R_INI_ini_config_create]);
	unsetenv("P4REG_TEST_DL_MISSING");
}

static void test_libyaml_missing(void **state)
{
	(void)state;
	NEED_KNOBS();
	setenv("P4REG_TEST_DL_MISSING", "8", 1);
	assert_int_equal(p4r_libyaml_init(), P4R_ERROR);
	assert_non_null(strstr(p4r_error_message(), "cannot load libyaml ('libp4reg-test-missing.so.0'), "
				"which this command needs: install the package '" P4R_LIBYAML_PACKAGE "'"));
	setenv("P4REG_TEST_DL_MISSING", "2048", 1);
	assert_int_equal(p4r_libyaml_init(), P4R_ERROR);
	assert_non_null(strstr(p4r_error_message(), "libyaml ('" P4R_LIBYAML_SONAME "') has no function"));
	assert_null(p4r_libyaml_tab[P4R_YAML_yaml_parser_initialize]);
	unsetenv("P4REG_TEST_DL_MISSING");
}

/* The knob of one library leaves the other alone. */
static void test_one_missing_not_the_other(void **state)
{
	(void)state;
	NEED_KNOBS();
	setenv("P4REG_TEST_DL_MISSING", "2", 1);
	assert_int_equal(p4r_libgit2_init(), 0);
	assert_true(p4r_libgit2_loaded());
	p4r_libgit2_shutdown();
	assert_int_equal(p4r_libcurl_init(), P4R_ERROR);
	unsetenv("P4REG_TEST_DL_MISSING");
}

/* Loaded: every slot filled, calls go through, init and shutdown pair up. */
static void test_loaded(void **state)
{
	git_oid oid;
	char hex[GIT_OID_HEXSZ + 1];
	size_t i;
	CURL *c;

	(void)state;
	assert_int_equal(p4r_libgit2_init(), 0);
	assert_int_equal(p4r_libgit2_init(), 0);
	for (i = 0; i < P4R_LG2_COUNT; i++)
		assert_non_null(p4r_libgit2_tab[i]);
	assert_int_equal(git_oid_fromstr(&oid, "0123456789abcdef0123456789abcdef01234567"), 0);
	git_oid_tostr(hex, sizeof(hex), &oid);
	assert_string_equal(hex, "0123456789abcdef0123456789abcdef01234567");
	p4r_libgit2_shutdown();
	p4r_libgit2_shutdown();
	assert_int_equal(p4r_libcurl_init(), 0);
	assert_int_equal(p4r_libcurl_init(), 0);
	assert_non_null(c = curl_easy_init());
	assert_int_equal(curl_easy_setopt(c, CURLOPT_URL, "http://127.0.0.1:1/"), CURLE_OK);
	curl_easy_cleanup(c);
	/* a knob set now changes nothing: the libraries stay */
	setenv("P4REG_TEST_DL_MISSING", "3", 1);
	assert_int_equal(p4r_libgit2_init(), 0);
	p4r_libgit2_shutdown();
	assert_int_equal(p4r_libcurl_init(), 0);
	unsetenv("P4REG_TEST_DL_MISSING");
	/* libini_config, with the function of libbasicobjects it links */
	assert_int_equal(p4r_iniconfig_init(), 0);
	for (i = 0; i < P4R_INI_COUNT; i++)
		assert_non_null(p4r_iniconfig_tab[i]);
	{
		struct simplebuffer *sb = NULL;

		assert_int_equal(simplebuffer_alloc(&sb), 0);
		simplebuffer_free(sb);
	}
	/* libyaml */
	assert_int_equal(p4r_libyaml_init(), 0);
	for (i = 0; i < P4R_YAML_COUNT; i++)
		assert_non_null(p4r_libyaml_tab[i]);
	{
		yaml_parser_t parser;

		assert_int_equal(yaml_parser_initialize(&parser), 1);
		yaml_parser_delete(&parser);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frees_before_loading),
		cmocka_unit_test(test_libgit2_missing),
		cmocka_unit_test(test_libgit2_lacks_a_function),
		cmocka_unit_test(test_libcurl_missing),
		cmocka_unit_test(test_iniconfig_missing),
		cmocka_unit_test(test_libyaml_missing),
		cmocka_unit_test(test_one_missing_not_the_other),
		cmocka_unit_test(test_loaded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
