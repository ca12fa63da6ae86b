/* p4reg import git-lfs | dvc: the Git LFS history of HEAD, or DVC-tracked
 * outputs, as versions (ops/import.h). */
#include "cmd.h"
#include "p4reg/ops/import.h"

#include <stdlib.h>
#include <string.h>

const char cmd_import_usage[] =
	"usage: p4reg import git-lfs [--name NAME] [--since REV] [--all-parents] [--stage STAGE=REV...]\n"
	"                            [--dry-run] [PATH|PATTERN...]\n"
	"       p4reg import dvc [--history [--since REV] [--all-parents] [--stage STAGE=REV...]]\n"
	"                        [--write-pointers] [--dvc-cache DIR] [--name NAME] [--dry-run]\n"
	"                        [FILE.dvc|DIR...]\n"
	"\n"
	"Registers the Git LFS history of HEAD: for every commit that changed the\n"
	"Git LFS pointer of a path (oldest first, first parents only unless\n"
	"--all-parents), a version of that path's model with the pointer's oid and\n"
	"size, the commit's author and date, the commit as its git commit and the\n"
	"commit's subject as its message. The model is the one bound to the path,\n"
	"else --name, else the name add gives it. Bytes come from .git/lfs/objects,\n"
	"verified, into the store (core.cacheType); a version whose object git-lfs\n"
	"does not have here is registered without it (not downloaded): run\n"
	"'git lfs fetch --all' and import again, or 'p4reg pull' it from a p4reg\n"
	"remote. Running it again registers only what is new. Each model is one\n"
	"transaction: a corrupt object registers nothing for its model (exit 4),\n"
	"a blob that is no valid pointer is refused (exit 4), the rest goes on.\n"
	"PATH is a file or folder, PATTERN a glob ('*' crosses '/'); none: all.\n"
	"\n"
	"'dvc' registers the outputs of .dvc files (FILE.dvc, those below DIR, or\n"
	"all): the bytes from DVC's cache (.dvc/cache/files/md5/..., or the older\n"
	"layout), checked against the .dvc file's MD5 and stored by SHA-256, as\n"
	"'add' registers a file; a directory output (md5 ending in .dir) becomes a\n"
	"folder version, its listing's files each checked and stored. DVC 2's\n"
	"md5-dos2unix sums are honoured. The cache is each DVC repository's\n"
	".dvc/cache, or the cache.dir its .dvc/config sets inside the repository,\n"
	"or the one --dvc-cache names. With --history it does so for every commit\n"
	"that changed a DVC file, with its author, date and subject. A corrupt\n"
	"cache entry registers nothing for its model (exit 4). The .dvc files\n"
	"stay; --write-pointers puts a p4reg pointer beside each output.\n"
	"\n"
	"Imported versions start in development. --stage production=REV then moves\n"
	"the version each model got from REV's commit to production (validation and\n"
	"staging likewise), in the model's transaction, as a forced 'promote' with\n"
	"the reason 'import --stage production=REV': the metric gates are not\n"
	"applied. A model with no version from that commit is left as it is (a note\n"
	"says so); one already there is not moved again.\n"
	"\n"
	"      --name NAME     the model of the one path imported\n"
	"      --since REV     only the commits after REV (REV..HEAD)\n"
	"      --all-parents   follow merges into the commits of merged branches\n"
	"      --stage STAGE=REV\n"
	"                      move the version of REV's commit to STAGE (validation, staging\n"
	"                      or production); repeatable, one per stage\n"
	"      --dry-run       list what would be registered, change nothing\n"
	"      --history       dvc: every commit of HEAD's history that changed a .dvc file\n"
	"      --write-pointers\n"
	"                      dvc: a p4reg pointer beside each output, staged in git\n"
	"      --dvc-cache DIR dvc: DVC's cache folder (a shared cache outside the repository)\n";

enum { OPT_NAME = 1, OPT_SINCE, OPT_ALL_PARENTS, OPT_DRY_RUN, OPT_HISTORY, OPT_WRITE_POINTERS, OPT_STAGE,
       OPT_DVC_CACHE };

