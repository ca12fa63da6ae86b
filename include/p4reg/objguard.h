/* The object guard: a stored object is trusted only while it looks as it
 * did when p4reg last knew its bytes. Each object's stat fingerprint (dev,
 * inode, size, mtime, ctime) is recorded when p4reg stores it and again
 * after p4reg's own operations that move its ctime (link(2), chmod). A
 * command that links or trusts an object first compares its fingerprint:
 * equal, the object is trusted without a read (one stat, one indexed
 * SELECT); different or unknown, it is re-hashed. Bytes that no longer
 * match their oid (a hard-linked work file written in place, a process
 * that kept it open, root ignoring 0444) are moved to .p4reg/quarantine/,
 * the object is marked damaged in the registry, and it comes back only
 * from a remote or from the original file (docs/durability.md).
 *
 * Without a registry (a deploy cache, git's filter) nothing is checked:
 * those callers verify while they copy, as before. */
#ifndef P4REG_OBJGUARD_H
#define P4REG_OBJGUARD_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include "p4reg/registry.h"
#include "p4reg/remote.h"
#include "p4reg/repo.h"
#include "p4reg/sync.h"

/* Room for ".p4reg/quarantine/<oid>.NNN". */
#define P4R_QUARANTINE_MAX 128

/* One object found with bytes that are not its oid's. */
typedef struct p4r_guard_event {
	p4r_oid oid;                /* the object */
	p4r_oid got;                /* what its bytes hashed to */
	int64_t size;               /* the size its versions record (0: none) */
	char first[P4R_MODEL_NAME_MAX + 24]; /* the first version naming it, "m@1"; "" when none */
	char versions[256];         /* all of them (five, then ", ..."): "m@1, m@3" */
	char quarantine[P4R_QUARANTINE_MAX]; /* where the bad bytes went, ".p4reg/quarantine/<oid>";
				     * "" when another process moved them */
	char work[PATH_MAX];        /* the work file that wrote into it through a hard link; "" unknown */
	char repaired[192];         /* how it came back ("remote 'origin'"); "" while damaged */
	char why[512];              /* still damaged: why no remote repaired it ("" unknown) */
	bool earlier;               /* found by an earlier command (a registry mark), not now */
} p4r_guard_event;

/* Told about each damaged object a command meets, once it is known whether
 * it was repaired (EV->repaired). */
typedef void (*p4r_guard_fn)(const p4r_guard_event *ev, void *payload);

/* The damaged objects one command met. */
typedef struct p4r_guard_log {
	p4r_guard_event *v;
	size_t n, cap;
} p4r_guard_log;

void p4r_guard_log_clear(p4r_guard_log *log);
/* Appends a copy of EV unless LOG already has its object. */
int p4r_guard_log_push(p4r_guard_log *log, const p4r_guard_event *ev);

/* Checks OID's object before it is linked or trusted. 0 with *DAMAGED
 * false: the object is trusted, or absent (the caller's own concern); a
 * re-hash that found it whole records its fingerprint. 0 with *DAMAGED
 * true: its bytes were wrong; they are in quarantine, the object is marked
 * damaged and EV (nullable) says what happened. A negative code when the
 * check could not run, or when the bad bytes could not be moved out of the
 * store (P4R_EINTEGRITY). Without a registry: trusted, nothing read. */
int p4r_objguard_check(p4r_repo *repo, const p4r_oid *oid, p4r_guard_event *ev, bool *damaged);

/* p4r_objguard_check before OID is linked or copied into the work tree:
 * 0 when it is trusted (*VERIFIED, nullable, gets the stat it was trusted
 * with; st_ino 0 when there is none), P4R_EINTEGRITY naming the damaged
 * versions when it is damaged now or was found damaged before and is not
 * back. An absent object is 0 (the store's own error follows). */
int p4r_objguard_require(p4r_repo *repo, const p4r_oid *oid, struct stat *verified);

/* Records the fingerprint OID's object has now, after p4reg's own work on
 * it: only when it is still the file EXPECT (nullable) describes (same
 * device, inode, size and mtime: a ctime moved by link(2) or chmod is
 * ours), else nothing is recorded and the next use re-hashes it. A
 * fingerprint already recorded is not written again. */
int p4r_objguard_record(p4r_repo *repo, const p4r_oid *oid, const struct stat *expect);

/* The objects of OIDS that a command is about to need: each present one
 * is checked (damaged ones go to quarantine, so a fetch that follows
 * downloads them again); each absent one that an earlier command found
 * damaged is logged too. LOG gets them all. */
int p4r_objguard_scan(p4r_repo *repo, const p4r_oid *oids, size_t n, p4r_guard_log *log);

/* After a fetch that tried to bring LOG's objects back from REMOTE (NULL:
 * none was asked; WHY says why, or the fetch's error): those in the store
 * again are marked repaired, the others get WHY; FN (nullable) hears about
 * each. 0 when all came back, else P4R_EINTEGRITY naming the first that
 * did not (p4r_objguard_fail). */
int p4r_objguard_settle(p4r_repo *repo, p4r_guard_log *log, const char *remote, const char *why,
			p4r_guard_fn fn, void *payload);

/* Records the fingerprints of the N objects of OIDS that a verified
 * download just placed (the download hashed them; no second read). */
int p4r_objguard_downloaded(p4r_repo *repo, const p4r_oid *oids, size_t n);

/* p4r_sync_fetch_objects behind the guard: scan, fetch from REMOTE what is
 * missing (damaged objects included), record and settle. */
int p4r_objguard_fetch(p4r_repo *repo, p4r_remote *remote, const p4r_oid *oids,
		       const int64_t *sizes, size_t n, const p4r_sync_progress *prog,
		       p4r_sync_result *res, p4r_guard_fn fn, void *payload);

