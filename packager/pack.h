/*
 * pack.h — writing, indexing, reading and verifying packs.
 *
 * A pack is an immutable file of many chunks, named by the SHA-256 of its
 * bytes, with a trailing index and the same index published beside it as a
 * small .idx file (the layout is in pack_format.h and docs/format.md).  In a
 * repository they live at
 *
 *     <packs_dir>/<xx>/<64 hex>.pack      xx = the name's first two digits
 *     <packs_dir>/<xx>/<64 hex>.idx
 *
 * Writing (pack_write.c).  A pack_writer streams entries into a temporary
 * file "<packs_dir>/pack.tmp-*", hashing as it goes and keeping only the
 * 56-byte index records in memory.  pack_writer_finish() appends the index
 * and footer, fsyncs, renames the pack into place, then writes the .idx
 * atomically (temporary, fsync, rename, directory fsync).  The .idx is the
 * commit point: readers find packs through their .idx files, and a .idx
 * never appears before its pack is durable.  A crash leaves at worst a
 * temporary file (swept by fs_tmp_sweep() on <packs_dir> and its <xx>
 * folders, under the repository lock) or a lone .pack whose .idx was not
 * yet written: harmless, reported by pack_verify(), and given its .idx
 * back from its own tail (pack_index_parse_tail(), pack_index_encode()).
 *
 * Reading (pack_read.c).  A struct pack_index is parsed strictly from a
 * .idx (or from a pack's own tail) and answers lookups by chunk ID; one
 * entry's bytes, fetched as a byte range, are parsed and decoded with
 * pack_entry_parse() and pack_entry_decode(), which checks the chunk
 * against its ID.
 *
 * Verifying (pack_verify.c).  pack_verify() checks a pack and its .idx
 * completely, streaming the pack with bounded memory.
 *
 * Threads: a pack_writer belongs to one thread at a time; a parsed
 * pack_index is read-only and may be shared; pack_entry_decode() needs the
 * calling thread's own struct codec (codec.h).
 *
 * Errors follow core/err.h: -EBADMSG for anything malformed or any hash
 * mismatch, -EFBIG for a limit, -ENOENT for a missing chunk, -ENOMEM; a
 * detail line is left with err_set().
 */
#ifndef FERRY_PACKAGER_PACK_H
#define FERRY_PACKAGER_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "core/err.h"
#include "packager/codec.h"
#include "packager/pack_format.h"

/* One entry: where it lies in its pack and how it is stored.  type is
 * PACK_ENTRY_ZSTD, PACK_ENTRY_RAW or PACK_ENTRY_DELTA (raw_len is then the
 * target file's size, id the hash of the stored bytes); offset is where the entry header
 * starts; the entry occupies PACK_ENTRY_HEADER_LEN + stored_len bytes. */
struct pack_entry {
	struct sha256 id;
	uint64_t offset;
	uint32_t stored_len;
	uint32_t raw_len;
	uint8_t type;
};

/* ---- names and paths ---------------------------------------------------- */

/* "<packs_dir>/<xx>/<hex><suffix>" for suffix PACK_SUFFIX or
 * PACK_IDX_SUFFIX; caller frees *out with mem_free.  -ENOMEM. */
int pack_path_make(char **out, const char *packs_dir, const struct sha256 *name,
		   const char *suffix) FERRY_MUST_USE;

/* Parses the pack name from a path whose last component is exactly
 * "<64 lowercase hex><suffix>".  -EBADMSG otherwise. */
int pack_name_from_path(struct sha256 *out, const char *path, const char *suffix) FERRY_MUST_USE;

/* ---- entries ------------------------------------------------------------ */

/* Checks the format's rules on an entry's type and lengths (not its
 * offset): type ZSTD or RAW, raw_len 1..LIMIT_CHUNK_MAX, a raw entry's
 * stored_len equal to raw_len, a zstd entry's 1..raw_len-1; or type DELTA
 * with raw_len 1..LIMIT_DELTA_FILE_BYTES and stored_len
 * 1..LIMIT_DELTA_BYTES.  -EBADMSG. */
int pack_entry_validate(const struct pack_entry *e) FERRY_MUST_USE;

