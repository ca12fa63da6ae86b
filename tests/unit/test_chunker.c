/* Unit tests for content-defined chunking and chunk lists (chunk.h):
 * the chunker against a plain reference of the documented rule, tensor
 * boundaries of safetensors and GGUF headers (hostile ones included), the
 * binary chunk list, the local chunk lists and what gc and fsck do with
 * them. */
#include "testutil.h"
#include "p4reg/chunk.h"
#include "p4reg/error.h"
#include "p4reg/fsck.h"
#include "p4reg/fsutil.h"
#include "p4reg/gc.h"
#include "p4reg/hash.h"
#include "p4reg/parallel.h"
#include "p4reg/registry.h"
#include "p4reg/repo.h"
#include "p4reg/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MiB ((size_t)1 << 20)
#define KiB ((size_t)1 << 10)

/* ---- helpers ---- */

static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned char *random_buf(size_t n, uint64_t seed)
{
	unsigned char *b = malloc(n);
	size_t i;

	assert_non_null(b);
	rng_state = seed;
	for (i = 0; i < n; i++)
		b[i] = (unsigned char)(rng() >> 56);
	return b;
}

/* The chunks a chunker reported, with their offsets. */
struct got {
	p4r_chunk *v;
	uint64_t *off;
	size_t n, cap;
};

static int record(const p4r_chunk *c, uint64_t offset, void *payload)
{
	struct got *g = payload;

	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 64;
		g->v = realloc(g->v, g->cap * sizeof(*g->v));
		g->off = realloc(g->off, g->cap * sizeof(*g->off));
		assert_non_null(g->v);
		assert_non_null(g->off);
	}
	g->v[g->n] = *c;
	g->off[g->n++] = offset;
	return 0;
}

static void got_free(struct got *g)
{
	free(g->v);
	free(g->off);
	memset(g, 0, sizeof(*g));
}

/* Chunks BUF in one update. */
static void chunk_buf(const unsigned char *buf, size_t n, const uint64_t *cuts, size_t ncuts,
		      struct got *g)
{
	p4r_chunker *c;

	memset(g, 0, sizeof(*g));
	assert_int_equal(p4r_chunker_new(&c, cuts, ncuts), 0);
	assert_int_equal(p4r_chunker_update(c, buf, n, record, g), 0);
	assert_int_equal(p4r_chunker_finish(c, record, g), 0);
	p4r_chunker_free(c);
}

/* The documented rule, one byte at a time: where each chunk ends. */
static size_t reference_ends(const unsigned char *b, size_t n, const uint64_t *cuts, size_t ncuts,
			     uint64_t *ends)
{
	uint64_t gear[256], s = 0, z, fp = 0;
	size_t i, k = 0, start = 0, ci = 0, j;

	for (i = 0; i < 256; i++) {
		z = (s += 0x9e3779b97f4a7c15ULL);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		gear[i] = z ^ (z >> 31);
	}
	for (i = 0; i < n; i++) {
		while (ci < ncuts && cuts[ci] <= start)
			ci++;
		if (ci < ncuts && cuts[ci] == i) {
			ends[k++] = i;
			start = i;
			fp = 0;
		}
		j = i - start;
		if (j >= P4R_CHUNK_MIN) {
			fp = (fp << 1) + gear[b[i]];
			if ((j < P4R_CHUNK_AVG ? fp >> 46 : fp >> 50) == 0) {
				ends[k++] = i + 1;
				start = i + 1;
				fp = 0;
				continue;
			}
		}
		if (j + 1 == P4R_CHUNK_MAX) {
			ends[k++] = i + 1;
			start = i + 1;
			fp = 0;
		}
	}
	if (start < n)
		ends[k++] = n;
	return k;
}

static void sha_raw(const unsigned char *p, size_t n, unsigned char out[32])
{
	p4r_oid oid;
	unsigned v;
	int i;

	assert_int_equal(p4r_hash_buffer(&oid, p, n), 0);
	for (i = 0; i < 32; i++) {
		sscanf(oid.hex + 2 * i, "%2x", &v);
		out[i] = (unsigned char)v;
	}
}

/* G's chunks tile BUF and follow the reference rule with CUTS exactly,
 * and each one's id is the SHA-256 of its bytes. */
static void assert_matches_reference(const struct got *g, const unsigned char *buf, size_t n,
				     const uint64_t *cuts, size_t ncuts)
{
	uint64_t *ends = malloc((n / 1024 + ncuts + 2) * sizeof(*ends)), off = 0;
	unsigned char id[32];
	size_t k, i;

	k = reference_ends(buf, n, cuts, ncuts, ends);
	assert_int_equal(g->n, k);
	for (i = 0; i < k; i++) {
		assert_int_equal(g->off[i], off);
		assert_int_equal(off + g->v[i].len, ends[i]);
		assert_int_equal(g->v[i].pack, P4R_CHUNK_NO_PACK);
		assert_int_equal(g->v[i].pack_off, 0);
		sha_raw(buf + off, g->v[i].len, id);
		assert_memory_equal(g->v[i].id, id, 32);
		off = ends[i];
	}
	free(ends);
}

/* ---- the chunker ---- */

static void test_deterministic_and_reference(void **state)
{
	size_t n = 8 * MiB;
	unsigned char *buf = random_buf(n, 1);
	struct got a, b;
	size_t i;

	(void)state;
	chunk_buf(buf, n, NULL, 0, &a);
	chunk_buf(buf, n, NULL, 0, &b);
	assert_int_equal(a.n, b.n);
	for (i = 0; i < a.n; i++) {
		assert_memory_equal(a.v[i].id, b.v[i].id, 32);
		assert_int_equal(a.v[i].len, b.v[i].len);
	}
	/* 8 MiB of random bytes: about 110 chunks of ~75 KiB */
	assert_true(a.n > 80 && a.n < 160);
	assert_matches_reference(&a, buf, n, NULL, 0);
	got_free(&a);
	got_free(&b);
	free(buf);
}

static void test_lengths_within_bounds(void **state)
{
	size_t n = 8 * MiB + 12345, i;
	unsigned char *buf = random_buf(n, 2);
	struct got g;

	(void)state;
	chunk_buf(buf, n, NULL, 0, &g);
	for (i = 0; i + 1 < g.n; i++) {
		assert_true(g.v[i].len > P4R_CHUNK_MIN);
		assert_true(g.v[i].len <= P4R_CHUNK_MAX);
	}
	assert_true(g.v[g.n - 1].len >= 1 && g.v[g.n - 1].len <= P4R_CHUNK_MAX);
	got_free(&g);
	/* constant bytes never satisfy the gear test: every chunk is MAX */
	memset(buf, 0, n);
	chunk_buf(buf, n, NULL, 0, &g);
	for (i = 0; i + 1 < g.n; i++)
		assert_int_equal(g.v[i].len, P4R_CHUNK_MAX);
	assert_int_equal(g.v[g.n - 1].len, n % P4R_CHUNK_MAX);
	assert_matches_reference(&g, buf, n, NULL, 0);
	got_free(&g);
	free(buf);
}