/* The work file REL (stat ST) when it shares its inode with a stored
 * object whose fingerprint moved: that object is checked, and when its
 * bytes are wrong the file was written in place through a hard link; EV
 * names the destroyed versions and REL. *DAMAGED says so. */
int p4r_objguard_linked(p4r_repo *repo, const char *rel, const struct stat *st,
			p4r_guard_event *ev, bool *damaged);

/* What `add` hands the guard for one file it stored. */
typedef struct p4r_guard_added {
	int dir;                     /* the file's folder */
	const char *base;            /* its name there */
	const char *rel;             /* its repository path */
	const p4r_link_type *order;  /* how to store it again */
	size_t norder;
	p4r_insert_result *ins;      /* what the store did; updated when re-stored */
	bool in_folder;              /* a file of a folder model: no pointer of its own */
} p4r_guard_added;

/* After `add` stored a file: when the file was a hard link to an object
 * it wrote into, that object is quarantined and fetched again from the
 * default remote (unless core.offline); when the store answered "already
 * there", that object is checked and, damaged, stored again from the file
 * (whose bytes were just hashed); when the version the file's pointer
 * names was found destroyed by an earlier command (status saw the write
 * first), that one is reported and tried again too: the add moves the file
 * off it, so this is said once. LOG gets every damaged object with what
 * became of it; FN (nullable) hears about each. A negative code only when
 * the file could not be stored. */
int p4r_objguard_added(p4r_repo *repo, const p4r_guard_added *a, p4r_guard_log *log,
		       p4r_guard_fn fn, void *payload);

/* One line for EV, without a final period: what happened and, when it is
 * back, from where. */
void p4r_objguard_describe(char *buf, size_t bufsz, const p4r_guard_event *ev);

/* P4R_EINTEGRITY for EV not repaired: the description, WHY (nullable) no
 * remote could repair it, and the way back. */
int p4r_objguard_fail(const p4r_guard_event *ev, const char *why);

/* True when ORDER (N entries) links work files to objects by hard link
 * and this process runs as root, whom the read-only bit does not stop. */
bool p4r_objguard_hardlink_hazard(const p4r_link_type *order, size_t n);

/* Warns through REPORT, once per process, when ORDER (the configured one
 * when N is 0) hard-links while running as root: a write to a checked-out
 * file would change the stored version. Used by add, checkout, pull and
 * rollback. */
struct p4r_op_report;
void p4r_objguard_warn_link_hazard(p4r_repo *repo, const p4r_link_type *order, size_t n,
				   const struct p4r_op_report *report);

/* ---- registry/objguard_sql.c: the SQL ---- */

typedef struct p4r_damage p4r_damage;

/* The fingerprint recorded for OID; *FOUND false when there is none. */
int p4r_registry_objstat_get(p4r_registry *reg, const p4r_oid *oid, p4r_stat_key *out, bool *found);
/* Records KEY for OID (nothing in a read-only registry). */
int p4r_registry_objstat_put(p4r_registry *reg, const p4r_oid *oid, const p4r_stat_key *key);
/* Forgets OID's fingerprint. */
int p4r_registry_objstat_drop(p4r_registry *reg, const p4r_oid *oid);
/* The oids recorded with inode INO on device DEV: at most MAX into OUT. */
int p4r_registry_objstat_by_inode(p4r_registry *reg, int64_t dev, int64_t ino, p4r_oid *out,
				  size_t max, size_t *n);

/* A damage mark: an object found with bytes that are not its oid's. */
struct p4r_damage {
	p4r_oid oid;
	p4r_oid got;                 /* what its bytes hashed to */
	int64_t found_ms;
	char quarantine[P4R_QUARANTINE_MAX]; /* where they went; "" unknown */
	char work[PATH_MAX];         /* the work file that wrote into it; "" unknown */
	int64_t repaired_ms;         /* 0 while damaged */
	char repaired_from[192];     /* how it came back */
};

/* EV for an object an earlier command found damaged (mark D). */
void p4r_guard_event_from_mark(p4r_registry *reg, const p4r_damage *d, p4r_guard_event *ev);

/* Marks D->oid damaged (again): found_ms now, not repaired. Nothing in a
 * read-only registry. */
int p4r_registry_damage_mark(p4r_registry *reg, const p4r_damage *d);
/* Marks OID repaired by FROM when it is marked damaged; *CHANGED (nullable)
 * says whether it was. */
int p4r_registry_damage_repaired(p4r_registry *reg, const p4r_oid *oid, const char *from,
				 bool *changed);
/* OID's mark; *FOUND false when it was never found damaged. */
int p4r_registry_damage_get(p4r_registry *reg, const p4r_oid *oid, p4r_damage *out, bool *found);
/* Every object still damaged (not repaired), by oid; *OUT is malloc'd. */
int p4r_registry_damage_list(p4r_registry *reg, p4r_damage **out, size_t *n);

/* Fingerprints and stat cache rows only save a re-hash: LAZY (true) lets
 * the commits that follow skip the WAL fsync (synchronous = NORMAL: they
 * are durable at the next checkpoint or FULL commit, and a crash loses at
 * most those rows); false restores FULL. Call it outside a transaction. */
int p4r_registry_lazy_sync(p4r_registry *reg, bool lazy);

/* The versions that name OID: "m@1, m@3" (five, then ", ...") into LIST,
 * the first into FIRST, and the size they record into *SIZE (0: none). */
int p4r_registry_oid_versions(p4r_registry *reg, const p4r_oid *oid, char *list, size_t listsz,
			      char *first, size_t firstsz, int64_t *size);

#endif
