/* Unit tests for util/progress.c: the progress line's parts (counts,
 * sizes, ETA), the rate over a sliding window, and the fit to the
 * terminal's width. */
#include "testutil.h"
#include "p4reg/ops/op.h"
#include "p4reg/output.h"
#include "p4reg/progress.h"

#include <stdio.h>
#include <string.h>

#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)

/* Columns as the line counts them: ASCII one, any other character two. */
static size_t cols(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n += (unsigned char)*s < 0x80 ? 1 : 2;
	return n;
}

static const char *line(const char *label, const p4r_progress *p, const p4r_rate *r, int64_t now, int width)
{
	static char buf[1024];
	size_t n = p4r_progress_line(buf, sizeof(buf), label, p, r, now, width);

	assert_int_equal(n, cols(buf));
	return buf;
}

static void test_count(void **state)
{
	static const struct {
		uint64_t n;
		const char *text;
	} cases[] = {
		{ 0, "0" }, { 7, "7" }, { 999, "999" }, { 1000, "1,000" }, { 1204, "1,204" },
		{ 10000, "10,000" }, { 999999, "999,999" }, { 1234567, "1,234,567" },
		{ UINT64_MAX, "18,446,744,073,709,551,615" },
	};
	char buf[40];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p4r_progress_format_count(buf, sizeof(buf), cases[i].n);
		assert_string_equal(buf, cases[i].text);
	}
	p4r_progress_format_count(buf, 4, 1234567); /* cut, still a string */
	assert_string_equal(buf, "1,2");
}

static void test_eta(void **state)
{
	static const struct {
		uint64_t s;
		const char *text;
	} cases[] = {
		{ 0, "0:00" }, { 6, "0:06" }, { 59, "0:59" }, { 60, "1:00" }, { 754, "12:34" },
		{ 3599, "59:59" }, { 3600, "1:00:00" }, { 3723, "1:02:03" }, { 86399, "23:59:59" },
		{ 359999, "99:59:59" }, { 360000, "99:59:59+" }, { UINT64_MAX, "99:59:59+" },
	};
	char buf[24];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p4r_progress_format_eta(buf, sizeof(buf), cases[i].s);
		assert_string_equal(buf, cases[i].text);
	}
}

/* The rate follows the last window, not the average since the start. */
static void test_rate_window(void **state)
{
	p4r_rate r;
	double per_s;
	int64_t t;

	(void)state;
	p4r_rate_reset(&r);
	assert_false(p4r_rate_get(&r, 0, 0, &per_s));
	/* 5 s at 10 MiB/s, then 5 s at 100 MiB/s */
	for (t = 0; t <= 10000; t += 100)
		p4r_rate_add(&r, t, t <= 5000 ? (uint64_t)t * 10 * MiB / 1000 :
				      50 * MiB + (uint64_t)(t - 5000) * 100 * MiB / 1000);
	assert_int_equal(r.n, P4R_RATE_SAMPLES);
	assert_true(p4r_rate_get(&r, 10000, 550 * MiB, &per_s));
	assert_true(per_s == 100.0 * MiB);
	/* a stall: the newest sample a window old is the last one, nothing since */
	assert_true(p4r_rate_get(&r, 20000, 550 * MiB, &per_s));
	assert_true(per_s == 0);
}

/* Not meaningful before a second; samples closer than the spacing are
 * not kept, yet the current amount counts. */
static void test_rate_start(void **state)
{
	p4r_rate r;
	double per_s;

	(void)state;
	p4r_rate_reset(&r);
	p4r_rate_add(&r, 5000, 0);
	p4r_rate_add(&r, 5050, 10 * MiB);
	assert_int_equal(r.n, 1);
	p4r_rate_add(&r, 5500, 50 * MiB);
	assert_int_equal(r.n, 2);
	assert_false(p4r_rate_get(&r, 5999, 99 * MiB, &per_s));
	assert_true(per_s == 0);
	assert_true(p4r_rate_get(&r, 6000, 100 * MiB, &per_s));
	assert_true(per_s == 100.0 * MiB);
	/* no time between the base and now */
	p4r_rate_reset(&r);
	p4r_rate_add(&r, 0, 0);
	assert_false(p4r_rate_get(&r, 0, 0, &per_s));
}

