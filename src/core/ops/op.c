/* The report callbacks every operation shares (see ops/op.h). */
#include <stdarg.h>
#include <stdio.h>

#include "p4reg/ops/op.h"

void p4r_op_progress(const p4r_op_report *r, const char *label, uint64_t done, uint64_t total)
{
	p4r_progress p = { .label = label, .has_bytes = true, .bytes = done, .bytes_total = total };

	if (r && r->progress)
		r->progress(label, done, total, r->payload);
	else if (r && r->count)
		r->count(&p, r->payload);
}

void p4r_op_progress_count(const p4r_op_report *r, const p4r_progress *p)
{
	if (r && r->count)
		r->count(p, r->payload);
	else if (r && r->progress && p->has_bytes)
		r->progress(p->label, p->bytes, p->bytes_total, r->payload);
	else if (r && r->progress)
		r->progress(p->label, p->items, p->items_total, r->payload);
}

void p4r_op_progress_items(const p4r_op_report *r, const char *label, const char *unit, uint64_t done,
			   uint64_t total)
{
	p4r_progress p = { .label = label, .unit = unit, .items = done, .items_total = total };

	p4r_op_progress_count(r, &p);
}

/* Formats and hands a line to FN; a line longer than the buffer is cut
 * (these are one-line messages). */
static void send_line(void (*fn)(const char *, void *), void *payload, const char *fmt, va_list ap)
{
	char line[2048];

	vsnprintf(line, sizeof(line), fmt, ap);
	fn(line, payload);
}

void p4r_op_warn(const p4r_op_report *r, const char *fmt, ...)
{
	va_list ap;

	if (!r || !r->warn)
		return;
	va_start(ap, fmt);
	send_line(r->warn, r->payload, fmt, ap);
	va_end(ap);
}

void p4r_op_note(const p4r_op_report *r, const char *fmt, ...)
{
	va_list ap;

	if (!r || !r->note)
		return;
	va_start(ap, fmt);
	send_line(r->note, r->payload, fmt, ap);
	va_end(ap);
}

void p4r_op_repaired(const p4r_op_report *r, const struct p4r_guard_event *ev)
{
	if (r && r->repaired)
		r->repaired(ev, r->payload);
}
