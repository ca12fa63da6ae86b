/* p4r_push: the push operation (ops/push.h). */
#include "p4reg/ops/push.h"
#include "p4reg/error.h"
#include "p4reg/objguard.h"
#include "p4reg/registry.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* What the transfer threads share with the callbacks of one push. */
struct push_news {
	p4r_repo *repo;
	const p4r_op_report *report;
	pthread_mutex_t lock;   /* one note at a time */
};

static void push_progress(uint64_t done, uint64_t total, void *payload)
{
	struct push_news *n = payload;

	p4r_op_progress(n->report, "push", done, total);
}

/* An upload that goes on from the parts an interrupted push left, named
 * by the version that has the object. */
static void on_resume(const char *key, unsigned reused, unsigned parts, void *payload)
{
	struct push_news *n = payload;
	char list[256], first[P4R_MODEL_NAME_MAX + 24] = "";
	const char *base = strrchr(key, '/');
	int64_t size;
	p4r_oid oid;

	pthread_mutex_lock(&n->lock);
	if (base && p4r_oid_valid(base + 1)) {
		memcpy(oid.hex, base + 1, sizeof(oid.hex));
		if (p4r_registry_oid_versions(p4r_repo_registry(n->repo), &oid, list, sizeof(list), first,
					      sizeof(first), &size) < 0)
			p4r_error_clear();
	}
	p4r_op_note(n->report, "resuming upload of %s: %u of %u parts already on the remote",
		    first[0] ? first : key, reused, parts);
	pthread_mutex_unlock(&n->lock);
}

static void on_damage(const struct p4r_guard_event *ev, void *payload)
{
	p4r_op_repaired(payload, ev);
}

int p4r_push(p4r_repo *repo, const p4r_push_opts *opts, const p4r_op_report *report,
	     p4r_push_result *out)
{
	struct push_news news = { .repo = repo, .report = report, .lock = PTHREAD_MUTEX_INITIALIZER };
	p4r_sync_progress prog = { .fn = push_progress, .payload = &news };
	p4r_push_opts o = *opts;
	p4r_remote *r = NULL;
	size_t i;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < opts->n_models; i++) {
		p4r_model m = { 0 };

		if ((rc = p4r_registry_model_get(p4r_repo_registry(repo), opts->models[i], &m)) < 0)
			return rc;
		p4r_model_clear(&m);
	}
	if ((rc = p4r_remote_open(&r, p4r_repo_config(repo), p4r_repo_meta(repo), opts->remote)) < 0)
		return rc;
	snprintf(out->remote, sizeof(out->remote), "%s", r->name);
	r->on_resume = on_resume;
	r->resume_payload = &news;
	if (!o.on_damage) {
		o.on_damage = on_damage;
		o.damage_payload = (void *)report;
	}
	rc = p4r_sync_push(repo, r, &o, &prog, &out->sync);
	for (i = 0; rc == 0 && i < out->sync.nmissing; i++)
		p4r_op_warn(report, "published %s without its object: it is neither here nor on remote '%s'",
			    out->sync.missing[i], r->name);
	p4r_remote_free(r);
	return rc;
}

void p4r_push_result_free(p4r_push_result *r)
{
	if (r)
		p4r_sync_result_clear(&r->sync);
}
