/* p4r_gc (ops/gc.h): retention, then the store's garbage, then a
 * remote's. */
#include "ops/gc_priv.h"
#include "p4reg/error.h"

#include <stdio.h>
#include <string.h>

static int check_opts(const p4r_gc_op_opts *opts)
{
	if (opts->gc.grace_s < 0)
		return p4r_error_set(P4R_EUSAGE, "the grace period cannot be negative");
	if (opts->keep_last < 0 || opts->keep_last > P4R_GC_KEEP_LAST_MAX)
		return p4r_error_set(P4R_EUSAGE, "--keep-last must be a number from 1 to 2147483647");
	if (!opts->keep_last && opts->nmodels)
		return p4r_error_set(P4R_EUSAGE, "gc takes model names only with --keep-last");
	if (!opts->keep_last && opts->keep_stages)
		return p4r_error_set(P4R_EUSAGE, "--keep-stages needs --keep-last");
	return 0;
}

/* Retention and the store's gc. One transaction holds every deletion:
 * the run happens whole or not at all, and the objects it frees are
 * counted across models (one object may serve versions of two). A dry run
 * lets gc judge the store inside it, before it is rolled back, so it sees
 * exactly the deleted versions' garbage; a real run commits first and
 * never deletes an object a committed version still names. */
static int retain_and_collect(p4r_repo *repo, const p4r_gc_op_opts *opts, const p4r_op_report *report,
			      p4r_gc_op_result *out)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	int rc;

	if ((rc = p4r_registry_begin(reg)) < 0)
		return rc;
	rc = p4r_gc_retain(repo, opts, report, &out->retention);
	if (rc == 0 && opts->gc.dry_run)
		rc = p4r_gc_run(repo, &opts->gc, &out->store);
	if (rc < 0 || opts->gc.dry_run) {
		p4r_registry_abort(reg);
		return rc;
	}
	if ((rc = p4r_registry_commit(reg)) < 0)
		return rc;
	return p4r_gc_run(repo, &opts->gc, &out->store);
}

/* The store's and the remote's counts as the report's progress. */
static void gc_count(const p4r_progress *p, void *payload)
{
	p4r_op_progress_count(payload, p);
}

int p4r_gc(p4r_repo *repo, const p4r_gc_op_opts *given, const p4r_op_report *report,
	   p4r_gc_op_result *out)
{
	p4r_gc_op_opts with_report = *given, *opts = &with_report;
	p4r_remote *rem = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = check_opts(opts)) < 0)
		return rc;
	if (report && (report->count || report->progress)) {
		opts->gc.count = gc_count;
		opts->gc.payload = (void *)report;
	}
	/* a remote that cannot be opened stops gc before it deletes anything */
	if (opts->remote &&
	    (rc = p4r_remote_open(&rem, p4r_repo_config(repo), p4r_repo_meta(repo), opts->remote)) < 0)
		return rc;
	if (rem)
		snprintf(out->remote, sizeof(out->remote), "%s", rem->name);
	rc = opts->keep_last ? retain_and_collect(repo, opts, report, out) :
	     p4r_gc_run(repo, &opts->gc, &out->store);
	if (rc == 0 && rem && (rc = p4r_gc_remote(rem, &opts->gc, &out->uploads)) == 0)
		rc = p4r_gc_remote_objects(repo, rem, &opts->gc, &out->objects);
	p4r_remote_free(rem);
	return rc;
}

void p4r_gc_op_result_free(p4r_gc_op_result *r)
{
	if (!r)
		return;
	p4r_retention_result_clear(&r->retention);
	p4r_gc_result_clear(&r->store);
	p4r_gc_remote_result_clear(&r->uploads);
	p4r_gc_remote_objects_result_clear(&r->objects);
	memset(r, 0, sizeof(*r));
}
