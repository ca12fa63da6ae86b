/* The registry side of remote sync (see sync.h and docs/remotes.md):
 * event identities (uuid) and log positions, what is unpublished, applying
 * a fetched batch with renumbering and the stage replay. Every statement
 * binds its parameters; each mutation is one transaction. */
#include "p4reg/sync.h"
#include "p4reg/batch.h"
#include "p4reg/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "p4reg/metrics.h"
#include "registry/sql.h"
#include <openssl/rand.h>

/* Runs one statement with up to three integer/text parameters. */
static int exec_sql(sqlite3 *db, const char *sql, const char *t1, int64_t i2, int64_t i3)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = p4r_sql_prepare(db, &st, sql)) < 0)
		return rc;
	if (sqlite3_bind_parameter_count(st) >= 1 && (rc = p4r_sql_bind_text(db, st, 1, t1)) < 0)
		goto done;
	if (sqlite3_bind_parameter_count(st) >= 2 && (rc = p4r_sql_bind_int(db, st, 2, i2)) < 0)
		goto done;
	if (sqlite3_bind_parameter_count(st) >= 3 && (rc = p4r_sql_bind_int(db, st, 3, i3)) < 0)
		goto done;
	rc = p4r_sql_step(db, st);
	if (rc > 0)
		rc = 0;
done:
	sqlite3_finalize(st);
	return rc;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s ? strdup((const char *)s) : NULL;
}

static void col_copy(char *buf, size_t size, sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	snprintf(buf, size, "%s", s ? (const char *)s : "");
}

void p4r_sync_event_clear(p4r_sync_event *e)
{
	if (!e)
		return;
	free(e->actor);
	free(e->reason);
	free(e->detail);
	free(e->author);
	free(e->message);
	free(e->path);
	free(e->git_commit);
	free(e->git_branch);
	memset(e, 0, sizeof(*e));
}

void p4r_sync_event_array_free(p4r_sync_event *e, size_t n)
{
	size_t i;

	if (!e)
		return;
	for (i = 0; i < n; i++)
		p4r_sync_event_clear(&e[i]);
	free(e);
}

/* A random (version 4) uuid. */
static int new_uuid(char out[P4R_UUID_LEN + 1])
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return p4r_error_set(P4R_ERROR, "cannot get random bytes for an event id");
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, P4R_UUID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
		 b[12], b[13], b[14], b[15]);
	return 0;
}

int p4r_registry_sync_applied(p4r_registry *reg, const char *url, int64_t *seq)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	int rc;

	*seq = 0;
	if ((rc = p4r_sql_prepare(db, &st, "SELECT applied_seq FROM remote_state WHERE url = ?1")) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 1, url)) < 0 ||
	    (rc = p4r_sql_step(db, st)) < 0)
		goto done;
	if (rc == 1)
		*seq = sqlite3_column_int64(st, 0);
	rc = 0;
done:
	sqlite3_finalize(st);
	return rc;
}

static int set_applied(sqlite3 *db, const char *url, int64_t seq)
{
	return exec_sql(db, "INSERT INTO remote_state(url, applied_seq) VALUES (?1, ?2)"
			" ON CONFLICT(url) DO UPDATE SET applied_seq = excluded.applied_seq",
			url, seq, 0);
}

/* Gives every event without an identity a fresh uuid. */
static int assign_uuids(sqlite3 *db)
{
	sqlite3_stmt *sel = NULL, *ins = NULL;
	char uuid[P4R_UUID_LEN + 1];
	int rc;

	if ((rc = p4r_sql_prepare(db, &sel, "SELECT e.id FROM events e WHERE NOT EXISTS"
			  " (SELECT 1 FROM event_sync s WHERE s.event_id = e.id) ORDER BY e.id")) < 0 ||
	    (rc = p4r_sql_prepare(db, &ins, "INSERT INTO event_sync(event_id, uuid) VALUES (?1, ?2)")) < 0)
		goto done;
	while ((rc = p4r_sql_step(db, sel)) == 1) {
		sqlite3_reset(ins);
		if ((rc = new_uuid(uuid)) < 0 ||
		    (rc = p4r_sql_bind_int(db, ins, 1, sqlite3_column_int64(sel, 0))) < 0 ||
		    (rc = p4r_sql_bind_text(db, ins, 2, uuid)) < 0 ||
		    (rc = p4r_sql_step(db, ins)) < 0)
			break;
	}
done:
	sqlite3_finalize(sel);
	sqlite3_finalize(ins);
	return rc < 0 ? rc : 0;
}

static bool model_selected(const char *name, char *const *models, size_t n)
{
	size_t i;

	if (n == 0)
		return true;
	for (i = 0; i < n; i++)
		if (!strcmp(models[i], name))
			return true;
	return false;
}

#define EXPORT_SELECT \
	"SELECT e.id, s.uuid, m.name, coalesce(v.number, 0), e.kind, e.from_stage, e.to_stage," \
	" e.forced, e.actor, e.at_ms, e.reason, e.detail," \
	" v.oid, v.size, v.author, v.created_ms, v.message, v.source_path, v.git_commit," \
	" v.git_branch, v.git_dirty, v.kind, v.files, v.tree_size, v.deleted_ms" \
	" FROM events e JOIN models m ON m.id = e.model_id" \
	" JOIN event_sync s ON s.event_id = e.id" \
	" LEFT JOIN versions v ON v.id = e.version_id"

/* A folder's kind and counts (columns I..I+2); a malformed row reads as
 * such, and the encoder's check refuses to publish it. */
static void read_export_kind(p4r_sync_event *e, sqlite3_stmt *st, int i)
{
	const char *kind = (const char *)sqlite3_column_text(st, i);

	if (kind && !strcmp(kind, "file"))
		return;
	e->version_kind = kind && !strcmp(kind, "dir") ? P4R_KIND_DIR : (p4r_version_kind)-1;
	e->files = sqlite3_column_int64(st, i + 1);
	e->tree_size = sqlite3_column_int64(st, i + 2);
}

