/* p4r_alias (ops/alias.h): list, set or remove a model's aliases. */
#include "p4reg/ops/alias.h"
#include "p4reg/error.h"
#include "p4reg/ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The version MODEL@TEXT names now (a number, latest, a stage, an alias). */
static int target_number(p4r_registry *reg, const char *model, const char *text, int64_t *number)
{
	char buf[P4R_MODEL_NAME_MAX + 80];
	p4r_version v = { 0 };
	p4r_ref ref;
	int rc;

	if (!text[0] || strchr(text, '@') || strlen(text) > 64)
		return p4r_error_set(P4R_EUSAGE, "invalid version '%s': a number (3, v3), latest, a stage"
				     " or an alias", text);
	snprintf(buf, sizeof(buf), "%s@%s", model, text);
	if ((rc = p4r_ref_parse(&ref, buf)) < 0 || (rc = p4r_ref_lookup(reg, &ref, &v)) < 0)
		return rc;
	*number = v.number;
	p4r_version_clear(&v);
	return 0;
}

static int alias_change(p4r_repo *repo, const p4r_alias_opts *opts, p4r_alias_result *out)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_alias_req req = { .model = opts->model, .name = opts->name, .reason = opts->reason };
	char *actor = NULL;
	int rc;

	if ((rc = p4r_alias_name_check(opts->name)) < 0)
		return rc;
	if (opts->action == P4R_ALIAS_SET &&
	    (rc = target_number(reg, opts->model, opts->version, &req.number)) < 0)
		return rc;
	if (!(actor = p4r_repo_actor(repo)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	req.actor = actor;
	if (opts->action == P4R_ALIAS_SET) {
		rc = p4r_registry_alias_set(reg, &req, &out->previous);
		out->version = req.number;
		out->changed = rc == 0 && out->previous != req.number;
	} else {
		rc = p4r_registry_alias_delete(reg, &req, &out->version);
		out->changed = rc == 0;
	}
	free(actor);
	return rc;
}

int p4r_alias(p4r_repo *repo, const p4r_alias_opts *opts, const p4r_op_report *report,
	      p4r_alias_result *out)
{
	(void)report;
	memset(out, 0, sizeof(*out));
	out->action = opts->action;
	if (!p4r_model_name_valid(opts->model))
		return p4r_error_set(P4R_EUSAGE, "invalid model name '%s'", opts->model ? opts->model : "");
	if (opts->action == P4R_ALIAS_LIST)
		return p4r_registry_alias_list(p4r_repo_registry(repo), opts->model, &out->aliases, &out->n);
	return alias_change(repo, opts, out);
}

void p4r_alias_result_free(p4r_alias_result *r)
{
	if (!r)
		return;
	p4r_alias_array_free(r->aliases, r->n);
	memset(r, 0, sizeof(*r));
}
