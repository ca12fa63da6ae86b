/* p4reg list: the models in the registry. */
#include "cmd.h"
#include "p4reg/output.h"

const char cmd_list_usage[] =
	"usage: p4reg list [--stage STAGE]\n"
	"\n"
	"Lists models: name, bound path, number of versions, latest, staging and\n"
	"production versions.\n"
	"\n"
	"      --stage STAGE  only models with a version in STAGE (development,\n"
	"                     validation, staging, production, archived)\n";

enum { OPT_STAGE = 1 };

static const p4r_option options[] = {
	{ "stage", 0, true, OPT_STAGE },
	{ NULL, 0, false, 0 },
};

/* "3", or "-" for none. */
static const char *num(char *buf, size_t sz, int64_t n)
{
	if (n > 0)
		snprintf(buf, sz, "%lld", (long long)n);
	else
		snprintf(buf, sz, "-");
	return buf;
}

/* MODEL, VERSIONS, LATEST, STAGING, PRODUCTION, PATH: a long name widens
 * its column instead of pushing the row out of line. */
static const cmd_column columns[] = {
	{ 24, false, NULL }, { 8, false, NULL }, { 7, false, NULL },
	{ 7, false, NULL }, { 10, false, NULL }, { 0, false, NULL },
};

static int print_table(const p4r_model *models, size_t n)
{
	static const char *const head[] = { "MODEL", "VERSIONS", "LATEST", "STAGING", "PRODUCTION", "PATH" };
	cmd_table *t = cmd_table_new(columns, 6);
	size_t i;
	int rc = t ? cmd_table_row(t, head) : p4r_error_set(P4R_ERROR, "out of memory");

	for (i = 0; rc == 0 && i < n; i++) {
		char count[24], a[24], b[24], c[24];
		const char *row[6] = { models[i].name, count, num(a, sizeof(a), models[i].latest),
				       num(b, sizeof(b), models[i].staging),
				       num(c, sizeof(c), models[i].production), models[i].path };

		snprintf(count, sizeof(count), "%lld", (long long)models[i].version_count);
		rc = cmd_table_row(t, row);
	}
	if (rc == 0)
		cmd_table_print(t);
	cmd_table_free(t);
	return rc;
}

/* --stage STAGE into *STAGE (-1: none given). */
static int parse_args(p4r_cli *cli, int argc, char **argv, int *stage)
{
	const char *value;
	p4r_stage s;
	p4r_opts o;
	int id, rc;

	*stage = -1;
	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id != OPT_STAGE)
			return cmd_usage_error(cli, "list takes no arguments");
		if ((rc = p4r_stage_parse(&s, value)) < 0)
			return rc;
		*stage = (int)s;
	}
	return rc;
}

int cmd_list(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_model *models = NULL;
	size_t n = 0, i;
	int stage, rc;

	if ((rc = parse_args(cli, argc, argv, &stage)) < 0)
		return rc;
	rc = stage < 0 ? p4r_registry_model_list(reg, &models, &n)
		       : p4r_registry_model_list_in_stage(reg, (p4r_stage)stage, &models, &n);
	if (rc < 0)
		return rc;
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "models");

		for (i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, p4r_json_model(&models[i]));
		rc = cmd_print_json(doc);
	} else if (n == 0) {
		if (!cli->quiet && stage < 0)
			fputs("no models yet: 'p4reg add FILE' registers one\n", stderr);
		else if (!cli->quiet)
			fprintf(stderr, "no model has a version in %s\n", p4r_stage_name((p4r_stage)stage));
	} else {
		rc = print_table(models, n);
	}
	p4r_model_array_free(models, n);
	return rc;
}
