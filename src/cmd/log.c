/* p4reg log MODEL: a model's versions, newest first, with their stages. */
#include "cmd.h"
#include "p4reg/metrics.h"
#include "p4reg/output.h"

#include <stdlib.h>
#include <string.h>

const char cmd_log_usage[] =
	"usage: p4reg log MODEL\n"
	"\n"
	"Lists the versions of MODEL, newest first: number, stage, oid, size,\n"
	"author, time and message, then the latest value of each of its metrics.\n";

/* MODEL@N, stage, oid, size, time, author, message: columns as wide as
 * their longest value. */
static const cmd_column columns[] = {
	{ 0, false, NULL }, { 11, false, NULL }, { 12, false, NULL }, { 10, true, "  " },
	{ 0, false, "  " }, { 0, false, "  " }, { 0, false, NULL },
};

static int add_version_row(cmd_table *t, const p4r_version *v)
{
	char who[P4R_MODEL_NAME_MAX + 24], oid[13], when[32], size[32];
	const char *row[7] = { who, p4r_stage_name(v->stage), oid, size, when, v->author, v->message };

	snprintf(who, sizeof(who), "%s@%lld", v->model, (long long)v->number);
	snprintf(oid, sizeof(oid), "%.12s", v->oid.hex);
	p4r_format_time(when, sizeof(when), v->created_ms);
	p4r_format_size(size, sizeof(size), (uint64_t)v->size);
	return cmd_table_row(t, row);
}

/* "    f1=0.86 spearman=0.83" under a version that has metrics. */
static int add_metrics_line(cmd_table *t, const p4r_metric_table *m, size_t row)
{
	const p4r_metric_cell *c;
	char *line = NULL, *grown, num[32];
	size_t len = 0, k, need;
	int rc = 0;

	for (k = 0; k < m->nkeys; k++) {
		if (!(c = p4r_metric_table_get(m, row, k)))
			continue;
		p4r_metric_format(num, sizeof(num), c->value);
		need = len + strlen(m->keys[k]) + strlen(num) + 6;
		if (!(grown = realloc(line, need))) {
			free(line);
			return p4r_error_set(P4R_ERROR, "out of memory");
		}
		line = grown;
		len += (size_t)snprintf(line + len, need - len, "%s%s=%s", len ? " " : "    ", m->keys[k], num);
	}
	if (line)
		rc = cmd_table_line(t, line);
	free(line);
	return rc;
}

static int print_text(const char *name, const p4r_version *versions, size_t n, const p4r_metric_table *m)
{
	cmd_column cols[sizeof(columns) / sizeof(columns[0])];
	cmd_table *t;
	size_t i;
	int rc = 0;

	/* "x@1    " as before: the number padded to four digits */
	memcpy(cols, columns, sizeof(cols));
	cols[0].min = strlen(name) + 5;
	if (!(t = cmd_table_new(cols, sizeof(cols) / sizeof(cols[0]))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; rc == 0 && i < n; i++)
		if ((rc = add_version_row(t, &versions[i])) == 0)
			rc = add_metrics_line(t, m, i);
	if (rc == 0)
		cmd_table_print(t);
	cmd_table_free(t);
	return rc;
}

/* The model's tags (DOC "tags") and each version's tags and aliases
 * (beside its metrics in "history"): three queries for the model. */
static int add_labels(cJSON *doc, p4r_registry *reg, const char *name, const p4r_version *v, size_t n)
{
	cJSON *o = cJSON_GetObjectItemCaseSensitive(doc, "history")->child;
	p4r_tags tags = { 0 }, mtags = { 0 };
	p4r_alias_entry *aliases = NULL;
	size_t naliases = 0, i;
	int rc;

	if ((rc = p4r_registry_tags_get(reg, name, 0, &mtags)) == 0 &&
	    (rc = p4r_registry_tags_versions(reg, name, &tags)) == 0 &&
	    (rc = p4r_registry_alias_list(reg, name, &aliases, &naliases)) == 0) {
		cJSON_AddItemToObject(doc, "tags", p4r_json_tags(&mtags, 0));
		for (i = 0; o && i < n; i++, o = o->next) {
			cJSON_AddItemToObject(o, "tags", p4r_json_tags(&tags, v[i].id));
			cJSON_AddItemToObject(o, "aliases", p4r_json_alias_names(aliases, naliases, v[i].number));
		}
	}
	p4r_tags_clear(&tags);
	p4r_tags_clear(&mtags);
	p4r_alias_array_free(aliases, naliases);
	return rc;
}

/* One MODEL, no options. */
static int parse_args(p4r_cli *cli, int argc, char **argv, const char **model)
{
	static const p4r_option none[] = { { NULL, 0, false, 0 } };
	const char *value;
	p4r_opts o;
	int id, rc;

	*model = NULL;
	p4r_opts_init(&o, argc - 1, argv + 1, none);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (*model)
			return cmd_usage_error(cli, "log takes one MODEL");
		*model = value;
	}
	if (rc < 0)
		return rc;
	if (!*model)
		return cmd_usage_error(cli, "log needs a MODEL");
	return cmd_model_arg("log", *model);
}

int cmd_log(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	p4r_version *versions = NULL;
	p4r_model model = { 0 };
	p4r_metric_table t = { 0 };
	const char *name;
	size_t n = 0, i;
	int rc;

	if ((rc = parse_args(cli, argc, argv, &name)) < 0)
		return rc;
	if ((rc = p4r_registry_model_get(p4r_repo_registry(repo), name, &model)) < 0)
		return rc;
	if ((rc = p4r_registry_version_list(p4r_repo_registry(repo), name, &versions, &n)) < 0)
		goto done;
	/* One query for every version's latest metrics, not one per version. */
	if ((rc = p4r_metrics_table(p4r_repo_registry(repo), versions, n, &t)) < 0)
		goto done;
	if (cli->json) {
		cJSON *doc = p4r_json_model(&model), *arr = cJSON_AddArrayToObject(doc, "history");

		for (i = 0; i < n; i++) {
			cJSON *o = p4r_json_version(&versions[i]);

			cJSON_AddItemToObject(o, "metrics", p4r_json_metric_row(&t, i));
			cJSON_AddItemToArray(arr, o);
		}
		if ((rc = add_labels(doc, p4r_repo_registry(repo), name, versions, n)) == 0)
			rc = cmd_print_json(doc);
		else
			cJSON_Delete(doc);
	} else {
		rc = print_text(model.name, versions, n, &t);
	}
done:
	p4r_metric_table_clear(&t);
	p4r_version_array_free(versions, n);
	p4r_model_clear(&model);
	return rc;
}
