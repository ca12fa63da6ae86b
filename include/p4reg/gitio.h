/* Everything p4reg asks of git, through libgit2 (never a git process):
 * provenance of a version and staging pointer files in the index. Outside a
 * git work tree these report "no git" and p4reg works without git features. */
#ifndef P4REG_GITIO_H
#define P4REG_GITIO_H

#include <stdbool.h>
#include <stddef.h>

typedef struct p4r_git p4r_git;

/* Opens the git work tree containing DIR. *OUT is NULL (and 0 returned) when
 * there is none or the repository is bare: git features are then skipped. */
int p4r_git_open(p4r_git **out, const char *dir);
void p4r_git_free(p4r_git *git);

/* Absolute path of the work tree root (with no trailing slash). */
const char *p4r_git_workdir(const p4r_git *git);

/* Where the work tree stands: HEAD commit (NULL on an unborn branch), the
 * branch's short name (NULL when detached), and whether tracked files differ
 * from HEAD (untracked files do not count). Strings are malloc'd. */
typedef struct p4r_git_provenance {
	char *commit;
	char *branch;
	int dirty; /* 1, 0, -1 unknown */
} p4r_git_provenance;

int p4r_git_provenance_get(p4r_git *git, p4r_git_provenance *out);
void p4r_git_provenance_clear(p4r_git_provenance *p);

/* Adds the files at ABS_PATHS (absolute, inside the work tree) to the index
 * and writes it, all or nothing. A locked index (index.lock) is an error
 * naming the lock file; nothing is staged then. */
int p4r_git_stage(p4r_git *git, const char *const *abs_paths, size_t n);

#endif
