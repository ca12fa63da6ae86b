/* p4reg pull [REF|PATH...]: fetch events, download the objects the named
 * versions (else the work tree's pointers) need, then check them out
 * (verified). */
#include "cmd.h"
#include "p4reg/gitio.h"
#include "p4reg/objguard.h"
#include "p4reg/ondemand.h"
#include "p4reg/output.h"
#include "p4reg/pointer.h"
#include "p4reg/remote.h"
#include "p4reg/sync.h"
#include "p4reg/worktree.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

const char cmd_pull_usage[] =
	"usage: p4reg pull [-r NAME] [--force] [--no-stage] [REF|PATH...]\n"
	"\n"
	"Fetches the remote's registry events, downloads the objects named by the\n"
	"work tree's pointer files (hashed into .p4reg/tmp, stored only when their\n"
	"oid and size match) and checks every pointer out. With REFs (name@3,\n"
	"name@production) or paths, downloads exactly those versions and checks\n"
	"them out, as 'p4reg checkout' would (the .gitignore line beside each\n"
	"file kept, the pointer and .gitignore files written staged in git, config\n"
	"core.autostage). A pointer left at a model's old path by a move is skipped\n"
	"with a note. A corrupt remote object exits 4 and leaves the work tree\n"
	"untouched; so does a batch of events that cannot apply (see 'p4reg fetch\n"
	"--skip-batch').\n"
	"\n"
	"  -r, --remote NAME  the remote (default: core.remote, or the only one)\n"
	"  -f, --force        overwrite files whose bytes are in no version\n"
	"      --no-stage     do not stage pointers and .gitignore files in git\n";

enum { OPT_REMOTE = 1, OPT_FORCE, OPT_NO_STAGE };

static const p4r_option options[] = {
	{ "remote", 'r', true, OPT_REMOTE },
	{ "force", 'f', false, OPT_FORCE },
	{ "no-stage", 0, false, OPT_NO_STAGE },
	{ NULL, 0, false, 0 },
};

/* What was pulled, after the files (JSON: the one document). */
static int print_summary(p4r_cli *cli, const p4r_remote *r, const p4r_sync_result *res,
			 cJSON *files)
{
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject();

		cmd_sync_json(doc, r, res);
		cmd_sync_json_moves(doc, res);
		cJSON_AddItemToObject(doc, "checked_out", files);
		return cmd_print_json(doc);
	}
	cJSON_Delete(files);
	if (!cli->quiet) {
		char size[32];

		cmd_sync_print_renumbered(cli, res);
		p4r_format_size(size, sizeof(size), res->bytes_received);
		printf("pulled from '%s': %zu event%s, %zu object%s (%s)", r->name, res->events_applied,
		       res->events_applied == 1 ? "" : "s", res->objects_received,
		       res->objects_received == 1 ? "" : "s", size);
		cmd_sync_print_present(res);
	}
	return 0;
}

/* pull REF|PATH...: the events are fetched; now exactly those versions. */
static int pull_args(p4r_cli *cli, p4r_repo *repo, p4r_remote *r, char **args, size_t nargs,
		     bool force, bool stage, p4r_sync_result *res)
{
	p4r_ondemand fetch = { .remote = r->name };
	cJSON *files = cli->json ? cJSON_CreateArray() : NULL;
	int rc;

	rc = cmd_checkout_args(cli, repo, args, nargs, &fetch, force, stage, files, res);
	if (rc < 0) {
		cJSON_Delete(files);
		return rc;
	}
	return print_summary(cli, r, res, files);
}

