/* Helpers shared by the registry*.c files (internal to src/core): one way
 * to turn a SQLite failure into a p4reg error, to prepare, bind and step a
 * statement, one statement cache, and the one writer of each of the tables
 * models, versions and events. */
#ifndef P4REG_REGISTRY_SQL_H
#define P4REG_REGISTRY_SQL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "p4reg/hash.h"
#include "p4reg/registry.h"

/* The raw handle, for the registry*.c files (and unit tests that look at
 * the rows); not part of the public header. */
sqlite3 *p4r_registry_db(p4r_registry *reg);

/* The statement cache: the hot statements of all registry*.c files, one
 * id each (the SQL is the table stmt_sql in registry.c, next to the read
 * shapes its SELECTs share). A file that wants a statement cached adds
 * its id here and its SQL there. */
enum p4r_sql_id {
	P4R_ST_MODEL_BY_NAME,
	P4R_ST_MODEL_BY_PATH,
	P4R_ST_MODEL_LIST,
	P4R_ST_MODEL_ID,
	P4R_ST_MODEL_NAME_BY_PATH,
	P4R_ST_MODEL_INSERT,
	P4R_ST_SAME_OID,
	P4R_ST_VERSION_INSERT,
	P4R_ST_VERSION_ID,
	P4R_ST_VERSION_BY_ID,
	P4R_ST_VERSION_GET,
	P4R_ST_VERSION_LATEST,
	P4R_ST_VERSION_IN_STAGE,
	P4R_ST_VERSION_LIST,
	P4R_ST_OID_REFERENCED,
	P4R_ST_EVENT_INSERT,
	P4R_ST_EVENT_LIST_ALL,
	P4R_ST_EVENT_LIST_MODEL,
	P4R_ST_EVENT_WALK,
	P4R_ST_EVENT_COUNT_MODEL,
	P4R_ST_EVENT_MAX_ID,
	P4R_ST_STAT_GET,
	P4R_ST_STAT_PUT,
	P4R_ST_MODEL_SET_PATH,
	P4R_ST_STAT_DELETE,
	P4R_ST_MANIFEST_PUT,
	P4R_ST_MANIFEST_GET,
	P4R_ST_MANIFEST_HAS,
	P4R_ST_COUNT
};

/* Statement ID of REG into *OUT, reset and unbound, prepared (persistent)
 * on first use; REG owns it until p4r_registry_free. End each use with
 * p4r_sql_release. */
int p4r_sql_cached(p4r_registry *reg, enum p4r_sql_id id, sqlite3_stmt **out);

/* Ends a cached statement's use (NULL is fine): a statement left mid-step
 * would pin a WAL read snapshot. */
void p4r_sql_release(sqlite3_stmt *st);

/* The shared log's order of events (docs/remotes.md, "Merge rules";
 * docs/lifecycle.md, "Rollback"): events published to or fetched from the
 * remote by their position there (batch seq, then index in the batch), then
 * this registry's unpublished events in the order they were made. Local
 * event ids alone are not that order: a fetch appends the remote's events
 * after local unpublished ones. Every machine with the same log orders its
 * events the same way, and a push does not reorder them (it publishes the
 * unpublished events after everything fetched, in id order). Use it as
 * "FROM events e" P4R_SQL_LOG_JOIN "... ORDER BY " P4R_SQL_LOG_ORDER. */
#define P4R_SQL_LOG_JOIN " LEFT JOIN event_sync s ON s.event_id = e.id"
#define P4R_SQL_LOG_ORDER "s.seq IS NULL, s.seq, s.idx, e.id"
/* The same order reversed (newest first): to keep the last N events. */
#define P4R_SQL_LOG_ORDER_DESC "s.seq IS NULL DESC, s.seq DESC, s.idx DESC, e.id DESC"

/* The SELECT of a version row (registry.c's, "... FROM versions v JOIN
 * models m ON m.id = v.model_id"), for queries of other files that add
 * their own WHERE; p4r_sql_read_version reads its rows (OUT cleared on
 * failure). */
extern const char p4r_sql_version_select[];
int p4r_sql_read_version(p4r_version *out, sqlite3_stmt *st);

/* A version row that was not deleted (p4reg rm): what every query that
 * lists, counts, resolves or keeps the objects of versions sees. A deleted
 * row stays for its number (never reused) and its events' foreign keys.
 * Use it as "WHERE ... AND " P4R_SQL_LIVE("v"). */
#define P4R_SQL_LIVE(v) v ".deleted_ms IS NULL"

/* Sets the error from DB's last failure and returns its code: P4R_EINTEGRITY
 * "registry 'PATH' is damaged (...)" for a corrupt database or a file that
 * is not one, P4R_ERROR "cannot change registry 'PATH': it is read-only"
 * for a write to a read-only one, P4R_ERROR "registry: <message>" otherwise. */
int p4r_sql_error(sqlite3 *db);

/* Prepares SQL into *ST (NULL on failure, with the error set). */
int p4r_sql_prepare(sqlite3 *db, sqlite3_stmt **st, const char *sql);

/* Binders: 0, or the error of DB. Text is copied (NULL binds NULL); an oid
 * binds its 64 hex digits. */
