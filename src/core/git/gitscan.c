/* Git LFS pointers in git's history: what a push sends, what gc keeps,
 * what an import registers (see gitscan.h). */
#include "p4reg/gitscan.h"
#include "git/gitio_priv.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/lfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- a set of git object ids (open addressing; ids are random) ---- */

struct oidset {
	git_oid *slot; /* the zero id marks a free slot: no object has it */
	size_t n, cap;
};

static size_t oid_hash(const git_oid *id)
{
	size_t h;

	memcpy(&h, id->id, sizeof(h));
	return h;
}

static bool oid_zero(const git_oid *id)
{
	static const git_oid zero;

	return !memcmp(id, &zero, sizeof(zero));
}

static int oidset_grow(struct oidset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 1024, i, j;
	git_oid *slot = calloc(cap, sizeof(*slot));

	if (!slot)
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < s->cap; i++) {
		if (oid_zero(&s->slot[i]))
			continue;
		for (j = oid_hash(&s->slot[i]) & (cap - 1); !oid_zero(&slot[j]); j = (j + 1) & (cap - 1))
			;
		slot[j] = s->slot[i];
	}
	free(s->slot);
	s->slot = slot;
	s->cap = cap;
	return 0;
}

/* Adds ID: *ADDED false when it was there already. */
static int oidset_add(struct oidset *s, const git_oid *id, bool *added)
{
	size_t j;
	int rc;

	*added = false;
	if ((s->n + 1) * 2 > s->cap && (rc = oidset_grow(s)) < 0)
		return rc;
	for (j = oid_hash(id) & (s->cap - 1); !oid_zero(&s->slot[j]); j = (j + 1) & (s->cap - 1))
		if (!memcmp(&s->slot[j], id, sizeof(*id)))
			return 0;
	s->slot[j] = *id;
	s->n++;
	*added = true;
	return 0;
}

static void oidset_free(struct oidset *s)
{
	free(s->slot);
	memset(s, 0, sizeof(*s));
}

/* ---- pointer blobs ---- */

/* Decodes blob ID as a Git LFS pointer: *IS false when it is none (too
 * large, or not the format; or absent and MISSING_OK). Only the header is
 * read for a large blob. */
static int read_pointer(git_repository *repo, git_odb *odb, const git_oid *id, bool missing_ok,
			p4r_lfs_pointer *p, bool *is)
{
	git_object_t type;
	git_blob *blob = NULL;
	size_t len = 0;
	int e;

	*is = false;
	if ((e = git_odb_read_header(&len, &type, odb, id)) < 0) {
		char hex[GIT_OID_HEXSZ + 1];

		if (e == GIT_ENOTFOUND && missing_ok) {
			git_error_clear();
			return 0;
		}
		git_oid_tostr(hex, sizeof(hex), id);
		return p4r_error_git(P4R_ERROR, "cannot read git object %s", hex);
	}
	if (type != GIT_OBJECT_BLOB || len > P4R_LFS_POINTER_MAX)
		return 0;
	if (git_blob_lookup(&blob, repo, id) < 0)
		return p4r_error_git(P4R_ERROR, "cannot read a git blob");
	*is = p4r_lfs_pointer_decode(p, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob)) == 0 &&
	      git_blob_rawsize(blob) > 0;
	p4r_error_clear();
	git_blob_free(blob);
	return 0;
}

void p4r_git_pointer_array_free(p4r_git_pointer *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i].path);
	free(v);
}

/* ---- what a push sends ---- */

