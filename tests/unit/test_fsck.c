/* Unit tests for fsck and gc against a real repository in a temporary folder. */
#include "testutil.h"
#include "p4reg/config.h"
#include "p4reg/error.h"
#include "p4reg/fsck.h"
#include "p4reg/gc.h"
#include "p4reg/repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct fixture {
	char *dir;
	p4r_repo *repo;
	p4r_oid v1;     /* registered as m@1 */
	p4r_oid orphan; /* in the store, no version */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	p4r_version_input in = { .model = "m", .path = "m.bin", .author = "t", .git_dirty = -1 };

	assert_non_null(f);
	f->dir = tu_mkdtemp();
	assert_int_equal(p4r_repo_init(f->dir, NULL), 0);
	assert_int_equal(p4r_repo_open(&f->repo, f->dir), 0);
	assert_int_equal(p4r_store_insert_buffer(p4r_repo_store(f->repo), "model bytes", 11, &f->v1), 0);
	in.oid = f->v1;
	in.size = 11;
	assert_int_equal(p4r_registry_add_version(p4r_repo_registry(f->repo), &in, NULL, NULL), 0);
	assert_int_equal(p4r_store_insert_buffer(p4r_repo_store(f->repo), "orphan", 6, &f->orphan), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	p4r_repo_free(f->repo);
	tu_rmtree_free(f->dir);
	free(f);
	return 0;
}

static void object_path(struct fixture *f, const p4r_oid *oid, char *buf, size_t sz)
{
	assert_int_equal(p4r_store_object_path(p4r_repo_store(f->repo), oid, buf, sz), 0);
}

static void test_clean(void **state)
{
	struct fixture *f = *state;
	p4r_fsck_report rep;

	assert_int_equal(p4r_fsck_run(f->repo, NULL, &rep), 0);
	assert_int_equal(rep.nproblems, 0);
	assert_int_equal(rep.objects_checked, 2);
	assert_int_equal(rep.bytes_checked, 17);
	p4r_fsck_report_clear(&rep);
}

/* The steps a count callback heard: each step's label and last counts. */
struct steps {
	char label[4][32];
	p4r_progress last[4];
	size_t n;
};

static void on_count(const p4r_progress *p, void *payload)
{
	struct steps *s = payload;

	if (s->n == 0 || strcmp(s->label[s->n - 1], p->label)) {
		assert_true(s->n < 4);
		snprintf(s->label[s->n++], sizeof(s->label[0]), "%s", p->label);
	}
	s->last[s->n - 1] = *p;
}

/* fsck counts the objects and the bytes it hashes; gc the objects it
 * examines, then those it deletes. */
static void test_progress_counts(void **state)
{
	struct fixture *f = *state;
	struct steps s = { 0 };
	p4r_fsck_opts fo = { .count = on_count, .payload = &s };
	p4r_gc_opts go = { .grace_s = 0, .now_s = (int64_t)time(NULL) + 7200, .count = on_count, .payload = &s };
	p4r_fsck_report rep;
	p4r_gc_result res;

	assert_int_equal(p4r_fsck_run(f->repo, &fo, &rep), 0);
	p4r_fsck_report_clear(&rep);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.label[0], "fsck");
	assert_string_equal(s.last[0].unit, "objects");
	assert_int_equal(s.last[0].items, 2);
	assert_int_equal(s.last[0].items_total, 2);
	assert_true(s.last[0].has_bytes);
	assert_int_equal(s.last[0].bytes, 17);
	assert_int_equal(s.last[0].bytes_total, 17);
	memset(&s, 0, sizeof(s));
	assert_int_equal(p4r_gc_run(f->repo, &go, &res), 0);
	assert_int_equal(res.objects, 1);
	p4r_gc_result_clear(&res);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.label[0], "gc examining");
	assert_int_equal(s.last[0].items, 2);
	assert_int_equal(s.last[0].items_total, 0);
	assert_false(s.last[0].has_bytes);
	assert_string_equal(s.label[1], "gc deleting");
	assert_int_equal(s.last[1].items, 1);
	assert_int_equal(s.last[1].items_total, 1);
	/* a dry run deletes nothing and counts no deletion */
	memset(&s, 0, sizeof(s));
	go.dry_run = true;
	assert_int_equal(p4r_gc_run(f->repo, &go, &res), 0);
	p4r_gc_result_clear(&res);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.last[0].items, 1);
}

