/* git's long-running filter protocol for filter=lfs (see filter.h): the
 * handshake, spooling what git sends, clean and smudge, and the p4reg
 * repository each path belongs to. */
#include "p4reg/filter.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/gitio.h"
#include "p4reg/hash.h"
#include "p4reg/lfs.h"
#include "p4reg/objguard.h"
#include "p4reg/ondemand.h"
#include "p4reg/pktline.h"
#include "p4reg/remote.h"
#include "p4reg/repo.h"
#include "p4reg/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How much of an object send_file reads at once. */
#define BLOCK ((size_t)1 << 20)

/* A p4reg repository some of git's paths belong to (p4r_lfs_repo_for_path),
 * opened once per filter run. */
struct place {
	char *root;
	p4r_store *store;  /* NULL when the trust check refused it */
	char *tmp_dir;     /* its .p4reg/tmp */
	char refused[512]; /* why it is not used, "" when it is */
	p4r_repo *repo;    /* opened at its first missing object, to download it */
	bool no_download;  /* offline, no remote, or the repository would not open */
};

/* The filter's view of the repository; either place may be missing. */
struct p4r_filter {
	p4r_filter_opts opts;
	const p4r_op_report *report; /* nullable */
	char *top;         /* the git work tree root (else the working folder) */
	char *lfs_dir;     /* nullable: not in a git work tree */
	char *lfs_tmp;     /* lfs_dir/tmp, nullable */
	char lfs_ext[P4R_LFS_EXT_NAME_MAX + 1]; /* a configured Git LFS extension, "" */
	struct place *places;
	size_t nplaces;
	/* the request being served: */
	struct place *place; /* nullable: its path is in no p4reg repository */
	p4r_store *store;  /* nullable: its path is in no p4reg repository */
	const char *tmp_dir; /* where incoming content is spooled */
	unsigned char pkt[P4R_PKT_DATA_MAX + 1]; /* the packet last read */
};

/* Reads text packets up to a flush, expecting each of WANT (NULL-ended)
 * in order. */
static int expect_lines(p4r_filter *f, const char *const *want)
{
	size_t len, i = 0;
	bool flush, eof;
	int rc;

	for (;;) {
		if ((rc = p4r_pkt_read(f->opts.in, f->pkt, &len, &flush, &eof)) < 0)
			return rc;
		if (eof)
			return p4r_error_set(P4R_ERROR, "git closed the filter pipe during the handshake");
		if (flush)
			break;
		if (want[i] && !strcmp(p4r_pkt_line(f->pkt, len), want[i]))
			i++;
	}
	if (want[i])
		return p4r_error_set(P4R_ERROR, "git did not offer '%s'", want[i]);
	return 0;
}

static int handshake(p4r_filter *f)
{
	static const char *const hello[] = { "git-filter-client", "version=2", NULL };
	static const char *const caps[] = { NULL };
	int rc;

	if ((rc = expect_lines(f, hello)) < 0 ||
	    (rc = p4r_pkt_text(f->opts.out, "git-filter-server")) < 0 || (rc = p4r_pkt_text(f->opts.out, "version=2")) < 0 ||
	    (rc = p4r_pkt_flush(f->opts.out)) < 0 || (rc = expect_lines(f, caps)) < 0 ||
	    (rc = p4r_pkt_text(f->opts.out, "capability=clean")) < 0 || (rc = p4r_pkt_text(f->opts.out, "capability=smudge")) < 0)
		return rc;
	return p4r_pkt_flush(f->opts.out);
}

/* ---- spooling the content git sends ---- */

/* The content of one request: the first bytes in memory (enough to tell a
 * pointer), everything in a temporary file once it grows past that. */
struct spool {
	unsigned char head[P4R_LFS_POINTER_MAX + 1];
	size_t head_len;
	uint64_t size;
	int fd;            /* -1 while everything fits in HEAD */
	char *path;        /* the temporary file, malloc'd */
	p4r_hasher *hasher;
	p4r_oid oid;
	int err;           /* first failure while spooling (0: none); input is still drained */
	char msg[512];
};

