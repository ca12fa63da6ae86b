/* Synchronising a repository with a remote: objects both ways, and the
 * registry's events through the remote's append-only log of batches
 * (docs/remotes.md). registry/sync_sql.c holds the SQL; remote/sync.c the
 * protocol, remote/transfer.c the object transfers, remote/sync_lock.c the
 * lock, remote/sync_pointers.c the pointer rewrite after a renumbering. */
#ifndef P4REG_SYNC_H
#define P4REG_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "p4reg/hash.h"
#include "p4reg/registry.h"
#include "p4reg/remote.h"
#include "p4reg/repo.h"

#define P4R_UUID_LEN 36

/* One event as it travels in a batch (batch.h holds the codec and the
 * bounds). Register events also carry the version's record (HAS_VERSION).
 * Strings are owned (free). */
typedef struct p4r_sync_event {
	char uuid[P4R_UUID_LEN + 1];
	int64_t event_id;          /* local row (export only) */
	char model[P4R_MODEL_NAME_MAX + 1];
	int64_t version;           /* 0: about the model */
	char kind[32];
	char from_stage[16];
	char to_stage[16];
	bool forced;
	char *actor;
	int64_t at_ms;
	char *reason;
	char *detail;              /* JSON text or NULL */
	bool has_version;
	p4r_oid oid;
	int64_t size;
	char *author;
	int64_t created_ms;
	char *message;
	char *path;                /* the version's source path (the model's path) */
	char *git_commit;
	char *git_branch;
	int git_dirty;
	p4r_version_kind version_kind; /* a folder travels in batch format 3 */
	int64_t files;             /* a folder's count and total; 0 for a file */
	int64_t tree_size;
	bool deleted;              /* export only: the registered version is deleted
				    * here (p4reg rm): its bytes are not uploaded */
} p4r_sync_event;

void p4r_sync_event_clear(p4r_sync_event *e);
void p4r_sync_event_array_free(p4r_sync_event *e, size_t n);

/* A local version that got a new number because the remote took its old one. */
typedef struct p4r_renumber {
	char model[P4R_MODEL_NAME_MAX + 1];
	int64_t from, to;
} p4r_renumber;

/* ---- registry side (registry/sync_sql.c) ---- */

/* The last log sequence number applied from the remote at URL (0: none). */
int p4r_registry_sync_applied(p4r_registry *reg, const char *url, int64_t *seq);
/* Events not yet published to URL, oldest first, giving each a uuid the
 * first time (one transaction). MODELS (N_MODELS, may be 0) filters. */
int p4r_registry_sync_unpublished(p4r_registry *reg, const char *url, char *const *models,
				  size_t n_models, p4r_sync_event **out, size_t *n);
/* Records that EV[0..N) went out as batch SEQ of URL (one transaction). */
int p4r_registry_sync_mark(p4r_registry *reg, const char *url, int64_t seq,
			   const p4r_sync_event *ev, size_t n);
/* Applies batch SEQ of URL (already validated field by field) in one
 * transaction: new events are inserted, versions created, local unpublished
 * versions whose numbers the batch takes are renumbered (*REN, malloc'd),
 * stages, deletions, aliases, tags and descriptions replayed in log order. Nothing changes on failure. *APPLIED gets
 * the number of events new to this registry. */
int p4r_registry_sync_apply(p4r_registry *reg, const char *url, int64_t seq,
			    const p4r_sync_event *ev, size_t n,
			    p4r_renumber **ren, size_t *nren, size_t *applied);
/* Records that batch SEQ of URL was skipped on request (the audit row of
 * remote_skipped: SHA256 of its bytes or NULL, ACTOR, ERROR: why it did not
 * apply, "" when it did not fail) and moves past it, in one transaction.
 * SEQ must be the next batch to apply (P4R_EUSAGE otherwise). */
int p4r_registry_sync_skip(p4r_registry *reg, const char *url, int64_t seq, const char *sha256,
			   const char *actor, const char *error);
/* Forgets the state kept for URL (remote remove). */
int p4r_registry_sync_forget(p4r_registry *reg, const char *url);
/* Distinct (oid, size) of every version, or of MODELS' versions. */
int p4r_registry_sync_objects(p4r_registry *reg, char *const *models, size_t n_models,
			      p4r_oid **oids, int64_t **sizes, size_t *n);

/* ---- protocol (sync.c) ---- */

/* Called with byte increments from any thread (serialised by sync.c). */
typedef struct p4r_sync_progress {
	void (*fn)(uint64_t done, uint64_t total, void *payload);
	void *payload;
} p4r_sync_progress;

/* A model whose path the fetched events changed (a move from the log). */
typedef struct p4r_sync_move {
	char model[P4R_MODEL_NAME_MAX + 1];
	char *from;               /* its path here before this fetch; owned */
	char *to;                 /* its path now; owned */
	char *actor;              /* who made the (last) move; owned, NULL unknown */
} p4r_sync_move;

typedef struct p4r_sync_result {
	/* objects_present: push: already on the remote; fetch/pull: already
	 * in the local store */
	size_t objects_sent, objects_received, objects_present;
	uint64_t bytes_sent, bytes_received;
	size_t events_applied, batches_applied;
	size_t events_published;
	size_t batches_published; /* a push larger than one batch takes several */
	int64_t batch_seq;        /* the last batch this push created, 0 when none */
	p4r_renumber *renumbered; /* owned */
	size_t nrenumbered;
	char **rewritten;         /* pointer files rewritten after renumbering; owned */
	size_t nrewritten;
	char **missing;           /* push --allow-missing: "model@N sha256:OID" published
				   * without the object anywhere; owned */
	size_t nmissing;
	p4r_sync_move *moves;     /* models the applied batches moved, by first
				   * sight; a model moved back where it was is
				   * not listed; owned */
	size_t nmoves;
} p4r_sync_result;

