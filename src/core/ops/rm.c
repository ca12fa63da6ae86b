/* p4r_rm (ops/rm.h): delete a version, unless its stage, an alias or
 * rollback still needs it. */
#include "p4reg/ops/rm.h"
#include "p4reg/deletion.h"
#include "p4reg/error.h"
#include "p4reg/lifecycle.h"
#include "p4reg/pointer.h"
#include "p4reg/ref.h"
#include "p4reg/worktree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends "; WHY" (or WHY first) to OUT->refusal. */
static void add_reason(p4r_rm_result *out, const char *why)
{
	size_t used = strlen(out->refusal);

	snprintf(out->refusal + used, sizeof(out->refusal) - used, "%s%s", used ? ", " : "", why);
}

int p4r_rm_rules(p4r_registry *reg, p4r_rm_result *out)
{
	int64_t target = 0;
	int rc;

	if ((rc = p4r_lifecycle_rollback_target(reg, out->version.model, &target)) < 0)
		return rc;
	return p4r_rm_rules_known(reg, target, out);
}

int p4r_rm_rules_known(p4r_registry *reg, int64_t rollback_target, p4r_rm_result *out)
{
	const p4r_version *v = &out->version;
	char model[P4R_MODEL_NAME_MAX + 1], why[160];
	int64_t number = v->number;
	int rc;

	/* as it is under the write lock: a promotion may have come between
	 * the caller's look and the lock */
	snprintf(model, sizeof(model), "%s", v->model);
	p4r_version_clear(&out->version);
	if ((rc = p4r_registry_version_get(reg, model, number, &out->version)) < 0)
		return rc;
	if (v->stage != P4R_STAGE_DEVELOPMENT && v->stage != P4R_STAGE_ARCHIVED) {
		snprintf(why, sizeof(why), "it is in %s", p4r_stage_name(v->stage));
		add_reason(out, why);
	}
	if ((rc = p4r_registry_alias_of(reg, v->id, &out->aliases, &out->naliases)) < 0)
		return rc;
	if (out->naliases) {
		snprintf(why, sizeof(why), "alias '%s'%s names it", out->aliases[0].name,
			 out->naliases > 1 ? " (and others)" : "");
		add_reason(out, why);
	}
	if ((out->rollback_target = rollback_target != 0 && rollback_target == v->number))
		add_reason(out, "rollback would return to it");
	return 0;
}

/* Inside the transaction: the rules, then the deletion. */
static int rm_txn(p4r_registry *reg, const p4r_rm_opts *opts, const char *actor, p4r_rm_result *out)
{
	const p4r_version *v = &out->version;
	p4r_delete_req req = { .actor = actor, .reason = opts->reason };
	int rc;

	if ((rc = p4r_rm_rules(reg, out)) < 0)
		return rc;
	req.model = v->model;
	req.number = v->number;
	if (out->refusal[0] && !opts->force)
		return p4r_error_set(P4R_EREFUSED, "cannot delete '%s@%lld': %s; --force deletes it anyway",
				     v->model, (long long)v->number, out->refusal);
	out->forced = req.forced = out->refusal[0] != '\0';
	if ((rc = p4r_registry_version_delete(reg, &req)) < 0)
		return rc;
	return p4r_registry_oid_referenced(reg, &v->oid, &out->object_kept);
}

/* The work-tree path whose pointer names the deleted version, if any. */
static void find_checked_out(p4r_repo *repo, const p4r_op_report *report, p4r_rm_result *out)
{
	const p4r_version *v = &out->version;
	p4r_model m = { 0 };
	p4r_pointer ptr;

	if (p4r_registry_model_get(p4r_repo_registry(repo), v->model, &m) == 0 &&
	    p4r_worktree_read_pointer(repo, m.path, &ptr) == 0 && !strcmp(ptr.model, v->model) &&
	    ptr.version == v->number && (out->checked_out = strdup(m.path)))
		p4r_op_note(report, "'%s' holds %s@%lld, which is %s: the file and its pointer stay"
			    " (p4reg checkout %s replaces them)", m.path, v->model, (long long)v->number,
			    out->deleted ? "deleted now" : "what rm would delete", v->model);
	p4r_error_clear();
	p4r_model_clear(&m);
}

int p4r_rm(p4r_repo *repo, const p4r_rm_opts *opts, const p4r_op_report *report, p4r_rm_result *out)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	char *actor = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = p4r_ref_resolve(repo, opts->ref, &out->version)) < 0)
		return rc;
	if (!(actor = p4r_repo_actor(repo)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	if ((rc = p4r_registry_begin(reg)) == 0) {
		if ((rc = rm_txn(reg, opts, actor, out)) < 0 || opts->dry_run)
			p4r_registry_abort(reg);
		else
			rc = p4r_registry_commit(reg);
	}
	free(actor);
	if (rc < 0)
		return rc;
	out->deleted = !opts->dry_run;
	find_checked_out(repo, report, out);
	return 0;
}

void p4r_rm_result_free(p4r_rm_result *r)
{
	if (!r)
		return;
	p4r_version_clear(&r->version);
	p4r_alias_array_free(r->aliases, r->naliases);
	free(r->checked_out);
	memset(r, 0, sizeof(*r));
}
