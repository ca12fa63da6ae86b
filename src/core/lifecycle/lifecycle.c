/* The lifecycle without SQL: the stage-move rules, the gate expression
 * parser and evaluator, promotion and rollback as one decision each, then
 * applied in one registry transaction or (a dry run) only reported (the
 * statements are in registry/lifecycle_sql.c), and the post-rollback hook
 * runner (see lifecycle.h). */
#include "p4reg/lifecycle.h"
#include "p4reg/error.h"
#include "p4reg/output.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define GATE_EXPR_MAX 256

/* ---- decisions ---- */

static const char *const refusal_names[] = {
	[P4R_REFUSAL_GATE] = "gate", [P4R_REFUSAL_STEP_RULE] = "step-rule",
	[P4R_REFUSAL_POLICY] = "policy", [P4R_REFUSAL_ALREADY_THERE] = "already-there",
	[P4R_REFUSAL_NO_TARGET] = "no-target",
};

const char *p4r_refusal_kind_name(p4r_refusal_kind k)
{
	if ((int)k <= 0 || (size_t)k >= sizeof(refusal_names) / sizeof(refusal_names[0]))
		return NULL;
	return refusal_names[k];
}

cJSON *p4r_json_refusal(const p4r_verdict *v)
{
	cJSON *o;

	if (!p4r_refusal_kind_name(v->refusal))
		return cJSON_CreateNull();
	if (!(o = cJSON_CreateObject()))
		return NULL;
	cJSON_AddStringToObject(o, "kind", p4r_refusal_kind_name(v->refusal));
	cJSON_AddStringToObject(o, "message", v->message);
	return o;
}

/* {"kind","name","ok","detail"}, NULL when out of memory. */
static cJSON *json_check(p4r_refusal_kind kind, const char *name, bool ok, const char *detail)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "kind", p4r_refusal_kind_name(kind));
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddBoolToObject(o, "ok", ok);
	cJSON_AddStringToObject(o, "detail", detail);
	return o;
}

void p4r_json_add_rule_checks(cJSON *arr, const p4r_verdict *v)
{
	const p4r_rule_check *r;
	size_t i;

	for (i = 0; i < v->nrules; i++) {
		r = &v->rules[i];
		cJSON_AddItemToArray(arr, json_check(r->kind, r->name, r->ok, r->detail));
	}
}

