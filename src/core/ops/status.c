/* p4r_status: each tracked file as clean, modified, missing, ... (see
 * ops/status.h). The stat cache answers for files that did not change. */
#include "p4reg/ops/status.h"
#include "p4reg/beneath.h"
#include "p4reg/dirwalk.h"
#include "p4reg/error.h"
#include "p4reg/gitio.h"
#include "p4reg/hash.h"
#include "p4reg/lfs.h"
#include "p4reg/worktree.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What one status run shares. */
struct run {
	p4r_repo *repo;
	const p4r_op_report *report;
	p4r_status_result *out;
	p4r_damage *damaged;    /* objects marked damaged before this run */
	size_t ndamaged;
};

/* A new row for REL at the end of the result, NULL when out of memory. */
static p4r_status_row *add_row(p4r_status_result *out, const char *rel)
{
	p4r_status_row *grown, *row;

	if (out->n == out->cap) {
		size_t cap = out->cap ? 2 * out->cap : 16;

		if (!(grown = realloc(out->rows, cap * sizeof(*grown))))
			return NULL;
		out->rows = grown;
		out->cap = cap;
	}
	row = &out->rows[out->n];
	memset(row, 0, sizeof(*row));
	if (!(row->rel = strdup(rel)))
		return NULL;
	out->n++;
	return row;
}

/* Takes back the last row, which an error left half-judged: the rows
 * before it are the answer so far. */
static int drop_last_row(p4r_status_result *out, int rc)
{
	p4r_status_row *row = &out->rows[--out->n];

	free(row->rel);
	free(row->moved_to);
	return rc;
}

/* The mark of OID when an earlier command found it damaged, else NULL. */
static const p4r_damage *marked(const struct run *r, const p4r_oid *oid)
{
	size_t i;

	for (i = 0; i < r->ndamaged; i++)
		if (p4r_oid_equal(&r->damaged[i].oid, oid))
			return &r->damaged[i];
	return NULL;
}

/* A modified file that shares its inode with a stored object wrote into
 * it: the guard quarantines that object (*EV, *DAMAGED). */
static int check_linked(struct run *r, const char *rel, p4r_guard_event *ev, bool *damaged, bool *stuck)
{
	struct stat st;
	int fd, rc;

	if (p4r_beneath_open_regular(&fd, &st, p4r_repo_root_fd(r->repo), rel) < 0)
		return 0;
	close(fd);
	rc = p4r_objguard_linked(r->repo, rel, &st, ev, damaged);
	if (rc == P4R_EINTEGRITY) {
		/* wrong bytes that stay in the store (read-only): said, listed */
		p4r_op_warn(r->report, "%s", p4r_error_message());
		r->out->stuck = *stuck = true;
		return 0;
	}
	return rc;
}

/* REL as STATE, against the version whose object is OID: a version whose
 * object is damaged is "damaged" whatever the file holds. */
static int judge(struct run *r, const char *rel, const p4r_oid *oid, p4r_file_state state,
		 const char **name)
{
	p4r_guard_event ev;
	const p4r_damage *d;
	bool damaged = false, stuck = false;
	int rc;

	if (state == P4R_FILE_MODIFIED) {
		if ((rc = check_linked(r, rel, &ev, &damaged, &stuck)) < 0)
			return rc;
		if (stuck) {
			*name = "damaged";
			return 0;
		}
		if (damaged && (rc = p4r_guard_log_push(&r->out->damage, &ev)) < 0)
			return rc;
	}
	p4r_error_clear();
	if (damaged && p4r_oid_equal(&ev.oid, oid)) {
		*name = "damaged";
	} else if ((d = marked(r, oid))) {
		*name = "damaged";
		p4r_guard_event_from_mark(p4r_repo_registry(r->repo), d, &ev);
		if ((rc = p4r_guard_log_push(&r->out->damage, &ev)) < 0)
			return rc;
	}
	return 0;
}

/* The state of REL with a pointer file; *BAD when the pointer is invalid
 * (unreadable, malformed, or disagreeing with the registry). */
