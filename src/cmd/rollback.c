/* p4reg rollback MODEL: production goes back to the version it replaced,
 * the work tree file follows, and the post-rollback hook may restart the
 * service. */
#include "cmd.h"
#include "p4reg/metrics.h"
#include "p4reg/ops/rollback.h"
#include "p4reg/output.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

const char cmd_rollback_usage[] =
	"usage: p4reg rollback MODEL [--to N] [-m REASON] [--force] [--no-checkout]\n"
	"                      [--push] [-r NAME] [--offline] [--dry-run]\n"
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
	"--dry-run decides as the rollback would and prints what it would do: the\n"
	"versions, the rules checked, the work tree files that would change, what\n"
	"would be downloaded, whether the hook would run. It changes nothing (work\n"
	"tree, store, git, registry) and contacts no remote: exit 0 when the\n"
	"rollback would succeed, 3 when it would be refused (with --json, the\n"
	"refusal's kind: no-target, already-there, step-rule, policy).\n"
	"\n"
	"      --to N          restore version N (it must have held production)\n"
	"  -f, --force         with --to: any version, even one rolled back before\n"
	"  -m, --message TEXT  the reason, recorded in the history\n"
	"      --no-checkout   change the registry only; leave the work tree alone\n"
	"                      (the hook does not run: the file did not change)\n"
	"      --push          push this model's events to the remote afterwards\n"
	"  -r, --remote NAME   the remote to download from and push to (default:\n"
	"                      core.remote)\n"
	"      --offline       download nothing (also: config core.offline)\n"
	"  -n, --dry-run       say what would happen; change nothing\n";

enum { OPT_TO = 1, OPT_FORCE, OPT_MESSAGE, OPT_NO_CHECKOUT, OPT_PUSH, OPT_REMOTE, OPT_OFFLINE,
       OPT_DRY_RUN };

static const p4r_option options[] = {
	{ "to", 0, true, OPT_TO },
	{ "force", 'f', false, OPT_FORCE },
	{ "message", 'm', true, OPT_MESSAGE },
	{ "no-checkout", 0, false, OPT_NO_CHECKOUT },
	{ "push", 0, false, OPT_PUSH },
	{ "remote", 'r', true, OPT_REMOTE },
	{ "offline", 0, false, OPT_OFFLINE },
	{ "dry-run", 'n', false, OPT_DRY_RUN },
	{ NULL, 0, false, 0 },
};

#define REASON_MAX 4096
static void format_cell(char *buf, size_t size, const p4r_metric_cell *c)
{
	if (c)
		p4r_metric_format(buf, size, c->value);
	else
		snprintf(buf, size, "-");
}

static const char *restore_name(p4r_restore_action a)
{
	return a == P4R_RESTORE_WRITTEN ? "written" : a == P4R_RESTORE_UNCHANGED ? "unchanged" : "skipped";
}

/* A refusal with --json: the error document, with the refusal's kind
 * beside it (docs/json.md, "Refusals"). */
static int report_refusal(p4r_cli *cli, const p4r_verdict *v, int rc)
{
	cJSON *doc = cJSON_CreateObject(), *err = cJSON_AddObjectToObject(doc, "error");
	char msg[sizeof(v->message)];

	snprintf(msg, sizeof(msg), "%s", p4r_error_message());
	cJSON_AddStringToObject(err, "code", p4r_error_name(rc));
	cJSON_AddStringToObject(err, "message", msg);
	cJSON_AddItemToObject(doc, "refusal", p4r_json_refusal(v));
	if (cmd_print_json(doc) < 0)
		return p4r_error_set(P4R_ERROR, "cannot write to standard output");
	cli->reported = true;
	return p4r_error_set(rc, "%s", msg);
}