/* Parses the entry that starts at bytes[0] (a byte range fetched from
 * [offset, offset + PACK_ENTRY_HEADER_LEN + stored_len) of a pack; more
 * bytes may follow).  Fills *hdr_out (its offset is 0: bytes alone do not
 * say where they came from) and points *payload_out at the stored bytes
 * inside the input.  Returns the entry's total length, at most n.
 * -EBADMSG for a malformed header or fewer than that many bytes. */
int pack_entry_parse(struct pack_entry *hdr_out, const uint8_t **payload_out, const void *bytes,
		     size_t n) FERRY_MUST_USE;

/* Decodes an entry's stored bytes (payload, e->stored_len of them) into
 * raw_out[0..e->raw_len) and checks their SHA-256 against e->id.  Never
 * writes more than e->raw_len bytes.  -EFBIG if raw_cap < e->raw_len,
 * -EBADMSG if the entry is malformed, does not decode, or decodes to other
 * bytes than its ID names. */
int pack_entry_decode(uint8_t *raw_out, size_t raw_cap, const struct pack_entry *e,
		      const uint8_t *payload, struct codec *c) FERRY_MUST_USE;

/* Checks a delta entry's stored bytes (payload, e->stored_len of them)
 * against its ID, and that they are one zstd frame recording e->raw_len
 * bytes.  (pack_entry_decode() refuses delta entries with -EINVAL: they
 * need their base, see codec_delta_apply().)  -EBADMSG. */
int pack_delta_check(const struct pack_entry *e, const uint8_t *payload) FERRY_MUST_USE;

/* ---- writer ------------------------------------------------------------- */

struct pack_writer;

/* Starts a pack under packs_dir (created if missing) that will not exceed
 * max_bytes once finished; 0 means LIMIT_PACK_DEFAULT_BYTES.  max_bytes
 * must lie in PACK_MIN_BYTES..LIMIT_PACK_BYTES (-EINVAL, -EFBIG); a cap
 * below LIMIT_CHUNK_MAX + 1 KiB may refuse a large chunk even when empty.
 * Free with pack_writer_free(). */
int pack_writer_new(struct pack_writer **out, const char *packs_dir,
		    uint64_t max_bytes) FERRY_MUST_USE;

/* True if an entry of stored_len bytes (and its index record) still fits
 * under the cap and the entry count limit. */
bool pack_writer_fits(const struct pack_writer *w, size_t stored_len);

/* Appends one entry.  The writer trusts its caller for the content: it
 * neither decodes stored nor hashes the chunk (pack_verify() does).
 * -EINVAL if type and lengths break pack_entry_validate()'s rules, -EFBIG
 * if the entry does not fit (see pack_writer_fits()), -EEXIST if id is
 * already in this pack; the writer stays usable after these.  A write
 * error is returned and sticks: every later call fails with it. */
int pack_writer_add(struct pack_writer *w, const struct sha256 *id, uint8_t type,
		    const void *stored, size_t stored_len, uint32_t raw_len) FERRY_MUST_USE;

size_t pack_writer_count(const struct pack_writer *w);

/* Writes index and footer, makes the pack and its .idx durable under their
 * final names (see the top of this file) and reports the pack's name and
 * size.  -EINVAL for a pack with no entries.  After this call, success or
 * not, only pack_writer_free() may be called; on failure the temporary file
 * is gone (a pack already renamed into place stays, without its .idx). */
int pack_writer_finish(struct pack_writer *w, struct sha256 *name_out,
		       uint64_t *size_out) FERRY_MUST_USE;

/* Accepts NULL.  An unfinished pack's temporary file is removed. */
void pack_writer_free(struct pack_writer *w);

/* Encodes one chunk for pack_writer_add(): compresses raw into scratch
 * (scratch_cap >= raw_len) and picks the entry type by codec_choose()'s
 * rule.  *stored_out then points into scratch (PACK_ENTRY_ZSTD) or at raw
 * itself (PACK_ENTRY_RAW).  -EFBIG for raw_len 0 or over LIMIT_CHUNK_MAX,
 * -ENOMEM. */
int pack_chunk_encode(uint8_t *type_out, const uint8_t **stored_out, size_t *stored_len_out,
		      struct codec *c, uint8_t *scratch, size_t scratch_cap, const void *raw,
		      size_t raw_len) FERRY_MUST_USE;

