/* p4reg promote REF --to STAGE: move a version along the lifecycle,
 * enforcing the step rules and the metric gates. */
#include "cmd.h"
#include "p4reg/lifecycle.h"
#include "p4reg/metrics.h"
#include "p4reg/ops/promote.h"

#include <stdlib.h>
#include <string.h>

const char cmd_promote_usage[] =
	"usage: p4reg promote REF --to STAGE [--require EXPR]... [--experiment NAME]\n"
	"                     [--force] [-m REASON] [--dry-run]\n"
	"\n"
	"Moves a version to STAGE: development -> validation -> staging ->\n"
	"production, one step at a time; archived from anywhere. Promoting into\n"
	"staging or production archives the version that held it. Skipping a step,\n"
	"moving backward or leaving archived needs --force (recorded as forced).\n"
	"\n"
	"Each --require is a gate on a metric of the version:\n"
	"  'f1>=0.80'            compare with a number\n"
	"  'f1>=production'      compare with the version in production (or staging)\n"
	"  'eval:f1>=0.80'       read f1 only from runs of experiment eval\n"
	"with one of < <= > >= == !=. A gate reads the value from the run that\n"
	"logged KEY most recently (by time), at that run's highest step; a value\n"
	"nothing logged fails its gate. Config stage.<STAGE>.require (multi-valued:\n"
	"p4reg config --add) adds gates, in the same syntax, to every promotion\n"
	"into STAGE. --force never skips gates. A refusal exits 3, changes nothing\n"
	"and shows each value with the run and step it came from.\n"
	"\n"
	"--dry-run checks every rule and gate as the promotion would and prints what\n"
	"it would do, changing nothing: exit 0 when it would succeed, 3 when it\n"
	"would be refused (with --json, the refusal's kind: gate, step-rule,\n"
	"already-there).\n"
	"\n"
	"      --to STAGE         development, validation, staging, production, archived\n"
	"      --require EXPR     a gate; may be given several times\n"
	"      --experiment NAME  read unscoped --require gates from runs of NAME only\n"
	"                         (config policies keep the scope they were written with)\n"
	"  -f, --force            allow skipping a step, moving backward, leaving archived\n"
	"  -m, --message TEXT     the reason, recorded in the history\n"
	"  -n, --dry-run          say what would happen; change nothing\n";

enum { OPT_TO = 1, OPT_REQUIRE, OPT_EXPERIMENT, OPT_FORCE, OPT_MESSAGE, OPT_DRY_RUN };

static const p4r_option options[] = {
	{ "to", 0, true, OPT_TO },
	{ "require", 0, true, OPT_REQUIRE },
	{ "experiment", 0, true, OPT_EXPERIMENT },
	{ "force", 'f', false, OPT_FORCE },
	{ "message", 'm', true, OPT_MESSAGE },
	{ "dry-run", 'n', false, OPT_DRY_RUN },
	{ NULL, 0, false, 0 },
};

#define REASON_MAX 4096

/* "        m@3 f1=0.75: run r3 (experiment default), step 0": where one side's
 * value came from, or that nothing in scope logged it. */
static void print_source(const char *model, int64_t number, const p4r_condition *c,
			 const p4r_metric_value *v)
{
	char num[32];

	printf("        %s@%lld %s", p4r_escape(model), (long long)number, p4r_escape(c->gate.key));
	if (!v->found) {
		if (c->gate.experiment[0])
			printf(": no run of experiment %s logged it\n", p4r_escape(c->gate.experiment));
		else
			printf(": no run logged it\n");
		return;
	}
	p4r_metric_format(num, sizeof(num), v->value);
	if (v->in_run)
		printf("=%s: run %s (experiment %s), step %lld\n", num, p4r_escape(v->run),
		       p4r_escape(v->experiment), (long long)v->step);
	else
		printf("=%s: logged outside any run, step %lld\n", num, (long long)v->step);
}

/* One condition: "  FAIL  f1>=0.8: 0.7 >= 0.8", then where each value
 * came from (the promoted version, and a stage gate's holder). */
