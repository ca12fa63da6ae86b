/* p4reg rollback MODEL: production goes back to the version it replaced,
 * the work tree file follows, and the post-rollback hook may restart the
 * service. */
#include "cmd.h"
#include "p4reg/gitio.h"
#include "p4reg/lifecycle.h"
#include "p4reg/metrics.h"
#include "p4reg/ondemand.h"
#include "p4reg/output.h"
#include "p4reg/relpath.h"
#include "p4reg/remote.h"
#include "p4reg/sync.h"
#include "p4reg/worktree.h"

#include <stdlib.h>
#include <string.h>

const char cmd_rollback_usage[] =
	"usage: p4reg rollback MODEL [--to N] [-m REASON] [--force] [--no-checkout]\n"
	"                      [--push] [-r NAME] [--offline]\n"
	"\n"
	"In one transaction, archives MODEL's production version, marks it rolled\n"
	"back with REASON, and puts back the version that held production before\n"
	"it (a second rollback walks further back, never onto a rolled-back\n"
	"version). Then restores the work tree file and its pointer, verified (the\n"
	"pointer and .gitignore staged in git, config core.autostage), and\n"
	"runs hooks.post-rollback from .p4reg/config.local or the user's config\n"
	"(never from the committed .p4reg/config) with P4REG_MODEL, P4REG_VERSION,\n"
	"P4REG_PATH and P4REG_ROLLED_BACK set. Prints both versions' metrics.\n"
	"Nothing to roll back to exits 3; a failing hook exits 1, the rollback\n"
	"stays recorded. The restored version's bytes are downloaded from the\n"
	"remote first when the local store lacks them (a fresh clone). The\n"
	"rollback is recorded here: 'p4reg push' (or --push) shares it.\n"
	"\n"
	"      --to N          restore version N (it must have held production)\n"
	"  -f, --force         with --to: any version, even one rolled back before\n"
	"  -m, --message TEXT  the reason, recorded in the history\n"
	"      --no-checkout   change the registry only; leave the work tree alone\n"
	"                      (the hook does not run: the file did not change)\n"
	"      --push          push this model's events to the remote afterwards\n"
	"  -r, --remote NAME   the remote to download from and push to (default:\n"
	"                      core.remote)\n"
	"      --offline       download nothing (also: config core.offline)\n";

enum { OPT_TO = 1, OPT_FORCE, OPT_MESSAGE, OPT_NO_CHECKOUT, OPT_PUSH, OPT_REMOTE, OPT_OFFLINE };

static const p4r_option options[] = {
	{ "to", 0, true, OPT_TO },
	{ "force", 'f', false, OPT_FORCE },
	{ "message", 'm', true, OPT_MESSAGE },
	{ "no-checkout", 0, false, OPT_NO_CHECKOUT },
	{ "push", 0, false, OPT_PUSH },
	{ "remote", 'r', true, OPT_REMOTE },
	{ "offline", 0, false, OPT_OFFLINE },
	{ NULL, 0, false, 0 },
};

#define REASON_MAX 4096
#define HOOK_KEY "hooks.post-rollback"

/* What happened after the registry transaction. */
struct outcome {
	const char *checkout;  /* "written", "unchanged", "skipped" */
	char *hook;            /* the command run, NULL when none; owned; never printed
				* or recorded (it may hold a token) */
	int hook_status;       /* its exit status, -1 when it could not start */
	char hook_error[256];  /* why it could not start */
};

/* Stages the pointer and .gitignore PLACED wrote, as checkout does
 * (core.autostage). The rollback has happened by then: a failure to stage
 * is a warning, never a reason to skip the hook. */
static void stage_placed(p4r_repo *repo, p4r_placed *placed)
{
	cmd_written w = { 0 };
	p4r_git *git = NULL;
	bool stage = false;

	if (p4r_repo_autostage(repo, false, &stage) < 0 || !stage || cmd_written_take(&w, placed) < 0 ||
	    w.n == 0 || p4r_git_open(&git, p4r_repo_root(repo)) < 0 || !git ||
	    cmd_written_stage(&w, git) < 0) {
		if (p4r_error_message()[0])
			cmd_warn("%s", p4r_error_message());
	}
	p4r_error_clear();
	cmd_written_free(&w);
	p4r_git_free(git);
}

/* Restores REL to the restored version, verified, and rewrites its pointer
 * and .gitignore line, staged in git. */
static int restore_file(p4r_cli *cli, p4r_repo *repo, const char *rel, const p4r_version *v,
			struct outcome *oc)
{
	cmd_progress progress = { .cli = cli, .label = rel };
	p4r_placed placed = { 0 };
	bool already = false;
	int rc;

