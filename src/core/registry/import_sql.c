/* Versions from another tool's history (see imported.h): what the
 * registry knows of a model, and the registration of a version with the
 * author, date and commit it had there. */
#include "p4reg/imported.h"
#include "p4reg/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/sql.h"

int p4r_registry_known_versions(p4r_registry *reg, const char *model, p4r_known_version **out, size_t *n)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	p4r_known_version *v = NULL;
	size_t cap = 0, count = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = p4r_sql_prepare(db, &st, "SELECT v.number, v.oid, v.git_commit, v.deleted_ms IS NOT NULL, v.size,"
				  " coalesce(v.tree_size, 0)"
				  " FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name = ?1"
				  " ORDER BY v.number")) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 1, model)) < 0)
		goto done;
	while ((rc = p4r_sql_step(db, st)) == 1) {
		p4r_known_version *k;

		if (count == cap) {
			size_t grown = cap ? cap * 2 : 16;
			void *p = realloc(v, grown * sizeof(*v));

			if (!p) {
				rc = p4r_error_set(P4R_ERROR, "out of memory");
				goto done;
			}
			v = p;
			cap = grown;
		}
		k = &v[count];
		memset(k, 0, sizeof(*k));
		/* a damaged oid matches nothing, so the change is imported again */
		if (!p4r_sql_col_oid(&k->oid, st, 1))
			memset(&k->oid, 0, sizeof(k->oid));
		k->number = sqlite3_column_int64(st, 0);
		snprintf(k->git_commit, sizeof(k->git_commit), "%s", p4r_sql_col_text(st, 2));
		k->deleted = sqlite3_column_int(st, 3) != 0;
		k->size = sqlite3_column_int64(st, 4);
		k->tree_size = sqlite3_column_int64(st, 5);
		count++;
	}
	if (rc == 0) {
		*out = v;
		*n = count;
		v = NULL;
	}
done:
	sqlite3_finalize(st);
	free(v);
	return rc;
}

/* The model IN->model bound to IN->path: its id, created when new, else
 * P4R_EEXISTS as add says it (registry.c's check_binding). */
static int bind_model(p4r_registry *reg, const p4r_version_input *in, int64_t *model_id)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	bool found = false;
	int rc;

	if ((rc = p4r_sql_prepare(db, &st, "SELECT id, path FROM models WHERE name = ?1")) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 1, in->model)) < 0 || (rc = p4r_sql_row(db, st, &found)) < 0)
		goto done;
	if (found) {
		*model_id = sqlite3_column_int64(st, 0);
		if (strcmp(p4r_sql_col_text(st, 1), in->path))
			rc = p4r_error_set(P4R_EEXISTS, "model '%s' is bound to '%s', not '%s'", in->model,
					   p4r_sql_col_text(st, 1), in->path);
		goto done;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = p4r_sql_prepare(db, &st, "SELECT name FROM models WHERE path = ?1")) < 0 ||
	    (rc = p4r_sql_bind_text(db, st, 1, in->path)) < 0 || (rc = p4r_sql_row(db, st, &found)) < 0)
		goto done;
	if (found) {
		rc = p4r_error_set(P4R_EEXISTS, "'%s' is already registered as model '%s'", in->path,
				   p4r_sql_col_text(st, 0));
		goto done;
	}
	rc = p4r_sql_model_insert(reg, in->model, in->path, in->now_ms, model_id);
done:
	sqlite3_finalize(st);
	return rc;
}

static int import_txn(p4r_registry *reg, const p4r_version_input *in, const char *detail, int64_t *number)
{
	p4r_sql_version_row vrow;
	p4r_sql_event_row erow;
	int64_t model_id = 0, version_id = 0;
	int rc;

	if ((rc = bind_model(reg, in, &model_id)) < 0)
		return rc;
	/* the number is computed by the INSERT, under the write lock */
	vrow = (p4r_sql_version_row){ .model_id = model_id, .oid = &in->oid, .size = in->size,
				      .author = in->author, .created_ms = in->now_ms,
				      .message = in->message ? in->message : "", .source_path = in->path,
				      .git_commit = in->git_commit, .git_branch = in->git_branch,
				      .git_dirty = in->git_dirty, .kind = in->kind, .files = in->files,
				      .tree_size = in->tree_size };
	if ((rc = p4r_sql_version_insert(reg, &vrow, &version_id)) < 0)
		return rc;
	erow = (p4r_sql_event_row){ .model_id = model_id, .version_id = version_id, .kind = "register",
				    .to_stage = "development", .actor = in->author, .at_ms = in->now_ms,
				    .reason = in->message ? in->message : "", .detail = detail };
	if ((rc = p4r_sql_event_insert(reg, &erow, NULL)) < 0)
		return rc;
	return number ? p4r_sql_exec(p4r_registry_db(reg), "SELECT number FROM versions WHERE id = ?1",
				     (p4r_sql_arg[]){ P4R_SQL_INT(version_id) }, 1, number, NULL) : 0;
}

int p4r_registry_import_version(p4r_registry *reg, const p4r_version_input *in, const char *detail,
				int64_t *number)
{
	p4r_event ev = { .version = 1, .actor = (char *)(in->author ? in->author : ""),
			 .reason = (char *)(in->message ? in->message : ""), .at_ms = in->now_ms,
			 .detail = (char *)detail };
	int rc;

	if (!p4r_model_name_valid(in->model))
		return p4r_error_set(P4R_EUSAGE, "invalid model name '%s'", in->model ? in->model : "");
	if (!in->author)
		return p4r_error_set(P4R_EUSAGE, "version of model '%s' has no author", in->model);
	if (in->kind != P4R_KIND_DIR && (in->kind != P4R_KIND_FILE || in->files || in->tree_size))
		return p4r_error_set(P4R_EUSAGE, "a file version of model '%s' has no file count or tree size",
				     in->model);
	snprintf(ev.model, sizeof(ev.model), "%s", in->model);
	snprintf(ev.kind, sizeof(ev.kind), "register");
	snprintf(ev.to_stage, sizeof(ev.to_stage), "development");
	/* what a remote would refuse must not be recorded (registry.c) */
	if ((rc = p4r_version_input_check(in)) < 0 || (rc = p4r_event_check(&ev)) < 0 ||
	    (rc = p4r_registry_begin(reg)) < 0)
		return rc;
	if ((rc = import_txn(reg, in, detail, number)) < 0) {
		p4r_registry_abort(reg);
		return rc;
	}
	return p4r_registry_commit(reg);
}
