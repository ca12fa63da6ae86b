/* What the two halves of p4reg get share (deploy.c: the log, a file
 * version; deploy_dir.c: a folder version): the destination, the cache
 * and the ways bytes reach PATH. Private to src/core/remote. */
#ifndef P4REG_DEPLOY_PRIV_H
#define P4REG_DEPLOY_PRIV_H

#include "p4reg/fsutil.h"
#include "p4reg/deploy.h"
#include "p4reg/remote.h"
#include "p4reg/store.h"

#include <stdbool.h>
#include <sys/stat.h>

#define DEST_MODE 0644

/* ---- the destination ---- */

/* *HAVE when the cache holds V's object with V's size (a damaged one of
 * another size is removed; a whole one of another size: the log is wrong). */
int p4r_deploy_cache_has(p4r_store *cache, const p4r_deploy_version *v, bool *have);
/* Downloads V's object into the cache, verified before it is placed. */
int p4r_deploy_cache_fill(p4r_remote *remote, p4r_store *cache, const char *cache_dir,
			  const p4r_deploy_version *v, const p4r_get_opts *opts);
/* A cold cache: V's object downloaded into the cache and placed at PATH
 * (*USED: how) -- from the same read as the cache's object where PATH's
 * folder cannot clone it (remote.h, get_file_tee), else reflinked or
 * copied from the cache once it is there. */
int p4r_deploy_cache_fill_place(p4r_remote *remote, p4r_store *cache, const char *cache_dir,
				const p4r_dest *d, const p4r_deploy_version *v, const p4r_get_opts *opts,
				int mode, p4r_link_type *used);
/* Without a cache: downloaded beside PATH, verified, renamed over it. */
int p4r_deploy_place_direct(p4r_remote *remote, const p4r_dest *d, const p4r_deploy_version *v,
			    const p4r_get_opts *opts, int mode);
/* From the cache to PATH: reflink or hashed copy, never a hard link. */
int p4r_deploy_place_from_cache(p4r_store *cache, const p4r_dest *d, const p4r_deploy_version *v,
				int mode, p4r_link_type *used);
/* CACHE_DIR/placed/<sha256 of PATH's real name> in *FILE and that name in
 * *ABS (both NULL when the kernel cannot name the folder). */
int p4r_deploy_placed_names(char **file, char **abs, const char *cache_dir, const p4r_dest *d);

/* A folder version (deploy_dir.c). */
int p4r_deploy_get_dir(p4r_remote *remote, const p4r_dest *d, const p4r_get_opts *opts,
		       p4r_store *cache, p4r_get_result *out);

#endif
