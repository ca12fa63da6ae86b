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

/* Appends VALUE trimmed, with inner runs of spaces folded to one. */
static void append_trimmed(char *buf, size_t bufsz, size_t *len, const char *v)
{
	bool space = false;

	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v; v++) {
		if (*v == ' ' || *v == '\t') {
			space = true;
			continue;
		}
		if (space && *len + 1 < bufsz)
			buf[(*len)++] = ' ';
		space = false;
		if (*len + 1 < bufsz)
			buf[(*len)++] = *v;
	}
	buf[*len] = '\0';
}

int p4r_sigv4_authorization(char *out, size_t outsz, const p4r_sigv4_key *key,
			    const char *method, const char *uri, const char *query,
			    const p4r_sigv4_header *headers, size_t nheaders,
			    const char *payload_hash, const char *amz_date)
{
	struct hdr h[MAX_HEADERS];
	char *creq = NULL, signed_names[1024], scope[128], sts[512], creq_hash[65], date[9];
	unsigned char k[32], sig[32];
	size_t cap = 8192, len = 0, slen = 0, i, j;
	char *secret = NULL;
	int n, rc = 0;

	if (nheaders > MAX_HEADERS || strlen(amz_date) != 16)
		return p4r_error_set(P4R_ERROR, "cannot sign: bad request shape");
	for (i = 0; i < nheaders; i++) {
		for (j = 0; headers[i].name[j] && j < sizeof(h[i].name) - 1; j++) {
			char c = headers[i].name[j];

			h[i].name[j] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
		}
		h[i].name[j] = '\0';
		h[i].value = headers[i].value;
	}
	qsort(h, nheaders, sizeof(h[0]), hdr_cmp);
	if (!(creq = malloc(cap)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	n = snprintf(creq, cap, "%s\n%s\n%s\n", method, uri, query ? query : "");
	if (n < 0 || (size_t)n >= cap)
		goto too_long;
	len = (size_t)n;
	signed_names[0] = '\0';
	for (i = 0; i < nheaders; i++) {
		n = snprintf(creq + len, cap - len, "%s:", h[i].name);
		if (n < 0 || (size_t)n >= cap - len)
			goto too_long;
		len += (size_t)n;
		append_trimmed(creq, cap - 1, &len, h[i].value);
		creq[len++] = '\n';
		creq[len] = '\0';
		n = snprintf(signed_names + slen, sizeof(signed_names) - slen, "%s%s", i ? ";" : "", h[i].name);
		if (n < 0 || (size_t)n >= sizeof(signed_names) - slen)
			goto too_long;
		slen += (size_t)n;
	}
	n = snprintf(creq + len, cap - len, "\n%s\n%s", signed_names, payload_hash);
	if (n < 0 || (size_t)n >= cap - len)
		goto too_long;
	len += (size_t)n;
	memcpy(date, amz_date, 8);
	date[8] = '\0';
	snprintf(scope, sizeof(scope), "%s/%s/%s/aws4_request", date, key->region, key->service);
	if ((rc = sha256_hex(creq_hash, creq, len)) < 0)
		goto done;
	snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, creq_hash);
	n = (int)strlen(key->secret_key) + 5;
	if (!(secret = malloc((size_t)n))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	snprintf(secret, (size_t)n, "AWS4%s", key->secret_key);
	if ((rc = hmac(k, secret, strlen(secret), date, strlen(date))) < 0 ||
	    (rc = hmac(k, k, 32, key->region, strlen(key->region))) < 0 ||
	    (rc = hmac(k, k, 32, key->service, strlen(key->service))) < 0 ||
	    (rc = hmac(k, k, 32, "aws4_request", 12)) < 0 ||
	    (rc = hmac(sig, k, 32, sts, strlen(sts))) < 0)
		goto done;
	n = snprintf(out, outsz, "AWS4-HMAC-SHA256 Credential=%s/%s,SignedHeaders=%s,Signature=",
		     key->access_key, scope, signed_names);
	if (n < 0 || (size_t)n + 65 > outsz)
		goto too_long;
	for (i = 0; i < 32; i++)
		snprintf(out + n + 2 * i, 3, "%02x", sig[i]);
	goto done;
too_long:
	rc = p4r_error_set(P4R_ERROR, "request too large to sign");
done:
	if (secret) {
		memset(secret, 0, strlen(secret));
		free(secret);
	}
	memset(k, 0, sizeof(k));
	free(creq);
	return rc;
}
