/* Shapes shared by every command's output: the JSON objects for models,
 * versions and events (docs/json.md), sizes and times for people, and the
 * two guards on text that came from elsewhere (messages, paths, names from a
 * clone or a remote): escaping for terminals, valid UTF-8 for JSON. The
 * core builds these; only src/cmd/ prints them. */
#ifndef P4REG_OUTPUT_H
#define P4REG_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "p4reg/alias.h"
#include "p4reg/registry.h"
#include "p4reg/tag.h"

/* New cJSON objects owned by the caller (cJSON_Delete); NULL when out of memory. */
cJSON *p4r_json_version(const p4r_version *v);
cJSON *p4r_json_model(const p4r_model *m);
cJSON *p4r_json_event(const p4r_event *e);
/* What history shows of an alias or tag event's detail, in BUF (SIZE
 * bytes, "..." when cut; raw: escape it to print): "@champion" for an
 * alias-set or alias-delete, "k=v k2=v2" for a tag-set, "k k2" for a
 * tag-delete; "" for any other event. */
void p4r_event_label(char *buf, size_t size, const p4r_event *e);
/* {"KEY":"VALUE",...}: the tags of T whose version_id is VERSION_ID (0: a
 * model's tags; negative: all of T), in T's order (by key). */
cJSON *p4r_json_tags(const p4r_tags *t, int64_t version_id);
/* ["NAME",...]: the names of the aliases A[0..N) that name version NUMBER
 * (0: all of them). */
cJSON *p4r_json_alias_names(const p4r_alias_entry *a, size_t n, int64_t number);

/* Adds S under KEY, or null when S is NULL or "": absent text is null in
 * every document (docs/json.md), never "". */
void p4r_json_add_text(cJSON *obj, const char *key, const char *s);

/* "2026-02-18T09:30:00Z" for MS milliseconds since the epoch. */
void p4r_format_time(char *buf, size_t bufsz, int64_t ms);
/* "80.0 MiB", "3.0 GiB", "512 B". */
void p4r_format_size(char *buf, size_t bufsz, uint64_t bytes);

/* S made safe to print for people (docs/commands.md, "Escaped output"): the
 * control characters C0 and DEL, C1 (U+0080..U+009F), the bidirectional
 * overrides (U+200E, U+200F, U+202A..U+202E, U+2066..U+2069), U+2028,
 * U+2029 and every byte that is not part of valid UTF-8 are written as
 * \t, \n, \r or \xHH per byte, so a value can neither move the cursor,
 * recolour the terminal nor start a new line. Returns S itself when nothing
 * needs escaping; otherwise a string in one of P4R_ESCAPE_SLOTS rotating
 * buffers, valid until that many more calls: enough for every argument of
 * one printf. NULL gives "". Not thread-safe: commands print from one
 * thread. Out of memory gives "?". */
#define P4R_ESCAPE_SLOTS 8
const char *p4r_escape(const char *s);

/* S as HTML text or a quoted attribute value (a report's page): & < > "
 * and ' as entities; newline and tab kept; every other character
 * p4r_escape escapes (controls, C1, bidirectional overrides, U+2028/9,
 * invalid UTF-8) written as it writes them (\r, \xHH), so foreign text
 * can neither open markup nor reorder the page. Malloc'd (NULL S: ""),
 * owned by the caller; NULL when out of memory. */
char *p4r_html_escape(const char *s);

/* True when the LEN bytes at S are valid UTF-8 (shortest forms, no
 * surrogates, at most U+10FFFF). */
bool p4r_utf8_valid(const char *s, size_t len);

/* A malloc'd copy of S where each byte that does not start a valid UTF-8
 * sequence is replaced by U+FFFD; NULL when out of memory. */
char *p4r_utf8_sanitize(const char *s);

/* Makes every string value and key in DOC valid UTF-8 (p4r_utf8_sanitize),
 * so the printed document is valid JSON text whatever the registry, a
 * clone or a remote held; cJSON escapes the control characters itself.
 * 0, or P4R_ERROR when out of memory (DOC then partly sanitized). */
int p4r_json_sanitize(cJSON *doc);

/* TEXT, a printed JSON document, with the characters cJSON leaves raw but
 * a terminal would act on (C1 controls such as U+009B CSI, bidi overrides,
 * line and paragraph separators) written as \uXXXX escapes: the same
 * document to a parser, inert on a screen. Malloc'd; NULL when out of
 * memory. They can only occur inside strings, so no parsing is needed. */
char *p4r_json_escape_hidden(const char *text);

/* The compact JSON object {K1:V1,K2:V2} of two text fields (an event's
 * detail): malloc'd, NULL when out of memory. */
char *p4r_json_text_pair(const char *k1, const char *v1, const char *k2, const char *v2);

#endif