static bool is_sha(const char *s, size_t len)
{
	size_t i;

	if (len != GIT_OID_HEXSZ)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool all_zeros(const char *s)
{
	return strspn(s, "0") == strlen(s);
}

int p4r_git_push_line_parse(p4r_git_push_update *out, const char *line)
{
	const char *f[4], *p = line;
	size_t len[4], i;

	for (i = 0; i < 4; i++) {
		f[i] = p;
		len[i] = strcspn(p, " ");
		p += len[i];
		if (len[i] == 0 || (i < 3 && *p != ' ') || (i == 3 && *p))
			goto bad;
		p++;
	}
	if (!is_sha(f[1], len[1]) || !is_sha(f[3], len[3]) || strcspn(line, "\t\r\n") != strlen(line))
		goto bad;
	memset(out, 0, sizeof(*out));
	memcpy(out->local_sha, f[1], GIT_OID_HEXSZ);
	memcpy(out->remote_sha, f[3], GIT_OID_HEXSZ);
	out->deletion = all_zeros(out->local_sha);
	out->new_ref = all_zeros(out->remote_sha);
	return 0;
bad:
	return p4r_error_set(P4R_EUSAGE, "malformed pre-push line '%.200s': expected '<local ref> <local "
			     "sha> <remote ref> <remote sha>'", line);
}

struct found {
	git_repository *repo;
	git_odb *odb;
	struct oidset seen;   /* blobs looked at */
	p4r_git_pointer *v;
	size_t n, cap;
};

static int found_add(struct found *f, const char *path, const p4r_lfs_pointer *p)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		void *grown = realloc(f->v, cap * sizeof(*f->v));

		if (!grown)
			return p4r_error_set(P4R_ERROR, "out of memory");
		f->v = grown;
		f->cap = cap;
	}
	memset(&f->v[f->n], 0, sizeof(f->v[f->n]));
	if (!(f->v[f->n].path = strdup(path)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	f->v[f->n].oid = p->oid;
	f->v[f->n].size = p->size;
	f->v[f->n].next = p->next;
	f->n++;
	return 0;
}

/* Whether one of the trees OTHERS[0..N) has blob ID at PATH. */
static bool in_other(git_tree *const *others, size_t n, const char *path, const git_oid *id)
{
	size_t i;

	for (i = 0; i < n; i++) {
		git_tree_entry *e = NULL;
		bool same = git_tree_entry_bypath(&e, others[i], path) == 0 && git_oid_equal(git_tree_entry_id(e), id);

		git_tree_entry_free(e);
		git_error_clear();
		if (same)
			return true;
	}
	return false;
}

/* Calls FN for each blob NEW adds or changes against OLD (nullable: all
 * of them) at a path where none of the merge's other parents OTHERS has
 * it (a merge brings nothing new that one of its parents had). WHAT names
 * the commit in messages. */
typedef int (*new_blob_fn)(const char *path, const git_oid *id, void *payload);
static int diff_new_blobs(git_repository *repo, git_tree *old, git_tree *new, git_tree *const *others,
			  size_t nothers, const char *what, new_blob_fn fn, void *payload)
{
	git_diff_options opts;
	git_diff *diff = NULL;
	size_t i;
	int rc = 0;

	git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
	opts.flags = GIT_DIFF_SKIP_BINARY_CHECK | GIT_DIFF_IGNORE_SUBMODULES;
	if (git_diff_tree_to_tree(&diff, repo, old, new, &opts) < 0)
		return p4r_error_git(P4R_ERROR, "cannot compare %s with its parent", what);
	for (i = 0; rc == 0 && i < git_diff_num_deltas(diff); i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);

		if ((d->status != GIT_DELTA_ADDED && d->status != GIT_DELTA_MODIFIED &&
		     d->status != GIT_DELTA_TYPECHANGE) ||
		    (d->new_file.mode != GIT_FILEMODE_BLOB && d->new_file.mode != GIT_FILEMODE_BLOB_EXECUTABLE) ||
		    in_other(others, nothers, d->new_file.path, &d->new_file.id))
			continue;
		rc = fn(d->new_file.path, &d->new_file.id, payload);
	}
	git_diff_free(diff);
	return rc;
}

/* Calls FN for each blob commit C brings: against its first parent, less
 * what its other parents had, reading NPARENTS of them (0: every blob, as
 * for a root commit; 1: the first parent alone). WHAT names C in messages. */
