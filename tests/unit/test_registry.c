/* Unit tests for registry.c against real SQLite files in temporary folders:
 * opening and refusing files, migrations, versions, events, the stat cache,
 * nested transactions and eight processes adding at once. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/registry.h"
#include "p4reg/fsck.h"
#include "p4reg/hash.h"
#include "p4reg/alias.h"
#include "p4reg/deletion.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sqlite3.h>

#include "registry/sql.h" /* p4r_registry_db: the tests look at the rows */

#define NCHILD 8
/* What every refusal of the registry file ends with. */
#define HINT "run 'p4reg fsck' for a full report; restore the file from a backup, or replace it" \
	" with an empty registry (p4reg fsck --new-registry) and refill that from a remote (p4reg pull)"
#define PER_CHILD 20

/* One registry per test, in its own temporary folder. */
struct fx {
	char *dir;         /* the temporary folder */
	char *db;          /* DIR/registry.db */
	p4r_registry *reg; /* open on DB, or NULL after a test closed it */
};

static char *join(const char *a, const char *b)
{
	size_t sz = strlen(a) + strlen(b) + 2;
	char *p = malloc(sz);

	assert_non_null(p);
	snprintf(p, sz, "%s/%s", a, b);
	return p;
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->dir = tu_mkdtemp();
	fx->db = join(fx->dir, "registry.db");
	assert_int_equal(p4r_registry_open(&fx->reg, fx->db, true), 0);
	*state = fx;
	return 0;
}

/* Like setup, without creating the database. */
static int setup_empty(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->dir = tu_mkdtemp();
	fx->db = join(fx->dir, "registry.db");
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	p4r_registry_free(fx->reg);
	free(fx->db);
	tu_rmtree_free(fx->dir);
	free(fx);
	return 0;
}

/* A distinct, valid oid per (A, B). */
static void make_oid(p4r_oid *out, unsigned a, unsigned b)
{
	snprintf(out->hex, sizeof(out->hex), "%056x%08x", a, b);
}

static p4r_version_input input(const char *model, const char *path, unsigned seed)
{
	p4r_version_input in = {
		.model = model, .path = path, .size = 1000 + seed, .author = "alice",
		.message = "trained", .git_dirty = -1,
	};

	make_oid(&in.oid, 7, seed);
	return in;
}

/* Adds version SEED of MODEL at PATH; returns its number (asserting success). */
static int64_t add(p4r_registry *reg, const char *model, const char *path, unsigned seed)
{
	p4r_version_input in = input(model, path, seed);
	p4r_version v = { 0 };
	bool unchanged = true;
	int64_t n;

	assert_int_equal(p4r_registry_add_version(reg, &in, &v, &unchanged), 0);
	assert_false(unchanged);
	n = v.number;
	p4r_version_clear(&v);
	return n;
}

/* The integer answer of SQL through the registry's own connection. */
static int64_t db_int(p4r_registry *reg, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(p4r_registry_db(reg), sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Runs SQL on a plain SQLite connection to PATH (creating it). */
static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void assert_error(int rc, int code, const char *message)
{
	assert_int_equal(rc, code);
	assert_int_equal(p4r_error_code(), code);
	assert_string_equal(p4r_error_message(), message);
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static void test_stage_names(void **state)
{
	p4r_stage s;
	int i;

	(void)state;
	for (i = 0; i < P4R_STAGE_COUNT; i++) {
		assert_non_null(p4r_stage_name((p4r_stage)i));
		assert_int_equal(p4r_stage_parse(&s, p4r_stage_name((p4r_stage)i)), 0);
		assert_int_equal(s, i);
	}
	assert_string_equal(p4r_stage_name(P4R_STAGE_PRODUCTION), "production");
	assert_null(p4r_stage_name(P4R_STAGE_COUNT));
	assert_error(p4r_stage_parse(&s, "Production"), P4R_EUSAGE, "unknown stage 'Production'");
	assert_error(p4r_stage_parse(&s, "prod"), P4R_EUSAGE, "unknown stage 'prod'");
	assert_error(p4r_stage_parse(&s, ""), P4R_EUSAGE, "unknown stage ''");
}

static void test_model_name_valid(void **state)
{
	char name[P4R_MODEL_NAME_MAX + 2];

	(void)state;
	assert_true(p4r_model_name_valid("x"));
	assert_true(p4r_model_name_valid("all-MiniLM-L6-v2"));
	assert_true(p4r_model_name_valid("Pleias_RAG.1B"));
	assert_false(p4r_model_name_valid(NULL));
	assert_false(p4r_model_name_valid(""));
	assert_false(p4r_model_name_valid("a/b"));
	assert_false(p4r_model_name_valid(".."));
	assert_false(p4r_model_name_valid(".x"));
	assert_false(p4r_model_name_valid("-x"));
	assert_false(p4r_model_name_valid("a b"));
	assert_false(p4r_model_name_valid("a@1"));
	assert_false(p4r_model_name_valid("caf\xc3\xa9"));
	memset(name, 'm', sizeof(name));
	name[P4R_MODEL_NAME_MAX] = '\0';
	assert_true(p4r_model_name_valid(name));
	name[P4R_MODEL_NAME_MAX] = 'm';
	name[P4R_MODEL_NAME_MAX + 1] = '\0';
	assert_false(p4r_model_name_valid(name));
}

static void test_open_fresh(void **state)
{
	struct fx *fx = *state;
	sqlite3_stmt *st = NULL;

	assert_int_equal(db_int(fx->reg, "PRAGMA application_id"), P4R_APPLICATION_ID);
	assert_int_equal(db_int(fx->reg, "PRAGMA user_version"), 7);
	assert_int_equal(db_int(fx->reg, "PRAGMA foreign_keys"), 1);
	assert_int_equal(db_int(fx->reg, "PRAGMA synchronous"), 2); /* FULL */
	assert_int_equal(sqlite3_prepare_v2(p4r_registry_db(fx->reg), "PRAGMA journal_mode",
					    -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
				" AND name IN ('models','versions','events','stat_cache','runs',"
				"'params','metrics')"), 7);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM sqlite_master WHERE name IN"
				" ('versions_oid','one_production','one_staging','metrics_latest')"), 4);

	/* Reopening, without create, finds the same registry and its data. */
	assert_int_equal(add(fx->reg, "x", "models/x.onnx", 1), 1);
	p4r_registry_free(fx->reg);
	fx->reg = NULL;
	assert_int_equal(p4r_registry_open(&fx->reg, fx->db, false), 0);
	assert_int_equal(db_int(fx->reg, "PRAGMA user_version"), 7);
	assert_int_equal(add(fx->reg, "x", "models/x.onnx", 2), 2);
	p4r_registry_free(fx->reg);
	fx->reg = NULL;
	assert_int_equal(p4r_registry_open(&fx->reg, fx->db, true), 0);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM versions"), 2);
}

static void test_open_missing(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(p4r_registry_open(&fx->reg, fx->db, false), P4R_ERROR);
	assert_null(fx->reg);
	assert_non_null(strstr(p4r_error_message(), fx->db));
	assert_false(exists(fx->db));
}

static void test_open_garbage(void **state)
{
	struct fx *fx = *state;
	char garbage[4096], msg[1024], *path, *after;
	size_t len;

	memset(garbage, 'g', sizeof(garbage));
	memcpy(garbage, "not a database, just bytes\n", 27);
	path = tu_write(fx->dir, "garbage.db", garbage, sizeof(garbage));
	snprintf(msg, sizeof(msg), "'%s' is not a p4reg registry (not a SQLite database): " HINT, path);
	assert_error(p4r_registry_open(&fx->reg, path, false), P4R_EINTEGRITY, msg);
	assert_null(fx->reg);
	assert_error(p4r_registry_open(&fx->reg, path, true), P4R_EINTEGRITY, msg);
	/* Refused means untouched. */
	after = tu_slurp(path, &len);
	assert_int_equal(len, sizeof(garbage));
	assert_memory_equal(after, garbage, sizeof(garbage));
	free(after);
	free(path);
}

static void test_open_foreign_application(void **state)
{
	struct fx *fx = *state;
	char msg[1024], *wal;

	raw_exec(fx->db, "PRAGMA application_id = 42; CREATE TABLE t(x); INSERT INTO t VALUES (1);");
	snprintf(msg, sizeof(msg), "'%s' is not a p4reg registry", fx->db);
	assert_error(p4r_registry_open(&fx->reg, fx->db, true), P4R_EINTEGRITY, msg);
	assert_null(fx->reg);
	/* The stranger's file was not switched to WAL. */
	wal = join(fx->dir, "registry.db-wal");
	assert_false(exists(wal));
	free(wal);

	/* An unmarked database with tables is not ours either. */
	raw_exec(fx->db, "PRAGMA application_id = 0;");
	assert_error(p4r_registry_open(&fx->reg, fx->db, true), P4R_EINTEGRITY, msg);
	assert_null(fx->reg);
}

static void test_open_newer(void **state)
{
	struct fx *fx = *state;
	char msg[1024];

	p4r_registry_free(fx->reg);
	fx->reg = NULL;
	raw_exec(fx->db, "PRAGMA user_version = 999;");
	snprintf(msg, sizeof(msg), "registry '%s' was written by a newer p4reg"
		 " (schema 999, this binary knows 7)", fx->db);
	assert_error(p4r_registry_open(&fx->reg, fx->db, false), P4R_ERROR, msg);
	assert_null(fx->reg);
	assert_error(p4r_registry_open(&fx->reg, fx->db, true), P4R_ERROR, msg);
}

/* A registry emptied by accident or truncated to nothing: SQLite would take
 * it for a new database, so p4reg must refuse it before SQLite sees it. */
static void test_open_empty_file(void **state)
{
	struct fx *fx = *state;
	char *path = tu_write(fx->dir, "registry.db", "", 0), msg[1024], *wal;
	struct stat st;

	snprintf(msg, sizeof(msg), "registry '%s' is empty (0 bytes): its history is lost; " HINT, path);
	assert_error(p4r_registry_open(&fx->reg, path, false), P4R_EINTEGRITY, msg);
	assert_error(p4r_registry_open(&fx->reg, path, true), P4R_EINTEGRITY, msg);
	assert_null(fx->reg);
	/* nothing was written: still zero bytes, no WAL beside it */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
	wal = join(fx->dir, "registry.db-wal");
	assert_false(exists(wal));
	free(wal);

	/* a SQLite file with nothing in it: emptied, not new (p4reg creates
	 * registries whole), so refused too and left as it is */
	raw_exec(path, "CREATE TABLE t(x); DROP TABLE t;");
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 0);
	snprintf(msg, sizeof(msg), "registry '%s' is an empty database: its history is lost; " HINT, path);
	assert_error(p4r_registry_open(&fx->reg, path, true), P4R_EINTEGRITY, msg);
	free(path);
}

