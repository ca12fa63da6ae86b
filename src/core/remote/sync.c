/* The sync protocol over any remote (docs/remotes.md): fetch (decode with
 * batch.c, check against the store, apply + rebase + pointer rewrite, or
 * skip a batch on request), verified parallel object transfers, and push
 * (refuse versions whose bytes are nowhere, objects, then atomic appends of
 * batches to the log, retried after a rebase when another writer won). */
#include "p4reg/sync.h"
#include "p4reg/batch.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/objguard.h"
#include "p4reg/pointer.h"
#include "p4reg/relpath.h"
#include "p4reg/worktree.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <openssl/rand.h>

#define MAX_PUSH_ATTEMPTS 50
/* Versions named in a refusal's message; the rest are counted. */
#define MISSING_NAMED 3

void p4r_sync_result_clear(p4r_sync_result *r)
{
	size_t i;

	if (!r)
		return;
	free(r->renumbered);
	for (i = 0; i < r->nrewritten; i++)
		free(r->rewritten[i]);
	free(r->rewritten);
	for (i = 0; i < r->nmissing; i++)
		free(r->missing[i]);
	free(r->missing);
	for (i = 0; i < r->nmoves; i++) {
		free(r->moves[i].from);
		free(r->moves[i].to);
		free(r->moves[i].actor);
	}
	free(r->moves);
	memset(r, 0, sizeof(*r));
}

/* ---- the sync lock: one fetch or push at a time per repository ---- */

