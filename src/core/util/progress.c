/* The progress line of a long step, made without I/O (see progress.h):
 * counts, sizes, the rate over a sliding window, the ETA, the width. */
#include "p4reg/progress.h"
#include "p4reg/output.h"

#include <stdio.h>
#include <string.h>

void p4r_rate_reset(p4r_rate *r)
{
	memset(r, 0, sizeof(*r));
}

void p4r_rate_add(p4r_rate *r, int64_t now_ms, uint64_t amount)
{
	size_t last = (r->next + P4R_RATE_SAMPLES - 1) % P4R_RATE_SAMPLES;

	if (r->n == 0)
		r->start_ms = now_ms;
	else if (now_ms - r->ms[last] < P4R_RATE_SPACING_MS)
		return;
	r->ms[r->next] = now_ms;
	r->amount[r->next] = amount;
	r->next = (r->next + 1) % P4R_RATE_SAMPLES;
	if (r->n < P4R_RATE_SAMPLES)
		r->n++;
}

bool p4r_rate_get(const p4r_rate *r, int64_t now_ms, uint64_t amount, double *per_s)
{
	size_t i, k, base;

	*per_s = 0;
	if (r->n == 0 || now_ms - r->start_ms < P4R_RATE_MIN_MS)
		return false;
	/* oldest first; the base is the newest sample a window old, else the oldest */
	base = (r->next + P4R_RATE_SAMPLES - r->n) % P4R_RATE_SAMPLES;
	for (i = 1; i < r->n; i++) {
		k = (r->next + P4R_RATE_SAMPLES - r->n + i) % P4R_RATE_SAMPLES;
		if (now_ms - r->ms[k] < P4R_RATE_WINDOW_MS)
			break;
		base = k;
	}
	if (now_ms <= r->ms[base])
		return false;
	*per_s = amount > r->amount[base] ?
		 (double)(amount - r->amount[base]) * 1000.0 / (double)(now_ms - r->ms[base]) : 0;
	return true;
}

