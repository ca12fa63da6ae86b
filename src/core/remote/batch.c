/* The remote batch codec and the bounds of an event (see batch.h): the
 * creators' checks, the encoder that splits a push into batches that fit,
 * and the strict decoder of what a remote delivers. */
#include "p4reg/batch.h"
#include "p4reg/alias.h"
#include "p4reg/error.h"
#include "p4reg/output.h"
#include "p4reg/tag.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

/* SHA-256 of no bytes: the only object of size 0. */
#define EMPTY_OID "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* ---- field checks shared by the creators, the encoder and the decoder ---- */

static bool text_ok(const char *s, size_t max)
{
	return s && strnlen(s, max + 1) <= max;
}

static bool no_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static bool kind_valid(const char *s)
{
	size_t i;

	if (!s || !s[0] || !text_ok(s, P4R_EVENT_KIND_MAX))
		return false;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '-' || s[i] == '_'))
			return false;
	return true;
}

static bool stage_ok(const char *s)
{
	static const char *const names[] = {
		"", "development", "validation", "staging", "production", "archived", NULL
	};
	size_t i;

	for (i = 0; names[i]; i++)
		if (!strcmp(s, names[i]))
			return true;
	return false;
}

static bool uuid_valid(const char *s)
{
	size_t i;

	if (!s || strnlen(s, P4R_UUID_LEN + 1) != P4R_UUID_LEN)
		return false;
	for (i = 0; i < P4R_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
			return false;
		}
	}
	return true;
}

