/* Unit tests for the remote batch codec (batch.c), the bounds creators
 * share with it, and p4r_relpath_valid (relpath.c). */
#include "testutil.h"
#include "p4reg/batch.h"
#include "p4reg/error.h"
#include "p4reg/relpath.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#define OID "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
#define EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define UUID1 "0a0b0c0d-0000-4000-8000-000000000001"
#define UUID2 "0a0b0c0d-0000-4000-8000-000000000002"
#define UUID3 "0a0b0c0d-0000-4000-8000-000000000003"

#define REGISTER \
	"{\"id\":\"" UUID1 "\",\"model\":\"emb\",\"version\":1,\"kind\":\"register\",\"from\":\"\"," \
	"\"to\":\"development\",\"forced\":false,\"actor\":\"ann\",\"time\":1000,\"reason\":\"\"," \
	"\"detail\":null,\"oid\":\"" OID "\",\"size\":3,\"author\":\"ann\",\"created\":999," \
	"\"message\":\"first\",\"path\":\"models/emb.onnx\",\"git_commit\":\"abc123\"," \
	"\"git_branch\":\"main\",\"git_dirty\":0}"
#define PROMOTE \
	"{\"id\":\"" UUID2 "\",\"model\":\"emb\",\"version\":1,\"kind\":\"promote\"," \
	"\"from\":\"development\",\"to\":\"validation\",\"forced\":true,\"actor\":\"bob\"," \
	"\"time\":2000,\"reason\":\"looks good\",\"detail\":\"{\\\"gates\\\":[]}\"}"

static char *batch_text(int64_t seq, const char *events)
{
	size_t size = strlen(events) + 128;
	char *s = malloc(size);

	assert_non_null(s);
	snprintf(s, size, "{\"format\":1,\"seq\":%lld,\"parent\":%lld,\"events\":[%s]}",
		 (long long)seq, (long long)(seq - 1), events);
	return s;
}

#define MOVE_DETAIL "{\\\"from_path\\\":\\\"models/emb.onnx\\\",\\\"to_path\\\":\\\"new/emb.onnx\\\"}"
#define MOVE \
	"{\"id\":\"" UUID3 "\",\"model\":\"emb\",\"version\":0,\"kind\":\"move\",\"from\":\"\"," \
	"\"to\":\"\",\"forced\":false,\"actor\":\"cy\",\"time\":3000," \
	"\"reason\":\"models/emb.onnx -> new/emb.onnx\",\"detail\":\"" MOVE_DETAIL "\"}"

/* Batch 1 of FORMAT holding EVENTS. */
static char *batch_format_text(int format, const char *events)
{
	size_t size = strlen(events) + 128;
	char *s = malloc(size);

	assert_non_null(s);
	snprintf(s, size, "{\"format\":%d,\"seq\":1,\"parent\":0,\"events\":[%s]}", format, events);
	return s;
}

static int decode(const char *text, p4r_sync_event **ev, size_t *n)
{
	return p4r_batch_decode(ev, n, "log/0000000001.json", text, strlen(text), 1);
}

static void expect_bad_text(const char *text, const char *msg)
{
	p4r_sync_event *ev = NULL;
	size_t n = 7;

	assert_int_equal(decode(text, &ev, &n), P4R_EINTEGRITY);
	assert_null(ev);
	assert_int_equal(n, 0);
	if (!strstr(p4r_error_message(), msg))
		fail_msg("'%s' does not contain '%s' (input %.200s)", p4r_error_message(), msg, text);
}

/* The good register event with member KEY replaced by the JSON VALUE
 * (NULL: removed), decoded as a batch. */
static void expect_bad_field(const char *base, const char *key, const char *value, const char *msg)
{
	cJSON *o = cJSON_Parse(base);
	char *ev, *text;

	assert_non_null(o);
	cJSON_DeleteItemFromObjectCaseSensitive(o, key);
	if (value) {
		cJSON *v = cJSON_Parse(value);

		assert_non_null(v);
		cJSON_AddItemToObject(o, key, v);
	}
	ev = cJSON_PrintUnformatted(o);
	text = batch_text(1, ev);
	expect_bad_text(text, msg);
	free(text);
	cJSON_free(ev);
	cJSON_Delete(o);
}

