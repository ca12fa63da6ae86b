/* p4r_log: the versions `p4reg log` lists (ops/log.h). The conditions are
 * gates' syntax, parsed by the lifecycle's parser, and asked of SQL. */
#include "p4reg/ops/log.h"
#include "p4reg/error.h"
#include "p4reg/lifecycle.h"

#include <stdlib.h>
#include <string.h>

/* EXPR as a --where condition: a gate with a number on the right. */
static int where_parse(p4r_gate *out, const char *expr)
{
	static const char gate[] = "invalid gate";
	const char *msg;

	if (p4r_gate_parse(out, expr, NULL) < 0) {
		msg = p4r_error_message();
		/* the gate parser's words, said of the option */
		if (!strncmp(msg, gate, sizeof(gate) - 1))
			return p4r_error_set(P4R_EUSAGE, "invalid --where%s", msg + sizeof(gate) - 1);
		return p4r_error_code();
	}
	if (out->vs_stage)
		return p4r_error_set(P4R_EUSAGE, "invalid --where '%s': compare with a number ('%s' is a "
				     "stage: promote --require compares with a stage's version)", expr, out->right);
	return 0;
}

static int where_all(p4r_gate **out, const p4r_log_opts *opts)
{
	size_t i;
	int rc;

	*out = NULL;
	if (opts->nwhere > P4R_WHERE_MAX)
		return p4r_error_set(P4R_EUSAGE, "at most %d --where conditions", P4R_WHERE_MAX);
	if (opts->nwhere && !(*out = calloc(opts->nwhere, sizeof(**out))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < opts->nwhere; i++)
		if ((rc = where_parse(&(*out)[i], opts->where[i])) < 0)
			return rc;
	return 0;
}

int p4r_log(p4r_repo *repo, const p4r_log_opts *opts, const p4r_op_report *report, p4r_log_result *out)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_version_query q = { .model = opts->model, .since_ms = opts->since_ms,
				.until_ms = opts->until_ms, .limit = opts->limit };
	p4r_gate *where = NULL;
	int rc;

	(void)report;
	memset(out, 0, sizeof(*out));
	if (opts->limit < 0 || (opts->until_ms && opts->until_ms < opts->since_ms))
		return p4r_error_set(P4R_EUSAGE, opts->limit < 0 ? "invalid -n: a count from 1"
				     : "--until is before --since: no version can match");
	if ((rc = where_all(&where, opts)) < 0)
		goto done;
	q.where = where;
	q.nwhere = opts->nwhere;
	if ((rc = p4r_registry_model_get(reg, opts->model, &out->model)) < 0 ||
	    (rc = p4r_metrics_version_query(reg, &q, &out->versions, &out->n)) < 0)
		goto done;
	/* one query for every listed version's metrics, not one per version */
	if ((rc = p4r_metrics_table(reg, out->versions, out->n, &out->metrics)) < 0 ||
	    (rc = p4r_registry_tags_get(reg, opts->model, 0, &out->model_tags)) < 0 ||
	    (rc = p4r_registry_tags_versions(reg, out->versions, out->n, &out->version_tags)) < 0)
		goto done;
	rc = p4r_registry_alias_list(reg, opts->model, &out->aliases, &out->naliases);
done:
	free(where);
	return rc;
}

void p4r_log_result_free(p4r_log_result *r)
{
	if (!r)
		return;
	p4r_metric_table_clear(&r->metrics);
	p4r_tags_clear(&r->model_tags);
	p4r_tags_clear(&r->version_tags);
	p4r_alias_array_free(r->aliases, r->naliases);
	p4r_version_array_free(r->versions, r->n);
	p4r_model_clear(&r->model);
	memset(r, 0, sizeof(*r));
}
