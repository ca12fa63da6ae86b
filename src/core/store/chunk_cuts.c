/* Tensor boundaries from a file's header (chunk.h): safetensors (JSON,
 * read with cJSON) and GGUF v2/v3. The bytes are hostile: anything that
 * does not parse whole, or names offsets outside the file or overlapping,
 * gives no cuts -- chunking then works from the content alone, so a doubt
 * costs some dedup, never correctness. */
#include "p4reg/chunk.h"
#include "p4reg/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

/* JSON values cJSON may make of one header: about ten per tensor, so a
 * hundred thousand tensors; a hostile header cannot make it allocate much
 * more than this many items. */
#define SAFETENSORS_ITEMS_MAX ((size_t)1 << 20)
/* A JSON number that is an exact offset (below 2^53, integral, >= 0). */
#define EXACT_MAX 9007199254740992.0
/* GGUF's value types. */
enum { GGUF_U8, GGUF_I8, GGUF_U16, GGUF_I16, GGUF_U32, GGUF_I32, GGUF_F32, GGUF_BOOL,
       GGUF_STRING, GGUF_ARRAY, GGUF_U64, GGUF_I64, GGUF_F64, GGUF_NTYPES };
/* ggml's most dimensions of a tensor. */
#define GGUF_DIMS_MAX 4
#define GGUF_ALIGNMENT_DEFAULT 32
/* The smallest tensor info: a name length, n_dims, a type and an offset. */
#define GGUF_TENSOR_INFO_MIN (8 + 4 + 4 + 8)

/* The cuts found so far: offsets within (0, size). */
struct cuts {
	uint64_t *v;
	size_t n, cap;
	uint64_t size;
};

static int cuts_add(struct cuts *c, uint64_t off)
{
	if (off == 0 || off >= c->size)
		return 0;
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		void *p = realloc(c->v, ncap * sizeof(*c->v));

		if (!p)
			return p4r_error_set(P4R_ERROR, "out of memory");
		c->v = p;
		c->cap = ncap;
	}
	c->v[c->n++] = off;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorts C's cuts and drops the repeats. */
static void cuts_finish(struct cuts *c)
{
	size_t i, n = 0;

	qsort(c->v, c->n, sizeof(*c->v), cmp_u64);
	for (i = 0; i < c->n; i++)
		if (n == 0 || c->v[n - 1] != c->v[i])
			c->v[n++] = c->v[i];
	c->n = n;
}

static uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- safetensors: u64 LE N, N bytes of JSON, the data ---- */

/* A tensor's [begin, end) relative to the data. */
struct span {
	uint64_t b, e;
};

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	if (x->b != y->b)
		return x->b < y->b ? -1 : 1;
	return x->e < y->e ? -1 : x->e > y->e;
}

static bool exact_offset(const cJSON *v, uint64_t *out)
{
	double d;

	if (!cJSON_IsNumber(v))
		return false;
	d = v->valuedouble;
	if (!isfinite(d) || d < 0 || d >= EXACT_MAX || floor(d) != d)
		return false;
	*out = (uint64_t)d;
	return true;
}

/* A tensor entry: {"dtype":"F32","shape":[...],"data_offsets":[b,e]}. */
static bool tensor_span(const cJSON *t, uint64_t data_len, struct span *s)
{
	const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(t, "dtype");
	const cJSON *shape = cJSON_GetObjectItemCaseSensitive(t, "shape");
	const cJSON *offs = cJSON_GetObjectItemCaseSensitive(t, "data_offsets"), *d;
	uint64_t dim;

	if (!cJSON_IsObject(t) || !cJSON_IsString(dtype) || !cJSON_IsArray(shape) ||
	    !cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2)
		return false;
	cJSON_ArrayForEach(d, shape)
		if (!exact_offset(d, &dim))
			return false;
	if (!exact_offset(offs->child, &s->b) || !exact_offset(offs->child->next, &s->e))
		return false;
	return s->b <= s->e && s->e <= data_len;
}

/* Whether the N bytes at P, and a few more values, could make more cJSON
 * items than the cap: every item but the first follows a ',' ':' '[' '{'. */
