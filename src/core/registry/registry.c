/* The registry database: opening and migrating it, nested transactions, and
 * the models, versions, events and stat cache queries (see registry.h). */
#include "p4reg/registry.h"
#include "p4reg/batch.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/suggest.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registry/sql.h"

/* Eight CI jobs committing at once queue behind one writer; each commit is a
 * few fsyncs, so waiting this long only happens on a badly stalled disk. */
#define BUSY_TIMEOUT_MS 30000

/* The only triggers a registry may hold, as migrations 1 and 7 write them;
 * the open check compares a file's triggers with these (see check_schema). */
#define TRIGGER_NO_UPDATE \
	"CREATE TRIGGER events_no_update BEFORE UPDATE ON events" \
	"  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END"
#define TRIGGER_NO_DELETE \
	"CREATE TRIGGER events_no_delete BEFORE DELETE ON events" \
	"  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END"
/* Migration 7's: models.live_versions counts a model's live versions, so
 * list and show read a count instead of counting a million index entries;
 * events_unpublished holds the events without a position in the shared log
 * (no event_sync row, or one without seq), so history reads the newest of
 * them without scanning every event. Triggers keep both whatever writes
 * the rows (add, rm, a fetch's replay, a hand edit in the sqlite3 shell);
 * an update runs their bodies only when it changes what they count (a
 * fetch's replay rewrites every version of a model). */
#define TRIGGER_LIVE_INSERT \
	"CREATE TRIGGER versions_live_insert AFTER INSERT ON versions BEGIN" \
	"  UPDATE models SET live_versions = live_versions + 1" \
	"  WHERE id = new.model_id AND new.deleted_ms IS NULL; END"
#define TRIGGER_LIVE_UPDATE \
	"CREATE TRIGGER versions_live_update AFTER UPDATE OF model_id, deleted_ms ON versions" \
	"  WHEN old.model_id != new.model_id OR (old.deleted_ms IS NULL) != (new.deleted_ms IS NULL) BEGIN" \
	"  UPDATE models SET live_versions = live_versions - 1" \
	"  WHERE id = old.model_id AND old.deleted_ms IS NULL;" \
	"  UPDATE models SET live_versions = live_versions + 1" \
	"  WHERE id = new.model_id AND new.deleted_ms IS NULL; END"
#define TRIGGER_LIVE_DELETE \
	"CREATE TRIGGER versions_live_delete AFTER DELETE ON versions BEGIN" \
	"  UPDATE models SET live_versions = live_versions - 1" \
	"  WHERE id = old.model_id AND old.deleted_ms IS NULL; END"
#define TRIGGER_UNPUBLISHED_EVENT \
	"CREATE TRIGGER events_unpublished_insert AFTER INSERT ON events BEGIN" \
	"  INSERT OR IGNORE INTO events_unpublished(event_id) VALUES (new.id); END"
#define TRIGGER_UNPUBLISHED_EVENT_DELETE \
	"CREATE TRIGGER events_unpublished_delete AFTER DELETE ON events BEGIN" \
	"  DELETE FROM events_unpublished WHERE event_id = old.id; END"
#define TRIGGER_UNPUBLISHED_SYNC_INSERT \
	"CREATE TRIGGER event_sync_insert AFTER INSERT ON event_sync WHEN new.seq IS NOT NULL BEGIN" \
	"  DELETE FROM events_unpublished WHERE event_id = new.event_id; END"
#define TRIGGER_UNPUBLISHED_SYNC_UPDATE \
	"CREATE TRIGGER event_sync_update AFTER UPDATE OF event_id, seq ON event_sync" \
	"  WHEN old.event_id != new.event_id OR (old.seq IS NULL) != (new.seq IS NULL) BEGIN" \
	"  INSERT OR IGNORE INTO events_unpublished(event_id) SELECT old.event_id;" \
	"  DELETE FROM events_unpublished WHERE event_id = new.event_id AND new.seq IS NOT NULL; END"
#define TRIGGER_UNPUBLISHED_SYNC_DELETE \
	"CREATE TRIGGER event_sync_delete AFTER DELETE ON event_sync BEGIN" \
	"  INSERT OR IGNORE INTO events_unpublished(event_id) VALUES (old.event_id); END"

/*
 * Migration i brings user_version from i to i+1. Append only: a shipped
 * entry is never edited, because databases in the field already ran it.
 */
static const char *const migrations[] = {
	/* 1: the full schema of p4reg 0.1 */
	"CREATE TABLE models ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  path TEXT NOT NULL UNIQUE,"
	"  created_ms INTEGER NOT NULL);"
	"CREATE TABLE versions ("
	"  id INTEGER PRIMARY KEY,"
	"  model_id INTEGER NOT NULL REFERENCES models(id),"
	"  number INTEGER NOT NULL,"
	"  oid TEXT NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  author TEXT NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  message TEXT NOT NULL DEFAULT '',"
	"  source_path TEXT NOT NULL,"
	"  git_commit TEXT,"
	"  git_branch TEXT,"
	"  git_dirty INTEGER NOT NULL DEFAULT -1,"
	"  stage TEXT NOT NULL DEFAULT 'development' CHECK(stage IN"
	"    ('development','validation','staging','production','archived')),"
	"  rolled_back INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE(model_id, number));"
	"CREATE INDEX versions_oid ON versions(oid);"
	"CREATE UNIQUE INDEX one_production ON versions(model_id) WHERE stage='production';"
	"CREATE UNIQUE INDEX one_staging ON versions(model_id) WHERE stage='staging';"
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY,"
	"  model_id INTEGER NOT NULL REFERENCES models(id),"
	"  version_id INTEGER REFERENCES versions(id),"
	"  kind TEXT NOT NULL,"
	"  from_stage TEXT,"
	"  to_stage TEXT,"
	"  forced INTEGER NOT NULL DEFAULT 0,"
	"  actor TEXT NOT NULL,"
	"  at_ms INTEGER NOT NULL,"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  detail TEXT);"
	"CREATE INDEX events_model_at ON events(model_id, at_ms);"
	TRIGGER_NO_UPDATE ";"
	TRIGGER_NO_DELETE ";"
	"CREATE TABLE stat_cache ("
	"  path TEXT PRIMARY KEY,"
	"  dev INTEGER NOT NULL,"
	"  ino INTEGER NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  mtime_ns INTEGER NOT NULL,"
	"  ctime_ns INTEGER NOT NULL,"
	"  oid TEXT NOT NULL);"
	"CREATE TABLE runs ("
	"  id INTEGER PRIMARY KEY,"
	"  version_id INTEGER NOT NULL REFERENCES versions(id),"
	"  name TEXT NOT NULL,"
	"  experiment TEXT NOT NULL DEFAULT '',"
	"  created_ms INTEGER NOT NULL,"
	"  UNIQUE(version_id, name));"
	"CREATE TABLE params ("
	"  run_id INTEGER NOT NULL REFERENCES runs(id),"
	"  key TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  PRIMARY KEY(run_id, key));"
	"CREATE TABLE metrics ("
	"  id INTEGER PRIMARY KEY,"
	"  version_id INTEGER NOT NULL REFERENCES versions(id),"
	"  run_id INTEGER REFERENCES runs(id),"
	"  key TEXT NOT NULL,"
	"  value REAL NOT NULL,"
	"  step INTEGER NOT NULL DEFAULT 0,"
	"  at_ms INTEGER NOT NULL);"
	"CREATE INDEX metrics_latest ON metrics(version_id, key, step, at_ms, id);",
	/* 2: remote sync (registry/sync_sql.c, docs/remotes.md). Events stay
	 * append-only; their global identity and log position live beside them. */
	"CREATE TABLE event_sync ("
	"  event_id INTEGER PRIMARY KEY REFERENCES events(id),"
	"  uuid TEXT NOT NULL UNIQUE,"
	"  seq INTEGER,"
	"  idx INTEGER);"
	"CREATE TABLE remote_state ("
	"  url TEXT PRIMARY KEY,"
	"  applied_seq INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE remote_published ("
	"  url TEXT NOT NULL,"
	"  event_id INTEGER NOT NULL REFERENCES events(id),"
	"  PRIMARY KEY(url, event_id)) WITHOUT ROWID;",
	/* 3: batches skipped on request (p4reg fetch --skip-batch): the audit
	 * of what this registry never applied, and why. Applying a batch asks
	 * which versions' register events are in the log: by version. */
	"CREATE INDEX events_version ON events(version_id);"
	"CREATE TABLE remote_skipped ("
	"  id INTEGER PRIMARY KEY,"
	"  url TEXT NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  sha256 TEXT,"
	"  actor TEXT NOT NULL,"
	"  at_ms INTEGER NOT NULL,"
	"  error TEXT NOT NULL DEFAULT '');",
	/* 4: the object guard (objguard.c, registry/objguard_sql.c). Each stored
	 * object's stat when p4reg last knew its bytes, and the objects found
	 * with other bytes: local facts about this store, never synced. */
	"CREATE TABLE object_stat ("
	"  oid TEXT PRIMARY KEY,"
	"  dev INTEGER NOT NULL,"
	"  ino INTEGER NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  mtime_ns INTEGER NOT NULL,"
	"  ctime_ns INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX object_stat_inode ON object_stat(ino, dev);"
	"CREATE TABLE object_damage ("
	"  oid TEXT PRIMARY KEY,"
	"  found_ms INTEGER NOT NULL,"
	"  hashed_to TEXT NOT NULL,"
	"  quarantine TEXT NOT NULL DEFAULT '',"
	"  work_path TEXT NOT NULL DEFAULT '',"
	"  repaired_ms INTEGER,"
	"  repaired_from TEXT) WITHOUT ROWID;",
	/* 5: folder models (docs/formats.md, "Folder manifests"). A folder
	 * version's oid and size are its manifest object's; FILES and TREE_SIZE
	 * (NULL for a file) say what the folder holds. manifest_files caches
	 * each manifest's entries, keyed by the manifest's oid, so versions
	 * sharing a manifest share rows and gc finds the files they need. */
	"ALTER TABLE versions ADD COLUMN kind TEXT NOT NULL DEFAULT 'file'"
	"  CHECK(kind IN ('file','dir'));"
	"ALTER TABLE versions ADD COLUMN files INTEGER;"
	"ALTER TABLE versions ADD COLUMN tree_size INTEGER;"
	"CREATE TABLE manifest_files ("
	"  manifest TEXT NOT NULL,"
	"  path TEXT NOT NULL,"
	"  oid TEXT NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  exec INTEGER NOT NULL,"
	"  PRIMARY KEY(manifest, path)) WITHOUT ROWID;"
	"CREATE INDEX manifest_files_oid ON manifest_files(oid);",
	/* 6: aliases, tags, descriptions and deleted versions (issue 16;
	 * docs/formats.md, "Aliases, tags and deleted versions"). A deleted
	 * version keeps its row (its number is never reused, its events keep
	 * their foreign key) with DELETED_MS set. Aliases and tags are what
	 * their events say, replayed in the shared log's order on a fetch
	 * (registry/sync_sql.c), keyed by row ids so a renumbering moves nothing. */
	"ALTER TABLE versions ADD COLUMN deleted_ms INTEGER;"
	/* the live versions of a model, counted and maxed from the index alone */
	"CREATE INDEX versions_live ON versions(model_id, number) WHERE deleted_ms IS NULL;"
	"ALTER TABLE models ADD COLUMN description TEXT NOT NULL DEFAULT '';"
	"CREATE TABLE aliases ("
	"  model_id INTEGER NOT NULL REFERENCES models(id),"
	"  name TEXT NOT NULL,"
	"  version_id INTEGER NOT NULL REFERENCES versions(id),"
	"  actor TEXT NOT NULL,"
	"  set_ms INTEGER NOT NULL,"
	"  PRIMARY KEY(model_id, name)) WITHOUT ROWID;"
	"CREATE INDEX aliases_version ON aliases(version_id);"
	"CREATE TABLE version_tags ("
	"  version_id INTEGER NOT NULL REFERENCES versions(id),"
	"  key TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  PRIMARY KEY(version_id, key)) WITHOUT ROWID;"
	"CREATE TABLE model_tags ("
	"  model_id INTEGER NOT NULL REFERENCES models(id),"
	"  key TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  PRIMARY KEY(model_id, key)) WITHOUT ROWID;",
	/* 7: the registry at scale (issue 18; docs/performance.md, "Registry at
	 * scale"): 10,000 models or a million versions of one cost what a few
	 * cost. The counters and the unpublished set are kept by the triggers
	 * above; this fills them once from the rows a registry already holds.
	 * versions_stage answers "the newest live version in STAGE" (list's
	 * columns, MODEL@STAGE) and "a version in STAGE" (list --stage) from
	 * the index alone, without walking the model's versions;
	 * event_sync_pos walks the shared log newest first (history -n). */
	"ALTER TABLE models ADD COLUMN live_versions INTEGER NOT NULL DEFAULT 0;"
	"UPDATE models SET live_versions = (SELECT count(*) FROM versions v"
	"  WHERE v.model_id = models.id AND v.deleted_ms IS NULL);"
	"CREATE TABLE events_unpublished ("
	"  event_id INTEGER PRIMARY KEY);"
	"INSERT INTO events_unpublished(event_id) SELECT e.id FROM events e WHERE NOT EXISTS"
	"  (SELECT 1 FROM event_sync s WHERE s.event_id = e.id AND s.seq IS NOT NULL);"
	"CREATE INDEX versions_stage ON versions(model_id, stage, deleted_ms, number);"
	"CREATE INDEX event_sync_pos ON event_sync(seq, idx);"
	TRIGGER_LIVE_INSERT ";"
	TRIGGER_LIVE_UPDATE ";"
	TRIGGER_LIVE_DELETE ";"
	TRIGGER_UNPUBLISHED_EVENT ";"
	TRIGGER_UNPUBLISHED_EVENT_DELETE ";"
	TRIGGER_UNPUBLISHED_SYNC_INSERT ";"
	TRIGGER_UNPUBLISHED_SYNC_UPDATE ";"
	TRIGGER_UNPUBLISHED_SYNC_DELETE ";",
};

