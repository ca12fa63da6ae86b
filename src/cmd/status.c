/* p4reg status: each tracked file as clean, modified, missing or
 * object-missing. The stat cache answers for files that did not change. */
#include "cmd.h"
#include "p4reg/beneath.h"
#include "p4reg/gitio.h"
#include "p4reg/lfs.h"
#include "p4reg/objguard.h"
#include "p4reg/worktree.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char cmd_status_usage[] =
	"usage: p4reg status\n"
	"\n"
	"Lists every pointer in the repository with the state of its file:\n"
	"  clean           the file's bytes are the version the pointer names\n"
	"  modified        the bytes differ: 'p4reg add' makes a new version\n"
	"  missing         no file: 'p4reg checkout' restores it\n"
	"  object-missing  the store lacks the version's bytes: 'p4reg pull'\n"
	"                  (or any command that needs them) downloads them\n"
	"  unknown-version the pointer names a version the registry lacks:\n"
	"                  'p4reg fetch' brings the registry up to date\n"
	"  invalid         the pointer cannot be read or parsed, disagrees with the\n"
	"                  registry, or the file is not a regular file\n"
	"  damaged         the store's copy of the version's bytes was changed in\n"
	"                  place (a hard-linked file written to) and is quarantined:\n"
	"                  'p4reg fsck --repair' fetches it from a remote; exit 4\n"
	"  moved           a pointer left at a model's old path by a move fetched\n"
	"                  from a remote (the model is now at the path shown):\n"
	"                  'p4reg mv OLD NEW' finishes the move here\n"
	"Then every registered model whose path git sends to Git LFS (no pointer\n"
	"file), against the Git LFS pointer staged in the git index (else the\n"
	"model's latest version); its object may also be in .git/lfs/objects.\n"
	"Exit 4 when a pointer is invalid or a version damaged, after the whole listing.\n";

/* What one status run shares. */
struct run {
	p4r_cli *cli;
	p4r_repo *repo;
	cJSON *arr;             /* JSON mode: the files */
	p4r_damage *damaged;    /* objects marked damaged before this run */
	size_t ndamaged;
	p4r_guard_log log;      /* damaged objects of the files shown */
	bool stuck;             /* one could not be moved out of the store */
};

/* The mark of OID when an earlier command found it damaged, else NULL. */
static const p4r_damage *marked(const struct run *r, const p4r_oid *oid)
{
	size_t i;

	for (i = 0; i < r->ndamaged; i++)
		if (p4r_oid_equal(&r->damaged[i].oid, oid))
			return &r->damaged[i];
	return NULL;
}

/* REL as STATE, against the version whose object is OID: a modified file
 * that shares its inode with a stored object wrote into it (the guard
 * quarantines that object), and a version whose object is damaged is
 * "damaged" whatever the file holds. */
static int judge(struct run *r, const char *rel, const p4r_oid *oid, p4r_file_state state,
		 const char **name)
{
	p4r_guard_event ev;
	const p4r_damage *d;
	bool damaged = false;
	struct stat st;
	int fd, rc;

	if (state == P4R_FILE_MODIFIED &&
	    p4r_beneath_open_regular(&fd, &st, p4r_repo_root_fd(r->repo), rel) == 0) {
		close(fd);
		rc = p4r_objguard_linked(r->repo, rel, &st, &ev, &damaged);
		if (rc == P4R_EINTEGRITY) {
			/* wrong bytes that stay in the store (read-only): said, listed */
			cmd_warn("%s", p4r_error_message());
			r->stuck = true;
			*name = "damaged";
			return 0;
		}
		if (rc < 0)
			return rc;
		if (damaged && (rc = p4r_guard_log_push(&r->log, &ev)) < 0)
			return rc;
	}
	p4r_error_clear();
	if (damaged && p4r_oid_equal(&ev.oid, oid)) {
		*name = "damaged";
	} else if ((d = marked(r, oid))) {
		*name = "damaged";
		p4r_guard_event_from_mark(p4r_repo_registry(r->repo), d, &ev);
		if ((rc = p4r_guard_log_push(&r->log, &ev)) < 0)
			return rc;
	}
	return 0;
}

/* Prints REL's state; returns 1 when its pointer is invalid (unreadable,
 * malformed, or disagreeing with the registry), else 0 or an error. */
