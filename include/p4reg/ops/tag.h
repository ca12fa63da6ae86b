/* p4r_tag, the operation of `p4reg tag`: list, set or remove the tags of a
 * version or of a model, and set a model's description (tag.h). */
#ifndef P4REG_OPS_TAG_H
#define P4REG_OPS_TAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p4reg/ops/op.h"
#include "p4reg/registry.h"
#include "p4reg/repo.h"
#include "p4reg/tag.h"

typedef struct p4r_tag_opts {
	const char *target;       /* a REF (its version), or a model name with MODEL */
	bool model;               /* --model: the model's own tags */
	bool remove;              /* -d: ARGS are keys to remove */
	const char *const *args;  /* KEY=VALUE... (KEY... with REMOVE); none: list */
	size_t nargs;
	const char *description;  /* --description TEXT: the model's ("" clears);
				   * implies MODEL, takes no ARGS */
	const char *reason;       /* -m; nullable */
} p4r_tag_opts;

typedef struct p4r_tag_result {
	char model[P4R_MODEL_NAME_MAX + 1];
	int64_t version;          /* 0: the model's own tags */
	size_t changed;           /* keys set or removed (0: nothing recorded) */
	bool described;           /* the description changed */
	p4r_tags tags;            /* the tags afterwards, by key */
	char *description;        /* a model's, afterwards ("" when none); NULL for a version */
} p4r_tag_result;

/* Parses and checks every KEY=VALUE (or KEY) before the registry is read
 * (P4R_EUSAGE naming the first bad one; a key given twice too), resolves
 * the target (a deleted or unknown version: P4R_ENOTFOUND), and makes the
 * change in one transaction: one "tag-set" or "tag-delete" event with the
 * keys that change, or one "describe" event. Then reads the tags back. */
int p4r_tag(p4r_repo *repo, const p4r_tag_opts *opts, const p4r_op_report *report, p4r_tag_result *out);

void p4r_tag_result_free(p4r_tag_result *r);

#endif
