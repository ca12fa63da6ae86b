/* Helpers shared by the registry*.c files (internal to src/core): one way
 * to turn a SQLite failure into a p4reg error and to prepare a statement. */
#ifndef P4REG_REGISTRY_SQL_H
#define P4REG_REGISTRY_SQL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "p4reg/hash.h"

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
/* Runs a statement whose rows (if any) are not wanted: 0 or the error. */
int p4r_sql_run(sqlite3 *db, sqlite3_stmt *st);

/* Text column I, "" for NULL; valid until the next step. */
const char *p4r_sql_col_text(sqlite3_stmt *st, int i);
/* Column I as an oid when it is 64 lowercase hex digits: a damaged row
 * reads as false, never as a path. */
bool p4r_sql_col_oid(p4r_oid *out, sqlite3_stmt *st, int i);

#endif