static void test_insertion_moves_few_chunks(void **state)
{
	size_t n = 8 * MiB, i, j, same = 0;
	unsigned char *buf = random_buf(n, 3), *ins = malloc(n + 100);
	struct got a, b;

	(void)state;
	/* 100 bytes inserted 1000 bytes in: every offset after it shifts */
	memcpy(ins, buf, 1000);
	memset(ins + 1000, 'x', 100);
	memcpy(ins + 1100, buf + 1000, n - 1000);
	chunk_buf(buf, n, NULL, 0, &a);
	chunk_buf(ins, n + 100, NULL, 0, &b);
	for (i = 0; i < b.n; i++)
		for (j = 0; j < a.n; j++)
			if (!memcmp(b.v[i].id, a.v[j].id, 32)) {
				same++;
				break;
			}
	/* only the chunk holding the insertion changes */
	assert_int_equal(a.n, b.n);
	assert_int_equal(same, b.n - 1);
	assert_memory_not_equal(a.v[0].id, b.v[0].id, 32);
	assert_int_equal(b.v[0].len, a.v[0].len + 100);
	got_free(&a);
	got_free(&b);
	free(ins);
	free(buf);
}

static void test_small_pieces_same_chunks(void **state)
{
	size_t n = 4 * MiB + 777, off = 0, piece, i;
	unsigned char *buf = random_buf(n, 4);
	uint64_t cuts[] = { 5, 70000, 70001, 1 * MiB, 3 * MiB + 3 };
	struct got whole, bits = { 0 };
	p4r_chunker *c;

	(void)state;
	chunk_buf(buf, n, cuts, 5, &whole);
	assert_int_equal(p4r_chunker_new(&c, cuts, 5), 0);
	rng_state = 99;
	while (off < n) {
		/* 0..4999 bytes at a time, empty updates included */
		piece = (size_t)(rng() % 5000);
		if (piece > n - off)
			piece = n - off;
		assert_int_equal(p4r_chunker_update(c, buf + off, piece, record, &bits), 0);
		off += piece;
	}
	assert_int_equal(p4r_chunker_finish(c, record, &bits), 0);
	p4r_chunker_free(c);
	assert_int_equal(bits.n, whole.n);
	for (i = 0; i < whole.n; i++) {
		assert_memory_equal(bits.v[i].id, whole.v[i].id, 32);
		assert_int_equal(bits.v[i].len, whole.v[i].len);
		assert_int_equal(bits.off[i], whole.off[i]);
	}
	got_free(&whole);
	got_free(&bits);
	free(buf);
}

static bool is_boundary(const struct got *g, uint64_t off)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		if (g->off[i] == off)
			return true;
	return false;
}

static void test_forced_cuts(void **state)
{
	size_t n = 2 * MiB, i;
	unsigned char *buf = random_buf(n, 5);
	/* unsorted, repeated, at 0, at the end and past it: all allowed */
	uint64_t cuts[] = { 300000, 10, 10, 0, 10 + 1, 600000, 600000 + P4R_CHUNK_MAX + 5, 2 * MiB,
			    5 * MiB };
	uint64_t sorted[] = { 10, 11, 300000, 600000, 600000 + P4R_CHUNK_MAX + 5, 2 * MiB, 5 * MiB };
	struct got g;

	(void)state;
	chunk_buf(buf, n, cuts, sizeof(cuts) / sizeof(cuts[0]), &g);
	for (i = 0; i < 5; i++)
		assert_true(is_boundary(&g, sorted[i]));
	/* a forced cut ends a chunk whatever its length */
	assert_int_equal(g.v[0].len, 10);
	assert_int_equal(g.v[1].len, 1);
	assert_int_equal(g.off[2], 11);
	for (i = 0; i < g.n; i++)
		assert_true(g.v[i].len >= 1 && g.v[i].len <= P4R_CHUNK_MAX);
	assert_matches_reference(&g, buf, n, sorted, sizeof(sorted) / sizeof(sorted[0]));
	got_free(&g);
	free(buf);
}

static void test_empty_and_tiny(void **state)
{
	unsigned char one = 7, id[32];
	struct got g;

	(void)state;
	chunk_buf(NULL, 0, NULL, 0, &g);
	assert_int_equal(g.n, 0);
	got_free(&g);
	chunk_buf(&one, 1, NULL, 0, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.v[0].len, 1);
	sha_raw(&one, 1, id);
	assert_memory_equal(g.v[0].id, id, 32);
	got_free(&g);
}

static int stop_at_second(const p4r_chunk *c, uint64_t offset, void *payload)
{
	(void)c;
	(void)payload;
	return offset > 0 ? p4r_error_set(P4R_EREFUSED, "stop") : 0;
}

static void test_callback_stops(void **state)
{
	size_t n = 2 * MiB;
	unsigned char *buf = random_buf(n, 6);
	p4r_chunker *c;

	(void)state;
	assert_int_equal(p4r_chunker_new(&c, NULL, 0), 0);
	assert_int_equal(p4r_chunker_update(c, buf, n, stop_at_second, NULL), P4R_EREFUSED);
	assert_string_equal(p4r_error_message(), "stop");
	/* stopped for good */
	assert_int_equal(p4r_chunker_update(c, buf, 10, stop_at_second, NULL), P4R_ERROR);
	assert_int_equal(p4r_chunker_finish(c, stop_at_second, NULL), P4R_ERROR);
	p4r_chunker_free(c);
	free(buf);
}

/* ---- p4r_chunk_fd ---- */

static char *write_tmp(const char *dir, const char *name, const unsigned char *buf, size_t n)
{
	return tu_write(dir, name, buf, n);
}

static void test_chunk_fd(void **state)
{
	char *dir = tu_mkdtemp(), *path;
	size_t n = 3 * MiB + 5;
	unsigned char *buf = random_buf(n, 7);
	p4r_hasher *h;
	p4r_oid whole, want;
	struct got g = { 0 }, ref;
	int fd;

	(void)state;
	path = write_tmp(dir, "f", buf, n);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(p4r_hasher_new(&h), 0);
	assert_int_equal(p4r_chunk_fd(fd, n, "f", h, record, &g), 0);
	assert_int_equal(p4r_hasher_final(h, &whole), 0);
	assert_int_equal(p4r_hash_buffer(&want, buf, n), 0);
	assert_string_equal(whole.hex, want.hex);
	chunk_buf(buf, n, NULL, 0, &ref);
	assert_int_equal(g.n, ref.n);
	assert_matches_reference(&g, buf, n, NULL, 0);
	got_free(&g);
	got_free(&ref);
	/* a file shorter or longer than told is not the file */
	assert_int_equal(p4r_chunk_fd(fd, n + 1, "f", NULL, record, &g), P4R_EINTEGRITY);
	assert_string_equal(p4r_error_message(), "'f' ends after 3145733 bytes, not 3145734");
	got_free(&g);
	assert_int_equal(p4r_chunk_fd(fd, 100, "f", NULL, record, &g), P4R_EINTEGRITY);
	assert_string_equal(p4r_error_message(), "'f' holds more than 100 bytes");
	got_free(&g);
	assert_int_equal(p4r_chunk_fd(fd, 4 * MiB, "f", NULL, record, &g), P4R_EINTEGRITY);
	assert_string_equal(p4r_error_message(), "'f' ends after 3145733 bytes, not 4194304");
	got_free(&g);
	close(fd);
	p4r_hasher_free(h);
	free(path);
	free(buf);
	tu_rmtree_free(dir);
}

/* ---- safetensors ---- */

/* A safetensors file: the 8-byte length, the H bytes of HEADER, DATA_LEN
 * bytes of zeros. */
static unsigned char *safetensors_n(const char *header, size_t h, size_t data_len, size_t *len)
{
	unsigned char *b = calloc(1, 8 + h + data_len);
	int i;

	assert_non_null(b);
	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)h >> (8 * i));
	memcpy(b + 8, header, h);
	*len = 8 + h + data_len;
	return b;
}

static unsigned char *safetensors(const char *header, size_t data_len, size_t *len)
{
	return safetensors_n(header, strlen(header), data_len, len);
}

