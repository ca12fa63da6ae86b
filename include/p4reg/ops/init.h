/* p4r_init, the operation of `p4reg init`: a new .p4reg/ at the root of
 * the git work tree (or here), its shared files staged in git. */
#ifndef P4REG_OPS_INIT_H
#define P4REG_OPS_INIT_H

#include <stdbool.h>

#include "p4reg/ops/op.h"
#include "p4reg/repo.h"

typedef struct p4r_init_opts {
	const char *dir;   /* where init runs: the current folder, "." */
	bool here;         /* --here: in DIR even inside a git work tree */
} p4r_init_opts;

typedef struct p4r_init_result {
	char *root;        /* the repository's root (absolute, malloc'd) */
} p4r_init_result;

/* Creates the repository (p4r_repo_init) in OPTS->dir, or at the root of
 * the git work tree containing it unless OPTS->here; inside git, its
 * shared files (.p4reg/config and .p4reg/.gitignore) are staged at once,
 * as `dvc init` does, so the first commit makes it usable by every clone.
 * REPO is unused (NULL: there is none yet). */
int p4r_init(p4r_repo *repo, const p4r_init_opts *opts, const p4r_op_report *report, p4r_init_result *out);

void p4r_init_result_free(p4r_init_result *r);

#endif
