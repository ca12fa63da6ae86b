/* p4r_track and p4r_untrack, the operations of `p4reg track` / `untrack`:
 * Git LFS patterns in the .gitattributes at the git work tree root, and
 * the filter and hooks that let plain git store those files. */
#ifndef P4REG_OPS_TRACK_H
#define P4REG_OPS_TRACK_H

#include <stdbool.h>
#include <stddef.h>

#include "p4reg/attributes.h"
#include "p4reg/gitio.h"
#include "p4reg/ops/op.h"
#include "p4reg/repo.h"

/* What `track` or `untrack` was asked. */
typedef struct p4r_track_opts {
	const char *const *patterns; /* as the user typed them (relative to the
				      * work tree root) */
	size_t n;                    /* track: 0 lists the tracked patterns */
} p4r_track_opts;

/* One pattern: a row of the command's output. */
typedef struct p4r_track_row {
	const char *pattern;      /* as typed, a leading "./" dropped (points
				   * into the options) */
	char line[P4R_ATTR_PATTERN_MAX + sizeof(P4R_ATTR_LFS)]; /* track: the
				   * line as it is in .gitattributes */
	p4r_attr_action action;
} p4r_track_row;

/* What `track` or `untrack` did. */
typedef struct p4r_track_result {
	p4r_track_row *rows;      /* one per pattern, in the order given */
	size_t n;
	char **listed;            /* track without patterns: the patterns of
				   * .gitattributes, as written (p4r_strv_free) */
	size_t nlisted;
	p4r_git_filter filter;    /* track: the filter.lfs configured */
	p4r_git_install install;  /* track: what configuring it wrote */
} p4r_track_result;

/* Checks every pattern first (P4R_EUSAGE: see p4r_attr_escape and
 * p4r_attr_check_pattern), then appends their lines to .gitattributes
 * (once each; every other byte kept) and configures filter.lfs and the
 * hooks: git-lfs's when it is on PATH, else p4reg's filter-process and
 * pre-push hook. Without patterns, only lists them. Outside a git work
 * tree: P4R_ERROR saying why. */
int p4r_track(p4r_repo *repo, const p4r_track_opts *opts, const p4r_op_report *report,
	      p4r_track_result *out);

/* Removes each pattern's filter=lfs line from .gitattributes, and nothing
 * else (P4R_ATTR_ABSENT for a pattern that had none). */
int p4r_untrack(p4r_repo *repo, const p4r_track_opts *opts, const p4r_op_report *report,
		p4r_track_result *out);

void p4r_track_result_free(p4r_track_result *r);

#endif
