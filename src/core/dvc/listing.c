/* The .dir listing of a DVC directory output (dvc.h): the JSON array
 * dvc-data's Tree writes (json.dumps of {"md5", "relpath", meta...} per
 * file), read with cJSON. A clone delivers it: decoded strictly, bounded
 * before cJSON allocates, sorted here whatever order it came in. */
#include "p4reg/dvc.h"
#include "dvc/dvc_priv.h"
#include "p4reg/error.h"
#include "p4reg/manifest.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

/* JSON values a listing may hold: DVC writes fewer than ten per file (md5,
 * relpath, size, isexec, a cloud's version_id, etag...), so sixteen per
 * file of the largest folder bound what a hostile listing makes cJSON
 * allocate (a value is ~80 bytes: "[1,1,1,..." of 256 MiB would be 10 GiB). */
#define VALUES_MAX ((size_t)P4R_MANIFEST_MAX_FILES * 16)

static int invalid(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int invalid(const char *fmt, ...)
{
	char *why = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	if (vasprintf(&why, fmt, ap) < 0)
		why = NULL;
	va_end(ap);
	if (!why)
		return p4r_error_set(P4R_ERROR, "out of memory");
	rc = p4r_error_set(P4R_EINTEGRITY, "invalid DVC directory listing: %s", why);
	free(why);
	return rc;
}

void p4r_dvc_dir_clear(p4r_dvc_dir *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; d->v && i < d->n; i++)
		free(d->v[i].relpath);
	free(d->v);
	memset(d, 0, sizeof(*d));
}

/* Whether the JSON text at P holds the escape \u0000: a NUL inside a
 * string, which cJSON's C strings would cut short ("a\u0000b" read as
 * "a"). An escaped backslash before "u0000" is text, not an escape. */
static bool nul_escape(const char *p, size_t len)
{
	const char *end = p + len, *q = p;
	size_t bs;

	while ((q = memmem(q, (size_t)(end - q), "u0000", 5)) != NULL) {
		for (bs = 0; q - bs > p && q[-1 - (ptrdiff_t)bs] == '\\'; bs++)
			;
		if (bs % 2)
			return true;
		q += 5;
	}
	return false;
}

/* Whether the text at P can make more than VALUES_MAX JSON values: every
 * value after the first follows one of , : [ { (those inside strings
 * count too: an overestimate). */
static bool too_many_values(const char *p, size_t len)
{
	size_t n = 0, i;

	for (i = 0; i < len; i++)
		n += p[i] == ',' || p[i] == ':' || p[i] == '[' || p[i] == '{';
	return n > VALUES_MAX;
}

/* Entry E, the IDX-th (from 1), into D. */
static int read_entry(const cJSON *e, size_t idx, p4r_dvc_dir_entry *d)
{
	bool md5 = false, rel = false, size = false, exec = false;
	const cJSON *k;

	d->size = -1;
	if (!cJSON_IsObject(e))
		return invalid("entry %zu is not an object", idx);
	cJSON_ArrayForEach(k, e) {
		bool *seen = !strcmp(k->string, "md5")	   ? &md5
			     : !strcmp(k->string, "relpath") ? &rel
			     : !strcmp(k->string, "size")    ? &size
			     : !strcmp(k->string, "isexec")  ? &exec
							     : NULL;

		if (!seen)
			continue; /* meta p4reg does not keep (version_id, etag...) */
		if (*seen)
			return invalid("entry %zu has '%s' twice", idx, k->string);
		*seen = true;
		if (seen == &md5) {
			if (!cJSON_IsString(k) || !p4r_dvc_hex32(k->valuestring, strlen(k->valuestring)))
				return invalid("entry %zu: 'md5' is not 32 lowercase hex digits", idx);
			memcpy(d->md5, k->valuestring, 33);
		} else if (seen == &rel) {
			if (!cJSON_IsString(k))
				return invalid("entry %zu: 'relpath' is not text", idx);
			if (!p4r_manifest_path_valid(k->valuestring))
				return invalid("entry %zu: '%s' is not a path p4reg stores in a folder", idx,
					       k->valuestring);
			if (!(d->relpath = strdup(k->valuestring)))
				return p4r_error_set(P4R_ERROR, "out of memory");
		} else if (seen == &size) {
			double v = k->valuedouble;

			/* exact: 2^50 < 2^53 */
			if (!cJSON_IsNumber(k) || !(v >= 0 && v <= (double)P4R_MANIFEST_MAX_SIZE) ||
			    (double)(int64_t)v != v)
				return invalid("entry %zu: 'size' is not a count of bytes up to 2^50", idx);
			d->size = (int64_t)v;
		} else {
			if (!cJSON_IsBool(k))
				return invalid("entry %zu: 'isexec' is not true or false", idx);
			d->exec = cJSON_IsTrue(k);
		}
	}
	if (!md5 || !rel)
		return invalid("entry %zu lacks '%s'", idx, md5 ? "relpath" : "md5");
	return 0;
}

