/* A work-tree folder made exactly one directory version: plan, refuse or
 * write, remove, prune (worktree_dir.h). */
#include "p4reg/worktree_dir.h"
#include "p4reg/beneath.h"
#include "p4reg/dirwalk.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/objguard.h"
#include "p4reg/relpath.h"
#include "p4reg/worktree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIR_MODE 0755
#define IGNORE_FILE ".p4regignore"
#define IGNORE_MAX_BYTES (1u << 20) /* as the walk reads it */

/* What the plan does with one path inside the folder. */
enum act {
	ACT_KEEP,   /* already NEW's bytes and exec bit */
	ACT_WRITE,  /* missing, different, or the exec bit wrong */
	ACT_REMOVE, /* not in NEW */
	ACT_STALE,  /* a checkout's temporary file a crash left: ours, removed */
};

struct item {
	const char *path;                    /* inside the folder (the walk's or NEW's) */
	const p4r_manifest_entry *want;      /* NEW's entry; NULL when NEW lacks it */
	enum act act;
	bool foreign;                        /* its bytes are in no version (OLD or NEW) */
};

struct mat {
	p4r_repo *repo;
	const char *rel;
	int dir;                             /* REL below the root; -1 while absent */
	const p4r_manifest *old_m, *new_m;
	p4r_link_type order[P4R_LINK_MAX];
	size_t norder;
	p4r_dir_result *out;
	p4r_progress_fn progress;
	void *payload;
	uint64_t done, total;                /* bytes written so far, bytes to write */
	p4r_dirwalk walk;                    /* what is there; the plan's paths point into it */
	char *ignore_buf;                    /* NEW's .p4regignore, split into: */
	const char **pats;                   /* its patterns (pointing into ignore_buf) */
	size_t npats;
	struct item *v;                      /* the plan */
	size_t n, cap;
	bool peek;                           /* a plan only: the stat cache and the object
					      * guard are read, never written */
};

void p4r_dir_result_clear(p4r_dir_result *r)
{
	if (!r)
		return;
	p4r_strv_free(r->foreign, r->nforeign);
	memset(r, 0, sizeof(*r));
}

/* "REL/PATH", malloc'd (NULL: out of memory). */
static char *full_path(const struct mat *m, const char *path)
{
	return p4r_path_join(m->rel, path);
}

static int push_item(struct mat *m, const char *path, const p4r_manifest_entry *want, enum act act,
		     bool foreign)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 32;
		struct item *v = realloc(m->v, cap * sizeof(*v));

		if (!v)
			return p4r_error_set(P4R_ERROR, "out of memory");
		m->v = v;
		m->cap = cap;
	}
	m->v[m->n++] = (struct item){ path, want, act, foreign };
	return 0;
}

/* Whether PATH is a temporary file a crashed checkout left beside a file
 * of OLD or NEW (p4r_tmp_beside_target): only then is it ours to remove;
 * a user's file of that shape beside nothing of ours is in no version. */
static bool stale_ours(const struct mat *m, const char *path)
{
	char target[P4R_RELPATH_MAX + 1];

	return p4r_tmp_beside_target(path, target, sizeof(target)) &&
	       (p4r_manifest_find(m->new_m, target) || (m->old_m && p4r_manifest_find(m->old_m, target)));
}

/* Opens REL below the root, never through a link; absent and not CREATE:
 * m->dir stays -1. With CREATE it is made (0755), as its parents. */
