/* libFuzzer harness: the JSON an evaluation script hands log-metric --file. */
#include "p4reg/metrics.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	p4r_metrics_file f;
	size_t i;

	if (p4r_metrics_file_parse(&f, (const char *)data, size, "fuzz.json") == 0) {
		for (i = 0; i < f.nmetrics; i++)
			if (!f.metrics[i].key || !isfinite(f.metrics[i].value))
				abort();
		for (i = 0; i < f.nparams; i++)
			if (!f.params[i].key || !f.params[i].value)
				abort();
	}
	p4r_metrics_file_clear(&f);
	return 0;
}
