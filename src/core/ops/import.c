/* p4r_import_git_lfs (ops/import.h): HEAD's Git LFS history as versions --
 * walk, decide per path what is new, store the bytes git-lfs has in
 * parallel, then one registry transaction per model. */
#include "import_priv.h"
#include "p4reg/error.h"
#include "p4reg/gitio.h"
#include "p4reg/gitscan.h"
#include "p4reg/imported.h"
#include "p4reg/lfs.h"
#include "p4reg/lifecycle.h"
#include "p4reg/objguard.h"
#include "p4reg/parallel.h"
#include "p4reg/relpath.h"
#include "p4reg/store.h"
#include "p4reg/worktree.h"

#include <cjson/cJSON.h>
#include <fnmatch.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What becomes of one change of the history. */
enum plan { PLAN_NEW, PLAN_HAD, PLAN_REFUSED };

/* One object to take from .git/lfs/objects into the store. */
struct task {
	p4r_oid oid;
	uint64_t size;            /* what the pointer says */
	const char *path;         /* a path whose pointer names it (messages) */
	const char *commit;
	p4r_insert_result ins;
	struct run *run;
	uint64_t reported;        /* of its bytes, in the run's progress */
	int rc;                   /* 0, or why it was not stored: */
	char *why;
};

/* One change, as the run decided it. */
struct step {
	size_t change;            /* index into the walk's changes */
	enum plan plan;
	char *why;                /* PLAN_REFUSED: the reason */
	size_t task;              /* its object's task; SIZE_MAX: none */
	bool downloaded;          /* its bytes are (or will be) in the store */
	bool fill;                /* PLAN_HAD without its bytes, which Git LFS has now */
	int64_t number;           /* PLAN_HAD: the version that has it */
};

/* One path of the history: one model. */
struct model {
	char *rel;                /* repository-relative */
	char name[P4R_MODEL_NAME_MAX + 1];
	struct step *steps;       /* in commit order */
	size_t n, cap;
	int code;                 /* the model failed: its code, */
	char *why;                /* and why */
};

struct run {
	p4r_repo *repo;
	const p4r_import_opts *opts;
	const p4r_op_report *report;
	p4r_git *git;
	char *lfs_dir;            /* Git LFS's objects (the result's, owned there) */
	char *prefix;             /* the repository's folder in the git work tree, "" or "sub/" */
	char **patterns;          /* OPTS->paths, repository-relative */
	bool *matched;            /* which of them matched a change */
	p4r_git_lfs_change *changes;
	size_t nchanges;
	struct model *models;
	size_t nmodels;
	struct task *tasks;
	size_t ntasks;
	p4r_link_type order[P4R_LINK_MAX];
	size_t norder;
	pthread_mutex_t lock;     /* the progress counts */
	uint64_t done, total, items;
	char (*stage_commits)[41]; /* --stage: each REV's commit */
	const char *actor;
};

/* ---- which paths ---- */

/* PAT (repository-relative) takes REL: the path itself, a path below the
 * folder PAT, or a match of the pattern, whose '*' crosses '/' as git's
 * pathspecs do. "" takes everything. */
static bool pattern_takes(const char *pat, const char *rel)
{
	size_t n = strlen(pat);

	if (!n || !strcmp(pat, rel) || (!strncmp(pat, rel, n) && rel[n] == '/'))
		return true;
	return fnmatch(pat, rel, 0) == 0;
}

/* The walk's filter: PATH (git's) inside the repository and taken by a
 * pattern (any, when none was given). */
static bool want_path(const char *path, void *payload)
{
	struct run *run = payload;
	size_t plen = strlen(run->prefix), i;
	bool any = false;

	if (strncmp(path, run->prefix, plen))
		return false;
	if (!run->opts->npaths)
		return true;
	for (i = 0; i < run->opts->npaths; i++)
		if (pattern_takes(run->patterns[i], path + plen))
			any = run->matched[i] = true;
	return any;
}

/* ARG (relative to the current folder, or absolute) as a path of the
 * repository, by its text alone: a path of the history need not exist in
 * the work tree. "." and ".." components are resolved; "" is the root. */
