/* Helpers shared by the registry*.c files (internal to src/core): one way
 * to turn a SQLite failure into a p4reg error and to prepare a statement. */
#ifndef P4REG_REGISTRY_SQL_H
#define P4REG_REGISTRY_SQL_H

#include <sqlite3.h>

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

#endif
