/* Helpers shared by the cmocka unit tests: temporary folders and files,
 * repositories, and the fixture of the sync operations' tests. */
#ifndef P4REG_TESTUTIL_H
#define P4REG_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "p4reg/hash.h"
#include "p4reg/repo.h"

/* Creates a fresh folder under $TMPDIR (or /tmp); returns a malloc'd path. */
char *tu_mkdtemp(void);
/* rm -rf PATH (no shell); then frees PATH. */
void tu_rmtree_free(char *path);
/* Writes LEN bytes of DATA to DIR/NAME (creating it); returns malloc'd path. */
char *tu_write(const char *dir, const char *name, const void *data, size_t len);
/* Reads a whole file into a malloc'd NUL-terminated buffer. */
char *tu_slurp(const char *path, size_t *len);
/* Runs the shell command FMT (printf-style) in the folder DIR (git, ln,
 * mkdir: fixtures no test checks); a failure fails the test. */
void tu_sh(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A repository made with p4r_repo_init in the new folder TOP/NAME, open. */
p4r_repo *tu_repo_new(const char *top, const char *name);

/* The fixture of most operation tests: a repository of its own. */
typedef struct tu_fx {
	char *dir;
	p4r_repo *repo;
} tu_fx;

/* cmocka setup: a tu_fx with tu_repo_isolated's repository in *STATE. */
int tu_fx_setup(void **state);
/* cmocka teardown of a tu_fx: the repository closed, its folder removed. */
int tu_fx_teardown(void **state);

/* A repository in a new temporary folder (its malloc'd path to *DIR) with
 * an empty folder SUBDIR (nullable) in it, open; XDG_CONFIG_HOME points
 * into it, so the user's own config (a remote, a hook) cannot leak in. */
p4r_repo *tu_repo_isolated(char **dir, const char *subdir);

/* Every row of every table of REG as text (malloc'd): two dumps are equal
 * when nothing in the registry changed. */
struct p4r_registry;
char *tu_registry_dump(struct p4r_registry *reg);

/* The bytes of m@1 in the sync fixture. */
#define TU_SYNC_BYTES "model bytes, version one"
#define TU_SYNC_SIZE (sizeof(TU_SYNC_BYTES) - 1)

/* Two repositories and a folder remote (push, fetch, pull): A has m@1
 * (TU_SYNC_BYTES, bound to m.bin, in the store but not in the work tree),
 * B nothing; both have remote "origin" = REMOTE, an empty folder. */
typedef struct tu_sync {
	char *top;        /* the test's folder */
	char *remote;     /* TOP/remote: the folder remote */
	p4r_repo *a, *b;  /* TOP/a and TOP/b */
	p4r_oid v1;       /* the object of m@1 */
} tu_sync;

tu_sync *tu_sync_new(void);
void tu_sync_free(tu_sync *s);
/* REMOTE's copy of the object of m@1 (malloc'd path). */
char *tu_sync_remote_object(const tu_sync *s);
/* Overwrites REMOTE's copy of that object (pushed already) with as many
 * other bytes. */
void tu_sync_corrupt_remote(const tu_sync *s);

#endif
