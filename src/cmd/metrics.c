/* p4reg metrics: a model's versions x metrics table, two versions side by
 * side with deltas, or one key's history on one version. */
#include "cmd.h"
#include "p4reg/metrics.h"
#include "p4reg/output.h"
#include "p4reg/ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char cmd_metrics_usage[] =
	"usage: p4reg metrics [--csv] [--experiment NAME] MODEL\n"
	"   or: p4reg metrics [--csv] [--experiment NAME] REF REF [REF...]\n"
	"   or: p4reg metrics [--csv] REF --history KEY\n"
	"\n"
	"MODEL: every version (newest first) with its stage and the value of each\n"
	"metric that promotion gates read: from the run that logged the key most\n"
	"recently (by time), at that run's highest step.\n"
	"REF REF: the two versions side by side with the difference (second minus\n"
	"first), the relative change, and which side is better where the metric's\n"
	"direction is known (config metric.<key>.goal = max|min, or the built-in\n"
	"defaults: latency*, *loss*, error*, *_ms, mae, mse, rmse are min;\n"
	"accuracy, precision*, recall*, f1, spearman, cosine*, ndcg*, tokens/sec,\n"
	"quality* are max).\n"
	"Three or more REFs: one column per version and the best of them where the\n"
	"direction is known ('=' when they are all equal).\n"
	"--history KEY: every value of KEY on REF ordered by step, time.\n"
	"\n"
	"      --csv              comma-separated values for spreadsheets\n"
	"      --experiment NAME  values from runs of experiment NAME only (what a\n"
	"                         gate NAME:KEY reads)\n"
	"      --history KEY      every logged value of KEY on one version\n";

enum { OPT_CSV = 1, OPT_HISTORY, OPT_EXPERIMENT };

static const p4r_option options[] = {
	{ "csv", 0, false, OPT_CSV },
	{ "experiment", 0, true, OPT_EXPERIMENT },
	{ "history", 0, true, OPT_HISTORY },
	{ NULL, 0, false, 0 },
};

/* ---- MODEL ---- */

/* S escaped (p4r_escape), then blanks up to WIDTH + 2; WIDTH counts the
 * escaped text. */
static void print_padded(const char *s, size_t width, bool last)
{
	size_t len;

	s = p4r_escape(s);
	len = strlen(s);
	fputs(s, stdout);
	if (last) {
		putchar('\n');
		return;
	}
	for (; len < width + 2; len++)
		putchar(' ');
}

/* One CSV line of N cells, each escaped (p4r_escape). */
static void print_csv_row(const char *const *cells, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i)
			putchar(',');
		fputs(p4r_escape(cells[i]), stdout);
	}
	putchar('\n');
}

static int table_text(const p4r_version *vs, size_t n, const p4r_metric_table *t)
{
	size_t *width = calloc(t->nkeys + 2, sizeof(*width)), r, k;
	char buf[32];

	if (!width)
		return p4r_error_set(P4R_ERROR, "out of memory");
	width[0] = strlen("version");
	width[1] = strlen("stage");
	for (k = 0; k < t->nkeys; k++)
		width[k + 2] = strlen(p4r_escape(t->keys[k]));
	for (r = 0; r < n; r++) {
		snprintf(buf, sizeof(buf), "%lld", (long long)vs[r].number);
		if (strlen(buf) > width[0])
			width[0] = strlen(buf);
		if (strlen(p4r_stage_name(vs[r].stage)) > width[1])
			width[1] = strlen(p4r_stage_name(vs[r].stage));
		for (k = 0; k < t->nkeys; k++) {
			const p4r_metric_cell *c = p4r_metric_table_get(t, r, k);

			if (c) {
				p4r_metric_format(buf, sizeof(buf), c->value);
				if (strlen(buf) > width[k + 2])
					width[k + 2] = strlen(buf);
			}
		}
	}
	print_padded("version", width[0], false);
	print_padded("stage", width[1], t->nkeys == 0);
	for (k = 0; k < t->nkeys; k++)
		print_padded(t->keys[k], width[k + 2], k + 1 == t->nkeys);
	for (r = 0; r < n; r++) {
		snprintf(buf, sizeof(buf), "%lld", (long long)vs[r].number);
		print_padded(buf, width[0], false);
		print_padded(p4r_stage_name(vs[r].stage), width[1], t->nkeys == 0);
		for (k = 0; k < t->nkeys; k++) {
			const p4r_metric_cell *c = p4r_metric_table_get(t, r, k);

			if (c)
				p4r_metric_format(buf, sizeof(buf), c->value);
			print_padded(c ? buf : "-", width[k + 2], k + 1 == t->nkeys);
		}
	}
	free(width);
	return 0;
}

