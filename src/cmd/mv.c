/* p4reg mv: move a model's file, its pointer and its binding to a new path. */
#include "cmd.h"
#include "p4reg/ops/mv.h"

const char cmd_mv_usage[] =
	"usage: p4reg mv [--no-stage] OLD NEW\n"
	"\n"
	"Moves the model bound to OLD to NEW: renames the file (when it is in the\n"
	"work tree), writes NEW.p4reg and removes OLD.p4reg, moves the .gitignore\n"
	"line, binds the model to NEW and records a 'move' event (pushed like any\n"
	"other), and stages the change in git when inside a git work tree (config\n"
	"core.autostage, default true). Nothing is ever overwritten: NEW and\n"
	"NEW.p4reg must not exist. An interrupted mv is finished by running it\n"
	"again.\n"
	"\n"
	"      --no-stage      do not stage the pointers and .gitignore files in git\n";

enum { OPT_NO_STAGE = 1 };

static const p4r_option options[] = {
	{ "no-stage", 0, false, OPT_NO_STAGE },
	{ NULL, 0, false, 0 },
};

static int print_result(p4r_cli *cli, const char *from, const char *to, const p4r_move_result *r,
			bool staged)
{
	if (cli->json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "model", r->model);
		cJSON_AddNumberToObject(doc, "version", (double)r->version);
		cJSON_AddStringToObject(doc, "from", from);
		cJSON_AddStringToObject(doc, "to", to);
		cJSON_AddBoolToObject(doc, "file_moved", r->file_moved);
		cJSON_AddBoolToObject(doc, "resumed", r->resumed);
		cJSON_AddBoolToObject(doc, "staged", staged);
		return cmd_print_json(doc);
	}
	if (cli->quiet)
		return 0;
	if (r->already)
		printf("model '%s' is already at %s\n", r->model, p4r_escape(to));
	else
		printf("model '%s' moved from %s to %s%s\n", r->model, p4r_escape(from), p4r_escape(to),
		       r->resumed ? " (finished an interrupted move)" : "");
	return 0;
}

int cmd_mv(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	const char *args[2] = { NULL, NULL }, *value;
	p4r_mv_result res = { 0 };
	cmd_report cr;
	p4r_op_report report = cmd_report_init(&cr, cli);
	bool no_stage = false;
	size_t nargs = 0;
	p4r_opts o;
	int id, rc;

	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_NO_STAGE)
			no_stage = true;
		else if (nargs < 2)
			args[nargs++] = value;
		else
			nargs++;
	}
	if (rc < 0)
		return rc;
	if (nargs != 2)
		return cmd_usage_error(cli, "mv takes OLD and NEW, not %zu path%s", nargs, nargs == 1 ? "" : "s");
	rc = p4r_mv(repo, &(p4r_mv_opts){ .from = args[0], .to = args[1], .no_stage = no_stage }, &report, &res);
	cmd_report_done(&cr);
	if (rc == 0)
		rc = print_result(cli, res.from, res.to, &res.move, res.staged);
	p4r_mv_result_free(&res);
	return rc;
}
