/* Remotes: where objects and registry event batches are pushed to and
 * fetched from. One interface (a table of operations) over two backends:
 * a folder (local disk, NAS mount, file:// URL) and an S3-compatible bucket
 * (s3://BUCKET/PREFIX). Layout on every remote (docs/remotes.md):
 *
 *   objects/ab/cd/<oid>        whole objects, Git LFS layout
 *   chunks/ab/cd/<oid>         format 2: the chunk list of an object (chunk.h)
 *   packs/ab/cd/<id>           format 2: chunks back to back, id their SHA-256
 *   p4reg-format.json          {"format": 2}; absent: format 1 (whole objects)
 *   log/<seq, 10 digits>.json  append-only batches of registry events
 *
 * Every operation may be called from several threads at once on one remote.
 * What a remote returns is not trusted: every backend bounds what it reads
 * by what was asked for and refuses anything but a regular file or a
 * well-formed answer (remote/dir.c, remote/s3.c). */
#ifndef P4REG_REMOTE_H
#define P4REG_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include "p4reg/chunk.h"
#include "p4reg/config.h"
#include "p4reg/hash.h"
#include "p4reg/store.h"

#define P4R_REMOTE_NAME_MAX 64
/* A batch file larger than this is hostile (a batch holds one push). */
#define P4R_REMOTE_BATCH_MAX ((size_t)16 << 20)

typedef enum p4r_remote_kind {
	P4R_REMOTE_DIR,
	P4R_REMOTE_S3,
} p4r_remote_kind;

/* A parsed remote URL. */
typedef struct p4r_remote_url {
	p4r_remote_kind kind;
	char *path;   /* DIR: absolute folder path; owned */
	char *bucket; /* S3: bucket name; owned */
	char *prefix; /* S3: key prefix without leading/trailing '/', maybe ""; owned */
} p4r_remote_url;

/* Parses URL: "s3://bucket[/prefix]", "file:///abs/path", or a folder path
 * (relative paths are made absolute against the working directory).
 * P4R_EUSAGE on anything malformed. */
int p4r_remote_url_parse(p4r_remote_url *out, const char *url);
void p4r_remote_url_clear(p4r_remote_url *u);

/* True when NAME is a valid remote name: 1..64 of [A-Za-z0-9_-], not
 * starting with '-'. */
bool p4r_remote_name_valid(const char *name);

typedef struct p4r_remote p4r_remote;

/* A second file for downloads (p4r_remote.tee): a pull in copy mode gets
 * the work-tree file from the same read as the store's object, so the
 * bytes are read once (remote/transfer.c). Called from the transfer's
 * threads, one object per call. */
typedef struct p4r_remote_tee {
	/* Before OID is downloaded into the store's temporary file STORE_FD:
	 * 0 with *FD an empty file of the caller's that is to get every byte
	 * too, or with *FD -1 for none. */
	int (*open)(void *payload, const p4r_oid *oid, int store_fd, int *fd);
	/* After every OPEN that gave a descriptor, which it closes: OK when
	 * the bytes hashed to OID, before the store's object is published:
	 * the file is made durable (a failure stops the download and nothing
	 * is published); not OK, it is dropped. */
	int (*close)(void *payload, const p4r_oid *oid, int fd, bool ok);
	void *payload;
} p4r_remote_tee;

/* An unfinished multipart upload on an S3 remote: the parts a push sent
 * before it was killed or failed. The next push of the same object goes
 * on from them; gc -r aborts the ones older than its grace period. */
#define P4R_REMOTE_UPLOAD_ID_MAX 512
typedef struct p4r_remote_upload {
	char key[96];         /* "objects/ab/cd/<oid>", relative to the remote's root */
	char id[P4R_REMOTE_UPLOAD_ID_MAX + 1]; /* the server's id, checked (see remote/s3.c) */
	int64_t initiated_s;  /* when it started (server clock, seconds since 1970); 0: unknown */
} p4r_remote_upload;
/* The most uploads one listing returns (list_uploads' *TRUNCATED beyond). */
#define P4R_REMOTE_UPLOADS_MAX 10000

/* An object a remote lists (gc -r): its oid (from a key of the layout
 * objects/ab/cd/<oid>, checked), its size and when it was last written
 * (the server's clock or the file's mtime/ctime, seconds since 1970; 0
 * when unknown). */