static void table_csv(const p4r_version *vs, size_t n, const p4r_metric_table *t)
{
	char buf[32];
	size_t r, k;

	fputs("version,stage", stdout);
	for (k = 0; k < t->nkeys; k++) {
		putchar(',');
		fputs(p4r_escape(t->keys[k]), stdout);
	}
	putchar('\n');
	for (r = 0; r < n; r++) {
		printf("%lld,%s", (long long)vs[r].number, p4r_stage_name(vs[r].stage));
		for (k = 0; k < t->nkeys; k++) {
			const p4r_metric_cell *c = p4r_metric_table_get(t, r, k);

			putchar(',');
			if (c) {
				p4r_metric_format(buf, sizeof(buf), c->value);
				fputs(buf, stdout);
			}
		}
		putchar('\n');
	}
}

static int table_json(const char *model, const p4r_version *vs, size_t n, const p4r_metric_table *t)
{
	cJSON *doc = cJSON_CreateObject(), *keys, *arr;
	size_t r, k;

	cJSON_AddStringToObject(doc, "model", model);
	keys = cJSON_AddArrayToObject(doc, "keys");
	for (k = 0; k < t->nkeys; k++)
		cJSON_AddItemToArray(keys, cJSON_CreateString(t->keys[k]));
	arr = cJSON_AddArrayToObject(doc, "versions");
	for (r = 0; r < n; r++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "version", (double)vs[r].number);
		cJSON_AddStringToObject(o, "stage", p4r_stage_name(vs[r].stage));
		cJSON_AddItemToObject(o, "metrics", p4r_json_metric_row(t, r));
		cJSON_AddItemToArray(arr, o);
	}
	return cmd_print_json(doc);
}

/* MODEL may also be a path whose pointer names the model. */
static int find_model(p4r_repo *repo, const char *arg, char *model, size_t size)
{
	p4r_version v = { 0 };
	p4r_model m = { 0 };
	int rc;

	if (strchr(arg, '@'))
		return p4r_error_set(P4R_EUSAGE, "metrics takes a model name, not a version: drop '%s' "
				     "(or give two REFs, or a REF with --history KEY)", strchr(arg, '@'));
	if (p4r_model_name_valid(arg)) {
		rc = p4r_registry_model_get(p4r_repo_registry(repo), arg, &m);
		if (rc == 0)
			snprintf(model, size, "%s", m.name);
		p4r_model_clear(&m);
		if (rc != P4R_ENOTFOUND)
			return rc;
	}
	if ((rc = p4r_ref_resolve(repo, arg, &v)) == 0)
		snprintf(model, size, "%s", v.model);
	p4r_version_clear(&v);
	return rc;
}

static int show_model(p4r_cli *cli, p4r_repo *repo, const char *arg, bool csv, const char *experiment)
{
	char model[P4R_MODEL_NAME_MAX + 1];
	p4r_version *vs = NULL;
	p4r_metric_table t = { 0 };
	size_t n = 0;
	int rc;

	if ((rc = find_model(repo, arg, model, sizeof(model))) < 0)
		return rc;
	if ((rc = p4r_registry_version_list(p4r_repo_registry(repo), model, &vs, &n)) < 0 ||
	    (rc = p4r_metrics_table_scoped(p4r_repo_registry(repo), vs, n, experiment, &t)) < 0)
		goto done;
	if (cli->json)
		rc = table_json(model, vs, n, &t);
	else if (csv)
		table_csv(vs, n, &t);
	else
		rc = table_text(vs, n, &t);
done:
	p4r_metric_table_clear(&t);
	p4r_version_array_free(vs, n);
	return rc;
}

/* ---- REF REF ---- */

struct row {
	const char *key;
	const p4r_metric_cell *a, *b;
	p4r_metric_goal goal;
	const char *better;     /* "a", "b", "equal" or NULL */
};

/* "model@3", escaped for people. */
static void label(char *buf, size_t size, const p4r_version *v)
{
	snprintf(buf, size, "%s@%lld", p4r_escape(v->model), (long long)v->number);
}

