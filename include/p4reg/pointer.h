/* Pointer files (DVC semantics): models/x.onnx.p4reg names the version whose
 * bytes belong at models/x.onnx. Small UTF-8 text, one "key value" per line,
 * fixed key order, one canonical encoding (docs/formats.md):
 *
 *   p4reg-pointer 1
 *   model x
 *   version 3
 *   oid sha256:<64 lowercase hex>
 *   size 81234567
 *
 * A folder model's pointer (minilm.p4reg beside the folder minilm) names
 * the version's manifest by its oid and byte size, then two more lines;
 * without them the pointer is a file's, byte for byte as before:
 *
 *   kind dir
 *   files 12
 */
#ifndef P4REG_POINTER_H
#define P4REG_POINTER_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include "p4reg/hash.h"
#include "p4reg/manifest.h"
#include "p4reg/registry.h"

#define P4R_POINTER_SUFFIX ".p4reg"
#define P4R_POINTER_FORMAT 1
/* The longest canonical pointer is under 300 bytes (pointer.c checks). */
#define P4R_POINTER_MAX_BYTES 1024
/* Larger than any file system holds; anything above is hostile. */
#define P4R_POINTER_MAX_SIZE (INT64_C(1) << 50)
#define P4R_POINTER_MAX_VERSION INT64_C(2147483647)

typedef struct p4r_pointer {
	char model[P4R_MODEL_NAME_MAX + 1];
	int64_t version;
	p4r_oid oid;
	int64_t size;   /* of the file, or of a folder's manifest object */
	bool dir;       /* a folder model: OID names its manifest */
	int64_t files;  /* a folder's file count, 1..P4R_MANIFEST_MAX_FILES; 0 for a file */
} p4r_pointer;

/* Parses BUF strictly: exact keys in order, canonical numbers, final newline,
 * then either nothing or exactly "kind dir" and "files N" (N canonical, in
 * range), nothing else. A bad pointer is P4R_EINTEGRITY naming FILE and the line:
 * "invalid pointer 'models/x.onnx.p4reg' line 3: malformed version". */
int p4r_pointer_parse(p4r_pointer *out, const char *buf, size_t len, const char *file);

/* Writes the canonical text into BUF (NUL-terminated); *LEN gets its length.
 * The two folder lines only when P->dir (P4R_ERROR when its files is out
 * of range: it would not parse back). */
int p4r_pointer_format(const p4r_pointer *p, char *buf, size_t bufsz, size_t *len);

/* True when PATH ends in ".p4reg" (and is more than the suffix). */
int p4r_pointer_is_pointer_path(const char *path);

/* Reads (parses) or writes (atomically, canonical text) the pointer BASE
 * in the open folder DIRFD, never through a symbolic link, a FIFO or a
 * device (p4r_read_file_at, p4r_write_file_atomic_at); DISPLAY names the
 * file in messages. Work-tree code reaches them through worktree.h. */
int p4r_pointer_read_at(p4r_pointer *out, int dirfd, const char *base, const char *display);
int p4r_pointer_write_at(const p4r_pointer *p, int dirfd, const char *base, const char *display);

#endif