static int status_one(struct run *r, const char *rel)
{
	p4r_cli *cli = r->cli;
	p4r_repo *repo = r->repo;
	cJSON *arr = r->arr;
	p4r_file_state state = P4R_FILE_CLEAN;
	p4r_pointer ptr;
	const char *name;
	char to[PATH_MAX] = "";
	bool bad_pointer, moved = false;
	cJSON *o;
	int rc;

	rc = p4r_worktree_read_pointer(repo, rel, &ptr);
	bad_pointer = rc < 0 && rc != P4R_ERROR && rc != P4R_ENOTFOUND;
	if (rc == 0)
		rc = p4r_worktree_file_state(repo, rel, &ptr, &state);
	bad_pointer = bad_pointer || (rc == 0 && state == P4R_FILE_INVALID);
	if (rc == 0 && state == P4R_FILE_MOVED) {
		/* left behind by a fetched move: not the model's file any more */
		if ((rc = p4r_worktree_pointer_moved(repo, rel, &ptr, to, sizeof(to), &moved)) < 0)
			return rc;
		name = p4r_file_state_name(state);
	} else if (rc == P4R_ERROR || (rc == 0 && state < P4R_FILE_UNKNOWN_VERSION)) {
		if (rc < 0)
			return rc;
		name = p4r_file_state_name(state);
		if ((rc = judge(r, rel, &ptr.oid, state, &name)) < 0)
			return rc;
	} else {
		/* one bad pointer or file (a link, a FIFO, a version the registry
		 * lacks) must not hide the state of the others */
		cmd_warn("%s", p4r_error_message());
		name = rc == 0 ? p4r_file_state_name(state) : "invalid";
		if (rc < 0) {
			ptr.model[0] = '\0';
			ptr.version = 0;
		}
	}
	if (cli->json) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "file", rel);
		cJSON_AddStringToObject(o, "state", name);
		p4r_json_add_text(o, "model", ptr.version ? ptr.model : NULL);
		if (ptr.version)
			cJSON_AddNumberToObject(o, "version", (double)ptr.version);
		else
			cJSON_AddNullToObject(o, "version");
		if (moved)
			cJSON_AddStringToObject(o, "to", to);
		cJSON_AddItemToArray(arr, o);
	} else if (moved) {
		printf("%-14s %s (%s is now at %s)\n", name, p4r_escape(rel), ptr.model, p4r_escape(to));
	} else if (ptr.version) {
		printf("%-14s %s (%s@%lld)\n", name, p4r_escape(rel), ptr.model, (long long)ptr.version);
	} else {
		printf("%-14s %s\n", name, p4r_escape(rel));
	}
	return bad_pointer ? 1 : 0;
}

/* One registered Git LFS path (no pointer file). */
static int status_lfs(struct run *r, const char *lfs_dir, const char *rel, const p4r_pointer *want)
{
	p4r_cli *cli = r->cli;
	p4r_repo *repo = r->repo;
	cJSON *arr = r->arr;
	p4r_file_state state;
	p4r_oid oid;
	bool exists;
	const char *name;
	cJSON *o;
	int rc;

	if ((rc = p4r_worktree_file_oid(repo, rel, &oid, &exists)) < 0)
		return rc;
	if (exists && !p4r_oid_equal(&oid, &want->oid))
		state = P4R_FILE_MODIFIED;
	else if (!p4r_store_has(p4r_repo_store(repo), &want->oid) && !p4r_lfs_has(lfs_dir, &want->oid))
		state = P4R_FILE_OBJECT_MISSING;
	else
		state = exists ? P4R_FILE_CLEAN : P4R_FILE_MISSING;
	name = p4r_file_state_name(state);
	if ((rc = judge(r, rel, &want->oid, state, &name)) < 0)
		return rc;
	if (cli->json) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "file", rel);
		cJSON_AddStringToObject(o, "state", name);
		p4r_json_add_text(o, "model", want->version ? want->model : NULL);
		if (want->version)
			cJSON_AddNumberToObject(o, "version", (double)want->version);
		else
			cJSON_AddNullToObject(o, "version");
		cJSON_AddBoolToObject(o, "lfs", true);
		cJSON_AddStringToObject(o, "oid", want->oid.hex);
		cJSON_AddItemToArray(arr, o);
	} else if (want->version) {
		printf("%-14s %s (%s@%lld, Git LFS)\n", name, p4r_escape(rel), want->model, (long long)want->version);
	} else {
		printf("%-14s %s (Git LFS %.12s)\n", name, p4r_escape(rel), want->oid.hex);
	}
	return 0;
}

