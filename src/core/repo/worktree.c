/* Model files, pointers, .gitignore entries and the stat cache (worktree.h). */
#include "p4reg/worktree.h"
#include "p4reg/beneath.h"
#include "p4reg/relpath.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/ignore.h"
#include "p4reg/objguard.h"
#include "repo/timestamps.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/fs.h>

void p4r_worktree_stat_key(const struct stat *st, p4r_stat_key *key)
{
	key->dev = (int64_t)st->st_dev;
	key->ino = (int64_t)st->st_ino;
	key->size = (int64_t)st->st_size;
	/* as the file system keeps them (coarser in tests of the racy rule) */
	key->mtime_ns = p4r_timestamps_coarsen((int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec);
	key->ctime_ns = p4r_timestamps_coarsen((int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec);
	/* the caller just took ST: the racily-clean rule's moment */
	key->seen_ns = p4r_timestamps_now();
}

int p4r_worktree_default_name(char *buf, size_t bufsz, const char *rel, bool folder)
{
	const char *base = strrchr(rel, '/');
	const char *dot;
	size_t len;

	base = base ? base + 1 : rel;
	dot = strrchr(base, '.');
	len = dot && dot != base && !folder ? (size_t)(dot - base) : strlen(base);
	if (len >= bufsz || len > P4R_MODEL_NAME_MAX)
		return p4r_error_set(P4R_EUSAGE, "'%s' makes a model name that is too long; use --name", rel);
	memcpy(buf, base, len);
	buf[len] = '\0';
	if (!p4r_model_name_valid(buf))
		return p4r_error_set(P4R_EUSAGE, "'%s' makes an invalid model name '%s'; use --name", rel, buf);
	return 0;
}

/* REL + ".p4reg", malloc'd. */
static char *pointer_rel(const char *rel)
{
	size_t sz = strlen(rel) + sizeof(P4R_POINTER_SUFFIX);
	char *out = malloc(sz);

	if (out)
		snprintf(out, sz, "%s%s", rel, P4R_POINTER_SUFFIX);
	return out;
}

int p4r_worktree_read_pointer(p4r_repo *repo, const char *rel, p4r_pointer *out)
{
	char *ptr = NULL;
	const char *base;
	int dir = -1, rc;

	if ((rc = p4r_relpath_check(rel)) < 0)
		return rc;
	if (!(ptr = pointer_rel(rel)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	if ((rc = p4r_beneath_parent(&dir, &base, p4r_repo_root_fd(repo), ptr, false)) == 0)
		rc = p4r_pointer_read_at(out, dir, base, ptr);
	if (dir >= 0)
		close(dir);
	free(ptr);
	return rc;
}

/* The absolute path of REL's pointer, for git (which stages by path). */
static char *pointer_abs(const p4r_repo *repo, const char *rel)
{
	char *abs = p4r_repo_abspath(repo, rel), *out;
	size_t sz;

	if (!abs)
		return NULL;
	sz = strlen(abs) + sizeof(P4R_POINTER_SUFFIX);
	if ((out = malloc(sz)))
		snprintf(out, sz, "%s%s", abs, P4R_POINTER_SUFFIX);
	free(abs);
	return out;
}

/* p4r_worktree_write_pointer; *WRITTEN (nullable) says whether it wrote. */
static int write_pointer(p4r_repo *repo, const p4r_version *v, const char *rel, char **ptr_abs,
			 bool *written)
{
	p4r_pointer want = { .version = v->number, .oid = v->oid, .size = v->size }, have;
	char *path = pointer_abs(repo, rel), *ptr = pointer_rel(rel);
	const char *base;
	int dir = -1, rc;

	if (ptr_abs)
		*ptr_abs = NULL;
	if (!path || !ptr) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	if ((rc = p4r_relpath_check(rel)) < 0 ||
	    (rc = p4r_beneath_parent(&dir, &base, p4r_repo_root_fd(repo), ptr, true)) < 0)
		goto done;
	snprintf(want.model, sizeof(want.model), "%s", v->model);
	want.dir = v->kind == P4R_KIND_DIR;
	want.files = want.dir ? v->files : 0;
	/* an identical pointer is left alone so its mtime (and git's view) stays */
	if (p4r_pointer_read_at(&have, dir, base, ptr) == 0 && !strcmp(have.model, want.model) &&
	    have.version == want.version && p4r_oid_equal(&have.oid, &want.oid) && have.size == want.size &&
	    have.dir == want.dir && have.files == want.files)
		goto done;
	p4r_error_clear();
	if ((rc = p4r_pointer_write_at(&want, dir, base, ptr)) == 0 && written)
		*written = true;
done:
	if (dir >= 0)
		close(dir);
	free(ptr);
	if (rc == 0 && ptr_abs)
		*ptr_abs = path;
	else
		free(path);
	return rc;
}

int p4r_worktree_write_pointer(p4r_repo *repo, const p4r_version *v, const char *rel, char **ptr_abs)
{
	return write_pointer(repo, v, rel, ptr_abs, NULL);
}

/* p4r_worktree_ignore; *ADDED (nullable) says whether the line was added;
 * DIR: the folder line "/NAME/". */
static int ignore(p4r_repo *repo, const char *rel, bool dir_line, char **gitignore_abs, bool *added)
{
	char *abs = p4r_repo_abspath(repo, rel), *slash, *display = NULL;
	const char *base;
	int dir = -1, rc;

	if (gitignore_abs)
		*gitignore_abs = NULL;
	if (!abs)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if ((rc = p4r_relpath_check(rel)) < 0 ||
	    (rc = p4r_beneath_parent(&dir, &base, p4r_repo_root_fd(repo), rel, true)) < 0)
		goto done;
	slash = strrchr(abs, '/');
	*slash = '\0';
	if (!(display = p4r_path_join(abs, ".gitignore"))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	rc = dir_line ? p4r_ignore_ensure_dir_at(dir, base, added, display)
		      : p4r_ignore_ensure_at(dir, base, added, display);
	if (rc == 0 && gitignore_abs) {
		*gitignore_abs = display;
		display = NULL;
	}
done:
	if (dir >= 0)
		close(dir);
	free(display);
	free(abs);
	return rc;
}

int p4r_worktree_ignore(p4r_repo *repo, const char *rel, char **gitignore_abs)
{
	return ignore(repo, rel, false, gitignore_abs, NULL);
}

void p4r_placed_clear(p4r_placed *p)
{
	if (!p)
		return;
	free(p->pointer_abs);
	free(p->gitignore_abs);
	memset(p, 0, sizeof(*p));
}

int p4r_worktree_place_pointer(p4r_repo *repo, const p4r_version *v, const char *rel, p4r_placed *out)
{
	bool written = false, added = false;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = write_pointer(repo, v, rel, &out->pointer_abs, &written)) == 0)
		rc = ignore(repo, rel, v->kind == P4R_KIND_DIR, &out->gitignore_abs, &added);
	if (rc < 0) {
		p4r_placed_clear(out);
		return rc;
	}
	/* only what changed goes to git: an unchanged checkout writes no index */
	if (!written) {
		free(out->pointer_abs);
		out->pointer_abs = NULL;
	}
	if (!added) {
		free(out->gitignore_abs);
		out->gitignore_abs = NULL;
	}
	return 0;
}

void p4r_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

struct strv {
	char **v;
	size_t n, cap;
};

static int strv_push(struct strv *s, char *str)
{
	if (!str)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		char **v = realloc(s->v, cap * sizeof(*v));

		if (!v) {
			free(str);
			return p4r_error_set(P4R_ERROR, "out of memory");
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = str;
	return 0;
}

/* The kind of entry DE in the folder DIRFD; file systems that do not
 * fill d_type (DT_UNKNOWN) are asked with fstatat, never following. */
static unsigned char entry_type(int dirfd, const struct dirent *de)
{
	struct stat st;

	if (de->d_type != DT_UNKNOWN)
		return de->d_type;
	if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return DT_UNKNOWN;
	if (S_ISDIR(st.st_mode))
		return DT_DIR;
	if (S_ISREG(st.st_mode))
		return DT_REG;
	return S_ISLNK(st.st_mode) ? DT_LNK : DT_UNKNOWN;
}

/* Depth-first walk of the open folder FD (REL in the repository) collecting
 * pointer files; FD is consumed. Symbolic links are never followed (they
 * could lead outside the repository or loop). */
static int scan_dir(int fd, const char *rel, struct strv *out, int depth)
{
	struct stat st;
	struct dirent *de;
	DIR *dir;
	int rc = 0;

	if (depth > 64 || !(dir = fdopendir(fd))) {
		close(fd);
		return 0; /* unreadable folders hold nothing we track */
	}
	while (rc == 0 && (de = readdir(dir))) {
		const char *name = de->d_name;
		unsigned char type;
		char *child;
		int sub;

		if (!strcmp(name, ".") || !strcmp(name, "..") || !strcmp(name, ".git") ||
		    !strcmp(name, ".p4reg"))
			continue;
		type = entry_type(dirfd(dir), de);
		if (type != DT_DIR && !(type == DT_REG && p4r_pointer_is_pointer_path(name)))
			continue;
		child = *rel ? p4r_path_join(rel, name) : strdup(name);
		if (!child) {
			rc = p4r_error_set(P4R_ERROR, "out of memory");
			break;
		}
		if (type == DT_DIR) {
			sub = openat(dirfd(dir), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			/* a folder with its own .p4reg is another repository's */
			if (sub >= 0 && fstatat(sub, ".p4reg", &st, AT_SYMLINK_NOFOLLOW) == 0)
				close(sub);
			else if (sub >= 0)
				rc = scan_dir(sub, child, out, depth + 1);
		} else {
			child[strlen(child) - strlen(P4R_POINTER_SUFFIX)] = '\0';
			rc = strv_push(out, child);
			child = NULL;
		}
		free(child);
	}
	closedir(dir);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int p4r_worktree_list_pointers(p4r_repo *repo, char ***out, size_t *n)
{
	struct strv s = { 0 };
	/* a new open of the folder, not a dup: a dup shares the read position
	 * of the root's descriptor, and a second scan would start at its end */
	int fd = openat(p4r_repo_root_fd(repo), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = fd < 0 ? p4r_error_errno("cannot open the repository folder") : scan_dir(fd, "", &s, 0);

	if (rc < 0) {
		p4r_strv_free(s.v, s.n);
		return rc;
	}
	if (s.n)
		qsort(s.v, s.n, sizeof(*s.v), cmp_str);
	*out = s.v;
	*n = s.n;
	return 0;
}

const char *p4r_file_state_name(p4r_file_state s)
{
	switch (s) {
	case P4R_FILE_CLEAN: return "clean";
	case P4R_FILE_MODIFIED: return "modified";
	case P4R_FILE_MISSING: return "missing";
	case P4R_FILE_UNKNOWN_VERSION: return "unknown-version";
	case P4R_FILE_INVALID: return "invalid";
	case P4R_FILE_MOVED: return "moved";
	default: return "object-missing";
	}
}

/* The stat cache rule, the one add and status (through file_oid) share.
 * A cached oid is trusted later when all five fields of the file's stat
 * (device, inode, size, mtime, ctime) match the row, so a row may only be
 * written for bytes that are known to be the ones that stat describes:
 * the stat taken before the read and the one after must be equal in all
 * five fields. Any change during the read -- a write, or a write whose
 * mtime was set back (touch -d, rsync, tar: only ctime moves) -- leaves no
 * row and the file is hashed again next time. Add's own hard link moves
 * ctime too (link and chmod 0444): such a file is not cached either, which
 * costs one re-hash at most and never trusts bytes nobody checked.
 * Racily clean files (changed within a timestamp tick of the command's
 * start: a later change could keep the same stat) are left out by
 * p4r_registry_statcache_put. */
int p4r_worktree_stat_remember(p4r_repo *repo, const char *rel, const p4r_stat_key *before,
			       const p4r_stat_key *after, const p4r_oid *oid)
{
	p4r_stat_key row = *after;

	if (before->dev != after->dev || before->ino != after->ino || before->size != after->size ||
	    before->mtime_ns != after->mtime_ns || before->ctime_ns != after->ctime_ns)
		return 0;
	/* racily clean or not as of before the read, not after it */
	row.seen_ns = before->seen_ns;
	return p4r_registry_statcache_put(p4r_repo_registry(repo), rel, &row, oid);
}

/* p4r_worktree_file_oid; REMEMBER: refresh the stat cache after a hash
 * (a dry run reads it only). */
static int file_oid(p4r_repo *repo, const char *rel, p4r_oid *out, bool *exists, bool remember)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_stat_key key, after;
	struct stat st;
	uint64_t size;
	bool found = false;
	int fd = -1, rc;

	*exists = false;
	if ((rc = p4r_relpath_check(rel)) < 0)
		return rc;
	rc = p4r_beneath_open_regular(&fd, &st, p4r_repo_root_fd(repo), rel);
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		return 0;
	}
	if (rc < 0)
		return rc;
	*exists = true;
	p4r_worktree_stat_key(&st, &key);
	if ((rc = p4r_registry_statcache_get(reg, rel, &key, out, &found)) < 0 || found)
		goto done;
	if ((rc = p4r_hash_fd(out, &size, fd)) < 0)
		goto done;
	if (remember && fstat(fd, &st) == 0) {
		p4r_worktree_stat_key(&st, &after);
		rc = p4r_worktree_stat_remember(repo, rel, &key, &after, out);
	}
done:
	close(fd);
	return rc;
}

int p4r_worktree_file_oid(p4r_repo *repo, const char *rel, p4r_oid *out, bool *exists)
{
	return file_oid(repo, rel, out, exists, true);
}

/* The error for a pointer whose kind or file count is not its version's. */
static int kind_mismatch(const char *rel, const p4r_pointer *ptr, const p4r_version *v)
{
	char said[64] = "a file", has[64] = "a file";

	if (ptr->dir)
		snprintf(said, sizeof(said), "a folder of %lld files", (long long)ptr->files);
	if (v->kind == P4R_KIND_DIR)
		snprintf(has, sizeof(has), "a folder of %lld files", (long long)v->files);
	return p4r_error_set(P4R_EINTEGRITY, "pointer '%s%s' says %s@%lld is %s, but the registry has %s; "
			     "check out a version by name to repair it", rel, P4R_POINTER_SUFFIX, ptr->model,
			     (long long)ptr->version, said, has);
}

int p4r_worktree_pointer_check(p4r_repo *repo, const char *rel, const p4r_pointer *ptr)
{
	p4r_version v = { 0 };
	int rc = p4r_registry_version_find(p4r_repo_registry(repo), ptr->model, ptr->version, &v);

	/* the message names the pointer file, the one to look at or fix */
	if (rc == 0 && v.deleted_ms)
		rc = p4r_error_set(P4R_ENOTFOUND, "pointer '%s%s' names %s@%lld, which was deleted (p4reg rm);"
				   " 'p4reg checkout %s' puts a live version there", rel, P4R_POINTER_SUFFIX,
				   ptr->model, (long long)ptr->version, ptr->model);
	else if (rc == P4R_ENOTFOUND)
		rc = p4r_error_set(P4R_ENOTFOUND, "pointer '%s%s' names %s@%lld, which the registry does not "
				   "know; run 'p4reg fetch' (or 'p4reg pull') first", rel, P4R_POINTER_SUFFIX,
				   ptr->model, (long long)ptr->version);
	else if (rc == 0 && (!p4r_oid_equal(&v.oid, &ptr->oid) || v.size != ptr->size))
		rc = p4r_error_set(P4R_EINTEGRITY, "pointer '%s%s' names %s@%lld as %.12s (%lld bytes), but "
				   "the registry has %.12s (%lld bytes); check out a version by name to "
				   "repair it", rel, P4R_POINTER_SUFFIX, ptr->model, (long long)ptr->version, ptr->oid.hex,
				   (long long)ptr->size, v.oid.hex, (long long)v.size);
	else if (rc == 0 && (ptr->dir != (v.kind == P4R_KIND_DIR) || (ptr->dir && ptr->files != v.files)))
		rc = kind_mismatch(rel, ptr, &v);
	p4r_version_clear(&v);
	return rc;
}

int p4r_worktree_pointer_moved(p4r_repo *repo, const char *rel, const p4r_pointer *ptr, char *to,
			       size_t tosz, bool *moved)
{
	p4r_model m = { 0 };
	int rc = p4r_registry_model_get(p4r_repo_registry(repo), ptr->model, &m);

	*moved = false;
	if (tosz)
		to[0] = '\0';
	if (rc == 0 && m.path && *m.path && strcmp(m.path, rel)) {
		*moved = true;
		snprintf(to, tosz, "%s", m.path);
	}
	p4r_model_clear(&m);
	return rc;
}

int p4r_worktree_file_state(p4r_repo *repo, const char *rel, const p4r_pointer *ptr, p4r_file_state *out)
{
	char to[PATH_MAX];
	p4r_oid oid;
	bool exists, moved = false;
	int rc = p4r_worktree_pointer_check(repo, rel, ptr);

	if (rc == P4R_ENOTFOUND || rc == P4R_EINTEGRITY) {
		*out = rc == P4R_ENOTFOUND ? P4R_FILE_UNKNOWN_VERSION : P4R_FILE_INVALID;
		return 0; /* the message stays set for the caller to show */
	}
	if (rc < 0 || (rc = p4r_worktree_pointer_moved(repo, rel, ptr, to, sizeof(to), &moved)) < 0)
		return rc;
	if (moved) {
		*out = P4R_FILE_MOVED;
		return 0;
	}
	if ((rc = p4r_worktree_file_oid(repo, rel, &oid, &exists)) < 0)
		return rc;
	if (exists && !p4r_oid_equal(&oid, &ptr->oid))
		*out = P4R_FILE_MODIFIED;
	else if (!p4r_store_has(p4r_repo_store(repo), &ptr->oid))
		*out = P4R_FILE_OBJECT_MISSING;
	else
		*out = exists ? P4R_FILE_CLEAN : P4R_FILE_MISSING;
	return 0;
}

/* A file a checkout replaces. */
struct replaced {
	bool linked;          /* a hard link to the object of OID */
	p4r_oid oid;          /* the bytes it held (hashed, or by the stat cache) */
	struct stat st;       /* its stat before the replace */
};

/* After a checkout: REL's stat cache row and, in the same commit, the new
 * fingerprints of the objects whose ctime p4reg itself moved: OID's, when
 * a hard link to it was made (VERIFIED is what the guard trusted), and the
 * one the replaced file was a hard link to (unlinking it moved its ctime;
 * its bytes were just hashed or known from the stat cache). */
static int remember(p4r_repo *repo, const char *rel, const p4r_stat_key *key, const p4r_oid *oid,
		    const struct stat *verified, const struct replaced *old)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	int rc;

	if (p4r_registry_readonly(reg))
		return p4r_registry_statcache_put(reg, rel, key, oid);
	/* the file is durable already; these rows only save re-hashes, and a
	 * hard-link checkout must stay O(1): no fsync for them */
	if ((rc = p4r_registry_lazy_sync(reg, true)) < 0)
		return rc;
	if ((rc = p4r_registry_begin(reg)) == 0) {
		if ((rc = p4r_registry_statcache_put(reg, rel, key, oid)) == 0 &&
		    (rc = p4r_objguard_record(repo, oid, verified)) == 0 &&
		    (!old->linked || (rc = p4r_objguard_record(repo, &old->oid, &old->st)) == 0))
			rc = p4r_registry_commit(reg);
		else
			p4r_registry_abort(reg);
	}
	if (p4r_registry_lazy_sync(reg, false) < 0 && rc == 0)
		rc = p4r_error_code();
	return rc;
}

int p4r_worktree_checkout_remember(p4r_repo *repo, const char *rel, const struct stat *st,
				   const p4r_oid *oid, const struct stat *verified)
{
	struct replaced none = { .linked = false };
	p4r_stat_key key;

	p4r_worktree_stat_key(st, &key);
	return remember(repo, rel, &key, oid, verified, &none);
}

/* Whether the file BASE in DIR, holding CURRENT's bytes, is a hard link to
 * CURRENT's object. */
static void find_linked(p4r_repo *repo, int dir, const char *base, const p4r_oid *current,
			struct replaced *old)
{
	struct stat obj;

	old->oid = *current;
	old->linked = fstatat(dir, base, &old->st, AT_SYMLINK_NOFOLLOW) == 0 &&
		      S_ISREG(old->st.st_mode) && old->st.st_nlink > 1 &&
		      p4r_store_object_stat(p4r_repo_store(repo), current, &obj) == 0 &&
		      obj.st_dev == old->st.st_dev && obj.st_ino == old->st.st_ino;
	p4r_error_clear();
}

/* What materialize finds before it writes: the file's oid (*CURRENT,
 * *EXISTS), *ALREADY when it has OID's bytes; bytes in no version and not
 * in the store refuse without FORCE. REMEMBER as for file_oid. */
static int materialize_precheck(p4r_repo *repo, const char *rel, const p4r_oid *oid, bool force,
				bool remember, p4r_oid *current, bool *exists, bool *already)
{
	int rc;

	*already = false;
	if ((rc = p4r_relpath_check(rel)) < 0 || (rc = file_oid(repo, rel, current, exists, remember)) < 0)
		return rc;
	if (*exists && p4r_oid_equal(current, oid))
		*already = true;
	else if (*exists && !force && !p4r_store_has(p4r_repo_store(repo), current))
		return p4r_error_set(P4R_ERROR, "'%s' has changes that are in no version; "
				     "'p4reg add' it first, or use --force to overwrite", rel);
	return 0;
}

int p4r_worktree_materialize_check(p4r_repo *repo, const char *rel, const p4r_oid *oid, bool force,
				   bool *already)
{
	p4r_oid current;
	bool exists;

	return materialize_precheck(repo, rel, oid, force, false, &current, &exists, already);
}

/* After BASE in DIR (REL) got OID's bytes: its stat cache row and the
 * fingerprints p4reg's own link or unlink moved (see remember). */
static int remember_at(p4r_repo *repo, int dir, const char *base, const char *rel, const p4r_oid *oid,
		       const struct stat *verified, const struct replaced *old)
{
	p4r_stat_key key;
	struct stat st;

	if (fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	p4r_worktree_stat_key(&st, &key);
	return remember(repo, rel, &key, oid, verified, old);
}

int p4r_worktree_materialize(p4r_repo *repo, const char *rel, const p4r_oid *oid,
			     const p4r_link_type *order, size_t n, bool force, bool *already,
			     p4r_progress_fn progress, void *payload)
{
	p4r_link_type cfg_order[P4R_LINK_MAX];
	const char *base;
	p4r_oid current;
	struct replaced old = { .linked = false };
	struct stat verified;
	bool exists, have;
	int dir = -1, rc;

	rc = materialize_precheck(repo, rel, oid, force, true, &current, &exists, &have);
	if (already)
		*already = rc == 0 && have;
	if (rc < 0 || have)
		return rc;
	if (n == 0) {
		if ((rc = p4r_repo_link_order(repo, cfg_order, &n)) < 0)
			return rc;
		order = cfg_order;
	}
	/* a link or reflink passes the object on unread: it must be the one
	 * p4reg stored, or its bytes are checked (and, wrong, never used) */
	if ((rc = p4r_objguard_require(repo, oid, &verified)) < 0)
		return rc;
	/* the folder is opened (made) below the root now, and the file is
	 * written by name inside it: a link planted on the way cannot lead out */
	if ((rc = p4r_beneath_parent(&dir, &base, p4r_repo_root_fd(repo), rel, true)) < 0)
		return rc;
	if (exists)
		find_linked(repo, dir, base, &current, &old);
	if ((rc = p4r_store_checkout(p4r_repo_store(repo), oid, dir, base, rel, order, n, NULL,
				     progress, payload)) == 0)
		rc = remember_at(repo, dir, base, rel, oid, &verified, &old);
	close(dir);
	return rc;
}

/* ---- a pulled object written into the work tree from the download ---- */

/* Whether the link order ORDER (N) copies into the work tree: its first
 * method that always works is copy. *PROBE: a reflink comes first, which
 * only a file system that clones can do. */
static bool order_copies(const p4r_link_type *order, size_t n, bool *probe)
{
	size_t i;

	*probe = false;
	for (i = 0; i < n; i++) {
		if (order[i] == P4R_LINK_COPY)
			return true;
		if (order[i] != P4R_LINK_REFLINK)
			return false;
		*probe = true;
	}
	return false;
}

int p4r_worktree_tee_prepare(p4r_repo *repo, const char *rel, const p4r_oid *oid,
			     const p4r_link_type *order, size_t n, bool force, p4r_worktree_tee *out,
			     bool *wanted)
{
	p4r_link_type cfg_order[P4R_LINK_MAX];
	p4r_oid current;
	bool exists, same;
	int rc;

	memset(out, 0, sizeof(*out));
	out->dir = -1;
	*wanted = false;
	if ((rc = p4r_relpath_check(rel)) < 0)
		return rc;
	if (n == 0) {
		if ((rc = p4r_repo_link_order(repo, cfg_order, &n)) < 0)
			return rc;
		order = cfg_order;
	}
	if (!order_copies(order, n, &out->probe))
		return 0;
	/* a file that already holds the bytes, or that its checkout refuses
	 * (which says why, later), gets no copy; nor one whose folder is not
	 * there yet: a failed download must not leave a new folder behind */
	rc = materialize_precheck(repo, rel, oid, force, true, &current, &exists, &same);
	if (rc == 0 && !same)
		rc = p4r_beneath_parent(&out->dir, &out->base, p4r_repo_root_fd(repo), rel, false);
	if (rc < 0 || same) {
		p4r_error_clear();
		return 0;
	}
	out->oid = *oid;
	if (!(out->rel = strdup(rel)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	out->base = out->rel + (out->base - rel);
	*wanted = true;
	return 0;
}

/* Removes T's temporary file, if any. */
static void tee_drop(p4r_worktree_tee *t)
{
	if (t->tmp) {
		unlinkat(t->dir, t->tmp, 0);
		free(t->tmp);
		t->tmp = NULL;
	}
	t->ready = false;
}

int p4r_worktree_tee_open(p4r_worktree_tee *t, int store_fd, int *fd)
{
	char prefix[NAME_MAX + 16];
	int rc;

	*fd = -1;
	if (t->tmp)
		return 0; /* one download per file */
	/* the name checkout's own temporary files have (p4r_tmp_beside_target) */
	snprintf(prefix, sizeof(prefix), "%s.p4reg-tmp", t->base);
	if ((rc = p4r_mkstemp_at(fd, &t->tmp, t->dir, prefix)) < 0)
		return rc;
	/* where the store's file system clones into the work tree, the
	 * checkout reflinks the object in O(1): no second copy to write */
	if (t->probe && ioctl(*fd, FICLONE, store_fd) == 0) {
		close(*fd);
		*fd = -1;
		tee_drop(t);
	}
	return 0;
}

int p4r_worktree_tee_close(p4r_worktree_tee *t, int fd, bool ok)
{
	int rc = 0;

	/* mkstemp made it 0600; a checkout's copy is 0644 (p4r_store_checkout) */
	if (ok && (fchmod(fd, 0644) < 0 || fsync(fd) < 0))
		rc = p4r_error_errno("cannot write '%s'", t->rel);
	if (close(fd) < 0 && ok && rc == 0)
		rc = p4r_error_errno("cannot write '%s'", t->rel);
	if (!ok || rc < 0)
		tee_drop(t);
	else
		t->ready = true;
	return rc;
}

int p4r_worktree_materialize_tee(p4r_repo *repo, p4r_worktree_tee *t, bool force, bool *already)
{
	struct replaced old = { .linked = false };
	struct stat verified;
	p4r_oid current;
	bool exists;
	int fd = -1, rc;

	/* the file is checked as a checkout checks it, now that it is its turn */
	if ((rc = materialize_precheck(repo, t->rel, &t->oid, force, true, &current, &exists, already)) < 0 ||
	    *already || (rc = p4r_objguard_require(repo, &t->oid, &verified)) < 0)
		return rc;
	if (exists)
		find_linked(repo, t->dir, t->base, &current, &old);
	if ((rc = p4r_replace_at(t->dir, &fd, &t->tmp, t->base, 0644, t->rel)) < 0)
		return rc;
	t->ready = false;
	return remember_at(repo, t->dir, t->base, t->rel, &t->oid, &verified, &old);
}

void p4r_worktree_tee_clear(p4r_worktree_tee *t)
{
	tee_drop(t);
	if (t->dir >= 0)
		close(t->dir);
	free(t->rel);
	memset(t, 0, sizeof(*t));
	t->dir = -1;
}

/* ---- names and paths: which model a path is, moving a model ---- */

void p4r_binding_clear(p4r_binding *b)
{
	if (!b)
		return;
	free(b->moved_from);
	memset(b, 0, sizeof(*b));
}

/* NAME's model (*FOUND false, no error, when unknown). */
static int model_find(p4r_registry *reg, const char *name, p4r_model *m, bool *found)
{
	int rc = p4r_registry_model_get(reg, name, m);

	*found = rc == 0;
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		rc = 0;
	}
	return rc;
}

/* The model bound to REL (*FOUND false, no error, when none). */
static int model_at(p4r_registry *reg, const char *rel, p4r_model *m, bool *found)
{
	int rc = p4r_registry_model_by_path(reg, rel, m);

	*found = rc == 0;
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		rc = 0;
	}
	return rc;
}

/* Without -n, for a path no model holds, a pointer beside it proves
 * nothing alone (docs/security.md): git brought it, and the registry
 * cannot vouch for it. Naming a model bound elsewhere, it moved in another
 * clone (git brought the pointer before the registry saw the move) or was
 * copied; naming one this registry lacks under another name than the
 * file's, it may be another clone's (not yet fetched), or one planted to
 * make these bytes the next version of someone else's model. Either way
 * the user decides: fetch, or -n. A pointer naming the file's own default
 * name (DEFLT) chooses nothing the file name does not. */
static int check_pointer(p4r_repo *repo, const char *rel, const char *deflt)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_model m = { 0 };
	p4r_pointer ptr;
	bool found = false;
	int rc;

	if (p4r_worktree_read_pointer(repo, rel, &ptr) < 0) {
		p4r_error_clear(); /* none, or unreadable: add writes it anew */
		return 0;
	}
	if ((rc = model_find(reg, ptr.model, &m, &found)) < 0)
		return rc;
	if (found)
		rc = p4r_error_set(P4R_EEXISTS, "'%s%s' names model '%s', which is bound to '%s'; 'p4reg fetch' "
				   "if it moved elsewhere, or move it here with -n %s", rel,
				   P4R_POINTER_SUFFIX, ptr.model, m.path, ptr.model);
	else if (strcmp(ptr.model, deflt))
		rc = p4r_error_set(P4R_ENOTFOUND, "'%s%s' names model '%s', which this registry does not "
				   "know; 'p4reg fetch' first, or choose the model with -n (-n %s joins it)",
				   rel, P4R_POINTER_SUFFIX, ptr.model, ptr.model);
	p4r_model_clear(&m);
	return rc;
}

int p4r_worktree_resolve_binding(p4r_repo *repo, const char *name, const char *rel, bool folder,
				 p4r_binding *out)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_model holder = { 0 }, m = { 0 };
	bool held = false, found = false;
	int rc;

	memset(out, 0, sizeof(*out));
	if (name && !p4r_model_name_valid(name))
		return p4r_error_set(P4R_EUSAGE, "invalid model name '%s' (use letters, digits, '_', '.', '-')", name);
	/* A valid pointer whose model is bound to REL names the model the
	 * registry binds to REL (a path holds one model): asking the registry
	 * covers both, and also a path whose pointer was deleted. */
	if ((rc = model_at(reg, rel, &holder, &held)) < 0)
		goto done;
	if (name) {
		if (held && strcmp(holder.name, name)) {
			rc = p4r_error_set(P4R_EUSAGE, "'%s' is bound to model '%s'; add it as -n %s, or move model "
					   "'%s' elsewhere first (p4reg mv %s NEWPATH)", rel, holder.name,
					   holder.name, holder.name, rel);
			goto done;
		}
		snprintf(out->model, sizeof(out->model), "%s", name);
		if (held || (rc = model_find(reg, name, &m, &found)) < 0 || !found)
			goto done;
		/* -n NAME of a model bound elsewhere: it moves here */
		if (!(out->moved_from = strdup(m.path)))
			rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	if (held) {
		snprintf(out->model, sizeof(out->model), "%s", holder.name);
		goto done;
	}
	if ((rc = p4r_worktree_default_name(out->model, sizeof(out->model), rel, folder)) < 0 ||
	    (rc = check_pointer(repo, rel, out->model)) < 0 ||
	    (rc = model_find(reg, out->model, &m, &found)) < 0)
		goto done;
	if (found)
		rc = p4r_error_set(P4R_EEXISTS, "model '%s' is bound to '%s', not '%s'; choose another name with "
				   "-n, or move the model here with -n %s", out->model, m.path, rel, out->model);
done:
	p4r_model_clear(&holder);
	p4r_model_clear(&m);
	if (rc < 0)
		p4r_binding_clear(out);
	return rc;
}

void p4r_unbind_clear(p4r_unbind *u)
{
	if (!u)
		return;
	free(u->pointer_abs);
	free(u->gitignore_abs);
	memset(u, 0, sizeof(*u));
}

/* REL's folder and name, opened below the root; *DIR is -1 and 0 is
 * returned when the folder does not exist (nothing is there). */
static int open_parent(p4r_repo *repo, const char *rel, bool create, int *dir, const char **base)
{
	int rc = p4r_beneath_parent(dir, base, p4r_repo_root_fd(repo), rel, create);

	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		*dir = -1;
		rc = 0;
	}
	return rc;
}

/* Whether BASE exists in DIR (-1: no folder), never following a link;
 * *ST (nullable) gets its lstat. */
static int exists_at(int dir, const char *base, const char *display, bool *yes, struct stat *st)
{
	struct stat local;

	*yes = false;
	if (dir < 0)
		return 0;
	if (fstatat(dir, base, st ? st : &local, AT_SYMLINK_NOFOLLOW) == 0) {
		*yes = true;
		return 0;
	}
	return errno == ENOENT ? 0 : p4r_error_errno("cannot look at '%s'", display);
}

int p4r_worktree_unbind(p4r_repo *repo, const char *model, const char *rel, p4r_unbind *out)
{
	char *ptr = pointer_rel(rel), *abs = p4r_repo_abspath(repo, rel), *slash;
	const char *base, *pbase;
	p4r_pointer have;
	bool there = false;
	int dir = -1, rc;

	memset(out, 0, sizeof(*out));
	if (!ptr || !abs) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	if ((rc = p4r_relpath_check(rel)) < 0 || (rc = open_parent(repo, rel, false, &dir, &base)) < 0 ||
	    dir < 0)
		goto done;
	pbase = strrchr(ptr, '/') ? strrchr(ptr, '/') + 1 : ptr;
	/* only a pointer to this model says the path was the model's here:
	 * without one (a path the registry took from a remote's move, never
	 * checked out) the .gitignore line is the user's, and stays */
	if (p4r_pointer_read_at(&have, dir, pbase, ptr) < 0 || strcmp(have.model, model)) {
		p4r_error_clear();
		goto done;
	}
	/* the line first, the pointer last: a rerun after a crash in between
	 * still finds the pointer, so it knows there is work left */
	if ((rc = exists_at(dir, base, rel, &there, NULL)) < 0)
		goto done;
	/* a file still there keeps its line, or git would take the binary */
	if (!there) {
		slash = strrchr(abs, '/');
		*slash = '\0';
		if (!(out->gitignore_abs = p4r_path_join(abs, ".gitignore"))) {
			rc = p4r_error_set(P4R_ERROR, "out of memory");
			goto done;
		}
		if ((rc = p4r_ignore_remove_at(dir, base, &out->gitignore_changed, &out->gitignore_deleted,
					       out->gitignore_abs)) < 0)
			goto done;
		if (!out->gitignore_changed) {
			free(out->gitignore_abs);
			out->gitignore_abs = NULL;
		}
	}
	if (unlinkat(dir, pbase, 0) < 0 || fsync(dir) < 0) {
		rc = p4r_error_errno("cannot remove '%s'", ptr);
		goto done;
	}
	if (!(out->pointer_abs = pointer_abs(repo, rel)))
		rc = p4r_error_set(P4R_ERROR, "out of memory");
done:
	if (dir >= 0)
		close(dir);
	free(ptr);
	free(abs);
	if (rc < 0)
		p4r_unbind_clear(out);
	return rc;
}

void p4r_move_result_clear(p4r_move_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nstage; i++)
		free(r->stage[i]);
	for (i = 0; i < r->nunstage; i++)
		free(r->unstage[i]);
	memset(r, 0, sizeof(*r));
}

/* Takes S (malloc'd, may be NULL: out of memory) into the list. */
static int take(char **list, size_t *n, size_t max, char *s)
{
	if (!s)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if (*n >= max) {
		free(s);
		return p4r_error_set(P4R_ERROR, "internal: too many files to stage");
	}
	list[(*n)++] = s;
	return 0;
}

/* Nothing may be at NEW nor at its pointer's name: mv never overwrites.
 * Opening NEW's folder also refuses a path that leads out through a link. */
static int check_free(p4r_repo *repo, const char *to)
{
	char *ptr = pointer_rel(to);
	const char *base, *pbase;
	bool there = false;
	int dir = -1, rc;

	if (!ptr)
		return p4r_error_set(P4R_ERROR, "out of memory");
	pbase = strrchr(ptr, '/') ? strrchr(ptr, '/') + 1 : ptr;
	if ((rc = open_parent(repo, to, false, &dir, &base)) < 0 ||
	    (rc = exists_at(dir, base, to, &there, NULL)) < 0)
		goto done;
	if (there) {
		rc = p4r_error_set(P4R_EUSAGE, "'%s' already exists; p4reg mv does not overwrite", to);
		goto done;
	}
	if ((rc = exists_at(dir, pbase, ptr, &there, NULL)) < 0)
		goto done;
	if (there)
		rc = p4r_error_set(P4R_EUSAGE, "'%s' already exists; p4reg mv does not overwrite", ptr);
done:
	if (dir >= 0)
		close(dir);
	free(ptr);
	return rc;
}

/* FROM, when it is there, must be a regular file (reached below the root). */
static int check_old_file(p4r_repo *repo, const char *from)
{
	const char *base;
	struct stat st;
	bool there = false;
	int dir = -1, rc;

	if ((rc = open_parent(repo, from, false, &dir, &base)) == 0 &&
	    (rc = exists_at(dir, base, from, &there, &st)) == 0 && there && !S_ISREG(st.st_mode))
		rc = p4r_error_set(P4R_EUSAGE, "'%s' is not a regular file; p4reg mv moves model files only", from);
	if (dir >= 0)
		close(dir);
	return rc;
}

/* The pointer at FROM must name MODEL, as the registry has it. */
static int old_pointer(p4r_repo *repo, const char *model, const char *from, p4r_pointer *ptr)
{
	int rc = p4r_worktree_read_pointer(repo, from, ptr);

	if (rc == P4R_ENOTFOUND)
		return p4r_error_set(P4R_ENOTFOUND, "'%s' has no pointer file (model '%s' is bound to it); "
				     "'p4reg checkout %s' writes one", from, model, model);
	if (rc < 0)
		return rc;
	if (strcmp(ptr->model, model))
		return p4r_error_set(P4R_EINTEGRITY, "pointer '%s%s' names model '%s', but '%s' is bound to "
				     "model '%s'", from, P4R_POINTER_SUFFIX, ptr->model, from, model);
	return p4r_worktree_pointer_check(repo, from, ptr);
}

/* Renames FROM to TO when FROM is there (*MOVED), never replacing TO. */
static int move_file(p4r_repo *repo, const char *from, const char *to, bool *moved)
{
	const char *obase, *nbase;
	struct stat st;
	bool there = false;
	int odir = -1, ndir = -1, rc;

	*moved = false;
	if ((rc = open_parent(repo, from, false, &odir, &obase)) < 0 ||
	    (rc = exists_at(odir, obase, from, &there, &st)) < 0 || !there)
		goto done;
	if (!S_ISREG(st.st_mode)) {
		rc = p4r_error_set(P4R_EUSAGE, "'%s' is not a regular file; p4reg mv moves model files only", from);
		goto done;
	}
	if ((rc = p4r_beneath_parent(&ndir, &nbase, p4r_repo_root_fd(repo), to, true)) < 0)
		goto done;
	rc = renameat2(odir, obase, ndir, nbase, RENAME_NOREPLACE);
	/* file systems without RENAME_NOREPLACE: link(2) never replaces either */
	if (rc < 0 && (errno == EINVAL || errno == ENOSYS)) {
		rc = linkat(odir, obase, ndir, nbase, 0);
		if (rc == 0 && unlinkat(odir, obase, 0) < 0)
			rc = -1;
	}
	if (rc < 0) {
		rc = errno == EEXIST ? p4r_error_set(P4R_EUSAGE, "'%s' already exists; p4reg mv does not "
						     "overwrite", to) :
		     p4r_error_errno("cannot move '%s' to '%s'", from, to);
		goto done;
	}
	if (fsync(ndir) < 0 || fsync(odir) < 0) {
		rc = p4r_error_errno("cannot fsync the folders of '%s' and '%s'", from, to);
		goto done;
	}
	*moved = true;
done:
	if (odir >= 0)
		close(odir);
	if (ndir >= 0)
		close(ndir);
	return rc;
}

/* The absolute path of the .gitignore beside REL, malloc'd. */
static char *gitignore_of(p4r_repo *repo, const char *rel)
{
	char *abs = p4r_repo_abspath(repo, rel), *out;

	if (!abs)
		return NULL;
	*strrchr(abs, '/') = '\0';
	out = p4r_path_join(abs, ".gitignore");
	free(abs);
	return out;
}

/* Whether the .gitignore beside REL exists (below the root, no link). */
static int gitignore_state(p4r_repo *repo, const char *rel, bool *there)
{
	const char *base;
	int dir = -1, rc = open_parent(repo, rel, false, &dir, &base);

	if (rc == 0)
		rc = exists_at(dir, ".gitignore", rel, there, NULL);
	if (dir >= 0)
		close(dir);
	return rc;
}

/* A move the registry already has (fetched from a remote, or one that
 * stopped): when TO holds the version's bytes already (a checkout of the
 * moved model wrote them) and FROM is another copy of exactly those bytes,
 * FROM is removed instead of moved (*GONE): nothing is lost, both are the
 * stored version. Any other FROM is left for move_file, which never
 * replaces TO. */
static int drop_copy(p4r_repo *repo, const p4r_pointer *ptr, const char *from, const char *to,
		     bool *gone)
{
	const char *base;
	p4r_oid have;
	bool there = false;
	int dir = -1, rc;

	*gone = false;
	if ((rc = p4r_worktree_file_oid(repo, to, &have, &there)) < 0 || !there ||
	    !p4r_oid_equal(&have, &ptr->oid) ||
	    (rc = p4r_worktree_file_oid(repo, from, &have, &there)) < 0 || !there ||
	    !p4r_oid_equal(&have, &ptr->oid))
		return rc;
	if ((rc = open_parent(repo, from, false, &dir, &base)) < 0 || dir < 0)
		return rc;
	if (unlinkat(dir, base, 0) < 0 || fsync(dir) < 0)
		rc = p4r_error_errno("cannot remove '%s'", from);
	else
		*gone = true;
	close(dir);
	return rc;
}

/* The work-tree half of a move, after the registry's: file, pointer,
 * .gitignore lines; each step can be taken again. */
static int move_files(p4r_repo *repo, const p4r_pointer *ptr, const char *from, const char *to,
		      p4r_move_result *out)
{
	p4r_version v = { .number = ptr->version, .oid = ptr->oid, .size = ptr->size };
	p4r_unbind u = { 0 };
	bool gone = false;
	int rc;

	snprintf(v.model, sizeof(v.model), "%s", ptr->model);
	if (out->resumed && (rc = drop_copy(repo, ptr, from, to, &gone)) < 0)
		return rc;
	out->file_moved = gone;
	if ((gone || (rc = move_file(repo, from, to, &out->file_moved)) == 0) &&
	    (rc = p4r_worktree_write_pointer(repo, &v, to, NULL)) == 0 &&
	    (rc = p4r_worktree_ignore(repo, to, NULL)) == 0)
		rc = p4r_worktree_unbind(repo, ptr->model, from, &u);
	p4r_unbind_clear(&u);
	return rc;
}

/* What git's index needs after a move, judged from the work tree as it is
 * (a rerun after a kill did part of it before): TO's pointer and
 * .gitignore in, FROM's pointer out, FROM's .gitignore in when it is
 * there, out when it went with its last line. */
static int stage_lists(p4r_repo *repo, const char *from, const char *to, p4r_move_result *out)
{
	bool there = false;
	int rc;

	if ((rc = take(out->stage, &out->nstage, P4R_MOVE_STAGE_MAX, pointer_abs(repo, to))) < 0 ||
	    (rc = take(out->stage, &out->nstage, P4R_MOVE_STAGE_MAX, gitignore_of(repo, to))) < 0 ||
	    (rc = take(out->unstage, &out->nunstage, P4R_MOVE_STAGE_MAX, pointer_abs(repo, from))) < 0 ||
	    (rc = gitignore_state(repo, from, &there)) < 0)
		return rc;
	if (there)
		return take(out->stage, &out->nstage, P4R_MOVE_STAGE_MAX, gitignore_of(repo, from));
	return take(out->unstage, &out->nunstage, P4R_MOVE_STAGE_MAX, gitignore_of(repo, from));
}

/* MODEL is already bound to TO: a move that stopped after the registry's
 * commit is finished (FROM's pointer still names the model), one that
 * finished is reported (*DONE); anything else is TO bound to MODEL. */
static int move_again(p4r_repo *repo, const char *model, const char *from, const char *to,
		      bool from_held, p4r_pointer *ptr, bool *done)
{
	int rc = p4r_worktree_read_pointer(repo, from, ptr);

	*done = false;
	/* FROM bound to another model is not where MODEL came from, whatever
	 * a pointer there says: that file is the other model's */
	if (rc == 0 && !strcmp(ptr->model, model) && !from_held)
		return p4r_worktree_pointer_check(repo, from, ptr);
	p4r_error_clear();
	if (rc == P4R_ENOTFOUND && !from_held && p4r_worktree_read_pointer(repo, to, ptr) == 0 &&
	    !strcmp(ptr->model, model)) {
		*done = true;
		return 0;
	}
	p4r_error_clear();
	return p4r_error_set(P4R_EUSAGE, "'%s' is bound to model '%s'", to, model);
}

int p4r_worktree_move(p4r_repo *repo, const char *from, const char *to, const char *actor,
		      p4r_move_result *out)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_model old = { 0 }, dest = { 0 };
	p4r_pointer ptr;
	bool held_old = false, held_new = false, done = false;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = p4r_relpath_check(from)) < 0 || (rc = p4r_relpath_check(to)) < 0)
		goto done;
	if (p4r_pointer_is_pointer_path(from) || p4r_pointer_is_pointer_path(to)) {
		rc = p4r_error_set(P4R_EUSAGE, "'%s' is a pointer file; name the model file it describes",
				   p4r_pointer_is_pointer_path(from) ? from : to);
		goto done;
	}
	if (!p4r_relpath_valid(to)) {
		rc = p4r_error_set(P4R_EUSAGE, "invalid model path '%s'", to);
		goto done;
	}
	if (!strcmp(from, to)) {
		rc = p4r_error_set(P4R_EUSAGE, "'%s' and '%s' are the same path", from, to);
		goto done;
	}
	if ((rc = model_at(reg, to, &dest, &held_new)) < 0 || (rc = model_at(reg, from, &old, &held_old)) < 0)
		goto done;
	if (held_new) {
		if ((rc = move_again(repo, dest.name, from, to, held_old, &ptr, &done)) < 0)
			goto done;
		out->resumed = true;
	} else if (!held_old) {
		rc = p4r_error_set(P4R_ENOTFOUND, "no model is bound to '%s'", from);
		goto done;
	} else {
		/* everything that can refuse is asked before the registry changes */
		if ((rc = old_pointer(repo, old.name, from, &ptr)) < 0 || (rc = check_old_file(repo, from)) < 0 ||
		    (rc = check_free(repo, to)) < 0 ||
		    (rc = p4r_registry_model_move(reg, old.name, from, to, actor, 0)) < 0)
			goto done;
	}
	snprintf(out->model, sizeof(out->model), "%s", ptr.model);
	out->version = ptr.version;
	/* already moved (FROM's pointer goes last): only the staging, once
	 * more, as a kill may have come before the index write */
	out->already = done;
	if ((done || (rc = move_files(repo, &ptr, from, to, out)) == 0))
		rc = stage_lists(repo, from, to, out);
done:
	p4r_model_clear(&old);
	p4r_model_clear(&dest);
	if (rc < 0)
		p4r_move_result_clear(out);
	return rc;
}