static bool git_commit_ok(const char *s)
{
	size_t i;

	if (!s)
		return true;
	if (!s[0] || !text_ok(s, P4R_EVENT_GIT_COMMIT_MAX))
		return false;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool git_branch_ok(const char *s)
{
	return !s || (text_ok(s, P4R_EVENT_GIT_BRANCH_MAX) && no_control(s));
}

/* A detail is the text of one JSON object (what the creators write). */
static bool detail_ok(const char *s)
{
	cJSON *doc;
	bool ok;

	if (!s)
		return true;
	if (!text_ok(s, P4R_EVENT_DETAIL_MAX))
		return false;
	doc = cJSON_Parse(s);
	ok = cJSON_IsObject(doc);
	cJSON_Delete(doc);
	return ok;
}

static bool in_range(int64_t v, int64_t min, int64_t max)
{
	return v >= min && v <= max;
}

/* NULL when a version's kind agrees with its counts: a folder has 1..
 * P4R_MANIFEST_MAX_FILES files and a manifest (never empty), a file neither
 * count nor total. */
static const char *kind_problem(p4r_version_kind kind, int64_t files, int64_t tree_size, int64_t size)
{
	if (kind == P4R_KIND_FILE)
		return files || tree_size ? "a file version has no file count or tree size" : NULL;
	if (kind != P4R_KIND_DIR)
		return "unknown version kind";
	if (!in_range(files, 1, P4R_MANIFEST_MAX_FILES))
		return "invalid file count";
	if (!in_range(tree_size, 0, P4R_EVENT_TREE_SIZE_MAX))
		return "invalid tree size";
	return size > 0 ? NULL : "a folder's manifest is never empty";
}

/* ---- move events ---- */

char *p4r_move_detail(const char *from, const char *to)
{
	return p4r_json_text_pair("from_path", from, "to_path", to);
}

static const char *const move_keys[] = { "from_path", "to_path", NULL };
static bool keys_ok(const cJSON *o, const char *const *known);

/* NULL when DETAIL is a move's detail, else why not; *FROM and *TO (both
 * nullable) get malloc'd copies of the paths. */
static const char *move_problem(const char *detail, char **from, char **to)
{
	cJSON *doc = detail ? cJSON_Parse(detail) : NULL;
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(doc, "from_path");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(doc, "to_path");
	const char *why = NULL;

	if (!cJSON_IsObject(doc) || !keys_ok(doc, move_keys) || !cJSON_IsString(f) || !cJSON_IsString(t))
		why = "a move's detail must be {\"from_path\",\"to_path\"}";
	else if (!p4r_relpath_valid(f->valuestring) || !p4r_relpath_valid(t->valuestring))
		why = "invalid path in a move";
	else if (!strcmp(f->valuestring, t->valuestring))
		why = "a move to the same path";
	else if ((from && !(*from = strdup(f->valuestring))) || (to && !(*to = strdup(t->valuestring))))
		why = "out of memory";
	cJSON_Delete(doc);
	return why;
}

int p4r_move_detail_parse(const char *detail, char **from, char **to)
{
	const char *why;

	*from = *to = NULL;
	if (!(why = move_problem(detail, from, to)))
		return 0;
	free(*from);
	free(*to);
	*from = *to = NULL;
	return p4r_error_set(P4R_EINTEGRITY, "%s", why);
}

/* NULL when a move event's own fields are right: about the model (no
 * version), no stages, not forced, and a move's detail. */
static const char *move_event_problem(int64_t version, const char *from_stage, const char *to_stage,
				      bool forced, const char *detail)
{
	if (version != 0)
		return "a move is about the model, not a version";
	if (from_stage[0] || to_stage[0] || forced)
		return "a move changes no stage";
	return move_problem(detail, NULL, NULL);
}

/* ---- alias, tag, describe and delete events (batch format 4) ---- */

static char *print_detail(cJSON *o)
{
	char *text = o ? cJSON_PrintUnformatted(o) : NULL, *out = text ? strdup(text) : NULL;

	cJSON_free(text);
	cJSON_Delete(o);
	return out;
}

char *p4r_alias_detail(const char *name)
{
	cJSON *o = cJSON_CreateObject();

	if (o && !cJSON_AddStringToObject(o, "alias", name)) {
		cJSON_Delete(o);
		return NULL;
	}
	return print_detail(o);
}

char *p4r_tags_detail(const char *const *keys, const char *const *values, size_t n)
{
	cJSON *o = cJSON_CreateObject(), *c = NULL;
	bool ok;
	size_t i;

	if (o)
		c = values ? cJSON_AddObjectToObject(o, "tags") : cJSON_AddArrayToObject(o, "keys");
	ok = c != NULL;
	for (i = 0; ok && i < n; i++)
		ok = values ? cJSON_AddStringToObject(c, keys[i], values[i]) != NULL :
		     cJSON_AddItemToArray(c, cJSON_CreateString(keys[i]));
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return print_detail(o);
}

char *p4r_describe_detail(const char *text)
{
	cJSON *o = cJSON_CreateObject();

	if (o && !cJSON_AddStringToObject(o, "description", text)) {
		cJSON_Delete(o);
		return NULL;
	}
	return print_detail(o);
}

bool p4r_event_kind_labels(const char *kind)
{
	return !strcmp(kind, P4R_EVENT_ALIAS_SET) || !strcmp(kind, P4R_EVENT_ALIAS_DELETE) ||
	       !strcmp(kind, P4R_EVENT_TAG_SET) || !strcmp(kind, P4R_EVENT_TAG_DELETE) ||
	       !strcmp(kind, P4R_EVENT_DESCRIBE) || !strcmp(kind, P4R_EVENT_DELETE);
}

/* True when C is a JSON string holding a valid tag value. */
static bool tag_value_item_ok(const cJSON *c)
{
	return cJSON_IsString(c) && c->valuestring && p4r_tag_value_valid(c->valuestring);
}

/* Members (of an object) or items (of an array of strings) of C: 1..
 * P4R_TAGS_MAX valid keys, none twice (cJSON keeps repeated members). */
static bool tag_keys_ok(const cJSON *c, bool object)
{
	const cJSON *j, *k;
	int n = 0;

	for (j = c->child; j; j = j->next) {
		const char *key = object ? j->string : (cJSON_IsString(j) ? j->valuestring : NULL);

		if (++n > P4R_TAGS_MAX || !key || !p4r_tag_key_valid(key) || (object && !tag_value_item_ok(j)))
			return false;
		for (k = c->child; k != j; k = k->next)
			if (!strcmp(object ? k->string : k->valuestring, key))
				return false;
	}
	return n > 0;
}

/* NULL when DOC is the detail an event of KIND carries, else why not. */
static const char *label_detail_problem(const char *kind, const cJSON *doc)
{
	static const char *const alias_keys[] = { "alias", NULL }, *const set_keys[] = { "tags", NULL };
	static const char *const del_keys[] = { "keys", NULL }, *const desc_keys[] = { "description", NULL };
	const cJSON *j = doc ? doc->child : NULL;

	if (!strcmp(kind, P4R_EVENT_ALIAS_SET) || !strcmp(kind, P4R_EVENT_ALIAS_DELETE))
		return keys_ok(doc, alias_keys) && cJSON_IsString(j) && p4r_alias_name_valid(j->valuestring) ?
		       NULL : "an alias event's detail must be {\"alias\"} with a valid alias name";
	if (!strcmp(kind, P4R_EVENT_TAG_SET))
		return keys_ok(doc, set_keys) && cJSON_IsObject(j) && tag_keys_ok(j, true) ? NULL :
		       "a tag-set's detail must be {\"tags\":{KEY:VALUE}} with valid keys and values";
	if (!strcmp(kind, P4R_EVENT_TAG_DELETE))
		return keys_ok(doc, del_keys) && cJSON_IsArray(j) && tag_keys_ok(j, false) ? NULL :
		       "a tag-delete's detail must be {\"keys\":[KEY]} with valid keys";
	return keys_ok(doc, desc_keys) && cJSON_IsString(j) && p4r_description_valid(j->valuestring) ?
	       NULL : "a describe's detail must be {\"description\"} with a valid text";
}

/* NULL when an event of a format-4 KIND has the fields its kind needs. */
static const char *label_event_problem(const char *kind, int64_t version, const char *from_stage,
				       const char *to_stage, bool forced, const char *detail)
{
	bool model_only = !strcmp(kind, P4R_EVENT_DESCRIBE);
	cJSON *doc;
	const char *why;

	if (!strcmp(kind, P4R_EVENT_DELETE)) {
		if (version < 1)
			return "a delete is about a version";
		if (!from_stage[0] || strcmp(to_stage, "archived") || detail)
			return "a delete goes from the version's stage to archived, without detail";
		return NULL;
	}
	if (from_stage[0] || to_stage[0] || forced)
		return "an alias, tag or describe event changes no stage";
	if (model_only ? version != 0 : (!strncmp(kind, "alias", 5) && version < 1))
		return model_only ? "a describe is about the model" : "an alias names a version";
	if (!detail)
		return "an alias, tag or describe event needs its detail";
	doc = cJSON_Parse(detail);
	why = cJSON_IsObject(doc) ? label_detail_problem(kind, doc) : "detail is not a JSON object";
	cJSON_Delete(doc);
	return why;
}

/* ---- the creators' side ---- */

static int too_long(const char *what, const char *s, size_t max)
{
	return p4r_error_set(P4R_EUSAGE, "the %s is too long (%zu bytes; an event that travels to "
			     "a remote holds at most %zu)", what, strlen(s), max);
}

int p4r_event_check(const p4r_event *ev)
{
	const char *actor = ev->actor ? ev->actor : "", *reason = ev->reason ? ev->reason : "";
	const char *why;

	if (!memchr(ev->kind, '\0', sizeof(ev->kind)) || !kind_valid(ev->kind))
		return p4r_error_set(P4R_EUSAGE, "invalid event kind (1..%d of a-z, '-', '_')",
				     P4R_EVENT_KIND_MAX);
	if (!in_range(ev->version, 0, P4R_EVENT_VERSION_MAX) || !in_range(ev->at_ms, 0, P4R_EVENT_TIME_MAX))
		return p4r_error_set(P4R_EUSAGE, "event for model '%s' has an out-of-range number", ev->model);
	if (!text_ok(actor, P4R_EVENT_TEXT_MAX))
		return too_long("actor", actor, P4R_EVENT_TEXT_MAX);
	if (!text_ok(reason, P4R_EVENT_TEXT_MAX))
		return too_long("reason", reason, P4R_EVENT_TEXT_MAX);
	if (ev->detail && !text_ok(ev->detail, P4R_EVENT_DETAIL_MAX))
		return too_long("event detail", ev->detail, P4R_EVENT_DETAIL_MAX);
	if (!detail_ok(ev->detail))
		return p4r_error_set(P4R_EUSAGE, "event detail for model '%s' is not a JSON object", ev->model);
	if (!strcmp(ev->kind, P4R_EVENT_MOVE) &&
	    (why = move_event_problem(ev->version, ev->from_stage, ev->to_stage, ev->forced, ev->detail)))
		return p4r_error_set(P4R_EUSAGE, "move event for model '%s': %s", ev->model, why);
	if (p4r_event_kind_labels(ev->kind) &&
	    (why = label_event_problem(ev->kind, ev->version, ev->from_stage, ev->to_stage, ev->forced,
				       ev->detail)))
		return p4r_error_set(P4R_EUSAGE, "%s event for model '%s': %s", ev->kind, ev->model, why);
	return 0;
}

int p4r_version_input_check(const p4r_version_input *in)
{
	const char *why;

	if (!p4r_relpath_valid(in->path))
		return p4r_error_set(P4R_EUSAGE, "invalid model path '%s': it must be relative, inside the "
				     "work tree and outside .git and .p4reg, with no control character and "
				     "components of at most %d bytes", in->path ? in->path : "",
				     P4R_RELPATH_LAST_MAX);
	if (!in_range(in->size, 0, P4R_EVENT_SIZE_MAX) || !in_range(in->now_ms, 0, P4R_EVENT_TIME_MAX))
		return p4r_error_set(P4R_EUSAGE, "version of model '%s' has an out-of-range size or time",
				     in->model);
	if ((why = kind_problem(in->kind, in->files, in->tree_size, in->size)))
		return p4r_error_set(P4R_EUSAGE, "version of model '%s': %s", in->model, why);
	if (in->author && !text_ok(in->author, P4R_EVENT_TEXT_MAX))
		return too_long("author", in->author, P4R_EVENT_TEXT_MAX);
	if (in->message && !text_ok(in->message, P4R_EVENT_TEXT_MAX))
		return too_long("message", in->message, P4R_EVENT_TEXT_MAX);
	if (!git_commit_ok(in->git_commit))
		return p4r_error_set(P4R_EUSAGE, "invalid git commit id for model '%s'", in->model);
	if (!git_branch_ok(in->git_branch))
		return p4r_error_set(P4R_EUSAGE, "the git branch name is too long or has control characters "
				     "(at most %d bytes)", P4R_EVENT_GIT_BRANCH_MAX);
	return 0;
}

/* ---- one event, whichever side it comes from ---- */

static const char *register_problem(const p4r_sync_event *e)
{
	if (!e->has_version || e->version < 1)
		return "register without a version number";
	if (e->from_stage[0] || strcmp(e->to_stage, "development"))
		return "a register must go from no stage to development";
	if (!p4r_oid_valid(e->oid.hex))
		return "malformed oid";
	if (!in_range(e->size, 0, P4R_EVENT_SIZE_MAX))
		return "invalid size";
	/* The one size a batch can prove wrong without the object's bytes. */
	if ((e->size == 0) != !strcmp(e->oid.hex, EMPTY_OID))
		return "size disagrees with the oid";
	if (!in_range(e->created_ms, 0, P4R_EVENT_TIME_MAX))
		return "invalid creation time";
	if (!text_ok(e->author, P4R_EVENT_TEXT_MAX))
		return "invalid or too long author";
	if (!text_ok(e->message, P4R_EVENT_TEXT_MAX))
		return "invalid or too long message";
	if (!p4r_relpath_valid(e->path))
		return "invalid path";
	if (!git_commit_ok(e->git_commit))
		return "invalid git commit";
	if (!git_branch_ok(e->git_branch))
		return "invalid git branch";
	if (!in_range(e->git_dirty, -1, 1))
		return "invalid git_dirty";
	return kind_problem(e->version_kind, e->files, e->tree_size, e->size);
}

const char *p4r_batch_event_problem(const p4r_sync_event *e)
{
	if (!memchr(e->uuid, '\0', sizeof(e->uuid)) || !uuid_valid(e->uuid))
		return "malformed id";
	if (!memchr(e->model, '\0', sizeof(e->model)) || !p4r_model_name_valid(e->model))
		return "invalid model name";
	if (!in_range(e->version, 0, P4R_EVENT_VERSION_MAX))
		return "invalid version number";
	if (!memchr(e->kind, '\0', sizeof(e->kind)) || !kind_valid(e->kind))
		return "invalid kind";
	if (!memchr(e->from_stage, '\0', sizeof(e->from_stage)) ||
	    !memchr(e->to_stage, '\0', sizeof(e->to_stage)) ||
	    !stage_ok(e->from_stage) || !stage_ok(e->to_stage))
		return "invalid stage";
	if (!in_range(e->at_ms, 0, P4R_EVENT_TIME_MAX))
		return "invalid time";
	if (!text_ok(e->actor, P4R_EVENT_TEXT_MAX))
		return "invalid or too long actor";
	if (!text_ok(e->reason, P4R_EVENT_TEXT_MAX))
		return "invalid or too long reason";
	if (!detail_ok(e->detail))
		return "detail is not a JSON object of at most 1 MiB";
	if (!strcmp(e->kind, "register"))
		return register_problem(e);
	if (e->has_version)
		return "only a register carries a version record";
	if (!strcmp(e->kind, P4R_EVENT_MOVE))
		return move_event_problem(e->version, e->from_stage, e->to_stage, e->forced, e->detail);
	if (p4r_event_kind_labels(e->kind))
		return label_event_problem(e->kind, e->version, e->from_stage, e->to_stage, e->forced,
					   e->detail);
	return NULL;
}

/* ---- encoding ---- */

/* What a hook event publishes: that the hook ran and how it ended. The
 * command, its environment and output stay on the machine that ran it. */
static cJSON *hook_detail(const char *detail)
{
	cJSON *in = cJSON_Parse(detail), *out = cJSON_CreateObject();
	const cJSON *hook = cJSON_GetObjectItemCaseSensitive(in, "hook");
	const cJSON *status = cJSON_GetObjectItemCaseSensitive(in, "status");

	if (out && cJSON_IsString(hook))
		cJSON_AddStringToObject(out, "hook", hook->valuestring);
	if (out && cJSON_IsNumber(status))
		cJSON_AddNumberToObject(out, "status", status->valuedouble);
	cJSON_Delete(in);
	return out;
}

static bool add_detail(cJSON *o, const p4r_sync_event *e)
{
	cJSON *d;
	char *text;
	bool ok;

	if (!e->detail)
		return cJSON_AddNullToObject(o, "detail") != NULL;
	if (strcmp(e->kind, "hook"))
		return cJSON_AddStringToObject(o, "detail", e->detail) != NULL;
	if (!(d = hook_detail(e->detail)))
		return false;
	text = cJSON_PrintUnformatted(d);
	cJSON_Delete(d);
	ok = text && cJSON_AddStringToObject(o, "detail", text) != NULL;
	cJSON_free(text);
	return ok;
}

static bool add_version_record(cJSON *o, const p4r_sync_event *e)
{
	if (!cJSON_AddStringToObject(o, "oid", e->oid.hex) ||
	    !cJSON_AddNumberToObject(o, "size", (double)e->size) ||
	    !cJSON_AddStringToObject(o, "author", e->author) ||
	    !cJSON_AddNumberToObject(o, "created", (double)e->created_ms) ||
	    !cJSON_AddStringToObject(o, "message", e->message) ||
	    !cJSON_AddStringToObject(o, "path", e->path))
		return false;
	if (e->git_commit && !cJSON_AddStringToObject(o, "git_commit", e->git_commit))
		return false;
	if (e->git_branch && !cJSON_AddStringToObject(o, "git_branch", e->git_branch))
		return false;
	if (!cJSON_AddNumberToObject(o, "git_dirty", e->git_dirty))
		return false;
	if (e->version_kind != P4R_KIND_DIR)
		return true;
	return cJSON_AddStringToObject(o, "version_kind", "dir") &&
	       cJSON_AddNumberToObject(o, "files", (double)e->files) &&
	       cJSON_AddNumberToObject(o, "tree_size", (double)e->tree_size);
}

static cJSON *event_json(const p4r_sync_event *e)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddStringToObject(o, "id", e->uuid) ||
	    !cJSON_AddStringToObject(o, "model", e->model) ||
	    !cJSON_AddNumberToObject(o, "version", (double)e->version) ||
	    !cJSON_AddStringToObject(o, "kind", e->kind) ||
	    !cJSON_AddStringToObject(o, "from", e->from_stage) ||
	    !cJSON_AddStringToObject(o, "to", e->to_stage) ||
	    !cJSON_AddBoolToObject(o, "forced", e->forced) ||
	    !cJSON_AddStringToObject(o, "actor", e->actor) ||
	    !cJSON_AddNumberToObject(o, "time", (double)e->at_ms) ||
	    !cJSON_AddStringToObject(o, "reason", e->reason) ||
	    !add_detail(o, e) ||
	    (e->has_version && !add_version_record(o, e))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* Refuses to publish any event a decoder would reject: it would stop every
 * other clone's fetch at this batch. */
static int check_all(const p4r_sync_event *ev, size_t n, const char *pushed_by)
{
	const char *why;
	size_t i;

	if (!text_ok(pushed_by, P4R_EVENT_TEXT_MAX))
		return p4r_error_set(P4R_ERROR, "cannot push: the actor name is longer than %d bytes",
				     P4R_EVENT_TEXT_MAX);
	for (i = 0; i < n; i++)
		if ((why = p4r_batch_event_problem(&ev[i])))
			return p4r_error_set(P4R_ERROR, "cannot publish the %.31s event %.36s of '%.128s' "
					     "(version %lld): %s; no remote would accept it (it was recorded "
					     "by an older p4reg or the registry was edited)", ev[i].kind,
					     ev[i].uuid, ev[i].model, (long long)ev[i].version, why);
	return 0;
}

/* The document without events and its printed length. */
static cJSON *batch_head(int64_t seq, const char *pushed_by, int64_t time_ms, size_t *len)
{
	cJSON *doc = cJSON_CreateObject();
	char *text;

	if (!doc || !cJSON_AddNumberToObject(doc, "format", P4R_BATCH_FORMAT) ||
	    !cJSON_AddNumberToObject(doc, "seq", (double)seq) ||
	    !cJSON_AddNumberToObject(doc, "parent", (double)(seq - 1)) ||
	    !cJSON_AddStringToObject(doc, "pushed_by", pushed_by) ||
	    !cJSON_AddNumberToObject(doc, "time", (double)time_ms) ||
	    !cJSON_AddArrayToObject(doc, "events") || !(text = cJSON_PrintUnformatted(doc))) {
		cJSON_Delete(doc);
		return NULL;
	}
	*len = strlen(text);
	cJSON_free(text);
	return doc;
}

/* Appends events to DOC's array while the batch stays within its bounds. */
static int fill(cJSON *doc, size_t head_len, const p4r_sync_event *ev, size_t n, size_t *used)
{
	cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, "events");
	size_t total = head_len, i;

	for (i = 0; i < n && i < P4R_BATCH_MAX_EVENTS; i++) {
		cJSON *o = event_json(&ev[i]);
		char *text = o ? cJSON_PrintUnformatted(o) : NULL;
		size_t add;

		if (!text) {
			cJSON_Delete(o);
			return p4r_error_set(P4R_ERROR, "out of memory");
		}
		add = strlen(text) + (i ? 1 : 0);
		cJSON_free(text);
		if (total + add > P4R_BATCH_MAX_BYTES) {
			cJSON_Delete(o);
			break;
		}
		total += add;
		cJSON_AddItemToArray(arr, o);
	}
	if (i == 0)
		return p4r_error_set(P4R_ERROR, "event %.36s does not fit in a batch", ev[0].uuid);
	*used = i;
	return 0;
}

