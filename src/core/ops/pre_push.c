/* p4r_pre_push: the Git LFS objects of a git push uploaded to p4reg
 * remotes (ops/pre_push.h). */
#include "p4reg/ops/pre_push.h"
#include "ops/checkout_priv.h"
#include "p4reg/error.h"
#include "p4reg/gitio.h"
#include "p4reg/lfs.h"
#include "p4reg/ondemand.h"
#include "p4reg/output.h"
#include "p4reg/sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* The batch of the p4reg repository ROOT (taken), made when new. */
static struct batch *batch_of(struct batch **b, size_t *nb, char *root)
{
	struct batch *grown;
	size_t i;

	for (i = 0; i < *nb; i++) {
		if (!strcmp((*b)[i].root, root)) {
			free(root);
			return &(*b)[i];
		}
	}
	if (!(grown = realloc(*b, (*nb + 1) * sizeof(**b)))) {
		free(root);
		p4r_error_set(P4R_ERROR, "out of memory");
		return NULL;
	}
	*b = grown;
	memset(&grown[*nb], 0, sizeof(grown[*nb]));
	grown[*nb].root = root;
	return &grown[(*nb)++];
}

/* Puts pointer P into the batch of the p4reg repository ROOT (taken). */
static int batch_add(struct batch **b, size_t *nb, char *root, const p4r_git_pointer *p)
{
	struct batch *t = batch_of(b, nb, root);
	void *g1, *g2, *g3;
	size_t i;

	if (!t)
		return P4R_ERROR;
	for (i = 0; i < t->n; i++)
		if (p4r_oid_equal(&t->oids[i], &p->oid))
			return 0;
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

/* Opens the default remote of REPO, which uploads B; offline is refused. */
static int open_remote(p4r_repo *repo, const struct batch *b, p4r_remote **r)
{
	p4r_ondemand od = { 0 };
	int rc;

	if ((rc = p4r_ondemand_config(repo, &od)) < 0)
		return rc;
	rc = p4r_remote_open(r, p4r_repo_config(repo), p4r_repo_meta(repo), NULL);
	if (rc == P4R_ENOTFOUND || rc == P4R_EUSAGE) {
		/* no remote, a core.remote naming none, or several and no default */
		bool none = !strncmp(p4r_error_message(), "no remote configured", 20);

		return p4r_error_set(rc == P4R_EUSAGE ? P4R_ERROR : rc, "cannot upload %zu Git LFS object%s "
				     "of this push from '%s': %s; run 'p4reg remote add -d NAME URL' there and "
				     "push again, or push without them: git push --no-verify", b->n,
				     b->n == 1 ? "" : "s", b->root,
				     none ? "no p4reg remote is configured" : p4r_error_message());
	}
	if (rc == 0 && od.offline)
		rc = p4r_error_set(P4R_ERROR, "cannot upload %zu Git LFS object%s of this push to remote "
				   "'%s': offline (core.offline); push again online, or push without them: "
				   "git push --no-verify", b->n, b->n == 1 ? "" : "s", (*r)->name);
	return rc;
}

/* One upload more in OUT (its repository's root taken from B). */
static int record(p4r_pre_push_result *out, struct batch *b, const p4r_remote *r, const p4r_sync_result *res)
{
	p4r_pre_push_upload *grown = realloc(out->uploads, (out->n + 1) * sizeof(*grown));

	if (!grown)
		return p4r_error_set(P4R_ERROR, "out of memory");
	out->uploads = grown;
	grown[out->n] = (p4r_pre_push_upload){ .repository = b->root, .objects = b->n,
					       .uploaded = res->objects_sent, .present = res->objects_present,
					       .bytes = res->bytes_sent };
	snprintf(grown[out->n].remote, sizeof(grown[out->n].remote), "%s", r->name);
	out->n++;
	b->root = NULL;
	return 0;
}

/* Uploads B's objects to the default remote of its repository. */
static int upload(const char *top, const char *lfs_dir, struct batch *b, const p4r_op_report *report,
		  p4r_pre_push_result *out)
{
	p4r_op_step step = { report, "pre-push" };
	p4r_sync_progress prog = { p4r_op_step_progress, &step };
	p4r_sync_result res = { 0 };
	p4r_remote *r = NULL;
	p4r_repo *repo = NULL;
	char size[32];
	int rc;

	if ((rc = p4r_repo_open(&repo, b->root)) < 0 || (rc = open_remote(repo, b, &r)) < 0)
		goto done;
	if ((rc = gather(repo, below_top(top, b->root) ? NULL : lfs_dir, r, b)) < 0 ||
	    (rc = p4r_sync_push_objects(repo, r, b->oids, b->sizes, b->n, &prog, &res)) < 0) {
		if (rc != P4R_ENOTFOUND && rc != P4R_EINTEGRITY)
			rc = p4r_error_set(rc, "cannot upload the Git LFS objects of this push to remote '%s': "
					   "%s; push again, or push without them: git push --no-verify", r->name,
					   p4r_error_message());
		goto done;
	}
	p4r_format_size(size, sizeof(size), res.bytes_sent);
	p4r_op_note(report, "uploaded %zu Git LFS object%s (%s) to p4reg remote '%s', %zu already there",
		    res.objects_sent, res.objects_sent == 1 ? "" : "s", size, r->name, res.objects_present);
	rc = record(out, b, r, &res);
done:
	p4r_sync_result_clear(&res);
	p4r_remote_free(r);
	p4r_repo_free(repo);
	return rc;
}

/* The git work tree at DIR, or an error saying why there is none. */
static int open_git(p4r_git **git, const char *dir)
{
	const char *why = NULL;
	int rc;

	if ((rc = p4r_git_open_why(git, dir, &why)) < 0)
		return rc;
	if (!*git)
		return p4r_error_set(P4R_ERROR, "cannot find the Git LFS objects of this push: %s",
				     why ? why : "not inside a git work tree");
	return 0;
}

int p4r_pre_push(p4r_repo *repo, const p4r_pre_push_opts *opts, const p4r_op_report *report,
		 p4r_pre_push_result *out)
{
	p4r_git_pointer *ptrs = NULL;
	struct batch *b = NULL;
	size_t np = 0, nb = 0, i;
	p4r_git *git = NULL;
	char *lfs_dir = NULL;
	int rc;

	(void)repo;
	memset(out, 0, sizeof(*out));
	if ((rc = open_git(&git, opts->dir)) < 0 ||
	    (rc = p4r_git_pushed_pointers(git, opts->git_remote, opts->updates, opts->nupdates, &ptrs,
					  &np)) < 0 ||
	    (rc = group(p4r_git_workdir(git), ptrs, np, &b, &nb)) < 0)
		goto done;
	out->pointers = np;
	if (!(lfs_dir = p4r_git_lfs_dir(git))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	for (i = 0; i < nb && rc == 0; i++)
		rc = upload(p4r_git_workdir(git), lfs_dir, &b[i], report, out);
done:
	batches_free(b, nb);
	p4r_git_pointer_array_free(ptrs, np);
	free(lfs_dir);
	p4r_git_free(git);
	return rc;
}

void p4r_pre_push_result_free(p4r_pre_push_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++)
		free(r->uploads[i].repository);
	free(r->uploads);
	memset(r, 0, sizeof(*r));
}