static int read_export(p4r_sync_event *e, sqlite3_stmt *st)
{
	const char *oid;

	memset(e, 0, sizeof(*e));
	e->event_id = sqlite3_column_int64(st, 0);
	col_copy(e->uuid, sizeof(e->uuid), st, 1);
	col_copy(e->model, sizeof(e->model), st, 2);
	e->version = sqlite3_column_int64(st, 3);
	col_copy(e->kind, sizeof(e->kind), st, 4);
	col_copy(e->from_stage, sizeof(e->from_stage), st, 5);
	col_copy(e->to_stage, sizeof(e->to_stage), st, 6);
	e->forced = sqlite3_column_int(st, 7) != 0;
	e->actor = col_dup(st, 8);
	e->at_ms = sqlite3_column_int64(st, 9);
	e->reason = col_dup(st, 10);
	e->detail = col_dup(st, 11);
	if (!e->actor || !e->reason)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if (!strcmp(e->kind, "register") && e->version > 0) {
		oid = (const char *)sqlite3_column_text(st, 12);
		if (!oid || p4r_oid_parse(&e->oid, oid) < 0)
			return p4r_error_set(P4R_EINTEGRITY, "registry: malformed oid of %s@%lld",
					     e->model, (long long)e->version);
		e->has_version = true;
		e->size = sqlite3_column_int64(st, 13);
		e->author = col_dup(st, 14);
		e->created_ms = sqlite3_column_int64(st, 15);
		e->message = col_dup(st, 16);
		e->path = col_dup(st, 17);
		e->git_commit = col_dup(st, 18);
		e->git_branch = col_dup(st, 19);
		e->git_dirty = sqlite3_column_int(st, 20);
		if (!e->author || !e->message || !e->path)
			return p4r_error_set(P4R_ERROR, "out of memory");
		read_export_kind(e, st, 21);
		e->deleted = sqlite3_column_type(st, 24) != SQLITE_NULL;
	}
	return 0;
}

int p4r_registry_sync_unpublished(p4r_registry *reg, const char *url, char *const *models,
				  size_t n_models, p4r_sync_event **out, size_t *n)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	p4r_sync_event *arr = NULL;
	size_t count = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = p4r_registry_begin(reg)) < 0)
		return rc;
	if ((rc = assign_uuids(db)) < 0 ||
	    (rc = p4r_sql_prepare(db, &st, EXPORT_SELECT " WHERE NOT EXISTS (SELECT 1 FROM remote_published p"
			  " WHERE p.url = ?1 AND p.event_id = e.id) ORDER BY e.id")) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 1, url)) < 0)
		goto done;
	while ((rc = p4r_sql_step(db, st)) == 1) {
		if (!model_selected((const char *)sqlite3_column_text(st, 2), models, n_models))
			continue;
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			void *p = realloc(arr, ncap * sizeof(*arr));

			if (!p) {
				rc = p4r_error_set(P4R_ERROR, "out of memory");
				goto done;
			}
			arr = p;
			cap = ncap;
		}
		rc = read_export(&arr[count], st);
		count++;
		if (rc < 0)
			goto done;
	}
done:
	sqlite3_finalize(st);
	if (rc < 0) {
		p4r_registry_abort(reg);
		p4r_sync_event_array_free(arr, count);
		return rc;
	}
	if ((rc = p4r_registry_commit(reg)) < 0) {
		p4r_sync_event_array_free(arr, count);
		return rc;
	}
	*out = arr;
	*n = count;
	return 0;
}

static int mark_pos(sqlite3 *db, int64_t event_id, int64_t seq, int64_t idx)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = p4r_sql_prepare(db, &st, "UPDATE event_sync SET seq = ?1, idx = ?2"
			  " WHERE event_id = ?3 AND seq IS NULL")) < 0 ||
	    (rc = p4r_sql_bind_int(db, st, 1, seq)) < 0 ||
	    (rc = p4r_sql_bind_int(db, st, 2, idx)) < 0 ||
	    (rc = p4r_sql_bind_int(db, st, 3, event_id)) < 0)
		goto done;
	rc = p4r_sql_step(db, st);
done:
	sqlite3_finalize(st);
	return rc < 0 ? rc : 0;
}

static int mark_published(sqlite3 *db, const char *url, int64_t event_id, int64_t seq, int64_t idx)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = p4r_sql_prepare(db, &st, "INSERT OR IGNORE INTO remote_published(url, event_id) VALUES (?1, ?2)")) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 1, url)) < 0 ||
	    (rc = p4r_sql_bind_int(db, st, 2, event_id)) < 0 ||
	    (rc = p4r_sql_step(db, st)) < 0)
		goto done;
	rc = mark_pos(db, event_id, seq, idx);
done:
	sqlite3_finalize(st);
	return rc < 0 ? rc : 0;
}

int p4r_registry_sync_mark(p4r_registry *reg, const char *url, int64_t seq,
			   const p4r_sync_event *ev, size_t n)
{
	sqlite3 *db = p4r_registry_db(reg);
	size_t i;
	int rc;

	if ((rc = p4r_registry_begin(reg)) < 0)
		return rc;
	for (i = 0; i < n; i++)
		if ((rc = mark_published(db, url, ev[i].event_id, seq, (int64_t)i)) < 0)
			goto fail;
	if ((rc = set_applied(db, url, seq)) < 0)
		goto fail;
	return p4r_registry_commit(reg);
fail:
	p4r_registry_abort(reg);
	return rc;
}

