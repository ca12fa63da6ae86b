/* p4reg gc: a retention policy (--keep-last), then objects no version
 * (nor git's Git LFS pointers) references and stale tmp/ files, then a
 * remote's garbage (-r). Parse, p4r_gc (ops/gc.h), print. */
#include "cmd.h"
#include "p4reg/ops/gc.h"
#include "p4reg/output.h"
#include "p4reg/remote.h"

#include <stdlib.h>

const char cmd_gc_usage[] =
	"usage: p4reg gc [--keep-last N [--keep-stages] [MODEL...]] [--dry-run]\n"
	"                [--grace SECONDS] [-r NAME]\n"
	"\n"
	"Deletes objects that no version references (archived and rolled-back\n"
	"versions keep theirs, so rollback always works) and no Git LFS pointer\n"
	"in git's index or in the history of any git ref names (git's filter\n"
	"stores objects no version has), and files left in .p4reg/tmp/ by\n"
	"interrupted commands. Anything changed within the grace\n"
	"period (default 3600 seconds) is kept: it may belong to an add that is\n"
	"still running. Only names p4reg itself writes are deleted, never\n"
	"sync.lock, and no symbolic link is followed. Prints what it frees.\n"
	"With --keep-last N, first deletes every version of each model (or of\n"
	"each MODEL) older than its newest N, as p4reg rm would, except those\n"
	"the rule keeps (in validation, staging or production, named by an\n"
	"alias, rollback's target: listed as kept); --keep-stages also keeps\n"
	"every version that ever entered validation, staging or production.\n"
	"Each deletion is a delete event (reason \"gc --keep-last N\") that push\n"
	"shares. With -r, also cleans remote NAME: the objects no live version\n"
	"in the remote's own log (nor a Git LFS pointer here) needs and older\n"
	"than the grace period, and the multipart uploads that pushes left\n"
	"unfinished on an S3 remote and that started before the grace period.\n"
	"\n"
	"  -n, --dry-run          report what would be deleted, delete nothing\n"
	"      --grace SECONDS    keep what changed within SECONDS (0: no grace;\n"
	"                         only safe when no other p4reg command runs)\n"
	"  -r, --remote NAME      also collect garbage on remote NAME\n"
	"      --keep-last N      first delete all but each model's newest N versions\n"
	"      --keep-stages      with --keep-last: keep every version that ever\n"
	"                         entered validation, staging or production\n";

enum { OPT_DRY_RUN = 1, OPT_GRACE, OPT_REMOTE, OPT_KEEP_LAST, OPT_KEEP_STAGES };

static const p4r_option options[] = {
	{ "dry-run", 'n', false, OPT_DRY_RUN },
	{ "grace", 0, true, OPT_GRACE },
	{ "remote", 'r', true, OPT_REMOTE },
	{ "keep-last", 0, true, OPT_KEEP_LAST },
	{ "keep-stages", 0, false, OPT_KEEP_STAGES },
	{ NULL, 0, false, 0 },
};

