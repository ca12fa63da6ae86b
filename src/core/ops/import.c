/* p4r_import_git_lfs (ops/import.h): HEAD's Git LFS history as versions --
 * walk, decide per path what is new, store the bytes git-lfs has in
 * parallel, then one registry transaction per model. */
#include "import_priv.h"
#include "p4reg/beneath.h"
#include "p4reg/error.h"
#include "p4reg/gitio.h"
#include "p4reg/gitscan.h"
#include "p4reg/imported.h"
#include "p4reg/lfs.h"
#include "p4reg/objguard.h"
#include "p4reg/parallel.h"
#include "p4reg/store.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What becomes of one change of the history. */
enum plan { PLAN_NEW, PLAN_HAD, PLAN_REFUSED };

/* One object to take from .git/lfs/objects into the store. */
struct task {
	p4r_oid oid;
	uint64_t size;            /* what the first pointer naming it says */
	uint64_t most;            /* the largest size a pointer naming it says */
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
	p4r_import_model base;    /* its path (repository-relative), name, failure */
	struct step *steps;       /* in commit order */
	size_t n, cap;
};

struct run {
	p4r_repo *repo;
	const p4r_import_opts *opts;
	const p4r_op_report *report;
	p4r_git *git;
	char *lfs_dir;            /* Git LFS's folder (the result's, owned there) */
	int objects_fd;           /* its objects/ folder; -1 when there is none */
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
	p4r_import_progress progress;
	char (*stage_commits)[41]; /* --stage: each REV's commit */
	const char *actor;
};

/* ---- which paths ---- */

static const struct run *sort_run; /* qsort's context (one thread) */

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

static int cmp_change_path(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(sort_run->changes[i].path, sort_run->changes[j].path);

	return c ? c : (i > j) - (i < j);
}

static int cmp_model_first(const void *a, const void *b)
{
	size_t i = ((const struct model *)a)->steps[0].change, j = ((const struct model *)b)->steps[0].change;

	return (i > j) - (i < j);
}

/* The changes by path, a model each, in the order of their first change
 * (sorted, then grouped: many paths stay n log n). */
