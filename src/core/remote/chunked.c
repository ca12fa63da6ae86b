/* Format-2 remotes (docs/remotes.md "Format 2"): an object of at least
 * P4R_CHUNK_FROM bytes is stored as its chunk list (chunks/ab/cd/<oid>)
 * and its chunks, packed back to back into packs of ~32 MiB
 * (packs/ab/cd/<id>, id the SHA-256 of its chunks' ids). A push sends only the
 * chunks that the chunk lists of the object's related objects (other
 * versions of its model) on the remote do not already hold; a download
 * copies the chunks the local store's related objects hold and reads only
 * the rest, as ranged reads of packs.
 *
 * What a remote says is not trusted: a chunk list is decoded with every
 * bound checked (chunk.h), a rebuilt object is verified whole against its
 * oid by the caller (remote.c) before anything is stored, and a push
 * checks that every pack it names from another object's list is there.
 * Local chunk lists come only from local bytes (the hooks, sync_chunks.c). */
#include "remote/chunked_priv.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/parallel.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/rand.h>

#define FORMAT_KEY "p4reg-format.json"
#define FORMAT_NEWEST 2
/* A chunk list longer than this is refused: 5.5 M chunks, ~350 GiB. */
#define LIST_MAX ((size_t)256 << 20)
/* Related objects asked about per object: the newest versions. */
#define RELATED_MAX 8
#define PACK_TARGET ((uint64_t)32 << 20)
/* A download reads at most this much in one request (parallel pieces). */
#define SEGMENT_MAX ((uint64_t)16 << 20)
#define COPY_BUF ((size_t)1 << 20)

/* ---- the remote's format ---- */

static int parse_format(const p4r_remote *r, const char *text, int *format)
{
	cJSON *doc = cJSON_Parse(text), *f = doc ? cJSON_GetObjectItemCaseSensitive(doc, "format") : NULL;
	int rc = 0;

	if (!cJSON_IsNumber(f) || f->valuedouble < 1 || f->valuedouble > 1000 ||
	    f->valuedouble != (double)(int)f->valuedouble)
		rc = p4r_error_set(P4R_EINTEGRITY, "'%s' on remote '%s' is damaged: it must be {\"format\": N}",
				   FORMAT_KEY, r->name);
	else if ((*format = (int)f->valuedouble) > FORMAT_NEWEST)
		rc = p4r_error_set(P4R_EUSAGE, "remote '%s' has format %d; this p4reg knows formats 1 to %d: "
				   "upgrade p4reg", r->name, *format, FORMAT_NEWEST);
	cJSON_Delete(doc);
	return rc;
}

/* *FORMAT from FORMAT_KEY, -1 when it is absent. */
static int read_format(p4r_remote *r, int *format)
{
	char *text = NULL;
	size_t len = 0;
	int rc = r->ops->get_small(r, FORMAT_KEY, 4096, &text, &len);

	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		*format = -1;
		return 0;
	}
	if (rc == 0)
		rc = parse_format(r, text, format);
	free(text);
	return rc;
}

/* Writes FORMAT_KEY (format 2) unless a writer did; R->format as it is. */
static int write_format(p4r_remote *r)
{
	static const char text[] = "{\"format\": 2}\n";
	int rc = r->ops->create_excl(r, FORMAT_KEY, text, sizeof(text) - 1);

	if (rc == P4R_EEXISTS) {
		p4r_error_clear();
		return read_format(r, &r->format);
	}
	if (rc == 0)
		r->format = 2;
	return rc;
}

/* A remote with no format: one nothing was pushed to (no first batch)
 * takes the configured format, which a first writer records; else it
 * stays format 1, converted only by `p4reg remote convert`. */
static int settle_format(p4r_remote *r)
{
	char key[64];
	bool pushed = false;
	int rc;

	p4r_remote_log_key(key, sizeof(key), 1);
	if (r->opts.format < 2 || (rc = r->ops->exists(r, key, &pushed)) < 0 || pushed) {
		r->format = 1;
		return r->opts.format < 2 || pushed ? 0 : rc;
	}
	return write_format(r);
}

int p4r_chunked_format2(p4r_remote *r)
{
	int rc;

	pthread_mutex_lock(&r->format_lock);
	rc = write_format(r);
	pthread_mutex_unlock(&r->format_lock);
	return rc;
}

