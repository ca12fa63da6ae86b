/* The object guard (objguard.h): fingerprints of stored objects, the
 * re-hash when one moved, quarantine and damage marks, and the repair of a
 * damaged object from a remote or from the file being added. */
#include "p4reg/objguard.h"
#include "p4reg/error.h"
#include "p4reg/fsck.h"
#include "p4reg/ondemand.h"
#include "p4reg/ops/op.h"
#include "p4reg/worktree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Oids one inode may be recorded under: a hard-linked work file that was
 * added again is the object of each version it became. */
#define INODE_OIDS 8
/* A check whose re-hash saw the object move is tried again this often
 * before the object is called busy. */
#define BUSY_TRIES 2

static bool same_key(const p4r_stat_key *a, const p4r_stat_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

void p4r_guard_log_clear(p4r_guard_log *log)
{
	if (!log)
		return;
	free(log->v);
	memset(log, 0, sizeof(*log));
}

static bool log_has(const p4r_guard_log *log, const p4r_oid *oid)
{
	size_t i;

	for (i = 0; i < log->n; i++)
		if (p4r_oid_equal(&log->v[i].oid, oid))
			return true;
	return false;
}

int p4r_guard_log_push(p4r_guard_log *log, const p4r_guard_event *ev)
{
	if (log_has(log, &ev->oid))
		return 0;
	if (log->n == log->cap) {
		size_t cap = log->cap ? log->cap * 2 : 4;
		p4r_guard_event *v = realloc(log->v, cap * sizeof(*v));

		if (!v)
			return p4r_error_set(P4R_ERROR, "out of memory");
		log->v = v;
		log->cap = cap;
	}
	log->v[log->n++] = *ev;
	return 0;
}

/* EV's versions, from the registry; a registry that cannot say leaves the
 * messages naming the object. */
static void name_versions(p4r_registry *reg, p4r_guard_event *ev)
{
	if (p4r_registry_oid_versions(reg, &ev->oid, ev->versions, sizeof(ev->versions), ev->first,
				      sizeof(ev->first), &ev->size) < 0)
		p4r_error_clear();
}

void p4r_guard_event_from_mark(p4r_registry *reg, const p4r_damage *d, p4r_guard_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->oid = d->oid;
	ev->got = d->got;
	snprintf(ev->quarantine, sizeof(ev->quarantine), "%s", d->quarantine);
	snprintf(ev->work, sizeof(ev->work), "%s", d->work);
	ev->earlier = true;
	name_versions(reg, ev);
}

void p4r_objguard_describe(char *buf, size_t bufsz, const p4r_guard_event *ev)
{
	char what[320], moved[P4R_QUARANTINE_MAX + 32] = "";
	size_t len;

	if (ev->versions[0])
		snprintf(what, sizeof(what), "%s", ev->versions);
	else
		snprintf(what, sizeof(what), "object %.12s", ev->oid.hex);
	if (ev->quarantine[0])
		snprintf(moved, sizeof(moved), ", moved to '%s'", ev->quarantine);
	if (ev->work[0] && !ev->earlier)
		snprintf(buf, bufsz, "'%s' was written in place through a hard link: the stored bytes of "
			 "%s are destroyed (object %.12s now hashes to %.12s%s)", ev->work, what,
			 ev->oid.hex, ev->got.hex, moved);
	else if (ev->earlier && ev->work[0])
		snprintf(buf, bufsz, "the stored bytes of %s were destroyed earlier: '%s' was written in "
			 "place through a hard link (object %.12s hashed to %.12s%s)", what, ev->work,
			 ev->oid.hex, ev->got.hex, moved);
	else if (ev->earlier)
		snprintf(buf, bufsz, "the stored bytes of %s were found damaged earlier (object %.12s "
			 "hashed to %.12s%s)", what, ev->oid.hex, ev->got.hex, moved);
	else
		snprintf(buf, bufsz, "the stored bytes of %s changed in place (object %.12s now hashes "
			 "to %.12s%s)", what, ev->oid.hex, ev->got.hex, moved);
	len = strlen(buf);
	if (ev->repaired[0] && len < bufsz)
		snprintf(buf + len, bufsz - len, "; repaired %s from %s",
			 ev->first[0] ? ev->first : "it", ev->repaired);
}

int p4r_objguard_fail(const p4r_guard_event *ev, const char *why)
{
	char what[1024];
	const char *ref = ev->first[0] ? ev->first : "it";

	p4r_objguard_describe(what, sizeof(what), ev);
	return p4r_error_set(P4R_EINTEGRITY, "%s; not repaired%s%s%s: 'p4reg fsck --repair' fetches "
			     "%s once a remote has it, or add the original file again", what,
			     why && *why ? " (" : "", why && *why ? why : "", why && *why ? ")" : "", ref);
}

bool p4r_objguard_hardlink_hazard(const p4r_link_type *order, size_t n)
{
	size_t i;

	if (geteuid() != 0)
		return false;
	for (i = 0; i < n; i++)
		if (order[i] == P4R_LINK_HARDLINK)
			return true;
	return false;
}

/* The registry writes of one finding, in one transaction: nothing in a
 * read-only registry, where they would only save work or repeat what fsck
 * finds again. */
static int write_marks(p4r_registry *reg, const p4r_oid *oid, const struct stat *st,
		       const p4r_damage *damage, const char *repaired_from)
{
	p4r_stat_key key;
	int rc;

	if (p4r_registry_readonly(reg))
		return 0;
	if ((rc = p4r_registry_begin(reg)) < 0)
		return rc;
	if (st) {
		p4r_worktree_stat_key(st, &key);
		rc = p4r_registry_objstat_put(reg, oid, &key);
	}
	if (rc == 0 && damage)
		if ((rc = p4r_registry_objstat_drop(reg, oid)) == 0)
			rc = p4r_registry_damage_mark(reg, damage);
	if (rc == 0 && repaired_from)
		rc = p4r_registry_damage_repaired(reg, oid, repaired_from, NULL);
	if (rc == 0)
		return p4r_registry_commit(reg);
	p4r_registry_abort(reg);
	return rc;
}

/* OID's bytes hash to GOT: they leave the store for the quarantine and the
 * object is marked damaged. WORK names the file that wrote them, if known. */
static int condemn(p4r_repo *repo, const p4r_oid *oid, const p4r_oid *got, const char *work,
		   p4r_guard_event *ev)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	char path[PATH_MAX], *dest = NULL, what[1024];
	const char *name;
	p4r_damage d;
	int rc;

	memset(ev, 0, sizeof(*ev));
	ev->oid = *oid;
	ev->got = *got;
	snprintf(ev->work, sizeof(ev->work), "%s", work ? work : "");
	name_versions(reg, ev);
	if ((rc = p4r_store_object_path(p4r_repo_store(repo), oid, path, sizeof(path))) < 0)
		return rc;
	rc = p4r_fsck_quarantine(p4r_repo_meta(repo), path, oid, &dest);
	if (rc == P4R_ENOTFOUND) {
		/* another process moved it first: it is out of the store */
		p4r_error_clear();
	} else if (rc < 0) {
		char why[512];

		snprintf(why, sizeof(why), "%s", p4r_error_message());
		p4r_objguard_describe(what, sizeof(what), ev);
		return p4r_error_set(P4R_EINTEGRITY, "%s; they cannot be moved out of the store (%s): "
				     "nothing is served from it, 'p4reg fsck' reports it", what, why);
	} else {
		name = strrchr(dest, '/');
		snprintf(ev->quarantine, sizeof(ev->quarantine), P4R_META_DIR "/quarantine/%s",
			 name ? name + 1 : dest);
		free(dest);
	}
	memset(&d, 0, sizeof(d));
	d.oid = *oid;
	d.got = *got;
	snprintf(d.quarantine, sizeof(d.quarantine), "%s", ev->quarantine);
	snprintf(d.work, sizeof(d.work), "%s", ev->work);
	return write_marks(reg, oid, NULL, &d, NULL);
}