#define MIGRATION_COUNT ((int)(sizeof(migrations) / sizeof(migrations[0])))

#define LIVE P4R_SQL_LIVE

/* The columns read_model expects. The count is the column the triggers keep
 * (counting a million index entries costs 60 ms); each number is the first
 * entry of a backward walk of a covering index (versions_live, and
 * versions_stage past model, stage and deleted_ms IS NULL), one descent
 * that never reads the table, so a row costs the same however many
 * versions the model has: list of 10,000 models reads 30,000 entries. */
#define MODEL_NUMBER(where) \
	" coalesce((SELECT v.number FROM versions v WHERE v.model_id = m.id" where " AND " LIVE("v") \
	" ORDER BY v.number DESC LIMIT 1), 0),"
#define MODEL_SELECT \
	"SELECT m.id, m.name, m.path, m.created_ms, m.live_versions," \
	MODEL_NUMBER("") \
	MODEL_NUMBER(" AND v.stage = 'production'") \
	MODEL_NUMBER(" AND v.stage = 'staging'") \
	" m.description" \
	" FROM models m"

/* The columns read_version expects. */
#define VERSION_SELECT \
	"SELECT v.id, m.name, v.number, v.oid, v.size, v.author, v.created_ms," \
	" v.message, v.source_path, v.git_commit, v.git_branch, v.git_dirty," \
	" v.stage, v.rolled_back, v.kind, v.files, v.tree_size, v.deleted_ms" \
	" FROM versions v JOIN models m ON m.id = v.model_id"

/* The columns read_event expects. */
#define EVENT_COLUMNS \
	"SELECT e.id, m.name, coalesce(v.number, 0), e.kind, e.from_stage," \
	" e.to_stage, e.forced, e.actor, e.at_ms, e.reason, e.detail"
#define EVENT_JOINS \
	" JOIN models m ON m.id = e.model_id" \
	" LEFT JOIN versions v ON v.id = e.version_id"
#define EVENT_SELECT EVENT_COLUMNS " FROM events e" EVENT_JOINS

/* history -n: the newest events of the shared log's order (P4R_SQL_LOG_ORDER
 * reversed) without sorting the log. The unpublished events come first,
 * newest id first (events_unpublished, walked by its key); then the
 * published ones, newest position first (event_sync_pos, walked backward).
 * Each walk stops at ?5 events that pass the filters (?1 a model id or
 * NULL, [?2, ?3] the time range, ?4 a kind or NULL), and the last ORDER BY
 * sorts at most 2 x ?5 rows. CROSS JOIN keeps each walk in its index's
 * order (SQLite never reorders the tables of a CROSS JOIN). */
#define EVENT_WALK_FILTER \
	" e.at_ms >= ?2 AND e.at_ms <= ?3 AND (?4 IS NULL OR e.kind = ?4)" \
	" AND (?1 IS NULL OR e.model_id = ?1)"
#define EVENT_WALK \
	EVENT_COLUMNS " FROM (" \
	"SELECT * FROM (SELECT 0 AS part, u.event_id AS id, NULL AS seq, NULL AS idx" \
	" FROM events_unpublished u CROSS JOIN events e ON e.id = u.event_id" \
	" WHERE" EVENT_WALK_FILTER " ORDER BY u.event_id DESC LIMIT ?5)" \
	" UNION ALL " \
	"SELECT * FROM (SELECT 1, s.event_id, s.seq, s.idx" \
	" FROM event_sync s CROSS JOIN events e ON e.id = s.event_id" \
	" WHERE s.seq IS NOT NULL AND" EVENT_WALK_FILTER \
	" ORDER BY s.seq DESC, s.idx DESC, s.event_id DESC LIMIT ?5)" \
	") w CROSS JOIN events e ON e.id = w.id" EVENT_JOINS \
	" ORDER BY w.part, w.seq DESC, w.idx DESC, w.id DESC LIMIT ?5"

/* The statement cache's SQL (enum p4r_sql_id in registry/sql.h): hot
 * statements of every registry*.c file, prepared on first use and kept
 * until the registry is freed. */
static const char *const stmt_sql[P4R_ST_COUNT] = {
	[P4R_ST_MODEL_BY_NAME] = MODEL_SELECT " WHERE m.name = ?1",
	[P4R_ST_MODEL_BY_PATH] = MODEL_SELECT " WHERE m.path = ?1",
	/* ?1: a stage some version must hold (list --stage), NULL for all */
	[P4R_ST_MODEL_LIST] = MODEL_SELECT " WHERE ?1 IS NULL OR EXISTS(SELECT 1 FROM versions v"
			  " WHERE v.model_id = m.id AND v.stage = ?1) ORDER BY m.name",
	[P4R_ST_MODEL_ID] = "SELECT id, path FROM models WHERE name = ?1",
	[P4R_ST_MODEL_NAME_BY_PATH] = "SELECT name FROM models WHERE path = ?1",
	[P4R_ST_MODEL_INSERT] = "INSERT INTO models(name, path, created_ms) VALUES (?1, ?2, ?3)",
	/* the newest version of a model with given bytes, and whether it is
	 * the model's latest (versions_oid narrows the scan to those bytes) */
	[P4R_ST_SAME_OID] = "SELECT id, number = (SELECT max(number) FROM versions WHERE model_id = ?1"
			" AND " LIVE("versions") ") FROM versions WHERE model_id = ?1 AND oid = ?2"
			" AND " LIVE("versions") " ORDER BY number DESC LIMIT 1",
	/* ?11 is the number a remote's log gives; 0 takes the model's next
	 * (the subquery runs only then) */
	[P4R_ST_VERSION_INSERT] =
		"INSERT INTO versions(model_id, number, oid, size, author, created_ms,"
		" message, source_path, git_commit, git_branch, git_dirty, stage,"
		" kind, files, tree_size)"
		" VALUES (?1, CASE WHEN ?11 > 0 THEN ?11 ELSE (SELECT coalesce(max(number), 0) + 1"
		" FROM versions WHERE model_id = ?1) END, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
		" 'development', ?12, ?13, ?14)",
	[P4R_ST_VERSION_ID] = "SELECT id FROM versions WHERE model_id = ?1 AND number = ?2",
	[P4R_ST_VERSION_BY_ID] = VERSION_SELECT " WHERE v.id = ?1",
	/* deleted rows too: the caller says why it did not find a live one */
	[P4R_ST_VERSION_GET] = VERSION_SELECT " WHERE m.name = ?1 AND v.number = ?2",
	[P4R_ST_VERSION_LATEST] = VERSION_SELECT " WHERE m.name = ?1 AND " LIVE("v")
				" ORDER BY v.number DESC LIMIT 1",
	[P4R_ST_VERSION_IN_STAGE] = VERSION_SELECT " WHERE m.name = ?1 AND v.stage = ?2 AND " LIVE("v")
				" ORDER BY v.number DESC LIMIT 1",
	[P4R_ST_VERSION_LIST] = VERSION_SELECT " WHERE m.name = ?1 AND " LIVE("v")
			    " ORDER BY v.number DESC",
	/* a version's object, or a file of a folder version (manifest_files_oid,
	 * then versions_oid for the manifest) */
	[P4R_ST_OID_REFERENCED] = "SELECT EXISTS(SELECT 1 FROM versions WHERE oid = ?1"
			      " AND " LIVE("versions") ")"
			      " OR EXISTS(SELECT 1 FROM manifest_files f JOIN versions v"
			      " ON v.oid = f.manifest AND v.kind = 'dir' AND " LIVE("v")
			      " WHERE f.oid = ?1)",
	[P4R_ST_EVENT_INSERT] =
		"INSERT INTO events(model_id, version_id, kind, from_stage, to_stage,"
		" forced, actor, at_ms, reason, detail)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	/* history: the shared log's order, the same on every clone, read
	 * newest first so LIMIT ?5 keeps the last events (-1: all); ?4 a kind
	 * or NULL, [?2, ?3] the time range */
	[P4R_ST_EVENT_LIST_ALL] = EVENT_SELECT P4R_SQL_LOG_JOIN " WHERE e.at_ms >= ?2 AND e.at_ms <= ?3"
			      " AND (?4 IS NULL OR e.kind = ?4) ORDER BY " P4R_SQL_LOG_ORDER_DESC " LIMIT ?5",
	[P4R_ST_EVENT_LIST_MODEL] = EVENT_SELECT P4R_SQL_LOG_JOIN " WHERE m.name = ?1 AND e.at_ms >= ?2"
				" AND e.at_ms <= ?3 AND (?4 IS NULL OR e.kind = ?4)"
				" ORDER BY " P4R_SQL_LOG_ORDER_DESC " LIMIT ?5",
	[P4R_ST_EVENT_WALK] = EVENT_WALK,
	/* min(a model's events, ?2) from events_model_at, and the events' largest
	 * id: whether sorting the model's events beats walking the log for them
	 * (model_events_many) */
	[P4R_ST_EVENT_COUNT_MODEL] = "SELECT count(*) FROM (SELECT 1 FROM events WHERE model_id = ?1 LIMIT ?2)",
	[P4R_ST_EVENT_MAX_ID] = "SELECT coalesce(max(id), 0) FROM events",
	[P4R_ST_STAT_GET] = "SELECT dev, ino, size, mtime_ns, ctime_ns, oid FROM stat_cache"
			" WHERE path = ?1",
	[P4R_ST_STAT_PUT] = "INSERT OR REPLACE INTO stat_cache(path, dev, ino, size, mtime_ns,"
			" ctime_ns, oid) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[P4R_ST_MODEL_SET_PATH] = "UPDATE models SET path = ?2 WHERE id = ?1",
	[P4R_ST_STAT_DELETE] = "DELETE FROM stat_cache WHERE path = ?1",
	[P4R_ST_MANIFEST_PUT] = "INSERT OR IGNORE INTO manifest_files(manifest, path, oid, size, exec)"
			    " VALUES (?1, ?2, ?3, ?4, ?5)",
	/* BINARY collation: the bytes' order, the manifest's (strcmp) */
	[P4R_ST_MANIFEST_GET] = "SELECT path, oid, size, exec FROM manifest_files WHERE manifest = ?1"
			    " ORDER BY path",
	[P4R_ST_MANIFEST_HAS] = "SELECT EXISTS(SELECT 1 FROM manifest_files WHERE manifest = ?1)",
};

