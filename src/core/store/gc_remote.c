/* gc -r NAME (see gc.h): the objects of a remote that no live version in
 * the remote's own log needs, and the multipart uploads pushes left
 * unfinished there. The remote's log, replayed as `p4reg get` replays it
 * (deploy.h), is the authority: a version this clone deleted but has not
 * pushed is still live there, and one another clone deleted and pushed is
 * not. Only keys the backend lists as objects/ab/cd/<oid> are candidates,
 * and each is removed by the key made from its checked oid. */
#include "p4reg/gc.h"
#include "p4reg/deploy.h"
#include "p4reg/error.h"
#include "p4reg/gitscan.h"
#include "p4reg/manifest.h"
#include "p4reg/parallel.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How often the log may move on while gc decides before it gives up
 * (each time every decision is taken again against the longer log). */
#define LOG_ROUNDS 5

/* A growable list of oids; sorted before it is searched. */
struct oidset {
	p4r_oid *v;
	size_t n, cap;
};

static int oid_cmp(const void *a, const void *b)
{
	return strcmp(((const p4r_oid *)a)->hex, ((const p4r_oid *)b)->hex);
}

static int oidset_add(struct oidset *s, const p4r_oid *oid)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 64;
		void *p = realloc(s->v, ncap * sizeof(*s->v));

		if (!p)
			return p4r_error_set(P4R_ERROR, "out of memory");
		s->v = p;
		s->cap = ncap;
	}
	s->v[s->n++] = *oid;
	return 0;
}

static bool oidset_has(const struct oidset *s, const p4r_oid *oid)
{
	return s->n && bsearch(oid, s->v, s->n, sizeof(*s->v), oid_cmp);
}

/* What the remote's log needs, being gathered. */
struct needs {
	struct oidset oids;
	p4r_deploy_version *dirs;  /* live folder versions: their manifests list more */
	size_t ndirs, capdirs;
	size_t live;
};

static int add_dir(struct needs *nd, const p4r_deploy_version *v)
{
	if (nd->ndirs == nd->capdirs) {
		size_t ncap = nd->capdirs ? nd->capdirs * 2 : 8;
		void *p = realloc(nd->dirs, ncap * sizeof(*nd->dirs));

		if (!p)
			return p4r_error_set(P4R_ERROR, "out of memory");
		nd->dirs = p;
		nd->capdirs = ncap;
	}
	nd->dirs[nd->ndirs++] = *v;
	return 0;
}

static int need_live(const p4r_deploy_version *v, void *arg)
{
	struct needs *nd = arg;
	int rc;

	nd->live++;
	if ((rc = oidset_add(&nd->oids, &v->oid)) < 0 || v->kind != P4R_KIND_DIR)
		return rc;
	return add_dir(nd, v);
}

static int dir_cmp(const void *a, const void *b)
{
	return oid_cmp(&((const p4r_deploy_version *)a)->oid, &((const p4r_deploy_version *)b)->oid);
}

/* The files of folder version V's manifest into ND: the registry's rows or
 * the stored manifest when this clone has them (both checked against the
 * oid), else the remote's copy, verified. A manifest that cannot be read
 * stops gc -r: the files it lists cannot be told from garbage. */
static int need_files(p4r_repo *repo, p4r_remote *r, struct needs *nd, const p4r_deploy_version *v)
{
	char what[P4R_MODEL_NAME_MAX + 48];
	p4r_manifest m = { 0 };
	size_t i;
	int rc;

	snprintf(what, sizeof(what), "manifest of %s@%lld", v->model, (long long)v->number);
	rc = p4r_manifest_peek(repo, &v->oid, what, &m);
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		rc = p4r_deploy_manifest(r, v, &m);
	}
	if (rc < 0)
		rc = p4r_error_set(rc, "%s; gc -r removes nothing from remote '%s'", p4r_error_message(),
				   r->name);
	for (i = 0; rc == 0 && i < m.n; i++)
		rc = oidset_add(&nd->oids, &m.v[i].oid);
	p4r_manifest_clear(&m);
	return rc;
}

/* Adds to ND the objects git's Git LFS pointers need (gitscan.h): pre-push
 * uploads them to the remote, and no version names them. */
static int need_git(p4r_repo *repo, struct needs *nd)
{
	p4r_oid *git = NULL;
	size_t n = 0, i;
	int rc = p4r_git_lfs_referenced(p4r_repo_root(repo), &git, &n);

	for (i = 0; rc == 0 && i < n; i++)
		rc = oidset_add(&nd->oids, &git[i]);
	free(git);
	return rc;
}