static int open_folder(struct mat *m, bool create)
{
	int root = p4r_repo_root_fd(m->repo), parent = -1, rc;
	const char *base;

	if (m->dir >= 0)
		return 0;
	rc = p4r_beneath_open(&m->dir, root, m->rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
	if (rc != P4R_ENOTFOUND)
		return rc;
	p4r_error_clear();
	m->dir = -1;
	if (!create)
		return 0;
	if ((rc = p4r_beneath_parent(&parent, &base, root, m->rel, true)) < 0)
		return rc;
	if (mkdirat(parent, base, DIR_MODE) < 0 && errno != EEXIST)
		rc = p4r_error_errno("cannot create folder '%s'", m->rel);
	else if (fsync(parent) < 0 && errno != EINVAL)
		rc = p4r_error_errno("cannot fsync the folder of '%s'", m->rel);
	close(parent);
	if (rc == 0)
		rc = p4r_beneath_open(&m->dir, root, m->rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
	return rc;
}

/* The oid of the file F found by the walk: the stat cache when it knows
 * F's stat, else a hash (opened below the folder, never through a link),
 * remembered when the file held still. */
static int file_oid(struct mat *m, const p4r_dirwalk_file *f, p4r_oid *oid)
{
	p4r_stat_key key, after;
	struct stat st;
	uint64_t size;
	char *rel = full_path(m, f->path);
	bool found = false;
	int fd = -1, rc;

	if (!rel)
		return p4r_error_set(P4R_ERROR, "out of memory");
	p4r_worktree_stat_key(&f->st, &key);
	if ((rc = p4r_registry_statcache_get(p4r_repo_registry(m->repo), rel, &key, oid, &found)) < 0 ||
	    found)
		goto done;
	if ((rc = p4r_beneath_open_regular(&fd, &st, p4r_repo_root_fd(m->repo), rel)) < 0)
		goto done;
	p4r_worktree_stat_key(&st, &key);
	if ((rc = p4r_hash_fd(oid, &size, fd)) == 0 && !m->peek && fstat(fd, &st) == 0) {
		p4r_worktree_stat_key(&st, &after);
		rc = p4r_worktree_stat_remember(m->repo, rel, &key, &after, oid);
	}
done:
	if (fd >= 0)
		close(fd);
	free(rel);
	return rc;
}

static bool exec_ok(const struct stat *st, bool exec)
{
	return ((st->st_mode & S_IXUSR) != 0) == exec;
}

/* Plans the file F found in the folder. Only a size that OLD's or NEW's
 * entry has is worth reading. */
static int plan_present(struct mat *m, const p4r_dirwalk_file *f)
{
	const p4r_manifest_entry *want = p4r_manifest_find(m->new_m, f->path);
	const p4r_manifest_entry *had = m->old_m ? p4r_manifest_find(m->old_m, f->path) : NULL;
	bool is_new = false, is_old = false;
	p4r_oid oid;
	int rc;

	if (!want && stale_ours(m, f->path))
		return push_item(m, f->path, NULL, ACT_STALE, false);
	if ((want && want->size == f->st.st_size) || (had && had->size == f->st.st_size)) {
		if ((rc = file_oid(m, f, &oid)) < 0)
			return rc;
		is_new = want && p4r_oid_equal(&oid, &want->oid);
		is_old = had && p4r_oid_equal(&oid, &had->oid);
	}
	if (!want)
		return push_item(m, f->path, NULL, ACT_REMOVE, !is_old);
	if (is_new && exec_ok(&f->st, want->exec))
		return push_item(m, f->path, want, ACT_KEEP, false);
	return push_item(m, f->path, want, ACT_WRITE, !is_new && !is_old);
}

static int cmp_walk(const void *key, const void *elem)
{
	return strcmp(key, ((const p4r_dirwalk_file *)elem)->path);
}

/* NEW's entry E that the walk did not list: absent, or there but excluded
 * by a pattern. A regular file there is planned like any file present;
 * anything else in its place (a link, a FIFO) is replaced only with force. */
static int plan_unlisted(struct mat *m, const p4r_manifest_entry *e)
{
	p4r_dirwalk_file f = { .path = e->path };
	char *rel = full_path(m, e->path), *slash;
	const char *base;
	int dir = -1, rc = 0, found;
	bool blocked = false;

	if (!rel)
		return p4r_error_set(P4R_ERROR, "out of memory");
	/* a folder of E that the walk found as a file: planned above (removed
	 * when known, refused when not), E then absent */
	for (slash = strchr(rel + strlen(m->rel) + 1, '/'); slash && !blocked; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		blocked = m->walk.n && bsearch(rel + strlen(m->rel) + 1, m->walk.v, m->walk.n,
					       sizeof(*m->walk.v), cmp_walk);
		*slash = '/';
	}
	if (m->dir >= 0 && !blocked)
		rc = p4r_beneath_parent(&dir, &base, p4r_repo_root_fd(m->repo), rel, false);
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		rc = 0;
	}
	found = dir >= 0 && fstatat(dir, base, &f.st, AT_SYMLINK_NOFOLLOW) == 0;
	if (dir >= 0)
		close(dir);
	free(rel);
	if (rc < 0)
		return rc;
	if (found && S_ISREG(f.st.st_mode))
		return plan_present(m, &f);
	return push_item(m, e->path, e, ACT_WRITE, found && !S_ISDIR(f.st.st_mode));
}

/* The plan: every file present, then NEW's files that are not. */
static int plan(struct mat *m, const p4r_dirwalk *w)
{
	const p4r_manifest_entry *e;
	size_t i;
	int rc;

	for (i = 0; i < w->n; i++)
		if ((rc = plan_present(m, &w->v[i])) < 0)
			return rc;
	for (i = 0; i < m->new_m->n; i++) {
		e = &m->new_m->v[i];
		if (!p4r_manifest_path_valid(e->path))
			return p4r_error_set(P4R_EINTEGRITY, "the manifest for '%s' names an invalid path", m->rel);
		if (w->n && bsearch(e->path, w->v, w->n, sizeof(*w->v), cmp_walk))
			continue;
		if ((rc = plan_unlisted(m, e)) < 0)
			return rc;
	}
	return 0;
}

/* Splits the .p4regignore text in m->ignore_buf into m->pats as the walk
 * reads the file: one pattern a line, '#' comment lines, blank lines and
 * trailing blanks or CR skipped. */
static int split_patterns(struct mat *m, size_t len)
{
	char *p = m->ignore_buf, *end = p + len, *nl, *e;
	const char **grown;

	if (memchr(p, '\0', len))
		return p4r_error_set(P4R_EINTEGRITY, "the %s of the version checked out into '%s' contains "
				     "a NUL byte", IGNORE_FILE, m->rel);
	for (; p < end; p = nl ? nl + 1 : end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		e = nl ? nl : end;
		*e = '\0';
		while (e > p && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (!*p || *p == '#')
			continue;
		if (!(grown = realloc(m->pats, (m->npats + 1) * sizeof(*grown))))
			return p4r_error_set(P4R_ERROR, "out of memory");
		m->pats = grown;
		m->pats[m->npats++] = p;
	}
	return 0;
}

/* The patterns of NEW's .p4regignore, the file about to be written (the
 * one on disk the walk reads itself): a file either excludes is left
 * alone. An object not in the store yet adds none (its write fails later). */
static int new_patterns(struct mat *m)
{
	const p4r_manifest_entry *e = p4r_manifest_find(m->new_m, IGNORE_FILE);
	char path[4096];
	size_t len = 0;
	int rc;

	if (!e || !p4r_store_has(p4r_repo_store(m->repo), &e->oid))
		return 0;
	if ((!m->peek && (rc = p4r_objguard_require(m->repo, &e->oid, NULL)) < 0) ||
	    (rc = p4r_store_object_path(p4r_repo_store(m->repo), &e->oid, path, sizeof(path))) < 0 ||
	    (rc = p4r_read_file_at(&m->ignore_buf, &len, AT_FDCWD, path, IGNORE_MAX_BYTES, path)) < 0)
		return rc;
	return split_patterns(m, len);
}

/* Scans the folder (when it is there) and plans; OUT->foreign gets the
 * files in no version. Files the folder's .p4regignore (on disk, or NEW's)
 * excludes are not listed: never read, removed or refused, unless NEW names
 * them (plan_unlisted). */
static int scan_and_plan(struct mat *m)
{
	p4r_dirwalk_opts opts = { .display = m->rel, .allow_empty = true, .read_ignore_file = true };
	size_t i;
	int rc;

	if (m->dir >= 0) {
		if ((rc = new_patterns(m)) < 0)
			return rc;
		opts.excludes = m->pats;
		opts.nexcludes = m->npats;
		if ((rc = p4r_dirwalk_list(&m->walk, m->dir, &opts)) < 0)
			return rc;
	}
	if ((rc = plan(m, &m->walk)) < 0)
		return rc;
	for (i = 0; i < m->n; i++) {
		if (m->v[i].act == ACT_WRITE)
			m->total += (uint64_t)m->v[i].want->size;
		if (m->v[i].foreign)
			m->out->nforeign++;
	}
	if (m->out->nforeign && !(m->out->foreign = calloc(m->out->nforeign, sizeof(char *)))) {
		m->out->nforeign = 0;
		rc = p4r_error_set(P4R_ERROR, "out of memory");
	}
	for (i = 0, m->out->nforeign = 0; rc == 0 && i < m->n; i++)
		if (m->v[i].foreign && !(m->out->foreign[m->out->nforeign++] = full_path(m, m->v[i].path)))
			rc = p4r_error_set(P4R_ERROR, "out of memory");
	return rc;
}

/* The refusal: one line naming the first file in no version and how many. */
static int refuse(const struct mat *m)
{
	const char *name = strrchr(m->rel, '/') ? strrchr(m->rel, '/') + 1 : m->rel;
	size_t more = m->out->nforeign - 1;

	if (!more)
		return p4r_error_set(P4R_ERROR, "'%s' is in no version of '%s'; use --force to overwrite or "
				     "remove it", m->out->foreign[0], name);
	return p4r_error_set(P4R_ERROR, "'%s' and %zu more file%s are in no version of '%s'; use --force to "
			     "overwrite or remove them", m->out->foreign[0], more, more == 1 ? "" : "s", name);
}

/* Removes PATH (inside the folder) by its name in its own folder, opened
 * below the root now, and makes that durable. Already gone is fine. */
static int remove_file(struct mat *m, const char *path)
{
	char *rel = full_path(m, path);
	const char *base;
	int dir = -1, rc;

	if (!rel)
		return p4r_error_set(P4R_ERROR, "out of memory");
	rc = p4r_beneath_parent(&dir, &base, p4r_repo_root_fd(m->repo), rel, false);
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		rc = 0;
	} else if (rc == 0 && unlinkat(dir, base, 0) < 0 && errno != ENOENT) {
		rc = p4r_error_errno("cannot remove '%s'", rel);
	} else if (rc == 0 && fsync(dir) < 0 && errno != EINVAL) {
		rc = p4r_error_errno("cannot fsync the folder of '%s'", rel);
	}
	if (dir >= 0)
		close(dir);
	free(rel);
	return rc;
}

/* Removes the folders of PATH that are empty now, deepest first, up to
 * (not including) the model folder; stops at the first that is not. */
static int prune(struct mat *m, const char *path)
{
	char *folder = full_path(m, path), *slash;
	size_t top = strlen(m->rel);
	const char *base;
	int dir, rc = 0;

	if (!folder)
		return p4r_error_set(P4R_ERROR, "out of memory");
	while (rc == 0 && (slash = strrchr(folder, '/')) && (size_t)(slash - folder) > top) {
		*slash = '\0';
		if ((rc = p4r_beneath_parent(&dir, &base, p4r_repo_root_fd(m->repo), folder, false)) < 0)
			break;
		if (unlinkat(dir, base, AT_REMOVEDIR) < 0) {
			/* ENOTDIR: NEW's file took the folder's name */
			if (errno != ENOTEMPTY && errno != EEXIST && errno != ENOENT && errno != ENOTDIR)
				rc = p4r_error_errno("cannot remove folder '%s'", folder);
			close(dir);
			break;
		}
		if (fsync(dir) < 0 && errno != EINVAL)
			rc = p4r_error_errno("cannot fsync the folder of '%s'", folder);
		close(dir);
	}
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		rc = 0;
	}
	free(folder);
	return rc;
}

