/* p4reg fsck: re-hash the store, check registry <-> store <-> pointers. */
#include "cmd.h"
#include "p4reg/fsck.h"
#include "p4reg/ondemand.h"
#include "p4reg/output.h"

#include <stdlib.h>
#include <string.h>

const char cmd_fsck_usage[] =
	"usage: p4reg fsck [--remote] [-r NAME] [--offline] [--repair | --new-registry]\n"
	"\n"
	"Re-hashes every object in .p4reg/objects, checks that every version's\n"
	"object is in the store, that every pointer file in the work tree names a\n"
	"registered version with the same oid and size, and that the registry\n"
	"passes SQLite's integrity check and p4reg's invariants (one staging and\n"
	"one production version per model, versions numbered 1..N, stages agreeing\n"
	"with the event history). A corrupt object is moved to .p4reg/quarantine/.\n"
	"An object not in the store is looked up on the remote (presence and size,\n"
	"nothing downloaded): there, it is a \"not-downloaded\" note; nowhere, it is\n"
	"lost. Each problem is printed with its fix. A registry that cannot be\n"
	"opened is reported and everything else is still checked. Exit 0 when all\n"
	"is well (notes included), 4 when anything is wrong, 1 when the remote\n"
	"could not be asked and nothing else is wrong.\n"
	"\n"
	"      --remote        check every version's object on the remote too\n"
	"                      (presence and size, without downloading)\n"
	"  -r, --remote-name NAME\n"
	"                      the remote to ask (default: core.remote, or the only one)\n"
	"      --offline       never contact a remote (also: config core.offline);\n"
	"                      objects not in the store are \"not-checked\" notes\n"
	"      --repair        fetch a good copy of corrupt or missing objects from\n"
	"                      a remote (needs a configured remote)\n"
	"      --new-registry  when the registry is missing or cannot be opened:\n"
	"                      move it to .p4reg/quarantine/ and start an empty one,\n"
	"                      to refill with p4reg pull (its history is not kept)\n";

enum { OPT_REPAIR = 1, OPT_NEW_REGISTRY, OPT_REMOTE, OPT_REMOTE_NAME, OPT_OFFLINE };

static const p4r_option options[] = {
	{ "repair", 0, false, OPT_REPAIR },
	{ "new-registry", 0, false, OPT_NEW_REGISTRY },
	{ "remote", 0, false, OPT_REMOTE },
	{ "remote-name", 'r', true, OPT_REMOTE_NAME },
	{ "offline", 0, false, OPT_OFFLINE },
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

static void json_findings(cJSON *doc, const char *name, const p4r_fsck_problem *v, size_t n)
{
	cJSON *arr = cJSON_AddArrayToObject(doc, name);
	size_t i;

	for (i = 0; i < n; i++) {
		const p4r_fsck_problem *p = &v[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "kind", p->kind);
		p4r_json_add_text(o, "object", p->object);
		p4r_json_add_text(o, "path", p->path);
		p4r_json_add_text(o, "model", p->model);
		cJSON_AddStringToObject(o, "message", p->message);
		p4r_json_add_text(o, "fix", p->fix);
		cJSON_AddItemToArray(arr, o);
	}
}

static void json_string_or_null(cJSON *doc, const char *name, const char *value)
{
	if (value)
		cJSON_AddStringToObject(doc, name, value);
	else
		cJSON_AddNullToObject(doc, name);
}

static int print_json(const p4r_fsck_report *rep)
{
	cJSON *doc = cJSON_CreateObject();

	if (!doc)
		return p4r_error_set(P4R_ERROR, "out of memory");
	cJSON_AddBoolToObject(doc, "ok", rep->nproblems == 0 && !rep->remote_error);
	cJSON_AddNumberToObject(doc, "objects_checked", (double)rep->objects_checked);
	cJSON_AddNumberToObject(doc, "bytes_checked", (double)rep->bytes_checked);
	cJSON_AddNumberToObject(doc, "pointers_checked", (double)rep->pointers_checked);
	cJSON_AddNumberToObject(doc, "quarantined", (double)rep->quarantined);
	cJSON_AddNumberToObject(doc, "repaired", (double)rep->repaired);
	json_string_or_null(doc, "remote", rep->remote);
	cJSON_AddNumberToObject(doc, "remote_checked", (double)rep->remote_checked);
	json_string_or_null(doc, "remote_error", rep->remote_error);
	json_findings(doc, "problems", rep->problems, rep->nproblems);
	json_findings(doc, "notes", rep->notes, rep->nnotes);
	return cmd_print_json(doc);
}

/* How many notes of KIND. */
static size_t count_notes(const p4r_fsck_report *rep, const char *kind)
{
	size_t i, n = 0;

	for (i = 0; i < rep->nnotes; i++)
		n += !strcmp(rep->notes[i].kind, kind);
	return n;
}

/* "; notes: 2 not downloaded, 1 not on the remote" when there are notes. */
static void notes_summary(char *buf, size_t bufsz, const p4r_fsck_report *rep)
{
	static const struct { const char *kind, *label; } kinds[] = {
		{ "not-downloaded", "not downloaded" },
		{ "not-checked", "not checked" },
		{ "not-on-remote", "not on the remote" },
		{ "torn-object", "torn by a crash" },
	};
	size_t i, len = 0, n;

	buf[0] = '\0';
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && len < bufsz; i++) {
		if (!(n = count_notes(rep, kinds[i].kind)))
			continue;
		len += (size_t)snprintf(buf + len, bufsz - len, "%s%zu %s", len ? ", " : "; notes: ", n,
					kinds[i].label);
	}
}

