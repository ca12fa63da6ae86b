/* fsck: re-hashes the store, checks registry <-> store <-> pointers and the
 * registry's invariants, quarantines corrupt objects (see fsck.h). */
#include "p4reg/fsck.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/gc.h"
#include "p4reg/hash.h"
#include "p4reg/pointer.h"
#include "p4reg/remote.h"
#include "p4reg/sync.h"
#include "p4reg/worktree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HASH_BLOCK ((size_t)1 << 20)
#define QUARANTINE_DIR "quarantine"
/* Versions named in a missing-object message; the rest are "...". */
#define USERS_SHOWN 5

/* An object file found in the store. */
struct found {
	char *path;     /* absolute */
	char *rel;      /* relative to the repository root */
	p4r_oid oid;    /* from its name */
	uint64_t size;
};

struct scan {
	struct found *v;
	size_t n, cap;
	uint64_t bytes;
};

struct run {
	p4r_repo *repo;
	p4r_fsck_report *rep;
	const p4r_fsck_opts *opts;
	int oom;        /* adding a problem failed: out of memory */
	uint64_t hashed;
	uint64_t total;
};

static bool is_hex2(const char *s)
{
	return strlen(s) == 2 &&
	       ((s[0] >= '0' && s[0] <= '9') || (s[0] >= 'a' && s[0] <= 'f')) &&
	       ((s[1] >= '0' && s[1] <= '9') || (s[1] >= 'a' && s[1] <= 'f'));
}

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Records a problem; strings are copied. A failed allocation is remembered
 * and turned into an error at the end: a report must not silently shrink. */
static void add_problem(struct run *r, const char *kind, const char *object, const char *path,
			const char *model, const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

static void add_problem(struct run *r, const char *kind, const char *object, const char *path,
			const char *model, const char *fix, const char *fmt, ...)
{
	p4r_fsck_report *rep = r->rep;
	p4r_fsck_problem *p;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rep->nproblems == rep->cap) {
		size_t ncap = rep->cap ? rep->cap * 2 : 16;
		void *np = realloc(rep->problems, ncap * sizeof(*rep->problems));

		if (!np) {
			r->oom = 1;
			return;
		}
		rep->problems = np;
		rep->cap = ncap;
	}
	p = &rep->problems[rep->nproblems];
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->object = xstrdup(object);
	p->path = xstrdup(path);
	p->model = xstrdup(model);
	p->message = strdup(msg);
	p->fix = xstrdup(fix);
	if ((object && !p->object) || (path && !p->path) || (model && !p->model) || !p->message ||
	    (fix && !p->fix)) {
		free(p->object); free(p->path); free(p->model); free(p->message); free(p->fix);
		r->oom = 1;
		return;
	}
	rep->nproblems++;
}

void p4r_fsck_report_clear(p4r_fsck_report *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nproblems; i++) {
		free(r->problems[i].object);
		free(r->problems[i].path);
		free(r->problems[i].model);
		free(r->problems[i].message);
		free(r->problems[i].fix);
	}
	free(r->problems);
	memset(r, 0, sizeof(*r));
}

/* ---- the registry ---- */

#define REGISTRY_FIX \
	"restore .p4reg/registry.db from a backup, or replace it with an empty registry" \
	" (p4reg fsck --new-registry) and refill that from a remote (p4reg pull)"

static void on_integrity(const char *message, void *payload)
{
	add_problem(payload, "registry-corrupt", NULL, ".p4reg/registry.db", NULL, REGISTRY_FIX,
		    "registry: %s", message);
}

/* The registry could not be opened (the repository was opened without it):
 * the reason, less the advice to run fsck, is the problem. */
static void registry_unusable(struct run *r)
{
	char *db = p4r_path_join(p4r_repo_meta(r->repo), "registry.db");
	p4r_registry *reg = NULL;
	char msg[1024];
	size_t len, hint = strlen(P4R_REGISTRY_RESTORE_HINT);

	if (!db) {
		r->oom = 1;
		return;
	}
	if (p4r_registry_open(&reg, db, true) == 0) {
		/* repaired meanwhile; the next fsck sees it whole */
		snprintf(msg, sizeof(msg), "the registry could not be opened when fsck started");
	} else {
		snprintf(msg, sizeof(msg), "%s", p4r_error_message());
		len = strlen(msg);
		if (len > hint + 2 && !strcmp(msg + len - hint, P4R_REGISTRY_RESTORE_HINT))
			msg[len - hint - 2] = '\0'; /* and its "; " */
	}
	p4r_registry_free(reg);
	free(db);
	add_problem(r, "registry-corrupt", NULL, ".p4reg/registry.db", NULL, REGISTRY_FIX, "%s", msg);
}

