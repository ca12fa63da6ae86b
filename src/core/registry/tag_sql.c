/* Tags of versions and models, and models' descriptions (see tag.h): the
 * rules of keys and values, setting and removing them with their event in
 * one transaction, and the queries that read them. */
#include "p4reg/tag.h"
#include "p4reg/batch.h"
#include "p4reg/error.h"
#include "p4reg/output.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/sql.h"

bool p4r_tag_key_valid(const char *key)
{
	size_t i;

	if (!key || !((key[0] >= 'a' && key[0] <= 'z') || (key[0] >= 'A' && key[0] <= 'Z') ||
		      (key[0] >= '0' && key[0] <= '9')))
		return false;
	for (i = 0; key[i]; i++) {
		char c = key[i];

		if (i >= P4R_TAG_KEY_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == ':' || c == '/' || c == '-'))
			return false;
	}
	return true;
}

/* Valid UTF-8 of at most MAX bytes without C0 (but for ALLOW), DEL or C1. */
static bool text_ok(const char *s, size_t max, const char *allow)
{
	size_t len, i;

	if (!s || (len = strnlen(s, max + 1)) > max || !p4r_utf8_valid(s, len))
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && !strchr(allow, (char)c)) || c == 0x7f)
			return false;
		/* U+0080..U+009F: C2 80..C2 9F */
		if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] < 0xa0)
			return false;
	}
	return true;
}

bool p4r_tag_value_valid(const char *value)
{
	return text_ok(value, P4R_TAG_VALUE_MAX, "");
}

bool p4r_description_valid(const char *text)
{
	return text_ok(text, P4R_DESCRIPTION_MAX, "\n\t");
}

int p4r_tag_key_check(const char *key)
{
	if (p4r_tag_key_valid(key))
		return 0;
	return p4r_error_set(P4R_EUSAGE, "invalid tag key '%.100s': 1..%d of A-Z, a-z, 0-9, '_', '.', ':',"
			     " '/' and '-', starting with a letter or digit", key ? key : "", P4R_TAG_KEY_MAX);
}

int p4r_tag_parse(const char *text, char **key, char **value)
{
	const char *eq = strchr(text, '=');
	int rc = 0;

	*key = *value = NULL;
	if (!eq)
		return p4r_error_set(P4R_EUSAGE, "invalid tag '%.100s': expected KEY=VALUE", text);
	if (!(*key = strndup(text, (size_t)(eq - text))) || !(*value = strdup(eq + 1)))
		rc = p4r_error_set(P4R_ERROR, "out of memory");
	else if (!p4r_tag_key_valid(*key))
		rc = p4r_tag_key_check(*key);
	else if (!p4r_tag_value_valid(*value))
		rc = p4r_error_set(P4R_EUSAGE, "invalid value of tag '%s': at most %d bytes of UTF-8 without"
				   " control characters", *key, P4R_TAG_VALUE_MAX);
	if (rc < 0) {
		free(*key);
		free(*value);
		*key = *value = NULL;
	}
	return rc;
}

void p4r_tags_clear(p4r_tags *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n; i++) {
		free(t->v[i].key);
		free(t->v[i].value);
	}
	free(t->v);
	memset(t, 0, sizeof(*t));
}

int p4r_sql_tag_apply(p4r_registry *reg, const p4r_sql_label_event *e)
{
	p4r_sql_arg args[] = { P4R_SQL_INT(e->version_id ? e->version_id : e->model_id),
			       P4R_SQL_TEXT(e->detail) };
	sqlite3 *db = p4r_registry_db(reg);
	const char *sql;

	if (!strcmp(e->kind, P4R_EVENT_DESCRIBE))
		sql = "UPDATE models SET description = json_extract(?2, '$.description') WHERE id = ?1";
	else if (!strcmp(e->kind, P4R_EVENT_TAG_DELETE))
		sql = e->version_id ?
		      "DELETE FROM version_tags WHERE version_id = ?1"
		      " AND key IN (SELECT value FROM json_each(?2, '$.keys'))" :
		      "DELETE FROM model_tags WHERE model_id = ?1"
		      " AND key IN (SELECT value FROM json_each(?2, '$.keys'))";
	else
		sql = e->version_id ?
		      "INSERT OR REPLACE INTO version_tags(version_id, key, value)"
		      " SELECT ?1, key, value FROM json_each(?2, '$.tags')" :
		      "INSERT OR REPLACE INTO model_tags(model_id, key, value)"
		      " SELECT ?1, key, value FROM json_each(?2, '$.tags')";
	return p4r_sql_exec(db, sql, args, 2, NULL, NULL);
}

