/* Versions registered from another tool's history (p4reg import): each
 * keeps the author, date, commit and message it had there, and a version
 * is registered for every change, even to bytes an older version has (a
 * revert is history too). The register event is the one `add` records,
 * so it travels to remotes unchanged (batch.h); its detail says where
 * the version came from. The SQL is registry/import_sql.c; which changes
 * are new is ops/import.c's. */
#ifndef P4REG_IMPORTED_H
#define P4REG_IMPORTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "p4reg/batch.h"
#include "p4reg/registry.h"

/* A version of a model as an import compares it: deleted ones too (a
 * version p4reg rm deleted was imported all the same). */
typedef struct p4r_known_version {
	int64_t number;
	p4r_oid oid;
	int64_t size;
	int64_t tree_size;        /* a folder version: its files' total; else 0 */
	char git_commit[P4R_EVENT_GIT_COMMIT_MAX + 1]; /* "" when none */
	bool deleted;
} p4r_known_version;

/* Every version of MODEL by number into *OUT (malloc'd, *N of them): none
 * (0) for a model the registry lacks. */
int p4r_registry_known_versions(p4r_registry *reg, const char *model, p4r_known_version **out, size_t *n);

/* Registers IN as the next version of IN->model, whatever versions hold
 * IN->oid already, created at IN->now_ms (0 is the epoch, not now), with
 * a "register" event by IN->author at that time, IN->message as its
 * reason and DETAIL (a JSON object's text, nullable) as its detail; a
 * new model is bound to IN->path. Joins the caller's transaction (else
 * one of its own). P4R_EUSAGE for what a remote would refuse
 * (p4r_version_input_check) or a file version with a file count; P4R_EEXISTS when the
 * model is bound to another path or the path to another model. *NUMBER
 * (nullable) gets the version's number. */
int p4r_registry_import_version(p4r_registry *reg, const p4r_version_input *in, const char *detail,
				int64_t *number);

#endif
