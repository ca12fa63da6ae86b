/* Unit tests of the push operation (ops/push.c) against a folder remote
 * in a temporary folder (testutil's sync fixture): the object lands on
 * the remote read-only with its bytes, the event as batch 1; an unknown
 * model or remote is refused before the remote is touched. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/ops/push.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct heard {
	int lines;        /* warnings and notes */
	uint64_t last_done, last_total;
};

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
	struct heard *h = payload;

	assert_string_equal(label, "push");
	h->last_done = done;
	h->last_total = total;
}

static void heard_text(const char *text, void *payload)
{
	struct heard *h = payload;

	(void)text;
	h->lines++;
}

/* Push m@1 from A: one object of TU_SYNC_SIZE bytes, one event, batch 1;
 * the remote's copy is read-only and holds the bytes. */
static void test_push(void **state)
{
	tu_sync *s = *state;
	struct heard h = { 0 };
	p4r_op_report rep = { .progress = heard_progress, .warn = heard_text, .note = heard_text,
			      .payload = &h };
	p4r_push_opts po = { .remote = "origin" };
	p4r_push_result pr;
	char *obj = tu_sync_remote_object(s), *back;
	struct stat st;
	size_t len;

	assert_int_equal(p4r_push(s->a, &po, &rep, &pr), 0);
	assert_string_equal(pr.remote, "origin");
	assert_int_equal(pr.sync.objects_sent, 1);
	assert_int_equal(pr.sync.bytes_sent, TU_SYNC_SIZE);
	assert_int_equal(pr.sync.events_published, 1);
	assert_int_equal(pr.sync.batch_seq, 1);
	assert_int_equal(pr.sync.nmissing, 0);
	assert_int_equal(h.last_done, TU_SYNC_SIZE);
	assert_int_equal(h.lines, 0);
	p4r_push_result_free(&pr);
	assert_int_equal(lstat(obj, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0444);
	back = tu_slurp(obj, &len);
	assert_int_equal(len, TU_SYNC_SIZE);
	assert_memory_equal(back, TU_SYNC_BYTES, len);
	free(back);
	free(obj);
}

/* A model that does not exist refuses the push before the remote is touched. */
static void test_push_unknown_model(void **state)
{
	tu_sync *s = *state;
	char *models[] = { "nope" };
	p4r_push_opts po = { .remote = "origin", .models = models, .n_models = 1 };
	p4r_push_result pr;
	char *marker = p4r_path_join(s->remote, "p4reg-remote");
	struct stat st;

	assert_int_equal(p4r_push(s->a, &po, NULL, &pr), P4R_ENOTFOUND);
	p4r_error_clear();
	p4r_push_result_free(&pr);
	assert_int_equal(lstat(marker, &st), -1);
	free(marker);
}

/* A remote name that is not configured. */
static void test_push_unknown_remote(void **state)
{
	tu_sync *s = *state;
	p4r_push_opts po = { .remote = "elsewhere" };
	p4r_push_result pr;

	assert_int_equal(p4r_push(s->a, &po, NULL, &pr), P4R_ENOTFOUND);
	assert_non_null(strstr(p4r_error_message(), "elsewhere"));
	p4r_error_clear();
	p4r_push_result_free(&pr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_push, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_unknown_model, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_unknown_remote, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
