/* Error translation and statement preparation for the registry*.c files. */
#include "registry_sql.h"
#include "p4reg/error.h"

#include <stddef.h>

int p4r_sql_error(sqlite3 *db)
{
	int primary = sqlite3_errcode(db) & 0xff;
	int code = (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) ?
		   P4R_EINTEGRITY : P4R_ERROR;

	return p4r_error_set(code, "registry: %s", sqlite3_errmsg(db));
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
