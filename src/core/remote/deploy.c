/* p4reg get (see deploy.h): the remote's event log replayed in memory, a
 * version resolved in it, its bytes downloaded into a cache or beside PATH,
 * verified, and renamed over PATH. No repository, registry or git. */
#include "p4reg/deploy.h"
#include "deploy_priv.h"
#include "p4reg/batch.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>
#include <cjson/cJSON.h>

/* Event ids are kept in blocks that never move (the id tree points in). */
#define UUID_BLOCK 4096
/* The stat record of a file changed this recently is not trusted: it may
 * change again within one timestamp tick (registry.c's stat cache, too). */
#define RACY_WINDOW_NS INT64_C(2000000000)
#define PLACED_MAX 8192

struct dver {
	p4r_oid oid;
	int64_t size;
	p4r_version_kind kind;
	p4r_stage stage;
	bool rolled_back;
	bool deleted;     /* a delete event (p4reg rm): it resolves to nothing */
};

struct dalias {
	char name[P4R_ALIAS_NAME_MAX + 1];
	size_t index;     /* the version it names, in v[] */
};

struct dmodel {
	char name[P4R_MODEL_NAME_MAX + 1]; /* first: the tree compares names */
	struct dver *v;                    /* v[i] is version i + 1 */
	size_t n, cap;
	struct dalias *aliases;            /* unordered; a model has few */
	size_t naliases, capaliases;
};

struct dobj {
	char hex[P4R_OID_HEXLEN + 1];
	int64_t size;
};

struct p4r_deploy_log {
	void *models;     /* tsearch tree of struct dmodel *, by name */
	void *objects;    /* of struct dobj *, by oid: the size every version agrees on */
	void *uuids;      /* of char *, into BLOCKS: the event ids applied */
	char (**blocks)[P4R_UUID_LEN + 1];
	size_t nblocks, used; /* USED: ids in the last block */
	int64_t seq;      /* the batch being applied, for messages */
	size_t nmodels;
};

/* ---- the replayed log ---- */

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct dmodel *)a)->name, ((const struct dmodel *)b)->name);
}

