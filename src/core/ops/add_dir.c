/* The folder side of p4r_add (ops/add.h): a folder is one model, a version
 * of it one manifest (docs/formats.md, "Folder manifests"). add.c runs the
 * steps; these are the ones that differ for a folder. */
#include "add_priv.h"
#include "p4reg/beneath.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/ignore.h"
#include "p4reg/objguard.h"
#include "p4reg/pointer.h"
#include "p4reg/worktree.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int p4r_add_dir_check_inside(struct run *run, const char *rel, const char *arg)
{
	p4r_registry *reg = p4r_repo_registry(run->repo);
	char *up = strdup(rel), *slash;
	p4r_version v = { 0 };
	p4r_model m = { 0 };
	int rc = 0;

	if (!up)
		return p4r_error_set(P4R_ERROR, "out of memory");
	/* only a folder model can hold a path: ask the registry for each
	 * folder above REL */
	while (rc == 0 && (slash = strrchr(up, '/'))) {
		*slash = '\0';
		if (p4r_registry_model_by_path(reg, up, &m) < 0) {
			p4r_error_clear();
			continue;
		}
		if (p4r_registry_version_latest(reg, m.name, &v) == 0 && v.kind == P4R_KIND_DIR)
			rc = p4r_error_set(P4R_EUSAGE, "'%s' is inside the folder of model '%s' ('%s'); add the "
					   "folder '%s' instead", arg, m.name, up, up);
		if (rc == 0)
			p4r_error_clear();
		p4r_version_clear(&v);
		p4r_model_clear(&m);
	}
	free(up);
	return rc;
}

/* A pointer file inside the folder: the folder holds other models. */
static int refuse_pointers(const struct item *it, const p4r_dirwalk *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		if (p4r_pointer_is_pointer_path(w->v[i].path))
			return p4r_error_set(P4R_EUSAGE, "'%s' is a directory that holds a pointer file ('%s'): "
					     "a model folder cannot hold other models", it->arg, w->v[i].path);
	return 0;
}

