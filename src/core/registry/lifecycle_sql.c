/* The SQL of the lifecycle: setting a version's stage and reading a model's
 * production history from the events, in the shared log's order (see
 * lifecycle.h). Statements bind every parameter; writes join the caller's
 * transaction. */
#include "p4reg/lifecycle.h"
#include "p4reg/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "registry/sql.h"

int p4r_registry_stage_set(p4r_registry *reg, int64_t version_id, p4r_stage stage, int rolled_back)
{
	sqlite3 *db = p4r_registry_db(reg);
	const char *name = p4r_stage_name(stage);
	sqlite3_stmt *st = NULL;
	int rc;

	if (!name)
		return p4r_error_set(P4R_EUSAGE, "unknown stage %d", (int)stage);
	if ((rc = p4r_sql_prepare(db, &st, "UPDATE versions SET stage = ?1,"
			  " rolled_back = CASE WHEN ?2 < 0 THEN rolled_back ELSE ?2 END"
			  " WHERE id = ?3")) < 0)
		return rc;
	if (sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int(st, 2, rolled_back < 0 ? -1 : rolled_back ? 1 : 0) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, version_id) != SQLITE_OK) {
		rc = p4r_sql_error(db);
		goto done;
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = p4r_sql_error(db);
		goto done;
	}
	if (sqlite3_changes(db) != 1)
		rc = p4r_error_set(P4R_ERROR, "registry: version row %lld vanished", (long long)version_id);
done:
	sqlite3_finalize(st);
	return rc;
}

int p4r_registry_production_history(p4r_registry *reg, const char *model,
				    p4r_prod_entry **out, size_t *n)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	p4r_prod_entry *arr = NULL;
	size_t cap = 0, count = 0;
	int rc, s;

	*out = NULL;
	*n = 0;
	/* Each version once, at its most recent entry into production in the
	 * shared log's order (registry/sql.h): positions count only the
	 * entries, which keeps their order. A deleted version (p4reg rm) is
	 * never a rollback target: rollback walks past it. */
	if ((rc = p4r_sql_prepare(db, &st, "SELECT v.number, v.rolled_back, max(p.pos) AS last"
			  " FROM (SELECT e.version_id, row_number() OVER (ORDER BY " P4R_SQL_LOG_ORDER
			  ") AS pos FROM events e" P4R_SQL_LOG_JOIN
			  " JOIN models m ON m.id = e.model_id"
			  " WHERE m.name = ?1 AND e.to_stage = 'production'"
			  " AND e.kind IN ('promote', 'rollback')) p"
			  " JOIN versions v ON v.id = p.version_id AND " P4R_SQL_LIVE("v")
			  " GROUP BY v.id ORDER BY last DESC")) < 0)
		return rc;
	if (sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC) != SQLITE_OK) {
		rc = p4r_sql_error(db);
		goto done;
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			void *p = ncap < SIZE_MAX / sizeof(*arr) ? realloc(arr, ncap * sizeof(*arr)) : NULL;

			if (!p) {
				rc = p4r_error_set(P4R_ERROR, "out of memory");
				goto done;
			}
			arr = p;
			cap = ncap;
		}
		arr[count].number = sqlite3_column_int64(st, 0);
		arr[count].rolled_back = sqlite3_column_int(st, 1) != 0;
		count++;
	}
	if (s != SQLITE_DONE)
		rc = p4r_sql_error(db);
done:
	sqlite3_finalize(st);
	if (rc < 0) {
		free(arr);
		return rc;
	}
	*out = arr;
	*n = count;
	return 0;
}
