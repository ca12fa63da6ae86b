/* p4reg fsck: re-hash the store, check registry <-> store <-> pointers. */
#include "cmd.h"
#include "p4reg/fsck.h"
#include "p4reg/output.h"

#include <stdlib.h>
#include <string.h>

const char cmd_fsck_usage[] =
	"usage: p4reg fsck [--repair | --new-registry]\n"
	"\n"
	"Re-hashes every object in .p4reg/objects, checks that every version's\n"
	"object is in the store, that every pointer file in the work tree names a\n"
	"registered version with the same oid and size, and that the registry\n"
	"passes SQLite's integrity check and p4reg's invariants (one staging and\n"
	"one production version per model, versions numbered 1..N, stages agreeing\n"
	"with the event history). A corrupt object is moved to .p4reg/quarantine/.\n"
	"Each problem is printed with its fix. A registry that cannot be opened\n"
	"is reported and everything else is still checked. Exit 0 when all is\n"
	"well, 4 when anything is wrong.\n"
	"\n"
	"      --repair        fetch a good copy of corrupt or missing objects from\n"
	"                      a remote (needs a configured remote)\n"
	"      --new-registry  when the registry is missing or cannot be opened:\n"
	"                      move it to .p4reg/quarantine/ and start an empty one,\n"
	"                      to refill with p4reg pull (its history is not kept)\n";

enum { OPT_REPAIR = 1, OPT_NEW_REGISTRY };

static const p4r_option options[] = {
	{ "repair", 0, false, OPT_REPAIR },
	{ "new-registry", 0, false, OPT_NEW_REGISTRY },
	{ NULL, 0, false, 0 },
};

/* fsck --new-registry: replace, say where the old file went, check nothing. */
static int new_registry(p4r_cli *cli, p4r_repo *repo)
{
	const char *root = p4r_repo_root(repo);
	size_t rootlen = strlen(root);
	char *moved = NULL;
	const char *rel;
	cJSON *doc;
	int rc;

	if ((rc = p4r_fsck_new_registry(repo, &moved)) < 0)
		return rc;
	rel = moved && !strncmp(moved, root, rootlen) && moved[rootlen] == '/' ?
	      moved + rootlen + 1 : moved;
	if (cli->json) {
		if (!(doc = cJSON_CreateObject())) {
			free(moved);
			return p4r_error_set(P4R_ERROR, "out of memory");
		}
		cJSON_AddStringToObject(doc, "created", P4R_META_DIR "/registry.db");
		if (rel)
			cJSON_AddStringToObject(doc, "quarantined", rel);
		else
			cJSON_AddNullToObject(doc, "quarantined");
		rc = cmd_print_json(doc);
	} else if (!cli->quiet) {
		if (rel)
			printf("moved the old registry to '%s'\n", rel);
		printf("created an empty registry: refill it from a remote with p4reg pull,"
		       " then run p4reg fsck\n");
	}
	free(moved);
	return rc;
}

static int print_json(const p4r_fsck_report *rep)
{
	cJSON *doc = cJSON_CreateObject(), *arr;
	size_t i;

	if (!doc)
		return p4r_error_set(P4R_ERROR, "out of memory");
	cJSON_AddBoolToObject(doc, "ok", rep->nproblems == 0);
	cJSON_AddNumberToObject(doc, "objects_checked", (double)rep->objects_checked);
	cJSON_AddNumberToObject(doc, "bytes_checked", (double)rep->bytes_checked);
	cJSON_AddNumberToObject(doc, "pointers_checked", (double)rep->pointers_checked);
	cJSON_AddNumberToObject(doc, "quarantined", (double)rep->quarantined);
	cJSON_AddNumberToObject(doc, "repaired", (double)rep->repaired);
	arr = cJSON_AddArrayToObject(doc, "problems");
	for (i = 0; i < rep->nproblems; i++) {
		const p4r_fsck_problem *p = &rep->problems[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "kind", p->kind);
		if (p->object)
			cJSON_AddStringToObject(o, "object", p->object);
		if (p->path)
			cJSON_AddStringToObject(o, "path", p->path);
		if (p->model)
			cJSON_AddStringToObject(o, "model", p->model);
		cJSON_AddStringToObject(o, "message", p->message);
		cJSON_AddStringToObject(o, "fix", p->fix ? p->fix : "");
		cJSON_AddItemToArray(arr, o);
	}
	return cmd_print_json(doc);
}

static void print_text(p4r_cli *cli, const p4r_fsck_report *rep)
{
	char size[32];
	size_t i;

	for (i = 0; i < rep->nproblems; i++) {
		printf("%s: %s\n", p4r_escape(rep->problems[i].kind), p4r_escape(rep->problems[i].message));
		if (rep->problems[i].fix)
			printf("  fix: %s\n", p4r_escape(rep->problems[i].fix));
	}
	if (rep->repaired)
		printf("repaired: %llu object%s fetched from the remote and verified\n",
		       (unsigned long long)rep->repaired, rep->repaired == 1 ? "" : "s");
	if (cli->quiet && rep->nproblems == 0)
		return;
	p4r_format_size(size, sizeof(size), rep->bytes_checked);
	if (rep->nproblems == 0)
		printf("ok: %llu objects (%s) re-hashed, %llu pointers checked, registry consistent\n",
		       (unsigned long long)rep->objects_checked, size,
		       (unsigned long long)rep->pointers_checked);
	else
		printf("%zu problem%s found: %llu objects (%s) re-hashed, %llu quarantined, %llu pointers checked\n",
		       rep->nproblems, rep->nproblems == 1 ? "" : "s",
		       (unsigned long long)rep->objects_checked, size,
		       (unsigned long long)rep->quarantined, (unsigned long long)rep->pointers_checked);
}

int cmd_fsck(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	cmd_progress progress = { .cli = cli, .label = "checking objects" };
	p4r_fsck_opts opts = { .progress = cmd_progress_update, .payload = &progress };
	p4r_fsck_report rep;
	const char *value;
	bool fresh = false;
	p4r_opts o;
	int id, rc;

	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_REPAIR)
			opts.repair = true;
		else if (id == OPT_NEW_REGISTRY)
			fresh = true;
		else
			return cmd_usage_error(cli, "fsck takes no arguments");
	}
	if (rc < 0)
		return rc;
	if (fresh && opts.repair)
		return cmd_usage_error(cli, "--new-registry and --repair cannot be combined");
	if (fresh)
		return new_registry(cli, repo);
	rc = p4r_fsck_run(repo, &opts, &rep);
	cmd_progress_done(&progress);
	if (rc < 0) {
		p4r_fsck_report_clear(&rep);
		return rc;
	}
	if (cli->json) {
		rc = print_json(&rep);
	} else {
		print_text(cli, &rep);
	}
	if (rc == 0 && rep.nproblems > 0) {
		/* the report is the output: main must not print an error too */
		if (fflush(stdout) == EOF)
			rc = p4r_error_errno("cannot write to standard output");
		else {
			cli->reported = true;
			rc = p4r_error_set(P4R_EINTEGRITY, "fsck found %zu problems", rep.nproblems);
		}
	}
	p4r_fsck_report_clear(&rep);
	return rc;
}
