/* The S3 remote: an S3-compatible bucket (AWS S3, MinIO, Ceph RGW) through
 * libcurl, every request signed with SigV4 (sigv4.c). The payload hash of
 * an object PUT is its oid, so the server itself checks the bytes; event
 * batches are created with If-None-Match: * (412 when the key exists).
 * Objects above remote.NAME.multipartThreshold go up as multipart uploads
 * (parallel parts streamed from the file, Content-MD5 and the part's
 * SHA-256 signed) and come down as parallel ranged GETs, hashed in order
 * as the ranges land. An upload a push left unfinished is resumed by the
 * next push of the object: its parts are listed and kept only when their
 * size and MD5 match the local bytes. Requests reuse idle curl handles,
 * and with them their open connections (the pool below).
 *
 * The server is not trusted: every body is bounded by what was asked for
 * (the object's recorded size, the range, the batch limit), headers and
 * XML are bounded (listings by size, page count and entry count; upload
 * ids are checked before they go into a query), server text reaches a
 * message only when it looks like an S3 error code, credentials go over
 * plain http only to loopback unless the user's own config allows it, and
 * redirects are never followed. */
#include "p4reg/remote.h"
#include "p4reg/parallel.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/sigv4.h"
#include "p4reg/aws_config.h"
#include "util/testknob.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include "remote/libcurl_dl.h"
#include "git/libgit2_dl.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define MAX_PARTS 10000
#define ERRBODY_MAX 4096
/* All the header bytes of one response; S3 sends well under 8 KiB. */
#define HEADERS_MAX ((size_t)64 << 10)
#define ETAG_MAX 127
/* STS session tokens run to a few KiB; AWS access key ids to 128. */
#define TOKEN_MAX 8192
#define ACCESS_KEY_MAX 128
#define SECRET_MAX 1024
#define ENDPOINT_MAX 300
#define REGION_MAX 64
/* Idle curl handles kept for reuse: more than the most requests one
 * command has in flight (remote.NAME.jobs is at most 64). */
#define POOL_MAX 64
/* A download's bytes are written to its file, and an upload's read from
 * its file, this many at a time (curl's own default is 16 KiB and 64 KiB);
 * one buffer per transfer in flight. */
#define IO_BUFFER ((size_t)128 << 10)

struct s3 {
	char *endpoint;   /* scheme://host[:port], no trailing '/' */
	char *host;       /* the Host header */
	bool https;       /* the endpoint's scheme: the only protocol curl may use */
	bool path_style;
	char *region;
	char *access, *secret, *token; /* secret and token never printed */
	pthread_mutex_t pool_lock;  /* guards POOL and NPOOL */
	bool pool_ok;               /* the lock was made: handles are kept */
	CURL *pool[POOL_MAX];       /* idle handles (see handle_take) */
	size_t npool;
};

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* One request's response. */
struct resp {
	long status;
	char *body;           /* small bodies (errors, XML), NUL-terminated */
	size_t len, max;      /* MAX: the largest 2xx body kept in memory */
	int max_code;         /* a 2xx body over MAX: P4R_ERROR, or P4R_EINTEGRITY for a batch */
	int fd;               /* GET to a file: where 2xx bytes go (-1: body) */
	int fd2;              /* -1, or a second file that gets them too (a tee) */
	off_t off;            /* next pwrite offset */
	char *wbuf;           /* 2xx bytes not yet written (IO_BUFFER), owned */
	size_t wlen;
	uint64_t want;        /* GET to a file: exactly this many bytes */
	bool ranged;          /* WANT is a range's length (else the object's size) */
	uint64_t got;         /* 2xx bytes written to FD so far */
	int64_t clen;         /* Content-Length of the response, -1 when absent */
	size_t header_bytes;
	p4r_hasher *h;        /* fed in order (single GET) */
	char etag[ETAG_MAX + 1];
	int werr;
	int fail;             /* a callback refused the response: the code (message set) */
	bool truncated;       /* an error body was cut at ERRBODY_MAX */
	const char *key;      /* for messages */
	const char *remote;
	p4r_progress_fn progress;
	void *payload;
	uint64_t pending;     /* progress not yet reported */
	CURL *curl;
};

/* Records why a callback stops the transfer; 0 makes curl abort. */
static size_t refuse(struct resp *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static size_t refuse(struct resp *r, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!r->fail)
		r->fail = p4r_error_set(code, "%s", msg);
	return 0;
}

/* Where the body of the response being received goes: 1 the download
 * file (a 200, or the 206 of a ranged GET), 0 memory (a 2xx of a request
 * without a file), -1 the bounded error body. */
static int body_kind(const struct resp *r)
{
	long status = 0;
	bool ok;

	curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
	ok = status >= 200 && status < 300;
	if (r->fd >= 0)
		return ok && (status == 206) == r->ranged ? 1 : -1;
	return ok ? 0 : -1;
}

/* An ETag goes back into the CompleteMultipartUpload XML: printable, no
 * markup, bounded. */
static bool etag_valid(const char *v, size_t len)
{
	size_t i;

	if (len == 0 || len > ETAG_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (v[i] < 0x21 || v[i] > 0x7e || v[i] == '<' || v[i] == '>' || v[i] == '&')
			return false;
	return true;
}

/* The value of header line BUF (LEN bytes) when its name is NAME. */
static bool header_value(const char *buf, size_t len, const char *name, const char **v, size_t *vlen)
{
	size_t n = strlen(name);

	if (len <= n || strncasecmp(buf, name, n) || buf[n] != ':')
		return false;
	buf += n + 1;
	len -= n + 1;
	while (len && (*buf == ' ' || *buf == '\t'))
		buf++, len--;
	while (len && (buf[len - 1] == '\r' || buf[len - 1] == '\n' || buf[len - 1] == ' '))
		len--;
	*v = buf;
	*vlen = len;
	return true;
}

/* At the end of a 2xx response's headers: a download whose announced
 * length is not what was asked for stops before its first byte. */
static size_t check_length(struct resp *r, size_t len)
{
	if (r->clen < 0 || body_kind(r) != 1 || (uint64_t)r->clen == r->want)
		return len;
	if (r->ranged)
		return refuse(r, P4R_ERROR, "S3 server answered a ranged GET of %llu bytes of '%s' on remote '%s' "
			      "with %lld bytes", (unsigned long long)r->want, r->key, r->remote, (long long)r->clen);
	return refuse(r, P4R_EINTEGRITY, "object '%s' on remote '%s' is corrupt: the server announces %lld bytes, "
		      "expected %llu; not stored", r->key, r->remote, (long long)r->clen, (unsigned long long)r->want);
}

static size_t on_header(char *buf, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t len = size * n, vlen;
	const char *v;

	r->header_bytes += len;
	if (r->header_bytes > HEADERS_MAX)
		return refuse(r, P4R_ERROR, "S3 server sent more than %zu bytes of headers for '%s' on remote '%s'",
			      HEADERS_MAX, r->key, r->remote);
	if (len >= 5 && !strncmp(buf, "HTTP/", 5)) {
		/* a new response (after a 100 Continue): forget the last one's */
		r->etag[0] = '\0';
		r->clen = -1;
	} else if (header_value(buf, len, "etag", &v, &vlen)) {
		if (!etag_valid(v, vlen))
			return refuse(r, P4R_ERROR, "S3 server sent an invalid ETag for '%s' on remote '%s'",
				      r->key, r->remote);
		memcpy(r->etag, v, vlen);
		r->etag[vlen] = '\0';
	} else if (header_value(buf, len, "content-length", &v, &vlen)) {
		char num[24], *end;
		long long clen;

		if (vlen == 0 || vlen >= sizeof(num) || v[0] < '0' || v[0] > '9')
			return refuse(r, P4R_ERROR, "S3 server sent an invalid Content-Length for '%s' on remote '%s'",
				      r->key, r->remote);
		memcpy(num, v, vlen);
		num[vlen] = '\0';
		errno = 0;
		clen = strtoll(num, &end, 10);
		/* two lengths that disagree leave the size of the answer unknown */
		if (errno || *end || (r->clen >= 0 && clen != r->clen))
			return refuse(r, P4R_ERROR, "S3 server sent an invalid Content-Length for '%s' on remote '%s'",
				      r->key, r->remote);
		r->clen = (int64_t)clen;
	} else if ((len == 2 && buf[0] == '\r') || (len == 1 && buf[0] == '\n')) {
		return check_length(r, len);
	}
	return len;
}

/* Writes LEN bytes of BUF at OFF of FD: 0, or the errno. */
static int write_at(int fd, const char *buf, size_t len, off_t off)
{
	return p4r_pwrite_full(fd, buf, len, off) < 0 ? errno : 0;
}

/* Writes the buffered bytes of R to its file (and the tee's): 0, or
 * R->werr set. */
static int flush_body(struct resp *r)
{
	if (r->wlen && ((r->werr = write_at(r->fd, r->wbuf, r->wlen, r->off)) != 0 ||
			(r->fd2 >= 0 && (r->werr = write_at(r->fd2, r->wbuf, r->wlen, r->off)) != 0)))
		return -1;
	r->off += (off_t)r->wlen;
	r->wlen = 0;
	return 0;
}

/* A 2xx download body: never more than was asked for reaches the file
 * (nor the tee's). */
static size_t body_to_file(struct resp *r, const char *buf, size_t len)
{
	if (len > r->want - r->got) {
		if (r->ranged)
			return refuse(r, P4R_ERROR, "S3 server sent more than the %llu bytes asked for of '%s' "
				      "on remote '%s'", (unsigned long long)r->want, r->key, r->remote);
		return refuse(r, P4R_EINTEGRITY, "object '%s' on remote '%s' is corrupt: larger than its recorded "
			      "size (%llu bytes); not stored", r->key, r->remote, (unsigned long long)r->want);
	}
	r->got += len;
	if (!r->wbuf && !(r->wbuf = malloc(IO_BUFFER)))
		return refuse(r, P4R_ERROR, "out of memory");
	if (r->wlen + len > IO_BUFFER && flush_body(r) < 0)
		return 0;
	memcpy(r->wbuf + r->wlen, buf, len);
	r->wlen += len;
	if (r->h && p4r_hasher_update(r->h, buf, len) < 0)
		return refuse(r, P4R_ERROR, "cannot hash the download of '%s'", r->key);
	r->pending += len;
	if (r->progress && r->pending >= ((uint64_t)8 << 20)) {
		r->progress(r->pending, 0, r->payload);
		r->pending = 0;
	}
	return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t len = size * n;
	int kind = body_kind(r);

	if (kind == 1)
		return body_to_file(r, buf, len);
	if (kind < 0 && r->len + len > ERRBODY_MAX) {
		/* enough of an error body to find its code; stop reading */
		r->truncated = true;
		return 0;
	}
	if (kind == 0 && r->len + len > r->max)
		return refuse(r, r->max_code, "'%s' on remote '%s' is too large (more than %zu bytes)",
			      r->key, r->remote, r->max);
	{
		char *p = realloc(r->body, r->len + len + 1);

		if (!p)
			return 0;
		r->body = p;
	}
	memcpy(r->body + r->len, buf, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

/* An upload body: a file region (pread) or a memory buffer. */
struct src {
	int fd;
	off_t start, off, end;  /* the region [START, END), OFF the next byte */
	off_t high;           /* the furthest OFF yet: progress counts only beyond it */
	const char *mem;
	size_t mlen, mpos;
	p4r_progress_fn progress;
	void *payload;
	uint64_t pending;
	int rerr;
};

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct src *s = arg;
	size_t want = size * n;
	ssize_t got;

	if (s->mem) {
		if (want > s->mlen - s->mpos)
			want = s->mlen - s->mpos;
		memcpy(buf, s->mem + s->mpos, want);
		s->mpos += want;
		return want;
	}
	if ((off_t)want > s->end - s->off)
		want = (size_t)(s->end - s->off);
	if (want == 0)
		return 0;
	do
		got = pread(s->fd, buf, want, s->off);
	while (got < 0 && errno == EINTR);
	if (got <= 0) {
		s->rerr = got < 0 ? errno : EIO;
		return CURL_READFUNC_ABORT;
	}
	s->off += got;
	if (s->off > s->high) {
		s->pending += (uint64_t)(s->off - (s->high > s->start ? s->high : s->start));
		s->high = s->off;
	}
	if (s->progress && s->pending >= ((uint64_t)8 << 20)) {
		s->progress(s->pending, 0, s->payload);
		s->pending = 0;
	}
	return (size_t)got;
}

/* Curl rewinds a body to send it again: a request that finds the reused
 * connection closed by the server goes out again on a new one. */
static int on_seek(void *arg, curl_off_t offset, int origin)
{
	struct src *s = arg;

	if (origin != SEEK_SET || offset < 0)
		return CURL_SEEKFUNC_CANTSEEK;
	if (s->mem) {
		if ((uint64_t)offset > s->mlen)
			return CURL_SEEKFUNC_FAIL;
		s->mpos = (size_t)offset;
		return CURL_SEEKFUNC_OK;
	}
	if (offset > s->end - s->start)
		return CURL_SEEKFUNC_FAIL;
	s->off = s->start + (off_t)offset;
	return CURL_SEEKFUNC_OK;
}

/* The request to make. */
struct req {
	const char *method;
	const char *key;        /* relative to the prefix; NULL: the bucket */
	const char *query;      /* canonical (sorted, encoded), "" when none */
	const char *payload_hash;
	const char *content_md5;   /* nullable */
	bool if_none_match;
	const char *range;      /* nullable: "bytes=a-b" */
	struct src *body;       /* nullable */
	uint64_t body_len;
};

/* "/bucket/prefix/key" or "/prefix/key", encoded; KEY NULL: the bucket
 * itself ("/bucket" or "/"), for listings. */
static int object_path(char *out, size_t outsz, const p4r_remote *r, const char *key)
{
	const struct s3 *s = r->impl;
	char raw[2048];
	int n;

	if (!key)
		n = snprintf(raw, sizeof(raw), "/%s", s->path_style ? r->parsed.bucket : "");
	else
		n = snprintf(raw, sizeof(raw), "%s%s/%s%s%s", s->path_style ? "/" : "",
			     s->path_style ? r->parsed.bucket : "", r->parsed.prefix,
			     r->parsed.prefix[0] ? "/" : "", key);
	if (n < 0 || (size_t)n >= sizeof(raw))
		return p4r_error_set(P4R_ERROR, "S3 key too long");
	return p4r_sigv4_uri_encode(out, outsz, raw, false);
}

/* The text between <TAG> and </TAG> in BODY (bounded by OUTSZ); -1 when
 * absent or too long. Upload ids are opaque server text: they are
 * URI-encoded before use. */
static int xml_value(char *out, size_t outsz, const char *body, const char *tag)
{
	char open[64], close[64];
	const char *a, *b;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	if (!body || !(a = strstr(body, open)) || !(b = strstr(a, close)))
		return -1;
	a += strlen(open);
	if ((size_t)(b - a) >= outsz)
		return -1;
	memcpy(out, a, (size_t)(b - a));
	out[b - a] = '\0';
	return 0;
}

/* The next <TAG>...</TAG> block at or after *POS: its inner text into OUT
 * (bounded by OUTSZ), *POS past it. 0 when found, 1 when there is none
 * left, -1 when one is not closed or too long (a malformed listing). */
static int xml_next(char *out, size_t outsz, const char **pos, const char *tag)
{
	char open[64], close[64];
	const char *a, *b;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	if (!*pos || !(a = strstr(*pos, open)))
		return 1;
	a += strlen(open);
	if (!(b = strstr(a, close)) || (size_t)(b - a) >= outsz)
		return -1;
	memcpy(out, a, (size_t)(b - a));
	out[b - a] = '\0';
	*pos = b + strlen(close);
	return 0;
}

/* Decodes XML's five named entities in S, in place (S3 writes an ETag's
 * quotes as &quot;); -1 on any other '&': no value p4reg reads needs one. */
static int xml_unescape(char *s)
{
	static const struct { const char *name; char c; } ents[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' }, { "&apos;", '\'' },
	};
	char *w = s;
	size_t i;

	while (*s) {
		if (*s != '&') {
			*w++ = *s++;
			continue;
		}
		for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++)
			if (!strncmp(s, ents[i].name, strlen(ents[i].name)))
				break;
		if (i == sizeof(ents) / sizeof(ents[0]))
			return -1;
		*w++ = ents[i].c;
		s += strlen(ents[i].name);
	}
	*w = '\0';
	return 0;
}

