/* What add.c and add_dir.c share: one run of p4r_add, its items (a file or
 * a folder model each) and the git staging written at the end. */
#ifndef P4REG_OPS_ADD_PRIV_H
#define P4REG_OPS_ADD_PRIV_H

#include "p4reg/dirwalk.h"
#include "p4reg/gitio.h"
#include "p4reg/manifest.h"
#include "p4reg/ops/add.h"

#include <pthread.h>
#include <stdint.h>

/* One file of a folder model. */
struct dir_file {
	char *rel;              /* repository path ("models/minilm/config.json") */
	p4r_stat_key before;    /* as the walk saw it */
	p4r_stat_key after;     /* once read */
	bool cached;            /* oid from the stat cache: not read */
	bool exec;              /* user-executable: mode 755 in the manifest */
	bool shared;            /* more than one link once stored (a hard link) */
	p4r_insert_result ins;  /* what the store did */
};

/* A folder model being added. */
struct add_dir {
	int fd;                 /* the folder, opened below the root, no link */
	p4r_dirwalk walk;       /* its files (paths inside it), sorted */
	struct dir_file *files; /* parallel to WALK */
	p4r_manifest m;         /* built once every file is stored */
};

/* What the operation keeps of one path beside its row (p4r_add_file). */
struct item {
	const char *arg;        /* as the user typed it */
	char *abs;              /* absolute path (for git, which matches it as text) */
	int dir;                /* its folder, opened below the root: the file is
				 * read and linked by name in there, never through a
				 * link planted later */
	const char *base;       /* its name in DIR (points into the row's REL) */
	char model[P4R_MODEL_NAME_MAX + 1]; /* the model it is bound to */
	p4r_stat_key before;    /* the file as first seen */
	p4r_stat_key after;     /* and once read (p4r_worktree_stat_remember) */
	bool cached;            /* oid known from the stat cache: not read */
	p4r_insert_result ins;  /* what the store did (a folder: its manifest) */
	struct add_dir *folder; /* a folder model; NULL for a file */
};

/* One read of the parallel loop: file FILE of folder ITEM, or (FILE ==
 * SIZE_MAX) the file ITEM. */
struct task {
	struct run *run;
	size_t item, file;      /* FILE: of the folder ITEM, else SIZE_MAX */
	uint64_t size;          /* bytes to read, 0 when the cache vouched */
	uint64_t reported;      /* of those, already in the run's progress */
	bool cached;            /* the cache vouched: nothing to read (not counted) */
};

/* One run of p4r_add. */
struct run {
	p4r_repo *repo;
	const p4r_add_opts *opts;
	const p4r_op_report *report;
	p4r_git *git;           /* NULL outside a git work tree */
	const char *why;        /* then: why (for the note) */
	bool stage;             /* stage in git (--no-stage, core.autostage) */
	struct item *items;
	p4r_add_file *files;    /* the result's rows, parallel to ITEMS */
	size_t n;
	struct task *tasks;     /* every read, files and folders' files */
	size_t ntasks;
	p4r_link_type order[P4R_LINK_MAX];
	size_t norder;
	pthread_mutex_t progress_lock; /* tasks run in parallel, the bar is one */
	uint64_t done, total;          /* bytes read of all tasks */
	uint64_t read_done, nread;     /* tasks that read a file: ended, all */
	char **tag_keys, **tag_values; /* --tag KEY=VALUE, split and checked */
	size_t ntags;
};

/* What goes into git's index in the one write at the end. OWNED holds
 * the malloc'd paths the other lists point at. */
struct staging {
	char **owned;
	const char **paths;        /* to add: pointers, .gitignore files */
	const char **gone;         /* to drop: a moved model's old pointer */
	p4r_git_lfs_entry *lfs;    /* Git LFS pointers to stage */
	size_t nown, np, ngone, nlfs;
	char *lfs_dir;             /* .git/lfs/objects, NULL outside git */
};

/* ---- add_input.c ---- */

/* p4r_add of OPTS->from_input (see ops/add.h). */
int p4r_add_input(p4r_repo *repo, const p4r_add_opts *opts, const p4r_op_report *report, p4r_add_result *out);

/* ---- add_dir.c ---- */

/* REL (any path argument) inside a folder model's folder: P4R_EUSAGE. */
int p4r_add_dir_check_inside(struct run *run, const char *rel, const char *arg);

/* Item IT (row F) is the folder BASE in IT->dir: opens and walks it. */
int p4r_add_dir_open(struct run *run, struct item *it, p4r_add_file *f);

/* The bound model's latest version is of the other kind: P4R_EUSAGE. */
int p4r_add_dir_check_kind(struct run *run, const struct item *it, const char *rel);

/* Stat cache lookups of the folder's files. */
int p4r_add_dir_lookup(struct run *run, struct item *it, const char *rel);

/* Reads, hashes and stores file J of the folder IT (a parallel task). */
int p4r_add_dir_store_file(struct run *run, struct item *it, size_t j, p4r_progress_fn progress,
			   void *payload);

/* Builds and stores the folder's manifest: IT->ins names it. */
int p4r_add_dir_manifest(struct run *run, struct item *it);

/* The object guard's look at each file of the folder. */
int p4r_add_dir_guard(struct run *run, struct item *it, p4r_guard_log *damage);

/* Inside the transaction: the objects are there, the version (IN, filled
 * with the folder's kind), manifest rows, fingerprints, stat cache rows. */
int p4r_add_dir_register(struct run *run, struct item *it, p4r_version_input *in, p4r_add_file *f);

/* The folder's pointer and "/NAME/" line, listed in S for git. */
int p4r_add_dir_write_beside(struct run *run, const p4r_add_file *f, struct staging *s);

void p4r_add_dir_free(struct add_dir *d);

#endif
