/* p4r_import_dvc (ops/import.h), its first part: which .dvc files (the
 * work tree's, or every revision of them in HEAD's history, parsed as the
 * walk finds them), their outputs as items, the items grouped by output
 * into models and what each model has already. The bytes are
 * import_dvc_bytes.c's, the registry import_dvc_register.c's. */
#include "import_dvc_priv.h"
#include "p4reg/beneath.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/gitio.h"
#include "p4reg/imported.h"
#include "p4reg/objguard.h"
#include "p4reg/relpath.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- which .dvc files ---- */

static bool is_dvc_name(const char *path)
{
	size_t n = strlen(path);

	return n > 4 && !strcmp(path + n - 4, ".dvc") && path[n - 5] != '/';
}

/* The .dvc file PATH (repository-relative) is one the arguments name: the
 * file itself or one below a folder; any without arguments. */
static bool wanted(struct run *run, const char *path)
{
	size_t i, n;
	bool any = false;

	if (!is_dvc_name(path))
		return false;
	if (!run->opts->npaths)
		return true;
	for (i = 0; i < run->opts->npaths; i++) {
		n = strlen(run->args[i]);
		if (!n || !strcmp(run->args[i], path) || (!strncmp(run->args[i], path, n) && path[n] == '/'))
			any = run->matched[i] = true;
	}
	return any;
}

/* The walk's filter: git's PATH inside the repository's folder, wanted. */
static bool want_change(const char *path, void *payload)
{
	struct run *run = payload;
	size_t plen = strlen(run->prefix);

	return !strncmp(path, run->prefix, plen) && wanted(run, path + plen);
}