/* A count or size in a listing: 1..19 decimal digits, nothing else. */
static int xml_u64(uint64_t *out, const char *body, const char *tag)
{
	char v[24];
	size_t i;

	if (xml_value(v, sizeof(v), body, tag) < 0 || !v[0] || strlen(v) > 19)
		return -1;
	for (i = 0; v[i]; i++)
		if (v[i] < '0' || v[i] > '9')
			return -1;
	*out = strtoull(v, NULL, 10);
	return 0;
}

/* The N digits at V (checked by the caller) as a number. */
static int digits(const char *v, int n)
{
	int x = 0;

	while (n--)
		x = x * 10 + (*v++ - '0');
	return x;
}

/* "YYYY-MM-DDTHH:MM:SS[.fff]Z" (how S3 dates an upload) in seconds since
 * 1970; 0 for anything else, which callers read as "unknown". */
static int64_t iso_time(const char *v)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	struct tm tm = { 0 };
	size_t i;

	for (i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? v[i] < '0' || v[i] > '9' : v[i] != shape[i])
			return 0;
	if (v[i] == '.')
		for (i++; v[i] >= '0' && v[i] <= '9' && i < 40; i++)
			;
	if (v[i] != 'Z' || v[i + 1])
		return 0;
	tm.tm_year = digits(v, 4) - 1900;
	tm.tm_mon = digits(v + 5, 2) - 1;
	tm.tm_mday = digits(v + 8, 2);
	tm.tm_hour = digits(v + 11, 2);
	tm.tm_min = digits(v + 14, 2);
	tm.tm_sec = digits(v + 17, 2);
	if (tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || tm.tm_sec > 60)
		return 0;
	return (int64_t)timegm(&tm);
}

/* An upload id is the server's text and goes into query strings and
 * listings: 1..512 of the characters AWS, Ceph RGW and MinIO use. */
static bool upload_id_valid(const char *v)
{
	size_t i;

	for (i = 0; v[i]; i++)
		if (i >= P4R_REMOTE_UPLOAD_ID_MAX || !(is_alnum(v[i]) || strchr("-_.~+/=", v[i])))
			return false;
	return i > 0;
}

/* ": <Code>" of an S3 error body, only when it looks like one (letters and
 * digits): server text never reaches a message raw, so it can neither
 * carry terminal escapes nor echo a credential back. */
static void error_code(char *out, size_t outsz, const char *body)
{
	char code[65];
	size_t i;

	out[0] = '\0';
	if (xml_value(code, sizeof(code), body, "Code") < 0 || !code[0])
		return;
	for (i = 0; code[i]; i++)
		if (!((code[i] >= 'A' && code[i] <= 'Z') || (code[i] >= 'a' && code[i] <= 'z') ||
		      (code[i] >= '0' && code[i] <= '9')))
			return;
	snprintf(out, outsz, ": %s", code);
}

/* What a request names in messages: its key, or the bucket for a listing. */
static const char *req_name(const p4r_remote *r, const struct req *q)
{
	return q->key ? q->key : r->parsed.bucket;
}

static int s3_error(const p4r_remote *r, const struct req *q, struct resp *rs)
{
	char code[80];

	error_code(code, sizeof(code), rs->body);
	if (rs->status == 403)
		return p4r_error_set(P4R_ERROR, "S3 %s '%s' on remote '%s' was refused (HTTP 403%s); check the credentials",
				     q->method, req_name(r, q), r->name, code);
	if (rs->status >= 300 && rs->status < 400)
		return p4r_error_set(P4R_ERROR, "S3 %s '%s' on remote '%s' was redirected (HTTP %ld); redirects are "
				     "not followed: set remote.%s.endpoint to the bucket's own endpoint",
				     q->method, req_name(r, q), r->name, rs->status, r->name);
	return p4r_error_set(P4R_ERROR, "S3 %s '%s' on remote '%s' failed: HTTP %ld%s", q->method,
			     req_name(r, q), r->name, rs->status, code);
}

/* "NAME: VALUE" appended to LIST, of any length; NULL (LIST freed) when
 * out of memory. */
static struct curl_slist *add_header(struct curl_slist *list, const char *name, const char *value)
{
	size_t n = strlen(name) + strlen(value) + 3;
	struct curl_slist *out;
	char *line = malloc(n);

	if (!line) {
		curl_slist_free_all(list);
		return NULL;
	}
	snprintf(line, n, "%s: %s", name, value);
	out = curl_slist_append(list, line);
	OPENSSL_cleanse(line, n);
	free(line);
	if (!out)
		curl_slist_free_all(list);
	return out;
}

/* Curl may speak only the endpoint's protocol and never follows a
 * redirect: signed requests and tokens go to the configured host alone. */
/* A server that sends a byte now and then would hold a transfer open for
 * ever: every request gets a deadline from the bytes it moves at a floor
 * rate no working link is slower than, and a stall limit. */
#define FLOOR_RATE ((uint64_t)256 << 10)  /* bytes per second */
#define DEADLINE_BASE 120                  /* seconds, for any request */
#define STALL_RATE 1024L                   /* bytes per second ... */
#define STALL_TIME 60L                     /* ... over this many seconds */

/* P4REG_TEST_STALL_SECONDS: tests shorten the stall limit and the base
 * of the deadline to see them act in seconds, not minutes. */
static long test_seconds(long deflt)
{
	long n = p4r_test_knob("P4REG_TEST_STALL_SECONDS");

	return n > 0 ? n : deflt;
}

static void set_deadline(CURL *c, uint64_t bytes)
{
	uint64_t secs = (uint64_t)test_seconds(DEADLINE_BASE) + bytes / FLOOR_RATE;

	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)(secs > LONG_MAX ? LONG_MAX : secs));
}

static void restrict_transfer(CURL *c, const struct s3 *s)
{
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, s->https ? "https" : "http");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, s->https ? "https" : "http");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, s->https ? CURLPROTO_HTTPS : CURLPROTO_HTTP);
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS, s->https ? CURLPROTO_HTTPS : CURLPROTO_HTTP);
#endif
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, STALL_RATE);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, test_seconds(STALL_TIME));
}

/* The signed headers of Q at DATE into SH; returns how many. */
static size_t signed_headers(p4r_sigv4_header sh[6], const struct s3 *s, const struct req *q, const char *date)
{
	size_t nh = 0;

	sh[nh++] = (p4r_sigv4_header){ "host", s->host };
	sh[nh++] = (p4r_sigv4_header){ "x-amz-content-sha256", q->payload_hash };
	sh[nh++] = (p4r_sigv4_header){ "x-amz-date", date };
	if (s->token)
		sh[nh++] = (p4r_sigv4_header){ "x-amz-security-token", s->token };
	if (q->content_md5)
		sh[nh++] = (p4r_sigv4_header){ "content-md5", q->content_md5 };
	if (q->if_none_match)
		sh[nh++] = (p4r_sigv4_header){ "if-none-match", "*" };
	return nh;
}

/* The request's header list: exactly the signed values (whole), the
 * Authorization, the Range. NULL when out of memory. */
static struct curl_slist *header_list(const p4r_sigv4_header *sh, size_t nh, const char *auth,
				      const struct req *q)
{
	struct curl_slist *list = NULL, *out;
	size_t i;

	for (i = 0; i < nh; i++)
		if (!(list = add_header(list, sh[i].name, sh[i].value)))
			return NULL;
	if (!(list = add_header(list, "Authorization", auth)))
		return NULL;
	if (q->range && !(list = add_header(list, "Range", q->range)))
		return NULL;
	/* "Expect:" with nothing after the colon removes curl's own header */
	if (!(out = curl_slist_append(list, "Expect:")))
		curl_slist_free_all(list);
	return out;
}

static void set_method(CURL *c, const struct req *q)
{
	if (!strcmp(q->method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(q->method, "PUT")) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, q->body);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, q->body);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->body_len);
		if (q->body->fd >= 0)
			curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, (long)IO_BUFFER);
	} else if (!strcmp(q->method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, q->body);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, q->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
	} else if (strcmp(q->method, "GET")) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
	}
}

