/* p4r_fetch: the fetch operation (ops/fetch.h). */
#include "p4reg/ops/fetch.h"
#include "p4reg/error.h"
#include "p4reg/ref.h"
#include "p4reg/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fetch_progress(uint64_t done, uint64_t total, void *payload)
{
	p4r_op_progress(payload, "fetch", done, total);
}

/* The objects OPTS asks for: every version's, or its REFs' versions'. */
static int wanted_objects(p4r_repo *repo, const p4r_fetch_opts *opts, p4r_oid **oids,
			  int64_t **sizes, size_t *n)
{
	size_t i;
	int rc = 0;

	*oids = NULL;
	*sizes = NULL;
	*n = 0;
	if (opts->all_objects)
		return p4r_registry_sync_objects(p4r_repo_registry(repo), NULL, 0, oids, sizes, n);
	if (!opts->n_refs)
		return 0;
	*oids = calloc(opts->n_refs, sizeof(**oids));
	*sizes = calloc(opts->n_refs, sizeof(**sizes));
	if (!*oids || !*sizes)
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < opts->n_refs; i++) {
		p4r_version v = { 0 };

		if ((rc = p4r_ref_resolve(repo, opts->refs[i], &v)) < 0)
			return rc;
		(*oids)[*n] = v.oid;
		(*sizes)[(*n)++] = v.size;
		p4r_version_clear(&v);
	}
	return 0;
}

int p4r_fetch(p4r_repo *repo, const p4r_fetch_opts *opts, const p4r_op_report *report,
	      p4r_fetch_result *out)
{
	p4r_sync_progress prog = { .fn = fetch_progress, .payload = (void *)report };
	p4r_remote *r = NULL;
	p4r_oid *oids = NULL;
	int64_t *sizes = NULL;
	size_t n = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = p4r_remote_open(&r, p4r_repo_config(repo), p4r_repo_meta(repo), opts->remote)) < 0)
		return rc;
	snprintf(out->remote, sizeof(out->remote), "%s", r->name);
	if (opts->skip_batch > 0 && (rc = p4r_sync_skip_batch(repo, r, opts->skip_batch, &out->skip)) < 0) {
		memset(&out->skip, 0, sizeof(out->skip)); /* nothing was skipped */
		goto done;
	}
	if ((rc = p4r_sync_fetch_events(repo, r, &out->sync)) < 0 ||
	    (rc = wanted_objects(repo, opts, &oids, &sizes, &n)) < 0)
		goto done;
	rc = p4r_sync_fetch_objects(repo, r, oids, sizes, n, &prog, &out->sync);
done:
	free(oids);
	free(sizes);
	p4r_remote_free(r);
	return rc;
}

void p4r_fetch_result_free(p4r_fetch_result *r)
{
	if (r)
		p4r_sync_result_clear(&r->sync);
}
