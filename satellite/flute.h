/*
 * flute.h — the satellite carousel's wire format: one FLUTE/ALC/LCT packet
 * (RFC 6726, RFC 5775, RFC 5651) carrying one RaptorQ symbol (RFC 6330),
 * and the FDT instance (the file table, RFC 6726 section 3.4) that names
 * the objects of a session.
 *
 * Every packet ferry sends has this layout (big-endian, 32-bit words):
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-------+---+---+-+---+-+---+-+-+---------------+---------------+
 *   | V=1   |C=0|PSI|S|O=1|H|Res|A|B|   HDR_LEN     |  CP = 6       |
 *   +-------+---+---+-+---+-+---+-+-+---------------+---------------+
 *   |          Congestion Control Information (CCI) = 0             |
 *   +---------------------------------------------------------------+
 *   |          Transport Session Identifier (TSI, S=1: 32 bits)     |
 *   +---------------------------------------------------------------+
 *   |          Transport Object Identifier (TOI, O=1: 32 bits)      |
 *   +---------------+---------------+-------------------------------+
 *   | HET = 64      | HEL = 4       |                               |
 *   +---------------+---------------+  Transfer Length F (40 bits)  |
 *   |                                                               |
 *   +---------------+---------------+-------------------------------+
 *   | Reserved = 0  | Symbol Size T (16 bits)       | Z (8 bits)    |
 *   +---------------+-------------------------------+---------------+
 *   | N (16 bits)                   | Al (8 bits)   | pad = 0       |
 *   +-------------------------------+---------------+---------------+
 *   | pad = 0       |                                               |
 *   +---------------+   (EXT_FTI ends; in TOI 0 packets only:)      |
 *   | HET = 192     | V=2   |  FDT Instance ID (20 bits)            |
 *   +---------------+-------+---------------------------------------+
 *   | SBN (8 bits)  |  ESI (24 bits)                                |
 *   +---------------+-----------------------------------------------+
 *   |  one encoding symbol, exactly T bytes                         |
 *
 * (The FEC OTI inside EXT_FTI is the 12 bytes of rq_oti_encode(); the
 * extension is padded with two zero bytes to 16 bytes, HEL = 4 words.)
 * A content packet has 32 bytes of LCT header and 4 of payload ID: 36
 * bytes, so T = 1436 fills a 1500-byte IPv4 MTU exactly.  FDT packets
 * (TOI 0) carry EXT_FDT too, 40 bytes of headers in all.
 *
 * The parser is strict: it accepts any LCT layout RFC 5651 allows (C, S, O,
 * H; unknown header extensions are skipped as the RFC says) but demands LCT
 * version 1, codepoint 6, exactly one EXT_FTI holding an OTI inside our
 * RaptorQ profile (rq_oti_check()), EXT_FDT with FLUTE version 2 in TOI 0
 * packets, an SBN below Z, and exactly one symbol of T bytes after the
 * payload ID: a truncated packet or trailing bytes are refused.  TSI and
 * TOI wider than 32 bits are refused (ferry never sends them).
 */
#ifndef FERRY_SATELLITE_FLUTE_H
#define FERRY_SATELLITE_FLUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/limits.h"
#include "satellite/satellite.h"

#define FLUTE_LCT_VERSION 1u       /* RFC 5651 */
#define FLUTE_FDT_VERSION 2u       /* RFC 6726: the V field of EXT_FDT */
#define FLUTE_CODEPOINT 6u         /* FEC encoding ID 6: RaptorQ */
#define FLUTE_HET_FTI 64u          /* EXT_FTI */
#define FLUTE_HET_FDT 192u         /* EXT_FDT */
#define FLUTE_FDT_TOI 0u           /* the FDT instances travel as TOI 0 */
#define FLUTE_FDT_INSTANCE_MAX 0xfffffu /* 20 bits */

#define FLUTE_HEADER_LEN 36u       /* LCT header + payload ID, TOI != 0 */
#define FLUTE_FDT_HEADER_LEN 40u   /* the same with EXT_FDT, TOI 0 */
#define FLUTE_PACKET_MAX (FLUTE_FDT_HEADER_LEN + LIMIT_RQ_SYMBOL_BYTES)

/* One packet, decoded.  symbol points into the buffer given to
 * flute_packet_parse() (or the caller's symbol for encoding) and holds
 * oti.symbol_size bytes. */
struct flute_packet {
	uint32_t tsi;
	uint32_t toi;
	struct rq_oti oti;
	uint32_t fdt_instance; /* TOI 0 only: EXT_FDT's instance ID */
	bool close_session;    /* LCT flag A */
	bool close_object;     /* LCT flag B */
	uint8_t sbn;
	uint32_t esi;          /* 0 .. RQ_ESI_MAX */
	const uint8_t *symbol;
};

/* Bytes flute_packet_encode() writes for p: the header length plus T. */
size_t flute_packet_size(const struct flute_packet *p);

/* Writes p into out (cap bytes) and sets *out_len.  -EINVAL if p's OTI
 * fails rq_oti_check(), the SBN is not below Z, the ESI or FDT instance ID
 * does not fit its field, or cap is too small. */
int flute_packet_encode(uint8_t *out, size_t cap, size_t *out_len,
			const struct flute_packet *p) FERRY_MUST_USE;

/* Parses one datagram of len bytes.  On success fills *out (out->symbol
 * points into buf) and returns 0.  -ESRCH (with a detail) if the packet is
 * well formed at LCT level but its TSI is not tsi: a foreign session the
 * receiver drops quietly; -EBADMSG with a one-line detail for anything
 * else that breaks the format or the profile.  *out is unspecified after a
 * failure. */
int flute_packet_parse(struct flute_packet *out, const void *buf, size_t len,
		       uint32_t tsi) FERRY_MUST_USE;

#endif
