/* The remote operations (p4reg remote add / list / remove / check): the
 * remote.NAME.* keys of the configuration, and the probe that tells
 * whether concurrent pushes to a remote are safe (remote.h). */
#ifndef P4REG_OPS_REMOTE_H
#define P4REG_OPS_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include "p4reg/ops/op.h"
#include "p4reg/remote.h"
#include "p4reg/sync.h"
#include "p4reg/repo.h"

typedef struct p4r_remote_add_opts {
	const char *name;      /* the new remote's name (p4r_remote_name_valid) */
	const char *url;       /* a folder, file:// URL or s3://BUCKET/PREFIX */
	const char *endpoint;  /* S3: the server; nullable */
	const char *region;    /* S3: the signing region; nullable */
	bool path_style;       /* S3: the bucket in the path */
	bool make_default;     /* also core.remote = NAME */
} p4r_remote_add_opts;

typedef struct p4r_remote_add_result {
	char *url;               /* as stored: a folder made absolute; owned */
	bool conditional_writes; /* the probe found concurrent pushes safe */
} p4r_remote_add_result;

/* Adds remote OPTS->name to .p4reg/config: remote.NAME.url (a folder is
 * created, and stored absolute unless given as file://), .endpoint (also
 * trusted in config.local as remote.NAME.trustedEndpoint), .region,
 * .path-style = true, and core.remote with make_default. An invalid name
 * is P4R_EUSAGE, a name already configured P4R_EEXISTS ("remote 'x'
 * already exists"); both change nothing. The remote is then probed
 * (p4r_remote_probe): REPORT gets a note when it is safe, a warning when
 * not, and a warning when it cannot be reached -- it stays recorded (a NAS
 * may be down). Free OUT with p4r_remote_add_result_free. */
int p4r_remote_add(p4r_repo *repo, const p4r_remote_add_opts *opts, const p4r_op_report *report,
		   p4r_remote_add_result *out);
void p4r_remote_add_result_free(p4r_remote_add_result *r);

/* One configured remote. */
typedef struct p4r_remote_entry {
	char *name;       /* owned */
	char *url;        /* remote.NAME.url, the last one read; owned */
	bool is_default;  /* core.remote names it */
} p4r_remote_entry;

typedef struct p4r_remote_list_result {
	p4r_remote_entry *v; /* in the configuration's order, each name once */
	size_t n;
} p4r_remote_list_result;

/* Every remote that has a remote.NAME.url in any configuration file. */
int p4r_remote_list(p4r_repo *repo, p4r_remote_list_result *out);
void p4r_remote_list_result_free(p4r_remote_list_result *r);

/* Removes every remote.NAME.* key from .p4reg/config and config.local,
 * core.remote when it names NAME, and what the registry remembers of the
 * remote's log (p4r_registry_sync_forget). P4R_ENOTFOUND "no remote named
 * 'x'" (nothing changed) when NAME is invalid or not configured. */
int p4r_remote_remove(p4r_repo *repo, const char *name);

typedef struct p4r_remote_check_result {
	char name[P4R_REMOTE_NAME_MAX + 1]; /* the remote checked */
	char *url;                          /* as configured; owned */
	bool conditional_writes;            /* safe for concurrent pushes */
} p4r_remote_check_result;

/* Probes remote NAME (NULL: core.remote, or the only one); REPORT gets
 * the note or warning p4r_remote_add gives. A remote that accepted the
 * second conditional create is P4R_EREFUSED "remote 'x' ignores
 * conditional writes", with OUT filled (the command prints it first).
 * Free OUT with p4r_remote_check_result_free. */
int p4r_remote_check(p4r_repo *repo, const char *name, const p4r_op_report *report,
		     p4r_remote_check_result *out);
void p4r_remote_check_result_free(p4r_remote_check_result *r);

/* Converts remote NAME (NULL: the default) to format 2, chunk lists and
 * packs (sync.h, p4r_sync_convert); KEEP leaves the whole objects. REPORT
 * gets the bytes of the objects done. OUT->name is the remote's. */
typedef struct p4r_remote_convert_result {
	char name[P4R_REMOTE_NAME_MAX + 1];
	p4r_convert_result c;
} p4r_remote_convert_result;
int p4r_remote_convert(p4r_repo *repo, const char *name, bool keep, const p4r_op_report *report,
		       p4r_remote_convert_result *out);

#endif
