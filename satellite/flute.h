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

/* ======================================================================
 * The FDT instance (RFC 6726 section 3.4): the session's file table
 * ======================================================================
 *
 * Sent as object TOI 0 (with EXT_FDT carrying its instance ID), coded
 * with RaptorQ like any other object.  ferry writes exactly this XML:
 *
 *   <?xml version="1.0" encoding="UTF-8"?>
 *   <FDT-Instance xmlns="urn:IETF:metadata:2005:FLUTE:FDT"
 *     xmlns:ferry="urn:ferry:fdt:1" Expires="3980000000">
 *   <File TOI="1" Content-Location="heads/main" Content-Length="512"
 *     ferry:sha256="<64 lowercase hex digits>"/>
 *   ...
 *   </FDT-Instance>
 *
 * Content-Location is the file's path in the repository (XML-escaped;
 * checked with mf_path_check()), Content-Length its size and ferry:sha256
 * its SHA-256: the object's identity, with which the receiver keys its
 * state (with the length and the OTI), never by TOI alone.  Expires is
 * required by RFC 6726 (NTP seconds); ferry's receiver never trusts a
 * clock and ignores it.  A file of length 0 is listed but has no packets
 * (RaptorQ cannot code an empty object).
 *
 * The parser reads only this shape: an optional XML declaration, one
 * FDT-Instance element with attributes, self-closing File elements, the
 * closing tag, nothing after it but white space.  Unknown attributes are
 * skipped; comments, other elements, entities other than the five
 * predefined ones, duplicate attributes, duplicate TOIs or locations, TOI
 * 0, bad numbers and bad paths are refused with -EBADMSG and a detail.
 */
#define FLUTE_FDT_MAX_BYTES (16u << 20) /* one FDT instance */
#define FLUTE_FDT_MAX_FILES (1u << 18)  /* File elements in one instance */

struct flute_fdt_file {
	uint32_t toi;          /* 1 .. 2^32-1 */
	uint64_t length;       /* Content-Length, at most LIMIT_FILE_BYTES */
	uint8_t sha256[32];    /* ferry:sha256 */
	char *location;        /* Content-Location, NUL-terminated, owned */
};

struct flute_fdt {
	uint64_t expires;       /* as written; never trusted */
	size_t n;
	struct flute_fdt_file *files; /* owned */
};

void flute_fdt_init(struct flute_fdt *fdt);
void flute_fdt_release(struct flute_fdt *fdt);

/* Appends a file (location is copied).  -EINVAL for TOI 0, a bad path or
 * a length over the limit; -EFBIG past FLUTE_FDT_MAX_FILES; -ENOMEM. */
int flute_fdt_add(struct flute_fdt *fdt, uint32_t toi, const char *location, uint64_t length,
		  const uint8_t sha256[32]) FERRY_MUST_USE;

/* The file with this TOI, or NULL. Linear. */
const struct flute_fdt_file *flute_fdt_find(const struct flute_fdt *fdt, uint32_t toi);

/* Writes the XML of fdt into *out (a buffer the caller owns and releases;
 * capped at FLUTE_FDT_MAX_BYTES: -EFBIG past it). */
struct buf;
int flute_fdt_write(struct buf *out, const struct flute_fdt *fdt) FERRY_MUST_USE;

/* Parses len bytes of XML into *out (initialised here; release it with
 * flute_fdt_release() whatever the result).  -EBADMSG with a detail
 * naming the problem, -EFBIG past the limits, -ENOMEM. */
int flute_fdt_parse(struct flute_fdt *out, const void *xml, size_t len) FERRY_MUST_USE;

#endif
