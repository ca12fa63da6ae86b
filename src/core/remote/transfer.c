/* Object transfers between the local store and a remote, in parallel
 * (remote.NAME.jobs at a time, p4r_parallel_for) and verified: a download
 * is hashed while written and reaches the store only through
 * p4r_store_place once its oid and size match (a pull in copy mode writes
 * the work-tree file from the same read: remote.h, p4r_remote_tee); an
 * upload re-hashes the local bytes on the way, so a corrupt object never
 * leaves. */
#include "remote/sync_priv.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/objguard.h"
#include "p4reg/parallel.h"
#include "p4reg/version_objects.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What the work items of one transfer share. */
struct transfer {
	pthread_mutex_t lock;           /* guards RES, DONE_BYTES and calls of PROG */
	p4r_repo *repo;                 /* the local store's repository (not for stat) */
	p4r_remote *remote;
	const p4r_oid *oids;            /* the work items */
	const int64_t *sizes;           /* their recorded sizes (not for stat) */
	const p4r_sync_progress *prog;  /* nullable */
	uint64_t done_bytes, total_bytes;
	p4r_sync_result *res;           /* counts */
	p4r_sync_stat *stats;           /* stat: one answer per oid */
};

/* Runs FN over the N items of T on the remote's jobs. */
static int transfer_run(struct transfer *t, size_t n, p4r_parallel_fn fn)
{
	int rc;

	if (n == 0)
		return 0;
	if (pthread_mutex_init(&t->lock, NULL) != 0)
		return p4r_error_set(P4R_ERROR, "cannot create a lock");
	/* integrity failures are reported first (parallel.h) */
	rc = p4r_parallel_for(n, t->remote->opts.jobs > 0 ? (unsigned)t->remote->opts.jobs : 1, fn, t);
	pthread_mutex_destroy(&t->lock);
	return rc;
}

/* transfer_run with chunk dedup told about the local side. */
static int transfer_chunked(struct transfer *t, size_t n, p4r_parallel_fn fn)
{
	p4r_sync_chunks c;
	int rc;

	if ((rc = p4r_sync_chunks_attach(&c, t->repo, t->remote)) < 0)
		return rc;
	rc = transfer_run(t, n, fn);
	p4r_sync_chunks_detach(&c, t->remote);
	return rc;
}

/* Byte increments from any thread, summed for PROG. */
static void transfer_progress(uint64_t delta, uint64_t total, void *payload)
{
	struct transfer *t = payload;

	(void)total;
	pthread_mutex_lock(&t->lock);
	t->done_bytes += delta;
	if (t->prog && t->prog->fn)
		t->prog->fn(t->done_bytes, t->total_bytes, t->prog->payload);
	pthread_mutex_unlock(&t->lock);
}

/* Adds to one of T's counts (and BYTES to another, when not NULL). */
static void count(struct transfer *t, size_t *objects, uint64_t *bytes, uint64_t size)
{
	pthread_mutex_lock(&t->lock);
	(*objects)++;
	if (bytes)
		*bytes += size;
	pthread_mutex_unlock(&t->lock);
}

/* Asks the remote's tee (remote.h) for a second file for OID: *FD2 -1
 * when there is none, or the backend cannot write two. */
static int tee_open(const p4r_remote *r, const p4r_oid *oid, int store_fd, int *fd2)
{
	*fd2 = -1;
	if (!r->tee || !r->ops->get_file_tee)
		return 0;
	return r->tee->open(r->tee->payload, oid, store_fd, fd2);
}

/* Tells the tee how the download into *FD2 ended (OK: verified); *FD2 is
 * -1 after. RC is the download's outcome, returned unless the tee failed. */
static int tee_close(const p4r_remote *r, const p4r_oid *oid, int *fd2, int rc)
{
	int trc;

	if (*fd2 < 0)
		return rc;
	trc = r->tee->close(r->tee->payload, oid, *fd2, rc == 0);
	*fd2 = -1;
	return rc < 0 ? rc : trc;
}

/* Downloads one object: to tmp/ (and to the tee's file, from the same
 * read), verified against its oid and recorded size
 * (p4r_remote_get_verified_tee), published into the store only then --
 * after the tee's file is durable, so a failure publishes neither. */
static int download_one(size_t i, void *payload)
{
	struct transfer *t = payload;
	p4r_store *store = p4r_repo_store(t->repo);
	const p4r_oid *oid = &t->oids[i];
	char *tmp = NULL;
	uint64_t received = 0;
	int fd = -1, fd2 = -1, rc;

	if (p4r_store_has(store, oid)) {
		count(t, &t->res->objects_present, NULL, 0);
		return 0;
	}
	if ((rc = p4r_mkstemp_in(&fd, &tmp, t->remote->tmp_dir, "fetch")) < 0 ||
	    (rc = tee_open(t->remote, oid, fd, &fd2)) < 0)
		goto done;
	rc = p4r_remote_get_object(t->remote, oid, t->sizes[i], fd, fd2, tmp, &received, transfer_progress, t);
	if (rc == P4R_EINTEGRITY)
		rc = p4r_error_set(rc, "%s; not stored", p4r_error_message());
	if ((rc = tee_close(t->remote, oid, &fd2, rc)) < 0 ||
	    (rc = p4r_store_place(store, &fd, &tmp, oid)) < 0)
		goto done;
	count(t, &t->res->objects_received, &t->res->bytes_received, received);
done:
	if (fd2 >= 0)
		tee_close(t->remote, oid, &fd2, rc < 0 ? rc : P4R_ERROR);
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

/* Downloads the N objects OIDS the store lacks, each distinct one once. */
static int fetch_unique(p4r_repo *repo, p4r_remote *remote, const p4r_oid *oids,
			const int64_t *sizes, size_t n, const p4r_sync_progress *prog,
			p4r_sync_result *res)
{
	struct transfer t = { .repo = repo, .remote = remote, .prog = prog, .res = res };
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
			t.total_bytes += (uint64_t)u[i].size;
	}
	t.oids = uoids;
	t.sizes = usizes;
	rc = transfer_chunked(&t, k, download_one);
done:
	free(u);
	free(uoids);
	free(usizes);
	return rc;
}

