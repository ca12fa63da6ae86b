/* p4r_init (ops/init.h): create .p4reg/ here, or at the root of the git
 * work tree, and stage its shared files. */
#include "p4reg/ops/init.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/gitio.h"

#include <stdlib.h>
#include <string.h>

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

int p4r_init(p4r_repo *repo, const p4r_init_opts *opts, const p4r_op_report *report, p4r_init_result *out)
{
	const char *dir = opts->dir ? opts->dir : ".";
	p4r_git *git = NULL;
	int rc;

	(void)repo;
	(void)report;
	memset(out, 0, sizeof(*out));
	if (!opts->here && (rc = p4r_git_open(&git, dir)) < 0)
		return rc;
	rc = p4r_repo_init(git ? p4r_git_workdir(git) : dir, &out->root);
	if (rc == 0 && git)
		rc = stage_shared_files(git, out->root);
	p4r_git_free(git);
	return rc;
}

void p4r_init_result_free(p4r_init_result *r)
{
	if (!r)
		return;
	free(r->root);
	r->root = NULL;
}