int p4r_import_arg_path(p4r_repo *repo, const char *arg, char **out)
{
	const char *root = p4r_repo_root(repo);
	size_t rlen = strlen(root), n, len = 0;
	char *cwd = NULL, *full = NULL, *res = NULL, *p;
	int rc = 0;

	*out = NULL;
	if (arg[0] == '/') {
		full = strdup(arg);
	} else if ((cwd = realpath(".", NULL))) {
		n = strlen(cwd) + strlen(arg) + 2;
		if ((full = malloc(n)))
			snprintf(full, n, "%s/%s", cwd, arg);
	} else {
		return p4r_error_errno("cannot tell the current folder");
	}
	if (!full || !(res = calloc(strlen(full) + 1, 1))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	/* the components one by one: "." dropped, ".." takes one back */
	for (p = full; *p; p += n + (p[n] == '/')) {
		n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.'))
			continue;
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (len > 0 && res[len - 1] != '/')
				len--;
			if (len > 0)
				len--;
			res[len] = '\0';
			continue;
		}
		res[len++] = '/';
		memcpy(res + len, p, n);
		len += n;
		res[len] = '\0';
	}
	if (!strcmp(root, "/")) {
		rlen = 0;
	} else if (strncmp(res, root, rlen) || (res[rlen] && res[rlen] != '/')) {
		rc = p4r_error_set(P4R_EUSAGE, "'%s' is outside the repository '%s'", arg, root);
		goto done;
	}
	if (!(*out = strdup(res + rlen + (res[rlen] == '/'))))
		rc = p4r_error_set(P4R_ERROR, "out of memory");
done:
	free(res);
	free(full);
	free(cwd);
	return rc;
}

/* Each argument as a repository-relative path or pattern. */
static int read_patterns(struct run *run)
{
	size_t i, n = run->opts->npaths;
	int rc = 0;

	if (!n)
		return 0;
	if (!(run->patterns = calloc(n, sizeof(char *))) || !(run->matched = calloc(n, sizeof(bool))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < n && rc == 0; i++)
		rc = p4r_import_arg_path(run->repo, run->opts->paths[i], &run->patterns[i]);
	return rc;
}

/* The repository's folder in the git work tree: "" at its top. */
static int find_prefix(struct run *run)
{
	const char *root = p4r_repo_root(run->repo), *top = p4r_git_workdir(run->git);
	char *rel;
	size_t n;

	if (!strcmp(root, top)) {
		run->prefix = strdup("");
	} else if ((rel = p4r_git_relpath(run->git, root))) {
		n = strlen(rel) + 2;
		if ((run->prefix = malloc(n)))
			snprintf(run->prefix, n, "%s/", rel);
		free(rel);
	} else {
		return p4r_error_set(P4R_ERROR, "the repository '%s' is outside the git work tree '%s'", root, top);
	}
	return run->prefix ? 0 : p4r_error_set(P4R_ERROR, "out of memory");
}

/* ---- the models ---- */

static int step_add(struct model *m, size_t change)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 8;
		void *p = realloc(m->steps, cap * sizeof(*m->steps));

		if (!p)
			return p4r_error_set(P4R_ERROR, "out of memory");
		m->steps = p;
		m->cap = cap;
	}
	m->steps[m->n++] = (struct step){ .change = change, .task = SIZE_MAX };
	return 0;
}

/* The changes grouped by path, each path a model, in the order of their
 * first change. */
static int group(struct run *run)
{
	size_t plen = strlen(run->prefix), i, j;
	int rc;

	if (!(run->models = calloc(run->nchanges ? run->nchanges : 1, sizeof(*run->models))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < run->nchanges; i++) {
		const char *rel = run->changes[i].path + plen;

		for (j = 0; j < run->nmodels && strcmp(run->models[j].rel, rel); j++)
			;
		if (j == run->nmodels && !(run->models[run->nmodels++].rel = strdup(rel)))
			return p4r_error_set(P4R_ERROR, "out of memory");
		if ((rc = step_add(&run->models[j], i)) < 0)
			return rc;
	}
	return 0;
}

/* Records that model M fails with the current error. */
static void model_fail(struct model *m, int code)
{
	free(m->why);
	m->code = code;
	m->why = strdup(p4r_error_message());
	p4r_error_clear();
}

int p4r_import_name(p4r_repo *repo, const char *rel, const char *name, char *out, size_t outsz)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_model bound = { 0 }, other = { 0 };
	int rc;

	out[0] = '\0';
	if (!p4r_relpath_valid(rel))
		return p4r_error_set(P4R_EINTEGRITY, "'%s' cannot be a model's path: it must be relative, with no "
				     "control character, and not name .git, .p4reg or a pointer file", rel);
	if ((rc = p4r_registry_model_by_path(reg, rel, &bound)) == 0) {
		if (name && strcmp(name, bound.name))
			rc = p4r_error_set(P4R_EUSAGE, "'%s' is bound to model '%s', not '%s'", rel, bound.name, name);
		else
			snprintf(out, outsz, "%s", bound.name);
		goto done;
	}
	if (rc != P4R_ENOTFOUND)
		goto done;
	p4r_error_clear();
	if (name)
		snprintf(out, outsz, "%s", name);
	else if ((rc = p4r_worktree_default_name(out, outsz, rel, false)) < 0)
		goto done;
	if ((rc = p4r_registry_model_get(reg, out, &other)) == 0)
		rc = p4r_error_set(P4R_EEXISTS, "model '%s' is bound to '%s', not '%s'; import '%s' alone "
				   "with --name", out, other.path, rel, rel);
	else if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		rc = 0;
	}
