/* p4reg: global options and the command table (like git.c). Everything a
 * command does lives in src/cmd/<name>.c; this file only dispatches. */
#include "cmd/cmd.h"
#include "p4reg/output.h"
#include "p4reg/suggest.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* NEED_REPO: opened before the command runs. OPEN_DAMAGED: also when the
 * registry is refused as damaged (the command gets no registry then).
 * PAGED: long output, paged on a terminal (cmd_pager_start). */
enum { NEED_REPO = 1, OPEN_DAMAGED = 2, PAGED = 4 };

static int cmd_help(p4r_cli *cli, p4r_repo *repo, int argc, char **argv);
static int cmd_version(p4r_cli *cli, p4r_repo *repo, int argc, char **argv);
static const char cmd_help_usage[] =
	"usage: p4reg help [-m|--man] [COMMAND]\n"
	"\n"
	"  -m, --man  show the man page, p4reg-COMMAND(1) or p4reg(1), with man(1)\n";
static const char cmd_version_usage[] = "usage: p4reg version\n";

static const struct command {
	const char *name;
	p4r_cmd_fn fn;
	const char *usage;
	int flags;
	const char *summary;
} commands[] = {
	{ "init", cmd_init, cmd_init_usage, 0, "create a p4reg repository here (or at the git root)" },
	{ "add", cmd_add, cmd_add_usage, NEED_REPO, "store files and register new versions" },
	{ "mv", cmd_mv, cmd_mv_usage, NEED_REPO, "move a model's file, pointer and binding to a new path" },
	{ "checkout", cmd_checkout, cmd_checkout_usage, NEED_REPO, "put a version's bytes in the work tree" },
	{ "status", cmd_status, cmd_status_usage, NEED_REPO, "show tracked files: clean, modified, missing" },
	{ "list", cmd_list, cmd_list_usage, NEED_REPO | PAGED, "list models" },
	{ "log", cmd_log, cmd_log_usage, NEED_REPO | PAGED, "list a model's versions" },
	{ "show", cmd_show, cmd_show_usage, NEED_REPO | PAGED, "show one version in full" },
	{ "cat", cmd_cat, cmd_cat_usage, NEED_REPO, "write a version's bytes to stdout" },
	{ "promote", cmd_promote, cmd_promote_usage, NEED_REPO, "move a version along the lifecycle, enforcing gates" },
	{ "rollback", cmd_rollback, cmd_rollback_usage, NEED_REPO, "put the previous production version back" },
	{ "history", cmd_history, cmd_history_usage, NEED_REPO | PAGED, "the audit trail of events" },
	{ "alias", cmd_alias, cmd_alias_usage, NEED_REPO | PAGED, "name a version of a model (name@champion), list names" },
	{ "tag", cmd_tag, cmd_tag_usage, NEED_REPO, "set, remove or list tags of a version or a model" },
	{ "rm", cmd_rm, cmd_rm_usage, NEED_REPO, "delete a version (its number is never reused)" },
	{ "log-metric", cmd_log_metric, cmd_log_metric_usage, NEED_REPO, "record metrics and params of a version in a run" },
	{ "metrics", cmd_metrics, cmd_metrics_usage, NEED_REPO | PAGED, "versions x metrics table, comparison, history" },
	{ "runs", cmd_runs, cmd_runs_usage, NEED_REPO | PAGED, "list experiment runs with params and metrics" },
	{ "report", cmd_report_page, cmd_report_page_usage, NEED_REPO, "write the registry as one self-contained HTML page" },
	{ "remote", cmd_remote, cmd_remote_usage, NEED_REPO, "add, list, remove or check remotes" },
	{ "push", cmd_push, cmd_push_usage, NEED_REPO, "upload objects and registry events to a remote" },
	{ "fetch", cmd_fetch, cmd_fetch_usage, NEED_REPO, "download registry events (and objects) from a remote" },
	{ "pull", cmd_pull, cmd_pull_usage, NEED_REPO, "fetch, then check out the work tree's pointers" },
	{ "import", cmd_import, cmd_import_usage, NEED_REPO, "register Git LFS history or DVC-tracked models as versions" },
	{ "track", cmd_track, cmd_track_usage, NEED_REPO, "mark file patterns for Git LFS in .gitattributes" },
	{ "untrack", cmd_untrack, cmd_untrack_usage, NEED_REPO, "remove Git LFS patterns from .gitattributes" },
	{ "fsck", cmd_fsck, cmd_fsck_usage, NEED_REPO | OPEN_DAMAGED, "re-hash objects, check registry, store and pointers" },
	{ "gc", cmd_gc, cmd_gc_usage, NEED_REPO, "delete unreferenced objects and stale temporary files" },
	{ "config", cmd_config, cmd_config_usage, NEED_REPO, "read or write .p4reg/config" },
	{ "get", cmd_get, cmd_get_usage, 0, "put a version from a remote at a path, without a repository" },
	{ "filter-process", cmd_filter_process, cmd_filter_process_usage, 0, "git's filter=lfs process (run by git)" },
	{ "pre-push", cmd_pre_push, cmd_pre_push_usage, 0, "upload the Git LFS objects of a git push (run by git's hook)" },
	{ "completion", cmd_completion, cmd_completion_usage, 0, "print the shell completion script for bash, zsh or fish" },
	{ "help", cmd_help, cmd_help_usage, 0, "show help for p4reg or a command" },
	{ "version", cmd_version, cmd_version_usage, 0, "print the version" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* The error for a command NAME p4reg lacks: with the closest command when
 * one is close ("'promte' is not a command. did you mean 'promote'?"). */
static int unknown_command(const char *name)
{
	const char *names[NCOMMANDS], *hit;
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		names[i] = commands[i].name;
	if ((hit = p4r_suggest_among(name, names, NCOMMANDS)))
		return p4r_error_set(P4R_EUSAGE, "'%s' is not a command. did you mean '%s'?", name, hit);
	return p4r_error_set(P4R_EUSAGE, "'%s' is not a p4reg command; see 'p4reg help'", name);
}

static const char main_usage[] =
	"usage: p4reg [-C DIR] [--json] [-q|--quiet] [-P|--no-pager] [--version] COMMAND [ARGS]\n";

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static const char global_options[] =
	"  -C DIR       run as if started in DIR\n"
	"  --json       print exactly one JSON document on stdout\n"
	"  -q, --quiet  print only errors and requested data\n"
	"  -P, --no-pager\n"
	"               never page: list, log, show, history, metrics and runs\n"
	"               otherwise page long output on a terminal ($P4REG_PAGER,\n"
	"               core.pager, $PAGER, less)\n"
	"  --version    print the version\n";

static void print_main_help(FILE *out)
{
	size_t i;

	fputs(main_usage, out);
	fputs("\nCommands:\n", out);
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-15s %s\n", commands[i].name, commands[i].summary);
	fputs("\nGlobal options:\n", out);
	fputs(global_options, out);
	fputs("\nExit codes: 0 ok, 1 error, 2 usage, 3 refused by a rule or gate, 4 integrity failure.\n"
	      "'p4reg help COMMAND' or 'p4reg COMMAND --help' shows a command's options.\n", out);
}

/* The options a usage text lists, one per line that starts with blanks and
 * a dash: "  -r, --remote NAME  the remote" gives {"long":"--remote",
 * "short":"-r","value":"NAME"}. A value follows its option after one blank
 * and starts with a capital; two blanks start the description. */
static void add_option_lines(cJSON *arr, const char *text)
{
	const char *line, *p, *end;

	for (line = text; *line; line = *end ? end + 1 : end) {
		char shortname[3] = "", longname[64] = "", value[32] = "";
		size_t n;
		cJSON *o;

		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		for (p = line; p < end && *p == ' '; p++)
			;
		if (p == line || p >= end || *p != '-')
			continue;
		if (p[1] != '-' && p + 1 < end) {
			snprintf(shortname, sizeof(shortname), "-%c", p[1]);
			p += 2;
			if (p + 1 < end && p[0] == ',' && p[1] == ' ')
				p += 2;
		}
		if (p + 1 < end && p[0] == '-' && p[1] == '-') {
			n = strcspn(p, " \n");
			snprintf(longname, sizeof(longname), "%.*s", (int)n, p);
			p += n;
		} else if (*p != ' ' && p < end) {
			continue; /* not an option line */
		}
		if (p + 1 < end && p[0] == ' ' && p[1] >= 'A' && p[1] <= 'Z') {
			n = strcspn(p + 1, " \n");
			snprintf(value, sizeof(value), "%.*s", (int)n, p + 1);
		}
		o = cJSON_CreateObject();
		if (longname[0])
			cJSON_AddStringToObject(o, "long", longname);
		else
			cJSON_AddNullToObject(o, "long");
		if (shortname[0])
			cJSON_AddStringToObject(o, "short", shortname);
		else
			cJSON_AddNullToObject(o, "short");
		if (value[0])
			cJSON_AddStringToObject(o, "value", value);
		else
			cJSON_AddNullToObject(o, "value");
		cJSON_AddItemToArray(arr, o);
	}
}

/* p4reg --json help: the commands and the global options. */
static cJSON *main_help_json(void)
{
	cJSON *doc = cJSON_CreateObject(), *arr;
	size_t i;

	cJSON_AddStringToObject(doc, "usage", main_usage);
	arr = cJSON_AddArrayToObject(doc, "commands");
	for (i = 0; i < NCOMMANDS; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "name", commands[i].name);
		cJSON_AddStringToObject(o, "summary", commands[i].summary);
		cJSON_AddItemToArray(arr, o);
	}
	add_option_lines(cJSON_AddArrayToObject(doc, "options"), global_options);
	return doc;
}

static int print_main_help_json(void)
{
	return cmd_print_json(main_help_json());
}

/* p4reg --json help COMMAND (or p4reg --json COMMAND --help). */
static cJSON *command_help_json(const struct command *c)
{
	cJSON *doc = cJSON_CreateObject();

	cJSON_AddStringToObject(doc, "name", c->name);
	cJSON_AddStringToObject(doc, "summary", c->summary);
	cJSON_AddStringToObject(doc, "usage", c->usage);
	add_option_lines(cJSON_AddArrayToObject(doc, "options"), c->usage);
	return doc;
}

static int print_command_help(const p4r_cli *cli, const struct command *c)
{
	if (!cli->json) {
		fputs(c->usage, stdout);
		return 0;
	}
	return cmd_print_json(command_help_json(c));
}

/* For completion (cmd.h): the documents `p4reg --json help [NAME]` prints. */
cJSON *cmd_help_json(const char *name)
{
	const struct command *c;

	if (!name)
		return main_help_json();
	return (c = find_command(name)) ? command_help_json(c) : NULL;
}

/* help --man: man(1) shows p4reg-NAME(1), or p4reg(1); it replaces p4reg,
 * as git help -m does, so the page's exit status is the command's. */
static int show_man_page(const p4r_cli *cli, const char *name)
{
	char page[64];
	char *argv[] = { "man", page, NULL };

	if (cli->json)
		return p4r_error_set(P4R_EUSAGE, "help --man shows a page: it has no --json form");
	snprintf(page, sizeof(page), "p4reg%s%s", name ? "-" : "", name ? name : "");
	fflush(stdout);
	execvp("man", argv);
	return p4r_error_errno("cannot run man to show '%s'", page);
}

static int cmd_help(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	static const p4r_option options[] = { { "man", 'm', false, 1 }, { NULL, 0, false, 0 } };
	const char *value, *name = NULL;
	const struct command *c;
	bool man = false;
	p4r_opts o;
	int id, rc;

	(void)repo;
	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == 1)
			man = true;
		else if (name)
			return cmd_usage_error(cli, "help takes at most one command");
		else
			name = value;
	}
	if (rc < 0)
		return rc;
	if (name && !find_command(name))
		return unknown_command(name);
	if (man)
		return show_man_page(cli, name);
	if (!name) {
		if (cli->json)
			return print_main_help_json();
		print_main_help(stdout);
		return 0;
	}
	c = find_command(name);
	return print_command_help(cli, c);
}

