/* The model lifecycle: which stage moves are allowed, the metric gates a
 * promotion must pass, promotion and rollback as single registry
 * transactions, and the post-rollback hook. The SQL these need lives in
 * registry/lifecycle_sql.c (declared at the end of this header). */
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
} p4r_promote_req;

typedef struct p4r_promotion {
	p4r_version version;      /* as it is afterwards (before, when refused) */
	p4r_stage from;
	p4r_stage to;
	bool forced;              /* the move needed --force */
	bool promoted;
	int64_t replaced;         /* the previous holder of TO now archived, 0: none */
	p4r_condition *conds;     /* one per gate, in order; owned */
	size_t nconds;
	char refusal[512];        /* why it was refused, "" otherwise */
} p4r_promotion;

void p4r_promotion_clear(p4r_promotion *p);

/* Moves a version in one BEGIN IMMEDIATE transaction: the rules and gates
 * are checked against the registry as it is under the write lock; the
 * previous staging/production holder is archived (its own "promote" event,
 * reason "replaced by vN"); the version's "promote" event records whether
 * it was forced and the evaluated conditions in its detail. A rule or gate
 * saying no is P4R_EREFUSED with OUT filled and nothing written. OUT must
 * be cleared with p4r_promotion_clear whatever the result. */
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
 * target or WANT is CURRENT. */
int p4r_rollback_plan(int64_t *target, bool *forced, const char *model, int64_t current,
		      const p4r_prod_entry *hist, size_t n, int64_t want, bool force);

typedef struct p4r_rollback_req {
	const char *model;
	int64_t to;               /* 0: the version production replaced */
	bool force;               /* --to may name any version that is not current */
	const char *actor;
	const char *reason;       /* -m; NULL or "" for none */
	const p4r_store *store;   /* nullable: when set, the target's object must be in it */
	int64_t now_ms;           /* 0: now */
} p4r_rollback_req;

typedef struct p4r_rollback_result {
	p4r_version restored;     /* now in production */
	p4r_version rolled_back;  /* now archived and marked rolled back */
	bool forced;
} p4r_rollback_result;

void p4r_rollback_result_clear(p4r_rollback_result *r);

/* In one transaction: the production version of REQ->model is archived and
 * marked rolled back, the target becomes production again (and loses any
 * rolled-back mark), and both get a "rollback" event with the reason. No
 * production version, no target, or a target whose object is missing from
 * REQ->store: P4R_EREFUSED / P4R_ENOTFOUND and nothing written. An unknown
 * model is P4R_ENOTFOUND. */
int p4r_lifecycle_rollback(p4r_registry *reg, const p4r_rollback_req *req, p4r_rollback_result *out);

/* The version a rollback of REQ would restore, into *OUT (overwritten,
 * need not be initialised; the caller clears it), changing nothing: a
 * command fetches its bytes before the transaction. The same walk as
 * p4r_lifecycle_rollback, in the shared log's order. */
int p4r_lifecycle_rollback_target(p4r_registry *reg, const p4r_rollback_req *req, p4r_version *out);

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
