/* Small durable file-system helpers shared by every module that writes. */
#ifndef P4REG_FSUTIL_H
#define P4REG_FSUTIL_H

#include <stddef.h>
#include <stdbool.h>
#include <sys/stat.h>

/* fsyncs the folder at PATH so a rename inside it is durable. */
int p4r_fsync_dir(const char *path);
/* fsyncs the folder that contains PATH. */
int p4r_fsync_parent(const char *path);

/* Writes LEN bytes to PATH atomically: a temporary file in the same folder,
 * fsync, rename over PATH, fsync of the folder. MODE is the new file's mode. */
int p4r_write_file_atomic(const char *path, const void *data, size_t len, int mode);

/* p4r_write_file_atomic for the name BASE in the open folder DIRFD: the
 * temporary file is made beside it, BASE is replaced even when it is a
 * symbolic link (never written through). DISPLAY names it in messages. */
int p4r_write_file_atomic_at(int dirfd, const char *base, const void *data, size_t len, int mode,
			     const char *display);

/* Puts the finished temporary file *TMP (a name in the open folder DIRFD,
 * open as *FD, or *FD -1 when it is not open) in BASE's place: MODE, fsync
 * and close of *FD, renameat over BASE (a symbolic link there is replaced,
 * never written through), fsync of the folder. *FD is -1 once closed;
 * *TMP is consumed (freed, NULL) once renamed, else the caller unlinks it.
 * DISPLAY names BASE in messages. */
int p4r_replace_at(int dirfd, int *fd, char **tmp, const char *base, int mode, const char *display);

/* Reads the whole file at PATH (at most MAX bytes, else P4R_EUSAGE "too large")
 * into a NUL-terminated malloc'd buffer owned by the caller. */
int p4r_read_file(char **out, size_t *len, const char *path, size_t max);

/* p4r_read_file for the open descriptor FD (standard input: `--file -`),
 * read to its end and left open; DISPLAY names it in messages. */
int p4r_read_fd(char **out, size_t *len, int fd, const char *display, size_t max);

/* p4r_read_file for BASE in the open folder DIRFD, for files a repository
 * delivers: a symbolic link (P4R_EUSAGE), a FIFO or a device is refused,
 * never followed or blocked on. DISPLAY names it in messages. */
int p4r_read_file_at(char **out, size_t *len, int dirfd, const char *base, size_t max,
		     const char *display);

/* mkdir -p with MODE; existing folders are fine. */
int p4r_mkdir_p(const char *path, int mode);

/* Writes all of BUF to FD, retrying short writes and EINTR; returns 0, or
 * -1 with errno set (ENOSPC for a write that makes no progress) and no
 * error message, for callers that name the file themselves. */
int p4r_write_full(int fd, const void *buf, size_t len);

/* p4r_write_full at offset OFF (pwrite): 0, or -1 with errno set. */
int p4r_pwrite_full(int fd, const void *buf, size_t len, off_t off);

/* Writes the LEN bytes of BUF to the empty file FD from offset 0: the
 * part in whole 4 KiB blocks around the page cache (O_DIRECT; BUF must be
 * 4 KiB-aligned for it) where the file system allows, the rest through
 * the cache. A large write that nobody reads soon then neither fills the
 * cache nor waits on the kernel's throttling of dirty pages (on a VM disk
 * here: 1.3 GB/s against 0.4). 0, or -1 with errno set. */
int p4r_write_uncached(int fd, const void *buf, size_t len);

/* True when A and B describe one file in one state: the same device,
 * inode, size, mtime and ctime (a write, even through another hard link,
 * moves the ctime; a replacement the inode). */
bool p4r_stat_same(const struct stat *a, const struct stat *b);

/* p4r_write_full with the error set ("cannot write to file descriptor N"). */
int p4r_write_all(int fd, const void *buf, size_t len);

/* Joins A and B with one '/' into a malloc'd string owned by the caller. */
char *p4r_path_join(const char *a, const char *b);

/* Creates a unique temporary file "DIR/.PREFIX.XXXXXX" opened O_RDWR|O_CLOEXEC;
 * its malloc'd path goes to *PATH_OUT. */
int p4r_mkstemp_in(int *fd_out, char **path_out, const char *dir, const char *prefix);

/* Whether the base name of PATH is a temporary file written beside a file
 * NAME before it is renamed over it (".NAME.p4reg-tmp.XXXXXX", the shape
 * checkout and get use, so a crash can leave one): then the path of NAME
 * in the same folder goes to TARGET. The shape alone proves nothing -- a
 * user may name a file so -- callers also ask whether NAME is theirs. */
bool p4r_tmp_beside_target(const char *path, char *target, size_t size);

/* A new temporary file ".PREFIX.XXXXXX" in the open folder DIRFD (0600,
 * O_EXCL, never through a link); its malloc'd name goes to *NAME_OUT. */
int p4r_mkstemp_at(int *fd_out, char **name_out, int dirfd, const char *prefix);

/* A file a command writes at a path the user named (get -o, report -o):
 * its folder opened once (never created: a missing mount must fail, not
 * fill the disk under it) and what stands at PATH looked at without
 * following it. A link there is replaced by the rename, never written
 * through. */
typedef struct p4r_dest {
	const char *display;  /* PATH as given */
	char *dir;            /* its folder */
	const char *base;     /* its name there */
	int dirfd;
	bool regular;         /* PATH is a regular file now */
	bool isdir;           /* PATH is a folder now (the caller decides) */
	struct stat st;       /* ... with this stat */
} p4r_dest;

/* Opens D for PATH: P4R_ENOTFOUND for a missing folder, P4R_EUSAGE for a
 * PATH ending in a folder name ("x/", ".") or standing on a FIFO, device
 * or socket. p4r_dest_close frees it (also after a failure). */
int p4r_dest_open(p4r_dest *d, const char *path);
void p4r_dest_close(p4r_dest *d);

#endif
