/* Measuring the file system's timestamp granularity (timestamps.h). */
#include "repo/timestamps.h"
#include "p4reg/fsutil.h"
#include "p4reg/error.h"
#include "util/testknob.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#define NS INT64_C(1000000000)
#define MAX_SAMPLES 64

int64_t p4r_timestamps_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

int64_t p4r_timestamps_coarsen(int64_t ns)
{
	long g = p4r_test_knob("P4REG_TEST_TS_COARSE_NS");

	return g > 0 ? ns - ns % g : ns;
}

/* The step of the clock file timestamps are taken from (the kernel's
 * tick: 1 to 10 ms). */
static int64_t coarse_step(void)
{
	struct timespec res;

	if (clock_getres(CLOCK_REALTIME_COARSE, &res) < 0 || (res.tv_sec == 0 && res.tv_nsec <= 0))
		return 10 * 1000000; /* the longest tick Linux has (HZ=100) */
	return (int64_t)res.tv_sec * NS + res.tv_nsec;
}

/* One sample: a new file written in DIRFD; *LAG gets how far its mtime is
 * behind the clock just after, *NSEC its mtime's nanoseconds. A new
 * inode's timestamps were never read, so no file system hands out a
 * fine-grained one for it: this is the coarse clock p4reg must allow for. */
static int sample(int dirfd, int64_t *lag, long *nsec)
{
	struct stat st;
	char *name = NULL;
	int fd, rc;

	*lag = 0;
	*nsec = 0;
	if ((rc = p4r_mkstemp_at(&fd, &name, dirfd, "clock")) < 0)
		return rc;
	if (p4r_write_full(fd, "x", 1) == 0 && fstat(fd, &st) == 0) {
		int64_t t = p4r_timestamps_coarsen((int64_t)st.st_mtim.tv_sec * NS + st.st_mtim.tv_nsec);

		*lag = p4r_timestamps_now() - t;
		*nsec = (long)(t % NS);
	} else {
		rc = p4r_error_errno("cannot write a temporary file");
	}
	close(fd);
	unlinkat(dirfd, name, 0);
	free(name);
	return rc;
}

/* The largest power of ten (up to a second) that divides NSEC and GRAN:
 * timestamps kept in 10 ms (exFAT) or whole seconds show it. */
static long decimal_grain(long gran, long nsec)
{
	while (gran > 1 && nsec % gran)
		gran /= 10;
	return gran;
}

int64_t p4r_timestamps_measure(int tmp_fd)
{
	int64_t step = coarse_step(), start = p4r_timestamps_now(), lag, worst = 0;
	int64_t span = step * 3 < 40000000 ? step * 3 : 40000000;
	struct timespec pause = { 0, (long)(step / 5) };
	long nsec, gran = 1000000000L;
	int i;

	/* samples over three ticks: one of them lands just before a tick */
	for (i = 0; i < MAX_SAMPLES && (i < 5 || p4r_timestamps_now() - start < span); i++) {
		if (sample(tmp_fd, &lag, &nsec) < 0) {
			p4r_error_clear();
			return P4R_TS_WINDOW_DEFAULT_NS;
		}
		worst = lag > worst ? lag : worst;
		gran = decimal_grain(gran, nsec);
		nanosleep(&pause, NULL);
	}
	/* whole seconds only (ext3, FAT, HFS+, some network file systems):
	 * a few ticks cannot tell one second from two; FAT has two */
	if (gran == 1000000000L)
		return P4R_TS_WINDOW_DEFAULT_NS;
	/* a timestamp rounded down to GRAN lags by up to GRAN; and one tick
	 * more than seen: a timer interrupt served late */
	worst = (worst > gran ? worst : gran) + step;
	return worst < P4R_TS_WINDOW_DEFAULT_NS ? worst : P4R_TS_WINDOW_DEFAULT_NS;
}

/* The file system the window is about: its device and type, as text. */
static void fs_names(char *dev_s, char *type_s, size_t size, int fd, int64_t *dev)
{
	struct statfs sf;
	struct stat st;

	dev_s[0] = type_s[0] = '\0';
	*dev = -1;
	if (fstat(fd, &st) < 0 || fstatfs(fd, &sf) < 0)
		return;
	*dev = (int64_t)st.st_dev;
	snprintf(dev_s, size, "%lld", (long long)st.st_dev);
	snprintf(type_s, size, "%llx", (unsigned long long)sf.f_type);
}

static bool string_is(const cJSON *e, const char *key, const char *want)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, key);

	return cJSON_IsString(v) && !strcmp(v->valuestring, want);
}

/* The window stored for device DEV_S (and, unless NULL, file system type
 * TYPE_S), or 0. The file is the user's own; still, nothing below the
 * clock's tick or above the default is taken. */
static int64_t stored(const p4r_localcache *lc, const char *dev_s, const char *type_s)
{
	const cJSON *e = p4r_localcache_get(lc, "timestamps");
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(e, "window_ns");
	int64_t floor = coarse_step();

	if (!string_is(e, "dev", dev_s) || (type_s && !string_is(e, "fstype", type_s)) || !cJSON_IsNumber(w) ||
	    w->valuedouble < 1000 || w->valuedouble > (double)P4R_TS_WINDOW_DEFAULT_NS)
		return 0;
	return (int64_t)w->valuedouble > floor ? (int64_t)w->valuedouble : floor;
}

int64_t p4r_timestamps_known(const p4r_localcache *lc, int64_t dev)
{
	long forced = p4r_test_knob("P4REG_TEST_TS_WINDOW_NS");
	char dev_s[32];
	int64_t w;

	if (forced > 0)
		return forced;
	snprintf(dev_s, sizeof(dev_s), "%lld", (long long)dev);
	return (w = stored(lc, dev_s, NULL)) > 0 ? w : P4R_TS_WINDOW_DEFAULT_NS;
}

/* Keeps WINDOW for the file system DEV_S/TYPE_S in LC. */
static void store(p4r_localcache *lc, const char *dev_s, const char *type_s, int64_t window)
{
	cJSON *e = cJSON_CreateObject();

	if (e && cJSON_AddStringToObject(e, "dev", dev_s) && cJSON_AddStringToObject(e, "fstype", type_s) &&
	    cJSON_AddNumberToObject(e, "window_ns", (double)window))
		p4r_localcache_put(lc, "timestamps", e);
	else
		cJSON_Delete(e);
}

int64_t p4r_timestamps_window(p4r_localcache *lc, int tmp_fd, int64_t *dev)
{
	long forced = p4r_test_knob("P4REG_TEST_TS_WINDOW_NS");
	char dev_s[32], type_s[32];
	int64_t window;

	fs_names(dev_s, type_s, sizeof(dev_s), tmp_fd, dev);
	if (forced > 0)
		return forced;
	if (!dev_s[0] || !p4r_localcache_writable(lc))
		return P4R_TS_WINDOW_DEFAULT_NS;
	if ((window = stored(lc, dev_s, type_s)) > 0)
		return window;
	window = p4r_timestamps_measure(tmp_fd);
	store(lc, dev_s, type_s, window);
	return window;
}
