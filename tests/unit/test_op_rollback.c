/* Unit tests for the rollback operation (ops/rollback.c), called directly
 * on a temporary repository: production moves back, the work file gets the
 * old bytes, the post-rollback hook runs with the documented environment,
 * and its failure is the operation's error with the rollback recorded. */
#include "testutil.h"
#include "p4reg/config.h"
#include "p4reg/error.h"
#include "p4reg/lifecycle.h"
#include "p4reg/manifest.h"
#include "p4reg/ops/checkout.h"
#include "p4reg/pointer.h"
#include "p4reg/ops/rollback.h"
#include "p4reg/registry.h"
#include "p4reg/repo.h"
#include "p4reg/store.h"
#include "p4reg/worktree.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char V1[] = "bytes of version one\n";
static const char V2[] = "bytes of version two, longer\n";

/* Registers BYTES as version WANT of "m" at models/m.bin (stored), leaves
 * the file and pointer there, and puts it in production. */
static void add_production(tu_fx *fx, const char *bytes, int64_t want)
{
	p4r_version_input in = { 0 };
	p4r_promote_req req = { .model = "m", .number = want, .to = P4R_STAGE_PRODUCTION,
				.force = true, .actor = "tester" };
	p4r_promotion p;
	p4r_version v;
	bool unchanged;

	free(tu_write(fx->dir, "models/m.bin", bytes, strlen(bytes)));
	assert_int_equal(p4r_store_insert_buffer(p4r_repo_store(fx->repo), bytes, strlen(bytes),
						 &in.oid), 0);
	in.model = "m";
	in.path = "models/m.bin";
	in.size = (int64_t)strlen(bytes);
	in.author = "tester";
	in.git_dirty = -1;
	assert_int_equal(p4r_registry_add_version(p4r_repo_registry(fx->repo), &in, &v, &unchanged), 0);
	assert_int_equal(v.number, want);
	assert_int_equal(p4r_worktree_write_pointer(fx->repo, &v, "models/m.bin", NULL), 0);
	p4r_version_clear(&v);
	assert_int_equal(p4r_lifecycle_promote(p4r_repo_registry(fx->repo), &req, &p), 0);
	p4r_promotion_clear(&p);
}

static int setup(void **state)
{
	tu_fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	/* the user's own config (a hook, a remote) must not leak in */
	fx->repo = tu_repo_isolated(&fx->dir, "models");
	add_production(fx, V1, 1);
	add_production(fx, V2, 2);
	*state = fx;
	return 0;
}

static char *repo_file(tu_fx *fx, const char *rel)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", fx->dir, rel);
	return tu_slurp(path, NULL);
}

static p4r_stage stage_of(tu_fx *fx, int64_t number)
{
	p4r_version v;
	p4r_stage s;

	assert_int_equal(p4r_registry_version_get(p4r_repo_registry(fx->repo), "m", number, &v), 0);
	s = v.stage;
	p4r_version_clear(&v);
	return s;
}

/* The reason of the newest event of "m". */
static char *last_event_reason(tu_fx *fx, const char *kind)
{
	p4r_event *ev;
	size_t n;
	char *reason;

	assert_int_equal(p4r_registry_event_list(p4r_repo_registry(fx->repo), "m", 0, &ev, &n), 0);
	assert_true(n > 0);
	assert_string_equal(ev[n - 1].kind, kind);
	reason = strdup(ev[n - 1].reason);
	p4r_event_array_free(ev, n);
	return reason;
}

static void test_rollback_restores_and_runs_hook(void **state)
{
	tu_fx *fx = *state;
	p4r_rollback_opts opts = { .model = "m", .reason = "bad latency" };
	p4r_rollback_outcome oc = { 0 };
	char want[4200], *got;

	assert_int_equal(p4r_config_set(p4r_repo_config(fx->repo), true, "hooks.post-rollback",
					"printf '%s|%s|%s|%s' \"$P4REG_MODEL\" \"$P4REG_VERSION\" "
					"\"$P4REG_PATH\" \"$P4REG_ROLLED_BACK\" >hook.out"), 0);
	assert_int_equal(p4r_rollback(fx->repo, &opts, NULL, &oc), 0);
	assert_true(oc.recorded);
	assert_int_equal(oc.registry.restored.number, 1);
	assert_int_equal(oc.registry.rolled_back.number, 2);
	assert_string_equal(oc.path, "models/m.bin");
	assert_int_equal(oc.restore, P4R_RESTORE_WRITTEN);
	assert_true(oc.hook);
	assert_int_equal(oc.hook_status, 0);
	assert_string_equal(oc.remote, "");
	assert_false(oc.pushed);
	assert_int_equal(oc.metrics.nrows, 2);
	p4r_rollback_outcome_free(&oc);

	assert_int_equal(stage_of(fx, 1), P4R_STAGE_PRODUCTION);
	assert_int_equal(stage_of(fx, 2), P4R_STAGE_ARCHIVED);
	got = repo_file(fx, "models/m.bin");
	assert_string_equal(got, V1);
	free(got);
	/* the hook ran in the root with the four documented variables */
	snprintf(want, sizeof(want), "m|1|%s/models/m.bin|2", p4r_repo_root(fx->repo));
	got = repo_file(fx, "hook.out");
	assert_string_equal(got, want);
	free(got);
	got = last_event_reason(fx, "hook");
	assert_string_equal(got, "post-rollback hook exited with status 0");
	free(got);
}