static void print_text(p4r_cli *cli, const p4r_fsck_report *rep)
{
	char size[32], remote[128] = "", notes[128];
	size_t i;

	for (i = 0; i < rep->nproblems; i++) {
		printf("%s: %s\n", p4r_escape(rep->problems[i].kind), p4r_escape(rep->problems[i].message));
		if (rep->problems[i].fix)
			printf("  fix: %s\n", p4r_escape(rep->problems[i].fix));
	}
	/* notes are one line each: their fix is in the JSON and the docs */
	for (i = 0; i < rep->nnotes && !cli->quiet; i++)
		printf("%s: %s\n", p4r_escape(rep->notes[i].kind), p4r_escape(rep->notes[i].message));
	if (rep->repaired)
		printf("repaired: %llu object%s fetched from the remote and verified\n",
		       (unsigned long long)rep->repaired, rep->repaired == 1 ? "" : "s");
	if (cli->quiet && rep->nproblems == 0)
		return;
	p4r_format_size(size, sizeof(size), rep->bytes_checked);
	if (rep->remote)
		snprintf(remote, sizeof(remote), ", %llu checked on remote '%s'",
			 (unsigned long long)rep->remote_checked, p4r_escape(rep->remote));
	notes_summary(notes, sizeof(notes), rep);
	if (rep->nproblems == 0)
		printf("ok: %llu objects (%s) re-hashed%s, %llu pointers checked, registry consistent%s\n",
		       (unsigned long long)rep->objects_checked, size, remote,
		       (unsigned long long)rep->pointers_checked, notes);
	else
		printf("%zu problem%s found: %llu objects (%s) re-hashed%s, %llu quarantined, %llu pointers checked%s\n",
		       rep->nproblems, rep->nproblems == 1 ? "" : "s",
		       (unsigned long long)rep->objects_checked, size, remote,
		       (unsigned long long)rep->quarantined, (unsigned long long)rep->pointers_checked, notes);
}

/* Problems are exit 4 and the report says it all; a remote that could not
 * be asked, with nothing else wrong, is exit 1 with its reason. */
static int verdict(p4r_cli *cli, const p4r_fsck_report *rep)
{
	if (fflush(stdout) == EOF)
		return p4r_error_errno("cannot write to standard output");
	if (rep->nproblems > 0) {
		if (rep->remote_error && !cli->json)
			cmd_warn("cannot check the remote: %s", rep->remote_error);
		/* the report is the output: main must not print an error too */
		cli->reported = true;
		return p4r_error_set(P4R_EINTEGRITY, "fsck found %zu problems", rep->nproblems);
	}
	if (rep->remote_error) {
		/* JSON carries it in remote_error: one document on stdout */
		cli->reported = cli->json;
		return p4r_error_set(P4R_ERROR, "cannot check the remote: %s; p4reg fsck --offline checks "
				     "without it", rep->remote_error);
	}
	return 0;
}

/* core.offline, unless the command line asks for the remote (--remote,
 * -r, --repair): the explicit word wins over the configured default. The
 * setting is read as every command reads it (p4r_ondemand_config: the
 * user's own, never the committed one, which could hide lost objects). */
static int resolve_offline(p4r_cli *cli, p4r_repo *repo, bool flag, bool wants_remote, bool *out)
{
	p4r_ondemand od = { .offline = flag };
	int rc;

	*out = flag;
	if (flag && wants_remote)
		return cmd_usage_error(cli, "--offline never contacts a remote; it cannot be combined with "
				       "--remote, -r or --repair");
	if (flag || wants_remote)
		return 0;
	if ((rc = p4r_ondemand_config(repo, &od)) < 0)
		return rc;
	*out = od.offline;
	return 0;
}

int cmd_fsck(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	cmd_progress progress = { .cli = cli };
	p4r_fsck_opts opts = { .count = cmd_progress_show, .payload = &progress };
	p4r_fsck_report rep;
	p4r_remote *remote = NULL;
	const char *value, *name = NULL;
	bool fresh = false, offline = false;
	p4r_opts o;
	int id, rc;

	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_REPAIR)
			opts.repair = true;
		else if (id == OPT_NEW_REGISTRY)
			fresh = true;
		else if (id == OPT_REMOTE)
			opts.check_remote = true;
		else if (id == OPT_REMOTE_NAME)
			name = value;
		else if (id == OPT_OFFLINE)
			offline = true;
		else
			return cmd_usage_error(cli, "fsck takes no arguments%s",
					       opts.check_remote ? " (name the remote with -r NAME)" : "");
	}
	if (rc < 0)
		return rc;
	if (fresh && (opts.repair || opts.check_remote || name || offline))
		return cmd_usage_error(cli, "--new-registry checks nothing; it cannot be combined with other options");
	if (fresh)
		return new_registry(cli, repo);
	if ((rc = resolve_offline(cli, repo, offline, opts.repair || opts.check_remote || name,
				  &opts.offline)) < 0)
		return rc;
	/* a remote asked for by name must exist before anything is checked */
	if ((name || opts.check_remote) &&
	    (rc = p4r_remote_open(&remote, p4r_repo_config(repo), p4r_repo_meta(repo), name)) < 0)
		return rc;
	opts.remote = remote;
	rc = p4r_fsck_run(repo, &opts, &rep);
	cmd_progress_done(&progress);
	if (rc == 0)
		rc = cli->json ? print_json(&rep) : (print_text(cli, &rep), 0);
	if (rc == 0)
		rc = verdict(cli, &rep);
	p4r_fsck_report_clear(&rep);
	p4r_remote_free(remote);
	return rc;
}
