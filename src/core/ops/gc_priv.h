/* What ops/gc.c asks of ops/gc_retention.c: the retention half of p4r_gc. */
#ifndef P4REG_OPS_GC_PRIV_H
#define P4REG_OPS_GC_PRIV_H

#include "p4reg/ops/gc.h"

/* Retention per OPTS (keep_last >= 1) into OUT (zeroed first), inside the
 * caller's write transaction: the versions decided, deleted, and the
 * objects that no live version needs afterwards (see p4r_gc). */
int p4r_gc_retain(p4r_repo *repo, const p4r_gc_op_opts *opts, const p4r_op_report *report,
		  p4r_retention_result *out);
void p4r_retention_result_clear(p4r_retention_result *r);

#endif