static size_t cuts_of(const unsigned char *b, size_t len, uint64_t size, uint64_t **cuts)
{
	size_t n = 99;

	assert_int_equal(p4r_chunk_cuts(b, len, size, cuts, &n), 0);
	if (n == 0)
		assert_null(*cuts);
	return n;
}

static const char ST_HEADER[] =
	"{\"__metadata__\":{\"format\":\"pt\"},"
	"\"b\":{\"dtype\":\"F32\",\"shape\":[100,1000],\"data_offsets\":[1000,401000]},"
	"\"a\":{\"dtype\":\"F16\",\"shape\":[500],\"data_offsets\":[0,1000]},"
	"\"c\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[401000,401008]}}  ";

static void test_safetensors_cuts(void **state)
{
	size_t len, n;
	unsigned char *b = safetensors(ST_HEADER, 401008, &len);
	uint64_t *cuts, d = 8 + strlen(ST_HEADER);

	(void)state;
	n = cuts_of(b, len, len, &cuts);
	/* the data start, then each tensor's start and end, less the file's end */
	assert_int_equal(n, 3);
	assert_int_equal(cuts[0], d);
	assert_int_equal(cuts[1], d + 1000);
	assert_int_equal(cuts[2], d + 401000);
	free(cuts);
	/* only the header needs to be there: the file may be longer than HEAD */
	n = cuts_of(b, d, len, &cuts);
	assert_int_equal(n, 3);
	free(cuts);
	/* a tail after the last tensor: its end is a cut too */
	n = cuts_of(b, d, len + 50, &cuts);
	assert_int_equal(n, 4);
	assert_int_equal(cuts[3], d + 401008);
	free(cuts);
	free(b);
}

/* HEADER (with DATA_LEN bytes of data) gives no cuts, and no crash. */
static void assert_no_cuts(const char *header, size_t data_len)
{
	size_t len;
	unsigned char *b = safetensors(header, data_len, &len);
	uint64_t *cuts;

	assert_int_equal(cuts_of(b, len, len, &cuts), 0);
	free(b);
}