/* The link methods for ENTRY: an executable file is never a hard link
 * (the object's 0444 would drop its exec bit), a copy when nothing is left. */
static size_t order_for(const struct mat *m, const p4r_manifest_entry *e, p4r_link_type *order)
{
	size_t i, n = 0;

	for (i = 0; i < m->norder; i++)
		if (!e->exec || m->order[i] != P4R_LINK_HARDLINK)
			order[n++] = m->order[i];
	if (n == 0)
		order[n++] = P4R_LINK_COPY;
	return n;
}

/* A file's own progress as the whole run's. */
static void progress_all(uint64_t done, uint64_t total, void *payload)
{
	struct mat *m = payload;

	(void)total;
	m->progress(m->done + done, m->total, m->payload);
}

/* An empty folder where NEW puts a file (its files were removed above)
 * goes first; anything else there is left for the rename to refuse. */
static void clear_folder_at(int dir, const char *base)
{
	struct stat st;

	if (fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
		(void)unlinkat(dir, base, AT_REMOVEDIR);
}

/* Writes NEW's entry E: the guard, then the store's checkout into a
 * temporary file beside it, renamed over it (the folder made below REL). */
static int write_file(struct mat *m, const p4r_manifest_entry *e)
{
	p4r_link_type order[P4R_LINK_MAX];
	struct stat verified, st;
	char *rel = full_path(m, e->path);
	const char *base;
	int dir = -1, rc;

	if (!rel)
		return p4r_error_set(P4R_ERROR, "out of memory");
	/* a link or reflink passes the object on unread: it must be whole */
	if ((rc = p4r_objguard_require(m->repo, &e->oid, &verified)) < 0 ||
	    (rc = p4r_beneath_parent(&dir, &base, p4r_repo_root_fd(m->repo), rel, true)) < 0)
		goto done;
	clear_folder_at(dir, base);
	rc = p4r_store_checkout_mode(p4r_repo_store(m->repo), &e->oid, dir, base, rel, e->exec ? 0755 : 0644,
				     order, order_for(m, e, order), NULL, m->progress ? progress_all : NULL, m);
	if (rc < 0)
		goto done;
	m->done += (uint64_t)e->size;
	m->out->written++;
	m->out->bytes_written += (uint64_t)e->size;
	if (fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) == 0)
		rc = p4r_worktree_checkout_remember(m->repo, rel, &st, &e->oid, &verified);
done:
	if (dir >= 0)
		close(dir);
	free(rel);
	return rc;
}