int p4r_registry_sync_skip(p4r_registry *reg, const char *url, int64_t seq, const char *sha256,
			   const char *actor, const char *error)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	int64_t applied;
	int rc;

	if ((rc = p4r_registry_begin(reg)) < 0)
		return rc;
	if ((rc = p4r_registry_sync_applied(reg, url, &applied)) < 0)
		goto fail;
	if (seq != applied + 1) {
		rc = p4r_error_set(P4R_EUSAGE, "batch %lld is not the next batch to apply (the next is %lld)",
				   (long long)seq, (long long)(applied + 1));
		goto fail;
	}
	if ((rc = p4r_sql_prepare(db, &st, "INSERT INTO remote_skipped(url, seq, sha256, actor, at_ms, error)"
			  " VALUES (?1, ?2, ?3, ?4, ?5, ?6)")) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 1, url)) < 0 ||
	    (rc = p4r_sql_bind_int(db, st, 2, seq)) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 3, sha256)) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 4, actor)) < 0 ||
	    (rc = p4r_sql_bind_int(db, st, 5, p4r_now_ms())) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 6, error ? error : "")) < 0 ||
	    (rc = p4r_sql_step(db, st)) < 0 ||
	    (rc = set_applied(db, url, seq)) < 0)
		goto fail;
	sqlite3_finalize(st);
	return p4r_registry_commit(reg);
fail:
	sqlite3_finalize(st);
	p4r_registry_abort(reg);
	return rc;
}

int p4r_registry_sync_forget(p4r_registry *reg, const char *url)
{
	sqlite3 *db = p4r_registry_db(reg);
	int rc;

	if ((rc = p4r_registry_begin(reg)) < 0)
		return rc;
	if ((rc = exec_sql(db, "DELETE FROM remote_state WHERE url = ?1", url, 0, 0)) < 0 ||
	    (rc = exec_sql(db, "DELETE FROM remote_published WHERE url = ?1", url, 0, 0)) < 0) {
		p4r_registry_abort(reg);
		return rc;
	}
	return p4r_registry_commit(reg);
}

/* ---- applying a batch ---- */

/* Model id of NAME (0 when unknown) and its path (malloc'd, nullable out). */
static int model_find(sqlite3 *db, const char *name, int64_t *id, char **path)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*id = 0;
	if (path)
		*path = NULL;
	if ((rc = p4r_sql_prepare(db, &st, "SELECT id, path FROM models WHERE name = ?1")) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 1, name)) < 0 ||
	    (rc = p4r_sql_step(db, st)) < 0)
		goto done;
	if (rc == 1) {
		*id = sqlite3_column_int64(st, 0);
		if (path)
			*path = col_dup(st, 1);
	}
	rc = 0;
done:
	sqlite3_finalize(st);
	return rc;
}

/* The name of model ID (malloc'd). */
static int model_name(sqlite3 *db, int64_t id, char **out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*out = NULL;
	if ((rc = p4r_sql_prepare(db, &st, "SELECT name FROM models WHERE id = ?1")) < 0 ||
	    (rc = p4r_sql_bind_int(db, st, 1, id)) < 0 ||
	    (rc = p4r_sql_step(db, st)) < 0)
		goto done;
	if (rc == 0 || !(*out = col_dup(st, 0)))
		rc = p4r_error_set(P4R_ERROR, "registry: model %lld vanished", (long long)id);
	else
		rc = 0;
done:
	sqlite3_finalize(st);
	return rc;
}

/* A single integer from SQL with (text ?1, int ?2); DEFLT when no row. */
static int query_int(sqlite3 *db, const char *sql, const char *t1, int64_t i2, int64_t deflt,
		     int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*out = deflt;
	if ((rc = p4r_sql_prepare(db, &st, sql)) < 0)
		return rc;
	if (sqlite3_bind_parameter_count(st) >= 1 && (rc = p4r_sql_bind_text(db, st, 1, t1)) < 0)
		goto done;
	if (sqlite3_bind_parameter_count(st) >= 2 && (rc = p4r_sql_bind_int(db, st, 2, i2)) < 0)
		goto done;
	if ((rc = p4r_sql_step(db, st)) == 1 && sqlite3_column_type(st, 0) != SQLITE_NULL)
		*out = sqlite3_column_int64(st, 0);
done:
	sqlite3_finalize(st);
	return rc < 0 ? rc : 0;
}

/* The local event row of UUID (0 when unknown) and its log position. */
static int event_by_uuid(sqlite3 *db, const char *uuid, int64_t *event_id)
{
	return query_int(db, "SELECT event_id FROM event_sync WHERE uuid = ?1", uuid, 0, 0, event_id);
}

/* A version's register event is in the remote's log: it came from there,
 * or this registry published it. Versions of a model in the log are
 * numbered 1, 2, ... in log order, without gaps. */
#define IN_LOG(v) \
	"EXISTS (SELECT 1 FROM events x JOIN event_sync s ON s.event_id = x.id" \
	" WHERE x.version_id = " v ".id AND x.kind = 'register' AND s.seq IS NOT NULL)"

struct moved {
	int64_t version_id;
	int64_t from;        /* its number before it was moved aside */
};

/* A growing list of model ids. */
struct ids {
	int64_t *v;
	size_t n, cap;
};