static int cmp_hex(const void *a, const void *b)
{
	return strcmp(((const struct dobj *)a)->hex, ((const struct dobj *)b)->hex);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void free_model(void *p)
{
	struct dmodel *m = p;

	free(m->v);
	free(m->aliases);
	free(m);
}

static void free_nothing(void *p)
{
	(void)p;
}

int p4r_deploy_log_new(p4r_deploy_log **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : p4r_error_set(P4R_ERROR, "out of memory");
}

void p4r_deploy_log_free(p4r_deploy_log *log)
{
	size_t i;

	if (!log)
		return;
	tdestroy(log->models, free_model);
	tdestroy(log->objects, free);
	tdestroy(log->uuids, free_nothing);
	for (i = 0; i < log->nblocks; i++)
		free(log->blocks[i]);
	free(log->blocks);
	free(log);
}

/* Records event id UUID: *FRESH false when it was applied before (the
 * registry skips such an event: published twice, or met on another remote). */
static int note_uuid(p4r_deploy_log *log, const char *uuid, bool *fresh)
{
	char *slot;
	void **node;

	if (log->nblocks == 0 || log->used == UUID_BLOCK) {
		void *blocks = realloc(log->blocks, (log->nblocks + 1) * sizeof(*log->blocks));

		if (!blocks)
			return p4r_error_set(P4R_ERROR, "out of memory");
		log->blocks = blocks;
		if (!(log->blocks[log->nblocks] = malloc(UUID_BLOCK * sizeof(**log->blocks))))
			return p4r_error_set(P4R_ERROR, "out of memory");
		log->nblocks++;
		log->used = 0;
	}
	slot = log->blocks[log->nblocks - 1][log->used];
	snprintf(slot, P4R_UUID_LEN + 1, "%s", uuid);
	if (!(node = tsearch(slot, &log->uuids, cmp_str)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	*fresh = *node == slot;
	if (*fresh)
		log->used++;
	return 0;
}

static struct dmodel *find_model(const p4r_deploy_log *log, const char *name)
{
	struct dmodel probe;
	void **node;

	snprintf(probe.name, sizeof(probe.name), "%s", name);
	node = tfind(&probe, &log->models, cmp_name);
	return node ? *node : NULL;
}

static int add_model(p4r_deploy_log *log, const char *name, struct dmodel **out)
{
	struct dmodel *m = calloc(1, sizeof(*m));

	if (!m)
		return p4r_error_set(P4R_ERROR, "out of memory");
	/* named before it goes into the tree, which is ordered by name */
	snprintf(m->name, sizeof(m->name), "%s", name);
	if (!tsearch(m, &log->models, cmp_name)) {
		free(m);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	log->nmodels++;
	*out = m;
	return 0;
}

/* One object, one size: the first register of an oid fixes it. */
static int check_object(p4r_deploy_log *log, const p4r_sync_event *e)
{
	struct dobj *o = malloc(sizeof(*o));
	void **node;

	if (!o)
		return p4r_error_set(P4R_ERROR, "out of memory");
	memcpy(o->hex, e->oid.hex, sizeof(o->hex));
	o->size = e->size;
	if (!(node = tsearch(o, &log->objects, cmp_hex))) {
		free(o);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	if (*node == o)
		return 0;
	free(o);
	o = *node;
	if (o->size != e->size)
		return p4r_error_set(P4R_EINTEGRITY, "remote log batch %lld says object %s of %s@%lld is "
				     "%lld bytes; an earlier version in the log has it as %lld bytes",
				     (long long)log->seq, e->oid.hex, e->model, (long long)e->version,
				     (long long)e->size, (long long)o->size);
	return 0;
}

/* A register continues its model's numbers in the log, without a gap. */
static int add_version(p4r_deploy_log *log, struct dmodel *m, const p4r_sync_event *e)
{
	int rc;

	if (e->version != (int64_t)m->n + 1)
		return p4r_error_set(P4R_EINTEGRITY, "remote log batch %lld registers %s@%lld, but the log's "
				     "next version of '%s' is %lld (a gap or a repeated number)",
				     (long long)log->seq, e->model, (long long)e->version, e->model,
				     (long long)(m->n + 1));
	if ((rc = check_object(log, e)) < 0)
		return rc;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 8;
		void *v = realloc(m->v, cap * sizeof(*m->v));

		if (!v)
			return p4r_error_set(P4R_ERROR, "out of memory");
		m->v = v;
		m->cap = cap;
	}
	m->v[m->n].oid = e->oid;
	m->v[m->n].size = e->size;
	m->v[m->n].kind = e->version_kind;
	m->v[m->n].stage = P4R_STAGE_DEVELOPMENT;
	m->v[m->n].rolled_back = false;
	m->v[m->n].deleted = false;
	m->n++;
	return 0;
}

/* The stage replay of registry/sync_sql.c's replay(), one event at a time. */
static void move_stage(struct dmodel *m, const p4r_sync_event *e)
{
	struct dver *v = &m->v[e->version - 1];
	p4r_stage to;
	size_t i;

	if (p4r_stage_parse(&to, e->to_stage) < 0) {
		p4r_error_clear();
		return;
	}
	if (to == P4R_STAGE_STAGING || to == P4R_STAGE_PRODUCTION)
		for (i = 0; i < m->n; i++)
			if (&m->v[i] != v && m->v[i].stage == to)
				m->v[i].stage = P4R_STAGE_ARCHIVED;
	v->stage = to;
	if (to == P4R_STAGE_PRODUCTION)
		v->rolled_back = false;
	else if (to == P4R_STAGE_ARCHIVED && !strcmp(e->kind, "rollback"))
		v->rolled_back = true;
}

/* The alias named NAME of M, or NULL. */
static struct dalias *find_alias(const struct dmodel *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->naliases; i++)
		if (!strcmp(m->aliases[i].name, name))
			return &m->aliases[i];
	return NULL;
}

/* Points alias NAME at version INDEX (a live one: the registry sets no
 * alias on a version deleted earlier in the log). */
static int set_alias(struct dmodel *m, const char *name, size_t index)
{
	struct dalias *a = find_alias(m, name);

	if (m->v[index].deleted)
		return 0;
	if (!a) {
		if (m->naliases == m->capaliases) {
			size_t cap = m->capaliases ? m->capaliases * 2 : 4;
			void *p = realloc(m->aliases, cap * sizeof(*m->aliases));

			if (!p)
				return p4r_error_set(P4R_ERROR, "out of memory");
			m->aliases = p;
			m->capaliases = cap;
		}
		a = &m->aliases[m->naliases++];
		snprintf(a->name, sizeof(a->name), "%s", name);
	}
	a->index = index;
	return 0;
}

/* Removes alias NAME, or every alias of version INDEX when NAME is NULL. */
static void drop_aliases(struct dmodel *m, const char *name, size_t index)
{
	size_t i = 0;

	while (i < m->naliases) {
		if (name ? !strcmp(m->aliases[i].name, name) : m->aliases[i].index == index)
			m->aliases[i] = m->aliases[--m->naliases];
		else
			i++;
	}
}

/* The alias and delete parts of registry/sync_sql.c's replay (tags and
 * descriptions resolve nothing here): a deleted version is archived and
 * loses its aliases; an alias event's detail is {"alias":NAME} (checked by
 * the decoder). */
static int replay_label(struct dmodel *m, const p4r_sync_event *e)
{
	size_t index = (size_t)e->version - 1;
	cJSON *doc;
	const cJSON *name;
	int rc = 0;

	if (!strcmp(e->kind, P4R_EVENT_DELETE)) {
		m->v[index].deleted = true;
		m->v[index].stage = P4R_STAGE_ARCHIVED;
		drop_aliases(m, NULL, index);
		return 0;
	}
	if (strcmp(e->kind, P4R_EVENT_ALIAS_SET) && strcmp(e->kind, P4R_EVENT_ALIAS_DELETE))
		return 0;
	doc = cJSON_Parse(e->detail);
	name = cJSON_GetObjectItemCaseSensitive(doc, "alias");
	if (!cJSON_IsString(name))
		rc = p4r_error_set(P4R_EINTEGRITY, "an alias event without its name");
	else if (!strcmp(e->kind, P4R_EVENT_ALIAS_DELETE))
		drop_aliases(m, name->valuestring, 0);
	else
		rc = set_alias(m, name->valuestring, index);
	cJSON_Delete(doc);
	return rc;
}

/* Metrics are not kept here, but a detail the registry would refuse to
 * replay makes fetch refuse the batch: so does get. */
static int check_metrics(const p4r_deploy_log *log, const p4r_sync_event *e)
{
	p4r_version v = { .number = e->version };
	int rc;

	snprintf(v.model, sizeof(v.model), "%s", e->model);
	if ((rc = p4r_metrics_replay_check(&v, e->detail)) == P4R_EINTEGRITY)
		rc = p4r_error_set(rc, "remote log batch %lld: %s", (long long)log->seq, p4r_error_message());
	return rc;
}

static int apply_one(p4r_deploy_log *log, const p4r_sync_event *e)
{
	struct dmodel *m;
	bool fresh = false;
	int rc;

	if ((rc = note_uuid(log, e->uuid, &fresh)) < 0 || !fresh)
		return rc;
	m = find_model(log, e->model);
	if (e->has_version) {
		if (!m && (rc = add_model(log, e->model, &m)) < 0)
			return rc;
		return add_version(log, m, e);
	}
	if (!m)
		return p4r_error_set(P4R_EINTEGRITY, "remote log batch %lld has an event for unknown model '%s'",
				     (long long)log->seq, e->model);
	if (e->version > (int64_t)m->n)
		return p4r_error_set(P4R_EINTEGRITY, "remote log batch %lld has a %s event for %s@%lld, which "
				     "the log never registered", (long long)log->seq, e->kind, e->model,
				     (long long)e->version);
	if (e->version > 0 && e->to_stage[0])
		move_stage(m, e);
	if (e->version > 0 && !strcmp(e->kind, "log-metric"))
		return check_metrics(log, e);
	if (e->version > 0)
		return replay_label(m, e);
	return 0;
}

int p4r_deploy_log_apply(p4r_deploy_log *log, int64_t seq, const p4r_sync_event *ev, size_t n)
{
	size_t i;
	int rc;

	log->seq = seq;
	for (i = 0; i < n; i++)
		if ((rc = apply_one(log, &ev[i])) < 0)
			return rc;
	return 0;
}

int p4r_deploy_log_read(p4r_deploy_log *log, p4r_remote *remote, int64_t *batches)
{
	p4r_sync_event *ev = NULL;
	char key[64], *text = NULL;
	size_t len = 0, n = 0;
	int64_t seq;
	int rc = 0;

	for (seq = 1; rc == 0; seq++) {
		p4r_remote_log_key(key, sizeof(key), seq);
		rc = remote->ops->get_small(remote, key, P4R_BATCH_MAX_BYTES, &text, &len);
		if (rc == P4R_ENOTFOUND) {
			p4r_error_clear();
			rc = 0;
			break;
		}
		if (rc == 0 && (rc = p4r_batch_decode(&ev, &n, key, text, len, seq)) == 0)
			rc = p4r_deploy_log_apply(log, seq, ev, n);
		p4r_sync_event_array_free(ev, n);
		free(text);
		ev = NULL;
		text = NULL;
		n = 0;
	}
	if (batches)
		*batches = seq - 1;
	if (rc == P4R_EINTEGRITY)
		rc = p4r_error_set(rc, "remote '%s': %s", remote->name, p4r_error_message());
	return rc;
}

static void version_out(p4r_deploy_version *out, const struct dmodel *m, size_t i)
{
	snprintf(out->model, sizeof(out->model), "%s", m->name);
	out->number = (int64_t)i + 1;
	out->oid = m->v[i].oid;
	out->size = m->v[i].size;
	out->kind = m->v[i].kind;
	out->stage = m->v[i].stage;
	out->rolled_back = m->v[i].rolled_back;
}

/* ---- every live version, for gc -r ---- */

struct each_live {
	p4r_deploy_live_fn fn;
	void *arg;
	int rc;
};

static void visit_live(const void *node, VISIT which, void *closure)
{
	const struct dmodel *m = *(struct dmodel *const *)node;
	struct each_live *e = closure;
	p4r_deploy_version v;
	size_t i;

	/* each node once: after its left subtree, or as a leaf */
	if ((which != postorder && which != leaf) || e->rc < 0)
		return;
	for (i = 0; i < m->n && e->rc == 0; i++) {
		if (m->v[i].deleted)
			continue;
		version_out(&v, m, i);
		e->rc = e->fn(&v, e->arg);
	}
}

int p4r_deploy_log_each_live(const p4r_deploy_log *log, p4r_deploy_live_fn fn, void *arg)
{
	struct each_live e = { fn, arg, 0 };

	twalk_r(log->models, visit_live, &e);
	return e.rc;
}

/* The highest live version of M in STAGE, or of any stage when STAGE is
 * P4R_STAGE_COUNT: *INDEX, false when there is none. */
static bool highest_live(const struct dmodel *m, p4r_stage stage, size_t *index)
{
	size_t i;

	for (i = m->n; i-- > 0;) {
		if (!m->v[i].deleted && (stage == P4R_STAGE_COUNT || m->v[i].stage == stage)) {
			*index = i;
			return true;
		}
	}
	return false;
}

static int resolve_number(const struct dmodel *m, int64_t number, size_t *index)
{
	if (number < 1 || number > (int64_t)m->n)
		return p4r_error_set(P4R_ENOTFOUND, "model '%s' has no version %lld", m->name,
				     (long long)number);
	if (m->v[number - 1].deleted)
		return p4r_error_set(P4R_ENOTFOUND, "version %lld of model '%s' was deleted (p4reg rm)",
				     (long long)number, m->name);
	*index = (size_t)number - 1;
	return 0;
}

int p4r_deploy_log_resolve(const p4r_deploy_log *log, const p4r_ref *ref, p4r_deploy_version *out)
{
	const struct dmodel *m = find_model(log, ref->model);
	const struct dalias *a;
	size_t i = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!m || m->n == 0)
		return p4r_error_set(P4R_ENOTFOUND, "unknown model '%s'", ref->model);
	switch (ref->kind) {
	case P4R_REF_NUMBER:
		rc = resolve_number(m, ref->number, &i);
		break;
	case P4R_REF_STAGE:
		/* the highest number in the stage: for staging and production the one holder */
		if (!highest_live(m, ref->stage, &i))
			rc = p4r_error_set(P4R_ENOTFOUND, "model '%s' has no version in %s", m->name,
					   p4r_stage_name(ref->stage));
		break;
	case P4R_REF_ALIAS:
		if ((a = find_alias(m, ref->alias)))
			i = a->index;
		else
			rc = p4r_error_set(P4R_ENOTFOUND, "model '%s' has no alias '%s'", m->name, ref->alias);
		break;
	default:
		if (!highest_live(m, P4R_STAGE_COUNT, &i))
			rc = p4r_error_set(P4R_ENOTFOUND, "model '%s' has no versions", m->name);
	}
	if (rc == 0)
		version_out(out, m, i);
	return rc;
}

int p4r_deploy_default_cache(char **out)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char *base = NULL;

	*out = NULL;
	/* XDG: a relative path in the variable is invalid and ignored */
	if (xdg && xdg[0] == '/')
		*out = p4r_path_join(xdg, "p4reg");
	else if (home && home[0] == '/' && (base = p4r_path_join(home, ".cache")))
		*out = p4r_path_join(base, "p4reg");
	else if (!home || home[0] != '/')
		return p4r_error_set(P4R_EUSAGE, "no cache folder: HOME and XDG_CACHE_HOME are unset; "
				     "give one with --cache DIR, or --no-cache");
	free(base);
	return *out ? 0 : p4r_error_set(P4R_ERROR, "out of memory");
}

/* ---- the destination ---- */


/* ---- the stat record: "PATH with this stat holds OID" ---- */

/* CACHE/placed/<sha256 of PATH's absolute name>, and that name. The name
 * is the folder get opened (D->dirfd), asked of the kernel, not D->dir
 * looked up again: a folder renamed or relinked since cannot lend its
 * record to another. */
int p4r_deploy_placed_names(char **file, char **abs, const char *cache_dir, const p4r_dest *d)
{
	char fdpath[64], *real, *dir = NULL;
	p4r_oid key;
	int rc = 0;

	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", d->dirfd);
	real = realpath(fdpath, NULL);

	*file = NULL;
	*abs = NULL;
	if (!real)
		return 0;
	if (!(*abs = p4r_path_join(real, d->base)) || !(dir = p4r_path_join(cache_dir, "placed")) ||
	    (rc = p4r_hash_buffer(&key, *abs, strlen(*abs))) < 0 || !(*file = p4r_path_join(dir, key.hex)))
		rc = rc < 0 ? rc : p4r_error_set(P4R_ERROR, "out of memory");
	free(real);
	free(dir);
	return rc;
}

static void stat_text(char *buf, size_t size, const struct stat *st)
{
	snprintf(buf, size, "%llu:%llu:%lld:%lld.%09ld:%lld.%09ld", (unsigned long long)st->st_dev,
		 (unsigned long long)st->st_ino, (long long)st->st_size, (long long)st->st_mtim.tv_sec,
		 st->st_mtim.tv_nsec, (long long)st->st_ctim.tv_sec, st->st_ctim.tv_nsec);
}

/* True when the record says PATH, with stat ST, holds OID. */
static bool placed_matches(const char *cache_dir, const p4r_dest *d, const struct stat *st,
			   const p4r_oid *oid)
{
	char *file = NULL, *abs = NULL, *text = NULL, now[128];
	const cJSON *j;
	cJSON *doc = NULL;
	size_t len;
	bool same = false;

	if (p4r_deploy_placed_names(&file, &abs, cache_dir, d) < 0 || !file ||
	    p4r_read_file(&text, &len, file, PLACED_MAX) < 0 || !(doc = cJSON_ParseWithLength(text, len)))
		goto done;
	stat_text(now, sizeof(now), st);
	same = (j = cJSON_GetObjectItemCaseSensitive(doc, "path")) && cJSON_IsString(j) &&
	       !strcmp(j->valuestring, abs) &&
	       (j = cJSON_GetObjectItemCaseSensitive(doc, "stat")) && cJSON_IsString(j) &&
	       !strcmp(j->valuestring, now) &&
	       (j = cJSON_GetObjectItemCaseSensitive(doc, "oid")) && cJSON_IsString(j) &&
	       !strcmp(j->valuestring, oid->hex);
done:
	p4r_error_clear();
	cJSON_Delete(doc);
	free(text);
	free(file);
	free(abs);
	return same;
}

/* Records that PATH, with stat ST, holds OID: only a save, so failures are
 * ignored; never for a file changed within the racy window. */
static void placed_record(const char *cache_dir, const p4r_dest *d, const struct stat *st,
			  const p4r_oid *oid)
{
	char *file = NULL, *abs = NULL, *dir = p4r_path_join(cache_dir, "placed"), *text = NULL, now[128];
	int64_t changed = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
	cJSON *doc = NULL;

	if (!dir || p4r_now_ms() * INT64_C(1000000) - changed < RACY_WINDOW_NS ||
	    p4r_deploy_placed_names(&file, &abs, cache_dir, d) < 0 || !file)
		goto done;
	stat_text(now, sizeof(now), st);
	if (!(doc = cJSON_CreateObject()) || !cJSON_AddStringToObject(doc, "path", abs) ||
	    !cJSON_AddStringToObject(doc, "stat", now) || !cJSON_AddStringToObject(doc, "oid", oid->hex) ||
	    !(text = cJSON_PrintUnformatted(doc)))
		goto done;
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

/* *SAME when PATH is a regular file holding V's bytes: the stat record
 * answers for a file that has not changed since it was hashed. */
static int dest_holds(const p4r_dest *d, const p4r_deploy_version *v, const char *cache_dir,
		      bool *same)
{
	struct stat st;
	p4r_oid got;
	uint64_t size;
	int fd, rc;

	*same = false;
	if (!d->regular || d->st.st_size != v->size)
		return 0;
	/* PATH as it is now, not as it was before the log was read (which a
	 * remote can make take long, and another get may run meanwhile) */
	fd = openat(d->dirfd, d->base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return 0;  /* gone or swapped since: it is replaced */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != v->size) {
		close(fd);
		return 0;
	}
	if (cache_dir && placed_matches(cache_dir, d, &st, &v->oid)) {
		close(fd);
		*same = true;
		return 0;
	}
	rc = p4r_hash_fd(&got, &size, fd);
	close(fd);
	if (rc < 0)
		return rc;
	*same = p4r_oid_equal(&got, &v->oid) && (int64_t)size == v->size;
	if (*same && cache_dir)
		placed_record(cache_dir, d, &st, &v->oid);
	return 0;
}

/* ---- the bytes ---- */

/* Appends "; 'PATH' was not changed" to the message of a failure RC. */
static int untouched(int rc, const p4r_dest *d)
{
	return p4r_error_set(rc, "%s; '%s' was not changed", p4r_error_message(), d->display);
}

/* The cache folder: made 0700 when missing; one that someone else could
 * write is refused, since what is in it reaches PATH by reflink unhashed. */
static int cache_open(p4r_store **out, const char *dir)
{
	struct stat st;
	int rc;

	*out = NULL;
	if ((rc = p4r_mkdir_p(dir, 0700)) < 0)
		return rc;
	if (stat(dir, &st) < 0)
		return p4r_error_errno("cannot stat cache folder '%s'", dir);
	if (!S_ISDIR(st.st_mode))
		return p4r_error_set(P4R_ERROR, "cache '%s' is not a folder", dir);
	if (st.st_uid != geteuid() || (st.st_mode & 022))
		return p4r_error_set(P4R_EREFUSED, "cache folder '%s' is owned by another user or writable by "
				     "group or others, and its objects are trusted; 'chmod 700' it as its owner, "
				     "or give another with --cache DIR", dir);
	if ((rc = p4r_store_init(dir)) < 0)
		return rc;
	return p4r_store_open(out, dir);
}

/* *HAVE when the cache holds V's object with V's size. One of another
 * size is removed only when its bytes do not hash to its oid (damaged):
 * when they do, the remote's log is what is wrong, and the user's cache
 * is not emptied on its word (exit 4). */
int p4r_deploy_cache_has(p4r_store *cache, const p4r_deploy_version *v, bool *have)
{
	char path[PATH_MAX];
	struct stat st;
	int rc;

	*have = false;
	if ((rc = p4r_store_object_path(cache, &v->oid, path, sizeof(path))) < 0)
		return rc;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : p4r_error_errno("cannot stat '%s'", path);
	if (S_ISREG(st.st_mode) && st.st_size == v->size) {
		*have = true;
		return 0;
	}
	if (S_ISREG(st.st_mode) && (rc = p4r_store_verify(cache, &v->oid)) != P4R_EINTEGRITY) {
		if (rc < 0)
			return rc;
		return p4r_error_set(P4R_EINTEGRITY, "the remote's log records %s@%lld as %lld bytes, "
				     "but its object %.12s is %lld bytes (the cached copy hashes to its "
				     "oid): the log is wrong; nothing was changed", v->model,
				     (long long)v->number, (long long)v->size, v->oid.hex,
				     (long long)st.st_size);
	}
	p4r_error_clear();
	if (unlink(path) < 0)
		return p4r_error_errno("cannot remove the damaged cached object '%s'", path);
	return 0;
}

/* Remotes report byte increments (one call at a time); the caller's
 * progress gets the bytes so far and the version's size. */
struct sum_progress {
	const p4r_get_opts *opts;
	uint64_t done, total;
};

static void sum_progress(uint64_t delta, uint64_t total, void *payload)
{
	struct sum_progress *sp = payload;

	(void)total;
	sp->done += delta;
	if (sp->opts->count) {
		p4r_progress p = { .label = "get", .has_bytes = true, .bytes = sp->done, .bytes_total = sp->total };

		sp->opts->count(&p, sp->opts->payload);
	} else {
		sp->opts->progress(sp->done, sp->total, sp->opts->payload);
	}
}

/* V's object into FD (and FD2, unless -1, from the same read), verified. */
static int download(p4r_remote *remote, const p4r_deploy_version *v, int fd, int fd2, const char *tmp,
		    const p4r_get_opts *opts)
{
	struct sum_progress sp = { .opts = opts, .total = (uint64_t)v->size };

	return p4r_remote_get_verified_tee(remote, &v->oid, v->size, fd, fd2, tmp,
					   opts->progress || opts->count ? sum_progress : NULL, &sp);
}

/* Downloads V's object into the cache, verified before it is placed. */
int p4r_deploy_cache_fill(p4r_remote *remote, p4r_store *cache, const char *cache_dir,
		      const p4r_deploy_version *v, const p4r_get_opts *opts)
{
	char *tmp_dir = p4r_path_join(cache_dir, "tmp"), *tmp = NULL;
	int fd = -1, rc;

	if (!tmp_dir)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if ((rc = p4r_mkstemp_in(&fd, &tmp, tmp_dir, "get")) == 0 &&
	    (rc = download(remote, v, fd, -1, tmp, opts)) == 0)
		rc = p4r_store_place(cache, &fd, &tmp, &v->oid);
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(tmp_dir);
	return rc;
}

/* Without a cache: downloaded beside PATH, verified, renamed over it. */
int p4r_deploy_place_direct(p4r_remote *remote, const p4r_dest *d, const p4r_deploy_version *v,
			const p4r_get_opts *opts, int mode)
{
	char *prefix = NULL, *tmp = NULL;
	int fd = -1, rc;

	if (asprintf(&prefix, "%s.p4reg-tmp", d->base) < 0)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if ((rc = p4r_mkstemp_at(&fd, &tmp, d->dirfd, prefix)) == 0 &&
	    (rc = download(remote, v, fd, -1, tmp, opts)) == 0)
		rc = p4r_replace_at(d->dirfd, &fd, &tmp, d->base, mode, d->display);
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlinkat(d->dirfd, tmp, 0);
	free(tmp);
	free(prefix);
	return rc;
}

/* From the cache to PATH: a reflink where the file system shares blocks,
 * else a copy hashed while written. Never a hard link: a process writing
 * the deployed file would write into the cache. A copy that finds the
 * cached object corrupt removes it, so the next get downloads it again. */
int p4r_deploy_place_from_cache(p4r_store *cache, const p4r_dest *d, const p4r_deploy_version *v,
			    int mode, p4r_link_type *used)
{
	static const p4r_link_type order[] = { P4R_LINK_REFLINK, P4R_LINK_COPY };
	char path[PATH_MAX];
	int rc;

	rc = p4r_store_checkout_mode(cache, &v->oid, d->dirfd, d->base, d->display, mode, order, 2, used,
				     NULL, NULL);
	if (rc != P4R_EINTEGRITY)
		return rc;
	if (p4r_store_object_path(cache, &v->oid, path, sizeof(path)) == 0)
		unlink(path);
	return p4r_error_set(rc, "cached %s (removed from the cache; run get again to download it)",
			     p4r_error_message());
}

/* Where PATH's folder cannot clone the cache's files (a FICLONE of the
 * empty download says so) and the remote can tee, the download writes the
 * cache's object and PATH's temporary file from one read: *DONE, the object
 * placed in the cache, then the file renamed over PATH; each written once,
 * nothing read back. Otherwise nothing is done. */
static int cache_fill_tee(p4r_remote *remote, p4r_store *cache, const char *cache_dir, const p4r_dest *d,
			  const p4r_deploy_version *v, const p4r_get_opts *opts, int mode, bool *done)
{
	char *tmp_dir = NULL, *tmp = NULL, *prefix = NULL, *tmp2 = NULL;
	int fd = -1, fd2 = -1, rc;

	*done = false;
	if (!remote->ops->get_file_tee)
		return 0;
	if (!(tmp_dir = p4r_path_join(cache_dir, "tmp")) || asprintf(&prefix, "%s.p4reg-tmp", d->base) < 0) {
		prefix = NULL;
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	if ((rc = p4r_mkstemp_in(&fd, &tmp, tmp_dir, "get")) < 0 ||
	    (rc = p4r_mkstemp_at(&fd2, &tmp2, d->dirfd, prefix)) < 0 || ioctl(fd2, FICLONE, fd) == 0)
		goto done;
	if ((rc = download(remote, v, fd, fd2, tmp, opts)) == 0 &&
	    (rc = p4r_store_place(cache, &fd, &tmp, &v->oid)) == 0 &&
	    (rc = p4r_replace_at(d->dirfd, &fd2, &tmp2, d->base, mode, d->display)) == 0)
		*done = true;
done:
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
	if (fd2 >= 0)
		close(fd2);
	if (tmp2)
		unlinkat(d->dirfd, tmp2, 0);
	free(tmp);
	free(tmp2);
	free(prefix);
	free(tmp_dir);
	return rc;
}

int p4r_deploy_cache_fill_place(p4r_remote *remote, p4r_store *cache, const char *cache_dir,
				const p4r_dest *d, const p4r_deploy_version *v, const p4r_get_opts *opts,
				int mode, p4r_link_type *used)
{
	bool done = false;
	int rc;

	if ((rc = cache_fill_tee(remote, cache, cache_dir, d, v, opts, mode, &done)) < 0)
		return rc;
	if (done) {
		*used = P4R_LINK_COPY;
		return 0;
	}
	if ((rc = p4r_deploy_cache_fill(remote, cache, cache_dir, v, opts)) < 0)
		return rc;
	return p4r_deploy_place_from_cache(cache, d, v, mode, used);
}

static int get_bytes(p4r_remote *remote, const p4r_dest *d, const p4r_get_opts *opts,
		     p4r_store *cache, p4r_get_result *out)
{
	const p4r_deploy_version *v = &out->version;
	bool have = false;
	int rc;

	if (!cache)
		return p4r_deploy_place_direct(remote, d, v, opts, DEST_MODE);
	if ((rc = p4r_deploy_cache_has(cache, v, &have)) < 0)
		return rc;
	out->cached = have;
	if (!have)
		return p4r_deploy_cache_fill_place(remote, cache, opts->cache_dir, d, v, opts, DEST_MODE, &out->link);
	return p4r_deploy_place_from_cache(cache, d, v, DEST_MODE, &out->link);
}

int p4r_deploy_get(p4r_remote *remote, const p4r_ref *ref, const p4r_get_opts *opts,
		   p4r_get_result *out)
{
	p4r_deploy_log *log = NULL;
	p4r_store *cache = NULL;
	p4r_dest d;
	bool same = false;
	int rc;

	memset(out, 0, sizeof(*out));
	out->link = P4R_LINK_COPY;
	/* everything local is checked before the remote is asked anything */
	if ((rc = p4r_dest_open(&d, opts->dest)) < 0 ||
	    (opts->cache_dir && (rc = cache_open(&cache, opts->cache_dir)) < 0) ||
	    (rc = p4r_deploy_log_new(&log)) < 0)
		goto done;
	if ((rc = p4r_deploy_log_read(log, remote, &out->batches)) < 0) {
		rc = untouched(rc, &d);
		goto done;
	}
	if ((rc = p4r_deploy_log_resolve(log, ref, &out->version)) < 0) {
		if (rc == P4R_ENOTFOUND)
			rc = p4r_error_set(rc, out->batches ? "%s on remote '%s'" :
					   "%s: remote '%s' has no event log (nothing was pushed to it)",
					   p4r_error_message(), remote->name);
		goto done;
	}
	/* a folder version's object is its manifest: never written as PATH */
	if (out->version.kind == P4R_KIND_DIR) {
		rc = p4r_deploy_get_dir(remote, &d, opts, cache, out);
		goto done;
	}
	if (d.isdir) {
		rc = p4r_error_set(P4R_EUSAGE, "'%s' is a folder; give the path of the file to write", d.display);
		goto done;
	}
	if ((rc = dest_holds(&d, &out->version, opts->cache_dir, &same)) < 0 || same)
		goto done;
	if ((rc = get_bytes(remote, &d, opts, cache, out)) < 0) {
		rc = untouched(rc, &d);
		goto done;
	}
	out->changed = true;
done:
	p4r_dest_close(&d);
	p4r_store_free(cache);
	p4r_deploy_log_free(log);
	return rc;
}