done:
	p4r_model_clear(&bound);
	p4r_model_clear(&other);
	return rc;
}

/* M's name (p4r_import_name), unless an earlier path of this run took it:
 * a refusal fails M alone. */
static int name_model(struct run *run, size_t k)
{
	struct model *m = &run->models[k];
	size_t j;
	int rc = p4r_import_name(run->repo, m->rel, run->opts->name, m->name, sizeof(m->name));

	for (j = 0; j < k && rc == 0; j++)
		if (!run->models[j].code && !strcmp(run->models[j].name, m->name))
			rc = p4r_error_set(P4R_EEXISTS, "'%s' and '%s' make the same model name '%s'; import "
					   "each alone with --name", run->models[j].rel, m->rel, m->name);
	if (rc < 0 && rc != P4R_ERROR) {
		model_fail(m, rc);
		rc = 0;
	}
	return rc;
}

/* Whether a change of M's path set a pointer in COMMIT. */
static bool commit_of_path(const struct run *run, const struct model *m, const char *commit)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (!strcmp(run->changes[m->steps[i].change].commit, commit))
			return true;
	return false;
}

/* Refuses step S with the current error. */
static void step_refuse(struct step *s)
{
	s->plan = PLAN_REFUSED;
	s->why = strdup(p4r_error_message());
	p4r_error_clear();
}

/* What the version of change C would be (the registry's record of it). */
static void version_input(const struct model *m, const p4r_git_lfs_change *c, p4r_version_input *in)
{
	*in = (p4r_version_input){ .model = m->name, .path = m->rel, .oid = c->oid, .size = (int64_t)c->size,
				   .author = c->author, .message = c->subject, .git_commit = c->commit,
				   .git_dirty = 0, .now_ms = c->time_ms, .kind = P4R_KIND_FILE };
	if (c->size > (uint64_t)INT64_MAX)
		in->size = -1;
}

