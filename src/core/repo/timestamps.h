/* The file system's timestamp granularity, internal to src/core
 * (docs/performance.md, "The racily-clean window"). A file changed within
 * one tick of the moment p4reg looks at it can change again without its
 * stat moving; the stat cache and the trust cache leave such files out.
 * How long that tick is depends on the file system and the kernel's clock:
 * it is measured once per repository and kept in its local cache. */
#ifndef P4REG_TIMESTAMPS_H
#define P4REG_TIMESTAMPS_H

#include <stdint.h>

#include "repo/localcache.h"

/* The window used when nothing better is known: the coarsest timestamps
 * p4reg expects (FAT's two seconds), and the window of p4reg before 0.2. */
#define P4R_TS_WINDOW_DEFAULT_NS INT64_C(2000000000)

/* The window for files on the file system of the open folder TMP_FD
 * (.p4reg/tmp), whose device goes to *DEV: from LC when it was measured
 * there, else measured now (a few clock ticks: temporary files are made in
 * TMP_FD and the lag of their timestamps behind the clock is watched) and
 * stored in LC. P4R_TS_WINDOW_DEFAULT_NS when it cannot be measured or
 * stored (no cache folder: measuring on every command costs more than
 * the rare re-hash it saves). Never fails. */
int64_t p4r_timestamps_window(p4r_localcache *lc, int tmp_fd, int64_t *dev);

/* The window known for files on device DEV: the one stored in LC when it
 * was measured there, else P4R_TS_WINDOW_DEFAULT_NS. Measures nothing. */
int64_t p4r_timestamps_known(const p4r_localcache *lc, int64_t dev);

/* The window measured in TMP_FD, without the cache (tests). */
int64_t p4r_timestamps_measure(int tmp_fd);

/* NS (a timestamp of a file) as the file system reports it: unchanged,
 * except in test builds under P4REG_TEST_TS_COARSE_NS=G, where it is
 * rounded down to a multiple of G to play a file system with coarse
 * timestamps (the tests of the racy rule). */
int64_t p4r_timestamps_coarsen(int64_t ns);

/* CLOCK_REALTIME in nanoseconds: the clock file timestamps come from. */
int64_t p4r_timestamps_now(void);

#endif
