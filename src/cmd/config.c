/* p4reg config: read and write .p4reg/config (or config.local), including
 * the multi-valued keys (stage.<STAGE>.require). */
#include "cmd.h"
#include "p4reg/lifecycle.h"

#include <stdlib.h>
#include <string.h>

const char cmd_config_usage[] =
	"usage: p4reg config [--local] [--show-secrets] KEY [VALUE]\n"
	"       p4reg config [--local] --add KEY VALUE\n"
	"       p4reg config [--show-secrets] --get-all KEY\n"
	"       p4reg config [--local] --unset KEY\n"
	"       p4reg config [--local] --unset-all KEY\n"
	"       p4reg config [--show-secrets] --list\n"
	"\n"
	"Reads KEY (exit 1 when unset; the value in effect, the last one) or sets it\n"
	"to VALUE in .p4reg/config, the committed, shared file. --local uses\n"
	".p4reg/config.local instead: never committed, created 0600, the place for\n"
	"credentials and hooks. Reads see the user's ~/.config/p4reg/config, then\n"
	"config, then config.local (last wins). Credentials (names with secret,\n"
	"password, token, accessKeyId...) print as **** and are refused in the\n"
	"committed config (exit 2).\n"
	"\n"
	"Multi-valued keys: only stage.<STAGE>.require (promotion gates, checked\n"
	"when written). --add appends a value, --get-all prints every value, one\n"
	"per line (exit 1 when none). Setting or --unset of a key with several\n"
	"values in the file is refused (exit 2): use --add or --unset-all.\n"
	"\n"
	"core.cacheType (default reflink,copy) picks how files reach the work tree.\n"
	"hardlink counts only from config.local or the user's file: it makes the\n"
	"work file the stored object, so an in-place write (torch.save, a process\n"
	"holding the file, any write as root) destroys that version's only local\n"
	"copy; p4reg then quarantines it and only a remote or the original file\n"
	"brings it back.\n"
	"Prefer reflink (btrfs, XFS). Keys: docs/commands.md, \"config keys\".\n"
	"\n"
	"      --local         write or unset in .p4reg/config.local\n"
	"      --add           append VALUE to a multi-valued KEY\n"
	"      --get-all       print every value of KEY, lowest priority first\n"
	"      --unset         remove KEY (one value)\n"
	"      --unset-all     remove every value of KEY\n"
	"  -l, --list          print every setting as key=value; with --json, keys\n"
	"                      with several values (and multi-valued keys) as arrays\n"
	"      --show-secrets  print credentials' values instead of ****\n";

enum { OPT_LOCAL = 1, OPT_ADD, OPT_GET_ALL, OPT_UNSET, OPT_UNSET_ALL, OPT_LIST, OPT_SHOW_SECRETS };

static const p4r_option options[] = {
	{ "local", 0, false, OPT_LOCAL },
	{ "add", 0, false, OPT_ADD },
	{ "get-all", 0, false, OPT_GET_ALL },
	{ "unset", 0, false, OPT_UNSET },
	{ "unset-all", 0, false, OPT_UNSET_ALL },
	{ "list", 'l', false, OPT_LIST },
	{ "show-secrets", 0, false, OPT_SHOW_SECRETS },
	{ NULL, 0, false, 0 },
};

#define MASK "****"

struct list_state {
	cJSON *obj;        /* NULL: text */
	bool show_secrets;
};

/* VALUE as printed: "****" for a credential unless SHOW; "" for a key
 * written without "= value". */
static const char *shown(const char *key, const char *value, bool show)
{
	return !show && p4r_config_key_is_secret(key) ? MASK : value ? value : "";
}

/* A name seen again becomes an array of its values in file order; a
 * multi-valued key is an array from its first value on, so its type never
 * depends on how many values it has. */
