/* The registry: models, versions, stages, events, metrics and the stat cache
 * in one SQLite database (.p4reg/registry.db). All SQL of p4reg lives in the
 * registry*.c files; every statement binds its parameters. Each mutating call
 * is one BEGIN IMMEDIATE transaction (or joins the caller's, see _begin). */
#ifndef P4REG_REGISTRY_H
#define P4REG_REGISTRY_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include "p4reg/hash.h"
#include "p4reg/manifest.h"

#define P4R_APPLICATION_ID 0x50345247 /* "P4RG" */
#define P4R_MODEL_NAME_MAX 128

/* How every refusal of the registry file ends: what the user can do. */
#define P4R_REGISTRY_RESTORE_HINT \
	"run 'p4reg fsck' for a full report; restore the file from a backup, or replace it" \
	" with an empty registry (p4reg fsck --new-registry) and refill that from a remote" \
	" (p4reg pull)"

/* Lifecycle stages, in promotion order; archived is off the line. */
typedef enum p4r_stage {
	P4R_STAGE_DEVELOPMENT = 0,
	P4R_STAGE_VALIDATION,
	P4R_STAGE_STAGING,
	P4R_STAGE_PRODUCTION,
	P4R_STAGE_ARCHIVED,
	P4R_STAGE_COUNT
} p4r_stage;

/* "development", ...; NULL for an out-of-range value. */
const char *p4r_stage_name(p4r_stage s);
/* Parses a stage name (exact, lowercase); P4R_EUSAGE when unknown. */
int p4r_stage_parse(p4r_stage *out, const char *name);

/* True when NAME is a valid model name: 1..128 of [A-Za-z0-9_.-], not
 * starting with '.' or '-'. So no '/', no spaces, and never "." or "..":
 * a name is always safe as one path component. */
bool p4r_model_name_valid(const char *name);

typedef struct p4r_registry p4r_registry;

/* Opens the database at PATH: WAL, busy timeout, foreign keys, and every
 * open applies the migrations an older file lacks. The file may come from
 * elsewhere, so each connection is hardened (defensive mode, untrusted
 * schema, no views) and checked before use. Refused with P4R_EINTEGRITY and
 * a message that names the file and points to fsck: a file that is empty,
 * not SQLite, damaged, a symbolic link, another application's database, or
 * one holding a trigger, view or virtual table p4reg did not create. A file
 * from a newer p4reg (user_version above ours) is P4R_ERROR.
 * A missing file is created only when CREATE is set and its folder holds no
 * objects/ entries, quarantine/ or write-ahead log (a fresh clone): where
 * those are, the registry was lost (P4R_EINTEGRITY). Creation is atomic:
 * built beside PATH and renamed into place.
 * When the repository cannot be written (read-only mount, no permission),
 * the registry opens read-only: queries work, changes fail with P4R_ERROR
 * "cannot change registry ...: the repository is read-only". */
int p4r_registry_open(p4r_registry **out, const char *path, bool create);
void p4r_registry_free(p4r_registry *reg);

/* Creates an empty registry at PATH, which must not exist (P4R_EEXISTS):
 * the explicit way to start over after a registry was lost (fsck
 * --new-registry); p4r_registry_open never does it where history was. */
int p4r_registry_create(const char *path);

/* True when REG was opened read-only (see p4r_registry_open). */
bool p4r_registry_readonly(const p4r_registry *reg);

/* Transactions nest through a counter: the outermost _begin issues BEGIN
 * IMMEDIATE, the matching _commit COMMIT; _rollback at any depth rolls the
 * whole transaction back (later _commit calls then fail, and _begin is
 * refused until the depth is back to 0). A mutating call that fails inside
 * a caller's transaction rolls the whole transaction back. Output structs
 * are zeroed on entry, not cleared: clear a reused one first. */
int p4r_registry_begin(p4r_registry *reg);
/* A read transaction: one snapshot for several queries without the write
 * lock (BEGIN DEFERRED; in WAL mode writers go on meanwhile), also on a
 * read-only registry. Nests like _begin; end it with _abort. */
int p4r_registry_begin_read(p4r_registry *reg);
int p4r_registry_commit(p4r_registry *reg);
void p4r_registry_abort(p4r_registry *reg);