/* The format an event needs: 1, a move 2, a folder version 3, an alias,
 * tag, describe or delete 4. */
static int event_format(const p4r_sync_event *e)
{
	if (p4r_event_kind_labels(e->kind))
		return P4R_BATCH_FORMAT_LABELS;
	if (e->has_version && e->version_kind == P4R_KIND_DIR)
		return P4R_BATCH_FORMAT_DIR;
	return strcmp(e->kind, P4R_EVENT_MOVE) ? P4R_BATCH_FORMAT : P4R_BATCH_FORMAT_MOVE;
}

/* The highest format its events need: a p4reg that cannot apply one must
 * refuse the batch ("unknown format"), not record it and keep the model
 * where it was, take a manifest for the model's file, or ignore aliases,
 * tags and deletions. Each format reads every older one's events. */
static int batch_format(const p4r_sync_event *ev, size_t n)
{
	int format = P4R_BATCH_FORMAT, f;
	size_t i;

	for (i = 0; i < n; i++)
		if ((f = event_format(&ev[i])) > format)
			format = f;
	return format;
}

int p4r_batch_encode(char **out, size_t *len, size_t *used, int64_t seq,
		     const p4r_sync_event *ev, size_t n, const char *pushed_by, int64_t time_ms)
{
	cJSON *doc = NULL;
	size_t head_len = 0;
	int rc;

	*out = NULL;
	*len = 0;
	*used = 0;
	if (!pushed_by)
		pushed_by = "";
	if (n == 0 || seq < 1 || !in_range(time_ms, 0, P4R_EVENT_TIME_MAX))
		return p4r_error_set(P4R_ERROR, "nothing to encode in batch %lld", (long long)seq);
	if ((rc = check_all(ev, n, pushed_by)) < 0)
		return rc;
	if (!(doc = batch_head(seq, pushed_by, time_ms, &head_len))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	if ((rc = fill(doc, head_len, ev, n, used)) < 0)
		goto done;
	/* same length as the head measured: one digit */
	(void)cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(doc, "format"), batch_format(ev, *used));
	if (!(*out = cJSON_PrintUnformatted(doc))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	*len = strlen(*out);
done:
	cJSON_Delete(doc);
	if (rc < 0)
		*used = 0;
	return rc;
}

/* ---- strict decoding (hostile input) ---- */

struct decoder {
	const char *key;   /* the batch's key, for messages */
	size_t index;      /* the event being read */
	int64_t format;    /* the batch's: what its events may hold */
};

static int bad(const struct decoder *d, const char *what)
{
	return p4r_error_set(P4R_EINTEGRITY, "invalid event batch '%s': event %zu: %s",
			     d->key, d->index, what);
}

static int bad_batch(const char *key, const char *what)
{
	return p4r_error_set(P4R_EINTEGRITY, "invalid event batch '%s': %s", key, what);
}

/* Every member of O is one of KNOWN (at most 32 names), none twice: a
 * repeated key would mean one thing here and another to another parser. */
static bool keys_ok(const cJSON *o, const char *const *known)
{
	uint32_t seen = 0;
	const cJSON *j;
	size_t i;

	for (j = o->child; j; j = j->next) {
		for (i = 0; known[i]; i++)
			if (j->string && !strcmp(j->string, known[i]))
				break;
		if (!known[i] || (seen & (UINT32_C(1) << i)))
			return false;
		seen |= UINT32_C(1) << i;
	}
	return true;
}

static bool int_value(const cJSON *j, int64_t min, int64_t max, int64_t *out)
{
	double v;

	if (!cJSON_IsNumber(j))
		return false;
	v = j->valuedouble;
	if (!(v >= (double)min && v <= (double)max) || floor(v) != v)
		return false;
	*out = (int64_t)v;
	return true;
}

/* The string member NAME of O, or NULL when absent or not a string. */
static const char *str_member(const cJSON *o, const char *name)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(j) && j->valuestring ? j->valuestring : NULL;
}