static int file_add(struct run *run, const char *rel)
{
	if (run->nfiles == run->capfiles) {
		size_t cap = run->capfiles ? run->capfiles * 2 : 16;
		void *p = realloc(run->files, cap * sizeof(*run->files));

		if (!p)
			return p4r_error_set(P4R_ERROR, "out of memory");
		run->files = p;
		run->capfiles = cap;
	}
	if (!(run->files[run->nfiles] = strdup(rel)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	run->nfiles++;
	return 0;
}

/* The .dvc files below the open folder FD (REL: its path, "" the root),
 * no link followed, hidden entries (.git, .dvc, .p4reg) skipped. */
static int walk(struct run *run, int fd, const char *rel, int depth)
{
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (depth > 64)
		return p4r_error_set(P4R_ERROR, "'%s' is nested deeper than 64 folders", rel);
	if (!(d = fdopendir(fd))) {
		close(fd);
		return p4r_error_errno("cannot read folder '%s'", rel[0] ? rel : ".");
	}
	while (rc == 0 && (e = readdir(d))) {
		char *path;
		struct stat st;
		int sub;

		if (e->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!(path = rel[0] ? p4r_path_join(rel, e->d_name) : strdup(e->d_name))) {
			rc = p4r_error_set(P4R_ERROR, "out of memory");
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				rc = walk(run, sub, path, depth + 1);
		} else if (S_ISREG(st.st_mode) && is_dvc_name(path)) {
			rc = file_add(run, path);
		}
		free(path);
	}
	closedir(d);
	return rc;
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The work tree's .dvc files the arguments name (a folder: every one
 * below it), sorted. */
static int find_files(struct run *run)
{
	size_t i, n = run->opts->npaths ? run->opts->npaths : 1;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		const char *arg = run->opts->npaths ? run->args[i] : "";
		struct stat st;
		int fd = -1;

		if (arg[0] && (rc = p4r_beneath_open(&fd, p4r_repo_root_fd(run->repo), arg, O_RDONLY | O_NOFOLLOW, 0)) < 0) {
			if (rc == P4R_ENOTFOUND)
				rc = p4r_error_set(P4R_ENOTFOUND, "'%s' does not exist", run->opts->paths[i]);
			break;
		}
		/* a descriptor of its own: a dup would share the root's read offset */
		if (!arg[0] && (fd = openat(p4r_repo_root_fd(run->repo), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			rc = p4r_error_errno("cannot open the repository");
			break;
		}
		if (fstat(fd, &st) < 0) {
			close(fd);
			rc = p4r_error_errno("cannot read '%s'", arg);
		} else if (S_ISDIR(st.st_mode)) {
			rc = walk(run, fd, arg, 0);
		} else {
			close(fd);
			rc = is_dvc_name(arg) ? file_add(run, arg) :
			     p4r_error_set(P4R_EUSAGE, "'%s' is not a .dvc file", run->opts->paths[i]);
		}
	}
	if (rc == 0 && run->nfiles > 1)
		qsort(run->files, run->nfiles, sizeof(*run->files), cmp_path);
	return rc;
}

/* ---- the outputs ---- */

const p4r_git_lfs_change *p4r_import_dvc_change(const struct run *run, const struct item *it)
{
	return it->change == DVC_NONE ? NULL : &run->changes[it->change];
}

int p4r_import_dvc_refuse(struct run *run, const char *dvc, const char *rel, const p4r_git_lfs_change *c,
			  int code)
{
	p4r_import_result *out = run->out;
	p4r_import_row *r = p4r_import_row_new(out, &run->caprows);

	if (!r)
		return P4R_ERROR;
	r->state = P4R_IMPORT_REFUSED;
	r->code = code;
	if (c) {
		memcpy(r->commit, c->commit, sizeof(r->commit));
		r->created_ms = c->time_ms;
		r->from_history = true;
	}
	r->path = strdup(rel ? rel : dvc);
	r->source = strdup(dvc);
	r->why = strdup(p4r_error_message());
	r->author = strdup(c ? c->author : "");
	r->message = strdup(c ? c->subject : "");
	p4r_error_clear();
	out->refused++;
	p4r_import_worst(out, code);
	if (!r->path || !r->source || !r->why || !r->author || !r->message)
		return p4r_error_set(P4R_ERROR, "out of memory");
	return 0;
}

/* The output PATH of the .dvc file DVC as a repository path: DVC's
 * folder joined with PATH, "." and ".." resolved; P4R_EINTEGRITY when it
 * is absolute or leaves the repository. */
static int output_path(const char *dvc, const char *path, char **out)
{
	const char *slash = strrchr(dvc, '/');
	char *dir = slash ? strndup(dvc, (size_t)(slash - dvc)) : strdup("");
	int rc;

	*out = NULL;
	if (!dir)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if ((rc = p4r_relpath_resolve(dir, path, out)) == P4R_EUSAGE)
		rc = p4r_error_set(P4R_EINTEGRITY, "its output '%s' is %s", path,
				   path[0] == '/' ? "an absolute path" : "outside the repository");
	free(dir);
	return rc;
}

static int item_add(struct run *run, const char *dvc, char *rel, const p4r_dvc_out *o, size_t change)
{
	struct item *it;

	if (run->nitems == run->capitems) {
		size_t cap = run->capitems ? run->capitems * 2 : 16;
		void *p = realloc(run->items, cap * sizeof(*run->items));

		if (!p) {
			free(rel);
			return p4r_error_set(P4R_ERROR, "out of memory");
		}
		run->items = p;
		run->capitems = cap;
	}
	it = &run->items[run->nitems++];
	memset(it, 0, sizeof(*it));
	it->rel = rel;
	it->bytes = DVC_NONE;
	it->change = change;
	it->size = o->size;
	it->dir = o->dir;
	it->dos2unix = o->dos2unix;
	memcpy(it->md5, o->md5, sizeof(it->md5));
	return (it->dvc = strdup(dvc)) ? 0 : p4r_error_set(P4R_ERROR, "out of memory");
}

/* What a push would refuse of commit C (an author too long, a date out
 * of range) refuses this change alone, as import git-lfs does, never the
 * whole model with a usage error. */
static int check_change(const p4r_git_lfs_change *c, const char *rel)
{
	p4r_version_input in = { .model = rel, .path = rel, .author = c->author, .message = c->subject,
				 .git_commit = c->commit, .now_ms = c->time_ms, .kind = P4R_KIND_FILE };

	return p4r_version_input_check(&in);
}

/* The outputs of the .dvc file DVC (its LEN bytes at BUF), of the change
 * C (its index CHANGE) or the work tree's (NULL, DVC_NONE): an item each,
 * or a refused row for the file or for an output p4reg cannot take. */
static int read_dvc(struct run *run, const char *dvc, const char *buf, size_t len, const p4r_git_lfs_change *c,
		    size_t change)
{
	p4r_dvc_file f;
	size_t i;
	int rc;

	if ((rc = p4r_dvc_parse(&f, buf, len)) < 0)
		return rc == P4R_EINTEGRITY ? p4r_import_dvc_refuse(run, dvc, NULL, c, rc) : rc;
	for (i = 0; i < f.n && rc == 0; i++) {
		char *rel = NULL;

		if ((rc = output_path(dvc, f.outs[i].path, &rel)) < 0) {
			rc = rc == P4R_EINTEGRITY ? p4r_import_dvc_refuse(run, dvc, NULL, c, rc) : rc;
			continue;
		}
		if (c && check_change(c, rel) < 0) {
			rc = p4r_import_dvc_refuse(run, dvc, rel, c, P4R_EINTEGRITY);
			free(rel);
			continue;
		}
		rc = item_add(run, dvc, rel, &f.outs[i], change);
	}
	p4r_dvc_file_clear(&f);
	return rc;
}

/* Reads the work tree's .dvc file REL (a regular file, no link). */
static int read_work_file(struct run *run, const char *rel, char **buf, size_t *len)
{
	struct stat st;
	ssize_t got;
	int fd, rc = 0;

	*buf = NULL;
	*len = 0;
	if ((rc = p4r_beneath_open_regular(&fd, &st, p4r_repo_root_fd(run->repo), rel)) < 0)
		return rc;
	if (st.st_size > P4R_DVC_FILE_MAX) {
		close(fd);
		return p4r_error_set(P4R_EINTEGRITY, "invalid .dvc file: larger than 1 MiB");
	}
	if (!(*buf = malloc((size_t)st.st_size + 1))) {
		close(fd);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	while (*len < (size_t)st.st_size && (got = read(fd, *buf + *len, (size_t)st.st_size - *len)) > 0)
		*len += (size_t)got;
	if (*len < (size_t)st.st_size)
		rc = p4r_error_errno("cannot read '%s'", rel);
	close(fd);
	return rc;
}

/* --history: each revision of a wanted .dvc file as the walk finds it
 * (its blob is gone after this call). */
static int each_change(const p4r_git_lfs_change *c, size_t index, void *payload)
{
	struct run *run = payload;
	const char *dvc = c->path + strlen(run->prefix);

	if (c->refused) {
		p4r_error_set(P4R_EINTEGRITY, "invalid .dvc file: %s", c->refused);
		return p4r_import_dvc_refuse(run, dvc, NULL, c, P4R_EINTEGRITY);
	}
	return read_dvc(run, dvc, c->blob, c->blob_len, c, index);
}

/* Every output of the work tree's .dvc files, or of every revision of
 * them in HEAD's history. */
static int read_all(struct run *run)
{
	p4r_git_lfs_walk w = { .since = run->opts->since, .all_parents = run->opts->all_parents,
			       .want = want_change, .payload = run, .raw = true, .raw_max = P4R_DVC_FILE_MAX,
			       .each = each_change };
	size_t i;
	int rc = 0;

	if (run->opts->history)
		return p4r_git_lfs_history(run->git, &w, &run->changes, &run->nchanges);
	if ((rc = find_files(run)) < 0)
		return rc;
	for (i = 0; i < run->nfiles && rc == 0; i++) {
		char *buf = NULL;
		size_t len = 0;

		if ((rc = read_work_file(run, run->files[i], &buf, &len)) == 0)
			rc = read_dvc(run, run->files[i], buf, len, NULL, DVC_NONE);
		else if (rc == P4R_EINTEGRITY || rc == P4R_EUSAGE)
			rc = p4r_import_dvc_refuse(run, run->files[i], NULL, NULL, P4R_EINTEGRITY);
		free(buf);
	}
	return rc;
}

/* ---- the models ---- */

static const struct run *sort_run; /* qsort's context: one sort at a time, one thread */

static int cmp_item_rel(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(sort_run->items[i].rel, sort_run->items[j].rel);

	/* the same output: in the order read (commit order) */
	return c ? c : (i > j) - (i < j);
}

static int model_add_item(struct model *m, size_t item)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 8;
		void *p = realloc(m->items, cap * sizeof(*m->items));

		if (!p)
			return p4r_error_set(P4R_ERROR, "out of memory");
		m->items = p;
		m->cap = cap;
	}
	m->items[m->n++] = item;
	return 0;
}

static int cmp_model_first(const void *a, const void *b)
{
	size_t i = ((const struct model *)a)->items[0], j = ((const struct model *)b)->items[0];

	return (i > j) - (i < j);
}

/* The items by output path, a model each, in the order of their first
 * item (sorted, then grouped: a hostile history's outputs stay n log n). */
static int group(struct run *run)
{
	size_t *order, i;
	int rc = 0;

	if (!(run->models = calloc(run->nitems ? run->nitems : 1, sizeof(*run->models))) ||
	    !(order = malloc((run->nitems ? run->nitems : 1) * sizeof(*order))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < run->nitems; i++)
		order[i] = i;
	sort_run = run;
	qsort(order, run->nitems, sizeof(*order), cmp_item_rel);
	for (i = 0; i < run->nitems && rc == 0; i++) {
		if (!i || strcmp(run->items[order[i]].rel, run->items[order[i - 1]].rel)) {
			if (!(run->models[run->nmodels].base.rel = strdup(run->items[order[i]].rel))) {
				rc = p4r_error_set(P4R_ERROR, "out of memory");
				break;
			}
			run->nmodels++;
		}
		rc = model_add_item(&run->models[run->nmodels - 1], order[i]);
	}
	free(order);
	/* the models in the order of their first item, as read */
	qsort(run->models, run->nmodels, sizeof(*run->models), cmp_model_first);
	return rc;
}

/* Whether model M is a folder model: as its newest version is, else as
 * its first output here is (*DIR). A revision of the other kind is refused
 * alone: a model never switches between file and folder (add's rule). */
static int settle_kind(struct run *run, struct model *m, bool *dir)
{
	p4r_version v = { 0 };
	size_t i;
	int rc = p4r_registry_version_latest(p4r_repo_registry(run->repo), m->base.name, &v);

	if (rc < 0 && rc != P4R_ENOTFOUND)
		return rc;
	*dir = rc == 0 ? v.kind == P4R_KIND_DIR : run->items[m->items[0]].dir;
	p4r_error_clear();
	p4r_version_clear(&v);
	for (i = 0, rc = 0; i < m->n && rc == 0; i++) {
		struct item *it = &run->items[m->items[i]];

		if (it->dir == *dir || it->plan == PLAN_REFUSED)
			continue;
		p4r_error_set(P4R_ERROR, "model '%s' is a %s model; this output is a %s (a model cannot switch "
			      "between file and folder: import it alone with --name)", m->base.name,
			      *dir ? "folder" : "file", it->dir ? "folder" : "file");
		it->plan = PLAN_REFUSED;
		rc = p4r_import_dvc_refuse(run, it->dvc, it->rel, p4r_import_dvc_change(run, it), P4R_ERROR);
	}
	return rc;
}

/* Each model's name (p4r_import_name_models), its kind, and that it does
 * not nest in a folder model nor hold one (p4r_import_check_nesting). */
static int name_models(struct run *run)
{
	size_t n = run->nmodels ? run->nmodels : 1, k;
	p4r_import_model **models = malloc(n * sizeof(*models));
	bool *dir = calloc(n, sizeof(*dir));
	int rc = models && dir ? 0 : p4r_error_set(P4R_ERROR, "out of memory");

	for (k = 0; k < run->nmodels && rc == 0; k++)
		models[k] = &run->models[k].base;
	if (rc == 0)
		rc = p4r_import_name_models(run->repo, run->opts->name, models, run->nmodels);
	for (k = 0; k < run->nmodels && rc == 0; k++)
		if (!run->models[k].base.code)
			rc = settle_kind(run, &run->models[k], &dir[k]);
	if (rc == 0)
		rc = p4r_import_check_nesting(run->repo, models, dir, run->nmodels);
	free(models);
	free(dir);
	return rc;
}

/* Version V stands for item IT of the same commit: the same size, when
 * its .dvc file says (a version made from the work tree's .dvc file names
 * HEAD, which may differ). */
static bool same_size(const struct item *it, const p4r_known_version *v)
{
	return it->size < 0 || it->size == (it->dir ? v->tree_size : v->size);
}

int p4r_import_dvc_match(struct run *run, struct model *m, bool by_oid)
{
	p4r_import_known k;
	const char **commits;
	size_t i, j, end;
	int rc;

	if (m->base.code || !run->opts->history)
		return 0;
	if (!(commits = malloc((m->n ? m->n : 1) * sizeof(*commits))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < m->n; i++)
		commits[i] = run->changes[run->items[m->items[i]].change].commit;
	rc = p4r_import_known_load(&k, run->repo, m->base.name, commits, m->n);
	free(commits);
	if (rc < 0)
		return rc;
	for (i = 0; i < m->n; i++)
		if (run->items[m->items[i]].plan == PLAN_HAD)
			p4r_import_known_take(&k, run->items[m->items[i]].number);
	for (i = 0; i < m->n; i++) {
		struct item *it = &run->items[m->items[i]];
		p4r_oid oid;
		int64_t size;

		if (it->plan != PLAN_NEW)
			continue;
		p4r_import_known_commit(&k, run->changes[it->change].commit, &j, &end);
		for (; j < end && (k.taken[k.by_commit[j]] || !same_size(it, &k.v[k.by_commit[j]])); j++)
			;
		if (j < end) {
			k.taken[k.by_commit[j]] = true;
			it->plan = PLAN_HAD;
			it->number = k.v[k.by_commit[j]].number;
		} else if (by_oid && it->bytes != DVC_NONE) {
			p4r_import_dvc_object(run, it, &oid, &size);
			if ((it->number = p4r_import_known_claim_oid(&k, &oid)))
				it->plan = PLAN_HAD;
		}
	}
	p4r_import_known_clear(&k);
	return 0;
}

/* ---- the run ---- */

static int check_args(struct run *run)
{
	size_t i;
	int rc = 0;

	if (run->opts->npaths && (!(run->args = calloc(run->opts->npaths, sizeof(char *))) ||
				  !(run->matched = calloc(run->opts->npaths, sizeof(bool)))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < run->opts->npaths && rc == 0; i++)
		rc = p4r_import_arg_path(run->repo, run->opts->paths[i], &run->args[i]);
	if (rc < 0 || !run->opts->history)
		return rc;
	if (!run->git)
		return p4r_error_set(P4R_ERROR, "import dvc --history reads git's history: not inside a git work "
				     "tree");
	if ((rc = p4r_import_prefix(run->repo, run->git, &run->prefix)) < 0)
		return rc;
	if (run->opts->nstages && !(run->stage_commits = calloc(run->opts->nstages, sizeof(*run->stage_commits))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	return p4r_import_resolve_stages(run->git, run->opts, run->stage_commits);
}

/* What the arguments and the outputs found allow: every PATH named a .dvc
 * file of the history; --name only for one output. */
static int check_found(struct run *run)
{
	size_t i;

	for (i = 0; i < run->opts->npaths && run->opts->history && !run->opts->since; i++)
		if (!run->matched[i])
			return p4r_error_set(P4R_ENOTFOUND, "'%s' matches no .dvc file in the history of HEAD",
					     run->opts->paths[i]);
	if (run->opts->name && run->nmodels > 1)
		return p4r_error_set(P4R_EUSAGE, "--name applies to one output; the .dvc files name %zu (%s, %s%s)",
				     run->nmodels, run->models[0].base.rel, run->models[1].base.rel,
				     run->nmodels > 2 ? ", ..." : "");
	return 0;
}

/* The failed models as OUT's failures. */
static int collect(struct run *run)
{
	size_t k;
	int rc;

	for (k = 0; k < run->nmodels; k++) {
		struct model *m = &run->models[k];

		if (!m->base.code)
			continue;
		p4r_error_set(m->base.code, "%s", m->base.why ? m->base.why : "out of memory");
		if ((rc = p4r_import_fail(run->out, &run->capfail, m->base.name, m->base.rel, m->base.code)) < 0)
			return rc;
	}
	return 0;
}

static void run_free(struct run *run)
{
	size_t i;

	for (i = 0; i < run->nitems; i++) {
		free(run->items[i].dvc);
		free(run->items[i].rel);
	}
	free(run->items);
	for (i = 0; i < run->nmodels; i++) {
		free(run->models[i].base.rel);
		free(run->models[i].items);
		free(run->models[i].base.why);
	}
	free(run->models);
	p4r_import_dvc_store_free(run);
	free(run->stage_commits);
	for (i = 0; i < run->nfiles; i++)
		free(run->files[i]);
	free(run->files);
	for (i = 0; run->args && i < run->opts->npaths; i++)
		free(run->args[i]);
	free(run->args);
	free(run->matched);
	free(run->prefix);
	p4r_git_lfs_change_array_free(run->changes, run->nchanges);
	p4r_git_free(run->git);
}

int p4r_import_dvc(p4r_repo *repo, const p4r_import_opts *opts, const p4r_op_report *report,
		   p4r_import_result *out)
{
	struct run run = { .repo = repo, .opts = opts, .report = report, .out = out,
			   .progress = { .report = report, .lock = PTHREAD_MUTEX_INITIALIZER } };
	const char *why = NULL;
	size_t k;
	int rc;

	memset(out, 0, sizeof(*out));
	if (opts->name && !p4r_model_name_valid(opts->name))
		return p4r_error_set(P4R_EUSAGE, "invalid model name '%s'", opts->name);
	if ((rc = p4r_git_open_why(&run.git, p4r_repo_root(repo), &why)) < 0 || (rc = check_args(&run)) < 0 ||
	    (rc = read_all(&run)) < 0 || (rc = group(&run)) < 0 || (rc = check_found(&run)) < 0 ||
	    (rc = name_models(&run)) < 0)
		goto done;
	for (k = 0; k < run.nmodels && rc == 0; k++)
		rc = p4r_import_dvc_match(&run, &run.models[k], false);
	if (rc == 0 && (rc = p4r_import_dvc_store(&run)) == 0 && (rc = p4r_import_dvc_register(&run)) == 0)
		rc = collect(&run);
done:
	if (run.norder)
		p4r_objguard_warn_link_hazard(repo, run.order, run.norder, report);
	run_free(&run);
	return rc;
}