typedef struct p4r_remote_object {
	p4r_oid oid;
	uint64_t size;
	int64_t modified_s;
	bool chunked;         /* gc -r: the object's chunk list (chunks/), not its whole copy */
} p4r_remote_object;
/* Told each listed object; < 0 stops the listing with that code. */
typedef int (*p4r_remote_object_fn)(const p4r_remote_object *o, void *payload);

/* Told when an upload goes on from the parts an earlier push left: KEY,
 * how many of its PARTS are already on the remote. Any thread. */
typedef void (*p4r_resume_fn)(const char *key, unsigned reused, unsigned parts, void *payload);

/* Settings of one remote, read from the configuration (see remote.c). */
typedef struct p4r_remote_opts {
	int jobs;                     /* parallel transfers (remote.NAME.jobs, default 4) */
	uint64_t multipart_threshold; /* S3: objects above go multipart (default 64 MiB) */
	uint64_t part_size;           /* S3: part size (default 16 MiB) */
	int format;                   /* remote.NAME.format: the layout a first push
				       * writes (1 whole objects, 2 chunks; default 2) */
} p4r_remote_opts;

/* Settings given on the command line (p4reg get): they win over the
 * configuration. */
typedef struct p4r_remote_given {
	const char *endpoint; /* S3: NULL for remote.NAME.endpoint, else AWS */
	const char *region;   /* S3: NULL for remote.NAME.region, else us-east-1 */
	bool path_style;      /* S3: true forces path-style requests */
} p4r_remote_given;

/* The operations of a backend. Keys are relative to the remote's root
 * ("objects/ab/cd/<oid>", "log/0000000001.json"). */
typedef struct p4r_remote_ops {
	/* *OUT true when KEY exists (as stat below, without the size). */
	int (*exists)(p4r_remote *r, const char *key, bool *out);
	/* *EXISTS true when KEY is there as something get_file would serve
	 * (a folder remote: a regular file, a symlink or a FIFO is not; S3: a
	 * 200 to HEAD), and then *SIZE is its length in bytes, learnt without
	 * reading it (fstat; the HEAD's Content-Length, which must be there
	 * and well-formed). Absent is 0 with *EXISTS false, not an error. */
	int (*stat)(p4r_remote *r, const char *key, bool *exists, uint64_t *size);
	/* Uploads the SIZE bytes of the local file PATH as KEY, so that KEY
	 * is either absent or complete. WANT (nullable) is the oid the bytes
	 * must have: a mismatch is P4R_EINTEGRITY and nothing is left. */
	int (*put_file)(p4r_remote *r, const char *key, const char *path, uint64_t size,
			const p4r_oid *want, p4r_progress_fn progress, void *payload);
	/* Writes KEY's bytes to FD (from offset 0); feeds them to H in order
	 * when H is non-NULL and sets *HASHED, else leaves *HASHED false (the
	 * caller hashes the file). SIZE is the object's recorded size: never
	 * more than SIZE bytes reach FD, and a KEY of another size is
	 * P4R_EINTEGRITY (a server breaking the protocol, e.g. more bytes than
	 * a range asked for, is P4R_ERROR). P4R_ENOTFOUND when KEY is absent. */
	int (*get_file)(p4r_remote *r, const char *key, uint64_t size, int fd, p4r_hasher *h,
			bool *hashed, p4r_progress_fn progress, void *payload);
	/* Optional (NULL: the backend has none): get_file that writes every
	 * byte to FD2 as well, from the same read, and always feeds H (not
	 * NULL). */
	int (*get_file_tee)(p4r_remote *r, const char *key, uint64_t size, int fd, int fd2,
			    p4r_hasher *h, p4r_progress_fn progress, void *payload);
	/* Writes the LEN bytes of KEY from offset OFF to FD at FD_OFF (and to
	 * FD2 there, unless -1): P4R_EINTEGRITY when KEY ends before them,
	 * P4R_ENOTFOUND when it is absent. Never more than LEN bytes. */
	int (*get_range)(p4r_remote *r, const char *key, uint64_t off, uint64_t len, int fd, int fd2,
			 uint64_t fd_off, p4r_progress_fn progress, void *payload);
	/* Reads KEY (at most MAX bytes, else P4R_EINTEGRITY; reading stops
	 * there) into a malloc'd, NUL-terminated *OUT; P4R_ENOTFOUND when
	 * absent. */
	int (*get_small)(p4r_remote *r, const char *key, size_t max, char **out, size_t *len);
	/* Creates KEY with BUF atomically, only if it does not exist:
	 * P4R_EEXISTS when it does (another writer won). */
	int (*create_excl)(p4r_remote *r, const char *key, const void *buf, size_t len);
	/* Removes KEY (absent is fine). */
	int (*remove)(p4r_remote *r, const char *key);
	/* NULL for a backend that keeps no uploads on the server (a folder).
	 * The unfinished uploads of objects under the remote's root (other
	 * keys are not p4reg's and are left out) into a malloc'd *OUT, at most
	 * P4R_REMOTE_UPLOADS_MAX (*TRUNCATED when the server has more). */
	int (*list_uploads)(p4r_remote *r, p4r_remote_upload **out, size_t *n, bool *truncated);
	/* Aborts U: its parts are dropped (already gone is fine). */
	int (*abort_upload)(p4r_remote *r, const p4r_remote_upload *u);
	/* Every object under the remote's TOP/ ("objects", "chunks" or
	 * "packs") to FN, in no set order (gc -r). Only a regular file (a
	 * folder) or a key (S3) named TOP/ab/cd/<oid>, ab and cd the oid's
	 * first four digits, is listed; anything else there (other names,
	 * links, folders, keys outside the prefix) is counted in *FOREIGN and
	 * never listed, so it is never a candidate for removal. An absent
	 * TOP/ lists nothing. */
	int (*list_objects)(p4r_remote *r, const char *top, p4r_remote_object_fn fn, void *payload,
			    size_t *foreign);
	/* Backend specific state. */
	void (*free)(p4r_remote *r);
} p4r_remote_ops;