int p4r_remote_format(p4r_remote *r, bool for_write, int *format)
{
	int rc = 0;

	pthread_mutex_lock(&r->format_lock);
	if (r->format == 0)
		rc = read_format(r, &r->format);
	if (rc == 0 && r->format < 0 && for_write)
		rc = settle_format(r);
	*format = r->format < 0 ? 1 : r->format;
	if (rc < 0 && r->format > 0 && r->format != 2)
		r->format = 0;
	pthread_mutex_unlock(&r->format_lock);
	return rc;
}

/* ---- where known chunks are: chunk id -> (source, offset) ---- */

struct slot {
	unsigned char id[32];
	uint32_t len;
	uint32_t where;       /* a source: a pack (push) or a local object (download) */
	uint64_t off;         /* where in it the chunk starts */
	bool used;
};

/* Open addressing; the slot comes from the id mixed with a random key, so
 * ids a remote chose cannot pile into one run. */
struct chunkmap {
	struct slot *v;
	size_t cap, n;
	uint64_t key;
};

static uint64_t slot_of(const struct chunkmap *m, const unsigned char id[32])
{
	uint64_t h;

	memcpy(&h, id, sizeof(h));
	h ^= m->key;
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
	return (h ^ (h >> 31)) & (m->cap - 1);
}

static struct slot *map_find(const struct chunkmap *m, const unsigned char id[32], uint32_t len)
{
	uint64_t i;

	if (m->cap == 0)
		return NULL;
	for (i = slot_of(m, id); m->v[i].used; i = (i + 1) & (m->cap - 1))
		if (m->v[i].len == len && !memcmp(m->v[i].id, id, 32))
			return &m->v[i];
	return NULL;
}

static int map_grow(struct chunkmap *m)
{
	struct chunkmap bigger = { .cap = m->cap ? m->cap * 2 : 1024, .key = m->key };
	size_t i;

	if (!m->cap && RAND_bytes((unsigned char *)&bigger.key, sizeof(bigger.key)) != 1)
		return p4r_error_set(P4R_ERROR, "cannot get random bytes");
	if (!(bigger.v = calloc(bigger.cap, sizeof(*bigger.v))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < m->cap; i++) {
		uint64_t j;

		if (!m->v[i].used)
			continue;
		for (j = slot_of(&bigger, m->v[i].id); bigger.v[j].used; j = (j + 1) & (bigger.cap - 1))
			;
		bigger.v[j] = m->v[i];
	}
	bigger.n = m->n;
	free(m->v);
	*m = bigger;
	return 0;
}

/* Remembers where chunk C is; the first place known stays. */
static int map_put(struct chunkmap *m, const p4r_chunk *c, uint32_t where, uint64_t off)
{
	uint64_t i;
	int rc;

	if ((m->n + 1) * 4 > m->cap * 3 && (rc = map_grow(m)) < 0)
		return rc;
	for (i = slot_of(m, c->id); m->v[i].used; i = (i + 1) & (m->cap - 1))
		if (m->v[i].len == c->len && !memcmp(m->v[i].id, c->id, 32))
			return 0;
	memcpy(m->v[i].id, c->id, 32);
	m->v[i].len = c->len;
	m->v[i].where = where;
	m->v[i].off = off;
	m->v[i].used = true;
	m->n++;
	return 0;
}

static void map_clear(struct chunkmap *m)
{
	free(m->v);
	memset(m, 0, sizeof(*m));
}

int p4r_remote_get_chunklist(p4r_remote *r, const p4r_oid *oid, p4r_chunklist *l)
{
	char key[128], *buf = NULL;
	size_t len = 0;
	int rc;

	p4r_remote_chunks_key(key, sizeof(key), oid);
	if ((rc = r->ops->get_small(r, key, LIST_MAX, &buf, &len)) < 0)
		return rc;
	rc = p4r_chunklist_decode(l, (const unsigned char *)buf, len, oid, true);
	free(buf);
	if (rc == P4R_EINTEGRITY)
		rc = p4r_error_set(rc, "%s (on remote '%s')", p4r_error_message(), r->name);
	return rc;
}

int p4r_chunked_size(p4r_remote *r, const p4r_oid *oid, uint64_t *size)
{
	p4r_chunklist l = { 0 };
	int rc = p4r_remote_get_chunklist(r, oid, &l);

	*size = l.size;
	p4r_chunklist_clear(&l);
	return rc;
}

/* The objects related to OID, from the hooks (none without them). */
static int related(const p4r_remote *r, const p4r_oid *oid, p4r_oid **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!r->chunk_hooks || !r->chunk_hooks->related)
		return 0;
	return r->chunk_hooks->related(r->chunk_hooks->payload, oid, RELATED_MAX, out, n);
}

