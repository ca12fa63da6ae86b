/* .gitattributes editing for track/untrack (see attributes.h). The file is
 * edited as bytes, line by line, so whatever p4reg does not touch stays
 * exactly as it was. */
#include "p4reg/attributes.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"

#include <ctype.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *p4r_attr_action_name(p4r_attr_action a)
{
	switch (a) {
	case P4R_ATTR_ADDED: return "added";
	case P4R_ATTR_REPLACED: return "replaced";
	case P4R_ATTR_ALREADY: return "already";
	case P4R_ATTR_REMOVED: return "removed";
	default: return "absent";
	}
}

int p4r_attr_escape(char *buf, size_t bufsz, const char *pattern)
{
	const char *p = pattern;
	size_t n = 0;

	while (p[0] == '.' && p[1] == '/')
		p += 2;
	if (!*p)
		return p4r_error_set(P4R_EUSAGE, "empty pattern '%s'", pattern);
	if (*p == '!')
		return p4r_error_set(P4R_EUSAGE, "negative pattern '%s' is not allowed in .gitattributes", pattern);
	if (*p == '/' && p[1] == '/')
		return p4r_error_set(P4R_EUSAGE, "invalid pattern '%s'", pattern);
	for (; *p; p++) {
		const char *rep = NULL;
		char one[2] = { *p, '\0' };
		size_t rlen;

		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return p4r_error_set(P4R_EUSAGE, "pattern '%s' contains a control character", pattern);
		if (*p == ' ')
			rep = "[[:space:]]";
		else if (*p == '#')
			rep = "\\#";
		else
			rep = one;
		rlen = strlen(rep);
		if (n + rlen >= bufsz || n + rlen > P4R_ATTR_PATTERN_MAX)
			return p4r_error_set(P4R_EUSAGE, "pattern '%.64s...' is too long", pattern);
		memcpy(buf + n, rep, rlen);
		n += rlen;
	}
	buf[n] = '\0';
	return 0;
}

/* ---- matching (git's wildmatch with WM_PATHNAME, enough for the check) ---- */

static bool class_matches(const char *name, size_t len, unsigned char c)
{
	static const struct { const char *name; int (*fn)(int); } classes[] = {
		{ "alnum", isalnum }, { "alpha", isalpha }, { "blank", isblank },
		{ "cntrl", iscntrl }, { "digit", isdigit }, { "graph", isgraph },
		{ "lower", islower }, { "print", isprint }, { "punct", ispunct },
		{ "space", isspace }, { "upper", isupper }, { "xdigit", isxdigit },
	};
	size_t i;

	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (strlen(classes[i].name) == len && !memcmp(classes[i].name, name, len))
			return classes[i].fn(c) != 0;
	return false;
}

/* Matches the bracket expression at *PP against C and moves *PP past it;
 * false with *PP NULL when the expression is unterminated. */
static bool bracket(const char **pp, unsigned char c)
{
	const char *p = *pp + 1;
	bool neg = false, hit = false, first = true;

	if (*p == '!' || *p == '^') {
		neg = true;
		p++;
	}
	for (; *p && (first || *p != ']'); first = false) {
		if (p[0] == '[' && p[1] == ':') {
			const char *end = strstr(p + 2, ":]");

			if (!end) {
				*pp = NULL;
				return false;
			}
			if (class_matches(p + 2, (size_t)(end - p - 2), c))
				hit = true;
			p = end + 2;
			continue;
		}
		if (*p == '\\' && p[1])
			p++;
		if (p[1] == '-' && p[2] && p[2] != ']') {
			unsigned char lo = (unsigned char)p[0], hi = (unsigned char)p[2];

			if (p[2] == '\\' && p[3])
				hi = (unsigned char)p[3], p++;
			if (c >= lo && c <= hi)
				hit = true;
			p += 3;
			continue;
		}
		if ((unsigned char)*p == c)
			hit = true;
		p++;
	}
	if (*p != ']') {
		*pp = NULL;
		return false;
	}
	*pp = p + 1;
	return c != '/' && hit != neg;
}

