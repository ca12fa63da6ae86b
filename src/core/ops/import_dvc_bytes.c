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

/* ---- what to read: a task per file entry, a listing per folder ---- */

/* Where KEY (an MD5, how it is hashed, its cache) is in the index of
 * tasks (LISTINGS false) or listings: its slot, holding DVC_NONE when it
 * is not there yet. */
struct key {
	const char *md5;
	bool dos2unix;
	size_t cache;
	bool listing;
};

static uint64_t key_hash(const struct key *k)
{
	uint64_t h = 0;
	size_t i;

	for (i = 0; i < 16; i++)
		h = h * 16 + (uint64_t)(k->md5[i] <= '9' ? k->md5[i] - '0' : k->md5[i] - 'a' + 10);
	return h ^ ((uint64_t)k->cache << 1 | k->dos2unix) * 0x9e3779b97f4a7c15ull ^ (uint64_t)k->listing << 63;
}

static bool key_is(const struct run *run, size_t v, const struct key *k)
{
	bool listing = v & ((size_t)1 << (sizeof(size_t) * 8 - 1));
	size_t i = v & ~((size_t)1 << (sizeof(size_t) * 8 - 1));

	if (listing != k->listing)
		return false;
	if (listing)
		return !strcmp(run->listings[i].md5, k->md5) && run->listings[i].dos2unix == k->dos2unix &&
		       run->listings[i].cache == k->cache;
	return !strcmp(run->tasks[i].md5, k->md5) && run->tasks[i].dos2unix == k->dos2unix &&
	       run->tasks[i].cache == k->cache;
}

static size_t *slot_of(struct run *run, const struct key *k)
{
	size_t i = (size_t)key_hash(k) & (run->nslots - 1);

	while (run->slots[i] != DVC_NONE && !key_is(run, run->slots[i], k))
		i = (i + 1) & (run->nslots - 1);
	return &run->slots[i];
}

