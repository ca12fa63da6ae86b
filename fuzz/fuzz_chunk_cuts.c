/* libFuzzer harness: tensor boundaries from a file's head (safetensors
 * JSON, GGUF), which is anyone's bytes. The cuts must be ascending, unique
 * and inside the file, and the chunker must honour them: every chunk of
 * 1..P4R_CHUNK_MAX bytes, together the whole input. */
#include "p4reg/chunk.h"

#include <stdint.h>
#include <stdlib.h>

struct seen {
	uint64_t next; /* where the next chunk must start */
	const uint64_t *cuts;
	size_t ncuts, at;
};

static int check(const p4r_chunk *c, uint64_t offset, void *payload)
{
	struct seen *s = payload;

	if (offset != s->next || c->len < 1 || c->len > P4R_CHUNK_MAX)
		abort();
	s->next += c->len;
	/* no chunk runs over a cut */
	while (s->at < s->ncuts && s->cuts[s->at] <= offset)
		s->at++;
	if (s->at < s->ncuts && s->cuts[s->at] < s->next)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t *cuts = NULL;
	p4r_chunker *c = NULL;
	struct seen s = { 0 };
	size_t n = 0, i;

	if (p4r_chunk_cuts(data, size, size, &cuts, &n) != 0)
		abort(); /* only out of memory is an error */
	for (i = 0; i < n; i++)
		if (cuts[i] == 0 || cuts[i] >= size || (i && cuts[i] <= cuts[i - 1]))
			abort();
	s.cuts = cuts;
	s.ncuts = n;
	if (p4r_chunker_new(&c, cuts, n) != 0 || p4r_chunker_update(c, data, size, check, &s) != 0 ||
	    p4r_chunker_finish(c, check, &s) != 0 || s.next != size)
		abort();
	p4r_chunker_free(c);
	free(cuts);
	return 0;
}