static bool wildmatch(const char *start, const char *p, const char *t)
{
	for (; *p; ) {
		switch (*p) {
		case '\\':
			if (!p[1] || *t != p[1])
				return false;
			p += 2;
			t++;
			break;
		case '?':
			if (!*t || *t == '/')
				return false;
			p++;
			t++;
			break;
		case '[': {
			const char *q = p;

			if (!*t || !bracket(&q, (unsigned char)*t))
				return false;
			p = q;
			t++;
			break;
		}
		case '*': {
			bool seg_start = p == start || p[-1] == '/';
			bool dbl = p[1] == '*';

			while (*p == '*')
				p++;
			if (dbl && seg_start && (*p == '\0' || *p == '/')) {
				if (*p == '\0')
					return true;
				p++; /* "**" + "/": zero or more folders */
				for (;;) {
					const char *slash;

					if (wildmatch(start, p, t))
						return true;
					if (!(slash = strchr(t, '/')))
						return false;
					t = slash + 1;
				}
			}
			for (;; t++) {
				if (wildmatch(start, p, t))
					return true;
				if (!*t || *t == '/')
					return false;
			}
		}
		default:
			if (*t != *p)
				return false;
			p++;
			t++;
		}
	}
	return *t == '\0';
}

bool p4r_attr_pattern_matches(const char *pattern, const char *path)
{
	char pat[P4R_ATTR_PATTERN_MAX + 1];
	const char *base;
	size_t len;

	while (pattern[0] == '.' && pattern[1] == '/')
		pattern += 2;
	len = strlen(pattern);
	if (len == 0 || len > P4R_ATTR_PATTERN_MAX)
		return false;
	memcpy(pat, pattern, len + 1);
	/* "dir/" names the folder itself in gitattributes */
	while (len > 1 && pat[len - 1] == '/')
		pat[--len] = '\0';
	if (!strchr(pat, '/')) {
		base = strrchr(path, '/');
		return wildmatch(pat, pat, base ? base + 1 : path);
	}
	return wildmatch(pat[0] == '/' ? pat + 1 : pat, pat[0] == '/' ? pat + 1 : pat, path);
}