/* Appends to V (nullable) the rule NAME of KIND, whether it held, and why. */
static void verdict_rule(p4r_verdict *v, p4r_refusal_kind kind, bool ok, const char *name,
			 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void verdict_rule(p4r_verdict *v, p4r_refusal_kind kind, bool ok, const char *name,
			 const char *fmt, ...)
{
	p4r_rule_check *r;
	va_list ap;

	if (!v || v->nrules == P4R_VERDICT_RULES_MAX)
		return;
	r = &v->rules[v->nrules++];
	r->kind = kind;
	r->ok = ok;
	snprintf(r->name, sizeof(r->name), "%s", name);
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
}

/* The refusal of KIND: into V (nullable) and the error (P4R_EREFUSED). */
static int verdict_refuse(p4r_verdict *v, p4r_refusal_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int verdict_refuse(p4r_verdict *v, p4r_refusal_kind kind, const char *fmt, ...)
{
	char msg[sizeof(v->message)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (v) {
		v->refusal = kind;
		snprintf(v->message, sizeof(v->message), "%s", msg);
	}
	return p4r_error_set(P4R_EREFUSED, "%s", msg);
}

/* Ends the transaction without writing; RC's message (when RC < 0)
 * survives the rollback. */
static int txn_abort(p4r_registry *reg, int rc)
{
	char msg[512] = "";

	if (rc < 0)
		snprintf(msg, sizeof(msg), "%s", p4r_error_message());
	p4r_registry_abort(reg);
	return rc < 0 ? p4r_error_set(rc, "%s", msg) : 0;
}

/* ---- rules ---- */

/* Why the move FROM -> TO (two different stages) needs --force; NULL when
 * it does not: archiving always, one step forward. */
static const char *move_why(p4r_stage from, p4r_stage to)
{
	if (to == P4R_STAGE_ARCHIVED)
		return NULL;  /* it takes a version out of service */
	if (from != P4R_STAGE_ARCHIVED && to == from + 1)
		return NULL;
	if (from == P4R_STAGE_ARCHIVED)
		return "leaving archived";
	return to > from ? "skipping a stage" : "moving backward";
}

int p4r_lifecycle_check_move(p4r_stage from, p4r_stage to, bool force, bool *forced)
{
	const char *f = p4r_stage_name(from), *t = p4r_stage_name(to);
	const char *why;

	if (forced)
		*forced = false;
	if (!f || !t)
		return p4r_error_set(P4R_EUSAGE, "unknown stage");
	if (from == to)
		return p4r_error_set(P4R_EREFUSED, "already in %s", t);
	if (!(why = move_why(from, to)))
		return 0;
	if (!force)
		return p4r_error_set(P4R_EREFUSED, "%s (%s to %s) needs --force", why, f, t);
	if (forced)
		*forced = true;
	return 0;
}

/* ---- gates ---- */

static const char *const op_names[] = {
	[P4R_GATE_LT] = "<", [P4R_GATE_LE] = "<=", [P4R_GATE_GT] = ">",
	[P4R_GATE_GE] = ">=", [P4R_GATE_EQ] = "==", [P4R_GATE_NE] = "!=",
};

const char *p4r_gate_op_name(p4r_gate_op op)
{
	if ((int)op < 0 || (size_t)op >= sizeof(op_names) / sizeof(op_names[0]))
		return NULL;
	return op_names[op];
}

bool p4r_gate_holds(double left, p4r_gate_op op, double right)
{
	switch (op) {
	case P4R_GATE_LT: return left < right;
	case P4R_GATE_LE: return left <= right;
	case P4R_GATE_GT: return left > right;
	case P4R_GATE_GE: return left >= right;
	case P4R_GATE_EQ: return left == right;
	case P4R_GATE_NE: return left != right;
	}
	return false;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool op_char(char c)
{
	return c == '<' || c == '>' || c == '=' || c == '!';
}

/* The operator at *P, advancing past it; false when there is none. */
static bool parse_op(const char **p, p4r_gate_op *op)
{
	static const struct { const char *text; p4r_gate_op op; } ops[] = {
		{ "<=", P4R_GATE_LE }, { ">=", P4R_GATE_GE }, { "==", P4R_GATE_EQ },
		{ "!=", P4R_GATE_NE }, { "<", P4R_GATE_LT }, { ">", P4R_GATE_GT },
	};
	size_t i, len;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		len = strlen(ops[i].text);
		if (!strncmp(*p, ops[i].text, len)) {
			*op = ops[i].op;
			*p += len;
			/* "f1>>0.8", "f1<=>0.8", "f1===1": one operator only. */
			return !op_char(**p);
		}
	}
	return false;
}

/* The end of a name token at P: a key or an experiment stops at a blank,
 * an operator character or the ':' between them. */
static const char *token_end(const char *p)
{
	while (*p && !blank(*p) && !op_char(*p) && *p != ':')
		p++;
	return p;
}

/* Rebuilds G's normalised text from its parts. */
static void gate_text(p4r_gate *g)
{
	snprintf(g->text, sizeof(g->text), "%s%s%s%s%s", g->experiment, g->experiment[0] ? ":" : "",
		 g->key, op_names[g->op], g->right);
}

/* Skips the blanks at *P, marks the name token there as [*START, *END) and
 * leaves *P past the blanks after it. */
static void next_token(const char **p, const char **start, const char **end)
{
	while (blank(**p))
		(*p)++;
	*start = *p;
	*p = token_end(*p);
	*end = *p;
	while (blank(**p))
		(*p)++;
}

static int bad_experiment(const char *expr, const char *where)
{
	return p4r_error_set(P4R_EUSAGE, "invalid gate '%s'%s: expected an experiment name (1..%d "
			     "letters, digits and '_ . - / @') before ':'", expr, where, P4R_EXPERIMENT_MAX);
}

static int bad_key(const char *expr, const char *where)
{
	return p4r_error_set(P4R_EUSAGE, "invalid gate '%s'%s: expected a metric key (1..%d letters, "
			     "digits and '_ . - / @') before the operator", expr ? expr : "", where,
			     P4R_METRIC_KEY_MAX);
}

/* The left side "[EXPERIMENT:]KEY" of EXPR into OUT; leaves *P at the
 * operator. */
static int parse_gate_left(p4r_gate *out, const char **pp, const char *expr, const char *where)
{
	const char *p = *pp, *start, *end;
	size_t len;

	next_token(&p, &start, &end);
	if (*p == ':') {
		/* "eval:f1>=0.8": the token before ':' is the experiment. */
		len = (size_t)(end - start);
		if (len == 0 || len > P4R_EXPERIMENT_MAX)
			return bad_experiment(expr, where);
		memcpy(out->experiment, start, len);
		out->experiment[len] = '\0';
		if (!p4r_experiment_valid(out->experiment))
			return bad_experiment(expr, where);
		p++;
		next_token(&p, &start, &end);
	}
	len = (size_t)(end - start);
	if (len == 0 || len > P4R_METRIC_KEY_MAX)
		return bad_key(expr, where);
	memcpy(out->key, start, len);
	out->key[len] = '\0';
	if (!p4r_metric_key_valid(out->key))
		return bad_key(expr, where);
	*pp = p;
	return 0;
}

/* The right side at P (after the operator), trimmed, into OUT->right. */
static int copy_gate_right(p4r_gate *out, const char *p, const char *expr, const char *where)
{
	const char *end;
	size_t len;

	while (blank(*p))
		p++;
	end = p + strlen(p);
	while (end > p && blank(end[-1]))
		end--;
	len = (size_t)(end - p);
	if (len == 0)
		return p4r_error_set(P4R_EUSAGE, "invalid gate '%s'%s: expected a number or a stage "
				     "after '%s'", expr, where, op_names[out->op]);
	if (len > P4R_GATE_RIGHT_MAX)  /* no number is that long (p4r_metric_parse_value) */
		return p4r_error_set(P4R_EUSAGE, "invalid gate '%s'%s: '%.*s' is neither a number nor "
				     "staging or production", expr, where, (int)len, p);
	memcpy(out->right, p, len);
	out->right[len] = '\0';
	return 0;
}

/* What OUT->right names: staging or production (compare with that stage's
 * version) or a number. */
static int classify_gate_right(p4r_gate *out, const char *expr, const char *where)
{
	if (!strcmp(out->right, "staging") || !strcmp(out->right, "production")) {
		out->vs_stage = true;
		out->stage = out->right[0] == 's' ? P4R_STAGE_STAGING : P4R_STAGE_PRODUCTION;
	} else if (p4r_stage_parse(&out->stage, out->right) == 0) {
		/* Other stages have many holders: "the version in validation" is
		 * not one version, so there is nothing to compare with. */
		return p4r_error_set(P4R_EUSAGE, "invalid gate '%s'%s: only staging and production "
				     "have one version to compare with", expr, where);
	} else if (p4r_metric_parse_value(&out->number, out->right) < 0) {
		if (strchr("+-.0123456789", out->right[0]))  /* a number, but a bad one: say why */
			return p4r_error_set(P4R_EUSAGE, "invalid gate '%s'%s: %s", expr, where, p4r_error_message());
		return p4r_error_set(P4R_EUSAGE, "invalid gate '%s'%s: '%s' is neither a number nor "
				     "staging or production", expr, where, out->right);
	}
	return 0;
}

int p4r_gate_parse(p4r_gate *out, const char *expr, const char *origin)
{
	char where[96] = "";
	const char *p = expr;
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(out->origin, sizeof(out->origin), "%s", origin ? origin : "--require");
	if (origin)
		snprintf(where, sizeof(where), " in %s", origin);
	if (!expr || strlen(expr) > GATE_EXPR_MAX)
		return p4r_error_set(P4R_EUSAGE, "invalid gate%s: expected [EXPERIMENT:]KEY OP NUMBER or "
				     "[EXPERIMENT:]KEY OP STAGE in at most %d characters", where, GATE_EXPR_MAX);
	if ((rc = parse_gate_left(out, &p, expr, where)) < 0)
		return rc;
	if (!parse_op(&p, &out->op))
		return p4r_error_set(P4R_EUSAGE, "invalid gate '%s'%s: expected an operator "
				     "< <= > >= == != after '%s'", expr, where, out->key);
	if ((rc = copy_gate_right(out, p, expr, where)) < 0 ||
	    (rc = classify_gate_right(out, expr, where)) < 0)
		return rc;
	gate_text(out);
	p4r_error_clear();
	return 0;
}

void p4r_gate_scope(p4r_gate *g, const char *experiment)
{
	if (g->experiment[0] || !experiment || !*experiment)
		return;
	snprintf(g->experiment, sizeof(g->experiment), "%s", experiment);
	gate_text(g);
}

/* Collects gates into a growing array, each normalised text once. */
struct gate_list {
	p4r_gate *arr;
	size_t n, cap;
	const char *origin;
};

/* Adds EXPR; an unscoped gate gets EXPERIMENT (nullable) first. */
static int gate_list_add(struct gate_list *l, const char *expr, const char *origin,
			 const char *experiment)
{
	p4r_gate g;
	size_t i;
	int rc;

	if ((rc = p4r_gate_parse(&g, expr, origin)) < 0)
		return rc;
	p4r_gate_scope(&g, experiment);
	for (i = 0; i < l->n; i++)
		if (!strcmp(l->arr[i].text, g.text))
			return 0;
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 8;
		void *p = realloc(l->arr, ncap * sizeof(*l->arr));

		if (!p)
			return p4r_error_set(P4R_ERROR, "out of memory");
		l->arr = p;
		l->cap = ncap;
	}
	l->arr[l->n++] = g;
	return 0;
}

/* A committed policy means what it says whoever promotes: --experiment
 * does not narrow it (that would let a promoter pick the run a policy
 * reads), so policies are added as written. */
static int policy_value(const char *value, void *payload)
{
	struct gate_list *l = payload;

	return gate_list_add(l, value, l->origin, NULL);
}

int p4r_lifecycle_gates(p4r_gate **out, size_t *n, p4r_config *cfg, p4r_stage to,
			const char *const *require, size_t nrequire, const char *experiment)
{
	struct gate_list l = { 0 };
	char key[64];
	size_t i;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (!p4r_stage_name(to))
		return p4r_error_set(P4R_EUSAGE, "unknown stage %d", (int)to);
	if (experiment && !p4r_experiment_valid(experiment))
		return p4r_error_set(P4R_EUSAGE, "invalid experiment '%s': use 1..%d letters, digits and "
				     "'_ . - / @'", experiment, P4R_EXPERIMENT_MAX);
	for (i = 0; i < nrequire && rc == 0; i++)
		rc = gate_list_add(&l, require[i], NULL, experiment);
	if (rc == 0 && cfg) {
		snprintf(key, sizeof(key), "stage.%s.require", p4r_stage_name(to));
		l.origin = key;
		rc = p4r_config_foreach_value(cfg, key, policy_value, &l);
	}
	if (rc < 0) {
		free(l.arr);
		return rc;
	}
	*out = l.arr;
	*n = l.n;
	return 0;
}

int p4r_lifecycle_check_config(const char *key, const char *value)
{
	const char *first = strchr(key, '.'), *last = strrchr(key, '.');
	char origin[64];
	p4r_gate g;

	/* stage.Prod.require would be a policy no promotion ever reads */
	if (!p4r_config_key_is_list(key) && first && first != last && first - key == 5 &&
	    !strncasecmp(key, "stage", 5) && !strcasecmp(last + 1, "require"))
		return p4r_error_set(P4R_EUSAGE, "invalid config key '%s': expected stage.<STAGE>.require, "
				     "STAGE one of development, validation, staging, production, archived", key);
	if (!p4r_config_key_is_list(key))
		return 0;
	snprintf(origin, sizeof(origin), "%s", key);
	return p4r_gate_parse(&g, value, origin);
}

static void add_number_or_null(cJSON *o, const char *key, bool has, double v)
{
	if (has)
		cJSON_AddNumberToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

static void add_string_or_null(cJSON *o, const char *key, const char *s)
{
	if (s && *s)
		cJSON_AddStringToObject(o, key, s);
	else
		cJSON_AddNullToObject(o, key);
}

/* {"name","experiment","step","time"} of V, or null when nothing was found. */
static void add_run(cJSON *o, const char *key, const p4r_metric_value *v)
{
	char when[32];
	cJSON *r;

	if (!v->found) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	if (!(r = cJSON_AddObjectToObject(o, key)))
		return;
	add_string_or_null(r, "name", v->in_run ? v->run : NULL);
	add_string_or_null(r, "experiment", v->in_run ? v->experiment : NULL);
	cJSON_AddNumberToObject(r, "step", (double)v->step);
	p4r_format_time(when, sizeof(when), v->at_ms);
	cJSON_AddStringToObject(r, "time", when);
}

cJSON *p4r_json_condition(const p4r_condition *c)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "expr", c->gate.text);
	cJSON_AddStringToObject(o, "key", c->gate.key);
	add_string_or_null(o, "experiment", c->gate.experiment);
	cJSON_AddStringToObject(o, "op", op_names[c->gate.op]);
	add_number_or_null(o, "left", c->has_left, c->left);
	add_run(o, "left_run", &c->left_from);
	add_number_or_null(o, "right", c->has_right, c->right);
	add_run(o, "right_run", &c->right_from);
	cJSON_AddStringToObject(o, "right_source", c->right_source);
	cJSON_AddBoolToObject(o, "pass", c->pass);
	cJSON_AddStringToObject(o, "origin", c->gate.origin);
	return o;
}

void p4r_condition_describe(char *buf, size_t size, const p4r_condition *c)
{
	char left[32] = "missing", right[32] = "missing", where[96] = "";

	if (c->has_left)
		p4r_metric_format(left, sizeof(left), c->left);
	if (c->has_right)
		p4r_metric_format(right, sizeof(right), c->right);
	if (c->gate.vs_stage && !c->right_version) {
		snprintf(right, sizeof(right), "-");
		snprintf(where, sizeof(where), " (no version in %s)", p4r_stage_name(c->gate.stage));
	} else if (c->gate.vs_stage) {
		snprintf(where, sizeof(where), " (%s)", c->right_source);
	}
	snprintf(buf, size, "%s %s %s%s", left, op_names[c->gate.op], right, where);
}

cJSON *p4r_json_gate_check(const p4r_condition *c)
{
	char detail[256];
	cJSON *o;

	p4r_condition_describe(detail, sizeof(detail), c);
	if ((o = json_check(P4R_REFUSAL_GATE, c->gate.text, c->pass, detail)))
		cJSON_AddItemToObject(o, "condition", p4r_json_condition(c));
	return o;
}

/* The holder of STAGE, looked up once per evaluation. */
struct holder {
	bool looked;
	bool found;
	p4r_version v;
};

static int holder_get(struct holder *h, p4r_registry *reg, const char *model, p4r_stage stage)
{
	int rc;

	if (h->looked)
		return 0;
	h->looked = true;
	rc = p4r_registry_version_in_stage(reg, model, stage, &h->v);
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		return 0;
	}
	h->found = rc == 0;
	return rc;
}

