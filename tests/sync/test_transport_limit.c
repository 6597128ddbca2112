/*
 * test_transport_limit.c — the run's bandwidth cap as the transport
 * wrappers apply it (transport_opts.limit, sync/transport.c).
 *
 * On an injected clock that moves only when the cap sleeps: a 3 MB read
 * through a capped fake transport takes 3 s less the burst; two transports
 * opened with the same opts share one cap (3 MB + 3 MB = 6 s, not 3);
 * transport_fetch() is capped too; the sink sees pieces no larger than a
 * slice; and a transport opened without a cap never sleeps.
 */
#include <stdatomic.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"
#include "sync/ratelimit.h"
#include "sync/transport.h"
#include "tests/harness.h"

#define S 1000000000ull
#define MB 1000000u

struct fake_clock {
	_Atomic uint64_t now;
	_Atomic uint64_t sleeps;
};

static uint64_t fake_now(void *ctx)
{
	return atomic_load(&((struct fake_clock *)ctx)->now);
}

static void fake_sleep_until(void *ctx, uint64_t deadline)
{
	struct fake_clock *c = ctx;

	atomic_fetch_add(&c->sleeps, 1);
	if (atomic_load(&c->now) < deadline)
		atomic_store(&c->now, deadline);
}

struct counter {
	uint64_t bytes;
	size_t largest;
};

static int count_sink(const void *p, size_t n, void *ctx)
{
	struct counter *k = ctx;

	(void)p;
	k->bytes += n;
	if (n > k->largest)
		k->largest = n;
	return 0;
}

static void setup(uint8_t **data)
{
	transport_fake_reset();
	CHECK_OK(transport_register(&transport_fake_ops));
	*data = mem_calloc(1, 3 * MB);
	CHECK(*data);
	CHECK_OK(transport_fake_put("county", "packs/big.pack", *data, 3 * MB));
}

static void test_one_read(void)
{
	struct transport_opts o = { 0 };
	struct ratelimit rl;
	struct fake_clock c = { 0 };
	struct ratelimit_clock rc = { fake_now, fake_sleep_until, &c };
	struct transport *t;
	struct counter k = { 0 };
	uint8_t *data;

	setup(&data);
	ratelimit_init(&rl, MB, MB / 10);
	atomic_store(&c.now, 10 * S);
	ratelimit_set_clock(&rl, &rc);
	o.limit = &rl;
	CHECK_OK(transport_open(&t, "fake://county", &o));
	CHECK_OK(transport_read(t, "packs/big.pack", 0, 3 * MB, count_sink, &k));
	CHECK_EQ_U(k.bytes, 3 * MB);
	CHECK(k.largest <= RATELIMIT_SLICE_BYTES);
	/* 3 MB at 1 MB/s, less the 0.1 s burst that goes at once. */
	CHECK_EQ_U(atomic_load(&c.now) - 10 * S, 3 * S - S / 10);
	transport_close(t);
	ratelimit_release(&rl);
	mem_free(data);
}

static void test_shared(void)
{
	struct transport_opts o = { 0 };
	struct ratelimit rl;
	struct fake_clock c = { 0 };
	struct ratelimit_clock rc = { fake_now, fake_sleep_until, &c };
	struct transport *a, *b;
	struct counter k = { 0 };
	struct buf small;
	uint8_t *data;

	setup(&data);
	CHECK_OK(transport_fake_put("mirror", "packs/big.pack", data, 3 * MB));
	CHECK_OK(transport_fake_put("mirror", "heads/x", data, MB));
	ratelimit_init(&rl, MB, MB / 10);
	atomic_store(&c.now, 10 * S);
	ratelimit_set_clock(&rl, &rc);
	o.limit = &rl;
	CHECK_OK(transport_open(&a, "fake://county", &o));
	CHECK_OK(transport_open(&b, "fake://mirror", &o));
	CHECK_OK(transport_read(a, "packs/big.pack", 0, 3 * MB, count_sink, &k));
	CHECK_OK(transport_read(b, "packs/big.pack", 0, 3 * MB, count_sink, &k));
	/* One cap for both: 6 MB take 6 s (less the burst), not 3. */
	CHECK_EQ_U(atomic_load(&c.now) - 10 * S, 6 * S - S / 10);
	/* Whole-file fetches (heads, indexes) take from it as well. */
	buf_init(&small, 2 * MB);
	CHECK_OK(transport_fetch(b, "heads/x", &small, 2 * MB));
	CHECK_EQ_U(small.len, MB);
	CHECK_EQ_U(atomic_load(&c.now) - 10 * S, 7 * S - S / 10);
	buf_release(&small);
	transport_close(a);
	transport_close(b);
	ratelimit_release(&rl);
	mem_free(data);
}

static void test_uncapped(void)
{
	struct ratelimit rl;
	struct fake_clock c = { 0 };
	struct ratelimit_clock rc = { fake_now, fake_sleep_until, &c };
	struct transport *t;
	struct counter k = { 0 };
	uint8_t *data;

	setup(&data);
	/* A cap exists but this transport was opened without it. */
	ratelimit_init(&rl, MB, MB / 10);
	ratelimit_set_clock(&rl, &rc);
	CHECK_OK(transport_open(&t, "fake://county", NULL));
	CHECK_OK(transport_read(t, "packs/big.pack", 0, 3 * MB, count_sink, &k));
	CHECK_EQ_U(k.bytes, 3 * MB);
	CHECK_EQ_U(atomic_load(&c.sleeps), 0);
	CHECK(k.largest > RATELIMIT_SLICE_BYTES); /* the fake's own 64 KiB pieces */
	transport_close(t);
	ratelimit_release(&rl);
	mem_free(data);
}

int main(void)
{
	return t_main((struct t_case[]){
		{ "a capped read takes bytes / rate", test_one_read },
		{ "transports opened with one opts share the cap", test_shared },
		{ "no cap, no sleeping", test_uncapped },
		{ 0 } });
}
