/*
 * test_ratelimit.c — the shared bandwidth cap.
 *
 * Most cases run on an injected clock that only moves when the limiter
 * sleeps, so the schedule is checked to the nanosecond: 3 MB at 1 MB/s,
 * bursts after a pause (and no more than the burst however long the
 * pause), exact accounting of many tiny takes, four threads sharing one
 * cap, unlimited never sleeping, and the throttling sink in front of a
 * transport.  One case uses the real monotonic clock, loosely.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/mem.h"
#include "sync/ratelimit.h"
#include "sync/transport.h"
#include "tests/harness.h"

#define S 1000000000ull

/* A clock that stands still until someone sleeps. */
struct fake_clock {
	_Atomic uint64_t now;
	_Atomic uint64_t sleeps;
};

static uint64_t fake_now(void *ctx)
{
	struct fake_clock *c = ctx;

	return atomic_load(&c->now);
}

static void fake_sleep_until(void *ctx, uint64_t deadline)
{
	struct fake_clock *c = ctx;
	uint64_t now = atomic_load(&c->now);

	atomic_fetch_add(&c->sleeps, 1);
	while (now < deadline && !atomic_compare_exchange_weak(&c->now, &now, deadline))
		;
}

static void use_fake_clock(struct ratelimit *rl, struct fake_clock *c, uint64_t start)
{
	struct ratelimit_clock rc = {fake_now, fake_sleep_until, c};

	atomic_store(&c->now, start);
	atomic_store(&c->sleeps, 0);
	ratelimit_set_clock(rl, &rc);
}

static void test_three_mb(void)
{
	static const struct {
		uint64_t rate, burst;
		size_t take, count;
		uint64_t want_ns; /* when the last take may go */
	} cases[] = {
	    /* 3 MB at 1 MB/s: 3 s less the burst that goes at once. */
	    {1000000, 100000, 3000, 1000, 3 * S - S / 10},
	    {1000000, 100000, 3000000, 1, 3 * S - S / 10},
	    {1000000, 1, 1000, 3000, 3 * S - 1000},
	    /* 1 MiB at 1 MiB/s, default burst (a quarter of a second). */
	    {1u << 20, 0, 4096, 256, S - S / 4},
	    /* Rounding: 1 byte at 3 B/s is 333333333.33 ns; 3000 of them are
	     * exactly 1000 s, less a burst of 3 bytes (1 s). */
	    {3, 3, 1, 3000, 999 * S},
	    /* 7 bytes at 1 GB/s, each 7 ns: 10^6 takes, 7 ms. */
	    {1000000000, 16384, 7, 1000000, 7000000 - 16384},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ratelimit rl;
		struct fake_clock c;

		ratelimit_init(&rl, cases[i].rate, cases[i].burst);
		use_fake_clock(&rl, &c, 1000 * S);
		for (size_t k = 0; k < cases[i].count; k++)
			ratelimit_take(&rl, cases[i].take);
		CHECK_MSG(atomic_load(&c.now) - 1000 * S == cases[i].want_ns, "case %zu: %llu ns",
			  i, (unsigned long long)(atomic_load(&c.now) - 1000 * S));
		ratelimit_release(&rl);
	}
}

