/* p4reg report [-o FILE] [-n N] [MODEL...]: the registry as one
 * self-contained HTML page (ops/report.h). */
#include "cmd.h"
#include "p4reg/ops/report.h"
#include "p4reg/pager.h"

#include <stdlib.h>
#include <string.h>

const char cmd_report_page_usage[] =
	"usage: p4reg report [-o FILE] [-n N] [MODEL...]\n"
	"\n"
	"Writes the registry as one HTML page that any browser opens, without a\n"
	"server or a network: per model (the MODELs named, else every one) its\n"
	"versions with stage, aliases, tags, author, time, message, size and\n"
	"object; a chart of each metric across the versions with production and\n"
	"staging marked; production against staging metric by metric; and the\n"
	"stage timeline: promotions with their gates, rollbacks, hooks and\n"
	"deletions, who did them, when and why. The page holds its CSS and SVG\n"
	"inline, no script, and loads nothing. Without -o it goes to standard\n"
	"output, which must not be a terminal.\n"
	"\n"
	"  -o, --output FILE  write the page to FILE, replacing it atomically (a\n"
	"                     reader never sees half a page); '-': standard output\n"
	"  -n, --limit N      the newest N versions of each model (default 50; the\n"
	"                     production and staging versions always) and the last\n"
	"                     N events of each stage timeline\n";

enum { OPT_OUTPUT = 1, OPT_LIMIT };

static const p4r_option options[] = {
	{ "output", 'o', true, OPT_OUTPUT },
	{ "limit", 'n', true, OPT_LIMIT },
	{ NULL, 0, false, 0 },
};

/* What a page written to a file says: the file, and how much it shows. */
static int print_written(p4r_cli *cli, const char *path, const p4r_report_result *res)
{
	char size[32];

	if (cli->json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "path", path);
		cJSON_AddNumberToObject(doc, "models", (double)res->n);
		cJSON_AddNumberToObject(doc, "versions", (double)res->versions);
		cJSON_AddNumberToObject(doc, "limit", (double)res->limit);
		cJSON_AddNumberToObject(doc, "bytes", (double)res->len);
		return cmd_print_json(doc);
	}
	p4r_format_size(size, sizeof(size), res->len);
	cmd_note(cli, "wrote %s: %zu model%s, %zu version%s (%s)", path, res->n, res->n == 1 ? "" : "s",
		 res->versions, res->versions == 1 ? "" : "s", size);
	return 0;
}

int cmd_report_page(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	p4r_report_opts opts = { 0 };
	p4r_report_result res = { 0 };
	const char **models;
	const char *value;
	bool to_stdout;
	p4r_opts o;
	int id, rc;

	if (!(models = calloc((size_t)argc, sizeof(*models))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	opts.models = models;
	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_OUTPUT)
			opts.output = value;
		else if (id == OPT_LIMIT)
			rc = cmd_parse_count(&opts.limit, "-n", value);
		else if ((rc = cmd_model_arg("report", value)) == 0)
			models[opts.nmodels++] = value;
		if (rc < 0)
			break;
	}
	if (rc < 0)
		goto done;
	to_stdout = !opts.output || !strcmp(opts.output, "-");
	if (to_stdout && cli->json) {
		rc = cmd_usage_error(cli, "report --json needs -o FILE: standard output holds the page");
		goto done;
	}
	if (to_stdout && p4r_pager_stdout_is_tty()) {
		rc = p4r_error_set(P4R_EUSAGE, "report writes HTML, not to a terminal: give -o FILE.html or "
				   "redirect standard output");
		goto done;
	}
	if ((rc = p4r_report(repo, &opts, NULL, &res)) < 0)
		goto done;
	if (to_stdout)
		fwrite(res.html, 1, res.len, stdout); /* main checks the flush */
	else
		rc = print_written(cli, opts.output, &res);
done:
	p4r_report_result_free(&res);
	free(models);
	return rc;
}