struct apply_ctx {
	p4r_registry *reg;
	sqlite3 *db;
	const char *url;
	int64_t seq;
	struct moved *moved;
	size_t nmoved, capmoved;
	struct ids models;     /* models whose stages are replayed */
	struct ids registered; /* models that got a version from the log */
	struct ids rebound;    /* models a move of the log rebound */
	p4r_renumber *ren;     /* local versions whose number changed */
	size_t nren, capren;
	size_t applied;
};

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : 16;
	void *p;

	if (n < *cap)
		return 0;
	if (!(p = realloc(*arr, ncap * size)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	*arr = p;
	*cap = ncap;
	return 0;
}

static int note_id(struct ids *s, int64_t id)
{
	size_t i;
	int rc;

	for (i = 0; i < s->n; i++)
		if (s->v[i] == id)
			return 0;
	if ((rc = grow((void **)&s->v, &s->cap, s->n, sizeof(*s->v))) < 0)
		return rc;
	s->v[s->n++] = id;
	return 0;
}

static int note_model(struct apply_ctx *c, int64_t model_id)
{
	return note_id(&c->models, model_id);
}

/* The local version MODEL_ID@NUMBER is in the way of a remote register:
 * it must be ours and unpublished; it moves to a negative placeholder and
 * gets its final number once the whole batch is in. */
static int move_aside(struct apply_ctx *c, const p4r_sync_event *e, int64_t model_id)
{
	sqlite3_stmt *st = NULL;
	int64_t vid = 0, published = 0;
	int rc;

	if ((rc = p4r_sql_prepare(c->db, &st, "SELECT v.id, (SELECT count(*) FROM events x JOIN event_sync s"
			  " ON s.event_id = x.id WHERE x.version_id = v.id AND x.kind = 'register'"
			  " AND s.seq IS NOT NULL) FROM versions v WHERE v.model_id = ?1 AND v.number = ?2")) < 0 ||
	    (rc = p4r_sql_bind_int(c->db, st, 1, model_id)) < 0 ||
	    (rc = p4r_sql_bind_int(c->db, st, 2, e->version)) < 0 ||
	    (rc = p4r_sql_step(c->db, st)) < 0)
		goto done;
	if (rc == 0)
		goto done;
	vid = sqlite3_column_int64(st, 0);
	published = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	st = NULL;
	if (published) {
		rc = p4r_error_set(P4R_EINTEGRITY, "remote log batch %lld registers %s@%lld, which this "
				   "registry already has from the log with other content; the remote has diverged",
				   (long long)c->seq, e->model, (long long)e->version);
		goto done;
	}
	if ((rc = grow((void **)&c->moved, &c->capmoved, c->nmoved, sizeof(*c->moved))) < 0)
		goto done;
	c->moved[c->nmoved].version_id = vid;
	c->moved[c->nmoved].from = e->version;
	c->nmoved++;
	if ((rc = p4r_sql_prepare(c->db, &st, "UPDATE versions SET number = -id WHERE id = ?1")) < 0 ||
	    (rc = p4r_sql_bind_int(c->db, st, 1, vid)) < 0)
		goto done;
	rc = p4r_sql_step(c->db, st);
done:
	sqlite3_finalize(st);
	return rc < 0 ? rc : 0;
}

static int insert_model(struct apply_ctx *c, const p4r_sync_event *e, int64_t *model_id)
{
	int64_t other = 0;
	int rc;

	if ((rc = query_int(c->db, "SELECT id FROM models WHERE path = ?1", e->path, 0, 0, &other)) < 0)
		return rc;
	if (other)
		return p4r_error_set(P4R_EEXISTS, "remote model '%s' is bound to '%s', which another local "
				     "model already uses", e->model, e->path);
	return p4r_sql_model_insert(c->reg, e->model, e->path, e->created_ms, model_id);
}

static int insert_version(struct apply_ctx *c, const p4r_sync_event *e, int64_t model_id,
			  int64_t *version_id)
{
	p4r_sql_version_row row = { .model_id = model_id, .number = e->version, .oid = &e->oid,
				    .size = e->size, .author = e->author, .created_ms = e->created_ms,
				    .message = e->message, .source_path = e->path,
				    .git_commit = e->git_commit, .git_branch = e->git_branch,
				    .git_dirty = e->git_dirty, .kind = e->version_kind,
				    .files = e->files, .tree_size = e->tree_size };

	return p4r_sql_version_insert(c->reg, &row, version_id);
}

static int insert_event(struct apply_ctx *c, const p4r_sync_event *e, int64_t model_id,
			int64_t version_id, int64_t idx)
{
	p4r_sql_event_row row = { .model_id = model_id, .version_id = version_id, .kind = e->kind,
				  .from_stage = e->from_stage, .to_stage = e->to_stage,
				  .forced = e->forced, .actor = e->actor, .at_ms = e->at_ms,
				  .reason = e->reason, .detail = e->detail };
	sqlite3_stmt *st = NULL;
	int64_t event_id;
	int rc;

	if ((rc = p4r_sql_event_insert(c->reg, &row, &event_id)) < 0)
		goto done;
	if ((rc = p4r_sql_prepare(c->db, &st, "INSERT INTO event_sync(event_id, uuid, seq, idx) VALUES (?1, ?2, ?3, ?4)")) < 0 ||
	    (rc = p4r_sql_bind_int(c->db, st, 1, event_id)) < 0 ||
	    (rc = p4r_sql_bind_text(c->db, st, 2, e->uuid)) < 0 ||
	    (rc = p4r_sql_bind_int(c->db, st, 3, c->seq)) < 0 ||
	    (rc = p4r_sql_bind_int(c->db, st, 4, idx)) < 0 ||
	    (rc = p4r_sql_step(c->db, st)) < 0)
		goto done;
	rc = mark_published(c->db, c->url, event_id, c->seq, idx);
done:
	sqlite3_finalize(st);
	return rc;
}

/* Metrics travel as the detail of "log-metric" events: applying one
 * records its values here too, so gates on this machine see them. */
static int replay_metrics(struct apply_ctx *c, const p4r_sync_event *e, int64_t version_id)
{
	p4r_version v = { .id = version_id, .number = e->version };

	if (strcmp(e->kind, "log-metric") || !version_id)
		return 0;
	snprintf(v.model, sizeof(v.model), "%s", e->model);
	return p4r_metrics_replay(c->reg, &v, e->detail);
}

/* The highest number of MODEL_ID's versions in the log (0: none). The
 * walk goes down the (model_id, number) index and stops at the first one,
 * past only this registry's few unpublished versions. */
static int last_logged(struct apply_ctx *c, int64_t model_id, int64_t *out)
{
	return query_int(c->db, "SELECT v.number FROM versions v WHERE v.model_id = ?2 AND v.number > 0"
			 " AND " IN_LOG("v") " ORDER BY v.number DESC LIMIT 1", NULL, model_id, 0, out);
}

/* A remote register must continue its model's sequence in the log, and
 * agree on the size with any version that already names its object. */
static int check_register(struct apply_ctx *c, const p4r_sync_event *e, int64_t model_id)
{
	int64_t last, other;
	int rc;

	if ((rc = last_logged(c, model_id, &last)) < 0 ||
	    (rc = query_int(c->db, "SELECT size FROM versions WHERE oid = ?1 AND size != ?2 LIMIT 1",
			    e->oid.hex, e->size, -1, &other)) < 0)
		return rc;
	if (e->version != last + 1)
		return p4r_error_set(P4R_EINTEGRITY, "remote log batch %lld registers %s@%lld, but the log's "
				     "next version of '%s' is %lld (a gap or a repeated number)",
				     (long long)c->seq, e->model, (long long)e->version, e->model,
				     (long long)(last + 1));
	if (other >= 0)
		return p4r_error_set(P4R_EINTEGRITY, "remote log batch %lld says object %s of %s@%lld is "
				     "%lld bytes; this registry knows it as %lld bytes", (long long)c->seq,
				     e->oid.hex, e->model, (long long)e->version, (long long)e->size,
				     (long long)other);
	return 0;
}

/* The version an event from the log is about: it must be in the log too
 * (a local unpublished version is nothing the remote can talk about). */
static int logged_version(struct apply_ctx *c, const p4r_sync_event *e, int64_t model_id,
			  int64_t *version_id)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*version_id = 0;
	if ((rc = p4r_sql_prepare(c->db, &st, "SELECT v.id FROM versions v WHERE v.model_id = ?1"
			  " AND v.number = ?2 AND " IN_LOG("v"))) < 0 ||
	    (rc = p4r_sql_bind_int(c->db, st, 1, model_id)) < 0 ||
	    (rc = p4r_sql_bind_int(c->db, st, 2, e->version)) < 0 ||
	    (rc = p4r_sql_step(c->db, st)) < 0)
		goto done;
	if (rc == 1)
		*version_id = sqlite3_column_int64(st, 0);
	rc = *version_id ? 0 : p4r_error_set(P4R_EINTEGRITY, "remote log batch %lld has a %s event for "
					     "%s@%lld, which the log never registered", (long long)c->seq,
					     e->kind, e->model, (long long)e->version);
done:
	sqlite3_finalize(st);
	return rc;
}