/* Checks what a change of tags holds, before its transaction. */
static int check_req(const p4r_tag_req *req)
{
	size_t i, k;

	if (!p4r_model_name_valid(req->model))
		return p4r_error_set(P4R_EUSAGE, "invalid model name '%s'", req->model ? req->model : "");
	if (req->n == 0 || req->n > P4R_TAGS_MAX)
		return p4r_error_set(P4R_EUSAGE, "a tag change names 1..%d keys, not %zu", P4R_TAGS_MAX, req->n);
	for (i = 0; i < req->n; i++) {
		if (p4r_tag_key_check(req->keys[i]) < 0)
			return P4R_EUSAGE;
		if (req->values && !p4r_tag_value_valid(req->values[i]))
			return p4r_error_set(P4R_EUSAGE, "invalid value of tag '%s': at most %d bytes of UTF-8"
					     " without control characters", req->keys[i], P4R_TAG_VALUE_MAX);
		for (k = 0; k < i; k++)
			if (!strcmp(req->keys[k], req->keys[i]))
				return p4r_error_set(P4R_EUSAGE, "tag '%s' is named twice", req->keys[i]);
	}
	return 0;
}

/* What the change is about: *MODEL_ID and *VERSION_ID (0 for the model). */
static int target(p4r_registry *reg, const char *model, int64_t number, int64_t *model_id,
		  int64_t *version_id)
{
	p4r_version v = { 0 };
	int rc;

	*model_id = *version_id = 0;
	if ((rc = p4r_sql_model_id(reg, model, model_id)) == 0 && number &&
	    (rc = p4r_registry_version_get(reg, model, number, &v)) == 0)
		*version_id = v.id;
	p4r_version_clear(&v);
	return rc;
}

/* The value of KEY on the target (*FOUND false when it has none). */
static int tag_value(p4r_registry *reg, int64_t model_id, int64_t version_id, const char *key,
		     char **value, bool *found)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	int rc;

	*value = NULL;
	*found = false;
	if ((rc = p4r_sql_prepare(db, &st, version_id ?
			  "SELECT value FROM version_tags WHERE version_id = ?1 AND key = ?2" :
			  "SELECT value FROM model_tags WHERE model_id = ?1 AND key = ?2")) == 0 &&
	    (rc = p4r_sql_bind_int(db, st, 1, version_id ? version_id : model_id)) == 0 &&
	    (rc = p4r_sql_bind_text(db, st, 2, key)) == 0 && (rc = p4r_sql_row(db, st, found)) == 0 &&
	    *found && !(*value = strdup(p4r_sql_col_text(st, 0))))
		rc = p4r_error_set(P4R_ERROR, "out of memory");
	sqlite3_finalize(st);
	return rc;
}

/* Records event KIND (detail DETAIL) on the target and applies it. */
static int tag_event(p4r_registry *reg, const p4r_tag_req *req, const char *kind, int64_t model_id,
		     int64_t version_id, const char *detail)
{
	int64_t now = req->now_ms ? req->now_ms : p4r_now_ms();
	p4r_sql_event_row row = { .model_id = model_id, .version_id = version_id, .kind = kind,
				  .actor = req->actor ? req->actor : "unknown", .at_ms = now,
				  .reason = req->reason ? req->reason : "", .detail = detail };
	p4r_sql_label_event e = { .model_id = model_id, .version_id = version_id, .kind = kind,
				  .actor = row.actor, .at_ms = now, .detail = detail };
	int rc;

	if (!detail)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if ((rc = p4r_sql_event_insert(reg, &row, NULL)) == 0)
		rc = p4r_sql_tag_apply(reg, &e);
	return rc;
}

/* The keys of REQ whose value changes, into KEYS/VALUES (N of them). */
static int changed_keys(p4r_registry *reg, const p4r_tag_req *req, int64_t model_id, int64_t version_id,
			const char **keys, const char **values, size_t *n)
{
	char *old = NULL;
	bool found = false;
	size_t i;
	int rc = 0;

	*n = 0;
	for (i = 0; i < req->n && rc == 0; i++) {
		if ((rc = tag_value(reg, model_id, version_id, req->keys[i], &old, &found)) == 0 &&
		    (!found || strcmp(old, req->values[i]))) {
			keys[*n] = req->keys[i];
			values[(*n)++] = req->values[i];
		}
		free(old);
	}
	return rc;
}

