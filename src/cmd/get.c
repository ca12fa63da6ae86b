/* p4reg get: a version from a remote onto a deploy box, without git, a
 * repository or a registry (like dvc get / mlflow artifacts download). */
#include "cmd.h"
#include "p4reg/config.h"
#include "p4reg/deploy.h"
#include "p4reg/output.h"
#include "p4reg/ref.h"
#include "p4reg/remote.h"

#include <stdlib.h>
#include <string.h>

const char cmd_get_usage[] =
	"usage: p4reg get URL REF -o PATH [--cache DIR | --no-cache] [--force]\n"
	"                 [--endpoint URL] [--region REGION] [--path-style]\n"
	"\n"
	"Puts the bytes of REF (name@production, name@staging, name@3, name@v3,\n"
	"name@latest, name@ALIAS) from the remote at URL (a folder, file:///path or\n"
	"s3://BUCKET/PREFIX) at PATH: the remote's event log is read and replayed\n"
	"to resolve REF, the object is downloaded, verified (SHA-256 and size)\n"
	"and renamed over PATH atomically. Needs no git and no repository. When\n"
	"PATH already holds those bytes nothing is written (\"already at\").\n"
	"Downloads go through a cache, so going back to a version fetched before\n"
	"is a reflink or a local copy. S3 settings: a [remote] section with this\n"
	"url in your own config (~/.config/p4reg/config: credentials, profile,\n"
	"endpoint, region, path-style, allowHttp), then AWS_ACCESS_KEY_ID,\n"
	"AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_ENDPOINT_URL_S3,\n"
	"AWS_REGION and the AWS_PROFILE or default profile of ~/.aws.\n"
	"\n"
	"A folder version (p4reg add DIR) is written as the folder PATH: its\n"
	"manifest and every file verified, each file renamed into place; a file\n"
	"in PATH that is not in the version, or holds other bytes, is refused\n"
	"unless --force, which overwrites or removes it -- except a file that\n"
	"holds what the version the last get (with a cache) put at PATH had\n"
	"there: that one is get's own, so switching versions needs no --force.\n"
	"\n"
	"  -o, --output PATH   the file (or folder) to write; its folder must exist\n"
	"      --cache DIR     the cache (default $XDG_CACHE_HOME/p4reg or ~/.cache/p4reg)\n"
	"      --no-cache      download straight beside PATH, keep nothing\n"
	"      --force         folder version: overwrite or remove foreign files in PATH\n"
	"      --endpoint URL  S3 server, http(s)://host[:port] (default: AWS)\n"
	"      --region REGION S3 signing region (default us-east-1)\n"
	"      --path-style    S3: endpoint/bucket/key requests\n"
	"\n"
	"Exit codes: 0 done or already there, 1 error (unknown model or version,\n"
	"remote unreachable), 2 bad arguments, 3 cache folder refused, 4 corrupt\n"
	"object or event log (PATH untouched).\n";

enum { OPT_OUTPUT = 1, OPT_CACHE, OPT_NO_CACHE, OPT_ENDPOINT, OPT_REGION, OPT_PATH_STYLE, OPT_FORCE };

static const p4r_option options[] = {
	{ "output", 'o', true, OPT_OUTPUT },
	{ "cache", 0, true, OPT_CACHE },
	{ "no-cache", 0, false, OPT_NO_CACHE },
	{ "endpoint", 0, true, OPT_ENDPOINT },
	{ "region", 0, true, OPT_REGION },
	{ "path-style", 0, false, OPT_PATH_STYLE },
	{ "force", 0, false, OPT_FORCE },
	{ NULL, 0, false, 0 },
};

struct get_args {
	const char *url, *ref, *dest, *cache;
	bool no_cache, force;
	p4r_remote_given given;
};