/* The check behind every entry point: see p4r_objguard_check. */
static int guard(p4r_repo *repo, const p4r_oid *oid, const char *work, p4r_guard_event *ev,
		 bool *damaged, struct stat *verified)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_store *store = p4r_repo_store(repo);
	p4r_stat_key now, known;
	p4r_guard_event scratch;
	struct stat st;
	bool found, stable = false;
	p4r_oid got;
	int rc, tries;

	*damaged = false;
	if (verified)
		memset(verified, 0, sizeof(*verified));
	if (!reg)
		return 0;
	rc = p4r_store_object_stat(store, oid, &st);
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		return 0;
	}
	if (rc < 0)
		return rc;
	p4r_worktree_stat_key(&st, &now);
	if ((rc = p4r_registry_objstat_get(reg, oid, &known, &found)) < 0)
		return rc;
	if (found && same_key(&known, &now)) {
		if (verified)
			*verified = st;
		return 0;
	}
	for (tries = 0; tries < BUSY_TRIES && !stable; tries++) {
		rc = p4r_store_hash_object(store, oid, &got, &st, &stable);
		if (rc == P4R_ENOTFOUND) {
			p4r_error_clear(); /* gone meanwhile (gc): absent */
			return 0;
		}
		if (rc < 0)
			return rc;
		if (!p4r_oid_equal(&got, oid)) {
			*damaged = true;
			return condemn(repo, oid, &got, work, ev ? ev : &scratch);
		}
	}
	if (!stable) {
		/* right bytes, but something writes the object while it is read */
		memset(&scratch, 0, sizeof(scratch));
		scratch.oid = *oid;
		name_versions(reg, &scratch);
		return p4r_error_set(P4R_EINTEGRITY, "the stored bytes of %s (object %.12s) change while "
				     "they are read: a process is writing through a hard link; stop it, "
				     "then run the command again", scratch.versions[0] ? scratch.versions :
				     "an object", oid->hex);
	}
	if (verified)
		*verified = st;
	/* a fingerprint says "durable and whole": a batch (publish.h) may have
	 * named the object before its bytes reached the disk */
	if ((rc = p4r_store_sync_object(store, oid)) < 0)
		return rc;
	/* whole: remembered, and no longer damaged if it ever was */
	return write_marks(reg, oid, &st, NULL, "its bytes were whole again in the store");
}

