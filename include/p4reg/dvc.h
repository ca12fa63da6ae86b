/* DVC compatibility: the .dvc file `dvc add` writes beside a tracked
 * output, read with libyaml (loaded with dlopen on first use), and DVC's
 * cache of outputs by MD5 (.dvc/cache/files/md5/ab/cdef... since DVC 3,
 * .dvc/cache/ab/cdef... before). p4reg import dvc reads both; nothing
 * here writes either. Everything a .dvc file, a .dir listing or
 * .dvc/config says came with a `git clone`: it is decoded strictly. */
#ifndef P4REG_DVC_H
#define P4REG_DVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A .dvc file larger than this is refused unread: DVC writes a few lines. */
#define P4R_DVC_FILE_MAX (1 << 20)
/* More outputs than this in one .dvc file is refused. */
#define P4R_DVC_OUTS_MAX 1024

/* One output of a .dvc file ("outs:" entry). */
typedef struct p4r_dvc_out {
	char *path;     /* as written: relative to the .dvc file's folder; malloc'd */
	char md5[33];   /* 32 lowercase hex digits */
	bool dir;       /* the md5 ended in ".dir": a directory output */
	bool dos2unix;  /* its md5 is DVC 2's md5-dos2unix (no "hash" key, or
			 * "hash: md5-dos2unix"), not plain MD5 ("hash: md5") */
	int64_t size;   /* bytes; -1 when the file does not say */
	int64_t nfiles; /* files of a directory output; -1 when the file does not say */
} p4r_dvc_out;

typedef struct p4r_dvc_file {
	p4r_dvc_out *outs;
	size_t n;
} p4r_dvc_file;

/* Decodes the LEN bytes of a .dvc file at BUF (YAML): a mapping whose
 * "outs" is a sequence of mappings, each with "md5" (32 hex digits, or
 * with ".dir" after them) and "path" (a non-empty relative path), and
 * maybe "size" and "nfiles" (decimal counts) and "hash" ("md5" or
 * "md5-dos2unix"); other keys are ignored. P4R_EINTEGRITY "invalid .dvc
 * file: ..." for anything else (not YAML, no outs, a malformed md5,
 * another hash, "wdir", more than P4R_DVC_OUTS_MAX outputs); P4R_ERROR
 * when libyaml cannot be loaded.
 * OUT is left empty on failure; clear it with p4r_dvc_file_clear. */
int p4r_dvc_parse(p4r_dvc_file *out, const char *buf, size_t len);
void p4r_dvc_file_clear(p4r_dvc_file *f);

/* A DVC config file larger than this is refused unread. */
#define P4R_DVC_CONFIG_MAX (64 << 10)

/* The cache folder the DVC folder DVC_DIR (repository-relative: ".dvc",
 * "sub/.dvc") names in cache.dir of DVC_DIR/config.local, else of
 * DVC_DIR/config (DVC's order: the local file overrides the committed
 * one), into *OUT: a malloc'd repository-relative path, "." and ".."
 * resolved by text against DVC_DIR as DVC does ("." for the root); NULL
 * when neither file sets it (a missing file is fine: DVC's default
 * DVC_DIR/cache then applies). Each file is opened below ROOT_FD without
 * following any link (dvc/config.c, parsed by libini_config, loaded with
 * dlopen). P4R_EINTEGRITY, naming the file: a symbolic link, a FIFO or a
 * folder at its name (or a link on the way), more than
 * P4R_DVC_CONFIG_MAX bytes, a control character or text libini_config
 * cannot parse, cache.dir set twice, or a value that is empty, absolute,
 * a URL, outside the repository, one p4r_relpath_check refuses, or that
 * DVC's configobj reads otherwise than its text (quoted, with '#' or
 * ','); P4R_ERROR when libini_config cannot be loaded. */
int p4r_dvc_cache_dir(int root_fd, const char *dvc_dir, char **out);

/* The plain MD5 of the LEN bytes at BUF (a directory listing read whole). */
int p4r_dvc_md5_buffer(char hex[33], const void *buf, size_t len);

/* The digests a file's bytes may have in a .dvc file or a .dir listing. */
typedef struct p4r_dvc_sum {
	char md5[33];   /* 32 lowercase hex digits: plain MD5, or md5-dos2unix */
	char older[33]; /* "" unless the older md5-dos2unix rule gives another digest */
	uint64_t size;  /* bytes read */
} p4r_dvc_sum;

/* The MD5 of the open FD read from where it stands (DISPLAY names it in
 * messages), in one pass and constant memory (OpenSSL EVP); anything but
 * a regular file is P4R_EINTEGRITY. With DOS2UNIX, DVC 2's md5-dos2unix
 * (dvc-data's Dos2UnixHashStreamFile): the bytes in chunks of 1 MiB, each
 * hashed with its "\r\n" turned into "\n" when its first 512 bytes look
 * like text (none is NUL, at most 30% are not printable ASCII or
 * \n \r \t \f \b), as they are otherwise; a CRLF split across two chunks
 * stays. An older dvc-data decided text or binary once, from the first
 * chunk, for the whole file: when a later chunk looks otherwise, OUT->older
 * gets that rule's digest too (both are what DVC may have written). OUT
 * is zeroed on failure. */
int p4r_dvc_sum_fd(p4r_dvc_sum *out, int fd, const char *display, bool dos2unix);

/* Whether MD5 (32 lowercase hex digits) is S's digest by either rule. */
bool p4r_dvc_sum_matches(const p4r_dvc_sum *s, const char *md5);

/* ---- a directory output's listing (dvc/listing.c) ---- */

/* A .dir listing larger than this is refused unread. */
#define P4R_DVC_DIR_MAX (256u << 20)

/* One file of a directory output. */
typedef struct p4r_dvc_dir_entry {
	char *relpath;  /* POSIX path inside the folder (p4r_manifest_path_valid); malloc'd */
	char md5[33];   /* 32 lowercase hex digits, by the output's rule (dos2unix) */
	int64_t size;   /* bytes, at most 2^50; -1 when absent */
	bool exec;      /* "isexec": true */
} p4r_dvc_dir_entry;

typedef struct p4r_dvc_dir {
	p4r_dvc_dir_entry *v; /* sorted by relpath (strcmp), each once */
	size_t n;
} p4r_dvc_dir;

/* Decodes the LEN bytes at BUF, the cache entry of a directory output
 * ("md5: ....dir"): a JSON array of objects, each with "md5" and
 * "relpath", maybe "size" (an integer 0..2^50) and "isexec" (a bool);
 * other keys are ignored. P4R_EINTEGRITY "invalid DVC directory listing:
 * ..." for anything else: not JSON (or a NUL in it), not an array, an
 * entry that is not an object, lacks md5 or relpath, says one twice or
 * malformed, a relpath p4r_manifest_path_valid refuses, listed twice or
 * both a file and a folder of another, an empty folder (a p4reg folder
 * version needs a file), more than P4R_MANIFEST_MAX_FILES entries, more
 * than P4R_DVC_DIR_MAX bytes. OUT is empty on failure; clear it with
 * p4r_dvc_dir_clear (NULL is fine). */
int p4r_dvc_dir_parse(p4r_dvc_dir *out, const char *buf, size_t len);
void p4r_dvc_dir_clear(p4r_dvc_dir *d);

#endif
