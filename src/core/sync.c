/* The sync protocol over any remote (docs/remotes.md): batches of events
 * encoded and strictly decoded with cJSON, fetch (apply + rebase + pointer
 * rewrite), verified parallel object transfers, and push (objects, then an
 * atomic append to the log, retried after a rebase when another writer won). */
#include "p4reg/sync.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/pointer.h"
#include "p4reg/worktree.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
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

#define BATCH_FORMAT 1
#define MAX_PUSH_ATTEMPTS 50
#define MAX_SIZE (INT64_C(1) << 50)
#define MAX_TIME (INT64_C(1) << 53)
#define MAX_VERSION INT64_C(2147483647)

void p4r_sync_result_clear(p4r_sync_result *r)
{
	size_t i;

	if (!r)
		return;
	free(r->renumbered);
	for (i = 0; i < r->nrewritten; i++)
		free(r->rewritten[i]);
	free(r->rewritten);
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

/* ---- batches: encoding ---- */

static cJSON *event_json(const p4r_sync_event *e)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "id", e->uuid);
	cJSON_AddStringToObject(o, "model", e->model);
	cJSON_AddNumberToObject(o, "version", (double)e->version);
	cJSON_AddStringToObject(o, "kind", e->kind);
	cJSON_AddStringToObject(o, "from", e->from_stage);
	cJSON_AddStringToObject(o, "to", e->to_stage);
	cJSON_AddBoolToObject(o, "forced", e->forced);
	cJSON_AddStringToObject(o, "actor", e->actor ? e->actor : "");
	cJSON_AddNumberToObject(o, "time", (double)e->at_ms);
	cJSON_AddStringToObject(o, "reason", e->reason ? e->reason : "");
	if (e->detail)
		cJSON_AddStringToObject(o, "detail", e->detail);
	else
		cJSON_AddNullToObject(o, "detail");
	if (e->has_version) {
		cJSON_AddStringToObject(o, "oid", e->oid.hex);
		cJSON_AddNumberToObject(o, "size", (double)e->size);
		cJSON_AddStringToObject(o, "author", e->author);
		cJSON_AddNumberToObject(o, "created", (double)e->created_ms);
		cJSON_AddStringToObject(o, "message", e->message);
		cJSON_AddStringToObject(o, "path", e->path);
		if (e->git_commit)
			cJSON_AddStringToObject(o, "git_commit", e->git_commit);
		if (e->git_branch)
			cJSON_AddStringToObject(o, "git_branch", e->git_branch);
		cJSON_AddNumberToObject(o, "git_dirty", e->git_dirty);
	}
	return o;
}

/* The batch text (malloc'd by cJSON: cJSON_free). */
static char *batch_encode(int64_t seq, const p4r_sync_event *ev, size_t n, const char *actor)
{
	cJSON *doc = cJSON_CreateObject(), *arr;
	char *text = NULL;
	size_t i;

	if (!doc)
		return NULL;
	cJSON_AddNumberToObject(doc, "format", BATCH_FORMAT);
	cJSON_AddNumberToObject(doc, "seq", (double)seq);
	cJSON_AddNumberToObject(doc, "parent", (double)(seq - 1));
	cJSON_AddStringToObject(doc, "pushed_by", actor ? actor : "");
	cJSON_AddNumberToObject(doc, "time", (double)p4r_now_ms());
	arr = cJSON_AddArrayToObject(doc, "events");
	for (i = 0; arr && i < n; i++) {
		cJSON *o = event_json(&ev[i]);

		if (!o)
			goto done;
		cJSON_AddItemToArray(arr, o);
	}
	if (arr)
		text = cJSON_PrintUnformatted(doc);
done:
	cJSON_Delete(doc);
	return text;
}

/* ---- batches: strict decoding (hostile input) ---- */

struct decoder {
	const char *key;   /* the batch's key, for messages */
	size_t index;      /* the event being read */
};

static int bad(const struct decoder *d, const char *what)
{
	return p4r_error_set(P4R_EINTEGRITY, "invalid event batch '%s': event %zu: %s",
			     d->key, d->index, what);
}

static bool int_value(const cJSON *j, int64_t min, int64_t max, int64_t *out)
{
	double v;

	if (!cJSON_IsNumber(j))
		return false;
	v = j->valuedouble;
	if (!(v >= (double)min && v <= (double)max) || floor(v) != v)
		return false;
	*out = (int64_t)v;
	return true;
}