static bool too_many_items(const unsigned char *p, size_t n)
{
	size_t i, items = 1;

	for (i = 0; i < n; i++)
		items += p[i] == ',' || p[i] == ':' || p[i] == '[' || p[i] == '{';
	return items > SAFETENSORS_ITEMS_MAX;
}

/* The cuts of a safetensors file, or none (*C untouched) when HEAD is not
 * one whose header parses whole. Only out of memory is an error. */
static int safetensors_cuts(const unsigned char *head, size_t len, uint64_t size, struct cuts *c)
{
	const char *end = NULL, *json;
	cJSON *root = NULL, *t;
	struct span *spans = NULL;
	size_t nspans = 0, cap = 0, i;
	uint64_t n, data;
	int rc = 0;

	if (len < 8)
		return 0;
	n = le64(head);
	/* "{}" at least, all of it in HEAD and in the file */
	if (n < 2 || n > len - 8 || n > size - 8 || head[8] != '{' || too_many_items(head + 8, (size_t)n))
		return 0;
	data = 8 + n;
	json = (const char *)head + 8;
	root = cJSON_ParseWithLengthOpts(json, (size_t)n, &end, false);
	if (!cJSON_IsObject(root) || !end)
		goto done;
	/* the format pads the header with spaces */
	for (; end < json + n; end++)
		if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r')
			goto done;
	cJSON_ArrayForEach(t, root) {
		if (t->string && !strcmp(t->string, "__metadata__"))
			continue;
		if (nspans == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			void *p = realloc(spans, ncap * sizeof(*spans));

			if (!p) {
				rc = p4r_error_set(P4R_ERROR, "out of memory");
				goto done;
			}
			spans = p;
			cap = ncap;
		}
		if (!t->string || !tensor_span(t, size - data, &spans[nspans]))
			goto done;
		nspans++;
	}
	if (nspans)
		qsort(spans, nspans, sizeof(*spans), span_cmp);
	for (i = 1; i < nspans; i++)
		if (spans[i].b < spans[i - 1].e)
			goto done; /* overlapping tensors: not a layout to trust */
	if ((rc = cuts_add(c, data)) < 0)
		goto done;
	for (i = 0; i < nspans && rc == 0; i++)
		if ((rc = cuts_add(c, data + spans[i].b)) == 0)
			rc = cuts_add(c, data + spans[i].e);
done:
	free(spans);
	cJSON_Delete(root);
	return rc;
}

/* ---- GGUF v2/v3 (little-endian): header, key-value pairs, tensor infos,
 * padding to the alignment, tensor data at offsets relative to it ---- */

struct reader {
	const unsigned char *p;
	size_t left;
};

static bool take(struct reader *r, size_t n, const unsigned char **out)
{
	if (n > r->left)
		return false;
	if (out)
		*out = r->p;
	r->p += n;
	r->left -= n;
	return true;
}

static bool get_u32(struct reader *r, uint32_t *v)
{
	const unsigned char *p;

	if (!take(r, 4, &p))
		return false;
	*v = le32(p);
	return true;
}

static bool get_u64(struct reader *r, uint64_t *v)
{
	const unsigned char *p;

	if (!take(r, 8, &p))
		return false;
	*v = le64(p);
	return true;
}

static bool get_string(struct reader *r, const unsigned char **s, uint64_t *n)
{
	return get_u64(r, n) && *n <= r->left && take(r, (size_t)*n, s);
}

/* The size of a fixed-size value of TYPE; 0 for strings, arrays and
 * unknown types. */
static size_t fixed_size(uint32_t type)
{
	static const unsigned char sizes[GGUF_NTYPES] = {
		[GGUF_U8] = 1, [GGUF_I8] = 1, [GGUF_U16] = 2, [GGUF_I16] = 2, [GGUF_U32] = 4,
		[GGUF_I32] = 4, [GGUF_F32] = 4, [GGUF_BOOL] = 1, [GGUF_U64] = 8, [GGUF_I64] = 8,
		[GGUF_F64] = 8,
	};

	return type < GGUF_NTYPES ? sizes[type] : 0;
}

