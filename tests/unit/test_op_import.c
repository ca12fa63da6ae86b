/* Unit tests for p4r_import_git_lfs (ops/import.c), called directly on
 * histories the git CLI commits (pointer blobs written as plain files, the
 * objects put in .git/lfs/objects by hand, so no git-lfs is needed): what
 * is new, had, refused or failed; revert; an earlier add of the bytes; a
 * deleted version; bytes that come later; a dry run that changes nothing;
 * p4r_import_dvc on a DVC cache the test lays out (files and a directory
 * output); and the known-version index both imports share. */
#include "testutil.h"
#include "ops/import_priv.h"
#include "p4reg/deletion.h"
#include "p4reg/dvc.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/lfs.h"
#include "p4reg/manifest.h"
#include "p4reg/ops/import.h"
#include "p4reg/registry.h"
#include "p4reg/repo.h"
#include "p4reg/store.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int setup(void **state)
{
	tu_fx *fx = calloc(1, sizeof(*fx));

	fx->repo = tu_repo_isolated(&fx->dir, NULL);
	p4r_repo_free(fx->repo);
	tu_sh(fx->dir, "git init -q -b main . && git config user.name t && git config user.email t@example.com");
	assert_int_equal(p4r_repo_open(&fx->repo, fx->dir), 0);
	*state = fx;
	return 0;
}

/* BYTES as Git LFS's object OID in .git/lfs/objects (other bytes than
 * OID's make a corrupt one). */
static void lfs_put(tu_fx *fx, const p4r_oid *oid, const char *bytes)
{
	char rel[128];

	snprintf(rel, sizeof(rel), ".git/lfs/objects/%.2s/%.2s", oid->hex, oid->hex + 2);
	tu_sh(fx->dir, "mkdir -p %s", rel);
	snprintf(rel + strlen(rel), sizeof(rel) - strlen(rel), "/%s", oid->hex);
	free(tu_write(fx->dir, rel, bytes, strlen(bytes)));
}

/* Commits the pointer of TEXT at REL (by AUTHOR); with LOCAL, Git LFS has
 * its object. OID gets its oid. */
static void commit_pointer(tu_fx *fx, const char *rel, const char *text, bool local, p4r_oid *oid)
{
	char buf[P4R_LFS_POINTER_MAX + 1];
	size_t len;

	assert_int_equal(p4r_hash_buffer(oid, text, strlen(text)), 0);
	assert_int_equal(p4r_lfs_pointer_format(buf, sizeof(buf), &len, oid, strlen(text)), 0);
	free(tu_write(fx->dir, rel, buf, len));
	if (local)
		lfs_put(fx, oid, text);
	tu_sh(fx->dir, "git add '%s' && GIT_AUTHOR_NAME=Ann GIT_AUTHOR_EMAIL=ann@example.com "
	   "git commit -qm 'set %s'", rel, text);
}

static const p4r_import_row *row_of(const p4r_import_result *r, const char *model, int64_t version)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (!strcmp(r->rows[i].model, model) && r->rows[i].version == version)
			return &r->rows[i];
	return NULL;
}

