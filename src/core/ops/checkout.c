/* p4r_checkout: put versions' bytes in the work tree, verified (see
 * ops/checkout.h); the run is shared with pull (checkout_priv.h). */
#include "p4reg/ops/checkout.h"
#include "ops/checkout_priv.h"
#include "p4reg/error.h"
#include "p4reg/lfs.h"
#include "p4reg/manifest.h"
#include "p4reg/objguard.h"
#include "p4reg/pointer.h"
#include "p4reg/ref.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the files written, for git's index ---- */

static int written_push(p4r_written *w, char *path)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 8;
		char **v = realloc(w->v, cap * sizeof(*v));

		if (!v)
			return p4r_error_set(P4R_ERROR, "out of memory");
		w->v = v;
		w->cap = cap;
	}
	w->v[w->n++] = path;
	return 0;
}

int p4r_written_take(p4r_written *w, p4r_placed *p)
{
	char *paths[2] = { p->pointer_abs, p->gitignore_abs };
	int rc = 0;
	size_t i;

	p->pointer_abs = p->gitignore_abs = NULL;
	for (i = 0; i < 2; i++) {
		if (paths[i] && rc == 0 && (rc = written_push(w, paths[i])) == 0)
			paths[i] = NULL;
		free(paths[i]);
	}
	return rc;
}

int p4r_written_stage(p4r_written *w, p4r_git *git)
{
	char msg[600];
	int rc;

	if (!git || w->n == 0)
		return 0;
	if ((rc = p4r_git_stage(git, (const char *const *)w->v, w->n)) == 0)
		return 0;
	/* the files are written: say what is left undone */
	snprintf(msg, sizeof(msg), "%s", p4r_error_message());
	return p4r_error_set(rc, "the files are checked out, but not staged in git: %s", msg);
}

void p4r_written_free(p4r_written *w)
{
	p4r_strv_free(w->v, w->n);
	memset(w, 0, sizeof(*w));
}

/* ---- report helpers ---- */

void p4r_op_step_progress(uint64_t done, uint64_t total, void *payload)
{
	const p4r_op_step *s = payload;

	p4r_op_progress(s->report, s->label, done, total);
}

static void guard_repaired(const p4r_guard_event *ev, void *payload)
{
	p4r_op_repaired(payload, ev);
}

/* ---- targets ---- */

/* One file to write. */
struct target {
	char *rel;
	p4r_pointer want;       /* what the pointer must say afterwards */
	bool lfs;               /* a Git LFS path: no pointer file to write */
	bool stage;             /* a Git LFS path checked out by reference */
	char *moved_to;         /* a pointer left behind by a move: where the
				 * model is now (skipped); NULL otherwise */
	p4r_worktree_tee *tee;  /* written by its download (ctx.tees), or NULL */
};

struct targets {
	struct target *v;
	size_t n, cap;
};

/* One run: the plan, and what it opened. */
struct ctx {
	p4r_repo *repo;
	const p4r_checkout_plan *plan;
	const p4r_op_report *report;
	p4r_git *git;           /* NULL outside a git work tree */
	char *lfs_dir;          /* .git/lfs, NULL outside git */
	p4r_written written;    /* pointers and .gitignore files, for git */
	p4r_checkout_result *out;
	p4r_worktree_tee *tees; /* work files the downloads write too (copy
				 * mode), at most one per object */
	size_t ntees;
	p4r_remote_tee tee;     /* the downloads' hook over TEES */
};

static void target_clear(struct target *t)
{
	free(t->rel);
	free(t->moved_to);
	memset(t, 0, sizeof(*t));
}

static int targets_push(struct targets *ts, struct target *t)
{
	if (ts->n == ts->cap) {
		size_t cap = ts->cap ? ts->cap * 2 : 8;
		struct target *v = realloc(ts->v, cap * sizeof(*v));

		if (!v)
			return p4r_error_set(P4R_ERROR, "out of memory");
		ts->v = v;
		ts->cap = cap;
	}
	ts->v[ts->n++] = *t;
	memset(t, 0, sizeof(*t));
	return 0;
}

static void targets_free(struct targets *ts)
{
	size_t i;

	for (i = 0; i < ts->n; i++)
		target_clear(&ts->v[i]);
	free(ts->v);
}

static void want_from_version(p4r_pointer *p, const p4r_version *v)
{
	snprintf(p->model, sizeof(p->model), "%s", v->model);
	p->version = v->number;
	p->oid = v->oid;
	p->size = v->size;
	p->dir = v->kind == P4R_KIND_DIR;
	p->files = p->dir ? v->files : 0;
}