/* Room in the index for one more (kept at most half full). */
static int index_grow(struct run *run)
{
	size_t *old = run->slots, nold = run->nslots, i, top = (size_t)1 << (sizeof(size_t) * 8 - 1);

	if ((run->ntasks + run->nlistings + 1) * 2 <= run->nslots)
		return 0;
	run->nslots = nold ? nold * 2 : 256;
	if (!(run->slots = malloc(run->nslots * sizeof(size_t)))) {
		run->slots = old;
		run->nslots = nold;
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	memset(run->slots, 0xff, run->nslots * sizeof(size_t));
	for (i = 0; i < nold; i++) {
		size_t v = old[i], j = v & ~top;
		struct key k;

		if (v == DVC_NONE)
			continue;
		k = v & top ? (struct key){ run->listings[j].md5, run->listings[j].dos2unix, run->listings[j].cache, true } :
			      (struct key){ run->tasks[j].md5, run->tasks[j].dos2unix, run->tasks[j].cache, false };
		*slot_of(run, &k) = v;
	}
	free(old);
	return 0;
}

/* The task of the file entry MD5 (hashed as DOS2UNIX says) in cache
 * CACHE, of an output REL; SIZE when its .dvc file or listing says. */
static int task_get(struct run *run, const char *md5, bool dos2unix, size_t cache, int64_t size, const char *rel,
		    size_t *out)
{
	struct key k = { md5, dos2unix, cache, false };
	struct task *t;
	size_t *slot;
	int rc;

	if ((rc = index_grow(run)) < 0)
		return rc;
	if (*(slot = slot_of(run, &k)) != DVC_NONE) {
		*out = *slot;
		return 0;
	}
	if (run->ntasks == run->captasks) {
		size_t cap = run->captasks ? run->captasks * 2 : 64;
		void *p = realloc(run->tasks, cap * sizeof(*run->tasks));

		if (!p)
			return p4r_error_set(P4R_ERROR, "out of memory");
		run->tasks = p;
		run->captasks = cap;
	}
	t = &run->tasks[run->ntasks];
	memset(t, 0, sizeof(*t));
	memcpy(t->md5, md5, sizeof(t->md5));
	t->dos2unix = dos2unix;
	t->cache = cache;
	t->size = size;
	t->rel = rel;
	t->run = run;
	run->total += size > 0 ? (uint64_t)size : 0;
	*slot = *out = run->ntasks++;
	return 0;
}

/* The listing of the directory output MD5 in cache CACHE, of output REL. */
static int listing_get(struct run *run, const char *md5, bool dos2unix, size_t cache, const char *rel,
		       size_t *out)
{
	struct key k = { md5, dos2unix, cache, true };
	size_t *slot, top = (size_t)1 << (sizeof(size_t) * 8 - 1);
	struct listing *l;
	int rc;

	if ((rc = index_grow(run)) < 0)
		return rc;
	if (*(slot = slot_of(run, &k)) != DVC_NONE) {
		*out = *slot & ~top;
		return 0;
	}
	if (run->nlistings == run->caplistings) {
		size_t cap = run->caplistings ? run->caplistings * 2 : 16;
		void *p = realloc(run->listings, cap * sizeof(*run->listings));

		if (!p)
			return p4r_error_set(P4R_ERROR, "out of memory");
		run->listings = p;
		run->caplistings = cap;
	}
	l = &run->listings[run->nlistings];
	memset(l, 0, sizeof(*l));
	memcpy(l->md5, md5, sizeof(l->md5));
	l->dos2unix = dos2unix;
	l->cache = cache;
	l->rel = rel;
	*out = run->nlistings++;
	*slot = *out | top;
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

static void report_bytes(struct run *run)
{
	p4r_progress p = { .label = "import", .unit = "objects", .items = run->items_done,
			   .items_total = run->ntasks, .has_bytes = true, .bytes = run->done,
			   .bytes_total = run->total };

	p4r_op_progress_count(run->report, &p);
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

/* DVC's MD5 of OID's object in the store (the bytes that will be
 * registered, not the cache entry's, which may change meanwhile). */
static int sum_stored(struct run *run, const struct task *t, p4r_dvc_sum *sum)
{
	char path[PATH_MAX];
	int fd, rc;

	if ((rc = p4r_store_object_path(p4r_repo_store(run->repo), &t->oid, path, sizeof(path))) < 0)
		return rc;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return p4r_error_errno("cannot open '%s'", path);
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
	struct task *t = &run->tasks[i];
	int rc = with_entry(run, t->cache, t->md5, "", store_entry, t);

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

/* Every listing read, and a task for each of its files. */
static int plan_listings(struct run *run)
{
	size_t i, j;
	int rc;

	for (i = 0; i < run->nlistings; i++) {
		struct listing *l = &run->listings[i];

		if ((rc = with_entry(run, l->cache, l->md5, ".dir", read_listing, l)) < 0) {
			listing_fail(l, rc);
			continue;
		}
		if (!(l->tasks = calloc(l->dir.n, sizeof(*l->tasks))))
			return p4r_error_set(P4R_ERROR, "out of memory");
		for (j = 0; j < l->dir.n; j++)
			if ((rc = task_get(run, l->dir.v[j].md5, l->dos2unix, l->cache, l->dir.v[j].size, l->rel,
					   &l->tasks[j])) < 0)
				return rc;
	}
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
			return 0;
		}
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
	return rc;
}

/* ---- the run's bytes ---- */

/* A task or listing for every new item of a model that has not failed. */
static int plan_bytes(struct run *run)
{
	size_t k, i, cache;
	int rc = 0;

	for (k = 0; k < run->nmodels && rc == 0; k++)
		for (i = 0; i < run->models[k].n && rc == 0 && !run->models[k].base.code; i++) {
			struct item *it = &run->items[run->models[k].items[i]];

			if (it->plan != PLAN_NEW || (rc = cache_for(run, it->dvc, &cache)) < 0)
				continue;
			rc = it->dir ? listing_get(run, it->md5, it->dos2unix, cache, it->rel, &it->bytes) :
				       task_get(run, it->md5, it->dos2unix, cache, it->size, it->rel, &it->bytes);
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
			if (!code && it->dir && it->size >= 0 &&
			    p4r_manifest_total(&run->listings[it->bytes].m) != it->size)
				code = p4r_error_set(P4R_EINTEGRITY, "the files of folder '%s' total %lld bytes; its .dvc "
						     "file says %lld", it->rel,
						     (long long)p4r_manifest_total(&run->listings[it->bytes].m),
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

int p4r_import_dvc_store(struct run *run)
{
	p4r_store *store = p4r_repo_store(run->repo);
	size_t i;
	int rc;

	if ((rc = plan_bytes(run)) < 0 || (rc = plan_listings(run)) < 0)
		return rc;
	if (run->ntasks) {
		if ((rc = p4r_repo_link_order(run->repo, run->order, &run->norder)) < 0)
			return rc;
		p4r_store_defer_sync(store, run->ntasks >= 128);
		rc = p4r_parallel_for(run->ntasks, run->opts->threads, store_one, run);
		p4r_store_defer_sync(store, false);
		if (rc == 0 && !run->opts->dry_run)
			rc = p4r_store_sync(store);
	}
	for (i = 0; i < run->nlistings && rc == 0; i++)
		if (!run->listings[i].rc)
			rc = make_manifest(run, &run->listings[i]);
	return rc < 0 ? rc : settle(run);
}

void p4r_import_dvc_store_free(struct run *run)
{
	size_t i;

	for (i = 0; i < run->ntasks; i++)
		free(run->tasks[i].why);
	free(run->tasks);
	for (i = 0; i < run->nlistings; i++) {
		p4r_dvc_dir_clear(&run->listings[i].dir);
		p4r_manifest_clear(&run->listings[i].m);
		free(run->listings[i].tasks);
		free(run->listings[i].why);
	}
	free(run->listings);
	free(run->slots);
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