/* A model: a name bound to one workspace path. */
typedef struct p4r_model {
	int64_t id;
	char name[P4R_MODEL_NAME_MAX + 1];
	char *path;             /* repository-relative, '/'-separated; owned */
	int64_t created_ms;
	int64_t version_count;  /* versions not deleted (p4reg rm) */
	int64_t latest;         /* highest number not deleted, 0 when none */
	int64_t production;     /* version number in production, 0 when none */
	int64_t staging;        /* version number in staging, 0 when none */
	char *description;      /* owned, "" when none (p4reg tag --describe) */
} p4r_model;

void p4r_model_clear(p4r_model *m);

/* What a version's object is: one file, or the manifest of a folder
 * (docs/formats.md, "Folder manifests"). */
typedef enum p4r_version_kind { P4R_KIND_FILE = 0, P4R_KIND_DIR = 1 } p4r_version_kind;

/* A version: an immutable record plus its current stage. */
typedef struct p4r_version {
	int64_t id;
	char model[P4R_MODEL_NAME_MAX + 1];
	int64_t number;
	p4r_oid oid;
	int64_t size;
	char *author;       /* owned */
	int64_t created_ms; /* milliseconds since the epoch, UTC */
	char *message;      /* owned, "" when none */
	char *source_path;  /* owned, repository-relative */
	char *git_commit;   /* owned, NULL outside git */
	char *git_branch;   /* owned, NULL when detached or outside git */
	int git_dirty;      /* 1, 0, or -1 when unknown */
	p4r_stage stage;
	bool rolled_back;
	p4r_version_kind kind;
	int64_t files;      /* a folder's file count; 0 for a file */
	int64_t tree_size;  /* the sum of a folder's file sizes; 0 for a file
			     * (OID and SIZE are then the manifest's) */
	int64_t deleted_ms; /* when p4reg rm deleted it; 0 for a live version
			     * (only p4r_registry_version_find returns others) */
} p4r_version;

void p4r_version_clear(p4r_version *v);
void p4r_version_array_free(p4r_version *v, size_t n);
void p4r_model_array_free(p4r_model *m, size_t n);

/* What `add` registers. */
typedef struct p4r_version_input {
	const char *model;
	const char *path;        /* workspace path the model is bound to */
	p4r_oid oid;
	int64_t size;
	const char *author;
	const char *message;     /* may be NULL */
	const char *git_commit;  /* may be NULL */
	const char *git_branch;  /* may be NULL */
	int git_dirty;           /* -1 unknown */
	int64_t now_ms;          /* 0: the current time */
	p4r_version_kind kind;   /* P4R_KIND_DIR: OID/SIZE are the manifest's */
	int64_t files;           /* dir: 1..P4R_MANIFEST_MAX_FILES; file: 0 */
	int64_t tree_size;       /* dir: 0..P4R_EVENT_TREE_SIZE_MAX; file: 0 */
} p4r_version_input;

/* Registers IN as the next version of its model (creating the model bound to
 * IN->path on first use) and records a "register" event, in one transaction.
 * When a version of the model already has IN->oid nothing is written,
 * *UNCHANGED is set and OUT describes that version (see
 * p4r_registry_register_version). A model bound to
 * another path is P4R_EEXISTS naming both paths. OUT may be NULL. */
int p4r_registry_add_version(p4r_registry *reg, const p4r_version_input *in,
			     p4r_version *out, bool *unchanged);

/* What p4r_registry_register_version did. */
typedef enum p4r_add_outcome {
	P4R_ADD_NEW,       /* a new version was registered */
	P4R_ADD_UNCHANGED, /* the model's latest version has these bytes */
	P4R_ADD_IDENTICAL, /* an older version has them (checkout m@1, then add) */
} p4r_add_outcome;

/* p4r_registry_add_version saying which: when any version of the model
 * already has IN->oid, nothing is written and OUT describes the newest such
 * version (UNCHANGED when it is the latest, IDENTICAL when older).
 * p4r_registry_add_version's *UNCHANGED is true for both. */
int p4r_registry_register_version(p4r_registry *reg, const p4r_version_input *in,
				  p4r_version *out, p4r_add_outcome *outcome);

/* Binds model NAME, now at FROM, to the work-tree path TO and records a
 * "move" event by ACTOR at NOW_MS (0: now) with the detail
 * {"from_path":FROM,"to_path":TO} and the reason "FROM -> TO", in one
 * transaction (joining the caller's); FROM's stat cache row goes.
 * P4R_ENOTFOUND for an unknown model, P4R_EEXISTS when it is not bound to
 * FROM, P4R_EUSAGE when TO is not a valid model path, is FROM, or is bound
 * to another model ("'TO' is bound to model 'x'"). */
