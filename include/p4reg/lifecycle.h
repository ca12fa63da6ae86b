/* The model lifecycle: which stage moves are allowed, the metric gates a
 * promotion must pass, promotion and rollback as one decision each (a
 * verdict: the rules checked, the refusal's kind) applied in a single
 * registry transaction or, dry, only reported, and the post-rollback hook.
 * The SQL these need lives in registry/lifecycle_sql.c (declared at the
 * end of this header). */
#ifndef P4REG_LIFECYCLE_H
#define P4REG_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "p4reg/config.h"
#include "p4reg/metrics.h"
#include "p4reg/registry.h"
#include "p4reg/store.h"

/* ---- decisions ---- */

/* Why a promotion or rollback is refused (docs/json.md, "Refusals"):
 * machine-readable, so CI can tell a failed gate from a retry that found
 * the work done. */
typedef enum p4r_refusal_kind {
	P4R_REFUSAL_NONE = 0,
	P4R_REFUSAL_GATE,          /* a metric gate failed */
	P4R_REFUSAL_STEP_RULE,     /* the lifecycle's order: a skipped step, a move backward,
				    * leaving archived, restoring a version that never held
				    * production (each without --force) */
	P4R_REFUSAL_POLICY,        /* a standing judgement: restoring a version rolled back
				    * before (without --force) */
	P4R_REFUSAL_ALREADY_THERE, /* the end state holds now: promote to the version's own
				    * stage, rollback --to the production version */
	P4R_REFUSAL_NO_TARGET,     /* rollback with nothing to return to: no production
				    * version, or no earlier holder that was not rolled back */
} p4r_refusal_kind;

/* "gate", "step-rule", "policy", "already-there", "no-target"; NULL for
 * NONE or an invalid value. */
const char *p4r_refusal_kind_name(p4r_refusal_kind k);

/* One rule as the decision evaluated it (the gates are the conditions). */
typedef struct p4r_rule_check {
	p4r_refusal_kind kind;  /* the refusal it is when it fails */
	char name[64];          /* "stage", "staging -> production", "production" */
	bool ok;
	char detail[192];       /* "one step forward", "m@2 held production before m@3" */
} p4r_rule_check;

#define P4R_VERDICT_RULES_MAX 4

/* What a promotion or rollback decided: the rules in the order evaluated
 * (evaluation stops at the first that fails, as the refusal does) and the
 * refusal, if any. Plain data: nothing to free. */
typedef struct p4r_verdict {
	p4r_rule_check rules[P4R_VERDICT_RULES_MAX];
	size_t nrules;
	p4r_refusal_kind refusal;  /* NONE: allowed */
	char message[512];         /* the refusal's one line; "" when allowed */
} p4r_verdict;

/* null when V allows, else {"kind","message"}; owned by the caller, NULL
 * when out of memory. */
cJSON *p4r_json_refusal(const p4r_verdict *v);

/* A dry run's checks (docs/json.md, "Dry runs"): each rule of V appended
 * to ARR as {"kind","name","ok","detail"}. */
void p4r_json_add_rule_checks(cJSON *arr, const p4r_verdict *v);

/* ---- rules ---- */

/* Decides whether a version in FROM may move to TO. Forward one step along
 * development -> validation -> staging -> production is allowed; so is
 * archiving from any stage. Skipping a step, going backward or leaving
 * archived needs FORCE, and *FORCED (nullable) is then set. Moving to the
 * stage a version already holds is refused even with FORCE. Returns 0 or
 * P4R_EREFUSED with a message ("cannot skip from development to staging
 * without --force"); an invalid stage is P4R_EUSAGE. */
int p4r_lifecycle_check_move(p4r_stage from, p4r_stage to, bool force, bool *forced);

/* ---- gates ---- */

/* The right side: a number (at most 64 characters) or a stage name. */
#define P4R_GATE_RIGHT_MAX 64
/* experiment (64) + ':' + key (64) + operator (2) + right side (64) */
#define P4R_GATE_TEXT_MAX 200

