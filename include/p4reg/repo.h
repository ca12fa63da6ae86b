/* A p4reg repository: a work tree folder holding .p4reg/. Found like git
 * finds .git (walk up from the working directory); P4REG_DIR names the
 * repository folder directly. */
#ifndef P4REG_REPO_H
#define P4REG_REPO_H

#include "p4reg/config.h"
#include "p4reg/registry.h"
#include "p4reg/store.h"

#define P4R_META_DIR ".p4reg"

typedef struct p4r_repo p4r_repo;

/* Finds the repository containing START (P4REG_DIR wins when set): *ROOT_OUT
 * gets its absolute, symlink-free path (malloc'd). P4R_ENOTFOUND "not a p4reg
 * repository (or any parent up to /)" when there is none. */
int p4r_repo_discover(char **root_out, const char *start);

/* Creates .p4reg/ in DIR: config, registry.db, objects/, tmp/, .gitignore.
 * Refuses when DIR already is a repository (P4R_EEXISTS), or when a parent
 * or a folder below DIR is one (P4R_EREFUSED: repositories do not nest;
 * the message names the other one); nothing is touched then. *ROOT_OUT
 * (nullable) gets the absolute path. */
int p4r_repo_init(const char *dir, char **root_out);

/* Discovers and opens the repository containing START. Private state in
 * .p4reg/ that is a symbolic link, the wrong kind of file, tracked by git,
 * or (config.local) not the user's own is refused: P4R_EREFUSED with the
 * repair in the message (docs/security.md). */
int p4r_repo_open(p4r_repo **out, const char *start);

/* The checks p4r_repo_open makes on ROOT/.p4reg, for code that uses the
 * store without opening the whole repository (git's filter). */
int p4r_repo_check_trust(const char *root);
/* Like p4r_repo_open, but a registry refused as damaged, foreign or lost
 * (P4R_EINTEGRITY) leaves p4r_repo_registry() NULL instead of failing:
 * fsck reports on everything else. */
int p4r_repo_open_damaged(p4r_repo **out, const char *start);
void p4r_repo_free(p4r_repo *repo);

const char *p4r_repo_root(const p4r_repo *repo);
const char *p4r_repo_meta(const p4r_repo *repo);
p4r_registry *p4r_repo_registry(p4r_repo *repo);
p4r_store *p4r_repo_store(p4r_repo *repo);
p4r_config *p4r_repo_config(p4r_repo *repo);
/* The work tree root, open for the *at() calls of beneath.h. */
int p4r_repo_root_fd(const p4r_repo *repo);

/* Turns USER_PATH (relative to the working directory, or absolute) into a
 * repository-relative path with '/' separators (malloc'd into *OUT).
 * Refuses (P4R_EUSAGE) paths outside the repository, inside .p4reg/, the
 * root itself, and symbolic links that resolve outside the repository. The
 * file itself need not exist. */
int p4r_repo_relpath(p4r_repo *repo, const char *user_path, char **out);

/* ROOT/REL as a malloc'd absolute path. */
char *p4r_repo_abspath(const p4r_repo *repo, const char *rel);

/* The link methods from cache.type (default "reflink,copy"). */
int p4r_repo_link_order(p4r_repo *repo, p4r_link_type *order, size_t *n);

/* Who is acting: P4REG_AUTHOR, else git's user.name <user.email>, else the
 * login name. Malloc'd. */
char *p4r_repo_actor(p4r_repo *repo);

/* Whether a command stages what it wrote in git's index: core.autostage
 * (default true) unless NO_STAGE (--no-stage) was given. */
int p4r_repo_autostage(p4r_repo *repo, bool no_stage, bool *stage);

/* Reads a file the user named (USER_PATH, at most MAX bytes) into a
 * malloc'd NUL-terminated *OUT. A path that lies inside the repository
 * (as text, from the working directory) is repository content: it is read
 * below the root, never through a symbolic link, only as a regular file.
 * Anything else is the user's own and read as it is (a pipe included). */
int p4r_repo_read_user_file(p4r_repo *repo, const char *user_path, size_t max, char **out, size_t *len);

#endif