static int cmd_version(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	int rc;

	(void)repo;
	if ((rc = cmd_no_args(cli, "version", argc, argv)) < 0)
		return rc;
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "version", P4REG_VERSION);
		return cmd_print_json(doc);
	}
	printf("p4reg %s\n", P4REG_VERSION);
	return 0;
}

/* True when ARGV asks for help before any "--". */
static bool wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return false;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	}
	return false;
}

/* --json and -q/--quiet are global but also accepted after the command
 * name (before any "--"), as users type `p4reg add -q x`; they are removed
 * from ARGV so commands never see them. Returns the new ARGC. */
static int take_late_globals(p4r_cli *cli, int argc, char **argv)
{
	int i, out = 1;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			while (i < argc)
				argv[out++] = argv[i++];
			break;
		}
		if (!strcmp(argv[i], "--json"))
			cli->json = true;
		else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet"))
			cli->quiet = true;
		else
			argv[out++] = argv[i];
	}
	return out;
}

static void report_error(p4r_cli *cli, int rc, const char *usage)
{
	const char *msg = p4r_error_message(), *hint = p4r_error_hint_text();

	if (!*msg)
		msg = "unknown error";
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject(), *err = cJSON_AddObjectToObject(doc, "error");

		cJSON_AddStringToObject(err, "code", p4r_error_name(rc));
		cJSON_AddStringToObject(err, "message", msg);
		if (*hint)
			cJSON_AddStringToObject(err, "hint", hint);
		cmd_print_json(doc);
		return;
	}
	/* A message quotes names from anywhere (paths, messages, a remote's
	 * text): escaped, it stays one line and cannot drive the terminal. */
	fprintf(stderr, "p4reg: %s\n", p4r_escape(msg));
	if (*hint)
		fprintf(stderr, "hint: %s\n", p4r_escape(hint));
	if (rc == P4R_EUSAGE && usage && p4r_error_is_usage())
		fputs(usage, stderr);
}

