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
#include "p4reg/gitio.h"
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

/* Parses a pointer blob: "version" first (the v1 spec or git-lfs's legacy
 * hawser URL), then "oid sha256:<64 lowercase hex>" and "size <decimal>",
 * each line ending in "\n". Extensions and unknown keys are not understood
 * and rejected. An empty buffer is the empty file's pointer. P4R_EUSAGE
 * ("not a Git LFS pointer: ...") for anything else; nothing is set then. */
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

/* What an LFS-tracked path of the work tree should hold. REL is
 * repository-relative. *IS_LFS: git sends REL to Git LFS and no .p4reg
 * pointer file describes it (a pointer file wins). Then *FOUND says whether
 * OUT was filled: the oid and size come from the Git LFS pointer staged in
 * the index, else from the latest version of the model bound to REL; model
 * and version name the newest registered version with that oid (model ""
 * and version 0 when the registry has none, e.g. a file committed with
 * git-lfs and not yet added). */
int p4r_lfs_expected(p4r_repo *repo, p4r_git *git, const char *rel, bool *is_lfs,
		     p4r_pointer *out, bool *found);

/* Copies OID's object from LFS_DIR into STORE (reflink, hard link or a
 * copy), verified: P4R_EINTEGRITY when its bytes are not OID's. */
int p4r_lfs_import(p4r_store *store, const char *lfs_dir, const p4r_oid *oid);

#endif