int p4r_objguard_check(p4r_repo *repo, const p4r_oid *oid, p4r_guard_event *ev, bool *damaged)
{
	return guard(repo, oid, NULL, ev, damaged, NULL);
}

/* An absent OID that an earlier command found damaged: *FOUND and EV. */
static int earlier_damage(p4r_repo *repo, const p4r_oid *oid, p4r_guard_event *ev, bool *found)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_damage d;
	int rc;

	*found = false;
	if (!reg || p4r_store_has(p4r_repo_store(repo), oid))
		return 0;
	if ((rc = p4r_registry_damage_get(reg, oid, &d, found)) < 0)
		return rc;
	*found = *found && d.repaired_ms == 0;
	if (*found)
		p4r_guard_event_from_mark(reg, &d, ev);
	return 0;
}

int p4r_objguard_require(p4r_repo *repo, const p4r_oid *oid, struct stat *verified)
{
	p4r_guard_event ev;
	bool damaged;
	int rc;

	if ((rc = guard(repo, oid, NULL, &ev, &damaged, verified)) < 0)
		return rc;
	if (!damaged && (rc = earlier_damage(repo, oid, &ev, &damaged)) < 0)
		return rc;
	return damaged ? p4r_objguard_fail(&ev, NULL) : 0;
}

int p4r_objguard_record(p4r_repo *repo, const p4r_oid *oid, const struct stat *expect)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_stat_key now, known;
	struct stat st;
	bool found;
	int rc;

	if (!reg || p4r_registry_readonly(reg) || (expect && expect->st_ino == 0))
		return 0;
	rc = p4r_store_object_stat(p4r_repo_store(repo), oid, &st);
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		return 0;
	}
	if (rc < 0)
		return rc;
	/* only ctime may have moved since: anything else is someone's write */
	if (expect && (st.st_dev != expect->st_dev || st.st_ino != expect->st_ino ||
		       st.st_size != expect->st_size ||
		       st.st_mtim.tv_sec != expect->st_mtim.tv_sec ||
		       st.st_mtim.tv_nsec != expect->st_mtim.tv_nsec))
		return 0;
	p4r_worktree_stat_key(&st, &now);
	if ((rc = p4r_registry_objstat_get(reg, oid, &known, &found)) < 0 ||
	    (found && same_key(&known, &now)))
		return rc;
	return p4r_registry_objstat_put(reg, oid, &now);
}