int p4r_lifecycle_evaluate(p4r_registry *reg, const char *model, int64_t version_id,
			   const p4r_gate *gates, size_t n, p4r_condition *out, bool *all_pass)
{
	struct holder holders[P4R_STAGE_COUNT];
	size_t i;
	int rc = 0;

	memset(holders, 0, sizeof(holders));
	*all_pass = true;
	for (i = 0; i < n; i++) {
		p4r_condition *c = &out[i];
		const p4r_gate *g = &gates[i];
		const char *exp = g->experiment[0] ? g->experiment : NULL;

		memset(c, 0, sizeof(*c));
		c->gate = *g;
		if ((rc = p4r_metrics_value(reg, version_id, g->key, exp, &c->left_from)) < 0)
			break;
		c->has_left = c->left_from.found;
		c->left = c->left_from.value;
		if (!g->vs_stage) {
			c->has_right = true;
			c->right = g->number;
			snprintf(c->right_source, sizeof(c->right_source), "%s", g->right);
		} else {
			struct holder *h = &holders[g->stage];

			if ((rc = holder_get(h, reg, model, g->stage)) < 0)
				break;
			if (!h->found) {
				snprintf(c->right_source, sizeof(c->right_source), "%s (none)",
					 p4r_stage_name(g->stage));
			} else {
				snprintf(c->right_source, sizeof(c->right_source), "%s v%lld",
					 p4r_stage_name(g->stage), (long long)h->v.number);
				c->right_version = h->v.number;
				if ((rc = p4r_metrics_value(reg, h->v.id, g->key, exp, &c->right_from)) < 0)
					break;
				c->has_right = c->right_from.found;
				c->right = c->right_from.value;
			}
		}
		c->pass = c->has_left && c->has_right && p4r_gate_holds(c->left, g->op, c->right);
		if (!c->pass)
			*all_pass = false;
	}
	for (i = 0; i < P4R_STAGE_COUNT; i++)
		p4r_version_clear(&holders[i].v);
	return rc;
}

