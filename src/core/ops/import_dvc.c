/* p4r_import_dvc (ops/import.h): DVC-tracked outputs as versions -- the
 * .dvc files of the work tree (or, with --history, every commit that
 * changed one), their bytes from DVC's cache checked against its MD5 and
 * stored by SHA-256 in parallel, one registry transaction per model, and
 * p4reg pointers beside the outputs when asked. */
#include "import_priv.h"
#include "p4reg/batch.h"
#include "p4reg/beneath.h"
#include "p4reg/dvc.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/gitio.h"
#include "p4reg/gitscan.h"
#include "p4reg/hash.h"
#include "p4reg/imported.h"
#include "p4reg/objguard.h"
#include "p4reg/parallel.h"
#include "p4reg/pointer.h"
#include "p4reg/store.h"
#include "p4reg/worktree.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum plan { PLAN_NEW, PLAN_HAD, PLAN_REFUSED };

/* One output of one revision of a .dvc file. */
struct item {
	char *dvc;                /* the .dvc file, repository-relative */
	char *rel;                /* the output, repository-relative */
	char md5[33];
	int64_t size;             /* -1: the .dvc file does not say */
	const p4r_git_lfs_change *c; /* --history: its commit; NULL: the work tree's */
	enum plan plan;
	int code;                 /* PLAN_REFUSED: */
	char *why;
	size_t task;              /* its bytes' task; SIZE_MAX: none */
	int64_t number;           /* its version, once registered or found */
	bool unchanged;           /* the work tree's: the model had these bytes */
};

/* One output path: one model. */
struct model {
	char *rel;
	char name[P4R_MODEL_NAME_MAX + 1];
	size_t *items;            /* indices into the run's items, in commit order */
	size_t n, cap;
	int code;                 /* failed: its code and why */
	char *why;
};

/* The bytes of one cache entry. */
struct task {
	char md5[33];
	int64_t size;
	char cache[PATH_MAX];     /* the cache entry */
	const char *rel;          /* an output it is (messages) */
	struct run *run;
	p4r_oid oid;              /* its SHA-256 once read */
	p4r_insert_result ins;
	uint64_t reported;
	int rc;
	char *why;
};

struct run {
	p4r_repo *repo;
	const p4r_import_opts *opts;
	const p4r_op_report *report;
	p4r_git *git;             /* NULL outside git (then no --history) */
	char (*stage_commits)[41]; /* --stage: each REV's commit */
	char **args;              /* OPTS->paths, repository-relative */
	bool *matched;
	char **files;             /* the work tree's .dvc files */
	size_t nfiles, capfiles;
	p4r_git_lfs_change *changes; /* --history: the .dvc files' revisions */
	size_t nchanges;
	struct item *items;
	size_t nitems, capitems;
	struct model *models;
	size_t nmodels;
	struct task *tasks;
	size_t ntasks;
	p4r_link_type order[P4R_LINK_MAX];
	size_t norder;
	pthread_mutex_t lock;
	uint64_t done, total, items_done;
	size_t caprows, capfail;
};

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

/* The walk's filter: git's path is the repository's (p4reg's root is the
 * git work tree's top, as --history needs). */
static bool want_change(const char *path, void *payload)
{
	return wanted(payload, path);
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

/* A refused row: the .dvc file DVC (its output REL, nullable), C's
 * commit (nullable), CODE and the current error. */
static int refuse_row(struct run *run, p4r_import_result *out, const char *dvc, const char *rel,
		      const p4r_git_lfs_change *c, int code)
{
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
	size_t dlen = slash ? (size_t)(slash - dvc) : 0, n, len = 0;
	char *full, *res, *p;

	*out = NULL;
	if (path[0] == '/')
		return p4r_error_set(P4R_EINTEGRITY, "its output '%s' is an absolute path", path);
	n = dlen + strlen(path) + 2;
	if (!(full = malloc(n)) || !(res = calloc(n, 1))) {
		free(full);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	snprintf(full, n, "%.*s%s%s", (int)dlen, dvc, dlen ? "/" : "", path);
	for (p = full; *p; p += n + (p[n] == '/')) {
		n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.'))
			continue;
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (!len) {
				free(full);
				free(res);
				return p4r_error_set(P4R_EINTEGRITY, "its output '%s' is outside the repository", path);
			}
			while (len > 0 && res[len - 1] != '/')
				len--;
			if (len > 0)
				len--;
			res[len] = '\0';
			continue;
		}
		if (len)
			res[len++] = '/';
		memcpy(res + len, p, n);
		len += n;
		res[len] = '\0';
	}
	free(full);
	*out = res;
	return 0;
}

static int item_add(struct run *run, const char *dvc, char *rel, const p4r_dvc_out *o,
		    const p4r_git_lfs_change *c)
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
	it->task = SIZE_MAX;
	it->c = c;
	it->size = o->size;
	memcpy(it->md5, o->md5, sizeof(it->md5));
	return (it->dvc = strdup(dvc)) ? 0 : p4r_error_set(P4R_ERROR, "out of memory");
}