static void test_rollback_hook_failure_reported(void **state)
{
	tu_fx *fx = *state;
	p4r_rollback_opts opts = { .model = "m" };
	p4r_rollback_outcome oc = { 0 };
	char *got;

	assert_int_equal(p4r_config_set(p4r_repo_config(fx->repo), true, "hooks.post-rollback", "exit 3"), 0);
	assert_int_equal(p4r_rollback(fx->repo, &opts, NULL, &oc), P4R_ERROR);
	assert_string_equal(p4r_error_message(), "the post-rollback hook exited with status 3; the "
			    "rollback to v1 is recorded");
	assert_true(oc.recorded);
	assert_true(oc.hook);
	assert_int_equal(oc.hook_status, 3);
	assert_false(oc.push_failed);
	p4r_rollback_outcome_free(&oc);
	assert_int_equal(stage_of(fx, 1), P4R_STAGE_PRODUCTION);
	got = repo_file(fx, "models/m.bin");
	assert_string_equal(got, V1);
	free(got);
	got = last_event_reason(fx, "hook");
	assert_string_equal(got, "post-rollback hook exited with status 3");
	free(got);
}

static void test_rollback_no_checkout_leaves_file(void **state)
{
	tu_fx *fx = *state;
	p4r_rollback_opts opts = { .model = "m", .no_checkout = true };
	p4r_rollback_outcome oc = { 0 };
	char *got;

	assert_int_equal(p4r_config_set(p4r_repo_config(fx->repo), true, "hooks.post-rollback", "exit 3"), 0);
	assert_int_equal(p4r_rollback(fx->repo, &opts, NULL, &oc), 0);
	assert_true(oc.recorded);
	assert_int_equal(oc.restore, P4R_RESTORE_SKIPPED);
	assert_false(oc.hook);
	p4r_rollback_outcome_free(&oc);
	assert_int_equal(stage_of(fx, 1), P4R_STAGE_PRODUCTION);
	got = repo_file(fx, "models/m.bin");
	assert_string_equal(got, V2);
	free(got);
}

static void test_rollback_refused_changes_nothing(void **state)
{
	tu_fx *fx = *state;
	p4r_rollback_opts opts = { .model = "m", .to = 2 };
	p4r_rollback_outcome oc = { 0 };

	assert_int_equal(p4r_rollback(fx->repo, &opts, NULL, &oc), P4R_EREFUSED);
	assert_false(oc.recorded);
	p4r_rollback_outcome_free(&oc);
	opts.model = "nope";
	opts.to = 0;
	assert_int_equal(p4r_rollback(fx->repo, &opts, NULL, &oc), P4R_ENOTFOUND);
	assert_false(oc.recorded);
	p4r_rollback_outcome_free(&oc);
	assert_int_equal(stage_of(fx, 2), P4R_STAGE_PRODUCTION);
}

/* ---- a folder model ---- */

/* Registers folder version WANT of "d" at models/d holding "a.json" = A and
 * "B" = its bytes, and puts it in production. */