/* Copies S into a fixed field of SIZE bytes; false when it does not fit
 * (a cut name would silently mean another one). */
static bool copy_fixed(char *dst, size_t size, const char *s)
{
	size_t n;

	if (!s || (n = strnlen(s, size)) >= size)
		return false;
	memcpy(dst, s, n + 1);
	return true;
}

/* Duplicates the string member NAME (absent allowed when OPTIONAL). */
static int dup_member(char **out, const cJSON *o, const char *name, bool optional, bool *ok)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, name);

	*out = NULL;
	*ok = true;
	if (!j && optional)
		return 0;
	if (!cJSON_IsString(j) || !j->valuestring) {
		*ok = false;
		return 0;
	}
	if (!(*out = strdup(j->valuestring)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	return 0;
}

static const char *const event_keys[] = {
	"id", "model", "version", "kind", "from", "to", "forced", "actor", "time", "reason",
	"detail", "oid", "size", "author", "created", "message", "path", "git_commit",
	"git_branch", "git_dirty", "version_kind", "files", "tree_size", NULL
};
#define FIRST_RECORD_KEY 11 /* "oid": the members only a register has start here */

/* True when O has any member of a version record. */
static bool has_record_member(const cJSON *o)
{
	size_t i;

	for (i = FIRST_RECORD_KEY; event_keys[i]; i++)
		if (cJSON_GetObjectItemCaseSensitive(o, event_keys[i]))
			return true;
	return false;
}

/* A folder version's members (batch format 3): all three or none. */
static int decode_dir(const struct decoder *d, const cJSON *o, p4r_sync_event *e)
{
	const char *kind = str_member(o, "version_kind");
	const cJSON *files = cJSON_GetObjectItemCaseSensitive(o, "files");
	const cJSON *tree = cJSON_GetObjectItemCaseSensitive(o, "tree_size");

	if (!cJSON_GetObjectItemCaseSensitive(o, "version_kind") && !files && !tree)
		return 0;
	if (d->format < P4R_BATCH_FORMAT_DIR)
		return bad(d, "a folder version needs batch format 3");
	if (!kind || strcmp(kind, "dir"))
		return bad(d, "invalid version_kind");
	if (!int_value(files, 1, P4R_MANIFEST_MAX_FILES, &e->files))
		return bad(d, "invalid file count");
	if (!int_value(tree, 0, P4R_EVENT_TREE_SIZE_MAX, &e->tree_size))
		return bad(d, "invalid tree size");
	e->version_kind = P4R_KIND_DIR;
	return 0;
}

/* The version record of a register event. */
static int decode_record(const struct decoder *d, const cJSON *o, p4r_sync_event *e)
{
	int64_t v;
	bool ok;
	int rc;

	e->has_version = true;
	if (!copy_fixed(e->oid.hex, sizeof(e->oid.hex), str_member(o, "oid")))
		return bad(d, "malformed oid");
	if (!int_value(cJSON_GetObjectItemCaseSensitive(o, "size"), 0, P4R_EVENT_SIZE_MAX, &e->size))
		return bad(d, "invalid size");
	if (!int_value(cJSON_GetObjectItemCaseSensitive(o, "created"), 0, P4R_EVENT_TIME_MAX, &e->created_ms))
		return bad(d, "invalid creation time");
	if (!int_value(cJSON_GetObjectItemCaseSensitive(o, "git_dirty"), -1, 1, &v))
		return bad(d, "invalid git_dirty");
	e->git_dirty = (int)v;
	if ((rc = dup_member(&e->author, o, "author", false, &ok)) < 0 || !ok)
		return rc < 0 ? rc : bad(d, "invalid author");
	if ((rc = dup_member(&e->message, o, "message", false, &ok)) < 0 || !ok)
		return rc < 0 ? rc : bad(d, "invalid message");
	if ((rc = dup_member(&e->path, o, "path", false, &ok)) < 0 || !ok)
		return rc < 0 ? rc : bad(d, "invalid path");
	if ((rc = dup_member(&e->git_commit, o, "git_commit", true, &ok)) < 0 || !ok)
		return rc < 0 ? rc : bad(d, "invalid git commit");
	if ((rc = dup_member(&e->git_branch, o, "git_branch", true, &ok)) < 0 || !ok)
		return rc < 0 ? rc : bad(d, "invalid git branch");
	return decode_dir(d, o, e);
}

/* Reads the members of O by type into E; the bounds come after, from
 * p4r_batch_event_problem, the same check the encoder applies. */
static int decode_event(const struct decoder *d, const cJSON *o, p4r_sync_event *e)
{
	const cJSON *j;
	const char *why;
	bool ok;
	int rc;

	if (!cJSON_IsObject(o))
		return bad(d, "not an object");
	if (!keys_ok(o, event_keys))
		return bad(d, "unknown or repeated field");
	if (!copy_fixed(e->uuid, sizeof(e->uuid), str_member(o, "id")))
		return bad(d, "malformed id");
	if (!copy_fixed(e->model, sizeof(e->model), str_member(o, "model")))
		return bad(d, "invalid model name");
	if (!int_value(cJSON_GetObjectItemCaseSensitive(o, "version"), 0, P4R_EVENT_VERSION_MAX, &e->version))
		return bad(d, "invalid version number");
	if (!copy_fixed(e->kind, sizeof(e->kind), str_member(o, "kind")) || !kind_valid(e->kind))
		return bad(d, "invalid kind");
	if (!copy_fixed(e->from_stage, sizeof(e->from_stage), str_member(o, "from")) ||
	    !copy_fixed(e->to_stage, sizeof(e->to_stage), str_member(o, "to")))
		return bad(d, "invalid stage");
	j = cJSON_GetObjectItemCaseSensitive(o, "forced");
	if (!cJSON_IsBool(j))
		return bad(d, "invalid forced flag");
	e->forced = cJSON_IsTrue(j);
	if (!int_value(cJSON_GetObjectItemCaseSensitive(o, "time"), 0, P4R_EVENT_TIME_MAX, &e->at_ms))
		return bad(d, "invalid time");
	if ((rc = dup_member(&e->actor, o, "actor", false, &ok)) < 0 || !ok)
		return rc < 0 ? rc : bad(d, "invalid actor");
	if ((rc = dup_member(&e->reason, o, "reason", false, &ok)) < 0 || !ok)
		return rc < 0 ? rc : bad(d, "invalid reason");
	j = cJSON_GetObjectItemCaseSensitive(o, "detail");
	if (j && !cJSON_IsNull(j) && ((rc = dup_member(&e->detail, o, "detail", false, &ok)) < 0 || !ok))
		return rc < 0 ? rc : bad(d, "invalid detail");
	if (!strcmp(e->kind, "register")) {
		if ((rc = decode_record(d, o, e)) < 0)
			return rc;
	} else if (has_record_member(o)) {
		return bad(d, "only a register carries a version record");
	}
	if ((why = p4r_batch_event_problem(e)))
		return bad(d, why);
	return 0;
}

static int cmp_uuid(const void *a, const void *b)
{
	return strcmp((*(const p4r_sync_event *const *)a)->uuid, (*(const p4r_sync_event *const *)b)->uuid);
}

/* One event, one id: a repeated id inside a batch is forged. */
static int check_unique(const char *key, const p4r_sync_event *arr, size_t n)
{
	const p4r_sync_event **v = malloc(n * sizeof(*v));
	size_t i;
	int rc = 0;

	if (!v)
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < n; i++)
		v[i] = &arr[i];
	qsort(v, n, sizeof(*v), cmp_uuid);
	for (i = 1; i < n && rc == 0; i++)
		if (!strcmp(v[i - 1]->uuid, v[i]->uuid))
			rc = p4r_error_set(P4R_EINTEGRITY, "invalid event batch '%s': event id %s appears "
					   "twice", key, v[i]->uuid);
	free(v);
	return rc;
}

