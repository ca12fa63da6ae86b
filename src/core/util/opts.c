/* The single option parser shared by all commands (see opts.h). */
#include "p4reg/opts.h"
#include "p4reg/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void p4r_opts_init(p4r_opts *o, int argc, char **argv, const p4r_option *table)
{
	memset(o, 0, sizeof(*o));
	o->argc = argc;
	o->argv = argv;
	o->table = table;
}

static const p4r_option *find_long(const p4r_option *t, const char *name, size_t len)
{
	for (; t && t->long_name; t++)
		if (strlen(t->long_name) == len && !strncmp(t->long_name, name, len))
			return t;
	return NULL;
}

static const p4r_option *find_short(const p4r_option *t, char c)
{
	for (; t && t->long_name; t++)
		if (t->short_name == c)
			return t;
	return NULL;
}

static int next_short(p4r_opts *o, int *id, const char **value)
{
	char c = *o->short_rest++;
	const p4r_option *opt;

	if (c == 'h') {
		*id = P4R_OPT_HELP;
		return 0;
	}
	opt = find_short(o->table, c);
	if (!opt)
		return p4r_error_set(P4R_EUSAGE, "unknown option '-%c'", c);
	*id = opt->id;
	if (!opt->takes_value)
		return 0;
	if (*o->short_rest) {
		*value = o->short_rest;
	} else if (o->index < o->argc) {
		*value = o->argv[o->index++];
	} else {
		return p4r_error_set(P4R_EUSAGE, "option '-%c' needs a value", c);
	}
	o->short_rest = NULL;
	return 0;
}

static int next_long(p4r_opts *o, const char *arg, int *id, const char **value)
{
	const char *name = arg + 2;
	const char *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const p4r_option *opt;

	if (len == 4 && !strncmp(name, "help", 4)) {
		*id = P4R_OPT_HELP;
		return 0;
	}
	opt = find_long(o->table, name, len);
	if (!opt)
		return p4r_error_set(P4R_EUSAGE, "unknown option '--%.*s'", (int)len, name);
	*id = opt->id;
	if (!opt->takes_value) {
		if (eq)
			return p4r_error_set(P4R_EUSAGE, "option '--%s' takes no value", opt->long_name);
		return 0;
	}
	if (eq) {
		*value = eq + 1;
	} else if (o->index < o->argc) {
		*value = o->argv[o->index++];
	} else {
		return p4r_error_set(P4R_EUSAGE, "option '--%s' needs a value", opt->long_name);
	}
	return 0;
}

int p4r_opts_next(p4r_opts *o, int *id, const char **value)
{
	const char *arg;

	*id = P4R_OPT_DONE;
	*value = NULL;
	if (o->short_rest && *o->short_rest)
		return next_short(o, id, value);
	o->short_rest = NULL;
	if (o->index >= o->argc)
		return 0;
	arg = o->argv[o->index++];
	if (o->positional_only || arg[0] != '-' || arg[1] == '\0') {
		*id = P4R_OPT_POSITIONAL;
		*value = arg;
		return 0;
	}
	if (!strcmp(arg, "--")) {
		o->positional_only = true;
		return p4r_opts_next(o, id, value);
	}
	if (arg[1] == '-')
		return next_long(o, arg, id, value);
	o->short_rest = arg + 1;
	return next_short(o, id, value);
}

int p4r_parse_int64(long long *out, const char *text, long long min, long long max, const char *what)
{
	char *end = NULL;
	long long v;

	errno = 0;
	if (!text || !*text || (text[0] != '-' && (text[0] < '0' || text[0] > '9')))
		return p4r_error_set(P4R_EUSAGE, "invalid %s '%s'", what, text ? text : "");
	v = strtoll(text, &end, 10);
	if (errno || *end || v < min || v > max)
		return p4r_error_set(P4R_EUSAGE, "invalid %s '%s'", what, text);
	*out = v;
	return 0;
}