static void test_new_had_refused_failed(void **state)
{
	tu_fx *fx = *state;
	p4r_import_opts opts = { 0 };
	p4r_import_result res;
	p4r_store *store = p4r_repo_store(fx->repo);
	p4r_oid x, y, x2, n1;
	const p4r_import_row *r;
	char *before, *after;
	p4r_version v;

	commit_pointer(fx, "m.bin", "bytes x", true, &x);
	commit_pointer(fx, "m.bin", "bytes y", false, &y);   /* not fetched here */
	commit_pointer(fx, "m.bin", "bytes x", true, &x2);   /* a revert */
	commit_pointer(fx, "n.bin", "bytes n", true, &n1);
	lfs_put(fx, &n1, "bytes N");                          /* corrupt */
	free(tu_write(fx->dir, "h.bin", "version https://git-lfs.github.com/spec/v1\nsize 3\n", 50));
	tu_sh(fx->dir, "git add h.bin && git commit -qm hostile");

	/* a dry run: the exact numbers, nothing changed, nothing read */
	before = tu_registry_dump(p4r_repo_registry(fx->repo));
	opts.dry_run = true;
	assert_int_equal(p4r_import_git_lfs(fx->repo, &opts, NULL, &res), 0);
	assert_int_equal(res.registered, 4); /* the corrupt object is not read */
	assert_int_equal(res.code, P4R_EINTEGRITY);
	p4r_import_result_free(&res);
	after = tu_registry_dump(p4r_repo_registry(fx->repo));
	assert_string_equal(before, after);
	free(after);
	assert_false(p4r_store_has(store, &x));

	opts.dry_run = false;
	assert_int_equal(p4r_import_git_lfs(fx->repo, &opts, NULL, &res), 0);
	assert_int_equal(res.registered, 3);
	assert_int_equal(res.models, 1);
	assert_int_equal(res.not_downloaded, 1);
	assert_int_equal(res.refused, 1);
	assert_int_equal(res.already, 0);
	assert_int_equal(res.code, P4R_EINTEGRITY);
	assert_non_null(r = row_of(&res, "m", 1));
	assert_true(p4r_oid_equal(&r->oid, &x) && r->downloaded && r->state == P4R_IMPORT_REGISTERED);
	assert_string_equal(r->author, "Ann <ann@example.com>");
	assert_string_equal(r->message, "set bytes x");
	assert_non_null(r = row_of(&res, "m", 2));
	assert_true(p4r_oid_equal(&r->oid, &y) && !r->downloaded);
	assert_non_null(r = row_of(&res, "m", 3));
	assert_true(p4r_oid_equal(&r->oid, &x));
	assert_non_null(r = row_of(&res, "", 0));
	assert_int_equal(r->state, P4R_IMPORT_REFUSED);
	assert_string_equal(r->path, "h.bin");
	assert_string_equal(r->why, "not a Git LFS pointer: missing or misplaced key");
	assert_int_equal(res.nfailures, 1);
	assert_string_equal(res.failures[0].model, "n");
	assert_int_equal(res.failures[0].code, P4R_EINTEGRITY);
	assert_non_null(strstr(res.failures[0].why, "is corrupt: it hashes to"));
	p4r_import_result_free(&res);
	assert_int_equal(p4r_registry_model_get(p4r_repo_registry(fx->repo), "n", &(p4r_model){ 0 }), P4R_ENOTFOUND);
	assert_true(p4r_store_has(store, &x));
	assert_false(p4r_store_has(store, &y));
	assert_int_equal(p4r_registry_version_get(p4r_repo_registry(fx->repo), "m", 3, &v), 0);
	assert_non_null(v.git_commit);
	assert_null(v.git_branch);
	p4r_version_clear(&v);

	/* again: nothing new; y's bytes arrive, n's are right now */
	lfs_put(fx, &y, "bytes y");
	lfs_put(fx, &n1, "bytes n");
	assert_int_equal(p4r_import_git_lfs(fx->repo, &opts, NULL, &res), 0);
	assert_int_equal(res.already, 3);
	assert_int_equal(res.stored, 1);
	assert_int_equal(res.registered, 1);
	assert_non_null(r = row_of(&res, "m", 2));
	assert_int_equal(r->state, P4R_IMPORT_STORED);
	assert_non_null(r = row_of(&res, "n", 1));
	assert_int_equal(r->state, P4R_IMPORT_REGISTERED);
	assert_int_equal(res.nfailures, 0);
	assert_int_equal(res.code, P4R_EINTEGRITY); /* the hostile blob stays refused */
	p4r_import_result_free(&res);
	assert_true(p4r_store_has(store, &y));
	assert_int_equal(p4r_store_verify(store, &y), 0);
	free(before);
}

