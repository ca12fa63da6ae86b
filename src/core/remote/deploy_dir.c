/* p4reg get of a folder version (deploy.h): its manifest from the
 * remote, verified; then PATH made exactly that folder -- files written,
 * replaced and removed -- refusing files that are in no version. */
#include "deploy_priv.h"
#include "p4reg/beneath.h"
#include "p4reg/dirwalk.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/manifest.h"
#include "p4reg/parallel.h"
#include "p4reg/relpath.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>

/* The record of the folder version get last put at PATH: a few names and
 * the files it kept but never wrote (see struct placed). A longer record
 * is not written: without one every file counts as foreign, which is safe. */
#define RECORD_MAX (1024 * 1024)

/* ---- a folder version: its manifest, then each file into PATH/ ---- */

/* A manifest of 1 MiB or more may be a chunk list on a format-2 remote:
 * rebuilt in memory (a memfd) through the verified download, which reads
 * either form. */
static int get_chunked_manifest(p4r_remote *remote, const p4r_deploy_version *v, char **text)
{
	int fd = memfd_create("p4reg-manifest", MFD_CLOEXEC), rc;

	if (fd < 0)
		return p4r_error_errno("cannot create a memory file");
	rc = p4r_remote_get_verified(remote, &v->oid, v->size, fd, "the manifest", NULL, NULL);
	if (rc == 0 && !(*text = malloc((size_t)v->size + 1)))
		rc = p4r_error_set(P4R_ERROR, "out of memory");
	if (rc == 0 && pread(fd, *text, (size_t)v->size, 0) != (ssize_t)v->size)
		rc = p4r_error_errno("cannot read the manifest back");
	if (rc == 0)
		(*text)[v->size] = '\0';
	close(fd);
	return rc;
}

int p4r_deploy_manifest(p4r_remote *remote, const p4r_deploy_version *v, p4r_manifest *m)
{
	char key[128], what[P4R_MODEL_NAME_MAX + 48], *text = NULL;
	size_t len = 0;
	p4r_oid got;
	int rc;

	snprintf(what, sizeof(what), "manifest of %s@%lld", v->model, (long long)v->number);
	if (v->size < 0 || v->size > (int64_t)P4R_MANIFEST_MAX_BYTES)
		return p4r_error_set(P4R_EINTEGRITY, "the %s is %lld bytes in the remote's log, over the "
				     "limit", what, (long long)v->size);
	p4r_remote_object_key(key, sizeof(key), &v->oid);
	if ((uint64_t)v->size >= P4R_CHUNK_FROM) {
		if ((rc = get_chunked_manifest(remote, v, &text)) < 0)
			goto done;
		len = (size_t)v->size;
	} else if ((rc = remote->ops->get_small(remote, key, (size_t)v->size, &text, &len)) < 0) {
		return rc;
	}
	if ((rc = p4r_hash_buffer(&got, text, len)) == 0 &&
	    ((int64_t)len != v->size || !p4r_oid_equal(&got, &v->oid)))
		rc = p4r_error_set(P4R_EINTEGRITY, "object %s on remote '%s' is corrupt (the %s): its "
				   "bytes do not match its oid and size", v->oid.hex, remote->name, what);
	if (rc == 0)
		rc = p4r_manifest_decode(m, text, len, what);
done:
	free(text);
	return rc;
}

/* PATH as a folder, opened without following a link; made (0755) when
 * missing, its parent never. */