int p4r_attr_check_pattern(const char *pattern, const char *meta_rel)
{
	static const char *const inside[] = {
		"", "/config", "/.gitignore", "/config.local", "/registry.db",
		"/objects/e3/b0/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"/tmp/x",
	};
	/* sample pointers sit in a folder no real pattern names: "models/x" passes */
	static const char *const pointers[] = { "model.onnx.p4reg", "p4reg-sample/model.onnx.p4reg" };
	char path[4096];
	size_t i;

	for (i = 0; i < sizeof(inside) / sizeof(inside[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", meta_rel, inside[i]);
		if (p4r_attr_pattern_matches(pattern, path))
			return p4r_error_set(P4R_EUSAGE, "pattern '%s' matches '%s': p4reg's own files "
					     "cannot be stored in Git LFS", pattern, path);
	}
	for (i = 0; i < sizeof(pointers) / sizeof(pointers[0]); i++)
		if (p4r_attr_pattern_matches(pattern, pointers[i]))
			return p4r_error_set(P4R_EUSAGE, "pattern '%s' matches pointer files ('%s'): "
					     "p4reg's own files cannot be stored in Git LFS", pattern,
					     pointers[i]);
	return 0;
}

/* ---- editing ---- */

/* One line of the file: [start, content_end) is the text, [content_end,
 * end) its terminator ("", "\n" or "\r\n"). */
struct line {
	size_t start, content_end, end;
};

static bool next_line(const char *text, size_t len, size_t *pos, struct line *l)
{
	const char *nl;

	if (*pos >= len)
		return false;
	l->start = *pos;
	nl = memchr(text + *pos, '\n', len - *pos);
	l->end = nl ? (size_t)(nl - text) + 1 : len;
	l->content_end = nl ? (size_t)(nl - text) : len;
	if (l->content_end > l->start && text[l->content_end - 1] == '\r')
		l->content_end--;
	*pos = l->end;
	return true;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Whether line L's first field is PAT, and whether a later field is
 * "filter=lfs". */
static void examine(const char *text, const struct line *l, const char *pat, bool *same, bool *lfs)
{
	size_t i = l->start, e = l->content_end, f, plen = strlen(pat);

	*same = *lfs = false;
	while (i < e && is_blank(text[i]))
		i++;
	f = i;
	while (i < e && !is_blank(text[i]))
		i++;
	*same = i - f == plen && !memcmp(text + f, pat, plen);
	while (i < e) {
		while (i < e && is_blank(text[i]))
			i++;
		f = i;
		while (i < e && !is_blank(text[i]))
			i++;
		if (i - f == 10 && !memcmp(text + f, "filter=lfs", 10))
			*lfs = true;
	}
}

/* A growing byte buffer. */
struct buf {
	char *data;
	size_t len, cap;
};

static int buf_add(struct buf *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *d;

		while (cap < b->len + len + 1)
			cap *= 2;
		if (!(d = realloc(b->data, cap)))
			return p4r_error_set(P4R_ERROR, "out of memory");
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

/* The line ending the file already uses: that of its first terminated line. */
static const char *file_eol(const char *text, size_t len)
{
	const char *nl = memchr(text, '\n', len);

	return nl && nl > text && nl[-1] == '\r' ? "\r\n" : "\n";
}

static int track_one(struct buf *out, const char *text, size_t len, const char *pat,
		     p4r_attr_action *action)
{
	const char *eol = file_eol(text, len);
	struct line l;
	size_t pos = 0;
	bool same, lfs, done = false;
	int rc = 0;

	/* a filter=lfs line already there: nothing to write */
	while (next_line(text, len, &pos, &l)) {
		examine(text, &l, pat, &same, &lfs);
		if (same && lfs) {
			*action = P4R_ATTR_ALREADY;
			return buf_add(out, text, len);
		}
	}
	pos = 0;
	while (rc == 0 && next_line(text, len, &pos, &l)) {
		examine(text, &l, pat, &same, &lfs);
		if (same && !done) {
			/* git lfs track turns the pattern's existing line into the LFS one */
			done = true;
			*action = P4R_ATTR_REPLACED;
			if ((rc = buf_add(out, pat, strlen(pat))) == 0 &&
			    (rc = buf_add(out, P4R_ATTR_LFS, strlen(P4R_ATTR_LFS))) == 0)
				rc = buf_add(out, text + l.content_end, l.end - l.content_end);
			if (rc == 0 && l.end == l.content_end && l.end == len)
				rc = buf_add(out, eol, strlen(eol));
			continue;
		}
		rc = buf_add(out, text + l.start, l.end - l.start);
	}
	if (rc < 0 || done)
		return rc;
	*action = P4R_ATTR_ADDED;
	if (len > 0 && text[len - 1] != '\n')
		rc = buf_add(out, eol, strlen(eol));
	if (rc == 0)
		rc = buf_add(out, pat, strlen(pat));
	if (rc == 0)
		rc = buf_add(out, P4R_ATTR_LFS, strlen(P4R_ATTR_LFS));
	if (rc == 0)
		rc = buf_add(out, eol, strlen(eol));
	return rc;
}

static int untrack_one(struct buf *out, const char *text, size_t len, const char *pat,
		       p4r_attr_action *action)
{
	struct line l;
	size_t pos = 0;
	bool same, lfs;
	int rc = 0;

	*action = P4R_ATTR_ABSENT;
	while (rc == 0 && next_line(text, len, &pos, &l)) {
		examine(text, &l, pat, &same, &lfs);
		if (same && lfs) {
			*action = P4R_ATTR_REMOVED;
			continue;
		}
		rc = buf_add(out, text + l.start, l.end - l.start);
	}
	return rc;
}

typedef int (*edit_fn)(struct buf *out, const char *text, size_t len, const char *pat,
		       p4r_attr_action *action);

static int edit_text(edit_fn fn, char **out, size_t *outlen, const char *text, size_t len,
		     const char *const *patterns, size_t n, p4r_attr_action *actions)
{
	struct buf cur = { 0 }, next = { 0 };
	char pat[P4R_ATTR_PATTERN_MAX + 1];
	size_t i;
	int rc;

	*out = NULL;
	*outlen = 0;
	if ((rc = buf_add(&cur, text, len)) < 0)
		return rc;
	for (i = 0; i < n; i++) {
		if ((rc = p4r_attr_escape(pat, sizeof(pat), patterns[i])) < 0 ||
		    (rc = fn(&next, cur.data, cur.len, pat, &actions[i])) < 0)
			break;
		if (!next.data && (rc = buf_add(&next, "", 0)) < 0)
			break;
		free(cur.data);
		cur = next;
		memset(&next, 0, sizeof(next));
	}
	free(next.data);
	if (rc < 0) {
		free(cur.data);
		return rc;
	}
	*out = cur.data;
	*outlen = cur.len;
	return 0;
}

int p4r_attr_track_text(char **out, size_t *outlen, const char *text, size_t len,
			const char *const *patterns, size_t n, p4r_attr_action *actions)
{
	return edit_text(track_one, out, outlen, text, len, patterns, n, actions);
}

int p4r_attr_untrack_text(char **out, size_t *outlen, const char *text, size_t len,
			  const char *const *patterns, size_t n, p4r_attr_action *actions)
{
	return edit_text(untrack_one, out, outlen, text, len, patterns, n, actions);
}

/* Reads PATH, or "" when it does not exist; *MODE gets its permissions. */
static int read_attributes(char **text, size_t *len, int *mode, const char *path)
{
	struct stat st;
	int rc;

	*mode = 0644;
	/* the file is opened, not checked and then followed: a symbolic link
	 * (which could name a secret to be copied and staged) is refused */
	rc = p4r_read_file_at(text, len, AT_FDCWD, path, P4R_ATTR_FILE_MAX, path);
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		*text = strdup("");
		*len = 0;
		return *text ? 0 : p4r_error_set(P4R_ERROR, "out of memory");
	}
	if (rc == 0 && lstat(path, &st) == 0)
		*mode = (int)(st.st_mode & 0777);
	if (rc == 0 && memchr(*text, '\0', *len)) {
		free(*text);
		*text = NULL;
		return p4r_error_set(P4R_EUSAGE, "'%s' contains a NUL byte", path);
	}
	return rc;
}

static int edit_file(edit_fn fn, const char *path, const char *const *patterns, size_t n,
		     p4r_attr_action *actions, bool *changed)
{
	char *text = NULL, *out = NULL;
	size_t len = 0, outlen = 0;
	int mode, rc;

	if (changed)
		*changed = false;
	if ((rc = read_attributes(&text, &len, &mode, path)) < 0)
		return rc;
	if ((rc = edit_text(fn, &out, &outlen, text, len, patterns, n, actions)) < 0)
		goto done;
	if (outlen == len && !memcmp(out, text, len))
		goto done;
	if ((rc = p4r_write_file_atomic(path, out, outlen, mode)) == 0 && changed)
		*changed = true;
done:
	free(text);
	free(out);
	return rc;
}

int p4r_attr_track_file(const char *path, const char *const *patterns, size_t n,
			p4r_attr_action *actions, bool *changed)
{
	return edit_file(track_one, path, patterns, n, actions, changed);
}

int p4r_attr_untrack_file(const char *path, const char *const *patterns, size_t n,
			  p4r_attr_action *actions, bool *changed)
{
	return edit_file(untrack_one, path, patterns, n, actions, changed);
}

int p4r_attr_list_lfs(const char *path, char ***out, size_t *n)
{
	char *text = NULL, **v = NULL;
	size_t len = 0, pos = 0, cap = 0, count = 0;
	struct line l;
	int mode, rc;

	*out = NULL;
	*n = 0;
	if ((rc = read_attributes(&text, &len, &mode, path)) < 0)
		return rc;
	while (rc == 0 && next_line(text, len, &pos, &l)) {
		size_t i = l.start, f;
		bool same, lfs;
		char *pat;

		examine(text, &l, "", &same, &lfs);
		if (!lfs)
			continue;
		while (i < l.content_end && is_blank(text[i]))
			i++;
		f = i;
		while (i < l.content_end && !is_blank(text[i]))
			i++;
		if (count == cap) {
			char **nv = realloc(v, (cap = cap ? cap * 2 : 8) * sizeof(*v));

			if (!nv) {
				rc = p4r_error_set(P4R_ERROR, "out of memory");
				break;
			}
			v = nv;
		}
		if (!(pat = strndup(text + f, i - f))) {
			rc = p4r_error_set(P4R_ERROR, "out of memory");
			break;
		}
		v[count++] = pat;
	}
	free(text);
	if (rc < 0) {
		while (count)
			free(v[--count]);
		free(v);
		return rc;
	}
	*out = v;
	*n = count;
	return 0;
}
