/* What gitio.c shares with the other modules that ask libgit2 (internal
 * to src/core): the handle's body and git's own way of finding a work
 * tree. Nothing outside src/core sees a libgit2 type. */
#ifndef P4REG_GITIO_PRIV_H
#define P4REG_GITIO_PRIV_H

#include "git/libgit2_dl.h"

struct p4r_git {
	git_repository *repo;
	char *workdir; /* no trailing slash */
	char *gitdir;  /* no trailing slash */
};

/* The first folder from DIR up holding a ".git" folder or gitfile,
 * malloc'd and symlink-free; NULL when there is none (or out of memory). */
char *p4r_git_find_toplevel(const char *dir);

#endif