static void test_decode_good(void **state)
{
	char *text = batch_text(1, REGISTER "," PROMOTE);
	p4r_sync_event *ev = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(decode(text, &ev, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ev[0].uuid, UUID1);
	assert_string_equal(ev[0].model, "emb");
	assert_int_equal(ev[0].version, 1);
	assert_true(ev[0].has_version);
	assert_string_equal(ev[0].oid.hex, OID);
	assert_int_equal(ev[0].size, 3);
	assert_string_equal(ev[0].path, "models/emb.onnx");
	assert_string_equal(ev[0].message, "first");
	assert_string_equal(ev[0].git_commit, "abc123");
	assert_string_equal(ev[0].git_branch, "main");
	assert_int_equal(ev[0].created_ms, 999);
	assert_null(ev[0].detail);
	assert_false(ev[1].has_version);
	assert_true(ev[1].forced);
	assert_string_equal(ev[1].from_stage, "development");
	assert_string_equal(ev[1].to_stage, "validation");
	assert_string_equal(ev[1].reason, "looks good");
	assert_string_equal(ev[1].detail, "{\"gates\":[]}");
	assert_int_equal(ev[1].at_ms, 2000);
	p4r_sync_event_array_free(ev, n);
	free(text);
}

/* The move event with member KEY replaced by the JSON VALUE, in a
 * format-2 batch: refused with MSG. */
static void expect_bad_move(const char *key, const char *value, const char *msg)
{
	cJSON *o = cJSON_Parse(MOVE), *v = cJSON_Parse(value);
	char *ev, *text;

	assert_non_null(o);
	assert_non_null(v);
	cJSON_DeleteItemFromObjectCaseSensitive(o, key);
	cJSON_AddItemToObject(o, key, v);
	ev = cJSON_PrintUnformatted(o);
	text = batch_format_text(2, ev);
	expect_bad_text(text, msg);
	free(text);
	cJSON_free(ev);
	cJSON_Delete(o);
}

static void test_move_events(void **state)
{
	char *text = batch_format_text(2, REGISTER "," MOVE), *out = NULL, *from = NULL, *to = NULL;
	p4r_sync_event *ev = NULL, *again = NULL;
	size_t n = 0, m = 0, len = 0, used = 0;
	p4r_event e = { .actor = "cy", .at_ms = 1 };

	(void)state;
	assert_int_equal(decode(text, &ev, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ev[1].kind, "move");
	assert_int_equal(ev[1].version, 0);
	assert_false(ev[1].has_version);
	assert_int_equal(p4r_move_detail_parse(ev[1].detail, &from, &to), 0);
	assert_string_equal(from, "models/emb.onnx");
	assert_string_equal(to, "new/emb.onnx");
	free(from);
	free(to);
	/* a batch with a move goes out as format 2, one without as format 1 */
	assert_int_equal(p4r_batch_encode(&out, &len, &used, 1, ev, n, "ci", 5), 0);
	assert_int_equal(used, 2);
	assert_non_null(strstr(out, "{\"format\":2,"));
	assert_int_equal(p4r_batch_decode(&again, &m, "k", out, len, 1), 0);
	assert_int_equal(m, 2);
	assert_string_equal(again[1].detail, ev[1].detail);
	p4r_sync_event_array_free(again, m);
	cJSON_free(out);
	assert_int_equal(p4r_batch_encode(&out, &len, &used, 1, ev, 1, "ci", 5), 0);
	assert_non_null(strstr(out, "{\"format\":1,"));
	cJSON_free(out);
	p4r_sync_event_array_free(ev, n);
	free(text);

	/* format 1 promises its readers that nothing moves */
	text = batch_format_text(1, REGISTER "," MOVE);
	expect_bad_text(text, "event 1: a move needs batch format 2");
	free(text);
	/* format 2 is also fine without a move */
	text = batch_format_text(2, REGISTER);
	assert_int_equal(decode(text, &ev, &n), 0);
	p4r_sync_event_array_free(ev, n);
	free(text);

	expect_bad_move("version", "1", "a move is about the model, not a version");
	expect_bad_move("to", "\"production\"", "a move changes no stage");
	expect_bad_move("forced", "true", "a move changes no stage");
	expect_bad_move("detail", "null", "a move's detail must be");
	expect_bad_move("detail", "\"{}\"", "a move's detail must be");
	expect_bad_move("detail", "\"{\\\"from_path\\\":\\\"a\\\",\\\"to_path\\\":\\\"b\\\",\\\"x\\\":1}\"",
			"a move's detail must be");
	expect_bad_move("detail", "\"{\\\"from_path\\\":\\\"a\\\",\\\"to_path\\\":\\\"../b\\\"}\"",
			"invalid path in a move");
	expect_bad_move("detail", "\"{\\\"from_path\\\":\\\"a\\\",\\\"to_path\\\":\\\".git/b\\\"}\"",
			"invalid path in a move");
	expect_bad_move("detail", "\"{\\\"from_path\\\":\\\"a\\\",\\\"to_path\\\":1}\"",
			"a move's detail must be");
	expect_bad_move("detail", "\"{\\\"from_path\\\":\\\"a\\\",\\\"to_path\\\":\\\"a\\\"}\"",
			"a move to the same path");

	/* the creators' side refuses the same */
	snprintf(e.model, sizeof(e.model), "emb");
	snprintf(e.kind, sizeof(e.kind), "move");
	e.detail = "{\"from_path\":\"a\",\"to_path\":\"../b\"}";
	assert_int_equal(p4r_event_check(&e), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "move event for model 'emb': invalid path in a move"));
	e.detail = out = p4r_move_detail("a", "b/c");
	assert_string_equal(out, "{\"from_path\":\"a\",\"to_path\":\"b/c\"}");
	assert_int_equal(p4r_event_check(&e), 0);
	e.version = 2;
	assert_int_equal(p4r_event_check(&e), P4R_EUSAGE);
	free(out);
	assert_int_equal(p4r_move_detail_parse("{\"from_path\":\"a\"}", &from, &to), P4R_EINTEGRITY);
	assert_null(from);
	assert_null(to);
}

static void test_round_trip(void **state)
{
	char *text = batch_text(1, REGISTER "," PROMOTE), *out = NULL;
	p4r_sync_event *ev = NULL, *again = NULL;
	size_t n = 0, m = 0, len = 0, used = 0, i;

	(void)state;
	assert_int_equal(decode(text, &ev, &n), 0);
	assert_int_equal(p4r_batch_encode(&out, &len, &used, 7, ev, n, "ci", 5), 0);
	assert_int_equal(used, 2);
	assert_int_equal(len, strlen(out));
	assert_non_null(strstr(out, "\"seq\":7,\"parent\":6,\"pushed_by\":\"ci\",\"time\":5"));
	assert_int_equal(p4r_batch_decode(&again, &m, "k", out, len, 7), 0);
	assert_int_equal(m, n);
	for (i = 0; i < n; i++) {
		assert_string_equal(again[i].uuid, ev[i].uuid);
		assert_string_equal(again[i].kind, ev[i].kind);
		assert_int_equal(again[i].version, ev[i].version);
		assert_string_equal(again[i].actor, ev[i].actor);
		assert_string_equal(again[i].reason, ev[i].reason);
		assert_int_equal(again[i].has_version, ev[i].has_version);
	}
	assert_string_equal(again[0].path, ev[0].path);
	assert_string_equal(again[1].detail, ev[1].detail);
	p4r_sync_event_array_free(again, m);
	/* The same batch under another number is refused. */
	assert_int_equal(p4r_batch_decode(&again, &m, "k", out, len, 8), P4R_EINTEGRITY);
	assert_non_null(strstr(p4r_error_message(), "wrong sequence number"));
	p4r_sync_event_array_free(ev, n);
	cJSON_free(out);
	free(text);
}

static void test_malformed_fields(void **state)
{
	char id_upper[] = "\"0A0B0C0D-0000-4000-8000-000000000001\"";

	(void)state;
	expect_bad_field(REGISTER, "id", NULL, "malformed id");
	expect_bad_field(REGISTER, "id", id_upper, "malformed id");
	expect_bad_field(REGISTER, "id", "\"0a0b0c0d-0000-4000-8000-0000000000011\"", "malformed id");
	expect_bad_field(REGISTER, "id", "7", "malformed id");
	expect_bad_field(REGISTER, "model", "\"..\"", "invalid model name");
	expect_bad_field(REGISTER, "model", "\"a/b\"", "invalid model name");
	expect_bad_field(REGISTER, "model", "\"\"", "invalid model name");
	expect_bad_field(REGISTER, "version", "1.5", "invalid version number");
	expect_bad_field(REGISTER, "version", "-1", "invalid version number");
	expect_bad_field(REGISTER, "version", "2147483648", "invalid version number");
	expect_bad_field(REGISTER, "version", "\"1\"", "invalid version number");
	expect_bad_field(REGISTER, "version", "0", "register without a version number");
	expect_bad_field(REGISTER, "kind", "\"Register\"", "invalid kind");
	expect_bad_field(REGISTER, "kind", "\"\"", "invalid kind");
	expect_bad_field(REGISTER, "to", "\"production\"", "from no stage to development");
	expect_bad_field(REGISTER, "from", "\"staging\"", "from no stage to development");
	expect_bad_field(PROMOTE, "to", "\"prod\"", "invalid stage");
	expect_bad_field(PROMOTE, "from", "null", "invalid stage");
	expect_bad_field(REGISTER, "forced", "0", "invalid forced flag");
	expect_bad_field(REGISTER, "time", "-1", "invalid time");
	expect_bad_field(REGISTER, "time", "1e300", "invalid time");
	expect_bad_field(REGISTER, "actor", "null", "invalid actor");
	expect_bad_field(REGISTER, "reason", "[]", "invalid reason");
	expect_bad_field(PROMOTE, "detail", "\"{not json\"", "detail is not a JSON object");
	expect_bad_field(PROMOTE, "detail", "\"[1,2]\"", "detail is not a JSON object");
	expect_bad_field(PROMOTE, "detail", "{}", "invalid detail");
	expect_bad_field(REGISTER, "oid", "\"" OID "0\"", "malformed oid");
	expect_bad_field(REGISTER, "oid", "\"5F70BF18A086007016E948B04AED3B82103A36BEA41755B6CDDFAF10ACE3C6EF\"",
			 "malformed oid");
	expect_bad_field(REGISTER, "size", "1e300", "invalid size");
	expect_bad_field(REGISTER, "size", "1125899906842625", "invalid size");
	expect_bad_field(REGISTER, "size", "0", "size disagrees with the oid");
	expect_bad_field(REGISTER, "oid", "\"" EMPTY "\"", "size disagrees with the oid");
	expect_bad_field(REGISTER, "created", "-5", "invalid creation time");
	expect_bad_field(REGISTER, "author", NULL, "invalid author");
	expect_bad_field(REGISTER, "message", "3", "invalid message");
	expect_bad_field(REGISTER, "path", "\"../x\"", "invalid path");
	expect_bad_field(REGISTER, "path", "\"/etc/passwd\"", "invalid path");
	expect_bad_field(REGISTER, "path", "\".git/hooks/pre-commit\"", "invalid path");
	expect_bad_field(REGISTER, "path", "\"models/.P4REG/x\"", "invalid path");
	expect_bad_field(REGISTER, "path", "\"models/x\\nline\"", "invalid path");
	expect_bad_field(REGISTER, "path", "\"models/emb.onnx.p4reg\"", "invalid path");
	expect_bad_field(REGISTER, "git_commit", "\"xyz\"", "invalid git commit");
	expect_bad_field(REGISTER, "git_branch", "\"a\\u0001b\"", "invalid git branch");
	expect_bad_field(REGISTER, "git_dirty", "2", "invalid git_dirty");
	expect_bad_field(REGISTER, "bogus", "1", "unknown or repeated field");
	expect_bad_field(PROMOTE, "oid", "\"" OID "\"", "only a register carries a version record");
	expect_bad_field(PROMOTE, "path", "\"x\"", "only a register carries a version record");
}

static void test_malformed_batches(void **state)
{
	char *text;

	(void)state;
	expect_bad_text("", "not a JSON object");
	expect_bad_text("[]", "not a JSON object");
	expect_bad_text("{\"format\":1,\"seq\":1,\"parent\":0,\"events\":[" REGISTER "]", "not a JSON object");
	expect_bad_text("{\"format\":5,\"seq\":1,\"parent\":0,\"events\":[" REGISTER "]}", "unknown format");
	expect_bad_text("{\"format\":0,\"seq\":1,\"parent\":0,\"events\":[" REGISTER "]}", "unknown format");
	expect_bad_text("{\"format\":1,\"seq\":2,\"parent\":1,\"events\":[" REGISTER "]}", "wrong sequence number");
	expect_bad_text("{\"format\":1,\"seq\":1,\"parent\":5,\"events\":[" REGISTER "]}", "wrong sequence number");
	expect_bad_text("{\"format\":1,\"seq\":1,\"parent\":0,\"events\":[]}", "bad events list");
	expect_bad_text("{\"format\":1,\"seq\":1,\"parent\":0,\"events\":{}}", "bad events list");
	expect_bad_text("{\"format\":1,\"seq\":1,\"parent\":0,\"x\":1,\"events\":[" REGISTER "]}",
			"unknown or repeated field");
	expect_bad_text("{\"format\":1,\"seq\":1,\"seq\":1,\"parent\":0,\"events\":[" REGISTER "]}",
			"unknown or repeated field");
	expect_bad_text("{\"format\":1,\"seq\":1,\"parent\":0,\"pushed_by\":7,\"events\":[" REGISTER "]}",
			"invalid pushed_by");
	expect_bad_text("{\"format\":1,\"seq\":1,\"parent\":0,\"time\":-1,\"events\":[" REGISTER "]}",
			"invalid time");
	expect_bad_text("{\"format\":1,\"seq\":1,\"parent\":0,\"events\":[1]}", "event 0: not an object");
	/* A repeated member inside an event means two things to two parsers. */
	text = batch_text(1, "{\"id\":\"" UUID1 "\",\"id\":\"" UUID2 "\"}");
	expect_bad_text(text, "event 0: unknown or repeated field");
	free(text);
	text = batch_text(1, REGISTER "," PROMOTE "," REGISTER);
	expect_bad_text(text, "event id " UUID1 " appears twice");
	free(text);
	text = batch_text(1, PROMOTE ",{}");
	expect_bad_text(text, "event 1: malformed id");
	free(text);
}

/* A model-level event (no version record) with text fields of LEN bytes. */
static void small_event(p4r_sync_event *e, unsigned k, char *text)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->uuid, sizeof(e->uuid), "0a0b0c0d-0000-4000-8000-%012x", k);
	snprintf(e->model, sizeof(e->model), "m");
	snprintf(e->kind, sizeof(e->kind), "note");
	e->actor = text;
	e->reason = text;
}