static void add_dir_production(tu_fx *fx, const char *a, const char *bname, int64_t want)
{
	p4r_version_input in = { .model = "d", .path = "models/d", .author = "tester", .git_dirty = -1,
				 .kind = P4R_KIND_DIR, .files = 2 };
	p4r_promote_req req = { .model = "d", .number = want, .to = P4R_STAGE_PRODUCTION,
				.force = true, .actor = "tester" };
	const char *paths[2] = { "a.json", bname }, *bytes[2] = { a, bname };
	p4r_manifest m = { 0 };
	p4r_promotion p;
	p4r_version v;
	bool unchanged;
	p4r_oid oid;
	int i;

	for (i = 0; i < 2; i++) {
		assert_int_equal(p4r_store_insert_buffer(p4r_repo_store(fx->repo), bytes[i], strlen(bytes[i]),
							 &oid), 0);
		assert_int_equal(p4r_manifest_add(&m, paths[i], &oid, (int64_t)strlen(bytes[i]), false), 0);
	}
	assert_int_equal(p4r_manifest_store(fx->repo, &m, &in.oid, &in.size), 0);
	in.tree_size = p4r_manifest_total(&m);
	assert_int_equal(p4r_registry_manifest_put(p4r_repo_registry(fx->repo), &in.oid, &m), 0);
	assert_int_equal(p4r_registry_add_version(p4r_repo_registry(fx->repo), &in, &v, &unchanged), 0);
	assert_int_equal(v.number, want);
	p4r_version_clear(&v);
	p4r_manifest_clear(&m);
	assert_int_equal(p4r_lifecycle_promote(p4r_repo_registry(fx->repo), &req, &p), 0);
	p4r_promotion_clear(&p);
}

/* v2 of a folder in production and on disk; the rollback restores v1's
 * files (v2's own file removed), the folder pointer, then the hook. */
static void test_rollback_restores_folder(void **state)
{
	tu_fx *fx = *state;
	char *const args[] = { "d@2" };
	p4r_checkout_opts co = { .args = args, .nargs = 1 };
	p4r_checkout_result res = { 0 };
	p4r_rollback_opts opts = { .model = "d" };
	p4r_rollback_outcome oc = { 0 };
	char want[4200], *got, *path;
	p4r_pointer ptr;

	add_dir_production(fx, "{\"v\":1}", "one.bin", 1);
	add_dir_production(fx, "{\"v\":2}", "two.bin", 2);
	assert_int_equal(p4r_checkout(fx->repo, &co, NULL, &res), 0);
	p4r_checkout_result_free(&res);
	assert_int_equal(p4r_config_set(p4r_repo_config(fx->repo), true, "hooks.post-rollback",
					"printf '%s|%s' \"$P4REG_VERSION\" \"$P4REG_PATH\" >hook.out"), 0);
	assert_int_equal(p4r_rollback(fx->repo, &opts, NULL, &oc), 0);
	assert_int_equal(oc.registry.restored.number, 1);
	assert_string_equal(oc.path, "models/d");
	assert_int_equal(oc.restore, P4R_RESTORE_WRITTEN);
	assert_int_equal(oc.hook_status, 0);
	p4r_rollback_outcome_free(&oc);
	got = repo_file(fx, "models/d/a.json");
	assert_string_equal(got, "{\"v\":1}");
	free(got);
	got = repo_file(fx, "models/d/one.bin");
	assert_string_equal(got, "one.bin");
	free(got);
	assert_int_equal(asprintf(&path, "%s/models/d/two.bin", fx->dir) > 0, 1);
	assert_int_equal(access(path, F_OK), -1);
	free(path);
	assert_int_equal(p4r_worktree_read_pointer(fx->repo, "models/d", &ptr), 0);
	assert_true(ptr.dir);
	assert_int_equal(ptr.version, 1);
	snprintf(want, sizeof(want), "1|%s/models/d", p4r_repo_root(fx->repo));
	got = repo_file(fx, "hook.out");
	assert_string_equal(got, want);
	free(got);
}

/* ---- --dry-run ---- */

static char *tree_buf;
static size_t tree_len;

static int tree_add(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	char *bytes = NULL, line[4400];
	size_t n;

	(void)ftw;
	/* SQLite may rewrite the file's pages without a change of rows */
	if (strstr(path, "registry.db"))
		return 0;
	if (flag == FTW_F)
		bytes = tu_slurp(path, NULL);
	n = (size_t)snprintf(line, sizeof(line), "%s %o %lld %s\n", path, (unsigned)st->st_mode,
			     (long long)st->st_size, bytes ? bytes : "");
	free(bytes);
	assert_non_null(tree_buf = realloc(tree_buf, tree_len + n + 1));
	memcpy(tree_buf + tree_len, line, n + 1);
	tree_len += n;
	return 0;
}

/* Every file and folder below the repository (the work tree, .p4reg's
 * store and config) with its mode, size and bytes, but not the registry
 * file itself (tu_registry_dump compares its rows). */
static char *tree_dump(tu_fx *fx)
{
	tree_buf = NULL;
	tree_len = 0;
	assert_int_equal(nftw(fx->dir, tree_add, 16, FTW_PHYS), 0);
	return tree_buf ? tree_buf : strdup("");
}

struct snap {
	char *tree, *rows;
};