static int lock_take(p4r_repo *repo, int *fd)
{
	char *tmp = p4r_path_join(p4r_repo_meta(repo), "tmp"), *path = NULL;
	int rc = 0;

	*fd = -1;
	if (!tmp || !(path = p4r_path_join(tmp, "sync.lock"))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	if ((rc = p4r_mkdir_p(tmp, 0755)) < 0)
		goto done;
	if ((*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
		rc = p4r_error_errno("cannot open '%s'", path);
		goto done;
	}
	while (flock(*fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			rc = p4r_error_errno("cannot lock '%s'", path);
			close(*fd);
			*fd = -1;
			break;
		}
	}
done:
	free(tmp);
	free(path);
	return rc;
}

static void lock_release(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* ---- fetch: events ---- */

static int add_string(char ***v, size_t *n, const char *s)
{
	char **p = realloc(*v, (*n + 1) * sizeof(*p));

	if (!p)
		return p4r_error_set(P4R_ERROR, "out of memory");
	*v = p;
	if (!(p[*n] = strdup(s)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	(*n)++;
	return 0;
}

/* Rewrites the pointer file of REL (a pointer listed in the work tree) to
 * version TO of MODEL when that version has the pointer's bytes; the
 * pointer is written below the root like every other (worktree.h). */
static int rewrite_one(p4r_repo *repo, const char *rel, const p4r_pointer *ptr, int64_t to,
		       p4r_sync_result *res)
{
	p4r_version v = { 0 };
	int rc = 0;

	if (p4r_registry_version_get(p4r_repo_registry(repo), ptr->model, to, &v) < 0) {
		p4r_error_clear();
		return 0;
	}
	if (p4r_oid_equal(&v.oid, &ptr->oid) && v.size == ptr->size &&
	    (rc = p4r_worktree_write_pointer(repo, &v, rel, NULL)) == 0)
		rc = add_string(&res->rewritten, &res->nrewritten, rel);
	p4r_version_clear(&v);
	return rc;
}

/* Where version FROM of MODEL ended up: one apply may move a version
 * more than once (2 -> 3, then 3 -> 4 when the batch held two of the
 * remote's), in the order REN lists the moves. 0 when it did not move. */
static int64_t renumbered_to(const p4r_renumber *ren, size_t nren, const char *model, int64_t from)
{
	int64_t cur = from;
	size_t k;

	for (k = 0; k < nren; k++)
		if (!strcmp(ren[k].model, model) && ren[k].from == cur)
			cur = ren[k].to;
	return cur == from ? 0 : cur;
}

/* Pointer files that named a renumbered version (with its bytes) now name
 * its new number. Only paths that pass p4r_relpath_valid are written, and
 * only through the work tree's descriptors (never through a link). */
static int rewrite_pointers(p4r_repo *repo, const p4r_renumber *ren, size_t nren, p4r_sync_result *res)
{
	char **rels = NULL;
	size_t n = 0, i;
	int64_t to;
	int rc;

	if (!nren)
		return 0;
	if ((rc = p4r_worktree_list_pointers(repo, &rels, &n)) < 0)
		return rc;
	for (i = 0; rc == 0 && i < n; i++) {
		p4r_pointer ptr;

		if (!p4r_relpath_valid(rels[i]) || p4r_worktree_read_pointer(repo, rels[i], &ptr) < 0) {
			p4r_error_clear();
			continue;
		}
		if ((to = renumbered_to(ren, nren, ptr.model, ptr.version)) > 0)
			rc = rewrite_one(repo, rels[i], &ptr, to, res);
	}
	p4r_strv_free(rels, n);
	return rc;
}

static int add_renumbered(p4r_sync_result *res, const p4r_renumber *ren, size_t n)
{
	p4r_renumber *p;

	if (!n)
		return 0;
	if (!(p = realloc(res->renumbered, (res->nrenumbered + n) * sizeof(*p))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	memcpy(p + res->nrenumbered, ren, n * sizeof(*p));
	res->renumbered = p;
	res->nrenumbered += n;
	return 0;
}

/* A register whose object is already here must agree with it on the size:
 * the bytes are the proof, the event only a claim. */
static int check_local_sizes(p4r_repo *repo, const char *key, const p4r_sync_event *ev, size_t n)
{
	p4r_store *store = p4r_repo_store(repo);
	char path[PATH_MAX];
	struct stat st;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!ev[i].has_version || !p4r_store_has(store, &ev[i].oid) ||
		    p4r_store_object_path(store, &ev[i].oid, path, sizeof(path)) < 0 ||
		    lstat(path, &st) < 0) {
			p4r_error_clear();
			continue;
		}
		if (!S_ISREG(st.st_mode) || (int64_t)st.st_size != ev[i].size)
			return p4r_error_set(P4R_EINTEGRITY, "invalid event batch '%s': event %zu: %s@%lld "
					     "says its object %s is %lld bytes, but it is %lld", key, i,
					     ev[i].model, (long long)ev[i].version, ev[i].oid.hex,
					     (long long)ev[i].size, (long long)st.st_size);
	}
	return 0;
}

/* ---- fetch: the moves a batch makes, for the user ---- */

/* A model a batch moves and the path it had here before the batch. */
struct move_seen {
	const char *model;       /* points into the batch's events */
	const char *actor;       /* the batch's last move of it */
	char *before;            /* NULL: the model is new here */
};

/* The models the move events of EV[0..N) name, with their paths now (the
 * batch is not applied yet). *OUT is malloc'd (free with moves_seen_free). */
static int moves_seen(p4r_repo *repo, const p4r_sync_event *ev, size_t n, struct move_seen **out,
		      size_t *nout)
{
	struct move_seen *v = NULL;
	size_t i, k, count = 0;
	int rc = 0;

	*out = NULL;
	*nout = 0;
	for (i = 0; i < n; i++)
		count += !strcmp(ev[i].kind, P4R_EVENT_MOVE);
	if (count == 0)
		return 0;
	if (!(v = calloc(count, sizeof(*v))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0, count = 0; i < n && rc == 0; i++) {
		p4r_model m = { 0 };

		if (strcmp(ev[i].kind, P4R_EVENT_MOVE))
			continue;
		for (k = 0; k < count && strcmp(v[k].model, ev[i].model); k++)
			;
		v[k].actor = ev[i].actor;
		if (k < count)
			continue;
		v[count].model = ev[i].model;
		rc = p4r_registry_model_get(p4r_repo_registry(repo), ev[i].model, &m);
		if (rc == P4R_ENOTFOUND) {
			p4r_error_clear();
			rc = 0;
		} else if (rc == 0 && m.path && !(v[count].before = strdup(m.path))) {
			rc = p4r_error_set(P4R_ERROR, "out of memory");
		}
		p4r_model_clear(&m);
		count++;
	}
	*out = v;
	*nout = count;
	return rc;
}

static void moves_seen_free(struct move_seen *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i].before);
	free(v);
}

/* After the batch applied: each model of SEEN that was here before and
 * now has another path joins RES->moves (a model met in an earlier batch
 * of this fetch keeps its first path; one back there leaves the list). */
static int moves_note(p4r_repo *repo, const struct move_seen *seen, size_t n, p4r_sync_result *res)
{
	size_t i, k;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		p4r_sync_move *mv = NULL;
		p4r_model m = { 0 };
		char *to;

		for (k = 0; k < res->nmoves && !mv; k++)
			if (!strcmp(res->moves[k].model, seen[i].model))
				mv = &res->moves[k];
		if ((!mv && !seen[i].before) ||
		    p4r_registry_model_get(p4r_repo_registry(repo), seen[i].model, &m) < 0 || !m.path) {
			p4r_error_clear();
			p4r_model_clear(&m);
			continue;
		}
		if (!mv) {
			if (!strcmp(m.path, seen[i].before)) {
				p4r_model_clear(&m);
				continue; /* ours won (a local move not yet pushed), or known */
			}
			if (!(mv = realloc(res->moves, (res->nmoves + 1) * sizeof(*mv)))) {
				p4r_model_clear(&m);
				return p4r_error_set(P4R_ERROR, "out of memory");
			}
			res->moves = mv;
			mv = &res->moves[res->nmoves++];
			memset(mv, 0, sizeof(*mv));
			snprintf(mv->model, sizeof(mv->model), "%s", seen[i].model);
			if (!(mv->from = strdup(seen[i].before)))
				rc = p4r_error_set(P4R_ERROR, "out of memory");
		}
		to = strdup(m.path);
		free(mv->to);
		mv->to = to;
		free(mv->actor);
		mv->actor = seen[i].actor ? strdup(seen[i].actor) : NULL;
		if (!to)
			rc = p4r_error_set(P4R_ERROR, "out of memory");
		p4r_model_clear(&m);
		if (rc == 0 && mv->from && !strcmp(mv->from, mv->to)) {
			/* moved away and back within this fetch: nothing changed */
			free(mv->from);
			free(mv->to);
			free(mv->actor);
			k = (size_t)(mv - res->moves);
			memmove(mv, mv + 1, (res->nmoves - k - 1) * sizeof(*mv));
			res->nmoves--;
		}
	}
	return rc;
}

/* A batch that cannot apply blocks every later one: say how to move on. */
static int stuck(const p4r_remote *remote, int64_t seq, int rc)
{
	char msg[640];

	if (rc != P4R_EINTEGRITY && rc != P4R_EEXISTS)
		return rc;
	snprintf(msg, sizeof(msg), "%s", p4r_error_message());
	return p4r_error_set(rc, "%s; if the remote cannot be repaired, skip this batch with "
			     "'p4reg fetch -r %s --skip-batch %lld' (the skip is recorded)", msg,
			     remote->name, (long long)seq);
}

/* Fetches, checks and applies batch SEQ; *FOUND false when it does not exist. */
static int fetch_batch(p4r_repo *repo, p4r_remote *remote, int64_t seq, bool *found,
		       p4r_sync_result *res)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_sync_event *ev = NULL;
	p4r_renumber *ren = NULL;
	struct move_seen *seen = NULL;
	size_t n = 0, nren = 0, applied = 0, len = 0, nseen = 0;
	char key[64], *text = NULL;
	int rc;

	*found = true;
	p4r_remote_log_key(key, sizeof(key), seq);
	rc = remote->ops->get_small(remote, key, P4R_BATCH_MAX_BYTES, &text, &len);
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		*found = false;
		return 0;
	}
	if (rc < 0 ||
	    (rc = p4r_batch_decode(&ev, &n, key, text, len, seq)) < 0 ||
	    (rc = check_local_sizes(repo, key, ev, n)) < 0 ||
	    (rc = moves_seen(repo, ev, n, &seen, &nseen)) < 0 ||
	    (rc = p4r_registry_sync_apply(reg, remote->url, seq, ev, n, &ren, &nren, &applied)) < 0) {
		rc = stuck(remote, seq, rc);
		goto done;
	}
	res->batches_applied++;
	res->events_applied += applied;
	if ((rc = add_renumbered(res, ren, nren)) < 0 ||
	    (rc = moves_note(repo, seen, nseen, res)) < 0)
		goto done;
	rc = rewrite_pointers(repo, ren, nren, res);
done:
	moves_seen_free(seen, nseen);
	free(ren);
	p4r_sync_event_array_free(ev, n);
	free(text);
	return rc;
}

static int fetch_events_locked(p4r_repo *repo, p4r_remote *remote, p4r_sync_result *res)
{
	int64_t seq;
	char key[64];
	bool there;
	int rc;

	if ((rc = p4r_registry_sync_applied(p4r_repo_registry(repo), remote->url, &seq)) < 0)
		return rc;
	/* A remote that lost batches we already applied would fork the history. */
	if (seq > 0) {
		p4r_remote_log_key(key, sizeof(key), seq);
		if ((rc = remote->ops->exists(remote, key, &there)) < 0)
			return rc;
		if (!there)
			return p4r_error_set(P4R_EINTEGRITY, "remote '%s' lost its event log (batch %lld, "
					     "already applied here, is missing)", remote->name, (long long)seq);
	}
	for (there = true; there;)
		if ((rc = fetch_batch(repo, remote, ++seq, &there, res)) < 0)
			return rc;
	return 0;
}

int p4r_sync_fetch_events(p4r_repo *repo, p4r_remote *remote, p4r_sync_result *res)
{
	int fd, rc;

	if ((rc = lock_take(repo, &fd)) < 0)
		return rc;
	rc = fetch_events_locked(repo, remote, res);
	lock_release(fd);
	return rc;
}

/* ---- skipping a batch that cannot apply ---- */

/* Why batch SEQ does not apply here, for the audit row: "" when it would.
 * The apply runs inside a transaction that is always rolled back. */
static void why_not(p4r_repo *repo, p4r_remote *remote, const char *key, const char *text,
		    size_t len, int64_t seq, char *why, size_t size)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_sync_event *ev = NULL;
	p4r_renumber *ren = NULL;
	size_t n = 0, nren = 0, applied;

	if (p4r_batch_decode(&ev, &n, key, text, len, seq) == 0 &&
	    check_local_sizes(repo, key, ev, n) == 0 && p4r_registry_begin(reg) == 0) {
		if (p4r_registry_sync_apply(reg, remote->url, seq, ev, n, &ren, &nren, &applied) == 0)
			p4r_error_clear();
		p4r_registry_abort(reg);
	}
	snprintf(why, size, "%s", p4r_error_message());
	p4r_error_clear();
	free(ren);
	p4r_sync_event_array_free(ev, n);
}

