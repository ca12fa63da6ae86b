/* gc: removes objects no version references and stale tmp/ leftovers,
 * never anything changed within the grace period (see gc.h). */
#include "p4reg/gc.h"
#include "p4reg/error.h"
#include "p4reg/fsck.h"
#include "p4reg/fsutil.h"
#include "p4reg/hash.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* An unreferenced object, old enough to go. */
struct cand {
	char path[PATH_MAX];
	p4r_oid oid;
	uint64_t size;
};

struct cands {
	struct cand *v;
	size_t n, cap;
};

/* The last change of ST in seconds: ctime moves on rename, link and chmod
 * (which every store insert does), mtime when a writer touches it. */
static int64_t changed_s(const struct stat *st)
{
	return st->st_ctim.tv_sec > st->st_mtim.tv_sec ? st->st_ctim.tv_sec : st->st_mtim.tv_sec;
}

static int oid_cmp(const void *a, const void *b)
{
	return strcmp(((const p4r_oid *)a)->hex, ((const p4r_oid *)b)->hex);
}

static bool is_hex2(const char *s)
{
	return strlen(s) == 2 &&
	       ((s[0] >= '0' && s[0] <= '9') || (s[0] >= 'a' && s[0] <= 'f')) &&
	       ((s[1] >= '0' && s[1] <= '9') || (s[1] >= 'a' && s[1] <= 'f'));
}

static int add_item(p4r_gc_result *r, const char *rel, const char *oid, uint64_t bytes)
{
	p4r_gc_item *it;

	if (r->nitems == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 16;
		void *p = realloc(r->items, ncap * sizeof(*r->items));

		if (!p)
			return p4r_error_set(P4R_ERROR, "out of memory");
		r->items = p;
		r->cap = ncap;
	}
	it = &r->items[r->nitems];
	memset(it, 0, sizeof(*it));
	if (!(it->path = strdup(rel)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	snprintf(it->oid, sizeof(it->oid), "%s", oid ? oid : "");
	it->bytes = bytes;
	r->nitems++;
	return 0;
}

void p4r_gc_result_clear(p4r_gc_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nitems; i++)
		free(r->items[i].path);
	free(r->items);
	memset(r, 0, sizeof(*r));
}

static int cand_push(struct cands *c, const char *path, const p4r_oid *oid, uint64_t size)
{
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 16;
		void *p = realloc(c->v, ncap * sizeof(*c->v));

		if (!p)
			return p4r_error_set(P4R_ERROR, "out of memory");
		c->v = p;
		c->cap = ncap;
	}
	snprintf(c->v[c->n].path, sizeof(c->v[c->n].path), "%s", path);
	c->v[c->n].oid = *oid;
	c->v[c->n].size = size;
	c->n++;
	return 0;
}

struct walk {
	const p4r_oid *refs;
	size_t nrefs;
	int64_t cutoff;
	struct cands *cands;
	p4r_gc_result *out;
};

/* Walks objects/ab/cd/<oid>; files that do not follow the layout are
 * left alone (fsck reports them). */
