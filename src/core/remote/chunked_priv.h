/* Format-2 transfers, private to src/core/remote/: remote/chunked.c moves
 * an object as its chunk list and the chunks the other side lacks;
 * remote.c (p4r_remote_get_object, p4r_remote_put_object) decides when. */
#ifndef P4REG_REMOTE_CHUNKED_PRIV_H
#define P4REG_REMOTE_CHUNKED_PRIV_H

#include "p4reg/remote.h"

/* Rebuilds OID (SIZE bytes) in FD (and FD2, unless -1) from its chunk
 * list on R: with *LOCAL, chunks the local side has (R->chunk_hooks'
 * related objects) are copied, the rest read from their packs, in
 * parallel; *LOCAL then says whether any local object was used. The
 * caller verifies the result. P4R_ENOTFOUND when R has no chunk list of
 * OID. *RECEIVED: the bytes read from the remote. */
int p4r_chunked_get(p4r_remote *r, const p4r_oid *oid, uint64_t size, int fd, int fd2, bool *local,
		    uint64_t *received, p4r_progress_fn progress, void *payload);

/* Uploads the object at PATH (SIZE bytes, which must hash to OID) as its
 * chunk list and the chunks R lacks (see p4r_remote_put_object). *SENT:
 * bytes uploaded. */
int p4r_chunked_put(p4r_remote *r, const p4r_oid *oid, const char *path, uint64_t size,
		    uint64_t *sent, p4r_progress_fn progress, void *payload);

/* Records that R is format 2 from now on (p4reg remote convert). */
int p4r_chunked_format2(p4r_remote *r);

/* The size R's chunk list of OID says OID has (the list is read whole and
 * checked). */
int p4r_chunked_size(p4r_remote *r, const p4r_oid *oid, uint64_t *size);

#endif
