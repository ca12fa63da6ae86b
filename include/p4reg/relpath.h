/* The text check of a repository-relative path that came from somewhere
 * untrusted (a remote event, a registry row, a pointer file). It is the
 * first filter, never the guard: the file system is still opened beneath
 * the work tree at the moment of use. */
#ifndef P4REG_RELPATH_H
#define P4REG_RELPATH_H

#include <stdbool.h>

/* Longest path accepted, in bytes. */
#define P4R_RELPATH_MAX 4096
/* Longest component: NAME_MAX, and for the last one room for ".p4reg". */
#define P4R_RELPATH_COMPONENT_MAX 255
#define P4R_RELPATH_LAST_MAX (P4R_RELPATH_COMPONENT_MAX - 6)

/* Checks that P can be a path in the work tree: 0, or P4R_EUSAGE with a
 * message naming P and the rule it breaks. The rules are those of
 * p4r_relpath_valid but the last one (P may name a pointer file). */
int p4r_relpath_check(const char *p);

/* True when P can name a model in the work tree: 1..P4R_RELPATH_MAX bytes,
 * '/'-separated, not absolute; no empty, "." or ".." component; no
 * component longer than P4R_RELPATH_COMPONENT_MAX (the last one at most
 * P4R_RELPATH_LAST_MAX, so its pointer name fits); no control character,
 * DEL or backslash; no component that is, in any case, ".git", ".p4reg",
 * ".gitignore", ".gitattributes" or ".gitmodules"; and a last component
 * that does not end in ".p4reg" (a model's bytes must never land on a
 * pointer file). */
bool p4r_relpath_valid(const char *p);

/* DIR (a repository-relative folder, "" for the root) joined with PATH
 * (relative) by text, "." and ".." resolved, into *OUT (malloc'd; "" for
 * the root): how a file that names another relative to itself (a .dvc
 * file's output, a DVC config's cache.dir) is read. P4R_EUSAGE when PATH
 * is absolute or its ".." leave the repository (no message: the caller
 * says what leaves); the result is not otherwise checked. */
int p4r_relpath_resolve(const char *dir, const char *path, char **out);

#endif
