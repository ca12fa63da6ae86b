/* The stat cache of a whole folder in one query (registry.h): a folder
 * model's status or add asks about every file below it, and one range scan
 * of stat_cache's primary key costs what one lookup per file would cost
 * for a handful of files. */
#include "p4reg/registry.h"
#include "p4reg/error.h"

#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "registry/sql.h"

/* Paths below DIR are those from "DIR/" up to, not including, "DIR0":
 * '0' is the byte after '/', and BINARY collation compares bytes. */
static const char UNDER_SQL[] = "SELECT path, dev, ino, size, mtime_ns, ctime_ns, oid FROM stat_cache"
				" WHERE path >= ?1 || '/' AND path < ?1 || '0' ORDER BY path";

static int push_row(p4r_statcache_rows *out, sqlite3_stmt *st)
{
	p4r_statcache_row *r;

	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 64;
		p4r_statcache_row *v = realloc(out->v, cap * sizeof(*v));

		if (!v)
			return p4r_error_set(P4R_ERROR, "out of memory");
		out->v = v;
		out->cap = cap;
	}
	r = &out->v[out->n];
	/* a damaged row only costs a rehash: it is left out, not an error */
	if (!p4r_sql_col_oid(&r->oid, st, 6))
		return 0;
	if (!(r->path = strdup((const char *)sqlite3_column_text(st, 0))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	r->key = (p4r_stat_key){ .dev = sqlite3_column_int64(st, 1), .ino = sqlite3_column_int64(st, 2),
				 .size = sqlite3_column_int64(st, 3), .mtime_ns = sqlite3_column_int64(st, 4),
				 .ctime_ns = sqlite3_column_int64(st, 5) };
	out->n++;
	return 0;
}

int p4r_registry_statcache_under(p4r_registry *reg, const char *dir, p4r_statcache_rows *out)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	bool row = true;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = p4r_sql_prepare(db, &st, UNDER_SQL)) < 0 || (rc = p4r_sql_bind_text(db, st, 1, dir)) < 0)
		goto done;
	while (rc == 0 && (rc = p4r_sql_row(db, st, &row)) == 0 && row)
		rc = push_row(out, st);
done:
	sqlite3_finalize(st);
	if (rc < 0)
		p4r_statcache_rows_clear(out);
	return rc;
}

static int row_cmp(const void *path, const void *row)
{
	return strcmp(path, ((const p4r_statcache_row *)row)->path);
}

bool p4r_statcache_rows_find(const p4r_statcache_rows *rows, const char *path, const p4r_stat_key *key,
			     p4r_oid *oid)
{
	const p4r_statcache_row *r = rows->n ? bsearch(path, rows->v, rows->n, sizeof(*r), row_cmp) : NULL;

	if (!r || r->key.dev != key->dev || r->key.ino != key->ino || r->key.size != key->size ||
	    r->key.mtime_ns != key->mtime_ns || r->key.ctime_ns != key->ctime_ns)
		return false;
	*oid = r->oid;
	return true;
}

void p4r_statcache_rows_clear(p4r_statcache_rows *rows)
{
	size_t i;

	for (i = 0; i < rows->n; i++)
		free(rows->v[i].path);
	free(rows->v);
	memset(rows, 0, sizeof(*rows));
}
