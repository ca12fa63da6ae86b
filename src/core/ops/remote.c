/* p4r_remote_add, _list, _remove, _check: the remote operations
 * (ops/remote.h). */
#include "p4reg/ops/remote.h"
#include "p4reg/config.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/sync.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int set_key(p4r_config *cfg, const char *name, const char *key, const char *value)
{
	char full[160];

	snprintf(full, sizeof(full), "remote.%s.%s", name, key);
	return p4r_config_set(cfg, false, full, value);
}

/* Whether remote NAME has a url in any file; *URL gets it (owned). */
static bool remote_exists(p4r_config *cfg, const char *name, char **url)
{
	char full[160];
	int rc;

	snprintf(full, sizeof(full), "remote.%s.url", name);
	rc = p4r_config_get(cfg, P4R_CONFIG_ALL, full, url);
	if (rc < 0)
		p4r_error_clear();
	return rc == 0;
}

/* Probes R: *SAFE gets the verdict, REPORT a line saying it. */
static int probe(p4r_remote *r, const p4r_op_report *report, bool *safe)
{
	int rc = p4r_remote_probe(r, safe);

	if (rc < 0)
		return rc;
	if (*safe)
		p4r_op_note(report, "remote '%s' refuses a second conditional create: concurrent pushes are safe",
			    r->name);
	else
		p4r_op_warn(report, "remote '%s' accepted a second conditional create of one key (it ignores "
			    "If-None-Match): concurrent pushes to it are unsafe; 'push' needs --unsafe-concurrent",
			    r->name);
	return 0;
}

/* ---- add ---- */

/* The url to store for OPTS->url (owned): a folder is created and, unless
 * given as file://, made absolute so commands run from any folder of the
 * work tree find it. */
static int stored_url(const p4r_remote_add_opts *opts, const p4r_op_report *report, char **out)
{
	p4r_remote_url parsed;
	int rc;

	*out = NULL;
	if ((rc = p4r_remote_url_parse(&parsed, opts->url)) < 0)
		return rc;
	if (parsed.kind == P4R_REMOTE_DIR) {
		if ((rc = p4r_mkdir_p(parsed.path, 0755)) == 0 && strncmp(opts->url, "file://", 7) &&
		    !(*out = realpath(parsed.path, NULL)))
			rc = p4r_error_errno("cannot open '%s'", parsed.path);
	} else if (!opts->endpoint && !getenv("P4REG_S3_ENDPOINT")) {
		p4r_op_note(report, "no --endpoint given: using AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL or the AWS "
			    "profile's endpoint_url if set, else AWS S3 (s3.REGION.amazonaws.com)");
	}
	p4r_remote_url_clear(&parsed);
	if (rc == 0 && !*out && !(*out = strdup(opts->url)))
		rc = p4r_error_set(P4R_ERROR, "out of memory");
	return rc;
}

/* Whoever adds a remote trusts its endpoint with their credentials: it
 * goes to config.local too (a clone confirms it there, docs/security.md). */
static int trust_endpoint(p4r_config *cfg, const char *name, const char *endpoint)
{
	char key[P4R_REMOTE_NAME_MAX + 32];

	snprintf(key, sizeof(key), "remote.%s.trustedEndpoint", name);
	return p4r_config_set(cfg, true, key, endpoint);
}

static int write_keys(p4r_config *cfg, const p4r_remote_add_opts *o, const char *url)
{
	int rc;

	if ((rc = set_key(cfg, o->name, "url", url)) < 0 ||
	    (o->endpoint && (rc = set_key(cfg, o->name, "endpoint", o->endpoint)) < 0) ||
	    (o->endpoint && (rc = trust_endpoint(cfg, o->name, o->endpoint)) < 0) ||
	    (o->region && (rc = set_key(cfg, o->name, "region", o->region)) < 0) ||
	    (o->path_style && (rc = set_key(cfg, o->name, "path-style", "true")) < 0) ||
	    (o->make_default && (rc = p4r_config_set(cfg, false, "core.remote", o->name)) < 0))
		return rc;
	return 0;
}

int p4r_remote_add(p4r_repo *repo, const p4r_remote_add_opts *opts, const p4r_op_report *report,
		   p4r_remote_add_result *out)
{
	p4r_config *cfg = p4r_repo_config(repo);
	p4r_remote *r = NULL;
	char *old = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!p4r_remote_name_valid(opts->name))
		return p4r_error_set(P4R_EUSAGE, "invalid remote name '%s' (letters, digits, '_' and '-')",
				     opts->name);
	if (remote_exists(cfg, opts->name, &old)) {
		free(old);
		return p4r_error_set(P4R_EEXISTS, "remote '%s' already exists", opts->name);
	}
	if ((rc = stored_url(opts, report, &out->url)) < 0 || (rc = write_keys(cfg, opts, out->url)) < 0)
		return rc;
	/* the remote is recorded even when unreachable now (a NAS may be down) */
	if ((rc = p4r_remote_open(&r, cfg, p4r_repo_meta(repo), opts->name)) == 0)
		rc = probe(r, report, &out->conditional_writes);
	if (rc < 0) {
		p4r_op_warn(report, "cannot probe remote '%s': %s", opts->name, p4r_error_message());
		p4r_error_clear();
	}
	p4r_remote_free(r);
	return 0;
}

void p4r_remote_add_result_free(p4r_remote_add_result *r)
{
	if (r) {
		free(r->url);
		r->url = NULL;
	}
}

/* ---- list ---- */

/* Records KEY's remote when KEY is remote.NAME.url; a later url of a name
 * already seen replaces the earlier one. */