static int each_new_blob(git_repository *repo, git_commit *c, unsigned int nparents, const char *what,
			 new_blob_fn fn, void *payload)
{
	git_tree *tree = NULL, **ptrees = NULL;
	unsigned int i;
	int rc = 0;

	if (git_commit_tree(&tree, c) < 0)
		return p4r_error_git(P4R_ERROR, "cannot read %s", what);
	if (nparents && !(ptrees = calloc(nparents, sizeof(*ptrees)))) {
		git_tree_free(tree);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	for (i = 0; i < nparents && rc == 0; i++) {
		git_commit *parent = NULL;

		if (git_commit_parent(&parent, c, i) < 0 || git_commit_tree(&ptrees[i], parent) < 0)
			rc = p4r_error_git(P4R_ERROR, "cannot read a parent of %s", what);
		git_commit_free(parent);
	}
	if (rc == 0)
		rc = diff_new_blobs(repo, nparents ? ptrees[0] : NULL, tree, nparents ? ptrees + 1 : NULL,
				    nparents ? nparents - 1 : 0, what, fn, payload);
	for (i = 0; i < nparents; i++)
		git_tree_free(ptrees[i]);
	free(ptrees);
	git_tree_free(tree);
	return rc;
}

/* A blob a pushed commit brings: a pointer, the first time it is seen. */
static int scan_blob(const char *path, const git_oid *id, void *payload)
{
	struct found *f = payload;
	p4r_lfs_pointer p;
	bool added, is;
	int rc;

	if ((rc = oidset_add(&f->seen, id, &added)) < 0 || !added)
		return rc;
	if ((rc = read_pointer(f->repo, f->odb, id, false, &p, &is)) == 0 && is)
		rc = found_add(f, path, &p);
	return rc;
}

/* The blobs commit ID brings: against its first parent, less what its
 * other parents had (all of them for a root commit). */
static int scan_commit(struct found *f, const git_oid *id)
{
	git_commit *c = NULL;
	int rc;

	if (git_commit_lookup(&c, f->repo, id) < 0)
		return p4r_error_git(P4R_ERROR, "cannot read a pushed commit");
	rc = each_new_blob(f->repo, c, git_commit_parentcount(c), "a pushed commit", scan_blob, f);
	git_commit_free(c);
	return rc;
}

int p4r_git_pushed_pointers(p4r_git *git, const char *remote, const p4r_git_push_update *u, size_t n,
			    p4r_git_pointer **out, size_t *nout)
{
	struct found f = { .repo = git->repo };
	git_revwalk *walk = NULL;
	git_oid id;
	size_t i;
	int rc = 0, valid = 0, e;

	*out = NULL;
	*nout = 0;
	if (git_repository_odb(&f.odb, git->repo) < 0 || git_revwalk_new(&walk, git->repo) < 0) {
		rc = p4r_error_git(P4R_ERROR, "cannot read the git repository");
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (u[i].deletion)
			continue;
		if (git_oid_fromstr(&id, u[i].local_sha) < 0 || git_revwalk_push(walk, &id) < 0) {
			rc = p4r_error_git(P4R_ERROR, "cannot read commit %s being pushed", u[i].local_sha);
			goto done;
		}
	}
	/* what the remote has: its shas this repository knows, and its
	 * remote-tracking refs (git rev-list --ignore-missing --not --remotes=R) */
	for (i = 0; i < n; i++)
		if (!u[i].new_ref && git_oid_fromstr(&id, u[i].remote_sha) == 0 &&
		    git_odb_exists(f.odb, &id) && git_revwalk_hide(walk, &id) < 0)
			git_error_clear();
	if (remote && git_remote_name_is_valid(&valid, remote) == 0 && valid) {
		char glob[256];

		if ((size_t)snprintf(glob, sizeof(glob), "refs/remotes/%s/*", remote) < sizeof(glob) &&
		    git_revwalk_hide_glob(walk, glob) < 0)
			git_error_clear();
	}
	while (rc == 0 && (e = git_revwalk_next(&id, walk)) == 0)
		rc = scan_commit(&f, &id);
	if (rc == 0 && e != GIT_ITEROVER)
		rc = p4r_error_git(P4R_ERROR, "cannot walk the commits being pushed");
	if (rc == 0) {
		*out = f.v;
		*nout = f.n;
		f.v = NULL;
		f.n = 0;
	}
done:
	git_error_clear();
	p4r_git_pointer_array_free(f.v, f.n);
	oidset_free(&f.seen);
	git_revwalk_free(walk);
	git_odb_free(f.odb);
	return rc;
}

/* ---- what gc keeps ---- */

struct reach {
	git_repository *repo;
	git_odb *odb;
	struct oidset trees, blobs;
	p4r_oid *v;
	size_t n, cap;
};

static int reach_blob(struct reach *r, const git_oid *id)
{
	p4r_lfs_pointer p;
	bool added, is;
	int rc;

	/* a blob this repository lacks (a partial clone's) was never smudged
	 * or cleaned here, so no object is git's alone through it */
	if ((rc = oidset_add(&r->blobs, id, &added)) < 0 || !added ||
	    (rc = read_pointer(r->repo, r->odb, id, true, &p, &is)) < 0 || !is)
		return rc;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		void *grown = realloc(r->v, cap * sizeof(*r->v));

		if (!grown)
			return p4r_error_set(P4R_ERROR, "out of memory");
		r->v = grown;
		r->cap = cap;
	}
	r->v[r->n++] = p.oid;
	return 0;
}

