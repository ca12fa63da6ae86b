/* What gc's retention (`gc --keep-last N --keep-stages`, ops/gc.h) asks of
 * the registry beyond the rule of p4reg rm (ops/rm.h): how far a version
 * ever got through the lifecycle. SQL in registry/retention_sql.c. */
#ifndef P4REG_RETENTION_H
#define P4REG_RETENTION_H

#include <stdint.h>
#include "p4reg/registry.h"

/* *OUT: the furthest of validation < staging < production that version
 * VERSION_ID (a row id) ever entered by any event (a promotion, a
 * rollback), P4R_STAGE_DEVELOPMENT when none: a version archived after it
 * served in production answers production. */
int p4r_registry_stage_reached(p4r_registry *reg, int64_t version_id, p4r_stage *out);

#endif
