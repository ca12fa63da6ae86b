/* The content-addressed object store: insert (reflink, hardlink or a
 * hashed copy through tmp/), checkout beside the destination, verify. */
#include "p4reg/store.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/publish.h"
#include "util/testknob.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/fs.h>

/* One read, one hash update and one write per block; 4 MiB keeps syscalls
 * rare while RING_SLOTS of them stay far below the 32 MiB budget. */
#define COPY_BLOCK ((size_t)4 << 20)
#define RING_SLOTS 4
/* O_DIRECT wants buffers, offsets and lengths on the device's logical block
 * size; 4 KiB covers every common one (a refusal falls back anyway). */
#define DIRECT_ALIGN 4096
/* Progress every 16 MiB: often enough for a bar, rare enough to be free. */
#define PROGRESS_BLOCKS 4
#define OBJECT_MODE 0444
#define CHECKOUT_MODE 0644
#define DIR_MODE 0755
/* Attempts at a fresh temporary name for link(2) before giving up. */
#define LINK_NAME_TRIES 8

struct p4r_store {
	char *meta;    /* the .p4reg folder */
	char *objects; /* META/objects: ab/cd/<oid>, read-only files */
	char *tmp;     /* META/tmp: objects being written (same file system) */
	/* a batch (p4r_store_defer_sync): objects are published without
	 * fsyncs, and p4r_store_sync makes them durable with one syncfs */
	bool deferred;
	atomic_bool unsynced;   /* an object was published since the last sync */
	atomic_bool no_reflink; /* the store's file system said it cannot clone */
	int objects_fd;         /* OBJECTS, open since p4r_store_open, or -1 */
	int syncfs_ok;          /* syncfs makes the store durable: 1, 0, -1 not asked yet */
};

/* At most this many files get one pass's bytes: a pull in copy mode writes
 * the store's object and the work-tree file from one read. */
#define MAX_SINKS 2

/* One file a pass copies its bytes to. */
struct sink {
	int fd;
	const char *name;          /* NULL: "output" (a caller's descriptor) */
	bool direct;               /* switched to O_DIRECT: written by offset */
};

/* What one pass over a file does: read SRC once, hash it, and copy it to
 * each of SINKS. Names are only for messages. */
struct stream {
	int src;
	const char *src_name;
	struct sink sinks[MAX_SINKS];
	size_t nsinks;
	bool writeback;            /* the sinks are files to be fsynced: flush early */
	uint64_t total;            /* expected size for progress, 0 if unknown */
	p4r_progress_fn progress;  /* nullable */
	void *payload;
	uint64_t limit;            /* > 0: SRC must not hold more bytes (a download) */
};

/* The pipeline for large files: a reader thread fills block N while this
 * thread hashes it and one writer thread per sink writes it, so reading,
 * hashing and writing overlap and SHA-256 or the disk is the limit, not
 * their sum. A slot is refilled once it is hashed and written everywhere. */
struct ring {
	pthread_mutex_t lock;
	pthread_cond_t filled;     /* reader -> consumers: a slot has data, the end, or stop */
	pthread_cond_t drained;    /* consumers -> reader: a slot is done with, or stop */
	unsigned char *buf[RING_SLOTS];
	size_t len[RING_SLOTS];
	uint64_t head;             /* slots filled so far; only the reader moves it */
	uint64_t hashed;           /* slots hashed so far; only the hasher moves it */
	uint64_t written[MAX_SINKS]; /* slots written so far, per sink */
	bool end;                  /* no more slots will be filled */
	bool stop;                 /* a consumer failed: read and write nothing more */
	int rerr;                  /* the reader's errno (errors are per thread) */
	bool too_long;             /* SRC went past S->limit */
	int werr[MAX_SINKS];       /* each writer's errno */
	const struct stream *s;
};

/* A writer thread: sink I of R's stream. */
struct writer {
	struct ring *r;
	size_t i;
	pthread_t tid;
	bool started;
};

static const char *const link_names[] = {
	[P4R_LINK_REFLINK] = "reflink",
	[P4R_LINK_HARDLINK] = "hardlink",
	[P4R_LINK_COPY] = "copy",
};