int p4r_add_dir_open(struct run *run, struct item *it, p4r_add_file *f)
{
	p4r_dirwalk_opts wo = { .display = f->rel, .excludes = run->opts->excludes,
				.nexcludes = run->opts->nexcludes, .read_ignore_file = true };
	struct add_dir *d = calloc(1, sizeof(*d));
	size_t i;
	int rc;

	if (!(it->folder = d))
		return p4r_error_set(P4R_ERROR, "out of memory");
	if ((d->fd = openat(it->dir, it->base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return p4r_error_errno("cannot open '%s'", it->arg);
	if ((rc = p4r_dirwalk_list(&d->walk, d->fd, &wo)) < 0 || (rc = refuse_pointers(it, &d->walk)) < 0)
		return rc;
	if (!(d->files = calloc(d->walk.n, sizeof(*d->files))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < d->walk.n; i++) {
		struct dir_file *df = &d->files[i];
		size_t sz = strlen(f->rel) + strlen(d->walk.v[i].path) + 2;

		if (!(df->rel = malloc(sz)))
			return p4r_error_set(P4R_ERROR, "out of memory");
		snprintf(df->rel, sz, "%s/%s", f->rel, d->walk.v[i].path);
		p4r_worktree_stat_key(&d->walk.v[i].st, &df->before);
		df->exec = (d->walk.v[i].st.st_mode & S_IXUSR) != 0;
	}
	return 0;
}

int p4r_add_dir_check_kind(struct run *run, const struct item *it, const char *rel)
{
	p4r_version v = { 0 };
	bool dir = it->folder != NULL;
	int rc = p4r_registry_version_latest(p4r_repo_registry(run->repo), it->model, &v);

	if (rc < 0) {
		p4r_error_clear(); /* a new model */
		return 0;
	}
	if ((v.kind == P4R_KIND_DIR) != dir)
		rc = p4r_error_set(P4R_EUSAGE, "model '%s' is a %s model; '%s' is a %s (a model cannot switch "
				   "between file and folder: use another name with -n)", it->model,
				   v.kind == P4R_KIND_DIR ? "folder" : "file", rel, dir ? "folder" : "file");
	p4r_version_clear(&v);
	return rc;
}

int p4r_add_dir_lookup(struct run *run, struct item *it, const char *rel)
{
	struct add_dir *d = it->folder;
	p4r_statcache_rows rows;
	size_t i;
	int rc;

	if ((rc = p4r_registry_statcache_under(p4r_repo_registry(run->repo), rel, &rows)) < 0)
		return rc;
	for (i = 0; i < d->walk.n; i++) {
		struct dir_file *df = &d->files[i];

		if (p4r_statcache_rows_find(&rows, df->rel, &df->before, &df->ins.oid) &&
		    p4r_store_has(p4r_repo_store(run->repo), &df->ins.oid)) {
			df->cached = true;
			df->ins.existed = true;
			df->ins.size = (uint64_t)df->before.size;
		}
	}
	p4r_statcache_rows_clear(&rows);
	return 0;
}

int p4r_add_dir_store_file(struct run *run, struct item *it, size_t j, p4r_progress_fn progress,
			   void *payload)
{
	struct dir_file *df = &it->folder->files[j];
	const char *base;
	struct stat st;
	int dir = -1, rc;

	if (df->cached)
		return 0;
	if ((rc = p4r_beneath_parent(&dir, &base, it->folder->fd, it->folder->walk.v[j].path, false)) < 0)
		return rc;
	rc = p4r_store_insert_at(p4r_repo_store(run->repo), dir, base, df->rel, run->order, run->norder,
				 &df->ins, &st, progress, payload);
	if (rc == 0 && fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		p4r_worktree_stat_key(&st, &df->after);
		df->shared = st.st_nlink > 1;
	}
	close(dir);
	return rc;
}

int p4r_add_dir_manifest(struct run *run, struct item *it)
{
	struct add_dir *d = it->folder;
	int64_t size = 0;
	size_t i;
	int rc = 0;

	for (i = 0; i < d->walk.n && rc == 0; i++)
		rc = p4r_manifest_add(&d->m, d->walk.v[i].path, &d->files[i].ins.oid,
				      (int64_t)d->files[i].ins.size, d->files[i].exec);
	if (rc == 0 && (rc = p4r_manifest_store(run->repo, &d->m, &it->ins.oid, &size)) == 0)
		it->ins.size = (uint64_t)size;
	return rc;
}

int p4r_add_dir_guard(struct run *run, struct item *it, p4r_guard_log *damage)
{
	struct add_dir *d = it->folder;
	size_t i;
	int rc = 0;

	for (i = 0; i < d->walk.n && rc == 0; i++) {
		p4r_guard_added a = { -1, NULL, d->files[i].rel, run->order, run->norder, &d->files[i].ins,
				      .in_folder = true };

		/* a new object of a file with one link: nothing to guard */
		if (!d->files[i].ins.existed && !d->files[i].shared)
			continue;
		if ((rc = p4r_beneath_parent(&a.dir, &a.base, d->fd, d->walk.v[i].path, false)) < 0)
			break;
		rc = p4r_objguard_added(run->repo, &a, damage, NULL, NULL);
		close(a.dir);
	}
	/* the guard may have stored a file again: the manifest is unchanged
	 * (same oid), but check it still is what the files say */
	return rc;
}

int p4r_add_dir_register(struct run *run, struct item *it, p4r_version_input *in, p4r_add_file *f)
{
	p4r_registry *reg = p4r_repo_registry(run->repo);
	struct add_dir *d = it->folder;
	size_t i;
	int rc = 0;

	for (i = 0; i < d->walk.n && rc == 0; i++)
		if (!p4r_store_has(p4r_repo_store(run->repo), &d->files[i].ins.oid))
			rc = p4r_error_set(P4R_ERROR, "object %.12s of '%s' left the store while it was being "
					   "added (gc?); run add again", d->files[i].ins.oid.hex, d->files[i].rel);
	in->kind = P4R_KIND_DIR;
	in->files = (int64_t)d->m.n;
	in->tree_size = p4r_manifest_total(&d->m);
	if (rc == 0)
		rc = p4r_registry_register_version(reg, in, &f->version, &f->outcome);
	if (rc == 0)
		rc = p4r_registry_manifest_put(reg, &it->ins.oid, &d->m);
	/* the manifest was just written (or compared) and synced like the files */
	if (rc == 0)
		rc = p4r_objguard_record(run->repo, &it->ins.oid, NULL);
	for (i = 0; i < d->walk.n && rc == 0; i++) {
		struct dir_file *df = &d->files[i];

		rc = p4r_objguard_record(run->repo, &df->ins.oid, &df->ins.placed);
		if (rc == 0 && !df->cached)
			rc = p4r_worktree_stat_remember(run->repo, df->rel, &df->before, &df->after, &df->ins.oid);
	}
	return rc;
}

/* REL.p4reg naming the folder version V, unless it says exactly that. */
static int write_pointer(struct run *run, const p4r_version *v, const char *rel, char **abs_out)
{
	p4r_pointer want = { .version = v->number, .oid = v->oid, .size = v->size, .dir = true,
			     .files = v->files }, have;
	size_t sz = strlen(rel) + sizeof(P4R_POINTER_SUFFIX);
	char *ptr = malloc(sz), *abs = NULL;
	const char *base;
	int dir = -1, rc;

	if (!ptr)
		return p4r_error_set(P4R_ERROR, "out of memory");
	snprintf(ptr, sz, "%s%s", rel, P4R_POINTER_SUFFIX);
	snprintf(want.model, sizeof(want.model), "%s", v->model);
	if ((rc = p4r_beneath_parent(&dir, &base, p4r_repo_root_fd(run->repo), ptr, true)) < 0)
		goto done;
	/* an identical pointer is left alone so its mtime (and git's view) stays */
	if (p4r_pointer_read_at(&have, dir, base, ptr) < 0 || strcmp(have.model, want.model) ||
	    have.version != want.version || !p4r_oid_equal(&have.oid, &want.oid) || have.size != want.size ||
	    !have.dir || have.files != want.files) {
		p4r_error_clear();
		if ((rc = p4r_pointer_write_at(&want, dir, base, ptr)) < 0)
			goto done;
	}
	if (!(abs = p4r_repo_abspath(run->repo, ptr)))
		rc = p4r_error_set(P4R_ERROR, "out of memory");
done:
	if (dir >= 0)
		close(dir);
	free(ptr);
	*abs_out = abs;
	return rc;
}

/* The "/NAME/" line in the .gitignore beside the folder REL. */
static int ignore_dir(struct run *run, const char *rel, char **abs_out)
{
	const char *slash = strrchr(rel, '/');
	char *top = slash ? strndup(rel, (size_t)(slash - rel)) : strdup("");
	char *grel = top ? (*top ? p4r_path_join(top, ".gitignore") : strdup(".gitignore")) : NULL;
	const char *base;
	int dir = -1, rc;

	*abs_out = NULL;
	if (!grel) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	if ((rc = p4r_beneath_parent(&dir, &base, p4r_repo_root_fd(run->repo), rel, true)) < 0 ||
	    (rc = p4r_ignore_ensure_dir_at(dir, base, NULL, grel)) < 0)
		goto done;
	if (!(*abs_out = p4r_repo_abspath(run->repo, grel)))
		rc = p4r_error_set(P4R_ERROR, "out of memory");
done:
	if (dir >= 0)
		close(dir);
	free(top);
	free(grel);
	return rc;
}

int p4r_add_dir_write_beside(struct run *run, const p4r_add_file *f, struct staging *s)
{
	char *ptr = NULL, *gi = NULL;
	int rc = write_pointer(run, &f->version, f->rel, &ptr);

	if (rc == 0)
		rc = ignore_dir(run, f->rel, &gi);
	s->paths[s->np++] = s->owned[s->nown++] = ptr;
	s->paths[s->np++] = s->owned[s->nown++] = gi;
	return rc;
}

void p4r_add_dir_free(struct add_dir *d)
{
	size_t i;

	if (!d)
		return;
	if (d->fd >= 0)
		close(d->fd);
	for (i = 0; d->files && i < d->walk.n; i++)
		free(d->files[i].rel);
	free(d->files);
	p4r_dirwalk_clear(&d->walk);
	p4r_manifest_clear(&d->m);
	free(d);
}
