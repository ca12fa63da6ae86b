/* p4reg add: store files, register new versions, write pointers. */
#include "cmd.h"
#include "p4reg/beneath.h"
#include "p4reg/gitio.h"
#include "p4reg/ignore.h"
#include "p4reg/lfs.h"
#include "p4reg/objguard.h"
#include "p4reg/output.h"
#include "p4reg/pointer.h"
#include "p4reg/worktree.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

const char cmd_add_usage[] =
	"usage: p4reg add [-n NAME] [-m MSG] [--no-stage] PATH...\n"
	"\n"
	"Hashes each file, stores it in .p4reg/objects, registers it as the next\n"
	"version of its model (or reports it unchanged: the bytes of the latest\n"
	"version, or identical to an older one, which the pointer then names),\n"
	"writes PATH.p4reg and an entry in the .gitignore beside it, and stages\n"
	"both in git when inside a git work tree (config core.autostage, default\n"
	"true). A file git itself tracks gets a warning and the 'git rm --cached'\n"
	"line that stops it.\n"
	"The model is the one bound to PATH, else the file name without\n"
	"extension; a pointer beside a new path naming another model is refused\n"
	"(fetch first, or -n). -n NAME of a model bound to another path moves the\n"
	"model to PATH (see also 'p4reg mv').\n"
	"A file git sends to Git LFS (filter=lfs in .gitattributes, see 'p4reg\n"
	"track') gets no pointer file: its Git LFS pointer is staged instead and\n"
	"the object is also placed in .git/lfs/objects.\n"
	"\n"
	"  -n, --name NAME     model name (default: the model bound to PATH, else the\n"
	"                      file name without extension)\n"
	"  -m, --message MSG   describe the version\n"
	"      --no-stage      do not stage the pointer and .gitignore in git\n";

enum { OPT_NAME = 1, OPT_MESSAGE, OPT_NO_STAGE };

static const p4r_option options[] = {
	{ "name", 'n', true, OPT_NAME },
	{ "message", 'm', true, OPT_MESSAGE },
	{ "no-stage", 0, false, OPT_NO_STAGE },
	{ NULL, 0, false, 0 },
};

/* One file being added. */
struct item {
	const char *arg;        /* as the user typed it */
	char *rel;              /* repository-relative path */
	char *abs;              /* absolute path (for git, which matches it as text) */
	int dir;                /* its folder, opened below the root: the file is
				 * read and linked by name in there, never through a
				 * link planted later */
	const char *base;       /* its name in DIR (points into REL) */
	char model[P4R_MODEL_NAME_MAX + 1];
	char *moved_from;       /* -n of a model bound elsewhere: where it was */
	p4r_stat_key key;       /* the file as first seen */
	bool cached;            /* oid known from the stat cache: no read */
	bool cacheable;         /* stat unchanged across the read */
	p4r_insert_result ins;
	int rc;                 /* result of the store step */
	char err[512];          /* its message (errors are per thread) */
	p4r_version version;    /* what the registry now holds */
	p4r_add_outcome outcome;
	bool lfs;               /* git sends the path to Git LFS: no pointer file */
	bool git_tracked;       /* git's index has the file itself */
};

struct job {
	p4r_repo *repo;
	struct item *items;
	size_t n;
	atomic_size_t next;
	p4r_link_type order[P4R_LINK_MAX];
	size_t norder;
	cmd_progress *progress; /* only with one file: bars would interleave */
};

/* The model IT's path is (docs/commands.md, "add": binding rules). */
static int resolve_name(p4r_repo *repo, struct item *it, const char *name)
{
	p4r_binding b;
	int rc = p4r_worktree_resolve_binding(repo, name, it->rel, &b);

	if (rc < 0)
		return rc;
	snprintf(it->model, sizeof(it->model), "%s", b.model);
	it->moved_from = b.moved_from;
	return 0;
}

