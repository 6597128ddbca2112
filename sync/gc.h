/*
 * gc.h — `ferry gc STORE`: drop what no kept release needs.
 *
 * Kept: every chunk of each channel's installed release under the filters
 * it was installed for, and of the release being fetched (pending) under
 * the subscription's filters, so an interrupted night loses nothing to gc
 * while a narrowed subscription frees what it no longer takes.  A pack holding no kept chunk is removed; a pack whose kept
 * chunks fill less than GC_REPACK_PCT percent of it is repacked (its kept
 * chunks, each verified again, into a new pack) and removed.
 *
 * Crash-safe in this order: a new pack is complete and fsynced; then one
 * database transaction swaps the old pack's rows for the new one's; only
 * then are the old files unlinked.  Files no row names (left by a crash
 * after that transaction, or by a killed sync before its batch commit) are
 * removed first, under the store lock, so nothing is in flight.
 *
 * Packs part-adopted by a sync (STORE/local/partial/) are what lets a night
 * cut short resume a whole-pack read; they are kept while any subscribed
 * channel has a release pending and removed once none has (everything
 * they could finish is installed or no longer wanted).
 */
#ifndef FERRY_SYNC_GC_H
#define FERRY_SYNC_GC_H

#include <stdint.h>

#include "core/err.h"

#define GC_REPACK_PCT 50u

struct gc_result {
	uint64_t live_chunks;
	uint64_t packs_removed;
	uint64_t packs_repacked;
	uint64_t bytes_before;
	uint64_t bytes_after;
	uint64_t partial_removed; /* part-adopted packs removed, and their bytes */
	uint64_t partial_bytes;
};

int gc_run(struct gc_result *out, const char *store) FERRY_MUST_USE;

#endif