/* An event about the model itself (a move) must name one the log
 * registered: a model only this registry has (never pushed) is nothing
 * the remote can move or write history for. */
static int logged_model(struct apply_ctx *c, const p4r_sync_event *e, int64_t model_id)
{
	int64_t last = 0;
	int rc = last_logged(c, model_id, &last);

	if (rc == 0 && last == 0)
		rc = p4r_error_set(P4R_EINTEGRITY, "remote log batch %lld has a %s event for model '%s', "
				   "which the log never registered", (long long)c->seq, e->kind, e->model);
	return rc;
}

/* Binds MODEL_ID (named MODEL) to PATH unless another model holds it;
 * LOCAL: the move is this registry's own, not yet pushed. */
static int set_model_path(struct apply_ctx *c, int64_t model_id, const char *model, const char *path,
			  bool local)
{
	sqlite3_stmt *st = NULL;
	char *holder = NULL;
	int rc;

	if ((rc = p4r_sql_prepare(c->db, &st, "SELECT name FROM models WHERE path = ?1 AND id != ?2")) < 0 ||
	    (rc = p4r_sql_bind_text(c->db, st, 1, path)) < 0 ||
	    (rc = p4r_sql_bind_int(c->db, st, 2, model_id)) < 0 ||
	    (rc = p4r_sql_step(c->db, st)) < 0)
		goto done;
	if (rc == 1) {
		holder = col_dup(st, 0);
		rc = local ? p4r_error_set(P4R_EEXISTS, "model '%s' was moved here to '%s' (not yet pushed), "
					   "which model '%s' holds after remote log batch %lld", model, path,
					   holder ? holder : "?", (long long)c->seq) :
		     p4r_error_set(P4R_EEXISTS, "remote log batch %lld moves model '%s' to '%s', which local "
				   "model '%s' is bound to", (long long)c->seq, model, path, holder ? holder : "?");
		goto done;
	}
	rc = exec_sql(c->db, "UPDATE models SET path = ?1 WHERE id = ?2", path, model_id, 0);
done:
	sqlite3_finalize(st);
	free(holder);
	return rc;
}

/* A move from the log rebinds its model at once, so later events of the
 * batch (a register at the path it left) see the log's state. */
static int apply_move(struct apply_ctx *c, const p4r_sync_event *e, int64_t model_id)
{
	char *from = NULL, *to = NULL, why[256];
	int rc;

	if ((rc = p4r_move_detail_parse(e->detail, &from, &to)) < 0) {
		snprintf(why, sizeof(why), "%s", p4r_error_message());
		rc = p4r_error_set(rc, "remote log batch %lld: %s", (long long)c->seq, why);
	} else if ((rc = set_model_path(c, model_id, e->model, to, false)) == 0)
		rc = note_id(&c->rebound, model_id);
	free(from);
	free(to);
	return rc;
}

