/* The folder remote: a directory on local disk or a NAS mount holding
 * objects/ and log/ (docs/remotes.md). Uploads go through ROOT/tmp/ and a
 * rename, so a final name only ever holds complete, verified bytes; event
 * batches are created with link(2), which fails with EEXIST when another
 * writer got there first. The root itself is never created here: a missing
 * mount must fail, not fill the local disk.
 *
 * What is inside the root is not trusted (another clone, or whoever can
 * write the share, put it there): every key is resolved one folder at a
 * time from the root with O_NOFOLLOW, so a symlinked folder never leads a
 * read or a write elsewhere, and only regular files are opened, without
 * blocking (a FIFO or a device at a key is refused, never waited on). */
#include "p4reg/remote.h"
#include "p4reg/publish.h"
#include "p4reg/store.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "util/testknob.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/rand.h>

#define BLOCK ((size_t)4 << 20)
#define PROGRESS_EVERY ((uint64_t)16 << 20)
#define KEY_MAX 512
#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)

struct dir_remote {
	long delay_ms; /* P4REG_TEST_TRANSFER_DELAY_MS: test-only pause per block */
	atomic_bool ours; /* the root was found to be a p4reg remote (marked) */
};

/* Keys are ours ("objects/ab/cd/<oid>", "log/<n>.json", "probe/...",
 * "tmp/..."): [A-Za-z0-9._-] components, none empty, "." or "..". */
