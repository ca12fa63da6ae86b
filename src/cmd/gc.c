/* p4reg gc: delete objects no version (nor git's Git LFS pointers)
 * references and stale tmp/ files. */
#include "cmd.h"
#include "p4reg/gc.h"
#include "p4reg/output.h"

const char cmd_gc_usage[] =
	"usage: p4reg gc [--dry-run] [--grace SECONDS]\n"
	"\n"
	"Deletes objects that no version references (archived and rolled-back\n"
	"versions keep theirs, so rollback always works) and no Git LFS pointer\n"
	"in git's index or in the history of any git ref names (git's filter\n"
	"stores objects no version has), and files left in .p4reg/tmp/ by\n"
	"interrupted commands. Anything changed within the grace\n"
	"period (default 3600 seconds) is kept: it may belong to an add that is\n"
	"still running. Only names p4reg itself writes are deleted, never\n"
	"sync.lock, and no symbolic link is followed. Prints what it frees.\n"
	"\n"
	"  -n, --dry-run          report what would be deleted, delete nothing\n"
	"      --grace SECONDS    keep what changed within SECONDS (0: no grace;\n"
	"                         only safe when no other p4reg command runs)\n";

enum { OPT_DRY_RUN = 1, OPT_GRACE };

static const p4r_option options[] = {
	{ "dry-run", 'n', false, OPT_DRY_RUN },
	{ "grace", 0, true, OPT_GRACE },
	{ NULL, 0, false, 0 },
};

static int print_json(const p4r_gc_opts *opts, const p4r_gc_result *r)
{
	cJSON *doc = cJSON_CreateObject(), *objs, *tmp, *list;
	size_t i;

	if (!doc)
		return p4r_error_set(P4R_ERROR, "out of memory");
	cJSON_AddBoolToObject(doc, "dry_run", opts->dry_run);
	objs = cJSON_AddObjectToObject(doc, "objects");
	cJSON_AddNumberToObject(objs, "count", (double)r->objects);
	cJSON_AddNumberToObject(objs, "bytes", (double)r->object_bytes);
	list = cJSON_AddArrayToObject(objs, "oids");
	for (i = 0; i < r->nitems; i++)
		if (r->items[i].oid[0])
			cJSON_AddItemToArray(list, cJSON_CreateString(r->items[i].oid));
	tmp = cJSON_AddObjectToObject(doc, "tmp");
	cJSON_AddNumberToObject(tmp, "count", (double)r->tmp_files);
	cJSON_AddNumberToObject(tmp, "bytes", (double)r->tmp_bytes);
	list = cJSON_AddArrayToObject(tmp, "paths");
	for (i = 0; i < r->nitems; i++)
		if (!r->items[i].oid[0])
			cJSON_AddItemToArray(list, cJSON_CreateString(r->items[i].path));
	cJSON_AddNumberToObject(tmp, "foreign", (double)r->foreign);
	cJSON_AddNumberToObject(doc, "referenced", (double)r->referenced);
	cJSON_AddNumberToObject(doc, "kept_recent", (double)r->kept_recent);
	cJSON_AddNumberToObject(doc, "grace_seconds", (double)opts->grace_s);
	return cmd_print_json(doc);
}

static void print_text(p4r_cli *cli, const p4r_gc_opts *opts, const p4r_gc_result *r)
{
	const char *verb = opts->dry_run ? "would remove" : "removed";
	char a[32], b[32];
	size_t i;

	if (cli->quiet)
		return;
	for (i = 0; i < r->nitems; i++) {
		p4r_format_size(a, sizeof(a), r->items[i].bytes);
		if (r->items[i].oid[0])
			printf("%s object %s (%s)\n", verb, p4r_escape(r->items[i].oid), a);
		else
			printf("%s %s (%s)\n", verb, p4r_escape(r->items[i].path), a);
	}
	p4r_format_size(a, sizeof(a), r->object_bytes);
	p4r_format_size(b, sizeof(b), r->tmp_bytes);
	printf("%s %zu unreferenced object%s (%s) and %zu temporary file%s (%s)\n", verb,
	       r->objects, r->objects == 1 ? "" : "s", a, r->tmp_files, r->tmp_files == 1 ? "" : "s", b);
	if (r->kept_recent)
		cmd_note(cli, "kept %zu unreferenced file%s changed in the last %lld seconds "
			 "(they may belong to a running add)", r->kept_recent,
			 r->kept_recent == 1 ? "" : "s", (long long)opts->grace_s);
	if (r->foreign)
		cmd_note(cli, "kept %zu entr%s in .p4reg/tmp/ that p4reg did not make"
			 " (see p4reg fsck)", r->foreign, r->foreign == 1 ? "y" : "ies");
}

int cmd_gc(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	p4r_gc_opts opts = { .grace_s = P4R_GC_GRACE_DEFAULT_S };
	p4r_gc_result res;
	const char *value;
	long long grace;
	p4r_opts o;
	int id, rc;

	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_DRY_RUN) {
			opts.dry_run = true;
		} else if (id == OPT_GRACE) {
			if ((rc = p4r_parse_int64(&grace, value, 0, INT64_C(315360000), "--grace")) < 0)
				return rc;
			opts.grace_s = grace;
		} else {
			return cmd_usage_error(cli, "gc takes no arguments");
		}
	}
	if (rc < 0)
		return rc;
	rc = p4r_gc_run(repo, &opts, &res);
	if (rc == 0)
		rc = cli->json ? print_json(&opts, &res) : (print_text(cli, &opts, &res), 0);
	p4r_gc_result_clear(&res);
	return rc;
}