/* Reports the progress still pending on both sides of a finished request. */
static void flush_progress(const struct req *q, struct resp *rs)
{
	if (rs->progress && rs->pending)
		rs->progress(rs->pending, 0, rs->payload);
	rs->pending = 0;
	if (q->body && q->body->progress && q->body->pending) {
		q->body->progress(q->body->pending, 0, q->body->payload);
		q->body->pending = 0;
	}
}

/* A request signed for sending: the headers signed, their Authorization
 * and the URL. */
struct signed_req {
	char path[2600], url[12288], auth[1024], date[20];
	p4r_sigv4_header sh[6];
	size_t nh;
};

/* Signs Q now (SigV4) into SR. */
static int sign_request(struct signed_req *sr, p4r_remote *r, const struct req *q)
{
	struct s3 *s = r->impl;
	p4r_sigv4_key sk = { s->access, s->secret, s->region, "s3" };
	struct tm tm;
	time_t now = time(NULL);
	int n, rc;

	if ((rc = object_path(sr->path, sizeof(sr->path), r, q->key)) < 0)
		return rc;
	gmtime_r(&now, &tm);
	strftime(sr->date, sizeof(sr->date), "%Y%m%dT%H%M%SZ", &tm);
	sr->nh = signed_headers(sr->sh, s, q, sr->date);
	if ((rc = p4r_sigv4_authorization(sr->auth, sizeof(sr->auth), &sk, q->method, sr->path,
					  q->query, sr->sh, sr->nh, q->payload_hash, sr->date)) < 0)
		return rc;
	n = snprintf(sr->url, sizeof(sr->url), "%s%s%s%s", s->endpoint, sr->path,
		     q->query[0] ? "?" : "", q->query);
	if (n < 0 || (size_t)n >= sizeof(sr->url))
		return p4r_error_set(P4R_ERROR, "S3 URL of '%s' is too long", req_name(r, q));
	return 0;
}

/* Sets up the transfer C of Q to URL with the header LIST, its response
 * into RS. */
static void setup_transfer(CURL *c, p4r_remote *r, const struct req *q, struct resp *rs,
			   const char *url, struct curl_slist *list)
{
	rs->curl = c;
	rs->key = req_name(r, q);
	rs->remote = r->name;
	rs->clen = -1;
	restrict_transfer(c, r->impl);
	set_deadline(c, q->body_len + (rs->fd >= 0 ? rs->want : rs->max));
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, rs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, rs);
	/* a download is read from the socket in large reads too */
	if (rs->fd >= 0)
		curl_easy_setopt(c, CURLOPT_BUFFERSIZE, (long)IO_BUFFER);
	set_method(c, q);
}

/* The outcome of the finished transfer of Q (curl said CC): what the
 * callbacks refused or failed at comes first, then curl's own failure. */
static int transfer_result(const p4r_remote *r, const struct req *q, const struct resp *rs,
			   CURLcode cc)
{
	if (rs->fail)
		return rs->fail;
	if (rs->werr) {
		errno = rs->werr;
		return p4r_error_errno("cannot write the download of '%s'", q->key);
	}
	if (q->body && q->body->rerr) {
		errno = q->body->rerr;
		return p4r_error_errno("cannot read the upload of '%s'", q->key);
	}
	/* an error body cut short still carries its status */
	if (cc == CURLE_WRITE_ERROR && rs->truncated)
		return 0;
	if (cc != CURLE_OK)
		return p4r_error_set(P4R_ERROR, "S3 %s '%s' on remote '%s': %s", q->method,
				     req_name(r, q), r->name, curl_easy_strerror(cc));
	return 0;
}

/* ---- the connection pool ----
 *
 * Each curl handle keeps its own connections (and TLS session), so a
 * request that reuses an idle handle reuses its open connection instead of
 * a new TCP and TLS handshake. A request takes an idle handle or makes one
 * and gives it back, reset, when done: there are never more handles than
 * requests in flight at once, and each is used by one thread at a time. A
 * share handle (CURLSH) with a shared connection cache is not used:
 * libcurl documents sharing connections between concurrent threads as a
 * known bug. */

/* An idle handle of S, or a new one; NULL when curl cannot make one. */
static CURL *handle_take(struct s3 *s)
{
	CURL *c = NULL;

	if (s->pool_ok) {
		pthread_mutex_lock(&s->pool_lock);
		if (s->npool)
			c = s->pool[--s->npool];
		pthread_mutex_unlock(&s->pool_lock);
	}
	return c ? c : curl_easy_init();
}

/* Gives C back to S: its options reset (nothing points to a finished
 * request's memory), its connections, DNS and TLS session caches kept. */
static void handle_give(struct s3 *s, CURL *c)
{
	curl_easy_reset(c);
	if (s->pool_ok) {
		pthread_mutex_lock(&s->pool_lock);
		if (s->npool < POOL_MAX) {
			s->pool[s->npool++] = c;
			c = NULL;
		}
		pthread_mutex_unlock(&s->pool_lock);
	}
	curl_easy_cleanup(c);
}

/* Performs Q; RS gets the status and the small body. Transport failures
 * and responses the callbacks refused are errors here; callers judge the
 * status. */
