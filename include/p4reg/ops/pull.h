/* p4r_pull: fetch the remote's registry events, download the objects the
 * named versions (else every pointer of the work tree) need, and check
 * them out, verified (the operation behind `p4reg pull`). */
#ifndef P4REG_OPS_PULL_H
#define P4REG_OPS_PULL_H

#include <stdbool.h>
#include <stddef.h>

#include "p4reg/ops/checkout.h"
#include "p4reg/ops/op.h"
#include "p4reg/remote.h"
#include "p4reg/repo.h"
#include "p4reg/sync.h"

typedef struct p4r_pull_opts {
	const char *remote;     /* -r NAME; NULL: core.remote, or the only one */
	char *const *args;      /* REFs or paths, checked out as p4r_checkout would;
				 * NARGS 0: every pointer of the work tree */
	size_t nargs;
	bool force;             /* overwrite files whose bytes are in no version */
	bool no_stage;          /* --no-stage (else config core.autostage) */
} p4r_pull_opts;

typedef struct p4r_pull_result {
	p4r_remote *remote;     /* the remote pulled from; owned; NULL when it
				 * could not be opened */
	bool fetched;           /* the events are fetched and applied: the
				 * checkout ran (the rows and moves say what
				 * changed, also when it failed) */
	p4r_sync_result sync;   /* events applied, moves, renumbering, and the
				 * objects downloaded for the checkout */
	p4r_checkout_result checkout; /* one row per file */
} p4r_pull_result;

/* Fetches and applies the remote's events (a batch that cannot apply stops
 * here, nothing checked out), then checks out: every object is downloaded
 * and verified before the first file changes; a corrupt remote object is
 * P4R_EINTEGRITY with the work tree untouched. OUT (zeroed by the caller)
 * keeps what was done also on failure (the moves fetched, the files
 * written). */
int p4r_pull(p4r_repo *repo, const p4r_pull_opts *opts, const p4r_op_report *report,
	     p4r_pull_result *out);
void p4r_pull_result_free(p4r_pull_result *r);

#endif
