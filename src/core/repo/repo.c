/* Repository discovery, creation and the handles a command works with. */
#include "p4reg/repo.h"
#include "p4reg/error.h"
#include "p4reg/config.h"
#include "p4reg/beneath.h"
#include "p4reg/fsutil.h"
#include "p4reg/gitio.h"
#include "p4reg/worktree.h"
#include "p4reg/relpath.h"
#include "repo/localcache.h"
#include "repo/timestamps.h"
#include "repo/trustcache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct p4r_repo {
	char *root;          /* absolute, symlink-free work tree root */
	int root_fd;         /* the root, opened once: every work-tree path is
			      * resolved below it (beneath.h) */
	char *meta;          /* root/.p4reg */
	p4r_registry *reg;
	p4r_store *store;
	p4r_config *config;
	p4r_localcache *local; /* what this machine learnt about it (localcache.h) */
};

static const char META_GITIGNORE[] =
	"# Written by p4reg init: local state that is never committed.\n"
	"/registry.db\n/registry.db-*\n/objects/\n/tmp/\n/quarantine/\n/untrusted/\n/config.local\n";

static const char DEFAULT_CONFIG[] =
	"[core]\n"
	"\t# how add and checkout place bytes: reflink, hardlink, copy (tried in order)\n"
	"\tcacheType = reflink,copy\n";

/* DIR has a .p4reg entry. It is not followed: a symbolic link there is
 * found here and refused when the repository is opened. */
static bool is_meta_dir(const char *dir)
{
	struct stat st;
	char *meta = p4r_path_join(dir, P4R_META_DIR);
	bool yes = meta && lstat(meta, &st) == 0 && (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode));

	free(meta);
	return yes;
}

/* Walks from ABS (absolute, resolved) up to / looking for .p4reg/. */
static char *find_upwards(const char *abs)
{
	char *dir = strdup(abs), *slash;

	while (dir) {
		if (is_meta_dir(dir))
			return dir;
		slash = strrchr(dir, '/');
		if (!slash || dir[1] == '\0')
			break;
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	free(dir);
	return NULL;
}

int p4r_repo_discover(char **root_out, const char *start)
{
	const char *env = getenv("P4REG_DIR");
	char *abs;

	*root_out = NULL;
	if (env && *env) {
		abs = realpath(env, NULL);
		if (!abs || !is_meta_dir(abs)) {
			free(abs);
			return p4r_error_set(P4R_ENOTFOUND, "P4REG_DIR '%s' is not a p4reg repository", env);
		}
		*root_out = abs;
		return 0;
	}
	abs = realpath(start ? start : ".", NULL);
	if (!abs)
		return p4r_error_errno("cannot open '%s'", start ? start : ".");
	*root_out = find_upwards(abs);
	free(abs);
	if (!*root_out)
		return p4r_error_set(P4R_ENOTFOUND, "not a p4reg repository (or any parent up to /)");
	return 0;
}

static int write_new_file(const char *dir, const char *name, const char *text)
{
	char *path = p4r_path_join(dir, name);
	int rc = path ? p4r_write_file_atomic(path, text, strlen(text), 0644) : P4R_ERROR;

	free(path);
	return rc;
}

static int create_meta(const char *root, const char *meta)
{
	p4r_registry *reg = NULL;
	char *db = NULL;
	int rc;

	if (mkdir(meta, 0755) < 0)
		return p4r_error_errno("cannot create '%s'", meta);
	if ((rc = p4r_store_init(meta)) < 0 ||
	    (rc = write_new_file(meta, "config", DEFAULT_CONFIG)) < 0 ||
	    (rc = write_new_file(meta, ".gitignore", META_GITIGNORE)) < 0)
		return rc;
	if (!(db = p4r_path_join(meta, "registry.db")))
		return p4r_error_set(P4R_ERROR, "out of memory");
	rc = p4r_registry_open(&reg, db, true);
	p4r_registry_free(reg);
	free(db);
	if (rc == 0)
		rc = p4r_fsync_dir(meta);
	if (rc == 0)
		rc = p4r_fsync_dir(root);
	return rc;
}

/* Removes what a failed init created so a retry starts clean. */
static void remove_partial_meta(const char *meta)
{
	static const char *const files[] = { "config", ".gitignore", "registry.db",
					     "registry.db-wal", "registry.db-shm" };
	static const char *const dirs[] = { "objects", "tmp" };
	size_t i;
	char *p;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if ((p = p4r_path_join(meta, files[i])))
			unlink(p);
		free(p);
	}
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if ((p = p4r_path_join(meta, dirs[i])))
			rmdir(p);
		free(p);
	}
	rmdir(meta);
}