static int collect(const char *key, const char *value, void *payload)
{
	p4r_remote_list_result *l = payload;
	size_t len = strlen(key), i;
	p4r_remote_entry *grown;
	char *name;

	if (strncmp(key, "remote.", 7) || len < 12 || strcmp(key + len - 4, ".url"))
		return 0;
	if (!(name = strndup(key + 7, len - 11)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < l->n && strcmp(l->v[i].name, name); i++)
		;
	if (i < l->n) {
		free(name);
		free(l->v[i].url);
	} else if ((grown = realloc(l->v, (l->n + 1) * sizeof(*grown)))) {
		l->v = grown;
		l->v[l->n++] = (p4r_remote_entry){ .name = name };
	} else {
		free(name);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	if (!(l->v[i].url = strdup(value ? value : "")))
		return p4r_error_set(P4R_ERROR, "out of memory");
	return 0;
}

int p4r_remote_list(p4r_repo *repo, p4r_remote_list_result *out)
{
	p4r_config *cfg = p4r_repo_config(repo);
	char *deflt = NULL;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = p4r_config_foreach(cfg, collect, out)) < 0)
		return rc;
	if (p4r_config_get(cfg, P4R_CONFIG_ALL, "core.remote", &deflt) < 0)
		p4r_error_clear();
	for (i = 0; deflt && i < out->n; i++)
		out->v[i].is_default = !strcmp(deflt, out->v[i].name);
	free(deflt);
	return 0;
}

void p4r_remote_list_result_free(p4r_remote_list_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++) {
		free(r->v[i].name);
		free(r->v[i].url);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* ---- remove ---- */

struct keys {
	const char *prefix;
	char **v;
	size_t n;
};

static int collect_keys(const char *key, const char *value, void *payload)
{
	struct keys *k = payload;
	char **p;

	(void)value;
	if (strncmp(key, k->prefix, strlen(k->prefix)))
		return 0;
	if (!(p = realloc(k->v, (k->n + 1) * sizeof(*p))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	k->v = p;
	if (!(p[k->n] = strdup(key)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	k->n++;
	return 0;
}

/* Unsets every key of remote NAME from both files, and core.remote when
 * it names NAME; a key already gone is no error. */
static int unset_keys(p4r_config *cfg, const char *name)
{
	char prefix[96], *deflt = NULL;
	struct keys k = { .prefix = prefix };
	size_t i;
	int rc, f;

	snprintf(prefix, sizeof(prefix), "remote.%s.", name);
	rc = p4r_config_foreach(cfg, collect_keys, &k);
	for (i = 0; rc == 0 && i < k.n; i++)
		for (f = 0; f < 2; f++)
			if (p4r_config_unset(cfg, f == 1, k.v[i]) < 0)
				p4r_error_clear();
	if (rc == 0 && p4r_config_get(cfg, P4R_CONFIG_ALL, "core.remote", &deflt) == 0 &&
	    !strcmp(deflt, name) && p4r_config_unset(cfg, false, "core.remote") < 0)
		p4r_error_clear();
	if (rc == 0)
		p4r_error_clear();
	for (i = 0; i < k.n; i++)
		free(k.v[i]);
	free(k.v);
	free(deflt);
	return rc;
}

int p4r_remote_remove(p4r_repo *repo, const char *name)
{
	p4r_config *cfg = p4r_repo_config(repo);
	char *url = NULL;
	int rc;

	if (!p4r_remote_name_valid(name) || !remote_exists(cfg, name, &url))
		return p4r_error_set(P4R_ENOTFOUND, "no remote named '%s'", name);
	if ((rc = unset_keys(cfg, name)) == 0)
		rc = p4r_registry_sync_forget(p4r_repo_registry(repo), url);
	free(url);
	return rc;
}

/* ---- check ---- */

/* Opens remote NAME (NULL: the default) of REPO; NAMED gets its name. */
static int open_named(p4r_repo *repo, const char *name, p4r_remote **r, char named[P4R_REMOTE_NAME_MAX + 1])
{
	int rc = p4r_remote_open(r, p4r_repo_config(repo), p4r_repo_meta(repo), name);

	if (rc == 0)
		snprintf(named, P4R_REMOTE_NAME_MAX + 1, "%s", (*r)->name);
	return rc;
}

int p4r_remote_check(p4r_repo *repo, const char *name, const p4r_op_report *report,
		     p4r_remote_check_result *out)
{
	p4r_remote *r = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = open_named(repo, name, &r, out->name)) < 0)
		return rc;
	if (!(out->url = strdup(r->url)))
		rc = p4r_error_set(P4R_ERROR, "out of memory");
	else if ((rc = probe(r, report, &out->conditional_writes)) == 0 && !out->conditional_writes)
		rc = p4r_error_set(P4R_EREFUSED, "remote '%s' ignores conditional writes", r->name);
	p4r_remote_free(r);
	return rc;
}

void p4r_remote_check_result_free(p4r_remote_check_result *r)
{
	if (r) {
		free(r->url);
		r->url = NULL;
	}
}

static void convert_progress(uint64_t done, uint64_t total, void *payload)
{
	p4r_op_progress(payload, "convert", done, total);
}

int p4r_remote_convert(p4r_repo *repo, const char *name, bool keep, const p4r_op_report *report,
		       p4r_remote_convert_result *out)
{
	p4r_sync_progress prog = { .fn = convert_progress, .payload = (void *)report };
	p4r_remote *r = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = open_named(repo, name, &r, out->name)) < 0)
		return rc;
	rc = p4r_sync_convert(repo, r, keep, &prog, &out->c);
	p4r_remote_free(r);
	return rc;
}
