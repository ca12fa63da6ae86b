/* Unit tests for deploy.c: the event log replayed in memory (the registry's
 * numbering, stage and rollback rules on hand-built event lists), and
 * p4reg get's core against a folder remote written by hand. */
#include "testutil.h"
#include "p4reg/config.h"
#include "p4reg/deploy.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OID1 "1111111111111111111111111111111111111111111111111111111111111111"
#define OID2 "2222222222222222222222222222222222222222222222222222222222222222"
#define OID3 "3333333333333333333333333333333333333333333333333333333333333333"

/* ---- hand-built events ---- */

static p4r_sync_event reg_event(const char *uuid, const char *model, int64_t n, const char *oid,
				int64_t size)
{
	p4r_sync_event e;

	memset(&e, 0, sizeof(e));
	snprintf(e.uuid, sizeof(e.uuid), "%s", uuid);
	snprintf(e.model, sizeof(e.model), "%s", model);
	snprintf(e.kind, sizeof(e.kind), "register");
	snprintf(e.to_stage, sizeof(e.to_stage), "development");
	e.version = n;
	e.has_version = true;
	snprintf(e.oid.hex, sizeof(e.oid.hex), "%s", oid);
	e.size = size;
	return e;
}

static p4r_sync_event stage_event(const char *uuid, const char *model, int64_t n, const char *kind,
				  const char *from, const char *to)
{
	p4r_sync_event e;

	memset(&e, 0, sizeof(e));
	snprintf(e.uuid, sizeof(e.uuid), "%s", uuid);
	snprintf(e.model, sizeof(e.model), "%s", model);
	snprintf(e.kind, sizeof(e.kind), "%s", kind);
	snprintf(e.from_stage, sizeof(e.from_stage), "%s", from);
	snprintf(e.to_stage, sizeof(e.to_stage), "%s", to);
	e.version = n;
	return e;
}

#define U(n) "0a0b0c0d-0000-4000-8000-0000000000" #n

/* m@1..3, m@1 through the line into production, m@2 into production
 * (m@1 archived), m@3 into staging: the log of a small team. */
static p4r_deploy_log *team_log(void)
{
	p4r_sync_event ev[] = {
		reg_event(U(01), "m", 1, OID1, 10),
		stage_event(U(02), "m", 1, "promote", "development", "validation"),
		stage_event(U(03), "m", 1, "promote", "validation", "staging"),
		stage_event(U(04), "m", 1, "promote", "staging", "production"),
		reg_event(U(05), "m", 2, OID2, 20),
		stage_event(U(06), "m", 2, "promote", "development", "validation"),
		stage_event(U(07), "m", 2, "promote", "validation", "staging"),
		stage_event(U(08), "m", 1, "promote", "production", "archived"),
		stage_event(U(09), "m", 2, "promote", "staging", "production"),
		reg_event(U(10), "m", 3, OID3, 30),
		stage_event(U(11), "m", 3, "promote", "development", "validation"),
		stage_event(U(12), "m", 3, "promote", "validation", "staging"),
	};
	p4r_deploy_log *log;

	assert_int_equal(p4r_deploy_log_new(&log), 0);
	/* two batches, as two pushes would write them */
	assert_int_equal(p4r_deploy_log_apply(log, 1, ev, 5), 0);
	assert_int_equal(p4r_deploy_log_apply(log, 2, ev + 5, sizeof(ev) / sizeof(ev[0]) - 5), 0);
	return log;
}

static void resolve_ok(const p4r_deploy_log *log, const char *text, int64_t number, p4r_stage stage)
{
	p4r_deploy_version v;
	p4r_ref ref;

	assert_int_equal(p4r_ref_parse(&ref, text), 0);
	if (p4r_deploy_log_resolve(log, &ref, &v) != 0)
		fail_msg("%s: %s", text, p4r_error_message());
	assert_string_equal(v.model, ref.model);
	assert_int_equal(v.number, number);
	assert_int_equal(v.stage, stage);
}

