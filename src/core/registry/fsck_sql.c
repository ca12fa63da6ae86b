/* The SQL of fsck and gc: SQLite's own integrity checks, p4reg's invariants
 * over models, versions and events, and the set of oids versions reference
 * (see fsck.h). Read-only; every value is bound. */
#include "p4reg/fsck.h"
#include "p4reg/error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "registry/sql.h"

int p4r_registry_read_begin(p4r_registry *reg)
{
	sqlite3 *db = p4r_registry_db(reg);

	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return p4r_sql_error(db);
	return 0;
}

void p4r_registry_read_end(p4r_registry *reg)
{
	sqlite3 *db = p4r_registry_db(reg);

	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
}

int p4r_registry_fsck_integrity(p4r_registry *reg,
				void (*fn)(const char *message, void *payload), void *payload)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	char msg[512];
	int rc, s;

	/* Bounded: a badly damaged file can produce a line per page. */
	if ((rc = p4r_sql_prepare(db, &st, "PRAGMA integrity_check(50)")) < 0)
		return rc;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		const char *line = p4r_sql_col_text(st, 0);

		if (strcmp(line, "ok"))
			fn(line, payload);
	}
	if (s != SQLITE_DONE) {
		snprintf(msg, sizeof(msg), "integrity check failed: %s", sqlite3_errmsg(db));
		fn(msg, payload);
	}
	sqlite3_finalize(st);
	if ((rc = p4r_sql_prepare(db, &st, "PRAGMA foreign_key_check")) < 0)
		return rc;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(msg, sizeof(msg), "row %lld of table '%s' refers to a missing row of '%s'",
			 (long long)sqlite3_column_int64(st, 1), p4r_sql_col_text(st, 0), p4r_sql_col_text(st, 2));
		fn(msg, payload);
	}
	if (s != SQLITE_DONE) {
		snprintf(msg, sizeof(msg), "foreign key check failed: %s", sqlite3_errmsg(db));
		fn(msg, payload);
	}
	sqlite3_finalize(st);
	return 0;
}

/* One invariant: a query whose every row is an issue, and how to word it. */
struct invariant {
	const char *kind;
	const char *sql;
	void (*describe)(p4r_invariant_issue *issue, sqlite3_stmt *st);
};

static void copy_model(p4r_invariant_issue *issue, sqlite3_stmt *st)
{
	snprintf(issue->model, sizeof(issue->model), "%s", p4r_sql_col_text(st, 0));
}

static void describe_holders(p4r_invariant_issue *issue, sqlite3_stmt *st)
{
	copy_model(issue, st);
	snprintf(issue->message, sizeof(issue->message),
		 "model '%s' has %lld versions in %s (v%s); at most one may hold it",
		 issue->model, (long long)sqlite3_column_int64(st, 2), p4r_sql_col_text(st, 1),
		 p4r_sql_col_text(st, 3));
	snprintf(issue->fix, sizeof(issue->fix),
		 "archive all but one: p4reg promote %s@N --to archived", issue->model);
}

static void describe_dense(p4r_invariant_issue *issue, sqlite3_stmt *st)
{
	copy_model(issue, st);
	snprintf(issue->message, sizeof(issue->message),
		 "versions of model '%s' are not numbered 1..%lld (lowest %lld, highest %lld)",
		 issue->model, (long long)sqlite3_column_int64(st, 1),
		 (long long)sqlite3_column_int64(st, 2), (long long)sqlite3_column_int64(st, 3));
	snprintf(issue->fix, sizeof(issue->fix),
		 "versions were deleted outside p4reg: restore registry.db from a backup or pull it from a remote");
}

static void describe_bad_row(p4r_invariant_issue *issue, sqlite3_stmt *st)
{
	copy_model(issue, st);
	snprintf(issue->message, sizeof(issue->message),
		 "version %lld of model '%s' has a malformed oid or size",
		 (long long)sqlite3_column_int64(st, 1), issue->model);
	snprintf(issue->fix, sizeof(issue->fix),
		 "the row was edited outside p4reg: restore registry.db from a backup");
}

static void describe_kind(p4r_invariant_issue *issue, sqlite3_stmt *st)
{
	copy_model(issue, st);
	snprintf(issue->message, sizeof(issue->message),
		 "version %lld of model '%s' has a malformed kind, file count or tree size",
		 (long long)sqlite3_column_int64(st, 1), issue->model);
	snprintf(issue->fix, sizeof(issue->fix),
		 "the row was edited outside p4reg: restore registry.db from a backup");
}

