/* Content-defined chunking and chunk lists (#19; docs/dedup.md).
 *
 * A file is cut into chunks of 16..256 KiB (64 KiB on average) where a gear
 * hash of its bytes says so (FastCDC), so an insertion moves the cuts near
 * it only; a safetensors or GGUF file is also cut where its tensors begin
 * and end, read from its header. A chunk is named by the SHA-256 of its
 * bytes. A file's chunk list names its chunks in order; on a remote it also
 * says where each lives (a pack: chunks back to back, named by the SHA-256
 * of its chunks' ids in order). The binary layout is documented in docs/remotes.md. */
#ifndef P4REG_CHUNK_H
#define P4REG_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "p4reg/hash.h"

#define P4R_CHUNK_MIN ((uint32_t)16 << 10)
#define P4R_CHUNK_AVG ((uint32_t)64 << 10)
#define P4R_CHUNK_MAX ((uint32_t)256 << 10)
/* Objects smaller than this are never chunked (one key, as before). */
#define P4R_CHUNK_FROM ((uint64_t)1 << 20)
/* The most of a file's first bytes read for tensor boundaries. */
#define P4R_CHUNK_HEAD_MAX ((size_t)16 << 20)
/* A chunk that lives in no pack (local chunk lists). */
#define P4R_CHUNK_NO_PACK UINT32_MAX

typedef struct p4r_chunk {
	unsigned char id[32]; /* SHA-256 of the chunk's bytes */
	uint32_t pack;        /* index into the list's packs, or P4R_CHUNK_NO_PACK */
	uint32_t len;         /* 1..P4R_CHUNK_MAX */
	uint64_t pack_off;    /* where it starts in its pack (0 without one) */
} p4r_chunk;

/* Told each chunk as it is cut, in order; OFFSET is where it starts in the
 * file. < 0 stops the chunking with that code. */
typedef int (*p4r_chunk_fn)(const p4r_chunk *c, uint64_t offset, void *payload);

typedef struct p4r_chunker p4r_chunker;

/* A chunker that also cuts at the NCUTS offsets CUTS (ascending; copied). */
int p4r_chunker_new(p4r_chunker **out, const uint64_t *cuts, size_t ncuts);
/* Feeds the next LEN bytes of the file; FN gets every chunk completed. */
int p4r_chunker_update(p4r_chunker *c, const void *buf, size_t len, p4r_chunk_fn fn, void *payload);
/* The end of the file: FN gets the last chunk (none for an empty file). */
int p4r_chunker_finish(p4r_chunker *c, p4r_chunk_fn fn, void *payload);
void p4r_chunker_free(p4r_chunker *c);

/* Tensor boundaries of a file of FILE_SIZE bytes whose first LEN bytes are
 * HEAD (safetensors, GGUF), ascending, unique, within (0, FILE_SIZE), into
 * a malloc'd *CUTS; *N 0 (and *CUTS NULL) for any other file or a header
 * that does not parse whole. Any HEAD that holds the whole header gives
 * the same cuts. Never an error for hostile bytes: only out of memory is. */
int p4r_chunk_cuts(const unsigned char *head, size_t len, uint64_t file_size, uint64_t **cuts,
		   size_t *n);

/* Chunks the open file FD (SIZE bytes, read from offset 0 once, tensor
 * boundaries included) and feeds every byte to WHOLE (nullable) as well.
 * The boundaries are p4r_chunk_cuts of its first min(SIZE,
 * P4R_CHUNK_HEAD_MAX) bytes, of which only as many are read ahead as the
 * header needs. P4R_EINTEGRITY when the file does not hold exactly SIZE
 * bytes (fewer, or more). */
int p4r_chunk_fd(int fd, uint64_t size, const char *name, p4r_hasher *whole, p4r_chunk_fn fn,
		 void *payload);

/* A chunk list: the chunks of object OID (SIZE bytes), in order. */
typedef struct p4r_chunklist {
	p4r_oid oid;
	uint64_t size;
	unsigned char (*packs)[32]; /* NPACKS pack ids (malloc'd) */
	size_t npacks;
	p4r_chunk *chunks;          /* N chunks (malloc'd) */
	size_t n, cap;
} p4r_chunklist;

/* Appends C to L (growing it). */
int p4r_chunklist_add(p4r_chunklist *l, const p4r_chunk *c);
/* Index of pack ID in L, appended when new. */
int p4r_chunklist_pack(p4r_chunklist *l, const unsigned char id[32], uint32_t *index);
/* The binary form of L into a malloc'd *OUT. */
int p4r_chunklist_encode(const p4r_chunklist *l, unsigned char **out, size_t *len);
/* Parses LEN bytes of BUF into L (hostile input): P4R_EINTEGRITY "chunk
 * list of OID is damaged: why" on anything malformed. WANT (nullable): the
 * oid it must describe. PACKED: every chunk must name a pack (a remote's
 * list); else none may (a local one). */
int p4r_chunklist_decode(p4r_chunklist *l, const unsigned char *buf, size_t len, const p4r_oid *want,
			 bool packed);
void p4r_chunklist_clear(p4r_chunklist *l);

/* Local chunk lists: .p4reg/chunks/ab/cd/<oid>, derived only from the
 * store's own bytes (never taken from a remote). */
typedef struct p4r_store p4r_store;

/* The chunk list of the store's object OID into L: read back when kept,
 * else (absent or damaged) computed from the object in one read that
 * re-hashes it -- P4R_EINTEGRITY when its bytes are not OID, nothing kept
 * -- and kept. P4R_ENOTFOUND when the store lacks OID. */
int p4r_store_chunklist(p4r_store *s, const p4r_oid *oid, p4r_chunklist *l);
/* The kept chunk list of OID only: P4R_ENOTFOUND when none is kept (or
 * the store lacks OID), nothing computed. */
int p4r_store_chunklist_kept(p4r_store *s, const p4r_oid *oid, p4r_chunklist *l);
/* Keeps L, computed by the caller from bytes it verified to be L->oid (a
 * push's read), as the local chunk list (pack fields dropped). */
int p4r_store_chunklist_keep(p4r_store *s, const p4r_chunklist *l);

#endif
