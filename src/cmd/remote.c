/* p4reg remote: add, list, remove and check remotes; also the summary
 * printer shared by push, fetch and pull. */
#include "cmd.h"
#include "p4reg/fsutil.h"
#include "p4reg/output.h"
#include "p4reg/pointer.h"
#include "p4reg/remote.h"
#include "p4reg/sync.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

const char cmd_remote_usage[] =
	"usage: p4reg remote add [-d] [--endpoint URL] [--region R] [--path-style] NAME URL\n"
	"       p4reg remote list\n"
	"       p4reg remote remove NAME\n"
	"       p4reg remote check [NAME]\n"
	"\n"
	"Remotes hold objects and the registry's event log (docs/remotes.md). URL is\n"
	"a folder (local disk, NAS mount), a file:// URL or s3://BUCKET/PREFIX.\n"
	"S3 credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and\n"
	"AWS_SESSION_TOKEN, or from remote.NAME.accessKeyId / secretAccessKey /\n"
	"sessionToken in .p4reg/config.local, never from the committed config.\n"
	"'add' and 'check' probe that the remote refuses a second conditional\n"
	"create of one key (exit 3 from check when it does not).\n"
	"\n"
	"  -d, --default      make NAME the default remote (core.remote)\n"
	"      --endpoint URL S3: the server (remote.NAME.endpoint; trusted in\n"
	"                     config.local as remote.NAME.trustedEndpoint: a clone\n"
	"                     confirms it so before its credentials go to it)\n"
	"      --region R     S3: the signing region (remote.NAME.region, default us-east-1)\n"
	"      --path-style   S3: address the bucket in the path (remote.NAME.path-style)\n";

enum { OPT_DEFAULT = 1, OPT_ENDPOINT, OPT_REGION, OPT_PATH_STYLE };

static const p4r_option options[] = {
	{ "default", 'd', false, OPT_DEFAULT },
	{ "endpoint", 0, true, OPT_ENDPOINT },
	{ "region", 0, true, OPT_REGION },
	{ "path-style", 0, false, OPT_PATH_STYLE },
	{ NULL, 0, false, 0 },
};

static int set_key(p4r_config *cfg, const char *name, const char *key, const char *value)
{
	char full[160];

	snprintf(full, sizeof(full), "remote.%s.%s", name, key);
	return p4r_config_set(cfg, false, full, value);
}

static bool remote_exists(p4r_config *cfg, const char *name, char **url)
{
	char full[160];
	int rc;

	snprintf(full, sizeof(full), "remote.%s.url", name);
	rc = p4r_config_get(cfg, P4R_CONFIG_ALL, full, url);
	if (rc < 0)
		p4r_error_clear();
	return rc == 0;
}

/* Probes REMOTE, printing the outcome; *SAFE gets the verdict. */
static int probe(p4r_cli *cli, p4r_remote *r, bool *safe)
{
	int rc = p4r_remote_probe(r, safe);

	if (rc < 0)
		return rc;
	if (*safe)
		cmd_note(cli, "remote '%s' refuses a second conditional create: concurrent pushes are safe", r->name);
	else
		cmd_warn("remote '%s' accepted a second conditional create of one key (it ignores "
			 "If-None-Match): concurrent pushes to it are unsafe; 'push' needs --unsafe-concurrent",
			 r->name);
	return 0;
}

/* Whoever adds a remote trusts its endpoint with their credentials: it
 * goes to config.local too (a clone confirms it there, docs/security.md). */
static int trust_endpoint(p4r_config *cfg, const char *name, const char *endpoint)
{
	char key[P4R_REMOTE_NAME_MAX + 32];

	snprintf(key, sizeof(key), "remote.%s.trustedEndpoint", name);
	return p4r_config_set(cfg, true, key, endpoint);
}

