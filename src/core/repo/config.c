/* git-config files through libgit2 (see config.h for the three levels). */
#include "p4reg/config.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include "git/libgit2_dl.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Our three files mapped onto libgit2 levels so priorities come for free. */
#define LEVEL_USER GIT_CONFIG_LEVEL_GLOBAL
#define LEVEL_SHARED GIT_CONFIG_LEVEL_LOCAL
#define LEVEL_PRIVATE GIT_CONFIG_LEVEL_APP

struct p4r_config {
	git_config *all;       /* every level; NULL until first used */
	git_config *trusted;   /* user + private only; NULL until first used */
	char *user_path;       /* the user's file, NULL without a home */
	char *shared_path;     /* .p4reg/config */
	char *private_path;    /* .p4reg/config.local */
	bool loaded;           /* load() ran */
	bool initialised;      /* and initialised libgit2 (loading it first) */
	int load_rc;           /* and its result */
	char load_err[512];    /* and its message, repeated on every later use */
};

static char *user_config_path(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	char *base, *path;

	if (xdg && *xdg)
		return p4r_path_join(xdg, "p4reg/config");
	if (!home || !*home)
		return NULL;
	base = p4r_path_join(home, ".config");
	path = base ? p4r_path_join(base, "p4reg/config") : NULL;
	free(base);
	return path;
}

static int add_file(git_config *cfg, const char *path, git_config_level_t level)
{
	if (git_config_add_file_ondisk(cfg, path, level, NULL, 0) < 0)
		return p4r_error_git(P4R_ERROR, "cannot read config '%s'", path);
	return 0;
}

/* libgit2 is initialised on first use, not at open: its global init loads
 * the system's TLS certificates, a cost commands that never read config
 * (status, list, log, show) should not pay. */
/* True when the '[' at TEXT[I] (of LEN bytes) opens an [include] or
 * [includeIf ...] section (any case, also the old [include.x] spelling).
 * libgit2 skips more than the eye does before a header (a UTF-8 BOM, \v,
 * \f, \r) and reads a header after another on one line ("[core][include]"),
 * so every '[' in the file is looked at, followed by any white space:
 * a value that merely holds such text is refused too, which is safe. */
static bool include_header(const char *text, size_t len, size_t i)
{
	static const char word[] = "include";
	size_t k;

	for (i++; i < len && isspace((unsigned char)text[i]); i++)
		;
	for (k = 0; k < sizeof(word) - 1; k++, i++)
		if (i >= len || (text[i] | 0x20) != word[k])
			return false;
	/* "includeIf", or the name ends: anything but a letter, digit or '-' */
	return i >= len || (text[i] | 0x20) == 'i' ||
	       !(isalnum((unsigned char)text[i]) || text[i] == '-');
}

/* The committed config may not pull in other files: libgit2 follows
 * include.path and includeIf.*.path (absolute, "~/", through links, a
 * FIFO that blocks) and cannot be told not to. So the shared file's
 * section headers are looked at first; this is a refusal, not a parser. */
static int refuse_includes(const char *path)
{
	char *text = NULL;
	size_t len = 0, i;
	int rc = p4r_read_file(&text, &len, path, (size_t)4 << 20);

	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		return 0;
	}
	for (i = 0; rc == 0 && i < len; i++)
		if (text[i] == '[' && include_header(text, len, i))
			rc = p4r_error_set(P4R_EREFUSED, "'%s' has an [include] or [includeIf] section; "
					   "the shared config may not pull in other files (they could be "
					   "anything on this machine): remove it, or put the include in your "
					   "own ~/.config/p4reg/config", path);
	free(text);
	return rc;
}

