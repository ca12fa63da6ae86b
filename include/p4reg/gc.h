/* gc: deletes objects that no version references, and no Git LFS pointer
 * of the git work tree needs (gitscan.h: git's filter stores objects with
 * no version), and stale leftovers in tmp/. Safe beside a running `add`:
 * an object is written into the store
 * before the version row that names it, so an unreferenced object may be
 * one that is being added; gc therefore never touches an object or a tmp/
 * file changed (mtime or ctime) within the grace period, and it decides
 * and deletes under the registry's write lock, so no version can be
 * registered between the check and the unlink (docs/durability.md). It
 * opens every folder without following symbolic links and removes files
 * relative to their folder's descriptor: whatever was planted in .p4reg/,
 * nothing outside it is touched. */
#ifndef P4REG_GC_H
#define P4REG_GC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "p4reg/progress.h"
#include "p4reg/remote.h"
#include "p4reg/repo.h"

/* The default grace period: an hour, far longer than any add takes
 * between writing an object and registering it. */
#define P4R_GC_GRACE_DEFAULT_S 3600

typedef struct p4r_gc_opts {
	bool dry_run;       /* decide, report, delete nothing */
	int64_t grace_s;    /* keep anything changed within this many seconds; >= 0 */
	int64_t now_s;      /* 0: the current time (tests pass their own) */
	/* nullable: the objects looked at so far ("gc examining" of the store,
	 * "gc remote listing" of a remote: no total) and deleted ("gc deleting",
	 * "gc remote deleting": of the candidates); one call at a time */
	p4r_progress_count_fn count;
	void *payload;
} p4r_gc_opts;

/* DONE of TOTAL objects (0: unknown) of the step LABEL to OPTS->count. */
void p4r_gc_progress(const p4r_gc_opts *opts, const char *label, uint64_t done, uint64_t total);

/* One thing gc removed (or would remove). */
typedef struct p4r_gc_item {
	char *path;         /* repository-relative ("" when unknown); malloc'd */
	char oid[65];       /* "" for tmp/ files */
	uint64_t bytes;
} p4r_gc_item;

typedef struct p4r_gc_result {
	p4r_gc_item *items; /* objects first, then tmp/ files */
	size_t nitems;
	size_t cap;
	size_t objects;      /* unreferenced objects removed */
	uint64_t object_bytes;
	size_t tmp_files;    /* stale tmp/ files removed */
	uint64_t tmp_bytes;
	size_t kept_recent;  /* unreferenced objects or tmp/ files kept: too young */
	size_t referenced;   /* objects kept because a version or a Git LFS pointer needs them */
	size_t foreign;      /* tmp/ entries p4reg does not make: left alone (fsck lists them) */
	/* chunk lists removed (.p4reg/chunks: those of the objects removed,
	 * damaged ones, old ones of objects gone, stale temporary files); a
	 * cache, not printed */
	size_t chunk_lists;
	uint64_t chunk_list_bytes;
} p4r_gc_result;

/* Collects garbage in REPO per OPTS into OUT (zeroed on entry; free with
 * p4r_gc_result_clear even on failure). Never follows a symbolic link:
 * .p4reg/, objects/ and tmp/ that are links (or not folders) are refused
 * with P4R_EINTEGRITY before anything is deleted; links and other
 * strangers inside them are left alone. Deletes only files named by a
 * valid oid in their objects/ab/cd/ folder and, in tmp/, only the names
 * p4reg writes (p4r_gc_classify_tmp), never sync.lock. In chunks/ab/cd/
 * (local chunk lists, chunk.h) it removes the list of each object it
 * deletes and every damaged list at once, and the lists of objects the
 * store lacks and p4reg's temporary files there once older than the grace
 * period. */
int p4r_gc_run(p4r_repo *repo, const p4r_gc_opts *opts, p4r_gc_result *out);
void p4r_gc_result_clear(p4r_gc_result *r);

/* ---- gc -r NAME: unfinished uploads on a remote ---- */

typedef struct p4r_gc_remote_result {
	bool supported;              /* false: the remote keeps no uploads (a folder) */
	p4r_remote_upload *aborted;  /* aborted (in a dry run: to abort); malloc'd */
	size_t naborted;
	size_t kept_recent;          /* started within the grace period, or at a time
				      * the server did not say: kept */
	bool truncated;              /* the remote lists more than one run looks at */
} p4r_gc_remote_result;

