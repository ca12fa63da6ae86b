/* gc: removes objects no version references and stale tmp/ leftovers,
 * never anything changed within the grace period (see gc.h). Every folder
 * is opened without following a symbolic link and every file is removed
 * relative to its folder's descriptor, so nothing outside .p4reg/ can be
 * reached, whatever was committed or planted there. */
#include "p4reg/gc.h"
#include "p4reg/error.h"
#include "p4reg/version_objects.h"
#include "p4reg/fsck.h"
#include "p4reg/fsutil.h"
#include "p4reg/gitscan.h"
#include "p4reg/hash.h"
#include "store/chunk_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The names p4reg gives its files in .p4reg/tmp/: p4r_mkstemp_in's
 * ".PREFIX.XXXXXX" with these prefixes (store.c: object, link; transfer.c:
 * fetch; git/filter.c: filter). A new p4r_mkstemp_in caller writing
 * into tmp/ adds its prefix here, or gc leaves its leftovers alone and
 * fsck reports them. */
static const char *const tmp_prefixes[] = { "object", "link", "fetch", "filter", "clock", "convert" };
#define TMP_SUFFIX_LEN 6 /* mkstemp's XXXXXX: letters and digits */

/* The lock sync.c holds (flock) for a whole push or fetch. */
#define SYNC_LOCK "sync.lock"

/* An unreferenced object, old enough to go. */
struct cand {
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

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

p4r_tmp_name p4r_gc_classify_tmp(const char *name)
{
	size_t i, j, len;

	if (!strcmp(name, SYNC_LOCK))
		return P4R_TMP_LOCK;
	for (i = 0; i < sizeof(tmp_prefixes) / sizeof(tmp_prefixes[0]); i++) {
		len = strlen(tmp_prefixes[i]);
		if (name[0] != '.' || strncmp(name + 1, tmp_prefixes[i], len) || name[1 + len] != '.' ||
		    strlen(name + 2 + len) != TMP_SUFFIX_LEN)
			continue;
		for (j = 0; j < TMP_SUFFIX_LEN && is_alnum(name[2 + len + j]); j++)
			;
		if (j == TMP_SUFFIX_LEN)
			return P4R_TMP_PARTIAL;
	}
	return P4R_TMP_FOREIGN;
}

int p4r_gc_open_dir(int *out, int dirfd, const char *name, const char *rel)
{
	struct stat st;

	*out = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*out >= 0 || errno == ENOENT)
		return 0;
	if (errno != ELOOP && errno != ENOTDIR)
		return p4r_error_errno("cannot open folder '%s'", rel);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
		return p4r_error_set(P4R_EINTEGRITY, "'%s' is a symbolic link, not a folder: p4reg does not"
				     " follow it; remove the link (p4reg creates the folder again)", rel);
	return p4r_error_set(P4R_EINTEGRITY, "'%s' is not a folder: move it away (p4reg creates the"
			     " folder again)", rel);
}

/* Lists folder FD, which stays open and the caller's; NULL with errno set. */
static DIR *list_dir(int fd)
{
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	DIR *d;

	if (copy < 0)
		return NULL;
	if (!(d = fdopendir(copy))) {
		close(copy);
		return NULL;
	}
	/* a dup shares the read position: start from the first entry */
	rewinddir(d);
	/* a dup shares the offset: start from the top whatever read it before */
	rewinddir(d);
	return d;
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

static int cand_push(struct cands *c, const p4r_oid *oid, uint64_t size)
{
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 16;
		void *p = realloc(c->v, ncap * sizeof(*c->v));

		if (!p)
			return p4r_error_set(P4R_ERROR, "out of memory");
		c->v = p;
		c->cap = ncap;
	}
	c->v[c->n].oid = *oid;
	c->v[c->n].size = size;
	c->n++;
	return 0;
}

void p4r_gc_progress(const p4r_gc_opts *opts, const char *label, uint64_t done, uint64_t total)
{
	p4r_progress p = { .label = label, .unit = "objects", .items = done, .items_total = total };

	if (opts->count)
		opts->count(&p, opts->payload);
}

