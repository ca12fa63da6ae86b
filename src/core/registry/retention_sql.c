/* The SQL of gc's retention (see retention.h): the furthest stage a
 * version's events ever moved it to. */
#include "p4reg/retention.h"

#include "registry/sql.h"

int p4r_registry_stage_reached(p4r_registry *reg, int64_t version_id, p4r_stage *out)
{
	int64_t rank = 0;
	int rc;

	/* events_version indexes the lookup; a version has few stage events */
	rc = p4r_sql_exec(p4r_registry_db(reg),
			  "SELECT coalesce(max(CASE to_stage WHEN 'validation' THEN 1 WHEN 'staging' THEN 2"
			  " WHEN 'production' THEN 3 END), 0) FROM events WHERE version_id = ?1",
			  (p4r_sql_arg[]){ P4R_SQL_INT(version_id) }, 1, &rank, NULL);
	*out = rank == 3 ? P4R_STAGE_PRODUCTION : rank == 2 ? P4R_STAGE_STAGING :
	       rank == 1 ? P4R_STAGE_VALIDATION : P4R_STAGE_DEVELOPMENT;
	return rc;
}
