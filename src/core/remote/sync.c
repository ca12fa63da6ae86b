/* The sync protocol over any remote (docs/remotes.md): fetch (decode with
 * batch.c, check against the store, apply + rebase + pointer rewrite, or
 * skip a batch on request) and push (refuse versions whose bytes are
 * nowhere, objects, then atomic appends of batches to the log, retried
 * after a rebase when another writer won). The lock is sync_lock.c, the
 * pointer rewrite sync_pointers.c, the object transfers transfer.c. */
#include "p4reg/sync.h"
#include "remote/sync_priv.h"
#include "p4reg/batch.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/objguard.h"
#include "p4reg/pointer.h"
#include "p4reg/relpath.h"
#include "p4reg/version_objects.h"
#include "p4reg/worktree.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* ---- fetch: events ---- */

int p4r_sync_add_string(char ***v, size_t *n, const char *s)
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
	rc = p4r_sync_rewrite_pointers(repo, ren, nren, res);
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

	if ((rc = p4r_sync_lock_take(repo, &fd)) < 0)
		return rc;
	rc = fetch_events_locked(repo, remote, res);
	p4r_sync_lock_release(fd);
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
	if ((rc = p4r_sync_lock_take(repo, &fd)) < 0)
		return rc;
	rc = skip_locked(repo, remote, seq, out);
	p4r_sync_lock_release(fd);
	return rc;
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


/* The objects of the version EV registers (a folder: its manifest and,
 * when the manifest is here, every file). */
static int event_objects(p4r_repo *repo, const p4r_sync_event *ev, p4r_objects *out)
{
	p4r_version v = { .number = ev->version, .oid = ev->oid, .size = ev->size,
			  .kind = ev->version_kind };

	snprintf(v.model, sizeof(v.model), "%s", ev->model);
	return p4r_version_objects(repo, &v, out, NULL);
}

/* OIDS, SIZES and N (malloc'd) gain the files of the folder versions
 * whose manifests they hold: a push sends every file a version needs. */
static int add_dir_files(p4r_repo *repo, p4r_oid **oids, int64_t **sizes, size_t *n)
{
	p4r_objects o = { .oid = *oids, .size = *sizes, .n = *n, .cap = *n };
	int rc = p4r_objects_add_dir_files(repo, &o);

	p4r_objects_unique(&o);
	*oids = o.oid;
	*sizes = o.size;
	*n = o.n;
	return rc;
}

/* Guards and uploads the objects of the version EV registers. */
static int upload_event(p4r_repo *repo, p4r_remote *remote, const p4r_push_opts *opts,
			const p4r_sync_event *ev, p4r_sync_result *res)
{
	p4r_objects o = { 0 };
	int rc;

	if ((rc = event_objects(repo, ev, &o)) == 0 &&
	    (rc = guard_objects(repo, remote, opts, o.oid, o.n)) == 0)
		rc = p4r_sync_upload_objects(repo, remote, o.oid, o.size, o.n, NULL, res);
	p4r_objects_clear(&o);
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

		/* a version deleted here needs no bytes anywhere */
		if (!ev[i].has_version || ev[i].deleted)
			continue;
		for (k = 0; k < ndone && !seen; k++)
			seen = p4r_oid_equal(&done[k], &ev[i].oid);
		if (seen)
			continue;
		rc = upload_event(repo, remote, opts, &ev[i], res);
		if (rc < 0)
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

/* *THERE: every object of the version EV registers (a folder: its
 * manifest and files) is in the store or on REMOTE; else *OID is the
 * first that is in neither. */
static int first_missing(p4r_repo *repo, p4r_remote *remote, const p4r_sync_event *ev, p4r_oid *oid,
			 bool *there)
{
	p4r_objects o = { 0 };
	size_t i;
	int rc;

	*there = true;
	if ((rc = event_objects(repo, ev, &o)) < 0)
		return rc;
	for (i = 0; i < o.n && *there && rc == 0; i++) {
		if (p4r_store_has(p4r_repo_store(repo), &o.oid[i]))
			continue;
		rc = p4r_remote_has_object(remote, &o.oid[i], there, NULL);
		*oid = o.oid[i];
	}
	p4r_objects_clear(&o);
	return rc;
}

/* Versions among EV whose object is neither in the store nor on the
 * remote, as "model@N sha256:OID" (appended to *NAMES, deduplicated). */
static int find_missing(p4r_repo *repo, p4r_remote *remote, const p4r_sync_event *ev, size_t n,
			char ***names, size_t *nnames)
{
	char name[P4R_MODEL_NAME_MAX + P4R_OID_HEXLEN + 40];
	size_t i, k;
	bool there, seen;
	int rc;

	for (i = 0; i < n; i++) {
		p4r_oid oid;

		/* a version deleted here needs no bytes anywhere */
		if (!ev[i].has_version || ev[i].deleted)
			continue;
		if ((rc = first_missing(repo, remote, &ev[i], &oid, &there)) < 0)
			return rc;
		if (there)
			continue;
		snprintf(name, sizeof(name), "%s@%lld sha256:%s", ev[i].model, (long long)ev[i].version,
			 oid.hex);
		for (k = 0, seen = false; k < *nnames && !seen; k++)
			seen = !strcmp((*names)[k], name);
		if (!seen && (rc = p4r_sync_add_string(names, nnames, name)) < 0)
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
	    (rc = add_dir_files(repo, &oids, &sizes, &noids)) < 0 ||
	    (rc = guard_objects(repo, remote, opts, oids, noids)) < 0 ||
	    (rc = check_missing(repo, remote, ev, n, opts->allow_missing, res)) < 0 ||
	    (rc = p4r_sync_upload_objects(repo, remote, oids, sizes, noids, prog, res)) < 0)
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
	if ((rc = p4r_sync_lock_take(repo, &fd)) < 0)
		return rc;
	rc = push_locked(repo, remote, opts, prog, res);
	p4r_sync_lock_release(fd);
	return rc;
}