static bool any_model_without_pointer(p4r_repo *repo, const p4r_model *models, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		p4r_pointer ptr;
		bool missing = p4r_worktree_read_pointer(repo, models[i].path, &ptr) == P4R_ENOTFOUND;

		p4r_error_clear();
		if (missing)
			return true;
	}
	return false;
}

/* Registered models at Git LFS paths; *N counts the ones shown. */
static int status_lfs_models(struct run *r, size_t *shown)
{
	p4r_repo *repo = r->repo;
	p4r_model *models = NULL;
	p4r_git *git = NULL;
	char *lfs_dir = NULL;
	size_t n = 0, i;
	int rc;

	if ((rc = p4r_registry_model_list(p4r_repo_registry(repo), &models, &n)) < 0)
		return rc;
	/* a model with a pointer file is never an LFS path: when all have one,
	 * git (whose library start-up costs more than the rest of status) is
	 * not opened at all */
	if (!any_model_without_pointer(repo, models, n))
		goto done;
	if ((rc = p4r_git_open(&git, p4r_repo_root(repo))) < 0 || !git)
		goto done;
	if (!(lfs_dir = p4r_git_lfs_dir(git))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	for (i = 0; i < n && rc == 0; i++) {
		p4r_pointer want;
		bool lfs = false, found = false;

		rc = p4r_lfs_expected(repo, git, models[i].path, &lfs, &want, &found);
		if (rc == 0 && lfs && found) {
			rc = status_lfs(r, lfs_dir, models[i].path, &want);
			(*shown)++;
		}
	}
done:
	p4r_model_array_free(models, n);
	free(lfs_dir);
	p4r_git_free(git);
	return rc;
}

int cmd_status(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	struct run r = { .cli = cli, .repo = repo };
	cJSON *doc = NULL;
	char **rels = NULL;
	size_t n = 0, nlfs = 0, i, invalid = 0;
	int rc;

	if ((rc = cmd_no_args(cli, "status", argc, argv)) < 0)
		return rc;
	if ((rc = p4r_worktree_list_pointers(repo, &rels, &n)) < 0 ||
	    (rc = p4r_registry_damage_list(p4r_repo_registry(repo), &r.damaged, &r.ndamaged)) < 0)
		goto done;
	if (cli->json) {
		doc = cJSON_CreateObject();
		r.arr = cJSON_AddArrayToObject(doc, "files");
	}
	for (i = 0; i < n && rc >= 0; i++)
		if ((rc = status_one(&r, rels[i])) > 0)
			invalid++;
	if (rc > 0)
		rc = 0;
	if (rc == 0)
		rc = status_lfs_models(&r, &nlfs);
	if (rc == 0 && doc) {
		rc = cmd_print_json(doc);
		doc = NULL;
	} else if (rc == 0 && n + nlfs == 0 && !cli->quiet) {
		fputs("no tracked files\n", stderr);
	}
	/* a version whose stored bytes are gone is exit 4, after the list */
	if (rc == 0)
		rc = cmd_guard_report(cli, &r.log);
	if (rc == 0 && r.stuck) {
		rc = p4r_error_set(P4R_EINTEGRITY, "stored bytes that changed in place could not be "
				   "moved out of the store (see above); run 'p4reg fsck' with write access");
		if (cli->json) {
			fprintf(stderr, "p4reg: %s\n", p4r_escape(p4r_error_message()));
			cli->reported = true;
		}
	}
	if (rc == 0 && invalid) {
		/* as show does: an invalid pointer is exit 4, after the listing
		 * (the warnings said which; JSON: the document is the answer) */
		cli->reported = cli->json;
		rc = p4r_error_set(P4R_EINTEGRITY, "%zu invalid pointer%s (the warning%s above say%s why)",
				   invalid, invalid == 1 ? "" : "s", invalid == 1 ? "" : "s", invalid == 1 ? "s" : "");
	}
done:
	cJSON_Delete(doc);
	p4r_strv_free(rels, n);
	p4r_guard_log_clear(&r.log);
	free(r.damaged);
	return rc;
}
