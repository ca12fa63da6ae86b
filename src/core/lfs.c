/* Git LFS pointer blobs and the .git/lfs/objects folder (see lfs.h). */
#include "p4reg/lfs.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/registry.h"
#include "p4reg/store.h"
#include "p4reg/worktree.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* git-lfs's pointer spec before it was renamed; still read by git-lfs. */
#define LFS_LEGACY_SPEC "https://hawser.github.com/spec/v1"
/* Larger than any file system holds: such a size is hostile, not real. */
#define LFS_MAX_SIZE (UINT64_C(1) << 50)

int p4r_lfs_pointer_format(char *buf, size_t bufsz, size_t *len, const p4r_oid *oid, uint64_t size)
{
	int n;

	if (!p4r_oid_valid(oid->hex))
		return p4r_error_set(P4R_EUSAGE, "malformed oid '%.64s'", oid->hex);
	if (size == 0) {
		if (bufsz < 1)
			return p4r_error_set(P4R_ERROR, "pointer buffer too small");
		buf[0] = '\0';
		*len = 0;
		return 0;
	}
	n = snprintf(buf, bufsz, "version %s\noid sha256:%s\nsize %" PRIu64 "\n", P4R_LFS_SPEC,
		     oid->hex, size);
	if (n < 0 || (size_t)n >= bufsz)
		return p4r_error_set(P4R_ERROR, "pointer buffer too small");
	*len = (size_t)n;
	return 0;
}

static int not_pointer(const char *why)
{
	return p4r_error_set(P4R_EUSAGE, "not a Git LFS pointer: %s", why);
}

/* Takes the next "KEY VALUE\n" line from *P (bounded by END): the value is
 * copied into VAL (NUL-terminated). */
static int take_line(const char **p, const char *end, const char *key, char *val, size_t valsz)
{
	size_t klen = strlen(key), vlen;
	const char *nl;

	if ((size_t)(end - *p) <= klen || memcmp(*p, key, klen) || (*p)[klen] != ' ')
		return not_pointer("missing or misplaced key");
	*p += klen + 1;
	if (!(nl = memchr(*p, '\n', (size_t)(end - *p))))
		return not_pointer("missing final newline");
	vlen = (size_t)(nl - *p);
	if (vlen == 0 || vlen >= valsz || memchr(*p, '\0', vlen))
		return not_pointer("malformed value");
	memcpy(val, *p, vlen);
	val[vlen] = '\0';
	*p = nl + 1;
	return 0;
}

int p4r_lfs_pointer_parse(p4r_oid *oid, uint64_t *size, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	char val[128];
	p4r_oid o;
	uint64_t n = 0;
	size_t i;
	int rc;

	if (len == 0) {
		/* the empty file's pointer is the empty blob */
		p4r_hash_buffer(oid, "", 0);
		*size = 0;
		return 0;
	}
	if (len > P4R_LFS_POINTER_MAX)
		return not_pointer("too large");
	if ((rc = take_line(&p, end, "version", val, sizeof(val))) < 0)
		return rc;
	if (strcmp(val, P4R_LFS_SPEC) && strcmp(val, LFS_LEGACY_SPEC))
		return not_pointer("unknown version");
	if ((rc = take_line(&p, end, "oid", val, sizeof(val))) < 0)
		return rc;
	if (strncmp(val, "sha256:", 7) || !p4r_oid_valid(val + 7))
		return not_pointer("malformed oid");
	memcpy(o.hex, val + 7, P4R_OID_HEXLEN);
	o.hex[P4R_OID_HEXLEN] = '\0';
	if ((rc = take_line(&p, end, "size", val, sizeof(val))) < 0)
		return rc;
	if ((val[0] == '0' && val[1]) || !val[0])
		return not_pointer("malformed size");
	for (i = 0; val[i]; i++) {
		if (val[i] < '0' || val[i] > '9' || n > LFS_MAX_SIZE)
			return not_pointer("malformed size");
		n = n * 10 + (uint64_t)(val[i] - '0');
	}
	if (n > LFS_MAX_SIZE)
		return not_pointer("absurd size");
	if (p != end)
		return not_pointer("unexpected content after 'size'");
	*oid = o;
	*size = n;
	return 0;
}