/* ---- push: the chunks the remote lacks, packed ---- */

/* The packs a push knows: those of the related objects' chunk lists on
 * the remote, then the push's own as each is sent. */
struct known {
	struct chunkmap map;            /* chunk -> (index into IDS, offset in that pack) */
	unsigned char (*ids)[32];
	size_t nids, capids;
};

static int known_pack(struct known *k, const unsigned char id[32], uint32_t *index)
{
	if (k->nids == k->capids) {
		size_t ncap = k->capids ? k->capids * 2 : 64;
		void *p = realloc(k->ids, ncap * sizeof(*k->ids));

		if (!p)
			return p4r_error_set(P4R_ERROR, "out of memory");
		k->ids = p;
		k->capids = ncap;
	}
	memcpy(k->ids[k->nids], id, 32);
	*index = (uint32_t)k->nids++;
	return 0;
}

/* Every chunk of the remote's list L becomes known where L says it is. */
static int known_add_list(struct known *k, const p4r_chunklist *l)
{
	size_t base = k->nids, i;
	uint32_t ix;
	int rc;

	for (i = 0; i < l->npacks; i++)
		if ((rc = known_pack(k, l->packs[i], &ix)) < 0)
			return rc;
	for (i = 0; i < l->n; i++)
		if ((rc = map_put(&k->map, &l->chunks[i], (uint32_t)(base + l->chunks[i].pack),
				  l->chunks[i].pack_off)) < 0)
			return rc;
	return 0;
}

static void known_clear(struct known *k)
{
	map_clear(&k->map);
	free(k->ids);
	memset(k, 0, sizeof(*k));
}

/* The chunk lists of OID's related objects on R, as known chunks. A list
 * that is damaged is passed over (it only costs chunks sent again). */
static int known_from_related(p4r_remote *r, const p4r_oid *oid, struct known *k)
{
	p4r_oid *rel = NULL;
	size_t n = 0, i;
	int rc;

	if ((rc = related(r, oid, &rel, &n)) < 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++) {
		p4r_chunklist l = { 0 };

		rc = p4r_remote_get_chunklist(r, &rel[i], &l);
		if (rc == P4R_ENOTFOUND || rc == P4R_EINTEGRITY) {
			p4r_error_clear();
			rc = 0;
		} else if (rc == 0) {
			rc = known_add_list(k, &l);
		}
		p4r_chunklist_clear(&l);
	}
	free(rel);
	return rc;
}

/* One object's push: its chunks are cut as the file is read once (and
 * hashed whole); a chunk not known goes into the open pack, which is sent
 * when it is full. LIST's chunks name indexes into K->ids until the end. */
struct packer {
	p4r_remote *r;
	struct known *k;
	p4r_chunklist *list;
	int src;                  /* the object */
	const char *name;
	bool open;                /* a pack is being filled */
	p4r_hasher *h;            /* its name: the hash of its chunks' ids */
	uint64_t len;
	uint32_t index;           /* its slot in K->ids, filled when it is sent */
	uint64_t target;
	unsigned char *buf;       /* the pack, in memory: TARGET + P4R_CHUNK_MAX bytes */
	uint64_t sent;
	p4r_progress_fn progress;
	void *payload;
	uint64_t reported;
};

static int pack_open(struct packer *p)
{
	static const unsigned char none[32];
	int rc;

	if ((rc = p4r_hasher_reset(p->h)) < 0 || (rc = known_pack(p->k, none, &p->index)) < 0)
		return rc;
	p->len = 0;
	p->open = true;
	return 0;
}

