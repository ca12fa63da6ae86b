/* Unit tests of the push and fetch operations (ops/push.c, ops/fetch.c)
 * against a folder remote in a temporary folder: what one repository
 * pushes, a second one fetches -- versions and objects; a corrupt object
 * on the remote is refused and nothing of it is stored. */
#include "testutil.h"
#include "p4reg/config.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/ops/fetch.h"
#include "p4reg/ops/push.h"
#include "p4reg/registry.h"
#include "p4reg/repo.h"
#include "p4reg/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char BYTES[] = "model bytes, version one";

struct fx {
	char *top;        /* the test's folder */
	char *remote;     /* TOP/remote: the folder remote */
	p4r_repo *a, *b;  /* A pushes, B fetches */
	p4r_oid v1;       /* m@1 in A */
	int notes;        /* report callbacks heard */
	uint64_t last_done, last_total;
};

static p4r_repo *make_repo(struct fx *fx, const char *name)
{
	char *dir = p4r_path_join(fx->top, name);
	p4r_repo *repo = NULL;
	char key[64];

	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(p4r_repo_init(dir, NULL), 0);
	assert_int_equal(p4r_repo_open(&repo, dir), 0);
	snprintf(key, sizeof(key), "remote.origin.url");
	assert_int_equal(p4r_config_set(p4r_repo_config(repo), false, key, fx->remote), 0);
	free(dir);
	return repo;
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	p4r_version_input in = { .model = "m", .path = "m.bin", .author = "t", .git_dirty = -1 };

	fx->top = tu_mkdtemp();
	fx->remote = p4r_path_join(fx->top, "remote");
	assert_int_equal(mkdir(fx->remote, 0755), 0); /* empty: push may mark it */
	fx->a = make_repo(fx, "a");
	fx->b = make_repo(fx, "b");
	assert_int_equal(p4r_store_insert_buffer(p4r_repo_store(fx->a), BYTES, sizeof(BYTES) - 1, &fx->v1), 0);
	in.oid = fx->v1;
	in.size = sizeof(BYTES) - 1;
	assert_int_equal(p4r_registry_add_version(p4r_repo_registry(fx->a), &in, NULL, NULL), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	p4r_repo_free(fx->a);
	p4r_repo_free(fx->b);
	free(fx->remote);
	tu_rmtree_free(fx->top);
	free(fx);
	return 0;
}

static void heard_progress(const char *label, uint64_t done, uint64_t total, void *payload)
{
	struct fx *fx = payload;

	assert_true(!strcmp(label, "push") || !strcmp(label, "fetch"));
	fx->last_done = done;
	fx->last_total = total;
}

static void heard_text(const char *text, void *payload)
{
	struct fx *fx = payload;

	(void)text;
	fx->notes++;
}

static p4r_op_report report_of(struct fx *fx)
{
	return (p4r_op_report){ .progress = heard_progress, .warn = heard_text, .note = heard_text,
				.payload = fx };
}

static void push_a(struct fx *fx)
{
	p4r_op_report rep = report_of(fx);
	p4r_push_opts po = { .remote = "origin" };
	p4r_push_result pr;

	assert_int_equal(p4r_push(fx->a, &po, &rep, &pr), 0);
	assert_string_equal(pr.remote, "origin");
	assert_int_equal(pr.sync.objects_sent, 1);
	assert_int_equal(pr.sync.bytes_sent, sizeof(BYTES) - 1);
	assert_int_equal(pr.sync.events_published, 1);
	assert_int_equal(pr.sync.batch_seq, 1);
	assert_int_equal(fx->last_done, sizeof(BYTES) - 1);
	p4r_push_result_free(&pr);
}

static char *remote_object(struct fx *fx)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/objects/%.2s/%.2s/%s", fx->remote, fx->v1.hex, fx->v1.hex + 2,
			     fx->v1.hex) > 0);
	return p;
}

