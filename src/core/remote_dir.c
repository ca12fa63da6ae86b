/* The folder remote: a directory on local disk or a NAS mount holding
 * objects/ and log/ (docs/remotes.md). Uploads go through ROOT/tmp/ and a
 * rename, so a final name only ever holds complete, verified bytes; event
 * batches are created with link(2), which fails with EEXIST when another
 * writer got there first. The root itself is never created here: a missing
 * mount must fail, not fill the local disk. */
#include "p4reg/remote.h"
#include "p4reg/store.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLOCK ((size_t)4 << 20)
#define PROGRESS_EVERY ((uint64_t)16 << 20)

struct dir_remote {
	long delay_ms; /* P4REG_TEST_TRANSFER_DELAY_MS: test-only pause per block */
};

/* ROOT/KEY into BUF; KEY is ours, but is still refused when it could
 * leave the root. */
static int key_path(char *buf, size_t bufsz, const p4r_remote *r, const char *key)
{
	int n;

	if (!key[0] || key[0] == '/' || strstr(key, ".."))
		return p4r_error_set(P4R_EUSAGE, "invalid remote key '%s'", key);
	n = snprintf(buf, bufsz, "%s/%s", r->parsed.path, key);
	if (n < 0 || (size_t)n >= bufsz)
		return p4r_error_set(P4R_ERROR, "remote path of '%s' is too long", key);
	return 0;
}

static int root_check(const p4r_remote *r)
{
	struct stat st;

	if (stat(r->parsed.path, &st) < 0) {
		if (errno == ENOENT)
			return p4r_error_set(P4R_ERROR, "remote folder '%s' does not exist", r->parsed.path);
		return p4r_error_errno("cannot open remote folder '%s'", r->parsed.path);
	}
	if (!S_ISDIR(st.st_mode))
		return p4r_error_set(P4R_ERROR, "remote '%s' is not a folder", r->parsed.path);
	return 0;
}

/* mkdir -p of ROOT/REL without ever creating ROOT itself. */
static int mkdirs_below(const p4r_remote *r, const char *rel)
{
	char path[PATH_MAX];
	size_t base = strlen(r->parsed.path), i;
	int n = snprintf(path, sizeof(path), "%s/%s", r->parsed.path, rel);

	if (n < 0 || (size_t)n >= sizeof(path))
		return p4r_error_set(P4R_ERROR, "remote path '%s' is too long", rel);
	for (i = base + 1; ; i++) {
		if (path[i] == '/' || path[i] == '\0') {
			char c = path[i];

			path[i] = '\0';
			if (mkdir(path, 0755) < 0 && errno != EEXIST) {
				if (errno == ENOENT)
					return p4r_error_set(P4R_ERROR, "remote folder '%s' does not exist",
							     r->parsed.path);
				return p4r_error_errno("cannot create '%s'", path);
			}
			path[i] = c;
			if (!c)
				break;
		}
	}
	return 0;
}

