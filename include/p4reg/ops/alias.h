/* p4r_alias, the operation of `p4reg alias`: list a model's aliases, point
 * one at a version (set or move), or remove one (alias.h). */
#ifndef P4REG_OPS_ALIAS_H
#define P4REG_OPS_ALIAS_H

#include <stdbool.h>
#include <stdint.h>

#include "p4reg/alias.h"
#include "p4reg/ops/op.h"
#include "p4reg/repo.h"

typedef enum p4r_alias_action {
	P4R_ALIAS_LIST,   /* alias MODEL */
	P4R_ALIAS_SET,    /* alias MODEL NAME N */
	P4R_ALIAS_DELETE, /* alias -d MODEL NAME */
} p4r_alias_action;

typedef struct p4r_alias_opts {
	p4r_alias_action action;
	const char *model;
	const char *name;       /* set, delete */
	const char *version;    /* set: N, vN, or any selector a reference takes
				 * after '@' (latest, a stage, another alias) */
	const char *reason;     /* -m; nullable */
} p4r_alias_opts;

typedef struct p4r_alias_result {
	p4r_alias_action action;
	int64_t version;        /* set: the version it names now; delete: the one it named */
	int64_t previous;       /* set: the version it named before, 0: it is new */
	bool changed;           /* an event was recorded */
	p4r_alias_entry *aliases;     /* list: by name */
	size_t n;
} p4r_alias_result;

/* Checks the model and alias names (P4R_EUSAGE: invalid or reserved)
 * before the registry is read, then does OPTS->action in one transaction
 * (p4r_registry_alias_set/_delete). Setting an alias to the version it
 * already names changes nothing (OUT->changed false). */
int p4r_alias(p4r_repo *repo, const p4r_alias_opts *opts, const p4r_op_report *report,
	      p4r_alias_result *out);

void p4r_alias_result_free(p4r_alias_result *r);

#endif