/* ---- promotion ---- */

void p4r_promotion_clear(p4r_promotion *p)
{
	if (!p)
		return;
	p4r_version_clear(&p->version);
	free(p->conds);
	memset(p, 0, sizeof(*p));
}

/* Appends a lifecycle event for version NUMBER of MODEL. DETAIL (nullable)
 * is printed and deleted. */
static int add_event(p4r_registry *reg, const char *model, int64_t number, const char *kind,
		     p4r_stage from, p4r_stage to, bool forced, const char *actor,
		     const char *reason, int64_t at_ms, cJSON *detail)
{
	p4r_event ev;
	char *text = NULL;
	int rc;

	memset(&ev, 0, sizeof(ev));
	snprintf(ev.model, sizeof(ev.model), "%s", model);
	snprintf(ev.kind, sizeof(ev.kind), "%s", kind);
	snprintf(ev.from_stage, sizeof(ev.from_stage), "%s", p4r_stage_name(from) ? p4r_stage_name(from) : "");
	snprintf(ev.to_stage, sizeof(ev.to_stage), "%s", p4r_stage_name(to) ? p4r_stage_name(to) : "");
	ev.version = number;
	ev.forced = forced;
	ev.actor = (char *)(actor ? actor : "");
	ev.at_ms = at_ms;
	ev.reason = (char *)(reason ? reason : "");
	if (detail && !(text = cJSON_PrintUnformatted(detail))) {
		cJSON_Delete(detail);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	cJSON_Delete(detail);
	ev.detail = text;
	rc = p4r_registry_event_add(reg, &ev);
	cJSON_free(text);
	return rc;
}

/* "f1>=0.8, recall>0.5: no run logged 'recall'" of the failed
 * conditions, bounded: a value nothing logged says so, since no number
 * will be shown for it. */
static void failed_list(char *buf, size_t size, const p4r_promotion *p)
{
	size_t i, used = 0;
	int w;

	buf[0] = '\0';
	for (i = 0; i < p->nconds && used < size; i++) {
		const p4r_condition *c = &p->conds[i];
		char why[200] = "";

		if (c->pass)
			continue;
		if (!c->has_left && c->gate.experiment[0])
			snprintf(why, sizeof(why), ": no run of experiment '%s' logged '%s'",
				 c->gate.experiment, c->gate.key);
		else if (!c->has_left)
			snprintf(why, sizeof(why), ": no run logged '%s'", c->gate.key);
		w = snprintf(buf + used, size - used, "%s%s%s", used ? ", " : "", c->gate.text, why);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

/* The two rules of a move, in the refusal's order: the version is not in
 * REQ->to already; the step is one forward or archiving, else --force
 * (OUT->forced). */
static int move_rules(const p4r_promote_req *req, p4r_promotion *out)
{
	const char *f = p4r_stage_name(out->from), *t = p4r_stage_name(req->to);
	const char *why = move_why(out->from, req->to);
	long long num = (long long)req->number;
	p4r_verdict *v = &out->verdict;
	char name[64];

	if (!f)
		return p4r_error_set(P4R_EUSAGE, "unknown stage");
	snprintf(name, sizeof(name), "not in %s", t);
	verdict_rule(v, P4R_REFUSAL_ALREADY_THERE, out->from != req->to, name,
		     out->from == req->to ? "'%s@%lld' is already in %s" : "'%s@%lld' is in %s",
		     req->model, num, f);
	if (out->from == req->to)
		return verdict_refuse(v, P4R_REFUSAL_ALREADY_THERE, "'%s@%lld' is already in %s",
				      req->model, num, t);
	snprintf(name, sizeof(name), "%s -> %s", f, t);
	if (!why)
		verdict_rule(v, P4R_REFUSAL_STEP_RULE, true, name, "%s", req->to == P4R_STAGE_ARCHIVED ?
			     "archiving is always allowed" : "one step forward");
	else
		verdict_rule(v, P4R_REFUSAL_STEP_RULE, req->force, name, "%s %s", why,
			     req->force ? "(forced)" : "needs --force");
	if (why && !req->force)
		return verdict_refuse(v, P4R_REFUSAL_STEP_RULE, "cannot promote '%s@%lld' to %s: %s "
				      "(%s to %s) needs --force", req->model, num, t, why, f, t);
	out->forced = why != NULL;
	return 0;
}

/* The refusal of OUT's failed gates. */
static int refuse_gates(const p4r_promote_req *req, p4r_promotion *out)
{
	char failed[400];
	size_t i, nfail = 0;

	for (i = 0; i < out->nconds; i++)
		nfail += !out->conds[i].pass;
	failed_list(failed, sizeof(failed), out);
	return verdict_refuse(&out->verdict, P4R_REFUSAL_GATE, "cannot promote '%s@%lld' to %s: %zu of "
			      "%zu conditions failed (%s)", req->model, (long long)req->number,
			      p4r_stage_name(req->to), nfail, out->nconds, failed);
}

/* Refuses the promotion unless the move is allowed and every gate holds;
 * fills OUT's version, from, forced, conditions and verdict. */
static int promote_check(p4r_registry *reg, const p4r_promote_req *req, p4r_promotion *out)
{
	bool all_pass = true;
	int rc;

	if ((rc = p4r_registry_version_get(reg, req->model, req->number, &out->version)) < 0)
		return rc;
	out->from = out->version.stage;
	if ((rc = move_rules(req, out)) < 0)
		return rc;
	if ((rc = p4r_lifecycle_evaluate(reg, req->model, out->version.id, req->gates, req->ngates,
					 out->conds, &all_pass)) < 0)
		return rc;
	out->nconds = req->ngates;
	return all_pass ? 0 : refuse_gates(req, out);
}

/* The holder of REQ->to (staging or production) that the promotion will
 * archive, unless it is the version promoted: OUT->replaced(_id). */
static int find_replaced(p4r_registry *reg, const p4r_promote_req *req, p4r_promotion *out)
{
	p4r_version holder = { 0 };
	int rc;

	if (req->to != P4R_STAGE_STAGING && req->to != P4R_STAGE_PRODUCTION)
		return 0;
	rc = p4r_registry_version_in_stage(reg, req->model, req->to, &holder);
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		return 0;
	}
	if (rc == 0 && holder.id != out->version.id) {
		out->replaced = holder.number;
		out->replaced_id = holder.id;
	}
	p4r_version_clear(&holder);
	return rc;
}

/* Archives OUT->replaced with its own event. The previous holder leaves
 * first: the partial unique indexes never see two holders, and nobody
 * else sees the gap (one transaction). */
static int archive_replaced(p4r_registry *reg, const p4r_promote_req *req, const p4r_promotion *out,
			    int64_t now)
{
	char reason[64];
	cJSON *detail;
	int rc;

	if (!out->replaced)
		return 0;
	snprintf(reason, sizeof(reason), "replaced by v%lld", (long long)req->number);
	if ((rc = p4r_registry_stage_set(reg, out->replaced_id, P4R_STAGE_ARCHIVED, -1)) < 0)
		return rc;
	/* add_event takes DETAIL, on failure too */
	detail = cJSON_CreateObject();
	cJSON_AddNumberToObject(detail, "replaced_by", (double)req->number);
	return add_event(reg, req->model, out->replaced, "promote", req->to, P4R_STAGE_ARCHIVED, false,
			 req->actor, reason, now, detail);
}

/* The promote event's detail: the evaluated conditions and the version
 * replaced (null when none). */
static cJSON *promotion_detail(const p4r_promotion *out)
{
	cJSON *detail = cJSON_CreateObject(), *arr;
	size_t i;

	arr = cJSON_AddArrayToObject(detail, "conditions");
	for (i = 0; i < out->nconds; i++)
		cJSON_AddItemToArray(arr, p4r_json_condition(&out->conds[i]));
	if (out->replaced)
		cJSON_AddNumberToObject(detail, "replaced", (double)out->replaced);
	else
		cJSON_AddNullToObject(detail, "replaced");
	return detail;
}

/* Applies the decision OUT, inside the transaction. */
static int promote_apply(p4r_registry *reg, const p4r_promote_req *req, p4r_promotion *out,
			 int64_t now)
{
	int rc;

	if ((rc = archive_replaced(reg, req, out, now)) < 0)
		return rc;
	/* Entering production again is a fresh judgement: the rolled-back mark
	 * only keeps rollback from landing on a version nobody re-approved. */
	if ((rc = p4r_registry_stage_set(reg, out->version.id, req->to,
					 req->to == P4R_STAGE_PRODUCTION ? 0 : -1)) < 0)
		return rc;
	return add_event(reg, req->model, req->number, "promote", out->from, req->to, out->forced,
			 req->actor, req->reason, now, promotion_detail(out));
}

int p4r_lifecycle_promote(p4r_registry *reg, const p4r_promote_req *req, p4r_promotion *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	out->to = req->to;
	if (!p4r_stage_name(req->to))
		return p4r_error_set(P4R_EUSAGE, "unknown stage %d", (int)req->to);
	if (!(out->conds = calloc(req->ngates ? req->ngates : 1, sizeof(*out->conds))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	/* a dry run reads one snapshot and never takes the write lock */
	if ((rc = req->dry_run ? p4r_registry_begin_read(reg) : p4r_registry_begin(reg)) < 0)
		return rc;
	if ((rc = promote_check(reg, req, out)) == 0 && (rc = find_replaced(reg, req, out)) == 0 &&
	    !req->dry_run)
		rc = promote_apply(reg, req, out, req->now_ms ? req->now_ms : p4r_now_ms());
	if (rc < 0 || req->dry_run)
		return txn_abort(reg, rc);
	if ((rc = p4r_registry_commit(reg)) < 0)
		return rc;
	out->promoted = true;
	p4r_version_clear(&out->version);
	return p4r_registry_version_get(reg, req->model, req->number, &out->version);
}

/* ---- rollback ---- */

/* --to WANT: not the production version (already-there), one that held
 * production (step-rule) and was not rolled back (policy); FORCE passes
 * the last two and sets *FORCED when it had to. */
static int plan_to(int64_t *target, bool *forced, const char *model, int64_t current,
		   const p4r_prod_entry *hist, size_t n, int64_t want, bool force, p4r_verdict *v)
{
	const p4r_prod_entry *hit = NULL;
	long long w = (long long)want;
	size_t i;

	verdict_rule(v, P4R_REFUSAL_ALREADY_THERE, want != current, "not in production", want == current ?
		     "'%s@%lld' is already in production" : "'%s@%lld' is not in production", model, w);
	if (want == current)
		return verdict_refuse(v, P4R_REFUSAL_ALREADY_THERE, "'%s@%lld' is already in production",
				      model, w);
	for (i = 0; i < n && !hit; i++)
		if (hist[i].number == want)
			hit = &hist[i];
	verdict_rule(v, P4R_REFUSAL_STEP_RULE, hit || force, "held production", hit ?
		     "'%s@%lld' held production before" : force ? "'%s@%lld' never held production (forced)" :
		     "'%s@%lld' never held production; --force restores it anyway", model, w);
	if (!hit && !force)
		return verdict_refuse(v, P4R_REFUSAL_STEP_RULE, "'%s@%lld' never held production; --force "
				      "restores it anyway", model, w);
	if (hit)
		verdict_rule(v, P4R_REFUSAL_POLICY, !hit->rolled_back || force, "not rolled back",
			     !hit->rolled_back ? "'%s@%lld' was not rolled back" : force ?
			     "'%s@%lld' was rolled back before (forced)" :
			     "'%s@%lld' was rolled back before; --force restores it anyway", model, w);
	if (hit && hit->rolled_back && !force)
		return verdict_refuse(v, P4R_REFUSAL_POLICY, "'%s@%lld' was rolled back before; --force "
				      "restores it anyway", model, w);
	*forced = !hit || hit->rolled_back;
	*target = want;
	return 0;
}

int p4r_rollback_plan(int64_t *target, bool *forced, const char *model, int64_t current,
		      const p4r_prod_entry *hist, size_t n, int64_t want, bool force,
		      p4r_verdict *verdict)
{
	const char *name = "earlier production version";
	size_t i;

	*target = 0;
	*forced = false;
	if (want)
		return plan_to(target, forced, model, current, hist, n, want, force, verdict);
	for (i = 0; i < n; i++) {
		if (hist[i].number == current || hist[i].rolled_back)
			continue;
		*target = hist[i].number;
		verdict_rule(verdict, P4R_REFUSAL_NO_TARGET, true, name, "'%s@%lld' held production "
			     "before '%s@%lld'", model, (long long)*target, model, (long long)current);
		return 0;
	}
	verdict_rule(verdict, P4R_REFUSAL_NO_TARGET, false, name, "none that was not rolled back");
	return verdict_refuse(verdict, P4R_REFUSAL_NO_TARGET, "model '%s' has no earlier production "
			      "version to roll back to (rolled-back versions are skipped; --to N --force "
			      "picks any version)", model);
}

void p4r_rollback_result_clear(p4r_rollback_result *r)
{
	if (!r)
		return;
	p4r_version_clear(&r->restored);
	p4r_version_clear(&r->rolled_back);
	memset(r, 0, sizeof(*r));
}

/* *CUR: REQ->model's production version; none is a refusal (no-target). */
static int production_now(p4r_registry *reg, const char *model, p4r_version *cur, p4r_verdict *v)
{
	const char *name = "production version";
	int rc = p4r_registry_version_in_stage(reg, model, P4R_STAGE_PRODUCTION, cur);

	if (rc == P4R_ENOTFOUND) {
		verdict_rule(v, P4R_REFUSAL_NO_TARGET, false, name, "model '%s' has none", model);
		return verdict_refuse(v, P4R_REFUSAL_NO_TARGET, "model '%s' has no production version; "
				      "nothing to roll back", model);
	}
	if (rc == 0)
		verdict_rule(v, P4R_REFUSAL_NO_TARGET, true, name, "'%s@%lld' is in production", model,
			     (long long)cur->number);
	return rc;
}

/* Finds what a rollback of REQ->model would do: *CUR the production
 * version, *TGT the version that goes back (nothing is changed). */
static int rollback_find(p4r_registry *reg, const p4r_rollback_req *req, p4r_version *cur,
			 p4r_version *tgt, bool *forced, p4r_verdict *v)
{
	const char *model = req->model;
	p4r_prod_entry *hist = NULL;
	p4r_model m = { 0 };
	int64_t target = 0;
	size_t n = 0;
	int rc;

	if ((rc = p4r_registry_model_get(reg, model, &m)) < 0)
		goto done;
	if (req->to && (rc = p4r_registry_version_get(reg, model, req->to, tgt)) < 0)
		goto done;
	p4r_version_clear(tgt);
	if ((rc = production_now(reg, model, cur, v)) < 0 ||
	    (rc = p4r_registry_production_history(reg, model, &hist, &n)) < 0 ||
	    (rc = p4r_rollback_plan(&target, forced, model, cur->number, hist, n,
				    req->to, req->force, v)) < 0)
		goto done;
	rc = p4r_registry_version_get(reg, model, target, tgt);
done:
	free(hist);
	p4r_model_clear(&m);
	return rc;
}

int p4r_lifecycle_rollback_target(p4r_registry *reg, const char *model, int64_t *number)
{
	p4r_rollback_req req = { .model = model };
	p4r_version cur = { 0 }, tgt = { 0 };
	p4r_verdict verdict = { 0 };
	bool forced = false;
	int rc = rollback_find(reg, &req, &cur, &tgt, &forced, &verdict);

	*number = rc == 0 ? tgt.number : 0;
	p4r_version_clear(&cur);
	p4r_version_clear(&tgt);
	if (rc == P4R_EREFUSED) { /* no production, or nothing to go back to */
		p4r_error_clear();
		rc = 0;
	}
	return rc;
}

/* The decision: OUT's two versions (as they are now), forced, verdict;
 * the target's object must be in REQ->store (when set). */
static int rollback_decide(p4r_registry *reg, const p4r_rollback_req *req, p4r_rollback_result *out)
{
	const p4r_version *tgt = &out->restored;
	int rc;

	if ((rc = rollback_find(reg, req, &out->rolled_back, &out->restored, &out->forced,
				&out->verdict)) < 0)
		return rc;
	if (req->store && !p4r_store_has(req->store, &tgt->oid))
		return p4r_error_set(P4R_ENOTFOUND, "object %.12s of '%s@%lld' is not in the local "
				     "store: run 'p4reg pull %s@%lld' (or roll back with --no-checkout)",
				     tgt->oid.hex, req->model, (long long)tgt->number, req->model,
				     (long long)tgt->number);
	return 0;
}

/* Applies the decision OUT, inside the transaction. */
static int rollback_apply(p4r_registry *reg, const p4r_rollback_req *req,
			  const p4r_rollback_result *out, int64_t now)
{
	const p4r_version *cur = &out->rolled_back, *tgt = &out->restored;
	cJSON *detail;
	int rc;

	detail = cJSON_CreateObject();
	cJSON_AddNumberToObject(detail, "restored", (double)tgt->number);
	if ((rc = p4r_registry_stage_set(reg, cur->id, P4R_STAGE_ARCHIVED, 1)) < 0 ||
	    (rc = add_event(reg, req->model, cur->number, "rollback", P4R_STAGE_PRODUCTION,
			    P4R_STAGE_ARCHIVED, false, req->actor, req->reason, now, detail)) < 0)
		return rc;
	detail = cJSON_CreateObject();
	cJSON_AddNumberToObject(detail, "rolled_back", (double)cur->number);
	if ((rc = p4r_registry_stage_set(reg, tgt->id, P4R_STAGE_PRODUCTION, 0)) < 0)
		return rc;
	return add_event(reg, req->model, tgt->number, "rollback", tgt->stage, P4R_STAGE_PRODUCTION,
			 out->forced, req->actor, req->reason, now, detail);
}

/* After a refusal or error: OUT cleared but for its verdict. */
static int rollback_failed(p4r_registry *reg, p4r_rollback_result *out, int rc)
{
	p4r_verdict verdict = out->verdict;

	rc = txn_abort(reg, rc);
	p4r_rollback_result_clear(out);
	out->verdict = verdict;
	return rc;
}

int p4r_lifecycle_rollback(p4r_registry *reg, const p4r_rollback_req *req, p4r_rollback_result *out)
{
	int64_t cur, tgt;
	int rc;

	memset(out, 0, sizeof(*out));
	/* a dry run reads one snapshot and never takes the write lock */
	if ((rc = req->dry_run ? p4r_registry_begin_read(reg) : p4r_registry_begin(reg)) < 0)
		return rc;
	if ((rc = rollback_decide(reg, req, out)) == 0 && !req->dry_run)
		rc = rollback_apply(reg, req, out, req->now_ms ? req->now_ms : p4r_now_ms());
	if (rc < 0)
		return rollback_failed(reg, out, rc);
	if (req->dry_run)
		return txn_abort(reg, 0);
	if ((rc = p4r_registry_commit(reg)) < 0)
		return rollback_failed(reg, out, rc);
	cur = out->rolled_back.number;
	tgt = out->restored.number;
	p4r_version_clear(&out->rolled_back);
	p4r_version_clear(&out->restored);
	if ((rc = p4r_registry_version_get(reg, req->model, cur, &out->rolled_back)) < 0 ||
	    (rc = p4r_registry_version_get(reg, req->model, tgt, &out->restored)) < 0)
		return rc;
	return 0;
}

/* ---- hooks ---- */

int p4r_lifecycle_run_hook(const char *hook, const char *cwd, const char *const *env, int *status)
{
	pid_t pid, w;
	int st = 0;

	*status = -1;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return p4r_error_errno("cannot start the hook");
	if (pid == 0) {
		size_t i;

		for (i = 0; env && env[i] && env[i + 1]; i += 2)
			if (setenv(env[i], env[i + 1], 1) < 0)
				_exit(127);
		/* The command's stdout may be a JSON document: keep it clean. */
		if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
			_exit(127);
		if (cwd && chdir(cwd) < 0)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", hook, (char *)NULL);
		_exit(127);
	}
	do {
		w = waitpid(pid, &st, 0);
	} while (w < 0 && errno == EINTR);
	if (w < 0)
		return p4r_error_errno("cannot wait for the hook");
	if (WIFEXITED(st))
		*status = WEXITSTATUS(st);
	else if (WIFSIGNALED(st))
		*status = 128 + WTERMSIG(st);
	return 0;
}
