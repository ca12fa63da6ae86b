/* References to versions: "name@3", "name@v3", "name@latest",
 * "name@<stage>", "name@<alias>" (alias.h), a bare model name (its latest
 * version) or a workspace path (the version its pointer names). Deleted
 * versions (p4reg rm) resolve to nothing. */
#ifndef P4REG_REF_H
#define P4REG_REF_H

#include <stdint.h>
#include "p4reg/alias.h"
#include "p4reg/registry.h"
#include "p4reg/repo.h"

typedef enum p4r_ref_kind {
	P4R_REF_NUMBER,  /* name@3, name@v3 */
	P4R_REF_LATEST,  /* name@latest, or a bare name */
	P4R_REF_STAGE,   /* name@production, ... */
	P4R_REF_ALIAS,   /* name@champion: what the alias names now */
} p4r_ref_kind;

typedef struct p4r_ref {
	char model[P4R_MODEL_NAME_MAX + 1];
	p4r_ref_kind kind;
	int64_t number;  /* P4R_REF_NUMBER */
	p4r_stage stage; /* P4R_REF_STAGE */
	char alias[P4R_ALIAS_NAME_MAX + 1]; /* P4R_REF_ALIAS */
	bool bare;       /* no '@' was given */
} p4r_ref;

/* Parses the syntax of TEXT (no registry access); P4R_EUSAGE naming TEXT
 * and what is wrong ("invalid reference 'x@A': unknown version, stage or
 * alias 'A'"). A selector that is a valid alias name (p4r_alias_name_valid)
 * is an alias. */
int p4r_ref_parse(p4r_ref *out, const char *text);

/* Resolves TEXT to a version. Text with '@' is a registry reference; else a
 * path whose pointer (PATH.p4reg, or PATH itself when it ends in .p4reg)
 * exists is read; else a bare model name means its latest version. An
 * unknown model or version is P4R_ENOTFOUND naming what was not found. */
int p4r_ref_resolve(p4r_repo *repo, const char *text, p4r_version *out);

/* Resolves a registry reference already parsed. An alias no version
 * holds is P4R_ENOTFOUND "model 'x' has no alias 'y'"; a deleted version
 * "version 3 of model 'x' was deleted; ...". */
int p4r_ref_lookup(p4r_registry *reg, const p4r_ref *ref, p4r_version *out);

#endif