/* Sends the open pack from memory, unless the remote has one of that
 * name and length (the same chunks: a push that failed after it, or
 * another push); a short one at its key, cut or planted, is replaced, or
 * no push of these chunks could ever get past packs_there. A pack is
 * written with a conditional create, complete or not at all; from
 * memory, so its bytes are not written to a local file first (a second
 * stream to the disk that cost more than the hashing). */
static int pack_send(struct packer *p)
{
	p4r_oid id;
	char key[128];
	bool there = false;
	uint64_t have = 0;
	int rc;

	if (!p->open)
		return 0;
	p->open = false;
	if ((rc = p4r_hasher_final(p->h, &id)) < 0)
		return rc;
	p4r_oid_to_raw(&id, p->k->ids[p->index]);
	p4r_remote_pack_key(key, sizeof(key), &id);
	if ((rc = p->r->ops->stat(p->r, key, &there, &have)) < 0 || (there && have == p->len))
		return rc;
	if (there && (rc = p->r->ops->remove(p->r, key)) < 0)
		return rc;
	rc = p->r->ops->create_excl(p->r, key, p->buf, (size_t)p->len);
	if (rc == P4R_EEXISTS) {
		/* another push wrote it in between: the same chunks */
		p4r_error_clear();
		return 0;
	}
	if (rc == 0)
		p->sent += p->len;
	return rc;
}

/* Copies chunk C (at OFFSET of the object) into the open pack. */
static int pack_add(struct packer *p, const p4r_chunk *c, uint64_t offset, uint64_t *at)
{
	ssize_t n;
	int rc;

	if (!p->open && (rc = pack_open(p)) < 0)
		return rc;
	do
		n = pread(p->src, p->buf + p->len, c->len, (off_t)offset);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)c->len)
		return n < 0 ? p4r_error_errno("cannot read '%s'", p->name) :
		       p4r_error_set(P4R_EINTEGRITY, "'%s' shrank while it was pushed", p->name);
	/* a pack is named by its chunks' ids, in order: content-addressed,
	 * and no second hash of its bytes (the chunks' own ids vouch for them) */
	if (p4r_hasher_update(p->h, c->id, sizeof(c->id)) < 0)
		return p4r_error_set(P4R_ERROR, "cannot hash a pack of '%s'", p->name);
	*at = p->len;
	p->len += c->len;
	return 0;
}

static int on_chunk(const p4r_chunk *c, uint64_t offset, void *payload)
{
	struct packer *p = payload;
	const struct slot *s = map_find(&p->k->map, c->id, c->len);
	p4r_chunk e = *c;
	int rc;

	if (s) {
		e.pack = s->where;
		e.pack_off = s->off;
	} else {
		/* the pack goes before this chunk would take it past the target
		 * (at most multipartThreshold: a request no larger than the user
		 * allows one to be) */
		if (p->open && p->len + c->len > p->target && (rc = pack_send(p)) < 0)
			return rc;
		if ((rc = pack_add(p, c, offset, &e.pack_off)) < 0)
			return rc;
		e.pack = p->index;
		if ((rc = map_put(&p->k->map, &e, e.pack, e.pack_off)) < 0)
			return rc;
	}
	if ((rc = p4r_chunklist_add(p->list, &e)) < 0)
		return rc;
	if (p->progress) {
		p->progress(offset + c->len - p->reported, 0, p->payload);
		p->reported = offset + c->len;
	}
	return 0;
}

/* LIST's chunks named indexes into K->ids: now they name its own packs. */
static int list_packs(p4r_chunklist *list, const struct known *k)
{
	size_t i;
	int rc;

	for (i = 0; i < list->n; i++)
		if ((rc = p4r_chunklist_pack(list, k->ids[list->chunks[i].pack], &list->chunks[i].pack)) < 0)
			return rc;
	return 0;
}

/* Every pack LIST names that this push did not send (another object's)
 * must be on R and long enough: a list must never name bytes the remote
 * does not hold. *OK false when one is not. */
static int packs_there(p4r_remote *r, const p4r_chunklist *list, bool *ok)
{
	uint64_t *need = calloc(list->npacks ? list->npacks : 1, sizeof(*need));
	size_t i;
	int rc = 0;

	*ok = true;
	if (!need)
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < list->n; i++) {
		uint64_t end = list->chunks[i].pack_off + list->chunks[i].len;

		if (end > need[list->chunks[i].pack])
			need[list->chunks[i].pack] = end;
	}
	for (i = 0; i < list->npacks && *ok && rc == 0; i++) {
		char key[128];
		p4r_oid id;
		uint64_t size = 0;
		bool there = false;

		p4r_oid_from_raw(&id, list->packs[i]);
		p4r_remote_pack_key(key, sizeof(key), &id);
		if ((rc = r->ops->stat(r, key, &there, &size)) == 0)
			*ok = there && size >= need[i];
	}
	free(need);
	return rc;
}

