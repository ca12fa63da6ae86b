/* git's pkt-line framing (gitprotocol-common(5)): each packet starts with
 * its length, header included, as four hex digits; "0000" (flush), "0001"
 * (delimiter) and "0002" (response end) are packets with no payload. Only
 * the length decoder lives here for now; the filter protocol that uses it
 * is in src/cmd/filter_process.c. */
#ifndef P4REG_PKTLINE_H
#define P4REG_PKTLINE_H

#include <stddef.h>

/* The longest packet, header included (git's LARGE_PACKET_MAX). */
#define P4R_PKT_MAX 65520

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

#endif
