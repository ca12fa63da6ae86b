/* p4reg config: read and write .p4reg/config (or config.local). */
#include "cmd.h"

#include <stdlib.h>

const char cmd_config_usage[] =
	"usage: p4reg config [--local] [--show-secrets] KEY [VALUE]\n"
	"       p4reg config [--local] --unset KEY\n"
	"       p4reg config [--show-secrets] --list\n"
	"\n"
	"Reads KEY (exit 1 when unset) or sets it to VALUE in .p4reg/config, the\n"
	"committed, shared file. --local uses .p4reg/config.local instead: never\n"
	"committed, created 0600, the place for credentials and hooks. Reads see\n"
	"the user's ~/.config/p4reg/config, then config, then config.local (last\n"
	"wins). Credentials (names with secret, password, token, accessKeyId...)\n"
	"print as **** and are refused in the committed config (exit 2).\n"
	"core.cacheType (default reflink,copy) picks how files reach the work tree.\n"
	"hardlink counts only from config.local or the user's file: it makes the\n"
	"work file the stored object, so an in-place write (torch.save, a process\n"
	"holding the file, any write as root) destroys that version's only local\n"
	"copy; p4reg then quarantines it and only a remote or the original file\n"
	"brings it back.\n"
	"Prefer reflink (btrfs, XFS). Keys: docs/commands.md, \"config keys\".\n"
	"\n"
	"      --local         write or unset in .p4reg/config.local\n"
	"      --unset         remove KEY\n"
	"  -l, --list          print every setting as key=value\n"
	"      --show-secrets  print credentials' values instead of ****\n";

enum { OPT_LOCAL = 1, OPT_UNSET, OPT_LIST, OPT_SHOW_SECRETS };

static const p4r_option options[] = {
	{ "local", 0, false, OPT_LOCAL },
	{ "unset", 0, false, OPT_UNSET },
	{ "list", 'l', false, OPT_LIST },
	{ "show-secrets", 0, false, OPT_SHOW_SECRETS },
	{ NULL, 0, false, 0 },
};

#define MASK "****"

struct list_state {
	cJSON *obj;        /* NULL: text */
	bool show_secrets;
};

/* VALUE as printed: "****" for a credential unless SHOW. */
static const char *shown(const char *key, const char *value, bool show)
{
	return !show && p4r_config_key_is_secret(key) ? MASK : value;
}

static int list_entry(const char *name, const char *value, void *payload)
{
	struct list_state *st = payload;

	value = shown(name, value, st->show_secrets);
	if (st->obj)
		cJSON_AddStringToObject(st->obj, name, value);
	else
		printf("%s=%s\n", p4r_escape(name), p4r_escape(value));
	return 0;
}

static int do_list(p4r_cli *cli, p4r_config *cfg, bool show_secrets)
{
	cJSON *doc = cli->json ? cJSON_CreateObject() : NULL;
	struct list_state st = { doc, show_secrets };
	int rc = p4r_config_foreach(cfg, list_entry, &st);

	if (rc < 0) {
		cJSON_Delete(doc);
		return rc;
	}
	return doc ? cmd_print_json(doc) : 0;
}

static int do_get(p4r_cli *cli, p4r_config *cfg, const char *key, bool show_secrets)
{
	char *value = NULL;
	int rc = p4r_config_get(cfg, P4R_CONFIG_ALL, key, &value);

	if (rc < 0)
		return rc;
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "key", key);
		cJSON_AddStringToObject(doc, "value", shown(key, value, show_secrets));
		rc = cmd_print_json(doc);
	} else {
		printf("%s\n", p4r_escape(shown(key, value, show_secrets)));
	}
	free(value);
	return rc;
}

int cmd_config(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	p4r_config *cfg = p4r_repo_config(repo);
	const char *args[3] = { 0 }, *value;
	bool local = false, unset = false, list = false, show_secrets = false;
	size_t nargs = 0;
	p4r_opts o;
	int id, rc;

	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_LOCAL)
			local = true;
		else if (id == OPT_UNSET)
			unset = true;
		else if (id == OPT_LIST)
			list = true;
		else if (id == OPT_SHOW_SECRETS)
			show_secrets = true;
		else if (nargs < 3)
			args[nargs++] = value;
		else
			return cmd_usage_error(cli, "too many arguments");
	}
	if (rc < 0)
		return rc;
	if (list)
		return nargs ? cmd_usage_error(cli, "--list takes no KEY") : do_list(cli, cfg, show_secrets);
	if (nargs == 0 || nargs > 2 || (unset && nargs != 1))
		return cmd_usage_error(cli, "expected KEY [VALUE]");
	if (unset)
		return p4r_config_unset(cfg, local, args[0]);
	if (nargs == 1)
		return do_get(cli, cfg, args[0], show_secrets);
	if ((rc = p4r_config_set(cfg, local, args[0], args[1])) < 0)
		return rc;
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "key", args[0]);
		cJSON_AddStringToObject(doc, "value", shown(args[0], args[1], show_secrets));
		cJSON_AddStringToObject(doc, "file", local ? ".p4reg/config.local" : ".p4reg/config");
		return cmd_print_json(doc);
	}
	return 0;
}
