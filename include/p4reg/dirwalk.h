/* The files of a model folder (docs/formats.md, "Folder models"): a walk
 * below a folder already opened beneath the repository root, by openat and
 * O_NOFOLLOW only, so no link planted in the folder is ever followed.
 * Hidden files are included; a symbolic link, a FIFO, device or socket, and
 * a ".git" or ".p4reg" entry (any case) are refused naming the path; files
 * matching an exclude pattern (the caller's and the folder's .p4regignore)
 * are left out. Excludes are asked first: an excluded link or FIFO is left
 * out (never followed or opened), an excluded folder is not entered; only
 * ".git" and ".p4reg" are refused even when a pattern names them. The
 * .p4regignore file itself is listed like any file (a checkout brings it
 * back, so the next add leaves out the same files). */
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
 * first; on failure left empty): at most P4R_MANIFEST_MAX_FILES, at most 64
 * folders deep, every path valid for a manifest (p4r_manifest_path_valid).
 * P4R_EUSAGE naming "DISPLAY/path" for anything a model folder may not
 * hold, for an invalid exclude pattern (empty, a control character, a
 * leading '!'), and (unless allow_empty) for a folder with no file left:
 * "no file to add in 'models/m'". .p4regignore (with read_ignore_file):
 * one pattern a line, '#' starts a comment line, blank lines and trailing
 * blanks ignored; missing is fine, a symbolic link is refused unread. */
int p4r_dirwalk_list(p4r_dirwalk *out, int dirfd, const p4r_dirwalk_opts *opts);

/* True when PATH (inside the folder) is excluded by PATTERNS: fnmatch with
 * FNM_PATHNAME | FNM_PERIOD ('*' crosses no '/' and matches no leading
 * '.'); a pattern without '/' matches the base name at any depth; one with
 * a '/' (a leading '/' included, then dropped) matches the whole path from
 * the folder's top; a pattern ending in '/' matches a folder and everything
 * in it. IS_DIR: PATH is a folder. */
bool p4r_dirwalk_excluded(const char *path, bool is_dir, const char *const *patterns, size_t n);

void p4r_dirwalk_clear(p4r_dirwalk *w);

#endif
