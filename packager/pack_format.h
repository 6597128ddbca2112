/*
 * pack_format.h — the bytes of a pack file and of its .idx, declared once.
 *
 * A pack carries many chunks in one immutable file named by the SHA-256 of
 * its bytes.  Each entry is self-describing (a fixed header, then the stored
 * bytes), so any byte range [offset, offset + PACK_ENTRY_HEADER_LEN +
 * stored_len) fetched from a mirror can be decoded and checked against its
 * chunk ID on its own.  A trailing index sorted by chunk ID, found from the
 * last bytes of the file, says where every entry lies; the same records are
 * published beside the pack as a small .idx file, so a school can plan
 * ranged fetches without holding the pack.  docs/format.md tells the same
 * story for people who do not read C.
 *
 * Every integer is little-endian and fixed-width.  Reserved and padding
 * bytes are zero and readers refuse anything else, so one list of chunks
 * has exactly one byte encoding and therefore one name.
 *
 *   pack file
 *
 *   0         +-----------------------------------------------------------+
 *             | header (16)                                               |
 *             |   magic "FERRYPAK" (8) | version u32 = 1 | flags u32 = 0  |
 *   16        +-----------------------------------------------------------+
 *             | entry (44 + stored_len), back to back in write order:    |
 *             |   type u8 | reserved 3 bytes = 0 | stored_len u32 |       |
 *             |   raw_len u32 | chunk ID = SHA-256 of the raw bytes (32)  |
 *             |   stored bytes: one zstd frame (type 1) or raw (type 2)  |
 *             |   or a delta frame (type 3; see below)                   |
 *             +-----------------------------------------------------------+
 *             | ... more entries: they tile [16, index_offset) exactly    |
 *   index_off +-----------------------------------------------------------+
 *             | index: count records (56 each), strictly sorted by ID:    |
 *             |   chunk ID (32) | offset u64 | stored_len u32 |           |
 *             |   raw_len u32 | type u8 | padding 7 bytes = 0            |
 *   size - 24 +-----------------------------------------------------------+
 *             | footer (24)                                               |
 *             |   index_offset u64 | count u32 | reserved u32 = 0 |       |
 *             |   end magic "FERRYEND" (8)                                |
 *   size      +-----------------------------------------------------------+
 *
 *   .idx file
 *
 *   0         +-----------------------------------------------------------+
 *             | header (64)                                               |
 *             |   magic "FERRYIDX" (8) | version u32 = 1 | flags u32 = 0  |
 *             |   pack_size u64 | pack name = SHA-256 of the pack (32)    |
 *             |   count u32 | reserved u32 = 0                            |
 *   64        +-----------------------------------------------------------+
 *             | count records, byte for byte the pack's own index         |
 *   64+56*cnt +-----------------------------------------------------------+
 *             | SHA-256 of every byte above (32)                          |
 *             +-----------------------------------------------------------+
 *
 * Rules a reader enforces (pack_read.c):
 *   - count >= 1 and <= LIMIT_PACK_ENTRIES; pack_size <= LIMIT_PACK_BYTES;
 *   - index_offset = pack_size - PACK_FOOTER_LEN - count * PACK_RECORD_LEN;
 *   - records strictly increasing by ID (memcmp order), so no duplicates;
 *   - entries, taken in offset order, tile [PACK_HEADER_LEN, index_offset)
 *     with no gap and no overlap;
 *   - raw_len is 1 .. LIMIT_CHUNK_MAX; a raw entry has stored_len ==
 *     raw_len; a zstd entry has 1 <= stored_len < raw_len (a frame that
 *     saves nothing is never written: the chunk is stored raw instead).
 *   - a delta entry (type 3) is one zstd frame of a whole file compressed
 *     against an earlier version of it (packager/delta.h).  Its ID is the
 *     SHA-256 of the STORED bytes (the frame), so it is checked before it
 *     is applied; raw_len is the target file's size, 1 ..
 *     LIMIT_DELTA_FILE_BYTES; stored_len is 1 .. LIMIT_DELTA_BYTES.  A
 *     release's meta/deltas says which base and target it joins.
 *
 * Paths: packs/<first two hex digits of the name>/<64 lowercase hex>.pack
 * and .idx beside it.
 */
#ifndef FERRY_PACKAGER_PACK_FORMAT_H
#define FERRY_PACKAGER_PACK_FORMAT_H

#include "core/crypto.h"
#include "core/limits.h"

/* File header. */
#define PACK_MAGIC "FERRYPAK"
#define PACK_MAGIC_LEN 8
#define PACK_VERSION 1u
#define PACK_HEADER_LEN 16
#define PACK_HDR_MAGIC 0
#define PACK_HDR_VERSION 8
#define PACK_HDR_FLAGS 12

/* Entry types.  PACK_ENTRY_DELTA is a zstd frame compressed against an
 * earlier version of its file, named by the hash of its stored bytes. */
#define PACK_ENTRY_ZSTD 1
#define PACK_ENTRY_RAW 2
#define PACK_ENTRY_DELTA 3

/* Entry header, followed by stored_len stored bytes. */
#define PACK_ENTRY_HEADER_LEN 44
#define PACK_EH_TYPE 0
#define PACK_EH_RESERVED 1 /* 3 bytes */
#define PACK_EH_STORED_LEN 4
#define PACK_EH_RAW_LEN 8
#define PACK_EH_ID 12

/* Index record, in the pack and in the .idx. */
#define PACK_RECORD_LEN 56
#define PACK_REC_ID 0
#define PACK_REC_OFFSET 32
#define PACK_REC_STORED_LEN 40
#define PACK_REC_RAW_LEN 44
#define PACK_REC_TYPE 48
#define PACK_REC_PADDING 49 /* 7 bytes */

/* Footer: the last PACK_FOOTER_LEN bytes of a pack. */
#define PACK_END_MAGIC "FERRYEND"
#define PACK_FOOTER_LEN 24
#define PACK_FT_INDEX_OFFSET 0
#define PACK_FT_COUNT 8
#define PACK_FT_RESERVED 12
#define PACK_FT_MAGIC 16

/* The .idx file. */
#define PACK_IDX_MAGIC "FERRYIDX"
#define PACK_IDX_VERSION 1u
#define PACK_IDX_HEADER_LEN 64
#define PACK_IDX_MAGIC_OFF 0
#define PACK_IDX_VERSION_OFF 8
#define PACK_IDX_FLAGS_OFF 12
#define PACK_IDX_PACK_SIZE_OFF 16
#define PACK_IDX_NAME_OFF 24
#define PACK_IDX_COUNT_OFF 56
#define PACK_IDX_RESERVED_OFF 60
#define PACK_IDX_TRAILER_LEN SHA256_LEN

/* The largest .idx a reader accepts: header, LIMIT_PACK_ENTRIES records,
 * trailing hash (about 235 MB; a default 64 MiB pack's .idx is ~60 KB). */
#define PACK_IDX_MAX_BYTES                                                                         \
	((size_t)PACK_IDX_HEADER_LEN + (size_t)PACK_RECORD_LEN * LIMIT_PACK_ENTRIES +              \
	 PACK_IDX_TRAILER_LEN)

/* The smallest possible pack: header, one 1-byte raw entry, its record,
 * footer. */
#define PACK_MIN_BYTES                                                                             \
	(PACK_HEADER_LEN + PACK_ENTRY_HEADER_LEN + 1 + PACK_RECORD_LEN + PACK_FOOTER_LEN)

/* File names. */
#define PACK_SUFFIX ".pack"
#define PACK_IDX_SUFFIX ".idx"

#endif
