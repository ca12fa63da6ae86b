/* p4reg __complete WORD...: what the shell's completion (completion.c)
 * asks on every TAB. WORDS are the command line after "p4reg" up to the
 * word being completed (the last, maybe empty). The answer is one
 * candidate a line, "WORD" or "WORD<TAB>DESCRIPTION", then one line ":"
 * with the directives: "files" (offer file names too), "dirs" (folder
 * names), "nospace" (no blank after the word: "minilm@").
 *
 * Nothing here is a copy of a table: commands and summaries come from
 * main.c's command table, options from each command's option lines
 * (cmd_help_json, what `p4reg --json help CMD` prints), what a positional
 * argument is from the placeholders of its usage synopsis (MODEL, REF,
 * PATH, COMMAND, a literal subcommand word), names from the registry and
 * config (p4r_complete: no libgit2, no network). */
#include "cmd.h"
#include "p4reg/ops/complete.h"

#include <string.h>

enum { WANT_FILES = 1, WANT_DIRS = 2, NOSPACE = 4,
       WANT_MODELS = 8, WANT_REFS = 16, WANT_REMOTES = 32, WANT_COMMANDS = 64, WANT_STAGES = 128 };

#define MAX_POSITIONALS 64

/* What the words before the current one say. */
typedef struct words_ctx {
	const char *start;     /* -C DIR: where the repository is looked for */
	const char *cur;       /* the word being completed (after GLUE) */
	char glue[64];         /* "--remote=" of a current word "--remote=or" */
	cJSON *help;           /* the command's help document; NULL while typing it */
	const char *command;   /* its name */
	const cJSON *value_of; /* the current word is this option's value */
	bool after_dashdash;   /* "--" was typed: only positionals */
	const char *pos[MAX_POSITIONALS]; /* the positional arguments typed */
	size_t npos;
	unsigned flags;        /* WANT_* and NOSPACE gathered so far */
} words_ctx;

static const char *json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Prints CAND (and its DESC) when it starts with the current word. */
static void emit(words_ctx *c, const char *cand, const char *desc)
{
	size_t n = strlen(cand);

	if (strncmp(cand, c->cur, strlen(c->cur)))
		return;
	if (n && cand[n - 1] == '@')
		c->flags |= NOSPACE;
	if (desc)
		printf("%s%s\t%s\n", c->glue, cand, desc);
	else
		printf("%s%s\n", c->glue, cand);
}

/* The option of help document HELP that WORD names ("--remote", "-r";
 * "--remote=x" names --remote); NULL when none. */
static const cJSON *find_option(const cJSON *help, const char *word)
{
	size_t n = strcspn(word, "=");
	const cJSON *o;

	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(help, "options")) {
		const char *l = json_str(o, "long"), *s = json_str(o, "short");

		if ((l && strlen(l) == n && !strncmp(l, word, n)) || (s && !strcmp(s, word)))
			return o;
	}
	return NULL;
}

static bool takes_value(const cJSON *opt)
{
	return opt && json_str(opt, "value");
}

/* The option a cluster of short options ("-fm", "-mREASON") leaves waiting
 * for its value in the next word; NULL when none does. */
static const cJSON *cluster_value(const cJSON *help, const char *word)
{
	char one[3] = "-?";
	const cJSON *o;
	size_t i;

	for (i = 1; word[i]; i++) {
		one[1] = word[i];
		o = find_option(help, one);
		if (takes_value(o))
			return word[i + 1] ? NULL : o; /* "-mREASON" holds its value */
	}
	return NULL;
}

/* The option WORD leaves waiting for a value in the next word, or NULL. */
static const cJSON *wants_value(const cJSON *help, const char *word)
{
	const cJSON *o;

	if (word[1] != '-')
		return cluster_value(help, word);
	if (strchr(word, '='))
		return NULL; /* "--remote=x" holds its value */
	o = find_option(help, word);
	return takes_value(o) ? o : NULL;
}

