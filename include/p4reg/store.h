/* The content-addressed object store: .p4reg/objects/ab/cd/<oid>, Git LFS
 * layout. Objects are written to tmp/, fsynced, renamed into place and their
 * folder fsynced; once in place they are read-only (0444) and immutable. */
#ifndef P4REG_STORE_H
#define P4REG_STORE_H

#include <stdint.h>
#include <sys/stat.h>
#include <stddef.h>
#include <stdbool.h>
#include "p4reg/hash.h"

/* How bytes get from one place to another, tried in the order configured
 * (cache.type, default "reflink,copy"). */
typedef enum p4r_link_type {
	P4R_LINK_REFLINK, /* FICLONE: shares blocks, O(1), needs btrfs/xfs */
	P4R_LINK_HARDLINK, /* link(2): O(1); the work tree file becomes read-only */
	P4R_LINK_COPY,     /* plain copy */
} p4r_link_type;

#define P4R_LINK_MAX 3

/* Parses "reflink,copy" style lists into ORDER (at most P4R_LINK_MAX);
 * P4R_EUSAGE on an unknown name. */
int p4r_link_parse(p4r_link_type *order, size_t *n, const char *spec);
const char *p4r_link_name(p4r_link_type t);

/* Called now and then during long work; TOTAL may be 0 when unknown. */
typedef void (*p4r_progress_fn)(uint64_t done, uint64_t total, void *payload);

typedef struct p4r_store p4r_store;

/* Opens the store under META_DIR (the .p4reg folder). Does not create it. */
int p4r_store_open(p4r_store **out, const char *meta_dir);
void p4r_store_free(p4r_store *store);

/* Creates objects/ and tmp/ under META_DIR (used by init). */
int p4r_store_init(const char *meta_dir);

/* Writes the absolute path of OID's object into BUF. */
int p4r_store_object_path(const p4r_store *store, const p4r_oid *oid, char *buf, size_t bufsz);
bool p4r_store_has(const p4r_store *store, const p4r_oid *oid);

/* The .p4reg folder the store was opened under (chunk lists live beside
 * objects/: chunk_store.c). */
const char *p4r_store_meta(const p4r_store *store);

/* Opens OID's object for reading as every reader of the store does: a
 * regular file under its name, never a symbolic link followed or a FIFO
 * waited on; P4R_ENOTFOUND when absent. *ST gets its stat, PATH (PATHSZ
 * bytes) its path for messages. The caller closes *FD. */
int p4r_store_object_open(const p4r_store *store, const p4r_oid *oid, int *fd, struct stat *st,
			  char *path, size_t pathsz);

/* A batch of many small objects: while ON, inserts publish objects
 * without their fsyncs (publish.h); p4r_store_sync then makes all of them
 * durable with one syncfs, which must happen before anything (a registry
 * row) names them. Set before, and cleared after, a parallel loop. ON is
 * ignored where syncfs makes nothing durable (FUSE, 9p, SMB). */
void p4r_store_defer_sync(p4r_store *store, bool on);
int p4r_store_sync(p4r_store *store);

/* Makes OID's object and its name durable (fsync of the file and of its
 * folder): for an object found in the store rather than written, which a
 * batch of another process may have published without syncing yet. */
int p4r_store_sync_object(p4r_store *store, const p4r_oid *oid);

/* Result of inserting a file. */
typedef struct p4r_insert_result {
	p4r_oid oid;
	uint64_t size;
	bool existed;            /* the object was already in the store */
	p4r_link_type used;      /* how it got there (meaningless when existed) */
	struct stat placed;      /* the object's stat once in place (after the
				  * chmod, link and rename that move its ctime);
				  * st_ino 0 when existed or unknown */
} p4r_insert_result;

/* Stores the file at PATH: reads it once, hashing while the bytes go to a
 * temporary object (copy) or after a reflink; hardlink hashes then links.
 * When the object already exists nothing is written. On failure nothing is
 * left under a final name. */
int p4r_store_insert_file(p4r_store *store, const char *path,
			  const p4r_link_type *order, size_t n,
			  p4r_insert_result *out, p4r_progress_fn progress, void *payload);

/* The same for the work-tree file BASE in the open folder DIRFD: a
 * symbolic link, a FIFO or a device there is refused (P4R_EUSAGE), never
 * followed or blocked on. *ST gets the file's stat as it was opened;
 * DISPLAY names it in messages. */
int p4r_store_insert_at(p4r_store *store, int dirfd, const char *base, const char *display,
			const p4r_link_type *order, size_t n, p4r_insert_result *out,
			struct stat *st, p4r_progress_fn progress, void *payload);

