/* libFuzzer harness: the folder manifest decoder (a remote delivers
 * manifests). Whatever decodes must encode back to exactly the bytes it
 * came from: one canonical encoding, so one oid per folder state. */
#include "p4reg/manifest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	p4r_manifest m = { 0 };
	char *buf;
	size_t len;

	if (p4r_manifest_decode(&m, (const char *)data, size, "fuzz") != 0)
		return 0;
	if (p4r_manifest_encode(&m, &buf, &len) != 0)
		abort();
	if (len != size || memcmp(buf, data, size) != 0)
		abort(); /* accepted a non-canonical encoding */
	free(buf);
	p4r_manifest_clear(&m);
	return 0;
}