/* A registry cut short keeps a valid header; SQLite finds the pages missing. */
static void test_open_truncated(void **state)
{
	struct fx *fx = *state;
	char prefix[1024];
	int i;

	for (i = 1; i <= 200; i++)
		add(fx->reg, "x", "models/x.onnx", (unsigned)i);
	p4r_registry_free(fx->reg);
	fx->reg = NULL;
	assert_int_equal(truncate(fx->db, 8192), 0);
	snprintf(prefix, sizeof(prefix), "registry '%s' is damaged (", fx->db);
	assert_int_equal(p4r_registry_open(&fx->reg, fx->db, true), P4R_EINTEGRITY);
	assert_null(fx->reg);
	assert_memory_equal(p4r_error_message(), prefix, strlen(prefix));
	assert_non_null(strstr(p4r_error_message(), "run 'p4reg fsck'"));
}

/* Only a folder with nothing to lose (a fresh clone) gets a new registry. */
static void test_open_missing_beside_state(void **state)
{
	struct fx *fx = *state;
	char msg[1024], *objects, *ab, *wal;

	snprintf(msg, sizeof(msg), "registry '%s' is missing but its folder still holds objects or a"
		 " write-ahead log: an empty one would hide the lost history; " HINT, fx->db);
	objects = join(fx->dir, "objects");
	ab = join(objects, "ab");
	assert_int_equal(mkdir(objects, 0755), 0);
	/* an empty objects/ is what a first command made before it failed */
	assert_int_equal(p4r_registry_open(&fx->reg, fx->db, true), 0);
	p4r_registry_free(fx->reg);
	fx->reg = NULL;
	assert_int_equal(unlink(fx->db), 0);
	assert_int_equal(mkdir(ab, 0755), 0);
	assert_error(p4r_registry_open(&fx->reg, fx->db, true), P4R_EINTEGRITY, msg);
	assert_false(exists(fx->db));
	assert_int_equal(rmdir(ab), 0);
	/* a write-ahead log without its registry */
	wal = tu_write(fx->dir, "registry.db-wal", "frames", 6);
	assert_error(p4r_registry_open(&fx->reg, fx->db, true), P4R_EINTEGRITY, msg);
	assert_false(exists(fx->db));
	/* the explicit way to start over */
	assert_int_equal(unlink(wal), 0);
	assert_int_equal(mkdir(ab, 0755), 0);
	assert_int_equal(p4r_registry_create(fx->db), 0);
	assert_int_equal(p4r_registry_create(fx->db), P4R_EEXISTS);
	assert_int_equal(p4r_registry_open(&fx->reg, fx->db, false), 0);
	assert_int_equal(db_int(fx->reg, "PRAGMA user_version"), 7);
	assert_int_equal(db_int(fx->reg, "PRAGMA application_id"), P4R_APPLICATION_ID);
	free(wal);
	free(ab);
	free(objects);
}

/* Creating leaves no temporary file behind and a file already in WAL mode. */
static void test_create_is_atomic(void **state)
{
	struct fx *fx = *state;
	sqlite3_stmt *st = NULL;

	assert_int_equal(p4r_registry_open(&fx->reg, fx->db, true), 0);
	assert_int_equal(sqlite3_prepare_v2(p4r_registry_db(fx->reg), "PRAGMA journal_mode",
					    -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	p4r_registry_free(fx->reg);
	fx->reg = NULL;
	/* only registry.db: no registry.db-new-* left over */
	{
		char cmd[1200];
		FILE *p;
		char line[256];
		int n = 0;

		snprintf(cmd, sizeof(cmd), "ls -A '%s'", fx->dir);
		assert_non_null(p = popen(cmd, "r"));
		while (fgets(line, sizeof(line), p)) {
			assert_string_equal(line, "registry.db\n");
			n++;
		}
		pclose(p);
		assert_int_equal(n, 1);
	}
}

/* Every connection is hardened for a file that may be hostile. */
static void test_open_hardened(void **state)
{
	struct fx *fx = *state;
	sqlite3 *db = p4r_registry_db(fx->reg);
	int on = -1;

	assert_int_equal(sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, -1, &on), SQLITE_OK);
	assert_int_equal(on, 1);
	assert_int_equal(sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, -1, &on), SQLITE_OK);
	assert_int_equal(on, 0);
	assert_int_equal(sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_VIEW, -1, &on), SQLITE_OK);
	assert_int_equal(on, 0);
	assert_int_equal(db_int(fx->reg, "PRAGMA trusted_schema"), 0);
	assert_int_equal(db_int(fx->reg, "PRAGMA cell_size_check"), 1);
	/* defensive: the schema cannot be written behind SQLite's back */
	assert_int_not_equal(sqlite3_exec(db, "PRAGMA writable_schema = ON;"
					  " UPDATE sqlite_master SET sql = 'x' WHERE name = 'models'",
					  NULL, NULL, NULL), SQLITE_OK);
}

/* A trigger, view or virtual table p4reg did not create is refused before
 * anything runs; one of ours re-created with other spacing is accepted. */
static void test_open_foreign_schema(void **state)
{
	struct fx *fx = *state;
	char msg[1024];

	add(fx->reg, "x", "models/x.onnx", 1);
	p4r_registry_free(fx->reg);
	fx->reg = NULL;
	raw_exec(fx->db, "CREATE TRIGGER evil AFTER INSERT ON versions"
		 " BEGIN UPDATE models SET path = '../../pwned'; END;");
	snprintf(msg, sizeof(msg), "registry '%s' holds a trigger 'evil' that p4reg did not create,"
		 " refused: it could run or answer in p4reg's place; " HINT, fx->db);
	assert_error(p4r_registry_open(&fx->reg, fx->db, true), P4R_EINTEGRITY, msg);
	assert_null(fx->reg);

	/* same name as ours, another body */
	raw_exec(fx->db, "DROP TRIGGER evil; DROP TRIGGER events_no_delete;"
		 " CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN DELETE FROM models; END;");
	snprintf(msg, sizeof(msg), "registry '%s' holds a trigger 'events_no_delete' that p4reg did not"
		 " create, refused: it could run or answer in p4reg's place; " HINT, fx->db);
	assert_error(p4r_registry_open(&fx->reg, fx->db, true), P4R_EINTEGRITY, msg);

	/* ours, typed again by hand */
	raw_exec(fx->db, "DROP TRIGGER events_no_delete; CREATE TRIGGER events_no_delete BEFORE DELETE"
		 " ON events\n BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;");
	assert_int_equal(p4r_registry_open(&fx->reg, fx->db, true), 0);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM models WHERE path = 'models/x.onnx'"), 1);
	p4r_registry_free(fx->reg);
	fx->reg = NULL;

	raw_exec(fx->db, "CREATE VIEW shadow AS SELECT * FROM versions;");
	snprintf(msg, sizeof(msg), "registry '%s' holds a view 'shadow' that p4reg did not create,"
		 " refused: it could run or answer in p4reg's place; " HINT, fx->db);
	assert_error(p4r_registry_open(&fx->reg, fx->db, true), P4R_EINTEGRITY, msg);
}

/* Makes DIR read-only for this process: a read-only bind mount in a
 * private mount namespace when running as root (permission bits do not
 * bind root), else chmod -R a-w (the caller restores it). False when
 * neither is possible here. */
static bool make_read_only(const char *dir)
{
	char cmd[1200];

	if (geteuid() != 0) {
		snprintf(cmd, sizeof(cmd), "chmod -R a-w '%s'", dir);
		return system(cmd) == 0;
	}
	return unshare(CLONE_NEWNS) == 0 &&
	       mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
	       mount(dir, dir, NULL, MS_BIND, NULL) == 0 &&
	       mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) == 0;
}

/* Runs FN in a child for which DIR is read-only; returns its exit status,
 * or skips the test when this system cannot make a folder read-only. */
