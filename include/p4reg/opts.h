/* The one option parser every command uses: long and short options in any
 * order with positionals, "--" ends options, -h/--help anywhere. */
#ifndef P4REG_OPTS_H
#define P4REG_OPTS_H

#include <stdbool.h>

/* One row of a command's option table; a row with long_name NULL ends it. */
typedef struct p4r_option {
	const char *long_name; /* without the leading "--" */
	char short_name;       /* 0 when the option has no short form */
	bool takes_value;      /* "--to X", "--to=X", "-mX", "-m X" */
	int id;                /* what p4r_opts_next reports; must be > 0 */
} p4r_option;

/* What p4r_opts_next reports besides an option's id. */
enum {
	P4R_OPT_DONE = 0,         /* no more arguments */
	P4R_OPT_POSITIONAL = -100, /* *VALUE is a positional argument */
	P4R_OPT_HELP = -101,      /* -h or --help */
};

/* Parser state over ARGV[0..ARGC) (ARGV[0] is the first argument, not the
 * command name). */
typedef struct p4r_opts {
	int argc;
	char **argv;
	const p4r_option *table;
	int index;
	const char *short_rest;  /* remaining letters of a "-abc" cluster */
	bool positional_only;    /* after "--" */
} p4r_opts;

void p4r_opts_init(p4r_opts *o, int argc, char **argv, const p4r_option *table);

/* Stores the next option id (or P4R_OPT_POSITIONAL / P4R_OPT_HELP /
 * P4R_OPT_DONE) in *ID and its value in *VALUE (NULL for flags). Returns 0,
 * or P4R_EUSAGE with "unknown option '--x'" / "option '--to' needs a value" /
 * "option '--quiet' takes no value". */
int p4r_opts_next(p4r_opts *o, int *id, const char **value);

/* Parses a whole decimal integer within [MIN, MAX]; P4R_EUSAGE naming WHAT. */
int p4r_parse_int64(long long *out, const char *text, long long min, long long max, const char *what);

#endif
