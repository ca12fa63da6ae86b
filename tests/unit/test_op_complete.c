/* Unit tests for p4r_complete (issue 17): model names, references
 * (name@, then numbers, latest and the stages held), remote names from the
 * three config files, only valid names, and no repository. A real
 * registry and config in a temporary folder; remote names go through the
 * git CLI, as in the shell. */
#include "testutil.h"
#include "p4reg/config.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/lifecycle.h"
#include "p4reg/ops/complete.h"
#include "p4reg/registry.h"
#include "p4reg/repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_version(p4r_registry *reg, const char *model, unsigned seed, p4r_version *out)
{
	char path[64];
	p4r_version_input in = { .model = model, .path = path, .size = 10, .author = "alice", .git_dirty = -1 };
	bool unchanged = true;

	snprintf(path, sizeof(path), "models/%s.onnx", model);
	snprintf(in.oid.hex, sizeof(in.oid.hex), "%064x", seed);
	assert_int_equal(p4r_registry_add_version(reg, &in, out, &unchanged), 0);
	assert_false(unchanged);
}

static int setup(void **state)
{
	tu_fx *fx = calloc(1, sizeof(*fx));
	p4r_registry *reg;
	p4r_version v = { 0 };
	unsigned i;

	assert_non_null(fx);
	fx->repo = tu_repo_isolated(&fx->dir, "sub");
	reg = p4r_repo_registry(fx->repo);
	for (i = 1; i <= 3; i++) {
		p4r_version_clear(&v);
		add_version(reg, "emb", i, &v);
		if (i == 2)
			assert_int_equal(p4r_registry_stage_set(reg, v.id, P4R_STAGE_PRODUCTION, 0), 0);
	}
	p4r_version_clear(&v);
	add_version(reg, "bert", 9, &v);
	p4r_version_clear(&v);
	*state = fx;
	return 0;
}

/* The candidates of KIND for PREFIX from START, joined by blanks. */
static char *complete(const char *start, p4r_complete_kind kind, const char *prefix)
{
	p4r_complete_opts opts = { .kind = kind, .prefix = prefix, .start = start };
	p4r_complete_result res;
	char *text = calloc(1, 4096);
	size_t i;

	assert_non_null(text);
	assert_int_equal(p4r_complete(&opts, &res), 0);
	for (i = 0; i < res.n; i++) {
		if (i)
			strcat(text, " ");
		assert_true(strlen(text) + strlen(res.v[i]) < 4000);
		strcat(text, res.v[i]);
	}
	p4r_complete_result_free(&res);
	return text;
}

static void expect(const char *start, p4r_complete_kind kind, const char *prefix, const char *want)
{
	char *got = complete(start, kind, prefix);

	assert_string_equal(got, want);
	free(got);
}

static void test_models(void **state)
{
	tu_fx *fx = *state;

	expect(fx->dir, P4R_COMPLETE_MODELS, "", "bert emb");
	expect(fx->dir, P4R_COMPLETE_MODELS, "e", "emb");
	expect(fx->dir, P4R_COMPLETE_MODELS, "x", "");
}

static void test_refs(void **state)
{
	tu_fx *fx = *state;
	char *sub = p4r_path_join(fx->dir, "sub");

	expect(fx->dir, P4R_COMPLETE_REFS, "", "bert@ emb@");
	expect(sub, P4R_COMPLETE_REFS, "em", "emb@");
	expect(fx->dir, P4R_COMPLETE_REFS, "emb@", "emb@1 emb@2 emb@3 emb@development emb@latest emb@production");
	expect(fx->dir, P4R_COMPLETE_REFS, "emb@p", "emb@production");
	expect(fx->dir, P4R_COMPLETE_REFS, "bert@", "bert@1 bert@development bert@latest");
	expect(fx->dir, P4R_COMPLETE_REFS, "nosuch@", "");
	expect(fx->dir, P4R_COMPLETE_REFS, "bad name@", "");
	expect(fx->dir, P4R_COMPLETE_REFS, "emb@@", "");
	free(sub);
}

static void test_remotes(void **state)
{
	tu_fx *fx = *state;
	p4r_config *cfg = p4r_repo_config(fx->repo);
	char *user = p4r_path_join(fx->dir, "p4reg/config"), cmd[1024];

	expect(fx->dir, P4R_COMPLETE_REMOTES, "", "");
	assert_int_equal(p4r_config_set(cfg, false, "remote.origin.url", "/srv/a"), 0);
	assert_int_equal(p4r_config_set(cfg, true, "remote.nas.url", "/srv/b"), 0);
	assert_int_equal(p4r_config_set(cfg, true, "remote.origin.url", "/srv/c"), 0);
	/* the user's own file (XDG_CONFIG_HOME is the test's folder), and a
	 * name p4reg would refuse, which is not offered */
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/p4reg' && git config --file '%s' remote.mine.url /srv/d && "
		 "git config --file '%s' 'remote.a b.url' /srv/e", fx->dir, user, user);
	assert_int_equal(system(cmd), 0);
	expect(fx->dir, P4R_COMPLETE_REMOTES, "", "mine nas origin");
	expect(fx->dir, P4R_COMPLETE_REMOTES, "n", "nas");
	expect(fx->dir, P4R_COMPLETE_REMOTES, "a", "");
	free(user);
}

static void test_no_repository(void **state)
{
	p4r_complete_opts opts = { .kind = P4R_COMPLETE_MODELS, .prefix = "" };
	p4r_complete_result res;
	char *empty = tu_mkdtemp();

	(void)state;
	opts.start = empty;
	assert_int_equal(p4r_complete(&opts, &res), P4R_ENOTFOUND);
	assert_int_equal(res.n, 0);
	assert_null(res.v);
	tu_rmtree_free(empty);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_models, setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_refs, setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_remotes, setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_no_repository, setup, tu_fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