/* The files of the folder versions whose manifests are among OIDS (now
 * in the store, verified): each manifest is loaded (decoded, re-hashed,
 * its rows recorded), then the files it names are downloaded like any
 * object, verified, and their fingerprints recorded. */
static int fetch_dir_files(p4r_repo *repo, p4r_remote *remote, const p4r_oid *oids,
			   const int64_t *sizes, size_t n, const p4r_sync_progress *prog,
			   p4r_sync_result *res)
{
	p4r_objects o = { 0 }, get = { 0 };
	size_t i;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++)
		rc = p4r_objects_add(&o, &oids[i], sizes[i]);
	if (rc == 0)
		rc = p4r_objects_add_dir_files(repo, &o);
	for (i = n; i < o.n && rc == 0; i++)
		rc = p4r_objects_add(&get, &o.oid[i], o.size[i]);
	p4r_objects_unique(&get);
	/* files the store has count as present; only downloads get fingerprints */
	for (i = 0, n = 0; i < get.n; i++)
		if (p4r_store_has(p4r_repo_store(repo), &get.oid[i]))
			res->objects_present++;
		else
			get.oid[n] = get.oid[i], get.size[n++] = get.size[i];
	get.n = n;
	if (rc == 0)
		rc = fetch_unique(repo, remote, get.oid, get.size, get.n, prog, res);
	if (rc == 0)
		rc = p4r_objguard_downloaded(repo, get.oid, get.n);
	p4r_objects_clear(&o);
	p4r_objects_clear(&get);
	return rc;
}

int p4r_sync_fetch_objects(p4r_repo *repo, p4r_remote *remote, const p4r_oid *oids,
			   const int64_t *sizes, size_t n, const p4r_sync_progress *prog,
			   p4r_sync_result *res)
{
	int rc;

	/* a folder version's manifest first: it says which files come next */
	if ((rc = fetch_unique(repo, remote, oids, sizes, n, prog, res)) < 0)
		return rc;
	return fetch_dir_files(repo, remote, oids, sizes, n, prog, res);
}

/* Asks for one object's presence and size; nothing is downloaded. */
static int stat_one(size_t i, void *payload)
{
	struct transfer *t = payload;
	p4r_sync_stat *st = &t->stats[i];
	int rc;

	if ((rc = p4r_remote_has_object(t->remote, &t->oids[i], &st->exists, &st->size)) == 0)
		st->asked = true;
	return rc;
}

int p4r_sync_stat_objects(p4r_remote *remote, const p4r_oid *oids, size_t n, p4r_sync_stat *out)
{
	struct transfer t = { .remote = remote, .oids = oids, .stats = out };

	memset(out, 0, n * sizeof(*out));
	return transfer_run(&t, n, stat_one);
}

/* Uploads one object unless the remote has it; the bytes are re-hashed on
 * the way (a corrupt local object never leaves). */
static int upload_one(size_t i, void *payload)
{
	struct transfer *t = payload;
	p4r_store *store = p4r_repo_store(t->repo);
	const p4r_oid *oid = &t->oids[i];
	char path[PATH_MAX];
	uint64_t sent = 0;
	bool there = false;
	int rc;

	if (!p4r_store_has(store, oid))
		return 0;
	if ((rc = p4r_store_object_path(store, oid, path, sizeof(path))) < 0 ||
	    (rc = p4r_remote_put_object(t->remote, oid, path, (uint64_t)t->sizes[i], &there, &sent,
					transfer_progress, t)) < 0)
		return rc;
	if (there) {
		transfer_progress((uint64_t)t->sizes[i], 0, t);
		count(t, &t->res->objects_present, NULL, 0);
		return 0;
	}
	count(t, &t->res->objects_sent, &t->res->bytes_sent, sent);
	return 0;
}

int p4r_sync_upload_objects(p4r_repo *repo, p4r_remote *remote, const p4r_oid *oids,
			    const int64_t *sizes, size_t n, const p4r_sync_progress *prog,
			    p4r_sync_result *res)
{
	struct transfer t = { .repo = repo, .remote = remote, .oids = oids, .sizes = sizes,
			      .prog = prog, .res = res };
	size_t i;

	for (i = 0; i < n; i++)
		t.total_bytes += (uint64_t)sizes[i];
	return transfer_chunked(&t, n, upload_one);
}

int p4r_sync_push_objects(p4r_repo *repo, p4r_remote *remote, const p4r_oid *oids, const int64_t *sizes,
			  size_t n, const p4r_sync_progress *prog, p4r_sync_result *res)
{
	int fd, rc;

	if ((rc = p4r_sync_lock_take(repo, &fd)) < 0)
		return rc;
	rc = p4r_sync_upload_objects(repo, remote, oids, sizes, n, prog, res);
	p4r_sync_lock_release(fd);
	return rc;
}
