/* p4r_rollback: production back, the file restored, the hook run (see
 * ops/rollback.h). */
#include "p4reg/ops/rollback.h"
#include "ops/checkout_priv.h"
#include "p4reg/config.h"
#include "p4reg/error.h"
#include "p4reg/relpath.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOOK_KEY "hooks.post-rollback"

/* The model's bound path; it may have come from a remote event or a
 * shipped registry, so it is checked before anything changes. */
static int model_path(p4r_repo *repo, const char *name, char **out)
{
	p4r_model m = { 0 };
	int rc = p4r_registry_model_get(p4r_repo_registry(repo), name, &m);

	if (rc == 0 && !p4r_relpath_valid(m.path))
		rc = p4r_error_set(P4R_EINTEGRITY, "model '%s' is bound to an unsafe path in the registry; "
				   "nothing was rolled back (run 'p4reg fsck')", name);
	if (rc == 0 && !(*out = strdup(m.path)))
		rc = p4r_error_set(P4R_ERROR, "out of memory");
	p4r_model_clear(&m);
	return rc;
}

/* The decision a rollback of REQ makes now, in a read snapshot, into OUT
 * (a refusal: P4R_EREFUSED with OUT->verdict). */
static int decide(p4r_repo *repo, const p4r_rollback_req *req, p4r_rollback_result *out)
{
	p4r_rollback_req dry = *req;

	dry.dry_run = true;
	dry.store = NULL;
	return p4r_lifecycle_rollback(p4r_repo_registry(repo), &dry, out);
}

/* The bytes of the version the rollback will restore, downloaded before
 * the registry changes: a rollback that cannot restore the file is not
 * recorded. DECIDED gets the decision (cleared by the caller). */
static int fetch_target(p4r_repo *repo, const p4r_rollback_req *req, const p4r_rollback_opts *opts,
			const p4r_op_report *report, p4r_rollback_result *decided)
{
	p4r_op_step step = { report, "downloading" };
	p4r_sync_progress prog = { p4r_op_step_progress, &step };
	p4r_ondemand fetch = { .remote = opts->remote, .offline = opts->offline };
	int rc;

	if ((rc = p4r_ondemand_config(repo, &fetch)) < 0 || (rc = decide(repo, req, decided)) < 0)
		return rc;
	p4r_objguard_warn_link_hazard(repo, NULL, 0, report);
	fetch.progress = &prog;
	if (report) {
		fetch.on_damage = report->repaired;
		fetch.damage_payload = report->payload;
	}
	return p4r_ondemand_fetch(repo, &fetch, &decided->restored, 1, NULL);
}

/* Stages the pointer and .gitignore PLACED wrote, as checkout does
 * (core.autostage). The rollback has happened by then: a failure to stage
 * is a warning, never a reason to skip the hook. */
static void stage_placed(p4r_repo *repo, p4r_placed *placed, const p4r_op_report *report)
{
	p4r_written w = { 0 };
	p4r_git *git = NULL;
	bool stage = false;

	if (p4r_repo_autostage(repo, false, &stage) < 0 || !stage || p4r_written_take(&w, placed) < 0 ||
	    w.n == 0 || p4r_git_open(&git, p4r_repo_root(repo)) < 0 || !git ||
	    p4r_written_stage(&w, git) < 0) {
		if (p4r_error_message()[0])
			p4r_op_warn(report, "%s", p4r_error_message());
	}
	p4r_error_clear();
	p4r_written_free(&w);
	p4r_git_free(git);
}

/* A folder model: the folder made exactly the restored version (the
 * checkout's path, configured link order, no force), its pointer and
 * "/NAME/" line placed. */
static int restore_folder(p4r_repo *repo, const p4r_version *v, const char *rel,
			  const p4r_op_report *report, bool *already, p4r_placed *placed)
{
	p4r_checkout_opts co = { 0 };
	p4r_dir_result res = { 0 };
	int rc = p4r_checkout_dir(repo, v, rel, &co, report, &res, placed);

	*already = res.written == 0 && res.removed == 0;
	p4r_dir_result_clear(&res);
	return rc;
}

/* Restores the file (or folder) to the restored version, verified, and
 * rewrites its pointer and .gitignore line, staged in git. */