static void spool_fail(struct spool *s, int rc)
{
	if (s->err == 0) {
		s->err = rc;
		snprintf(s->msg, sizeof(s->msg), "%s", p4r_error_message());
	}
}

static void spool_add(p4r_filter *f, struct spool *s, const unsigned char *data, size_t len)
{
	int rc;

	if (s->err)
		return;
	if (s->hasher && (rc = p4r_hasher_update(s->hasher, data, len)) < 0)
		return spool_fail(s, rc);
	s->size += len;
	if (s->fd < 0 && s->head_len + len <= sizeof(s->head)) {
		memcpy(s->head + s->head_len, data, len);
		s->head_len += len;
		return;
	}
	if (s->fd < 0) {
		if (!f->tmp_dir) {
			spool_fail(s, p4r_error_set(P4R_ERROR, "no p4reg repository or git folder to keep the file in"));
			return;
		}
		if ((rc = p4r_mkdir_p(f->tmp_dir, 0755)) < 0 ||
		    (rc = p4r_mkstemp_in(&s->fd, &s->path, f->tmp_dir, "filter")) < 0 ||
		    (rc = p4r_write_all(s->fd, s->head, s->head_len)) < 0)
			return spool_fail(s, rc);
	}
	if ((rc = p4r_write_all(s->fd, data, len)) < 0)
		spool_fail(s, rc);
}

/* Reads content packets up to the flush into S. */
static int spool_read(p4r_filter *f, struct spool *s, bool hash)
{
	size_t len;
	bool flush, eof;
	int rc;

	s->fd = -1;
	if (hash && (rc = p4r_hasher_new(&s->hasher)) < 0)
		spool_fail(s, rc);
	for (;;) {
		if ((rc = p4r_pkt_read(f->opts.in, f->pkt, &len, &flush, &eof)) < 0)
			return rc;
		if (eof)
			return p4r_error_set(P4R_ERROR, "git closed the filter pipe mid-file");
		if (flush)
			break;
		spool_add(f, s, f->pkt, len);
	}
	if (s->hasher && !s->err && (rc = p4r_hasher_final(s->hasher, &s->oid)) < 0)
		spool_fail(s, rc);
	return 0;
}

static void spool_free(struct spool *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->path) {
		unlink(s->path);
		free(s->path);
	}
	p4r_hasher_free(s->hasher);
}

/* Streams the file at PATH back to git as packets; *OID gets the hash of
 * what was sent and *SENT its size. */
static int send_file(p4r_filter *f, const char *path, p4r_oid *oid, uint64_t *sent)
{
	unsigned char *buf = malloc(BLOCK);
	p4r_hasher *h = NULL;
	ssize_t n;
	int fd = -1, rc;

	*sent = 0;
	if (!buf)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if ((rc = p4r_hasher_new(&h)) < 0)
		goto done;
	/* an object of the store or .git/lfs/objects: never through a link */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		rc = p4r_error_errno("cannot open '%s'", path);
		goto done;
	}
	for (;;) {
		n = read(fd, buf, BLOCK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = p4r_error_errno("cannot read '%s'", path);
			goto done;
		}
		if (n == 0)
			break;
		*sent += (uint64_t)n;
		if ((rc = p4r_hasher_update(h, buf, (size_t)n)) < 0 || (rc = p4r_pkt_data(f->opts.out, buf, (size_t)n)) < 0)
			goto done;
	}
	rc = p4r_hasher_final(h, oid);
done:
	if (fd >= 0)
		close(fd);
	p4r_hasher_free(h);
	free(buf);
	return rc;
}

/* Replays the spooled content unchanged. */
static int send_spool(p4r_filter *f, struct spool *s)
{
	p4r_oid ignored;
	uint64_t sent;

	if (s->fd < 0)
		return p4r_pkt_data(f->opts.out, s->head, s->head_len);
	return send_file(f, s->path, &ignored, &sent);
}