/* Stores a buffer already in memory (small objects, manifests). An
 * object already there is compared with BUF, not trusted by name: one
 * with other bytes is replaced. */
int p4r_store_insert_buffer(p4r_store *store, const void *buf, size_t len, p4r_oid *out);

/* Publishes a temporary file of the store's tmp/ whose bytes the caller
 * verified to be OID: fsync, read-only, rename into place, folder fsync
 * (nothing when the store already has OID). *FD is -1 once closed; *TMP
 * is consumed (freed, NULL) once renamed, else the caller unlinks it. */
int p4r_store_place(p4r_store *store, int *fd, char **tmp, const p4r_oid *oid);

/* Puts OID's bytes at BASE in the open folder DIRFD (DISPLAY in messages):
 * through a temporary file beside it, fsynced and renamed over it, so BASE
 * is either the old file or the complete new one; a symbolic link at BASE
 * is replaced, never written through. A copy is hashed while it is written and a mismatch (P4R_EINTEGRITY)
 * leaves DEST untouched. Reflink and hardlink are O(1) and trust the store:
 * callers with a registry ask the object guard first (objguard.h; fsck
 * re-hashes everything). USED (nullable) gets the method that worked. */
int p4r_store_checkout(p4r_store *store, const p4r_oid *oid, int dirfd, const char *base,
		       const char *display, const p4r_link_type *order, size_t n,
		       p4r_link_type *used, p4r_progress_fn progress, void *payload);

/* p4r_store_checkout with MODE (0644 there, 0755 for an executable file)
 * for a copy or a reflink; a hard link is the object and keeps its 0444. */
int p4r_store_checkout_mode(p4r_store *store, const p4r_oid *oid, int dirfd, const char *base,
			    const char *display, int mode, const p4r_link_type *order, size_t n,
			    p4r_link_type *used, p4r_progress_fn progress, void *payload);

/* Copies everything readable from SRC into DST (a regular file the caller
 * fsyncs) through the store's pipeline: a reader thread and a writer
 * thread while this one hashes; a large copy goes around the page cache. *OID and *SIZE get the hash and count of the bytes
 * copied; TOTAL is the expected size, for PROGRESS (done, total). The names
 * are for messages. */
int p4r_store_copy_hashed(p4r_oid *oid, uint64_t *size, int src, const char *src_name,
			  int dst, const char *dst_name, uint64_t total,
			  p4r_progress_fn progress, void *payload);

/* p4r_store_copy_hashed for a download of LIMIT bytes (LIMIT > 0): the
 * bytes are fed to H, left unfinished; a SRC holding more than LIMIT is
 * P4R_EINTEGRITY at the first block too many, which never reaches DST. */
int p4r_store_copy_into(p4r_hasher *h, uint64_t *size, int src, const char *src_name, int dst,
			const char *dst_name, uint64_t limit, p4r_progress_fn progress, void *payload);

/* p4r_store_copy_into writing every byte to DST2 as well (-1: no second
 * file), from the same read and the same buffer: a pull in copy mode
 * fills the store's object and the work-tree file at once. Each file gets
 * a writer thread of its own; a large copy is written around the page
 * cache (O_DIRECT, taken off again before the return). */
int p4r_store_copy_tee(p4r_hasher *h, uint64_t *size, int src, const char *src_name, int dst,
		       const char *dst_name, int dst2, const char *dst2_name, uint64_t limit,
		       p4r_progress_fn progress, void *payload);

/* Streams OID's bytes to FD while hashing them; P4R_EINTEGRITY after the last
 * byte when they do not match (the caller cannot take back what was written). */
int p4r_store_write_to_fd(p4r_store *store, const p4r_oid *oid, int fd);

/* Re-hashes OID's object: 0 when it matches, P4R_EINTEGRITY when not,
 * P4R_ENOTFOUND when absent. */
int p4r_store_verify(p4r_store *store, const p4r_oid *oid);

/* The stat of OID's object (lstat: the store holds regular files only);
 * P4R_ENOTFOUND when there is none, or something else is in its place. */
int p4r_store_object_stat(const p4r_store *store, const p4r_oid *oid, struct stat *st);

/* Hashes OID's object: *GOT gets what its bytes hash to, *ST its stat
 * after the read, *STABLE whether that stat did not move during it (else
 * a writer was at work and the hash proves nothing about later reads).
 * P4R_ENOTFOUND when absent. */
int p4r_store_hash_object(p4r_store *store, const p4r_oid *oid, p4r_oid *got, struct stat *st,
			  bool *stable);

#endif