/* What a transfer knows of the local side (remote/chunked.c uses it to
 * move only the chunks the other side lacks); set by the sync layer
 * (remote/sync_chunks.c), NULL without a repository. Called from any
 * thread. */
typedef struct p4r_remote_chunk_hooks {
	/* Up to MAX objects of at least P4R_CHUNK_FROM bytes related to OID
	 * (other versions of the models that have it), newest first, into a
	 * malloc'd *OUT. */
	int (*related)(void *payload, const p4r_oid *oid, size_t max, p4r_oid **out, size_t *n);
	/* The local chunk list of OID (chunk.h): the kept one, or with
	 * COMPUTE one computed from the object's bytes when none is kept
	 * (p4r_store_chunklist); P4R_ENOTFOUND when the store lacks OID (or,
	 * without COMPUTE, when no list is kept). */
	int (*local_list)(void *payload, const p4r_oid *oid, bool compute, p4r_chunklist *l);
	/* Opens the store's object OID for reading into *FD. */
	int (*open)(void *payload, const p4r_oid *oid, int *fd);
	/* L was computed from the store's bytes, verified: keep it. */
	int (*keep)(void *payload, const p4r_chunklist *l);
	void *payload;
} p4r_remote_chunk_hooks;

struct p4r_remote {
	const p4r_remote_ops *ops;
	char name[P4R_REMOTE_NAME_MAX + 1];
	char *url;               /* as configured; owned */
	p4r_remote_url parsed;
	p4r_remote_opts opts;
	char *tmp_dir;           /* the local .p4reg/tmp (downloads); owned; NULL without a repository */
	bool no_repo;            /* opened by p4r_remote_open_url: settings live in the user's config */
	const p4r_remote_given *given; /* during p4r_remote_open_url only, else NULL */
	p4r_resume_fn on_resume; /* nullable: see p4r_resume_fn (push sets it) */
	const p4r_remote_tee *tee; /* nullable: see p4r_remote_tee (pull sets it); used
				  * only when the backend has get_file_tee */
	void *resume_payload;
	const p4r_remote_chunk_hooks *chunk_hooks; /* nullable: see p4r_remote_chunk_hooks */
	pthread_mutex_t format_lock; /* guards FORMAT */
	int format;              /* the remote's layout once read (remote/chunked.c); 0: not yet */
	void *impl;              /* backend state */
};

/* Opens remote NAME from CFG (NULL or "": core.remote, else the only
 * remote). META_DIR is the local .p4reg folder. P4R_ENOTFOUND "no remote
 * named 'x'" / "no remote configured; see 'p4reg remote add'". */
int p4r_remote_open(p4r_remote **out, p4r_config *cfg, const char *meta_dir, const char *name);
void p4r_remote_free(p4r_remote *r);

/* Opens the remote at URL without a repository (p4reg get). USER_CFG is
 * the user's own configuration (p4r_config_open_user): when a remote there
 * has this URL (remote.NAME.url, compared once parsed), it lends its name
 * and settings (endpoint, region, allowHttp, credentials, jobs ...);
 * otherwise the remote is named by its URL and reads no configuration.
 * GIVEN (nullable) wins over either. Credentials come from the
 * environment first, as for every remote. */