static void test_corrupt_is_quarantined(void **state)
{
	struct fixture *f = *state;
	p4r_fsck_report rep;
	char path[4096], q[4200];
	FILE *fp;

	object_path(f, &f->v1, path, sizeof(path));
	assert_int_equal(chmod(path, 0644), 0);
	assert_non_null(fp = fopen(path, "r+"));
	fputc('M' ^ 1, fp);
	fclose(fp);
	assert_int_equal(p4r_fsck_run(f->repo, NULL, &rep), 0);
	assert_int_equal(rep.nproblems, 2);
	assert_string_equal(rep.problems[0].kind, "corrupt-object");
	assert_string_equal(rep.problems[0].object, f->v1.hex);
	assert_non_null(rep.problems[0].fix);
	/* the quarantined object is a damaged version until it comes back */
	assert_string_equal(rep.problems[1].kind, "damaged-object");
	assert_string_equal(rep.problems[1].model, "m");
	assert_non_null(strstr(rep.problems[1].message, "m@1"));
	assert_int_equal(rep.quarantined, 1);
	p4r_fsck_report_clear(&rep);
	assert_int_not_equal(access(path, F_OK), 0);
	snprintf(q, sizeof(q), "%s/quarantine/%s", p4r_repo_meta(f->repo), f->v1.hex);
	assert_int_equal(access(q, F_OK), 0);
	/* and stays one, named the same, on the next run */
	assert_int_equal(p4r_fsck_run(f->repo, NULL, &rep), 0);
	assert_int_equal(rep.nproblems, 1);
	assert_string_equal(rep.problems[0].kind, "damaged-object");
	assert_non_null(strstr(rep.problems[0].message, "hashed to"));
	p4r_fsck_report_clear(&rep);
}

/* Moves m@1's object from the store to a folder remote's layout under
 * REMOTE (when non-NULL; else it is gone) and names that remote in the
 * config. */
static void move_to_remote(struct fixture *f, const char *remote)
{
	char path[4096], dest[4200];

	object_path(f, &f->v1, path, sizeof(path));
	if (!remote) {
		assert_int_equal(unlink(path), 0);
		return;
	}
	snprintf(dest, sizeof(dest), "%s/objects", remote);
	assert_int_equal(mkdir(dest, 0755), 0);
	snprintf(dest, sizeof(dest), "%s/objects/%.2s", remote, f->v1.hex);
	assert_int_equal(mkdir(dest, 0755), 0);
	snprintf(dest, sizeof(dest), "%s/objects/%.2s/%.2s", remote, f->v1.hex, f->v1.hex + 2);
	assert_int_equal(mkdir(dest, 0755), 0);
	snprintf(dest, sizeof(dest), "%s/objects/%.2s/%.2s/%s", remote, f->v1.hex, f->v1.hex + 2, f->v1.hex);
	assert_int_equal(rename(path, dest), 0);
	assert_int_equal(p4r_config_set(p4r_repo_config(f->repo), false, "remote.origin.url", remote), 0);
}