/* ---- requests ---- */

static void failed(p4r_filter *f, const char *path, const char *why)
{
	if (f->opts.file_failed)
		f->opts.file_failed(path, why, f->opts.payload);
}

static int respond_error(p4r_filter *f, const char *path, const char *msg)
{
	int rc;

	failed(f, path, msg);
	if ((rc = p4r_pkt_text(f->opts.out, "status=error")) < 0)
		return rc;
	return p4r_pkt_flush(f->opts.out);
}

static int respond_success_head(p4r_filter *f)
{
	int rc = p4r_pkt_text(f->opts.out, "status=success");

	return rc < 0 ? rc : p4r_pkt_flush(f->opts.out);
}

static int respond_success_tail(p4r_filter *f)
{
	int rc = p4r_pkt_flush(f->opts.out);

	return rc < 0 ? rc : p4r_pkt_flush(f->opts.out); /* an empty list keeps status=success */
}

/* Keeps the spooled bytes of S in the store and .git/lfs/objects. Not
 * p4r_lfs_mirror, the mirror of a stored object: that needs an opened
 * repository (registry and object guard) which the filter opens only to
 * download, and the filter also runs with no p4reg store at all (the
 * spooled file is placed then). The bytes were hashed here as they were
 * stored, so there is nothing for the guard to re-check. */
static int keep_object(p4r_filter *f, struct spool *s)
{
	p4r_link_type order[] = { P4R_LINK_HARDLINK, P4R_LINK_COPY };
	char obj[PATH_MAX];
	const char *src;
	int rc;

	if (s->fd < 0) {
		/* small: straight from memory */
		if (f->store) {
			p4r_oid got;

			if ((rc = p4r_store_insert_buffer(f->store, s->head, s->head_len, &got)) < 0)
				return rc;
		} else {
			if ((rc = p4r_mkdir_p(f->tmp_dir, 0755)) < 0 ||
			    (rc = p4r_mkstemp_in(&s->fd, &s->path, f->tmp_dir, "filter")) < 0 ||
			    (rc = p4r_write_all(s->fd, s->head, s->head_len)) < 0)
				return rc;
		}
	} else if (f->store) {
		p4r_insert_result ins;

		if ((rc = p4r_store_insert_file(f->store, s->path, order, 2, &ins, NULL, NULL)) < 0)
			return rc;
		if (!p4r_oid_equal(&ins.oid, &s->oid))
			return p4r_error_set(P4R_EINTEGRITY, "'%s' changed while it was stored", s->path);
	}
	if (!f->lfs_dir)
		return 0;
	if (f->store) {
		if ((rc = p4r_store_object_path(f->store, &s->oid, obj, sizeof(obj))) < 0)
			return rc;
		src = obj;
	} else {
		src = s->path;
	}
	return p4r_lfs_place(f->lfs_dir, &s->oid, src, NULL);
}

static int do_clean(p4r_filter *f, const char *path)
{
	struct spool s = { .fd = -1 };
	char ptr[P4R_LFS_POINTER_MAX + 1];
	p4r_lfs_pointer ptr_in;
	size_t len;
	int rc;

	if ((rc = spool_read(f, &s, true)) < 0)
		goto done;
	if (s.err) {
		rc = respond_error(f, path, s.msg);
		goto done;
	}
	/* a pointer (or an empty file) is already clean: git-lfs passes it
	 * through, extension lines and all */
	if (s.fd < 0 && (s.head_len == 0 || p4r_lfs_pointer_decode(&ptr_in, (char *)s.head, s.head_len) == 0)) {
		if ((rc = respond_success_head(f)) == 0 && (rc = p4r_pkt_data(f->opts.out, s.head, s.head_len)) == 0)
			rc = respond_success_tail(f);
		goto done;
	}
	p4r_error_clear();
	/* git-lfs would run the extension and record it in the pointer: a
	 * pointer without it would name other bytes than the file git-lfs
	 * users get */
	if (f->lfs_ext[0]) {
		char msg[256];

		snprintf(msg, sizeof(msg), "Git LFS extension '%s' (lfs.extension.%s) is not supported by "
			 "p4reg; install git-lfs and the extension", f->lfs_ext, f->lfs_ext);
		rc = respond_error(f, path, msg);
		goto done;
	}
	if ((rc = keep_object(f, &s)) < 0 ||
	    (rc = p4r_lfs_pointer_format(ptr, sizeof(ptr), &len, &s.oid, s.size)) < 0) {
		rc = respond_error(f, path, p4r_error_message());
		goto done;
	}
	if ((rc = respond_success_head(f)) == 0 && (rc = p4r_pkt_data(f->opts.out, (unsigned char *)ptr, len)) == 0)
		rc = respond_success_tail(f);
done:
	spool_free(&s);
	return rc;
}