static void print_condition(const p4r_promotion *p, const p4r_condition *c)
{
	char detail[256];

	p4r_condition_describe(detail, sizeof(detail), c);
	printf("  %s  %s: %s\n", c->pass ? "pass" : "FAIL", p4r_escape(c->gate.text), p4r_escape(detail));
	print_source(p->version.model, p->version.number, c, &c->left_from);
	if (c->right_version)
		print_source(p->version.model, c->right_version, c, &c->right_from);
}

static cJSON *json_result(const p4r_promotion *p, const char *reason)
{
	cJSON *doc = cJSON_CreateObject(), *arr;
	size_t i;

	if (!doc)
		return NULL;
	cJSON_AddBoolToObject(doc, "promoted", p->promoted);
	cJSON_AddStringToObject(doc, "model", p->version.model);
	cJSON_AddNumberToObject(doc, "version", (double)p->version.number);
	cJSON_AddStringToObject(doc, "from", p4r_stage_name(p->from));
	cJSON_AddStringToObject(doc, "to", p4r_stage_name(p->to));
	cJSON_AddBoolToObject(doc, "forced", p->forced);
	if (p->replaced)
		cJSON_AddNumberToObject(doc, "replaced", (double)p->replaced);
	else
		cJSON_AddNullToObject(doc, "replaced");
	arr = cJSON_AddArrayToObject(doc, "conditions");
	for (i = 0; i < p->nconds; i++)
		cJSON_AddItemToArray(arr, p4r_json_condition(&p->conds[i]));
	p4r_json_add_text(doc, "reason", reason);
	cJSON_AddItemToObject(doc, "refusal", p4r_json_refusal(&p->verdict));
	return doc;
}

static int report(p4r_cli *cli, const p4r_promotion *p, const char *message)
{
	size_t i;

	if (cli->json)
		return cmd_print_json(json_result(p, message));
	if (cli->quiet)
		return 0;
	printf("promoted %s@%lld from %s to %s%s\n", p4r_escape(p->version.model), (long long)p->version.number,
	       p4r_stage_name(p->from), p4r_stage_name(p->to), p->forced ? " (forced)" : "");
	if (p->replaced)
		printf("archived %s@%lld (replaced by v%lld)\n", p4r_escape(p->version.model),
		       (long long)p->replaced, (long long)p->version.number);
	for (i = 0; i < p->nconds; i++)
		print_condition(p, &p->conds[i]);
	return 0;
}

/* A refusal: the conditions on stdout (or the JSON document), the reason
 * as the error; the exit code stays 3. */
static int report_refusal(p4r_cli *cli, const p4r_promotion *p)
{
	int rc;
	size_t i;

	if (cli->json) {
		if ((rc = cmd_print_json(json_result(p, p->verdict.message))) < 0)
			return rc;
		cli->reported = true;
		return p4r_error_set(P4R_EREFUSED, "%s", p->verdict.message);
	}
	if (!cli->quiet && p->nconds) {
		printf("refused: %s@%lld %s -> %s\n", p4r_escape(p->version.model), (long long)p->version.number,
		       p4r_stage_name(p->from), p4r_stage_name(p->to));
		for (i = 0; i < p->nconds; i++)
			print_condition(p, &p->conds[i]);
		fflush(stdout);  /* the conditions before the reason, also in a pipe */
	}
	return p4r_error_set(P4R_EREFUSED, "%s", p->verdict.message);
}

/* ---- --dry-run ---- */

/* The dry run as JSON (docs/json.md, "Dry runs"): every rule and gate
 * checked, as {"kind","name","ok","detail"} (a gate adds "condition"). */
static cJSON *json_dry(const p4r_promotion *p)
{
	cJSON *doc = cJSON_CreateObject(), *arr;
	size_t i;

	if (!doc)
		return NULL;
	cJSON_AddBoolToObject(doc, "dry_run", true);
	cJSON_AddStringToObject(doc, "action", "promote");
	cJSON_AddStringToObject(doc, "model", p->version.model);
	cJSON_AddNumberToObject(doc, "version", (double)p->version.number);
	cJSON_AddStringToObject(doc, "from", p4r_stage_name(p->from));
	cJSON_AddStringToObject(doc, "to", p4r_stage_name(p->to));
	cJSON_AddBoolToObject(doc, "forced", p->forced);
	if (p->replaced)
		cJSON_AddNumberToObject(doc, "replaces", (double)p->replaced);
	else
		cJSON_AddNullToObject(doc, "replaces");
	arr = cJSON_AddArrayToObject(doc, "checks");
	p4r_json_add_rule_checks(arr, &p->verdict);
	for (i = 0; i < p->nconds; i++)
		cJSON_AddItemToArray(arr, p4r_json_gate_check(&p->conds[i]));
	cJSON_AddItemToObject(doc, "refusal", p4r_json_refusal(&p->verdict));
	return doc;
}

