/* Tests of the one object-publishing path (store/publish.c): verified,
 * durable, race-safe, never through a symbolic link. */
#include "testutil.h"
#include "p4reg/publish.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"
#include "p4reg/hash.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char BYTES[] = "the same bytes, published by everyone";

struct fx {
	char *dir;     /* the test's folder */
	char *tmp;     /* DIR/tmp */
	char *objects; /* DIR/objects */
	int root;      /* open on OBJECTS */
	p4r_oid oid;   /* of BYTES */
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	fx->dir = tu_mkdtemp();
	fx->tmp = p4r_path_join(fx->dir, "tmp");
	fx->objects = p4r_path_join(fx->dir, "objects");
	assert_int_equal(mkdir(fx->tmp, 0755), 0);
	assert_int_equal(mkdir(fx->objects, 0755), 0);
	fx->root = open(fx->objects, O_RDONLY | O_DIRECTORY);
	assert_true(fx->root >= 0);
	assert_int_equal(p4r_hash_buffer(&fx->oid, BYTES, sizeof(BYTES) - 1), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	close(fx->root);
	free(fx->tmp);
	free(fx->objects);
	tu_rmtree_free(fx->dir);
	free(fx);
	return 0;
}

static size_t count_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/* A temporary file in FX->tmp holding LEN bytes of DATA, hashed as written. */
static void make_tmp(struct fx *fx, const void *data, size_t len, int *fd, char **tmp, p4r_oid *got)
{
	assert_int_equal(p4r_mkstemp_in(fd, tmp, fx->tmp, "object"), 0);
	assert_int_equal(p4r_write_all(*fd, data, len), 0);
	assert_int_equal(p4r_hash_buffer(got, data, len), 0);
}

static char *final_path(struct fx *fx)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/%.2s/%.2s/%s", fx->objects, fx->oid.hex, fx->oid.hex + 2,
			     fx->oid.hex) > 0);
	return p;
}

static void test_publish_places(void **state)
{
	struct fx *fx = *state;
	char *tmp = NULL, *path = final_path(fx), *back;
	int fd = -1, dir = -1;
	bool existed = true;
	struct stat st;
	p4r_oid got;
	size_t len;

	make_tmp(fx, BYTES, sizeof(BYTES) - 1, &fd, &tmp, &got);
	assert_int_equal(p4r_publish_dir_open(fx->root, fx->objects, &fx->oid, false, true, &dir), P4R_ENOTFOUND);
	assert_int_equal(p4r_publish_dir_open(fx->root, fx->objects, &fx->oid, true, true, &dir), 0);
	assert_int_equal(p4r_publish_object(dir, fx->oid.hex, &fx->oid, &got, AT_FDCWD, &tmp, &fd, 0444,
					    "obj", true, &existed), 0);
	assert_null(tmp);
	assert_int_equal(fd, -1);
	assert_false(existed);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0444);
	back = tu_slurp(path, &len);
	assert_int_equal(len, sizeof(BYTES) - 1);
	assert_memory_equal(back, BYTES, len);
	assert_int_equal(count_entries(fx->tmp), 0);
	free(back);
	free(path);
	close(dir);
}

static void test_publish_refuses_wrong_bytes(void **state)
{
	struct fx *fx = *state;
	char *tmp = NULL, *path = final_path(fx);
	int fd = -1, dir = -1;
	struct stat st;
	p4r_oid got;

	make_tmp(fx, "other bytes", 11, &fd, &tmp, &got);
	assert_int_equal(p4r_publish_dir_open(fx->root, fx->objects, &fx->oid, true, true, &dir), 0);
	assert_int_equal(p4r_publish_object(dir, fx->oid.hex, &fx->oid, &got, AT_FDCWD, &tmp, &fd, 0444,
					    "download", true, NULL), P4R_EINTEGRITY);
	assert_non_null(strstr(p4r_error_message(), "'download' hashes to"));
	assert_non_null(strstr(p4r_error_message(), fx->oid.hex));
	p4r_error_clear();
	assert_null(tmp);
	assert_int_equal(fd, -1);
	assert_int_equal(lstat(path, &st), -1);
	assert_int_equal(count_entries(fx->tmp), 0);
	free(path);
	close(dir);
}

struct racer {
	struct fx *fx;
	int rc;
	bool existed;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	char *tmp = NULL;
	int fd = -1, dir = -1;
	p4r_oid got;

	make_tmp(r->fx, BYTES, sizeof(BYTES) - 1, &fd, &tmp, &got);
	r->rc = p4r_publish_dir_open(r->fx->root, r->fx->objects, &r->fx->oid, true, true, &dir);
	if (r->rc == 0)
		r->rc = p4r_publish_object(dir, r->fx->oid.hex, &r->fx->oid, &got, AT_FDCWD, &tmp, &fd,
					   0444, "obj", true, &r->existed);
	if (dir >= 0)
		close(dir);
	return NULL;
}

/* Eight writers of the same object at once: all succeed, one file stays,
 * no temporary file is left behind. */
static void test_publish_concurrent_same_oid(void **state)
{
	struct fx *fx = *state;
	struct racer r[8];
	pthread_t t[8];
	char *path = final_path(fx), *back;
	size_t i, len, existed = 0;

	for (i = 0; i < 8; i++) {
		r[i] = (struct racer){ .fx = fx };
		assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(r[i].rc, 0);
		existed += r[i].existed;
	}
	/* the file system serialises the renames: at most one made the name */
	assert_true(existed >= 7);
	back = tu_slurp(path, &len);
	assert_int_equal(len, sizeof(BYTES) - 1);
	assert_memory_equal(back, BYTES, len);
	assert_int_equal(count_entries(fx->tmp), 0);
	free(back);
	free(path);
}

