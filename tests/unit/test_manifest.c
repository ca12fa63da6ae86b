/* Unit tests for manifest.c: the canonical bytes of the test vector in
 * docs/formats.md, the round trip, and every way a hostile manifest is
 * refused. */
#include "testutil.h"
#include "p4reg/manifest.h"
#include "p4reg/error.h"
#include "p4reg/registry.h"
#include "p4reg/repo.h"
#include "p4reg/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OID_CFG "c55c55d8d1d2f97cc896daa9cc742c7556ddec76291eea093e5a2f7689c5aa6e"
#define OID_RUN "299001868fb8c02fd431c336c6d058f5558c5dff5b5af5e6fe04b870a6a9cbba"
#define OID_W "9a129038d9a00aed0cf6a7ea059ca50a813449061ab87848cf1a13eafdf33b2c"

/* docs/formats.md, "Folder manifests": these bytes, this oid */
static const char vector[] =
	"p4reg-manifest 1\n"
	"644 " OID_CFG " 21 config.json\n"
	"755 " OID_RUN " 18 scripts/run.sh\n"
	"644 " OID_W " 7 weights/model-00001-of-00001.safetensors\n";
#define VECTOR_OID "a3ee381bef52a56dded8e3ac341fcc738f9a497f221f3bc6f82228a9b18755d1"

static p4r_oid oid_of(const char *hex)
{
	p4r_oid o;

	memset(&o, 0, sizeof(o));
	memcpy(o.hex, hex, 64);
	return o;
}

static void test_vector(void **state)
{
	p4r_manifest m = { 0 };
	p4r_oid a = oid_of(OID_W), b = oid_of(OID_RUN), c = oid_of(OID_CFG), got;
	char *buf;
	size_t len;

	(void)state;
	/* added in any order, encoded sorted */
	assert_int_equal(p4r_manifest_add(&m, "weights/model-00001-of-00001.safetensors", &a, 7, false), 0);
	assert_int_equal(p4r_manifest_add(&m, "scripts/run.sh", &b, 18, true), 0);
	assert_int_equal(p4r_manifest_add(&m, "config.json", &c, 21, false), 0);
	assert_int_equal(p4r_manifest_encode(&m, &buf, &len), 0);
	assert_int_equal(len, strlen(vector));
	assert_memory_equal(buf, vector, len);
	assert_int_equal(p4r_hash_buffer(&got, buf, len), 0);
	assert_string_equal(got.hex, VECTOR_OID);
	assert_int_equal(p4r_manifest_total(&m), 46);
	free(buf);
	p4r_manifest_clear(&m);

	assert_int_equal(p4r_manifest_decode(&m, vector, strlen(vector), "manifest"), 0);
	assert_int_equal(m.n, 3);
	assert_non_null(p4r_manifest_find(&m, "scripts/run.sh"));
	assert_true(p4r_manifest_find(&m, "scripts/run.sh")->exec);
	assert_int_equal(p4r_manifest_find(&m, "config.json")->size, 21);
	assert_null(p4r_manifest_find(&m, "scripts"));
	assert_null(p4r_manifest_find(&m, "config.jso"));
	p4r_manifest_clear(&m);
}

static void expect_refused(const char *text, const char *message)
{
	p4r_manifest m = { 0 };

	assert_int_equal(p4r_manifest_decode(&m, text, strlen(text), "manifest of m@1"), P4R_EINTEGRITY);
	assert_int_equal(m.n, 0);
	if (strcmp(p4r_error_message(), message)) {
		fprintf(stderr, "got:  %s\nwant: %s\n", p4r_error_message(), message);
		fail();
	}
}

#define LINE(mode, oid, size, path) mode " " oid " " size " " path "\n"
#define H "p4reg-manifest 1\n"

static void test_hostile(void **state)
{
	(void)state;
	expect_refused("", "invalid manifest of m@1 line 1: expected 'p4reg-manifest 1'");
	expect_refused("p4reg-manifest 2\n", "invalid manifest of m@1 line 1: expected 'p4reg-manifest 1'");
	expect_refused(H, "invalid manifest of m@1 line 1: no file");
	expect_refused(H LINE("644", OID_CFG, "21", "a") LINE("644", OID_CFG, "21", "a"),
		       "invalid manifest of m@1 line 3: 'a' out of order or repeated");
	expect_refused(H LINE("644", OID_CFG, "21", "b") LINE("644", OID_CFG, "21", "a"),
		       "invalid manifest of m@1 line 3: 'a' out of order or repeated");
	expect_refused(H LINE("644", OID_CFG, "21", "a") LINE("644", OID_CFG, "21", "a-x")
		       LINE("644", OID_CFG, "21", "a/b"),
		       "invalid manifest of m@1 line 4: 'a/b' is inside a file's path");
	expect_refused(H LINE("600", OID_CFG, "21", "a"),
		       "invalid manifest of m@1 line 2: expected '644' or '755' and an object");
	expect_refused(H LINE("644", "C55c55d8d1d2f97cc896daa9cc742c7556ddec76291eea093e5a2f7689c5aa6e", "21", "a"),
		       "invalid manifest of m@1 line 2: malformed oid");
	expect_refused(H LINE("644", OID_CFG, "021", "a"), "invalid manifest of m@1 line 2: malformed size");
	expect_refused(H LINE("644", OID_CFG, "-1", "a"), "invalid manifest of m@1 line 2: malformed size");
	expect_refused(H LINE("644", OID_CFG, "1125899906842625", "a"),
		       "invalid manifest of m@1 line 2: malformed size");
	expect_refused(H "644 " OID_CFG " 21 a", "invalid manifest of m@1 line 2: missing final newline");
	expect_refused(H LINE("644", OID_CFG, "21", "../etc/passwd"),
		       "invalid manifest of m@1 line 2: '../etc/passwd' cannot be a file of a model folder");
	expect_refused(H LINE("644", OID_CFG, "21", "/abs"),
		       "invalid manifest of m@1 line 2: '/abs' cannot be a file of a model folder");
	expect_refused(H LINE("644", OID_CFG, "21", "x/.GIT/config"),
		       "invalid manifest of m@1 line 2: 'x/.GIT/config' cannot be a file of a model folder");
	expect_refused(H LINE("644", OID_CFG, "21", ".p4reg/registry.db"),
		       "invalid manifest of m@1 line 2: '.p4reg/registry.db' cannot be a file of a model folder");
	expect_refused(H LINE("644", OID_CFG, "21", "a//b"),
		       "invalid manifest of m@1 line 2: 'a//b' cannot be a file of a model folder");
	expect_refused(H LINE("644", OID_CFG, "21", "a\rb"),
		       "invalid manifest of m@1 line 2: 'a\rb' cannot be a file of a model folder");
	expect_refused(H LINE("644", OID_CFG, "21", ""), "invalid manifest of m@1 line 2: malformed path");
}

