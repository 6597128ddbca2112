/*
 * plan.h — what a release costs a school, and from where to get it.
 *
 * plan_build() diffs the new release against the installed one (only
 * under files/, only inside the subscription's path filters), reads each
 * changed file's pointer, and lists the chunks the store does not hold,
 * each once, in the store database's temporary plan list (db.h) — not in
 * memory: it counts the whole release exactly (files, chunks, raw and
 * stored bytes) at constant memory, however many chunks it has.
 *
 * The chunks are then worked through in batches of at most
 * PLAN_BATCH_CHUNKS: plan_next_batch() loads the next ones the store still
 * lacks (in the order the walk found them, so a batch keeps the locality
 * of its files' packs), sorted by ID.  plan_locate() finds each of the
 * batch's chunks in the sources' pack indexes, cheapest source first,
 * loading one pack index at a time; plan_requests() groups them into byte
 * ranges of packs: neighbouring entries are coalesced when the gap
 * between them costs less than another request would (gaps up to
 * PLAN_GAP_BYTES are read and thrown away; a pack whose gaps are all
 * that small is read in one request).  A chunk stored meanwhile (by an earlier batch, a
 * delta, or a pack adopted whole) is in no later batch.  Memory is thus bounded by the batch, one pack index, and the
 * database's caches, not by the catalog.
 *
 * FERRY_PLAN_BATCH (environment, 1..PLAN_BATCH_CHUNKS) sets a smaller
 * batch: for tests, which show several batches on a small catalog.
 *
 * PLAN_GAP_BYTES is the price of one more request counted in bytes of the
 * link: a round trip of 0.6-1 s (satellite, 2G/3G) plus ~0.5 KiB of HTTP
 * headers each way is 5-8 KiB at 64 kbit/s and 20-30 KiB at 256 kbit/s.
 * Reading a gap larger than that costs more time than the request it
 * saves; a larger gap (the old 256 KiB) was 32 s of a 64 kbit/s link.
 *
 * Every size comes from signed metadata (pointers) and is bounded before a
 * byte is fetched; paths are checked (mf_path_check) before they are used.
 */
#ifndef FERRY_SYNC_PLAN_H
#define FERRY_SYNC_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "manifests/mgit.h"
#include "packager/pack.h"
#include "sync/source.h"
#include "sync/store.h"

#define PLAN_GAP_BYTES (24u << 10)
#define PLAN_BATCH_CHUNKS 65536u

struct plan_chunk {
	struct sha256 id;
	uint32_t raw_len;
	uint32_t stored_len;
	int32_t source;        /* index of the source found to hold it, -1 none */
	struct pack_entry at;  /* where, in that source's pack */
	const struct sha256 *pack;
	bool done;
};

struct plan_request {
	int32_t source;
	const struct sha256 *pack;
	uint64_t off, len;
	size_t first, count;   /* chunks[first..first+count) sorted by offset */
};

struct plan {
	struct store *st;
	struct plan_chunk *chunks; /* the batch: missing chunks, sorted by ID */
	size_t n, cap;
	size_t *order;             /* chunk indexes grouped by request */
	struct plan_request *reqs;
	size_t nreqs;
	/* The whole release, from plan_build(): */
	uint64_t files;            /* files changed or added */
	uint64_t total;            /* missing chunks, each once */
	uint64_t raw_bytes;        /* their raw bytes */
	uint64_t stored_bytes;     /* what fetching them costs */
	/* The batches: */
	size_t batch_max;          /* at most this many chunks in one */
	int64_t next_seq;          /* the plan list's place of the next batch */
	unsigned batches;          /* batches loaded so far */
	uint64_t unlocated;        /* of the batch: chunks no source offers */
};

void plan_init(struct plan *p);
void plan_release(struct plan *p);

/* filters: NULL-terminated path prefixes (e.g. "七年级/"), or NULL for all.
 * Replaces the store's plan list; the plan keeps st for the batches. */
int plan_build(struct plan *p, struct store *st, const struct mgit_oid *old_tree,
	       const struct mgit_oid *new_tree, const char *const *filters) FERRY_MUST_USE;
/* Loads the next batch (replacing the one before) and starts the walk of
 * the list over when it ends: @return the batch's chunk count, 0 when the
 * list is through (the next call starts again from its beginning). */
int plan_next_batch(struct plan *p) FERRY_MUST_USE;
/* The batch's chunk with this ID, or NULL if the batch does not hold it. */
struct plan_chunk *plan_find(struct plan *p, const struct sha256 *id);
/* Whether the release needs every chunk of idx and the store holds none of
 * them (whole-pack adoption, fetch_adopt.c): 1 yes, 0 no, or an error. */
int plan_wants_pack(struct plan *p, const struct pack_index *idx) FERRY_MUST_USE;
int plan_locate(struct plan *p, struct source *src, size_t nsrc) FERRY_MUST_USE;
int plan_requests(struct plan *p) FERRY_MUST_USE;

#endif
