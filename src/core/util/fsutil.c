/* Durable file-system helpers: temp file, fsync, rename, fsync the folder. */
#include "p4reg/fsutil.h"
#include "p4reg/error.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <unistd.h>

/* Keeps ".PREFIX.XXXXXX" within NAME_MAX even for a 255-byte file name. */
#define TEMP_PREFIX_MAX 200

/* Splits PATH into a malloc'd folder name ("." or "/" when PATH has none). */
static char *parent_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t len;
	char *dir;

	if (!slash)
		return strdup(".");
	len = (size_t)(slash - path);
	while (len > 0 && path[len - 1] == '/')
		len--;
	if (len == 0)
		return strdup("/");
	dir = malloc(len + 1);
	if (!dir)
		return NULL;
	memcpy(dir, path, len);
	dir[len] = '\0';
	return dir;
}

int p4r_fsync_dir(const char *path)
{
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return p4r_error_errno("cannot open folder '%s'", path);
	/* some file systems cannot fsync a folder (EINVAL): nothing to make durable */
	if (fsync(fd) < 0 && errno != EINVAL)
		rc = p4r_error_errno("cannot fsync folder '%s'", path);
	close(fd);
	return rc;
}

int p4r_fsync_parent(const char *path)
{
	char *dir = parent_of(path);
	int rc;

	if (!dir)
		return p4r_error_set(P4R_ERROR, "out of memory");
	rc = p4r_fsync_dir(dir);
	free(dir);
	return rc;
}

