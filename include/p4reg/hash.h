/* SHA-256 object ids (OpenSSL EVP), streamed in constant memory. */
#ifndef P4REG_HASH_H
#define P4REG_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define P4R_OID_HEXLEN 64

/* An object id: the lowercase hex SHA-256 of the object's bytes, NUL-terminated. */
typedef struct p4r_oid {
	char hex[P4R_OID_HEXLEN + 1];
} p4r_oid;

typedef struct p4r_hasher p4r_hasher;

/* Incremental hashing; every _new has a _free that accepts NULL. */
int p4r_hasher_new(p4r_hasher **out);
int p4r_hasher_update(p4r_hasher *h, const void *buf, size_t len);
/* Finishes the digest into OUT; the hasher can then only be freed or reset. */
int p4r_hasher_final(p4r_hasher *h, p4r_oid *out);
int p4r_hasher_reset(p4r_hasher *h);
void p4r_hasher_free(p4r_hasher *h);

/* Hashes everything readable from FD (from its current offset); SIZE gets the
 * byte count. Reads in large blocks, memory use is constant. */
int p4r_hash_fd(p4r_oid *out, uint64_t *size, int fd);
int p4r_hash_file(p4r_oid *out, uint64_t *size, const char *path);
int p4r_hash_buffer(p4r_oid *out, const void *buf, size_t len);

/* True when S is exactly 64 lowercase hex digits. */
bool p4r_oid_valid(const char *s);

/* "ROOT/ab/cd/<oid>" into BUF: the fan-out every object folder uses (the
 * store, .git/lfs/objects, a remote's keys). The oid becomes a path, so
 * nothing but 64 hex digits may get there: P4R_EUSAGE for a malformed
 * oid, P4R_ERROR when BUF is too small. */
int p4r_oid_path(char *buf, size_t bufsz, const char *root, const p4r_oid *oid);
/* Copies a valid hex id into OUT; P4R_EUSAGE ("malformed oid") otherwise. */
int p4r_oid_parse(p4r_oid *out, const char *s);
bool p4r_oid_equal(const p4r_oid *a, const p4r_oid *b);

/* The 32 raw bytes of a SHA-256 as an oid, and back (OID must be valid). */
void p4r_oid_from_raw(p4r_oid *out, const unsigned char raw[32]);
void p4r_oid_to_raw(const p4r_oid *oid, unsigned char raw[32]);

#endif
