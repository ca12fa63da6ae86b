/* The report page (report/html.c) and its charts' arithmetic
 * (report/chart.c): one self-contained HTML document drawn from a
 * p4r_report_result, with inline CSS and SVG, no script, nothing fetched
 * (its Content-Security-Policy forbids every load). Every string that came
 * from the registry goes through p4r_html_escape (output.h). Drawing is in
 * the core, beside the data it draws, so unit tests reach it; it writes to
 * a FILE the caller owns (a memory stream in p4r_report) and prints
 * nothing. */
#ifndef P4REG_REPORT_HTML_H
#define P4REG_REPORT_HTML_H

#include <stddef.h>
#include <stdio.h>

#include "p4reg/ops/report.h"

/* Writes the page of R to F. 0, or P4R_ERROR when out of memory (a write
 * to F that fails shows in ferror(F), which the caller checks). */
int p4r_report_html(FILE *f, const p4r_report_result *r);

/* ---- chart arithmetic ---- */

#define P4R_CHART_TICKS_MAX 12

/* A value axis: ticks at LO, LO + STEP, ... HI (TICKS of them). */
typedef struct p4r_chart_axis {
	double lo, hi;  /* LO <= every value <= HI, LO < HI */
	double step;    /* a round step (1, 2 or 5 times a power of ten) when
			 * the range allows one, else (HI - LO) / (TICKS - 1) */
	int ticks;      /* 2..P4R_CHART_TICKS_MAX */
	int digits;     /* significant digits that tell the tick labels apart */
} p4r_chart_axis;

/* The axis for values from MIN to MAX (finite; MIN == MAX is a range
 * around the one value) in about TARGET (2..6) intervals of a round step.
 * Every field is finite whatever the values: ranges near the largest
 * double and differences near the smallest fall back to an evenly divided
 * axis rather than overflowing. */
void p4r_chart_axis_make(p4r_chart_axis *out, double min, double max, int target);

/* Where V lies on A between the coordinates R0 (at A->lo) and R1 (at
 * A->hi); finite for every finite V in A's range (no overflow near the
 * largest double). */
double p4r_chart_map(const p4r_chart_axis *a, double v, double r0, double r1);

/* The coordinate of slot I of N evenly spaced between R0 and R1 (versions
 * along the x axis: by rank, not by number); one slot sits in the middle. */
double p4r_chart_slot(size_t i, size_t n, double r0, double r1);

/* The label of tick value V of A into BUF ("0.85", "1200", "1e-07"),
 * with A->digits significant digits; a value within a billionth of a step
 * of zero is "0". */
void p4r_chart_tick_label(char *buf, size_t size, const p4r_chart_axis *a, double v);

#endif
