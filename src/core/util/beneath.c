/* Resolving paths below a folder at the moment of use (see beneath.h). */
#include "p4reg/beneath.h"
#include "p4reg/error.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DIR_MODE 0755

/* -1 unknown, 0 openat2 unusable here, 1 usable */
static atomic_int have_openat2 = -1;
static atomic_bool force_walk;

bool p4r_beneath_force_walk(bool on)
{
	return atomic_exchange(&force_walk, on);
}

static int outside(const char *rel)
{
	return p4r_error_set(P4R_EUSAGE, "'%s' leads outside the repository (a symbolic link or '..' "
			     "on the way); p4reg does not follow it", rel);
}

static int open_failed(const char *rel, int err)
{
	errno = err;
	if (err == EXDEV)
		return outside(rel);
	if (err == ELOOP)
		return p4r_error_set(P4R_EUSAGE, "'%s' is or passes through a symbolic link; p4reg "
				     "follows no link in the work tree", rel);
	if (err == ENOTDIR)
		return p4r_error_set(P4R_EUSAGE, "'%s': a file is in the way of a folder on its path", rel);
	return p4r_error_errno("cannot open '%s'", rel);
}

/* openat2 below ROOT; -1 with errno, and ENOSYS when the kernel (or a
 * seccomp filter, which answers EPERM) cannot do it at all. */
static int try_openat2(int root, const char *rel, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		/* no symbolic link at all, even one that stays inside: a link
		 * to .git/ or .p4reg/ inside the clone would otherwise let a
		 * checkout write git's or p4reg's own files (config.local) */
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	if (atomic_load(&force_walk) || atomic_load(&have_openat2) == 0) {
		errno = ENOSYS;
		return -1;
	}
	fd = syscall(SYS_openat2, root, rel, &how, sizeof(how));
	if (fd < 0 && (errno == ENOSYS || errno == EPERM || errno == E2BIG) &&
	    atomic_load(&have_openat2) < 0) {
		atomic_store(&have_openat2, 0);
		errno = ENOSYS;
		return -1;
	}
	if (fd >= 0)
		atomic_store(&have_openat2, 1);
	return (int)fd;
}

/* The next component of *P (skipping '/' and "."), its length in *LEN;
 * NULL at the end. */
static const char *next_component(const char **p, size_t *len)
{
	const char *s = *p;

	for (;;) {
		while (*s == '/')
			s++;
		if (!*s)
			return NULL;
		*len = strcspn(s, "/");
		if (!(*len == 1 && s[0] == '.'))
			break;
		s += *len;
	}
	*p = s + *len;
	return s;
}

/* The fallback: every component opened with O_NOFOLLOW, ".." refused:
 * the same rule as openat2 with RESOLVE_NO_SYMLINKS. */
