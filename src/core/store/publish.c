/* Publishing an object (see publish.h): verify, fsync, rename without
 * replacing a concurrent writer's copy, fsync the folder. */
#include "p4reg/publish.h"
#include "p4reg/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FANOUT_MODE 0755
#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* Opens (CREATE: makes) the folder NAME in the open folder PARENT. */
static int open_sub(int parent, const char *name, bool create, bool durable, const char *display,
		    int *out)
{
	bool made = false;

	*out = openat(parent, name, DIR_FLAGS);
	if (*out < 0 && errno == ENOENT && create) {
		if (mkdirat(parent, name, FANOUT_MODE) == 0)
			made = true;
		else if (errno != EEXIST)
			return p4r_error_errno("cannot create folder '%s/%s'", display, name);
		*out = openat(parent, name, DIR_FLAGS);
	}
	if (*out < 0) {
		if (errno == ENOENT && !create)
			return P4R_ENOTFOUND;
		if (errno == ELOOP || errno == ENOTDIR)
			return p4r_error_set(P4R_EINTEGRITY, "'%s/%s' is a symbolic link or a file where a "
					     "folder belongs; refusing to follow it", display, name);
		return p4r_error_errno("cannot open folder '%s/%s'", display, name);
	}
	/* the new folder's entry must survive a crash with the object in it */
	if (made && durable && fsync(parent) < 0 && errno != EINVAL) {
		close(*out);
		*out = -1;
		return p4r_error_errno("cannot fsync folder '%s'", display);
	}
	return 0;
}

int p4r_publish_dir_open(int root, const char *display, const p4r_oid *oid, bool create, bool durable,
			 int *out)
{
	char first[3] = { oid->hex[0], oid->hex[1], '\0' }, second[3] = { oid->hex[2], oid->hex[3], '\0' };
	char shown[4096];
	int mid = -1, rc;

	*out = -1;
	/* the oid becomes a path: nothing but 64 hex digits may get there */
	if (!p4r_oid_valid(oid->hex))
		return p4r_error_set(P4R_EUSAGE, "malformed oid '%.64s'", oid->hex);
	if ((rc = open_sub(root, first, create, durable, display, &mid)) < 0)
		return rc;
	snprintf(shown, sizeof(shown), "%s/%s", display, first);
	rc = open_sub(mid, second, create, durable, shown, out);
	close(mid);
	return rc;
}

/* Renames TMP to BASE unless a copy of the same SIZE got there first. */
static int rename_once(int dir, const char *base, int tmp_dir, const char *tmp, off_t size,
		       const char *display, bool *existed)
{
	struct stat st;

	if (renameat2(tmp_dir, tmp, dir, base, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno == EEXIST) {
		if (fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
		    (size < 0 || st.st_size == size)) {
			/* a concurrent writer published the same bytes: ours go */
			*existed = true;
			if (unlinkat(tmp_dir, tmp, 0) < 0 && errno != ENOENT)
				return p4r_error_errno("cannot remove a temporary copy of '%s'", display);
			return 0;
		}
		/* not an object of ours (a link, a FIFO, a file cut short): replaced */
	} else if (errno != EINVAL && errno != ENOSYS) {
		return p4r_error_errno("cannot rename '%s' into place", display);
	}
	/* a file system without RENAME_NOREPLACE, or something to replace */
	if (renameat(tmp_dir, tmp, dir, base) < 0)
		return p4r_error_errno("cannot rename '%s' into place", display);
	/* BASE may have been a hard link of TMP: rename() then keeps TMP */
	if (unlinkat(tmp_dir, tmp, 0) < 0 && errno != ENOENT)
		return p4r_error_errno("cannot remove a temporary copy of '%s'", display);
	return 0;
}

/* The open temporary file *FD gets MODE and (DURABLE) an fsync, and is
 * closed (-1 after); *SIZE gets its size. */
static int finish_tmp(int *fd, int mode, bool durable, const char *display, off_t *size)
{
	struct stat st;
	int rc;

	if (fstat(*fd, &st) == 0)
		*size = st.st_size;
	if (fchmod(*fd, (mode_t)mode) < 0)
		return p4r_error_errno("cannot change the mode of '%s'", display);
	if (durable && fsync(*fd) < 0)
		return p4r_error_errno("cannot fsync '%s'", display);
	rc = close(*fd);
	*fd = -1;
	return rc < 0 ? p4r_error_errno("cannot write '%s'", display) : 0;
}

int p4r_publish_object(int dir, const char *base, const p4r_oid *want, const p4r_oid *got,
		       int tmp_dir, char **tmp, int *fd, int mode, const char *display, bool durable,
		       bool *existed)
{
	bool there = false;
	off_t size = -1;
	struct stat st;
	int rc = 0;

	if (want && (!got || !p4r_oid_equal(got, want))) {
		rc = p4r_error_set(P4R_EINTEGRITY, "'%s' hashes to %s, not %s", display,
				   got ? got->hex : "nothing", want->hex);
		goto done;
	}
	if (*fd >= 0) {
		if ((rc = finish_tmp(fd, mode, durable, display, &size)) < 0)
			goto done;
	} else if (fstatat(tmp_dir, *tmp, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		size = st.st_size;
	}
	if ((rc = rename_once(dir, base, tmp_dir, *tmp, size, display, &there)) < 0)
		goto done;
	free(*tmp);
	*tmp = NULL;
	if (durable && fsync(dir) < 0 && errno != EINVAL) {
		const char *slash = strrchr(display, '/');

		rc = p4r_error_errno("cannot fsync folder '%.*s'", slash ? (int)(slash - display) : 1,
				     slash ? display : ".");
	}
done:
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	if (*tmp) {
		unlinkat(tmp_dir, *tmp, 0);
		free(*tmp);
		*tmp = NULL;
	}
	if (existed)
		*existed = there;
	return rc;
}