static void test_missing_here_but_on_remote(void **state)
{
	struct fixture *f = *state;
	char *remote = tu_mkdtemp();
	p4r_fsck_opts offline = { .offline = true };
	p4r_fsck_report rep;

	move_to_remote(f, remote);
	assert_int_equal(p4r_fsck_run(f->repo, NULL, &rep), 0);
	assert_int_equal(rep.nproblems, 0);
	assert_int_equal(rep.nnotes, 1);
	assert_string_equal(rep.notes[0].kind, "not-downloaded");
	assert_string_equal(rep.notes[0].object, f->v1.hex);
	assert_string_equal(rep.notes[0].model, "m");
	assert_string_equal(rep.notes[0].fix, "p4reg pull m@1 downloads it");
	assert_string_equal(rep.remote, "origin");
	assert_int_equal(rep.remote_checked, 1);
	assert_null(rep.remote_error);
	p4r_fsck_report_clear(&rep);
	/* offline: the same object is a note that says it was not checked */
	assert_int_equal(p4r_fsck_run(f->repo, &offline, &rep), 0);
	assert_int_equal(rep.nproblems, 0);
	assert_int_equal(rep.nnotes, 1);
	assert_string_equal(rep.notes[0].kind, "not-checked");
	assert_non_null(strstr(rep.notes[0].message, "(not checked: offline)"));
	assert_null(rep.remote);
	assert_int_equal(rep.remote_checked, 0);
	p4r_fsck_report_clear(&rep);
	tu_rmtree_free(remote);
}

static void test_missing_everywhere(void **state)
{
	struct fixture *f = *state;
	p4r_fsck_report rep;

	move_to_remote(f, NULL);
	assert_int_equal(p4r_fsck_run(f->repo, NULL, &rep), 0);
	assert_int_equal(rep.nproblems, 1);
	assert_int_equal(rep.nnotes, 0);
	assert_string_equal(rep.problems[0].kind, "missing-object");
	assert_non_null(strstr(rep.problems[0].message, "no remote was asked (no remote configured"));
	assert_non_null(strstr(rep.problems[0].fix, "p4reg pull m@1"));
	p4r_fsck_report_clear(&rep);
}

static void test_gc_grace(void **state)
{
	struct fixture *f = *state;
	p4r_gc_opts opts = { .grace_s = P4R_GC_GRACE_DEFAULT_S };
	p4r_gc_result res;
	char path[4096];

	object_path(f, &f->orphan, path, sizeof(path));
	/* just written: too young */
	assert_int_equal(p4r_gc_run(f->repo, &opts, &res), 0);
	assert_int_equal(res.objects, 0);
	assert_int_equal(res.kept_recent, 1);
	assert_int_equal(res.referenced, 1);
	p4r_gc_result_clear(&res);
	/* two hours later, dry run: reported, kept */
	opts.now_s = (int64_t)time(NULL) + 7200;
	opts.dry_run = true;
	assert_int_equal(p4r_gc_run(f->repo, &opts, &res), 0);
	assert_int_equal(res.objects, 1);
	assert_int_equal(res.object_bytes, 6);
	assert_string_equal(res.items[0].oid, f->orphan.hex);
	p4r_gc_result_clear(&res);
	assert_int_equal(access(path, F_OK), 0);
	/* for real: only the orphan goes */
	opts.dry_run = false;
	assert_int_equal(p4r_gc_run(f->repo, &opts, &res), 0);
	assert_int_equal(res.objects, 1);
	p4r_gc_result_clear(&res);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_true(p4r_store_has(p4r_repo_store(f->repo), &f->v1));
	opts.grace_s = -1;
	assert_int_equal(p4r_gc_run(f->repo, &opts, &res), P4R_EUSAGE);
	p4r_gc_result_clear(&res);
}

/* Writes "victim" files into DIR, as a user's files outside the repository. */
static void plant(const char *dir, const char *name)
{
	free(tu_write(dir, name, "precious", 8));
}