static int skip_locked(p4r_repo *repo, p4r_remote *remote, int64_t seq, p4r_skip_result *out)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	char key[64], *text = NULL, *actor = NULL;
	size_t len = 0;
	int64_t applied;
	p4r_oid sum;
	int rc;

	if ((rc = p4r_registry_sync_applied(reg, remote->url, &applied)) < 0)
		return rc;
	if (seq != applied + 1)
		return p4r_error_set(P4R_EUSAGE, "batch %lld is not the next batch of remote '%s' (the next "
				     "is %lld): only the batch a fetch stops at can be skipped",
				     (long long)seq, remote->name, (long long)(applied + 1));
	p4r_remote_log_key(key, sizeof(key), seq);
	rc = remote->ops->get_small(remote, key, P4R_BATCH_MAX_BYTES, &text, &len);
	if (rc == P4R_ENOTFOUND) {
		rc = p4r_error_set(P4R_ENOTFOUND, "remote '%s' has no batch %lld", remote->name, (long long)seq);
		goto done;
	}
	/* Too large to read is a reason to skip; a failing remote is not. */
	if (rc < 0 && rc != P4R_EINTEGRITY)
		goto done;
	if (rc == 0 && (rc = p4r_hash_buffer(&sum, text, len)) < 0)
		goto done;
	if (rc == 0) {
		snprintf(out->sha256, sizeof(out->sha256), "%s", sum.hex);
		p4r_error_clear();
		why_not(repo, remote, key, text, len, seq, out->error, sizeof(out->error));
	} else {
		snprintf(out->error, sizeof(out->error), "%s", p4r_error_message());
		p4r_error_clear();
	}
	if (!(actor = p4r_repo_actor(repo))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	rc = p4r_registry_sync_skip(reg, remote->url, seq, out->sha256[0] ? out->sha256 : NULL, actor,
				    out->error);
done:
	free(text);
	free(actor);
	return rc;
}

