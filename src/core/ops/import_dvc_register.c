/* p4r_import_dvc's registry (import_dvc_priv.h): per model, which new
 * items a version has already (an earlier add of the same bytes), its
 * new versions -- a file's object or a folder's manifest -- in one
 * transaction with the --stage moves, the result's rows, and the pointers
 * --write-pointers asks for. */
#include "import_dvc_priv.h"
#include "p4reg/error.h"
#include "p4reg/gitio.h"
#include "p4reg/imported.h"
#include "p4reg/objguard.h"
#include "p4reg/worktree.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void p4r_import_dvc_object(const struct run *run, const struct item *it, p4r_oid *oid, int64_t *size)
{
	if (it->dir) {
		*oid = run->listings[it->bytes].oid;
		*size = run->listings[it->bytes].size;
	} else {
		*oid = run->tasks[it->bytes].oid;
		*size = run->tasks[it->bytes].size;
	}
}

/* The version model M's item from COMMIT has or got: the stage question
 * of p4r_import_stage_model. */
struct stage_ask {
	const struct run *run;
	const struct model *m;
};

static int64_t number_of_commit(const char *commit, void *payload)
{
	const struct stage_ask *a = payload;
	int64_t number = 0;
	size_t i;

	for (i = 0; i < a->m->n; i++) {
		const struct item *it = &a->run->items[a->m->items[i]];

		if (it->plan != PLAN_REFUSED && it->change != DVC_NONE &&
		    !strcmp(a->run->changes[it->change].commit, commit))
			number = it->number;
	}
	return number;
}

/* Object OID of model M is still in the store and recorded by the object
 * guard when this import stored it (inside the model's transaction: gc
 * deletes only under the write lock it holds). */
static int keep_object(struct run *run, const p4r_oid *oid, const struct model *m)
{
	const struct task *t = p4r_import_dvc_task_of(run, oid);

	if (!p4r_store_has(p4r_repo_store(run->repo), oid))
		return p4r_error_set(P4R_ERROR, "object %.12s of '%s' left the store while it was being imported "
				     "(gc?); run import again", oid->hex, m->base.rel);
	return t && !t->ins.existed ? p4r_objguard_record(run->repo, oid, &t->ins.placed) : 0;
}

/* The objects of new item IT kept (keep_object): a file's, or a folder's
 * manifest and every file it lists (MF, read back from the store). */
static int keep_objects(struct run *run, const struct item *it, const struct model *m, const p4r_manifest *mf)
{
	size_t j;
	int rc;

	if (!it->dir)
		return keep_object(run, &run->tasks[it->bytes].oid, m);
	if (!p4r_store_has(p4r_repo_store(run->repo), &run->listings[it->bytes].oid))
		return p4r_error_set(P4R_ERROR, "the manifest %.12s of '%s' left the store while it was being "
				     "imported (gc?); run import again", run->listings[it->bytes].oid.hex, m->base.rel);
	rc = p4r_objguard_record(run->repo, &run->listings[it->bytes].oid, NULL);
	for (j = 0; j < mf->n && rc == 0; j++)
		rc = keep_object(run, &mf->v[j].oid, m);
	return rc;
}

/* IT's version: with its commit's author, date and subject (--history),
 * else as add registers the work tree's. */
static int register_version(struct run *run, struct item *it, p4r_version_input *in,
			    const p4r_git_provenance *prov, const char *actor, const char *detail)
{
	const p4r_git_lfs_change *c = p4r_import_dvc_change(run, it);
	p4r_add_outcome outcome = P4R_ADD_NEW;
	char message[PATH_MAX + 32];
	p4r_version v = { 0 };
	int rc;

	if (c) {
		in->author = c->author;
		in->message = c->subject;
		in->git_commit = c->commit;
		in->git_dirty = 0;
		in->now_ms = c->time_ms;
		return p4r_registry_import_version(p4r_repo_registry(run->repo), in, detail, &it->number);
	}
	snprintf(message, sizeof(message), "imported from %s", it->dvc);
	in->author = actor;
	in->message = message;
	in->git_commit = prov->commit;
	in->git_branch = prov->branch;
	in->git_dirty = prov->dirty;
	if ((rc = p4r_registry_register_version(p4r_repo_registry(run->repo), in, &v, &outcome)) == 0) {
		it->number = v.number;
		it->unchanged = outcome != P4R_ADD_NEW;
	}
	p4r_version_clear(&v);
	return rc;
}