static const p4r_option options[] = {
	{ "name", 0, true, OPT_NAME },
	{ "since", 0, true, OPT_SINCE },
	{ "all-parents", 0, false, OPT_ALL_PARENTS },
	{ "dry-run", 0, false, OPT_DRY_RUN },
	{ "history", 0, false, OPT_HISTORY },
	{ "write-pointers", 0, false, OPT_WRITE_POINTERS },
	{ "stage", 0, true, OPT_STAGE },
	{ "dvc-cache", 0, true, OPT_DVC_CACHE },
	{ NULL, 0, false, 0 },
};

static const char *state_name(p4r_import_state s)
{
	return s == P4R_IMPORT_REGISTERED ? "imported" : s == P4R_IMPORT_STORED ? "stored" : "refused";
}

static cJSON *json_row(const p4r_import_row *r)
{
	cJSON *o = cJSON_CreateObject();
	char when[40];

	p4r_format_time(when, sizeof(when), r->created_ms);
	cJSON_AddStringToObject(o, "state", state_name(r->state));
	cJSON_AddStringToObject(o, "path", r->path);
	p4r_json_add_text(o, "model", r->model);
	if (r->version)
		cJSON_AddNumberToObject(o, "version", (double)r->version);
	else
		cJSON_AddNullToObject(o, "version");
	cJSON_AddStringToObject(o, "git_commit", r->commit);
	cJSON_AddStringToObject(o, "author", r->author);
	cJSON_AddStringToObject(o, "created", when);
	cJSON_AddNumberToObject(o, "created_ms", (double)r->created_ms);
	cJSON_AddStringToObject(o, "message", r->message);
	p4r_json_add_text(o, "oid", r->oid.hex);
	if (r->source && r->state != P4R_IMPORT_REFUSED)
		cJSON_AddStringToObject(o, "kind", r->files ? "dir" : "file");
	if (r->files) {
		cJSON_AddNumberToObject(o, "files", (double)r->files);
		cJSON_AddNumberToObject(o, "tree_size", (double)r->tree_size);
	}
	if (r->state == P4R_IMPORT_REFUSED)
		cJSON_AddNullToObject(o, "size");
	else
		cJSON_AddNumberToObject(o, "size", (double)r->size);
	cJSON_AddBoolToObject(o, "downloaded", r->downloaded);
	p4r_json_add_text(o, "error", r->why);
	if (r->source)
		cJSON_AddStringToObject(o, "dvc_file", r->source);
	if (r->source)
		p4r_json_add_text(o, "pointer", r->pointer);
	return o;
}

