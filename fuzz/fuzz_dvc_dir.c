/* libFuzzer harness: the .dir listing of a DVC directory output (a clone
 * delivers it). Whatever decodes must be what p4reg can store as a folder:
 * at least one file, each path valid, strictly ascending (so none twice),
 * each md5 32 lowercase hex digits, each size -1 or 0..2^50. */
#include "p4reg/dvc.h"
#include "p4reg/manifest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	p4r_dvc_dir d;
	size_t i, j;

	if (p4r_dvc_dir_parse(&d, (const char *)data, size) != 0) {
		if (d.n != 0 || d.v != NULL)
			abort(); /* a refusal leaves nothing behind */
		return 0;
	}
	if (d.n == 0 || d.n > P4R_MANIFEST_MAX_FILES)
		abort();
	for (i = 0; i < d.n; i++) {
		const p4r_dvc_dir_entry *e = &d.v[i];

		if (!p4r_manifest_path_valid(e->relpath) || (i > 0 && strcmp(d.v[i - 1].relpath, e->relpath) >= 0))
			abort();
		if (strlen(e->md5) != 32 || strspn(e->md5, "0123456789abcdef") != 32)
			abort();
		if (e->size < -1 || e->size > P4R_MANIFEST_MAX_SIZE)
			abort();
		for (j = 0; j < i; j++) {
			size_t n = strlen(d.v[j].relpath);

			/* no earlier path is a folder of this one */
			if (!strncmp(d.v[j].relpath, e->relpath, n) && e->relpath[n] == '/')
				abort();
		}
	}
	p4r_dvc_dir_clear(&d);
	return 0;
}