/* After the log's moves, MODEL_ID's own unpushed move (the newest) wins
 * again, as it will on every clone once pushed: it comes later in log
 * order. */
static int replay_local_move(struct apply_ctx *c, int64_t model_id)
{
	sqlite3_stmt *st = NULL;
	char *from = NULL, *to = NULL, *name = NULL;
	int rc;

	if ((rc = p4r_sql_prepare(c->db, &st, "SELECT e.detail FROM events e LEFT JOIN event_sync s"
			  " ON s.event_id = e.id WHERE e.model_id = ?1 AND e.kind = '" P4R_EVENT_MOVE "'"
			  " AND s.seq IS NULL ORDER BY e.id DESC LIMIT 1")) < 0 ||
	    (rc = p4r_sql_bind_int(c->db, st, 1, model_id)) < 0 ||
	    (rc = p4r_sql_step(c->db, st)) <= 0)
		goto done;
	if ((rc = p4r_move_detail_parse((const char *)sqlite3_column_text(st, 0), &from, &to)) < 0 ||
	    (rc = model_name(c->db, model_id, &name)) < 0)
		goto done;
	rc = set_model_path(c, model_id, name, to, true);
done:
	sqlite3_finalize(st);
	free(from);
	free(to);
	free(name);
	return rc < 0 ? rc : 0;
}

static int apply_one(struct apply_ctx *c, const p4r_sync_event *e, int64_t idx)
{
	int64_t model_id, version_id = 0, known;
	int rc;

	if ((rc = event_by_uuid(c->db, e->uuid, &known)) < 0)
		return rc;
	if (known)  /* ours, published before a crash, or met through another remote */
		return mark_published(c->db, c->url, known, c->seq, idx);
	if ((rc = model_find(c->db, e->model, &model_id, NULL)) < 0)
		return rc;
	if (e->has_version) {
		if ((!model_id && (rc = insert_model(c, e, &model_id)) < 0) ||
		    (rc = check_register(c, e, model_id)) < 0 ||
		    (rc = move_aside(c, e, model_id)) < 0 ||
		    (rc = insert_version(c, e, model_id, &version_id)) < 0 ||
		    (rc = note_id(&c->registered, model_id)) < 0)
			return rc;
	} else if (!model_id) {
		return p4r_error_set(P4R_EINTEGRITY, "remote log batch %lld has an event for unknown model '%s'",
				     (long long)c->seq, e->model);
	} else if (e->version > 0 && (rc = logged_version(c, e, model_id, &version_id)) < 0) {
		return rc;
	} else if (e->version == 0 && (rc = logged_model(c, e, model_id)) < 0) {
		return rc;
	}
	if ((rc = insert_event(c, e, model_id, version_id, idx)) < 0 ||
	    (rc = note_model(c, model_id)) < 0 ||
	    (rc = replay_metrics(c, e, version_id)) < 0 ||
	    (!strcmp(e->kind, P4R_EVENT_MOVE) && (rc = apply_move(c, e, model_id)) < 0))
		return rc;
	c->applied++;
	return 0;
}

/* The number VERSION_ID had before this batch (moved aside or not). */
static int64_t old_number(const struct apply_ctx *c, int64_t version_id, int64_t number)
{
	size_t i;

	for (i = 0; i < c->nmoved; i++)
		if (c->moved[i].version_id == version_id)
			return c->moved[i].from;
	return number;
}

static int note_renumber(struct apply_ctx *c, const char *model, int64_t from, int64_t to)
{
	int rc;

	if (from == to)
		return 0;
	if ((rc = grow((void **)&c->ren, &c->capren, c->nren, sizeof(*c->ren))) < 0)
		return rc;
	snprintf(c->ren[c->nren].model, sizeof(c->ren[c->nren].model), "%s", model);
	c->ren[c->nren].from = from;
	c->ren[c->nren].to = to;
	c->nren++;
	return 0;
}

/* This registry's versions of MODEL_ID that are not in the log, oldest
 * first, each moved aside to -id (so renumbering cannot collide). */
static int local_versions(struct apply_ctx *c, int64_t model_id, struct moved **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = p4r_sql_prepare(c->db, &st, "SELECT v.id, v.number FROM versions v WHERE v.model_id = ?1"
			  " AND NOT " IN_LOG("v") " ORDER BY (SELECT min(x.id) FROM events x"
			  " WHERE x.version_id = v.id AND x.kind = 'register'), v.id")) < 0 ||
	    (rc = p4r_sql_bind_int(c->db, st, 1, model_id)) < 0)
		goto done;
	while ((rc = p4r_sql_step(c->db, st)) == 1) {
		if ((rc = grow((void **)out, &cap, *n, sizeof(**out))) < 0)
			goto done;
		(*out)[*n].version_id = sqlite3_column_int64(st, 0);
		(*out)[*n].from = old_number(c, (*out)[*n].version_id, sqlite3_column_int64(st, 1));
		(*n)++;
	}
	if (rc == 0)
		rc = exec_sql(c->db, "UPDATE versions SET number = -id WHERE model_id = ?2 AND number > 0"
			      " AND NOT " IN_LOG("versions"), NULL, model_id, 0);
done:
	sqlite3_finalize(st);
	return rc < 0 ? rc : 0;
}

/* The local versions of MODEL_ID follow the log's, in the order they were
 * made, so this registry's next push continues the sequence without a gap. */
static int renumber_model(struct apply_ctx *c, int64_t model_id)
{
	struct moved *local = NULL;
	char *name = NULL;
	int64_t next;
	size_t n = 0, i;
	int rc;

	if ((rc = last_logged(c, model_id, &next)) < 0 ||
	    (rc = local_versions(c, model_id, &local, &n)) < 0)
		goto done;
	next++;
	if (n && (rc = model_name(c->db, model_id, &name)) < 0)
		goto done;
	for (i = 0; i < n; i++, next++)
		if ((rc = exec_sql(c->db, "UPDATE versions SET number = ?2 WHERE id = ?3", NULL, next,
				   local[i].version_id)) < 0 ||
		    (rc = note_renumber(c, name, local[i].from, next)) < 0)
			goto done;
done:
	free(local);
	free(name);
	return rc;
}