static int as_reader(const char *dir, const char *db, void (*fn)(const char *db))
{
	char cmd[1200];
	pid_t pid;
	int status;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (!make_read_only(dir))
			_exit(77);
		fn(db);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	snprintf(cmd, sizeof(cmd), "chmod -R u+w '%s'", dir);
	assert_int_equal(system(cmd), 0);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		fprintf(stderr, "skipped: cannot make a folder read-only here (root without unshare)\n");
		skip();
	}
	return WEXITSTATUS(status);
}

/* The child's side of test_open_readonly; exit codes name the failed step. */
static void read_only_child(const char *db)
{
	p4r_registry *reg = NULL;
	p4r_version v = { 0 };
	char msg[1024];

	if (p4r_registry_open(&reg, db, true) < 0) {
		fprintf(stderr, "%s\n", p4r_error_message());
		_exit(10);
	}
	if (!p4r_registry_readonly(reg))
		_exit(11);
	if (p4r_registry_version_get(reg, "x", 2, &v) < 0 || v.number != 2)
		_exit(12);
	p4r_version_clear(&v);
	snprintf(msg, sizeof(msg), "cannot change registry '%s': the repository is read-only", db);
	if (p4r_registry_begin(reg) != P4R_ERROR || strcmp(p4r_error_message(), msg))
		_exit(13);
	p4r_registry_free(reg);
}

static void wal_child(const char *db)
{
	p4r_registry *reg = NULL;
	char msg[1024];

	snprintf(msg, sizeof(msg), "cannot read registry '%s' in a read-only repository: '%s-wal' holds"
		 " commits not yet in the file; run any p4reg command once with write access", db, db);
	if (p4r_registry_open(&reg, db, true) != P4R_ERROR || strcmp(p4r_error_message(), msg)) {
		fprintf(stderr, "%s\n", p4r_error_message());
		_exit(20);
	}
}

/* A repository nobody may write: WAL cannot create its -shm index there,
 * yet reads must work (the file is read as immutable) and writes fail with
 * a clear error. A -wal holding commits cannot be read that way: refused. */
static void test_open_readonly(void **state)
{
	struct fx *fx = *state;
	char *shm;
	pid_t pid;
	int status;

	add(fx->reg, "x", "models/x.onnx", 1);
	add(fx->reg, "x", "models/x.onnx", 2);
	p4r_registry_free(fx->reg);
	fx->reg = NULL;
	assert_int_equal(as_reader(fx->dir, fx->db, read_only_child), 0);

	/* a writer that died before its checkpoint leaves frames in the -wal */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		p4r_registry *reg = NULL;

		if (p4r_registry_open(&reg, fx->db, false) < 0 ||
		    sqlite3_exec(p4r_registry_db(reg), "PRAGMA wal_autocheckpoint = 0", NULL, NULL,
				 NULL) != SQLITE_OK)
			_exit(1);
		add(reg, "x", "models/x.onnx", 3);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	shm = join(fx->dir, "registry.db-shm");
	assert_int_equal(unlink(shm), 0);
	free(shm);
	assert_int_equal(as_reader(fx->dir, fx->db, wal_child), 0);
}

static void test_add_numbering(void **state)
{
	struct fx *fx = *state;
	p4r_version_input in = input("x", "models/x.onnx", 1);
	p4r_version v = { 0 };
	bool unchanged = true;

	in.git_commit = "0123456789abcdef0123456789abcdef01234567";
	in.git_branch = "main";
	in.git_dirty = 1;
	in.now_ms = 1771400000000;
	assert_int_equal(p4r_registry_add_version(fx->reg, &in, &v, &unchanged), 0);
	assert_false(unchanged);
	assert_int_equal(v.number, 1);
	assert_true(v.id > 0);
	assert_string_equal(v.model, "x");
	assert_string_equal(v.oid.hex, in.oid.hex);
	assert_int_equal(v.size, 1001);
	assert_string_equal(v.author, "alice");
	assert_string_equal(v.message, "trained");
	assert_string_equal(v.source_path, "models/x.onnx");
	assert_string_equal(v.git_commit, in.git_commit);
	assert_string_equal(v.git_branch, "main");
	assert_int_equal(v.git_dirty, 1);
	assert_int_equal(v.created_ms, 1771400000000);
	assert_int_equal(v.stage, P4R_STAGE_DEVELOPMENT);
	assert_false(v.rolled_back);
	p4r_version_clear(&v);
	p4r_version_clear(&v); /* clearing twice is harmless */

	/* No message, no git, the current time. */
	in = input("x", "models/x.onnx", 2);
	in.message = NULL;
	assert_int_equal(p4r_registry_add_version(fx->reg, &in, &v, NULL), 0);
	assert_int_equal(v.number, 2);
	assert_string_equal(v.message, "");
	assert_null(v.git_commit);
	assert_null(v.git_branch);
	assert_int_equal(v.git_dirty, -1);
	assert_true(v.created_ms > 1700000000000 && v.created_ms <= p4r_now_ms());
	p4r_version_clear(&v);

	/* OUT may be NULL. */
	in = input("x", "models/x.onnx", 3);
	assert_int_equal(p4r_registry_add_version(fx->reg, &in, NULL, &unchanged), 0);
	assert_false(unchanged);
	assert_int_equal(p4r_registry_version_latest(fx->reg, "x", &v), 0);
	assert_int_equal(v.number, 3);
	p4r_version_clear(&v);

	/* Numbers are per model. */
	assert_int_equal(add(fx->reg, "y", "models/y.onnx", 4), 1);
	assert_int_equal(add(fx->reg, "x", "models/x.onnx", 5), 4);
	/* Each version got its "register" event. */
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM events WHERE kind = 'register'"
				" AND to_stage = 'development' AND from_stage IS NULL"), 5);
}

static void test_add_unchanged(void **state)
{
	struct fx *fx = *state;
	p4r_version_input in = input("x", "models/x.onnx", 1);
	p4r_version v = { 0 };
	bool unchanged = false;

	assert_int_equal(add(fx->reg, "x", "models/x.onnx", 1), 1);
	in.message = "again";
	in.author = "bob";
	assert_int_equal(p4r_registry_add_version(fx->reg, &in, &v, &unchanged), 0);
	assert_true(unchanged);
	assert_int_equal(v.number, 1);
	assert_string_equal(v.author, "alice");
	assert_string_equal(v.message, "trained");
	p4r_version_clear(&v);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM versions"), 1);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM events"), 1);

	/* Going back to old bytes (checkout x@1, then add) is that version
	 * again, not a new one: identical, nothing written. */
	assert_int_equal(add(fx->reg, "x", "models/x.onnx", 2), 2);
	assert_int_equal(p4r_registry_add_version(fx->reg, &in, NULL, &unchanged), 0);
	assert_true(unchanged);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM versions"), 2);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM events"), 2);
}

static void test_register_outcome(void **state)
{
	struct fx *fx = *state;
	p4r_version_input in = input("x", "models/x.onnx", 1);
	p4r_version v = { 0 };
	p4r_add_outcome what = P4R_ADD_UNCHANGED;

	assert_int_equal(p4r_registry_register_version(fx->reg, &in, &v, &what), 0);
	assert_int_equal(what, P4R_ADD_NEW);
	assert_int_equal(v.number, 1);
	p4r_version_clear(&v);
	assert_int_equal(p4r_registry_register_version(fx->reg, &in, &v, &what), 0);
	assert_int_equal(what, P4R_ADD_UNCHANGED);
	assert_int_equal(v.number, 1);
	p4r_version_clear(&v);
	assert_int_equal(add(fx->reg, "x", "models/x.onnx", 2), 2);
	assert_int_equal(add(fx->reg, "x", "models/x.onnx", 3), 3);
	assert_int_equal(p4r_registry_register_version(fx->reg, &in, &v, &what), 0);
	assert_int_equal(what, P4R_ADD_IDENTICAL);
	assert_int_equal(v.number, 1);
	assert_string_equal(v.model, "x");
	p4r_version_clear(&v);
	/* another model with the same bytes is not "identical": models are apart */
	in = input("y", "models/y.onnx", 1);
	assert_int_equal(p4r_registry_register_version(fx->reg, &in, &v, &what), 0);
	assert_int_equal(what, P4R_ADD_NEW);
	assert_int_equal(v.number, 1);
	p4r_version_clear(&v);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM versions"), 4);
}

