/*
 * fetch.h — carrying out a plan: read ranges, verify, store, commit.
 *
 * The plan is carried out in its batches (plan.h): whole packs first,
 * for the whole release, then batch after batch, each located and read in
 * ranges; a batch is never more than PLAN_BATCH_CHUNKS chunks.
 *
 * Whole packs first (fetch_adopt.c).  A source's pack all of whose chunks
 * the plan needs becomes one of the store's packs as it is: streamed once,
 * every entry checked (header as indexed, payload decoding to its raw
 * length and hashing to its ID) on the verify pool's threads
 * (verify_pool.h), the whole file hashed against its name, each verified
 * entry appended at once to STORE/local/partial/<name>.pack, then fsynced,
 * renamed into packs/, given its .idx, and its chunks entered in one
 * transaction.  A run killed at any moment keeps the verified prefix: the
 * next run re-hashes it locally and reads from the source only the rest,
 * so a kill costs at most one read (256 KiB) and one
 * partial entry.  A pack the release's signed meta/packs lists
 * (fetch_opts.release_tree) is taken on one SHA-256 of the whole file
 * against its listed name instead of per entry: hashing on one thread while
 * the next piece is read and written on another, its trailing index checked
 * against the .idx, durable together with the other packs checked so far.
 *
 * Then the rest, in ranges.  Each request is read as one byte range of a source's pack and parsed as
 * it streams: every wanted entry's header must match what the index
 * promised, its payload must decode to exactly its raw length and hash to
 * its ID (pack_entry_decode), and only then is it appended to the store's
 * own pack.  Every FETCH_BATCH_BYTES the pack is finished (fsynced,
 * renamed) and its chunks entered into the database in one transaction, so
 * a power cut loses at most the batch in flight and the next run re-reads
 * only that.
 *
 * A link that fails mid-range keeps what arrived — verified chunks, and
 * the part of the entry in flight — and asks for the rest from the byte
 * where it stopped.  A request is retried after a random wait of
 * FETCH_BACKOFF_MS doubled on each failure in a row, times a factor in
 * [0.5, 1.5) (jitter, so schools cut off together do not return
 * together); an attempt that brought bytes starts the doubling over, one
 * that failed FETCH_ATTEMPTS times in a row without bringing any gives the
 * source up for the run, and the chunks go to the next source that has
 * them.  One fetch_plan() retries at most FETCH_MAX_RETRIES times in all.
 * delta_apply.c reads the plan's deltas by the same rules, with its own
 * FETCH_MAX_RETRIES (plan_delta.h).
 * A source that serves a chunk that does not verify is reported and not
 * used again in this run.
 *
 * Stopping.  fetch_opts.should_stop is asked before each request and after
 * each committed batch; once it answers true the fetch ends with
 * -ECANCELED, everything verified so far committed.
 */
#ifndef FERRY_SYNC_FETCH_H
#define FERRY_SYNC_FETCH_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "sync/plan.h"
#include "sync/source.h"
#include "sync/store.h"

#define FETCH_BATCH_BYTES (8u << 20)
#define FETCH_ATTEMPTS 3
#define FETCH_BACKOFF_MS 500u
#define FETCH_MAX_RETRIES 1000u

struct fetch_stats {
	uint64_t chunks;        /* chunks verified and stored */
	uint64_t bytes_written; /* their stored bytes */
	uint64_t bad_chunks;    /* chunks that failed verification */
	unsigned batches;       /* plan batches worked through */
	uint64_t unlocated;     /* chunks of those batches no source offered */
	uint64_t missing_chunks; /* the plan's chunks the store still lacks after */
	uint64_t missing_bytes;  /* ... and their stored bytes */
};

struct fetch_opts {
	/* One line per event worth a log line (retries, bad sources). */
	void (*log)(const char *line, void *ctx);
	void (*progress)(uint64_t done, uint64_t total, void *ctx);
	/* True: stop at the next request or batch boundary (NULL: never). */
	bool (*should_stop)(void *ctx);
	void *ctx;
	/* The tree of the release being installed, its commit's signature
	 * already checked (NULL: none).  Packs its meta/packs lists are
	 * adopted on one hash of the whole pack (fetch_adopt.c). */
	const struct mgit_oid *release_tree;
};

/* Sleeps before a retry after fails failures in a row: FETCH_BACKOFF_MS
 * doubled per failure (at most 8 doublings), times a factor in [0.5, 1.5)
 * drawn from *jitter (xorshift state; 0 seeds it from the clock and the
 * process ID).  Shared by the chunk fetch and delta_apply.c. */
void fetch_backoff_sleep(uint64_t *jitter, unsigned fails);

/* Fetches the chunks of p (built by plan_build()) the sources offer, batch
 * by batch.  Returns 0 when it went through every batch (chunks no source
 * offered are counted in out->missing_*: the caller reports partial);
 * -ECANCELED when should_stop ended it (out->missing_* counted too). */
int fetch_plan(struct fetch_stats *out, struct plan *p, struct store *st, struct source *src,
	       size_t nsrc, const struct fetch_opts *o) FERRY_MUST_USE;

#endif