static int finish(p4r_cli *cli, int rc, const char *usage)
{
	if (rc == 0 && (fflush(stdout) == EOF || ferror(stdout)))
		rc = p4r_error_errno("cannot write to standard output");
	/* a JSON error is the document on stdout (the pager's); a text one
	 * goes to the terminal once the pager has quit */
	if (rc < 0 && !cli->reported && cli->json)
		report_error(cli, rc, usage);
	fflush(stdout);
	cmd_pager_stop();
	if (rc < 0 && !cli->reported && !cli->json)
		report_error(cli, rc, usage);
	return p4r_exit_status(rc);
}

/* Global options come before the command name. */
static int parse_globals(p4r_cli *cli, int argc, char **argv, int *first)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--json")) {
			cli->json = true;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			cli->quiet = true;
		} else if (!strcmp(a, "-P") || !strcmp(a, "--no-pager")) {
			cli->no_pager = true;
		} else if (!strcmp(a, "-C")) {
			if (++i >= argc)
				return p4r_error_set(P4R_EUSAGE, "option '-C' needs a value");
			if (chdir(argv[i]) < 0)
				return p4r_error_errno("cannot change to '%s'", argv[i]);
		} else if (!strcmp(a, "--version")) {
			*first = -1;
			return 0;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			*first = -2;
			return 0;
		} else {
			return p4r_error_set(P4R_EUSAGE, "unknown option '%s'", a);
		}
	}
	*first = i;
	return 0;
}

