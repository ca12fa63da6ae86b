/* Unit tests of the remote operations (ops/remote.c): add writes exactly
 * the remote.NAME.* keys (and core.remote with -d), a name already there
 * or an invalid one changes nothing, list reports each remote once with
 * its default, remove takes every key away, check probes a folder. */
#include "testutil.h"
#include "p4reg/config.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/ops/remote.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct fx {
	char *top;
	p4r_repo *repo;
	char *config;       /* the repository's .p4reg/config */
	int notes, warns;   /* report lines heard */
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	fx->top = tu_mkdtemp();
	fx->repo = tu_repo_new(fx->top, "r");
	fx->config = p4r_path_join(p4r_repo_meta(fx->repo), "config");
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	p4r_repo_free(fx->repo);
	free(fx->config);
	tu_rmtree_free(fx->top);
	free(fx);
	return 0;
}

static void heard_note(const char *text, void *payload)
{
	struct fx *fx = payload;

	assert_non_null(strstr(text, "concurrent pushes are safe"));
	fx->notes++;
}

static void heard_warn(const char *text, void *payload)
{
	struct fx *fx = payload;

	(void)text;
	fx->warns++;
}

static p4r_op_report report_of(struct fx *fx)
{
	return (p4r_op_report){ .note = heard_note, .warn = heard_warn, .payload = fx };
}

/* How many keys of the configuration start with PREFIX. */
struct prefix_count {
	const char *prefix;
	size_t n;
};

static int count_prefix(const char *key, const char *value, void *payload)
{
	struct prefix_count *c = payload;

	(void)value;
	if (!strncmp(key, c->prefix, strlen(c->prefix)))
		c->n++;
	return 0;
}

static size_t keys_with(struct fx *fx, const char *prefix)
{
	struct prefix_count c = { .prefix = prefix };

	assert_int_equal(p4r_config_foreach(p4r_repo_config(fx->repo), count_prefix, &c), 0);
	return c.n;
}

static char *get(struct fx *fx, const char *key)
{
	char *v = NULL;

	if (p4r_config_get(p4r_repo_config(fx->repo), P4R_CONFIG_ALL, key, &v) < 0) {
		p4r_error_clear();
		return NULL;
	}
	return v;
}

/* Adds folder remote NAME at TOP/NAME (made by the add). */
static void add_folder(struct fx *fx, const char *name, bool deflt)
{
	p4r_op_report rep = report_of(fx);
	char *dir = p4r_path_join(fx->top, name);
	p4r_remote_add_opts o = { .name = name, .url = dir, .make_default = deflt };
	p4r_remote_add_result out;

	assert_int_equal(p4r_remote_add(fx->repo, &o, &rep, &out), 0);
	assert_string_equal(out.url, dir);
	assert_true(out.conditional_writes);
	p4r_remote_add_result_free(&out);
	free(dir);
}

/* A folder remote: remote.NAME.url is the folder, absolute, and it is the
 * only key of the remote; -d sets core.remote; the probe's note is heard. */
static void test_add_folder(void **state)
{
	struct fx *fx = *state;
	char *dir = p4r_path_join(fx->top, "store"), *url, *deflt, real[PATH_MAX];
	struct stat st;

	add_folder(fx, "store", true);
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_non_null(realpath(dir, real));
	assert_non_null(url = get(fx, "remote.store.url"));
	assert_string_equal(url, real);
	assert_int_equal(keys_with(fx, "remote.store."), 1);
	assert_non_null(deflt = get(fx, "core.remote"));
	assert_string_equal(deflt, "store");
	assert_int_equal(fx->notes, 1);
	assert_int_equal(fx->warns, 0);
	free(deflt);
	free(url);
	free(dir);
}

