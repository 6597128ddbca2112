/*
 * test_rq_oracle.c — our RaptorQ against an independent implementation.
 *
 * Debian's liblcrq implements RFC 6330 for a single source block without
 * sub-blocks.  For several K (up to 1024, where lcrq is reliable) and
 * symbol sizes, this test checks that our encoder produces the same source
 * and repair symbols byte for byte, across small and very large ESIs, and
 * decodes in both directions: lcrq's symbols with our decoder, ours with
 * lcrq's.  liblcrq is GPL: it is linked into this test binary only
 * (tests/satellite/extra.mk), never into ferry or libferry.
 */
#include <lcrq.h>
#undef RQ_ESI_MAX /* lcrq.h defines it too, with the same value */

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "satellite/satellite.h"
#include "tests/harness.h"

/* liblcrq 0.0.1 keeps a few allocations past rq_free(); they are its own. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:liblcrq\n";
}

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint32_t rng_below(uint32_t n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 32) % n;
}

struct oracle_case {
	uint32_t k;
	uint16_t t;
	uint16_t short_by; /* the block ends this many bytes before K*T */
};

static const struct oracle_case cases[] = {
	{ 1, 4, 0 },    { 10, 16, 3 },  { 26, 1436, 700 }, { 101, 64, 0 },
	{ 300, 8, 5 },  { 1000, 16, 0 }, { 1024, 4, 1 },
};

/* One block in both codecs. */
struct pair {
	const struct oracle_case *c;
	size_t len;
	uint8_t *data;
	rq_t *lc;
	struct rq_encoder *enc;
};

static void pair_open(struct pair *p, const struct oracle_case *c)
{
	p->c = c;
	p->len = (size_t)c->k * c->t - c->short_by;
	p->data = mem_alloc((size_t)c->k * c->t);
	CHECK(p->data);
	for (size_t i = 0; i < p->len; i++)
		p->data[i] = (uint8_t)rng_below(256);
	memset(p->data + p->len, 0, c->short_by);
	p->lc = rq_init(p->len, c->t);
	CHECK(p->lc);
	CHECK_EQ_U(rq_Z(p->lc), 1);
	CHECK_EQ_U(rq_K(p->lc), c->k);
	CHECK_EQ_I(rq_encode(p->lc, p->data, p->len), 0);
	CHECK_OK(rq_encoder_new(&p->enc, p->data, p->len, c->k, c->t));
}

static void pair_close(struct pair *p)
{
	rq_free(p->lc);
	rq_encoder_free(p->enc);
	mem_free(p->data);
}

static void lcrq_symbol(uint8_t *out, struct pair *p, uint32_t esi)
{
	rq_pid_t pid = 0;

	pid = rq_pidsetesi(pid, esi);
	(void)rq_symbol(p->lc, &pid, out, 0);
}

static void test_same_symbols(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct pair p;
		uint32_t k = cases[i].k;
		AUTO_FREE uint8_t *a = mem_alloc(cases[i].t), *b = mem_alloc(cases[i].t);

		CHECK(a && b);
		pair_open(&p, &cases[i]);
		for (uint32_t j = 0; j < k + 60 + 40; j++) {
			/* every source ESI, the first 60 repair ESIs, then scattered ones
			 * up to the largest */
			uint32_t esi = j < k + 60 ? j : k + rng_below(RQ_ESI_MAX - k + 1);

			if (j == k + 99)
				esi = RQ_ESI_MAX;
			lcrq_symbol(a, &p, esi);
			CHECK_OK(rq_encoder_symbol(b, p.enc, esi));
			CHECK_MSG(memcmp(a, b, cases[i].t) == 0, "K=%u T=%u ESI %u differs", k,
				  cases[i].t, esi);
		}
		pair_close(&p);
	}
}

/* Picks K+extra distinct ESIs: a random share of the sources is lost and
 * replaced by repair symbols at random ESIs. */
static uint32_t pick_esis(uint32_t *esi, uint32_t k, uint32_t extra)
{
	uint32_t n = 0, lost = rng_below(k) + 1;

	for (uint32_t e = lost; e < k; e++)
		esi[n++] = e;
	while (n < k + extra) {
		uint32_t e = k + rng_below(1u << 20), dup = 0;

		for (uint32_t i = 0; i < n; i++)
			dup |= esi[i] == e;
		if (!dup)
			esi[n++] = e;
	}
	return n;
}

static void test_lcrq_to_ours(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct oracle_case *c = &cases[i];
		struct pair p;
		struct rq_decoder *dec;
		AUTO_FREE uint32_t *esi = mem_alloc((c->k + 2) * sizeof(*esi));
		AUTO_FREE uint8_t *sym = mem_alloc(c->t), *out = mem_alloc((size_t)c->k * c->t);
		uint32_t n;

		CHECK(esi && sym && out);
		pair_open(&p, c);
		n = pick_esis(esi, c->k, 2);
		CHECK_OK(rq_decoder_new(&dec, c->k, c->t));
		for (uint32_t j = 0; j < n; j++) {
			lcrq_symbol(sym, &p, esi[j]);
			CHECK_EQ_I(rq_decoder_add(dec, esi[j], sym, c->t), 1);
		}
		CHECK_OK(rq_decoder_decode(out, dec));
		CHECK_MSG(memcmp(out, p.data, p.len) == 0, "K=%u", c->k);
		rq_decoder_free(dec);
		pair_close(&p);
	}
}

static void test_ours_to_lcrq(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct oracle_case *c = &cases[i];
		struct pair p;
		uint32_t extra = 8, n;
		AUTO_FREE uint32_t *esi = mem_alloc((c->k + extra) * sizeof(*esi));
		AUTO_FREE uint8_t *enc = mem_alloc((size_t)(c->k + extra) * c->t);
		AUTO_FREE uint8_t *dec = NULL;

		CHECK(esi && enc);
		pair_open(&p, c);
		dec = mem_calloc((size_t)rq_KP(p.lc) + extra, c->t);
		CHECK(dec);
		n = pick_esis(esi, c->k, extra);
		for (uint32_t j = 0; j < n; j++)
			CHECK_OK(rq_encoder_symbol(enc + (size_t)j * c->t, p.enc, esi[j]));
		/* a fresh lcrq context, as a receiver would have */
		rq_free(p.lc);
		p.lc = rq_init(p.len, c->t);
		CHECK(p.lc);
		CHECK_EQ_I(rq_decode(p.lc, dec, enc, esi, n), 0);
		CHECK_MSG(memcmp(dec, p.data, p.len) == 0, "K=%u", c->k);
		pair_close(&p);
	}
}

int main(void)
{
	return t_main((struct t_case[]){
		{ "encoding symbols equal liblcrq's byte for byte", test_same_symbols },
		{ "liblcrq's symbols decode with our decoder", test_lcrq_to_ours },
		{ "our symbols decode with liblcrq", test_ours_to_lcrq },
		{ 0 },
	});
}