static int dir_root(const p4r_dest *d, int *fd)
{
	if (!d->isdir && d->st.st_mode != 0)
		return p4r_error_set(P4R_EUSAGE, "'%s' is not a folder; a folder version is written "
				     "as a folder", d->display);
	if (!d->isdir && mkdirat(d->dirfd, d->base, 0755) < 0 && errno != EEXIST)
		return p4r_error_errno("cannot create folder '%s'", d->display);
	if ((*fd = openat(d->dirfd, d->base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return p4r_error_errno("cannot open folder '%s'", d->display);
	return 0;
}

/* What the record says of PATH: the folder version get last put there and
 * the paths of that version's files it found already in place (the user's
 * own, bytes equal by chance or by a remote's design): those were never
 * get's, and stay foreign however many gets follow. Sorted, for bsearch. */
struct placed {
	p4r_manifest own;              /* the version's manifest, when not the one got now */
	const p4r_manifest *m;         /* NULL when there is no usable record */
	char **kept;
	size_t nkept;
};

struct dir_job {
	p4r_remote *remote;
	p4r_get_opts fopts;            /* the caller's, without progress (files go in parallel) */
	const p4r_get_opts *caller;    /* its progress: files written and their bytes */
	pthread_mutex_t lock;          /* the counts below and the caller's progress */
	uint64_t files_done, bytes_done, bytes_total;
	p4r_store *cache;
	const p4r_deploy_version *v;
	const p4r_manifest *m;
	int root;                      /* PATH, open */
	const char *display;           /* PATH as given */
	const struct placed *prev;     /* what get last put at PATH */
	const char **kept;             /* entries of M held in PATH and not get's own */
	size_t nkept;
	size_t *order, norder;         /* entries of M to write */
	const char **extra;            /* files of PATH in no entry of M */
	size_t nextra;
	size_t nforeign;               /* extra or held with other bytes, and not as the
					* previous version had them */
	const char *first;             /* the first foreign one, in path order */
};

/* A temporary file a crashed get left beside a file of M
 * (p4r_tmp_beside_target); a user's file of that shape is not ours. */
static bool leftover_tmp(const p4r_manifest *m, const char *path)
{
	char target[P4R_RELPATH_MAX + 1];

	return p4r_tmp_beside_target(path, target, sizeof(target)) && p4r_manifest_find(m, target);
}

/* Unlinks REL below the open folder ROOT, never through a link. */
static int dir_unlink(int root, const char *rel, const char *display)
{
	const char *base;
	int dfd, rc;

	if ((rc = p4r_beneath_parent(&dfd, &base, root, rel, false)) < 0)
		return rc;
	rc = unlinkat(dfd, base, 0) < 0 && errno != ENOENT ?
	     p4r_error_errno("cannot remove '%s/%s'", display, rel) : 0;
	close(dfd);
	return rc;
}

/* *HOLDS when the file F of PATH holds E's bytes (hashed only when the
 * size says it may). */
static int dir_holds(const struct dir_job *j, const p4r_dirwalk_file *f, const p4r_manifest_entry *e,
		     bool *holds)
{
	p4r_oid got;
	uint64_t size;
	int fd, rc;

	*holds = false;
	if (!e || f->st.st_size != e->size)
		return 0;
	if ((rc = p4r_beneath_open_regular(&fd, NULL, j->root, f->path)) < 0)
		return rc;
	rc = p4r_hash_fd(&got, &size, fd);
	close(fd);
	*holds = rc == 0 && p4r_oid_equal(&got, &e->oid) && (int64_t)size == e->size;
	return rc;
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entry the last get's version had at PATH, when get put it there
 * itself (a file it found in place and kept is not its own). */
static const p4r_manifest_entry *placed_entry(const struct placed *p, const char *path)
{
	if (p->nkept && bsearch(&path, p->kept, p->nkept, sizeof(*p->kept), cmp_path))
		return NULL;
	return p->m ? p4r_manifest_find(p->m, path) : NULL;
}

/* One file found in PATH: leftover, extra, held, or to be rewritten. A
 * file that is not the new version's but holds exactly what get itself
 * last put there is ours to replace or remove; any other is foreign
 * (refused without --force). A mode alone is rewritten. A file of M found
 * already in place stays foreign for later gets unless get put it there. */
static int dir_plan_file(struct dir_job *j, const p4r_dirwalk_file *f, unsigned char *keep)
{
	const p4r_manifest_entry *e = p4r_manifest_find(j->m, f->path), *pe;
	bool holds = false, ours = false;
	int rc;

	if (!e && leftover_tmp(j->m, f->path))
		return dir_unlink(j->root, f->path, j->display);
	if ((rc = dir_holds(j, f, e, &holds)) < 0)
		return rc;
	if (e)
		keep[e - j->m->v] = holds && !!(f->st.st_mode & S_IXUSR) == e->exec;
	pe = placed_entry(j->prev, f->path);
	if (pe && e && holds && p4r_oid_equal(&pe->oid, &e->oid))
		ours = true;
	else if (pe && (!e || !holds) && (rc = dir_holds(j, f, pe, &ours)) < 0)
		return rc;
	if (e && keep[e - j->m->v] && !ours)
		j->kept[j->nkept++] = e->path;
	if (!e)
		j->extra[j->nextra++] = f->path;
	if ((!e || !holds) && !ours) {
		j->nforeign++;
		if (!j->first)
			j->first = f->path;
	}
	return 0;
}

/* What to write and what is foreign; nothing is written here but the
 * removal of a crashed get's temporary files. */
static int dir_plan(struct dir_job *j, p4r_dirwalk *w, p4r_get_result *out)
{
	p4r_dirwalk_opts wo = { .display = j->display, .allow_empty = true };
	unsigned char *keep = calloc(j->m->n + 1, 1);
	size_t i;
	int rc;

	if (!keep)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if ((rc = p4r_dirwalk_list(w, j->root, &wo)) == 0 &&
	    (!(j->extra = calloc(w->n + 1, sizeof(*j->extra))) || !(j->kept = calloc(w->n + 1, sizeof(*j->kept)))))
		rc = p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; rc == 0 && i < w->n; i++)
		rc = dir_plan_file(j, &w->v[i], keep);
	for (i = 0; rc == 0 && i < j->m->n; i++)
		if (!keep[i])
			j->order[j->norder++] = i;
	out->unchanged = (int64_t)(j->m->n - j->norder);
	free(keep);
	return rc;
}

/* Without --force a foreign file refuses the whole get, before any write. */
static int dir_refuse(const struct dir_job *j)
{
	size_t n = j->nforeign;

	int rc = p4r_error_set(P4R_ERROR, "'%s' holds %zu file%s not in %s@%lld or with other bytes, "
			       "first '%s'; nothing was changed", j->display, n, n == 1 ? "" : "s",
			       j->v->model, (long long)j->v->number, j->first);

	p4r_error_hint("use --force to overwrite or remove them");
	return rc;
}

/* ---- the record "PATH holds folder version V" (in the cache) ---- */

/* The "kept" paths of a record into P, sorted; false when malformed. */
static bool record_kept(const cJSON *kept, struct placed *p)
{
	const cJSON *k;
	size_t n = 0;

	if (!cJSON_IsArray(kept))
		return false;
	if (!(p->kept = calloc((size_t)cJSON_GetArraySize(kept) + 1, sizeof(*p->kept))))
		return false;
	cJSON_ArrayForEach(k, kept) {
		if (!cJSON_IsString(k) || !(p->kept[n] = strdup(k->valuestring)))
			break;
		n++;
	}
	p->nkept = n;
	qsort(p->kept, n, sizeof(*p->kept), cmp_path);
	return n == (size_t)cJSON_GetArraySize(kept);
}

static void placed_clear(struct placed *p)
{
	size_t i;

	for (i = 0; i < p->nkept; i++)
		free(p->kept[i]);
	free(p->kept);
	p4r_manifest_clear(&p->own);
	memset(p, 0, sizeof(*p));
}

/* The version the record for PATH names in *PREV (kind P4R_KIND_FILE
 * when there is none, or it is not for PATH: a record is only a hint) and
 * the files it kept in P. */
static void record_read(const p4r_dest *d, const char *cache_dir, p4r_deploy_version *prev,
			struct placed *p)
{
	char *file = NULL, *abs = NULL, *text = NULL;
	const cJSON *path, *kind, *model, *number, *oid, *size;
	cJSON *doc = NULL;
	size_t len;

	memset(prev, 0, sizeof(*prev));
	if (!cache_dir || p4r_deploy_placed_names(&file, &abs, cache_dir, d) < 0 || !file ||
	    p4r_read_file(&text, &len, file, RECORD_MAX) < 0 || !(doc = cJSON_ParseWithLength(text, len)))
		goto done;
	path = cJSON_GetObjectItemCaseSensitive(doc, "path");
	kind = cJSON_GetObjectItemCaseSensitive(doc, "kind");
	model = cJSON_GetObjectItemCaseSensitive(doc, "model");
	number = cJSON_GetObjectItemCaseSensitive(doc, "version");
	oid = cJSON_GetObjectItemCaseSensitive(doc, "oid");
	size = cJSON_GetObjectItemCaseSensitive(doc, "size");
	if (!cJSON_IsString(path) || strcmp(path->valuestring, abs) || !cJSON_IsString(kind) ||
	    strcmp(kind->valuestring, "dir") || !cJSON_IsString(model) || !cJSON_IsNumber(number) ||
	    !cJSON_IsString(oid) || p4r_oid_parse(&prev->oid, oid->valuestring) < 0 || !cJSON_IsNumber(size) ||
	    strlen(model->valuestring) >= sizeof(prev->model) ||
	    !record_kept(cJSON_GetObjectItemCaseSensitive(doc, "kept"), p))
		goto done;
	snprintf(prev->model, sizeof(prev->model), "%s", model->valuestring);
	prev->number = (int64_t)number->valuedouble;
	prev->size = (int64_t)size->valuedouble;
	prev->kind = P4R_KIND_DIR;
done:
	p4r_error_clear();
	cJSON_Delete(doc);
	free(text);
	free(file);
	free(abs);
}

/* Records that PATH now holds V, of which get found the files KEPT already
 * in place: a hint for the next get (failures ignored). */
static void record_write(const p4r_dest *d, const char *cache_dir, const p4r_deploy_version *v,
			 const char *const *kept, size_t nkept)
{
	char *file = NULL, *abs = NULL, *dir = cache_dir ? p4r_path_join(cache_dir, "placed") : NULL, *text = NULL;
	cJSON *doc = NULL, *list;

	if (!dir || p4r_deploy_placed_names(&file, &abs, cache_dir, d) < 0 || !file)
		goto done;
	if (!(doc = cJSON_CreateObject()) || !cJSON_AddStringToObject(doc, "path", abs) ||
	    !cJSON_AddStringToObject(doc, "kind", "dir") || !cJSON_AddStringToObject(doc, "model", v->model) ||
	    !cJSON_AddNumberToObject(doc, "version", (double)v->number) ||
	    !cJSON_AddStringToObject(doc, "oid", v->oid.hex) ||
	    !cJSON_AddNumberToObject(doc, "size", (double)v->size) ||
	    !(list = cJSON_AddArrayToObject(doc, "kept")))
		goto done;
	for (size_t i = 0; i < nkept; i++)
		if (!cJSON_AddItemToArray(list, cJSON_CreateString(kept[i])))
			goto done;
	if (!(text = cJSON_PrintUnformatted(doc)) || strlen(text) > RECORD_MAX) {
		/* no record rather than a cut one: then every file is foreign */
		if (file)
			unlink(file);
		goto done;
	}
	if (p4r_mkdir_p(dir, 0700) == 0)
		p4r_write_file_atomic(file, text, strlen(text), 0600);
done:
	p4r_error_clear();
	cJSON_free(text);
	cJSON_Delete(doc);
	free(dir);
	free(file);
	free(abs);
}

/* What get last put at PATH, when the record names a version the remote
 * still has (M when it is the version now got); else PREV stays empty
 * (every file then counts as foreign, as without a record). */
static void previous_placed(p4r_remote *remote, const p4r_dest *d, const p4r_get_opts *opts,
			    const p4r_deploy_version *now, const p4r_manifest *m, struct placed *prev)
{
	p4r_deploy_version pv;
	int rc;

	record_read(d, opts->cache_dir, &pv, prev);
	if (pv.kind != P4R_KIND_DIR) {
		placed_clear(prev);
		return;
	}
	if (p4r_oid_equal(&pv.oid, &now->oid)) {
		prev->m = m;
		return;
	}
	if ((rc = p4r_deploy_manifest(remote, &pv, &prev->own)) < 0) {
		p4r_error_clear();
		placed_clear(prev);
		return;
	}
	prev->m = &prev->own;
}

/* The files written and their bytes so far, to the caller (under J's lock). */
static void dir_report(const struct dir_job *j)
{
	p4r_progress p = { .label = "get", .unit = "files", .items = j->files_done, .items_total = j->norder,
			   .has_bytes = true, .bytes = j->bytes_done, .bytes_total = j->bytes_total };

	if (j->caller->count)
		j->caller->count(&p, j->caller->payload);
	else if (j->caller->progress)
		j->caller->progress(p.bytes, p.bytes_total, j->caller->payload);
}

/* One file's download: its bytes so far (a p4r_progress_count_fn of the
 * file's own options) added to the folder's. */
struct file_progress {
	struct dir_job *j;
	uint64_t reported;             /* of the file's bytes, in J's count */
};

static void file_bytes(const p4r_progress *c, void *payload)
{
	struct file_progress *fp = payload;

	pthread_mutex_lock(&fp->j->lock);
	fp->j->bytes_done += c->bytes - fp->reported;
	fp->reported = c->bytes;
	dir_report(fp->j);
	pthread_mutex_unlock(&fp->j->lock);
}

/* File K is in place: all its bytes count, and one more file. */
static void file_done(struct dir_job *j, struct file_progress *fp, uint64_t size)
{
	pthread_mutex_lock(&j->lock);
	j->bytes_done += size - fp->reported;
	j->files_done++;
	dir_report(j);
	pthread_mutex_unlock(&j->lock);
}

/* Entry ORDER[K] of the manifest: downloaded verified (into the cache when
 * there is one) and renamed into its folder below PATH. */
static int dir_put(size_t k, void *payload)
{
	struct dir_job *j = payload;
	const p4r_manifest_entry *e = &j->m->v[j->order[k]];
	p4r_deploy_version fv = *j->v;
	struct file_progress fp = { .j = j };
	p4r_get_opts fopts = j->fopts;
	p4r_dest fd = { .dirfd = -1 };
	p4r_link_type link;
	char *display = NULL;
	bool have = false;
	int mode = e->exec ? 0755 : DEST_MODE, rc;

	fv.oid = e->oid;
	fv.size = e->size;
	fv.kind = P4R_KIND_FILE;
	if (asprintf(&display, "%s/%s", j->display, e->path) < 0)
		return p4r_error_set(P4R_ERROR, "out of memory");
	fd.display = display;
	if ((rc = p4r_beneath_parent(&fd.dirfd, &fd.base, j->root, e->path, true)) < 0)
		goto done;
	if (j->caller->count || j->caller->progress) {
		fopts.count = file_bytes;
		fopts.payload = &fp;
	}
	if (!j->cache)
		rc = p4r_deploy_place_direct(j->remote, &fd, &fv, &fopts, mode);
	else if ((rc = p4r_deploy_cache_has(j->cache, &fv, &have)) == 0)
		rc = have ? p4r_deploy_place_from_cache(j->cache, &fd, &fv, mode, &link) :
		     p4r_deploy_cache_fill_place(j->remote, j->cache, fopts.cache_dir, &fd, &fv, &fopts,
						 mode, &link);
	if (rc == 0 && (j->caller->count || j->caller->progress))
		file_done(j, &fp, (uint64_t)e->size);
done:
	if (fd.dirfd >= 0)
		close(fd.dirfd);
	free(display);
	return rc;
}

/* Removes the foreign files (--force), then the folders they leave empty
 * (a folder that is not empty stays: ENOTEMPTY is no failure). */
static int dir_remove(struct dir_job *j, p4r_get_result *out)
{
	size_t i;
	int rc;

	for (i = 0; i < j->nextra; i++) {
		char *rel = strdup(j->extra[i]), *slash;

		if (!rel)
			return p4r_error_set(P4R_ERROR, "out of memory");
		if ((rc = dir_unlink(j->root, rel, j->display)) < 0) {
			free(rel);
			return rc;
		}
		out->removed++;
		while ((slash = strrchr(rel, '/'))) {
			*slash = '\0';
			if (unlinkat(j->root, rel, AT_REMOVEDIR) < 0)
				break;
		}
		p4r_error_clear();
		free(rel);
	}
	return 0;
}

int p4r_deploy_get_dir(p4r_remote *remote, const p4r_dest *d, const p4r_get_opts *opts,
		   p4r_store *cache, p4r_get_result *out)
{
	struct dir_job j = { .remote = remote, .fopts = *opts, .caller = opts, .cache = cache,
			     .v = &out->version, .root = -1, .display = d->display,
			     .lock = PTHREAD_MUTEX_INITIALIZER };
	size_t i;
	p4r_manifest m = { 0 };
	struct placed prev = { 0 };
	p4r_dirwalk w = { 0 };
	int rc;

	j.fopts.progress = NULL;
	j.fopts.count = NULL;
	j.m = &m;
	j.prev = &prev;
	if ((rc = p4r_deploy_manifest(remote, &out->version, &m)) < 0 || (rc = dir_root(d, &j.root)) < 0)
		goto done;
	previous_placed(remote, d, opts, &out->version, &m, &prev);
	out->files = (int64_t)m.n;
	if (!(j.order = calloc(m.n, sizeof(*j.order)))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	if ((rc = dir_plan(&j, &w, out)) < 0)
		goto done;
	if (j.first && !opts->force) {
		rc = dir_refuse(&j);
		goto done;
	}
	for (i = 0; i < j.norder; i++)
		j.bytes_total += (uint64_t)m.v[j.order[i]].size;
	/* foreign files first: one may stand where a folder of M must go */
	if ((rc = dir_remove(&j, out)) < 0 ||
	    (rc = p4r_parallel_for(j.norder, 4, dir_put, &j)) < 0)
		goto done;
	out->written = (int64_t)j.norder;
	out->changed = j.norder > 0 || out->removed > 0;
	if (j.norder && fsync(j.root) < 0)
		rc = p4r_error_errno("cannot fsync folder '%s'", d->display);
	if (rc == 0)
		/* --force handed PATH to get: what it kept is its own from now on */
		record_write(d, opts->cache_dir, &out->version, j.kept, opts->force ? 0 : j.nkept);
done:
	if (j.root >= 0)
		close(j.root);
	p4r_dirwalk_clear(&w);
	p4r_manifest_clear(&m);
	placed_clear(&prev);
	free(j.extra);
	free(j.kept);
	free(j.order);
	return rc;
}

