/* Deleting a version (see deletion.h): the "delete" event and what it does
 * to the rows, for p4reg rm and for a fetch's replay. */
#include "p4reg/deletion.h"
#include "p4reg/batch.h"
#include "p4reg/error.h"

#include <stdio.h>
#include <string.h>

#include "registry/sql.h"

int p4r_sql_delete_apply(p4r_registry *reg, const p4r_sql_label_event *e)
{
	sqlite3 *db = p4r_registry_db(reg);
	int rc;

	/* the first deletion's time stays: a replay meets each event once,
	 * and a second delete of one version is nothing new */
	if ((rc = p4r_sql_exec(db, "UPDATE versions SET deleted_ms = coalesce(deleted_ms, ?2),"
			       " stage = 'archived' WHERE id = ?1",
			       (p4r_sql_arg[]){ P4R_SQL_INT(e->version_id), P4R_SQL_INT(e->at_ms) }, 2,
			       NULL, NULL)) < 0)
		return rc;
	return p4r_sql_exec(db, "DELETE FROM aliases WHERE version_id = ?1",
			    (p4r_sql_arg[]){ P4R_SQL_INT(e->version_id) }, 1, NULL, NULL);
}

static int delete_txn(p4r_registry *reg, const p4r_delete_req *req, const p4r_event *ev)
{
	p4r_version v = { 0 };
	int64_t model_id = 0;
	p4r_sql_event_row row;
	p4r_sql_label_event e;
	int rc;

	if ((rc = p4r_sql_model_id(reg, req->model, &model_id)) < 0 ||
	    (rc = p4r_registry_version_get(reg, req->model, req->number, &v)) < 0)
		goto done;
	row = (p4r_sql_event_row){ .model_id = model_id, .version_id = v.id, .kind = P4R_EVENT_DELETE,
				   .from_stage = p4r_stage_name(v.stage), .to_stage = "archived",
				   .forced = req->forced, .actor = ev->actor, .at_ms = ev->at_ms,
				   .reason = ev->reason };
	e = (p4r_sql_label_event){ .model_id = model_id, .version_id = v.id, .kind = P4R_EVENT_DELETE,
				   .actor = ev->actor, .at_ms = ev->at_ms };
	if ((rc = p4r_sql_event_insert(reg, &row, NULL)) == 0)
		rc = p4r_sql_delete_apply(reg, &e);
done:
	p4r_version_clear(&v);
	return rc;
}

int p4r_registry_version_delete(p4r_registry *reg, const p4r_delete_req *req)
{
	p4r_event ev = { .version = req->number, .forced = req->forced,
			 .actor = (char *)(req->actor ? req->actor : "unknown"),
			 .reason = (char *)(req->reason ? req->reason : ""),
			 .at_ms = req->now_ms ? req->now_ms : p4r_now_ms() };
	int rc;

	if (!p4r_model_name_valid(req->model))
		return p4r_error_set(P4R_EUSAGE, "invalid model name '%s'", req->model ? req->model : "");
	snprintf(ev.model, sizeof(ev.model), "%s", req->model);
	snprintf(ev.kind, sizeof(ev.kind), "%s", P4R_EVENT_DELETE);
	snprintf(ev.from_stage, sizeof(ev.from_stage), "development");
	snprintf(ev.to_stage, sizeof(ev.to_stage), "archived");
	if ((rc = p4r_event_check(&ev)) < 0 || (rc = p4r_registry_begin(reg)) < 0)
		return rc;
	if ((rc = delete_txn(reg, req, &ev)) < 0) {
		p4r_registry_abort(reg);
		return rc;
	}
	return p4r_registry_commit(reg);
}