int p4r_write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			/* a write that makes no progress would loop forever */
			errno = ENOSPC;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int p4r_pwrite_full(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = pwrite(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ENOSPC;
			return -1;
		}
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

int p4r_write_uncached(int fd, const void *buf, size_t len)
{
	size_t head = (uintptr_t)buf % 4096 ? 0 : len & ~(size_t)4095;
	int fl = head ? fcntl(fd, F_GETFL) : -1, rc = 0, err;

	if (fl >= 0 && fcntl(fd, F_SETFL, fl | O_DIRECT) == 0) {
		rc = p4r_pwrite_full(fd, buf, head, 0);
		err = errno;
		(void)fcntl(fd, F_SETFL, fl);
		/* a file system that refuses O_DIRECT: all of it through the cache */
		if (rc < 0 && err != EINVAL) {
			errno = err;
			return -1;
		}
		if (rc < 0)
			head = 0;
	} else {
		head = 0;
	}
	return p4r_pwrite_full(fd, (const char *)buf + head, len - head, (off_t)head);
}

bool p4r_stat_same(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

int p4r_write_all(int fd, const void *buf, size_t len)
{
	if (p4r_write_full(fd, buf, len) < 0)
		return p4r_error_errno("cannot write to file descriptor %d", fd);
	return 0;
}

char *p4r_path_join(const char *a, const char *b)
{
	size_t alen = strlen(a), blen, len;
	char *out;

	while (alen > 1 && a[alen - 1] == '/')
		alen--;
	while (*b == '/')
		b++;
	blen = strlen(b);
	/* "/" + "x" must give "/x", not "//x" */
	len = alen + (alen == 1 && a[0] == '/' ? 0 : 1) + blen;
	out = malloc(len + 1);
	if (!out)
		return NULL;
	memcpy(out, a, alen);
	if (!(alen == 1 && a[0] == '/'))
		out[alen++] = '/';
	memcpy(out + alen, b, blen);
	out[len] = '\0';
	return out;
}

int p4r_mkstemp_in(int *fd_out, char **path_out, const char *dir, const char *prefix)
{
	size_t plen = strlen(prefix), dlen = strlen(dir), len;
	char *path;
	int fd;

	*fd_out = -1;
	*path_out = NULL;
	if (plen > TEMP_PREFIX_MAX)
		plen = TEMP_PREFIX_MAX;
	len = dlen + 2 + plen + 7; /* "DIR" "/." "PREFIX" ".XXXXXX" */
	path = malloc(len + 1);
	if (!path)
		return p4r_error_set(P4R_ERROR, "out of memory");
	snprintf(path, len + 1, "%s/.%.*s.XXXXXX", dir, (int)plen, prefix);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		int rc = p4r_error_errno("cannot create a temporary file in '%s'", dir);

		free(path);
		return rc;
	}
	*fd_out = fd;
	*path_out = path;
	return 0;
}

/* Six characters of the kind mkstemp uses, so gc recognises the name. */
static void random_suffix(char out[7])
{
	static const char set[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char r[6];
	size_t i;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		static _Atomic unsigned counter;
		unsigned v = (unsigned)getpid() * 2654435761u + counter++;

		for (i = 0; i < sizeof(r); i++, v = v * 1103515245u + 12345u)
			r[i] = (unsigned char)(v >> 16);
	}
	for (i = 0; i < sizeof(r); i++)
		out[i] = set[r[i] % (sizeof(set) - 1)];
	out[6] = '\0';
}

int p4r_mkstemp_at(int *fd_out, char **name_out, int dirfd, const char *prefix)
{
	size_t plen = strlen(prefix), len;
	char suffix[7], *name;
	int tries;

	*fd_out = -1;
	*name_out = NULL;
	if (plen > TEMP_PREFIX_MAX)
		plen = TEMP_PREFIX_MAX;
	len = 1 + plen + 7; /* "." "PREFIX" ".XXXXXX" */
	if (!(name = malloc(len + 1)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (tries = 0; tries < 100; tries++) {
		random_suffix(suffix);
		snprintf(name, len + 1, ".%.*s.%s", (int)plen, prefix, suffix);
		*fd_out = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (*fd_out >= 0) {
			*name_out = name;
			return 0;
		}
		if (errno != EEXIST)
			break;
	}
	free(name);
	return p4r_error_errno("cannot create a temporary file for '%s'", prefix);
}

int p4r_replace_at(int dirfd, int *fd, char **tmp, const char *base, int mode, const char *display)
{
	int rc;

	if (*fd >= 0) {
		/* mkstemp made it 0600 */
		if (fchmod(*fd, (mode_t)mode) < 0)
			return p4r_error_errno("cannot change the mode of '%s'", display);
		if (fsync(*fd) < 0)
			return p4r_error_errno("cannot fsync '%s'", display);
		rc = close(*fd);
		*fd = -1;
		if (rc < 0)
			return p4r_error_errno("cannot write '%s'", display);
	}
	/* renameat replaces whatever BASE is, a symbolic link included: it
	 * never writes through one */
	if (renameat(dirfd, *tmp, dirfd, base) < 0)
		return p4r_error_errno("cannot replace '%s'", display);
	/* BASE may already have been a hard link of *TMP: rename() then keeps *TMP */
	if (unlinkat(dirfd, *tmp, 0) < 0 && errno != ENOENT)
		return p4r_error_errno("cannot remove a temporary file beside '%s'", display);
	free(*tmp);
	*tmp = NULL;
	if (fsync(dirfd) < 0 && errno != EINVAL)
		return p4r_error_errno("cannot fsync the folder of '%s'", display);
	return 0;
}

int p4r_write_file_atomic_at(int dirfd, const char *base, const void *data, size_t len, int mode,
			     const char *display)
{
	char *tmp = NULL;
	int fd = -1, rc;

	if ((rc = p4r_mkstemp_at(&fd, &tmp, dirfd, base)) < 0)
		return rc;
	if (p4r_write_full(fd, data, len) < 0) {
		rc = p4r_error_errno("cannot write '%s'", display);
		goto done;
	}
	rc = p4r_replace_at(dirfd, &fd, &tmp, base, mode, display);
done:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlinkat(dirfd, tmp, 0);
		free(tmp);
	}
	return rc;
}

int p4r_write_file_atomic(const char *path, const void *data, size_t len, int mode)
{
	char *dir = parent_of(path);
	const char *base = strrchr(path, '/');
	int dirfd, rc;

	base = base ? base + 1 : path;
	if (!dir)
		return p4r_error_set(P4R_ERROR, "out of memory");
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		rc = p4r_error_errno("cannot open folder '%s'", dir);
	} else {
		rc = p4r_write_file_atomic_at(dirfd, base, data, len, mode, path);
		close(dirfd);
	}
	free(dir);
	return rc;
}

static int too_large(const char *path, size_t max)
{
	return p4r_error_set(P4R_EUSAGE, "'%s' is too large (more than %zu bytes)", path, max);
}

/* Checks FD (named PATH) before reading it: not a directory, with
 * REGULAR_ONLY a regular file, at most MAX bytes by its size; clears
 * O_NONBLOCK. Fills *ST. */
static int read_all_check(struct stat *st, int fd, const char *path, size_t max, bool regular_only)
{
	if (fstat(fd, st) < 0)
		return p4r_error_errno("cannot stat '%s'", path);
	if (S_ISDIR(st->st_mode))
		return p4r_error_set(P4R_EUSAGE, "'%s' is a directory", path);
	/* a FIFO or a device would block or never end */
	if (regular_only && !S_ISREG(st->st_mode))
		return p4r_error_set(P4R_EUSAGE, "'%s' is not a regular file", path);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
		return p4r_error_errno("cannot read '%s'", path);
	if (st->st_size > 0 && (uint64_t)st->st_size > max)
		return too_large(path, max);
	return 0;
}

/* Reads FD to its end into *BUF (CAP bytes + 1 for the NUL, *USED filled),
 * doubling it up to MAX + 1 bytes: reaching MAX + 1 is refused as too large.
 * On failure *BUF may have moved; the caller frees it. */
static int read_all_loop(char **buf, size_t cap, size_t *used, int fd, const char *path, size_t max)
{
	char *grown;
	ssize_t n;

	for (;;) {
		if (*used == cap) {
			if (cap > max)
				return too_large(path, max);
			cap = cap > max / 2 ? max + 1 : cap * 2;
			if (!(grown = realloc(*buf, cap + 1)))
				return p4r_error_set(P4R_ERROR, "out of memory");
			*buf = grown;
		}
		n = read(fd, *buf + *used, cap - *used);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return p4r_error_errno("cannot read '%s'", path);
		}
		if (n == 0)
			return 0;
		*used += (size_t)n;
	}
}