/* Decides each change of M: refused, had (the registry has it) or new. */
static int plan_model(struct run *run, struct model *m, size_t *already)
{
	p4r_known_version *known = NULL;
	bool *claimed = NULL;
	size_t nknown = 0, i, j;
	int rc;

	if ((rc = p4r_registry_known_versions(p4r_repo_registry(run->repo), m->name, &known, &nknown)) < 0)
		return rc;
	if (nknown && !(claimed = calloc(nknown, sizeof(bool)))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	/* first the versions imported from these very commits */
	for (i = 0; i < m->n; i++) {
		struct step *s = &m->steps[i];
		const p4r_git_lfs_change *c = &run->changes[s->change];
		p4r_version_input in;

		if (!c->pointer) {
			p4r_error_set(P4R_EINTEGRITY, "%s", c->refused ? c->refused : "not a Git LFS pointer");
			step_refuse(s);
			continue;
		}
		version_input(m, c, &in);
		if (p4r_version_input_check(&in) < 0) {
			step_refuse(s);
			continue;
		}
		for (j = 0; j < nknown; j++)
			if (!claimed[j] && !strcmp(known[j].git_commit, c->commit) && p4r_oid_equal(&known[j].oid, &c->oid))
				break;
		if (j < nknown) {
			claimed[j] = true;
			s->plan = PLAN_HAD;
			s->number = known[j].number;
		}
	}
	/* then a version of the same bytes from elsewhere (p4reg add before
	 * the commit): each stands for one change */
	for (i = 0; i < m->n; i++) {
		struct step *s = &m->steps[i];
		const p4r_git_lfs_change *c = &run->changes[s->change];

		if (s->plan != PLAN_NEW)
			continue;
		for (j = 0; j < nknown; j++)
			if (!claimed[j] && p4r_oid_equal(&known[j].oid, &c->oid) &&
			    !commit_of_path(run, m, known[j].git_commit))
				break;
		if (j < nknown) {
			claimed[j] = true;
			s->plan = PLAN_HAD;
			s->number = known[j].number;
		}
	}
	for (i = 0; i < m->n; i++)
		*already += m->steps[i].plan == PLAN_HAD;
done:
	free(claimed);
	free(known);
	return rc;
}

/* ---- the bytes ---- */

/* The task for OID (of change C), added when new. */
static int task_for(struct run *run, const p4r_git_lfs_change *c, size_t *out)
{
	size_t i;

	for (i = 0; i < run->ntasks; i++)
		if (p4r_oid_equal(&run->tasks[i].oid, &c->oid)) {
			*out = i;
			return 0;
		}
	if (!(run->ntasks % 64)) {
		void *p = realloc(run->tasks, (run->ntasks + 64) * sizeof(*run->tasks));

		if (!p)
			return p4r_error_set(P4R_ERROR, "out of memory");
		run->tasks = p;
	}
	run->tasks[run->ntasks] = (struct task){ .oid = c->oid, .size = c->size, .path = c->path,
						 .commit = c->commit, .run = run };
	run->total += c->size;
	*out = run->ntasks++;
	return 0;
}

/* Where each step's bytes come from: the store has them, or Git LFS
 * (a task; a dry run reads nothing), or nowhere here (not downloaded). */
static int plan_bytes(struct run *run)
{
	p4r_store *store = p4r_repo_store(run->repo);
	size_t k, i;
	int rc;

	for (k = 0; k < run->nmodels; k++) {
		struct model *m = &run->models[k];

		for (i = 0; i < m->n && !m->code; i++) {
			struct step *s = &m->steps[i];
			const p4r_git_lfs_change *c = &run->changes[s->change];

			if (s->plan == PLAN_REFUSED)
				continue;
			if (p4r_store_has(store, &c->oid)) {
				s->downloaded = true;
				continue;
			}
			if (!p4r_lfs_has(run->lfs_dir, &c->oid))
				continue;
			s->downloaded = true;
			s->fill = s->plan == PLAN_HAD;
			if (!run->opts->dry_run && (rc = task_for(run, c, &s->task)) < 0)
				return rc;
		}
	}
	return 0;
}

static void report_bytes(struct run *run)
{
	p4r_progress p = { .label = "import", .unit = "objects", .items = run->items,
			   .items_total = run->ntasks, .has_bytes = true, .bytes = run->done,
			   .bytes_total = run->total };

	p4r_op_progress_count(run->report, &p);
}

/* One object's progress (DONE of its bytes) as the run's: one line for
 * every object read in parallel. */
static void task_progress(uint64_t done, uint64_t total, void *payload)
{
	struct task *t = payload;
	struct run *run = t->run;

	(void)total;
	pthread_mutex_lock(&run->lock);
	run->done += done - t->reported;
	t->reported = done;
	report_bytes(run);
	pthread_mutex_unlock(&run->lock);
}

/* Stores task I's object from Git LFS's folder, hashed on the way: a
 * failure is the task's (its model's), never the loop's. */
static int store_one(size_t i, void *payload)
{
	struct run *run = payload;
	struct task *t = &run->tasks[i];
	char path[PATH_MAX];
	int rc;

	rc = p4r_lfs_object_path(path, sizeof(path), run->lfs_dir, &t->oid);
	if (rc == 0)
		rc = p4r_store_insert_file(p4r_repo_store(run->repo), path, run->order, run->norder, &t->ins,
					   task_progress, t);
	if (rc == 0 && !p4r_oid_equal(&t->ins.oid, &t->oid))
		rc = p4r_error_set(P4R_EINTEGRITY, "Git LFS object '%s' of '%s' (commit %.12s) is corrupt: it "
				   "hashes to %s", path, t->path, t->commit, t->ins.oid.hex);
	else if (rc == 0 && t->ins.size != t->size)
		rc = p4r_error_set(P4R_EINTEGRITY, "the Git LFS pointer of '%s' (commit %.12s) says %llu bytes, "
				   "its object '%s' has %llu", t->path, t->commit, (unsigned long long)t->size,
				   path, (unsigned long long)t->ins.size);
	if (rc < 0) {
		t->rc = rc;
		t->why = strdup(p4r_error_message());
		p4r_error_clear();
	}
	pthread_mutex_lock(&run->lock);
	run->done += t->size > t->reported ? t->size - t->reported : 0;
	run->items++;
	report_bytes(run);
	pthread_mutex_unlock(&run->lock);
	return 0;
}

/* A model whose object failed to store fails whole, with the first
 * failure of its steps. */
static void settle_tasks(struct run *run)
{
	size_t k, i;

	for (k = 0; k < run->nmodels; k++) {
		struct model *m = &run->models[k];

		for (i = 0; i < m->n && !m->code; i++) {
			struct step *s = &m->steps[i];

			if (s->plan == PLAN_REFUSED || s->task == SIZE_MAX || !run->tasks[s->task].rc)
				continue;
			p4r_error_set(run->tasks[s->task].rc, "%s", run->tasks[s->task].why ?
				      run->tasks[s->task].why : "out of memory");
			model_fail(m, run->tasks[s->task].rc);
		}
	}
}

/* ---- the registry ---- */

static int row_add(p4r_import_result *out, size_t *cap, const struct model *m, const p4r_git_lfs_change *c,
		   p4r_import_state state)
{
	p4r_import_row *r = p4r_import_row_new(out, cap);

	if (!r)
		return P4R_ERROR;
	r->state = state;
	if (state != P4R_IMPORT_REFUSED) {
		snprintf(r->model, sizeof(r->model), "%s", m->name);
		r->oid = c->oid;
		r->size = c->size;
	} else {
		r->code = P4R_EINTEGRITY;
	}
	memcpy(r->commit, c->commit, sizeof(r->commit));
	r->created_ms = c->time_ms;
	r->from_history = true;
	if (!(r->path = strdup(m->rel)) || !(r->author = strdup(c->author)) || !(r->message = strdup(c->subject)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	return 0;
}

/* What a register event of an import says beside the version record. */
char *p4r_import_detail(const char *source, const char *actor)
{
	cJSON *o = cJSON_CreateObject();
	char *text = NULL, *out = NULL;

	if (o && cJSON_AddStringToObject(o, "import", source) && cJSON_AddStringToObject(o, "by", actor))
		text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text)
		out = strdup(text);
	cJSON_free(text);
	return out;
}

p4r_import_row *p4r_import_row_new(p4r_import_result *out, size_t *cap)
{
	p4r_import_row *r;

	if (out->n == *cap) {
		size_t grown = *cap ? *cap * 2 : 16;
		void *p = realloc(out->rows, grown * sizeof(*out->rows));

		if (!p) {
			p4r_error_set(P4R_ERROR, "out of memory");
			return NULL;
		}
		out->rows = p;
		*cap = grown;
	}
	r = &out->rows[out->n++];
	memset(r, 0, sizeof(*r));
	return r;
}

void p4r_import_worst(p4r_import_result *out, int code)
{
	if (code < 0 && (!out->code || (code == P4R_EINTEGRITY && out->code != P4R_EINTEGRITY)))
		out->code = code;
}

int p4r_import_fail(p4r_import_result *out, size_t *cap, const char *model, const char *path, int code)
{
	p4r_import_failure *f;

	if (out->nfailures == *cap) {
		size_t grown = *cap ? *cap * 2 : 8;
		void *p = realloc(out->failures, grown * sizeof(*out->failures));

		if (!p)
			return p4r_error_set(P4R_ERROR, "out of memory");
		out->failures = p;
		*cap = grown;
	}
	f = &out->failures[out->nfailures++];
	memset(f, 0, sizeof(*f));
	snprintf(f->model, sizeof(f->model), "%s", model);
	f->code = code;
	f->path = strdup(path);
	f->why = strdup(p4r_error_message()[0] ? p4r_error_message() : "out of memory");
	p4r_error_clear();
	p4r_import_worst(out, code);
	return f->path && f->why ? 0 : p4r_error_set(P4R_ERROR, "out of memory");
}

/* ---- --stage ---- */

int p4r_import_resolve_stages(p4r_git *git, const p4r_import_opts *opts, char (*commits)[41])
{
	size_t k;

	for (k = 0; k < opts->nstages; k++)
		if (p4r_git_commit_of(git, opts->stages[k].rev, commits[k]) < 0)
			return p4r_error_set(P4R_EUSAGE, "--stage %s=%s: '%s' names no commit of this git "
					     "repository", p4r_stage_name(opts->stages[k].stage), opts->stages[k].rev,
					     opts->stages[k].rev);
	return 0;
}

void p4r_import_staged_cut(p4r_import_result *out, size_t n)
{
	while (out->nstaged > n)
		free(out->staged[--out->nstaged].why);
}

int p4r_import_set_stage(p4r_repo *repo, const p4r_import_opts *opts, size_t k, const char *commit,
			 const char *model, int64_t number, const char *actor, p4r_import_result *out)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	const p4r_import_stage *st = &opts->stages[k];
	p4r_import_staged *e;
	p4r_version v = { 0 };
	p4r_promotion p;
	char reason[320];
	void *grown;
	int rc;

	if (!(grown = realloc(out->staged, (out->nstaged + 1) * sizeof(*out->staged))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	out->staged = grown;
	e = &out->staged[out->nstaged++];
	memset(e, 0, sizeof(*e));
	snprintf(e->model, sizeof(e->model), "%s", model);
	snprintf(e->commit, sizeof(e->commit), "%s", commit);
	e->stage = st->stage;
	e->rev = st->rev;
	e->version = number;
	if (!number) {
		if (!(e->why = strdup("no version of it was registered from that commit")))
			return p4r_error_set(P4R_ERROR, "out of memory");
		return 0;
	}
	if ((rc = p4r_registry_version_get(reg, model, number, &v)) == P4R_ENOTFOUND) {
		/* imported before, then deleted with p4reg rm */
		e->version = 0;
		e->why = strdup(p4r_error_message());
		p4r_error_clear();
		return e->why ? 0 : p4r_error_set(P4R_ERROR, "out of memory");
	}
	if (rc < 0) {
		out->nstaged--;
		return rc;
	}
	e->from = v.stage;
	p4r_version_clear(&v);
	if (e->from == st->stage)
		return 0;
	snprintf(reason, sizeof(reason), "import --stage %s=%s", p4r_stage_name(st->stage), st->rev);
	rc = p4r_lifecycle_promote(reg, &(p4r_promote_req){ .model = model, .number = number, .to = st->stage,
							    .force = true, .actor = actor, .reason = reason },
				   &p);
	p4r_promotion_clear(&p);
	if (rc < 0) {
		out->nstaged--;
		return rc;
	}
	e->moved = true;
	return 0;
}

/* M's --stage moves, in its transaction: the version of each REV's
 * commit. NUMBERS: each step's new number. */
static int stage_model(struct run *run, struct model *m, const int64_t *numbers, p4r_import_result *out)
{
	size_t k, i;
	int rc = 0;

	for (k = 0; k < run->opts->nstages && rc == 0; k++) {
		int64_t number = 0;

		for (i = 0; i < m->n; i++) {
			const struct step *s = &m->steps[i];

			if (s->plan != PLAN_REFUSED && !strcmp(run->changes[s->change].commit, run->stage_commits[k]))
				number = s->plan == PLAN_NEW ? numbers[i] : s->number;
		}
		rc = p4r_import_set_stage(run->repo, run->opts, k, run->stage_commits[k], m->name, number, run->actor,
				      out);
	}
	return rc;
}

/* M's new versions in one transaction (rolled back by a dry run), their
 * objects' fingerprints with them; *NUMBERS gets each step's number. */
static int register_model(struct run *run, struct model *m, const char *detail, int64_t *numbers,
			  p4r_import_result *out)
{
	p4r_registry *reg = p4r_repo_registry(run->repo);
	p4r_store *store = p4r_repo_store(run->repo);
	size_t i;
	int rc;

	if ((rc = p4r_registry_begin(reg)) < 0)
		return rc;
	for (i = 0; i < m->n && rc == 0; i++) {
		struct step *s = &m->steps[i];
		const p4r_git_lfs_change *c = &run->changes[s->change];
		p4r_version_input in;

		numbers[i] = 0;
		/* gc deletes only under the write lock we now hold: an object
		 * still here stays until the row that names it commits */
		if (s->downloaded && !run->opts->dry_run && !p4r_store_has(store, &c->oid))
			rc = p4r_error_set(P4R_ERROR, "object %.12s of '%s' left the store while it was being "
					   "imported (gc?); run import again", c->oid.hex, m->rel);
		if (rc < 0 || s->plan == PLAN_REFUSED)
			continue;
		if (s->task != SIZE_MAX && !run->tasks[s->task].ins.existed)
			rc = p4r_objguard_record(run->repo, &c->oid, &run->tasks[s->task].ins.placed);
		if (rc == 0 && s->plan == PLAN_NEW) {
			version_input(m, c, &in);
			rc = p4r_registry_import_version(reg, &in, detail, &numbers[i]);
		}
	}
	if (rc == 0)
		rc = stage_model(run, m, numbers, out);
	if (rc < 0) {
		p4r_registry_abort(reg);
		return rc;
	}
	if (run->opts->dry_run) {
		p4r_registry_abort(reg);
		return 0;
	}
	return p4r_registry_commit(reg);
}

/* Registers every model that did not fail and fills OUT's rows. */
static int register_all(struct run *run, p4r_import_result *out)
{
	char *actor = p4r_repo_actor(run->repo), *detail = NULL;
	int64_t *numbers = NULL;
	size_t cap = 0, k, i, most = 1;
	int rc = 0;

	for (k = 0; k < run->nmodels; k++)
		most = run->models[k].n > most ? run->models[k].n : most;
	run->actor = actor;
	if (!actor || !(detail = p4r_import_detail("git-lfs", actor)) || !(numbers = calloc(most, sizeof(*numbers)))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	for (k = 0; k < run->nmodels && rc == 0; k++) {
		struct model *m = &run->models[k];
		size_t nstaged = out->nstaged;
		bool any = false;

		for (i = 0; i < m->n; i++)
			any |= m->steps[i].plan == PLAN_NEW || m->steps[i].fill;
		if (!m->code && (any || run->opts->nstages) &&
		    (rc = register_model(run, m, detail, numbers, out)) < 0) {
			p4r_import_staged_cut(out, nstaged);
			if (rc == P4R_ERROR)
				break; /* the registry itself: nothing else will work */
			model_fail(m, rc);
			rc = 0;
		}
		for (i = 0; i < m->n && rc == 0; i++) {
			struct step *s = &m->steps[i];
			const p4r_git_lfs_change *c = &run->changes[s->change];

			if (s->plan == PLAN_REFUSED) {
				if ((rc = row_add(out, &cap, m, c, P4R_IMPORT_REFUSED)) == 0 &&
				    !(out->rows[out->n - 1].why = strdup(s->why ? s->why : "")))
					rc = p4r_error_set(P4R_ERROR, "out of memory");
				out->refused++;
			} else if (m->code || !any) {
				continue;
			} else if (s->plan == PLAN_NEW) {
				if ((rc = row_add(out, &cap, m, c, P4R_IMPORT_REGISTERED)) < 0)
					break;
				out->rows[out->n - 1].version = numbers[i];
				out->rows[out->n - 1].downloaded = s->downloaded;
				out->registered++;
				out->not_downloaded += !s->downloaded;
			} else if (s->fill) {
				if ((rc = row_add(out, &cap, m, c, P4R_IMPORT_STORED)) < 0)
					break;
				out->rows[out->n - 1].version = s->number;
				out->rows[out->n - 1].downloaded = true;
				out->stored++;
			}
		}
		for (i = 0; i < m->n && !m->code; i++)
			if (m->steps[i].plan == PLAN_NEW) {
				out->models++;
				break;
			}
	}
done:
	free(numbers);
	free(detail);
	free(actor);
	return rc;
}

/* The failed models into OUT, and OUT->code. */
static int collect(struct run *run, p4r_import_result *out)
{
	size_t k, i, cap = 0;
	int rc;

	for (i = 0; i < out->n; i++)
		if (out->rows[i].state == P4R_IMPORT_REFUSED)
			p4r_import_worst(out, out->rows[i].code);
	for (k = 0; k < run->nmodels; k++) {
		struct model *m = &run->models[k];

		if (!m->code)
			continue;
		p4r_error_set(m->code, "%s", m->why ? m->why : "out of memory");
		if ((rc = p4r_import_fail(out, &cap, m->name, m->rel, m->code)) < 0)
			return rc;
	}
	return 0;
}

/* A PATH that named nothing of the history (without --since, which may
 * leave a path's changes out on purpose). */
static int check_matched(struct run *run)
{
	size_t i;

	for (i = 0; i < run->opts->npaths && !run->opts->since; i++)
		if (!run->matched[i])
			return p4r_error_set(P4R_ENOTFOUND, "'%s' matches no Git LFS pointer in the history of HEAD",
					     run->opts->paths[i]);
	return 0;
}

int p4r_import_git_lfs(p4r_repo *repo, const p4r_import_opts *opts, const p4r_op_report *report,
		       p4r_import_result *out)
{
	struct run run = { .repo = repo, .opts = opts, .report = report, .lock = PTHREAD_MUTEX_INITIALIZER };
	p4r_git_lfs_walk walk = { .since = opts->since, .all_parents = opts->all_parents, .want = want_path,
				  .payload = &run };
	const char *why = NULL;
	size_t k;
	int rc;

	memset(out, 0, sizeof(*out));
	if (opts->name && !p4r_model_name_valid(opts->name))
		return p4r_error_set(P4R_EUSAGE, "invalid model name '%s'", opts->name);
	if ((rc = p4r_git_open_why(&run.git, p4r_repo_root(repo), &why)) < 0)
		return rc;
	if (!run.git)
		return p4r_error_set(P4R_ERROR, "cannot import Git LFS history: %s", why ? why : "not inside a "
				     "git work tree");
	if (!(out->lfs_dir = run.lfs_dir = p4r_git_lfs_dir(run.git))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	if (opts->nstages && !(run.stage_commits = calloc(opts->nstages, sizeof(*run.stage_commits)))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	if ((rc = p4r_import_resolve_stages(run.git, opts, run.stage_commits)) < 0 ||
	    (rc = find_prefix(&run)) < 0 || (rc = read_patterns(&run)) < 0 ||
	    (rc = p4r_git_lfs_history(run.git, &walk, &run.changes, &run.nchanges)) < 0 ||
	    (rc = check_matched(&run)) < 0 || (rc = group(&run)) < 0)
		goto done;
	if (opts->name && run.nmodels > 1) {
		rc = p4r_error_set(P4R_EUSAGE, "--name applies to one path; the history has %zu (%s, %s%s)",
				   run.nmodels, run.models[0].rel, run.models[1].rel, run.nmodels > 2 ? ", ..." : "");
		goto done;
	}
	for (k = 0; k < run.nmodels && rc == 0; k++)
		if ((rc = name_model(&run, k)) == 0 && !run.models[k].code)
			rc = plan_model(&run, &run.models[k], &out->already);
	if (rc < 0 || (rc = plan_bytes(&run)) < 0)
		goto done;
	if (run.ntasks) {
		p4r_store *store = p4r_repo_store(repo);

		if ((rc = p4r_repo_link_order(repo, run.order, &run.norder)) < 0)
			goto done;
		/* each task keeps its own failure: the loop always runs them all */
		p4r_store_defer_sync(store, run.ntasks >= 128);
		rc = p4r_parallel_for(run.ntasks, opts->threads, store_one, &run);
		p4r_store_defer_sync(store, false);
		if (rc == 0)
			rc = p4r_store_sync(store);
		if (rc < 0)
			goto done;
		settle_tasks(&run);
	}
	if ((rc = register_all(&run, out)) < 0)
		goto done;
	rc = collect(&run, out);
done:
	if (run.norder)
		p4r_objguard_warn_link_hazard(repo, run.order, run.norder, report);
	for (k = 0; k < run.nmodels; k++) {
		size_t i;

		for (i = 0; i < run.models[k].n; i++)
			free(run.models[k].steps[i].why);
		free(run.models[k].steps);
		free(run.models[k].rel);
		free(run.models[k].why);
	}
	free(run.models);
	for (k = 0; k < run.ntasks; k++)
		free(run.tasks[k].why);
	free(run.tasks);
	for (k = 0; run.patterns && k < opts->npaths; k++)
		free(run.patterns[k]);
	free(run.patterns);
	free(run.matched);
	free(run.prefix);
	free(run.stage_commits);
	p4r_git_lfs_change_array_free(run.changes, run.nchanges);
	p4r_git_free(run.git);
	return rc;
}

void p4r_import_result_free(p4r_import_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; r->rows && i < r->n; i++) {
		free(r->rows[i].path);
		free(r->rows[i].author);
		free(r->rows[i].message);
		free(r->rows[i].why);
		free(r->rows[i].source);
		free(r->rows[i].pointer);
	}
	free(r->rows);
	for (i = 0; r->failures && i < r->nfailures; i++) {
		free(r->failures[i].path);
		free(r->failures[i].why);
	}
	free(r->failures);
	p4r_import_staged_cut(r, 0);
	free(r->staged);
	free(r->lfs_dir);
	memset(r, 0, sizeof(*r));
}
