/* p4reg remote: add, list, remove and check remotes (ops/remote.h). */
#include "cmd.h"
#include "p4reg/ops/remote.h"
#include "p4reg/output.h"

#include <string.h>

const char cmd_remote_usage[] =
	"usage: p4reg remote add [-d] [--endpoint URL] [--region R] [--path-style] NAME URL\n"
	"       p4reg remote list\n"
	"       p4reg remote remove NAME\n"
	"       p4reg remote check [NAME]\n"
	"       p4reg remote convert [--keep-objects] [NAME]\n"
	"\n"
	"Remotes hold objects and the registry's event log (docs/remotes.md). URL is\n"
	"a folder (local disk, NAS mount), a file:// URL or s3://BUCKET/PREFIX.\n"
	"S3 credentials come from remote.NAME.accessKeyId / secretAccessKey /\n"
	"sessionToken in .p4reg/config.local, else from the AWS profile that\n"
	"remote.NAME.profile names, else from AWS_ACCESS_KEY_ID,\n"
	"AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, else from the AWS_PROFILE\n"
	"or default profile of ~/.aws/credentials and ~/.aws/config (which also\n"
	"give the endpoint and region), never from the committed config.\n"
	"'add' and 'check' probe that the remote refuses a second conditional\n"
	"create of one key (exit 3 from check when it does not).\n"
	"'convert' turns a format-1 remote (whole objects, p4reg before chunk\n"
	"dedup) into format 2: objects of 1 MiB or more become chunk lists and\n"
	"packs, chunks shared with other versions stored once (docs/dedup.md).\n"
	"A p4reg older than format 2 cannot read a converted remote.\n"
	"\n"
	"  -d, --default      make NAME the default remote (core.remote)\n"
	"      --endpoint URL S3: the server (remote.NAME.endpoint; trusted in\n"
	"                     config.local as remote.NAME.trustedEndpoint: a clone\n"
	"                     confirms it so before its credentials go to it)\n"
	"      --region R     S3: the signing region (remote.NAME.region, default us-east-1)\n"
	"      --path-style   S3: address the bucket in the path (remote.NAME.path-style)\n"
	"      --keep-objects convert: leave the whole objects beside the chunks\n";

enum { OPT_DEFAULT = 1, OPT_ENDPOINT, OPT_REGION, OPT_PATH_STYLE, OPT_KEEP };

static const p4r_option options[] = {
	{ "default", 'd', false, OPT_DEFAULT },
	{ "endpoint", 0, true, OPT_ENDPOINT },
	{ "region", 0, true, OPT_REGION },
	{ "path-style", 0, false, OPT_PATH_STYLE },
	{ "keep-objects", 0, false, OPT_KEEP },
	{ NULL, 0, false, 0 },
};

static int do_add(p4r_cli *cli, p4r_repo *repo, const p4r_remote_add_opts *opts)
{
	cmd_report cr;
	p4r_op_report report = cmd_report_init(&cr, cli);
	p4r_remote_add_result out = { 0 };
	int rc;

	if (!p4r_remote_name_valid(opts->name))
		return cmd_usage_error(cli, "invalid remote name '%s' (letters, digits, '_' and '-')", opts->name);
	rc = p4r_remote_add(repo, opts, &report, &out);
	cmd_report_done(&cr);
	if (rc < 0)
		goto done;
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "name", opts->name);
		cJSON_AddStringToObject(doc, "url", out.url);
		cJSON_AddBoolToObject(doc, "default", opts->make_default);
		cJSON_AddBoolToObject(doc, "conditional_writes", out.conditional_writes);
		rc = cmd_print_json(doc);
	} else if (!cli->quiet) {
		printf("added remote '%s' (%s)%s\n", p4r_escape(opts->name), p4r_escape(out.url),
		       opts->make_default ? " as the default" : "");
	}
done:
	p4r_remote_add_result_free(&out);
	return rc;
}

static int do_list(p4r_cli *cli, p4r_repo *repo)
{
	p4r_remote_list_result l = { 0 };
	size_t i;
	int rc;

	if ((rc = p4r_remote_list(repo, &l)) < 0)
		goto done;
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "remotes");

		for (i = 0; i < l.n; i++) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "name", l.v[i].name);
			p4r_json_add_text(o, "url", l.v[i].url);
			cJSON_AddBoolToObject(o, "default", l.v[i].is_default);
			cJSON_AddItemToArray(arr, o);
		}
		rc = cmd_print_json(doc);
		goto done;
	}
	for (i = 0; i < l.n; i++)
		printf("%s\t%s%s\n", p4r_escape(l.v[i].name), p4r_escape(l.v[i].url),
		       l.v[i].is_default ? " (default)" : "");
done:
	p4r_remote_list_result_free(&l);
	return rc;
}

static int do_remove(p4r_cli *cli, p4r_repo *repo, const char *name)
{
	int rc = p4r_remote_remove(repo, name);

	if (rc < 0)
		return rc;
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "removed", name);
		return cmd_print_json(doc);
	}
	if (!cli->quiet)
		printf("removed remote '%s'\n", p4r_escape(name));
	return 0;
}

