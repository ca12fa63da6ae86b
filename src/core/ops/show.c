/* p4r_show and p4r_cat: one version, in full or as its bytes (see
 * ops/show.h). */
#include "p4reg/ops/show.h"
#include "ops/checkout_priv.h"
#include "p4reg/error.h"
#include "p4reg/ref.h"

#include <stdio.h>
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

/* The manifest of the folder version V. */
static int load_manifest(p4r_repo *repo, const p4r_version *v, p4r_manifest *m)
{
	char what[P4R_MODEL_NAME_MAX + 64];

	snprintf(what, sizeof(what), "manifest of %s@%lld", v->model, (long long)v->number);
	return p4r_manifest_load(repo, &v->oid, what, m);
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
	    (rc = p4r_registry_damage_get(reg, &out->version.oid, &out->damage, &damaged)) < 0 ||
	    (rc = p4r_registry_tags_get(reg, out->version.model, out->version.number, &out->tags)) < 0 ||
	    (rc = p4r_registry_alias_of(reg, out->version.id, &out->aliases, &out->naliases)) < 0)
		return rc;
	/* a damaged object that came back is history, not a state */
	out->damaged = damaged && !out->damage.repaired_ms && !out->stored;
	if (out->version.kind != P4R_KIND_DIR)
		return 0;
	rc = load_manifest(repo, &out->version, &out->files);
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear(); /* not downloaded: listed once it is */
		rc = 0;
	}
	return rc;
}

void p4r_show_result_free(p4r_show_result *r)
{
	if (!r)
		return;
	p4r_version_clear(&r->version);
	p4r_metric_table_clear(&r->metrics);
	p4r_manifest_clear(&r->files);
	p4r_tags_clear(&r->tags);
	p4r_alias_array_free(r->aliases, r->naliases);
	memset(r, 0, sizeof(*r));
}

/* The bytes of file OPTS->path of the folder version V. */
static int cat_in_folder(p4r_repo *repo, const p4r_show_opts *opts, const p4r_version *v, int fd)
{
	const p4r_manifest_entry *e;
	p4r_manifest m = { 0 };
	int rc;

	if (!opts->path)
		return p4r_error_set(P4R_EUSAGE, "cat of a folder version needs a file path inside it "
				     "(p4reg cat %s@%lld PATH)", v->model, (long long)v->number);
	if ((rc = load_manifest(repo, v, &m)) < 0)
		return rc;
	if (!(e = p4r_manifest_find(&m, opts->path)))
		rc = p4r_error_set(P4R_ENOTFOUND, "'%s' is not a file of %s@%lld", opts->path, v->model,
				   (long long)v->number);
	else
		rc = p4r_store_write_to_fd(p4r_repo_store(repo), &e->oid, fd);
	p4r_manifest_clear(&m);
	return rc;
}

int p4r_cat(p4r_repo *repo, const p4r_show_opts *opts, const p4r_op_report *report, int fd)
{
	p4r_version v = { 0 };
	int rc = resolve_and_fetch(repo, opts, true, NULL, report, &v);

	if (rc == 0 && v.kind == P4R_KIND_DIR)
		rc = cat_in_folder(repo, opts, &v, fd);
	else if (rc == 0 && opts->path)
		rc = p4r_error_set(P4R_EUSAGE, "%s@%lld is a file version; cat takes no path inside it",
				   v.model, (long long)v.number);
	else if (rc == 0)
		rc = p4r_store_write_to_fd(p4r_repo_store(repo), &v.oid, fd);
	p4r_version_clear(&v);
	return rc;
}
