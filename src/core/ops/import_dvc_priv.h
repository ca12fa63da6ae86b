/* The three parts of p4r_import_dvc (ops/import.h) and what they share:
 * import_dvc.c reads the .dvc files (the work tree's, or every revision in
 * HEAD's history) into items and models; import_dvc_bytes.c takes their
 * bytes from DVC's cache into the store, checked against DVC's MD5, and
 * makes a manifest of each directory output; import_dvc_register.c
 * registers them, one transaction per model. */
#ifndef P4REG_OPS_IMPORT_DVC_PRIV_H
#define P4REG_OPS_IMPORT_DVC_PRIV_H

#include "import_priv.h"
#include "p4reg/dvc.h"
#include "p4reg/gitscan.h"
#include "p4reg/manifest.h"
#include "p4reg/store.h"

#include <pthread.h>
#include <stdint.h>

/* No task, listing, change or cache. */
#define DVC_NONE SIZE_MAX

enum dvc_plan { PLAN_NEW, PLAN_HAD, PLAN_REFUSED };

/* One output of one revision of a .dvc file. */
struct item {
	char *dvc;                /* the .dvc file, repository-relative */
	char *rel;                /* the output, repository-relative */
	char md5[33];
	bool dos2unix;            /* DVC 2's MD5 of text (dvc.h) */
	bool dir;                 /* a directory output: MD5 names its listing */
	int64_t size;             /* -1: the .dvc file does not say */
	size_t change;            /* --history: its commit's change in run->changes;
				   * DVC_NONE: the work tree's .dvc file */
	enum dvc_plan plan;
	size_t bytes;             /* a file: its task; a folder: its listing; DVC_NONE */
	int64_t number;           /* its version, once registered or found */
	bool unchanged;           /* the work tree's: the model had these bytes */
};

/* One output path: one model. */
struct model {
	p4r_import_model base;    /* its path, name, failure */
	size_t *items;            /* indices into run->items, in commit order */
	size_t n, cap;
};

/* A DVC cache folder, opened once for every .dvc file that uses it. */
struct cache {
	char *rel;                /* repository-relative; NULL: --dvc-cache's */
	int fd;                   /* -1 when it could not be opened: */
	int code;                 /* P4R_ENOTFOUND (no cache there) or P4R_EINTEGRITY
				   * (a config naming one p4reg will not read), */
	char *why;                /* and why */
};

/* The bytes of one cache entry of a file. */
struct task {
	char md5[33];
	bool dos2unix;
	int64_t size;             /* -1 until read, unless a .dvc file says */
	size_t cache;
	const char *rel;          /* an output it is (messages) */
	struct run *run;
	p4r_oid oid;              /* its SHA-256 once read */
	p4r_insert_result ins;
	uint64_t reported;
	int rc;                   /* P4R_ENOTFOUND: not in the cache */
	char *why;
};

/* A directory output's listing (its .dir entry) and the manifest made of
 * it. DIR, TASKS and M are held only while its batch is read and stored
 * (p4r_import_dvc_store): a long history of a large folder would not fit
 * in memory at once; the registration reads the stored manifest again. */
struct listing {
	char md5[33];
	bool dos2unix;            /* its files' MD5s are DVC 2's */
	size_t cache;
	const char *rel;
	p4r_dvc_dir dir;
	size_t *tasks;            /* one per entry of DIR */
	p4r_manifest m;
	p4r_oid oid;              /* the manifest's, once made */
	int64_t size;
	int64_t files, total;     /* its files' count and bytes */
	int rc;                   /* failed: P4R_ENOTFOUND when something is not
				   * in the cache, else the model fails */
	char *why;
};

struct run {
	p4r_repo *repo;
	const p4r_import_opts *opts;
	const p4r_op_report *report;
	p4r_import_result *out;
	p4r_git *git;             /* NULL outside git (then no --history) */
	char *prefix;             /* the repository's folder in git's work tree ("" or "sub/") */
	char (*stage_commits)[41]; /* --stage: each REV's commit */
	char **args;              /* OPTS->paths, repository-relative */
	bool *matched;
	char **files;             /* the work tree's .dvc files */
	size_t nfiles, capfiles;
	p4r_git_lfs_change *changes; /* --history: the .dvc files' revisions */
	size_t nchanges;
	struct item *items;
	size_t nitems, capitems;
	struct model *models;
	size_t nmodels;
	struct cache *caches;
	size_t ncaches;
	char **cache_dirs;        /* per .dvc file's folder seen: its cache */
	size_t *cache_of, ncache_dirs;
	struct task *tasks;
	size_t ntasks;
	size_t *by_key;           /* the tasks sorted by (MD5, rule, cache), NTASKS */
	size_t *by_oid;           /* the stored ones sorted by oid, NBY_OID */
	size_t nby_oid;
	size_t first_new;         /* the first task of the batch being stored */
	struct listing *listings;
	size_t nlistings;
	p4r_link_type order[P4R_LINK_MAX];
	size_t norder;
	p4r_import_progress progress;
	size_t caprows, capfail;
};

/* A refused row: the .dvc file DVC (its output REL, nullable), of the
 * change C (NULL: the work tree's), CODE and the current error (cleared). */
int p4r_import_dvc_refuse(struct run *run, const char *dvc, const char *rel, const p4r_git_lfs_change *c,
			  int code);

/* Item IT's change (NULL: the work tree's). */
const p4r_git_lfs_change *p4r_import_dvc_change(const struct run *run, const struct item *it);

/* --history: model M's new items a version already stands for (PLAN_HAD,
 * their numbers): one of the same commit (and size), and with BY_OID,
 * for an item whose bytes were read, one of the same bytes from a commit
 * that changed no .dvc file of it (an add, the work tree's import). Run
 * before the bytes are read and again inside the model's transaction. */
int p4r_import_dvc_match(struct run *run, struct model *m, bool by_oid);

/* What new item IT registers, once read: a file's object or a folder's
 * manifest. */
void p4r_import_dvc_object(const struct run *run, const struct item *it, p4r_oid *oid, int64_t *size);

/* The stored task of the object OID, or NULL. */
const struct task *p4r_import_dvc_task_of(const struct run *run, const p4r_oid *oid);

/* Every new item's bytes from DVC's cache into the store (a dry run: only
 * read), in parallel; a directory output's files each so, then its
 * manifest. An item whose bytes are not in the cache is refused; one
 * whose bytes are wrong fails its model. */
int p4r_import_dvc_store(struct run *run);
void p4r_import_dvc_store_free(struct run *run);

/* Registers every model that did not fail (one transaction each, rolled
 * back by a dry run), fills the result's rows, and with --write-pointers
 * writes and stages the pointers. */
int p4r_import_dvc_register(struct run *run);

#endif