struct p4r_registry {
	sqlite3 *db;                   /* owned; sqlite3_close_v2 */
	int depth;                     /* nesting of p4r_registry_begin */
	bool failed;                   /* rolled back; commits fail until depth 0 */
	bool readonly;                 /* the file cannot be written: reads only */
	sqlite3_stmt *stmts[P4R_ST_COUNT]; /* cached statements; NULL until first use */
	int64_t opened_ns;             /* when opened: before any read it caches */
	int64_t racy_dev;              /* the device RACY_NS is about (-1: none) */
	int64_t racy_ns;               /* its timestamp granularity (p4r_registry_racy_window) */
};

static void racy_init(p4r_registry *reg);

static const char *const stage_names[P4R_STAGE_COUNT] = {
	[P4R_STAGE_DEVELOPMENT] = "development",
	[P4R_STAGE_VALIDATION] = "validation",
	[P4R_STAGE_STAGING] = "staging",
	[P4R_STAGE_PRODUCTION] = "production",
	[P4R_STAGE_ARCHIVED] = "archived",
};

const char *p4r_stage_name(p4r_stage s)
{
	if ((int)s < 0 || s >= P4R_STAGE_COUNT)
		return NULL;
	return stage_names[s];
}

/* Like p4r_stage_parse without touching the error: a miss is not always one. */
static bool stage_lookup(p4r_stage *out, const char *name)
{
	int i;

	for (i = 0; name && i < P4R_STAGE_COUNT; i++) {
		if (!strcmp(name, stage_names[i])) {
			*out = (p4r_stage)i;
			return true;
		}
	}
	return false;
}

int p4r_stage_parse(p4r_stage *out, const char *name)
{
	const char *close;

	if (stage_lookup(out, name))
		return 0;
	p4r_error_set(P4R_EUSAGE, "unknown stage '%s'", name ? name : "");
	if (name && (close = p4r_suggest_among(name, stage_names, P4R_STAGE_COUNT)))
		p4r_error_hint("did you mean '%s'?", close);
	return P4R_EUSAGE;
}

bool p4r_model_name_valid(const char *name)
{
	size_t i;

	if (!name || !name[0] || name[0] == '.' || name[0] == '-')
		return false;
	/* Explicit ASCII ranges: isalnum() would follow the locale. */
	for (i = 0; name[i]; i++) {
		char c = name[i];

		if (i >= P4R_MODEL_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

int64_t p4r_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

sqlite3 *p4r_registry_db(p4r_registry *reg)
{
	return reg ? reg->db : NULL;
}

/* hash.c has p4r_oid_valid, but the registry must also stand alone (it is
 * the one module every other module's tests link), so it checks for itself. */
static bool oid_hex_valid(const char *s, size_t len)
{
	size_t i;

	if (len != P4R_OID_HEXLEN)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int p4r_sql_cached(p4r_registry *reg, enum p4r_sql_id id, sqlite3_stmt **out)
{
	*out = NULL;
	if (!reg->stmts[id] &&
	    sqlite3_prepare_v3(reg->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
			       &reg->stmts[id], NULL) != SQLITE_OK) {
		reg->stmts[id] = NULL;
		return p4r_sql_error(reg->db);
	}
	sqlite3_reset(reg->stmts[id]);
	sqlite3_clear_bindings(reg->stmts[id]);
	*out = reg->stmts[id];
	return 0;
}

/* Copies text column I into a fresh string; NULL stays NULL. */
static int col_strdup(char **out, sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	size_t len;

	*out = NULL;
	if (!s)
		return sqlite3_column_type(st, i) == SQLITE_NULL ? 0 :
		       p4r_error_set(P4R_ERROR, "out of memory");
	len = (size_t)sqlite3_column_bytes(st, i);
	if (!(*out = malloc(len + 1)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	memcpy(*out, s, len);
	(*out)[len] = '\0';
	return 0;
}

/* Copies text column I into a fixed buffer; the database may come from a
 * remote, so a value that does not fit is corruption, not truncation. */
static int col_copy(char *buf, size_t size, sqlite3_stmt *st, int i, const char *what)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	size_t len = (size_t)sqlite3_column_bytes(st, i);

	if (!s) {
		buf[0] = '\0';
		return 0;
	}
	if (len >= size || memchr(s, '\0', len))
		return p4r_error_set(P4R_EINTEGRITY, "registry: malformed %s in the database", what);
	memcpy(buf, s, len);
	buf[len] = '\0';
	return 0;
}

static int col_oid(p4r_oid *out, sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	size_t len = (size_t)sqlite3_column_bytes(st, i);

	if (!s || !oid_hex_valid(s, len))
		return p4r_error_set(P4R_EINTEGRITY, "registry: malformed oid in the database");
	memcpy(out->hex, s, P4R_OID_HEXLEN);
	out->hex[P4R_OID_HEXLEN] = '\0';
	return 0;
}

/* The kind column and, for a folder, its count and total (I, I+1, I+2):
 * a folder without a positive count or with a negative total, or a file
 * with either, is a row edited outside p4reg. */
static int col_kind(p4r_version *v, sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	bool counted = sqlite3_column_type(st, i + 1) == SQLITE_INTEGER &&
		       sqlite3_column_type(st, i + 2) == SQLITE_INTEGER;

	if (s && !strcmp(s, "file") && sqlite3_column_type(st, i + 1) == SQLITE_NULL &&
	    sqlite3_column_type(st, i + 2) == SQLITE_NULL) {
		v->kind = P4R_KIND_FILE;
		return 0;
	}
	if (s && !strcmp(s, "dir") && counted && sqlite3_column_int64(st, i + 1) > 0 &&
	    sqlite3_column_int64(st, i + 2) >= 0) {
		v->kind = P4R_KIND_DIR;
		v->files = sqlite3_column_int64(st, i + 1);
		v->tree_size = sqlite3_column_int64(st, i + 2);
		return 0;
	}
	return p4r_error_set(P4R_EINTEGRITY, "registry: version %lld of '%s' has a malformed kind,"
			     " file count or tree size", (long long)v->number, v->model);
}

static int col_stage(p4r_stage *out, sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	if (stage_lookup(out, s))
		return 0;
	return p4r_error_set(P4R_EINTEGRITY, "registry: unknown stage '%s' in the database",
			     s ? s : "");
}

/* Returns ARR (of *CAP elements of SIZE bytes, N used) with room for one
 * more, zeroed; NULL with the error set when out of memory (ARR stays valid). */
static void *grow(void *arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return arr;
	ncap = *cap ? *cap * 2 : 16;
	if (ncap > SIZE_MAX / size || !(p = realloc(arr, ncap * size))) {
		p4r_error_set(P4R_ERROR, "out of memory");
		return NULL;
	}
	memset((char *)p + *cap * size, 0, (ncap - *cap) * size);
	*cap = ncap;
	return p;
}

void p4r_model_clear(p4r_model *m)
{
	if (!m)
		return;
	free(m->path);
	free(m->description);
	memset(m, 0, sizeof(*m));
}

void p4r_version_clear(p4r_version *v)
{
	if (!v)
		return;
	free(v->author);
	free(v->message);
	free(v->source_path);
	free(v->git_commit);
	free(v->git_branch);
	memset(v, 0, sizeof(*v));
}

void p4r_version_array_free(p4r_version *v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		p4r_version_clear(&v[i]);
	free(v);
}

void p4r_model_array_free(p4r_model *m, size_t n)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < n; i++)
		p4r_model_clear(&m[i]);
	free(m);
}

void p4r_event_array_free(p4r_event *e, size_t n)
{
	size_t i;

	if (!e)
		return;
	for (i = 0; i < n; i++) {
		free(e[i].actor);
		free(e[i].reason);
		free(e[i].detail);
	}
	free(e);
}

/* Fills OUT from a row of MODEL_SELECT; OUT is cleared on failure. */
static int read_model(p4r_model *out, sqlite3_stmt *st)
{
	int rc;

	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(st, 0);
	if ((rc = col_copy(out->name, sizeof(out->name), st, 1, "model name")) < 0 ||
	    (rc = col_strdup(&out->path, st, 2)) < 0)
		goto done;
	if (!out->path) {
		rc = p4r_error_set(P4R_EINTEGRITY, "registry: model '%s' has no path", out->name);
		goto done;
	}
	out->created_ms = sqlite3_column_int64(st, 3);
	out->version_count = sqlite3_column_int64(st, 4);
	out->latest = sqlite3_column_int64(st, 5);
	out->production = sqlite3_column_int64(st, 6);
	out->staging = sqlite3_column_int64(st, 7);
	rc = col_strdup(&out->description, st, 8);
done:
	if (rc < 0)
		p4r_model_clear(out);
	return rc;
}

/* Fills OUT from a row of VERSION_SELECT; OUT is cleared on failure. */
static int read_version(p4r_version *out, sqlite3_stmt *st)
{
	int rc;

	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(st, 0);
	out->number = sqlite3_column_int64(st, 2);
	out->size = sqlite3_column_int64(st, 4);
	out->created_ms = sqlite3_column_int64(st, 6);
	out->git_dirty = sqlite3_column_int(st, 11);
	out->rolled_back = sqlite3_column_int(st, 13) != 0;
	out->deleted_ms = sqlite3_column_int64(st, 17);
	if ((rc = col_copy(out->model, sizeof(out->model), st, 1, "model name")) < 0 ||
	    (rc = col_oid(&out->oid, st, 3)) < 0 ||
	    (rc = col_strdup(&out->author, st, 5)) < 0 ||
	    (rc = col_strdup(&out->message, st, 7)) < 0 ||
	    (rc = col_strdup(&out->source_path, st, 8)) < 0 ||
	    (rc = col_strdup(&out->git_commit, st, 9)) < 0 ||
	    (rc = col_strdup(&out->git_branch, st, 10)) < 0 ||
	    (rc = col_stage(&out->stage, st, 12)) < 0 ||
	    (rc = col_kind(out, st, 14)) < 0)
		goto done;
	if (!out->author || !out->message || !out->source_path)
		rc = p4r_error_set(P4R_EINTEGRITY, "registry: version %lld of '%s' is incomplete",
				   (long long)out->number, out->model);
done:
	if (rc < 0)
		p4r_version_clear(out);
	return rc;
}

const char p4r_sql_version_select[] = VERSION_SELECT;

int p4r_sql_read_version(p4r_version *out, sqlite3_stmt *st)
{
	return read_version(out, st);
}

/* Fills OUT from a row of EVENT_SELECT; frees what it took on failure. */
static int read_event(p4r_event *out, sqlite3_stmt *st)
{
	int rc;

	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(st, 0);
	out->version = sqlite3_column_int64(st, 2);
	out->forced = sqlite3_column_int(st, 6) != 0;
	out->at_ms = sqlite3_column_int64(st, 8);
	if ((rc = col_copy(out->model, sizeof(out->model), st, 1, "model name")) < 0 ||
	    (rc = col_copy(out->kind, sizeof(out->kind), st, 3, "event kind")) < 0 ||
	    (rc = col_copy(out->from_stage, sizeof(out->from_stage), st, 4, "stage")) < 0 ||
	    (rc = col_copy(out->to_stage, sizeof(out->to_stage), st, 5, "stage")) < 0 ||
	    (rc = col_strdup(&out->actor, st, 7)) < 0 ||
	    (rc = col_strdup(&out->reason, st, 9)) < 0 ||
	    (rc = col_strdup(&out->detail, st, 10)) < 0)
		goto done;
	if (!out->actor || !out->reason)
		rc = p4r_error_set(P4R_EINTEGRITY, "registry: event %lld is incomplete",
				   (long long)out->id);
done:
	if (rc < 0) {
		free(out->actor);
		free(out->reason);
		free(out->detail);
		memset(out, 0, sizeof(*out));
	}
	return rc;
}

/* ---- opening and migrating ---- */

/* Said whenever the registry cannot be used as it is: it is never
 * re-created silently, since the history it held would be gone. */
#define RESTORE_HINT P4R_REGISTRY_RESTORE_HINT

/* The start of every SQLite file (https://www.sqlite.org/fileformat.html). */
#define SQLITE_MAGIC "SQLite format 3"
#define SQLITE_HEADER_SIZE 100

/* The largest string or blob SQLite hands back: far above anything p4reg
 * writes, low enough that a hostile file cannot make p4reg allocate
 * gigabytes for one value. */
#define VALUE_LIMIT (64 * 1024 * 1024)

/* Errors while the file's identity is unknown: a file that is not a
 * database, or a damaged one, is an integrity failure that fsck explains. */
static int open_error(sqlite3 *db, const char *path)
{
	int primary = sqlite3_errcode(db) & 0xff;

	if (primary == SQLITE_NOTADB)
		return p4r_error_set(P4R_EINTEGRITY,
				     "'%s' is not a p4reg registry (not a SQLite database): " RESTORE_HINT,
				     path);
	if (primary == SQLITE_CORRUPT)
		return p4r_error_set(P4R_EINTEGRITY, "registry '%s' is damaged (%s): " RESTORE_HINT,
				     path, sqlite3_errmsg(db));
	return p4r_error_set(P4R_ERROR, "cannot open registry '%s': %s", path, sqlite3_errmsg(db));
}

/* Runs SQL that takes no values: pragmas and migration texts. */
static int exec(sqlite3 *db, const char *path, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return open_error(db, path);
	return 0;
}

/* Looks at PATH before SQLite does: SQLite takes a zero-byte file for a new
 * database and would give it an empty schema, so an emptied, truncated to
 * nothing or replaced registry is caught here. *MISSING: there is no file. */
static int check_file(const char *path, bool *missing)
{
	unsigned char head[SQLITE_HEADER_SIZE];
	struct stat st;
	ssize_t got;
	int fd, rc = 0;

	*missing = false;
	/* O_NONBLOCK: a FIFO planted in its place must not hang the open */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			*missing = true;
			return 0;
		}
		if (errno == ELOOP)
			return p4r_error_set(P4R_EINTEGRITY, "registry '%s' is a symbolic link, which p4reg"
					     " does not follow: " RESTORE_HINT, path);
		return p4r_error_errno("cannot open registry '%s'", path);
	}
	if (fstat(fd, &st) < 0) {
		rc = p4r_error_errno("cannot stat registry '%s'", path);
	} else if (!S_ISREG(st.st_mode)) {
		rc = p4r_error_set(P4R_EINTEGRITY, "registry '%s' is not a regular file: " RESTORE_HINT,
				   path);
	} else if (st.st_size == 0) {
		rc = p4r_error_set(P4R_EINTEGRITY, "registry '%s' is empty (0 bytes): its history is"
				   " lost; " RESTORE_HINT, path);
	} else if ((got = pread(fd, head, sizeof(head), 0)) < 0) {
		rc = p4r_error_errno("cannot read registry '%s'", path);
	} else if (got < SQLITE_HEADER_SIZE || memcmp(head, SQLITE_MAGIC, sizeof(SQLITE_MAGIC))) {
		rc = p4r_error_set(P4R_EINTEGRITY, "'%s' is not a p4reg registry (not a SQLite"
				   " database): " RESTORE_HINT, path);
	}
	close(fd);
	return rc;
}

/* True when the folder of PATH holds what only a registry's use leaves
 * behind: objects, a quarantine, or PATH's write-ahead log. A registry
 * missing there was lost, and a new empty one would hide that. */
static bool has_local_state(const char *path)
{
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path) : 1;
	const char *dir = slash ? path : ".";
	char buf[PATH_MAX];
	struct dirent *de;
	struct stat st;
	bool found = false;
	DIR *d;
	int fd;

	if (snprintf(buf, sizeof(buf), "%s-wal", path) >= (int)sizeof(buf) || lstat(buf, &st) == 0)
		return true;
	if (snprintf(buf, sizeof(buf), "%.*s/quarantine", dirlen, dir) >= (int)sizeof(buf) ||
	    lstat(buf, &st) == 0)
		return true;
	snprintf(buf, sizeof(buf), "%.*s/objects", dirlen, dir);
	/* unreadable, or a link: not provably empty, so it counts */
	if ((fd = open(buf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno != ENOENT;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return true;
	}
	while (!found && (de = readdir(d)))
		found = strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return found;
}

/* Hardening for a file that may come from elsewhere (SQLite's "Defense
 * Against the Dark Arts"): ordinary SQL cannot corrupt the file
 * (DEFENSIVE); functions with side effects never run from the schema
 * (trusted_schema off); no views, p4reg has none; cells are checked as
 * pages are read; no memory mapping; bounded values. */
static int harden(sqlite3 *db, const char *path)
{
	if (sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL) != SQLITE_OK ||
	    sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL) != SQLITE_OK ||
	    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, (int *)NULL) != SQLITE_OK)
		return open_error(db, path);
	sqlite3_limit(db, SQLITE_LIMIT_LENGTH, VALUE_LIMIT);
	return exec(db, path, "PRAGMA trusted_schema = OFF; PRAGMA cell_size_check = ON;"
			      " PRAGMA mmap_size = 0");
}