const char *p4r_link_name(p4r_link_type t)
{
	if ((size_t)t < sizeof(link_names) / sizeof(link_names[0]))
		return link_names[t];
	return "unknown";
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int p4r_link_parse(p4r_link_type *order, size_t *n, const char *spec)
{
	const char *p = spec, *start, *end;
	size_t count = 0, len, i, t;
	bool known, dup;

	*n = 0;
	for (;;) {
		while (is_space(*p))
			p++;
		start = p;
		while (*p && *p != ',')
			p++;
		end = p;
		while (end > start && is_space(end[-1]))
			end--;
		len = (size_t)(end - start);
		known = false;
		for (t = 0; t < sizeof(link_names) / sizeof(link_names[0]); t++) {
			if (strlen(link_names[t]) != len || memcmp(link_names[t], start, len))
				continue;
			known = true;
			dup = false;
			for (i = 0; i < count; i++)
				dup = dup || order[i] == (p4r_link_type)t;
			if (!dup && count < P4R_LINK_MAX)
				order[count++] = (p4r_link_type)t;
		}
		if (!known)
			return p4r_error_set(P4R_EUSAGE, "unknown cache type '%.*s'",
					     len > 64 ? 64 : (int)len, start);
		if (!*p)
			break;
		p++;
	}
	*n = count;
	return 0;
}

/* OBJECTS opened as a folder, never through a symbolic link in its place
 * (repository open refuses one; this holds at every later use too). */
static int open_objects_path(const char *objects)
{
	return open(objects, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* The objects folder for one use: the descriptor kept since open, or a
 * fresh one when the store was opened before init made the folder. *OWNED
 * when the caller closes it. */
static int objects_root(const p4r_store *store, int *fd, bool *owned)
{
	*owned = store->objects_fd < 0;
	*fd = *owned ? open_objects_path(store->objects) : store->objects_fd;
	return *fd < 0 ? p4r_error_errno("cannot open folder '%s'", store->objects) : 0;
}

int p4r_store_open(p4r_store **out, const char *meta_dir)
{
	p4r_store *store;

	*out = NULL;
	if (!(store = calloc(1, sizeof(*store))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	store->objects_fd = -1;
	store->syncfs_ok = -1;
	store->meta = strdup(meta_dir);
	store->objects = p4r_path_join(meta_dir, "objects");
	store->tmp = p4r_path_join(meta_dir, "tmp");
	if (!store->meta || !store->objects || !store->tmp) {
		p4r_store_free(store);
		return p4r_error_set(P4R_ERROR, "out of memory");
	}
	/* kept open: every new object opens its fan-out folders below it */
	store->objects_fd = open_objects_path(store->objects);
	*out = store;
	return 0;
}

void p4r_store_free(p4r_store *store)
{
	if (!store)
		return;
	if (store->objects_fd >= 0)
		close(store->objects_fd);
	free(store->meta);
	free(store->objects);
	free(store->tmp);
	free(store);
}

int p4r_store_init(const char *meta_dir)
{
	char *objects = p4r_path_join(meta_dir, "objects");
	char *tmp = p4r_path_join(meta_dir, "tmp");
	int rc;

	if (!objects || !tmp) {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
		goto done;
	}
	if ((rc = p4r_mkdir_p(objects, DIR_MODE)) < 0 || (rc = p4r_mkdir_p(tmp, DIR_MODE)) < 0)
		goto done;
	rc = p4r_fsync_dir(meta_dir);
done:
	free(objects);
	free(tmp);
	return rc;
}

int p4r_store_object_path(const p4r_store *store, const p4r_oid *oid, char *buf, size_t bufsz)
{
	return p4r_oid_path(buf, bufsz, store->objects, oid);
}

bool p4r_store_has(const p4r_store *store, const p4r_oid *oid)
{
	char path[PATH_MAX];
	struct stat st;

	if (p4r_store_object_path(store, oid, path, sizeof(path)) < 0)
		return false;
	/* the name itself: a symbolic link planted there is no object (its
	 * target is outside the store), and is replaced when the object is */
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int pwrite_full(int fd, const unsigned char *p, size_t len, uint64_t off)
{
	ssize_t n;

	while (len > 0) {
		n = pwrite(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = ENOSPC;
			return -1;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int set_direct(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFL, on ? fl | O_DIRECT : fl & ~O_DIRECT);
}

/* Fills BUF unless the file ends first: a short block means end of file. */
static int read_block(int fd, unsigned char *buf, size_t cap, size_t *got)
{
	ssize_t n;

	*got = 0;
	while (*got < cap) {
		n = read(fd, buf + *got, cap - *got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return 0;
}

static int read_error(const struct stream *s)
{
	return p4r_error_errno("cannot read '%s'", s->src_name);
}

/* A download's source with more bytes than it may have: nothing past the
 * limit was written. */
static int too_long(const struct stream *s)
{
	return p4r_error_set(P4R_EINTEGRITY, "'%s' grew past its recorded size (%llu bytes) while it was read",
			     s->src_name, (unsigned long long)s->limit);
}

static bool past_limit(const struct stream *s, uint64_t done, size_t got)
{
	return s->limit && (uint64_t)got > s->limit - done;
}

static int write_error(const struct sink *k, int err)
{
	errno = err;
	if (!k->name)
		return p4r_error_errno("cannot write output");
	return p4r_error_errno("cannot write '%s'", k->name);
}

/* Writes block OFF..OFF+LEN to the sink K; -1 with errno set. A large
 * file is written around the page cache (O_DIRECT): nobody reads it soon,
 * and the kernel neither copies it into the cache nor leaves the fsync
 * 1 GiB of dirty pages to flush. The unaligned tail, or a file system that
 * refuses (EINVAL), goes through the cache; offsets make that retry exact,
 * and writeback of it starts at once, so the final fsync finds little to do. */
static int sink_write(const struct stream *s, const struct sink *k, bool *direct,
		      const unsigned char *buf, size_t len, uint64_t off)
{
	if (!k->direct)
		return p4r_write_full(k->fd, buf, len) < 0 ? -1 : 0;
	if (*direct && len % DIRECT_ALIGN == 0 && off % DIRECT_ALIGN == 0) {
		if (pwrite_full(k->fd, buf, len, off) == 0)
			return 0;
		if (errno != EINVAL)
			return -1;
	}
	if (*direct) {
		*direct = false;
		if (set_direct(k->fd, false) < 0)
			return -1;
	}
	if (pwrite_full(k->fd, buf, len, off) < 0)
		return -1;
	if (s->writeback)
		(void)sync_file_range(k->fd, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE);
	return 0;
}

/* Writes BUF (block OFF..OFF+LEN) to every sink of S; DIRECT is their state. */
static int sinks_write(const struct stream *s, bool *direct, const unsigned char *buf, size_t len,
		       uint64_t off)
{
	size_t i;

	for (i = 0; i < s->nsinks; i++)
		if (sink_write(s, &s->sinks[i], &direct[i], buf, len, off) < 0)
			return write_error(&s->sinks[i], errno);
	return 0;
}

static void report(const struct stream *s, uint64_t done)
{
	if (s->progress)
		s->progress(done, s->total > done ? s->total : done, s->payload);
}

/* Small files and hash-only passes: one buffer, no thread. */
static int pump_serial(p4r_hasher *h, uint64_t *size, const struct stream *s, size_t bufsz)
{
	unsigned char *buf = NULL;
	bool direct[MAX_SINKS];
	uint64_t done = 0;
	unsigned blocks = 0;
	size_t got, i;
	int rc = 0;

	for (i = 0; i < s->nsinks; i++)
		direct[i] = s->sinks[i].direct;
	if (posix_memalign((void **)&buf, DIRECT_ALIGN, bufsz) != 0)
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (;;) {
		if (read_block(s->src, buf, bufsz, &got) < 0) {
			rc = read_error(s);
			break;
		}
		if (got == 0)
			break;
		if (past_limit(s, done, got)) {
			rc = too_long(s);
			break;
		}
		if ((rc = p4r_hasher_update(h, buf, got)) < 0 ||
		    (rc = sinks_write(s, direct, buf, got, done)) < 0)
			break;
		done += got;
		if (++blocks % PROGRESS_BLOCKS == 0)
			report(s, done);
		if (got < bufsz)
			break;
	}
	if (rc == 0)
		*size = done;
	free(buf);
	return rc;
}

/* The slots every consumer is done with (called under the lock). */
static uint64_t ring_consumed(const struct ring *r)
{
	uint64_t low = r->hashed;
	size_t i;

	for (i = 0; i < r->s->nsinks; i++)
		if (r->written[i] < low)
			low = r->written[i];
	return low;
}

/* Stops every thread of R after a failure. */
static void ring_halt(struct ring *r)
{
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_broadcast(&r->filled);
	pthread_cond_broadcast(&r->drained);
	pthread_mutex_unlock(&r->lock);
}

/* A consumer waits for slot K: true when it is filled, false at the end
 * or on stop. */
static bool ring_wait(struct ring *r, uint64_t k)
{
	bool more;

	pthread_mutex_lock(&r->lock);
	while (r->head == k && !r->end && !r->stop)
		pthread_cond_wait(&r->filled, &r->lock);
	more = r->head > k && !r->stop;
	pthread_mutex_unlock(&r->lock);
	return more;
}

/* A consumer is done with its first K slots (*DONE, its counter). */
static void ring_release(struct ring *r, uint64_t *done, uint64_t k)
{
	pthread_mutex_lock(&r->lock);
	*done = k;
	pthread_cond_signal(&r->drained);
	pthread_mutex_unlock(&r->lock);
}

/* The reader: fills slots in order until the end of SRC, a failure or stop. */
static void *ring_read(void *arg)
{
	struct ring *r = arg;
	const struct stream *s = r->s;
	uint64_t k = 0, off = 0;
	size_t slot, got;
	bool stop;

	for (;;) {
		pthread_mutex_lock(&r->lock);
		while (k - ring_consumed(r) >= RING_SLOTS && !r->stop)
			pthread_cond_wait(&r->drained, &r->lock);
		stop = r->stop;
		pthread_mutex_unlock(&r->lock);
		if (stop)
			break;
		slot = (size_t)(k % RING_SLOTS);
		if (read_block(s->src, r->buf[slot], COPY_BLOCK, &got) < 0) {
			r->rerr = errno;
			break;
		}
		/* a block past the limit never reaches a sink */
		if (got == 0 || (r->too_long = past_limit(s, off, got)))
			break;
		pthread_mutex_lock(&r->lock);
		r->len[slot] = got;
		r->head = ++k;
		pthread_cond_broadcast(&r->filled);
		pthread_mutex_unlock(&r->lock);
		off += got;
		if (got < COPY_BLOCK)
			break;
	}
	pthread_mutex_lock(&r->lock);
	r->end = true;
	pthread_cond_broadcast(&r->filled);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* A writer: every filled slot, in order, to its sink. */
static void *ring_write(void *arg)
{
	struct writer *w = arg;
	struct ring *r = w->r;
	const struct sink *k = &r->s->sinks[w->i];
	bool direct = k->direct;
	uint64_t n = 0, off = 0;
	size_t slot;

	while (ring_wait(r, n)) {
		slot = (size_t)(n % RING_SLOTS);
		if (sink_write(r->s, k, &direct, r->buf[slot], r->len[slot], off) < 0) {
			r->werr[w->i] = errno;
			ring_halt(r);
			break;
		}
		off += r->len[slot];
		ring_release(r, &r->written[w->i], ++n);
	}
	return NULL;
}

/* The ring's blocks, aligned for O_DIRECT. On failure the caller still
 * frees them all: those not allocated are NULL. */
static int ring_alloc(struct ring *r)
{
	size_t i;

	for (i = 0; i < RING_SLOTS; i++) {
		if (posix_memalign((void **)&r->buf[i], DIRECT_ALIGN, COPY_BLOCK) != 0) {
			r->buf[i] = NULL;
			return p4r_error_set(P4R_ERROR, "out of memory");
		}
	}
	return 0;
}

/* The hasher's side of the ring: feeds each filled block to H in order
 * until the end, a hash failure or stop. *DONE gets the bytes hashed. */
static int ring_hash(struct ring *r, p4r_hasher *h, uint64_t *done)
{
	uint64_t total = 0, n = 0;
	unsigned blocks = 0;
	size_t slot;
	int rc = 0;

	while (ring_wait(r, n)) {
		slot = (size_t)(n % RING_SLOTS);
		if ((rc = p4r_hasher_update(h, r->buf[slot], r->len[slot])) < 0)
			break;
		total += r->len[slot];
		ring_release(r, &r->hashed, ++n);
		if (++blocks % PROGRESS_BLOCKS == 0)
			report(r->s, total);
	}
	*done = total;
	return rc;
}

/* Joins R's threads; HALT stops them first (the hasher failed). On success
 * the writers finish every slot before they are joined. */
static void ring_join(struct ring *r, struct writer *w, pthread_t *reader, bool halt)
{
	size_t i;

	if (halt)
		ring_halt(r);
	if (reader)
		pthread_join(*reader, NULL);
	for (i = 0; i < r->s->nsinks; i++)
		if (w[i].started)
			pthread_join(w[i].tid, NULL);
}

/* Starts a writer per sink, then the reader: false, with nothing read,
 * when a thread cannot be made (the caller copies on its own thread). */
static bool ring_start(struct ring *r, struct writer *w, pthread_t *reader)
{
	size_t i;

	for (i = 0; i < r->s->nsinks; i++) {
		w[i].r = r;
		w[i].i = i;
		if (pthread_create(&w[i].tid, NULL, ring_write, &w[i]) != 0)
			break;
		w[i].started = true;
	}
	if (i == r->s->nsinks && pthread_create(reader, NULL, ring_read, r) == 0)
		return true;
	ring_join(r, w, NULL, true);
	return false;
}

/* The I/O threads' failure as an error (their errno is their own); 0 when none. */
static int ring_error(const struct ring *r)
{
	size_t i;

	if (r->rerr) {
		errno = r->rerr;
		return read_error(r->s);
	}
	for (i = 0; i < r->s->nsinks; i++)
		if (r->werr[i])
			return write_error(&r->s->sinks[i], r->werr[i]);
	if (r->too_long)
		return too_long(r->s);
	return 0;
}

/* Large files: a reader thread, a writer per sink, this one hashes. */
static int pump_threaded(p4r_hasher *h, uint64_t *size, const struct stream *s, bool *no_thread)
{
	struct writer w[MAX_SINKS];
	pthread_t reader;
	struct ring r;
	uint64_t done = 0;
	size_t i;
	int rc;

	*no_thread = false;
	memset(&r, 0, sizeof(r));
	memset(w, 0, sizeof(w));
	r.s = s;
	if ((rc = ring_alloc(&r)) < 0)
		goto free_bufs;
	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.filled, NULL);
	pthread_cond_init(&r.drained, NULL);
	if (!ring_start(&r, w, &reader)) {
		*no_thread = true;
		goto destroy;
	}
	rc = ring_hash(&r, h, &done);
	ring_join(&r, w, &reader, rc < 0);
	if (rc == 0)
		rc = ring_error(&r);
	if (rc == 0)
		*size = done;
destroy:
	pthread_cond_destroy(&r.drained);
	pthread_cond_destroy(&r.filled);
	pthread_mutex_destroy(&r.lock);
free_bufs:
	for (i = 0; i < RING_SLOTS; i++)
		free(r.buf[i]);
	return rc;
}

/* Adds the file FD (NAME in messages) to S's sinks; a large copy
 * (S->total) goes around the page cache where the file system allows. */
static void add_sink(struct stream *s, int fd, const char *name)
{
	struct sink *k = &s->sinks[s->nsinks++];

	k->fd = fd;
	k->name = name;
	/* the ring's blocks are aligned; a small file's single write is not */
	k->direct = s->total >= COPY_BLOCK && set_direct(fd, true) == 0;
}

/* Takes O_DIRECT off S's sinks again, for the caller's own reads and writes. */
static void sinks_buffered(const struct stream *s)
{
	size_t i;

	for (i = 0; i < s->nsinks; i++)
		if (s->sinks[i].direct)
			(void)set_direct(s->sinks[i].fd, false);
}

/* Reads S->src once from its current offset, feeding its bytes to H and
 * copying them to S's sinks on the way; SIZE gets their count. */
static int pump_into(p4r_hasher *h, uint64_t *size, const struct stream *s)
{
	size_t bufsz = COPY_BLOCK;
	bool no_thread = false;
	uint64_t got = 0;
	int rc;

	if (s->total >= COPY_BLOCK)
		(void)posix_fadvise(s->src, 0, 0, POSIX_FADV_SEQUENTIAL);
	/* one more byte than expected finds the end in a single read */
	if (s->total < COPY_BLOCK)
		bufsz = s->total < 65536 ? 65536 : (size_t)s->total + 1;
	if (s->total >= COPY_BLOCK) {
		rc = pump_threaded(h, &got, s, &no_thread);
		if (rc == 0 && no_thread)
			rc = pump_serial(h, &got, s, bufsz);
	} else {
		rc = pump_serial(h, &got, s, bufsz);
	}
	if (rc == 0) {
		*size = got;
		report(s, got);
	}
	return rc;
}

/* pump_into with a hasher of its own: OID and SIZE of the bytes. */
static int pump(p4r_oid *oid, uint64_t *size, const struct stream *s)
{
	p4r_hasher *h = NULL;
	int rc;

	if ((rc = p4r_hasher_new(&h)) < 0)
		return rc;
	if ((rc = pump_into(h, size, s)) == 0)
		rc = p4r_hasher_final(h, oid);
	p4r_hasher_free(h);
	return rc;
}

/* OID's fan-out folder in the store, made when missing. */
static int open_object_dir(p4r_store *store, const p4r_oid *oid, int *dir)
{
	int root, rc;

	bool owned;

	*dir = -1;
	if ((rc = objects_root(store, &root, &owned)) < 0)
		return rc;
	rc = p4r_publish_dir_open(root, store->objects, oid, true, !store->deferred, dir);
	if (owned)
		close(root);
	return rc;
}

/* p4r_publish_object into the store: durable now, or at p4r_store_sync. */
static int publish(p4r_store *store, int dir, const p4r_oid *oid, char **tmp, int *fd, const char *path,
		   bool *existed)
{
	if (store->deferred)
		atomic_store(&store->unsynced, true);
	return p4r_publish_object(dir, oid->hex, oid, oid, AT_FDCWD, tmp, fd, OBJECT_MODE, path, !store->deferred,
				  existed);
}

/* Whether syncfs(2) of the store's file system makes what was written
 * there durable. Not on FUSE (the kernel asks the server nothing unless it
 * implements SYNCFS, which few do; its fsync is FUSE_FSYNC), 9p or SMB (no
 * sync of the file system at all): there a batch fsyncs each object. */
static bool syncfs_durable(p4r_store *store)
{
	static const long weak[] = {
		0x65735546L,         /* FUSE_SUPER_MAGIC */
		0x01021997L,         /* V9FS_MAGIC */
		(long)0xFF534D42UL,  /* CIFS_SUPER_MAGIC */
		(long)0xFE534D42UL,  /* SMB2_SUPER_MAGIC */
		0x517BL,             /* SMB_SUPER_MAGIC */
	};
	struct statfs sf;
	long type;
	size_t i;

	if (store->syncfs_ok >= 0)
		return store->syncfs_ok;
	/* a test stands in for a file system it cannot mount */
	type = p4r_test_knob("P4REG_TEST_STORE_FSTYPE");
	if (!type && (store->objects_fd < 0 || fstatfs(store->objects_fd, &sf) < 0))
		return (store->syncfs_ok = 0);
	if (!type)
		type = (long)sf.f_type;
	store->syncfs_ok = 1;
	for (i = 0; i < sizeof(weak) / sizeof(weak[0]); i++)
		if (type == weak[i])
			store->syncfs_ok = 0;
	return store->syncfs_ok;
}

void p4r_store_defer_sync(p4r_store *store, bool on)
{
	store->deferred = on && syncfs_durable(store);
}

int p4r_store_sync_object(p4r_store *store, const p4r_oid *oid)
{
	char path[PATH_MAX];
	int dir = -1, fd = -1, root, rc;
	bool owned;

	if ((rc = objects_root(store, &root, &owned)) < 0)
		return rc;
	rc = p4r_publish_dir_open(root, store->objects, oid, false, false, &dir);
	if (owned)
		close(root);
	if (rc < 0)
		return rc;
	p4r_store_object_path(store, oid, path, sizeof(path));
	if ((fd = openat(dir, oid->hex, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0 || fsync(fd) < 0 ||
	    (fsync(dir) < 0 && errno != EINVAL))
		rc = p4r_error_errno("cannot fsync '%s'", path);
	if (fd >= 0)
		close(fd);
	close(dir);
	return rc;
}

int p4r_store_sync(p4r_store *store)
{
	int fd, rc = 0;

	if (!atomic_exchange(&store->unsynced, false))
		return 0;
	if ((fd = open_objects_path(store->objects)) < 0)
		return p4r_error_errno("cannot open folder '%s'", store->objects);
	/* every object of the batch, its folders and their entries at once */
	if (syncfs(fd) < 0) {
		if (errno == ENOSYS)
			sync(); /* a kernel without syncfs: every file system, same promise */
		else
			rc = p4r_error_errno("cannot sync the file system of '%s'", store->objects);
	}
	close(fd);
	return rc;
}

/* Publishes the finished temporary object *TMP (a path, open as *FD or
 * -1) as OID, the hash of its bytes (publish.h): nothing is synced when
 * the store already has it. *TMP is consumed and *FD closed either way. */
static int place_object(p4r_store *store, int *fd, char **tmp, const p4r_oid *oid,
			bool *existed, struct stat *placed)
{
	char path[PATH_MAX];
	int dir = -1, rc;

	*existed = false;
	if ((rc = p4r_store_object_path(store, oid, path, sizeof(path))) < 0)
		return rc;
	if (p4r_store_has(store, oid)) {
		*existed = true;
		return 0;
	}
	if ((rc = open_object_dir(store, oid, &dir)) < 0)
		return rc;
	rc = publish(store, dir, oid, tmp, fd, path, existed);
	close(dir);
	/* the rename moved its ctime: this is the stat the guard records */
	if (rc == 0 && placed && lstat(path, placed) < 0)
		memset(placed, 0, sizeof(*placed));
	return rc;
}

int p4r_store_place(p4r_store *store, int *fd, char **tmp, const p4r_oid *oid)
{
	bool existed;

	return place_object(store, fd, tmp, oid, &existed, NULL);
}

/* Errors after which the next method in the order is worth a try. */
static bool reflink_unsupported(int err)
{
	return err == EOPNOTSUPP || err == EXDEV || err == EINVAL || err == ENOTTY ||
	       err == ENOSYS || err == EBADF;
}

static bool hardlink_unsupported(int err)
{
	return err == EXDEV || err == EPERM || err == EMLINK || err == EOPNOTSUPP;
}

/* A fresh unused name in the folder DIRFD for link(2), which will not
 * overwrite. */
static int reserve_name(char **out, int dirfd, const char *prefix)
{
	int fd, rc;

	if ((rc = p4r_mkstemp_at(&fd, out, dirfd, prefix)) < 0)
		return rc;
	close(fd);
	if (unlinkat(dirfd, *out, 0) < 0) {
		rc = p4r_error_errno("cannot remove temporary file '%s'", *out);
		free(*out);
		*out = NULL;
	}
	return rc;
}

/* linkat(FROM_DIR/FROM, a fresh name in the folder DIRFD), never following
 * a symbolic link: *UNSUPPORTED when the file system says no. *OUT gets the
 * new name (relative to DIRFD). */
static int link_temp(char **out, int from_dir, const char *from, int dirfd, const char *prefix,
		     bool *unsupported)
{
	int tries, rc;

	*out = NULL;
	for (tries = 0; tries < LINK_NAME_TRIES; tries++) {
		if ((rc = reserve_name(out, dirfd, prefix)) < 0)
			return rc;
		if (linkat(from_dir, from, dirfd, *out, 0) == 0)
			return 0;
		rc = errno;
		free(*out);
		*out = NULL;
		if (hardlink_unsupported(rc)) {
			*unsupported = true;
			return 0;
		}
		if (rc != EEXIST) {
			errno = rc;
			return p4r_error_errno("cannot link '%s'", from);
		}
	}
	return p4r_error_set(P4R_ERROR, "cannot find a free temporary name for '%s'", prefix);
}

/* The store's tmp/ folder, opened without following a link. */
static int open_tmp_dir(const p4r_store *store, int *fd)
{
	*fd = open(store->tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return *fd < 0 ? p4r_error_errno("cannot open folder '%s'", store->tmp) : 0;
}

static int insert_copy(p4r_store *store, int src, const char *path, uint64_t total,
		       p4r_insert_result *out, p4r_progress_fn progress, void *payload)
{
	struct stream s = { .src = src, .src_name = path, .writeback = !store->deferred, .total = total,
			    .progress = progress, .payload = payload };
	char *tmp = NULL;
	int fd = -1, rc;

	if ((rc = p4r_mkstemp_in(&fd, &tmp, store->tmp, "object")) < 0)
		return rc;
	add_sink(&s, fd, tmp);
	if ((rc = pump(&out->oid, &out->size, &s)) < 0)
		goto done;
	if ((rc = place_object(store, &fd, &tmp, &out->oid, &out->existed, &out->placed)) < 0)
		goto done;
	out->used = P4R_LINK_COPY;
done:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	return rc;
}

static int insert_reflink(p4r_store *store, int src, const char *path, uint64_t total,
			  p4r_insert_result *out, p4r_progress_fn progress, void *payload,
			  bool *unsupported)
{
	struct stream s = { .total = total, .progress = progress, .payload = payload };
	char *tmp = NULL;
	int fd = -1, rc;

	/* one refusal of the file system stands for every later file */
	if (atomic_load(&store->no_reflink)) {
		*unsupported = true;
		return 0;
	}
	if ((rc = p4r_mkstemp_in(&fd, &tmp, store->tmp, "object")) < 0)
		return rc;
	if (ioctl(fd, FICLONE, src) < 0) {
		if (errno == EOPNOTSUPP || errno == ENOTTY || errno == ENOSYS)
			atomic_store(&store->no_reflink, true);
		if (reflink_unsupported(errno))
			*unsupported = true;
		else
			rc = p4r_error_errno("cannot reflink '%s' to '%s'", path, tmp);
		goto done;
	}
	/* hash the clone, not the source: it is what the store keeps */
	s.src = fd;
	s.src_name = tmp;
	if ((rc = pump(&out->oid, &out->size, &s)) < 0)
		goto done;
	if ((rc = place_object(store, &fd, &tmp, &out->oid, &out->existed, &out->placed)) < 0)
		goto done;
	out->used = P4R_LINK_REFLINK;
done:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	return rc;
}

static bool same_file_state(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Where the file being inserted lives, for link(2): FROM in the folder DIR
 * (AT_FDCWD with a path); PATH names it in messages. */
struct source {
	int dir;
	const char *from;
	const char *path;
};

/* Hard-links the file at WHERE into the store's tmp folder; *TMP gets the
 * link's path (left NULL when the file system has no hard links there:
 * *UNSUPPORTED). */
static int link_into_tmp(p4r_store *store, const struct source *where, char **tmp,
			 bool *unsupported)
{
	char *name = NULL;
	int tmpfd = -1, rc;

	if ((rc = open_tmp_dir(store, &tmpfd)) < 0)
		return rc;
	rc = link_temp(&name, where->dir, where->from, tmpfd, "link", unsupported);
	close(tmpfd);
	if (rc < 0 || *unsupported)
		return rc;
	*tmp = p4r_path_join(store->tmp, name);
	free(name);
	if (!*tmp)
		return p4r_error_set(P4R_ERROR, "out of memory");
	return 0;
}

/* Makes the link TMP to SRC (named PATH) ready to be an object: still the
 * file hashed (BEFORE), read-only, its data synced. A file system that
 * refuses the mode change sets *UNSUPPORTED (and returns 0). */
static int ready_link(int src, const char *tmp, const struct stat *before, const char *path,
		      bool *unsupported)
{
	struct stat linked;

	/* the path names the bytes that were hashed only if nothing moved */
	if (lstat(tmp, &linked) < 0)
		return p4r_error_errno("cannot stat '%s'", tmp);
	if (!same_file_state(before, &linked))
		return p4r_error_set(P4R_ERROR, "'%s' changed while it was being added", path);
	if (fchmod(src, OBJECT_MODE) < 0) {
		if (hardlink_unsupported(errno)) {
			*unsupported = true;
			return 0;
		}
		return p4r_error_errno("cannot change the mode of '%s'", path);
	}
	/* the work tree file's data was never synced; the object needs it */
	if (fsync(src) < 0)
		return p4r_error_errno("cannot fsync '%s'", path);
	return 0;
}

/* Renames the ready link *TMP (consumed) to the object OBJ of OUT->oid. */
static int publish_link(p4r_store *store, char **tmp, const char *obj, p4r_insert_result *out)
{
	int tmpfd = -1, dir = -1, rc;  /* the link has no descriptor of its own */

	/* the bytes were hashed from SRC, and the link is SRC's inode */
	if ((rc = open_object_dir(store, &out->oid, &dir)) < 0 ||
	    (rc = publish(store, dir, &out->oid, tmp, &tmpfd, obj, &out->existed)) < 0)
		goto done;
	/* after link, chmod, rename and unlink: the ctime the guard records */
	if (lstat(obj, &out->placed) < 0)
		memset(&out->placed, 0, sizeof(out->placed));
	out->used = P4R_LINK_HARDLINK;
done:
	if (dir >= 0)
		close(dir);
	return rc;
}

static int insert_hardlink(p4r_store *store, int src, const struct source *where,
			   const struct stat *before, p4r_insert_result *out,
			   p4r_progress_fn progress, void *payload, bool *unsupported)
{
	const char *path = where->path;
	struct stream s = { .src = src, .src_name = path, .total = (uint64_t)before->st_size,
			    .progress = progress, .payload = payload };
	char obj[PATH_MAX], *tmp = NULL;
	int rc;

	if ((rc = pump(&out->oid, &out->size, &s)) < 0)
		return rc;
	if (p4r_store_has(store, &out->oid)) {
		out->existed = true;
		return 0;
	}
	if ((rc = p4r_store_object_path(store, &out->oid, obj, sizeof(obj))) < 0)
		return rc;
	if ((rc = link_into_tmp(store, where, &tmp, unsupported)) < 0 || *unsupported)
		return rc;
	if ((rc = ready_link(src, tmp, before, path, unsupported)) == 0 && !*unsupported)
		rc = publish_link(store, &tmp, obj, out);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	return rc;
}

static int all_unsupported(const char *what, const p4r_link_type *order, size_t n)
{
	char list[64] = "";
	size_t i, used = 0;
	int len;

	for (i = 0; i < n && used < sizeof(list); i++) {
		len = snprintf(list + used, sizeof(list) - used, "%s%s", i ? "," : "",
			       p4r_link_name(order[i]));
		if (len < 0)
			break;
		used += (size_t)len;
	}
	return p4r_error_set(P4R_ERROR, "cannot %s: no cache type in '%s' works on this file system",
			     what, list);
}

/* Stores the open regular file SRC (stat BEFORE), trying ORDER in turn. */
static int insert_fd(p4r_store *store, int fd, const struct stat *st, const struct source *where,
		     const p4r_link_type *order, size_t n, p4r_insert_result *out,
		     p4r_progress_fn progress, void *payload)
{
	static const p4r_link_type copy_only = P4R_LINK_COPY;
	const char *path = where->path;
	bool unsupported = true;
	size_t i;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!order || n == 0) {
		order = &copy_only;
		n = 1;
	}
	for (i = 0; i < n && unsupported; i++) {
		unsupported = false;
		/* an earlier attempt may have read the source */
		if (i > 0 && lseek(fd, 0, SEEK_SET) < 0)
			return p4r_error_errno("cannot seek in '%s'", path);
		memset(out, 0, sizeof(*out));
		switch (order[i]) {
		case P4R_LINK_REFLINK:
			rc = insert_reflink(store, fd, path, (uint64_t)st->st_size, out, progress,
					    payload, &unsupported);
			break;
		case P4R_LINK_HARDLINK:
			rc = insert_hardlink(store, fd, where, st, out, progress, payload,
					     &unsupported);
			break;
		case P4R_LINK_COPY:
			rc = insert_copy(store, fd, path, (uint64_t)st->st_size, out, progress,
					 payload);
			break;
		default:
			rc = p4r_error_set(P4R_EUSAGE, "unknown cache type %d", (int)order[i]);
			break;
		}
		if (rc < 0)
			return rc;
	}
	return unsupported ? all_unsupported("store an object", order, n) : 0;
}

/* Opens FROM in DIR for reading when it is a regular file, never blocking
 * on a FIFO or a device; FOLLOW allows a symbolic link as the last part. */
static int open_source(int *fd, struct stat *st, const struct source *where, bool follow)
{
	int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (follow ? 0 : O_NOFOLLOW);

	*fd = openat(where->dir, where->from, flags);
	if (*fd < 0 && errno == ELOOP && !follow)
		return p4r_error_set(P4R_EUSAGE, "'%s' is a symbolic link; add the file it points to",
				     where->path);
	if (*fd < 0)
		return p4r_error_errno("cannot open '%s'", where->path);
	/* O_NONBLOCK changes nothing for a regular file, the only kind read */
	if (fstat(*fd, st) < 0) {
		close(*fd);
		*fd = -1;
		return p4r_error_errno("cannot read '%s'", where->path);
	}
	if (!S_ISREG(st->st_mode)) {
		close(*fd);
		*fd = -1;
		return p4r_error_set(P4R_EUSAGE, "'%s' is not a regular file", where->path);
	}
	return 0;
}

int p4r_store_insert_file(p4r_store *store, const char *path,
			  const p4r_link_type *order, size_t n,
			  p4r_insert_result *out, p4r_progress_fn progress, void *payload)
{
	const struct source where = { AT_FDCWD, path, path };
	struct stat st;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	if ((rc = open_source(&fd, &st, &where, true)) < 0)
		return rc;
	rc = insert_fd(store, fd, &st, &where, order, n, out, progress, payload);
	close(fd);
	return rc;
}

int p4r_store_insert_at(p4r_store *store, int dirfd, const char *base, const char *display,
			const p4r_link_type *order, size_t n, p4r_insert_result *out,
			struct stat *st, p4r_progress_fn progress, void *payload)
{
	const struct source where = { dirfd, base, display };
	int fd, rc;

	memset(out, 0, sizeof(*out));
	if ((rc = open_source(&fd, st, &where, false)) < 0)
		return rc;
	rc = insert_fd(store, fd, st, &where, order, n, out, progress, payload);
	close(fd);
	return rc;
}

/* Whether OID's object holds exactly the LEN bytes BUF. */
static bool object_holds(const p4r_store *store, const p4r_oid *oid, const void *buf, size_t len)
{
	char path[PATH_MAX];
	unsigned char *have = NULL;
	struct stat st;
	bool same = false;
	size_t got = 0;
	int fd;

	/* never blocks on a FIFO planted under the name */
	if (p4r_store_object_path(store, oid, path, sizeof(path)) < 0 ||
	    (fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
		return false;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == len &&
	    (have = malloc(len ? len : 1)) && read_block(fd, have, len, &got) == 0 && got == len)
		same = memcmp(have, buf, len) == 0;
	free(have);
	close(fd);
	return same;
}

/* Unlinks OID's object by name in its fan-out folder, reached without
 * following a link; a missing one is no error. */
static int remove_object(p4r_store *store, const p4r_oid *oid)
{
	char path[PATH_MAX];
	int root, dir = -1, rc;
	bool owned;

	if ((rc = objects_root(store, &root, &owned)) < 0)
		return rc;
	rc = p4r_publish_dir_open(root, store->objects, oid, false, false, &dir);
	if (owned)
		close(root);
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		return 0;
	}
	if (rc == 0 && unlinkat(dir, oid->hex, 0) < 0 && errno != ENOENT) {
		p4r_store_object_path(store, oid, path, sizeof(path));
		rc = p4r_error_errno("cannot remove the damaged object '%s'", path);
	}
	if (dir >= 0)
		close(dir);
	return rc;
}

int p4r_store_insert_buffer(p4r_store *store, const void *buf, size_t len, p4r_oid *out)
{
	bool existed;
	char *tmp = NULL;
	int fd = -1, rc;

	if ((rc = p4r_hash_buffer(out, buf, len)) < 0)
		return rc;
	/* a small object is compared, not trusted: a crashed batch (publish.h)
	 * may have left its name without its bytes, and those go */
	if (object_holds(store, out, buf, len)) {
		/* right bytes, maybe not yet on disk: synced like ours */
		if (!store->deferred)
			return p4r_store_sync_object(store, out);
		atomic_store(&store->unsynced, true);
		return 0;
	}
	if ((rc = remove_object(store, out)) < 0)
		return rc;
	if ((rc = p4r_mkstemp_in(&fd, &tmp, store->tmp, "object")) < 0)
		return rc;
	if (p4r_write_full(fd, buf, len) < 0) {
		rc = p4r_error_errno("cannot write '%s'", tmp);
		goto done;
	}
	rc = place_object(store, &fd, &tmp, out, &existed, NULL);
done:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	return rc;
}

/* Opens OID's object; a missing one is P4R_ENOTFOUND with its own words. */
static int open_object(int *fd, struct stat *st, char *path, size_t pathsz,
		       const p4r_store *store, const p4r_oid *oid)
{
	int rc;

	*fd = -1;
	if ((rc = p4r_store_object_path(store, oid, path, pathsz)) < 0)
		return rc;
	/* an object is a regular file under its name: never a link followed
	 * out of the store, never a FIFO waited on */
	*fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (*fd < 0) {
		if (errno == ENOENT || errno == ELOOP)
			return p4r_error_set(P4R_ENOTFOUND, "object %s is missing from the store; "
					     "'p4reg pull' downloads it, 'p4reg fsck' checks the rest",
					     oid->hex);
		return p4r_error_errno("cannot open '%s'", path);
	}
	if (fstat(*fd, st) < 0)
		rc = p4r_error_errno("cannot stat '%s'", path);
	else if (!S_ISREG(st->st_mode))
		rc = p4r_error_set(P4R_ENOTFOUND, "object %s is missing from the store ('%s' is not a "
				   "regular file); 'p4reg fsck' checks the rest", oid->hex, path);
	if (rc < 0) {
		close(*fd);
		*fd = -1;
	}
	return rc;
}

static int corrupt(const p4r_oid *want, const p4r_oid *got)
{
	return p4r_error_set(P4R_EINTEGRITY, "object %s is corrupt: its bytes hash to %s",
			     want->hex, got->hex);
}

/* What a checkout attempt shares: the object, and where DEST's temp goes. */
struct checkout {
	const p4r_oid *oid;
	int obj_fd;
	const char *obj_path;
	uint64_t size;
	int dirfd;                 /* the destination's folder */
	const char *base;          /* its name there */
	const char *display;       /* its name in messages */
	char *prefix;              /* "<basename>.p4reg-tmp" */
	p4r_progress_fn progress;
	void *payload;
	int mode;                  /* a copy's or reflink's mode (a hard link keeps 0444) */
};

/* Renames the finished *TMP over DEST and makes that durable; *FD (if
 * open) gets its mode and an fsync first. *TMP is consumed on success. */
static int replace_dest(const struct checkout *c, int *fd, char **tmp)
{
	return p4r_replace_at(c->dirfd, fd, tmp, c->base, c->mode, c->display);
}

static int checkout_copy(const struct checkout *c)
{
	struct stream s = { .src = c->obj_fd, .src_name = c->obj_path, .writeback = true,
			    .total = c->size, .progress = c->progress, .payload = c->payload };
	char *tmp = NULL;
	p4r_oid got;
	uint64_t size;
	int fd = -1, rc;

	if (lseek(c->obj_fd, 0, SEEK_SET) < 0)
		return p4r_error_errno("cannot seek in '%s'", c->obj_path);
	if ((rc = p4r_mkstemp_at(&fd, &tmp, c->dirfd, c->prefix)) < 0)
		return rc;
	/* the copy must reach the disk before the rename anyway; around the
	 * page cache it costs a third of the CPU and no flush of dirty pages
	 * (bench: 4.4-5.4 s instead of 7-20 s for 1 GiB on a loaded VM); the
	 * price is that the first read of the new file comes from the disk */
	add_sink(&s, fd, c->display);
	if ((rc = pump(&got, &size, &s)) < 0)
		goto done;
	if (!p4r_oid_equal(&got, c->oid)) {
		rc = corrupt(c->oid, &got);
		goto done;
	}
	rc = replace_dest(c, &fd, &tmp);
done:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlinkat(c->dirfd, tmp, 0);
		free(tmp);
	}
	return rc;
}

static int checkout_reflink(const struct checkout *c, bool *unsupported)
{
	char *tmp = NULL;
	int fd = -1, rc;

	if ((rc = p4r_mkstemp_at(&fd, &tmp, c->dirfd, c->prefix)) < 0)
		return rc;
	if (ioctl(fd, FICLONE, c->obj_fd) < 0) {
		if (reflink_unsupported(errno))
			*unsupported = true;
		else
			rc = p4r_error_errno("cannot reflink '%s' to '%s'", c->obj_path, c->display);
		goto done;
	}
	rc = replace_dest(c, &fd, &tmp);
done:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlinkat(c->dirfd, tmp, 0);
		free(tmp);
	}
	return rc;
}

static int checkout_hardlink(const struct checkout *c, bool *unsupported)
{
	char *tmp = NULL;
	int fd = -1, rc;

	if ((rc = link_temp(&tmp, AT_FDCWD, c->obj_path, c->dirfd, c->prefix, unsupported)) < 0 ||
	    *unsupported)
		return rc;
	rc = replace_dest(c, &fd, &tmp);
	if (tmp) {
		unlinkat(c->dirfd, tmp, 0);
		free(tmp);
	}
	return rc;
}

int p4r_store_checkout(p4r_store *store, const p4r_oid *oid, int dirfd, const char *base,
		       const char *display, const p4r_link_type *order, size_t n,
		       p4r_link_type *used, p4r_progress_fn progress, void *payload)
{
	return p4r_store_checkout_mode(store, oid, dirfd, base, display, CHECKOUT_MODE, order, n, used,
				       progress, payload);
}

/* Tries ORDER (N) in turn on C until a method works; USED (nullable)
 * gets it. */
static int checkout_try(const struct checkout *c, const p4r_link_type *order, size_t n,
			p4r_link_type *used)
{
	bool unsupported = true;
	size_t i;
	int rc = 0;

	for (i = 0; i < n && unsupported; i++) {
		unsupported = false;
		switch (order[i]) {
		case P4R_LINK_REFLINK:
			rc = checkout_reflink(c, &unsupported);
			break;
		case P4R_LINK_HARDLINK:
			rc = checkout_hardlink(c, &unsupported);
			break;
		case P4R_LINK_COPY:
			rc = checkout_copy(c);
			break;
		default:
			rc = p4r_error_set(P4R_EUSAGE, "unknown cache type %d", (int)order[i]);
			break;
		}
		if (rc < 0)
			return rc;
		if (!unsupported && used)
			*used = order[i];
	}
	return unsupported ? all_unsupported("check out a file", order, n) : 0;
}

int p4r_store_checkout_mode(p4r_store *store, const p4r_oid *oid, int dirfd, const char *base,
			    const char *display, int mode, const p4r_link_type *order, size_t n,
			    p4r_link_type *used, p4r_progress_fn progress, void *payload)
{
	static const p4r_link_type copy_only = P4R_LINK_COPY;
	struct checkout c = { oid, -1, NULL, 0, dirfd, base, display, NULL, progress, payload, mode };
	char obj[PATH_MAX];
	struct stat st;
	size_t len;
	int rc;

	if (!order || n == 0) {
		order = &copy_only;
		n = 1;
	}
	if (!*base || strchr(base, '/'))
		return p4r_error_set(P4R_EUSAGE, "'%s' is not a file name", display);
	if ((rc = open_object(&c.obj_fd, &st, obj, sizeof(obj), store, oid)) < 0)
		return rc;
	c.obj_path = obj;
	c.size = (uint64_t)st.st_size;
	len = strlen(base) + sizeof(".p4reg-tmp");
	if ((c.prefix = malloc(len))) {
		snprintf(c.prefix, len, "%s.p4reg-tmp", base);
		rc = checkout_try(&c, order, n, used);
	} else {
		rc = p4r_error_set(P4R_ERROR, "out of memory");
	}
	close(c.obj_fd);
	free(c.prefix);
	return rc;
}

int p4r_store_copy_hashed(p4r_oid *oid, uint64_t *size, int src, const char *src_name,
			  int dst, const char *dst_name, uint64_t total,
			  p4r_progress_fn progress, void *payload)
{
	struct stream s = {
		.src = src, .src_name = src_name, .writeback = true, .total = total,
		.progress = progress, .payload = payload,
	};
	int rc;

	add_sink(&s, dst, dst_name);
	rc = pump(oid, size, &s);
	sinks_buffered(&s);
	return rc;
}

int p4r_store_copy_into(p4r_hasher *h, uint64_t *size, int src, const char *src_name, int dst,
			const char *dst_name, uint64_t limit, p4r_progress_fn progress, void *payload)
{
	return p4r_store_copy_tee(h, size, src, src_name, dst, dst_name, -1, NULL, limit, progress, payload);
}

int p4r_store_copy_tee(p4r_hasher *h, uint64_t *size, int src, const char *src_name, int dst,
		       const char *dst_name, int dst2, const char *dst2_name, uint64_t limit,
		       p4r_progress_fn progress, void *payload)
{
	struct stream s = {
		.src = src, .src_name = src_name, .writeback = true, .total = limit,
		.progress = progress, .payload = payload, .limit = limit,
	};
	int rc;

	add_sink(&s, dst, dst_name);
	if (dst2 >= 0)
		add_sink(&s, dst2, dst2_name);
	rc = pump_into(h, size, &s);
	sinks_buffered(&s);
	return rc;
}

int p4r_store_write_to_fd(p4r_store *store, const p4r_oid *oid, int fd)
{
	struct stream s = { .nsinks = 1, .sinks = { { .fd = fd } } };
	char obj[PATH_MAX];
	struct stat st;
	p4r_oid got;
	uint64_t size;
	int obj_fd, rc;

	if ((rc = open_object(&obj_fd, &st, obj, sizeof(obj), store, oid)) < 0)
		return rc;
	s.src = obj_fd;
	s.src_name = obj;
	s.total = (uint64_t)st.st_size;
	if ((rc = pump(&got, &size, &s)) == 0 && !p4r_oid_equal(&got, oid))
		rc = corrupt(oid, &got);
	close(obj_fd);
	return rc;
}


int p4r_store_object_stat(const p4r_store *store, const p4r_oid *oid, struct stat *st)
{
	char path[PATH_MAX];
	int rc;

	if ((rc = p4r_store_object_path(store, oid, path, sizeof(path))) < 0)
		return rc;
	if (lstat(path, st) < 0)
		return p4r_error_errno("cannot stat '%s'", path);
	if (!S_ISREG(st->st_mode))
		return p4r_error_set(P4R_ENOTFOUND, "'%s' is not an object file", path);
	return 0;
}

int p4r_store_hash_object(p4r_store *store, const p4r_oid *oid, p4r_oid *got, struct stat *st,
			  bool *stable)
{
	struct stream s = { .src = -1 };
	char obj[PATH_MAX];
	struct stat before;
	uint64_t size;
	int obj_fd, rc;

	*stable = false;
	if ((rc = open_object(&obj_fd, &before, obj, sizeof(obj), store, oid)) < 0)
		return rc;
	s.src = obj_fd;
	s.src_name = obj;
	s.total = (uint64_t)before.st_size;
	if ((rc = pump(got, &size, &s)) == 0) {
		if (fstat(obj_fd, st) < 0)
			rc = p4r_error_errno("cannot stat '%s'", obj);
		else
			*stable = p4r_stat_same(&before, st) && (uint64_t)st->st_size == size;
	}
	close(obj_fd);
	return rc;
}

int p4r_store_verify(p4r_store *store, const p4r_oid *oid)
{
	struct stat st;
	p4r_oid got;
	bool stable;
	int rc;

	if ((rc = p4r_store_hash_object(store, oid, &got, &st, &stable)) == 0 &&
	    !p4r_oid_equal(&got, oid))
		rc = corrupt(oid, &got);
	return rc;
}

const char *p4r_store_meta(const p4r_store *store)
{
	return store->meta;
}

int p4r_store_object_open(const p4r_store *store, const p4r_oid *oid, int *fd, struct stat *st,
			  char *path, size_t pathsz)
{
	return open_object(fd, st, path, pathsz, store, oid);
}
