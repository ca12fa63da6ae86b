/* Unit tests for output.c's guards on foreign text: escaping for terminals
 * (p4r_escape), UTF-8 validation and repair, and the JSON sanitizer every
 * --json document goes through. */
#include "testutil.h"
#include "p4reg/output.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* True when S holds no byte a terminal acts on: C0, DEL, C1 (raw or as
 * UTF-8) or any byte >= 0x80 at all (escaped output of hostile text is
 * plain ASCII here). */
static bool plain_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static void test_escape_plain_is_untouched(void **state)
{
	static const char *const plain[] = {
		"", "models/emb.onnx", "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
		"back\\slash", "tab-less 'quoted' \"text\"",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		assert_ptr_equal(p4r_escape(plain[i]), plain[i]);
	assert_string_equal(p4r_escape(NULL), "");
}

static void test_escape_controls(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "a\nb", "a\\nb" },
		{ "a\tb\rc", "a\\tb\\rc" },
		{ "\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m" },
		{ "\x1b]0;title\x07", "\\x1b]0;title\\x07" },
		{ "bell\x07 del\x7f", "bell\\x07 del\\x7f" },
		{ "\x01\x1f", "\\x01\\x1f" },
		/* C1 as UTF-8 (U+009B is CSI) and as raw bytes */
		{ "\xc2\x9b" "2J", "\\xc2\\x9b" "2J" },
		{ "\x9b" "2J", "\\x9b" "2J" },
		/* bidirectional overrides and line separators */
		{ "evil\xe2\x80\xae" "txt.exe", "evil\\xe2\\x80\\xae" "txt.exe" },
		{ "\xe2\x81\xa6x\xe2\x81\xa9", "\\xe2\\x81\\xa6x\\xe2\\x81\\xa9" },
		{ "a\xe2\x80\xa8" "b", "a\\xe2\\x80\\xa8" "b" },
		/* invalid UTF-8: stray, overlong, surrogate, too large, cut short */
		{ "\xff\xfe", "\\xff\\xfe" },
		{ "\xc0\xaf", "\\xc0\\xaf" },
		{ "\xed\xa0\x80", "\\xed\\xa0\\x80" },
		{ "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80" },
		{ "ok\xe2\x82", "ok\\xe2\\x82" },
		{ "\xe2\x82" "caf\xc3\xa9", "\\xe2\\x82" "caf\xc3\xa9" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (strcmp(p4r_escape(cases[i].in), cases[i].out))
			fail_msg("case %zu: got '%s', expected '%s'", i, p4r_escape(cases[i].in), cases[i].out);
}

/* Escaping twice changes nothing more: a value escaped into a table cell
 * can be printed through p4r_escape again. */
static void test_escape_idempotent(void **state)
{
	const char *hostile = "m\n\x1b[2J\xff\xc2\x85\xe2\x80\xae\\x1b";
	char *once;

	(void)state;
	once = strdup(p4r_escape(hostile));
	assert_non_null(once);
	assert_true(plain_ascii(once));
	assert_string_equal(p4r_escape(once), once);
	assert_ptr_equal(p4r_escape(once), once);
	free(once);
}

/* The slots: one printf's arguments all stay valid together. */
static void test_escape_slots(void **state)
{
	const char *got[P4R_ESCAPE_SLOTS];
	char in[P4R_ESCAPE_SLOTS][16], want[16];
	size_t i;

	(void)state;
	for (i = 0; i < P4R_ESCAPE_SLOTS; i++) {
		snprintf(in[i], sizeof(in[i]), "%zu\n", i);
		got[i] = p4r_escape(in[i]);
	}
	for (i = 0; i < P4R_ESCAPE_SLOTS; i++) {
		snprintf(want, sizeof(want), "%zu\\n", i);
		assert_string_equal(got[i], want);
	}
}

static void test_utf8_valid(void **state)
{
	(void)state;
	assert_true(p4r_utf8_valid("", 0));
	assert_true(p4r_utf8_valid("caf\xc3\xa9", 5));
	assert_true(p4r_utf8_valid("\xf0\x9f\x98\x80", 4));
	assert_true(p4r_utf8_valid("\xf4\x8f\xbf\xbf", 4));      /* U+10FFFF */
	assert_true(p4r_utf8_valid("\x1b\n", 2));                /* valid, if not printable */
	assert_false(p4r_utf8_valid("\xff", 1));
	assert_false(p4r_utf8_valid("\xc3", 1));
	assert_false(p4r_utf8_valid("\xc3\xa9", 1));             /* cut by LEN */
	assert_false(p4r_utf8_valid("\xe0\x80\xaf", 3));         /* overlong */
	assert_false(p4r_utf8_valid("\xed\xbf\xbf", 3));         /* surrogate */
	assert_false(p4r_utf8_valid("\xf4\x90\x80\x80", 4));     /* above U+10FFFF */
	assert_false(p4r_utf8_valid("\x80", 1));
}

static void test_utf8_sanitize(void **state)
{
	char *s;

	(void)state;
	assert_non_null(s = p4r_utf8_sanitize("a\xff" "b\xc3\xa9\xe2\x82"));
	assert_string_equal(s, "a\xef\xbf\xbd" "b\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd");
	assert_true(p4r_utf8_valid(s, strlen(s)));
	free(s);
	assert_non_null(s = p4r_utf8_sanitize("plain"));
	assert_string_equal(s, "plain");
	free(s);
}

/* Every string and key of a document, parsed or built, owned, constant or
 * borrowed, comes out valid UTF-8; control characters are cJSON's to escape. */
static void test_json_sanitize(void **state)
{
	static char borrowed[] = "ref\xfe";
	cJSON *doc, *arr, *parsed;
	char *text;

	(void)state;
	doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "message", "line\n\x1b[31m\xff\xfe");
	cJSON_AddStringToObject(doc, "k\xff", "v");
	cJSON_AddItemToObjectCS(doc, "const", cJSON_CreateString("ok"));
	cJSON_AddItemToObject(doc, "borrowed", cJSON_CreateStringReference(borrowed));
	arr = cJSON_AddArrayToObject(doc, "deep");
	cJSON_AddItemToArray(arr, cJSON_CreateString("\xc0\xaf"));
	parsed = cJSON_Parse("{\"run\": \"r\xff\"}");
	assert_non_null(parsed);
	cJSON_AddItemToArray(arr, parsed);
	assert_int_equal(p4r_json_sanitize(doc), 0);
	text = cJSON_PrintUnformatted(doc);
	assert_non_null(text);
	assert_true(p4r_utf8_valid(text, strlen(text)));
	assert_string_equal(text,
		"{\"message\":\"line\\n\\u001b[31m\xef\xbf\xbd\xef\xbf\xbd\","
		"\"k\xef\xbf\xbd\":\"v\",\"const\":\"ok\",\"borrowed\":\"ref\xef\xbf\xbd\","
		"\"deep\":[\"\xef\xbf\xbd\xef\xbf\xbd\",{\"run\":\"r\xef\xbf\xbd\"}]}");
	cJSON_free(text);
	cJSON_Delete(doc);
	assert_string_equal(borrowed, "ref\xfe");   /* not freed, not changed */
	assert_int_equal(p4r_json_sanitize(NULL), 0);
}