/* Reads WORDS[FIRST..N-1) (the command's arguments before the current
 * word): positionals, "--", options and the values they take. Bash splits
 * "--remote=x" into "--remote", "=", "x": the "=" is skipped. */
static void read_arguments(words_ctx *c, char **words, int first, int n)
{
	const cJSON *opt;
	int j;

	for (j = first; j < n - 1; j++) {
		const char *w = words[j];

		if (c->after_dashdash || w[0] != '-' || !w[1]) {
			if (c->npos < MAX_POSITIONALS)
				c->pos[c->npos++] = w;
		} else if (!strcmp(w, "--")) {
			c->after_dashdash = true;
		} else if ((opt = wants_value(c->help, w))) {
			if (j + 1 < n - 1 && !strcmp(words[j + 1], "="))
				j++;
			if (++j == n - 1)
				c->value_of = opt;
		}
	}
}

/* ---- the usage synopsis: what each positional argument is ---- */

#define MAX_SLOTS 16
#define MAX_FORMS 8

/* One positional argument of a form: its alternatives ("REF|PATH"). */
typedef struct slot {
	char text[64];         /* the alternatives, '|'-separated */
	bool repeat;           /* "PATH...": this and every later argument */
} slot;

/* One way to call the command ("p4reg remote add [-d] ... NAME URL"). */
typedef struct form {
	slot s[MAX_SLOTS];
	size_t n;
} form;

/* A lowercase word ("add", "bash|zsh|fish"): typed as it is. */
static bool is_literal(const char *text)
{
	return text[0] >= 'a' && text[0] <= 'z' && strspn(text, "abcdefghijklmnopqrstuvwxyz-|") == strlen(text);
}

/* One token of a form: an option (its value token skipped after it), a
 * "..." repeating the argument before it, or a positional argument. */
static void form_token(const cJSON *help, form *f, const char *tok, size_t len, bool *skip)
{
	bool value = *skip;

	*skip = false;
	if (value || (len == 1 && tok[0] == '|'))
		return;
	if (len == 3 && !strncmp(tok, "...", 3)) {
		if (f->n)
			f->s[f->n - 1].repeat = true;
		return;
	}
	if (len > 1 && tok[0] == '-') {
		char opt[64];

		snprintf(opt, sizeof(opt), "%.*s", (int)len, tok);
		*skip = takes_value(find_option(help, opt));
		return;
	}
	if (f->n >= MAX_SLOTS)
		return;
	f->s[f->n].repeat = len > 3 && !strncmp(tok + len - 3, "...", 3);
	snprintf(f->s[f->n].text, sizeof(f->s[f->n].text), "%.*s",
		 (int)(f->s[f->n].repeat ? len - 3 : len), tok);
	f->n++;
}

/* Adds the tokens of TEXT (up to END) to form F. */
static void form_text(const cJSON *help, form *f, const char *text, const char *end)
{
	bool skip = false;
	size_t len;

	while (text < end) {
		text += strspn(text, " []");
		len = strcspn(text, " []\n");
		if (text + len > end)
			len = (size_t)(end - text);
		if (len)
			form_token(help, f, text, len, &skip);
		text += len;
	}
}

/* The forms of the usage synopsis (its lines before the first blank one):
 * each "p4reg COMMAND ..." line starts one, other lines continue it. */
static size_t read_forms(const words_ctx *c, form *forms)
{
	const char *usage = json_str(c->help, "usage"), *line, *end, *p;
	size_t n = 0, clen = strlen(c->command);

	for (line = usage ? usage : ""; *line && *line != '\n'; line = *end ? end + 1 : end) {
		end = line + strcspn(line, "\n");
		p = line + strspn(line, " ");
		if (!strncmp(p, "usage:", 6) || !strncmp(p, "or:", 3))
			p = strchr(p, ':') + 1;
		p += strspn(p, " ");
		if (!strncmp(p, "p4reg ", 6) && !strncmp(p + 6, c->command, clen) &&
		    (p[6 + clen] == ' ' || p + 6 + clen == end)) {
			if (n == MAX_FORMS)
				break;
			memset(&forms[n++], 0, sizeof(*forms));
			p += 6 + clen;
		}
		if (n)
			form_text(c->help, &forms[n - 1], p, end);
	}
	return n;
}