static void test_limits_text(void **state)
{
	char *big = malloc(P4R_EVENT_TEXT_MAX + 2), *out = NULL, *ev_text, *text;
	p4r_sync_event e, *back = NULL;
	size_t len, used, n;
	cJSON *o;

	(void)state;
	memset(big, 'a', P4R_EVENT_TEXT_MAX);
	big[P4R_EVENT_TEXT_MAX] = '\0';
	small_event(&e, 1, big);
	assert_null(p4r_batch_event_problem(&e));
	assert_int_equal(p4r_batch_encode(&out, &len, &used, 1, &e, 1, "", 0), 0);
	assert_int_equal(p4r_batch_decode(&back, &n, "k", out, len, 1), 0);
	assert_int_equal(strlen(back[0].reason), P4R_EVENT_TEXT_MAX);
	p4r_sync_event_array_free(back, n);
	cJSON_free(out);
	/* One byte more: the encoder refuses to publish it, the decoder to read it. */
	big[P4R_EVENT_TEXT_MAX] = 'a';
	big[P4R_EVENT_TEXT_MAX + 1] = '\0';
	assert_string_equal(p4r_batch_event_problem(&e), "invalid or too long actor");
	assert_int_equal(p4r_batch_encode(&out, &len, &used, 1, &e, 1, "", 0), P4R_ERROR);
	assert_null(out);
	assert_non_null(strstr(p4r_error_message(), "cannot publish the note event"));
	o = cJSON_Parse(REGISTER);
	cJSON_ReplaceItemInObjectCaseSensitive(o, "message", cJSON_CreateString(big));
	ev_text = cJSON_PrintUnformatted(o);
	text = batch_text(1, ev_text);
	expect_bad_text(text, "event 0: invalid or too long message");
	free(text);
	cJSON_free(ev_text);
	cJSON_Delete(o);
	free(big);
}

