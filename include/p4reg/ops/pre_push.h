/* The pre-push operation (p4reg pre-push, run by the pre-push hook `p4reg
 * track` installs where p4reg is git's Git LFS filter): upload the
 * objects of the Git LFS pointers a git push sends, each to the default
 * remote of the p4reg repository that holds its path -- or fail, so that
 * git pushes no pointer whose bytes no remote has. */
#ifndef P4REG_OPS_PRE_PUSH_H
#define P4REG_OPS_PRE_PUSH_H

#include <stddef.h>
#include <stdint.h>

#include "p4reg/gitscan.h"
#include "p4reg/ops/op.h"
#include "p4reg/remote.h"
#include "p4reg/repo.h"

typedef struct p4r_pre_push_opts {
	const char *git_remote;    /* the git remote pushed to (the hook's REMOTE) */
	const char *dir;           /* where git runs the hook: the work tree's root, "." */
	const p4r_git_push_update *updates; /* git's lines (p4r_git_push_line_parse) */
	size_t nupdates;
} p4r_pre_push_opts;

/* What one p4reg repository uploaded. */
typedef struct p4r_pre_push_upload {
	char *repository;          /* its root; owned */
	char remote[P4R_REMOTE_NAME_MAX + 1]; /* its default remote */
	size_t objects;            /* the objects the push needs there */
	size_t uploaded, present;  /* sent, and already on the remote */
	uint64_t bytes;            /* bytes sent */
} p4r_pre_push_upload;

typedef struct p4r_pre_push_result {
	size_t pointers;           /* Git LFS pointers in the pushed commits */
	p4r_pre_push_upload *uploads; /* one per repository, in the order of
				       * the first pointer each holds */
	size_t n;
} p4r_pre_push_result;

/* Finds the Git LFS pointers the push of OPTS->updates to
 * OPTS->git_remote sends (p4r_git_pushed_pointers), groups them by the
 * p4reg repository that holds their path (p4r_lfs_repo_for_path) and
 * makes each repository's default remote hold their objects: an object
 * only in .git/lfs/objects is stored first, one that is nowhere but on
 * the remote is fine. Each failure names what to run, and 'git push
 * --no-verify': a path no repository holds, a repository without a
 * remote or offline (core.offline), an object that is nowhere
 * (P4R_ENOTFOUND), a pointer whose size its object contradicts
 * (P4R_EINTEGRITY). REPORT gets the progress ("pre-push") and a note per
 * repository uploaded. OUT keeps the uploads done, also on failure; free
 * it with p4r_pre_push_result_free. REPO is unused (NULL). */
int p4r_pre_push(p4r_repo *repo, const p4r_pre_push_opts *opts, const p4r_op_report *report,
		 p4r_pre_push_result *out);
void p4r_pre_push_result_free(p4r_pre_push_result *r);

#endif
