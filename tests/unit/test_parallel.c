/* Unit tests for parallel.c: every index runs once, the lowest failure is
 * reported with its message, nothing is handed out after a failure, and an
 * integrity failure outranks the others. */
#include "testutil.h"
#include "p4reg/parallel.h"
#include "p4reg/error.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define N 1000

struct counts {
	atomic_int ran[N];
	int fail_at[4];       /* indices that fail, -1 unused */
	int fail_code[4];
};

static int count_fn(size_t i, void *payload)
{
	struct counts *c = payload;
	size_t k;

	atomic_fetch_add(&c->ran[i], 1);
	for (k = 0; k < 4; k++)
		if (c->fail_at[k] == (int)i)
			return p4r_error_set(c->fail_code[k], "item %zu failed", i);
	return 0;
}

static void init(struct counts *c)
{
	size_t k;

	memset(c, 0, sizeof(*c));
	for (k = 0; k < 4; k++)
		c->fail_at[k] = -1;
}

static void test_every_index_once(void **state)
{
	static struct counts c;
	unsigned threads[] = { 0, 1, 2, 7, 200 };
	size_t t, i;

	(void)state;
	for (t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
		init(&c);
		assert_int_equal(p4r_parallel_for(N, threads[t], count_fn, &c), 0);
		for (i = 0; i < N; i++)
			assert_int_equal(atomic_load(&c.ran[i]), 1);
	}
	assert_int_equal(p4r_parallel_for(0, 4, count_fn, &c), 0);
	assert_true(p4r_parallel_cores() >= 1);
}

/* Two failures: the lower index is reported; every index below the
 * first failure ran (they are handed out in order). */
static void test_lowest_failure_reported(void **state)
{
	static struct counts c;
	size_t i;

	(void)state;
	init(&c);
	c.fail_at[0] = 700, c.fail_code[0] = P4R_ENOTFOUND;
	c.fail_at[1] = 300, c.fail_code[1] = P4R_ERROR;
	p4r_error_clear();
	assert_int_equal(p4r_parallel_for(N, 4, count_fn, &c), P4R_ERROR);
	assert_string_equal(p4r_error_message(), "item 300 failed");
	for (i = 0; i < 300; i++)
		assert_int_equal(atomic_load(&c.ran[i]), 1);
}

/* One thread stops right after its failure: nothing later runs. */
static void test_stops_after_failure(void **state)
{
	static struct counts c;
	size_t i;

	(void)state;
	init(&c);
	c.fail_at[0] = 10, c.fail_code[0] = P4R_ERROR;
	assert_int_equal(p4r_parallel_for(N, 1, count_fn, &c), P4R_ERROR);
	for (i = 11; i < N; i++)
		assert_int_equal(atomic_load(&c.ran[i]), 0);
}

static void test_integrity_outranks(void **state)
{
	static struct counts c;

	(void)state;
	init(&c);
	c.fail_at[0] = 5, c.fail_code[0] = P4R_ERROR;
	c.fail_at[1] = 6, c.fail_code[1] = P4R_EINTEGRITY;
	/* one thread stops at 5; with several, 6 may run too: either way the
	 * report is one of the two, and integrity whenever 6 ran */
	assert_int_equal(p4r_parallel_for(N, 1, count_fn, &c), P4R_ERROR);
	init(&c);
	c.fail_at[0] = 1, c.fail_code[0] = P4R_ERROR;
	c.fail_at[1] = 0, c.fail_code[1] = P4R_EINTEGRITY;
	assert_int_equal(p4r_parallel_for(2, 2, count_fn, &c) , P4R_EINTEGRITY);
	assert_string_equal(p4r_error_message(), "item 0 failed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_index_once),
		cmocka_unit_test(test_lowest_failure_reported),
		cmocka_unit_test(test_stops_after_failure),
		cmocka_unit_test(test_integrity_outranks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