/* The state a replay rebuilds, back to what MODEL_ID's registers alone
 * give: every version in development, not rolled back, not deleted; no
 * alias, tag or description. */
static int replay_reset(struct apply_ctx *c, int64_t model_id)
{
	static const char *const sql[] = {
		/* only the rows that change: an update of an indexed column
		 * rewrites its index entries even when the value stays */
		("UPDATE versions SET stage = 'development', rolled_back = 0, deleted_ms = NULL"
		 " WHERE model_id = ?1 AND (stage != 'development' OR rolled_back != 0"
		 " OR deleted_ms IS NOT NULL)"),
		"DELETE FROM aliases WHERE model_id = ?1",
		"DELETE FROM version_tags WHERE version_id IN (SELECT id FROM versions WHERE model_id = ?1)",
		"DELETE FROM model_tags WHERE model_id = ?1",
		"UPDATE models SET description = '' WHERE id = ?1",
	};
	size_t i;
	int rc = 0;

	for (i = 0; i < sizeof(sql) / sizeof(sql[0]) && rc == 0; i++)
		rc = p4r_sql_exec(c->db, sql[i], (p4r_sql_arg[]){ P4R_SQL_INT(model_id) }, 1, NULL, NULL);
	return rc;
}

/* The statements of the stage part of a replay. */
struct stage_stmts {
	sqlite3_stmt *evict, *set;
};

/* One event into stage TO of VERSION_ID: entering staging or production
 * archives the previous holder; a rollback into archived marks the version
 * rolled back; entering production clears the mark. */
static int replay_stage(struct apply_ctx *c, struct stage_stmts *s, int64_t model_id, int64_t vid,
			const char *kind, const char *to)
{
	p4r_stage stage;
	bool rolled;
	int rc;

	if (!to || p4r_stage_parse(&stage, to) < 0) {
		p4r_error_clear();
		return 0;
	}
	rolled = kind && !strcmp(kind, "rollback") && stage == P4R_STAGE_ARCHIVED;
	if (stage == P4R_STAGE_STAGING || stage == P4R_STAGE_PRODUCTION) {
		sqlite3_reset(s->evict);
		if ((rc = p4r_sql_bind_int(c->db, s->evict, 1, model_id)) < 0 ||
		    (rc = p4r_sql_bind_text(c->db, s->evict, 2, to)) < 0 ||
		    (rc = p4r_sql_bind_int(c->db, s->evict, 3, vid)) < 0 ||
		    (rc = p4r_sql_step(c->db, s->evict)) < 0)
			return rc;
	}
	sqlite3_reset(s->set);
	if ((rc = p4r_sql_bind_text(c->db, s->set, 1, to)) < 0 ||
	    (rc = p4r_sql_bind_int(c->db, s->set, 2, vid)) < 0 ||
	    (rc = p4r_sql_bind_int(c->db, s->set, 3, rolled)) < 0)
		return rc;
	return p4r_sql_run(c->db, s->set);
}

/* One alias, tag, describe or delete event (registry/sql.h's writers). */
static int replay_label(struct apply_ctx *c, int64_t model_id, sqlite3_stmt *sel)
{
	p4r_sql_label_event e = { .model_id = model_id, .version_id = sqlite3_column_int64(sel, 0),
				  .kind = p4r_sql_col_text(sel, 1), .actor = p4r_sql_col_text(sel, 4),
				  .at_ms = sqlite3_column_int64(sel, 5),
				  .detail = (const char *)sqlite3_column_text(sel, 3) };

	if (!strcmp(e.kind, P4R_EVENT_DELETE))
		return p4r_sql_delete_apply(c->reg, &e);
	if (!strcmp(e.kind, P4R_EVENT_ALIAS_SET) || !strcmp(e.kind, P4R_EVENT_ALIAS_DELETE))
		return p4r_sql_alias_apply(c->reg, &e);
	return p4r_sql_tag_apply(c->reg, &e);
}

#define REPLAY_KINDS \
	"'" P4R_EVENT_DELETE "', '" P4R_EVENT_ALIAS_SET "', '" P4R_EVENT_ALIAS_DELETE "', '" \
	P4R_EVENT_TAG_SET "', '" P4R_EVENT_TAG_DELETE "', '" P4R_EVENT_DESCRIBE "'"

/* Rebuilds the stages, deletions, aliases, tags and description of
 * MODEL_ID from its events in the shared log's order (registry/sql.h):
 * every machine that has the same log ends with the same state, and
 * rollback walks the same order. The last change in log order wins, as
 * for stages; an alias set on a version deleted earlier in the log is
 * ignored, and a deleted version never keeps a stage a later promotion
 * gave it (it is archived). */
