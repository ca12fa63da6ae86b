/* p4r_mv (ops/mv.h): move a model's file, its pointer and its binding to
 * a new path, then stage the change in git. */
#include "p4reg/ops/mv.h"
#include "p4reg/error.h"
#include "p4reg/worktree.h"
#include "p4reg/gitio.h"
#include "p4reg/pointer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A path as the user typed it, repository-relative; a pointer file is
 * named for what it describes, like add does. */
static int user_path(p4r_repo *repo, const char *arg, char **rel)
{
	if (p4r_pointer_is_pointer_path(arg))
		return p4r_error_set(P4R_EUSAGE, "'%s' is a pointer file; name the model file it describes", arg);
	return p4r_repo_relpath(repo, arg, rel);
}

/* NEW as the user typed it, repository-relative; its folders may not exist
 * yet: the part that exists is resolved as every path is, the missing rest
 * appended as typed (the core checks it: no "..", no .git). */
static int new_path(p4r_repo *repo, const char *arg, char **rel)
{
	char *copy = strdup(arg), *cut, *out;
	size_t len;
	int rc;

	*rel = NULL;
	if (!copy)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if (p4r_pointer_is_pointer_path(arg)) {
		rc = user_path(repo, arg, rel);
		goto done;
	}
	for (;;) {
		rc = p4r_repo_relpath(repo, copy, rel);
		if (rc != P4R_ENOTFOUND || !(cut = strrchr(copy, '/')) || cut == copy)
			break;
		p4r_error_clear();
		*cut = '\0';
	}
	if (rc < 0 || !strcmp(copy, arg))
		goto done;
	/* the folders from here on are made by the move */
	len = strlen(*rel) + strlen(arg + strlen(copy)) + 1;
	if (!(out = malloc(len))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	snprintf(out, len, "%s%s", *rel, arg + strlen(copy));
	free(*rel);
	*rel = out;
done:
	if (rc < 0) {
		free(*rel);
		*rel = NULL;
	}
	free(copy);
	return rc;
}

/* A Git LFS path has no pointer to move: git keeps the pointer blob. */
static int refuse_lfs(p4r_repo *repo, p4r_git *git, const char *rel)
{
	p4r_model m = { 0 };
	p4r_pointer ptr;
	char *abs = NULL;
	bool lfs = false;
	int rc;

	if (!git || p4r_worktree_read_pointer(repo, rel, &ptr) != P4R_ENOTFOUND) {
		p4r_error_clear();
		return 0;
	}
	p4r_error_clear();
	if (!(abs = p4r_repo_abspath(repo, rel)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	rc = p4r_git_is_lfs_path(git, abs, &lfs);
	free(abs);
	if (rc < 0 || !lfs || p4r_registry_model_by_path(p4r_repo_registry(repo), rel, &m) < 0) {
		p4r_error_clear();
		return rc;
	}
	rc = p4r_error_set(P4R_EUSAGE, "'%s' is a Git LFS path (no pointer file); move it with 'git mv', "
			   "then 'p4reg add -n %s NEWPATH'", rel, m.name);
	p4r_model_clear(&m);
	return rc;
}

/* The move in git's index, after the work tree: a failure here leaves a
 * move that is done but not staged, and says so. */
static int stage_move(p4r_git *git, p4r_mv_result *out)
{
	char msg[600];
	int rc = p4r_git_stage_update(git, (const char *const *)out->move.stage, out->move.nstage, NULL, 0,
				      (const char *const *)out->move.unstage, out->move.nunstage);

	if (rc == 0) {
		out->staged = true;
		return 0;
	}
	snprintf(msg, sizeof(msg), "%s", p4r_error_message());
	return p4r_error_set(rc, "model '%s' moved to '%s', but %s; run 'p4reg mv' again to stage it",
			     out->move.model, out->to, msg);
}

/* Moving a folder model (its folder, pointer and "/NAME/" line) is not
 * done yet: refused before anything changes. */
static int refuse_folder(p4r_repo *repo, const char *from)
{
	p4r_pointer ptr;
	bool dir = p4r_worktree_read_pointer(repo, from, &ptr) == 0 && ptr.dir;

	p4r_error_clear();
	if (dir)
		return p4r_error_set(P4R_EUSAGE, "'%s' is a folder model (%s): p4reg mv does not move folder "
				     "models yet", from, ptr.model);
	return 0;
}

int p4r_mv(p4r_repo *repo, const p4r_mv_opts *opts, const p4r_op_report *report, p4r_mv_result *out)
{
	const char *why = NULL;
	char *actor = NULL;
	p4r_git *git = NULL;
	bool stage = false;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = user_path(repo, opts->from, &out->from)) < 0 || (rc = new_path(repo, opts->to, &out->to)) < 0 ||
	    (rc = p4r_repo_autostage(repo, opts->no_stage, &stage)) < 0 ||
	    (rc = p4r_git_open_why(&git, p4r_repo_root(repo), &why)) < 0 ||
	    (rc = refuse_lfs(repo, git, out->from)) < 0 || (rc = refuse_folder(repo, out->from)) < 0)
		goto done;
	actor = p4r_repo_actor(repo);
	if ((rc = p4r_worktree_move(repo, out->from, out->to, actor ? actor : "unknown", &out->move)) < 0)
		goto done;
	if (!out->move.file_moved && !out->move.resumed)
		p4r_op_note(report, "note: '%s' is not in the work tree: only the binding and the pointer moved",
			    out->from);
	if (stage && !git)
		p4r_op_note(report, "note: %s; git features skipped, nothing staged",
			    why ? why : "not inside a git work tree");
	else if (stage)
		rc = stage_move(git, out);
done:
	p4r_git_free(git);
	free(actor);
	return rc;
}

void p4r_mv_result_free(p4r_mv_result *r)
{
	if (!r)
		return;
	free(r->from);
	free(r->to);
	p4r_move_result_clear(&r->move);
	memset(r, 0, sizeof(*r));
}