/* Form F's argument at index I: NULL past its end. */
static const slot *slot_at(const form *f, size_t i)
{
	if (i < f->n)
		return &f->s[i];
	return f->n && f->s[f->n - 1].repeat ? &f->s[f->n - 1] : NULL;
}

/* True when WORD is one of the '|'-separated alternatives of TEXT. */
static bool alternative_of(const char *text, const char *word)
{
	size_t len = strlen(word);
	const char *p;

	for (p = text; *p; p += strcspn(p, "|"), p += *p == '|') {
		if (!strncmp(p, word, len) && (p[len] == '|' || !p[len]))
			return true;
	}
	return false;
}

/* Whether the positionals typed so far fit form F (a literal subcommand
 * word typed as it is written there). */
static bool form_fits(const words_ctx *c, const form *f)
{
	size_t i;

	for (i = 0; i < c->npos; i++) {
		const slot *s = slot_at(f, i);

		if (!s || (is_literal(s->text) && !alternative_of(s->text, c->pos[i])))
			return false;
	}
	return true;
}

/* What the placeholder ALT (one alternative, LEN bytes) offers. The remote
 * command's NAME names an existing remote, except the one 'remote add'
 * creates. */
static unsigned placeholder_wants(const words_ctx *c, const form *f, const char *alt, size_t len)
{
	static const char *const files[] = { "PATH", "OLD", "NEW", "DIR", "FILE" };
	char word[64];
	size_t i;

	snprintf(word, sizeof(word), "%.*s", (int)len, alt);
	if (!strcmp(word, "MODEL"))
		return WANT_MODELS;
	if (!strcmp(word, "REF"))
		return WANT_REFS;
	if (!strcmp(word, "COMMAND"))
		return WANT_COMMANDS;
	if (!strcmp(word, "STAGE"))
		return WANT_STAGES;
	if (!strcmp(word, "NAME") && !strcmp(c->command, "remote") && strcmp(f->s[0].text, "add"))
		return WANT_REMOTES;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (!strcmp(word, files[i]))
			return WANT_FILES;
	return strchr(word, '.') ? WANT_FILES : 0; /* F.json */
}

/* The candidates for positional argument number C->npos. */
static void positional_wants(words_ctx *c)
{
	form forms[MAX_FORMS];
	size_t n = read_forms(c, forms), i;

	for (i = 0; i < n; i++) {
		const slot *s = slot_at(&forms[i], c->npos);
		const char *p;

		if (!s || !form_fits(c, &forms[i]))
			continue;
		for (p = s->text; *p; p += strcspn(p, "|"), p += *p == '|') {
			size_t len = strcspn(p, "|");
			char word[64];

			snprintf(word, sizeof(word), "%.*s", (int)len, p);
			if (is_literal(word))
				emit(c, word, NULL);
			else
				c->flags |= placeholder_wants(c, &forms[i], p, len);
		}
	}
}

/* ---- the candidates ---- */

static void emit_commands(words_ctx *c)
{
	cJSON *doc = cmd_help_json(NULL);
	const cJSON *o;

	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(doc, "commands"))
		emit(c, json_str(o, "name"), json_str(o, "summary"));
	cJSON_Delete(doc);
}

static void emit_options(words_ctx *c, const cJSON *help)
{
	const cJSON *o;

	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(help, "options")) {
		const char *l = json_str(o, "long"), *s = json_str(o, "short");

		if (l)
			emit(c, l, NULL);
		if (s)
			emit(c, s, NULL);
	}
}

/* Names of KIND from the registry or the config files; nothing when
 * there is no repository (or it cannot be read). */
static void emit_names(words_ctx *c, p4r_complete_kind kind)
{
	p4r_complete_opts opts = { .kind = kind, .prefix = c->cur, .start = c->start };
	p4r_complete_result res;
	size_t i;

	if (p4r_complete(&opts, &res) < 0) {
		p4r_error_clear();
		return;
	}
	for (i = 0; i < res.n; i++)
		emit(c, res.v[i], NULL);
	p4r_complete_result_free(&res);
}

