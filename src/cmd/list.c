/* p4reg list: the models in the registry. */
#include "cmd.h"
#include "p4reg/output.h"

const char cmd_list_usage[] =
	"usage: p4reg list\n"
	"\n"
	"Lists models: name, bound path, number of versions, latest, staging and\n"
	"production versions.\n";

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

int cmd_list(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	p4r_model *models = NULL;
	size_t n = 0, i;
	int rc;

	if ((rc = cmd_no_args(cli, "list", argc, argv)) < 0)
		return rc;
	if ((rc = p4r_registry_model_list(p4r_repo_registry(repo), &models, &n)) < 0)
		return rc;
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "models");

		for (i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, p4r_json_model(&models[i]));
		rc = cmd_print_json(doc);
	} else if (n == 0) {
		if (!cli->quiet)
			fputs("no models yet: 'p4reg add FILE' registers one\n", stderr);
	} else {
		rc = print_table(models, n);
	}
	p4r_model_array_free(models, n);
	return rc;
}
