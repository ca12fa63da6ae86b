/* p4reg pre-push: run by the pre-push hook `p4reg track` installs where
 * p4reg is git's Git LFS filter. git-lfs's own hook uploads the objects
 * of the pointers a push sends; without git-lfs this does, to the p4reg
 * repository's default remote, or fails so that git aborts the push
 * rather than publish pointers whose bytes no remote has. */
#include "cmd.h"
#include "p4reg/gitio.h"
#include "p4reg/gitscan.h"
#include "p4reg/lfs.h"
#include "p4reg/ondemand.h"
#include "p4reg/remote.h"
#include "p4reg/sync.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char cmd_pre_push_usage[] =
	"usage: p4reg pre-push REMOTE [URL]\n"
	"\n"
	"Run by git's pre-push hook, which 'p4reg track' installs when p4reg is\n"
	"the Git LFS filter (git-lfs not installed); people do not run it. Reads\n"
	"git's lines '<local ref> <local sha> <remote ref> <remote sha>' on\n"
	"stdin, finds the Git LFS pointers in the commits being pushed that\n"
	"REMOTE does not have yet, and uploads their objects to the default\n"
	"remote (core.remote, or the only one) of the p4reg repository that\n"
	"holds each path. Without such a repository or remote, offline\n"
	"(core.offline), or when an object is nowhere, it fails and names the\n"
	"command to run: git then pushes nothing. 'git push --no-verify' pushes\n"
	"the commits without the objects.\n";

/* A push line longer than this is no line git writes. */
#define LINE_MAX_BYTES 8192
/* More refs than any push updates at once. */
#define UPDATES_MAX ((size_t)1 << 20)

/* The objects one p4reg repository uploads. */
struct batch {
	char *root;
	p4r_oid *oids;
	int64_t *sizes;
	const char **paths; /* where a pushed commit has each (for messages) */
	size_t n;
};

static void batches_free(struct batch *b, size_t n)
{
	size_t i;

	for (i = 0; b && i < n; i++) {
		free(b[i].root);
		free(b[i].oids);
		free(b[i].sizes);
		free(b[i].paths);
	}
	free(b);
}

/* Git's lines on stdin into *OUT. */
static int read_updates(p4r_git_push_update **out, size_t *n)
{
	char *line = NULL;
	size_t cap = 0, have = 0;
	ssize_t len;
	int rc = 0;

	*out = NULL;
	*n = 0;
	while ((len = getline(&line, &cap, stdin)) >= 0) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			continue;
		if ((size_t)len > LINE_MAX_BYTES || strlen(line) != (size_t)len) {
			rc = p4r_error_set(P4R_EUSAGE, "malformed pre-push line: longer than %d bytes or "
					   "with a NUL byte", LINE_MAX_BYTES);
			break;
		}
		if (*n == UPDATES_MAX) {
			rc = p4r_error_set(P4R_EUSAGE, "more than %zu pre-push lines", UPDATES_MAX);
			break;
		}
		if (*n == have) {
			size_t ncap = have ? have * 2 : 8;
			void *grown = realloc(*out, ncap * sizeof(**out));

			if (!grown) {
				rc = p4r_error_set(P4R_ERROR, "out of memory");
				break;
			}
			*out = grown;
			have = ncap;
		}
		if ((rc = p4r_git_push_line_parse(&(*out)[*n], line)) < 0)
			break;
		(*n)++;
	}
	if (rc == 0 && ferror(stdin))
		rc = p4r_error_errno("cannot read git's pre-push lines");
	free(line);
	return rc;
}

/* Puts pointer P into the batch of the p4reg repository ROOT (taken). */
static int batch_add(struct batch **b, size_t *nb, char *root, const p4r_git_pointer *p)
{
	struct batch *t = NULL;
	size_t i;
	void *g1, *g2, *g3;

	for (i = 0; i < *nb && !t; i++)
		if (!strcmp((*b)[i].root, root))
			t = &(*b)[i];
	if (t) {
		free(root);
		for (i = 0; i < t->n; i++)
			if (p4r_oid_equal(&t->oids[i], &p->oid))
				return 0;
	} else {
		if (!(g1 = realloc(*b, (*nb + 1) * sizeof(**b)))) {
			free(root);
			return p4r_error_set(P4R_ERROR, "out of memory");
		}
		*b = g1;
		t = &(*b)[(*nb)++];
		memset(t, 0, sizeof(*t));
		t->root = root;
	}
	g1 = realloc(t->oids, (t->n + 1) * sizeof(*t->oids));
	if (g1)
		t->oids = g1;
	g2 = realloc(t->sizes, (t->n + 1) * sizeof(*t->sizes));
	if (g2)
		t->sizes = g2;
	g3 = realloc(t->paths, (t->n + 1) * sizeof(*t->paths));
	if (g3)
		t->paths = g3;
	if (!g1 || !g2 || !g3)
		return p4r_error_set(P4R_ERROR, "out of memory");
	t->oids[t->n] = p->oid;
	t->sizes[t->n] = (int64_t)p->size;
	t->paths[t->n] = p->path;
	t->n++;
	return 0;
}