static int walk_objects(struct walk *w, const char *dir, int depth, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return errno == ENOENT ? 0 : p4r_error_errno("cannot read folder '%s'", dir);
	while (rc == 0 && (de = readdir(d))) {
		const char *name = de->d_name;
		char path[PATH_MAX], nprefix[8];
		struct stat st;
		p4r_oid oid;

		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
			continue;
		if (depth < 2) {
			if (!is_hex2(name))
				continue;
			snprintf(nprefix, sizeof(nprefix), "%s%.2s", prefix, name); /* name is two hex digits */
			rc = walk_objects(w, path, depth + 1, nprefix);
			continue;
		}
		if (!p4r_oid_valid(name) || strncmp(name, prefix, 4) || lstat(path, &st) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		memcpy(oid.hex, name, sizeof(oid.hex));
		if (bsearch(&oid, w->refs, w->nrefs, sizeof(*w->refs), oid_cmp)) {
			w->out->referenced++;
			continue;
		}
		if (changed_s(&st) > w->cutoff) {
			w->out->kept_recent++;
			continue;
		}
		rc = cand_push(w->cands, path, &oid, (uint64_t)st.st_size);
	}
	closedir(d);
	return rc;
}

/* Deletes the candidates under the registry's write lock: no version can be
 * registered between the last look at the registry and the unlink. */
static int remove_objects(p4r_repo *repo, const p4r_gc_opts *opts, struct cands *c,
			  int64_t cutoff, p4r_gc_result *out)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	const char *root = p4r_repo_root(repo);
	size_t i, rootlen = strlen(root);
	int rc = 0;

	if (c->n == 0)
		return 0;
	if (!opts->dry_run && (rc = p4r_registry_begin(reg)) < 0)
		return rc;
	for (i = 0; i < c->n && rc == 0; i++) {
		struct cand *k = &c->v[i];
		const char *rel = !strncmp(k->path, root, rootlen) && k->path[rootlen] == '/' ?
				  k->path + rootlen + 1 : k->path;
		struct stat st;
		bool used = false;

		if (!opts->dry_run) {
			if ((rc = p4r_registry_oid_referenced(reg, &k->oid, &used)) < 0)
				break;
			/* registered, or rewritten/freshened by an add since the walk */
			if (used) {
				out->referenced++;
				continue;
			}
			if (lstat(k->path, &st) < 0)
				continue;
			if (changed_s(&st) > cutoff) {
				out->kept_recent++;
				continue;
			}
			if (unlink(k->path) < 0) {
				if (errno == ENOENT)
					continue;
				rc = p4r_error_errno("cannot remove '%s'", k->path);
				break;
			}
			/* the removal need not be durable: a crash only brings it back */
		}
		if ((rc = add_item(out, rel, k->oid.hex, k->size)) < 0)
			break;
		out->objects++;
		out->object_bytes += k->size;
	}
	if (!opts->dry_run) {
		/* nothing was written: the transaction only held the lock */
		if (rc == 0)
			rc = p4r_registry_commit(reg);
		else
			p4r_registry_rollback(reg);
	}
	return rc;
}

/* tmp/ holds only unfinished writes: anything there that has not changed
 * within the grace period belongs to a process that is gone. */
static int clean_tmp(p4r_repo *repo, const p4r_gc_opts *opts, int64_t cutoff, p4r_gc_result *out)
{
	char dir[PATH_MAX], path[PATH_MAX], rel[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	snprintf(dir, sizeof(dir), "%s/tmp", p4r_repo_meta(repo));
	if (!(d = opendir(dir)))
		return errno == ENOENT ? 0 : p4r_error_errno("cannot read folder '%s'", dir);
	while (rc == 0 && (de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path) ||
		    lstat(path, &st) < 0 || S_ISDIR(st.st_mode))
			continue;
		if (changed_s(&st) > cutoff) {
			out->kept_recent++;
			continue;
		}
		if (!opts->dry_run && unlink(path) < 0) {
			if (errno == ENOENT)
				continue;
			rc = p4r_error_errno("cannot remove '%s'", path);
			break;
		}
		snprintf(rel, sizeof(rel), ".p4reg/tmp/%s", de->d_name);
		if ((rc = add_item(out, rel, NULL, (uint64_t)st.st_size)) < 0)
			break;
		out->tmp_files++;
		out->tmp_bytes += (uint64_t)st.st_size;
	}
	closedir(d);
	return rc;
}

int p4r_gc_run(p4r_repo *repo, const p4r_gc_opts *opts, p4r_gc_result *out)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	struct cands c = { 0 };
	p4r_oid *refs = NULL;
	size_t nrefs = 0;
	char objects[PATH_MAX];
	int64_t now, cutoff;
	struct walk w;
	int rc;

	memset(out, 0, sizeof(*out));
	if (opts->grace_s < 0)
		return p4r_error_set(P4R_EUSAGE, "the grace period cannot be negative");
	now = opts->now_s ? opts->now_s : (int64_t)time(NULL);
	/* changed after the cutoff: too young to judge */
	cutoff = now - opts->grace_s;
	if ((rc = p4r_registry_read_begin(reg)) == 0)
		rc = p4r_registry_referenced_oids(reg, &refs, NULL, &nrefs);
	p4r_registry_read_end(reg);
	if (rc < 0)
		goto done;
	w = (struct walk){ refs, nrefs, cutoff, &c, out };
	snprintf(objects, sizeof(objects), "%s/objects", p4r_repo_meta(repo));
	if ((rc = walk_objects(&w, objects, 0, "")) < 0 ||
	    (rc = remove_objects(repo, opts, &c, cutoff, out)) < 0)
		goto done;
	rc = clean_tmp(repo, opts, cutoff, out);
done:
	free(refs);
	free(c.v);
	return rc;
}
