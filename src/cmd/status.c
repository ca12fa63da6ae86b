/* p4reg status: each tracked file as clean, modified, missing or
 * object-missing. The stat cache answers for files that did not change. */
#include "cmd.h"
#include "p4reg/worktree.h"

#include <stdlib.h>

const char cmd_status_usage[] =
	"usage: p4reg status\n"
	"\n"
	"Lists every pointer in the repository with the state of its file:\n"
	"  clean           the file's bytes are the version the pointer names\n"
	"  modified        the bytes differ: 'p4reg add' makes a new version\n"
	"  missing         no file: 'p4reg checkout' restores it\n"
	"  object-missing  the store lacks the version's bytes\n"
	"  invalid         the pointer file cannot be parsed\n";

static int status_one(p4r_cli *cli, p4r_repo *repo, const char *rel, cJSON *arr)
{
	char *ptr_path = p4r_worktree_pointer_path(repo, rel);
	p4r_file_state state = P4R_FILE_CLEAN;
	p4r_pointer ptr;
	const char *name;
	cJSON *o;
	int rc;

	if (!ptr_path)
		return p4r_error_set(P4R_ERROR, "out of memory");
	rc = p4r_pointer_read(&ptr, ptr_path, rel);
	free(ptr_path);
	if (rc == P4R_EINTEGRITY) {
		/* one bad pointer must not hide the state of the others */
		cmd_warn("%s", p4r_error_message());
		name = "invalid";
		ptr.model[0] = '\0';
		ptr.version = 0;
	} else if (rc < 0) {
		return rc;
	} else {
		if ((rc = p4r_worktree_file_state(repo, rel, &ptr, &state)) < 0)
			return rc;
		name = p4r_file_state_name(state);
	}
	if (cli->json) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "file", rel);
		cJSON_AddStringToObject(o, "state", name);
		if (ptr.version) {
			cJSON_AddStringToObject(o, "model", ptr.model);
			cJSON_AddNumberToObject(o, "version", (double)ptr.version);
		}
		cJSON_AddItemToArray(arr, o);
	} else if (ptr.version) {
		printf("%-14s %s (%s@%lld)\n", name, rel, ptr.model, (long long)ptr.version);
	} else {
		printf("%-14s %s\n", name, rel);
	}
	return 0;
}

int cmd_status(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	cJSON *doc = NULL, *arr = NULL;
	char **rels = NULL;
	size_t n = 0, i;
	int rc;

	(void)argv;
	if (argc > 1)
		return cmd_usage_error(cli, "status takes no arguments");
	if ((rc = p4r_worktree_list_pointers(repo, &rels, &n)) < 0)
		return rc;
	if (cli->json) {
		doc = cJSON_CreateObject();
		arr = cJSON_AddArrayToObject(doc, "files");
	}
	for (i = 0; i < n && rc == 0; i++)
		rc = status_one(cli, repo, rels[i], arr);
	if (rc == 0 && doc) {
		rc = cmd_print_json(doc);
		doc = NULL;
	} else if (rc == 0 && n == 0 && !cli->quiet) {
		fputs("no tracked files\n", stderr);
	}
	cJSON_Delete(doc);
	p4r_strv_free(rels, n);
	return rc;
}
