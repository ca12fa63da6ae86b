/* The push operation (p4reg push): fetch and rebase, objects up through
 * the object guard, then the registry's events as batches appended to the
 * remote's log (p4r_sync_push in sync.h holds the protocol). */
#ifndef P4REG_OPS_PUSH_H
#define P4REG_OPS_PUSH_H

#include "p4reg/ops/op.h"
#include "p4reg/remote.h"
#include "p4reg/repo.h"
#include "p4reg/sync.h"

/* The options are sync.h's p4r_push_opts: OPTS->remote names the remote;
 * OPTS->on_damage, when NULL, is REPORT's repaired callback. */

typedef struct p4r_push_result {
	char remote[P4R_REMOTE_NAME_MAX + 1]; /* the remote pushed to */
	p4r_sync_result sync;  /* counts, renumbered versions, pointer files
				* rewritten, moves, versions published without
				* their object (--allow-missing) */
} p4r_push_result;

/* Pushes to OPTS->remote. Every model of OPTS->models must exist
 * (P4R_ENOTFOUND, nothing pushed). REPORT (nullable) gets the progress
 * ("push"), a note when an S3 upload resumes ("resuming upload of m@1: 3
 * of 8 parts already on the remote"), a warning for each version
 * published without its object, and the object guard's repairs. OUT is
 * filled even on failure (free it with p4r_push_result_free). */
int p4r_push(p4r_repo *repo, const p4r_push_opts *opts, const p4r_op_report *report,
	     p4r_push_result *out);
void p4r_push_result_free(p4r_push_result *r);

#endif