typedef enum p4r_gate_op {
	P4R_GATE_LT,
	P4R_GATE_LE,
	P4R_GATE_GT,
	P4R_GATE_GE,
	P4R_GATE_EQ,
	P4R_GATE_NE,
} p4r_gate_op;

/* One parsed condition: "[EXPERIMENT:]KEY OP NUMBER" or "[EXPERIMENT:]KEY
 * OP STAGE". */
typedef struct p4r_gate {
	char experiment[P4R_EXPERIMENT_MAX + 1]; /* "": every run (unscoped) */
	char key[P4R_METRIC_KEY_MAX + 1];
	p4r_gate_op op;
	bool vs_stage;                 /* the right side is a stage's holder */
	p4r_stage stage;               /* staging or production, when vs_stage */
	double number;                 /* the right side, when !vs_stage */
	char right[P4R_GATE_RIGHT_MAX + 1]; /* as written: "0.80", "production" */
	char text[P4R_GATE_TEXT_MAX];  /* normalised, no spaces: "eval:f1>=0.8" */
	char origin[64];               /* "--require" or "stage.production.require" */
} p4r_gate;

/* Parses EXPR: an optional experiment name and ':', a metric key, an
 * operator (< <= > >= == !=) and either a finite decimal number or the
 * stage name staging or production, with optional blanks around each token.
 * Experiment and key follow p4r_experiment_valid and p4r_metric_key_valid
 * (neither holds ':'). ORIGIN (nullable) is copied into OUT->origin for
 * messages. Anything else is P4R_EUSAGE naming EXPR. */
int p4r_gate_parse(p4r_gate *out, const char *expr, const char *origin);

/* Gives an unscoped gate G the experiment EXPERIMENT (a valid name) and
 * rewrites its text ("f1>=0.8" -> "eval:f1>=0.8"); a scoped gate keeps its
 * own. */
void p4r_gate_scope(p4r_gate *g, const char *experiment);

/* "<", "<=", ...; NULL for an invalid value. */
const char *p4r_gate_op_name(p4r_gate_op op);

/* LEFT OP RIGHT. */
bool p4r_gate_holds(double left, p4r_gate_op op, double right);

/* The gates of a promotion into TO: REQUIRE[0..NREQUIRE) (from --require),
 * the unscoped ones scoped to EXPERIMENT when it is not NULL (promote
 * --experiment), followed by the config policy stage.<TO>.require of CFG
 * (nullable) as written: a policy is never rescoped by the command line.
 * Each normalised text once. *OUT is malloc'd (free()). A malformed
 * expression is P4R_EUSAGE naming where it came from; an invalid
 * EXPERIMENT is P4R_EUSAGE naming it. */
int p4r_lifecycle_gates(p4r_gate **out, size_t *n, p4r_config *cfg, p4r_stage to,
			const char *const *require, size_t nrequire, const char *experiment);

/* Checks VALUE before it is written to config KEY, so that a typo in a
 * gate policy does not first show when it stops every promotion into its
 * stage: a stage.<STAGE>.require whose STAGE is none of the five
 * lowercase stage names is P4R_EUSAGE (a policy no promotion would read),
 * and a policy's VALUE must parse (p4r_gate_parse, P4R_EUSAGE naming KEY).
 * Any other key is 0. */
int p4r_lifecycle_check_config(const char *key, const char *value);

/* A gate evaluated against one version. */
typedef struct p4r_condition {
	p4r_gate gate;
	bool has_left;           /* the promoted version has the metric in scope */
	double left;
	p4r_metric_value left_from;  /* where LEFT came from (p4r_metrics_value) */
	bool has_right;          /* a number, or the stage holder has the metric */
	double right;
	p4r_metric_value right_from; /* for a stage gate, where RIGHT came from */
	int64_t right_version;   /* for a stage gate, the holder's number; 0: none */
	char right_source[80];   /* "0.8", "production v3" or "production (none)" */
	bool pass;
} p4r_condition;

