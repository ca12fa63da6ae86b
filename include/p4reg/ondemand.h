/* Bytes come to the command that needs them: a version whose object is
 * not in the local store (a fresh clone, a version never checked out
 * here) is downloaded from a remote, verified while written, before the
 * command changes anything (docs/remotes.md, "Objects on demand"). */
#ifndef P4REG_ONDEMAND_H
#define P4REG_ONDEMAND_H

#include <stdbool.h>
#include <stddef.h>
#include "p4reg/objguard.h"
#include "p4reg/registry.h"
#include "p4reg/remote.h"
#include "p4reg/repo.h"
#include "p4reg/sync.h"
#include "p4reg/version_objects.h"

typedef struct p4r_ondemand {
	const char *remote;               /* -r NAME; NULL: the default remote */
	bool offline;                     /* never contact a remote */
	const p4r_sync_progress *progress; /* nullable: bytes downloaded */
	p4r_guard_fn on_damage;           /* nullable: told about each damaged object */
	void *damage_payload;
	const p4r_remote_tee *tee;        /* nullable: the remote's tee (remote.h) */
} p4r_ondemand;

/* Sets O->offline when the user's own config (their file or config.local,
 * never the committed one) says core.offline = true (--offline, already in
 * O, wins). */
int p4r_ondemand_config(p4r_repo *repo, p4r_ondemand *o);

/* Makes sure the store holds the right bytes of the N versions V. The
 * objects it has pass the object guard first (objguard.h): one whose bytes
 * changed is quarantined, marked damaged and then treated as missing, as
 * is one an earlier command found damaged. Those it lacks are downloaded
 * from the remote, in parallel, verified (a corrupt one is P4R_EINTEGRITY
 * and nothing is stored), and their fingerprints recorded. Offline, with
 * no remote, or when the remote lacks one, the error names the version,
 * what was tried and the command that fixes it: P4R_EINTEGRITY when that
 * version is damaged, else as before. O->on_damage hears about each
 * damaged object, repaired ("repaired m@1 from remote 'origin'") or not.
 * GOT (nullable) adds the objects and bytes downloaded to its
 * objects_received and bytes_received, and the objects the store already
 * had (whole) to its objects_present. */
int p4r_ondemand_fetch(p4r_repo *repo, const p4r_ondemand *o, const p4r_version *v, size_t n,
		       p4r_sync_result *got);

/* What p4r_ondemand_fetch would download for the N versions V, changing
 * nothing and asking no remote (a dry run): the objects the store lacks
 * into MISSING (sorted, once each; a folder's files only when its manifest
 * is here, else *INCOMPLETE: they come with it); the stored ones are not
 * re-hashed. When something is missing: the error the fetch would give
 * without a download (offline, no such remote), else REMOTE (REMOTESZ
 * bytes) gets the remote it would ask. */
int p4r_ondemand_plan(p4r_repo *repo, const p4r_ondemand *o, const p4r_version *v, size_t n,
		      p4r_objects *missing, bool *incomplete, char *remote, size_t remotesz);

#endif
