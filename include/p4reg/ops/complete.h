/* p4r_complete: the candidates the shell's completion offers for a word
 * (the operation behind `p4reg __complete`): model names, references and
 * remote names. The shell waits for them on every TAB, so they are read
 * without libgit2 and without the network: the registry through SQLite,
 * the remote names through `git config --file` on p4reg's config files.
 * Unlike the other operations it opens no p4r_repo (whose trust check
 * reads git's index through libgit2): it finds the repository itself. */
#ifndef P4REG_OPS_COMPLETE_H
#define P4REG_OPS_COMPLETE_H

#include <stddef.h>

typedef enum p4r_complete_kind {
	P4R_COMPLETE_MODELS,  /* model names */
	P4R_COMPLETE_REFS,    /* "name@" per model; once PREFIX has '@': name@N,
			       * name@latest and the stages some version holds
			       * (and aliases, once the registry has them) */
	P4R_COMPLETE_REMOTES, /* remote names (remote.NAME.url in any config file) */
} p4r_complete_kind;

typedef struct p4r_complete_opts {
	p4r_complete_kind kind;
	const char *prefix;   /* the word typed so far; "" for all */
	const char *start;    /* where to look for the repository; NULL: "." */
} p4r_complete_opts;

typedef struct p4r_complete_result {
	char **v;             /* the candidates that start with PREFIX, sorted; owned */
	size_t n;
} p4r_complete_result;

/* Fills OUT (zeroed first) with the candidates of OPTS->kind. Only valid
 * model and remote names are offered: a hostile registry or config cannot
 * put text on the user's command line that p4reg would refuse anyway.
 * P4R_ENOTFOUND outside a repository; other failures as the registry's;
 * git missing or failing gives no remote names, not an error. */
int p4r_complete(const p4r_complete_opts *opts, p4r_complete_result *out);
void p4r_complete_result_free(p4r_complete_result *r);

#endif
