/* Unit tests for gc's remote part (p4r_gc_remote): which unfinished
 * uploads it aborts, against a fake backend that records every abort. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/gc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1800000000

/* The fake remote's uploads and what gc asked of it. */
static p4r_remote_upload fake[4];
static size_t nfake;
static bool fake_truncated;
static char aborted[4][P4R_REMOTE_UPLOAD_ID_MAX + 1];
static size_t naborted;
static int fail_abort_at = -1; /* the abort that fails (0-based), -1: none */

static int fake_list(p4r_remote *r, p4r_remote_upload **out, size_t *n, bool *truncated)
{
	(void)r;
	*out = malloc(sizeof(fake));
	assert_non_null(*out);
	memcpy(*out, fake, sizeof(fake));
	*n = nfake;
	*truncated = fake_truncated;
	return 0;
}

static int fake_abort(p4r_remote *r, const p4r_remote_upload *u)
{
	(void)r;
	if ((int)naborted == fail_abort_at)
		return p4r_error_set(P4R_ERROR, "abort of '%s' failed", u->id);
	snprintf(aborted[naborted++], sizeof(aborted[0]), "%s", u->id);
	return 0;
}

static void add(const char *id, int64_t initiated)
{
	p4r_remote_upload *u = &fake[nfake++];

	snprintf(u->key, sizeof(u->key), "objects/ab/cd/%s", id);
	snprintf(u->id, sizeof(u->id), "%s", id);
	u->initiated_s = initiated;
}

static int setup(void **state)
{
	(void)state;
	memset(fake, 0, sizeof(fake));
	nfake = naborted = 0;
	fake_truncated = false;
	fail_abort_at = -1;
	add("old", NOW - 7200);
	add("young", NOW - 60);
	add("undated", 0);
	add("edge", NOW - 3600); /* exactly the grace period: old enough */
	return 0;
}

static const p4r_remote_ops s3ish = { .list_uploads = fake_list, .abort_upload = fake_abort };
static const p4r_remote_ops folder = { 0 };

/* Older than the grace period: aborted; younger, or undated: kept. */
static void test_aborts_only_stale(void **state)
{
	p4r_remote r = { .ops = &s3ish };
	p4r_gc_opts opts = { .grace_s = 3600, .now_s = NOW };
	p4r_gc_remote_result res;

	(void)state;
	fake_truncated = true;
	assert_int_equal(p4r_gc_remote(&r, &opts, &res), 0);
	assert_true(res.supported);
	assert_true(res.truncated);
	assert_int_equal(res.naborted, 2);
	assert_string_equal(res.aborted[0].id, "old");
	assert_string_equal(res.aborted[1].id, "edge");
	assert_int_equal(res.kept_recent, 2);
	assert_int_equal(naborted, 2);
	assert_string_equal(aborted[0], "old");
	assert_string_equal(aborted[1], "edge");
	p4r_gc_remote_result_clear(&res);
}

/* A dry run decides the same and aborts nothing; grace 0 takes every
 * dated upload, never an undated one. */
static void test_dry_run_and_no_grace(void **state)
{
	p4r_remote r = { .ops = &s3ish };
	p4r_gc_opts opts = { .dry_run = true, .grace_s = 0, .now_s = NOW };
	p4r_gc_remote_result res;

	(void)state;
	assert_int_equal(p4r_gc_remote(&r, &opts, &res), 0);
	assert_int_equal(res.naborted, 3);
	assert_string_equal(res.aborted[2].id, "edge");
	assert_int_equal(res.kept_recent, 1);
	assert_int_equal(naborted, 0);
	p4r_gc_remote_result_clear(&res);
}

/* A failing abort stops gc with its error; what was aborted before stays
 * in the result. */
static void test_abort_failure(void **state)
{
	p4r_remote r = { .ops = &s3ish };
	p4r_gc_opts opts = { .grace_s = 0, .now_s = NOW };
	p4r_gc_remote_result res;

	(void)state;
	fail_abort_at = 1;
	assert_int_equal(p4r_gc_remote(&r, &opts, &res), P4R_ERROR);
	assert_string_equal(p4r_error_message(), "abort of 'young' failed");
	assert_int_equal(res.naborted, 1);
	assert_string_equal(res.aborted[0].id, "old");
	p4r_gc_remote_result_clear(&res);
}

/* A folder remote keeps no uploads: not an error, nothing asked. */
static void test_folder_remote(void **state)
{
	p4r_remote r = { .ops = &folder };
	p4r_gc_opts opts = { .grace_s = 3600, .now_s = NOW };
	p4r_gc_remote_result res;

	(void)state;
	assert_int_equal(p4r_gc_remote(&r, &opts, &res), 0);
	assert_false(res.supported);
	assert_int_equal(res.naborted, 0);
	assert_null(res.aborted);
	opts.grace_s = -1;
	assert_int_equal(p4r_gc_remote(&r, &opts, &res), P4R_EUSAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_aborts_only_stale, setup),
		cmocka_unit_test_setup(test_dry_run_and_no_grace, setup),
		cmocka_unit_test_setup(test_abort_failure, setup),
		cmocka_unit_test_setup(test_folder_remote, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