static int load(p4r_config *cfg)
{
	const char *user = cfg->user_path;
	int rc;

	if (cfg->loaded)
		return cfg->load_rc < 0 ? p4r_error_set(cfg->load_rc, "%s", cfg->load_err) : 0;
	cfg->loaded = true;
	if ((rc = p4r_libgit2_init()) == 0)
		cfg->initialised = true;
	if (rc == 0 && (git_config_new(&cfg->all) < 0 || git_config_new(&cfg->trusted) < 0))
		rc = p4r_error_git(P4R_ERROR, "cannot create config");
	if (rc == 0 && user && (rc = add_file(cfg->all, user, LEVEL_USER)) == 0)
		rc = add_file(cfg->trusted, user, LEVEL_USER);
	/* p4r_config_open_user: the user's own file and nothing else */
	if (rc == 0 && cfg->shared_path && (rc = refuse_includes(cfg->shared_path)) == 0 &&
	    (rc = add_file(cfg->all, cfg->shared_path, LEVEL_SHARED)) == 0 &&
	    (rc = add_file(cfg->all, cfg->private_path, LEVEL_PRIVATE)) == 0)
		rc = add_file(cfg->trusted, cfg->private_path, LEVEL_PRIVATE);
	cfg->load_rc = rc;
	if (rc < 0)
		snprintf(cfg->load_err, sizeof(cfg->load_err), "%s", p4r_error_message());
	return rc;
}

