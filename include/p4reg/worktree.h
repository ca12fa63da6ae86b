/* The work tree side of a repository: model files, their pointers and
 * .gitignore entries, the stat cache, and putting versions on disk. */
#ifndef P4REG_WORKTREE_H
#define P4REG_WORKTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include "p4reg/pointer.h"
#include "p4reg/registry.h"
#include "p4reg/repo.h"

/* Reads REL's pointer (REL.p4reg) below the root, never through a link;
 * P4R_ENOTFOUND when there is none. */
int p4r_worktree_read_pointer(p4r_repo *repo, const char *rel, p4r_pointer *out);

/* The stat cache key of ST. */
void p4r_worktree_stat_key(const struct stat *st, p4r_stat_key *key);

/* The default model name of REL: its base name without the last extension
 * ("models/all-MiniLM-L6-v2.onnx" -> "all-MiniLM-L6-v2"). P4R_EUSAGE when
 * that is not a valid name (the user then passes --name). */
int p4r_worktree_default_name(char *buf, size_t bufsz, const char *rel);

/* P4R_EEXISTS when MODEL is bound to another path or REL to another model. */
int p4r_worktree_check_binding(p4r_registry *reg, const char *model, const char *rel);

/* Writes REL.p4reg for V (unless it already says exactly that); *PTR_ABS
 * (nullable) gets its absolute path, malloc'd. */
int p4r_worktree_write_pointer(p4r_repo *repo, const p4r_version *v, const char *rel, char **ptr_abs);

/* Makes sure the .gitignore beside REL ignores it; *GITIGNORE_ABS (nullable)
 * gets that .gitignore's absolute path, malloc'd. */
int p4r_worktree_ignore(p4r_repo *repo, const char *rel, char **gitignore_abs);

/* Every pointer file in the work tree (skipping .git and .p4reg), as
 * repository-relative paths of the files they describe (without ".p4reg"),
 * sorted. *OUT is a malloc'd array of malloc'd strings (p4r_strv_free). */
int p4r_worktree_list_pointers(p4r_repo *repo, char ***out, size_t *n);
void p4r_strv_free(char **v, size_t n);

/* The state of one tracked file. */
typedef enum p4r_file_state {
	P4R_FILE_CLEAN,          /* bytes match the pointer */
	P4R_FILE_MODIFIED,       /* bytes differ: `add` would make a new version */
	P4R_FILE_MISSING,        /* the file is not there: `checkout` restores it */
	P4R_FILE_OBJECT_MISSING, /* clean or missing, but the store lacks the object */
	P4R_FILE_UNKNOWN_VERSION,/* the pointer names a version the registry lacks */
	P4R_FILE_INVALID,        /* the pointer disagrees with the registry */
} p4r_file_state;

const char *p4r_file_state_name(p4r_file_state s);

/* The oid of the file at REL, from the stat cache when its stat matches,
 * else by hashing it (and refreshing the cache). *EXISTS is false (and 0
 * returned) when there is no file. */
int p4r_worktree_file_oid(p4r_repo *repo, const char *rel, p4r_oid *out, bool *exists);

/* Cross-checks a pointer (read from DISPLAY) with the registry: 0 when
 * the registry has that version with the same oid and size, P4R_ENOTFOUND
 * when it lacks the version (fetch first), P4R_EINTEGRITY when they
 * disagree. A pointer is repository content: it proves nothing alone. */
int p4r_worktree_pointer_check(p4r_repo *repo, const char *display, const p4r_pointer *ptr);

/* Compares REL with its pointer PTR, after p4r_worktree_pointer_check
 * (UNKNOWN_VERSION or INVALID, with the message left set, when it fails). */
int p4r_worktree_file_state(p4r_repo *repo, const char *rel, const p4r_pointer *ptr, p4r_file_state *out);

/* Puts the bytes of OID (SIZE bytes) at REL, verified, through the link
 * order configured or ORDER when N > 0. The object passes the object guard
 * first (objguard.h): damaged, it is quarantined and this is P4R_EINTEGRITY
 * naming the version, nothing written (callers fetch through
 * p4r_ondemand_fetch before, which repairs it from a remote). Bytes of the
 * current file that are in no version and not in the store are never
 * overwritten unless FORCE (P4R_ERROR naming the file). Updates the stat
 * cache, and the object's fingerprint when a hard link moved its ctime.
 * *ALREADY (nullable) is set when the file already had those bytes and
 * nothing was written. */
int p4r_worktree_materialize(p4r_repo *repo, const char *rel, const p4r_oid *oid,
			     const p4r_link_type *order, size_t n, bool force, bool *already,
			     p4r_progress_fn progress, void *payload);

#endif