	rc = p4r_worktree_materialize(repo, rel, &v->oid, NULL, 0, false, &already,
				      cmd_progress_update, &progress);
	cmd_progress_done(&progress);
	if (rc == 0)
		rc = p4r_worktree_place_pointer(repo, v, rel, &placed);
	oc->checkout = already ? "unchanged" : "written";
	if (rc == 0)
		stage_placed(repo, &placed);
	p4r_placed_clear(&placed);
	return rc;
}

/* Runs the trusted hook, if any, and records a "hook" event. */
static int run_hook(p4r_repo *repo, const char *path, const p4r_rollback_result *r,
		    const char *actor, struct outcome *oc)
{
	char version[24], rolled[24], reason[96], *abs = NULL, *text;
	const char *env[9];
	p4r_event ev;
	cJSON *detail;
	int rc;

	rc = p4r_config_get(p4r_repo_config(repo), P4R_CONFIG_TRUSTED, HOOK_KEY, &oc->hook);
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		return 0;
	}
	if (rc < 0)
		return rc;
	if (!(abs = p4r_repo_abspath(repo, path)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	snprintf(version, sizeof(version), "%lld", (long long)r->restored.number);
	snprintf(rolled, sizeof(rolled), "%lld", (long long)r->rolled_back.number);
	env[0] = "P4REG_MODEL"; env[1] = r->restored.model;
	env[2] = "P4REG_VERSION"; env[3] = version;
	env[4] = "P4REG_PATH"; env[5] = abs;
	env[6] = "P4REG_ROLLED_BACK"; env[7] = rolled;
	env[8] = NULL;
	if (p4r_lifecycle_run_hook(oc->hook, p4r_repo_root(repo), env, &oc->hook_status) < 0) {
		snprintf(oc->hook_error, sizeof(oc->hook_error), "%s", p4r_error_message());
		oc->hook_status = -1;
	}
	free(abs);

	memset(&ev, 0, sizeof(ev));
	snprintf(ev.model, sizeof(ev.model), "%s", r->restored.model);
	snprintf(ev.kind, sizeof(ev.kind), "hook");
	ev.version = r->restored.number;
	ev.actor = (char *)actor;
	if (oc->hook_status < 0)
		snprintf(reason, sizeof(reason), "post-rollback hook could not start");
	else
		snprintf(reason, sizeof(reason), "post-rollback hook exited with status %d", oc->hook_status);
	ev.reason = reason;
	/* The event travels to remotes: it says that the hook ran and how it
	 * ended, never the command, its environment or its output. */
	detail = cJSON_CreateObject();
	cJSON_AddStringToObject(detail, "hook", "post-rollback");
	cJSON_AddNumberToObject(detail, "status", oc->hook_status);
	text = cJSON_PrintUnformatted(detail);
	cJSON_Delete(detail);
	if (!text)
		return p4r_error_set(P4R_ERROR, "out of memory");
	ev.detail = text;
	rc = p4r_registry_event_add(p4r_repo_registry(repo), &ev);
	cJSON_free(text);
	return rc;
}

static void format_cell(char *buf, size_t size, const p4r_metric_cell *c)
{
	if (c)
		p4r_metric_format(buf, size, c->value);
	else
		snprintf(buf, size, "-");
}

static cJSON *json_result(const p4r_rollback_result *r, const char *path, const char *reason,
			  const p4r_metric_table *t, const struct outcome *oc)
{
	cJSON *doc = cJSON_CreateObject(), *arr, *hook;
	size_t k;

	if (!doc)
		return NULL;
	cJSON_AddStringToObject(doc, "model", r->restored.model);
	cJSON_AddStringToObject(doc, "path", path);
	cJSON_AddItemToObject(doc, "restored", p4r_json_version(&r->restored));
	cJSON_AddItemToObject(doc, "rolled_back", p4r_json_version(&r->rolled_back));
	cJSON_AddBoolToObject(doc, "forced", r->forced);
	p4r_json_add_text(doc, "reason", reason);
	cJSON_AddStringToObject(doc, "checkout", oc->checkout);
	arr = cJSON_AddArrayToObject(doc, "metrics");
	for (k = 0; k < t->nkeys; k++) {
		const p4r_metric_cell *a = p4r_metric_table_get(t, 0, k), *b = p4r_metric_table_get(t, 1, k);
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "key", t->keys[k]);
		if (a)
			cJSON_AddNumberToObject(o, "restored", a->value);
		else
			cJSON_AddNullToObject(o, "restored");
		if (b)
			cJSON_AddNumberToObject(o, "rolled_back", b->value);
		else
			cJSON_AddNullToObject(o, "rolled_back");
		cJSON_AddItemToArray(arr, o);
	}
	if (!oc->hook) {
		cJSON_AddNullToObject(doc, "hook");
	} else {
		hook = cJSON_AddObjectToObject(doc, "hook");
		cJSON_AddStringToObject(hook, "name", "post-rollback");
		cJSON_AddNumberToObject(hook, "status", oc->hook_status);
		cJSON_AddBoolToObject(hook, "ok", oc->hook_status == 0);
	}
	return doc;
}

