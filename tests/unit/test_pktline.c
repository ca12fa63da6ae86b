/* Unit tests for pktline.c: git's pkt-line length header is exactly four
 * hex digits, with 0000/0001/0002 the only lengths under 4; packets
 * written read back as they were, over a file or a pipe. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/pktline.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A scratch file to write packets to and read them back from: a pipe
 * would block on more than its buffer. */
static int scratch(void)
{
	char tmpl[] = "/tmp/p4reg-pkt-XXXXXX";
	int fd = mkstemp(tmpl);

	assert_true(fd >= 0);
	unlink(tmpl);
	return fd;
}

static void rewind_fd(int fd)
{
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
}

/* The whole content of FD as a NUL-terminated string (malloc'd). */
static char *contents(int fd, size_t *len)
{
	off_t end = lseek(fd, 0, SEEK_END);
	char *buf = malloc((size_t)end + 1);

	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, (size_t)end, 0), end);
	buf[end] = '\0';
	*len = (size_t)end;
	return buf;
}

static void test_length_good(void **state)
{
	static const struct {
		const char *hdr;
		size_t len;
	} cases[] = {
		{ "0000", P4R_PKT_FLUSH }, { "0001", P4R_PKT_DELIM }, { "0002", P4R_PKT_RESPONSE_END },
		{ "0004", 4 }, { "000a", 10 }, { "000A", 10 }, { "00aB", 171 }, { "1234", 0x1234 },
		{ "fff0", P4R_PKT_MAX }, { "FFF0", P4R_PKT_MAX },
	};
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = 99;
		if (p4r_pkt_length_decode(&n, cases[i].hdr) != 0)
			fail_msg("'%s' was refused: %s", cases[i].hdr, p4r_error_message());
		assert_int_equal(n, cases[i].len);
	}
}

static void test_length_bad(void **state)
{
	/* strtoul took all the first four: a sign, a blank, "0x". */
	static const char *const bad[] = {
		"+12a", " 12a", "0x12", "0X12", "-001", "12a ", "\t12a", "zzzz", "12g4", "00 4",
		"0003", "fff1", "fff4", "ffff",
	};
	char nul[4] = { '0', '0', '4', '\0' };
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (p4r_pkt_length_decode(&n, bad[i]) != P4R_ERROR)
			fail_msg("'%s' was accepted as %zu", bad[i], n);
		assert_int_equal(n, 0);
		assert_non_null(strstr(p4r_error_message(), "packet length"));
	}
	assert_int_equal(p4r_pkt_length_decode(&n, nul), P4R_ERROR);
}

/* The exact bytes of text lines, a flush and data packets. */
static void test_framing(void **state)
{
	unsigned char buf[P4R_PKT_DATA_MAX + 1];
	size_t len;
	bool flush, eof;
	char *all;
	int fd = scratch();

	(void)state;
	assert_int_equal(p4r_pkt_text(fd, "version=2"), 0);
	assert_int_equal(p4r_pkt_flush(fd), 0);
	assert_int_equal(p4r_pkt_data(fd, (const unsigned char *)"abc", 3), 0);
	assert_int_equal(p4r_pkt_data(fd, (const unsigned char *)"", 0), 0); /* no packet */
	assert_int_equal(p4r_pkt_write(fd, "", 0), 0);                       /* "0004" */
	all = contents(fd, &len);
	assert_string_equal(all, "000eversion=2\n00000007abc0004");
	free(all);

	rewind_fd(fd);
	assert_int_equal(p4r_pkt_read(fd, buf, &len, &flush, &eof), 0);
	assert_false(flush);
	assert_false(eof);
	assert_int_equal(len, 10);
	assert_string_equal(p4r_pkt_line(buf, len), "version=2");
	assert_int_equal(p4r_pkt_read(fd, buf, &len, &flush, &eof), 0);
	assert_true(flush);
	assert_int_equal(len, 0);
	assert_int_equal(p4r_pkt_read(fd, buf, &len, &flush, &eof), 0);
	assert_false(flush);
	assert_int_equal(len, 3);
	assert_memory_equal(buf, "abc", 3);
	assert_int_equal(p4r_pkt_read(fd, buf, &len, &flush, &eof), 0);
	assert_false(flush);
	assert_int_equal(len, 0);
	/* the end between packets is EOF, not an error */
	assert_int_equal(p4r_pkt_read(fd, buf, &len, &flush, &eof), 0);
	assert_true(eof);
	close(fd);
}

/* Data longer than a packet is cut into full packets and the rest;
 * one packet longer than that is refused with nothing written. */
static void test_oversize(void **state)
{
	size_t big = P4R_PKT_DATA_MAX + 10, len, got = 0;
	unsigned char *data = malloc(big), buf[P4R_PKT_DATA_MAX + 1];
	bool flush, eof;
	int fd = scratch(), n = 0;
	size_t i;

	(void)state;
	assert_non_null(data);
	for (i = 0; i < big; i++)
		data[i] = (unsigned char)(i * 7);
	assert_int_equal(p4r_pkt_write(fd, data, P4R_PKT_DATA_MAX + 1), P4R_ERROR);
	assert_non_null(strstr(p4r_error_message(), "too long"));
	assert_int_equal(lseek(fd, 0, SEEK_END), 0);
	assert_int_equal(p4r_pkt_data(fd, data, big), 0);
	assert_int_equal(lseek(fd, 0, SEEK_END), (off_t)(big + 8));
	rewind_fd(fd);
	for (;;) {
		assert_int_equal(p4r_pkt_read(fd, buf, &len, &flush, &eof), 0);
		if (eof)
			break;
		assert_false(flush);
		assert_int_equal(len, n == 0 ? (size_t)P4R_PKT_DATA_MAX : 10);
		assert_memory_equal(buf, data + got, len);
		got += len;
		n++;
	}
	assert_int_equal(n, 2);
	assert_int_equal(got, big);
	/* the largest header, "fff0", reads back */
	rewind_fd(fd);
	assert_int_equal(p4r_pkt_read(fd, buf, &len, &flush, &eof), 0);
	assert_int_equal(len, P4R_PKT_DATA_MAX);
	free(data);
	close(fd);
}

/* A stream that ends inside a header or a payload, a bad header, and the
 * delimiter packets the filter protocol does not use are errors. */
static void test_truncated(void **state)
{
	static const char *const bad[] = { "00", "000aabc", "0004000", "zzzz", "0001", "0002", "ffff" };
	unsigned char buf[P4R_PKT_DATA_MAX + 1];
	size_t i, len;
	bool flush, eof;
	int p[2];

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(pipe(p), 0);
		assert_int_equal(write(p[1], bad[i], strlen(bad[i])), (ssize_t)strlen(bad[i]));
		close(p[1]);
		/* "0004000": the empty packet reads, then three bytes of a header */
		if (!strcmp(bad[i], "0004000")) {
			assert_int_equal(p4r_pkt_read(p[0], buf, &len, &flush, &eof), 0);
			assert_int_equal(len, 0);
		}
		if (p4r_pkt_read(p[0], buf, &len, &flush, &eof) != P4R_ERROR)
			fail_msg("'%s' was read", bad[i]);
		assert_false(eof);
		close(p[0]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_length_good),
		cmocka_unit_test(test_length_bad),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