static int set_txn(p4r_registry *reg, const p4r_tag_req *req, size_t *changed)
{
	const char **keys = calloc(req->n, sizeof(*keys)), **values = calloc(req->n, sizeof(*values));
	int64_t model_id, version_id;
	char *detail = NULL;
	int rc;

	if (!keys || !values)
		rc = p4r_error_set(P4R_ERROR, "out of memory");
	else if ((rc = target(reg, req->model, req->number, &model_id, &version_id)) == 0 &&
		 (rc = changed_keys(reg, req, model_id, version_id, keys, values, changed)) == 0 && *changed) {
		detail = p4r_tags_detail(keys, values, *changed);
		rc = tag_event(reg, req, P4R_EVENT_TAG_SET, model_id, version_id, detail);
	}
	free(detail);
	free(keys);
	free(values);
	return rc;
}

/* Every key of REQ is on the target, else P4R_ENOTFOUND naming the first. */
static int all_there(p4r_registry *reg, const p4r_tag_req *req, int64_t model_id, int64_t version_id)
{
	char *old = NULL;
	bool found = true;
	size_t i;
	int rc = 0;

	for (i = 0; i < req->n && rc == 0 && found; i++) {
		rc = tag_value(reg, model_id, version_id, req->keys[i], &old, &found);
		free(old);
		if (rc == 0 && !found && version_id)
			rc = p4r_error_set(P4R_ENOTFOUND, "%s@%lld has no tag '%s'", req->model,
					   (long long)req->number, req->keys[i]);
		else if (rc == 0 && !found)
			rc = p4r_error_set(P4R_ENOTFOUND, "model '%s' has no tag '%s'", req->model, req->keys[i]);
	}
	return rc;
}

static int delete_txn(p4r_registry *reg, const p4r_tag_req *req, size_t *changed)
{
	int64_t model_id, version_id;
	char *detail = NULL;
	int rc;

	if ((rc = target(reg, req->model, req->number, &model_id, &version_id)) == 0 &&
	    (rc = all_there(reg, req, model_id, version_id)) == 0) {
		detail = p4r_tags_detail(req->keys, NULL, req->n);
		rc = tag_event(reg, req, P4R_EVENT_TAG_DELETE, model_id, version_id, detail);
		*changed = req->n;
	}
	free(detail);
	return rc;
}

/* Runs FN in one transaction (joining the caller's) after the checks. */
static int in_txn(p4r_registry *reg, const p4r_tag_req *req, size_t *changed,
		  int (*fn)(p4r_registry *, const p4r_tag_req *, size_t *))
{
	p4r_event ev = { .actor = (char *)req->actor, .reason = (char *)req->reason, .at_ms = req->now_ms };
	int rc;

	*changed = 0;
	/* the bounds of actor and reason; the detail is ours, built right */
	snprintf(ev.kind, sizeof(ev.kind), "tag");
	snprintf(ev.model, sizeof(ev.model), "%s", req->model ? req->model : "");
	if ((rc = check_req(req)) < 0 || (rc = p4r_event_check(&ev)) < 0 ||
	    (rc = p4r_registry_begin(reg)) < 0)
		return rc;
	if ((rc = fn(reg, req, changed)) < 0) {
		p4r_registry_abort(reg);
		*changed = 0;
		return rc;
	}
	return p4r_registry_commit(reg);
}

int p4r_registry_tags_set(p4r_registry *reg, const p4r_tag_req *req, size_t *changed)
{
	if (!req->values)
		return p4r_error_set(P4R_EUSAGE, "a tag needs a value");
	return in_txn(reg, req, changed, set_txn);
}

int p4r_registry_tags_delete(p4r_registry *reg, const p4r_tag_req *req)
{
	p4r_tag_req del = *req;
	size_t changed;

	del.values = NULL;
	return in_txn(reg, &del, &changed, delete_txn);
}

