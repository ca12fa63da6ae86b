/* Unit tests for hash.c: SHA-256 vectors, streaming equals one-shot, oids. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/hash.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define ABC_SHA "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/* FIPS 180-2 two-block message */
#define LONG_MSG "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
#define LONG_SHA "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"

/* Deterministic bytes that do not repeat on block boundaries. */
static unsigned char *random_bytes(size_t len, uint32_t seed)
{
	unsigned char *buf = malloc(len ? len : 1);
	uint32_t x = seed ? seed : 1;
	size_t i;

	assert_non_null(buf);
	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (unsigned char)(x >> 24);
	}
	return buf;
}

static void test_vectors(void **state)
{
	p4r_oid oid;

	(void)state;
	assert_int_equal(p4r_hash_buffer(&oid, "", 0), 0);
	assert_string_equal(oid.hex, EMPTY_SHA);
	assert_int_equal(p4r_hash_buffer(&oid, "abc", 3), 0);
	assert_string_equal(oid.hex, ABC_SHA);
	assert_int_equal(p4r_hash_buffer(&oid, LONG_MSG, strlen(LONG_MSG)), 0);
	assert_string_equal(oid.hex, LONG_SHA);
}

static void test_incremental_and_reset(void **state)
{
	p4r_hasher *h = NULL;
	p4r_oid oid;

	(void)state;
	assert_int_equal(p4r_hasher_new(&h), 0);
	assert_int_equal(p4r_hasher_update(h, "a", 1), 0);
	assert_int_equal(p4r_hasher_update(h, "", 0), 0);
	assert_int_equal(p4r_hasher_update(h, "bc", 2), 0);
	assert_int_equal(p4r_hasher_final(h, &oid), 0);
	assert_string_equal(oid.hex, ABC_SHA);

	assert_int_equal(p4r_hasher_reset(h), 0);
	assert_int_equal(p4r_hasher_final(h, &oid), 0);
	assert_string_equal(oid.hex, EMPTY_SHA);
	p4r_hasher_free(h);
	p4r_hasher_free(NULL);
}

static void test_hash_file_multiblock(void **state)
{
	const size_t len = 9 * 1024 * 1024 + 123;
	unsigned char *data = random_bytes(len, 42);
	char *dir = tu_mkdtemp(), *path;
	p4r_oid whole, streamed;
	uint64_t size = 0;

	(void)state;
	path = tu_write(dir, "big.bin", data, len);
	assert_int_equal(p4r_hash_buffer(&whole, data, len), 0);
	assert_int_equal(p4r_hash_file(&streamed, &size, path), 0);
	assert_string_equal(streamed.hex, whole.hex);
	assert_int_equal(size, len);
	assert_true(p4r_oid_equal(&streamed, &whole));

	free(path);
	free(data);
	tu_rmtree_free(dir);
}

static void test_hash_fd_from_offset(void **state)
{
	const size_t len = 3 * 1024 * 1024 + 7, skip = 1000;
	unsigned char *data = random_bytes(len, 7);
	char *dir = tu_mkdtemp(), *path;
	p4r_oid want, got;
	uint64_t size = 0;
	int fd;

	(void)state;
	path = tu_write(dir, "f", data, len);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(lseek(fd, (off_t)skip, SEEK_SET), (off_t)skip);
	assert_int_equal(p4r_hash_fd(&got, &size, fd), 0);
	assert_int_equal(p4r_hash_buffer(&want, data + skip, len - skip), 0);
	assert_string_equal(got.hex, want.hex);
	assert_int_equal(size, len - skip);
	close(fd);

	free(path);
	free(data);
	tu_rmtree_free(dir);
}

/* A pipe refuses posix_fadvise; hashing must not care. */
static void test_hash_fd_pipe(void **state)
{
	p4r_oid oid;
	uint64_t size = 99;
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "abc", 3), 3);
	close(p[1]);
	assert_int_equal(p4r_hash_fd(&oid, &size, p[0]), 0);
	assert_string_equal(oid.hex, ABC_SHA);
	assert_int_equal(size, 3);
	close(p[0]);
}

static void test_hash_file_errors(void **state)
{
	char *dir = tu_mkdtemp(), missing[4200];
	p4r_oid oid;
	uint64_t size;

	(void)state;
	snprintf(missing, sizeof(missing), "%s/nope", dir);
	assert_int_equal(p4r_hash_file(&oid, &size, missing), P4R_ENOTFOUND);
	assert_non_null(strstr(p4r_error_message(), missing));
	/* reading a folder fails with EISDIR */
	assert_int_equal(p4r_hash_file(&oid, &size, dir), P4R_ERROR);
	assert_non_null(strstr(p4r_error_message(), "cannot read"));
	tu_rmtree_free(dir);
}

static void test_oid_valid_and_parse(void **state)
{
	char upper[] = EMPTY_SHA;
	p4r_oid a, b;

	(void)state;
	assert_true(p4r_oid_valid(EMPTY_SHA));
	upper[0] = 'E';
	assert_false(p4r_oid_valid(upper));
	assert_false(p4r_oid_valid(EMPTY_SHA "0"));
	assert_false(p4r_oid_valid("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85"));
	assert_false(p4r_oid_valid("g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	assert_false(p4r_oid_valid("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85 "));
	assert_false(p4r_oid_valid(""));
	assert_false(p4r_oid_valid(NULL));

	assert_int_equal(p4r_oid_parse(&a, EMPTY_SHA), 0);
	assert_string_equal(a.hex, EMPTY_SHA);
	assert_int_equal(p4r_oid_parse(&b, upper), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "malformed oid"));
	assert_int_equal(p4r_oid_parse(&b, ABC_SHA), 0);
	assert_false(p4r_oid_equal(&a, &b));
	assert_int_equal(p4r_oid_parse(&b, EMPTY_SHA), 0);
	assert_true(p4r_oid_equal(&a, &b));
}

/* The fan-out path every object folder uses, and what it refuses. */
static void test_oid_path(void **state)
{
	p4r_oid oid;
	char buf[128], small[80];

	(void)state;
	memset(&oid, 0, sizeof(oid));
	memcpy(oid.hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 64);
	assert_int_equal(p4r_oid_path(buf, sizeof(buf), "/r/objects", &oid), 0);
	assert_string_equal(buf, "/r/objects/e3/b0/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	/* 80 bytes cannot hold root + 2 + 2 + 64 + 4 separators and the NUL */
	assert_int_equal(p4r_oid_path(small, sizeof(small), "/r/objects", &oid), P4R_ERROR);
	oid.hex[10] = '/';
	assert_int_equal(p4r_oid_path(buf, sizeof(buf), "/r/objects", &oid), P4R_EUSAGE);
	memcpy(oid.hex, "../../../../etc/passwd", 23);
	assert_int_equal(p4r_oid_path(buf, sizeof(buf), "/r/objects", &oid), P4R_EUSAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_incremental_and_reset),
		cmocka_unit_test(test_hash_file_multiblock),
		cmocka_unit_test(test_hash_fd_from_offset),
		cmocka_unit_test(test_hash_fd_pipe),
		cmocka_unit_test(test_hash_file_errors),
		cmocka_unit_test(test_oid_valid_and_parse),
		cmocka_unit_test(test_oid_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
