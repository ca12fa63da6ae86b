/* The manifest rows of folder versions (table manifest_files, schema 5): a
 * cache of each manifest object's entries keyed by its oid, written when
 * add stores a manifest or a download verified one, read back only when
 * its encoding hashes to that oid (see registry.h). */
#include "p4reg/registry.h"
#include "p4reg/error.h"

#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "registry/sql.h"

/* One INSERT OR IGNORE per entry: rows already there (another version
 * with this manifest, a rebuild) stay as they are. */
static int put_rows(p4r_registry *reg, const p4r_oid *manifest, const p4r_manifest *m)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc = 0;

	for (i = 0; i < m->n && rc == 0; i++) {
		const p4r_manifest_entry *e = &m->v[i];

		if ((rc = p4r_sql_cached(reg, P4R_ST_MANIFEST_PUT, &st)) < 0)
			break;
		if ((rc = p4r_sql_bind_oid(db, st, 1, manifest)) == 0 &&
		    (rc = p4r_sql_bind_text(db, st, 2, e->path)) == 0 &&
		    (rc = p4r_sql_bind_oid(db, st, 3, &e->oid)) == 0 &&
		    (rc = p4r_sql_bind_int(db, st, 4, e->size)) == 0 &&
		    (rc = p4r_sql_bind_int(db, st, 5, e->exec ? 1 : 0)) == 0)
			rc = p4r_sql_run(db, st);
		p4r_sql_release(st);
	}
	return rc;
}

/* What put refuses to record: rows a reader would take for damage. */
static int check_put(const p4r_oid *manifest, const p4r_manifest *m)
{
	size_t i;

	if (!p4r_oid_valid(manifest->hex))
		return p4r_error_set(P4R_EUSAGE, "malformed manifest oid");
	if (!m || m->n == 0)
		return p4r_error_set(P4R_EUSAGE, "manifest %.12s has no file", manifest->hex);
	for (i = 0; i < m->n; i++)
		if (!p4r_manifest_path_valid(m->v[i].path) || !p4r_oid_valid(m->v[i].oid.hex) ||
		    m->v[i].size < 0 || m->v[i].size > P4R_MANIFEST_MAX_SIZE)
			return p4r_error_set(P4R_EUSAGE, "manifest %.12s: invalid entry '%s'",
					     manifest->hex, m->v[i].path);
	return 0;
}

int p4r_registry_manifest_put(p4r_registry *reg, const p4r_oid *manifest, const p4r_manifest *m)
{
	int rc;

	if ((rc = check_put(manifest, m)) < 0 || (rc = p4r_registry_begin(reg)) < 0)
		return rc;
	if ((rc = put_rows(reg, manifest, m)) < 0) {
		p4r_registry_abort(reg);
		return rc;
	}
	return p4r_registry_commit(reg);
}

static int bad_rows(const p4r_oid *manifest)
{
	return p4r_error_set(P4R_EINTEGRITY, "registry: the rows of manifest %s are not that manifest"
			     " (edited outside p4reg)", manifest->hex);
}

/* Appends the rows of MANIFEST to OUT, in path order. */
static int read_rows(p4r_registry *reg, const p4r_oid *manifest, p4r_manifest *out)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	bool row = false;
	p4r_oid oid;
	int rc;

	if ((rc = p4r_sql_cached(reg, P4R_ST_MANIFEST_GET, &st)) < 0 ||
	    (rc = p4r_sql_bind_oid(db, st, 1, manifest)) < 0)
		goto done;
	while ((rc = p4r_sql_row(db, st, &row)) == 0 && row) {
		int64_t exec = sqlite3_column_int64(st, 3);

		if (!p4r_sql_col_oid(&oid, st, 1) || (exec != 0 && exec != 1) ||
		    sqlite3_column_type(st, 2) != SQLITE_INTEGER) {
			rc = bad_rows(manifest);
			break;
		}
		if ((rc = p4r_manifest_add(out, p4r_sql_col_text(st, 0), &oid, sqlite3_column_int64(st, 2),
					   exec == 1)) < 0) {
			rc = rc == P4R_EUSAGE ? bad_rows(manifest) : rc;
			break;
		}
	}
done:
	p4r_sql_release(st);
	return rc;
}

/* The rows are the manifest only when their canonical text hashes to its
 * oid: then they are decode's result, entry for entry. */
static int verify_rows(const p4r_oid *manifest, p4r_manifest *m)
{
	char *buf = NULL;
	size_t len = 0;
	p4r_oid got;
	int rc;

	if ((rc = p4r_manifest_encode(m, &buf, &len)) < 0)
		return rc == P4R_EUSAGE ? bad_rows(manifest) : rc;
	if ((rc = p4r_hash_buffer(&got, buf, len)) == 0 && !p4r_oid_equal(&got, manifest))
		rc = bad_rows(manifest);
	free(buf);
	return rc;
}

int p4r_registry_manifest_get(p4r_registry *reg, const p4r_oid *manifest, p4r_manifest *out)
{
	int rc;

	p4r_manifest_clear(out);
	if (!p4r_oid_valid(manifest->hex))
		return p4r_error_set(P4R_EUSAGE, "malformed manifest oid");
	if ((rc = read_rows(reg, manifest, out)) == 0 && out->n == 0)
		rc = p4r_error_set(P4R_ENOTFOUND, "the registry has no rows for manifest %s",
				   manifest->hex);
	if (rc == 0)
		rc = verify_rows(manifest, out);
	if (rc < 0)
		p4r_manifest_clear(out);
	return rc;
}

int p4r_registry_manifest_has(p4r_registry *reg, const p4r_oid *manifest, bool *out)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	bool row = false;
	int rc;

	*out = false;
	if ((rc = p4r_sql_cached(reg, P4R_ST_MANIFEST_HAS, &st)) == 0 &&
	    (rc = p4r_sql_bind_oid(db, st, 1, manifest)) == 0 &&
	    (rc = p4r_sql_row(db, st, &row)) == 0)
		*out = row && sqlite3_column_int(st, 0) != 0;
	p4r_sql_release(st);
	return rc;
}