/* New item IT of model M as a version, its objects kept; a folder's
 * manifest read back from the store for its rows (a dry run stored none,
 * and its transaction is rolled back anyway). */
static int register_item(struct run *run, struct model *m, struct item *it, const p4r_git_provenance *prov,
			 const char *actor, const char *detail)
{
	p4r_registry *reg = p4r_repo_registry(run->repo);
	const struct listing *l = it->dir ? &run->listings[it->bytes] : NULL;
	p4r_version_input in = { .model = m->base.name, .path = m->base.rel, .git_dirty = -1,
				 .kind = l ? P4R_KIND_DIR : P4R_KIND_FILE };
	p4r_manifest mf = { 0 };
	char what[P4R_MODEL_NAME_MAX + 32];
	bool stored = !run->opts->dry_run;
	int rc = 0;

	p4r_import_dvc_object(run, it, &in.oid, &in.size);
	if (l) {
		in.files = l->files;
		in.tree_size = l->total;
		snprintf(what, sizeof(what), "manifest of %s", m->base.name);
		if (stored)
			rc = p4r_manifest_peek(run->repo, &l->oid, what, &mf);
	}
	if (rc == 0 && stored)
		rc = keep_objects(run, it, m, &mf);
	if (rc == 0)
		rc = register_version(run, it, &in, prov, actor, detail);
	if (rc == 0 && l && stored)
		rc = p4r_registry_manifest_put(reg, &l->oid, &mf);
	p4r_manifest_clear(&mf);
	return rc;
}

/* Model M's new versions in one transaction (rolled back by a dry run),
 * then its --stage moves. */
static int register_model(struct run *run, struct model *m, const p4r_git_provenance *prov, const char *actor,
			  const char *detail)
{
	p4r_registry *reg = p4r_repo_registry(run->repo);
	size_t i;
	int rc;

	if ((rc = p4r_registry_begin(reg)) < 0)
		return rc;
	/* what another import registered since the plan is had, not new */
	rc = p4r_import_dvc_match(run, m, true);
	for (i = 0; i < m->n && rc == 0; i++)
		if (run->items[m->items[i]].plan == PLAN_NEW)
			rc = register_item(run, m, &run->items[m->items[i]], prov, actor, detail);
	if (rc == 0)
		rc = p4r_import_stage_model(run->repo, run->opts, run->stage_commits, m->base.name, number_of_commit,
					    &(struct stage_ask){ run, m }, actor, run->out);
	if (rc < 0 || run->opts->dry_run) {
		p4r_registry_abort(reg);
		return rc;
	}
	return p4r_registry_commit(reg);
}

static int row_registered(struct run *run, const struct model *m, const struct item *it,
			  const p4r_git_provenance *prov, const char *actor)
{
	const p4r_git_lfs_change *c = p4r_import_dvc_change(run, it);
	p4r_import_row *r = p4r_import_row_new(run->out, &run->caprows);
	char message[PATH_MAX + 32];
	int64_t size;

	if (!r)
		return P4R_ERROR;
	r->state = P4R_IMPORT_REGISTERED;
	snprintf(r->model, sizeof(r->model), "%s", m->base.name);
	r->version = it->number;
	p4r_import_dvc_object(run, it, &r->oid, &size);
	r->size = (uint64_t)size;
	if (it->dir) {
		r->files = run->listings[it->bytes].files;
		r->tree_size = run->listings[it->bytes].total;
	}
	r->downloaded = true;
	snprintf(message, sizeof(message), "imported from %s", it->dvc);
	if (c) {
		memcpy(r->commit, c->commit, sizeof(r->commit));
		r->created_ms = c->time_ms;
		r->from_history = true;
	} else {
		snprintf(r->commit, sizeof(r->commit), "%s", prov->commit ? prov->commit : "");
		r->created_ms = p4r_now_ms();
	}
	r->path = strdup(m->base.rel);
	r->source = strdup(it->dvc);
	r->author = strdup(c ? c->author : actor);
	r->message = strdup(c ? c->subject : message);
	run->out->registered++;
	if (!r->path || !r->source || !r->author || !r->message)
		return p4r_error_set(P4R_ERROR, "out of memory");
	return 0;
}

/* The pointer of model M's version NUMBER beside its output and the
 * .gitignore line (a folder's "/NAME/"), as checkout places them; what
 * changed is added to STAGE (absolute paths) for git. */