static int perform(p4r_remote *r, const struct req *q, struct resp *rs)
{
	struct signed_req sr;
	struct curl_slist *list;
	CURL *c;
	CURLcode cc;
	int rc;

	if ((rc = p4r_libcurl_init()) < 0 || (rc = sign_request(&sr, r, q)) < 0)
		return rc;
	if (!(list = header_list(sr.sh, sr.nh, sr.auth, q)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	if (!(c = handle_take(r->impl))) {
		curl_slist_free_all(list);
		return p4r_error_set(P4R_ERROR, "cannot start an HTTP request");
	}
	setup_transfer(c, r, q, rs, sr.url, list);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rs->status);
	handle_give(r->impl, c);
	if (!rs->fail && !rs->werr)
		flush_body(rs);
	free(rs->wbuf);
	rs->wbuf = NULL;
	curl_slist_free_all(list);
	rs->curl = NULL;
	OPENSSL_cleanse(sr.auth, sizeof(sr.auth));
	flush_progress(q, rs);
	return transfer_result(r, q, rs, cc);
}

static void resp_init(struct resp *rs)
{
	memset(rs, 0, sizeof(*rs));
	rs->fd = -1;
	rs->fd2 = -1;
	rs->max = ERRBODY_MAX;
	rs->max_code = P4R_ERROR;
	rs->clen = -1;
}

/* HEAD of KEY: *STATUS is 200 or 404 (any other answer is an error) and
 * *CLEN the Content-Length of a 200, -1 when the server sent none. */
static int head(p4r_remote *r, const char *key, long *status, int64_t *clen)
{
	struct req q = { .method = "HEAD", .key = key, .query = "", .payload_hash = EMPTY_SHA256 };
	struct resp rs;
	int rc;

	resp_init(&rs);
	if ((rc = perform(r, &q, &rs)) == 0 && rs.status != 200 && rs.status != 404)
		rc = s3_error(r, &q, &rs);
	*status = rs.status;
	*clen = rs.clen;
	free(rs.body);
	return rc;
}

static int s3_exists(p4r_remote *r, const char *key, bool *out)
{
	long status = 0;
	int64_t clen;
	int rc = head(r, key, &status, &clen);

	*out = rc == 0 && status == 200;
	return rc;
}

static int s3_stat(p4r_remote *r, const char *key, bool *exists, uint64_t *size)
{
	long status = 0;
	int64_t clen = -1;
	int rc = head(r, key, &status, &clen);

	*exists = false;
	*size = 0;
	if (rc < 0 || status != 200)
		return rc;
	/* the length was parsed strictly as the headers came (on_header) */
	if (clen < 0)
		return p4r_error_set(P4R_ERROR, "S3 server sent no Content-Length for HEAD '%s' on remote '%s'",
				     key, r->name);
	*exists = true;
	*size = (uint64_t)clen;
	return 0;
}

static int s3_remove(p4r_remote *r, const char *key)
{
	struct req q = { .method = "DELETE", .key = key, .query = "", .payload_hash = EMPTY_SHA256 };
	struct resp rs;
	int rc;

	resp_init(&rs);
	if ((rc = perform(r, &q, &rs)) == 0 && rs.status != 204 && rs.status != 200 && rs.status != 404)
		rc = s3_error(r, &q, &rs);
	free(rs.body);
	return rc;
}

static void hex_sha256(char out[65], const void *buf, size_t len)
{
	unsigned char md[32];
	unsigned int n = 0;
	int i;

	EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The MD5 of BUF in base64 (Content-MD5). */
static void b64_md5(char out[32], const void *buf, size_t len)
{
	unsigned char md[16];
	unsigned int n = 0;

	EVP_Digest(buf, len, md, &n, EVP_md5(), NULL);
	EVP_EncodeBlock((unsigned char *)out, md, 16);
}

static int s3_create_excl(p4r_remote *r, const char *key, const void *buf, size_t len)
{
	struct src body = { .fd = -1, .mem = buf, .mlen = len };
	char hash[65], md5[32];
	struct req q = { .method = "PUT", .key = key, .query = "", .payload_hash = hash,
			 .content_md5 = md5, .if_none_match = true, .body = &body, .body_len = len };
	struct resp rs;
	int rc;

	hex_sha256(hash, buf, len);
	b64_md5(md5, buf, len);
	resp_init(&rs);
	if ((rc = perform(r, &q, &rs)) == 0) {
		if (rs.status == 412 || rs.status == 409)
			rc = p4r_error_set(P4R_EEXISTS, "'%s' already exists on remote '%s'", key, r->name);
		else if (rs.status != 200)
			rc = s3_error(r, &q, &rs);
	}
	free(rs.body);
	return rc;
}

static int s3_get_small(p4r_remote *r, const char *key, size_t max, char **out, size_t *len)
{
	struct req q = { .method = "GET", .key = key, .query = "", .payload_hash = EMPTY_SHA256 };
	struct resp rs;
	int rc;

	*out = NULL;
	*len = 0;
	resp_init(&rs);
	rs.max = max;
	rs.max_code = P4R_EINTEGRITY;
	rc = perform(r, &q, &rs);
	if (rc == 0) {
		if (rs.status == 404) {
			rc = p4r_error_set(P4R_ENOTFOUND, "'%s' is not on remote '%s'", key, r->name);
		} else if (rs.status != 200) {
			rc = s3_error(r, &q, &rs);
		} else {
			if (!rs.body && !(rs.body = calloc(1, 1)))
				rc = p4r_error_set(P4R_ERROR, "out of memory");
			*out = rs.body;
			*len = rs.len;
			rs.body = NULL;
		}
	}
	free(rs.body);
	return rc;
}

/* ---- single and multipart uploads ---- */

static int put_single(p4r_remote *r, const char *key, int fd, uint64_t size, const p4r_oid *want,
		      p4r_progress_fn progress, void *payload)
{
	char hash[65];
	struct src body = { .fd = fd, .off = 0, .end = (off_t)size, .progress = progress, .payload = payload };
	struct req q = { .method = "PUT", .key = key, .query = "", .payload_hash = hash,
			 .body = &body, .body_len = size };
	struct resp rs;
	int rc;

	/* The signed payload hash is the oid: the server rejects other bytes. */
	if (want) {
		snprintf(hash, sizeof(hash), "%s", want->hex);
	} else {
		p4r_oid o;
		uint64_t n;

		if ((rc = p4r_hash_fd(&o, &n, fd)) < 0)
			return rc;
		snprintf(hash, sizeof(hash), "%s", o.hex);
	}
	resp_init(&rs);
	if ((rc = perform(r, &q, &rs)) == 0 && rs.status != 200)
		rc = rs.status == 400 && rs.body && strstr(rs.body, "SHA256Mismatch") ?
		     p4r_error_set(P4R_EINTEGRITY, "the server refused object %s: its bytes do not match", key) :
		     s3_error(r, &q, &rs);
	free(rs.body);
	return rc;
}

/* ---- multipart uploads, resumed from the parts an earlier push left ---- */

/* The largest listing page kept in memory: a page of 1000 parts or
 * uploads is a few hundred KiB. */
#define LIST_MAX ((size_t)2 << 20)
/* Pages one listing may take before it is judged endless. */
#define LIST_PAGES_MAX 100
/* A part is hashed from the file in blocks of this size. */
#define PART_READ ((size_t)1 << 20)

/* A part an earlier push left, of the size this upload's part has: its
 * MD5 in hex (S3's ETag of a part), "" when there is none to reuse. */
struct listed {
	char md5[33];
};

struct multipart {
	p4r_remote *r;
	const char *key;
	const char *upload_id;  /* URI-encoded */
	int fd;
	uint64_t size, part_size;
	int nparts;
	struct listed *listed;  /* NPARTS entries: parts to verify and keep */
	char (*etags)[128];
	pthread_mutex_t lock;   /* serialises PROGRESS */
	p4r_progress_fn progress;
	void *payload;
};

/* How many requests of one transfer run at once (remote.NAME.jobs). */
static unsigned jobs_of(const p4r_remote *r)
{
	return r->opts.jobs > 0 ? (unsigned)r->opts.jobs : 1;
}

/* The length of part PART (from 1). */
static uint64_t part_len(const struct multipart *m, int part)
{
	uint64_t off = (uint64_t)(part - 1) * m->part_size;

	return m->size - off < m->part_size ? m->size - off : m->part_size;
}

/* KEY with the remote's prefix in front: the key S3 lists. */
static void full_key(char *out, size_t outsz, const p4r_remote *r, const char *key)
{
	snprintf(out, outsz, "%s%s%s", r->parsed.prefix, r->parsed.prefix[0] ? "/" : "", key);
}

/* GET of KEY (NULL: the bucket) with the canonical QUERY: the XML body,
 * at most LIST_MAX bytes, into *BODY (malloc'd). */
static int list_get(p4r_remote *r, const char *key, const char *query, char **body)
{
	struct req q = { .method = "GET", .key = key, .query = query, .payload_hash = EMPTY_SHA256 };
	struct resp rs;
	int rc;

	*body = NULL;
	resp_init(&rs);
	rs.max = LIST_MAX;
	if ((rc = perform(r, &q, &rs)) == 0 && rs.status != 200)
		rc = s3_error(r, &q, &rs);
	if (rc == 0 && !rs.body)
		rc = p4r_error_set(P4R_ERROR, "S3 server sent an empty listing for '%s' on remote '%s'",
				   req_name(r, &q), r->name);
	if (rc == 0) {
		*body = rs.body;
		rs.body = NULL;
	}
	free(rs.body);
	return rc;
}

/* WHY: "" or " (it does not end)". */
static int malformed(const p4r_remote *r, const char *what, const char *why)
{
	return p4r_error_set(P4R_ERROR, "S3 server sent a malformed listing of %s on remote '%s'%s", what,
			     r->name, why);
}

/* One unfinished upload of a listing: its whole key (unescaped), its id
 * (checked) and when it started (0: unknown). */
typedef int (*upload_fn)(void *arg, const char *key, const char *id, int64_t initiated);

/* Where the next page of unfinished uploads starts ("" key: the first). */
struct upload_marker {
	char key[1100];
	char id[P4R_REMOTE_UPLOAD_ID_MAX + 1];
};

/* The canonical query of the listing page after MARK, into QUERY. */
static int uploads_query(char *query, size_t qsz, const char *eprefix, const struct upload_marker *mark)
{
	char ekmark[3400], eimark[1600];
	int rc;

	if (!mark->key[0]) {
		snprintf(query, qsz, "max-uploads=1000&prefix=%s&uploads=", eprefix);
		return 0;
	}
	if ((rc = p4r_sigv4_uri_encode(ekmark, sizeof(ekmark), mark->key, true)) < 0 ||
	    (rc = p4r_sigv4_uri_encode(eimark, sizeof(eimark), mark->id, true)) < 0)
		return rc;
	snprintf(query, qsz, "key-marker=%s&max-uploads=1000&prefix=%s"
		 "&upload-id-marker=%s&uploads=", ekmark, eprefix, eimark);
	return 0;
}

/* The uploads of one listing page BODY to FN, as each_upload says; *COUNT
 * counts them over all pages. */
static int uploads_in_page(p4r_remote *r, const char *body, const char *prefix, upload_fn fn,
			   void *arg, size_t *count, bool *truncated)
{
	char block[4096], key[1100], id[P4R_REMOTE_UPLOAD_ID_MAX + 1], when[64];
	size_t plen = strlen(prefix);
	const char *pos = body;
	int k, rc;

	while ((k = xml_next(block, sizeof(block), &pos, "Upload")) == 0) {
		int64_t initiated = 0;

		if (xml_value(key, sizeof(key), block, "Key") < 0 || xml_unescape(key) < 0 ||
		    strncmp(key, prefix, plen) || xml_value(id, sizeof(id), block, "UploadId") < 0 ||
		    xml_unescape(id) < 0 || !upload_id_valid(id))
			continue;
		if (xml_value(when, sizeof(when), block, "Initiated") == 0)
			initiated = iso_time(when);
		if (*count == P4R_REMOTE_UPLOADS_MAX) {
			*truncated = true;
			return 0;
		}
		(*count)++;
		if ((rc = fn(arg, key, id, initiated)) < 0)
			return rc;
	}
	if (k < 0)
		return malformed(r, "unfinished uploads", "");
	return 0;
}

/* Moves MARK to where the page after BODY starts: 1 when there is one, 0
 * when BODY was the last page. The markers must move, or the listing would
 * never end. */
static int next_upload_marker(p4r_remote *r, const char *body, struct upload_marker *mark)
{
	char flag[8], nk[1100], ni[P4R_REMOTE_UPLOAD_ID_MAX + 1];

	if (xml_value(flag, sizeof(flag), body, "IsTruncated") < 0 || strcmp(flag, "true"))
		return 0;
	if (xml_value(nk, sizeof(nk), body, "NextKeyMarker") < 0 || xml_unescape(nk) < 0 || !nk[0] ||
	    xml_value(ni, sizeof(ni), body, "NextUploadIdMarker") < 0 || xml_unescape(ni) < 0 ||
	    (ni[0] && !upload_id_valid(ni)) || (!strcmp(nk, mark->key) && !strcmp(ni, mark->id)))
		return malformed(r, "unfinished uploads", "");
	snprintf(mark->key, sizeof(mark->key), "%s", nk);
	snprintf(mark->id, sizeof(mark->id), "%s", ni);
	return 1;
}

/* Every unfinished upload whose key starts with PREFIX (the whole key,
 * the remote's prefix included), a page at a time, to FN: at most
 * P4R_REMOTE_UPLOADS_MAX (*TRUNCATED when the server lists more). An
 * entry without a valid id or outside PREFIX is skipped; a listing that
 * is malformed or never ends is an error. */
static int each_upload(p4r_remote *r, const char *prefix, upload_fn fn, void *arg, bool *truncated)
{
	char query[9000], eprefix[3400];
	struct upload_marker mark = { "", "" };
	size_t count = 0;
	char *body = NULL;
	int page, rc;

	*truncated = false;
	if ((rc = p4r_sigv4_uri_encode(eprefix, sizeof(eprefix), prefix, true)) < 0)
		return rc;
	for (page = 0;; page++) {
		if (page == LIST_PAGES_MAX)
			return malformed(r, "unfinished uploads", " (it does not end)");
		if ((rc = uploads_query(query, sizeof(query), eprefix, &mark)) < 0 ||
		    (rc = list_get(r, NULL, query, &body)) < 0)
			return rc;
		rc = uploads_in_page(r, body, prefix, fn, arg, &count, truncated);
		if (rc == 0 && !*truncated)
			rc = next_upload_marker(r, body, &mark);
		free(body);
		body = NULL;
		if (rc <= 0 || *truncated)
			return rc;
	}
}

/* The newest upload of one key. */
struct newest {
	const char *key;
	char id[P4R_REMOTE_UPLOAD_ID_MAX + 1];
	int64_t initiated;
	bool found;
};

static int pick_newest(void *arg, const char *key, const char *id, int64_t initiated)
{
	struct newest *n = arg;

	if (strcmp(key, n->key) || (n->found && initiated < n->initiated))
		return 0;
	snprintf(n->id, sizeof(n->id), "%s", id);
	n->initiated = initiated;
	n->found = true;
	return 0;
}

/* The parts upload M->upload_id holds, into M->listed, *FIT counting
 * those that may be reused (of the right size, with an MD5 ETag). 0: they
 * fit this upload; 1: they do not (made with another part size, or a
 * size or number no part of this file has); < 0: the listing failed or
 * is malformed. Part numbers must rise, at most MAX_PARTS of them. */
static int list_parts(struct multipart *m, unsigned *fit)
{
	char query[1700], block[1024], etag[ETAG_MAX + 16], flag[8];
	uint64_t marker = 0, next = 0, number, size, last = 0, seen = 0;
	const char *pos;
	char *body = NULL, *e;
	int page, k = 0, rc = 0;
	size_t n;

	*fit = 0;
	for (page = 0; rc == 0; page++) {
		if (page == LIST_PAGES_MAX)
			return malformed(m->r, "parts", " (it does not end)");
		if (marker)
			snprintf(query, sizeof(query), "max-parts=1000&part-number-marker=%llu&uploadId=%s",
				 (unsigned long long)marker, m->upload_id);
		else
			snprintf(query, sizeof(query), "max-parts=1000&uploadId=%s", m->upload_id);
		if ((rc = list_get(m->r, m->key, query, &body)) < 0)
			return rc;
		pos = body;
		while (rc == 0 && (k = xml_next(block, sizeof(block), &pos, "Part")) == 0) {
			if (++seen > MAX_PARTS || xml_u64(&number, block, "PartNumber") < 0 || number <= last ||
			    xml_u64(&size, block, "Size") < 0) {
				rc = malformed(m->r, "parts", "");
				break;
			}
			last = number;
			if (number > (uint64_t)m->nparts || size != part_len(m, (int)number)) {
				rc = 1;
				break;
			}
			/* "<hex>" (quotes as &quot; or as they are): another
			 * shape (SSE-KMS) cannot be checked, so it is sent again */
			if (xml_value(etag, sizeof(etag), block, "ETag") < 0 || xml_unescape(etag) < 0)
				continue;
			e = etag[0] == '"' ? etag + 1 : etag;
			n = strlen(e);
			if (n && e[n - 1] == '"')
				e[--n] = '\0';
			if (n != 32 || strspn(e, "0123456789abcdefABCDEF") != 32)
				continue;
			for (n = 0; n < 32; n++)
				m->listed[number - 1].md5[n] = (char)(e[n] >= 'A' && e[n] <= 'F' ? e[n] + 32 : e[n]);
			m->listed[number - 1].md5[32] = '\0';
			(*fit)++;
		}
		if (rc == 0 && k < 0)
			rc = malformed(m->r, "parts", "");
		if (rc == 0 && (xml_value(flag, sizeof(flag), body, "IsTruncated") < 0 || strcmp(flag, "true"))) {
			free(body);
			return 0;
		}
		if (rc == 0 && (xml_u64(&next, body, "NextPartNumberMarker") < 0 || next <= marker ||
				next > MAX_PARTS))
			rc = malformed(m->r, "parts", "");
		marker = next;
		free(body);
		body = NULL;
	}
	return rc;
}

/* Aborts upload ENC_ID (URI-encoded) of KEY: its parts are dropped and
 * nothing becomes visible; one already gone (404) is fine. */
static int abort_multipart(p4r_remote *r, const char *key, const char *enc_id)
{
	char query[1700];
	struct req q = { .method = "DELETE", .key = key, .query = query, .payload_hash = EMPTY_SHA256 };
	struct resp rs;
	int rc;

	snprintf(query, sizeof(query), "uploadId=%s", enc_id);
	resp_init(&rs);
	if ((rc = perform(r, &q, &rs)) == 0 && rs.status != 204 && rs.status != 200 && rs.status != 404)
		rc = s3_error(r, &q, &rs);
	free(rs.body);
	return rc;
}

/* An upload of M->key an earlier push left (the newest, when there are
 * several), with its parts in M->listed: true, M->upload_id set to ENC,
 * when this upload goes on from it. Parts of another size mean another
 * part size: that upload is aborted and a fresh one made. Nothing that
 * fails here fails the push (a server or a policy that does not list
 * uploads, a malformed listing): it only means a fresh upload, and a
 * listing that could not be judged is left for gc -r. */
static bool resume_find(struct multipart *m, char *enc, size_t encsz, unsigned *fit)
{
	char full[1100];
	struct newest n = { .key = full };
	bool truncated;
	int rc;

	*fit = 0;
	full_key(full, sizeof(full), m->r, m->key);
	if (each_upload(m->r, full, pick_newest, &n, &truncated) < 0 || !n.found ||
	    p4r_sigv4_uri_encode(enc, encsz, n.id, true) < 0) {
		p4r_error_clear();
		return false;
	}
	m->upload_id = enc;
	if ((rc = list_parts(m, fit)) == 0)
		return true;
	if (rc == 1)
		abort_multipart(m->r, m->key, enc);
	p4r_error_clear();
	memset(m->listed, 0, (size_t)m->nparts * sizeof(*m->listed));
	*fit = 0;
	m->upload_id = NULL;
	return false;
}

/* Starts a fresh upload of KEY: its id (checked) URI-encoded into ENC. */
static int create_multipart(p4r_remote *r, const char *key, char *enc, size_t encsz)
{
	char upload_id[P4R_REMOTE_UPLOAD_ID_MAX + 1];
	struct src empty = { .fd = -1, .mem = "", .mlen = 0 };
	struct req q = { .method = "POST", .key = key, .query = "uploads=", .payload_hash = EMPTY_SHA256,
			 .body = &empty };
	struct resp rs;
	int rc;

	resp_init(&rs);
	if ((rc = perform(r, &q, &rs)) == 0 && rs.status != 200)
		rc = s3_error(r, &q, &rs);
	if (rc == 0 && xml_value(upload_id, sizeof(upload_id), rs.body, "UploadId") < 0)
		rc = p4r_error_set(P4R_ERROR, "S3 did not return an upload id for '%s'", key);
	if (rc == 0 && (xml_unescape(upload_id) < 0 || !upload_id_valid(upload_id)))
		rc = p4r_error_set(P4R_ERROR, "S3 server sent an invalid upload id for '%s' on remote '%s'",
				   key, r->name);
	free(rs.body);
	if (rc == 0)
		rc = p4r_sigv4_uri_encode(enc, encsz, upload_id, true);
	return rc;
}

/* The offset of part PART (from 1) of M. */
static uint64_t part_off(const struct multipart *m, int part)
{
	return (uint64_t)(part - 1) * m->part_size;
}

/* The digests of part PART of M, read from the file in blocks (a part is
 * never held in memory whole): its MD5 in base64 (Content-MD5) and hex
 * (S3's ETag of a part), its SHA-256 in hex (signed). */
static int hash_part(struct multipart *m, int part, char md5[32], char hex[33], char sha[65])
{
	uint64_t off = part_off(m, part), end = off + part_len(m, part);
	unsigned char *buf = malloc(PART_READ), md[16 + 32];
	EVP_MD_CTX *cm = EVP_MD_CTX_new(), *cs = EVP_MD_CTX_new();
	unsigned int n5 = 0, n256 = 0;
	ssize_t n;
	int rc = 0, i;

	if (!buf || !cm || !cs || !EVP_DigestInit_ex(cm, EVP_md5(), NULL) ||
	    !EVP_DigestInit_ex(cs, EVP_sha256(), NULL)) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	while (off < end) {
		n = pread(m->fd, buf, end - off < PART_READ ? (size_t)(end - off) : PART_READ, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? p4r_error_errno("cannot read part %d of '%s'", part, m->key) :
			     p4r_error_set(P4R_ERROR, "cannot read part %d of '%s': the file shrank", part, m->key);
			goto done;
		}
		if (!EVP_DigestUpdate(cm, buf, (size_t)n) || !EVP_DigestUpdate(cs, buf, (size_t)n)) {
			rc = p4r_error_set(P4R_ERROR, "cannot hash part %d of '%s'", part, m->key);
			goto done;
		}
		off += (uint64_t)n;
	}
	if (!EVP_DigestFinal_ex(cm, md, &n5) || !EVP_DigestFinal_ex(cs, md + 16, &n256)) {
		rc = p4r_error_set(P4R_ERROR, "cannot hash part %d of '%s'", part, m->key);
		goto done;
	}
	EVP_EncodeBlock((unsigned char *)md5, md, 16);
	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	for (i = 0; i < 32; i++)
		snprintf(sha + 2 * i, 3, "%02x", md[16 + i]);
done:
	EVP_MD_CTX_free(cm);
	EVP_MD_CTX_free(cs);
	free(buf);
	return rc;
}

/* Reports LEN bytes of M done; the parts run in parallel, the callback
 * does not. */
static void part_progress(struct multipart *m, uint64_t len)
{
	if (m->progress) {
		pthread_mutex_lock(&m->lock);
		m->progress(len, 0, m->payload);
		pthread_mutex_unlock(&m->lock);
	}
}

/* Uploads part PART of M, streamed from the file, with its SHA-256 (SHA)
 * signed and its MD5 (MD5, base64) sent, so the server checks them. */
static int put_part(struct multipart *m, int part, const char *sha, const char *md5)
{
	char query[1800];
	uint64_t off = part_off(m, part), len = part_len(m, part);
	struct src body = { .fd = m->fd, .start = (off_t)off, .off = (off_t)off, .high = (off_t)off,
			    .end = (off_t)(off + len) };
	struct req q = { .method = "PUT", .key = m->key, .query = query, .payload_hash = sha,
			 .content_md5 = md5, .body = &body, .body_len = len };
	long delay_ms = p4r_test_knob("P4REG_TEST_TRANSFER_DELAY_MS");
	struct resp rs;
	int rc;

	if (delay_ms > 0) {
		/* test-only: widen the window in which a test kills the push */
		struct timespec ts = { delay_ms / 1000, (delay_ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}
	snprintf(query, sizeof(query), "partNumber=%d&uploadId=%s", part, m->upload_id);
	resp_init(&rs);
	if ((rc = perform(m->r, &q, &rs)) == 0 && rs.status != 200)
		rc = s3_error(m->r, &q, &rs);
	if (rc == 0 && !rs.etag[0])
		rc = p4r_error_set(P4R_ERROR, "S3 part %d of '%s' came back without an ETag", part, m->key);
	if (rc == 0) {
		snprintf(m->etags[part - 1], sizeof(m->etags[0]), "%s", rs.etag);
		part_progress(m, len);
	}
	free(rs.body);
	return rc;
}

/* Part PART: kept when the remote already holds these very bytes (its
 * ETag is their MD5), else uploaded (put_part). */
static int upload_part(struct multipart *m, int part)
{
	char md5[32], hex[33], sha[65];
	int rc;

	if ((rc = hash_part(m, part, md5, hex, sha)) < 0)
		return rc;
	if (m->listed[part - 1].md5[0] && !strcmp(hex, m->listed[part - 1].md5)) {
		snprintf(m->etags[part - 1], sizeof(m->etags[0]), "\"%s\"", hex);
		part_progress(m, part_len(m, part));
		return 0;
	}
	return put_part(m, part, sha, md5);
}

/* One part for p4r_parallel_for (indices from 0, parts from 1). */
static int part_item(size_t index, void *payload)
{
	return upload_part(payload, (int)index + 1);
}

/* CompleteMultipartUpload with every part's ETag. A 200 may still carry
 * an <Error> (the server failed while completing). */
static int complete_multipart(struct multipart *m)
{
	size_t xcap = (size_t)m->nparts * 200 + 128, xlen;
	char *xml = malloc(xcap), hash[65], query[1700];
	struct src body = { .fd = -1 };
	struct req q = { .method = "POST", .key = m->key, .query = query, .payload_hash = hash,
			 .body = &body };
	struct resp rs;
	int i, rc;

	if (!xml)
		return p4r_error_set(P4R_ERROR, "out of memory");
	xlen = (size_t)snprintf(xml, xcap, "<CompleteMultipartUpload>");
	for (i = 0; i < m->nparts; i++)
		xlen += (size_t)snprintf(xml + xlen, xcap - xlen,
					 "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>",
					 i + 1, m->etags[i]);
	xlen += (size_t)snprintf(xml + xlen, xcap - xlen, "</CompleteMultipartUpload>");
	hex_sha256(hash, xml, xlen);
	body.mem = xml;
	body.mlen = xlen;
	q.body_len = xlen;
	snprintf(query, sizeof(query), "uploadId=%s", m->upload_id);
	resp_init(&rs);
	if ((rc = perform(m->r, &q, &rs)) == 0 &&
	    (rs.status != 200 || (rs.body && strstr(rs.body, "<Error>"))))
		rc = s3_error(m->r, &q, &rs);
	free(rs.body);
	free(xml);
	return rc;
}

/* After a completed upload the object must be there with its size; one
 * that is not is removed, so the next push uploads it again. */
static int check_completed(p4r_remote *r, const char *key, uint64_t size)
{
	bool exists = false;
	uint64_t got = 0;
	int rc;

	if ((rc = s3_stat(r, key, &exists, &got)) < 0 || (exists && got == size))
		return rc;
	if (exists)
		r->ops->remove(r, key);
	p4r_error_clear();
	return exists ?
	       p4r_error_set(P4R_EINTEGRITY, "S3 completed the upload of '%s' on remote '%s', but the object "
			     "has %llu bytes, not %llu; removed it", key, r->name, (unsigned long long)got,
			     (unsigned long long)size) :
	       p4r_error_set(P4R_ERROR, "S3 completed the upload of '%s' on remote '%s', but the object is "
			     "not there", key, r->name);
}

/* A multipart upload of FD (SIZE bytes) to KEY. When an earlier push of
 * the same object left an upload, it goes on from there: parts whose size
 * and MD5 match the local bytes are kept, the others sent again. A part
 * that fails leaves the upload for the next push to resume (gc -r aborts
 * it once older than its grace period); a completion that fails aborts
 * it, as nothing can be known of its parts then, and is no failure when
 * the object turns out to be there all the same. */
static int put_multipart(p4r_remote *r, const char *key, int fd, uint64_t size,
			 p4r_progress_fn progress, void *payload)
{
	struct multipart m = { .r = r, .key = key, .fd = fd, .size = size,
			       .part_size = r->opts.part_size,
			       .progress = progress, .payload = payload };
	char enc[3 * P4R_REMOTE_UPLOAD_ID_MAX + 1];
	unsigned fit = 0;
	int rc;

	while ((size + m.part_size - 1) / m.part_size > MAX_PARTS)
		m.part_size *= 2;
	m.nparts = (int)((size + m.part_size - 1) / m.part_size);
	m.listed = calloc((size_t)m.nparts, sizeof(*m.listed));
	m.etags = calloc((size_t)m.nparts, sizeof(*m.etags));
	if (!m.listed || !m.etags || pthread_mutex_init(&m.lock, NULL)) {
		free(m.listed);
		free(m.etags);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	if (resume_find(&m, enc, sizeof(enc), &fit)) {
		if (fit && r->on_resume)
			r->on_resume(key, fit, (unsigned)m.nparts, r->resume_payload);
	} else if ((rc = create_multipart(r, key, enc, sizeof(enc))) < 0) {
		goto done;
	}
	m.upload_id = enc;
	/* a part that fails stops the others; the upload stays for a resume */
	if ((rc = p4r_parallel_for((size_t)m.nparts, jobs_of(r), part_item, &m)) < 0)
		goto done;
	if ((rc = complete_multipart(&m)) < 0) {
		int saved = p4r_error_code();
		char msg[600];
		bool there = false;
		uint64_t got = 0;

		snprintf(msg, sizeof(msg), "%s", p4r_error_message());
		abort_multipart(r, key, enc);
		/* the answer was lost after the server completed it, or another
		 * machine pushing the same object completed it first */
		if (s3_stat(r, key, &there, &got) == 0 && there && got == size) {
			p4r_error_clear();
			rc = 0;
		} else {
			rc = p4r_error_set(saved, "%s", msg);
		}
		goto done;
	}
	rc = check_completed(r, key, size);
done:
	pthread_mutex_destroy(&m.lock);
	free(m.listed);
	free(m.etags);
	return rc;
}

/* ---- unfinished uploads, for gc -r ---- */

struct collect {
	size_t plen;               /* the remote's prefix and its '/' */
	p4r_remote_upload *v;
	size_t n, cap;
};

/* True when REL (relative to the remote's root) is a key of the remote's
 * layout TOP/ab/cd/<oid> (TOP "objects", "chunks" or "packs"): anything
 * else under the prefix is not p4reg's, and gc -r never touches it. */
static bool layout_key(const char *rel, const char *top)
{
	size_t t = strlen(top);

	return strlen(rel) == t + 7 + P4R_OID_HEXLEN && !strncmp(rel, top, t) && rel[t] == '/' &&
	       rel[t + 3] == '/' && rel[t + 6] == '/' && p4r_oid_valid(rel + t + 7) &&
	       !strncmp(rel + t + 1, rel + t + 7, 2) && !strncmp(rel + t + 4, rel + t + 9, 2);
}

static bool object_key(const char *rel)
{
	return layout_key(rel, "objects");
}

/* Keeps an upload of an object key of the remote's layout. */
static int collect_upload(void *arg, const char *key, const char *id, int64_t initiated)
{
	struct collect *c = arg;
	const char *rel = key + c->plen;
	p4r_remote_upload *u;

	if (!object_key(rel))
		return 0;
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 16;
		void *p = realloc(c->v, ncap * sizeof(*c->v));

		if (!p)
			return p4r_error_set(P4R_ERROR, "out of memory");
		c->v = p;
		c->cap = ncap;
	}
	u = &c->v[c->n++];
	snprintf(u->key, sizeof(u->key), "%s", rel);
	snprintf(u->id, sizeof(u->id), "%s", id);
	u->initiated_s = initiated;
	return 0;
}

static int s3_list_uploads(p4r_remote *r, p4r_remote_upload **out, size_t *n, bool *truncated)
{
	struct collect c = { .plen = r->parsed.prefix[0] ? strlen(r->parsed.prefix) + 1 : 0 };
	char prefix[600];
	int rc;

	*out = NULL;
	*n = 0;
	full_key(prefix, sizeof(prefix), r, "objects/");
	if ((rc = each_upload(r, prefix, collect_upload, &c, truncated)) < 0) {
		free(c.v);
		return rc;
	}
	*out = c.v;
	*n = c.n;
	return 0;
}

static int s3_abort_upload(p4r_remote *r, const p4r_remote_upload *u)
{
	char enc[3 * P4R_REMOTE_UPLOAD_ID_MAX + 1];
	int rc;

	if (!upload_id_valid(u->id))
		return p4r_error_set(P4R_ERROR, "invalid upload id for '%s' on remote '%s'", u->key, r->name);
	if ((rc = p4r_sigv4_uri_encode(enc, sizeof(enc), u->id, true)) < 0)
		return rc;
	return abort_multipart(r, u->key, enc);
}

/* ---- the objects under objects/, for gc -r (ListObjectsV2) ---- */

/* Pages one listing of objects may take (1000 keys each) before it is
 * judged endless. */
#define OBJECT_PAGES_MAX 100000
#define TOKEN_LIST_MAX 1024

struct obj_list {
	p4r_remote *r;
	const char *top;      /* "objects", "chunks" or "packs" */
	const char *prefix;   /* PREFIX/TOP/: the whole keys listed */
	size_t plen;          /* the remote's prefix and its '/' */
	p4r_remote_object_fn fn;
	void *payload;
	size_t *foreign;
};

/* The objects of one listing page BODY to L->fn; a key outside the
 * prefix or not of the layout, or one without a well-formed size, is
 * counted in *L->foreign and never listed. */
static int objects_in_page(const struct obj_list *l, const char *body)
{
	char block[4096], key[1100], when[64];
	const char *pos = body;
	int k, rc;

	while ((k = xml_next(block, sizeof(block), &pos, "Contents")) == 0) {
		p4r_remote_object o = { 0 };

		if (xml_value(key, sizeof(key), block, "Key") < 0 || xml_unescape(key) < 0 ||
		    strncmp(key, l->prefix, strlen(l->prefix)) || !layout_key(key + l->plen, l->top) ||
		    xml_u64(&o.size, block, "Size") < 0) {
			(*l->foreign)++;
			continue;
		}
		memcpy(o.oid.hex, key + l->plen + strlen(l->top) + 7, sizeof(o.oid.hex));
		if (xml_value(when, sizeof(when), block, "LastModified") == 0)
			o.modified_s = iso_time(when);
		if ((rc = l->fn(&o, l->payload)) < 0)
			return rc;
	}
	return k < 0 ? malformed(l->r, "objects", "") : 0;
}

/* Moves TOKEN (TOKEN_LIST_MAX + 1 bytes) to where the page after BODY
 * starts: 1 when there is one, 0 when BODY was the last. The token is the
 * server's text: it must be there, printable, and move on. */
static int next_objects_token(p4r_remote *r, const char *body, char *token)
{
	char flag[8], next[TOKEN_LIST_MAX + 1];
	size_t i;

	if (xml_value(flag, sizeof(flag), body, "IsTruncated") < 0 || strcmp(flag, "true"))
		return 0;
	if (xml_value(next, sizeof(next), body, "NextContinuationToken") < 0 || xml_unescape(next) < 0 ||
	    !next[0] || !strcmp(next, token))
		return malformed(r, "objects", "");
	for (i = 0; next[i]; i++)
		if ((unsigned char)next[i] < 0x21 || (unsigned char)next[i] > 0x7e)
			return malformed(r, "objects", "");
	memcpy(token, next, i + 1);
	return 1;
}

/* The canonical query of the page that TOKEN ("" for the first) starts. */
static int objects_query(char *query, size_t qsz, const char *eprefix, const char *token)
{
	char etoken[3 * TOKEN_LIST_MAX + 1];
	int rc;

	if (!token[0]) {
		snprintf(query, qsz, "list-type=2&max-keys=1000&prefix=%s", eprefix);
		return 0;
	}
	if ((rc = p4r_sigv4_uri_encode(etoken, sizeof(etoken), token, true)) < 0)
		return rc;
	snprintf(query, qsz, "continuation-token=%s&list-type=2&max-keys=1000&prefix=%s", etoken, eprefix);
	return 0;
}

static int s3_list_objects(p4r_remote *r, const char *top, p4r_remote_object_fn fn, void *payload,
			   size_t *foreign)
{
	char prefix[600], eprefix[1800], token[TOKEN_LIST_MAX + 1] = "", query[5000], *body = NULL;
	char topdir[16];
	struct obj_list l = { r, top, prefix, r->parsed.prefix[0] ? strlen(r->parsed.prefix) + 1 : 0,
			      fn, payload, foreign };
	int page, rc;

	*foreign = 0;
	snprintf(topdir, sizeof(topdir), "%s/", top);
	full_key(prefix, sizeof(prefix), r, topdir);
	if ((rc = p4r_sigv4_uri_encode(eprefix, sizeof(eprefix), prefix, true)) < 0)
		return rc;
	for (page = 0;; page++) {
		if (page == OBJECT_PAGES_MAX)
			return malformed(r, "objects", " (it does not end)");
		if ((rc = objects_query(query, sizeof(query), eprefix, token)) < 0 ||
		    (rc = list_get(r, NULL, query, &body)) < 0)
			return rc;
		if ((rc = objects_in_page(&l, body)) == 0)
			rc = next_objects_token(r, body, token);
		free(body);
		body = NULL;
		if (rc <= 0)
			return rc;
	}
}

static int s3_put_file(p4r_remote *r, const char *key, const char *path, uint64_t size,
		       const p4r_oid *want, p4r_progress_fn progress, void *payload)
{
	struct stat st;
	int fd, rc;

	/* a stored object: a regular file, never a link planted at its name */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) < 0)
		return p4r_error_errno("cannot open '%s'", path);
	if (fstat(fd, &st) < 0) {
		rc = p4r_error_errno("cannot read '%s'", path);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = p4r_error_set(P4R_EINTEGRITY, "'%s' is not a regular file", path);
		goto done;
	}
	size = (uint64_t)st.st_size;
	if (size > r->opts.multipart_threshold) {
		/* Parts are signed with their own hashes: check the whole first. */
		if (want) {
			p4r_oid got;
			uint64_t n;

			if ((rc = p4r_hash_fd(&got, &n, fd)) < 0)
				goto done;
			if (!p4r_oid_equal(&got, want)) {
				rc = p4r_error_set(P4R_EINTEGRITY, "object %s is corrupt in the local store; not pushed",
						   want->hex);
				goto done;
			}
		}
		rc = put_multipart(r, key, fd, size, progress, payload);
	} else {
		rc = put_single(r, key, fd, size, want, progress, payload);
	}
done:
	close(fd);
	return rc;
}

/* ---- downloads ---- */

/* Above multipartThreshold an object comes down as ranges fetched in
 * parallel (remote.NAME.jobs at a time, each on a reused connection) and
 * written where they belong, each handed to the disk as it completes (the
 * final fsync finds little left), while the hash follows in order: the
 * worker that completes the range at the hash frontier hashes forward over
 * every completed range, reading them back from the page cache they were
 * just written to. The download is then hashed when its last byte lands
 * and is never read again; memory is one read buffer, whatever the size.
 *
 * Range size: SIZE / (2 x jobs), rounded up to a MiB, within 8..64 MiB --
 * at least 2 x jobs ranges, so every connection has work until near the
 * end, never so small that a request's round trip weighs, never so large
 * that the frontier waits long on one slow range. A partSize below 8 MiB
 * lowers the floor to it. */
#define RANGE_MIN ((uint64_t)8 << 20)
#define RANGE_MAX ((uint64_t)64 << 20)
#define RANGE_ROUND ((uint64_t)1 << 20)
#define HASH_BUF ((size_t)1 << 20)

/* The LEN bytes of KEY from OFF into FD (and FD2) at FD_OFF: one ranged
 * GET (a pack's run of chunks, remote/chunked.c). */
static int s3_get_range(p4r_remote *r, const char *key, uint64_t off, uint64_t len, int fd, int fd2,
			uint64_t fd_off, p4r_progress_fn progress, void *payload)
{
	char range[80];
	struct req q = { .method = "GET", .key = key, .query = "", .payload_hash = EMPTY_SHA256,
			 .range = range };
	struct resp rs;
	int rc;

	if (len == 0)
		return 0;
	snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)off,
		 (unsigned long long)(off + len - 1));
	resp_init(&rs);
	rs.fd = fd;
	rs.fd2 = fd2;
	rs.off = (off_t)fd_off;
	rs.want = len;
	rs.ranged = true;
	rs.progress = progress;
	rs.payload = payload;
	rc = perform(r, &q, &rs);
	if (rc == 0 && rs.status != 206)
		rc = rs.status == 404 ? p4r_error_set(P4R_ENOTFOUND, "'%s' is not on remote '%s'", key, r->name) :
		     rs.status == 416 ? p4r_error_set(P4R_EINTEGRITY, "'%s' on remote '%s' is shorter than the "
						     "chunks it should hold", key, r->name) :
		     s3_error(r, &q, &rs);
	if (rc == 0 && (uint64_t)rs.off != fd_off + len)
		rc = p4r_error_set(P4R_EINTEGRITY, "short ranged read of '%s' on remote '%s'", key, r->name);
	free(rs.body);
	return rc;
}