static void test_line_bytes(void **state)
{
	p4r_progress p = { .label = "pull", .has_bytes = true, .bytes = 412 * MiB, .bytes_total = GiB };
	p4r_rate r;

	(void)state;
	assert_string_equal(line("pull", &p, NULL, 0, 80), "pull  412.0 MiB / 1.0 GiB  40%");
	/* a rate before a second is no rate */
	p4r_rate_reset(&r);
	p4r_rate_add(&r, 0, 0);
	assert_string_equal(line("pull", &p, &r, 500, 80), "pull  412.0 MiB / 1.0 GiB  40%");
	/* 412 MiB in 4 s: 103 MiB/s, 612 MiB left: 6 s (rounded up) */
	assert_string_equal(line("pull", &p, &r, 4000, 80), "pull  412.0 MiB / 1.0 GiB  40%  103.0 MiB/s  ETA 0:06");
	/* done: no ETA; an unknown total: no percentage either */
	p.bytes = GiB;
	assert_string_equal(line("pull", &p, &r, 4000, 80), "pull  1.0 GiB / 1.0 GiB  100%  256.0 MiB/s");
	p.bytes_total = 0;
	p.bytes = 300;
	assert_string_equal(line("get", &p, NULL, 0, 80), "get  300 B");
}

static void test_line_files(void **state)
{
	p4r_progress p = { .label = "add", .unit = "files", .items = 1204, .items_total = 10000,
			   .has_bytes = true, .bytes = 48 * MiB, .bytes_total = 409573786 };
	p4r_rate r;

	(void)state;
	assert_string_equal(line("add", &p, NULL, 0, 80), "add  1,204/10,000 files  48.0 MiB/390.6 MiB  12%");
	p4r_rate_reset(&r);
	p4r_rate_add(&r, 0, 0);
	assert_int_equal(p4r_progress_amount(&p), 48 * MiB);
	assert_string_equal(line("add", &p, &r, 2000, 80),
			    "add  1,204/10,000 files  48.0 MiB/390.6 MiB  12%  24.0 MiB/s  ETA 0:15");
	/* one file is its bytes */
	p.items = 0;
	p.items_total = 1;
	p.bytes = 5;
	p.bytes_total = 5;
	assert_string_equal(line("add", &p, NULL, 0, 80), "add  5 B / 5 B  100%");
	/* empty files: the percentage follows the files */
	p.items = 3;
	p.items_total = 4;
	p.bytes = p.bytes_total = 0;
	assert_int_equal(p4r_progress_amount(&p), 3);
	assert_string_equal(line("add", &p, NULL, 0, 80), "add  3/4 files  0 B  75%");
}

static void test_line_items(void **state)
{
	p4r_progress p = { .label = "gc examining", .unit = "objects", .items = 3120 };
	p4r_rate r;

	(void)state;
	assert_string_equal(line(p.label, &p, NULL, 0, 80), "gc examining  3,120 objects");
	p4r_rate_reset(&r);
	p4r_rate_add(&r, 0, 0);
	assert_string_equal(line(p.label, &p, &r, 2000, 80), "gc examining  3,120 objects  1,560 objects/s");
	p.label = "gc deleting";
	p.items = 120;
	p.items_total = 3000;
	assert_string_equal(line(p.label, &p, &r, 2000, 80),
			    "gc deleting  120/3,000 objects  4%  60 objects/s  ETA 0:48");
}

/* Too wide: the label is cut first, keeping its end; then the ETA, the
 * rate and the percentage go; then the line is cut. */
static void test_line_width(void **state)
{
	const char *label = "models/very/long/path/of/the/model.bin";
	p4r_progress p = { .label = label, .has_bytes = true, .bytes = 16 * MiB, .bytes_total = 160 * MiB };
	p4r_rate r;
	int w;

	(void)state;
	p4r_rate_reset(&r);
	p4r_rate_add(&r, 0, 0);
	/* "16.0 MiB / 160.0 MiB  10%  8.0 MiB/s  ETA 0:18": 46 columns */
	assert_string_equal(line(label, &p, &r, 2000, 100),
			    "models/very/long/path/of/the/model.bin  16.0 MiB / 160.0 MiB  10%  8.0 MiB/s  ETA 0:18");
	/* 59 columns: with the ETA the label would get less than 12 */
	assert_string_equal(line(label, &p, &r, 2000, 60),
			    "...h/of/the/model.bin  16.0 MiB / 160.0 MiB  10%  8.0 MiB/s");
	assert_string_equal(line(label, &p, &r, 2000, 50), "...th/of/the/model.bin  16.0 MiB / 160.0 MiB  10%");
	assert_string_equal(line(label, &p, &r, 2000, 40), "...model.bin  16.0 MiB / 160.0 MiB  10%");
	/* the label keeps 12 columns, the rest is cut */
	assert_string_equal(line(label, &p, &r, 2000, 30), "...model.bin  16.0 MiB / 160.");
	assert_string_equal(line(label, &p, &r, 2000, 1), "");
	assert_string_equal(line(label, &p, &r, 2000, 0), "");
	/* never wider than the terminal less one column */
	for (w = 2; w < 130; w++)
		assert_true(strlen(line(label, &p, &r, 2000, w)) <= (size_t)w - 1);
}

