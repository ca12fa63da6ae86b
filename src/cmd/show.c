/* p4reg show REF: one version in full. */
#include "cmd.h"
#include "p4reg/metrics.h"
#include "p4reg/ops/show.h"
#include "p4reg/output.h"

#include <string.h>

const char cmd_show_usage[] =
	"usage: p4reg show [--verify [-r NAME] [--offline]] REF\n"
	"\n"
	"Shows one version: REF is name@3, name@v3, name@latest, name@STAGE,\n"
	"name@ALIAS, a model name (its latest version) or a path with a pointer.\n"
	"Includes its aliases, its tags and the latest value of each of its metrics.\n"
	"\n"
	"      --verify        re-hash the version's bytes (downloading them from the\n"
	"                      remote when the local store lacks them); exit 4 when\n"
	"                      they do not match its oid\n"
	"  -r, --remote NAME   with --verify: download from NAME (default: core.remote)\n"
	"      --offline       with --verify: download nothing (also: core.offline)\n";

enum { OPT_VERIFY = 1, OPT_REMOTE, OPT_OFFLINE };

static const p4r_option options[] = {
	{ "verify", 0, false, OPT_VERIFY },
	{ "remote", 'r', true, OPT_REMOTE },
	{ "offline", 0, false, OPT_OFFLINE },
	{ NULL, 0, false, 0 },
};

static void print_version(const p4r_version *v, bool stored)
{
	char when[32], size[32];

	p4r_format_time(when, sizeof(when), v->created_ms);
	p4r_format_size(size, sizeof(size), (uint64_t)v->size);
	printf("model:    %s\n", p4r_escape(v->model));
	printf("version:  %lld\n", (long long)v->number);
	printf("stage:    %s%s\n", p4r_stage_name(v->stage), v->rolled_back ? " (rolled back)" : "");
	printf("oid:      sha256:%s%s\n", v->oid.hex, stored ? "" : " (not in the local store)");
	printf("size:     %lld (%s)\n", (long long)v->size, size);
	printf("path:     %s\n", p4r_escape(v->source_path));
	printf("author:   %s\n", p4r_escape(v->author));
	printf("created:  %s\n", when);
	if (v->git_commit)
		printf("git:      %s%s%s%s\n", p4r_escape(v->git_commit), v->git_branch ? " on " : "",
		       p4r_escape(v->git_branch), v->git_dirty == 1 ? " (dirty)" : "");
	else if (v->git_branch && *v->git_branch)
		printf("git:      no commit yet on %s%s\n", p4r_escape(v->git_branch),
		       v->git_dirty == 1 ? " (dirty)" : "");
	if (v->message && *v->message)
		printf("message:  %s\n", p4r_escape(v->message));
}

/* "aliases:  champion, canary" and "tags:" with a "  key=value" line each. */
static void print_labels(const p4r_show_result *res)
{
	size_t i;

	for (i = 0; i < res->naliases; i++)
		printf("%s%s", i ? ", " : "aliases:  ", res->aliases[i].name);
	if (res->naliases)
		printf("\n");
	if (res->tags.n)
		printf("tags:\n");
	for (i = 0; i < res->tags.n; i++)
		printf("  %s=%s\n", p4r_escape(res->tags.v[i].key), p4r_escape(res->tags.v[i].value));
}

/* The latest value of each metric, keys aligned. */
static void print_metrics(const p4r_metric_table *t)
{
	size_t k, width = 0;
	char num[32];

	if (t->nkeys == 0)
		return;
	for (k = 0; k < t->nkeys; k++)
		if (strlen(t->keys[k]) > width)
			width = strlen(t->keys[k]);
	printf("metrics:\n");
	for (k = 0; k < t->nkeys; k++) {
		const p4r_metric_cell *c = p4r_metric_table_get(t, 0, k);

		if (!c)
			continue;
		p4r_metric_format(num, sizeof(num), c->value);
		printf("  %-*s  %s\n", (int)width, p4r_escape(t->keys[k]), num);
	}
}

