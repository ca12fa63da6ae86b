/* Folder manifests: the canonical text of a directory version (see
 * manifest.h and docs/formats.md). */
#include "p4reg/manifest.h"
#include "p4reg/error.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HEADER "p4reg-manifest 1\n"
#define PATH_MAX_BYTES 4096
#define COMPONENT_MAX 255

void p4r_manifest_clear(p4r_manifest *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static bool component_valid(const char *c, size_t len)
{
	size_t i;

	if (len == 0 || len > COMPONENT_MAX || (len == 1 && c[0] == '.') ||
	    (len == 2 && c[0] == '.' && c[1] == '.'))
		return false;
	if ((len == 4 && !strncasecmp(c, ".git", 4)) || (len == 6 && !strncasecmp(c, ".p4reg", 6)))
		return false;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)c[i];

		if (ch < 0x20 || ch == 0x7f || ch == '\\')
			return false;
	}
	return true;
}

bool p4r_manifest_path_valid(const char *p)
{
	size_t len = strlen(p);
	const char *c = p;

	if (len == 0 || len > PATH_MAX_BYTES || p[0] == '/')
		return false;
	for (;;) {
		const char *slash = strchr(c, '/');
		size_t clen = slash ? (size_t)(slash - c) : strlen(c);

		if (!component_valid(c, clen))
			return false;
		if (!slash)
			return true;
		c = slash + 1;
	}
}

int p4r_manifest_add(p4r_manifest *m, const char *path, const p4r_oid *oid, int64_t size, bool exec)
{
	p4r_manifest_entry *e;

	if (!p4r_manifest_path_valid(path))
		return p4r_error_set(P4R_EUSAGE, "'%s' cannot be a file of a model folder", path);
	if (size < 0 || size > P4R_MANIFEST_MAX_SIZE || !p4r_oid_valid(oid->hex))
		return p4r_error_set(P4R_EUSAGE, "'%s': invalid object or size", path);
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		p4r_manifest_entry *v = realloc(m->v, cap * sizeof(*v));

		if (!v)
			return p4r_error_set(P4R_ERROR, "out of memory");
		m->v = v;
		m->cap = cap;
	}
	e = &m->v[m->n];
	if (!(e->path = strdup(path)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	e->oid = *oid;
	e->size = size;
	e->exec = exec;
	/* entries added in order (a walk, registry rows) need no sort later */
	m->sorted = m->n == 0 || (m->sorted && strcmp(m->v[m->n - 1].path, path) < 0);
	m->n++;
	return 0;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const p4r_manifest_entry *)a)->path, ((const p4r_manifest_entry *)b)->path);
}

/* The entry of sorted M whose path is the first LEN bytes of PATH, or NULL. */
static const p4r_manifest_entry *bisect(const p4r_manifest *m, const char *path, size_t len)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(m->v[mid].path, path, len);

		if (c == 0 && m->v[mid].path[len] == '\0')
			return &m->v[mid];
		/* equal first LEN bytes but longer: after PATH in strcmp order */
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* In sorted M: -1 with *BAD when a path is not strictly after the one
 * before it (a repeat), -2 when a folder of a path is itself a file
 * ("a" and "a/b"): each path's folders are looked up, O(n depth log n). */
static int check_sorted(const p4r_manifest *m, size_t *bad)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		const char *p = m->v[i].path, *slash;

		if (i > 0 && strcmp(m->v[i - 1].path, p) >= 0) {
			*bad = i;
			return -1;
		}
		for (slash = strchr(p, '/'); slash; slash = strchr(slash + 1, '/')) {
			if (bisect(m, p, (size_t)(slash - p))) {
				*bad = i;
				return -2;
			}
		}
	}
	return 0;
}