static void describe_stage(p4r_invariant_issue *issue, sqlite3_stmt *st)
{
	copy_model(issue, st);
	if (sqlite3_column_type(st, 3) == SQLITE_NULL)
		snprintf(issue->message, sizeof(issue->message),
			 "version %lld of model '%s' is in %s but no event ever moved it to a stage",
			 (long long)sqlite3_column_int64(st, 1), issue->model, p4r_sql_col_text(st, 2));
	else if (strcmp(p4r_sql_col_text(st, 3), p4r_sql_col_text(st, 4)))
		snprintf(issue->message, sizeof(issue->message),
			 "version %lld of model '%s' is in %s but its history archives it (another "
			 "version entered %s after it)", (long long)sqlite3_column_int64(st, 1),
			 issue->model, p4r_sql_col_text(st, 2), p4r_sql_col_text(st, 3));
	else
		snprintf(issue->message, sizeof(issue->message),
			 "version %lld of model '%s' is in %s but its latest stage event moved it to %s",
			 (long long)sqlite3_column_int64(st, 1), issue->model, p4r_sql_col_text(st, 2),
			 p4r_sql_col_text(st, 3));
	snprintf(issue->fix, sizeof(issue->fix),
		 "the stage was changed outside p4reg: move it with p4reg promote %s@%lld --to STAGE --force",
		 issue->model, (long long)sqlite3_column_int64(st, 1));
}

static void describe_event_model(p4r_invariant_issue *issue, sqlite3_stmt *st)
{
	copy_model(issue, st);
	snprintf(issue->message, sizeof(issue->message),
		 "event %lld of model '%s' is about a version of another model",
		 (long long)sqlite3_column_int64(st, 1), issue->model);
	snprintf(issue->fix, sizeof(issue->fix),
		 "the history was edited outside p4reg: restore registry.db from a backup");
}

static void describe_triggers(p4r_invariant_issue *issue, sqlite3_stmt *st)
{
	(void)st;
	snprintf(issue->message, sizeof(issue->message),
		 "the triggers that keep events append-only are missing");
	snprintf(issue->fix, sizeof(issue->fix),
		 "the schema was edited outside p4reg: restore registry.db from a backup");
}

static void describe_live_count(p4r_invariant_issue *issue, sqlite3_stmt *st)
{
	copy_model(issue, st);
	snprintf(issue->message, sizeof(issue->message),
		 "model '%s' counts %lld live versions but has %lld", issue->model,
		 (long long)sqlite3_column_int64(st, 1), (long long)sqlite3_column_int64(st, 2));
	snprintf(issue->fix, sizeof(issue->fix),
		 "versions were changed outside p4reg without its triggers: restore registry.db from a backup");
}

static void describe_unpublished(p4r_invariant_issue *issue, sqlite3_stmt *st)
{
	snprintf(issue->message, sizeof(issue->message),
		 "%lld events are listed as unpublished wrongly or missing from that list"
		 " (history shows them out of order)", (long long)sqlite3_column_int64(st, 0));
	snprintf(issue->fix, sizeof(issue->fix),
		 "events were changed outside p4reg without its triggers: restore registry.db from a backup");
}

static void describe_derived_triggers(p4r_invariant_issue *issue, sqlite3_stmt *st)
{
	(void)st;
	snprintf(issue->message, sizeof(issue->message),
		 "the triggers that keep the version counts and the unpublished events are missing");
	snprintf(issue->fix, sizeof(issue->fix),
		 "the schema was edited outside p4reg: restore registry.db from a backup");
}