/* A folder version's files, one a line: oid prefix, mode, size, path. */
static void print_files(const p4r_show_result *res)
{
	const p4r_version *v = &res->version;
	char size[32];
	size_t i;

	p4r_format_size(size, sizeof(size), (uint64_t)v->tree_size);
	printf("folder:   %lld file%s, %s\n", (long long)v->files, v->files == 1 ? "" : "s", size);
	if (!res->files.n) {
		printf("files:    (its manifest is not in the local store)\n");
		return;
	}
	printf("files:\n");
	for (i = 0; i < res->files.n; i++) {
		const p4r_manifest_entry *e = &res->files.v[i];

		p4r_format_size(size, sizeof(size), (uint64_t)e->size);
		printf("  %.12s  %s  %10s  %s\n", e->oid.hex, e->exec ? "755" : "644", size, p4r_escape(e->path));
	}
}

static cJSON *json_files(const p4r_manifest *m)
{
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	for (i = 0; arr && i < m->n; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "path", m->v[i].path);
		cJSON_AddNumberToObject(o, "size", (double)m->v[i].size);
		cJSON_AddStringToObject(o, "oid", m->v[i].oid.hex);
		cJSON_AddBoolToObject(o, "exec", m->v[i].exec);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static int print_show(p4r_cli *cli, const p4r_show_result *res)
{
	bool dir = res->version.kind == P4R_KIND_DIR;

	if (cli->json) {
		cJSON *doc = p4r_json_version(&res->version);

		cJSON_AddBoolToObject(doc, "stored", res->stored);
		cJSON_AddBoolToObject(doc, "damaged", res->damaged);
		if (res->verified)
			cJSON_AddBoolToObject(doc, "verified", true);
		cJSON_AddItemToObject(doc, "metrics", p4r_json_metric_row(&res->metrics, 0));
		cJSON_AddItemToObject(doc, "tags", p4r_json_tags(&res->tags, -1));
		cJSON_AddItemToObject(doc, "aliases", p4r_json_alias_names(res->aliases, res->naliases, 0));
		if (dir) {
			cJSON_AddStringToObject(doc, "kind", "dir");
			cJSON_AddNumberToObject(doc, "tree_size", (double)res->version.tree_size);
			if (res->files.n)
				cJSON_AddItemToObject(doc, "files", json_files(&res->files));
			else
				cJSON_AddNullToObject(doc, "files");
		}
		return cmd_print_json(doc);
	}
	print_version(&res->version, res->stored);
	if (res->damaged)
		printf("damaged:  its stored bytes changed in place (they hashed to %.12s) and are "
		       "in '%s'; 'p4reg fsck --repair' fetches them from a remote\n",
		       res->damage.got.hex, p4r_escape(res->damage.quarantine));
	if (res->verified)
		printf("verified: the bytes hash to its oid\n");
	print_labels(res);
	if (dir)
		print_files(res);
	print_metrics(&res->metrics);
	return 0;
}

int cmd_show(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	p4r_show_opts opts = { 0 };
	p4r_show_result res = { 0 };
	p4r_op_report report;
	const char *value;
	cmd_report cr;
	p4r_opts o;
	int id, rc;

	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_VERIFY)
			opts.verify = true;
		else if (id == OPT_REMOTE)
			opts.remote = value;
		else if (id == OPT_OFFLINE)
			opts.offline = true;
		else if (opts.ref)
			return cmd_usage_error(cli, "show takes one REF");
		else
			opts.ref = value;
	}
	if (rc < 0)
		return rc;
	if (!opts.ref)
		return cmd_usage_error(cli, "show needs a REF");
	if ((opts.remote || opts.offline) && !opts.verify)
		return cmd_usage_error(cli, "--remote and --offline apply to --verify");
	report = cmd_report_init(&cr, cli);
	rc = p4r_show(repo, &opts, &report, &res);
	cmd_report_done(&cr);
	if (rc == 0)
		rc = print_show(cli, &res);
	p4r_show_result_free(&res);
	return rc;
}
