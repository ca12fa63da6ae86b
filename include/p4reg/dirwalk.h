/* The files of a model folder (docs/formats.md, "Folder models"): a walk
 * below a folder already opened beneath the repository root, by openat and
 * O_NOFOLLOW only, so no link planted in the folder is ever followed.
 * Hidden files are included; a symbolic link, a FIFO, device or socket, and
 * a ".git" or ".p4reg" entry (any case) are refused naming the path; files
 * matching an exclude pattern (the caller's and the folder's .p4regignore)
 * are left out. */
#ifndef P4REG_DIRWALK_H
#define P4REG_DIRWALK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

typedef struct p4r_dirwalk_file {
	char *path;      /* owned; inside the folder, '/'-separated */
	struct stat st;  /* lstat of the file, taken when it was found */
} p4r_dirwalk_file;

typedef struct p4r_dirwalk {
	p4r_dirwalk_file *v; /* sorted by path (strcmp) */
	size_t n, cap;
} p4r_dirwalk;

typedef struct p4r_dirwalk_opts {
	const char *display;          /* the folder as the user names it, for messages */
	const char *const *excludes;  /* --exclude patterns, nullable */
	size_t nexcludes;
	bool read_ignore_file;        /* also the lines of DIR/.p4regignore */
	bool allow_empty;             /* an empty result is 0, not P4R_EUSAGE */
} p4r_dirwalk_opts;

/* Lists the regular files below the open folder DIRFD into OUT (cleared
 * first). P4R_EUSAGE naming the entry for anything a model folder may not
 * hold, for an invalid exclude pattern, and (unless allow_empty) for a
 * folder with no file left: "no file to add in 'models/m'". */
int p4r_dirwalk_list(p4r_dirwalk *out, int dirfd, const p4r_dirwalk_opts *opts);

/* True when PATH (inside the folder) is excluded by PATTERNS: fnmatch with
 * FNM_PATHNAME | FNM_PERIOD; a pattern without '/' matches the base name
 * at any depth; a pattern ending in '/' matches a folder and everything in
 * it. */
bool p4r_dirwalk_excluded(const char *path, bool is_dir, const char *const *patterns, size_t n);

void p4r_dirwalk_clear(p4r_dirwalk *w);

#endif
