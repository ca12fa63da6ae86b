/* Unit tests for config.c: which keys are credentials, the committed file
 * refusing them, .p4reg/config.local's mode on disk (created 0600, a
 * rewrite keeps the user's mode, a symlink is never followed), and the
 * multi-valued keys (add, unset, unset-all, every value in order). */
#include "testutil.h"
#include "p4reg/config.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_key_is_secret(void **state)
{
	static const char *const secret[] = {
		"remote.s3.secretAccessKey", "remote.s3.secretaccesskey", "remote.s3.sessionToken",
		"remote.s3.accessKeyId", "remote.my.dotted.name.token", "hooks.password",
		"x.api-key", "x.api_key", "x.github_token", "x.private-key", "x.credentials", "passwd",
	};
	static const char *const plain[] = {
		"remote.s3.url", "remote.s3.endpoint", "remote.token.url", "core.remote",
		"hooks.post-rollback", "metric.tokens/sec.goal", "stage.production.require", "",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
		if (!p4r_config_key_is_secret(secret[i]))
			fail_msg("'%s' is not taken for a credential", secret[i]);
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if (p4r_config_key_is_secret(plain[i]))
			fail_msg("'%s' is taken for a credential", plain[i]);
	assert_false(p4r_config_key_is_secret(NULL));
}

struct fx {
	char *dir, *local, *shared;
	p4r_config *cfg;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->dir = tu_mkdtemp();
	setenv("XDG_CONFIG_HOME", fx->dir, 1);
	fx->local = p4r_path_join(fx->dir, "config.local");
	fx->shared = p4r_path_join(fx->dir, "config");
	assert_int_equal(p4r_config_open(&fx->cfg, fx->dir), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	p4r_config_free(fx->cfg);
	free(fx->local);
	free(fx->shared);
	tu_rmtree_free(fx->dir);
	free(fx);
	return 0;
}

static unsigned mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

static void test_local_modes(void **state)
{
	struct fx *fx = *state;
	mode_t old = umask(022);
	char *v = NULL;

	assert_int_equal(p4r_config_set(fx->cfg, true, "remote.s3.secretAccessKey", "S3CR3T"), 0);
	assert_int_equal(mode_of(fx->local), 0600);
	/* the user's own mode survives a rewrite and an unset */
	assert_int_equal(chmod(fx->local, 0640), 0);
	assert_int_equal(p4r_config_set(fx->cfg, true, "remote.s3.sessionToken", "T0K"), 0);
	assert_int_equal(mode_of(fx->local), 0640);
	assert_int_equal(p4r_config_unset(fx->cfg, true, "remote.s3.sessionToken"), 0);
	assert_int_equal(mode_of(fx->local), 0640);
	assert_int_equal(p4r_config_get(fx->cfg, P4R_CONFIG_TRUSTED, "remote.s3.secretAccessKey", &v), 0);
	assert_string_equal(v, "S3CR3T");
	free(v);
	/* the committed file keeps git's ordinary mode */
	assert_int_equal(p4r_config_set(fx->cfg, false, "core.remote", "s3"), 0);
	assert_int_equal(mode_of(fx->shared), 0644);
	umask(old);
}

static void test_committed_refuses_credentials(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(p4r_config_set(fx->cfg, false, "remote.s3.secretAccessKey", "S3CR3T"), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "--local"));
	assert_int_equal(access(fx->shared, F_OK), -1);
	assert_int_equal(p4r_config_set(fx->cfg, false, "remote.s3.url", "s3://b/p"), 0);
}

static void test_local_symlink_refused(void **state)
{
	struct fx *fx = *state;
	char *target = p4r_path_join(fx->dir, "elsewhere");

	assert_int_equal(symlink(target, fx->local), 0);
	assert_int_equal(p4r_config_set(fx->cfg, true, "remote.s3.secretAccessKey", "S3CR3T"), P4R_EREFUSED);
	assert_non_null(strstr(p4r_error_message(), "not a regular file"));
	assert_int_equal(access(target, F_OK), -1);
	assert_int_equal(p4r_config_unset(fx->cfg, true, "a.b"), P4R_EREFUSED);
	free(target);
}

static void test_key_is_list(void **state)
{
	static const char *const list[] = {
		"stage.production.require", "stage.staging.require", "stage.development.require",
		"stage.validation.require", "stage.archived.require", "STAGE.production.REQUIRE",
		"Stage.staging.Require",
	};
	static const char *const single[] = {
		"stage.Production.require", "stage.prod.require", "stage.production", "stage..require",
		"stage.production.require.x", "stages.production.require", "core.autostage",
		"stage.production.requires", "x.stage.production.require", "stage", "", "safe.directory",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(list) / sizeof(list[0]); i++)
		if (!p4r_config_key_is_list(list[i]))
			fail_msg("'%s' is not taken for a multi-valued key", list[i]);
	for (i = 0; i < sizeof(single) / sizeof(single[0]); i++)
		if (p4r_config_key_is_list(single[i]))
			fail_msg("'%s' is taken for a multi-valued key", single[i]);
	assert_false(p4r_config_key_is_list(NULL));
}

/* Collects values "a|b|c" for test_multi_values. */
static int collect(const char *value, void *payload)
{
	char *buf = payload;
	size_t used = strlen(buf);

	snprintf(buf + used, 512 - used, "%s%s", used ? "|" : "", value);
	return 0;
}

static char *values_of(struct fx *fx, const char *key)
{
	static char buf[512];

	buf[0] = '\0';
	assert_int_equal(p4r_config_foreach_value(fx->cfg, key, collect, buf), 0);
	return buf;
}

static char *file_text(const char *path)
{
	char *text = NULL;
	size_t len = 0;

	assert_int_equal(p4r_read_file(&text, &len, path, 1 << 20), 0);
	return text;
}

static void test_multi_values(void **state)
{
	struct fx *fx = *state;
	const char *key = "stage.production.require";
	char *before, *after, *v = NULL;

	assert_string_equal(values_of(fx, key), "");
	assert_int_equal(p4r_config_add(fx->cfg, false, key, "f1>=production"), 0);
	assert_int_equal(p4r_config_add(fx->cfg, false, key, "eval:f1>=0.8"), 0);
	assert_int_equal(p4r_config_add(fx->cfg, false, key, "f1>=production"), 0);  /* kept twice */
	assert_int_equal(p4r_config_add(fx->cfg, true, key, "latency_ms<=20"), 0);
	assert_int_equal(mode_of(fx->local), 0600);
	/* every file, lowest priority first; within one, in file order */
	assert_string_equal(values_of(fx, key), "f1>=production|eval:f1>=0.8|f1>=production|latency_ms<=20");
	assert_int_equal(p4r_config_get(fx->cfg, P4R_CONFIG_ALL, key, &v), 0);
	assert_string_equal(v, "latency_ms<=20");
	free(v);
	/* one of several is not guessed: set and unset are refused, nothing written */
	before = file_text(fx->shared);
	assert_int_equal(p4r_config_unset(fx->cfg, false, key), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(), "config key 'stage.production.require' has 3 values in "
			    ".p4reg/config: --unset-all removes them all");
	assert_int_equal(p4r_config_set(fx->cfg, false, key, "f1>0"), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "--add appends one"));
	after = file_text(fx->shared);
	assert_string_equal(after, before);
	free(before);
	free(after);
	/* a single-valued key takes no --add */
	assert_int_equal(p4r_config_add(fx->cfg, false, "core.autostage", "true"), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "is not multi-valued"));
	/* one value in config.local: unset removes it; none left: not found */
	assert_int_equal(p4r_config_unset(fx->cfg, true, key), 0);
	assert_int_equal(p4r_config_unset(fx->cfg, true, key), P4R_ENOTFOUND);
	assert_string_equal(p4r_error_message(), "config key 'stage.production.require' is not set in "
			    ".p4reg/config.local");
	assert_int_equal(p4r_config_unset_all(fx->cfg, false, key), 0);
	assert_string_equal(values_of(fx, key), "");
	assert_int_equal(p4r_config_unset_all(fx->cfg, false, key), P4R_ENOTFOUND);
	/* one value: set replaces it, as git does */
	assert_int_equal(p4r_config_add(fx->cfg, false, key, "a>1"), 0);
	assert_int_equal(p4r_config_set(fx->cfg, false, key, "b>1"), 0);
	assert_string_equal(values_of(fx, key), "b>1");
}

static void test_add_keeps_trust_rules(void **state)
{
	struct fx *fx = *state;
	char *target = p4r_path_join(fx->dir, "elsewhere");

	assert_int_equal(symlink(target, fx->local), 0);
	assert_int_equal(p4r_config_add(fx->cfg, true, "stage.production.require", "f1>0"), P4R_EREFUSED);
	assert_int_equal(p4r_config_unset_all(fx->cfg, true, "stage.production.require"), P4R_EREFUSED);
	assert_int_equal(access(target, F_OK), -1);
	free(target);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_is_secret),
		T(test_local_modes),
		T(test_committed_refuses_credentials),
		T(test_local_symlink_refused),
		cmocka_unit_test(test_key_is_list),
		T(test_multi_values),
		T(test_add_keeps_trust_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
