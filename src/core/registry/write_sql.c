/* The one writer of each of the tables models, versions and events: local
 * commands (registry.c) and the events a fetch applies (sync_sql.c) insert
 * their rows here, with the registry's cached statements (registry/sql.h). */
#include "registry/sql.h"

static int finish(p4r_registry *reg, sqlite3_stmt *st, int rc, int64_t *id)
{
	sqlite3 *db = p4r_registry_db(reg);

	if (rc == 0)
		rc = p4r_sql_run(db, st);
	if (rc == 0 && id)
		*id = sqlite3_last_insert_rowid(db);
	p4r_sql_release(st);
	return rc;
}

int p4r_sql_model_insert(p4r_registry *reg, const char *name, const char *path, int64_t created_ms,
			 int64_t *id)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = p4r_sql_cached(reg, P4R_ST_MODEL_INSERT, &st)) < 0)
		return rc;
	if ((rc = p4r_sql_bind_text(db, st, 1, name)) == 0 && (rc = p4r_sql_bind_text(db, st, 2, path)) == 0)
		rc = p4r_sql_bind_int(db, st, 3, created_ms);
	return finish(reg, st, rc, id);
}

/* ?I kind, ?I+1 files, ?I+2 tree_size: a file's count and total are NULL,
 * so the rows of a file version stay what they were before folders. */
static int bind_kind(sqlite3 *db, sqlite3_stmt *st, int i, const p4r_sql_version_row *row)
{
	bool dir = row->kind == P4R_KIND_DIR;
	int rc;

	if ((rc = p4r_sql_bind_text(db, st, i, dir ? "dir" : "file")) < 0)
		return rc;
	if (!dir)
		return 0; /* unbound parameters are NULL */
	if ((rc = p4r_sql_bind_int(db, st, i + 1, row->files)) < 0)
		return rc;
	return p4r_sql_bind_int(db, st, i + 2, row->tree_size);
}

int p4r_sql_version_insert(p4r_registry *reg, const p4r_sql_version_row *row, int64_t *id)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = p4r_sql_cached(reg, P4R_ST_VERSION_INSERT, &st)) < 0)
		return rc;
	if ((rc = p4r_sql_bind_int(db, st, 1, row->model_id)) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 2, row->oid->hex)) < 0 ||
	    (rc = p4r_sql_bind_int(db, st, 3, row->size)) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 4, row->author)) < 0 ||
	    (rc = p4r_sql_bind_int(db, st, 5, row->created_ms)) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 6, row->message)) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 7, row->source_path)) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 8, row->git_commit)) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 9, row->git_branch)) < 0 ||
	    (rc = p4r_sql_bind_int(db, st, 10, row->git_dirty)) < 0 ||
	    (rc = p4r_sql_bind_int(db, st, 11, row->number)) < 0)
		return finish(reg, st, rc, id);
	rc = bind_kind(db, st, 12, row);
	return finish(reg, st, rc, id);
}

static const char *stage_or_null(const char *s)
{
	return s && s[0] ? s : NULL;
}

int p4r_sql_event_insert(p4r_registry *reg, const p4r_sql_event_row *row, int64_t *id)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = p4r_sql_cached(reg, P4R_ST_EVENT_INSERT, &st)) < 0)
		return rc;
	if ((rc = p4r_sql_bind_int(db, st, 1, row->model_id)) < 0 ||
	    (rc = (row->version_id ? p4r_sql_bind_int(db, st, 2, row->version_id) :
				     p4r_sql_bind_text(db, st, 2, NULL))) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 3, row->kind)) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 4, stage_or_null(row->from_stage))) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 5, stage_or_null(row->to_stage))) < 0 ||
	    (rc = p4r_sql_bind_int(db, st, 6, row->forced)) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 7, row->actor)) < 0 ||
	    (rc = p4r_sql_bind_int(db, st, 8, row->at_ms)) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 9, row->reason)) < 0)
		return finish(reg, st, rc, id);
	rc = p4r_sql_bind_text(db, st, 10, row->detail);
	return finish(reg, st, rc, id);
}
