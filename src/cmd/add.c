/* p4reg add: store files, register new versions, write pointers. */
#include "cmd.h"
#include "p4reg/ops/add.h"
#include "p4reg/output.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char cmd_add_usage[] =
	"usage: p4reg add [-n NAME] [-m MSG] [--no-stage] [--exclude PATTERN]...\n"
	"                 [--tag KEY=VALUE]... PATH...\n"
	"   or: p4reg add -n NAME [--path PATH] [-m MSG] [--no-stage] [--tag KEY=VALUE]... -\n"
	"\n"
	"Hashes each file, stores it in .p4reg/objects, registers it as the next\n"
	"version of its model (or reports it unchanged: the bytes of the latest\n"
	"version, or identical to an older one, which the pointer then names),\n"
	"writes PATH.p4reg and an entry in the .gitignore beside it, and stages\n"
	"both in git when inside a git work tree (config core.autostage, default\n"
	"true). A file git itself tracks gets a warning and the 'git rm --cached'\n"
	"line that stops it.\n"
	"The model is the one bound to PATH, else the file name without\n"
	"extension; a pointer beside a new path naming another model is refused\n"
	"(fetch first, or -n). -n NAME of a model bound to another path moves the\n"
	"model to PATH (see also 'p4reg mv').\n"
	"A file git sends to Git LFS (filter=lfs in .gitattributes, see 'p4reg\n"
	"track') gets no pointer file: its Git LFS pointer is staged instead and\n"
	"the object is also placed in .git/lfs/objects.\n"
	"A folder is one model (default name: the folder's name): every regular\n"
	"file in it, hidden ones too, less --exclude patterns and the lines of\n"
	"its .p4regignore; the pointer is FOLDER.p4reg and .gitignore gets\n"
	"'/NAME/'. Links, '.git' and pointer files inside are refused.\n"
	"'-' reads the bytes of a new version of model NAME from standard input\n"
	"(streamed, never held in memory) into the model's file, which is then\n"
	"added; a new model needs --path. The file there is replaced only when\n"
	"some version holds its bytes.\n"
	"\n"
	"  -n, --name NAME     model name (default: the model bound to PATH, else the\n"
	"                      file name without extension)\n"
	"  -m, --message MSG   describe the version\n"
	"      --no-stage      do not stage the pointer and .gitignore in git\n"
	"      --exclude PATTERN\n"
	"                      leave out a folder's files matching PATTERN (repeatable;\n"
	"                      the syntax of .p4regignore)\n"
	"      --tag KEY=VALUE tag each version added (or found unchanged); repeatable\n"
	"                      (see 'p4reg tag')\n"
	"      --path PATH     with '-': where the file of a new model NAME goes\n";

enum { OPT_NAME = 1, OPT_MESSAGE, OPT_NO_STAGE, OPT_EXCLUDE, OPT_TAG, OPT_PATH };

static const p4r_option options[] = {
	{ "name", 'n', true, OPT_NAME },
	{ "message", 'm', true, OPT_MESSAGE },
	{ "no-stage", 0, false, OPT_NO_STAGE },
	{ "exclude", 0, true, OPT_EXCLUDE },
	{ "tag", 0, true, OPT_TAG },
	{ "path", 0, true, OPT_PATH },
	{ NULL, 0, false, 0 },
};

/* S as one shell word, for a line to copy: '...' with ' as '\'', or, when
 * S holds anything a terminal would act on or that is not plain UTF-8 text
 * (p4r_escape would change it), $'...' with such bytes as \xHH; so the line
 * prints unchanged and pastes back to the same bytes. Malloc'd. */