/* Sorts the pointers by the p4reg repository that holds their path (the
 * filter's rule, p4r_lfs_repo_for_path); one held by none is refused. */
static int group(const char *top, const p4r_git_pointer *p, size_t n, struct batch **b, size_t *nb)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		char *root = NULL;

		if ((rc = p4r_lfs_repo_for_path(&root, top, p[i].path)) < 0)
			break;
		if (!root)
			rc = p4r_error_set(P4R_ENOTFOUND, "cannot upload the Git LFS object of '%s': no p4reg "
					   "repository holds that path; run 'p4reg init' in '%s' and 'p4reg remote "
					   "add NAME URL', then push again, or push without it: git push "
					   "--no-verify", p[i].path, top);
		else
			rc = batch_add(b, nb, root, &p[i]);
	}
	return rc;
}

/* Makes sure REPO's store holds each object of B, verified: one only in
 * .git/lfs/objects (stored by git-lfs, or left there after gc) is copied
 * in; one in neither place must be on REMOTE already. LFS_DIR is NULL for
 * a repository below the git root: .git/lfs/objects holds the objects of
 * the whole work tree, and a .p4reg a commit planted in a subfolder (its
 * remote the committer's) with a pointer naming another path's object
 * would otherwise have that object uploaded there. */
static int gather(p4r_repo *repo, const char *lfs_dir, p4r_remote *remote, struct batch *b)
{
	p4r_store *store = p4r_repo_store(repo);
	p4r_sync_stat st;
	struct stat sb;
	size_t i;
	int rc = 0;

	for (i = 0; i < b->n && rc == 0; i++) {
		if (!p4r_store_has(store, &b->oids[i]) && lfs_dir && p4r_lfs_has(lfs_dir, &b->oids[i]) &&
		    (rc = p4r_lfs_import(store, lfs_dir, &b->oids[i])) < 0)
			break;
		if (p4r_store_has(store, &b->oids[i])) {
			if ((rc = p4r_store_object_stat(store, &b->oids[i], &sb)) == 0 && sb.st_size != b->sizes[i])
				rc = p4r_error_set(P4R_EINTEGRITY, "the Git LFS pointer of '%s' says %lld bytes, "
						   "but its object %.12s has %lld", b->paths[i],
						   (long long)b->sizes[i], b->oids[i].hex, (long long)sb.st_size);
			continue;
		}
		if ((rc = p4r_sync_stat_objects(remote, &b->oids[i], 1, &st)) == 0 && !st.exists)
			rc = p4r_error_set(P4R_ENOTFOUND, "the Git LFS object %.12s of '%s' is neither in "
					   ".p4reg/objects%s nor on remote '%s'; restore the file and 'git add' "
					   "it again, or push without it: git push --no-verify", b->oids[i].hex,
					   b->paths[i], lfs_dir ? ", .git/lfs/objects" : " (of the repository that "
					   "holds it)", remote->name);
	}
	return rc;
}

/* Whether ROOT is a folder strictly below TOP. */
static bool below_top(const char *top, const char *root)
{
	size_t n = strlen(top);

	while (n > 0 && top[n - 1] == '/')
		n--;
	return !strncmp(root, top, n) && root[n] == '/' && root[n + 1];
}

