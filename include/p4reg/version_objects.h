/* The objects of a version (issue 14): a file version's one object; a
 * folder version's manifest and every file its manifest names. Push,
 * fetch, objects on demand, get, gc and fsck all ask this one place
 * (store/version_objects.c). */
#ifndef P4REG_VERSION_OBJECTS_H
#define P4REG_VERSION_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "p4reg/hash.h"
#include "p4reg/manifest.h"
#include "p4reg/registry.h"
#include "p4reg/repo.h"

/* A list of objects with their recorded sizes (both arrays owned). */
typedef struct p4r_objects {
	p4r_oid *oid;
	int64_t *size;
	size_t n, cap;
} p4r_objects;

void p4r_objects_clear(p4r_objects *o);
int p4r_objects_add(p4r_objects *o, const p4r_oid *oid, int64_t size);
/* Sorts O by oid and keeps one entry per oid (the largest size). */
void p4r_objects_unique(p4r_objects *o);

/* "model@N" of V into BUF, for messages ("manifest of minilm@2"). */
void p4r_version_label(char *buf, size_t sz, const p4r_version *v);

/* Appends V's objects to OUT: its object (a file, or a folder's manifest)
 * and, for a folder, every file of its manifest (p4r_manifest_load: the
 * registry's rows, else the guarded manifest object, rows recorded). A
 * folder whose manifest is neither in the registry nor in the store gets
 * only its manifest appended and *INCOMPLETE (nullable) set: download it,
 * then ask again. Other errors (a manifest that does not decode or hash to
 * its oid: P4R_EINTEGRITY) are returned. */
int p4r_version_objects(p4r_repo *repo, const p4r_version *v, p4r_objects *out, bool *incomplete);

/* Every folder version of every model (*OUT owned: p4r_version_array_free). */
int p4r_dir_versions(p4r_repo *repo, p4r_version **out, size_t *n);

/* Appends to O the files of every folder version whose manifest is among
 * O's first entries and can be loaded (rows, or the object in the store);
 * manifests not downloaded are left as they are. */
int p4r_objects_add_dir_files(p4r_repo *repo, p4r_objects *o);

/* Gives every folder version whose manifest rows are missing but whose
 * manifest object is stored its rows back (gc does this before it deletes
 * anything, so no file a version needs is collected). *REBUILT (nullable)
 * counts them. A stored manifest that is damaged is P4R_EINTEGRITY. */
int p4r_manifests_rebuild(p4r_repo *repo, size_t *rebuilt);

#endif