/* A batch of N model-level events, written by hand. */
static char *many_events(size_t n)
{
	size_t size = n * 160 + 128, used, i;
	char *s = malloc(size);

	assert_non_null(s);
	used = (size_t)snprintf(s, size, "{\"format\":1,\"seq\":1,\"parent\":0,\"events\":[");
	for (i = 0; i < n; i++)
		used += (size_t)snprintf(s + used, size - used, "%s{\"id\":\"0a0b0c0d-0000-4000-8000-%012zx\","
					 "\"model\":\"m\",\"version\":0,\"kind\":\"note\",\"from\":\"\","
					 "\"to\":\"\",\"forced\":false,\"actor\":\"\",\"time\":0,"
					 "\"reason\":\"\"}", i ? "," : "", i);
	snprintf(s + used, size - used, "]}");
	return s;
}

static void test_limits_count(void **state)
{
	size_t n = P4R_BATCH_MAX_EVENTS + 1, len = 0, used = 0, got = 0, i;
	p4r_sync_event *ev = calloc(n, sizeof(*ev)), *back = NULL;
	char *out = NULL, *text;

	(void)state;
	assert_non_null(ev);
	for (i = 0; i < n; i++)
		small_event(&ev[i], (unsigned)i, "");
	assert_int_equal(p4r_batch_encode(&out, &len, &used, 1, ev, n, "", 0), 0);
	assert_int_equal(used, P4R_BATCH_MAX_EVENTS);
	assert_true(len <= P4R_BATCH_MAX_BYTES);
	assert_int_equal(p4r_batch_decode(&back, &got, "k", out, len, 1), 0);
	assert_int_equal(got, P4R_BATCH_MAX_EVENTS);
	p4r_sync_event_array_free(back, got);
	cJSON_free(out);
	free(ev);
	text = many_events(P4R_BATCH_MAX_EVENTS + 1);
	assert_true(strlen(text) <= P4R_BATCH_MAX_BYTES);
	expect_bad_text(text, "bad events list");
	free(text);
}

static void test_limits_bytes(void **state)
{
	size_t n = 300, len = 0, used = 0, got = 0, i;
	char *text = malloc(60000), *out = NULL;
	p4r_sync_event *ev = calloc(n, sizeof(*ev)), *back = NULL;

	(void)state;
	assert_non_null(text);
	assert_non_null(ev);
	memset(text, 'x', 59999);
	text[59999] = '\0';
	for (i = 0; i < n; i++)
		small_event(&ev[i], (unsigned)i, text);
	/* 300 events of 120 KB do not fit 16 MiB: the push takes two batches. */
	assert_int_equal(p4r_batch_encode(&out, &len, &used, 1, ev, n, "", 0), 0);
	assert_true(used > 100 && used < n);
	assert_true(len <= P4R_BATCH_MAX_BYTES);
	assert_int_equal(p4r_batch_decode(&back, &got, "k", out, len, 1), 0);
	assert_int_equal(got, used);
	p4r_sync_event_array_free(back, got);
	cJSON_free(out);
	assert_int_equal(p4r_batch_decode(&back, &got, "k", text, P4R_BATCH_MAX_BYTES + 1, 1), P4R_EINTEGRITY);
	assert_non_null(strstr(p4r_error_message(), "too large"));
	free(ev);
	free(text);
}

/* The largest event the bounds allow, escaped at worst, fits one batch:
 * an event recorded here can always be pushed. */
static void test_largest_event_fits(void **state)
{
	char *text = malloc(P4R_EVENT_TEXT_MAX + 1), *path = malloc(P4R_RELPATH_MAX + 1);
	char *detail = malloc(P4R_EVENT_DETAIL_MAX + 1), *branch = malloc(P4R_EVENT_GIT_BRANCH_MAX + 1);
	char *out = NULL;
	p4r_sync_event e;
	size_t len = 0, used = 0, i;

	(void)state;
	memset(text, 1, P4R_EVENT_TEXT_MAX);
	text[P4R_EVENT_TEXT_MAX] = '\0';
	for (i = 0; i + 2 <= P4R_RELPATH_MAX; i += 2)
		memcpy(path + i, "a/", 2);
	path[i - 1] = 'b';
	path[i] = '\0';
	memcpy(detail, "{\"a\":\"", 6);
	for (i = 6; i + 2 + 2 <= P4R_EVENT_DETAIL_MAX; i += 2)
		memcpy(detail + i, "\\\"", 2);
	memcpy(detail + i, "\"}", 3);
	memset(branch, '"', P4R_EVENT_GIT_BRANCH_MAX);
	branch[P4R_EVENT_GIT_BRANCH_MAX] = '\0';
	small_event(&e, 1, text);
	snprintf(e.kind, sizeof(e.kind), "register");
	snprintf(e.to_stage, sizeof(e.to_stage), "development");
	snprintf(e.oid.hex, sizeof(e.oid.hex), "%s", OID);
	e.version = P4R_EVENT_VERSION_MAX;
	e.has_version = true;
	e.size = P4R_EVENT_SIZE_MAX;
	e.author = text;
	e.message = text;
	e.path = path;
	e.detail = detail;
	e.git_branch = branch;
	e.git_dirty = -1;
	assert_null(p4r_batch_event_problem(&e));
	assert_int_equal(p4r_batch_encode(&out, &len, &used, 1, &e, 1, text, 0), 0);
	assert_int_equal(used, 1);
	assert_true(len <= P4R_BATCH_MAX_BYTES);
	cJSON_free(out);
	free(text);
	free(path);
	free(detail);
	free(branch);
}