static int print_json(const p4r_import_result *res, const char *source, bool dry_run, size_t nstages)
{
	cJSON *doc = cJSON_CreateObject(), *rows, *fails;
	size_t i;

	cJSON_AddStringToObject(doc, "source", source);
	cJSON_AddBoolToObject(doc, "dry_run", dry_run);
	rows = cJSON_AddArrayToObject(doc, "versions");
	for (i = 0; i < res->n; i++)
		cJSON_AddItemToArray(rows, json_row(&res->rows[i]));
	fails = cJSON_AddArrayToObject(doc, "failed");
	for (i = 0; i < res->nfailures; i++) {
		cJSON *o = cJSON_CreateObject();

		p4r_json_add_text(o, "model", res->failures[i].model);
		cJSON_AddStringToObject(o, "path", res->failures[i].path);
		cJSON_AddStringToObject(o, "code", p4r_error_name(res->failures[i].code));
		cJSON_AddStringToObject(o, "error", res->failures[i].why);
		cJSON_AddItemToArray(fails, o);
	}
	cJSON_AddNumberToObject(doc, "registered", (double)res->registered);
	cJSON_AddNumberToObject(doc, "models", (double)res->models);
	cJSON_AddNumberToObject(doc, "not_downloaded", (double)res->not_downloaded);
	cJSON_AddNumberToObject(doc, "stored", (double)res->stored);
	cJSON_AddNumberToObject(doc, "refused", (double)res->refused);
	cJSON_AddNumberToObject(doc, "already_imported", (double)res->already);
	rows = nstages ? cJSON_AddArrayToObject(doc, "stages") : NULL;
	for (i = 0; rows && i < res->nstaged; i++) {
		const p4r_import_staged *e = &res->staged[i];
		cJSON *o = cJSON_CreateObject();

		p4r_json_add_text(o, "model", e->model);
		if (e->version)
			cJSON_AddNumberToObject(o, "version", (double)e->version);
		else
			cJSON_AddNullToObject(o, "version");
		cJSON_AddStringToObject(o, "stage", p4r_stage_name(e->stage));
		if (e->version)
			cJSON_AddStringToObject(o, "from", p4r_stage_name(e->from));
		else
			cJSON_AddNullToObject(o, "from");
		p4r_json_add_text(o, "rev", e->rev);
		cJSON_AddStringToObject(o, "git_commit", e->commit);
		cJSON_AddBoolToObject(o, "moved", e->moved);
		p4r_json_add_text(o, "note", e->why);
		cJSON_AddItemToArray(rows, o);
	}
	if (!strcmp(source, "dvc"))
		cJSON_AddNumberToObject(doc, "pointers", (double)res->pointers);
	return cmd_print_json(doc);
}

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void print_row(const p4r_import_row *r, bool dry_run)
{
	char size[64], total[32];

	p4r_format_size(size, sizeof(size), r->size);
	if (r->files) {
		p4r_format_size(total, sizeof(total), (uint64_t)r->tree_size);
		snprintf(size, sizeof(size), "%lld %s, %s", (long long)r->files, plural(r->files, "file", "files"),
			 total);
	}
	if (r->state == P4R_IMPORT_REGISTERED && r->source && r->from_history)
		printf("%s %s as %s@%lld (%.12s, %s) from %s at commit %.12s\n", dry_run ? "would import" : "imported",
		       p4r_escape(r->path), r->model, (long long)r->version, r->oid.hex, size, p4r_escape(r->source),
		       r->commit);
	else if (r->state == P4R_IMPORT_REGISTERED && r->source)
		printf("%s %s as %s@%lld (%.12s, %s) from %s\n", dry_run ? "would import" : "imported",
		       p4r_escape(r->path), r->model, (long long)r->version, r->oid.hex, size, p4r_escape(r->source));
	else if (r->state == P4R_IMPORT_REGISTERED)
		printf("%s %s as %s@%lld (%.12s, %s) from commit %.12s%s\n", dry_run ? "would import" : "imported",
		       p4r_escape(r->path), r->model, (long long)r->version, r->oid.hex, size, r->commit,
		       r->downloaded ? "" : ", not downloaded");
	else if (r->state == P4R_IMPORT_STORED)
		printf("%s the bytes of %s@%lld (%.12s, %s) from commit %.12s\n", dry_run ? "would store" : "stored",
		       r->model, (long long)r->version, r->oid.hex, size, r->commit);
}

static void print_summary(const p4r_import_result *res, bool dvc, bool dry_run)
{
	if (res->registered)
		printf("%s %zu %s of %zu %s", dry_run ? "would import" : "imported", res->registered,
		       plural(res->registered, "version", "versions"), res->models,
		       plural(res->models, "model", "models"));
	else if (res->stored)
		printf("%s the bytes of %zu imported %s", dry_run ? "would store" : "stored", res->stored,
		       plural(res->stored, "version", "versions"));
	else if (res->already)
		printf("nothing new to import");
	else if (!res->refused && !res->nfailures)
		printf(dvc ? "no .dvc file to import" : "no Git LFS pointer in the history of HEAD");
	else
		printf("nothing imported");
	if (res->registered && res->stored)
		printf(", %s the bytes of %zu imported before", dry_run ? "would store" : "stored", res->stored);
	if (res->already && dvc)
		printf(" (%zu %s already registered)", res->already, plural(res->already, "output", "outputs"));
	else if (res->already)
		printf(" (%zu %s already imported)", res->already, plural(res->already, "change", "changes"));
	if (res->pointers)
		printf("; %zu %s written", res->pointers, plural(res->pointers, "pointer", "pointers"));
	printf("%s\n", dry_run ? "; nothing changed (dry run)" : "");
}

/* What --stage did to one model (nothing printed for one without a
 * version of the commit: a note says so). */
static void print_staged(const p4r_import_staged *e, bool dry_run)
{
	if (!e->version)
		return;
	if (e->moved)
		printf("%s %s@%lld from %s to %s (--stage %s=%s, commit %.12s)\n", dry_run ? "would move" : "moved",
		       e->model, (long long)e->version, p4r_stage_name(e->from), p4r_stage_name(e->stage),
		       p4r_stage_name(e->stage), p4r_escape(e->rev), e->commit);
	else
		printf("%s@%lld is already in %s (--stage %s=%s)\n", e->model, (long long)e->version,
		       p4r_stage_name(e->stage), p4r_stage_name(e->stage), p4r_escape(e->rev));
}