static int list_send(p4r_remote *r, const p4r_chunklist *list, uint64_t *sent)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	char key[128];
	int rc;

	if ((rc = p4r_chunklist_encode(list, &buf, &len)) < 0)
		return rc;
	p4r_remote_chunks_key(key, sizeof(key), &list->oid);
	rc = r->ops->create_excl(r, key, buf, len);
	if (rc == P4R_EEXISTS) {
		/* another push wrote it first: the object is there */
		p4r_error_clear();
		rc = 0;
	} else if (rc == 0) {
		*sent += len;
	}
	free(buf);
	return rc;
}

static int changed(const p4r_oid *oid)
{
	return p4r_error_set(P4R_EINTEGRITY, "object %s in the local store changed while it was pushed "
			     "(a hard-linked work file written to?); not pushed: run 'p4reg fsck'", oid->hex);
}

/* Whether the file open as FD is still the one ST describes, unwritten
 * (p4r_stat_same: a write through a hard link of a work file moves its
 * ctime). */
static bool unchanged(int fd, const struct stat *st)
{
	struct stat now;

	return fstat(fd, &now) == 0 && p4r_stat_same(&now, st);
}

/* Cuts and sends one object with what K knows; LIST gets its chunk list.
 * The object is read three times at once (the cutting, which names the
 * chunks; each new chunk's copy into its pack; the whole hash), so the
 * bytes those reads saw are one set only if the file, open as SRC and
 * described by ST (taken when it was opened), did not change meanwhile:
 * the hash vouches for the chunks only then. */