static void snap_take(tu_fx *fx, struct snap *s)
{
	s->tree = tree_dump(fx);
	s->rows = tu_registry_dump(p4r_repo_registry(fx->repo));
}

/* Nothing changed since S (then freed). */
static void snap_same(tu_fx *fx, struct snap *s)
{
	struct snap now;

	snap_take(fx, &now);
	assert_string_equal(now.tree, s->tree);
	assert_string_equal(now.rows, s->rows);
	free(now.tree);
	free(now.rows);
	free(s->tree);
	free(s->rows);
}

/* Runs OPTS dry (nothing changes), then for real: the same code, refusal
 * and versions. The dry outcome stays in *DRY (the caller frees it). */
static int rollback_both(tu_fx *fx, p4r_rollback_opts *opts, p4r_rollback_outcome *dry)
{
	p4r_rollback_outcome real = { 0 };
	char msg[1024];
	struct snap s;
	int rc_dry, rc;

	snap_take(fx, &s);
	opts->dry_run = true;
	memset(dry, 0, sizeof(*dry));
	rc_dry = p4r_rollback(fx->repo, opts, NULL, dry);
	snprintf(msg, sizeof(msg), "%s", p4r_error_message());
	snap_same(fx, &s);
	opts->dry_run = false;
	rc = p4r_rollback(fx->repo, opts, NULL, &real);
	assert_int_equal(rc_dry, rc);
	assert_int_equal(dry->registry.verdict.refusal, real.registry.verdict.refusal);
	assert_string_equal(dry->registry.verdict.message, real.registry.verdict.message);
	if (rc == P4R_EREFUSED || rc == P4R_ENOTFOUND)
		assert_string_equal(msg, p4r_error_message());
	if (rc == 0) {
		assert_int_equal(dry->registry.restored.number, real.registry.restored.number);
		assert_int_equal(dry->registry.rolled_back.number, real.registry.rolled_back.number);
		assert_int_equal(dry->restore, real.restore);
		assert_int_equal(dry->hook, real.hook);
	}
	p4r_rollback_outcome_free(&real);
	return rc;
}

/* The dry run says which file would change and changes nothing; the real
 * rollback then does what it said. */
static void test_dry_run_file(void **state)
{
	tu_fx *fx = *state;
	p4r_rollback_opts opts = { .model = "m" };
	p4r_rollback_outcome dry;
	char *got;

	assert_int_equal(p4r_config_set(p4r_repo_config(fx->repo), true, "hooks.post-rollback", "true"), 0);
	assert_int_equal(rollback_both(fx, &opts, &dry), 0);
	assert_true(dry.dry_run);
	assert_false(dry.recorded);
	assert_int_equal(dry.registry.restored.number, 1);
	assert_int_equal(dry.registry.rolled_back.number, 2);
	assert_int_equal(dry.registry.rolled_back.stage, P4R_STAGE_PRODUCTION);
	assert_int_equal(dry.restore, P4R_RESTORE_WRITTEN);
	assert_int_equal(dry.preview.nwrite, 1);
	assert_string_equal(dry.preview.write[0], "models/m.bin");
	assert_int_equal(dry.download, 0);
	assert_true(dry.hook);
	assert_int_equal(dry.registry.verdict.nrules, 2);
	p4r_rollback_outcome_free(&dry);
	got = repo_file(fx, "models/m.bin");
	assert_string_equal(got, V1);
	free(got);
}

/* The file already holds the restored bytes: unchanged, dry and real. */
static void test_dry_run_unchanged(void **state)
{
	tu_fx *fx = *state;
	p4r_rollback_opts opts = { .model = "m" };
	p4r_rollback_outcome dry;

	free(tu_write(fx->dir, "models/m.bin", V1, strlen(V1)));
	assert_int_equal(rollback_both(fx, &opts, &dry), 0);
	assert_int_equal(dry.restore, P4R_RESTORE_UNCHANGED);
	assert_int_equal(dry.preview.nwrite, 0);
	p4r_rollback_outcome_free(&dry);
}

/* Bytes in no version: the real run records the rollback and stops
 * (exit 1); the dry run says so, with the same code, and changes nothing. */
static void test_dry_run_blocked(void **state)
{
	tu_fx *fx = *state;
	p4r_rollback_opts opts = { .model = "m" };
	p4r_rollback_outcome dry;

	free(tu_write(fx->dir, "models/m.bin", "edited\n", 7));
	assert_int_equal(rollback_both(fx, &opts, &dry), P4R_ERROR);
	assert_true(dry.dry_run);
	assert_int_equal(dry.restore, P4R_RESTORE_BLOCKED);
	assert_non_null(strstr(dry.blocked, "would not be restored ('models/m.bin' has changes that are "
				"in no version"));
	assert_false(dry.hook);
	p4r_rollback_outcome_free(&dry);
	assert_int_equal(stage_of(fx, 1), P4R_STAGE_PRODUCTION);  /* the real one recorded it */
}

