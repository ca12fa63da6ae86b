/* gc --keep-last N (ops/gc.h): each model's versions beyond its newest N
 * deleted under p4reg rm's rule (p4r_rm_rules), in the caller's one
 * transaction, then what the deletions free counted exactly. */
#include "ops/gc_priv.h"
#include "p4reg/deletion.h"
#include "p4reg/error.h"
#include "p4reg/lifecycle.h"
#include "p4reg/ops/rm.h"
#include "p4reg/pointer.h"
#include "p4reg/retention.h"
#include "p4reg/worktree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One retention run. */
struct run {
	p4r_repo *repo;
	p4r_registry *reg;
	const p4r_gc_op_opts *opts;
	const p4r_op_report *report;
	const char *actor;
	p4r_retention_result *out;
};

static int item_new(p4r_retention_result *out, const p4r_version *v, p4r_retain_item **it)
{
	if (out->nitems == out->cap) {
		size_t ncap = out->cap ? out->cap * 2 : 16;
		void *p = realloc(out->items, ncap * sizeof(*out->items));

		if (!p)
			return p4r_error_set(P4R_ERROR, "out of memory");
		out->items = p;
		out->cap = ncap;
	}
	*it = &out->items[out->nitems++];
	memset(*it, 0, sizeof(**it));
	snprintf((*it)->model, sizeof((*it)->model), "%s", v->model);
	(*it)->number = v->number;
	(*it)->stage = v->stage;
	(*it)->oid = v->oid;
	(*it)->size = v->size;
	(*it)->kind = v->kind;
	return 0;
}

/* The rule's findings as P4R_KEPT_* bits. */
static unsigned kept_bits(const p4r_rm_result *r)
{
	const p4r_version *v = &r->version;

	return (v->stage != P4R_STAGE_DEVELOPMENT && v->stage != P4R_STAGE_ARCHIVED ? P4R_KEPT_STAGE : 0) |
	       (r->naliases ? P4R_KEPT_ALIAS : 0) | (r->rollback_target ? P4R_KEPT_ROLLBACK : 0);
}

/* --keep-stages: IT is kept when its version ever entered validation,
 * staging or production. */
static int held_stage(p4r_registry *reg, const p4r_version *v, p4r_retain_item *it)
{
	p4r_stage reached;
	int rc;

	if ((rc = p4r_registry_stage_reached(reg, v->id, &reached)) < 0 || reached == P4R_STAGE_DEVELOPMENT)
		return rc;
	it->kept = P4R_KEPT_HELD_STAGE;
	snprintf(it->kept_by, sizeof(it->kept_by), "it was in %s (--keep-stages)", p4r_stage_name(reached));
	return 0;
}

/* Decides version NUMBER of MODEL (whose rollback target is TARGET), then
 * deletes it or records the rule. */
static int retain_one(struct run *run, const char *model, int64_t number, int64_t target)
{
	p4r_rm_result r = { 0 };
	p4r_delete_req req = { .model = model, .number = number, .actor = run->actor,
			       .reason = run->out->reason };
	p4r_retain_item *it = NULL;
	int rc;

	snprintf(r.version.model, sizeof(r.version.model), "%s", model);
	r.version.number = number;
	if ((rc = p4r_rm_rules_known(run->reg, target, &r)) < 0 ||
	    (rc = item_new(run->out, &r.version, &it)) < 0)
		goto done;
	if ((it->kept = kept_bits(&r)))
		snprintf(it->kept_by, sizeof(it->kept_by), "%s", r.refusal);
	else if (run->opts->keep_stages && (rc = held_stage(run->reg, &r.version, it)) < 0)
		goto done;
	if (it->kept) {
		run->out->kept++;
	} else if ((rc = p4r_registry_version_delete(run->reg, &req)) == 0) {
		it->deleted = true;
		run->out->deleted++;
	}
done:
	p4r_rm_result_free(&r);
	return rc;
}

/* A note when the work tree's pointer of model M names a version this
 * run deleted (items from FIRST on): the file and pointer stay, as rm's. */
static void note_checked_out(const struct run *run, const p4r_model *m, size_t first)
{
	const p4r_retention_result *out = run->out;
	p4r_pointer ptr;
	size_t i;

	if (p4r_worktree_read_pointer(run->repo, m->path, &ptr) < 0) {
		p4r_error_clear();
		return;
	}
	for (i = first; i < out->nitems; i++)
		if (out->items[i].deleted && out->items[i].number == ptr.version && !strcmp(ptr.model, m->name))
			p4r_op_note(run->report, "'%s' holds %s@%lld, which gc %s: the file and its pointer "
				    "stay (p4reg checkout %s replaces them)", m->path, m->name,
				    (long long)ptr.version, run->opts->gc.dry_run ? "would delete" : "deleted",
				    m->name);
}

/* Every live version of M older than its newest N, oldest first. The
 * rollback target is asked once: the rule never lets it go, and deleting
 * any other version leaves it the target. */
