/* Objects on demand: download what a command needs (see ondemand.h). */
#include "p4reg/ondemand.h"
#include "p4reg/error.h"
#include "p4reg/manifest.h"
#include "p4reg/remote.h"
#include "p4reg/version_objects.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int p4r_ondemand_config(p4r_repo *repo, p4r_ondemand *o)
{
	bool offline = false;
	int rc;

	if (o->offline)
		return 0;
	/* the user's own setting: a clone's config must not stop downloads
	 * (nor hide lost objects from fsck) */
	if ((rc = p4r_config_get_bool_scope(p4r_repo_config(repo), P4R_CONFIG_TRUSTED, "core.offline",
					    false, &offline)) < 0)
		return rc;
	o->offline = offline;
	return 0;
}

/* The first of V the store lacks, or NULL. */
static const p4r_version *first_missing(p4r_repo *repo, const p4r_version *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!p4r_store_has(p4r_repo_store(repo), &v[i].oid))
			return &v[i];
	return NULL;
}

static int refuse_offline(const p4r_version *v)
{
	return p4r_error_set(P4R_ENOTFOUND, "object %.12s of '%s@%lld' is not in the local store, "
			     "and offline (--offline or core.offline) nothing is downloaded; run "
			     "'p4reg pull %s@%lld' when the remote can be reached", v->oid.hex, v->model,
			     (long long)v->number, v->model, (long long)v->number);
}

static int no_remote(const p4r_version *v, const char *name)
{
	char why[128];

	if (name)
		snprintf(why, sizeof(why), "there is no remote named '%s'", name);
	else
		snprintf(why, sizeof(why), "no remote is configured");
	return p4r_error_set(P4R_ENOTFOUND, "object %.12s of '%s@%lld' is not in the local store and "
			     "cannot be downloaded: %s; add the remote that has it ('p4reg remote add "
			     "NAME URL'), or run 'p4reg push' on the machine that added %s@%lld",
			     v->oid.hex, v->model, (long long)v->number, why, v->model,
			     (long long)v->number);
}

/* After a download that stopped: the message names the version the remote
 * lacks, when that is why. */
static int explain(p4r_repo *repo, const p4r_remote *r, const p4r_version *v, size_t n, int rc)
{
	const p4r_version *m;

	if (rc != P4R_ENOTFOUND || !(m = first_missing(repo, v, n)))
		return rc;
	return p4r_error_set(P4R_ENOTFOUND, "object %.12s of '%s@%lld' is neither in the local store "
			     "nor on remote '%s' (%s); run 'p4reg push' on the machine that added "
			     "%s@%lld", m->oid.hex, m->model, (long long)m->number, r->name, r->url,
			     m->model, (long long)m->number);
}

/* How many distinct objects of V the store already has. */
static size_t count_present(p4r_repo *repo, const p4r_version *v, size_t n)
{
	size_t i, k, count = 0;

	for (i = 0; i < n; i++) {
		for (k = 0; k < i && !p4r_oid_equal(&v[k].oid, &v[i].oid); k++)
			;
		if (k == i && p4r_store_has(p4r_repo_store(repo), &v[i].oid))
			count++;
	}
	return count;
}

/* Why LOG's damaged objects did not come back, in a few words, for their
 * message (the full error of the attempt follows when it says more). */
static void short_why(char *why, size_t sz, const p4r_ondemand *o, const p4r_remote *r, int rc)
{
	if (o->offline)
		snprintf(why, sz, "offline: --offline or core.offline");
	else if (!r && rc == P4R_ENOTFOUND)
		snprintf(why, sz, o->remote ? "there is no remote named '%s'" : "no remote is configured",
			 o->remote);
	else if (r && rc == P4R_ENOTFOUND)
		snprintf(why, sz, "remote '%s' does not have it", r->name);
	else
		snprintf(why, sz, "%s", p4r_error_message());
}

/* Fetches from O's remote (*R, opened here; NULL when it cannot be) the
 * objects of V the store lacks (MISSING is the first), listing them in OIDS
 * and SIZES (room for N each); adds the counts to GOT (nullable). */
