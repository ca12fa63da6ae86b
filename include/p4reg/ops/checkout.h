/* p4r_checkout: put versions' bytes in the work tree, verified (the
 * operation behind `p4reg checkout`, and the second half of `p4reg pull`).
 * Targets come from references (name@3), pointer files or Git LFS paths;
 * objects the store lacks are downloaded first, before any file changes;
 * then each file is written, its pointer and .gitignore line kept as add
 * leaves them, and what was written is staged in git (core.autostage). */
#ifndef P4REG_OPS_CHECKOUT_H
#define P4REG_OPS_CHECKOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p4reg/hash.h"
#include "p4reg/registry.h"
#include "p4reg/repo.h"
#include "p4reg/store.h"
#include "p4reg/ops/op.h"

typedef struct p4r_checkout_opts {
	char *const *args;      /* REFs or paths; NARGS 0: every pointer and
				 * every registered Git LFS path */
	size_t nargs;
	bool force;             /* overwrite bytes that are in no version */
	bool no_stage;          /* --no-stage (else config core.autostage) */
	const p4r_link_type *order; /* --link; NORDER 0: config core.cacheType */
	size_t norder;
	const char *remote;     /* where missing objects come from; NULL: core.remote */
	bool offline;           /* download nothing (config core.offline is read too) */
} p4r_checkout_opts;

typedef enum p4r_checkout_action {
	P4R_CHECKOUT_WRITTEN,   /* the file got the version's bytes */
	P4R_CHECKOUT_UNCHANGED, /* it had them already */
	P4R_CHECKOUT_SKIPPED,   /* a pointer left behind by a move: see moved_to */
} p4r_checkout_action;

/* One file of a checkout, in the order they were written. */
typedef struct p4r_checkout_row {
	char *path;             /* repository-relative; owned */
	char model[P4R_MODEL_NAME_MAX + 1]; /* "" with VERSION 0: a Git LFS path no
					     * version names (the index's pointer) */
	int64_t version;
	p4r_oid oid;
	p4r_checkout_action action;
	bool lfs;               /* a Git LFS path: no pointer file */
	char *moved_to;         /* SKIPPED: the model's path now; owned */
	bool dir;               /* a folder version: PATH is the folder, OID its manifest */
	int64_t files;          /* dir: the version's file count */
	size_t written, unchanged, removed; /* dir: what the folder's files got */
} p4r_checkout_row;

typedef struct p4r_checkout_result {
	p4r_checkout_row *rows; /* owned */
	size_t n, cap;
	size_t objects_received; /* downloaded before the files were written */
	uint64_t bytes_received;
	size_t objects_present;  /* asked for and already in the store */
	char **foreign;          /* a folder refused: its files in no version
				  * (repository-relative, sorted); owned */
	size_t nforeign;
} p4r_checkout_result;

/* Checks out OPTS->args (see p4r_checkout_opts). Every object is in the
 * store, verified, before the first file changes (a damaged one is
 * repaired from the remote and reported through REPORT->repaired, or the
 * operation fails with P4R_EINTEGRITY naming the version). A file whose
 * bytes are in no version is refused without OPTS->force. OUT (zeroed by
 * the caller) gets one row per file handled, also when a later file fails:
 * the rows say what changed. Pointers left behind by a move are skipped
 * (a row with moved_to). A folder version makes the folder exactly its
 * manifest (p4r_worktree_materialize_dir: the files OLD, the version its
 * pointer named, had and NEW lacks are removed; a file in no version
 * refuses the folder without OPTS->force, OUT->foreign listing them, nothing
 * of it changed) and writes the folder pointer and "/NAME/" line; its row
 * counts the files written, unchanged and removed. REPORT gets per-file progress and the hard-link
 * hazard warning. */
int p4r_checkout(p4r_repo *repo, const p4r_checkout_opts *opts, const p4r_op_report *report,
		 p4r_checkout_result *out);
void p4r_checkout_result_free(p4r_checkout_result *r);


#endif
