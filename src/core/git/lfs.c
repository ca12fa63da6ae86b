/* Git LFS pointer blobs and the .git/lfs/objects folder (see lfs.h). */
#include "p4reg/lfs.h"
#include "p4reg/publish.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/objguard.h"
#include "p4reg/store.h"

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
	p4r_lfs_pointer p;

	memset(&p, 0, sizeof(p));
	p.oid = *oid;
	p.size = size;
	return p4r_lfs_pointer_encode(buf, bufsz, len, &p);
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

/* "sha256:<64 lowercase hex>" into OUT. */
static int take_oid(p4r_oid *out, const char *val)
{
	if (strncmp(val, "sha256:", 7) || !p4r_oid_valid(val + 7))
		return not_pointer("malformed oid");
	memcpy(out->hex, val + 7, P4R_OID_HEXLEN);
	out->hex[P4R_OID_HEXLEN] = '\0';
	return 0;
}

static bool ext_name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || (!first && (c == '.' || c == '-'));
}

/* Takes an "ext-<digit>-<name> sha256:<hex>\n" line from *P into E. Its
 * priority must be above PREV (-1 for the first): git-lfs writes them in
 * ascending order and reads a repeated priority as no pointer at all. */
static int take_ext(const char **p, const char *end, int prev, p4r_lfs_ext *e)
{
	const char *s = *p + 4, *name;
	char key[P4R_LFS_EXT_NAME_MAX + 8], val[128];
	size_t n = 0;
	int rc;

	if (end - s < 3 || s[0] < '0' || s[0] > '9' || s[1] != '-')
		return not_pointer("malformed extension key");
	name = s + 2;
	while (name + n < end && ext_name_char(name[n], n == 0) && n <= P4R_LFS_EXT_NAME_MAX)
		n++;
	if (n == 0 || n > P4R_LFS_EXT_NAME_MAX || name + n >= end || name[n] != ' ')
		return not_pointer("malformed extension key");
	if (s[0] - '0' <= prev)
		return not_pointer("extensions out of order or repeated");
	snprintf(key, sizeof(key), "ext-%c-%.*s", s[0], (int)n, name);
	if ((rc = take_line(p, end, key, val, sizeof(val))) < 0 || (rc = take_oid(&e->oid, val)) < 0)
		return rc;
	e->priority = s[0] - '0';
	memcpy(e->name, name, n);
	e->name[n] = '\0';
	return 0;
}

int p4r_lfs_pointer_decode(p4r_lfs_pointer *out, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	p4r_lfs_pointer ptr;
	char val[128];
	uint64_t n = 0;
	size_t i;
	int rc;

	memset(&ptr, 0, sizeof(ptr));
	if (len == 0) {
		/* the empty file's pointer is the empty blob */
		memset(out, 0, sizeof(*out));
		p4r_hash_buffer(&out->oid, "", 0);
		return 0;
	}
	if (len > P4R_LFS_POINTER_MAX)
		return not_pointer("too large");
	if ((rc = take_line(&p, end, "version", val, sizeof(val))) < 0)
		return rc;
	if (strcmp(val, P4R_LFS_SPEC) && strcmp(val, LFS_LEGACY_SPEC))
		return not_pointer("unknown version");
	/* extensions sort between "version" and "oid" (docs/extensions.md) */
	while (end - p > 4 && !memcmp(p, "ext-", 4)) {
		if (ptr.next == P4R_LFS_EXT_MAX)
			return not_pointer("too many extensions");
		if ((rc = take_ext(&p, end, ptr.next ? ptr.ext[ptr.next - 1].priority : -1,
				   &ptr.ext[ptr.next])) < 0)
			return rc;
		ptr.next++;
	}
	if ((rc = take_line(&p, end, "oid", val, sizeof(val))) < 0 || (rc = take_oid(&ptr.oid, val)) < 0)
		return rc;
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
	ptr.size = n;
	*out = ptr;
	return 0;
}

