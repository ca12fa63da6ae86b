/* Objects related to an object: the other versions of the models that
 * have it. A push or a download of a version moves only the chunks those
 * lack (remote/chunked.c), so this is asked once per large object. */
#include "p4reg/registry.h"
#include "p4reg/error.h"

#include <stdlib.h>
#include <string.h>

#include "registry/sql.h"

/* Newest first: the versions most like the one moved. Deleted versions
 * count too (their bytes may still be here or there); versions_oid finds
 * the models, then (model_id, number) their versions. */
static const char related_sql[] =
	"SELECT o.oid, o.size FROM versions v JOIN versions o ON o.model_id = v.model_id"
	" WHERE v.oid = ?1 AND o.oid <> ?1 AND o.size >= ?2"
	" GROUP BY o.oid ORDER BY MAX(o.number) DESC LIMIT ?3";

int p4r_registry_related_objects(p4r_registry *reg, const p4r_oid *oid, uint64_t min_size, size_t max,
				 p4r_oid **out, size_t *n)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	p4r_oid *v = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	if (max == 0)
		return 0;
	if (!(v = calloc(max, sizeof(*v))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	if ((rc = p4r_sql_prepare(db, &st, related_sql)) < 0 ||
	    (rc = p4r_sql_bind_oid(db, st, 1, oid)) < 0 ||
	    (rc = p4r_sql_bind_int(db, st, 2, (int64_t)min_size)) < 0 ||
	    (rc = p4r_sql_bind_int(db, st, 3, (int64_t)max)) < 0)
		goto done;
	while (*n < max && (rc = p4r_sql_step(db, st)) == 1) {
		const char *hex = (const char *)sqlite3_column_text(st, 0);

		/* a row that is not an oid names nothing to read */
		if (hex && p4r_oid_parse(&v[*n], hex) == 0)
			(*n)++;
		else
			p4r_error_clear();
	}
	rc = rc < 0 ? rc : 0;
done:
	sqlite3_finalize(st);
	if (rc < 0) {
		free(v);
		*n = 0;
	} else {
		*out = v;
	}
	return rc;
}