static int replay(struct apply_ctx *c, int64_t model_id)
{
	struct stage_stmts s = { NULL, NULL };
	sqlite3_stmt *sel = NULL;
	int rc;

	if ((rc = replay_reset(c, model_id)) < 0 ||
	    (rc = p4r_sql_prepare(c->db, &sel, "SELECT e.version_id, e.kind, e.to_stage, e.detail,"
			  " e.actor, e.at_ms FROM events e" P4R_SQL_LOG_JOIN " WHERE e.model_id = ?1"
			  " AND ((e.version_id IS NOT NULL AND e.to_stage IS NOT NULL)"
			  " OR e.kind IN (" REPLAY_KINDS ")) ORDER BY " P4R_SQL_LOG_ORDER)) < 0 ||
	    (rc = p4r_sql_bind_int(c->db, sel, 1, model_id)) < 0 ||
	    (rc = p4r_sql_prepare(c->db, &s.evict, "UPDATE versions SET stage = 'archived'"
			  " WHERE model_id = ?1 AND stage = ?2 AND id != ?3")) < 0 ||
	    /* a register event of a version still in development changes
	     * nothing: no write (a model of a million versions has a million) */
	    (rc = p4r_sql_prepare(c->db, &s.set, "UPDATE versions SET stage = ?1, rolled_back ="
			  " CASE WHEN ?1 = 'production' THEN 0 WHEN ?3 THEN 1 ELSE rolled_back END"
			  " WHERE id = ?2 AND (stage != ?1 OR rolled_back !="
			  " CASE WHEN ?1 = 'production' THEN 0 WHEN ?3 THEN 1 ELSE rolled_back END)")) < 0)
		goto done;
	while (rc == 0 && (rc = p4r_sql_step(c->db, sel)) == 1) {
		const char *kind = p4r_sql_col_text(sel, 1);

		rc = 0;
		if (sqlite3_column_type(sel, 0) != SQLITE_NULL && sqlite3_column_type(sel, 2) != SQLITE_NULL)
			rc = replay_stage(c, &s, model_id, sqlite3_column_int64(sel, 0), kind,
					  (const char *)sqlite3_column_text(sel, 2));
		if (rc == 0 && p4r_event_kind_labels(kind))
			rc = replay_label(c, model_id, sel);
	}
	if (rc == 0)
		rc = p4r_sql_exec(c->db, "UPDATE versions SET stage = 'archived' WHERE model_id = ?1"
				  " AND deleted_ms IS NOT NULL AND stage != 'archived'",
				  (p4r_sql_arg[]){ P4R_SQL_INT(model_id) }, 1, NULL, NULL);
done:
	sqlite3_finalize(sel);
	sqlite3_finalize(s.evict);
	sqlite3_finalize(s.set);
	return rc < 0 ? rc : 0;
}

int p4r_registry_sync_apply(p4r_registry *reg, const char *url, int64_t seq,
			    const p4r_sync_event *ev, size_t n,
			    p4r_renumber **ren, size_t *nren, size_t *applied)
{
	struct apply_ctx c = { .reg = reg, .db = p4r_registry_db(reg), .url = url, .seq = seq };
	size_t i;
	int rc;

	*ren = NULL;
	*nren = 0;
	*applied = 0;
	if ((rc = p4r_registry_begin(reg)) < 0)
		return rc;
	for (i = 0; i < n; i++)
		if ((rc = apply_one(&c, &ev[i], (int64_t)i)) < 0)
			goto fail;
	for (i = 0; i < c.registered.n; i++)
		if ((rc = renumber_model(&c, c.registered.v[i])) < 0)
			goto fail;
	for (i = 0; i < c.models.n; i++)
		if ((rc = replay(&c, c.models.v[i])) < 0)
			goto fail;
	for (i = 0; i < c.rebound.n; i++)
		if ((rc = replay_local_move(&c, c.rebound.v[i])) < 0)
			goto fail;
	if ((rc = set_applied(c.db, url, seq)) < 0)
		goto fail;
	if ((rc = p4r_registry_commit(reg)) < 0)
		goto done;
	*ren = c.ren;
	c.ren = NULL;
	*nren = c.nren;
	*applied = c.applied;
	goto done;
fail:
	p4r_registry_abort(reg);
done:
	free(c.ren);
	free(c.moved);
	free(c.models.v);
	free(c.registered.v);
	free(c.rebound.v);
	return rc;
}

int p4r_registry_sync_objects(p4r_registry *reg, char *const *models, size_t n_models,
			      p4r_oid **oids, int64_t **sizes, size_t *n)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	p4r_oid *o = NULL;
	int64_t *s = NULL;
	size_t count = 0, cap = 0;
	int rc;

	*oids = NULL;
	*sizes = NULL;
	*n = 0;
	/* Without a filter one row per oid; with one, duplicates across the
	 * named models are few and skipped below. */
	if ((rc = p4r_sql_prepare(db, &st, n_models ?
			  "SELECT m.name, v.oid, max(v.size) FROM versions v JOIN models m ON m.id = v.model_id"
			  " WHERE " P4R_SQL_LIVE("v") " GROUP BY m.name, v.oid ORDER BY v.oid" :
			  "SELECT '', oid, max(size) FROM versions WHERE " P4R_SQL_LIVE("versions")
			  " GROUP BY oid ORDER BY oid")) < 0)
		return rc;
	while ((rc = p4r_sql_step(db, st)) == 1) {
		const char *oid = (const char *)sqlite3_column_text(st, 1);
		size_t i;
		bool dup = false;

		if (!model_selected((const char *)sqlite3_column_text(st, 0), models, n_models))
			continue;
		for (i = 0; n_models && oid && i < count; i++)
			dup = dup || !strcmp(o[i].hex, oid);
		if (dup)
			continue;
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			void *p1 = realloc(o, ncap * sizeof(*o)), *p2;

			if (p1)
				o = p1;
			p2 = p1 ? realloc(s, ncap * sizeof(*s)) : NULL;
			if (!p1 || !p2) {
				rc = p4r_error_set(P4R_ERROR, "out of memory");
				break;
			}
			s = p2;
			cap = ncap;
		}
		if (!oid || p4r_oid_parse(&o[count], oid) < 0) {
			rc = p4r_error_set(P4R_EINTEGRITY, "registry: malformed oid in the database");
			break;
		}
		s[count++] = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	if (rc < 0) {
		free(o);
		free(s);
		return rc;
	}
	*oids = o;
	*sizes = s;
	*n = count;
	return 0;
}