static void test_model_move(void **state)
{
	struct fx *fx = *state;
	p4r_model m = { 0 };
	p4r_event *ev = NULL;
	size_t n = 0;

	assert_int_equal(add(fx->reg, "x", "a/x.onnx", 1), 1);
	assert_int_equal(add(fx->reg, "y", "b/y.onnx", 2), 1);
	assert_int_equal(p4r_registry_model_move(fx->reg, "x", "a/x.onnx", "c/x.onnx", "bob", 1234), 0);
	assert_int_equal(p4r_registry_model_get(fx->reg, "x", &m), 0);
	assert_string_equal(m.path, "c/x.onnx");
	p4r_model_clear(&m);
	assert_int_equal(p4r_registry_event_list(fx->reg, "x", 0, &ev, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ev[1].kind, "move");
	assert_int_equal(ev[1].version, 0);
	assert_string_equal(ev[1].actor, "bob");
	assert_int_equal(ev[1].at_ms, 1234);
	assert_string_equal(ev[1].reason, "a/x.onnx -> c/x.onnx");
	assert_string_equal(ev[1].detail, "{\"from_path\":\"a/x.onnx\",\"to_path\":\"c/x.onnx\"}");
	p4r_event_array_free(ev, n);
	/* the next version goes to the new path; the old one is free */
	assert_int_equal(add(fx->reg, "x", "c/x.onnx", 3), 2);
	assert_int_equal(add(fx->reg, "z", "a/x.onnx", 4), 1);

	/* refusals change nothing */
	assert_error(p4r_registry_model_move(fx->reg, "nosuch", "a", "b", "bob", 0), P4R_ENOTFOUND,
		     "unknown model 'nosuch'");
	assert_error(p4r_registry_model_move(fx->reg, "x", "a/x.onnx", "d/x.onnx", "bob", 0), P4R_EEXISTS,
		     "model 'x' is bound to 'c/x.onnx', not 'a/x.onnx'");
	assert_error(p4r_registry_model_move(fx->reg, "x", "c/x.onnx", "b/y.onnx", "bob", 0), P4R_EUSAGE,
		     "'b/y.onnx' is bound to model 'y'");
	assert_error(p4r_registry_model_move(fx->reg, "x", "c/x.onnx", "c/x.onnx", "bob", 0), P4R_EUSAGE,
		     "'c/x.onnx' and 'c/x.onnx' are the same path");
	assert_error(p4r_registry_model_move(fx->reg, "x", "c/x.onnx", "../x.onnx", "bob", 0), P4R_EUSAGE,
		     "invalid model path '../x.onnx'");
	assert_error(p4r_registry_model_move(fx->reg, "x", "c/x.onnx", "c/x.onnx.p4reg", "bob", 0),
		     P4R_EUSAGE, "invalid model path 'c/x.onnx.p4reg'");
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM events WHERE kind = 'move'"), 1);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM models WHERE path = 'c/x.onnx'"), 1);

	/* inside a caller's transaction, a failure takes the whole thing back */
	assert_int_equal(p4r_registry_begin(fx->reg), 0);
	assert_int_equal(p4r_registry_model_move(fx->reg, "x", "c/x.onnx", "e/x.onnx", "bob", 0), 0);
	assert_int_equal(p4r_registry_model_move(fx->reg, "y", "b/y.onnx", "e/x.onnx", "bob", 0), P4R_EUSAGE);
	assert_int_equal(p4r_registry_commit(fx->reg), P4R_ERROR);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM models WHERE path = 'c/x.onnx'"), 1);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM events WHERE kind = 'move'"), 1);
}

static void test_add_path_conflicts(void **state)
{
	struct fx *fx = *state;
	p4r_version_input in;
	p4r_version v = { 0 };
	bool unchanged = true;

	assert_int_equal(add(fx->reg, "x", "a/x.onnx", 1), 1);

	in = input("x", "b/x.onnx", 2);
	assert_error(p4r_registry_add_version(fx->reg, &in, &v, &unchanged), P4R_EEXISTS,
		     "model 'x' is bound to 'a/x.onnx', not 'b/x.onnx'");
	assert_false(unchanged);
	assert_int_equal(v.number, 0);
	assert_null(v.author);

	in = input("y", "a/x.onnx", 3);
	assert_error(p4r_registry_add_version(fx->reg, &in, &v, &unchanged), P4R_EEXISTS,
		     "'a/x.onnx' is already registered as model 'x'");

	/* Nothing was written by either refusal. */
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM models"), 1);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM versions"), 1);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM events"), 1);
	/* And the registry is usable afterwards. */
	assert_int_equal(add(fx->reg, "x", "a/x.onnx", 4), 2);
}

static void test_add_invalid_input(void **state)
{
	struct fx *fx = *state;
	static const char *const bad[] = { "a/b", "..", "", ".x", "-x", "a b" };
	char long_name[P4R_MODEL_NAME_MAX + 2], msg[512];
	p4r_version_input in;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		in = input(bad[i], "models/m.onnx", 1);
		snprintf(msg, sizeof(msg), "invalid model name '%s'", bad[i]);
		assert_error(p4r_registry_add_version(fx->reg, &in, NULL, NULL), P4R_EUSAGE, msg);
	}
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0'; /* 129 characters */
	in = input(long_name, "models/m.onnx", 1);
	assert_int_equal(p4r_registry_add_version(fx->reg, &in, NULL, NULL), P4R_EUSAGE);

	in = input("m", "models/m.onnx", 1);
	memcpy(in.oid.hex, "ABCDEF", 6); /* uppercase is not an oid */
	assert_int_equal(p4r_registry_add_version(fx->reg, &in, NULL, NULL), P4R_EUSAGE);
	in = input("m", "", 1);
	assert_int_equal(p4r_registry_add_version(fx->reg, &in, NULL, NULL), P4R_EUSAGE);

	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM models"), 0);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM versions"), 0);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM events"), 0);
}

