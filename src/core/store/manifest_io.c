/* A repository's folder manifests (see manifest.h): loaded from the
 * registry's rows or from the manifest object, and stored as objects. */
#include "p4reg/manifest.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/objguard.h"
#include "p4reg/registry.h"
#include "p4reg/repo.h"
#include "p4reg/store.h"

#include <limits.h>
#include <stdlib.h>

/* The manifest object read from the store: guarded (GUARD), re-hashed,
 * decoded. */
static int load_object(p4r_repo *repo, const p4r_oid *oid, const char *what, bool guard,
		       p4r_manifest *out)
{
	char path[PATH_MAX], *buf = NULL;
	size_t len;
	p4r_oid got;
	int rc;

	if (!p4r_store_has(p4r_repo_store(repo), oid))
		return p4r_error_set(P4R_ENOTFOUND, "the %s (%.12s) is not downloaded", what, oid->hex);
	if ((guard && (rc = p4r_objguard_require(repo, oid, NULL)) < 0) ||
	    (rc = p4r_store_object_path(p4r_repo_store(repo), oid, path, sizeof(path))) < 0 ||
	    (rc = p4r_read_file(&buf, &len, path, P4R_MANIFEST_MAX_BYTES)) < 0)
		return rc;
	/* the guard trusts a fingerprint; a manifest is small: hash it anyway */
	if ((rc = p4r_hash_buffer(&got, buf, len)) == 0 && !p4r_oid_equal(&got, oid))
		rc = p4r_error_set(P4R_EINTEGRITY, "the %s hashes to %.12s, not %.12s", what, got.hex, oid->hex);
	if (rc == 0)
		rc = p4r_manifest_decode(out, buf, len, what);
	free(buf);
	return rc;
}

int p4r_manifest_load(p4r_repo *repo, const p4r_oid *oid, const char *what, p4r_manifest *out)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	int rc;

	rc = p4r_registry_manifest_get(reg, oid, out);
	if (rc != P4R_ENOTFOUND)
		return rc;
	p4r_error_clear();
	if ((rc = load_object(repo, oid, what, true, out)) < 0)
		return rc;
	return p4r_registry_manifest_put(reg, oid, out);
}

int p4r_manifest_peek(p4r_repo *repo, const p4r_oid *oid, const char *what, p4r_manifest *out)
{
	int rc = p4r_registry_manifest_get(p4r_repo_registry(repo), oid, out);

	if (rc != P4R_ENOTFOUND)
		return rc;
	p4r_error_clear();
	/* re-hashed all the same: the guard's own writes are what a peek skips */
	return load_object(repo, oid, what, false, out);
}

int p4r_manifest_store(p4r_repo *repo, p4r_manifest *m, p4r_oid *oid, int64_t *size)
{
	char *buf;
	size_t len;
	int rc;

	if ((rc = p4r_manifest_encode(m, &buf, &len)) < 0)
		return rc;
	rc = p4r_store_insert_buffer(p4r_repo_store(repo), buf, len, oid);
	free(buf);
	*size = (int64_t)len;
	return rc;
}
