/* fsck: proves the repository whole. Re-hashes every object, checks that
 * every version's object is in the store or, when it was never downloaded,
 * on the remote (presence and size, nothing downloaded), that every pointer
 * in the work tree names a registered version with the same oid and size,
 * and that the registry passes SQLite's integrity check and p4reg's own
 * invariants. A corrupt object is moved to .p4reg/quarantine/ so that
 * nothing serves its bytes again. The checks only read, except for that
 * move. */
#ifndef P4REG_FSCK_H
#define P4REG_FSCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "p4reg/progress.h"
#include "p4reg/registry.h"
#include "p4reg/remote.h"
#include "p4reg/repo.h"
#include "p4reg/store.h"

/* One thing found wrong, or a note. Strings are malloc'd and owned by the report;
 * OBJECT, PATH and MODEL are NULL when they do not apply (at least one is
 * set, except for problems of the registry as a whole). */
typedef struct p4r_fsck_problem {
	const char *kind;   /* static: "corrupt-object", "missing-object", ...;
			     * notes: "not-downloaded", "not-checked", "not-on-remote" */
	char *object;       /* the oid concerned */
	char *path;         /* a repository-relative path (pointer file, stray file) */
	char *model;        /* the model concerned */
	char *message;      /* what is wrong, one line */
	char *fix;          /* what to do about it, one line */
} p4r_fsck_problem;

typedef struct p4r_fsck_report {
	p4r_fsck_problem *problems;
	size_t nproblems;
	size_t cap;
	/* what is fine but worth saying (an object only on the remote, one the
	 * remote lacks): never a reason to fail */
	p4r_fsck_problem *notes;
	size_t nnotes;
	size_t notes_cap;
	uint64_t objects_checked; /* objects re-hashed */
	uint64_t bytes_checked;
	uint64_t pointers_checked;
	uint64_t versions_checked;
	uint64_t quarantined;     /* objects moved to .p4reg/quarantine/ */
	uint64_t repaired;        /* objects fetched back from a remote */
	uint64_t remote_checked;  /* objects whose presence and size the remote answered */
	char *remote;             /* the remote asked (malloc'd); NULL when none was */
	char *remote_error;       /* why the remote could not be asked (malloc'd), else NULL */
} p4r_fsck_report;

typedef struct p4r_fsck_opts {
	bool repair;              /* fetch a good copy of bad/missing objects from a remote */
	bool check_remote;        /* ask the remote about every version's object, not
				   * only those missing here */
	bool offline;             /* never contact a remote: objects missing here are
				   * "not-checked" notes */
	p4r_remote *remote;       /* nullable, borrowed: the remote to ask; NULL: the
				   * default one, opened only when it is needed */
	p4r_progress_fn progress; /* nullable: bytes hashed so far of the total */
	void *payload;            /* of PROGRESS and COUNT */
	p4r_progress_count_fn count; /* nullable, before PROGRESS: objects and bytes
				   * hashed ("fsck"), bytes a repair downloads
				   * ("repair") */
} p4r_fsck_opts;

/* Runs every check on REPO and fills OUT (zeroed on entry). Returns 0 when
 * the checks ran, whatever they found (OUT->nproblems says; a remote that
 * could not be asked is OUT->remote_error, and the objects it was to vouch
 * for are "not-checked" notes); a negative code only when fsck itself could
 * not run (cannot read the store folder). An object in no store, local or
 * remote, is a "missing-object" problem; one the remote holds with another
 * size than its version records is "remote-corrupt". Without OPTS->offline
 * the remote is contacted only when an object is missing here, or for
 * OPTS->check_remote and OPTS->repair. A
 * registry too damaged to query, or one that cannot be opened at all (REPO
 * from p4r_repo_open_damaged without a registry), is reported as a problem
 * and every other check still runs: objects are re-hashed, pointers parsed.
 * Entries of .p4reg/tmp/ and .p4reg/chunks/ that p4reg does not make, and
 * a symbolic link in place of .p4reg/objects or .p4reg/tmp, are reported
 * as stray; a damaged chunk list is "bad-chunk-list" (one whose object is
 * gone is no finding: gc removes it).
 * Free OUT with p4r_fsck_report_clear. */
int p4r_fsck_run(p4r_repo *repo, const p4r_fsck_opts *opts, p4r_fsck_report *out);
void p4r_fsck_report_clear(p4r_fsck_report *r);

/* Moves the object file at PATH (named OID) into META/quarantine/, created
 * on demand, under its oid (or oid.N when that is taken). *DEST (nullable)
 * gets the new path, malloc'd. */
int p4r_fsck_quarantine(const char *meta, const char *path, const p4r_oid *oid, char **dest);

/* Starts an empty registry in place of one that cannot be opened (REPO was
 * opened with p4r_repo_open_damaged and has no registry): the old file,
 * with its -wal and -shm, is moved to .p4reg/quarantine/registry.db (or
 * registry.db.N), never deleted, and an empty registry is created. *MOVED
 * gets the quarantine path (malloc'd), NULL when there was no file.
 * P4R_EREFUSED when the registry opens: there is nothing to replace. */
int p4r_fsck_new_registry(p4r_repo *repo, char **moved);

/* ---- registry/fsck_sql.c: the SQL fsck and gc need ---- */

/* Calls FN for every problem SQLite's PRAGMA integrity_check and
 * foreign_key_check report ("ok" is not reported). */
int p4r_registry_fsck_integrity(p4r_registry *reg,
				void (*fn)(const char *message, void *payload), void *payload);

/* A broken invariant of the registry. */
typedef struct p4r_invariant_issue {
	const char *kind;                  /* static: "invariant" sub-kind for messages */
	char model[P4R_MODEL_NAME_MAX + 1];
	char message[512];
	char fix[256];
} p4r_invariant_issue;

/* Checks the registry's own rules: at most one production and one staging
 * version per model, version numbers 1..N without gaps, well-formed oids,
 * each version's stage equal to the stage its latest stage event moved it
 * to in the shared log's order (or archived, when another version entered
 * that staging/production stage later in the log: the replay of a fetch),
 * events about versions of their own model, the append-only triggers in
 * place, and what the triggers of schema 7 keep (each model's count of live
 * versions, the set of unpublished events) true and those triggers in
 * place. Calls FN for each issue. */
int p4r_registry_fsck_invariants(p4r_registry *reg,
				 void (*fn)(const p4r_invariant_issue *issue, void *payload),
				 void *payload);

/* Every distinct oid any version references (any model, any stage,
 * archived and rolled-back included), sorted; *OUT is malloc'd (free()).
 * *SIZES (nullable; malloc'd) gets each one's size in bytes. Rows whose oid
 * is malformed are skipped (the invariants report them). */
int p4r_registry_referenced_oids(p4r_registry *reg, p4r_oid **out, int64_t **sizes, size_t *n);

/* The versions that reference OID as "model@N" strings, for messages;
 * at most MAX of them, in a malloc'd array of malloc'd strings
 * (p4r_strv_free in worktree.h, or free each then the array). */
int p4r_registry_oid_users(p4r_registry *reg, const p4r_oid *oid, size_t max,
			   char ***out, size_t *n);

/* Starts and ends a read transaction: every query between sees one
 * snapshot. Writers are not blocked (WAL). */
int p4r_registry_read_begin(p4r_registry *reg);
void p4r_registry_read_end(p4r_registry *reg);

#endif
