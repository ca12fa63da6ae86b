/* .gitattributes editing for `track` / `untrack`: the exact line
 * `git lfs track` writes ("PATTERN filter=lfs diff=lfs merge=lfs -text",
 * spaces escaped as [[:space:]] and '#' as \#), with every other byte of
 * the file kept: CRLF lines stay CRLF (an appended line takes the file's
 * line ending) and a missing final newline is supplied only where a line
 * is appended after it. */
#ifndef P4REG_ATTRIBUTES_H
#define P4REG_ATTRIBUTES_H

#include <stdbool.h>
#include <stddef.h>

#define P4R_ATTR_LFS " filter=lfs diff=lfs merge=lfs -text"
/* .gitattributes larger than this is refused rather than read. */
#define P4R_ATTR_FILE_MAX ((size_t)4 << 20)
#define P4R_ATTR_PATTERN_MAX 1024

/* What track did with one pattern. */
typedef enum p4r_attr_action {
	P4R_ATTR_ADDED,    /* a new line at the end */
	P4R_ATTR_REPLACED, /* a line for the pattern without filter=lfs became the LFS line */
	P4R_ATTR_ALREADY,  /* a filter=lfs line for the pattern was there: nothing written */
	P4R_ATTR_REMOVED,  /* untrack: its filter=lfs line(s) removed */
	P4R_ATTR_ABSENT,   /* untrack: no filter=lfs line for it */
} p4r_attr_action;

const char *p4r_attr_action_name(p4r_attr_action a);

/* The pattern as it goes into .gitattributes: a leading "./" dropped,
 * ' ' -> "[[:space:]]", '#' -> "\#". Empty patterns, control characters,
 * negative patterns ('!') and absolute paths are P4R_EUSAGE. */
int p4r_attr_escape(char *buf, size_t bufsz, const char *pattern);

/* Whether the gitattributes PATTERN (unescaped, as the user typed it)
 * matches the '/'-separated repository path PATH: a pattern without '/'
 * matches the base name, one with '/' the whole path (leading '/' anchors);
 * '*', '?', '[...]' and '**' as git's wildmatch. */
bool p4r_attr_pattern_matches(const char *pattern, const char *path);

/* P4R_EUSAGE when PATTERN would put p4reg's own files under Git LFS: its
 * metadata folder META_REL (".p4reg", or "sub/.p4reg" when the p4reg
 * repository sits below the git root) or pointer files ("*.p4reg"). */
int p4r_attr_check_pattern(const char *pattern, const char *meta_rel);

/* Edits TEXT (LEN bytes, may be empty) in memory: *OUT (malloc'd, NUL-
 * terminated, *OUTLEN bytes) is the new content; ACTIONS[i] (N entries)
 * says what happened to PATTERNS[i]. Track adds or replaces; untrack
 * removes filter=lfs lines of the pattern and nothing else. */
int p4r_attr_track_text(char **out, size_t *outlen, const char *text, size_t len,
			const char *const *patterns, size_t n, p4r_attr_action *actions);
int p4r_attr_untrack_text(char **out, size_t *outlen, const char *text, size_t len,
			  const char *const *patterns, size_t n, p4r_attr_action *actions);

/* The same on the file at PATH (a missing file is empty), written
 * atomically and only when something changed; *CHANGED (nullable). */
int p4r_attr_track_file(const char *path, const char *const *patterns, size_t n,
			p4r_attr_action *actions, bool *changed);
int p4r_attr_untrack_file(const char *path, const char *const *patterns, size_t n,
			  p4r_attr_action *actions, bool *changed);

/* The patterns of PATH's filter=lfs lines, as written (escaped), in file
 * order: *OUT is a malloc'd array of malloc'd strings (p4r_strv_free). */
int p4r_attr_list_lfs(const char *path, char ***out, size_t *n);

#endif