/* Skips a value of TYPE (an array's elements may not be arrays). */
static bool skip_value(struct reader *r, uint32_t type)
{
	const unsigned char *s;
	uint64_t count, i, n;
	uint32_t elem;
	size_t size;

	if (type == GGUF_STRING)
		return get_string(r, &s, &n);
	if (type != GGUF_ARRAY)
		return (size = fixed_size(type)) && take(r, size, NULL);
	if (!get_u32(r, &elem) || !get_u64(r, &count))
		return false;
	if (elem == GGUF_STRING) {
		/* each at least its 8-byte length: a hostile count fails fast */
		if (count > r->left / 8)
			return false;
		for (i = 0; i < count; i++)
			if (!get_string(r, &s, &n))
				return false;
		return true;
	}
	if (!(size = fixed_size(elem)) || count > r->left / size)
		return false;
	return take(r, (size_t)count * size, NULL);
}

/* The key-value pairs: general.alignment, when there, into *ALIGN. */
static bool gguf_kvs(struct reader *r, uint64_t nkv, uint32_t *align)
{
	static const char key_align[] = "general.alignment";
	const unsigned char *key;
	uint64_t i, klen;
	uint32_t type;

	/* a pair is at least a key length, a type and a byte */
	if (nkv > r->left / 13)
		return false;
	for (i = 0; i < nkv; i++) {
		if (!get_string(r, &key, &klen) || !get_u32(r, &type))
			return false;
		if (klen == sizeof(key_align) - 1 && !memcmp(key, key_align, klen)) {
			if (type != GGUF_U32 || !get_u32(r, align) || *align == 0 ||
			    (*align & (*align - 1)))
				return false;
			continue;
		}
		if (!skip_value(r, type))
			return false;
	}
	return true;
}

static int gguf_cuts(const unsigned char *head, size_t len, uint64_t size, struct cuts *c)
{
	struct reader r = { head, len };
	uint64_t ntensors, nkv, i, dim, off, data, *offs = NULL;
	uint32_t version, ndims, type, align = GGUF_ALIGNMENT_DEFAULT, d;
	const unsigned char *name;
	int rc = 0;

	if (!take(&r, 4, &name) || memcmp(name, "GGUF", 4) || !get_u32(&r, &version) ||
	    (version != 2 && version != 3) || !get_u64(&r, &ntensors) || !get_u64(&r, &nkv) ||
	    !gguf_kvs(&r, nkv, &align))
		return 0;
	/* every info needs its bytes in HEAD: the count cannot outgrow them */
	if (ntensors == 0 || ntensors > r.left / GGUF_TENSOR_INFO_MIN)
		return 0;
	if (!(offs = malloc((size_t)ntensors * sizeof(*offs))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < ntensors; i++) {
		if (!get_string(&r, &name, &dim) || !get_u32(&r, &ndims) || ndims == 0 ||
		    ndims > GGUF_DIMS_MAX)
			goto done;
		for (d = 0; d < ndims; d++)
			if (!get_u64(&r, &dim))
				goto done;
		if (!get_u32(&r, &type) || !get_u64(&r, &offs[i]) || offs[i] % align)
			goto done;
	}
	off = len - r.left;
	data = off + (align - off % align) % align;
	if (data > size)
		goto done;
	qsort(offs, (size_t)ntensors, sizeof(*offs), cmp_u64);
	for (i = 0; i < ntensors; i++)
		/* two tensors at one offset, or one past the end: not a layout to trust */
		if ((i && offs[i] == offs[i - 1]) || offs[i] >= size - data)
			goto done;
	/* a tensor's end is the next one's start, less padding: starts suffice */
	if ((rc = cuts_add(c, data)) < 0)
		goto done;
	for (i = 0; i < ntensors && rc == 0; i++)
		rc = cuts_add(c, data + offs[i]);
done:
	free(offs);
	return rc;
}

int p4r_chunk_cuts(const unsigned char *head, size_t len, uint64_t file_size, uint64_t **cuts,
		   size_t *n)
{
	struct cuts c = { .size = file_size };
	int rc;

	*cuts = NULL;
	*n = 0;
	if (len > file_size)
		len = (size_t)file_size;
	if ((rc = safetensors_cuts(head, len, file_size, &c)) == 0 && c.n == 0)
		rc = gguf_cuts(head, len, file_size, &c);
	if (rc < 0 || c.n == 0) {
		free(c.v);
		return rc;
	}
	cuts_finish(&c);
	*cuts = c.v;
	*n = c.n;
	return 0;
}
