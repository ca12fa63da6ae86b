/* AWS Signature Version 4 (HMAC-SHA256 from libcrypto) for S3 requests. */
#ifndef P4REG_SIGV4_H
#define P4REG_SIGV4_H

#include <stdbool.h>
#include <stddef.h>

typedef struct p4r_sigv4_header {
	const char *name;  /* any case; signed lowercased */
	const char *value; /* trimmed, inner runs of spaces folded */
} p4r_sigv4_header;

/* What a request is signed with. */
typedef struct p4r_sigv4_key {
	const char *access_key;
	const char *secret_key;
	const char *region;
	const char *service;   /* "s3" */
} p4r_sigv4_key;

/* Writes the Authorization header value ("AWS4-HMAC-SHA256 Credential=...,
 * SignedHeaders=...,Signature=...") into OUT. URI is the already encoded
 * path, QUERY the already encoded and sorted query ("" when none), HEADERS
 * every header to sign (host and x-amz-date included), PAYLOAD_HASH the
 * lowercase hex SHA-256 of the body, AMZ_DATE "YYYYMMDDTHHMMSSZ".
 * Header values of any length are signed whole (never cut short); a value
 * with a line break is refused. P4R_ERROR when OUT is too small, a value
 * is refused or libcrypto fails. */
int p4r_sigv4_authorization(char *out, size_t outsz, const p4r_sigv4_key *key,
			    const char *method, const char *uri, const char *query,
			    const p4r_sigv4_header *headers, size_t nheaders,
			    const char *payload_hash, const char *amz_date);

/* URI-encodes S as SigV4 wants (unreserved A-Za-z0-9-_.~ kept, '/' kept
 * unless ENCODE_SLASH) into OUT; P4R_ERROR when it does not fit. */
int p4r_sigv4_uri_encode(char *out, size_t outsz, const char *s, bool encode_slash);

#endif