static void side_json(cJSON *doc, const char *name, const p4r_version *v)
{
	cJSON *o = cJSON_AddObjectToObject(doc, name);

	cJSON_AddStringToObject(o, "model", v->model);
	cJSON_AddNumberToObject(o, "version", (double)v->number);
	cJSON_AddStringToObject(o, "stage", p4r_stage_name(v->stage));
}

static int compare_json(const p4r_version *v, const struct row *rows, size_t n)
{
	cJSON *doc = cJSON_CreateObject(), *arr;
	size_t i;

	side_json(doc, "a", &v[0]);
	side_json(doc, "b", &v[1]);
	arr = cJSON_AddArrayToObject(doc, "metrics");
	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		cJSON *o = cJSON_CreateObject();
		const char *goal = p4r_metric_goal_name(r->goal);

		cJSON_AddStringToObject(o, "key", r->key);
		cJSON_AddItemToObject(o, "a", r->a ? p4r_json_metric_value(r->a->value) : cJSON_CreateNull());
		cJSON_AddItemToObject(o, "b", r->b ? p4r_json_metric_value(r->b->value) : cJSON_CreateNull());
		if (r->a && r->b) {
			cJSON_AddNumberToObject(o, "delta", r->b->value - r->a->value);
			if (r->a->value != 0)
				cJSON_AddNumberToObject(o, "relative", (r->b->value - r->a->value) / fabs(r->a->value));
			else
				cJSON_AddNullToObject(o, "relative");
		} else {
			cJSON_AddNullToObject(o, "delta");
			cJSON_AddNullToObject(o, "relative");
		}
		if (goal)
			cJSON_AddStringToObject(o, "goal", goal);
		else
			cJSON_AddNullToObject(o, "goal");
		if (r->better)
			cJSON_AddStringToObject(o, "better", r->better);
		else
			cJSON_AddNullToObject(o, "better");
		cJSON_AddItemToArray(arr, o);
	}
	return cmd_print_json(doc);
}

static void compare_csv(const p4r_version *v, const struct row *rows, size_t n)
{
	char la[160], lb[160], a[32], b[32];
	size_t i;

	label(la, sizeof(la), &v[0]);
	label(lb, sizeof(lb), &v[1]);
	printf("metric,%s,%s,delta,relative,goal,better\n", la, lb);
	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		const char *goal = p4r_metric_goal_name(r->goal);

		a[0] = b[0] = '\0';
		if (r->a)
			p4r_metric_format(a, sizeof(a), r->a->value);
		if (r->b)
			p4r_metric_format(b, sizeof(b), r->b->value);
		printf("%s,%s,%s,", p4r_escape(r->key), a, b);
		if (r->a && r->b) {
			printf("%.10g,", r->b->value - r->a->value);
			if (r->a->value != 0)
				printf("%.10g", (r->b->value - r->a->value) / fabs(r->a->value));
		} else {
			putchar(',');
		}
		printf(",%s,%s\n", goal ? goal : "",
		       !r->better ? "" : !strcmp(r->better, "a") ? la : !strcmp(r->better, "b") ? lb : "equal");
	}
}