int p4r_registry_model_move(p4r_registry *reg, const char *name, const char *from, const char *to,
			    const char *actor, int64_t now_ms);

int p4r_registry_model_get(p4r_registry *reg, const char *name, p4r_model *out);
/* The model bound to workspace PATH; P4R_ENOTFOUND "no model is bound to 'p'". */
int p4r_registry_model_by_path(p4r_registry *reg, const char *path, p4r_model *out);
/* All models by name; *OUT is owned by the caller (p4r_model_array_free). */
int p4r_registry_model_list(p4r_registry *reg, p4r_model **out, size_t *n);
/* The models with a version in STAGE (list --stage), by name; an invalid
 * STAGE is P4R_EUSAGE. */
int p4r_registry_model_list_in_stage(p4r_registry *reg, p4r_stage stage, p4r_model **out, size_t *n);

/* Versions deleted with p4reg rm are never listed, counted or resolved by
 * the calls below (their rows stay: numbers are never reused); only
 * p4r_registry_version_find returns one. */

/* P4R_ENOTFOUND "unknown model 'x'" / "model 'x' has no version 9" /
 * "version 3 of model 'x' was deleted; ...". */
int p4r_registry_version_get(p4r_registry *reg, const char *model, int64_t number, p4r_version *out);
/* p4r_registry_version_get that also returns a deleted version (its
 * DELETED_MS set): for the pointers and checks that must tell the two apart. */
int p4r_registry_version_find(p4r_registry *reg, const char *model, int64_t number, p4r_version *out);
/* The highest number not deleted. */
int p4r_registry_version_latest(p4r_registry *reg, const char *model, p4r_version *out);
/* The version of MODEL currently in STAGE (staging/production: at most one;
 * other stages: the highest number); P4R_ENOTFOUND when none. */
int p4r_registry_version_in_stage(p4r_registry *reg, const char *model, p4r_stage stage, p4r_version *out);
/* All versions of MODEL, highest number first (an empty list for a model
 * with none; P4R_ENOTFOUND for an unknown model). */
int p4r_registry_version_list(p4r_registry *reg, const char *model, p4r_version **out, size_t *n);
/* True when any version not deleted (of any model, any stage) references
 * OID: as its object, or as a file of a folder version's manifest
 * (manifest rows). A deleted version's object is garbage for gc unless
 * this says otherwise. */
int p4r_registry_oid_referenced(p4r_registry *reg, const p4r_oid *oid, bool *out);

/* Up to MAX objects of at least MIN_SIZE bytes of the other versions of
 * the models that have a version with OID, newest first, into a malloc'd
 * *OUT (*N of them): where chunk dedup looks for OID's chunks. */
int p4r_registry_related_objects(p4r_registry *reg, const p4r_oid *oid, uint64_t min_size, size_t max,
				 p4r_oid **out, size_t *n);

/* ---- manifest rows: the files of a folder version, by manifest oid ----
 * A cache of the manifest object (rebuilt from it when missing), shared by
 * every version with that manifest; gc and fsck count its file oids as
 * referenced (for manifests some folder version names). */

/* Records M's entries under MANIFEST (the oid of M's encoded text; the
 * caller hashed it). Idempotent (rows already there stay), inside the
 * caller's transaction or one of its own. P4R_EUSAGE for an empty M or a
 * malformed oid. */
int p4r_registry_manifest_put(p4r_registry *reg, const p4r_oid *manifest, const p4r_manifest *m);
/* Fills OUT (cleared first) with MANIFEST's rows, sorted as decode sorts
 * them. P4R_ENOTFOUND when there are none; P4R_EINTEGRITY when the rows
 * are not exactly the manifest MANIFEST names (edited rows: their
 * encoding must hash to MANIFEST). */
int p4r_registry_manifest_get(p4r_registry *reg, const p4r_oid *manifest, p4r_manifest *out);
/* *OUT: MANIFEST has rows. */
int p4r_registry_manifest_has(p4r_registry *reg, const p4r_oid *manifest, bool *out);

/* The stat cache: what a file looked like when it was last hashed. */
typedef struct p4r_stat_key {
	int64_t dev, ino, size, mtime_ns, ctime_ns;
	/* when the stat was taken (CLOCK_REALTIME ns; 0: unknown): not part
	 * of the key, the racily-clean rule's moment (statcache_put) */
	int64_t seen_ns;
} p4r_stat_key;

/* Looks PATH up; *FOUND is false unless every field of KEY matches (a
 * malformed row is a miss, not an error). */