/* The first folder below the open folder FD (REL from the folder init
 * was asked for) that holds a .p4reg entry, in *FOUND (malloc'd; NULL when
 * none). The walk is the one the pointer scan makes (worktree.c): no
 * symbolic link followed, .git skipped, at most 64 levels: it costs what
 * one 'p4reg status' costs, and a repository deeper down would be
 * invisible to p4reg anyway. FD is consumed. */
static int find_below(int fd, const char *rel, int depth, char **found)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rc = 0;

	if (depth > 64 || !(d = fdopendir(fd))) {
		close(fd);
		return 0; /* unreadable: nothing p4reg could see there either */
	}
	while (rc == 0 && !*found && (de = readdir(d))) {
		char *child;
		int sub;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, ".git"))
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue; /* a link, a file (DT_UNKNOWN) or unreadable */
		if (!(child = *rel ? p4r_path_join(rel, de->d_name) : strdup(de->d_name))) {
			close(sub);
			rc = p4r_error_set(P4R_ERROR, "out of memory");
			break;
		}
		/* as is_meta_dir: a link there is a repository p4reg would refuse */
		if (fstatat(sub, P4R_META_DIR, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode))) {
			close(sub);
			*found = child;
			break;
		}
		rc = find_below(sub, child, depth + 1, found);
		free(child);
	}
	closedir(d);
	return rc;
}

/* Refuses ABS when a repository is below it: its pointers would be the
 * outer repository's too, and a pull there would rewrite them. */
static int refuse_nested_below(const char *abs)
{
	char *found = NULL;
	int fd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return p4r_error_errno("cannot open '%s'", abs);
	if ((rc = find_below(fd, "", 0, &found)) == 0 && found)
		rc = p4r_error_set(P4R_EREFUSED, "'%s' holds the p4reg repository at '%s%s%s'; repositories "
				   "do not nest", abs, abs, strcmp(abs, "/") ? "/" : "", found);
	free(found);
	return rc;
}

int p4r_repo_init(const char *dir, char **root_out)
{
	char *abs = realpath(dir ? dir : ".", NULL), *existing = NULL, *meta = NULL;
	int rc;

	if (root_out)
		*root_out = NULL;
	if (!abs)
		return p4r_error_errno("cannot open '%s'", dir ? dir : ".");
	if ((existing = find_upwards(abs))) {
		rc = strcmp(existing, abs)
			? p4r_error_set(P4R_EREFUSED, "'%s' is inside the p4reg repository at '%s'; repositories do not nest", abs, existing)
			: p4r_error_set(P4R_EEXISTS, "'%s' is already a p4reg repository", abs);
		goto done;
	}
	if ((rc = refuse_nested_below(abs)) < 0)
		goto done;
	meta = p4r_path_join(abs, P4R_META_DIR);
	if ((rc = create_meta(abs, meta)) < 0) {
		int saved = p4r_error_code();
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s", p4r_error_message());
		remove_partial_meta(meta);
		p4r_error_set(saved, "%s", msg);
		goto done;
	}
	if (root_out) {
		*root_out = abs;
		abs = NULL;
	}
done:
	free(existing);
	free(meta);
	free(abs);
	return rc;
}

/* ---- the trust boundary of .p4reg/ (docs/security.md) ----
 *
 * .p4reg/config and .p4reg/.gitignore are shared through git; everything
 * else in .p4reg/ is this machine's own state. A clone can deliver any of
 * it (force-added, or as a symbolic link that relocates it), so each piece
 * is checked where it is opened: never a link, the right kind of file, and
 * never tracked by git. */

/* The pieces of private state, and what each must be. */
static const struct private_piece {
	const char *name;
	bool dir;
} private_pieces[] = {
	{ "registry.db", false }, { "registry.db-wal", false }, { "registry.db-shm", false },
	{ "objects", true }, { "tmp", true }, { "quarantine", true }, { "untrusted", true },
	{ "chunks", true },
	{ "config.local", false },
	{ "config", false },
};

/* What git may track in .p4reg/. */
static const char *const shared_pieces[] = { "config", ".gitignore", NULL };

static int refuse_piece(const char *name, const char *why, const char *repair)
{
	return p4r_error_set(P4R_EREFUSED, "'%s/%s' %s; p4reg does not trust it: %s", P4R_META_DIR,
			     name, why, repair);
}