/* Carries the plan out: removals first (a file NEW puts where a folder
 * was, or a folder where a file was), then the writes, then the folders
 * the removals left empty. */
static int execute(struct mat *m)
{
	size_t i;
	int rc = 0;

	if ((rc = open_folder(m, true)) < 0)
		return rc;
	for (i = 0; rc == 0 && i < m->n; i++) {
		if (m->v[i].act != ACT_REMOVE && m->v[i].act != ACT_STALE)
			continue;
		if ((rc = remove_file(m, m->v[i].path)) == 0 && m->v[i].act == ACT_REMOVE)
			m->out->removed++;
	}
	for (i = 0; rc == 0 && i < m->n; i++) {
		if (m->v[i].act == ACT_WRITE)
			rc = write_file(m, m->v[i].want);
		else if (m->v[i].act == ACT_KEEP)
			m->out->unchanged++;
	}
	for (i = 0; rc == 0 && i < m->n; i++)
		if (m->v[i].act == ACT_REMOVE || m->v[i].act == ACT_STALE)
			rc = prune(m, m->v[i].path);
	return rc;
}

static void mat_free(struct mat *m)
{
	if (m->dir >= 0)
		close(m->dir);
	p4r_dirwalk_clear(&m->walk);
	free(m->pats);
	free(m->ignore_buf);
	free(m->v);
}

