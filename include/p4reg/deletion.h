/* Deleted versions (p4reg rm): a version's row stays, marked deleted, so
 * its number is never reused and its events keep their version; every
 * query that lists, counts, resolves or keeps objects skips it
 * (registry.h), and its object is garbage for gc unless a live version
 * uses it. The "delete" event travels to remotes (batch.h). The SQL is
 * registry/delete_sql.c; the rules of when a version may go are
 * ops/rm.c's. */
#ifndef P4REG_DELETION_H
#define P4REG_DELETION_H

#include <stdbool.h>
#include <stdint.h>
#include "p4reg/registry.h"

typedef struct p4r_delete_req {
	const char *model;
	int64_t number;
	bool forced;         /* recorded in the event: a rule said no and --force overrode it */
	const char *actor;
	const char *reason;  /* -m; NULL or "" for none */
	int64_t now_ms;      /* 0: now */
} p4r_delete_req;

/* Deletes the live version REQ->model@REQ->number (the errors of
 * p4r_registry_version_get): records a "delete" event from its stage to
 * archived and applies it (deleted, archived, its aliases gone), in one
 * transaction (joining the caller's). Its tags and events stay. */
int p4r_registry_version_delete(p4r_registry *reg, const p4r_delete_req *req);

#endif