/* Refusals: the same kind and message; --no-checkout plans no file. */
static void test_dry_run_refusals(void **state)
{
	tu_fx *fx = *state;
	p4r_rollback_opts opts = { .model = "m", .to = 2 };
	p4r_rollback_outcome dry;

	assert_int_equal(rollback_both(fx, &opts, &dry), P4R_EREFUSED);
	assert_int_equal(dry.registry.verdict.refusal, P4R_REFUSAL_ALREADY_THERE);
	assert_false(dry.dry_run);
	p4r_rollback_outcome_free(&dry);
	opts.to = 0;
	opts.no_checkout = true;
	assert_int_equal(rollback_both(fx, &opts, &dry), 0);
	assert_int_equal(dry.restore, P4R_RESTORE_SKIPPED);
	assert_int_equal(dry.preview.nwrite, 0);
	p4r_rollback_outcome_free(&dry);
	assert_int_equal(rollback_both(fx, &opts, &dry), P4R_EREFUSED);
	assert_int_equal(dry.registry.verdict.refusal, P4R_REFUSAL_NO_TARGET);
	p4r_rollback_outcome_free(&dry);
	opts.model = "nope";
	assert_int_equal(rollback_both(fx, &opts, &dry), P4R_ENOTFOUND);
	p4r_rollback_outcome_free(&dry);
}

/* The restored bytes not here and no remote to ask: the real run's error,
 * word for word, before anything changed. */
static void test_dry_run_needs_download(void **state)
{
	tu_fx *fx = *state;
	p4r_rollback_opts opts = { .model = "m" };
	p4r_rollback_outcome dry;
	char path[4096];
	p4r_version v;

	assert_int_equal(p4r_registry_version_get(p4r_repo_registry(fx->repo), "m", 1, &v), 0);
	assert_int_equal(p4r_store_object_path(p4r_repo_store(fx->repo), &v.oid, path, sizeof(path)), 0);
	p4r_version_clear(&v);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rollback_both(fx, &opts, &dry), P4R_ENOTFOUND);
	assert_non_null(strstr(p4r_error_message(), "no remote is configured"));
	assert_false(dry.dry_run);
	p4r_rollback_outcome_free(&dry);
	assert_int_equal(stage_of(fx, 2), P4R_STAGE_PRODUCTION);
	opts.offline = true;
	assert_int_equal(rollback_both(fx, &opts, &dry), P4R_ENOTFOUND);
	assert_non_null(strstr(p4r_error_message(), "offline"));
	p4r_rollback_outcome_free(&dry);
}

/* A folder: the files that would be written and removed, nothing touched. */
static void test_dry_run_folder(void **state)
{
	tu_fx *fx = *state;
	char *const args[] = { "d@2" };
	p4r_checkout_opts co = { .args = args, .nargs = 1 };
	p4r_checkout_result res = { 0 };
	p4r_rollback_opts opts = { .model = "d" };
	p4r_rollback_outcome dry;

	add_dir_production(fx, "{\"v\":1}", "one.bin", 1);
	add_dir_production(fx, "{\"v\":2}", "two.bin", 2);
	assert_int_equal(p4r_checkout(fx->repo, &co, NULL, &res), 0);
	p4r_checkout_result_free(&res);
	assert_int_equal(rollback_both(fx, &opts, &dry), 0);
	assert_int_equal(dry.restore, P4R_RESTORE_WRITTEN);
	assert_false(dry.preview_unknown);
	assert_int_equal(dry.preview.nwrite, 2);
	assert_string_equal(dry.preview.write[0], "models/d/a.json");
	assert_string_equal(dry.preview.write[1], "models/d/one.bin");
	assert_int_equal(dry.preview.nremove, 1);
	assert_string_equal(dry.preview.remove[0], "models/d/two.bin");
	p4r_rollback_outcome_free(&dry);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dry_run_file, setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_dry_run_unchanged, setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_dry_run_blocked, setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_dry_run_refusals, setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_dry_run_needs_download, setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_dry_run_folder, setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_rollback_restores_and_runs_hook, setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_rollback_hook_failure_reported, setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_rollback_no_checkout_leaves_file, setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_rollback_refused_changes_nothing, setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_rollback_restores_folder, setup, tu_fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
