/*
 * chunk_table.h — the publisher's on-disk index of every chunk it holds.
 *
 * Dedupe must check each chunk against everything already in the
 * repository without loading the repository's index into RAM (a county
 * catalog runs to millions of chunks).  The chunk table is one file,
 * local/chunks.tbl, that lists every chunk of every pack sorted by ID,
 * with a 65,536-entry fanout on the first two ID bytes kept in memory
 * (256 KiB).  A lookup reads one small bucket with pread; the file itself
 * stays in the page cache or on disk.
 *
 * The table is a cache derived from the packs' .idx files: it is not
 * published, `ferry verify` checks it against the indexes, and
 * chunk_table_rebuild() recreates it from them.  After each packing run the
 * new chunks are merged in (a sequential rewrite, then an atomic rename),
 * so a crash leaves the previous table, which is still correct: packs are
 * only ever added, and a chunk missing from the table is merely stored
 * again.
 *
 *     +----------------------------------------------+
 *     | magic "FRYCTBL1" | u32 version | u32 npacks  |
 *     | u64 nrecs                                    |
 *     | npacks x 32-byte pack names (SHA-256)        |
 *     | 65536 x u32 fanout: records with first two   |
 *     |   ID bytes <= i (cumulative)                 |
 *     | nrecs x record, sorted by ID:                |
 *     |   32 id | u32 pack | u32 stored | u32 raw |  |
 *     |   u8 type | 3 zero                           |
 *     +----------------------------------------------+
 * All integers little-endian.
 */
#ifndef FERRY_PACKAGER_CHUNK_TABLE_H
#define FERRY_PACKAGER_CHUNK_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/crypto.h"
#include "core/err.h"

#define CHUNK_TABLE_MAGIC "FRYCTBL1"
#define CHUNK_TABLE_VERSION 1u
#define CHUNK_TABLE_FANOUT 65536u
#define CHUNK_TABLE_REC_BYTES 48u

struct chunk_rec {
	struct sha256 id;
	uint32_t pack; /* index into the table's pack names */
	uint32_t stored_len;
	uint32_t raw_len;
	uint8_t type;
};

struct chunk_table;

/* Opens path; a missing file is an empty table.  A malformed file is
 * -EBADMSG (the caller may rebuild it). */
int chunk_table_open(struct chunk_table **out, const char *path) FERRY_MUST_USE;
void chunk_table_free(struct chunk_table *t);

/* 0 and *out filled if present, -ENOENT if not.  Thread-safe. */
int chunk_table_find(const struct chunk_table *t, const struct sha256 *id,
		     struct chunk_rec *out) FERRY_MUST_USE;
uint32_t chunk_table_pack_count(const struct chunk_table *t);
const struct sha256 *chunk_table_pack_name(const struct chunk_table *t, uint32_t i);
uint64_t chunk_table_count(const struct chunk_table *t);

/* Calls fn for every record in ID order (streaming, bounded memory). */
int chunk_table_foreach(const struct chunk_table *t,
			int (*fn)(const struct chunk_rec *rec, void *ctx), void *ctx) FERRY_MUST_USE;

/* Writes a new table at path holding old's records plus recs (which refer
 * to packs by index into old's names followed by new_packs), atomically.
 * recs must be sorted by ID and hold no ID present in old. */
int chunk_table_merge(const char *path, const struct chunk_table *old,
		      const struct sha256 *new_packs, size_t nnew, const struct chunk_rec *recs,
		      size_t nrecs) FERRY_MUST_USE;

int chunk_rec_cmp(const void *a, const void *b);

#endif
