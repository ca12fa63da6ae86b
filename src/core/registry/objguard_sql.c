/* The SQL of the object guard (objguard.h): each object's stat fingerprint
 * (object_stat) and the objects found damaged (object_damage). Every value
 * is bound; a read-only registry answers reads and skips the writes, which
 * only save a re-hash or record what a later fsck would find again. */
#include "p4reg/objguard.h"
#include "p4reg/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "registry/sql.h"

/* A stored oid is read back only when it is 64 lowercase hex digits: a
 * damaged row is a miss, never a path. */
int p4r_registry_objstat_get(p4r_registry *reg, const p4r_oid *oid, p4r_stat_key *out, bool *found)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	int rc, s;

	*found = false;
	if ((rc = p4r_sql_prepare(db, &st, "SELECT dev, ino, size, mtime_ns, ctime_ns"
				  " FROM object_stat WHERE oid = ?1")) < 0 ||
	    (rc = p4r_sql_bind_oid(db, st, 1, oid)) < 0)
		goto done;
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		out->dev = sqlite3_column_int64(st, 0);
		out->ino = sqlite3_column_int64(st, 1);
		out->size = sqlite3_column_int64(st, 2);
		out->mtime_ns = sqlite3_column_int64(st, 3);
		out->ctime_ns = sqlite3_column_int64(st, 4);
		out->seen_ns = 0;
		*found = true;
	} else if (s != SQLITE_DONE) {
		rc = p4r_sql_error(db);
	}
done:
	sqlite3_finalize(st);
	return rc;
}

int p4r_registry_objstat_put(p4r_registry *reg, const p4r_oid *oid, const p4r_stat_key *key)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	int rc;

	if (p4r_registry_readonly(reg))
		return 0;
	if ((rc = p4r_sql_prepare(db, &st, "INSERT OR REPLACE INTO object_stat(oid, dev, ino, size,"
				  " mtime_ns, ctime_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")) < 0 ||
	    (rc = p4r_sql_bind_oid(db, st, 1, oid)) < 0)
		goto done;
	if (sqlite3_bind_int64(st, 2, key->dev) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, key->ino) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, key->size) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 5, key->mtime_ns) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 6, key->ctime_ns) != SQLITE_OK) {
		rc = p4r_sql_error(db);
		goto done;
	}
	rc = p4r_sql_run(db, st);
done:
	sqlite3_finalize(st);
	return rc;
}

int p4r_registry_objstat_drop(p4r_registry *reg, const p4r_oid *oid)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	int rc;

	if (p4r_registry_readonly(reg))
		return 0;
	if ((rc = p4r_sql_prepare(db, &st, "DELETE FROM object_stat WHERE oid = ?1")) == 0 &&
	    (rc = p4r_sql_bind_oid(db, st, 1, oid)) == 0)
		rc = p4r_sql_run(db, st);
	sqlite3_finalize(st);
	return rc;
}

int p4r_registry_objstat_by_inode(p4r_registry *reg, int64_t dev, int64_t ino, p4r_oid *out,
				  size_t max, size_t *n)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	int rc, s = SQLITE_DONE;

	*n = 0;
	if ((rc = p4r_sql_prepare(db, &st, "SELECT oid FROM object_stat WHERE ino = ?1 AND dev = ?2"
				  " ORDER BY oid")) < 0)
		goto done;
	if (sqlite3_bind_int64(st, 1, ino) != SQLITE_OK || sqlite3_bind_int64(st, 2, dev) != SQLITE_OK) {
		rc = p4r_sql_error(db);
		goto done;
	}
	while (*n < max && (s = sqlite3_step(st)) == SQLITE_ROW)
		if (p4r_sql_col_oid(&out[*n], st, 0))
			(*n)++;
	if (*n < max && s != SQLITE_DONE)
		rc = p4r_sql_error(db);
done:
	sqlite3_finalize(st);
	return rc;
}

int p4r_registry_damage_mark(p4r_registry *reg, const p4r_damage *d)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	int rc;

	if (p4r_registry_readonly(reg))
		return 0;
	if ((rc = p4r_sql_prepare(db, &st, "INSERT OR REPLACE INTO object_damage(oid, found_ms,"
				  " hashed_to, quarantine, work_path, repaired_ms, repaired_from)"
				  " VALUES (?1, ?2, ?3, ?4, ?5, NULL, NULL)")) < 0 ||
	    (rc = p4r_sql_bind_oid(db, st, 1, &d->oid)) < 0 || (rc = p4r_sql_bind_oid(db, st, 3, &d->got)) < 0)
		goto done;
	if (sqlite3_bind_int64(st, 2, d->found_ms ? d->found_ms : p4r_now_ms()) != SQLITE_OK ||
	    sqlite3_bind_text(st, 4, d->quarantine, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 5, d->work, -1, SQLITE_STATIC) != SQLITE_OK) {
		rc = p4r_sql_error(db);
		goto done;
	}
	rc = p4r_sql_run(db, st);
done:
	sqlite3_finalize(st);
	return rc;
}

int p4r_registry_damage_repaired(p4r_registry *reg, const p4r_oid *oid, const char *from,
				 bool *changed)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	int rc;

	if (changed)
		*changed = false;
	if (p4r_registry_readonly(reg))
		return 0;
	if ((rc = p4r_sql_prepare(db, &st, "UPDATE object_damage SET repaired_ms = ?2,"
				  " repaired_from = ?3 WHERE oid = ?1 AND repaired_ms IS NULL")) < 0 ||
	    (rc = p4r_sql_bind_oid(db, st, 1, oid)) < 0)
		goto done;
	if (sqlite3_bind_int64(st, 2, p4r_now_ms()) != SQLITE_OK ||
	    sqlite3_bind_text(st, 3, from, -1, SQLITE_STATIC) != SQLITE_OK) {
		rc = p4r_sql_error(db);
		goto done;
	}
	if ((rc = p4r_sql_run(db, st)) == 0 && changed)
		*changed = sqlite3_changes(db) > 0;