static int pointer_state(struct run *r, const char *rel, p4r_pointer *ptr, p4r_status_row *row, bool *bad)
{
	p4r_file_state state = P4R_FILE_CLEAN;
	char to[PATH_MAX] = "";
	bool moved = false;
	int rc = p4r_worktree_read_pointer(r->repo, rel, ptr);

	*bad = rc < 0 && rc != P4R_ERROR && rc != P4R_ENOTFOUND;
	if (rc == 0)
		rc = p4r_worktree_file_state(r->repo, rel, ptr, &state);
	*bad = *bad || (rc == 0 && state == P4R_FILE_INVALID);
	row->state = p4r_file_state_name(state);
	if (rc == 0 && state == P4R_FILE_MOVED) {
		/* left behind by a fetched move: not the model's file any more */
		if ((rc = p4r_worktree_pointer_moved(r->repo, rel, ptr, to, sizeof(to), &moved)) < 0)
			return rc;
		if (moved && !(row->moved_to = strdup(to)))
			return p4r_error_set(P4R_ERROR, "out of memory");
		return 0;
	}
	if (rc == P4R_ERROR || (rc == 0 && state < P4R_FILE_UNKNOWN_VERSION))
		return rc < 0 ? rc : judge(r, rel, &ptr->oid, state, &row->state);
	/* one bad pointer or file (a link, a FIFO, a version the registry
	 * lacks) must not hide the state of the others */
	p4r_op_warn(r->report, "%s", p4r_error_message());
	if (rc < 0) {
		row->state = "invalid";
		ptr->model[0] = '\0';
		ptr->version = 0;
	}
	return 0;
}


/* ---- folder models: one row per changed file inside ---- */

/* A row for file PATH of the folder REL (model/version of PTR). */
static int folder_row(struct run *r, const char *rel, const char *path, const p4r_pointer *ptr,
		      const char *state)
{
	size_t sz = strlen(rel) + strlen(path) + 2;
	char *full = malloc(sz);
	p4r_status_row *row;

	if (!full)
		return p4r_error_set(P4R_ERROR, "out of memory");
	snprintf(full, sz, "%s/%s", rel, path);
	row = add_row(r->out, full);
	free(full);
	if (!row)
		return p4r_error_set(P4R_ERROR, "out of memory");
	row->state = state;
	snprintf(row->model, sizeof(row->model), "%s", ptr->model);
	row->version = ptr->version;
	return 0;
}

/* The oid of file W of the folder FD (FULL from the root), hashed, its
 * stat cache row refreshed (no text check of the path: a folder may hold
 * a ".gitattributes", which only the walk's rules judge). */
static int folder_file_hash(struct run *r, int fd, const char *full, const p4r_dirwalk_file *w,
			    p4r_oid *oid)
{
	p4r_stat_key before, after;
	struct stat st;
	uint64_t size;
	int file = -1, rc;

	if ((rc = p4r_beneath_open_regular(&file, &st, fd, w->path)) < 0)
		return rc;
	p4r_worktree_stat_key(&st, &before);
	if ((rc = p4r_hash_fd(oid, &size, file)) == 0 && fstat(file, &st) == 0) {
		p4r_worktree_stat_key(&st, &after);
		rc = p4r_worktree_stat_remember(r->repo, full, &before, &after, oid);
	}
	close(file);
	return rc;
}

/* Whether file W (FULL from the root) still has E's bytes and mode: the
 * stat cache answers when the stat is the one recorded, else it is hashed. */
static int folder_file_changed(struct run *r, int fd, const char *full, const p4r_dirwalk_file *w,
			       const p4r_manifest_entry *e, const p4r_statcache_rows *cache, bool *changed)
{
	p4r_stat_key key;
	p4r_oid oid;
	int rc;

	*changed = true;
	if ((int64_t)w->st.st_size != e->size || ((w->st.st_mode & S_IXUSR) != 0) != e->exec)
		return 0;
	p4r_worktree_stat_key(&w->st, &key);
	if (!p4r_statcache_rows_find(cache, full, &key, &oid) && (rc = folder_file_hash(r, fd, full, w, &oid)) < 0)
		return rc;
	*changed = !p4r_oid_equal(&oid, &e->oid);
	return 0;
}

