/* Pointer files: strict parser and canonical writer (see pointer.h). */
#include "p4reg/pointer.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BAD(line, ...) bad_line(file, line, __VA_ARGS__)

/* The longest canonical pointer: five lines at their widest, then the two
 * folder lines. */
#define POINTER_LONGEST                                                                  \
	(sizeof("p4reg-pointer 1\nmodel \nversion 2147483647\noid sha256:\n"           \
		"size 1125899906842624\nkind dir\nfiles 1000000\n") - 1 +                      \
	 P4R_MODEL_NAME_MAX + P4R_OID_HEXLEN)
_Static_assert(POINTER_LONGEST < P4R_POINTER_MAX_BYTES, "a canonical pointer must fit");
_Static_assert(P4R_MANIFEST_MAX_FILES == 1000000, "POINTER_LONGEST counts 7 digits of files");

static int bad_line(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad_line(const char *file, int line, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return p4r_error_set(P4R_EINTEGRITY, "invalid pointer '%s' line %d: %s", file, line, why);
}

/* A canonical decimal: no sign, no leading zero, at most 19 digits. */
static int parse_canonical_number(int64_t *out, const char *s, size_t len, int64_t max)
{
	int64_t v = 0;
	size_t i;

	if (len == 0 || len > 19 || (s[0] == '0' && len > 1))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (max - (s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Splits the next "key value\n" line; VALUE points into BUF. */
static int next_line(const char **pos, const char *end, const char *key,
		     const char **value, size_t *vlen, const char *file, int line)
{
	const char *nl = memchr(*pos, '\n', (size_t)(end - *pos));
	size_t klen = strlen(key);

	if (!nl)
		return *pos == end ? BAD(line, "missing '%s' line (truncated)", key)
				   : BAD(line, "missing final newline");
	if ((size_t)(nl - *pos) <= klen || strncmp(*pos, key, klen) || (*pos)[klen] != ' ')
		return BAD(line, "expected '%s'", key);
	*value = *pos + klen + 1;
	*vlen = (size_t)(nl - *value);
	*pos = nl + 1;
	return 0;
}

/* After "size": nothing (a file), or exactly "kind dir" and "files N". */
static int parse_kind(p4r_pointer *out, const char *pos, const char *end, const char *file)
{
	const char *v;
	size_t vlen;
	int rc;

	if (pos == end)
		return 0;
	if ((size_t)(end - pos) < 5 || memcmp(pos, "kind ", 5))
		return BAD(6, "unexpected content after 'size'");
	if ((rc = next_line(&pos, end, "kind", &v, &vlen, file, 6)) < 0)
		return rc;
	if (vlen != 3 || memcmp(v, "dir", 3))
		return BAD(6, "unknown kind '%.*s'", (int)(vlen > 32 ? 32 : vlen), v);
	if ((rc = next_line(&pos, end, "files", &v, &vlen, file, 7)) < 0)
		return rc;
	if (parse_canonical_number(&out->files, v, vlen, P4R_MANIFEST_MAX_FILES) < 0 || out->files < 1)
		return BAD(7, "malformed or absurd file count");
	if (pos != end)
		return BAD(8, "unexpected content after 'files'");
	out->dir = true;
	return 0;
}

int p4r_pointer_parse(p4r_pointer *out, const char *buf, size_t len, const char *file)
{
	const char *pos = buf, *end = buf + len, *v;
	size_t vlen;
	int64_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len > P4R_POINTER_MAX_BYTES)
		return BAD(1, "file is too large for a pointer");
	if (memchr(buf, '\0', len))
		return BAD(1, "file contains a NUL byte");
	if ((rc = next_line(&pos, end, "p4reg-pointer", &v, &vlen, file, 1)) < 0)
		return rc;
	if (parse_canonical_number(&n, v, vlen, 1000) < 0 || n != P4R_POINTER_FORMAT)
		return BAD(1, "unknown format version '%.*s'", (int)(vlen > 32 ? 32 : vlen), v);

	if ((rc = next_line(&pos, end, "model", &v, &vlen, file, 2)) < 0)
		return rc;
	if (vlen > P4R_MODEL_NAME_MAX)
		return BAD(2, "model name is too long");
	memcpy(out->model, v, vlen);
	out->model[vlen] = '\0';
	if (!p4r_model_name_valid(out->model))
		return BAD(2, "invalid model name '%s'", out->model);

	if ((rc = next_line(&pos, end, "version", &v, &vlen, file, 3)) < 0)
		return rc;
	if (parse_canonical_number(&out->version, v, vlen, P4R_POINTER_MAX_VERSION) < 0 ||
	    out->version < 1)
		return BAD(3, "malformed version");

	if ((rc = next_line(&pos, end, "oid", &v, &vlen, file, 4)) < 0)
		return rc;
	if (vlen != 7 + P4R_OID_HEXLEN || strncmp(v, "sha256:", 7))
		return BAD(4, "malformed oid");
	memcpy(out->oid.hex, v + 7, P4R_OID_HEXLEN);
	out->oid.hex[P4R_OID_HEXLEN] = '\0';
	if (!p4r_oid_valid(out->oid.hex))
		return BAD(4, "malformed oid");

	if ((rc = next_line(&pos, end, "size", &v, &vlen, file, 5)) < 0)
		return rc;
	if (vlen > 0 && v[0] == '-')
		return BAD(5, "negative size");
	if (parse_canonical_number(&out->size, v, vlen, P4R_POINTER_MAX_SIZE) < 0)
		return BAD(5, "malformed or absurd size");
	return parse_kind(out, pos, end, file);
}

int p4r_pointer_format(const p4r_pointer *p, char *buf, size_t bufsz, size_t *len)
{
	int n = snprintf(buf, bufsz,
			 "p4reg-pointer %d\nmodel %s\nversion %" PRId64 "\noid sha256:%s\nsize %" PRId64 "\n",
			 P4R_POINTER_FORMAT, p->model, p->version, p->oid.hex, p->size);

	if (n >= 0 && (size_t)n < bufsz && p->dir) {
		if (p->files < 1 || p->files > P4R_MANIFEST_MAX_FILES)
			return p4r_error_set(P4R_ERROR, "pointer for '%s' has an absurd file count",
					     p->model);
		n += snprintf(buf + n, bufsz - (size_t)n, "kind dir\nfiles %" PRId64 "\n", p->files);
	}
	if (n < 0 || (size_t)n >= bufsz)
		return p4r_error_set(P4R_ERROR, "pointer for '%s' does not fit", p->model);
	if (len)
		*len = (size_t)n;
	return 0;
}

int p4r_pointer_read_at(p4r_pointer *out, int dirfd, const char *base, const char *display)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	rc = p4r_read_file_at(&buf, &len, dirfd, base, P4R_POINTER_MAX_BYTES, display);
	if (rc == P4R_EUSAGE && !strstr(p4r_error_message(), "symbolic link") &&
	    !strstr(p4r_error_message(), "regular file"))
		rc = p4r_error_set(P4R_EINTEGRITY, "invalid pointer '%s' line 1: file is too large for a pointer",
				   display);
	if (rc < 0)
		goto done;
	rc = p4r_pointer_parse(out, buf, len, display);
done:
	free(buf);
	return rc;
}

int p4r_pointer_write_at(const p4r_pointer *p, int dirfd, const char *base, const char *display)
{
	char buf[P4R_POINTER_MAX_BYTES];
	size_t len = 0;
	int rc;

	if ((rc = p4r_pointer_format(p, buf, sizeof(buf), &len)) < 0)
		return rc;
	return p4r_write_file_atomic_at(dirfd, base, buf, len, 0644, display);
}

int p4r_pointer_is_pointer_path(const char *path)
{
	size_t n = strlen(path), s = strlen(P4R_POINTER_SUFFIX);

	return n > s && !strcmp(path + n - s, P4R_POINTER_SUFFIX) && path[n - s - 1] != '/';
}
