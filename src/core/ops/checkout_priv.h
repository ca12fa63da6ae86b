/* What checkout shares with pull and rollback inside the operations layer:
 * the list of files a checkout wrote for git's index, and the checkout
 * run with a choice of where its objects come from. */
#ifndef P4REG_OPS_CHECKOUT_PRIV_H
#define P4REG_OPS_CHECKOUT_PRIV_H

#include "p4reg/gitio.h"
#include "p4reg/ondemand.h"
#include "p4reg/ops/checkout.h"
#include "p4reg/remote.h"
#include "p4reg/sync.h"
#include "p4reg/worktree.h"
#include "p4reg/worktree_dir.h"

/* The pointer and .gitignore files a checkout wrote
 * (p4r_worktree_place_pointer), staged in git's index in one write at the
 * end rather than one per file. */
typedef struct p4r_written {
	char **v;               /* absolute paths; owned */
	size_t n, cap;
} p4r_written;

/* Takes P's paths (P is cleared, also on failure). */
int p4r_written_take(p4r_written *w, p4r_placed *p);
/* Stages W in GIT (NULL, outside git: nothing); a failure says that the
 * files are checked out but not staged. */
int p4r_written_stage(p4r_written *w, p4r_git *git);
void p4r_written_free(p4r_written *w);

/* A checkout as checkout and pull run it. */
typedef struct p4r_checkout_plan {
	const p4r_checkout_opts *opts; /* args, force, link order (remote, offline unused) */
	bool stage;             /* stage what is written in git */
	bool lfs_paths;         /* no argument: the registered Git LFS paths too */
	p4r_ondemand fetch;     /* how missing objects come, when REMOTE is NULL */
	p4r_remote *remote;     /* pull without arguments: every object from it,
				 * through the object guard */
	p4r_sync_result *got;   /* counts the downloads; not NULL */
} p4r_checkout_plan;

int p4r_checkout_run(p4r_repo *repo, const p4r_checkout_plan *plan, const p4r_op_report *report,
		     p4r_checkout_result *out);

/* Makes the folder REL hold the folder version V (V->kind P4R_KIND_DIR):
 * OLD is the manifest REL's pointer names now (when it is a folder pointer
 * the registry knows and the manifest is here), NEW is V's (p4r_manifest_load:
 * its object must be in the store). The folder is materialized with OPTS'
 * link order and force (p4r_worktree_materialize_dir: RES, also on a
 * refusal, lists the foreign files), then the pointer and "/NAME/" line are
 * placed (PLACED: for git's index; the caller clears it). REPORT hears the
 * bytes written under the label REL. */
int p4r_checkout_dir(p4r_repo *repo, const p4r_version *v, const char *rel,
		     const p4r_checkout_opts *opts, const p4r_op_report *report, p4r_dir_result *res,
		     p4r_placed *placed);

/* What p4r_checkout_dir would do to the folder REL for V, changing
 * nothing (a dry run: manifests peeked, p4r_worktree_plan_dir). V's
 * manifest neither in the registry nor in the store is P4R_ENOTFOUND
 * (it would be downloaded first); files in no version are the refusal the
 * checkout would meet, OUT filled. The caller clears OUT. */
int p4r_checkout_dir_plan(p4r_repo *repo, const p4r_version *v, const char *rel, bool force,
			  p4r_dir_plan *out);

/* Adapts REPORT's progress to a p4r_progress_fn for the step LABEL. */
typedef struct p4r_op_step {
	const p4r_op_report *report;
	const char *label;
} p4r_op_step;
void p4r_op_step_progress(uint64_t done, uint64_t total, void *payload);

#endif
