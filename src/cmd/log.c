/* p4reg log MODEL: a model's versions, newest first, with their stages. */
#include "cmd.h"
#include "p4reg/metrics.h"
#include "p4reg/output.h"

const char cmd_log_usage[] =
	"usage: p4reg log MODEL\n"
	"\n"
	"Lists the versions of MODEL, newest first: number, stage, oid, size,\n"
	"author, time and message, then the latest value of each of its metrics.\n";

static void print_version_line(const p4r_version *v)
{
	char when[32], size[32];

	p4r_format_time(when, sizeof(when), v->created_ms);
	p4r_format_size(size, sizeof(size), (uint64_t)v->size);
	printf("%s@%-4lld %-11s %.12s %10s  %s  %s%s%s\n", p4r_escape(v->model), (long long)v->number,
	       p4r_stage_name(v->stage), v->oid.hex, size, when, p4r_escape(v->author),
	       v->message && *v->message ? "  " : "", p4r_escape(v->message));
}

/* "    f1=0.86 spearman=0.83" under a version that has metrics. */
static void print_metrics_line(const p4r_metric_table *t, size_t row)
{
	const p4r_metric_cell *c;
	bool any = false;
	char num[32];
	size_t k;

	for (k = 0; k < t->nkeys; k++) {
		if (!(c = p4r_metric_table_get(t, row, k)))
			continue;
		p4r_metric_format(num, sizeof(num), c->value);
		fputs(any ? " " : "    ", stdout);
		fputs(p4r_escape(t->keys[k]), stdout);
		putchar('=');
		fputs(num, stdout);
		any = true;
	}
	if (any)
		putchar('\n');
}

int cmd_log(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	p4r_version *versions = NULL;
	p4r_model model = { 0 };
	p4r_metric_table t = { 0 };
	size_t n = 0, i;
	int rc;

	if (argc != 2 || argv[1][0] == '-')
		return cmd_usage_error(cli, argc < 2 ? "log needs a MODEL" : "log takes one MODEL");
	if ((rc = p4r_registry_model_get(p4r_repo_registry(repo), argv[1], &model)) < 0)
		return rc;
	if ((rc = p4r_registry_version_list(p4r_repo_registry(repo), argv[1], &versions, &n)) < 0)
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
		rc = cmd_print_json(doc);
	} else {
		for (i = 0; i < n; i++) {
			print_version_line(&versions[i]);
			print_metrics_line(&t, i);
		}
	}
done:
	p4r_metric_table_clear(&t);
	p4r_version_array_free(versions, n);
	p4r_model_clear(&model);
	return rc;
}
