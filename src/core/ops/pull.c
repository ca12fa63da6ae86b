/* p4r_pull: fetch, then checkout (see ops/pull.h). */
#include "p4reg/ops/pull.h"
#include "ops/checkout_priv.h"
#include "p4reg/error.h"

#include <string.h>

int p4r_pull(p4r_repo *repo, const p4r_pull_opts *opts, const p4r_op_report *report,
	     p4r_pull_result *out)
{
	p4r_checkout_opts co = { .args = opts->args, .nargs = opts->nargs, .force = opts->force };
	p4r_checkout_plan plan = { .opts = &co, .got = &out->sync };
	int rc;

	if ((rc = p4r_remote_open(&out->remote, p4r_repo_config(repo), p4r_repo_meta(repo),
				  opts->remote)) < 0 ||
	    (rc = p4r_repo_autostage(repo, opts->no_stage, &plan.stage)) < 0 ||
	    (rc = p4r_sync_fetch_events(repo, out->remote, &out->sync)) < 0)
		return rc;
	out->fetched = true;
	/* The versions named come through the objects-on-demand path of
	 * checkout (from this remote, whatever core.offline says: pulling is
	 * asking for the network); every pointer comes straight from the
	 * remote through the object guard, Git LFS paths left to git-lfs. */
	if (opts->nargs)
		plan.fetch.remote = out->remote->name;
	else
		plan.remote = out->remote;
	return p4r_checkout_run(repo, &plan, report, &out->checkout);
}

void p4r_pull_result_free(p4r_pull_result *r)
{
	if (!r)
		return;
	p4r_checkout_result_free(&r->checkout);
	p4r_sync_result_clear(&r->sync);
	p4r_remote_free(r->remote);
	memset(r, 0, sizeof(*r));
}