static int do_add(p4r_cli *cli, p4r_repo *repo, bool deflt, const char *endpoint, const char *region,
		  bool path_style, const char *name, const char *url)
{
	p4r_config *cfg = p4r_repo_config(repo);
	p4r_remote_url parsed;
	p4r_remote *r = NULL;
	char *old = NULL, *resolved = NULL;
	const char *stored = url;
	bool safe = false;
	int rc;

	if (!p4r_remote_name_valid(name))
		return cmd_usage_error(cli, "invalid remote name '%s' (letters, digits, '_' and '-')", name);
	if (remote_exists(cfg, name, &old)) {
		free(old);
		return p4r_error_set(P4R_EEXISTS, "remote '%s' already exists", name);
	}
	if ((rc = p4r_remote_url_parse(&parsed, url)) < 0)
		return rc;
	if (parsed.kind == P4R_REMOTE_DIR) {
		/* Stored absolute: commands run from any folder of the work tree. */
		if ((rc = p4r_mkdir_p(parsed.path, 0755)) < 0)
			goto done;
		if (strncmp(url, "file://", 7)) {
			if (!(resolved = realpath(parsed.path, NULL))) {
				rc = p4r_error_errno("cannot open '%s'", parsed.path);
				goto done;
			}
			stored = resolved;
		}
	} else if (!endpoint && !getenv("P4REG_S3_ENDPOINT")) {
		cmd_note(cli, "no --endpoint given: using AWS S3 (s3.REGION.amazonaws.com)");
	}
	if ((rc = set_key(cfg, name, "url", stored)) < 0 ||
	    (endpoint && (rc = set_key(cfg, name, "endpoint", endpoint)) < 0) ||
	    (endpoint && (rc = trust_endpoint(cfg, name, endpoint)) < 0) ||
	    (region && (rc = set_key(cfg, name, "region", region)) < 0) ||
	    (path_style && (rc = set_key(cfg, name, "path-style", "true")) < 0) ||
	    (deflt && (rc = p4r_config_set(cfg, false, "core.remote", name)) < 0))
		goto done;
	/* The remote is recorded even when unreachable now (a NAS may be down). */
	if ((rc = p4r_remote_open(&r, cfg, p4r_repo_meta(repo), name)) == 0)
		rc = probe(cli, r, &safe);
	if (rc < 0) {
		cmd_warn("cannot probe remote '%s': %s", name, p4r_error_message());
		p4r_error_clear();
		rc = 0;
	}
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "name", name);
		cJSON_AddStringToObject(doc, "url", stored);
		cJSON_AddBoolToObject(doc, "default", deflt);
		cJSON_AddBoolToObject(doc, "conditional_writes", safe);
		rc = cmd_print_json(doc);
	} else if (!cli->quiet) {
		printf("added remote '%s' (%s)%s\n", p4r_escape(name), p4r_escape(stored),
		       deflt ? " as the default" : "");
	}
done:
	free(resolved);
	p4r_remote_free(r);
	p4r_remote_url_clear(&parsed);
	return rc;
}

struct listing {
	char **names, **urls;
	size_t n;
};

static int collect(const char *key, const char *value, void *payload)
{
	struct listing *l = payload;
	size_t len = strlen(key), i;
	char *name;

	if (strncmp(key, "remote.", 7) || len < 12 || strcmp(key + len - 4, ".url"))
		return 0;
	if (!(name = strndup(key + 7, len - 11)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < l->n; i++) {
		if (!strcmp(l->names[i], name)) {
			free(l->urls[i]);
			l->urls[i] = strdup(value ? value : "");
			free(name);
			return 0;
		}
	}
	{
		char **a = realloc(l->names, (l->n + 1) * sizeof(*a)), **b;

		if (a)
			l->names = a;
		b = a ? realloc(l->urls, (l->n + 1) * sizeof(*b)) : NULL;
		if (!b) {
			free(name);
			return p4r_error_set(P4R_ERROR, "out of memory");
		}
		l->urls = b;
	}
	l->names[l->n] = name;
	l->urls[l->n] = strdup(value ? value : "");
	l->n++;
	return 0;
}

static int do_list(p4r_cli *cli, p4r_repo *repo)
{
	p4r_config *cfg = p4r_repo_config(repo);
	struct listing l = { 0 };
	char *deflt = NULL;
	cJSON *doc = NULL, *arr;
	size_t i;
	int rc;

	if ((rc = p4r_config_foreach(cfg, collect, &l)) < 0)
		goto done;
	if (p4r_config_get(cfg, P4R_CONFIG_ALL, "core.remote", &deflt) < 0)
		p4r_error_clear();
	if (cli->json) {
		doc = cJSON_CreateObject();
		arr = cJSON_AddArrayToObject(doc, "remotes");
		for (i = 0; i < l.n; i++) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "name", l.names[i]);
			p4r_json_add_text(o, "url", l.urls[i]);
			cJSON_AddBoolToObject(o, "default", deflt && !strcmp(deflt, l.names[i]));
			cJSON_AddItemToArray(arr, o);
		}
		rc = cmd_print_json(doc);
		goto done;
	}
	for (i = 0; i < l.n; i++)
		printf("%s\t%s%s\n", p4r_escape(l.names[i]), p4r_escape(l.urls[i]),
		       deflt && !strcmp(deflt, l.names[i]) ? " (default)" : "");
