/* Printing helpers shared by the commands (see cmd.h). */
#include "cmd.h"
#include "p4reg/lifecycle.h"
#include "p4reg/objguard.h"
#include "p4reg/ops/checkout.h"
#include "p4reg/ops/op.h"
#include "p4reg/registry.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int cmd_print_json(cJSON *doc)
{
	char *printed, *text;
	int rc = 0;

	if (!doc)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if ((rc = p4r_json_sanitize(doc)) < 0) {
		cJSON_Delete(doc);
		return rc;
	}
	printed = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	text = printed ? p4r_json_escape_hidden(printed) : NULL;
	cJSON_free(printed);
	if (!text)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if (fputs(text, stdout) == EOF || fputc('\n', stdout) == EOF)
		rc = p4r_error_errno("cannot write to standard output");
	free(text);
	return rc;
}

int cmd_usage_error(p4r_cli *cli, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	(void)cli;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p4r_error_set(P4R_EUSAGE, "%s", msg);
	p4r_error_mark_usage();
	return P4R_EUSAGE;
}

/* One line on stderr: PREFIX, then FMT formatted and escaped whole, so
 * its arguments cannot break the line or drive the terminal. */
static void print_line(const char *prefix, const char *fmt, va_list ap)
{
	char *text = NULL;

	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	fprintf(stderr, "%s%s\n", prefix, text ? p4r_escape(text) : "out of memory");
	free(text);
}

void cmd_note(p4r_cli *cli, const char *fmt, ...)
{
	va_list ap;

	if (cli->quiet || cli->json)
		return;
	va_start(ap, fmt);
	print_line("", fmt, ap);
	va_end(ap);
}

void cmd_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	print_line("p4reg: warning: ", fmt, ap);
	va_end(ap);
}

int cmd_next_opt(p4r_opts *o, int *id, const char **value)
{
	int rc = p4r_opts_next(o, id, value);

	if (rc == 0 && *id == P4R_OPT_HELP)
		rc = p4r_error_set(P4R_EUSAGE, "-h/--help must come before '--'");
	if (rc < 0)
		p4r_error_mark_usage();
	return rc;
}

int cmd_no_args(p4r_cli *cli, const char *name, int argc, char **argv)
{
	static const p4r_option none[] = { { NULL, 0, false, 0 } };
	const char *value;
	p4r_opts o;
	int id, rc;

	p4r_opts_init(&o, argc - 1, argv + 1, none);
	if ((rc = cmd_next_opt(&o, &id, &value)) < 0)
		return rc;
	return id == P4R_OPT_DONE ? 0 : cmd_usage_error(cli, "%s takes no arguments", name);
}

int cmd_parse_count(int64_t *out, const char *option, const char *text)
{
	long long n;

	if (p4r_parse_int64(&n, text, 1, INT64_MAX, option) < 0)
		return p4r_error_set(P4R_EUSAGE, "invalid %s '%s': give a count from 1", option, text);
	*out = n;
	return 0;
}

int cmd_model_arg(const char *name, const char *text)
{
	const char *at = strchr(text, '@');
	char model[P4R_MODEL_NAME_MAX + 1];

	if (p4r_model_name_valid(text))
		return 0;
	/* name@2, name@production: the user meant the model */
	if (at && (size_t)(at - text) < sizeof(model)) {
		snprintf(model, sizeof(model), "%.*s", (int)(at - text), text);
		if (p4r_model_name_valid(model))
			return p4r_error_set(P4R_EUSAGE, "%s takes a model name, not a version: drop '%s'",
					     name, at);
	}
	return p4r_error_set(P4R_EUSAGE, "invalid model name '%s'", text);
}

/* ---- tables ---- */

struct table_entry {
	char **cells; /* NCOLS escaped cells, or NULL for a line */
	char *line;   /* escaped */
};

struct cmd_table {
	const cmd_column *cols;
	size_t ncols, n, cap;
	struct table_entry *e;
};

cmd_table *cmd_table_new(const cmd_column *cols, size_t ncols)
{
	cmd_table *t = calloc(1, sizeof(*t));

	if (t) {
		t->cols = cols;
		t->ncols = ncols;
	}
	return t;
}

static struct table_entry *table_push(cmd_table *t)
{
	struct table_entry *grown;
	size_t cap;

	if (t->n == t->cap) {
		cap = t->cap ? 2 * t->cap : 16;
		if (!(grown = realloc(t->e, cap * sizeof(*grown))))
			return NULL;
		t->e = grown;
		t->cap = cap;
	}
	memset(&t->e[t->n], 0, sizeof(t->e[t->n]));
	return &t->e[t->n++];
}