/* A string with no NUL, at most MAX bytes; NULL when absent or wrong. */
static const char *str_value(const cJSON *j, size_t max)
{
	if (!cJSON_IsString(j) || !j->valuestring || strlen(j->valuestring) > max)
		return NULL;
	return j->valuestring;
}

static bool uuid_valid(const char *s)
{
	size_t i;

	if (!s || strlen(s) != P4R_UUID_LEN)
		return false;
	for (i = 0; i < P4R_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
			return false;
		}
	}
	return true;
}

static bool kind_valid(const char *s)
{
	size_t i;

	if (!s || !s[0] || strlen(s) >= 32)
		return false;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '-' || s[i] == '_'))
			return false;
	return true;
}

/* A repository-relative path: '/'-separated, no empty, "." or ".."
 * component, nothing inside .p4reg or .git, no control characters. */
static bool relpath_valid(const char *p)
{
	const char *seg = p;
	size_t i, n;

	if (!p || !p[0] || p[0] == '/' || strlen(p) > P4R_SYNC_MAX_PATH)
		return false;
	for (i = 0;; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '/' || c == '\0') {
			n = (size_t)(p + i - seg);
			if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
				return false;
			if (seg == p && ((n == 6 && !memcmp(seg, ".p4reg", 6)) || (n == 4 && !memcmp(seg, ".git", 4))))
				return false;
			if (!c)
				return true;
			seg = p + i + 1;
			continue;
		}
		if (c < 0x20 || c == 0x7f || c == '\\')
			return false;
	}
}

static bool stage_ok(const char *s)
{
	p4r_stage st;

	if (!s[0])
		return true;
	if (p4r_stage_parse(&st, s) < 0) {
		p4r_error_clear();
		return false;
	}
	return true;
}

