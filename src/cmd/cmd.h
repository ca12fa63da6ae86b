/* What every command shares: the global options, the command signature and
 * the printing helpers. Commands parse their arguments, call the core and
 * print; they never exit. */
#ifndef P4REG_CMD_H
#define P4REG_CMD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <cjson/cJSON.h>

#include "p4reg/error.h"
#include "p4reg/opts.h"
#include "p4reg/output.h"
#include "p4reg/progress.h"
#include "p4reg/repo.h"
#include "p4reg/store.h"
#include "p4reg/ops/op.h"

/* Global state of one invocation. */
typedef struct p4r_cli {
	bool json;      /* --json: stdout is exactly one JSON document */
	bool quiet;     /* -q: nothing but errors and requested data */
	bool progress;  /* stderr is a terminal and not quiet/json */
	bool reported;  /* the command already printed its own error output */
	bool no_pager;  /* --no-pager / -P: never page (pager.c) */
	const char *usage; /* the running command's usage text */
} p4r_cli;

/* A command: ARGV[0] is the command name. REPO is NULL for commands that do
 * not need one. Returns 0 or a p4r code (main prints the error). */
typedef int (*p4r_cmd_fn)(p4r_cli *cli, p4r_repo *repo, int argc, char **argv);

#define DECLARE_COMMAND(name) \
	int cmd_##name(p4r_cli *cli, p4r_repo *repo, int argc, char **argv); \
	extern const char cmd_##name##_usage[]

DECLARE_COMMAND(init);
DECLARE_COMMAND(add);
DECLARE_COMMAND(mv);
DECLARE_COMMAND(checkout);
DECLARE_COMMAND(status);
DECLARE_COMMAND(list);
DECLARE_COMMAND(log);
DECLARE_COMMAND(show);
DECLARE_COMMAND(cat);
DECLARE_COMMAND(promote);
DECLARE_COMMAND(rollback);
DECLARE_COMMAND(history);
DECLARE_COMMAND(log_metric);
DECLARE_COMMAND(metrics);
DECLARE_COMMAND(runs);
/* `p4reg report`: cmd_report is taken (the report callbacks' type below) */
DECLARE_COMMAND(report_page);
DECLARE_COMMAND(remote);
DECLARE_COMMAND(push);
DECLARE_COMMAND(fetch);
DECLARE_COMMAND(pull);
DECLARE_COMMAND(track);
DECLARE_COMMAND(untrack);
DECLARE_COMMAND(fsck);
DECLARE_COMMAND(gc);
DECLARE_COMMAND(config);
DECLARE_COMMAND(filter_process);
DECLARE_COMMAND(pre_push);
DECLARE_COMMAND(get);
DECLARE_COMMAND(alias);
DECLARE_COMMAND(tag);
DECLARE_COMMAND(rm);
DECLARE_COMMAND(import);
DECLARE_COMMAND(completion);

/* p4reg __complete WORD...: the shell's completion candidates (complete.c),
 * dispatched by main before the command table. */
int cmd_complete(p4r_cli *cli, int argc, char **argv);
/* The document `p4reg --json help` (NAME NULL) or `p4reg --json help NAME`
 * prints: usage, summary, options [{long, short, value}] (main.c); NULL
 * for an unknown NAME. The caller frees it (cJSON_Delete). */
cJSON *cmd_help_json(const char *name);

/* Shared by push, fetch and pull (src/cmd/sync_print.c): the renumbering
 * and pointer rewrite lines, a line per model whose path the fetched
 * moves changed, and the common keys of their JSON documents. */
struct p4r_sync_result;
struct p4r_remote;
void cmd_sync_print_renumbered(p4r_cli *cli, const struct p4r_sync_result *res);
void cmd_sync_print_moves(p4r_cli *cli, const struct p4r_sync_result *res);
/* Ends fetch's and pull's summary line: ", 2 already present" when the
 * local store had objects they were asked for, then the newline. */
void cmd_sync_print_present(const struct p4r_sync_result *res);
void cmd_sync_json(cJSON *doc, const struct p4r_remote *r, const struct p4r_sync_result *res);
/* cmd_sync_json for the remote named NAME (an operation's result). */
void cmd_sync_json_named(cJSON *doc, const char *name, const struct p4r_sync_result *res);
void cmd_sync_json_moves(cJSON *doc, const struct p4r_sync_result *res);

/* Pages the output of a long-output command (pager.c): when stdout is a
 * terminal and not CLI->no_pager, through $P4REG_PAGER, core.pager of the
 * user's own config (never a repository's file), $PAGER or less. A pager that cannot start is a warning. cmd_pager_stop waits for
 * it (nothing when none runs). */
void cmd_pager_start(p4r_cli *cli);
void cmd_pager_stop(void);

/* Prints DOC as the one JSON document on stdout and frees it; every string
 * in it is made valid UTF-8 first (p4r_json_sanitize). */
int cmd_print_json(cJSON *doc);

/* Prints a usage error (message, then the usage text) and returns P4R_EUSAGE. */
int cmd_usage_error(p4r_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Human output: every argument that is not p4reg's own text (a message,
 * path, name, URL, config value, anything from the registry, a clone or a
 * remote) goes through p4r_escape (p4reg/output.h) in printf calls.
 * cmd_note and cmd_warn escape their whole line themselves: give them the
 * raw values. */