/* Replays R's log and gathers, sorted, every object a live version there
 * needs (a file version's object; a folder version's manifest and every
 * file it lists) and every object git's pointers here need. */
static int gather_needs(p4r_repo *repo, p4r_remote *r, struct needs *nd, int64_t *batches)
{
	p4r_deploy_log *log = NULL;
	size_t i;
	int rc;

	if ((rc = p4r_deploy_log_new(&log)) == 0 && (rc = p4r_deploy_log_read(log, r, batches)) == 0)
		rc = p4r_deploy_log_each_live(log, need_live, nd);
	p4r_deploy_log_free(log);
	if (rc < 0)
		return rc;
	if (nd->ndirs)
		qsort(nd->dirs, nd->ndirs, sizeof(*nd->dirs), dir_cmp);
	for (i = 0; rc == 0 && i < nd->ndirs; i++)
		if (i == 0 || !p4r_oid_equal(&nd->dirs[i].oid, &nd->dirs[i - 1].oid))
			rc = need_files(repo, r, nd, &nd->dirs[i]);
	if (rc == 0 && (rc = need_git(repo, nd)) == 0 && nd->oids.n)
		qsort(nd->oids.v, nd->oids.n, sizeof(*nd->oids.v), oid_cmp);
	return rc;
}

static void needs_clear(struct needs *nd)
{
	free(nd->oids.v);
	free(nd->dirs);
	memset(nd, 0, sizeof(*nd));
}

/* ---- the objects of a remote ---- */

/* What the listing is judged against. */
struct judge {
	const struct needs *nd;
	int64_t cutoff;
	p4r_gc_remote_objects_result *out;
	const p4r_gc_opts *opts;
	uint64_t listed;        /* objects listed so far */
	p4r_remote *r;          /* the remote (reading lists for their packs) */
	struct oidset packs;    /* the packs the remaining lists name */
};

static int judge(struct judge *j, const p4r_remote_object *o);

static int cand_add(p4r_gc_remote_objects_result *out, const p4r_remote_object *o)
{
	if (out->nremoved == out->cap) {
		size_t ncap = out->cap ? out->cap * 2 : 16;
		void *p = realloc(out->removed, ncap * sizeof(*out->removed));

		if (!p)
			return p4r_error_set(P4R_ERROR, "out of memory");
		out->removed = p;
		out->cap = ncap;
	}
	out->removed[out->nremoved++] = *o;
	return 0;
}

/* A listed object is needed, too young (or of an unknown age: a push may
 * have uploaded it and not yet published the batch that names it), or a
 * candidate. */
static int judge_listed(const p4r_remote_object *o, void *arg)
{
	struct judge *j = arg;
	p4r_remote_object c = *o;

	c.chunked = false;
	return judge(j, &c);
}

/* A chunk list is judged as its object is (format 2). */
static int judge_chunked(const p4r_remote_object *o, void *arg)
{
	struct judge *j = arg;
	p4r_remote_object c = *o;

	c.chunked = true;
	return judge(j, &c);
}

static int judge(struct judge *j, const p4r_remote_object *o)
{
	p4r_gc_progress(j->opts, "gc remote listing", ++j->listed, 0);
	if (oidset_has(&j->nd->oids, &o->oid)) {
		j->out->needed++;
		return 0;
	}
	if (o->modified_s == 0 || o->modified_s > j->cutoff) {
		j->out->kept_recent++;
		return 0;
	}
	return cand_add(j->out, o);
}

/* Takes the candidates that ND now needs back out of OUT. */
static void drop_needed(p4r_gc_remote_objects_result *out, const struct needs *nd)
{
	size_t i, k = 0;

	for (i = 0; i < out->nremoved; i++) {
		if (oidset_has(&nd->oids, &out->removed[i].oid))
			out->needed++;
		else
			out->removed[k++] = out->removed[i];
	}
	out->nremoved = k;
}

/* Before anything is removed: a batch published since the log was read
 * may name an old object (a version with bytes an earlier one had), so
 * the log is read again, and the decisions with it, until it stands still. */
static int settle(p4r_repo *repo, p4r_remote *r, p4r_gc_remote_objects_result *out)
{
	char key[64];
	bool moved;
	int round, rc;

	for (round = 0;; round++) {
		struct needs nd = { 0 };

		p4r_remote_log_key(key, sizeof(key), out->batches + 1);
		if ((rc = r->ops->exists(r, key, &moved)) < 0 || !moved)
			return rc;
		if (round == LOG_ROUNDS)
			return p4r_error_set(P4R_ERROR, "the log of remote '%s' kept growing while gc ran; "
					     "nothing was removed from it: run 'p4reg gc -r %s' again", r->name,
					     r->name);
		if ((rc = gather_needs(repo, r, &nd, &out->batches)) == 0)
			drop_needed(out, &nd);
		out->live_versions = nd.live;
		needs_clear(&nd);
		if (rc < 0)
			return rc;
	}
}