static void test_burst(void)
{
	struct ratelimit rl;
	struct fake_clock c;

	ratelimit_init(&rl, 1000000, 500000);
	use_fake_clock(&rl, &c, 5 * S);
	/* A full bucket: half a second's worth at once. */
	ratelimit_take(&rl, 500000);
	CHECK_EQ_U(atomic_load(&c.sleeps), 0);
	CHECK_EQ_U(atomic_load(&c.now), 5 * S);
	/* Empty now: one more byte waits its microsecond. */
	ratelimit_take(&rl, 1);
	CHECK_EQ_U(atomic_load(&c.sleeps), 1);
	CHECK_EQ_U(atomic_load(&c.now), 5 * S + 1000);
	/* A long pause refills the bucket, to the burst and no further. */
	atomic_store(&c.now, 100 * S);
	ratelimit_take(&rl, 600000);
	CHECK_EQ_U(atomic_load(&c.sleeps), 2);
	CHECK_EQ_U(atomic_load(&c.now), 100 * S + S / 10);
	/* A partly refilled bucket: 0.2 s later, 200000 bytes go free. */
	atomic_store(&c.now, atomic_load(&c.now) + S / 5);
	ratelimit_take(&rl, 200000);
	CHECK_EQ_U(atomic_load(&c.sleeps), 2);
	ratelimit_take(&rl, 1000);
	CHECK_EQ_U(atomic_load(&c.sleeps), 3);
	/* A take larger than the burst waits for what exceeds it. */
	atomic_store(&c.now, 200 * S);
	ratelimit_take(&rl, 2000000);
	CHECK_EQ_U(atomic_load(&c.now), 200 * S + 3 * S / 2);
	ratelimit_release(&rl);
}

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_unlimited(void)
{
	struct ratelimit rl;
	struct fake_clock c;
	double t0;

	ratelimit_init(&rl, 0, 0);
	use_fake_clock(&rl, &c, S);
	for (int i = 0; i < 1000; i++)
		ratelimit_take(&rl, SIZE_MAX / 2);
	CHECK_EQ_U(atomic_load(&c.sleeps), 0);
	CHECK_EQ_U(atomic_load(&c.now), S);
	ratelimit_release(&rl);
	/* And on the real clock: a terabyte costs nothing. */
	ratelimit_init(&rl, 0, 1);
	t0 = seconds();
	for (int i = 0; i < 1000; i++)
		ratelimit_take(&rl, (size_t)1 << 30);
	CHECK(seconds() - t0 < 0.5);
	ratelimit_release(&rl);
}

/* The real monotonic clock: 1.5 MB at 1 MB/s with a 0.5 MB burst is a
 * second of sleeping.  Loose bounds for a busy machine; the exact schedule
 * is checked above. */
static void test_real_clock(void)
{
	struct ratelimit rl;
	double t0, dt;

	ratelimit_init(&rl, 1000000, 500000);
	t0 = seconds();
	for (int i = 0; i < 150; i++)
		ratelimit_take(&rl, 10000);
	dt = seconds() - t0;
	printf("# 1.5 MB at 1 MB/s with a 0.5 MB burst took %.3f s (ideal 1.000 s)\n", dt);
	CHECK_MSG(dt >= 0.95 && dt < 3.0, "%.3f s", dt);
	ratelimit_release(&rl);
}

struct taker {
	struct ratelimit *rl;
	int takes;
};

static void *taker_main(void *arg)
{
	struct taker *tk = arg;

	for (int i = 0; i < tk->takes; i++)
		ratelimit_take(tk->rl, 1000);
	return NULL;
}

/* Four threads share one cap: together 100 MB at 1 MB/s take 100 s (less the
 * burst), not the 25 s four private caps would allow; and no take is lost
 * to a race, or the total would come out short. */
static void test_threads_share(void)
{
	struct ratelimit rl;
	struct fake_clock c;
	struct taker tk[4];
	pthread_t th[4];

	ratelimit_init(&rl, 1000000, 1000);
	use_fake_clock(&rl, &c, 0);
	for (int i = 0; i < 4; i++) {
		tk[i] = (struct taker){&rl, 25000};
		CHECK(pthread_create(&th[i], NULL, taker_main, &tk[i]) == 0);
	}
	for (int i = 0; i < 4; i++)
		CHECK(pthread_join(th[i], NULL) == 0);
	CHECK_EQ_U(atomic_load(&c.now), 100 * S - S / 1000);
	ratelimit_release(&rl);
}

struct inner {
	struct buf b;
	size_t slices, max_slice;
	size_t fail_at; /* return -EIO on this slice (1-based; 0: never) */
	struct fake_clock *clock;
	uint64_t last_now;
	bool in_order; /* each slice arrived no earlier than the one before */
};

static int inner_sink(const void *p, size_t n, void *ctx)
{
	struct inner *in = ctx;
	uint64_t now = atomic_load(&in->clock->now);

	in->slices++;
	if (n > in->max_slice)
		in->max_slice = n;
	if (now < in->last_now)
		in->in_order = false;
	in->last_now = now;
	if (in->fail_at && in->slices == in->fail_at)
		return -EIO;
	return buf_append(&in->b, p, n);
}

