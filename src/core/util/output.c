/* JSON shapes and human formats shared by the commands (see output.h). */
#include "p4reg/output.h"
#include "p4reg/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- UTF-8 and escaping ---- */

/* The length of the valid UTF-8 sequence that starts the LEN bytes at S,
 * its code point in *CP; 0 for a byte that starts none (stray continuation,
 * overlong form, surrogate, above U+10FFFF, cut short). */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	size_t need, i;
	uint32_t c = s[0];

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) { need = 1; c &= 0x1f; }
	else if (c >= 0xe0 && c <= 0xef) { need = 2; c &= 0x0f; }
	else if (c >= 0xf0 && c <= 0xf4) { need = 3; c &= 0x07; }
	else return 0;
	if (len <= need)
		return 0;
	for (i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((need == 2 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (need == 3 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	*cp = c;
	return need + 1;
}

bool p4r_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t n;

	while (len > 0) {
		if (!(n = utf8_next(p, len, &cp)))
			return false;
		p += n;
		len -= n;
	}
	return true;
}

/* Characters a terminal acts on rather than shows, or that reorder or break
 * the line around them. */
static bool cp_hidden(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	       cp == 0x2028 || cp == 0x2029;
}

/* Writes the escape of the N bytes at S (one character, or one bad byte)
 * at OUT when OUT is not NULL; returns its length. */
static size_t escape_one(char *out, const unsigned char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const char *named = n != 1 ? NULL : s[0] == '\n' ? "\\n" : s[0] == '\t' ? "\\t" :
			    s[0] == '\r' ? "\\r" : NULL;
	size_t i;

	if (named) {
		if (out)
			memcpy(out, named, 2);
		return 2;
	}
	for (i = 0; out && i < n; i++) {
		out[4 * i] = '\\';
		out[4 * i + 1] = 'x';
		out[4 * i + 2] = hex[s[i] >> 4];
		out[4 * i + 3] = hex[s[i] & 0xf];
	}
	return 4 * n;
}

/* How one character is written: the length of its replacement, written
 * at OUT when OUT is not NULL; 0 keeps the character as it is. P is the
 * character's N bytes (N 0: an invalid byte), CP its code point. */
typedef size_t (*rewrite_fn)(char *out, const unsigned char *p, size_t n, uint32_t cp);

/* S into OUT (NULL: only measures), each character through FN; returns
 * the length written, without the NUL OUT then gets. */
static size_t rewrite_into(char *out, const char *s, rewrite_fn fn)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), used = 0, n, k;
	uint32_t cp = 0;

	while (len > 0) {
		n = utf8_next(p, len, &cp);
		k = fn(out ? out + used : NULL, p, n, cp);
		n = n ? n : 1;
		if (k == 0) {
			if (out)
				memcpy(out + used, p, n);
			k = n;
		}
		used += k;
		p += n;
		len -= n;
	}
	if (out)
		out[used] = '\0';
	return used;
}

/* Human output: hidden characters and invalid bytes as \n, \xHH. */
static size_t human_escape(char *out, const unsigned char *p, size_t n, uint32_t cp)
{
	if (n == 0)
		return escape_one(out, p, 1);
	return cp_hidden(cp) ? escape_one(out, p, n) : 0;
}

static size_t escape_into(char *out, const char *s)
{
	return rewrite_into(out, s, human_escape);
}

const char *p4r_escape(const char *s)
{
	static struct {
		char *buf;
		size_t cap;
	} slots[P4R_ESCAPE_SLOTS];
	static unsigned next;
	size_t need;
	char *grown;
	unsigned i;

	if (!s)
		return "";
	need = escape_into(NULL, s);
	if (need == strlen(s))
		return s;
	i = next++ % P4R_ESCAPE_SLOTS;
	if (slots[i].cap < need + 1) {
		if (!(grown = realloc(slots[i].buf, need + 1)))
			return "?";
		slots[i].buf = grown;
		slots[i].cap = need + 1;
	}
	escape_into(slots[i].buf, s);
	return slots[i].buf;
}

/* HTML text and attribute values: the five characters markup reads as
 * entities; newline and tab kept (white space to a browser); every other
 * hidden character and invalid byte as human output writes it, so a
 * bidirectional override cannot reorder what the page shows either. */
static size_t html_escape(char *out, const unsigned char *p, size_t n, uint32_t cp)
{
	const char *entity = n != 1 ? NULL : *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" :
			     *p == '"' ? "&quot;" : *p == '\'' ? "&#39;" : NULL;

	if (entity) {
		if (out)
			memcpy(out, entity, strlen(entity));
		return strlen(entity);
	}
	if (n == 1 && (*p == '\n' || *p == '\t'))
		return 0;
	return human_escape(out, p, n, cp);
}

char *p4r_html_escape(const char *s)
{
	char *out;

	s = s ? s : "";
	if ((out = malloc(rewrite_into(NULL, s, html_escape) + 1)))
		rewrite_into(out, s, html_escape);
	return out;
}