/* Every pointer below tree ID; a tree already seen is skipped whole, so
 * each distinct tree of the history is read once. */
static int reach_tree(struct reach *r, const git_oid *id, int depth)
{
	git_tree *tree = NULL;
	size_t i;
	bool added;
	int rc;

	if ((rc = oidset_add(&r->trees, id, &added)) < 0 || !added)
		return rc;
	if (depth > 4096)
		return p4r_error_set(P4R_ERROR, "a git tree is nested deeper than any path");
	if ((rc = git_tree_lookup(&tree, r->repo, id)) < 0) {
		if (rc == GIT_ENOTFOUND) { /* as a missing blob: nothing of ours below */
			git_error_clear();
			return 0;
		}
		return p4r_error_git(P4R_ERROR, "cannot read a git tree");
	}
	for (i = 0; rc == 0 && i < git_tree_entrycount(tree); i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		git_filemode_t mode = git_tree_entry_filemode(e);

		if (mode == GIT_FILEMODE_TREE)
			rc = reach_tree(r, git_tree_entry_id(e), depth + 1);
		else if (mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE)
			rc = reach_blob(r, git_tree_entry_id(e));
	}
	git_tree_free(tree);
	return rc;
}

/* Pushes every ref's commit onto WALK; a ref naming a tree is scanned. */
static int push_refs(struct reach *r, git_revwalk *walk)
{
	git_reference_iterator *it = NULL;
	git_reference *ref;
	int rc = 0, e;

	if (git_revwalk_push_head(walk) < 0)
		git_error_clear(); /* an unborn branch */
	if (git_reference_iterator_new(&it, r->repo) < 0)
		return p4r_error_git(P4R_ERROR, "cannot list the git references");
	while (rc == 0 && (e = git_reference_next(&ref, it)) == 0) {
		git_object *obj = NULL;

		if (git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) == 0) {
			if (git_revwalk_push(walk, git_object_id(obj)) < 0)
				rc = p4r_error_git(P4R_ERROR, "cannot walk '%s'", git_reference_name(ref));
		} else if (git_reference_peel(&obj, ref, GIT_OBJECT_TREE) == 0) {
			rc = reach_tree(r, git_object_id(obj), 0);
		}
		git_error_clear();
		git_object_free(obj);
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	return rc;
}

