/* What the two imports share (ops/import.c: Git LFS, ops/import_dvc.c:
 * DVC): arguments as repository paths, a path's model, the register
 * event's detail, the result's rows. */
#ifndef P4REG_OPS_IMPORT_PRIV_H
#define P4REG_OPS_IMPORT_PRIV_H

#include "p4reg/gitio.h"
#include "p4reg/ops/import.h"

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

/* OUT->staged cut back to its first N entries (a model that failed after
 * its stages were moved). */
void p4r_import_staged_cut(p4r_import_result *out, size_t n);

#endif
