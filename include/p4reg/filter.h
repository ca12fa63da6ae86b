/* git's long-running filter protocol (gitattributes(5), "Long Running
 * Filter Process": pkt-line, version 2, capabilities clean and smudge)
 * serving filter=lfs where git-lfs is not installed. clean turns a file
 * into the same pointer blob git-lfs writes and keeps the bytes in the
 * p4reg store nearest above the file (p4r_lfs_repo_for_path) and in
 * .git/lfs/objects; smudge turns a pointer back into the bytes from either
 * place, downloading from the p4reg remote when neither has them. The
 * filter reads and writes the file descriptors its caller gives (git's
 * stdin and stdout for `p4reg filter-process`, a pipe in the unit tests)
 * and never prints: a failed file and the warnings go through callbacks. */
#ifndef P4REG_FILTER_H
#define P4REG_FILTER_H

#include <stdbool.h>
#include "p4reg/ops/op.h"

typedef struct p4r_filter p4r_filter;

typedef struct p4r_filter_opts {
	/* The folder git runs the filter in: its git work tree (if any) is
	 * the top the request paths are relative to, else the folder itself. */
	const char *workdir;
	int in;  /* git's requests */
	int out; /* the answers to git; nothing else is written there */
	/* A file git asked for failed; git gets "status=error". PATH is the
	 * request's path, WHY the reason (both raw: the callee escapes).
	 * Nullable. */
	void (*file_failed)(const char *path, const char *why, void *payload);
	void *payload;
} p4r_filter_opts;

/* Opens the filter for OPTS (copied; the descriptors stay the caller's):
 * the git work tree and Git LFS folder at OPTS->workdir, the configured
 * Git LFS extension. REPORT (nullable, kept) gets the warnings of the
 * requests served later. *OUT is freed with p4r_filter_free. */
int p4r_filter_open(p4r_filter **out, const p4r_filter_opts *opts, const p4r_op_report *report);

/* The handshake: git's "git-filter-client"/"version=2" and capabilities,
 * answered with version 2 and capabilities clean and smudge. P4R_ERROR
 * when git does not offer version 2 or closes the pipe. */
int p4r_filter_handshake(p4r_filter *f);

/* Serves one request (clean or smudge of one path). A file that cannot be
 * served is answered "status=error" and is not an error of the call; an
 * error return means the protocol broke (git is gone or spoke nonsense).
 * *EOF when git closed the pipe between requests. */
int p4r_filter_serve(p4r_filter *f, bool *eof);

/* Frees F and the repositories it opened; NULL is fine. */
void p4r_filter_free(p4r_filter *f);

#endif
