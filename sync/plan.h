/*
 * plan.h — what a release costs a school, and from where to get it.
 *
 * plan_build() diffs the new release against the installed one (only
 * under files/, only inside the subscription's path filters), reads each
 * changed file's pointer, and lists the chunks the store does not hold —
 * sorted, each once.  plan_locate() then finds each missing chunk in the
 * sources' pack indexes, cheapest source first, and plan_requests() groups
 * them into byte ranges of packs: neighbouring entries are coalesced when
 * the gap between them costs less than another request would (gaps up to
 * PLAN_GAP_BYTES are read and thrown away), and a pack that is mostly
 * needed is read whole.
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
#define PLAN_WHOLE_PACK_PCT 50u

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
	struct plan_chunk *chunks; /* missing chunks */
	size_t n, cap;
	size_t *order;             /* chunk indexes grouped by request */
	struct plan_request *reqs;
	size_t nreqs;
	uint64_t files;            /* files changed or added */
	uint64_t raw_bytes;        /* their missing raw bytes */
	uint64_t stored_bytes;     /* what fetching them costs */
	uint64_t unlocated;        /* chunks no source offers */
};

void plan_init(struct plan *p);
void plan_release(struct plan *p);

/* filters: NULL-terminated path prefixes (e.g. "七年级/"), or NULL for all. */
int plan_build(struct plan *p, struct store *st, const struct mgit_oid *old_tree,
	       const struct mgit_oid *new_tree, const char *const *filters) FERRY_MUST_USE;
/* The missing chunk with this ID (chunks are sorted by ID once
 * plan_build() returns), or NULL if the plan does not need it. */
struct plan_chunk *plan_find(struct plan *p, const struct sha256 *id);
int plan_locate(struct plan *p, struct source *src, size_t nsrc) FERRY_MUST_USE;
int plan_requests(struct plan *p) FERRY_MUST_USE;

#endif