int p4r_objguard_scan(p4r_repo *repo, const p4r_oid *oids, size_t n, p4r_guard_log *log)
{
	p4r_guard_event ev;
	bool damaged;
	size_t i;
	int rc;

	if (!p4r_repo_registry(repo))
		return 0;
	for (i = 0; i < n; i++) {
		if (log_has(log, &oids[i]))
			continue;
		if ((rc = guard(repo, &oids[i], NULL, &ev, &damaged, NULL)) < 0 ||
		    (!damaged && (rc = earlier_damage(repo, &oids[i], &ev, &damaged)) < 0))
			return rc;
		if (damaged && (rc = p4r_guard_log_push(log, &ev)) < 0)
			return rc;
	}
	return 0;
}

int p4r_objguard_settle(p4r_repo *repo, p4r_guard_log *log, const char *remote, const char *why,
			p4r_guard_fn fn, void *payload)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_guard_event *ev;
	size_t i;
	int rc = 0, wrc;

	for (i = 0; i < log->n; i++) {
		ev = &log->v[i];
		if (!ev->repaired[0] && p4r_store_has(p4r_repo_store(repo), &ev->oid)) {
			if (remote)
				snprintf(ev->repaired, sizeof(ev->repaired), "remote '%s'", remote);
			else
				snprintf(ev->repaired, sizeof(ev->repaired), "the store");
			if (reg && (wrc = write_marks(reg, &ev->oid, NULL, NULL, ev->repaired)) < 0 &&
			    rc == 0)
				rc = wrc;
		}
		if (!ev->repaired[0])
			snprintf(ev->why, sizeof(ev->why), "%s", why ? why : "");
		if (fn)
			fn(ev, payload);
	}
	if (rc < 0)
		return rc;
	for (i = 0; i < log->n; i++)
		if (!log->v[i].repaired[0])
			return p4r_objguard_fail(&log->v[i], log->v[i].why);
	return 0;
}

int p4r_objguard_downloaded(p4r_repo *repo, const p4r_oid *oids, size_t n)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	size_t i;
	int rc = 0;

	if (!reg || p4r_registry_readonly(reg) || n == 0)
		return 0;
	if ((rc = p4r_registry_begin(reg)) < 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++)
		rc = p4r_objguard_record(repo, &oids[i], NULL);
	if (rc == 0)
		return p4r_registry_commit(reg);
	p4r_registry_abort(reg);
	return rc;
}

/* The oids of OIDS (N) the store lacks, malloc'd into *OUT. */
static int lacking(p4r_repo *repo, const p4r_oid *oids, size_t n, p4r_oid **out, size_t *k)
{
	size_t i;

	*k = 0;
	if (!(*out = malloc((n ? n : 1) * sizeof(**out))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < n; i++)
		if (!p4r_store_has(p4r_repo_store(repo), &oids[i]))
			(*out)[(*k)++] = oids[i];
	return 0;
}

/* Fetches what the store lacks of OIDS from REMOTE, records what came,
 * and settles LOG: an unrepaired damaged object wins over the fetch's own
 * error (it names the version; the fetch error says why). */
static int fetch_settle(p4r_repo *repo, p4r_remote *remote, const p4r_oid *oids,
			const int64_t *sizes, size_t n, const p4r_sync_progress *prog,
			p4r_sync_result *res, p4r_guard_log *log, p4r_guard_fn fn, void *payload)
{
	p4r_oid *missing = NULL;
	char why[512] = "";
	size_t k;
	int rc, src;

	if ((rc = lacking(repo, oids, n, &missing, &k)) < 0)
		return rc;
	rc = p4r_sync_fetch_objects(repo, remote, oids, sizes, n, prog, res);
	if (rc < 0)
		snprintf(why, sizeof(why), "%s", p4r_error_message());
	else
		rc = p4r_objguard_downloaded(repo, missing, k);
	free(missing);
	src = p4r_objguard_settle(repo, log, remote->name, why, fn, payload);
	if (src < 0)
		return src;
	if (rc < 0 && why[0])
		return p4r_error_set(rc, "%s", why);
	return rc;
}

int p4r_objguard_fetch(p4r_repo *repo, p4r_remote *remote, const p4r_oid *oids,
		       const int64_t *sizes, size_t n, const p4r_sync_progress *prog,
		       p4r_sync_result *res, p4r_guard_fn fn, void *payload)
{
	p4r_guard_log log = { 0 };
	int rc;

	if ((rc = p4r_objguard_scan(repo, oids, n, &log)) == 0)
		rc = fetch_settle(repo, remote, oids, sizes, n, prog, res, &log, fn, payload);
	p4r_guard_log_clear(&log);
	return rc;
}

int p4r_objguard_linked(p4r_repo *repo, const char *rel, const struct stat *st,
			p4r_guard_event *ev, bool *damaged)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_oid oids[INODE_OIDS];
	struct stat obj;
	size_t n = 0, i;
	int rc;

	*damaged = false;
	if (!reg || st->st_nlink < 2)
		return 0;
	if ((rc = p4r_registry_objstat_by_inode(reg, (int64_t)st->st_dev, (int64_t)st->st_ino, oids,
						INODE_OIDS, &n)) < 0)
		return rc;
	for (i = 0; i < n; i++) {
		/* a row outlives its object (gc); inode numbers are reused */
		if (p4r_store_object_stat(p4r_repo_store(repo), &oids[i], &obj) < 0) {
			p4r_error_clear();
			continue;
		}
		if (obj.st_dev != st->st_dev || obj.st_ino != st->st_ino)
			continue;
		if ((rc = guard(repo, &oids[i], rel, ev, damaged, NULL)) < 0 || *damaged)
			return rc;
	}
	return 0;
}

