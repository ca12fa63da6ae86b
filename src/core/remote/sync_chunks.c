/* What chunk dedup (remote/chunked.c) asks of the local side during a
 * push or a download: the related objects come from the registry, chunk
 * lists and bytes from the store -- lists computed from the store's own
 * bytes only, never taken from a remote. */
#include "remote/sync_priv.h"
#include "p4reg/error.h"
#include "p4reg/registry.h"
#include "p4reg/repo.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

static int related(void *payload, const p4r_oid *oid, size_t max, p4r_oid **out, size_t *n)
{
	p4r_sync_chunks *c = payload;
	int rc;

	/* one registry connection serves every thread of the transfer */
	pthread_mutex_lock(&c->lock);
	rc = p4r_registry_related_objects(p4r_repo_registry(c->repo), oid, P4R_CHUNK_FROM, max, out, n);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static int local_list(void *payload, const p4r_oid *oid, bool compute, p4r_chunklist *l)
{
	p4r_sync_chunks *c = payload;
	p4r_store *store = p4r_repo_store(c->repo);

	if (!p4r_store_has(store, oid))
		return p4r_error_set(P4R_ENOTFOUND, "object %s is not in the store", oid->hex);
	return compute ? p4r_store_chunklist(store, oid, l) : p4r_store_chunklist_kept(store, oid, l);
}

static int open_object(void *payload, const p4r_oid *oid, int *fd)
{
	p4r_sync_chunks *c = payload;
	char path[PATH_MAX];
	int rc;

	if ((rc = p4r_store_object_path(p4r_repo_store(c->repo), oid, path, sizeof(path))) < 0)
		return rc;
	if ((*fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT ? p4r_error_set(P4R_ENOTFOUND, "object %s is not in the store", oid->hex) :
		       p4r_error_errno("cannot open '%s'", path);
	return 0;
}

static int keep(void *payload, const p4r_chunklist *l)
{
	p4r_sync_chunks *c = payload;
	p4r_store *store = p4r_repo_store(c->repo);

	/* a convert sends objects this store may not have */
	if (!p4r_store_has(store, &l->oid))
		return 0;
	return p4r_store_chunklist_keep(store, l);
}

int p4r_sync_chunks_attach(p4r_sync_chunks *c, p4r_repo *repo, p4r_remote *remote)
{
	c->repo = repo;
	c->hooks = (p4r_remote_chunk_hooks){ .related = related, .local_list = local_list,
					     .open = open_object, .keep = keep, .payload = c };
	if (pthread_mutex_init(&c->lock, NULL) != 0)
		return p4r_error_set(P4R_ERROR, "cannot create a lock");
	remote->chunk_hooks = &c->hooks;
	return 0;
}

void p4r_sync_chunks_detach(p4r_sync_chunks *c, p4r_remote *remote)
{
	remote->chunk_hooks = NULL;
	pthread_mutex_destroy(&c->lock);
}