/* Where OID's bytes are: the p4reg store first, then .git/lfs/objects. */
static bool find_object(p4r_filter *f, const p4r_oid *oid, char *path, size_t pathsz)
{
	if (f->store && p4r_store_has(f->store, oid) &&
	    p4r_store_object_path(f->store, oid, path, pathsz) == 0)
		return true;
	if (f->lfs_dir && p4r_lfs_has(f->lfs_dir, oid) &&
	    p4r_lfs_object_path(path, pathsz, f->lfs_dir, oid) == 0)
		return true;
	p4r_error_clear();
	return false;
}

/* A fresh clone's checkout: the pre-push hook uploaded OID to the p4reg
 * remote, not to a Git LFS server, so smudge downloads it from there
 * (verified, into the store) as any command would. Offline (the user's
 * core.offline), with no remote, or when the remote lacks it, the pointer
 * stays in place with a warning, as git-lfs does without its server. */
static bool download_object(p4r_filter *f, const p4r_oid *oid, uint64_t size)
{
	struct place *pl = f->place;
	p4r_ondemand od = { 0 };
	p4r_sync_result res = { 0 };
	p4r_remote *r = NULL;
	int64_t want = (int64_t)size;
	bool ok = false;

	if (!pl || pl->no_download)
		return false;
	if (!pl->repo && (p4r_repo_open(&pl->repo, pl->root) < 0 ||
			  p4r_ondemand_config(pl->repo, &od) < 0 || od.offline)) {
		pl->no_download = true;
		goto done;
	}
	if (p4r_remote_open(&r, p4r_repo_config(pl->repo), p4r_repo_meta(pl->repo), NULL) < 0) {
		/* no remote at all is the usual case, not news: the caller's
		 * warning says where the object was looked for */
		pl->no_download = true;
		p4r_error_clear();
		goto done;
	}
	ok = p4r_sync_fetch_objects(pl->repo, r, oid, &want, 1, NULL, &res) == 0 &&
	     p4r_objguard_downloaded(pl->repo, oid, 1) == 0;
done:
	if (!ok && p4r_error_message()[0])
		p4r_op_warn(f->report, "object %.12s not downloaded: %s", oid->hex, p4r_error_message());
	p4r_error_clear();
	p4r_sync_result_clear(&res);
	p4r_remote_free(r);
	return ok;
}