static int write_pointer(struct run *run, const struct model *m, int64_t number, p4r_import_row *row,
			 char ***stage, size_t *nstage)
{
	p4r_version v = { 0 };
	p4r_placed placed = { 0 };
	void *p;
	int rc;

	if ((rc = p4r_registry_version_get(p4r_repo_registry(run->repo), m->base.name, number, &v)) < 0 ||
	    (rc = p4r_worktree_place_pointer(run->repo, &v, m->base.rel, &placed)) < 0)
		goto done;
	if (!(p = realloc(*stage, (*nstage + 2) * sizeof(char *)))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	*stage = p;
	if (placed.pointer_abs)
		(*stage)[(*nstage)++] = placed.pointer_abs;
	if (placed.gitignore_abs)
		(*stage)[(*nstage)++] = placed.gitignore_abs;
	placed.pointer_abs = placed.gitignore_abs = NULL;
	if (row && (row->pointer = malloc(strlen(m->base.rel) + sizeof(P4R_POINTER_SUFFIX))))
		snprintf(row->pointer, strlen(m->base.rel) + sizeof(P4R_POINTER_SUFFIX), "%s%s", m->base.rel,
			 P4R_POINTER_SUFFIX);
done:
	p4r_placed_clear(&placed);
	p4r_version_clear(&v);
	return rc;
}

/* Model M's rows: a REGISTERED one per new version; *NEWEST its newest
 * version (0: none), *LAST the row of it when it is new. */
static int rows_of(struct run *run, const struct model *m, const p4r_git_provenance *prov, const char *actor,
		   int64_t *newest, p4r_import_row **last)
{
	bool any = false;
	size_t i;
	int rc = 0;

	*newest = 0;
	*last = NULL;
	for (i = 0; i < m->n && rc == 0; i++) {
		const struct item *it = &run->items[m->items[i]];

		if (it->plan == PLAN_REFUSED)
			continue;
		if (it->number)
			*newest = it->number;
		if (it->plan == PLAN_HAD || it->unchanged) {
			run->out->already++;
			*last = NULL;
			continue;
		}
		if ((rc = row_registered(run, m, it, prov, actor)) == 0)
			*last = &run->out->rows[run->out->n - 1];
		any = true;
	}
	run->out->models += any;
	return rc;
}

/* Model M registered, its rows made and with --write-pointers its
 * pointer written; a refusal of M (not of the run) fails M alone. */
static int import_model(struct run *run, struct model *m, const p4r_git_provenance *prov, const char *actor,
			const char *detail, char ***stage, size_t *nstage)
{
	size_t nstaged = run->out->nstaged, i;
	p4r_import_row *last = NULL;
	int64_t newest = 0;
	bool any = false;
	int rc;

	for (i = 0; i < m->n; i++)
		any |= run->items[m->items[i]].plan == PLAN_NEW;
	if ((any || run->opts->nstages) && (rc = register_model(run, m, prov, actor, detail)) < 0) {
		p4r_import_staged_cut(run->out, nstaged);
		if (rc != P4R_ERROR)
			p4r_import_model_fail(&m->base, rc);
		return rc == P4R_ERROR ? rc : 0;
	}
	if ((rc = rows_of(run, m, prov, actor, &newest, &last)) < 0)
		return rc;
	if (newest && run->opts->write_pointers && !run->opts->dry_run &&
	    (rc = write_pointer(run, m, newest, last, stage, nstage)) == 0)
		run->out->pointers++;
	return rc;
}

int p4r_import_dvc_register(struct run *run)
{
	p4r_git_provenance prov = { .dirty = -1 };
	char *actor = p4r_repo_actor(run->repo), *detail = NULL, **stage = NULL;
	size_t k, i, nstage = 0;
	bool autostage = false;
	int rc = 0;

	if (!actor || !(detail = p4r_import_detail("dvc", actor))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	if (run->git && !run->opts->history && (rc = p4r_git_provenance_get(run->git, &prov)) < 0)
		goto done;
	for (k = 0; k < run->nmodels && rc == 0; k++)
		if (!run->models[k].base.code)
			rc = import_model(run, &run->models[k], &prov, actor, detail, &stage, &nstage);
	if (rc == 0 && nstage && run->git && (rc = p4r_repo_autostage(run->repo, false, &autostage)) == 0 &&
	    autostage)
		rc = p4r_git_stage(run->git, (const char *const *)stage, nstage);
done:
	for (i = 0; i < nstage; i++)
		free(stage[i]);
	free(stage);
	p4r_git_provenance_clear(&prov);
	free(detail);
	free(actor);
	return rc;
}
