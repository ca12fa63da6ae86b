/* libFuzzer harness: the Git LFS pointer decoder (extension lines and
 * all). Whatever decodes encodes to a pointer that decodes the same, and
 * to exactly the bytes it came from when they are canonical (the v1 spec
 * URL and a size above 0): nothing is dropped. */
#include "p4reg/lfs.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char v1[] = "version " P4R_LFS_SPEC "\n";
	p4r_lfs_pointer p, q;
	char buf[P4R_LFS_POINTER_MAX + 1];
	size_t len;

	if (p4r_lfs_pointer_decode(&p, (const char *)data, size) != 0)
		return 0;
	if (p.next > P4R_LFS_EXT_MAX)
		abort();
	if (p4r_lfs_pointer_encode(buf, sizeof(buf), &len, &p) != 0)
		abort();
	if (p.size > 0 && size >= sizeof(v1) - 1 && !memcmp(data, v1, sizeof(v1) - 1) &&
	    (len != size || memcmp(buf, data, size) != 0))
		abort(); /* accepted a non-canonical encoding, or dropped something */
	if (p4r_lfs_pointer_decode(&q, buf, len) != 0)
		abort();
	if (p.size > 0 && memcmp(&p, &q, sizeof(p)) != 0)
		abort();
	return 0;
}