static void test_json_escape_hidden(void **state)
{
	/* CSI (U+009B), RLO (U+202E), LS (U+2028), DEL; é and a NUL-free rest stay */
	const char *in = "{\"m\":\"a\xc2\x9b" "31m\xe2\x80\xae" "x\xe2\x80\xa8" "y\x7f\xc3\xa9\"}";
	char *out = p4r_json_escape_hidden(in);
	cJSON *doc;

	(void)state;
	assert_string_equal(out, "{\"m\":\"a\\u009b31m\\u202ex\\u2028y\\u007f\xc3\xa9\"}");
	/* the same document to a parser */
	doc = cJSON_Parse(out);
	assert_non_null(doc);
	assert_string_equal(cJSON_GetObjectItem(doc, "m")->valuestring,
			    "a\xc2\x9b" "31m\xe2\x80\xae" "x\xe2\x80\xa8" "y\x7f\xc3\xa9");
	cJSON_Delete(doc);
	free(out);
}

/* Absent text is null in every document, never "" (docs/json.md). */
static void test_json_absent_is_null(void **state)
{
	p4r_version v = { .number = 1, .size = 3, .git_dirty = -1 };
	p4r_event e = { .id = 1, .version = 1, .kind = "register", .to_stage = "development" };
	cJSON *o = cJSON_CreateObject(), *doc;
	char *text;

	(void)state;
	p4r_json_add_text(o, "none", NULL);
	p4r_json_add_text(o, "empty", "");
	p4r_json_add_text(o, "some", "x");
	text = cJSON_PrintUnformatted(o);
	assert_string_equal(text, "{\"none\":null,\"empty\":null,\"some\":\"x\"}");
	cJSON_free(text);
	cJSON_Delete(o);

	snprintf(v.model, sizeof(v.model), "m");
	v.message = "";
	v.author = "";
	doc = p4r_json_version(&v);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(doc, "message")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(doc, "author")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(doc, "path")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "git"), "branch")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "git"), "dirty")));
	cJSON_Delete(doc);

	snprintf(e.model, sizeof(e.model), "m");
	e.reason = "";
	e.actor = "A";
	doc = p4r_json_event(&e);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(doc, "reason")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(doc, "from")));
	assert_string_equal(cJSON_GetObjectItem(doc, "to")->valuestring, "development");
	assert_string_equal(cJSON_GetObjectItem(doc, "actor")->valuestring, "A");
	cJSON_Delete(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_plain_is_untouched),
		cmocka_unit_test(test_escape_controls),
		cmocka_unit_test(test_escape_idempotent),
		cmocka_unit_test(test_escape_slots),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_sanitize),
		cmocka_unit_test(test_json_sanitize),
		cmocka_unit_test(test_json_escape_hidden),
		cmocka_unit_test(test_json_absent_is_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
