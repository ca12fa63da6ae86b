/* The .gitignore lines `add` writes beside a model so git never sees its
 * bytes: an anchored "/name" with gitignore's special characters escaped;
 * for a folder model "/name/" (the trailing slash: only a folder matches,
 * so a file of that name beside it stays visible to git). */
#ifndef P4REG_IGNORE_H
#define P4REG_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

/* Writes the anchored, escaped pattern for file NAME into BUF ("/x.onnx"). */
int p4r_ignore_pattern(char *buf, size_t bufsz, const char *name);
/* The same for the folder NAME: "/minilm/". */
int p4r_ignore_pattern_dir(char *buf, size_t bufsz, const char *name);

/* Makes sure the .gitignore in the open folder DIRFD has the line for
 * NAME, appending it (atomically, keeping every existing byte; a missing
 * final newline is added) when absent. *ADDED (nullable) says whether the
 * file changed. A .gitignore that is a symbolic link or not a regular file
 * is refused (P4R_EUSAGE), never read or written through. DISPLAY names it
 * in messages. */
int p4r_ignore_ensure_at(int dirfd, const char *name, bool *added, const char *display);

/* Removes every line for NAME from the .gitignore in DIRFD, keeping every
 * other byte; a .gitignore left empty is deleted (only p4reg's line was in
 * it). *REMOVED (nullable): the file changed; *DELETED (nullable): it is
 * gone. No .gitignore, or none with the line, is 0 with nothing changed.
 * Refuses a link or non-regular file as p4r_ignore_ensure_at does. */
int p4r_ignore_remove_at(int dirfd, const char *name, bool *removed, bool *deleted, const char *display);

/* p4r_ignore_ensure_at and p4r_ignore_remove_at for the folder NAME's line
 * "/NAME/": the same rules; a file's line "/NAME" is a different line,
 * neither added nor removed by these. */
int p4r_ignore_ensure_dir_at(int dirfd, const char *name, bool *added, const char *display);
int p4r_ignore_remove_dir_at(int dirfd, const char *name, bool *removed, bool *deleted,
			     const char *display);

#endif