int p4r_registry_statcache_get(p4r_registry *reg, const char *path, const p4r_stat_key *key,
			       p4r_oid *out, bool *found);
/* Every stat cache row below the folder DIR ("DIR/..."), sorted by path,
 * read in one query; rows with a malformed oid are left out. */
typedef struct p4r_statcache_row {
	char *path;
	p4r_stat_key key;
	p4r_oid oid;
} p4r_statcache_row;
typedef struct p4r_statcache_rows {
	p4r_statcache_row *v;
	size_t n, cap;
} p4r_statcache_rows;
int p4r_registry_statcache_under(p4r_registry *reg, const char *dir, p4r_statcache_rows *out);
/* What p4r_registry_statcache_get would answer for PATH and KEY. */
bool p4r_statcache_rows_find(const p4r_statcache_rows *rows, const char *path, const p4r_stat_key *key,
			     p4r_oid *oid);
void p4r_statcache_rows_clear(p4r_statcache_rows *rows);
/* Records KEY -> OID for PATH, except for a file racily clean: changed
 * within one timestamp tick of KEY->seen_ns, the moment before its bytes
 * were read (unknown: when the registry was opened), so that its next
 * change could keep the same stat; it is left to be hashed again. The tick
 * is two seconds but on the device p4r_registry_racy_window names. */
int p4r_registry_statcache_put(p4r_registry *reg, const char *path, const p4r_stat_key *key,
			       const p4r_oid *oid);
/* The timestamp granularity WINDOW_NS of device DEV (the repository's file
 * system, measured: repo/timestamps.h), at most two seconds. */
void p4r_registry_racy_window(p4r_registry *reg, int64_t dev, int64_t window_ns);

/* The audit trail. KIND is one of "register", "promote", "rollback",
 * "hook", ...; DETAIL is a JSON text or NULL. */
typedef struct p4r_event {
	int64_t id;
	char model[P4R_MODEL_NAME_MAX + 1];
	int64_t version;     /* 0 when the event is about the model */
	char kind[32];
	char from_stage[16]; /* "" when none */
	char to_stage[16];   /* "" when none */
	bool forced;
	char *actor;         /* owned */
	int64_t at_ms;
	char *reason;        /* owned, "" when none */
	char *detail;        /* owned JSON text or NULL */
} p4r_event;

void p4r_event_array_free(p4r_event *e, size_t n);

/* Appends an event (joins the caller's transaction if any). */
int p4r_registry_event_add(p4r_registry *reg, const p4r_event *ev);
/* Events in the shared log's order (published ones by their remote
 * position, then unpublished ones oldest first: the order every clone
 * shows); MODEL NULL for all; SINCE_MS 0 for all time. */
int p4r_registry_event_list(p4r_registry *reg, const char *model, int64_t since_ms,
			    p4r_event **out, size_t *n);

/* Which events p4r_registry_event_query lists (zeroed: all of them). */
typedef struct p4r_event_filter {
	const char *model;   /* NULL: every model (else P4R_ENOTFOUND when unknown) */
	const char *kind;    /* NULL: every kind */
	int64_t since_ms;    /* at or after; 0: from the start */
	int64_t until_ms;    /* at or before; 0: no end */
	int64_t limit;       /* > 0: only the last LIMIT events in the log's order */
} p4r_event_filter;

/* p4r_registry_event_list narrowed by F, in the same order (oldest first),
 * every condition in the SQL. */
int p4r_registry_event_query(p4r_registry *reg, const p4r_event_filter *f, p4r_event **out, size_t *n);
/* The last LIMIT (> 0; else every one) events of MODEL whose kind is one
 * of KINDS[0..NKINDS), oldest first in the shared log's order, in one
 * query (a report's stage timeline: promote, rollback, hook, delete).
 * P4R_ENOTFOUND for an unknown model; 1..P4R_EVENT_KINDS_MAX kinds, else
 * P4R_EUSAGE. */
#define P4R_EVENT_KINDS_MAX 16
int p4r_registry_event_kinds(p4r_registry *reg, const char *model, const char *const *kinds,
			     size_t nkinds, int64_t limit, p4r_event **out, size_t *n);
/* *OUT: some event of KIND is in the registry (one from a newer p4reg, a
 * remote's). */
int p4r_registry_event_kind_exists(p4r_registry *reg, const char *kind, bool *out);

/* Milliseconds since the epoch. */
int64_t p4r_now_ms(void);

#endif
