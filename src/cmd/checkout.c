/* p4reg checkout: put versions' bytes in the work tree, verified. */
#include "cmd.h"
#include "p4reg/ref.h"
#include "p4reg/worktree.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char cmd_checkout_usage[] =
	"usage: p4reg checkout [--force] [--link TYPE] [REF|PATH...]\n"
	"\n"
	"Writes each version's bytes to its path, verified against its oid. A path\n"
	"takes the version its pointer names; a reference (name@3, name@production,\n"
	"name@latest) checks out that version and updates the pointer. With no\n"
	"argument every pointer in the repository is checked out. A file whose\n"
	"bytes are in no version is never overwritten without --force.\n"
	"\n"
	"  -f, --force       overwrite files whose bytes are not in the store\n"
	"      --link TYPE   copy, reflink or hardlink (default: config core.cacheType)\n";

enum { OPT_FORCE = 1, OPT_LINK };

static const p4r_option options[] = {
	{ "force", 'f', false, OPT_FORCE },
	{ "link", 0, true, OPT_LINK },
	{ NULL, 0, false, 0 },
};

/* One file to write. */
struct target {
	char *rel;
	p4r_pointer want;       /* what the pointer must say afterwards */
	bool update_pointer;
};

struct ctx {
	p4r_cli *cli;
	p4r_repo *repo;
	bool force;
	p4r_link_type order[P4R_LINK_MAX];
	size_t norder;          /* 0: configured order */
	cJSON *results;
};

static void want_from_version(p4r_pointer *p, const p4r_version *v)
{
	snprintf(p->model, sizeof(p->model), "%s", v->model);
	p->version = v->number;
	p->oid = v->oid;
	p->size = v->size;
}

/* A registry reference: the model's bound path, pointer updated. */
static int target_from_ref(p4r_repo *repo, const char *arg, struct target *t)
{
	p4r_version v = { 0 };
	p4r_model m = { 0 };
	int rc;

	if ((rc = p4r_ref_resolve(repo, arg, &v)) < 0)
		return rc;
	if ((rc = p4r_registry_model_get(p4r_repo_registry(repo), v.model, &m)) == 0) {
		t->rel = strdup(m.path);
		want_from_version(&t->want, &v);
		t->update_pointer = true;
	}
	p4r_model_clear(&m);
	p4r_version_clear(&v);
	return rc;
}

/* A path with a pointer: the pointer's version. */
static int target_from_path(p4r_repo *repo, const char *rel, struct target *t)
{
	char *ptr = p4r_worktree_pointer_path(repo, rel);
	int rc = ptr ? p4r_pointer_read(&t->want, ptr, rel) : p4r_error_set(P4R_ERROR, "out of memory");

	if (rc == 0)
		t->rel = strdup(rel);
	free(ptr);
	return rc;
}

/* *REL gets the repository path of ARG when a pointer exists for it. */
static bool find_pointer(p4r_repo *repo, const char *arg, char **rel)
{
	char *ptr;
	bool yes;

	*rel = NULL;
	if (p4r_repo_relpath(repo, arg, rel) < 0) {
		p4r_error_clear();
		return false;
	}
	if (p4r_pointer_is_pointer_path(*rel))
		(*rel)[strlen(*rel) - strlen(P4R_POINTER_SUFFIX)] = '\0';
	ptr = p4r_worktree_pointer_path(repo, *rel);
	yes = ptr && access(ptr, F_OK) == 0;
	free(ptr);
	return yes;
}

static int target_from_arg(p4r_repo *repo, const char *arg, struct target *t)
{
	char *rel = NULL;
	int rc;

	if (strchr(arg, '@'))
		return target_from_ref(repo, arg, t);
	if (find_pointer(repo, arg, &rel))
		rc = target_from_path(repo, rel, t);
	else if (p4r_model_name_valid(arg))
		rc = target_from_ref(repo, arg, t);
	else
		rc = p4r_error_set(P4R_ENOTFOUND, "'%s' has no pointer and names no model", arg);
	free(rel);
	return rc;
}

static int checkout_one(struct ctx *c, struct target *t)
{
	cmd_progress progress = { .cli = c->cli, .label = t->rel };
	p4r_version v = { .number = t->want.version, .oid = t->want.oid, .size = t->want.size };
	bool already = false;
	cJSON *o;
	int rc;

	if (!p4r_store_has(p4r_repo_store(c->repo), &t->want.oid))
		return p4r_error_set(P4R_ENOTFOUND, "object %.12s of '%s' (%s@%lld) is missing from the store",
				     t->want.oid.hex, t->rel, t->want.model, (long long)t->want.version);
	rc = p4r_worktree_materialize(c->repo, t->rel, &t->want.oid, c->order, c->norder, c->force,
				      &already, cmd_progress_update, &progress);
	cmd_progress_done(&progress);
	if (rc < 0)
		return rc;
	snprintf(v.model, sizeof(v.model), "%s", t->want.model);
	if (t->update_pointer && (rc = p4r_worktree_write_pointer(c->repo, &v, t->rel, NULL)) < 0)
		return rc;
	if (c->cli->json) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "file", t->rel);
		cJSON_AddStringToObject(o, "model", t->want.model);
		cJSON_AddNumberToObject(o, "version", (double)t->want.version);
		cJSON_AddStringToObject(o, "oid", t->want.oid.hex);
		cJSON_AddStringToObject(o, "action", already ? "unchanged" : "written");
		cJSON_AddItemToArray(c->results, o);
	} else if (!c->cli->quiet) {
		printf("%s %s (%s@%lld)\n", already ? "up to date" : "checked out", t->rel,
		       t->want.model, (long long)t->want.version);
	}
	return 0;
}

static int run_targets(struct ctx *c, char **args, size_t nargs, bool all)
{
	char **rels = NULL;
	size_t n = 0, i;
	int rc = 0;

	if (all && (rc = p4r_worktree_list_pointers(c->repo, &rels, &n)) < 0)
		return rc;
	for (i = 0; rc == 0 && i < (all ? n : nargs); i++) {
		struct target t = { 0 };

		rc = all ? target_from_path(c->repo, rels[i], &t) : target_from_arg(c->repo, args[i], &t);
		if (rc == 0 && !t.rel)
			rc = p4r_error_set(P4R_ERROR, "out of memory");
		if (rc == 0)
			rc = checkout_one(c, &t);
		free(t.rel);
	}
	p4r_strv_free(rels, n);
	return rc;
}

int cmd_checkout(p4r_cli *cli, p4r_repo *repo, int argc, char **argv)
{
	struct ctx c = { .cli = cli, .repo = repo };
	char **args = calloc((size_t)argc, sizeof(*args));
	const char *value;
	size_t nargs = 0;
	p4r_opts o;
	int id, rc;

	if (!args)
		return p4r_error_set(P4R_ERROR, "out of memory");
	p4r_opts_init(&o, argc - 1, argv + 1, options);
	while ((rc = cmd_next_opt(&o, &id, &value)) == 0 && id != P4R_OPT_DONE) {
		if (id == OPT_FORCE)
			c.force = true;
		else if (id == OPT_LINK)
			rc = p4r_link_parse(c.order, &c.norder, value);
		else
			args[nargs++] = (char *)value;
		if (rc < 0)
			break;
	}
	if (rc < 0)
		goto done;
	c.results = cJSON_CreateArray();
	rc = run_targets(&c, args, nargs, nargs == 0);
	if (rc == 0 && cli->json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddItemToObject(doc, "checked_out", c.results);
		c.results = NULL;
		rc = cmd_print_json(doc);
	}
done:
	cJSON_Delete(c.results);
	free(args);
	return rc;
}
