/* What the two imports share (ops/import.c: Git LFS, ops/import_dvc.c:
 * DVC): arguments as repository paths, a path's model, the register
 * event's detail, the result's rows. */
#ifndef P4REG_OPS_IMPORT_PRIV_H
#define P4REG_OPS_IMPORT_PRIV_H

#include "p4reg/gitio.h"
#include "p4reg/imported.h"
#include "p4reg/ops/import.h"

#include <pthread.h>

/* ARG (relative to the current folder, or absolute) as a path of the
 * repository, by its text alone (it need not exist): "." and ".."
 * resolved, "" for the root, malloc'd into *OUT; P4R_EUSAGE outside. */
int p4r_import_arg_path(p4r_repo *repo, const char *arg, char **out);

/* The model of the history's path REL into OUT: the one bound to REL,
 * else NAME (--name, nullable), else add's default name. A code with the
 * error set when that model cannot take REL: P4R_EINTEGRITY for a path
 * no model may have, P4R_EUSAGE for REL bound to a model other than NAME
 * or an invalid default name, P4R_EEXISTS for a name bound elsewhere;
 * P4R_ERROR when the registry cannot be read. */
int p4r_import_name(p4r_repo *repo, const char *rel, const char *name, char *out, size_t outsz);

/* What a model of either import has: the history's path, its name, and
 * once it failed, its code and why (nothing is registered for it). */
typedef struct p4r_import_model {
	char *rel;
	char name[P4R_MODEL_NAME_MAX + 1];
	int code;
	char *why;
} p4r_import_model;

/* M fails with CODE and the current error's message (cleared). */
void p4r_import_model_fail(p4r_import_model *m, int code);

/* Names each of the N MODELS (p4r_import_name, NAME: --name or NULL); a
 * refused binding, or a name an earlier model of the run took, fails that
 * model alone (sorted: many paths stay n log n). P4R_ERROR when the
 * registry cannot be read. */
int p4r_import_name_models(p4r_repo *repo, const char *name, p4r_import_model *const *models, size_t n);

/* Fails each of the N MODELS that would nest: one inside the folder of a
 * folder model (the registry's, or one of MODELS whose DIR[k] is true),
 * or a folder (DIR[k]) that holds another model's path, as add refuses
 * both (a folder version's checkout would overwrite the other). DIR may be
 * NULL (every model a file). Sorted: n log n. */
int p4r_import_check_nesting(p4r_repo *repo, p4r_import_model *const *models, const bool *dir, size_t n);

/* The progress of an import's parallel reads: ITEMS of the NITEMS objects
 * read, DONE of the TOTAL bytes, one line for all of them. */
typedef struct p4r_import_progress {
	const p4r_op_report *report;
	pthread_mutex_t lock;
	uint64_t done, total;
	size_t items, nitems;
} p4r_import_progress;

/* One object has read DONE bytes (*REPORTED: what it said before, now
 * DONE); with FINISHED it is done and counted. Thread-safe. */
void p4r_import_progress_bytes(p4r_import_progress *p, uint64_t *reported, uint64_t done, bool finished);

/* The detail of an imported version's register event,
 * {"import":SOURCE,"by":ACTOR}: malloc'd, NULL when out of memory. */
char *p4r_import_detail(const char *source, const char *actor);

/* A new zeroed row at the end of OUT->rows (*CAP its room); NULL when out
 * of memory (the error set). */
p4r_import_row *p4r_import_row_new(p4r_import_result *out, size_t *cap);

/* A failure of model MODEL ("" when unnamed) at PATH with CODE and the
 * current error's message, appended to OUT->failures (*CAP its room); the
 * error is cleared. P4R_ERROR when out of memory. */
int p4r_import_fail(p4r_import_result *out, size_t *cap, const char *model, const char *path, int code);

/* OUT->code raised to CODE when CODE is worse: an integrity failure
 * before any other, else the first. */
void p4r_import_worst(p4r_import_result *out, int code);

/* Each --stage REV of OPTS as its commit into COMMITS (OPTS->nstages of
 * them): P4R_EUSAGE, one line, for a REV that names no commit. */
int p4r_import_resolve_stages(p4r_git *git, const p4r_import_opts *opts, char (*commits)[41]);

/* --stage K of OPTS for model MODEL, whose version NUMBER (0: none) is
 * the one of COMMIT, inside the model's transaction: moved to the stage
 * (p4r_lifecycle_promote, forced, no gates) unless there already, and an
 * entry in OUT->staged. A failure to move is the model's (the error set;
 * the entry dropped). */
int p4r_import_set_stage(p4r_repo *repo, const p4r_import_opts *opts, size_t k, const char *commit,
			 const char *model, int64_t number, const char *actor, p4r_import_result *out);

/* The version of model MODEL that COMMIT registered (0: none), for
 * p4r_import_stage_model; PAYLOAD is the caller's. */
typedef int64_t (*p4r_import_number_fn)(const char *commit, void *payload);

/* Model MODEL's --stage moves, inside its transaction: for each REV of
 * OPTS, the version NUMBER_OF gives for REV's commit (COMMITS[k]), by
 * p4r_import_set_stage. */
int p4r_import_stage_model(p4r_repo *repo, const p4r_import_opts *opts, char (*commits)[41], const char *model,
			   p4r_import_number_fn number_of, void *payload, const char *actor,
			   p4r_import_result *out);

/* The p4reg repository's folder in the git work tree into *PREFIX
 * (malloc'd): "" at its top, else "sub/dir/"; P4R_ERROR when the
 * repository is outside the work tree. */
int p4r_import_prefix(p4r_repo *repo, p4r_git *git, char **prefix);

/* OUT->staged cut back to its first N entries (a model that failed after
 * its stages were moved). */
void p4r_import_staged_cut(p4r_import_result *out, size_t n);

/* What the registry has of one model, indexed for an import's questions
 * (read inside the model's transaction too, so two imports at once do not
 * both register a change): the versions by commit and by oid, which of
 * them a change already stands for, and the commits of the model's
 * changes in this import. Sorted: a hostile history stays n log n. */
typedef struct p4r_import_known {
	p4r_known_version *v;
	size_t n;
	size_t *by_commit, *by_oid; /* indices into V, sorted */
	bool *taken;
	const char **commits;       /* this import's changes of the model, sorted */
	size_t ncommits;
} p4r_import_known;

/* Loads model MODEL's versions, and COMMITS (N, any order; copied as
 * pointers, which must outlive K). */
int p4r_import_known_load(p4r_import_known *k, p4r_repo *repo, const char *model, const char *const *commits,
			  size_t n);
void p4r_import_known_clear(p4r_import_known *k);

/* The versions of COMMIT: indices into K->v from K->by_commit[*FIRST]
 * to K->by_commit[*END - 1]. */
void p4r_import_known_commit(const p4r_import_known *k, const char *commit, size_t *first, size_t *end);

/* Marks version NUMBER taken: a change of this import stands for it
 * already (a re-match inside the transaction keeps the first's claims). */
void p4r_import_known_take(p4r_import_known *k, int64_t number);

/* Takes and returns the number of the first version not taken yet that
 * holds OID and whose commit is none of this import's changes (an add
 * of those bytes, the work tree's import): each stands for one change;
 * 0 when there is none. */
int64_t p4r_import_known_claim_oid(p4r_import_known *k, const p4r_oid *oid);

#endif