static int compare_text(const p4r_version *v, const struct row *rows, size_t n)
{
	char la[160], lb[160];
	char (*cells)[6][160];
	size_t width[6] = { 0 }, i, c;
	static const char *const head[6] = { "metric", NULL, NULL, "delta", "change", "better" };

	label(la, sizeof(la), &v[0]);
	label(lb, sizeof(lb), &v[1]);
	if (!(cells = calloc(n + 1, sizeof(*cells))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (c = 0; c < 6; c++)
		snprintf(cells[0][c], sizeof(cells[0][c]), "%s", c == 1 ? la : c == 2 ? lb : head[c]);
	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		char (*row)[160] = cells[i + 1];

		snprintf(row[0], sizeof(row[0]), "%s", p4r_escape(r->key));
		if (r->a)
			p4r_metric_format(row[1], sizeof(row[1]), r->a->value);
		else
			snprintf(row[1], sizeof(row[1]), "-");
		if (r->b)
			p4r_metric_format(row[2], sizeof(row[2]), r->b->value);
		else
			snprintf(row[2], sizeof(row[2]), "-");
		if (r->a && r->b) {
			double d = r->b->value - r->a->value;

			snprintf(row[3], sizeof(row[3]), "%+.6g", d);
			if (r->a->value != 0)
				snprintf(row[4], sizeof(row[4]), "%+.2f%%", 100 * d / fabs(r->a->value));
			else
				snprintf(row[4], sizeof(row[4]), "-");
		} else {
			snprintf(row[3], sizeof(row[3]), "-");
			snprintf(row[4], sizeof(row[4]), "-");
		}
		snprintf(row[5], sizeof(row[5]), "%s", !r->better ? "" : !strcmp(r->better, "a") ? la :
			 !strcmp(r->better, "b") ? lb : "=");
	}
	for (i = 0; i <= n; i++)
		for (c = 0; c < 6; c++)
			if (strlen(cells[i][c]) > width[c])
				width[c] = strlen(cells[i][c]);
	for (i = 0; i <= n; i++) {
		/* The last column is often empty: no trailing blanks then. */
		size_t last = cells[i][5][0] ? 5 : 4;

		for (c = 0; c <= last; c++)
			print_padded(cells[i][c], width[c], c == last);
	}
	free(cells);
	return 0;
}

static int compare(p4r_cli *cli, p4r_repo *repo, const char *ra, const char *rb, bool csv,
		   const char *experiment)
{
	p4r_version v[2] = { { 0 }, { 0 } };
	p4r_metric_table t = { 0 };
	struct row *rows = NULL;
	size_t k;
	int rc;

	if ((rc = p4r_ref_resolve(repo, ra, &v[0])) < 0 || (rc = p4r_ref_resolve(repo, rb, &v[1])) < 0 ||
	    (rc = p4r_metrics_table_scoped(p4r_repo_registry(repo), v, 2, experiment, &t)) < 0)
		goto done;
	if (t.nkeys && !(rows = calloc(t.nkeys, sizeof(*rows)))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	for (k = 0; k < t.nkeys; k++) {
		struct row *r = &rows[k];

		r->key = t.keys[k];
		r->a = p4r_metric_table_get(&t, 0, k);
		r->b = p4r_metric_table_get(&t, 1, k);
		if ((rc = p4r_metric_goal_get(&r->goal, p4r_repo_config(repo), r->key)) < 0)
			goto done;
		if (r->a && r->b && r->goal != P4R_GOAL_UNKNOWN) {
			if (r->a->value == r->b->value)
				r->better = "equal";
			else if ((r->b->value > r->a->value) == (r->goal == P4R_GOAL_MAX))
				r->better = "b";
			else
				r->better = "a";
		}
	}
	if (cli->json)
		rc = compare_json(v, rows, t.nkeys);
	else if (csv)
		compare_csv(v, rows, t.nkeys);
	else
		rc = compare_text(v, rows, t.nkeys);
done:
	free(rows);
	p4r_metric_table_clear(&t);
	p4r_version_clear(&v[0]);
	p4r_version_clear(&v[1]);
	return rc;
}

/* ---- REF REF REF... ---- */

/* One metric across the versions: its direction and which hold the best
 * value (BEST[i]: version i does; NBEST 0 when there is nothing to rank). */
struct across {
	p4r_metric_goal goal;
	bool *best;
	size_t nbest;
	bool all_equal;         /* every version with a value has the same one */
};

/* Ranks column K of T (N rows) into A (A->best has N slots). */
static void rank(struct across *a, const p4r_metric_table *t, size_t k, size_t n)
{
	const p4r_metric_cell *c, *top = NULL;
	size_t r, present = 0;

	a->nbest = 0;
	a->all_equal = true;
	for (r = 0; r < n; r++) {
		if (!(c = p4r_metric_table_get(t, r, k)))
			continue;
		present++;
		if (top && c->value != top->value)
			a->all_equal = false;
		if (!top || (a->goal == P4R_GOAL_MAX ? c->value > top->value : c->value < top->value))
			top = c;
	}
	if (a->goal == P4R_GOAL_UNKNOWN || present < 2)
		return;
	for (r = 0; r < n; r++) {
		c = p4r_metric_table_get(t, r, k);
		a->best[r] = c && c->value == top->value;
		a->nbest += a->best[r];
	}
}

/* The ranking of every key of T over N versions: *OUT has T->nkeys entries. */
static int rank_all(struct across **out, p4r_repo *repo, const p4r_metric_table *t, size_t n)
{
	struct across *a = calloc(t->nkeys + 1, sizeof(*a));
	size_t k;
	int rc;

	*out = a;
	if (!a)
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (k = 0; k < t->nkeys; k++) {
		if (!(a[k].best = calloc(n, sizeof(*a[k].best))))
			return p4r_error_set(P4R_ERROR, "out of memory");
		if ((rc = p4r_metric_goal_get(&a[k].goal, p4r_repo_config(repo), t->keys[k])) < 0)
			return rc;
		rank(&a[k], t, k, n);
	}
	return 0;
}

static void across_free(struct across *a, size_t nkeys)
{
	size_t k;

	for (k = 0; a && k < nkeys; k++)
		free(a[k].best);
	free(a);
}

/* "emb@2 emb@3" (raw text), "=" when every value is the best, "" when
 * nothing is ranked; into BUF. */
static void best_labels(char *buf, size_t size, const struct across *a, const p4r_version *v, size_t n)
{
	size_t r, used = 0;

	buf[0] = '\0';
	if (a->nbest && a->all_equal) {
		snprintf(buf, size, "=");
		return;
	}
	for (r = 0; a->nbest && r < n && used < size; r++)
		if (a->best[r])
			used += (size_t)snprintf(buf + used, size - used, "%s%s@%lld", used ? " " : "",
						 v[r].model, (long long)v[r].number);
}

static int many_json(const p4r_version *v, size_t n, const p4r_metric_table *t, const struct across *a)
{
	cJSON *doc = cJSON_CreateObject(), *vs = cJSON_AddArrayToObject(doc, "versions");
	cJSON *ms = cJSON_AddArrayToObject(doc, "metrics"), *o, *vals, *best;
	const p4r_metric_cell *c;
	size_t r, k;

	for (r = 0; r < n; r++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "model", v[r].model);
		cJSON_AddNumberToObject(o, "version", (double)v[r].number);
		cJSON_AddStringToObject(o, "stage", p4r_stage_name(v[r].stage));
		cJSON_AddItemToArray(vs, o);
	}
	for (k = 0; k < t->nkeys; k++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "key", t->keys[k]);
		vals = cJSON_AddArrayToObject(o, "values");
		for (r = 0; r < n; r++)
			cJSON_AddItemToArray(vals, (c = p4r_metric_table_get(t, r, k)) ?
					     p4r_json_metric_value(c->value) : cJSON_CreateNull());
		if (p4r_metric_goal_name(a[k].goal))
			cJSON_AddStringToObject(o, "goal", p4r_metric_goal_name(a[k].goal));
		else
			cJSON_AddNullToObject(o, "goal");
		best = a[k].nbest ? cJSON_AddArrayToObject(o, "best") : cJSON_AddNullToObject(o, "best");
		for (r = 0; a[k].nbest && r < n; r++)
			if (a[k].best[r])
				cJSON_AddItemToArray(best, cJSON_CreateNumber((double)r));
		cJSON_AddItemToArray(ms, o);
	}
	return cmd_print_json(doc);
}

