/* p4reg mv: move a model's file, its pointer and its binding to a new path. */
#include "cmd.h"
#include "p4reg/gitio.h"
#include "p4reg/pointer.h"
#include "p4reg/worktree.h"

#include <stdlib.h>
#include <string.h>

const char cmd_mv_usage[] =
	"usage: p4reg mv [--no-stage] OLD NEW\n"
	"\n"
	"Moves the model bound to OLD to NEW: renames the file (when it is in the\n"
	"work tree), writes NEW.p4reg and removes OLD.p4reg, moves the .gitignore\n"
	"line, binds the model to NEW and records a 'move' event (pushed like any\n"
	"other), and stages the change in git when inside a git work tree (config\n"
	"core.autostage, default true). Nothing is ever overwritten: NEW and\n"
	"NEW.p4reg must not exist. An interrupted mv is finished by running it\n"
	"again.\n"
	"\n"
	"      --no-stage      do not stage the pointers and .gitignore files in git\n";

enum { OPT_NO_STAGE = 1 };

static const p4r_option options[] = {
	{ "no-stage", 0, false, OPT_NO_STAGE },
	{ NULL, 0, false, 0 },
};

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

static int print_result(p4r_cli *cli, const char *from, const char *to, const p4r_move_result *r,
			bool staged)
{
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "model", r->model);
		cJSON_AddNumberToObject(doc, "version", (double)r->version);
		cJSON_AddStringToObject(doc, "from", from);
		cJSON_AddStringToObject(doc, "to", to);
		cJSON_AddBoolToObject(doc, "file_moved", r->file_moved);
		cJSON_AddBoolToObject(doc, "resumed", r->resumed);
		cJSON_AddBoolToObject(doc, "staged", staged);
		return cmd_print_json(doc);
	}
	if (cli->quiet)
		return 0;
	if (r->already)
		printf("model '%s' is already at %s\n", r->model, p4r_escape(to));
	else
		printf("model '%s' moved from %s to %s%s\n", r->model, p4r_escape(from), p4r_escape(to),
		       r->resumed ? " (finished an interrupted move)" : "");
	return 0;
}

int cmd_mv(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	const char *args[2] = { NULL, NULL }, *value, *why = NULL;
	char *from = NULL, *to = NULL, *actor = NULL;
	p4r_move_result res = { 0 };
	p4r_git *git = NULL;
	bool stage = true, staged = false;
	size_t nargs = 0;
	p4r_opts o;
	int id, rc;

	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_NO_STAGE)
			stage = false;
		else if (nargs < 2)
			args[nargs++] = value;
		else
			nargs++;
	}
	if (rc < 0)
		return rc;
	if (nargs != 2)
		return cmd_usage_error(cli, "mv takes OLD and NEW, not %zu path%s", nargs, nargs == 1 ? "" : "s");
	if ((rc = user_path(repo, args[0], &from)) < 0 || (rc = new_path(repo, args[1], &to)) < 0)
		goto done;
	if ((rc = p4r_repo_autostage(repo, !stage, &stage)) < 0)
		goto done;
	if ((rc = p4r_git_open_why(&git, p4r_repo_root(repo), &why)) < 0 ||
	    (rc = refuse_lfs(repo, git, from)) < 0)
		goto done;
	actor = p4r_repo_actor(repo);
	if ((rc = p4r_worktree_move(repo, from, to, actor ? actor : "unknown", &res)) < 0)
		goto done;
	if (!res.file_moved && !res.resumed)
		cmd_note(cli, "note: '%s' is not in the work tree: only the binding and the pointer moved", from);
	if (stage && !git) {
		cmd_note(cli, "note: %s; git features skipped, nothing staged",
			 why ? why : "not inside a git work tree");
	} else if (stage) {
		/* after the work tree: a failure here leaves a move that is done
		 * but not staged, and says so */
		if ((rc = p4r_git_stage_update(git, (const char *const *)res.stage, res.nstage, NULL, 0,
					       (const char *const *)res.unstage, res.nunstage)) < 0) {
			char msg[600];

			snprintf(msg, sizeof(msg), "%s", p4r_error_message());
			rc = p4r_error_set(rc, "model '%s' moved to '%s', but %s; run 'p4reg mv' again to "
					   "stage it", res.model, to, msg);
			goto done;
		}
		staged = true;
	}
	rc = print_result(cli, from, to, &res, staged);
done:
	p4r_move_result_clear(&res);
	p4r_git_free(git);
	free(actor);
	free(from);
	free(to);
	return rc;
}
