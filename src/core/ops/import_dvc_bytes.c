/* p4r_import_dvc's bytes (import_dvc_priv.h): the DVC cache of each .dvc
 * file, one task per cache entry (an entry several revisions or folders
 * share is read once), directory outputs' listings, the entries stored by
 * SHA-256 in parallel and checked against DVC's MD5, and a manifest per
 * directory output. A cache entry is opened at the moment of use, below
 * its cache folder, without following a link: DVC 3's layout first, then
 * the older one. */
#include "import_dvc_priv.h"
#include "p4reg/beneath.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/hash.h"
#include "p4reg/parallel.h"
#include "util/testknob.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the caches ---- */

/* A new cache of the run at *OUT: REL (repository-relative) opened below
 * the root without following a link, or --dvc-cache's folder (REL NULL),
 * the user's own, followed as typed; one that cannot be opened keeps why. */
static int cache_new(struct run *run, const char *rel, size_t *out)
{
	struct cache *c;
	void *p;

	if (!(p = realloc(run->caches, (run->ncaches + 1) * sizeof(*run->caches))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	run->caches = p;
	c = &run->caches[run->ncaches];
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (rel && !(c->rel = strdup(rel)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	*out = run->ncaches++;
	if (!rel && (c->fd = open(run->opts->dvc_cache, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		p4r_error_errno("cannot open the DVC cache '%s'", run->opts->dvc_cache);
	else if (rel && (p4r_beneath_open(&c->fd, p4r_repo_root_fd(run->repo), rel,
					       O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0)) < 0)
		p4r_error_set(P4R_ENOTFOUND, "no DVC cache at '%s' ('dvc fetch' fills it; --dvc-cache names "
			      "another)", rel);
	if (c->fd < 0) {
		c->code = P4R_ENOTFOUND;
		if (!(c->why = strdup(p4r_error_message())))
			return p4r_error_set(P4R_ERROR, "out of memory");
	}
	p4r_error_clear();
	return 0;
}

/* A cache that is the current error (a config naming a cache p4reg will
 * not read), at *OUT. */
static int cache_refused(struct run *run, size_t *out)
{
	void *p = realloc(run->caches, (run->ncaches + 1) * sizeof(*run->caches));

	if (!p)
		return p4r_error_set(P4R_ERROR, "out of memory");
	run->caches = p;
	memset(&run->caches[run->ncaches], 0, sizeof(run->caches[0]));
	run->caches[run->ncaches].fd = -1;
	run->caches[run->ncaches].code = p4r_error_code();
	if (!(run->caches[run->ncaches].why = strdup(p4r_error_message())))
		return p4r_error_set(P4R_ERROR, "out of memory");
	p4r_error_clear();
	*out = run->ncaches++;
	return 0;
}

/* The .dvc folder of the DVC repository FOLDER is in: the nearest one
 * from FOLDER up to the root, opened to be sure (the root's when none
 * is), into BUF. */
static void dvc_dir_of(struct run *run, const char *folder, char *buf, size_t bufsz)
{
	size_t n = strlen(folder);
	int fd;

	for (;;) {
		snprintf(buf, bufsz, "%.*s%s.dvc", (int)n, folder, n ? "/" : "");
		if (p4r_beneath_open(&fd, p4r_repo_root_fd(run->repo), buf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW,
				     0) == 0) {
			close(fd);
			return;
		}
		p4r_error_clear();
		if (!n)
			return;
		while (n > 0 && folder[n - 1] != '/')
			n--;
		if (n > 0)
			n--;
	}
}

/* The cache of the .dvc files in FOLDER: --dvc-cache, else the cache.dir
 * their DVC repository's config sets (below the root only), else its
 * .dvc/cache; the same folder is opened once. */
static int cache_find(struct run *run, const char *folder, size_t *out)
{
	char dir[PATH_MAX], rel[PATH_MAX + 8], *set = NULL;
	size_t i;
	int rc;

	if (run->opts->dvc_cache) {
		for (i = 0; i < run->ncaches; i++)
			if (!run->caches[i].rel) {
				*out = i;
				return 0;
			}
		return cache_new(run, NULL, out);
	}
	dvc_dir_of(run, folder, dir, sizeof(dir));
	if ((rc = p4r_dvc_cache_dir(p4r_repo_root_fd(run->repo), dir, &set)) < 0)
		return rc == P4R_EINTEGRITY ? cache_refused(run, out) : rc;
	snprintf(rel, sizeof(rel), "%s%s", set ? set : dir, set ? "" : "/cache");
	free(set);
	for (i = 0; i < run->ncaches; i++)
		if (run->caches[i].rel && !strcmp(run->caches[i].rel, rel)) {
			*out = i;
			return 0;
		}
	return cache_new(run, rel, out);
}

/* The cache of the .dvc file DVC, found once per folder of .dvc files. */
static int cache_for(struct run *run, const char *dvc, size_t *out)
{
	const char *slash = strrchr(dvc, '/');
	char *folder = slash ? strndup(dvc, (size_t)(slash - dvc)) : strdup("");
	void *p;
	size_t i;
	int rc;

	if (!folder)
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < run->ncache_dirs; i++)
		if (!strcmp(run->cache_dirs[i], folder)) {
			free(folder);
			*out = run->cache_of[i];
			return 0;
		}
	if ((rc = cache_find(run, folder, out)) < 0) {
		free(folder);
		return rc;
	}
	if ((p = realloc(run->cache_of, (run->ncache_dirs + 1) * sizeof(size_t))))
		run->cache_of = p;
	if (!p || !(p = realloc(run->cache_dirs, (run->ncache_dirs + 1) * sizeof(char *)))) {
		free(folder);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	run->cache_dirs = p;
	run->cache_dirs[run->ncache_dirs] = folder;
	run->cache_of[run->ncache_dirs++] = *out;
	return 0;
}

/* A batch of directory listings is read, stored and let go once it holds
 * this many files (a listing holds at most P4R_MANIFEST_MAX_FILES); tests
 * make batches small with P4REG_TEST_DVC_BATCH. */
static size_t batch_files(void)
{
	long knob = p4r_test_knob("P4REG_TEST_DVC_BATCH");

	return knob > 0 ? (size_t)knob : (size_t)1 << 18;
}

/* ---- what to read: a task per file entry, a listing per folder ----
 * Every item and listing entry asks for its bytes by (MD5, rule, cache);
 * the asks are sorted and each distinct one becomes one task (or
 * listing): the MD5s are a repository's text, so no hash table an
 * attacker could fill with collisions, and n log n whatever they are. */

struct ask {
	const char *md5;
	bool dos2unix;
	size_t cache;
	int64_t size;             /* -1: not said */
	const char *rel;
	size_t *out;              /* where the task's (listing's) index goes */
};

struct asks {
	struct ask *v;
	size_t n, cap;
};

static int ask(struct asks *a, const char *md5, bool dos2unix, size_t cache, int64_t size, const char *rel,
	       size_t *out)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		void *p = realloc(a->v, cap * sizeof(*a->v));

		if (!p)
			return p4r_error_set(P4R_ERROR, "out of memory");
		a->v = p;
		a->cap = cap;
	}
	a->v[a->n++] = (struct ask){ md5, dos2unix, cache, size, rel, out };
	return 0;
}

static int cmp_ask(const void *x, const void *y)
{
	const struct ask *a = x, *b = y;
	int c = memcmp(a->md5, b->md5, 32);

	if (c)
		return c;
	if (a->dos2unix != b->dos2unix)
		return a->dos2unix ? 1 : -1;
	return (a->cache > b->cache) - (a->cache < b->cache);
}

static bool same_ask(const struct ask *a, const struct ask *b)
{
	return !cmp_ask(a, b);
}

static const struct run *sort_run; /* qsort's context (one thread) */

static int cmp_task_key(const void *x, const void *y)
{
	const struct task *a = &sort_run->tasks[*(const size_t *)x], *b = &sort_run->tasks[*(const size_t *)y];
	struct ask ka = { a->md5, a->dos2unix, a->cache, 0, NULL, NULL };
	struct ask kb = { b->md5, b->dos2unix, b->cache, 0, NULL, NULL };

	return cmp_ask(&ka, &kb);
}

/* The task an earlier batch made for K, or DVC_NONE. */
static size_t task_had(const struct run *run, const struct ask *k, size_t nhad)
{
	size_t lo = 0, hi = nhad;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct task *t = &run->tasks[run->by_key[mid]];
		struct ask kt = { t->md5, t->dos2unix, t->cache, 0, NULL, NULL };
		int c = cmp_ask(&kt, k);

		if (c == 0)
			return run->by_key[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return DVC_NONE;
}

/* One task per distinct ask of A that no earlier batch has, appended to
 * the run's (RUN->first_new: the first of them); A emptied. */
static int make_tasks(struct run *run, struct asks *a)
{
	size_t i, nhad = run->ntasks, had;
	void *p;

	run->first_new = run->ntasks;
	if (!a->n)
		return 0;
	qsort(a->v, a->n, sizeof(*a->v), cmp_ask);
	if (!(p = realloc(run->tasks, (run->ntasks + a->n) * sizeof(*run->tasks))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	run->tasks = p;
	if (!(p = realloc(run->by_key, (run->ntasks + a->n) * sizeof(*run->by_key))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	run->by_key = p;
	for (i = 0; i < a->n; i++) {
		const struct ask *k = &a->v[i];
		struct task *t;

		/* the same as the ask before: the same task, new or had */
		if (i && same_ask(k, &a->v[i - 1])) {
			*k->out = *a->v[i - 1].out;
			continue;
		}
		if ((had = task_had(run, k, nhad)) != DVC_NONE) {
			*k->out = had;
			continue;
		}
		t = &run->tasks[run->ntasks];
		memset(t, 0, sizeof(*t));
		memcpy(t->md5, k->md5, 32);
		t->dos2unix = k->dos2unix;
		t->cache = k->cache;
		t->size = k->size;
		t->rel = k->rel;
		t->run = run;
		run->progress.total += k->size > 0 ? (uint64_t)k->size : 0;
		run->by_key[run->ntasks] = run->ntasks;
		*k->out = run->ntasks++;
	}
	run->progress.nitems = run->ntasks;
	/* the index sorted again for the next batch */
	sort_run = run;
	qsort(run->by_key, run->ntasks, sizeof(*run->by_key), cmp_task_key);
	a->n = 0;
	return 0;
}

/* One listing per distinct ask of A. */
static int make_listings(struct run *run, struct asks *a)
{
	size_t i;

	if (!a->n)
		return 0;
	qsort(a->v, a->n, sizeof(*a->v), cmp_ask);
	if (!(run->listings = calloc(a->n, sizeof(*run->listings))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < a->n; i++) {
		const struct ask *k = &a->v[i];
		struct listing *l;

		if (!i || !same_ask(k, &a->v[i - 1])) {
			l = &run->listings[run->nlistings++];
			memcpy(l->md5, k->md5, 32);
			l->dos2unix = k->dos2unix;
			l->cache = k->cache;
			l->rel = k->rel;
		}
		*k->out = run->nlistings - 1;
	}
	a->n = 0;
	return 0;
}

/* ---- the cache's entries, opened at use ---- */

/* What to do with an entry once its folder is open (*DIRFD, BASE): a
 * code, P4R_ENOTFOUND when BASE is not there. */
typedef int (*entry_fn)(int dirfd, const char *base, const char *show, void *payload);

/* FN on the entry MD5 (SUFFIX after it: "" or ".dir") of cache CACHE:
 * DVC 3's files/md5/ab/cdef..., else the older ab/cdef..., each reached
 * below the cache folder without following a link. P4R_ENOTFOUND when
 * neither is there, P4R_EINTEGRITY when one is only reached through a
 * link. */
static int with_entry(struct run *run, size_t cache, const char *md5, const char *suffix, entry_fn fn,
		      void *payload)
{
	const struct cache *c = &run->caches[cache];
	const char *top = c->rel ? c->rel : run->opts->dvc_cache, *base;
	char rel[64], show[PATH_MAX + 80], first[PATH_MAX + 80];
	int layout, rc = P4R_ENOTFOUND, dirfd;

	if (c->fd < 0)
		return p4r_error_set(c->code, "%s", c->why);
	for (layout = 0; layout < 2 && rc == P4R_ENOTFOUND; layout++) {
		snprintf(rel, sizeof(rel), "%s%.2s/%s%s", layout ? "" : "files/md5/", md5, md5 + 2, suffix);
		snprintf(show, sizeof(show), "%s/%s", top, rel);
		if (!layout)
			snprintf(first, sizeof(first), "%s", show);
		p4r_error_clear();
		if ((rc = p4r_beneath_parent(&dirfd, &base, c->fd, rel, false)) == P4R_EUSAGE)
			return p4r_error_set(P4R_EINTEGRITY, "DVC cache entry '%s' cannot be reached without "
					     "following a symbolic link", show);
		if (rc == 0) {
			rc = fn(dirfd, base, show, payload);
			close(dirfd);
		}
	}
	if (rc == P4R_ENOTFOUND)
		rc = p4r_error_set(P4R_ENOTFOUND, "not in the DVC cache ('%s' nor the older layout): 'dvc fetch' "
				   "(with --all-commits for history) brings it", first);
	return rc;
}

static void task_progress(uint64_t done, uint64_t total, void *payload)
{
	struct task *t = payload;

	(void)total;
	p4r_import_progress_bytes(&t->run->progress, &t->reported, done, false);
}

/* DVC's MD5 of OID's object in the store (the bytes that will be
 * registered, not the cache entry's, which may change meanwhile). */
static int sum_stored(struct run *run, const struct task *t, p4r_dvc_sum *sum)
{
	char path[PATH_MAX];
	struct stat st;
	int fd, rc;

	if ((rc = p4r_store_object_open(p4r_repo_store(run->repo), &t->oid, &fd, &st, path, sizeof(path))) < 0)
		return rc;
	rc = p4r_dvc_sum_fd(sum, fd, path, t->dos2unix);
	close(fd);
	return rc;
}

/* A dry run: the entry hashed both ways, nothing stored. */
static int sum_entry(struct task *t, int dirfd, const char *base, const char *show, p4r_dvc_sum *sum)
{
	uint64_t size = 0;
	int fd, rc;

	if ((fd = openat(dirfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
		return errno == ELOOP ? p4r_error_set(P4R_EUSAGE, "'%s' is a symbolic link", show) :
					p4r_error_errno("cannot open '%s'", show);
	if ((rc = p4r_dvc_sum_fd(sum, fd, show, t->dos2unix)) == 0 && lseek(fd, 0, SEEK_SET) < 0)
		rc = p4r_error_errno("cannot read '%s'", show);
	if (rc == 0)
		rc = p4r_hash_fd(&t->oid, &size, fd);
	close(fd);
	return rc;
}

/* Task T's entry at BASE of the open folder DIRFD: stored by SHA-256
 * (a dry run: only hashed), then DVC's MD5 of what was stored checked
 * against the one the .dvc file or listing names, so what is registered
 * is what was checked. */
static int store_entry(int dirfd, const char *base, const char *show, void *payload)
{
	struct task *t = payload;
	struct run *run = t->run;
	p4r_dvc_sum sum = { 0 };
	struct stat st;
	int rc;

	if (run->opts->dry_run) {
		rc = sum_entry(t, dirfd, base, show, &sum);
	} else if ((rc = p4r_store_insert_at(p4r_repo_store(run->repo), dirfd, base, show, run->order, run->norder,
					     &t->ins, &st, task_progress, t)) == 0) {
		t->oid = t->ins.oid;
		rc = sum_stored(run, t, &sum);
	}
	/* a link, a FIFO or a device where DVC keeps a file */
	if (rc == P4R_EUSAGE)
		return p4r_error_set(P4R_EINTEGRITY, "%s", p4r_error_message());
	if (rc < 0)
		return rc;
	if (!p4r_dvc_sum_matches(&sum, t->md5))
		return p4r_error_set(P4R_EINTEGRITY, "DVC cache entry '%s' of '%s' is corrupt: its MD5 is %s, not %s",
				     show, t->rel, sum.md5, t->md5);
	if (t->size >= 0 && sum.size != (uint64_t)t->size)
		return p4r_error_set(P4R_EINTEGRITY, "DVC cache entry '%s' of '%s' has %llu bytes, not the %lld "
				     "DVC recorded", show, t->rel, (unsigned long long)sum.size, (long long)t->size);
	t->size = (int64_t)sum.size;
	return 0;
}

/* Task I, one of the parallel loop's: a failure is the task's, never the
 * loop's. */
static int store_one(size_t i, void *payload)
{
	struct run *run = payload;
	struct task *t = &run->tasks[run->first_new + i];
	int rc = with_entry(run, t->cache, t->md5, "", store_entry, t);

	if (rc < 0) {
		t->rc = rc;
		t->why = strdup(p4r_error_message());
		p4r_error_clear();
	}
	p4r_import_progress_bytes(&run->progress, &t->reported, t->size > 0 ? (uint64_t)t->size : 0, true);
	return 0;
}

/* ---- directory outputs ---- */

/* Listing L's .dir entry at BASE: read whole (bounded), its MD5 checked,
 * decoded strictly (dvc.h). */
static int read_listing(int dirfd, const char *base, const char *show, void *payload)
{
	struct listing *l = payload;
	char md5[33], *buf = NULL;
	size_t len = 0;
	int rc;

	if ((rc = p4r_read_file_at(&buf, &len, dirfd, base, P4R_DVC_DIR_MAX, show)) < 0)
		return rc == P4R_EUSAGE ? p4r_error_set(P4R_EINTEGRITY, "%s", p4r_error_message()) : rc;
	if ((rc = p4r_dvc_md5_buffer(md5, buf, len)) == 0 && strcmp(md5, l->md5))
		rc = p4r_error_set(P4R_EINTEGRITY, "DVC cache entry '%s' of '%s' is corrupt: its MD5 is %s, not %s",
				   show, l->rel, md5, l->md5);
	if (rc == 0 && (rc = p4r_dvc_dir_parse(&l->dir, buf, len)) == P4R_EINTEGRITY)
		rc = p4r_error_set(P4R_EINTEGRITY, "DVC cache entry '%s' of '%s': %s", show, l->rel,
				   p4r_error_message());
	free(buf);
	return rc;
}

static void listing_fail(struct listing *l, int code)
{
	if (l->rc)
		return;
	l->rc = code;
	l->why = strdup(p4r_error_message());
	p4r_error_clear();
}

/* Listings FIRST.. read until the batch holds BATCH_FILES entries (at
 * least one listing), an ask for each of their files into FILES; *END
 * gets the end of the batch. */
static int read_batch(struct run *run, size_t first, size_t *end, struct asks *files)
{
	size_t i, j, held = 0, most = batch_files();
	int rc;

	for (i = first; i < run->nlistings && (i == first || held < most); i++) {
		struct listing *l = &run->listings[i];

		if ((rc = with_entry(run, l->cache, l->md5, ".dir", read_listing, l)) < 0) {
			listing_fail(l, rc);
			continue;
		}
		held += l->dir.n;
		if (!(l->tasks = calloc(l->dir.n, sizeof(*l->tasks))))
			return p4r_error_set(P4R_ERROR, "out of memory");
		for (j = 0; j < l->dir.n; j++)
			if ((rc = ask(files, l->dir.v[j].md5, l->dos2unix, l->cache, l->dir.v[j].size, l->rel,
				      &l->tasks[j])) < 0)
				return rc;
	}
	*end = i;
	return 0;
}

/* Listing L's manifest, from its files' tasks: stored (a dry run: only
 * hashed); a file that failed fails L. */
static int make_manifest(struct run *run, struct listing *l)
{
	char *text = NULL;
	size_t j, len = 0;
	int rc = 0;

	for (j = 0; j < l->dir.n && rc == 0; j++) {
		const struct task *t = &run->tasks[l->tasks[j]];

		if (t->rc) {
			p4r_error_set(t->rc, "'%s' of the folder: %s", l->dir.v[j].relpath, t->why ? t->why :
				      "out of memory");
			listing_fail(l, t->rc);
			l->files = (int64_t)l->dir.n;
			return 0;
		}
		/* the bytes read are those the listing names, whatever the
		 * bookkeeping between them did */
		if (strcmp(t->md5, l->dir.v[j].md5))
			return p4r_error_set(P4R_ERROR, "internal error: '%s' of '%s' was read as %s, not %s",
					     l->dir.v[j].relpath, l->rel, t->md5, l->dir.v[j].md5);
		rc = p4r_manifest_add(&l->m, l->dir.v[j].relpath, &t->oid, t->size, l->dir.v[j].exec);
	}
	if (rc == 0 && run->opts->dry_run) {
		if ((rc = p4r_manifest_encode(&l->m, &text, &len)) == 0 && (rc = p4r_hash_buffer(&l->oid, text, len)) == 0)
			l->size = (int64_t)len;
		free(text);
	} else if (rc == 0) {
		rc = p4r_manifest_store(run->repo, &l->m, &l->oid, &l->size);
	}
	if (rc == P4R_EUSAGE || rc == P4R_EINTEGRITY) {
		p4r_error_set(P4R_EINTEGRITY, "the folder '%s' cannot be a p4reg folder version: %s", l->rel,
			      p4r_error_message());
		listing_fail(l, P4R_EINTEGRITY);
		rc = 0;
	}
	l->files = (int64_t)l->m.n;
	l->total = p4r_manifest_total(&l->m);
	return rc;
}

/* Listing L's batch is done: what it held goes (its manifest is stored). */
static void listing_drop(struct listing *l)
{
	p4r_dvc_dir_clear(&l->dir);
	p4r_manifest_clear(&l->m);
	free(l->tasks);
	l->tasks = NULL;
}

/* ---- the run's bytes ---- */

/* An ask for every new item of a model that has not failed: a file's
 * bytes into FILES, a folder's listing into FOLDERS. */
static int plan_bytes(struct run *run, struct asks *files, struct asks *folders)
{
	size_t k, i, cache;
	int rc = 0;

	for (k = 0; k < run->nmodels && rc == 0; k++)
		for (i = 0; i < run->models[k].n && rc == 0 && !run->models[k].base.code; i++) {
			struct item *it = &run->items[run->models[k].items[i]];

			if (it->plan != PLAN_NEW || (rc = cache_for(run, it->dvc, &cache)) < 0)
				continue;
			rc = ask(it->dir ? folders : files, it->md5, it->dos2unix, cache, it->dir ? -1 : it->size, it->rel,
				 &it->bytes);
		}
	return rc;
}

/* Each new item's outcome: its bytes (P4R_ENOTFOUND: not in the cache,
 * the item refused) or its model failed. */
static int settle(struct run *run)
{
	size_t k, i;
	int rc = 0;

	for (k = 0; k < run->nmodels && rc == 0; k++) {
		struct model *m = &run->models[k];

		for (i = 0; i < m->n && !m->base.code && rc == 0; i++) {
			struct item *it = &run->items[m->items[i]];
			int code = 0;

			if (it->plan != PLAN_NEW)
				continue;
			if (it->dir && (code = run->listings[it->bytes].rc))
				p4r_error_set(code, "%s", run->listings[it->bytes].why ? run->listings[it->bytes].why :
					      "out of memory");
			else if (!it->dir && (code = run->tasks[it->bytes].rc))
				p4r_error_set(code, "%s", run->tasks[it->bytes].why ? run->tasks[it->bytes].why :
					      "out of memory");
			if (!code && it->dir && it->size >= 0 && run->listings[it->bytes].total != it->size)
				code = p4r_error_set(P4R_EINTEGRITY, "the files of folder '%s' total %lld bytes; its .dvc "
						     "file says %lld", it->rel, (long long)run->listings[it->bytes].total,
						     (long long)it->size);
			if (code == P4R_ENOTFOUND) {
				it->plan = PLAN_REFUSED;
				rc = p4r_import_dvc_refuse(run, it->dvc, it->rel, p4r_import_dvc_change(run, it), P4R_ERROR);
			} else if (code) {
				p4r_import_model_fail(&m->base, code);
			}
		}
	}
	return rc;
}

/* The tasks of the current batch (RUN->first_new onwards) stored in
 * parallel; each keeps its own failure. */
static int store_batch(struct run *run)
{
	p4r_store *store = p4r_repo_store(run->repo);
	size_t n = run->ntasks - run->first_new;
	int rc;

	if (!n)
		return 0;
	if (!run->norder && (rc = p4r_repo_link_order(run->repo, run->order, &run->norder)) < 0)
		return rc;
	p4r_store_defer_sync(store, n >= 128);
	rc = p4r_parallel_for(n, run->opts->threads, store_one, run);
	p4r_store_defer_sync(store, false);
	if (rc == 0 && !run->opts->dry_run)
		rc = p4r_store_sync(store);
	return rc;
}

static int cmp_task_oid(const void *x, const void *y)
{
	const struct task *a = &sort_run->tasks[*(const size_t *)x], *b = &sort_run->tasks[*(const size_t *)y];

	return memcmp(a->oid.hex, b->oid.hex, sizeof(a->oid.hex));
}

/* The stored tasks by oid, for the registration (p4r_import_dvc_task_of). */
static int index_by_oid(struct run *run)
{
	size_t i;

	if (!(run->by_oid = malloc((run->ntasks ? run->ntasks : 1) * sizeof(*run->by_oid))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < run->ntasks; i++)
		if (!run->tasks[i].rc)
			run->by_oid[run->nby_oid++] = i;
	sort_run = run;
	qsort(run->by_oid, run->nby_oid, sizeof(*run->by_oid), cmp_task_oid);
	return 0;
}

const struct task *p4r_import_dvc_task_of(const struct run *run, const p4r_oid *oid)
{
	size_t lo = 0, hi = run->nby_oid;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(run->tasks[run->by_oid[mid]].oid.hex, oid->hex, sizeof(oid->hex));

		if (c == 0)
			return &run->tasks[run->by_oid[mid]];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int p4r_import_dvc_store(struct run *run)
{
	struct asks files = { 0 }, folders = { 0 };
	size_t i, end = 0;
	int rc;

	/* the file outputs first, then the listings a batch at a time: each
	 * batch's new files stored, its manifests made, what it held freed */
	if ((rc = plan_bytes(run, &files, &folders)) < 0 || (rc = make_listings(run, &folders)) < 0 ||
	    (rc = make_tasks(run, &files)) < 0 || (rc = store_batch(run)) < 0)
		goto done;
	for (i = 0; i < run->nlistings && rc == 0; i = end) {
		if ((rc = read_batch(run, i, &end, &files)) < 0 || (rc = make_tasks(run, &files)) < 0 ||
		    (rc = store_batch(run)) < 0)
			break;
		for (; i < end && rc == 0; i++) {
			if (!run->listings[i].rc)
				rc = make_manifest(run, &run->listings[i]);
			listing_drop(&run->listings[i]);
		}
	}
	if (rc == 0 && (rc = index_by_oid(run)) == 0)
		rc = settle(run);
done:
	free(files.v);
	free(folders.v);
	return rc;
}

void p4r_import_dvc_store_free(struct run *run)
{
	size_t i;

	for (i = 0; i < run->ntasks; i++)
		free(run->tasks[i].why);
	free(run->tasks);
	for (i = 0; i < run->nlistings; i++) {
		listing_drop(&run->listings[i]);
		free(run->listings[i].why);
	}
	free(run->listings);
	free(run->by_key);
	free(run->by_oid);
	for (i = 0; i < run->ncaches; i++) {
		if (run->caches[i].fd >= 0)
			close(run->caches[i].fd);
		free(run->caches[i].rel);
		free(run->caches[i].why);
	}
	free(run->caches);
	for (i = 0; i < run->ncache_dirs; i++)
		free(run->cache_dirs[i]);
	free(run->cache_dirs);
	free(run->cache_of);
}
