/*
 * delta.h — deltas between two versions of a file, and the list a release
 * keeps of them (meta/deltas).
 *
 * Textbook updates are mostly errata: a few lines change in many files.
 * Chunk dedupe re-sends every touched chunk; a zstd frame of the new file
 * compressed against the old one (`zstd --patch-from`, codec.h) is often
 * several times smaller.  A delta is stored in a pack as an entry of type
 * PACK_ENTRY_DELTA, named by the SHA-256 of its stored bytes, and a
 * release lists the deltas it offers in its git tree, in one or more blobs
 * under meta/deltas/ (manifests/release_deltas.h), each in this format:
 *
 *     ferry-deltas 1
 *     <base sha256> <target sha256> <delta id> <delta bytes> <target bytes>
 *     ...
 *
 * base and target are whole-file SHA-256s (as in the file pointers), the
 * delta id the pack entry's ID.  Lines are strictly sorted by (target,
 * base), so a pair appears once and the text is canonical; base differs
 * from target; delta bytes lie in 1..LIMIT_DELTA_BYTES, target bytes in
 * 1..LIMIT_DELTA_FILE_BYTES; at most LIMIT_DELTA_RECORDS lines.  A school
 * that holds a file whose hash is a listed base, and needs the target,
 * may fetch the delta instead of the target's missing chunks.
 *
 * Making deltas (publisher side, delta_make()) reads both versions from
 * the publisher's own packs through its chunk table, so memory is the two
 * files plus zstd's tables: callers bound files by a configured maximum
 * (DELTA_MAX_FILE_DEFAULT), never above LIMIT_DELTA_FILE_BYTES.
 */
#ifndef FERRY_PACKAGER_DELTA_H
#define FERRY_PACKAGER_DELTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "core/err.h"
#include "packager/chunk_ref.h"
#include "packager/chunk_table.h"
#include "packager/codec.h"

#define DELTA_LIST_MAGIC "ferry-deltas 1"
#define DELTA_DEPTH_DEFAULT 3u		   /* releases back a base may come from */
#define DELTA_MAX_FILE_DEFAULT (64u << 20) /* largest file a delta is made for */
/* A delta is kept only if it costs at most this many percent of the
 * chunks it replaces (entry headers counted on both sides). */
#define DELTA_KEEP_PCT 80u

struct delta_rec {
	struct sha256 base;   /* whole-file hash of the old version */
	struct sha256 target; /* whole-file hash of the new version */
	struct sha256 id;     /* the delta entry's ID: SHA-256 of its bytes */
	uint32_t size;	      /* the delta's stored bytes */
	uint32_t target_size; /* the new version's size */
};

/* A parsed or growing meta/deltas.  delta_list_init() / _release(). */
struct delta_list {
	struct delta_rec *recs;
	size_t n, cap;
};

void delta_list_init(struct delta_list *l);
void delta_list_release(struct delta_list *l);

/* Appends a record (any order; delta_list_sort() before formatting or
 * finding).  -EFBIG past LIMIT_DELTA_RECORDS, -ENOMEM. */
int delta_list_add(struct delta_list *l, const struct delta_rec *r) FERRY_MUST_USE;

/* Sorts by (target, base) and drops exact duplicate pairs (keeping the
 * first added). */
void delta_list_sort(struct delta_list *l);

/* Binary search of a sorted list; NULL if the pair is not listed. */
const struct delta_rec *delta_list_find(const struct delta_list *l, const struct sha256 *base,
					const struct sha256 *target);

/* Appends the canonical text of a sorted list. */
int delta_list_format(struct buf *out, const struct delta_list *l) FERRY_MUST_USE;

/* Parses meta/deltas strictly into a fresh list (initialised by the
 * call; empty on error).  -EBADMSG with a detail line, -EFBIG, -ENOMEM. */
int delta_list_parse(struct delta_list *out, const void *text, size_t n) FERRY_MUST_USE;

/* Reads whole files of past releases from the publisher's packs: every
 * chunk found through the chunk table, located in its pack's .idx (loaded
 * once per pack and kept), read, decoded and checked against its ID.
 * Free with delta_reader_free(). */
struct delta_reader;

int delta_reader_new(struct delta_reader **out, const struct chunk_table *table,
		     const char *packs_dir) FERRY_MUST_USE;
void delta_reader_free(struct delta_reader *dr);

/* Reads the file of size bytes and whole-file hash made of chunks into
 * out (replacing its contents; size must fit out's cap).  -ENOENT for a
 * chunk no pack holds, -EBADMSG for bytes that do not verify, -EFBIG,
 * -ENOMEM, I/O errors. */
int delta_file_read(struct buf *out, struct delta_reader *dr, const struct chunk_ref *chunks,
		    size_t nchunks, uint64_t size, const struct sha256 *hash) FERRY_MUST_USE;

/* The bytes a school holding the base would fetch for the target without
 * a delta: entry header plus stored bytes of each target chunk that is not
 * also a chunk of the base (each distinct chunk once). */
uint64_t delta_chunk_cost(const struct chunk_ref *target, size_t ntarget,
			  const struct chunk_ref *base, size_t nbase);

/* Compresses target against base at level and keeps the result only if
 * it is worth it: PACK_ENTRY_HEADER_LEN + size <= DELTA_KEEP_PCT percent
 * of chunk_cost, and size <= LIMIT_DELTA_BYTES.  Returns 1 with the frame
 * in out (replacing its contents), 0 when not worth it, or an error. */
int delta_make(struct buf *out, struct codec *c, const void *base, size_t nbase, const void *target,
	       size_t ntarget, uint64_t chunk_cost, int level) FERRY_MUST_USE;

#endif
