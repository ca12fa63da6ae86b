/* Helpers shared by the registry*.c files (internal to src/core): one way
 * to turn a SQLite failure into a p4reg error and to prepare a statement. */
#ifndef P4REG_REGISTRY_SQL_H
#define P4REG_REGISTRY_SQL_H

#include <sqlite3.h>

/* Sets the error from DB's last failure and returns its code: P4R_EINTEGRITY
 * "registry 'PATH' is damaged (...)" for a corrupt database or a file that
 * is not one, P4R_ERROR "cannot change registry 'PATH': it is read-only"
 * for a write to a read-only one, P4R_ERROR "registry: <message>" otherwise. */
int p4r_sql_error(sqlite3 *db);

/* Prepares SQL into *ST (NULL on failure, with the error set). */
int p4r_sql_prepare(sqlite3 *db, sqlite3_stmt **st, const char *sql);

#endif