/* {"expr","key","experiment","op","left","left_run","right","right_run",
 * "right_source","pass","origin"}: null for a missing value, a run object
 * {"name","experiment","step","time"} (name and experiment null for
 * points logged outside any run) or null when there is no value; owned by
 * the caller; NULL when out of memory. */
cJSON *p4r_json_condition(const p4r_condition *c);

/* "0.75 >= 0.82 (production v2)", "missing > 0.5", "0.75 >= - (no version
 * in staging)": C's two values and where the right one came from, into BUF
 * (unescaped: the where part may hold a model name). */
void p4r_condition_describe(char *buf, size_t size, const p4r_condition *c);

/* C as a dry run's check: {"kind":"gate","name":expr,"ok","detail"
 * (p4r_condition_describe),"condition"}; NULL when out of memory. */
cJSON *p4r_json_gate_check(const p4r_condition *c);

/* Evaluates GATES[0..N) on version VERSION_ID of MODEL into OUT (N
 * entries, caller-allocated); *ALL_PASS tells whether every one passed.
 * Both sides read p4r_metrics_value in the gate's experiment (every run
 * when unscoped): for a stage gate, on the stage's holder. */
int p4r_lifecycle_evaluate(p4r_registry *reg, const char *model, int64_t version_id,
			   const p4r_gate *gates, size_t n, p4r_condition *out, bool *all_pass);

/* ---- promotion ---- */

typedef struct p4r_promote_req {
	const char *model;
	int64_t number;           /* the version to move */
	p4r_stage to;
	bool force;               /* allow skips, backward moves, leaving archived */
	const p4r_gate *gates;    /* checked even with FORCE */
	size_t ngates;
	const char *actor;
	const char *reason;       /* -m; NULL or "" for none */
	int64_t now_ms;           /* 0: now */
	bool dry_run;             /* decide in a read snapshot, change nothing */
} p4r_promote_req;

typedef struct p4r_promotion {
	p4r_version version;      /* as it is afterwards (before, when refused) */
	p4r_stage from;
	p4r_stage to;
	bool forced;              /* the move needed --force */
	bool promoted;            /* false when refused, and in a dry run */
	int64_t replaced;         /* the previous holder of TO now archived (in a dry
				   * run: that would be), 0: none */
	int64_t replaced_id;      /* its registry id */
	p4r_condition *conds;     /* one per gate evaluated, in order; owned */
	size_t nconds;
	p4r_verdict verdict;      /* the rules checked; the refusal and its message */
} p4r_promotion;

void p4r_promotion_clear(p4r_promotion *p);

/* Moves a version in one BEGIN IMMEDIATE transaction: the rules and gates
 * are checked against the registry as it is under the write lock; the
 * previous staging/production holder is archived (its own "promote" event,
 * reason "replaced by vN"); the version's "promote" event records whether
 * it was forced and the evaluated conditions in its detail. A rule or gate
 * saying no is P4R_EREFUSED with OUT filled (OUT->verdict: the kind and
 * the message) and nothing written. REQ->dry_run makes the same decision
 * in a read snapshot (no write lock) and writes nothing: 0 with OUT
 * saying what would happen (REPLACED), or the same refusal. OUT must be
 * cleared with p4r_promotion_clear whatever the result. */
int p4r_lifecycle_promote(p4r_registry *reg, const p4r_promote_req *req, p4r_promotion *out);

/* ---- rollback ---- */

/* A version that entered production, newest entry first (log order). */
typedef struct p4r_prod_entry {
	int64_t number;
	bool rolled_back;
} p4r_prod_entry;

/* Chooses the rollback target of a model whose production version is
 * CURRENT, from its production history HIST (newest entry first). WANT 0:
 * the newest earlier holder that is neither CURRENT nor rolled back. WANT
 * N: N itself, which must be in HIST and not rolled back unless FORCE
 * (then *FORCED is set when that mattered). P4R_EREFUSED when there is no
 * target or WANT is CURRENT. VERDICT (nullable) gets the rules checked and
 * the refusal's kind and message. */
