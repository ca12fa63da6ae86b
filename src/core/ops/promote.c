/* p4r_promote: the gates from the command line and the config, then the
 * lifecycle's transaction (see ops/promote.h). */
#include "p4reg/ops/promote.h"
#include "p4reg/error.h"
#include "p4reg/ref.h"

#include <stdlib.h>

int p4r_promote(p4r_repo *repo, const p4r_promote_opts *opts, const p4r_op_report *report,
		p4r_promotion *out)
{
	p4r_promote_req req = { .force = opts->force, .reason = opts->reason, .dry_run = opts->dry_run };
	p4r_version v = { 0 };
	p4r_gate *gates = NULL;
	size_t ngates = 0;
	char *actor = NULL;
	int rc;

	(void)report;
	if ((rc = p4r_stage_parse(&req.to, opts->to)) < 0 ||
	    (rc = p4r_lifecycle_gates(&gates, &ngates, p4r_repo_config(repo), req.to,
				      opts->require, opts->nrequire, opts->experiment)) < 0 ||
	    (rc = p4r_ref_resolve(repo, opts->ref, &v)) < 0)
		goto done;
	if (!(actor = p4r_repo_actor(repo))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	req.model = v.model;
	req.number = v.number;
	req.gates = gates;
	req.ngates = ngates;
	req.actor = actor;
	rc = p4r_lifecycle_promote(p4r_repo_registry(repo), &req, out);
done:
	p4r_version_clear(&v);
	free(gates);
	free(actor);
	return rc;
}
