/* Content-defined chunking (chunk.h, docs/remotes.md): a FastCDC gear hash
 * with normalized chunking and forced cuts at tensor boundaries, each
 * chunk named by the SHA-256 of its bytes, computed as the bytes stream in.
 *
 * The rule, exactly (other implementations reproduce it from this):
 * gear[i] is the i-th value of splitmix64 from state 0. A chunk's first
 * P4R_CHUNK_MIN bytes are not hashed. From there fp = (fp << 1) +
 * gear[byte] for each byte, fp starting at 0; the chunk ends after the
 * byte where (fp >> 46) == 0 while the chunk is shorter than
 * P4R_CHUNK_AVG (18 bits), (fp >> 50) == 0 from then on (14 bits), and
 * at P4R_CHUNK_MAX bytes. A forced cut ends the chunk at its offset,
 * whatever its length, and the next chunk starts fresh there. */
#include "p4reg/chunk.h"
#include "p4reg/error.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>

/* One read's worth: syscalls cost nothing next to the hashing, and the
 * block stays in the cache between the gear pass and the SHA-256 pass. */
#define READ_BLOCK ((size_t)1 << 20)
/* The cut tests of normalized chunking: 18 and 14 one-bits of fp. */
#define SHIFT_SMALL 46
#define SHIFT_LARGE 50

static uint64_t gear[256];
static pthread_once_t gear_once = PTHREAD_ONCE_INIT;

static void gear_init(void)
{
	uint64_t s = 0, z;
	size_t i;

	for (i = 0; i < 256; i++) {
		z = (s += 0x9e3779b97f4a7c15ULL);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		gear[i] = z ^ (z >> 31);
	}
}

struct p4r_chunker {
	uint64_t *cuts;     /* forced cuts, ascending, unique (malloc'd) */
	size_t ncuts;
	size_t next;        /* the first cut after START */
	uint64_t pos;       /* bytes fed so far */
	uint64_t start;     /* where the current chunk starts */
	uint64_t fp;        /* the gear hash of the current chunk */
	EVP_MD_CTX *sha;    /* the current chunk's SHA-256 */
	bool broken;        /* a failure stopped it: only _free is left */
};

