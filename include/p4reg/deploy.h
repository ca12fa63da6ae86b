/* p4reg get: one version from a remote onto a deploy box that has no git,
 * no repository and no registry (docs/commands.md, "get").
 *
 * The remote's event log is replayed in memory with the registry's own
 * rules (registry/sync_sql.c): every batch decoded strictly (batch.c); a
 * model's versions numbered 1, 2, ... in log order; events only about
 * models and versions the log registered; one size per object; an event
 * id met again applied once; a log-metric detail that validates as the
 * registry's metrics replay wants it; stages replayed in log order (entering
 * staging or production archives the previous holder, a rollback into
 * archived marks the version rolled back, entering production clears the
 * mark); deletions and aliases replayed in log order as the registry does
 * (a deleted version resolves to nothing and loses its aliases). So `get
 * m@production` answers what `checkout m@production` does on a clone that
 * fetched the same log.
 *
 * The bytes come into a cache (Git LFS layout, verified while written) or
 * straight beside PATH, and replace PATH atomically; a PATH that already
 * holds them is left alone. */
#ifndef P4REG_DEPLOY_H
#define P4REG_DEPLOY_H

#include <stdbool.h>
#include <stdint.h>
#include "p4reg/hash.h"
#include "p4reg/manifest.h"
#include "p4reg/progress.h"
#include "p4reg/ref.h"
#include "p4reg/registry.h"
#include "p4reg/remote.h"
#include "p4reg/store.h"
#include "p4reg/sync.h"

/* A version as the log leaves it. */
typedef struct p4r_deploy_version {
	char model[P4R_MODEL_NAME_MAX + 1];
	int64_t number;
	p4r_oid oid;
	int64_t size;
	p4r_version_kind kind;  /* P4R_KIND_DIR: OID/SIZE are the manifest's */
	p4r_stage stage;
	bool rolled_back;
} p4r_deploy_version;

/* The replayed log: models, their versions and stages. */
typedef struct p4r_deploy_log p4r_deploy_log;

int p4r_deploy_log_new(p4r_deploy_log **out);
void p4r_deploy_log_free(p4r_deploy_log *log);

/* Applies the decoded events EV[0..N) of batch SEQ in order. A batch the
 * registry would refuse is P4R_EINTEGRITY naming SEQ and the event; the log
 * must not be used after a failure. */
int p4r_deploy_log_apply(p4r_deploy_log *log, int64_t seq, const p4r_sync_event *ev, size_t n);

/* Reads, decodes and applies REMOTE's batches log/1, log/2, ... up to the
 * first missing one; *BATCHES (nullable) gets how many there were. */
int p4r_deploy_log_read(p4r_deploy_log *log, p4r_remote *remote, int64_t *batches);

/* Resolves REF as the registry would: name@N, name@latest (the highest
 * number not deleted), name@staging / name@production (the holder), another
 * stage (its highest number), name@ALIAS. P4R_ENOTFOUND "unknown model
 * 'x'", "model 'x' has no version 9", "version 3 of model 'x' was deleted
 * (p4reg rm)", "model 'x' has no version in staging", "model 'x' has no
 * alias 'y'". */
int p4r_deploy_log_resolve(const p4r_deploy_log *log, const p4r_ref *ref, p4r_deploy_version *out);

/* Calls FN(V, ARG) for every version of LOG that is not deleted, model by
 * model in name order, each model's by number; stops at the first FN that
 * returns < 0 and returns that. gc -r keeps their objects (a model's
 * rollback target is always among them: rollback never returns to a
 * deleted version). */
typedef int (*p4r_deploy_live_fn)(const p4r_deploy_version *v, void *arg);
int p4r_deploy_log_each_live(const p4r_deploy_log *log, p4r_deploy_live_fn fn, void *arg);

/* V's manifest (V a folder version) from REMOTE: read whole (at most the
 * size the log gives, within the manifest limit), its bytes verified
 * against V's oid and size (else P4R_EINTEGRITY), decoded strictly. */
int p4r_deploy_manifest(p4r_remote *remote, const p4r_deploy_version *v, p4r_manifest *m);

/* The default cache: $XDG_CACHE_HOME/p4reg, else $HOME/.cache/p4reg, into a
 * malloc'd *OUT; P4R_EUSAGE when neither variable names an absolute folder. */
int p4r_deploy_default_cache(char **out);

typedef struct p4r_get_opts {
	const char *dest;          /* PATH; its folder must exist */
	const char *cache_dir;     /* NULL: no cache, the download goes beside PATH */
	bool force;                /* folder version: overwrite or remove foreign files in PATH */
	p4r_progress_fn progress;  /* (bytes downloaded so far, size), nullable */
	void *payload;             /* of PROGRESS and COUNT */
	p4r_progress_count_fn count; /* nullable, before PROGRESS: the bytes ("get"); of
				    * a folder version, also its files written */
} p4r_get_opts;

typedef struct p4r_get_result {
	p4r_deploy_version version;
	int64_t batches;      /* batches read from the log */
	bool changed;         /* PATH now holds the version's bytes, and did not before */
	bool cached;          /* they came from the cache: nothing was downloaded */
	p4r_link_type link;   /* cache to PATH: reflink or copy (when changed and a cache is used) */
	/* a folder version (version.kind P4R_KIND_DIR): its files, and how
	 * many were written, already held, removed (foreign ones, --force) */
	int64_t files, written, unchanged, removed;
} p4r_get_result;

/* Resolves REF in REMOTE's log and puts its bytes at OPTS->dest: through
 * a temporary file beside it, fsynced, renamed over it (a symbolic link
 * there is replaced, never written through), the folder fsynced. Refused
 * before anything is read from the remote: a missing folder (P4R_ENOTFOUND,
 * never created), a folder, FIFO, device or socket at PATH (P4R_EUSAGE), a
 * cache folder owned by someone else or writable by others (P4R_EREFUSED).
 * Bytes that do not match the oid or the size are P4R_EINTEGRITY with PATH
 * untouched. When PATH is a regular file that already holds the bytes
 * (checked by hashing it, or by the stat the cache recorded when it last
 * hashed it), nothing is written and OUT->changed is false. */
/* A folder version goes to the folder PATH (made when missing, its parent
 * never): the manifest is downloaded and verified against the version's
 * oid, decoded strictly, then every file missing or with other bytes is
 * downloaded verified (through the cache when there is one) and renamed
 * into place; folders below PATH are opened without following links.
 * Without OPTS->force a file in PATH that is not in the manifest, or holds
 * other bytes, is refused before anything is written (P4R_ERROR naming the
 * first and the count); with it such files are overwritten or removed. A
 * crash leaves each file old or new; a rerun finishes. */
int p4r_deploy_get(p4r_remote *remote, const p4r_ref *ref, const p4r_get_opts *opts,
		   p4r_get_result *out);

#endif
