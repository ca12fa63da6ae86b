/* Remotes: URL parsing, names, settings from the configuration, key layout
 * and the conditional-write probe; the backends are remote/dir.c and
 * remote/s3.c. */
#include "p4reg/remote.h"
#include "remote/chunked_priv.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/rand.h>

#define DEFAULT_JOBS 4
#define MAX_JOBS 64
#define DEFAULT_MULTIPART_THRESHOLD ((uint64_t)64 << 20)
#define DEFAULT_PART_SIZE ((uint64_t)16 << 20)
/* S3 limits: parts of at least 5 MiB (except the last), at most 5 GiB. */
#define MIN_PART_SIZE ((uint64_t)5 << 20)
#define MAX_PART_SIZE ((uint64_t)5 << 30)

bool p4r_remote_name_valid(const char *name)
{
	size_t i;

	if (!name || !name[0] || name[0] == '-')
		return false;
	for (i = 0; name[i]; i++) {
		char c = name[i];

		if (i >= P4R_REMOTE_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

void p4r_remote_url_clear(p4r_remote_url *u)
{
	if (!u)
		return;
	free(u->path);
	free(u->bucket);
	free(u->prefix);
	memset(u, 0, sizeof(*u));
}

/* S3 bucket names: 3..63 of [a-z0-9.-], starting and ending alphanumeric. */
static bool bucket_valid(const char *b, size_t len)
{
	size_t i;

	if (len < 3 || len > 63)
		return false;
	for (i = 0; i < len; i++) {
		char c = b[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return false;
	}
	return b[0] != '.' && b[0] != '-' && b[len - 1] != '.' && b[len - 1] != '-';
}

/* A key prefix: printable ASCII without spaces, no empty, "." or ".."
 * component (S3 would accept them; a folder mirror of the bucket would not). */
static bool prefix_valid(const char *p)
{
	const char *seg = p;
	size_t i;

	for (i = 0;; i++) {
		if (p[i] == '/' || p[i] == '\0') {
			size_t n = (size_t)(p + i - seg);

			if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
				return false;
			if (p[i] == '\0')
				return true;
			seg = p + i + 1;
			continue;
		}
		if (p[i] <= ' ' || p[i] > '~' || p[i] == '\\')
			return false;
	}
}

static int parse_s3(p4r_remote_url *out, const char *url)
{
	const char *rest = url + 5, *slash = strchr(rest, '/');
	size_t blen = slash ? (size_t)(slash - rest) : strlen(rest);
	char *prefix;
	size_t n;

	if (!bucket_valid(rest, blen))
		return p4r_error_set(P4R_EUSAGE, "invalid bucket name in '%s'", url);
	out->kind = P4R_REMOTE_S3;
	out->bucket = strndup(rest, blen);
	prefix = strdup(slash ? slash + 1 : "");
	if (!out->bucket || !prefix) {
		free(prefix);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	n = strlen(prefix);
	while (n > 0 && prefix[n - 1] == '/')
		prefix[--n] = '\0';
	out->prefix = prefix;
	if (n > 512 || (n > 0 && !prefix_valid(prefix)))
		return p4r_error_set(P4R_EUSAGE, "invalid key prefix in '%s'", url);
	return 0;
}

static int parse_dir(p4r_remote_url *out, const char *path, const char *url)
{
	char cwd[PATH_MAX];
	size_t n;

	if (!path[0])
		return p4r_error_set(P4R_EUSAGE, "empty remote path in '%s'", url);
	out->kind = P4R_REMOTE_DIR;
	if (path[0] == '/') {
		out->path = strdup(path);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			return p4r_error_errno("cannot read the working directory");
		out->path = p4r_path_join(cwd, path);
	}
	if (!out->path)
		return p4r_error_set(P4R_ERROR, "out of memory");
	n = strlen(out->path);
	while (n > 1 && out->path[n - 1] == '/')
		out->path[--n] = '\0';
	return 0;
}

int p4r_remote_url_parse(p4r_remote_url *out, const char *url)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (!url || !url[0])
		return p4r_error_set(P4R_EUSAGE, "empty remote URL");
	if (strlen(url) > 4096 || strchr(url, '\n'))
		return p4r_error_set(P4R_EUSAGE, "invalid remote URL");
	if (!strncmp(url, "s3://", 5))
		rc = parse_s3(out, url);
	else if (!strncmp(url, "file://", 7))
		rc = url[7] == '/' ? parse_dir(out, url + 7, url) :
		     p4r_error_set(P4R_EUSAGE, "file:// URL '%s' needs an absolute path", url);
	else if (strstr(url, "://"))
		rc = p4r_error_set(P4R_EUSAGE, "unsupported remote URL '%s' (use a folder, file:// or s3://)", url);
	else
		rc = parse_dir(out, url, url);
	if (rc < 0)
		p4r_remote_url_clear(out);
	return rc;
}

void p4r_remote_object_key(char *buf, size_t bufsz, const p4r_oid *oid)
{
	snprintf(buf, bufsz, "objects/%.2s/%.2s/%s", oid->hex, oid->hex + 2, oid->hex);
}

void p4r_remote_chunks_key(char *buf, size_t bufsz, const p4r_oid *oid)
{
	snprintf(buf, bufsz, "chunks/%.2s/%.2s/%s", oid->hex, oid->hex + 2, oid->hex);
}

void p4r_remote_pack_key(char *buf, size_t bufsz, const p4r_oid *pack)
{
	snprintf(buf, bufsz, "packs/%.2s/%.2s/%s", pack->hex, pack->hex + 2, pack->hex);
}

void p4r_remote_log_key(char *buf, size_t bufsz, int64_t seq)
{
	snprintf(buf, bufsz, "log/%010lld.json", (long long)seq);
}

/* Reads remote.NAME.KEY into *OUT (malloc'd) or leaves it NULL when unset. */
static int remote_setting(p4r_config *cfg, const char *name, const char *key, char **out)
{
	char full[160];
	int rc;

	*out = NULL;
	if (!cfg)
		return 0;
	snprintf(full, sizeof(full), "remote.%s.%s", name, key);
	rc = p4r_config_get(cfg, P4R_CONFIG_ALL, full, out);
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		return 0;
	}
	return rc;
}

/* Sizes: a decimal number with an optional k/m/g suffix (powers of 1024). */
static int parse_size(uint64_t *out, const char *text, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (!text[0] || text[0] == '-')
		goto bad;
	v = strtoull(text, &end, 10);
	if (errno || end == text)
		goto bad;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end || v > (1ULL << 50))
		goto bad;
	*out = v;
	return 0;
bad:
	return p4r_error_set(P4R_EUSAGE, "invalid %s '%s'", what, text);
}

static int read_opts(p4r_remote *r, p4r_config *cfg)
{
	char *v = NULL;
	uint64_t n;
	int rc = 0;

	r->opts.jobs = DEFAULT_JOBS;
	r->opts.multipart_threshold = DEFAULT_MULTIPART_THRESHOLD;
	r->opts.part_size = DEFAULT_PART_SIZE;
	r->opts.format = 2;
	if ((rc = remote_setting(cfg, r->name, "format", &v)) < 0)
		return rc;
	if (v) {
		rc = strcmp(v, "1") && strcmp(v, "2") ?
		     p4r_error_set(P4R_EUSAGE, "remote.%s.format must be 1 or 2, not '%s'", r->name, v) : 0;
		r->opts.format = v[0] - '0';
		free(v);
		if (rc < 0)
			return rc;
	}
	if ((rc = remote_setting(cfg, r->name, "jobs", &v)) < 0)
		return rc;
	if (v) {
		rc = parse_size(&n, v, "remote jobs");
		if (rc == 0 && (n < 1 || n > MAX_JOBS))
			rc = p4r_error_set(P4R_EUSAGE, "remote.%s.jobs must be 1..%d", r->name, MAX_JOBS);
		r->opts.jobs = (int)n;
		free(v);
		if (rc < 0)
			return rc;
	}
	if ((rc = remote_setting(cfg, r->name, "multipartThreshold", &v)) < 0)
		return rc;
	if (v) {
		rc = parse_size(&r->opts.multipart_threshold, v, "multipart threshold");
		free(v);
		if (rc < 0)
			return rc;
	}
	if ((rc = remote_setting(cfg, r->name, "partSize", &v)) < 0)
		return rc;
	if (v) {
		rc = parse_size(&r->opts.part_size, v, "part size");
		free(v);
		if (rc < 0)
			return rc;
		if (r->opts.part_size < MIN_PART_SIZE || r->opts.part_size > MAX_PART_SIZE)
			return p4r_error_set(P4R_EUSAGE, "remote.%s.partSize must be 5 MiB..5 GiB", r->name);
	}
	return 0;
}

/* The only remote, when exactly one is configured. */
struct only_remote {
	char name[P4R_REMOTE_NAME_MAX + 1];
	int count;
};

static int find_only(const char *key, const char *value, void *payload)
{
	struct only_remote *o = payload;
	size_t n = strlen(key);
	char name[P4R_REMOTE_NAME_MAX + 1];

	(void)value;
	if (strncmp(key, "remote.", 7) || n < 12 || strcmp(key + n - 4, ".url"))
		return 0;
	if (n - 11 > P4R_REMOTE_NAME_MAX)
		return 0;
	memcpy(name, key + 7, n - 11);
	name[n - 11] = '\0';
	if (o->count == 0 || strcmp(o->name, name)) {
		snprintf(o->name, sizeof(o->name), "%s", name);
		o->count++;
	}
	return 0;
}

/* The remote NAME (its settings in CFG, nullable) at URL; NO_REPO for
 * p4r_remote_open_url. */
static int build(p4r_remote **out, p4r_config *cfg, const char *name, const char *url,
		 const p4r_remote_given *given, bool no_repo)
{
	p4r_remote *r = calloc(1, sizeof(*r));
	int rc;

	*out = NULL;
	if (!r || !(r->url = strdup(url))) {
		free(r);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	if (pthread_mutex_init(&r->format_lock, NULL) != 0) {
		free(r->url);
		free(r);
		return p4r_error_set(P4R_ERROR, "cannot create a lock");
	}
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->given = given;
	r->no_repo = no_repo;
	if ((rc = p4r_remote_url_parse(&r->parsed, r->url)) < 0 || (rc = read_opts(r, cfg)) < 0)
		goto done;
	rc = r->parsed.kind == P4R_REMOTE_DIR ? p4r_remote_dir_init(r) : p4r_remote_s3_init(r, cfg);
done:
	r->given = NULL;
	if (rc < 0)
		p4r_remote_free(r);
	else
		*out = r;
	return rc;
}

int p4r_remote_open(p4r_remote **out, p4r_config *cfg, const char *meta_dir, const char *name)
{
	char *deflt = NULL, *url = NULL;
	struct only_remote only = { .count = 0 };
	int rc;

	*out = NULL;
	if (!name || !name[0]) {
		rc = p4r_config_get(cfg, P4R_CONFIG_ALL, "core.remote", &deflt);
		if (rc == P4R_ENOTFOUND) {
			p4r_error_clear();
			if ((rc = p4r_config_foreach(cfg, find_only, &only)) < 0)
				goto done;
			if (only.count == 0) {
				rc = p4r_error_set(P4R_ENOTFOUND, "no remote configured; see 'p4reg remote add'");
				goto done;
			}
			if (only.count > 1) {
				rc = p4r_error_set(P4R_EUSAGE, "several remotes and no default: name one, or set one with 'p4reg remote add -d'");
				goto done;
			}
			name = only.name;
		} else if (rc < 0) {
			goto done;
		} else {
			name = deflt;
		}
	}
	if (!p4r_remote_name_valid(name)) {
		rc = p4r_error_set(P4R_EUSAGE, "invalid remote name '%s'", name);
		goto done;
	}
	if ((rc = remote_setting(cfg, name, "url", &url)) < 0)
		goto done;
	if (!url) {
		rc = p4r_error_set(P4R_ENOTFOUND, "no remote named '%s'", name);
		goto done;
	}
	if ((rc = build(out, cfg, name, url, NULL, false)) < 0)
		goto done;
	if (!((*out)->tmp_dir = p4r_path_join(meta_dir, "tmp"))) {
		p4r_remote_free(*out);
		*out = NULL;
		rc = p4r_error_set(P4R_ERROR, "out of memory");
	}
done:
	free(deflt);
	free(url);
	return rc;
}

/* True when two parsed URLs name the same place. */
static bool same_place(const p4r_remote_url *a, const p4r_remote_url *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == P4R_REMOTE_DIR)
		return !strcmp(a->path, b->path);
	return !strcmp(a->bucket, b->bucket) && !strcmp(a->prefix, b->prefix);
}

/* The first remote of the user's config whose URL names WANT's place. */
struct url_match {
	const p4r_remote_url *want;
	char name[P4R_REMOTE_NAME_MAX + 1];
};

static int find_url(const char *key, const char *value, void *payload)
{
	struct url_match *m = payload;
	size_t n = strlen(key);
	p4r_remote_url u;
	bool same;

	if (m->name[0] || strncmp(key, "remote.", 7) || n < 12 || strcmp(key + n - 4, ".url") ||
	    n - 11 > P4R_REMOTE_NAME_MAX)
		return 0;
	if (p4r_remote_url_parse(&u, value) < 0) {
		p4r_error_clear();
		return 0;
	}
	same = same_place(&u, m->want);
	p4r_remote_url_clear(&u);
	if (same) {
		memcpy(m->name, key + 7, n - 11);
		m->name[n - 11] = '\0';
		if (!p4r_remote_name_valid(m->name))
			m->name[0] = '\0';
	}
	return 0;
}

int p4r_remote_open_url(p4r_remote **out, p4r_config *user_cfg, const char *url,
			const p4r_remote_given *given)
{
	struct url_match m = { .name = "" };
	p4r_remote_url want;
	char label[P4R_REMOTE_NAME_MAX + 1];
	int rc;

	*out = NULL;
	if ((rc = p4r_remote_url_parse(&want, url)) < 0)
		return rc;
	m.want = &want;
	rc = p4r_config_foreach(user_cfg, find_url, &m);
	p4r_remote_url_clear(&want);
	if (rc < 0)
		return rc;
	/* Unnamed, the remote is called by its URL in messages (cut to fit). */
	if (!m.name[0] && strlen(url) >= sizeof(label))
		snprintf(label, sizeof(label), "%.*s...", (int)sizeof(label) - 4, url);
	else
		snprintf(label, sizeof(label), "%s", m.name[0] ? m.name : url);
	return build(out, m.name[0] ? user_cfg : NULL, label, url, given, true);
}

/* Reads the bytes of the finished download FD (TMP in messages) when the
 * backend did not hash them on the way (H unfinished otherwise). */
static int downloaded_oid(p4r_hasher *h, bool hashed, int fd, const char *tmp, p4r_oid *got)
{
	uint64_t n = 0;

	if (hashed)
		return p4r_hasher_final(h, got);
	if (lseek(fd, 0, SEEK_SET) < 0)
		return p4r_error_errno("cannot read '%s'", tmp);
	return p4r_hash_fd(got, &n, fd);
}

/* The size the version record claims must be the size of the bytes that
 * matched the oid (in FD, and in FD2 when there is one), or that record
 * is forged. */
static int check_size(const p4r_remote *r, const p4r_oid *oid, int64_t size, int fd, int fd2,
		      const char *tmp)
{
	struct stat st, st2;

	if (fstat(fd, &st) < 0 || (fd2 >= 0 && fstat(fd2, &st2) < 0))
		return p4r_error_errno("cannot stat '%s'", tmp);
	if ((int64_t)st.st_size != size)
		return p4r_error_set(P4R_EINTEGRITY, "object %s on remote '%s' is %lld bytes, but its version "
				     "record says %lld (the event that registered it is wrong)", oid->hex,
				     r->name, (long long)st.st_size, (long long)size);
	if (fd2 >= 0 && st2.st_size != st.st_size)
		return p4r_error_set(P4R_ERROR, "the second copy of object %s has %lld bytes, not %lld",
				     oid->hex, (long long)st2.st_size, (long long)st.st_size);
	return 0;
}

int p4r_remote_get_verified(p4r_remote *r, const p4r_oid *oid, int64_t size, int fd,
			    const char *tmp, p4r_progress_fn progress, void *payload)
{
	return p4r_remote_get_verified_tee(r, oid, size, fd, -1, tmp, progress, payload);
}

/* The whole object KEY into FD (and FD2), hashed into H on the way when
 * the backend can (*HASHED). */
static int get_whole(p4r_remote *r, const char *key, int64_t size, int fd, int fd2, p4r_hasher *h,
		     bool *hashed, p4r_progress_fn progress, void *payload)
{
	if (fd2 >= 0 && !r->ops->get_file_tee)
		return p4r_error_set(P4R_ERROR, "remote '%s' cannot write a download twice", r->name);
	*hashed = fd2 >= 0; /* get_file_tee always hashes; get_file says */
	if (fd2 >= 0)
		return r->ops->get_file_tee(r, key, (uint64_t)size, fd, fd2, h, progress, payload);
	return r->ops->get_file(r, key, (uint64_t)size, fd, h, hashed, progress, payload);
}

/* Whether R holds OID whole (errors count as no: the caller's stands). */
static bool whole_there(p4r_remote *r, const p4r_oid *oid)
{
	char key[128], *why = strdup(p4r_error_message());
	uint64_t size = 0;
	bool there = false;

	p4r_remote_object_key(key, sizeof(key), oid);
	if (r->ops->stat(r, key, &there, &size) < 0)
		there = false;
	/* the chunked read's message stays for the caller when there is none */
	p4r_error_set(P4R_EINTEGRITY, "%s", why ? why : "out of memory");
	free(why);
	return there;
}

/* The download of OID into FD (and FD2): from its chunk list when the
 * remote has one (*CHUNKED; local chunks used when *LOCAL, which then
 * says whether any was), else whole. */
static int get_any(p4r_remote *r, const p4r_oid *oid, int64_t size, int fd, int fd2, p4r_hasher *h,
		   bool *hashed, bool *local, uint64_t *received, p4r_progress_fn progress, void *payload)
{
	char key[128];
	uint64_t chunked = 0;
	int format = 1, rc = 0;

	*hashed = false;
	if ((uint64_t)size >= P4R_CHUNK_FROM && (rc = p4r_remote_format(r, false, &format)) == 0 &&
	    format >= 2) {
		rc = p4r_chunked_get(r, oid, (uint64_t)size, fd, fd2, local, received, progress, payload);
		/* a list that does not read back (a pack gone or short): a
		 * whole copy beside it (kept by a convert) still serves */
		if (rc == P4R_EINTEGRITY && whole_there(r, oid))
			chunked = *received;
		else if (rc != P4R_ENOTFOUND)
			return rc;
		p4r_error_clear();
	} else if ((uint64_t)size >= P4R_CHUNK_FROM && rc < 0) {
		return rc;
	}
	*local = false;
	*received = chunked + (uint64_t)size;
	p4r_remote_object_key(key, sizeof(key), oid);
	rc = get_whole(r, key, size, fd, fd2, h, hashed, progress, payload);
	/* a convert may have written its list and removed it since */
	if (rc == P4R_ENOTFOUND && (uint64_t)size >= P4R_CHUNK_FROM && format >= 2) {
		p4r_error_clear();
		*hashed = false;
		rc = p4r_chunked_get(r, oid, (uint64_t)size, fd, fd2, local, received, progress, payload);
	}
	if (rc == P4R_ENOTFOUND)
		rc = p4r_error_set(P4R_ENOTFOUND, "object %s is not on remote '%s'", oid->hex, r->name);
	return rc;
}

int p4r_remote_get_object(p4r_remote *r, const p4r_oid *oid, int64_t size, int fd, int fd2,
			  const char *tmp, uint64_t *received, p4r_progress_fn progress, void *payload)
{
	p4r_hasher *h = NULL;
	bool hashed = false, local = true;
	uint64_t this_time = 0;
	p4r_oid got;
	int rc, attempt;

	*received = 0;
	if ((rc = p4r_hasher_new(&h)) < 0)
		return rc;
	for (attempt = 0; attempt < 2; attempt++) {
		this_time = 0;
		rc = get_any(r, oid, size, fd, fd2, h, &hashed, &local, &this_time, progress, payload);
		/* both attempts' bytes came from the remote */
		*received += this_time;
		if (rc < 0 || (rc = downloaded_oid(h, hashed, fd, tmp, &got)) < 0)
			goto done;
		/* a local object changed behind the store's back (a hard link
		 * written to) lent wrong chunks: read them all from the remote */
		if (p4r_oid_equal(&got, oid) || !local)
			break;
		local = false;
		/* should the list be gone by now, a whole read writes from the start */
		if (lseek(fd, 0, SEEK_SET) < 0 || (fd2 >= 0 && lseek(fd2, 0, SEEK_SET) < 0)) {
			rc = p4r_error_errno("cannot read '%s'", tmp);
			goto done;
		}
		if ((rc = p4r_hasher_reset(h)) < 0)
			goto done;
	}
	if (!p4r_oid_equal(&got, oid)) {
		rc = p4r_error_set(P4R_EINTEGRITY, "object %s on remote '%s' is corrupt (its bytes hash to %s)",
				   oid->hex, r->name, got.hex);
		goto done;
	}
	rc = check_size(r, oid, size, fd, fd2, tmp);
done:
	p4r_hasher_free(h);
	return rc;
}

int p4r_remote_get_verified_tee(p4r_remote *r, const p4r_oid *oid, int64_t size, int fd, int fd2,
				const char *tmp, p4r_progress_fn progress, void *payload)
{
	uint64_t received = 0;

	return p4r_remote_get_object(r, oid, size, fd, fd2, tmp, &received, progress, payload);
}

int p4r_remote_has_object(p4r_remote *r, const p4r_oid *oid, bool *there, uint64_t *size)
{
	char key[128];
	uint64_t whole = 0;
	int format, rc;

	*there = false;
	if ((rc = p4r_remote_format(r, false, &format)) < 0)
		return rc;
	if (format >= 2) {
		p4r_remote_chunks_key(key, sizeof(key), oid);
		if ((rc = r->ops->stat(r, key, there, &whole)) < 0)
			return rc;
		if (*there && size)
			rc = p4r_chunked_size(r, oid, size);
		if (*there || rc < 0)
			return rc;
	}
	p4r_remote_object_key(key, sizeof(key), oid);
	return r->ops->stat(r, key, there, size ? size : &whole);
}

int p4r_remote_put_object(p4r_remote *r, const p4r_oid *oid, const char *path, uint64_t size,
			  bool *present, uint64_t *sent, p4r_progress_fn progress, void *payload)
{
	char key[128];
	int format, rc;

	*sent = 0;
	if ((rc = p4r_remote_has_object(r, oid, present, NULL)) < 0 || *present)
		return rc;
	if ((rc = p4r_remote_format(r, true, &format)) < 0)
		return rc;
	if (format >= 2 && size >= P4R_CHUNK_FROM)
		return p4r_chunked_put(r, oid, path, size, sent, progress, payload);
	p4r_remote_object_key(key, sizeof(key), oid);
	if ((rc = r->ops->put_file(r, key, path, size, oid, progress, payload)) == 0)
		*sent = size;
	return rc;
}

void p4r_remote_free(p4r_remote *r)
{
	if (!r)
		return;
	if (r->ops && r->ops->free)
		r->ops->free(r);
	p4r_remote_url_clear(&r->parsed);
	pthread_mutex_destroy(&r->format_lock);
	free(r->url);
	free(r->tmp_dir);
	free(r);
}

int p4r_remote_probe(p4r_remote *r, bool *safe)
{
	unsigned char rnd[12];
	char key[96];
	int rc, second;
	size_t i;

	*safe = false;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return p4r_error_set(P4R_ERROR, "cannot get random bytes for the probe");
	i = (size_t)snprintf(key, sizeof(key), "probe/p4reg-");
	for (size_t j = 0; j < sizeof(rnd); j++)
		i += (size_t)snprintf(key + i, sizeof(key) - i, "%02x", rnd[j]);
	if ((rc = r->ops->create_excl(r, key, "1", 1)) < 0)
		return rc;
	second = r->ops->create_excl(r, key, "2", 1);
	if (second == P4R_EEXISTS) {
		p4r_error_clear();
		*safe = true;
	} else if (second < 0) {
		r->ops->remove(r, key);
		return second;
	}
	return r->ops->remove(r, key);
}
