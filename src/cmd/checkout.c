/* p4reg checkout: put versions' bytes in the work tree, verified. */
#include "cmd.h"
#include "p4reg/gitio.h"
#include "p4reg/lfs.h"
#include "p4reg/objguard.h"
#include "p4reg/ondemand.h"
#include "p4reg/ref.h"
#include "p4reg/worktree.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char cmd_checkout_usage[] =
	"usage: p4reg checkout [--force] [--link TYPE] [--no-stage] [REF|PATH...]\n"
	"\n"
	"Writes each version's bytes to its path, verified against its oid. A path\n"
	"takes the version its pointer names; a reference (name@3, name@production,\n"
	"name@latest) checks out that version at the model's path and updates the\n"
	"pointer (for a Git LFS path: its Git LFS pointer in the git index). Like\n"
	"add, it keeps the .gitignore line beside each file, and stages the pointer\n"
	"and .gitignore files it wrote in git (config core.autostage). With no\n"
	"argument every pointer in the repository is checked out. A file whose\n"
	"bytes are in no version is never overwritten without --force. A pointer\n"
	"left at a model's old path by a move fetched from a remote is skipped\n"
	"with a note ('p4reg mv OLD NEW' finishes the move here).\n"
	"A path git sends to Git LFS (see 'p4reg track') has no pointer file: it\n"
	"takes the Git LFS pointer staged in the git index (else its model's latest\n"
	"version), from .p4reg/objects or .git/lfs/objects; with no argument every\n"
	"registered LFS path is checked out too.\n"
	"A version whose bytes are not in the local store (a fresh clone) is\n"
	"downloaded from the remote first, verified, before any file changes.\n"
	"An object whose stat moved since p4reg stored it (a hard-linked file\n"
	"written in place) is re-hashed first; wrong bytes are quarantined and\n"
	"fetched again from the remote, or the command exits 4 naming the version.\n"
	"\n"
	"  -f, --force         overwrite files whose bytes are not in the store\n"
	"      --link TYPE     copy, reflink or hardlink (default: config core.cacheType)\n"
	"      --no-stage      do not stage pointers, .gitignore files and Git LFS pointers\n"
	"  -r, --remote NAME   download missing objects from NAME (default: core.remote)\n"
	"      --offline       download nothing (also: config core.offline)\n";

enum { OPT_FORCE = 1, OPT_LINK, OPT_REMOTE, OPT_OFFLINE, OPT_NO_STAGE };

static const p4r_option options[] = {
	{ "force", 'f', false, OPT_FORCE },
	{ "link", 0, true, OPT_LINK },
	{ "remote", 'r', true, OPT_REMOTE },
	{ "offline", 0, false, OPT_OFFLINE },
	{ "no-stage", 0, false, OPT_NO_STAGE },
	{ NULL, 0, false, 0 },
};

/* One file to write. */
struct target {
	char *rel;
	p4r_pointer want;       /* what the pointer must say afterwards */
	bool lfs;               /* a Git LFS path: no pointer file to write */
	bool stage;             /* a Git LFS path checked out by reference */
	char *moved_to;         /* a pointer left behind by a move: where the
				 * model is now (skipped); NULL otherwise */
};

struct ctx {
	p4r_cli *cli;
	p4r_repo *repo;
	bool force;
	bool stage;             /* core.autostage and no --no-stage */
	p4r_link_type order[P4R_LINK_MAX];
	size_t norder;          /* 0: configured order */
	cJSON *results;
	p4r_ondemand fetch;     /* where missing objects come from */
	p4r_sync_result *got;   /* nullable: counts what was downloaded */
	p4r_git *git;           /* NULL outside a git work tree */
	char *lfs_dir;          /* .git/lfs, NULL outside git */
	cmd_written written;    /* pointers and .gitignore files, for git */
};

int cmd_written_take(cmd_written *w, p4r_placed *p)
{
	char *paths[2] = { p->pointer_abs, p->gitignore_abs };
	size_t i;

	p->pointer_abs = p->gitignore_abs = NULL;
	for (i = 0; i < 2; i++) {
		if (!paths[i])
			continue;
		if (w->n == w->cap) {
			size_t cap = w->cap ? w->cap * 2 : 8;
			char **v = realloc(w->v, cap * sizeof(*v));

			if (!v) {
				free(paths[0]);
				free(paths[1]);
				return p4r_error_set(P4R_ERROR, "out of memory");
			}
			w->v = v;
			w->cap = cap;
		}
		w->v[w->n++] = paths[i];
		paths[i] = NULL;
	}
	return 0;
}