static void on_invariant(const p4r_invariant_issue *issue, void *payload)
{
	add_problem(payload, "registry-invariant", NULL, NULL, issue->model[0] ? issue->model : NULL,
		    issue->fix, "%s", issue->message);
}

/* Runs the registry checks in one snapshot and takes the referenced oids
 * from it. A registry too damaged to answer is a problem, not a failure. */
static void check_registry(struct run *r, p4r_oid **refs, int64_t **sizes, size_t *nrefs)
{
	p4r_registry *reg = p4r_repo_registry(r->repo);
	int rc;

	*refs = NULL;
	*nrefs = 0;
	if (!reg) {
		registry_unusable(r);
		return;
	}
	if ((rc = p4r_registry_read_begin(reg)) == 0 &&
	    (rc = p4r_registry_fsck_integrity(reg, on_integrity, r)) == 0 &&
	    (rc = p4r_registry_fsck_invariants(reg, on_invariant, r)) == 0)
		rc = p4r_registry_referenced_oids(reg, refs, sizes, nrefs);
	if (rc < 0)
		on_integrity(p4r_error_message(), r);
	p4r_registry_read_end(reg);
}

/* ---- the store ---- */

static int scan_push(struct scan *s, const char *path, const char *rel, const p4r_oid *oid,
		     uint64_t size)
{
	struct found *f;

	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 64;
		void *p = realloc(s->v, ncap * sizeof(*s->v));

		if (!p)
			return p4r_error_set(P4R_ERROR, "out of memory");
		s->v = p;
		s->cap = ncap;
	}
	f = &s->v[s->n];
	f->path = strdup(path);
	f->rel = strdup(rel);
	f->oid = *oid;
	f->size = size;
	if (!f->path || !f->rel) {
		free(f->path);
		free(f->rel);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	s->n++;
	s->bytes += size;
	return 0;
}

static void scan_free(struct scan *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->v[i].path);
		free(s->v[i].rel);
	}
	free(s->v);
}

static void stray(struct run *r, const char *rel, const char *why)
{
	add_problem(r, "stray-file", NULL, rel, NULL,
		    "p4reg never writes such a file: move it out of .p4reg/objects",
		    "'%s' in the store %s", rel, why);
}

/* Lists DEPTH-level folder DIR (objects/, objects/ab, objects/ab/cd) into S;
 * anything that does not follow the layout is reported as stray. */
static int scan_level(struct run *r, struct scan *s, const char *dir, const char *rel,
		      int depth, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = 0;

	if (!d) {
		if (errno == ENOENT && depth == 0)
			return 0;
		return p4r_error_errno("cannot read folder '%s'", dir);
	}
	while (rc == 0 && (de = readdir(d))) {
		const char *name = de->d_name;
		char path[PATH_MAX], crel[PATH_MAX], nprefix[8];
		struct stat st;

		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
		    snprintf(crel, sizeof(crel), "%s/%s", rel, name) >= (int)sizeof(crel)) {
			stray(r, rel, "has a name too long to be an object");
			continue;
		}
		if (lstat(path, &st) < 0) {
			if (errno == ENOENT)
				continue; /* gc removed it meanwhile */
			rc = p4r_error_errno("cannot stat '%s'", path);
			break;
		}
		if (depth < 2) {
			if (!S_ISDIR(st.st_mode) || !is_hex2(name)) {
				stray(r, crel, "does not belong to the layout objects/ab/cd/<oid>");
				continue;
			}
			snprintf(nprefix, sizeof(nprefix), "%s%.2s", prefix, name); /* name is two hex digits */
			rc = scan_level(r, s, path, crel, depth + 1, nprefix);
		} else {
			p4r_oid oid;

			if (!S_ISREG(st.st_mode)) {
				stray(r, crel, "is not a regular file");
				continue;
			}
			if (!p4r_oid_valid(name) || strncmp(name, prefix, 4)) {
				stray(r, crel, "is not named by its oid under objects/ab/cd/");
				continue;
			}
			memcpy(oid.hex, name, sizeof(oid.hex));
			rc = scan_push(s, path, crel, &oid, (uint64_t)st.st_size);
		}
	}
	closedir(d);
	return rc;
}

