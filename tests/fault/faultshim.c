/* An LD_PRELOAD shim that injects faults into p4reg (and the SQLite and
 * libgit2 inside it) for the crash and fault tests. Controlled by
 * P4REG_FAULT, one of:
 *
 *   kill:OP:N            raise SIGKILL just before the Nth call of OP
 *   fail:OP:N:ERRNO      make the Nth call of OP return -1 with ERRNO
 *   fail:OP:N+:ERRNO     ... the Nth and every later call
 *   count                only count
 *
 * OP is write (write, pwrite, pwrite64 on descriptors above 2: the
 * terminal and pipes of the test are never faulted), fsync (fsync,
 * fdatasync, syncfs) or rename (rename, renameat, renameat2). ERRNO is EIO,
 * ENOSPC, EDQUOT, EROFS or a number. When P4REG_FAULT_PATH is set, only
 * calls on files whose path contains it count (the descriptor's path from
 * /proc/self/fd, the source path of a rename): "/.p4reg/tmp/" aims at
 * objects being written, "registry.db-wal" at SQLite's commits.
 * When P4REG_FAULT_COUNT names a file,
 * the calls seen per OP are appended to it at exit as "write N fsync N
 * rename N", so a test can visit every point of a command. Counting is
 * process-wide and thread-safe (the store writes from a second thread).
 *
 * Under AddressSanitizer the ASan runtime must come first:
 * LD_PRELOAD="libasan.so.N:faultshim.so" (tests/cli/t_crash.sh does this). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

enum op { OP_WRITE, OP_FSYNC, OP_RENAME, OP_COUNT };
static const char *const op_names[OP_COUNT] = { "write", "fsync", "rename" };

static atomic_long counts[OP_COUNT];
static int armed_op = -1;       /* the OP faulted, -1: none */
static long armed_n;            /* which call */
static int armed_kill;          /* 1: SIGKILL, 0: fail */
static int armed_sticky;        /* fail N and later */
static int armed_errno;
static atomic_int initialized;
static const char *path_filter; /* P4REG_FAULT_PATH, NULL: every file */

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off64_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_syncfs)(int);
static int (*real_rename)(const char *, const char *);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_renameat2)(int, const char *, int, const char *, unsigned int);

static int parse_errno(const char *s)
{
	if (!strcmp(s, "EIO")) return EIO;
	if (!strcmp(s, "ENOSPC")) return ENOSPC;
	if (!strcmp(s, "EDQUOT")) return EDQUOT;
	if (!strcmp(s, "EROFS")) return EROFS;
	return strtol(s, NULL, 10) > 0 ? (int)strtol(s, NULL, 10) : EIO;
}

static void init(void)
{
	char spec[128], *mode, *op, *n, *err, *save = NULL;
	const char *env;
	int i;

	if (atomic_exchange(&initialized, 1))
		return;
	real_write = dlsym(RTLD_NEXT, "write");
	real_pwrite = dlsym(RTLD_NEXT, "pwrite");
	real_pwrite64 = dlsym(RTLD_NEXT, "pwrite64");
	real_fsync = dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
	real_syncfs = dlsym(RTLD_NEXT, "syncfs");
	real_rename = dlsym(RTLD_NEXT, "rename");
	real_renameat = dlsym(RTLD_NEXT, "renameat");
	real_renameat2 = dlsym(RTLD_NEXT, "renameat2");
	path_filter = getenv("P4REG_FAULT_PATH");
	if (path_filter && !*path_filter)
		path_filter = NULL;
	env = getenv("P4REG_FAULT");
	if (!env || strlen(env) >= sizeof(spec))
		return;
	memcpy(spec, env, strlen(env) + 1);
	mode = strtok_r(spec, ":", &save);
	op = strtok_r(NULL, ":", &save);
	n = strtok_r(NULL, ":", &save);
	err = strtok_r(NULL, ":", &save);
	if (!mode || !op || !n || (strcmp(mode, "kill") && strcmp(mode, "fail")))
		return;
	for (i = 0; i < OP_COUNT; i++)
		if (!strcmp(op, op_names[i]))
			armed_op = i;
	armed_kill = !strcmp(mode, "kill");
	armed_n = strtol(n, NULL, 10);
	armed_sticky = n[strlen(n) - 1] == '+';
	armed_errno = err ? parse_errno(err) : EIO;
}