int p4r_lfs_pointer_encode(char *buf, size_t bufsz, size_t *len, const p4r_lfs_pointer *p)
{
	size_t used;
	size_t i;
	int n;

	if (!p4r_oid_valid(p->oid.hex))
		return p4r_error_set(P4R_EUSAGE, "malformed oid '%.64s'", p->oid.hex);
	if (p->next > P4R_LFS_EXT_MAX)
		return p4r_error_set(P4R_EUSAGE, "too many Git LFS extensions (%zu)", p->next);
	if (p->size == 0) {
		/* git-lfs encodes every empty file as the empty blob */
		if (bufsz < 1)
			return p4r_error_set(P4R_ERROR, "pointer buffer too small");
		buf[0] = '\0';
		*len = 0;
		return 0;
	}
	n = snprintf(buf, bufsz, "version %s\n", P4R_LFS_SPEC);
	for (i = 0, used = n < 0 ? bufsz : (size_t)n; i < p->next && used < bufsz; i++) {
		if (!p4r_oid_valid(p->ext[i].oid.hex) || p->ext[i].priority < 0 || p->ext[i].priority > 9 ||
		    (i && p->ext[i].priority <= p->ext[i - 1].priority) || !p->ext[i].name[0])
			return p4r_error_set(P4R_EUSAGE, "malformed Git LFS extension '%s'", p->ext[i].name);
		n = snprintf(buf + used, bufsz - used, "ext-%d-%s sha256:%s\n", p->ext[i].priority,
			     p->ext[i].name, p->ext[i].oid.hex);
		used = n < 0 ? bufsz : used + (size_t)n;
	}
	if (used < bufsz) {
		n = snprintf(buf + used, bufsz - used, "oid sha256:%s\nsize %" PRIu64 "\n", p->oid.hex, p->size);
		used = n < 0 ? bufsz : used + (size_t)n;
	}
	if (used >= bufsz)
		return p4r_error_set(P4R_ERROR, "pointer buffer too small");
	*len = used;
	return 0;
}

int p4r_lfs_pointer_unsupported(const p4r_lfs_pointer *p)
{
	if (p->next == 0)
		return 0;
	if (p->next == 1)
		return p4r_error_set(P4R_ERROR, "Git LFS extension '%s' is not supported by p4reg; "
				     "install git-lfs and the extension", p->ext[0].name);
	return p4r_error_set(P4R_ERROR, "Git LFS extension '%s' (and %zu more) is not supported by "
			     "p4reg; install git-lfs and the extensions", p->ext[0].name, p->next - 1);
}

int p4r_lfs_pointer_parse(p4r_oid *oid, uint64_t *size, const char *buf, size_t len)
{
	p4r_lfs_pointer p;
	int rc;

	if ((rc = p4r_lfs_pointer_decode(&p, buf, len)) < 0 || (rc = p4r_lfs_pointer_unsupported(&p)) < 0)
		return rc;
	*oid = p.oid;
	*size = p.size;
	return 0;
}

int p4r_lfs_object_path(char *buf, size_t bufsz, const char *lfs_dir, const p4r_oid *oid)
{
	char root[PATH_MAX];

	if (snprintf(root, sizeof(root), "%s/objects", lfs_dir) >= (int)sizeof(root))
		return p4r_error_set(P4R_ERROR, "Git LFS folder '%s' is too long", lfs_dir);
	return p4r_oid_path(buf, bufsz, root, oid);
}

bool p4r_lfs_has(const char *lfs_dir, const p4r_oid *oid)
{
	char path[PATH_MAX];
	struct stat st;

	return p4r_lfs_object_path(path, sizeof(path), lfs_dir, oid) == 0 && stat(path, &st) == 0 &&
	       S_ISREG(st.st_mode);
}

/* Copies SRC to the open temporary TMP_FD through the store's pipeline
 * (the hash overlaps the I/O); *GOT gets what the bytes hash to. */