/* Row K of the text table or CSV: the key, each version's value ("-", or
 * "" in CSV, when missing), the goal (CSV only) and the best. */
static int many_row(cmd_table *tab, const p4r_version *v, size_t n, const p4r_metric_table *t,
		    const struct across *a, size_t k, bool csv)
{
	const char **cells = calloc(n + 3, sizeof(*cells));
	char (*nums)[32] = calloc(n + 1, sizeof(*nums)), best[1024];
	const p4r_metric_cell *c;
	size_t r, i = 0;
	int rc = 0;

	if (!cells || !nums) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	cells[i++] = t->keys[k];
	for (r = 0; r < n; r++) {
		if ((c = p4r_metric_table_get(t, r, k)))
			p4r_metric_format(nums[r], sizeof(nums[r]), c->value);
		cells[i++] = c ? nums[r] : csv ? "" : "-";
	}
	if (csv)
		cells[i++] = p4r_metric_goal_name(a[k].goal) ? p4r_metric_goal_name(a[k].goal) : "";
	best_labels(best, sizeof(best), &a[k], v, n);
	cells[i++] = best;
	if (csv)
		print_csv_row(cells, i);
	else
		rc = cmd_table_row(tab, cells);
done:
	free(cells);
	free(nums);
	return rc;
}