int p4r_config_open(p4r_config **out, const char *meta_dir)
{
	p4r_config *cfg = calloc(1, sizeof(*cfg));

	*out = NULL;
	if (!cfg)
		return p4r_error_set(P4R_ERROR, "out of memory");
	cfg->user_path = user_config_path();
	cfg->shared_path = p4r_path_join(meta_dir, "config");
	cfg->private_path = p4r_path_join(meta_dir, "config.local");
	if (!cfg->shared_path || !cfg->private_path) {
		p4r_config_free(cfg);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	*out = cfg;
	return 0;
}

int p4r_config_open_user(p4r_config **out)
{
	p4r_config *cfg = calloc(1, sizeof(*cfg));

	*out = cfg;
	if (!cfg)
		return p4r_error_set(P4R_ERROR, "out of memory");
	cfg->user_path = user_config_path();
	return 0;
}

void p4r_config_free(p4r_config *cfg)
{
	if (!cfg)
		return;
	git_config_free(cfg->all);
	git_config_free(cfg->trusted);
	free(cfg->user_path);
	free(cfg->shared_path);
	free(cfg->private_path);
	if (cfg->initialised)
		p4r_libgit2_shutdown();
	free(cfg);
}

/* The trusted scope is the user's file and config.local: with neither on
 * disk it holds nothing, and nothing is loaded to say so -- libgit2's
 * start-up (it parses the CA bundle) would be most of what `show` costs. */
static bool trusted_empty(const p4r_config *cfg, p4r_config_scope scope)
{
	struct stat st;

	return scope == P4R_CONFIG_TRUSTED && !cfg->loaded &&
	       (!cfg->user_path || (lstat(cfg->user_path, &st) < 0 && errno == ENOENT)) &&
	       (!cfg->private_path || (lstat(cfg->private_path, &st) < 0 && errno == ENOENT));
}

int p4r_config_get(p4r_config *cfg, p4r_config_scope scope, const char *key, char **out)
{
	git_buf buf = GIT_BUF_INIT;
	git_config *c;
	int err;

	*out = NULL;
	if (trusted_empty(cfg, scope))
		return p4r_error_set(P4R_ENOTFOUND, "config key '%s' is not set", key);
	if ((err = load(cfg)) < 0)
		return err;
	c = scope == P4R_CONFIG_TRUSTED ? cfg->trusted : cfg->all;
	err = git_config_get_string_buf(&buf, c, key);
	if (err == GIT_ENOTFOUND)
		return p4r_error_set(P4R_ENOTFOUND, "config key '%s' is not set", key);
	if (err < 0)
		return p4r_error_git(P4R_EUSAGE, "invalid config key '%s'", key);
	*out = strdup(buf.ptr);
	git_buf_dispose(&buf);
	return *out ? 0 : p4r_error_set(P4R_ERROR, "out of memory");
}

int p4r_config_get_bool(p4r_config *cfg, const char *key, bool deflt, bool *out)
{
	return p4r_config_get_bool_scope(cfg, P4R_CONFIG_ALL, key, deflt, out);
}

int p4r_config_get_bool_scope(p4r_config *cfg, p4r_config_scope scope, const char *key, bool deflt,
			      bool *out)
{
	int v = 0, err;

	if (trusted_empty(cfg, scope)) {
		*out = deflt;
		return 0;
	}
	if ((err = load(cfg)) < 0)
		return err;
	err = git_config_get_bool(&v, scope == P4R_CONFIG_TRUSTED ? cfg->trusted : cfg->all, key);

	if (err == GIT_ENOTFOUND) {
		*out = deflt;
		return 0;
	}
	if (err < 0)
		return p4r_error_git(P4R_EUSAGE, "invalid boolean for config '%s'", key);
	*out = v != 0;
	return 0;
}

int p4r_config_foreach_value(p4r_config *cfg, const char *key,
			     int (*fn)(const char *value, void *payload), void *payload)
{
	git_config_iterator *it = NULL;
	git_config_entry *entry;
	int err, rc = load(cfg);

	if (rc < 0)
		return rc;
	if (git_config_multivar_iterator_new(&it, cfg->all, key, NULL) < 0)
		return p4r_error_git(P4R_EUSAGE, "invalid config key '%s'", key);
	while ((err = git_config_next(&entry, it)) == 0) {
		if ((rc = fn(entry->value, payload)) != 0)
			break;
	}
	if (rc == 0 && err != GIT_ITEROVER && err < 0)
		rc = p4r_error_git(P4R_ERROR, "cannot read config '%s'", key);
	git_config_iterator_free(it);
	return rc;
}

/* ---- credentials ---- */

/* Words that make a variable a credential, matched in its name (the part
 * after the last '.') lowercased with '-' and '_' removed: the S3 remote's
 * accessKeyId, secretAccessKey and sessionToken (remote/s3.c), and the
 * usual names of anything else secret. */
static const char *const secret_words[] = {
	"secret", "password", "passwd", "token", "credential", "privatekey", "apikey", "accesskeyid",
};

bool p4r_config_key_is_secret(const char *key)
{
	const char *var = key ? strrchr(key, '.') : NULL;
	char low[128];
	size_t i, n = 0;

	var = var ? var + 1 : key;
	if (!var)
		return false;
	for (i = 0; var[i] && n < sizeof(low) - 1; i++)
		if (var[i] != '-' && var[i] != '_')
			low[n++] = (char)tolower((unsigned char)var[i]);
	low[n] = '\0';
	for (i = 0; i < sizeof(secret_words) / sizeof(secret_words[0]); i++)
		if (strstr(low, secret_words[i]))
			return true;
	return false;
}

/* ---- writing ---- */

static int open_one(git_config **out, p4r_config *cfg, bool local_file)
{
	int rc = load(cfg);

	if (rc < 0)
		return rc;
	if (!cfg->shared_path)
		return p4r_error_set(P4R_EUSAGE, "no repository configuration to write to");
	if (git_config_open_ondisk(out, local_file ? cfg->private_path : cfg->shared_path) < 0)
		return p4r_error_git(P4R_ERROR, "cannot open config");
	return 0;
}

/* The mode config.local must keep: the file's own when it exists (a
 * rewrite keeps what the user chose, as git does for .git/config), else
 * 0600. Anything but a regular file is refused, never followed. */
static int private_mode(const char *path, mode_t *mode)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		if (errno != ENOENT)
			return p4r_error_errno("cannot stat '%s'", path);
		*mode = 0600;
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return p4r_error_set(P4R_EREFUSED, "refusing to write '%s': it is not a regular file "
				     "(a symbolic link?); remove it and set the values again with "
				     "'p4reg config --local'", path);
	*mode = st.st_mode & 07777;
	return 0;
}

/* After libgit2 renamed its lock file over PATH: the file gets MODE back
 * (the lock file was created 0666 & ~umask), and the file and its folder
 * are fsynced, which libgit2 does not do for config files. */