/* Uploads B's objects to the default remote of its repository. */
static int upload(p4r_cli *cli, const char *top, const char *lfs_dir, struct batch *b, cJSON *arr)
{
	cmd_progress progress = { .cli = cli, .label = "pre-push" };
	p4r_sync_progress prog = { .fn = cmd_progress_update, .payload = &progress };
	p4r_sync_result res = { 0 };
	p4r_ondemand od = { 0 };
	p4r_remote *r = NULL;
	p4r_repo *repo = NULL;
	char size[32];
	int rc;

	if ((rc = p4r_repo_open(&repo, b->root)) < 0 || (rc = p4r_ondemand_config(repo, &od)) < 0)
		goto done;
	rc = p4r_remote_open(&r, p4r_repo_config(repo), p4r_repo_meta(repo), NULL);
	if (rc == P4R_ENOTFOUND || rc == P4R_EUSAGE) {
		/* no remote, a core.remote naming none, or several and no default */
		bool none = !strncmp(p4r_error_message(), "no remote configured", 20);

		rc = p4r_error_set(rc == P4R_EUSAGE ? P4R_ERROR : rc, "cannot upload %zu Git LFS object%s of "
				   "this push from '%s': %s; run 'p4reg remote add -d NAME URL' there and push "
				   "again, or push without them: git push --no-verify", b->n, b->n == 1 ? "" : "s",
				   b->root, none ? "no p4reg remote is configured" : p4r_error_message());
		goto done;
	}
	if (rc < 0)
		goto done;
	if (od.offline) {
		rc = p4r_error_set(P4R_ERROR, "cannot upload %zu Git LFS object%s of this push to remote '%s': "
				   "offline (core.offline); push again online, or push without them: git push "
				   "--no-verify", b->n, b->n == 1 ? "" : "s", r->name);
		goto done;
	}
	if ((rc = gather(repo, below_top(top, b->root) ? NULL : lfs_dir, r, b)) < 0 ||
	    (rc = p4r_sync_push_objects(repo, r, b->oids, b->sizes, b->n, &prog, &res)) < 0) {
		cmd_progress_done(&progress);
		if (rc != P4R_ENOTFOUND && rc != P4R_EINTEGRITY)
			rc = p4r_error_set(rc, "cannot upload the Git LFS objects of this push to remote '%s': "
					   "%s; push again, or push without them: git push --no-verify", r->name,
					   p4r_error_message());
		goto done;
	}
	cmd_progress_done(&progress);
	if (arr) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "repository", b->root);
		cJSON_AddStringToObject(o, "remote", r->name);
		cJSON_AddNumberToObject(o, "objects", (double)b->n);
		cJSON_AddNumberToObject(o, "uploaded", (double)res.objects_sent);
		cJSON_AddNumberToObject(o, "present", (double)res.objects_present);
		cJSON_AddNumberToObject(o, "bytes", (double)res.bytes_sent);
		cJSON_AddItemToArray(arr, o);
	} else {
		/* on stderr: git hands a pre-push hook its own stdout, which
		 * `git push --porcelain` keeps for its machine-readable report */
		p4r_format_size(size, sizeof(size), res.bytes_sent);
		cmd_note(cli, "uploaded %zu Git LFS object%s (%s) to p4reg remote '%s', %zu already there",
			 res.objects_sent, res.objects_sent == 1 ? "" : "s", size, r->name, res.objects_present);
	}
done:
	p4r_sync_result_clear(&res);
	p4r_remote_free(r);
	p4r_repo_free(repo);
	return rc;
}

int cmd_pre_push(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	static const p4r_option options[] = { { NULL, 0, false, 0 } };
	p4r_git_push_update *u = NULL;
	p4r_git_pointer *ptrs = NULL;
	struct batch *b = NULL;
	const char *args[3] = { NULL }, *value, *why = NULL;
	size_t nargs = 0, nu = 0, np = 0, nb = 0, i;
	cJSON *doc = NULL, *arr = NULL;
	p4r_git *git = NULL;
	char *lfs_dir = NULL;
	p4r_opts o;
	int id, rc;

	(void)repo;
	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (nargs == 2)
			return cmd_usage_error(cli, "pre-push takes REMOTE and URL only");
		args[nargs++] = value;
	}
	if (rc < 0)
		return rc;
	if (nargs == 0)
		return cmd_usage_error(cli, "pre-push needs the REMOTE git gives its hook");
	if ((rc = read_updates(&u, &nu)) < 0)
		goto done;
	/* git runs the hook at the work tree's root */
	if ((rc = p4r_git_open_why(&git, ".", &why)) < 0)
		goto done;
	if (!git) {
		rc = p4r_error_set(P4R_ERROR, "cannot find the Git LFS objects of this push: %s",
				   why ? why : "not inside a git work tree");
		goto done;
	}
	if ((rc = p4r_git_pushed_pointers(git, args[0], u, nu, &ptrs, &np)) < 0 ||
	    (rc = group(p4r_git_workdir(git), ptrs, np, &b, &nb)) < 0)
		goto done;
	if (!(lfs_dir = p4r_git_lfs_dir(git))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	if (cli->json) {
		doc = cJSON_CreateObject();
		cJSON_AddNumberToObject(doc, "pointers", (double)np);
		arr = cJSON_AddArrayToObject(doc, "uploads");
	}
	for (i = 0; i < nb && rc == 0; i++)
		rc = upload(cli, p4r_git_workdir(git), lfs_dir, &b[i], arr);
	if (rc == 0 && doc) {
		rc = cmd_print_json(doc);
		doc = NULL;
	}
done:
	cJSON_Delete(doc);
	batches_free(b, nb);
	p4r_git_pointer_array_free(ptrs, np);
	free(lfs_dir);
	p4r_git_free(git);
	free(u);
	return rc;
}