done:
	for (i = 0; i < l.n; i++) {
		free(l.names[i]);
		free(l.urls[i]);
	}
	free(l.names);
	free(l.urls);
	free(deflt);
	return rc;
}

struct keys {
	const char *prefix;
	char **v;
	size_t n;
};

static int collect_keys(const char *key, const char *value, void *payload)
{
	struct keys *k = payload;
	char **p;

	(void)value;
	if (strncmp(key, k->prefix, strlen(k->prefix)))
		return 0;
	if (!(p = realloc(k->v, (k->n + 1) * sizeof(*p))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	k->v = p;
	if (!(p[k->n] = strdup(key)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	k->n++;
	return 0;
}

static int do_remove(p4r_cli *cli, p4r_repo *repo, const char *name)
{
	p4r_config *cfg = p4r_repo_config(repo);
	char prefix[96], *url = NULL, *deflt = NULL;
	struct keys k = { .prefix = prefix };
	size_t i;
	int rc, f;

	if (!p4r_remote_name_valid(name) || !remote_exists(cfg, name, &url))
		return p4r_error_set(P4R_ENOTFOUND, "no remote named '%s'", name);
	snprintf(prefix, sizeof(prefix), "remote.%s.", name);
	if ((rc = p4r_config_foreach(cfg, collect_keys, &k)) < 0)
		goto done;
	for (i = 0; i < k.n; i++) {
		for (f = 0; f < 2; f++) {
			if (p4r_config_unset(cfg, f == 1, k.v[i]) < 0)
				p4r_error_clear();
		}
	}
	if (p4r_config_get(cfg, P4R_CONFIG_ALL, "core.remote", &deflt) == 0 && !strcmp(deflt, name)) {
		if (p4r_config_unset(cfg, false, "core.remote") < 0)
			p4r_error_clear();
	}
	p4r_error_clear();
	if ((rc = p4r_registry_sync_forget(p4r_repo_registry(repo), url)) < 0)
		goto done;
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "removed", name);
		rc = cmd_print_json(doc);
	} else if (!cli->quiet) {
		printf("removed remote '%s'\n", p4r_escape(name));
	}
done:
	for (i = 0; i < k.n; i++)
		free(k.v[i]);
	free(k.v);
	free(url);
	free(deflt);
	return rc;
}

static int do_check(p4r_cli *cli, p4r_repo *repo, const char *name)
{
	p4r_remote *r = NULL;
	bool safe = false;
	int rc;

	if ((rc = p4r_remote_open(&r, p4r_repo_config(repo), p4r_repo_meta(repo), name)) < 0)
		return rc;
	if ((rc = probe(cli, r, &safe)) < 0)
		goto done;
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "name", r->name);
		cJSON_AddStringToObject(doc, "url", r->url);
		cJSON_AddBoolToObject(doc, "conditional_writes", safe);
		rc = cmd_print_json(doc);
	} else if (!cli->quiet) {
		printf("%s: %s\n", p4r_escape(r->name), safe ? "ok" : "unsafe for concurrent pushes");
	}
	if (rc == 0 && !safe) {
		cli->reported = true;
		rc = p4r_error_set(P4R_EREFUSED, "remote '%s' ignores conditional writes", r->name);
	}
done:
	p4r_remote_free(r);
	return rc;
}