static int prepare_item(p4r_repo *repo, p4r_git *git, struct item *it, const char *name)
{
	struct stat st;
	int rc;

	if (p4r_pointer_is_pointer_path(it->arg))
		return p4r_error_set(P4R_EUSAGE, "'%s' is a pointer file; add the file it points to", it->arg);
	if ((rc = p4r_repo_relpath(repo, it->arg, &it->rel)) < 0)
		return rc;
	if (!(it->abs = p4r_repo_abspath(repo, it->rel)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	if ((rc = p4r_beneath_parent(&it->dir, &it->base, p4r_repo_root_fd(repo), it->rel, false)) < 0)
		return rc;
	if (fstatat(it->dir, it->base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return p4r_error_errno("cannot open '%s'", it->arg);
	if (S_ISLNK(st.st_mode))
		return p4r_error_set(P4R_EUSAGE, "'%s' is a symbolic link; add the file it points to", it->arg);
	if (S_ISDIR(st.st_mode))
		return p4r_error_set(P4R_EUSAGE, "'%s' is a directory; add the files in it one by one", it->arg);
	if (!S_ISREG(st.st_mode))
		return p4r_error_set(P4R_EUSAGE, "'%s' is not a regular file", it->arg);
	p4r_worktree_stat_key(&st, &it->key);
	if (git && (rc = p4r_git_is_lfs_path(git, it->abs, &it->lfs)) < 0)
		return rc;
	if (it->lfs) {
		/* a path already kept by a pointer file stays a pointer path */
		p4r_pointer ptr;

		it->lfs = p4r_worktree_read_pointer(repo, it->rel, &ptr) == P4R_ENOTFOUND;
		p4r_error_clear();
	}
	/* the binary itself in git's index: a .gitignore line does not stop
	 * git from committing a file it already tracks */
	if (git && !it->lfs && (rc = p4r_git_index_has(git, it->abs, &it->git_tracked)) < 0)
		return rc;
	return resolve_name(repo, it, name);
}

/* Where the stat cache already knows the bytes and the store has them, the
 * file is not read again: this is what makes re-adding 3 GB instant. */
static int lookup_cache(p4r_repo *repo, struct item *it)
{
	bool found = false;
	int rc;

	rc = p4r_registry_statcache_get(p4r_repo_registry(repo), it->rel, &it->key, &it->ins.oid, &found);
	if (rc < 0)
		return rc;
	if (found && p4r_store_has(p4r_repo_store(repo), &it->ins.oid)) {
		it->cached = it->cacheable = true;
		it->ins.existed = true;
		it->ins.size = (uint64_t)it->key.size;
	}
	return 0;
}

static void store_item(struct job *job, struct item *it)
{
	struct stat st;

	it->rc = p4r_store_insert_at(p4r_repo_store(job->repo), it->dir, it->base, it->rel, job->order,
				     job->norder, &it->ins, &st, job->progress ? cmd_progress_update : NULL,
				     job->progress);
	if (it->rc < 0) {
		snprintf(it->err, sizeof(it->err), "%s", p4r_error_message());
		return;
	}
	/* a hardlink changes ctime (chmod 0444); re-read the stat either way
	 * and cache only when nothing but that moved during the read */
	if (fstatat(it->dir, it->base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		p4r_stat_key after;

		p4r_worktree_stat_key(&st, &after);
		it->cacheable = after.size == it->key.size && after.mtime_ns == it->key.mtime_ns &&
				after.ino == it->key.ino && after.dev == it->key.dev;
		it->key = after;
	}
}

static void *store_worker(void *arg)
{
	struct job *job = arg;
	size_t i;

	while ((i = atomic_fetch_add(&job->next, 1)) < job->n)
		if (!job->items[i].cached)
			store_item(job, &job->items[i]);
	return NULL;
}

/* Hashes and stores the files not known from the cache, one thread per core. */
static int store_all(struct job *job)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nthreads = job->n < (size_t)(cores > 0 ? cores : 1) ? job->n : (size_t)cores;
	pthread_t threads[64];
	size_t started = 0, i;

	if (nthreads > 64)
		nthreads = 64;
	for (i = 1; i < nthreads; i++)
		if (pthread_create(&threads[started], NULL, store_worker, job) == 0)
			started++;
	store_worker(job);
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	for (i = 0; i < job->n; i++)
		if (job->items[i].rc < 0)
			return p4r_error_set(job->items[i].rc, "%s", job->items[i].err);
	return 0;
}

/* All registrations (and stat cache rows) in one transaction. */
static int register_all(p4r_repo *repo, p4r_git *git, struct item *items, size_t n, const char *message)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_git_provenance prov = { .dirty = -1 };
	char *actor = p4r_repo_actor(repo);
	size_t i;
	int rc = 0;

	if (git && (rc = p4r_git_provenance_get(git, &prov)) < 0)
		goto done;
	if ((rc = p4r_registry_begin(reg)) < 0)
		goto done;
	/* gc deletes only under the registry's write lock, which we now hold:
	 * an object still here cannot go before its version row commits */
	for (i = 0; i < n && rc == 0; i++)
		if (!p4r_store_has(p4r_repo_store(repo), &items[i].ins.oid))
			rc = p4r_error_set(P4R_ERROR, "object %.12s of '%s' left the store while it was "
					   "being added (gc?); run add again", items[i].ins.oid.hex, items[i].rel);
	for (i = 0; i < n && rc == 0; i++) {
		p4r_version_input in = {
			.model = items[i].model, .path = items[i].rel, .oid = items[i].ins.oid,
			.size = (int64_t)items[i].ins.size, .author = actor ? actor : "unknown",
			.message = message, .git_commit = prov.commit, .git_branch = prov.branch,
			.git_dirty = prov.dirty,
		};

		/* -n NAME of a model bound elsewhere: it moves here first */
		if (items[i].moved_from)
			rc = p4r_registry_model_move(reg, items[i].model, items[i].moved_from, items[i].rel,
						     in.author, 0);
		if (rc == 0)
			rc = p4r_registry_register_version(reg, &in, &items[i].version, &items[i].outcome);
		if (rc == 0)
			rc = p4r_objguard_record(repo, &items[i].ins.oid, &items[i].ins.placed);
		/* a cache hit's row already says exactly this: rewriting it would
		 * make an unchanged add pay a WAL commit (two fsyncs) for nothing */
		if (rc == 0 && items[i].cacheable && !items[i].cached)
			rc = p4r_registry_statcache_put(reg, items[i].rel, &items[i].key, &items[i].ins.oid);
	}
	if (rc == 0)
		rc = p4r_registry_commit(reg);
	else
		p4r_registry_abort(reg);
done:
	p4r_git_provenance_clear(&prov);
	free(actor);
	return rc;
}

/* Pointer and .gitignore beside each file (the Git LFS object for an
 * LFS-tracked one), the path a moved model left cleared, then one staging
 * in git. */
static int write_pointers(p4r_cli *cli, p4r_repo *repo, p4r_git *git, const char *why,
			  struct item *items, size_t n, bool stage)
{
	char **owned = calloc(4 * n + 1, sizeof(*owned));
	const char **paths = calloc(3 * n + 1, sizeof(*paths));
	const char **gone = calloc(2 * n + 1, sizeof(*gone));
	p4r_git_lfs_entry *lfs = calloc(n + 1, sizeof(*lfs));
	char *lfs_dir = NULL;
	size_t i, nown = 0, np = 0, nlfs = 0, ngone = 0;
	int rc = 0;

	if (!paths || !owned || !gone || !lfs || (git && !(lfs_dir = p4r_git_lfs_dir(git)))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	for (i = 0; i < n && rc == 0; i++) {
		char *ptr = NULL, *dir = NULL;
		p4r_unbind u;

		if (items[i].lfs) {
			lfs[nlfs].abs_path = items[i].abs;
			lfs[nlfs].oid = items[i].version.oid;
			lfs[nlfs++].size = (uint64_t)items[i].version.size;
			rc = p4r_lfs_mirror(repo, lfs_dir, &items[i].version.oid);
		} else {
			rc = p4r_worktree_write_pointer(repo, &items[i].version, items[i].rel, &ptr);
			if (rc == 0)
				rc = p4r_worktree_ignore(repo, items[i].rel, &dir);
			paths[np++] = owned[nown++] = ptr;
			paths[np++] = owned[nown++] = dir;
		}
		/* the path a moved model left: its pointer, and its line when
		 * no file stays there */
		if (rc < 0 || !items[i].moved_from ||
		    (rc = p4r_worktree_unbind(repo, items[i].model, items[i].moved_from, &u)) < 0)
			continue;
		if (u.pointer_abs)
			gone[ngone++] = owned[nown++] = u.pointer_abs;
		if (u.gitignore_abs && u.gitignore_deleted)
			gone[ngone++] = owned[nown++] = u.gitignore_abs;
		else if (u.gitignore_abs)
			paths[np++] = owned[nown++] = u.gitignore_abs;
	}
	if (rc < 0 || !stage)
		goto done;
	if (!git) {
		cmd_note(cli, "note: %s; git features skipped, nothing staged",
			 why ? why : "not inside a git work tree");
		goto done;
	}
	rc = p4r_git_stage_update(git, paths, np, lfs, nlfs, gone, ngone);
done:
	for (i = 0; owned && i < nown; i++)
		free(owned[i]);
	free(owned);
	free(paths);
	free(gone);
	free(lfs);
	free(lfs_dir);
	return rc;
}

/* S as one shell word, for a line to copy: '...' with ' as '\'', or, when
 * S holds anything a terminal would act on or that is not plain UTF-8 text
 * (p4r_escape would change it), $'...' with such bytes as \xHH; so the line
 * prints unchanged and pastes back to the same bytes. Malloc'd. */
static char *shell_quote(const char *s)
{
	bool plain = !strcmp(p4r_escape(s), s);
	size_t n = strlen(s), o = 0, i;
	char *out = malloc(4 * n + 4);

	if (!out)
		return NULL;
	if (!plain)
		out[o++] = '$';
	out[o++] = '\'';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (plain && c == '\'') {
			memcpy(out + o, "'\\''", 4);
			o += 4;
		} else if (!plain && (c == '\'' || c == '\\')) {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (!plain && (c < 0x20 || c >= 0x7f)) {
			o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o++] = '\'';
	out[o] = '\0';
	return out;
}

/* A file git already tracks would still be committed: say so, with the
 * command that stops it (run from the top of the work tree). */
static void warn_git_tracked(p4r_git *git, const struct item *it)
{
	char *rel = p4r_git_relpath(git, it->abs), *quoted = rel ? shell_quote(rel) : NULL;

	cmd_warn("git tracks '%s'; the binary would still go into git", rel ? rel : it->rel);
	if (quoted)
		fprintf(stderr, "  git rm --cached -- %s\n", quoted);
	free(quoted);
	free(rel);
}

static int print_result(p4r_cli *cli, struct item *items, size_t n)
{
	cJSON *doc, *arr;
	char size[32];
	size_t i;

	if (cli->json) {
		doc = cJSON_CreateObject();
		arr = cJSON_AddArrayToObject(doc, "added");
		for (i = 0; i < n; i++) {
			cJSON *o = p4r_json_version(&items[i].version);

			cJSON_AddStringToObject(o, "file", items[i].rel);
			cJSON_AddBoolToObject(o, "unchanged", items[i].outcome != P4R_ADD_NEW);
			if (items[i].outcome == P4R_ADD_IDENTICAL)
				cJSON_AddNumberToObject(o, "identical_to", (double)items[i].version.number);
			else
				cJSON_AddNullToObject(o, "identical_to");
			if (items[i].moved_from)
				cJSON_AddStringToObject(o, "moved_from", items[i].moved_from);
			else
				cJSON_AddNullToObject(o, "moved_from");
			cJSON_AddBoolToObject(o, "lfs", items[i].lfs);
			cJSON_AddItemToArray(arr, o);
		}
		return cmd_print_json(doc);
	}
	if (cli->quiet)
		return 0;
	for (i = 0; i < n; i++) {
		p4r_format_size(size, sizeof(size), (uint64_t)items[i].version.size);
		if (items[i].moved_from)
			printf("model '%s' moved from %s to %s\n", items[i].model, p4r_escape(items[i].moved_from),
			       p4r_escape(items[i].rel));
		if (items[i].outcome == P4R_ADD_UNCHANGED)
			printf("unchanged %s (%s@%lld)\n", p4r_escape(items[i].rel), items[i].version.model,
			       (long long)items[i].version.number);
		else if (items[i].outcome == P4R_ADD_IDENTICAL)
			printf("unchanged %s (identical to %s@%lld)\n", p4r_escape(items[i].rel),
			       items[i].version.model, (long long)items[i].version.number);
		else
			printf("added %s as %s@%lld (%.12s, %s)\n", p4r_escape(items[i].rel), items[i].version.model,
			       (long long)items[i].version.number, items[i].version.oid.hex, size);
	}
	return 0;
}

int cmd_add(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	const char *name = NULL, *message = NULL, *value;
	struct item *items = NULL;
	cmd_progress progress = { .cli = cli, .label = "hashing" };
	struct job job = { .repo = repo };
	p4r_guard_log damage = { 0 };
	const char *why = NULL;
	p4r_git *git = NULL;
	bool stage = true;
	p4r_opts o;
	size_t n = 0, i;
	int id, rc;

	if (!(items = calloc((size_t)argc, sizeof(*items))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < (size_t)argc; i++)
		items[i].dir = -1;
	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_NAME)
			name = value;
		else if (id == OPT_MESSAGE)
			message = value;
		else if (id == OPT_NO_STAGE)
			stage = false;
		else
			items[n++].arg = value;
	}
	if (rc < 0)
		goto done;
	if (n == 0) {
		rc = cmd_usage_error(cli, "nothing to add: name at least one file");
		goto done;
	}
	if (name && n > 1) {
		rc = cmd_usage_error(cli, "--name applies to one file, not %zu", n);
		goto done;
	}
	if ((rc = p4r_repo_autostage(repo, !stage, &stage)) < 0)
		goto done;
	if ((rc = p4r_git_open_why(&git, p4r_repo_root(repo), &why)) < 0)
		goto done;
	for (i = 0; i < n && rc == 0; i++)
		rc = prepare_item(repo, git, &items[i], name);
	for (i = 0; i < n && rc == 0; i++)
		rc = lookup_cache(repo, &items[i]);
	if (rc < 0)
		goto done;
	job.items = items;
	job.n = n;
	job.progress = n == 1 ? &progress : NULL;
	if ((rc = p4r_repo_link_order(repo, job.order, &job.norder)) < 0 ||
	    (rc = store_all(&job)) < 0)
		goto done;
	cmd_progress_done(&progress);
	cmd_warn_link_hazard(repo, job.order, job.norder);
	for (i = 0; i < n && rc == 0; i++)
		rc = p4r_objguard_added(repo, &(p4r_guard_added){ items[i].dir, items[i].base, items[i].rel,
				       job.order, job.norder, &items[i].ins }, &damage, NULL, NULL);
	if (rc < 0)
		goto done;
	if ((rc = register_all(repo, git, items, n, message)) < 0 ||
	    (rc = write_pointers(cli, repo, git, why, items, n, stage)) < 0)
		goto done;
	for (i = 0; i < n; i++)
		if (items[i].git_tracked)
			warn_git_tracked(git, &items[i]);
	if ((rc = print_result(cli, items, n)) == 0)
		rc = cmd_guard_report(cli, &damage);
done:
	p4r_guard_log_clear(&damage);
	cmd_progress_done(&progress);
	for (i = 0; i < n; i++) {
		if (items[i].dir >= 0)
			close(items[i].dir);
		free(items[i].rel);
		free(items[i].abs);
		free(items[i].moved_from);
		p4r_version_clear(&items[i].version);
	}
	free(items);
	p4r_git_free(git);
	return rc;
}