struct removal {
	p4r_remote *r;
	const p4r_remote_object *v;
	size_t n;
	bool packs;             /* V are packs */
	const p4r_gc_opts *opts;
	pthread_mutex_t lock;   /* DONE and the progress calls */
	uint64_t done;          /* removals ended */
};

/* Removes candidate I by the key made from its checked oid. */
static int remove_item(size_t i, void *payload)
{
	struct removal *rm = payload;
	char key[128];
	int rc;

	if (rm->packs)
		p4r_remote_pack_key(key, sizeof(key), &rm->v[i].oid);
	else if (rm->v[i].chunked)
		p4r_remote_chunks_key(key, sizeof(key), &rm->v[i].oid);
	else
		p4r_remote_object_key(key, sizeof(key), &rm->v[i].oid);
	rc = rm->r->ops->remove(rm->r, key);
	pthread_mutex_lock(&rm->lock);
	p4r_gc_progress(rm->opts, "gc remote deleting", ++rm->done, rm->n);
	pthread_mutex_unlock(&rm->lock);
	return rc;
}

/* ---- format 2: the packs no remaining chunk list names ---- */

static bool is_candidate(const p4r_gc_remote_objects_result *out, const p4r_oid *oid)
{
	size_t i;

	for (i = 0; i < out->nremoved; i++)
		if (out->removed[i].chunked && p4r_oid_equal(&out->removed[i].oid, oid))
			return true;
	return false;
}

/* The packs the chunk list OID names join J->packs. */
static int need_packs(p4r_remote *r, struct judge *j, const p4r_oid *oid)
{
	p4r_chunklist l = { 0 };
	size_t i;
	int rc = p4r_remote_get_chunklist(r, oid, &l);

	/* gone since it was listed: a gc elsewhere; it names nothing now */
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		return 0;
	}
	if (rc < 0)
		return p4r_error_set(rc, "%s; gc -r removes nothing from remote '%s'", p4r_error_message(),
				     r->name);
	for (i = 0; rc == 0 && i < l.npacks; i++) {
		p4r_oid id;

		p4r_oid_from_raw(&id, l.packs[i]);
		rc = oidset_add(&j->packs, &id);
	}
	p4r_chunklist_clear(&l);
	return rc;
}

static int judge_pack(const p4r_remote_object *o, void *arg)
{
	struct judge *j = arg;
	p4r_gc_remote_objects_result *out = j->out;

	if (oidset_has(&j->packs, &o->oid)) {
		out->packs_needed++;
		return 0;
	}
	if (o->modified_s == 0 || o->modified_s > j->cutoff) {
		out->packs_recent++;
		return 0;
	}
	if (out->npacks == out->cappacks) {
		size_t ncap = out->cappacks ? out->cappacks * 2 : 16;
		void *p = realloc(out->packs, ncap * sizeof(*out->packs));

		if (!p)
			return p4r_error_set(P4R_ERROR, "out of memory");
		out->packs = p;
		out->cappacks = ncap;
	}
	out->packs[out->npacks++] = *o;
	out->pack_bytes += o->size;
	return 0;
}

/* A chunk list listed again: unless it goes, its packs stay. */
static int keep_packs_of(const p4r_remote_object *o, void *arg)
{
	struct judge *j = arg;

	return is_candidate(j->out, &o->oid) ? 0 : need_packs(j->r, j, &o->oid);
}

/* Every chunk list that stays (needed, recent, taken back by settle, or
 * written since chunks/ was first listed: a push meanwhile may name an
 * old pack it found there) is read for the packs it names; the other packs
 * are judged by age. chunks/ is listed again for that, after settle: a
 * list that appears after this listing is the window docs/remotes.md
 * describes. */
static int judge_packs(p4r_remote *r, struct judge *j)
{
	size_t foreign = 0;
	int rc;

	if ((rc = r->ops->list_objects(r, "chunks", keep_packs_of, j, &foreign)) < 0)
		return rc;
	if (j->packs.n)
		qsort(j->packs.v, j->packs.n, sizeof(*j->packs.v), oid_cmp);
	if ((rc = r->ops->list_objects(r, "packs", judge_pack, j, &foreign)) < 0)
		return rc;
	j->out->foreign += foreign;
	if (j->out->npacks)
		qsort(j->out->packs, j->out->npacks, sizeof(*j->out->packs), oid_cmp);
	return 0;
}

