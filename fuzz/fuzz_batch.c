/* libFuzzer harness: the remote batch decoder (batch.c), which reads what
 * any remote delivers. Whatever decodes must encode back into a batch that
 * decodes to the same events: the encoder and the decoder agree. */
#include "p4reg/batch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

static int same_text(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static void compare(const p4r_sync_event *a, const p4r_sync_event *b)
{
	if (strcmp(a->uuid, b->uuid) || strcmp(a->model, b->model) || a->version != b->version ||
	    strcmp(a->kind, b->kind) || strcmp(a->from_stage, b->from_stage) ||
	    strcmp(a->to_stage, b->to_stage) || a->forced != b->forced || a->at_ms != b->at_ms ||
	    !same_text(a->actor, b->actor) || !same_text(a->reason, b->reason) ||
	    a->has_version != b->has_version)
		abort();
	/* A hook's detail is filtered on the way out; every other one is kept. */
	if (strcmp(a->kind, "hook") && !same_text(a->detail, b->detail))
		abort();
	if (a->has_version &&
	    (strcmp(a->oid.hex, b->oid.hex) || a->size != b->size || a->created_ms != b->created_ms ||
	     !same_text(a->author, b->author) || !same_text(a->message, b->message) ||
	     !same_text(a->path, b->path) || !same_text(a->git_commit, b->git_commit) ||
	     !same_text(a->git_branch, b->git_branch) || a->git_dirty != b->git_dirty ||
	     a->version_kind != b->version_kind || a->files != b->files || a->tree_size != b->tree_size))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	p4r_sync_event *ev = NULL, *again = NULL;
	size_t n = 0, m = 0, len = 0, used = 0, i;
	char *text = NULL;

	if (p4r_batch_decode(&ev, &n, "fuzz", (const char *)data, size, 1) != 0)
		return 0;
	if (n == 0 || p4r_batch_encode(&text, &len, &used, 1, ev, n, "fuzz", 0) != 0 || used != n)
		abort(); /* a decoded batch must always be publishable again */
	if (p4r_batch_decode(&again, &m, "again", text, len, 1) != 0 || m != n)
		abort();
	for (i = 0; i < n; i++)
		compare(&ev[i], &again[i]);
	p4r_sync_event_array_free(ev, n);
	p4r_sync_event_array_free(again, m);
	cJSON_free(text);
	return 0;
}
