/* The manifest of a directory model's version (docs/formats.md, "Folder
 * manifests"): every file of the folder with its object id, size and
 * executable bit, in one canonical text whose SHA-256 is the version's
 * oid. The manifest is stored as an object like any other; each file is an
 * object of its own, so an unchanged file costs nothing in the next version.
 *
 *   p4reg-manifest 1\n
 *   <mode> <oid> <size> <path>\n      one line per file, sorted by path bytes
 *
 * MODE is 644 or 755; OID 64 lowercase hex digits; SIZE a canonical decimal
 * (no sign, no leading zero, at most 2^50); PATH '/'-separated below the
 * folder, checked by p4r_manifest_path_valid. */
#ifndef P4REG_MANIFEST_H
#define P4REG_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "p4reg/hash.h"

/* Limits of a decoded manifest (a remote delivers it: bounded). */
#define P4R_MANIFEST_MAX_FILES 1000000
#define P4R_MANIFEST_MAX_BYTES (256u << 20)
#define P4R_MANIFEST_MAX_SIZE ((int64_t)1 << 50)

typedef struct p4r_manifest_entry {
	char *path;   /* owned; below the folder, '/'-separated */
	p4r_oid oid;
	int64_t size;
	bool exec;    /* mode 755 */
} p4r_manifest_entry;

typedef struct p4r_manifest {
	p4r_manifest_entry *v;
	size_t n, cap;
	bool sorted;  /* set by encode/decode: p4r_manifest_find may bisect */
} p4r_manifest;

void p4r_manifest_clear(p4r_manifest *m);

/* True when P can name a file inside a model folder: 1..4096 bytes, not
 * absolute, no empty, "." or ".." component, no component over 255 bytes,
 * no control character, DEL or backslash, and no component that is, in any
 * case, ".git" or ".p4reg" (a nested repository or a p4reg folder inside a
 * model would change what git or p4reg trusts). Hidden files such as a
 * Hugging Face folder's ".gitattributes" are allowed: git never reads them
 * inside the ignored folder. */
bool p4r_manifest_path_valid(const char *p);

/* Appends a copy of one file's entry (P4R_EUSAGE for a path that is not
 * valid, a negative size or one over the limit). Order does not matter. */
int p4r_manifest_add(p4r_manifest *m, const char *path, const p4r_oid *oid, int64_t size, bool exec);

/* Sorts M and writes its canonical text into *BUF (malloc'd, not NUL
 * terminated), *LEN its length. P4R_EUSAGE when M is empty, holds a path
 * twice, or a path that is a folder of another ("a" and "a/b"). */
int p4r_manifest_encode(p4r_manifest *m, char **buf, size_t *len);

/* Parses BUF strictly into M (cleared first): the exact header, canonical
 * lines, paths strictly ascending (so no duplicate), no file that is a
 * folder of another, at least one file, the limits above. Anything else is
 * P4R_EINTEGRITY naming WHAT (e.g. "manifest of minilm@2") and the line. */
int p4r_manifest_decode(p4r_manifest *m, const char *buf, size_t len, const char *what);

/* The entry of PATH in a sorted M (after encode or decode), or NULL. */
const p4r_manifest_entry *p4r_manifest_find(const p4r_manifest *m, const char *path);

/* The sum of the entries' sizes. */
int64_t p4r_manifest_total(const p4r_manifest *m);

/* ---- a repository's manifests (store/manifest_io.c) ---- */

struct p4r_repo;

/* The manifest whose oid is OID in REPO: the registry's rows when it has
 * them, else the manifest object read from the store (through the object
 * guard, re-hashed, decoded strictly, its rows recorded). P4R_ENOTFOUND
 * when neither has it (the object is not downloaded); P4R_EINTEGRITY for
 * bytes that do not hash to OID or do not decode. WHAT names it in
 * messages ("manifest of minilm@2"). */
int p4r_manifest_load(struct p4r_repo *repo, const p4r_oid *oid, const char *what, p4r_manifest *out);

/* As p4r_manifest_load, changing nothing (a dry run): the rows, else the
 * object read and re-hashed without the object guard's bookkeeping, and no
 * rows recorded. */
int p4r_manifest_peek(struct p4r_repo *repo, const p4r_oid *oid, const char *what, p4r_manifest *out);

/* Encodes M, stores the text as an object of REPO's store (durable before
 * it returns) and gives its oid and size; the caller records the rows in
 * the transaction that registers the version (p4r_registry_manifest_put). */
int p4r_manifest_store(struct p4r_repo *repo, p4r_manifest *m, p4r_oid *oid, int64_t *size);

#endif
