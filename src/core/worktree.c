/* Model files, pointers, .gitignore entries and the stat cache (worktree.h). */
#include "p4reg/worktree.h"
#include "p4reg/beneath.h"
#include "p4reg/relpath.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/ignore.h"
#include "p4reg/objguard.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void p4r_worktree_stat_key(const struct stat *st, p4r_stat_key *key)
{
	key->dev = (int64_t)st->st_dev;
	key->ino = (int64_t)st->st_ino;
	key->size = (int64_t)st->st_size;
	key->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	key->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

int p4r_worktree_default_name(char *buf, size_t bufsz, const char *rel)
{
	const char *base = strrchr(rel, '/');
	const char *dot;
	size_t len;

	base = base ? base + 1 : rel;
	dot = strrchr(base, '.');
	len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
	if (len >= bufsz || len > P4R_MODEL_NAME_MAX)
		return p4r_error_set(P4R_EUSAGE, "'%s' makes a model name that is too long; use --name", rel);
	memcpy(buf, base, len);
	buf[len] = '\0';
	if (!p4r_model_name_valid(buf))
		return p4r_error_set(P4R_EUSAGE, "'%s' makes an invalid model name '%s'; use --name", rel, buf);
	return 0;
}

int p4r_worktree_check_binding(p4r_registry *reg, const char *model, const char *rel)
{
	p4r_model m = { 0 };
	int rc = p4r_registry_model_get(reg, model, &m);

	if (rc == 0 && strcmp(m.path, rel))
		rc = p4r_error_set(P4R_EEXISTS, "model '%s' is bound to '%s', not '%s'; use --name", model, m.path, rel);
	p4r_model_clear(&m);
	if (rc == P4R_ENOTFOUND)
		rc = 0;
	if (rc < 0)
		return rc;
	rc = p4r_registry_model_by_path(reg, rel, &m);
	if (rc == 0 && strcmp(m.name, model))
		rc = p4r_error_set(P4R_EEXISTS, "'%s' is already registered as model '%s'", rel, m.name);
	p4r_model_clear(&m);
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		rc = 0;
	}
	return rc;
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

int p4r_worktree_write_pointer(p4r_repo *repo, const p4r_version *v, const char *rel, char **ptr_abs)
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
	/* an identical pointer is left alone so its mtime (and git's view) stays */
	if (p4r_pointer_read_at(&have, dir, base, ptr) == 0 && !strcmp(have.model, want.model) &&
	    have.version == want.version && p4r_oid_equal(&have.oid, &want.oid) && have.size == want.size)
		goto done;
	p4r_error_clear();
	rc = p4r_pointer_write_at(&want, dir, base, ptr);
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

int p4r_worktree_ignore(p4r_repo *repo, const char *rel, char **gitignore_abs)
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
	rc = p4r_ignore_ensure_at(dir, base, NULL, display);
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
			if (sub >= 0)
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
	default: return "object-missing";
	}
}

int p4r_worktree_file_oid(p4r_repo *repo, const char *rel, p4r_oid *out, bool *exists)
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
	if (fstat(fd, &st) == 0) {
		p4r_worktree_stat_key(&st, &after);
		if (!memcmp(&after, &key, sizeof(key)))
			rc = p4r_registry_statcache_put(reg, rel, &key, out);
	}
done:
	close(fd);
	return rc;
}

int p4r_worktree_pointer_check(p4r_repo *repo, const char *display, const p4r_pointer *ptr)
{
	p4r_version v = { 0 };
	int rc = p4r_registry_version_get(p4r_repo_registry(repo), ptr->model, ptr->version, &v);

	if (rc == P4R_ENOTFOUND)
		rc = p4r_error_set(P4R_ENOTFOUND, "pointer '%s' names %s@%lld, which the registry does not "
				   "know; run 'p4reg fetch' (or 'p4reg pull') first", display, ptr->model,
				   (long long)ptr->version);
	else if (rc == 0 && (!p4r_oid_equal(&v.oid, &ptr->oid) || v.size != ptr->size))
		rc = p4r_error_set(P4R_EINTEGRITY, "pointer '%s' names %s@%lld as %.12s (%lld bytes), but "
				   "the registry has %.12s (%lld bytes); check out a version by name to "
				   "repair it", display, ptr->model, (long long)ptr->version, ptr->oid.hex,
				   (long long)ptr->size, v.oid.hex, (long long)v.size);
	p4r_version_clear(&v);
	return rc;
}

int p4r_worktree_file_state(p4r_repo *repo, const char *rel, const p4r_pointer *ptr, p4r_file_state *out)
{
	p4r_oid oid;
	bool exists;
	int rc = p4r_worktree_pointer_check(repo, rel, ptr);

	if (rc == P4R_ENOTFOUND || rc == P4R_EINTEGRITY) {
		*out = rc == P4R_ENOTFOUND ? P4R_FILE_UNKNOWN_VERSION : P4R_FILE_INVALID;
		return 0; /* the message stays set for the caller to show */
	}
	if (rc < 0 || (rc = p4r_worktree_file_oid(repo, rel, &oid, &exists)) < 0)
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
			p4r_registry_rollback(reg);
	}
	if (p4r_registry_lazy_sync(reg, false) < 0 && rc == 0)
		rc = p4r_error_code();
	return rc;
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

int p4r_worktree_materialize(p4r_repo *repo, const char *rel, const p4r_oid *oid,
			     const p4r_link_type *order, size_t n, bool force, bool *already,
			     p4r_progress_fn progress, void *payload)
{
	p4r_link_type cfg_order[P4R_LINK_MAX];
	const char *base;
	p4r_stat_key key;
	p4r_oid current;
	struct replaced old = { .linked = false };
	struct stat st, verified;
	bool exists;
	int dir = -1, rc;

	if (already)
		*already = false;
	if ((rc = p4r_relpath_check(rel)) < 0)
		return rc;
	if ((rc = p4r_worktree_file_oid(repo, rel, &current, &exists)) < 0)
		goto done;
	if (exists && p4r_oid_equal(&current, oid)) {
		if (already)
			*already = true;
		goto done;
	}
	if (exists && !force && !p4r_store_has(p4r_repo_store(repo), &current)) {
		rc = p4r_error_set(P4R_ERROR, "'%s' has changes that are in no version; "
				   "'p4reg add' it first, or use --force to overwrite", rel);
		goto done;
	}
	if (n == 0) {
		if ((rc = p4r_repo_link_order(repo, cfg_order, &n)) < 0)
			goto done;
		order = cfg_order;
	}
	/* a link or reflink passes the object on unread: it must be the one
	 * p4reg stored, or its bytes are checked (and, wrong, never used) */
	if ((rc = p4r_objguard_require(repo, oid, &verified)) < 0)
		goto done;
	/* the folder is opened (made) below the root now, and the file is
	 * written by name inside it: a link planted on the way cannot lead out */
	if ((rc = p4r_beneath_parent(&dir, &base, p4r_repo_root_fd(repo), rel, true)) < 0)
		goto done;
	if (exists)
		find_linked(repo, dir, base, &current, &old);
	if ((rc = p4r_store_checkout(p4r_repo_store(repo), oid, dir, base, rel, order, n, NULL,
				     progress, payload)) < 0)
		goto done;
	if (fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		p4r_worktree_stat_key(&st, &key);
		rc = remember(repo, rel, &key, oid, &verified, &old);
	}
done:
	if (dir >= 0)
		close(dir);
	return rc;
}