static void test_version_errors(void **state)
{
	struct fx *fx = *state;
	p4r_version v = { 0 };

	assert_error(p4r_registry_version_get(fx->reg, "nope", 1, &v), P4R_ENOTFOUND,
		     "unknown model 'nope'");
	assert_error(p4r_registry_version_latest(fx->reg, "nope", &v), P4R_ENOTFOUND,
		     "unknown model 'nope'");
	assert_error(p4r_registry_version_in_stage(fx->reg, "nope", P4R_STAGE_PRODUCTION, &v),
		     P4R_ENOTFOUND, "unknown model 'nope'");

	assert_int_equal(add(fx->reg, "x", "models/x.onnx", 1), 1);
	assert_error(p4r_registry_version_get(fx->reg, "x", 9, &v), P4R_ENOTFOUND,
		     "model 'x' has no version 9");
	assert_error(p4r_registry_version_in_stage(fx->reg, "x", P4R_STAGE_PRODUCTION, &v),
		     P4R_ENOTFOUND, "model 'x' has no version in production");
	assert_null(v.author);

	/* A model without versions (only reachable through SQL, as after a
	 * partial sync) is a model, but has no latest. */
	assert_int_equal(sqlite3_exec(p4r_registry_db(fx->reg), "INSERT INTO models(name, path,"
				      " created_ms) VALUES ('empty', 'e.bin', 1)", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_error(p4r_registry_version_latest(fx->reg, "empty", &v), P4R_ENOTFOUND,
		     "model 'empty' has no versions");

	assert_int_equal(p4r_registry_version_get(fx->reg, "x", 1, &v), 0);
	assert_int_equal(v.number, 1);
	p4r_version_clear(&v);
	assert_int_equal(p4r_registry_version_in_stage(fx->reg, "x", P4R_STAGE_DEVELOPMENT, &v), 0);
	assert_int_equal(v.number, 1);
	p4r_version_clear(&v);
}

static void test_models(void **state)
{
	struct fx *fx = *state;
	sqlite3 *db = p4r_registry_db(fx->reg);
	p4r_model *models = NULL, m = { 0 };
	p4r_version v = { 0 };
	size_t n = 1;

	assert_int_equal(p4r_registry_model_list(fx->reg, &models, &n), 0);
	assert_int_equal(n, 0);
	assert_null(models);

	add(fx->reg, "zeta", "models/zeta.onnx", 1);
	add(fx->reg, "alpha", "models/alpha.onnx", 2);
	add(fx->reg, "alpha", "models/alpha.onnx", 3);
	add(fx->reg, "alpha", "models/alpha.onnx", 4);
	add(fx->reg, "mid", "models/mid.onnx", 5);
	assert_int_equal(sqlite3_exec(db, "UPDATE versions SET stage = 'production' WHERE number = 2"
				      " AND model_id = (SELECT id FROM models WHERE name = 'alpha');"
				      "UPDATE versions SET stage = 'staging' WHERE number = 3"
				      " AND model_id = (SELECT id FROM models WHERE name = 'alpha');",
				      NULL, NULL, NULL), SQLITE_OK);
	/* The partial unique indexes hold one production per model. */
	assert_int_not_equal(sqlite3_exec(db, "UPDATE versions SET stage = 'production' WHERE number = 1"
					  " AND model_id = (SELECT id FROM models WHERE name = 'alpha')",
					  NULL, NULL, NULL), SQLITE_OK);

	assert_int_equal(p4r_registry_model_list(fx->reg, &models, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(models[0].name, "alpha");
	assert_string_equal(models[1].name, "mid");
	assert_string_equal(models[2].name, "zeta");
	assert_string_equal(models[0].path, "models/alpha.onnx");
	assert_int_equal(models[0].version_count, 3);
	assert_int_equal(models[0].latest, 3);
	assert_int_equal(models[0].production, 2);
	assert_int_equal(models[0].staging, 3);
	assert_int_equal(models[2].version_count, 1);
	assert_int_equal(models[2].latest, 1);
	assert_int_equal(models[2].production, 0);
	assert_int_equal(models[2].staging, 0);
	assert_true(models[1].created_ms > 0);
	p4r_model_array_free(models, n);
	p4r_model_array_free(NULL, 0);

	assert_int_equal(p4r_registry_model_get(fx->reg, "alpha", &m), 0);
	assert_int_equal(m.latest, 3);
	assert_int_equal(m.production, 2);
	p4r_model_clear(&m);
	p4r_model_clear(&m);
	assert_int_equal(p4r_registry_model_by_path(fx->reg, "models/mid.onnx", &m), 0);
	assert_string_equal(m.name, "mid");
	p4r_model_clear(&m);
	assert_error(p4r_registry_model_get(fx->reg, "nope", &m), P4R_ENOTFOUND, "unknown model 'nope'");
	assert_int_equal(p4r_registry_model_by_path(fx->reg, "models/nope.onnx", &m), P4R_ENOTFOUND);
	assert_null(m.path);

	assert_int_equal(p4r_registry_version_in_stage(fx->reg, "alpha", P4R_STAGE_PRODUCTION, &v), 0);
	assert_int_equal(v.number, 2);
	assert_int_equal(v.stage, P4R_STAGE_PRODUCTION);
	p4r_version_clear(&v);
	assert_int_equal(p4r_registry_version_in_stage(fx->reg, "alpha", P4R_STAGE_STAGING, &v), 0);
	assert_int_equal(v.number, 3);
	p4r_version_clear(&v);
}

static void test_version_list_and_oids(void **state)
{
	struct fx *fx = *state;
	p4r_version *vs = NULL;
	p4r_oid oid;
	bool ref = true;
	size_t n = 0;

	add(fx->reg, "x", "models/x.onnx", 1);
	add(fx->reg, "x", "models/x.onnx", 2);
	add(fx->reg, "x", "models/x.onnx", 3);
	add(fx->reg, "y", "models/y.onnx", 4);
	assert_int_equal(p4r_registry_version_list(fx->reg, "x", &vs, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(vs[0].number, 3);
	assert_int_equal(vs[1].number, 2);
	assert_int_equal(vs[2].number, 1);
	make_oid(&oid, 7, 1);
	assert_string_equal(vs[2].oid.hex, oid.hex);
	p4r_version_array_free(vs, n);

	assert_error(p4r_registry_version_list(fx->reg, "nope", &vs, &n), P4R_ENOTFOUND,
		     "unknown model 'nope'");
	assert_null(vs);
	assert_int_equal(n, 0);

	assert_int_equal(p4r_registry_oid_referenced(fx->reg, &oid, &ref), 0);
	assert_true(ref);
	make_oid(&oid, 7, 4);
	assert_int_equal(p4r_registry_oid_referenced(fx->reg, &oid, &ref), 0);
	assert_true(ref);
	make_oid(&oid, 8, 1);
	assert_int_equal(p4r_registry_oid_referenced(fx->reg, &oid, &ref), 0);
	assert_false(ref);
}

static void test_events(void **state)
{
	struct fx *fx = *state;
	p4r_event ev = { .version = 2, .forced = true, .at_ms = 5000, .actor = "ci",
			 .reason = "gate passed", .detail = "{\"f1\":0.9}" };
	p4r_event *evs = NULL;
	size_t n = 0;

	add(fx->reg, "x", "models/x.onnx", 1);
	add(fx->reg, "x", "models/x.onnx", 2);
	add(fx->reg, "y", "models/y.onnx", 3);
	snprintf(ev.model, sizeof(ev.model), "x");
	snprintf(ev.kind, sizeof(ev.kind), "promote");
	snprintf(ev.from_stage, sizeof(ev.from_stage), "development");
	snprintf(ev.to_stage, sizeof(ev.to_stage), "production");
	assert_int_equal(p4r_registry_event_add(fx->reg, &ev), 0);

	/* A model-level event with no stages, reason or detail. */
	memset(&ev, 0, sizeof(ev));
	snprintf(ev.model, sizeof(ev.model), "y");
	snprintf(ev.kind, sizeof(ev.kind), "hook");
	ev.actor = "ops";
	assert_int_equal(p4r_registry_event_add(fx->reg, &ev), 0);

	assert_int_equal(p4r_registry_event_list(fx->reg, NULL, 0, &evs, &n), 0);
	assert_int_equal(n, 5);
	assert_string_equal(evs[0].kind, "register");
	assert_string_equal(evs[0].model, "x");
	assert_int_equal(evs[0].version, 1);
	assert_string_equal(evs[0].from_stage, "");
	assert_string_equal(evs[0].to_stage, "development");
	assert_string_equal(evs[0].actor, "alice");
	assert_string_equal(evs[0].reason, "trained");
	assert_null(evs[0].detail);
	assert_true(evs[0].id < evs[1].id && evs[1].id < evs[2].id);
	assert_string_equal(evs[3].kind, "promote");
	assert_int_equal(evs[3].version, 2);
	assert_true(evs[3].forced);
	assert_int_equal(evs[3].at_ms, 5000);
	assert_string_equal(evs[3].from_stage, "development");
	assert_string_equal(evs[3].to_stage, "production");
	assert_string_equal(evs[3].reason, "gate passed");
	assert_string_equal(evs[3].detail, "{\"f1\":0.9}");
	assert_string_equal(evs[4].model, "y");
	assert_int_equal(evs[4].version, 0);
	assert_string_equal(evs[4].reason, "");
	assert_true(evs[4].at_ms > 5000);
	p4r_event_array_free(evs, n);

	assert_int_equal(p4r_registry_event_list(fx->reg, "x", 0, &evs, &n), 0);
	assert_int_equal(n, 3);
	p4r_event_array_free(evs, n);
	/* Oldest first, filtered by time: the promote at 5000 is too old. */
	assert_int_equal(p4r_registry_event_list(fx->reg, "x", 6000, &evs, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(evs[0].kind, "register");
	p4r_event_array_free(evs, n);
	assert_int_equal(p4r_registry_event_list(fx->reg, "nope", 0, &evs, &n), P4R_ENOTFOUND);

	/* Events about things that do not exist are refused. */
	snprintf(ev.model, sizeof(ev.model), "x");
	ev.version = 9;
	assert_error(p4r_registry_event_add(fx->reg, &ev), P4R_ENOTFOUND, "model 'x' has no version 9");
	snprintf(ev.model, sizeof(ev.model), "nope");
	ev.version = 0;
	assert_error(p4r_registry_event_add(fx->reg, &ev), P4R_ENOTFOUND, "unknown model 'nope'");
	snprintf(ev.model, sizeof(ev.model), "x");
	snprintf(ev.to_stage, sizeof(ev.to_stage), "prod");
	assert_int_equal(p4r_registry_event_add(fx->reg, &ev), P4R_EUSAGE);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM events"), 5);
}

static void test_events_append_only(void **state)
{
	struct fx *fx = *state;
	sqlite3 *db = p4r_registry_db(fx->reg);

	add(fx->reg, "x", "models/x.onnx", 1);
	assert_int_not_equal(sqlite3_exec(db, "UPDATE events SET reason = 'rewritten'",
					  NULL, NULL, NULL), SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "events are append-only"));
	assert_int_not_equal(sqlite3_exec(db, "DELETE FROM events", NULL, NULL, NULL), SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "events are append-only"));
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM events WHERE reason = 'trained'"), 1);
	/* Foreign keys are enforced on this connection. */
	assert_int_not_equal(sqlite3_exec(db, "INSERT INTO versions(model_id, number, oid, size,"
					  " author, created_ms, source_path) VALUES"
					  " (999, 1, 'x', 1, 'a', 1, 'p')", NULL, NULL, NULL), SQLITE_OK);
}

static void test_statcache_skips_racy_files(void **state)
{
	struct fx *fx = *state;
	int64_t now_ns = p4r_now_ms() * 1000000LL;
	const p4r_stat_key key = { .dev = 1, .ino = 2, .size = 3, .mtime_ns = now_ns - 1000000,
				   .ctime_ns = now_ns - 1000000 };
	p4r_oid oid, got;
	bool found = true;

	make_oid(&oid, 3, 3);
	assert_int_equal(p4r_registry_statcache_put(fx->reg, "fresh.bin", &key, &oid), 0);
	assert_int_equal(p4r_registry_statcache_get(fx->reg, "fresh.bin", &key, &got, &found), 0);
	assert_false(found);
}

/* One query for a folder: exactly the paths below it, sorted, and the
 * same answers as one lookup each. */
static void test_statcache_under(void **state)
{
	struct fx *fx = *state;
	static const char *const paths[] = { "m", "m0/a", "m/b/c", "mx/a", "m/a", "n/m/a", "m/b0" };
	const p4r_stat_key key = { 1, 2, 3, 1771400000LL * 1000000000LL, 1771400000LL * 1000000000LL, 0 };
	p4r_stat_key other = key;
	p4r_statcache_rows rows;
	p4r_oid oid, got;
	size_t i;

	make_oid(&oid, 4, 4);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		assert_int_equal(p4r_registry_statcache_put(fx->reg, paths[i], &key, &oid), 0);
	assert_int_equal(sqlite3_exec(p4r_registry_db(fx->reg),
				      "INSERT INTO stat_cache VALUES('m/bad', 1, 2, 3, 4, 5, 'not-an-oid')", NULL,
				      NULL, NULL), SQLITE_OK);
	assert_int_equal(p4r_registry_statcache_under(fx->reg, "m", &rows), 0);
	assert_int_equal(rows.n, 3);
	assert_string_equal(rows.v[0].path, "m/a");
	assert_string_equal(rows.v[1].path, "m/b/c");
	assert_string_equal(rows.v[2].path, "m/b0");
	assert_true(p4r_statcache_rows_find(&rows, "m/b/c", &key, &got));
	assert_string_equal(got.hex, oid.hex);
	other.ino++;
	assert_false(p4r_statcache_rows_find(&rows, "m/b/c", &other, &got));
	assert_false(p4r_statcache_rows_find(&rows, "m/bad", &key, &got));
	assert_false(p4r_statcache_rows_find(&rows, "m", &key, &got));
	p4r_statcache_rows_clear(&rows);
	assert_int_equal(p4r_registry_statcache_under(fx->reg, "none", &rows), 0);
	assert_int_equal(rows.n, 0);
	assert_false(p4r_statcache_rows_find(&rows, "none/a", &key, &got));
	p4r_statcache_rows_clear(&rows);
}

static void test_statcache(void **state)
{
	struct fx *fx = *state;
	const p4r_stat_key key = { .dev = 2049, .ino = 1234567, .size = 3000000000LL,
				   .mtime_ns = 1771400000123456789LL, .ctime_ns = 1771400000987654321LL };
	p4r_stat_key k;
	p4r_oid oid, got, other;
	bool found = true;
	int field;

	make_oid(&oid, 1, 1);
	make_oid(&other, 2, 2);
	assert_int_equal(p4r_registry_statcache_get(fx->reg, "m/x.onnx", &key, &got, &found), 0);
	assert_false(found);
	assert_int_equal(p4r_registry_statcache_put(fx->reg, "m/x.onnx", &key, &oid), 0);
	assert_int_equal(p4r_registry_statcache_get(fx->reg, "m/x.onnx", &key, &got, &found), 0);
	assert_true(found);
	assert_string_equal(got.hex, oid.hex);
	assert_int_equal(p4r_registry_statcache_get(fx->reg, "m/y.onnx", &key, &got, &found), 0);
	assert_false(found);

	/* Any changed field is a miss. */
	for (field = 0; field < 5; field++) {
		k = key;
		switch (field) {
		case 0: k.dev++; break;
		case 1: k.ino++; break;
		case 2: k.size--; break;
		case 3: k.mtime_ns++; break;
		default: k.ctime_ns++; break;
		}
		assert_int_equal(p4r_registry_statcache_get(fx->reg, "m/x.onnx", &k, &got, &found), 0);
		assert_false(found);
	}

	/* Put replaces. */
	k = key;
	k.mtime_ns += 1000;
	assert_int_equal(p4r_registry_statcache_put(fx->reg, "m/x.onnx", &k, &other), 0);
	assert_int_equal(p4r_registry_statcache_get(fx->reg, "m/x.onnx", &key, &got, &found), 0);
	assert_false(found);
	assert_int_equal(p4r_registry_statcache_get(fx->reg, "m/x.onnx", &k, &got, &found), 0);
	assert_true(found);
	assert_string_equal(got.hex, other.hex);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM stat_cache"), 1);

	/* Inside a transaction it goes with the transaction. */
	assert_int_equal(p4r_registry_begin(fx->reg), 0);
	assert_int_equal(p4r_registry_statcache_put(fx->reg, "m/z.onnx", &key, &oid), 0);
	p4r_registry_abort(fx->reg);
	assert_int_equal(p4r_registry_statcache_get(fx->reg, "m/z.onnx", &key, &got, &found), 0);
	assert_false(found);
}

static void test_nested_commit(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(p4r_registry_begin(fx->reg), 0);
	assert_int_equal(p4r_registry_begin(fx->reg), 0);
	add(fx->reg, "x", "models/x.onnx", 1);
	assert_int_equal(p4r_registry_commit(fx->reg), 0);
	add(fx->reg, "y", "models/y.onnx", 2);
	/* Still inside the outer transaction: SQLite is not in autocommit. */
	assert_int_equal(sqlite3_get_autocommit(p4r_registry_db(fx->reg)), 0);
	assert_int_equal(p4r_registry_commit(fx->reg), 0);
	assert_int_not_equal(sqlite3_get_autocommit(p4r_registry_db(fx->reg)), 0);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM versions"), 2);

	/* A commit without a begin is a mistake, reported. */
	assert_int_equal(p4r_registry_commit(fx->reg), P4R_ERROR);
	p4r_registry_abort(fx->reg); /* and a stray rollback is harmless */

	/* A second connection sees the committed rows. */
	p4r_registry_free(fx->reg);
	fx->reg = NULL;
	assert_int_equal(p4r_registry_open(&fx->reg, fx->db, false), 0);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM versions"), 2);
}

static void test_nested_rollback(void **state)
{
	struct fx *fx = *state;
	p4r_version_input in = input("z", "models/z.onnx", 9);

	add(fx->reg, "x", "models/x.onnx", 1);

	assert_int_equal(p4r_registry_begin(fx->reg), 0);
	add(fx->reg, "x", "models/x.onnx", 2);
	assert_int_equal(p4r_registry_begin(fx->reg), 0);
	add(fx->reg, "y", "models/y.onnx", 3);
	p4r_registry_abort(fx->reg);
	/* Everything since the outer begin is gone, and nothing more can join. */
	assert_int_not_equal(sqlite3_get_autocommit(p4r_registry_db(fx->reg)), 0);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM versions"), 1);
	assert_int_equal(p4r_registry_begin(fx->reg), P4R_ERROR);
	assert_int_equal(p4r_registry_add_version(fx->reg, &in, NULL, NULL), P4R_ERROR);
	assert_int_equal(p4r_registry_commit(fx->reg), P4R_ERROR);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM versions"), 1);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM models"), 1);

	/* A failed add inside the caller's transaction takes it down too. */
	assert_int_equal(p4r_registry_begin(fx->reg), 0);
	add(fx->reg, "y", "models/y.onnx", 4);
	in = input("y", "models/other.onnx", 5);
	assert_int_equal(p4r_registry_add_version(fx->reg, &in, NULL, NULL), P4R_EEXISTS);
	p4r_registry_abort(fx->reg);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM models"), 1);

	/* Afterwards transactions work again. */
	assert_int_equal(p4r_registry_begin(fx->reg), 0);
	add(fx->reg, "x", "models/x.onnx", 6);
	assert_int_equal(p4r_registry_commit(fx->reg), 0);
	assert_int_equal(db_int(fx->reg, "SELECT max(number) FROM versions"), 2);
}

/* A child's work: N adds of MODEL with oids unique to CHILD; exits 0 on success. */
static void child_adds(const char *db, bool create, unsigned child, const char *model,
		       const char *path, int n)
{
	p4r_registry *reg = NULL;
	int i, status = 0;

	if (p4r_registry_open(&reg, db, create) < 0) {
		fprintf(stderr, "child %u: %s\n", child, p4r_error_message());
		_exit(10);
	}
	for (i = 0; i < n && status == 0; i++) {
		p4r_version_input in = input(model, path, 0);
		bool unchanged = true;

		make_oid(&in.oid, child + 1, (unsigned)i);
		if (p4r_registry_add_version(reg, &in, NULL, &unchanged) < 0 || unchanged)
			status = 11;
	}
	if (status) {
		/* The parent shows stderr when the test fails. */
		fprintf(stderr, "child %u: %s\n", child, p4r_error_message());
	}
	p4r_registry_free(reg);
	_exit(status);
}

static void wait_all(pid_t *pids, int n)
{
	int i, status;

	for (i = 0; i < n; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
}

static void test_concurrent_adds(void **state)
{
	struct fx *fx = *state;
	p4r_version *vs = NULL;
	pid_t pids[NCHILD];
	p4r_model m = { 0 };
	size_t n = 0, i;
	int c;

	/* No connection may cross fork(). */
	p4r_registry_free(fx->reg);
	fx->reg = NULL;
	for (c = 0; c < NCHILD; c++) {
		pids[c] = fork();
		assert_true(pids[c] >= 0);
		if (pids[c] == 0)
			child_adds(fx->db, false, (unsigned)c, "shared", "models/shared.onnx", PER_CHILD);
	}
	wait_all(pids, NCHILD);

	assert_int_equal(p4r_registry_open(&fx->reg, fx->db, false), 0);
	assert_int_equal(p4r_registry_version_list(fx->reg, "shared", &vs, &n), 0);
	assert_int_equal(n, NCHILD * PER_CHILD);
	for (i = 0; i < n; i++)
		assert_int_equal(vs[i].number, (int64_t)(n - i)); /* exactly n..1 */
	p4r_version_array_free(vs, n);
	assert_int_equal(db_int(fx->reg, "SELECT count(DISTINCT oid) FROM versions"), NCHILD * PER_CHILD);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM events"), NCHILD * PER_CHILD);
	assert_int_equal(p4r_registry_model_get(fx->reg, "shared", &m), 0);
	assert_int_equal(m.version_count, NCHILD * PER_CHILD);
	assert_int_equal(m.latest, NCHILD * PER_CHILD);
	p4r_model_clear(&m);
}

static void test_concurrent_create(void **state)
{
	struct fx *fx = *state;
	char name[16], path[32];
	pid_t pids[NCHILD];
	int c;

	/* Eight processes race to create and migrate the same fresh file. */
	for (c = 0; c < NCHILD; c++) {
		pids[c] = fork();
		assert_true(pids[c] >= 0);
		if (pids[c] == 0) {
			snprintf(name, sizeof(name), "m%d", c);
			snprintf(path, sizeof(path), "models/m%d.onnx", c);
			child_adds(fx->db, true, (unsigned)c, name, path, 3);
		}
	}
	wait_all(pids, NCHILD);

	assert_int_equal(p4r_registry_open(&fx->reg, fx->db, false), 0);
	assert_int_equal(db_int(fx->reg, "PRAGMA user_version"), 7);
	assert_int_equal(db_int(fx->reg, "PRAGMA application_id"), P4R_APPLICATION_ID);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM models"), NCHILD);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM versions"), NCHILD * 3);
	assert_int_equal(db_int(fx->reg, "SELECT max(number) FROM versions"), 3);
}

/* ---- folder versions (schema 5) ---- */

/* Makes the closed registry at PATH what schema 4 left: no kind, files or
 * tree_size, no manifest_files; then a version row as p4reg 4 wrote it. */
/* A schema-6 file: what p4reg wrote before the registry at scale (no
 * counts, no unpublished set, no triggers keeping them). */
static void downgrade_to_6(const char *path)
{
	raw_exec(path, "DROP TRIGGER versions_live_insert; DROP TRIGGER versions_live_update;"
		 " DROP TRIGGER versions_live_delete; DROP TRIGGER events_unpublished_insert;"
		 " DROP TRIGGER events_unpublished_delete; DROP TRIGGER event_sync_insert;"
		 " DROP TRIGGER event_sync_update; DROP TRIGGER event_sync_delete;"
		 " DROP INDEX versions_stage; DROP INDEX event_sync_pos; DROP TABLE events_unpublished;"
		 " ALTER TABLE models DROP COLUMN live_versions; PRAGMA user_version = 6;");
}

/* A schema-5 file: what p4reg wrote before aliases, tags and deletions. */
static void downgrade_to_5(const char *path)
{
	downgrade_to_6(path);
	raw_exec(path, "DROP INDEX versions_live; DROP TABLE model_tags; DROP TABLE version_tags; DROP INDEX aliases_version;"
		 " DROP TABLE aliases; ALTER TABLE models DROP COLUMN description;"
		 " ALTER TABLE versions DROP COLUMN deleted_ms; PRAGMA user_version = 5;");
}

static void downgrade_to_4(const char *path)
{
	downgrade_to_5(path);
	raw_exec(path, "DROP INDEX manifest_files_oid; DROP TABLE manifest_files;"
		 " ALTER TABLE versions DROP COLUMN tree_size; ALTER TABLE versions DROP COLUMN files;"
		 " ALTER TABLE versions DROP COLUMN kind; PRAGMA user_version = 4;"
		 " INSERT INTO versions(model_id, number, oid, size, author, created_ms, source_path)"
		 " VALUES (1, 2, '" "00000000000000000000000000000000000000000000000000000000000000ff"
		 "', 5, 'old', 1, 'models/x.onnx');");
}

static void test_migrate_4_to_5(void **state)
{
	struct fx *fx = *state;
	p4r_version v = { 0 };
	p4r_version_input in = input("lm", "models/lm", 9);

	assert_int_equal(add(fx->reg, "x", "models/x.onnx", 1), 1);
	p4r_registry_free(fx->reg);
	fx->reg = NULL;
	downgrade_to_4(fx->db);
	assert_int_equal(p4r_registry_open(&fx->reg, fx->db, false), 0);
	assert_int_equal(db_int(fx->reg, "PRAGMA user_version"), 7);
	/* the old rows are file versions: kind's default, no count, no total */
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM versions WHERE kind = 'file'"
				" AND files IS NULL AND tree_size IS NULL"), 2);
	assert_int_equal(p4r_registry_version_get(fx->reg, "x", 2, &v), 0);
	assert_int_equal(v.kind, P4R_KIND_FILE);
	assert_int_equal(v.files, 0);
	assert_int_equal(v.tree_size, 0);
	assert_int_equal(v.size, 5);
	p4r_version_clear(&v);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM sqlite_master WHERE name = 'manifest_files'"
				" AND sql LIKE '%WITHOUT ROWID'"), 1);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
				" AND name = 'manifest_files_oid' AND tbl_name = 'manifest_files'"), 1);
	/* the CHECK holds on a migrated file too */
	assert_int_equal(sqlite3_exec(p4r_registry_db(fx->reg), "UPDATE versions SET kind = 'folder'",
				      NULL, NULL, NULL), SQLITE_CONSTRAINT);
	in.kind = P4R_KIND_DIR;
	in.files = 2;
	in.tree_size = 7;
	assert_int_equal(p4r_registry_add_version(fx->reg, &in, &v, NULL), 0);
	assert_int_equal(v.kind, P4R_KIND_DIR);
	p4r_version_clear(&v);
}

