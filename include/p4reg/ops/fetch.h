/* The fetch operation (p4reg fetch): skip a batch on request, apply the
 * remote's new event batches, then download objects (p4r_sync_* in
 * sync.h hold the protocol). */
#ifndef P4REG_OPS_FETCH_H
#define P4REG_OPS_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "p4reg/ops/op.h"
#include "p4reg/remote.h"
#include "p4reg/repo.h"
#include "p4reg/sync.h"

typedef struct p4r_fetch_opts {
	const char *remote;    /* the remote's name (NULL: core.remote, or the only one) */
	int64_t skip_batch;    /* > 0: skip this batch first (p4r_sync_skip_batch) */
	bool all_objects;      /* download the object of every version */
	char *const *refs;     /* else these versions' objects (name@3, name@stage, name) */
	size_t n_refs;
} p4r_fetch_opts;

typedef struct p4r_fetch_result {
	char remote[P4R_REMOTE_NAME_MAX + 1]; /* the remote fetched from */
	p4r_skip_result skip;  /* the batch skipped; skip.seq 0 when none */
	p4r_sync_result sync;  /* counts, renumbered versions, rewritten pointer files, moves */
} p4r_fetch_result;

/* Fetches from OPTS->remote. A skip that succeeded stays in OUT->skip
 * even when what follows fails. REPORT (nullable) gets the progress of
 * the downloads ("fetch"). A downloaded object that does not match its
 * oid and size is P4R_EINTEGRITY, and is not stored. OUT is filled even
 * on failure (free it with p4r_fetch_result_free). */
int p4r_fetch(p4r_repo *repo, const p4r_fetch_opts *opts, const p4r_op_report *report,
	      p4r_fetch_result *out);
void p4r_fetch_result_free(p4r_fetch_result *r);

#endif
