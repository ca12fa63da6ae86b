/* The arithmetic of the report's charts (report_html.h): a value axis with
 * round ticks, the mapping of values and slots to coordinates, and tick
 * labels. Pure functions, kept apart from the markup so the edge cases
 * (one value, a range near the largest double, a difference near the
 * smallest) are unit-tested on their own. */
#include "p4reg/report_html.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>

/* (MAX - MIN) / K without overflow near the largest double, nor the
 * halves' rounding to 0 among subnormals. */
static double span_over(double min, double max, int k)
{
	double half = max / 2 - min / 2;

	return half > DBL_MIN ? half / k * 2 : (max - min) / k;
}

/* The round step (1, 2 or 5 times a power of ten) nearest RAW (Heckbert's
 * "nice numbers"); 0 when there is none (RAW not a positive normal number,
 * or the step overflows). */
static double round_step(double raw)
{
	double mag, f, step;

	if (!(raw > 0) || !isnormal(raw))
		return 0;
	mag = pow(10, floor(log10(raw)));
	if (!isnormal(mag))
		return 0;
	f = raw / mag;
	step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
	return isfinite(step) ? step : 0;
}

/* True when the TICKS ticks from LO by STEP are distinct and end at HI
 * (within a millionth of a step): the doubles near LO can hold them. */
static bool ticks_exact(double lo, double hi, double step, int ticks)
{
	double prev = lo, t;
	int i;

	for (i = 1; i < ticks; i++) {
		t = lo + i * step;
		if (!(t > prev) || !isfinite(t))
			return false;
		prev = t;
	}
	return fabs(prev - hi) <= step * 1e-6;
}

/* Round ticks around [MIN, MAX] into OUT; false when the doubles cannot
 * hold them (overflow, or steps too fine for the values' magnitude). */
static bool axis_round(p4r_chart_axis *out, double min, double max, int target)
{
	double step = round_step(span_over(min, max, target)), lo, hi, n;

	if (step == 0)
		return false;
	lo = floor(min / step) * step;
	hi = ceil(max / step) * step;
	if (!isfinite(lo) || !isfinite(hi))
		return false;
	/* a quotient rounded up or down by one ulp */
	if (lo > min)
		lo -= step;
	if (hi < max)
		hi += step;
	n = span_over(lo, hi, 1) / step;
	if (!isfinite(lo) || !isfinite(hi) || !(n >= 1) || n > P4R_CHART_TICKS_MAX - 1)
		return false;
	out->lo = lo;
	out->hi = hi;
	out->step = step;
	out->ticks = (int)lround(n) + 1;
	return ticks_exact(lo, hi, step, out->ticks);
}

/* The significant digits that tell A's tick labels apart, without an
 * exponent for numbers below a million. */
static int label_digits(const p4r_chart_axis *a)
{
	double big = fmax(fabs(a->lo), fabs(a->hi));
	int e_big, e_step, d;

	if (!(big > 0) || !(a->step > 0) || !isfinite(a->step))
		return 6;
	e_big = (int)floor(log10(big));
	e_step = (int)floor(log10(a->step));
	d = e_big - e_step + 1;
	if (e_big < 6 && d < e_big + 1)
		d = e_big + 1;
	return d < 1 ? 1 : d > 17 ? 17 : d;
}

void p4r_chart_axis_make(p4r_chart_axis *out, double min, double max, int target)
{
	double t, d;

	target = target < 2 ? 2 : target > 6 ? 6 : target;
	if (!isfinite(min) || !isfinite(max)) {
		min = 0;
		max = 1;
	}
	if (min > max) {
		t = min;
		min = max;
		max = t;
	}
	if (min == max) {
		/* one value: a tenth of it either side (1 around zero) */
		d = fabs(min) / 10;
		if (!isnormal(d))
			d = fabs(min) > 0 ? fabs(min) : 1;
		min = isfinite(min - d) ? min - d : -DBL_MAX;
		max = isfinite(max + d) ? max + d : DBL_MAX;
	}
	if (!axis_round(out, min, max, target)) {
		/* evenly divided instead; two ticks when even that is too fine */
		out->lo = min;
		out->hi = max;
		out->ticks = target + 1;
		out->step = span_over(min, max, target);
		if (!(out->step > 0) || !ticks_exact(min, max, out->step, out->ticks)) {
			out->ticks = 2;
			out->step = span_over(min, max, 1);
			if (!isfinite(out->step))
				out->step = DBL_MAX;
		}
	}
	out->digits = label_digits(out);
}

double p4r_chart_map(const p4r_chart_axis *a, double v, double r0, double r1)
{
	/* halves: hi - lo of values near the largest double overflows */
	double den = a->hi / 2 - a->lo / 2, t;

	t = den > 0 ? (v / 2 - a->lo / 2) / den : (v - a->lo) / (a->hi - a->lo);
	if (!isfinite(t))
		t = 0;
	return r0 + t * (r1 - r0);
}

double p4r_chart_slot(size_t i, size_t n, double r0, double r1)
{
	if (n < 2)
		return (r0 + r1) / 2;
	return r0 + (r1 - r0) * (double)i / (double)(n - 1);
}

void p4r_chart_tick_label(char *buf, size_t size, const p4r_chart_axis *a, double v)
{
	if (fabs(v) < a->step * 1e-9)
		v = 0;
	snprintf(buf, size, "%.*g", a->digits, v);
}
