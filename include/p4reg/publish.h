/* Publishing an object: the one path by which verified bytes get their
 * final name in a fan-out folder (objects/ab/cd/<oid>) -- in the store,
 * in the Git LFS mirror and on a folder remote. The caller hashed the
 * bytes while it wrote them to a temporary file (one read, one hash);
 * p4r_publish_object checks that hash, makes the file durable, renames it
 * under its final name without replacing an object a concurrent writer
 * published first, and makes the folder's entry durable:
 *
 *   verify -> fsync the temporary file -> rename -> fsync the folder
 *
 * A batch of many small objects may leave both fsyncs out (DURABLE false)
 * and make the whole batch durable with one syncfs before anything names
 * its objects (p4r_store_sync): a name in the store then does not prove
 * its bytes survived a crash, which is why the object guard re-hashes an
 * object it has no fingerprint of before trusting it (objguard.h). */
#ifndef P4REG_PUBLISH_H
#define P4REG_PUBLISH_H

#include <stdbool.h>
#include "p4reg/hash.h"

/* Opens OID's fan-out folder "ab/cd" below the open folder ROOT into *OUT
 * (O_DIRECTORY), one component at a time, never following a symbolic
 * link (P4R_EINTEGRITY when one is in the way). CREATE makes what is
 * missing (mode 0755) and, DURABLE, makes each new folder's entry durable;
 * without it an absent folder is P4R_ENOTFOUND (no message). DISPLAY
 * names ROOT in messages. */
int p4r_publish_dir_open(int root, const char *display, const p4r_oid *oid, bool create, bool durable,
			 int *out);

/* Publishes the temporary file *TMP (a name in the folder TMP_DIR, or a
 * path with AT_FDCWD) as BASE in the open folder DIR:
 *
 * - verify: GOT (what the bytes hashed to when they were written) must
 *   be WANT, else P4R_EINTEGRITY "'DISPLAY' hashes to GOT, not WANT" and
 *   *TMP is removed. WANT NULL: bytes that are no object (nothing to check).
 * - *FD (open on *TMP, or -1 when the caller already did this) gets MODE
 *   and (DURABLE) an fsync, and is closed (-1 after, whatever happens).
 * - *TMP is renamed to BASE without replacing a file there: a regular
 *   file of the same size is a concurrent writer's copy of the same
 *   bytes, so *TMP is dropped and *EXISTED (nullable) set -- success.
 *   Anything else in the way (a symbolic link, a FIFO, a file of another
 *   size) is replaced, never written through.
 * - DURABLE: DIR is fsynced, so the new name survives a crash.
 *
 * *TMP is consumed either way (freed, NULL): published, or removed on
 * failure. DISPLAY names the bytes in messages. */
int p4r_publish_object(int dir, const char *base, const p4r_oid *want, const p4r_oid *got,
		       int tmp_dir, char **tmp, int *fd, int mode, const char *display, bool durable,
		       bool *existed);

#endif
