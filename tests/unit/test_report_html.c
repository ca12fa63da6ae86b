/* Unit tests for the report page's two guards of correctness: the HTML
 * escape of foreign text (output.c, p4r_html_escape) and the charts'
 * arithmetic (report/chart.c): round ticks, the mapping of values to
 * coordinates, slots and tick labels, at ordinary values and at the edges
 * of a double (one value, a range near DBL_MAX, differences of one ulp,
 * subnormals), where every coordinate must stay finite and in the plot. */
#include "testutil.h"
#include "p4reg/output.h"
#include "p4reg/report_html.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void expect_escape(const char *in, const char *want)
{
	char *got = p4r_html_escape(in);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_escape_markup(void **state)
{
	(void)state;
	expect_escape("plain text 0.85", "plain text 0.85");
	expect_escape("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;");
	expect_escape("\"onload=\"alert(1)", "&quot;onload=&quot;alert(1)");
	expect_escape("it's", "it&#39;s");
	expect_escape("a & b &amp;", "a &amp; b &amp;amp;");
	expect_escape("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;");
	expect_escape("", "");
	expect_escape(NULL, "");
}

static void test_escape_controls(void **state)
{
	(void)state;
	/* newline and tab are white space to a browser: kept */
	expect_escape("line one\nline\ttwo", "line one\nline\ttwo");
	/* the rest as human output shows them */
	expect_escape("red\x1b[31m!", "red\\x1b[31m!");
	expect_escape("cr\rbell\a", "cr\\rbell\\x07");
	expect_escape("del\x7f", "del\\x7f");
	/* C1 CSI (U+009B), a right-to-left override (U+202E), a line separator */
	expect_escape("c1\xc2\x9b", "c1\\xc2\\x9b");
	expect_escape("evil\xe2\x80\xaetxt.exe", "evil\\xe2\\x80\\xaetxt.exe");
	expect_escape("a\xe2\x80\xa8z", "a\\xe2\\x80\\xa8z");
	/* invalid UTF-8, a byte at a time; valid text kept */
	expect_escape("bad\xff\xfe", "bad\\xff\\xfe");
	expect_escape("caf\xc3\xa9 \xe6\x97\xa5", "caf\xc3\xa9 \xe6\x97\xa5");
	/* both at once: an entity never splits an escape or the reverse */
	expect_escape("<\x1b>&\"", "&lt;\\x1b&gt;&amp;&quot;");
}

/* Everything an axis must hold for values MIN..MAX. */
static void check_axis(double min, double max)
{
	p4r_chart_axis a;
	double prev, t, y;
	int i;

	p4r_chart_axis_make(&a, min, max, 4);
	assert_true(isfinite(a.lo) && isfinite(a.hi) && isfinite(a.step));
	assert_true(a.lo < a.hi);
	assert_true(a.lo <= fmin(min, max) && a.hi >= fmax(min, max));
	assert_true(a.ticks >= 2 && a.ticks <= P4R_CHART_TICKS_MAX);
	assert_true(a.step > 0);
	assert_true(a.digits >= 1 && a.digits <= 17);
	for (i = 1, prev = a.lo; i + 1 < a.ticks; i++, prev = t) {
		t = a.lo + i * a.step;
		assert_true(t > prev && t < a.hi);
	}
	/* the values land inside the plot, the ends on its edges */
	y = p4r_chart_map(&a, min, 170, 22);
	assert_true(isfinite(y) && y <= 170 + 1e-9 && y >= 22 - 1e-9);
	y = p4r_chart_map(&a, max, 170, 22);
	assert_true(isfinite(y) && y <= 170 + 1e-9 && y >= 22 - 1e-9);
	assert_true(fabs(p4r_chart_map(&a, a.lo, 170, 22) - 170) < 1e-6);
	assert_true(fabs(p4r_chart_map(&a, a.hi, 170, 22) - 22) < 1e-6);
}

static void test_axis_round_ticks(void **state)
{
	p4r_chart_axis a;
	char label[32];

	(void)state;
	p4r_chart_axis_make(&a, 0.81, 0.85, 4);
	assert_true(fabs(a.step - 0.01) < 1e-12);
	assert_true(fabs(a.lo - 0.81) < 1e-9 && fabs(a.hi - 0.85) < 1e-9);
	assert_int_equal(a.ticks, 5);
	p4r_chart_tick_label(label, sizeof(label), &a, a.lo + 2 * a.step);
	assert_string_equal(label, "0.83");

	p4r_chart_axis_make(&a, 35, 39, 4);
	assert_int_equal((int)a.lo, 35);
	assert_int_equal((int)a.hi, 39);
	assert_int_equal(a.ticks, 5);

	/* labels of big round numbers have no exponent */
	p4r_chart_axis_make(&a, 120, 930, 4);
	assert_true(a.step == 200 && a.lo == 0 && a.hi == 1000);
	p4r_chart_tick_label(label, sizeof(label), &a, 1000);
	assert_string_equal(label, "1000");
	p4r_chart_tick_label(label, sizeof(label), &a, 400);
	assert_string_equal(label, "400");

	/* a tick a rounding error away from zero is "0", not "-2.7e-17" */
	p4r_chart_axis_make(&a, -0.3, 0.3, 4);
	p4r_chart_tick_label(label, sizeof(label), &a, -0.3 + 3 * 0.1);
	assert_string_equal(label, "0");

	/* reversed input is the same axis */
	p4r_chart_axis_make(&a, 39, 35, 4);
	assert_true(a.lo == 35 && a.hi == 39);
	check_axis(-5, -1);
	check_axis(0.0001, 0.0003);
	check_axis(1e-7, 3e-7);
	check_axis(12345678, 12345999);
}

static void test_axis_one_value(void **state)
{
	p4r_chart_axis a;

	(void)state;
	p4r_chart_axis_make(&a, 0.85, 0.85, 4);
	assert_true(a.lo < 0.85 && a.hi > 0.85);
	check_axis(0.85, 0.85);
	p4r_chart_axis_make(&a, 0, 0, 4);
	assert_true(a.lo <= -1 && a.hi >= 1);
	check_axis(0, 0);
	check_axis(-42, -42);
	check_axis(DBL_MAX, DBL_MAX);
	check_axis(-DBL_MAX, -DBL_MAX);
	check_axis(5e-324, 5e-324);
	check_axis(DBL_MIN, DBL_MIN);
}

static void test_axis_extremes(void **state)
{
	p4r_chart_axis a;
	double mid;

	(void)state;
	/* the whole range of a double: hi - lo overflows, the map must not */
	check_axis(-DBL_MAX, DBL_MAX);
	p4r_chart_axis_make(&a, -DBL_MAX, DBL_MAX, 4);
	mid = p4r_chart_map(&a, 0, 0, 100);
	assert_true(fabs(mid - 50) < 1);
	check_axis(0, DBL_MAX);
	check_axis(1e307, 1.7e308);
	/* steps finer than the doubles near the values */
	check_axis(0.83, nextafter(0.83, 1));
	check_axis(1e16, 1e16 + 4);
	check_axis(1e300, nextafter(1e300, INFINITY));
	/* subnormals */
	check_axis(0, 5e-324);
	check_axis(5e-324, 1e-320);
	/* not finite (the registry never holds such values): a sane axis */
	p4r_chart_axis_make(&a, NAN, 1, 4);
	assert_true(isfinite(a.lo) && isfinite(a.hi) && a.lo < a.hi);
	p4r_chart_axis_make(&a, -INFINITY, INFINITY, 4);
	assert_true(isfinite(a.lo) && isfinite(a.hi) && a.lo < a.hi);
}

/* Many magnitudes and spans, each pair's invariants (a cheap sweep in
 * place of a fuzzer). */
static void test_axis_sweep(void **state)
{
	static const double base[] = { 0, 1e-300, 1e-12, 0.5, 0.83, 1, 37, 1e6, 1e15, 1e300, 1.7e308 };
	static const double span[] = { 0, 1e-16, 1e-9, 0.01, 0.3, 1, 7, 1e5, 1e20 };
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		for (j = 0; j < sizeof(span) / sizeof(span[0]); j++) {
			double lo = base[i], hi = base[i] + base[i] * span[j] + span[j];

			if (!isfinite(hi))
				hi = DBL_MAX;
			check_axis(lo, hi);
			check_axis(-hi, -lo);
			check_axis(-lo, hi);
		}
}

static void test_map_and_slots(void **state)
{
	p4r_chart_axis a;

	(void)state;
	p4r_chart_axis_make(&a, 0, 100, 4);
	assert_true(a.lo == 0 && a.hi == 100);
	assert_true(fabs(p4r_chart_map(&a, 25, 0, 400) - 100) < 1e-9);
	/* y grows downwards: the top of the plot is the high value */
	assert_true(fabs(p4r_chart_map(&a, 25, 170, 22) - 133) < 1e-9);
	assert_true(fabs(p4r_chart_slot(0, 1, 70, 330) - 200) < 1e-9);
	assert_true(fabs(p4r_chart_slot(0, 3, 70, 330) - 70) < 1e-9);
	assert_true(fabs(p4r_chart_slot(1, 3, 70, 330) - 200) < 1e-9);
	assert_true(fabs(p4r_chart_slot(2, 3, 70, 330) - 330) < 1e-9);
	assert_true(fabs(p4r_chart_slot(0, 0, 70, 330) - 200) < 1e-9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_markup),
		cmocka_unit_test(test_escape_controls),
		cmocka_unit_test(test_axis_round_ticks),
		cmocka_unit_test(test_axis_one_value),
		cmocka_unit_test(test_axis_extremes),
		cmocka_unit_test(test_axis_sweep),
		cmocka_unit_test(test_map_and_slots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
