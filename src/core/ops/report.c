/* p4r_report (ops/report.h): what the report page shows, gathered in one
 * read snapshot of the registry, drawn by report/html.c, and written to
 * the file the user named the way every p4reg file is written. */
#include "p4reg/ops/report.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/report_html.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The events of a stage timeline: moves between stages (a promotion's
 * detail holds its gates), rollbacks, their hooks, deletions. */
static const char *const timeline_kinds[] = { "promote", "rollback", "hook", "delete" };

#define REPORT_MODE 0644

/* ---- the output file ---- */

/* The page's file (p4r_dest_open): a folder there is a usage error. */
static int report_dest(p4r_dest *d, const char *path)
{
	int rc = p4r_dest_open(d, path);

	if (rc == 0 && d->isdir)
		rc = p4r_error_set(P4R_EUSAGE, "'%s' is a folder; give the path of the HTML file to write", path);
	return rc;
}

/* ---- one model ---- */

/* Adds the holder NUMBER of a stage to M's versions (highest number first)
 * when the limit left it out: the page always shows what is live. */
static int add_holder(p4r_registry *reg, p4r_report_model *m, int64_t number)
{
	p4r_version *grown;
	size_t i, at;
	int rc;

	if (number <= 0)
		return 0;
	for (i = 0; i < m->n; i++)
		if (m->versions[i].number == number)
			return 0;
	if (!(grown = realloc(m->versions, (m->n + 1) * sizeof(*grown))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	m->versions = grown;
	for (at = 0; at < m->n && m->versions[at].number > number; at++)
		;
	memmove(&m->versions[at + 1], &m->versions[at], (m->n - at) * sizeof(*grown));
	memset(&m->versions[at], 0, sizeof(*grown));
	m->n++;
	if ((rc = p4r_registry_version_get(reg, m->model.name, number, &m->versions[at])) < 0) {
		memmove(&m->versions[at], &m->versions[at + 1], (m->n - at - 1) * sizeof(*grown));
		m->n--;
	}
	return rc;
}

static ptrdiff_t row_of(const p4r_report_model *m, int64_t number)
{
	size_t i;

	for (i = 0; number > 0 && i < m->n; i++)
		if (m->versions[i].number == number)
			return (ptrdiff_t)i;
	return -1;
}

/* Production against staging, key by key (the keys either logged), as
 * `metrics A B` judges them. */
static int compare(p4r_report_model *m)
{
	size_t k;

	if (m->prod_row < 0 || m->staging_row < 0 || !m->metrics.nkeys)
		return 0;
	if (!(m->deltas = calloc(m->metrics.nkeys, sizeof(*m->deltas))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (k = 0; k < m->metrics.nkeys; k++) {
		p4r_report_delta *d = &m->deltas[m->ndeltas];

		d->prod = p4r_metric_table_get(&m->metrics, (size_t)m->prod_row, k);
		d->staging = p4r_metric_table_get(&m->metrics, (size_t)m->staging_row, k);
		if (!d->prod && !d->staging)
			continue;
		m->ndeltas++;
		d->key = m->metrics.keys[k];
		d->goal = m->goals[k];
		if (!d->prod || !d->staging || d->goal == P4R_GOAL_UNKNOWN)
			continue;
		if (d->prod->value == d->staging->value)
			d->better = "equal";
		else if ((d->staging->value > d->prod->value) == (d->goal == P4R_GOAL_MAX))
			d->better = "staging";
		else
			d->better = "production";
	}
	return 0;
}

/* The stage timeline: the last LIMIT events (one more asked for, to know
 * whether older ones were left out). */
static int timeline(p4r_registry *reg, p4r_report_model *m, int64_t limit)
{
	const size_t nkinds = sizeof(timeline_kinds) / sizeof(timeline_kinds[0]);
	int rc;

	/* -n 9223372036854775807 means every event: one more cannot be asked */
	if ((rc = p4r_registry_event_kinds(reg, m->model.name, timeline_kinds, nkinds,
					   limit < INT64_MAX ? limit + 1 : limit,
					   &m->events, &m->nevents)) < 0)
		return rc;
	if (m->nevents > (size_t)limit) {
		free(m->events[0].actor);
		free(m->events[0].reason);
		free(m->events[0].detail);
		memmove(&m->events[0], &m->events[1], (m->nevents - 1) * sizeof(*m->events));
		m->nevents--;
		m->events_cut = true;
	}
	return 0;
}

static int gather_model(p4r_repo *repo, const char *name, int64_t limit, p4r_report_model *m)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_version_query q = { .model = name, .limit = limit };
	size_t k;
	int rc;

	m->prod_row = m->staging_row = -1;
	if ((rc = p4r_registry_model_get(reg, name, &m->model)) < 0 ||
	    (rc = p4r_metrics_version_query(reg, &q, &m->versions, &m->n)) < 0 ||
	    (rc = add_holder(reg, m, m->model.production)) < 0 || (rc = add_holder(reg, m, m->model.staging)) < 0)
		return rc;
	m->omitted = m->model.version_count > (int64_t)m->n ? m->model.version_count - (int64_t)m->n : 0;
	m->prod_row = row_of(m, m->model.production);
	m->staging_row = row_of(m, m->model.staging);
	/* one query for every shown version's metrics */
	if ((rc = p4r_metrics_table(reg, m->versions, m->n, &m->metrics)) < 0)
		return rc;
	if (m->metrics.nkeys && !(m->goals = calloc(m->metrics.nkeys, sizeof(*m->goals))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (k = 0; k < m->metrics.nkeys; k++)
		if ((rc = p4r_metric_goal_get(&m->goals[k], p4r_repo_config(repo), m->metrics.keys[k])) < 0)
			return rc;
	if ((rc = p4r_registry_tags_get(reg, name, 0, &m->model_tags)) < 0 ||
	    (rc = p4r_registry_tags_versions(reg, m->versions, m->n, &m->version_tags)) < 0 ||
	    (rc = p4r_registry_alias_list(reg, name, &m->aliases, &m->naliases)) < 0 ||
	    (rc = timeline(reg, m, limit)) < 0)
		return rc;
	return compare(m);
}

static void model_clear(p4r_report_model *m)
{
	p4r_model_clear(&m->model);
	p4r_version_array_free(m->versions, m->n);
	p4r_metric_table_clear(&m->metrics);
	free(m->goals);
	p4r_tags_clear(&m->model_tags);
	p4r_tags_clear(&m->version_tags);
	p4r_alias_array_free(m->aliases, m->naliases);
	p4r_event_array_free(m->events, m->nevents);
	free(m->deltas);
	memset(m, 0, sizeof(*m));
}

/* ---- every model ---- */

/* The names to show into *NAMES (borrowed strings; the array is malloc'd):
 * OPTS's in their order, each once, else every model's by name (their
 * rows in *ALL, freed by the caller). An unknown name fails later, in
 * gather_model, with the closest name as a hint. */
static int model_names(p4r_registry *reg, const p4r_report_opts *opts, const char ***names, size_t *n,
		       p4r_model **all, size_t *nall)
{
	size_t i, j;
	int rc;

	*n = 0;
	if (!opts->nmodels && (rc = p4r_registry_model_list(reg, all, nall)) < 0)
		return rc;
	if (!(*names = calloc(opts->nmodels ? opts->nmodels : *nall ? *nall : 1, sizeof(**names))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < opts->nmodels; i++) {
		for (j = 0; j < *n && strcmp((*names)[j], opts->models[i]); j++)
			;
		if (j == *n)
			(*names)[(*n)++] = opts->models[i];
	}
	for (i = 0; !opts->nmodels && i < *nall; i++)
		(*names)[(*n)++] = (*all)[i].name;
	return 0;
}

static int gather(p4r_repo *repo, const p4r_report_opts *opts, p4r_report_result *out)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_model *all = NULL;
	const char **names = NULL;
	size_t n = 0, nall = 0, i;
	int rc;

	if ((rc = model_names(reg, opts, &names, &n, &all, &nall)) < 0)
		goto done;
	if (n && !(out->models = calloc(n, sizeof(*out->models)))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		out->n++;
		if ((rc = gather_model(repo, names[i], out->limit, &out->models[i])) < 0)
			goto done;
		out->versions += out->models[i].n;
	}
done:
	free(names);
	p4r_model_array_free(all, nall);
	return rc;
}

/* The page into OUT->html, drawn in memory: the file is written whole. */
static int draw(p4r_report_result *out)
{
	FILE *f = open_memstream(&out->html, &out->len);
	int rc;

	if (!f)
		return p4r_error_errno("cannot draw the report");
	rc = p4r_report_html(f, out);
	if (ferror(f) && rc == 0)
		rc = p4r_error_set(P4R_ERROR, "cannot draw the report: out of memory");
	if (fclose(f) != 0 && rc == 0)
		rc = p4r_error_set(P4R_ERROR, "cannot draw the report: out of memory");
	return rc;
}

int p4r_report(p4r_repo *repo, const p4r_report_opts *opts, const p4r_op_report *report,
	       p4r_report_result *out)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_dest d = { .dirfd = -1 };
	bool to_file = opts->output && strcmp(opts->output, "-") != 0;
	const char *root = p4r_repo_root(repo), *slash;
	int rc;

	(void)report;
	memset(out, 0, sizeof(*out));
	if (opts->limit < 0)
		return p4r_error_set(P4R_EUSAGE, "invalid -n: a count from 1");
	out->limit = opts->limit > 0 ? opts->limit : P4R_REPORT_LIMIT_DEFAULT;
	out->generated_ms = opts->now_ms ? opts->now_ms : p4r_now_ms();
	slash = strrchr(root, '/');
	if (!(out->repo_name = strdup(slash && slash[1] ? slash + 1 : root)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	/* a bad destination fails before any work */
	if (to_file && (rc = report_dest(&d, opts->output)) < 0)
		goto done;
	if ((rc = p4r_registry_begin_read(reg)) < 0)
		goto done;
	rc = gather(repo, opts, out);
	p4r_registry_abort(reg);
	if (rc < 0 || (rc = draw(out)) < 0)
		goto done;
	if (to_file)
		rc = p4r_write_file_atomic_at(d.dirfd, d.base, out->html, out->len, REPORT_MODE, opts->output);
done:
	p4r_dest_close(&d);
	return rc;
}

void p4r_report_result_free(p4r_report_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++)
		model_clear(&r->models[i]);
	free(r->models);
	free(r->repo_name);
	free(r->html);
	memset(r, 0, sizeof(*r));
}
