/*
 * fetch_int.h — what the parts of a fetch share (fetch.c reads ranges of
 * packs and re-packs the chunks it wants; fetch_adopt.c takes whole packs
 * as they are).  Not a public header: see fetch.h.
 */
#ifndef FERRY_SYNC_FETCH_INT_H
#define FERRY_SYNC_FETCH_INT_H

#include "sync/fetch.h"
#include "sync/verify_pool.h"

/* The packs the release's signed meta/packs lists (fetch_signed.c),
 * sorted by name. */
struct signed_pack {
	struct sha256 name;
	uint64_t size;
};

struct signed_packs {
	struct signed_pack *v;
	size_t n, cap;
};

struct fetch {
	struct plan *p;
	struct store *st;
	struct source *src;
	size_t nsrc;
	const struct fetch_opts *o;
	struct fetch_stats *stats;
	struct codec *codec;
	uint8_t *raw;
	struct pack_writer *pw;
	struct vpool *pool;
	uint64_t batch_bytes;
	uint64_t done_bytes, total_bytes;
	unsigned retries;
	uint64_t jitter; /* xorshift state for the backoff */
	struct signed_packs signed_packs; /* fetch_adopt.c's, for the run */
};

void fetch_log(struct fetch *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Whether the run's should_stop hook asks to stop now. */
bool fetch_stopping(struct fetch *f);

/* Waits before a retry: fetch_backoff_sleep() on the fetch's jitter. */
void fetch_backoff(struct fetch *f, unsigned fails);

/* Reports progress after done_bytes grew. */
void fetch_progress(struct fetch *f);

/*
 * Adopts, from every usable source, each pack all of whose chunks the plan
 * still needs (fetch_adopt.c).  Returns 0, or an error of the store itself
 * (-ENOMEM, -ENOSPC, -EIO writing the store): a source that fails or serves
 * a bad chunk is reported, marked unusable, and left to the ranged fetch.
 */
int fetch_adopt_packs(struct fetch *f) FERRY_MUST_USE;

/* Reads the meta/packs of the release tree in g (bounded, strictly
 * parsed) into s, which starts zeroed.  A tree without meta/packs gives an
 * empty list.  -ENOMEM, or -EBADMSG/-EFBIG for a list that does not parse
 * (s is then empty).  Release s with signed_packs_release(). */
int signed_packs_load(struct signed_packs *s, struct mgit *g,
		      const struct mgit_oid *tree) FERRY_MUST_USE;

/* True if the list names this pack with exactly this size. */
bool signed_packs_has(const struct signed_packs *s, const struct sha256 *name, uint64_t size);

/* Frees the list and leaves s empty. */
void signed_packs_release(struct signed_packs *s);

#endif
