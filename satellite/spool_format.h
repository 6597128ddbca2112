/*
 * spool_format.h — the satellite receiver's spool on disk.
 *
 * One folder per object, named by the object's identity: the hex SHA-256
 * the file table announced, a dash, and the hex of the 12-byte RaptorQ OTI
 * (which carries the length F).  Two broadcasts of the same bytes with the
 * same parameters share a folder whatever their TOI; a different hash,
 * length or parameter set never does.
 *
 *   SPOOL/<sha256 hex>-<oti hex>/
 *       name            Content-Location last announced (informational)
 *       b<sbn>.sym      received symbols of block sbn, append-only
 *       b<sbn>.dec      the decoded block (exactly its bytes, no padding),
 *                       written atomically; its .sym is then removed
 *
 * A .sym file is a header then fixed-size records, all little-endian:
 *
 *   header (72 bytes)
 *   +--------+---------+-----+-----+-----+--------+---------+------+
 *   | magic  | version | sbn |  K  |  T  |  OTI   | SHA-256 | crc  |
 *   |   8    |    4    |  4  |  4  |  4  |   12   |   32    |  4   |
 *   +--------+---------+-----+-----+-----+--------+---------+------+
 *   record (8 + T bytes)
 *   +-----+------------------------+----------+
 *   | ESI | crc (ESI bytes, symbol)|  symbol  |
 *   |  4  |           4            |    T     |
 *   +-----+------------------------+----------+
 *
 * crc is CRC-32C.  A header that does not match the folder's identity
 * discards the file.  On open the records are read in order and the file
 * is cut at the first record that is short, fails its crc, repeats an ESI
 * or lies beyond the block's bound: a torn tail from a SIGKILL or a power
 * cut costs only the symbols after it, which the carousel sends again.
 */
#ifndef FERRY_SATELLITE_SPOOL_FORMAT_H
#define FERRY_SATELLITE_SPOOL_FORMAT_H

#define SPOOL_MAGIC "FRYSPOOL"
#define SPOOL_VERSION 1u
#define SPOOL_HEADER_LEN 72u
#define SPOOL_RECORD_OVERHEAD 8u

#endif