static int list_entry(const char *name, const char *value, void *payload)
{
	struct list_state *st = payload;
	cJSON *old, *arr, *item;

	value = shown(name, value, st->show_secrets);
	if (!st->obj) {
		printf("%s=%s\n", p4r_escape(name), p4r_escape(value));
		return 0;
	}
	if (!(item = cJSON_CreateString(value)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	old = cJSON_GetObjectItemCaseSensitive(st->obj, name);
	if (cJSON_IsArray(old)) {
		cJSON_AddItemToArray(old, item);
		return 0;
	}
	if (!old && !p4r_config_key_is_list(name)) {
		cJSON_AddItemToObject(st->obj, name, item);
		return 0;
	}
	if (!(arr = cJSON_CreateArray())) {
		cJSON_Delete(item);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	if (old)
		cJSON_AddItemToArray(arr, cJSON_DetachItemViaPointer(st->obj, old));
	cJSON_AddItemToArray(arr, item);
	cJSON_AddItemToObject(st->obj, name, arr);
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

struct get_all {
	const char *key;
	bool show_secrets;
	cJSON *values;     /* NULL: text */
	size_t n;
};

static int get_all_value(const char *value, void *payload)
{
	struct get_all *g = payload;

	value = shown(g->key, value, g->show_secrets);
	g->n++;
	if (g->values)
		cJSON_AddItemToArray(g->values, cJSON_CreateString(value));
	else
		printf("%s\n", p4r_escape(value));
	return 0;
}

static int do_get_all(p4r_cli *cli, p4r_config *cfg, const char *key, bool show_secrets)
{
	cJSON *doc = cli->json ? cJSON_CreateObject() : NULL;
	struct get_all g = { key, show_secrets, NULL, 0 };
	int rc;

	if (doc) {
		cJSON_AddStringToObject(doc, "key", key);
		g.values = cJSON_AddArrayToObject(doc, "values");
	}
	rc = p4r_config_foreach_value(cfg, key, get_all_value, &g);
	if (rc == 0 && g.n == 0)
		rc = p4r_error_set(P4R_ENOTFOUND, "config key '%s' is not set", key);
	if (rc < 0) {
		cJSON_Delete(doc);
		return rc;
	}
	return doc ? cmd_print_json(doc) : 0;
}

static const char *file_name(bool local)
{
	return local ? ".p4reg/config.local" : ".p4reg/config";
}

static int print_written(p4r_cli *cli, const char *key, const char *value, bool local, bool show_secrets)
{
	cJSON *doc;

	if (!cli->json)
		return 0;
	doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "key", key);
	if (value)
		cJSON_AddStringToObject(doc, "value", shown(key, value, show_secrets));
	cJSON_AddStringToObject(doc, "file", file_name(local));
	return cmd_print_json(doc);
}

int cmd_config(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	p4r_config *cfg = p4r_repo_config(repo);
	const char *args[3] = { 0 }, *value;
	bool local = false, show_secrets = false;
	int mode = 0, id, rc;
	size_t nargs = 0;
	p4r_opts o;

	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_LOCAL) {
			local = true;
		} else if (id == OPT_SHOW_SECRETS) {
			show_secrets = true;
		} else if (id == P4R_OPT_POSITIONAL) {
			if (nargs == 3)
				return cmd_usage_error(cli, "too many arguments");
			args[nargs++] = value;
		} else if (mode && mode != id) {
			return cmd_usage_error(cli, "give one of --add, --get-all, --unset, --unset-all "
					       "and --list");
		} else {
			mode = id;
		}
	}
	if (rc < 0)
		return rc;
	switch (mode) {
	case OPT_LIST:
		return nargs ? cmd_usage_error(cli, "--list takes no KEY") : do_list(cli, cfg, show_secrets);
	case OPT_GET_ALL:
		if (nargs != 1)
			return cmd_usage_error(cli, "--get-all takes one KEY");
		return do_get_all(cli, cfg, args[0], show_secrets);
	case OPT_UNSET:
	case OPT_UNSET_ALL:
		if (nargs != 1)
			return cmd_usage_error(cli, "%s takes one KEY", mode == OPT_UNSET ? "--unset" : "--unset-all");
		rc = mode == OPT_UNSET ? p4r_config_unset(cfg, local, args[0]) :
					 p4r_config_unset_all(cfg, local, args[0]);
		return rc < 0 ? rc : print_written(cli, args[0], NULL, local, show_secrets);
	case OPT_ADD:
		if (nargs != 2)
			return cmd_usage_error(cli, "--add takes KEY VALUE");
		if ((rc = p4r_lifecycle_check_config(args[0], args[1])) < 0 ||
		    (rc = p4r_config_add(cfg, local, args[0], args[1])) < 0)
			return rc;
		return print_written(cli, args[0], args[1], local, show_secrets);
	default:
		break;
	}
	if (nargs == 0 || nargs > 2)
		return cmd_usage_error(cli, "expected KEY [VALUE]");
	if (nargs == 1)
		return do_get(cli, cfg, args[0], show_secrets);
	if ((rc = p4r_lifecycle_check_config(args[0], args[1])) < 0 ||
	    (rc = p4r_config_set(cfg, local, args[0], args[1])) < 0)
		return rc;
	return print_written(cli, args[0], args[1], local, show_secrets);
}