/* Initialize before main: dlsym from inside a first call on a second
 * thread would race. */
__attribute__((constructor)) static void shim_ctor(void)
{
	init();
}

__attribute__((destructor)) static void shim_dtor(void)
{
	const char *path = getenv("P4REG_FAULT_COUNT");
	char line[160];
	int fd, len;

	if (!path || !real_write)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	len = snprintf(line, sizeof(line), "write %ld fsync %ld rename %ld\n",
		       atomic_load(&counts[OP_WRITE]), atomic_load(&counts[OP_FSYNC]),
		       atomic_load(&counts[OP_RENAME]));
	if (len > 0)
		(void)real_write(fd, line, (size_t)len);
	close(fd);
}

/* True when the call on FD (or PATH, when not NULL) passes the path filter. */
static int selected(int fd, const char *path)
{
	char link[64], target[4096];
	ssize_t len;

	if (!path_filter)
		return 1;
	if (!path) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		len = readlink(link, target, sizeof(target) - 1);
		if (len < 0)
			return 0;
		target[len] = '\0';
		path = target;
	}
	return strstr(path, path_filter) != NULL;
}

/* Counts one call of OP on FD or PATH: 0 to go on, -1 (errno set) to fail it. */
static int fault_on(enum op op, int fd, const char *path)
{
	long n;

	if (!atomic_load(&initialized))
		init();
	if (!selected(fd, path))
		return 0;
	n = atomic_fetch_add(&counts[op], 1) + 1;
	if ((int)op != armed_op)
		return 0;
	if (armed_kill) {
		if (n == armed_n) {
			kill(getpid(), SIGKILL);
			pause();
		}
		return 0;
	}
	if (n == armed_n || (armed_sticky && n >= armed_n)) {
		errno = armed_errno;
		return -1;
	}
	return 0;
}

ssize_t write(int fd, const void *buf, size_t len)
{
	if (fd > 2 && fault_on(OP_WRITE, fd, NULL) < 0)
		return -1;
	if (!real_write)
		init();
	return real_write(fd, buf, len);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	if (fd > 2 && fault_on(OP_WRITE, fd, NULL) < 0)
		return -1;
	if (!real_pwrite)
		init();
	return real_pwrite(fd, buf, len, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off64_t off)
{
	if (fd > 2 && fault_on(OP_WRITE, fd, NULL) < 0)
		return -1;
	if (!real_pwrite64)
		init();
	return real_pwrite64(fd, buf, len, off);
}

int fsync(int fd)
{
	if (fault_on(OP_FSYNC, fd, NULL) < 0)
		return -1;
	if (!real_fsync)
		init();
	return real_fsync(fd);
}

int fdatasync(int fd)
{
	if (fault_on(OP_FSYNC, fd, NULL) < 0)
		return -1;
	if (!real_fdatasync)
		init();
	return real_fdatasync(fd);
}

/* a batch's one sync (store.h) is a sync point like any fsync */
int syncfs(int fd)
{
	if (fault_on(OP_FSYNC, fd, NULL) < 0)
		return -1;
	if (!real_syncfs)
		init();
	return real_syncfs(fd);
}

int rename(const char *from, const char *to)
{
	if (fault_on(OP_RENAME, -1, from) < 0)
		return -1;
	if (!real_rename)
		init();
	return real_rename(from, to);
}

int renameat(int fromfd, const char *from, int tofd, const char *to)
{
	if (fault_on(OP_RENAME, fromfd, from) < 0)
		return -1;
	if (!real_renameat)
		init();
	return real_renameat(fromfd, from, tofd, to);
}

int renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned int flags)
{
	if (fault_on(OP_RENAME, fromfd, from) < 0)
		return -1;
	if (!real_renameat2)
		init();
	return real_renameat2(fromfd, from, tofd, to, flags);
}