int p4r_lfs_object_path(char *buf, size_t bufsz, const char *lfs_dir, const p4r_oid *oid)
{
	int n;

	if (!p4r_oid_valid(oid->hex))
		return p4r_error_set(P4R_EUSAGE, "malformed oid '%.64s'", oid->hex);
	n = snprintf(buf, bufsz, "%s/objects/%.2s/%.2s/%s", lfs_dir, oid->hex, oid->hex + 2, oid->hex);
	if (n < 0 || (size_t)n >= bufsz)
		return p4r_error_set(P4R_ERROR, "path of Git LFS object %s is too long", oid->hex);
	return 0;
}

bool p4r_lfs_has(const char *lfs_dir, const p4r_oid *oid)
{
	char path[PATH_MAX];
	struct stat st;

	return p4r_lfs_object_path(path, sizeof(path), lfs_dir, oid) == 0 && stat(path, &st) == 0 &&
	       S_ISREG(st.st_mode);
}

/* Copies SRC to the open temporary TMP_FD through the store's pipeline
 * (the hash overlaps the I/O); P4R_EINTEGRITY when the bytes are not OID's. */
static int copy_hashed(int tmp_fd, const char *tmp, const char *src, const p4r_oid *oid)
{
	struct stat st;
	p4r_oid got;
	uint64_t size;
	int fd, rc;

	if ((fd = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		return p4r_error_errno("cannot open '%s'", src);
	/* the size picks the pipeline (large) or a single buffer (small) */
	rc = fstat(fd, &st) < 0 ? p4r_error_errno("cannot stat '%s'", src)
		: p4r_store_copy_hashed(&got, &size, fd, src, tmp_fd, tmp, (uint64_t)st.st_size, NULL, NULL);
	close(fd);
	if (rc == 0 && !p4r_oid_equal(&got, oid))
		rc = p4r_error_set(P4R_EINTEGRITY, "'%s' hashes to %s, not %s", src, got.hex, oid->hex);
	if (rc == 0 && fsync(tmp_fd) < 0)
		rc = p4r_error_errno("cannot fsync '%s'", tmp);
	return rc;
}

int p4r_lfs_place(const char *lfs_dir, const p4r_oid *oid, const char *src, bool *linked)
{
	char path[PATH_MAX], *dir = NULL, *tmpdir = NULL, *tmp = NULL, *slash;
	int fd = -1, rc;

	if (linked)
		*linked = false;
	if ((rc = p4r_lfs_object_path(path, sizeof(path), lfs_dir, oid)) < 0)
		return rc;
	if (p4r_lfs_has(lfs_dir, oid))
		return 0;
	if (!(dir = strdup(path)) || !(tmpdir = p4r_path_join(lfs_dir, "tmp"))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	slash = strrchr(dir, '/');
	*slash = '\0';
	if ((rc = p4r_mkdir_p(dir, 0755)) < 0)
		goto done;
	/* the object is immutable in both places, so sharing the inode is safe */
	if (link(src, path) == 0) {
		if (linked)
			*linked = true;
		rc = p4r_fsync_dir(dir);
		goto done;
	}
	if (errno == EEXIST)
		goto done; /* a concurrent writer placed the same bytes */
	if (errno != EXDEV && errno != EPERM && errno != EMLINK && errno != EOPNOTSUPP) {
		rc = p4r_error_errno("cannot link '%s' to '%s'", src, path);
		goto done;
	}
	if ((rc = p4r_mkdir_p(tmpdir, 0755)) < 0 ||
	    (rc = p4r_mkstemp_in(&fd, &tmp, tmpdir, "object")) < 0)
		goto done;
	if ((rc = copy_hashed(fd, tmp, src, oid)) < 0)
		goto done;
	if (close(fd) < 0) {
		fd = -1;
		rc = p4r_error_errno("cannot write '%s'", tmp);
		goto done;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = p4r_error_errno("cannot rename '%s' to '%s'", tmp, path);
		goto done;
	}
	free(tmp);
	tmp = NULL;
	rc = p4r_fsync_dir(dir);
done:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(tmpdir);
	free(dir);
	return rc;
}

/* The newest version of MODEL whose oid is OID into OUT's model/version. */
static int name_version(p4r_registry *reg, const char *model, const p4r_oid *oid, p4r_pointer *out)
{
	p4r_version *v = NULL;
	size_t n = 0, i;
	int rc;

	if ((rc = p4r_registry_version_list(reg, model, &v, &n)) < 0)
		return rc;
	for (i = 0; i < n; i++) {
		if (p4r_oid_equal(&v[i].oid, oid)) {
			snprintf(out->model, sizeof(out->model), "%s", v[i].model);
			out->version = v[i].number;
			break;
		}
	}
	p4r_version_array_free(v, n);
	return 0;
}

int p4r_lfs_expected(p4r_repo *repo, p4r_git *git, const char *rel, bool *is_lfs,
		     p4r_pointer *out, bool *found)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	char *abs = p4r_repo_abspath(repo, rel);
	p4r_model m = { 0 };
	bool staged = false;
	uint64_t size = 0;
	int rc = 0;

	*is_lfs = *found = false;
	memset(out, 0, sizeof(*out));
	if (!git)
		goto done;
	if (!abs) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	/* a path kept by a pointer file (even a bad one) is not a Git LFS path */
	if (p4r_worktree_read_pointer(repo, rel, out) != P4R_ENOTFOUND) {
		p4r_error_clear();
		memset(out, 0, sizeof(*out));
		goto done;
	}
	p4r_error_clear();
	if ((rc = p4r_git_is_lfs_path(git, abs, is_lfs)) < 0 || !*is_lfs)
		goto done;
	if ((rc = p4r_git_index_lfs_pointer(git, abs, &out->oid, &size, &staged)) < 0)
		goto done;
	rc = p4r_registry_model_by_path(reg, rel, &m);
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		rc = 0;
		*found = staged;
		out->size = (int64_t)size;
		goto done;
	}
	if (rc < 0)
		goto done;
	if (!staged) {
		p4r_version v = { 0 };

		if ((rc = p4r_registry_version_latest(reg, m.name, &v)) == 0) {
			out->oid = v.oid;
			size = (uint64_t)v.size;
			staged = true;
		} else if (rc == P4R_ENOTFOUND) {
			p4r_error_clear();
			rc = 0;
		}
		p4r_version_clear(&v);
		if (rc < 0 || !staged)
			goto done;
	}
	out->size = (int64_t)size;
	*found = true;
	rc = name_version(reg, m.name, &out->oid, out);
done:
	p4r_model_clear(&m);
	free(abs);
	return rc;
}

int p4r_lfs_import(p4r_store *store, const char *lfs_dir, const p4r_oid *oid)
{
	p4r_link_type order[] = { P4R_LINK_REFLINK, P4R_LINK_HARDLINK, P4R_LINK_COPY };
	char path[PATH_MAX];
	p4r_insert_result ins;
	int rc;

	if ((rc = p4r_lfs_object_path(path, sizeof(path), lfs_dir, oid)) < 0)
		return rc;
	if ((rc = p4r_store_insert_file(store, path, order, 3, &ins, NULL, NULL)) < 0)
		return rc;
	if (!p4r_oid_equal(&ins.oid, oid))
		return p4r_error_set(P4R_EINTEGRITY, "Git LFS object '%s' is corrupt: it hashes to %s",
				     path, ins.oid.hex);
	return 0;
}