/* "uploads":{"count","oids","kept_recent","truncated"}, null for a folder remote */
static void uploads_json(cJSON *obj, const p4r_gc_remote_result *rr)
{
	cJSON *ups, *list;
	size_t i;

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

/* "objects":{"count","bytes","oids","needed","kept_recent","foreign","batches","live_versions"} */
static void objects_json(cJSON *obj, const p4r_gc_remote_objects_result *ro)
{
	cJSON *o, *list;
	size_t i;

	if (!ro->supported) {
		cJSON_AddNullToObject(obj, "objects");
		return;
	}
	o = cJSON_AddObjectToObject(obj, "objects");
	cJSON_AddNumberToObject(o, "count", (double)ro->nremoved);
	cJSON_AddNumberToObject(o, "bytes", (double)ro->bytes);
	list = cJSON_AddArrayToObject(o, "oids");
	for (i = 0; i < ro->nremoved; i++)
		cJSON_AddItemToArray(list, cJSON_CreateString(ro->removed[i].oid.hex));
	cJSON_AddNumberToObject(o, "needed", (double)ro->needed);
	cJSON_AddNumberToObject(o, "kept_recent", (double)ro->kept_recent);
	cJSON_AddNumberToObject(o, "foreign", (double)ro->foreign);
	cJSON_AddNumberToObject(o, "batches", (double)ro->batches);
	cJSON_AddNumberToObject(o, "live_versions", (double)ro->live_versions);
	o = cJSON_AddObjectToObject(obj, "packs");
	cJSON_AddNumberToObject(o, "count", (double)ro->npacks);
	cJSON_AddNumberToObject(o, "bytes", (double)ro->pack_bytes);
	list = cJSON_AddArrayToObject(o, "ids");
	for (i = 0; i < ro->npacks; i++)
		cJSON_AddItemToArray(list, cJSON_CreateString(ro->packs[i].oid.hex));
	cJSON_AddNumberToObject(o, "needed", (double)ro->packs_needed);
	cJSON_AddNumberToObject(o, "kept_recent", (double)ro->packs_recent);
}

/* The names of the rules that kept an item. */
static cJSON *rules_json(unsigned kept)
{
	static const struct { unsigned bit; const char *name; } rules[] = {
		{ P4R_KEPT_STAGE, "stage" }, { P4R_KEPT_ALIAS, "alias" },
		{ P4R_KEPT_ROLLBACK, "rollback-target" }, { P4R_KEPT_HELD_STAGE, "keep-stages" },
	};
	cJSON *a = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (kept & rules[i].bit)
			cJSON_AddItemToArray(a, cJSON_CreateString(rules[i].name));
	return a;
}

static cJSON *item_json(const p4r_retain_item *it)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "model", it->model);
	cJSON_AddNumberToObject(o, "version", (double)it->number);
	cJSON_AddStringToObject(o, "stage", p4r_stage_name(it->stage));
	if (!it->deleted) {
		cJSON_AddStringToObject(o, "kept_by", it->kept_by);
		cJSON_AddItemToObject(o, "rules", rules_json(it->kept));
		return o;
	}
	cJSON_AddNumberToObject(o, "freed_objects", (double)it->freed_objects);
	cJSON_AddNumberToObject(o, "freed_bytes", (double)it->freed_bytes);
	cJSON_AddBoolToObject(o, "files_unknown", it->files_unknown);
	return o;
}

/* "retention":{"keep_last","keep_stages","reason","models","deleted":[...],
 * "kept":[...],"freed":{"count","bytes","oids"}} */
static void retention_json(cJSON *doc, const p4r_gc_op_opts *opts, const p4r_retention_result *rt)
{
	cJSON *o = cJSON_AddObjectToObject(doc, "retention"), *del, *kept, *freed, *oids;
	size_t i;

	cJSON_AddNumberToObject(o, "keep_last", (double)opts->keep_last);
	cJSON_AddBoolToObject(o, "keep_stages", opts->keep_stages);
	cJSON_AddStringToObject(o, "reason", rt->reason);
	cJSON_AddNumberToObject(o, "models", (double)rt->models);
	del = cJSON_AddArrayToObject(o, "deleted");
	kept = cJSON_AddArrayToObject(o, "kept");
	for (i = 0; i < rt->nitems; i++)
		cJSON_AddItemToArray(rt->items[i].deleted ? del : kept, item_json(&rt->items[i]));
	freed = cJSON_AddObjectToObject(o, "freed");
	cJSON_AddNumberToObject(freed, "count", (double)rt->freed.n);
	cJSON_AddNumberToObject(freed, "bytes", (double)rt->freed_bytes);
	oids = cJSON_AddArrayToObject(freed, "oids");
	for (i = 0; i < rt->freed.n; i++)
		cJSON_AddItemToArray(oids, cJSON_CreateString(rt->freed.oid[i].hex));
}

static void store_json(cJSON *doc, const p4r_gc_result *r)
{
	cJSON *objs = cJSON_AddObjectToObject(doc, "objects"), *tmp, *list;
	size_t i;

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
}

static int print_json(const p4r_gc_op_opts *opts, const p4r_gc_op_result *res)
{
	cJSON *doc = cJSON_CreateObject(), *rem;

	if (!doc)
		return p4r_error_set(P4R_ERROR, "out of memory");
	cJSON_AddBoolToObject(doc, "dry_run", opts->gc.dry_run);
	store_json(doc, &res->store);
	cJSON_AddNumberToObject(doc, "grace_seconds", (double)opts->gc.grace_s);
	if (opts->keep_last)
		retention_json(doc, opts, &res->retention);
	else
		cJSON_AddNullToObject(doc, "retention");
	if (res->remote[0]) {
		rem = cJSON_AddObjectToObject(doc, "remote");
		cJSON_AddStringToObject(rem, "name", res->remote);
		uploads_json(rem, &res->uploads);
		objects_json(rem, &res->objects);
	}
	return cmd_print_json(doc);
}