static void test_sink(void)
{
	static uint8_t data[100000];
	struct ratelimit rl;
	struct fake_clock c;
	struct ratelimit_sink rs;
	struct inner in = {.clock = &c, .in_order = true};

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 31 + i / 256);
	buf_init(&in.b, 1 << 20);
	/* 100000 bytes at 10000 B/s with a 16384-byte burst: 10 s less 1.6384 s. */
	ratelimit_init(&rl, 10000, 16384);
	use_fake_clock(&rl, &c, 0);
	ratelimit_sink_init(&rs, &rl, inner_sink, &in);
	CHECK_OK(ratelimit_sink(data, 60000, &rs));
	CHECK_OK(ratelimit_sink(data + 60000, 40000, &rs));
	CHECK_EQ_U(in.b.len, sizeof(data));
	CHECK(memcmp(in.b.data, data, sizeof(data)) == 0);
	CHECK(in.max_slice <= RATELIMIT_SLICE_BYTES);
	CHECK_EQ_U(in.slices, 4 + 3);
	CHECK(in.in_order);
	CHECK_EQ_U(atomic_load(&c.now), 10 * S - 1638400000ull);
	/* The inner sink's error comes back, and stops the slicing. */
	in.fail_at = in.slices + 2;
	CHECK_EQ_I(ratelimit_sink(data, 60000, &rs), -EIO);
	CHECK_EQ_U(in.slices, in.fail_at);
	ratelimit_release(&rl);
	/* Unlimited: pieces pass whole. */
	ratelimit_init(&rl, 0, 0);
	in.fail_at = 0;
	in.slices = 0;
	CHECK_OK(ratelimit_sink(data, sizeof(data), &rs));
	CHECK_EQ_U(in.slices, 1);
	buf_release(&in.b);
	ratelimit_release(&rl);
}

/* The sink in front of a real transport read: the fake serves 300000
 * bytes at 100000 B/s. */
static void test_sink_throttles_transport(void)
{
	AUTO_FREE uint8_t *data = mem_alloc(300000);
	struct transport *t = NULL;
	struct ratelimit rl;
	struct fake_clock c;
	struct ratelimit_sink rs;
	struct inner in = {.clock = &c, .in_order = true};

	CHECK(data);
	for (size_t i = 0; i < 300000; i++)
		data[i] = (uint8_t)(i ^ i >> 9);
	CHECK_OK(transport_register(&transport_fake_ops));
	CHECK_OK(transport_fake_put("sat", "packs/ab/ab01.pack", data, 300000));
	CHECK_OK(transport_open(&t, "fake://sat", NULL));
	buf_init(&in.b, 1 << 20);
	ratelimit_init(&rl, 100000, 20000);
	use_fake_clock(&rl, &c, 0);
	ratelimit_sink_init(&rs, &rl, inner_sink, &in);
	CHECK_OK(transport_read(t, "packs/ab/ab01.pack", 0, 300000, ratelimit_sink, &rs));
	CHECK_EQ_U(in.b.len, 300000);
	CHECK(memcmp(in.b.data, data, 300000) == 0);
	CHECK_EQ_U(atomic_load(&c.now), 3 * S - S / 5);
	CHECK(in.max_slice <= RATELIMIT_SLICE_BYTES);
	transport_close(t);
	transport_fake_reset();
	buf_release(&in.b);
	ratelimit_release(&rl);
}

int main(void)
{
	return t_main((struct t_case[]){
	    {"3 MB at 1 MB/s takes 3 s less the burst", test_three_mb},
	    {"a pause refills the burst, and no more", test_burst},
	    {"unlimited never sleeps", test_unlimited},
	    {"the real monotonic clock, loosely", test_real_clock},
	    {"threads share one cap", test_threads_share},
	    {"the sink slices, throttles and passes errors on", test_sink},
	    {"the sink throttles a transport read", test_sink_throttles_transport},
	    {0}});
}