static bool user_allows_owner(const char *root)
{
	return p4r_config_safe_directory(root);
}

/* The checks on .p4reg itself: a real folder, owned by this user (like
 * git's safe.directory: a folder someone else owns needs the user's own
 * "safe.directory" setting). */
static int check_meta_dir(int meta_fd, const char *root, struct stat *out)
{
	struct stat st;

	if (fstat(meta_fd, &st) < 0)
		return p4r_error_errno("cannot stat '%s'", P4R_META_DIR);
	*out = st;
	if (st.st_uid != geteuid() && !user_allows_owner(root))
		return p4r_error_set(P4R_EREFUSED, "'%s/%s' is owned by someone else (uid %u); if you "
				     "trust it, run 'git config --file ~/.config/p4reg/config --add "
				     "safe.directory %s'", root, P4R_META_DIR, (unsigned)st.st_uid, root);
	return 0;
}

static int check_piece(int meta_fd, const struct private_piece *p)
{
	struct stat st;

	if (fstatat(meta_fd, p->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : p4r_error_errno("cannot stat '%s/%s'", P4R_META_DIR, p->name);
	if (S_ISLNK(st.st_mode))
		return refuse_piece(p->name, "is a symbolic link",
				    "remove the link (and 'git rm --cached' it if git tracks it)");
	if (p->dir && !S_ISDIR(st.st_mode))
		return refuse_piece(p->name, "is not a folder", "move it away");
	if (!p->dir && !S_ISREG(st.st_mode))
		return refuse_piece(p->name, "is not a regular file", "move it away");
	/* config.local holds credentials and hooks: only the user's own */
	if (!strcmp(p->name, "config.local")) {
		if (st.st_uid != geteuid())
			return refuse_piece(p->name, "is owned by someone else",
					    "check its content, then 'chown' it to yourself");
		if (st.st_mode & (S_IWGRP | S_IWOTH))
			return refuse_piece(p->name, "is writable by others",
					    "check its content, then 'chmod 600' it");
	}
	return 0;
}

/* Refuses private state that git tracks: a clone delivered it. The
 * repair keeps the files (they may be the user's own, force-added by
 * mistake) but moves them where p4reg never reads them. LC (nullable)
 * may hold the answer (trustcache.h). */
static int check_untracked(const char *root, p4r_localcache *lc)
{
	char *tracked = NULL;
	int rc = p4r_trustcache_tracked(lc, root, P4R_META_DIR, shared_pieces, &tracked);

	if (rc == 0 && tracked)
		rc = p4r_error_set(P4R_EREFUSED, "git tracks '%s' in '%s', but only %s/config and "
				   "%s/.gitignore are shared; p4reg does not trust it: run 'git rm -r -q "
				   "--cached %s && mkdir -p %s/untrusted && mv %s %s/untrusted/' there, "
				   "then check those files", tracked, root, P4R_META_DIR, P4R_META_DIR,
				   tracked, P4R_META_DIR, tracked, P4R_META_DIR);
	free(tracked);
	return rc;
}

/* How coarse the timestamps of the file system of .p4reg (open as
 * META_FD) are: measured once in its tmp folder (a real folder: checked),
 * kept in LC (timestamps.h). The registry REG (nullable) is told. */
static void racy_window(p4r_localcache *lc, int meta_fd, p4r_registry *reg)
{
	int fd = openat(meta_fd, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int64_t dev = -1, window = P4R_TS_WINDOW_DEFAULT_NS;

	if (fd >= 0) {
		window = p4r_timestamps_window(lc, fd, &dev);
		close(fd);
	}
	if (reg)
		p4r_registry_racy_window(reg, dev, window);
}

/* Checks ROOT's .p4reg, opened below ROOT_FD without following a link,
 * and every piece in it. *LOCAL (nullable) gets the repository's local
 * cache, which the check itself may answer from. */
static int check_trust(int root_fd, const char *root, p4r_localcache **local)
{
	p4r_localcache *lc = NULL;
	struct stat meta;
	size_t i;
	int meta_fd, rc = 0;

	meta_fd = openat(root_fd, P4R_META_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (meta_fd < 0 && (errno == ELOOP || errno == ENOTDIR))
		return p4r_error_set(P4R_EREFUSED, "'%s/%s' is a symbolic link or not a folder; p4reg "
				     "keeps its state in a real folder: remove it and run 'p4reg init' "
				     "(and 'git rm --cached %s' if git tracks it)", root,
				     P4R_META_DIR, P4R_META_DIR);
	if (meta_fd < 0)
		return p4r_error_errno("cannot open '%s/%s'", root, P4R_META_DIR);
	rc = check_meta_dir(meta_fd, root, &meta);
	for (i = 0; rc == 0 && i < sizeof(private_pieces) / sizeof(private_pieces[0]); i++)
		rc = check_piece(meta_fd, &private_pieces[i]);
	if (rc == 0 && (rc = p4r_localcache_open(&lc, root, &meta)) == 0) {
		/* the trust cache's racy rule needs the tick: known from here on */
		racy_window(lc, meta_fd, NULL);
		rc = check_untracked(root, lc);
	}
	close(meta_fd);
	if (rc == 0 && local)
		*local = lc;
	else
		p4r_localcache_free(lc);
	return rc;
}

/* Opens ROOT once (every work-tree path is resolved below it) and checks
 * the trust boundary of its .p4reg. */
static int open_trusted(p4r_repo *repo)
{
	repo->root_fd = open(repo->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (repo->root_fd < 0)
		return p4r_error_errno("cannot open '%s'", repo->root);
	return check_trust(repo->root_fd, repo->root, &repo->local);
}

int p4r_repo_check_trust(const char *root)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return p4r_error_errno("cannot open '%s'", root);
	rc = check_trust(fd, root, NULL);
	close(fd);
	return rc;
}

/* The stat cache's racily-clean rule: the tick of this file system. */
static void set_racy_window(p4r_repo *repo)
{
	int fd = openat(repo->root_fd, P4R_META_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0 && repo->reg)
		racy_window(repo->local, fd, repo->reg);
	if (fd >= 0)
		close(fd);
}

int p4r_repo_root_fd(const p4r_repo *repo) { return repo->root_fd; }

/* DAMAGED: a registry refused as damaged (P4R_EINTEGRITY) leaves the
 * repository open without one, for fsck. */
static int repo_open(p4r_repo **out, const char *start, bool damaged)
{
	p4r_repo *repo = calloc(1, sizeof(*repo));
	char *db = NULL;
	int rc;

	*out = NULL;
	if (!repo)
		return p4r_error_set(P4R_ERROR, "out of memory");
	repo->root_fd = -1;
	if ((rc = p4r_repo_discover(&repo->root, start)) < 0)
		goto done;
	repo->meta = p4r_path_join(repo->root, P4R_META_DIR);
	db = p4r_path_join(repo->meta, "registry.db");
	if (!repo->meta || !db) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	if ((rc = open_trusted(repo)) < 0)
		goto done;
	/* a git clone carries .p4reg/config but none of the local state (it is
	 * gitignored): the first command creates an empty registry and store,
	 * which `p4reg pull` then fills */
	if (access(db, F_OK) < 0 && errno == ENOENT && (rc = p4r_store_init(repo->meta)) < 0)
		goto done;
	if ((rc = p4r_config_open(&repo->config, repo->meta)) < 0 ||
	    (rc = p4r_store_open(&repo->store, repo->meta)) < 0)
		goto done;
	if ((rc = p4r_registry_open(&repo->reg, db, true)) == P4R_EINTEGRITY && damaged)
		rc = 0;
	if (rc < 0)
		goto done;
	set_racy_window(repo);
	*out = repo;
	repo = NULL;
done:
	free(db);
	p4r_repo_free(repo);
	return rc;
}

int p4r_repo_open(p4r_repo **out, const char *start)
{
	return repo_open(out, start, false);
}

int p4r_repo_open_damaged(p4r_repo **out, const char *start)
{
	return repo_open(out, start, true);
}

void p4r_repo_free(p4r_repo *repo)
{
	if (!repo)
		return;
	p4r_registry_free(repo->reg);
	p4r_store_free(repo->store);
	p4r_config_free(repo->config);
	p4r_localcache_free(repo->local);
	if (repo->root_fd >= 0)
		close(repo->root_fd);
	free(repo->root);
	free(repo->meta);
	free(repo);
}

const char *p4r_repo_root(const p4r_repo *repo) { return repo->root; }
const char *p4r_repo_meta(const p4r_repo *repo) { return repo->meta; }
p4r_registry *p4r_repo_registry(p4r_repo *repo) { return repo->reg; }
p4r_store *p4r_repo_store(p4r_repo *repo) { return repo->store; }
p4r_config *p4r_repo_config(p4r_repo *repo) { return repo->config; }

/* ABS is under ROOT (or equal to it when ALLOW_ROOT). */
static bool is_under(const char *abs, const char *root)
{
	size_t n = strlen(root);

	if (!strcmp(root, "/"))
		return abs[0] == '/';
	return !strncmp(abs, root, n) && (abs[n] == '/' || abs[n] == '\0');
}

/* Makes a lexical absolute path of USER_PATH: no symlink resolution of the
 * last component, so a file that does not exist yet still has a path. The
 * folder part is resolved with realpath so "a/../b" and symlinked folders
 * land where the kernel would put them. */
static int absolute_path(char **out, const char *user_path)
{
	char *copy = strdup(user_path), *slash, *dir_abs = NULL;
	const char *base;
	int rc = 0;

	*out = NULL;
	if (!copy)
		return p4r_error_set(P4R_ERROR, "out of memory");
	while (strlen(copy) > 1 && copy[strlen(copy) - 1] == '/')
		copy[strlen(copy) - 1] = '\0';
	slash = strrchr(copy, '/');
	if (slash) {
		*slash = '\0';
		base = slash + 1;
		dir_abs = realpath(*copy ? copy : "/", NULL);
	} else {
		base = copy;
		dir_abs = realpath(".", NULL);
	}
	if (!dir_abs) {
		rc = p4r_error_errno("cannot open '%s'", user_path);
		goto done;
	}
	if (!strcmp(base, "..") || !strcmp(base, ".") || !*base) {
		*out = realpath(user_path, NULL);
		if (!*out)
			rc = p4r_error_errno("cannot open '%s'", user_path);
		goto done;
	}
	*out = p4r_path_join(dir_abs, base);
	if (!*out)
		rc = p4r_error_set(P4R_ERROR, "out of memory");
done:
	free(dir_abs);
	free(copy);
	return rc;
}

/* REL (below the root) inside a folder that has its own .p4reg belongs
 * to that repository: this one neither registers nor writes it. */
static int refuse_nested_path(const p4r_repo *repo, const char *user_path, const char *rel)
{
	char *copy = strdup(rel), *slash, *dir;
	int rc = 0;

	if (!copy)
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (slash = strchr(copy, '/'); rc == 0 && slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (!(dir = p4r_path_join(repo->root, copy)))
			rc = p4r_error_set(P4R_ERROR, "out of memory");
		else if (is_meta_dir(dir))
			rc = p4r_error_set(P4R_EUSAGE, "'%s' is inside the p4reg repository at '%s'; run "
					   "p4reg there", user_path, dir);
		free(dir);
		*slash = '/';
	}
	free(copy);
	return rc;
}

int p4r_repo_relpath(p4r_repo *repo, const char *user_path, char **out)
{
	char *abs = NULL, *target = NULL;
	size_t rootlen = strlen(repo->root);
	const char *rel;
	struct stat st;
	int rc;

	*out = NULL;
	if ((rc = absolute_path(&abs, user_path)) < 0)
		return rc;
	if (!is_under(abs, repo->root) || !strcmp(abs, repo->root)) {
		rc = p4r_error_set(P4R_EUSAGE, "'%s' is outside the repository '%s'", user_path, repo->root);
		goto done;
	}
	rel = abs + rootlen + (strcmp(repo->root, "/") ? 1 : 0);
	if (!strcmp(rel, P4R_META_DIR) || !strncmp(rel, P4R_META_DIR "/", strlen(P4R_META_DIR) + 1)) {
		rc = p4r_error_set(P4R_EUSAGE, "'%s' is inside .p4reg/, which p4reg manages itself", user_path);
		goto done;
	}
	if (lstat(abs, &st) == 0 && S_ISLNK(st.st_mode)) {
		target = realpath(abs, NULL);
		if (target && !is_under(target, repo->root)) {
			rc = p4r_error_set(P4R_EUSAGE, "'%s' is a symbolic link that leads outside the repository", user_path);
			goto done;
		}
	}
	if ((rc = p4r_relpath_check(rel)) < 0 || (rc = refuse_nested_path(repo, user_path, rel)) < 0)
		goto done;
	if (!(*out = strdup(rel)))
		rc = p4r_error_set(P4R_ERROR, "out of memory");
done:
	free(target);
	free(abs);
	return rc;
}

char *p4r_repo_abspath(const p4r_repo *repo, const char *rel)
{
	return p4r_path_join(repo->root, rel);
}

/* ORDER without hardlink (N updated). */
static void drop_hardlink(p4r_link_type *order, size_t *n)
{
	size_t i, k = 0;

	for (i = 0; i < *n; i++)
		if (order[i] != P4R_LINK_HARDLINK)
			order[k++] = order[i];
	*n = k;
}

int p4r_repo_link_order(p4r_repo *repo, p4r_link_type *order, size_t *n)
{
	p4r_link_type mine[P4R_LINK_MAX];
	char *spec = NULL, *own = NULL;
	size_t nmine = 0, i;
	bool trusted = false;
	int rc = p4r_config_get(repo->config, P4R_CONFIG_ALL, "core.cacheType", &spec);

	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		return p4r_link_parse(order, n, "reflink,copy");
	}
	if (rc < 0 || (rc = p4r_link_parse(order, n, spec)) < 0)
		goto done;
	/* a hard link makes the work file and the stored object one inode: a
	 * write to the file changes the only copy of a version. Only the user
	 * may choose that, never the committed config */
	rc = p4r_config_get(repo->config, P4R_CONFIG_TRUSTED, "core.cacheType", &own);
	if (rc == 0 && p4r_link_parse(mine, &nmine, own) == 0)
		for (i = 0; i < nmine; i++)
			trusted |= mine[i] == P4R_LINK_HARDLINK;
	p4r_error_clear();
	rc = 0;
	if (!trusted)
		drop_hardlink(order, n);
	if (*n == 0)
		rc = p4r_link_parse(order, n, "copy");
done:
	free(spec);
	free(own);
	return rc;
}

int p4r_repo_autostage(p4r_repo *repo, bool no_stage, bool *stage)
{
	*stage = false;
	if (no_stage)
		return 0;
	return p4r_config_get_bool(p4r_repo_config(repo), "core.autostage", true, stage);
}

char *p4r_repo_actor(p4r_repo *repo)
{
	const char *env = getenv("P4REG_AUTHOR");
	struct passwd *pw;
	char *who;

	if (env && *env)
		return strdup(env);
	if ((who = p4r_git_identity(repo->root)))
		return who;
	pw = getpwuid(geteuid());
	return strdup(pw && pw->pw_name ? pw->pw_name : "unknown");
}

/* USER_PATH made absolute against the working directory, "." and ".."
 * folded as text (nothing is followed), malloc'd. */
static char *lexical_absolute(const char *user_path)
{
	char *cwd = user_path[0] == '/' ? strdup("") : getcwd(NULL, 0), *joined, *out;
	const char *p, *seg;
	size_t len, used = 0, n;

	if (!cwd)
		return NULL;
	len = strlen(cwd) + strlen(user_path) + 2;
	joined = malloc(len);
	out = malloc(len + 1);
	if (joined && out) {
		snprintf(joined, len, "%s/%s", cwd, user_path);
		for (p = joined; *p;) {
			while (*p == '/')
				p++;
			seg = p;
			n = strcspn(seg, "/");
			p += n;
			if (n == 0 || (n == 1 && seg[0] == '.'))
				continue;
			if (n == 2 && seg[0] == '.' && seg[1] == '.') {
				while (used > 0 && out[--used] != '/')
					;
				continue;
			}
			out[used++] = '/';
			memcpy(out + used, seg, n);
			used += n;
		}
		if (used == 0)
			out[used++] = '/';
		out[used] = '\0';
	} else {
		free(out);
		out = NULL;
	}
	free(cwd);
	free(joined);
	return out;
}

int p4r_repo_read_user_file(p4r_repo *repo, const char *user_path, size_t max, char **out, size_t *len)
{
	char *abs = lexical_absolute(user_path);
	size_t rootlen = strlen(repo->root);
	const char *rel, *base;
	int dir, rc;

	*out = NULL;
	if (!abs)
		return p4r_error_set(P4R_ERROR, "out of memory");
	/* outside the repository: the user's own file, a pipe included */
	if (strncmp(abs, repo->root, rootlen) || abs[rootlen] != '/') {
		free(abs);
		return p4r_read_file(out, len, user_path, max);
	}
	/* inside, it may be a link a clone delivered: read it like any
	 * repository file, below the root and through no link */
	rel = abs + rootlen + 1;
	if ((rc = p4r_beneath_parent(&dir, &base, repo->root_fd, rel, false)) == 0) {
		rc = p4r_read_file_at(out, len, dir, base, max, user_path);
		close(dir);
	}
	free(abs);
	return rc;
}
