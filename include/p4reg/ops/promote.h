/* p4r_promote: move a version along the lifecycle, enforcing the step
 * rules and the metric gates (the operation behind `p4reg promote`; the
 * rules and the transaction are lifecycle.h's p4r_lifecycle_promote). */
#ifndef P4REG_OPS_PROMOTE_H
#define P4REG_OPS_PROMOTE_H

#include <stdbool.h>
#include <stddef.h>

#include "p4reg/lifecycle.h"
#include "p4reg/ops/op.h"
#include "p4reg/repo.h"

typedef struct p4r_promote_opts {
	const char *ref;        /* the version (name@3, a path with a pointer) */
	const char *to;         /* the stage's name as typed */
	const char *const *require; /* --require EXPR..., before the config's policy */
	size_t nrequire;
	const char *experiment; /* scopes the --require gates; nullable */
	bool force;             /* allow skips, backward moves, leaving archived */
	const char *reason;     /* -m; nullable */
	bool dry_run;           /* decide as the real run would, change nothing */
} p4r_promote_opts;

/* Checks everything typed (the stage, the gates) before the registry is
 * read, resolves OPTS->ref and promotes it in one transaction. A refusal
 * by a rule or a gate is P4R_EREFUSED with OUT->verdict (the kind, the
 * message, the rules checked) and OUT->conds set (the version and the
 * conditions to print); nothing changed. OPTS->dry_run: the same decision
 * (p4r_lifecycle_promote with dry_run), nothing written, 0 with OUT
 * saying what would happen or the same refusal. OUT is zeroed by the
 * caller, cleared with p4r_promotion_clear. REPORT is unused today (one
 * transaction, nothing long). */
int p4r_promote(p4r_repo *repo, const p4r_promote_opts *opts, const p4r_op_report *report,
		p4r_promotion *out);

#endif
