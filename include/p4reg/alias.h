/* Aliases: a name that points at one version of a model at a time
 * (name@champion, as MLflow's aliases), set, moved and removed by
 * "alias-set" and "alias-delete" events that travel to remotes like stage
 * changes (docs/remotes.md, "Merge rules"). The SQL is
 * registry/alias_sql.c; the events' kinds and detail are batch.h's. */
#ifndef P4REG_ALIAS_H
#define P4REG_ALIAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "p4reg/registry.h"

#define P4R_ALIAS_NAME_MAX 64

/* True when NAME may name an alias: 1..64 of [a-z0-9_-] starting with a
 * letter, and none of the names a reference already reads otherwise (the
 * five stage names, "latest", "v" followed by digits). */
bool p4r_alias_name_valid(const char *name);

/* p4r_alias_name_valid with the reason: 0, or P4R_EUSAGE "invalid alias
 * name 'X': ..." / "alias name 'production' is reserved: ...". */
int p4r_alias_name_check(const char *name);

typedef struct p4r_alias_entry {
	char name[P4R_ALIAS_NAME_MAX + 1];
	char model[P4R_MODEL_NAME_MAX + 1];
	int64_t version;   /* the number it names */
	char *actor;       /* owned: who set it last */
	int64_t set_ms;    /* when */
} p4r_alias_entry;

void p4r_alias_array_free(p4r_alias_entry *a, size_t n);

/* A change of alias NAME of MODEL. */
typedef struct p4r_alias_req {
	const char *model;
	const char *name;
	int64_t number;      /* set: the version it will name; delete: unused */
	const char *actor;
	const char *reason;  /* -m; NULL or "" for none */
	int64_t now_ms;      /* 0: now */
} p4r_alias_req;

/* Points REQ->name at REQ->number (a live version: the errors of
 * p4r_registry_version_get) and records an "alias-set" event on that
 * version, in one transaction (joining the caller's). *PREVIOUS gets the
 * number the alias named before (0: it is new); when that is REQ->number
 * nothing is written. An invalid or reserved name is P4R_EUSAGE. */
int p4r_registry_alias_set(p4r_registry *reg, const p4r_alias_req *req, int64_t *previous);

/* Removes alias REQ->name and records an "alias-delete" event on the
 * version it named (*PREVIOUS), in one transaction. P4R_ENOTFOUND "model
 * 'm' has no alias 'x'" (or "unknown model 'm'"). */
int p4r_registry_alias_delete(p4r_registry *reg, const p4r_alias_req *req, int64_t *previous);

/* The aliases of MODEL by name into *OUT (p4r_alias_array_free); an empty
 * list for a model without; P4R_ENOTFOUND for an unknown model. */
int p4r_registry_alias_list(p4r_registry *reg, const char *model, p4r_alias_entry **out, size_t *n);

/* The aliases naming the version with row id VERSION_ID, by name. */
int p4r_registry_alias_of(p4r_registry *reg, int64_t version_id, p4r_alias_entry **out, size_t *n);

/* The version alias NAME of MODEL names: P4R_ENOTFOUND "model 'm' has no
 * alias 'x'" (or "unknown model 'm'"). */
int p4r_registry_alias_resolve(p4r_registry *reg, const char *model, const char *name, p4r_version *out);

#endif
