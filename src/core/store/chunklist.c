/* Chunk lists (chunk.h): the chunks of one object in order, and on a
 * remote the packs they live in. The binary form (docs/remotes.md), all
 * little-endian:
 *
 *     0   8   magic "P4RCHL1\n"
 *     8   32  object oid (raw SHA-256)
 *     40  8   object size
 *     48  4   npacks
 *     52  4   nchunks
 *     56  npacks x 32   pack ids
 *     ..  nchunks x 48  id[32], pack u32 (0xffffffff: none), len u32, pack_off u64
 *
 * One canonical encoding: whatever decodes encodes back to the same bytes. */
#include "p4reg/chunk.h"
#include "p4reg/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "P4RCHL1\n"
#define HEADER_LEN 56
#define PACK_LEN 32
#define CHUNK_LEN 48

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
	int i;

	for (i = 0; i < bytes; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
	uint64_t v = 0;
	int i;

	for (i = bytes - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* OID's raw bytes; false for a malformed oid. */
static bool oid_raw(const p4r_oid *oid, unsigned char raw[32])
{
	int i, hi, lo;

	if (!p4r_oid_valid(oid->hex))
		return false;
	for (i = 0; i < 32; i++) {
		hi = hexval(oid->hex[2 * i]);
		lo = hexval(oid->hex[2 * i + 1]);
		raw[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

static void oid_from_raw(p4r_oid *oid, const unsigned char raw[32])
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		oid->hex[2 * i] = hex[raw[i] >> 4];
		oid->hex[2 * i + 1] = hex[raw[i] & 0xf];
	}
	oid->hex[P4R_OID_HEXLEN] = '\0';
}

int p4r_chunklist_add(p4r_chunklist *l, const p4r_chunk *c)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 256;
		void *p = realloc(l->chunks, ncap * sizeof(*l->chunks));

		if (!p)
			return p4r_error_set(P4R_ERROR, "out of memory");
		l->chunks = p;
		l->cap = ncap;
	}
	l->chunks[l->n++] = *c;
	return 0;
}

int p4r_chunklist_pack(p4r_chunklist *l, const unsigned char id[32], uint32_t *index)
{
	void *p;
	size_t i;

	for (i = 0; i < l->npacks; i++) {
		if (!memcmp(l->packs[i], id, 32)) {
			*index = (uint32_t)i;
			return 0;
		}
	}
	if (l->npacks >= P4R_CHUNK_NO_PACK)
		return p4r_error_set(P4R_ERROR, "too many packs in one chunk list");
	if (!(p = realloc(l->packs, (l->npacks + 1) * sizeof(*l->packs))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	l->packs = p;
	memcpy(l->packs[l->npacks], id, 32);
	*index = (uint32_t)l->npacks++;
	return 0;
}

void p4r_chunklist_clear(p4r_chunklist *l)
{
	if (!l)
		return;
	free(l->packs);
	free(l->chunks);
	memset(l, 0, sizeof(*l));
}

/* What is wrong with L's chunks, into WHY ("" when nothing is). PACKED:
 * 1 every chunk names a pack, 0 none does, -1 either (encode). */
static void check_chunks(const p4r_chunklist *l, int packed, char *why, size_t whysz)
{
	uint64_t sum = 0;
	size_t i;

	why[0] = '\0';
	if (packed == 0 && l->npacks)
		snprintf(why, whysz, "a local list names %zu packs", l->npacks);
	else if (l->n == 0 && l->size > 0)
		snprintf(why, whysz, "no chunks for %llu bytes", (unsigned long long)l->size);
	for (i = 0; i < l->n && !why[0]; i++) {
		const p4r_chunk *c = &l->chunks[i];
		bool none = c->pack == P4R_CHUNK_NO_PACK;

		if (c->len < 1 || c->len > P4R_CHUNK_MAX)
			snprintf(why, whysz, "chunk %zu has %u bytes", i, c->len);
		else if (packed == 1 && none)
			snprintf(why, whysz, "chunk %zu is in no pack", i);
		else if (packed == 0 && !none)
			snprintf(why, whysz, "chunk %zu names a pack in a local list", i);
		else if (!none && c->pack >= l->npacks)
			snprintf(why, whysz, "chunk %zu names pack %u of %zu", i, c->pack, l->npacks);
		else if (none && c->pack_off)
			snprintf(why, whysz, "chunk %zu is in no pack but has a pack offset", i);
		else if (c->pack_off > UINT64_MAX - c->len)
			snprintf(why, whysz, "chunk %zu ends past the largest offset", i);
		sum += c->len;
	}
	if (!why[0] && sum != l->size)
		snprintf(why, whysz, "its chunks hold %llu bytes, not the object's %llu",
			 (unsigned long long)sum, (unsigned long long)l->size);
}

int p4r_chunklist_encode(const p4r_chunklist *l, unsigned char **out, size_t *len)
{
	unsigned char *buf, *p;
	char why[128];
	size_t i, total;

	*out = NULL;
	*len = 0;
	check_chunks(l, -1, why, sizeof(why));
	if (!why[0] && (l->npacks >= P4R_CHUNK_NO_PACK || l->n > UINT32_MAX))
		snprintf(why, sizeof(why), "too many packs or chunks");
	if (!why[0] && !p4r_oid_valid(l->oid.hex))
		snprintf(why, sizeof(why), "malformed oid");
	if (why[0])
		return p4r_error_set(P4R_ERROR, "chunk list of %.64s is inconsistent: %s", l->oid.hex, why);
	total = HEADER_LEN + l->npacks * PACK_LEN + l->n * CHUNK_LEN;
	if (!(buf = malloc(total)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	memcpy(buf, MAGIC, 8);
	oid_raw(&l->oid, buf + 8);
	put_le(buf + 40, l->size, 8);
	put_le(buf + 48, l->npacks, 4);
	put_le(buf + 52, l->n, 4);
	p = buf + HEADER_LEN;
	for (i = 0; i < l->npacks; i++, p += PACK_LEN)
		memcpy(p, l->packs[i], PACK_LEN);
	for (i = 0; i < l->n; i++, p += CHUNK_LEN) {
		memcpy(p, l->chunks[i].id, 32);
		put_le(p + 32, l->chunks[i].pack, 4);
		put_le(p + 36, l->chunks[i].len, 4);
		put_le(p + 40, l->chunks[i].pack_off, 8);
	}
	*out = buf;
	*len = total;
	return 0;
}

static int damaged(const char *oid, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int damaged(const char *oid, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return p4r_error_set(P4R_EINTEGRITY, "chunk list of %s is damaged: %s", oid, why);
}

int p4r_chunklist_decode(p4r_chunklist *l, const unsigned char *buf, size_t len, const p4r_oid *want,
			 bool packed)
{
	p4r_chunklist d = { 0 };
	const unsigned char *p;
	const char *name = want ? want->hex : "an unknown object";
	uint64_t npacks, nchunks, total;
	char why[128];
	size_t i;
	int rc = 0;

	memset(l, 0, sizeof(*l));
	if (len >= 40) {
		oid_from_raw(&d.oid, buf + 8);
		if (!want)
			name = d.oid.hex;
	}
	if (len < HEADER_LEN)
		return damaged(name, "%zu bytes are too few for its header", len);
	if (memcmp(buf, MAGIC, 8))
		return damaged(name, "it does not start with \"P4RCHL1\"");
	if (want && !p4r_oid_equal(&d.oid, want))
		return damaged(name, "it describes object %s", d.oid.hex);
	d.size = get_le(buf + 40, 8);
	npacks = get_le(buf + 48, 4);
	nchunks = get_le(buf + 52, 4);
	/* 2^32 x 48 fits in 64 bits: no overflow */
	total = HEADER_LEN + npacks * PACK_LEN + nchunks * CHUNK_LEN;
	if (total != len)
		return damaged(name, "%zu bytes, but its counts say %llu", len, (unsigned long long)total);
	/* the lengths checked above bound both allocations by LEN */
	if ((npacks && !(d.packs = malloc((size_t)npacks * PACK_LEN))) ||
	    (nchunks && !(d.chunks = malloc((size_t)nchunks * sizeof(*d.chunks))))) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto fail;
	}
	d.npacks = (size_t)npacks;
	d.n = d.cap = (size_t)nchunks;
	p = buf + HEADER_LEN;
	for (i = 0; i < d.npacks; i++, p += PACK_LEN)
		memcpy(d.packs[i], p, PACK_LEN);
	for (i = 0; i < d.n; i++, p += CHUNK_LEN) {
		memcpy(d.chunks[i].id, p, 32);
		d.chunks[i].pack = (uint32_t)get_le(p + 32, 4);
		d.chunks[i].len = (uint32_t)get_le(p + 36, 4);
		d.chunks[i].pack_off = get_le(p + 40, 8);
	}
	check_chunks(&d, packed, why, sizeof(why));
	if (why[0]) {
		rc = damaged(name, "%s", why);
		goto fail;
	}
	*l = d;
	return 0;
fail:
	p4r_chunklist_clear(&d);
	return rc;
}
