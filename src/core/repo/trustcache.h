/* Whether git tracks private state in .p4reg (repo.c's trust check),
 * internal to src/core. Asking git's index goes through libgit2, whose
 * start-up alone (it parses the system's CA bundle) costs a command about
 * 12 ms; the answer "nothing" is kept in the repository's local cache
 * (repo/localcache.h) keyed by the stat of every file it was read from,
 * and reused while none of them has changed. docs/security.md, "The trust
 * cache", says why a clone cannot make a kept answer wrong. */
#ifndef P4REG_TRUSTCACHE_H
#define P4REG_TRUSTCACHE_H

#include "repo/localcache.h"

/* p4r_git_tracked_pieces(ROOT, NAME, EXCEPT, TRACKED), from LC when it
 * holds the answer for the files as they are now; a fresh answer of
 * "nothing" read from libgit2's index is stored in LC unless one of its
 * files changed too recently to tell a later change from it (racily
 * clean: p4r_timestamps_known). */
int p4r_trustcache_tracked(p4r_localcache *lc, const char *root, const char *name,
			   const char *const *except, char **tracked);

#endif
