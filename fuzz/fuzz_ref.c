/* libFuzzer harness: the version reference parser ("name@3", "name@v3",
 * "name@latest", "name@production", bare names). */
#include "p4reg/ref.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	p4r_ref ref;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (p4r_ref_parse(&ref, text) == 0) {
		/* a parsed reference names a valid model */
		if (!p4r_model_name_valid(ref.model))
			abort();
		if (ref.kind == P4R_REF_NUMBER && ref.number <= 0)
			abort();
	}
	free(text);
	return 0;
}
