/* The objects of a version: one object for a file, the manifest and its
 * files for a folder (see version_objects.h). */
#include "p4reg/version_objects.h"
#include "p4reg/error.h"
#include "p4reg/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void p4r_objects_clear(p4r_objects *o)
{
	if (!o)
		return;
	free(o->oid);
	free(o->size);
	memset(o, 0, sizeof(*o));
}

int p4r_objects_add(p4r_objects *o, const p4r_oid *oid, int64_t size)
{
	if (o->n == o->cap) {
		size_t ncap = o->cap ? o->cap * 2 : 16;
		p4r_oid *a = realloc(o->oid, ncap * sizeof(*a));
		int64_t *b;

		if (a)
			o->oid = a;
		if (!a || !(b = realloc(o->size, ncap * sizeof(*b))))
			return p4r_error_set(P4R_ERROR, "out of memory");
		o->size = b;
		o->cap = ncap;
	}
	o->oid[o->n] = *oid;
	o->size[o->n++] = size;
	return 0;
}

struct pair {
	p4r_oid oid;
	int64_t size;
};

static int pair_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pair *)a)->oid.hex, ((const struct pair *)b)->oid.hex);
}

void p4r_objects_unique(p4r_objects *o)
{
	struct pair *p = o->n ? malloc(o->n * sizeof(*p)) : NULL;
	size_t i, k = 0;

	if (!p)
		return; /* duplicates stay: every user tolerates them */
	for (i = 0; i < o->n; i++)
		p[i] = (struct pair){ o->oid[i], o->size[i] };
	qsort(p, o->n, sizeof(*p), pair_cmp);
	for (i = 0; i < o->n; i++) {
		if (k > 0 && p4r_oid_equal(&o->oid[k - 1], &p[i].oid)) {
			if (p[i].size > o->size[k - 1])
				o->size[k - 1] = p[i].size;
			continue;
		}
		o->oid[k] = p[i].oid;
		o->size[k++] = p[i].size;
	}
	o->n = k;
	free(p);
}

void p4r_version_label(char *buf, size_t sz, const p4r_version *v)
{
	snprintf(buf, sz, "%s@%lld", v->model, (long long)v->number);
}

int p4r_version_objects(p4r_repo *repo, const p4r_version *v, p4r_objects *out, bool *incomplete)
{
	p4r_manifest m = { 0 };
	char what[P4R_MODEL_NAME_MAX + 48];
	size_t i;
	int rc;

	if ((rc = p4r_objects_add(out, &v->oid, v->size)) < 0 || v->kind != P4R_KIND_DIR)
		return rc;
	snprintf(what, sizeof(what), "manifest of %s@%lld", v->model, (long long)v->number);
	rc = p4r_manifest_load(repo, &v->oid, what, &m);
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		if (incomplete)
			*incomplete = true;
		return 0;
	}
	for (i = 0; rc == 0 && i < m.n; i++)
		rc = p4r_objects_add(out, &m.v[i].oid, m.v[i].size);
	p4r_manifest_clear(&m);
	return rc;
}

/* Appends the folder versions of MODEL to *OUT (*N, *CAP). */
static int add_model_dirs(p4r_registry *reg, const char *model, p4r_version **out, size_t *n,
			  size_t *cap)
{
	p4r_version *v = NULL;
	size_t nv = 0, i;
	int rc;

	if ((rc = p4r_registry_version_list(reg, model, &v, &nv)) < 0)
		return rc;
	for (i = 0; i < nv; i++) {
		if (v[i].kind != P4R_KIND_DIR)
			continue;
		if (*n == *cap) {
			size_t ncap = *cap ? *cap * 2 : 8;
			p4r_version *p = realloc(*out, ncap * sizeof(*p));

			if (!p) {
				rc = p4r_error_set(P4R_ERROR, "out of memory");
				break;
			}
			*out = p;
			*cap = ncap;
		}
		(*out)[(*n)++] = v[i]; /* moved: its strings now belong to *OUT */
		memset(&v[i], 0, sizeof(v[i]));
	}
	p4r_version_array_free(v, nv);
	return rc;
}

int p4r_dir_versions(p4r_repo *repo, p4r_version **out, size_t *n)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_model *m = NULL;
	size_t nm = 0, i, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = p4r_registry_model_list(reg, &m, &nm)) < 0)
		return rc;
	for (i = 0; i < nm && rc == 0; i++)
		rc = add_model_dirs(reg, m[i].name, out, n, &cap);
	p4r_model_array_free(m, nm);
	if (rc < 0) {
		p4r_version_array_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

/* The folder version among D (N) whose manifest is OID, or NULL. */
static const p4r_version *dir_of(const p4r_version *d, size_t n, const p4r_oid *oid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p4r_oid_equal(&d[i].oid, oid))
			return &d[i];
	return NULL;
}

int p4r_objects_add_dir_files(p4r_repo *repo, p4r_objects *o)
{
	p4r_version *d = NULL;
	size_t nd = 0, i, n = o->n;
	int rc;

	if ((rc = p4r_dir_versions(repo, &d, &nd)) < 0 || nd == 0)
		goto done;
	for (i = 0; i < n && rc == 0; i++) {
		const p4r_version *v = dir_of(d, nd, &o->oid[i]);
		p4r_objects files = { 0 };
		size_t k;

		if (!v)
			continue;
		rc = p4r_version_objects(repo, v, &files, NULL);
		/* files[0] is the manifest itself, already in O */
		for (k = 1; rc == 0 && k < files.n; k++)
			rc = p4r_objects_add(o, &files.oid[k], files.size[k]);
		p4r_objects_clear(&files);
	}
done:
	p4r_version_array_free(d, nd);
	return rc;
}

int p4r_manifests_rebuild(p4r_repo *repo, size_t *rebuilt)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_version *d = NULL;
	size_t nd = 0, i;
	bool has;
	int rc;

	if (rebuilt)
		*rebuilt = 0;
	if ((rc = p4r_dir_versions(repo, &d, &nd)) < 0)
		return rc;
	for (i = 0; i < nd && rc == 0; i++) {
		p4r_objects files = { 0 };

		if ((rc = p4r_registry_manifest_has(reg, &d[i].oid, &has)) < 0 || has ||
		    !p4r_store_has(p4r_repo_store(repo), &d[i].oid))
			continue;
		if ((rc = p4r_version_objects(repo, &d[i], &files, NULL)) == 0 && rebuilt)
			(*rebuilt)++;
		p4r_objects_clear(&files);
	}
	p4r_version_array_free(d, nd);
	return rc;
}
