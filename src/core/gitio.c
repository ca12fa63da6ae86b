/* libgit2 access for provenance and index staging (see gitio.h). */
#include "p4reg/gitio.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"

#include <git2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct p4r_git {
	git_repository *repo;
	char *workdir; /* no trailing slash */
};

int p4r_git_open(p4r_git **out, const char *dir)
{
	git_repository *repo = NULL;
	p4r_git *git;
	size_t n;

	*out = NULL;
	git_libgit2_init();
	if (git_repository_open_ext(&repo, dir, 0, NULL) < 0 || git_repository_is_bare(repo)) {
		git_repository_free(repo);
		git_error_clear();
		git_libgit2_shutdown();
		return 0;
	}
	if (!(git = calloc(1, sizeof(*git))) || !(git->workdir = strdup(git_repository_workdir(repo)))) {
		free(git);
		git_repository_free(repo);
		git_libgit2_shutdown();
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	n = strlen(git->workdir);
	if (n > 1 && git->workdir[n - 1] == '/')
		git->workdir[n - 1] = '\0';
	git->repo = repo;
	*out = git;
	return 0;
}

void p4r_git_free(p4r_git *git)
{
	if (!git)
		return;
	git_repository_free(git->repo);
	free(git->workdir);
	free(git);
	git_libgit2_shutdown();
}

const char *p4r_git_workdir(const p4r_git *git)
{
	return git->workdir;
}

static int is_dirty(git_repository *repo)
{
	git_status_options opts;
	git_status_list *list = NULL;
	int dirty;

	git_status_options_init(&opts, GIT_STATUS_OPTIONS_VERSION);

	opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
	opts.flags = GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
	if (git_status_list_new(&list, repo, &opts) < 0) {
		git_error_clear();
		return -1;
	}
	dirty = git_status_list_entrycount(list) > 0;
	git_status_list_free(list);
	return dirty;
}

int p4r_git_provenance_get(p4r_git *git, p4r_git_provenance *out)
{
	git_reference *head = NULL;
	const git_oid *oid;
	char hex[GIT_OID_HEXSZ + 1];

	memset(out, 0, sizeof(*out));
	out->dirty = -1;
	if (git_repository_head(&head, git->repo) < 0) {
		git_error_clear(); /* unborn branch: no commit yet */
		out->dirty = is_dirty(git->repo);
		return 0;
	}
	if ((oid = git_reference_target(head))) {
		git_oid_tostr(hex, sizeof(hex), oid);
		out->commit = strdup(hex);
	}
	if (git_reference_is_branch(head))
		out->branch = strdup(git_reference_shorthand(head));
	git_reference_free(head);
	out->dirty = is_dirty(git->repo);
	return 0;
}

void p4r_git_provenance_clear(p4r_git_provenance *p)
{
	free(p->commit);
	free(p->branch);
	memset(p, 0, sizeof(*p));
	p->dirty = -1;
}

int p4r_git_stage(p4r_git *git, const char *const *abs_paths, size_t n)
{
	git_index *index = NULL;
	size_t wlen = strlen(git->workdir), i;
	char *lock = NULL;
	struct stat st;
	int rc = 0;

	lock = p4r_path_join(git_repository_path(git->repo), "index.lock");
	if (lock && stat(lock, &st) == 0) {
		rc = p4r_error_set(P4R_ERROR, "cannot stage in git: '%s' exists; another git process "
				   "may be running (remove the file if not)", lock);
		goto done;
	}
	if (git_repository_index(&index, git->repo) < 0) {
		rc = p4r_error_git(P4R_ERROR, "cannot open the git index");
		goto done;
	}
	for (i = 0; i < n; i++) {
		const char *rel = abs_paths[i] + wlen;

		if (strncmp(abs_paths[i], git->workdir, wlen) || *rel != '/') {
			rc = p4r_error_set(P4R_ERROR, "'%s' is outside the git work tree", abs_paths[i]);
			goto done;
		}
		if (git_index_add_bypath(index, rel + 1) < 0) {
			rc = p4r_error_git(P4R_ERROR, "cannot stage '%s'", rel + 1);
			goto done;
		}
	}
	if (git_index_write(index) < 0)
		rc = p4r_error_git(P4R_ERROR, "cannot write the git index");
done:
	if (rc < 0 && index)
		git_index_read(index, 1); /* drop what was half-added in memory */
	git_index_free(index);
	free(lock);
	return rc;
}
