/* The files of a model folder (see dirwalk.h): an openat/O_NOFOLLOW walk,
 * the exclude patterns and the folder's .p4regignore. */
#include "p4reg/dirwalk.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/manifest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define DIRWALK_MAX_DEPTH 64
#define IGNORE_FILE ".p4regignore"
#define IGNORE_MAX_BYTES (1u << 20)
#define PATTERN_MAX 4096

/* One walk: where the rows go, what is left out. */
typedef struct walk {
	p4r_dirwalk *out;
	const char *display;     /* the folder in messages */
	const char **pats;       /* the caller's excludes, then .p4regignore's lines */
	size_t npats;
} walk;

void p4r_dirwalk_clear(p4r_dirwalk *w)
{
	size_t i;

	if (!w)
		return;
	for (i = 0; i < w->n; i++)
		free(w->v[i].path);
	free(w->v);
	memset(w, 0, sizeof(*w));
}

/* One path (a file, or a folder with IS_DIR) against one pattern, whose
 * leading '/' anchors it and whose trailing '/' restricts it to folders. */
static bool match_one(const char *path, bool is_dir, const char *pat)
{
	char body[PATTERN_MAX + 1];
	size_t len = strlen(pat);
	bool anchored = pat[0] == '/', dir_only = len > 1 && pat[len - 1] == '/';
	const char *base = strrchr(path, '/');

	if (anchored)
		pat++, len--;
	if (dir_only)
		len--;
	if (len == 0 || len > PATTERN_MAX || (dir_only && !is_dir))
		return false;
	memcpy(body, pat, len);
	body[len] = '\0';
	anchored = anchored || strchr(body, '/');
	return fnmatch(body, anchored || !base ? path : base + 1, FNM_PATHNAME | FNM_PERIOD) == 0;
}

bool p4r_dirwalk_excluded(const char *path, bool is_dir, const char *const *patterns, size_t n)
{
	char prefix[PATTERN_MAX + 1];
	size_t len = strlen(path), i, end;

	if (len > PATTERN_MAX)
		return false;
	/* the path itself, then every folder above it: an excluded folder
	 * takes everything in it along */
	for (end = len; end > 0; end--) {
		if (end != len && path[end] != '/')
			continue;
		memcpy(prefix, path, end);
		prefix[end] = '\0';
		for (i = 0; i < n; i++)
			if (match_one(prefix, end != len || is_dir, patterns[i]))
				return true;
	}
	return false;
}

/* A pattern the walk can use; KIND ("exclude pattern" or "pattern") and
 * WHERE ("--exclude", "'models/m/.p4regignore' line 3") name it in messages. */
static int pattern_check(const char *pat, const char *kind, const char *where)
{
	size_t len = strlen(pat), i;

	for (i = 0; i < len; i++)
		if ((unsigned char)pat[i] < 0x20 || pat[i] == 0x7f)
			return p4r_error_set(P4R_EUSAGE, "invalid %s in %s: control character",
					     kind, where);
	if (len > PATTERN_MAX)
		return p4r_error_set(P4R_EUSAGE, "invalid %s in %s: too long", kind, where);
	if (pat[0] == '!')
		return p4r_error_set(P4R_EUSAGE, "invalid %s '%s' in %s: '!' (negation) "
				     "is not supported\nescape a leading '!' as '\\!'", kind, pat, where);
	if (!strcmp(pat, "/") || !strcmp(pat, "//") || len == 0 || (pat[0] == '/' && pat[1] == '/'))
		return p4r_error_set(P4R_EUSAGE, "invalid %s '%s' in %s: it names no path",
				     kind, pat, where);
	return 0;
}

static int pattern_push(walk *w, const char *pat)
{
	const char **grown = realloc(w->pats, (w->npats + 1) * sizeof(*grown));

	if (!grown)
		return p4r_error_set(P4R_ERROR, "out of memory");
	w->pats = grown;
	w->pats[w->npats++] = pat;
	return 0;
}

/* The lines of .p4regignore in BUF (split in place) as patterns: '#'
 * starts a comment line, blank lines and trailing blanks or CR are
 * skipped. */