static int walk_open(int root, const char *rel, int flags, mode_t mode)
{
	const char *p = rel, *comp, *next;
	char name[256];
	size_t len, nlen;
	int cur = -1, fd;

	if ((cur = fcntl(root, F_DUPFD_CLOEXEC, 0)) < 0)
		return -1;
	comp = next_component(&p, &len);
	if (!comp) {
		/* REL names ROOT itself */
		fd = openat(cur, ".", (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC);
		close(cur);
		return fd;
	}
	for (;;) {
		const char *q = p;

		if (len >= sizeof(name) || (len == 2 && comp[0] == '.' && comp[1] == '.')) {
			close(cur);
			errno = len >= sizeof(name) ? ENAMETOOLONG : EXDEV;
			return -1;
		}
		memcpy(name, comp, len);
		name[len] = '\0';
		next = next_component(&q, &nlen);
		if (!next) {
			fd = openat(cur, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
			close(cur);
			return fd;
		}
		fd = openat(cur, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOTDIR) {
			/* O_DIRECTORY|O_NOFOLLOW says ENOTDIR for a link: say which */
			struct stat st;

			if (fstatat(cur, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
				errno = ELOOP;
			else
				errno = ENOTDIR;
		}
		close(cur);
		if (fd < 0)
			return -1;
		cur = fd;
		comp = next;
		len = nlen;
		p = q;
	}
}

static int open_beneath(int root, const char *rel, int flags, mode_t mode)
{
	int fd;

	if (rel[0] == '/') {
		errno = EXDEV;
		return -1;
	}
	fd = try_openat2(root, rel, flags, mode);
	if (fd >= 0 || errno != ENOSYS)
		return fd;
	return walk_open(root, rel, flags, mode);
}

int p4r_beneath_open(int *out, int root, const char *rel, int flags, mode_t mode)
{
	*out = open_beneath(root, rel, flags, mode);
	return *out < 0 ? open_failed(rel, errno) : 0;
}

/* A malloc'd copy of REL's folder part ("" for a top-level name). */
static char *folder_of(const char *rel, const char **base)
{
	size_t len = strlen(rel);
	const char *slash;

	while (len > 1 && rel[len - 1] == '/')
		len--;
	slash = memrchr(rel, '/', len);
	*base = slash ? slash + 1 : rel;
	return strndup(rel, slash ? (size_t)(slash - rel) : 0);
}

/* Makes the folders of DIR one at a time, each opened below ROOT before
 * the next is made inside it, so a link planted on the way is refused. */
static int make_folders(int root, const char *dir)
{
	size_t len = strlen(dir), i;
	char *prefix = strdup(dir);
	int rc = 0;

	if (!prefix)
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 1; i <= len && rc == 0; i++) {
		const char *name;
		char *parent_rel;
		int parent, fd;

		if (i < len && dir[i] != '/')
			continue;
		prefix[i] = '\0';
		fd = open_beneath(root, prefix, O_RDONLY | O_DIRECTORY, 0);
		if (fd >= 0) {
			close(fd);
		} else if (errno != ENOENT) {
			rc = open_failed(prefix, errno);
		} else if (!(parent_rel = folder_of(prefix, &name))) {
			rc = p4r_error_set(P4R_ERROR, "out of memory");
		} else {
			parent = *parent_rel ? open_beneath(root, parent_rel, O_RDONLY | O_DIRECTORY, 0)
					     : fcntl(root, F_DUPFD_CLOEXEC, 0);
			if (parent < 0)
				rc = open_failed(*parent_rel ? parent_rel : ".", errno);
			else if (mkdirat(parent, name, DIR_MODE) < 0 && errno != EEXIST)
				rc = p4r_error_errno("cannot create folder '%s'", prefix);
			else if (fsync(parent) < 0 && errno != EINVAL)
				rc = p4r_error_errno("cannot fsync the folder of '%s'", prefix);
			if (parent >= 0)
				close(parent);
			free(parent_rel);
		}
		prefix[i] = dir[i];
	}
	free(prefix);
	return rc;
}

int p4r_beneath_parent(int *out, const char **base, int root, const char *rel, bool create)
{
	char *dir = folder_of(rel, base);
	int rc = 0;

	*out = -1;
	if (!dir)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if (!**base || !strcmp(*base, ".") || !strcmp(*base, "..")) {
		rc = p4r_error_set(P4R_EUSAGE, "'%s' is not a file name", rel);
		goto done;
	}
	if (!*dir) {
		/* a new open, not a dup: its own read position */
		if ((*out = openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			rc = p4r_error_errno("cannot open the repository folder");
		goto done;
	}
	*out = open_beneath(root, dir, O_RDONLY | O_DIRECTORY, 0);
	if (*out < 0 && errno == ENOENT && create) {
		if ((rc = make_folders(root, dir)) < 0)
			goto done;
		*out = open_beneath(root, dir, O_RDONLY | O_DIRECTORY, 0);
	}
	if (*out < 0)
		rc = open_failed(dir, errno);
done:
	free(dir);
	return rc;
}

int p4r_beneath_open_regular(int *out, struct stat *st, int root, const char *rel)
{
	struct stat local;
	int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW;
	int rc;

	if (!st)
		st = &local;
	if ((rc = p4r_beneath_open(out, root, rel, flags, 0)) < 0)
		return rc;
	if (fstat(*out, st) < 0)
		rc = p4r_error_errno("cannot stat '%s'", rel);
	else if (S_ISDIR(st->st_mode))
		rc = p4r_error_set(P4R_EUSAGE, "'%s' is a directory", rel);
	else if (!S_ISREG(st->st_mode))
		rc = p4r_error_set(P4R_EUSAGE, "'%s' is not a regular file (a FIFO, device or "
				   "socket); p4reg reads only regular files", rel);
	else if (fcntl(*out, F_SETFL, fcntl(*out, F_GETFL) & ~O_NONBLOCK) < 0)
		rc = p4r_error_errno("cannot read '%s'", rel);
	if (rc < 0) {
		close(*out);
		*out = -1;
	}
	return rc;
}