static const struct invariant invariants[] = {
	{ "stage-holders",
	  "SELECT m.name, v.stage, count(*), group_concat(v.number, ', v')"
	  " FROM versions v JOIN models m ON m.id = v.model_id"
	  " WHERE v.stage IN ('staging', 'production')"
	  " GROUP BY v.model_id, v.stage HAVING count(*) > 1 ORDER BY m.name",
	  describe_holders },
	/* UNIQUE(model_id, number): min 1 and max == count means 1..N */
	{ "version-numbers",
	  "SELECT m.name, count(*), min(v.number), max(v.number)"
	  " FROM versions v JOIN models m ON m.id = v.model_id"
	  " GROUP BY v.model_id HAVING min(v.number) != 1 OR max(v.number) != count(*)"
	  " ORDER BY m.name",
	  describe_dense },
	{ "version-row",
	  "SELECT m.name, v.number FROM versions v JOIN models m ON m.id = v.model_id"
	  " WHERE typeof(v.oid) != 'text' OR length(v.oid) != 64"
	  " OR v.oid GLOB '*[^0-9a-f]*' OR typeof(v.size) != 'integer' OR v.size < 0"
	  " ORDER BY m.name, v.number",
	  describe_bad_row },
	/* a file has no count or total; a folder 1.. files and a total (schema 5) */
	{ "version-kind",
	  "SELECT m.name, v.number FROM versions v JOIN models m ON m.id = v.model_id"
	  " WHERE (v.kind = 'file' AND (v.files IS NOT NULL OR v.tree_size IS NOT NULL))"
	  " OR (v.kind = 'dir' AND (typeof(v.files) != 'integer' OR v.files < 1"
	  " OR typeof(v.tree_size) != 'integer' OR v.tree_size < 0))"
	  " ORDER BY m.name, v.number",
	  describe_kind },
	/* Each version's stage is what replaying the events in the shared log's
	 * order gives (registry/sync_sql.c, replay): its latest stage event, except
	 * that a later entry of another version into staging/production
	 * archived it (two clones promoting at once leave no event for that).
	 * One pass over the events, positions numbered once. A deleted version
	 * is archived whatever came after its delete event (a concurrent
	 * promotion): it is checked by the next invariant. */
	{ "stage-history",
	  "WITH ev AS (SELECT e.model_id, e.version_id, e.to_stage,"
	  "   row_number() OVER (ORDER BY " P4R_SQL_LOG_ORDER ") AS pos"
	  "   FROM events e" P4R_SQL_LOG_JOIN
	  "   WHERE e.to_stage IS NOT NULL AND e.version_id IS NOT NULL),"
	  " last AS (SELECT version_id, model_id, to_stage, max(pos) AS pos FROM ev GROUP BY version_id),"
	  " entry AS (SELECT model_id, to_stage, max(pos) AS pos FROM ev"
	  "   WHERE to_stage IN ('staging', 'production') GROUP BY model_id, to_stage),"
	  " want AS (SELECT l.version_id, l.to_stage, CASE WHEN n.pos > l.pos THEN 'archived'"
	  "   ELSE l.to_stage END AS stage FROM last l"
	  "   LEFT JOIN entry n ON n.model_id = l.model_id AND n.to_stage = l.to_stage)"
	  " SELECT m.name, v.number, v.stage, w.to_stage, w.stage"
	  " FROM versions v JOIN models m ON m.id = v.model_id"
	  " LEFT JOIN want w ON w.version_id = v.id"
	  " WHERE (w.stage IS NULL OR w.stage != v.stage) AND " P4R_SQL_LIVE("v")
	  " ORDER BY m.name, v.number",
	  describe_stage },
	{ "stage-history",
	  "SELECT m.name, v.number, v.stage, 'archived', 'archived'"
	  " FROM versions v JOIN models m ON m.id = v.model_id"
	  " WHERE v.deleted_ms IS NOT NULL AND v.stage != 'archived'"
	  " ORDER BY m.name, v.number",
	  describe_stage },
	{ "event-model",
	  "SELECT m.name, e.id FROM events e JOIN versions v ON v.id = e.version_id"
	  " JOIN models m ON m.id = e.model_id WHERE v.model_id != e.model_id ORDER BY e.id",
	  describe_event_model },
	{ "append-only",
	  "SELECT 1 WHERE (SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
	  " AND tbl_name = 'events' AND name IN ('events_no_update', 'events_no_delete')) != 2",
	  describe_triggers },
	/* what the triggers of schema 7 keep (registry.c, migration 7) */
	{ "live-count",
	  "SELECT m.name, m.live_versions, (SELECT count(*) FROM versions v WHERE v.model_id = m.id"
	  " AND " P4R_SQL_LIVE("v") ") AS n FROM models m WHERE m.live_versions != n ORDER BY m.name",
	  describe_live_count },
	{ "unpublished",
	  "SELECT bad FROM (SELECT (SELECT count(*) FROM events e WHERE EXISTS (SELECT 1 FROM event_sync s"
	  " WHERE s.event_id = e.id AND s.seq IS NOT NULL) = EXISTS (SELECT 1 FROM events_unpublished u"
	  " WHERE u.event_id = e.id)) + (SELECT count(*) FROM events_unpublished u WHERE NOT EXISTS"
	  " (SELECT 1 FROM events e WHERE e.id = u.event_id)) AS bad) WHERE bad > 0",
	  describe_unpublished },
	{ "derived-triggers",
	  "SELECT 1 WHERE (SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN"
	  " ('versions_live_insert', 'versions_live_update', 'versions_live_delete',"
	  " 'events_unpublished_insert', 'events_unpublished_delete', 'event_sync_insert', 'event_sync_update',"
	  " 'event_sync_delete')) != 8",
	  describe_derived_triggers },
};