static void resolve_fails(const p4r_deploy_log *log, const char *text, const char *msg)
{
	p4r_deploy_version v;
	p4r_ref ref;

	assert_int_equal(p4r_ref_parse(&ref, text), 0);
	assert_int_equal(p4r_deploy_log_resolve(log, &ref, &v), P4R_ENOTFOUND);
	if (!strstr(p4r_error_message(), msg))
		fail_msg("'%s' does not contain '%s'", p4r_error_message(), msg);
}

static void test_resolve_refs(void **state)
{
	p4r_deploy_log *log = team_log();
	p4r_deploy_version v;
	p4r_ref ref;

	(void)state;
	resolve_ok(log, "m@production", 2, P4R_STAGE_PRODUCTION);
	resolve_ok(log, "m@staging", 3, P4R_STAGE_STAGING);
	resolve_ok(log, "m@latest", 3, P4R_STAGE_STAGING);
	resolve_ok(log, "m", 3, P4R_STAGE_STAGING);
	resolve_ok(log, "m@1", 1, P4R_STAGE_ARCHIVED);
	resolve_ok(log, "m@v2", 2, P4R_STAGE_PRODUCTION);
	resolve_ok(log, "m@archived", 1, P4R_STAGE_ARCHIVED);
	resolve_fails(log, "m@development", "model 'm' has no version in development");
	resolve_fails(log, "m@4", "model 'm' has no version 4");
	resolve_fails(log, "x@production", "unknown model 'x'");
	/* the oid and size travel with the version */
	assert_int_equal(p4r_ref_parse(&ref, "m@production"), 0);
	assert_int_equal(p4r_deploy_log_resolve(log, &ref, &v), 0);
	assert_string_equal(v.oid.hex, OID2);
	assert_int_equal(v.size, 20);
	/* an alias no event set */
	resolve_fails(log, "m@champion", "model 'm' has no alias 'champion'");
	assert_int_equal(p4r_ref_parse(&ref, "m@Champion"), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "unknown version, stage or alias 'Champion'"));
	p4r_deploy_log_free(log);
}

/* An event of batch format 4 with DETAIL (nullable, not owned). */
/* Every model of a log resolves, whatever the order they came in (a
 * model once went into the name-ordered tree before it had its name, so
 * a third model was lost); each_live gives the live versions by name. */
static int count_live(const p4r_deploy_version *v, void *arg)
{
	char *seen = arg;
	size_t len = strlen(seen);

	snprintf(seen + len, 64 - len, "%s%s@%lld", len ? " " : "", v->model, (long long)v->number);
	return 0;
}

static void test_many_models(void **state)
{
	static const char *const names[] = { "m", "n", "d", "a", "z", "b" };
	p4r_sync_event ev[6];
	p4r_deploy_log *log;
	char ref[16], seen[64] = "";
	size_t i;

	(void)state;
	for (i = 0; i < 6; i++) {
		char uuid[40];

		snprintf(uuid, sizeof(uuid), "0a0b0c0d-0000-4000-8000-00000000010%zu", i);
		ev[i] = reg_event(uuid, names[i], 1, i % 2 ? OID1 : OID2, i % 2 ? 10 : 20);
	}
	assert_int_equal(p4r_deploy_log_new(&log), 0);
	assert_int_equal(p4r_deploy_log_apply(log, 1, ev, 6), 0);
	for (i = 0; i < 6; i++) {
		snprintf(ref, sizeof(ref), "%s@1", names[i]);
		resolve_ok(log, ref, 1, P4R_STAGE_DEVELOPMENT);
	}
	assert_int_equal(p4r_deploy_log_each_live(log, count_live, seen), 0);
	assert_string_equal(seen, "a@1 b@1 d@1 m@1 n@1 z@1");
	p4r_deploy_log_free(log);
}

static p4r_sync_event label_event(const char *uuid, int64_t n, const char *kind, const char *detail)
{
	p4r_sync_event e = stage_event(uuid, "m", n, kind, "", "");

	e.detail = (char *)detail;
	if (!strcmp(kind, "delete")) {
		snprintf(e.from_stage, sizeof(e.from_stage), "development");
		snprintf(e.to_stage, sizeof(e.to_stage), "archived");
	}
	return e;
}