int p4r_worktree_materialize_dir(p4r_repo *repo, const char *rel, const p4r_manifest *old_m,
				 const p4r_manifest *new_m, const p4r_link_type *order, size_t norder,
				 bool force, p4r_dir_result *out, p4r_progress_fn progress,
				 void *payload)
{
	struct mat m = { .repo = repo, .rel = rel, .dir = -1, .old_m = old_m, .new_m = new_m,
			 .out = out, .progress = progress, .payload = payload };
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = p4r_relpath_check(rel)) < 0)
		return rc;
	if (!new_m || new_m->n == 0)
		return p4r_error_set(P4R_EUSAGE, "no manifest to check out into '%s'", rel);
	if (norder == 0) {
		if ((rc = p4r_repo_link_order(repo, m.order, &m.norder)) < 0)
			return rc;
	} else {
		m.norder = norder > P4R_LINK_MAX ? P4R_LINK_MAX : norder;
		memcpy(m.order, order, m.norder * sizeof(*order));
	}
	if ((rc = open_folder(&m, false)) < 0 || (rc = scan_and_plan(&m)) < 0)
		goto done;
	if (out->nforeign && !force) {
		rc = refuse(&m);
		goto done;
	}
	rc = execute(&m);
done:
	mat_free(&m);
	return rc;
}