int p4r_sql_bind_text(sqlite3 *db, sqlite3_stmt *st, int i, const char *s);
int p4r_sql_bind_int(sqlite3 *db, sqlite3_stmt *st, int i, int64_t v);
int p4r_sql_bind_oid(sqlite3 *db, sqlite3_stmt *st, int i, const p4r_oid *oid);

/* Steps ST once: 1 for a row, 0 when done, the error of DB otherwise. */
int p4r_sql_step(sqlite3 *db, sqlite3_stmt *st);
/* p4r_sql_step for callers that keep the answer in a flag: 0 with *ROW
 * set, or the error of DB. */
int p4r_sql_row(sqlite3 *db, sqlite3_stmt *st, bool *row);
/* Runs a statement whose rows (if any) are not wanted: 0 or the error. */
int p4r_sql_run(sqlite3 *db, sqlite3_stmt *st);

/* One bound value of p4r_sql_exec: text (NULL binds NULL) or an integer. */
typedef struct p4r_sql_arg {
	bool is_text;
	const char *text;
	int64_t num;
} p4r_sql_arg;
#define P4R_SQL_TEXT(s) ((p4r_sql_arg){ .is_text = true, .text = (s) })
#define P4R_SQL_INT(v) ((p4r_sql_arg){ .num = (v) })

/* Prepares SQL (not cached: for statements a command runs a few times),
 * binds ARGS[0..N) to ?1..?N and steps it once. With OUT (nullable) a row's
 * first column is read into *OUT and *FOUND (nullable) says whether there
 * was a row; without, any rows are ignored. 0 or the error of DB. */
int p4r_sql_exec(sqlite3 *db, const char *sql, const p4r_sql_arg *args, size_t n, int64_t *out,
		 bool *found);

/* Text column I, "" for NULL; valid until the next step. */
const char *p4r_sql_col_text(sqlite3_stmt *st, int i);
/* Column I as an oid when it is 64 lowercase hex digits: a damaged row
 * reads as false, never as a path. */
bool p4r_sql_col_oid(p4r_oid *out, sqlite3_stmt *st, int i);

/* The row id of model NAME: P4R_ENOTFOUND "unknown model 'x'" (registry.c,
 * through the statement cache: cheaper than p4r_registry_model_get). */
int p4r_sql_model_id(p4r_registry *reg, const char *name, int64_t *id);

/* ---- the one writer of each table (write_sql.c) ----
 * Local commands (registry.c) and a remote's log (sync_sql.c) add rows
 * through these, inside the caller's transaction, with cached statements. */

/* A row of models: *ID (nullable) gets its id. */
int p4r_sql_model_insert(p4r_registry *reg, const char *name, const char *path, int64_t created_ms,
			 int64_t *id);

/* A row of versions, stage development. Text NULL binds NULL. */
typedef struct p4r_sql_version_row {
	int64_t model_id;
	int64_t number;    /* as the remote's log says; 0: the model's next,
			    * computed by the INSERT under the write lock */
	const p4r_oid *oid;
	int64_t size;
	const char *author;
	int64_t created_ms;
	const char *message;
	const char *source_path;
	const char *git_commit;
	const char *git_branch;
	int64_t git_dirty;
	p4r_version_kind kind; /* a file binds files and tree_size as NULL */
	int64_t files;
	int64_t tree_size;
} p4r_sql_version_row;
int p4r_sql_version_insert(p4r_registry *reg, const p4r_sql_version_row *row, int64_t *id);

/* A row of events. Stages "" or NULL bind NULL, as does VERSION_ID 0;
 * other text NULL binds NULL. */
typedef struct p4r_sql_event_row {
	int64_t model_id;
	int64_t version_id;
	const char *kind;
	const char *from_stage;
	const char *to_stage;
	int64_t forced;
	const char *actor;
	int64_t at_ms;
	const char *reason;
	const char *detail;
} p4r_sql_event_row;
int p4r_sql_event_insert(p4r_registry *reg, const p4r_sql_event_row *row, int64_t *id);

/* ---- what an alias, tag, describe or delete event does to the rows ----
 * The one writer of the tables aliases, version_tags and model_tags and of
 * models.description and versions.deleted_ms (alias_sql.c, tag_sql.c,
 * delete_sql.c): a local command applies its own event through it, and a
 * fetch's replay (sync_sql.c) applies every event of those kinds in the
 * shared log's order through it, so both leave the same rows. Joins the
 * caller's transaction. */
typedef struct p4r_sql_label_event {
	int64_t model_id;
	int64_t version_id;   /* 0: about the model */
	const char *kind;
	const char *actor;
	int64_t at_ms;
	const char *detail;   /* the event's JSON text, already validated (batch.c) */
} p4r_sql_label_event;

/* alias-set (a deleted version gets no alias) and alias-delete. */
int p4r_sql_alias_apply(p4r_registry *reg, const p4r_sql_label_event *e);
/* tag-set, tag-delete (a version's tags, or the model's when VERSION_ID is
 * 0) and describe. */
int p4r_sql_tag_apply(p4r_registry *reg, const p4r_sql_label_event *e);
/* delete: the version is deleted at AT_MS (once), archived, and loses its
 * aliases. */
int p4r_sql_delete_apply(p4r_registry *reg, const p4r_sql_label_event *e);

#endif