/* Files of W that are added to or differ from M; the folder's stat cache
 * rows are read at once, not one query per file. */
static int folder_changes(struct run *r, int fd, const char *rel, const p4r_pointer *ptr,
			  const p4r_dirwalk *w, const p4r_manifest *m)
{
	p4r_statcache_rows cache;
	char full[PATH_MAX];
	size_t i;
	int rc;

	if ((rc = p4r_registry_statcache_under(p4r_repo_registry(r->repo), rel, &cache)) < 0)
		return rc;
	for (i = 0; i < w->n && rc == 0; i++) {
		const p4r_manifest_entry *e = p4r_manifest_find(m, w->v[i].path);
		bool changed = true;

		snprintf(full, sizeof(full), "%s/%s", rel, w->v[i].path);
		if (e && (rc = folder_file_changed(r, fd, full, &w->v[i], e, &cache, &changed)) < 0)
			break;
		if (changed)
			rc = folder_row(r, rel, w->v[i].path, ptr, e ? "modified" : "added");
	}
	p4r_statcache_rows_clear(&cache);
	return rc;
}

/* Files of M no longer in the folder FD (an excluded file still there is
 * not deleted: excluded files are not reported). */
static int folder_deleted(struct run *r, int fd, const char *rel, const p4r_pointer *ptr,
			  const p4r_dirwalk *w, const p4r_manifest *m)
{
	struct stat st;
	size_t i, j = 0;
	int rc = 0;

	for (i = 0; i < m->n && rc == 0; i++) {
		int cmp = 1;

		while (j < w->n && (cmp = strcmp(w->v[j].path, m->v[i].path)) < 0)
			j++;
		if (cmp == 0 || fstatat(fd, m->v[i].path, &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		rc = folder_row(r, rel, m->v[i].path, ptr, "deleted");
	}
	return rc;
}

/* The folder REL against the manifest M its pointer names. */
static int folder_compare(struct run *r, const char *rel, const p4r_pointer *ptr, const p4r_manifest *m,
			  bool *bad)
{
	p4r_dirwalk_opts wo = { .display = rel, .read_ignore_file = true, .allow_empty = true };
	p4r_dirwalk w = { 0 };
	size_t before = r->out->n;
	int fd = -1, rc = p4r_beneath_open(&fd, p4r_repo_root_fd(r->repo), rel,
					   O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);

	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		return folder_row(r, rel, "", ptr, "missing");
	}
	if (rc == 0 && (rc = p4r_dirwalk_list(&w, fd, &wo)) == P4R_EUSAGE) {
		/* a link or a .git inside: said, listed, exit 4 after */
		p4r_op_warn(r->report, "%s", p4r_error_message());
		*bad = true;
		rc = folder_row(r, rel, "", ptr, "invalid");
	} else if (rc == 0 && (rc = folder_changes(r, fd, rel, ptr, &w, m)) == 0) {
		rc = folder_deleted(r, fd, rel, ptr, &w, m);
	}
	if (rc == 0 && r->out->n == before)
		rc = folder_row(r, rel, "", ptr, p4r_store_has(p4r_repo_store(r->repo), &ptr->oid)
					     ? "clean" : "object-missing");
	p4r_dirwalk_clear(&w);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* The rows of the folder model REL, whose pointer PTR was read. */
static int status_folder(struct run *r, const char *rel, const p4r_pointer *ptr, bool *bad)
{
	p4r_manifest m = { 0 };
	char what[P4R_MODEL_NAME_MAX + 64];
	int rc = p4r_worktree_pointer_check(r->repo, rel, ptr);

	if (rc == P4R_ENOTFOUND || rc == P4R_EINTEGRITY) {
		p4r_op_warn(r->report, "%s", p4r_error_message());
		*bad = rc == P4R_EINTEGRITY;
		return folder_row(r, rel, "", ptr, rc == P4R_EINTEGRITY ? "invalid" : "unknown-version");
	}
	snprintf(what, sizeof(what), "manifest of %s@%lld", ptr->model, (long long)ptr->version);
	if (rc == 0 && (rc = p4r_manifest_load(r->repo, &ptr->oid, what, &m)) == P4R_ENOTFOUND) {
		p4r_error_clear();
		return folder_row(r, rel, "", ptr, "object-missing");
	}
	if (rc == 0)
		rc = folder_compare(r, rel, ptr, &m, bad);
	p4r_manifest_clear(&m);
	return rc;
}

/* REL's row, REL having a pointer file. */
static int status_one(struct run *r, const char *rel)
{
	p4r_status_row *row;
	p4r_pointer ptr;
	bool bad = false;
	int rc;

	if (p4r_worktree_read_pointer(r->repo, rel, &ptr) == 0 && ptr.dir) {
		if ((rc = status_folder(r, rel, &ptr, &bad)) == 0 && bad)
			r->out->invalid++;
		return rc;
	}
	p4r_error_clear();
	if (!(row = add_row(r->out, rel)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	if ((rc = pointer_state(r, rel, &ptr, row, &bad)) < 0)
		return drop_last_row(r->out, rc);
	if (ptr.version) {
		snprintf(row->model, sizeof(row->model), "%s", ptr.model);
		row->version = ptr.version;
	}
	if (bad)
		r->out->invalid++;
	return 0;
}

/* One registered Git LFS path (no pointer file), against WANT. */
static int status_lfs(struct run *r, const char *lfs_dir, const char *rel, const p4r_pointer *want)
{
	p4r_status_row *row = add_row(r->out, rel);
	p4r_file_state state;
	p4r_oid oid;
	bool exists;
	int rc;

	if (!row)
		return p4r_error_set(P4R_ERROR, "out of memory");
	row->lfs = true;
	row->oid = want->oid;
	snprintf(row->model, sizeof(row->model), "%s", want->version ? want->model : "");
	row->version = want->version;
	if ((rc = p4r_worktree_file_oid(r->repo, rel, &oid, &exists)) < 0)
		return drop_last_row(r->out, rc);
	if (exists && !p4r_oid_equal(&oid, &want->oid))
		state = P4R_FILE_MODIFIED;
	else if (!p4r_store_has(p4r_repo_store(r->repo), &want->oid) && !p4r_lfs_has(lfs_dir, &want->oid))
		state = P4R_FILE_OBJECT_MISSING;
	else
		state = exists ? P4R_FILE_CLEAN : P4R_FILE_MISSING;
	row->state = p4r_file_state_name(state);
	if ((rc = judge(r, rel, &want->oid, state, &row->state)) < 0)
		return drop_last_row(r->out, rc);
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

/* Registered models at Git LFS paths. */
static int status_lfs_models(struct run *r)
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
		if (rc == 0 && lfs && found)
			rc = status_lfs(r, lfs_dir, models[i].path, &want);
	}
done:
	p4r_model_array_free(models, n);
	free(lfs_dir);
	p4r_git_free(git);
	return rc;
}

int p4r_status(p4r_repo *repo, const p4r_status_opts *opts, const p4r_op_report *report,
	       p4r_status_result *out)
{
	struct run r = { .repo = repo, .report = report, .out = out };
	char **rels = NULL;
	size_t n = 0, i;
	int rc;

	(void)opts;
	memset(out, 0, sizeof(*out));
	if ((rc = p4r_worktree_list_pointers(repo, &rels, &n)) < 0 ||
	    (rc = p4r_registry_damage_list(p4r_repo_registry(repo), &r.damaged, &r.ndamaged)) < 0)
		goto done;
	for (i = 0; i < n && rc == 0; i++)
		rc = status_one(&r, rels[i]);
	if (rc == 0)
		rc = status_lfs_models(&r);
done:
	p4r_strv_free(rels, n);
	free(r.damaged);
	return rc;
}

void p4r_status_result_free(p4r_status_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++) {
		free(r->rows[i].rel);
		free(r->rows[i].moved_to);
	}
	free(r->rows);
	p4r_guard_log_clear(&r->damage);
	memset(r, 0, sizeof(*r));
}