static int dup_str(char **out, const char *s)
{
	*out = NULL;
	if (!s)
		return 0;
	if (!(*out = strdup(s)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	return 0;
}

static const char *const event_keys[] = {
	"id", "model", "version", "kind", "from", "to", "forced", "actor", "time", "reason",
	"detail", "oid", "size", "author", "created", "message", "path", "git_commit",
	"git_branch", "git_dirty", NULL
};

static int decode_event(const struct decoder *d, const cJSON *o, p4r_sync_event *e)
{
	const cJSON *j;
	const char *s, *from, *to;
	int64_t v;
	size_t i;

	memset(e, 0, sizeof(*e));
	if (!cJSON_IsObject(o))
		return bad(d, "not an object");
	for (j = o->child; j; j = j->next) {
		bool known = false;

		for (i = 0; event_keys[i]; i++)
			known = known || (j->string && !strcmp(j->string, event_keys[i]));
		if (!known)
			return bad(d, "unknown field");
	}
	s = str_value(cJSON_GetObjectItemCaseSensitive(o, "id"), P4R_UUID_LEN);
	if (!uuid_valid(s))
		return bad(d, "malformed id");
	memcpy(e->uuid, s, P4R_UUID_LEN + 1);
	s = str_value(cJSON_GetObjectItemCaseSensitive(o, "model"), P4R_MODEL_NAME_MAX);
	if (!s || !p4r_model_name_valid(s))
		return bad(d, "invalid model name");
	snprintf(e->model, sizeof(e->model), "%s", s);
	if (!int_value(cJSON_GetObjectItemCaseSensitive(o, "version"), 0, MAX_VERSION, &e->version))
		return bad(d, "invalid version number");
	s = str_value(cJSON_GetObjectItemCaseSensitive(o, "kind"), 31);
	if (!kind_valid(s))
		return bad(d, "invalid kind");
	snprintf(e->kind, sizeof(e->kind), "%s", s);
	from = str_value(cJSON_GetObjectItemCaseSensitive(o, "from"), 15);
	to = str_value(cJSON_GetObjectItemCaseSensitive(o, "to"), 15);
	if (!from || !to || !stage_ok(from) || !stage_ok(to))
		return bad(d, "invalid stage");
	snprintf(e->from_stage, sizeof(e->from_stage), "%s", from);
	snprintf(e->to_stage, sizeof(e->to_stage), "%s", to);
	j = cJSON_GetObjectItemCaseSensitive(o, "forced");
	if (!cJSON_IsBool(j))
		return bad(d, "invalid forced flag");
	e->forced = cJSON_IsTrue(j);
	if (!int_value(cJSON_GetObjectItemCaseSensitive(o, "time"), 0, MAX_TIME, &e->at_ms))
		return bad(d, "invalid time");
	if (!(s = str_value(cJSON_GetObjectItemCaseSensitive(o, "actor"), P4R_SYNC_MAX_TEXT)) ||
	    dup_str(&e->actor, s) < 0)
		return bad(d, "invalid actor");
	if (!(s = str_value(cJSON_GetObjectItemCaseSensitive(o, "reason"), P4R_SYNC_MAX_TEXT)) ||
	    dup_str(&e->reason, s) < 0)
		return bad(d, "invalid reason");
	j = cJSON_GetObjectItemCaseSensitive(o, "detail");
	if (j && !cJSON_IsNull(j)) {
		cJSON *parsed;

		if (!(s = str_value(j, P4R_SYNC_MAX_TEXT)))
			return bad(d, "invalid detail");
		if (!(parsed = cJSON_Parse(s)))
			return bad(d, "detail is not JSON");
		cJSON_Delete(parsed);
		if (dup_str(&e->detail, s) < 0)
			return P4R_ERROR;
	}
	if (strcmp(e->kind, "register"))
		return 0;
	/* A register carries the version record. */
	if (e->version < 1)
		return bad(d, "register without a version number");
	e->has_version = true;
	s = str_value(cJSON_GetObjectItemCaseSensitive(o, "oid"), P4R_OID_HEXLEN);
	if (!s || !p4r_oid_valid(s))
		return bad(d, "malformed oid");
	memcpy(e->oid.hex, s, P4R_OID_HEXLEN + 1);
	if (!int_value(cJSON_GetObjectItemCaseSensitive(o, "size"), 0, MAX_SIZE, &e->size))
		return bad(d, "invalid size");
	if (!int_value(cJSON_GetObjectItemCaseSensitive(o, "created"), 0, MAX_TIME, &e->created_ms))
		return bad(d, "invalid creation time");
	if (!(s = str_value(cJSON_GetObjectItemCaseSensitive(o, "author"), P4R_SYNC_MAX_TEXT)) ||
	    dup_str(&e->author, s) < 0)
		return bad(d, "invalid author");
	if (!(s = str_value(cJSON_GetObjectItemCaseSensitive(o, "message"), P4R_SYNC_MAX_TEXT)) ||
	    dup_str(&e->message, s) < 0)
		return bad(d, "invalid message");
	s = str_value(cJSON_GetObjectItemCaseSensitive(o, "path"), P4R_SYNC_MAX_PATH);
	if (!relpath_valid(s) || dup_str(&e->path, s) < 0)
		return bad(d, "invalid path");
	j = cJSON_GetObjectItemCaseSensitive(o, "git_commit");
	if (j && (!(s = str_value(j, 64)) || dup_str(&e->git_commit, s) < 0))
		return bad(d, "invalid git commit");
	j = cJSON_GetObjectItemCaseSensitive(o, "git_branch");
	if (j && (!(s = str_value(j, 1024)) || dup_str(&e->git_branch, s) < 0))
		return bad(d, "invalid git branch");
	if (!int_value(cJSON_GetObjectItemCaseSensitive(o, "git_dirty"), -1, 1, &v))
		return bad(d, "invalid git_dirty");
	e->git_dirty = (int)v;
	return 0;
}

/* Decodes batch SEQ from TEXT; every field checked before anything is used. */
static int batch_decode(const char *key, const char *text, size_t len, int64_t seq,
			p4r_sync_event **out, size_t *n)
{
	struct decoder d = { .key = key };
	cJSON *doc = NULL, *events, *j;
	p4r_sync_event *arr = NULL;
	size_t count = 0, total, i, k;
	int64_t v;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (!(doc = cJSON_ParseWithLength(text, len)) || !cJSON_IsObject(doc)) {
		rc = p4r_error_set(P4R_EINTEGRITY, "invalid event batch '%s': not a JSON object", key);
		goto done;
	}
	for (j = doc->child; j; j = j->next)
		if (!j->string || (strcmp(j->string, "format") && strcmp(j->string, "seq") &&
				   strcmp(j->string, "parent") && strcmp(j->string, "events") &&
				   strcmp(j->string, "pushed_by") && strcmp(j->string, "time"))) {
			rc = p4r_error_set(P4R_EINTEGRITY, "invalid event batch '%s': unknown field", key);
			goto done;
		}
	if (!int_value(cJSON_GetObjectItemCaseSensitive(doc, "format"), 0, 1000, &v) || v != BATCH_FORMAT) {
		rc = p4r_error_set(P4R_EINTEGRITY, "event batch '%s' has an unknown format (upgrade p4reg?)", key);
		goto done;
	}
	if (!int_value(cJSON_GetObjectItemCaseSensitive(doc, "seq"), 1, MAX_TIME, &v) || v != seq ||
	    !int_value(cJSON_GetObjectItemCaseSensitive(doc, "parent"), 0, MAX_TIME, &v) || v != seq - 1) {
		rc = p4r_error_set(P4R_EINTEGRITY, "invalid event batch '%s': wrong sequence number", key);
		goto done;
	}
	events = cJSON_GetObjectItemCaseSensitive(doc, "events");
	if (!cJSON_IsArray(events) || (total = (size_t)cJSON_GetArraySize(events)) == 0 ||
	    total > P4R_SYNC_MAX_EVENTS) {
		rc = p4r_error_set(P4R_EINTEGRITY, "invalid event batch '%s': bad events list", key);
		goto done;
	}
	if (!(arr = calloc(total, sizeof(*arr)))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	for (j = events->child; j; j = j->next) {
		d.index = count;
		rc = decode_event(&d, j, &arr[count]);
		count++;
		if (rc < 0)
			goto done;
	}
	/* One event, one id: a repeated id inside a batch is forged. */
	for (i = 0; i < count; i++)
		for (k = i + 1; k < count && count <= 4096; k++)
			if (!strcmp(arr[i].uuid, arr[k].uuid)) {
				d.index = k;
				rc = bad(&d, "duplicate id");
				goto done;
			}
done:
	cJSON_Delete(doc);
	if (rc < 0) {
		p4r_sync_event_array_free(arr, count);
		return rc;
	}
	*out = arr;
	*n = count;
	return 0;
}

/* ---- fetch: events ---- */

static int add_rewritten(p4r_sync_result *res, const char *rel)
{
	char **p = realloc(res->rewritten, (res->nrewritten + 1) * sizeof(*p));

	if (!p)
		return p4r_error_set(P4R_ERROR, "out of memory");
	res->rewritten = p;
	if (!(p[res->nrewritten] = strdup(rel)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	res->nrewritten++;
	return 0;
}

/* Pointer files that named a renumbered version (with its bytes) now name
 * its new number. */
static int rewrite_pointers(p4r_repo *repo, const p4r_renumber *ren, size_t nren, p4r_sync_result *res)
{
	char **rels = NULL;
	size_t n = 0, i, k;
	int rc;

	if (!nren)
		return 0;
	if ((rc = p4r_worktree_list_pointers(repo, &rels, &n)) < 0)
		return rc;
	for (i = 0; rc == 0 && i < n; i++) {
		char *path = p4r_worktree_pointer_path(repo, rels[i]);
		p4r_pointer ptr;
		p4r_version v = { 0 };

		if (!path || p4r_pointer_read(&ptr, path, rels[i]) < 0) {
			p4r_error_clear();
			free(path);
			continue;
		}
		for (k = 0; k < nren; k++) {
			if (strcmp(ptr.model, ren[k].model) || ptr.version != ren[k].from)
				continue;
			if (p4r_registry_version_get(p4r_repo_registry(repo), ren[k].model, ren[k].to, &v) < 0) {
				p4r_error_clear();
				break;
			}
			if (p4r_oid_equal(&v.oid, &ptr.oid)) {
				ptr.version = ren[k].to;
				if ((rc = p4r_pointer_write(&ptr, path)) == 0)
					rc = add_rewritten(res, rels[i]);
			}
			p4r_version_clear(&v);
			break;
		}
		free(path);
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

static int fetch_events_locked(p4r_repo *repo, p4r_remote *remote, p4r_sync_result *res)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_sync_event *ev = NULL;
	p4r_renumber *ren = NULL;
	size_t n = 0, nren = 0, applied;
	int64_t seq;
	char key[64], *text = NULL;
	size_t len;
	bool there;
	int rc;

	if ((rc = p4r_registry_sync_applied(reg, remote->url, &seq)) < 0)
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
	for (;;) {
		seq++;
		p4r_remote_log_key(key, sizeof(key), seq);
		rc = remote->ops->get_small(remote, key, P4R_REMOTE_BATCH_MAX, &text, &len);
		if (rc == P4R_ENOTFOUND) {
			p4r_error_clear();
			rc = 0;
			break;
		}
		if (rc < 0 ||
		    (rc = batch_decode(key, text, len, seq, &ev, &n)) < 0 ||
		    (rc = p4r_registry_sync_apply(reg, remote->url, seq, ev, n, &ren, &nren, &applied)) < 0)
			break;
		res->batches_applied++;
		res->events_applied += applied;
		if ((rc = add_renumbered(res, ren, nren)) < 0 ||
		    (rc = rewrite_pointers(repo, ren, nren, res)) < 0)
			break;
		free(ren);
		ren = NULL;
		p4r_sync_event_array_free(ev, n);
		ev = NULL;
		free(text);
		text = NULL;
	}
	free(ren);
	p4r_sync_event_array_free(ev, n);
	free(text);
	return rc;
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

/* Downloads one object: to tmp/, hashed, renamed into the store only when
 * its oid matches. */
static int download_one(struct pool *p, size_t i)
{
	p4r_store *store = p4r_repo_store(p->repo);
	const p4r_oid *oid = &p->oids[i];
	char final[PATH_MAX], key[128], *tmp = NULL, *slash;
	p4r_hasher *h = NULL;
	p4r_oid got;
	uint64_t size = 0;
	bool hashed = false;
	int fd = -1, rc;

	if (p4r_store_has(store, oid))
		return 0;
	p4r_remote_object_key(key, sizeof(key), oid);
	if ((rc = p4r_store_object_path(store, oid, final, sizeof(final))) < 0 ||
	    (rc = p4r_mkstemp_in(&fd, &tmp, p->remote->tmp_dir, "fetch")) < 0 ||
	    (rc = p4r_hasher_new(&h)) < 0)
		goto done;
	rc = p->remote->ops->get_file(p->remote, key, (uint64_t)p->sizes[i], fd, h, &hashed,
				      pool_progress, p);
	if (rc == P4R_ENOTFOUND) {
		rc = p4r_error_set(P4R_ENOTFOUND, "object %s is not on remote '%s'", oid->hex, p->remote->name);
		goto done;
	}
	if (rc < 0)
		goto done;
	if (hashed)
		rc = p4r_hasher_final(h, &got);
	else if (lseek(fd, 0, SEEK_SET) < 0)
		rc = p4r_error_errno("cannot read '%s'", tmp);
	else
		rc = p4r_hash_fd(&got, &size, fd);
	if (rc < 0)
		goto done;
	if (!p4r_oid_equal(&got, oid)) {
		rc = p4r_error_set(P4R_EINTEGRITY, "object %s on remote '%s' is corrupt (its bytes hash to %s); "
				   "not stored", oid->hex, p->remote->name, got.hex);
		goto done;
	}
	if (fchmod(fd, 0444) < 0 || fsync(fd) < 0) {
		rc = p4r_error_errno("cannot write '%s'", tmp);
		goto done;
	}
	slash = strrchr(final, '/');
	*slash = '\0';
	rc = p4r_mkdir_p(final, 0755);
	*slash = '/';
	if (rc < 0)
		goto done;
	if (rename(tmp, final) < 0) {
		rc = p4r_error_errno("cannot rename '%s' to '%s'", tmp, final);
		goto done;
	}
	free(tmp);
	tmp = NULL;
	if ((rc = p4r_fsync_parent(final)) < 0)
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
	p4r_hasher_free(h);
	return rc;
}

int p4r_sync_fetch_objects(p4r_repo *repo, p4r_remote *remote, const p4r_oid *oids,
			   const int64_t *sizes, size_t n, const p4r_sync_progress *prog,
			   p4r_sync_result *res)
{
	struct pool p = { .n = n, .fn = download_one, .repo = repo, .remote = remote,
			  .oids = oids, .sizes = sizes, .prog = prog, .res = res };
	size_t i;

	for (i = 0; i < n; i++)
		if (!p4r_store_has(p4r_repo_store(repo), &oids[i]))
			p.total_bytes += (uint64_t)sizes[i];
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

/* The objects of register events in EV that were not in the first upload. */
static int upload_stragglers(p4r_repo *repo, p4r_remote *remote, const p4r_sync_event *ev, size_t n,
			     const p4r_oid *done, size_t ndone, p4r_sync_result *res)
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
		if ((rc = upload_objects(repo, remote, &ev[i].oid, &ev[i].size, 1, NULL, res)) < 0)
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

static int push_locked(p4r_repo *repo, p4r_remote *remote, char *const *models, size_t n_models,
		       const p4r_sync_progress *prog, p4r_sync_result *res)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_oid *oids = NULL;
	int64_t *sizes = NULL, seq;
	p4r_sync_event *ev = NULL;
	size_t noids = 0, n = 0;
	char key[64], *text = NULL, *actor = NULL;
	int attempt, rc;

	if ((rc = p4r_registry_sync_objects(reg, models, n_models, &oids, &sizes, &noids)) < 0 ||
	    (rc = upload_objects(repo, remote, oids, sizes, noids, prog, res)) < 0)
		goto done;
	actor = p4r_repo_actor(repo);
	for (attempt = 0; attempt < MAX_PUSH_ATTEMPTS; attempt++) {
		if ((rc = fetch_events_locked(repo, remote, res)) < 0 ||
		    (rc = p4r_registry_sync_unpublished(reg, remote->url, models, n_models, &ev, &n)) < 0)
			goto done;
		if (n == 0)
			goto done;
		if ((rc = upload_stragglers(repo, remote, ev, n, oids, noids, res)) < 0 ||
		    (rc = p4r_registry_sync_applied(reg, remote->url, &seq)) < 0)
			goto done;
		seq++;
		if (!(text = batch_encode(seq, ev, n, actor))) {
			rc = p4r_error_set(P4R_ERROR, "out of memory");
			goto done;
		}
		p4r_remote_log_key(key, sizeof(key), seq);
		rc = remote->ops->create_excl(remote, key, text, strlen(text));
		cJSON_free(text);
		text = NULL;
		if (rc == P4R_EEXISTS) {
			/* Another push won this number: fetch it, rebase, try again. */
			p4r_error_clear();
			p4r_sync_event_array_free(ev, n);
			ev = NULL;
			n = 0;
			backoff(attempt);
			continue;
		}
		if (rc < 0 || (rc = p4r_registry_sync_mark(reg, remote->url, seq, ev, n)) < 0)
			goto done;
		res->events_published += n;
		res->batch_seq = seq;
		goto done;
	}
	rc = p4r_error_set(P4R_ERROR, "gave up after %d attempts: the remote's log keeps moving; try again",
			   MAX_PUSH_ATTEMPTS);
done:
	cJSON_free(text);
	free(actor);
	free(oids);
	free(sizes);
	p4r_sync_event_array_free(ev, n);
	return rc;
}

int p4r_sync_push(p4r_repo *repo, p4r_remote *remote, char *const *models, size_t n_models,
		  bool unsafe, const p4r_sync_progress *prog, p4r_sync_result *res)
{
	bool safe = true;
	int fd, rc;

	/* A server that ignores If-None-Match would let two pushes take one
	 * batch number, and one of them would be lost. */
	if (remote->parsed.kind == P4R_REMOTE_S3 && !unsafe) {
		if ((rc = p4r_remote_probe(remote, &safe)) < 0)
			return rc;
		if (!safe)
			return p4r_error_set(P4R_EREFUSED, "remote '%s' ignores conditional writes "
					     "(If-None-Match): concurrent pushes to it can lose events; "
					     "push with --unsafe-concurrent if only one machine pushes", remote->name);
	}
	if ((rc = lock_take(repo, &fd)) < 0)
		return rc;
	rc = push_locked(repo, remote, models, n_models, prog, res);
	lock_release(fd);
	return rc;
}
