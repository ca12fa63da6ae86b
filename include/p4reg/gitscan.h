/* Git LFS pointers in git's history, through libgit2: the ones a `git
 * push` sends (what p4reg's pre-push hook uploads) and the ones any local
 * ref or the index still needs (what gc must keep). Pointers are blobs of
 * at most P4R_LFS_POINTER_MAX bytes that decode as one (lfs.h), whatever
 * .gitattributes says, as git-lfs scans them. */
#ifndef P4REG_GITSCAN_H
#define P4REG_GITSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "p4reg/gitio.h"
#include "p4reg/hash.h"

/* One line git gives a pre-push hook on stdin (githooks(5)):
 * "<local ref> SP <local sha> SP <remote ref> SP <remote sha>". */
typedef struct p4r_git_push_update {
	char local_sha[41];  /* what the remote ref becomes; all zeros: a deletion */
	char remote_sha[41]; /* what the remote has now; all zeros: a new ref */
	bool deletion;
	bool new_ref;
} p4r_git_push_update;

/* Parses LINE (without its newline). P4R_EUSAGE "malformed pre-push line
 * '...'" unless it is four fields separated by single blanks whose second
 * and fourth are 40 lowercase hex digits. */
int p4r_git_push_line_parse(p4r_git_push_update *out, const char *line);

/* A Git LFS pointer found in git's history. */
typedef struct p4r_git_pointer {
	char *path;      /* where a commit has it, relative to the work tree root; malloc'd */
	p4r_oid oid;     /* the object it names */
	uint64_t size;
	size_t next;     /* how many extensions it lists (the object is their output) */
} p4r_git_pointer;

void p4r_git_pointer_array_free(p4r_git_pointer *v, size_t n);

/* The Git LFS pointers a push of U[0..N) sends, as git-lfs's pre-push
 * finds them: every commit reachable from a local sha, minus what the
 * remote has — each remote sha this repository knows and every
 * the refs under refs/remotes/REMOTE/ (REMOTE nullable: a URL has no such refs) — and in
 * each, the blobs it adds or changes against its parents (all of them for
 * a root commit). The walk costs what the remote lacks, not the whole
 * history. One entry per distinct pointer blob, in the order found; a
 * local sha this repository lacks is P4R_ERROR. */
int p4r_git_pushed_pointers(p4r_git *git, const char *remote, const p4r_git_push_update *u, size_t n,
			    p4r_git_pointer **out, size_t *nout);

/* The objects Git LFS pointers need in the git work tree holding DIR
 * (in no order, possibly repeated, malloc'd into *OUT): pointers in the index
 * and in every commit reachable from HEAD and every ref (branches, tags,
 * remote-tracking refs, the stash; not the reflog), each tree and blob
 * read once. Nothing (0, *N 0) outside git, or when the repository has no
 * Git LFS objects folder (so no filter ever stored anything for it). A
 * repository libgit2 cannot read that has one is P4R_ERROR: what it needs
 * cannot be told. */
int p4r_git_lfs_referenced(const char *dir, p4r_oid **out, size_t *n);

/* ---- the Git LFS history of HEAD (p4reg import git-lfs) ---- */

typedef struct p4r_git_lfs_change p4r_git_lfs_change;

/* Which commits p4r_git_lfs_history walks, and which paths it reads. */
typedef struct p4r_git_lfs_walk {
	const char *since;  /* a revision: only the commits after it (REV..HEAD);
			     * NULL: all of HEAD's history */
	bool all_parents;   /* follow every parent of a merge (the commits of
			     * merged branches too); else first parents only */
	/* PATH (relative to the work tree root) is of interest; NULL: every path */
	bool (*want)(const char *path, void *payload);
	void *payload;
	/* every blob WANT accepts, not only Git LFS pointers, for a caller
	 * that reads its own format (a .dvc file): each change is handed to
	 * EACH as it is found (INDEX: its place in the result) with BLOB and
	 * BLOB_LEN set for that call only; one larger than RAW_MAX has REFUSED
	 * set and no blob. A failure of EACH stops the walk with its code. */
	bool raw;
	size_t raw_max;
	int (*each)(const p4r_git_lfs_change *c, size_t index, void *payload);
} p4r_git_lfs_walk;

/* One commit that set the Git LFS pointer of a path. */
struct p4r_git_lfs_change {
	char *path;          /* relative to the work tree root; malloc'd */
	char commit[41];     /* the commit */
	char *author;        /* its author, "Name <email>"; malloc'd */
	int64_t time_ms;     /* its author date (git log's date), ms since the epoch */
	char *subject;       /* its summary line (libgit2's); malloc'd, "" when none */
	bool pointer;        /* the blob is a pointer: OID and SIZE hold it */
	p4r_oid oid;
	uint64_t size;
	char *refused;       /* not a pointer: why (one line, malloc'd) a blob that
			      * starts as one is refused; NULL for a pointer */
	const char *blob;    /* W->raw, during W->each only: the blob's bytes */
	size_t blob_len;
};

/* The commit REV (any revision libgit2 resolves) names, as hex into OUT;
 * P4R_EUSAGE "--stage ...: 'REV' names no commit ..." when none. */
int p4r_git_commit_of(p4r_git *git, const char *rev, char out[41]);

void p4r_git_lfs_change_array_free(p4r_git_lfs_change *v, size_t n);

/* The commits of HEAD's history, oldest first (topological order), that
 * add or change the blob at a path W->want accepts (with W->raw: any
 * blob, handed to W->each) to a Git LFS pointer:
 * a blob of at most P4R_LFS_POINTER_MAX bytes that decodes as one and is
 * not empty (lfs.h). A commit is compared with its first parent (a root
 * commit with nothing); with W->all_parents every commit is walked and a
 * merge brings only what none of its other parents had at that path. A
 * blob that starts with a Git LFS "version" line but does not decode (a
 * malformed line, an oid that is not hex, an absurd size) or lists an
 * extension is a change with POINTER false and REFUSED saying why. One
 * change per commit and path, into *OUT (malloc'd; *N of them). An unborn
 * HEAD is no change; W->since that names no commit is P4R_ENOTFOUND. */
int p4r_git_lfs_history(p4r_git *git, const p4r_git_lfs_walk *w, p4r_git_lfs_change **out, size_t *n);

#endif
