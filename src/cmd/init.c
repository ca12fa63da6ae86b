/* p4reg init: create .p4reg/ here, or at the root of the git work tree. */
#include "cmd.h"
#include "p4reg/fsutil.h"
#include "p4reg/gitio.h"

#include <stdlib.h>
#include <string.h>

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

/* Like `dvc init`: the shared files go into the git index at once, so the
 * first commit makes the repository usable by every clone. */
static int stage_shared_files(p4r_git *git, const char *root)
{
	char *meta = p4r_path_join(root, P4R_META_DIR);
	char *config = meta ? p4r_path_join(meta, "config") : NULL;
	char *ignore = meta ? p4r_path_join(meta, ".gitignore") : NULL;
	const char *paths[2] = { config, ignore };
	int rc = config && ignore ? p4r_git_stage(git, paths, 2) : p4r_error_set(P4R_ERROR, "out of memory");

	free(config);
	free(ignore);
	free(meta);
	return rc;
}

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
	if (rc == 0 && git)
		rc = stage_shared_files(git, root);
	p4r_git_free(git);
	if (rc < 0)
		goto done;
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "root", root);
		rc = cmd_print_json(doc);
	} else if (!cli->quiet) {
		printf("Initialized empty p4reg repository in %s/%s/\n", p4r_escape(root), P4R_META_DIR);
	}
done:
	free(root);
	return rc;
}
