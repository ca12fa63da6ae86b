/* What the two imports share (import_priv.h): arguments as repository
 * paths, a path's model, the register event's detail, the result's rows
 * and failures, and --stage. */
#include "import_priv.h"
#include "p4reg/error.h"
#include "p4reg/gitio.h"
#include "p4reg/gitscan.h"
#include "p4reg/lifecycle.h"
#include "p4reg/output.h"
#include "p4reg/relpath.h"
#include "p4reg/worktree.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* What a register event of an import says beside the version record. */
void p4r_import_progress_bytes(p4r_import_progress *p, uint64_t *reported, uint64_t done, bool finished)
{
	p4r_progress line = { .label = "import", .unit = "objects", .has_bytes = true };

	pthread_mutex_lock(&p->lock);
	p->done += done > *reported ? done - *reported : 0;
	*reported = done > *reported ? done : *reported;
	p->items += finished;
	line.items = p->items;
	line.items_total = p->nitems;
	line.bytes = p->done;
	line.bytes_total = p->total;
	p4r_op_progress_count(p->report, &line);
	pthread_mutex_unlock(&p->lock);
}

char *p4r_import_detail(const char *source, const char *actor)
{
	return p4r_json_text_pair("import", source, "by", actor);
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

int p4r_import_resolve_stages(p4r_git *git, const p4r_import_opts *opts, char (*commits)[41])
{
	size_t k, j;

	for (k = 0; k < opts->nstages; k++) {
		if (p4r_git_commit_of(git, opts->stages[k].rev, commits[k]) < 0)
			return p4r_error_set(P4R_EUSAGE, "--stage %s=%s: '%s' names no commit of this git "
					     "repository", p4r_stage_name(opts->stages[k].stage), opts->stages[k].rev,
					     opts->stages[k].rev);
		/* one version in two stages would move back and forth on every run */
		for (j = 0; j < k; j++)
			if (!strcmp(commits[j], commits[k]))
				return p4r_error_set(P4R_EUSAGE, "--stage %s=%s and --stage %s=%s name the same commit "
						     "%.12s: a version is in one stage", p4r_stage_name(opts->stages[j].stage),
						     opts->stages[j].rev, p4r_stage_name(opts->stages[k].stage),
						     opts->stages[k].rev, commits[k]);
	}
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

int p4r_import_stage_model(p4r_repo *repo, const p4r_import_opts *opts, char (*commits)[41], const char *model,
			   p4r_import_number_fn number_of, void *payload, const char *actor,
			   p4r_import_result *out)
{
	size_t k;
	int rc = 0;

	for (k = 0; k < opts->nstages && rc == 0; k++)
		rc = p4r_import_set_stage(repo, opts, k, commits[k], model, number_of(commits[k], payload), actor, out);
	return rc;
}

int p4r_import_prefix(p4r_repo *repo, p4r_git *git, char **prefix)
{
	const char *root = p4r_repo_root(repo), *top = p4r_git_workdir(git);
	char *rel;
	size_t n;

	if (!strcmp(root, top)) {
		*prefix = strdup("");
	} else if ((rel = p4r_git_relpath(git, root))) {
		n = strlen(rel) + 2;
		if ((*prefix = malloc(n)))
			snprintf(*prefix, n, "%s/", rel);
		free(rel);
	} else {
		return p4r_error_set(P4R_ERROR, "the repository '%s' is outside the git work tree '%s'", root, top);
	}
	return *prefix ? 0 : p4r_error_set(P4R_ERROR, "out of memory");
}

void p4r_import_model_fail(p4r_import_model *m, int code)
{
	free(m->why);
	m->code = code;
	m->why = strdup(p4r_error_message());
	p4r_error_clear();
}

static p4r_import_model *const *sort_models; /* qsort's context (one thread) */

static int cmp_model_name(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(sort_models[i]->name, sort_models[j]->name);

	return c ? c : (i > j) - (i < j);
}

int p4r_import_name_models(p4r_repo *repo, const char *name, p4r_import_model *const *models, size_t n)
{
	size_t *order = malloc((n ? n : 1) * sizeof(*order)), k, m = 0;
	int rc = order ? 0 : p4r_error_set(P4R_ERROR, "out of memory");

	for (k = 0; k < n && rc == 0; k++) {
		if ((rc = p4r_import_name(repo, models[k]->rel, name, models[k]->name, sizeof(models[k]->name))) == 0)
			order[m++] = k;
		else if (rc != P4R_ERROR) {
			p4r_import_model_fail(models[k], rc);
			rc = 0;
		}
	}
	sort_models = models;
	if (rc == 0)
		qsort(order, m, sizeof(*order), cmp_model_name);
	for (k = 1; k < m && rc == 0; k++) {
		p4r_import_model *first = models[order[k - 1]], *dup = models[order[k]];

		if (strcmp(first->name, dup->name))
			continue;
		p4r_error_set(P4R_EEXISTS, "'%s' and '%s' make the same model name '%s'; import each alone with "
			      "--name", first->rel, dup->rel, dup->name);
		p4r_import_model_fail(dup, P4R_EEXISTS);
		order[k] = order[k - 1]; /* a third of the name still names the first */
	}
	free(order);
	return rc;
}

/* ---- models inside folder models ---- */

struct placed {
	const char *path;
	const char *name;
	bool dir;
};

static int cmp_placed(const void *a, const void *b)
{
	return strcmp(((const struct placed *)a)->path, ((const struct placed *)b)->path);
}

/* The first of P (N, sorted by path) whose path's first LEN bytes are not
 * before PATH's first LEN bytes, or N: where paths starting so begin (the
 * path that is exactly them first). */
static size_t placed_from(const struct placed *p, size_t n, const char *path, size_t len)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strncmp(p[mid].path, path, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The registry's models and MODELS, sorted by path, into *OUT. */
static int gather_placed(p4r_repo *repo, p4r_import_model *const *models, const bool *dir, size_t n,
			 p4r_model **reg, size_t *nreg, struct placed **out, size_t *nout)
{
	p4r_registry *r = p4r_repo_registry(repo);
	p4r_version v = { 0 };
	size_t i, k = 0;
	int rc;

	if ((rc = p4r_registry_model_list(r, reg, nreg)) < 0)
		return rc;
	if (!(*out = calloc(*nreg + n + 1, sizeof(**out))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < *nreg; i++) {
		bool folder = p4r_registry_version_latest(r, (*reg)[i].name, &v) == 0 && v.kind == P4R_KIND_DIR;

		p4r_error_clear();
		p4r_version_clear(&v);
		(*out)[k++] = (struct placed){ (*reg)[i].path, (*reg)[i].name, folder };
	}
	for (i = 0; i < n; i++)
		if (!models[i]->code)
			(*out)[k++] = (struct placed){ models[i]->rel, models[i]->name, dir && dir[i] };
	qsort(*out, k, sizeof(**out), cmp_placed);
	*nout = k;
	return 0;
}

/* Why model M (a folder when DIR) would nest, as the current error: 0
 * when it would not. */
static int nests(const struct placed *p, size_t n, const p4r_import_model *m, bool dir)
{
	const char *slash;
	size_t len = strlen(m->rel), up, i;
	char *below;

	for (slash = strchr(m->rel, '/'); slash; slash = strchr(slash + 1, '/')) {
		up = (size_t)(slash - m->rel);
		i = placed_from(p, n, m->rel, up);
		if (i < n && !strncmp(p[i].path, m->rel, up) && p[i].path[up] == '\0' && p[i].dir)
			return p4r_error_set(P4R_EUSAGE, "'%s' is inside the folder of model '%s' ('%s'); a model "
					     "cannot hold another", m->rel, p[i].name, p[i].path);
	}
	if (!dir)
		return 0;
	if (!(below = malloc(len + 2)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	snprintf(below, len + 2, "%s/", m->rel);
	i = placed_from(p, n, below, len + 1);
	free(below);
	if (i < n && !strncmp(p[i].path, m->rel, len) && p[i].path[len] == '/')
		return p4r_error_set(P4R_EUSAGE, "the folder '%s' holds '%s', the path of model '%s'; a model cannot "
				     "hold another", m->rel, p[i].path, p[i].name);
	return 0;
}

int p4r_import_check_nesting(p4r_repo *repo, p4r_import_model *const *models, const bool *dir, size_t n)
{
	struct placed *p = NULL;
	p4r_model *reg = NULL;
	size_t nreg = 0, np = 0, i;
	int rc;

	if ((rc = gather_placed(repo, models, dir, n, &reg, &nreg, &p, &np)) == 0)
		for (i = 0; i < n; i++)
			if (!models[i]->code && (rc = nests(p, np, models[i], dir && dir[i])) < 0) {
				if (rc == P4R_ERROR)
					break;
				p4r_import_model_fail(models[i], rc);
				rc = 0;
			}
	free(p);
	for (i = 0; i < nreg; i++)
		p4r_model_clear(&reg[i]);
	free(reg);
	return rc;
}

/* ---- what the registry has of a model ---- */

static const p4r_known_version *sort_known; /* qsort's context (one thread) */

static int cmp_by_commit(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(sort_known[i].git_commit, sort_known[j].git_commit);

	return c ? c : (i > j) - (i < j);
}

static int cmp_by_oid(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = memcmp(sort_known[i].oid.hex, sort_known[j].oid.hex, sizeof(sort_known[i].oid.hex));

	return c ? c : (i > j) - (i < j);
}

static int cmp_text(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int p4r_import_known_load(p4r_import_known *k, p4r_repo *repo, const char *model, const char *const *commits,
			  size_t n)
{
	size_t i, room;
	int rc;

	memset(k, 0, sizeof(*k));
	if ((rc = p4r_registry_known_versions(p4r_repo_registry(repo), model, &k->v, &k->n)) < 0)
		return rc;
	room = k->n ? k->n : 1;
	if (!(k->by_commit = malloc(room * sizeof(size_t))) || !(k->by_oid = malloc(room * sizeof(size_t))) ||
	    !(k->taken = calloc(room, sizeof(bool))) || !(k->commits = malloc((n ? n : 1) * sizeof(char *)))) {
		p4r_import_known_clear(k);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	for (i = 0; i < k->n; i++)
		k->by_commit[i] = k->by_oid[i] = i;
	sort_known = k->v;
	qsort(k->by_commit, k->n, sizeof(size_t), cmp_by_commit);
	qsort(k->by_oid, k->n, sizeof(size_t), cmp_by_oid);
	if (n)
		memcpy(k->commits, commits, n * sizeof(char *));
	k->ncommits = n;
	qsort(k->commits, n, sizeof(char *), cmp_text);
	return 0;
}

void p4r_import_known_clear(p4r_import_known *k)
{
	free(k->v);
	free(k->by_commit);
	free(k->by_oid);
	free(k->taken);
	free(k->commits);
	memset(k, 0, sizeof(*k));
}

void p4r_import_known_commit(const p4r_import_known *k, const char *commit, size_t *first, size_t *end)
{
	size_t lo = 0, hi = k->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(k->v[k->by_commit[mid]].git_commit, commit) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	while (lo < k->n && !strcmp(k->v[k->by_commit[lo]].git_commit, commit))
		lo++;
	*end = lo;
}

void p4r_import_known_take(p4r_import_known *k, int64_t number)
{
	size_t lo = 0, hi = k->n;

	/* the registry lists them by number */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->v[mid].number < number)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < k->n && k->v[lo].number == number)
		k->taken[lo] = true;
}

int64_t p4r_import_known_claim_oid(p4r_import_known *k, const p4r_oid *oid)
{
	size_t lo = 0, hi = k->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(k->v[k->by_oid[mid]].oid.hex, oid->hex, sizeof(oid->hex)) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < k->n && p4r_oid_equal(&k->v[k->by_oid[lo]].oid, oid); lo++) {
		const p4r_known_version *v = &k->v[k->by_oid[lo]];
		const char *c = v->git_commit;

		if (k->taken[k->by_oid[lo]] || bsearch(&c, k->commits, k->ncommits, sizeof(char *), cmp_text))
			continue;
		k->taken[k->by_oid[lo]] = true;
		return v->number;
	}
	return 0;
}