static int restore_file(p4r_repo *repo, const p4r_op_report *report, p4r_rollback_outcome *out)
{
	const p4r_version *v = &out->registry.restored;
	p4r_op_step step = { report, out->path };
	p4r_placed placed = { 0 };
	bool already = false;
	int rc;

	if (v->kind == P4R_KIND_DIR)
		rc = restore_folder(repo, v, out->path, report, &already, &placed);
	else if ((rc = p4r_worktree_materialize(repo, out->path, &v->oid, NULL, 0, false, &already,
						p4r_op_step_progress, &step)) == 0)
		rc = p4r_worktree_place_pointer(repo, v, out->path, &placed);
	out->restore = already ? P4R_RESTORE_UNCHANGED : P4R_RESTORE_WRITTEN;
	if (rc == 0)
		stage_placed(repo, &placed, report);
	p4r_placed_clear(&placed);
	return rc;
}

/* Records that the hook ran and how it ended: the event travels to
 * remotes, so it never holds the command, its environment or its output. */
static int record_hook(p4r_repo *repo, const p4r_version *restored, const char *actor, int status)
{
	char reason[96];
	p4r_event ev;
	cJSON *detail;
	char *text;
	int rc;

	memset(&ev, 0, sizeof(ev));
	snprintf(ev.model, sizeof(ev.model), "%s", restored->model);
	snprintf(ev.kind, sizeof(ev.kind), "hook");
	ev.version = restored->number;
	ev.actor = (char *)actor;
	if (status < 0)
		snprintf(reason, sizeof(reason), "post-rollback hook could not start");
	else
		snprintf(reason, sizeof(reason), "post-rollback hook exited with status %d", status);
	ev.reason = reason;
	detail = cJSON_CreateObject();
	cJSON_AddStringToObject(detail, "hook", "post-rollback");
	cJSON_AddNumberToObject(detail, "status", status);
	text = cJSON_PrintUnformatted(detail);
	cJSON_Delete(detail);
	if (!text)
		return p4r_error_set(P4R_ERROR, "out of memory");
	ev.detail = text;
	rc = p4r_registry_event_add(p4r_repo_registry(repo), &ev);
	cJSON_free(text);
	return rc;
}

/* The hook from the user's own config (never the committed one) into
 * *HOOK (malloc'd; NULL when none is set). */
static int hook_get(p4r_repo *repo, char **hook)
{
	int rc = p4r_config_get(p4r_repo_config(repo), P4R_CONFIG_TRUSTED, HOOK_KEY, hook);

	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		*hook = NULL;
		return 0;
	}
	return rc;
}

/* Runs the hook, if any, in the repository's root, and records a "hook"
 * event. */
