/* Model files, pointers, .gitignore entries and the stat cache (worktree.h). */
#include "p4reg/worktree.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/ignore.h"

#include <dirent.h>
#include <errno.h>
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

char *p4r_worktree_pointer_path(const p4r_repo *repo, const char *rel)
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
	char *path = p4r_worktree_pointer_path(repo, rel);
	int rc = 0;

	if (ptr_abs)
		*ptr_abs = NULL;
	if (!path)
		return p4r_error_set(P4R_ERROR, "out of memory");
	snprintf(want.model, sizeof(want.model), "%s", v->model);
	/* an identical pointer is left alone so its mtime (and git's view) stays */
	if (p4r_pointer_read(&have, path, rel) == 0 && !strcmp(have.model, want.model) &&
	    have.version == want.version && p4r_oid_equal(&have.oid, &want.oid) && have.size == want.size)
		goto done;
	p4r_error_clear();
	rc = p4r_pointer_write(&want, path);
done:
	if (rc == 0 && ptr_abs)
		*ptr_abs = path;
	else
		free(path);
	return rc;
}

int p4r_worktree_ignore(p4r_repo *repo, const char *rel, char **gitignore_abs)
{
	char *abs = p4r_repo_abspath(repo, rel), *slash;
	int rc;

	if (gitignore_abs)
		*gitignore_abs = NULL;
	if (!abs)
		return p4r_error_set(P4R_ERROR, "out of memory");
	slash = strrchr(abs, '/');
	*slash = '\0';
	rc = p4r_ignore_ensure(abs, slash + 1, NULL);
	if (rc == 0 && gitignore_abs)
		*gitignore_abs = p4r_path_join(abs, ".gitignore");
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

/* Depth-first walk of ROOT/REL collecting pointer files; symlinked folders
 * are not followed (they could lead outside the repository or loop). */
static int scan_dir(const char *root, const char *rel, struct strv *out, int depth)
{
	char *abs = *rel ? p4r_path_join(root, rel) : strdup(root);
	struct dirent *de;
	DIR *dir;
	int rc = 0;

	if (!abs)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if (depth > 64 || !(dir = opendir(abs))) {
		free(abs);
		return 0; /* unreadable folders hold nothing we track */
	}
	while (rc == 0 && (de = readdir(dir))) {
		const char *name = de->d_name;
		char *child;

		if (!strcmp(name, ".") || !strcmp(name, "..") || !strcmp(name, ".git") ||
		    !strcmp(name, ".p4reg"))
			continue;
		child = *rel ? p4r_path_join(rel, name) : strdup(name);
		if (!child) {
			rc = p4r_error_set(P4R_ERROR, "out of memory");
			break;
		}
		if (de->d_type == DT_DIR) {
			rc = scan_dir(root, child, out, depth + 1);
		} else if ((de->d_type == DT_REG || de->d_type == DT_UNKNOWN) &&
			   p4r_pointer_is_pointer_path(child)) {
			child[strlen(child) - strlen(P4R_POINTER_SUFFIX)] = '\0';
			rc = strv_push(out, child);
			child = NULL;
		}
		free(child);
	}
	closedir(dir);
	free(abs);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int p4r_worktree_list_pointers(p4r_repo *repo, char ***out, size_t *n)
{
	struct strv s = { 0 };
	int rc = scan_dir(p4r_repo_root(repo), "", &s, 0);

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
	default: return "object-missing";
	}
}

int p4r_worktree_file_oid(p4r_repo *repo, const char *rel, p4r_oid *out, bool *exists)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	char *abs = p4r_repo_abspath(repo, rel);
	p4r_stat_key key, after;
	struct stat st;
	uint64_t size;
	bool found = false;
	int rc;

	*exists = false;
	if (!abs)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if (stat(abs, &st) < 0) {
		rc = errno == ENOENT ? 0 : p4r_error_errno("cannot open '%s'", rel);
		goto done;
	}
	*exists = true;
	p4r_worktree_stat_key(&st, &key);
	if ((rc = p4r_registry_statcache_get(reg, rel, &key, out, &found)) < 0 || found)
		goto done;
	if ((rc = p4r_hash_file(out, &size, abs)) < 0)
		goto done;
	if (stat(abs, &st) == 0) {
		p4r_worktree_stat_key(&st, &after);
		if (!memcmp(&after, &key, sizeof(key)))
			rc = p4r_registry_statcache_put(reg, rel, &key, out);
	}
done:
	free(abs);
	return rc;
}

int p4r_worktree_file_state(p4r_repo *repo, const char *rel, const p4r_pointer *ptr, p4r_file_state *out)
{
	p4r_oid oid;
	bool exists;
	int rc = p4r_worktree_file_oid(repo, rel, &oid, &exists);

	if (rc < 0)
		return rc;
	if (exists && !p4r_oid_equal(&oid, &ptr->oid))
		*out = P4R_FILE_MODIFIED;
	else if (!p4r_store_has(p4r_repo_store(repo), &ptr->oid))
		*out = P4R_FILE_OBJECT_MISSING;
	else
		*out = exists ? P4R_FILE_CLEAN : P4R_FILE_MISSING;
	return 0;
}

int p4r_worktree_materialize(p4r_repo *repo, const char *rel, const p4r_oid *oid,
			     const p4r_link_type *order, size_t n, bool force, bool *already,
			     p4r_progress_fn progress, void *payload)
{
	p4r_link_type cfg_order[P4R_LINK_MAX];
	char *abs = p4r_repo_abspath(repo, rel), *slash;
	p4r_stat_key key;
	p4r_oid current;
	struct stat st;
	bool exists;
	int rc;

	if (already)
		*already = false;
	if (!abs)
		return p4r_error_set(P4R_ERROR, "out of memory");
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
	slash = strrchr(abs, '/');
	*slash = '\0';
	rc = p4r_mkdir_p(abs, 0755);
	*slash = '/';
	if (rc < 0)
		goto done;
	if ((rc = p4r_store_checkout(p4r_repo_store(repo), oid, abs, order, n, NULL, progress, payload)) < 0)
		goto done;
	if (stat(abs, &st) == 0) {
		p4r_worktree_stat_key(&st, &key);
		rc = p4r_registry_statcache_put(p4r_repo_registry(repo), rel, &key, oid);
	}
done:
	free(abs);
	return rc;
}