/* Aborts the multipart uploads of objects that pushes left unfinished on
 * remote R (S3) and that started before the grace period (OPTS), into OUT
 * (zeroed on entry; free with p4r_gc_remote_result_clear even on
 * failure). An upload younger than the grace period, or of an unknown
 * age, is never aborted: another machine may be pushing it right now. A
 * remote without such uploads (a folder) is not an error. */
int p4r_gc_remote(p4r_remote *r, const p4r_gc_opts *opts, p4r_gc_remote_result *out);
void p4r_gc_remote_result_clear(p4r_gc_remote_result *r);

/* ---- gc -r NAME: objects no live version in the remote's log needs ---- */

typedef struct p4r_gc_remote_objects_result {
	bool supported;              /* false: the backend cannot list its objects */
	p4r_remote_object *removed;  /* removed (in a dry run: to remove); malloc'd */
	size_t nremoved, cap;
	uint64_t bytes;              /* their sizes, as the remote listed them */
	size_t needed;               /* listed objects a live version (or git's pointers) needs */
	size_t kept_recent;          /* needed by none, but written within the grace period
				      * or at a time the remote did not say: kept */
	size_t foreign;              /* entries under objects/ that are not p4reg's objects: left alone */
	int64_t batches;             /* the remote log's batches replayed */
	size_t live_versions;        /* versions the log leaves live (not deleted) */
	/* format 2: packs no remaining chunk list names (removed, or in a dry
	 * run to remove); REMOVED holds the chunk lists as objects (chunked) */
	p4r_remote_object *packs;    /* malloc'd, sorted by id */
	size_t npacks, cappacks;
	uint64_t pack_bytes;
	size_t packs_needed;         /* packs a remaining chunk list names */
	size_t packs_recent;         /* named by none, but within the grace period (a push may be running) */
} p4r_gc_remote_objects_result;

/* Removes from remote R every object that no live version in R's own log
 * needs (replayed as `p4reg get` replays it, deploy.h: a file version's
 * object; a folder version's manifest and every file it lists, from this
 * clone's checked rows or store, else R's copy, verified), that no Git LFS
 * pointer in REPO's git history needs (pre-push uploads those), and that R
 * dates before the grace period (OPTS; unknown: kept). Every model's
 * rollback target is a live version, so its objects stay. Only what the
 * backend lists as objects/ab/cd/<oid> or chunks/ab/cd/<oid> is a candidate,
 * and a pack (packs/ab/cd/<id>) once no chunk list left names it and it is
 * older than the grace period (a chunk list that cannot be read keeps
 * every pack: P4R_EINTEGRITY, nothing removed). Before removing,
 * the log is checked again: a batch published meanwhile makes gc decide
 * again against it (P4R_ERROR after LOG_ROUNDS moves, nothing removed). A
 * log that does not replay or a manifest that cannot be read is an error
 * with nothing removed. A dry run lists and removes nothing. OUT is zeroed
 * on entry; free it with p4r_gc_remote_objects_result_clear even on failure. A
 * backend without list_objects is not an error (OUT->supported false). */
int p4r_gc_remote_objects(p4r_repo *repo, p4r_remote *r, const p4r_gc_opts *opts,
			  p4r_gc_remote_objects_result *out);
void p4r_gc_remote_objects_result_clear(p4r_gc_remote_objects_result *o);

/* What a name in .p4reg/tmp/ is to gc (and to fsck, which reports the
 * foreign ones). */
typedef enum p4r_tmp_name {
	P4R_TMP_PARTIAL, /* ".object.XXXXXX" and the like: p4reg's unfinished writes */
	P4R_TMP_LOCK,    /* sync.lock: held by push and fetch; never deleted */
	P4R_TMP_FOREIGN, /* any other name: not p4reg's */
} p4r_tmp_name;

p4r_tmp_name p4r_gc_classify_tmp(const char *name);

/* Opens folder NAME below DIRFD (O_NOFOLLOW|O_DIRECTORY) into *OUT, -1 when
 * it does not exist. A symbolic link or a file in its place is
 * P4R_EINTEGRITY, with REL (its repository-relative name) in the message
 * and how to repair it. */
int p4r_gc_open_dir(int *out, int dirfd, const char *name, const char *rel);

#endif