static int ignore_lines(walk *w, char *buf, size_t len)
{
	char where[PATTERN_MAX + 64];
	size_t lineno = 0;
	char *p = buf, *end = buf + len;
	int rc;

	if (memchr(buf, '\0', len))
		return p4r_error_set(P4R_EUSAGE, "'%s/%s' contains a NUL byte", w->display, IGNORE_FILE);
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;

		lineno++;
		*e = '\0';
		while (e > p && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (*p && *p != '#') {
			snprintf(where, sizeof(where), "'%s/" IGNORE_FILE "' line %zu", w->display, lineno);
			if ((rc = pattern_check(p, "pattern", where)) < 0 || (rc = pattern_push(w, p)) < 0)
				return rc;
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

/* Reads DIRFD/.p4regignore into *BUF (kept for the patterns' life); none
 * is fine, a link or anything but a regular file is refused unread. */
static int ignore_read(walk *w, int dirfd, char **buf)
{
	char display[PATTERN_MAX + 32];
	size_t len = 0;
	int rc;

	snprintf(display, sizeof(display), "%s/%s", w->display, IGNORE_FILE);
	rc = p4r_read_file_at(buf, &len, dirfd, IGNORE_FILE, IGNORE_MAX_BYTES, display);
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		return 0;
	}
	return rc < 0 ? rc : ignore_lines(w, *buf, len);
}

static bool reserved_name(const char *name)
{
	return !strcasecmp(name, ".git") || !strcasecmp(name, ".p4reg");
}

/* Why a model folder cannot hold the entry NAME of mode MODE, or NULL. */
static const char *refusal(const char *rel, const char *name, mode_t mode)
{
	if (reserved_name(name))
		return "is a .git or .p4reg entry: a model folder cannot hold one";
	if (S_ISLNK(mode))
		return "is a symbolic link: a model folder holds regular files only";
	if (!S_ISREG(mode) && !S_ISDIR(mode))
		return "is a FIFO, device or socket: a model folder holds regular files only";
	if (!p4r_manifest_path_valid(rel))
		return "is not a valid path in a model folder (control character, backslash or "
		       "too long)";
	return NULL;
}

static int refuse(const walk *w, const char *rel, const char *why)
{
	return p4r_error_set(P4R_EUSAGE, "'%s/%s' %s", w->display, rel, why);
}

static int add_file(walk *w, char *rel, const struct stat *st)
{
	p4r_dirwalk *o = w->out;

	if (o->n >= P4R_MANIFEST_MAX_FILES)
		return p4r_error_set(P4R_EUSAGE, "'%s' holds more than %d files", w->display,
				     P4R_MANIFEST_MAX_FILES);
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 64;
		p4r_dirwalk_file *grown = realloc(o->v, cap * sizeof(*grown));

		if (!grown)
			return p4r_error_set(P4R_ERROR, "out of memory");
		o->v = grown;
		o->cap = cap;
	}
	o->v[o->n].path = rel;
	o->v[o->n++].st = *st;
	return 0;
}

static int walk_dir(walk *w, int fd, const char *prefix, int depth);

/* Opens the folder NAME in FD without following a link and walks it. */
static int descend(walk *w, int fd, const char *name, const char *rel, int depth)
{
	int sub, rc;

	if (depth >= DIRWALK_MAX_DEPTH)
		return p4r_error_set(P4R_EUSAGE, "'%s/%s' is nested too deeply (more than %d folders)",
				     w->display, rel, DIRWALK_MAX_DEPTH);
	sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0 && (errno == ELOOP || errno == ENOTDIR))
		return refuse(w, rel, "changed while it was read (now a symbolic link or a file)");
	if (sub < 0)
		return p4r_error_errno("cannot open folder '%s/%s'", w->display, rel);
	rc = walk_dir(w, sub, rel, depth + 1);
	close(sub);
	return rc;
}

/* One entry NAME of the folder FD (at PREFIX, "" at the top). */
static int walk_entry(walk *w, int fd, const char *prefix, const char *name, int depth)
{
	char *rel = *prefix ? p4r_path_join(prefix, name) : strdup(name);
	struct stat st;
	const char *why;
	int rc = 0;

	if (!rel)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		rc = p4r_error_errno("cannot stat '%s/%s'", w->display, rel);
		goto done;
	}
	if (!reserved_name(name) && p4r_dirwalk_excluded(rel, S_ISDIR(st.st_mode), w->pats, w->npats))
		goto done;
	if ((why = refusal(rel, name, st.st_mode)))
		rc = refuse(w, rel, why);
	else if (S_ISDIR(st.st_mode))
		rc = descend(w, fd, name, rel, depth);
	else if ((rc = add_file(w, rel, &st)) == 0)
		rel = NULL;
done:
	free(rel);
	return rc;
}

/* Every entry of the open folder FD; FD stays the caller's. */
static int walk_dir(walk *w, int fd, const char *prefix, int depth)
{
	int own = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;
	DIR *d = own >= 0 ? fdopendir(own) : NULL;
	struct dirent *e;

	if (!d) {
		rc = p4r_error_errno("cannot read folder '%s%s%s'", w->display, *prefix ? "/" : "",
				     prefix);
		if (own >= 0)
			close(own);
		return rc;
	}
	while (rc == 0) {
		errno = 0;
		if (!(e = readdir(d))) {
			if (errno)
				rc = p4r_error_errno("cannot read folder '%s'", w->display);
			break;
		}
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			rc = walk_entry(w, fd, prefix, e->d_name, depth);
	}
	closedir(d);
	return rc;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const p4r_dirwalk_file *)a)->path, ((const p4r_dirwalk_file *)b)->path);
}

/* The caller's patterns, each checked. */
static int excludes_take(walk *w, const p4r_dirwalk_opts *opts)
{
	size_t i;
	int rc;

	for (i = 0; i < opts->nexcludes; i++)
		if ((rc = pattern_check(opts->excludes[i], "exclude pattern", "--exclude")) < 0 ||
		    (rc = pattern_push(w, opts->excludes[i])) < 0)
			return rc;
	return 0;
}

int p4r_dirwalk_list(p4r_dirwalk *out, int dirfd, const p4r_dirwalk_opts *opts)
{
	walk w = { out, opts->display ? opts->display : ".", NULL, 0 };
	char *ignore_buf = NULL;
	int rc;

	p4r_dirwalk_clear(out);
	if ((rc = excludes_take(&w, opts)) < 0)
		goto done;
	if (opts->read_ignore_file && (rc = ignore_read(&w, dirfd, &ignore_buf)) < 0)
		goto done;
	if ((rc = walk_dir(&w, dirfd, "", 0)) < 0)
		goto done;
	if (out->n == 0 && !opts->allow_empty) {
		rc = p4r_error_set(P4R_EUSAGE, "no file to add in '%s'", w.display);
		goto done;
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), by_path);
done:
	if (rc < 0)
		p4r_dirwalk_clear(out);
	free(w.pats);
	free(ignore_buf);
	return rc;
}
