/* The remote batch codec (docs/remotes.md, docs/formats.md): one push's
 * registry events as one JSON document, log/<seq>.json on a remote. The
 * decoder is strict, because everything a remote delivers is hostile; the
 * encoder writes only what the decoder accepts. The bounds below are the one
 * definition of what an event may hold: the decoder enforces them, and so
 * does every place that creates an event, so that an event recorded here can
 * always travel and never blocks another clone's fetch. */
#ifndef P4REG_BATCH_H
#define P4REG_BATCH_H

#include <stddef.h>
#include <stdint.h>
#include "p4reg/registry.h"
#include "p4reg/relpath.h"
#include "p4reg/remote.h"
#include "p4reg/sync.h"

#define P4R_BATCH_FORMAT 1
/* The format of a batch that holds a "move" event: a p4reg that predates
 * moves refuses it ("unknown format") instead of recording a move it would
 * not apply. Batches without one stay format 1, readable by every p4reg. */
#define P4R_BATCH_FORMAT_MOVE 2
/* The format of a batch that registers a folder version (its register
 * event carries "version_kind":"dir", "files" and "tree_size"): older
 * p4regs refuse it instead of recording the manifest as a model file.
 * Batches without one stay format 1 or 2. */
#define P4R_BATCH_FORMAT_DIR 3
/* The format of a batch that holds an alias, tag, describe or delete
 * event (issue 16): older p4regs refuse it instead of recording events
 * whose effect they would not apply. Batches without one stay 1, 2 or 3. */
#define P4R_BATCH_FORMAT_LABELS 4
/* The kind of the event that rebinds a model to another path. */
#define P4R_EVENT_MOVE "move"
/* Aliases (alias.h): about a version, detail {"alias":NAME}; an
 * alias-delete names the version the alias named. */
#define P4R_EVENT_ALIAS_SET "alias-set"
#define P4R_EVENT_ALIAS_DELETE "alias-delete"
/* Tags (tag.h) of a version, or of the model (version 0): detail
 * {"tags":{"KEY":"VALUE",...}} (the keys set) or {"keys":["KEY",...]}. */
#define P4R_EVENT_TAG_SET "tag-set"
#define P4R_EVENT_TAG_DELETE "tag-delete"
/* A model's description: version 0, detail {"description":TEXT}. */
#define P4R_EVENT_DESCRIBE "describe"
/* p4reg rm: a version deleted, from its stage to archived, detail null. */
#define P4R_EVENT_DELETE "delete"
/* A batch file larger than this is refused before it is parsed. */
#define P4R_BATCH_MAX_BYTES P4R_REMOTE_BATCH_MAX
#define P4R_BATCH_MAX_EVENTS 100000

/* Bounds on one event, in bytes (before JSON escaping). The largest event
 * these allow, escaped at worst, still fits a batch many times over. */
#define P4R_EVENT_TEXT_MAX 65536           /* actor, reason, author, message */
#define P4R_EVENT_DETAIL_MAX (1 << 20)     /* the detail: a JSON object's text */
#define P4R_EVENT_KIND_MAX 31              /* [a-z_-], like "log-metric" */
#define P4R_EVENT_PATH_MAX P4R_RELPATH_MAX /* and p4r_relpath_valid */
#define P4R_EVENT_GIT_COMMIT_MAX 64        /* hex */
#define P4R_EVENT_GIT_BRANCH_MAX 1024
#define P4R_EVENT_VERSION_MAX INT64_C(2147483647)
#define P4R_EVENT_SIZE_MAX (INT64_C(1) << 50)
#define P4R_EVENT_TIME_MAX (INT64_C(1) << 53) /* ms; exact in a JSON number */
/* A folder version: 1..P4R_MANIFEST_MAX_FILES files of this total size. */
#define P4R_EVENT_TREE_SIZE_MAX (INT64_C(1) << 62)

/* ---- the creators' side: P4R_EUSAGE naming the field and its bound ---- */

/* Checks EV (promote, rollback, hook, log-metric, ...) before it is recorded. */
int p4r_event_check(const p4r_event *ev);
/* Checks the version record and register event IN describes. */
int p4r_version_input_check(const p4r_version_input *in);

/* The detail of a move event, {"from_path":FROM,"to_path":TO}: malloc'd
 * text, NULL when out of memory. */
char *p4r_move_detail(const char *from, const char *to);
/* Reads a move's detail: 0 with *FROM and *TO malloc'd, or P4R_EINTEGRITY
 * (both NULL) when it is not exactly that object with two different paths
 * p4r_relpath_valid accepts. */
int p4r_move_detail_parse(const char *detail, char **from, char **to);

/* The details of the events above: malloc'd text, NULL when out of
 * memory. p4r_tags_detail gives {"tags":{KEYS[i]:VALUES[i]}}, or
 * {"keys":[KEYS...]} when VALUES is NULL. */
char *p4r_alias_detail(const char *name);
char *p4r_tags_detail(const char *const *keys, const char *const *values, size_t n);
char *p4r_describe_detail(const char *text);

/* True when KIND is one of the five kinds of batch format 4. */
bool p4r_event_kind_labels(const char *kind);

/* ---- the codec ---- */

/* NULL when E is an event every decoder accepts; otherwise a static
 * string saying why not ("invalid path", "message too long", ...). */
const char *p4r_batch_event_problem(const p4r_sync_event *e);

/* Encodes batch SEQ (parent SEQ-1) from the first events of EV[0..N): as
 * many as fit P4R_BATCH_MAX_EVENTS and P4R_BATCH_MAX_BYTES, at least one;
 * *USED gets how many. Every event of EV is checked first: one that a
 * decoder would refuse is never published (P4R_ERROR naming it). A hook
 * event's detail travels as {"hook", "status"} only: never the command.
 * *OUT (length *LEN) is freed with cJSON_free. */
int p4r_batch_encode(char **out, size_t *len, size_t *used, int64_t seq,
		     const p4r_sync_event *ev, size_t n, const char *pushed_by, int64_t time_ms);

/* Decodes TEXT (LEN bytes), which must be batch SEQ: every field is checked
 * (types, unknown or repeated keys, bounds, uuids, model names, paths,
 * stages, oids and sizes, ids unique in the batch) before anything is used.
 * P4R_EINTEGRITY "invalid event batch 'KEY': ..." otherwise. *OUT is freed
 * with p4r_sync_event_array_free. */
int p4r_batch_decode(p4r_sync_event **out, size_t *n, const char *key, const char *text,
		     size_t len, int64_t seq);

#endif
