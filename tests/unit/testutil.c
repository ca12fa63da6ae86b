/* Helpers shared by the cmocka unit tests. */
#include "testutil.h"
#include "p4reg/config.h"
#include "p4reg/fsutil.h"
#include "p4reg/registry.h"
#include "p4reg/store.h"
#include "registry/sql.h" /* p4r_registry_db: the dump reads every row */

#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *tu_mkdtemp(void)
{
	const char *base = getenv("TMPDIR");
	char *path;

	if (!base || !*base)
		base = "/tmp";
	path = malloc(strlen(base) + 32);
	assert_non_null(path);
	snprintf(path, strlen(base) + 32, "%s/p4reg-unit-XXXXXX", base);
	assert_non_null(mkdtemp(path));
	return path;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	chmod(path, 0700);
	return remove(path);
}

void tu_rmtree_free(char *path)
{
	if (!path)
		return;
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(path);
}

char *tu_write(const char *dir, const char *name, const void *data, size_t len)
{
	size_t sz = strlen(dir) + strlen(name) + 2;
	char *path = malloc(sz);
	FILE *f;

	assert_non_null(path);
	snprintf(path, sz, "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

char *tu_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

p4r_repo *tu_repo_new(const char *top, const char *name)
{
	char *dir = p4r_path_join(top, name);
	p4r_repo *repo = NULL;

	assert_non_null(dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(p4r_repo_init(dir, NULL), 0);
	assert_int_equal(p4r_repo_open(&repo, dir), 0);
	free(dir);
	return repo;
}

p4r_repo *tu_repo_isolated(char **dir, const char *subdir)
{
	p4r_repo *repo = NULL;
	char *sub;

	*dir = tu_mkdtemp();
	setenv("XDG_CONFIG_HOME", *dir, 1);
	assert_int_equal(p4r_repo_init(*dir, NULL), 0);
	assert_int_equal(p4r_repo_open(&repo, *dir), 0);
	if (subdir) {
		assert_non_null(sub = p4r_path_join(*dir, subdir));
		assert_int_equal(mkdir(sub, 0755), 0);
		free(sub);
	}
	return repo;
}

/* Appends TEXT to the growing string *BUF (*LEN used). */
static void dump_add(char **buf, size_t *len, const char *text)
{
	size_t n = strlen(text);

	assert_non_null(*buf = realloc(*buf, *len + n + 1));
	memcpy(*buf + *len, text, n + 1);
	*len += n;
}

/* Every row of table NAME, a line each, columns joined by '|'. */
static void dump_table(sqlite3 *db, const char *name, char **buf, size_t *len)
{
	char sql[160];
	sqlite3_stmt *st;
	int i;

	snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\"", name);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	dump_add(buf, len, name);
	dump_add(buf, len, ":\n");
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (i = 0; i < sqlite3_column_count(st); i++) {
			const unsigned char *t = sqlite3_column_text(st, i);

			dump_add(buf, len, i ? "|" : "");
			dump_add(buf, len, t ? (const char *)t : "NULL");
		}
		dump_add(buf, len, "\n");
	}
	sqlite3_finalize(st);
}

char *tu_registry_dump(p4r_registry *reg)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st;
	char *buf = NULL, **names = NULL;
	size_t len = 0, n = 0, i;

	dump_add(&buf, &len, "");
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table' "
					    "ORDER BY name", -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		assert_non_null(names = realloc(names, (n + 1) * sizeof(*names)));
		assert_non_null(names[n++] = strdup((const char *)sqlite3_column_text(st, 0)));
	}
	sqlite3_finalize(st);
	for (i = 0; i < n; i++) {
		dump_table(db, names[i], &buf, &len);
		free(names[i]);
	}
	free(names);
	return buf;
}

static p4r_repo *sync_repo(tu_sync *s, const char *name)
{
	p4r_repo *repo = tu_repo_new(s->top, name);

	assert_int_equal(p4r_config_set(p4r_repo_config(repo), false, "remote.origin.url", s->remote), 0);
	return repo;
}

tu_sync *tu_sync_new(void)
{
	tu_sync *s = calloc(1, sizeof(*s));
	p4r_version_input in = { .model = "m", .path = "m.bin", .author = "t", .git_dirty = -1 };

	assert_non_null(s);
	s->top = tu_mkdtemp();
	s->remote = p4r_path_join(s->top, "remote");
	assert_int_equal(mkdir(s->remote, 0755), 0); /* empty: a push may mark it */
	s->a = sync_repo(s, "a");
	s->b = sync_repo(s, "b");
	assert_int_equal(p4r_store_insert_buffer(p4r_repo_store(s->a), TU_SYNC_BYTES, TU_SYNC_SIZE, &s->v1), 0);
	in.oid = s->v1;
	in.size = TU_SYNC_SIZE;
	assert_int_equal(p4r_registry_add_version(p4r_repo_registry(s->a), &in, NULL, NULL), 0);
	return s;
}

void tu_sync_free(tu_sync *s)
{
	if (!s)
		return;
	p4r_repo_free(s->a);
	p4r_repo_free(s->b);
	free(s->remote);
	tu_rmtree_free(s->top);
	free(s);
}

char *tu_sync_remote_object(const tu_sync *s)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/objects/%.2s/%.2s/%s", s->remote, s->v1.hex, s->v1.hex + 2,
			     s->v1.hex) > 0);
	return p;
}

void tu_sync_corrupt_remote(const tu_sync *s)
{
	char *obj = tu_sync_remote_object(s), bad[TU_SYNC_SIZE];

	memset(bad, 'x', sizeof(bad));
	assert_int_equal(chmod(obj, 0644), 0);
	free(tu_write(s->remote, obj + strlen(s->remote) + 1, bad, sizeof(bad)));
	free(obj);
}

void tu_sh(const char *dir, const char *fmt, ...)
{
	char cmd[2048], line[1800];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "cd '%s' && %s", dir, line);
	if (system(cmd) != 0)
		fail_msg("'%s' failed", cmd);
}

int tu_fx_setup(void **state)
{
	tu_fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->repo = tu_repo_isolated(&fx->dir, NULL);
	*state = fx;
	return 0;
}

int tu_fx_teardown(void **state)
{
	tu_fx *fx = *state;

	p4r_repo_free(fx->repo);
	tu_rmtree_free(fx->dir);
	free(fx);
	return 0;
}