static void print_result(const p4r_rollback_result *r, const char *path,
			 const p4r_metric_table *t, const struct outcome *oc)
{
	char head_a[40], head_b[40], a[32], b[32];
	size_t k, width = 6;

	printf("rolled back %s: production is now v%lld (v%lld archived, marked rolled back)%s\n",
	       p4r_escape(r->restored.model), (long long)r->restored.number, (long long)r->rolled_back.number,
	       r->forced ? " (forced)" : "");
	if (!strcmp(oc->checkout, "skipped"))
		printf("work tree left alone: %s (--no-checkout)\n", p4r_escape(path));
	else
		printf("%s %s (%s@%lld, sha256:%.12s)\n",
		       !strcmp(oc->checkout, "written") ? "restored" : "up to date", p4r_escape(path),
		       p4r_escape(r->restored.model), (long long)r->restored.number, r->restored.oid.hex);
	if (t->nkeys) {
		for (k = 0; k < t->nkeys; k++)
			if (strlen(t->keys[k]) > width)
				width = strlen(t->keys[k]);
		snprintf(head_a, sizeof(head_a), "v%lld (restored)", (long long)r->restored.number);
		snprintf(head_b, sizeof(head_b), "v%lld (rolled back)", (long long)r->rolled_back.number);
		printf("%-*s  %-18s  %s\n", (int)width, "metric", head_a, head_b);
		for (k = 0; k < t->nkeys; k++) {
			format_cell(a, sizeof(a), p4r_metric_table_get(t, 0, k));
			format_cell(b, sizeof(b), p4r_metric_table_get(t, 1, k));
			printf("%-*s  %-18s  %s\n", (int)width, t->keys[k], a, b);
		}
	} else {
		printf("no metrics recorded for v%lld or v%lld\n", (long long)r->restored.number,
		       (long long)r->rolled_back.number);
	}
	if (oc->hook && oc->hook_status >= 0)
		printf("hook post-rollback exited with status %d\n", oc->hook_status);
}

/* The bytes of the version the rollback will restore, downloaded before
 * the registry changes: a rollback that cannot restore the file is not
 * recorded. */
static int fetch_target(p4r_cli *cli, p4r_repo *repo, const p4r_rollback_req *req,
			p4r_ondemand *fetch)
{
	cmd_progress progress = { .cli = cli, .label = "downloading" };
	p4r_sync_progress prog = { cmd_progress_update, &progress };
	p4r_version target = { 0 };
	int rc;

	if ((rc = p4r_lifecycle_rollback_target(p4r_repo_registry(repo), req, &target)) < 0)
		return rc;
	cmd_warn_link_hazard(repo, NULL, 0);
	fetch->on_damage = cmd_guard_repaired;
	fetch->progress = &prog;
	rc = p4r_ondemand_fetch(repo, fetch, &target, 1, NULL);
	fetch->progress = NULL;
	cmd_progress_done(&progress);
	p4r_version_clear(&target);
	return rc;
}

/* --push: this model's events go to the remote; else a note says how. */
static int share(p4r_cli *cli, p4r_repo *repo, const char *model, const char *remote, bool push)
{
	char *const models[] = { (char *)model };
	p4r_push_opts popts = { .models = models, .n_models = 1 };
	p4r_sync_result res = { 0 };
	p4r_remote *r = NULL;
	int rc = p4r_remote_open(&r, p4r_repo_config(repo), p4r_repo_meta(repo), remote);

	if (rc == P4R_ENOTFOUND && !push) {
		p4r_error_clear();
		return 0; /* no remote: nothing to share with */
	}
	if (rc < 0)
		return rc;
	if (push) {
		rc = p4r_sync_push(repo, r, &popts, NULL, &res);
		if (rc == 0)
			cmd_note(cli, "pushed the rollback to '%s' (%zu events)", r->name,
				 res.events_published);
	} else {
		cmd_note(cli, "the rollback is recorded here only: run 'p4reg push' to share it "
			 "with '%s'", r->name);
	}
	p4r_sync_result_clear(&res);
	p4r_remote_free(r);
	return rc;
}