static char *shell_quote(const char *s)
{
	bool plain = !strcmp(p4r_escape(s), s);
	size_t n = strlen(s), o = 0, i;
	char *out = malloc(4 * n + 4);

	if (!out)
		return NULL;
	if (!plain)
		out[o++] = '$';
	out[o++] = '\'';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (plain && c == '\'') {
			memcpy(out + o, "'\\''", 4);
			o += 4;
		} else if (!plain && (c == '\'' || c == '\\')) {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (!plain && (c < 0x20 || c >= 0x7f)) {
			o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o++] = '\'';
	out[o] = '\0';
	return out;
}

/* A file git already tracks would still be committed: say so, with the
 * command that stops it (run from the top of the work tree). */
static void warn_git_tracked(const p4r_add_file *f)
{
	char *quoted = f->git_rel ? shell_quote(f->git_rel) : NULL;

	cmd_warn("git tracks '%s'; the binary would still go into git", f->git_rel ? f->git_rel : f->rel);
	if (quoted)
		fprintf(stderr, "  git rm --cached -- %s\n", quoted);
	free(quoted);
}

static cJSON *json_file(const p4r_add_file *f)
{
	cJSON *o = p4r_json_version(&f->version);

	cJSON_AddStringToObject(o, "file", f->rel);
	cJSON_AddBoolToObject(o, "unchanged", f->outcome != P4R_ADD_NEW);
	if (f->outcome == P4R_ADD_IDENTICAL)
		cJSON_AddNumberToObject(o, "identical_to", (double)f->version.number);
	else
		cJSON_AddNullToObject(o, "identical_to");
	if (f->moved_from)
		cJSON_AddStringToObject(o, "moved_from", f->moved_from);
	else
		cJSON_AddNullToObject(o, "moved_from");
	cJSON_AddBoolToObject(o, "lfs", f->lfs);
	if (f->version.kind == P4R_KIND_DIR) {
		cJSON_AddStringToObject(o, "kind", "dir");
		cJSON_AddNumberToObject(o, "files", (double)f->version.files);
		cJSON_AddNumberToObject(o, "tree_size", (double)f->version.tree_size);
	}
	return o;
}

static void print_file(const p4r_add_file *f)
{
	const p4r_version *v = &f->version;
	bool dir = v->kind == P4R_KIND_DIR;
	const char *slash = dir ? "/" : "";
	char size[32], files[48] = "";

	p4r_format_size(size, sizeof(size), (uint64_t)(dir ? v->tree_size : v->size));
	if (dir)
		snprintf(files, sizeof(files), "%lld file%s, ", (long long)v->files, v->files == 1 ? "" : "s");
	if (f->moved_from)
		printf("model '%s' moved from %s to %s\n", v->model, p4r_escape(f->moved_from),
		       p4r_escape(f->rel));
	if (f->outcome == P4R_ADD_UNCHANGED)
		printf("unchanged %s%s (%s@%lld)\n", p4r_escape(f->rel), slash, v->model, (long long)v->number);
	else if (f->outcome == P4R_ADD_IDENTICAL)
		printf("unchanged %s%s (identical to %s@%lld)\n", p4r_escape(f->rel), slash, v->model,
		       (long long)v->number);
	else
		printf("added %s%s as %s@%lld (%.12s, %s%s)\n", p4r_escape(f->rel), slash, v->model,
		       (long long)v->number, v->oid.hex, files, size);
}

static int print_result(p4r_cli *cli, const p4r_add_result *res)
{
	cJSON *doc, *arr;
	size_t i;

	if (cli->json) {
		doc = cJSON_CreateObject();
		arr = cJSON_AddArrayToObject(doc, "added");
		for (i = 0; i < res->n; i++)
			cJSON_AddItemToArray(arr, json_file(&res->files[i]));
		return cmd_print_json(doc);
	}
	for (i = 0; !cli->quiet && i < res->n; i++)
		print_file(&res->files[i]);
	return 0;
}

/* `add -n NAME -`: standard input is the one PATH, and not a terminal. */
static int check_input(p4r_cli *cli, p4r_add_opts *opts)
{
	size_t i;

	for (i = 0; i < opts->npaths; i++)
		opts->from_input |= !strcmp(opts->paths[i], "-");
	if (!opts->from_input)
		return opts->input_path ? cmd_usage_error(cli, "--path goes with '-' (standard input)") : 0;
	if (opts->npaths > 1)
		return cmd_usage_error(cli, "'-' (standard input) must be the only PATH");
	if (!opts->name)
		return cmd_usage_error(cli, "add - reads one file from standard input: name its model with -n NAME");
	if (opts->nexcludes)
		return cmd_usage_error(cli, "--exclude applies to folders, not to standard input");
	if (isatty(STDIN_FILENO))
		return p4r_error_set(P4R_EUSAGE, "standard input is a terminal: pipe the model's bytes into "
				     "'p4reg add -n %s -'", opts->name);
	opts->input_fd = STDIN_FILENO;
	opts->npaths = 0;
	return 0;
}

/* Options into OPTS; PATHS, EXCLUDES and TAGS have room for every argument. */
static int parse_args(int argc, char **argv, p4r_add_opts *opts, const char **paths, const char **excludes,
		      const char **tags)
{
	const char *value;
	p4r_opts o;
	int id, rc;

	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_NAME)
			opts->name = value;
		else if (id == OPT_MESSAGE)
			opts->message = value;
		else if (id == OPT_NO_STAGE)
			opts->no_stage = true;
		else if (id == OPT_EXCLUDE)
			excludes[opts->nexcludes++] = value;
		else if (id == OPT_TAG)
			tags[opts->ntags++] = value;
		else if (id == OPT_PATH)
			opts->input_path = value;
		else
			paths[opts->npaths++] = value;
	}
	return rc;
}

int cmd_add(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	const char **paths = calloc((size_t)argc, sizeof(*paths));
	const char **excludes = calloc((size_t)argc, sizeof(*excludes));
	const char **tags = calloc((size_t)argc, sizeof(*tags));
	p4r_add_opts opts = { .paths = paths, .excludes = excludes, .tags = tags };
	p4r_add_result res = { 0 };
	cmd_report cr;
	p4r_op_report report = cmd_report_init(&cr, cli);
	size_t i;
	int rc;

	if (!paths || !excludes || !tags) {
		free(paths);
		free(excludes);
		free(tags);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	if ((rc = parse_args(argc, argv, &opts, paths, excludes, tags)) < 0 || (rc = check_input(cli, &opts)) < 0)
		goto done;
	if (opts.npaths == 0 && !opts.from_input) {
		rc = cmd_usage_error(cli, "nothing to add: name at least one file");
		goto done;
	}
	if (opts.name && opts.npaths > 1) {
		rc = cmd_usage_error(cli, "--name applies to one file, not %zu", opts.npaths);
		goto done;
	}
	rc = p4r_add(repo, &opts, &report, &res);
	cmd_report_done(&cr);
	if (rc < 0)
		goto done;
	for (i = 0; i < res.n; i++)
		if (res.files[i].git_tracked)
			warn_git_tracked(&res.files[i]);
	if ((rc = print_result(cli, &res)) == 0)
		rc = cmd_guard_report(cli, &res.damage);
done:
	cmd_report_done(&cr);
	p4r_add_result_free(&res);
	free(paths);
	free(excludes);
	free(tags);
	return rc;
}
