/* p4reg cat REF: a version's bytes on stdout, verified as they stream. */
#include "cmd.h"
#include "p4reg/ondemand.h"
#include "p4reg/ref.h"

#include <unistd.h>

const char cmd_cat_usage[] =
	"usage: p4reg cat [-r NAME] [--offline] REF\n"
	"\n"
	"Writes the bytes of the version REF names to standard output, hashing\n"
	"them on the way; exit 4 when they do not match the version's oid. Bytes\n"
	"not in the local store are downloaded from the remote first, verified.\n"
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
	p4r_ondemand fetch = { 0 };
	p4r_version v = { 0 };
	const char *ref = NULL, *value;
	p4r_opts o;
	int id, rc;

	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_REMOTE)
			fetch.remote = value;
		else if (id == OPT_OFFLINE)
			fetch.offline = true;
		else if (ref)
			return cmd_usage_error(cli, "cat takes one REF");
		else
			ref = value;
	}
	if (rc < 0)
		return rc;
	if (!ref)
		return cmd_usage_error(cli, "cat needs a REF");
	if (cli->json)
		return cmd_usage_error(cli, "cat writes raw bytes; --json does not apply");
	if ((rc = p4r_ondemand_config(repo, &fetch)) < 0 ||
	    (rc = p4r_ref_resolve(repo, ref, &v)) < 0)
		return rc;
	fetch.on_damage = cmd_guard_repaired;
	if ((rc = p4r_ondemand_fetch(repo, &fetch, &v, 1, NULL)) == 0) {
		fflush(stdout);
		rc = p4r_store_write_to_fd(p4r_repo_store(repo), &v.oid, STDOUT_FILENO);
	}
	p4r_version_clear(&v);
	return rc;
}