/* Aliases and deletions as registry/sync_sql.c replays them: an alias
 * moves, goes with its deleted version, is never set on a version deleted
 * earlier in the log; a deleted version resolves to nothing and latest is
 * the highest live one. */
static void test_aliases_and_deletions(void **state)
{
	p4r_sync_event ev[] = {
		label_event(U(20), 3, "alias-set", "{\"alias\":\"champion\"}"),
		label_event(U(21), 2, "alias-set", "{\"alias\":\"canary\"}"),
		label_event(U(22), 2, "alias-set", "{\"alias\":\"champion\"}"),
		label_event(U(23), 3, "delete", NULL),
		label_event(U(24), 3, "alias-set", "{\"alias\":\"late\"}"),
		label_event(U(25), 1, "alias-set", "{\"alias\":\"old\"}"),
		label_event(U(26), 1, "alias-delete", "{\"alias\":\"old\"}"),
	};
	p4r_deploy_log *log = team_log();

	(void)state;
	assert_int_equal(p4r_deploy_log_apply(log, 3, ev, 3), 0);
	resolve_ok(log, "m@champion", 2, P4R_STAGE_PRODUCTION);
	resolve_ok(log, "m@canary", 2, P4R_STAGE_PRODUCTION);
	assert_int_equal(p4r_deploy_log_apply(log, 4, ev + 3, 4), 0);
	resolve_fails(log, "m@3", "version 3 of model 'm' was deleted");
	resolve_fails(log, "m@staging", "model 'm' has no version in staging");
	resolve_fails(log, "m@late", "model 'm' has no alias 'late'");
	resolve_fails(log, "m@old", "model 'm' has no alias 'old'");
	resolve_ok(log, "m@latest", 2, P4R_STAGE_PRODUCTION);
	resolve_ok(log, "m@champion", 2, P4R_STAGE_PRODUCTION);
	p4r_deploy_log_free(log);
}

/* rollback as lifecycle.c records it: the holder leaves production for
 * archived (rolled back), the earlier version comes back into production. */
static void test_rollback_and_repromote(void **state)
{
	p4r_sync_event rb[] = {
		stage_event(U(20), "m", 2, "rollback", "production", "archived"),
		stage_event(U(21), "m", 1, "rollback", "archived", "production"),
	};
	p4r_sync_event again[] = {
		stage_event(U(22), "m", 2, "promote", "archived", "production"),
	};
	p4r_deploy_log *log = team_log();
	p4r_deploy_version v;
	p4r_ref ref;

	(void)state;
	assert_int_equal(p4r_deploy_log_apply(log, 3, rb, 2), 0);
	resolve_ok(log, "m@production", 1, P4R_STAGE_PRODUCTION);
	assert_int_equal(p4r_ref_parse(&ref, "m@2"), 0);
	assert_int_equal(p4r_deploy_log_resolve(log, &ref, &v), 0);
	assert_int_equal(v.stage, P4R_STAGE_ARCHIVED);
	assert_true(v.rolled_back);
	/* staging is untouched by a rollback (A/B beside production) */
	resolve_ok(log, "m@staging", 3, P4R_STAGE_STAGING);
	/* back into production: the rolled-back mark goes, m@1 is archived */
	assert_int_equal(p4r_deploy_log_apply(log, 4, again, 1), 0);
	assert_int_equal(p4r_deploy_log_resolve(log, &ref, &v), 0);
	assert_int_equal(v.stage, P4R_STAGE_PRODUCTION);
	assert_false(v.rolled_back);
	resolve_ok(log, "m@1", 1, P4R_STAGE_ARCHIVED);
	p4r_deploy_log_free(log);
}

/* Two machines promoted concurrently: the last promotion in log order
 * wins, the earlier holder is archived (registry/sync_sql.c's replay). */
static void test_last_promotion_wins(void **state)
{
	p4r_sync_event ev[] = {
		stage_event(U(30), "m", 3, "promote", "staging", "production"),
	};
	p4r_deploy_log *log = team_log();

	(void)state;
	assert_int_equal(p4r_deploy_log_apply(log, 3, ev, 1), 0);
	resolve_ok(log, "m@production", 3, P4R_STAGE_PRODUCTION);
	resolve_ok(log, "m@2", 2, P4R_STAGE_ARCHIVED);
	resolve_fails(log, "m@staging", "model 'm' has no version in staging");
	p4r_deploy_log_free(log);
}