static cJSON *json_result(const p4r_rollback_outcome *oc, const char *reason)
{
	const p4r_rollback_result *r = &oc->registry;
	const p4r_metric_table *t = &oc->metrics;
	cJSON *doc = cJSON_CreateObject(), *arr, *hook;
	size_t k;

	if (!doc)
		return NULL;
	cJSON_AddStringToObject(doc, "model", r->restored.model);
	cJSON_AddStringToObject(doc, "path", oc->path);
	cJSON_AddItemToObject(doc, "restored", p4r_json_version(&r->restored));
	cJSON_AddItemToObject(doc, "rolled_back", p4r_json_version(&r->rolled_back));
	cJSON_AddBoolToObject(doc, "forced", r->forced);
	p4r_json_add_text(doc, "reason", reason);
	cJSON_AddStringToObject(doc, "checkout", restore_name(oc->restore));
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

static void print_result(const p4r_rollback_outcome *oc)
{
	const p4r_rollback_result *r = &oc->registry;
	const p4r_metric_table *t = &oc->metrics;
	const char *path = oc->path;
	char head_a[40], head_b[40], a[32], b[32];
	size_t k, width = 6;

	printf("rolled back %s: production is now v%lld (v%lld archived, marked rolled back)%s\n",
	       p4r_escape(r->restored.model), (long long)r->restored.number, (long long)r->rolled_back.number,
	       r->forced ? " (forced)" : "");
	if (oc->restore == P4R_RESTORE_SKIPPED)
		printf("work tree left alone: %s (--no-checkout)\n", p4r_escape(path));
	else
		printf("%s %s (%s@%lld, sha256:%.12s)\n",
		       oc->restore == P4R_RESTORE_WRITTEN ? "restored" : "up to date", p4r_escape(path),
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

/* The outcome of a recorded rollback, then how it was shared. In JSON
 * mode a failed hook's error goes to stderr by hand: stdout already holds
 * the document. */
static int print_outcome(p4r_cli *cli, const p4r_rollback_outcome *oc, const char *reason, int rc)
{
	bool hook_failed = oc->hook && oc->hook_status != 0;
	int prc;

	if (cli->json) {
		if ((prc = cmd_print_json(json_result(oc, reason))) < 0)
			return prc;
		if (hook_failed)
			cli->reported = true;
	} else if (!cli->quiet) {
		print_result(oc);
	}
	if (oc->pushed)
		cmd_note(cli, "pushed the rollback to '%s' (%zu events)", oc->remote, oc->events_pushed);
	else if (oc->remote[0] && !oc->push_failed)
		cmd_note(cli, "the rollback is recorded here only: run 'p4reg push' to share it "
			 "with '%s'", oc->remote);
	if (rc < 0 && hook_failed && !oc->push_failed && cli->json)
		fprintf(stderr, "p4reg: %s\n", p4r_escape(p4r_error_message()));
	return rc;
}

/* ---- --dry-run ---- */

static const char *preview_name(p4r_restore_action a)
{
	return a == P4R_RESTORE_BLOCKED ? "blocked" : a == P4R_RESTORE_WRITTEN ? "write" :
	       a == P4R_RESTORE_UNCHANGED ? "unchanged" : "skip";
}

static cJSON *json_strings(char *const *v, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	for (i = 0; arr && i < n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(v[i]));
	return arr;
}

/* "work_tree": null with --no-checkout, else what restoring it would do. */
static void json_dry_work_tree(cJSON *doc, const p4r_rollback_outcome *oc)
{
	cJSON *wt;

	if (oc->restore == P4R_RESTORE_SKIPPED) {
		cJSON_AddNullToObject(doc, "work_tree");
		return;
	}
	wt = cJSON_AddObjectToObject(doc, "work_tree");
	cJSON_AddStringToObject(wt, "action", preview_name(oc->restore));
	if (oc->preview_unknown) {
		cJSON_AddNullToObject(wt, "write");
		cJSON_AddNullToObject(wt, "remove");
	} else {
		cJSON_AddItemToObject(wt, "write", json_strings(oc->preview.write, oc->preview.nwrite));
		cJSON_AddItemToObject(wt, "remove", json_strings(oc->preview.remove, oc->preview.nremove));
	}
	cJSON_AddItemToObject(wt, "foreign", json_strings(oc->preview.foreign, oc->preview.nforeign));
	p4r_json_add_text(wt, "blocked", oc->blocked);
	cJSON_AddNumberToObject(wt, "download", (double)oc->download);
	cJSON_AddNumberToObject(wt, "download_bytes", (double)oc->download_bytes);
	p4r_json_add_text(wt, "remote", oc->download_remote);
}

/* The dry run as JSON (docs/json.md, "Dry runs"); also a refused one (R
 * holds the verdict only). */
static cJSON *json_dry(const p4r_rollback_opts *opts, const char *path, const p4r_rollback_outcome *oc)
{
	const p4r_rollback_result *r = &oc->registry;
	cJSON *doc = cJSON_CreateObject();

	if (!doc)
		return NULL;
	cJSON_AddBoolToObject(doc, "dry_run", true);
	cJSON_AddStringToObject(doc, "action", "rollback");
	cJSON_AddStringToObject(doc, "model", opts->model);
	p4r_json_add_text(doc, "path", path);
	if (r->rolled_back.number)
		cJSON_AddNumberToObject(doc, "from", (double)r->rolled_back.number);
	else
		cJSON_AddNullToObject(doc, "from");
	if (r->restored.number || opts->to)  /* refused: what --to asked for */
		cJSON_AddNumberToObject(doc, "to", (double)(r->restored.number ? r->restored.number : opts->to));
	else
		cJSON_AddNullToObject(doc, "to");
	cJSON_AddBoolToObject(doc, "forced", r->forced);
	p4r_json_add_rule_checks(cJSON_AddArrayToObject(doc, "checks"), &r->verdict);
	if (oc->dry_run)
		json_dry_work_tree(doc, oc);
	else
		cJSON_AddNullToObject(doc, "work_tree");
	p4r_json_add_text(doc, "hook", oc->hook ? "post-rollback" : NULL);
	p4r_json_add_text(doc, "push", opts->push && oc->remote[0] ? oc->remote : NULL);
	cJSON_AddItemToObject(doc, "refusal", p4r_json_refusal(&r->verdict));
	return doc;
}

/* "(work tree would change: models/m.bin)" and the like. */
static void describe_work_tree(char *buf, size_t size, const p4r_rollback_outcome *oc)
{
	const p4r_dir_plan *p = &oc->preview;

	if (oc->restore == P4R_RESTORE_SKIPPED)
		snprintf(buf, size, "work tree left alone: --no-checkout");
	else if (oc->restore == P4R_RESTORE_BLOCKED)
		snprintf(buf, size, "work tree would not be restored: %s", p4r_escape(oc->path));
	else if (oc->restore == P4R_RESTORE_UNCHANGED)
		snprintf(buf, size, "work tree unchanged: %s", p4r_escape(oc->path));
	else if (oc->registry.restored.kind != P4R_KIND_DIR)
		snprintf(buf, size, "work tree would change: %s", p4r_escape(oc->path));
	else if (oc->preview_unknown)
		snprintf(buf, size, "work tree would change: %s/ (its file list comes with the download)",
			 p4r_escape(oc->path));
	else
		snprintf(buf, size, "work tree would change: %s/ (%zu files written, %zu removed)",
			 p4r_escape(oc->path), p->nwrite, p->nremove);
}

static void print_dry(const p4r_rollback_outcome *oc, bool push)
{
	const p4r_rollback_result *r = &oc->registry;
	char wt[PATH_MAX + 96], size[32];

	describe_work_tree(wt, sizeof(wt), oc);
	printf("would roll back %s: production v%lld -> v%lld (%s%s)\n", p4r_escape(r->restored.model),
	       (long long)r->rolled_back.number, (long long)r->restored.number,
	       r->forced ? "forced; " : "", wt);
	cmd_print_rule_checks(&r->verdict);
	if (oc->download) {
		p4r_format_size(size, sizeof(size), oc->download_bytes);
		printf("would download %zu object%s (%s) from '%s' first\n", oc->download,
		       oc->download == 1 ? "" : "s", size, p4r_escape(oc->download_remote));
	}
	if (oc->hook)
		printf("would run hooks.post-rollback\n");
	if (push && oc->remote[0])
		printf("would push the rollback to '%s'\n", p4r_escape(oc->remote));
}

/* "would refuse to roll back m", then the rules checked. */
static void print_dry_refused(const char *model, const p4r_verdict *v)
{
	printf("would refuse to roll back %s\n", p4r_escape(model));
	cmd_print_rule_checks(v);
}

/* A dry run: the same exit code as the rollback would have (3 when
 * refused; 1 when it would not restore the work tree or not push), the
 * plan printed first. */
static int report_dry(p4r_cli *cli, const p4r_rollback_opts *opts, const p4r_rollback_outcome *oc,
		      int rc)
{
	bool refused = rc == P4R_EREFUSED && oc->registry.verdict.refusal;
	char msg[1024];

	if (!oc->dry_run && !refused)
		return rc;
	snprintf(msg, sizeof(msg), "%s", p4r_error_message());
	if (cli->json) {
		if (cmd_print_json(json_dry(opts, oc->path, oc)) < 0)
			return p4r_error_set(P4R_ERROR, "cannot write to standard output");
		/* a refusal is the document; another failure's line goes to stderr */
		if (rc < 0 && !refused)
			fprintf(stderr, "p4reg: %s\n", p4r_escape(msg));
		cli->reported = rc < 0;
	} else if (!cli->quiet) {
		if (refused)
			print_dry_refused(opts->model, &oc->registry.verdict);
		else
			print_dry(oc, opts->push);
		fflush(stdout);  /* the plan before the reason, also in a pipe */
	}
	return rc < 0 ? p4r_error_set(rc, "%s", msg) : 0;
}

/* The options and the MODEL into OPTS. */
static int parse(p4r_cli *cli, int argc, char **argv, p4r_rollback_opts *opts)
{
	const char *value;
	long long to = 0;
	p4r_opts o;
	int id, rc;

	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_TO)
			rc = p4r_parse_int64(&to, value, 1, P4R_STEP_MAX, "--to");
		else if (id == OPT_FORCE)
			opts->force = true;
		else if (id == OPT_MESSAGE)
			opts->reason = value;
		else if (id == OPT_NO_CHECKOUT)
			opts->no_checkout = true;
		else if (id == OPT_PUSH)
			opts->push = true;
		else if (id == OPT_REMOTE)
			opts->remote = value;
		else if (id == OPT_OFFLINE)
			opts->offline = true;
		else if (id == OPT_DRY_RUN)
			opts->dry_run = true;
		else if (opts->model)
			rc = cmd_usage_error(cli, "rollback takes one MODEL");
		else
			opts->model = value;
		if (rc < 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	if (!opts->model)
		return cmd_usage_error(cli, "rollback needs a MODEL");
	if ((rc = cmd_model_arg("rollback", opts->model)) < 0)
		return rc;
	if (opts->reason && strlen(opts->reason) > REASON_MAX)
		return cmd_usage_error(cli, "the reason is longer than %d bytes", REASON_MAX);
	opts->to = to;
	return 0;
}

int cmd_rollback(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	p4r_rollback_opts opts = { 0 };
	p4r_rollback_outcome oc = { 0 };
	p4r_op_report report;
	cmd_report cr;
	int rc;

	if ((rc = parse(cli, argc, argv, &opts)) < 0)
		return rc;
	report = cmd_report_init(&cr, cli);
	rc = p4r_rollback(repo, &opts, &report, &oc);
	cmd_report_done(&cr);
	if (opts.dry_run)
		rc = report_dry(cli, &opts, &oc, rc);
	else if (oc.recorded)
		rc = print_outcome(cli, &oc, opts.reason, rc);
	else if (rc == P4R_EREFUSED && oc.registry.verdict.refusal && cli->json)
		rc = report_refusal(cli, &oc.registry.verdict, rc);
	p4r_rollback_outcome_free(&oc);
	return rc;
}
