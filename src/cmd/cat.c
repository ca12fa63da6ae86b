/* p4reg cat REF: a version's bytes on stdout, verified as they stream. */
#include "cmd.h"
#include "p4reg/ref.h"

#include <unistd.h>

const char cmd_cat_usage[] =
	"usage: p4reg cat REF\n"
	"\n"
	"Writes the bytes of the version REF names to standard output, hashing\n"
	"them on the way; exit 4 when they do not match the version's oid.\n";

int cmd_cat(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	p4r_version v = { 0 };
	int rc;

	if (argc != 2 || argv[1][0] == '-')
		return cmd_usage_error(cli, argc < 2 ? "cat needs a REF" : "cat takes one REF");
	if (cli->json)
		return cmd_usage_error(cli, "cat writes raw bytes; --json does not apply");
	if ((rc = p4r_ref_resolve(repo, argv[1], &v)) < 0)
		return rc;
	fflush(stdout);
	rc = p4r_store_write_to_fd(p4r_repo_store(repo), &v.oid, STDOUT_FILENO);
	p4r_version_clear(&v);
	return rc;
}
