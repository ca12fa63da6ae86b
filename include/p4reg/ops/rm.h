/* p4r_rm, the operation of `p4reg rm`: delete a version (deletion.h). Its
 * number is never reused, a "delete" event records who and why, and its
 * object becomes garbage for gc unless a live version uses it. A core
 * operation a retention policy can call in a loop. */
#ifndef P4REG_OPS_RM_H
#define P4REG_OPS_RM_H

#include <stdbool.h>
#include <stddef.h>

#include "p4reg/alias.h"
#include "p4reg/ops/op.h"
#include "p4reg/registry.h"
#include "p4reg/repo.h"

typedef struct p4r_rm_opts {
	const char *ref;        /* the version: name@3, name@champion, a pointer's path;
				 * a bare model name is its latest version */
	bool force;             /* delete what the rules below would keep */
	const char *reason;     /* -m; nullable */
	bool dry_run;           /* decide and report, change nothing */
} p4r_rm_opts;

typedef struct p4r_rm_result {
	p4r_version version;    /* the version, as it was before */
	bool deleted;           /* false in a dry run */
	bool forced;            /* a rule said no and OPTS->force overrode it */
	char refusal[512];      /* what keeps it without --force ("" when nothing):
				 * its stage, its aliases, being rollback's target */
	p4r_alias_entry *aliases;     /* the aliases it held (gone with it) */
	size_t naliases;
	bool rollback_target;   /* `rollback` would return to it */
	bool object_kept;       /* a live version still uses its object: gc keeps it */
	char *checked_out;      /* the work-tree path whose pointer names it (the file
				 * and pointer stay), or NULL */
} p4r_rm_result;

/* Resolves OPTS->ref and, in one transaction, refuses (P4R_EREFUSED "cannot
 * delete 'm@3': it is in production; --force deletes it anyway", OUT filled,
 * nothing changed) a version in validation, staging or production, one an
 * alias names, or the one rollback would return to, unless OPTS->force;
 * else deletes it (p4r_registry_version_delete). A dry run does the same and
 * rolls the transaction back, so OUT says exactly what would happen (it
 * needs a writable registry). A deleted version checked out in the work tree
 * is a note (REPORT) and OUT->checked_out. */
int p4r_rm(p4r_repo *repo, const p4r_rm_opts *opts, const p4r_op_report *report, p4r_rm_result *out);

/* The one rule of what keeps a version, shared by p4r_rm and gc's
 * retention (ops/gc.h): inside the caller's write transaction, reads
 * OUT->version again by its model and number (as it is under the lock;
 * P4R_ENOTFOUND when it is gone or deleted) and fills OUT->refusal ("" when
 * nothing keeps it), OUT->aliases and OUT->rollback_target. Deletes nothing. */
int p4r_rm_rules(p4r_registry *reg, p4r_rm_result *out);

/* p4r_rm_rules with the model's rollback target already known
 * (ROLLBACK_TARGET: its number, 0 for none; p4r_lifecycle_rollback_target):
 * for a caller that decides many versions of one model in one transaction
 * and asks once. Deleting a version that is not the target never changes
 * the target. */
int p4r_rm_rules_known(p4r_registry *reg, int64_t rollback_target, p4r_rm_result *out);

void p4r_rm_result_free(p4r_rm_result *r);

#endif
