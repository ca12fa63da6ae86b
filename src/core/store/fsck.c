/* fsck: re-hashes the store, checks registry <-> store <-> pointers and the
 * registry's invariants, quarantines corrupt objects (see fsck.h). */
#include "p4reg/fsck.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/gc.h"
#include "p4reg/hash.h"
#include "p4reg/objguard.h"
#include "p4reg/pointer.h"
#include "p4reg/remote.h"
#include "p4reg/sync.h"
#include "p4reg/version_objects.h"
#include "p4reg/worktree.h"
#include "store/chunk_store.h"

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

/* A file of a folder version's manifest: who needs it, for messages. */
struct dir_file {
	p4r_oid oid;
	char *model;    /* malloc'd */
	char *who;      /* "minilm@2 file 'model.safetensors'", malloc'd */
};

struct run {
	p4r_repo *repo;
	p4r_fsck_report *rep;
	const p4r_fsck_opts *opts;
	int oom;        /* adding a problem failed: out of memory */
	uint64_t hashed;
	uint64_t total;
	uint64_t objects, nobjects; /* objects hashed, to hash */
	p4r_remote *remote;   /* the remote to ask: OPTS->remote or one opened here */
	bool own_remote;      /* REMOTE was opened here (freed at the end) */
	bool remote_tried;    /* the default remote was looked for */
	char no_remote[512];  /* why no remote was asked ("": one was, or none was needed) */
	struct dir_file *df;  /* the files of folder versions, for messages */
	size_t ndf, dfcap;
	const p4r_oid *refs;  /* the oids live versions reference, sorted */
	size_t nrefs;
	bool refs_known;      /* the registry answered: REFS is the whole list */
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

static void finding_free(p4r_fsck_problem *p)
{
	free(p->object);
	free(p->path);
	free(p->model);
	free(p->message);
	free(p->fix);
}

/* Appends a finding to the problems (NOTE false) or the notes; strings are
 * copied. A failed allocation is remembered and turned into an error at
 * the end: a report must not silently shrink. */
static void vadd(struct run *r, bool note, const char *kind, const char *object, const char *path,
		 const char *model, const char *fix, const char *fmt, va_list ap)
{
	p4r_fsck_report *rep = r->rep;
	p4r_fsck_problem **v = note ? &rep->notes : &rep->problems;
	size_t *n = note ? &rep->nnotes : &rep->nproblems, *cap = note ? &rep->notes_cap : &rep->cap;
	p4r_fsck_problem *p;
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		void *np = realloc(*v, ncap * sizeof(**v));

		if (!np) {
			r->oom = 1;
			return;
		}
		*v = np;
		*cap = ncap;
	}
	p = &(*v)[*n];
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->object = xstrdup(object);
	p->path = xstrdup(path);
	p->model = xstrdup(model);
	p->message = strdup(msg);
	p->fix = xstrdup(fix);
	if ((object && !p->object) || (path && !p->path) || (model && !p->model) || !p->message ||
	    (fix && !p->fix)) {
		finding_free(p);
		r->oom = 1;
		return;
	}
	(*n)++;
}