static int run_hook(p4r_repo *repo, const char *actor, p4r_rollback_outcome *out)
{
	const p4r_rollback_result *r = &out->registry;
	char version[24], rolled[24], *hook = NULL, *abs;
	const char *env[9];
	int rc;

	if ((rc = hook_get(repo, &hook)) < 0 || !hook)
		return rc;
	out->hook = true;
	if (!(abs = p4r_repo_abspath(repo, out->path))) {
		free(hook);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	snprintf(version, sizeof(version), "%lld", (long long)r->restored.number);
	snprintf(rolled, sizeof(rolled), "%lld", (long long)r->rolled_back.number);
	env[0] = "P4REG_MODEL"; env[1] = r->restored.model;
	env[2] = "P4REG_VERSION"; env[3] = version;
	env[4] = "P4REG_PATH"; env[5] = abs;
	env[6] = "P4REG_ROLLED_BACK"; env[7] = rolled;
	env[8] = NULL;
	if (p4r_lifecycle_run_hook(hook, p4r_repo_root(repo), env, &out->hook_status) < 0) {
		snprintf(out->hook_error, sizeof(out->hook_error), "%s", p4r_error_message());
		out->hook_status = -1;
	}
	free(abs);
	free(hook); /* it may hold a token: never kept, printed or recorded */
	return record_hook(repo, &r->restored, actor, out->hook_status);
}

/* The remote to share the rollback with into *R and OUT->remote; none
 * (*R NULL) is fine unless --push. */
static int share_remote(p4r_repo *repo, const p4r_rollback_opts *opts, p4r_rollback_outcome *out,
			p4r_remote **r)
{
	int rc = p4r_remote_open(r, p4r_repo_config(repo), p4r_repo_meta(repo), opts->remote);

	if (rc == P4R_ENOTFOUND && !opts->push) {
		p4r_error_clear();
		*r = NULL;
		return 0; /* no remote: nothing to share with */
	}
	if (rc == 0)
		snprintf(out->remote, sizeof(out->remote), "%s", (*r)->name);
	return rc;
}

/* --push: this model's events go to the remote; else the remote's name
 * tells the command to say how to share the rollback. */
static int share(p4r_repo *repo, const p4r_rollback_opts *opts, p4r_rollback_outcome *out)
{
	char *const models[] = { (char *)opts->model };
	p4r_push_opts popts = { .models = models, .n_models = 1 };
	p4r_sync_result res = { 0 };
	p4r_remote *r = NULL;
	int rc = share_remote(repo, opts, out, &r);

	if (rc < 0 || !r)
		return rc;
	if (opts->push && (rc = p4r_sync_push(repo, r, &popts, NULL, &res)) == 0) {
		out->pushed = true;
		out->events_pushed = res.events_published;
	}
	p4r_sync_result_clear(&res);
	p4r_remote_free(r);
	return rc;
}

/* The transaction and the file: a file not restored after the registry
 * changed says how to finish by hand (not "--force": run again, rollback
 * would walk one more version back). */
static int roll_back(p4r_repo *repo, const p4r_rollback_opts *opts, const p4r_rollback_req *req,
		     const p4r_op_report *report, p4r_rollback_outcome *out)
{
	char msg[512];
	int rc;

	if ((rc = p4r_lifecycle_rollback(p4r_repo_registry(repo), req, &out->registry)) < 0)
		return rc;
	if (opts->no_checkout || (rc = restore_file(repo, report, out)) == 0)
		return 0;
	snprintf(msg, sizeof(msg), "%s", p4r_error_message());
	return p4r_error_set(rc, "rolled back '%s' to v%lld in the registry, but '%s' was not "
			     "restored (%s); restore it with 'p4reg checkout --force %s@production', "
			     "then restart by hand: the hook did not run", opts->model,
			     (long long)out->registry.restored.number, out->path, msg, opts->model);
}

/* What is left to say once the rollback is recorded: a push that failed,
 * else a hook that failed. */
static int finish(p4r_repo *repo, const p4r_rollback_opts *opts, p4r_rollback_outcome *out)
{
	long long restored = (long long)out->registry.restored.number;
	char msg[512];
	int rc;

	if ((rc = share(repo, opts, out)) < 0) {
		snprintf(msg, sizeof(msg), "%s", p4r_error_message());
		out->push_failed = true;
		return p4r_error_set(rc, "the rollback to v%lld is recorded here, but it was not pushed "
				     "(%s); run 'p4reg push' to share it", restored, msg);
	}
	if (!out->hook || out->hook_status == 0)
		return 0;
	if (out->hook_status < 0)
		return p4r_error_set(P4R_ERROR, "the post-rollback hook could not run: %s; the rollback "
				     "to v%lld is recorded", out->hook_error, restored);
	return p4r_error_set(P4R_ERROR, "the post-rollback hook exited with status %d; the rollback "
			     "to v%lld is recorded", out->hook_status, restored);
}

/* ---- the dry run: the same decision, the rest planned from what is here ---- */

/* What the store lacks of the target: the real run downloads it first (the
 * same error when it could not). */
static int preview_download(p4r_repo *repo, const p4r_ondemand *fetch, p4r_rollback_outcome *out)
{
	p4r_objects missing = { 0 };
	bool incomplete = false;
	size_t i;
	int rc;

	rc = p4r_ondemand_plan(repo, fetch, &out->registry.restored, 1, &missing, &incomplete,
			       out->download_remote, sizeof(out->download_remote));
	out->download = missing.n;
	for (i = 0; i < missing.n; i++)
		out->download_bytes += (uint64_t)missing.size[i];
	p4r_objects_clear(&missing);
	return rc;
}

/* The restored version's path in OUT->preview.write. */
static int preview_file(p4r_rollback_outcome *out)
{
	if (!(out->preview.write = calloc(1, sizeof(char *))) ||
	    !(out->preview.write[0] = strdup(out->path)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	out->preview.nwrite = 1;
	return 0;
}

/* What restore_file would do to the work tree, from what is there now;
 * a restore that would fail is the error the real run ends with. */
static int preview_restore(p4r_repo *repo, p4r_rollback_outcome *out)
{
	const p4r_version *v = &out->registry.restored;
	bool already = false;
	char msg[384];
	int rc;

	if (v->kind == P4R_KIND_DIR) {
		rc = p4r_checkout_dir_plan(repo, v, out->path, false, &out->preview);
		already = rc == 0 && out->preview.nwrite == 0 && out->preview.nremove == 0;
		if (rc == P4R_ENOTFOUND) {  /* the manifest: it comes with the download */
			p4r_error_clear();
			out->preview_unknown = true;
			rc = 0;
		}
	} else if ((rc = p4r_worktree_materialize_check(repo, out->path, &v->oid, false, &already)) == 0 &&
		   !already) {
		rc = preview_file(out);
	}
	out->restore = already ? P4R_RESTORE_UNCHANGED : P4R_RESTORE_WRITTEN;
	if (rc == 0)
		return 0;
	out->restore = P4R_RESTORE_BLOCKED;
	snprintf(msg, sizeof(msg), "%s", p4r_error_message());
	snprintf(out->blocked, sizeof(out->blocked), "the rollback to v%lld would be recorded, but '%s' "
		 "would not be restored (%s)", (long long)v->number, out->path, msg);
	return p4r_error_set(rc, "%s", out->blocked);
}

/* Where the rollback would be shared: the remote, or the push's error. */
static int preview_share(p4r_repo *repo, const p4r_rollback_opts *opts, p4r_rollback_outcome *out)
{
	p4r_remote *r = NULL;
	char msg[384];
	int rc = share_remote(repo, opts, out, &r);

	p4r_remote_free(r);
	if (rc == 0)
		return 0;
	snprintf(msg, sizeof(msg), "%s", p4r_error_message());
	out->push_failed = true;
	return p4r_error_set(rc, "the rollback would be recorded here, but it could not be pushed (%s)",
			     msg);
}

/* The dry run, in the real run's order: the decision, the download, the
 * work tree, the hook, the push; none of them changes anything. */
static int dry_run(p4r_repo *repo, const p4r_rollback_opts *opts, const p4r_rollback_req *req,
		   p4r_rollback_outcome *out)
{
	p4r_ondemand fetch = { .remote = opts->remote, .offline = opts->offline };
	char *hook = NULL;
	int rc;

	if ((!opts->no_checkout && (rc = p4r_ondemand_config(repo, &fetch)) < 0) ||
	    (rc = decide(repo, req, &out->registry)) < 0 ||
	    (!opts->no_checkout && (rc = preview_download(repo, &fetch, out)) < 0))
		return rc;
	out->dry_run = true;
	if (!opts->no_checkout) {
		if ((rc = preview_restore(repo, out)) < 0 || (rc = hook_get(repo, &hook)) < 0)
			return rc;
		out->hook = hook != NULL;
		free(hook); /* it may hold a token: never kept */
	}
	return preview_share(repo, opts, out);
}

int p4r_rollback(p4r_repo *repo, const p4r_rollback_opts *opts, const p4r_op_report *report,
		 p4r_rollback_outcome *out)
{
	p4r_rollback_req req = { .model = opts->model, .to = opts->to, .force = opts->force,
				 .reason = opts->reason };
	p4r_version pair[2];
	char *actor = NULL;
	int rc;

	out->restore = P4R_RESTORE_SKIPPED;
	if ((rc = model_path(repo, opts->model, &out->path)) < 0)
		return rc;
	if (opts->dry_run)
		return dry_run(repo, opts, &req, out);
	if (!(actor = p4r_repo_actor(repo)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	req.actor = actor;
	req.store = opts->no_checkout ? NULL : p4r_repo_store(repo);
	if (!opts->no_checkout && (rc = fetch_target(repo, &req, opts, report, &out->registry)) == 0)
		p4r_rollback_result_clear(&out->registry);  /* decided again under the write lock */
	if ((opts->no_checkout || rc == 0) &&
	    (rc = roll_back(repo, opts, &req, report, out)) == 0 &&
	    /* the hook restarts a service on the file: no new file, no restart */
	    (opts->no_checkout || (rc = run_hook(repo, actor, out)) == 0)) {
		pair[0] = out->registry.restored;
		pair[1] = out->registry.rolled_back;
		rc = p4r_metrics_table(p4r_repo_registry(repo), pair, 2, &out->metrics);
	}
	free(actor);
	if (rc < 0)
		return rc;
	out->recorded = true;
	return finish(repo, opts, out);
}

void p4r_rollback_outcome_free(p4r_rollback_outcome *o)
{
	if (!o)
		return;
	p4r_rollback_result_clear(&o->registry);
	p4r_metric_table_clear(&o->metrics);
	p4r_dir_plan_clear(&o->preview);
	free(o->path);
	memset(o, 0, sizeof(*o));
}
