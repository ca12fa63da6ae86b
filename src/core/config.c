/* git-config files through libgit2 (see config.h for the three levels). */
#include "p4reg/config.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"

#include <git2.h>
#include <stdlib.h>
#include <string.h>

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
	bool loaded;           /* load() ran (libgit2 is initialised) */
	int load_rc;           /* and its result */
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
static int load(p4r_config *cfg)
{
	const char *user = cfg->user_path;
	int rc;

	if (cfg->loaded)
		return cfg->load_rc < 0 ? p4r_error_set(P4R_ERROR, "cannot read config '%s'", cfg->shared_path) : 0;
	git_libgit2_init();
	cfg->loaded = true;
	rc = git_config_new(&cfg->all) < 0 || git_config_new(&cfg->trusted) < 0
		? p4r_error_git(P4R_ERROR, "cannot create config") : 0;
	if (rc == 0 && user && (rc = add_file(cfg->all, user, LEVEL_USER)) == 0)
		rc = add_file(cfg->trusted, user, LEVEL_USER);
	if (rc == 0 && (rc = add_file(cfg->all, cfg->shared_path, LEVEL_SHARED)) == 0 &&
	    (rc = add_file(cfg->all, cfg->private_path, LEVEL_PRIVATE)) == 0)
		rc = add_file(cfg->trusted, cfg->private_path, LEVEL_PRIVATE);
	cfg->load_rc = rc;
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

void p4r_config_free(p4r_config *cfg)
{
	if (!cfg)
		return;
	git_config_free(cfg->all);
	git_config_free(cfg->trusted);
	free(cfg->user_path);
	free(cfg->shared_path);
	free(cfg->private_path);
	if (cfg->loaded)
		git_libgit2_shutdown();
	free(cfg);
}

int p4r_config_get(p4r_config *cfg, p4r_config_scope scope, const char *key, char **out)
{
	git_buf buf = GIT_BUF_INIT;
	git_config *c;
	int err;

	*out = NULL;
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
	int v = 0, err = load(cfg);

	if (err < 0)
		return err;
	err = git_config_get_bool(&v, cfg->all, key);

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

static int open_one(git_config **out, p4r_config *cfg, bool local_file)
{
	int rc = load(cfg);

	if (rc < 0)
		return rc;
	if (git_config_open_ondisk(out, local_file ? cfg->private_path : cfg->shared_path) < 0)
		return p4r_error_git(P4R_ERROR, "cannot open config");
	return 0;
}

int p4r_config_set(p4r_config *cfg, bool local_file, const char *key, const char *value)
{
	git_config *one = NULL;
	int rc;

	if ((rc = open_one(&one, cfg, local_file)) < 0)
		return rc;
	if (git_config_set_string(one, key, value) < 0)
		rc = p4r_error_git(P4R_EUSAGE, "cannot set config '%s'", key);
	git_config_free(one);
	return rc;
}

int p4r_config_unset(p4r_config *cfg, bool local_file, const char *key)
{
	git_config *one = NULL;
	int rc, err;

	if ((rc = open_one(&one, cfg, local_file)) < 0)
		return rc;
	err = git_config_delete_entry(one, key);
	if (err == GIT_ENOTFOUND)
		rc = p4r_error_set(P4R_ENOTFOUND, "config key '%s' is not set", key);
	else if (err < 0)
		rc = p4r_error_git(P4R_EUSAGE, "cannot unset config '%s'", key);
	git_config_free(one);
	return rc;
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

	if (!path)
		return false;
	git_libgit2_init();
	if (git_config_open_ondisk(&cfg, path) == 0 &&
	    git_config_multivar_iterator_new(&it, cfg, "safe.directory", NULL) == 0) {
		while (!safe && git_config_next(&entry, it) == 0)
			safe = !strcmp(entry->value, "*") || !strcmp(entry->value, root);
	}
	git_error_clear();
	git_config_iterator_free(it);
	git_config_free(cfg);
	git_libgit2_shutdown();
	free(path);
	return safe;
}