char *p4r_utf8_sanitize(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), used = 0, n;
	uint32_t cp;
	char *out;

	/* Each bad byte grows from 1 to 3 bytes (U+FFFD is EF BF BD). */
	if (!(out = malloc(3 * len + 1)))
		return NULL;
	while (len > 0) {
		if ((n = utf8_next(p, len, &cp)) > 0) {
			memcpy(out + used, p, n);
			used += n;
		} else {
			memcpy(out + used, "\xef\xbf\xbd", 3);
			used += 3;
			n = 1;
		}
		p += n;
		len -= n;
	}
	out[used] = '\0';
	return out;
}

/* Replaces *FIELD (owned by cJSON unless BORROWED) by its sanitized copy
 * allocated with cJSON's allocator, so cJSON_Delete frees it; returns 1
 * when it did, 0 when *FIELD was already valid. */
static int sanitize_field(char **field, bool borrowed)
{
	char *fixed, *copy;
	size_t len;

	if (!*field || p4r_utf8_valid(*field, strlen(*field)))
		return 0;
	if (!(fixed = p4r_utf8_sanitize(*field)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	len = strlen(fixed) + 1;
	if (!(copy = cJSON_malloc(len))) {
		free(fixed);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	memcpy(copy, fixed, len);
	free(fixed);
	if (!borrowed)
		cJSON_free(*field);
	*field = copy;
	return 1;
}

int p4r_json_sanitize(cJSON *doc)
{
	cJSON *it;
	int rc;

	if (!doc)
		return 0;
	if ((rc = sanitize_field(&doc->string, doc->type & cJSON_StringIsConst)) < 0)
		return rc;
	if (rc == 1)
		doc->type &= ~cJSON_StringIsConst;
	if (cJSON_IsString(doc)) {
		if ((rc = sanitize_field(&doc->valuestring, doc->type & cJSON_IsReference)) < 0)
			return rc;
		if (rc == 1)
			doc->type &= ~cJSON_IsReference;
	}
	/* Depth is bounded: cJSON parses at most CJSON_NESTING_LIMIT levels. */
	for (it = doc->child; it; it = it->next)
		if ((rc = p4r_json_sanitize(it)) < 0)
			return rc;
	return 0;
}

/* ---- times and sizes ---- */

void p4r_format_time(char *buf, size_t bufsz, int64_t ms)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&secs, &tm) || !strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, bufsz, "?");
}

void p4r_format_size(char *buf, size_t bufsz, uint64_t bytes)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, bufsz, "%llu B", (unsigned long long)bytes);
		return;
	}
	while (v >= 1024.0 && u < 4) {
		v /= 1024.0;
		u++;
	}
	snprintf(buf, bufsz, "%.1f %s", v, units[u]);
}

static void add_time(cJSON *obj, const char *key, int64_t ms)
{
	char buf[32];

	p4r_format_time(buf, sizeof(buf), ms);
	cJSON_AddStringToObject(obj, key, buf);
}

/* Absent text is null, never "": the registry stores "" for "none" (a
 * version without a message, an event without a reason). */
void p4r_json_add_text(cJSON *obj, const char *key, const char *s)
{
	if (s && *s)
		cJSON_AddStringToObject(obj, key, s);
	else
		cJSON_AddNullToObject(obj, key);
}

cJSON *p4r_json_version(const p4r_version *v)
{
	cJSON *o = cJSON_CreateObject(), *git;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "model", v->model);
	cJSON_AddNumberToObject(o, "version", (double)v->number);
	cJSON_AddStringToObject(o, "oid", v->oid.hex);
	cJSON_AddNumberToObject(o, "size", (double)v->size);
	cJSON_AddStringToObject(o, "stage", p4r_stage_name(v->stage));
	cJSON_AddBoolToObject(o, "rolled_back", v->rolled_back);
	p4r_json_add_text(o, "author", v->author);
	add_time(o, "created", v->created_ms);
	p4r_json_add_text(o, "message", v->message);
	p4r_json_add_text(o, "path", v->source_path);
	git = cJSON_AddObjectToObject(o, "git");
	p4r_json_add_text(git, "commit", v->git_commit);
	p4r_json_add_text(git, "branch", v->git_branch);
	if (v->git_dirty < 0)
		cJSON_AddNullToObject(git, "dirty");
	else
		cJSON_AddBoolToObject(git, "dirty", v->git_dirty);
	return o;
}

static void add_number_or_null(cJSON *obj, const char *key, int64_t n)
{
	if (n > 0)
		cJSON_AddNumberToObject(obj, key, (double)n);
	else
		cJSON_AddNullToObject(obj, key);
}

cJSON *p4r_json_model(const p4r_model *m)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "name", m->name);
	p4r_json_add_text(o, "path", m->path);
	cJSON_AddNumberToObject(o, "versions", (double)m->version_count);
	add_number_or_null(o, "latest", m->latest);
	add_number_or_null(o, "staging", m->staging);
	add_number_or_null(o, "production", m->production);
	add_time(o, "created", m->created_ms);
	p4r_json_add_text(o, "description", m->description);
	return o;
}