/* The versions registered without their bytes: where they come from. */
static void note_not_downloaded(p4r_cli *cli, const p4r_import_result *res)
{
	size_t n = res->not_downloaded;

	if (n)
		cmd_note(cli, "note: %zu %s not downloaded: git-lfs has not fetched %s into '%s/objects'; run "
			 "'git lfs fetch --all' and 'p4reg import git-lfs' again, or 'p4reg pull' %s from a p4reg "
			 "remote", n, plural(n, "version is", "versions are"), plural(n, "its object", "their objects"),
			 res->lfs_dir ? res->lfs_dir : ".git/lfs", plural(n, "it", "them"));
}

/* Exit 4 (or 1) after the listing when a pointer was refused or a model
 * failed: the warnings said which and why. */
static int verdict(p4r_cli *cli, const p4r_import_result *res, bool dvc)
{
	char failed[64] = "", refused[64] = "";
	int rc;

	if (!res->code)
		return 0;
	if (res->nfailures)
		snprintf(failed, sizeof(failed), "%zu %s not imported", res->nfailures,
			 plural(res->nfailures, "model", "models"));
	if (res->refused)
		snprintf(refused, sizeof(refused), "%zu %s refused", res->refused,
			 dvc ? plural(res->refused, ".dvc entry", ".dvc entries") :
			       plural(res->refused, "Git LFS pointer", "Git LFS pointers"));
	rc = p4r_error_set(res->code, "%s%s%s (the %s above %s why)", failed, failed[0] && refused[0] ? ", " : "",
			   refused, plural(res->nfailures + res->refused, "warning", "warnings"),
			   plural(res->nfailures + res->refused, "says", "say"));
	if (cli->json) {
		fprintf(stderr, "p4reg: %s\n", p4r_escape(p4r_error_message()));
		cli->reported = true;
	}
	return rc;
}

/* One warning line for refused row R. */
static void warn_refused(const p4r_import_row *r)
{
	char where[80] = "";

	if (r->from_history)
		snprintf(where, sizeof(where), " at commit %.12s", r->commit);
	if (r->source && strcmp(r->source, r->path))
		cmd_warn("refused %s (%s)%s: %s", r->path, r->source, where, r->why);
	else
		cmd_warn("refused %s%s: %s", r->path, where, r->why);
}

static int run_import(p4r_cli *cli, p4r_repo *repo, const p4r_import_opts *opts, bool dvc)
{
	p4r_import_result res = { 0 };
	cmd_report cr;
	p4r_op_report report = cmd_report_init(&cr, cli);
	size_t i;
	int rc;

	rc = dvc ? p4r_import_dvc(repo, opts, &report, &res) : p4r_import_git_lfs(repo, opts, &report, &res);
	cmd_report_done(&cr);
	if (rc < 0)
		goto done;
	for (i = 0; i < res.n; i++)
		if (res.rows[i].state == P4R_IMPORT_REFUSED)
			warn_refused(&res.rows[i]);
	for (i = 0; i < res.nfailures; i++)
		if (res.failures[i].model[0])
			cmd_warn("nothing imported for model '%s' (%s): %s", res.failures[i].model,
				 res.failures[i].path, res.failures[i].why);
		else
			cmd_warn("nothing imported for %s: %s", res.failures[i].path, res.failures[i].why);
	if (cli->json) {
		rc = print_json(&res, dvc ? "dvc" : "git-lfs", opts->dry_run, opts->nstages);
	} else if (!cli->quiet) {
		for (i = 0; i < res.n; i++)
			print_row(&res.rows[i], opts->dry_run);
		print_summary(&res, dvc, opts->dry_run);
		for (i = 0; i < res.nstaged; i++)
			print_staged(&res.staged[i], opts->dry_run);
	}
	for (i = 0; i < res.nstaged; i++)
		if (!res.staged[i].version)
			cmd_note(cli, "note: --stage %s=%s: model '%s' left as it is: %s (commit %.12s)",
				 p4r_stage_name(res.staged[i].stage), res.staged[i].rev, res.staged[i].model,
				 res.staged[i].why, res.staged[i].commit);
	note_not_downloaded(cli, &res);
	if (rc == 0)
		rc = verdict(cli, &res, dvc);
done:
	p4r_import_result_free(&res);
	return rc;
}