static int reach_all(struct reach *r)
{
	git_revwalk *walk = NULL;
	git_index *index = NULL;
	git_commit *c = NULL;
	git_oid id;
	size_t i;
	int rc = 0, e;

	if (git_repository_odb(&r->odb, r->repo) < 0 || git_revwalk_new(&walk, r->repo) < 0 ||
	    git_repository_index(&index, r->repo) < 0 || git_index_read(index, 0) < 0) {
		rc = p4r_error_git(P4R_ERROR, "cannot read the git repository");
		goto done;
	}
	for (i = 0; rc == 0 && i < git_index_entrycount(index); i++) {
		const git_index_entry *ie = git_index_get_byindex(index, i);

		if (ie && (ie->mode == GIT_FILEMODE_BLOB || ie->mode == GIT_FILEMODE_BLOB_EXECUTABLE))
			rc = reach_blob(r, &ie->id);
	}
	if (rc < 0 || (rc = push_refs(r, walk)) < 0)
		goto done;
	while (rc == 0 && (e = git_revwalk_next(&id, walk)) == 0) {
		if (git_commit_lookup(&c, r->repo, &id) < 0) {
			rc = p4r_error_git(P4R_ERROR, "cannot read a git commit");
			break;
		}
		rc = reach_tree(r, git_commit_tree_id(c), 0);
		git_commit_free(c);
	}
	if (rc == 0 && e != GIT_ITEROVER)
		rc = p4r_error_git(P4R_ERROR, "cannot walk the git history");
done:
	git_index_free(index);
	git_revwalk_free(walk);
	return rc;
}

/* Whether FOLDER/objects is a folder. */
static bool has_objects(const char *folder)
{
	char *objects = p4r_path_join(folder, "objects");
	struct stat st;
	bool yes = objects && stat(objects, &st) == 0 && S_ISDIR(st.st_mode);

	free(objects);
	return yes;
}

int p4r_git_lfs_referenced(const char *dir, p4r_oid **out, size_t *n)
{
	struct reach r = { 0 };
	const char *why = NULL;
	p4r_git *git = NULL;
	char *top = NULL, *lfs = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = p4r_git_open_why(&git, dir, &why)) < 0)
		return rc;
	if (!git) {
		/* a work tree libgit2 cannot read (an extension it lacks) */
		if ((top = p4r_git_find_toplevel(dir)) && (lfs = p4r_path_join(top, ".git/lfs")) && has_objects(lfs))
			rc = p4r_error_set(P4R_ERROR, "cannot tell which objects the Git LFS pointers of '%s' "
					   "need: %s", top, why ? why : "libgit2 cannot read it");
		goto done;
	}
	if (!(lfs = p4r_git_lfs_dir(git))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	/* only a filter (git-lfs's or p4reg's) or p4reg add writes Git LFS
	 * objects, and always there: without them no object is git's alone */
	if (!has_objects(lfs))
		goto done;
	r.repo = git->repo;
	if ((rc = reach_all(&r)) == 0) {
		*out = r.v;
		*n = r.n;
		r.v = NULL;
	}
done:
	free(r.v);
	oidset_free(&r.trees);
	oidset_free(&r.blobs);
	git_odb_free(r.odb); /* before the repository (and libgit2) goes */
	p4r_git_free(git);
	free(lfs);
	free(top);
	return rc;
}

/* ---- the Git LFS history of HEAD (import) ---- */

/* What a Git LFS pointer starts with (the v1 spec, or git-lfs's legacy
 * URL): a blob that does, but does not decode, is a damaged pointer, not
 * a file git keeps as it is. */
static bool starts_as_pointer(const char *buf, size_t len)
{
	static const char *const starts[] = { "version https://git-lfs.github.com/spec/",
					      "version https://hawser.github.com/spec/" };
	size_t i;

	for (i = 0; i < sizeof(starts) / sizeof(starts[0]); i++)
		if (len >= strlen(starts[i]) && !memcmp(buf, starts[i], strlen(starts[i])))
			return true;
	return false;
}

struct history {
	git_repository *repo;
	git_odb *odb;
	const p4r_git_lfs_walk *w;
	git_commit *commit;         /* the one being read */
	char commit_hex[GIT_OID_HEXSZ + 1];
	p4r_git_lfs_change *v;
	size_t n, cap;
};

void p4r_git_lfs_change_array_free(p4r_git_lfs_change *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++) {
		free(v[i].path);
		free(v[i].author);
		free(v[i].subject);
		free(v[i].refused);
	}
	free(v);
}

/* "Name <email>" of signature S, malloc'd. */
static char *signature_text(const git_signature *s)
{
	const char *name = s && s->name ? s->name : "", *email = s && s->email ? s->email : "";
	size_t sz = strlen(name) + strlen(email) + 4;
	char *out = malloc(sz);

	if (out)
		snprintf(out, sz, "%s <%s>", name, email);
	return out;
}