static int fetch_missing(p4r_repo *repo, const p4r_ondemand *o, const p4r_version *v, size_t n,
			 const p4r_version *missing, p4r_oid *oids, int64_t *sizes, p4r_remote **r,
			 p4r_sync_result *got)
{
	p4r_sync_result res = { 0 };
	size_t i, k = 0;
	int rc;

	rc = p4r_remote_open(r, p4r_repo_config(repo), p4r_repo_meta(repo), o->remote);
	if (rc == P4R_ENOTFOUND)
		rc = no_remote(missing, o->remote);
	if (rc < 0)
		return rc;
	(*r)->tee = o->tee;
	for (i = 0; i < n; i++) {
		if (p4r_store_has(p4r_repo_store(repo), &v[i].oid))
			continue;
		oids[k] = v[i].oid;
		sizes[k++] = v[i].size;
	}
	rc = p4r_sync_fetch_objects(repo, *r, oids, sizes, k, o->progress, &res);
	/* the download hashed them: their fingerprints need no second read */
	if (rc == 0)
		rc = p4r_objguard_downloaded(repo, oids, k);
	rc = explain(repo, *r, v, n, rc);
	if (rc == 0 && got) {
		got->objects_received += res.objects_received;
		got->bytes_received += res.bytes_received;
		got->objects_present += res.objects_present;
	}
	p4r_sync_result_clear(&res);
	return rc;
}

/* Settles the damaged objects LOG found (p4r_objguard_settle), with why
 * they did not come back from R (nullable) when the fetch failed with RC.
 * Returns the outcome: the damaged version's error (exit 4) wins over RC. */
static int settle_damage(p4r_repo *repo, const p4r_ondemand *o, p4r_guard_log *log,
			 const p4r_remote *r, int rc)
{
	char why[512] = "", msg[1024] = "";
	int src;

	if (log->n == 0)
		return rc;
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "%s", p4r_error_message());
		short_why(why, sizeof(why), o, r, rc);
	}
	src = p4r_objguard_settle(repo, log, r ? r->name : NULL, why, o->on_damage, o->damage_payload);
	if (src < 0)
		return src;
	if (rc < 0)
		return p4r_error_set(rc, "%s", msg);
	return rc;
}

/* One level of objects: V's own objects (files, folders' manifests). */
static int fetch_level(p4r_repo *repo, const p4r_ondemand *o, const p4r_version *v, size_t n,
		       p4r_sync_result *got)
{
	const p4r_version *missing;
	p4r_guard_log log = { 0 };
	p4r_remote *r = NULL;
	p4r_oid *oids = NULL;
	int64_t *sizes = NULL;
	size_t i;
	int rc;

	oids = calloc(n + 1, sizeof(*oids));
	sizes = calloc(n + 1, sizeof(*sizes));
	if (!oids || !sizes) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++)
		oids[i] = v[i].oid;
	/* what the store has is checked before it is trusted: a damaged
	 * object leaves it here and is fetched like a missing one */
	if ((rc = p4r_objguard_scan(repo, oids, n, &log)) < 0)
		goto done;
	if (got)
		got->objects_present += count_present(repo, v, n);
	if (!(missing = first_missing(repo, v, n)))
		goto done;
	if (o->offline)
		rc = refuse_offline(missing);
	else
		rc = fetch_missing(repo, o, v, n, missing, oids, sizes, &r, got);
	rc = settle_damage(repo, o, &log, r, rc);
done:
	p4r_guard_log_clear(&log);
	free(oids);
	free(sizes);
	p4r_remote_free(r);
	return rc;
}

/* Appends a shallow copy of V naming the file OID (SIZE) to *OUT. */
static int add_file(p4r_version **out, size_t *n, size_t *cap, const p4r_version *v,
		    const p4r_oid *oid, int64_t size)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		p4r_version *p = realloc(*out, ncap * sizeof(*p));

		if (!p)
			return p4r_error_set(P4R_ERROR, "out of memory");
		*out = p;
		*cap = ncap;
	}
	(*out)[*n] = *v;
	(*out)[*n].oid = *oid;
	(*out)[*n].size = size;
	(*out)[(*n)++].kind = P4R_KIND_FILE;
	return 0;
}

/* The files of V's folder versions as versions of their own (shallow
 * copies: the strings stay V's), so messages name the folder version.
 * LATER (nullable) marks the folders whose manifest is not here yet;
 * without it they are an error. */
static int dir_files(p4r_repo *repo, const p4r_version *v, size_t n, bool *later,
		     p4r_version **out, size_t *nout)
{
	size_t i, k, cap = 0;
	int rc = 0;

	*out = NULL;
	*nout = 0;
	for (i = 0; i < n && rc == 0; i++) {
		p4r_objects obj = { 0 };
		bool incomplete = false;

		if (v[i].kind != P4R_KIND_DIR || (later && later[i]))
			continue;
		rc = p4r_version_objects(repo, &v[i], &obj, &incomplete);
		if (rc == 0 && incomplete && !later)
			rc = p4r_error_set(P4R_ENOTFOUND, "the manifest of '%s@%lld' is not in the local "
					   "store", v[i].model, (long long)v[i].number);
		if (incomplete && later)
			later[i] = true;
		for (k = 1; rc == 0 && k < obj.n; k++)
			rc = add_file(out, nout, &cap, &v[i], &obj.oid[k], obj.size[k]);
		p4r_objects_clear(&obj);
	}
	return rc;
}