int p4r_sync_skip_batch(p4r_repo *repo, p4r_remote *remote, int64_t seq, p4r_skip_result *out)
{
	int fd, rc;

	memset(out, 0, sizeof(*out));
	out->seq = seq;
	if ((rc = lock_take(repo, &fd)) < 0)
		return rc;
	rc = skip_locked(repo, remote, seq, out);
	lock_release(fd);
	return rc;
}

/* ---- parallel transfers ---- */

struct pool;
typedef int (*job_fn)(struct pool *p, size_t i);

struct pool {
	pthread_mutex_t lock;
	size_t next, n;
	int code;                 /* first failure (integrity failures win) */
	char msg[1024];
	job_fn fn;
	p4r_repo *repo;
	p4r_remote *remote;
	const p4r_oid *oids;
	const int64_t *sizes;
	const p4r_sync_progress *prog;
	uint64_t done_bytes, total_bytes;
	p4r_sync_result *res;
	p4r_sync_stat *stats;     /* stat_objects: one answer per oid */
};

static void pool_progress(uint64_t delta, uint64_t total, void *payload)
{
	struct pool *p = payload;

	(void)total;
	pthread_mutex_lock(&p->lock);
	p->done_bytes += delta;
	if (p->prog && p->prog->fn)
		p->prog->fn(p->done_bytes, p->total_bytes, p->prog->payload);
	pthread_mutex_unlock(&p->lock);
}

static void *pool_worker(void *arg)
{
	struct pool *p = arg;
	size_t i;
	int rc;

	for (;;) {
		pthread_mutex_lock(&p->lock);
		if (p->code < 0 || p->next >= p->n) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		i = p->next++;
		pthread_mutex_unlock(&p->lock);
		rc = p->fn(p, i);
		if (rc < 0) {
			pthread_mutex_lock(&p->lock);
			if (p->code == 0 || (rc == P4R_EINTEGRITY && p->code != P4R_EINTEGRITY)) {
				p->code = rc;
				snprintf(p->msg, sizeof(p->msg), "%s", p4r_error_message());
			}
			pthread_mutex_unlock(&p->lock);
		}
	}
	return NULL;
}

static int pool_run(struct pool *p, int jobs)
{
	pthread_t threads[64];
	int started = 0, i;

	if (pthread_mutex_init(&p->lock, NULL) != 0)
		return p4r_error_set(P4R_ERROR, "cannot create a lock");
	if (jobs > 64)
		jobs = 64;
	if ((size_t)jobs > p->n)
		jobs = (int)p->n;
	for (i = 1; i < jobs; i++) {
		if (pthread_create(&threads[started], NULL, pool_worker, p) != 0)
			break;
		started++;
	}
	pool_worker(p);
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	pthread_mutex_destroy(&p->lock);
	if (p->code < 0)
		return p4r_error_set(p->code, "%s", p->msg);
	return 0;
}

