/* p4r_show and p4r_cat: one version, in full or as its bytes (see
 * ops/show.h). */
#include "p4reg/ops/show.h"
#include "ops/checkout_priv.h"
#include "p4reg/error.h"
#include "p4reg/ref.h"

#include <string.h>

/* Resolves OPTS->ref and, when FETCH_IT, makes sure its bytes are in the
 * store, verified as they come (progress as LABEL, none when NULL: cat's
 * stdout is the bytes). The remote settings are read first (core.offline). */
static int resolve_and_fetch(p4r_repo *repo, const p4r_show_opts *opts, bool fetch_it,
			     const char *label, const p4r_op_report *report, p4r_version *v)
{
	p4r_op_step step = { report, label };
	p4r_sync_progress prog = { p4r_op_step_progress, &step };
	p4r_ondemand fetch = { .remote = opts->remote, .offline = opts->offline };
	int rc;

	if ((rc = p4r_ondemand_config(repo, &fetch)) < 0 || (rc = p4r_ref_resolve(repo, opts->ref, v)) < 0 ||
	    !fetch_it)
		return rc;
	fetch.progress = label ? &prog : NULL;
	if (report) {
		fetch.on_damage = report->repaired;
		fetch.damage_payload = report->payload;
	}
	return p4r_ondemand_fetch(repo, &fetch, v, 1, NULL);
}

int p4r_show(p4r_repo *repo, const p4r_show_opts *opts, const p4r_op_report *report,
	     p4r_show_result *out)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	bool damaged = false;
	int rc;

	if ((rc = resolve_and_fetch(repo, opts, opts->verify, "downloading", report,
				     &out->version)) < 0 ||
	    (opts->verify && (rc = p4r_store_verify(p4r_repo_store(repo), &out->version.oid)) < 0))
		return rc;
	out->verified = opts->verify;
	out->stored = p4r_store_has(p4r_repo_store(repo), &out->version.oid);
	if ((rc = p4r_metrics_table(reg, &out->version, 1, &out->metrics)) < 0 ||
	    (rc = p4r_registry_damage_get(reg, &out->version.oid, &out->damage, &damaged)) < 0)
		return rc;
	/* a damaged object that came back is history, not a state */
	out->damaged = damaged && !out->damage.repaired_ms && !out->stored;
	return 0;
}

void p4r_show_result_free(p4r_show_result *r)
{
	if (!r)
		return;
	p4r_version_clear(&r->version);
	p4r_metric_table_clear(&r->metrics);
	memset(r, 0, sizeof(*r));
}

int p4r_cat(p4r_repo *repo, const p4r_show_opts *opts, const p4r_op_report *report, int fd)
{
	p4r_version v = { 0 };
	int rc = resolve_and_fetch(repo, opts, true, NULL, report, &v);

	if (rc == 0)
		rc = p4r_store_write_to_fd(p4r_repo_store(repo), &v.oid, fd);
	p4r_version_clear(&v);
	return rc;
}
