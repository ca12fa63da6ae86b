/* libFuzzer harness: metric keys and values, "KEY=VALUE" pairs, params,
 * times, and the gate expression parser (--require, stage policies). */
#include "p4reg/lifecycle.h"
#include "p4reg/metrics.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *key = NULL;
	const char *pvalue;
	double v;
	int64_t ms;
	p4r_gate gate;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	(void)p4r_metric_key_valid(text);
	(void)p4r_run_name_valid(text);
	(void)p4r_metric_default_goal(text);
	if (p4r_metric_parse_value(&v, text) == 0 && !isfinite(v))
		abort();
	if (p4r_metric_parse_pair(&key, &v, text) == 0) {
		if (!p4r_metric_key_valid(key) || !isfinite(v))
			abort();
	}
	free(key);
	key = NULL;
	if (p4r_param_parse_pair(&key, &pvalue, text) == 0 && !pvalue)
		abort();
	free(key);
	(void)p4r_metrics_parse_time(&ms, text);
	if (p4r_gate_parse(&gate, text, "fuzz") == 0) {
		/* the normalised text parses again to the same gate */
		p4r_gate again;

		if (!memchr(gate.text, '\0', sizeof(gate.text)) || !p4r_gate_op_name(gate.op))
			abort();
		if (p4r_gate_parse(&again, gate.text, "fuzz") != 0 || again.op != gate.op ||
		    strcmp(again.key, gate.key) || again.vs_stage != gate.vs_stage)
			abort();
	}
	free(text);
	return 0;
}
