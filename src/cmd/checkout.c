/* p4reg checkout: put versions' bytes in the work tree, verified. */
#include "cmd.h"
#include "p4reg/ops/checkout.h"

#include <stdlib.h>

const char cmd_checkout_usage[] =
	"usage: p4reg checkout [--force] [--link TYPE] [--no-stage] [REF|PATH...]\n"
	"\n"
	"Writes each version's bytes to its path, verified against its oid. A path\n"
	"takes the version its pointer names; a reference (name@3, name@production,\n"
	"name@latest) checks out that version at the model's path and updates the\n"
	"pointer (for a Git LFS path: its Git LFS pointer in the git index). Like\n"
	"add, it keeps the .gitignore line beside each file, and stages the pointer\n"
	"and .gitignore files it wrote in git (config core.autostage). With no\n"
	"argument every pointer in the repository is checked out. A file whose\n"
	"bytes are in no version is never overwritten without --force. A pointer\n"
	"left at a model's old path by a move fetched from a remote is skipped\n"
	"with a note ('p4reg mv OLD NEW' finishes the move here).\n"
	"A path git sends to Git LFS (see 'p4reg track') has no pointer file: it\n"
	"takes the Git LFS pointer staged in the git index (else its model's latest\n"
	"version), from .p4reg/objects or .git/lfs/objects; with no argument every\n"
	"registered LFS path is checked out too.\n"
	"A folder model (REF, its folder or its pointer) is made exactly the\n"
	"version's files: others it had before are removed; a file in no version\n"
	"refuses the folder (listed) without --force; files its .p4regignore\n"
	"excludes are left alone.\n"
	"A version whose bytes are not in the local store (a fresh clone) is\n"
	"downloaded from the remote first, verified, before any file changes.\n"
	"An object whose stat moved since p4reg stored it (a hard-linked file\n"
	"written in place) is re-hashed first; wrong bytes are quarantined and\n"
	"fetched again from the remote, or the command exits 4 naming the version.\n"
	"\n"
	"  -f, --force         overwrite files whose bytes are not in the store\n"
	"      --link TYPE     copy, reflink or hardlink (default: config core.cacheType)\n"
	"      --no-stage      do not stage pointers, .gitignore files and Git LFS pointers\n"
	"  -r, --remote NAME   download missing objects from NAME (default: core.remote)\n"
	"      --offline       download nothing (also: config core.offline)\n";

enum { OPT_FORCE = 1, OPT_LINK, OPT_REMOTE, OPT_OFFLINE, OPT_NO_STAGE };

static const p4r_option options[] = {
	{ "force", 'f', false, OPT_FORCE },
	{ "link", 0, true, OPT_LINK },
	{ "remote", 'r', true, OPT_REMOTE },
	{ "offline", 0, false, OPT_OFFLINE },
	{ "no-stage", 0, false, OPT_NO_STAGE },
	{ NULL, 0, false, 0 },
};

static cJSON *json_row(const p4r_checkout_row *row)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "file", row->path);
	if (row->version) {
		cJSON_AddStringToObject(o, "model", row->model);
		cJSON_AddNumberToObject(o, "version", (double)row->version);
	} else {
		cJSON_AddNullToObject(o, "model");
		cJSON_AddNullToObject(o, "version");
	}
	cJSON_AddStringToObject(o, "oid", row->oid.hex);
	if (row->action == P4R_CHECKOUT_SKIPPED) {
		cJSON_AddStringToObject(o, "action", "skipped");
		cJSON_AddStringToObject(o, "to", row->moved_to);
		return o;
	}
	cJSON_AddStringToObject(o, "action", row->action == P4R_CHECKOUT_UNCHANGED ? "unchanged" : "written");
	if (row->lfs)
		cJSON_AddBoolToObject(o, "lfs", true);
	if (row->dir) {
		cJSON_AddStringToObject(o, "kind", "dir");
		cJSON_AddNumberToObject(o, "files", (double)row->files);
		cJSON_AddNumberToObject(o, "written", (double)row->written);
		cJSON_AddNumberToObject(o, "unchanged", (double)row->unchanged);
		cJSON_AddNumberToObject(o, "removed", (double)row->removed);
	}
	return o;
}