/* An event id met again is applied once, as the registry skips a known
 * uuid: replaying an old promotion must not move production back. */
static void test_repeated_event_applied_once(void **state)
{
	p4r_sync_event ev[] = {
		stage_event(U(04), "m", 1, "promote", "staging", "production"),
		reg_event(U(01), "m", 1, OID1, 10),
	};
	p4r_deploy_log *log = team_log();

	(void)state;
	assert_int_equal(p4r_deploy_log_apply(log, 3, ev, 2), 0);
	resolve_ok(log, "m@production", 2, P4R_STAGE_PRODUCTION);
	resolve_ok(log, "m@latest", 3, P4R_STAGE_STAGING);
	p4r_deploy_log_free(log);
}

static void apply_fails(p4r_sync_event *ev, size_t n, const char *msg)
{
	p4r_deploy_log *log;

	assert_int_equal(p4r_deploy_log_new(&log), 0);
	assert_int_equal(p4r_deploy_log_apply(log, 7, ev, n), P4R_EINTEGRITY);
	if (!strstr(p4r_error_message(), msg))
		fail_msg("'%s' does not contain '%s'", p4r_error_message(), msg);
	assert_non_null(strstr(p4r_error_message(), "batch 7"));
	p4r_deploy_log_free(log);
}

/* What the registry refuses to apply, the deploy box refuses to use. */
static void test_broken_logs_refused(void **state)
{
	p4r_sync_event gap[] = { reg_event(U(01), "m", 2, OID1, 10) };
	p4r_sync_event twice[] = { reg_event(U(01), "m", 1, OID1, 10), reg_event(U(02), "m", 1, OID2, 10) };
	p4r_sync_event unknown[] = { stage_event(U(01), "x", 1, "promote", "development", "validation") };
	p4r_sync_event unregistered[] = {
		reg_event(U(01), "m", 1, OID1, 10),
		stage_event(U(02), "m", 2, "promote", "staging", "production"),
	};
	p4r_sync_event sizes[] = { reg_event(U(01), "m", 1, OID1, 10), reg_event(U(02), "n", 1, OID1, 11) };
	p4r_sync_event metric[] = {
		reg_event(U(01), "m", 1, OID1, 10),
		stage_event(U(02), "m", 1, "log-metric", "", ""),
	};
	p4r_deploy_log *log;

	(void)state;
	apply_fails(gap, 1, "registers m@2, but the log's next version of 'm' is 1");
	apply_fails(twice, 2, "registers m@1, but the log's next version of 'm' is 2");
	apply_fails(unknown, 1, "an event for unknown model 'x'");
	apply_fails(unregistered, 2, "promote event for m@2, which the log never registered");
	apply_fails(sizes, 2, "is 11 bytes; an earlier version in the log has it as 10 bytes");
	/* a log-metric detail that fetch could not replay */
	metric[1].detail = "{\"run\":\"r\",\"step\":0.5,\"at_ms\":1,\"metrics\":{\"f1\":0.9}}";
	apply_fails(metric, 2, "invalid log-metric event for m@1 from the remote");
	metric[1].detail = "{\"run\":\"r\",\"step\":0,\"at_ms\":1,\"metrics\":{\"f1\":0.9}}";
	assert_int_equal(p4r_deploy_log_new(&log), 0);
	if (p4r_deploy_log_apply(log, 1, metric, 2) != 0)
		fail_msg("%s", p4r_error_message());
	p4r_deploy_log_free(log);
}

/* ---- p4r_deploy_get against a folder remote written by hand ---- */

struct fixture {
	char *root;        /* everything below */
	char *remote;      /* ROOT/remote */
	char *box;         /* ROOT/box: the deploy target's folder */
	char *cache;       /* ROOT/cache */
	char *dest;        /* ROOT/box/m.bin */
	p4r_oid oid[2];    /* of m@1 and m@2 */
	p4r_remote *r;
	p4r_config *cfg;
};

static const char *const bytes[2] = { "first version bytes\n", "second version, longer bytes\n" };