void p4r_gc_remote_objects_result_clear(p4r_gc_remote_objects_result *o)
{
	if (!o)
		return;
	free(o->removed);
	free(o->packs);
	memset(o, 0, sizeof(*o));
}

int p4r_gc_remote_objects(p4r_repo *repo, p4r_remote *r, const p4r_gc_opts *opts,
			  p4r_gc_remote_objects_result *out)
{
	struct needs nd = { 0 };
	struct removal rm = { r, NULL, 0, false, opts, PTHREAD_MUTEX_INITIALIZER, 0 };
	struct judge j = { .nd = &nd, .out = out, .opts = opts, .r = r };
	size_t i, foreign = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (opts->grace_s < 0)
		return p4r_error_set(P4R_EUSAGE, "the grace period cannot be negative");
	if (!r->ops->list_objects)
		return 0;
	out->supported = true;
	/* the remote's clock dates its objects: an hour of grace dwarfs any skew */
	j.cutoff = (opts->now_s ? opts->now_s : (int64_t)time(NULL)) - opts->grace_s;
	if ((rc = gather_needs(repo, r, &nd, &out->batches)) < 0)
		goto done;
	out->live_versions = nd.live;
	if ((rc = r->ops->list_objects(r, "objects", judge_listed, &j, &out->foreign)) < 0 ||
	    (rc = r->ops->list_objects(r, "chunks", judge_chunked, &j, &foreign)) < 0 ||
	    (rc = settle(repo, r, out)) < 0 || (rc = judge_packs(r, &j)) < 0)
		goto done;
	out->foreign += foreign;
	/* listings come in no set order: report (and remove) by oid (the
	 * first member of p4r_remote_object) */
	if (out->nremoved)
		qsort(out->removed, out->nremoved, sizeof(*out->removed), oid_cmp);
	for (i = 0; i < out->nremoved; i++)
		out->bytes += out->removed[i].size;
	rm.v = out->removed;
	rm.n = out->nremoved;
	if (!opts->dry_run && out->nremoved)
		rc = p4r_parallel_for(out->nremoved, r->opts.jobs > 0 ? (unsigned)r->opts.jobs : 1,
				      remove_item, &rm);
	/* packs after the lists that named them */
	rm.v = out->packs;
	rm.n = out->npacks;
	rm.packs = true;
	rm.done = 0;
	if (rc == 0 && !opts->dry_run && out->npacks)
		rc = p4r_parallel_for(out->npacks, r->opts.jobs > 0 ? (unsigned)r->opts.jobs : 1,
				      remove_item, &rm);
done:
	needs_clear(&nd);
	free(j.packs.v);
	return rc;
}

/* ---- gc -r NAME: unfinished uploads on a remote ----
 * A push killed or failed mid-upload leaves a multipart upload on an S3
 * remote: invisible, but its parts are stored (and billed) until someone
 * aborts it. The next push of the object resumes it; gc -r aborts the
 * ones nobody resumed within the grace period. */

void p4r_gc_remote_result_clear(p4r_gc_remote_result *r)
{
	if (!r)
		return;
	free(r->aborted);
	memset(r, 0, sizeof(*r));
}

int p4r_gc_remote(p4r_remote *r, const p4r_gc_opts *opts, p4r_gc_remote_result *out)
{
	p4r_remote_upload *v = NULL;
	size_t n = 0, i;
	int64_t cutoff;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (opts->grace_s < 0)
		return p4r_error_set(P4R_EUSAGE, "the grace period cannot be negative");
	if (!r->ops->list_uploads)
		return 0;
	out->supported = true;
	/* the server dates an upload by its clock: an hour of grace dwarfs any skew */
	cutoff = (opts->now_s ? opts->now_s : (int64_t)time(NULL)) - opts->grace_s;
	if ((rc = r->ops->list_uploads(r, &v, &n, &out->truncated)) < 0)
		return rc;
	/* the aborted ones are gathered at the front of V, which OUT keeps */
	out->aborted = v;
	for (i = 0; i < n && rc == 0; i++) {
		if (v[i].initiated_s == 0 || v[i].initiated_s > cutoff) {
			out->kept_recent++;
			continue;
		}
		if (!opts->dry_run && (rc = r->ops->abort_upload(r, &v[i])) < 0)
			break;
		if (out->naborted != i)
			v[out->naborted] = v[i];
		out->naborted++;
	}
	return rc;
}
