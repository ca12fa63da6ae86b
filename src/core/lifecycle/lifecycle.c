/* The lifecycle without SQL: the stage-move rules, the gate expression
 * parser and evaluator, promotion and rollback as one registry transaction
 * each (the statements are in registry/lifecycle_sql.c), and the post-rollback
 * hook runner (see lifecycle.h). */
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

/* ---- rules ---- */

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
	/* Archiving is always allowed: it takes a version out of service. */
	if (to == P4R_STAGE_ARCHIVED)
		return 0;
	if (from != P4R_STAGE_ARCHIVED && to == from + 1)
		return 0;
	if (from == P4R_STAGE_ARCHIVED)
		why = "leaving archived";
	else if (to > from)
		why = "skipping a stage";
	else
		why = "moving backward";
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

/* Sets the refusal (message and error) of a promotion: "cannot promote ..." */
static int refuse(p4r_promotion *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(p4r_promotion *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->refusal, sizeof(out->refusal), fmt, ap);
	va_end(ap);
	return p4r_error_set(P4R_EREFUSED, "%s", out->refusal);
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

/* Refuses the promotion unless the move is allowed and every gate holds;
 * fills OUT's version, from, forced and conditions. */
static int promote_check(p4r_registry *reg, const p4r_promote_req *req, p4r_promotion *out)
{
	const char *model = req->model, *to_name = p4r_stage_name(req->to);
	char why[200], failed[400];
	bool all_pass = true;
	size_t i, nfail = 0;
	int rc;

	if ((rc = p4r_registry_version_get(reg, model, req->number, &out->version)) < 0)
		return rc;
	out->from = out->version.stage;
	if ((rc = p4r_lifecycle_check_move(out->from, req->to, req->force, &out->forced)) < 0) {
		if (rc != P4R_EREFUSED)
			return rc;
		snprintf(why, sizeof(why), "%s", p4r_error_message());
		if (out->from == req->to)
			return refuse(out, "'%s@%lld' is already in %s", model,
				      (long long)req->number, to_name);
		return refuse(out, "cannot promote '%s@%lld' to %s: %s", model,
			      (long long)req->number, to_name, why);
	}
	if ((rc = p4r_lifecycle_evaluate(reg, model, out->version.id, req->gates, req->ngates,
					 out->conds, &all_pass)) < 0)
		return rc;
	out->nconds = req->ngates;
	if (!all_pass) {
		for (i = 0; i < out->nconds; i++)
			nfail += !out->conds[i].pass;
		failed_list(failed, sizeof(failed), out);
		return refuse(out, "cannot promote '%s@%lld' to %s: %zu of %zu conditions failed (%s)",
			      model, (long long)req->number, to_name, nfail, out->nconds, failed);
	}
	return 0;
}

/* Archives the version holding REQ->to (staging or production) unless it is
 * the one promoted, recording OUT->replaced. The previous holder leaves
 * first: the partial unique indexes never see two holders, and nobody else
 * sees the gap (one transaction). */
static int archive_holder(p4r_registry *reg, const p4r_promote_req *req, p4r_promotion *out,
			  int64_t now)
{
	p4r_version holder = { 0 };
	cJSON *detail;
	char reason[64];
	int rc;

	rc = p4r_registry_version_in_stage(reg, req->model, req->to, &holder);
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		rc = 0;
	} else if (rc == 0 && holder.id != out->version.id) {
		snprintf(reason, sizeof(reason), "replaced by v%lld", (long long)req->number);
		if ((rc = p4r_registry_stage_set(reg, holder.id, P4R_STAGE_ARCHIVED, -1)) < 0)
			goto done;
		/* add_event takes DETAIL, on failure too */
		detail = cJSON_CreateObject();
		cJSON_AddNumberToObject(detail, "replaced_by", (double)req->number);
		if ((rc = add_event(reg, req->model, holder.number, "promote", req->to,
				    P4R_STAGE_ARCHIVED, false, req->actor, reason, now, detail)) < 0)
			goto done;
		out->replaced = holder.number;
	}
done:
	p4r_version_clear(&holder);
	return rc;
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

/* The body of promote, inside the transaction. */
static int promote_txn(p4r_registry *reg, const p4r_promote_req *req, p4r_promotion *out, int64_t now)
{
	int rc;

	if ((rc = promote_check(reg, req, out)) < 0)
		return rc;
	if ((req->to == P4R_STAGE_STAGING || req->to == P4R_STAGE_PRODUCTION) &&
	    (rc = archive_holder(reg, req, out, now)) < 0)
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
	char msg[512];
	int rc;

	memset(out, 0, sizeof(*out));
	out->to = req->to;
	if (!p4r_stage_name(req->to))
		return p4r_error_set(P4R_EUSAGE, "unknown stage %d", (int)req->to);
	if (!(out->conds = calloc(req->ngates ? req->ngates : 1, sizeof(*out->conds))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	if ((rc = p4r_registry_begin(reg)) < 0)
		return rc;
	rc = promote_txn(reg, req, out, req->now_ms ? req->now_ms : p4r_now_ms());
	if (rc < 0) {
		/* Rolling back must not replace the message worth printing. */
		snprintf(msg, sizeof(msg), "%s", p4r_error_message());
		p4r_registry_abort(reg);
		return p4r_error_set(rc, "%s", msg);
	}
	if ((rc = p4r_registry_commit(reg)) < 0)
		return rc;
	out->promoted = true;
	p4r_version_clear(&out->version);
	return p4r_registry_version_get(reg, req->model, req->number, &out->version);
}

/* ---- rollback ---- */

int p4r_rollback_plan(int64_t *target, bool *forced, const char *model, int64_t current,
		      const p4r_prod_entry *hist, size_t n, int64_t want, bool force)
{
	const p4r_prod_entry *hit = NULL;
	size_t i;

	*target = 0;
	*forced = false;
	if (want) {
		if (want == current)
			return p4r_error_set(P4R_EREFUSED, "'%s@%lld' is already in production",
					     model, (long long)want);
		for (i = 0; i < n && !hit; i++)
			if (hist[i].number == want)
				hit = &hist[i];
		if (!hit || hit->rolled_back) {
			if (!force)
				return p4r_error_set(P4R_EREFUSED, hit ?
						     "'%s@%lld' was rolled back before; --force restores it anyway" :
						     "'%s@%lld' never held production; --force restores it anyway",
						     model, (long long)want);
			*forced = true;
		}
		*target = want;
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (hist[i].number == current || hist[i].rolled_back)
			continue;
		*target = hist[i].number;
		return 0;
	}
	return p4r_error_set(P4R_EREFUSED, "model '%s' has no earlier production version to roll back to "
			     "(rolled-back versions are skipped; --to N --force picks any version)", model);
}

void p4r_rollback_result_clear(p4r_rollback_result *r)
{
	if (!r)
		return;
	p4r_version_clear(&r->restored);
	p4r_version_clear(&r->rolled_back);
	memset(r, 0, sizeof(*r));
}

/* Finds what a rollback of REQ->model would do: *CUR the production
 * version, *TGT the version that goes back (nothing is changed). */
static int rollback_find(p4r_registry *reg, const p4r_rollback_req *req, p4r_version *cur,
			 p4r_version *tgt, bool *forced)
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
	rc = p4r_registry_version_in_stage(reg, model, P4R_STAGE_PRODUCTION, cur);
	if (rc == P4R_ENOTFOUND) {
		rc = p4r_error_set(P4R_EREFUSED, "model '%s' has no production version; nothing to "
				   "roll back", model);
		goto done;
	}
	if (rc < 0 ||
	    (rc = p4r_registry_production_history(reg, model, &hist, &n)) < 0 ||
	    (rc = p4r_rollback_plan(&target, forced, model, cur->number, hist, n,
				    req->to, req->force)) < 0)
		goto done;
	rc = p4r_registry_version_get(reg, model, target, tgt);
done:
	free(hist);
	p4r_model_clear(&m);
	return rc;
}

int p4r_lifecycle_rollback_target(p4r_registry *reg, const p4r_rollback_req *req, p4r_version *out)
{
	p4r_version cur = { 0 };
	bool forced = false;
	int rc;

	memset(out, 0, sizeof(*out));  /* rollback_find clears it: never free garbage */
	rc = rollback_find(reg, req, &cur, out, &forced);

	p4r_version_clear(&cur);
	if (rc < 0)
		p4r_version_clear(out);
	return rc;
}

static int rollback_txn(p4r_registry *reg, const p4r_rollback_req *req, p4r_rollback_result *out,
			int64_t now)
{
	const char *model = req->model;
	p4r_version *cur = &out->rolled_back, *tgt = &out->restored;
	int64_t target;
	p4r_stage from;
	cJSON *detail;
	int rc;

	if ((rc = rollback_find(reg, req, cur, tgt, &out->forced)) < 0)
		return rc;
	target = tgt->number;
	if (req->store && !p4r_store_has(req->store, &tgt->oid))
		return p4r_error_set(P4R_ENOTFOUND, "object %.12s of '%s@%lld' is not in the local "
				     "store: run 'p4reg pull %s@%lld' (or roll back with --no-checkout)",
				     tgt->oid.hex, model, (long long)target, model, (long long)target);
	from = tgt->stage;

	detail = cJSON_CreateObject();
	cJSON_AddNumberToObject(detail, "restored", (double)target);
	if ((rc = p4r_registry_stage_set(reg, cur->id, P4R_STAGE_ARCHIVED, 1)) < 0 ||
	    (rc = add_event(reg, model, cur->number, "rollback", P4R_STAGE_PRODUCTION,
			    P4R_STAGE_ARCHIVED, false, req->actor, req->reason, now, detail)) < 0)
		return rc;
	detail = cJSON_CreateObject();
	cJSON_AddNumberToObject(detail, "rolled_back", (double)cur->number);
	if ((rc = p4r_registry_stage_set(reg, tgt->id, P4R_STAGE_PRODUCTION, 0)) < 0 ||
	    (rc = add_event(reg, model, target, "rollback", from, P4R_STAGE_PRODUCTION,
			    out->forced, req->actor, req->reason, now, detail)) < 0)
		return rc;
	return 0;
}

int p4r_lifecycle_rollback(p4r_registry *reg, const p4r_rollback_req *req, p4r_rollback_result *out)
{
	char msg[512];
	int64_t cur, tgt;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = p4r_registry_begin(reg)) < 0)
		return rc;
	rc = rollback_txn(reg, req, out, req->now_ms ? req->now_ms : p4r_now_ms());
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "%s", p4r_error_message());
		p4r_registry_abort(reg);
		p4r_rollback_result_clear(out);
		return p4r_error_set(rc, "%s", msg);
	}
	if ((rc = p4r_registry_commit(reg)) < 0) {
		p4r_rollback_result_clear(out);
		return rc;
	}
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