static void print_row(p4r_cli *cli, const p4r_checkout_row *row)
{
	const char *what = row->action == P4R_CHECKOUT_UNCHANGED ? "up to date" : "checked out";

	if (row->action == P4R_CHECKOUT_SKIPPED)
		cmd_note(cli, "note: skipped %s, a pointer left behind: model '%s' is now at %s; "
			 "'p4reg mv %s %s' finishes the move here", row->path, row->model,
			 row->moved_to, row->path, row->moved_to);
	else if (cli->quiet)
		return;
	else if (!row->version)
		printf("%s %s (Git LFS %.12s)\n", what, p4r_escape(row->path), row->oid.hex);
	else if (row->dir)
		printf("%s %s/ (%s@%lld, %lld file%s: %zu written, %zu unchanged, %zu removed)\n", what,
		       p4r_escape(row->path), row->model, (long long)row->version, (long long)row->files,
		       row->files == 1 ? "" : "s", row->written, row->unchanged, row->removed);
	else
		printf("%s %s (%s@%lld)\n", what, p4r_escape(row->path), row->model,
		       (long long)row->version);
}

cJSON *cmd_checkout_rows(p4r_cli *cli, const p4r_checkout_result *res)
{
	cJSON *arr = cli->json ? cJSON_CreateArray() : NULL;
	size_t i;

	for (i = 0; i < res->n; i++) {
		if (cli->json)
			cJSON_AddItemToArray(arr, json_row(&res->rows[i]));
		else
			print_row(cli, &res->rows[i]);
	}
	return arr;
}

int cmd_checkout_refused(p4r_cli *cli, int rc, const p4r_checkout_result *res)
{
	size_t i;

	if (rc >= 0 || cli->json || !res->nforeign)
		return rc;
	fprintf(stderr, "p4reg: %s\n", p4r_escape(p4r_error_message()));
	for (i = 0; i < res->nforeign; i++)
		fprintf(stderr, "  %s\n", p4r_escape(res->foreign[i]));
	cli->reported = true;
	return rc;
}

int cmd_checkout(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	p4r_link_type order[P4R_LINK_MAX];
	p4r_checkout_opts opts = { .order = order };
	p4r_checkout_result res = { 0 };
	char **args = calloc((size_t)argc, sizeof(*args));
	const char *value;
	cmd_report cr;
	p4r_op_report report;
	p4r_opts o;
	cJSON *rows;
	int id, rc;

	if (!args)
		return p4r_error_set(P4R_ERROR, "out of memory");
	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_FORCE)
			opts.force = true;
		else if (id == OPT_NO_STAGE)
			opts.no_stage = true;
		else if (id == OPT_LINK)
			rc = p4r_link_parse(order, &opts.norder, value);
		else if (id == OPT_REMOTE)
			opts.remote = value;
		else if (id == OPT_OFFLINE)
			opts.offline = true;
		else
			args[opts.nargs++] = (char *)value;
		if (rc < 0)
			break;
	}
	if (rc < 0) {
		free(args);
		return rc;
	}
	opts.args = args;
	report = cmd_report_init(&cr, cli);
	rc = p4r_checkout(repo, &opts, &report, &res);
	cmd_report_done(&cr);
	/* the files written before a failure are said too (text only: a JSON
	 * document is printed whole or not at all) */
	rows = (rc == 0 || !cli->json) ? cmd_checkout_rows(cli, &res) : NULL;
	if (rc == 0 && cli->json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddItemToObject(doc, "checked_out", rows);
		rc = cmd_print_json(doc);
	}
	rc = cmd_checkout_refused(cli, rc, &res);
	p4r_checkout_result_free(&res);
	free(args);
	return rc;
}