static int key_check(const char *key)
{
	const char *seg = key;
	size_t i;

	for (i = 0;; i++) {
		char c = key[i];

		if (c == '/' || c == '\0') {
			size_t n = (size_t)(key + i - seg);

			if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
				break;
			if (c == '\0')
				return 0;
			seg = key + i + 1;
			continue;
		}
		if (i >= KEY_MAX || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			break;
	}
	return p4r_error_set(P4R_EUSAGE, "invalid remote key '%.*s'", KEY_MAX, key);
}

/* Opens the root folder. It may itself be a symlink (the user named it);
 * nothing below it may. */
static int root_open(const p4r_remote *r, int *out)
{
	*out = open(r->parsed.path, O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC);
	if (*out >= 0)
		return 0;
	if (errno == ENOENT)
		return p4r_error_set(P4R_ERROR, "remote folder '%s' does not exist", r->parsed.path);
	if (errno == ENOTDIR)
		return p4r_error_set(P4R_ERROR, "remote '%s' is not a folder", r->parsed.path);
	return p4r_error_errno("cannot open remote folder '%s'", r->parsed.path);
}

/* The file that marks a folder as a p4reg remote. */
#define MARKER "p4reg-remote"
#define MARKER_TEXT "p4reg remote 1\n"

static bool regular_at(int dir, const char *name)
{
	struct stat st;

	return fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

static bool folder_empty(int root)
{
	int fd = fcntl(root, F_DUPFD_CLOEXEC, 0);
	struct dirent *de;
	bool empty = true;
	DIR *dir;

	if (fd < 0 || !(dir = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	rewinddir(dir); /* a dup shares the read position */
	while (empty && (de = readdir(dir)))
		empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
	closedir(dir);
	return empty;
}

static int write_marker(const p4r_remote *r, int root)
{
	int fd = openat(root, MARKER, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);

	if (fd < 0)
		return errno == EEXIST ? 0 : p4r_error_errno("cannot mark '%s' as a p4reg remote",
							     r->parsed.path);
	if (p4r_write_full(fd, MARKER_TEXT, sizeof(MARKER_TEXT) - 1) < 0 || fsync(fd) < 0) {
		close(fd);
		return p4r_error_errno("cannot mark '%s' as a p4reg remote", r->parsed.path);
	}
	close(fd);
	return fsync(root) < 0 && errno != EINVAL ?
	       p4r_error_errno("cannot fsync remote folder '%s'", r->parsed.path) : 0;
}

/* Before anything is written in the root: it must be a p4reg remote (its
 * marker, or a first batch from before markers existed) or empty, and is
 * then marked. A committed config names the folder, so a clone could
 * otherwise aim a push at any folder the user can write (their home,
 * ~/.ssh) and fill it; folder names alone (tmp/, log/) prove nothing. */
static int ensure_ours(const p4r_remote *r, int root)
{
	struct dir_remote *d = r->impl;
	int logfd;
	bool old = false;

	if (atomic_load(&d->ours) || regular_at(root, MARKER)) {
		atomic_store(&d->ours, true);
		return 0;
	}
	if ((logfd = openat(root, "log", DIR_FLAGS)) >= 0) {
		old = regular_at(logfd, "0000000001.json");
		close(logfd);
	}
	/* another upload thread of this push may have marked it meanwhile */
	if (!old && !folder_empty(root) && !regular_at(root, MARKER))
		return p4r_error_set(P4R_ERROR, "remote folder '%s' holds other files and no p4reg "
				     "remote; point remote.%s.url at an empty folder of its own",
				     r->parsed.path, r->name);
	if (write_marker(r, root) < 0)
		return P4R_ERROR;
	atomic_store(&d->ours, true);
	return 0;
}

/* Opens the folder COMP in the open folder FD (made when CREATE; a new
 * one's entry is made durable, so an object published below it survives a
 * crash); KEY and LEN name the path so far in messages. */
static int open_component(const p4r_remote *r, int fd, const char *comp, const char *key, int len,
			  bool create, int *next)
{
	*next = openat(fd, comp, DIR_FLAGS);
	if (*next < 0 && errno == ENOENT && create) {
		if (mkdirat(fd, comp, 0755) == 0) {
			if (fsync(fd) < 0 && errno != EINVAL)
				return p4r_error_errno("cannot fsync '%s/%.*s'", r->parsed.path, len, key);
		} else if (errno != EEXIST) {
			return errno == ENOENT ? p4r_error_set(P4R_ERROR, "remote folder '%s' vanished",
							       r->parsed.path) :
			       p4r_error_errno("cannot create '%s/%.*s'", r->parsed.path, len, key);
		}
		*next = openat(fd, comp, DIR_FLAGS);
	}
	if (*next >= 0)
		return 0;
	if (errno == ENOENT)
		return create ? p4r_error_set(P4R_ERROR, "remote folder '%s' vanished", r->parsed.path) :
		       P4R_ENOTFOUND;
	if (errno == ELOOP || errno == ENOTDIR)
		return p4r_error_set(P4R_EINTEGRITY, "remote '%s' has a symlink or a file at '%.*s' where "
				     "a folder belongs; refusing to follow it (remove it from '%s')",
				     r->name, len, key, r->parsed.path);
	return p4r_error_errno("cannot open '%s/%.*s'", r->parsed.path, len, key);
}

/* The folder that holds KEY, opened by walking its components from the
 * root with O_NOFOLLOW (created when CREATE); *BASE points at the key's
 * last component. P4R_ENOTFOUND (no message) when a folder is missing and
 * CREATE is false; P4R_EINTEGRITY when one is a symlink or not a folder. */
static int key_parent(const p4r_remote *r, const char *key, bool create, int *out, const char **base)
{
	char comp[KEY_MAX + 1];
	const char *p = key, *slash;
	int fd, next, rc;

	*out = -1;
	if ((rc = key_check(key)) < 0 || (rc = root_open(r, &fd)) < 0)
		return rc;
	if (create && (rc = ensure_ours(r, fd)) < 0) {
		close(fd);
		return rc;
	}
	while ((slash = strchr(p, '/'))) {
		memcpy(comp, p, (size_t)(slash - p));
		comp[slash - p] = '\0';
		rc = open_component(r, fd, comp, key, (int)(slash - key), create, &next);
		close(fd);
		if (rc < 0)
			return rc;
		fd = next;
		p = slash + 1;
	}
	*out = fd;
	*base = p;
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

/* KEY's own entry, never followed (a symlink is reported as one): found
 * by the O_NOFOLLOW walk, then fstatat in its folder, so a FIFO at the key
 * is never opened. P4R_ENOTFOUND (no message) when KEY or a folder on
 * the way is absent. */
static int stat_key(p4r_remote *r, const char *key, struct stat *st)
{
	const char *base;
	int dfd, rc;

	if ((rc = key_parent(r, key, false, &dfd, &base)) < 0)
		return rc;
	if (fstatat(dfd, base, st, AT_SYMLINK_NOFOLLOW) < 0)
		rc = errno == ENOENT ? P4R_ENOTFOUND : p4r_error_errno("cannot read '%s/%s'", r->parsed.path, key);
	close(dfd);
	return rc;
}

static int dir_stat(p4r_remote *r, const char *key, bool *exists, uint64_t *size)
{
	struct stat st;
	int rc = stat_key(r, key, &st);

	*exists = false;
	*size = 0;
	if (rc == P4R_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	/* a symlink or a FIFO at the key is not the object: a push replaces it */
	if (S_ISREG(st.st_mode)) {
		*exists = true;
		*size = (uint64_t)st.st_size;
	}
	return 0;
}

static int dir_exists(p4r_remote *r, const char *key, bool *out)
{
	uint64_t size;

	return dir_stat(r, key, out, &size);
}

/* Opens NAME in DFD for reading, only when it is a regular file, without
 * ever blocking (O_NONBLOCK until it is known to be one) or following a
 * symlink. WHAT names it in messages. P4R_ENOTFOUND (no message) when
 * absent; P4R_EINTEGRITY when it is anything but a regular file. */
static int open_regular(int dfd, const char *name, const char *what, int *fd, struct stat *st)
{
	struct stat pre;
	int flags;

	*fd = -1;
	if (fstatat(dfd, name, &pre, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? P4R_ENOTFOUND : p4r_error_errno("cannot read '%s'", what);
	if (!S_ISREG(pre.st_mode))
		goto not_regular;
	if ((*fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return P4R_ENOTFOUND;
		if (errno == ELOOP)
			goto not_regular;
		return p4r_error_errno("cannot open '%s'", what);
	}
	/* swapped between the two looks: judge what was opened */
	if (fstat(*fd, st) < 0 || !S_ISREG(st->st_mode) || st->st_ino != pre.st_ino || st->st_dev != pre.st_dev)
		goto not_regular;
	if ((flags = fcntl(*fd, F_GETFL)) < 0 || fcntl(*fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		int rc = p4r_error_errno("cannot open '%s'", what);

		close(*fd);
		*fd = -1;
		return rc;
	}
	return 0;
not_regular:
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	return p4r_error_set(P4R_EINTEGRITY, "'%s' is not a regular file; refusing to read it", what);
}

/* Copies at most LIMIT bytes of SRC to DST and DST2 (open; DST2 -1: none),
 * hashing into H when non-NULL; more than LIMIT is P4R_EINTEGRITY. */
static int copy_fd(p4r_remote *r, int src, const char *src_name, int dst, int dst2, const char *dst_name,
		   p4r_hasher *h, uint64_t size, uint64_t limit, uint64_t *copied,
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
		if ((uint64_t)n > limit - done) {
			rc = p4r_error_set(P4R_EINTEGRITY, "'%s' grew past its recorded size (%llu bytes) while it was read",
					   src_name, (unsigned long long)limit);
			break;
		}
		if (h && (rc = p4r_hasher_update(h, buf, (size_t)n)) < 0)
			break;
		if (p4r_write_all(dst, buf, (size_t)n) < 0 ||
		    (dst2 >= 0 && p4r_write_all(dst2, buf, (size_t)n) < 0)) {
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

/* A new file in ROOT/tmp (opened as *TFD, the folder as *DIRFD) named
 * PREFIX-<random> into NAME; never follows a symlink. */
static int tmp_create(const p4r_remote *r, const char *prefix, int *dirfd, char name[64], int *tfd)
{
	unsigned char rnd[8];
	const char *base;
	int rc, tries;
	size_t i;

	*tfd = -1;
	if ((rc = key_parent(r, "tmp/x", true, dirfd, &base)) < 0)
		return rc;
	for (tries = 0; tries < 16; tries++) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return p4r_error_set(P4R_ERROR, "cannot get random bytes for a temporary name");
		i = (size_t)snprintf(name, 64, "%s-", prefix);
		for (size_t j = 0; j < sizeof(rnd); j++)
			i += (size_t)snprintf(name + i, 64 - i, "%02x", rnd[j]);
		*tfd = openat(*dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (*tfd >= 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	if (errno == ENOENT)
		return p4r_error_set(P4R_ERROR, "remote folder '%s' vanished", r->parsed.path);
	return p4r_error_errno("cannot create a temporary file in '%s/tmp'", r->parsed.path);
}

/* Hashes and copies the local file SRC into the temporary DST; *GOT gets
 * the hash of the bytes (when WANT asks for one). */
static int copy_upload(p4r_remote *r, int src, const char *path, int dst, const char *tmp, uint64_t size,
		       const p4r_oid *want, p4r_oid *got, p4r_progress_fn progress, void *payload)
{
	p4r_hasher *h = NULL;
	uint64_t copied = 0;
	int rc;

	if (want && !test_delayed(r)) {
		/* the store's pipeline: reads and writes overlap the hash */
		struct delta_progress dp = { .fn = progress, .payload = payload };

		rc = p4r_store_copy_hashed(got, &copied, src, path, dst, tmp, size,
					   progress ? delta_progress : NULL, &dp);
	} else if ((rc = want ? p4r_hasher_new(&h) : 0) == 0 &&
		   (rc = copy_fd(r, src, path, dst, -1, tmp, h, size, UINT64_MAX, &copied, progress, payload)) == 0 &&
		   h) {
		rc = p4r_hasher_final(h, got);
	}
	p4r_hasher_free(h);
	/* said here in the push's words; p4r_publish_object checks the hash again */
	if (rc == 0 && want && (!p4r_oid_equal(got, want) || (size && copied != size)))
		rc = p4r_error_set(P4R_EINTEGRITY, "object %s is corrupt in the local store "
				   "(its bytes hash to %s); not pushed; run 'p4reg fsck'", want->hex, got->hex);
	return rc;
}

/* Opens the local file PATH (the store's object) for reading, regular
 * files only, never blocking. */
static int open_local(const char *path, int *fd)
{
	struct stat st;
	int flags;

	if ((*fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
		return p4r_error_errno("cannot open '%s'", path);
	if (fstat(*fd, &st) < 0 || !S_ISREG(st.st_mode) || (flags = fcntl(*fd, F_GETFL)) < 0 ||
	    fcntl(*fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		close(*fd);
		*fd = -1;
		return p4r_error_set(P4R_EINTEGRITY, "'%s' is not a regular file; not pushed", path);
	}
	return 0;
}

static int dir_put_file(p4r_remote *r, const char *key, const char *path, uint64_t size,
			const p4r_oid *want, p4r_progress_fn progress, void *payload)
{
	char tmp[64], shown[PATH_MAX], *name = NULL;
	const char *base;
	int src = -1, dst = -1, tdir = -1, dfd = -1, rc;
	p4r_oid got = { 0 };

	if ((rc = key_check(key)) < 0 || (rc = open_local(path, &src)) < 0 ||
	    (rc = tmp_create(r, "push", &tdir, tmp, &dst)) < 0)
		goto done;
	snprintf(shown, sizeof(shown), "%s/tmp/%s", r->parsed.path, tmp);
	if (!(name = strdup(tmp))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	if ((rc = copy_upload(r, src, path, dst, shown, size, want, &got, progress, payload)) < 0 ||
	    (rc = key_parent(r, key, true, &dfd, &base)) < 0)
		goto done;
	snprintf(shown, sizeof(shown), "%s/%s", r->parsed.path, key);
	rc = p4r_publish_object(dfd, base, want, want ? &got : NULL, tdir, &name, &dst, 0444, shown, true, NULL);
done:
	if (name)
		unlinkat(tdir, name, 0);
	free(name);
	if (dst >= 0)
		close(dst);
	if (src >= 0)
		close(src);
	if (tdir >= 0)
		close(tdir);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

/* Opens ROOT/KEY for reading: regular files only; P4R_ENOTFOUND when absent. */
static int open_key(p4r_remote *r, const char *key, int *fd, struct stat *st, char *path, size_t pathsz)
{
	const char *base;
	int dfd, rc;

	*fd = -1;
	snprintf(path, pathsz, "%s/%s", r->parsed.path, key);
	rc = key_parent(r, key, false, &dfd, &base);
	if (rc == 0) {
		rc = open_regular(dfd, base, path, fd, st);
		close(dfd);
	}
	if (rc == P4R_ENOTFOUND)
		return p4r_error_set(P4R_ENOTFOUND, "'%s' is not on remote '%s'", key, r->name);
	return rc;
}

/* SIZE is the object's recorded size: the file must have exactly that
 * many bytes, and no more than that are ever copied (a file that grows
 * while it is read is refused). FD2 (-1: none) gets the bytes too. */
static int get_into(p4r_remote *r, const char *key, uint64_t size, int fd, int fd2, p4r_hasher *h,
		    p4r_progress_fn progress, void *payload)
{
	struct delta_progress dp = { .fn = progress, .payload = payload };
	char path[PATH_MAX];
	struct stat st;
	uint64_t copied = 0;
	int src = -1, rc;

	if ((rc = open_key(r, key, &src, &st, path, sizeof(path))) < 0)
		return rc;
	if ((uint64_t)st.st_size != size) {
		rc = p4r_error_set(P4R_EINTEGRITY, "object '%s' on remote '%s' is corrupt: it has %lld bytes, "
				   "expected %llu; not stored", key, r->name, (long long)st.st_size,
				   (unsigned long long)size);
		goto done;
	}
	/* the store's pipeline: reading, hashing and each write overlap */
	if (h && size > 0 && !test_delayed(r))
		rc = p4r_store_copy_tee(h, &copied, src, path, fd, "download", fd2, "download", size,
					progress ? delta_progress : NULL, &dp);
	else
		rc = copy_fd(r, src, path, fd, fd2, "download", h, size, size, &copied, progress, payload);
	if (rc == 0 && copied != size)
		rc = p4r_error_set(P4R_EINTEGRITY, "object '%s' on remote '%s' is corrupt: it shrank while it was "
				   "read; not stored", key, r->name);
done:
	close(src);
	return rc;
}

static int dir_get_file(p4r_remote *r, const char *key, uint64_t size, int fd, p4r_hasher *h,
			bool *hashed, p4r_progress_fn progress, void *payload)
{
	int rc = get_into(r, key, size, fd, -1, h, progress, payload);

	*hashed = rc == 0 && h != NULL;
	return rc;
}

static int dir_get_file_tee(p4r_remote *r, const char *key, uint64_t size, int fd, int fd2,
			    p4r_hasher *h, p4r_progress_fn progress, void *payload)
{
	return get_into(r, key, size, fd, fd2, h, progress, payload);
}

/* A range of a pack: read where it lies, written where it belongs. */
static int dir_get_range(p4r_remote *r, const char *key, uint64_t off, uint64_t len, int fd, int fd2,
			 uint64_t fd_off, p4r_progress_fn progress, void *payload)
{
	char path[PATH_MAX];
	unsigned char *buf = NULL;
	struct stat st;
	int src = -1, rc;

	if ((rc = open_key(r, key, &src, &st, path, sizeof(path))) < 0)
		return rc;
	if (off > (uint64_t)st.st_size || len > (uint64_t)st.st_size - off) {
		rc = p4r_error_set(P4R_EINTEGRITY, "'%s' on remote '%s' is shorter than the chunks it should "
				   "hold (%lld bytes, a chunk ends at %llu)", key, r->name,
				   (long long)st.st_size, (unsigned long long)(off + len));
		goto done;
	}
	if (!(buf = malloc(len < BLOCK ? (size_t)len : BLOCK))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	while (rc == 0 && len > 0) {
		size_t want = len < BLOCK ? (size_t)len : BLOCK;
		ssize_t n = pread(src, buf, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? p4r_error_errno("cannot read '%s'", path) :
			     p4r_error_set(P4R_EINTEGRITY, "'%s' on remote '%s' shrank while it was read", key,
					   r->name);
			break;
		}
		if ((rc = p4r_pwrite_full(fd, buf, (size_t)n, (off_t)fd_off)) < 0 ||
		    (fd2 >= 0 && (rc = p4r_pwrite_full(fd2, buf, (size_t)n, (off_t)fd_off)) < 0)) {
			rc = p4r_error_errno("cannot write a download");
			break;
		}
		off += (uint64_t)n;
		fd_off += (uint64_t)n;
		len -= (uint64_t)n;
		if (progress)
			progress((uint64_t)n, 0, payload);
		test_delay(r);
	}
done:
	free(buf);
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

/* The bytes of a create: a pack (tens of MiB) around the page cache, a
 * batch through it; slowed like any transfer by the test knob. 0, or -1
 * with errno set. */
static int write_created(const p4r_remote *r, int fd, const char *data, size_t len)
{
	size_t done;

	if (len < BLOCK)
		return p4r_write_full(fd, data, len);
	if (!test_delayed(r))
		return p4r_write_uncached(fd, data, len);
	for (done = 0; done < len; done += BLOCK) {
		if (p4r_write_full(fd, data + done, len - done < BLOCK ? len - done : BLOCK) < 0)
			return -1;
		test_delay(r);
	}
	return 0;
}

static int dir_create_excl(p4r_remote *r, const char *key, const void *data, size_t len)
{
	char tmp[64];
	const char *base;
	int fd = -1, tdir = -1, dfd = -1, rc;
	bool made = false;

	if ((rc = key_check(key)) < 0 || (rc = tmp_create(r, "log", &tdir, tmp, &fd)) < 0)
		goto done;
	made = true;
	if (write_created(r, fd, data, len) < 0 || fchmod(fd, 0444) < 0 || fsync(fd) < 0) {
		rc = p4r_error_errno("cannot write '%s/tmp/%s'", r->parsed.path, tmp);
		goto done;
	}
	if ((rc = key_parent(r, key, true, &dfd, &base)) < 0)
		goto done;
	/* link(2) never replaces: of two writers of one name exactly one wins. */
	if (linkat(tdir, tmp, dfd, base, 0) < 0) {
		if (errno == EEXIST)
			rc = p4r_error_set(P4R_EEXISTS, "'%s' already exists on remote '%s'", key, r->name);
		else
			rc = p4r_error_errno("cannot create '%s/%s'", r->parsed.path, key);
		goto done;
	}
	if (fsync(dfd) < 0)
		rc = p4r_error_errno("cannot sync '%s/%s'", r->parsed.path, key);
done:
	if (made)
		unlinkat(tdir, tmp, 0);
	if (fd >= 0)
		close(fd);
	if (tdir >= 0)
		close(tdir);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

static int dir_remove(p4r_remote *r, const char *key)
{
	const char *base;
	int dfd, rc;

	if ((rc = key_parent(r, key, false, &dfd, &base)) == P4R_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	if (unlinkat(dfd, base, 0) < 0 && errno != ENOENT)
		rc = p4r_error_errno("cannot remove '%s/%s'", r->parsed.path, key);
	close(dfd);
	return rc;
}

/* ---- the objects a folder remote holds, for gc -r ---- */

struct dir_list {
	p4r_remote_object_fn fn;
	void *payload;
	size_t *foreign;
};

static bool hex2(const char *s)
{
	return strlen(s) == 2 && strspn(s, "0123456789abcdef") == 2;
}

/* Folder FD's entries from the first (FD stays open and the caller's);
 * NULL with errno set. */
static DIR *entries_of(int fd)
{
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	DIR *d;

	if (copy < 0)
		return NULL;
	if (!(d = fdopendir(copy))) {
		close(copy);
		return NULL;
	}
	rewinddir(d); /* a dup shares the read position */
	return d;
}

/* NAME in objects/ab/cd (folder FD; PREFIX "abcd"): listed when it is a
 * regular file named by an oid that starts with PREFIX, else foreign. */
static int list_file(const struct dir_list *l, int fd, const char *name, const char *prefix)
{
	p4r_remote_object o = { 0 };
	struct stat st;

	if (!p4r_oid_valid(name) || strncmp(name, prefix, 4) ||
	    fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) {
		(*l->foreign)++;
		return 0;
	}
	memcpy(o.oid.hex, name, sizeof(o.oid.hex));
	o.size = (uint64_t)st.st_size;
	/* ctime moves on the rename that publishes an upload, mtime on a write */
	o.modified_s = st.st_ctim.tv_sec > st.st_mtim.tv_sec ? st.st_ctim.tv_sec : st.st_mtim.tv_sec;
	return l->fn(&o, l->payload);
}

/* Folder FD at DEPTH below objects/ (0: objects/ itself; PREFIX the hex
 * digits of the folders above). Folders are entered without following a
 * link; what does not follow the layout is counted, never entered. */
static int list_level(const struct dir_list *l, int fd, int depth, const char *prefix)
{
	struct dirent *de;
	DIR *d = entries_of(fd);
	int rc = 0, sub;

	if (!d)
		return p4r_error_errno("cannot read a folder of the remote");
	while (rc == 0 && (de = readdir(d))) {
		char next[8];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (depth == 2) {
			rc = list_file(l, fd, de->d_name, prefix);
			continue;
		}
		if (!hex2(de->d_name) || (sub = openat(fd, de->d_name, DIR_FLAGS)) < 0) {
			(*l->foreign)++;
			continue;
		}
		snprintf(next, sizeof(next), "%.4s%.2s", prefix, de->d_name);
		rc = list_level(l, sub, depth + 1, next);
		close(sub);
	}
	closedir(d);
	return rc;
}

static int dir_list_objects(p4r_remote *r, const char *top, p4r_remote_object_fn fn, void *payload,
			    size_t *foreign)
{
	struct dir_list l = { fn, payload, foreign };
	int root, objfd, rc;

	*foreign = 0;
	if ((rc = key_check(top)) < 0 || (rc = root_open(r, &root)) < 0)
		return rc;
	objfd = openat(root, top, DIR_FLAGS);
	close(root);
	if (objfd < 0 && errno == ENOENT)
		return 0;
	if (objfd < 0 && (errno == ELOOP || errno == ENOTDIR))
		return p4r_error_set(P4R_EINTEGRITY, "remote '%s' has a symlink or a file at '%s' where "
				     "a folder belongs; refusing to follow it (remove it from '%s')",
				     r->name, top, r->parsed.path);
	if (objfd < 0)
		return p4r_error_errno("cannot open '%s/%s'", r->parsed.path, top);
	rc = list_level(&l, objfd, 0, "");
	close(objfd);
	return rc;
}

static void dir_free(p4r_remote *r)
{
	free(r->impl);
	r->impl = NULL;
}

static const p4r_remote_ops dir_ops = {
	.exists = dir_exists,
	.stat = dir_stat,
	.put_file = dir_put_file,
	.get_file = dir_get_file,
	.get_file_tee = dir_get_file_tee,
	.get_small = dir_get_small,
	.create_excl = dir_create_excl,
	.remove = dir_remove,
	.list_objects = dir_list_objects,
	.get_range = dir_get_range,
	.free = dir_free,
};

int p4r_remote_dir_init(p4r_remote *r)
{
	struct dir_remote *d = calloc(1, sizeof(*d));

	if (!d)
		return p4r_error_set(P4R_ERROR, "out of memory");
	d->delay_ms = p4r_test_knob("P4REG_TEST_TRANSFER_DELAY_MS");
	r->impl = d;
	r->ops = &dir_ops;
	return 0;
}