/* The file's identity: application_id, user_version and the number of
 * schema objects, read by one statement so that they come from one snapshot
 * (a process migrating the same fresh file may commit between two reads).
 * *SQLERR (nullable) gets SQLite's extended code when the read fails. */
static int read_identity(sqlite3 *db, const char *path, int64_t *app_id, int64_t *version,
			 int64_t *objects, int *sqlerr)
{
	static const char sql[] =
		"SELECT (SELECT application_id FROM pragma_application_id),"
		" (SELECT user_version FROM pragma_user_version),"
		" (SELECT count(*) FROM sqlite_master)";
	sqlite3_stmt *st = NULL;
	int rc = 0, s;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		rc = open_error(db, path);
		goto done;
	}
	s = sqlite3_step(st);
	if (s != SQLITE_ROW) {
		rc = s == SQLITE_DONE ? p4r_error_set(P4R_ERROR, "registry: no identity row") :
		     open_error(db, path);
		goto done;
	}
	*app_id = sqlite3_column_int64(st, 0);
	*version = sqlite3_column_int64(st, 1);
	*objects = sqlite3_column_int64(st, 2);
done:
	if (rc < 0 && sqlerr)
		*sqlerr = sqlite3_extended_errcode(db);
	sqlite3_finalize(st);
	return rc;
}

/* Switching a fresh file to WAL needs an exclusive lock, and SQLite skips
 * the busy handler when it must upgrade a read lock (to avoid deadlock), so
 * processes racing to open a new registry wait for each other here. */
static int set_wal(sqlite3 *db, const char *path)
{
	int waited = 0, rc;

	for (;;) {
		rc = sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
		if ((rc & 0xff) != SQLITE_BUSY || waited >= BUSY_TIMEOUT_MS)
			break;
		sqlite3_sleep(10);
		waited += 10;
	}
	return rc == SQLITE_OK ? 0 : open_error(db, path);
}

/* Refuses files that are not ours or are newer than this binary;
 * *VERSION gets the schema version, *SQLERR (nullable) as in read_identity. */
static int check_identity(sqlite3 *db, const char *path, int64_t *version, int *sqlerr)
{
	int64_t app_id = 0, objects = 0;
	int rc;

	if ((rc = read_identity(db, path, &app_id, version, &objects, sqlerr)) < 0)
		return rc;
	/* Migration 1 sets application_id in the transaction that creates the
	 * tables, so a zero id is only ours while the file is still empty. */
	if (app_id != P4R_APPLICATION_ID && (app_id != 0 || *version != 0 || objects != 0))
		return p4r_error_set(P4R_EINTEGRITY, "'%s' is not a p4reg registry", path);
	if (*version > MIGRATION_COUNT)
		return p4r_error_set(P4R_ERROR,
				     "registry '%s' was written by a newer p4reg (schema %lld, this binary knows %d)",
				     path, (long long)*version, MIGRATION_COUNT);
	return 0;
}

static const struct {
	const char *name;
	const char *sql;
} known_triggers[] = {
	{ "events_no_update", TRIGGER_NO_UPDATE },
	{ "events_no_delete", TRIGGER_NO_DELETE },
	{ "versions_live_insert", TRIGGER_LIVE_INSERT },
	{ "versions_live_update", TRIGGER_LIVE_UPDATE },
	{ "versions_live_delete", TRIGGER_LIVE_DELETE },
	{ "events_unpublished_insert", TRIGGER_UNPUBLISHED_EVENT },
	{ "events_unpublished_delete", TRIGGER_UNPUBLISHED_EVENT_DELETE },
	{ "event_sync_insert", TRIGGER_UNPUBLISHED_SYNC_INSERT },
	{ "event_sync_update", TRIGGER_UNPUBLISHED_SYNC_UPDATE },
	{ "event_sync_delete", TRIGGER_UNPUBLISHED_SYNC_DELETE },
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* A and B are equal up to the length of runs of white space: a trigger
 * re-created by hand (sqlite3 shell, fsck's advice) with other spacing is
 * still ours. */
static bool same_sql(const char *a, const char *b)
{
	for (;;) {
		if (is_blank(*a) && is_blank(*b)) {
			while (is_blank(*a))
				a++;
			while (is_blank(*b))
				b++;
			continue;
		}
		if (*a != *b)
			return false;
		if (!*a)
			return true;
		a++;
		b++;
	}
}

static bool trigger_known(const char *name, const char *sql)
{
	size_t i;

	for (i = 0; i < sizeof(known_triggers) / sizeof(known_triggers[0]); i++)
		if (!strcmp(name, known_triggers[i].name))
			return same_sql(sql, known_triggers[i].sql);
	return false;
}

/* Refuses schema objects that run code or answer queries and that p4reg
 * did not create: a foreign trigger would run inside p4reg's transactions
 * (with its privileges over the file), a view or virtual table would answer
 * in place of a table. Checked before anything else reads or writes. */
static int check_schema(sqlite3 *db, const char *path)
{
	static const char sql[] =
		"SELECT type, name, coalesce(sql, '') FROM sqlite_master"
		" WHERE type IN ('trigger', 'view')"
		" OR (type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%')";
	sqlite3_stmt *st = NULL;
	int rc = 0, s;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		rc = open_error(db, path);
		goto done;
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		const char *text = (const char *)sqlite3_column_text(st, 2);

		if (!type || !name || !text)
			continue;
		if (!strcmp(type, "trigger") && trigger_known(name, text))
			continue;
		rc = p4r_error_set(P4R_EINTEGRITY, "registry '%s' holds a %s '%.64s' that p4reg did"
				   " not create, refused: it could run or answer in p4reg's place; "
				   RESTORE_HINT, path, strcmp(type, "table") ? type : "virtual table", name);
		goto done;
	}
	if (s != SQLITE_DONE)
		rc = open_error(db, path);
done:
	sqlite3_finalize(st);
	return rc;
}

/* Brings the schema up to MIGRATION_COUNT. Another process may be doing the
 * same on a fresh file, so the version is read again under the write lock. */
static int migrate(sqlite3 *db, const char *path)
{
	char sql[64];
	int64_t version;
	int i, rc;

	if ((rc = exec(db, path, "BEGIN IMMEDIATE")) < 0)
		return rc;
	if ((rc = check_identity(db, path, &version, NULL)) < 0)
		goto done;
	for (i = (int)version; i < MIGRATION_COUNT; i++) {
		if ((rc = exec(db, path, migrations[i])) < 0)
			goto done;
		/* PRAGMA takes no bound parameters; these are our own integers. */
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", i + 1);
		if ((rc = exec(db, path, sql)) < 0)
			goto done;
	}
	if (version == 0) {
		snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", (int)P4R_APPLICATION_ID);
		if ((rc = exec(db, path, sql)) < 0)
			goto done;
	}
	rc = exec(db, path, "COMMIT");
done:
	if (rc < 0 && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Moves the finished TMP to PATH without replacing anything there; when
 * PATH appeared meanwhile, EXCLUSIVE makes that P4R_EEXISTS, else the other
 * file wins (a process racing to create the same registry). */
static int publish(const char *tmp, const char *path, bool exclusive)
{
	int rc = renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE);

	/* no RENAME_NOREPLACE here: link() refuses to overwrite too */
	if (rc < 0 && (errno == EINVAL || errno == ENOSYS))
		rc = link(tmp, path);
	if (rc < 0 && errno == EEXIST)
		return exclusive ? p4r_error_set(P4R_EEXISTS, "registry '%s' already exists", path) : 0;
	if (rc < 0)
		return p4r_error_errno("cannot create registry '%s'", path);
	return p4r_fsync_parent(path);
}

/* Removes what create_file leaves under TMP's name. */
static void remove_temp(const char *tmp)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	char buf[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (snprintf(buf, sizeof(buf), "%s%s", tmp, suffixes[i]) < (int)sizeof(buf))
			unlink(buf);
}

/* Creates a complete, empty registry at PATH: built under a temporary name
 * beside it, fsynced and put in place without replacing anything, so PATH
 * never exists half-made and a zero-byte registry.db is always damage.
 * EXCLUSIVE as in publish. */
static int create_file(const char *path, bool exclusive)
{
	size_t len = strlen(path) + sizeof("-new-XXXXXX");
	char *tmp = malloc(len);
	sqlite3 *db = NULL;
	int fd = -1, rc;

	if (!tmp)
		return p4r_error_set(P4R_ERROR, "out of memory");
	/* "registry.db-*": what .p4reg/.gitignore already keeps out of git */
	snprintf(tmp, len, "%s-new-XXXXXX", path);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		rc = p4r_error_errno("cannot create registry '%s'", path);
		free(tmp);
		return rc;
	}
	if (fchmod(fd, 0644) < 0) {
		rc = p4r_error_errno("cannot change the mode of '%s'", tmp);
		goto done;
	}
	if (sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK) {
		rc = db ? open_error(db, path) : p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	if ((rc = harden(db, path)) < 0 || (rc = exec(db, path, "PRAGMA journal_mode = WAL")) < 0 ||
	    (rc = migrate(db, path)) < 0)
		goto done;
	/* closing the last connection checkpoints the WAL into the file */
	if (sqlite3_close(db) != SQLITE_OK) {
		rc = open_error(db, path);
		goto done;
	}
	db = NULL;
	if (fsync(fd) < 0) {
		rc = p4r_error_errno("cannot fsync '%s'", tmp);
		goto done;
	}
	rc = publish(tmp, path, exclusive);
done:
	sqlite3_close(db);
	if (fd >= 0)
		close(fd);
	remove_temp(tmp);
	free(tmp);
	return rc;
}

int p4r_registry_create(const char *path)
{
	return create_file(path, true);
}

/* PATH does not exist: creates it when CREATE and nothing beside it says a
 * registry was lost there. */
static int create_missing(const char *path, bool create)
{
	struct stat st;

	if (!create)
		return p4r_error_set(P4R_ERROR, "cannot open registry '%s': No such file or directory",
				     path);
	if (has_local_state(path)) {
		/* a process creating it right now stores objects only after it exists */
		if (lstat(path, &st) == 0)
			return 0;
		return p4r_error_set(P4R_EINTEGRITY, "registry '%s' is missing but its folder still holds"
				     " objects or a write-ahead log: an empty one would hide the lost"
				     " history; " RESTORE_HINT, path);
	}
	return create_file(path, false);
}

/* True when PATH and its folder can be written (access(2) also says no on a
 * read-only mount). */
static bool writable(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
	return access(path, W_OK) == 0 && access(dir, W_OK) == 0;
}

/* "file:PATH?mode=ro&immutable=1" with every byte of PATH that a URI could
 * read as syntax percent-encoded; malloc'd, NULL when out of memory. */
static char *immutable_uri(const char *path)
{
	static const char hex[] = "0123456789ABCDEF", query[] = "?mode=ro&immutable=1";
	size_t n = strlen(path), i, o = 5;
	char *uri = malloc(5 + 3 * n + sizeof(query));

	if (!uri)
		return NULL;
	memcpy(uri, "file:", 5);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)path[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("/-._~", c)) {
			uri[o++] = (char)c;
		} else {
			uri[o++] = '%';
			uri[o++] = hex[c >> 4];
			uri[o++] = hex[c & 15];
		}
	}
	memcpy(uri + o, query, sizeof(query));
	return uri;
}