static void test_encode_hook_detail(void **state)
{
	p4r_sync_event e, *back = NULL;
	char *out = NULL;
	size_t len, used, n;

	(void)state;
	small_event(&e, 9, "");
	snprintf(e.kind, sizeof(e.kind), "hook");
	e.version = 1;
	e.detail = "{\"hook\":\"post-rollback\",\"command\":\"curl -H 'token: s3cret' x\",\"status\":7}";
	assert_int_equal(p4r_batch_encode(&out, &len, &used, 1, &e, 1, "", 0), 0);
	assert_null(strstr(out, "s3cret"));
	assert_null(strstr(out, "command"));
	assert_int_equal(p4r_batch_decode(&back, &n, "k", out, len, 1), 0);
	assert_string_equal(back[0].detail, "{\"hook\":\"post-rollback\",\"status\":7}");
	p4r_sync_event_array_free(back, n);
	cJSON_free(out);
}

static void test_encode_refuses(void **state)
{
	p4r_sync_event e;
	char *out = NULL;
	size_t len = 1, used = 1;

	(void)state;
	small_event(&e, 1, "");
	snprintf(e.kind, sizeof(e.kind), "register");
	snprintf(e.to_stage, sizeof(e.to_stage), "development");
	snprintf(e.oid.hex, sizeof(e.oid.hex), "%s", OID);
	e.version = 1;
	e.size = 3;
	e.has_version = true;
	e.author = "";
	e.message = "";
	e.path = "../outside";
	assert_int_equal(p4r_batch_encode(&out, &len, &used, 1, &e, 1, "", 0), P4R_ERROR);
	assert_null(out);
	assert_int_equal(used, 0);
	assert_non_null(strstr(p4r_error_message(), "invalid path; no remote would accept it"));
	assert_int_equal(p4r_batch_encode(&out, &len, &used, 1, &e, 0, "", 0), P4R_ERROR);
}

static void test_creation_checks(void **state)
{
	char *big = malloc(P4R_EVENT_TEXT_MAX + 2);
	p4r_event ev;
	p4r_version_input in = { .model = "m", .path = "models/m.bin", .author = "a", .size = 1 };

	(void)state;
	memset(big, 'r', P4R_EVENT_TEXT_MAX);
	big[P4R_EVENT_TEXT_MAX] = '\0';
	memset(&ev, 0, sizeof(ev));
	snprintf(ev.model, sizeof(ev.model), "m");
	snprintf(ev.kind, sizeof(ev.kind), "promote");
	ev.reason = big;
	assert_int_equal(p4r_event_check(&ev), 0);
	big[P4R_EVENT_TEXT_MAX] = 'r';
	big[P4R_EVENT_TEXT_MAX + 1] = '\0';
	assert_int_equal(p4r_event_check(&ev), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(), "the reason is too long (65537 bytes; an event that "
			    "travels to a remote holds at most 65536)");
	ev.reason = "";
	ev.actor = big;
	assert_int_equal(p4r_event_check(&ev), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "the actor is too long"));
	ev.actor = NULL;
	ev.detail = "[1]";
	assert_int_equal(p4r_event_check(&ev), P4R_EUSAGE);
	ev.detail = "{\"a\":1}";
	assert_int_equal(p4r_event_check(&ev), 0);
	snprintf(ev.kind, sizeof(ev.kind), "Bad kind");
	assert_int_equal(p4r_event_check(&ev), P4R_EUSAGE);

	assert_int_equal(p4r_version_input_check(&in), 0);
	in.message = big;
	assert_int_equal(p4r_version_input_check(&in), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "the message is too long (65537 bytes"));
	in.message = NULL;
	in.author = big;
	assert_int_equal(p4r_version_input_check(&in), P4R_EUSAGE);
	in.author = "a";
	in.path = "../x";
	assert_int_equal(p4r_version_input_check(&in), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "invalid model path '../x'"));
	in.path = "m";
	big[P4R_EVENT_GIT_BRANCH_MAX + 1] = '\0';
	in.git_branch = big;
	assert_int_equal(p4r_version_input_check(&in), P4R_EUSAGE);
	in.git_branch = NULL;
	in.git_commit = "not-hex";
	assert_int_equal(p4r_version_input_check(&in), P4R_EUSAGE);
	free(big);
}

/* ---- folder versions: batch format 3 ---- */

#define DIR_MEMBERS ",\"version_kind\":\"dir\",\"files\":3,\"tree_size\":123456"
#define DIR_REGISTER \
	"{\"id\":\"" UUID1 "\",\"model\":\"lm\",\"version\":1,\"kind\":\"register\",\"from\":\"\"," \
	"\"to\":\"development\",\"forced\":false,\"actor\":\"ann\",\"time\":1000,\"reason\":\"\"," \
	"\"detail\":null,\"oid\":\"" OID "\",\"size\":300,\"author\":\"ann\",\"created\":999," \
	"\"message\":\"\",\"path\":\"models/lm\",\"git_dirty\":-1" DIR_MEMBERS "}"

/* BASE with member KEY replaced by the JSON VALUE (NULL: removed), in a
 * batch of FORMAT: refused with MSG. */
static void expect_bad_in(int format, const char *base, const char *key, const char *value,
			  const char *msg)
{
	cJSON *o = cJSON_Parse(base);
	char *ev, *text;

	assert_non_null(o);
	cJSON_DeleteItemFromObjectCaseSensitive(o, key);
	if (value) {
		cJSON *v = cJSON_Parse(value);

		assert_non_null(v);
		cJSON_AddItemToObject(o, key, v);
	}
	ev = cJSON_PrintUnformatted(o);
	text = batch_format_text(format, ev);
	expect_bad_text(text, msg);
	free(text);
	cJSON_free(ev);
	cJSON_Delete(o);
}