int cmd_table_row(cmd_table *t, const char *const *cells)
{
	struct table_entry *e = table_push(t);
	size_t c;

	if (!e || !(e->cells = calloc(t->ncols, sizeof(*e->cells))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (c = 0; c < t->ncols; c++)
		if (!(e->cells[c] = strdup(p4r_escape(cells[c] ? cells[c] : ""))))
			return p4r_error_set(P4R_ERROR, "out of memory");
	return 0;
}

int cmd_table_line(cmd_table *t, const char *text)
{
	struct table_entry *e = table_push(t);

	if (!e || !(e->line = strdup(p4r_escape(text))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	return 0;
}

/* Characters, not bytes: escaped text is valid UTF-8. */
static size_t text_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static void pad(size_t from, size_t to)
{
	for (; from < to; from++)
		putchar(' ');
}

void cmd_table_print(const cmd_table *t)
{
	size_t *width = calloc(t->ncols ? t->ncols : 1, sizeof(*width)), i, c, last, w;

	if (!width)
		return;
	for (c = 0; c < t->ncols; c++)
		width[c] = t->cols[c].min;
	for (i = 0; i < t->n; i++)
		for (c = 0; t->e[i].cells && c < t->ncols; c++)
			if ((w = text_width(t->e[i].cells[c])) > width[c])
				width[c] = w;
	for (i = 0; i < t->n; i++) {
		char **cells = t->e[i].cells;

		if (!cells) {
			puts(t->e[i].line);
			continue;
		}
		for (last = t->ncols; last > 0 && !cells[last - 1][0]; last--)
			;
		for (c = 0; c < last; c++) {
			w = text_width(cells[c]);
			if (t->cols[c].right)
				pad(w, width[c]);
			fputs(cells[c], stdout);
			if (c + 1 == last)
				break;
			if (!t->cols[c].right)
				pad(w, width[c]);
			fputs(t->cols[c].sep ? t->cols[c].sep : " ", stdout);
		}
		putchar('\n');
	}
	free(width);
}

void cmd_table_free(cmd_table *t)
{
	size_t i, c;

	if (!t)
		return;
	for (i = 0; i < t->n; i++) {
		for (c = 0; t->e[i].cells && c < t->ncols; c++)
			free(t->e[i].cells[c]);
		free(t->e[i].cells);
		free(t->e[i].line);
	}
	free(t->e);
	free(t);
}

/* ---- the object guard's news (objguard.h) ---- */

void cmd_guard_repaired(const p4r_guard_event *ev, void *payload)
{
	char line[1536];

	(void)payload;
	/* a damaged object that stays so is the command's error */
	if (!ev->repaired[0])
		return;
	p4r_objguard_describe(line, sizeof(line), ev);
	cmd_warn("%s", line);
}

int cmd_guard_report(p4r_cli *cli, const p4r_guard_log *log)
{
	const p4r_guard_event *first = NULL;
	char line[1536];
	size_t i, len;
	int rc;

	for (i = 0; i < log->n; i++) {
		const p4r_guard_event *ev = &log->v[i];

		if (!ev->repaired[0] && !first) {
			first = ev;
			continue;
		}
		p4r_objguard_describe(line, sizeof(line), ev);
		len = strlen(line);
		if (!ev->repaired[0] && len < sizeof(line))
			snprintf(line + len, sizeof(line) - len, "; not repaired%s%s%s",
				 ev->why[0] ? " (" : "", ev->why, ev->why[0] ? ")" : "");
		cmd_warn("%s", line);
	}
	if (!first)
		return 0;
	rc = p4r_objguard_fail(first, first->why);
	if (cli->json) {
		/* stdout already holds the command's one document */
		fprintf(stderr, "p4reg: %s\n", p4r_escape(p4r_error_message()));
		cli->reported = true;
	}
	return rc;
}

void cmd_print_rule_checks(const p4r_verdict *v)
{
	size_t i;

	for (i = 0; i < v->nrules; i++)
		printf("  %s  %s: %s\n", v->rules[i].ok ? "pass" : "FAIL", p4r_escape(v->rules[i].name),
		       p4r_escape(v->rules[i].detail));
}

/* ---- the report of a core operation (ops/op.h) ---- */

/* A step's counts drawn on the one line; a step that reached its totals
 * is wiped (the next one draws afresh). */
static void report_count(const p4r_progress *c, void *payload)
{
	cmd_report *r = payload;

	pthread_mutex_lock(&r->lock);
	cmd_progress_show(c, &r->progress);
	if (p4r_progress_reached(c))
		cmd_progress_done(&r->progress);
	pthread_mutex_unlock(&r->lock);
}

static void report_progress(const char *label, uint64_t done, uint64_t total, void *payload)
{
	p4r_progress c = { .label = label, .has_bytes = true, .bytes = done, .bytes_total = total };

	report_count(&c, payload);
}

/* A line of text goes below a progress line, not into it. */
static void report_warn(const char *text, void *payload)
{
	cmd_report *r = payload;

	pthread_mutex_lock(&r->lock);
	cmd_progress_done(&r->progress);
	cmd_warn("%s", text);
	pthread_mutex_unlock(&r->lock);
}

static void report_note(const char *text, void *payload)
{
	cmd_report *r = payload;

	pthread_mutex_lock(&r->lock);
	cmd_progress_done(&r->progress);
	cmd_note(r->progress.cli, "%s", text);
	pthread_mutex_unlock(&r->lock);
}

static void report_repaired(const p4r_guard_event *ev, void *payload)
{
	cmd_report *r = payload;

	pthread_mutex_lock(&r->lock);
	cmd_progress_done(&r->progress);
	cmd_guard_repaired(ev, NULL);
	pthread_mutex_unlock(&r->lock);
}

p4r_op_report cmd_report_init(cmd_report *r, p4r_cli *cli)
{
	memset(r, 0, sizeof(*r));
	r->progress.cli = cli;
	/* statically initialised: nothing to destroy */
	r->lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	return (p4r_op_report){ .progress = report_progress, .warn = report_warn, .note = report_note,
				.repaired = report_repaired, .payload = r, .count = report_count };
}

void cmd_report_done(cmd_report *r)
{
	cmd_progress_done(&r->progress);
}
