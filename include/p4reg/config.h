/* Configuration in git-config format through libgit2's config API.
 * Three files, later ones winning: the user's own ($XDG_CONFIG_HOME/p4reg/config
 * or ~/.config/p4reg/config), .p4reg/config (committed, shared) and
 * .p4reg/config.local (never committed: credentials, hooks). */
#ifndef P4REG_CONFIG_H
#define P4REG_CONFIG_H

#include <stdbool.h>

typedef struct p4r_config p4r_config;

/* Which files a lookup may read. Trusted excludes the committed config:
 * commands that would run a program (hooks) read only trusted values. */
typedef enum p4r_config_scope {
	P4R_CONFIG_ALL,
	P4R_CONFIG_TRUSTED,
} p4r_config_scope;

/* Opens the configuration of the repository whose metadata is META_DIR. */
int p4r_config_open(p4r_config **out, const char *meta_dir);
/* Opens the user's own configuration alone, for commands that run
 * without a repository (p4reg get): every scope reads only that file. */
int p4r_config_open_user(p4r_config **out);
void p4r_config_free(p4r_config *cfg);

/* Copies the value of KEY into a malloc'd *OUT; P4R_ENOTFOUND when unset. */
int p4r_config_get(p4r_config *cfg, p4r_config_scope scope, const char *key, char **out);
/* Boolean KEY (true/false/yes/no/on/off/1/0); DEFLT when unset; P4R_EUSAGE
 * when set to something else. */
int p4r_config_get_bool(p4r_config *cfg, const char *key, bool deflt, bool *out);
/* The same from SCOPE only (P4R_CONFIG_TRUSTED: a setting the committed
 * config must not decide). */
int p4r_config_get_bool_scope(p4r_config *cfg, p4r_config_scope scope, const char *key, bool deflt,
			      bool *out);

/* Calls FN for every value of KEY in every file, lowest priority first
 * (the user's, config, config.local; in file order within one); a non-zero
 * return from FN stops and is returned. */
int p4r_config_foreach_value(p4r_config *cfg, const char *key,
			     int (*fn)(const char *value, void *payload), void *payload);

/* True when KEY names a credential: its variable name (after the last '.')
 * contains secret, password, passwd, token, credential, privatekey, apikey
 * or accesskeyid, ignoring case, '-' and '_'. Such values are masked when
 * printed and never written to the committed config. */
bool p4r_config_key_is_secret(const char *key);

/* True when KEY may hold several values (git config's multi-valued
 * variables): stage.<STAGE>.require for the five stages, section and
 * variable names in any case (git ignores it there), the stage as written. */
bool p4r_config_key_is_list(const char *key);

/* Sets KEY in .p4reg/config (LOCAL_FILE false) or .p4reg/config.local,
 * replacing its value there. A credential (p4r_config_key_is_secret) or an
 * include in .p4reg/config is P4R_EUSAGE, and so is a KEY that file holds
 * several values of (which one to replace is not guessed). config.local is
 * created 0600 and keeps its mode when rewritten; a config.local that is
 * not a regular file is P4R_EREFUSED. */
int p4r_config_set(p4r_config *cfg, bool local_file, const char *key, const char *value);
/* Appends VALUE to KEY in that file, keeping the values it has; only for
 * p4r_config_key_is_list keys (P4R_EUSAGE otherwise); the rules of
 * p4r_config_set apply. */
int p4r_config_add(p4r_config *cfg, bool local_file, const char *key, const char *value);
/* Removes KEY from that file (same rules for config.local); P4R_ENOTFOUND
 * when it is not there, P4R_EUSAGE when it has several values there. */
int p4r_config_unset(p4r_config *cfg, bool local_file, const char *key);
/* Removes every value of KEY from that file; P4R_ENOTFOUND when none. */
int p4r_config_unset_all(p4r_config *cfg, bool local_file, const char *key);

/* Calls FN(name, value) for every entry, in file order, later files last. */
int p4r_config_foreach(p4r_config *cfg, int (*fn)(const char *name, const char *value, void *payload),
		       void *payload);

/* Whether the user's own config file (never a repository's) lists ROOT,
 * or "*", under safe.directory: a repository someone else owns is then
 * trusted, as git's safe.directory does. */
bool p4r_config_safe_directory(const char *root);

#endif