int main(int argc, char **argv)
{
	p4r_cli cli = { 0 };
	const struct command *cmd;
	p4r_repo *repo = NULL;
	int first = 0, rc;

	if ((rc = parse_globals(&cli, argc, argv, &first)) < 0) {
		p4r_error_mark_usage();
		return finish(&cli, rc, main_usage);
	}
	if (first == -1)
		return finish(&cli, cmd_version(&cli, NULL, 1, argv), NULL);
	if (first == -2 && cli.json)
		return finish(&cli, print_main_help_json(), NULL);
	if (first >= argc && cli.json) {
		/* --json promises one document: the usage error is it */
		rc = p4r_error_set(P4R_EUSAGE, "no command given; see 'p4reg help'");
		return finish(&cli, rc, NULL);
	}
	if (first == -2 || first >= argc) {
		print_main_help(first == -2 ? stdout : stderr);
		return first == -2 ? 0 : 2;
	}
	argc = first + take_late_globals(&cli, argc - first, argv + first);
	cli.progress = !cli.quiet && !cli.json && isatty(STDERR_FILENO);
	/* the shell's completion asks here on every TAB (completion.c); not a
	 * command of the table, so neither help nor the docs list it */
	if (!strcmp(argv[first], "__complete"))
		return finish(&cli, cmd_complete(&cli, argc - first, argv + first), NULL);
	if (!(cmd = find_command(argv[first])))
		return finish(&cli, unknown_command(argv[first]), NULL);
	cli.usage = cmd->usage;
	if (wants_help(argc - first, argv + first))
		return finish(&cli, print_command_help(&cli, cmd), NULL);
	if ((cmd->flags & NEED_REPO) &&
	    (rc = (cmd->flags & OPEN_DAMAGED) ? p4r_repo_open_damaged(&repo, ".") :
		  p4r_repo_open(&repo, ".")) < 0)
		return finish(&cli, rc, NULL);
	if (cmd->flags & PAGED)
		cmd_pager_start(&cli);
	rc = cmd->fn(&cli, repo, argc - first, argv + first);
	p4r_repo_free(repo);
	return finish(&cli, rc, cmd->usage);
}