/* ---- aliases, tags and deleted versions (schema 6) ---- */

static void test_migrate_5_to_6(void **state)
{
	struct fx *fx = *state;
	p4r_alias_req areq = { .model = "x", .name = "champion", .number = 2, .actor = "bob" };
	p4r_delete_req dreq = { .model = "x", .number = 2, .actor = "bob", .reason = "bad" };
	p4r_version v = { 0 };
	p4r_model m = { 0 };
	int64_t previous = -1;

	assert_int_equal(add(fx->reg, "x", "models/x.onnx", 1), 1);
	p4r_registry_free(fx->reg);
	fx->reg = NULL;
	downgrade_to_5(fx->db);
	raw_exec(fx->db, "INSERT INTO versions(model_id, number, oid, size, author, created_ms, source_path)"
		 " VALUES (1, 2, '00000000000000000000000000000000000000000000000000000000000000ff',"
		 " 5, 'old', 1, 'models/x.onnx');");
	assert_int_equal(p4r_registry_open(&fx->reg, fx->db, false), 0);
	assert_int_equal(db_int(fx->reg, "PRAGMA user_version"), 7);
	/* the old rows are live, the models undescribed */
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM versions WHERE deleted_ms IS NULL"), 2);
	assert_int_equal(p4r_registry_model_get(fx->reg, "x", &m), 0);
	assert_string_equal(m.description, "");
	assert_int_equal(m.version_count, 2);
	p4r_model_clear(&m);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM sqlite_master WHERE name IN"
				" ('aliases', 'version_tags', 'model_tags') AND sql LIKE '%WITHOUT ROWID'"), 3);
	/* and what schema 6 adds works on them */
	assert_int_equal(p4r_registry_alias_set(fx->reg, &areq, &previous), 0);
	assert_int_equal(previous, 0);
	assert_int_equal(p4r_registry_alias_resolve(fx->reg, "x", "champion", &v), 0);
	assert_int_equal(v.number, 2);
	p4r_version_clear(&v);
	assert_int_equal(p4r_registry_version_delete(fx->reg, &dreq), 0);
	assert_error(p4r_registry_alias_resolve(fx->reg, "x", "champion", &v), P4R_ENOTFOUND,
		     "model 'x' has no alias 'champion'");
	assert_error(p4r_registry_version_get(fx->reg, "x", 2, &v), P4R_ENOTFOUND,
		     "version 2 of model 'x' was deleted (p4reg rm); 'p4reg history x' says by whom and why");
	/* the number is never reused */
	assert_int_equal(add(fx->reg, "x", "models/x.onnx", 3), 3);
}