static void test_earlier_add_and_deleted(void **state)
{
	tu_fx *fx = *state;
	p4r_registry *reg = p4r_repo_registry(fx->repo);
	p4r_import_opts opts = { 0 };
	p4r_import_result res;
	p4r_delete_req del = { .model = "m", .number = 1, .actor = "t" };
	p4r_version_input in = { .model = "m", .path = "m.bin", .size = 7, .author = "t", .git_dirty = -1 };
	p4r_oid x, y;
	char *path;

	/* m@1 has x's bytes, registered before any commit named them */
	assert_int_equal(p4r_hash_buffer(&in.oid, "bytes x", 7), 0);
	assert_int_equal(p4r_registry_add_version(reg, &in, NULL, NULL), 0);
	commit_pointer(fx, "m.bin", "bytes x", true, &x);
	commit_pointer(fx, "m.bin", "bytes y", true, &y);
	assert_int_equal(p4r_import_git_lfs(fx->repo, &opts, NULL, &res), 0);
	assert_int_equal(res.already, 1);
	assert_int_equal(res.registered, 1);
	/* the bytes the registry lacked come from Git LFS */
	assert_int_equal(res.stored, 1);
	assert_int_equal(res.rows[0].state, P4R_IMPORT_STORED);
	assert_int_equal(res.rows[0].version, 1);
	assert_int_equal(res.rows[1].state, P4R_IMPORT_REGISTERED);
	assert_int_equal(res.rows[1].version, 2);
	assert_true(p4r_oid_equal(&res.rows[1].oid, &y));
	p4r_import_result_free(&res);

	/* a deleted version was imported all the same */
	del.number = 2;
	assert_int_equal(p4r_registry_version_delete(reg, &del), 0);
	assert_int_equal(p4r_import_git_lfs(fx->repo, &opts, NULL, &res), 0);
	assert_int_equal(res.already, 2);
	assert_int_equal(res.registered, 0);
	assert_int_equal(res.code, 0);
	p4r_import_result_free(&res);

	/* --name for a path bound to another model: that model fails */
	assert_non_null(path = p4r_path_join(fx->dir, "m.bin"));
	opts.name = "other";
	opts.paths = (const char *[]){ path };
	opts.npaths = 1;
	assert_int_equal(p4r_import_git_lfs(fx->repo, &opts, NULL, &res), 0);
	assert_int_equal(res.nfailures, 1);
	assert_int_equal(res.code, P4R_EUSAGE);
	assert_string_equal(res.failures[0].why, "'m.bin' is bound to model 'm', not 'other'");
	p4r_import_result_free(&res);
	free(path);
}

static void test_paths_and_errors(void **state)
{
	tu_fx *fx = *state;
	p4r_import_opts opts = { 0 };
	p4r_import_result res;
	p4r_oid a, b;
	char *cwd = getcwd(NULL, 0), *sub;

	/* nothing yet: no pointer, no error */
	assert_int_equal(p4r_import_git_lfs(fx->repo, &opts, NULL, &res), 0);
	assert_int_equal(res.n + res.already + res.nfailures, 0);
	p4r_import_result_free(&res);

	tu_sh(fx->dir, "mkdir -p d/e");
	commit_pointer(fx, "d/e/a.bin", "a", true, &a);
	commit_pointer(fx, "top.bin", "b", true, &b);
	/* relative to the current folder, which need not hold the file */
	assert_non_null(sub = p4r_path_join(fx->dir, "d"));
	assert_int_equal(chdir(sub), 0);
	opts.paths = (const char *[]){ "e" };
	opts.npaths = 1;
	opts.dry_run = true;
	assert_int_equal(p4r_import_git_lfs(fx->repo, &opts, NULL, &res), 0);
	assert_int_equal(res.registered, 1);
	assert_string_equal(res.rows[0].path, "d/e/a.bin");
	p4r_import_result_free(&res);
	opts.paths = (const char *[]){ "../*.bin" };
	assert_int_equal(p4r_import_git_lfs(fx->repo, &opts, NULL, &res), 0);
	assert_int_equal(res.registered, 2);
	p4r_import_result_free(&res);
	opts.paths = (const char *[]){ "gone.bin" };
	assert_int_equal(p4r_import_git_lfs(fx->repo, &opts, NULL, &res), P4R_ENOTFOUND);
	assert_string_equal(p4r_error_message(), "'gone.bin' matches no Git LFS pointer in the history of HEAD");
	p4r_import_result_free(&res);
	opts.paths = (const char *[]){ "../.." };
	assert_int_equal(p4r_import_git_lfs(fx->repo, &opts, NULL, &res), P4R_EUSAGE);
	p4r_import_result_free(&res);
	opts.npaths = 0;
	opts.name = "x";
	assert_int_equal(p4r_import_git_lfs(fx->repo, &opts, NULL, &res), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "--name applies to one path"));
	p4r_import_result_free(&res);
	assert_int_equal(chdir(cwd), 0);
	free(sub);
	free(cwd);
}