struct ranged {
	p4r_remote *r;
	const char *key;
	int fd, fd2;            /* FD2: the tee's file, or -1 */
	uint64_t size, chunk;
	size_t n;               /* ranges */
	pthread_mutex_t lock;   /* guards DONE, FRONTIER, HASHING; serialises PROGRESS */
	bool *done;             /* per range: all its bytes are in FD */
	size_t frontier;        /* the ranges below it are hashed */
	bool hashing;           /* a worker is hashing forward */
	p4r_hasher *h;          /* nullable: nothing is hashed */
	unsigned char *buf;     /* HASH_BUF bytes, the hashing worker's */
	p4r_progress_fn progress;
	void *payload;
};

static uint64_t range_size(uint64_t size, unsigned jobs, uint64_t part_size)
{
	uint64_t lo = part_size && part_size < RANGE_MIN ? part_size : RANGE_MIN;
	uint64_t c = (size + 2 * (uint64_t)jobs - 1) / (2 * (uint64_t)jobs);

	c = (c + RANGE_ROUND - 1) / RANGE_ROUND * RANGE_ROUND;
	return c < lo ? lo : c > RANGE_MAX ? RANGE_MAX : c;
}

/* Byte increments of the ranges, one call at a time. */
static void range_progress(uint64_t delta, uint64_t total, void *payload)
{
	struct ranged *g = payload;

	pthread_mutex_lock(&g->lock);
	g->progress(delta, total, g->payload);
	pthread_mutex_unlock(&g->lock);
}