/* --stage STAGE=REV into STAGES: validation, staging or production, each
 * once. */
static int parse_stage(p4r_cli *cli, const char *value, p4r_import_stage *stages, size_t *n)
{
	const char *eq = strchr(value, '=');
	char name[32];
	p4r_stage st;
	size_t i;

	if (!eq || !eq[1] || eq == value || (size_t)(eq - value) >= sizeof(name))
		return cmd_usage_error(cli, "--stage takes STAGE=REV, not '%s'", value);
	snprintf(name, sizeof(name), "%.*s", (int)(eq - value), value);
	if (p4r_stage_parse(&st, name) < 0 || st == P4R_STAGE_DEVELOPMENT || st == P4R_STAGE_ARCHIVED) {
		p4r_error_clear();
		return cmd_usage_error(cli, "--stage '%s': the stage is validation, staging or production", value);
	}
	for (i = 0; i < *n; i++)
		if (stages[i].stage == st)
			return cmd_usage_error(cli, "--stage %s given twice: one version per stage", name);
	stages[*n].stage = st;
	stages[(*n)++].rev = eq + 1;
	return 0;
}

/* SOURCE (git-lfs or dvc; *DVC) and the options that go with it. */
static int check_source(p4r_cli *cli, const char *source, const p4r_import_opts *opts, bool *dvc)
{
	if (!source)
		return cmd_usage_error(cli, "import needs a source: git-lfs or dvc");
	*dvc = !strcmp(source, "dvc");
	if (!*dvc && strcmp(source, "git-lfs"))
		return cmd_usage_error(cli, "unknown import source '%s' (git-lfs or dvc)", source);
	if (opts->name && opts->npaths != 1)
		return cmd_usage_error(cli, "--name names the model of one %s", *dvc ? "FILE.dvc" : "PATH");
	if (!*dvc && (opts->history || opts->write_pointers || opts->dvc_cache))
		return cmd_usage_error(cli, "%s goes with 'import dvc'", opts->history ? "--history" :
				       opts->write_pointers ? "--write-pointers" : "--dvc-cache");
	if (*dvc && !opts->history && (opts->since || opts->all_parents || opts->nstages))
		return cmd_usage_error(cli, "%s goes with --history", opts->since ? "--since" :
				       opts->all_parents ? "--all-parents" : "--stage");
	if (opts->dry_run && opts->write_pointers)
		return cmd_usage_error(cli, "--write-pointers writes files: not with --dry-run");
	return 0;
}

int cmd_import(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	p4r_import_opts opts = { 0 };
	const char **paths = calloc((size_t)argc + 1, sizeof(*paths));
	p4r_import_stage *stages = calloc((size_t)argc + 1, sizeof(*stages));
	const char *value, *source = NULL;
	bool dvc = false;
	p4r_opts o;
	int id, rc;

	if (!paths || !stages) {
		free(paths);
		free(stages);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	opts.paths = paths;
	opts.stages = stages;
	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_NAME)
			opts.name = value;
		else if (id == OPT_SINCE)
			opts.since = value;
		else if (id == OPT_ALL_PARENTS)
			opts.all_parents = true;
		else if (id == OPT_DRY_RUN)
			opts.dry_run = true;
		else if (id == OPT_HISTORY)
			opts.history = true;
		else if (id == OPT_WRITE_POINTERS)
			opts.write_pointers = true;
		else if (id == OPT_DVC_CACHE)
			opts.dvc_cache = value;
		else if (id == OPT_STAGE && (rc = parse_stage(cli, value, stages, &opts.nstages)) < 0)
			break;
		else if (id == OPT_STAGE)
			continue;
		else if (!source)
			source = value;
		else
			paths[opts.npaths++] = value;
	}
	if (rc == 0 && (rc = check_source(cli, source, &opts, &dvc)) == 0)
		rc = run_import(cli, repo, &opts, dvc);
	free(paths);
	free(stages);
	return rc;
}
