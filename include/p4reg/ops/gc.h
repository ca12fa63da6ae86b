/* p4r_gc, the operation of `p4reg gc` (docs/commands.md, "gc"): first a
 * retention policy when asked (--keep-last N: each model's versions
 * beyond its newest N deleted under the one rule of p4reg rm, ops/rm.h),
 * then the store's garbage (store/gc.c), then a remote's (-r NAME: its
 * unfinished uploads and the objects no live version in its log needs,
 * store/gc_remote.c). */
#ifndef P4REG_OPS_GC_H
#define P4REG_OPS_GC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p4reg/gc.h"
#include "p4reg/ops/op.h"
#include "p4reg/registry.h"
#include "p4reg/remote.h"
#include "p4reg/repo.h"
#include "p4reg/version_objects.h"

/* The most versions --keep-last may keep (a version number's range). */
#define P4R_GC_KEEP_LAST_MAX INT64_C(2147483647)

typedef struct p4r_gc_op_opts {
	p4r_gc_opts gc;             /* dry_run, grace_s, now_s: for every part */
	int64_t keep_last;          /* 1..P4R_GC_KEEP_LAST_MAX: keep each model's newest N
				     * live versions, delete the rest the rule lets go;
				     * 0: no retention */
	bool keep_stages;           /* retention also keeps every version that ever entered
				     * validation, staging or production */
	const char *const *models;  /* the models retention looks at; none: every model */
	size_t nmodels;
	const char *remote;         /* -r NAME: also collect there; nullable */
} p4r_gc_op_opts;

/* Why retention kept a version older than the newest N (bits). */
enum {
	P4R_KEPT_STAGE = 1,         /* it is in validation, staging or production */
	P4R_KEPT_ALIAS = 2,         /* an alias names it */
	P4R_KEPT_ROLLBACK = 4,      /* rollback would return to it */
	P4R_KEPT_HELD_STAGE = 8,    /* --keep-stages: it once entered one of those stages */
};

/* A version older than its model's newest N: deleted, or kept by a rule. */
typedef struct p4r_retain_item {
	char model[P4R_MODEL_NAME_MAX + 1];
	int64_t number;
	p4r_stage stage;            /* its stage before */
	bool deleted;               /* deleted (in a dry run: would be); else kept */
	unsigned kept;              /* P4R_KEPT_* bits; 0 when deleted */
	char kept_by[512];          /* the rule's words, as p4reg rm gives them ("it is in
				     * production, alias 'champion' names it"), or "it was in
				     * production (--keep-stages)"; "" when deleted */
	p4r_oid oid;                /* its object (a folder version: its manifest) */
	int64_t size;
	p4r_version_kind kind;
	size_t freed_objects;       /* deleted: its objects no live version needs now, */
	uint64_t freed_bytes;       /* each counted once (at the first deleted version) */
	bool files_unknown;         /* a folder whose manifest is not here: files not counted */
} p4r_retain_item;

typedef struct p4r_retention_result {
	p4r_retain_item *items;     /* model by model (as named, else by name), oldest first */
	size_t nitems, cap;
	size_t models;              /* models looked at */
	size_t deleted, kept;       /* items deleted, items kept by a rule */
	p4r_objects freed;          /* objects no live version needs after the deletions, with
				     * their sizes (shared with a live version: not here) */
	uint64_t freed_bytes;
	char reason[64];            /* the deletions' reason: "gc --keep-last 3" */
} p4r_retention_result;

typedef struct p4r_gc_op_result {
	p4r_retention_result retention;        /* when OPTS->keep_last */
	p4r_gc_result store;                   /* the local store */
	char remote[P4R_REMOTE_NAME_MAX + 1];  /* the remote's name; "" without -r */
	p4r_gc_remote_result uploads;          /* its unfinished uploads (S3) */
	p4r_gc_remote_objects_result objects;  /* its objects */
} p4r_gc_op_result;

/* Runs gc per OPTS into OUT (zeroed on entry; free with
 * p4r_gc_op_result_free even on failure). A remote that cannot be opened
 * stops gc before anything is deleted.
 *
 * Retention, in ONE transaction for all the models: for each model
 * (OPTS->models, each checked first: P4R_ENOTFOUND "unknown model 'x'"
 * with a did-you-mean hint; else every model), every live version but the
 * newest OPTS->keep_last (by number) is deleted unless p4r_rm_rules keeps
 * it (a stage holder, an alias holder, rollback's target) or, with
 * keep_stages, it ever entered validation, staging or production. Never
 * forced. Each deletion is a "delete" event by the repository's actor with
 * the reason OUT->retention.reason, and travels to remotes on push. Then
 * the store's gc runs: after the commit, or, in a dry run, inside the
 * transaction before it is rolled back, so a dry run reports exactly the
 * versions and objects a real run deletes and changes nothing. A version
 * named in the work tree's pointer that is deleted is a note (REPORT).
 *
 * With OPTS->remote: p4r_gc_remote (unfinished uploads), then
 * p4r_gc_remote_objects (gc.h); the remote's own log decides, so
 * deletions made here reach it only after a push. */
int p4r_gc(p4r_repo *repo, const p4r_gc_op_opts *opts, const p4r_op_report *report,
	   p4r_gc_op_result *out);

void p4r_gc_op_result_free(p4r_gc_op_result *r);

#endif