/* A DVC output REL holding TEXT, its .dvc file and (with CACHED) its
 * cache entry in DVC 3's layout, which holds CACHE_TEXT (NULL: TEXT). */
static void dvc_put(tu_fx *fx, const char *rel, const char *text, bool cached, const char *cache_text)
{
	char *path = tu_write(fx->dir, rel, text, strlen(text)), md5[33], dvc[512], entry[256];
	size_t size = strlen(text);

	assert_int_equal(p4r_dvc_md5_buffer(md5, text, size), 0);
	snprintf(dvc, sizeof(dvc), "outs:\n- md5: %s\n  size: %llu\n  hash: md5\n  path: %s\n", md5,
		 (unsigned long long)size, strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel);
	snprintf(entry, sizeof(entry), "%s.dvc", rel);
	free(tu_write(fx->dir, entry, dvc, strlen(dvc)));
	if (cached) {
		tu_sh(fx->dir, "mkdir -p .dvc/cache/files/md5/%.2s", md5);
		snprintf(entry, sizeof(entry), ".dvc/cache/files/md5/%.2s/%s", md5, md5 + 2);
		free(tu_write(fx->dir, entry, cache_text ? cache_text : text, strlen(cache_text ? cache_text : text)));
	}
	free(path);
}

static void test_dvc(void **state)
{
	tu_fx *fx = *state;
	p4r_import_opts opts = { .dry_run = true };
	p4r_import_result res;
	char *before, *after, *cwd = getcwd(NULL, 0);
	p4r_oid a;

	assert_int_equal(chdir(fx->dir), 0);
	tu_sh(fx->dir, "mkdir -p m .dvc/cache");
	dvc_put(fx, "m/a.bin", "bytes of a", true, NULL);
	dvc_put(fx, "m/b.bin", "bytes of b", true, "bytes of B");  /* corrupt */
	dvc_put(fx, "m/c.bin", "bytes of c", false, NULL);         /* not cached */
	free(tu_write(fx->dir, "m/d.dvc", "outs: 3\n", 8));         /* no outs list */
	assert_int_equal(p4r_hash_buffer(&a, "bytes of a", 10), 0);

	/* a dry run hashes, registers in a transaction it rolls back */
	before = tu_registry_dump(p4r_repo_registry(fx->repo));
	assert_int_equal(p4r_import_dvc(fx->repo, &opts, NULL, &res), 0);
	assert_int_equal(res.registered, 1);
	assert_true(p4r_oid_equal(&res.rows[res.n - 1].oid, &a));
	assert_int_equal(res.rows[res.n - 1].version, 1);
	p4r_import_result_free(&res);
	after = tu_registry_dump(p4r_repo_registry(fx->repo));
	assert_string_equal(before, after);
	assert_false(p4r_store_has(p4r_repo_store(fx->repo), &a));

	opts.dry_run = false;
	assert_int_equal(p4r_import_dvc(fx->repo, &opts, NULL, &res), 0);
	assert_int_equal(res.registered, 1);
	assert_int_equal(res.refused, 2);
	assert_int_equal(res.nfailures, 1);
	assert_string_equal(res.failures[0].model, "b");
	assert_int_equal(res.failures[0].code, P4R_EINTEGRITY);
	assert_int_equal(res.code, P4R_EINTEGRITY);
	{
		size_t i, notcached = 0, invalid = 0;

		for (i = 0; i < res.n; i++) {
			if (res.rows[i].state != P4R_IMPORT_REFUSED)
				continue;
			notcached += !strcmp(res.rows[i].path, "m/c.bin") && res.rows[i].code == P4R_ERROR;
			invalid += !strcmp(res.rows[i].path, "m/d.dvc") && res.rows[i].code == P4R_EINTEGRITY;
		}
		assert_int_equal(notcached + invalid, 2);
	}
	p4r_import_result_free(&res);
	assert_true(p4r_store_has(p4r_repo_store(fx->repo), &a));
	assert_int_equal(p4r_store_verify(p4r_repo_store(fx->repo), &a), 0);

	/* again: a has them (unchanged), nothing new */
	opts.paths = (const char *[]){ "m/a.bin.dvc" };
	opts.npaths = 1;
	assert_int_equal(p4r_import_dvc(fx->repo, &opts, NULL, &res), 0);
	assert_int_equal(res.registered, 0);
	assert_int_equal(res.already, 1);
	assert_int_equal(res.code, 0);
	p4r_import_result_free(&res);
	assert_int_equal(chdir(cwd), 0);
	free(cwd);
	free(before);
	free(after);
}