static char *join(const char *a, const char *b)
{
	char *p = p4r_path_join(a, b);

	assert_non_null(p);
	return p;
}

static void put_object(struct fixture *f, int i)
{
	char key[128], *path;

	assert_int_equal(p4r_hash_buffer(&f->oid[i], bytes[i], strlen(bytes[i])), 0);
	p4r_remote_object_key(key, sizeof(key), &f->oid[i]);
	path = join(f->remote, key);
	*strrchr(path, '/') = '\0';
	assert_int_equal(p4r_mkdir_p(path, 0755), 0);
	free(path);
	free(tu_write(f->remote, key, bytes[i], strlen(bytes[i])));
}

/* log/1: m@1 and m@2 registered, m@1 in production. */
static void put_log(struct fixture *f)
{
	char *log = join(f->remote, "log"), text[4096];
	const char *fmt =
		"{\"format\":1,\"seq\":1,\"parent\":0,\"events\":["
		"{\"id\":\"" U(01) "\",\"model\":\"m\",\"version\":1,\"kind\":\"register\",\"from\":\"\","
		"\"to\":\"development\",\"forced\":false,\"actor\":\"a\",\"time\":1,\"reason\":\"\","
		"\"detail\":null,\"oid\":\"%s\",\"size\":%zu,\"author\":\"a\",\"created\":1,"
		"\"message\":\"\",\"path\":\"m.bin\",\"git_commit\":\"abc123\",\"git_branch\":\"main\",\"git_dirty\":0},"
		"{\"id\":\"" U(02) "\",\"model\":\"m\",\"version\":1,\"kind\":\"promote\",\"from\":\"development\","
		"\"to\":\"production\",\"forced\":true,\"actor\":\"a\",\"time\":2,\"reason\":\"\",\"detail\":null},"
		"{\"id\":\"" U(03) "\",\"model\":\"m\",\"version\":2,\"kind\":\"register\",\"from\":\"\","
		"\"to\":\"development\",\"forced\":false,\"actor\":\"a\",\"time\":3,\"reason\":\"\","
		"\"detail\":null,\"oid\":\"%s\",\"size\":%zu,\"author\":\"a\",\"created\":3,"
		"\"message\":\"\",\"path\":\"m.bin\",\"git_commit\":\"abc123\",\"git_branch\":\"main\",\"git_dirty\":0}]}";

	assert_int_equal(p4r_mkdir_p(log, 0755), 0);
	snprintf(text, sizeof(text), fmt, f->oid[0].hex, strlen(bytes[0]), f->oid[1].hex, strlen(bytes[1]));
	free(tu_write(log, "0000000001.json", text, strlen(text)));
	free(log);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->root = tu_mkdtemp();
	f->remote = join(f->root, "remote");
	f->box = join(f->root, "box");
	f->cache = join(f->root, "cache");
	f->dest = join(f->box, "m.bin");
	assert_int_equal(mkdir(f->remote, 0755), 0);
	assert_int_equal(mkdir(f->box, 0755), 0);
	put_object(f, 0);
	put_object(f, 1);
	put_log(f);
	/* the user's own config only, from a home with none */
	setenv("HOME", f->root, 1);
	unsetenv("XDG_CONFIG_HOME");
	assert_int_equal(p4r_config_open_user(&f->cfg), 0);
	assert_int_equal(p4r_remote_open_url(&f->r, f->cfg, f->remote, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	p4r_remote_free(f->r);
	p4r_config_free(f->cfg);
	free(f->remote);
	free(f->box);
	free(f->cache);
	free(f->dest);
	tu_rmtree_free(f->root);
	free(f);
	return 0;
}

static int get(struct fixture *f, const char *text, bool cache, p4r_get_result *res)
{
	p4r_get_opts opts = { .dest = f->dest, .cache_dir = cache ? f->cache : NULL };
	p4r_ref ref;

	int rc;

	assert_int_equal(p4r_ref_parse(&ref, text), 0);
	rc = p4r_deploy_get(f->r, &ref, &opts, res);
	if (rc < 0)
		print_message("get %s: %s\n", text, p4r_error_message());
	return rc;
}

static void assert_dest(const struct fixture *f, int i)
{
	size_t len;
	char *got = tu_slurp(f->dest, &len);

	assert_int_equal(len, strlen(bytes[i]));
	assert_memory_equal(got, bytes[i], len);
	free(got);
}

static void test_get_then_already_there(void **state)
{
	struct fixture *f = *state;
	p4r_get_result res;
	char key[128], *path;
	struct stat st;

	assert_int_equal(get(f, "m@production", true, &res), 0);
	assert_true(res.changed);
	assert_false(res.cached);
	assert_int_equal(res.batches, 1);
	assert_int_equal(res.version.number, 1);
	assert_dest(f, 0);
	assert_int_equal(stat(f->dest, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	/* the cache is the user's alone */
	assert_int_equal(stat(f->cache, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	/* the same again: nothing to do */
	assert_int_equal(get(f, "m@production", true, &res), 0);
	assert_false(res.changed);
	/* another version, then back: the way back is the cache, not the remote */
	assert_int_equal(get(f, "m@latest", true, &res), 0);
	assert_true(res.changed);
	assert_dest(f, 1);
	p4r_remote_object_key(key, sizeof(key), &f->oid[0]);
	path = join(f->remote, key);
	assert_int_equal(unlink(path), 0);
	free(path);
	assert_int_equal(get(f, "m@1", true, &res), 0);
	assert_true(res.changed);
	assert_true(res.cached);
	assert_dest(f, 0);
}

/* Bytes that do not hash to the oid never reach PATH, cache or not. */
static void test_get_corrupt_object(void **state)
{
	struct fixture *f = *state;
	char key[128];
	p4r_get_result res;

	free(tu_write(f->box, "m.bin", "old", 3));
	p4r_remote_object_key(key, sizeof(key), &f->oid[1]);
	free(tu_write(f->remote, key, "second version, LONGER bytes\n", strlen(bytes[1])));
	assert_int_equal(get(f, "m@2", true, &res), P4R_EINTEGRITY);
	assert_non_null(strstr(p4r_error_message(), "is corrupt"));
	assert_non_null(strstr(p4r_error_message(), "was not changed"));
	assert_int_equal(get(f, "m@2", false, &res), P4R_EINTEGRITY);
	{
		size_t len;
		char *got = tu_slurp(f->dest, &len);

		assert_int_equal(len, 3);
		assert_memory_equal(got, "old", 3);
		free(got);
	}
}

static void test_get_refuses_fifo_and_replaces_link(void **state)
{
	struct fixture *f = *state;
	p4r_get_result res;
	char *target = join(f->root, "elsewhere");
	struct stat st;

	assert_int_equal(mkfifo(f->dest, 0644), 0);
	assert_int_equal(get(f, "m@1", false, &res), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "is not a regular file"));
	assert_int_equal(unlink(f->dest), 0);
	/* a link is replaced, never written through, even to the same bytes */
	free(tu_write(f->root, "elsewhere", bytes[0], strlen(bytes[0])));
	assert_int_equal(symlink(target, f->dest), 0);
	assert_int_equal(get(f, "m@1", false, &res), 0);
	assert_true(res.changed);
	assert_int_equal(lstat(f->dest, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(get(f, "m@2", false, &res), 0);
	assert_dest(f, 1);
	{
		size_t len;
		char *got = tu_slurp(target, &len);

		assert_int_equal(len, strlen(bytes[0]));
		free(got);
	}
	free(target);
}

struct seen {
	uint64_t done, total;
	int calls;
	bool backwards;
};

static void record_progress(uint64_t done, uint64_t total, void *payload)
{
	struct seen *s = payload;

	s->backwards = s->backwards || done < s->done;
	s->done = done;
	s->total = total;
	s->calls++;
}

/* The caller's progress sees bytes so far of the version's size, not the
 * remote's increments (a 20 MiB object reports more than once). */
static void test_get_progress(void **state)
{
	struct fixture *f = *state;
	const size_t size = (size_t)20 << 20;
	struct seen seen = { 0 };
	p4r_get_opts opts = { .dest = f->dest, .progress = record_progress, .payload = &seen };
	char *big = calloc(1, size), *remote = join(f->root, "big"), *log = join(remote, "log");
	char key[128], *dir, text[2048];
	p4r_remote *r = NULL;
	p4r_get_result res;
	p4r_oid oid;
	p4r_ref ref;

	assert_non_null(big);
	memset(big, 'x', size);
	assert_int_equal(p4r_hash_buffer(&oid, big, size), 0);
	p4r_remote_object_key(key, sizeof(key), &oid);
	dir = join(remote, key);
	*strrchr(dir, '/') = '\0';
	assert_int_equal(p4r_mkdir_p(dir, 0755), 0);
	assert_int_equal(p4r_mkdir_p(log, 0755), 0);
	free(tu_write(remote, key, big, size));
	snprintf(text, sizeof(text), "{\"format\":1,\"seq\":1,\"parent\":0,\"events\":["
		 "{\"id\":\"" U(01) "\",\"model\":\"big\",\"version\":1,\"kind\":\"register\","
		 "\"from\":\"\",\"to\":\"development\",\"forced\":false,\"actor\":\"a\",\"time\":1,"
		 "\"reason\":\"\",\"detail\":null,\"oid\":\"%s\",\"size\":%zu,\"author\":\"a\","
		 "\"created\":1,\"message\":\"\",\"path\":\"big.bin\",\"git_commit\":\"abc123\","
		 "\"git_branch\":\"main\",\"git_dirty\":0}]}", oid.hex, size);
	free(tu_write(log, "0000000001.json", text, strlen(text)));
	assert_int_equal(p4r_remote_open_url(&r, f->cfg, remote, NULL), 0);
	assert_int_equal(p4r_ref_parse(&ref, "big@1"), 0);
	assert_int_equal(p4r_deploy_get(r, &ref, &opts, &res), 0);
	assert_true(seen.calls > 1);
	assert_false(seen.backwards);
	assert_int_equal(seen.done, size);
	assert_int_equal(seen.total, size);
	p4r_remote_free(r);
	free(dir);
	free(log);
	free(remote);
	free(big);
}

static void test_get_needs_the_folder(void **state)
{
	struct fixture *f = *state;
	p4r_get_opts opts = { .dest = NULL };
	p4r_get_result res;
	char *dest = join(f->root, "missing/m.bin");
	p4r_ref ref;

	opts.dest = dest;
	assert_int_equal(p4r_ref_parse(&ref, "m@1"), 0);
	assert_int_equal(p4r_deploy_get(f->r, &ref, &opts, &res), P4R_ENOTFOUND);
	assert_non_null(strstr(p4r_error_message(), "does not exist; create it first"));
	opts.dest = f->box;
	assert_int_equal(p4r_deploy_get(f->r, &ref, &opts, &res), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "is a folder"));
	free(dest);
}

static void test_default_cache(void **state)
{
	char *dir = NULL;

	(void)state;
	setenv("XDG_CACHE_HOME", "/x/cache", 1);
	assert_int_equal(p4r_deploy_default_cache(&dir), 0);
	assert_string_equal(dir, "/x/cache/p4reg");
	free(dir);
	setenv("XDG_CACHE_HOME", "relative", 1);
	setenv("HOME", "/home/u", 1);
	assert_int_equal(p4r_deploy_default_cache(&dir), 0);
	assert_string_equal(dir, "/home/u/.cache/p4reg");
	free(dir);
	unsetenv("XDG_CACHE_HOME");
	unsetenv("HOME");
	assert_int_equal(p4r_deploy_default_cache(&dir), P4R_EUSAGE);
	assert_null(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve_refs),
		cmocka_unit_test(test_many_models),
		cmocka_unit_test(test_aliases_and_deletions),
		cmocka_unit_test(test_rollback_and_repromote),
		cmocka_unit_test(test_last_promotion_wins),
		cmocka_unit_test(test_repeated_event_applied_once),
		cmocka_unit_test(test_broken_logs_refused),
		cmocka_unit_test_setup_teardown(test_get_then_already_there, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_corrupt_object, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_refuses_fifo_and_replaces_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_progress, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_needs_the_folder, setup, teardown),
		cmocka_unit_test(test_default_cache),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