/* Appends the change of blob ID at PATH in the current commit: a pointer,
 * or one refused with WHY (nullable: a pointer). */
static int history_add(struct history *h, const char *path, const p4r_lfs_pointer *p, const char *why)
{
	const git_signature *sig = git_commit_author(h->commit);
	const char *subject = git_commit_summary(h->commit);
	p4r_git_lfs_change *c;

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		void *grown = realloc(h->v, cap * sizeof(*h->v));

		if (!grown)
			return p4r_error_set(P4R_ERROR, "out of memory");
		h->v = grown;
		h->cap = cap;
	}
	c = &h->v[h->n++];
	memset(c, 0, sizeof(*c));
	memcpy(c->commit, h->commit_hex, sizeof(c->commit));
	/* a date no event can hold is refused later, by the registry's check */
	if (sig && sig->when.time > INT64_MAX / 1000)
		c->time_ms = INT64_MAX;
	else if (sig && sig->when.time < INT64_MIN / 1000)
		c->time_ms = INT64_MIN;
	else
		c->time_ms = sig ? (int64_t)sig->when.time * 1000 : 0;
	c->pointer = why == NULL;
	if (p) {
		c->oid = p->oid;
		c->size = p->size;
	}
	if (!(c->path = strdup(path)) || !(c->author = signature_text(sig)) ||
	    !(c->subject = strdup(subject ? subject : "")) || (why && !(c->refused = strdup(why))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	return 0;
}

/* Blob ID at PATH: a change when it is a pointer or starts as one. */
static int history_blob(struct history *h, const char *path, const git_oid *id)
{
	git_object_t type;
	git_blob *blob = NULL;
	p4r_lfs_pointer p;
	const char *buf;
	size_t len = 0;
	int rc = 0;

	if (git_odb_read_header(&len, &type, h->odb, id) < 0)
		return p4r_error_git(P4R_ERROR, "cannot read the blob of '%s' in commit %s", path, h->commit_hex);
	if (type != GIT_OBJECT_BLOB)
		return 0;
	if (h->w->raw && len > h->w->raw_max) {
		p4r_error_set(P4R_EINTEGRITY, "larger than %zu bytes", h->w->raw_max);
		rc = history_add(h, path, NULL, p4r_error_message());
		p4r_error_clear();
		return rc == 0 ? h->w->each(&h->v[h->n - 1], h->n - 1, h->w->payload) : rc;
	}
	if (!h->w->raw && (len == 0 || len > P4R_LFS_POINTER_MAX))
		return 0;
	if (git_blob_lookup(&blob, h->repo, id) < 0)
		return p4r_error_git(P4R_ERROR, "cannot read the blob of '%s' in commit %s", path, h->commit_hex);
	buf = git_blob_rawcontent(blob);
	len = (size_t)git_blob_rawsize(blob);
	if (h->w->raw) {
		/* handed over while the blob is open, never kept: a history's
		 * blobs together may be far larger than memory */
		if ((rc = history_add(h, path, NULL, NULL)) == 0) {
			p4r_git_lfs_change *c = &h->v[h->n - 1];

			c->pointer = false;
			c->blob = buf;
			c->blob_len = len;
			rc = h->w->each(c, h->n - 1, h->w->payload);
			c->blob = NULL;
			c->blob_len = 0;
		}
	} else if (p4r_lfs_pointer_decode(&p, buf, len) == 0 && p4r_lfs_pointer_unsupported(&p) == 0)
		rc = history_add(h, path, &p, NULL);
	else if (starts_as_pointer(buf, len))
		rc = history_add(h, path, NULL, p4r_error_message());
	p4r_error_clear();
	git_blob_free(blob);
	return rc;
}

/* A blob the current commit brings, when the walk wants its path. */
static int history_new_blob(const char *path, const git_oid *id, void *payload)
{
	struct history *h = payload;

	if (h->w->want && !h->w->want(path, h->w->payload))
		return 0;
	return history_blob(h, path, id);
}

/* Commit ID's changes: against its first parent; walking every parent,
 * less what its other parents had. */
static int history_commit(struct history *h, const git_oid *id)
{
	unsigned int np;
	char what[80];
	int rc;

	git_oid_tostr(h->commit_hex, sizeof(h->commit_hex), id);
	snprintf(what, sizeof(what), "commit %s", h->commit_hex);
	if (git_commit_lookup(&h->commit, h->repo, id) < 0)
		return p4r_error_git(P4R_ERROR, "cannot read %s", what);
	np = git_commit_parentcount(h->commit);
	rc = each_new_blob(h->repo, h->commit, h->w->all_parents ? np : (np ? 1 : 0), what, history_new_blob, h);
	git_commit_free(h->commit);
	h->commit = NULL;
	return rc;
}

/* Hides REV (and what it reaches) from WALK. */
static int hide_since(git_repository *repo, git_revwalk *walk, const char *rev)
{
	git_object *obj = NULL, *commit = NULL;
	int rc = 0;

	if (git_revparse_single(&obj, repo, rev) < 0 || git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) < 0) {
		git_error_clear();
		rc = p4r_error_set(P4R_ENOTFOUND, "--since '%s' names no commit of this git repository", rev);
	} else if (git_revwalk_hide(walk, git_object_id(commit)) < 0) {
		rc = p4r_error_git(P4R_ERROR, "cannot walk the history from '%s'", rev);
	}
	git_object_free(commit);
	git_object_free(obj);
	return rc;
}