/* The bytes matched the oid; the size the version record (or pointer)
 * claims must match them too, or that record is forged. */
/* Downloads one object: to tmp/, verified against its oid and recorded
 * size (p4r_remote_get_verified), published into the store only then. */
static int download_one(struct pool *p, size_t i)
{
	p4r_store *store = p4r_repo_store(p->repo);
	const p4r_oid *oid = &p->oids[i];
	char *tmp = NULL;
	int fd = -1, rc;

	if (p4r_store_has(store, oid)) {
		pthread_mutex_lock(&p->lock);
		p->res->objects_present++;
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	if ((rc = p4r_mkstemp_in(&fd, &tmp, p->remote->tmp_dir, "fetch")) < 0)
		goto done;
	if ((rc = p4r_remote_get_verified(p->remote, oid, p->sizes[i], fd, tmp, pool_progress, p)) < 0) {
		if (rc == P4R_EINTEGRITY)
			rc = p4r_error_set(rc, "%s; not stored", p4r_error_message());
		goto done;
	}
	if ((rc = p4r_store_place(store, &fd, &tmp, oid)) < 0)
		goto done;
	pthread_mutex_lock(&p->lock);
	p->res->objects_received++;
	p->res->bytes_received += (uint64_t)p->sizes[i];
	pthread_mutex_unlock(&p->lock);
done:
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
	free(tmp);
	return rc;
}

struct sized_oid {
	p4r_oid oid;
	int64_t size;
};

static int cmp_sized_oid(const void *a, const void *b)
{
	return strcmp(((const struct sized_oid *)a)->oid.hex, ((const struct sized_oid *)b)->oid.hex);
}

int p4r_sync_fetch_objects(p4r_repo *repo, p4r_remote *remote, const p4r_oid *oids,
			   const int64_t *sizes, size_t n, const p4r_sync_progress *prog,
			   p4r_sync_result *res)
{
	struct pool p = { .fn = download_one, .repo = repo, .remote = remote, .prog = prog, .res = res };
	struct sized_oid *u;
	p4r_oid *uoids = NULL;
	int64_t *usizes = NULL;
	size_t i, k = 0;
	int rc = 0;

	if (n == 0)
		return 0;
	/* two pointers, REFs or versions with the same bytes are one object:
	 * downloaded once, counted once (received or already_present) */
	u = calloc(n, sizeof(*u));
	uoids = calloc(n, sizeof(*uoids));
	usizes = calloc(n, sizeof(*usizes));
	if (!u || !uoids || !usizes) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		u[i].oid = oids[i];
		u[i].size = sizes[i];
	}
	qsort(u, n, sizeof(*u), cmp_sized_oid);
	for (i = 0; i < n; i++) {
		if (k > 0 && p4r_oid_equal(&uoids[k - 1], &u[i].oid))
			continue;
		uoids[k] = u[i].oid;
		usizes[k++] = u[i].size;
		if (!p4r_store_has(p4r_repo_store(repo), &u[i].oid))
			p.total_bytes += (uint64_t)u[i].size;
	}
	p.n = k;
	p.oids = uoids;
	p.sizes = usizes;
	rc = pool_run(&p, remote->opts.jobs);
done:
	free(u);
	free(uoids);
	free(usizes);
	return rc;
}

/* Asks for one object's presence and size; nothing is downloaded. */
static int stat_one(struct pool *p, size_t i)
{
	p4r_sync_stat *st = &p->stats[i];
	char key[128];
	int rc;

	p4r_remote_object_key(key, sizeof(key), &p->oids[i]);
	if ((rc = p->remote->ops->stat(p->remote, key, &st->exists, &st->size)) == 0)
		st->asked = true;
	return rc;
}

int p4r_sync_stat_objects(p4r_remote *remote, const p4r_oid *oids, size_t n, p4r_sync_stat *out)
{
	struct pool p = { .n = n, .fn = stat_one, .remote = remote, .oids = oids, .stats = out };

	memset(out, 0, n * sizeof(*out));
	if (n == 0)
		return 0;
	return pool_run(&p, remote->opts.jobs);
}

/* Uploads one object unless the remote has it; the bytes are re-hashed on
 * the way (a corrupt local object never leaves). */