int cmd_remote(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	const char *args[4] = { 0 }, *value, *endpoint = NULL, *region = NULL;
	bool deflt = false, path_style = false;
	size_t nargs = 0;
	p4r_opts o;
	int id, rc;

	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_DEFAULT)
			deflt = true;
		else if (id == OPT_ENDPOINT)
			endpoint = value;
		else if (id == OPT_REGION)
			region = value;
		else if (id == OPT_PATH_STYLE)
			path_style = true;
		else if (nargs < 4)
			args[nargs++] = value;
		else
			return cmd_usage_error(cli, "too many arguments");
	}
	if (rc < 0)
		return rc;
	if (nargs == 0)
		return cmd_usage_error(cli, "expected add, list, remove or check");
	if ((deflt || endpoint || region || path_style) && strcmp(args[0], "add"))
		return cmd_usage_error(cli, "-d, --endpoint, --region and --path-style go with 'remote add'");
	if (!strcmp(args[0], "add")) {
		if (nargs != 3)
			return cmd_usage_error(cli, "expected 'remote add NAME URL'");
		return do_add(cli, repo, deflt, endpoint, region, path_style, args[1], args[2]);
	}
	if (!strcmp(args[0], "list"))
		return nargs == 1 ? do_list(cli, repo) : cmd_usage_error(cli, "'remote list' takes no arguments");
	if (!strcmp(args[0], "remove") || !strcmp(args[0], "rm"))
		return nargs == 2 ? do_remove(cli, repo, args[1]) : cmd_usage_error(cli, "expected 'remote remove NAME'");
	if (!strcmp(args[0], "check"))
		return nargs <= 2 ? do_check(cli, repo, args[1]) : cmd_usage_error(cli, "expected 'remote check [NAME]'");
	return cmd_usage_error(cli, "unknown subcommand '%s'", args[0]);
}

/* ---- shared by push, fetch and pull ---- */

void cmd_sync_print_renumbered(p4r_cli *cli, const p4r_sync_result *res)
{
	size_t i;

	if (cli->json || cli->quiet)
		return;
	for (i = 0; i < res->nrenumbered; i++)
		printf("renumbered %s@%lld -> %s@%lld (the remote had taken its number)\n",
		       p4r_escape(res->renumbered[i].model), (long long)res->renumbered[i].from,
		       p4r_escape(res->renumbered[i].model), (long long)res->renumbered[i].to);
	for (i = 0; i < res->nrewritten; i++)
		printf("rewrote pointer %s%s\n", p4r_escape(res->rewritten[i]), P4R_POINTER_SUFFIX);
}

void cmd_sync_json(cJSON *doc, const p4r_remote *r, const p4r_sync_result *res)
{
	cmd_sync_json_named(doc, r->name, res);
}

void cmd_sync_json_named(cJSON *doc, const char *name, const p4r_sync_result *res)
{
	cJSON *o, *arr;
	size_t i;

	cJSON_AddStringToObject(doc, "remote", name);
	o = cJSON_AddObjectToObject(doc, "objects");
	cJSON_AddNumberToObject(o, "sent", (double)res->objects_sent);
	cJSON_AddNumberToObject(o, "bytes_sent", (double)res->bytes_sent);
	cJSON_AddNumberToObject(o, "received", (double)res->objects_received);
	cJSON_AddNumberToObject(o, "bytes_received", (double)res->bytes_received);
	cJSON_AddNumberToObject(o, "already_present", (double)res->objects_present);
	o = cJSON_AddObjectToObject(doc, "events");
	cJSON_AddNumberToObject(o, "applied", (double)res->events_applied);
	cJSON_AddNumberToObject(o, "batches_applied", (double)res->batches_applied);
	cJSON_AddNumberToObject(o, "published", (double)res->events_published);
	if (res->batch_seq)
		cJSON_AddNumberToObject(o, "batch", (double)res->batch_seq);
	else
		cJSON_AddNullToObject(o, "batch");
	arr = cJSON_AddArrayToObject(doc, "renumbered");
	for (i = 0; arr && i < res->nrenumbered; i++) {
		cJSON *x = cJSON_CreateObject();

		cJSON_AddStringToObject(x, "model", res->renumbered[i].model);
		cJSON_AddNumberToObject(x, "from", (double)res->renumbered[i].from);
		cJSON_AddNumberToObject(x, "to", (double)res->renumbered[i].to);
		cJSON_AddItemToArray(arr, x);
	}
}
