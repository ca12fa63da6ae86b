/* p4r_tag (ops/tag.h): the tags of a version or a model, and a model's
 * description. */
#include "p4reg/ops/tag.h"
#include "p4reg/error.h"
#include "p4reg/ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* OPTS->args split into keys and values (VALUES NULL when removing). */
struct pairs {
	char **keys, **values;
	size_t n;
};

static void pairs_free(struct pairs *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->keys[i]);
		if (p->values)
			free(p->values[i]);
	}
	free(p->keys);
	free(p->values);
	memset(p, 0, sizeof(*p));
}

static int pairs_parse(struct pairs *p, const p4r_tag_opts *opts)
{
	size_t i;
	int rc = 0;

	memset(p, 0, sizeof(*p));
	if (opts->nargs > P4R_TAGS_MAX)
		return p4r_error_set(P4R_EUSAGE, "at most %d tags at once, not %zu", P4R_TAGS_MAX, opts->nargs);
	if (!(p->keys = calloc(opts->nargs + 1, sizeof(*p->keys))) ||
	    (!opts->remove && !(p->values = calloc(opts->nargs + 1, sizeof(*p->values)))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < opts->nargs && rc == 0; i++) {
		if (opts->remove) {
			if ((rc = p4r_tag_key_check(opts->args[i])) == 0 && !(p->keys[i] = strdup(opts->args[i])))
				rc = p4r_error_set(P4R_ERROR, "out of memory");
		} else {
			rc = p4r_tag_parse(opts->args[i], &p->keys[i], &p->values[i]);
		}
		if (rc == 0)
			p->n++;
	}
	return rc;
}

/* The model and version number OPTS names: a REF's version, or a model. */
static int resolve(p4r_repo *repo, const p4r_tag_opts *opts, p4r_tag_result *out)
{
	p4r_model m = { 0 };
	p4r_version v = { 0 };
	int rc;

	if (opts->model || opts->description) {
		if (!p4r_model_name_valid(opts->target))
			return p4r_error_set(P4R_EUSAGE, "--model takes a model name, not '%s'", opts->target);
		if ((rc = p4r_registry_model_get(p4r_repo_registry(repo), opts->target, &m)) == 0)
			snprintf(out->model, sizeof(out->model), "%s", m.name);
		p4r_model_clear(&m);
		return rc;
	}
	if ((rc = p4r_ref_resolve(repo, opts->target, &v)) == 0) {
		snprintf(out->model, sizeof(out->model), "%s", v.model);
		out->version = v.number;
	}
	p4r_version_clear(&v);
	return rc;
}

static int change(p4r_repo *repo, const p4r_tag_opts *opts, const struct pairs *p, p4r_tag_result *out)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_tag_req req = { .model = out->model, .number = out->version,
			    .keys = (const char *const *)p->keys, .values = (const char *const *)p->values,
			    .n = p->n, .reason = opts->reason };
	char *actor = p4r_repo_actor(repo);
	int rc;

	if (!actor)
		return p4r_error_set(P4R_ERROR, "out of memory");
	req.actor = actor;
	if (opts->description)
		rc = p4r_registry_describe(reg, out->model, opts->description, actor, opts->reason, 0,
					   &out->described);
	else if (opts->remove)
		rc = p4r_registry_tags_delete(reg, &req);
	else
		rc = p4r_registry_tags_set(reg, &req, &out->changed);
	if (rc == 0 && opts->remove)
		out->changed = p->n;
	free(actor);
	return rc;
}

/* The tags (and a model's description) after the change. */
static int read_back(p4r_repo *repo, p4r_tag_result *out)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_model m = { 0 };
	int rc;

	if ((rc = p4r_registry_tags_get(reg, out->model, out->version, &out->tags)) < 0 || out->version)
		return rc;
	if ((rc = p4r_registry_model_get(reg, out->model, &m)) == 0 &&
	    !(out->description = strdup(m.description)))
		rc = p4r_error_set(P4R_ERROR, "out of memory");
	p4r_model_clear(&m);
	return rc;
}

int p4r_tag(p4r_repo *repo, const p4r_tag_opts *opts, const p4r_op_report *report, p4r_tag_result *out)
{
	struct pairs p = { 0 };
	int rc;

	(void)report;
	memset(out, 0, sizeof(*out));
	if (opts->description && (opts->nargs || opts->remove))
		return p4r_error_set(P4R_EUSAGE, "--description takes no KEY=VALUE and no -d");
	if (opts->remove && !opts->nargs)
		return p4r_error_set(P4R_EUSAGE, "-d needs the KEYs to remove");
	if ((rc = pairs_parse(&p, opts)) == 0 && (rc = resolve(repo, opts, out)) == 0 &&
	    (opts->nargs || opts->description))
		rc = change(repo, opts, &p, out);
	if (rc == 0)
		rc = read_back(repo, out);
	pairs_free(&p);
	return rc;
}

void p4r_tag_result_free(p4r_tag_result *r)
{
	if (!r)
		return;
	p4r_tags_clear(&r->tags);
	free(r->description);
	memset(r, 0, sizeof(*r));
}
