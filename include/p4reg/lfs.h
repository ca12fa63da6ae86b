/* Git LFS compatibility: the pointer blob git-lfs commits in place of a
 * file's bytes, and its local object folder (.git/lfs/objects/ab/cd/<oid>).
 * Bit-compatible with git-lfs: the pointer p4reg writes is the one
 * `git lfs pointer --check --strict` accepts as canonical. */
#ifndef P4REG_LFS_H
#define P4REG_LFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "p4reg/hash.h"
#include "p4reg/pointer.h"
#include "p4reg/repo.h"

#define P4R_LFS_SPEC "https://git-lfs.github.com/spec/v1"
/* git-lfs never treats a blob larger than this as a pointer. */
#define P4R_LFS_POINTER_MAX 1024

/* The canonical pointer of SIZE bytes with OID into BUF (NUL-terminated):
 *   version https://git-lfs.github.com/spec/v1
 *   oid sha256:<hex>
 *   size <n>
 * An empty file's pointer is empty (*LEN 0), as git-lfs writes it. */
int p4r_lfs_pointer_format(char *buf, size_t bufsz, size_t *len, const p4r_oid *oid, uint64_t size);

/* Git LFS pointer extensions (git-lfs docs/extensions.md): the line
 * "ext-<priority>-<name> sha256:<oid of the extension's input>" records
 * that extension NAME turned the file's bytes into what the pointer's oid
 * names. Priorities are one digit, so a pointer has at most ten. */
#define P4R_LFS_EXT_MAX 10
#define P4R_LFS_EXT_NAME_MAX 64

typedef struct p4r_lfs_ext {
	int priority;                          /* 0..9, ascending in a pointer */
	char name[P4R_LFS_EXT_NAME_MAX + 1];   /* [A-Za-z0-9_][A-Za-z0-9_.-]* */
	p4r_oid oid;                           /* the extension's input */
} p4r_lfs_ext;

/* A decoded pointer: the object (oid, size) and the extensions it went
 * through, in the order of their lines. */
typedef struct p4r_lfs_pointer {
	p4r_oid oid;
	uint64_t size;
	size_t next;
	p4r_lfs_ext ext[P4R_LFS_EXT_MAX];
} p4r_lfs_pointer;

/* Decodes a pointer blob: "version" first (the v1 spec or git-lfs's legacy
 * hawser URL), then any "ext-<d>-<name> sha256:<hex>" lines in ascending,
 * distinct priority, then "oid sha256:<64 lowercase hex>" and "size
 * <decimal>", each line ending in "\n". An empty buffer is the empty
 * file's pointer. P4R_EUSAGE ("not a Git LFS pointer: ...") for anything
 * else; *OUT is untouched then. Nothing is dropped: what decodes encodes
 * back byte for byte (p4r_lfs_pointer_encode) unless it used the legacy
 * version URL. */
int p4r_lfs_pointer_decode(p4r_lfs_pointer *out, const char *buf, size_t len);

/* The canonical pointer P into BUF (NUL-terminated), as git-lfs encodes
 * it: version, extension lines, oid, size; a size of 0 is the empty blob.
 * P4R_EUSAGE for a malformed oid or extension. */
int p4r_lfs_pointer_encode(char *buf, size_t bufsz, size_t *len, const p4r_lfs_pointer *p);

/* 0 when P has no extension; else P4R_ERROR "Git LFS extension 'foo' is
 * not supported by p4reg; install git-lfs and the extension": p4reg
 * cannot undo an extension, and the object alone is not the file. */
int p4r_lfs_pointer_unsupported(const p4r_lfs_pointer *p);

/* p4r_lfs_pointer_decode for callers that need the file's bytes: a
 * pointer with extensions is P4R_ERROR (p4r_lfs_pointer_unsupported),
 * anything that is no pointer P4R_EUSAGE. Nothing is set on failure. */
int p4r_lfs_pointer_parse(p4r_oid *oid, uint64_t *size, const char *buf, size_t len);

/* Writes LFS_DIR/objects/ab/cd/<oid> into BUF. */
int p4r_lfs_object_path(char *buf, size_t bufsz, const char *lfs_dir, const p4r_oid *oid);

/* True when LFS_DIR holds a regular file for OID. */
bool p4r_lfs_has(const char *lfs_dir, const p4r_oid *oid);

/* Places the bytes of SRC (which must hash to OID) in LFS_DIR as OID's
 * object: a hard link when SRC is on the same file system, else a hashed
 * copy through LFS_DIR/tmp, fsynced and renamed into place. An object
 * already there is left alone. A copy that does not hash to OID is
 * P4R_EINTEGRITY and leaves nothing behind. *LINKED (nullable) says
 * whether a hard link was made. */
int p4r_lfs_place(const char *lfs_dir, const p4r_oid *oid, const char *src, bool *linked);

/* The Git LFS mirror of a stored object: REPO's object OID, checked by the
 * object guard first (P4R_EINTEGRITY when damaged), placed in LFS_DIR by
 * p4r_lfs_place. The hard link moves the object's ctime; that move is
 * p4reg's own, so the guard's fingerprint follows it (else the next
 * command would re-hash the object once). */
int p4r_lfs_mirror(p4r_repo *repo, const char *lfs_dir, const p4r_oid *oid);

/* What an LFS-tracked path of the work tree should hold. REL is
 * repository-relative. *IS_LFS: git sends REL to Git LFS and no .p4reg
 * pointer file describes it (a pointer file wins). Then *FOUND says whether
 * OUT was filled: the oid and size come from the Git LFS pointer staged in
 * the index, else from the latest version of the model bound to REL; model
 * and version name the newest registered version with that oid (model ""
 * and version 0 when the registry has none, e.g. a file committed with
 * git-lfs and not yet added). In git/lfs_expected.c: it asks git (gitio.h),
 * which lfs.c, below gitio, does not. */
struct p4r_git;
int p4r_lfs_expected(p4r_repo *repo, struct p4r_git *git, const char *rel, bool *is_lfs,
		     p4r_pointer *out, bool *found);

/* Copies OID's object from LFS_DIR into STORE (reflink, hard link or a
 * copy), verified: P4R_EINTEGRITY when its bytes are not OID's. */
int p4r_lfs_import(p4r_store *store, const char *lfs_dir, const p4r_oid *oid);

/* The p4reg repository that keeps the Git LFS objects of REL, a path
 * relative to the git work tree root TOP (as git's filter gets it), into
 * *ROOT (malloc'd; NULL and 0 when there is none): P4REG_DIR when set;
 * else the nearest folder holding .p4reg from REL's own folder up to (not
 * including) TOP, each folder opened from TOP without following a
 * symbolic link; else the repository a command run at TOP finds (TOP or a
 * folder above it). Nothing is trusted yet: callers open or check it
 * (p4r_repo_check_trust). REL absolute, empty, or with an empty, "." or
 * ".." component is P4R_EUSAGE. */
int p4r_lfs_repo_for_path(char **root, const char *top, const char *rel);

#endif