int p4r_remote_open_url(p4r_remote **out, p4r_config *user_cfg, const char *url,
			const p4r_remote_given *given);

/* Downloads OID (SIZE bytes, the size its version record claims) into FD
 * from offset 0, hashed while written (PROGRESS gets byte increments, as
 * from get_file): P4R_EINTEGRITY "object OID on
 * remote 'R' is corrupt ..." when the bytes or their count differ (FD then
 * holds garbage the caller throws away), P4R_ENOTFOUND when the remote
 * lacks it. TMP names FD in messages. */
int p4r_remote_get_verified(p4r_remote *r, const p4r_oid *oid, int64_t size, int fd,
			    const char *tmp, p4r_progress_fn progress, void *payload);

/* p4r_remote_get_verified_tee (below) that also says how many bytes came
 * from the remote: *RECEIVED is less than SIZE when chunks of related
 * objects in the local store were used (R->chunk_hooks). */
int p4r_remote_get_object(p4r_remote *r, const p4r_oid *oid, int64_t size, int fd, int fd2,
			  const char *tmp, uint64_t *received, p4r_progress_fn progress, void *payload);

/* p4r_remote_get_verified writing every byte to FD2 as well (-1: none;
 * else the backend must have get_file_tee). FD2 is checked like FD: its
 * bytes are the ones hashed, and it must hold SIZE of them. */
int p4r_remote_get_verified_tee(p4r_remote *r, const p4r_oid *oid, int64_t size, int fd, int fd2,
				const char *tmp, p4r_progress_fn progress, void *payload);

/* Backend constructors (remote/dir.c, remote/s3.c): fill R->ops / R->impl.
 * CFG may be NULL: no configuration, defaults and R->given only. */
int p4r_remote_dir_init(p4r_remote *r);
int p4r_remote_s3_init(p4r_remote *r, p4r_config *cfg);

/* "objects/ab/cd/<oid>" into BUF. */
void p4r_remote_object_key(char *buf, size_t bufsz, const p4r_oid *oid);
/* "log/0000000042.json" into BUF. */
void p4r_remote_log_key(char *buf, size_t bufsz, int64_t seq);

/* Keys of the format-2 layout: "chunks/ab/cd/<oid>", "packs/ab/cd/<id>". */
void p4r_remote_chunks_key(char *buf, size_t bufsz, const p4r_oid *oid);
void p4r_remote_pack_key(char *buf, size_t bufsz, const p4r_oid *pack);

/* The chunk list of OID on R into L, read whole (at most 256 MiB) and
 * checked (chunk.h): P4R_ENOTFOUND when R has none, P4R_EINTEGRITY when
 * it is damaged. */
int p4r_remote_get_chunklist(p4r_remote *r, const p4r_oid *oid, p4r_chunklist *l);

/* The remote's layout (remote/chunked.c): 1 (whole objects) or 2 (chunk
 * lists and packs beside whole objects), read once from
 * p4reg-format.json. FOR_WRITE: a remote with no format yet and no log
 * (nothing pushed) becomes remote.NAME.format's (default 2). A format
 * newer than this p4reg knows is refused (P4R_EUSAGE). */
int p4r_remote_format(p4r_remote *r, bool for_write, int *format);

/* *THERE when the remote has OID (its chunk list or its whole object),
 * with *SIZE its size (nullable). */
int p4r_remote_has_object(p4r_remote *r, const p4r_oid *oid, bool *there, uint64_t *size);

/* Uploads the store's object OID (SIZE bytes, at PATH) unless the remote
 * has it: on a format-2 remote an object of P4R_CHUNK_FROM bytes or more
 * goes as a chunk list and the chunks the remote lacks (those of the
 * chunk lists of its related objects there are not sent again), packed;
 * else whole. The bytes are re-hashed on the way (P4R_EINTEGRITY when they
 * are not OID; the chunk list is then not written). *SENT: bytes
 * uploaded, 0 when the remote had it (*PRESENT). */
int p4r_remote_put_object(p4r_remote *r, const p4r_oid *oid, const char *path, uint64_t size,
			  bool *present, uint64_t *sent, p4r_progress_fn progress, void *payload);

/* Checks that the remote refuses a second atomic create of one key (the
 * guarantee concurrent pushes rely on): *SAFE false when it accepted it. */
int p4r_remote_probe(p4r_remote *r, bool *safe);

#endif