static void assert_dir(const p4r_version *v, int64_t files, int64_t tree_size)
{
	assert_int_equal(v->kind, P4R_KIND_DIR);
	assert_int_equal(v->files, files);
	assert_int_equal(v->tree_size, tree_size);
}

static void count_kind_issue(const p4r_invariant_issue *issue, void *payload)
{
	if (!strcmp(issue->kind, "version-kind"))
		(*(int *)payload)++;
}

static void test_dir_versions(void **state)
{
	struct fx *fx = *state;
	p4r_version_input in = input("lm", "models/lm", 1);
	p4r_version v = { 0 }, *list = NULL;
	size_t n = 0;
	int issues = 0;

	assert_int_equal(p4r_registry_fsck_invariants(fx->reg, count_kind_issue, &issues), 0);
	in.kind = P4R_KIND_DIR;
	in.files = 3;
	in.tree_size = 12345;
	assert_int_equal(p4r_registry_add_version(fx->reg, &in, &v, NULL), 0);
	assert_dir(&v, 3, 12345);
	assert_int_equal(v.size, 1001); /* the manifest's */
	p4r_version_clear(&v);
	assert_int_equal(p4r_registry_version_latest(fx->reg, "lm", &v), 0);
	assert_dir(&v, 3, 12345);
	p4r_version_clear(&v);
	assert_int_equal(p4r_registry_version_list(fx->reg, "lm", &list, &n), 0);
	assert_int_equal(n, 1);
	assert_dir(&list[0], 3, 12345);
	p4r_version_array_free(list, n);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM versions WHERE kind = 'dir' AND files = 3"
				" AND tree_size = 12345"), 1);
	/* a file version's row is what it always was */
	assert_int_equal(add(fx->reg, "x", "models/x.onnx", 2), 1);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM versions WHERE kind = 'file'"
				" AND files IS NULL AND tree_size IS NULL"), 1);

	/* refused before anything is written */
	in = input("lm", "models/lm", 2);
	in.files = 1;
	assert_error(p4r_registry_add_version(fx->reg, &in, NULL, NULL), P4R_EUSAGE,
		     "a file version of model 'lm' has no file count or tree size");
	in.kind = P4R_KIND_DIR;
	in.files = 0;
	assert_error(p4r_registry_add_version(fx->reg, &in, NULL, NULL), P4R_EUSAGE,
		     "version of model 'lm': invalid file count");
	in.files = 1;
	in.tree_size = -5;
	assert_int_equal(p4r_registry_add_version(fx->reg, &in, NULL, NULL), P4R_EUSAGE);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM versions"), 2);
	assert_int_equal(p4r_registry_fsck_invariants(fx->reg, count_kind_issue, &issues), 0);
	assert_int_equal(issues, 0);

	/* rows edited outside p4reg read as damage */
	assert_int_equal(sqlite3_exec(p4r_registry_db(fx->reg), "UPDATE versions SET files = NULL"
				      " WHERE kind = 'dir'", NULL, NULL, NULL), SQLITE_OK);
	assert_error(p4r_registry_version_get(fx->reg, "lm", 1, &v), P4R_EINTEGRITY,
		     "registry: version 1 of 'lm' has a malformed kind, file count or tree size");
	assert_int_equal(sqlite3_exec(p4r_registry_db(fx->reg), "UPDATE versions SET files = 2"
				      " WHERE kind = 'file'", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(p4r_registry_version_get(fx->reg, "x", 1, &v), P4R_EINTEGRITY);
	/* and fsck names both */
	assert_int_equal(p4r_registry_fsck_invariants(fx->reg, count_kind_issue, &issues), 0);
	assert_int_equal(issues, 2);
}

/* M: three files; *OID gets its oid (the hash of its encoding). */
static void three_files(p4r_manifest *m, p4r_oid *oid, char **text, size_t *len)
{
	p4r_oid a, b, c;

	make_oid(&a, 1, 1);
	make_oid(&b, 1, 2);
	make_oid(&c, 1, 3);
	assert_int_equal(p4r_manifest_add(m, "tokenizer.json", &b, 20, false), 0);
	assert_int_equal(p4r_manifest_add(m, "config.json", &a, 10, false), 0);
	assert_int_equal(p4r_manifest_add(m, "bin/run.sh", &c, 5, true), 0);
	assert_int_equal(p4r_manifest_encode(m, text, len), 0);
	assert_int_equal(p4r_hash_buffer(oid, *text, *len), 0);
}

static void test_manifest_rows(void **state)
{
	struct fx *fx = *state;
	p4r_manifest m = { 0 }, got = { 0 }, dec = { 0 };
	p4r_oid mo, other;
	char *text = NULL;
	size_t len = 0, i;
	bool has = true;

	three_files(&m, &mo, &text, &len);
	assert_int_equal(p4r_registry_manifest_has(fx->reg, &mo, &has), 0);
	assert_false(has);
	assert_int_equal(p4r_registry_manifest_get(fx->reg, &mo, &got), P4R_ENOTFOUND);
	assert_int_equal(p4r_registry_manifest_put(fx->reg, &mo, &m), 0);
	assert_int_equal(p4r_registry_manifest_put(fx->reg, &mo, &m), 0); /* idempotent */
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM manifest_files"), 3);
	assert_int_equal(p4r_registry_manifest_has(fx->reg, &mo, &has), 0);
	assert_true(has);
	/* what decoding the manifest's bytes gives, entry for entry, sorted */
	assert_int_equal(p4r_registry_manifest_get(fx->reg, &mo, &got), 0);
	assert_int_equal(p4r_manifest_decode(&dec, text, len, "test"), 0);
	assert_int_equal(got.n, dec.n);
	assert_true(got.sorted);
	for (i = 0; i < got.n; i++) {
		assert_string_equal(got.v[i].path, dec.v[i].path);
		assert_string_equal(got.v[i].oid.hex, dec.v[i].oid.hex);
		assert_int_equal(got.v[i].size, dec.v[i].size);
		assert_int_equal(got.v[i].exec, dec.v[i].exec);
	}
	assert_string_equal(got.v[0].path, "bin/run.sh");
	assert_true(got.v[0].exec);
	assert_non_null(p4r_manifest_find(&got, "config.json"));

	/* edited rows are not the manifest */
	assert_int_equal(sqlite3_exec(p4r_registry_db(fx->reg), "UPDATE manifest_files SET size = 11"
				      " WHERE path = 'config.json'", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(p4r_registry_manifest_get(fx->reg, &mo, &got), P4R_EINTEGRITY);
	assert_int_equal(got.n, 0);
	assert_int_equal(sqlite3_exec(p4r_registry_db(fx->reg), "UPDATE manifest_files SET size = 10,"
				      " exec = 2 WHERE path = 'config.json'", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(p4r_registry_manifest_get(fx->reg, &mo, &got), P4R_EINTEGRITY);
	assert_int_equal(sqlite3_exec(p4r_registry_db(fx->reg), "UPDATE manifest_files SET exec = 0;"
				      " UPDATE manifest_files SET path = '../x' WHERE path = 'config.json'",
				      NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(p4r_registry_manifest_get(fx->reg, &mo, &got), P4R_EINTEGRITY);
	assert_non_null(strstr(p4r_error_message(), "are not that manifest"));

	/* inside a caller's transaction: rolled back with it */
	make_oid(&other, 2, 2);
	assert_int_equal(p4r_registry_begin(fx->reg), 0);
	assert_int_equal(p4r_registry_manifest_put(fx->reg, &other, &m), 0);
	p4r_registry_abort(fx->reg);
	assert_int_equal(p4r_registry_manifest_has(fx->reg, &other, &has), 0);
	assert_false(has);
	/* nothing invalid is recorded */
	p4r_manifest_clear(&dec);
	assert_error(p4r_registry_manifest_put(fx->reg, &other, &dec), P4R_EUSAGE,
		     "manifest 000000000000 has no file");
	snprintf(other.hex, sizeof(other.hex), "xyz");
	assert_int_equal(p4r_registry_manifest_put(fx->reg, &other, &m), P4R_EUSAGE);
	assert_int_equal(db_int(fx->reg, "SELECT count(*) FROM manifest_files"), 3);
	p4r_manifest_clear(&m);
	free(text);
}

static bool in_list(const p4r_oid *list, size_t n, const p4r_oid *oid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p4r_oid_equal(&list[i], oid))
			return true;
	return false;
}

/* gc and fsck keep every file a folder version's manifest names, and only
 * those: rows of a manifest no folder version names keep nothing. */
static void test_referenced_manifest_files(void **state)
{
	struct fx *fx = *state;
	p4r_manifest m = { 0 }, lone = { 0 };
	p4r_version_input in = input("lm", "models/lm", 1);
	p4r_oid mo, c, lone_oid, *refs = NULL;
	int64_t *sizes = NULL;
	char *text = NULL;
	size_t len = 0, n = 0, i;
	bool used = false;

	three_files(&m, &mo, &text, &len);
	in.oid = mo;
	in.size = (int64_t)len;
	in.kind = P4R_KIND_DIR;
	in.files = 3;
	in.tree_size = 35;
	assert_int_equal(p4r_registry_manifest_put(fx->reg, &mo, &m), 0);
	assert_int_equal(p4r_registry_add_version(fx->reg, &in, NULL, NULL), 0);
	make_oid(&c, 3, 3);
	assert_int_equal(p4r_manifest_add(&lone, "orphan.bin", &c, 99, false), 0);
	make_oid(&lone_oid, 3, 4);
	assert_int_equal(p4r_registry_manifest_put(fx->reg, &lone_oid, &lone), 0);
	/* a FILE version whose bytes happen to be that oid: not a manifest */
	in = input("x", "models/x.onnx", 0);
	in.oid = lone_oid;
	assert_int_equal(p4r_registry_add_version(fx->reg, &in, NULL, NULL), 0);

	assert_int_equal(p4r_registry_referenced_oids(fx->reg, &refs, &sizes, &n), 0);
	assert_int_equal(n, 5); /* the manifest, its three files, x's object */
	assert_true(in_list(refs, n, &mo));
	assert_true(in_list(refs, n, &lone_oid));
	assert_false(in_list(refs, n, &c));
	for (i = 0; i < m.n; i++) {
		assert_true(in_list(refs, n, &m.v[i].oid));
		assert_int_equal(p4r_registry_oid_referenced(fx->reg, &m.v[i].oid, &used), 0);
		assert_true(used);
	}
	for (i = 0; i < n; i++)
		if (p4r_oid_equal(&refs[i], &m.v[0].oid))
			assert_int_equal(sizes[i], m.v[0].size);
	assert_int_equal(p4r_registry_oid_referenced(fx->reg, &c, &used), 0);
	assert_false(used);
	free(refs);
	free(sizes);
	p4r_manifest_clear(&m);
	p4r_manifest_clear(&lone);
	free(text);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define TE(fn) cmocka_unit_test_setup_teardown(fn, setup_empty, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stage_names),
		cmocka_unit_test(test_model_name_valid),
		T(test_open_fresh),
		TE(test_open_missing),
		TE(test_open_garbage),
		TE(test_open_foreign_application),
		T(test_open_newer),
		TE(test_open_empty_file),
		T(test_open_truncated),
		TE(test_open_missing_beside_state),
		TE(test_create_is_atomic),
		T(test_open_hardened),
		T(test_open_foreign_schema),
		T(test_open_readonly),
		T(test_add_numbering),
		T(test_add_unchanged),
		T(test_register_outcome),
		T(test_model_move),
		T(test_add_path_conflicts),
		T(test_add_invalid_input),
		T(test_version_errors),
		T(test_models),
		T(test_version_list_and_oids),
		T(test_events),
		T(test_events_append_only),
		T(test_statcache),
		T(test_statcache_under),
		T(test_statcache_skips_racy_files),
		T(test_nested_commit),
		T(test_nested_rollback),
		T(test_concurrent_adds),
		TE(test_concurrent_create),
		T(test_migrate_4_to_5),
		T(test_migrate_5_to_6),
		T(test_dir_versions),
		T(test_manifest_rows),
		T(test_referenced_manifest_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