/* Hashes the file at PATH, reporting progress across the whole store. */
static int hash_object(struct run *r, const char *path, p4r_oid *out, bool *gone)
{
	unsigned char *buf = NULL;
	p4r_hasher *h = NULL;
	ssize_t got;
	int fd, rc;

	*gone = false;
	/* the walk saw a regular file; one swapped in since is not followed */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			*gone = true;
			return 0;
		}
		return p4r_error_errno("cannot open '%s'", path);
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (!(buf = malloc(HASH_BLOCK))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	if ((rc = p4r_hasher_new(&h)) < 0)
		goto done;
	for (;;) {
		got = read(fd, buf, HASH_BLOCK);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			rc = p4r_error_errno("cannot read '%s'", path);
			goto done;
		}
		if (got == 0)
			break;
		if ((rc = p4r_hasher_update(h, buf, (size_t)got)) < 0)
			goto done;
		r->hashed += (uint64_t)got;
		if (r->opts && r->opts->progress)
			r->opts->progress(r->hashed, r->total > r->hashed ? r->total : r->hashed,
					  r->opts->payload);
	}
	rc = p4r_hasher_final(h, out);
done:
	p4r_hasher_free(h);
	free(buf);
	close(fd);
	return rc;
}

/* Moves the file at PATH into META/quarantine/ as NAME (NAME.N when that is
 * taken: an earlier quarantined copy may be the evidence, it is never
 * overwritten); *DEST (nullable) gets the new path, malloc'd. */
