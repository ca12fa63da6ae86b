/* p4reg track / untrack: Git LFS patterns in .gitattributes, written
 * exactly as `git lfs track` writes them, and the filter.lfs config that
 * keeps plain git working on those paths. */
#include "cmd.h"
#include "p4reg/ops/track.h"

#include <stdlib.h>
#include <string.h>

const char cmd_track_usage[] =
	"usage: p4reg track [PATTERN...]\n"
	"\n"
	"Marks files matching each PATTERN for Git LFS: appends the line\n"
	"'PATTERN filter=lfs diff=lfs merge=lfs -text' that 'git lfs track' writes\n"
	"(spaces as [[:space:]], '#' as \\#) to the .gitattributes at the git work\n"
	"tree root, once per pattern; every other byte of the file is kept.\n"
	"Patterns are relative to the work tree root. Then makes sure plain git\n"
	"can store those files: with git-lfs on PATH, the filter.lfs settings and\n"
	"hooks 'git lfs install' writes; without it, 'p4reg filter-process' as\n"
	"filter.lfs.process in .git/config, and a pre-push hook that uploads the\n"
	"Git LFS objects of a push to p4reg's default remote (a pre-push hook\n"
	"already there becomes pre-push.local and runs first). Hooks go where\n"
	"git looks for them (core.hooksPath, else .git/hooks). 'p4reg add' of a\n"
	"matching file stages a Git LFS pointer instead of writing a .p4reg\n"
	"pointer file. With no PATTERN, lists the tracked patterns.\n";

const char cmd_untrack_usage[] =
	"usage: p4reg untrack PATTERN...\n"
	"\n"
	"Removes each PATTERN's filter=lfs line from the .gitattributes at the git\n"
	"work tree root, and nothing else.\n";

static int print_list(p4r_cli *cli, const p4r_track_result *res)
{
	size_t i;

	if (cli->json) {
		cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "patterns");

		for (i = 0; i < res->nlisted; i++) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "pattern", res->listed[i]);
			cJSON_AddStringToObject(o, "source", ".gitattributes");
			cJSON_AddItemToArray(arr, o);
		}
		return cmd_print_json(doc);
	}
	for (i = 0; i < res->nlisted; i++)
		printf("%s\n", p4r_escape(res->listed[i]));
	if (res->nlisted == 0 && !cli->quiet)
		fputs("no Git LFS patterns in .gitattributes\n", stderr);
	return 0;
}

static void report_filter(p4r_cli *cli, p4r_git_filter which, const p4r_git_install *inst)
{
	if (inst->config_written && which == P4R_GIT_FILTER_GIT_LFS)
		cmd_note(cli, "configured filter.lfs for git-lfs in .git/config (as 'git lfs install')");
	else if (inst->config_written)
		cmd_note(cli, "git-lfs is not installed: configured 'p4reg filter-process' as "
			 "filter.lfs.process in .git/config");
	if (inst->hooks_kept)
		cmd_warn("%d git hook(s) already exist with other content; left alone "
			 "(git-lfs's pre-push hook uploads LFS objects on push)", inst->hooks_kept);
	switch (inst->pre_push) {
	case P4R_HOOK_WRITTEN:
	case P4R_HOOK_UPDATED:
		cmd_note(cli, "installed the pre-push hook '%s/pre-push': git push uploads the Git LFS "
			 "objects to p4reg's default remote", inst->hooks_dir);
		break;
	case P4R_HOOK_CHAINED:
		cmd_note(cli, "installed the pre-push hook '%s/pre-push': git push uploads the Git LFS "
			 "objects to p4reg's default remote; your hook is now '%s/pre-push.local' and runs "
			 "first", inst->hooks_dir, inst->hooks_dir);
		break;
	case P4R_HOOK_REPLACED_LFS:
		cmd_note(cli, "replaced git-lfs's pre-push hook '%s/pre-push' (git-lfs is not installed) "
			 "with p4reg's: git push uploads the Git LFS objects to p4reg's default remote",
			 inst->hooks_dir);
		break;
	case P4R_HOOK_CONFLICT:
		cmd_warn("did not install p4reg's pre-push hook: '%s/pre-push' is not a file, or "
			 "'%s/pre-push.local' is another one; git push will not upload Git LFS objects "
			 "unless your hook runs 'p4reg pre-push \"$@\"' with git's input",
			 inst->hooks_dir, inst->hooks_dir);
		break;
	case P4R_HOOK_NONE:
	case P4R_HOOK_CURRENT:
		break;
	}
}

