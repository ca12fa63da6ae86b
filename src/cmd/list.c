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

int cmd_list(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	p4r_model *models = NULL;
	size_t n = 0, i;
	int rc;

	(void)argv;
	if (argc > 1)
		return cmd_usage_error(cli, "list takes no arguments");
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
		printf("%-24s %-8s %-7s %-7s %-10s %s\n", "MODEL", "VERSIONS", "LATEST", "STAGING",
		       "PRODUCTION", "PATH");
		for (i = 0; i < n; i++) {
			char a[24], b[24], c[24];

			printf("%-24s %-8lld %-7s %-7s %-10s %s\n", p4r_escape(models[i].name),
			       (long long)models[i].version_count, num(a, sizeof(a), models[i].latest),
			       num(b, sizeof(b), models[i].staging), num(c, sizeof(c), models[i].production),
			       p4r_escape(models[i].path));
		}
	}
	p4r_model_array_free(models, n);
	return rc;
}