int cmd_written_stage(cmd_written *w, p4r_git *git)
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

void cmd_written_free(cmd_written *w)
{
	p4r_strv_free(w->v, w->n);
	memset(w, 0, sizeof(*w));
}

void cmd_checkout_moved(p4r_cli *cli, cJSON *results, const char *rel, const p4r_pointer *ptr,
			const char *to)
{
	cJSON *o;

	if (results) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "file", rel);
		cJSON_AddStringToObject(o, "model", ptr->model);
		cJSON_AddNumberToObject(o, "version", (double)ptr->version);
		cJSON_AddStringToObject(o, "oid", ptr->oid.hex);
		cJSON_AddStringToObject(o, "action", "skipped");
		cJSON_AddStringToObject(o, "to", to);
		cJSON_AddItemToArray(results, o);
		return;
	}
	cmd_note(cli, "note: skipped %s, a pointer left behind: model '%s' is now at %s; "
		 "'p4reg mv %s %s' finishes the move here", rel, ptr->model, to, rel, to);
}

static void want_from_version(p4r_pointer *p, const p4r_version *v)
{
	snprintf(p->model, sizeof(p->model), "%s", v->model);
	p->version = v->number;
	p->oid = v->oid;
	p->size = v->size;
}

/* A registry reference: the model's bound path, pointer updated (for a
 * Git LFS path, the pointer staged in the index, as `git checkout REV --
 * PATH` updates the index). */
static int target_from_ref(struct ctx *c, const char *arg, struct target *t)
{
	p4r_repo *repo = c->repo;
	p4r_version v = { 0 };
	p4r_model m = { 0 };
	p4r_pointer ignored;
	bool found;
	int rc;

	if ((rc = p4r_ref_resolve(repo, arg, &v)) < 0)
		return rc;
	if ((rc = p4r_registry_model_get(p4r_repo_registry(repo), v.model, &m)) == 0) {
		t->rel = strdup(m.path);
		want_from_version(&t->want, &v);
		rc = p4r_lfs_expected(repo, c->git, m.path, &t->lfs, &ignored, &found);
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
	/* any pointer that exists, readable or not: reading it reports why */
	yes = p4r_worktree_read_pointer(repo, *rel, &ptr) != P4R_ENOTFOUND;
	p4r_error_clear();
	return yes;
}

static int target_from_arg(struct ctx *c, const char *arg, struct target *t)
{
	p4r_repo *repo = c->repo;
	char *rel = NULL;
	bool lfs = false;
	int rc;

	if (strchr(arg, '@'))
		return target_from_ref(c, arg, t);
	if (find_pointer(repo, arg, &rel))
		rc = target_from_path(repo, rel, t);
	else if ((rc = rel ? target_from_lfs(c, rel, t, &lfs) : 0) < 0 || lfs)
		; /* a Git LFS path, or an error finding out */
	else if (p4r_model_name_valid(arg))
		rc = target_from_ref(c, arg, t);
	else
		rc = p4r_error_set(P4R_ENOTFOUND, "'%s' has no pointer and names no model", arg);
	free(rel);
	return rc;
}

/* Stages T's Git LFS pointer (core.autostage) and places its object in
 * .git/lfs/objects, so git sees the version checked out. */
static int stage_lfs(struct ctx *c, struct target *t)
{
	p4r_git_lfs_entry e = { .oid = t->want.oid, .size = (uint64_t)t->want.size };
	char *abs;
	int rc;

	if (!c->stage)
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

static int checkout_one(struct ctx *c, struct target *t)
{
	cmd_progress progress = { .cli = c->cli, .label = t->rel };
	p4r_version v = { .number = t->want.version, .oid = t->want.oid, .size = t->want.size };
	p4r_placed placed;
	bool already = false;
	cJSON *o;
	int rc;

	if (t->moved_to) {
		cmd_checkout_moved(c->cli, c->cli->json ? c->results : NULL, t->rel, &t->want, t->moved_to);
		return 0;
	}
	/* an object git-lfs fetched is taken into the store, verified */
	if (!p4r_store_has(p4r_repo_store(c->repo), &t->want.oid) && t->lfs && c->lfs_dir &&
	    p4r_lfs_has(c->lfs_dir, &t->want.oid) &&
	    (rc = p4r_lfs_import(p4r_repo_store(c->repo), c->lfs_dir, &t->want.oid)) < 0)
		return rc;
	if (!p4r_store_has(p4r_repo_store(c->repo), &t->want.oid))
		return p4r_error_set(P4R_ENOTFOUND, "object %.12s of '%s' is in no store: git-lfs does "
				     "not have it either; run 'git lfs fetch' or 'p4reg pull %s'",
				     t->want.oid.hex, t->rel, t->rel);
	rc = p4r_worktree_materialize(c->repo, t->rel, &t->want.oid, c->order, c->norder, c->force,
				      &already, cmd_progress_update, &progress);
	cmd_progress_done(&progress);
	if (rc < 0)
		return rc;
	snprintf(v.model, sizeof(v.model), "%s", t->want.model);
	/* the pointer and its .gitignore line, as add leaves them: a model
	 * checked out at a path new here (it moved) is not taken by git */
	if (!t->lfs && ((rc = p4r_worktree_place_pointer(c->repo, &v, t->rel, &placed)) < 0 ||
			(rc = cmd_written_take(&c->written, &placed)) < 0))
		return rc;
	if (t->lfs && t->stage && (rc = stage_lfs(c, t)) < 0)
		return rc;
	if (c->cli->json) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "file", t->rel);
		if (t->want.version) {
			cJSON_AddStringToObject(o, "model", t->want.model);
			cJSON_AddNumberToObject(o, "version", (double)t->want.version);
		} else {
			cJSON_AddNullToObject(o, "model");
			cJSON_AddNullToObject(o, "version");
		}
		cJSON_AddStringToObject(o, "oid", t->want.oid.hex);
		cJSON_AddStringToObject(o, "action", already ? "unchanged" : "written");
		if (t->lfs)
			cJSON_AddBoolToObject(o, "lfs", true);
		cJSON_AddItemToArray(c->results, o);
	} else if (!c->cli->quiet && !t->want.version) {
		printf("%s %s (Git LFS %.12s)\n", already ? "up to date" : "checked out", p4r_escape(t->rel),
		       t->want.oid.hex);
	} else if (!c->cli->quiet) {
		printf("%s %s (%s@%lld)\n", already ? "up to date" : "checked out", p4r_escape(t->rel),
		       t->want.model, (long long)t->want.version);
	}
	return 0;
}