static int private_finish(const char *path, mode_t mode)
{
	struct stat st;
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return p4r_error_errno("cannot open '%s'", path);
	if (fstat(fd, &st) < 0 || ((st.st_mode & 07777) != mode && fchmod(fd, mode) < 0))
		rc = p4r_error_errno("cannot set the mode of '%s'", path);
	else if (fsync(fd) < 0)
		rc = p4r_error_errno("cannot fsync '%s'", path);
	close(fd);
	return rc == 0 ? p4r_fsync_parent(path) : rc;
}

/* What one write does to the one file it opened. */
struct write_req {
	const char *key;
	const char *value;     /* set and add */
	const char *file;      /* ".p4reg/config" or ".p4reg/config.local", for messages */
	bool all;              /* unset: every value */
};

/* Runs FN on the one file (config.local when LOCAL_FILE): for config.local,
 * under umask 077 so the secrets are never in a file others can read, not
 * even libgit2's lock file while it is written. The umask is process-wide:
 * commands write config from their one thread. */
static int write_one(p4r_config *cfg, bool local_file,
		     int (*fn)(git_config *one, const struct write_req *req),
		     const char *key, const char *value, bool all)
{
	struct write_req req = { key, value, local_file ? ".p4reg/config.local" : ".p4reg/config", all };
	git_config *one = NULL;
	mode_t mode = 0, old_mask = 0;
	int rc;

	if (local_file && cfg->private_path && (rc = private_mode(cfg->private_path, &mode)) < 0)
		return rc;
	if ((rc = open_one(&one, cfg, local_file)) < 0)
		return rc;
	if (local_file)
		old_mask = umask(077);
	rc = fn(one, &req);
	if (local_file)
		umask(old_mask);
	git_config_free(one);
	if (rc == 0 && local_file)
		rc = private_finish(cfg->private_path, mode);
	return rc;
}

/* *N gets how many values KEY has in the one file ONE. */
static int count_values(git_config *one, const char *key, size_t *n)
{
	git_config_iterator *it = NULL;
	git_config_entry *entry;
	int err;

	*n = 0;
	if (git_config_multivar_iterator_new(&it, one, key, NULL) < 0)
		return p4r_error_git(P4R_EUSAGE, "invalid config key '%s'", key);
	while ((err = git_config_next(&entry, it)) == 0)
		(*n)++;
	git_config_iterator_free(it);
	if (err != GIT_ITEROVER)
		return p4r_error_git(P4R_ERROR, "cannot read config '%s'", key);
	return 0;
}

static int set_fn(git_config *one, const struct write_req *req)
{
	size_t n;
	int rc;

	/* git's rule: setting replaces one value; which of several is meant
	 * is not for p4reg to guess. */
	if ((rc = count_values(one, req->key, &n)) < 0)
		return rc;
	if (n > 1)
		return p4r_error_set(P4R_EUSAGE, "config key '%s' has %zu values in %s: --add appends one, "
				     "--unset-all removes them all", req->key, n, req->file);
	if (git_config_set_string(one, req->key, req->value) < 0)
		return p4r_error_git(P4R_EUSAGE, "cannot set config '%s'", req->key);
	return 0;
}

/* A pattern no value matches (git's own for --add): libgit2 then replaces
 * nothing and appends the value. */
#define MATCH_NOTHING "a^"

static int add_fn(git_config *one, const struct write_req *req)
{
	if (git_config_set_multivar(one, req->key, MATCH_NOTHING, req->value) < 0)
		return p4r_error_git(P4R_EUSAGE, "cannot add to config '%s'", req->key);
	return 0;
}

static int unset_fn(git_config *one, const struct write_req *req)
{
	size_t n;
	int rc, err;

	if ((rc = count_values(one, req->key, &n)) < 0)
		return rc;
	if (n == 0)
		return p4r_error_set(P4R_ENOTFOUND, "config key '%s' is not set in %s", req->key, req->file);
	if (n > 1 && !req->all)
		return p4r_error_set(P4R_EUSAGE, "config key '%s' has %zu values in %s: --unset-all removes "
				     "them all", req->key, n, req->file);
	err = n > 1 ? git_config_delete_multivar(one, req->key, ".*") : git_config_delete_entry(one, req->key);
	if (err < 0)
		return p4r_error_git(P4R_EUSAGE, "cannot unset config '%s'", req->key);
	return 0;
}