static int do_smudge(p4r_filter *f, const char *path)
{
	struct spool s = { .fd = -1 };
	char obj[PATH_MAX];
	p4r_lfs_pointer ptr;
	p4r_oid oid, got;
	uint64_t size, sent;
	int rc;

	if ((rc = spool_read(f, &s, false)) < 0)
		goto done;
	if (s.err) {
		rc = respond_error(f, path, s.msg);
		goto done;
	}
	if (s.fd >= 0 || s.head_len == 0 || p4r_lfs_pointer_decode(&ptr, (char *)s.head, s.head_len) < 0) {
		/* not a pointer: git-lfs hands such content back unchanged */
		p4r_error_clear();
		if ((rc = respond_success_head(f)) == 0 && (rc = send_spool(f, &s)) == 0)
			rc = respond_success_tail(f);
		goto done;
	}
	/* the object is the extensions' output, not the file: no bytes at
	 * all, and git fails the checkout with the reason */
	if (p4r_lfs_pointer_unsupported(&ptr) < 0) {
		rc = respond_error(f, path, p4r_error_message());
		goto done;
	}
	oid = ptr.oid;
	size = ptr.size;
	if (!find_object(f, &oid, obj, sizeof(obj)) &&
	    (!download_object(f, &oid, size) || !find_object(f, &oid, obj, sizeof(obj)))) {
		p4r_op_warn(f->report, "object %.12s of '%s' is in neither .p4reg/objects, "
			    ".git/lfs/objects nor the p4reg remote; the pointer is left in its place",
			    oid.hex, path);
		if ((rc = respond_success_head(f)) == 0 && (rc = send_spool(f, &s)) == 0)
			rc = respond_success_tail(f);
		goto done;
	}
	if ((rc = respond_success_head(f)) < 0)
		goto done;
	if ((rc = send_file(f, obj, &got, &sent)) < 0) {
		/* the bytes already sent cannot be taken back: end with an error status */
		failed(f, path, p4r_error_message());
		if ((rc = p4r_pkt_flush(f->opts.out)) == 0 && (rc = p4r_pkt_text(f->opts.out, "status=error")) == 0)
			rc = p4r_pkt_flush(f->opts.out);
		goto done;
	}
	if (!p4r_oid_equal(&got, &oid) || sent != size) {
		char msg[PATH_MAX + 128];

		snprintf(msg, sizeof(msg), "object '%s' is corrupt (hashes to %.12s, expected %.12s)", obj,
			 got.hex, oid.hex);
		failed(f, path, msg);
		if ((rc = p4r_pkt_flush(f->opts.out)) == 0 && (rc = p4r_pkt_text(f->opts.out, "status=error")) == 0)
			rc = p4r_pkt_flush(f->opts.out);
		goto done;
	}
	rc = respond_success_tail(f);
done:
	spool_free(&s);
	return rc;
}

/* Opens PL's store after the trust check every command makes: a clone's
 * .p4reg must not relocate the objects git hands us. */
static int open_place(struct place *pl)
{
	char *meta = p4r_path_join(pl->root, P4R_META_DIR);
	int rc;

	if (!meta)
		return p4r_error_set(P4R_ERROR, "out of memory");
	if ((rc = p4r_repo_check_trust(pl->root)) == 0 && (rc = p4r_store_open(&pl->store, meta)) == 0 &&
	    !(pl->tmp_dir = p4r_path_join(meta, "tmp")))
		rc = p4r_error_set(P4R_ERROR, "out of memory");
	free(meta);
	return rc;
}

/* Serves PATH from the p4reg repository that holds it (the nearest .p4reg
 * above it in the work tree, p4r_lfs_repo_for_path), else from
 * .git/lfs/objects alone. Each repository is opened once; one that the
 * trust check refuses fails each of its files with the reason. */
static int select_place(p4r_filter *f, const char *path)
{
	struct place *pl = NULL, *grown;
	char *root = NULL;
	size_t i;
	int rc;

	f->store = NULL;
	f->place = NULL;
	f->tmp_dir = f->lfs_tmp;
	if ((rc = p4r_lfs_repo_for_path(&root, f->top, path)) < 0 || !root)
		return rc;
	for (i = 0; i < f->nplaces && !pl; i++)
		if (!strcmp(f->places[i].root, root))
			pl = &f->places[i];
	if (pl) {
		free(root);
	} else {
		if (!(grown = realloc(f->places, (f->nplaces + 1) * sizeof(*grown)))) {
			free(root);
			return p4r_error_set(P4R_ERROR, "out of memory");
		}
		f->places = grown;
		pl = &f->places[f->nplaces++];
		memset(pl, 0, sizeof(*pl));
		pl->root = root;
		if (open_place(pl) < 0) {
			snprintf(pl->refused, sizeof(pl->refused), "%s", p4r_error_message());
			p4r_store_free(pl->store);
			pl->store = NULL;
		}
	}
	if (pl->refused[0])
		return p4r_error_set(P4R_EREFUSED, "%s", pl->refused);
	f->place = pl;
	f->store = pl->store;
	f->tmp_dir = pl->tmp_dir;
	return 0;
}