static int by_relpath(const void *a, const void *b)
{
	return strcmp(((const p4r_dvc_dir_entry *)a)->relpath, ((const p4r_dvc_dir_entry *)b)->relpath);
}

/* Whether sorted D lists exactly the first LEN bytes of P. */
static bool lists(const p4r_dvc_dir *d, const char *p, size_t len)
{
	size_t lo = 0, hi = d->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *q = d->v[mid].relpath;
		int c = strncmp(q, p, len);

		if (c == 0 && q[len] == '\0')
			return true;
		if (c == 0)
			c = 1; /* P[0..LEN) and more: after it */
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Sorted D: no path twice, none a folder of another ("a" and "a/b"),
 * which a folder on disk cannot be and a manifest refuses. */
static int check_paths(const p4r_dvc_dir *d)
{
	const char *p, *slash;
	size_t i;

	for (i = 0; i < d->n; i++) {
		p = d->v[i].relpath;
		if (i > 0 && !strcmp(d->v[i - 1].relpath, p))
			return invalid("'%s' is listed twice", p);
		for (slash = strchr(p, '/'); slash; slash = strchr(slash + 1, '/'))
			if (lists(d, p, (size_t)(slash - p)))
				return invalid("'%.*s' is both a file and the folder of '%s'", (int)(slash - p), p, p);
	}
	return 0;
}

int p4r_dvc_dir_parse(p4r_dvc_dir *out, const char *buf, size_t len)
{
	const char *end = NULL;
	cJSON *root = NULL;
	const cJSON *e;
	size_t n = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (len > P4R_DVC_DIR_MAX)
		return invalid("larger than %u MiB", P4R_DVC_DIR_MAX >> 20);
	if (memchr(buf, '\0', len) || nul_escape(buf, len))
		return invalid("it holds a NUL character");
	if (too_many_values(buf, len))
		return invalid("more JSON values than %d files can have", P4R_MANIFEST_MAX_FILES);
	if ((root = cJSON_ParseWithLengthOpts(buf, len, &end, false)) != NULL) {
		/* trailing text after the array is as malformed as a bad one */
		while (end < buf + len && strchr(" \t\r\n", *end))
			end++;
		if (end != buf + len) {
			cJSON_Delete(root);
			root = NULL;
		}
	}
	if (!root)
		return invalid("not JSON");
	if (!cJSON_IsArray(root)) {
		rc = invalid("not a JSON array");
		goto done;
	}
	cJSON_ArrayForEach(e, root)
		n++;
	if (n == 0) {
		rc = invalid("an empty folder (a p4reg folder version needs a file)");
		goto done;
	}
	if (n > P4R_MANIFEST_MAX_FILES) {
		rc = invalid("more than %d files", P4R_MANIFEST_MAX_FILES);
		goto done;
	}
	if (!(out->v = calloc(n, sizeof(*out->v)))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	cJSON_ArrayForEach(e, root) {
		rc = read_entry(e, out->n + 1, &out->v[out->n]);
		out->n++;
		if (rc < 0)
			goto done;
	}
	qsort(out->v, out->n, sizeof(*out->v), by_relpath);
	rc = check_paths(out);
done:
	cJSON_Delete(root);
	if (rc < 0)
		p4r_dvc_dir_clear(out);
	return rc;
}
