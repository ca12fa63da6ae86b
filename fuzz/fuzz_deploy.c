/* libFuzzer harness: p4reg get's replay of a remote's event log (deploy.c).
 * The input is split at each newline into batches 1, 2, ...; whatever the
 * decoder accepts is applied, and every reference is resolved after each
 * batch: nothing may crash, and a resolved version must lie within its
 * model's registered versions. */
#include "p4reg/batch.h"
#include "p4reg/deploy.h"
#include "p4reg/error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void resolve_all(const p4r_deploy_log *log, const p4r_sync_event *ev, size_t n)
{
	static const char *const sel[] = { "latest", "production", "staging", "archived", "1", "2" };
	p4r_deploy_version v;
	char text[P4R_MODEL_NAME_MAX + 16];
	p4r_ref ref;
	size_t i, k;

	for (i = 0; i < n; i++) {
		for (k = 0; k < sizeof(sel) / sizeof(sel[0]); k++) {
			snprintf(text, sizeof(text), "%s@%s", ev[i].model, sel[k]);
			if (p4r_ref_parse(&ref, text) < 0 || p4r_deploy_log_resolve(log, &ref, &v) < 0)
				continue;
			if (v.number < 1 || strcmp(v.model, ev[i].model) || !p4r_oid_valid(v.oid.hex))
				abort();
			if ((ref.kind == P4R_REF_STAGE && v.stage != ref.stage) ||
			    (ref.kind == P4R_REF_NUMBER && v.number != ref.number))
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	p4r_deploy_log *log = NULL;
	const char *p = (const char *)data, *end = p + size;
	int64_t seq = 1;

	if (p4r_deploy_log_new(&log) < 0)
		return 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		p4r_sync_event *ev = NULL;
		size_t n = 0;
		int rc = p4r_batch_decode(&ev, &n, "log/x.json", p, len, seq);

		if (rc == 0 && p4r_deploy_log_apply(log, seq, ev, n) == 0)
			resolve_all(log, ev, n);
		p4r_sync_event_array_free(ev, n);
		if (rc < 0 || !nl)
			break;
		p = nl + 1;
		seq++;
	}
	p4r_error_clear();
	p4r_deploy_log_free(log);
	return 0;
}