done:
	sqlite3_finalize(st);
	return rc;
}

static void read_damage(p4r_damage *d, sqlite3_stmt *st)
{
	memset(d, 0, sizeof(*d));
	p4r_sql_col_oid(&d->oid, st, 0);
	d->found_ms = sqlite3_column_int64(st, 1);
	if (!p4r_sql_col_oid(&d->got, st, 2))
		snprintf(d->got.hex, sizeof(d->got.hex), "unknown");
	snprintf(d->quarantine, sizeof(d->quarantine), "%s", p4r_sql_col_text(st, 3));
	snprintf(d->work, sizeof(d->work), "%s", p4r_sql_col_text(st, 4));
	d->repaired_ms = sqlite3_column_int64(st, 5);
	snprintf(d->repaired_from, sizeof(d->repaired_from), "%s", p4r_sql_col_text(st, 6));
}

#define DAMAGE_SELECT \
	"SELECT oid, found_ms, hashed_to, quarantine, work_path, coalesce(repaired_ms, 0)," \
	" coalesce(repaired_from, '') FROM object_damage"

int p4r_registry_damage_get(p4r_registry *reg, const p4r_oid *oid, p4r_damage *out, bool *found)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	int rc, s;

	*found = false;
	if ((rc = p4r_sql_prepare(db, &st, DAMAGE_SELECT " WHERE oid = ?1")) < 0 ||
	    (rc = p4r_sql_bind_oid(db, st, 1, oid)) < 0)
		goto done;
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		read_damage(out, st);
		*found = true;
	} else if (s != SQLITE_DONE) {
		rc = p4r_sql_error(db);
	}
done:
	sqlite3_finalize(st);
	return rc;
}

int p4r_registry_damage_list(p4r_registry *reg, p4r_damage **out, size_t *n)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	p4r_damage *v = NULL, *grown;
	size_t count = 0, cap = 0;
	int rc, s;

	*out = NULL;
	*n = 0;
	if ((rc = p4r_sql_prepare(db, &st, DAMAGE_SELECT " WHERE repaired_ms IS NULL ORDER BY oid")) < 0)
		return rc;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == cap) {
			cap = cap ? cap * 2 : 4;
			if (!(grown = realloc(v, cap * sizeof(*v)))) {
				rc = p4r_error_set(P4R_ERROR, "out of memory");
				goto done;
			}
			v = grown;
		}
		read_damage(&v[count], st);
		if (p4r_oid_valid(v[count].oid.hex))
			count++;
	}
	if (s != SQLITE_DONE)
		rc = p4r_sql_error(db);
done:
	sqlite3_finalize(st);
	if (rc < 0) {
		free(v);
		return rc;
	}
	*out = v;
	*n = count;
	return 0;
}

#define VERSIONS_SHOWN 5

int p4r_registry_oid_versions(p4r_registry *reg, const p4r_oid *oid, char *list, size_t listsz,
			      char *first, size_t firstsz, int64_t *size)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	size_t used = 0, count = 0;
	int rc, s, len;

	list[0] = first[0] = '\0';
	*size = 0;
	/* a file of a folder version is that version's too (issue 14) */
	if ((rc = p4r_sql_prepare(db, &st, "SELECT m.name, v.number, v.size FROM versions v"
				  " JOIN models m ON m.id = v.model_id WHERE v.oid = ?1"
				  " UNION SELECT m.name, v.number, f.size FROM manifest_files f"
				  " JOIN versions v ON v.oid = f.manifest AND v.kind = 'dir'"
				  " JOIN models m ON m.id = v.model_id WHERE f.oid = ?1"
				  " ORDER BY 1, 2 LIMIT ?2")) < 0 ||
	    (rc = p4r_sql_bind_oid(db, st, 1, oid)) < 0)
		goto done;
	if (sqlite3_bind_int64(st, 2, VERSIONS_SHOWN + 1) != SQLITE_OK) {
		rc = p4r_sql_error(db);
		goto done;
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == 0) {
			snprintf(first, firstsz, "%s@%lld", p4r_sql_col_text(st, 0),
				 (long long)sqlite3_column_int64(st, 1));
			*size = sqlite3_column_int64(st, 2);
		}
		if (count++ == VERSIONS_SHOWN)
			len = snprintf(list + used, listsz - used, ", ...");
		else
			len = snprintf(list + used, listsz - used, "%s%s@%lld", count > 1 ? ", " : "",
				       p4r_sql_col_text(st, 0), (long long)sqlite3_column_int64(st, 1));
		if (len < 0 || (size_t)len >= listsz - used)
			break;
		used += (size_t)len;
	}
	if (s != SQLITE_DONE && s != SQLITE_ROW)
		rc = p4r_sql_error(db);
done:
	sqlite3_finalize(st);
	return rc;
}

int p4r_registry_lazy_sync(p4r_registry *reg, bool lazy)
{
	sqlite3 *db = p4r_registry_db(reg);

	/* PRAGMA takes no bound parameters; these are our own words */
	if (p4r_registry_readonly(reg))
		return 0;
	if (sqlite3_exec(db, lazy ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL",
			 NULL, NULL, NULL) != SQLITE_OK)
		return p4r_sql_error(db);
	return 0;
}
