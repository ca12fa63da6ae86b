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

/* The default model name of REL: a file's base name without the last
 * extension ("models/all-MiniLM-L6-v2.onnx" -> "all-MiniLM-L6-v2"), a
 * FOLDER's whole base name ("models/Qwen2.5-0.5B" -> "Qwen2.5-0.5B": a dot
 * in a folder's name is part of it). P4R_EUSAGE when that is not a valid
 * name (the user then passes --name). */
int p4r_worktree_default_name(char *buf, size_t bufsz, const char *rel, bool folder);

/* Which model `add` binds REL to (docs/commands.md, "add"). */
typedef struct p4r_binding {
	char model[P4R_MODEL_NAME_MAX + 1];
	char *moved_from; /* -n NAME of a model bound elsewhere: its path, which
			   * the model leaves for REL (malloc'd); NULL otherwise */
} p4r_binding;

void p4r_binding_clear(p4r_binding *b);

/* The model for `add REL`. Without NAME (-n): the model bound to REL (the
 * one a valid pointer beside it names too); else the default name,
 * P4R_EEXISTS when bound elsewhere. A valid pointer beside REL proves
 * nothing alone: naming a model bound elsewhere is P4R_EEXISTS (fetch, or
 * -n to move it here), naming one the registry lacks under another name
 * than the default is P4R_ENOTFOUND (fetch, or -n). With
 * NAME: REL bound to another model is P4R_EUSAGE naming that model and
 * 'p4reg mv'; NAME bound to another path sets OUT->moved_from. FOLDER:
 * REL is a folder model (its default name keeps every dot). */
int p4r_worktree_resolve_binding(p4r_repo *repo, const char *name, const char *rel, bool folder,
				  p4r_binding *out);

/* What p4r_worktree_unbind changed (absolute paths, malloc'd, for git). */
typedef struct p4r_unbind {
	char *pointer_abs;      /* the pointer removed, NULL when none was */
	char *gitignore_abs;    /* the .gitignore whose line went, NULL when none did */
	bool gitignore_changed;
	bool gitignore_deleted; /* it held only that line and is gone */
} p4r_unbind;

void p4r_unbind_clear(p4r_unbind *u);

/* Clears the old path REL of MODEL after the model moved: its pointer goes
 * when it names MODEL, and the .gitignore line goes when no file is left
 * at REL (a file still there keeps it, so git never takes the binary).
 * Through descriptors below the root, never a link. */
int p4r_worktree_unbind(p4r_repo *repo, const char *model, const char *rel, p4r_unbind *out);

#define P4R_MOVE_STAGE_MAX 4

/* What p4r_worktree_move did. */
typedef struct p4r_move_result {
	char model[P4R_MODEL_NAME_MAX + 1];
	int64_t version;        /* the version the pointer names */
	bool file_moved;        /* the work file was renamed (false: it was not there) */
	bool resumed;           /* the registry had the move already: an interrupted
				 * move was finished (or, ALREADY, nothing was left) */
	bool already;
	char *stage[P4R_MOVE_STAGE_MAX];   /* for git's index: to add (absolute) */
	size_t nstage;
	char *unstage[P4R_MOVE_STAGE_MAX]; /* to drop from it (git rm --cached) */
	size_t nunstage;
} p4r_move_result;

void p4r_move_result_clear(p4r_move_result *r);

/* p4reg mv: moves the model bound to FROM to TO (repository-relative).
 * Everything that can refuse is checked first: FROM must be bound to a
 * model (P4R_ENOTFOUND) and have a pointer naming it that the registry
 * vouches for (P4R_ENOTFOUND without one, P4R_EINTEGRITY when it names
 * another model); FROM, when present, a regular file; TO a valid model path
 * (not a pointer name), not FROM, bound to no model, with nothing at TO or
 * TO.p4reg and no link on the way (P4R_EUSAGE). Then the registry (binding
 * and "move" event, one transaction), then the files: FROM renamed to TO
 * (never replacing; skipped when FROM is not there), TO.p4reg written,
 * TO's .gitignore line added, FROM.p4reg removed, FROM's line removed.
 * Run again after a crash, it finishes the work-tree half (RESUMED), or
 * says it is done (ALREADY). OUT lists what git should stage. */
int p4r_worktree_move(p4r_repo *repo, const char *from, const char *to, const char *actor,
		      p4r_move_result *out);

/* Writes REL.p4reg for V (unless it already says exactly that); *PTR_ABS
 * (nullable) gets its absolute path, malloc'd. */
int p4r_worktree_write_pointer(p4r_repo *repo, const p4r_version *v, const char *rel, char **ptr_abs);

/* Makes sure the .gitignore beside REL ignores it; *GITIGNORE_ABS (nullable)
 * gets that .gitignore's absolute path, malloc'd. */
int p4r_worktree_ignore(p4r_repo *repo, const char *rel, char **gitignore_abs);

/* What p4r_worktree_place_pointer changed, for git's index (absolute
 * paths, malloc'd; NULL when that file was left as it was). */
typedef struct p4r_placed {
	char *pointer_abs;      /* REL.p4reg, written */
	char *gitignore_abs;    /* the .gitignore beside REL, its line added */
} p4r_placed;

void p4r_placed_clear(p4r_placed *p);

/* The files beside a model file that checkout and pull keep as add does:
 * REL.p4reg naming V (unless it already says exactly that) and the line
 * that ignores REL in the .gitignore beside it (unless it has one), so git
 * never takes the bytes. OUT says which of the two changed. A folder
 * version (V->kind P4R_KIND_DIR) gets the folder pointer ("kind dir",
 * "files N") and the folder line "/NAME/". */