static bool present(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* gc two hours from now, so that everything is old enough to go. */
static int gc_later(struct fixture *f, p4r_gc_result *res)
{
	p4r_gc_opts opts = { .grace_s = 0, .now_s = (int64_t)time(NULL) + 7200 };

	return p4r_gc_run(f->repo, &opts, res);
}

/* A .p4reg/tmp that became a symbolic link after the repository was opened
 * (a committed one is refused at open): gc refuses before deleting anything
 * and never reaches the files it points to. */
static void test_gc_symlinked_tmp(void **state)
{
	struct fixture *f = *state;
	char *victim = tu_mkdtemp(), tmp[4096], path[4096], msg[256];
	p4r_gc_result res;

	plant(victim, ".object.Ab12Cd");  /* a name gc would delete in a real tmp/ */
	plant(victim, "id_rsa");
	snprintf(tmp, sizeof(tmp), "%s/.p4reg/tmp", f->dir);
	assert_int_equal(rmdir(tmp), 0);
	assert_int_equal(symlink(victim, tmp), 0);
	snprintf(msg, sizeof(msg), "'.p4reg/tmp' is a symbolic link, not a folder: p4reg does not"
		 " follow it; remove the link (p4reg creates the folder again)");
	assert_int_equal(gc_later(f, &res), P4R_EINTEGRITY);
	assert_string_equal(p4r_error_message(), msg);
	p4r_gc_result_clear(&res);
	assert_true(present(victim, ".object.Ab12Cd"));
	assert_true(present(victim, "id_rsa"));
	/* refused before the store was touched: the orphan is still there */
	object_path(f, &f->orphan, path, sizeof(path));
	assert_int_equal(access(path, F_OK), 0);
	/* fsck reports it */
	{
		p4r_fsck_report rep;
		size_t i;
		bool seen = false;

		assert_int_equal(p4r_fsck_run(f->repo, NULL, &rep), 0);
		for (i = 0; i < rep.nproblems; i++)
			seen |= !strcmp(rep.problems[i].kind, "stray-file") &&
				!strcmp(rep.problems[i].path, ".p4reg/tmp") &&
				!strcmp(rep.problems[i].message, msg);
		assert_true(seen);
		p4r_fsck_report_clear(&rep);
	}
	tu_rmtree_free(victim);
}

/* A symbolic link inside the store (objects/ab -> elsewhere) is neither
 * entered nor deleted, even when the files behind it look like objects. */
static void test_gc_symlinked_object_folder(void **state)
{
	struct fixture *f = *state;
	char *victim = tu_mkdtemp(), cd[4096], ab[4096], oid[65];
	p4r_gc_result res;

	memset(oid, 'e', 64);
	memcpy(oid, "abcd", 4);
	oid[64] = '\0';
	snprintf(cd, sizeof(cd), "%s/cd", victim);
	assert_int_equal(mkdir(cd, 0755), 0);
	plant(cd, oid);
	snprintf(ab, sizeof(ab), "%s/.p4reg/objects/ab", f->dir);
	assert_int_equal(symlink(victim, ab), 0);
	assert_int_equal(gc_later(f, &res), 0);
	assert_int_equal(res.objects, 1); /* the real orphan only */
	assert_string_equal(res.items[0].oid, f->orphan.hex);
	p4r_gc_result_clear(&res);
	assert_true(present(cd, oid));
	tu_rmtree_free(victim);
}

/* gc deletes only the names p4reg writes into tmp/, never sync.lock, and
 * does not descend into folders there; fsck lists the strangers. */
static void test_gc_tmp_names(void **state)
{
	struct fixture *f = *state;
	static const char *const ours[] = { ".object.Ab12Cd", ".link.x9Y8z7", ".fetch.000000",
					    ".filter.abcdef" };
	static const char *const foreign[] = { "notes.txt", ".object.short", ".object.Ab12Cd.bak",
					       ".objectAb12Cd", "object.Ab12Cd", ".other.Ab12Cd" };
	char tmp[4096], sub[4200];
	p4r_gc_result res;
	p4r_fsck_report rep;
	size_t i, stray = 0;

	snprintf(tmp, sizeof(tmp), "%s/.p4reg/tmp", f->dir);
	snprintf(sub, sizeof(sub), "%s/sub", tmp);
	for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		plant(tmp, ours[i]);
	for (i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++)
		plant(tmp, foreign[i]);
	plant(tmp, "sync.lock");
	assert_int_equal(mkdir(sub, 0755), 0);
	plant(sub, ".object.Ab12Cd");
	assert_int_equal(p4r_gc_classify_tmp("sync.lock"), P4R_TMP_LOCK);
	assert_int_equal(p4r_gc_classify_tmp(".object.Ab12Cd"), P4R_TMP_PARTIAL);
	assert_int_equal(p4r_gc_classify_tmp(".object.Ab1-Cd"), P4R_TMP_FOREIGN);

	assert_int_equal(gc_later(f, &res), 0);
	assert_int_equal(res.tmp_files, sizeof(ours) / sizeof(ours[0]));
	assert_int_equal(res.foreign, sizeof(foreign) / sizeof(foreign[0]) + 1); /* + sub */
	p4r_gc_result_clear(&res);
	for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		assert_false(present(tmp, ours[i]));
	for (i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++)
		assert_true(present(tmp, foreign[i]));
	assert_true(present(tmp, "sync.lock"));
	assert_true(present(sub, ".object.Ab12Cd"));

	assert_int_equal(p4r_fsck_run(f->repo, NULL, &rep), 0);
	for (i = 0; i < rep.nproblems; i++)
		stray += !strcmp(rep.problems[i].kind, "stray-file");
	assert_int_equal(stray, sizeof(foreign) / sizeof(foreign[0]) + 1);
	assert_int_equal(rep.nproblems, stray);
	p4r_fsck_report_clear(&rep);
}

/* fsck on a repository whose registry cannot be opened still re-hashes
 * the store and reports the registry as one problem. */
static void test_fsck_damaged_registry(void **state)
{
	struct fixture *f = *state;
	char db[4096], *fresh = NULL;
	p4r_repo *repo = NULL;
	p4r_fsck_report rep;

	p4r_repo_free(f->repo);
	f->repo = NULL;
	snprintf(db, sizeof(db), "%s/.p4reg/registry.db", f->dir);
	assert_int_equal(truncate(db, 0), 0);
	assert_int_equal(p4r_repo_open(&repo, f->dir), P4R_EINTEGRITY);
	assert_int_equal(p4r_repo_open_damaged(&f->repo, f->dir), 0);
	assert_null(p4r_repo_registry(f->repo));
	assert_int_equal(p4r_fsck_run(f->repo, NULL, &rep), 0);
	assert_int_equal(rep.objects_checked, 2);
	assert_int_equal(rep.nproblems, 1);
	assert_string_equal(rep.problems[0].kind, "registry-corrupt");
	assert_non_null(strstr(rep.problems[0].message, "is empty (0 bytes): its history is lost"));
	assert_null(strstr(rep.problems[0].message, "p4reg fsck'")); /* no advice to run itself */
	p4r_fsck_report_clear(&rep);

	/* the explicit way out: the old file kept in quarantine, a new registry */
	assert_int_equal(p4r_fsck_new_registry(f->repo, &fresh), 0);
	assert_non_null(strstr(fresh, "/.p4reg/quarantine/registry.db"));
	free(fresh);
	p4r_repo_free(f->repo);
	f->repo = NULL;
	assert_int_equal(p4r_repo_open(&f->repo, f->dir), 0);
	assert_int_equal(p4r_fsck_new_registry(f->repo, &fresh), P4R_EREFUSED);
	assert_null(fresh);
}

static void test_referenced_oids(void **state)
{
	struct fixture *f = *state;
	p4r_oid *refs = NULL;
	char **users = NULL;
	size_t n = 0, nusers = 0;

	assert_int_equal(p4r_registry_referenced_oids(p4r_repo_registry(f->repo), &refs, NULL, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(refs[0].hex, f->v1.hex);
	free(refs);
	assert_int_equal(p4r_registry_oid_users(p4r_repo_registry(f->repo), &f->v1, 5, &users, &nusers), 0);
	assert_int_equal(nusers, 1);
	assert_string_equal(users[0], "m@1");
	free(users[0]);
	free(users);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clean, setup, teardown),
		cmocka_unit_test_setup_teardown(test_progress_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_is_quarantined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_here_but_on_remote, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_everywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc_grace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_referenced_oids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc_symlinked_tmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc_symlinked_object_folder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc_tmp_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fsck_damaged_registry, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
