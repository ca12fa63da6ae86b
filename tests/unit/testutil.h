/* Helpers shared by the cmocka unit tests: temporary folders and files. */
#ifndef P4REG_TESTUTIL_H
#define P4REG_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* Creates a fresh folder under $TMPDIR (or /tmp); returns a malloc'd path. */
char *tu_mkdtemp(void);
/* rm -rf PATH (no shell); then frees PATH. */
void tu_rmtree_free(char *path);
/* Writes LEN bytes of DATA to DIR/NAME (creating it); returns malloc'd path. */
char *tu_write(const char *dir, const char *name, const void *data, size_t len);
/* Reads a whole file into a malloc'd NUL-terminated buffer. */
char *tu_slurp(const char *path, size_t *len);

#endif
