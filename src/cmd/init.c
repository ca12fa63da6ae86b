/* p4reg init: create .p4reg/ here, or at the root of the git work tree. */
#include "cmd.h"
#include "p4reg/gitio.h"

#include <stdlib.h>
#include <string.h>

const char cmd_init_usage[] =
	"usage: p4reg init [--here]\n"
	"\n"
	"Creates .p4reg/ (config, registry.db, objects/, tmp/, .gitignore) at the\n"
	"root of the git work tree containing the current folder, or in the\n"
	"current folder outside git. Refuses to nest inside another repository.\n"
	"\n"
	"  --here   create it in the current folder even inside a git work tree\n";

enum { OPT_HERE = 1 };

static const p4r_option options[] = {
	{ "here", 0, false, OPT_HERE },
	{ NULL, 0, false, 0 },
};

int cmd_init(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	p4r_opts o;
	const char *value;
	bool here = false;
	p4r_git *git = NULL;
	char *root = NULL;
	int id, rc;

	(void)repo;
	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_HERE)
			here = true;
		else
			return cmd_usage_error(cli, "init takes no arguments");
	}
	if (rc < 0)
		return rc;
	if (!here && (rc = p4r_git_open(&git, ".")) < 0)
		return rc;
	rc = p4r_repo_init(git ? p4r_git_workdir(git) : ".", &root);
	p4r_git_free(git);
	if (rc < 0)
		return rc;
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "root", root);
		rc = cmd_print_json(doc);
	} else if (!cli->quiet) {
		printf("Initialized empty p4reg repository in %s/%s/\n", root, P4R_META_DIR);
	}
	free(root);
	return rc;
}