/* A name already configured: P4R_EEXISTS, the config file's bytes unchanged. */
static void test_add_existing(void **state)
{
	struct fx *fx = *state;
	char *other = p4r_path_join(fx->top, "other"), *before, *after;
	p4r_remote_add_opts o = { .name = "store", .url = other, .make_default = true };
	p4r_remote_add_result out;
	size_t n1, n2;
	struct stat st;

	add_folder(fx, "store", false);
	before = tu_slurp(fx->config, &n1);
	assert_int_equal(p4r_remote_add(fx->repo, &o, NULL, &out), P4R_EEXISTS);
	assert_string_equal(p4r_error_message(), "remote 'store' already exists");
	p4r_error_clear();
	p4r_remote_add_result_free(&out);
	after = tu_slurp(fx->config, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(before, after, n1);
	assert_int_equal(lstat(other, &st), -1); /* no folder made either */
	free(before);
	free(after);
	free(other);
}

/* An invalid name: P4R_EUSAGE, nothing written. */
static void test_add_invalid_name(void **state)
{
	struct fx *fx = *state;
	char *before = tu_slurp(fx->config, NULL), *after;
	p4r_remote_add_opts o = { .name = "a.b", .url = "/nowhere" };
	p4r_remote_add_result out;

	assert_int_equal(p4r_remote_add(fx->repo, &o, NULL, &out), P4R_EUSAGE);
	p4r_error_clear();
	p4r_remote_add_result_free(&out);
	after = tu_slurp(fx->config, NULL);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

/* Two remotes, in the order added, the default marked. */
static void test_list(void **state)
{
	struct fx *fx = *state;
	p4r_remote_list_result l;
	char *dir = p4r_path_join(fx->top, "two"), real[PATH_MAX];

	assert_int_equal(p4r_remote_list(fx->repo, &l), 0);
	assert_int_equal(l.n, 0);
	p4r_remote_list_result_free(&l);
	add_folder(fx, "one", false);
	add_folder(fx, "two", true);
	assert_int_equal(p4r_remote_list(fx->repo, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].name, "one");
	assert_false(l.v[0].is_default);
	assert_string_equal(l.v[1].name, "two");
	assert_non_null(realpath(dir, real));
	assert_string_equal(l.v[1].url, real);
	assert_true(l.v[1].is_default);
	p4r_remote_list_result_free(&l);
	free(dir);
}

/* remove takes every remote.NAME.* key and core.remote; the other remote
 * stays; a second remove is P4R_ENOTFOUND. */
static void test_remove(void **state)
{
	struct fx *fx = *state;
	char *v;

	add_folder(fx, "one", false);
	add_folder(fx, "two", true);
	assert_int_equal(p4r_config_set(p4r_repo_config(fx->repo), false, "remote.two.jobs", "3"), 0);
	assert_int_equal(p4r_remote_remove(fx->repo, "two"), 0);
	assert_int_equal(keys_with(fx, "remote.two."), 0);
	assert_null(v = get(fx, "core.remote"));
	assert_int_equal(keys_with(fx, "remote.one."), 1);
	assert_int_equal(p4r_remote_remove(fx->repo, "two"), P4R_ENOTFOUND);
	assert_string_equal(p4r_error_message(), "no remote named 'two'");
	p4r_error_clear();
}

/* check probes the default remote: a folder refuses the second create. */
static void test_check(void **state)
{
	struct fx *fx = *state;
	p4r_op_report rep = report_of(fx);
	p4r_remote_check_result out;

	add_folder(fx, "store", true);
	fx->notes = 0;
	assert_int_equal(p4r_remote_check(fx->repo, NULL, &rep, &out), 0);
	assert_string_equal(out.name, "store");
	assert_true(out.conditional_writes);
	assert_int_equal(fx->notes, 1);
	p4r_remote_check_result_free(&out);
	assert_int_equal(p4r_remote_check(fx->repo, "nope", &rep, &out), P4R_ENOTFOUND);
	p4r_error_clear();
	p4r_remote_check_result_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_folder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_existing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_invalid_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
