/* SHA-256 object ids through OpenSSL EVP, streamed in constant memory. */
#include "p4reg/hash.h"
#include "p4reg/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>

/* Large enough that syscalls cost nothing next to SHA-256, small enough to
 * stay in L2/L3 while it is hashed. */
#define HASH_BLOCK (1024 * 1024)

struct p4r_hasher {
	EVP_MD_CTX *ctx; /* owned; EVP_MD_CTX_free */
};

/* Translates OpenSSL's error queue (which is per thread) into ours. */
static int ssl_error(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	ERR_clear_error();
	if (!e)
		return p4r_error_set(P4R_ERROR, "%s failed", what);
	ERR_error_string_n(e, buf, sizeof(buf));
	return p4r_error_set(P4R_ERROR, "%s failed: %s", what, buf);
}

int p4r_hasher_new(p4r_hasher **out)
{
	p4r_hasher *h;
	int rc;

	*out = NULL;
	if (!(h = calloc(1, sizeof(*h))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	if (!(h->ctx = EVP_MD_CTX_new())) {
		free(h);
		return ssl_error("EVP_MD_CTX_new");
	}
	if ((rc = p4r_hasher_reset(h)) < 0) {
		p4r_hasher_free(h);
		return rc;
	}
	*out = h;
	return 0;
}

int p4r_hasher_reset(p4r_hasher *h)
{
	if (EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
		return ssl_error("SHA-256 init");
	return 0;
}

int p4r_hasher_update(p4r_hasher *h, const void *buf, size_t len)
{
	if (len && EVP_DigestUpdate(h->ctx, buf, len) != 1)
		return ssl_error("SHA-256 update");
	return 0;
}

int p4r_hasher_final(p4r_hasher *h, p4r_oid *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (EVP_DigestFinal_ex(h->ctx, md, &mdlen) != 1)
		return ssl_error("SHA-256 final");
	if (mdlen * 2 != P4R_OID_HEXLEN)
		return p4r_error_set(P4R_ERROR, "SHA-256 gave %u bytes", mdlen);
	for (i = 0; i < mdlen; i++) {
		out->hex[2 * i] = hex[md[i] >> 4];
		out->hex[2 * i + 1] = hex[md[i] & 0xf];
	}
	out->hex[P4R_OID_HEXLEN] = '\0';
	return 0;
}

void p4r_hasher_free(p4r_hasher *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

/* NAME is only for messages; NULL names the descriptor instead. */
static int hash_fd_named(p4r_oid *out, uint64_t *size, int fd, const char *name)
{
	p4r_hasher *h = NULL;
	unsigned char *buf = NULL;
	uint64_t total = 0;
	ssize_t n;
	int rc;

	if (size)
		*size = 0;
	/* pipes refuse advice (ESPIPE); it is only a hint anyway */
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if ((rc = p4r_hasher_new(&h)) < 0)
		return rc;
	if (!(buf = malloc(HASH_BLOCK))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	for (;;) {
		n = read(fd, buf, HASH_BLOCK);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = name ? p4r_error_errno("cannot read '%s'", name)
				  : p4r_error_errno("cannot read file descriptor %d", fd);
			goto done;
		}
		if (n == 0)
			break;
		if ((rc = p4r_hasher_update(h, buf, (size_t)n)) < 0)
			goto done;
		total += (uint64_t)n;
	}
	if ((rc = p4r_hasher_final(h, out)) < 0)
		goto done;
	if (size)
		*size = total;
done:
	free(buf);
	p4r_hasher_free(h);
	return rc;
}

int p4r_hash_fd(p4r_oid *out, uint64_t *size, int fd)
{
	return hash_fd_named(out, size, fd, NULL);
}

int p4r_hash_file(p4r_oid *out, uint64_t *size, const char *path)
{
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return p4r_error_errno("cannot open '%s'", path);
	rc = hash_fd_named(out, size, fd, path);
	close(fd);
	return rc;
}

int p4r_hash_buffer(p4r_oid *out, const void *buf, size_t len)
{
	p4r_hasher *h = NULL;
	int rc;

	if ((rc = p4r_hasher_new(&h)) < 0)
		return rc;
	if ((rc = p4r_hasher_update(h, buf, len)) == 0)
		rc = p4r_hasher_final(h, out);
	p4r_hasher_free(h);
	return rc;
}

bool p4r_oid_valid(const char *s)
{
	size_t i;

	if (!s)
		return false;
	for (i = 0; i < P4R_OID_HEXLEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[P4R_OID_HEXLEN] == '\0';
}

int p4r_oid_parse(p4r_oid *out, const char *s)
{
	if (!p4r_oid_valid(s))
		return p4r_error_set(P4R_EUSAGE, "malformed oid '%.80s'", s ? s : "");
	memcpy(out->hex, s, P4R_OID_HEXLEN + 1);
	return 0;
}

bool p4r_oid_equal(const p4r_oid *a, const p4r_oid *b)
{
	return memcmp(a->hex, b->hex, P4R_OID_HEXLEN) == 0;
}

int p4r_oid_path(char *buf, size_t bufsz, const char *root, const p4r_oid *oid)
{
	int n;

	if (!p4r_oid_valid(oid->hex))
		return p4r_error_set(P4R_EUSAGE, "malformed oid '%.64s'", oid->hex);
	n = snprintf(buf, bufsz, "%s/%.2s/%.2s/%s", root, oid->hex, oid->hex + 2, oid->hex);
	if (n < 0 || (size_t)n >= bufsz)
		return p4r_error_set(P4R_ERROR, "path of object %s below '%s' is too long", oid->hex, root);
	return 0;
}

void p4r_oid_from_raw(p4r_oid *out, const unsigned char raw[32])
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < 32; i++) {
		out->hex[2 * i] = digits[raw[i] >> 4];
		out->hex[2 * i + 1] = digits[raw[i] & 15];
	}
	out->hex[P4R_OID_HEXLEN] = '\0';
}

static unsigned char nibble(char c)
{
	return (unsigned char)(c <= '9' ? c - '0' : c - 'a' + 10);
}

void p4r_oid_to_raw(const p4r_oid *oid, unsigned char raw[32])
{
	size_t i;

	for (i = 0; i < 32; i++)
		raw[i] = (unsigned char)(nibble(oid->hex[2 * i]) << 4 | nibble(oid->hex[2 * i + 1]));
}