static int connect_to(p4r_registry *reg, const char *name, int flags, const char *path)
{
	if (sqlite3_open_v2(name, &reg->db, flags | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK)
		return reg->db ? open_error(reg->db, path) : p4r_error_set(P4R_ERROR, "out of memory");
	/* SQLite opens a file it may not write read-only, even when asked for more */
	reg->readonly = sqlite3_db_readonly(reg->db, "main") == 1;
	sqlite3_busy_timeout(reg->db, BUSY_TIMEOUT_MS);
	return harden(reg->db, path);
}

/* Reconnects read-only to a registry in a repository nobody may write (a
 * read-only mount, chmod -R a-w): WAL needs its -shm index beside the file
 * and it cannot be created there. With no -wal, or an empty one, the file
 * holds every commit and nobody can add one, so SQLite may read it as
 * immutable (https://www.sqlite.org/wal.html#readonly). Frames in the -wal
 * would be ignored that way, so that case is refused instead. */
static int connect_readonly(p4r_registry *reg, const char *path)
{
	char wal[PATH_MAX], *uri;
	struct stat st;
	int rc;

	if (snprintf(wal, sizeof(wal), "%s-wal", path) < (int)sizeof(wal) && lstat(wal, &st) == 0 &&
	    st.st_size > 0)
		return p4r_error_set(P4R_ERROR, "cannot read registry '%s' in a read-only repository:"
				     " '%s' holds commits not yet in the file; run any p4reg command once"
				     " with write access", path, wal);
	if (!(uri = immutable_uri(path)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	sqlite3_close_v2(reg->db);
	reg->db = NULL;
	rc = connect_to(reg, uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, path);
	reg->readonly = true;
	free(uri);
	return rc;
}

/* Connects REG to PATH, falling back to connect_readonly when SQLite cannot
 * read for want of write access; checks the identity (*VERSION) and the
 * schema before anything else uses the file. */
static int connect_checked(p4r_registry *reg, const char *path, int64_t *version)
{
	int sqlerr = 0, rc;

	if ((rc = connect_to(reg, path, SQLITE_OPEN_READWRITE, path)) < 0)
		return rc;
	rc = check_identity(reg->db, path, version, &sqlerr);
	if (rc < 0 && ((sqlerr & 0xff) == SQLITE_READONLY || (sqlerr & 0xff) == SQLITE_CANTOPEN) &&
	    !writable(path)) {
		if ((rc = connect_readonly(reg, path)) < 0)
			return rc;
		rc = check_identity(reg->db, path, version, NULL);
	}
	if (rc < 0)
		return rc;
	return check_schema(reg->db, path);
}

int p4r_registry_open(p4r_registry **out, const char *path, bool create)
{
	p4r_registry *reg = NULL;
	int64_t version;
	bool missing;
	int rc;

	*out = NULL;
	if ((rc = check_file(path, &missing)) < 0 ||
	    (missing && (rc = create_missing(path, create)) < 0))
		return rc;
	if (!(reg = calloc(1, sizeof(*reg))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	racy_init(reg);
	if ((rc = connect_checked(reg, path, &version)) < 0)
		goto done;
	/* create_file publishes only migrated files: an empty database is a
	 * registry emptied (or replaced) after check_file looked, not a new one */
	if (version == 0) {
		rc = p4r_error_set(P4R_EINTEGRITY, "registry '%s' is an empty database: its history is"
				   " lost; " RESTORE_HINT, path);
		goto done;
	}
	if (reg->readonly) {
		if (version < MIGRATION_COUNT) {
			rc = p4r_error_set(P4R_ERROR, "registry '%s' needs an upgrade (schema %lld to %d)"
					   " but is read-only: run p4reg once with write access",
					   path, (long long)version, MIGRATION_COUNT);
			goto done;
		}
	} else {
		/* Identity first: switching a stranger's database to WAL would modify
		 * it. FULL: in WAL mode NORMAL may lose the last commits on power
		 * loss, and `add` must not report a version that a crash can take back. */
		if ((rc = set_wal(reg->db, path)) < 0 ||
		    (rc = exec(reg->db, path, "PRAGMA synchronous = FULL")) < 0)
			goto done;
	}
	if ((rc = exec(reg->db, path, "PRAGMA foreign_keys = ON")) < 0)
		goto done;
	if (!reg->readonly && version < MIGRATION_COUNT && (rc = migrate(reg->db, path)) < 0)
		goto done;
	*out = reg;
	reg = NULL;
done:
	p4r_registry_free(reg);
	return rc;
}

bool p4r_registry_readonly(const p4r_registry *reg)
{
	return reg && reg->readonly;
}

void p4r_registry_free(p4r_registry *reg)
{
	int i;

	if (!reg)
		return;
	if (reg->db && !sqlite3_get_autocommit(reg->db))
		sqlite3_exec(reg->db, "ROLLBACK", NULL, NULL, NULL);
	for (i = 0; i < P4R_ST_COUNT; i++)
		sqlite3_finalize(reg->stmts[i]);
	sqlite3_close_v2(reg->db);
	free(reg);
}

/* ---- transactions ---- */

int p4r_registry_begin(p4r_registry *reg)
{
	/* Work begun inside a rolled-back transaction would run in autocommit
	 * mode and survive the caller's rollback; refuse it instead. */
	if (reg->failed)
		return p4r_error_set(P4R_ERROR, "registry: transaction was rolled back");
	if (reg->depth == 0 && reg->readonly)
		return p4r_error_set(P4R_ERROR, "cannot change registry '%s': the repository is read-only",
				     sqlite3_db_filename(reg->db, "main"));
	if (reg->depth == 0 && sqlite3_exec(reg->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return p4r_sql_error(reg->db);
	reg->depth++;
	return 0;
}

int p4r_registry_begin_read(p4r_registry *reg)
{
	if (reg->failed)
		return p4r_error_set(P4R_ERROR, "registry: transaction was rolled back");
	if (reg->depth == 0 && sqlite3_exec(reg->db, "BEGIN DEFERRED", NULL, NULL, NULL) != SQLITE_OK)
		return p4r_sql_error(reg->db);
	reg->depth++;
	return 0;
}

int p4r_registry_commit(p4r_registry *reg)
{
	int rc;

	if (reg->depth == 0)
		return p4r_error_set(P4R_ERROR, "registry: commit without a transaction");
	if (reg->failed) {
		if (--reg->depth == 0)
			reg->failed = false;
		return p4r_error_set(P4R_ERROR, "registry: transaction was rolled back");
	}
	if (reg->depth > 1) {
		reg->depth--;
		return 0;
	}
	reg->depth = 0;
	if (sqlite3_exec(reg->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	rc = p4r_sql_error(reg->db);
	if (!sqlite3_get_autocommit(reg->db))
		sqlite3_exec(reg->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

void p4r_registry_abort(p4r_registry *reg)
{
	if (!reg || reg->depth == 0)
		return;
	/* SQLite may already have rolled back (SQLITE_FULL, IOERR, ...); the
	 * caller's error message is the one worth keeping, so errors are ignored. */
	if (!reg->failed && !sqlite3_get_autocommit(reg->db))
		sqlite3_exec(reg->db, "ROLLBACK", NULL, NULL, NULL);
	reg->failed = true;
	if (--reg->depth == 0)
		reg->failed = false;
}

/* Writes outside _begin still belong to the caller's transaction, if any;
 * after a rollback they would escape it into autocommit. */
static int txn_usable(p4r_registry *reg)
{
	if (reg->failed)
		return p4r_error_set(P4R_ERROR, "registry: transaction was rolled back");
	return 0;
}

/* ---- models ---- */

/* P4R_ENOTFOUND "unknown model 'NAME'", with the closest model's name as
 * the hint when one is close ("did you mean 'minilm'?"). */
static int unknown_model(p4r_registry *reg, const char *name)
{
	sqlite3_stmt *st = NULL;
	p4r_suggest s;

	p4r_suggest_init(&s, name);
	if (p4r_sql_prepare(reg->db, &st, "SELECT name FROM models ORDER BY name") == 0)
		while (sqlite3_step(st) == SQLITE_ROW)
			p4r_suggest_offer(&s, p4r_sql_col_text(st, 0));
	sqlite3_finalize(st);
	p4r_error_set(P4R_ENOTFOUND, "unknown model '%s'", name);
	if (p4r_suggest_result(&s))
		p4r_error_hint("did you mean '%s'?", p4r_suggest_result(&s));
	return P4R_ENOTFOUND;
}

/* *ID (and *PATH, nullable, malloc'd) of model NAME; *FOUND false if none. */
static int model_lookup(p4r_registry *reg, const char *name, int64_t *id, char **path, bool *found)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*id = 0;
	if (path)
		*path = NULL;
	if ((rc = p4r_sql_cached(reg, P4R_ST_MODEL_ID, &st)) < 0 ||
	    (rc = p4r_sql_bind_text(reg->db, st, 1, name)) < 0 ||
	    (rc = p4r_sql_row(reg->db, st, found)) < 0 || !*found)
		goto done;
	*id = sqlite3_column_int64(st, 0);
	if (path)
		rc = col_strdup(path, st, 1);
done:
	p4r_sql_release(st);
	return rc;
}

int p4r_sql_model_id(p4r_registry *reg, const char *name, int64_t *id)
{
	bool found = false;
	int rc = model_lookup(reg, name, id, NULL, &found);

	if (rc == 0 && !found)
		rc = p4r_error_set(P4R_ENOTFOUND, "unknown model '%s'", name);
	return rc;
}

/* One model row through statement ID bound to KEY. */
static int model_one(p4r_registry *reg, enum p4r_sql_id id, const char *key, p4r_model *out, bool *found)
{
	sqlite3_stmt *st = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = p4r_sql_cached(reg, id, &st)) < 0 ||
	    (rc = p4r_sql_bind_text(reg->db, st, 1, key)) < 0 ||
	    (rc = p4r_sql_row(reg->db, st, found)) < 0 || !*found)
		goto done;
	rc = read_model(out, st);
done:
	p4r_sql_release(st);
	return rc;
}

int p4r_registry_model_get(p4r_registry *reg, const char *name, p4r_model *out)
{
	bool found = false;
	int rc = model_one(reg, P4R_ST_MODEL_BY_NAME, name, out, &found);

	if (rc == 0 && !found)
		rc = unknown_model(reg, name);
	return rc;
}

int p4r_registry_model_by_path(p4r_registry *reg, const char *path, p4r_model *out)
{
	bool found = false;
	int rc = model_one(reg, P4R_ST_MODEL_BY_PATH, path, out, &found);

	if (rc == 0 && !found)
		rc = p4r_error_set(P4R_ENOTFOUND, "no model is bound to '%s'", path);
	return rc;
}

/* Every model, or (STAGE not NULL) those with a version in STAGE. */
static int model_list(p4r_registry *reg, const char *stage, p4r_model **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	p4r_model *arr = NULL;
	size_t cap = 0, count = 0;
	bool row = false;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = p4r_sql_cached(reg, P4R_ST_MODEL_LIST, &st)) < 0 ||
	    (rc = p4r_sql_bind_text(reg->db, st, 1, stage)) < 0)
		goto done;
	while ((rc = p4r_sql_row(reg->db, st, &row)) == 0 && row) {
		void *p = grow(arr, &cap, count, sizeof(*arr));

		if (!p) {
			rc = P4R_ERROR;
			break;
		}
		arr = p;
		if ((rc = read_model(&arr[count], st)) < 0)
			break;
		count++;
	}
done:
	p4r_sql_release(st);
	if (rc < 0) {
		p4r_model_array_free(arr, count);
		return rc;
	}
	*out = arr;
	*n = count;
	return 0;
}

int p4r_registry_model_list(p4r_registry *reg, p4r_model **out, size_t *n)
{
	return model_list(reg, NULL, out, n);
}

int p4r_registry_model_list_in_stage(p4r_registry *reg, p4r_stage stage, p4r_model **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!p4r_stage_name(stage))
		return p4r_error_set(P4R_EUSAGE, "unknown stage %d", (int)stage);
	return model_list(reg, p4r_stage_name(stage), out, n);
}

/* ---- versions ---- */

/* The error for a version query that found nothing: the model's absence
 * is the more useful message when that is the cause. */
static int version_missing(p4r_registry *reg, const char *model, const char *what)
{
	int64_t id;
	bool found = false;
	int rc = model_lookup(reg, model, &id, NULL, &found);

	if (rc < 0)
		return rc;
	if (!found)
		return unknown_model(reg, model);
	return p4r_error_set(P4R_ENOTFOUND, "model '%s' has %s", model, what);
}

/* Runs a version statement already bound by the caller, reading one row. */
static int version_one(p4r_registry *reg, sqlite3_stmt *st, p4r_version *out, bool *found)
{
	int rc = p4r_sql_row(reg->db, st, found);

	if (rc == 0 && *found)
		rc = read_version(out, st);
	p4r_sql_release(st);
	return rc;
}

static int version_by_id(p4r_registry *reg, int64_t id, p4r_version *out)
{
	sqlite3_stmt *st = NULL;
	bool found = false;
	int rc;

	if ((rc = p4r_sql_cached(reg, P4R_ST_VERSION_BY_ID, &st)) < 0 ||
	    (rc = p4r_sql_bind_int(reg->db, st, 1, id)) < 0) {
		p4r_sql_release(st);
		return rc;
	}
	if ((rc = version_one(reg, st, out, &found)) == 0 && !found)
		rc = p4r_error_set(P4R_ERROR, "registry: version row %lld vanished", (long long)id);
	return rc;
}

int p4r_registry_version_find(p4r_registry *reg, const char *model, int64_t number, p4r_version *out)
{
	sqlite3_stmt *st = NULL;
	char what[48];
	bool found = false;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = p4r_sql_cached(reg, P4R_ST_VERSION_GET, &st)) < 0 ||
	    (rc = p4r_sql_bind_text(reg->db, st, 1, model)) < 0 ||
	    (rc = p4r_sql_bind_int(reg->db, st, 2, number)) < 0) {
		p4r_sql_release(st);
		return rc;
	}
	if ((rc = version_one(reg, st, out, &found)) < 0 || found)
		return rc;
	snprintf(what, sizeof(what), "no version %lld", (long long)number);
	return version_missing(reg, model, what);
}

int p4r_registry_version_get(p4r_registry *reg, const char *model, int64_t number, p4r_version *out)
{
	int rc = p4r_registry_version_find(reg, model, number, out);

	if (rc < 0 || !out->deleted_ms)
		return rc;
	p4r_version_clear(out);
	return p4r_error_set(P4R_ENOTFOUND, "version %lld of model '%s' was deleted (p4reg rm);"
			     " 'p4reg history %s' says by whom and why", (long long)number, model, model);
}

int p4r_registry_version_latest(p4r_registry *reg, const char *model, p4r_version *out)
{
	sqlite3_stmt *st = NULL;
	bool found = false;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = p4r_sql_cached(reg, P4R_ST_VERSION_LATEST, &st)) < 0 ||
	    (rc = p4r_sql_bind_text(reg->db, st, 1, model)) < 0) {
		p4r_sql_release(st);
		return rc;
	}
	if ((rc = version_one(reg, st, out, &found)) < 0 || found)
		return rc;
	return version_missing(reg, model, "no versions");
}

int p4r_registry_version_in_stage(p4r_registry *reg, const char *model, p4r_stage stage, p4r_version *out)
{
	sqlite3_stmt *st = NULL;
	const char *name = p4r_stage_name(stage);
	char what[48];
	bool found = false;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!name)
		return p4r_error_set(P4R_EUSAGE, "unknown stage %d", (int)stage);
	if ((rc = p4r_sql_cached(reg, P4R_ST_VERSION_IN_STAGE, &st)) < 0 ||
	    (rc = p4r_sql_bind_text(reg->db, st, 1, model)) < 0 ||
	    (rc = p4r_sql_bind_text(reg->db, st, 2, name)) < 0) {
		p4r_sql_release(st);
		return rc;
	}
	if ((rc = version_one(reg, st, out, &found)) < 0 || found)
		return rc;
	snprintf(what, sizeof(what), "no version in %s", name);
	return version_missing(reg, model, what);
}