int p4r_worktree_place_pointer(p4r_repo *repo, const p4r_version *v, const char *rel, p4r_placed *out);

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
	P4R_FILE_MOVED,          /* the pointer's model is bound to another path now
				  * (a move from a remote): a pointer left behind */
} p4r_file_state;

const char *p4r_file_state_name(p4r_file_state s);

/* Records REL's stat cache row: OID is the hash of bytes read between the
 * stats BEFORE and AFTER; the row is written only when the two are equal in
 * every field (see the rule in worktree.c) and the file is not racily
 * clean. Inside or outside a registry transaction. */
int p4r_worktree_stat_remember(p4r_repo *repo, const char *rel, const p4r_stat_key *before,
			       const p4r_stat_key *after, const p4r_oid *oid);

/* The oid of the file at REL, from the stat cache when its stat matches,
 * else by hashing it (and refreshing the cache). *EXISTS is false (and 0
 * returned) when there is no file. */
int p4r_worktree_file_oid(p4r_repo *repo, const char *rel, p4r_oid *out, bool *exists);

/* Cross-checks PTR, the pointer of model file REL (read from REL.p4reg,
 * which the messages name), with the registry: 0 when the registry has
 * that version with the same oid and size, P4R_ENOTFOUND when it lacks the
 * version (fetch first), P4R_EINTEGRITY when they disagree. A pointer is
 * repository content: it proves nothing alone. */
int p4r_worktree_pointer_check(p4r_repo *repo, const char *rel, const p4r_pointer *ptr);

/* Whether the pointer PTR at REL (valid: p4r_worktree_pointer_check) was
 * left behind by a move: the registry binds PTR's model to another path,
 * which TO (TOSZ bytes, PATH_MAX is enough) gets; *MOVED says so. A move
 * fetched from a remote changes no file, so the pointer stays at the old
 * path until git brings the moved one or 'p4reg mv' finishes it here. */
int p4r_worktree_pointer_moved(p4r_repo *repo, const char *rel, const p4r_pointer *ptr, char *to,
			       size_t tosz, bool *moved);

/* Compares REL with its pointer PTR, after p4r_worktree_pointer_check
 * (UNKNOWN_VERSION or INVALID, with the message left set, when it fails)
 * and p4r_worktree_pointer_moved (MOVED: the file is not looked at). */
int p4r_worktree_file_state(p4r_repo *repo, const char *rel, const p4r_pointer *ptr, p4r_file_state *out);

/* After a checkout wrote REL (stat ST) with OID's bytes: its stat cache
 * row and OID's fingerprint (a hard link moved its ctime; VERIFIED is the
 * stat the guard trusted), in one commit without an fsync of its own. */
int p4r_worktree_checkout_remember(p4r_repo *repo, const char *rel, const struct stat *st,
				   const p4r_oid *oid, const struct stat *verified);

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

/* What p4r_worktree_materialize would find before writing, changing
 * nothing (the stat cache is read, never refreshed; a dry run): *ALREADY
 * when REL has OID's bytes, and the same refusal for bytes in no version
 * (without FORCE). */
int p4r_worktree_materialize_check(p4r_repo *repo, const char *rel, const p4r_oid *oid, bool force,
				   bool *already);

/* A pulled object written into the work tree from the download itself
 * (remote.h, p4r_remote_tee): in copy mode the work-tree file and the
 * store's object come from one read of the remote's bytes, each through a
 * temporary file of its own. The work-tree one is made beside its
 * destination, made durable once the bytes are verified (before the
 * object is published), and renamed over the destination only when the
 * checkout gets to it, after every download succeeded; a failure anywhere
 * leaves the destination as it was (p4r_worktree_tee_clear removes it). */
typedef struct p4r_worktree_tee {
	char *rel;          /* the destination; owned */
	p4r_oid oid;        /* the bytes it is to hold */
	int dir;            /* its folder, opened below the root; -1 */
	const char *base;   /* its name there (inside REL) */
	bool probe;         /* reflink comes first: no copy where the store can clone */
	char *tmp;          /* the temporary file beside it, NULL none; owned */
	bool ready;         /* verified and durable: to be renamed */
} p4r_worktree_tee;

/* Whether REL is to get OID's bytes from the download: the link order
 * (ORDER when N > 0, else the repository's) copies, REL does not hold
 * those bytes yet, its checkout would not be refused, and its folder
 * exists. *WANTED then, and *OUT holds the folder open; otherwise REL is
 * checked out from the store as usual (and any refusal said then). */
int p4r_worktree_tee_prepare(p4r_repo *repo, const char *rel, const p4r_oid *oid,
			     const p4r_link_type *order, size_t n, bool force, p4r_worktree_tee *out,
			     bool *wanted);

/* The tee's open for T (p4r_remote_tee): a new temporary file beside the
 * destination in *FD, or -1 when T has one already, or when the store's
 * file system clones into the folder (FICLONE from STORE_FD works: the
 * checkout reflinks instead). */
int p4r_worktree_tee_open(p4r_worktree_tee *t, int store_fd, int *fd);

/* The tee's close for T: FD is closed; OK (verified bytes) makes the file
 * 0644 and durable (T->ready), else, or when that fails, it is removed. */
int p4r_worktree_tee_close(p4r_worktree_tee *t, int fd, bool ok);

/* p4r_worktree_materialize with the file the download wrote (T->ready):
 * the same checks (*ALREADY when the destination holds the bytes by now;
 * a file with changes in no version refused unless FORCE; the object
 * guard), then the temporary file renamed over the destination, the stat
 * cache and fingerprints as a checkout records them. */
int p4r_worktree_materialize_tee(p4r_repo *repo, p4r_worktree_tee *t, bool force, bool *already);

/* Removes T's temporary file when it was not renamed, closes its folder. */
void p4r_worktree_tee_clear(p4r_worktree_tee *t);

#endif
