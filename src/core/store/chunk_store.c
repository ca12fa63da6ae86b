/* Local chunk lists (chunk.h): .p4reg/chunks/ab/cd/<oid>, the chunks of
 * the store's object <oid> (no packs), derived only from the store's own
 * bytes in one read that also re-hashes them, and written as objects are:
 * a temporary file beside the name, fsync, rename, folder fsync, 0444.
 * Lists are a cache of what the bytes say: a damaged or missing one is
 * computed again, and gc removes those of objects it deletes. */
#include "p4reg/chunk.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/publish.h"
#include "p4reg/repo.h"
#include "p4reg/store.h"
#include "store/chunk_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LIST_MODE 0444
#define DIR_MODE 0755
/* Written when the folder is made: git ignores everything in it, itself
 * included, so a repository made before chunk lists commits none. */
#define GITIGNORE ".gitignore"
#define GITIGNORE_TEXT "# Written by p4reg: chunk lists are this machine's own, never committed.\n*\n"
#define REL_ROOT P4R_META_DIR "/" P4R_CHUNKS_DIR
/* The length of the temporary name p4r_mkstemp_at makes beside a list
 * being written (a dot, the oid, a dot and six random characters). */
#define TMP_NAME_LEN (1 + P4R_OID_HEXLEN + 7)

/* The most bytes a list of an object of SIZE bytes can have: chunks not
 * ended by a tensor boundary or the end hold at least P4R_CHUNK_MIN
 * bytes, and a header of P4R_CHUNK_HEAD_MAX bytes names fewer than
 * HEAD_MAX / 8 boundaries. A longer file is damage, and is not read. */
static uint64_t list_max(uint64_t size)
{
	return 56 + 48 * (size / P4R_CHUNK_MIN + 2 + P4R_CHUNK_HEAD_MAX / 8);
}

/* Opens the chunks folder of S (CREATE: makes it, with its .gitignore)
 * into *OUT, never through a symbolic link; absent without CREATE:
 * P4R_ENOTFOUND (no message). */
