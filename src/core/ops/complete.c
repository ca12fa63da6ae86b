/* p4r_complete: completion candidates from the registry and the config
 * files, without libgit2 and without the network (ops/complete.h). */
#include "p4reg/ops/complete.h"
#include "p4reg/alias.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/registry.h"
#include "p4reg/remote.h"
#include "p4reg/repo.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Appends TEXT when it starts with PREFIX. */
static int add(p4r_complete_result *r, const char *prefix, const char *text)
{
	char **grown;

	if (strncmp(text, prefix, strlen(prefix)))
		return 0;
	if (!(grown = realloc(r->v, (r->n + 1) * sizeof(*grown))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	r->v = grown;
	if (!(r->v[r->n] = strdup(text)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	r->n++;
	return 0;
}

static int by_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts R and drops repeated candidates (a remote in two files). */
static void sort_unique(p4r_complete_result *r)
{
	size_t i, out = 0;

	if (r->n)
		qsort(r->v, r->n, sizeof(*r->v), by_text);
	for (i = 0; i < r->n; i++) {
		if (out && !strcmp(r->v[out - 1], r->v[i]))
			free(r->v[i]);
		else
			r->v[out++] = r->v[i];
	}
	r->n = out;
}

/* The registry of the repository ROOT, as every command opens it (never
 * created here: a fresh clone has no names to offer yet). */
static int open_registry(p4r_registry **reg, const char *root)
{
	char *meta = p4r_path_join(root, P4R_META_DIR);
	char *db = meta ? p4r_path_join(meta, "registry.db") : NULL;
	int rc = db ? p4r_registry_open(reg, db, false) : p4r_error_set(P4R_ERROR, "out of memory");

	free(meta);
	free(db);
	return rc;
}

/* Every model NAME starting with PREFIX, as NAME SUFFIX. */
static int add_models(p4r_complete_result *r, p4r_registry *reg, const char *prefix, const char *suffix)
{
	char text[P4R_MODEL_NAME_MAX + 2];
	p4r_model *models = NULL;
	size_t i, n = 0;
	int rc = p4r_registry_model_list(reg, &models, &n);

	for (i = 0; rc == 0 && i < n; i++) {
		if (!p4r_model_name_valid(models[i].name))
			continue;
		snprintf(text, sizeof(text), "%s%s", models[i].name, suffix);
		rc = add(r, prefix, text);
	}
	p4r_model_array_free(models, n);
	return rc;
}

/* MODEL@N for each version, MODEL@latest, MODEL@STAGE for each stage a
 * version holds. Aliases belong here too once the registry has them. */
/* MODEL@NAME for each alias of MODEL with a valid name (a hostile registry
 * puts no other text on the command line). */
static int add_aliases_of(p4r_complete_result *r, p4r_registry *reg, const char *model, const char *prefix)
{
	char text[P4R_MODEL_NAME_MAX + P4R_ALIAS_NAME_MAX + 2];
	p4r_alias_entry *a = NULL;
	size_t i, n = 0;
	int rc;

	if ((rc = p4r_registry_alias_list(reg, model, &a, &n)) < 0) {
		p4r_error_clear();
		return 0;
	}
	for (i = 0; rc == 0 && i < n; i++) {
		if (!p4r_alias_name_valid(a[i].name))
			continue;
		snprintf(text, sizeof(text), "%s@%s", model, a[i].name);
		rc = add(r, prefix, text);
	}
	p4r_alias_array_free(a, n);
	return rc;
}

static int add_refs_of(p4r_complete_result *r, p4r_registry *reg, const char *model, const char *prefix)
{
	char text[P4R_MODEL_NAME_MAX + 32];
	bool held[P4R_STAGE_COUNT] = { false };
	p4r_version *v = NULL;
	size_t i, n = 0;
	int rc;

	if (!p4r_model_name_valid(model))
		return 0;
	if ((rc = p4r_registry_version_list(reg, model, &v, &n)) == P4R_ENOTFOUND)
		return 0;
	for (i = 0; rc == 0 && i < n; i++) {
		snprintf(text, sizeof(text), "%s@%lld", model, (long long)v[i].number);
		if ((unsigned)v[i].stage < P4R_STAGE_COUNT)
			held[v[i].stage] = true;
		rc = add(r, prefix, text);
	}
	if (rc == 0 && n) {
		snprintf(text, sizeof(text), "%s@latest", model);
		rc = add(r, prefix, text);
	}
	for (i = 0; rc == 0 && i < P4R_STAGE_COUNT; i++) {
		snprintf(text, sizeof(text), "%s@%s", model, p4r_stage_name((p4r_stage)i));
		rc = held[i] ? add(r, prefix, text) : 0;
	}
	p4r_version_array_free(v, n);
	return rc == 0 ? add_aliases_of(r, reg, model, prefix) : rc;
}

static int add_refs(p4r_complete_result *r, p4r_registry *reg, const char *prefix)
{
	const char *at = strchr(prefix, '@');
	char model[P4R_MODEL_NAME_MAX + 1];

	if (!at)
		return add_models(r, reg, prefix, "@");
	if ((size_t)(at - prefix) >= sizeof(model))
		return 0;
	snprintf(model, sizeof(model), "%.*s", (int)(at - prefix), prefix);
	return add_refs_of(r, reg, model, prefix);
}

/* The names `git config --file FILE --name-only --null --get-regexp`
 * prints for remote.*.url, NUL-separated, into *OUT (malloc'd). git
 * with --file reads that one file, follows no include and runs nothing. */
static int git_config_urls(const char *file, char **out, size_t *len)
{
	char *argv[] = { "git", "config", "--file", (char *)file, "--name-only", "--null",
			 "--get-regexp", "^remote\\..*\\.url$", NULL };
	posix_spawn_file_actions_t fa;
	int fds[2], status = 0, rc;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return p4r_error_errno("cannot start git");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	rc = posix_spawnp(&pid, "git", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		errno = rc;
		return p4r_error_errno("cannot run git");
	}
	rc = p4r_read_fd(out, len, fds[0], "git config", 1u << 20);
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return rc;
}

/* The remote names FILE defines (none when it is missing or git fails). */
static int add_remotes_in(p4r_complete_result *r, const char *file, const char *prefix)
{
	char *text = NULL, *p, name[P4R_REMOTE_NAME_MAX + 1];
	size_t len = 0, n;
	int rc = 0;

	if (access(file, F_OK) < 0 || git_config_urls(file, &text, &len) < 0) {
		p4r_error_clear();
		return 0;
	}
	for (p = text; rc == 0 && p < text + len; p += strlen(p) + 1) {
		n = strlen(p);
		if (n <= 11 || n - 11 >= sizeof(name) || strncmp(p, "remote.", 7))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(n - 11), p + 7);
		if (p4r_remote_name_valid(name))
			rc = add(r, prefix, name);
	}
	free(text);
	return rc;
}

/* The user's own file, as config.c finds it ($XDG_CONFIG_HOME or ~/.config). */
static char *user_config_path(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char *base = NULL, *path;

	if (xdg && *xdg)
		return p4r_path_join(xdg, "p4reg/config");
	if (!home || !*home || !(base = p4r_path_join(home, ".config")))
		return NULL;
	path = p4r_path_join(base, "p4reg/config");
	free(base);
	return path;
}

static int add_remotes(p4r_complete_result *r, const char *root, const char *prefix)
{
	char *meta = p4r_path_join(root, P4R_META_DIR), *files[3] = { user_config_path(), NULL, NULL };
	size_t i;
	int rc = 0;

	if (meta) {
		files[1] = p4r_path_join(meta, "config");
		files[2] = p4r_path_join(meta, "config.local");
	}
	for (i = 0; i < 3; i++) {
		if (rc == 0 && files[i])
			rc = add_remotes_in(r, files[i], prefix);
		free(files[i]);
	}
	free(meta);
	return rc;
}

int p4r_complete(const p4r_complete_opts *opts, p4r_complete_result *out)
{
	const char *prefix = opts->prefix ? opts->prefix : "";
	p4r_registry *reg = NULL;
	char *root = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = p4r_repo_discover(&root, opts->start)) < 0)
		return rc;
	if (opts->kind == P4R_COMPLETE_REMOTES)
		rc = add_remotes(out, root, prefix);
	else if ((rc = open_registry(&reg, root)) == 0)
		rc = opts->kind == P4R_COMPLETE_REFS ? add_refs(out, reg, prefix)
						    : add_models(out, reg, prefix, "");
	p4r_registry_free(reg);
	free(root);
	if (rc < 0) {
		p4r_complete_result_free(out);
		return rc;
	}
	sort_unique(out);
	return 0;
}

void p4r_complete_result_free(p4r_complete_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++)
		free(r->v[i]);
	free(r->v);
	memset(r, 0, sizeof(*r));
}