static const char *const batch_keys[] = {
	"format", "seq", "parent", "pushed_by", "time", "events", NULL
};

/* The batch's own members; *EVENTS gets its (non-empty, bounded) list. */
static int decode_head(const char *key, const cJSON *doc, int64_t seq, const cJSON **events,
		       size_t *total, int64_t *format)
{
	const cJSON *j;
	int64_t v;
	int count;

	if (!cJSON_IsObject(doc))
		return bad_batch(key, "not a JSON object");
	if (!keys_ok(doc, batch_keys))
		return bad_batch(key, "unknown or repeated field");
	if (!int_value(cJSON_GetObjectItemCaseSensitive(doc, "format"), 0, 1000, format) ||
	    *format < P4R_BATCH_FORMAT || *format > P4R_BATCH_FORMAT_LABELS)
		return p4r_error_set(P4R_EINTEGRITY, "event batch '%s' has an unknown format (upgrade p4reg?)", key);
	if (!int_value(cJSON_GetObjectItemCaseSensitive(doc, "seq"), 1, P4R_EVENT_TIME_MAX, &v) || v != seq ||
	    !int_value(cJSON_GetObjectItemCaseSensitive(doc, "parent"), 0, P4R_EVENT_TIME_MAX, &v) || v != seq - 1)
		return bad_batch(key, "wrong sequence number");
	j = cJSON_GetObjectItemCaseSensitive(doc, "pushed_by");
	if (j && (!cJSON_IsString(j) || !text_ok(j->valuestring, P4R_EVENT_TEXT_MAX)))
		return bad_batch(key, "invalid pushed_by");
	j = cJSON_GetObjectItemCaseSensitive(doc, "time");
	if (j && !int_value(j, 0, P4R_EVENT_TIME_MAX, &v))
		return bad_batch(key, "invalid time");
	*events = cJSON_GetObjectItemCaseSensitive(doc, "events");
	if (!cJSON_IsArray(*events) || (count = cJSON_GetArraySize(*events)) <= 0 ||
	    count > P4R_BATCH_MAX_EVENTS)
		return bad_batch(key, "bad events list");
	*total = (size_t)count;
	return 0;
}

