/* p4r_add, the operation of `p4reg add`: store files, register them as the
 * next versions of their models, write their pointers (or Git LFS objects)
 * and stage those in git. */
#ifndef P4REG_OPS_ADD_H
#define P4REG_OPS_ADD_H

#include <stdbool.h>
#include <stddef.h>

#include "p4reg/objguard.h"
#include "p4reg/ops/op.h"
#include "p4reg/registry.h"
#include "p4reg/repo.h"
#include "p4reg/store.h"

/* What `add` was asked. */
typedef struct p4r_add_opts {
	const char *const *paths; /* the files, as the user typed them (relative
				   * to the current folder) */
	size_t npaths;
	const char *name;         /* -n: the model of the one path; NULL: the
				   * binding rules (docs/commands.md, "add") */
	const char *message;      /* -m, nullable */
	const char *const *excludes; /* --exclude PATTERN of a folder (dirwalk.h) */
	size_t nexcludes;
	bool no_stage;            /* --no-stage: nothing goes into git's index */
	const char *const *tags;  /* --tag KEY=VALUE: set on each version added
				   * (or found unchanged), in the same transaction */
	size_t ntags;
	unsigned threads;         /* hashing threads; 0: one per core */
	bool from_input;          /* `add -n NAME -`: the one version's bytes come
				   * from INPUT_FD, not PATHS (see p4r_add) */
	int input_fd;             /* with FROM_INPUT: where they come from (stdin) */
	const char *input_path;   /* with FROM_INPUT: --path, where a new model's
				   * file goes (as typed); NULL for an existing model */
} p4r_add_opts;

/* One file added: a row of the command's output. */
typedef struct p4r_add_file {
	char *rel;                /* repository-relative path */
	p4r_version version;      /* the version the registry now holds for it */
	p4r_add_outcome outcome;  /* new, unchanged (latest) or identical (older) */
	char *moved_from;         /* -n NAME of a model bound elsewhere: its old
				   * path, which it left; NULL otherwise */
	bool lfs;                 /* git sends the path to Git LFS: no pointer file */
	bool git_tracked;         /* git's index has the binary itself */
	char *git_rel;            /* then: its path from the top of git's work
				   * tree, for the 'git rm --cached' line; NULL
				   * otherwise (or out of memory) */
} p4r_add_file;

/* What `add` did. */
typedef struct p4r_add_result {
	p4r_add_file *files;      /* one per path, in the order given */
	size_t n;
	p4r_guard_log damage;     /* damaged objects the guard met (objguard.h);
				   * the command reports them after the rows */
	p4r_link_type order[P4R_LINK_MAX]; /* how files went into the store */
	size_t norder;            /* 0 when nothing reached the store step */
} p4r_add_result;

/* Adds OPTS->paths: each is checked (a regular file or a folder below the
 * root, not a pointer or a link, not inside a folder model: P4R_EUSAGE)
 * and bound to its model before
 * anything is written; the files the stat cache does not vouch for are
 * read once each, hashed and stored on OPTS->threads threads ("hashing"
 * progress when there is one file); the object guard looks at what the
 * store did; every version, move and stat cache row is registered in one
 * transaction; then the pointers and .gitignore lines (or Git LFS
 * objects) are written and, unless OPTS->no_stage or core.autostage says
 * otherwise, staged in git in one index write ("not inside a git work
 * tree" is a note). A folder is one model (docs/commands.md, "add"): its
 * files (dirwalk.h, less OPTS->excludes and its .p4regignore) are read in
 * the same parallel loop, its version is their manifest (kind dir), its
 * pointer FOLDER.p4reg, its .gitignore line "/NAME/"; a model never
 * switches between file and folder (P4R_EUSAGE). On failure nothing is
 * registered. OUT is filled as far
 * as it got; free it with p4r_add_result_free either way. */
int p4r_add(p4r_repo *repo, const p4r_add_opts *opts, const p4r_op_report *report, p4r_add_result *out);
/* With OPTS->from_input (PATHS unused), p4r_add first streams everything
 * OPTS->input_fd delivers (never held in memory) into the work-tree file
 * of model OPTS->name: its bound path, or OPTS->input_path for a model
 * that does not exist yet (without it: P4R_ENOTFOUND); the file is written
 * beside that path and renamed over it, then added as above. Refused
 * before anything is written: no or an invalid name, --path of an existing
 * model elsewhere, a folder model, a path another model holds or inside a
 * folder model (P4R_EUSAGE), a file there that is not regular (P4R_EUSAGE)
 * or whose bytes are in no version (P4R_ERROR). Once renamed, the bytes
 * stay in the work tree even when the add then fails. */

void p4r_add_result_free(p4r_add_result *r);

#endif