/* Reads all of FD (named PATH in messages) into *OUT; closes FD. FD was
 * opened O_NONBLOCK: with REGULAR_ONLY anything but a regular file is
 * refused before a read can block on it. */
static int read_all(char **out, size_t *len, int fd, const char *path, size_t max, bool regular_only)
{
	char *buf = NULL;
	size_t cap, used = 0;
	struct stat st;
	int rc;

	*out = NULL;
	if (len)
		*len = 0;
	/* MAX + 1 (room to notice a file past the bound) must not wrap */
	if (max > SIZE_MAX / 2)
		max = SIZE_MAX / 2;
	if ((rc = read_all_check(&st, fd, path, max, regular_only)) < 0)
		goto done;
	/* st_size is a hint only (pipes, /proc, a file still growing) */
	cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
	if (cap > max + 1)
		cap = max + 1;
	if (!(buf = malloc(cap + 1))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	if ((rc = read_all_loop(&buf, cap, &used, fd, path, max)) < 0)
		goto done;
	if (used > max) {
		rc = too_large(path, max);
		goto done;
	}
	buf[used] = '\0';
	*out = buf;
	buf = NULL;
	if (len)
		*len = used;
done:
	free(buf);
	close(fd);
	return rc;
}

int p4r_read_file(char **out, size_t *len, const char *path, size_t max)
{
	/* the user may name a pipe (--file /dev/stdin): it is read, blocking */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	*out = NULL;
	if (fd < 0)
		return p4r_error_errno("cannot open '%s'", path);
	return read_all(out, len, fd, path, max, false);
}

int p4r_read_fd(char **out, size_t *len, int fd, const char *display, size_t max)
{
	/* read_all closes what it reads: a copy, so FD stays open */
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	*out = NULL;
	if (copy < 0)
		return p4r_error_errno("cannot read %s", display);
	return read_all(out, len, copy, display, max, false);
}

int p4r_read_file_at(char **out, size_t *len, int dirfd, const char *base, size_t max,
		     const char *display)
{
	int fd = openat(dirfd, base, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW);

	*out = NULL;
	if (fd < 0 && errno == ELOOP)
		return p4r_error_set(P4R_EUSAGE, "'%s' is a symbolic link; p4reg does not follow it here",
				     display);
	if (fd < 0)
		return p4r_error_errno("cannot open '%s'", display);
	return read_all(out, len, fd, display, max, true);
}

int p4r_mkdir_p(const char *path, int mode)
{
	char *copy, *p, saved;
	struct stat st;
	int rc = 0;

	if (!*path)
		return p4r_error_set(P4R_EUSAGE, "cannot create folder ''");
	if (!(copy = strdup(path)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	/* walk every prefix ending before a '/', then the whole path */
	for (p = copy + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		saved = *p;
		*p = '\0';
		if (mkdir(copy, (mode_t)mode) < 0 && errno != EEXIST) {
			rc = p4r_error_errno("cannot create folder '%s'", copy);
			goto done;
		}
		if (stat(copy, &st) < 0) {
			rc = p4r_error_errno("cannot create folder '%s'", copy);
			goto done;
		}
		if (!S_ISDIR(st.st_mode)) {
			rc = p4r_error_set(P4R_ERROR, "cannot create folder '%s': a file is in the way",
					   copy);
			goto done;
		}
		*p = saved;
		if (saved == '\0')
			break;
		while (p[1] == '/')
			p++;
		if (p[1] == '\0')
			break;
	}
done:
	free(copy);
	return rc;
}

#define BESIDE_TAG ".p4reg-tmp."
#define BESIDE_RAND 6 /* mkstemp's XXXXXX: letters and digits */

bool p4r_tmp_beside_target(const char *path, char *target, size_t size)
{
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	size_t len = strlen(base), tag = strlen(BESIDE_TAG), dir = (size_t)(base - path), name, i;

	/* "." + NAME (at least one byte) + tag + six random characters */
	if (base[0] != '.' || len < 2 + tag + BESIDE_RAND ||
	    memcmp(base + len - BESIDE_RAND - tag, BESIDE_TAG, tag))
		return false;
	for (i = len - BESIDE_RAND; i < len; i++)
		if (!isalnum((unsigned char)base[i]))
			return false;
	name = len - 1 - tag - BESIDE_RAND;
	if (dir + name + 1 > size)
		return false;
	memcpy(target, path, dir);
	memcpy(target + dir, base + 1, name);
	target[dir + name] = '\0';
	return true;
}

/* ---- a destination the user named (fsutil.h) ---- */

void p4r_dest_close(p4r_dest *d)
{
	if (d->dirfd >= 0)
		close(d->dirfd);
	free(d->dir);
}

int p4r_dest_open(p4r_dest *d, const char *path)
{
	const char *slash = strrchr(path, '/');

	memset(d, 0, sizeof(*d));
	d->dirfd = -1;
	d->display = path;
	d->base = slash ? slash + 1 : path;
	if (!*d->base || !strcmp(d->base, ".") || !strcmp(d->base, ".."))
		return p4r_error_set(P4R_EUSAGE, "'%s' names a folder; give the path of the file to write", path);
	d->dir = !slash ? strdup(".") : slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
	if (!d->dir)
		return p4r_error_set(P4R_ERROR, "out of memory");
	/* the folder is the user's own word, as for cp: a link to it is
	 * followed, once; what is below it is then reached through DIRFD */
	if ((d->dirfd = open(d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return p4r_error_set(P4R_ENOTFOUND, "folder '%s' does not exist; create it first", d->dir);
		return p4r_error_errno("cannot open folder '%s'", d->dir);
	}
	if (fstatat(d->dirfd, d->base, &d->st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return p4r_error_errno("cannot stat '%s'", path);
	}
	if ((d->isdir = S_ISDIR(d->st.st_mode)))
		return 0;
	if (!S_ISREG(d->st.st_mode) && !S_ISLNK(d->st.st_mode))
		return p4r_error_set(P4R_EUSAGE, "'%s' is not a regular file (a FIFO, device or socket); "
				     "refusing to replace it", path);
	d->regular = S_ISREG(d->st.st_mode);
	return 0;
}
