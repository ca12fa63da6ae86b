/* Everything p4reg asks of git, through libgit2 (never a git process):
 * provenance of a version, staging pointer files and Git LFS pointer blobs
 * in the index, attributes, and the filter.lfs configuration. Outside a
 * git work tree these report "no git" and p4reg works without git features. */
#ifndef P4REG_GITIO_H
#define P4REG_GITIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "p4reg/hash.h"

typedef struct p4r_git p4r_git;

/* Opens the git work tree containing DIR. *OUT is NULL (and 0 returned) when
 * there is none or the repository is bare: git features are then skipped. */
int p4r_git_open(p4r_git **out, const char *dir);
void p4r_git_free(p4r_git *git);
/* Like p4r_git_open; when *OUT is NULL, *WHY (nullable) says why in words
 * fit for a notice ("not inside a git work tree", "the git repository is
 * bare"). */
int p4r_git_open_why(p4r_git **out, const char *dir, const char **why);

/* Absolute path of the work tree root (with no trailing slash). */
const char *p4r_git_workdir(const p4r_git *git);

/* Where the work tree stands: HEAD commit (NULL on an unborn branch), the
 * branch's short name (NULL when detached; before the first commit, the
 * unborn branch HEAD names), and whether tracked files differ
 * from HEAD (untracked files do not count). Strings are malloc'd. */
typedef struct p4r_git_provenance {
	char *commit;
	char *branch;
	int dirty; /* 1, 0, -1 unknown */
} p4r_git_provenance;

int p4r_git_provenance_get(p4r_git *git, p4r_git_provenance *out);
void p4r_git_provenance_clear(p4r_git_provenance *p);

/* Adds the files at ABS_PATHS (absolute, inside the work tree) to the index
 * and writes it, all or nothing. A locked index (index.lock) is an error
 * naming the lock file; nothing is staged then. */
int p4r_git_stage(p4r_git *git, const char *const *abs_paths, size_t n);

/* The git folder (.git, or the worktree's git dir), no trailing slash. */
const char *p4r_git_dir(const p4r_git *git);

/* ABS_PATH relative to the work tree root ('/'-separated), malloc'd; NULL
 * when it is not inside the work tree (or out of memory). */
char *p4r_git_relpath(const p4r_git *git, const char *abs_path);

/* Whether the "filter" attribute of ABS_PATH is "lfs" (.gitattributes of the
 * work tree, then the index; system attributes are not read). */
int p4r_git_is_lfs_path(p4r_git *git, const char *abs_path, bool *out);

/* Git LFS's local storage: lfs.storage when set (relative to the git
 * folder), else <common git dir>/lfs. Malloc'd; NULL when out of memory. */
char *p4r_git_lfs_dir(p4r_git *git);

/* A file to stage as a Git LFS pointer blob (p4r_lfs_pointer_format). */
typedef struct p4r_git_lfs_entry {
	const char *abs_path; /* the work tree file: its stat goes in the index */
	p4r_oid oid;
	uint64_t size;
} p4r_git_lfs_entry;

/* p4r_git_stage plus LFS[0..NLFS): each gets the canonical pointer blob as
 * its index entry, with the work tree file's stat (so git sees it clean).
 * One index write for all; a failure stages nothing. */
int p4r_git_stage_lfs(p4r_git *git, const char *const *abs_paths, size_t n,
		      const p4r_git_lfs_entry *lfs, size_t nlfs);

/* p4r_git_stage_lfs that also drops the index entries of REMOVE[0..NREMOVE)
 * (absolute paths; git rm --cached: the files stay), in the same index
 * write. An entry that is not there is no error. */
int p4r_git_stage_update(p4r_git *git, const char *const *abs_paths, size_t n,
			 const p4r_git_lfs_entry *lfs, size_t nlfs, const char *const *remove,
			 size_t nremove);

/* *OUT: git's index has an entry for ABS_PATH (git tracks that file). */
int p4r_git_index_has(p4r_git *git, const char *abs_path, bool *out);

/* Reads the index entry of ABS_PATH: *FOUND is true when it is a Git LFS
 * pointer blob, whose oid and size are returned. A pointer with
 * extensions is P4R_ERROR naming the path and the extension
 * (p4r_lfs_pointer_unsupported): its object is not the file's bytes. */
int p4r_git_index_lfs_pointer(p4r_git *git, const char *abs_path, p4r_oid *oid, uint64_t *size,
			      bool *found);

/* True when an executable git-lfs is on PATH (nothing is run). */
bool p4r_git_lfs_on_path(void);

/* Which program serves filter=lfs. */
typedef enum p4r_git_filter {
	P4R_GIT_FILTER_GIT_LFS, /* git-lfs, as `git lfs install` configures it */
	P4R_GIT_FILTER_P4REG,   /* `p4reg filter-process` */
} p4r_git_filter;