/* The version T names, as the registry and the pointer writer take it. */
static void version_of(p4r_version *v, const struct target *t)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->model, sizeof(v->model), "%s", t->want.model);
	v->number = t->want.version;
	v->oid = t->want.oid;
	v->size = t->want.size;
	v->kind = t->want.dir ? P4R_KIND_DIR : P4R_KIND_FILE;
	v->files = t->want.files;
}

/* A registry reference: the model's bound path, pointer updated (for a
 * Git LFS path, the pointer staged in the index, as `git checkout REV --
 * PATH` updates the index). */
static int target_from_ref(struct ctx *c, const char *arg, struct target *t)
{
	p4r_version v = { 0 };
	p4r_model m = { 0 };
	p4r_pointer ignored;
	bool found;
	int rc;

	if ((rc = p4r_ref_resolve(c->repo, arg, &v)) < 0)
		return rc;
	if ((rc = p4r_registry_model_get(p4r_repo_registry(c->repo), v.model, &m)) == 0) {
		t->rel = strdup(m.path);
		want_from_version(&t->want, &v);
		/* a folder is never a Git LFS path */
		if (!t->want.dir)
			rc = p4r_lfs_expected(c->repo, c->git, m.path, &t->lfs, &ignored, &found);
		t->stage = t->lfs;
	}
	p4r_model_clear(&m);
	p4r_version_clear(&v);
	return rc;
}

/* A path with a pointer: the pointer's version; a pointer whose model is
 * bound elsewhere now (a move fetched from a remote) is skipped. */
static int target_from_path(p4r_repo *repo, const char *rel, struct target *t)
{
	char to[PATH_MAX];
	bool moved = false;
	int rc = p4r_worktree_read_pointer(repo, rel, &t->want);

	/* the pointer came with the clone: only the registry's word counts */
	if (rc == 0)
		rc = p4r_worktree_pointer_check(repo, rel, &t->want);
	if (rc == 0)
		rc = p4r_worktree_pointer_moved(repo, rel, &t->want, to, sizeof(to), &moved);
	if (rc == 0 && moved && !(t->moved_to = strdup(to)))
		rc = p4r_error_set(P4R_ERROR, "out of memory");
	if (rc == 0 && !(t->rel = strdup(rel)))
		rc = p4r_error_set(P4R_ERROR, "out of memory");
	return rc;
}