/* The committed file's own refusals (docs/security.md): no includes, no
 * credentials. */
static int shared_ok(bool local_file, const char *key)
{
	if (!local_file && !strncasecmp(key, "include", 7))
		return p4r_error_set(P4R_EUSAGE, "refusing to add '%s' to the committed .p4reg/config: "
				     "a shared config may not pull in other files; put it in your own "
				     "~/.config/p4reg/config", key);
	if (!local_file && p4r_config_key_is_secret(key))
		return p4r_error_set(P4R_EUSAGE, "refusing to store credential '%s' in the committed "
				     ".p4reg/config: use 'p4reg config --local %s VALUE' "
				     "(.p4reg/config.local is never committed)", key, key);
	return 0;
}

int p4r_config_set(p4r_config *cfg, bool local_file, const char *key, const char *value)
{
	int rc = shared_ok(local_file, key);

	return rc < 0 ? rc : write_one(cfg, local_file, set_fn, key, value, false);
}

bool p4r_config_key_is_list(const char *key)
{
	static const char *const stages[] = {
		"development", "validation", "staging", "production", "archived",
	};
	const char *first = key ? strchr(key, '.') : NULL, *last = key ? strrchr(key, '.') : NULL;
	size_t i, sublen;

	if (!first || first == last || (size_t)(first - key) != 5 || strncasecmp(key, "stage", 5) ||
	    strcasecmp(last + 1, "require"))
		return false;
	/* The subsection is case-sensitive in git config, and p4reg reads
	 * the lowercase stage names. */
	sublen = (size_t)(last - first - 1);
	for (i = 0; i < sizeof(stages) / sizeof(stages[0]); i++)
		if (strlen(stages[i]) == sublen && !memcmp(first + 1, stages[i], sublen))
			return true;
	return false;
}

int p4r_config_add(p4r_config *cfg, bool local_file, const char *key, const char *value)
{
	int rc;

	if (!p4r_config_key_is_list(key))
		return p4r_error_set(P4R_EUSAGE, "config key '%s' is not multi-valued: --add is only for "
				     "stage.<STAGE>.require", key);
	if ((rc = shared_ok(local_file, key)) < 0)
		return rc;
	return write_one(cfg, local_file, add_fn, key, value, false);
}

int p4r_config_unset(p4r_config *cfg, bool local_file, const char *key)
{
	return write_one(cfg, local_file, unset_fn, key, NULL, false);
}

int p4r_config_unset_all(p4r_config *cfg, bool local_file, const char *key)
{
	return write_one(cfg, local_file, unset_fn, key, NULL, true);
}

int p4r_config_foreach(p4r_config *cfg, int (*fn)(const char *name, const char *value, void *payload),
		       void *payload)
{
	git_config_iterator *it = NULL;
	git_config_entry *entry;
	int err, rc = load(cfg);

	if (rc < 0)
		return rc;
	if (git_config_iterator_new(&it, cfg->all) < 0)
		return p4r_error_git(P4R_ERROR, "cannot read config");
	while ((err = git_config_next(&entry, it)) == 0)
		if ((rc = fn(entry->name, entry->value, payload)) != 0)
			break;
	git_config_iterator_free(it);
	return rc;
}

bool p4r_config_safe_directory(const char *root)
{
	char *path = user_config_path();
	git_config *cfg = NULL;
	git_config_iterator *it = NULL;
	git_config_entry *entry;
	bool safe = false;

	/* without libgit2 the setting cannot be read: not safe */
	if (!path || p4r_libgit2_init() < 0) {
		free(path);
		return false;
	}
	if (git_config_open_ondisk(&cfg, path) == 0 &&
	    git_config_multivar_iterator_new(&it, cfg, "safe.directory", NULL) == 0) {
		while (!safe && git_config_next(&entry, it) == 0)
			safe = !strcmp(entry->value, "*") || !strcmp(entry->value, root);
	}
	git_error_clear();
	git_config_iterator_free(it);
	git_config_free(cfg);
	p4r_libgit2_shutdown();
	free(path);
	return safe;
}