/* What became of git's pre-push hook when p4reg's filter was installed. */
typedef enum p4r_hook_action {
	P4R_HOOK_NONE,         /* not asked (git-lfs is the filter) */
	P4R_HOOK_WRITTEN,      /* there was none: p4reg's hook written */
	P4R_HOOK_CURRENT,      /* p4reg's hook already there, unchanged */
	P4R_HOOK_UPDATED,      /* an older p4reg hook (or one not executable) rewritten */
	P4R_HOOK_CHAINED,      /* the user's hook kept as pre-push.local, run first by p4reg's */
	P4R_HOOK_REPLACED_LFS, /* git-lfs's own hook (which fails without git-lfs) replaced */
	P4R_HOOK_CONFLICT,     /* not installed: pre-push.local is another file, or
				* pre-push is neither a file nor a link; nothing touched */
} p4r_hook_action;

/* "written", "current", "updated", "chained", "replaced", "conflict", "none". */
const char *p4r_hook_action_name(p4r_hook_action a);

/* What p4r_git_lfs_install did. */
typedef struct p4r_git_install {
	bool config_written;   /* filter.lfs.* set in the repository's .git/config */
	int hooks_written;     /* git-lfs hooks newly installed */
	int hooks_kept;        /* hooks left alone because they already had other content */
	p4r_hook_action pre_push; /* p4reg's filter: its pre-push hook */
	char hooks_dir[4096];  /* where the hooks are (p4r_git_hooks_dir) */
} p4r_git_install;

/* Makes filter=lfs work for plain git in this repository. With WHICH git-lfs:
 * unless the effective config already has them, writes the four
 * filter.lfs.{clean,smudge,process,required} values `git lfs install`
 * writes (to the repository config, as `git lfs install --local`) and the
 * pre-push, post-checkout, post-commit and post-merge hooks it installs
 * (an existing hook with other content is left alone). With WHICH p4reg:
 * filter.lfs.process = "p4reg filter-process" and filter.lfs.required =
 * true in the repository config, unless already in effect, and p4reg's
 * pre-push hook (p4r_git_pre_push_hook), which uploads the Git LFS objects
 * of a push: a hook of the user's already there is renamed pre-push.local
 * and run first by p4reg's; running this again changes nothing. Hooks go
 * where git looks for them (p4r_git_hooks_dir), written atomically, 0755. */
int p4r_git_lfs_install(p4r_git *git, p4r_git_filter which, p4r_git_install *out);

/* Where git runs hooks from (githooks(5)): core.hooksPath as git would
 * read it (relative to the work tree root, "~/" expanded), else the
 * common git folder's "hooks". Malloc'd into *OUT. */
int p4r_git_hooks_dir(p4r_git *git, char **out);

/* The second line of p4reg's pre-push hook: how p4reg knows its own. */
#define P4R_GIT_PRE_PUSH_MARKER "# p4reg pre-push hook, installed by 'p4reg track'."

/* The text of p4reg's pre-push hook (constant: it names no path). */
const char *p4r_git_pre_push_hook(void);

/* The name of a Git LFS extension the git configuration registers
 * (lfs.extension.NAME.*) into NAME, "" when there is none. */
int p4r_git_lfs_extension(p4r_git *git, char *name, size_t namesz);

/* The pieces of the folder NAME (relative to ROOT, e.g. ".p4reg") that
 * git tracks, other than the names in EXCEPT (NULL-terminated): their
 * first path components, "NAME/x NAME/y", malloc'd into *OUT (NULL when
 * none). Asks libgit2, else git itself when libgit2 cannot open the
 * repository (an extension it lacks); P4R_EREFUSED when neither can say. */
int p4r_git_tracked_pieces(const char *root, const char *name, const char *const *except, char **out);

/* What git's answer above was read from, for the trust cache
 * (repo/trustcache.c): the work tree, and the git directory and common
 * directory whose index and config libgit2 read. TOP is NULL outside git;
 * GITDIR and COMMONDIR are NULL unless the answer is libgit2's (git itself
 * was asked, or git tracks nothing because there is no git). */
typedef struct p4r_git_source {
	char *top, *gitdir, *commondir; /* malloc'd, nullable */
} p4r_git_source;

/* p4r_git_tracked_pieces, and on success where the answer came from into
 * *FROM (nullable; cleared with p4r_git_source_clear). */
int p4r_git_tracked_pieces_from(const char *root, const char *name, const char *const *except,
				char **out, p4r_git_source *from);
void p4r_git_source_clear(p4r_git_source *src);

/* "user.name <user.email>" as git would commit in DIR's work tree (its
 * config over the user's), or just the name; NULL when unset. Malloc'd. */
char *p4r_git_identity(const char *dir);

#endif
