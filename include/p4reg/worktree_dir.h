/* Making a work-tree folder exactly one version of a directory model
 * (docs/formats.md, "Folder models"; issue 14): plan first from what is
 * there, refuse before writing anything when a file would be lost, then
 * write each file beside its name and rename it over, remove what the old
 * version had and the new one lacks, and prune the folders that left
 * empty. A rerun after a crash finishes the job. */
#ifndef P4REG_WORKTREE_DIR_H
#define P4REG_WORKTREE_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "p4reg/manifest.h"
#include "p4reg/repo.h"
#include "p4reg/store.h"

/* What p4r_worktree_materialize_dir did (or, refused, would have met). */
typedef struct p4r_dir_result {
	size_t written;         /* files put in place (new, changed, or exec bit fixed) */
	size_t unchanged;       /* files that already were NEW's, left unread when cached */
	size_t removed;         /* known files NEW lacks, removed */
	uint64_t bytes_written; /* the sizes of the files written */
	char **foreign;         /* repository-relative paths of the files in no version
				 * (OLD's or NEW's bytes for their path), sorted; owned */
	size_t nforeign;
} p4r_dir_result;

void p4r_dir_result_clear(p4r_dir_result *r);

/* Makes the folder REL (repository-relative) hold exactly NEW's files,
 * given OLD (nullable), the manifest the folder held before.
 *
 * REL and every folder in it are opened below the repository root at the
 * moment of use, never through a symbolic link (one on the way or inside
 * is P4R_EUSAGE naming it, nothing written); missing folders are made
 * 0755. The plan comes first: a file present is known when its bytes (the
 * stat cache, else a hash) are OLD's or NEW's entry for its path. NEW's
 * files that are missing, differ, or lack/have the wrong exec bit are
 * written; known files NEW lacks are removed. Any other file (in no
 * manifest, or with bytes NEW would overwrite that are in neither) refuses
 * the whole call unless FORCE: P4R_ERROR naming the first and how many,
 * nothing changed, OUT->foreign lists them all. With FORCE they are
 * overwritten or removed.
 *
 * Each file goes through the object guard (damaged: P4R_EINTEGRITY naming
 * the version, nothing of it written) and the store's checkout into a
 * temporary file beside it, renamed over it: after a crash every file is
 * the old one or the new one (a leftover ".NAME.p4reg-tmp.XXXXXX" is
 * removed by the rerun). ORDER/NORDER are the link methods (NORDER 0: the
 * configured core.cacheType). Copies and reflinks get 0755 or 0644 from
 * the entry; a hard link is the object itself and keeps its 0444, so an
 * executable entry is never hard-linked (the next method, else a copy).
 * Folders left empty by removals are removed (never REL); every folder
 * changed is fsynced. PROGRESS (nullable) hears bytes written of the total
 * to write. OUT is filled on success and on refusal; the caller clears it. */
int p4r_worktree_materialize_dir(p4r_repo *repo, const char *rel, const p4r_manifest *old_m,
				 const p4r_manifest *new_m, const p4r_link_type *order, size_t norder,
				 bool force, p4r_dir_result *out, p4r_progress_fn progress,
				 void *payload);

/* What p4r_worktree_materialize_dir would do, changing nothing (a dry
 * run): the same plan, but the stat cache and the object guard are read,
 * never written. */
typedef struct p4r_dir_plan {
	char **write;           /* repository-relative paths it would write, sorted; owned */
	size_t nwrite;
	char **remove;          /* known files NEW lacks, it would remove, sorted; owned */
	size_t nremove;
	size_t unchanged;       /* files that already are NEW's */
	uint64_t bytes;         /* the sizes of the files it would write */
	char **foreign;         /* files in no version, sorted; owned */
	size_t nforeign;
} p4r_dir_plan;

void p4r_dir_plan_clear(p4r_dir_plan *p);

/* Plans REL as p4r_worktree_materialize_dir (same arguments) would, into
 * OUT; files in no version are its refusal (P4R_ERROR, the same message)
 * unless FORCE, with OUT filled. The caller clears OUT. */
int p4r_worktree_plan_dir(p4r_repo *repo, const char *rel, const p4r_manifest *old_m,
			  const p4r_manifest *new_m, bool force, p4r_dir_plan *out);

#endif
