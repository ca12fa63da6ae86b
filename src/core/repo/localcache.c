/* A repository's local cache in the user's cache folder (localcache.h). */
#include "repo/localcache.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILE_MAX (64 * 1024)

struct p4r_localcache {
	char *root;        /* the repository's real path */
	char ident[64];    /* its .p4reg folder: "dev:ino" */
	int dirfd;         /* the repos/ folder, -1 when unusable */
	char name[80];     /* this repository's file in it */
	cJSON *doc;        /* the file's content: never NULL */
};

/* The file's name: FNV-1a of the repository's path. Not a digest that must
 * resist anyone: the file names its repository inside, and a collision is
 * two repositories taking turns (a miss). OpenSSL's start-up would cost
 * more than all the rest of an unchanged status. */
static void file_name(char *buf, size_t size, const char *root)
{
	uint64_t h = UINT64_C(14695981039346656037);
	const unsigned char *p;

	for (p = (const unsigned char *)root; *p; p++)
		h = (h ^ *p) * UINT64_C(1099511628211);
	snprintf(buf, size, "%016llx.json", (unsigned long long)h);
}

/* $XDG_CACHE_HOME/p4reg/repos or ~/.cache/p4reg/repos, made 0700 when
 * missing, opened; -1 when there is none or it is not the user's own. */
static int open_dir(void)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char path[4096];
	struct stat st;
	int fd;

	/* XDG: a relative path in the variable is invalid and ignored */
	if (xdg && xdg[0] == '/')
		snprintf(path, sizeof(path), "%s/p4reg/repos", xdg);
	else if (home && home[0] == '/')
		snprintf(path, sizeof(path), "%s/.cache/p4reg/repos", home);
	else
		return -1;
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 && errno == ENOENT &&
	    p4r_mkdir_p(path, 0700) == 0)
		fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	p4r_error_clear();
	/* what is in it decides what p4reg re-checks: only the user may write it */
	if (fd >= 0 && (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The file's content when it is the user's own and about this repository. */
static cJSON *read_doc(const p4r_localcache *lc)
{
	char buf[FILE_MAX + 1];
	struct stat st;
	ssize_t n = -1;
	cJSON *doc = NULL, *root, *ident;
	int fd = openat(lc->dirfd, lc->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() && !(st.st_mode & 022))
		n = read(fd, buf, FILE_MAX);
	close(fd);
	if (n <= 0 || n >= FILE_MAX)
		return NULL;
	buf[n] = '\0';
	doc = cJSON_Parse(buf);
	root = cJSON_GetObjectItemCaseSensitive(doc, "root");
	ident = cJSON_GetObjectItemCaseSensitive(doc, "meta");
	/* another repository at this path since (or a hash collision) */
	if (!cJSON_IsString(root) || strcmp(root->valuestring, lc->root) || !cJSON_IsString(ident) ||
	    strcmp(ident->valuestring, lc->ident)) {
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}

/* A fresh document naming this repository. */
static cJSON *new_doc(const p4r_localcache *lc)
{
	cJSON *doc = cJSON_CreateObject();

	if (doc && (!cJSON_AddStringToObject(doc, "root", lc->root) ||
		    !cJSON_AddStringToObject(doc, "meta", lc->ident))) {
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}

int p4r_localcache_open(p4r_localcache **out, const char *root, const struct stat *meta)
{
	p4r_localcache *lc = calloc(1, sizeof(*lc));

	*out = NULL;
	if (!lc || !(lc->root = strdup(root))) {
		free(lc);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	snprintf(lc->ident, sizeof(lc->ident), "%llu:%llu", (unsigned long long)meta->st_dev,
		 (unsigned long long)meta->st_ino);
	file_name(lc->name, sizeof(lc->name), root);
	lc->dirfd = open_dir();
	if (lc->dirfd >= 0)
		lc->doc = read_doc(lc);
	if (!lc->doc && !(lc->doc = new_doc(lc))) {
		p4r_localcache_free(lc);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	p4r_error_clear();
	*out = lc;
	return 0;
}

void p4r_localcache_free(p4r_localcache *lc)
{
	if (!lc)
		return;
	if (lc->dirfd >= 0)
		close(lc->dirfd);
	cJSON_Delete(lc->doc);
	free(lc->root);
	free(lc);
}

const cJSON *p4r_localcache_get(const p4r_localcache *lc, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(lc->doc, key);
}

bool p4r_localcache_writable(const p4r_localcache *lc)
{
	return lc->dirfd >= 0;
}

bool p4r_localcache_put(p4r_localcache *lc, const char *key, cJSON *value)
{
	char *text;
	bool ok;

	if (!value)
		return false;
	if (cJSON_GetObjectItemCaseSensitive(lc->doc, key))
		cJSON_ReplaceItemInObjectCaseSensitive(lc->doc, key, value);
	else
		cJSON_AddItemToObject(lc->doc, key, value);
	if (lc->dirfd < 0 || !(text = cJSON_PrintUnformatted(lc->doc)))
		return false;
	ok = strlen(text) < FILE_MAX &&
	     p4r_write_file_atomic_at(lc->dirfd, lc->name, text, strlen(text), 0600, lc->name) == 0;
	p4r_error_clear();
	free(text);
	return ok;
}