/* The header: "metric", each version's label, ("goal",) "best". */
static int many_head(cmd_table *tab, const p4r_version *v, size_t n, bool csv)
{
	const char **cells = calloc(n + 3, sizeof(*cells));
	char (*labels)[P4R_MODEL_NAME_MAX + 24] = calloc(n + 1, sizeof(*labels));
	size_t r, i = 0;
	int rc = 0;

	if (!cells || !labels) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	cells[i++] = "metric";
	for (r = 0; r < n; r++) {
		snprintf(labels[r], sizeof(labels[r]), "%s@%lld", v[r].model, (long long)v[r].number);
		cells[i++] = labels[r];
	}
	if (csv)
		cells[i++] = "goal";
	cells[i++] = "best";
	if (csv)
		print_csv_row(cells, i);
	else
		rc = cmd_table_row(tab, cells);
done:
	free(cells);
	free(labels);
	return rc;
}

static int many_text(const p4r_version *v, size_t n, const p4r_metric_table *t, const struct across *a,
		     bool csv)
{
	cmd_column *cols = calloc(n + 2, sizeof(*cols));
	cmd_table *tab = cols && !csv ? cmd_table_new(cols, n + 2) : NULL;
	size_t k;
	int rc = cols && (csv || tab) ? 0 : p4r_error_set(P4R_ERROR, "out of memory");

	for (k = 0; cols && k < n + 2; k++)
		cols[k].sep = "  ";
	if (rc == 0)
		rc = many_head(tab, v, n, csv);
	for (k = 0; rc == 0 && k < t->nkeys; k++)
		rc = many_row(tab, v, n, t, a, k, csv);
	if (rc == 0 && tab)
		cmd_table_print(tab);
	cmd_table_free(tab);
	free(cols);
	return rc;
}

/* metrics REF REF REF...: one column per version, the best marked. */
static int compare_many(p4r_cli *cli, p4r_repo *repo, const char *const *refs, size_t n, bool csv,
			const char *experiment)
{
	p4r_version *v = calloc(n, sizeof(*v));
	p4r_metric_table t = { 0 };
	struct across *a = NULL;
	size_t i;
	int rc = v ? 0 : p4r_error_set(P4R_ERROR, "out of memory");

	for (i = 0; rc == 0 && i < n; i++)
		rc = p4r_ref_resolve(repo, refs[i], &v[i]);
	if (rc == 0 && (rc = p4r_metrics_table_scoped(p4r_repo_registry(repo), v, n, experiment, &t)) == 0 &&
	    (rc = rank_all(&a, repo, &t, n)) == 0)
		rc = cli->json ? many_json(v, n, &t, a) : many_text(v, n, &t, a, csv);
	across_free(a, t.nkeys);
	p4r_metric_table_clear(&t);
	p4r_version_array_free(v, v ? n : 0);
	return rc;
}

/* ---- REF --history KEY ---- */

/* step, time, value, run: columns as wide as their longest value. */
static int history_text(const p4r_metric_point *pts, size_t n)
{
	static const cmd_column columns[] = {
		{ 10, false, NULL }, { 20, false, NULL }, { 24, false, NULL }, { 0, false, NULL },
	};
	static const char *const head[] = { "step", "time", "value", "run" };
	cmd_table *t = cmd_table_new(columns, 4);
	size_t i;
	int rc = t ? cmd_table_row(t, head) : p4r_error_set(P4R_ERROR, "out of memory");

	for (i = 0; rc == 0 && i < n; i++) {
		char step[24], when[32], num[32];
		const char *row[4] = { step, when, num, pts[i].run ? pts[i].run : "-" };

		snprintf(step, sizeof(step), "%lld", (long long)pts[i].step);
		p4r_format_time(when, sizeof(when), pts[i].at_ms);
		p4r_metric_format(num, sizeof(num), pts[i].value);
		rc = cmd_table_row(t, row);
	}
	if (rc == 0)
		cmd_table_print(t);
	cmd_table_free(t);
	return rc;
}