static void add_problem(struct run *r, const char *kind, const char *object, const char *path,
			const char *model, const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

static void add_problem(struct run *r, const char *kind, const char *object, const char *path,
			const char *model, const char *fix, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vadd(r, false, kind, object, path, model, fix, fmt, ap);
	va_end(ap);
}

/* A note: worth saying, never a reason to fail (see fsck.h). */
static void add_note(struct run *r, const char *kind, const char *object, const char *model,
		     const char *fix, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void add_note(struct run *r, const char *kind, const char *object, const char *model,
		     const char *fix, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vadd(r, true, kind, object, NULL, model, fix, fmt, ap);
	va_end(ap);
}

void p4r_fsck_report_clear(p4r_fsck_report *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nproblems; i++)
		finding_free(&r->problems[i]);
	for (i = 0; i < r->nnotes; i++)
		finding_free(&r->notes[i]);
	free(r->problems);
	free(r->notes);
	free(r->remote);
	free(r->remote_error);
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

/* ---- folder versions: manifests and their files ---- */

static void dir_file_add(struct run *r, const p4r_version *v, const p4r_manifest_entry *e)
{
	char who[P4R_MODEL_NAME_MAX + 4200];

	if (r->ndf == r->dfcap) {
		size_t ncap = r->dfcap ? r->dfcap * 2 : 64;
		struct dir_file *p = realloc(r->df, ncap * sizeof(*p));

		if (!p) {
			r->oom = 1;
			return;
		}
		r->df = p;
		r->dfcap = ncap;
	}
	snprintf(who, sizeof(who), "%s@%lld file '%s'", v->model, (long long)v->number, e->path);
	r->df[r->ndf] = (struct dir_file){ e->oid, xstrdup(v->model), xstrdup(who) };
	if (!r->df[r->ndf].model || !r->df[r->ndf].who)
		r->oom = 1;
	r->ndf++;
}

static void dir_files_free(struct run *r)
{
	size_t i;

	for (i = 0; i < r->ndf; i++) {
		free(r->df[i].model);
		free(r->df[i].who);
	}
	free(r->df);
}

/* The stored manifest object of V decodes (the rows may hide a bad one). */
static int manifest_object_decodes(struct run *r, const p4r_version *v, const char *what)
{
	char path[PATH_MAX], *buf = NULL;
	p4r_manifest m = { 0 };
	size_t len;
	int rc;

	if ((rc = p4r_store_object_path(p4r_repo_store(r->repo), &v->oid, path, sizeof(path))) == 0 &&
	    (rc = p4r_read_file(&buf, &len, path, P4R_MANIFEST_MAX_BYTES)) == 0)
		rc = p4r_manifest_decode(&m, buf, len, what);
	free(buf);
	p4r_manifest_clear(&m);
	return rc;
}

/* One folder version: its manifest decodes and matches its rows (rows
 * missing are rebuilt from the object: a cache), its files are listed for
 * the reference check. A manifest not downloaded is the reference check's. */
static void check_manifest(struct run *r, const p4r_version *v)
{
	char what[P4R_MODEL_NAME_MAX + 48];
	p4r_manifest m = { 0 };
	size_t k;
	int rc = 0;

	snprintf(what, sizeof(what), "manifest of %s@%lld", v->model, (long long)v->number);
	if (p4r_store_has(p4r_repo_store(r->repo), &v->oid))
		rc = manifest_object_decodes(r, v, what);
	if (rc == 0)
		rc = p4r_manifest_load(r->repo, &v->oid, what, &m);
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
	} else if (rc < 0) {
		add_problem(r, "bad-manifest", v->oid.hex, NULL, v->model,
			    "p4reg fsck --repair fetches a good copy from a remote; or add the folder again",
			    "%s@%lld: %s", v->model, (long long)v->number, p4r_error_message());
		p4r_error_clear();
	}
	for (k = 0; rc == 0 && k < m.n; k++)
		dir_file_add(r, v, &m.v[k]);
	p4r_manifest_clear(&m);
}

static void check_manifests(struct run *r)
{
	p4r_version *d = NULL;
	size_t nd = 0, i;

	if (!p4r_repo_registry(r->repo))
		return;
	if (p4r_dir_versions(r->repo, &d, &nd) < 0) {
		on_integrity(p4r_error_message(), r);
		return;
	}
	for (i = 0; i < nd; i++)
		check_manifest(r, &d[i]);
	p4r_version_array_free(d, nd);
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
	r->refs_known = rc == 0;
	r->refs = *refs;
	r->nrefs = *nrefs;
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

static bool same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* The objects and bytes hashed so far, to OPTS's callback. */
static void report_hashing(const struct run *r)
{
	p4r_progress p = { .label = "fsck", .unit = "objects", .items = r->objects,
			   .items_total = r->nobjects, .has_bytes = true, .bytes = r->hashed,
			   .bytes_total = r->total > r->hashed ? r->total : r->hashed };

	if (r->opts && r->opts->count)
		r->opts->count(&p, r->opts->payload);
	else if (r->opts && r->opts->progress)
		r->opts->progress(p.bytes, p.bytes_total, r->opts->payload);
}

/* Hashes the file at PATH, reporting progress across the whole store.
 * *ST gets its stat when it did not move during the read (st_ino 0 when
 * it did): the fingerprint the object guard may record. */
static int hash_object(struct run *r, const char *path, p4r_oid *out, bool *gone, struct stat *st)
{
	unsigned char *buf = NULL;
	p4r_hasher *h = NULL;
	struct stat before;
	ssize_t got;
	int fd, rc;

	*gone = false;
	memset(st, 0, sizeof(*st));
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
	if (fstat(fd, &before) < 0)
		memset(&before, 0, sizeof(before));
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
		report_hashing(r);
	}
	rc = p4r_hasher_final(h, out);
	if (rc == 0 && before.st_ino && (fstat(fd, st) < 0 || !same_stat(&before, st)))
		memset(st, 0, sizeof(*st));
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

static void on_chunks_finding(const char *oid, const char *rel, const char *message, void *payload)
{
	if (oid)
		add_problem(payload, "bad-chunk-list", oid, rel, NULL,
			    "p4reg gc removes it; p4reg computes it again from the object when it needs it",
			    "%s", message);
	else
		add_problem(payload, "stray-file", NULL, rel, NULL,
			    "p4reg never writes such an entry: move it out of .p4reg/chunks", "%s", message);
}

/* .p4reg/chunks/ab/cd/<oid>: the chunk lists of objects (a cache gc
 * cleans); a damaged one and anything p4reg does not write are reported. */
static int check_chunks(struct run *r)
{
	int fd = open_store_folder(r, P4R_CHUNKS_DIR), rc;

	if (fd < 0)
		return 0;
	rc = p4r_chunks_check(p4r_repo_store(r->repo), fd, on_chunks_finding, r);
	close(fd);
	return rc;
}

/* What fsck learnt about one object, for the object guard's tables. */
struct verdict {
	p4r_oid oid;
	struct stat st;     /* whole: its stat while hashed (st_ino 0: it moved) */
	bool damaged;       /* corrupt and quarantined */
	p4r_oid got;
	char quarantine[P4R_QUARANTINE_MAX];
};

/* Whether everything in the store is on the disk now: one syncfs of its
 * file system (sync where the kernel has none). */
static bool objects_synced(struct run *r)
{
	char objects[PATH_MAX];
	bool ok;
	int fd;

	snprintf(objects, sizeof(objects), "%s/objects", p4r_repo_meta(r->repo));
	if ((fd = open(objects, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return false;
	ok = syncfs(fd) == 0;
	if (!ok && errno == ENOSYS) {
		sync();
		ok = true;
	}
	close(fd);
	return ok;
}

/* Writes the verdicts in one transaction: fingerprints of whole objects,
 * damage marks of quarantined ones, and "repaired" for a marked object
 * found whole again. Nothing without a writable registry; a failure here
 * only costs a re-hash later, so it is not a finding. */
static void record_verdicts(struct run *r, const struct verdict *v, size_t n)
{
	p4r_registry *reg = p4r_repo_registry(r->repo);
	p4r_damage *marks = NULL, d;
	size_t nmarks = 0, i, j;
	p4r_stat_key key;
	bool durable;
	int rc;

	if (!reg || p4r_registry_readonly(reg) || n == 0)
		return;
	/* a fingerprint says "durable and whole" (objguard.h), and a batch add
	 * running meanwhile may have named an object not synced yet: one sync
	 * first, or no fingerprint at all (they only save re-hashes) */
	durable = objects_synced(r);
	if ((rc = p4r_registry_damage_list(reg, &marks, &nmarks)) < 0 ||
	    (rc = p4r_registry_begin(reg)) < 0)
		goto done;
	for (i = 0; i < n && rc == 0; i++) {
		if (v[i].damaged) {
			memset(&d, 0, sizeof(d));
			d.oid = v[i].oid;
			d.got = v[i].got;
			snprintf(d.quarantine, sizeof(d.quarantine), "%s", v[i].quarantine);
			if ((rc = p4r_registry_objstat_drop(reg, &v[i].oid)) == 0)
				rc = p4r_registry_damage_mark(reg, &d);
			continue;
		}
		if (v[i].st.st_ino && durable) {
			p4r_worktree_stat_key(&v[i].st, &key);
			rc = p4r_registry_objstat_put(reg, &v[i].oid, &key);
		}
		for (j = 0; j < nmarks && rc == 0; j++)
			if (p4r_oid_equal(&marks[j].oid, &v[i].oid))
				rc = p4r_registry_damage_repaired(reg, &v[i].oid,
								  "fsck found its bytes whole again", NULL);
	}
	if (rc == 0)
		rc = p4r_registry_commit(reg);
	else
		p4r_registry_abort(reg);
done:
	if (rc < 0)
		p4r_error_clear();
	free(marks);
}

static int oid_cmp(const void *a, const void *b)
{
	return strcmp(((const p4r_oid *)a)->hex, ((const p4r_oid *)b)->hex);
}

/* OID is a torn leftover of a crashed batch (publish.h): no live version
 * references it and the guard never vouched for it (a fingerprint is
 * recorded only once an object is durable), so nothing was lost -- the
 * add that stored it never committed, and stores it again when rerun. */
static bool torn_leftover(struct run *r, const p4r_oid *oid)
{
	p4r_registry *reg = p4r_repo_registry(r->repo);
	p4r_stat_key key;
	bool found = true;

	if (!reg || !r->refs_known ||
	    (r->nrefs && bsearch(oid, r->refs, r->nrefs, sizeof(*oid), oid_cmp)))
		return false;
	if (p4r_registry_objstat_get(reg, oid, &key, &found) < 0) {
		p4r_error_clear();
		return false;
	}
	return !found;
}

/* Moves the corrupt object F (its bytes hash to GOT) to the quarantine,
 * recording the move in V, and reports it. False when it could not be
 * moved: that is reported as a problem too, and fsck goes on; false as
 * well for a torn leftover (a note, nothing recorded). */
static bool quarantine_corrupt(struct run *r, const struct found *f, const p4r_oid *got,
			       struct verdict *v)
{
	const char *name;
	char *dest = NULL;

	if (p4r_fsck_quarantine(p4r_repo_meta(r->repo), f->path, &f->oid, &dest) < 0) {
		add_problem(r, "corrupt-object", f->oid.hex, f->rel, NULL,
			    "remove it by hand, then restore it with p4reg fetch or by adding the original file again",
			    "object %s is corrupt (its bytes hash to %s) and could not be quarantined: %s",
			    f->oid.hex, got->hex, p4r_error_message());
		return false;
	}
	r->rep->quarantined++;
	if (torn_leftover(r, &f->oid)) {
		/* no damage mark either: no version waits for these bytes */
		add_note(r, "torn-object", f->oid.hex, NULL, "nothing to do: an add stores it again when rerun",
			 "object %s was never completed (a crash inside an add; no version references it); "
			 "moved to '%s'", f->oid.hex, rel_to_root(r->repo, dest));
		free(dest);
		return false;
	}
	v->damaged = true;
	v->got = *got;
	name = strrchr(dest, '/');
	snprintf(v->quarantine, sizeof(v->quarantine), P4R_META_DIR "/quarantine/%s",
		 name ? name + 1 : dest);
	add_problem(r, "corrupt-object", f->oid.hex, f->rel, NULL,
		    "moved to .p4reg/quarantine/; restore it with p4reg fsck --repair (needs a remote), p4reg fetch, or by adding the original file again",
		    "object %s is corrupt: its bytes hash to %s; moved to '%s'",
		    f->oid.hex, got->hex, rel_to_root(r->repo, dest));
	free(dest);
	return true;
}

/* Hashes the object F into the verdict V. *KEEP is set when V is worth
 * recording: F was still there, and is whole or now quarantined. */
static int check_object(struct run *r, const struct found *f, struct verdict *v, bool *keep)
{
	p4r_oid got;
	bool gone;
	int rc;

	*keep = false;
	if ((rc = hash_object(r, f->path, &got, &gone, &v->st)) < 0 || gone)
		return rc;
	r->rep->objects_checked++;
	r->rep->bytes_checked += f->size;
	v->oid = f->oid;
	if (p4r_oid_equal(&got, &f->oid))
		*keep = true;
	else
		*keep = quarantine_corrupt(r, f, &got, v);
	return rc;
}

static int check_objects(struct run *r)
{
	const char *meta = p4r_repo_meta(r->repo);
	struct scan s = { 0 };
	struct verdict *verdicts = NULL;
	char objects[PATH_MAX];
	size_t i, nv = 0;
	bool keep;
	int fd, rc = 0;

	snprintf(objects, sizeof(objects), "%s/objects", meta);
	/* a link in its place is reported, never walked */
	if ((fd = open_store_folder(r, "objects")) < 0)
		goto done;
	close(fd);
	if ((rc = scan_level(r, &s, objects, ".p4reg/objects", 0, "")) < 0)
		goto done;
	r->total = s.bytes;
	r->nobjects = s.n;
	if (s.n && !(verdicts = calloc(s.n, sizeof(*verdicts)))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	/* a verdict not kept is overwritten by the next object's */
	for (i = 0; i < s.n; i++) {
		if ((rc = check_object(r, &s.v[i], &verdicts[nv], &keep)) < 0)
			goto done;
		nv += keep;
		r->objects++;
		report_hashing(r);
	}
	record_verdicts(r, verdicts, nv);
done:
	free(verdicts);
	scan_free(&s);
	return rc;
}

/* ---- versions -> objects ---- */

/* The remote that vouches for objects missing here: OPTS->remote, or the
 * default one opened on first use. NULL when there is none (R->no_remote
 * says why) or it cannot be opened (the report's remote_error says why). */
static p4r_remote *get_remote(struct run *r)
{
	int rc;

	if (r->remote || r->remote_tried)
		return r->remote;
	r->remote_tried = true;
	rc = p4r_remote_open(&r->remote, p4r_repo_config(r->repo), p4r_repo_meta(r->repo), NULL);
	if (rc == P4R_ENOTFOUND)
		snprintf(r->no_remote, sizeof(r->no_remote), "%s", p4r_error_message());
	else if (rc < 0 && !(r->rep->remote_error = strdup(p4r_error_message())))
		r->oom = 1;
	r->own_remote = rc == 0;
	return r->remote;
}

/* Why the remote could not help, for a message ("" when it was asked). */
static const char *remote_unavailable(const struct run *r)
{
	return r->rep->remote_error ? r->rep->remote_error : r->no_remote;
}

/* The bytes a repair downloads, to OPTS's callback (serialised by the
 * transfer). */
static void repair_progress(uint64_t done, uint64_t total, void *payload)
{
	const struct run *r = payload;
	p4r_progress p = { .label = "repair", .has_bytes = true, .bytes = done, .bytes_total = total };

	if (r->opts && r->opts->count)
		r->opts->count(&p, r->opts->payload);
}

/* Fetches the N objects in MISSING (sizes SIZES) from the remote; those
 * that arrive are verified by the download. *WHY gets the reason when
 * nothing could be fetched ("" otherwise). */
static void repair_objects(struct run *r, const p4r_oid *missing, const int64_t *sizes, size_t n,
			   char *why, size_t whysz)
{
	p4r_remote *remote = get_remote(r);
	p4r_sync_progress prog = { repair_progress, r };
	p4r_sync_result res;

	why[0] = '\0';
	memset(&res, 0, sizeof(res));
	if (!remote) {
		snprintf(why, whysz, "%s", remote_unavailable(r));
		return;
	}
	if (p4r_sync_fetch_objects(r->repo, remote, missing, sizes, n, &prog, &res) < 0)
		snprintf(why, whysz, "%s", p4r_error_message());
	p4r_sync_result_clear(&res);
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
		finding_free(p);
		memmove(p, p + 1, (rep->nproblems - i - 1) * sizeof(*p));
		rep->nproblems--;
		i--;
	}
}

/* OID was fetched again by --repair (verified on the way in): its
 * fingerprint is recorded, and a damage mark says it is repaired. */
static void came_back(struct run *r, const p4r_oid *oid)
{
	p4r_registry *reg = p4r_repo_registry(r->repo);
	char from[192];

	if (!reg || p4r_registry_readonly(reg))
		return;
	snprintf(from, sizeof(from), "remote '%s'", r->remote ? r->remote->name : "?");
	if (p4r_objguard_downloaded(r->repo, oid, 1) < 0 ||
	    p4r_registry_damage_repaired(reg, oid, from, NULL) < 0)
		p4r_error_clear();
}

/* --repair: fetches the objects not in the store (LOCAL[i] false), marks
 * those that arrived local and counts them. *WHY as repair_objects. */
static void repair(struct run *r, const p4r_oid *refs, const int64_t *sizes, size_t nrefs,
		   bool *local, char *why, size_t whysz)
{
	p4r_store *store = p4r_repo_store(r->repo);
	p4r_oid *missing = malloc(nrefs * sizeof(*missing));
	int64_t *msizes = malloc(nrefs * sizeof(*msizes));
	size_t i, n = 0;

	if (!missing || !msizes) {
		r->oom = 1;
		goto done;
	}
	for (i = 0; i < nrefs; i++) {
		if (local[i])
			continue;
		missing[n] = refs[i];
		msizes[n++] = sizes ? sizes[i] : 0;
	}
	if (n)
		repair_objects(r, missing, msizes, n, why, whysz);
	for (i = 0; i < nrefs; i++) {
		if (local[i] || !p4r_store_has(store, &refs[i]))
			continue;
		local[i] = true;
		r->rep->repaired++;
		drop_corrupt(r->rep, &refs[i]);
		came_back(r, &refs[i]);
	}
done:
	free(missing);
	free(msizes);
}

/* Asks the remote for the presence and size of the objects it must vouch
 * for: every one with --remote, else those not in the store. OUT[i] gets
 * the answer for REFS[i] (asked false when it was not asked). */
static void ask_remote(struct run *r, const p4r_oid *refs, size_t nrefs, const bool *local,
		       p4r_sync_stat *out)
{
	bool all = r->opts && r->opts->check_remote;
	p4r_oid *ask = NULL;
	p4r_sync_stat *got = NULL;
	p4r_remote *remote;
	size_t i, j, n = 0;
	int rc;

	for (i = 0; i < nrefs; i++)
		n += all || !local[i];
	if (n == 0 || (r->opts && (r->opts->offline || (r->opts->repair && !all))) ||
	    !(remote = get_remote(r)))
		return;
	if (!(ask = malloc(n * sizeof(*ask))) || !(got = malloc(n * sizeof(*got))) ||
	    !(r->rep->remote = strdup(remote->name))) {
		r->oom = 1;
		goto done;
	}
	for (i = 0, j = 0; i < nrefs; i++)
		if (all || !local[i])
			ask[j++] = refs[i];
	rc = p4r_sync_stat_objects(remote, ask, n, got);
	for (i = 0, j = 0; i < nrefs; i++) {
		if (!all && local[i])
			continue;
		out[i] = got[j++];
		r->rep->remote_checked += out[i].asked;
	}
	/* a remote whose layout is broken (a symlinked folder) is a finding; one
	 * that cannot be reached leaves the rest unchecked */
	if (rc == P4R_EINTEGRITY)
		add_problem(r, "remote-corrupt", NULL, NULL, NULL,
			    "repair the remote by hand as the message says, then run p4reg fsck --remote",
			    "%s", p4r_error_message());
	else if (rc < 0 && !(r->rep->remote_error = strdup(p4r_error_message())))
		r->oom = 1;
done:
	free(ask);
	free(got);
}

/* Appends a copy of S to the malloc'd array *V of *N strings. */
static int users_add(char ***v, size_t *n, const char *s)
{
	char **p = realloc(*v, (*n + 1) * sizeof(*p));

	if (!p)
		return -1;
	*v = p;
	if (!(p[*n] = xstrdup(s)))
		return -1;
	(*n)++;
	return 0;
}

/* The versions that use OID ("emb@1, emb@2", "minilm@2 file 'x.bin'") into LIST, the first one into
 * REF and its model into MODEL; all "" when the registry cannot say. */
static void oid_users(struct run *r, const p4r_oid *oid, char *list, size_t listsz,
		      char *ref, size_t refsz, char *model, size_t modelsz)
{
	char **users = NULL;
	size_t nusers = 0, j, len = 0;

	list[0] = ref[0] = model[0] = '\0';
	if (p4r_registry_oid_users(p4r_repo_registry(r->repo), oid, USERS_SHOWN + 1, &users, &nusers) < 0)
		return;
	for (j = 0; j < r->ndf && nusers <= USERS_SHOWN; j++)
		if (p4r_oid_equal(&r->df[j].oid, oid) &&
		    users_add(&users, &nusers, r->df[j].who) < 0)
			break;
	for (j = 0; j < nusers && j < USERS_SHOWN && len < listsz; j++)
		len += (size_t)snprintf(list + len, listsz - len, "%s%s", j ? ", " : "", users[j]);
	if (nusers > USERS_SHOWN && len < listsz)
		snprintf(list + len, listsz - len, ", ...");
	if (nusers > 0) {
		const char *at = strchr(users[0], '@');

		/* REF: "minilm@2 file 'x'" names the version minilm@2 */
		snprintf(ref, refsz, "%.*s", (int)strcspn(users[0], " "), users[0]);
		snprintf(model, modelsz, "%.*s", (int)(at ? (size_t)(at - users[0]) : strlen(users[0])), users[0]);
	}
	p4r_strv_free(users, nusers);
}

/* One object that is in the store: what the remote said about it (--remote). */
static void judge_local(struct run *r, const p4r_oid *oid, uint64_t want, const p4r_sync_stat *st,
			const char *list, const char *model)
{
	char key[128], fix[512];

	if (!st->asked)
		return;
	p4r_remote_object_key(key, sizeof(key), oid);
	if (!st->exists) {
		add_note(r, "not-on-remote", oid->hex, model, "p4reg push uploads it",
			 "object %s of %s is not on remote '%s'", oid->hex, list, r->rep->remote);
		return;
	}
	if (st->size == want)
		return;
	snprintf(fix, sizeof(fix), "remove '%s' from remote '%s', then run p4reg push here (the local copy is whole)",
		 key, r->rep->remote);
	add_problem(r, "remote-corrupt", oid->hex, NULL, model, fix,
		    "object %s of %s on remote '%s' has %llu bytes, but its version records %llu",
		    oid->hex, list, r->rep->remote, (unsigned long long)st->size, (unsigned long long)want);
}

/* One object that is not in the store: downloaded later, or lost. */
static void judge_missing(struct run *r, const p4r_oid *oid, uint64_t want, const p4r_sync_stat *st,
			  const char *list, const char *ref, const char *model, const char *why)
{
	char key[128], fix[768];
	const char *remote = r->rep->remote, *none = remote_unavailable(r);

	p4r_remote_object_key(key, sizeof(key), oid);
	if (r->opts && r->opts->repair) {
		snprintf(fix, sizeof(fix), "%s%s%sadd the original file again (p4reg add PATH) to restore it",
			 why[0] ? "could not fetch it (" : "no remote had it; ", why, why[0] ? "); " : "");
		add_problem(r, "missing-object", oid->hex, NULL, model, fix,
			    "object %s of %s is missing from the store", oid->hex, list);
	} else if (r->opts && r->opts->offline) {
		snprintf(fix, sizeof(fix), "p4reg pull %s fetches it once the remote can be reached", ref);
		add_note(r, "not-checked", oid->hex, model, fix,
			 "object %s of %s is not downloaded (not checked: offline)", oid->hex, list);
	} else if (!st->asked && (remote || r->rep->remote_error)) {
		/* the remote failed before it answered for this one: unknown, not lost */
		snprintf(fix, sizeof(fix), "p4reg pull %s fetches it once the remote can be reached", ref);
		add_note(r, "not-checked", oid->hex, model, fix,
			 "object %s of %s is not downloaded (not checked: remote%s%s%s could not be asked)",
			 oid->hex, list, remote ? " '" : "", remote ? remote : "", remote ? "'" : "");
	} else if (!st->asked) {
		snprintf(fix, sizeof(fix), "add the remote that has it (p4reg remote add NAME URL), then p4reg pull %s;"
			 " or add the original file again (p4reg add PATH)", ref);
		add_problem(r, "missing-object", oid->hex, NULL, model, fix,
			    "object %s of %s is missing from the store, and no remote was asked (%s)",
			    oid->hex, list, none);
	} else if (!st->exists) {
		snprintf(fix, sizeof(fix), "push it from the machine that has it (p4reg push there), then p4reg pull %s"
			 " here; or add the original file again (p4reg add PATH)", ref);
		add_problem(r, "missing-object", oid->hex, NULL, model, fix,
			    "object %s of %s is missing from the store and from remote '%s'", oid->hex, list, remote);
	} else if (st->size != want) {
		snprintf(fix, sizeof(fix), "remove '%s' from remote '%s', then push a good copy from the machine that"
			 " has it (p4reg push there); or add the original file again (p4reg add PATH)", key, remote);
		add_problem(r, "remote-corrupt", oid->hex, NULL, model, fix,
			    "object %s of %s is missing from the store, and remote '%s' has it with %llu bytes, "
			    "not the %llu its version records", oid->hex, list, remote,
			    (unsigned long long)st->size, (unsigned long long)want);
	} else {
		snprintf(fix, sizeof(fix), "p4reg pull %s downloads it", ref);
		add_note(r, "not-downloaded", oid->hex, model, fix,
			 "object %s of %s is not downloaded; remote '%s' has it", oid->hex, list, remote);
	}
}

/* One object not in the store that a command (or this fsck) found damaged
 * and quarantined (mark D): a problem until it is repaired, whatever the
 * remote holds; the fix says where the good bytes are. */
static void judge_damaged(struct run *r, const p4r_damage *d, uint64_t want,
			  const p4r_sync_stat *st, const char *list, const char *ref,
			  const char *model, const char *why)
{
	const char *oid = d->oid.hex, *remote = r->rep->remote;
	char fix[768], how[PATH_MAX + 64] = "", moved[P4R_QUARANTINE_MAX + 32] = "";

	if (d->work[0])
		snprintf(how, sizeof(how), "; '%s' wrote into it through a hard link", d->work);
	if (d->quarantine[0])
		snprintf(moved, sizeof(moved), "; the bad copy is in '%s'", d->quarantine);
	if (r->opts && r->opts->repair)
		snprintf(fix, sizeof(fix), "%s%s%sadd the original file again (p4reg add PATH) to restore it",
			 why[0] ? "could not fetch it (" : "no remote had it; ", why, why[0] ? "); " : "");
	else if (r->opts && r->opts->offline)
		snprintf(fix, sizeof(fix), "p4reg fsck --repair fetches it once a remote can be reached; "
			 "or add the original file again (p4reg add PATH)");
	else if (st->asked && st->exists && st->size == want)
		snprintf(fix, sizeof(fix), "p4reg fsck --repair (or p4reg pull %s) fetches it from remote '%s'",
			 ref, remote);
	else if (st->asked)
		snprintf(fix, sizeof(fix), "remote '%s' has no good copy; add the original file again "
			 "(p4reg add PATH) to restore it", remote);
	else
		snprintf(fix, sizeof(fix), "no remote was asked (%s); add the remote that has it (p4reg remote "
			 "add NAME URL) and run p4reg fsck --repair, or add the original file again "
			 "(p4reg add PATH)", remote_unavailable(r)[0] ? remote_unavailable(r) : "none");
	add_problem(r, "damaged-object", oid, NULL, model, fix,
		    "object %s of %s is damaged: its bytes changed in place (they hashed to %s)%s%s",
		    oid, list, d->got.hex, how, moved);
}

static const p4r_damage *find_mark(const p4r_damage *marks, size_t n, const p4r_oid *oid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p4r_oid_equal(&marks[i].oid, oid))
			return &marks[i];
	return NULL;
}

static void check_references(struct run *r, const p4r_oid *refs, const int64_t *sizes,
			     size_t nrefs)
{
	p4r_registry *reg = p4r_repo_registry(r->repo);
	p4r_damage *marks = NULL;
	const p4r_damage *mark;
	size_t nmarks = 0;
	p4r_store *store = p4r_repo_store(r->repo);
	p4r_sync_stat *st = NULL;
	bool *local = NULL;
	char list[512], ref[P4R_MODEL_NAME_MAX + 32], model[P4R_MODEL_NAME_MAX + 1], why[512] = "";
	size_t i;

	r->rep->versions_checked = nrefs;
	if (nrefs == 0)
		return;
	if (!(local = calloc(nrefs, sizeof(*local))) || !(st = calloc(nrefs, sizeof(*st)))) {
		r->oom = 1;
		goto done;
	}
	for (i = 0; i < nrefs; i++)
		local[i] = p4r_store_has(store, &refs[i]);
	if (reg && p4r_registry_damage_list(reg, &marks, &nmarks) < 0) {
		on_integrity(p4r_error_message(), r);
		nmarks = 0;
	}
	if (r->opts && r->opts->repair)
		repair(r, refs, sizes, nrefs, local, why, sizeof(why));
	ask_remote(r, refs, nrefs, local, st);
	for (i = 0; i < nrefs; i++) {
		uint64_t want = sizes && sizes[i] > 0 ? (uint64_t)sizes[i] : 0;

		if (local[i] && !st[i].asked)
			continue;
		oid_users(r, &refs[i], list, sizeof(list), ref, sizeof(ref), model, sizeof(model));
		if (!list[0])
			snprintf(list, sizeof(list), "a version");
		if (!ref[0])
			snprintf(ref, sizeof(ref), "MODEL@N");
		if (local[i])
			judge_local(r, &refs[i], want, &st[i], list, model[0] ? model : NULL);
		else if ((mark = find_mark(marks, nmarks, &refs[i])))
			judge_damaged(r, mark, want, &st[i], list, ref, model[0] ? model : NULL, why);
		else
			judge_missing(r, &refs[i], want, &st[i], list, ref, model[0] ? model : NULL, why);
	}
done:
	free(marks);
	free(local);
	free(st);
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
		rc = p4r_registry_version_find(reg, ptr.model, ptr.version, &v);
		if (rc == 0 && v.deleted_ms) {
			/* p4reg rm leaves the file and its pointer: a fact, not damage */
			add_note(r, "deleted-version", NULL, ptr.model,
				 "p4reg checkout MODEL puts a live version there",
				 "'%s' names %s@%lld, which was deleted (p4reg rm)", display, ptr.model,
				 (long long)ptr.version);
			p4r_version_clear(&v);
			continue;
		}
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
	struct run r = { .repo = repo, .rep = out, .opts = opts, .remote = opts ? opts->remote : NULL };
	p4r_oid *refs = NULL;
	int64_t *sizes = NULL;
	size_t nrefs = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	/* first: rows a folder version lost are rebuilt, so its files are
	 * among the referenced objects */
	check_manifests(&r);
	check_registry(&r, &refs, &sizes, &nrefs);
	/* objects first: a corrupt one is quarantined and then reported
	 * missing for the versions that need it */
	if ((rc = check_objects(&r)) < 0)
		goto done;
	check_tmp(&r);
	if ((rc = check_chunks(&r)) < 0)
		goto done;
	check_references(&r, refs, sizes, nrefs);
	check_pointers(&r);
	if (r.oom)
		rc = p4r_error_set(P4R_ERROR, "out of memory");
done:
	if (r.own_remote)
		p4r_remote_free(r.remote);
	dir_files_free(&r);
	free(refs);
	free(sizes);
	return rc;
}
