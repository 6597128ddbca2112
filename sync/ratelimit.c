/*
 * ratelimit.c — the shared token bucket (see ratelimit.h).
 *
 * State is one number, tat: the time at which everything taken so far has
 * gone out at the configured rate.  A take of n bytes moves tat to
 * max(tat, now) + n/rate and must wait until tat - burst_ns; the wait is
 * slept without the lock, so other threads take meanwhile and line up
 * behind it.
 */
#define _GNU_SOURCE
#include "sync/ratelimit.h"

#include <time.h>

#define NS_PER_S 1000000000ull
/* Sums of nanoseconds stay below this, so they never overflow (146 years). */
#define TIME_CAP (UINT64_MAX / 4)

static uint64_t mono_now(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void mono_sleep_until(void *ctx, uint64_t deadline)
{
	struct timespec ts = {(time_t)(deadline / NS_PER_S), (long)(deadline % NS_PER_S)};

	(void)ctx;
	/* Absolute: a signal that interrupts it costs no drift. */
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static uint64_t ns_for(uint64_t bytes, uint64_t rate)
{
	unsigned __int128 ns = (unsigned __int128)bytes * NS_PER_S / rate;

	return ns > TIME_CAP ? TIME_CAP : (uint64_t)ns;
}

void ratelimit_init(struct ratelimit *rl, uint64_t bytes_per_s, uint64_t burst)
{
	rl->lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	rl->rate = bytes_per_s;
	if (burst == 0) {
		burst = bytes_per_s / 4;
		if (burst < RATELIMIT_SLICE_BYTES)
			burst = RATELIMIT_SLICE_BYTES;
	}
	rl->burst_ns = bytes_per_s ? ns_for(burst, bytes_per_s) : 0;
	rl->tat = 0;
	rl->rem = 0;
	rl->clock.now_ns = mono_now;
	rl->clock.sleep_until_ns = mono_sleep_until;
	rl->clock.ctx = NULL;
}

void ratelimit_release(struct ratelimit *rl)
{
	pthread_mutex_destroy(&rl->lock);
}

void ratelimit_set_clock(struct ratelimit *rl, const struct ratelimit_clock *c)
{
	pthread_mutex_lock(&rl->lock);
	rl->clock = *c;
	rl->tat = 0;
	rl->rem = 0;
	pthread_mutex_unlock(&rl->lock);
}

void ratelimit_take(struct ratelimit *rl, size_t n)
{
	unsigned __int128 num;
	uint64_t now, cost, wake;
	struct ratelimit_clock c;

	if (rl->rate == 0 || n == 0)
		return;
	pthread_mutex_lock(&rl->lock);
	c = rl->clock;
	now = c.now_ns(c.ctx);
	/* cost = (n * 1e9 + rem) / rate, exactly, keeping the new remainder. */
	num = (unsigned __int128)n * NS_PER_S + rl->rem;
	rl->rem = (uint64_t)(num % rl->rate);
	num /= rl->rate;
	cost = num > TIME_CAP ? TIME_CAP : (uint64_t)num;
	if (rl->tat < now)
		rl->tat = now;
	rl->tat = rl->tat > TIME_CAP - cost ? TIME_CAP : rl->tat + cost;
	wake = rl->tat > rl->burst_ns ? rl->tat - rl->burst_ns : 0;
	pthread_mutex_unlock(&rl->lock);
	if (wake > now)
		c.sleep_until_ns(c.ctx, wake);
}

void ratelimit_sink_init(struct ratelimit_sink *s, struct ratelimit *rl, transport_sink_fn sink,
			 void *ctx)
{
	s->rl = rl;
	s->sink = sink;
	s->ctx = ctx;
}

int ratelimit_sink(const void *p, size_t n, void *ctx)
{
	struct ratelimit_sink *s = ctx;
	const uint8_t *q = p;

	if (s->rl->rate == 0)
		return s->sink(p, n, s->ctx);
	while (n) {
		size_t k = n < RATELIMIT_SLICE_BYTES ? n : RATELIMIT_SLICE_BYTES;
		int r;

		ratelimit_take(s->rl, k);
		r = s->sink(q, k, s->ctx);
		if (r < 0)
			return r;
		q += k;
		n -= k;
	}
	return 0;
}
