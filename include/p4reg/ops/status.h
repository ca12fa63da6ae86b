/* p4r_status, the operation of `p4reg status`: the state of every tracked
 * file (pointer files, then registered models at Git LFS paths). */
#ifndef P4REG_OPS_STATUS_H
#define P4REG_OPS_STATUS_H

#include <stdbool.h>
#include <stddef.h>

#include "p4reg/objguard.h"
#include "p4reg/ops/op.h"
#include "p4reg/registry.h"
#include "p4reg/repo.h"

/* Nothing to ask yet: status takes no arguments. */
typedef struct p4r_status_opts {
	int unused;
} p4r_status_opts;

/* One tracked file: a row of the command's output. */
typedef struct p4r_status_row {
	char *rel;                /* repository-relative path of the model file */
	const char *state;        /* p4r_file_state_name, or "damaged" (static) */
	char model[P4R_MODEL_NAME_MAX + 1]; /* what the pointer names ("" when */
	int64_t version;          /* the pointer could not be read: VERSION 0) */
	char *moved_to;           /* "moved": the model's path now; else NULL */
	bool lfs;                 /* a Git LFS path (no pointer file) */
	p4r_oid oid;              /* then: the object its Git LFS pointer names */
} p4r_status_row;

/* What `status` found. */
typedef struct p4r_status_result {
	p4r_status_row *rows;     /* pointers sorted by path, then Git LFS paths */
	size_t n, cap;
	size_t invalid;           /* pointers unreadable, malformed or disagreeing
				   * with the registry (exit 4 after the list) */
	p4r_guard_log damage;     /* damaged objects of the files listed */
	bool stuck;               /* a damaged object could not leave the store */
} p4r_status_result;

/* Judges every pointer file and every registered model at a Git LFS path.
 * A pointer or file that cannot be judged (a link, a FIFO, a version the
 * registry lacks) is a row and a warning, never the end of the listing.
 * Returns 0, or an error that stopped it: OUT then holds the rows before. */
int p4r_status(p4r_repo *repo, const p4r_status_opts *opts, const p4r_op_report *report,
	       p4r_status_result *out);

void p4r_status_result_free(p4r_status_result *r);

#endif