/* A label beyond ASCII is cut between characters, counted two columns each. */
static void test_line_utf8(void **state)
{
	const char *label = "mod\xc3\xa8les/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e/mod\xc3\xa8le.bin";
	p4r_progress p = { .label = label, .has_bytes = true, .bytes = 0, .bytes_total = 0 };
	const char *out;
	int w;

	(void)state;
	for (w = 2; w < 60; w++) {
		out = line(label, &p, NULL, 0, w);
		assert_true(p4r_utf8_valid(out, strlen(out)));
		assert_true(cols(out) <= (size_t)w - 1);
	}
	/* 24 columns: "0 B" and two spaces leave 19 for the label, "..." and
	 * the end of it that fits in 16 ("本語/modèle.bin"; 日 would be 18) */
	assert_string_equal(line(label, &p, NULL, 0, 25),
			    "...\xe6\x9c\xac\xe8\xaa\x9e/mod\xc3\xa8le.bin  0 B");
}

static void test_reached(void **state)
{
	p4r_progress p = { .has_bytes = true, .bytes = 5, .bytes_total = 5 };

	(void)state;
	assert_true(p4r_progress_reached(&p));
	p.bytes = 4;
	assert_false(p4r_progress_reached(&p));
	p.bytes_total = 0; /* unknown: never over */
	assert_false(p4r_progress_reached(&p));
	p = (p4r_progress){ .unit = "files", .items = 2, .items_total = 3, .has_bytes = true, .bytes = 9,
			    .bytes_total = 9 };
	assert_false(p4r_progress_reached(&p)); /* the last file is not in place yet */
	p.items = 3;
	assert_true(p4r_progress_reached(&p));
	p.bytes_total = p.bytes = 0; /* empty files: the files say */
	assert_true(p4r_progress_reached(&p));
	p = (p4r_progress){ .unit = "objects", .items = 7 };
	assert_false(p4r_progress_reached(&p));
}

/* What the report's callbacks heard last. */
struct heard {
	char how[16], label[32];
	uint64_t done, total;
	p4r_progress p;
};

static void heard_progress(const char *label, uint64_t done, uint64_t total, void *payload)
{
	struct heard *h = payload;

	snprintf(h->how, sizeof(h->how), "progress");
	snprintf(h->label, sizeof(h->label), "%s", label);
	h->done = done;
	h->total = total;
}

static void heard_count(const p4r_progress *p, void *payload)
{
	struct heard *h = payload;

	snprintf(h->how, sizeof(h->how), "count");
	snprintf(h->label, sizeof(h->label), "%s", p->label);
	h->p = *p;
}

/* Counts reach a report that has only the old byte callback, and bytes
 * one that has only the new one. */
static void test_op_report_compat(void **state)
{
	struct heard h = { 0 };
	p4r_op_report old = { .progress = heard_progress, .payload = &h };
	p4r_op_report new = { .count = heard_count, .payload = &h };
	p4r_progress both = { .label = "add", .unit = "files", .items = 2, .items_total = 5, .has_bytes = true,
			       .bytes = 30, .bytes_total = 90 };

	(void)state;
	p4r_op_progress_count(&old, &both);
	assert_string_equal(h.how, "progress");
	assert_string_equal(h.label, "add");
	assert_int_equal(h.done, 30);
	assert_int_equal(h.total, 90);
	p4r_op_progress_items(&old, "gc deleting", "objects", 3, 7);
	assert_string_equal(h.label, "gc deleting");
	assert_int_equal(h.done, 3);
	assert_int_equal(h.total, 7);
	p4r_op_progress(&new, "push", 10, 20);
	assert_string_equal(h.how, "count");
	assert_string_equal(h.label, "push");
	assert_null(h.p.unit);
	assert_true(h.p.has_bytes);
	assert_int_equal(h.p.bytes, 10);
	assert_int_equal(h.p.bytes_total, 20);
	p4r_op_progress_items(&new, "gc deleting", "objects", 3, 7);
	assert_string_equal(h.p.unit, "objects");
	assert_false(h.p.has_bytes);
	assert_int_equal(h.p.items, 3);
	assert_int_equal(h.p.items_total, 7);
	/* no report, no callback: nothing happens */
	p4r_op_progress_count(NULL, &both);
	p4r_op_progress(&(p4r_op_report){ 0 }, "x", 1, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_eta),
		cmocka_unit_test(test_rate_window),
		cmocka_unit_test(test_rate_start),
		cmocka_unit_test(test_line_bytes),
		cmocka_unit_test(test_line_files),
		cmocka_unit_test(test_line_items),
		cmocka_unit_test(test_line_width),
		cmocka_unit_test(test_line_utf8),
		cmocka_unit_test(test_reached),
		cmocka_unit_test(test_op_report_compat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