struct targets {
	struct target *v;
	size_t n, cap;
};

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

	for (i = 0; i < ts->n; i++) {
		free(ts->v[i].rel);
		free(ts->v[i].moved_to);
	}
	free(ts->v);
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
		free(t.rel);
		free(t.moved_to);
	}
	p4r_model_array_free(models, n);
	return rc;
}

static int collect(struct ctx *c, char **args, size_t nargs, bool all, struct targets *ts)
{
	char **rels = NULL;
	size_t n = 0, i;
	int rc = 0;

	if (all && (rc = p4r_worktree_list_pointers(c->repo, &rels, &n)) < 0)
		return rc;
	for (i = 0; rc == 0 && i < (all ? n : nargs); i++) {
		struct target t = { 0 };

		rc = all ? target_from_path(c->repo, rels[i], &t) : target_from_arg(c, args[i], &t);
		if (rc == 0 && !t.rel)
			rc = p4r_error_set(P4R_ERROR, "out of memory");
		if (rc == 0)
			rc = targets_push(ts, &t);
		free(t.rel);
		free(t.moved_to);
	}
	p4r_strv_free(rels, n);
	if (rc == 0 && all)
		rc = collect_lfs_models(c, ts);
	return rc;
}

/* Makes sure the store has the right bytes of every target before any
 * file changes: objects it has pass the guard (a damaged one is repaired
 * from the remote, or the command stops naming its version, exit 4), and
 * those no local store has are downloaded in one parallel, verified pass. */