/* Tries the default remote for LOG's objects still damaged, unless the
 * user's config says offline; settles LOG either way. */
static int repair_from_default(p4r_repo *repo, p4r_guard_log *log, p4r_guard_fn fn, void *payload)
{
	p4r_ondemand o = { 0 };
	p4r_remote *remote = NULL;
	p4r_sync_result res = { 0 };
	p4r_oid *oids = NULL;
	int64_t *sizes = NULL;
	char why[512] = "";
	size_t i, k = 0;
	int rc;

	for (i = 0; i < log->n; i++)
		k += !log->v[i].repaired[0];
	if (k == 0)
		return p4r_objguard_settle(repo, log, NULL, NULL, fn, payload);
	if ((rc = p4r_ondemand_config(repo, &o)) < 0)
		return rc;
	if (o.offline)
		snprintf(why, sizeof(why), "offline: core.offline is set");
	else if (p4r_remote_open(&remote, p4r_repo_config(repo), p4r_repo_meta(repo), NULL) < 0)
		snprintf(why, sizeof(why), "%s", p4r_error_message());
	if (!remote)
		return p4r_objguard_settle(repo, log, NULL, why, fn, payload);
	oids = calloc(k, sizeof(*oids));
	sizes = calloc(k, sizeof(*sizes));
	if (!oids || !sizes) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	for (i = 0, k = 0; i < log->n; i++) {
		if (log->v[i].repaired[0])
			continue;
		oids[k] = log->v[i].oid;
		sizes[k++] = log->v[i].size;
	}
	rc = fetch_settle(repo, remote, oids, sizes, k, NULL, &res, log, fn, payload);
done:
	p4r_sync_result_clear(&res);
	free(oids);
	free(sizes);
	p4r_remote_free(remote);
	return rc;
}

/* The object the store already had for A's file is damaged (EV): the file,
 * just hashed to that oid, is stored again in its place. */
static int restore_from_file(p4r_repo *repo, const p4r_guard_added *a, p4r_guard_event *ev)
{
	p4r_insert_result again;
	struct stat st;
	int rc;

	rc = p4r_store_insert_at(p4r_repo_store(repo), a->dir, a->base, a->rel, a->order, a->norder,
				 &again, &st, NULL, NULL);
	if (rc < 0)
		return rc;
	if (!p4r_oid_equal(&again.oid, &a->ins->oid))
		return p4r_error_set(P4R_ERROR, "'%s' changed while it was being added", a->rel);
	*a->ins = again;
	snprintf(ev->repaired, sizeof(ev->repaired), "'%s'", a->rel);
	return write_marks(p4r_repo_registry(repo), &ev->oid, NULL, NULL, ev->repaired);
}