/* A symbolic link (or a file cut short) at the final name is replaced,
 * never written through. */
static void test_publish_replaces_link(void **state)
{
	struct fx *fx = *state;
	char *tmp = NULL, *path = final_path(fx), *victim = p4r_path_join(fx->dir, "victim"), *back;
	int fd = -1, dir = -1;
	struct stat st;
	p4r_oid got;
	size_t len;

	free(tu_write(fx->dir, "victim", "keep", 4));
	assert_int_equal(p4r_publish_dir_open(fx->root, fx->objects, &fx->oid, true, true, &dir), 0);
	assert_int_equal(symlinkat(victim, dir, fx->oid.hex), 0);
	make_tmp(fx, BYTES, sizeof(BYTES) - 1, &fd, &tmp, &got);
	assert_int_equal(p4r_publish_object(dir, fx->oid.hex, &fx->oid, &got, AT_FDCWD, &tmp, &fd, 0444,
					    "obj", true, NULL), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	back = tu_slurp(victim, &len);
	assert_int_equal(len, 4);
	assert_memory_equal(back, "keep", 4);
	free(back);
	free(victim);
	free(path);
	close(dir);
}

static void test_dir_open_refuses_link(void **state)
{
	struct fx *fx = *state;
	char name[3] = { fx->oid.hex[0], fx->oid.hex[1], '\0' };
	p4r_oid bad;
	int dir = -1;

	assert_int_equal(symlinkat(fx->tmp, fx->root, name), 0);
	assert_int_equal(p4r_publish_dir_open(fx->root, fx->objects, &fx->oid, true, true, &dir), P4R_EINTEGRITY);
	assert_non_null(strstr(p4r_error_message(), "refusing to follow it"));
	assert_int_equal(dir, -1);
	memset(&bad, 0, sizeof(bad));
	snprintf(bad.hex, sizeof(bad.hex), "../../etc");
	assert_int_equal(p4r_publish_dir_open(fx->root, fx->objects, &bad, true, true, &dir), P4R_EUSAGE);
	p4r_error_clear();
}

/* Hostile leftovers at the final name: a FIFO (must not block), a file cut
 * short, and a hard link of a file outside (replaced as a name; the other
 * file keeps its bytes). Each is replaced by the verified bytes. */
static void test_publish_replaces_fifo_short_and_hardlink(void **state)
{
	struct fx *fx = *state;
	char *path = final_path(fx), *victim = p4r_path_join(fx->dir, "victim"), *back;
	int round;

	free(tu_write(fx->dir, "victim", "keep", 4));
	for (round = 0; round < 3; round++) {
		char *tmp = NULL;
		int fd = -1, dir = -1;
		bool existed = true;
		struct stat st;
		p4r_oid got;
		size_t len;

		assert_int_equal(p4r_publish_dir_open(fx->root, fx->objects, &fx->oid, true, true, &dir), 0);
		unlinkat(dir, fx->oid.hex, 0);
		if (round == 0)
			assert_int_equal(mkfifoat(dir, fx->oid.hex, 0644), 0);
		else if (round == 1) {
			int sfd = openat(dir, fx->oid.hex, O_WRONLY | O_CREAT | O_EXCL, 0444);

			assert_true(sfd >= 0);
			assert_int_equal(p4r_write_all(sfd, BYTES, 5), 0);
			close(sfd);
		} else
			assert_int_equal(linkat(AT_FDCWD, victim, dir, fx->oid.hex, 0), 0);
		make_tmp(fx, BYTES, sizeof(BYTES) - 1, &fd, &tmp, &got);
		assert_int_equal(p4r_publish_object(dir, fx->oid.hex, &fx->oid, &got, AT_FDCWD, &tmp, &fd,
						    0444, "obj", true, &existed), 0);
		assert_false(existed);
		assert_int_equal(lstat(path, &st), 0);
		assert_true(S_ISREG(st.st_mode));
		back = tu_slurp(path, &len);
		assert_int_equal(len, sizeof(BYTES) - 1);
		assert_memory_equal(back, BYTES, len);
		free(back);
		back = tu_slurp(victim, &len);
		assert_int_equal(len, 4);
		assert_memory_equal(back, "keep", 4);
		free(back);
		assert_int_equal(count_entries(fx->tmp), 0);
		close(dir);
	}
	free(victim);
	free(path);
}

/* The second fan-out level as a link is refused too, before any write. */
static void test_dir_open_refuses_second_level_link(void **state)
{
	struct fx *fx = *state;
	char first[3] = { fx->oid.hex[0], fx->oid.hex[1], '\0' };
	char second[3] = { fx->oid.hex[2], fx->oid.hex[3], '\0' };
	int mid, dir = -1;

	assert_int_equal(mkdirat(fx->root, first, 0755), 0);
	mid = openat(fx->root, first, O_RDONLY | O_DIRECTORY);
	assert_true(mid >= 0);
	assert_int_equal(symlinkat(fx->tmp, mid, second), 0);
	close(mid);
	assert_int_equal(p4r_publish_dir_open(fx->root, fx->objects, &fx->oid, true, true, &dir), P4R_EINTEGRITY);
	assert_int_equal(dir, -1);
	assert_int_equal(count_entries(fx->tmp), 0);
	p4r_error_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_publish_places, setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish_refuses_wrong_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish_concurrent_same_oid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish_replaces_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_open_refuses_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish_replaces_fifo_short_and_hardlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_open_refuses_second_level_link, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