int p4r_git_commit_of(p4r_git *git, const char *rev, char out[41])
{
	git_object *obj = NULL, *commit = NULL;
	int rc = 0;

	if (git_revparse_single(&obj, git->repo, rev) < 0 || git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) < 0) {
		git_error_clear();
		rc = p4r_error_set(P4R_EUSAGE, "'%s' names no commit of this git repository", rev);
	} else {
		git_oid_tostr(out, 41, git_object_id(commit));
	}
	git_object_free(commit);
	git_object_free(obj);
	return rc;
}

int p4r_git_lfs_history(p4r_git *git, const p4r_git_lfs_walk *w, p4r_git_lfs_change **out, size_t *n)
{
	struct history h = { .repo = git->repo, .w = w };
	git_revwalk *walk = NULL;
	git_oid id;
	int rc = 0, e = 0;

	*out = NULL;
	*n = 0;
	if (git_repository_odb(&h.odb, git->repo) < 0 || git_revwalk_new(&walk, git->repo) < 0 ||
	    git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME | GIT_SORT_REVERSE) < 0) {
		rc = p4r_error_git(P4R_ERROR, "cannot read the git repository");
		goto done;
	}
	if (git_revwalk_push_head(walk) < 0) {
		git_error_clear(); /* an unborn branch: no history yet */
		goto done;
	}
	if (!w->all_parents && git_revwalk_simplify_first_parent(walk) < 0) {
		rc = p4r_error_git(P4R_ERROR, "cannot walk the first parents of HEAD");
		goto done;
	}
	if (w->since && (rc = hide_since(git->repo, walk, w->since)) < 0)
		goto done;
	while (rc == 0 && (e = git_revwalk_next(&id, walk)) == 0)
		rc = history_commit(&h, &id);
	if (rc == 0 && e != GIT_ITEROVER && git_repository_is_shallow(git->repo) == 1)
		rc = p4r_error_set(P4R_ERROR, "cannot walk the history of HEAD: this clone is shallow (its history "
				   "stops where it was cut); 'git fetch --unshallow' brings the rest");
	else if (rc == 0 && e != GIT_ITEROVER)
		rc = p4r_error_git(P4R_ERROR, "cannot walk the history of HEAD");
	if (rc == 0) {
		*out = h.v;
		*n = h.n;
		h.v = NULL;
		h.n = 0;
	}
done:
	git_error_clear();
	p4r_git_lfs_change_array_free(h.v, h.n);
	git_revwalk_free(walk);
	git_odb_free(h.odb);
	return rc;
}