static int open_chunks(p4r_store *s, bool create, int *out)
{
	char *path = p4r_path_join(p4r_store_meta(s), P4R_CHUNKS_DIR);
	struct stat st;
	bool made = false;
	int rc = 0;

	*out = -1;
	if (!path)
		return p4r_error_set(P4R_ERROR, "out of memory");
	*out = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*out < 0 && errno == ENOENT && create) {
		if (mkdir(path, DIR_MODE) == 0)
			made = true;
		else if (errno != EEXIST)
			rc = p4r_error_errno("cannot create folder '%s'", path);
		if (rc == 0)
			*out = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (rc == 0 && *out < 0) {
		if (errno == ENOENT && !create)
			rc = P4R_ENOTFOUND;
		else if (errno == ELOOP || errno == ENOTDIR)
			rc = p4r_error_set(P4R_EINTEGRITY, "'%s' is a symbolic link or a file where a folder "
					   "belongs; refusing to follow it", path);
		else
			rc = p4r_error_errno("cannot open folder '%s'", path);
	}
	if (rc == 0 && made)
		rc = p4r_fsync_dir(p4r_store_meta(s));
	/* made here or by a racing process that died before writing it */
	if (rc == 0 && create && fstatat(*out, GITIGNORE, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
		rc = p4r_write_file_atomic_at(*out, GITIGNORE, GITIGNORE_TEXT, strlen(GITIGNORE_TEXT), 0644,
					      REL_ROOT "/" GITIGNORE);
	if (rc < 0 && *out >= 0) {
		close(*out);
		*out = -1;
	}
	free(path);
	return rc;
}

/* Reads the list BASE in the open folder DIR as OID's (an object of SIZE
 * bytes) into L: P4R_EINTEGRITY for anything but a whole, right list,
 * P4R_ENOTFOUND when there is none. */
static int load_list(int dir, const char *base, const p4r_oid *oid, uint64_t size, p4r_chunklist *l)
{
	uint64_t most = list_max(size);
	char rel[128], *buf = NULL;
	size_t len;
	int rc;

	memset(l, 0, sizeof(*l));
	snprintf(rel, sizeof(rel), REL_ROOT "/%.2s/%.2s/%s", oid->hex, oid->hex + 2, oid->hex);
	rc = p4r_read_file_at(&buf, &len, dir, base, most > SIZE_MAX - 1 ? SIZE_MAX - 1 : (size_t)most,
			      rel);
	/* a link, a FIFO, a file too long to be the list: damage, not a use error */
	if (rc == P4R_EUSAGE)
		rc = p4r_error_set(P4R_EINTEGRITY, "chunk list of %s is damaged: %s", oid->hex,
				   p4r_error_message());
	if (rc == 0)
		rc = p4r_chunklist_decode(l, (const unsigned char *)buf, len, oid, false);
	if (rc == 0 && l->size != size) {
		rc = p4r_error_set(P4R_EINTEGRITY, "chunk list of %s is damaged: it describes %llu bytes, "
				   "but the object has %llu", oid->hex, (unsigned long long)l->size,
				   (unsigned long long)size);
		p4r_chunklist_clear(l);
	}
	free(buf);
	return rc;
}

/* The kept list of OID (an object of SIZE bytes) into L; P4R_ENOTFOUND
 * (no message) when there is none. */
static int read_kept(p4r_store *s, const p4r_oid *oid, uint64_t size, p4r_chunklist *l)
{
	int chunks, dir = -1, rc;

	if ((rc = open_chunks(s, false, &chunks)) < 0)
		return rc;
	rc = p4r_publish_dir_open(chunks, REL_ROOT, oid, false, false, &dir);
	close(chunks);
	if (rc == 0)
		rc = load_list(dir, oid->hex, oid, size, l);
	if (dir >= 0)
		close(dir);
	return rc;
}

static int collect(const p4r_chunk *c, uint64_t offset, void *payload)
{
	(void)offset;
	return p4r_chunklist_add(payload, c);
}

/* Chunks OID's object, open as FD (ST, PATH), into L while re-hashing it. */
static int compute(const p4r_oid *oid, int fd, const struct stat *st, const char *path,
		   p4r_chunklist *l)
{
	p4r_hasher *h = NULL;
	p4r_oid got;
	int rc;

	memset(l, 0, sizeof(*l));
	l->oid = *oid;
	l->size = (uint64_t)st->st_size;
	if ((rc = p4r_hasher_new(&h)) == 0 &&
	    (rc = p4r_chunk_fd(fd, l->size, path, h, collect, l)) == 0 &&
	    (rc = p4r_hasher_final(h, &got)) == 0 && !p4r_oid_equal(&got, oid))
		rc = p4r_error_set(P4R_EINTEGRITY, "object %s is corrupt: its bytes hash to %s", oid->hex,
				   got.hex);
	p4r_hasher_free(h);
	if (rc < 0)
		p4r_chunklist_clear(l);
	return rc;
}

/* OID's kept list into L, computed and kept when MAKE and there is
 * none (or a damaged one). */
static int chunklist(p4r_store *s, const p4r_oid *oid, bool make, p4r_chunklist *l)
{
	char path[PATH_MAX];
	struct stat st;
	int fd, rc;

	memset(l, 0, sizeof(*l));
	if (!p4r_oid_valid(oid->hex))
		return p4r_error_set(P4R_EUSAGE, "malformed oid '%.64s'", oid->hex);
	if ((rc = p4r_store_object_open(s, oid, &fd, &st, path, sizeof(path))) < 0)
		return rc;
	rc = read_kept(s, oid, (uint64_t)st.st_size, l);
	if (make && (rc == P4R_ENOTFOUND || rc == P4R_EINTEGRITY)) {
		/* absent or damaged: the object says what it should be */
		p4r_error_clear();
		if ((rc = compute(oid, fd, &st, path, l)) == 0 && (rc = p4r_store_chunklist_keep(s, l)) < 0)
			p4r_chunklist_clear(l);
	}
	close(fd);
	return rc;
}

int p4r_store_chunklist(p4r_store *s, const p4r_oid *oid, p4r_chunklist *l)
{
	return chunklist(s, oid, true, l);
}

int p4r_store_chunklist_kept(p4r_store *s, const p4r_oid *oid, p4r_chunklist *l)
{
	return chunklist(s, oid, false, l);
}

int p4r_store_chunklist_keep(p4r_store *s, const p4r_chunklist *l)
{
	p4r_chunklist local = *l;
	unsigned char *buf = NULL;
	char display[PATH_MAX], *root = NULL;
	size_t len, i;
	int chunks = -1, dir = -1, rc;

	/* the local form: the same chunks in no pack */
	local.packs = NULL;
	local.npacks = 0;
	local.chunks = NULL;
	if (l->n && !(local.chunks = malloc(l->n * sizeof(*l->chunks))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < l->n; i++) {
		local.chunks[i] = l->chunks[i];
		local.chunks[i].pack = P4R_CHUNK_NO_PACK;
		local.chunks[i].pack_off = 0;
	}
	local.cap = l->n;
	if ((rc = p4r_chunklist_encode(&local, &buf, &len)) < 0 ||
	    (rc = open_chunks(s, true, &chunks)) < 0)
		goto done;
	if (!(root = p4r_path_join(p4r_store_meta(s), P4R_CHUNKS_DIR))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	if ((rc = p4r_oid_path(display, sizeof(display), root, &l->oid)) < 0 ||
	    (rc = p4r_publish_dir_open(chunks, root, &l->oid, true, true, &dir)) < 0)
		goto done;
	/* replaces a damaged list; a concurrent writer's is the same bytes */
	rc = p4r_write_file_atomic_at(dir, l->oid.hex, buf, len, LIST_MODE, display);
done:
	if (dir >= 0)
		close(dir);
	if (chunks >= 0)
		close(chunks);
	free(root);
	free(buf);
	free(local.chunks);
	return rc;
}

/* ---- gc and fsck (chunk_store.h) ---- */

int p4r_chunks_forget(int chunks, const p4r_oid *oid, uint64_t *bytes)
{
	char part[3] = { oid->hex[0], oid->hex[1], '\0' };
	struct stat st;
	int ab, cd, rc = 0;

	if (bytes)
		*bytes = 0;
	if ((ab = openat(chunks, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return 0;
	part[0] = oid->hex[2];
	part[1] = oid->hex[3];
	cd = openat(ab, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(ab);
	if (cd < 0)
		return 0;
	if (fstatat(cd, oid->hex, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
		if (unlinkat(cd, oid->hex, 0) == 0 && bytes)
			*bytes = (uint64_t)st.st_size;
		else if (errno != ENOENT)
			rc = p4r_error_errno("cannot remove '" REL_ROOT "/%.2s/%.2s/%s'", oid->hex,
					     oid->hex + 2, oid->hex);
	}
	close(cd);
	return rc;
}

/* What an entry of chunks/ab/cd/ is. */
enum entry { ENTRY_LIST, ENTRY_TMP, ENTRY_STRAY };

static bool is_hex2(const char *s)
{
	return strlen(s) == 2 && strspn(s, "0123456789abcdef") == 2;
}

/* NAME in chunks/ab/cd (PREFIX "abcd"): a list named by its oid, a
 * temporary file of one being written, or neither. */
static enum entry classify(const char *name, const char *prefix)
{
	size_t i;

	if (p4r_oid_valid(name))
		return strncmp(name, prefix, 4) ? ENTRY_STRAY : ENTRY_LIST;
	if (strlen(name) != TMP_NAME_LEN || name[0] != '.' || name[1 + P4R_OID_HEXLEN] != '.' ||
	    strspn(name + 1, "0123456789abcdef") != P4R_OID_HEXLEN)
		return ENTRY_STRAY;
	for (i = 2 + P4R_OID_HEXLEN; i < TMP_NAME_LEN; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9')))
			return ENTRY_STRAY;
	return ENTRY_TMP;
}

/* One walk for gc and fsck: VISIT gets every entry of the layout (DIR its
 * folder, KIND what it is, REL its path), and each entry off the layout as
 * ENTRY_STRAY. */
struct walk {
	p4r_store *s;
	int (*visit)(struct walk *w, int dir, const char *name, enum entry kind, const struct stat *st,
		     const char *rel);
	/* gc */
	int64_t cutoff;
	bool dry_run;
	size_t removed;
	uint64_t bytes;
	/* fsck */
	p4r_chunks_finding_fn fn;
	void *payload;
};

static int walk_level(struct walk *w, int dirfd, int depth, const char *prefix, const char *rel)
{
	int copy = fcntl(dirfd, F_DUPFD_CLOEXEC, 0), sub;
	char crel[PATH_MAX], nprefix[8];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rc = 0;

	if (copy < 0 || !(d = fdopendir(copy))) {
		if (copy >= 0)
			close(copy);
		return p4r_error_errno("cannot read folder '%s'", rel);
	}
	while (rc == 0 && (de = readdir(d))) {
		const char *name = de->d_name;

		if (!strcmp(name, ".") || !strcmp(name, "..") ||
		    fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		snprintf(crel, sizeof(crel), "%s/%s", rel, name);
		if (depth == 0 && !strcmp(name, GITIGNORE) && S_ISREG(st.st_mode))
			continue;
		if (depth < 2) {
			if (!S_ISDIR(st.st_mode) || !is_hex2(name) ||
			    (sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
				rc = w->visit(w, dirfd, name, ENTRY_STRAY, &st, crel);
				continue;
			}
			snprintf(nprefix, sizeof(nprefix), "%.4s%.2s", prefix, name);
			rc = walk_level(w, sub, depth + 1, nprefix, crel);
			close(sub);
			continue;
		}
		rc = w->visit(w, dirfd, name, S_ISREG(st.st_mode) ? classify(name, prefix) : ENTRY_STRAY,
			      &st, crel);
	}
	closedir(d);
	return rc;
}

static int64_t changed_s(const struct stat *st)
{
	return st->st_ctim.tv_sec > st->st_mtim.tv_sec ? st->st_ctim.tv_sec : st->st_mtim.tv_sec;
}

/* The list NAME in DIR checked against its object: 0 whole, P4R_EINTEGRITY
 * damaged, P4R_ENOTFOUND (no message) when the store lacks the object. */
static int judge_list(p4r_store *s, int dir, const char *name)
{
	p4r_chunklist l;
	struct stat obj;
	p4r_oid oid;
	int rc;

	memcpy(oid.hex, name, sizeof(oid.hex));
	if (p4r_store_object_stat(s, &oid, &obj) < 0) {
		p4r_error_clear();
		return P4R_ENOTFOUND;
	}
	rc = load_list(dir, name, &oid, (uint64_t)obj.st_size, &l);
	p4r_chunklist_clear(&l);
	/* gone meanwhile: nothing to judge */
	if (rc == P4R_ENOTFOUND)
		p4r_error_clear();
	return rc == P4R_ENOTFOUND ? 0 : rc;
}

static int gc_visit(struct walk *w, int dir, const char *name, enum entry kind, const struct stat *st,
		    const char *rel)
{
	int rc;

	if (kind == ENTRY_STRAY)
		return 0;
	if (kind == ENTRY_LIST) {
		rc = judge_list(w->s, dir, name);
		if (rc == 0 || (rc != P4R_EINTEGRITY && rc != P4R_ENOTFOUND))
			return rc;
		p4r_error_clear();
		/* damaged goes now; an orphan, once old: a list may be kept
		 * just before its object is placed */
		if (rc == P4R_ENOTFOUND && changed_s(st) > w->cutoff)
			return 0;
	} else if (changed_s(st) > w->cutoff) {
		return 0;
	}
	if (!w->dry_run && unlinkat(dir, name, 0) < 0) {
		if (errno == ENOENT)
			return 0;
		return p4r_error_errno("cannot remove '%s'", rel);
	}
	w->removed++;
	w->bytes += (uint64_t)st->st_size;
	return 0;
}

int p4r_chunks_gc(p4r_store *s, int chunks, int64_t cutoff, bool dry_run, size_t *removed,
		  uint64_t *bytes)
{
	struct walk w = { .s = s, .visit = gc_visit, .cutoff = cutoff, .dry_run = dry_run };
	int rc = walk_level(&w, chunks, 0, "", REL_ROOT);

	*removed = w.removed;
	*bytes = w.bytes;
	return rc;
}

static int check_visit(struct walk *w, int dir, const char *name, enum entry kind,
		       const struct stat *st, const char *rel)
{
	char msg[512];
	int rc;

	(void)st;
	if (kind == ENTRY_TMP)
		return 0;
	if (kind == ENTRY_STRAY) {
		snprintf(msg, sizeof(msg), "'%s' is not a chunk list of p4reg (gc leaves it alone)", rel);
		w->fn(NULL, rel, msg, w->payload);
		return 0;
	}
	rc = judge_list(w->s, dir, name);
	if (rc == P4R_EINTEGRITY) {
		w->fn(name, rel, p4r_error_message(), w->payload);
		p4r_error_clear();
		return 0;
	}
	if (rc == P4R_ENOTFOUND)
		p4r_error_clear();
	return rc == P4R_ENOTFOUND ? 0 : rc;
}

int p4r_chunks_check(p4r_store *s, int chunks, p4r_chunks_finding_fn fn, void *payload)
{
	struct walk w = { .s = s, .visit = check_visit, .fn = fn, .payload = payload };

	return walk_level(&w, chunks, 0, "", REL_ROOT);
}
