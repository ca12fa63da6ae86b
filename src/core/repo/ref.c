/* Parsing and resolving version references (see ref.h). */
#include "p4reg/ref.h"
#include "p4reg/worktree.h"
#include "p4reg/error.h"
#include "p4reg/pointer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse_number(int64_t *out, const char *s)
{
	int64_t v = 0;

	if (!*s || (s[0] == '0') || strlen(s) > 10)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (v > P4R_POINTER_MAX_VERSION)
		return -1;
	*out = v;
	return 0;
}

int p4r_ref_parse(p4r_ref *out, const char *text)
{
	const char *at = strrchr(text, '@');
	size_t namelen = at ? (size_t)(at - text) : strlen(text);
	const char *sel = at ? at + 1 : "latest";

	memset(out, 0, sizeof(*out));
	if (namelen == 0 || namelen > P4R_MODEL_NAME_MAX)
		return p4r_error_set(P4R_EUSAGE, "invalid reference '%s': missing or too long model name", text);
	memcpy(out->model, text, namelen);
	out->model[namelen] = '\0';
	if (!p4r_model_name_valid(out->model))
		return p4r_error_set(P4R_EUSAGE, "invalid reference '%s': invalid model name '%s'", text, out->model);
	out->bare = at == NULL;
	if (!strcmp(sel, "latest")) {
		out->kind = P4R_REF_LATEST;
		return 0;
	}
	if (parse_number(&out->number, sel[0] == 'v' ? sel + 1 : sel) == 0) {
		out->kind = P4R_REF_NUMBER;
		return 0;
	}
	if (p4r_stage_parse(&out->stage, sel) == 0) {
		out->kind = P4R_REF_STAGE;
		return 0;
	}
	if (p4r_alias_name_valid(sel)) {
		p4r_error_clear();
		out->kind = P4R_REF_ALIAS;
		snprintf(out->alias, sizeof(out->alias), "%s", sel);
		return 0;
	}
	return p4r_error_set(P4R_EUSAGE, "invalid reference '%s': unknown version, stage or alias '%s'",
			     text, sel);
}

int p4r_ref_lookup(p4r_registry *reg, const p4r_ref *ref, p4r_version *out)
{
	switch (ref->kind) {
	case P4R_REF_NUMBER:
		return p4r_registry_version_get(reg, ref->model, ref->number, out);
	case P4R_REF_STAGE:
		return p4r_registry_version_in_stage(reg, ref->model, ref->stage, out);
	case P4R_REF_ALIAS:
		return p4r_registry_alias_resolve(reg, ref->model, ref->alias, out);
	default:
		return p4r_registry_version_latest(reg, ref->model, out);
	}
}

/* The pointer for workspace path TEXT (the file or its pointer), if one
 * exists: *FOUND says, and *REL_OUT (malloc'd) is the model file's path. */
static int read_pointer_for(p4r_repo *repo, const char *text, p4r_pointer *ptr, bool *found,
			    char **rel_out)
{
	char *rel = NULL;
	size_t len;
	int rc;

	*found = false;
	*rel_out = NULL;
	if (p4r_repo_relpath(repo, text, &rel) < 0) {
		p4r_error_clear();
		return 0;
	}
	len = strlen(rel);
	if (p4r_pointer_is_pointer_path(rel))
		rel[len - strlen(P4R_POINTER_SUFFIX)] = '\0';
	rc = p4r_worktree_read_pointer(repo, rel, ptr);
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		rc = 0;
	} else if (rc == 0) {
		*found = true;
		*rel_out = rel;
		rel = NULL;
	}
	free(rel);
	return rc;
}

int p4r_ref_resolve(p4r_repo *repo, const char *text, p4r_version *out)
{
	p4r_registry *reg = p4r_repo_registry(repo);
	p4r_pointer ptr;
	p4r_ref ref;
	bool found = false;
	char *rel = NULL;
	int rc;

	if (!strchr(text, '@')) {
		if ((rc = read_pointer_for(repo, text, &ptr, &found, &rel)) < 0)
			return rc;
		if (found) {
			rc = p4r_registry_version_get(reg, ptr.model, ptr.version, out);
			if (rc == 0 && (!p4r_oid_equal(&out->oid, &ptr.oid) || out->size != ptr.size)) {
				p4r_version_clear(out);
				rc = p4r_error_set(P4R_EINTEGRITY, "pointer '%s%s' names %s@%lld with oid %.12s, "
						   "but the registry has another oid or size for it", rel,
						   P4R_POINTER_SUFFIX, ptr.model, (long long)ptr.version, ptr.oid.hex);
			}
			free(rel);
			return rc;
		}
		if (!p4r_model_name_valid(text))
			return p4r_error_set(P4R_ENOTFOUND, "unknown reference '%s': no model or pointer of that name", text);
	}
	if ((rc = p4r_ref_parse(&ref, text)) < 0)
		return rc;
	return p4r_ref_lookup(reg, &ref, out);
}