int p4r_rollback_plan(int64_t *target, bool *forced, const char *model, int64_t current,
		      const p4r_prod_entry *hist, size_t n, int64_t want, bool force,
		      p4r_verdict *verdict);

typedef struct p4r_rollback_req {
	const char *model;
	int64_t to;               /* 0: the version production replaced */
	bool force;               /* --to may name any version that is not current */
	const char *actor;
	const char *reason;       /* -m; NULL or "" for none */
	const p4r_store *store;   /* nullable: when set, the target's object must be in it */
	int64_t now_ms;           /* 0: now */
	bool dry_run;             /* decide in a read snapshot, change nothing */
} p4r_rollback_req;

typedef struct p4r_rollback_result {
	p4r_version restored;     /* now in production (a dry run: as it is now) */
	p4r_version rolled_back;  /* now archived and marked rolled back (a dry run:
				   * the production version) */
	bool forced;
	p4r_verdict verdict;      /* the rules checked; the refusal and its message */
} p4r_rollback_result;

void p4r_rollback_result_clear(p4r_rollback_result *r);

/* In one transaction: the production version of REQ->model is archived and
 * marked rolled back, the target becomes production again (and loses any
 * rolled-back mark), and both get a "rollback" event with the reason. No
 * production version, no target, or a target whose object is missing from
 * REQ->store: P4R_EREFUSED / P4R_ENOTFOUND and nothing written; a refusal
 * leaves OUT->verdict set (the rest cleared). An unknown model is
 * P4R_ENOTFOUND. REQ->dry_run makes the same decision in a read snapshot
 * and writes nothing: OUT then holds the two versions as they are now. A
 * command fetches the target's bytes after a dry decision, before the
 * real one. OUT is overwritten (need not be initialised); clear it with
 * p4r_rollback_result_clear. */
int p4r_lifecycle_rollback(p4r_registry *reg, const p4r_rollback_req *req, p4r_rollback_result *out);

/* *NUMBER: the version a plain rollback of MODEL would restore now, 0
 * when it would be refused (no production version, nothing to return to).
 * Changes nothing and joins the caller's transaction (rm asks it inside
 * its own). An unknown model is P4R_ENOTFOUND. */
int p4r_lifecycle_rollback_target(p4r_registry *reg, const char *model, int64_t *number);

/* Runs HOOK with /bin/sh -c in folder CWD, its stdout sent to stderr (so a
 * command's stdout stays one document), with the NULL-terminated "NAME"
 * "VALUE" pairs of ENV added to the environment. *STATUS gets the exit
 * status (128 + N for a signal). Returns P4R_ERROR only when it could not
 * be started. */
int p4r_lifecycle_run_hook(const char *hook, const char *cwd, const char *const *env, int *status);

/* ---- registry/lifecycle_sql.c: the SQL of stage changes ---- */

/* Sets the stage of the version with registry id VERSION_ID (and its
 * rolled-back mark: 1, 0, or -1 to keep it). Joins the caller's
 * transaction; the one_staging/one_production indexes refuse a second
 * holder (P4R_ERROR). */
int p4r_registry_stage_set(p4r_registry *reg, int64_t version_id, p4r_stage stage, int rolled_back);

/* The versions of MODEL that ever entered production (a promote or
 * rollback event with to_stage production) and are not deleted, each once, the most recent
 * entry first in the shared log's order: published events by their remote
 * position (batch seq, index), then unpublished ones by local id; so every
 * clone with the same log, before or after pushing its own events, gets
 * the same list (docs/lifecycle.md, "Rollback"). *OUT is malloc'd
 * (free()). */
int p4r_registry_production_history(p4r_registry *reg, const char *model,
				    p4r_prod_entry **out, size_t *n);

#endif