int p4r_registry_fsck_invariants(p4r_registry *reg,
				 void (*fn)(const p4r_invariant_issue *issue, void *payload),
				 void *payload)
{
	sqlite3 *db = p4r_registry_db(reg);
	size_t i;
	int rc, s;

	for (i = 0; i < sizeof(invariants) / sizeof(invariants[0]); i++) {
		sqlite3_stmt *st = NULL;

		if ((rc = p4r_sql_prepare(db, &st, invariants[i].sql)) < 0)
			return rc;
		while ((s = sqlite3_step(st)) == SQLITE_ROW) {
			p4r_invariant_issue issue;

			memset(&issue, 0, sizeof(issue));
			issue.kind = invariants[i].kind;
			invariants[i].describe(&issue, st);
			fn(&issue, payload);
		}
		rc = s == SQLITE_DONE ? 0 : p4r_sql_error(db);
		sqlite3_finalize(st);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Every live version's object, and every file of a live folder version's
 * manifest (its rows in manifest_files): gc keeps them all. A deleted
 * version's (p4reg rm) are garbage unless a live one names them too. */
#define REFERENCED_SQL \
	"SELECT oid, max(size) FROM (SELECT oid, size FROM versions WHERE " P4R_SQL_LIVE("versions") \
	" UNION ALL SELECT f.oid, f.size FROM manifest_files f" \
	"   WHERE f.manifest IN (SELECT oid FROM versions WHERE kind = 'dir'" \
	"   AND " P4R_SQL_LIVE("versions") "))" \
	" WHERE typeof(oid) = 'text' AND length(oid) = 64 AND oid NOT GLOB '*[^0-9a-f]*'" \
	" GROUP BY oid ORDER BY oid"

int p4r_registry_referenced_oids(p4r_registry *reg, p4r_oid **out, int64_t **sizes, size_t *n)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	p4r_oid *arr = NULL;
	int64_t *sz = NULL;
	size_t cap = 0, count = 0;
	int rc, s;

	*out = NULL;
	if (sizes)
		*sizes = NULL;
	*n = 0;
	if ((rc = p4r_sql_prepare(db, &st, REFERENCED_SQL)) < 0)
		return rc;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		const char *hex = p4r_sql_col_text(st, 0);

		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			void *p = ncap < SIZE_MAX / sizeof(*arr) ? realloc(arr, ncap * sizeof(*arr)) : NULL;
			void *q;

			if (!p) {
				rc = p4r_error_set(P4R_ERROR, "out of memory");
				goto done;
			}
			arr = p;
			if (!(q = realloc(sz, ncap * sizeof(*sz)))) {
				rc = p4r_error_set(P4R_ERROR, "out of memory");
				goto done;
			}
			sz = q;
			cap = ncap;
		}
		sz[count] = sqlite3_column_int64(st, 1);
		memcpy(arr[count].hex, hex, P4R_OID_HEXLEN);
		arr[count].hex[P4R_OID_HEXLEN] = '\0';
		count++;
	}
	if (s != SQLITE_DONE)
		rc = p4r_sql_error(db);
done:
	sqlite3_finalize(st);
	if (rc < 0) {
		free(arr);
		free(sz);
		return rc;
	}
	*out = arr;
	if (sizes)
		*sizes = sz;
	else
		free(sz);
	*n = count;
	return 0;
}

int p4r_registry_oid_users(p4r_registry *reg, const p4r_oid *oid, size_t max,
			   char ***out, size_t *n)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	char **arr = NULL, buf[P4R_MODEL_NAME_MAX + 32];
	size_t count = 0;
	int rc, s = SQLITE_DONE;

	*out = NULL;
	*n = 0;
	if (max == 0)
		return 0;
	if (!(arr = calloc(max, sizeof(*arr))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	if ((rc = p4r_sql_prepare(db, &st, "SELECT m.name, v.number FROM versions v"
			  " JOIN models m ON m.id = v.model_id WHERE v.oid = ?1 AND " P4R_SQL_LIVE("v")
			  " ORDER BY m.name, v.number LIMIT ?2")) < 0)
		goto done;
	if (sqlite3_bind_text(st, 1, oid->hex, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, (sqlite3_int64)max) != SQLITE_OK) {
		rc = p4r_sql_error(db);
		goto done;
	}
	while (count < max && (s = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(buf, sizeof(buf), "%s@%lld", p4r_sql_col_text(st, 0),
			 (long long)sqlite3_column_int64(st, 1));
		if (!(arr[count] = strdup(buf))) {
			rc = p4r_error_set(P4R_ERROR, "out of memory");
			goto done;
		}
		count++;
	}
	if (count < max && s != SQLITE_DONE)
		rc = p4r_sql_error(db);
done:
	sqlite3_finalize(st);
	if (rc < 0) {
		while (count > 0)
			free(arr[--count]);
		free(arr);
		return rc;
	}
	*out = arr;
	*n = count;
	return 0;
}
