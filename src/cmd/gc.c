/* p4reg gc: delete objects no version (nor git's Git LFS pointers)
 * references and stale tmp/ files. */
#include "cmd.h"
#include "p4reg/gc.h"
#include "p4reg/output.h"
#include "p4reg/remote.h"

const char cmd_gc_usage[] =
	"usage: p4reg gc [--dry-run] [--grace SECONDS] [-r NAME]\n"
	"\n"
	"Deletes objects that no version references (archived and rolled-back\n"
	"versions keep theirs, so rollback always works) and no Git LFS pointer\n"
	"in git's index or in the history of any git ref names (git's filter\n"
	"stores objects no version has), and files left in .p4reg/tmp/ by\n"
	"interrupted commands. Anything changed within the grace\n"
	"period (default 3600 seconds) is kept: it may belong to an add that is\n"
	"still running. Only names p4reg itself writes are deleted, never\n"
	"sync.lock, and no symbolic link is followed. Prints what it frees.\n"
	"With -r, also aborts the multipart uploads that pushes left unfinished\n"
	"on that S3 remote and that started before the grace period.\n"
	"\n"
	"  -n, --dry-run          report what would be deleted, delete nothing\n"
	"      --grace SECONDS    keep what changed within SECONDS (0: no grace;\n"
	"                         only safe when no other p4reg command runs)\n"
	"  -r, --remote NAME      also abort stale unfinished uploads on remote NAME\n";

enum { OPT_DRY_RUN = 1, OPT_GRACE, OPT_REMOTE };

static const p4r_option options[] = {
	{ "dry-run", 'n', false, OPT_DRY_RUN },
	{ "grace", 0, true, OPT_GRACE },
	{ "remote", 'r', true, OPT_REMOTE },
	{ NULL, 0, false, 0 },
};

/* "remote":{"name","uploads":{"count","oids","kept_recent","truncated"}}
 * (uploads null for a folder remote) */
static void remote_json(cJSON *doc, const p4r_remote *rem, const p4r_gc_remote_result *rr)
{
	cJSON *obj = cJSON_AddObjectToObject(doc, "remote"), *ups, *list;
	size_t i;

	cJSON_AddStringToObject(obj, "name", rem->name);
	if (!rr->supported) {
		cJSON_AddNullToObject(obj, "uploads");
		return;
	}
	ups = cJSON_AddObjectToObject(obj, "uploads");
	cJSON_AddNumberToObject(ups, "count", (double)rr->naborted);
	list = cJSON_AddArrayToObject(ups, "oids");
	for (i = 0; i < rr->naborted; i++)
		cJSON_AddItemToArray(list, cJSON_CreateString(rr->aborted[i].key + 14));
	cJSON_AddNumberToObject(ups, "kept_recent", (double)rr->kept_recent);
	cJSON_AddBoolToObject(ups, "truncated", rr->truncated);
}

static int print_json(const p4r_gc_opts *opts, const p4r_gc_result *r, const p4r_remote *rem,
		      const p4r_gc_remote_result *rr)
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
	if (rem)
		remote_json(doc, rem, rr);
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

/* The remote's part: each upload aborted, a total, notes for the kept. */
static void print_remote_text(p4r_cli *cli, const p4r_gc_opts *opts, const p4r_remote *rem,
			      const p4r_gc_remote_result *rr)
{
	const char *verb = opts->dry_run ? "would abort" : "aborted";
	char when[32];
	size_t i;

	if (cli->quiet)
		return;
	if (!rr->supported) {
		cmd_note(cli, "remote '%s' is a folder: it keeps no unfinished uploads", rem->name);
		return;
	}
	for (i = 0; i < rr->naborted; i++) {
		p4r_format_time(when, sizeof(when), rr->aborted[i].initiated_s * 1000);
		printf("%s upload of object %s on remote '%s' (started %s)\n", verb, rr->aborted[i].key + 14,
		       p4r_escape(rem->name), when);
	}
	printf("%s %zu unfinished upload%s on remote '%s'\n", verb, rr->naborted, rr->naborted == 1 ? "" : "s",
	       p4r_escape(rem->name));
	if (rr->kept_recent)
		cmd_note(cli, "kept %zu unfinished upload%s on remote '%s' started in the last %lld seconds "
			 "or at a time the server did not say (a push may be running)", rr->kept_recent,
			 rr->kept_recent == 1 ? "" : "s", rem->name, (long long)opts->grace_s);
	if (rr->truncated)
		cmd_note(cli, "remote '%s' lists more than %d unfinished uploads: run gc again for the rest",
			 rem->name, P4R_REMOTE_UPLOADS_MAX);
}

int cmd_gc(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	p4r_gc_opts opts = { .grace_s = P4R_GC_GRACE_DEFAULT_S };
	p4r_gc_remote_result rres = { 0 };
	p4r_gc_result res = { 0 };
	p4r_remote *rem = NULL;
	const char *value, *remote = NULL;
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
		} else if (id == OPT_REMOTE) {
			remote = value;
		} else {
			return cmd_usage_error(cli, "gc takes no arguments");
		}
	}
	if (rc < 0)
		return rc;
	/* a remote that cannot be opened stops gc before it deletes anything */
	if (remote && (rc = p4r_remote_open(&rem, p4r_repo_config(repo), p4r_repo_meta(repo), remote)) < 0)
		return rc;
	rc = p4r_gc_run(repo, &opts, &res);
	if (rc == 0 && !cli->json)
		print_text(cli, &opts, &res);
	if (rc == 0 && rem && (rc = p4r_gc_remote(rem, &opts, &rres)) == 0 && !cli->json)
		print_remote_text(cli, &opts, rem, &rres);
	if (rc == 0 && cli->json)
		rc = print_json(&opts, &res, rem, &rres);
	p4r_gc_remote_result_clear(&rres);
	p4r_gc_result_clear(&res);
	p4r_remote_free(rem);
	return rc;
}
