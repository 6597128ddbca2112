/*
 * ratelimit.h — one bandwidth cap shared by every transfer of a run
 * (`ferry sync --bwlimit RATE`).
 *
 * A token bucket: bytes flow at bytes_per_s on average, and after a pause
 * up to `burst` bytes may go at once.  Every transfer of the run takes from
 * the same struct ratelimit, so four parallel downloads share the cap
 * instead of each getting it.  ratelimit_take() sleeps until the bytes may
 * go; the threads that take at once queue fairly, each waiting for its own
 * share.
 *
 * Internally it is the "virtual scheduling" form of the bucket (as in
 * GCRA): a theoretical time at which the link is free again moves forward
 * by n / rate for every take, with exact integer nanoseconds (the
 * remainder of each division carries over, so small takes lose nothing).
 * Time is CLOCK_MONOTONIC: a school box whose clock is set back by NTP at
 * 02:00 neither stalls nor bursts.  Tests inject a clock
 * (ratelimit_set_clock()) and check the schedule to the nanosecond.
 *
 *     struct ratelimit rl;
 *     ratelimit_init(&rl, 512 << 10, 0);      // 512 KiB/s, default burst
 *     struct ratelimit_sink rs;
 *     ratelimit_sink_init(&rs, &rl, my_sink, my_ctx);
 *     r = transport_read(t, path, off, len, ratelimit_sink, &rs);
 *     ...
 *     ratelimit_release(&rl);
 *
 * Thread-safe: any number of threads may take from one ratelimit (and use
 * sinks built on it) between init and release.
 */
#ifndef FERRY_SYNC_RATELIMIT_H
#define FERRY_SYNC_RATELIMIT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "sync/transport.h"

/* The default burst (burst = 0) is a quarter second of traffic, and never
 * below one slice. */
#define RATELIMIT_SLICE_BYTES (16u << 10)

/* A clock for tests: now_ns() is monotonic nanoseconds; sleep_until_ns()
 * returns once now_ns() >= deadline. */
struct ratelimit_clock {
	uint64_t (*now_ns)(void *ctx);
	void (*sleep_until_ns)(void *ctx, uint64_t deadline);
	void *ctx;
};

/* Caller-owned; the fields are private. */
struct ratelimit {
	pthread_mutex_t lock;
	uint64_t rate;	   /* bytes per second; 0 = unlimited */
	uint64_t burst_ns; /* how far ahead of now the schedule may run freely */
	uint64_t tat;	   /* when the link is free again, ns */
	uint64_t rem;	   /* carried remainder of n * 1e9 / rate */
	struct ratelimit_clock clock;
};

/* bytes_per_s 0 = unlimited (ratelimit_take() returns at once); burst 0 =
 * the default above.  Cannot fail. */
void ratelimit_init(struct ratelimit *rl, uint64_t bytes_per_s, uint64_t burst);
void ratelimit_release(struct ratelimit *rl);
/* Replaces the monotonic clock (tests); call before any take.  The bucket
 * starts full at the new clock's time. */
void ratelimit_set_clock(struct ratelimit *rl, const struct ratelimit_clock *c);
/* Accounts n bytes and sleeps until they may go. */
void ratelimit_take(struct ratelimit *rl, size_t n);

/* Throttles a transport read: pass ratelimit_sink with a struct
 * ratelimit_sink as its context.  Each piece goes on to the inner sink in
 * slices of RATELIMIT_SLICE_BYTES, each taken from rl first, so a 1 MiB
 * piece at 8 KiB/s trickles out rather than stalling for two minutes and
 * then bursting.  The inner sink's error is returned unchanged.  The
 * struct borrows rl and ctx; it owns nothing. */
struct ratelimit_sink {
	struct ratelimit *rl;
	transport_sink_fn sink;
	void *ctx;
};

void ratelimit_sink_init(struct ratelimit_sink *s, struct ratelimit *rl, transport_sink_fn sink,
			 void *ctx);
int ratelimit_sink(const void *p, size_t n, void *ctx);

#endif