/* A directory output: its listing and files in the older cache layout,
 * the version the folder's manifest, each file an object. */
static void test_dvc_folder(void **state)
{
	tu_fx *fx = *state;
	p4r_import_opts opts = { 0 };
	p4r_import_result res;
	p4r_manifest m = { 0 };
	char md5a[33], md5b[33], md5l[33], list[256], dvc[256], *cwd = getcwd(NULL, 0);
	p4r_oid a, b;

	assert_int_equal(chdir(fx->dir), 0);
	assert_int_equal(p4r_dvc_md5_buffer(md5a, "AAAA", 4), 0);
	assert_int_equal(p4r_dvc_md5_buffer(md5b, "BB", 2), 0);
	tu_sh(fx->dir, "mkdir -p .dvc/cache/%.2s .dvc/cache/%.2s", md5a, md5b);
	snprintf(list, sizeof(list), ".dvc/cache/%.2s/%s", md5a, md5a + 2);
	free(tu_write(fx->dir, list, "AAAA", 4));
	snprintf(list, sizeof(list), ".dvc/cache/%.2s/%s", md5b, md5b + 2);
	free(tu_write(fx->dir, list, "BB", 2));
	snprintf(list, sizeof(list), "[{\"md5\": \"%s\", \"relpath\": \"w/a.bin\"}, "
		 "{\"isexec\": true, \"md5\": \"%s\", \"relpath\": \"run.sh\"}]", md5a, md5b);
	assert_int_equal(p4r_dvc_md5_buffer(md5l, list, strlen(list)), 0);
	tu_sh(fx->dir, "mkdir -p .dvc/cache/%.2s && printf '%%s' '%s' >.dvc/cache/%.2s/%s.dir", md5l, list, md5l,
	      md5l + 2);
	snprintf(dvc, sizeof(dvc), "outs:\n- md5: %s.dir\n  size: 6\n  nfiles: 2\n  path: enc\n", md5l);
	free(tu_write(fx->dir, "enc.dvc", dvc, strlen(dvc)));

	assert_int_equal(p4r_import_dvc(fx->repo, &opts, NULL, &res), 0);
	assert_int_equal(res.code, 0);
	assert_int_equal(res.registered, 1);
	assert_int_equal(res.rows[0].files, 2);
	assert_int_equal(res.rows[0].tree_size, 6);
	assert_int_equal(p4r_manifest_load(fx->repo, &res.rows[0].oid, "manifest of enc@1", &m), 0);
	assert_int_equal(m.n, 2);
	assert_string_equal(m.v[0].path, "run.sh");
	assert_true(m.v[0].exec);
	assert_string_equal(m.v[1].path, "w/a.bin");
	assert_false(m.v[1].exec);
	assert_int_equal(p4r_hash_buffer(&a, "AAAA", 4), 0);
	assert_int_equal(p4r_hash_buffer(&b, "BB", 2), 0);
	assert_true(p4r_oid_equal(&m.v[1].oid, &a));
	assert_true(p4r_oid_equal(&m.v[0].oid, &b));
	assert_int_equal(p4r_store_verify(p4r_repo_store(fx->repo), &a), 0);
	assert_int_equal(p4r_store_verify(p4r_repo_store(fx->repo), &b), 0);
	p4r_manifest_clear(&m);
	p4r_import_result_free(&res);
	assert_int_equal(chdir(cwd), 0);
	free(cwd);
}

