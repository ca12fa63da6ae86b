/* p4reg cat REF: a version's bytes on stdout, verified as they stream. */
#include "cmd.h"
#include "p4reg/ops/show.h"

#include <unistd.h>

const char cmd_cat_usage[] =
	"usage: p4reg cat [-r NAME] [--offline] REF [PATH]\n"
	"\n"
	"Writes the bytes of the version REF names to standard output, hashing\n"
	"them on the way; exit 4 when they do not match the version's oid. Bytes\n"
	"not in the local store are downloaded from the remote first, verified.\n"
	"A folder version needs PATH, a file inside it (config.json).\n"
	"\n"
	"  -r, --remote NAME   download a missing object from NAME (default: core.remote)\n"
	"      --offline       download nothing (also: config core.offline)\n";

enum { OPT_REMOTE = 1, OPT_OFFLINE };

static const p4r_option options[] = {
	{ "remote", 'r', true, OPT_REMOTE },
	{ "offline", 0, false, OPT_OFFLINE },
	{ NULL, 0, false, 0 },
};

int cmd_cat(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	p4r_show_opts opts = { 0 };
	p4r_op_report report;
	const char *value;
	cmd_report cr;
	p4r_opts o;
	int id, rc;

	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_REMOTE)
			opts.remote = value;
		else if (id == OPT_OFFLINE)
			opts.offline = true;
		else if (opts.path)
			return cmd_usage_error(cli, "cat takes one REF and at most one PATH");
		else if (opts.ref)
			opts.path = value;
		else
			opts.ref = value;
	}
	if (rc < 0)
		return rc;
	if (!opts.ref)
		return cmd_usage_error(cli, "cat needs a REF");
	if (cli->json)
		return cmd_usage_error(cli, "cat writes raw bytes; --json does not apply");
	/* the bytes go straight to the descriptor, after anything buffered */
	fflush(stdout);
	report = cmd_report_init(&cr, cli);
	rc = p4r_cat(repo, &opts, &report, STDOUT_FILENO);
	cmd_report_done(&cr);
	return rc;
}
