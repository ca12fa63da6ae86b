/* Unit tests of the fetch operation (ops/fetch.c) against a folder remote
 * (testutil's sync fixture): what A pushes, B fetches -- the version and
 * its verified object; a corrupt object on the remote is refused and
 * nothing of it is stored; an unknown remote is refused. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/ops/fetch.h"
#include "p4reg/ops/push.h"
#include "p4reg/registry.h"
#include "p4reg/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int setup(void **state)
{
	*state = tu_sync_new();
	return 0;
}

static int teardown(void **state)
{
	tu_sync_free(*state);
	return 0;
}

static void heard_progress(const char *label, uint64_t done, uint64_t total, void *payload)
{
	uint64_t *last = payload;

	(void)total;
	assert_string_equal(label, "fetch");
	*last = done;
}

static void push_a(tu_sync *s)
{
	p4r_push_opts po = { .remote = "origin" };
	p4r_push_result pr;

	assert_int_equal(p4r_push(s->a, &po, NULL, &pr), 0);
	assert_int_equal(pr.sync.objects_sent, 1);
	p4r_push_result_free(&pr);
}

/* Fetch with --objects into B: the version and its bytes arrive; a second
 * fetch finds nothing new and the object already here. */
static void test_fetch(void **state)
{
	tu_sync *s = *state;
	uint64_t last = 0;
	p4r_op_report rep = { .progress = heard_progress, .payload = &last };
	p4r_fetch_opts fo = { .remote = "origin", .all_objects = true };
	p4r_fetch_result fr;
	p4r_version v = { 0 };

	push_a(s);
	assert_int_equal(p4r_fetch(s->b, &fo, &rep, &fr), 0);
	assert_string_equal(fr.remote, "origin");
	assert_int_equal(fr.skip.seq, 0);
	assert_int_equal(fr.sync.batches_applied, 1);
	assert_int_equal(fr.sync.events_applied, 1);
	assert_int_equal(fr.sync.objects_received, 1);
	assert_int_equal(fr.sync.bytes_received, TU_SYNC_SIZE);
	assert_int_equal(last, TU_SYNC_SIZE);
	p4r_fetch_result_free(&fr);
	assert_int_equal(p4r_registry_version_get(p4r_repo_registry(s->b), "m", 1, &v), 0);
	assert_true(p4r_oid_equal(&v.oid, &s->v1));
	assert_int_equal(v.size, TU_SYNC_SIZE);
	p4r_version_clear(&v);
	assert_int_equal(p4r_store_verify(p4r_repo_store(s->b), &s->v1), 0);

	assert_int_equal(p4r_fetch(s->b, &fo, &rep, &fr), 0);
	assert_int_equal(fr.sync.batches_applied, 0);
	assert_int_equal(fr.sync.objects_received, 0);
	assert_int_equal(fr.sync.objects_present, 1);
	p4r_fetch_result_free(&fr);
}

/* Without --objects or REFs only the events come: the version, no object. */
static void test_fetch_events_only(void **state)
{
	tu_sync *s = *state;
	p4r_fetch_opts fo = { .remote = "origin" };
	p4r_fetch_result fr;
	p4r_version v = { 0 };

	push_a(s);
	assert_int_equal(p4r_fetch(s->b, &fo, NULL, &fr), 0);
	assert_int_equal(fr.sync.events_applied, 1);
	assert_int_equal(fr.sync.objects_received, 0);
	p4r_fetch_result_free(&fr);
	assert_int_equal(p4r_registry_version_get(p4r_repo_registry(s->b), "m", 1, &v), 0);
	p4r_version_clear(&v);
	assert_false(p4r_store_has(p4r_repo_store(s->b), &s->v1));
}

/* The remote's copy has other bytes of the same size: the fetch of the
 * object is P4R_EINTEGRITY and B's store stays without it. */
static void test_fetch_corrupt_object(void **state)
{
	tu_sync *s = *state;
	p4r_fetch_opts fo = { .remote = "origin", .all_objects = true };
	p4r_fetch_result fr;
	char *tmp = p4r_path_join(p4r_repo_meta(s->b), "tmp"), cmd[4200];

	push_a(s);
	tu_sync_corrupt_remote(s);
	assert_int_equal(p4r_fetch(s->b, &fo, NULL, &fr), P4R_EINTEGRITY);
	assert_non_null(strstr(p4r_error_message(), "not stored"));
	p4r_error_clear();
	p4r_fetch_result_free(&fr);
	assert_false(p4r_store_has(p4r_repo_store(s->b), &s->v1));
	/* no download left behind in .p4reg/tmp (the sync lock stays) */
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s' | grep -v '^sync.lock$')\"", tmp);
	assert_int_equal(system(cmd), 0);
	free(tmp);
}

/* A remote name that is not configured. */
static void test_fetch_unknown_remote(void **state)
{
	tu_sync *s = *state;
	p4r_fetch_opts fo = { .remote = "elsewhere" };
	p4r_fetch_result fr;

	assert_int_equal(p4r_fetch(s->b, &fo, NULL, &fr), P4R_ENOTFOUND);
	assert_non_null(strstr(p4r_error_message(), "elsewhere"));
	p4r_error_clear();
	p4r_fetch_result_free(&fr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fetch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_events_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_corrupt_object, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_unknown_remote, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
