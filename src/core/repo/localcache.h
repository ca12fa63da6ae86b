/* A repository's local cache, internal to src/core: what p4reg learnt
 * about a repository on this machine and reuses on the next command --
 * whether git tracks private state (repo/trustcache.c) and the file
 * system's timestamp granularity (repo/timestamps.c). One small JSON file
 * per repository in the user's own cache folder
 * ($XDG_CACHE_HOME/p4reg/repos/, else ~/.cache/p4reg/repos/), named by a
 * hash of the repository's real path and holding that path and the
 * identity of its .p4reg folder: a clone delivers the repository, never
 * this file (docs/security.md, "The local cache"). Every failure to read
 * it is a miss, every failure to write it is ignored: it only saves work. */
#ifndef P4REG_LOCALCACHE_H
#define P4REG_LOCALCACHE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <sys/stat.h>

typedef struct p4r_localcache p4r_localcache;

/* The cache of the repository at ROOT (real path) whose .p4reg folder has
 * stat META. Never fails but for memory (P4R_ERROR): without a usable
 * cache folder, or with a file for another repository, it starts empty. */
int p4r_localcache_open(p4r_localcache **out, const char *root, const struct stat *meta);
void p4r_localcache_free(p4r_localcache *lc);

/* The value stored under KEY, or NULL; owned by LC. */
const cJSON *p4r_localcache_get(const p4r_localcache *lc, const char *key);
/* Stores VALUE (consumed) under KEY and rewrites the file (0600, atomic);
 * false when it could not be written (the value still serves this run). */
bool p4r_localcache_put(p4r_localcache *lc, const char *key, cJSON *value);
/* Whether there is a cache folder to write to at all. */
bool p4r_localcache_writable(const p4r_localcache *lc);

#endif
