/* AWS Signature Version 4: canonical request, string to sign, the derived
 * signing key (HMAC-SHA256 chain through libcrypto's EVP_MAC). */
#include "p4reg/sigv4.h"
#include "p4reg/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/crypto.h>

#define MAX_HEADERS 32

static int hmac(unsigned char out[32], const void *key, size_t keylen, const void *msg, size_t len)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[2];
	size_t outl = 0;
	int ok;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	ok = ctx && EVP_MAC_init(ctx, key, keylen, params) == 1 &&
	     EVP_MAC_update(ctx, msg, len) == 1 && EVP_MAC_final(ctx, out, &outl, 32) == 1 && outl == 32;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok ? 0 : p4r_error_set(P4R_ERROR, "HMAC-SHA256 failed");
}

static int sha256_hex(char out[65], const void *msg, size_t len)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	int i;

	if (EVP_Digest(msg, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return p4r_error_set(P4R_ERROR, "SHA-256 failed");
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int p4r_sigv4_uri_encode(char *out, size_t outsz, const char *s, bool encode_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			    c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && !encode_slash);

		if (o + 4 > outsz)
			return p4r_error_set(P4R_ERROR, "URI too long to sign");
		if (keep) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (o >= outsz)
		return p4r_error_set(P4R_ERROR, "URI too long to sign");
	out[o] = '\0';
	return 0;
}

struct hdr {
	char name[64];
	const char *value;
};

static int hdr_cmp(const void *a, const void *b)
{
	return strcmp(((const struct hdr *)a)->name, ((const struct hdr *)b)->name);
}

/* A growing string: the canonical request holds header values of any
 * length (a session token is several KiB), never cut short. */
struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *p;

		while (b->len + n + 1 > cap)
			cap *= 2;
		if (!(p = realloc(b->p, cap))) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* Appends VALUE trimmed, with inner runs of spaces folded to one. */
static void buf_trimmed(struct buf *b, const char *v)
{
	bool space = false;

	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v; v++) {
		if (*v == ' ' || *v == '\t') {
			space = true;
			continue;
		}
		if (space)
			buf_add(b, " ", 1);
		space = false;
		buf_add(b, v, 1);
	}
}

/* Lowercased, sorted copies of the header names; P4R_ERROR on a name
 * that does not fit or a value that cannot be one header line (either
 * would be signed other than sent). */
static int sorted_headers(struct hdr *h, const p4r_sigv4_header *headers, size_t nheaders)
{
	size_t i, j;

	for (i = 0; i < nheaders; i++) {
		for (j = 0; headers[i].name[j]; j++) {
			char c = headers[i].name[j];

			if (j >= sizeof(h[i].name) - 1)
				return p4r_error_set(P4R_ERROR, "cannot sign: header name too long");
			h[i].name[j] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
		}
		h[i].name[j] = '\0';
		h[i].value = headers[i].value;
		if (strpbrk(h[i].value, "\r\n"))
			return p4r_error_set(P4R_ERROR, "cannot sign: header '%s' holds a line break", h[i].name);
	}
	qsort(h, nheaders, sizeof(h[0]), hdr_cmp);
	return 0;
}

/* The canonical request and the signed header list, per the SigV4 spec. */
static int canonical_request(struct buf *creq, struct buf *names, const char *method, const char *uri,
			     const char *query, const struct hdr *h, size_t nheaders, const char *payload_hash)
{
	size_t i;

	buf_str(creq, method);
	buf_str(creq, "\n");
	buf_str(creq, uri);
	buf_str(creq, "\n");
	buf_str(creq, query ? query : "");
	buf_str(creq, "\n");
	buf_str(names, "");
	for (i = 0; i < nheaders; i++) {
		buf_str(creq, h[i].name);
		buf_str(creq, ":");
		buf_trimmed(creq, h[i].value);
		buf_str(creq, "\n");
		if (i)
			buf_str(names, ";");
		buf_str(names, h[i].name);
	}
	buf_str(creq, "\n");
	buf_str(creq, names->p ? names->p : "");
	buf_str(creq, "\n");
	buf_str(creq, payload_hash);
	return creq->oom || names->oom ? p4r_error_set(P4R_ERROR, "out of memory") : 0;
}

/* The signing key: HMAC chain over date, region, service, "aws4_request". */
static int signing_key(unsigned char k[32], const p4r_sigv4_key *key, const char *date)
{
	size_t n = strlen(key->secret_key) + 5;
	char *secret = malloc(n);
	int rc;

	if (!secret)
		return p4r_error_set(P4R_ERROR, "out of memory");
	snprintf(secret, n, "AWS4%s", key->secret_key);
	if ((rc = hmac(k, secret, n - 1, date, strlen(date))) == 0 &&
	    (rc = hmac(k, k, 32, key->region, strlen(key->region))) == 0 &&
	    (rc = hmac(k, k, 32, key->service, strlen(key->service))) == 0)
		rc = hmac(k, k, 32, "aws4_request", 12);
	OPENSSL_cleanse(secret, n);
	free(secret);
	return rc;
}

int p4r_sigv4_authorization(char *out, size_t outsz, const p4r_sigv4_key *key,
			    const char *method, const char *uri, const char *query,
			    const p4r_sigv4_header *headers, size_t nheaders,
			    const char *payload_hash, const char *amz_date)
{
	struct hdr h[MAX_HEADERS];
	struct buf creq = { 0 }, names = { 0 };
	char scope[256], sts[512], creq_hash[65], date[9];
	unsigned char k[32], sig[32];
	size_t i;
	int n, rc;

	if (nheaders > MAX_HEADERS || strlen(amz_date) != 16)
		return p4r_error_set(P4R_ERROR, "cannot sign: bad request shape");
	if ((rc = sorted_headers(h, headers, nheaders)) < 0 ||
	    (rc = canonical_request(&creq, &names, method, uri, query, h, nheaders, payload_hash)) < 0 ||
	    (rc = sha256_hex(creq_hash, creq.p, creq.len)) < 0)
		goto done;
	memcpy(date, amz_date, 8);
	date[8] = '\0';
	n = snprintf(scope, sizeof(scope), "%s/%s/%s/aws4_request", date, key->region, key->service);
	if (n < 0 || (size_t)n >= sizeof(scope))
		goto too_long;
	n = snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, creq_hash);
	if (n < 0 || (size_t)n >= sizeof(sts))
		goto too_long;
	if ((rc = signing_key(k, key, date)) < 0 || (rc = hmac(sig, k, 32, sts, (size_t)n)) < 0)
		goto done;
	n = snprintf(out, outsz, "AWS4-HMAC-SHA256 Credential=%s/%s,SignedHeaders=%s,Signature=",
		     key->access_key, scope, names.p);
	if (n < 0 || (size_t)n + 65 > outsz)
		goto too_long;
	for (i = 0; i < 32; i++)
		snprintf(out + n + 2 * i, 3, "%02x", sig[i]);
	goto done;
too_long:
	rc = p4r_error_set(P4R_ERROR, "request too large to sign");
done:
	OPENSSL_cleanse(k, sizeof(k));
	free(creq.p);
	free(names.p);
	return rc;
}