struct walk {
	const p4r_oid *refs;
	size_t nrefs;
	int64_t cutoff;
	struct cands *cands;
	p4r_gc_result *out;
	const p4r_gc_opts *opts;
	uint64_t examined;      /* objects looked at so far */
};

/* Judges the file NAME in objects/ab/cd (folder DIRFD, oid prefix PREFIX). */
static int judge_object(struct walk *w, int dirfd, const char *name, const char *prefix)
{
	struct stat st;
	p4r_oid oid;

	if (!p4r_oid_valid(name) || strncmp(name, prefix, 4) ||
	    fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return 0;
	memcpy(oid.hex, name, sizeof(oid.hex));
	p4r_gc_progress(w->opts, "gc examining", ++w->examined, 0);
	if (w->nrefs && bsearch(&oid, w->refs, w->nrefs, sizeof(*w->refs), oid_cmp)) {
		w->out->referenced++;
		return 0;
	}
	if (changed_s(&st) > w->cutoff) {
		w->out->kept_recent++;
		return 0;
	}
	return cand_push(w->cands, &oid, (uint64_t)st.st_size);
}

/* Walks objects/ab/cd/<oid> from folder DIRFD at DEPTH (0: objects/).
 * Anything that does not follow the layout, symbolic links included, is
 * neither entered nor touched (fsck reports it). */
static int walk_objects(struct walk *w, int dirfd, int depth, const char *prefix)
{
	DIR *d = list_dir(dirfd);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return p4r_error_errno("cannot read the store folder");
	while (rc == 0 && (de = readdir(d))) {
		char nprefix[16];
		int sub;

		if (depth == 2) {
			rc = judge_object(w, dirfd, de->d_name, prefix);
			continue;
		}
		if (!is_hex2(de->d_name))
			continue;
		sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue;
		snprintf(nprefix, sizeof(nprefix), "%.4s%.2s", prefix, de->d_name); /* ab + cd */
		rc = walk_objects(w, sub, depth + 1, nprefix);
		close(sub);
	}
	closedir(d);
	return rc;
}

/* Opens objects/ab/cd of OID below OBJFD without following links; -1 when
 * it is gone or not a folder any more. */
static int object_dir(int objfd, const p4r_oid *oid)
{
	char part[3] = { oid->hex[0], oid->hex[1], '\0' };
	int ab, cd;

	ab = openat(objfd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (ab < 0)
		return -1;
	part[0] = oid->hex[2];
	part[1] = oid->hex[3];
	cd = openat(ab, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(ab);
	return cd;
}

/* Deletes candidate K if it is still unreferenced, old and a regular file;
 * *GONE tells whether it was removed (or would be, in a dry run). */
static int remove_one(p4r_registry *reg, int objfd, const p4r_gc_opts *opts, const struct cand *k,
		      int64_t cutoff, p4r_gc_result *out, bool *gone)
{
	struct stat st;
	bool used = false;
	int cd, rc = 0;

	*gone = opts->dry_run;
	if (opts->dry_run)
		return 0;
	if ((rc = p4r_registry_oid_referenced(reg, &k->oid, &used)) < 0)
		return rc;
	/* registered, or rewritten/freshened by an add since the walk */
	if (used) {
		out->referenced++;
		return 0;
	}
	if ((cd = object_dir(objfd, &k->oid)) < 0)
		return 0;
	if (fstatat(cd, k->oid.hex, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		goto done;
	if (changed_s(&st) > cutoff) {
		out->kept_recent++;
		goto done;
	}
	/* the removal need not be durable: a crash only brings it back */
	if (unlinkat(cd, k->oid.hex, 0) == 0)
		*gone = true;
	else if (errno != ENOENT)
		rc = p4r_error_errno("cannot remove object '%s'", k->oid.hex);
done:
	close(cd);
	return rc;
}

/* Deletes the candidates under the registry's write lock: no version can be
 * registered between the last look at the registry and the unlink. */
static int remove_objects(p4r_registry *reg, int objfd, const p4r_gc_opts *opts, struct cands *c,
			  int64_t cutoff, p4r_gc_result *out)
{
	char rel[128];
	size_t i;
	int rc = 0;

	if (c->n == 0)
		return 0;
	if (!opts->dry_run && (rc = p4r_registry_begin(reg)) < 0)
		return rc;
	for (i = 0; i < c->n && rc == 0; i++) {
		struct cand *k = &c->v[i];
		bool gone;

		rc = remove_one(reg, objfd, opts, k, cutoff, out, &gone);
		if (!opts->dry_run)
			p4r_gc_progress(opts, "gc deleting", i + 1, c->n);
		if (rc < 0 || !gone)
			continue;
		if ((rc = p4r_oid_path(rel, sizeof(rel), P4R_META_DIR "/objects", &k->oid)) < 0 ||
		    (rc = add_item(out, rel, k->oid.hex, k->size)) < 0)
			break;
		out->objects++;
		out->object_bytes += k->size;
	}
	if (!opts->dry_run) {
		/* nothing was written: the transaction only held the lock */
		if (rc == 0)
			rc = p4r_registry_commit(reg);
		else
			p4r_registry_abort(reg);
	}
	return rc;
}

/* tmp/ holds unfinished writes: a file there under a name p4reg makes that
 * has not changed within the grace period belongs to a process that is
 * gone. Other names are not p4reg's to delete, and sync.lock never goes:
 * a push or fetch may hold it, and removing a held flock file lets the
 * next one lock a new file beside the holder. */
static int clean_tmp(int tmpfd, const p4r_gc_opts *opts, int64_t cutoff, p4r_gc_result *out)
{
	char rel[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (!(d = list_dir(tmpfd)))
		return p4r_error_errno("cannot read folder '" P4R_META_DIR "/tmp'");
	while (rc == 0 && (de = readdir(d))) {
		p4r_tmp_name kind = p4r_gc_classify_tmp(de->d_name);
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || kind == P4R_TMP_LOCK ||
		    fstatat(tmpfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (kind == P4R_TMP_FOREIGN || !S_ISREG(st.st_mode)) {
			out->foreign++;
			continue;
		}
		if (changed_s(&st) > cutoff) {
			out->kept_recent++;
			continue;
		}
		if (!opts->dry_run && unlinkat(tmpfd, de->d_name, 0) < 0) {
			if (errno == ENOENT)
				continue;
			rc = p4r_error_errno("cannot remove '" P4R_META_DIR "/tmp/%s'", de->d_name);
			break;
		}
		snprintf(rel, sizeof(rel), P4R_META_DIR "/tmp/%s", de->d_name);
		if ((rc = add_item(out, rel, NULL, (uint64_t)st.st_size)) < 0)
			break;
		out->tmp_files++;
		out->tmp_bytes += (uint64_t)st.st_size;
	}
	closedir(d);
	return rc;
}

/* Adds to the sorted *REFS the objects git's Git LFS pointers need (the
 * index and every ref's history, gitscan.h): git's filter stores objects
 * that no version names, and they are referenced all the same. */
static int add_git_referenced(p4r_repo *repo, p4r_oid **refs, size_t *nrefs)
{
	p4r_oid *git = NULL, *all;
	size_t ngit = 0;
	int rc;

	if ((rc = p4r_git_lfs_referenced(p4r_repo_root(repo), &git, &ngit)) < 0 || ngit == 0)
		goto done;
	if (!(all = realloc(*refs, (*nrefs + ngit) * sizeof(*all)))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	memcpy(all + *nrefs, git, ngit * sizeof(*git));
	*refs = all;
	*nrefs += ngit;
	qsort(all, *nrefs, sizeof(*all), oid_cmp);
done:
	free(git);
	return rc;
}

/* Opens .p4reg/ and its objects/, tmp/ and chunks/ (each -1 when absent),
 * refusing symbolic links before anything is deleted. */
static int open_folders(p4r_repo *repo, int *meta, int *objects, int *tmp, int *chunks)
{
	int rc;

	*meta = open(p4r_repo_meta(repo), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*meta < 0)
		return errno == ELOOP ?
		       p4r_error_set(P4R_EINTEGRITY, "'%s' is a symbolic link, not a folder: p4reg does"
				     " not follow it", p4r_repo_meta(repo)) :
		       p4r_error_errno("cannot open folder '%s'", p4r_repo_meta(repo));
	if ((rc = p4r_gc_open_dir(objects, *meta, "objects", P4R_META_DIR "/objects")) < 0 ||
	    (rc = p4r_gc_open_dir(chunks, *meta, P4R_CHUNKS_DIR, P4R_META_DIR "/" P4R_CHUNKS_DIR)) < 0)
		return rc;
	return p4r_gc_open_dir(tmp, *meta, "tmp", P4R_META_DIR "/tmp");
}

/* The chunk lists of the objects removed go with them; then the damaged
 * ones, old ones of objects gone and stale temporary files. */
static int clean_chunks(p4r_repo *repo, int chunksfd, const p4r_gc_opts *opts, int64_t cutoff,
			p4r_gc_result *out)
{
	uint64_t bytes;
	size_t i, n;
	p4r_oid oid;
	int rc;

	for (i = 0; i < out->nitems && !opts->dry_run; i++) {
		if (!out->items[i].oid[0])
			continue;
		memcpy(oid.hex, out->items[i].oid, sizeof(oid.hex));
		if ((rc = p4r_chunks_forget(chunksfd, &oid, &bytes)) < 0)
			return rc;
		out->chunk_lists += bytes > 0;
		out->chunk_list_bytes += bytes;
	}
	if ((rc = p4r_chunks_gc(p4r_repo_store(repo), chunksfd, cutoff, opts->dry_run, &n, &bytes)) < 0)
		return rc;
	out->chunk_lists += n;
	out->chunk_list_bytes += bytes;
	return 0;
}

int p4r_gc_run(p4r_repo *repo, const p4r_gc_opts *opts, p4r_gc_result *out)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	int metafd = -1, objfd = -1, tmpfd = -1, chunksfd = -1;
	struct cands c = { 0 };
	p4r_oid *refs = NULL;
	size_t nrefs = 0;
	int64_t now, cutoff;
	struct walk w;
	int rc;

	memset(out, 0, sizeof(*out));
	if (opts->grace_s < 0)
		return p4r_error_set(P4R_EUSAGE, "the grace period cannot be negative");
	now = opts->now_s ? opts->now_s : (int64_t)time(NULL);
	/* changed after the cutoff: too young to judge */
	cutoff = now - opts->grace_s;
	if ((rc = open_folders(repo, &metafd, &objfd, &tmpfd, &chunksfd)) < 0)
		goto done;
	/* a folder version's files are referenced through its manifest rows:
	 * rows lost (or never recorded) come back from the manifest object
	 * before anything is judged; a damaged manifest stops gc here */
	if ((rc = p4r_manifests_rebuild(repo, NULL)) < 0)
		goto done;
	/* a read that nests: a dry run of gc --keep-last judges inside the
	 * transaction that deleted the versions (ops/gc.c) */
	if ((rc = p4r_registry_begin_read(reg)) < 0)
		goto done;
	if ((rc = p4r_registry_referenced_oids(reg, &refs, NULL, &nrefs)) < 0)
		p4r_registry_abort(reg);
	else
		rc = p4r_registry_commit(reg);
	if (rc < 0 || (rc = add_git_referenced(repo, &refs, &nrefs)) < 0)
		goto done;
	w = (struct walk){ refs, nrefs, cutoff, &c, out, opts, 0 };
	if (objfd >= 0 && ((rc = walk_objects(&w, objfd, 0, "")) < 0 ||
			   (rc = remove_objects(reg, objfd, opts, &c, cutoff, out)) < 0))
		goto done;
	if (chunksfd >= 0 && (rc = clean_chunks(repo, chunksfd, opts, cutoff, out)) < 0)
		goto done;
	if (tmpfd >= 0)
		rc = clean_tmp(tmpfd, opts, cutoff, out);
done:
	if (chunksfd >= 0)
		close(chunksfd);
	if (tmpfd >= 0)
		close(tmpfd);
	if (objfd >= 0)
		close(objfd);
	if (metafd >= 0)
		close(metafd);
	free(refs);
	free(c.v);
	return rc;
}
