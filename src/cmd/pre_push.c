/* p4reg pre-push: run by the pre-push hook `p4reg track` installs where
 * p4reg is git's Git LFS filter. git-lfs's own hook uploads the objects
 * of the pointers a push sends; without git-lfs this does (ops/pre_push.h),
 * to the p4reg repository's default remote, or fails so that git aborts
 * the push rather than publish pointers whose bytes no remote has. */
#include "cmd.h"
#include "p4reg/gitscan.h"
#include "p4reg/ops/pre_push.h"

#include <stdlib.h>
#include <string.h>

const char cmd_pre_push_usage[] =
	"usage: p4reg pre-push REMOTE [URL]\n"
	"\n"
	"Run by git's pre-push hook, which 'p4reg track' installs when p4reg is\n"
	"the Git LFS filter (git-lfs not installed); people do not run it. Reads\n"
	"git's lines '<local ref> <local sha> <remote ref> <remote sha>' on\n"
	"stdin, finds the Git LFS pointers in the commits being pushed that\n"
	"REMOTE does not have yet, and uploads their objects to the default\n"
	"remote (core.remote, or the only one) of the p4reg repository that\n"
	"holds each path. Without such a repository or remote, offline\n"
	"(core.offline), or when an object is nowhere, it fails and names the\n"
	"command to run: git then pushes nothing. 'git push --no-verify' pushes\n"
	"the commits without the objects.\n";

/* A push line longer than this is no line git writes. */
#define LINE_MAX_BYTES 8192
/* More refs than any push updates at once. */
#define UPDATES_MAX ((size_t)1 << 20)

/* Git's lines on stdin into *OUT. */
static int read_updates(p4r_git_push_update **out, size_t *n)
{
	char *line = NULL;
	size_t cap = 0, have = 0;
	ssize_t len;
	int rc = 0;

	*out = NULL;
	*n = 0;
	while ((len = getline(&line, &cap, stdin)) >= 0) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			continue;
		if ((size_t)len > LINE_MAX_BYTES || strlen(line) != (size_t)len) {
			rc = p4r_error_set(P4R_EUSAGE, "malformed pre-push line: longer than %d bytes or "
					   "with a NUL byte", LINE_MAX_BYTES);
			break;
		}
		if (*n == UPDATES_MAX) {
			rc = p4r_error_set(P4R_EUSAGE, "more than %zu pre-push lines", UPDATES_MAX);
			break;
		}
		if (*n == have) {
			size_t ncap = have ? have * 2 : 8;
			void *grown = realloc(*out, ncap * sizeof(**out));

			if (!grown) {
				rc = p4r_error_set(P4R_ERROR, "out of memory");
				break;
			}
			*out = grown;
			have = ncap;
		}
		if ((rc = p4r_git_push_line_parse(&(*out)[*n], line)) < 0)
			break;
		(*n)++;
	}
	if (rc == 0 && ferror(stdin))
		rc = p4r_error_errno("cannot read git's pre-push lines");
	free(line);
	return rc;
}

static int print_json(const p4r_pre_push_result *out)
{
	cJSON *doc = cJSON_CreateObject(), *arr;
	size_t i;

	cJSON_AddNumberToObject(doc, "pointers", (double)out->pointers);
	arr = cJSON_AddArrayToObject(doc, "uploads");
	for (i = 0; arr && i < out->n; i++) {
		const p4r_pre_push_upload *u = &out->uploads[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "repository", u->repository);
		cJSON_AddStringToObject(o, "remote", u->remote);
		cJSON_AddNumberToObject(o, "objects", (double)u->objects);
		cJSON_AddNumberToObject(o, "uploaded", (double)u->uploaded);
		cJSON_AddNumberToObject(o, "present", (double)u->present);
		cJSON_AddNumberToObject(o, "bytes", (double)u->bytes);
		cJSON_AddItemToArray(arr, o);
	}
	return cmd_print_json(doc);
}

int cmd_pre_push(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	static const p4r_option options[] = { { NULL, 0, false, 0 } };
	cmd_report cr;
	p4r_op_report report = cmd_report_init(&cr, cli);
	p4r_pre_push_result out = { 0 };
	/* git runs the hook at the work tree's root */
	p4r_pre_push_opts po = { .dir = "." };
	p4r_git_push_update *u = NULL;
	const char *value;
	size_t nargs = 0;
	p4r_opts o;
	int id, rc;

	(void)repo;
	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (nargs == 2)
			return cmd_usage_error(cli, "pre-push takes REMOTE and URL only");
		if (nargs++ == 0)
			po.git_remote = value;
	}
	if (rc < 0)
		return rc;
	if (nargs == 0)
		return cmd_usage_error(cli, "pre-push needs the REMOTE git gives its hook");
	if ((rc = read_updates(&u, &po.nupdates)) < 0)
		goto done;
	po.updates = u;
	/* on stderr (notes): git hands a pre-push hook its own stdout, which
	 * `git push --porcelain` keeps for its machine-readable report */
	rc = p4r_pre_push(NULL, &po, &report, &out);
	cmd_report_done(&cr);
	if (rc == 0 && cli->json)
		rc = print_json(&out);
done:
	p4r_pre_push_result_free(&out);
	free(u);
	return rc;
}
