/* p4r_import_git_lfs, the operation of `p4reg import git-lfs`: the Git LFS
 * history of HEAD registered as versions, one per commit that changed a
 * path's pointer, with that commit's author, date, id and subject; the
 * bytes taken from .git/lfs/objects (verified) when git-lfs has them. */
#ifndef P4REG_OPS_IMPORT_H
#define P4REG_OPS_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p4reg/hash.h"
#include "p4reg/ops/op.h"
#include "p4reg/registry.h"
#include "p4reg/repo.h"

/* --stage STAGE=REV: the version of REV's commit moved to STAGE. */
typedef struct p4r_import_stage {
	p4r_stage stage;          /* validation, staging or production */
	const char *rev;          /* any revision libgit2 resolves */
} p4r_import_stage;

/* What `import git-lfs` was asked. */
typedef struct p4r_import_opts {
	const char *const *paths; /* PATH or PATTERN (fnmatch, '*' crosses '/'), as
				   * typed: relative to the current folder; a
				   * folder takes every path below it; none: all */
	size_t npaths;
	const char *name;         /* --name: the model of the one path imported */
	const char *since;        /* --since REV: only the commits after REV */
	bool all_parents;         /* --all-parents: the commits of merged branches too */
	bool dry_run;             /* decide and report, change nothing */
	unsigned threads;         /* hashing threads; 0: one per core */
	bool history;             /* dvc --history: every commit that changed a .dvc
				   * file, not only the work tree's */
	bool write_pointers;      /* dvc --write-pointers: a p4reg pointer beside
				   * each output (its newest version), staged */
	const char *dvc_cache;    /* dvc --dvc-cache: DVC's cache folder, as typed (the
				   * user's: followed); NULL: each DVC repository's own */
	const p4r_import_stage *stages; /* --stage (git-lfs, dvc --history); one per stage */
	size_t nstages;
} p4r_import_opts;

typedef enum p4r_import_state {
	P4R_IMPORT_REGISTERED, /* a new version (a dry run: would be) */
	P4R_IMPORT_STORED,     /* imported before without its bytes: now in the store */
	P4R_IMPORT_REFUSED,    /* the commit's blob is no pointer p4reg takes: nothing
				* registered for it */
} p4r_import_state;

/* One change of the history that the import acted on. */
typedef struct p4r_import_row {
	p4r_import_state state;
	char *path;               /* repository-relative */
	char model[P4R_MODEL_NAME_MAX + 1]; /* "" when refused */
	int64_t version;          /* its number; 0 when refused */
	char commit[41];          /* the commit that set the pointer */
	char *author;             /* "Name <email>" of the commit */
	int64_t created_ms;       /* the commit's author date */
	char *message;            /* the commit's subject */
	p4r_oid oid;              /* refused: ""; a folder: its manifest's */
	uint64_t size;
	int64_t files;            /* dvc: a directory output's file count; 0: a file */
	int64_t tree_size;        /* and its files' total bytes */
	bool downloaded;          /* the bytes are in the store (a dry run: would be) */
	char *why;                /* refused: the one-line reason */
	int code;                 /* refused: its code (P4R_EINTEGRITY for a blob
				   * that is no valid pointer or .dvc file) */
	char *source;             /* dvc: the .dvc file; NULL for git-lfs */
	bool from_history;        /* COMMIT set it (git-lfs, dvc --history); false:
				   * the work tree's .dvc file (COMMIT is HEAD) */
	char *pointer;            /* dvc --write-pointers: the pointer written */
} p4r_import_row;

/* A model nothing was registered for: its binding is refused, or one of
 * its objects in .git/lfs/objects is not what its pointer says. */
typedef struct p4r_import_failure {
	char model[P4R_MODEL_NAME_MAX + 1]; /* "" when no name could be made */
	char *path;
	int code;                 /* P4R_EINTEGRITY for a corrupt object */
	char *why;                /* one line */
} p4r_import_failure;

/* What one --stage did to one model of the import. */
typedef struct p4r_import_staged {
	char model[P4R_MODEL_NAME_MAX + 1];
	int64_t version;          /* the version of the commit; 0: none */
	p4r_stage stage;          /* --stage's */
	p4r_stage from;           /* the version's stage before */
	const char *rev;          /* as typed (OPTS's) */
	char commit[41];          /* REV's commit */
	bool moved;               /* moved now (a dry run: would be); false: it was
				   * there already, or VERSION is 0 */
	char *why;                /* VERSION 0: why nothing was moved; else NULL */
} p4r_import_staged;