static void test_dir_round_trip(void **state)
{
	char *text = batch_format_text(3, DIR_REGISTER "," PROMOTE), *out = NULL;
	p4r_sync_event *ev = NULL, *again = NULL;
	size_t n = 0, m = 0, len = 0, used = 0;

	(void)state;
	assert_int_equal(decode(text, &ev, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ev[0].version_kind, P4R_KIND_DIR);
	assert_int_equal(ev[0].files, 3);
	assert_int_equal(ev[0].tree_size, 123456);
	assert_int_equal(ev[0].size, 300);
	assert_int_equal(ev[1].version_kind, P4R_KIND_FILE);
	assert_int_equal(ev[1].files, 0);
	assert_int_equal(p4r_batch_encode(&out, &len, &used, 1, ev, n, "ci", 5), 0);
	assert_int_equal(used, 2);
	assert_non_null(strstr(out, "{\"format\":3,"));
	assert_non_null(strstr(out, "\"git_dirty\":-1" DIR_MEMBERS "}"));
	assert_int_equal(p4r_batch_decode(&again, &m, "k", out, len, 1), 0);
	assert_int_equal(m, 2);
	assert_int_equal(again[0].version_kind, P4R_KIND_DIR);
	assert_int_equal(again[0].files, 3);
	assert_int_equal(again[0].tree_size, 123456);
	p4r_sync_event_array_free(again, m);
	cJSON_free(out);
	/* without the folder version: the format and bytes of before */
	assert_int_equal(p4r_batch_encode(&out, &len, &used, 1, ev + 1, 1, "ci", 5), 0);
	assert_non_null(strstr(out, "{\"format\":1,"));
	assert_null(strstr(out, "version_kind"));
	cJSON_free(out);
	/* a move beside a folder version: format 3 reads moves too */
	p4r_sync_event_array_free(ev, n);
	free(text);
	text = batch_format_text(3, DIR_REGISTER "," MOVE);
	assert_int_equal(decode(text, &ev, &n), 0);
	assert_int_equal(p4r_batch_encode(&out, &len, &used, 1, ev, n, "ci", 5), 0);
	assert_non_null(strstr(out, "{\"format\":3,"));
	cJSON_free(out);
	p4r_sync_event_array_free(ev, n);
	free(text);
}

/* A format-3 batch of file versions decodes to what format 1 gave, and
 * encodes to the same bytes. */
static void test_dir_format_files_only(void **state)
{
	char *t1 = batch_format_text(1, REGISTER "," PROMOTE), *t3 = batch_format_text(3, REGISTER "," PROMOTE);
	char *o1 = NULL, *o3 = NULL;
	p4r_sync_event *e1 = NULL, *e3 = NULL;
	size_t n1 = 0, n3 = 0, len = 0, used = 0;

	(void)state;
	assert_int_equal(decode(t1, &e1, &n1), 0);
	assert_int_equal(decode(t3, &e3, &n3), 0);
	assert_int_equal(e3[0].version_kind, P4R_KIND_FILE);
	assert_int_equal(p4r_batch_encode(&o1, &len, &used, 1, e1, n1, "ci", 5), 0);
	assert_int_equal(p4r_batch_encode(&o3, &len, &used, 1, e3, n3, "ci", 5), 0);
	assert_string_equal(o1, o3);
	assert_non_null(strstr(o1, "{\"format\":1,"));
	cJSON_free(o1);
	cJSON_free(o3);
	p4r_sync_event_array_free(e1, n1);
	p4r_sync_event_array_free(e3, n3);
	free(t1);
	free(t3);
}

static void test_dir_hostile(void **state)
{
	char *text;

	(void)state;
	/* older formats promise their readers that no folder comes */
	text = batch_format_text(2, DIR_REGISTER);
	expect_bad_text(text, "event 0: a folder version needs batch format 3");
	free(text);
	text = batch_format_text(1, DIR_REGISTER);
	expect_bad_text(text, "event 0: a folder version needs batch format 3");
	free(text);
	expect_bad_in(2, REGISTER, "files", "3", "a folder version needs batch format 3");
	expect_bad_in(3, DIR_REGISTER, "version_kind", "\"file\"", "invalid version_kind");
	expect_bad_in(3, DIR_REGISTER, "version_kind", "\"DIR\"", "invalid version_kind");
	expect_bad_in(3, DIR_REGISTER, "version_kind", "1", "invalid version_kind");
	expect_bad_in(3, DIR_REGISTER, "version_kind", NULL, "invalid version_kind");
	expect_bad_in(3, DIR_REGISTER, "files", "0", "invalid file count");
	expect_bad_in(3, DIR_REGISTER, "files", "-1", "invalid file count");
	expect_bad_in(3, DIR_REGISTER, "files", "1000001", "invalid file count");
	expect_bad_in(3, DIR_REGISTER, "files", "1.5", "invalid file count");
	expect_bad_in(3, DIR_REGISTER, "files", "\"3\"", "invalid file count");
	expect_bad_in(3, DIR_REGISTER, "files", NULL, "invalid file count");
	expect_bad_in(3, DIR_REGISTER, "tree_size", "-1", "invalid tree size");
	expect_bad_in(3, DIR_REGISTER, "tree_size", "4611686018427388904", "invalid tree size");
	expect_bad_in(3, DIR_REGISTER, "tree_size", "1e300", "invalid tree size");
	expect_bad_in(3, DIR_REGISTER, "tree_size", "null", "invalid tree size");
	expect_bad_in(3, DIR_REGISTER, "tree_size", NULL, "invalid tree size");
	expect_bad_in(3, DIR_REGISTER, "size", "0", "size disagrees with the oid");
	expect_bad_in(3, PROMOTE, "files", "3", "only a register carries a version record");
	expect_bad_in(3, PROMOTE, "version_kind", "\"dir\"", "only a register carries a version record");
	expect_bad_in(3, DIR_REGISTER, "x", "1", "unknown or repeated field");
	text = batch_format_text(3, "{\"id\":\"" UUID1 "\",\"model\":\"lm\",\"version\":1,"
				 "\"kind\":\"register\",\"from\":\"\",\"to\":\"development\",\"forced\":false,"
				 "\"actor\":\"a\",\"time\":1,\"reason\":\"\",\"detail\":null,\"oid\":\"" EMPTY "\","
				 "\"size\":0,\"author\":\"a\",\"created\":1,\"message\":\"\",\"path\":\"m\","
				 "\"git_dirty\":-1" DIR_MEMBERS "}");
	expect_bad_text(text, "a folder's manifest is never empty");
	free(text);
	text = batch_format_text(3, "{\"id\":\"" UUID1 "\",\"model\":\"lm\",\"version\":1,"
				 "\"kind\":\"register\",\"from\":\"\",\"to\":\"development\",\"forced\":false,"
				 "\"actor\":\"a\",\"time\":1,\"reason\":\"\",\"detail\":null,\"oid\":\"" OID "\","
				 "\"size\":3,\"author\":\"a\",\"created\":1,\"message\":\"\",\"path\":\"m\","
				 "\"git_dirty\":-1" DIR_MEMBERS ",\"files\":3}");
	expect_bad_text(text, "unknown or repeated field");
	free(text);
}

/* The creators and the encoder refuse what the decoder would. */
static void test_dir_creation_checks(void **state)
{
	p4r_version_input in = { .model = "m", .path = "models/m", .author = "a", .size = 300,
				 .kind = P4R_KIND_DIR, .files = 2, .tree_size = 10 };
	char *text = batch_format_text(3, DIR_REGISTER), *out = NULL;
	p4r_sync_event *ev = NULL;
	size_t n = 0, len = 0, used = 0;

	(void)state;
	assert_int_equal(p4r_version_input_check(&in), 0);
	in.files = 0;
	assert_int_equal(p4r_version_input_check(&in), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(), "version of model 'm': invalid file count");
	in.files = P4R_MANIFEST_MAX_FILES + 1;
	assert_int_equal(p4r_version_input_check(&in), P4R_EUSAGE);
	in.files = 2;
	in.tree_size = -1;
	assert_int_equal(p4r_version_input_check(&in), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(), "version of model 'm': invalid tree size");
	in.tree_size = P4R_EVENT_TREE_SIZE_MAX;
	assert_int_equal(p4r_version_input_check(&in), 0);
	in.kind = P4R_KIND_FILE;
	assert_int_equal(p4r_version_input_check(&in), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(),
			    "version of model 'm': a file version has no file count or tree size");
	in.kind = (p4r_version_kind)7;
	assert_int_equal(p4r_version_input_check(&in), P4R_EUSAGE);

	assert_int_equal(decode(text, &ev, &n), 0);
	ev[0].files = 0;
	assert_int_equal(p4r_batch_encode(&out, &len, &used, 1, ev, n, "", 0), P4R_ERROR);
	assert_null(out);
	assert_non_null(strstr(p4r_error_message(), "invalid file count; no remote would accept it"));
	p4r_sync_event_array_free(ev, n);
	free(text);
}

/* ---- aliases, tags, descriptions, deletions (format 4) ---- */

#define LABEL(uuid, version, kind, from, to, detail) \
	"{\"id\":\"" uuid "\",\"model\":\"emb\",\"version\":" version ",\"kind\":\"" kind "\"," \
	"\"from\":\"" from "\",\"to\":\"" to "\",\"forced\":false,\"actor\":\"di\",\"time\":4000," \
	"\"reason\":\"\",\"detail\":" detail "}"
#define ALIAS_SET LABEL(UUID2, "1", "alias-set", "", "", "\"{\\\"alias\\\":\\\"champion\\\"}\"")
#define TAG_SET LABEL(UUID3, "0", "tag-set", "", "", "\"{\\\"tags\\\":{\\\"team\\\":\\\"nlp\\\"}}\"")
#define DELETE LABEL("0a0b0c0d-0000-4000-8000-000000000004", "1", "delete", "development", "archived", "null")

/* The event BASE with member KEY replaced by the JSON VALUE, in a format-4
 * batch after the register: refused with MSG. */
static void expect_bad_label(const char *base, const char *key, const char *value, const char *msg)
{
	cJSON *o = cJSON_Parse(base), *v = cJSON_Parse(value);
	char *ev, *text, *events;
	size_t size;

	assert_non_null(o);
	assert_non_null(v);
	cJSON_DeleteItemFromObjectCaseSensitive(o, key);
	cJSON_AddItemToObject(o, key, v);
	ev = cJSON_PrintUnformatted(o);
	size = strlen(ev) + strlen(REGISTER) + 2;
	events = malloc(size);
	snprintf(events, size, "%s,%s", REGISTER, ev);
	text = batch_format_text(4, events);
	expect_bad_text(text, msg);
	free(text);
	free(events);
	cJSON_free(ev);
	cJSON_Delete(o);
}

static void test_label_events(void **state)
{
	char *text = batch_format_text(4, REGISTER "," ALIAS_SET "," TAG_SET "," DELETE), *out = NULL;
	p4r_sync_event *ev = NULL, *again = NULL;
	size_t n = 0, m = 0, len = 0, used = 0;

	(void)state;
	assert_int_equal(decode(text, &ev, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(ev[1].kind, "alias-set");
	assert_string_equal(ev[1].detail, "{\"alias\":\"champion\"}");
	assert_int_equal(ev[2].version, 0);
	assert_string_equal(ev[3].to_stage, "archived");
	/* they go out as format 4, the rest as before */
	assert_int_equal(p4r_batch_encode(&out, &len, &used, 1, ev, n, "ci", 5), 0);
	assert_non_null(strstr(out, "{\"format\":4,"));
	assert_int_equal(p4r_batch_decode(&again, &m, "k", out, len, 1), 0);
	assert_int_equal(m, 4);
	assert_string_equal(again[2].detail, ev[2].detail);
	p4r_sync_event_array_free(again, m);
	cJSON_free(out);
	assert_int_equal(p4r_batch_encode(&out, &len, &used, 1, ev, 1, "ci", 5), 0);
	assert_non_null(strstr(out, "{\"format\":1,"));
	cJSON_free(out);
	p4r_sync_event_array_free(ev, n);
	free(text);
	/* an older format promises none of them */
	text = batch_format_text(3, REGISTER "," TAG_SET);
	expect_bad_text(text, "event 1: an alias, tag, describe or delete event needs batch format 4");
	free(text);
	text = batch_format_text(1, REGISTER "," DELETE);
	expect_bad_text(text, "needs batch format 4");
	free(text);

	expect_bad_label(ALIAS_SET, "version", "0", "an alias names a version");
	expect_bad_label(ALIAS_SET, "to", "\"production\"", "changes no stage");
	expect_bad_label(ALIAS_SET, "forced", "true", "changes no stage");
	expect_bad_label(ALIAS_SET, "detail", "null", "needs its detail");
	expect_bad_label(ALIAS_SET, "detail", "\"{\\\"alias\\\":\\\"production\\\"}\"", "a valid alias name");
	expect_bad_label(ALIAS_SET, "detail", "\"{\\\"alias\\\":\\\"Bad\\\"}\"", "a valid alias name");
	expect_bad_label(ALIAS_SET, "detail", "\"{\\\"alias\\\":\\\"a\\\",\\\"x\\\":1}\"", "a valid alias name");
	expect_bad_label(ALIAS_SET, "detail", "\"{\\\"alias\\\":7}\"", "a valid alias name");
	expect_bad_label(TAG_SET, "detail", "\"{\\\"tags\\\":{}}\"", "a tag-set's detail");
	expect_bad_label(TAG_SET, "detail", "\"{\\\"tags\\\":{\\\"a b\\\":\\\"x\\\"}}\"", "a tag-set's detail");
	expect_bad_label(TAG_SET, "detail", "\"{\\\"tags\\\":{\\\"k\\\":\\\"a\\\\nb\\\"}}\"", "a tag-set's detail");
	expect_bad_label(TAG_SET, "detail", "\"{\\\"tags\\\":{\\\"k\\\":1}}\"", "a tag-set's detail");
	expect_bad_label(TAG_SET, "detail", "\"{\\\"tags\\\":{\\\"k\\\":\\\"1\\\",\\\"k\\\":\\\"2\\\"}}\"",
			 "a tag-set's detail");
	expect_bad_label(TAG_SET, "kind", "\"tag-delete\"", "a tag-delete's detail");
	expect_bad_label(TAG_SET, "kind", "\"describe\"", "a describe's detail");
	expect_bad_label(TAG_SET, "detail", "\"{\\\"keys\\\":[\\\"k\\\",\\\"k\\\"]}\"", "detail must be");
	expect_bad_label(DELETE, "version", "0", "a delete is about a version");
	expect_bad_label(DELETE, "to", "\"\"", "a delete goes from the version's stage to archived");
	expect_bad_label(DELETE, "from", "\"\"", "a delete goes from");
	expect_bad_label(DELETE, "detail", "\"{}\"", "without detail");
}

/* What the creators record passes the same checks; the detail builders
 * write what the decoder reads. */
static void test_label_creation(void **state)
{
	const char *keys[] = { "team", "note" }, *values[] = { "nlp", "a \"quoted\" value" };
	p4r_event e = { .version = 1, .actor = "di", .at_ms = 1 };
	char *d;

	(void)state;
	snprintf(e.model, sizeof(e.model), "emb");
	snprintf(e.kind, sizeof(e.kind), "alias-set");
	e.detail = d = p4r_alias_detail("champion");
	assert_string_equal(d, "{\"alias\":\"champion\"}");
	assert_int_equal(p4r_event_check(&e), 0);
	free(d);
	e.detail = d = p4r_alias_detail("latest");
	assert_int_equal(p4r_event_check(&e), P4R_EUSAGE);
	free(d);
	snprintf(e.kind, sizeof(e.kind), "tag-set");
	e.detail = d = p4r_tags_detail(keys, values, 2);
	assert_string_equal(d, "{\"tags\":{\"team\":\"nlp\",\"note\":\"a \\\"quoted\\\" value\"}}");
	assert_int_equal(p4r_event_check(&e), 0);
	free(d);
	snprintf(e.kind, sizeof(e.kind), "tag-delete");
	e.detail = d = p4r_tags_detail(keys, NULL, 2);
	assert_string_equal(d, "{\"keys\":[\"team\",\"note\"]}");
	assert_int_equal(p4r_event_check(&e), 0);
	free(d);
	snprintf(e.kind, sizeof(e.kind), "describe");
	e.detail = d = p4r_describe_detail("two\nlines");
	assert_int_equal(p4r_event_check(&e), P4R_EUSAGE); /* about the model */
	e.version = 0;
	assert_int_equal(p4r_event_check(&e), 0);
	free(d);
	assert_true(p4r_event_kind_labels("delete"));
	assert_false(p4r_event_kind_labels("promote"));
}

static void test_relpath(void **state)
{
	static const char *const good[] = {
		"x", "models/emb.onnx", "a/b/c.bin", ".hidden", "models/.gitkeep.bin", "models/x.p4reg.bin",
		"with space/ü.bin", "a..b", "...", NULL
	};
	static const char *const bad[] = {
		"", "/abs", "../x", "a/../x", "a/./b", "./a", "a//b", "a/", ".git", ".git/config",
		".GIT/hooks/x", "models/.git/x", ".p4reg/config.local", "a/.P4Reg/x", ".gitignore",
		"models/.gitattributes", ".gitmodules", "models/x.p4reg", "models/X.P4REG", "a\\b",
		"a\nb", "a\tb", "a\x7f" "b", "..", ".", NULL
	};
	char long_name[300], long_path[P4R_RELPATH_MAX + 2];
	size_t i;

	(void)state;
	for (i = 0; good[i]; i++)
		if (!p4r_relpath_valid(good[i]))
			fail_msg("'%s' should be valid", good[i]);
	for (i = 0; bad[i]; i++)
		if (p4r_relpath_valid(bad[i]))
			fail_msg("'%s' should be invalid", bad[i]);
	assert_false(p4r_relpath_valid(NULL));
	memset(long_name, 'n', sizeof(long_name));
	long_name[P4R_RELPATH_LAST_MAX] = '\0';
	assert_true(p4r_relpath_valid(long_name));
	long_name[P4R_RELPATH_LAST_MAX] = 'n';
	long_name[P4R_RELPATH_LAST_MAX + 1] = '\0';
	assert_false(p4r_relpath_valid(long_name));           /* its pointer name would not fit */
	memcpy(long_name + P4R_RELPATH_LAST_MAX + 1, "/x", 3);
	assert_true(p4r_relpath_valid(long_name));            /* fine as a folder */
	memset(long_name, 'n', P4R_RELPATH_COMPONENT_MAX);
	memcpy(long_name + P4R_RELPATH_COMPONENT_MAX, "/x", 3);
	assert_true(p4r_relpath_valid(long_name));            /* 255 bytes: NAME_MAX */
	memcpy(long_name + P4R_RELPATH_COMPONENT_MAX, "n/x", 4);
	assert_false(p4r_relpath_valid(long_name));           /* 256 bytes: over it */
	for (i = 0; i + 2 <= P4R_RELPATH_MAX; i += 2)
		memcpy(long_path + i, "a/", 2);
	long_path[i - 1] = '\0';
	assert_true(p4r_relpath_valid(long_path));
	long_path[i - 1] = 'b';
	long_path[i] = 'c';
	long_path[i + 1] = '\0';
	assert_false(p4r_relpath_valid(long_path));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_good),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_move_events),
		cmocka_unit_test(test_malformed_fields),
		cmocka_unit_test(test_malformed_batches),
		cmocka_unit_test(test_limits_text),
		cmocka_unit_test(test_limits_count),
		cmocka_unit_test(test_limits_bytes),
		cmocka_unit_test(test_largest_event_fits),
		cmocka_unit_test(test_encode_hook_detail),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_creation_checks),
		cmocka_unit_test(test_dir_round_trip),
		cmocka_unit_test(test_dir_format_files_only),
		cmocka_unit_test(test_dir_hostile),
		cmocka_unit_test(test_dir_creation_checks),
		cmocka_unit_test(test_label_events),
		cmocka_unit_test(test_label_creation),
		cmocka_unit_test(test_relpath),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