/* The version A's pointer names (what this add moves the file off) when
 * an earlier command found its object destroyed and it is not back: MINE
 * gets it, so the add reports it and tries the remote once more. */
static int pointer_damage(p4r_repo *repo, const p4r_guard_added *a, p4r_guard_log *mine)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_damage *marks = NULL;
	p4r_guard_event ev;
	p4r_pointer ptr;
	size_t n = 0, i;
	int rc;

	if ((rc = p4r_registry_damage_list(reg, &marks, &n)) < 0 || n == 0)
		goto done;
	if (p4r_worktree_read_pointer(repo, a->rel, &ptr) < 0) {
		p4r_error_clear(); /* a new path, or one the add rewrites anyway */
		goto done;
	}
	for (i = 0; i < n && rc == 0; i++) {
		if (!p4r_oid_equal(&marks[i].oid, &ptr.oid) || log_has(mine, &ptr.oid) ||
		    p4r_store_has(p4r_repo_store(repo), &ptr.oid))
			continue;
		p4r_guard_event_from_mark(reg, &marks[i], &ev);
		rc = p4r_guard_log_push(mine, &ev);
	}
done:
	free(marks);
	return rc;
}

int p4r_objguard_added(p4r_repo *repo, const p4r_guard_added *a, p4r_guard_log *log,
		       p4r_guard_fn fn, void *payload)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_guard_log mine = { 0 };
	p4r_oid oids[INODE_OIDS];
	p4r_guard_event ev;
	struct stat st, obj;
	bool damaged;
	size_t n = 0, i;
	int rc = 0;

	if (!reg)
		return 0;
	/* the file shares its inode with objects it may have written into */
	if (fstatat(a->dir, a->base, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_nlink > 1 &&
	    (rc = p4r_registry_objstat_by_inode(reg, (int64_t)st.st_dev, (int64_t)st.st_ino, oids,
						INODE_OIDS, &n)) < 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++) {
		if (p4r_oid_equal(&oids[i], &a->ins->oid) ||
		    p4r_store_object_stat(p4r_repo_store(repo), &oids[i], &obj) < 0 ||
		    obj.st_dev != st.st_dev || obj.st_ino != st.st_ino) {
			p4r_error_clear();
			continue;
		}
		if ((rc = guard(repo, &oids[i], a->rel, &ev, &damaged, NULL)) == 0 && damaged)
			rc = p4r_guard_log_push(&mine, &ev);
	}
	/* "already in the store" trusts that object: checked, restored from the file */
	if (rc == 0 && a->ins->existed &&
	    (rc = guard(repo, &a->ins->oid, NULL, &ev, &damaged, NULL)) == 0 && damaged &&
	    (rc = restore_from_file(repo, a, &ev)) == 0)
		rc = p4r_guard_log_push(&mine, &ev);
	if (rc == 0 && !a->in_folder)
		rc = pointer_damage(repo, a, &mine);
	if (rc == 0 && mine.n) {
		/* the add itself is fine: what is still damaged is reported, not an error */
		if (repair_from_default(repo, &mine, fn, payload) < 0)
			p4r_error_clear();
		for (i = 0; i < mine.n && rc == 0; i++)
			rc = p4r_guard_log_push(log, &mine.v[i]);
	}
	p4r_guard_log_clear(&mine);
	return rc;
}

void p4r_objguard_warn_link_hazard(p4r_repo *repo, const p4r_link_type *order, size_t n,
				   const p4r_op_report *report)
{
	static bool warned;
	p4r_link_type cfg[P4R_LINK_MAX];

	if (warned)
		return;
	if (n == 0) {
		if (p4r_repo_link_order(repo, cfg, &n) < 0) {
			p4r_error_clear();
			return;
		}
		order = cfg;
	}
	if (!p4r_objguard_hardlink_hazard(order, n))
		return;
	warned = true;
	p4r_op_warn(report, "core.cacheType hardlink as root: a write to a checked-out file changes "
		    "the stored version too (the read-only bit does not stop root); p4reg re-hashes "
		    "such objects before use, but only a remote or reflink/copy keeps a second copy");
}