typedef struct p4r_import_result {
	p4r_import_row *rows;     /* per model (in the order of their first change),
				   * in commit order */
	size_t n;
	p4r_import_failure *failures;
	size_t nfailures;
	size_t registered;        /* rows REGISTERED */
	size_t not_downloaded;    /* of those, without bytes */
	size_t stored;            /* rows STORED */
	size_t refused;           /* rows REFUSED */
	size_t already;           /* changes imported before (skipped) */
	size_t models;            /* models with a REGISTERED row */
	size_t pointers;          /* dvc --write-pointers: pointers written */
	char *lfs_dir;            /* Git LFS's object folder (the bytes' source) */
	p4r_import_staged *staged; /* --stage: per model that did not fail, per stage */
	size_t nstaged;
	int code;                 /* the worst code of the refusals and failures;
				   * 0 when there is none */
} p4r_import_result;

/* Walks HEAD's history (p4r_git_lfs_history: first parents unless
 * OPTS->all_parents, after OPTS->since) for the paths OPTS names and
 * registers, per path and in commit order, every change to a Git LFS
 * pointer the registry does not have yet. A change is had when the model
 * has a version (deleted ones too) with its commit and oid, or with its
 * oid and a commit that set no pointer of the path (an earlier `p4reg
 * add` of those bytes; each such version stands for one change). A path's
 * model is the one bound to it, else OPTS->name (one path only), else
 * its default name (as add makes it). Bytes come from Git LFS's objects
 * (p4r_git_lfs_dir) into the store per core.cacheType, hashed on the way
 * (in parallel): a version whose object is not there is registered
 * without it (not downloaded); a re-run stores the bytes of those that
 * came since (STORED rows). Each model is one transaction; a refused
 * binding or an object that is not its pointer's bytes (P4R_EINTEGRITY)
 * registers nothing for that model (OUT->failures) and the others go on;
 * a blob that starts as a pointer but is none (lfs.h), or a change a
 * remote would refuse, is a REFUSED row (P4R_EINTEGRITY) and the rest of
 * its model goes on. OUT->code is the worst of those; the return is 0
 * then. A dry run registers each model in a transaction it rolls back
 * (so the numbers are exact) and reads no object (downloaded: Git LFS
 * has it). Returns P4R_ERROR outside a git work tree, P4R_EUSAGE for
 * OPTS->name with more than one path, P4R_ENOTFOUND when a PATH names
 * nothing the history has. OPTS->stages: each REV is resolved before
 * anything is read (P4R_EUSAGE when it names no commit); in each model's
 * transaction, after its versions, the version of REV's commit (a new
 * one, or one imported before) is moved to the stage by
 * p4r_lifecycle_promote (forced, no gates, reason "import --stage
 * STAGE=REV"), unless it is there already; OUT->staged says what each
 * did, with WHY when the commit has no version of the model. Free OUT
 * with p4r_import_result_free either way. */
int p4r_import_git_lfs(p4r_repo *repo, const p4r_import_opts *opts, const p4r_op_report *report,
		       p4r_import_result *out);

/* `import dvc`: the outputs of the work tree's .dvc files (OPTS->paths:
 * .dvc files, or folders searched for them, hidden ones and links left
 * out; none: the whole repository), or with OPTS->history those of every
 * commit of HEAD's history that changed one (as p4r_import_git_lfs walks
 * it). An output is a model as there (its path is the .dvc file's folder
 * joined with the output's). Its bytes come from the DVC cache --
 * OPTS->dvc_cache, else the cache.dir the nearest .dvc folder's config
 * sets inside the repository (one outside refuses its outputs,
 * P4R_EINTEGRITY), else that folder's cache; files/md5/ab/..., else
 * ab/..., opened without following a link -- whose MD5 (DVC 2's
 * md5-dos2unix for an output without "hash: md5") and size must be the
 * .dvc file's, and are stored by SHA-256 per core.cacheType (a dry run
 * hashes without storing): a corrupt entry registers nothing for its model
 * (P4R_EINTEGRITY in OUT->failures). A directory output's listing is read
 * and checked, each of its files so, and the version is the folder's
 * manifest (a row's FILES and TREE_SIZE set). The work tree's outputs are
 * registered as `add` registers (by whoever runs it, now, with HEAD's
 * provenance; a model that has those bytes is unchanged, counted in
 * OUT->already); the history's (below the repository's folder of the git
 * work tree) with their commits' author, date, id and subject, a change
 * known when its model has a version of that commit. Refused rows (the
 * rest goes on): a .dvc file that does not decode (P4R_EINTEGRITY), an
 * output (or a folder's file) not in the cache (P4R_ERROR). With
 * OPTS->write_pointers a pointer is written beside each output for its
 * model's newest version, with its .gitignore line, and staged as add
 * stages. OPTS->stages (with
 * OPTS->history only) as p4r_import_git_lfs does them. */
int p4r_import_dvc(p4r_repo *repo, const p4r_import_opts *opts, const p4r_op_report *report,
		   p4r_import_result *out);

void p4r_import_result_free(p4r_import_result *r);

#endif
