/* Shapes shared by every command's output: the JSON objects for models,
 * versions and events (docs/json.md), sizes and times for people. The core
 * builds these; only src/cmd/ prints them. */
#ifndef P4REG_OUTPUT_H
#define P4REG_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "p4reg/registry.h"

/* New cJSON objects owned by the caller (cJSON_Delete); NULL when out of memory. */
cJSON *p4r_json_version(const p4r_version *v);
cJSON *p4r_json_model(const p4r_model *m);
cJSON *p4r_json_event(const p4r_event *e);

/* "2026-02-18T09:30:00Z" for MS milliseconds since the epoch. */
void p4r_format_time(char *buf, size_t bufsz, int64_t ms);
/* "80.0 MiB", "3.0 GiB", "512 B". */
void p4r_format_size(char *buf, size_t bufsz, uint64_t bytes);

#endif