/* Drains the content of a request that cannot be served and says why. */
static int refuse_file(p4r_filter *f, const char *path, const char *why)
{
	struct spool s = { .fd = -1 };
	char msg[512];
	int rc;

	snprintf(msg, sizeof(msg), "%s", why);
	rc = spool_read(f, &s, false);
	spool_free(&s);
	return rc < 0 ? rc : respond_error(f, path, msg);
}

/* Reads one request's header lines; *EOF when git is done with us. */
static int serve_one(p4r_filter *f, bool *eof)
{
	char command[32] = "", path[PATH_MAX] = "";
	size_t len;
	bool flush;
	int rc;

	for (;;) {
		if ((rc = p4r_pkt_read(f->opts.in, f->pkt, &len, &flush, eof)) < 0 || *eof)
			return rc;
		if (flush)
			break;
		p4r_pkt_line(f->pkt, len);
		if (!strncmp((char *)f->pkt, "command=", 8))
			snprintf(command, sizeof(command), "%s", (char *)f->pkt + 8);
		else if (!strncmp((char *)f->pkt, "pathname=", 9))
			snprintf(path, sizeof(path), "%s", (char *)f->pkt + 9);
	}
	if (strcmp(command, "clean") && strcmp(command, "smudge"))
		return refuse_file(f, path, "unsupported command"); /* nothing else was offered */
	if (select_place(f, path) < 0)
		return refuse_file(f, path, p4r_error_message());
	if (!strcmp(command, "clean"))
		return do_clean(f, path);
	return do_smudge(f, path);
}

/* The git work tree and Git LFS folder git runs us in. */
static int open_filter(p4r_filter *f)
{
	p4r_git *git = NULL;
	bool in_git;
	int rc;

	if ((rc = p4r_git_open(&git, f->opts.workdir)) < 0)
		return rc;
	if ((in_git = git != NULL)) {
		f->top = strdup(p4r_git_workdir(git));
		f->lfs_dir = p4r_git_lfs_dir(git);
		if (f->lfs_dir && !(f->lfs_tmp = p4r_path_join(f->lfs_dir, "tmp")))
			rc = p4r_error_set(P4R_ERROR, "out of memory");
		if (rc == 0)
			rc = p4r_git_lfs_extension(git, f->lfs_ext, sizeof(f->lfs_ext));
	} else if (!(f->top = realpath(f->opts.workdir, NULL))) {
		rc = p4r_error_errno("cannot open the working folder");
	}
	p4r_git_free(git);
	if (rc == 0 && (!f->top || (in_git && !f->lfs_dir)))
		rc = p4r_error_set(P4R_ERROR, "out of memory");
	return rc;
}

int p4r_filter_open(p4r_filter **out, const p4r_filter_opts *opts, const p4r_op_report *report)
{
	p4r_filter *f;
	int rc;

	*out = NULL;
	if (!(f = calloc(1, sizeof(*f))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	f->opts = *opts;
	f->report = report;
	if ((rc = open_filter(f)) < 0) {
		p4r_filter_free(f);
		return rc;
	}
	*out = f;
	return 0;
}

int p4r_filter_handshake(p4r_filter *f)
{
	return handshake(f);
}

int p4r_filter_serve(p4r_filter *f, bool *eof)
{
	*eof = false;
	return serve_one(f, eof);
}

void p4r_filter_free(p4r_filter *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->nplaces; i++) {
		p4r_store_free(f->places[i].store);
		p4r_repo_free(f->places[i].repo);
		free(f->places[i].root);
		free(f->places[i].tmp_dir);
	}
	free(f->places);
	free(f->top);
	free(f->lfs_dir);
	free(f->lfs_tmp);
	free(f);
}