static int print_tracked_json(const p4r_track_result *res)
{
	const p4r_git_install *inst = &res->install;
	cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "patterns");
	size_t i;

	for (i = 0; i < res->n; i++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "pattern", res->rows[i].pattern);
		cJSON_AddStringToObject(e, "line", res->rows[i].line);
		cJSON_AddStringToObject(e, "action", p4r_attr_action_name(res->rows[i].action));
		cJSON_AddItemToArray(arr, e);
	}
	cJSON_AddStringToObject(doc, "filter", res->filter == P4R_GIT_FILTER_GIT_LFS ? "git-lfs" : "p4reg");
	cJSON_AddBoolToObject(doc, "config_written", inst->config_written);
	cJSON_AddNumberToObject(doc, "hooks_written", inst->hooks_written);
	cJSON_AddStringToObject(doc, "hooks_dir", inst->hooks_dir);
	if (res->filter == P4R_GIT_FILTER_P4REG)
		cJSON_AddStringToObject(doc, "pre_push_hook", p4r_hook_action_name(inst->pre_push));
	else
		cJSON_AddNullToObject(doc, "pre_push_hook");
	if (inst->pre_push == P4R_HOOK_CONFLICT)
		cmd_warn("did not install p4reg's pre-push hook in '%s'; see 'p4reg track' in docs/git.md",
			 inst->hooks_dir);
	return cmd_print_json(doc);
}

static int print_tracked(p4r_cli *cli, const p4r_track_result *res)
{
	size_t i;

	if (cli->json)
		return print_tracked_json(res);
	for (i = 0; i < res->n && !cli->quiet; i++) {
		if (res->rows[i].action == P4R_ATTR_ALREADY)
			printf("\"%s\" already supported\n", p4r_escape(res->rows[i].pattern));
		else
			printf("Tracking \"%s\"\n", p4r_escape(res->rows[i].pattern));
	}
	report_filter(cli, res->filter, &res->install);
	return 0;
}

static int print_untracked(p4r_cli *cli, const p4r_track_result *res)
{
	size_t i;

	if (cli->json) {
		cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "patterns");

		for (i = 0; i < res->n; i++) {
			cJSON *e = cJSON_CreateObject();

			cJSON_AddStringToObject(e, "pattern", res->rows[i].pattern);
			cJSON_AddStringToObject(e, "action", p4r_attr_action_name(res->rows[i].action));
			cJSON_AddItemToArray(arr, e);
		}
		return cmd_print_json(doc);
	}
	for (i = 0; i < res->n; i++) {
		if (res->rows[i].action == P4R_ATTR_REMOVED && !cli->quiet)
			printf("Untracking \"%s\"\n", p4r_escape(res->rows[i].pattern));
		else if (res->rows[i].action != P4R_ATTR_REMOVED)
			cmd_note(cli, "\"%s\" was not tracked", res->rows[i].pattern);
	}
	return 0;
}

/* The patterns of ARGV (no options), into a malloc'd *PATS. */
static int parse_patterns(int argc, char **argv, const char ***pats, size_t *n)
{
	static const p4r_option options[] = { { NULL, 0, false, 0 } };
	const char *value;
	p4r_opts o;
	int id, rc;

	*n = 0;
	if (!(*pats = calloc((size_t)argc, sizeof(**pats))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE)
		(*pats)[(*n)++] = value;
	return rc;
}

int cmd_track(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	const char **pats = NULL;
	p4r_track_opts opts = { 0 };
	p4r_track_result res = { 0 };
	int rc;

	if ((rc = parse_patterns(argc, argv, &pats, &opts.n)) == 0) {
		opts.patterns = pats;
		rc = p4r_track(repo, &opts, NULL, &res);
	}
	if (rc == 0)
		rc = opts.n == 0 ? print_list(cli, &res) : print_tracked(cli, &res);
	p4r_track_result_free(&res);
	free(pats);
	return rc;
}

int cmd_untrack(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	const char **pats = NULL;
	p4r_track_opts opts = { 0 };
	p4r_track_result res = { 0 };
	int rc;

	if ((rc = parse_patterns(argc, argv, &pats, &opts.n)) < 0)
		goto done;
	if (opts.n == 0) {
		rc = cmd_usage_error(cli, "name at least one pattern to untrack");
		goto done;
	}
	opts.patterns = pats;
	if ((rc = p4r_untrack(repo, &opts, NULL, &res)) == 0)
		rc = print_untracked(cli, &res);
done:
	p4r_track_result_free(&res);
	free(pats);
	return rc;
}