static int parse(p4r_cli *cli, int argc, char **argv, struct get_args *a)
{
	const char *value;
	p4r_opts o;
	int id, rc, npos = 0;

	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_OUTPUT)
			a->dest = value;
		else if (id == OPT_CACHE)
			a->cache = value;
		else if (id == OPT_NO_CACHE)
			a->no_cache = true;
		else if (id == OPT_ENDPOINT)
			a->given.endpoint = value;
		else if (id == OPT_REGION)
			a->given.region = value;
		else if (id == OPT_PATH_STYLE)
			a->given.path_style = true;
		else if (id == OPT_FORCE)
			a->force = true;
		else if (npos++ == 0)
			a->url = value;
		else if (npos == 2)
			a->ref = value;
		else
			return cmd_usage_error(cli, "unexpected argument '%s'", value);
	}
	if (rc < 0)
		return rc;
	if (!a->url || !a->ref)
		return cmd_usage_error(cli, "get needs a URL and a REF");
	if (!a->dest || !a->dest[0])
		return cmd_usage_error(cli, "get needs -o PATH, the file to write");
	if (a->cache && a->no_cache)
		return cmd_usage_error(cli, "--cache and --no-cache exclude each other");
	return 0;
}

static int print_json(const p4r_get_result *res, const char *dest)
{
	const p4r_deploy_version *v = &res->version;
	cJSON *doc = cJSON_CreateObject();

	cJSON_AddStringToObject(doc, "model", v->model);
	cJSON_AddNumberToObject(doc, "version", (double)v->number);
	cJSON_AddStringToObject(doc, "stage", p4r_stage_name(v->stage));
	cJSON_AddStringToObject(doc, "oid", v->oid.hex);
	cJSON_AddNumberToObject(doc, "size", (double)v->size);
	cJSON_AddStringToObject(doc, "path", dest);
	cJSON_AddBoolToObject(doc, "cached", res->cached);
	cJSON_AddBoolToObject(doc, "changed", res->changed);
	if (v->kind == P4R_KIND_DIR) {
		cJSON_AddStringToObject(doc, "kind", "dir");
		cJSON_AddNumberToObject(doc, "files", (double)res->files);
		cJSON_AddNumberToObject(doc, "written", (double)res->written);
		cJSON_AddNumberToObject(doc, "unchanged", (double)res->unchanged);
		cJSON_AddNumberToObject(doc, "removed", (double)res->removed);
	}
	return cmd_print_json(doc);
}

static void print_text(p4r_cli *cli, const p4r_get_result *res, const char *dest, bool use_cache)
{
	const p4r_deploy_version *v = &res->version;
	char size[32];

	if (cli->quiet)
		return;
	p4r_format_size(size, sizeof(size), (uint64_t)v->size);
	printf("%s %s@%lld (%s)%s %s (sha256 %.12s, %s)\n", res->changed ? "got" : "already at",
	       p4r_escape(v->model), (long long)v->number, p4r_stage_name(v->stage),
	       res->changed ? " ->" : ":", p4r_escape(dest), v->oid.hex, size);
	if (v->kind == P4R_KIND_DIR)
		printf("%lld files: %lld written, %lld unchanged, %lld removed\n", (long long)res->files,
		       (long long)res->written, (long long)res->unchanged, (long long)res->removed);
	else if (res->changed && use_cache)
		cmd_note(cli, res->cached ? "from the cache (%s), nothing downloaded" :
			 "downloaded into the cache, then %s", p4r_link_name(res->link));
}

int cmd_get(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	cmd_progress progress = { .cli = cli };
	struct get_args a = { 0 };
	p4r_get_opts opts = { .count = cmd_progress_show, .payload = &progress };
	p4r_get_result res;
	p4r_config *cfg = NULL;
	p4r_remote *r = NULL;
	char *cache = NULL;
	p4r_ref ref;
	int rc;

	(void)repo;
	if ((rc = parse(cli, argc, argv, &a)) < 0 || (rc = p4r_ref_parse(&ref, a.ref)) < 0)
		return rc;
	if (!a.no_cache && !a.cache && (rc = p4r_deploy_default_cache(&cache)) < 0)
		return rc;
	opts.dest = a.dest;
	opts.force = a.force;
	opts.cache_dir = a.no_cache ? NULL : a.cache ? a.cache : cache;
	if ((rc = p4r_config_open_user(&cfg)) < 0 ||
	    (rc = p4r_remote_open_url(&r, cfg, a.url, &a.given)) < 0)
		goto done;
	rc = p4r_deploy_get(r, &ref, &opts, &res);
	cmd_progress_done(&progress);
	if (rc < 0)
		goto done;
	if (cli->json)
		rc = print_json(&res, a.dest);
	else
		print_text(cli, &res, a.dest, opts.cache_dir != NULL);
done:
	p4r_remote_free(r);
	p4r_config_free(cfg);
	free(cache);
	return rc;
}
