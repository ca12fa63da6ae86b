/* `p4reg add -n NAME -`: a model's bytes from standard input (ops/add.h).
 * They are streamed into a temporary file beside the model's work-tree
 * path and renamed over it, then added like any file there: the binding
 * rules, store, registry row, pointer and git staging are p4r_add's. */
#include "add_priv.h"
#include "p4reg/beneath.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/pointer.h"
#include "p4reg/worktree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_BLOCK ((size_t)1 << 20)

/* The work-tree path of an existing model NAME (a file model) into *REL;
 * --path, when given, must be that path. */
static int existing_target(p4r_repo *repo, const p4r_add_opts *opts, const p4r_model *m, char **rel)
{
	p4r_version latest = { 0 };
	char *given = NULL;
	int rc = 0;

	if (opts->input_path && (rc = p4r_repo_relpath(repo, opts->input_path, &given)) == 0 &&
	    strcmp(given, m->path))
		rc = p4r_error_set(P4R_EUSAGE, "model '%s' is bound to '%s'; --path is for a new model "
				   "('p4reg mv' moves one)", m->name, m->path);
	free(given);
	if (rc == 0 && p4r_registry_version_latest(p4r_repo_registry(repo), m->name, &latest) == 0 &&
	    latest.kind == P4R_KIND_DIR)
		rc = p4r_error_set(P4R_EUSAGE, "model '%s' is a folder model; standard input holds one "
				   "file", m->name);
	p4r_version_clear(&latest);
	if (rc == 0 && !(*rel = strdup(m->path)))
		rc = p4r_error_set(P4R_ERROR, "out of memory");
	return rc;
}

/* Model NAME is unknown: a new one needs --path (the closest existing
 * name stays the hint). */
static int unknown_without_path(const char *name)
{
	char hint[256];

	snprintf(hint, sizeof(hint), "%s", p4r_error_hint_text());
	p4r_error_set(P4R_ENOTFOUND, "unknown model '%s'; a new model needs --path PATH, where its file "
		      "goes", name);
	if (hint[0])
		p4r_error_hint("%s", hint);
	return P4R_ENOTFOUND;
}

/* --path PATH of a new model as a repository path; its folder must exist. */
static int new_path(p4r_repo *repo, const char *path, char **rel)
{
	int rc = p4r_repo_relpath(repo, path, rel);

	if (rc == P4R_ENOTFOUND)
		return p4r_error_set(P4R_EUSAGE, "the folder of --path '%s' does not exist; create it first", path);
	return rc;
}

/* Where the bytes of model OPTS->name go: its bound path, or --path for a
 * new model; checked as p4r_add will check it, before anything is
 * written. */
static int input_target(p4r_repo *repo, const p4r_add_opts *opts, char **rel)
{
	struct run probe = { .repo = repo };
	p4r_model m = { 0 };
	p4r_binding b = { 0 };
	int rc;

	*rel = NULL;
	if (!opts->name)
		return p4r_error_set(P4R_EUSAGE, "add - reads one file from standard input: name its model "
				     "with -n NAME");
	if (!p4r_model_name_valid(opts->name))
		return p4r_error_set(P4R_EUSAGE, "invalid model name '%s'", opts->name);
	rc = p4r_registry_model_get(p4r_repo_registry(repo), opts->name, &m);
	if (rc == 0)
		rc = existing_target(repo, opts, &m, rel);
	else if (rc == P4R_ENOTFOUND)
		rc = opts->input_path ? new_path(repo, opts->input_path, rel) : unknown_without_path(opts->name);
	p4r_model_clear(&m);
	if (rc == 0 && p4r_pointer_is_pointer_path(*rel))
		rc = p4r_error_set(P4R_EUSAGE, "'%s' is a pointer file's path", *rel);
	if (rc == 0 && (rc = p4r_add_dir_check_inside(&probe, *rel, *rel)) == 0 &&
	    (rc = p4r_worktree_resolve_binding(repo, opts->name, *rel, false, &b)) == 0 && b.moved_from)
		rc = p4r_error_set(P4R_EUSAGE, "model '%s' is bound to '%s'", opts->name, b.moved_from);
	p4r_binding_clear(&b);
	return rc;
}

/* The file at REL may be replaced: absent, or a regular file whose bytes
 * some version holds (the store has them). *MODE gets its mode (0644 for
 * a new file). */
static int input_replaceable(p4r_repo *repo, int dir, const char *base, const char *rel, int *mode)
{
	struct stat st;
	p4r_oid oid;
	bool exists = false;
	int rc;

	*mode = 0644;
	if (fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : p4r_error_errno("cannot open '%s'", rel);
	if (!S_ISREG(st.st_mode))
		return p4r_error_set(P4R_EUSAGE, "'%s' is not a regular file; p4reg does not replace it", rel);
	*mode = (int)(st.st_mode & 07777);
	if ((rc = p4r_worktree_file_oid(repo, rel, &oid, &exists)) < 0)
		return rc;
	if (exists && !p4r_store_has(p4r_repo_store(repo), &oid))
		return p4r_error_set(P4R_ERROR, "'%s' has changes that are in no version; 'p4reg add' it "
				     "first, or move it away", rel);
	return 0;
}

/* Copies IN to its end into OUT (named REL in messages), a block at a time. */
static int copy_stream(int out, int in, const char *rel)
{
	char *buf = malloc(COPY_BLOCK);
	ssize_t n;
	int rc = 0;

	if (!buf)
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (;;) {
		n = read(in, buf, COPY_BLOCK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = p4r_error_errno("cannot read standard input");
			break;
		}
		if (n == 0)
			break;
		if (p4r_write_full(out, buf, (size_t)n) < 0) {
			rc = p4r_error_errno("cannot write '%s'", rel);
			break;
		}
	}
	free(buf);
	return rc;
}

/* Streams IN into a temporary file beside REL, then renames it over REL. */
static int input_write(p4r_repo *repo, const char *rel, int in)
{
	char *prefix = NULL, *tmp = NULL;
	const char *base;
	int dir = -1, fd = -1, mode, rc;

	if ((rc = p4r_beneath_parent(&dir, &base, p4r_repo_root_fd(repo), rel, true)) < 0)
		return rc;
	if ((rc = input_replaceable(repo, dir, base, rel, &mode)) < 0)
		goto done;
	if (asprintf(&prefix, "%s.p4reg-tmp", base) < 0) {
		prefix = NULL;
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	if ((rc = p4r_mkstemp_at(&fd, &tmp, dir, prefix)) < 0 || (rc = copy_stream(fd, in, rel)) < 0)
		goto done;
	rc = p4r_replace_at(dir, &fd, &tmp, base, mode, rel);
done:
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlinkat(dir, tmp, 0);
	free(tmp);
	free(prefix);
	close(dir);
	return rc;
}

int p4r_add_input(p4r_repo *repo, const p4r_add_opts *opts, const p4r_op_report *report, p4r_add_result *out)
{
	p4r_add_opts file = *opts;
	const char *paths[1];
	char *rel = NULL, *abs = NULL;
	int rc;

	if ((rc = input_target(repo, opts, &rel)) < 0 || (rc = input_write(repo, rel, opts->input_fd)) < 0)
		goto done;
	if (!(abs = p4r_repo_abspath(repo, rel))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	paths[0] = abs;
	file.from_input = false;
	file.paths = paths;
	file.npaths = 1;
	rc = p4r_add(repo, &file, report, out);
done:
	free(rel);
	free(abs);
	return rc;
}
