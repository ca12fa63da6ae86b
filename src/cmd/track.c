/* p4reg track / untrack: Git LFS patterns in .gitattributes, written
 * exactly as `git lfs track` writes them, and the filter.lfs config that
 * keeps plain git working on those paths. */
#include "cmd.h"
#include "p4reg/attributes.h"
#include "p4reg/fsutil.h"
#include "p4reg/gitio.h"
#include "p4reg/worktree.h"

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

/* The git work tree of REPO, or an error saying why there is none. */
static int open_git(p4r_repo *repo, p4r_git **git, char **attr_path)
{
	const char *why = NULL;
	int rc;

	*attr_path = NULL;
	if ((rc = p4r_git_open_why(git, p4r_repo_root(repo), &why)) < 0)
		return rc;
	if (!*git)
		return p4r_error_set(P4R_ERROR, "cannot track Git LFS patterns: %s ('git init' first)",
				     why ? why : "not inside a git work tree");
	if (!(*attr_path = p4r_path_join(p4r_git_workdir(*git), ".gitattributes")))
		return p4r_error_set(P4R_ERROR, "out of memory");
	return 0;
}

static int list_patterns(p4r_cli *cli, const char *attr_path)
{
	char **pats = NULL;
	size_t n = 0, i;
	int rc;

	if ((rc = p4r_attr_list_lfs(attr_path, &pats, &n)) < 0)
		return rc;
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "patterns");

		for (i = 0; i < n; i++) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "pattern", pats[i]);
			cJSON_AddStringToObject(o, "source", ".gitattributes");
			cJSON_AddItemToArray(arr, o);
		}
		rc = cmd_print_json(doc);
	} else {
		for (i = 0; i < n; i++)
			printf("%s\n", p4r_escape(pats[i]));
		if (n == 0 && !cli->quiet)
			fputs("no Git LFS patterns in .gitattributes\n", stderr);
	}
	p4r_strv_free(pats, n);
	return rc;
}

/* The repository's .p4reg folder relative to the git work tree. */
static char *meta_rel(p4r_repo *repo, p4r_git *git)
{
	char *rel = p4r_git_relpath(git, p4r_repo_meta(repo));

	return rel ? rel : strdup(P4R_META_DIR);
}

static const char *display(const char *pattern)
{
	while (pattern[0] == '.' && pattern[1] == '/')
		pattern += 2;
	return pattern;
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

int cmd_track(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	const char **pats = calloc((size_t)argc, sizeof(*pats));
	p4r_attr_action *actions = calloc((size_t)argc, sizeof(*actions));
	p4r_git_install inst = { 0 };
	p4r_git_filter which;
	char *attr = NULL, *meta = NULL, esc[P4R_ATTR_PATTERN_MAX + 1];
	p4r_git *git = NULL;
	const char *value;
	size_t n = 0, i;
	p4r_opts o;
	int id, rc;
	static const p4r_option options[] = { { NULL, 0, false, 0 } };

	if (!pats || !actions) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE)
		pats[n++] = value;
	if (rc < 0 || (rc = open_git(repo, &git, &attr)) < 0)
		goto done;
	if (n == 0) {
		rc = list_patterns(cli, attr);
		goto done;
	}
	if (!(meta = meta_rel(repo, git))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	/* every pattern is checked before the file is touched */
	for (i = 0; i < n && rc == 0; i++)
		if ((rc = p4r_attr_escape(esc, sizeof(esc), pats[i])) == 0)
			rc = p4r_attr_check_pattern(pats[i], meta);
	if (rc < 0 || (rc = p4r_attr_track_file(attr, pats, n, actions, NULL)) < 0)
		goto done;
	which = p4r_git_lfs_on_path() ? P4R_GIT_FILTER_GIT_LFS : P4R_GIT_FILTER_P4REG;
	if ((rc = p4r_git_lfs_install(git, which, &inst)) < 0)
		goto done;
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "patterns");

		for (i = 0; i < n; i++) {
			cJSON *e = cJSON_CreateObject();
			char line[P4R_ATTR_PATTERN_MAX + sizeof(P4R_ATTR_LFS)];

			p4r_attr_escape(esc, sizeof(esc), pats[i]);
			snprintf(line, sizeof(line), "%s%s", esc, P4R_ATTR_LFS);
			cJSON_AddStringToObject(e, "pattern", display(pats[i]));
			cJSON_AddStringToObject(e, "line", line);
			cJSON_AddStringToObject(e, "action", p4r_attr_action_name(actions[i]));
			cJSON_AddItemToArray(arr, e);
		}
		cJSON_AddStringToObject(doc, "filter", which == P4R_GIT_FILTER_GIT_LFS ? "git-lfs" : "p4reg");
		cJSON_AddBoolToObject(doc, "config_written", inst.config_written);
		cJSON_AddNumberToObject(doc, "hooks_written", inst.hooks_written);
		cJSON_AddStringToObject(doc, "hooks_dir", inst.hooks_dir);
		if (which == P4R_GIT_FILTER_P4REG)
			cJSON_AddStringToObject(doc, "pre_push_hook", p4r_hook_action_name(inst.pre_push));
		else
			cJSON_AddNullToObject(doc, "pre_push_hook");
		if (inst.pre_push == P4R_HOOK_CONFLICT)
			cmd_warn("did not install p4reg's pre-push hook in '%s'; see 'p4reg track' in docs/git.md",
				 inst.hooks_dir);
		rc = cmd_print_json(doc);
		goto done;
	}
	for (i = 0; i < n && !cli->quiet; i++) {
		if (actions[i] == P4R_ATTR_ALREADY)
			printf("\"%s\" already supported\n", p4r_escape(display(pats[i])));
		else
			printf("Tracking \"%s\"\n", p4r_escape(display(pats[i])));
	}
	report_filter(cli, which, &inst);
done:
	p4r_git_free(git);
	free(attr);
	free(meta);
	free(actions);
	free(pats);
	return rc;
}

int cmd_untrack(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	const char **pats = calloc((size_t)argc, sizeof(*pats));
	p4r_attr_action *actions = calloc((size_t)argc, sizeof(*actions));
	p4r_git *git = NULL;
	char *attr = NULL;
	const char *value;
	size_t n = 0, i;
	p4r_opts o;
	int id, rc;
	static const p4r_option options[] = { { NULL, 0, false, 0 } };

	if (!pats || !actions) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE)
		pats[n++] = value;
	if (rc < 0)
		goto done;
	if (n == 0) {
		rc = cmd_usage_error(cli, "name at least one pattern to untrack");
		goto done;
	}
	if ((rc = open_git(repo, &git, &attr)) < 0 ||
	    (rc = p4r_attr_untrack_file(attr, pats, n, actions, NULL)) < 0)
		goto done;
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "patterns");

		for (i = 0; i < n; i++) {
			cJSON *e = cJSON_CreateObject();

			cJSON_AddStringToObject(e, "pattern", display(pats[i]));
			cJSON_AddStringToObject(e, "action", p4r_attr_action_name(actions[i]));
			cJSON_AddItemToArray(arr, e);
		}
		rc = cmd_print_json(doc);
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (actions[i] == P4R_ATTR_REMOVED && !cli->quiet)
			printf("Untracking \"%s\"\n", p4r_escape(display(pats[i])));
		else if (actions[i] != P4R_ATTR_REMOVED)
			cmd_note(cli, "\"%s\" was not tracked", display(pats[i]));
	}
done:
	p4r_git_free(git);
	free(attr);
	free(actions);
	free(pats);
	return rc;
}