void p4r_dir_plan_clear(p4r_dir_plan *p)
{
	if (!p)
		return;
	p4r_strv_free(p->write, p->nwrite);
	p4r_strv_free(p->remove, p->nremove);
	p4r_strv_free(p->foreign, p->nforeign);
	memset(p, 0, sizeof(*p));
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* M's plan as OUT's lists (repository-relative paths, sorted). */
static int plan_lists(const struct mat *m, p4r_dir_plan *out)
{
	size_t i;
	char *path;

	if (!(out->write = calloc(m->n + 1, sizeof(char *))) ||
	    !(out->remove = calloc(m->n + 1, sizeof(char *))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	out->bytes = m->total;
	for (i = 0; i < m->n; i++) {
		if (m->v[i].act == ACT_KEEP)
			out->unchanged++;
		if (m->v[i].act != ACT_WRITE && m->v[i].act != ACT_REMOVE)
			continue;
		if (!(path = full_path(m, m->v[i].path)))
			return p4r_error_set(P4R_ERROR, "out of memory");
		if (m->v[i].act == ACT_WRITE)
			out->write[out->nwrite++] = path;
		else
			out->remove[out->nremove++] = path;
	}
	qsort(out->write, out->nwrite, sizeof(char *), cmp_path);
	qsort(out->remove, out->nremove, sizeof(char *), cmp_path);
	return 0;
}

int p4r_worktree_plan_dir(p4r_repo *repo, const char *rel, const p4r_manifest *old_m,
			  const p4r_manifest *new_m, bool force, p4r_dir_plan *out)
{
	p4r_dir_result res = { 0 };
	struct mat m = { .repo = repo, .rel = rel, .dir = -1, .old_m = old_m, .new_m = new_m,
			 .out = &res, .peek = true };
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = p4r_relpath_check(rel)) < 0)
		return rc;
	if (!new_m || new_m->n == 0)
		return p4r_error_set(P4R_EUSAGE, "no manifest to check out into '%s'", rel);
	if ((rc = open_folder(&m, false)) == 0 && (rc = scan_and_plan(&m)) == 0)
		rc = plan_lists(&m, out);
	out->foreign = res.foreign;
	out->nforeign = res.nforeign;
	if (rc == 0 && out->nforeign && !force)
		rc = refuse(&m);
	mat_free(&m);
	return rc;
}