static int sha_error(void)
{
	return p4r_error_set(P4R_ERROR, "SHA-256 of a chunk failed");
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int p4r_chunker_new(p4r_chunker **out, const uint64_t *cuts, size_t ncuts)
{
	p4r_chunker *c;
	size_t i, n = 0;

	*out = NULL;
	pthread_once(&gear_once, gear_init);
	if (!(c = calloc(1, sizeof(*c))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	if (ncuts && !(c->cuts = malloc(ncuts * sizeof(*c->cuts)))) {
		free(c);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	/* a cut at 0 ends nothing; duplicates end one chunk */
	if (ncuts) {
		memcpy(c->cuts, cuts, ncuts * sizeof(*cuts));
		qsort(c->cuts, ncuts, sizeof(*c->cuts), cmp_u64);
	}
	for (i = 0; i < ncuts; i++)
		if (c->cuts[i] > 0 && (n == 0 || c->cuts[n - 1] != c->cuts[i]))
			c->cuts[n++] = c->cuts[i];
	c->ncuts = n;
	if (!(c->sha = EVP_MD_CTX_new()) || EVP_DigestInit_ex(c->sha, EVP_sha256(), NULL) != 1) {
		p4r_chunker_free(c);
		return sha_error();
	}
	*out = c;
	return 0;
}

void p4r_chunker_free(p4r_chunker *c)
{
	if (!c)
		return;
	EVP_MD_CTX_free(c->sha);
	free(c->cuts);
	free(c);
}

/* How many of the N bytes at P the current chunk takes (all N when it
 * goes on past them); *CUT when it ends after the last byte taken. Moves
 * C->pos and C->fp; the caller starts the next chunk. The hot loop: one
 * table load, a shift, an add and a test per byte. */
static size_t scan(p4r_chunker *c, const unsigned char *p, size_t n, bool *cut)
{
	uint64_t len = c->pos - c->start, forced = UINT64_MAX, fp = c->fp;
	const unsigned char *q = p, *end;
	size_t take = n;

	*cut = false;
	if (c->next < c->ncuts)
		forced = c->cuts[c->next] - c->pos; /* >= 1: a cut reached ends the chunk */
	if (take > forced)
		take = (size_t)forced;
	if (len < P4R_CHUNK_MIN) {
		/* the first MIN bytes are skipped, not hashed */
		if (take > P4R_CHUNK_MIN - len)
			take = (size_t)(P4R_CHUNK_MIN - len);
		c->pos += take;
		*cut = take == forced;
		return take;
	}
	if (len < P4R_CHUNK_AVG) {
		if (take > P4R_CHUNK_AVG - len)
			take = (size_t)(P4R_CHUNK_AVG - len);
		for (end = p + take; q < end;) {
			fp = (fp << 1) + gear[*q++];
			if (!(fp >> SHIFT_SMALL)) {
				*cut = true;
				break;
			}
		}
	} else {
		if (take > P4R_CHUNK_MAX - len)
			take = (size_t)(P4R_CHUNK_MAX - len);
		for (end = p + take; q < end;) {
			fp = (fp << 1) + gear[*q++];
			if (!(fp >> SHIFT_LARGE)) {
				*cut = true;
				break;
			}
		}
	}
	take = (size_t)(q - p);
	c->fp = fp;
	c->pos += take;
	if (take == forced || c->pos - c->start == P4R_CHUNK_MAX)
		*cut = true;
	return take;
}

/* Ends the current chunk at C->pos (its bytes are all in C->sha), tells FN
 * and starts the next one there. */
static int emit(p4r_chunker *c, p4r_chunk_fn fn, void *payload)
{
	p4r_chunk k = { .pack = P4R_CHUNK_NO_PACK, .len = (uint32_t)(c->pos - c->start) };
	unsigned int mdlen = 0;
	uint64_t offset = c->start;
	int rc;

	if (EVP_DigestFinal_ex(c->sha, k.id, &mdlen) != 1 || mdlen != sizeof(k.id) ||
	    EVP_DigestInit_ex(c->sha, EVP_sha256(), NULL) != 1)
		return sha_error();
	c->start = c->pos;
	c->fp = 0;
	while (c->next < c->ncuts && c->cuts[c->next] <= c->pos)
		c->next++;
	if (fn && (rc = fn(&k, offset, payload)) < 0)
		return rc;
	return 0;
}

int p4r_chunker_update(p4r_chunker *c, const void *buf, size_t len, p4r_chunk_fn fn, void *payload)
{
	const unsigned char *p = buf, *seg = buf, *end = p + len;
	bool cut;
	int rc;

	if (c->broken)
		return p4r_error_set(P4R_ERROR, "the chunker stopped after a failure");
	while (p < end) {
		p += scan(c, p, (size_t)(end - p), &cut);
		if (!cut)
			continue;
		/* the chunk's bytes in this buffer go to its SHA-256 at once */
		if (EVP_DigestUpdate(c->sha, seg, (size_t)(p - seg)) != 1) {
			rc = sha_error();
			goto fail;
		}
		seg = p;
		if ((rc = emit(c, fn, payload)) < 0)
			goto fail;
	}
	if (seg < end && EVP_DigestUpdate(c->sha, seg, (size_t)(end - seg)) != 1) {
		rc = sha_error();
		goto fail;
	}
	return 0;
fail:
	c->broken = true;
	return rc;
}

int p4r_chunker_finish(p4r_chunker *c, p4r_chunk_fn fn, void *payload)
{
	int rc;

	if (c->broken)
		return p4r_error_set(P4R_ERROR, "the chunker stopped after a failure");
	if (c->pos == c->start)
		return 0;
	if ((rc = emit(c, fn, payload)) < 0)
		c->broken = true;
	return rc;
}

/* Reads LEN bytes of FD at OFF into BUF; *GOT gets how many there were. */
static int read_at(int fd, void *buf, size_t len, uint64_t off, size_t *got, const char *name)
{
	ssize_t n;

	*got = 0;
	while (*got < len) {
		n = pread(fd, (char *)buf + *got, len - *got, (off_t)(off + *got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return p4r_error_errno("cannot read '%s'", name);
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return 0;
}

static int short_file(const char *name, uint64_t got, uint64_t size)
{
	return p4r_error_set(P4R_EINTEGRITY, "'%s' ends after %llu bytes, not %llu", name,
			     (unsigned long long)got, (unsigned long long)size);
}

/* How much of the file's start p4r_chunk_cuts needs beyond the HAVE bytes
 * at HEAD, which gave no cuts: a safetensors header's whole length, or as
 * much as may be read of a GGUF file (its header's end is known only by
 * walking it); 0 when more cannot help. The answer equals that of the
 * first min(SIZE, P4R_CHUNK_HEAD_MAX) bytes: a header that parses in a
 * prefix parses the same in any longer one. */
static size_t head_wanted(const unsigned char *head, size_t have, uint64_t size)
{
	uint64_t most = size < P4R_CHUNK_HEAD_MAX ? size : P4R_CHUNK_HEAD_MAX, n = 0;
	int i;

	if (have >= most || have < 9)
		return 0;
	if (!memcmp(head, "GGUF", 4))
		return (size_t)most;
	for (i = 7; i >= 0; i--)
		n = (n << 8) | head[i];
	if (head[8] == '{' && n <= most - 8 && 8 + n > have)
		return (size_t)(8 + n);
	return 0;
}

/* The tensor boundaries of FD's first bytes into *CUTS and *N; the bytes read
 * stay in *HEAD (HEAD_LEN of them: BUF, or a larger malloc'd *BIG). */
static int read_head(int fd, uint64_t size, const char *name, unsigned char *buf, unsigned char **big,
		     const unsigned char **head, size_t *head_len, uint64_t **cuts, size_t *n)
{
	size_t have = size < READ_BLOCK ? (size_t)size : READ_BLOCK, want, got;
	int rc;

	*head = buf;
	*head_len = 0;
	if ((rc = read_at(fd, buf, have, 0, &got, name)) < 0)
		return rc;
	if (got < have)
		return short_file(name, got, size);
	*head_len = have;
	if ((rc = p4r_chunk_cuts(buf, have, size, cuts, n)) < 0 || *n ||
	    !(want = head_wanted(buf, have, size)))
		return rc;
	if (!(*big = malloc(want)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	memcpy(*big, buf, have);
	if ((rc = read_at(fd, *big + have, want - have, have, &got, name)) < 0)
		return rc;
	if (got < want - have)
		return short_file(name, have + got, size);
	*head = *big;
	*head_len = want;
	return p4r_chunk_cuts(*big, want, size, cuts, n);
}

/* The whole file's hash, on a thread of its own beside the cutting (which
 * hashes every chunk): the bytes are read twice, the second time from
 * the page cache, and the pass takes the time of the slower hash, not of
 * both (a SHA-256 of every chunk, 0.8 GB/s, against the whole's 1.4). */
struct whole_pass {
	int fd;
	uint64_t size;
	p4r_hasher *h;
	const char *name;
	int rc;
};

static void *hash_whole(void *arg)
{
	struct whole_pass *w = arg;
	unsigned char *buf = malloc(READ_BLOCK);
	uint64_t off;
	size_t got = 0;

	w->rc = buf ? 0 : P4R_ERROR;
	for (off = 0; w->rc == 0 && off < w->size; off += got) {
		size_t len = w->size - off < READ_BLOCK ? (size_t)(w->size - off) : READ_BLOCK;

		if ((w->rc = read_at(w->fd, buf, len, off, &got, w->name)) == 0 && got == 0)
			w->rc = P4R_EINTEGRITY;
		if (w->rc == 0)
			w->rc = p4r_hasher_update(w->h, buf, got);
	}
	free(buf);
	return NULL;
}

int p4r_chunk_fd(int fd, uint64_t size, const char *name, p4r_hasher *whole, p4r_chunk_fn fn,
		 void *payload)
{
	struct whole_pass w = { .fd = fd, .size = size, .h = whole, .name = name };
	pthread_t thread;
	bool threaded = false;
	unsigned char *buf = NULL, *big = NULL, extra;
	const unsigned char *head;
	p4r_chunker *c = NULL;
	uint64_t *cuts = NULL, off;
	size_t ncuts = 0, len, got;
	int rc;

	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (!(buf = malloc(READ_BLOCK)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	/* without a second thread the one pass feeds both */
	if (whole && pthread_create(&thread, NULL, hash_whole, &w) == 0) {
		threaded = true;
		whole = NULL;
	}
	/* the head, read once: its tensor boundaries, then its chunks */
	if ((rc = read_head(fd, size, name, buf, &big, &head, &len, &cuts, &ncuts)) < 0 ||
	    (rc = p4r_chunker_new(&c, cuts, ncuts)) < 0)
		goto done;
	if ((whole && (rc = p4r_hasher_update(whole, head, len)) < 0) ||
	    (rc = p4r_chunker_update(c, head, len, fn, payload)) < 0)
		goto done;
	free(big);
	big = NULL;
	for (off = len; off < size; off += got) {
		len = size - off < READ_BLOCK ? (size_t)(size - off) : READ_BLOCK;
		if ((rc = read_at(fd, buf, len, off, &got, name)) < 0)
			goto done;
		if (got == 0) {
			rc = short_file(name, off, size);
			goto done;
		}
		if ((whole && (rc = p4r_hasher_update(whole, buf, got)) < 0) ||
		    (rc = p4r_chunker_update(c, buf, got, fn, payload)) < 0)
			goto done;
	}
	/* a file longer than SIZE is not the file SIZE describes */
	if ((rc = read_at(fd, &extra, 1, size, &got, name)) < 0)
		goto done;
	if (got) {
		rc = p4r_error_set(P4R_EINTEGRITY, "'%s' holds more than %llu bytes", name,
				   (unsigned long long)size);
		goto done;
	}
	rc = p4r_chunker_finish(c, fn, payload);
done:
	if (threaded) {
		pthread_join(thread, NULL);
		if (rc == 0 && w.rc < 0)
			rc = w.rc == P4R_EINTEGRITY ? short_file(name, 0, size) :
			     p4r_error_set(P4R_ERROR, "cannot read '%s' to hash it", name);
	}
	p4r_chunker_free(c);
	free(cuts);
	free(big);
	free(buf);
	return rc;
}
