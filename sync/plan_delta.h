/*
 * plan_delta.h — deltas in a school's plan: per changed file, the cheaper
 * of its missing chunks or a delta from the version the school has.
 *
 * plan_deltas_choose() runs after plan_build().  It
 * reads the new release's meta/deltas (packager/delta.h), diffs the
 * installed release's files against the new one (inside the path
 * filters), and for each file changed in place whose old content is
 * wholly in the store and for which the list offers a delta from that
 * content to the new one, locates the delta entry in the sources' packs
 * (type PACK_ENTRY_DELTA, sizes as listed; one pass over the sources'
 * pack indexes for all chosen deltas, one index in memory at a time).  It
 * chooses the delta when reading it costs less than reading the file's
 * missing chunks (entry headers included: chunks are read as whole
 * entries).  The plan itself is not changed: the chunks a delta will
 * produce stay in its list, so that if the delta fails they are fetched
 * as usual.
 *
 * delta_apply_plan() (delta_apply.c) then reads each chosen delta's stored
 * bytes from the source's pack (no entry header: the index gave it),
 * checks them against the ID, rebuilds the base from the store, applies
 * the delta (memory: base + target, each at most LIMIT_DELTA_FILE_BYTES),
 * checks the whole-file hash, cuts the result at the pointer's chunk
 * lengths, checks every chunk ID, and stores the chunks the store lacks
 * (committed in batches like fetch.c) — so no batch of the plan
 * (plan_next_batch() skips stored chunks) holds them.  A read the link
 * cuts keeps the bytes that arrived and asks for the rest, retried by
 * fetch.c's rules (fetch.h): backoff with jitter, FETCH_ATTEMPTS failures
 * in a row without progress give the delta up, at most FETCH_MAX_RETRIES
 * retries in the delta phase.  A delta whose bytes do not verify is not
 * retried.  A delta that fails anywhere is logged and dropped (and, when
 * its reads failed for good, the source's later deltas too); fetch_plan()
 * then brings in their chunks.
 */
#ifndef FERRY_SYNC_PLAN_DELTA_H
#define FERRY_SYNC_PLAN_DELTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "manifests/mgit.h"
#include "manifests/pointer.h"
#include "packager/pack.h"
#include "sync/plan.h"
#include "sync/source.h"
#include "sync/store.h"

struct plan_delta {
	struct sha256 id;	  /* the delta entry */
	struct mf_pointer base;	  /* the version the store holds */
	struct mf_pointer target; /* the version wanted */
	int32_t source;		  /* where the entry is */
	const struct sha256 *pack;
	struct pack_entry at;
	uint64_t chunk_bytes; /* stored bytes of the missing chunks it replaces */
	uint64_t size;        /* the entry's stored bytes, as meta/deltas lists them */
	bool done;
};

struct plan_deltas {
	struct plan_delta *d;
	size_t n, cap;
	uint64_t delta_bytes;	 /* stored bytes of the chosen deltas */
	uint64_t replaced_bytes; /* stored bytes of the plan's chunks they produce */
};

void plan_deltas_init(struct plan_deltas *pd);
void plan_deltas_release(struct plan_deltas *pd);

/* Chooses deltas for p (see above).  old_tree NULL (nothing installed):
 * none.  A release without meta/deltas: none.  A malformed meta/deltas
 * is refused (-EBADMSG), as any malformed release metadata is. */
int plan_deltas_choose(struct plan_deltas *pd, const struct plan *p, struct store *st,
		       const struct mgit_oid *old_tree, const struct mgit_oid *new_tree,
		       const char *const *filters, struct source *src, size_t nsrc) FERRY_MUST_USE;

struct delta_apply_stats {
	uint64_t applied;	/* deltas applied and verified */
	uint64_t failed;	/* deltas dropped (their chunks are fetched instead) */
	uint64_t chunks;	/* chunks stored from deltas */
	uint64_t bytes_written; /* their stored bytes */
};

/* Applies the chosen deltas (see above).  log gets one line per retry and
 * per dropped delta.  should_stop (NULL: never) is asked before each delta
 * and each retry; once it answers true the rest are left undone (their
 * chunks stay in the plan) and 0 is returned.  Only the store's own
 * failures (-ENOMEM, -ENOSPC, I/O on the store) are returned; a bad or
 * unreadable delta is not an error. */
int delta_apply_plan(struct delta_apply_stats *out, struct plan_deltas *pd, struct plan *p,
		     struct store *st, struct source *src, size_t nsrc,
		     bool (*should_stop)(void *ctx), void (*log)(const char *line, void *ctx),
		     void *ctx) FERRY_MUST_USE;

#endif
