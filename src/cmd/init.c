/* p4reg init: create .p4reg/ here, or at the root of the git work tree. */
#include "cmd.h"
#include "p4reg/ops/init.h"

const char cmd_init_usage[] =
	"usage: p4reg init [--here]\n"
	"\n"
	"Creates .p4reg/ (config, registry.db, objects/, tmp/, .gitignore) at the\n"
	"root of the git work tree containing the current folder, or in the\n"
	"current folder outside git. Refuses (exit 3) inside another repository\n"
	"or above one: repositories do not nest.\n"
	"\n"
	"  --here   create it in the current folder even inside a git work tree\n";

enum { OPT_HERE = 1 };

static const p4r_option options[] = {
	{ "here", 0, false, OPT_HERE },
	{ NULL, 0, false, 0 },
};

int cmd_init(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	p4r_init_opts opts = { .dir = "." };
	p4r_init_result res = { 0 };
	p4r_opts o;
	const char *value;
	int id, rc;

	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_HERE)
			opts.here = true;
		else
			return cmd_usage_error(cli, "init takes no arguments");
	}
	if (rc < 0 || (rc = p4r_init(repo, &opts, NULL, &res)) < 0)
		goto done;
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "root", res.root);
		rc = cmd_print_json(doc);
	} else if (!cli->quiet) {
		printf("Initialized empty p4reg repository in %s/%s/\n", p4r_escape(res.root), P4R_META_DIR);
	}
done:
	p4r_init_result_free(&res);
	return rc;
}
