/*
 * verify_pool.h — checking many chunks at once on a few threads.
 *
 * Verifying a chunk (decode its zstd frame, hash the result) costs far more
 * than reading it from a stick or a page cache, so a sync that checks every
 * chunk on one thread runs at the speed of one core.  A vpool keeps a few
 * worker threads, each with its own codec and decode buffer (codecs are not
 * thread-safe), and runs a batch of independent tasks on them and on the
 * calling thread: vpool_run() hands out task numbers 0..n-1 in order, one at
 * a time, and returns when every task has finished.
 *
 * Tasks must not depend on each other's order (task 0 starts first, which
 * lets a caller put one long sequential job there, such as hashing a whole
 * segment of a pack).  The first task to fail stops the handing out; the
 * batch returns that task's error and its detail line (err_detail() in the
 * calling thread), whatever thread it ran on.
 *
 * Memory: LIMIT_CHUNK_MAX bytes of decode buffer plus one codec per thread,
 * the calling thread included.
 */
#ifndef FERRY_SYNC_VERIFY_POOL_H
#define FERRY_SYNC_VERIFY_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "packager/codec.h"

/* At most this many threads, the calling one included. */
#define VPOOL_MAX_THREADS 4u

/* What a task may use on the thread it runs on. */
struct vpool_worker {
	struct codec *codec;
	uint8_t *raw; /* LIMIT_CHUNK_MAX bytes */
};

/* Runs task i; returns 0 or a negative errno (with err_set()). */
typedef int (*vpool_task_fn)(struct vpool_worker *w, size_t i, void *ctx);

struct vpool;

/* Starts a pool of threads threads in all (0: one per online CPU), capped at
 * VPOOL_MAX_THREADS; threads - 1 workers are started.  Free with
 * vpool_free().  -ENOMEM, or -EAGAIN if a thread cannot be started. */
int vpool_new(struct vpool **out, unsigned threads) FERRY_MUST_USE;

/* Runs tasks 0..n-1 and waits for all of them.  Not reentrant: one batch at
 * a time, from the thread that made the pool. */
int vpool_run(struct vpool *p, size_t n, vpool_task_fn fn, void *ctx) FERRY_MUST_USE;

/* Stops the workers and frees everything.  Accepts NULL. */
void vpool_free(struct vpool *p);

#endif