static void test_safetensors_hostile(void **state)
{
	static const char nul_padded[] =
		"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}\0\0";
	size_t len, i, n;
	unsigned char *b = safetensors(ST_HEADER, 401008, &len), huge[16];
	uint64_t *cuts, d = 8 + strlen(ST_HEADER);
	char *big;

	(void)state;
	/* truncated anywhere before the header's end: no cuts */
	for (i = 0; i < d; i++)
		assert_int_equal(cuts_of(b, i, len, &cuts), 0);
	/* a file shorter than its header says */
	assert_int_equal(cuts_of(b, d, d - 1, &cuts), 0);
	free(b);
	/* N beyond anything, N of 2^64 - 1, N of 0 and 1 */
	memset(huge, 0xff, 8);
	huge[8] = '{';
	assert_int_equal(cuts_of(huge, 9, UINT64_MAX, &cuts), 0);
	memset(huge, 0, sizeof(huge));
	huge[7] = 0x80;
	assert_int_equal(cuts_of(huge, 16, UINT64_MAX, &cuts), 0);
	assert_no_cuts("", 10);
	assert_no_cuts("{", 10);
	/* offsets past the data, reversed, overlapping */
	assert_no_cuts("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,11]}}", 10);
	assert_no_cuts("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 10);
	assert_no_cuts("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]},"
		       "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,10]}}", 10);
	/* offsets that are not exact non-negative integers */
	assert_no_cuts("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[\"0\",4]}}", 10);
	assert_no_cuts("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-1,4]}}", 10);
	assert_no_cuts("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0.5,4]}}", 10);
	assert_no_cuts("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,1e300]}}", 10);
	assert_no_cuts("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 10);
	assert_no_cuts("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 10);
	assert_no_cuts("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 10);
	/* entries that are not tensors; JSON that is not an object, or not whole */
	assert_no_cuts("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 10);
	assert_no_cuts("{\"a\":[0,4]}", 10);
	assert_no_cuts("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} x", 10);
	assert_no_cuts("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", 10);
	b = safetensors_n(nul_padded, sizeof(nul_padded) - 1, 10, &len);
	assert_int_equal(cuts_of(b, len, len, &cuts), 0);
	free(b);
	assert_no_cuts("{garbage", 10);
	assert_no_cuts("[1,2,3]", 10);
	/* __metadata__ is skipped whatever it holds; a header with nothing
	 * else cuts only where the data starts */
	b = safetensors("{\"__metadata__\":{\"data_offsets\":[7,3]},"
			"\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 10, &len);
	assert_int_equal(cuts_of(b, len, len, &cuts), 2);
	free(cuts);
	free(b);
	b = safetensors("{\"__metadata__\":[1,{\"x\":null}]}", 10, &len);
	assert_int_equal(cuts_of(b, len, len, &cuts), 1);
	assert_int_equal(cuts[0], len - 10);
	free(cuts);
	free(b);
	/* a tensor of 2^20 dimensions: a header of more JSON items than the
	 * cap is not parsed (with one dimension less it would be) */
	n = 2 * (1 << 20);
	big = malloc(n + 100);
	strcpy(big, "{\"a\":{\"dtype\":\"U8\",\"data_offsets\":[0,1],\"shape\":[1");
	len = strlen(big);
	for (i = 1; i < (1 << 20) - 11; i++, len += 2)
		memcpy(big + len, ",1", 2);
	strcpy(big + len, "]}}");
	b = safetensors(big, 1, &len);
	assert_int_equal(cuts_of(b, len, len, &cuts), 1);
	free(cuts);
	free(b);
	len = strlen(big);
	memcpy(big + len - 3, ",1]}}", 6);
	assert_no_cuts(big, 1);
	free(big);
}

/* ---- GGUF ---- */

struct gguf {
	unsigned char *b;
	size_t n, cap;
};

static void put(struct gguf *g, const void *p, size_t n)
{
	if (g->n + n > g->cap) {
		g->cap = (g->n + n) * 2;
		g->b = realloc(g->b, g->cap);
		assert_non_null(g->b);
	}
	memcpy(g->b + g->n, p, n);
	g->n += n;
}

static void put_le(struct gguf *g, uint64_t v, int bytes)
{
	unsigned char b[8];
	int i;

	for (i = 0; i < bytes; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	put(g, b, (size_t)bytes);
}

static void put_str(struct gguf *g, const char *s)
{
	put_le(g, strlen(s), 8);
	put(g, s, strlen(s));
}

/* A GGUF v3 file: some key-value pairs of every kind, general.alignment
 * ALIGN (0: none), three tensors at offsets OFFS; *DATA gets where the
 * tensor data starts, *SIZE the file's size. */
static struct gguf gguf_sample(uint32_t align, const uint64_t offs[3], uint64_t *data)
{
	static const char *names[] = { "blk.0.weight", "blk.1.weight", "output.weight" };
	struct gguf g = { 0 };
	uint64_t a = align ? align : 32, i;

	put(&g, "GGUF", 4);
	put_le(&g, 3, 4);
	put_le(&g, 3, 8);              /* tensors */
	put_le(&g, align ? 5 : 4, 8);  /* key-value pairs */
	put_str(&g, "general.name");
	put_le(&g, 8, 4);
	put_str(&g, "a model");
	put_str(&g, "tokenizer.tokens");
	put_le(&g, 9, 4);
	put_le(&g, 8, 4);
	put_le(&g, 3, 8);
	put_str(&g, "<s>");
	put_str(&g, "</s>");
	put_str(&g, "hello");
	put_str(&g, "scores");
	put_le(&g, 9, 4);
	put_le(&g, 6, 4);
	put_le(&g, 2, 8);
	put_le(&g, 0x3f800000, 4);
	put_le(&g, 0x40000000, 4);
	put_str(&g, "rope.freq");
	put_le(&g, 12, 4);
	put_le(&g, 0, 8);
	if (align) {
		put_str(&g, "general.alignment");
		put_le(&g, 4, 4);
		put_le(&g, align, 4);
	}
	for (i = 0; i < 3; i++) {
		put_str(&g, names[i]);
		put_le(&g, 2, 4);
		put_le(&g, 16, 8);
		put_le(&g, 8, 8);
		put_le(&g, 0, 4);
		put_le(&g, offs[i], 8);
	}
	*data = (g.n + a - 1) / a * a;
	return g;
}

static void test_gguf_cuts(void **state)
{
	const uint64_t offs[3] = { 0, 4096, 1024 };
	uint64_t data, *cuts, size;
	struct gguf g;
	size_t i;

	(void)state;
	g = gguf_sample(0, offs, &data);
	size = data + 8192;
	/* data start (= the first tensor's), then the others, ascending */
	assert_int_equal(cuts_of(g.b, g.n, size, &cuts), 3);
	assert_int_equal(cuts[0], data);
	assert_int_equal(cuts[1], data + 1024);
	assert_int_equal(cuts[2], data + 4096);
	assert_int_equal(data % 32, 0);
	free(cuts);
	/* cut short anywhere: no cuts, no crash */
	for (i = 0; i < g.n; i++)
		assert_int_equal(cuts_of(g.b, i, size, &cuts), 0);
	/* a tensor past the file's end */
	assert_int_equal(cuts_of(g.b, g.n, data + 4096, &cuts), 0);
	free(g.b);
	g = gguf_sample(256, offs, &data);
	assert_int_equal(data % 256, 0);
	assert_int_equal(cuts_of(g.b, g.n, data + 8192, &cuts), 3);
	assert_int_equal(cuts[0], data);
	free(cuts);
	free(g.b);
}

/* Overwrites 4 bytes at AT of a copy of G and expects no cuts. */
static void assert_gguf_refused(const struct gguf *g, size_t at, uint64_t v, int bytes, uint64_t size)
{
	unsigned char *b = malloc(g->n);
	uint64_t *cuts;
	int i;

	memcpy(b, g->b, g->n);
	for (i = 0; i < bytes; i++)
		b[at + (size_t)i] = (unsigned char)(v >> (8 * i));
	assert_int_equal(cuts_of(b, g->n, size, &cuts), 0);
	free(b);
}

static void test_gguf_hostile(void **state)
{
	const uint64_t offs[3] = { 0, 4096, 1024 }, dup[3] = { 0, 1024, 1024 }, odd[3] = { 0, 4096, 1000 };
	uint64_t data, size, *cuts;
	struct gguf g;
	size_t kv, key;

	(void)state;
	g = gguf_sample(64, offs, &data);
	size = data + 8192;
	assert_int_equal(cuts_of(g.b, g.n, size, &cuts), 3);
	free(cuts);
	assert_gguf_refused(&g, 0, 'X', 1, size);                 /* magic */
	assert_gguf_refused(&g, 4, 1, 4, size);                   /* version 1 */
	assert_gguf_refused(&g, 4, 4, 4, size);                   /* version 4 */
	assert_gguf_refused(&g, 8, UINT64_MAX, 8, size);          /* tensor count */
	assert_gguf_refused(&g, 8, 1 << 20, 8, size);
	assert_gguf_refused(&g, 8, 0, 8, size);
	assert_gguf_refused(&g, 16, UINT64_MAX, 8, size);         /* key-value count */
	assert_gguf_refused(&g, 24, UINT64_MAX, 8, size);         /* a key's length */
	kv = 24 + 8 + strlen("general.name");
	assert_gguf_refused(&g, kv, 13, 4, size);                 /* an unknown type */
	assert_gguf_refused(&g, kv + 4, UINT64_MAX - 3, 8, size); /* a string's length */
	/* an array: of arrays, of a huge count */
	key = kv + 4 + 8 + strlen("a model") + 8 + strlen("tokenizer.tokens");
	assert_gguf_refused(&g, key + 4, 9, 4, size);
	assert_gguf_refused(&g, key + 8, UINT64_MAX, 8, size);
	assert_gguf_refused(&g, key + 8, UINT64_MAX / 8 + 1, 8, size);
	free(g.b);
	/* general.alignment: 0, not a power of two, of another type */
	g = gguf_sample(64, offs, &data);
	key = g.n - 3 * (8 + 4 + 16 + 4 + 8) - strlen("blk.0.weight") - strlen("blk.1.weight") -
	      strlen("output.weight") - 4;
	assert_gguf_refused(&g, key, 0, 4, size);
	assert_gguf_refused(&g, key, 48, 4, size);
	assert_gguf_refused(&g, key - 4, 10, 4, size);
	free(g.b);
	/* two tensors at one offset; an offset off the alignment */
	g = gguf_sample(0, dup, &data);
	assert_int_equal(cuts_of(g.b, g.n, data + 8192, &cuts), 0);
	free(g.b);
	g = gguf_sample(0, odd, &data);
	assert_int_equal(cuts_of(g.b, g.n, data + 8192, &cuts), 0);
	free(g.b);
}

static void test_chunk_fd_uses_tensor_cuts(void **state)
{
	char header[4096], *dir = tu_mkdtemp(), *path;
	size_t len, t, off = 0, i, hl;
	unsigned char *file, *data = random_buf(2 * MiB, 8);
	uint64_t *cuts;
	size_t ncuts;
	struct got g = { 0 };
	int fd;

	(void)state;
	/* six tensors of 1..400 KiB: each tensor boundary is a chunk boundary */
	hl = (size_t)snprintf(header, sizeof(header), "{");
	for (t = 0; t < 6; t++) {
		size_t sz = (t * 77 + 1) * KiB;

		hl += (size_t)snprintf(header + hl, sizeof(header) - hl,
				       "%s\"t%zu\":{\"dtype\":\"U8\",\"shape\":[%zu],\"data_offsets\":[%zu,%zu]}",
				       t ? "," : "", t, sz, off, off + sz);
		off += sz;
	}
	snprintf(header + hl, sizeof(header) - hl, "}");
	file = safetensors(header, off, &len);
	memcpy(file + len - off, data, off);
	path = write_tmp(dir, "m.safetensors", file, len);
	assert_int_equal(p4r_chunk_cuts(file, len, len, &cuts, &ncuts), 0);
	assert_int_equal(ncuts, 6);
	fd = open(path, O_RDONLY);
	assert_int_equal(p4r_chunk_fd(fd, len, path, NULL, record, &g), 0);
	for (i = 0; i < ncuts; i++)
		assert_true(is_boundary(&g, cuts[i]));
	assert_matches_reference(&g, file, len, cuts, ncuts);
	close(fd);
	got_free(&g);
	free(cuts);
	free(path);
	free(file);
	free(data);
	tu_rmtree_free(dir);
}

static void test_chunk_fd_reads_a_long_header(void **state)
{
	char *dir = tu_mkdtemp(), *path, *header;
	size_t hl, len, ncuts, t, cap = 3 * MiB;
	unsigned char *file;
	uint64_t *cuts;
	struct got g = { 0 };
	int fd;

	(void)state;
	/* a header of ~2 MiB (beyond the first read of 1 MiB) */
	header = malloc(cap);
	hl = (size_t)snprintf(header, cap, "{");
	for (t = 0; t < 30000; t++)
		hl += (size_t)snprintf(header + hl, cap - hl,
				       "%s\"layer.%zu.w\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[%zu,%zu]}",
				       t ? "," : "", t, t * 8, t * 8 + 8);
	snprintf(header + hl, cap - hl, "}");
	assert_true(strlen(header) > MiB);
	file = safetensors(header, 30000 * 8, &len);
	path = write_tmp(dir, "big.safetensors", file, len);
	assert_int_equal(p4r_chunk_cuts(file, len, len, &cuts, &ncuts), 0);
	assert_int_equal(ncuts, 30000);
	fd = open(path, O_RDONLY);
	assert_int_equal(p4r_chunk_fd(fd, len, path, NULL, record, &g), 0);
	assert_true(is_boundary(&g, cuts[0]));
	assert_true(is_boundary(&g, cuts[ncuts - 1]));
	assert_matches_reference(&g, file, len, cuts, ncuts);
	close(fd);
	got_free(&g);
	free(cuts);
	free(path);
	free(file);
	free(header);
	tu_rmtree_free(dir);
}

/* ---- chunk lists ---- */

static const char OID_A[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/* A list of OID_A: three chunks, in two packs when PACKED. */
static void sample_list(p4r_chunklist *l, bool packed)
{
	unsigned char p1[32], p2[32];
	p4r_chunk c = { .pack = P4R_CHUNK_NO_PACK };
	uint32_t i1, i2;

	memset(l, 0, sizeof(*l));
	assert_int_equal(p4r_oid_parse(&l->oid, OID_A), 0);
	memset(p1, 0x11, 32);
	memset(p2, 0x22, 32);
	if (packed) {
		assert_int_equal(p4r_chunklist_pack(l, p1, &i1), 0);
		assert_int_equal(p4r_chunklist_pack(l, p2, &i2), 0);
		assert_int_equal(p4r_chunklist_pack(l, p1, &i1), 0);
		assert_int_equal(i1, 0);
		assert_int_equal(i2, 1);
		assert_int_equal(l->npacks, 2);
	}
	memset(c.id, 0xa1, 32);
	c.len = P4R_CHUNK_MAX;
	c.pack = packed ? 1 : P4R_CHUNK_NO_PACK;
	c.pack_off = packed ? 1000 : 0;
	assert_int_equal(p4r_chunklist_add(l, &c), 0);
	memset(c.id, 0xa2, 32);
	c.len = 1;
	c.pack = packed ? 0 : P4R_CHUNK_NO_PACK;
	c.pack_off = 0;
	assert_int_equal(p4r_chunklist_add(l, &c), 0);
	memset(c.id, 0xa3, 32);
	c.len = 20000;
	c.pack = packed ? 1 : P4R_CHUNK_NO_PACK;
	c.pack_off = packed ? UINT64_MAX - 20000 : 0;
	assert_int_equal(p4r_chunklist_add(l, &c), 0);
	l->size = P4R_CHUNK_MAX + 1 + 20000;
}

static void test_chunklist_round_trip(void **state)
{
	p4r_chunklist l, d;
	unsigned char *buf, *again;
	size_t len, len2;
	p4r_oid want;
	int packed;

	(void)state;
	for (packed = 0; packed < 2; packed++) {
		sample_list(&l, packed);
		assert_int_equal(p4r_chunklist_encode(&l, &buf, &len), 0);
		assert_int_equal(len, 56 + (packed ? 64 : 0) + 3 * 48);
		assert_memory_equal(buf, "P4RCHL1\n", 8);
		assert_int_equal(buf[8], 0x01);
		assert_int_equal(buf[39], 0xef);
		assert_int_equal(p4r_oid_parse(&want, OID_A), 0);
		assert_int_equal(p4r_chunklist_decode(&d, buf, len, &want, packed), 0);
		assert_string_equal(d.oid.hex, OID_A);
		assert_int_equal(d.size, l.size);
		assert_int_equal(d.n, 3);
		assert_int_equal(d.npacks, l.npacks);
		assert_memory_equal(d.chunks, l.chunks, 3 * sizeof(p4r_chunk));
		if (packed)
			assert_memory_equal(d.packs, l.packs, 64);
		/* one canonical form */
		assert_int_equal(p4r_chunklist_encode(&d, &again, &len2), 0);
		assert_int_equal(len2, len);
		assert_memory_equal(again, buf, len);
		p4r_chunklist_clear(&d);
		/* the wrong kind of list */
		assert_int_equal(p4r_chunklist_decode(&d, buf, len, NULL, !packed), P4R_EINTEGRITY);
		free(again);
		free(buf);
		p4r_chunklist_clear(&l);
	}
	/* an empty object: no chunks */
	memset(&l, 0, sizeof(l));
	assert_int_equal(p4r_oid_parse(&l.oid, OID_A), 0);
	assert_int_equal(p4r_chunklist_encode(&l, &buf, &len), 0);
	assert_int_equal(len, 56);
	assert_int_equal(p4r_chunklist_decode(&d, buf, len, NULL, false), 0);
	assert_int_equal(d.n, 0);
	p4r_chunklist_clear(&d);
	free(buf);
}

/* Decoding BUF (LEN) as OID_A's list (PACKED) fails with WHY. */
static void assert_damaged(const unsigned char *buf, size_t len, bool packed, const char *why)
{
	char msg[512];
	p4r_chunklist d;
	p4r_oid want;

	assert_int_equal(p4r_oid_parse(&want, OID_A), 0);
	snprintf(msg, sizeof(msg), "chunk list of %s is damaged: %s", OID_A, why);
	assert_int_equal(p4r_chunklist_decode(&d, buf, len, &want, packed), P4R_EINTEGRITY);
	assert_string_equal(p4r_error_message(), msg);
	assert_int_equal(d.n, 0);
	assert_null(d.chunks);
}

static void set_le(unsigned char *p, uint64_t v, int bytes)
{
	int i;

	for (i = 0; i < bytes; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* The encoded sample list (PACKED) in a buffer with room for one more byte. */
static unsigned char *sample_bytes(bool packed, size_t *len)
{
	p4r_chunklist l;
	unsigned char *buf, *room;

	sample_list(&l, packed);
	assert_int_equal(p4r_chunklist_encode(&l, &buf, len), 0);
	room = calloc(1, *len + 1);
	memcpy(room, buf, *len);
	free(buf);
	p4r_chunklist_clear(&l);
	return room;
}

static void test_chunklist_refusals(void **state)
{
	unsigned char *b;
	size_t len, c0, c1, c2;
	p4r_chunklist d;
	p4r_oid other;

	(void)state;
	b = sample_bytes(true, &len);
	c0 = 56 + 64;
	c1 = c0 + 48;
	c2 = c1 + 48;
	/* every length check */
	assert_damaged(b, 55, true, "55 bytes are too few for its header");
	assert_damaged(b, len - 1, true, "263 bytes, but its counts say 264");
	assert_damaged(b, len + 1, true, "265 bytes, but its counts say 264");
	/* the magic, the oid */
	b[7] = 'x';
	assert_damaged(b, len, true, "it does not start with \"P4RCHL1\"");
	b[7] = '\n';
	b[8] ^= 1;
	assert_damaged(b, len, true,
		       "it describes object 0023456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	/* without WANT the message names the oid the list holds */
	assert_int_equal(p4r_chunklist_decode(&d, b, 10, NULL, true), P4R_EINTEGRITY);
	assert_string_equal(p4r_error_message(),
			    "chunk list of an unknown object is damaged: 10 bytes are too few for its header");
	b[8] ^= 1;
	assert_int_equal(p4r_oid_parse(&other, OID_A), 0);
	/* a chunk's length: 0, more than the largest */
	set_le(b + c1 + 36, 0, 4);
	assert_damaged(b, len, true, "chunk 1 has 0 bytes");
	set_le(b + c1 + 36, P4R_CHUNK_MAX + 1, 4);
	assert_damaged(b, len, true, "chunk 1 has 262145 bytes");
	set_le(b + c1 + 36, 1, 4);
	/* a pack out of range, a packed list's chunk in none */
	set_le(b + c0 + 32, 2, 4);
	assert_damaged(b, len, true, "chunk 0 names pack 2 of 2");
	set_le(b + c0 + 32, P4R_CHUNK_NO_PACK, 4);
	assert_damaged(b, len, true, "chunk 0 is in no pack");
	set_le(b + c0 + 32, 1, 4);
	/* a range in its pack past 2^64 */
	set_le(b + c2 + 40, UINT64_MAX - 19999, 8);
	assert_damaged(b, len, true, "chunk 2 ends past the largest offset");
	set_le(b + c2 + 40, UINT64_MAX - 20000, 8);
	/* the lengths must add up to the size */
	set_le(b + 40, P4R_CHUNK_MAX + 20000, 8);
	assert_damaged(b, len, true, "its chunks hold 282145 bytes, not the object's 282144");
	set_le(b + 40, P4R_CHUNK_MAX + 20001, 8);
	assert_int_equal(p4r_chunklist_decode(&d, b, len, &other, true), 0);
	p4r_chunklist_clear(&d);
	/* a local list names no pack */
	assert_damaged(b, len, false, "a local list names 2 packs");
	free(b);
	b = sample_bytes(false, &len);
	c0 = 56;
	set_le(b + c0 + 32, 0, 4);
	assert_damaged(b, len, false, "chunk 0 names a pack in a local list");
	set_le(b + c0 + 32, P4R_CHUNK_NO_PACK, 4);
	set_le(b + c0 + 40, 5, 8);
	assert_damaged(b, len, false, "chunk 0 is in no pack but has a pack offset");
	set_le(b + c0 + 40, 0, 8);
	/* bytes to describe, no chunks to hold them */
	set_le(b + 52, 0, 4);
	assert_damaged(b, 56, false, "no chunks for 282145 bytes");
	free(b);
}

static void test_chunklist_encode_refuses(void **state)
{
	p4r_chunklist l;
	unsigned char *buf;
	size_t len;

	(void)state;
	sample_list(&l, true);
	l.size++;
	assert_int_equal(p4r_chunklist_encode(&l, &buf, &len), P4R_ERROR);
	assert_string_equal(p4r_error_message(), "chunk list of " "0123456789abcdef0123456789abcdef"
			    "0123456789abcdef0123456789abcdef is inconsistent: its chunks hold 282145 "
			    "bytes, not the object's 282146");
	assert_null(buf);
	l.size--;
	l.chunks[0].pack = 7;
	assert_int_equal(p4r_chunklist_encode(&l, &buf, &len), P4R_ERROR);
	p4r_chunklist_clear(&l);
}

/* ---- local chunk lists ---- */

struct repo_fixture {
	char *dir;
	p4r_repo *repo;
	p4r_store *store;
	unsigned char *bytes;
	size_t n;
	p4r_oid oid;
	char list[PATH_MAX];
};

static int repo_setup(void **state)
{
	struct repo_fixture *f = calloc(1, sizeof(*f));
	char *meta;

	f->dir = tu_mkdtemp();
	assert_int_equal(p4r_repo_init(f->dir, NULL), 0);
	assert_int_equal(p4r_repo_open(&f->repo, f->dir), 0);
	f->store = p4r_repo_store(f->repo);
	f->n = 3 * MiB + 99;
	f->bytes = random_buf(f->n, 9);
	assert_int_equal(p4r_store_insert_buffer(f->store, f->bytes, f->n, &f->oid), 0);
	meta = p4r_path_join(f->dir, ".p4reg/chunks");
	assert_int_equal(p4r_oid_path(f->list, sizeof(f->list), meta, &f->oid), 0);
	free(meta);
	*state = f;
	return 0;
}

static int repo_teardown(void **state)
{
	struct repo_fixture *f = *state;

	p4r_repo_free(f->repo);
	tu_rmtree_free(f->dir);
	free(f->bytes);
	free(f);
	return 0;
}

/* The entries of folder DIR besides . and .. */
static size_t entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static void parent_of(const char *path, char *out, size_t sz)
{
	snprintf(out, sz, "%s", path);
	*strrchr(out, '/') = '\0';
}

static void test_store_chunklist(void **state)
{
	struct repo_fixture *f = *state;
	char ign[PATH_MAX], *text, folder[PATH_MAX];
	p4r_chunklist l, again;
	struct got ref;
	struct stat st;
	size_t i, len;

	chunk_buf(f->bytes, f->n, NULL, 0, &ref);
	/* none kept yet: _kept computes nothing and keeps nothing */
	assert_int_equal(p4r_store_chunklist_kept(f->store, &f->oid, &l), P4R_ENOTFOUND);
	assert_int_equal(stat(f->list, &st), -1);
	p4r_error_clear();
	assert_int_equal(p4r_store_chunklist(f->store, &f->oid, &l), 0);
	assert_string_equal(l.oid.hex, f->oid.hex);
	assert_int_equal(l.size, f->n);
	assert_int_equal(l.npacks, 0);
	assert_int_equal(l.n, ref.n);
	for (i = 0; i < l.n; i++) {
		assert_memory_equal(l.chunks[i].id, ref.v[i].id, 32);
		assert_int_equal(l.chunks[i].len, ref.v[i].len);
		assert_int_equal(l.chunks[i].pack, P4R_CHUNK_NO_PACK);
	}
	/* kept read-only, in a folder git ignores, nothing else beside it */
	assert_int_equal(stat(f->list, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0444);
	assert_int_equal(st.st_size, 56 + 48 * l.n);
	parent_of(f->list, folder, sizeof(folder));
	assert_int_equal(entries(folder), 1);
	snprintf(ign, sizeof(ign), "%s/.p4reg/chunks/.gitignore", f->dir);
	text = tu_slurp(ign, &len);
	assert_string_equal(text, "# Written by p4reg: chunk lists are this machine's own, never committed.\n*\n");
	free(text);
	/* read back, not computed: the object could be anything now */
	assert_int_equal(chmod(f->list, 0444), 0);
	assert_int_equal(p4r_store_chunklist(f->store, &f->oid, &again), 0);
	assert_int_equal(again.n, l.n);
	assert_memory_equal(again.chunks, l.chunks, l.n * sizeof(*l.chunks));
	p4r_chunklist_clear(&again);
	assert_int_equal(p4r_store_chunklist_kept(f->store, &f->oid, &again), 0);
	assert_int_equal(again.n, l.n);
	assert_memory_equal(again.chunks, l.chunks, l.n * sizeof(*l.chunks));
	p4r_chunklist_clear(&again);
	p4r_chunklist_clear(&l);
	got_free(&ref);
}

static void test_store_chunklist_missing(void **state)
{
	struct repo_fixture *f = *state;
	p4r_chunklist l;
	p4r_oid none;

	assert_int_equal(p4r_oid_parse(&none, OID_A), 0);
	assert_int_equal(p4r_store_chunklist(f->store, &none, &l), P4R_ENOTFOUND);
	assert_int_equal(l.n, 0);
	memset(&none, 0, sizeof(none));
	strcpy(none.hex, "../../x");
	assert_int_equal(p4r_store_chunklist(f->store, &none, &l), P4R_EUSAGE);
}

static void corrupt_object(struct repo_fixture *f, size_t at)
{
	char path[PATH_MAX];
	int fd;
	unsigned char c;

	assert_int_equal(p4r_store_object_path(f->store, &f->oid, path, sizeof(path)), 0);
	assert_int_equal(chmod(path, 0644), 0);
	fd = open(path, O_RDWR);
	assert_int_equal(pread(fd, &c, 1, (off_t)at), 1);
	c ^= 0x40;
	assert_int_equal(pwrite(fd, &c, 1, (off_t)at), 1);
	close(fd);
	assert_int_equal(chmod(path, 0444), 0);
}

static void test_store_chunklist_corrupt_object(void **state)
{
	struct repo_fixture *f = *state;
	char folder[PATH_MAX], msg[256];
	p4r_chunklist l;

	corrupt_object(f, 2 * MiB);
	assert_int_equal(p4r_store_chunklist(f->store, &f->oid, &l), P4R_EINTEGRITY);
	snprintf(msg, sizeof(msg), "object %s is corrupt: its bytes hash to ", f->oid.hex);
	assert_true(!strncmp(p4r_error_message(), msg, strlen(msg)));
	assert_int_equal(l.n, 0);
	/* nothing kept: no list, no temporary file */
	assert_int_equal(access(f->list, F_OK), -1);
	parent_of(f->list, folder, sizeof(folder));
	assert_int_equal(entries(folder), 0);
}

static void test_store_chunklist_damaged_list(void **state)
{
	struct repo_fixture *f = *state;
	p4r_chunklist good, l;
	char *bytes;
	size_t len, cut;

	assert_int_equal(p4r_store_chunklist(f->store, &f->oid, &good), 0);
	bytes = tu_slurp(f->list, &len);
	/* cut short, a chunk id changed and its size, a byte more: each is
	 * noticed and computed again from the object */
	for (cut = 0; cut < 4; cut++) {
		char *bad = malloc(len + 1);

		memcpy(bad, bytes, len);
		bad[len] = 'x';
		if (cut == 1)
			bad[40] ^= 1; /* the size */
		if (cut == 2)
			bad[50] = 1;  /* a pack */
		assert_int_equal(chmod(f->list, 0644), 0);
		free(tu_write(f->dir, ".p4reg/chunks/tmp-bad", bad, cut == 0 ? len - 48 : cut == 3 ? len + 1 : len));
		{
			char from[PATH_MAX];

			snprintf(from, sizeof(from), "%s/.p4reg/chunks/tmp-bad", f->dir);
			assert_int_equal(rename(from, f->list), 0);
		}
		assert_int_equal(p4r_store_chunklist(f->store, &f->oid, &l), 0);
		assert_int_equal(l.n, good.n);
		assert_memory_equal(l.chunks, good.chunks, good.n * sizeof(*good.chunks));
		p4r_chunklist_clear(&l);
		{
			size_t len2;
			char *now = tu_slurp(f->list, &len2);

			assert_int_equal(len2, len);
			assert_memory_equal(now, bytes, len);
			free(now);
		}
		free(bad);
	}
	/* a symbolic link in its place is replaced, never followed */
	assert_int_equal(unlink(f->list), 0);
	assert_int_equal(symlink("/etc/passwd", f->list), 0);
	assert_int_equal(p4r_store_chunklist(f->store, &f->oid, &l), 0);
	assert_int_equal(l.n, good.n);
	p4r_chunklist_clear(&l);
	{
		struct stat st;

		assert_int_equal(lstat(f->list, &st), 0);
		assert_true(S_ISREG(st.st_mode));
	}
	free(bytes);
	p4r_chunklist_clear(&good);
}

static void test_store_chunklist_keep(void **state)
{
	struct repo_fixture *f = *state;
	p4r_chunklist l, back;
	unsigned char pack[32];
	uint32_t idx;
	char *bytes;
	size_t len, i;

	assert_int_equal(p4r_store_chunklist(f->store, &f->oid, &l), 0);
	assert_int_equal(unlink(f->list), 0);
	/* a remote's list of the same chunks: kept without its packs */
	memset(pack, 0x5a, sizeof(pack));
	assert_int_equal(p4r_chunklist_pack(&l, pack, &idx), 0);
	for (i = 0; i < l.n; i++) {
		l.chunks[i].pack = idx;
		l.chunks[i].pack_off = 1000 * i;
	}
	assert_int_equal(p4r_store_chunklist_keep(f->store, &l), 0);
	bytes = tu_slurp(f->list, &len);
	assert_int_equal(p4r_chunklist_decode(&back, (unsigned char *)bytes, len, &f->oid, false), 0);
	assert_int_equal(back.npacks, 0);
	assert_int_equal(back.n, l.n);
	for (i = 0; i < l.n; i++) {
		assert_memory_equal(back.chunks[i].id, l.chunks[i].id, 32);
		assert_int_equal(back.chunks[i].pack, P4R_CHUNK_NO_PACK);
		assert_int_equal(back.chunks[i].pack_off, 0);
	}
	/* an inconsistent list is refused, nothing written */
	l.size++;
	assert_int_equal(p4r_store_chunklist_keep(f->store, &l), P4R_ERROR);
	p4r_chunklist_clear(&back);
	p4r_chunklist_clear(&l);
	free(bytes);
}

struct race {
	struct repo_fixture *f;
	size_t n[16];
};

static int race_one(size_t i, void *payload)
{
	struct race *r = payload;
	p4r_chunklist l;
	int rc = p4r_store_chunklist(r->f->store, &r->f->oid, &l);

	r->n[i] = l.n;
	p4r_chunklist_clear(&l);
	return rc;
}

static void test_store_chunklist_concurrent(void **state)
{
	struct repo_fixture *f = *state;
	struct race r = { .f = f };
	char folder[PATH_MAX];
	pid_t pid;
	int status;
	size_t i;

	/* threads and a second process compute and keep the same list at once */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		p4r_repo *repo;
		p4r_chunklist l;
		int rc = p4r_repo_open(&repo, f->dir);

		for (i = 0; rc == 0 && i < 8; i++) {
			if ((rc = p4r_store_chunklist(p4r_repo_store(repo), &f->oid, &l)) == 0)
				p4r_chunklist_clear(&l);
			unlink(f->list);
		}
		p4r_repo_free(repo);
		_exit(rc == 0 ? 0 : 1);
	}
	assert_int_equal(p4r_parallel_for(16, 4, race_one, &r), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (i = 1; i < 16; i++)
		assert_int_equal(r.n[i], r.n[0]);
	/* no temporary file left; the list (if the child's unlink did not
	 * come last) is whole */
	parent_of(f->list, folder, sizeof(folder));
	assert_true(entries(folder) <= 1);
	assert_int_equal(race_one(0, &r), 0);
	assert_int_equal(entries(folder), 1);
}

/* ---- gc and fsck ---- */

static void test_gc_removes_lists(void **state)
{
	struct repo_fixture *f = *state;
	p4r_gc_opts opts = { .grace_s = 0, .now_s = 0 };
	p4r_gc_result res;
	p4r_chunklist l;
	char orphan[PATH_MAX], tmp[PATH_MAX + 96], folder[PATH_MAX], stray[PATH_MAX + 16];
	struct stat st;
	uint64_t list_bytes;

	assert_int_equal(p4r_store_chunklist(f->store, &f->oid, &l), 0);
	p4r_chunklist_clear(&l);
	assert_int_equal(stat(f->list, &st), 0);
	list_bytes = (uint64_t)st.st_size;
	/* an orphan (its object is not in the store), a stale temporary file,
	 * and a stranger gc leaves alone */
	snprintf(orphan, sizeof(orphan), "%s/.p4reg/chunks/01/23", f->dir);
	assert_int_equal(p4r_mkdir_p(orphan, 0755), 0);
	snprintf(orphan, sizeof(orphan), "%s/.p4reg/chunks/01/23/%s", f->dir, OID_A);
	free(tu_write(f->dir, ".p4reg/chunks/01/23/" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		      "x", 1));
	parent_of(f->list, folder, sizeof(folder));
	snprintf(tmp, sizeof(tmp), "%s/.%s.Ab12Cd", folder, f->oid.hex);
	{
		FILE *fp = fopen(tmp, "w");

		fputs("partial", fp);
		fclose(fp);
	}
	snprintf(stray, sizeof(stray), "%s/notes.txt", folder);
	{
		FILE *fp = fopen(stray, "w");

		fputs("mine", fp);
		fclose(fp);
	}
	/* a dry run removes nothing; the grace period keeps the young orphan */
	opts.dry_run = true;
	assert_int_equal(p4r_gc_run(f->repo, &opts, &res), 0);
	assert_int_equal(res.objects, 1);
	assert_int_equal(res.chunk_lists, 2);
	p4r_gc_result_clear(&res);
	assert_int_equal(access(f->list, F_OK), 0);
	assert_int_equal(access(orphan, F_OK), 0);
	opts.dry_run = false;
	opts.grace_s = 3600;
	assert_int_equal(p4r_gc_run(f->repo, &opts, &res), 0);
	assert_int_equal(res.objects, 0);
	assert_int_equal(res.chunk_lists, 0);
	p4r_gc_result_clear(&res);
	assert_int_equal(access(orphan, F_OK), 0);
	/* the object goes (no version has it), its list with it; then the
	 * orphan and the temporary file */
	opts.grace_s = 0;
	assert_int_equal(p4r_gc_run(f->repo, &opts, &res), 0);
	assert_int_equal(res.objects, 1);
	assert_int_equal(res.chunk_lists, 3);
	assert_int_equal(res.chunk_list_bytes, list_bytes + 1 + 7);
	p4r_gc_result_clear(&res);
	assert_int_equal(access(f->list, F_OK), -1);
	assert_int_equal(access(orphan, F_OK), -1);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(access(stray, F_OK), 0);
}

static void add_version(struct repo_fixture *f)
{
	p4r_version_input in = { .model = "m", .path = "m.bin", .author = "t", .git_dirty = -1 };

	in.oid = f->oid;
	in.size = (int64_t)f->n;
	assert_int_equal(p4r_registry_add_version(p4r_repo_registry(f->repo), &in, NULL, NULL), 0);
}

static void test_gc_removes_damaged_list(void **state)
{
	struct repo_fixture *f = *state;
	p4r_gc_opts opts = { .grace_s = 3600 };
	p4r_gc_result res;
	p4r_chunklist l;

	add_version(f);
	assert_int_equal(p4r_store_chunklist(f->store, &f->oid, &l), 0);
	p4r_chunklist_clear(&l);
	/* a whole list of a referenced object stays */
	assert_int_equal(p4r_gc_run(f->repo, &opts, &res), 0);
	assert_int_equal(res.referenced, 1);
	assert_int_equal(res.chunk_lists, 0);
	p4r_gc_result_clear(&res);
	assert_int_equal(access(f->list, F_OK), 0);
	/* a damaged one goes, young or not */
	assert_int_equal(chmod(f->list, 0644), 0);
	assert_int_equal(truncate(f->list, 100), 0);
	assert_int_equal(p4r_gc_run(f->repo, &opts, &res), 0);
	assert_int_equal(res.chunk_lists, 1);
	assert_int_equal(res.chunk_list_bytes, 100);
	p4r_gc_result_clear(&res);
	assert_int_equal(access(f->list, F_OK), -1);
}

static void test_fsck_checks_lists(void **state)
{
	struct repo_fixture *f = *state;
	p4r_fsck_opts opts = { .offline = true };
	p4r_fsck_report rep;
	p4r_chunklist l;
	char rel[128], msg[256], dir[PATH_MAX];
	size_t n;

	add_version(f);
	assert_int_equal(p4r_store_chunklist(f->store, &f->oid, &l), 0);
	n = l.n;
	p4r_chunklist_clear(&l);
	/* whole lists and an orphan are fine */
	snprintf(dir, sizeof(dir), "%s/.p4reg/chunks/01/23", f->dir);
	assert_int_equal(p4r_mkdir_p(dir, 0755), 0);
	free(tu_write(dir, OID_A, "x", 1));
	assert_int_equal(p4r_fsck_run(f->repo, &opts, &rep), 0);
	assert_int_equal(rep.nproblems, 0);
	p4r_fsck_report_clear(&rep);
	/* a damaged one is a problem, with how to repair it */
	assert_int_equal(chmod(f->list, 0644), 0);
	assert_int_equal(truncate(f->list, 56), 0);
	free(tu_write(dir, "stranger", "?", 1));
	assert_int_equal(p4r_fsck_run(f->repo, &opts, &rep), 0);
	assert_int_equal(rep.nproblems, 2);
	snprintf(rel, sizeof(rel), ".p4reg/chunks/%.2s/%.2s/%s", f->oid.hex, f->oid.hex + 2, f->oid.hex);
	snprintf(msg, sizeof(msg), "chunk list of %s is damaged: 56 bytes, but its counts say %zu",
		 f->oid.hex, 56 + 48 * n);
	{
		const p4r_fsck_problem *bad = &rep.problems[0], *stray = &rep.problems[1];

		if (!strcmp(bad->kind, "stray-file")) {
			bad = &rep.problems[1];
			stray = &rep.problems[0];
		}
		assert_string_equal(bad->kind, "bad-chunk-list");
		assert_string_equal(bad->object, f->oid.hex);
		assert_string_equal(bad->path, rel);
		assert_string_equal(bad->message, msg);
		assert_string_equal(bad->fix, "p4reg gc removes it; p4reg computes it again from the object "
				    "when it needs it");
		assert_string_equal(stray->kind, "stray-file");
		assert_string_equal(stray->path, ".p4reg/chunks/01/23/stranger");
		assert_string_equal(stray->message,
				    "'.p4reg/chunks/01/23/stranger' is not a chunk list of p4reg (gc leaves it alone)");
	}
	p4r_fsck_report_clear(&rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deterministic_and_reference),
		cmocka_unit_test(test_lengths_within_bounds),
		cmocka_unit_test(test_insertion_moves_few_chunks),
		cmocka_unit_test(test_small_pieces_same_chunks),
		cmocka_unit_test(test_forced_cuts),
		cmocka_unit_test(test_empty_and_tiny),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_chunk_fd),
		cmocka_unit_test(test_safetensors_cuts),
		cmocka_unit_test(test_safetensors_hostile),
		cmocka_unit_test(test_gguf_cuts),
		cmocka_unit_test(test_gguf_hostile),
		cmocka_unit_test(test_chunk_fd_uses_tensor_cuts),
		cmocka_unit_test(test_chunk_fd_reads_a_long_header),
		cmocka_unit_test(test_chunklist_round_trip),
		cmocka_unit_test(test_chunklist_refusals),
		cmocka_unit_test(test_chunklist_encode_refuses),
		cmocka_unit_test_setup_teardown(test_store_chunklist, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_store_chunklist_missing, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_store_chunklist_corrupt_object, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_store_chunklist_damaged_list, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_store_chunklist_keep, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_store_chunklist_concurrent, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_gc_removes_lists, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_gc_removes_damaged_list, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_fsck_checks_lists, repo_setup, repo_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