static int fetch_missing(struct ctx *c, const struct targets *ts)
{
	cmd_progress progress = { .cli = c->cli, .label = "downloading" };
	p4r_sync_progress prog = { cmd_progress_update, &progress };
	p4r_version *need = calloc(ts->n + 1, sizeof(*need));
	size_t i, n = 0;
	int rc;

	if (!need)
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < ts->n; i++) {
		const struct target *t = &ts->v[i];

		/* a Git LFS path without a version is git-lfs's to fetch; a
		 * pointer left behind is not checked out */
		if (!t->want.version || t->moved_to ||
		    (!p4r_store_has(p4r_repo_store(c->repo), &t->want.oid) && t->lfs && c->lfs_dir &&
		     p4r_lfs_has(c->lfs_dir, &t->want.oid)))
			continue;
		snprintf(need[n].model, sizeof(need[n].model), "%s", t->want.model);
		need[n].number = t->want.version;
		need[n].oid = t->want.oid;
		need[n++].size = t->want.size;
	}
	c->fetch.progress = &prog;
	rc = p4r_ondemand_fetch(c->repo, &c->fetch, need, n, c->got);
	c->fetch.progress = NULL;
	cmd_progress_done(&progress);
	free(need);
	return rc;
}

static int run_targets(struct ctx *c, char **args, size_t nargs, bool all)
{
	struct targets ts = { 0 };
	size_t i;
	int rc;

	cmd_warn_link_hazard(c->repo, c->order, c->norder);
	c->fetch.on_damage = cmd_guard_repaired;
	rc = collect(c, args, nargs, all, &ts);
	if (rc == 0)
		rc = fetch_missing(c, &ts);
	for (i = 0; rc == 0 && i < ts.n; i++)
		rc = checkout_one(c, &ts.v[i]);
	/* one index write for every pointer and .gitignore written */
	if (rc == 0 && c->stage)
		rc = cmd_written_stage(&c->written, c->git);
	cmd_written_free(&c->written);
	targets_free(&ts);
	return rc;
}

int cmd_checkout_args(p4r_cli *cli, p4r_repo *repo, char **args, size_t nargs,
		      const p4r_ondemand *fetch, bool force, bool stage, cJSON *results,
		      p4r_sync_result *got)
{
	struct ctx c = { .cli = cli, .repo = repo, .force = force, .stage = stage, .fetch = *fetch,
			 .results = results, .got = got };
	int rc;

	if ((rc = p4r_git_open(&c.git, p4r_repo_root(repo))) == 0 && c.git &&
	    !(c.lfs_dir = p4r_git_lfs_dir(c.git)))
		rc = p4r_error_set(P4R_ERROR, "out of memory");
	if (rc == 0)
		rc = run_targets(&c, args, nargs, nargs == 0);
	p4r_git_free(c.git);
	free(c.lfs_dir);
	return rc;
}

int cmd_checkout(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	struct ctx c = { .cli = cli, .repo = repo };
	char **args = calloc((size_t)argc, sizeof(*args));
	const char *value;
	size_t nargs = 0;
	bool no_stage = false;
	p4r_opts o;
	int id, rc;

	if (!args)
		return p4r_error_set(P4R_ERROR, "out of memory");
	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_FORCE)
			c.force = true;
		else if (id == OPT_NO_STAGE)
			no_stage = true;
		else if (id == OPT_LINK)
			rc = p4r_link_parse(c.order, &c.norder, value);
		else if (id == OPT_REMOTE)
			c.fetch.remote = value;
		else if (id == OPT_OFFLINE)
			c.fetch.offline = true;
		else
			args[nargs++] = (char *)value;
		if (rc < 0)
			break;
	}
	if (rc < 0 || (rc = p4r_ondemand_config(repo, &c.fetch)) < 0 ||
	    (rc = p4r_repo_autostage(repo, no_stage, &c.stage)) < 0)
		goto done;
	if ((rc = p4r_git_open(&c.git, p4r_repo_root(repo))) < 0)
		goto done;
	if (c.git && !(c.lfs_dir = p4r_git_lfs_dir(c.git))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	c.results = cJSON_CreateArray();
	rc = run_targets(&c, args, nargs, nargs == 0);
	if (rc == 0 && cli->json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddItemToObject(doc, "checked_out", c.results);
		c.results = NULL;
		rc = cmd_print_json(doc);
	}
done:
	cJSON_Delete(c.results);
	p4r_git_free(c.git);
	free(c.lfs_dir);
	free(args);
	return rc;
}
