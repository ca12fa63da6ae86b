/* A folder version put in the work tree: the manifest the folder's pointer
 * names now (OLD) and the target's (NEW), the folder made exactly NEW,
 * then its pointer and "/NAME/" line (checkout_priv.h). Checkout, pull and
 * rollback share it. */
#include "ops/checkout_priv.h"
#include "p4reg/error.h"
#include "p4reg/pointer.h"

#include <stdio.h>
#include <string.h>

/* OLD: the manifest the pointer at REL names now, when it is a folder
 * pointer the registry knows and the manifest is here; else none (every
 * file present is then known only by NEW's bytes). PEEK: a dry run's
 * (p4r_manifest_peek). */
static bool load_old(p4r_repo *repo, const char *rel, p4r_manifest *old, bool peek)
{
	char what[P4R_MODEL_NAME_MAX + 64];
	p4r_pointer ptr;
	bool ok;

	ok = p4r_worktree_read_pointer(repo, rel, &ptr) == 0 && ptr.dir &&
	     p4r_worktree_pointer_check(repo, rel, &ptr) == 0;
	if (ok) {
		snprintf(what, sizeof(what), "manifest of %s@%lld", ptr.model, (long long)ptr.version);
		ok = (peek ? p4r_manifest_peek : p4r_manifest_load)(repo, &ptr.oid, what, old) == 0;
	}
	p4r_error_clear();
	return ok;
}

int p4r_checkout_dir(p4r_repo *repo, const p4r_version *v, const char *rel,
		     const p4r_checkout_opts *opts, const p4r_op_report *report, p4r_dir_result *res,
		     p4r_placed *placed)
{
	char what[P4R_MODEL_NAME_MAX + 64];
	p4r_op_step step = { report, rel };
	p4r_manifest old = { 0 }, new_m = { 0 };
	bool have_old = load_old(repo, rel, &old, false);
	int rc;

	memset(placed, 0, sizeof(*placed));
	snprintf(what, sizeof(what), "manifest of %s@%lld", v->model, (long long)v->number);
	if ((rc = p4r_manifest_load(repo, &v->oid, what, &new_m)) == 0)
		rc = p4r_worktree_materialize_dir(repo, rel, have_old ? &old : NULL, &new_m, opts->order,
						  opts->norder, opts->force, res, p4r_op_step_progress, &step);
	if (rc == 0)
		rc = p4r_worktree_place_pointer(repo, v, rel, placed);
	p4r_manifest_clear(&old);
	p4r_manifest_clear(&new_m);
	return rc;
}

int p4r_checkout_dir_plan(p4r_repo *repo, const p4r_version *v, const char *rel, bool force,
			  p4r_dir_plan *out)
{
	char what[P4R_MODEL_NAME_MAX + 64];
	p4r_manifest old = { 0 }, new_m = { 0 };
	bool have_old = load_old(repo, rel, &old, true);
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(what, sizeof(what), "manifest of %s@%lld", v->model, (long long)v->number);
	if ((rc = p4r_manifest_peek(repo, &v->oid, what, &new_m)) == 0)
		rc = p4r_worktree_plan_dir(repo, rel, have_old ? &old : NULL, &new_m, force, out);
	p4r_manifest_clear(&old);
	p4r_manifest_clear(&new_m);
	return rc;
}