static int retain_model(struct run *run, const p4r_model *m)
{
	p4r_version *v = NULL;
	size_t n = 0, i, first = run->out->nitems;
	int64_t target = 0;
	int rc;

	if ((rc = p4r_lifecycle_rollback_target(run->reg, m->name, &target)) < 0 ||
	    (rc = p4r_registry_version_list(run->reg, m->name, &v, &n)) < 0)
		return rc;
	/* highest number first: the newest N are v[0..N) */
	for (i = n; rc == 0 && i > (size_t)run->opts->keep_last; i--)
		rc = retain_one(run, m->name, v[i - 1].number, target);
	p4r_version_array_free(v, n);
	run->out->models++;
	if (rc == 0 && run->out->nitems > first)
		note_checked_out(run, m, first);
	return rc;
}

/* The models OPTS names (each checked, a repeat once), else every model;
 * *OUT owned (p4r_model_array_free). Unknown names stop the run before
 * anything is deleted. */
static int pick_models(p4r_registry *reg, const p4r_gc_op_opts *opts, p4r_model **out, size_t *n)
{
	size_t i, k;
	int rc = 0;

	if (!opts->nmodels)
		return p4r_registry_model_list(reg, out, n);
	*n = 0;
	if (!(*out = calloc(opts->nmodels, sizeof(**out))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; rc == 0 && i < opts->nmodels; i++) {
		const char *name = opts->models[i];

		for (k = 0; k < *n && strcmp((*out)[k].name, name); k++)
			;
		if (k < *n)
			continue;
		if (!p4r_model_name_valid(name))
			rc = p4r_error_set(P4R_EUSAGE, "invalid model name '%s'", name);
		else if ((rc = p4r_registry_model_get(reg, name, &(*out)[*n])) == 0)
			(*n)++;
		else
			p4r_model_clear(&(*out)[*n]);
	}
	return rc;
}

/* An object of a deleted version (ITEM in the result). */
struct owned {
	p4r_oid oid;
	int64_t size;
	size_t item;
};

static int owned_cmp(const void *a, const void *b)
{
	const struct owned *x = a, *y = b;
	int c = strcmp(x->oid.hex, y->oid.hex);

	return c ? c : (x->item > y->item) - (x->item < y->item);
}

/* Appends the objects of deleted item I to *O (*N, *CAP). */
static int own_objects(struct run *run, size_t i, struct owned **o, size_t *n, size_t *cap)
{
	p4r_retain_item *it = &run->out->items[i];
	p4r_version v = { .number = it->number, .oid = it->oid, .size = it->size, .kind = it->kind };
	p4r_objects objs = { 0 };
	size_t k;
	int rc;

	snprintf(v.model, sizeof(v.model), "%s", it->model);
	if ((rc = p4r_version_objects(run->repo, &v, &objs, &it->files_unknown)) < 0)
		goto done;
	if (*n + objs.n > *cap) {
		size_t ncap = (*n + objs.n) * 2;
		void *p = realloc(*o, ncap * sizeof(**o));

		if (!p) {
			rc = p4r_error_set(P4R_ERROR, "out of memory");
			goto done;
		}
		*o = p;
		*cap = ncap;
	}
	for (k = 0; k < objs.n; k++)
		(*o)[(*n)++] = (struct owned){ objs.oid[k], objs.size[k], i };
done:
	p4r_objects_clear(&objs);
	return rc;
}

/* What the deletions free: each object of a deleted version that no live
 * version needs now, counted once, at the first deleted version (in the
 * result's order) that had it. */
static int count_freed(struct run *run)
{
	p4r_retention_result *out = run->out;
	struct owned *o = NULL;
	size_t n = 0, cap = 0, i;
	bool used;
	int rc = 0;

	for (i = 0; rc == 0 && i < out->nitems; i++)
		if (out->items[i].deleted)
			rc = own_objects(run, i, &o, &n, &cap);
	if (n)
		qsort(o, n, sizeof(*o), owned_cmp);
	for (i = 0; rc == 0 && i < n; i++) {
		p4r_retain_item *it = &out->items[o[i].item];

		if ((i > 0 && p4r_oid_equal(&o[i].oid, &o[i - 1].oid)) ||
		    (rc = p4r_registry_oid_referenced(run->reg, &o[i].oid, &used)) < 0 || used)
			continue;
		if ((rc = p4r_objects_add(&out->freed, &o[i].oid, o[i].size)) < 0)
			break;
		it->freed_objects++;
		it->freed_bytes += (uint64_t)o[i].size;
		out->freed_bytes += (uint64_t)o[i].size;
	}
	free(o);
	return rc;
}

int p4r_gc_retain(p4r_repo *repo, const p4r_gc_op_opts *opts, const p4r_op_report *report,
		  p4r_retention_result *out)
{
	struct run run = { repo, p4r_repo_registry(repo), opts, report, NULL, out };
	p4r_model *m = NULL;
	size_t nm = 0, i;
	char *actor = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(out->reason, sizeof(out->reason), "gc --keep-last %lld%s", (long long)opts->keep_last,
		 opts->keep_stages ? " --keep-stages" : "");
	if (!(actor = p4r_repo_actor(repo)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	run.actor = actor;
	rc = pick_models(run.reg, opts, &m, &nm);
	for (i = 0; rc == 0 && i < nm; i++)
		rc = retain_model(&run, &m[i]);
	if (rc == 0)
		rc = count_freed(&run);
	p4r_model_array_free(m, nm);
	free(actor);
	return rc;
}

void p4r_retention_result_clear(p4r_retention_result *r)
{
	if (!r)
		return;
	free(r->items);
	p4r_objects_clear(&r->freed);
	memset(r, 0, sizeof(*r));
}