static int history(p4r_cli *cli, p4r_repo *repo, const char *ref, const char *key, bool csv)
{
	p4r_metric_point *pts = NULL;
	p4r_version v = { 0 };
	char when[32], num[32];
	size_t n = 0, i;
	int rc;

	if (!p4r_metric_key_valid(key))
		return p4r_error_set(P4R_EUSAGE, "invalid metric key '%s': use 1..%d letters, digits "
				     "and '_ . - / @'", key, P4R_METRIC_KEY_MAX);
	if ((rc = p4r_ref_resolve(repo, ref, &v)) < 0 ||
	    (rc = p4r_metrics_history(p4r_repo_registry(repo), v.id, key, &pts, &n)) < 0)
		goto done;
	if (n == 0) {
		rc = p4r_error_set(P4R_ENOTFOUND, "%s@%lld has no metric '%s'", v.model,
				   (long long)v.number, key);
		goto done;
	}
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject(), *arr;

		cJSON_AddStringToObject(doc, "model", v.model);
		cJSON_AddNumberToObject(doc, "version", (double)v.number);
		cJSON_AddStringToObject(doc, "key", key);
		arr = cJSON_AddArrayToObject(doc, "history");
		for (i = 0; i < n; i++) {
			cJSON *o = cJSON_CreateObject();

			p4r_format_time(when, sizeof(when), pts[i].at_ms);
			cJSON_AddNumberToObject(o, "step", (double)pts[i].step);
			cJSON_AddStringToObject(o, "time", when);
			cJSON_AddItemToObject(o, "value", p4r_json_metric_value(pts[i].value));
			if (pts[i].run)
				cJSON_AddStringToObject(o, "run", pts[i].run);
			else
				cJSON_AddNullToObject(o, "run");
			cJSON_AddItemToArray(arr, o);
		}
		rc = cmd_print_json(doc);
		goto done;
	}
	if (csv) {
		puts("step,time,value,run");
		for (i = 0; i < n; i++) {
			p4r_format_time(when, sizeof(when), pts[i].at_ms);
			p4r_metric_format(num, sizeof(num), pts[i].value);
			printf("%lld,%s,%s,%s\n", (long long)pts[i].step, when, num, p4r_escape(pts[i].run));
		}
		goto done;
	}
	rc = history_text(pts, n);
done:
	p4r_metric_points_free(pts, n);
	p4r_version_clear(&v);
	return rc;
}

/* What the command line asked. */
struct margs {
	const char **args;      /* MODEL or REFs; room for every argument */
	size_t nargs;
	const char *key;        /* --history */
	const char *experiment; /* --experiment */
	bool csv;
};

static int take_option(p4r_cli *cli, struct margs *m, int id, const char *value)
{
	switch (id) {
	case OPT_CSV:
		m->csv = true;
		return 0;
	case OPT_HISTORY:
		if (m->key)
			return cmd_usage_error(cli, "--history given twice");
		m->key = value;
		return 0;
	case OPT_EXPERIMENT:
		if (m->experiment)
			return cmd_usage_error(cli, "--experiment given twice");
		if (!p4r_experiment_valid(value))
			return p4r_error_set(P4R_EUSAGE, "invalid experiment '%s': use 1..%d letters, "
					     "digits and '_ . - / @'", value, P4R_EXPERIMENT_MAX);
		m->experiment = value;
		return 0;
	default:
		m->args[m->nargs++] = value;
		return 0;
	}
}

static int run(p4r_cli *cli, p4r_repo *repo, const struct margs *m)
{
	if (m->csv && cli->json)
		return cmd_usage_error(cli, "--csv and --json exclude each other");
	if (m->key) {
		if (m->nargs != 1)
			return cmd_usage_error(cli, "--history needs exactly one REF");
		if (m->experiment)  /* the history lists every run's points, with the run */
			return cmd_usage_error(cli, "--history shows every run: --experiment does not apply");
		return history(cli, repo, m->args[0], m->key, m->csv);
	}
	if (m->nargs == 0)
		return cmd_usage_error(cli, "metrics needs a MODEL or two or more REFs");
	if (m->nargs == 1)
		return show_model(cli, repo, m->args[0], m->csv, m->experiment);
	if (m->nargs == 2)
		return compare(cli, repo, m->args[0], m->args[1], m->csv, m->experiment);
	return compare_many(cli, repo, m->args, m->nargs, m->csv, m->experiment);
}

int cmd_metrics(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	struct margs m = { .args = calloc((size_t)argc + 1, sizeof(*m.args)) };
	const char *value;
	p4r_opts o;
	int id, rc;

	if (!m.args)
		return p4r_error_set(P4R_ERROR, "out of memory");
	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE)
		if ((rc = take_option(cli, &m, id, value)) < 0)
			break;
	if (rc == 0)
		rc = run(cli, repo, &m);
	free(m.args);
	return rc;
}