/* The outputs of the .dvc file DVC (its LEN bytes at BUF), of commit C or
 * the work tree's: an item each, or a refused row for the file or for an
 * output p4reg cannot take. */
static int read_dvc(struct run *run, p4r_import_result *out, const char *dvc, const char *buf, size_t len,
		    const p4r_git_lfs_change *c)
{
	p4r_dvc_file f;
	size_t i;
	int rc;

	if ((rc = p4r_dvc_parse(&f, buf, len)) < 0)
		return rc == P4R_EINTEGRITY ? refuse_row(run, out, dvc, NULL, c, rc) : rc;
	for (i = 0; i < f.n && rc == 0; i++) {
		char *rel = NULL;

		if ((rc = output_path(dvc, f.outs[i].path, &rel)) < 0) {
			rc = rc == P4R_EINTEGRITY ? refuse_row(run, out, dvc, NULL, c, rc) : rc;
			continue;
		}
		if (f.outs[i].dir) {
			p4r_error_set(P4R_ERROR, "a directory output (its md5 ends in .dir) is not imported yet: "
				      "'p4reg add %s' adds the folder as it is now", rel);
			rc = refuse_row(run, out, dvc, rel, c, P4R_ERROR);
			free(rel);
			continue;
		}
		/* what a push would refuse of the commit (an author too long,
		 * a date out of range) refuses this change alone, as import
		 * git-lfs does, never the whole model with a usage error */
		if (c) {
			p4r_version_input in = { .model = rel, .path = rel, .size = f.outs[i].size < 0 ? 0 : f.outs[i].size,
						 .author = c->author, .message = c->subject, .git_commit = c->commit,
						 .now_ms = c->time_ms, .kind = P4R_KIND_FILE };

			if (p4r_version_input_check(&in) < 0) {
				rc = refuse_row(run, out, dvc, rel, c, P4R_EINTEGRITY);
				free(rel);
				continue;
			}
		}
		rc = item_add(run, dvc, rel, &f.outs[i], c);
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

/* Every output of the work tree's .dvc files, or of every revision of
 * them in HEAD's history. */
static int read_all(struct run *run, p4r_import_result *out)
{
	p4r_git_lfs_walk w = { .since = run->opts->since, .all_parents = run->opts->all_parents,
			       .want = want_change, .payload = run, .raw = true, .raw_max = P4R_DVC_FILE_MAX };
	size_t i;
	int rc = 0;

	if (run->opts->history) {
		if ((rc = p4r_git_lfs_history(run->git, &w, &run->changes, &run->nchanges)) < 0)
			return rc;
		for (i = 0; i < run->nchanges && rc == 0; i++) {
			const p4r_git_lfs_change *c = &run->changes[i];

			if (c->refused) {
				p4r_error_set(P4R_EINTEGRITY, "invalid .dvc file: %s", c->refused);
				rc = refuse_row(run, out, c->path, NULL, c, P4R_EINTEGRITY);
			} else {
				rc = read_dvc(run, out, c->path, c->blob, c->blob_len, c);
			}
		}
		return rc;
	}
	if ((rc = find_files(run)) < 0)
		return rc;
	for (i = 0; i < run->nfiles && rc == 0; i++) {
		char *buf = NULL;
		size_t len = 0;

		if ((rc = read_work_file(run, run->files[i], &buf, &len)) == 0)
			rc = read_dvc(run, out, run->files[i], buf, len, NULL);
		else if (rc == P4R_EINTEGRITY || rc == P4R_EUSAGE)
			rc = refuse_row(run, out, run->files[i], NULL, NULL, P4R_EINTEGRITY);
		free(buf);
	}
	return rc;
}

/* ---- the models ---- */

static int group(struct run *run)
{
	size_t i, j;

	if (!(run->models = calloc(run->nitems ? run->nitems : 1, sizeof(*run->models))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < run->nitems; i++) {
		struct model *m;

		for (j = 0; j < run->nmodels && strcmp(run->models[j].rel, run->items[i].rel); j++)
			;
		m = &run->models[j];
		if (j == run->nmodels && !(run->models[run->nmodels++].rel = strdup(run->items[i].rel)))
			return p4r_error_set(P4R_ERROR, "out of memory");
		if (m->n == m->cap) {
			size_t cap = m->cap ? m->cap * 2 : 8;
			void *p = realloc(m->items, cap * sizeof(*m->items));

			if (!p)
				return p4r_error_set(P4R_ERROR, "out of memory");
			m->items = p;
			m->cap = cap;
		}
		m->items[m->n++] = i;
	}
	return 0;
}

static void model_fail(struct model *m, int code)
{
	free(m->why);
	m->code = code;
	m->why = strdup(p4r_error_message());
	p4r_error_clear();
}

/* Names model K (p4r_import_name, no name twice in a run) and, with
 * --history, marks the changes its versions have: one with the same
 * commit. */
static int plan_model(struct run *run, size_t k)
{
	struct model *m = &run->models[k];
	p4r_known_version *known = NULL;
	size_t nknown = 0, i, j;
	int rc = p4r_import_name(run->repo, m->rel, run->opts->name, m->name, sizeof(m->name));

	for (j = 0; j < k && rc == 0; j++)
		if (!run->models[j].code && !strcmp(run->models[j].name, m->name))
			rc = p4r_error_set(P4R_EEXISTS, "'%s' and '%s' make the same model name '%s'; import "
					   "each alone with --name", run->models[j].rel, m->rel, m->name);
	if (rc < 0) {
		if (rc == P4R_ERROR)
			return rc;
		model_fail(m, rc);
		return 0;
	}
	if (!run->opts->history)
		return 0;
	if ((rc = p4r_registry_known_versions(p4r_repo_registry(run->repo), m->name, &known, &nknown)) < 0)
		return rc;
	for (i = 0; i < m->n; i++) {
		struct item *it = &run->items[m->items[i]];

		/* a version of the work tree's .dvc file names HEAD, which may
		 * have differed: the size must agree too (when the file says) */
		for (j = 0; j < nknown; j++)
			if (!strcmp(known[j].git_commit, it->c->commit) && (it->size < 0 || it->size == known[j].size)) {
				it->plan = PLAN_HAD;
				it->number = known[j].number;
				break;
			}
	}
	free(known);
	return 0;
}

/* ---- the bytes ---- */

/* The DVC cache of the .dvc file DVC: .dvc/cache of the nearest folder
 * from DVC's up to the repository's root that holds a .dvc folder (the
 * root's when none does). */
static int cache_dir(struct run *run, const char *dvc, char *buf, size_t bufsz)
{
	const char *root = p4r_repo_root(run->repo);
	size_t n = strlen(dvc);
	struct stat st;

	for (;;) {
		while (n > 0 && dvc[n - 1] != '/')
			n--;
		if (n > 0)
			n--; /* the folder DVC[0..n) */
		snprintf(buf, bufsz, "%s/%.*s%s.dvc", root, (int)n, dvc, n ? "/" : "");
		if ((lstat(buf, &st) == 0 && S_ISDIR(st.st_mode)) || n == 0)
			break;
	}
	if ((size_t)snprintf(buf, bufsz, "%s/%.*s%s.dvc/cache", root, (int)n, dvc, n ? "/" : "") >= bufsz)
		return p4r_error_set(P4R_ERROR, "the path of '%s' is too long", dvc);
	return 0;
}

static void report_bytes(struct run *run)
{
	p4r_progress p = { .label = "import", .unit = "objects", .items = run->items_done,
			   .items_total = run->ntasks, .has_bytes = true, .bytes = run->done,
			   .bytes_total = run->total };

	p4r_op_progress_count(run->report, &p);
}

/* The task of item IT's bytes (one per cache entry), added when new; a
 * missing entry refuses IT. */
static int task_for(struct run *run, p4r_import_result *out, struct item *it)
{
	char dir[PATH_MAX], path[PATH_MAX];
	size_t i;
	int rc;

	for (i = 0; i < run->ntasks; i++)
		if (!strcmp(run->tasks[i].md5, it->md5)) {
			it->task = i;
			return 0;
		}
	if ((rc = cache_dir(run, it->dvc, dir, sizeof(dir))) < 0)
		return rc;
	if ((rc = p4r_dvc_cache_find(path, sizeof(path), dir, it->md5)) < 0) {
		if (rc != P4R_ENOTFOUND)
			return rc;
		p4r_error_set(P4R_ERROR, "not in the DVC cache ('%s' nor the older layout): 'dvc fetch' (with "
			      "--all-commits for history) brings it", path);
		it->plan = PLAN_REFUSED;
		return refuse_row(run, out, it->dvc, it->rel, it->c, P4R_ERROR);
	}
	if (!(run->ntasks % 64)) {
		void *p = realloc(run->tasks, (run->ntasks + 64) * sizeof(*run->tasks));

		if (!p)
			return p4r_error_set(P4R_ERROR, "out of memory");
		run->tasks = p;
	}
	memset(&run->tasks[run->ntasks], 0, sizeof(run->tasks[0]));
	memcpy(run->tasks[run->ntasks].md5, it->md5, sizeof(it->md5));
	snprintf(run->tasks[run->ntasks].cache, sizeof(run->tasks[0].cache), "%s", path);
	run->tasks[run->ntasks].size = it->size;
	run->tasks[run->ntasks].rel = it->rel;
	run->tasks[run->ntasks].run = run;
	run->total += it->size > 0 ? (uint64_t)it->size : 0;
	it->task = run->ntasks++;
	return 0;
}

static void task_progress(uint64_t done, uint64_t total, void *payload)
{
	struct task *t = payload;
	struct run *run = t->run;

	(void)total;
	pthread_mutex_lock(&run->lock);
	run->done += done > t->reported ? done - t->reported : 0;
	t->reported = done;
	report_bytes(run);
	pthread_mutex_unlock(&run->lock);
}

/* The cache entry of task T opened below the repository's root, no link
 * followed (a folder of its path may be a link a clone planted): *DIRFD
 * its folder, *BASE its name; P4R_EINTEGRITY when it cannot be reached so. */
static int open_cache_dir(struct run *run, const struct task *t, int *dirfd, const char **base)
{
	const char *root = p4r_repo_root(run->repo);
	size_t rlen = strcmp(root, "/") ? strlen(root) : 0;
	const char *rel = t->cache + rlen + 1;
	int rc;

	*dirfd = -1;
	if (strncmp(t->cache, root, rlen) || t->cache[rlen] != '/')
		return p4r_error_set(P4R_EINTEGRITY, "DVC cache entry '%s' is outside the repository", t->cache);
	if ((rc = p4r_beneath_parent(dirfd, base, p4r_repo_root_fd(run->repo), rel, false)) < 0) {
		p4r_error_clear();
		return p4r_error_set(P4R_EINTEGRITY, "DVC cache entry '%s' of '%s' cannot be reached without "
				     "following a symbolic link", t->cache, t->rel);
	}
	return 0;
}

/* The MD5 of OID's object in the store (the bytes that will be
 * registered, not the cache entry's, which may change meanwhile). */
static int md5_stored(struct run *run, const p4r_oid *oid, char md5[33], uint64_t *size)
{
	char path[PATH_MAX];
	int rc;

	if ((rc = p4r_store_object_path(p4r_repo_store(run->repo), oid, path, sizeof(path))) < 0)
		return rc;
	return p4r_dvc_md5_file(md5, size, path);
}

/* Task I: the cache entry's bytes, opened without following a link,
 * stored by SHA-256, then the stored object's MD5 (and size) checked
 * against the .dvc file's, so what is registered is what was checked; a
 * dry run hashes the entry both ways. A failure is the task's, never the
 * loop's. */
static int store_one(size_t i, void *payload)
{
	struct run *run = payload;
	struct task *t = &run->tasks[i];
	const char *base = NULL;
	char md5[33] = "";
	struct stat st;
	uint64_t size = 0;
	int rc, dirfd = -1, fd = -1;

	rc = open_cache_dir(run, t, &dirfd, &base);
	if (rc == 0 && run->opts->dry_run) {
		if ((fd = openat(dirfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
			rc = p4r_error_errno("cannot open '%s'", t->cache);
		if (rc == 0 && (rc = p4r_dvc_md5_fd(md5, &size, fd, t->cache)) == 0 && lseek(fd, 0, SEEK_SET) < 0)
			rc = p4r_error_errno("cannot read '%s'", t->cache);
		if (rc == 0)
			rc = p4r_hash_fd(&t->oid, &size, fd);
	} else if (rc == 0 && (rc = p4r_store_insert_at(p4r_repo_store(run->repo), dirfd, base, t->cache, run->order,
						   run->norder, &t->ins, &st, task_progress, t)) == 0) {
		t->oid = t->ins.oid;
		rc = md5_stored(run, &t->oid, md5, &size);
	}
	if (rc == P4R_EUSAGE)
		rc = p4r_error_set(P4R_EINTEGRITY, "%s", p4r_error_message());
	if (rc == 0 && strcmp(md5, t->md5))
		rc = p4r_error_set(P4R_EINTEGRITY, "DVC cache entry '%s' of '%s' is corrupt: its MD5 is %s, not %s",
				   t->cache, t->rel, md5, t->md5);
	else if (rc == 0 && t->size >= 0 && size != (uint64_t)t->size)
		rc = p4r_error_set(P4R_EINTEGRITY, "DVC cache entry '%s' of '%s' has %llu bytes; its .dvc file "
				   "says %lld", t->cache, t->rel, (unsigned long long)size, (long long)t->size);
	t->size = (int64_t)size;
	if (fd >= 0)
		close(fd);
	if (dirfd >= 0)
		close(dirfd);
	if (rc < 0) {
		t->rc = rc;
		t->why = strdup(p4r_error_message());
		p4r_error_clear();
	}
	pthread_mutex_lock(&run->lock);
	run->items_done++;
	report_bytes(run);
	pthread_mutex_unlock(&run->lock);
	return 0;
}

/* Reads every cache entry a new item needs; a model one failed for fails
 * whole. */
static int store_all(struct run *run, p4r_import_result *out)
{
	p4r_store *store = p4r_repo_store(run->repo);
	size_t k, i;
	int rc = 0;

	for (k = 0; k < run->nmodels && rc == 0; k++)
		for (i = 0; i < run->models[k].n && rc == 0 && !run->models[k].code; i++) {
			struct item *it = &run->items[run->models[k].items[i]];

			if (it->plan == PLAN_NEW)
				rc = task_for(run, out, it);
		}
	if (rc < 0 || !run->ntasks)
		return rc;
	if ((rc = p4r_repo_link_order(run->repo, run->order, &run->norder)) < 0)
		return rc;
	p4r_store_defer_sync(store, run->ntasks >= 128);
	rc = p4r_parallel_for(run->ntasks, run->opts->threads, store_one, run);
	p4r_store_defer_sync(store, false);
	if (rc == 0 && !run->opts->dry_run)
		rc = p4r_store_sync(store);
	for (k = 0; k < run->nmodels && rc == 0; k++) {
		struct model *m = &run->models[k];

		for (i = 0; i < m->n && !m->code; i++) {
			struct item *it = &run->items[m->items[i]];

			if (it->task == SIZE_MAX || !run->tasks[it->task].rc)
				continue;
			p4r_error_set(run->tasks[it->task].rc, "%s", run->tasks[it->task].why ?
				      run->tasks[it->task].why : "out of memory");
			model_fail(m, run->tasks[it->task].rc);
		}
	}
	return rc;
}

/* ---- the registry ---- */

/* --history: a new item whose bytes a version of the model has, with a
 * commit that changed no .dvc file of it (the work tree's import, an
 * add), is that version; each version stands for one change. */
static int claim(struct run *run, struct model *m)
{
	p4r_known_version *known = NULL;
	bool *taken = NULL;
	size_t nknown = 0, i, j, l;
	int rc;

	if (!run->opts->history)
		return 0;
	if ((rc = p4r_registry_known_versions(p4r_repo_registry(run->repo), m->name, &known, &nknown)) < 0)
		return rc;
	if (nknown && !(taken = calloc(nknown, sizeof(bool)))) {
		free(known);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	for (i = 0; i < m->n; i++) {
		struct item *it = &run->items[m->items[i]];

		if (it->plan != PLAN_NEW || it->task == SIZE_MAX)
			continue;
		for (j = 0; j < nknown; j++) {
			bool of_change = false;

			for (l = 0; l < m->n && !of_change; l++)
				of_change = !strcmp(run->items[m->items[l]].c->commit, known[j].git_commit);
			if (!taken[j] && !of_change && p4r_oid_equal(&known[j].oid, &run->tasks[it->task].oid))
				break;
		}
		if (j < nknown) {
			taken[j] = true;
			it->plan = PLAN_HAD;
			it->number = known[j].number;
		}
	}
	free(taken);
	free(known);
	return 0;
}

/* M's --stage moves, in its transaction: the version of each REV's
 * commit. */
static int stage_model(struct run *run, struct model *m, const char *actor, p4r_import_result *out)
{
	size_t k, i;
	int rc = 0;

	for (k = 0; k < run->opts->nstages && rc == 0; k++) {
		int64_t number = 0;

		for (i = 0; i < m->n; i++) {
			const struct item *it = &run->items[m->items[i]];

			if (it->plan != PLAN_REFUSED && it->c && !strcmp(it->c->commit, run->stage_commits[k]))
				number = it->number;
		}
		rc = p4r_import_set_stage(run->repo, run->opts, k, run->stage_commits[k], m->name, number, actor, out);
	}
	return rc;
}

/* Model M's new versions in one transaction (rolled back by a dry run),
 * then its --stage moves. */
static int register_model(struct run *run, struct model *m, const p4r_git_provenance *prov, const char *actor,
			  const char *detail, p4r_import_result *out)
{
	p4r_registry *reg = p4r_repo_registry(run->repo);
	char message[PATH_MAX + 32];
	size_t i;
	int rc;

	if ((rc = p4r_registry_begin(reg)) < 0)
		return rc;
	for (i = 0; i < m->n && rc == 0; i++) {
		struct item *it = &run->items[m->items[i]];
		struct task *t = it->task == SIZE_MAX ? NULL : &run->tasks[it->task];
		p4r_version_input in = { .model = m->name, .path = m->rel, .git_dirty = -1, .kind = P4R_KIND_FILE };
		p4r_add_outcome outcome = P4R_ADD_NEW;
		p4r_version v = { 0 };

		if (it->plan != PLAN_NEW || !t)
			continue;
		in.oid = t->oid;
		in.size = t->size;
		/* gc deletes only under the write lock we now hold */
		if (!run->opts->dry_run && !p4r_store_has(p4r_repo_store(run->repo), &t->oid))
			rc = p4r_error_set(P4R_ERROR, "object %.12s of '%s' left the store while it was being "
					   "imported (gc?); run import again", t->oid.hex, m->rel);
		if (rc == 0 && !run->opts->dry_run && !t->ins.existed)
			rc = p4r_objguard_record(run->repo, &t->oid, &t->ins.placed);
		if (rc < 0)
			break;
		if (it->c) {
			in.author = it->c->author;
			in.message = it->c->subject;
			in.git_commit = it->c->commit;
			in.git_dirty = 0;
			in.now_ms = it->c->time_ms;
			rc = p4r_registry_import_version(reg, &in, detail, &it->number);
			continue;
		}
		snprintf(message, sizeof(message), "imported from %s", it->dvc);
		in.author = actor;
		in.message = message;
		in.git_commit = prov->commit;
		in.git_branch = prov->branch;
		in.git_dirty = prov->dirty;
		if ((rc = p4r_registry_register_version(reg, &in, &v, &outcome)) == 0) {
			it->number = v.number;
			it->unchanged = outcome != P4R_ADD_NEW;
		}
		p4r_version_clear(&v);
	}
	if (rc == 0)
		rc = stage_model(run, m, actor, out);
	if (rc < 0 || run->opts->dry_run) {
		p4r_registry_abort(reg);
		return rc;
	}
	return p4r_registry_commit(reg);
}

static int row_registered(struct run *run, p4r_import_result *out, const struct model *m, const struct item *it,
			  const p4r_git_provenance *prov, const char *actor)
{
	const struct task *t = &run->tasks[it->task];
	p4r_import_row *r = p4r_import_row_new(out, &run->caprows);
	char message[PATH_MAX + 32];

	if (!r)
		return P4R_ERROR;
	r->state = P4R_IMPORT_REGISTERED;
	snprintf(r->model, sizeof(r->model), "%s", m->name);
	r->version = it->number;
	r->oid = t->oid;
	r->size = (uint64_t)t->size;
	r->downloaded = true;
	snprintf(message, sizeof(message), "imported from %s", it->dvc);
	if (it->c) {
		memcpy(r->commit, it->c->commit, sizeof(r->commit));
		r->created_ms = it->c->time_ms;
		r->from_history = true;
	} else {
		snprintf(r->commit, sizeof(r->commit), "%s", prov->commit ? prov->commit : "");
		r->created_ms = p4r_now_ms();
	}
	r->path = strdup(m->rel);
	r->source = strdup(it->dvc);
	r->author = strdup(it->c ? it->c->author : actor);
	r->message = strdup(it->c ? it->c->subject : message);
	out->registered++;
	if (!r->path || !r->source || !r->author || !r->message)
		return p4r_error_set(P4R_ERROR, "out of memory");
	return 0;
}

/* The pointer of model M's newest version beside its output, and the
 * .gitignore line; STAGE gets their absolute paths. */
static int write_pointer(struct run *run, const struct model *m, int64_t number, p4r_import_row *row,
			 char ***stage, size_t *nstage)
{
	p4r_version v = { 0 };
	char *ptr = NULL, *ignore = NULL;
	void *p;
	int rc;

	if ((rc = p4r_registry_version_get(p4r_repo_registry(run->repo), m->name, number, &v)) < 0 ||
	    (rc = p4r_worktree_write_pointer(run->repo, &v, m->rel, &ptr)) < 0 ||
	    (rc = p4r_worktree_ignore(run->repo, m->rel, &ignore)) < 0)
		goto done;
	if (!(p = realloc(*stage, (*nstage + 2) * sizeof(char *)))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	*stage = p;
	(*stage)[(*nstage)++] = ptr;
	(*stage)[(*nstage)++] = ignore;
	ptr = ignore = NULL;
	if (row && (row->pointer = malloc(strlen(m->rel) + sizeof(P4R_POINTER_SUFFIX))))
		snprintf(row->pointer, strlen(m->rel) + sizeof(P4R_POINTER_SUFFIX), "%s%s", m->rel,
			 P4R_POINTER_SUFFIX);
done:
	free(ptr);
	free(ignore);
	p4r_version_clear(&v);
	return rc;
}

/* Registers every model that did not fail, fills OUT's rows, and with
 * --write-pointers writes and stages the pointers. */
static int register_all(struct run *run, p4r_import_result *out)
{
	p4r_git_provenance prov = { .dirty = -1 };
	char *actor = p4r_repo_actor(run->repo), *detail = NULL, **stage = NULL;
	size_t k, i, nstage = 0;
	bool autostage = false;
	int rc = 0;

	if (!actor || !(detail = p4r_import_detail("dvc", actor))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	if (run->git && !run->opts->history && (rc = p4r_git_provenance_get(run->git, &prov)) < 0)
		goto done;
	for (k = 0; k < run->nmodels && rc == 0; k++) {
		struct model *m = &run->models[k];
		p4r_import_row *last = NULL;
		size_t nstaged = out->nstaged;
		int64_t newest = 0;
		bool any = false;

		if (m->code)
			continue;
		if ((rc = claim(run, m)) < 0)
			break;
		for (i = 0; i < m->n; i++)
			any |= run->items[m->items[i]].plan == PLAN_NEW;
		if ((any || run->opts->nstages) && (rc = register_model(run, m, &prov, actor, detail, out)) < 0) {
			p4r_import_staged_cut(out, nstaged);
			if (rc == P4R_ERROR)
				break;
			model_fail(m, rc);
			rc = 0;
			continue;
		}
		for (i = 0; i < m->n && rc == 0; i++) {
			struct item *it = &run->items[m->items[i]];

			if (it->plan == PLAN_REFUSED)
				continue;
			if (it->number)
				newest = it->number;
			if (it->plan == PLAN_HAD || it->unchanged) {
				out->already++;
				last = NULL;
				continue;
			}
			if ((rc = row_registered(run, out, m, it, &prov, actor)) == 0)
				last = &out->rows[out->n - 1];
		}
		for (i = 0; i < m->n; i++)
			if (run->items[m->items[i]].plan == PLAN_NEW && !run->items[m->items[i]].unchanged) {
				out->models++;
				break;
			}
		if (rc == 0 && newest && run->opts->write_pointers && !run->opts->dry_run &&
		    (rc = write_pointer(run, m, newest, last, &stage, &nstage)) == 0)
			out->pointers++;
	}
	if (rc == 0 && nstage && run->git && (rc = p4r_repo_autostage(run->repo, false, &autostage)) == 0 &&
	    autostage)
		rc = p4r_git_stage(run->git, (const char *const *)stage, nstage);
done:
	for (i = 0; i < nstage; i++)
		free(stage[i]);
	free(stage);
	p4r_git_provenance_clear(&prov);
	free(detail);
	free(actor);
	return rc;
}

static int collect(struct run *run, p4r_import_result *out)
{
	size_t k;
	int rc;

	for (k = 0; k < run->nmodels; k++) {
		struct model *m = &run->models[k];

		if (!m->code)
			continue;
		p4r_error_set(m->code, "%s", m->why ? m->why : "out of memory");
		if ((rc = p4r_import_fail(out, &run->capfail, m->name, m->rel, m->code)) < 0)
			return rc;
	}
	return 0;
}

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
	if (strcmp(p4r_repo_root(run->repo), p4r_git_workdir(run->git)))
		return p4r_error_set(P4R_EUSAGE, "import dvc --history needs the p4reg repository at the top "
				     "of the git work tree ('%s')", p4r_git_workdir(run->git));
	if (run->opts->nstages && !(run->stage_commits = calloc(run->opts->nstages, sizeof(*run->stage_commits))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	return p4r_import_resolve_stages(run->git, run->opts, run->stage_commits);
}

int p4r_import_dvc(p4r_repo *repo, const p4r_import_opts *opts, const p4r_op_report *report,
		   p4r_import_result *out)
{
	struct run run = { .repo = repo, .opts = opts, .report = report, .lock = PTHREAD_MUTEX_INITIALIZER };
	const char *why = NULL;
	size_t k, i;
	int rc;

	memset(out, 0, sizeof(*out));
	if (opts->name && !p4r_model_name_valid(opts->name))
		return p4r_error_set(P4R_EUSAGE, "invalid model name '%s'", opts->name);
	if ((rc = p4r_git_open_why(&run.git, p4r_repo_root(repo), &why)) < 0 || (rc = check_args(&run)) < 0 ||
	    (rc = read_all(&run, out)) < 0 || (rc = group(&run)) < 0)
		goto done;
	for (i = 0; i < opts->npaths && opts->history && !opts->since; i++)
		if (!run.matched[i]) {
			rc = p4r_error_set(P4R_ENOTFOUND, "'%s' matches no .dvc file in the history of HEAD",
					   opts->paths[i]);
			goto done;
		}
	if (opts->name && run.nmodels > 1) {
		rc = p4r_error_set(P4R_EUSAGE, "--name applies to one output; the .dvc files name %zu (%s, %s%s)",
				   run.nmodels, run.models[0].rel, run.models[1].rel, run.nmodels > 2 ? ", ..." : "");
		goto done;
	}
	for (k = 0; k < run.nmodels && rc == 0; k++)
		rc = plan_model(&run, k);
	if (rc < 0 || (rc = store_all(&run, out)) < 0 || (rc = register_all(&run, out)) < 0)
		goto done;
	rc = collect(&run, out);
done:
	if (run.norder)
		p4r_objguard_warn_link_hazard(repo, run.order, run.norder, report);
	for (i = 0; i < run.nitems; i++) {
		free(run.items[i].dvc);
		free(run.items[i].rel);
		free(run.items[i].why);
	}
	free(run.items);
	for (k = 0; k < run.nmodels; k++) {
		free(run.models[k].rel);
		free(run.models[k].items);
		free(run.models[k].why);
	}
	free(run.models);
	free(run.stage_commits);
	for (i = 0; i < run.ntasks; i++)
		free(run.tasks[i].why);
	free(run.tasks);
	for (i = 0; i < run.nfiles; i++)
		free(run.files[i]);
	free(run.files);
	for (i = 0; run.args && i < opts->npaths; i++)
		free(run.args[i]);
	free(run.args);
	free(run.matched);
	p4r_git_lfs_change_array_free(run.changes, run.nchanges);
	p4r_git_free(run.git);
	return rc;
}
