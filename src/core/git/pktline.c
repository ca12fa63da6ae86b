/* git's pkt-line framing on caller-given file descriptors (see pktline.h). */
#include "p4reg/pktline.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

static int hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* By hand, not strtoul: strtoul takes a sign, blanks and "0x", so "+12a",
 * " 12a" and "0x12" would pass as lengths. */
int p4r_pkt_length_decode(size_t *out, const char hdr[4])
{
	size_t n = 0;
	int i, d;

	*out = 0;
	for (i = 0; i < 4; i++) {
		if ((d = hex_digit((unsigned char)hdr[i])) < 0)
			return p4r_error_set(P4R_ERROR, "malformed packet length '%.4s' from git: "
					     "expected four hex digits", hdr);
		n = n * 16 + (size_t)d;
	}
	if (n == 3 || n > P4R_PKT_MAX)
		return p4r_error_set(P4R_ERROR, "bad packet length %zu from git (4 to %d, or 0000, "
				     "0001, 0002)", n, P4R_PKT_MAX);
	*out = n;
	return 0;
}

/* Reads LEN bytes; *EOF (and 0) when FD ends before the first byte. */
static int read_exact(int fd, void *buf, size_t len, bool *eof)
{
	unsigned char *p = buf;
	size_t got = 0;
	ssize_t n;

	*eof = false;
	while (got < len) {
		n = read(fd, p + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return p4r_error_errno("cannot read from git");
		if (n == 0) {
			if (got == 0) {
				*eof = true;
				return 0;
			}
			return p4r_error_set(P4R_ERROR, "git closed the filter pipe mid-packet");
		}
		got += (size_t)n;
	}
	return 0;
}

int p4r_pkt_read(int fd, unsigned char *buf, size_t *len, bool *flush, bool *eof)
{
	char hdr[5] = { 0 };
	size_t n;
	int rc;

	*len = 0;
	*flush = false;
	buf[0] = '\0';
	if ((rc = read_exact(fd, hdr, 4, eof)) < 0 || *eof)
		return rc;
	if ((rc = p4r_pkt_length_decode(&n, hdr)) < 0)
		return rc;
	if (n == P4R_PKT_FLUSH) {
		*flush = true;
		return 0;
	}
	/* The filter protocol has flushes only (gitattributes(5)). */
	if (n == P4R_PKT_DELIM || n == P4R_PKT_RESPONSE_END)
		return p4r_error_set(P4R_ERROR, "unexpected packet '%.4s' from git in the filter protocol", hdr);
	*len = n - 4;
	if ((rc = read_exact(fd, buf, *len, eof)) < 0)
		return rc;
	if (*eof) {
		*eof = false;
		return p4r_error_set(P4R_ERROR, "git closed the filter pipe mid-packet");
	}
	buf[*len] = '\0';
	return 0;
}

int p4r_pkt_write(int fd, const void *data, size_t len)
{
	char hdr[5];

	/* "%04x" of a longer length would not fit the header */
	if (len > P4R_PKT_DATA_MAX)
		return p4r_error_set(P4R_ERROR, "packet of %zu bytes is too long for git (at most %d)",
				     len, P4R_PKT_DATA_MAX);
	snprintf(hdr, sizeof(hdr), "%04x", (unsigned)(len + 4));
	if (p4r_write_all(fd, hdr, 4) < 0)
		return P4R_ERROR;
	return p4r_write_all(fd, data, len);
}

int p4r_pkt_text(int fd, const char *line)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "%s\n", line);

	if (n < 0 || (size_t)n >= sizeof(buf))
		return p4r_error_set(P4R_ERROR, "protocol line '%.32s...' is too long", line);
	return p4r_pkt_write(fd, buf, (size_t)n);
}

int p4r_pkt_flush(int fd)
{
	return p4r_write_all(fd, "0000", 4);
}

int p4r_pkt_data(int fd, const unsigned char *data, size_t len)
{
	int rc = 0;

	while (len > 0 && rc == 0) {
		size_t n = len < P4R_PKT_DATA_MAX ? len : P4R_PKT_DATA_MAX;

		rc = p4r_pkt_write(fd, data, n);
		data += n;
		len -= n;
	}
	return rc;
}

const char *p4r_pkt_line(unsigned char *buf, size_t len)
{
	if (len > 0 && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
	return (const char *)buf;
}