int cmd_rollback(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	const char *name = NULL, *message = NULL, *value;
	struct outcome oc = { .checkout = "skipped" };
	p4r_rollback_req req = { 0 };
	p4r_rollback_result r = { 0 };
	p4r_metric_table table = { 0 };
	p4r_version pair[2];
	p4r_model m = { 0 };
	bool no_checkout = false, push = false, hook_failed;
	p4r_ondemand fetch = { 0 };
	char *actor = NULL;
	long long to = 0;
	p4r_opts o;
	int id, rc;

	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_TO)
			rc = p4r_parse_int64(&to, value, 1, P4R_STEP_MAX, "--to");
		else if (id == OPT_FORCE)
			req.force = true;
		else if (id == OPT_MESSAGE)
			message = value;
		else if (id == OPT_NO_CHECKOUT)
			no_checkout = true;
		else if (id == OPT_PUSH)
			push = true;
		else if (id == OPT_REMOTE)
			fetch.remote = value;
		else if (id == OPT_OFFLINE)
			fetch.offline = true;
		else if (name)
			rc = cmd_usage_error(cli, "rollback takes one MODEL");
		else
			name = value;
		if (rc < 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	if (!name)
		return cmd_usage_error(cli, "rollback needs a MODEL");
	if ((rc = cmd_model_arg("rollback", name)) < 0)
		return rc;
	if (message && strlen(message) > REASON_MAX)
		return cmd_usage_error(cli, "the reason is longer than %d bytes", REASON_MAX);
	if ((rc = p4r_registry_model_get(reg, name, &m)) < 0)
		return rc;
	/* The path may have come from a remote event or a shipped registry. */
	if (!p4r_relpath_valid(m.path)) {
		rc = p4r_error_set(P4R_EINTEGRITY, "model '%s' is bound to an unsafe path in the registry; "
				   "nothing was rolled back (run 'p4reg fsck')", name);
		goto done;
	}
	if (!(actor = p4r_repo_actor(repo))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	req.model = name;
	req.to = to;
	req.actor = actor;
	req.reason = message;
	req.store = no_checkout ? NULL : p4r_repo_store(repo);
	if (!no_checkout && ((rc = p4r_ondemand_config(repo, &fetch)) < 0 ||
			     (rc = fetch_target(cli, repo, &req, &fetch)) < 0))
		goto done;
	if ((rc = p4r_lifecycle_rollback(reg, &req, &r)) < 0)
		goto done;

	if (!no_checkout && (rc = restore_file(cli, repo, m.path, &r.restored, &oc)) < 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", p4r_error_message());
		/* Not "--force": run again, rollback would walk one more version back. */
		rc = p4r_error_set(rc, "rolled back '%s' to v%lld in the registry, but '%s' was not "
				   "restored (%s); restore it with 'p4reg checkout --force %s@production', "
				   "then restart by hand: the hook did not run", name,
				   (long long)r.restored.number, m.path, msg, name);
		goto done;
	}
	/* the hook restarts a service on the file: no new file, no restart */
	if (!no_checkout && (rc = run_hook(repo, m.path, &r, actor, &oc)) < 0)
		goto done;
	hook_failed = oc.hook && oc.hook_status != 0;

	pair[0] = r.restored;
	pair[1] = r.rolled_back;
	if ((rc = p4r_metrics_table(reg, pair, 2, &table)) < 0)
		goto done;
	if (cli->json) {
		if ((rc = cmd_print_json(json_result(&r, m.path, message, &table, &oc))) < 0)
			goto done;
		if (hook_failed)
			cli->reported = true;
	} else if (!cli->quiet) {
		print_result(&r, m.path, &table, &oc);
	}
	if ((rc = share(cli, repo, name, fetch.remote, push)) < 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", p4r_error_message());
		rc = p4r_error_set(rc, "the rollback to v%lld is recorded here, but it was not pushed "
				   "(%s); run 'p4reg push' to share it", (long long)r.restored.number, msg);
		goto done;
	}
	if (hook_failed) {
		if (oc.hook_status < 0)
			rc = p4r_error_set(P4R_ERROR, "the post-rollback hook could not run: %s; the "
					   "rollback to v%lld is recorded", oc.hook_error,
					   (long long)r.restored.number);
		else
			rc = p4r_error_set(P4R_ERROR, "the post-rollback hook exited with status %d; the "
					   "rollback to v%lld is recorded", oc.hook_status,
					   (long long)r.restored.number);
		if (cli->json)
			fprintf(stderr, "p4reg: %s\n", p4r_escape(p4r_error_message()));
	}
done:
	p4r_metric_table_clear(&table);
	p4r_rollback_result_clear(&r);
	p4r_model_clear(&m);
	free(oc.hook);
	free(actor);
	return rc;
}