static int upload_one(struct pool *p, size_t i)
{
	p4r_store *store = p4r_repo_store(p->repo);
	const p4r_oid *oid = &p->oids[i];
	char path[PATH_MAX], key[128];
	bool there = false;
	int rc;

	if (!p4r_store_has(store, oid))
		return 0;
	p4r_remote_object_key(key, sizeof(key), oid);
	if ((rc = p->remote->ops->exists(p->remote, key, &there)) < 0)
		return rc;
	if (there) {
		pool_progress((uint64_t)p->sizes[i], 0, p);
		pthread_mutex_lock(&p->lock);
		p->res->objects_present++;
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	if ((rc = p4r_store_object_path(store, oid, path, sizeof(path))) < 0 ||
	    (rc = p->remote->ops->put_file(p->remote, key, path, (uint64_t)p->sizes[i], oid,
					    pool_progress, p)) < 0)
		return rc;
	pthread_mutex_lock(&p->lock);
	p->res->objects_sent++;
	p->res->bytes_sent += (uint64_t)p->sizes[i];
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static int upload_objects(p4r_repo *repo, p4r_remote *remote, const p4r_oid *oids,
			  const int64_t *sizes, size_t n, const p4r_sync_progress *prog,
			  p4r_sync_result *res)
{
	struct pool p = { .n = n, .fn = upload_one, .repo = repo, .remote = remote,
			  .oids = oids, .sizes = sizes, .prog = prog, .res = res };
	size_t i;

	for (i = 0; i < n; i++)
		p.total_bytes += (uint64_t)sizes[i];
	if (n == 0)
		return 0;
	return pool_run(&p, remote->opts.jobs);
}

/* ---- push ---- */

/* The objects of LOG (damaged) that REMOTE has come back from it,
 * verified; WHY gets why the others did not (for their messages). */
static int repair_from(p4r_repo *repo, p4r_remote *remote, const p4r_guard_log *log, char *why,
		       size_t whysz)
{
	p4r_oid *oids = calloc(log->n + 1, sizeof(*oids)), *get = calloc(log->n + 1, sizeof(*get));
	int64_t *sizes = calloc(log->n + 1, sizeof(*sizes));
	p4r_sync_stat *st = calloc(log->n + 1, sizeof(*st));
	p4r_sync_result got = { 0 };
	size_t i, k = 0;
	int rc;

	if (!oids || !get || !sizes || !st) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	for (i = 0; i < log->n; i++)
		oids[i] = log->v[i].oid;
	if ((rc = p4r_sync_stat_objects(remote, oids, log->n, st)) < 0)
		goto failed;
	for (i = 0; i < log->n; i++) {
		/* a copy of another size there is no repair */
		if (!st[i].exists || (log->v[i].size && st[i].size != (uint64_t)log->v[i].size))
			continue;
		get[k] = log->v[i].oid;
		sizes[k++] = (int64_t)st[i].size;
	}
	snprintf(why, whysz, "remote '%s' does not have it", remote->name);
	if ((rc = p4r_sync_fetch_objects(repo, remote, get, sizes, k, NULL, &got)) < 0)
		goto failed;
	rc = p4r_objguard_downloaded(repo, get, k);
	goto done;
failed:
	snprintf(why, whysz, "%s", p4r_error_message());
	p4r_error_clear();
	rc = 0;
done:
	p4r_sync_result_clear(&got);
	free(oids);
	free(get);
	free(sizes);
	free(st);
	return rc;
}

/* Every object of OIDS (N) a push may upload passes the object guard
 * first, so wrong bytes are caught before any upload, not midway: a
 * damaged one is quarantined and its version marked damaged; REMOTE's
 * copy, when it has one, brings it back (OPTS->on_damage hears about
 * each). One still damaged refuses the push (P4R_EINTEGRITY naming every
 * such version), unless OPTS->allow_missing: then it is published as a
 * version whose object is nowhere (check_missing). */
static int guard_objects(p4r_repo *repo, p4r_remote *remote, const p4r_push_opts *opts,
			 const p4r_oid *oids, size_t n)
{
	p4r_guard_log log = { 0 };
	char why[512] = "", first[1536], others[512] = "";
	size_t i, used = 0, more = 0;
	bool named;
	int rc;

	if ((rc = p4r_objguard_scan(repo, oids, n, &log)) < 0 || log.n == 0 ||
	    (rc = repair_from(repo, remote, &log, why, sizeof(why))) < 0)
		goto done;
	if ((rc = p4r_objguard_settle(repo, &log, remote->name, why, opts->on_damage,
				      opts->damage_payload)) == 0)
		goto done;
	if (rc != P4R_EINTEGRITY)
		goto done;
	if (opts->allow_missing) {
		/* published without its object, and warned as such */
		p4r_error_clear();
		rc = 0;
		goto done;
	}
	/* the first in full (what happened, how to get it back), the others by name */
	snprintf(first, sizeof(first), "%s", p4r_error_message());
	for (i = 0, named = false; i < log.n; i++) {
		const p4r_guard_event *ev = &log.v[i];

		if (ev->repaired[0])
			continue;
		if (!named) {
			named = true; /* settle's message is about this one */
			continue;
		}
		if (ev->versions[0] && used + strlen(ev->versions) + 20 < sizeof(others))
			used += (size_t)snprintf(others + used, sizeof(others) - used, "%s%s",
						 used ? ", " : "; also damaged: ", ev->versions);
		else
			more++;
	}
	if (more && used < sizeof(others))
		snprintf(others + used, sizeof(others) - used, "%s%zu more object%s", used ? " and " :
			 "; also damaged: ", more, more == 1 ? "" : "s");
	rc = p4r_error_set(P4R_EINTEGRITY, "cannot push to '%s', nothing was pushed: %s%s", remote->name,
			   first, others);
done:
	p4r_guard_log_clear(&log);
	return rc;
}


/* The objects of register events in EV that were not in the first upload. */
static int upload_stragglers(p4r_repo *repo, p4r_remote *remote, const p4r_push_opts *opts,
			     const p4r_sync_event *ev, size_t n, const p4r_oid *done, size_t ndone,
			     p4r_sync_result *res)
{
	size_t i, k;
	int rc;

	for (i = 0; i < n; i++) {
		bool seen = false;

		if (!ev[i].has_version)
			continue;
		for (k = 0; k < ndone && !seen; k++)
			seen = p4r_oid_equal(&done[k], &ev[i].oid);
		if (seen)
			continue;
		if ((rc = guard_objects(repo, remote, opts, &ev[i].oid, 1)) < 0 ||
		    (rc = upload_objects(repo, remote, &ev[i].oid, &ev[i].size, 1, NULL, res)) < 0)
			return rc;
	}
	return 0;
}

static void backoff(int attempt)
{
	unsigned char r = 0;
	struct timespec ts;
	long ms;

	RAND_bytes(&r, 1);
	ms = (long)(attempt < 6 ? attempt : 6) * 20 + r % 40;
	ts.tv_sec = 0;
	ts.tv_nsec = ms * 1000000L;
	nanosleep(&ts, NULL);
}

/* Versions among EV whose object is neither in the store nor on the
 * remote, as "model@N sha256:OID" (appended to *NAMES, deduplicated). */
static int find_missing(p4r_repo *repo, p4r_remote *remote, const p4r_sync_event *ev, size_t n,
			char ***names, size_t *nnames)
{
	char key[128], name[P4R_MODEL_NAME_MAX + P4R_OID_HEXLEN + 40];
	size_t i, k;
	bool there, seen;
	int rc;

	for (i = 0; i < n; i++) {
		if (!ev[i].has_version || p4r_store_has(p4r_repo_store(repo), &ev[i].oid))
			continue;
		p4r_remote_object_key(key, sizeof(key), &ev[i].oid);
		if ((rc = remote->ops->exists(remote, key, &there)) < 0)
			return rc;
		if (there)
			continue;
		snprintf(name, sizeof(name), "%s@%lld sha256:%s", ev[i].model, (long long)ev[i].version,
			 ev[i].oid.hex);
		for (k = 0, seen = false; k < *nnames && !seen; k++)
			seen = !strcmp((*names)[k], name);
		if (!seen && (rc = add_string(names, nnames, name)) < 0)
			return rc;
	}
	return 0;
}

/* Refuses to publish versions whose bytes nobody could ever download,
 * unless the user allowed it (then RES->missing names them). */
static int check_missing(p4r_repo *repo, p4r_remote *remote, const p4r_sync_event *ev, size_t n,
			 bool allow, p4r_sync_result *res)
{
	char **names = NULL, list[768] = "";
	size_t nnames = 0, i, used = 0;
	int rc;

	if ((rc = find_missing(repo, remote, ev, n, allow ? &res->missing : &names,
			       allow ? &res->nmissing : &nnames)) < 0 || allow || nnames == 0)
		goto done;
	for (i = 0; i < nnames && i < MISSING_NAMED && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", names[i]);
	if (nnames > MISSING_NAMED && used < sizeof(list))
		snprintf(list + used, sizeof(list) - used, " and %zu more", nnames - MISSING_NAMED);
	rc = p4r_error_set(P4R_ERROR, "cannot push to '%s': the object of %s is neither in the local "
			   "store nor on the remote; nothing was pushed. Restore the bytes (p4reg add the "
			   "file again, or fetch them from where they are) or push with --allow-missing",
			   remote->name, list);
done:
	p4r_strv_free(names, nnames);
	return rc;
}

/* Publishes the first events of EV as batch SEQ: *USED of them when the
 * atomic create won, 0 (and no error) when another push took SEQ. */
static int publish(p4r_repo *repo, p4r_remote *remote, int64_t seq, const p4r_sync_event *ev,
		   size_t n, const char *actor, size_t *used)
{
	char key[64], *text = NULL;
	size_t len = 0;
	int rc;

	if ((rc = p4r_batch_encode(&text, &len, used, seq, ev, n, actor, p4r_now_ms())) < 0)
		return rc;
	p4r_remote_log_key(key, sizeof(key), seq);
	rc = remote->ops->create_excl(remote, key, text, len);
	cJSON_free(text);
	if (rc == P4R_EEXISTS) {
		p4r_error_clear();
		*used = 0;
		return 0;
	}
	if (rc < 0)
		return rc;
	return p4r_registry_sync_mark(p4r_repo_registry(repo), remote->url, seq, ev, *used);
}

/* Rebase, then the unpublished events of OPTS' models, whose objects must
 * exist somewhere. */
static int collect_events(p4r_repo *repo, p4r_remote *remote, const p4r_push_opts *opts,
			  p4r_sync_result *res, p4r_sync_event **ev, size_t *n)
{
	int rc;

	if ((rc = fetch_events_locked(repo, remote, res)) < 0)
		return rc;
	return p4r_registry_sync_unpublished(p4r_repo_registry(repo), remote->url, opts->models,
					     opts->n_models, ev, n);
}

static int collect(p4r_repo *repo, p4r_remote *remote, const p4r_push_opts *opts,
		   p4r_sync_result *res, p4r_sync_event **ev, size_t *n)
{
	int rc;

	if ((rc = collect_events(repo, remote, opts, res, ev, n)) < 0)
		return rc;
	return check_missing(repo, remote, *ev, *n, opts->allow_missing, res);
}

static int push_locked(p4r_repo *repo, p4r_remote *remote, const p4r_push_opts *opts,
		       const p4r_sync_progress *prog, p4r_sync_result *res)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_oid *oids = NULL;
	int64_t *sizes = NULL, seq;
	p4r_sync_event *ev = NULL;
	size_t noids = 0, n = 0, used;
	char *actor = NULL;
	int attempt = 0, rc;

	/* Refusals come before the first byte reaches the remote: wrong bytes
	 * (the object guard), then versions whose bytes are nowhere. */
	if ((rc = collect_events(repo, remote, opts, res, &ev, &n)) < 0 ||
	    (rc = p4r_registry_sync_objects(reg, opts->models, opts->n_models, &oids, &sizes, &noids)) < 0 ||
	    (rc = guard_objects(repo, remote, opts, oids, noids)) < 0 ||
	    (rc = check_missing(repo, remote, ev, n, opts->allow_missing, res)) < 0 ||
	    (rc = upload_objects(repo, remote, oids, sizes, noids, prog, res)) < 0)
		goto done;
	if (!(actor = p4r_repo_actor(repo))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	/* One batch per round; a push larger than a batch takes several. */
	while (n > 0) {
		if ((rc = upload_stragglers(repo, remote, opts, ev, n, oids, noids, res)) < 0 ||
		    (rc = p4r_registry_sync_applied(reg, remote->url, &seq)) < 0 ||
		    (rc = publish(repo, remote, ++seq, ev, n, actor, &used)) < 0)
			goto done;
		if (used) {
			res->events_published += used;
			res->batches_published++;
			res->batch_seq = seq;
		} else if (++attempt >= MAX_PUSH_ATTEMPTS) {
			rc = p4r_error_set(P4R_ERROR, "gave up after %d attempts: the remote's log keeps "
					   "moving; try again", MAX_PUSH_ATTEMPTS);
			goto done;
		} else {
			/* Another push won this number: fetch it, rebase, try again. */
			backoff(attempt);
		}
		p4r_sync_event_array_free(ev, n);
		ev = NULL;
		n = 0;
		if ((rc = collect(repo, remote, opts, res, &ev, &n)) < 0)
			goto done;
	}
done:
	free(actor);
	free(oids);
	free(sizes);
	p4r_sync_event_array_free(ev, n);
	return rc;
}

int p4r_sync_push(p4r_repo *repo, p4r_remote *remote, const p4r_push_opts *opts,
		  const p4r_sync_progress *prog, p4r_sync_result *res)
{
	bool safe = true;
	int fd, rc;

	/* A server that ignores If-None-Match would let two pushes take one
	 * batch number, and one of them would be lost. */
	if (remote->parsed.kind == P4R_REMOTE_S3 && !opts->unsafe) {
		if ((rc = p4r_remote_probe(remote, &safe)) < 0)
			return rc;
		if (!safe)
			return p4r_error_set(P4R_EREFUSED, "remote '%s' ignores conditional writes "
					     "(If-None-Match): concurrent pushes to it can lose events; "
					     "push with --unsafe-concurrent if only one machine pushes", remote->name);
	}
	if ((rc = lock_take(repo, &fd)) < 0)
		return rc;
	rc = push_locked(repo, remote, opts, prog, res);
	lock_release(fd);
	return rc;
}

int p4r_sync_push_objects(p4r_repo *repo, p4r_remote *remote, const p4r_oid *oids, const int64_t *sizes,
			  size_t n, const p4r_sync_progress *prog, p4r_sync_result *res)
{
	int fd, rc;

	if ((rc = lock_take(repo, &fd)) < 0)
		return rc;
	rc = upload_objects(repo, remote, oids, sizes, n, prog, res);
	lock_release(fd);
	return rc;
}
