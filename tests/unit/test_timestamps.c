/* Unit tests for repo/timestamps.c and the racily-clean rule of the stat
 * cache (registry.c): the window is measured once, kept in the local
 * cache, never below the clock's tick, and a file that changed within it
 * of the moment its bytes began to be read gets no row. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/registry.h"
#include "repo/localcache.h"
#include "repo/timestamps.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MS INT64_C(1000000)
#define HELLO_OID "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

#ifdef P4REG_TEST_KNOBS
#define NEED_KNOBS() ((void)0)
#else
#define NEED_KNOBS() skip()
#endif

struct fx {
	char *dir;
	int fd;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	fx->dir = tu_mkdtemp();
	fx->fd = open(fx->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	setenv("XDG_CACHE_HOME", fx->dir, 1);
	*state = fx;
	return fx->fd >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	unsetenv("P4REG_TEST_TS_COARSE_NS");
	unsetenv("P4REG_TEST_TS_WINDOW_NS");
	close(fx->fd);
	tu_rmtree_free(fx->dir);
	free(fx);
	return 0;
}

static int64_t tick(void)
{
	struct timespec res;

	assert_int_equal(clock_getres(CLOCK_REALTIME_COARSE, &res), 0);
	return (int64_t)res.tv_sec * 1000000000 + res.tv_nsec;
}

/* The files of DIR but the local cache's folder. */
static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "p4reg");
	closedir(d);
	return n;
}

/* Here (ext4, tmpfs: nanoseconds, the kernel's coarse clock): more than a
 * tick, far less than the old two seconds; nothing left behind. */
static void test_measure(void **state)
{
	struct fx *fx = *state;
	int64_t w = p4r_timestamps_measure(fx->fd);

	assert_true(w > tick());
	assert_true(w < 200 * MS);
	assert_int_equal(entries(fx->dir), 0);
}

/* Whole seconds: a few ticks cannot tell one from two, so two (FAT). */
static void test_measure_whole_seconds(void **state)
{
	struct fx *fx = *state;

	NEED_KNOBS();
	setenv("P4REG_TEST_TS_COARSE_NS", "1000000000", 1);
	assert_int_equal(p4r_timestamps_measure(fx->fd), P4R_TS_WINDOW_DEFAULT_NS);
	/* 10 ms (exFAT): the trailing zeros show it, whatever the lag seen */
	setenv("P4REG_TEST_TS_COARSE_NS", "10000000", 1);
	assert_true(p4r_timestamps_measure(fx->fd) >= 10 * MS + tick());
}

static p4r_localcache *open_cache(struct fx *fx)
{
	p4r_localcache *lc = NULL;
	struct stat st;

	assert_int_equal(fstat(fx->fd, &st), 0);
	assert_int_equal(p4r_localcache_open(&lc, fx->dir, &st), 0);
	return lc;
}

/* Measured once, kept, known for its device only. */
static void test_window_kept(void **state)
{
	struct fx *fx = *state;
	p4r_localcache *lc = open_cache(fx);
	int64_t dev, w = p4r_timestamps_window(lc, fx->fd, &dev), dev2;

	assert_true(p4r_localcache_writable(lc));
	assert_non_null(p4r_localcache_get(lc, "timestamps"));
	p4r_localcache_free(lc);
	lc = open_cache(fx); /* read back from the file */
	assert_non_null(p4r_localcache_get(lc, "timestamps"));
	assert_int_equal(p4r_timestamps_window(lc, fx->fd, &dev2), w);
	assert_int_equal(dev2, dev);
	assert_int_equal(p4r_timestamps_known(lc, dev), w);
	assert_int_equal(p4r_timestamps_known(lc, dev + 1), P4R_TS_WINDOW_DEFAULT_NS);
	p4r_localcache_free(lc);
}

/* A stored window below the clock's tick is taken as the tick; one out of
 * range is measured again. */