static int copy_hashed(int tmp_fd, const char *tmp, const char *src, p4r_oid *got)
{
	struct stat st;
	uint64_t size;
	int fd, rc;

	if ((fd = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		return p4r_error_errno("cannot open '%s'", src);
	/* the size picks the pipeline (large) or a single buffer (small) */
	rc = fstat(fd, &st) < 0 ? p4r_error_errno("cannot stat '%s'", src)
		: p4r_store_copy_hashed(got, &size, fd, src, tmp_fd, tmp, (uint64_t)st.st_size, NULL, NULL);
	close(fd);
	return rc;
}

int p4r_lfs_place(const char *lfs_dir, const p4r_oid *oid, const char *src, bool *linked)
{
	char path[PATH_MAX], *objects = NULL, *tmpdir = NULL, *tmp = NULL;
	int root = -1, dir = -1, fd = -1, rc;
	p4r_oid got;

	if (linked)
		*linked = false;
	if ((rc = p4r_lfs_object_path(path, sizeof(path), lfs_dir, oid)) < 0)
		return rc;
	if (p4r_lfs_has(lfs_dir, oid))
		return 0;
	if (!(objects = p4r_path_join(lfs_dir, "objects")) || !(tmpdir = p4r_path_join(lfs_dir, "tmp"))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	if ((rc = p4r_mkdir_p(objects, 0755)) < 0)
		goto done;
	if ((root = open(objects, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = p4r_error_errno("cannot open folder '%s'", objects);
		goto done;
	}
	if ((rc = p4r_publish_dir_open(root, objects, oid, true, true, &dir)) < 0)
		goto done;
	/* the object is immutable in both places, so sharing the inode is safe */
	if (linkat(AT_FDCWD, src, dir, oid->hex, 0) == 0) {
		if (linked)
			*linked = true;
		if (fsync(dir) < 0 && errno != EINVAL)
			rc = p4r_error_errno("cannot fsync folder of '%s'", path);
		goto done;
	}
	if (errno == EEXIST)
		goto done; /* a concurrent writer placed the same bytes */
	if (errno != EXDEV && errno != EPERM && errno != EMLINK && errno != EOPNOTSUPP) {
		rc = p4r_error_errno("cannot link '%s' to '%s'", src, path);
		goto done;
	}
	if ((rc = p4r_mkdir_p(tmpdir, 0755)) < 0 ||
	    (rc = p4r_mkstemp_in(&fd, &tmp, tmpdir, "object")) < 0 ||
	    (rc = copy_hashed(fd, tmp, src, &got)) < 0)
		goto done;
	/* a copy keeps the temporary file's mode (0600), as it always had */
	rc = p4r_publish_object(dir, oid->hex, oid, &got, AT_FDCWD, &tmp, &fd, 0600, src, true, NULL);
done:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	if (root >= 0)
		close(root);
	if (dir >= 0)
		close(dir);
	free(tmpdir);
	free(objects);
	return rc;
}

int p4r_lfs_mirror(p4r_repo *repo, const char *lfs_dir, const p4r_oid *oid)
{
	char obj[PATH_MAX];
	struct stat trusted;
	int rc;

	/* the stat the fingerprint holds for: only a ctime moved since is ours */
	if ((rc = p4r_objguard_require(repo, oid, &trusted)) < 0 ||
	    (rc = p4r_store_object_path(p4r_repo_store(repo), oid, obj, sizeof(obj))) < 0 ||
	    (rc = p4r_lfs_place(lfs_dir, oid, obj, NULL)) < 0)
		return rc;
	return p4r_objguard_record(repo, oid, &trusted);
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

/* The deepest folder of REL's folders below TOP_FD that holds a .p4reg
 * entry (a link too: the trust check refuses it by name), as the length
 * of its prefix in REL; 0 when none does. Every folder is opened without
 * following a link, as git itself never writes through one. */
static size_t nearest_meta(int top_fd, const char *rel)
{
	const char *p = rel;
	size_t best = 0;
	int cur = fcntl(top_fd, F_DUPFD_CLOEXEC, 0);

	while (cur >= 0) {
		size_t n = strcspn(p, "/");
		char name[NAME_MAX + 1];
		struct stat st;
		int next;

		if (!p[n] || n > NAME_MAX)
			break; /* the last component is the file itself */
		memcpy(name, p, n);
		name[n] = '\0';
		next = openat(cur, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(cur);
		cur = next;
		p += n + 1;
		if (cur >= 0 && fstatat(cur, P4R_META_DIR, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode)))
			best = (size_t)(p - 1 - rel);
	}
	if (cur >= 0)
		close(cur);
	return best;
}

int p4r_lfs_repo_for_path(char **root, const char *top, const char *rel)
{
	const char *env = getenv("P4REG_DIR"), *p;
	size_t best = 0, n;
	int fd, rc = 0;

	*root = NULL;
	if (rel[0] == '/' || !rel[0])
		return p4r_error_set(P4R_EUSAGE, "'%s' is not a path inside the git work tree", rel);
	for (p = rel; *p; p += n + (p[n] == '/')) {
		n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return p4r_error_set(P4R_EUSAGE, "'%s' is not a path inside the git work tree", rel);
	}
	if (!(env && *env)) {
		if ((fd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			return p4r_error_errno("cannot open '%s'", top);
		best = nearest_meta(fd, rel);
		close(fd);
	}
	if (best) {
		size_t tlen = strlen(top);

		if (!(*root = malloc(tlen + best + 2)))
			return p4r_error_set(P4R_ERROR, "out of memory");
		snprintf(*root, tlen + best + 2, "%s/%.*s", strcmp(top, "/") ? top : "", (int)best, rel);
		return 0;
	}
	/* P4REG_DIR, or the repository at TOP or above it */
	if ((rc = p4r_repo_discover(root, top)) == P4R_ENOTFOUND) {
		p4r_error_clear();
		rc = 0;
	}
	return rc;
}
