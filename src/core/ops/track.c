/* p4r_track / p4r_untrack (ops/track.h): Git LFS patterns in
 * .gitattributes, written exactly as `git lfs track` writes them, and the
 * filter.lfs config that keeps plain git working on those paths. */
#include "p4reg/ops/track.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/worktree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The git work tree of REPO and its .gitattributes, or an error saying
 * why there is none. */
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

/* The rows of OPTS's patterns, their actions still to be filled. */
static int make_rows(const p4r_track_opts *opts, p4r_track_result *out)
{
	size_t i;

	if (!(out->rows = calloc(opts->n + 1, sizeof(*out->rows))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	out->n = opts->n;
	for (i = 0; i < opts->n; i++)
		out->rows[i].pattern = display(opts->patterns[i]);
	return 0;
}

/* Every pattern is checked, and its line made, before the file is touched. */
static int check_patterns(p4r_repo *repo, p4r_git *git, const p4r_track_opts *opts, p4r_track_result *out)
{
	char esc[P4R_ATTR_PATTERN_MAX + 1], *meta = meta_rel(repo, git);
	size_t i;
	int rc = 0;

	if (!meta)
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < opts->n && rc == 0; i++)
		if ((rc = p4r_attr_escape(esc, sizeof(esc), opts->patterns[i])) == 0 &&
		    (rc = p4r_attr_check_pattern(opts->patterns[i], meta)) == 0)
			snprintf(out->rows[i].line, sizeof(out->rows[i].line), "%s%s", esc, P4R_ATTR_LFS);
	free(meta);
	return rc;
}

static int track_patterns(p4r_repo *repo, p4r_git *git, const char *attr, const p4r_track_opts *opts,
			  p4r_track_result *out)
{
	p4r_attr_action *actions = calloc(opts->n + 1, sizeof(*actions));
	size_t i;
	int rc;

	if (!actions)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if ((rc = make_rows(opts, out)) < 0 || (rc = check_patterns(repo, git, opts, out)) < 0 ||
	    (rc = p4r_attr_track_file(attr, opts->patterns, opts->n, actions, NULL)) < 0)
		goto done;
	for (i = 0; i < opts->n; i++)
		out->rows[i].action = actions[i];
	out->filter = p4r_git_lfs_on_path() ? P4R_GIT_FILTER_GIT_LFS : P4R_GIT_FILTER_P4REG;
	rc = p4r_git_lfs_install(git, out->filter, &out->install);
done:
	free(actions);
	return rc;
}

int p4r_track(p4r_repo *repo, const p4r_track_opts *opts, const p4r_op_report *report,
	      p4r_track_result *out)
{
	p4r_git *git = NULL;
	char *attr = NULL;
	int rc;

	(void)report;
	memset(out, 0, sizeof(*out));
	if ((rc = open_git(repo, &git, &attr)) == 0)
		rc = opts->n == 0 ? p4r_attr_list_lfs(attr, &out->listed, &out->nlisted)
				  : track_patterns(repo, git, attr, opts, out);
	p4r_git_free(git);
	free(attr);
	return rc;
}

int p4r_untrack(p4r_repo *repo, const p4r_track_opts *opts, const p4r_op_report *report,
		p4r_track_result *out)
{
	p4r_attr_action *actions = calloc(opts->n + 1, sizeof(*actions));
	p4r_git *git = NULL;
	char *attr = NULL;
	size_t i;
	int rc;

	(void)report;
	memset(out, 0, sizeof(*out));
	if (!actions)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if (opts->n == 0) {
		rc = p4r_error_set(P4R_EUSAGE, "name at least one pattern to untrack");
		goto done;
	}
	if ((rc = open_git(repo, &git, &attr)) < 0 || (rc = make_rows(opts, out)) < 0 ||
	    (rc = p4r_attr_untrack_file(attr, opts->patterns, opts->n, actions, NULL)) < 0)
		goto done;
	for (i = 0; i < opts->n; i++)
		out->rows[i].action = actions[i];
done:
	p4r_git_free(git);
	free(attr);
	free(actions);
	return rc;
}

void p4r_track_result_free(p4r_track_result *r)
{
	if (!r)
		return;
	free(r->rows);
	p4r_strv_free(r->listed, r->nlisted);
	memset(r, 0, sizeof(*r));
}
