/* libgit2 access for provenance, index staging, git's config and hooks
 * (see gitio.h). */
#include "p4reg/gitio.h"
#include "git/gitio_priv.h"
#include "p4reg/beneath.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/lfs.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

static char *strip_slash(const char *path)
{
	char *s = strdup(path);
	size_t n = s ? strlen(s) : 0;

	if (n > 1 && s[n - 1] == '/')
		s[n - 1] = '\0';
	return s;
}

/* ---- finding the git work tree ----
 *
 * libgit2's own search (git_repository_open_ext) takes any folder that
 * looks like a git directory (HEAD, objects/, refs/) for one, and honours
 * its core.worktree: a clone can commit such a folder around .p4reg and so
 * choose the index p4reg trusts, the config git runs (core.fsmonitor) and
 * where files are written. p4reg looks only for what git's work trees
 * have: a ".git" folder or gitfile in DIR or a folder above it, and then
 * requires that repository's work tree to be that folder. */

char *p4r_git_find_toplevel(const char *dir)
{
	char *cur = realpath(dir, NULL), *git, *slash;
	struct stat st;

	while (cur) {
		git = p4r_path_join(cur, ".git");
		if (git && lstat(git, &st) == 0 && (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) {
			free(git);
			return cur;
		}
		free(git);
		slash = strrchr(cur, '/');
		if (!slash || (slash == cur && !cur[1]))
			break;
		slash[slash == cur ? 1 : 0] = '\0';
	}
	free(cur);
	return NULL;
}

/* Opens the git repository of the work tree TOP (from p4r_git_find_toplevel):
 * P4R_EREFUSED when its work tree is elsewhere (core.worktree) or it is
 * bare; *UNREADABLE (nullable) and P4R_ERROR when libgit2 cannot open it
 * (an extension it lacks). libgit2 must be initialised. */
static int open_worktree_repo(git_repository **out, const char *top, bool *unreadable)
{
	char *dotgit = p4r_path_join(top, ".git"), *wd = NULL;
	const char *workdir;
	int rc = 0;

	*out = NULL;
	if (unreadable)
		*unreadable = false;
	if (!dotgit)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if (git_repository_open_ext(out, dotgit, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0) {
		if (unreadable)
			*unreadable = true;
		rc = p4r_error_git(P4R_ERROR, "cannot open the git repository '%s'", dotgit);
		goto done;
	}
	workdir = git_repository_workdir(*out);
	wd = workdir ? realpath(workdir, NULL) : NULL;
	if (git_repository_is_bare(*out) || !wd || strcmp(wd, top)) {
		rc = p4r_error_set(P4R_EREFUSED, "the git repository '%s' names another work tree "
				   "(core.worktree or core.bare); p4reg does not trust it", dotgit);
		git_repository_free(*out);
		*out = NULL;
	}
done:
	free(wd);
	free(dotgit);
	return rc;
}

/* *OUT: a handle on REPO (consumed; libgit2 stays initialised for it). */
static int wrap_repo(p4r_git **out, git_repository *repo)
{
	p4r_git *git = calloc(1, sizeof(*git));

	if (!git || !(git->workdir = strip_slash(git_repository_workdir(repo))) ||
	    !(git->gitdir = strip_slash(git_repository_path(repo)))) {
		if (git)
			free(git->workdir);
		free(git);
		git_repository_free(repo);
		p4r_libgit2_shutdown();
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	git->repo = repo;
	*out = git;
	return 0;
}

int p4r_git_open_why(p4r_git **out, const char *dir, const char **why)
{
	git_repository *repo = NULL;
	bool unreadable = false, up;
	char *top;
	int rc;

	*out = NULL;
	if (why)
		*why = NULL;
	/* outside git, libgit2 (whose start-up is most of a command's time)
	 * is not even loaded */
	if (!(top = p4r_git_find_toplevel(dir))) {
		if (why)
			*why = "not inside a git work tree";
		return 0;
	}
	if ((up = (rc = p4r_libgit2_init()) == 0))
		rc = open_worktree_repo(&repo, top, &unreadable);
	free(top);
	if (rc < 0 && unreadable) {
		/* git's features are skipped; the trust check asks git itself */
		p4r_error_clear();
		rc = 0;
		if (why)
			*why = "libgit2 cannot open this git repository (an extension it lacks?)";
	} else if (rc == 0 && !repo && why) {
		*why = "not inside a git work tree";
	}
	if (rc == 0 && repo)
		return wrap_repo(out, repo);
	if (up) {
		git_error_clear();
		p4r_libgit2_shutdown();
	}
	return rc;
}

int p4r_git_open(p4r_git **out, const char *dir)
{
	return p4r_git_open_why(out, dir, NULL);
}

void p4r_git_free(p4r_git *git)
{
	if (!git)
		return;
	git_repository_free(git->repo);
	free(git->workdir);
	free(git->gitdir);
	free(git);
	p4r_libgit2_shutdown();
}

const char *p4r_git_workdir(const p4r_git *git)
{
	return git->workdir;
}

static int is_dirty(git_repository *repo)
{
	git_status_options opts;
	git_status_list *list = NULL;
	int dirty;

	git_status_options_init(&opts, GIT_STATUS_OPTIONS_VERSION);

	opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
	opts.flags = GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
	if (git_status_list_new(&list, repo, &opts) < 0) {
		git_error_clear();
		return -1;
	}
	dirty = git_status_list_entrycount(list) > 0;
	git_status_list_free(list);
	return dirty;
}

/* Before the first commit HEAD is a symbolic reference to a branch that
 * does not exist yet ("refs/heads/main"): that branch, the one the first
 * commit will make. NULL when HEAD is not such a reference. */
static char *unborn_branch(git_repository *repo)
{
	static const char heads[] = "refs/heads/";
	git_reference *head = NULL;
	const char *target;
	char *out = NULL;

	if (git_reference_lookup(&head, repo, "HEAD") < 0) {
		git_error_clear();
		return NULL;
	}
	if (git_reference_type(head) == GIT_REFERENCE_SYMBOLIC &&
	    (target = git_reference_symbolic_target(head)) &&
	    !strncmp(target, heads, sizeof(heads) - 1) && target[sizeof(heads) - 1])
		out = strdup(target + sizeof(heads) - 1);
	git_reference_free(head);
	return out;
}

int p4r_git_provenance_get(p4r_git *git, p4r_git_provenance *out)
{
	git_reference *head = NULL;
	const git_oid *oid;
	char hex[GIT_OID_HEXSZ + 1];

	memset(out, 0, sizeof(*out));
	out->dirty = -1;
	if (git_repository_head(&head, git->repo) < 0) {
		git_error_clear(); /* unborn branch: no commit yet */
		out->branch = unborn_branch(git->repo);
		out->dirty = is_dirty(git->repo);
		return 0;
	}
	if ((oid = git_reference_target(head))) {
		git_oid_tostr(hex, sizeof(hex), oid);
		out->commit = strdup(hex);
	}
	if (git_reference_is_branch(head))
		out->branch = strdup(git_reference_shorthand(head));
	git_reference_free(head);
	out->dirty = is_dirty(git->repo);
	return 0;
}

void p4r_git_provenance_clear(p4r_git_provenance *p)
{
	free(p->commit);
	free(p->branch);
	memset(p, 0, sizeof(*p));
	p->dirty = -1;
}

const char *p4r_git_dir(const p4r_git *git)
{
	return git->gitdir;
}

char *p4r_git_relpath(const p4r_git *git, const char *abs_path)
{
	size_t wlen = strlen(git->workdir);

	if (!strcmp(git->workdir, "/"))
		return abs_path[0] == '/' && abs_path[1] ? strdup(abs_path + 1) : NULL;
	if (strncmp(abs_path, git->workdir, wlen) || abs_path[wlen] != '/' || !abs_path[wlen + 1])
		return NULL;
	return strdup(abs_path + wlen + 1);
}

int p4r_git_is_lfs_path(p4r_git *git, const char *abs_path, bool *out)
{
	char *rel = p4r_git_relpath(git, abs_path);
	const char *value = NULL;
	int rc = 0;

	*out = false;
	if (!rel)
		return p4r_error_set(P4R_ERROR, "'%s' is outside the git work tree", abs_path);
	if (git_attr_get(&value, git->repo, GIT_ATTR_CHECK_FILE_THEN_INDEX | GIT_ATTR_CHECK_NO_SYSTEM,
			 rel, "filter") < 0)
		rc = p4r_error_git(P4R_ERROR, "cannot read the git attributes of '%s'", rel);
	else
		*out = git_attr_value(value) == GIT_ATTR_VALUE_STRING && !strcmp(value, "lfs");
	free(rel);
	return rc;
}

char *p4r_git_lfs_dir(p4r_git *git)
{
	git_config *cfg = NULL;
	git_buf buf = { 0 };
	char *out = NULL, *common;

	if (git_repository_config_snapshot(&cfg, git->repo) == 0 &&
	    git_config_get_string_buf(&buf, cfg, "lfs.storage") == 0 && buf.size > 0) {
		out = buf.ptr[0] == '/' ? strip_slash(buf.ptr) : p4r_path_join(git->gitdir, buf.ptr);
		git_buf_dispose(&buf);
		git_config_free(cfg);
		return out;
	}
	git_error_clear();
	git_buf_dispose(&buf);
	git_config_free(cfg);
	if (!(common = strip_slash(git_repository_commondir(git->repo))))
		return NULL;
	out = p4r_path_join(common, "lfs");
	free(common);
	return out;
}

/* Adds the pointer blob of E to INDEX with the stat of its work tree file. */
static int add_lfs_entry(p4r_git *git, git_index *index, const p4r_git_lfs_entry *e)
{
	char text[P4R_LFS_POINTER_MAX + 1], *rel = p4r_git_relpath(git, e->abs_path);
	git_index_entry ie;
	struct stat st;
	size_t len;
	int rc;

	if (!rel)
		return p4r_error_set(P4R_ERROR, "'%s' is outside the git work tree", e->abs_path);
	if ((rc = p4r_lfs_pointer_format(text, sizeof(text), &len, &e->oid, e->size)) < 0)
		goto done;
	if (stat(e->abs_path, &st) < 0) {
		rc = p4r_error_errno("cannot stage '%s'", rel);
		goto done;
	}
	memset(&ie, 0, sizeof(ie));
	ie.ctime.seconds = (int32_t)st.st_ctim.tv_sec;
	ie.ctime.nanoseconds = (uint32_t)st.st_ctim.tv_nsec;
	ie.mtime.seconds = (int32_t)st.st_mtim.tv_sec;
	ie.mtime.nanoseconds = (uint32_t)st.st_mtim.tv_nsec;
	ie.dev = (uint32_t)st.st_dev;
	ie.ino = (uint32_t)st.st_ino;
	ie.uid = (uint32_t)st.st_uid;
	ie.gid = (uint32_t)st.st_gid;
	/* git keeps the work tree file's size (truncated to 32 bits), not the blob's */
	ie.file_size = (uint32_t)st.st_size;
	ie.mode = (st.st_mode & 0100) ? GIT_FILEMODE_BLOB_EXECUTABLE : GIT_FILEMODE_BLOB;
	ie.path = rel;
	if (git_blob_create_from_buffer(&ie.id, git->repo, text, len) < 0) {
		rc = p4r_error_git(P4R_ERROR, "cannot write the Git LFS pointer of '%s'", rel);
		goto done;
	}
	if (git_index_add(index, &ie) < 0)
		rc = p4r_error_git(P4R_ERROR, "cannot stage '%s'", rel);
done:
	free(rel);
	return rc;
}

int p4r_git_index_lfs_pointer(p4r_git *git, const char *abs_path, p4r_oid *oid, uint64_t *size,
			      bool *found)
{
	char *rel = p4r_git_relpath(git, abs_path);
	const git_index_entry *e;
	git_index *index = NULL;
	git_blob *blob = NULL;
	int rc = 0;

	*found = false;
	if (!rel)
		return p4r_error_set(P4R_ERROR, "'%s' is outside the git work tree", abs_path);
	if (git_repository_index(&index, git->repo) < 0 || git_index_read(index, 0) < 0) {
		rc = p4r_error_git(P4R_ERROR, "cannot read the git index");
		goto done;
	}
	if (!(e = git_index_get_bypath(index, rel, 0)))
		goto done;
	if (git_blob_lookup(&blob, git->repo, &e->id) < 0) {
		rc = p4r_error_git(P4R_ERROR, "cannot read the staged blob of '%s'", rel);
		goto done;
	}
	if (git_blob_rawsize(blob) > P4R_LFS_POINTER_MAX)
		goto done;
	rc = p4r_lfs_pointer_parse(oid, size, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
	if (rc == 0) {
		*found = true;
	} else if (rc == P4R_ERROR) {
		/* a pointer with extensions: its object is not the file, and
		 * the registry's version must not stand in for it either */
		rc = p4r_error_set(P4R_ERROR, "'%s': %s", rel, p4r_error_message());
	} else {
		p4r_error_clear(); /* not a pointer */
		rc = 0;
	}
done:
	git_blob_free(blob);
	git_index_free(index);
	free(rel);
	return rc;
}

bool p4r_git_lfs_on_path(void)
{
	const char *path = getenv("PATH"), *p, *end;
	char buf[PATH_MAX];
	struct stat st;

	for (p = path; p && *p; p = *end ? end + 1 : end) {
		size_t len;

		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		len = (size_t)(end - p);
		if (len == 0 || len + sizeof("/git-lfs") > sizeof(buf))
			continue;
		memcpy(buf, p, len);
		memcpy(buf + len, "/git-lfs", sizeof("/git-lfs"));
		if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
			return true;
	}
	return false;
}

struct filter_setting {
	const char *key;
	const char *value; /* NULL: boolean true */
};

static const struct filter_setting git_lfs_settings[] = {
	{ "filter.lfs.clean", "git-lfs clean -- %f" },
	{ "filter.lfs.smudge", "git-lfs smudge -- %f" },
	{ "filter.lfs.process", "git-lfs filter-process" },
	{ "filter.lfs.required", NULL },
};

static const struct filter_setting p4reg_settings[] = {
	{ "filter.lfs.process", "p4reg filter-process" },
	{ "filter.lfs.required", NULL },
};

/* libgit2 always reads the system file; git skips it when
 * GIT_CONFIG_NOSYSTEM is set, and what matters is what git will do. */
static bool skip_system_config(void)
{
	const char *nosys = getenv("GIT_CONFIG_NOSYSTEM");

	return nosys && *nosys && strcmp(nosys, "0") && strcasecmp(nosys, "false");
}

/* The config level that sets KEY for git: the highest-priority one that
 * has it (NULL when none does). The caller frees it. */
static git_config *level_setting(git_config *snap, const char *key)
{
	static const git_config_level_t levels[] = {
		GIT_CONFIG_LEVEL_APP, GIT_CONFIG_LEVEL_LOCAL,
		GIT_CONFIG_LEVEL_GLOBAL, GIT_CONFIG_LEVEL_XDG, GIT_CONFIG_LEVEL_SYSTEM,
		GIT_CONFIG_LEVEL_PROGRAMDATA,
	};
	bool skip_system = skip_system_config();
	size_t i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		git_config *lvl = NULL;
		git_config_entry *e = NULL;

		if (skip_system && (levels[i] == GIT_CONFIG_LEVEL_SYSTEM || levels[i] == GIT_CONFIG_LEVEL_PROGRAMDATA))
			continue;
		if (git_config_open_level(&lvl, snap, levels[i]) < 0) {
			git_error_clear();
			continue;
		}
		if (git_config_get_entry(&e, lvl, key) == 0) {
			git_config_entry_free(e);
			return lvl;
		}
		git_error_clear();
		git_config_free(lvl);
	}
	return NULL;
}

/* Whether the value git itself would see for S is S's. */
static bool setting_in_effect(git_config *snap, const struct filter_setting *s)
{
	git_config *lvl = level_setting(snap, s->key);
	const char *value = NULL;
	bool yes = false;
	int b = 0;

	if (!lvl)
		return false;
	if (!s->value)
		yes = git_config_get_bool(&b, lvl, s->key) == 0 && b;
	else
		yes = git_config_get_string(&value, lvl, s->key) == 0 && !strcmp(value, s->value);
	git_error_clear();
	git_config_free(lvl);
	return yes;
}

/* ---- hooks ---- */

int p4r_git_hooks_dir(p4r_git *git, char **out)
{
	git_config *cfg = NULL, *snap = NULL, *lvl = NULL;
	git_buf buf = { 0 };
	char *common = NULL;
	int rc = 0;

	*out = NULL;
	if (git_repository_config(&cfg, git->repo) < 0 || git_config_snapshot(&snap, cfg) < 0) {
		rc = p4r_error_git(P4R_ERROR, "cannot read the git configuration");
		goto done;
	}
	/* git's rule (githooks(5)): core.hooksPath, relative to where hooks
	 * run (the work tree root); get_path expands "~/" as git does */
	if ((lvl = level_setting(snap, "core.hooksPath")) && git_config_get_path(&buf, lvl, "core.hooksPath") == 0 &&
	    buf.size > 0) {
		*out = buf.ptr[0] == '/' ? strip_slash(buf.ptr) : p4r_path_join(git->workdir, buf.ptr);
		if (*out && strlen(*out) > 1 && (*out)[strlen(*out) - 1] == '/')
			(*out)[strlen(*out) - 1] = '\0';
	} else if ((common = strip_slash(git_repository_commondir(git->repo)))) {
		*out = p4r_path_join(common, "hooks");
	}
	git_error_clear();
	if (!*out)
		rc = p4r_error_set(P4R_ERROR, "out of memory");
done:
	git_buf_dispose(&buf);
	free(common);
	git_config_free(lvl);
	git_config_free(snap);
	git_config_free(cfg);
	return rc;
}

/* Whether the relative path REL has a ".." component. */
static bool has_dotdot(const char *rel)
{
	const char *p = rel;

	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return true;
		p += n;
		while (*p == '/')
			p++;
	}
	return false;
}

/* Opens the hooks folder DIR (made when missing) into *FD. One inside the
 * work tree (a relative core.hooksPath) is work-tree content: it is made
 * and opened below the root without following any link, as every other
 * path p4reg writes there. */
static int open_hooks_dir(p4r_git *git, const char *dir, int *fd)
{
	char *rel = p4r_git_relpath(git, dir), *probe = NULL;
	size_t glen = strlen(git->gitdir);
	const char *base;
	int root = -1, rc = 0;

	*fd = -1;
	if (rel && !has_dotdot(rel) && !(!strncmp(dir, git->gitdir, glen) && (dir[glen] == '/' || !dir[glen]))) {
		if ((root = open(git->workdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			rc = p4r_error_errno("cannot open '%s'", git->workdir);
			goto done;
		}
		/* the parent of "REL/x" is REL itself, made folder by folder */
		if (!(probe = p4r_path_join(rel, "x"))) {
			rc = p4r_error_set(P4R_ERROR, "out of memory");
			goto done;
		}
		rc = p4r_beneath_parent(fd, &base, root, probe, true);
		goto done;
	}
	if ((rc = p4r_mkdir_p(dir, 0755)) < 0)
		goto done;
	if ((*fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		rc = p4r_error_errno("cannot open the git hooks folder '%s'", dir);
done:
	if (root >= 0)
		close(root);
	free(probe);
	free(rel);
	return rc;
}

/* The hooks `git lfs install` writes, byte for byte. */
static const char *const lfs_hooks[] = { "pre-push", "post-checkout", "post-commit", "post-merge" };

static int lfs_hook_text(char *buf, size_t bufsz, const char *name)
{
	int n = snprintf(buf, bufsz,
			 "#!/bin/sh\n"
			 "command -v git-lfs >/dev/null 2>&1 || { echo >&2 \"\\nThis repository is configured "
			 "for Git LFS but 'git-lfs' was not found on your path. If you no longer wish to use "
			 "Git LFS, remove this hook by deleting '.git/hooks/%s'.\\n\"; exit 2; }\n"
			 "git lfs %s \"$@\"\n", name, name);

	if (n < 0 || (size_t)n >= bufsz)
		return p4r_error_set(P4R_ERROR, "hook text too long");
	return n;
}

/* Reads the regular file NAME in DIRFD (at most 64 KiB) into *OUT: 0 and
 * *OUT NULL when it is anything else or larger (a hook of the user's). */
static int read_hook(int dirfd, const char *name, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (p4r_read_file_at(out, len, dirfd, name, 65536, name) < 0) {
		p4r_error_clear();
		*out = NULL;
	}
	return 0;
}

/* fsyncs the open folder FD (DIR names it in messages). */
static int fsync_dir_fd(int fd, const char *dir)
{
	if (fsync(fd) < 0 && errno != EINVAL)
		return p4r_error_errno("cannot fsync '%s'", dir);
	return 0;
}

static int install_hook(int dirfd, const char *dir, const char *name, p4r_git_install *out)
{
	char text[1024], *have = NULL;
	size_t havelen = 0;
	struct stat st;
	int n, rc = 0;

	if ((n = lfs_hook_text(text, sizeof(text), name)) < 0)
		return n;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		read_hook(dirfd, name, &have, &havelen);
		if (have && !strcmp(name, "pre-push") && strstr(have, "\n" P4R_GIT_PRE_PUSH_MARKER "\n")) {
			/* p4reg's hook serves p4reg's filter only: git-lfs's takes its
			 * place, or the user's hook it ran first comes back */
			free(have);
			if (renameat(dirfd, "pre-push.local", dirfd, "pre-push") == 0) {
				out->hooks_kept++;
				return fsync_dir_fd(dirfd, dir);
			}
			if (errno != ENOENT)
				return p4r_error_errno("cannot put '%s/pre-push.local' back as 'pre-push'", dir);
			goto write;
		}
		if (!have || havelen != (size_t)n || memcmp(have, text, havelen))
			out->hooks_kept++;
		free(have);
		return 0;
	}
	if (errno != ENOENT)
		return p4r_error_errno("cannot stat the git hook '%s/%s'", dir, name);
write:
	if ((rc = p4r_write_file_atomic_at(dirfd, name, text, (size_t)n, 0755, name)) == 0)
		out->hooks_written++;
	return rc;
}

/* p4reg's pre-push hook. Constant text: no path is ever written into it
 * (the hook finds pre-push.local beside itself through $0, as data), so
 * no folder name can inject shell code. The marker line tells p4reg its
 * own hook from the user's (P4R_GIT_PRE_PUSH_MARKER). */
static const char p4reg_pre_push[] =
	"#!/bin/sh\n"
	P4R_GIT_PRE_PUSH_MARKER "\n"
	"# It uploads the Git LFS objects of the commits being pushed to p4reg's\n"
	"# default remote (docs/git.md). A pre-push hook that was here before\n"
	"# is kept as pre-push.local and runs first, with the same arguments and\n"
	"# input. 'git push --no-verify' skips both.\n"
	"command -v p4reg >/dev/null 2>&1 || {\n"
	"\techo >&2 \"p4reg: 'p4reg' is not on PATH, so the Git LFS objects of this push cannot be "
	"uploaded; install it, or push without them: git push --no-verify\"\n"
	"\texit 2\n"
	"}\n"
	"case $0 in\n"
	"*/*) local_hook=${0%/*}/pre-push.local ;;\n"
	"*) local_hook=pre-push.local ;;\n"
	"esac\n"
	"if [ -f \"$local_hook\" ] && [ -x \"$local_hook\" ]; then\n"
	"\tinput=\n"
	"\twhile IFS= read -r line || [ -n \"$line\" ]; do\n"
	"\t\tinput=\"$input$line\n"
	"\"\n"
	"\tdone\n"
	"\tprintf '%s' \"$input\" | \"$local_hook\" \"$@\" || exit $?\n"
	"\tprintf '%s' \"$input\" | p4reg pre-push \"$@\"\n"
	"\texit $?\n"
	"fi\n"
	"exec p4reg pre-push \"$@\"\n";

const char *p4r_git_pre_push_hook(void)
{
	return p4reg_pre_push;
}

/* Installs p4reg's pre-push hook in DIRFD: *ACTION says what became of
 * what was there. A hook of the user's moves to pre-push.local (a hard
 * link, then our hook renamed over the name: at no moment is there no
 * pre-push hook, and an interrupted run is finished by the next one). */
static int install_pre_push(int dirfd, const char *dir, p4r_hook_action *action)
{
	char lfs[1024], *have = NULL;
	size_t havelen = 0, textlen = sizeof(p4reg_pre_push) - 1;
	struct stat st, local;
	int n, rc = 0;

	*action = P4R_HOOK_WRITTEN;
	if (fstatat(dirfd, "pre-push", &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return p4r_error_errno("cannot stat the git hook '%s/pre-push'", dir);
		goto write;
	}
	if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
		*action = P4R_HOOK_CONFLICT;
		return 0;
	}
	if (S_ISREG(st.st_mode))
		read_hook(dirfd, "pre-push", &have, &havelen);
	if ((n = lfs_hook_text(lfs, sizeof(lfs), "pre-push")) < 0) {
		rc = n;
		goto done;
	}
	if (have && havelen == textlen && !memcmp(have, p4reg_pre_push, textlen) && (st.st_mode & 0111) == 0111) {
		*action = P4R_HOOK_CURRENT;
		goto done;
	}
	if (have && strstr(have, "\n" P4R_GIT_PRE_PUSH_MARKER "\n")) {
		*action = P4R_HOOK_UPDATED; /* an older p4reg hook, or one that lost its mode */
		goto write;
	}
	if (have && havelen == (size_t)n && !memcmp(have, lfs, havelen)) {
		/* git-lfs's own hook fails on every push without git-lfs */
		*action = P4R_HOOK_REPLACED_LFS;
		goto write;
	}
	if (fstatat(dirfd, "pre-push.local", &local, AT_SYMLINK_NOFOLLOW) == 0) {
		/* the same file: an earlier run stopped between link and rename */
		if (local.st_ino != st.st_ino || local.st_dev != st.st_dev) {
			*action = P4R_HOOK_CONFLICT;
			goto done;
		}
	} else if (errno != ENOENT) {
		rc = p4r_error_errno("cannot stat the git hook '%s/pre-push.local'", dir);
		goto done;
	} else if (linkat(dirfd, "pre-push", dirfd, "pre-push.local", 0) < 0) {
		if (errno == EEXIST) {
			*action = P4R_HOOK_CONFLICT;
			goto done;
		}
		rc = p4r_error_errno("cannot keep the git hook '%s/pre-push' as 'pre-push.local'", dir);
		goto done;
	}
	*action = P4R_HOOK_CHAINED;
write:
	rc = p4r_write_file_atomic_at(dirfd, "pre-push", p4reg_pre_push, textlen, 0755, "pre-push");
done:
	free(have);
	return rc;
}

const char *p4r_hook_action_name(p4r_hook_action a)
{
	switch (a) {
	case P4R_HOOK_NONE: return "none";
	case P4R_HOOK_WRITTEN: return "written";
	case P4R_HOOK_CURRENT: return "current";
	case P4R_HOOK_UPDATED: return "updated";
	case P4R_HOOK_CHAINED: return "chained";
	case P4R_HOOK_REPLACED_LFS: return "replaced";
	case P4R_HOOK_CONFLICT: return "conflict";
	}
	return "none";
}

int p4r_git_lfs_install(p4r_git *git, p4r_git_filter which, p4r_git_install *out)
{
	const struct filter_setting *set = which == P4R_GIT_FILTER_GIT_LFS ? git_lfs_settings : p4reg_settings;
	size_t nset = which == P4R_GIT_FILTER_GIT_LFS ? 4 : 2, i;
	git_config *cfg = NULL, *snap = NULL, *local = NULL;
	char *hooks = NULL;
	bool all = true;
	int rc = 0, dirfd = -1;

	memset(out, 0, sizeof(*out));
	if (git_repository_config(&cfg, git->repo) < 0 || git_config_snapshot(&snap, cfg) < 0) {
		rc = p4r_error_git(P4R_ERROR, "cannot read the git configuration");
		goto done;
	}
	for (i = 0; i < nset; i++)
		all = all && setting_in_effect(snap, &set[i]);
	if (!all) {
		if (git_config_open_level(&local, cfg, GIT_CONFIG_LEVEL_LOCAL) < 0) {
			rc = p4r_error_git(P4R_ERROR, "cannot open the repository's git configuration");
			goto done;
		}
		for (i = 0; i < nset && rc == 0; i++) {
			int e = set[i].value ? git_config_set_string(local, set[i].key, set[i].value)
					     : git_config_set_bool(local, set[i].key, 1);

			if (e < 0)
				rc = p4r_error_git(P4R_ERROR, "cannot set '%s' in the git configuration", set[i].key);
		}
		if (rc < 0)
			goto done;
		out->config_written = true;
	}
	if ((rc = p4r_git_hooks_dir(git, &hooks)) < 0)
		goto done;
	snprintf(out->hooks_dir, sizeof(out->hooks_dir), "%s", hooks);
	if ((rc = open_hooks_dir(git, hooks, &dirfd)) < 0)
		goto done;
	if (which == P4R_GIT_FILTER_P4REG) {
		rc = install_pre_push(dirfd, hooks, &out->pre_push);
		goto done;
	}
	for (i = 0; i < sizeof(lfs_hooks) / sizeof(lfs_hooks[0]) && rc == 0; i++)
		rc = install_hook(dirfd, hooks, lfs_hooks[i], out);
done:
	if (dirfd >= 0)
		close(dirfd);
	free(hooks);
	git_config_free(local);
	git_config_free(snap);
	git_config_free(cfg);
	return rc;
}

int p4r_git_lfs_extension(p4r_git *git, char *name, size_t namesz)
{
	static const char prefix[] = "lfs.extension.";
	git_config *cfg = NULL;
	git_config_iterator *it = NULL;
	git_config_entry *e;
	bool skip_system = skip_system_config();
	int rc = 0;

	name[0] = '\0';
	if (git_repository_config_snapshot(&cfg, git->repo) < 0 ||
	    git_config_iterator_glob_new(&it, cfg, "^lfs\\.extension\\..*\\.[a-z]+$") < 0) {
		rc = p4r_error_git(P4R_ERROR, "cannot read the git configuration");
		goto done;
	}
	while (!name[0] && git_config_next(&e, it) == 0) {
		const char *start = e->name + sizeof(prefix) - 1, *dot = strrchr(e->name, '.');

		if (skip_system && (e->level == GIT_CONFIG_LEVEL_SYSTEM || e->level == GIT_CONFIG_LEVEL_PROGRAMDATA))
			continue;
		if (dot > start)
			snprintf(name, namesz, "%.*s", (int)(dot - start), start);
	}
done:
	git_error_clear();
	git_config_iterator_free(it);
	git_config_free(cfg);
	return rc;
}

int p4r_git_stage(p4r_git *git, const char *const *abs_paths, size_t n)
{
	return p4r_git_stage_lfs(git, abs_paths, n, NULL, 0);
}

int p4r_git_stage_lfs(p4r_git *git, const char *const *abs_paths, size_t n,
		      const p4r_git_lfs_entry *lfs, size_t nlfs)
{
	return p4r_git_stage_update(git, abs_paths, n, lfs, nlfs, NULL, 0);
}

int p4r_git_index_has(p4r_git *git, const char *abs_path, bool *out)
{
	char *rel = p4r_git_relpath(git, abs_path);
	git_index *index = NULL;
	int rc = 0;

	*out = false;
	if (!rel)
		return p4r_error_set(P4R_ERROR, "'%s' is outside the git work tree", abs_path);
	if (git_repository_index(&index, git->repo) < 0 || git_index_read(index, 0) < 0)
		rc = p4r_error_git(P4R_ERROR, "cannot read the git index");
	else
		*out = git_index_get_bypath(index, rel, 0) != NULL;
	git_index_free(index);
	free(rel);
	return rc;
}

/* Whether two index entries say the same on disk: content, mode, stat,
 * flags (not libgit2's in-memory GIT_INDEX_ENTRY_UPTODATE). */
static bool same_entry(const git_index_entry *a, const git_index_entry *b)
{
	return git_oid_equal(&a->id, &b->id) && a->mode == b->mode && a->file_size == b->file_size &&
	       a->mtime.seconds == b->mtime.seconds && a->mtime.nanoseconds == b->mtime.nanoseconds &&
	       a->ctime.seconds == b->ctime.seconds && a->ctime.nanoseconds == b->ctime.nanoseconds &&
	       a->dev == b->dev && a->ino == b->ino && a->uid == b->uid && a->gid == b->gid &&
	       a->flags == b->flags &&
	       (a->flags_extended & GIT_INDEX_ENTRY_EXTENDED_FLAGS) ==
		       (b->flags_extended & GIT_INDEX_ENTRY_EXTENDED_FLAGS);
}

/* True when entry E already says what the file with stat ST holds, by
 * git's own rule: same size, mode, inode and times, and E older than the
 * index file (INDEX_MTIME) -- a file changed in the index's own timestamp
 * tick is racily clean and is hashed again. Staging it again would write
 * a blob object (a temporary file in .git/objects) for nothing. */
static bool entry_fresh(const git_index_entry *e, const struct stat *st, const struct timespec *index_mtime)
{
	mode_t mode = S_ISREG(st->st_mode) ? (st->st_mode & S_IXUSR ? 0100755 : 0100644) : 0;

	return mode && e->mode == mode && e->file_size == (uint32_t)st->st_size &&
	       e->ino == (uint32_t)st->st_ino && e->mtime.seconds == (int32_t)st->st_mtim.tv_sec &&
	       e->mtime.nanoseconds == (uint32_t)st->st_mtim.tv_nsec &&
	       e->ctime.seconds == (int32_t)st->st_ctim.tv_sec &&
	       e->ctime.nanoseconds == (uint32_t)st->st_ctim.tv_nsec &&
	       /* as git does: the index stores 32-bit seconds, compared unsigned */
	       ((uint32_t)e->mtime.seconds < (uint32_t)index_mtime->tv_sec ||
		((uint32_t)e->mtime.seconds == (uint32_t)index_mtime->tv_sec &&
		 e->mtime.nanoseconds < (uint32_t)index_mtime->tv_nsec));
}

/* Stages the work tree files ABS_PATHS in INDEX; *CHANGED when an entry
 * is new or differs from the one before. */
static int stage_paths(p4r_git *git, git_index *index, const char *const *abs_paths, size_t n,
		       bool *changed)
{
	size_t wlen = strlen(git->workdir), i;
	struct timespec index_mtime = { 0, 0 };
	char *index_path = p4r_path_join(git->gitdir, "index");
	struct stat st;

	/* the index's time first, then its entries: an index another git
	 * rewrote in between is read again, never judged by the older time */
	/* a link in place of the index (a hostile work tree) lends no time:
	 * then nothing counts as fresh and every path is staged as before */
	if (index_path && lstat(index_path, &st) == 0 && S_ISREG(st.st_mode))
		index_mtime = st.st_mtim;
	free(index_path);
	if (git_index_read(index, 0) < 0)
		return p4r_error_git(P4R_ERROR, "cannot read the git index");

	for (i = 0; i < n; i++) {
		const char *rel = abs_paths[i] + wlen;
		const git_index_entry *e;
		git_index_entry old;
		bool had;

		if (strncmp(abs_paths[i], git->workdir, wlen) || *rel != '/')
			return p4r_error_set(P4R_ERROR, "'%s' is outside the git work tree", abs_paths[i]);
		if ((had = (e = git_index_get_bypath(index, rel + 1, 0)) != NULL))
			old = *e;
		if (had && lstat(abs_paths[i], &st) == 0 && entry_fresh(e, &st, &index_mtime))
			continue;
		if (git_index_add_bypath(index, rel + 1) < 0)
			return p4r_error_git(P4R_ERROR, "cannot stage '%s'", rel + 1);
		e = git_index_get_bypath(index, rel + 1, 0);
		*changed = *changed || !had || !e || !same_entry(&old, e);
	}
	return 0;
}

/* Removes REMOVE (absolute paths) from INDEX. */
static int unstage_paths(p4r_git *git, git_index *index, const char *const *remove, size_t nremove)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < nremove && rc == 0; i++) {
		char *rel = p4r_git_relpath(git, remove[i]);

		if (!rel)
			return p4r_error_set(P4R_ERROR, "'%s' is outside the git work tree", remove[i]);
		/* an entry that is not there is nothing to remove */
		if (git_index_remove_bypath(index, rel) < 0)
			rc = p4r_error_git(P4R_ERROR, "cannot unstage '%s'", rel);
		free(rel);
	}
	return rc;
}

int p4r_git_stage_update(p4r_git *git, const char *const *abs_paths, size_t n,
			 const p4r_git_lfs_entry *lfs, size_t nlfs, const char *const *remove,
			 size_t nremove)
{
	git_index *index = NULL;
	char *lock = NULL;
	/* Git LFS entries and removals always write; re-staging files that did
	 * not change does not: a new index would cost the next command its
	 * trust cache (repo/trustcache.h), and git its own stat checks */
	bool changed = nlfs > 0 || nremove > 0;
	struct stat st;
	size_t i;
	int rc = 0;

	lock = p4r_path_join(git_repository_path(git->repo), "index.lock");
	if (lock && stat(lock, &st) == 0) {
		rc = p4r_error_set(P4R_ERROR, "cannot stage in git: '%s' exists; another git process "
				   "may be running (remove the file if not)", lock);
		goto done;
	}
	if (git_repository_index(&index, git->repo) < 0) {
		rc = p4r_error_git(P4R_ERROR, "cannot open the git index");
		goto done;
	}
	if ((rc = stage_paths(git, index, abs_paths, n, &changed)) < 0)
		goto done;
	for (i = 0; i < nlfs && rc == 0; i++)
		rc = add_lfs_entry(git, index, &lfs[i]);
	if (rc < 0 || (rc = unstage_paths(git, index, remove, nremove)) < 0)
		goto done;
	if (changed && git_index_write(index) < 0)
		rc = p4r_error_git(P4R_ERROR, "cannot write the git index");
done:
	if (rc < 0 && index)
		git_index_read(index, 1); /* drop what was half-added in memory */
	git_index_free(index);
	free(lock);
	return rc;
}

/* Adds the first component of NAME (a path below the folder) to the
 * space-separated LIST unless it is in EXCEPT or already there. */
static int note_piece(char **list, const char *prefix, const char *name, const char *const *except)
{
	size_t len = strcspn(name, "/"), k, old, need;
	char piece[512], *grown;

	if (!len || len >= sizeof(piece) - strlen(prefix) - 2)
		return 0;
	for (k = 0; except && except[k]; k++)
		if (strlen(except[k]) == len && !strncmp(name, except[k], len))
			return 0;
	snprintf(piece, sizeof(piece), "%s/%.*s", prefix, (int)len, name);
	if (*list) {
		const char *p = *list;

		while ((p = strstr(p, piece))) {
			if ((p == *list || p[-1] == ' ') && (p[strlen(piece)] == ' ' || !p[strlen(piece)]))
				return 0;
			p++;
		}
	}
	old = *list ? strlen(*list) : 0;
	need = old + strlen(piece) + 2;
	if (!(grown = realloc(*list, need)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	snprintf(grown + old, need - old, "%s%s", old ? " " : "", piece);
	*list = grown;
	return 0;
}

/* Notes in LIST the pieces of ABS (below the work tree TOP) that INDEX
 * holds, but those in EXCEPT. */
static int list_index(char **list, git_index *index, const char *top, const char *abs,
		      const char *name, const char *const *except)
{
	const git_index_entry *e;
	/* the index names paths relative to the work tree */
	const char *prefix = abs + strlen(top) + (strcmp(top, "/") ? 1 : 0);
	size_t plen = strlen(prefix), i;
	int rc = 0;

	for (i = 0; rc == 0 && i < git_index_entrycount(index); i++) {
		e = git_index_get_byindex(index, i);
		if (e && !strncmp(e->path, prefix, plen) && e->path[plen] == '/')
			rc = note_piece(list, name, e->path + plen + 1, except);
	}
	return rc;
}

/* SRC's folders: where REPO keeps its index and config. */
static int note_source(p4r_git_source *src, git_repository *repo)
{
	if (!(src->gitdir = strip_slash(git_repository_path(repo))) ||
	    !(src->commondir = strip_slash(git_repository_commondir(repo))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	return 0;
}

/* What libgit2's index says about NAME below ROOT; *UNREADABLE when it
 * cannot open the repository at all (an extension it lacks, say) although
 * one is there; SRC->top gets the work tree (NULL outside git), and the
 * folders read when the answer is libgit2's. */
static int tracked_by_libgit2(char **list, const char *root, const char *name,
			      const char *const *except, bool *unreadable, p4r_git_source *src)
{
	git_repository *repo = NULL;
	git_index *index = NULL;
	char *abs = p4r_path_join(root, name);
	int rc = 0;

	*unreadable = false;
	if (!abs)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if (!(src->top = p4r_git_find_toplevel(root))) {
		free(abs);
		return 0; /* not in a git work tree: git tracks nothing */
	}
	if ((rc = p4r_libgit2_init()) < 0) {
		free(abs);
		return rc;
	}
	rc = open_worktree_repo(&repo, src->top, unreadable);
	if (rc < 0 && *unreadable)
		rc = 0; /* the caller asks git itself */
	else if (rc == 0 && repo && git_repository_index(&index, repo) < 0)
		*unreadable = true;
	else if (rc == 0 && repo && (rc = list_index(list, index, src->top, abs, name, except)) == 0)
		rc = note_source(src, repo);
	git_error_clear();
	git_index_free(index);
	git_repository_free(repo);
	p4r_libgit2_shutdown();
	free(abs);
	return rc;
}

/* The same asked of git itself (no shell), for repositories libgit2
 * cannot open: `git ls-files -z -- PATH` with the git directory and work
 * tree named (never searched for) and nothing run on the way. TOP is the
 * work tree, PATH is ROOT/NAME relative to it. */
static int tracked_by_git(char **list, const char *top, const char *root, const char *name,
			  const char *const *except)
{
	char *gitdir = p4r_path_join(top, ".git"), *abs = p4r_path_join(root, name), gd[PATH_MAX + 16],
	     wt[PATH_MAX + 16];
	const char *rel = abs ? abs + strlen(top) + (strcmp(top, "/") ? 1 : 0) : "";
	char *argv[] = { "git", gd, wt, "-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null",
			 "-C", (char *)top, "ls-files", "-z", "--full-name", "--", (char *)rel, NULL };
	posix_spawn_file_actions_t fa;
	char buf[65536], *out = NULL, *p, *grown;
	size_t used = 0, nlen;
	int fds[2], status = 0, rc = 0;
	ssize_t n;
	pid_t pid;

	if (!gitdir || !abs) {
		free(gitdir);
		free(abs);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	snprintf(gd, sizeof(gd), "--git-dir=%s", gitdir);
	snprintf(wt, sizeof(wt), "--work-tree=%s", top);
	nlen = strlen(rel);
	free(gitdir);
	if (pipe2(fds, O_CLOEXEC) < 0) {
		free(abs);
		return p4r_error_errno("cannot start git");
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	rc = posix_spawnp(&pid, "git", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		free(abs);
		errno = rc;
		return p4r_error_errno("cannot run git to see what it tracks in '%s'", root);
	}
	while ((n = read(fds[0], buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || used + (size_t)n > (16u << 20) || !(grown = realloc(out, used + (size_t)n + 1))) {
			rc = p4r_error_set(P4R_ERROR, "cannot read what git tracks in '%s'", root);
			break;
		}
		out = grown;
		memcpy(out + used, buf, (size_t)n);
		used += (size_t)n;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
		rc = p4r_error_set(P4R_ERROR, "git cannot list what it tracks in '%s'", root);
	for (p = out; rc == 0 && p && p < out + used; p += strlen(p) + 1) {
		out[used] = '\0';
		if (!strncmp(p, rel, nlen) && p[nlen] == '/')
			rc = note_piece(list, name, p + nlen + 1, except);
	}
	free(out);
	free(abs);
	return rc;
}

int p4r_git_tracked_pieces_from(const char *root, const char *name, const char *const *except,
				char **out, p4r_git_source *from)
{
	p4r_git_source src = { NULL, NULL, NULL };
	bool unreadable = false;
	int rc;

	*out = NULL;
	rc = tracked_by_libgit2(out, root, name, except, &unreadable, &src);
	if (rc == 0 && unreadable && src.top && (rc = tracked_by_git(out, src.top, root, name, except)) < 0)
		rc = p4r_error_set(P4R_EREFUSED, "%s; p4reg cannot tell whether git tracks private state "
				   "in '%s/%s', so it does not trust it", p4r_error_message(), root, name);
	if (rc < 0) {
		free(*out);
		*out = NULL;
	}
	if (rc == 0 && from) {
		*from = src;
		return 0;
	}
	p4r_git_source_clear(&src);
	return rc;
}

int p4r_git_tracked_pieces(const char *root, const char *name, const char *const *except, char **out)
{
	return p4r_git_tracked_pieces_from(root, name, except, out, NULL);
}

void p4r_git_source_clear(p4r_git_source *src)
{
	free(src->top);
	free(src->gitdir);
	free(src->commondir);
	memset(src, 0, sizeof(*src));
}

/* user.name <user.email> as git would commit here: the work tree's own
 * config first (libgit2 layers local over global), else the user's. */
char *p4r_git_identity(const char *dir)
{
	git_repository *grepo = NULL;
	git_config *cfg = NULL;
	git_buf name = GIT_BUF_INIT, email = GIT_BUF_INIT;
	char *who = NULL, *top;
	size_t sz;

	/* without libgit2 the caller falls back to the login name */
	if (p4r_libgit2_init() < 0) {
		p4r_error_clear();
		return NULL;
	}
	top = p4r_git_find_toplevel(dir);
	if (top && open_worktree_repo(&grepo, top, NULL) == 0 && grepo) {
		if (git_repository_config_snapshot(&cfg, grepo) < 0)
			cfg = NULL;
	}
	if (!cfg && git_config_open_default(&cfg) < 0)
		cfg = NULL;
	git_error_clear();
	if (cfg && git_config_get_string_buf(&name, cfg, "user.name") == 0 && name.size) {
		if (git_config_get_string_buf(&email, cfg, "user.email") == 0 && email.size) {
			sz = name.size + email.size + 4;
			if ((who = malloc(sz)))
				snprintf(who, sz, "%s <%s>", name.ptr, email.ptr);
		} else {
			who = strdup(name.ptr);
		}
	}
	git_error_clear();
	git_buf_dispose(&name);
	git_buf_dispose(&email);
	git_config_free(cfg);
	git_repository_free(grepo);
	p4r_libgit2_shutdown();
	free(top);
	return who;
}