static int group(struct run *run)
{
	size_t plen = strlen(run->prefix), *order, i;
	int rc = 0;

	if (!(run->models = calloc(run->nchanges ? run->nchanges : 1, sizeof(*run->models))) ||
	    !(order = malloc((run->nchanges ? run->nchanges : 1) * sizeof(*order))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < run->nchanges; i++)
		order[i] = i;
	sort_run = run;
	qsort(order, run->nchanges, sizeof(*order), cmp_change_path);
	for (i = 0; i < run->nchanges && rc == 0; i++) {
		if (!i || strcmp(run->changes[order[i]].path, run->changes[order[i - 1]].path)) {
			if (!(run->models[run->nmodels].base.rel = strdup(run->changes[order[i]].path + plen))) {
				rc = p4r_error_set(P4R_ERROR, "out of memory");
				break;
			}
			run->nmodels++;
		}
		rc = step_add(&run->models[run->nmodels - 1], order[i]);
	}
	free(order);
	qsort(run->models, run->nmodels, sizeof(*run->models), cmp_model_first);
	return rc;
}


/* Each model's name (p4r_import_name_models), and that it does not lie
 * in a folder model's folder (p4r_import_check_nesting). */
static int name_models(struct run *run)
{
	p4r_import_model **models = malloc((run->nmodels ? run->nmodels : 1) * sizeof(*models));
	size_t k;
	int rc;

	if (!models)
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (k = 0; k < run->nmodels; k++)
		models[k] = &run->models[k].base;
	rc = p4r_import_name_models(run->repo, run->opts->name, models, run->nmodels);
	if (rc == 0)
		rc = p4r_import_check_nesting(run->repo, models, NULL, run->nmodels);
	free(models);
	return rc;
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
	*in = (p4r_version_input){ .model = m->base.name, .path = m->base.rel, .oid = c->oid,
				   .size = (int64_t)c->size, .author = c->author, .message = c->subject,
				   .git_commit = c->commit, .git_dirty = 0, .now_ms = c->time_ms,
				   .kind = P4R_KIND_FILE };
	if (c->size > (uint64_t)INT64_MAX)
		in->size = -1;
}

/* Marks M's new steps a version already stands for: first one imported
 * from that very commit with the same oid, then one of the same bytes
 * from a commit that set no pointer of the path (an add before the
 * commit); each version stands for one change. Run when planning and
 * again inside the model's transaction, where another import at once may
 * have registered them. */
static int match_known(struct run *run, struct model *m)
{
	p4r_import_known k;
	const char **commits;
	size_t i, j, end;
	int rc;

	if (!(commits = malloc((m->n ? m->n : 1) * sizeof(*commits))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < m->n; i++)
		commits[i] = run->changes[m->steps[i].change].commit;
	rc = p4r_import_known_load(&k, run->repo, m->base.name, commits, m->n);
	free(commits);
	if (rc < 0)
		return rc;
	for (i = 0; i < m->n; i++)
		if (m->steps[i].plan == PLAN_HAD)
			p4r_import_known_take(&k, m->steps[i].number);
	for (i = 0; i < m->n; i++) {
		struct step *s = &m->steps[i];
		const p4r_git_lfs_change *c = &run->changes[s->change];

		if (s->plan != PLAN_NEW)
			continue;
		p4r_import_known_commit(&k, c->commit, &j, &end);
		for (; j < end && (k.taken[k.by_commit[j]] || !p4r_oid_equal(&k.v[k.by_commit[j]].oid, &c->oid)); j++)
			;
		if (j < end) {
			k.taken[k.by_commit[j]] = true;
			s->plan = PLAN_HAD;
			s->number = k.v[k.by_commit[j]].number;
		}
	}
	for (i = 0; i < m->n; i++) {
		struct step *s = &m->steps[i];

		if (s->plan == PLAN_NEW && (s->number = p4r_import_known_claim_oid(&k, &run->changes[s->change].oid)))
			s->plan = PLAN_HAD;
	}
	p4r_import_known_clear(&k);
	return 0;
}

/* M's steps: a change that is no pointer, or that a remote would refuse,
 * is refused; the rest new unless a version stands for it. */
static int plan_model(struct run *run, struct model *m)
{
	size_t i;

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
		if (p4r_version_input_check(&in) < 0)
			step_refuse(s);
	}
	return match_known(run, m);
}

/* ---- the bytes ---- */

/* The folder of Git LFS's object OID (*DIRFD) and its name (BASE, in
 * REL): below objects/ nothing is followed, so a planted link cannot make
 * the import read a file elsewhere. P4R_ENOTFOUND when it is not there. */
static int lfs_entry(const struct run *run, const p4r_oid *oid, int *dirfd, const char **base, char rel[80])
{
	int rc;

	if (run->objects_fd < 0)
		return p4r_error_set(P4R_ENOTFOUND, "no Git LFS objects");
	snprintf(rel, 80, "%.2s/%.2s/%s", oid->hex, oid->hex + 2, oid->hex);
	if ((rc = p4r_beneath_parent(dirfd, base, run->objects_fd, rel, false)) == P4R_EUSAGE)
		return p4r_error_set(P4R_EINTEGRITY, "Git LFS object '%s/objects/%s' is reached only through a "
				     "symbolic link", run->lfs_dir, rel);
	return rc;
}

/* Git LFS has OID's object here: a regular file (the import opens it
 * again, the same way, to read it). */
static bool lfs_has(const struct run *run, const p4r_oid *oid)
{
	const char *base;
	char rel[80];
	struct stat st;
	bool has;
	int dirfd;

	if (lfs_entry(run, oid, &dirfd, &base, rel) < 0) {
		p4r_error_clear();
		return false;
	}
	has = fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
	close(dirfd);
	return has;
}

/* Step S of model M says SIZE bytes for an object that has HAVE: refused
 * when they differ (a pointer lying about its object's size would make
 * every push of the version fail). */
static void check_size(struct step *s, const p4r_git_lfs_change *c, uint64_t have)
{
	if (c->size == have)
		return;
	p4r_error_set(P4R_EINTEGRITY, "its Git LFS pointer says %llu bytes; object %.12s has %llu",
		      (unsigned long long)c->size, c->oid.hex, (unsigned long long)have);
	step_refuse(s);
}

static int cmp_step_oid(const void *a, const void *b)
{
	const struct step *x = *(struct step *const *)a, *y = *(struct step *const *)b;

	return memcmp(sort_run->changes[x->change].oid.hex, sort_run->changes[y->change].oid.hex,
		      sizeof(sort_run->changes[0].oid.hex));
}

/* One task per distinct object the steps NEED (N) take from Git LFS:
 * sorted by oid, so many changes stay n log n. */
static int make_tasks(struct run *run, struct step **need, size_t n)
{
	size_t i;

	sort_run = run;
	qsort(need, n, sizeof(*need), cmp_step_oid);
	if (n && !(run->tasks = calloc(n, sizeof(*run->tasks))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < n; i++) {
		const p4r_git_lfs_change *c = &run->changes[need[i]->change];
		struct task *t = run->ntasks ? &run->tasks[run->ntasks - 1] : NULL;

		if (!t || !p4r_oid_equal(&t->oid, &c->oid)) {
			t = &run->tasks[run->ntasks++];
			*t = (struct task){ .oid = c->oid, .size = c->size, .most = c->size, .path = c->path,
					    .commit = c->commit, .run = run };
			run->progress.total += c->size;
		}
		t->most = c->size > t->most ? c->size : t->most;
		need[i]->task = run->ntasks - 1;
	}
	run->progress.nitems = run->ntasks;
	return 0;
}

/* Which steps have their bytes: in the store already (its size checked
 * against the pointer's), or in Git LFS's objects (a task each, unless a
 * dry run, which reads nothing). */
static int plan_bytes(struct run *run)
{
	p4r_store *store = p4r_repo_store(run->repo);
	struct step **need = NULL;
	size_t k, i, n = 0, total = 0;
	struct stat st;
	int rc;

	for (k = 0; k < run->nmodels; k++)
		total += run->models[k].n;
	if (!(need = malloc((total ? total : 1) * sizeof(*need))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (k = 0; k < run->nmodels; k++) {
		struct model *m = &run->models[k];

		for (i = 0; i < m->n && !m->base.code; i++) {
			struct step *s = &m->steps[i];
			const p4r_git_lfs_change *c = &run->changes[s->change];

			if (s->plan == PLAN_REFUSED)
				continue;
			if (p4r_store_object_stat(store, &c->oid, &st) == 0) {
				s->downloaded = true;
				check_size(s, c, (uint64_t)st.st_size);
				continue;
			}
			p4r_error_clear();
			if (!lfs_has(run, &c->oid))
				continue;
			s->downloaded = true;
			s->fill = s->plan == PLAN_HAD;
			if (!run->opts->dry_run)
				need[n++] = s;
		}
	}
	rc = make_tasks(run, need, n);
	free(need);
	return rc;
}

static void task_progress(uint64_t done, uint64_t total, void *payload)
{
	struct task *t = payload;

	(void)total;
	p4r_import_progress_bytes(&t->run->progress, &t->reported, done, false);
}

/* Task I's object from Git LFS into the store, verified: its size (read
 * before a byte is copied: a pointer's size bounds the copy) and its hash.
 * A failure is the task's, never the loop's. */
static int store_one(size_t i, void *payload)
{
	struct run *run = payload;
	struct task *t = &run->tasks[i];
	char rel[80], path[PATH_MAX];
	const char *base;
	struct stat st;
	int rc, dirfd = -1;

	snprintf(path, sizeof(path), "%s/objects/%.2s/%.2s/%s", run->lfs_dir, t->oid.hex, t->oid.hex + 2, t->oid.hex);
	if ((rc = lfs_entry(run, &t->oid, &dirfd, &base, rel)) == 0 && fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		rc = p4r_error_errno("cannot read Git LFS object '%s'", path);
	if (rc == 0 && (uint64_t)st.st_size > t->most)
		rc = p4r_error_set(P4R_EINTEGRITY, "the Git LFS pointer of '%s' (commit %.12s) says %llu bytes, its "
				   "object '%s' has %llu", t->path, t->commit, (unsigned long long)t->most, path,
				   (unsigned long long)st.st_size);
	if (rc == 0)
		rc = p4r_store_insert_at(p4r_repo_store(run->repo), dirfd, base, path, run->order, run->norder,
					 &t->ins, &st, task_progress, t);
	if (rc == P4R_EUSAGE)
		rc = p4r_error_set(P4R_EINTEGRITY, "%s", p4r_error_message());
	if (rc == 0 && !p4r_oid_equal(&t->ins.oid, &t->oid))
		rc = p4r_error_set(P4R_EINTEGRITY, "Git LFS object '%s' of '%s' (commit %.12s) is corrupt: it "
				   "hashes to %s", path, t->path, t->commit, t->ins.oid.hex);
	if (dirfd >= 0)
		close(dirfd);
	if (rc < 0) {
		t->rc = rc;
		t->why = strdup(p4r_error_message());
		p4r_error_clear();
	}
	p4r_import_progress_bytes(&run->progress, &t->reported, t->size, true);
	return 0;
}

/* A model whose object failed to store fails whole, with the first
 * failure of its steps. */
static void settle_tasks(struct run *run)
{
	size_t k, i;

	for (k = 0; k < run->nmodels; k++) {
		struct model *m = &run->models[k];

		for (i = 0; i < m->n && !m->base.code; i++) {
			struct step *s = &m->steps[i];

			if (s->plan == PLAN_REFUSED || s->task == SIZE_MAX)
				continue;
			if (!run->tasks[s->task].rc) {
				check_size(s, &run->changes[s->change], run->tasks[s->task].ins.size);
				continue;
			}
			p4r_error_set(run->tasks[s->task].rc, "%s", run->tasks[s->task].why ?
				      run->tasks[s->task].why : "out of memory");
			p4r_import_model_fail(&m->base, run->tasks[s->task].rc);
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
		snprintf(r->model, sizeof(r->model), "%s", m->base.name);
		r->oid = c->oid;
		r->size = c->size;
	} else {
		r->code = P4R_EINTEGRITY;
	}
	memcpy(r->commit, c->commit, sizeof(r->commit));
	r->created_ms = c->time_ms;
	r->from_history = true;
	if (!(r->path = strdup(m->base.rel)) || !(r->author = strdup(c->author)) || !(r->message = strdup(c->subject)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	return 0;
}

/* The number a step of model M had or got (NUMBERS: the new ones) for
 * COMMIT: p4r_import_stage_model's question. */
struct stage_ask {
	const struct run *run;
	const struct model *m;
	const int64_t *numbers;
};

static int64_t number_of_commit(const char *commit, void *payload)
{
	const struct stage_ask *a = payload;
	int64_t number = 0;
	size_t i;

	for (i = 0; i < a->m->n; i++) {
		const struct step *s = &a->m->steps[i];

		if (s->plan != PLAN_REFUSED && !strcmp(a->run->changes[s->change].commit, commit))
			number = s->plan == PLAN_NEW ? a->numbers[i] : s->number;
	}
	return number;
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
	/* what another import registered since the plan is had, not new */
	rc = match_known(run, m);
	for (i = 0; i < m->n && rc == 0; i++) {
		struct step *s = &m->steps[i];
		const p4r_git_lfs_change *c = &run->changes[s->change];
		p4r_version_input in;

		numbers[i] = 0;
		/* gc deletes only under the write lock we now hold: an object
		 * still here stays until the row that names it commits */
		if (s->downloaded && !run->opts->dry_run && !p4r_store_has(store, &c->oid))
			rc = p4r_error_set(P4R_ERROR, "object %.12s of '%s' left the store while it was being "
					   "imported (gc?); run import again", c->oid.hex, m->base.rel);
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
		rc = p4r_import_stage_model(run->repo, run->opts, run->stage_commits, m->base.name, number_of_commit,
					    &(struct stage_ask){ run, m, numbers }, run->actor, out);
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

/* Model M's rows: its refused steps, and unless M failed or had nothing
 * new (ANY false), a row per new version (NUMBERS: their numbers) and per
 * version whose bytes came now. */
static int rows_of(struct run *run, const struct model *m, bool any, const int64_t *numbers,
		   p4r_import_result *out, size_t *cap)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < m->n; i++)
		out->already += m->steps[i].plan == PLAN_HAD;
	for (i = 0; i < m->n && rc == 0; i++) {
		const struct step *s = &m->steps[i];
		const p4r_git_lfs_change *c = &run->changes[s->change];

		if (s->plan == PLAN_REFUSED) {
			if ((rc = row_add(out, cap, m, c, P4R_IMPORT_REFUSED)) == 0 &&
			    !(out->rows[out->n - 1].why = strdup(s->why ? s->why : "")))
				rc = p4r_error_set(P4R_ERROR, "out of memory");
			out->refused++;
		} else if (m->base.code || !any) {
			continue;
		} else if (s->plan == PLAN_NEW) {
			if ((rc = row_add(out, cap, m, c, P4R_IMPORT_REGISTERED)) < 0)
				break;
			out->rows[out->n - 1].version = numbers[i];
			out->rows[out->n - 1].downloaded = s->downloaded;
			out->registered++;
			out->not_downloaded += !s->downloaded;
		} else if (s->fill) {
			if ((rc = row_add(out, cap, m, c, P4R_IMPORT_STORED)) < 0)
				break;
			out->rows[out->n - 1].version = s->number;
			out->rows[out->n - 1].downloaded = true;
			out->stored++;
		}
	}
	return rc;
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
		if (!m->base.code && (any || run->opts->nstages) &&
		    (rc = register_model(run, m, detail, numbers, out)) < 0) {
			p4r_import_staged_cut(out, nstaged);
			if (rc == P4R_ERROR)
				break; /* the registry itself: nothing else will work */
			p4r_import_model_fail(&m->base, rc);
			rc = 0;
		}
		rc = rows_of(run, m, any, numbers, out, &cap);
		for (i = 0; i < m->n && !m->base.code; i++)
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

		if (!m->base.code)
			continue;
		p4r_error_set(m->base.code, "%s", m->base.why ? m->base.why : "out of memory");
		if ((rc = p4r_import_fail(out, &cap, m->base.name, m->base.rel, m->base.code)) < 0)
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

/* Git, Git LFS's object folder, the --stage commits and the repository's
 * folder in the work tree: what the walk needs. */
static int open_run(struct run *run, p4r_import_result *out)
{
	char objects[PATH_MAX];
	const char *why = NULL;
	int rc;

	if ((rc = p4r_git_open_why(&run->git, p4r_repo_root(run->repo), &why)) < 0)
		return rc;
	if (!run->git)
		return p4r_error_set(P4R_ERROR, "cannot import Git LFS history: %s", why ? why : "not inside a "
				     "git work tree");
	if (!(out->lfs_dir = run->lfs_dir = p4r_git_lfs_dir(run->git)) ||
	    (run->opts->nstages && !(run->stage_commits = calloc(run->opts->nstages, sizeof(*run->stage_commits)))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	if ((rc = p4r_import_resolve_stages(run->git, run->opts, run->stage_commits)) < 0)
		return rc;
	/* git's own folder, as its config names it; below objects/ nothing
	 * is followed (lfs_entry) */
	snprintf(objects, sizeof(objects), "%s/objects", run->lfs_dir);
	if ((run->objects_fd = open(objects, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 && errno != ENOENT)
		return p4r_error_errno("cannot open Git LFS's objects '%s'", objects);
	return p4r_import_prefix(run->repo, run->git, &run->prefix);
}

/* Every task's object from .git/lfs/objects into the store, in parallel;
 * each task keeps its own failure, so the loop always runs them all. */
static int store_bytes(struct run *run)
{
	p4r_store *store = p4r_repo_store(run->repo);
	int rc;

	if (!run->ntasks)
		return 0;
	if ((rc = p4r_repo_link_order(run->repo, run->order, &run->norder)) < 0)
		return rc;
	p4r_store_defer_sync(store, run->ntasks >= 128);
	rc = p4r_parallel_for(run->ntasks, run->opts->threads, store_one, run);
	p4r_store_defer_sync(store, false);
	if (rc == 0)
		rc = p4r_store_sync(store);
	if (rc == 0)
		settle_tasks(run);
	return rc;
}

static void run_free(struct run *run)
{
	size_t k, i;

	for (k = 0; k < run->nmodels; k++) {
		for (i = 0; i < run->models[k].n; i++)
			free(run->models[k].steps[i].why);
		free(run->models[k].steps);
		free(run->models[k].base.rel);
		free(run->models[k].base.why);
	}
	free(run->models);
	for (k = 0; k < run->ntasks; k++)
		free(run->tasks[k].why);
	free(run->tasks);
	for (k = 0; run->patterns && k < run->opts->npaths; k++)
		free(run->patterns[k]);
	free(run->patterns);
	free(run->matched);
	free(run->prefix);
	free(run->stage_commits);
	if (run->objects_fd >= 0)
		close(run->objects_fd);
	p4r_git_lfs_change_array_free(run->changes, run->nchanges);
	p4r_git_free(run->git);
}

int p4r_import_git_lfs(p4r_repo *repo, const p4r_import_opts *opts, const p4r_op_report *report,
		       p4r_import_result *out)
{
	struct run run = { .repo = repo, .opts = opts, .report = report, .objects_fd = -1,
			   .progress = { .report = report, .lock = PTHREAD_MUTEX_INITIALIZER } };
	p4r_git_lfs_walk walk = { .since = opts->since, .all_parents = opts->all_parents, .want = want_path,
				  .payload = &run };
	size_t k;
	int rc;

	memset(out, 0, sizeof(*out));
	if (opts->name && !p4r_model_name_valid(opts->name))
		return p4r_error_set(P4R_EUSAGE, "invalid model name '%s'", opts->name);
	if ((rc = open_run(&run, out)) < 0 || (rc = read_patterns(&run)) < 0 ||
	    (rc = p4r_git_lfs_history(run.git, &walk, &run.changes, &run.nchanges)) < 0 ||
	    (rc = check_matched(&run)) < 0 || (rc = group(&run)) < 0)
		goto done;
	if (opts->name && run.nmodels > 1) {
		rc = p4r_error_set(P4R_EUSAGE, "--name applies to one path; the history has %zu (%s, %s%s)",
				   run.nmodels, run.models[0].base.rel, run.models[1].base.rel, run.nmodels > 2 ? ", ..." : "");
		goto done;
	}
	if ((rc = name_models(&run)) < 0)
		goto done;
	for (k = 0; k < run.nmodels && rc == 0; k++)
		if (!run.models[k].base.code)
			rc = plan_model(&run, &run.models[k]);
	if (rc == 0 && (rc = plan_bytes(&run)) == 0 && (rc = store_bytes(&run)) == 0 &&
	    (rc = register_all(&run, out)) == 0)
		rc = collect(&run, out);
done:
	if (run.norder)
		p4r_objguard_warn_link_hazard(repo, run.order, run.norder, report);
	run_free(&run);
	return rc;
}