/* Informational line on stderr unless quiet or json. */
void cmd_note(p4r_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A warning on stderr, always (stderr is not part of the JSON contract). */
void cmd_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Progress drawn on stderr for long work, only when cli->progress
 * (src/cmd/progress.c): one line as wide as the terminal, redrawn at most
 * ten times a second, with the rate over the last seconds and an ETA
 * once they mean something. Zero it but for CLI. */
typedef struct cmd_progress {
	p4r_cli *cli;
	int64_t last_ms;        /* when the line was last drawn */
	bool drawn;             /* a line is on the screen */
	size_t drawn_cols;      /* its width */
	bool started;           /* LAST and LAST_LABEL hold a step */
	bool ended;             /* and it reached its totals (drawn once so) */
	p4r_progress last;      /* the counts last shown (label NULL) */
	char last_label[256];   /* and their label */
	p4r_rate rate;          /* the step's rate */
} cmd_progress;

/* Draws C, the counts of a long step (a p4r_progress_count_fn; PAYLOAD a
 * cmd_progress). A new label, unit or total, or a count that went back,
 * starts a new step. */
void cmd_progress_show(const p4r_progress *c, void *payload);
/* Wipes a drawn line. */
void cmd_progress_done(cmd_progress *p);

/* The callbacks a command hands a core operation (p4reg/ops/op.h):
 * progress drawn per step, warnings, notes and the guard's repairs printed
 * as cmd_warn/cmd_note/cmd_guard_repaired would; a warning or note clears
 * a drawn progress line first (the next progress call draws it again). R
 * lives as long as the operation runs; cmd_report_done clears a progress
 * line left drawn. */
typedef struct cmd_report {
	cmd_progress progress;
	pthread_mutex_t lock; /* a note from a transfer thread vs the progress line */
} cmd_report;
p4r_op_report cmd_report_init(cmd_report *r, p4r_cli *cli);
void cmd_report_done(cmd_report *r);

/* Loops p4r_opts_next and rejects help (main handles it before); returns
 * the same as p4r_opts_next. */
int cmd_next_opt(p4r_opts *o, int *id, const char **value);

/* For a command that takes neither options nor arguments: an option is
 * "unknown option '--x'", anything else "NAME takes no arguments" (both
 * usage errors, exit 2). ARGV[0] is the command name. */
int cmd_no_args(p4r_cli *cli, const char *name, int argc, char **argv);

/* TEXT as the value of OPTION (-n), a count of 1 or more, into *OUT;
 * P4R_EUSAGE "invalid -n '0': give a count from 1" otherwise. */
int cmd_parse_count(int64_t *out, const char *option, const char *text);

/* TEXT as the MODEL argument of command NAME: 0 when it is a valid model
 * name; else P4R_EUSAGE (one line, exit 2): "NAME takes a model name, not
 * a version: drop '@2'" for a reference, "invalid model name 'x'" for
 * anything else. */
int cmd_model_arg(const char *name, const char *text);

/* A text table whose columns are as wide as their widest cell (at least
 * MIN), so rows line up whatever a name's length. Cells are raw text:
 * cmd_table_row escapes them (p4r_escape) and widths count the escaped
 * characters. Empty cells at the end of a row print nothing, not even the
 * padding before them; the last cell printed is never padded. */
typedef struct cmd_column {
	size_t min;      /* minimum width */
	bool right;      /* right-aligned */
	const char *sep; /* after the column; NULL: one blank */
} cmd_column;

typedef struct cmd_table cmd_table;

/* A table of NCOLS columns described by COLS (kept, not copied); NULL when
 * out of memory. */
cmd_table *cmd_table_new(const cmd_column *cols, size_t ncols);
/* Adds a row of NCOLS cells (NULL is empty). */
int cmd_table_row(cmd_table *t, const char *const *cells);
/* Adds a line printed as it is (escaped) below the last row, outside the
 * columns: a version's metrics under it. */
int cmd_table_line(cmd_table *t, const char *text);
/* Prints every row and line to stdout. */
void cmd_table_print(const cmd_table *t);
void cmd_table_free(cmd_table *t);

/* The object guard's news (common.c, objguard.h). cmd_guard_repaired is
 * the p4r_ondemand on_damage callback: one warning line per damaged object
 * that came back (one that did not is the command's error).
 * cmd_guard_report prints a warning line for each object of LOG and
 * returns P4R_EINTEGRITY naming the first one still damaged (in JSON mode
 * that error goes to stderr and the command's document stays alone). */
struct p4r_guard_event;
struct p4r_guard_log;
void cmd_guard_repaired(const struct p4r_guard_event *ev, void *payload);
int cmd_guard_report(p4r_cli *cli, const struct p4r_guard_log *log);

/* promote and rollback --dry-run: each rule V checked, a line each,
 * "  pass  NAME: DETAIL" ("FAIL" for the one that did not hold). */
struct p4r_verdict;
void cmd_print_rule_checks(const struct p4r_verdict *v);

/* checkout.c, shared with pull: the files of a checkout (ops/checkout.h),
 * a line each on stdout (a note on stderr for a pointer left behind by a
 * move); in JSON mode nothing is printed and the "checked_out" array is
 * returned instead (NULL otherwise). */
struct p4r_checkout_result;
cJSON *cmd_checkout_rows(p4r_cli *cli, const struct p4r_checkout_result *res);
/* A folder refused (RES->foreign): text mode prints the message and the
 * files, one a line, and marks the error reported; RC is returned. */
int cmd_checkout_refused(p4r_cli *cli, int rc, const struct p4r_checkout_result *res);

#endif