static int put_with(p4r_remote *r, struct known *k, const p4r_oid *oid, int src, const struct stat *st,
		    const char *name, uint64_t size, p4r_chunklist *list, uint64_t *sent,
		    p4r_progress_fn progress, void *payload)
{
	struct packer p = { .r = r, .k = k, .list = list, .src = src, .name = name,
			    .progress = progress, .payload = payload };
	p4r_hasher *whole = NULL;
	p4r_oid got;
	int rc;

	p.target = r->opts.multipart_threshold < PACK_TARGET ? r->opts.multipart_threshold : PACK_TARGET;
	list->oid = *oid;
	list->size = size;
	/* aligned: a folder remote writes it around the page cache */
	if (posix_memalign((void **)&p.buf, 4096, p.target + P4R_CHUNK_MAX) != 0) {
		p.buf = NULL;
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	if ((rc = p4r_hasher_new(&whole)) < 0 || (rc = p4r_hasher_new(&p.h)) < 0 ||
	    (rc = p4r_chunk_fd(src, size, name, whole, on_chunk, &p)) < 0 || (rc = pack_send(&p)) < 0 ||
	    (rc = p4r_hasher_final(whole, &got)) < 0)
		goto done;
	if (!p4r_oid_equal(&got, oid)) {
		rc = p4r_error_set(P4R_EINTEGRITY, "object %s in the local store is corrupt (its bytes hash to %s); "
				   "not pushed", oid->hex, got.hex);
		goto done;
	}
	if (!unchanged(src, st)) {
		rc = changed(oid);
		goto done;
	}
	rc = list_packs(list, k);
done:
	free(p.buf);
	p4r_hasher_free(p.h);
	p4r_hasher_free(whole);
	*sent += p.sent;
	return rc;
}

static int keep_local(const p4r_remote *r, const p4r_chunklist *list)
{
	if (!r->chunk_hooks || !r->chunk_hooks->keep)
		return 0;
	return r->chunk_hooks->keep(r->chunk_hooks->payload, list);
}

int p4r_chunked_put(p4r_remote *r, const p4r_oid *oid, const char *path, uint64_t size,
		    uint64_t *sent, p4r_progress_fn progress, void *payload)
{
	struct known k = { 0 };
	p4r_chunklist list = { 0 };
	struct stat st;
	bool ok = true;
	int src, rc = 0, attempt;

	*sent = 0;
	if ((src = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return p4r_error_errno("cannot open '%s'", path);
	if (fstat(src, &st) < 0) {
		rc = p4r_error_errno("cannot read '%s'", path);
		close(src);
		return rc;
	}
	/* a second attempt knows nothing: a pack another list named was gone */
	for (attempt = 0; attempt < 2; attempt++) {
		if (attempt == 0)
			rc = known_from_related(r, oid, &k);
		if (rc == 0)
			rc = put_with(r, &k, oid, src, &st, path, size, &list, sent, progress, payload);
		if (rc == 0)
			rc = packs_there(r, &list, &ok);
		if (rc < 0 || ok)
			break;
		known_clear(&k);
		p4r_chunklist_clear(&list);
	}
	/* this push's own packs are missing or short right after it sent them */
	if (rc == 0 && !ok)
		rc = p4r_error_set(P4R_EINTEGRITY, "a pack the chunk list of %s names is missing or short on "
				   "remote '%s' right after it was sent; not pushed", oid->hex, r->name);
	if (rc == 0)
		rc = list_send(r, &list, sent);
	if (rc == 0)
		rc = keep_local(r, &list);
	close(src);
	known_clear(&k);
	p4r_chunklist_clear(&list);
	return rc;
}

/* ---- download: copy what is here, read the rest ---- */

/* A run of the object's bytes that comes from one place: a local object
 * (LOCAL, source SRC) or a pack (PACK), contiguous there and here. */
struct segment {
	uint64_t at, len, from;
	uint32_t src;
	bool local;
};

struct assembly {
	p4r_remote *r;
	const p4r_chunklist *list;
	struct segment *seg;
	size_t nseg, capseg;
	int *src_fd;                /* the local sources, opened */
	p4r_oid *src_oid;
	size_t nsrc;
	int fd, fd2;
	int dfd;                    /* FD again, opened O_DIRECT: -1 when the file system refuses */
	pthread_mutex_t lock;       /* guards RECEIVED and calls of PROGRESS */
	uint64_t received;
	p4r_progress_fn progress;
	void *payload;
};

/* The related object OID as a source of chunks, when the store has it
 * and its chunk list (computed from its bytes when not kept yet). */
static int local_source(struct assembly *a, const p4r_remote_chunk_hooks *hk, const p4r_oid *oid,
			bool compute, struct chunkmap *map)
{
	p4r_chunklist l = { 0 };
	uint64_t off = 0;
	size_t j;
	int fd = -1, rc = hk->local_list(hk->payload, oid, compute, &l);

	if (rc == 0 && (rc = hk->open(hk->payload, oid, &fd)) == 0) {
		uint32_t src = (uint32_t)a->nsrc;

		a->src_oid[src] = *oid;
		a->src_fd[a->nsrc++] = fd;
		for (j = 0; j < l.n && rc == 0; off += l.chunks[j].len, j++)
			rc = map_put(map, &l.chunks[j], src, off);
	} else if (rc == P4R_ENOTFOUND || rc == P4R_EINTEGRITY) {
		/* not here, or damaged here: its chunks come from the remote */
		p4r_error_clear();
		rc = 0;
	}
	p4r_chunklist_clear(&l);
	return rc;
}

/* The chunks of OID's related objects that the store has, as chunk ->
 * (source, offset); A->src_* get the sources. Kept chunk lists are used
 * as they are; a list is computed (a read of the whole object) for the
 * newest related object alone, and only when none is kept: one version's
 * read buys most of what there is to share, eight would cost more than
 * many downloads. */
static int local_sources(struct assembly *a, const p4r_oid *oid, struct chunkmap *map)
{
	const p4r_remote_chunk_hooks *hk = a->r->chunk_hooks;
	size_t n = 0, i;
	int rc;

	if (!hk || !hk->local_list || !hk->open)
		return 0;
	if ((rc = related(a->r, oid, &a->src_oid, &n)) < 0 || n == 0)
		return rc;
	if (!(a->src_fd = malloc(n * sizeof(*a->src_fd))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < n && rc == 0; i++)
		rc = local_source(a, hk, &a->src_oid[i], false, map);
	/* none kept: the newest related object the store has lends its chunks */
	for (i = 0; i < n && rc == 0 && a->nsrc == 0; i++)
		rc = local_source(a, hk, &a->src_oid[i], true, map);
	return rc;
}

static int segment_add(struct assembly *a, bool local, uint32_t src, uint64_t from, uint64_t at, uint32_t len)
{
	struct segment *last = a->nseg ? &a->seg[a->nseg - 1] : NULL;

	if (last && last->local == local && last->src == src && last->from + last->len == from &&
	    last->len + len <= SEGMENT_MAX) {
		last->len += len;
		return 0;
	}
	if (a->nseg == a->capseg) {
		size_t ncap = a->capseg ? a->capseg * 2 : 64;
		void *p = realloc(a->seg, ncap * sizeof(*a->seg));

		if (!p)
			return p4r_error_set(P4R_ERROR, "out of memory");
		a->seg = p;
		a->capseg = ncap;
	}
	a->seg[a->nseg++] = (struct segment){ .at = at, .len = len, .from = from, .src = src, .local = local };
	return 0;
}

/* Which chunk comes from where, merged into runs. */
static int plan(struct assembly *a, const struct chunkmap *map)
{
	uint64_t at = 0;
	size_t i;
	int rc = 0;

	for (i = 0; i < a->list->n && rc == 0; i++) {
		const p4r_chunk *c = &a->list->chunks[i];
		const struct slot *s = map_find(map, c->id, c->len);

		rc = s ? segment_add(a, true, s->where, s->off, at, c->len) :
		     segment_add(a, false, c->pack, c->pack_off, at, c->len);
		at += c->len;
	}
	return rc;
}

static void assembly_progress(uint64_t delta, uint64_t total, void *payload)
{
	struct assembly *a = payload;

	(void)total;
	pthread_mutex_lock(&a->lock);
	if (a->progress)
		a->progress(delta, 0, a->payload);
	pthread_mutex_unlock(&a->lock);
}

/* Writes N bytes of BUF at AT of the download: DIRECT around the page
 * cache, falling back to it where the file system took O_DIRECT at open
 * but refuses it at write (EINVAL). 0, or -1 with errno set. */
static int write_span(const struct assembly *a, const unsigned char *buf, size_t n, uint64_t at, bool direct)
{
	if (direct && p4r_pwrite_full(a->dfd, buf, n, (off_t)at) == 0)
		return 0;
	if (direct && errno != EINVAL)
		return -1;
	return p4r_pwrite_full(a->fd, buf, n, (off_t)at);
}

/* Copies bytes AT..AT+LEN of the download from a local object (the
 * store's, read-only) at FROM; DIRECT: AT and LEN are whole 4 KiB blocks,
 * written around the page cache. */
static int copy_span(struct assembly *a, const struct segment *s, unsigned char *buf, uint64_t at,
		     uint64_t len, bool direct)
{
	int src = a->src_fd[s->src];
	uint64_t done = 0;

	while (done < len) {
		size_t want = len - done < COPY_BUF ? (size_t)(len - done) : COPY_BUF;
		ssize_t n = pread(src, buf, want, (off_t)(s->from + (at - s->at) + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)want)
			return n < 0 ? p4r_error_errno("cannot read object %s", a->src_oid[s->src].hex) :
			       p4r_error_set(P4R_EINTEGRITY, "object %s in the local store is shorter than its "
					     "chunk list", a->src_oid[s->src].hex);
		if (write_span(a, buf, want, at + done, direct) < 0 ||
		    (a->fd2 >= 0 && p4r_pwrite_full(a->fd2, buf, want, (off_t)(at + done)) < 0))
			return p4r_error_errno("cannot write a download");
		done += want;
	}
	return 0;
}

/* Copies a run of a local object into place: its whole 4 KiB blocks
 * around the page cache (most of a dedup download is such runs, and the
 * cache writes at a third of the disk's speed here), the partial blocks
 * at its ends through it, so a neighbouring run's bytes in those blocks
 * are never overwritten. */
static int copy_local(struct assembly *a, const struct segment *s)
{
	uint64_t lo = (s->at + 4095) / 4096 * 4096, hi = (s->at + s->len) / 4096 * 4096;
	unsigned char *buf = NULL;
	int rc;

	if (posix_memalign((void **)&buf, 4096, COPY_BUF) != 0)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if (a->dfd < 0 || lo >= hi)
		rc = copy_span(a, s, buf, s->at, s->len, false);
	else if ((rc = copy_span(a, s, buf, s->at, lo - s->at, false)) == 0 &&
		 (rc = copy_span(a, s, buf, lo, hi - lo, true)) == 0)
		rc = copy_span(a, s, buf, hi, s->at + s->len - hi, false);
	free(buf);
	if (rc == 0)
		assembly_progress(s->len, 0, a);
	return rc;
}

static int segment_item(size_t i, void *payload)
{
	struct assembly *a = payload;
	const struct segment *s = &a->seg[i];
	char key[128];
	p4r_oid pack;
	int rc;

	if (s->local)
		return copy_local(a, s);
	p4r_oid_from_raw(&pack, a->list->packs[s->src]);
	p4r_remote_pack_key(key, sizeof(key), &pack);
	rc = a->r->ops->get_range(a->r, key, s->from, s->len, a->fd, a->fd2, s->at, assembly_progress, a);
	if (rc == P4R_ENOTFOUND)
		rc = p4r_error_set(P4R_EINTEGRITY, "pack %s named by the chunk list of %s is not on remote '%s'",
				   pack.hex, a->list->oid.hex, a->r->name);
	if (rc == 0) {
		pthread_mutex_lock(&a->lock);
		a->received += s->len;
		pthread_mutex_unlock(&a->lock);
	}
	return rc;
}

/* FD opened again for writes around the page cache, -1 where the file
 * system has no O_DIRECT (the copies then go through the cache). Its own
 * open file: O_DIRECT on FD would be shared with the other runs' writes. */
static int reopen_direct(int fd)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return open(proc, O_WRONLY | O_DIRECT | O_CLOEXEC);
}

static void assembly_clear(struct assembly *a)
{
	size_t i;

	if (a->dfd >= 0)
		close(a->dfd);
	for (i = 0; i < a->nsrc; i++)
		close(a->src_fd[i]);
	free(a->src_fd);
	free(a->src_oid);
	free(a->seg);
}

int p4r_chunked_get(p4r_remote *r, const p4r_oid *oid, uint64_t size, int fd, int fd2, bool *local,
		    uint64_t *received, p4r_progress_fn progress, void *payload)
{
	p4r_chunklist list = { 0 };
	struct assembly a = { .r = r, .list = &list, .fd = fd, .fd2 = fd2, .dfd = -1, .progress = progress,
			      .payload = payload };
	struct chunkmap map = { 0 };
	unsigned jobs = r->opts.jobs > 0 ? (unsigned)r->opts.jobs : 1;
	int rc;

	*received = 0;
	if (!r->ops->get_range)
		return p4r_error_set(P4R_ENOTFOUND, "remote '%s' cannot read ranges", r->name);
	if ((rc = p4r_remote_get_chunklist(r, oid, &list)) < 0)
		return rc;
	if (list.size != size) {
		rc = p4r_error_set(P4R_EINTEGRITY, "the chunk list of %s on remote '%s' says %llu bytes, but its "
				   "version records %llu", oid->hex, r->name, (unsigned long long)list.size,
				   (unsigned long long)size);
		goto done;
	}
	if ((*local && (rc = local_sources(&a, oid, &map)) < 0) || (rc = plan(&a, &map)) < 0)
		goto done;
	*local = a.nsrc > 0;
	map_clear(&map);
	if (ftruncate(fd, (off_t)size) < 0 || (fd2 >= 0 && ftruncate(fd2, (off_t)size) < 0)) {
		rc = p4r_error_errno("cannot size the download of %s", oid->hex);
		goto done;
	}
	if (a.nsrc > 0)
		a.dfd = reopen_direct(fd);
	if (pthread_mutex_init(&a.lock, NULL) != 0) {
		rc = p4r_error_set(P4R_ERROR, "cannot create a lock");
		goto done;
	}
	rc = p4r_parallel_for(a.nseg, jobs, segment_item, &a);
	pthread_mutex_destroy(&a.lock);
	*received = a.received;
done:
	map_clear(&map);
	assembly_clear(&a);
	p4r_chunklist_clear(&list);
	return rc;
}