int p4r_registry_version_list(p4r_registry *reg, const char *model, p4r_version **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	p4r_version *arr = NULL;
	size_t cap = 0, count = 0;
	int64_t id;
	bool row = false;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = p4r_sql_cached(reg, P4R_ST_VERSION_LIST, &st)) < 0 ||
	    (rc = p4r_sql_bind_text(reg->db, st, 1, model)) < 0)
		goto done;
	while ((rc = p4r_sql_row(reg->db, st, &row)) == 0 && row) {
		void *p = grow(arr, &cap, count, sizeof(*arr));

		if (!p) {
			rc = P4R_ERROR;
			break;
		}
		arr = p;
		if ((rc = read_version(&arr[count], st)) < 0)
			break;
		count++;
	}
	p4r_sql_release(st);
	st = NULL;
	/* An empty list is fine for a model without versions, not for no model. */
	if (rc == 0 && count == 0 && (rc = model_lookup(reg, model, &id, NULL, &row)) == 0 && !row)
		rc = unknown_model(reg, model);
done:
	p4r_sql_release(st);
	if (rc < 0) {
		p4r_version_array_free(arr, count);
		return rc;
	}
	*out = arr;
	*n = count;
	return 0;
}

int p4r_registry_oid_referenced(p4r_registry *reg, const p4r_oid *oid, bool *out)
{
	sqlite3_stmt *st = NULL;
	bool row = false;
	int rc;

	*out = false;
	if ((rc = p4r_sql_cached(reg, P4R_ST_OID_REFERENCED, &st)) < 0 ||
	    (rc = p4r_sql_bind_text(reg->db, st, 1, oid->hex)) < 0 ||
	    (rc = p4r_sql_row(reg->db, st, &row)) < 0)
		goto done;
	*out = row && sqlite3_column_int(st, 0) != 0;
done:
	p4r_sql_release(st);
	return rc;
}

/* Validates what `add` passes in, before any transaction starts. */
static int check_input(const p4r_version_input *in)
{
	if (!p4r_model_name_valid(in->model))
		return p4r_error_set(P4R_EUSAGE, "invalid model name '%s'", in->model ? in->model : "");
	if (!in->path || !in->path[0])
		return p4r_error_set(P4R_EUSAGE, "model '%s' needs a workspace path", in->model);
	if (!oid_hex_valid(in->oid.hex, strnlen(in->oid.hex, sizeof(in->oid.hex))))
		return p4r_error_set(P4R_EUSAGE, "malformed oid for model '%s'", in->model);
	if (in->size < 0)
		return p4r_error_set(P4R_EUSAGE, "negative size for model '%s'", in->model);
	if (!in->author)
		return p4r_error_set(P4R_EUSAGE, "version of model '%s' has no author", in->model);
	if (in->kind != P4R_KIND_DIR && (in->kind != P4R_KIND_FILE || in->files || in->tree_size))
		return p4r_error_set(P4R_EUSAGE, "a file version of model '%s' has no file count or"
				     " tree size", in->model);
	/* What a remote would refuse must not be recorded: it would stop
	 * every other clone's fetch once pushed. */
	return p4r_version_input_check(in);
}

/* Refuses the version unless IN->model and IN->path are unbound or bound to
 * each other. Fills *MODEL_ID and *BOUND (the model's path, owned by the
 * caller even on failure; NULL when the model is new). */
static int check_binding(p4r_registry *reg, const p4r_version_input *in, int64_t *model_id,
			 char **bound)
{
	sqlite3_stmt *st = NULL;
	char *other = NULL;
	bool found = false;
	int rc;

	if ((rc = model_lookup(reg, in->model, model_id, bound, &found)) < 0)
		goto done;
	if (found && strcmp(*bound, in->path)) {
		rc = p4r_error_set(P4R_EEXISTS, "model '%s' is bound to '%s', not '%s'",
				   in->model, *bound, in->path);
		goto done;
	}
	if ((rc = p4r_sql_cached(reg, P4R_ST_MODEL_NAME_BY_PATH, &st)) < 0 ||
	    (rc = p4r_sql_bind_text(reg->db, st, 1, in->path)) < 0 ||
	    (rc = p4r_sql_row(reg->db, st, &found)) < 0)
		goto done;
	if (found && (rc = col_strdup(&other, st, 0)) < 0)
		goto done;
	p4r_sql_release(st);
	st = NULL;
	if (other && strcmp(other, in->model))
		rc = p4r_error_set(P4R_EEXISTS, "'%s' is already registered as model '%s'",
				   in->path, other);
done:
	p4r_sql_release(st);
	free(other);
	return rc;
}

