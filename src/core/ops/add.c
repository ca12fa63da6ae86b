/* p4r_add: the data path of `p4reg add` (ops/add.h) -- check and bind
 * every path, hash and store the files in parallel, one registry
 * transaction, then pointers, Git LFS objects and one git staging. */
#include "add_priv.h"
#include "p4reg/beneath.h"
#include "p4reg/error.h"
#include "p4reg/gitio.h"
#include "p4reg/lfs.h"
#include "p4reg/objguard.h"
#include "p4reg/parallel.h"
#include "p4reg/pointer.h"
#include "p4reg/tag.h"
#include "p4reg/worktree.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* From this many files an add is one batch with one sync (store_all):
 * syncfs also waits for what other processes wrote to the file system, so
 * a few dozen files pay their own fsyncs, which cost less than that wait
 * can on a busy machine; thousands of small files would cost seconds. */
#define BATCH_MIN_FILES 128

/* What the path of IT is: a regular file or a folder below the root,
 * seen without following a link. */
static int open_item(struct run *run, struct item *it, p4r_add_file *f)
{
	p4r_repo *repo = run->repo;
	struct stat st;
	int rc;

	if (p4r_pointer_is_pointer_path(it->arg))
		return p4r_error_set(P4R_EUSAGE, "'%s' is a pointer file; add the file it points to", it->arg);
	if ((rc = p4r_repo_relpath(repo, it->arg, &f->rel)) < 0)
		return rc;
	if (!(it->abs = p4r_repo_abspath(repo, f->rel)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	if ((rc = p4r_beneath_parent(&it->dir, &it->base, p4r_repo_root_fd(repo), f->rel, false)) < 0)
		return rc;
	if (fstatat(it->dir, it->base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return p4r_error_errno("cannot open '%s'", it->arg);
	if (S_ISLNK(st.st_mode))
		return p4r_error_set(P4R_EUSAGE, "'%s' is a symbolic link; add the file it points to", it->arg);
	if ((rc = p4r_add_dir_check_inside(run, f->rel, it->arg)) < 0)
		return rc;
	if (S_ISDIR(st.st_mode))
		return p4r_add_dir_open(run, it, f);
	if (!S_ISREG(st.st_mode))
		return p4r_error_set(P4R_EUSAGE, "'%s' is not a regular file", it->arg);
	p4r_worktree_stat_key(&st, &it->before);
	return 0;
}

/* How git sees F's path: sent to Git LFS, or the binary itself tracked. */
static int ask_git(struct run *run, struct item *it, p4r_add_file *f)
{
	int rc;

	if ((rc = p4r_git_is_lfs_path(run->git, it->abs, &f->lfs)) < 0)
		return rc;
	if (f->lfs) {
		/* a path already kept by a pointer file stays a pointer path */
		p4r_pointer ptr;

		f->lfs = p4r_worktree_read_pointer(run->repo, f->rel, &ptr) == P4R_ENOTFOUND;
		p4r_error_clear();
	}
	/* the binary itself in git's index: a .gitignore line does not stop
	 * git from committing a file it already tracks */
	if (!f->lfs && (rc = p4r_git_index_has(run->git, it->abs, &f->git_tracked)) < 0)
		return rc;
	if (f->git_tracked)
		f->git_rel = p4r_git_relpath(run->git, it->abs);
	return 0;
}

/* Checks file I and binds it to its model (docs/commands.md, "add":
 * binding rules); nothing is written yet. */
static int prepare_item(struct run *run, size_t i)
{
	struct item *it = &run->items[i];
	p4r_add_file *f = &run->files[i];
	p4r_binding b;
	int rc;

	if ((rc = open_item(run, it, f)) < 0)
		return rc;
	if (run->git && !it->folder && (rc = ask_git(run, it, f)) < 0)
		return rc;
	if ((rc = p4r_worktree_resolve_binding(run->repo, run->opts->name, f->rel, it->folder, &b)) < 0)
		return rc;
	snprintf(it->model, sizeof(it->model), "%s", b.model);
	f->moved_from = b.moved_from;
	if ((rc = p4r_add_dir_check_kind(run, it, f->rel)) < 0)
		return rc;
	if (it->folder && f->moved_from)
		return p4r_error_set(P4R_EUSAGE, "model '%s' is bound to '%s'; moving a folder model is not "
				     "supported yet", it->model, f->moved_from);
	return 0;
}

/* Where the stat cache already knows the bytes and the store has them, the
 * file is not read again: this is what makes re-adding 3 GB instant. */
static int lookup_cache(struct run *run, struct item *it, const char *rel)
{
	bool found = false;
	int rc;

	rc = p4r_registry_statcache_get(p4r_repo_registry(run->repo), rel, &it->before, &it->ins.oid, &found);
	if (rc < 0)
		return rc;
	if (found && p4r_store_has(p4r_repo_store(run->repo), &it->ins.oid)) {
		it->cached = true;
		it->ins.existed = true;
		it->ins.size = (uint64_t)it->before.size;
	}
	return 0;
}

/* The run's files and bytes, under RUN's progress lock. */
static void report_run(struct run *run)
{
	p4r_progress p = { .label = "add", .unit = "files", .items = run->read_done, .items_total = run->nread,
			   .has_bytes = true, .bytes = run->done, .bytes_total = run->total };

	p4r_op_progress_count(run->report, &p);
}

/* One file's progress (DONE of its bytes) as the whole run's: one line
 * for every file read in parallel. */
static void task_progress(uint64_t done, uint64_t total, void *payload)
{
	struct task *k = payload;
	struct run *run = k->run;

	(void)total;
	pthread_mutex_lock(&run->progress_lock);
	run->done += done - k->reported;
	k->reported = done;
	report_run(run);
	pthread_mutex_unlock(&run->progress_lock);
}

/* Reads, hashes and stores the file of task T. */
static int store_task(struct run *run, struct task *k)
{
	struct item *it = &run->items[k->item];
	struct stat st;
	int rc;

	if (k->file != SIZE_MAX)
		return p4r_add_dir_store_file(run, it, k->file, task_progress, k);
	if (it->cached)
		return 0;
	rc = p4r_store_insert_at(p4r_repo_store(run->repo), it->dir, it->base, run->files[k->item].rel,
				 run->order, run->norder, &it->ins, &st, task_progress, k);
	if (rc < 0)
		return rc;
	/* the stat once read decides whether the hash may be cached */
	if (fstatat(it->dir, it->base, &st, AT_SYMLINK_NOFOLLOW) == 0)
		p4r_worktree_stat_key(&st, &it->after);
	return 0;
}

/* Task T (a p4r_parallel_fn), then one more file in the run's progress. */
static int store_one(size_t t, void *payload)
{
	struct run *run = payload;
	struct task *k = &run->tasks[t];
	int rc = store_task(run, k);

	if (rc == 0 && !k->cached) {
		pthread_mutex_lock(&run->progress_lock);
		run->read_done++;
		report_run(run);
		pthread_mutex_unlock(&run->progress_lock);
	}
	return rc;
}

/* The object guard's look at what the store did with each file. */
static int guard_all(struct run *run, p4r_guard_log *damage)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < run->n && rc == 0; i++) {
		struct item *it = &run->items[i];
		p4r_guard_added a = { it->dir, it->base, run->files[i].rel, run->order, run->norder, &it->ins, false };

		if (it->folder)
			rc = p4r_add_dir_guard(run, it, damage);
		else
			rc = p4r_objguard_added(run->repo, &a, damage, NULL, NULL);
	}
	return rc;
}

/* File I's rows inside the transaction: the move of its model (-n), its
 * version, its object's fingerprint and its stat cache row. */
static int register_one(struct run *run, size_t i, const p4r_git_provenance *prov, const char *author)
{
	p4r_registry *reg = p4r_repo_registry(run->repo);
	struct item *it = &run->items[i];
	p4r_add_file *f = &run->files[i];
	p4r_version_input in = {
		.model = it->model, .path = f->rel, .oid = it->ins.oid, .size = (int64_t)it->ins.size,
		.author = author, .message = run->opts->message, .git_commit = prov->commit,
		.git_branch = prov->branch, .git_dirty = prov->dirty,
	};
	int rc = 0;

	/* -n NAME of a model bound elsewhere: it moves here first */
	if (f->moved_from)
		rc = p4r_registry_model_move(reg, it->model, f->moved_from, f->rel, author, 0);
	if (rc == 0 && it->folder)
		return p4r_add_dir_register(run, it, &in, f);
	if (rc == 0)
		rc = p4r_registry_register_version(reg, &in, &f->version, &f->outcome);
	if (rc == 0)
		rc = p4r_objguard_record(run->repo, &it->ins.oid, &it->ins.placed);
	/* a cache hit's row already says exactly this: rewriting it would
	 * make an unchanged add pay a WAL commit (two fsyncs) for nothing */
	if (rc == 0 && !it->cached)
		rc = p4r_worktree_stat_remember(run->repo, f->rel, &it->before, &it->after, &it->ins.oid);
	return rc;
}

/* --tag KEY=VALUE..., split and checked before anything is read. */
static int parse_tags(struct run *run)
{
	size_t i, k;
	int rc = 0;

	if (!run->opts->ntags)
		return 0;
	if (run->opts->ntags > P4R_TAGS_MAX)
		return p4r_error_set(P4R_EUSAGE, "at most %d tags at once, not %zu", P4R_TAGS_MAX,
				     run->opts->ntags);
	if (!(run->tag_keys = calloc(run->opts->ntags, sizeof(char *))) ||
	    !(run->tag_values = calloc(run->opts->ntags, sizeof(char *))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < run->opts->ntags && rc == 0; i++) {
		if ((rc = p4r_tag_parse(run->opts->tags[i], &run->tag_keys[i], &run->tag_values[i])) < 0)
			break;
		run->ntags++;
		for (k = 0; k < i && rc == 0; k++)
			if (!strcmp(run->tag_keys[k], run->tag_keys[i]))
				rc = p4r_error_set(P4R_EUSAGE, "tag '%s' is named twice", run->tag_keys[i]);
	}
	return rc;
}

/* The --tag pairs on the version file I now names (inside the transaction). */
static int tag_one(struct run *run, size_t i, const char *actor)
{
	const p4r_version *v = &run->files[i].version;
	p4r_tag_req req = { .model = v->model, .number = v->number,
			    .keys = (const char *const *)run->tag_keys,
			    .values = (const char *const *)run->tag_values, .n = run->ntags,
			    .actor = actor };
	size_t changed;

	return run->ntags ? p4r_registry_tags_set(p4r_repo_registry(run->repo), &req, &changed) : 0;
}

/* Every file's rows in one transaction. */
static int register_all(struct run *run)
{
	p4r_registry *reg = p4r_repo_registry(run->repo);
	p4r_git_provenance prov = { .dirty = -1 };
	char *actor = p4r_repo_actor(run->repo);
	size_t i;
	int rc = 0;

	if (run->git && (rc = p4r_git_provenance_get(run->git, &prov)) < 0)
		goto done;
	if ((rc = p4r_registry_begin(reg)) < 0)
		goto done;
	/* gc deletes only under the registry's write lock, which we now hold:
	 * an object still here cannot go before its version row commits */
	for (i = 0; i < run->n && rc == 0; i++)
		if (!p4r_store_has(p4r_repo_store(run->repo), &run->items[i].ins.oid))
			rc = p4r_error_set(P4R_ERROR, "object %.12s of '%s' left the store while it was "
					   "being added (gc?); run add again", run->items[i].ins.oid.hex,
					   run->files[i].rel);
	for (i = 0; i < run->n && rc == 0; i++)
		if ((rc = register_one(run, i, &prov, actor ? actor : "unknown")) == 0)
			rc = tag_one(run, i, actor ? actor : "unknown");
	if (rc == 0)
		rc = p4r_registry_commit(reg);
	else
		p4r_registry_abort(reg);
done:
	p4r_git_provenance_clear(&prov);
	free(actor);
	return rc;
}

static int staging_init(struct staging *s, size_t n, p4r_git *git)
{
	memset(s, 0, sizeof(*s));
	s->owned = calloc(4 * n + 1, sizeof(*s->owned));
	s->paths = calloc(3 * n + 1, sizeof(*s->paths));
	s->gone = calloc(2 * n + 1, sizeof(*s->gone));
	s->lfs = calloc(n + 1, sizeof(*s->lfs));
	if (!s->owned || !s->paths || !s->gone || !s->lfs || (git && !(s->lfs_dir = p4r_git_lfs_dir(git))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	return 0;
}

static void staging_free(struct staging *s)
{
	size_t i;

	for (i = 0; s->owned && i < s->nown; i++)
		free(s->owned[i]);
	free(s->owned);
	free(s->paths);
	free(s->gone);
	free(s->lfs);
	free(s->lfs_dir);
}

/* The path a moved model left: its pointer, and its .gitignore line when
 * no file stays there. */
static int clear_old_path(struct run *run, const p4r_add_file *f, struct staging *s)
{
	p4r_unbind u;
	int rc = p4r_worktree_unbind(run->repo, f->version.model, f->moved_from, &u);

	if (rc < 0)
		return rc;
	if (u.pointer_abs)
		s->gone[s->ngone++] = s->owned[s->nown++] = u.pointer_abs;
	if (u.gitignore_abs && u.gitignore_deleted)
		s->gone[s->ngone++] = s->owned[s->nown++] = u.gitignore_abs;
	else if (u.gitignore_abs)
		s->paths[s->np++] = s->owned[s->nown++] = u.gitignore_abs;
	return 0;
}

/* The files beside file I: its pointer and .gitignore line, or for a Git
 * LFS path its object in .git/lfs/objects (the pointer is staged). */
static int write_beside(struct run *run, size_t i, struct staging *s)
{
	const p4r_add_file *f = &run->files[i];
	char *ptr = NULL, *dir = NULL;
	int rc;

	if (run->items[i].folder) {
		rc = p4r_add_dir_write_beside(run, f, s);
	} else if (f->lfs) {
		s->lfs[s->nlfs].abs_path = run->items[i].abs;
		s->lfs[s->nlfs].oid = f->version.oid;
		s->lfs[s->nlfs++].size = (uint64_t)f->version.size;
		rc = p4r_lfs_mirror(run->repo, s->lfs_dir, &f->version.oid);
	} else {
		rc = p4r_worktree_write_pointer(run->repo, &f->version, f->rel, &ptr);
		if (rc == 0)
			rc = p4r_worktree_ignore(run->repo, f->rel, &dir);
		s->paths[s->np++] = s->owned[s->nown++] = ptr;
		s->paths[s->np++] = s->owned[s->nown++] = dir;
	}
	if (rc == 0 && f->moved_from)
		rc = clear_old_path(run, f, s);
	return rc;
}

/* Pointers, .gitignore lines and Git LFS objects, then one staging. */
static int write_pointers(struct run *run)
{
	struct staging s;
	size_t i;
	int rc = staging_init(&s, run->n, run->git);

	for (i = 0; i < run->n && rc == 0; i++)
		rc = write_beside(run, i, &s);
	if (rc < 0 || !run->stage)
		goto done;
	if (!run->git) {
		p4r_op_note(run->report, "note: %s; git features skipped, nothing staged",
			    run->why ? run->why : "not inside a git work tree");
		goto done;
	}
	rc = p4r_git_stage_update(run->git, s.paths, s.np, s.lfs, s.nlfs, s.gone, s.ngone);
done:
	staging_free(&s);
	return rc;
}

/* Checks and binds every path, then looks each up in the stat cache. */
static int prepare_all(struct run *run)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < run->n && rc == 0; i++)
		rc = prepare_item(run, i);
	for (i = 0; i < run->n && rc == 0; i++)
		rc = run->items[i].folder ? p4r_add_dir_lookup(run, &run->items[i], run->files[i].rel)
					  : lookup_cache(run, &run->items[i], run->files[i].rel);
	return rc;
}

/* One task per file to read: each file, each file of each folder. */
static int make_tasks(struct run *run)
{
	size_t i, j, n = 0;

	for (i = 0; i < run->n; i++)
		n += run->items[i].folder ? run->items[i].folder->walk.n : 1;
	if (!(run->tasks = calloc(n, sizeof(*run->tasks))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < run->n; i++) {
		const struct item *it = &run->items[i];

		if (!it->folder) {
			run->tasks[run->ntasks++] = (struct task){ run, i, SIZE_MAX,
								   it->cached ? 0 : (uint64_t)it->before.size, 0,
								   it->cached };
			continue;
		}
		for (j = 0; j < it->folder->walk.n; j++) {
			const struct dir_file *df = &it->folder->files[j];

			run->tasks[run->ntasks++] = (struct task){ run, i, j,
								   df->cached ? 0 : (uint64_t)df->before.size, 0,
								   df->cached };
		}
	}
	for (i = 0; i < run->ntasks; i++) {
		run->total += run->tasks[i].size;
		run->nread += !run->tasks[i].cached;
	}
	return 0;
}

/* Hashes and stores the files the cache did not vouch for, all in one
 * parallel loop, then the folders' manifests. Many files are one batch
 * made durable by one sync (store.h): three fsyncs per 4 KiB file cost
 * twenty times the reading and hashing. */
static int store_all(struct run *run, p4r_add_result *out)
{
	p4r_store *store = p4r_repo_store(run->repo);
	size_t i;
	int rc;

	if ((rc = p4r_repo_link_order(run->repo, run->order, &run->norder)) < 0 || (rc = make_tasks(run)) < 0)
		return rc;
	p4r_store_defer_sync(store, run->ntasks >= BATCH_MIN_FILES);
	rc = p4r_parallel_for(run->ntasks, run->opts->threads, store_one, run);
	for (i = 0; i < run->n && rc == 0; i++)
		if (run->items[i].folder)
			rc = p4r_add_dir_manifest(run, &run->items[i]);
	p4r_store_defer_sync(store, false);
	/* before any row names an object of the batch */
	if (rc == 0)
		rc = p4r_store_sync(store);
	if (rc < 0)
		return rc;
	memcpy(out->order, run->order, sizeof(out->order));
	out->norder = run->norder;
	return 0;
}

int p4r_add(p4r_repo *repo, const p4r_add_opts *opts, const p4r_op_report *report, p4r_add_result *out)
{
	struct run run = { .repo = repo, .opts = opts, .report = report, .n = opts->npaths,
			   .progress_lock = PTHREAD_MUTEX_INITIALIZER };
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if (opts->from_input)
		return p4r_add_input(repo, opts, report, out);
	if (opts->npaths == 0)
		return p4r_error_set(P4R_EUSAGE, "nothing to add: name at least one file");
	if (opts->name && opts->npaths > 1)
		return p4r_error_set(P4R_EUSAGE, "--name applies to one file, not %zu", opts->npaths);
	run.items = calloc(run.n, sizeof(*run.items));
	out->files = run.files = calloc(run.n, sizeof(*run.files));
	if (!run.items || !run.files) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	out->n = run.n;
	for (i = 0; i < run.n; i++) {
		run.items[i].arg = opts->paths[i];
		run.items[i].dir = -1;
	}
	if ((rc = parse_tags(&run)) < 0 || (rc = p4r_repo_autostage(repo, opts->no_stage, &run.stage)) < 0 ||
	    (rc = p4r_git_open_why(&run.git, p4r_repo_root(repo), &run.why)) < 0 ||
	    (rc = prepare_all(&run)) < 0 || (rc = store_all(&run, out)) < 0 ||
	    (rc = guard_all(&run, &out->damage)) < 0 || (rc = register_all(&run)) < 0)
		goto done;
	rc = write_pointers(&run);
done:
	/* the stored files may be hard links root can write through */
	if (out->norder)
		p4r_objguard_warn_link_hazard(repo, out->order, out->norder, report);
	for (i = 0; run.items && i < run.n; i++) {
		if (run.items[i].dir >= 0)
			close(run.items[i].dir);
		free(run.items[i].abs);
		p4r_add_dir_free(run.items[i].folder);
	}
	free(run.items);
	free(run.tasks);
	for (i = 0; i < run.ntags; i++) {
		free(run.tag_keys[i]);
		free(run.tag_values[i]);
	}
	free(run.tag_keys);
	free(run.tag_values);
	p4r_git_free(run.git);
	return rc;
}

void p4r_add_result_free(p4r_add_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; r->files && i < r->n; i++) {
		free(r->files[i].rel);
		free(r->files[i].moved_from);
		free(r->files[i].git_rel);
		p4r_version_clear(&r->files[i].version);
	}
	free(r->files);
	p4r_guard_log_clear(&r->damage);
	memset(r, 0, sizeof(*r));
}