void p4r_progress_format_count(char *buf, size_t size, uint64_t n)
{
	char digits[24], out[32];
	size_t len, i, o = 0;

	len = (size_t)snprintf(digits, sizeof(digits), "%llu", (unsigned long long)n);
	for (i = 0; i < len; i++) {
		if (i && (len - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
	snprintf(buf, size, "%s", out);
}

void p4r_progress_format_eta(char *buf, size_t size, uint64_t seconds)
{
	if (seconds >= 100 * 3600)
		snprintf(buf, size, "99:59:59+");
	else if (seconds >= 3600)
		snprintf(buf, size, "%u:%02u:%02u", (unsigned)(seconds / 3600), (unsigned)(seconds / 60 % 60),
			 (unsigned)(seconds % 60));
	else
		snprintf(buf, size, "%u:%02u", (unsigned)(seconds / 60), (unsigned)(seconds % 60));
}

/* Whether the rate, percentage and ETA follow bytes (else items): bytes
 * when counted, unless only the items have a total. */
static bool measures_bytes(const p4r_progress *p)
{
	return p->has_bytes && (p->bytes_total > 0 || !p->unit || p->items_total == 0);
}

uint64_t p4r_progress_amount(const p4r_progress *p)
{
	return measures_bytes(p) ? p->bytes : p->items;
}

bool p4r_progress_reached(const p4r_progress *p)
{
	bool items = p->unit && p->items_total, bytes = p->has_bytes && p->bytes_total;

	return (items || bytes) && (!items || p->items >= p->items_total) &&
	       (!bytes || p->bytes >= p->bytes_total);
}

/* Columns S takes: one per ASCII byte, two per other character (most
 * are one, the wide ones two: never more than the terminal has). */
static size_t columns(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n += (unsigned char)*s < 0x80 ? 1 : 2;
	return n;
}

static bool continuation(char c)
{
	return ((unsigned char)c & 0xC0) == 0x80;
}

/* S cut at a character's boundary to at most MAX columns: its start
 * (TAIL false) or "..." and its end (TAIL true), into BUF. */
static void cut(char *buf, size_t size, const char *s, size_t max, bool tail)
{
	size_t i, w = 0, cw;

	if (columns(s) <= max) {
		snprintf(buf, size, "%s", s);
		return;
	}
	if (!tail) {
		for (i = 0; s[i]; i++) {
			if (continuation(s[i]))
				continue;
			cw = (unsigned char)s[i] < 0x80 ? 1 : 2;
			if (w + cw > max)
				break;
			w += cw;
		}
		snprintf(buf, size, "%.*s", (int)i, s);
		return;
	}
	if (max <= 3) {
		snprintf(buf, size, "%.*s", (int)max, "...");
		return;
	}
	/* the longest end, from a character's start, that fits beside "..." */
	for (i = 0; s[i] && (continuation(s[i]) || columns(s + i) > max - 3); i++)
		;
	snprintf(buf, size, "...%s", s + i);
}

/* The parts after the label: counts, percentage, rate, ETA ("" when absent). */
struct parts {
	char counts[160], pct[8], rate[48], eta[48];
};

static void make_parts(struct parts *o, const p4r_progress *p, const p4r_rate *rate, int64_t now_ms)
{
	bool bytes = measures_bytes(p);
	uint64_t done = bytes ? p->bytes : p->items, total = bytes ? p->bytes_total : p->items_total;
	bool items = p->unit && !(p->has_bytes && p->items_total == 1);
	char a[32], b[32], itext[80] = "", btext[80] = "";
	double per_s;

	memset(o, 0, sizeof(*o));
	if (items) {
		p4r_progress_format_count(a, sizeof(a), p->items);
		p4r_progress_format_count(b, sizeof(b), p->items_total);
		if (p->items_total)
			snprintf(itext, sizeof(itext), "%s/%s %s", a, b, p->unit);
		else
			snprintf(itext, sizeof(itext), "%s %s", a, p->unit);
	}
	if (p->has_bytes) {
		p4r_format_size(a, sizeof(a), p->bytes);
		p4r_format_size(b, sizeof(b), p->bytes_total);
		if (!p->bytes_total)
			snprintf(btext, sizeof(btext), "%s", a);
		else
			snprintf(btext, sizeof(btext), items ? "%s/%s" : "%s / %s", a, b);
	}
	snprintf(o->counts, sizeof(o->counts), "%s%s%s", itext, *itext && *btext ? "  " : "", btext);
	if (total)
		snprintf(o->pct, sizeof(o->pct), "%u%%", (unsigned)(done >= total ? 100 : done * 100 / total));
	if (!rate || !p4r_rate_get(rate, now_ms, done, &per_s))
		return;
	if (bytes) {
		p4r_format_size(a, sizeof(a), (uint64_t)per_s);
		snprintf(o->rate, sizeof(o->rate), "%s/s", a);
	} else {
		p4r_progress_format_count(a, sizeof(a), (uint64_t)(per_s + 0.5));
		snprintf(o->rate, sizeof(o->rate), "%s %s/s", a, p->unit ? p->unit : "");
	}
	if (total && done < total && per_s > 0) {
		double s = (double)(total - done) / per_s;

		p4r_progress_format_eta(b, sizeof(b), s >= 1e9 ? 1000000000u : (uint64_t)(s + 0.999));
		snprintf(o->eta, sizeof(o->eta), "ETA %s", b);
	}
}

/* The parts joined by two spaces, the first DROP of ETA, rate and
 * percentage left out. */
static void join(char *buf, size_t size, const struct parts *o, int drop)
{
	const char *v[4] = { o->counts, drop < 3 ? o->pct : "", drop < 2 ? o->rate : "", drop < 1 ? o->eta : "" };
	size_t len = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < 4; i++) {
		if (!*v[i])
			continue;
		len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%s%s", len ? "  " : "", v[i]);
		if (len >= size)
			return;
	}
}

/* A label needs this many columns before the numbers give way to it. */
#define LABEL_MIN 12

size_t p4r_progress_line(char *buf, size_t size, const char *label, const p4r_progress *p,
			 const p4r_rate *rate, int64_t now_ms, int width)
{
	size_t avail = width > 1 ? (size_t)width - 1 : 0, lw = columns(label ? label : ""), sw, room, need;
	char stats[320], lab[512], line[1024];
	struct parts o;
	int drop;

	if (!label)
		label = "";
	make_parts(&o, p, rate, now_ms);
	need = lw < LABEL_MIN ? lw : LABEL_MIN;
	for (drop = 0; drop <= 3; drop++) {
		join(stats, sizeof(stats), &o, drop);
		sw = columns(stats);
		room = avail > sw + 2 ? avail - sw - 2 : 0;
		if (room >= need || drop == 3)
			break;
	}
	cut(lab, sizeof(lab), label, room > need ? room : need, true);
	snprintf(line, sizeof(line), "%s%s%s", lab, *lab && *stats ? "  " : "", stats);
	cut(buf, size, line, avail, false);
	return columns(buf);
}
