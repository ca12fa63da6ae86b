/* git's pkt-line framing (gitprotocol-common(5)): each packet starts with
 * its length, header included, as four hex digits; "0000" (flush), "0001"
 * (delimiter) and "0002" (response end) are packets with no payload. The
 * framing reads and writes file descriptors the caller gives, so a unit
 * test can drive it over a pipe; the filter protocol on top is in
 * filter.h. */
#ifndef P4REG_PKTLINE_H
#define P4REG_PKTLINE_H

#include <stdbool.h>
#include <stddef.h>

/* The longest packet, header included (git's LARGE_PACKET_MAX). */
#define P4R_PKT_MAX 65520
/* The most payload one packet carries. */
#define P4R_PKT_DATA_MAX (P4R_PKT_MAX - 4)

enum {
	P4R_PKT_FLUSH = 0,
	P4R_PKT_DELIM = 1,
	P4R_PKT_RESPONSE_END = 2,
};

/* Decodes the four bytes at HDR: exactly four hex digits, either case (no
 * sign, blank or "0x"). *OUT gets 0, 1 or 2 for the special packets, else
 * the packet's length 4..P4R_PKT_MAX with the header. P4R_ERROR naming the
 * header for anything else (3, or more than P4R_PKT_MAX, or not hex). */
int p4r_pkt_length_decode(size_t *out, const char hdr[4]);

/* Reads one packet from FD into BUF (P4R_PKT_DATA_MAX + 1 bytes; the
 * payload is NUL-terminated): *LEN its payload size, *FLUSH for "0000",
 * *EOF when FD ended between packets (0 returned, nothing read). A stream
 * that ends inside a packet, a bad length header, and a delimiter or
 * response-end packet (the filter protocol has flushes only) are
 * P4R_ERROR. */
int p4r_pkt_read(int fd, unsigned char *buf, size_t *len, bool *flush, bool *eof);

/* Writes DATA (LEN <= P4R_PKT_DATA_MAX, else P4R_ERROR and nothing
 * written) to FD as one packet. */
int p4r_pkt_write(int fd, const void *data, size_t len);

/* Writes LINE plus "\n" as one packet (a text line of the protocol; LINE
 * must fit in 254 bytes, else P4R_ERROR). */
int p4r_pkt_text(int fd, const char *line);

/* Writes a flush packet, "0000". */
int p4r_pkt_flush(int fd);

/* Writes LEN bytes of DATA as as many packets as they need (none for 0). */
int p4r_pkt_data(int fd, const unsigned char *data, size_t len);

/* The payload of a text packet (LEN bytes at BUF, NUL-terminated) without
 * its final "\n", which is cut in place. */
const char *p4r_pkt_line(unsigned char *buf, size_t len);

#endif