/* V (N) and FILES (NFILES) in one array (shallow) in *ALL. */
static int join(const p4r_version *v, size_t n, const p4r_version *files, size_t nfiles,
		p4r_version **all)
{
	if (!(*all = malloc((n + nfiles + 1) * sizeof(**all))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	memcpy(*all, v, n * sizeof(*v));
	if (nfiles)
		memcpy(*all + n, files, nfiles * sizeof(*files));
	return 0;
}

/* The folders whose manifest came with this download (LATER): their files
 * came with it (p4r_sync_fetch_objects); they pass the guard here. */
static int fetch_later(p4r_repo *repo, const p4r_ondemand *o, const p4r_version *v, size_t n,
		       const bool *later)
{
	p4r_version *sub = NULL, *files = NULL;
	size_t i, k = 0, nfiles = 0;
	int rc;

	if (!(sub = malloc((n + 1) * sizeof(*sub))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < n; i++)
		if (later[i])
			sub[k++] = v[i];
	if ((rc = dir_files(repo, sub, k, NULL, &files, &nfiles)) == 0 && nfiles)
		rc = fetch_level(repo, o, files, nfiles, NULL);
	free(sub);
	free(files);
	return rc;
}

int p4r_ondemand_fetch(p4r_repo *repo, const p4r_ondemand *o, const p4r_version *v, size_t n,
		       p4r_sync_result *got)
{
	p4r_version *files = NULL, *all = NULL;
	size_t nfiles = 0;
	bool *later = calloc(n + 1, sizeof(*later));
	int rc;

	if (!later)
		return p4r_error_set(P4R_ERROR, "out of memory");
	/* the files of folders whose manifest is here travel with the rest;
	 * a manifest downloaded now brings its files (p4r_sync_fetch_objects) */
	if ((rc = dir_files(repo, v, n, later, &files, &nfiles)) < 0 ||
	    (rc = join(v, n, files, nfiles, &all)) < 0 ||
	    (rc = fetch_level(repo, o, all, n + nfiles, got)) < 0)
		goto done;
	rc = fetch_later(repo, o, v, n, later);
done:
	free(later);
	free(files); /* shallow copies */
	free(all);
	return rc;
}

/* Adds V's objects the store lacks to MISSING: its own, and a folder's
 * files when its manifest can be read without a write (else *INCOMPLETE). */
static int plan_version(p4r_repo *repo, const p4r_version *v, p4r_objects *missing, bool *incomplete)
{
	const p4r_store *store = p4r_repo_store(repo);
	p4r_manifest m = { 0 };
	char what[P4R_MODEL_NAME_MAX + 64];
	size_t i;
	int rc = 0;

	if (!p4r_store_has(store, &v->oid) && (rc = p4r_objects_add(missing, &v->oid, v->size)) < 0)
		return rc;
	if (v->kind != P4R_KIND_DIR)
		return 0;
	snprintf(what, sizeof(what), "manifest of %s@%lld", v->model, (long long)v->number);
	rc = p4r_manifest_peek(repo, &v->oid, what, &m);
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		*incomplete = true;
		return 0;
	}
	for (i = 0; rc == 0 && i < m.n; i++)
		if (!p4r_store_has(store, &m.v[i].oid))
			rc = p4r_objects_add(missing, &m.v[i].oid, m.v[i].size);
	p4r_manifest_clear(&m);
	return rc;
}

int p4r_ondemand_plan(p4r_repo *repo, const p4r_ondemand *o, const p4r_version *v, size_t n,
		      p4r_objects *missing, bool *incomplete, char *remote, size_t remotesz)
{
	p4r_remote *r = NULL;
	p4r_version first;
	size_t i;
	int rc = 0;

	*incomplete = false;
	if (remotesz)
		remote[0] = '\0';
	for (i = 0; i < n && rc == 0; i++)
		rc = plan_version(repo, &v[i], missing, incomplete);
	if (rc < 0 || missing->n == 0)
		return rc;
	p4r_objects_unique(missing);
	first = v[0];  /* shallow: the messages name the version and the first object */
	first.oid = missing->oid[0];
	if (o->offline)
		return refuse_offline(&first);
	rc = p4r_remote_open(&r, p4r_repo_config(repo), p4r_repo_meta(repo), o->remote);
	if (rc == P4R_ENOTFOUND)
		return no_remote(&first, o->remote);
	if (rc == 0 && remotesz)
		snprintf(remote, remotesz, "%s", r->name);
	p4r_remote_free(r);
	return rc;
}