/* Bytes some version of the model already has are that version (checkout
 * m@1, then add): a new number would be a duplicate. Sets *FOUND, and when
 * found *VERSION_ID and *OUTCOME (unchanged when it is the latest). */
static int find_same_bytes(p4r_registry *reg, int64_t model_id, const p4r_oid *oid, bool *found,
			   int64_t *version_id, p4r_add_outcome *outcome)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = p4r_sql_cached(reg, P4R_ST_SAME_OID, &st)) < 0 ||
	    (rc = p4r_sql_bind_int(reg->db, st, 1, model_id)) < 0 ||
	    (rc = p4r_sql_bind_text(reg->db, st, 2, oid->hex)) < 0 ||
	    (rc = p4r_sql_row(reg->db, st, found)) < 0)
		goto done;
	if (*found) {
		*version_id = sqlite3_column_int64(st, 0);
		*outcome = sqlite3_column_int(st, 1) ? P4R_ADD_UNCHANGED : P4R_ADD_IDENTICAL;
	}
done:
	p4r_sql_release(st);
	return rc;
}

/* Inserts the next version of MODEL_ID and its register event. */
static int insert_version(p4r_registry *reg, const p4r_version_input *in, int64_t model_id,
			  int64_t now, int64_t *version_id)
{
	p4r_sql_version_row vrow;
	p4r_sql_event_row erow;
	int rc;

	/* The number is computed by the INSERT itself, under BEGIN IMMEDIATE's
	 * write lock, so concurrent processes get dense, unique numbers. */
	vrow = (p4r_sql_version_row){ .model_id = model_id, .oid = &in->oid, .size = in->size,
				      .author = in->author, .created_ms = now,
				      .message = in->message ? in->message : "", .source_path = in->path,
				      .git_commit = in->git_commit, .git_branch = in->git_branch,
				      .git_dirty = in->git_dirty, .kind = in->kind, .files = in->files,
				      .tree_size = in->tree_size };
	if ((rc = p4r_sql_version_insert(reg, &vrow, version_id)) < 0)
		return rc;
	erow = (p4r_sql_event_row){ .model_id = model_id, .version_id = *version_id, .kind = "register",
				    .to_stage = stage_names[P4R_STAGE_DEVELOPMENT], .actor = in->author,
				    .at_ms = now, .reason = in->message ? in->message : "" };
	return p4r_sql_event_insert(reg, &erow, NULL);
}

/* The body of add_version, inside the transaction. */
static int add_version_txn(p4r_registry *reg, const p4r_version_input *in, int64_t now,
			   p4r_version *out, p4r_add_outcome *outcome)
{
	char *bound = NULL;
	int64_t model_id = 0, version_id = 0;
	bool found = false;
	int rc;

	if ((rc = check_binding(reg, in, &model_id, &bound)) < 0)
		goto done;
	if (!bound)
		rc = p4r_sql_model_insert(reg, in->model, in->path, now, &model_id);
	else
		rc = find_same_bytes(reg, model_id, &in->oid, &found, &version_id, outcome);
	if (rc < 0)
		goto done;
	if (!found && (rc = insert_version(reg, in, model_id, now, &version_id)) < 0)
		goto done;
	if (out)
		rc = version_by_id(reg, version_id, out);
done:
	free(bound);
	return rc;
}

int p4r_registry_register_version(p4r_registry *reg, const p4r_version_input *in,
				  p4r_version *out, p4r_add_outcome *outcome)
{
	p4r_add_outcome what = P4R_ADD_NEW;
	int rc;

	if (out)
		memset(out, 0, sizeof(*out));
	if (outcome)
		*outcome = P4R_ADD_NEW;
	if ((rc = check_input(in)) < 0 || (rc = p4r_registry_begin(reg)) < 0)
		return rc;
	rc = add_version_txn(reg, in, in->now_ms ? in->now_ms : p4r_now_ms(), out, &what);
	if (rc < 0)
		p4r_registry_abort(reg);
	else
		rc = p4r_registry_commit(reg);
	if (rc < 0) {
		p4r_version_clear(out);
		return rc;
	}
	if (outcome)
		*outcome = what;
	return 0;
}

int p4r_registry_add_version(p4r_registry *reg, const p4r_version_input *in,
			     p4r_version *out, bool *unchanged)
{
	p4r_add_outcome what = P4R_ADD_NEW;
	int rc = p4r_registry_register_version(reg, in, out, &what);

	if (unchanged)
		*unchanged = rc == 0 && what != P4R_ADD_NEW;
	return rc;
}

/* ---- moving a model ---- */

static int event_add_txn(p4r_registry *reg, const p4r_event *ev);

/* The body of model_move, inside the transaction. */
static int model_move_txn(p4r_registry *reg, const char *name, const char *from, const char *to,
			  const p4r_event *ev)
{
	sqlite3_stmt *st = NULL;
	char *bound = NULL, *other = NULL;
	int64_t model_id = 0;
	bool found = false;
	int rc;

	if ((rc = model_lookup(reg, name, &model_id, &bound, &found)) < 0)
		goto done;
	if (!found) {
		rc = unknown_model(reg, name);
		goto done;
	}
	if (strcmp(bound, from)) {
		rc = p4r_error_set(P4R_EEXISTS, "model '%s' is bound to '%s', not '%s'", name, bound, from);
		goto done;
	}
	if ((rc = p4r_sql_cached(reg, P4R_ST_MODEL_NAME_BY_PATH, &st)) < 0 ||
	    (rc = p4r_sql_bind_text(reg->db, st, 1, to)) < 0 ||
	    (rc = p4r_sql_row(reg->db, st, &found)) < 0)
		goto done;
	if (found && (rc = col_strdup(&other, st, 0)) < 0)
		goto done;
	p4r_sql_release(st);
	st = NULL;
	if (other) {
		rc = p4r_error_set(P4R_EUSAGE, "'%s' is bound to model '%s'", to, other);
		goto done;
	}
	if ((rc = p4r_sql_cached(reg, P4R_ST_MODEL_SET_PATH, &st)) < 0 ||
	    (rc = p4r_sql_bind_int(reg->db, st, 1, model_id)) < 0 ||
	    (rc = p4r_sql_bind_text(reg->db, st, 2, to)) < 0 ||
	    (rc = p4r_sql_run(reg->db, st)) < 0)
		goto done;
	p4r_sql_release(st);
	st = NULL;
	/* the renamed file's ctime moved: the old row could never match again */
	if ((rc = p4r_sql_cached(reg, P4R_ST_STAT_DELETE, &st)) < 0 ||
	    (rc = p4r_sql_bind_text(reg->db, st, 1, from)) < 0 ||
	    (rc = p4r_sql_run(reg->db, st)) < 0)
		goto done;
	p4r_sql_release(st);
	st = NULL;
	rc = event_add_txn(reg, ev);
done:
	p4r_sql_release(st);
	free(bound);
	free(other);
	return rc;
}

int p4r_registry_model_move(p4r_registry *reg, const char *name, const char *from, const char *to,
			    const char *actor, int64_t now_ms)
{
	p4r_event ev = { .actor = (char *)(actor ? actor : "unknown"), .at_ms = now_ms ? now_ms : p4r_now_ms() };
	size_t rlen = strlen(from) + strlen(to) + 5;
	int rc;

	if (!p4r_model_name_valid(name))
		return p4r_error_set(P4R_EUSAGE, "invalid model name '%s'", name ? name : "");
	if (!p4r_relpath_valid(to))
		return p4r_error_set(P4R_EUSAGE, "invalid model path '%s'", to);
	if (!strcmp(from, to))
		return p4r_error_set(P4R_EUSAGE, "'%s' and '%s' are the same path", from, to);
	snprintf(ev.model, sizeof(ev.model), "%s", name);
	snprintf(ev.kind, sizeof(ev.kind), "move");
	ev.detail = p4r_move_detail(from, to);
	if (!ev.detail || !(ev.reason = malloc(rlen))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	/* what `history` shows in the reason column: where the model went */
	snprintf(ev.reason, rlen, "%s -> %s", from, to);
	if ((rc = p4r_event_check(&ev)) < 0 || (rc = p4r_registry_begin(reg)) < 0)
		goto done;
	if ((rc = model_move_txn(reg, name, from, to, &ev)) < 0)
		p4r_registry_abort(reg);
	else
		rc = p4r_registry_commit(reg);
done:
	free(ev.detail);
	free(ev.reason);
	return rc;
}

/* ---- stat cache ---- */

int p4r_registry_statcache_get(p4r_registry *reg, const char *path, const p4r_stat_key *key,
			       p4r_oid *out, bool *found)
{
	sqlite3_stmt *st = NULL;
	const char *oid;
	bool row = false;
	int rc;

	*found = false;
	if ((rc = p4r_sql_cached(reg, P4R_ST_STAT_GET, &st)) < 0 ||
	    (rc = p4r_sql_bind_text(reg->db, st, 1, path)) < 0 ||
	    (rc = p4r_sql_row(reg->db, st, &row)) < 0 || !row)
		goto done;
	if (sqlite3_column_int64(st, 0) != key->dev ||
	    sqlite3_column_int64(st, 1) != key->ino ||
	    sqlite3_column_int64(st, 2) != key->size ||
	    sqlite3_column_int64(st, 3) != key->mtime_ns ||
	    sqlite3_column_int64(st, 4) != key->ctime_ns)
		goto done;
	/* A damaged cache row only costs a rehash, so it is a miss, not an error. */
	oid = (const char *)sqlite3_column_text(st, 5);
	if (!oid || !oid_hex_valid(oid, (size_t)sqlite3_column_bytes(st, 5)))
		goto done;
	memcpy(out->hex, oid, P4R_OID_HEXLEN);
	out->hex[P4R_OID_HEXLEN] = '\0';
	*found = true;
done:
	p4r_sql_release(st);
	return rc;
}

/* The racily-clean rule (git's, docs/performance.md "The racily-clean
 * window"): a file whose stat was last changed within one timestamp tick
 * of the moment its bytes began to be read may change again without its
 * stat moving, so no row is written for it and it is hashed again next
 * time. The moment is the key's seen_ns, the stat taken before the read
 * (unknown: when the registry was opened, before any read it caches); the
 * tick is the granularity measured for the repository's file system,
 * elsewhere or unmeasured two seconds. */
#define RACY_DEFAULT_NS INT64_C(2000000000)

static void racy_init(p4r_registry *reg)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	reg->opened_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	reg->racy_dev = -1;
	reg->racy_ns = RACY_DEFAULT_NS;
}

void p4r_registry_racy_window(p4r_registry *reg, int64_t dev, int64_t window_ns)
{
	/* no wider than the default (2 s), which is the rule of older p4regs */
	reg->racy_dev = dev;
	reg->racy_ns = window_ns > 0 && window_ns < RACY_DEFAULT_NS ? window_ns : RACY_DEFAULT_NS;
}

/* Whether KEY describes a file that changed too close to its reading. */
static bool racily_clean(const p4r_registry *reg, const p4r_stat_key *key)
{
	int64_t changed_ns = key->mtime_ns > key->ctime_ns ? key->mtime_ns : key->ctime_ns;
	int64_t window = key->dev == reg->racy_dev ? reg->racy_ns : RACY_DEFAULT_NS;
	int64_t read_ns = key->seen_ns > 0 ? key->seen_ns : reg->opened_ns;

	return changed_ns >= read_ns - window;
}

int p4r_registry_statcache_put(p4r_registry *reg, const char *path, const p4r_stat_key *key,
			       const p4r_oid *oid)
{
	sqlite3_stmt *st = NULL;
	int rc;

	/* the cache only saves a rehash: a read-only repository answers without it */
	if (racily_clean(reg, key) || reg->readonly)
		return 0;
	if (!oid_hex_valid(oid->hex, strnlen(oid->hex, sizeof(oid->hex))))
		return p4r_error_set(P4R_EUSAGE, "malformed oid for '%s'", path);
	if ((rc = txn_usable(reg)) < 0 ||
	    (rc = p4r_sql_cached(reg, P4R_ST_STAT_PUT, &st)) < 0 ||
	    (rc = p4r_sql_bind_text(reg->db, st, 1, path)) < 0 ||
	    (rc = p4r_sql_bind_int(reg->db, st, 2, key->dev)) < 0 ||
	    (rc = p4r_sql_bind_int(reg->db, st, 3, key->ino)) < 0 ||
	    (rc = p4r_sql_bind_int(reg->db, st, 4, key->size)) < 0 ||
	    (rc = p4r_sql_bind_int(reg->db, st, 5, key->mtime_ns)) < 0 ||
	    (rc = p4r_sql_bind_int(reg->db, st, 6, key->ctime_ns)) < 0 ||
	    (rc = p4r_sql_bind_text(reg->db, st, 7, oid->hex)) < 0)
		goto done;
	rc = p4r_sql_run(reg->db, st);
done:
	p4r_sql_release(st);
	return rc;
}

