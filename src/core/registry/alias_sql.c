/* The aliases of models (see alias.h): the name rules, setting, moving and
 * removing one with its event in one transaction, and the queries that
 * list and resolve them. Every statement binds its parameters. */
#include "p4reg/alias.h"
#include "p4reg/batch.h"
#include "p4reg/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/sql.h"

/* The names a reference already reads as something else (ref.c). */
static const char *reserved_why(const char *name)
{
	size_t i;

	for (i = 0; i < P4R_STAGE_COUNT; i++)
		if (!strcmp(name, p4r_stage_name((p4r_stage)i)))
			return "it is a stage (name@STAGE is the version in that stage)";
	if (!strcmp(name, "latest"))
		return "name@latest is the highest version";
	if (name[0] == 'v' && name[1]) {
		for (i = 1; name[i] >= '0' && name[i] <= '9'; i++)
			;
		if (!name[i])
			return "it reads as a version number (name@v3 is version 3)";
	}
	return NULL;
}

static bool syntax_ok(const char *name)
{
	size_t i;

	if (!name || !(name[0] >= 'a' && name[0] <= 'z'))
		return false;
	for (i = 0; name[i]; i++) {
		char c = name[i];

		if (i >= P4R_ALIAS_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

bool p4r_alias_name_valid(const char *name)
{
	return syntax_ok(name) && !reserved_why(name);
}

int p4r_alias_name_check(const char *name)
{
	const char *why;

	if (!syntax_ok(name))
		return p4r_error_set(P4R_EUSAGE, "invalid alias name '%s': 1..%d of a-z, 0-9, '-' and"
				     " '_', starting with a letter", name ? name : "", P4R_ALIAS_NAME_MAX);
	if ((why = reserved_why(name)))
		return p4r_error_set(P4R_EUSAGE, "alias name '%s' is reserved: %s", name, why);
	return 0;
}

void p4r_alias_array_free(p4r_alias_entry *a, size_t n)
{
	size_t i;

	for (i = 0; a && i < n; i++)
		free(a[i].actor);
	free(a);
}

int p4r_sql_alias_apply(p4r_registry *reg, const p4r_sql_label_event *e)
{
	sqlite3 *db = p4r_registry_db(reg);

	if (!strcmp(e->kind, P4R_EVENT_ALIAS_DELETE))
		return p4r_sql_exec(db, "DELETE FROM aliases WHERE model_id = ?1"
				    " AND name = json_extract(?2, '$.alias')",
				    (p4r_sql_arg[]){ P4R_SQL_INT(e->model_id), P4R_SQL_TEXT(e->detail) }, 2,
				    NULL, NULL);
	/* one name, one version: setting it again moves it */
	return p4r_sql_exec(db, "INSERT OR REPLACE INTO aliases(model_id, name, version_id, actor, set_ms)"
			    " SELECT ?1, json_extract(?2, '$.alias'), id, ?4, ?5 FROM versions"
			    " WHERE id = ?3 AND model_id = ?1 AND " P4R_SQL_LIVE("versions"),
			    (p4r_sql_arg[]){ P4R_SQL_INT(e->model_id), P4R_SQL_TEXT(e->detail),
					     P4R_SQL_INT(e->version_id), P4R_SQL_TEXT(e->actor),
					     P4R_SQL_INT(e->at_ms) }, 5, NULL, NULL);
}

/* The version row an alias names now: *VERSION_ID (0: none) and *NUMBER. */
static int alias_target(p4r_registry *reg, int64_t model_id, const char *name, int64_t *version_id,
			int64_t *number)
{
	sqlite3 *db = p4r_registry_db(reg);
	bool found = false;
	int rc;

	*version_id = *number = 0;
	if ((rc = p4r_sql_exec(db, "SELECT version_id FROM aliases WHERE model_id = ?1 AND name = ?2",
			       (p4r_sql_arg[]){ P4R_SQL_INT(model_id), P4R_SQL_TEXT(name) }, 2,
			       version_id, &found)) < 0 || !found)
		return rc;
	return p4r_sql_exec(db, "SELECT number FROM versions WHERE id = ?1",
			    (p4r_sql_arg[]){ P4R_SQL_INT(*version_id) }, 1, number, NULL);
}

/* Records event KIND on VERSION_ID with the alias's detail and applies it. */
static int alias_event(p4r_registry *reg, const p4r_alias_req *req, const char *kind, int64_t model_id,
		       int64_t version_id)
{
	int64_t now = req->now_ms ? req->now_ms : p4r_now_ms();
	char *detail = p4r_alias_detail(req->name);
	p4r_sql_event_row row = { .model_id = model_id, .version_id = version_id, .kind = kind,
				  .actor = req->actor ? req->actor : "unknown", .at_ms = now,
				  .reason = req->reason ? req->reason : "", .detail = detail };
	p4r_sql_label_event e = { .model_id = model_id, .version_id = version_id, .kind = kind,
				  .actor = row.actor, .at_ms = now, .detail = detail };
	int rc;

	if (!detail)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if ((rc = p4r_sql_event_insert(reg, &row, NULL)) == 0)
		rc = p4r_sql_alias_apply(reg, &e);
	free(detail);
	return rc;
}

/* The checks every change of an alias makes before its transaction. */
static int check_req(const p4r_alias_req *req)
{
	p4r_event ev = { .actor = (char *)req->actor, .reason = (char *)req->reason,
			 .at_ms = req->now_ms };
	int rc;

	if (!p4r_model_name_valid(req->model))
		return p4r_error_set(P4R_EUSAGE, "invalid model name '%s'", req->model ? req->model : "");
	if ((rc = p4r_alias_name_check(req->name)) < 0)
		return rc;
	/* the bounds of actor and reason; the detail is ours, built right */
	snprintf(ev.kind, sizeof(ev.kind), "alias");
	snprintf(ev.model, sizeof(ev.model), "%s", req->model);
	return p4r_event_check(&ev);
}

static int set_txn(p4r_registry *reg, const p4r_alias_req *req, int64_t *previous)
{
	p4r_version v = { 0 };
	int64_t model_id = 0, old_id = 0;
	int rc;

	if ((rc = p4r_sql_model_id(reg, req->model, &model_id)) == 0 &&
	    (rc = p4r_registry_version_get(reg, req->model, req->number, &v)) == 0 &&
	    (rc = alias_target(reg, model_id, req->name, &old_id, previous)) == 0 && old_id != v.id)
		rc = alias_event(reg, req, P4R_EVENT_ALIAS_SET, model_id, v.id);
	p4r_version_clear(&v);
	return rc;
}

/* Runs FN in one transaction (joining the caller's). */
static int in_txn(p4r_registry *reg, const p4r_alias_req *req, int64_t *previous,
		  int (*fn)(p4r_registry *, const p4r_alias_req *, int64_t *))
{
	int rc;

	*previous = 0;
	if ((rc = check_req(req)) < 0 || (rc = p4r_registry_begin(reg)) < 0)
		return rc;
	if ((rc = fn(reg, req, previous)) < 0) {
		p4r_registry_abort(reg);
		return rc;
	}
	return p4r_registry_commit(reg);
}

int p4r_registry_alias_set(p4r_registry *reg, const p4r_alias_req *req, int64_t *previous)
{
	return in_txn(reg, req, previous, set_txn);
}

static int delete_txn(p4r_registry *reg, const p4r_alias_req *req, int64_t *previous)
{
	int64_t model_id = 0, version_id = 0;
	int rc;

	if ((rc = p4r_sql_model_id(reg, req->model, &model_id)) < 0 ||
	    (rc = alias_target(reg, model_id, req->name, &version_id, previous)) < 0)
		return rc;
	if (!version_id)
		return p4r_error_set(P4R_ENOTFOUND, "model '%s' has no alias '%s'", req->model, req->name);
	return alias_event(reg, req, P4R_EVENT_ALIAS_DELETE, model_id, version_id);
}

int p4r_registry_alias_delete(p4r_registry *reg, const p4r_alias_req *req, int64_t *previous)
{
	return in_txn(reg, req, previous, delete_txn);
}

#define ALIAS_SELECT \
	"SELECT a.name, m.name, v.number, a.actor, a.set_ms FROM aliases a" \
	" JOIN versions v ON v.id = a.version_id JOIN models m ON m.id = a.model_id"

/* Every row of ST (bound, ALIAS_SELECT's columns) into *OUT. */
static int read_aliases(sqlite3 *db, sqlite3_stmt *st, p4r_alias_entry **out, size_t *n)
{
	size_t cap = 0;
	int rc;

	while ((rc = p4r_sql_step(db, st)) == 1) {
		p4r_alias_entry *a;

		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			void *p = realloc(*out, ncap * sizeof(**out));

			if (!p)
				return p4r_error_set(P4R_ERROR, "out of memory");
			*out = p;
			cap = ncap;
		}
		a = &(*out)[(*n)++];
		memset(a, 0, sizeof(*a));
		snprintf(a->name, sizeof(a->name), "%s", p4r_sql_col_text(st, 0));
		snprintf(a->model, sizeof(a->model), "%s", p4r_sql_col_text(st, 1));
		a->version = sqlite3_column_int64(st, 2);
		a->set_ms = sqlite3_column_int64(st, 4);
		if (!(a->actor = strdup(p4r_sql_col_text(st, 3))))
			return p4r_error_set(P4R_ERROR, "out of memory");
	}
	return rc;
}

/* The aliases SQL (one integer parameter) selects, by name. */
static int alias_query(p4r_registry *reg, const char *sql, int64_t id, p4r_alias_entry **out, size_t *n)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = p4r_sql_prepare(db, &st, sql)) == 0 && (rc = p4r_sql_bind_int(db, st, 1, id)) == 0)
		rc = read_aliases(db, st, out, n);
	sqlite3_finalize(st);
	if (rc < 0) {
		p4r_alias_array_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

int p4r_registry_alias_list(p4r_registry *reg, const char *model, p4r_alias_entry **out, size_t *n)
{
	int64_t model_id = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = p4r_sql_model_id(reg, model, &model_id)) < 0)
		return rc;
	return alias_query(reg, ALIAS_SELECT " WHERE a.model_id = ?1 ORDER BY a.name", model_id, out, n);
}

int p4r_registry_alias_of(p4r_registry *reg, int64_t version_id, p4r_alias_entry **out, size_t *n)
{
	return alias_query(reg, ALIAS_SELECT " WHERE a.version_id = ?1 ORDER BY a.name", version_id, out, n);
}

int p4r_registry_alias_resolve(p4r_registry *reg, const char *model, const char *name, p4r_version *out)
{
	int64_t model_id = 0, version_id = 0, number = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = p4r_sql_model_id(reg, model, &model_id)) < 0 ||
	    (rc = alias_target(reg, model_id, name, &version_id, &number)) < 0)
		return rc;
	if (!version_id)
		return p4r_error_set(P4R_ENOTFOUND, "model '%s' has no alias '%s'", model, name);
	return p4r_registry_version_get(reg, model, number, out);
}