/* Appends TEXT to BUF (SIZE bytes, USED so far) with a blank before all
 * but the first; "..." ends what does not fit. */
static size_t label_add(char *buf, size_t size, size_t used, const char *text)
{
	int n = snprintf(buf + used, size - used, "%s%s", used ? " " : "", text);

	if (n < 0 || (size_t)n >= size - used) {
		if (size > 4)
			memcpy(buf + size - 4, "...", 4);
		return size - 1;
	}
	return used + (size_t)n;
}

void p4r_event_label(char *buf, size_t size, const p4r_event *e)
{
	cJSON *doc = e->detail ? cJSON_Parse(e->detail) : NULL;
	const cJSON *j = doc ? doc->child : NULL;
	char pair[P4R_TAG_KEY_MAX + P4R_TAG_VALUE_MAX + 2];
	size_t used = 0;

	buf[0] = '\0';
	if (cJSON_IsString(j) && (!strcmp(e->kind, "alias-set") || !strcmp(e->kind, "alias-delete")))
		snprintf(buf, size, "@%s", j->valuestring);
	else if (!strcmp(e->kind, "tag-set") && cJSON_IsObject(j))
		for (j = j->child; j && used < size - 1; j = j->next) {
			snprintf(pair, sizeof(pair), "%s=%s", j->string, cJSON_IsString(j) ? j->valuestring : "");
			used = label_add(buf, size, used, pair);
		}
	else if (!strcmp(e->kind, "tag-delete") && cJSON_IsArray(j))
		for (j = j->child; j && used < size - 1; j = j->next)
			used = label_add(buf, size, used, cJSON_IsString(j) ? j->valuestring : "");
	cJSON_Delete(doc);
}

cJSON *p4r_json_tags(const p4r_tags *t, int64_t version_id)
{
	cJSON *o = cJSON_CreateObject();
	size_t i;

	for (i = 0; o && i < t->n; i++)
		if (version_id < 0 || t->v[i].version_id == version_id)
			cJSON_AddStringToObject(o, t->v[i].key, t->v[i].value);
	return o;
}

cJSON *p4r_json_alias_names(const p4r_alias_entry *a, size_t n, int64_t number)
{
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	for (i = 0; arr && i < n; i++)
		if (!number || a[i].version == number)
			cJSON_AddItemToArray(arr, cJSON_CreateString(a[i].name));
	return arr;
}

cJSON *p4r_json_event(const p4r_event *e)
{
	cJSON *o = cJSON_CreateObject(), *detail;

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "id", (double)e->id);
	cJSON_AddStringToObject(o, "model", e->model);
	add_number_or_null(o, "version", e->version);
	cJSON_AddStringToObject(o, "kind", e->kind);
	p4r_json_add_text(o, "from", e->from_stage);
	p4r_json_add_text(o, "to", e->to_stage);
	cJSON_AddBoolToObject(o, "forced", e->forced);
	p4r_json_add_text(o, "actor", e->actor);
	add_time(o, "time", e->at_ms);
	p4r_json_add_text(o, "reason", e->reason);
	detail = e->detail ? cJSON_Parse(e->detail) : NULL;
	if (detail)
		cJSON_AddItemToObject(o, "detail", detail);
	else
		cJSON_AddNullToObject(o, "detail");
	return o;
}

/* Writes the JSON escape of CP ("\u009b") at OUT when not NULL. */
static size_t json_escape_cp(char *out, uint32_t cp)
{
	if (out)
		snprintf(out, 7, "\\u%04x", (unsigned)(cp & 0xffff)); /* cp_hidden: all below U+10000 */
	return 6;
}

/* JSON: what cJSON leaves raw but a terminal acts on, as \uXXXX (the
 * controls below DEL are already escaped). */
static size_t json_escape(char *out, const unsigned char *p, size_t n, uint32_t cp)
{
	(void)p;
	return n && cp >= 0x7f && cp_hidden(cp) ? json_escape_cp(out, cp) : 0;
}

static size_t json_hidden_into(char *out, const char *text)
{
	return rewrite_into(out, text, json_escape);
}

char *p4r_json_escape_hidden(const char *text)
{
	size_t need = json_hidden_into(NULL, text);
	char *out = malloc(need + 1);

	if (out)
		json_hidden_into(out, text);
	return out;
}

char *p4r_json_text_pair(const char *k1, const char *v1, const char *k2, const char *v2)
{
	cJSON *o = cJSON_CreateObject();
	char *text = NULL, *out = NULL;

	if (o && cJSON_AddStringToObject(o, k1, v1) && cJSON_AddStringToObject(o, k2, v2))
		text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text)
		out = strdup(text);
	cJSON_free(text);
	return out;
}
