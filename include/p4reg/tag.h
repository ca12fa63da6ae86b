/* Tags and descriptions: KEY=VALUE pairs on a version or on a model, and a
 * model's free-text description, set and removed by "tag-set",
 * "tag-delete" and "describe" events that travel to remotes (batch.h).
 * The rules below are the one definition of what a tag may hold: the
 * commands check them before anything is written, the batch decoder
 * checks them in what a remote delivers. The SQL is registry/tag_sql.c. */
#ifndef P4REG_TAG_H
#define P4REG_TAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "p4reg/registry.h"

#define P4R_TAG_KEY_MAX 128
#define P4R_TAG_VALUE_MAX 4096
#define P4R_TAGS_MAX 256           /* keys in one change (one event) */
#define P4R_DESCRIPTION_MAX 16384

/* 1..128 of [A-Za-z0-9_.:/-], starting with a letter or digit. */
bool p4r_tag_key_valid(const char *key);
/* At most 4096 bytes of valid UTF-8 without control characters (C0, DEL,
 * C1); "" is a value. */
bool p4r_tag_value_valid(const char *value);
/* At most 16384 bytes of valid UTF-8 without control characters other
 * than newline and tab; "" clears a description. */
bool p4r_description_valid(const char *text);

/* Splits "KEY=VALUE" at its first '=' into *KEY and *VALUE (malloc'd),
 * both checked: P4R_EUSAGE "invalid tag 'x': expected KEY=VALUE", "invalid
 * tag key 'k': ..." or "invalid value of tag 'k': ...". */
int p4r_tag_parse(const char *text, char **key, char **value);
/* P4R_EUSAGE "invalid tag key 'x': ..." unless KEY is valid. */
int p4r_tag_key_check(const char *key);

typedef struct p4r_tag_entry {
	int64_t version_id;  /* the version's row id; 0 for a model's tag */
	char *key;           /* owned */
	char *value;         /* owned */
} p4r_tag_entry;

typedef struct p4r_tags {
	p4r_tag_entry *v;
	size_t n, cap;
} p4r_tags;

void p4r_tags_clear(p4r_tags *t);

/* A change of the tags of MODEL@NUMBER (NUMBER 0: the model's own). */
typedef struct p4r_tag_req {
	const char *model;
	int64_t number;
	const char *const *keys;
	const char *const *values; /* NULL: remove KEYS */
	size_t n;                  /* 1..P4R_TAGS_MAX, keys distinct */
	const char *actor;
	const char *reason;        /* -m; NULL or "" for none */
	int64_t now_ms;            /* 0: now */
} p4r_tag_req;

/* Sets REQ's tags on a live version (the errors of
 * p4r_registry_version_get) or on the model, and records one "tag-set"
 * event with the keys whose value changes, in one transaction (joining the
 * caller's); *CHANGED gets how many (0: nothing written). Invalid keys or
 * values, repeated keys, none or too many: P4R_EUSAGE. */
int p4r_registry_tags_set(p4r_registry *reg, const p4r_tag_req *req, size_t *changed);

/* Removes REQ's keys (REQ->values NULL) and records one "tag-delete"
 * event. Every key must be there: P4R_ENOTFOUND "m@3 has no tag 'k'"
 * ("model 'm' has no tag 'k'"), nothing removed. */
int p4r_registry_tags_delete(p4r_registry *reg, const p4r_tag_req *req);

/* The tags of MODEL@NUMBER (NUMBER 0: the model's) by key into OUT
 * (cleared first). P4R_ENOTFOUND for an unknown model or version. */
int p4r_registry_tags_get(p4r_registry *reg, const char *model, int64_t number, p4r_tags *out);

/* Every tag of VERSIONS[0..N) into OUT (cleared first), in VERSIONS' order
 * then by key: what log prints beside each version it lists (p4r_json_tags).
 * One primary-key lookup per version, so `log -n 20` of a model with a
 * million versions reads twenty. */
int p4r_registry_tags_versions(p4r_registry *reg, const p4r_version *versions, size_t n, p4r_tags *out);

/* Sets the description of MODEL to TEXT ("" clears it) and records a
 * "describe" event, in one transaction; *CHANGED false (nothing written)
 * when it already reads TEXT. P4R_EUSAGE for an invalid TEXT,
 * P4R_ENOTFOUND for an unknown model. */
int p4r_registry_describe(p4r_registry *reg, const char *model, const char *text, const char *actor,
			  const char *reason, int64_t now_ms, bool *changed);

#endif