/* The registry's versions of a model, indexed: by commit, by oid with the
 * import's own commits left out, and what an earlier change took. */
static void test_known_index(void **state)
{
	tu_fx *fx = *state;
	const char *c1 = "1111111111111111111111111111111111111111", *c2 = "2222222222222222222222222222222222222222";
	p4r_version_input in = { .model = "m", .path = "m.bin", .size = 4, .author = "A <a@b>", .git_dirty = 0 };
	p4r_import_known k;
	size_t first, end;
	p4r_oid a, b;

	assert_int_equal(p4r_hash_buffer(&a, "AAAA", 4), 0);
	assert_int_equal(p4r_hash_buffer(&b, "BBBB", 4), 0);
	in.oid = a, in.git_commit = c1;
	assert_int_equal(p4r_registry_import_version(p4r_repo_registry(fx->repo), &in, NULL, NULL), 0);
	in.oid = b, in.git_commit = c2;
	assert_int_equal(p4r_registry_import_version(p4r_repo_registry(fx->repo), &in, NULL, NULL), 0);
	in.oid = a, in.git_commit = NULL; /* an add of the same bytes */
	assert_int_equal(p4r_registry_import_version(p4r_repo_registry(fx->repo), &in, NULL, NULL), 0);

	assert_int_equal(p4r_import_known_load(&k, fx->repo, "m", (const char *[]){ c2, c1 }, 2), 0);
	assert_int_equal(k.n, 3);
	p4r_import_known_commit(&k, c1, &first, &end);
	assert_int_equal(end - first, 1);
	assert_int_equal(k.v[k.by_commit[first]].number, 1);
	p4r_import_known_commit(&k, "3333333333333333333333333333333333333333", &first, &end);
	assert_int_equal(end - first, 0);
	/* v1 has A but is this import's commit c1: v3 (the add) stands for it, once */
	assert_int_equal(p4r_import_known_claim_oid(&k, &a), 3);
	assert_int_equal(p4r_import_known_claim_oid(&k, &a), 0);
	p4r_import_known_clear(&k);
	/* with no commits of its own, v1 is claimable; v2 taken already is not */
	assert_int_equal(p4r_import_known_load(&k, fx->repo, "m", NULL, 0), 0);
	p4r_import_known_take(&k, 2);
	assert_int_equal(p4r_import_known_claim_oid(&k, &b), 0);
	assert_int_equal(p4r_import_known_claim_oid(&k, &a), 1);
	p4r_import_known_clear(&k);
	assert_int_equal(p4r_import_known_load(&k, fx->repo, "none", NULL, 0), 0);
	assert_int_equal(k.n, 0);
	assert_int_equal(p4r_import_known_claim_oid(&k, &a), 0);
	p4r_import_known_clear(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_had_refused_failed, setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_earlier_add_and_deleted, setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_paths_and_errors, setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_dvc, setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_dvc_folder, setup, tu_fx_teardown),
		cmocka_unit_test_setup_teardown(test_known_index, setup, tu_fx_teardown),
	};
	char *home = tu_mkdtemp();
	int rc;

	setenv("HOME", home, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("P4REG_AUTHOR", "Importer <importer@example.com>", 1);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	tu_rmtree_free(home);
	return rc;
}