void p4r_sync_result_clear(p4r_sync_result *r);

/* Downloads and applies every batch after the last applied one. A batch
 * that cannot apply stops the fetch with a message naming
 * p4r_sync_skip_batch's command (p4reg fetch --skip-batch SEQ). */
int p4r_sync_fetch_events(p4r_repo *repo, p4r_remote *remote, p4r_sync_result *res);

/* What p4r_sync_skip_batch skipped. */
typedef struct p4r_skip_result {
	int64_t seq;
	char sha256[P4R_OID_HEXLEN + 1]; /* of the batch's bytes; "" when unreadable */
	char error[512];                 /* why it did not decode, "" when it did */
} p4r_skip_result;

/* Skips batch SEQ of REMOTE, which must be the next one to apply: its
 * events are never applied here, and the skip is recorded (who, when, the
 * batch's SHA-256 and why it failed) in the registry. */
int p4r_sync_skip_batch(p4r_repo *repo, p4r_remote *remote, int64_t seq, p4r_skip_result *out);
/* Downloads OIDS missing locally (parallel, verified). Each distinct
 * object counts once in RES: objects_received (with bytes_received) when
 * downloaded, objects_present when the store already had it. */
int p4r_sync_fetch_objects(p4r_repo *repo, p4r_remote *remote, const p4r_oid *oids,
			   const int64_t *sizes, size_t n, const p4r_sync_progress *prog,
			   p4r_sync_result *res);
/* What p4r_sync_convert did. */
typedef struct p4r_convert_result {
	int format_before;        /* 1, or 2 when an earlier convert (or push) began it */
	size_t objects;           /* whole objects of P4R_CHUNK_FROM bytes or more */
	size_t converted;         /* of them, now chunk lists (this run) */
	size_t already;           /* of them, chunk lists already (their whole copy removed now) */
	uint64_t bytes_whole;     /* the sizes of OBJECTS */
	uint64_t bytes_sent;      /* packs and chunk lists uploaded */
	uint64_t bytes_removed;   /* whole objects removed */
} p4r_convert_result;

/* Converts REMOTE to format 2 (p4reg remote convert; docs/remotes.md):
 * records the format first, then every whole object of P4R_CHUNK_FROM
 * bytes or more is downloaded, verified, and uploaded again as its chunk
 * list and the chunks the lists of its related objects there lack; its
 * whole copy is removed once its list is written, unless KEEP. Smaller
 * objects stay whole. Resumable: an object with a list is not sent again.
 * PROG counts the bytes of the objects. */
int p4r_sync_convert(p4r_repo *repo, p4r_remote *remote, bool keep, const p4r_sync_progress *prog,
		     p4r_convert_result *out);

/* What p4r_sync_stat_objects learnt of one object. */
typedef struct p4r_sync_stat {
	bool asked;     /* false: the check stopped before this one */
	bool exists;    /* the remote has it (see stat in remote.h) */
	uint64_t size;  /* its size there, when EXISTS */
} p4r_sync_stat;

/* Asks REMOTE for the presence and size of each of the N objects OIDS,
 * without downloading, in parallel (remote.NAME.jobs); OUT[i] gets the
 * answer for OIDS[i]. The first failure stops the check (integrity
 * failures win) and is returned; the objects asked until then keep their
 * answers. */
int p4r_sync_stat_objects(p4r_remote *remote, const p4r_oid *oids, size_t n, p4r_sync_stat *out);

struct p4r_guard_event;

typedef struct p4r_push_opts {
	const char *remote;   /* p4r_push only: the remote's name (NULL: core.remote, or the only one) */
	char *const *models;  /* only these models' versions and events (N_MODELS 0: all) */
	size_t n_models;
	bool unsafe;          /* allow a remote whose conditional writes failed the probe */
	bool allow_missing;   /* publish versions whose object is nowhere (res->missing) */
	/* nullable: told about each damaged object the guard found (objguard.h,
	 * p4r_guard_fn), once it is known whether the remote repaired it */
	void (*on_damage)(const struct p4r_guard_event *ev, void *payload);
	void *damage_payload;
} p4r_push_opts;

/* push: fetch and rebase first; then every object to upload passes the
 * object guard (objguard.h): a damaged one is quarantined and fetched back
 * from REMOTE when it has it, else the push is refused (P4R_EINTEGRITY
 * naming the versions, nothing uploaded) unless OPTS->allow_missing (then
 * it is one of the versions whose object is nowhere); refuse (P4R_ERROR,
 * nothing changed on the remote) when a version to publish has its object
 * neither here nor on the remote, unless OPTS->allow_missing; then the
 * objects, then the events in batches that fit (atomic append, retried
 * after a rebase). */
int p4r_sync_push(p4r_repo *repo, p4r_remote *remote, const p4r_push_opts *opts,
		  const p4r_sync_progress *prog, p4r_sync_result *res);

/* Uploads those of the N objects OIDS (SIZES bytes each) that REMOTE
 * lacks, from the local store, verified on the way, in parallel, under the
 * sync lock, as push does for versions' objects; no event is published.
 * Objects the store lacks are skipped: the caller makes sure of them
 * first. RES counts objects_sent, bytes_sent and objects_present. */
int p4r_sync_push_objects(p4r_repo *repo, p4r_remote *remote, const p4r_oid *oids, const int64_t *sizes,
			  size_t n, const p4r_sync_progress *prog, p4r_sync_result *res);

#endif
