/* Error translation and statement preparation for the registry*.c files. */
#include "registry_sql.h"
#include "p4reg/error.h"

#include <stddef.h>

int p4r_sql_error(sqlite3 *db)
{
	const char *path = sqlite3_db_filename(db, "main");
	int primary = sqlite3_errcode(db) & 0xff;

	if (!path || !*path)
		path = "registry.db";
	/* damage found mid-command: the file is named and fsck is the next step */
	if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB)
		return p4r_error_set(P4R_EINTEGRITY, "registry '%s' is damaged (%s): run 'p4reg fsck'",
				     path, sqlite3_errmsg(db));
	/* a read-only repository answers questions but takes no changes */
	if (primary == SQLITE_READONLY)
		return p4r_error_set(P4R_ERROR, "cannot change registry '%s': it is read-only (%s)",
				     path, sqlite3_errmsg(db));
	return p4r_error_set(P4R_ERROR, "registry: %s", sqlite3_errmsg(db));
}

int p4r_sql_prepare(sqlite3 *db, sqlite3_stmt **st, const char *sql)
{
	*st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK) {
		sqlite3_finalize(*st);
		*st = NULL;
		return p4r_sql_error(db);
	}
	return 0;
}
