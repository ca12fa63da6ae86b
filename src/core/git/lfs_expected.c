/* What a Git LFS path of the work tree should hold (p4r_lfs_expected,
 * declared in lfs.h): git's index first, then the registry. A file of its
 * own to break the gitio <-> lfs cycle: the Git LFS codec and object
 * folder (lfs.c) are the lower layer, which gitio.c uses to stage and read
 * pointer blobs; lfs.c calls nothing of gitio. This function asks git, the
 * work tree and the registry, so it sits above both. */
#include "p4reg/lfs.h"
#include "p4reg/error.h"
#include "p4reg/gitio.h"
#include "p4reg/registry.h"
#include "p4reg/worktree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The newest version of MODEL whose oid is OID into OUT's model/version. */
static int name_version(p4r_registry *reg, const char *model, const p4r_oid *oid, p4r_pointer *out)
{
	p4r_version *v = NULL;
	size_t n = 0, i;
	int rc;

	if ((rc = p4r_registry_version_list(reg, model, &v, &n)) < 0)
		return rc;
	for (i = 0; i < n; i++) {
		if (p4r_oid_equal(&v[i].oid, oid)) {
			snprintf(out->model, sizeof(out->model), "%s", v[i].model);
			out->version = v[i].number;
			break;
		}
	}
	p4r_version_array_free(v, n);
	return 0;
}

int p4r_lfs_expected(p4r_repo *repo, p4r_git *git, const char *rel, bool *is_lfs,
		     p4r_pointer *out, bool *found)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	char *abs = p4r_repo_abspath(repo, rel);
	p4r_model m = { 0 };
	bool staged = false;
	uint64_t size = 0;
	int rc = 0;

	*is_lfs = *found = false;
	memset(out, 0, sizeof(*out));
	if (!git)
		goto done;
	if (!abs) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	/* a path kept by a pointer file (even a bad one) is not a Git LFS path */
	if (p4r_worktree_read_pointer(repo, rel, out) != P4R_ENOTFOUND) {
		p4r_error_clear();
		memset(out, 0, sizeof(*out));
		goto done;
	}
	p4r_error_clear();
	if ((rc = p4r_git_is_lfs_path(git, abs, is_lfs)) < 0 || !*is_lfs)
		goto done;
	if ((rc = p4r_git_index_lfs_pointer(git, abs, &out->oid, &size, &staged)) < 0)
		goto done;
	rc = p4r_registry_model_by_path(reg, rel, &m);
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		rc = 0;
		*found = staged;
		out->size = (int64_t)size;
		goto done;
	}
	if (rc < 0)
		goto done;
	if (!staged) {
		p4r_version v = { 0 };

		if ((rc = p4r_registry_version_latest(reg, m.name, &v)) == 0) {
			out->oid = v.oid;
			size = (uint64_t)v.size;
			staged = true;
		} else if (rc == P4R_ENOTFOUND) {
			p4r_error_clear();
			rc = 0;
		}
		p4r_version_clear(&v);
		if (rc < 0 || !staged)
			goto done;
	}
	out->size = (int64_t)size;
	*found = true;
	rc = name_version(reg, m.name, &out->oid, out);
done:
	p4r_model_clear(&m);
	free(abs);
	return rc;
}