/* Feeds range K, complete in G->fd, to the hasher. */
static int hash_range(struct ranged *g, size_t k)
{
	uint64_t off = (uint64_t)k * g->chunk, end = off + g->chunk > g->size ? g->size : off + g->chunk;
	ssize_t n;

	while (off < end) {
		size_t want = end - off < HASH_BUF ? (size_t)(end - off) : HASH_BUF;

		n = pread(g->fd, g->buf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? p4r_error_errno("cannot read the download of '%s'", g->key) :
			       p4r_error_set(P4R_ERROR, "cannot read the download of '%s': it shrank", g->key);
		if (p4r_hasher_update(g->h, g->buf, (size_t)n) < 0)
			return p4r_error_set(P4R_ERROR, "cannot hash the download of '%s'", g->key);
		off += (uint64_t)n;
	}
	return 0;
}

/* Range K is complete: unless another worker is at it, hashes forward
 * from the frontier over every complete range. A range completed while
 * this worker hashes is seen by its next look (under the lock), so none
 * is left behind. */
static int hash_forward(struct ranged *g, size_t k)
{
	int rc = 0;

	pthread_mutex_lock(&g->lock);
	g->done[k] = true;
	if (!g->h || g->hashing) {
		pthread_mutex_unlock(&g->lock);
		return 0;
	}
	g->hashing = true;
	while (rc == 0 && g->frontier < g->n && g->done[g->frontier]) {
		size_t next = g->frontier;

		pthread_mutex_unlock(&g->lock);
		rc = hash_range(g, next);
		pthread_mutex_lock(&g->lock);
		g->frontier++;
	}
	g->hashing = false;
	pthread_mutex_unlock(&g->lock);
	return rc;
}

static int get_range(struct ranged *g, size_t k)
{
	uint64_t off = (uint64_t)k * g->chunk, end = off + g->chunk > g->size ? g->size : off + g->chunk;
	int rc = s3_get_range(g->r, g->key, off, end - off, g->fd, g->fd2, off,
			      g->progress ? range_progress : NULL, g);

	if (rc < 0)
		return rc;
	/* the range goes to the disk now, not all at the final fsync */
	(void)sync_file_range(g->fd, (off_t)off, (off_t)(end - off), SYNC_FILE_RANGE_WRITE);
	if (g->fd2 >= 0)
		(void)sync_file_range(g->fd2, (off_t)off, (off_t)(end - off), SYNC_FILE_RANGE_WRITE);
	return hash_forward(g, k);
}

/* One range for p4r_parallel_for. */
static int range_item(size_t index, void *payload)
{
	return get_range(payload, index);
}

/* The ranged download of KEY (SIZE bytes) into FD (and FD2, unless -1),
 * hashed into H (nullable) on the way; *HASHED when it was. */
static int get_ranged(p4r_remote *r, const char *key, uint64_t size, int fd, int fd2, p4r_hasher *h,
		      bool *hashed, p4r_progress_fn progress, void *payload)
{
	unsigned jobs = jobs_of(r);
	struct ranged g = { .r = r, .key = key, .fd = fd, .fd2 = fd2, .size = size, .h = h,
			    .chunk = range_size(size, jobs, r->opts.part_size),
			    .progress = progress, .payload = payload };
	int rc;

	g.n = (size_t)((size + g.chunk - 1) / g.chunk);
	if (ftruncate(fd, (off_t)size) < 0 || (fd2 >= 0 && ftruncate(fd2, (off_t)size) < 0))
		return p4r_error_errno("cannot size the download of '%s'", key);
	g.done = calloc(g.n, sizeof(*g.done));
	g.buf = h ? malloc(HASH_BUF) : NULL;
	if (!g.done || (h && !g.buf)) {
		free(g.done);
		free(g.buf);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	if (pthread_mutex_init(&g.lock, NULL)) {
		rc = p4r_error_set(P4R_ERROR, "cannot create a lock");
	} else {
		rc = p4r_parallel_for(g.n, jobs, range_item, &g);
		pthread_mutex_destroy(&g.lock);
	}
	/* every range completed, so the last one hashed through to the end */
	if (rc == 0 && h && g.frontier != g.n)
		rc = p4r_error_set(P4R_ERROR, "the download of '%s' was not hashed whole", key);
	*hashed = rc == 0 && h;
	free(g.done);
	free(g.buf);
	return rc;
}

/* The download of KEY into FD (and FD2, unless -1); see get_file. */
static int get_into(p4r_remote *r, const char *key, uint64_t size, int fd, int fd2, p4r_hasher *h,
		    bool *hashed, p4r_progress_fn progress, void *payload)
{
	struct req q = { .method = "GET", .key = key, .query = "", .payload_hash = EMPTY_SHA256 };
	struct resp rs;
	int rc;

	*hashed = false;
	if (size > r->opts.multipart_threshold)
		return get_ranged(r, key, size, fd, fd2, h, hashed, progress, payload);
	resp_init(&rs);
	rs.fd = fd;
	rs.fd2 = fd2;
	rs.want = size;
	rs.h = h;
	rs.progress = progress;
	rs.payload = payload;
	rc = perform(r, &q, &rs);
	if (rc == 0 && rs.status == 404)
		rc = p4r_error_set(P4R_ENOTFOUND, "'%s' is not on remote '%s'", key, r->name);
	else if (rc == 0 && rs.status != 200)
		rc = s3_error(r, &q, &rs);
	else if (rc == 0 && rs.got != size)
		rc = p4r_error_set(P4R_EINTEGRITY, "object '%s' on remote '%s' is corrupt: shorter than its recorded "
				   "size (%llu of %llu bytes); not stored", key, r->name,
				   (unsigned long long)rs.got, (unsigned long long)size);
	if (rc == 0)
		*hashed = h != NULL;
	free(rs.body);
	return rc;
}

static int s3_get_file(p4r_remote *r, const char *key, uint64_t size, int fd, p4r_hasher *h,
		       bool *hashed, p4r_progress_fn progress, void *payload)
{
	return get_into(r, key, size, fd, -1, h, hashed, progress, payload);
}

/* The same read writes FD2 too: a pull in copy mode gets its work-tree
 * file from the download (remote.h, p4r_remote_tee). */
static int s3_get_file_tee(p4r_remote *r, const char *key, uint64_t size, int fd, int fd2,
			   p4r_hasher *h, p4r_progress_fn progress, void *payload)
{
	bool hashed = false;
	int rc = get_into(r, key, size, fd, fd2, h, &hashed, progress, payload);

	if (rc == 0 && !hashed)
		rc = p4r_error_set(P4R_ERROR, "the download of '%s' was not hashed", key);
	return rc;
}

/* ---- setup ---- */

static void s3_free(p4r_remote *r)
{
	struct s3 *s = r->impl;

	if (!s)
		return;
	while (s->npool)
		curl_easy_cleanup(s->pool[--s->npool]);
	if (s->pool_ok)
		pthread_mutex_destroy(&s->pool_lock);
	free(s->endpoint);
	free(s->host);
	free(s->region);
	free(s->access);
	if (s->secret) {
		OPENSSL_cleanse(s->secret, strlen(s->secret));
		free(s->secret);
	}
	if (s->token) {
		OPENSSL_cleanse(s->token, strlen(s->token));
		free(s->token);
	}
	free(s);
	r->impl = NULL;
}

static const p4r_remote_ops s3_ops = {
	.exists = s3_exists,
	.stat = s3_stat,
	.put_file = s3_put_file,
	.get_file = s3_get_file,
	.get_file_tee = s3_get_file_tee,
	.get_small = s3_get_small,
	.create_excl = s3_create_excl,
	.remove = s3_remove,
	.list_uploads = s3_list_uploads,
	.abort_upload = s3_abort_upload,
	.list_objects = s3_list_objects,
	.get_range = s3_get_range,
	.free = s3_free,
};

static char *setting(p4r_config *cfg, p4r_config_scope scope, const char *name, const char *key)
{
	char full[160];
	char *v = NULL;

	if (!cfg)
		return NULL;
	snprintf(full, sizeof(full), "remote.%s.%s", name, key);
	if (p4r_config_get(cfg, scope, full, &v) < 0) {
		p4r_error_clear();
		return NULL;
	}
	return v;
}

/* A region goes into the signing scope and the default AWS host name:
 * letters, digits, '-' and '_' only, so it cannot name another host. */
static bool region_valid(const char *v)
{
	size_t i;

	for (i = 0; v[i]; i++)
		if (i >= REGION_MAX || !(is_alnum(v[i]) || v[i] == '-' || v[i] == '_'))
			return false;
	return i > 0;
}

/* HOST[:PORT] of an endpoint: a DNS name, an IPv4 address or [IPv6], and
 * nothing curl could read as user info, a path or a second host. */
static bool authority_valid(const char *a)
{
	const char *port = NULL, *p;
	size_t n;

	if (a[0] == '[') {
		const char *close = strchr(a, ']');

		if (!close || close == a + 1)
			return false;
		for (p = a + 1; p < close; p++)
			if (!(is_alnum(*p) || *p == ':' || *p == '.'))
				return false;
		if (close[1] && close[1] != ':')
			return false;
		port = close[1] ? close + 2 : NULL;
	} else {
		n = strcspn(a, ":");
		if (n == 0)
			return false;
		for (p = a; p < a + n; p++)
			if (!(is_alnum(*p) || *p == '.' || *p == '-'))
				return false;
		port = a[n] ? a + n + 1 : NULL;
	}
	if (port) {
		long v = 0;

		for (p = port; *p; p++) {
			if (*p < '0' || *p > '9' || p - port >= 5)
				return false;
			v = v * 10 + (*p - '0');
		}
		return p > port && v >= 1 && v <= 65535;
	}
	return true;
}

/* True when the host of AUTHORITY (HOST[:PORT]) is this machine:
 * localhost (and *.localhost), 127.0.0.0/8 or [::1]. */
static bool host_is_loopback(const char *authority)
{
	char host[256];
	struct in_addr a4;
	struct in6_addr a6;
	size_t n;

	if (authority[0] == '[') {
		n = strcspn(authority + 1, "]");
		if (n >= sizeof(host))
			return false;
		memcpy(host, authority + 1, n);
		host[n] = '\0';
		return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	}
	n = strcspn(authority, ":");
	if (n >= sizeof(host))
		return false;
	memcpy(host, authority, n);
	host[n] = '\0';
	if (!strcasecmp(host, "localhost") || (n > 10 && !strcasecmp(host + n - 10, ".localhost")))
		return true;
	return inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

/* remote.NAME.allowHttp, read only from the user's own files (their
 * config and config.local): the committed config cannot lower the bar. */
static int allow_http(p4r_config *cfg, const char *name, bool *out)
{
	char *v = setting(cfg, P4R_CONFIG_TRUSTED, name, "allowHttp");
	int b = 0, rc = 0;

	*out = false;
	if (!v)
		return 0;
	if (git_config_parse_bool(&b, v) < 0)
		rc = p4r_error_set(P4R_EUSAGE, "invalid boolean for config 'remote.%s.allowHttp'", name);
	*out = b != 0;
	free(v);
	return rc;
}

/* Plain http to another machine was not allowed: how to allow it. A
 * remote without a repository (p4reg get) has only the user's config. */
static int http_refused(const p4r_remote *r, const struct s3 *s, bool named)
{
	if (!r->no_repo)
		return p4r_error_set(P4R_EUSAGE, "remote '%s' would send credentials over plain http to '%s'; use "
				     "an https:// endpoint, or allow it in your own config with 'p4reg config "
				     "--local remote.%s.allowHttp true'", r->name, s->host, r->name);
	return p4r_error_set(P4R_EUSAGE, "remote '%s' would send credentials over plain http to '%s'; use an "
			     "https:// endpoint, or allow it in your own config (~/.config/p4reg/config): "
			     "[remote \"%s\"] url = %s, allowHttp = true", r->name, s->host,
			     named ? r->name : "NAME", r->url);
}

/* The endpoint (NULL: AWS for the region) into S->endpoint and S->host,
 * validated; plain http only to loopback or with the user's own allowHttp.
 * WHAT names where it came from in messages. */
static int set_endpoint(struct s3 *s, p4r_remote *r, p4r_config *cfg, char *endpoint, const char *what)
{
	const char *authority;
	size_t len, n;
	bool allowed;
	int rc;

	if (!endpoint) {
		len = strlen(r->parsed.bucket) + strlen(s->region) + 64;
		s->endpoint = malloc(len);
		s->host = malloc(len);
		if (!s->endpoint || !s->host)
			return p4r_error_set(P4R_ERROR, "out of memory");
		if (s->path_style)
			snprintf(s->host, len, "s3.%s.amazonaws.com", s->region);
		else
			snprintf(s->host, len, "%s.s3.%s.amazonaws.com", r->parsed.bucket, s->region);
		snprintf(s->endpoint, len, "https://%s", s->host);
		s->https = true;
		return 0;
	}
	if (strncmp(endpoint, "http://", 7) && strncmp(endpoint, "https://", 8))
		return p4r_error_set(P4R_EUSAGE, "%s must start with http:// or https://", what);
	s->https = endpoint[4] == 's';
	n = strlen(endpoint);
	while (n > 8 && endpoint[n - 1] == '/')
		endpoint[--n] = '\0';
	authority = strstr(endpoint, "://") + 3;
	if (strchr(authority, '/'))
		return p4r_error_set(P4R_EUSAGE, "%s must not have a path", what);
	if (n > ENDPOINT_MAX || !authority_valid(authority))
		return p4r_error_set(P4R_EUSAGE, "invalid host in %s (HOST[:PORT], letters, digits, "
				     "'.' and '-')", what);
	len = n + strlen(r->parsed.bucket) + 2;
	s->endpoint = malloc(len);
	s->host = malloc(len);
	if (!s->endpoint || !s->host)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if (s->path_style) {
		snprintf(s->endpoint, len, "%s", endpoint);
		snprintf(s->host, len, "%s", authority);
	} else {
		snprintf(s->endpoint, len, "%.*s%s.%s", (int)(authority - endpoint), endpoint,
			 r->parsed.bucket, authority);
		snprintf(s->host, len, "%s.%s", r->parsed.bucket, authority);
	}
	if (s->https || host_is_loopback(s->host))
		return 0;
	if ((rc = allow_http(cfg, r->name, &allowed)) < 0)
		return rc;
	if (!allowed)
		return http_refused(r, s, cfg != NULL);
	return 0;
}

/* True when V is 1..MAX characters an HTTP header can carry as they are
 * (printable ASCII, no space), none of them in FORBIDDEN. */
static bool header_safe(const char *v, size_t max, const char *forbidden)
{
	size_t i;

	for (i = 0; v[i]; i++)
		if (i >= max || v[i] < 0x21 || v[i] > 0x7e || strchr(forbidden, v[i]))
			return false;
	return i > 0;
}

/* The keys of the user's own config for this remote, into S: a set with
 * its access key id (the secret then required) or nothing. */
static int config_credentials(struct s3 *s, p4r_remote *r, p4r_config *cfg)
{
	if (!(s->access = setting(cfg, P4R_CONFIG_TRUSTED, r->name, "accessKeyId")))
		return 0;
	s->secret = setting(cfg, P4R_CONFIG_TRUSTED, r->name, "secretAccessKey");
	s->token = setting(cfg, P4R_CONFIG_TRUSTED, r->name, "sessionToken");
	if (!s->secret)
		return p4r_error_set(P4R_ERROR, "incomplete S3 credentials in remote.%s.accessKeyId: no "
				     "remote.%s.secretAccessKey", r->name, r->name);
	return 0;
}

/* Credentials, one set from the first source that has one: the user's
 * own config for this remote, then the AWS environment and profile
 * (aws_config.h); checked so that what is signed is exactly what is sent,
 * and never printed. */
static int set_credentials(struct s3 *s, p4r_remote *r, p4r_config *cfg, const p4r_aws *aws)
{
	char mine[P4R_REMOTE_NAME_MAX + 32];
	const char *from = mine;
	p4r_aws_keys k;
	int rc;

	snprintf(mine, sizeof(mine), "remote.%s.accessKeyId", r->name);
	if ((rc = config_credentials(s, r, cfg)) < 0)
		return rc;
	if (!s->access) {
		if ((rc = p4r_aws_credentials(aws, &k)) < 0)
			return rc;
		if (k.access && (!(s->access = strdup(k.access)) || !(s->secret = strdup(k.secret)) ||
				 (k.token && !(s->token = strdup(k.token)))))
			return p4r_error_set(P4R_ERROR, "out of memory");
		from = k.from;
	}
	if (!s->access && r->no_repo)
		return p4r_error_set(P4R_ERROR, "no S3 credentials for remote '%s': set AWS_ACCESS_KEY_ID and "
				     "AWS_SECRET_ACCESS_KEY, a profile in ~/.aws/credentials (AWS_PROFILE), or "
				     "accessKeyId and secretAccessKey in a [remote] section with this url in your "
				     "own config", r->name);
	if (!s->access)
		return p4r_error_set(P4R_ERROR, "no S3 credentials for remote '%s': set AWS_ACCESS_KEY_ID and "
				     "AWS_SECRET_ACCESS_KEY, a profile in ~/.aws/credentials (AWS_PROFILE or "
				     "remote.%s.profile), or remote.%s.accessKeyId and secretAccessKey with "
				     "'p4reg config --local'", r->name, r->name, r->name);
	if (!header_safe(s->access, ACCESS_KEY_MAX, "/,;="))
		return p4r_error_set(P4R_EUSAGE, "invalid S3 access key id for remote '%s' (from %s): at most %d "
				     "letters and digits", r->name, from, ACCESS_KEY_MAX);
	if (!s->secret[0] || strlen(s->secret) > SECRET_MAX)
		return p4r_error_set(P4R_EUSAGE, "invalid S3 secret access key for remote '%s' (from %s): 1 to %d "
				     "bytes", r->name, from, SECRET_MAX);
	if (s->token && strlen(s->token) > TOKEN_MAX)
		return p4r_error_set(P4R_EUSAGE, "the S3 session token for remote '%s' (from %s) is longer than "
				     "%d bytes", r->name, from, TOKEN_MAX);
	if (s->token && !header_safe(s->token, TOKEN_MAX, ""))
		return p4r_error_set(P4R_EUSAGE, "the S3 session token for remote '%s' (from %s) holds characters "
				     "an HTTP header cannot carry", r->name, from);
	return 0;
}

/* True when the user's own files (their config, config.local) name
 * ENDPOINT (LEN bytes, no trailing '/') under KEY. */
static bool user_names(p4r_config *cfg, const char *name, const char *key, const char *endpoint,
		       size_t len)
{
	char *mine = setting(cfg, P4R_CONFIG_TRUSTED, name, key);
	size_t n = mine ? strlen(mine) : 0;
	bool same;

	while (n > 8 && mine[n - 1] == '/')
		n--;
	same = mine && n == len && !strncasecmp(endpoint, mine, len);
	free(mine);
	return same;
}

/* An endpoint other than AWS's gets the user's credentials and every
 * request signed with them only when the user's own files name it too
 * (remote.NAME.trustedEndpoint, the endpoint itself, or the AWS
 * environment's or profile's endpoint, MINE): the committed config alone
 * cannot aim them at any host it likes. */
static int endpoint_trusted(p4r_remote *r, p4r_config *cfg, const char *endpoint, const char *mine)
{
	size_t len = strlen(endpoint), n = mine ? strlen(mine) : 0;

	while (len > 8 && endpoint[len - 1] == '/')
		len--;
	while (n > 8 && mine[n - 1] == '/')
		n--;
	if (user_names(cfg, r->name, "trustedEndpoint", endpoint, len) ||
	    user_names(cfg, r->name, "endpoint", endpoint, len) ||
	    (mine && n == len && !strncasecmp(endpoint, mine, len)))
		return 0;
	return p4r_error_set(P4R_EREFUSED, "remote '%s' would send your S3 credentials to '%.*s', which "
			     "only the committed .p4reg/config names; if you trust that server, run "
			     "'p4reg config --local remote.%s.trustedEndpoint %.*s'", r->name, (int)len,
			     endpoint, r->name, (int)len, endpoint);
}

/* The region into S: --region (get), remote.NAME.region, then the AWS
 * environment and profile, then us-east-1. */
static int set_region(struct s3 *s, p4r_remote *r, p4r_config *cfg, const p4r_aws *aws)
{
	const p4r_remote_given *given = r->given;
	p4r_aws_source from = NULL;
	const char *v;

	if (given && given->region)
		s->region = strdup(given->region);
	else if ((s->region = setting(cfg, P4R_CONFIG_ALL, r->name, "region")) == NULL &&
		 (v = p4r_aws_region(aws, &from)) != NULL)
		s->region = strdup(v);
	else if (!s->region)
		s->region = strdup("us-east-1");
	if (!s->region)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if (region_valid(s->region))
		return 0;
	if (given && given->region)
		return p4r_error_set(P4R_EUSAGE, "invalid --region (letters, digits, '-' and '_')");
	if (from)
		return p4r_error_set(P4R_EUSAGE, "invalid region in %s (letters, digits, '-' and '_')", from);
	return p4r_error_set(P4R_EUSAGE, "invalid remote.%s.region (letters, digits, '-' and '_')", r->name);
}

/* Path-style addressing: --path-style (get) or remote.NAME.path-style,
 * else the profile's s3 addressing_style. */
static int set_path_style(struct s3 *s, p4r_remote *r, p4r_config *cfg, const p4r_aws *aws)
{
	const p4r_remote_given *given = r->given;
	char *ps = setting(cfg, P4R_CONFIG_ALL, r->name, "path-style");
	int style = -1, rc = 0;

	if (ps)
		s->path_style = !strcmp(ps, "true") || !strcmp(ps, "yes") || !strcmp(ps, "1") || !strcmp(ps, "on");
	else if ((rc = p4r_aws_path_style(aws, &style)) == 0)
		s->path_style = style == 1;
	if (given && given->path_style)
		s->path_style = true;
	free(ps);
	return rc;
}

int p4r_remote_s3_init(p4r_remote *r, p4r_config *cfg)
{
	const p4r_remote_given *given = r->given;
	struct s3 *s = calloc(1, sizeof(*s));
	char *endpoint = NULL, *profile = NULL, what[P4R_REMOTE_NAME_MAX + 32];
	const char *from = what, *aws_endpoint;
	bool mine = true;
	p4r_aws *aws = NULL;
	int rc;

	if (!s)
		return p4r_error_set(P4R_ERROR, "out of memory");
	r->impl = s;
	r->ops = &s3_ops;
	s->pool_ok = pthread_mutex_init(&s->pool_lock, NULL) == 0;
	/* the profile only from the user's own files: the committed config
	 * cannot choose whose credentials, or which endpoint, a clone uses */
	profile = setting(cfg, P4R_CONFIG_TRUSTED, r->name, "profile");
	snprintf(what, sizeof(what), "remote.%s.profile", r->name);
	rc = p4r_aws_open(&aws, profile, what);
	free(profile);
	if (rc < 0)
		return rc;
	if ((rc = set_region(s, r, cfg, aws)) < 0 || (rc = set_path_style(s, r, cfg, aws)) < 0)
		goto done;
	aws_endpoint = p4r_aws_endpoint(aws, &from);
	if (given && given->endpoint) {
		endpoint = strdup(given->endpoint);
		from = "--endpoint";
	} else if ((endpoint = setting(cfg, P4R_CONFIG_ALL, r->name, "endpoint")) != NULL) {
		snprintf(what, sizeof(what), "remote.%s.endpoint", r->name);
		from = what;
		mine = false;
	} else if (aws_endpoint) {
		endpoint = strdup(aws_endpoint);
	}
	if (!endpoint && ((given && given->endpoint) || aws_endpoint)) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	/* an endpoint given on get's command line, or by the user's AWS
	 * environment or profile, is the user's own word */
	if ((rc = set_endpoint(s, r, cfg, endpoint, from)) == 0 &&
	    (!endpoint || mine || (rc = endpoint_trusted(r, cfg, endpoint, aws_endpoint)) == 0))
		rc = set_credentials(s, r, cfg, aws);
done:
	free(endpoint);
	p4r_aws_free(aws);
	return rc;
}
