/* What the operations of the core share (src/core/ops/, one file per
 * operation: p4r_add, p4r_checkout, p4r_pull, p4r_push, p4r_fetch,
 * p4r_rollback, ...). A command parses its arguments into the operation's
 * options struct, calls the operation once, and prints the result struct
 * it gets back (text or JSON). An operation never prints: what a person
 * should see while it runs goes through the p4r_op_report callbacks. */
#ifndef P4REG_OPS_OP_H
#define P4REG_OPS_OP_H

#include <stdint.h>

#include "p4reg/progress.h"

struct p4r_guard_event;

typedef struct p4r_op_report {
	/* Bytes DONE of TOTAL of the long step LABEL (a file's path, "pushing
	 * to 'origin'"). Called from one thread at a time; DONE == TOTAL ends
	 * the step. Nullable. */
	void (*progress)(const char *label, uint64_t done, uint64_t total, void *payload);
	/* A line a person should see even when the operation succeeds (a
	 * hazard, a skipped file). TEXT is raw: the command escapes it. */
	void (*warn)(const char *text, void *payload);
	/* A line of information (not shown with --quiet or --json). */
	void (*note)(const char *text, void *payload);
	/* A damaged object the object guard brought back from a remote. */
	void (*repaired)(const struct p4r_guard_event *ev, void *payload);
	void *payload;
	/* Items (files, objects) and bytes of a long step, both counts at
	 * once (p4reg/progress.h). Called from one thread at a time; the
	 * counts reaching their totals end the step. Nullable: without it the
	 * step's bytes (else its items) go to PROGRESS. */
	void (*count)(const p4r_progress *p, void *payload);
} p4r_op_report;

/* Calls R's callbacks when R and the callback are not NULL; the text ones
 * take a printf format. */
void p4r_op_progress(const p4r_op_report *r, const char *label, uint64_t done, uint64_t total);
/* P to R->count, else its bytes (or, when it counts none, its items) to
 * R->progress. */
void p4r_op_progress_count(const p4r_op_report *r, const p4r_progress *p);
/* DONE of TOTAL items named UNIT ("objects") of the step LABEL. */
void p4r_op_progress_items(const p4r_op_report *r, const char *label, const char *unit, uint64_t done,
			   uint64_t total);
void p4r_op_warn(const p4r_op_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void p4r_op_note(const p4r_op_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void p4r_op_repaired(const p4r_op_report *r, const struct p4r_guard_event *ev);

#endif