int cmd_pull(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	cmd_progress progress = { .cli = cli, .label = "pull" };
	p4r_sync_progress prog = { .fn = cmd_progress_update, .payload = &progress };
	p4r_sync_result res = { 0 };
	p4r_remote *r = NULL;
	const char *name = NULL, *value;
	char **rels = NULL, **args = calloc((size_t)argc + 1, sizeof(*args));
	size_t nargs = 0;
	p4r_pointer *ptrs = NULL;
	p4r_oid *oids = NULL;
	int64_t *sizes = NULL;
	char **moved = NULL;
	size_t nrels = 0, noids = 0, i;
	cJSON *files = NULL;
	cmd_written written = { 0 };
	p4r_git *git = NULL;
	bool force = false, no_stage = false, stage = false;
	p4r_opts o;
	int id, rc;

	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_REMOTE)
			name = value;
		else if (id == OPT_FORCE)
			force = true;
		else if (id == OPT_NO_STAGE)
			no_stage = true;
		else if (args)
			args[nargs++] = (char *)value;
	}
	if (rc < 0 || !args) {
		free(args);
		return rc < 0 ? rc : p4r_error_set(P4R_ERROR, "out of memory");
	}
	if ((rc = p4r_remote_open(&r, p4r_repo_config(repo), p4r_repo_meta(repo), name)) < 0 ||
	    (rc = p4r_repo_autostage(repo, no_stage, &stage)) < 0 ||
	    (rc = p4r_sync_fetch_events(repo, r, &res)) < 0)
		goto done;
	/* what the fetch moved comes first: the files follow from it */
	cmd_sync_print_moves(cli, &res);
	if (nargs) {
		rc = pull_args(cli, repo, r, args, nargs, force, stage, &res);
		goto done;
	}
	if ((rc = p4r_worktree_list_pointers(repo, &rels, &nrels)) < 0)
		goto done;
	ptrs = calloc(nrels + 1, sizeof(*ptrs));
	oids = calloc(nrels + 1, sizeof(*oids));
	sizes = calloc(nrels + 1, sizeof(*sizes));
	moved = calloc(nrels + 1, sizeof(*moved));
	if (!ptrs || !oids || !sizes || !moved) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	for (i = 0; i < nrels; i++) {
		char to[PATH_MAX];
		bool left = false;

		/* a pointer is repository content: only a version the registry
		 * (just fetched) has, with that oid and size, is downloaded; one
		 * left at a model's old path by a move is not checked out there */
		if ((rc = p4r_worktree_read_pointer(repo, rels[i], &ptrs[i])) < 0 ||
		    (rc = p4r_worktree_pointer_check(repo, rels[i], &ptrs[i])) < 0 ||
		    (rc = p4r_worktree_pointer_moved(repo, rels[i], &ptrs[i], to, sizeof(to), &left)) < 0)
			goto done;
		if (left && !(moved[i] = strdup(to))) {
			rc = p4r_error_set(P4R_ERROR, "out of memory");
			goto done;
		}
		if (left)
			continue;
		oids[noids] = ptrs[i].oid;
		sizes[noids++] = ptrs[i].size;
	}
	/* Everything is downloaded and verified before the work tree changes;
	 * objects here pass the guard first (a damaged one is fetched again). */
	cmd_warn_link_hazard(repo, NULL, 0);
	rc = p4r_objguard_fetch(repo, r, oids, sizes, noids, &prog, &res, cmd_guard_repaired, NULL);
	cmd_progress_done(&progress);
	if (rc < 0 || (rc = p4r_git_open(&git, p4r_repo_root(repo))) < 0)
		goto done;
	files = cJSON_CreateArray();
	for (i = 0; i < nrels; i++) {
		cmd_progress cp = { .cli = cli, .label = rels[i] };
		p4r_version v = { .number = ptrs[i].version, .oid = ptrs[i].oid, .size = ptrs[i].size };
		p4r_placed placed;
		bool already = false;

		if (moved[i]) {
			cmd_checkout_moved(cli, cli->json ? files : NULL, rels[i], &ptrs[i], moved[i]);
			continue;
		}
		rc = p4r_worktree_materialize(repo, rels[i], &ptrs[i].oid, NULL, 0, force, &already,
					      cmd_progress_update, &cp);
		cmd_progress_done(&cp);
		snprintf(v.model, sizeof(v.model), "%s", ptrs[i].model);
		/* the .gitignore line beside it, as add and checkout keep it */
		if (rc < 0 || (rc = p4r_worktree_place_pointer(repo, &v, rels[i], &placed)) < 0 ||
		    (rc = cmd_written_take(&written, &placed)) < 0)
			goto done;
		if (cli->json) {
			cJSON *f = cJSON_CreateObject();

			cJSON_AddStringToObject(f, "file", rels[i]);
			cJSON_AddStringToObject(f, "model", ptrs[i].model);
			cJSON_AddNumberToObject(f, "version", (double)ptrs[i].version);
			cJSON_AddStringToObject(f, "oid", ptrs[i].oid.hex);
			cJSON_AddStringToObject(f, "action", already ? "unchanged" : "written");
			cJSON_AddItemToArray(files, f);
		} else if (!cli->quiet) {
			printf("%s %s (%s@%lld)\n", already ? "up to date" : "checked out", p4r_escape(rels[i]),
			       ptrs[i].model, (long long)ptrs[i].version);
		}
	}
	if (stage && (rc = cmd_written_stage(&written, git)) < 0)
		goto done;
	rc = print_summary(cli, r, &res, files);
	files = NULL;
done:
	free(args);
	cJSON_Delete(files);
	cmd_written_free(&written);
	p4r_git_free(git);
	p4r_strv_free(moved, nrels);
	p4r_strv_free(rels, nrels);
	free(ptrs);
	free(oids);
	free(sizes);
	p4r_sync_result_clear(&res);
	p4r_remote_free(r);
	return rc;
}
