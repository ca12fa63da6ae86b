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
#include "p4reg/worktree_dir.h"

typedef struct p4r_rollback_opts {
	const char *model;      /* a valid model name (the command checks it) */
	int64_t to;             /* --to N; 0: the version production replaced */
	bool force;             /* with TO: any version, even one rolled back */
	const char *reason;     /* -m; nullable */
	bool no_checkout;       /* the registry only: no file, no hook */
	bool push;              /* push the model's events afterwards */
	const char *remote;     /* -r NAME; NULL: core.remote */
	bool offline;           /* download nothing (config core.offline too) */
	bool dry_run;           /* decide and plan as the real run would, change nothing */
} p4r_rollback_opts;

typedef enum p4r_restore_action {
	P4R_RESTORE_SKIPPED,    /* --no-checkout */
	P4R_RESTORE_WRITTEN,
	P4R_RESTORE_UNCHANGED,  /* the file had the restored bytes */
	P4R_RESTORE_BLOCKED,    /* a dry run: it would fail (BLOCKED says why) */
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
	/* A dry run past the decision (print it, even when the operation then
	 * failed: BLOCKED, a push): REGISTRY holds both versions as they are,
	 * RESTORE what the work tree would get (WRITTEN: it would change), HOOK
	 * whether the hook would run, REMOTE where a push would go. */
	bool dry_run;
	p4r_dir_plan preview;   /* the paths that would be written or removed (a file
				 * model: its path in write) */
	bool preview_unknown;   /* a folder whose manifest is not here: its files are
				 * known after the download */
	char blocked[512];      /* why the work tree would not be restored once the
				 * registry changed (the real run exits 1); "" none */
	size_t download;        /* objects the store lacks, downloaded first */
	uint64_t download_bytes;
	char download_remote[P4R_REMOTE_NAME_MAX + 1];
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
/* A refusal (P4R_EREFUSED) leaves OUT->registry.verdict set: its kind and
 * the rules checked. OPTS->dry_run makes the same decision
 * (p4r_lifecycle_rollback with dry_run) and plans the rest without
 * touching the work tree, the store, git, the registry or a remote, nor
 * taking the write lock: what p4r_ondemand_plan says would be downloaded
 * (offline or without a remote: the same error), what the work tree
 * would get (p4r_worktree_materialize_check, p4r_checkout_dir_plan; bytes
 * in no version set OUT->blocked and return the error the real run would
 * end with), whether the hook would run and where a push would go. */
int p4r_rollback(p4r_repo *repo, const p4r_rollback_opts *opts, const p4r_op_report *report,
		 p4r_rollback_outcome *out);
void p4r_rollback_outcome_free(p4r_rollback_outcome *o);

#endif
