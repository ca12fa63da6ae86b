/* git's pkt-line length header, strictly (see pktline.h). */
#include "p4reg/pktline.h"
#include "p4reg/error.h"

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
