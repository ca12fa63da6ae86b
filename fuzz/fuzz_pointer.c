/* libFuzzer harness: the pointer file parser. Whatever parses must format
 * back to exactly the bytes it came from (one canonical encoding). */
#include "p4reg/pointer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	p4r_pointer p, q;
	char buf[P4R_POINTER_MAX_BYTES + 1];
	size_t len;

	if (p4r_pointer_parse(&p, (const char *)data, size, "fuzz.p4reg") != 0)
		return 0;
	if (p4r_pointer_format(&p, buf, sizeof(buf), &len) != 0)
		abort();
	if (len != size || memcmp(buf, data, size) != 0)
		abort(); /* accepted a non-canonical encoding */
	if (p4r_pointer_parse(&q, buf, len, "again") != 0 || memcmp(&p, &q, sizeof(p)) != 0)
		abort();
	return 0;
}
