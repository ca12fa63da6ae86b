/* The trust check's answer, cached by the stat of what it read (trustcache.h). */
#include "repo/trustcache.h"
#include "repo/timestamps.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/gitio.h"
#include "git/gitio_priv.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Where the answer comes from, and how the key is being made. */
struct keying {
	const char *root, *top, *gitdir, *commondir;
	const p4r_localcache *lc;
	int64_t read_at;  /* when libgit2 started reading; 0: no racy check */
	bool racy;        /* a file changed too close to READ_AT */
	bool bad;         /* a file could not be looked at */
	size_t used;
	char text[8 * (PATH_MAX + 128)]; /* the key: every path and its stat */
};

/* Appends LINE to the key being built in K (a key too long is bad). */
static void append(struct keying *k, const char *line)
{
	size_t n = strlen(line);

	if (k->used + n + 2 > sizeof(k->text)) {
		k->bad = true;
		return;
	}
	memcpy(k->text + k->used, line, n);
	k->text[k->used + n] = '\n';
	k->used += n + 1;
	k->text[k->used] = '\0';
}

/* Appends DIR/BASE and its stat to K's key: for a folder who it is, for a
 * file all a change moves. NOFOLLOW: the name as git looks at it (.git). */
static void add_file(struct keying *k, const char *dir, const char *base, bool nofollow)
{
	char *path = p4r_path_join(dir, base), line[128];
	struct stat st;
	int64_t m, c;

	if (!path || (nofollow ? lstat(path, &st) : stat(path, &st)) < 0) {
		k->bad |= !path || errno != ENOENT;
		snprintf(line, sizeof(line), "-");
	} else if (S_ISDIR(st.st_mode)) {
		/* not its times: they move with every file git writes in it */
		snprintf(line, sizeof(line), "d %llu %llu %u %o", (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino, (unsigned)st.st_uid, (unsigned)st.st_mode);
	} else {
		m = p4r_timestamps_coarsen((int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec);
		c = p4r_timestamps_coarsen((int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec);
		snprintf(line, sizeof(line), "f %llu %llu %o %lld %lld %lld", (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino, (unsigned)st.st_mode, (long long)st.st_size,
			 (long long)m, (long long)c);
		/* changed within a tick of the read: a later change could keep this stat */
		if (k->read_at && (m > c ? m : c) >= k->read_at - p4r_timestamps_known(k->lc, (int64_t)st.st_dev))
			k->racy = true;
	}
	append(k, path ? path : "");
	append(k, line);
	free(path);
}

/* K's key: the paths and the stat of every file the answer depends on, as
 * text. False when a file could not be looked at. */
static bool make_key(struct keying *k)
{
	append(k, k->root);
	add_file(k, k->top, ".git", true);   /* the folder or gitfile naming the git directory */
	add_file(k, k->gitdir, "", false);
	add_file(k, k->gitdir, "index", false);
	add_file(k, k->gitdir, "config", false); /* core.worktree, core.bare, extensions */
	add_file(k, k->gitdir, "config.worktree", false);
	add_file(k, k->gitdir, "commondir", false);
	add_file(k, k->commondir, "config", false);
	p4r_error_clear();
	return !k->bad;
}

static const char *entry_string(const cJSON *e, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Whether LC's answer for ROOT in the work tree TOP holds now. */
static bool cached_clean(const p4r_localcache *lc, const char *root, const char *top)
{
	const cJSON *e = p4r_localcache_get(lc, "trust");
	struct keying *k;
	const char *want = entry_string(e, "key");
	bool hit;

	if (!want || !entry_string(e, "gitdir") || !entry_string(e, "commondir") ||
	    !entry_string(e, "top") || strcmp(entry_string(e, "top"), top) || !(k = calloc(1, sizeof(*k))))
		return false;
	*k = (struct keying){ .root = root, .top = top, .gitdir = entry_string(e, "gitdir"),
			      .commondir = entry_string(e, "commondir"), .lc = lc };
	hit = make_key(k) && !strcmp(k->text, want);
	free(k);
	return hit;
}

/* Keeps the answer "nothing tracked" read from SRC at READ_AT. */
static void remember(p4r_localcache *lc, const char *root, const p4r_git_source *src, int64_t read_at)
{
	struct keying *k;
	cJSON *e = NULL;

	if (!src->gitdir || !src->commondir || !p4r_localcache_writable(lc) || !(k = calloc(1, sizeof(*k))))
		return;
	*k = (struct keying){ .root = root, .top = src->top, .gitdir = src->gitdir,
			      .commondir = src->commondir, .lc = lc, .read_at = read_at };
	if (make_key(k) && !k->racy && (e = cJSON_CreateObject()) && cJSON_AddStringToObject(e, "top", src->top) &&
	    cJSON_AddStringToObject(e, "gitdir", src->gitdir) &&
	    cJSON_AddStringToObject(e, "commondir", src->commondir) && cJSON_AddStringToObject(e, "key", k->text))
		p4r_localcache_put(lc, "trust", e);
	else
		cJSON_Delete(e);
	free(k);
}

int p4r_trustcache_tracked(p4r_localcache *lc, const char *root, const char *name,
			   const char *const *except, char **tracked)
{
	p4r_git_source src = { NULL, NULL, NULL };
	char *top = p4r_git_find_toplevel(root);
	int64_t read_at;
	int rc;

	*tracked = NULL;
	/* outside git nothing is tracked; the usual answer costs a few stats */
	if (!top)
		return 0;
	if (lc && cached_clean(lc, root, top)) {
		free(top);
		return 0;
	}
	free(top);
	read_at = p4r_timestamps_now();
	rc = p4r_git_tracked_pieces_from(root, name, except, tracked, &src);
	if (rc == 0 && !*tracked && lc)
		remember(lc, root, &src, read_at);
	p4r_git_source_clear(&src);
	return rc;
}
