/* What the files of the sync protocol share; private to src/core/remote/:
 * sync.c (fetch, skip, push), sync_lock.c (one sync at a time),
 * sync_pointers.c (pointer files after a renumbering), transfer.c
 * (parallel verified object transfers). */
#ifndef P4REG_REMOTE_SYNC_PRIV_H
#define P4REG_REMOTE_SYNC_PRIV_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include "p4reg/remote.h"
#include "p4reg/sync.h"

/* Takes the repository's sync lock (flock on .p4reg/tmp/sync.lock),
 * waiting for a fetch or push that holds it; *FD is released with
 * p4r_sync_lock_release. */
int p4r_sync_lock_take(p4r_repo *repo, int *fd);
void p4r_sync_lock_release(int fd);

/* Pointer files in the work tree that named a renumbered version of REN
 * (NREN moves, in the order they happened) with its bytes now name its
 * new number; their paths join RES->rewritten. */
int p4r_sync_rewrite_pointers(p4r_repo *repo, const p4r_renumber *ren, size_t nren,
			      p4r_sync_result *res);

/* Uploads those of the N objects OIDS (SIZES) that REMOTE lacks, from the
 * local store, re-hashed on the way, remote.NAME.jobs at a time; objects
 * the store lacks are skipped. The caller holds the sync lock. */
int p4r_sync_upload_objects(p4r_repo *repo, p4r_remote *remote, const p4r_oid *oids,
			    const int64_t *sizes, size_t n, const p4r_sync_progress *prog,
			    p4r_sync_result *res);

/* The local side chunk dedup asks about (remote.h, p4r_remote_chunk_hooks)
 * during one transfer: attached to REMOTE before it, detached after
 * (remote/sync_chunks.c). */
typedef struct p4r_sync_chunks {
	p4r_remote_chunk_hooks hooks;
	p4r_repo *repo;
	pthread_mutex_t lock; /* the registry, for the transfer's threads */
} p4r_sync_chunks;
int p4r_sync_chunks_attach(p4r_sync_chunks *c, p4r_repo *repo, p4r_remote *remote);
void p4r_sync_chunks_detach(p4r_sync_chunks *c, p4r_remote *remote);

/* Appends a copy of S to the malloc'd array *V of *N strings. */
int p4r_sync_add_string(char ***v, size_t *n, const char *s);

#endif