/* What the value of option OPT may be: a remote (-r/--remote), a stage,
 * a model, a reference, a file, or anything (nothing offered). */
static unsigned value_wants(const words_ctx *c, const cJSON *opt)
{
	const char *l = json_str(opt, "long"), *v = json_str(opt, "value");
	static const form none;

	if (l && !strcmp(l, "--remote"))
		return WANT_REMOTES;
	return v ? placeholder_wants(c, &none, v, strlen(v)) & ~(unsigned)WANT_REMOTES : 0;
}

static void emit_wanted(words_ctx *c)
{
	size_t i;

	if (c->flags & WANT_COMMANDS)
		emit_commands(c);
	for (i = 0; (c->flags & WANT_STAGES) && i < P4R_STAGE_COUNT; i++)
		emit(c, p4r_stage_name((p4r_stage)i), NULL);
	if (c->flags & WANT_MODELS)
		emit_names(c, P4R_COMPLETE_MODELS);
	if (c->flags & WANT_REFS)
		emit_names(c, P4R_COMPLETE_REFS);
	if (c->flags & WANT_REMOTES)
		emit_names(c, P4R_COMPLETE_REMOTES);
}

static void print_directives(unsigned flags)
{
	printf(":%s%s%s\n", flags & WANT_FILES ? " files" : "", flags & WANT_DIRS ? " dirs" : "",
	       flags & NOSPACE ? " nospace" : "");
}

/* Before the command: global options (-C takes a folder) or the command. */
static int global_word(words_ctx *c, char **words, int n, int *first)
{
	int i = 0;

	while (i < n - 1 && words[i][0] == '-' && words[i][1]) {
		if (!strcmp(words[i], "-C") && i + 1 < n - 1)
			c->start = words[++i];
		else if (!strcmp(words[i], "-C"))
			return WANT_DIRS;
		i++;
	}
	*first = i;
	if (i < n - 1)
		return -1; /* the command is typed */
	if (c->cur[0] == '-') {
		cJSON *doc = cmd_help_json(NULL);

		emit_options(c, doc);
		cJSON_Delete(doc);
		return 0;
	}
	return WANT_COMMANDS;
}

/* A current word "--remote=or" (zsh and fish keep it one word; bash
 * splits it at the '='): the value "or" of --remote, offered glued. */
static void glued_value(words_ctx *c)
{
	const char *eq = strchr(c->cur, '=');
	const cJSON *opt;

	if (c->after_dashdash || c->value_of || strncmp(c->cur, "--", 2) || !eq ||
	    (size_t)(eq - c->cur) + 1 >= sizeof(c->glue))
		return;
	if (!takes_value(opt = find_option(c->help, c->cur)))
		return;
	snprintf(c->glue, sizeof(c->glue), "%.*s", (int)(eq - c->cur) + 1, c->cur);
	c->cur = eq + 1;
	c->value_of = opt;
}

int cmd_complete(p4r_cli *cli, int argc, char **argv)
{
	char *none[] = { "" };
	words_ctx c = { 0 };
	char **words = argc > 1 ? argv + 1 : none;
	int n = argc > 1 ? argc - 1 : 1, first = 0, wants;

	(void)cli;
	c.cur = words[n - 1];
	if ((wants = global_word(&c, words, n, &first)) >= 0) {
		c.flags |= (unsigned)wants;
	} else if ((c.help = cmd_help_json(words[first]))) {
		c.command = words[first];
		read_arguments(&c, words, first + 1, n);
		glued_value(&c);
		if (c.value_of)
			c.flags |= value_wants(&c, c.value_of);
		else if (!c.after_dashdash && c.cur[0] == '-')
			emit_options(&c, c.help);
		else
			positional_wants(&c);
	}
	emit_wanted(&c);
	print_directives(c.flags);
	cJSON_Delete(c.help);
	return 0;
}
