/* Error translation and statement preparation for the registry*.c files. */
#include "registry/sql.h"
#include "p4reg/error.h"

#include <stddef.h>
#include <string.h>

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

int p4r_sql_bind_text(sqlite3 *db, sqlite3_stmt *st, int i, const char *s)
{
	int rc = s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);

	return rc == SQLITE_OK ? 0 : p4r_sql_error(db);
}

int p4r_sql_bind_int(sqlite3 *db, sqlite3_stmt *st, int i, int64_t v)
{
	return sqlite3_bind_int64(st, i, v) == SQLITE_OK ? 0 : p4r_sql_error(db);
}

int p4r_sql_bind_oid(sqlite3 *db, sqlite3_stmt *st, int i, const p4r_oid *oid)
{
	if (sqlite3_bind_text(st, i, oid->hex, P4R_OID_HEXLEN, SQLITE_STATIC) != SQLITE_OK)
		return p4r_sql_error(db);
	return 0;
}

int p4r_sql_step(sqlite3 *db, sqlite3_stmt *st)
{
	int s = sqlite3_step(st);

	if (s == SQLITE_ROW)
		return 1;
	if (s == SQLITE_DONE)
		return 0;
	return p4r_sql_error(db);
}

int p4r_sql_run(sqlite3 *db, sqlite3_stmt *st)
{
	int rc = p4r_sql_step(db, st);

	return rc < 0 ? rc : 0;
}

const char *p4r_sql_col_text(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return s ? s : "";
}

bool p4r_sql_col_oid(p4r_oid *out, sqlite3_stmt *st, int i)
{
	const char *s = p4r_sql_col_text(st, i);

	if (!p4r_oid_valid(s))
		return false;
	memcpy(out->hex, s, P4R_OID_HEXLEN);
	out->hex[P4R_OID_HEXLEN] = '\0';
	return true;
}

int p4r_sql_row(sqlite3 *db, sqlite3_stmt *st, bool *row)
{
	int rc = p4r_sql_step(db, st);

	*row = rc == 1;
	return rc < 0 ? rc : 0;
}

void p4r_sql_release(sqlite3_stmt *st)
{
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
}

int p4r_sql_exec(sqlite3 *db, const char *sql, const p4r_sql_arg *args, size_t n, int64_t *out,
		 bool *found)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc;

	if (found)
		*found = false;
	if ((rc = p4r_sql_prepare(db, &st, sql)) < 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++)
		rc = args[i].is_text ? p4r_sql_bind_text(db, st, (int)i + 1, args[i].text) :
		     p4r_sql_bind_int(db, st, (int)i + 1, args[i].num);
	if (rc == 0 && (rc = p4r_sql_step(db, st)) == 1) {
		if (out)
			*out = sqlite3_column_int64(st, 0);
		if (found)
			*found = true;
	}
	sqlite3_finalize(st);
	return rc < 0 ? rc : 0;
}
