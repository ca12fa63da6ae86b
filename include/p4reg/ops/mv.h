/* p4r_mv, the operation of `p4reg mv`: a model's file, pointer, .gitignore
 * line and binding move to a new path, staged in git. */
#ifndef P4REG_OPS_MV_H
#define P4REG_OPS_MV_H

#include <stdbool.h>

#include "p4reg/ops/op.h"
#include "p4reg/repo.h"
#include "p4reg/worktree.h"

typedef struct p4r_mv_opts {
	const char *from;  /* OLD, as the user typed it (relative to the
			    * current folder) */
	const char *to;    /* NEW, likewise; its folders may not exist yet */
	bool no_stage;     /* --no-stage */
} p4r_mv_opts;

typedef struct p4r_mv_result {
	char *from, *to;        /* repository-relative (malloc'd) */
	p4r_move_result move;   /* what p4r_worktree_move did */
	bool staged;            /* the change is in git's index */
} p4r_mv_result;

/* Moves the model bound to OPTS->from to OPTS->to (p4r_worktree_move: every
 * refusal comes before any change; run again, it finishes an interrupted
 * move). A pointer file named as either path is P4R_EUSAGE, and so is a
 * Git LFS path (git keeps its pointer: 'git mv', then 'p4reg add -n').
 * Then stages the change unless OPTS->no_stage or core.autostage is false;
 * a failure there leaves the move done, and the error says so. Notes: a
 * file not in the work tree (only the binding and pointer moved), and no
 * git work tree to stage in. */
int p4r_mv(p4r_repo *repo, const p4r_mv_opts *opts, const p4r_op_report *report, p4r_mv_result *out);

void p4r_mv_result_free(p4r_mv_result *r);

#endif