/* Push from A, fetch with --objects into B: the version and its bytes arrive. */
static void test_push_then_fetch(void **state)
{
	struct fx *fx = *state;
	p4r_op_report rep = report_of(fx);
	p4r_fetch_opts fo = { .remote = "origin", .all_objects = true };
	p4r_fetch_result fr;
	p4r_version v = { 0 };
	char *obj = remote_object(fx), *back;
	struct stat st;
	size_t len;

	push_a(fx);
	assert_int_equal(lstat(obj, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0444);
	back = tu_slurp(obj, &len);
	assert_int_equal(len, sizeof(BYTES) - 1);
	assert_memory_equal(back, BYTES, len);
	free(back);

	assert_int_equal(p4r_fetch(fx->b, &fo, &rep, &fr), 0);
	assert_string_equal(fr.remote, "origin");
	assert_int_equal(fr.skip.seq, 0);
	assert_int_equal(fr.sync.batches_applied, 1);
	assert_int_equal(fr.sync.events_applied, 1);
	assert_int_equal(fr.sync.objects_received, 1);
	assert_int_equal(fr.sync.bytes_received, sizeof(BYTES) - 1);
	p4r_fetch_result_free(&fr);
	assert_int_equal(p4r_registry_version_get(p4r_repo_registry(fx->b), "m", 1, &v), 0);
	assert_true(p4r_oid_equal(&v.oid, &fx->v1));
	assert_int_equal(v.size, sizeof(BYTES) - 1);
	p4r_version_clear(&v);
	assert_int_equal(p4r_store_verify(p4r_repo_store(fx->b), &fx->v1), 0);

	/* a second fetch finds nothing new, and the object already here */
	assert_int_equal(p4r_fetch(fx->b, &fo, &rep, &fr), 0);
	assert_int_equal(fr.sync.batches_applied, 0);
	assert_int_equal(fr.sync.objects_received, 0);
	assert_int_equal(fr.sync.objects_present, 1);
	p4r_fetch_result_free(&fr);
	free(obj);
}

/* The remote's copy has other bytes of the same size: the fetch of the
 * object is P4R_EINTEGRITY and B's store stays without it. */
static void test_fetch_corrupt_object(void **state)
{
	struct fx *fx = *state;
	p4r_op_report rep = report_of(fx);
	p4r_fetch_opts fo = { .remote = "origin", .all_objects = true };
	p4r_fetch_result fr;
	char *obj = remote_object(fx), *tmp = p4r_path_join(p4r_repo_meta(fx->b), "tmp");
	char bad[sizeof(BYTES) - 1];
	FILE *f;

	push_a(fx);
	memset(bad, 'x', sizeof(bad));
	assert_int_equal(chmod(obj, 0644), 0);
	assert_non_null(f = fopen(obj, "wb"));
	assert_int_equal(fwrite(bad, 1, sizeof(bad), f), sizeof(bad));
	fclose(f);

	assert_int_equal(p4r_fetch(fx->b, &fo, &rep, &fr), P4R_EINTEGRITY);
	assert_non_null(strstr(p4r_error_message(), "not stored"));
	p4r_error_clear();
	p4r_fetch_result_free(&fr);
	assert_false(p4r_store_has(p4r_repo_store(fx->b), &fx->v1));
	/* no download left behind in .p4reg/tmp (the sync lock stays) */
	{
		char cmd[4200];

		snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s' | grep -v '^sync.lock$')\"", tmp);
		assert_int_equal(system(cmd), 0);
	}
	free(tmp);
	free(obj);
}

/* A model that does not exist refuses the push before the remote is touched. */
static void test_push_unknown_model(void **state)
{
	struct fx *fx = *state;
	char *models[] = { "nope" };
	p4r_push_opts po = { .remote = "origin", .models = models, .n_models = 1 };
	p4r_push_result pr;
	char *marker = p4r_path_join(fx->remote, "p4reg-remote");
	struct stat st;

	assert_int_equal(p4r_push(fx->a, &po, NULL, &pr), P4R_ENOTFOUND);
	p4r_error_clear();
	p4r_push_result_free(&pr);
	assert_int_equal(lstat(marker, &st), -1);
	free(marker);
}

/* A remote name that is not configured. */
static void test_unknown_remote(void **state)
{
	struct fx *fx = *state;
	p4r_push_opts po = { .remote = "elsewhere" };
	p4r_fetch_opts fo = { .remote = "elsewhere" };
	p4r_push_result pr;
	p4r_fetch_result fr;

	assert_int_equal(p4r_push(fx->a, &po, NULL, &pr), P4R_ENOTFOUND);
	assert_non_null(strstr(p4r_error_message(), "elsewhere"));
	p4r_push_result_free(&pr);
	assert_int_equal(p4r_fetch(fx->b, &fo, NULL, &fr), P4R_ENOTFOUND);
	p4r_error_clear();
	p4r_fetch_result_free(&fr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_push_then_fetch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_corrupt_object, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_unknown_model, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_remote, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