static void test_delay(const p4r_remote *r)
{
	const struct dir_remote *d = r->impl;
	struct timespec ts;

	if (d->delay_ms <= 0)
		return;
	ts.tv_sec = d->delay_ms / 1000;
	ts.tv_nsec = (d->delay_ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

static bool test_delayed(const p4r_remote *r)
{
	const struct dir_remote *d = r->impl;

	return d->delay_ms > 0;
}

/* The store reports bytes done so far; remote progress counts deltas. */
struct delta_progress {
	p4r_progress_fn fn;
	void *payload;
	uint64_t last;
};

static void delta_progress(uint64_t done, uint64_t total, void *payload)
{
	struct delta_progress *dp = payload;

	if (done > dp->last)
		dp->fn(done - dp->last, total, dp->payload);
	dp->last = done;
}

static int dir_exists(p4r_remote *r, const char *key, bool *out)
{
	char path[PATH_MAX];
	struct stat st;
	int rc;

	*out = false;
	if ((rc = key_path(path, sizeof(path), r, key)) < 0)
		return rc;
	if (stat(path, &st) == 0) {
		*out = S_ISREG(st.st_mode);
		return 0;
	}
	if (errno == ENOENT || errno == ENOTDIR)
		return root_check(r);
	return p4r_error_errno("cannot read '%s'", path);
}

/* Copies SRC to DST (both open), hashing into H when non-NULL. */
static int copy_fd(p4r_remote *r, int src, const char *src_name, int dst, const char *dst_name,
		   p4r_hasher *h, uint64_t size, uint64_t *copied,
		   p4r_progress_fn progress, void *payload)
{
	unsigned char *buf = malloc(BLOCK);
	uint64_t done = 0, last = 0;
	ssize_t n;
	int rc = 0;

	if (!buf)
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (;;) {
		n = read(src, buf, BLOCK);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = p4r_error_errno("cannot read '%s'", src_name);
			break;
		}
		if (n == 0)
			break;
		if (h && (rc = p4r_hasher_update(h, buf, (size_t)n)) < 0)
			break;
		if (p4r_write_all(dst, buf, (size_t)n) < 0) {
			rc = p4r_error_errno("cannot write '%s'", dst_name);
			break;
		}
		done += (uint64_t)n;
		if (progress && done - last >= PROGRESS_EVERY) {
			progress(done - last, size, payload);
			last = done;
		}
		test_delay(r);
	}
	if (progress && done > last)
		progress(done - last, size, payload);
	free(buf);
	*copied = done;
	return rc;
}

static int dir_put_file(p4r_remote *r, const char *key, const char *path, uint64_t size,
			const p4r_oid *want, p4r_progress_fn progress, void *payload)
{
	char final[PATH_MAX], parent[PATH_MAX], *tmp = NULL, *tmpdir = NULL, *slash;
	p4r_hasher *h = NULL;
	p4r_oid got;
	uint64_t copied = 0;
	int src = -1, dst = -1, rc;

	if ((rc = key_path(final, sizeof(final), r, key)) < 0 || (rc = root_check(r)) < 0)
		return rc;
	if ((src = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return p4r_error_errno("cannot open '%s'", path);
	if (!(tmpdir = p4r_path_join(r->parsed.path, "tmp"))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	if ((rc = mkdirs_below(r, "tmp")) < 0 ||
	    (rc = p4r_mkstemp_in(&dst, &tmp, tmpdir, "push")) < 0)
		goto done;
	if (want && !test_delayed(r)) {
		/* the store's pipeline: reads and writes overlap the hash */
		struct delta_progress dp = { .fn = progress, .payload = payload };

		rc = p4r_store_copy_hashed(&got, &copied, src, path, dst, tmp, size,
					   progress ? delta_progress : NULL, &dp);
	} else if ((rc = want ? p4r_hasher_new(&h) : 0) == 0 &&
		   (rc = copy_fd(r, src, path, dst, tmp, h, size, &copied, progress, payload)) == 0 && h) {
		rc = p4r_hasher_final(h, &got);
	}
	if (rc < 0)
		goto done;
	if (want) {
		if (!p4r_oid_equal(&got, want) || (size && copied != size)) {
			rc = p4r_error_set(P4R_EINTEGRITY, "object %s is corrupt in the local store "
					   "(its bytes hash to %s); not pushed; run 'p4reg fsck'",
					   want->hex, got.hex);
			goto done;
		}
	}
	if (fchmod(dst, 0444) < 0 || fsync(dst) < 0) {
		rc = p4r_error_errno("cannot write '%s'", tmp);
		goto done;
	}
	snprintf(parent, sizeof(parent), "%s", key);
	if ((slash = strrchr(parent, '/')))
		*slash = '\0';
	if (slash && (rc = mkdirs_below(r, parent)) < 0)
		goto done;
	if (rename(tmp, final) < 0) {
		rc = errno == ENOENT ? p4r_error_set(P4R_ERROR, "remote folder '%s' vanished during the upload",
						     r->parsed.path) :
		     p4r_error_errno("cannot rename '%s' to '%s'", tmp, final);
		goto done;
	}
	free(tmp);
	tmp = NULL;
	rc = p4r_fsync_parent(final);
done:
	if (dst >= 0)
		close(dst);
	if (src >= 0)
		close(src);
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(tmpdir);
	p4r_hasher_free(h);
	return rc;
}

/* Opens ROOT/KEY for reading: regular files only; P4R_ENOTFOUND when absent. */
static int open_key(p4r_remote *r, const char *key, int *fd, struct stat *st, char *path, size_t pathsz)
{
	int rc;

	if ((rc = key_path(path, pathsz, r, key)) < 0)
		return rc;
	if ((*fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			if ((rc = root_check(r)) < 0)
				return rc;
			return p4r_error_set(P4R_ENOTFOUND, "'%s' is not on remote '%s'", key, r->name);
		}
		return p4r_error_errno("cannot open '%s'", path);
	}
	if (fstat(*fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(*fd);
		*fd = -1;
		return p4r_error_set(P4R_EINTEGRITY, "'%s' on remote '%s' is not a regular file", key, r->name);
	}
	return 0;
}

static int dir_get_file(p4r_remote *r, const char *key, uint64_t size, int fd, p4r_hasher *h,
			bool *hashed, p4r_progress_fn progress, void *payload)
{
	char path[PATH_MAX];
	struct stat st;
	uint64_t copied = 0;
	int src = -1, rc;

	*hashed = false;
	if ((rc = open_key(r, key, &src, &st, path, sizeof(path))) < 0)
		return rc;
	if (size && (uint64_t)st.st_size != size) {
		rc = p4r_error_set(P4R_EINTEGRITY, "'%s' on remote '%s' has %lld bytes, expected %llu",
				   key, r->name, (long long)st.st_size, (unsigned long long)size);
		goto done;
	}
	rc = copy_fd(r, src, path, fd, "download", h, size, &copied, progress, payload);
	*hashed = h != NULL;
done:
	close(src);
	return rc;
}

static int dir_get_small(p4r_remote *r, const char *key, size_t max, char **out, size_t *len)
{
	char path[PATH_MAX], *buf = NULL;
	struct stat st;
	size_t got = 0;
	ssize_t n;
	int fd = -1, rc;

	*out = NULL;
	*len = 0;
	if ((rc = open_key(r, key, &fd, &st, path, sizeof(path))) < 0)
		return rc;
	if ((uint64_t)st.st_size > max) {
		rc = p4r_error_set(P4R_EINTEGRITY, "'%s' on remote '%s' is too large (%lld bytes, at most %zu)",
				   key, r->name, (long long)st.st_size, max);
		goto done;
	}
	if (!(buf = malloc((size_t)st.st_size + 1))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = p4r_error_errno("cannot read '%s'", path);
			goto done;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
done:
	free(buf);
	close(fd);
	return rc;
}

static int dir_create_excl(p4r_remote *r, const char *key, const void *data, size_t len)
{
	char final[PATH_MAX], parent[PATH_MAX], *tmp = NULL, *tmpdir = NULL, *slash;
	int fd = -1, rc;

	if ((rc = key_path(final, sizeof(final), r, key)) < 0 || (rc = root_check(r)) < 0)
		return rc;
	snprintf(parent, sizeof(parent), "%s", key);
	if ((slash = strrchr(parent, '/')))
		*slash = '\0';
	if (!(tmpdir = p4r_path_join(r->parsed.path, "tmp")))
		return p4r_error_set(P4R_ERROR, "out of memory");
	if ((rc = mkdirs_below(r, "tmp")) < 0 ||
	    (slash && (rc = mkdirs_below(r, parent)) < 0) ||
	    (rc = p4r_mkstemp_in(&fd, &tmp, tmpdir, "log")) < 0)
		goto done;
	if (p4r_write_all(fd, data, len) < 0 || fchmod(fd, 0444) < 0 || fsync(fd) < 0) {
		rc = p4r_error_errno("cannot write '%s'", tmp);
		goto done;
	}
	/* link(2) never replaces: of two writers of one name exactly one wins. */
	if (link(tmp, final) < 0) {
		if (errno == EEXIST)
			rc = p4r_error_set(P4R_EEXISTS, "'%s' already exists on remote '%s'", key, r->name);
		else
			rc = p4r_error_errno("cannot create '%s'", final);
		goto done;
	}
	rc = p4r_fsync_parent(final);
done:
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(tmpdir);
	return rc;
}

static int dir_remove(p4r_remote *r, const char *key)
{
	char path[PATH_MAX];
	int rc;

	if ((rc = key_path(path, sizeof(path), r, key)) < 0)
		return rc;
	if (unlink(path) < 0 && errno != ENOENT)
		return p4r_error_errno("cannot remove '%s'", path);
	return 0;
}

static void dir_free(p4r_remote *r)
{
	free(r->impl);
	r->impl = NULL;
}

static const p4r_remote_ops dir_ops = {
	.exists = dir_exists,
	.put_file = dir_put_file,
	.get_file = dir_get_file,
	.get_small = dir_get_small,
	.create_excl = dir_create_excl,
	.remove = dir_remove,
	.free = dir_free,
};

int p4r_remote_dir_init(p4r_remote *r)
{
	struct dir_remote *d = calloc(1, sizeof(*d));
	const char *delay = getenv("P4REG_TEST_TRANSFER_DELAY_MS");

	if (!d)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if (delay)
		d->delay_ms = strtol(delay, NULL, 10);
	r->impl = d;
	r->ops = &dir_ops;
	return 0;
}