static void test_nul_and_paths(void **state)
{
	static const char with_nul[] = H "644 " OID_CFG " 21 a\0b\n";
	p4r_manifest m = { 0 };
	p4r_oid o = oid_of(OID_CFG);
	char *buf;
	size_t len;

	(void)state;
	assert_int_equal(p4r_manifest_decode(&m, with_nul, sizeof(with_nul) - 1, "manifest"), P4R_EINTEGRITY);
	assert_true(p4r_manifest_path_valid(".gitattributes"));
	assert_true(p4r_manifest_path_valid("onnx/model.onnx_data"));
	assert_false(p4r_manifest_path_valid("a/"));
	assert_false(p4r_manifest_path_valid("a/./b"));
	assert_false(p4r_manifest_path_valid("a\\b"));
	/* encode refuses what decode would: empty, repeated, file-and-folder */
	assert_int_equal(p4r_manifest_encode(&m, &buf, &len), P4R_EUSAGE);
	assert_int_equal(p4r_manifest_add(&m, "a", &o, 1, false), 0);
	assert_int_equal(p4r_manifest_add(&m, "a/b", &o, 1, false), 0);
	assert_int_equal(p4r_manifest_encode(&m, &buf, &len), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(), "'a/b' is both a file and inside a folder of that name");
	p4r_manifest_clear(&m);
	assert_int_equal(p4r_manifest_add(&m, "..", &o, 1, false), P4R_EUSAGE);
	assert_int_equal(p4r_manifest_add(&m, "a", &o, -1, false), P4R_EUSAGE);
	p4r_manifest_clear(&m);
}

/* Many files under one folder: the folder check stays fast and right. */
static void test_many(void **state)
{
	p4r_manifest m = { 0 }, back = { 0 };
	p4r_oid o = oid_of(OID_W);
	char path[64], *buf;
	size_t len, i;

	(void)state;
	for (i = 0; i < 50000; i++) {
		snprintf(path, sizeof(path), "m/shard-%06zu.bin", 49999 - i);
		assert_int_equal(p4r_manifest_add(&m, path, &o, (int64_t)i, false), 0);
	}
	assert_int_equal(p4r_manifest_encode(&m, &buf, &len), 0);
	assert_int_equal(p4r_manifest_decode(&back, buf, len, "manifest"), 0);
	assert_int_equal(back.n, 50000);
	assert_string_equal(back.v[0].path, "m/shard-000000.bin");
	assert_int_equal(p4r_manifest_find(&back, "m/shard-012345.bin")->size, 49999 - 12345);
	free(buf);
	p4r_manifest_clear(&m);
	p4r_manifest_clear(&back);
}

/* Stored as an object, loaded back from the rows or, without them, from
 * the object; a changed object is an integrity error. */
static void test_store_and_load(void **state)
{
	char *top = tu_mkdtemp();
	p4r_repo *repo = tu_repo_new(top, "r");
	p4r_manifest m = { 0 }, back = { 0 };
	p4r_oid a = oid_of(OID_W), b = oid_of(OID_RUN), c = oid_of(OID_CFG), oid;
	int64_t size;

	(void)state;
	assert_int_equal(p4r_manifest_add(&m, "weights/model-00001-of-00001.safetensors", &a, 7, false), 0);
	assert_int_equal(p4r_manifest_add(&m, "scripts/run.sh", &b, 18, true), 0);
	assert_int_equal(p4r_manifest_add(&m, "config.json", &c, 21, false), 0);
	assert_int_equal(p4r_manifest_store(repo, &m, &oid, &size), 0);
	assert_string_equal(oid.hex, VECTOR_OID);
	assert_int_equal(size, (int64_t)strlen(vector));
	assert_true(p4r_store_has(p4r_repo_store(repo), &oid));
	/* no rows yet: read from the object, rows recorded */
	assert_int_equal(p4r_manifest_load(repo, &oid, "manifest of m@1", &back), 0);
	assert_int_equal(back.n, 3);
	assert_string_equal(back.v[1].path, "scripts/run.sh");
	p4r_manifest_clear(&back);
	assert_int_equal(p4r_registry_manifest_get(p4r_repo_registry(repo), &oid, &back), 0);
	assert_int_equal(back.n, 3);
	p4r_manifest_clear(&back);
	/* an unknown manifest that is not downloaded */
	assert_int_equal(p4r_manifest_load(repo, &a, "manifest of m@2", &back), P4R_ENOTFOUND);
	p4r_manifest_clear(&m);
	p4r_repo_free(repo);
	tu_rmtree_free(top);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_nul_and_paths),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_store_and_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