/* An older format promises its readers that nothing moves, and no alias,
 * tag or deletion they would not apply. */
static int format_allows(const struct decoder *d, const p4r_sync_event *e)
{
	if (d->format < P4R_BATCH_FORMAT_MOVE && !strcmp(e->kind, P4R_EVENT_MOVE))
		return bad(d, "a move needs batch format 2");
	if (d->format < P4R_BATCH_FORMAT_LABELS && p4r_event_kind_labels(e->kind))
		return bad(d, "an alias, tag, describe or delete event needs batch format 4");
	return 0;
}

int p4r_batch_decode(p4r_sync_event **out, size_t *n, const char *key, const char *text,
		     size_t len, int64_t seq)
{
	struct decoder d = { .key = key };
	const cJSON *events = NULL, *j;
	cJSON *doc = NULL;
	p4r_sync_event *arr = NULL;
	size_t count = 0, total = 0;
	int64_t format = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (len > P4R_BATCH_MAX_BYTES)
		return bad_batch(key, "too large");
	if (!(doc = cJSON_ParseWithLength(text, len))) {
		rc = bad_batch(key, "not a JSON object");
		goto done;
	}
	if ((rc = decode_head(key, doc, seq, &events, &total, &format)) < 0)
		goto done;
	d.format = format;
	if (!(arr = calloc(total, sizeof(*arr)))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	for (j = events->child; j && count < total; j = j->next) {
		d.index = count;
		rc = decode_event(&d, j, &arr[count]);
		count++;
		if (rc < 0)
			goto done;
		if ((rc = format_allows(&d, &arr[count - 1])) < 0)
			goto done;
	}
	rc = check_unique(key, arr, count);
done:
	cJSON_Delete(doc);
	if (rc < 0) {
		p4r_sync_event_array_free(arr, count);
		return rc;
	}
	*out = arr;
	*n = count;
	return 0;
}