/* "would promote m v3: staging -> production (demotes v2 to archived)",
 * or "would refuse to promote ...", then every rule and gate checked. */
static void print_dry(const p4r_promotion *p)
{
	char extra[96] = "", demotes[48] = "";
	size_t i;

	if (p->replaced)
		snprintf(demotes, sizeof(demotes), "demotes v%lld to archived", (long long)p->replaced);
	if (p->forced || p->replaced)
		snprintf(extra, sizeof(extra), " (%s%s%s)", p->forced ? "forced" : "",
			 p->forced && p->replaced ? ", " : "", demotes);
	printf("would %s %s v%lld: %s -> %s%s\n", p->verdict.refusal ? "refuse to promote" : "promote",
	       p4r_escape(p->version.model), (long long)p->version.number, p4r_stage_name(p->from),
	       p4r_stage_name(p->to), p->verdict.refusal ? "" : extra);
	cmd_print_rule_checks(&p->verdict);
	for (i = 0; i < p->nconds; i++)
		print_condition(p, &p->conds[i]);
}

/* A dry run: the same exit code as the real promotion would have (3 when
 * refused, the reason on stderr, or in the document with --json). */
static int report_dry(p4r_cli *cli, const p4r_promotion *p, int rc)
{
	if (cli->json) {
		if (cmd_print_json(json_dry(p)) < 0)
			return p4r_error_set(P4R_ERROR, "cannot write to standard output");
		cli->reported = rc < 0;
	} else if (!cli->quiet) {
		print_dry(p);
		fflush(stdout);  /* the checks before the reason, also in a pipe */
	}
	return rc < 0 ? p4r_error_set(P4R_EREFUSED, "%s", p->verdict.message) : 0;
}

/* The options and arguments into OPTS (OPTS->require has room for ARGC). */
static int parse(p4r_cli *cli, int argc, char **argv, p4r_promote_opts *opts, const char **require)
{
	const char *value;
	p4r_opts o;
	int id, rc;

	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_TO)
			opts->to = value;
		else if (id == OPT_REQUIRE)
			require[opts->nrequire++] = value;
		else if (id == OPT_EXPERIMENT && opts->experiment)
			rc = cmd_usage_error(cli, "--experiment given twice");
		else if (id == OPT_EXPERIMENT)
			opts->experiment = value;
		else if (id == OPT_FORCE)
			opts->force = true;
		else if (id == OPT_MESSAGE)
			opts->reason = value;
		else if (id == OPT_DRY_RUN)
			opts->dry_run = true;
		else if (opts->ref)
			rc = cmd_usage_error(cli, "promote takes one REF");
		else
			opts->ref = value;
		if (rc < 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	if (!opts->ref)
		return cmd_usage_error(cli, "promote needs a REF");
	if (!opts->to)
		return cmd_usage_error(cli, "promote needs --to STAGE");
	if (opts->reason && strlen(opts->reason) > REASON_MAX)
		return cmd_usage_error(cli, "the reason is longer than %d bytes", REASON_MAX);
	return 0;
}

int cmd_promote(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	const char **require = calloc((size_t)argc, sizeof(*require));
	p4r_promote_opts opts = { .require = require };
	p4r_promotion result = { 0 };
	bool refused;
	int rc;

	if (!require)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if ((rc = parse(cli, argc, argv, &opts, require)) < 0)
		goto done;
	rc = p4r_promote(repo, &opts, NULL, &result);
	refused = rc == P4R_EREFUSED && result.verdict.refusal;
	if (opts.dry_run && (rc == 0 || refused))
		rc = report_dry(cli, &result, rc);
	else if (refused)
		rc = report_refusal(cli, &result);
	else if (rc == 0)
		rc = report(cli, &result, opts.reason);
done:
	p4r_promotion_clear(&result);
	free(require);
	return rc;
}