static int do_check(p4r_cli *cli, p4r_repo *repo, const char *name)
{
	cmd_report cr;
	p4r_op_report report = cmd_report_init(&cr, cli);
	p4r_remote_check_result out = { 0 };
	int rc = p4r_remote_check(repo, name, &report, &out), prc = 0;

	cmd_report_done(&cr);
	/* an unsafe remote is printed first, then refused */
	if (rc < 0 && rc != P4R_EREFUSED)
		goto done;
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "name", out.name);
		cJSON_AddStringToObject(doc, "url", out.url);
		cJSON_AddBoolToObject(doc, "conditional_writes", out.conditional_writes);
		prc = cmd_print_json(doc);
	} else if (!cli->quiet) {
		printf("%s: %s\n", p4r_escape(out.name), out.conditional_writes ? "ok" : "unsafe for concurrent pushes");
	}
	if (prc < 0)
		rc = prc;
	else if (rc == P4R_EREFUSED)
		cli->reported = true;
done:
	p4r_remote_check_result_free(&out);
	return rc;
}

static int do_convert(p4r_cli *cli, p4r_repo *repo, const char *name, bool keep)
{
	cmd_report cr;
	p4r_op_report report = cmd_report_init(&cr, cli);
	p4r_remote_convert_result out;
	const p4r_convert_result *c = &out.c;
	char whole[32], sent[32], removed[32];
	int rc = p4r_remote_convert(repo, name, keep, &report, &out);

	cmd_report_done(&cr);
	if (rc < 0)
		return rc;
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "name", out.name);
		cJSON_AddNumberToObject(doc, "format_before", c->format_before);
		cJSON_AddNumberToObject(doc, "format", 2);
		cJSON_AddNumberToObject(doc, "objects", (double)c->objects);
		cJSON_AddNumberToObject(doc, "converted", (double)c->converted);
		cJSON_AddNumberToObject(doc, "already", (double)c->already);
		cJSON_AddNumberToObject(doc, "bytes_whole", (double)c->bytes_whole);
		cJSON_AddNumberToObject(doc, "bytes_sent", (double)c->bytes_sent);
		cJSON_AddNumberToObject(doc, "bytes_removed", (double)c->bytes_removed);
		return cmd_print_json(doc);
	}
	if (cli->quiet)
		return 0;
	p4r_format_size(whole, sizeof(whole), c->bytes_whole);
	p4r_format_size(sent, sizeof(sent), c->bytes_sent);
	p4r_format_size(removed, sizeof(removed), c->bytes_removed);
	printf("remote '%s' is format 2: %zu object%s (%s) converted, %zu already; %s of chunks sent, "
	       "%s of whole objects %s\n", p4r_escape(out.name), c->converted, c->converted == 1 ? "" : "s",
	       whole, c->already, sent, removed, keep ? "kept" : "removed");
	return 0;
}

int cmd_remote(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	const char *args[4] = { 0 }, *value;
	p4r_remote_add_opts add = { 0 };
	bool keep = false;
	size_t nargs = 0;
	p4r_opts o;
	int id, rc;

	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_DEFAULT)
			add.make_default = true;
		else if (id == OPT_ENDPOINT)
			add.endpoint = value;
		else if (id == OPT_REGION)
			add.region = value;
		else if (id == OPT_PATH_STYLE)
			add.path_style = true;
		else if (id == OPT_KEEP)
			keep = true;
		else if (nargs < 4)
			args[nargs++] = value;
		else
			return cmd_usage_error(cli, "too many arguments");
	}
	if (rc < 0)
		return rc;
	if (nargs == 0)
		return cmd_usage_error(cli, "expected add, list, remove, check or convert");
	if ((add.make_default || add.endpoint || add.region || add.path_style) && strcmp(args[0], "add"))
		return cmd_usage_error(cli, "-d, --endpoint, --region and --path-style go with 'remote add'");
	if (!strcmp(args[0], "add")) {
		if (nargs != 3)
			return cmd_usage_error(cli, "expected 'remote add NAME URL'");
		add.name = args[1];
		add.url = args[2];
		return do_add(cli, repo, &add);
	}
	if (!strcmp(args[0], "list"))
		return nargs == 1 ? do_list(cli, repo) : cmd_usage_error(cli, "'remote list' takes no arguments");
	if (!strcmp(args[0], "remove") || !strcmp(args[0], "rm"))
		return nargs == 2 ? do_remove(cli, repo, args[1]) : cmd_usage_error(cli, "expected 'remote remove NAME'");
	if (keep && strcmp(args[0], "convert"))
		return cmd_usage_error(cli, "--keep-objects goes with 'remote convert'");
	if (!strcmp(args[0], "convert"))
		return nargs <= 2 ? do_convert(cli, repo, args[1], keep) :
		       cmd_usage_error(cli, "expected 'remote convert [NAME]'");
	if (!strcmp(args[0], "check"))
		return nargs <= 2 ? do_check(cli, repo, args[1]) : cmd_usage_error(cli, "expected 'remote check [NAME]'");
	return cmd_usage_error(cli, "unknown subcommand '%s'", args[0]);
}
