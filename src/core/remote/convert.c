/* p4reg remote convert (sync.h, p4r_sync_convert): a format-1 remote's
 * whole objects become chunk lists and packs, one object at a time, each
 * verified on the way down and deduplicated on the way up against the
 * lists of its related objects already there (remote/chunked.c). The
 * format is recorded first, so readers look for lists from then on; an
 * object's whole copy goes only after its list is written, so at every
 * moment each object is there in one form or the other. */
#include "remote/chunked_priv.h"
#include "remote/sync_priv.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The whole objects worth chunking. */
struct wholes {
	p4r_remote_object *v;
	size_t n, cap;
};

static int collect(const p4r_remote_object *o, void *arg)
{
	struct wholes *w = arg;

	if (o->size < P4R_CHUNK_FROM)
		return 0;
	if (w->n == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 64;
		void *p = realloc(w->v, ncap * sizeof(*w->v));

		if (!p)
			return p4r_error_set(P4R_ERROR, "out of memory");
		w->v = p;
		w->cap = ncap;
	}
	w->v[w->n++] = *o;
	return 0;
}

struct convert {
	p4r_repo *repo;
	p4r_remote *r;
	const p4r_sync_progress *prog;
	uint64_t done, total;
	p4r_convert_result *out;
};

static void convert_progress(uint64_t delta, uint64_t total, void *payload)
{
	struct convert *c = payload;

	(void)total;
	c->done += delta;
	if (c->prog && c->prog->fn)
		c->prog->fn(c->done, c->total, c->prog->payload);
}

/* Downloads OID whole (verified) and sends it again as chunks. */
static int rechunk(struct convert *c, const p4r_remote_object *o)
{
	char *tmp = NULL;
	uint64_t sent = 0;
	int fd = -1, rc;

	if ((rc = p4r_mkstemp_in(&fd, &tmp, c->r->tmp_dir, "convert")) < 0)
		return rc;
	if ((rc = p4r_remote_get_verified(c->r, &o->oid, (int64_t)o->size, fd, tmp, convert_progress, c)) == 0 &&
	    (rc = p4r_chunked_put(c->r, &o->oid, tmp, o->size, &sent, NULL, NULL)) == 0) {
		c->out->converted++;
		c->out->bytes_sent += sent;
	}
	close(fd);
	unlink(tmp);
	free(tmp);
	return rc;
}

/* OID's chunk list, already on the remote, is read back whole from its
 * packs alone and verified before the whole copy goes: a list whose packs
 * are missing or damaged (a gc -r race, another writer) must not cost the
 * only good copy. *LISTED false when the list is gone meanwhile. */
static int check_listed(struct convert *c, const p4r_remote_object *o, bool *listed)
{
	char *tmp = NULL;
	uint64_t received = 0, n = 0;
	bool local = false;
	p4r_oid got;
	int fd = -1, rc;

	if ((rc = p4r_mkstemp_in(&fd, &tmp, c->r->tmp_dir, "convert")) < 0)
		return rc;
	rc = p4r_chunked_get(c->r, &o->oid, o->size, fd, -1, &local, &received, convert_progress, c);
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		*listed = false;
		rc = 0;
	} else if (rc == 0 && (rc = lseek(fd, 0, SEEK_SET) < 0 ? p4r_error_errno("cannot read '%s'", tmp) :
					p4r_hash_fd(&got, &n, fd)) == 0 &&
		   (!p4r_oid_equal(&got, &o->oid) || n != o->size)) {
		rc = p4r_error_set(P4R_EINTEGRITY, "the chunk list of %s on remote '%s' does not read back "
				   "(its bytes hash to %s)", o->oid.hex, c->r->name, got.hex);
	}
	if (rc == P4R_EINTEGRITY)
		rc = p4r_error_set(rc, "%s; its whole copy is kept", p4r_error_message());
	close(fd);
	unlink(tmp);
	free(tmp);
	return rc;
}

static int convert_one(struct convert *c, const p4r_remote_object *o, bool keep)
{
	char key[128];
	bool listed = false;
	int rc;

	p4r_remote_chunks_key(key, sizeof(key), &o->oid);
	if ((rc = c->r->ops->exists(c->r, key, &listed)) < 0)
		return rc;
	if (listed && keep)
		convert_progress(o->size, 0, c);
	else if (listed && (rc = check_listed(c, o, &listed)) < 0)
		return rc;
	if (listed)
		c->out->already++;
	else if ((rc = rechunk(c, o)) < 0)
		return rc;
	if (keep)
		return 0;
	p4r_remote_object_key(key, sizeof(key), &o->oid);
	if ((rc = c->r->ops->remove(c->r, key)) == 0)
		c->out->bytes_removed += o->size;
	return rc;
}

int p4r_sync_convert(p4r_repo *repo, p4r_remote *remote, bool keep, const p4r_sync_progress *prog,
		     p4r_convert_result *out)
{
	struct convert c = { .repo = repo, .r = remote, .prog = prog, .out = out };
	struct wholes w = { 0 };
	p4r_sync_chunks hooks;
	size_t i, foreign = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!remote->ops->list_objects)
		return p4r_error_set(P4R_EUSAGE, "remote '%s' cannot list its objects", remote->name);
	if ((rc = p4r_remote_format(remote, false, &out->format_before)) < 0 ||
	    (rc = p4r_chunked_format2(remote)) < 0 ||
	    (rc = remote->ops->list_objects(remote, "objects", collect, &w, &foreign)) < 0)
		goto done;
	out->objects = w.n;
	for (i = 0; i < w.n; i++)
		out->bytes_whole += w.v[i].size;
	c.total = out->bytes_whole;
	if ((rc = p4r_sync_chunks_attach(&hooks, repo, remote)) < 0)
		goto done;
	for (i = 0; i < w.n && rc == 0; i++)
		rc = convert_one(&c, &w.v[i], keep);
	p4r_sync_chunks_detach(&hooks, remote);
done:
	free(w.v);
	return rc;
}