/* ---- events ---- */

/* True when S is "" or a stage name: events may arrive from remotes. */
static bool stage_text_valid(const char *s)
{
	p4r_stage stage;

	return !s[0] || stage_lookup(&stage, s);
}

static int event_add_txn(p4r_registry *reg, const p4r_event *ev)
{
	p4r_sql_event_row row;
	sqlite3_stmt *st = NULL;
	int64_t model_id, version_id = 0;
	bool found = false;
	int rc;

	if ((rc = model_lookup(reg, ev->model, &model_id, NULL, &found)) < 0)
		goto done;
	if (!found) {
		rc = unknown_model(reg, ev->model);
		goto done;
	}
	if (ev->version > 0) {
		if ((rc = p4r_sql_cached(reg, P4R_ST_VERSION_ID, &st)) < 0 ||
		    (rc = p4r_sql_bind_int(reg->db, st, 1, model_id)) < 0 ||
		    (rc = p4r_sql_bind_int(reg->db, st, 2, ev->version)) < 0 ||
		    (rc = p4r_sql_row(reg->db, st, &found)) < 0)
			goto done;
		if (!found) {
			rc = p4r_error_set(P4R_ENOTFOUND, "model '%s' has no version %lld",
					   ev->model, (long long)ev->version);
			goto done;
		}
		version_id = sqlite3_column_int64(st, 0);
		p4r_sql_release(st);
		st = NULL;
	}
	row = (p4r_sql_event_row){ .model_id = model_id, .version_id = version_id, .kind = ev->kind,
				   .from_stage = ev->from_stage, .to_stage = ev->to_stage,
				   .forced = ev->forced ? 1 : 0, .actor = ev->actor ? ev->actor : "",
				   .at_ms = ev->at_ms ? ev->at_ms : p4r_now_ms(),
				   .reason = ev->reason ? ev->reason : "", .detail = ev->detail };
	rc = p4r_sql_event_insert(reg, &row, NULL);
done:
	p4r_sql_release(st);
	return rc;
}

int p4r_registry_event_add(p4r_registry *reg, const p4r_event *ev)
{
	int rc;

	/* The struct's fixed arrays may arrive unterminated from a careless caller. */
	if (!memchr(ev->model, '\0', sizeof(ev->model)) || !p4r_model_name_valid(ev->model))
		return p4r_error_set(P4R_EUSAGE, "event names an invalid model");
	if (!memchr(ev->kind, '\0', sizeof(ev->kind)) || !ev->kind[0])
		return p4r_error_set(P4R_EUSAGE, "event for model '%s' has no kind", ev->model);
	if (!memchr(ev->from_stage, '\0', sizeof(ev->from_stage)) ||
	    !memchr(ev->to_stage, '\0', sizeof(ev->to_stage)) ||
	    !stage_text_valid(ev->from_stage) || !stage_text_valid(ev->to_stage))
		return p4r_error_set(P4R_EUSAGE, "event for model '%s' names an unknown stage", ev->model);
	if ((rc = p4r_event_check(ev)) < 0)
		return rc;
	if ((rc = p4r_registry_begin(reg)) < 0)
		return rc;
	if ((rc = event_add_txn(reg, ev)) < 0) {
		p4r_registry_abort(reg);
		return rc;
	}
	return p4r_registry_commit(reg);
}

/* Binds F to statement ST of P4R_ST_EVENT_LIST_*. */
static int event_bind(p4r_registry *reg, sqlite3_stmt *st, const p4r_event_filter *f)
{
	int rc;

	if ((f->model && (rc = p4r_sql_bind_text(reg->db, st, 1, f->model)) < 0) ||
	    (rc = p4r_sql_bind_int(reg->db, st, 2, f->since_ms)) < 0 ||
	    (rc = p4r_sql_bind_int(reg->db, st, 3, f->until_ms > 0 ? f->until_ms : INT64_MAX)) < 0 ||
	    (rc = p4r_sql_bind_text(reg->db, st, 4, f->kind)) < 0 ||
	    (rc = p4r_sql_bind_int(reg->db, st, 5, f->limit > 0 ? f->limit : -1)) < 0)
		return rc;
	return 0;
}

/* Reverses ARR[0..N): the query reads newest first. */
static void events_reverse(p4r_event *arr, size_t n)
{
	size_t i;

	for (i = 0; i < n / 2; i++) {
		p4r_event t = arr[i];

		arr[i] = arr[n - 1 - i];
		arr[n - 1 - i] = t;
	}
}

/* The rows of the bound statement ST into *OUT, *N. */
static int events_read(p4r_registry *reg, sqlite3_stmt *st, p4r_event **out, size_t *n)
{
	p4r_event *arr = NULL;
	size_t cap = 0, count = 0;
	bool row = false;
	int rc;

	while ((rc = p4r_sql_row(reg->db, st, &row)) == 0 && row) {
		void *p = grow(arr, &cap, count, sizeof(*arr));

		if (!p) {
			rc = P4R_ERROR;
			break;
		}
		arr = p;
		if ((rc = read_event(&arr[count], st)) < 0)
			break;
		count++;
	}
	if (rc < 0) {
		p4r_event_array_free(arr, count);
		return rc;
	}
	events_reverse(arr, count);
	*out = arr;
	*n = count;
	return 0;
}

/* The least K with K * K >= N (N >= 0). */
static int64_t isqrt_up(int64_t n)
{
	int64_t k = 0, step;

	for (step = INT64_C(1) << 31; step; step >>= 1)
		if ((k + step) <= INT64_C(3037000499) && (k + step) * (k + step) < n)
			k += step;
	return n > 0 ? k + 1 : 0;
}

/* Whether history -n LIMIT of model MODEL_ID walks the log rather than
 * sorting the model's events. Sorting reads all E of them; the walk reads
 * about LIMIT x TOTAL / E events of the log, TOTAL being all events (their
 * largest id: events are append-only, so ids run 1..TOTAL). The walk wins
 * when E >= K = sqrt(LIMIT x TOTAL), and then neither reads more than K
 * (4,500 for -n 20 of a million events), so E is counted no further. */
static int model_events_many(p4r_registry *reg, int64_t model_id, int64_t limit, bool *many)
{
	sqlite3_stmt *st = NULL;
	int64_t total = 0, k;
	int rc;

	*many = false;
	if ((rc = p4r_sql_cached(reg, P4R_ST_EVENT_MAX_ID, &st)) < 0 || (rc = p4r_sql_step(reg->db, st)) < 0)
		goto done;
	total = sqlite3_column_int64(st, 0);
	p4r_sql_release(st);
	k = isqrt_up(total > INT64_MAX / limit ? INT64_MAX : total * limit);
	if ((rc = p4r_sql_cached(reg, P4R_ST_EVENT_COUNT_MODEL, &st)) == 0 &&
	    (rc = p4r_sql_bind_int(reg->db, st, 1, model_id)) == 0 &&
	    (rc = p4r_sql_bind_int(reg->db, st, 2, k)) == 0 && (rc = p4r_sql_step(reg->db, st)) > 0) {
		*many = sqlite3_column_int64(st, 0) >= k;
		rc = 0;
	}
done:
	p4r_sql_release(st);
	return rc;
}

/* The statement for F: the log walked newest first when F keeps the last
 * LIMIT events (all models, or one with many events; ?1 then binds the
 * model's id), else every matching event sorted. */
static int event_stmt(p4r_registry *reg, const p4r_event_filter *f, sqlite3_stmt **st)
{
	int64_t model_id = 0;
	bool found = true, many = true;
	int rc;

	*st = NULL;
	if (f->model && (rc = model_lookup(reg, f->model, &model_id, NULL, &found)) < 0)
		return rc;
	if (!found)
		return unknown_model(reg, f->model);
	if (f->limit > 0 && f->model && (rc = model_events_many(reg, model_id, f->limit, &many)) < 0)
		return rc;
	if (f->limit <= 0 || !many)
		return (rc = p4r_sql_cached(reg, f->model ? P4R_ST_EVENT_LIST_MODEL : P4R_ST_EVENT_LIST_ALL,
					    st)) < 0 ? rc : event_bind(reg, *st, f);
	if ((rc = p4r_sql_cached(reg, P4R_ST_EVENT_WALK, st)) < 0 || (rc = event_bind(reg, *st, f)) < 0)
		return rc;
	return f->model ? p4r_sql_bind_int(reg->db, *st, 1, model_id) : 0;
}

int p4r_registry_event_query(p4r_registry *reg, const p4r_event_filter *f, p4r_event **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = event_stmt(reg, f, &st)) == 0)
		rc = events_read(reg, st, out, n);
	p4r_sql_release(st);
	return rc;
}

int p4r_registry_event_kinds(p4r_registry *reg, const char *model, const char *const *kinds,
			     size_t nkinds, int64_t limit, p4r_event **out, size_t *n)
{
	char sql[sizeof(EVENT_SELECT P4R_SQL_LOG_JOIN) + 256 + 4 * P4R_EVENT_KINDS_MAX];
	sqlite3_stmt *st = NULL;
	size_t used, i;
	int64_t id;
	int rc;

	*out = NULL;
	*n = 0;
	if (nkinds == 0 || nkinds > P4R_EVENT_KINDS_MAX)
		return p4r_error_set(P4R_EUSAGE, "give 1 to %d event kinds", P4R_EVENT_KINDS_MAX);
	if ((rc = p4r_sql_model_id(reg, model, &id)) < 0)
		return rc;
	/* one placeholder per kind: the text varies with NKINDS, so it is not cached */
	used = (size_t)snprintf(sql, sizeof(sql), "%s WHERE e.model_id = ?1 AND e.kind IN (?3",
				EVENT_SELECT P4R_SQL_LOG_JOIN);
	for (i = 1; i < nkinds; i++)
		used += (size_t)snprintf(sql + used, sizeof(sql) - used, ",?%zu", i + 3);
	snprintf(sql + used, sizeof(sql) - used, ") ORDER BY %s LIMIT ?2", P4R_SQL_LOG_ORDER_DESC);
	if ((rc = p4r_sql_prepare(reg->db, &st, sql)) < 0 || (rc = p4r_sql_bind_int(reg->db, st, 1, id)) < 0 ||
	    (rc = p4r_sql_bind_int(reg->db, st, 2, limit > 0 ? limit : -1)) < 0)
		goto done;
	for (i = 0; i < nkinds; i++)
		if ((rc = p4r_sql_bind_text(reg->db, st, (int)i + 3, kinds[i])) < 0)
			goto done;
	rc = events_read(reg, st, out, n);
done:
	sqlite3_finalize(st);
	return rc;
}

int p4r_registry_event_list(p4r_registry *reg, const char *model, int64_t since_ms,
			    p4r_event **out, size_t *n)
{
	p4r_event_filter f = { .model = model, .since_ms = since_ms };

	return p4r_registry_event_query(reg, &f, out, n);
}

int p4r_registry_event_kind_exists(p4r_registry *reg, const char *kind, bool *out)
{
	sqlite3_stmt *st = NULL;
	bool row = false;
	int rc;

	*out = false;
	if ((rc = p4r_sql_prepare(reg->db, &st, "SELECT EXISTS(SELECT 1 FROM events WHERE kind = ?1)")) == 0 &&
	    (rc = p4r_sql_bind_text(reg->db, st, 1, kind)) == 0 && (rc = p4r_sql_row(reg->db, st, &row)) == 0)
		*out = row && sqlite3_column_int(st, 0) != 0;
	sqlite3_finalize(st);
	return rc;
}