/* ---- index -------------------------------------------------------------- */

struct pack_index;

/* Parses a .idx file's bytes, strictly: magic, version, exact length,
 * trailing hash, and every rule in pack_format.h (sorted unique IDs,
 * entries tiling the pack).  The index copies what it needs; free with
 * pack_index_free().  -EBADMSG, -EFBIG (count over LIMIT_PACK_ENTRIES or
 * pack over LIMIT_PACK_BYTES), -ENOMEM. */
int pack_index_parse(struct pack_index **out, const void *idx_bytes, size_t n) FERRY_MUST_USE;

/* Reads (at most PACK_IDX_MAX_BYTES) and parses a .idx file. */
int pack_index_load(struct pack_index **out, const char *idx_path) FERRY_MUST_USE;

/* For a pack without its .idx: given the last PACK_FOOTER_LEN bytes of a
 * pack of pack_size bytes, reports how many trailing bytes (index plus
 * footer) to fetch for pack_index_parse_tail().  -EBADMSG, -EFBIG. */
int pack_footer_parse(uint64_t *tail_len_out, const void *footer, size_t n,
		      uint64_t pack_size) FERRY_MUST_USE;

/* Parses a pack's trailing index and footer (the last n bytes of a pack of
 * pack_size bytes) with the same rules as pack_index_parse().  name, if
 * not NULL, is recorded as the pack's name; it is not checked (only
 * hashing the pack can).  Free with pack_index_free(). */
int pack_index_parse_tail(struct pack_index **out, const void *tail, size_t n, uint64_t pack_size,
			  const struct sha256 *name) FERRY_MUST_USE;

/* Appends the .idx file for idx to out: how a lone pack gets its .idx
 * back (parse its tail, naming it by its verified hash, then write this
 * with fs_write_atomic()).  The bytes equal those the writer produced.
 * -ENOMEM, -EFBIG (out's cap). */
int pack_index_encode(struct buf *out, const struct pack_index *idx) FERRY_MUST_USE;

/* Accepts NULL. */
void pack_index_free(struct pack_index *idx);

size_t pack_index_count(const struct pack_index *idx);

/* The pack's name as the .idx states it (all zero from a tail parsed
 * without one), and the pack's size in bytes.  Owned by idx. */
const struct sha256 *pack_index_name(const struct pack_index *idx);
uint64_t pack_index_pack_size(const struct pack_index *idx);

/* The i-th entry in ID order, i < pack_index_count(). */
void pack_index_get(struct pack_entry *out, const struct pack_index *idx, size_t i);

/* The k-th entry in file order (by offset), k < pack_index_count(): the
 * order in which ranges of a pack are fetched or streamed. */
void pack_index_get_by_offset(struct pack_entry *out, const struct pack_index *idx, size_t k);

/* Binary search by chunk ID.  -ENOENT if the pack does not hold it. */
int pack_index_find(struct pack_entry *out, const struct pack_index *idx,
		    const struct sha256 *id) FERRY_MUST_USE;

/* True if both describe the same entries of a pack of the same size
 * (names are not compared). */
bool pack_index_same(const struct pack_index *a, const struct pack_index *b);

/* ---- verification ------------------------------------------------------- */

/* Checks everything about a pack and its .idx: the pack's SHA-256 against
 * the name in its file name and in the .idx, header, footer, embedded
 * index equal to the .idx, every entry header equal to its index record,
 * and every chunk decoding to its ID.  Reads the pack once, sequentially,
 * holding at most one entry (and its decoded chunk) plus the index in
 * memory.  A missing or broken .idx is a problem, and the pack's own index
 * is then used for the entries.  *chunks_out (may be NULL) receives the
 * number of entries found sound (header as indexed, chunk matching its ID).
 *
 * problem (may be NULL) is called once per problem with one line (which
 * does not repeat the pack's path; no newline) valid only during the
 * call; a negative return stops the check and is returned.  Otherwise
 * returns 0 if sound, -EBADMSG if any problem was reported, or an error
 * that stopped the check (the pack cannot be opened, -ENOMEM, I/O). */
int pack_verify(uint64_t *chunks_out, const char *pack_path, const char *idx_path,
		int (*problem)(const char *line, void *ctx), void *ctx) FERRY_MUST_USE;

#endif