/* A line per version retention looked at, then the total. */
static void print_retention(const p4r_gc_op_opts *opts, const p4r_retention_result *rt)
{
	const bool dry = opts->gc.dry_run;
	char a[32];
	size_t i;

	for (i = 0; i < rt->nitems; i++) {
		const p4r_retain_item *it = &rt->items[i];

		if (!it->deleted) {
			printf("kept %s@%lld: %s\n", p4r_escape(it->model), (long long)it->number, p4r_escape(it->kept_by));
			continue;
		}
		p4r_format_size(a, sizeof(a), it->freed_bytes);
		printf("%s %s@%lld (frees %s%s)\n", dry ? "would delete" : "deleted", p4r_escape(it->model),
		       (long long)it->number, a, it->files_unknown ? "; its files are not here to count" : "");
	}
	p4r_format_size(a, sizeof(a), rt->freed_bytes);
	printf("%s: %s %zu version%s, kept %zu; %s %zu object%s (%s)\n", rt->reason,
	       dry ? "would delete" : "deleted", rt->deleted, rt->deleted == 1 ? "" : "s", rt->kept,
	       dry ? "they would free" : "they free", rt->freed.n, rt->freed.n == 1 ? "" : "s", a);
}

static void print_text(p4r_cli *cli, const p4r_gc_opts *opts, const p4r_gc_result *r)
{
	const char *verb = opts->dry_run ? "would remove" : "removed";
	char a[32], b[32];
	size_t i;

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

/* The remote's unfinished uploads: each aborted, a total, notes for the kept. */
static void print_uploads(p4r_cli *cli, const p4r_gc_opts *opts, const char *name,
			  const p4r_gc_remote_result *rr)
{
	const char *verb = opts->dry_run ? "would abort" : "aborted";
	char when[32];
	size_t i;

	if (!rr->supported) {
		cmd_note(cli, "remote '%s' is a folder: it keeps no unfinished uploads", name);
		return;
	}
	for (i = 0; i < rr->naborted; i++) {
		p4r_format_time(when, sizeof(when), rr->aborted[i].initiated_s * 1000);
		printf("%s upload of object %s on remote '%s' (started %s)\n", verb, rr->aborted[i].key + 14,
		       p4r_escape(name), when);
	}
	printf("%s %zu unfinished upload%s on remote '%s'\n", verb, rr->naborted, rr->naborted == 1 ? "" : "s",
	       p4r_escape(name));
	if (rr->kept_recent)
		cmd_note(cli, "kept %zu unfinished upload%s on remote '%s' started in the last %lld seconds "
			 "or at a time the server did not say (a push may be running)", rr->kept_recent,
			 rr->kept_recent == 1 ? "" : "s", name, (long long)opts->grace_s);
	if (rr->truncated)
		cmd_note(cli, "remote '%s' lists more than %d unfinished uploads: run gc again for the rest",
			 name, P4R_REMOTE_UPLOADS_MAX);
}

/* The remote's objects: each removed, a total, notes for the kept. */
static void print_remote_objects(p4r_cli *cli, const p4r_gc_opts *opts, const char *name,
				 const p4r_gc_remote_objects_result *ro)
{
	const char *verb = opts->dry_run ? "would remove" : "removed";
	char a[32];
	size_t i;

	for (i = 0; i < ro->nremoved; i++) {
		p4r_format_size(a, sizeof(a), ro->removed[i].size);
		printf("%s object %s from remote '%s' (%s%s)\n", verb, ro->removed[i].oid.hex, p4r_escape(name),
		       ro->removed[i].chunked ? "chunk list, " : "", a);
	}
	for (i = 0; i < ro->npacks; i++) {
		p4r_format_size(a, sizeof(a), ro->packs[i].size);
		printf("%s pack %s from remote '%s' (%s)\n", verb, ro->packs[i].oid.hex, p4r_escape(name), a);
	}
	p4r_format_size(a, sizeof(a), ro->bytes);
	printf("%s %zu object%s (%s) from remote '%s'; kept %zu that %zu live version%s need%s\n", verb,
	       ro->nremoved, ro->nremoved == 1 ? "" : "s", a, p4r_escape(name), ro->needed,
	       ro->live_versions, ro->live_versions == 1 ? "" : "s", ro->live_versions == 1 ? "s" : "");
	if (ro->npacks || ro->packs_needed || ro->packs_recent) {
		p4r_format_size(a, sizeof(a), ro->pack_bytes);
		printf("%s %zu pack%s (%s) from remote '%s'; kept %zu that chunk lists name\n", verb, ro->npacks,
		       ro->npacks == 1 ? "" : "s", a, p4r_escape(name), ro->packs_needed);
	}
	if (ro->packs_recent)
		cmd_note(cli, "kept %zu pack%s on remote '%s' that no chunk list names, written in the last "
			 "%lld seconds or at a time the remote did not say (a push may be running)",
			 ro->packs_recent, ro->packs_recent == 1 ? "" : "s", name, (long long)opts->grace_s);
	if (ro->kept_recent)
		cmd_note(cli, "kept %zu object%s on remote '%s' that no version needs, written in the last "
			 "%lld seconds or at a time the remote did not say (a push may be running)",
			 ro->kept_recent, ro->kept_recent == 1 ? "" : "s", name, (long long)opts->grace_s);
	if (ro->foreign)
		cmd_note(cli, "left %zu entr%s under the objects/ of remote '%s' alone: not p4reg objects",
			 ro->foreign, ro->foreign == 1 ? "y" : "ies", name);
}

static void print_all(p4r_cli *cli, const p4r_gc_op_opts *opts, const p4r_gc_op_result *res)
{
	if (cli->quiet)
		return;
	if (opts->keep_last)
		print_retention(opts, &res->retention);
	print_text(cli, &opts->gc, &res->store);
	if (!res->remote[0])
		return;
	print_uploads(cli, &opts->gc, res->remote, &res->uploads);
	if (res->objects.supported)
		print_remote_objects(cli, &opts->gc, res->remote, &res->objects);
}

/* One option into OPTS; a positional argument is a model name. */
static int parse_one(p4r_gc_op_opts *opts, const char **models, int id, const char *value)
{
	long long n;
	int rc;

	if (id == OPT_DRY_RUN) {
		opts->gc.dry_run = true;
	} else if (id == OPT_GRACE) {
		if ((rc = p4r_parse_int64(&n, value, 0, INT64_C(315360000), "--grace")) < 0)
			return rc;
		opts->gc.grace_s = n;
	} else if (id == OPT_REMOTE) {
		opts->remote = value;
	} else if (id == OPT_KEEP_LAST) {
		if ((rc = p4r_parse_int64(&n, value, 1, P4R_GC_KEEP_LAST_MAX, "--keep-last")) < 0)
			return rc;
		opts->keep_last = n;
	} else if (id == OPT_KEEP_STAGES) {
		opts->keep_stages = true;
	} else {
		models[opts->nmodels++] = value;
	}
	return 0;
}

static int parse(p4r_cli *cli, int argc, char **argv, p4r_gc_op_opts *opts, const char **models)
{
	const char *value;
	p4r_opts o;
	int id, rc;

	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE)
		if ((rc = parse_one(opts, models, id, value)) < 0)
			return rc;
	if (rc < 0)
		return rc;
	if (opts->nmodels && !opts->keep_last)
		return cmd_usage_error(cli, opts->keep_stages ? "gc takes model names only with --keep-last" :
				       "gc takes no arguments");
	if (opts->keep_stages && !opts->keep_last)
		return cmd_usage_error(cli, "--keep-stages needs --keep-last");
	return 0;
}

int cmd_gc(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	p4r_gc_op_opts opts = { .gc = { .grace_s = P4R_GC_GRACE_DEFAULT_S } };
	const char **models = calloc((size_t)argc, sizeof(*models));
	p4r_gc_op_result res = { 0 };
	p4r_op_report report;
	cmd_report cr;
	int rc;

	if (!models)
		return p4r_error_set(P4R_ERROR, "out of memory");
	opts.models = models;
	if ((rc = parse(cli, argc, argv, &opts, models)) == 0) {
		report = cmd_report_init(&cr, cli);
		rc = p4r_gc(repo, &opts, &report, &res);
		cmd_report_done(&cr);
	}
	if (rc == 0 && cli->json)
		rc = print_json(&opts, &res);
	else if (rc == 0)
		print_all(cli, &opts, &res);
	p4r_gc_op_result_free(&res);
	free(models);
	return rc;
}
