/* p4r_show and p4r_cat: one version, in full or as its bytes (the
 * operations behind `p4reg show` and `p4reg cat`). Both download a missing
 * object on demand (show only with --verify). */
#ifndef P4REG_OPS_SHOW_H
#define P4REG_OPS_SHOW_H

#include <stdbool.h>

#include "p4reg/alias.h"
#include "p4reg/metrics.h"
#include "p4reg/manifest.h"
#include "p4reg/objguard.h"
#include "p4reg/ops/op.h"
#include "p4reg/registry.h"
#include "p4reg/repo.h"
#include "p4reg/tag.h"

typedef struct p4r_show_opts {
	const char *ref;        /* name@3, name@STAGE, a model, a pointer's path */
	bool verify;            /* re-hash the bytes, downloading them when missing */
	const char *remote;     /* with VERIFY: -r NAME; NULL: core.remote */
	bool offline;           /* with VERIFY: download nothing (core.offline too) */
	const char *path;       /* cat of a folder version: the file inside it */
} p4r_show_opts;

typedef struct p4r_show_result {
	p4r_version version;
	bool stored;            /* the local store has its bytes */
	bool verified;          /* OPTS->verify and they hash to its oid */
	bool damaged;           /* its bytes changed in place and did not come back */
	p4r_damage damage;      /* when DAMAGED: what they hashed to, where they went */
	p4r_metric_table metrics; /* one row: the version's latest values */
	p4r_manifest files;     /* a folder version: its files (empty when its
				 * manifest is not downloaded) */
	p4r_tags tags;          /* its tags, by key */
	p4r_alias_entry *aliases; /* the aliases naming it, by name */
	size_t naliases;
} p4r_show_result;

/* Resolves OPTS->ref and gathers what `show` prints. With OPTS->verify the
 * bytes are downloaded when missing (a repaired damage goes to
 * REPORT->repaired) and re-hashed: P4R_EINTEGRITY when they do not match. */
int p4r_show(p4r_repo *repo, const p4r_show_opts *opts, const p4r_op_report *report,
	     p4r_show_result *out);
void p4r_show_result_free(p4r_show_result *r);

/* Writes the bytes of OPTS->ref (OPTS->verify ignored) to FD, downloading
 * them first when the store lacks them. A folder version needs
 * OPTS->path, a file inside it (P4R_EUSAGE without; P4R_ENOTFOUND for a
 * path it does not hold), a file version none (P4R_EUSAGE). */
int p4r_cat(p4r_repo *repo, const p4r_show_opts *opts, const p4r_op_report *report, int fd);

#endif