/* Appends the rows of ST (version_id, key, value) to OUT. */
static int read_tags(sqlite3 *db, sqlite3_stmt *st, p4r_tags *out)
{
	int rc;

	while ((rc = p4r_sql_step(db, st)) == 1) {
		p4r_tag_entry *t;

		if (out->n == out->cap) {
			size_t ncap = out->cap ? out->cap * 2 : 16;
			void *p = realloc(out->v, ncap * sizeof(*out->v));

			if (!p)
				return p4r_error_set(P4R_ERROR, "out of memory");
			out->v = p;
			out->cap = ncap;
		}
		t = &out->v[out->n];
		t->version_id = sqlite3_column_int64(st, 0);
		t->key = strdup(p4r_sql_col_text(st, 1));
		t->value = strdup(p4r_sql_col_text(st, 2));
		out->n++;
		if (!t->key || !t->value)
			return p4r_error_set(P4R_ERROR, "out of memory");
	}
	return rc;
}

/* The tags SQL (one integer parameter) selects, into OUT (cleared first). */
static int tag_query(p4r_registry *reg, const char *sql, int64_t id, p4r_tags *out)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = p4r_sql_prepare(db, &st, sql)) == 0 && (rc = p4r_sql_bind_int(db, st, 1, id)) == 0)
		rc = read_tags(db, st, out);
	sqlite3_finalize(st);
	if (rc < 0)
		p4r_tags_clear(out);
	return rc;
}

int p4r_registry_tags_get(p4r_registry *reg, const char *model, int64_t number, p4r_tags *out)
{
	int64_t model_id, version_id;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = target(reg, model, number, &model_id, &version_id)) < 0)
		return rc;
	if (version_id)
		return tag_query(reg, "SELECT version_id, key, value FROM version_tags"
				 " WHERE version_id = ?1 ORDER BY key", version_id, out);
	return tag_query(reg, "SELECT 0, key, value FROM model_tags WHERE model_id = ?1 ORDER BY key",
			 model_id, out);
}

int p4r_registry_tags_versions(p4r_registry *reg, const p4r_version *versions, size_t n, p4r_tags *out)
{
	sqlite3 *db = p4r_registry_db(reg);
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = p4r_sql_prepare(db, &st, "SELECT version_id, key, value FROM version_tags"
				  " WHERE version_id = ?1 ORDER BY key")) < 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++) {
		sqlite3_reset(st);
		if ((rc = p4r_sql_bind_int(db, st, 1, versions[i].id)) == 0)
			rc = read_tags(db, st, out);
	}
	sqlite3_finalize(st);
	if (rc < 0)
		p4r_tags_clear(out);
	return rc;
}

static int describe_txn(p4r_registry *reg, const p4r_tag_req *req, const char *text, bool *changed)
{
	p4r_model m = { 0 };
	char *detail = NULL;
	int rc;

	if ((rc = p4r_registry_model_get(reg, req->model, &m)) == 0 && strcmp(m.description, text)) {
		*changed = true;
		detail = p4r_describe_detail(text);
		rc = tag_event(reg, req, P4R_EVENT_DESCRIBE, m.id, 0, detail);
	}
	free(detail);
	p4r_model_clear(&m);
	return rc;
}

int p4r_registry_describe(p4r_registry *reg, const char *model, const char *text, const char *actor,
			  const char *reason, int64_t now_ms, bool *changed)
{
	p4r_tag_req req = { .model = model, .actor = actor, .reason = reason, .now_ms = now_ms };
	p4r_event ev = { .actor = (char *)actor, .reason = (char *)reason, .at_ms = now_ms };
	int rc;

	*changed = false;
	snprintf(ev.kind, sizeof(ev.kind), "description");
	snprintf(ev.model, sizeof(ev.model), "%s", model ? model : "");
	if (!p4r_model_name_valid(model))
		return p4r_error_set(P4R_EUSAGE, "invalid model name '%s'", model ? model : "");
	if (!p4r_description_valid(text))
		return p4r_error_set(P4R_EUSAGE, "invalid description: at most %d bytes of UTF-8 without"
				     " control characters other than newline and tab", P4R_DESCRIPTION_MAX);
	if ((rc = p4r_event_check(&ev)) < 0 || (rc = p4r_registry_begin(reg)) < 0)
		return rc;
	if ((rc = describe_txn(reg, &req, text, changed)) < 0) {
		p4r_registry_abort(reg);
		*changed = false;
		return rc;
	}
	return p4r_registry_commit(reg);
}