static int quarantine_move(const char *meta, const char *path, const char *name, char **dest)
{
	char qdir[PATH_MAX], target[PATH_MAX];
	int i, rc;

	if (dest)
		*dest = NULL;
	if (snprintf(qdir, sizeof(qdir), "%s/%s", meta, QUARANTINE_DIR) >= (int)sizeof(qdir))
		return p4r_error_set(P4R_ERROR, "path of the quarantine is too long");
	if (mkdir(qdir, 0755) == 0) {
		if ((rc = p4r_fsync_dir(meta)) < 0)
			return rc;
	} else if (errno != EEXIST) {
		return p4r_error_errno("cannot create folder '%s'", qdir);
	}
	for (i = 0; i < 1000; i++) {
		int len = i == 0 ? snprintf(target, sizeof(target), "%s/%s", qdir, name) :
			  snprintf(target, sizeof(target), "%s/%s.%d", qdir, name, i);

		if (len < 0 || (size_t)len >= sizeof(target))
			return p4r_error_set(P4R_ERROR, "path of the quarantine is too long");
		if (renameat2(AT_FDCWD, path, AT_FDCWD, target, RENAME_NOREPLACE) == 0)
			break;
		if (errno == EEXIST)
			continue;
		if (errno == EINVAL || errno == ENOSYS) {
			/* no RENAME_NOREPLACE here: link() refuses to overwrite too */
			if (link(path, target) == 0) {
				if (unlink(path) < 0)
					return p4r_error_errno("cannot remove '%s'", path);
				break;
			}
			if (errno == EEXIST)
				continue;
		}
		return p4r_error_errno("cannot move '%s' to '%s'", path, target);
	}
	if (i == 1000)
		return p4r_error_set(P4R_ERROR, "too many quarantined copies of %s", name);
	if ((rc = p4r_fsync_dir(qdir)) < 0 || (rc = p4r_fsync_parent(path)) < 0)
		return rc;
	if (dest && !(*dest = strdup(target)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	return 0;
}

int p4r_fsck_quarantine(const char *meta, const char *path, const p4r_oid *oid, char **dest)
{
	return quarantine_move(meta, path, oid->hex, dest);
}

/* Moves PATH's SUFFIX companion (-wal, -shm) next to its quarantined DEST,
 * where SQLite looks for it if someone opens the copy to rescue rows. */
static int quarantine_companion(const char *path, const char *dest, const char *suffix)
{
	char from[PATH_MAX], to[PATH_MAX];

	if (snprintf(from, sizeof(from), "%s%s", path, suffix) >= (int)sizeof(from) ||
	    snprintf(to, sizeof(to), "%s%s", dest, suffix) >= (int)sizeof(to))
		return p4r_error_set(P4R_ERROR, "path of the quarantine is too long");
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0 || errno == ENOENT)
		return 0;
	return p4r_error_errno("cannot move '%s' to '%s'", from, to);
}

int p4r_fsck_new_registry(p4r_repo *repo, char **moved)
{
	const char *meta = p4r_repo_meta(repo);
	char *db = p4r_path_join(meta, "registry.db"), *dest = NULL;
	struct stat st;
	int rc = 0;

	*moved = NULL;
	if (!db)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if (p4r_repo_registry(repo)) {
		rc = p4r_error_set(P4R_EREFUSED, "registry '%s' opens and is not replaced: --new-registry"
				   " is for a registry that is missing or cannot be opened", db);
		goto done;
	}
	if (lstat(db, &st) == 0 &&
	    ((rc = quarantine_move(meta, db, "registry.db", &dest)) < 0 ||
	     (rc = quarantine_companion(db, dest, "-wal")) < 0 ||
	     (rc = quarantine_companion(db, dest, "-shm")) < 0))
		goto done;
	if ((rc = p4r_registry_create(db)) < 0)
		goto done;
	*moved = dest;
	dest = NULL;
done:
	free(dest);
	free(db);
	return rc;
}

/* ABS inside the repository as a root-relative path (ABS itself otherwise). */
static const char *rel_to_root(const p4r_repo *repo, const char *abs)
{
	const char *root = p4r_repo_root(repo);
	size_t len = strlen(root);

	if (!strncmp(abs, root, len) && abs[len] == '/')
		return abs + len + 1;
	return abs;
}

/* Opens folder .p4reg/NAME without following a link: -1 when it is absent
 * or, reported as a problem, a symbolic link or a file in its place. */
static int open_store_folder(struct run *r, const char *name)
{
	char rel[64];
	int meta, fd = -1, rc;

	snprintf(rel, sizeof(rel), P4R_META_DIR "/%s", name);
	meta = open(p4r_repo_meta(r->repo), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	rc = meta < 0 ? p4r_error_errno("cannot open folder '%s'", p4r_repo_meta(r->repo)) :
	     p4r_gc_open_dir(&fd, meta, name, rel);
	if (meta >= 0)
		close(meta);
	if (rc < 0)
		add_problem(r, "stray-file", NULL, rel, NULL,
			    "remove it; p4reg creates the folder again on its next command", "%s",
			    p4r_error_message());
	return fd;
}

/* .p4reg/tmp/ holds p4reg's unfinished writes and sync.lock; anything else
 * there (which gc leaves alone) is reported. */
static void check_tmp(struct run *r)
{
	int fd = open_store_folder(r, "tmp");
	char rel[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (fd < 0)
		return;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return;
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (p4r_gc_classify_tmp(de->d_name) != P4R_TMP_FOREIGN &&
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			continue;
		snprintf(rel, sizeof(rel), P4R_META_DIR "/tmp/%s", de->d_name);
		add_problem(r, "stray-file", NULL, rel, NULL,
			    "p4reg never writes such an entry: move it out of .p4reg/tmp",
			    "'%s' is not a temporary file of p4reg (gc leaves it alone)", rel);
	}
	closedir(d);
}

static int check_objects(struct run *r)
{
	const char *meta = p4r_repo_meta(r->repo);
	struct scan s = { 0 };
	char objects[PATH_MAX];
	size_t i;
	int fd, rc = 0;

	snprintf(objects, sizeof(objects), "%s/objects", meta);
	/* a link in its place is reported, never walked */
	if ((fd = open_store_folder(r, "objects")) < 0)
		goto done;
	close(fd);
	if ((rc = scan_level(r, &s, objects, ".p4reg/objects", 0, "")) < 0)
		goto done;
	r->total = s.bytes;
	for (i = 0; i < s.n; i++) {
		struct found *f = &s.v[i];
		p4r_oid got;
		bool gone;
		char *dest = NULL;

		if ((rc = hash_object(r, f->path, &got, &gone)) < 0)
			goto done;
		if (gone)
			continue;
		r->rep->objects_checked++;
		r->rep->bytes_checked += f->size;
		if (p4r_oid_equal(&got, &f->oid))
			continue;
		if ((rc = p4r_fsck_quarantine(meta, f->path, &f->oid, &dest)) < 0) {
			add_problem(r, "corrupt-object", f->oid.hex, f->rel, NULL,
				    "remove it by hand, then restore it with p4reg fetch or by adding the original file again",
				    "object %s is corrupt (its bytes hash to %s) and could not be quarantined: %s",
				    f->oid.hex, got.hex, p4r_error_message());
			rc = 0;
			continue;
		}
		r->rep->quarantined++;
		add_problem(r, "corrupt-object", f->oid.hex, f->rel, NULL,
			    "moved to .p4reg/quarantine/; restore it with p4reg fsck --repair (needs a remote), p4reg fetch, or by adding the original file again",
			    "object %s is corrupt: its bytes hash to %s; moved to '%s'",
			    f->oid.hex, got.hex, rel_to_root(r->repo, dest));
		free(dest);
	}
done:
	scan_free(&s);
	return rc;
}

/* ---- versions -> objects ---- */

/* Fetches the N objects in MISSING (sizes SIZES) from the default remote;
 * those that arrive are verified by the download. *WHY gets the reason
 * when nothing could be fetched ("" otherwise). */
static void repair_objects(struct run *r, const p4r_oid *missing, const int64_t *sizes, size_t n,
			   char *why, size_t whysz)
{
	p4r_remote *remote = NULL;
	p4r_sync_result res;

	why[0] = '\0';
	memset(&res, 0, sizeof(res));
	if (p4r_remote_open(&remote, p4r_repo_config(r->repo), p4r_repo_meta(r->repo), NULL) < 0) {
		snprintf(why, whysz, "%s", p4r_error_message());
		return;
	}
	if (p4r_sync_fetch_objects(r->repo, remote, missing, sizes, n, NULL, &res) < 0)
		snprintf(why, whysz, "%s", p4r_error_message());
	p4r_sync_result_clear(&res);
	p4r_remote_free(remote);
}

/* A corrupt object fetched again is fixed: its problem leaves the report
 * (the quarantined copy stays, and the count of repairs says what happened). */
static void drop_corrupt(p4r_fsck_report *rep, const p4r_oid *oid)
{
	size_t i;

	for (i = 0; i < rep->nproblems; i++) {
		p4r_fsck_problem *p = &rep->problems[i];

		if (strcmp(p->kind, "corrupt-object") || !p->object || strcmp(p->object, oid->hex))
			continue;
		free(p->object); free(p->path); free(p->model); free(p->message); free(p->fix);
		memmove(p, p + 1, (rep->nproblems - i - 1) * sizeof(*p));
		rep->nproblems--;
		i--;
	}
}

static void check_references(struct run *r, const p4r_oid *refs, const int64_t *sizes,
			     size_t nrefs)
{
	p4r_registry *reg = p4r_repo_registry(r->repo);
	p4r_store *store = p4r_repo_store(r->repo);
	p4r_oid *missing = NULL;
	int64_t *msizes = NULL;
	size_t i, j, nmissing = 0, nusers, len;
	char **users, list[512], why[512] = "", fix[768];

	r->rep->versions_checked = nrefs;
	if (nrefs && (!(missing = malloc(nrefs * sizeof(*missing))) ||
		      !(msizes = malloc(nrefs * sizeof(*msizes))))) {
		r->oom = 1;
		goto done;
	}
	for (i = 0; i < nrefs; i++) {
		if (!p4r_store_has(store, &refs[i])) {
			missing[nmissing] = refs[i];
			msizes[nmissing++] = sizes ? sizes[i] : 0;
		}
	}
	if (nmissing && r->opts && r->opts->repair)
		repair_objects(r, missing, msizes, nmissing, why, sizeof(why));
	for (i = 0; i < nmissing; i++) {
		char model[P4R_MODEL_NAME_MAX + 1] = "";

		if (r->opts && r->opts->repair && p4r_store_has(store, &missing[i])) {
			r->rep->repaired++;
			drop_corrupt(r->rep, &missing[i]);
			continue;
		}
		users = NULL;
		nusers = 0;
		list[0] = '\0';
		if (p4r_registry_oid_users(reg, &missing[i], USERS_SHOWN + 1, &users, &nusers) == 0) {
			for (j = 0, len = 0; j < nusers && j < USERS_SHOWN && len < sizeof(list); j++)
				len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
							j ? ", " : "", users[j]);
			if (nusers > USERS_SHOWN && len < sizeof(list))
				snprintf(list + len, sizeof(list) - len, ", ...");
		}
		if (nusers > 0) {
			const char *at = strrchr(users[0], '@');
			size_t mlen = at ? (size_t)(at - users[0]) : strlen(users[0]);

			snprintf(model, sizeof(model), "%.*s", (int)mlen, users[0]);
		}
		if (r->opts && r->opts->repair)
			snprintf(fix, sizeof(fix), "%s%s%sadd the original file again (p4reg add PATH) to restore it",
				 why[0] ? "could not fetch it (" : "no remote had it; ", why,
				 why[0] ? "); " : "");
		else
			snprintf(fix, sizeof(fix), "fetch it from a remote (p4reg fsck --repair), or add the original file again (p4reg add PATH)");
		add_problem(r, "missing-object", missing[i].hex, NULL, model[0] ? model : NULL, fix,
			    "object %s of %s is missing from the store", missing[i].hex,
			    list[0] ? list : "a version");
		for (j = 0; j < nusers; j++)
			free(users[j]);
		free(users);
	}
done:
	free(missing);
	free(msizes);
}

/* ---- pointers -> versions ---- */

static void check_pointers(struct run *r)
{
	p4r_registry *reg = p4r_repo_registry(r->repo);
	char **rels = NULL, display[PATH_MAX];
	size_t n = 0, i;
	int rc;

	if ((rc = p4r_worktree_list_pointers(r->repo, &rels, &n)) < 0) {
		add_problem(r, "bad-pointer", NULL, ".", NULL, "check the permissions of the work tree",
			    "cannot list the pointer files: %s", p4r_error_message());
		return;
	}
	for (i = 0; i < n; i++) {
		p4r_pointer ptr;
		p4r_version v;

		snprintf(display, sizeof(display), "%s%s", rels[i], P4R_POINTER_SUFFIX);
		rc = p4r_worktree_read_pointer(r->repo, rels[i], &ptr);
		r->rep->pointers_checked++;
		if (rc < 0) {
			add_problem(r, "bad-pointer", NULL, display, NULL,
				    "restore it from git (git checkout -- FILE) or write it again with p4reg add or p4reg checkout",
				    "%s", p4r_error_message());
			continue;
		}
		/* without a registry, parsing is all that can be checked */
		if (!reg)
			continue;
		rc = p4r_registry_version_get(reg, ptr.model, ptr.version, &v);
		if (rc == P4R_ENOTFOUND) {
			add_problem(r, "unknown-version", NULL, display, ptr.model,
				    "get the registry entry with p4reg pull, or register the file again with p4reg add",
				    "'%s' names %s@%lld, which the registry does not know (%s)", display,
				    ptr.model, (long long)ptr.version, p4r_error_message());
			continue;
		}
		if (rc < 0) {
			on_integrity(p4r_error_message(), r);
			continue;
		}
		if (!p4r_oid_equal(&v.oid, &ptr.oid) || v.size != ptr.size)
			add_problem(r, "pointer-mismatch", ptr.oid.hex, display, ptr.model,
				    "rewrite the pointer from the registry: p4reg checkout MODEL@N",
				    "'%s' says %s@%lld is %s (%lld bytes) but the registry has %s (%lld bytes)",
				    display, ptr.model, (long long)ptr.version, ptr.oid.hex,
				    (long long)ptr.size, v.oid.hex, (long long)v.size);
		p4r_version_clear(&v);
	}
	p4r_strv_free(rels, n);
}

int p4r_fsck_run(p4r_repo *repo, const p4r_fsck_opts *opts, p4r_fsck_report *out)
{
	struct run r = { repo, out, opts, 0, 0, 0 };
	p4r_oid *refs = NULL;
	int64_t *sizes = NULL;
	size_t nrefs = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	check_registry(&r, &refs, &sizes, &nrefs);
	/* objects first: a corrupt one is quarantined and then reported
	 * missing for the versions that need it */
	if ((rc = check_objects(&r)) < 0)
		goto done;
	check_tmp(&r);
	check_references(&r, refs, sizes, nrefs);
	check_pointers(&r);
	if (r.oom)
		rc = p4r_error_set(P4R_ERROR, "out of memory");
done:
	free(refs);
	free(sizes);
	return rc;
}