static void test_window_floor(void **state)
{
	struct fx *fx = *state;
	p4r_localcache *lc = open_cache(fx);
	int64_t dev;
	cJSON *e;

	p4r_timestamps_window(lc, fx->fd, &dev);
	e = cJSON_Duplicate(p4r_localcache_get(lc, "timestamps"), 1);
	cJSON_ReplaceItemInObjectCaseSensitive(e, "window_ns", cJSON_CreateNumber(1000));
	assert_true(p4r_localcache_put(lc, "timestamps", e));
	assert_int_equal(p4r_timestamps_window(lc, fx->fd, &dev), tick());
	e = cJSON_Duplicate(p4r_localcache_get(lc, "timestamps"), 1);
	cJSON_ReplaceItemInObjectCaseSensitive(e, "window_ns", cJSON_CreateNumber(-5));
	assert_true(p4r_localcache_put(lc, "timestamps", e));
	assert_true(p4r_timestamps_window(lc, fx->fd, &dev) > tick());
	p4r_localcache_free(lc);
}

/* Without a cache folder nothing is measured: the default. */
static void test_no_cache_folder(void **state)
{
	struct fx *fx = *state;
	char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	p4r_localcache *lc;
	int64_t dev;

	setenv("XDG_CACHE_HOME", "relative", 1);
	setenv("HOME", "relative", 1);
	lc = open_cache(fx);
	assert_false(p4r_localcache_writable(lc));
	assert_int_equal(p4r_timestamps_window(lc, fx->fd, &dev), P4R_TS_WINDOW_DEFAULT_NS);
	p4r_localcache_free(lc);
	setenv("XDG_CACHE_HOME", fx->dir, 1);
	if (home)
		setenv("HOME", home, 1);
	else
		unsetenv("HOME");
	free(home);
}

static bool cached(p4r_registry *reg, const p4r_stat_key *key)
{
	p4r_oid oid;
	bool found = false;

	assert_int_equal(p4r_registry_statcache_get(reg, "m.bin", key, &oid, &found), 0);
	return found;
}

/* PUT KEY, then whether it was kept. */
static bool kept(p4r_registry *reg, p4r_stat_key key)
{
	p4r_oid oid;

	assert_int_equal(p4r_oid_parse(&oid, HELLO_OID), 0);
	assert_int_equal(p4r_registry_statcache_put(reg, "m.bin", &key, &oid), 0);
	return cached(reg, &key);
}

/* git's rule against the moment the read began, with the window of the
 * measured device; two seconds elsewhere. */
static void test_racy_rule(void **state)
{
	struct fx *fx = *state;
	char *db = p4r_path_join(fx->dir, "registry.db");
	p4r_registry *reg = NULL;
	int64_t now = p4r_timestamps_now();
	p4r_stat_key k = { .dev = 7, .ino = 1, .size = 5, .seen_ns = now };

	assert_int_equal(p4r_registry_open(&reg, db, true), 0);
	p4r_registry_racy_window(reg, 7, 5 * MS);
	k.mtime_ns = k.ctime_ns = now - 4 * MS; /* within the tick: a later write may keep it */
	assert_false(kept(reg, k));
	k.ctime_ns = now - 6 * MS;               /* mtime counts as well as ctime */
	assert_false(kept(reg, k));
	k.mtime_ns = now - 6 * MS;
	assert_true(kept(reg, k));
	k.dev = 8;                               /* another file system: two seconds */
	assert_false(kept(reg, k));
	k.mtime_ns = k.ctime_ns = now - 2100 * MS;
	assert_true(kept(reg, k));
	/* a read that began ten seconds ago, of a file changed since: however
	 * old the change is now, it may have been under the read */
	k.dev = 7;
	k.seen_ns = now - 10000 * MS;
	k.mtime_ns = k.ctime_ns = now - 9999 * MS;
	assert_false(kept(reg, k));
	/* unknown moment: the registry's opening */
	k.seen_ns = 0;
	k.mtime_ns = k.ctime_ns = now - 50 * MS;
	assert_true(kept(reg, k));
	k.mtime_ns = k.ctime_ns = p4r_timestamps_now();
	assert_false(kept(reg, k));
	/* no window above the default */
	p4r_registry_racy_window(reg, 7, 3600 * INT64_C(1000000000));
	k.seen_ns = p4r_timestamps_now();
	k.mtime_ns = k.ctime_ns = k.seen_ns - 2100 * MS;
	assert_true(kept(reg, k));
	p4r_registry_free(reg);
	free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_measure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_measure_whole_seconds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_floor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_cache_folder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_racy_rule, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