/* Decimal digits of V >= 0. */
static size_t digits(int64_t v)
{
	size_t n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* "MODE OID SIZE PATH\n" of E: its length, and the bytes at OUT unless
 * NULL (a folder of 10,000 files is encoded on every status: no printf). */
static size_t encoded_line(char *out, const p4r_manifest_entry *e)
{
	size_t nd = digits(e->size), plen = strlen(e->path), i;
	int64_t v = e->size;

	if (!out)
		return 4 + P4R_OID_HEXLEN + 1 + nd + 1 + plen + 1;
	memcpy(out, e->exec ? "755 " : "644 ", 4);
	memcpy(out + 4, e->oid.hex, P4R_OID_HEXLEN);
	out += 4 + P4R_OID_HEXLEN;
	*out++ = ' ';
	for (i = nd; i > 0; i--, v /= 10)
		out[i - 1] = (char)('0' + v % 10);
	out += nd;
	*out++ = ' ';
	memcpy(out, e->path, plen);
	out[plen] = '\n';
	return 4 + P4R_OID_HEXLEN + 1 + nd + 1 + plen + 1;
}

int p4r_manifest_encode(p4r_manifest *m, char **buf, size_t *len)
{
	size_t total = strlen(HEADER), i, bad, off;
	char *out;
	int rc;

	*buf = NULL;
	*len = 0;
	if (m->n == 0)
		return p4r_error_set(P4R_EUSAGE, "a model folder needs at least one file");
	if (!m->sorted)
		qsort(m->v, m->n, sizeof(*m->v), by_path);
	m->sorted = true;
	if ((rc = check_sorted(m, &bad)) < 0)
		return p4r_error_set(P4R_EUSAGE, rc == -1 ? "'%s' is in the folder twice"
							  : "'%s' is both a file and inside a folder of that name",
				     m->v[bad].path);
	for (i = 0; i < m->n; i++)
		total += encoded_line(NULL, &m->v[i]);
	if (!(out = malloc(total + 1)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	memcpy(out, HEADER, strlen(HEADER));
	off = strlen(HEADER);
	for (i = 0; i < m->n; i++)
		off += encoded_line(out + off, &m->v[i]);
	out[off] = '\0';
	*buf = out;
	*len = total;
	return 0;
}

/* ---- decoding ---- */

struct reader {
	const char *what;
	size_t line;
};

static int bad(const struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(const struct reader *r, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return p4r_error_set(P4R_EINTEGRITY, "invalid %s line %zu: %s", r->what, r->line, why);
}

/* A canonical decimal (no sign, no leading zero) of at most MAX. */
static bool parse_size(const char *s, size_t len, int64_t *out)
{
	int64_t v = 0;
	size_t i;

	if (len == 0 || len > 16 || (s[0] == '0' && len > 1))
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return v <= P4R_MANIFEST_MAX_SIZE;
}

/* One "<mode> <oid> <size> <path>" line of LEN bytes (no newline) into M. */
static int decode_line(p4r_manifest *m, const struct reader *r, const char *s, size_t len)
{
	const char *sp;
	char path[PATH_MAX_BYTES + 1];
	p4r_oid oid;
	int64_t size;
	bool exec;

	if (len < 4 + 65 + 2 || (memcmp(s, "644 ", 4) && memcmp(s, "755 ", 4)))
		return bad(r, "expected '644' or '755' and an object");
	exec = s[0] == '7';
	memcpy(oid.hex, s + 4, 64);
	oid.hex[64] = '\0';
	if (!p4r_oid_valid(oid.hex) || s[68] != ' ')
		return bad(r, "malformed oid");
	if (!(sp = memchr(s + 69, ' ', len - 69)) || !parse_size(s + 69, (size_t)(sp - s - 69), &size))
		return bad(r, "malformed size");
	len -= (size_t)(sp + 1 - s);
	if (len == 0 || len > PATH_MAX_BYTES || memchr(sp + 1, '\0', len))
		return bad(r, "malformed path");
	memcpy(path, sp + 1, len);
	path[len] = '\0';
	if (!p4r_manifest_path_valid(path))
		return bad(r, "'%s' cannot be a file of a model folder", path);
	return p4r_manifest_add(m, path, &oid, size, exec);
}

int p4r_manifest_decode(p4r_manifest *m, const char *buf, size_t len, const char *what)
{
	struct reader r = { .what = what, .line = 1 };
	const char *pos = buf, *end = buf + len;
	size_t hl = strlen(HEADER), badi;
	int rc;

	p4r_manifest_clear(m);
	if (len > P4R_MANIFEST_MAX_BYTES)
		return bad(&r, "larger than %u MiB", P4R_MANIFEST_MAX_BYTES >> 20);
	if (len < hl || memcmp(buf, HEADER, hl))
		return bad(&r, "expected 'p4reg-manifest 1'");
	for (pos += hl; pos < end; pos++) {
		const char *nl = memchr(pos, '\n', (size_t)(end - pos));

		r.line++;
		if (!nl)
			rc = bad(&r, "missing final newline");
		else if (m->n == P4R_MANIFEST_MAX_FILES)
			rc = bad(&r, "more than %d files", P4R_MANIFEST_MAX_FILES);
		else
			rc = decode_line(m, &r, pos, (size_t)(nl - pos));
		if (rc < 0)
			goto fail;
		pos = nl;
	}
	if (m->n == 0) {
		rc = bad(&r, "no file");
		goto fail;
	}
	if ((rc = check_sorted(m, &badi)) < 0) {
		r.line = badi + 2;
		rc = bad(&r, rc == -1 ? "'%s' out of order or repeated" : "'%s' is inside a file's path",
			 m->v[badi].path);
		goto fail;
	}
	m->sorted = true;
	return 0;
fail:
	p4r_manifest_clear(m);
	return rc;
}

const p4r_manifest_entry *p4r_manifest_find(const p4r_manifest *m, const char *path)
{
	size_t i;

	if (m->sorted)
		return bisect(m, path, strlen(path));
	for (i = 0; i < m->n; i++)
		if (!strcmp(m->v[i].path, path))
			return &m->v[i];
	return NULL;
}

int64_t p4r_manifest_total(const p4r_manifest *m)
{
	int64_t total = 0;
	size_t i;

	for (i = 0; i < m->n; i++)
		total += m->v[i].size;
	return total;
}
