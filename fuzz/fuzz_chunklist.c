/* libFuzzer harness: the chunk list decoder (a remote delivers lists, and
 * a damaged local one is read back). Whatever decodes must encode back to
 * exactly the bytes it came from: one canonical encoding. */
#include "p4reg/chunk.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	p4r_chunklist l;
	unsigned char *buf;
	size_t len;
	int packed;

	for (packed = 0; packed < 2; packed++) {
		if (p4r_chunklist_decode(&l, data, size, NULL, packed) != 0)
			continue;
		if (p4r_chunklist_encode(&l, &buf, &len) != 0)
			abort();
		if (len != size || memcmp(buf, data, size) != 0)
			abort(); /* accepted a non-canonical encoding */
		free(buf);
		p4r_chunklist_clear(&l);
	}
	return 0;
}
