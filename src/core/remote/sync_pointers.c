/* Pointer rewriting after a fetch: a local version the remote's log
 * renumbered (its number was taken by another machine's) keeps its bytes
 * under a new number, and the pointer files in the work tree that named
 * it are rewritten to that number. */
#include "remote/sync_priv.h"
#include "p4reg/error.h"
#include "p4reg/pointer.h"
#include "p4reg/relpath.h"
#include "p4reg/worktree.h"

#include <string.h>

/* Rewrites the pointer file of REL (a pointer listed in the work tree) to
 * version TO of MODEL when that version has the pointer's bytes; the
 * pointer is written below the root like every other (worktree.h). */
static int rewrite_one(p4r_repo *repo, const char *rel, const p4r_pointer *ptr, int64_t to,
		       p4r_sync_result *res)
{
	p4r_version v = { 0 };
	int rc = 0;

	/* a deleted version too: its pointer must not name another's number */
	if (p4r_registry_version_find(p4r_repo_registry(repo), ptr->model, to, &v) < 0) {
		p4r_error_clear();
		return 0;
	}
	if (p4r_oid_equal(&v.oid, &ptr->oid) && v.size == ptr->size &&
	    (rc = p4r_worktree_write_pointer(repo, &v, rel, NULL)) == 0)
		rc = p4r_sync_add_string(&res->rewritten, &res->nrewritten, rel);
	p4r_version_clear(&v);
	return rc;
}

/* Where version FROM of MODEL ended up: one apply may move a version
 * more than once (2 -> 3, then 3 -> 4 when the batch held two of the
 * remote's), in the order REN lists the moves. 0 when it did not move. */
static int64_t renumbered_to(const p4r_renumber *ren, size_t nren, const char *model, int64_t from)
{
	int64_t cur = from;
	size_t k;

	for (k = 0; k < nren; k++)
		if (!strcmp(ren[k].model, model) && ren[k].from == cur)
			cur = ren[k].to;
	return cur == from ? 0 : cur;
}

/* Only paths that pass p4r_relpath_valid are written, and only through
 * the work tree's descriptors (never through a link). */
int p4r_sync_rewrite_pointers(p4r_repo *repo, const p4r_renumber *ren, size_t nren, p4r_sync_result *res)
{
	char **rels = NULL;
	size_t n = 0, i;
	int64_t to;
	int rc;

	if (!nren)
		return 0;
	if ((rc = p4r_worktree_list_pointers(repo, &rels, &n)) < 0)
		return rc;
	for (i = 0; rc == 0 && i < n; i++) {
		p4r_pointer ptr;

		if (!p4r_relpath_valid(rels[i]) || p4r_worktree_read_pointer(repo, rels[i], &ptr) < 0) {
			p4r_error_clear();
			continue;
		}
		if ((to = renumbered_to(ren, nren, ptr.model, ptr.version)) > 0)
			rc = rewrite_one(repo, rels[i], &ptr, to, res);
	}
	p4r_strv_free(rels, n);
	return rc;
}
