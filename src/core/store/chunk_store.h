/* Private to the store: what gc and fsck do with the local chunk lists
 * (.p4reg/chunks/ab/cd/<oid>, chunk_store.c). */
#ifndef P4REG_STORE_CHUNK_STORE_H
#define P4REG_STORE_CHUNK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "p4reg/hash.h"
#include "p4reg/store.h"

/* The folder below .p4reg that holds them. */
#define P4R_CHUNKS_DIR "chunks"

/* Removes OID's chunk list below the open chunks folder CHUNKS; one that
 * is not there is no error. *BYTES (nullable) gets its size (0: none). */
int p4r_chunks_forget(int chunks, const p4r_oid *oid, uint64_t *bytes);

/* gc's pass over the open chunks folder CHUNKS of store S: removes every
 * damaged list, and the lists of objects S lacks and p4reg's temporary
 * files there that did not change after CUTOFF (seconds). DRY_RUN
 * removes nothing. *REMOVED and *BYTES count what went. Anything else is
 * left alone (fsck reports it). */
int p4r_chunks_gc(p4r_store *s, int chunks, int64_t cutoff, bool dry_run, size_t *removed,
		  uint64_t *bytes);

/* What fsck hears of the chunks folder: a damaged list (OID set), or an
 * entry p4reg does not write (OID NULL). REL is the entry's
 * repository-relative path, MESSAGE one line. */
typedef void (*p4r_chunks_finding_fn)(const char *oid, const char *rel, const char *message,
				      void *payload);

/* fsck's pass over the open chunks folder CHUNKS of store S: FN for each
 * finding. A list whose object S lacks is no finding (gc removes it). */
int p4r_chunks_check(p4r_store *s, int chunks, p4r_chunks_finding_fn fn, void *payload);

#endif
