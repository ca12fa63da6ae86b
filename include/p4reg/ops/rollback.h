/* p4r_rollback: production goes back to the version it replaced, the work
 * tree file follows, the user's post-rollback hook runs (the operation
 * behind `p4reg rollback`). The registry's rule and transaction are
 * lifecycle.h's p4r_lifecycle_rollback; this operation conducts around it:
 * the target's bytes first, then the registry, the file, the hook and the
 * optional push. (The result type is p4r_rollback_outcome: lifecycle.h
 * already names the registry's result p4r_rollback_result.) */
#ifndef P4REG_OPS_ROLLBACK_H
#define P4REG_OPS_ROLLBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p4reg/lifecycle.h"
#include "p4reg/metrics.h"
#include "p4reg/ops/op.h"
#include "p4reg/remote.h"
#include "p4reg/repo.h"

typedef struct p4r_rollback_opts {
	const char *model;      /* a valid model name (the command checks it) */
	int64_t to;             /* --to N; 0: the version production replaced */
	bool force;             /* with TO: any version, even one rolled back */
	const char *reason;     /* -m; nullable */
	bool no_checkout;       /* the registry only: no file, no hook */
	bool push;              /* push the model's events afterwards */
	const char *remote;     /* -r NAME; NULL: core.remote */
	bool offline;           /* download nothing (config core.offline too) */
} p4r_rollback_opts;

typedef enum p4r_restore_action {
	P4R_RESTORE_SKIPPED,    /* --no-checkout */
	P4R_RESTORE_WRITTEN,
	P4R_RESTORE_UNCHANGED,  /* the file had the restored bytes */
} p4r_restore_action;

typedef struct p4r_rollback_outcome {
	bool recorded;          /* the rollback is in the registry and every field
				 * below is set: print it, even when the operation
				 * then failed (hook, push) */
	p4r_rollback_result registry; /* restored and rolled-back versions */
	char *path;             /* the model's work tree path; owned */
	p4r_restore_action restore;
	p4r_metric_table metrics; /* row 0: restored, row 1: rolled back */
	bool hook;              /* hooks.post-rollback is set and was run */
	int hook_status;        /* its exit status; -1: it could not start */
	char hook_error[256];   /* why it could not start */
	char remote[P4R_REMOTE_NAME_MAX + 1]; /* the remote to share with; "" none */
	bool pushed;            /* opts.push and the push went through */
	size_t events_pushed;
	bool push_failed;       /* the error returned is the push's */
} p4r_rollback_outcome;

/* Rolls OPTS->model back. Before anything changes: the model's path is
 * checked (an unsafe one from a remote is P4R_EINTEGRITY) and the target's
 * bytes are fetched (objects on demand). Then the registry transaction,
 * the file restored and its pointer staged (a failure to stage is a
 * warning through REPORT), and the trusted hook run with P4REG_MODEL,
 * P4REG_VERSION, P4REG_PATH and P4REG_ROLLED_BACK, a "hook" event
 * recording its status. A file that cannot be restored after the
 * transaction is an error saying how to finish by hand. With
 * OUT->recorded set the operation still returns an error when the push
 * failed (OUT->push_failed) or the hook failed or could not start. */
int p4r_rollback(p4r_repo *repo, const p4r_rollback_opts *opts, const p4r_op_report *report,
		 p4r_rollback_outcome *out);
void p4r_rollback_outcome_free(p4r_rollback_outcome *o);

#endif