/* A Git LFS path: the version its staged pointer (or model) names. */
static int target_from_lfs(struct ctx *c, const char *rel, struct target *t, bool *is_lfs)
{
	bool found = false;
	int rc = p4r_lfs_expected(c->repo, c->git, rel, is_lfs, &t->want, &found);

	if (rc < 0 || !*is_lfs)
		return rc;
	if (!found)
		return p4r_error_set(P4R_ENOTFOUND, "'%s' is tracked by Git LFS but neither the git "
				     "index nor the registry names its bytes", rel);
	t->lfs = true;
	if (!(t->rel = strdup(rel)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	return 0;
}

/* *REL gets the repository path of ARG when a pointer exists for it. */
static bool find_pointer(p4r_repo *repo, const char *arg, char **rel)
{
	p4r_pointer ptr;
	bool yes;

	*rel = NULL;
	if (p4r_repo_relpath(repo, arg, rel) < 0) {
		p4r_error_clear();
		return false;
	}
	if (p4r_pointer_is_pointer_path(*rel))
		(*rel)[strlen(*rel) - strlen(P4R_POINTER_SUFFIX)] = '\0';
	while (**rel && (*rel)[strlen(*rel) - 1] == '/') /* a folder: "models/minilm/" */
		(*rel)[strlen(*rel) - 1] = '\0';
	/* any pointer that exists, readable or not: reading it reports why */
	yes = p4r_worktree_read_pointer(repo, *rel, &ptr) != P4R_ENOTFOUND;
	p4r_error_clear();
	return yes;
}

static int target_from_arg(struct ctx *c, const char *arg, struct target *t)
{
	char *rel = NULL;
	bool lfs = false;
	int rc;

	if (strchr(arg, '@'))
		return target_from_ref(c, arg, t);
	if (find_pointer(c->repo, arg, &rel))
		rc = target_from_path(c->repo, rel, t);
	else if ((rc = rel ? target_from_lfs(c, rel, t, &lfs) : 0) < 0 || lfs)
		; /* a Git LFS path, or an error finding out */
	else if (p4r_model_name_valid(arg))
		rc = target_from_ref(c, arg, t);
	else
		rc = p4r_error_set(P4R_ENOTFOUND, "'%s' has no pointer and names no model", arg);
	free(rel);
	return rc;
}

/* Every registered model's path that is a Git LFS path (no pointer file). */
static int collect_lfs_models(struct ctx *c, struct targets *ts)
{
	p4r_model *models = NULL;
	size_t n = 0, i;
	int rc;

	if (!c->git)
		return 0;
	if ((rc = p4r_registry_model_list(p4r_repo_registry(c->repo), &models, &n)) < 0)
		return rc;
	for (i = 0; rc == 0 && i < n; i++) {
		struct target t = { 0 };
		bool lfs = false;

		if ((rc = target_from_lfs(c, models[i].path, &t, &lfs)) == 0 && lfs)
			rc = targets_push(ts, &t);
		target_clear(&t);
	}
	p4r_model_array_free(models, n);
	return rc;
}

static int collect(struct ctx *c, struct targets *ts)
{
	const p4r_checkout_opts *o = c->plan->opts;
	bool all = o->nargs == 0;
	char **rels = NULL;
	size_t n = 0, i;
	int rc = 0;

	if (all && (rc = p4r_worktree_list_pointers(c->repo, &rels, &n)) < 0)
		return rc;
	for (i = 0; rc == 0 && i < (all ? n : o->nargs); i++) {
		struct target t = { 0 };

		rc = all ? target_from_path(c->repo, rels[i], &t) : target_from_arg(c, o->args[i], &t);
		if (rc == 0 && !t.rel)
			rc = p4r_error_set(P4R_ERROR, "out of memory");
		if (rc == 0)
			rc = targets_push(ts, &t);
		target_clear(&t);
	}
	p4r_strv_free(rels, n);
	if (rc == 0 && all && c->plan->lfs_paths)
		rc = collect_lfs_models(c, ts);
	return rc;
}

/* ---- objects ---- */

/* Whether T needs an object from p4reg's store or a remote: a Git LFS
 * path without a version is git-lfs's to fetch, one whose object git-lfs
 * has is imported from there, and a pointer left behind is not checked
 * out. */
static bool needs_object(const struct ctx *c, const struct target *t)
{
	return t->want.version && !t->moved_to &&
	       !(t->lfs && c->lfs_dir && !p4r_store_has(p4r_repo_store(c->repo), &t->want.oid) &&
		 p4r_lfs_has(c->lfs_dir, &t->want.oid));
}

/* ---- work files written by their download (copy mode, remote.h) ---- */

static p4r_worktree_tee *tee_find(const struct ctx *c, const p4r_oid *oid)
{
	size_t i;

	for (i = 0; i < c->ntees; i++)
		if (p4r_oid_equal(&c->tees[i].oid, oid))
			return &c->tees[i];
	return NULL;
}

/* p4r_remote_tee's open: a work file beside its destination for OID. One
 * that cannot be made is no reason to stop the download: the checkout
 * copies the object then, and says what is wrong with the folder. */
static int tee_open(void *payload, const p4r_oid *oid, int store_fd, int *fd)
{
	p4r_worktree_tee *t = tee_find(payload, oid);

	*fd = -1;
	if (t && p4r_worktree_tee_open(t, store_fd, fd) < 0)
		p4r_error_clear();
	return 0;
}

/* p4r_remote_tee's close: verified, it is made durable; else dropped. */
static int tee_close(void *payload, const p4r_oid *oid, int fd, bool ok)
{
	p4r_worktree_tee *t = tee_find(payload, oid);

	if (t)
		return p4r_worktree_tee_close(t, fd, ok);
	close(fd);
	return 0;
}

/* The files whose object the store lacks and whose checkout copies it:
 * their download writes them too, from the same read, so the bytes are
 * read once and the object is never read back (one file per object; any
 * other file of the same bytes is copied from the store). A file that
 * does not qualify, or fails to, is checked out as before. */
static int tees_prepare(struct ctx *c, struct targets *ts)
{
	const p4r_checkout_opts *o = c->plan->opts;
	p4r_worktree_tee *e;
	bool wanted;
	size_t i;

	if (!(c->tees = calloc(ts->n + 1, sizeof(*c->tees))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < ts->n; i++) {
		struct target *t = &ts->v[i];

		if (t->want.dir || !needs_object(c, t) || tee_find(c, &t->want.oid) ||
		    p4r_store_has(p4r_repo_store(c->repo), &t->want.oid))
			continue;
		e = &c->tees[c->ntees];
		if (p4r_worktree_tee_prepare(c->repo, t->rel, &t->want.oid, o->order, o->norder,
					     o->force, e, &wanted) < 0 || !wanted) {
			p4r_error_clear(); /* its checkout says what is wrong */
			p4r_worktree_tee_clear(e);
			continue;
		}
		t->tee = e;
		c->ntees++;
	}
	c->tee = (p4r_remote_tee){ .open = tee_open, .close = tee_close, .payload = c };
	return 0;
}

/* Removes the work files no checkout renamed (a failed run). */
static void tees_free(struct ctx *c)
{
	size_t i;

	for (i = 0; i < c->ntees; i++)
		p4r_worktree_tee_clear(&c->tees[i]);
	free(c->tees);
	c->tees = NULL;
	c->ntees = 0;
}

/* pull without arguments: every object from the remote, through the guard. */
static int fetch_from_remote(struct ctx *c, const p4r_version *need, size_t n)
{
	p4r_op_step step = { c->report, "pull" };
	p4r_sync_progress prog = { p4r_op_step_progress, &step };
	p4r_oid *oids = calloc(n + 1, sizeof(*oids));
	int64_t *sizes = calloc(n + 1, sizeof(*sizes));
	size_t i;
	int rc;

	if (!oids || !sizes) {
		free(oids);
		free(sizes);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	for (i = 0; i < n; i++) {
		oids[i] = need[i].oid;
		sizes[i] = need[i].size;
	}
	rc = p4r_objguard_fetch(c->repo, c->plan->remote, oids, sizes, n, &prog, c->plan->got,
				guard_repaired, (void *)c->report);
	free(oids);
	free(sizes);
	return rc;
}

/* The N entries of M as oids and sizes, appended at *OIDS and *SIZES (grown). */
static int append_files(const p4r_manifest *m, p4r_oid **oids, int64_t **sizes, size_t *n)
{
	p4r_oid *o = realloc(*oids, (*n + m->n + 1) * sizeof(*o));
	int64_t *s = o ? realloc(*sizes, (*n + m->n + 1) * sizeof(*s)) : NULL;
	size_t i;

	if (o)
		*oids = o;
	if (!s)
		return p4r_error_set(P4R_ERROR, "out of memory");
	*sizes = s;
	for (i = 0; i < m->n; i++, (*n)++) {
		o[*n] = m->v[i].oid;
		s[*n] = m->v[i].size;
	}
	return 0;
}

/* pull without arguments, after the versions' objects: the files of the
 * folder versions among NEED, from the manifests just fetched. */
static int fetch_dir_files(struct ctx *c, const p4r_version *need, size_t n)
{
	p4r_op_step step = { c->report, "pull" };
	p4r_sync_progress prog = { p4r_op_step_progress, &step };
	char what[P4R_MODEL_NAME_MAX + 64];
	p4r_oid *oids = NULL;
	int64_t *sizes = NULL;
	size_t i, nfiles = 0;
	int rc = 0;

	for (i = 0; rc == 0 && i < n; i++) {
		p4r_manifest m = { 0 };

		if (need[i].kind != P4R_KIND_DIR)
			continue;
		snprintf(what, sizeof(what), "manifest of %s@%lld", need[i].model, (long long)need[i].number);
		if ((rc = p4r_manifest_load(c->repo, &need[i].oid, what, &m)) == 0)
			rc = append_files(&m, &oids, &sizes, &nfiles);
		p4r_manifest_clear(&m);
	}
	if (rc == 0 && nfiles)
		rc = p4r_objguard_fetch(c->repo, c->plan->remote, oids, sizes, nfiles, &prog, c->plan->got,
					guard_repaired, (void *)c->report);
	free(oids);
	free(sizes);
	return rc;
}

/* Makes sure the store has the right bytes of every target before any
 * file changes: objects it has pass the guard (a damaged one is repaired
 * from the remote, or the run stops naming its version, exit 4), and
 * those no local store has are downloaded in one parallel, verified pass. */
static int fetch_missing(struct ctx *c, const struct targets *ts)
{
	p4r_op_step step = { c->report, "downloading" };
	p4r_sync_progress prog = { p4r_op_step_progress, &step };
	p4r_ondemand fetch = c->plan->fetch;
	p4r_version *need = calloc(ts->n + 1, sizeof(*need));
	size_t i, n = 0;
	int rc;

	if (!need)
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < ts->n; i++) {
		if (!needs_object(c, &ts->v[i]))
			continue;
		version_of(&need[n++], &ts->v[i]);
	}
	if (c->plan->remote) {
		c->plan->remote->tee = c->ntees ? &c->tee : NULL;
		if ((rc = fetch_from_remote(c, need, n)) == 0)
			rc = fetch_dir_files(c, need, n);
		c->plan->remote->tee = NULL;
	} else {
		fetch.progress = &prog;
		fetch.on_damage = guard_repaired;
		fetch.damage_payload = (void *)c->report;
		fetch.tee = c->ntees ? &c->tee : NULL;
		rc = p4r_ondemand_fetch(c->repo, &fetch, need, n, c->plan->got);
	}
	free(need);
	return rc;
}

/* ---- writing ---- */

/* Stages T's Git LFS pointer (core.autostage) and places its object in
 * .git/lfs/objects, so git sees the version checked out. */
static int stage_lfs(struct ctx *c, struct target *t)
{
	p4r_git_lfs_entry e = { .oid = t->want.oid, .size = (uint64_t)t->want.size };
	char *abs;
	int rc;

	if (!c->plan->stage)
		return 0;
	if ((rc = p4r_lfs_mirror(c->repo, c->lfs_dir, &t->want.oid)) < 0)
		return rc;
	if (!(abs = p4r_repo_abspath(c->repo, t->rel)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	e.abs_path = abs;
	rc = p4r_git_stage_lfs(c->git, NULL, 0, &e, 1);
	free(abs);
	return rc;
}

/* Appends T's row to the result; takes T's strings. */
static int add_row(p4r_checkout_result *out, struct target *t, p4r_checkout_action action)
{
	p4r_checkout_row *row;

	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 8;
		p4r_checkout_row *v = realloc(out->rows, cap * sizeof(*v));

		if (!v)
			return p4r_error_set(P4R_ERROR, "out of memory");
		out->rows = v;
		out->cap = cap;
	}
	row = &out->rows[out->n++];
	memset(row, 0, sizeof(*row));
	row->path = t->rel;
	snprintf(row->model, sizeof(row->model), "%s", t->want.version ? t->want.model : "");
	row->version = t->want.version;
	row->oid = t->want.oid;
	row->action = action;
	row->lfs = t->lfs;
	row->moved_to = t->moved_to;
	t->rel = t->moved_to = NULL;
	return 0;
}

/* The object of T in p4reg's store: one git-lfs fetched is taken in,
 * verified. */
static int object_ready(struct ctx *c, struct target *t)
{
	p4r_store *store = p4r_repo_store(c->repo);
	int rc;

	if (!p4r_store_has(store, &t->want.oid) && t->lfs && c->lfs_dir &&
	    p4r_lfs_has(c->lfs_dir, &t->want.oid) &&
	    (rc = p4r_lfs_import(store, c->lfs_dir, &t->want.oid)) < 0)
		return rc;
	if (!p4r_store_has(store, &t->want.oid))
		return p4r_error_set(P4R_ENOTFOUND, "object %.12s of '%s' is in no store: git-lfs does "
				     "not have it either; run 'git lfs fetch' or 'p4reg pull %s'",
				     t->want.oid.hex, t->rel, t->rel);
	return 0;
}

/* T's folder: the row counts, or on a refusal the foreign files in OUT. */
static int checkout_folder(struct ctx *c, struct target *t)
{
	p4r_dir_result res = { 0 };
	p4r_placed placed = { 0 };
	p4r_checkout_row *row;
	p4r_version v;
	int rc;

	version_of(&v, t);
	rc = p4r_checkout_dir(c->repo, &v, t->rel, c->plan->opts, c->report, &res, &placed);
	if (rc == 0)
		rc = p4r_written_take(&c->written, &placed);
	if (rc == 0)
		rc = add_row(c->out, t, res.written || res.removed ? P4R_CHECKOUT_WRITTEN
								     : P4R_CHECKOUT_UNCHANGED);
	if (rc == 0) {
		row = &c->out->rows[c->out->n - 1];
		row->dir = true;
		row->files = v.files;
		row->written = res.written;
		row->unchanged = res.unchanged;
		row->removed = res.removed;
	} else if (res.nforeign && !c->out->foreign) {
		c->out->foreign = res.foreign;
		c->out->nforeign = res.nforeign;
		res.foreign = NULL;
		res.nforeign = 0;
	}
	p4r_placed_clear(&placed);
	p4r_dir_result_clear(&res);
	return rc;
}

static int checkout_one(struct ctx *c, struct target *t)
{
	const p4r_checkout_opts *o = c->plan->opts;
	p4r_op_step step = { c->report, t->rel };
	p4r_version v = { .number = t->want.version, .oid = t->want.oid, .size = t->want.size };
	p4r_placed placed;
	bool already = false;
	int rc;

	if (t->moved_to)
		return add_row(c->out, t, P4R_CHECKOUT_SKIPPED);
	if (t->want.dir)
		return checkout_folder(c, t);
	if ((rc = object_ready(c, t)) < 0)
		return rc;
	if (t->tee && t->tee->ready)
		rc = p4r_worktree_materialize_tee(c->repo, t->tee, o->force, &already);
	else
		rc = p4r_worktree_materialize(c->repo, t->rel, &t->want.oid, o->order, o->norder,
					      o->force, &already, p4r_op_step_progress, &step);
	if (rc < 0)
		return rc;
	snprintf(v.model, sizeof(v.model), "%s", t->want.model);
	/* the pointer and its .gitignore line, as add leaves them: a model
	 * checked out at a path new here (it moved) is not taken by git */
	if (!t->lfs && ((rc = p4r_worktree_place_pointer(c->repo, &v, t->rel, &placed)) < 0 ||
			(rc = p4r_written_take(&c->written, &placed)) < 0))
		return rc;
	if (t->lfs && t->stage && (rc = stage_lfs(c, t)) < 0)
		return rc;
	return add_row(c->out, t, already ? P4R_CHECKOUT_UNCHANGED : P4R_CHECKOUT_WRITTEN);
}

static int run_targets(struct ctx *c)
{
	struct targets ts = { 0 };
	size_t i;
	int rc;

	/* pull warns once it knows the pointers are sound, checkout first */
	if (!c->plan->remote)
		p4r_objguard_warn_link_hazard(c->repo, c->plan->opts->order, c->plan->opts->norder,
					      c->report);
	rc = collect(c, &ts);
	if (rc == 0 && c->plan->remote)
		p4r_objguard_warn_link_hazard(c->repo, NULL, 0, c->report);
	if (rc == 0)
		rc = tees_prepare(c, &ts);
	if (rc == 0)
		rc = fetch_missing(c, &ts);
	for (i = 0; rc == 0 && i < ts.n; i++)
		rc = checkout_one(c, &ts.v[i]);
	tees_free(c);
	/* one index write for every pointer and .gitignore written */
	if (rc == 0 && c->plan->stage)
		rc = p4r_written_stage(&c->written, c->git);
	p4r_written_free(&c->written);
	targets_free(&ts);
	return rc;
}

int p4r_checkout_run(p4r_repo *repo, const p4r_checkout_plan *plan, const p4r_op_report *report,
		     p4r_checkout_result *out)
{
	struct ctx c = { .repo = repo, .plan = plan, .report = report, .out = out };
	int rc;

	if ((rc = p4r_git_open(&c.git, p4r_repo_root(repo))) == 0 && c.git &&
	    !(c.lfs_dir = p4r_git_lfs_dir(c.git)))
		rc = p4r_error_set(P4R_ERROR, "out of memory");
	if (rc == 0)
		rc = run_targets(&c);
	p4r_git_free(c.git);
	free(c.lfs_dir);
	return rc;
}

int p4r_checkout(p4r_repo *repo, const p4r_checkout_opts *opts, const p4r_op_report *report,
		 p4r_checkout_result *out)
{
	p4r_sync_result got = { 0 };
	p4r_checkout_plan plan = { .opts = opts, .lfs_paths = true, .got = &got };
	int rc;

	plan.fetch.remote = opts->remote;
	plan.fetch.offline = opts->offline;
	if ((rc = p4r_ondemand_config(repo, &plan.fetch)) < 0 ||
	    (rc = p4r_repo_autostage(repo, opts->no_stage, &plan.stage)) < 0)
		return rc;
	rc = p4r_checkout_run(repo, &plan, report, out);
	out->objects_received = got.objects_received;
	out->bytes_received = got.bytes_received;
	out->objects_present = got.objects_present;
	p4r_sync_result_clear(&got);
	return rc;
}

void p4r_checkout_result_free(p4r_checkout_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++) {
		free(r->rows[i].path);
		free(r->rows[i].moved_to);
	}
	free(r->rows);
	p4r_strv_free(r->foreign, r->nforeign);
	memset(r, 0, sizeof(*r));
}
