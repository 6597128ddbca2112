/*
 * test_rq.c — unit tests of the RaptorQ codec (satellite/rq_*.c).
 *
 * Checks the RFC tables, the GF(256) arithmetic and that every SIMD
 * implementation matches the portable one, a pinned known answer for the
 * encoder (verified against liblcrq when it was recorded; test_rq_oracle
 * re-checks against liblcrq itself), round trips with random erasures,
 * decoding statistics with K and K+2 symbols, partitioning and the OTI and
 * payload ID encodings, hostile decoder input, and unwinding when any
 * allocation fails.
 */
#include <stdlib.h>
#include <string.h>

#include "core/codec_text.h"
#include "core/crypto.h"
#include "core/limits.h"
#include "core/mem.h"
#include "satellite/rq_int.h"
#include "satellite/satellite.h"
#include "tests/harness.h"

#define KNOWN_ANSWER_HEX "7a103308e2319bdc96e2010204802b2a528166452014ee24ab658e8cbbe50480"

/* Deterministic test randomness (xorshift64*). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static uint32_t rng_below(uint32_t n)
{
	return (uint32_t)(rng() % n);
}

static void fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rng();
}

static bool is_prime(uint32_t n)
{
	for (uint32_t q = 2; q * q <= n; q++)
		if (n % q == 0)
			return false;
	return n > 1;
}

static void test_tables(void)
{
	CHECK_EQ_U(RQ_SYS_ROWS, ARRAY_SIZE(rq_sys_table));
	for (size_t i = 0; i < RQ_SYS_ROWS; i++) {
		const struct rq_sys_row *r = &rq_sys_table[i];

		CHECK(i == 0 || r->kp > rq_sys_table[i - 1].kp);
		CHECK(is_prime(r->s) && is_prime(r->w));
		CHECK(r->w <= r->kp + r->s); /* P >= H: HDPC columns are PI columns */
		CHECK(r->j <= 1000 && r->h >= 10 && r->h <= 16);
	}
	CHECK(rq_sys_table[0].kp == 10 && rq_sys_table[0].j == 254 && rq_sys_table[0].w == 17);
	CHECK(rq_sys_table[121].kp == 1032 && rq_sys_table[121].j == 824 &&
	      rq_sys_table[121].s == 59 && rq_sys_table[121].w == 1051);
	CHECK(rq_sys_table[476].kp == 56403 && rq_sys_table[476].j == 471 &&
	      rq_sys_table[476].s == 907 && rq_sys_table[476].h == 16 &&
	      rq_sys_table[476].w == 56951);
	CHECK_EQ_U(rq_v0[0], 251291136u);
	CHECK_EQ_U(rq_v0[255], 1358307511u);
	CHECK_EQ_U(rq_v1[0], 807385413u);
	CHECK_EQ_U(rq_v1[255], 4135048896u);
	CHECK_EQ_U(rq_v2[0], 1629829892u);
	CHECK_EQ_U(rq_v2[255], 3497665928u);
	CHECK_EQ_U(rq_v3[0], 1191369816u);
	CHECK_EQ_U(rq_v3[255], 3432275192u);
	CHECK_EQ_U(rq_deg_table[1], 5243);
	CHECK_EQ_U(rq_deg_table[RQ_DEG_ROWS - 1], 1u << 20);
}

static void test_params(void)
{
	struct rq_params p;

	CHECK_OK(rq_params_init(&p, 1));
	CHECK(p.kp == 10 && p.s == 7 && p.h == 10 && p.w == 17 && p.l == 27 && p.p == 10);
	CHECK_EQ_U(p.p1, 11);
	CHECK_OK(rq_params_init(&p, 1024));
	CHECK(p.kp == 1032 && p.l == 1101 && p.p == 50 && p.p1 == 53 && p.b == 992);
	CHECK_OK(rq_params_init(&p, LIMIT_RQ_SOURCE_SYMBOLS));
	CHECK(p.kp == 8194 && p.s == 211 && p.h == 11 && p.w == 8273 && p.l == 8416);
	CHECK(p.p == 143 && p.p1 == 149);
	CHECK_EQ_I(rq_params_init(&p, 0), -EINVAL);
	CHECK_EQ_I(rq_params_init(&p, LIMIT_RQ_SOURCE_SYMBOLS + 1), -EINVAL);
	/* Deg[]: table edges, and capped at W-2. */
	CHECK_EQ_U(rq_gen_deg(0, 1000), 1);
	CHECK_EQ_U(rq_gen_deg(5242, 1000), 1);
	CHECK_EQ_U(rq_gen_deg(5243, 1000), 2);
	CHECK_EQ_U(rq_gen_deg((1u << 20) - 1, 1000), 30);
	CHECK_EQ_U(rq_gen_deg((1u << 20) - 1, 17), 15);
}

static void test_gf256(void)
{
	CHECK_EQ_U(rq_gf_exp(8), 0x1d); /* x^8 = x^4 + x^3 + x^2 + 1 */
	CHECK_EQ_U(rq_gf_exp(255), 1);
	for (unsigned a = 1; a < 256; a++) {
		CHECK_EQ_U(rq_gf_mul((uint8_t)a, rq_gf_inv((uint8_t)a)), 1);
		CHECK_EQ_U(rq_gf_mul((uint8_t)a, 1), a);
		CHECK_EQ_U(rq_gf_mul((uint8_t)a, 0), 0);
	}
	for (int i = 0; i < 2000; i++) {
		uint8_t a = (uint8_t)rng(), b = (uint8_t)rng(), c = (uint8_t)rng();

		CHECK_EQ_U(rq_gf_mul(a, b ^ c), rq_gf_mul(a, b) ^ rq_gf_mul(a, c));
		CHECK_EQ_U(rq_gf_mul(a, rq_gf_mul(b, c)), rq_gf_mul(rq_gf_mul(a, b), c));
	}
}

/* mul2add without a source on odd sizes, with one on even sizes. */
static const uint8_t *k_or_null(const uint8_t *b, size_t n)
{
	return n % 2 ? NULL : b;
}

/* Runs the four symbol operations at one SIMD level on fixed inputs. */
static void sym_ops_at(enum rq_simd level, uint8_t out[6][700], const uint8_t *a,
		       const uint8_t *b, size_t n, uint8_t c)
{
	const uint8_t *many[21];

	CHECK_EQ_U(rq_simd_select(level) <= level, 1);
	for (int k = 0; k < 4; k++)
		memcpy(out[k], a, n);
	for (int k = 0; k < 21; k++)
		many[k] = k % 3 ? a + k : b; /* a + k: unaligned, overlapping views */
	rq_sym_xor_many(out[4], many, 3, n - (n > 20 ? 20 : n));
	rq_sym_xor_many(out[5], many, 21, n - (n > 20 ? 20 : n));
	rq_sym_xor(out[0], b, n);
	rq_sym_muladd(out[1], b, c, n);
	rq_sym_scale(out[2], c, n);
	rq_sym_mul2add(out[3], k_or_null(b, n), n);
}

static void test_simd_matches_portable(void)
{
	static uint8_t a[700], b[700], ref[6][700], got[6][700];

	for (int round = 0; round < 60; round++) {
		size_t n = rng_below(700);
		uint8_t c = round < 3 ? (uint8_t)round : (uint8_t)rng();

		fill(a, n);
		fill(b, n);
		sym_ops_at(RQ_SIMD_PORTABLE, ref, a, b, n, c);
		for (size_t i = 0; i < n; i++) {
			CHECK_EQ_U(ref[0][i], a[i] ^ b[i]);
			CHECK_EQ_U(ref[1][i], a[i] ^ rq_gf_mul(c, b[i]));
			CHECK_EQ_U(ref[2][i], rq_gf_mul(c, a[i]));
			CHECK_EQ_U(ref[3][i], rq_gf_mul(2, a[i]) ^ (n % 2 ? 0 : b[i]));
		}
		for (size_t i = 0; i + 20 < n; i++) {
			uint8_t x = 0;

			for (int k = 0; k < 21; k++)
				x ^= k % 3 ? a[i + k] : b[i];
			CHECK_EQ_U(ref[4][i], b[i] ^ a[i + 1] ^ a[i + 2]);
			CHECK_EQ_U(ref[5][i], x);
		}
		for (enum rq_simd level = RQ_SIMD_SSSE3; level <= RQ_SIMD_AVX2; level++) {
			sym_ops_at(level, got, a, b, n, c);
			for (int k = 0; k < 6; k++)
				CHECK_MSG(memcmp(ref[k], got[k], k < 4 ? n : n > 20 ? n - 20 : 0) == 0, "op %d level %d n %zu", k,
					  level, n);
		}
	}
	(void)rq_simd_select(RQ_SIMD_AVX2);
}

static void pattern(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + i / 13);
}

/* Repair symbols of a fixed block, pinned: they matched liblcrq byte for
 * byte when recorded, so a change in any generator or table shows here
 * even where the oracle library is not installed. */
static void test_known_answer(void)
{
	const uint32_t k = 100;
	const size_t t = 16;
	uint8_t block[100 * 16], sym[64 * 16];
	struct rq_encoder *enc;
	struct sha256 h;
	char hex[2 * SHA256_LEN + 1];

	pattern(block, sizeof(block));
	CHECK_OK(rq_encoder_new(&enc, block, sizeof(block), k, t));
	for (uint32_t i = 0; i < 64; i++)
		CHECK_OK(rq_encoder_symbol(sym + i * t, enc, k + i * 997));
	rq_encoder_free(enc);
	sha256_buf(&h, sym, sizeof(sym));
	hex_encode(hex, h.b, SHA256_LEN);
	CHECK_STR(hex, KNOWN_ANSWER_HEX);
}

/* After solving with the K' systematic rows, Enc[] of every source ISI
 * gives the source symbol back and every padding ISI a zero symbol. */
static void test_systematic(void)
{
	static const uint32_t ks[] = { 1, 9, 10, 11, 55, 300, 1024, 2000 };
	const size_t t = 8;

	for (size_t n = 0; n < ARRAY_SIZE(ks); n++) {
		struct rq_params p;
		AUTO_FREE uint8_t *src = NULL, *c = NULL, *o = mem_alloc(t);
		AUTO_FREE uint32_t *isi = NULL;
		AUTO_FREE const uint8_t **sym = NULL;

		CHECK_OK(rq_params_init(&p, ks[n]));
		src = mem_alloc(p.k * t);
		c = mem_alloc(p.l * t);
		isi = mem_alloc(p.kp * sizeof(*isi));
		sym = mem_alloc(p.kp * sizeof(*sym));
		CHECK(src && c && isi && sym && o);
		fill(src, p.k * t);
		for (uint32_t i = 0; i < p.kp; i++) {
			isi[i] = i;
			sym[i] = i < p.k ? src + i * t : NULL;
		}
		CHECK_OK(rq_solve(c, &p, t, isi, sym, p.kp));
		for (uint32_t i = 0; i < p.kp; i++) {
			static const uint8_t zero[8];

			rq_lt_encode(o, &p, c, t, i);
			CHECK_MSG(memcmp(o, i < p.k ? src + i * t : zero, t) == 0, "K=%u isi %u",
				  p.k, i);
		}
	}
}

/* Encodes a random block, delivers `keep` symbols of which the sources
 * are a random subset and the rest repair symbols at random ESIs, and
 * decodes.  Returns the decode result; on success checks the bytes. */
static int trial(struct rq_encoder *enc, const uint8_t *block, size_t len, uint32_t k,
		 size_t t, uint32_t keep, uint32_t lost_src)
{
	AUTO_FREE uint8_t *sym = mem_alloc(t), *out = mem_alloc((size_t)k * t);
	AUTO_FREE uint8_t *drop = mem_calloc(k, 1);
	struct rq_decoder *dec;
	uint32_t added = 0;
	int r;

	CHECK(sym && out && drop);
	if (lost_src > k)
		lost_src = k;
	for (uint32_t n = 0; n < lost_src;) {
		uint32_t e = rng_below(k);

		n += !drop[e];
		drop[e] = 1;
	}
	CHECK_OK(rq_decoder_new(&dec, k, t));
	for (uint32_t e = 0; e < k && added < keep; e++) {
		if (drop[e])
			continue;
		CHECK_OK(rq_encoder_symbol(sym, enc, e));
		CHECK_EQ_I(rq_decoder_add(dec, e, sym, t), 1);
		added++;
	}
	while (added < keep) {
		uint32_t e = k + rng_below(RQ_ESI_MAX - k + 1);

		CHECK_OK(rq_encoder_symbol(sym, enc, e));
		r = rq_decoder_add(dec, e, sym, t);
		CHECK(r >= 0);
		added += (uint32_t)r;
	}
	r = rq_decoder_decode(out, dec);
	if (r == 0)
		CHECK(memcmp(out, block, len) == 0);
	rq_decoder_free(dec);
	return r;
}

static void test_round_trips(void)
{
	static const struct {
		uint32_t k;
		size_t t;
	} cases[] = { { 1, 4 }, { 2, 12 }, { 10, 1436 }, { 17, 4 }, { 100, 64 },
		      { 1000, 8 }, { 1024, 1436 }, { 4000, 4 }, { 8192, 4 } };

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint32_t k = cases[i].k;
		size_t t = cases[i].t, len = (size_t)k * t - rng_below((uint32_t)t);
		AUTO_FREE uint8_t *block = mem_alloc(len);
		struct rq_encoder *enc;

		CHECK(block);
		fill(block, len);
		CHECK_OK(rq_encoder_new(&enc, block, len, k, t));
		/* all sources; some lost; all lost (repair only) */
		CHECK_EQ_I(trial(enc, block, len, k, t, k, 0), 0);
		CHECK_EQ_I(trial(enc, block, len, k, t, k + 2, k / 10 + 1), 0);
		CHECK_EQ_I(trial(enc, block, len, k, t, k + 2, k), 0);
		rq_encoder_free(enc);
	}
}

/* RFC 6330 promises failure <= 1% with K symbols and <= 1e-6 with K+2.
 * 400 trials each: K allows 24 failures (expected about 4), K+2 allows 1
 * (expected 0.0004); a broken code fails far more often than either. */
static void test_decode_statistics(void)
{
	static const uint32_t ks[] = { 10, 37, 100, 260 };
	unsigned fail_k = 0, fail_k2 = 0, trials = 0;

	for (size_t i = 0; i < ARRAY_SIZE(ks); i++) {
		uint32_t k = ks[i];
		const size_t t = 4;
		AUTO_FREE uint8_t *block = mem_alloc(k * t);
		struct rq_encoder *enc;

		CHECK(block);
		fill(block, k * t);
		CHECK_OK(rq_encoder_new(&enc, block, k * t, k, t));
		for (int n = 0; n < 100; n++, trials++) {
			uint32_t lost = 1 + rng_below(k);
			int r = trial(enc, block, k * t, k, t, k, lost);

			CHECK(r == 0 || r == -EAGAIN);
			fail_k += r != 0;
			r = trial(enc, block, k * t, k, t, k + 2, lost);
			CHECK(r == 0 || r == -EAGAIN);
			fail_k2 += r != 0;
		}
		rq_encoder_free(enc);
	}
	printf("# decode failures in %u trials: %u with K symbols, %u with K+2\n", trials, fail_k,
	       fail_k2);
	CHECK(fail_k <= 24);
	CHECK(fail_k2 <= 1);
}

static void test_oti(void)
{
	struct rq_oti oti, back;
	uint8_t wire[RQ_OTI_LEN];
	static const uint8_t expect[RQ_OTI_LEN] = { 0x00, 0x00, 0x10, 0x00, 0x00, 0x00,
						    0x05, 0x9c, 0x01, 0x00, 0x01, 0x04 };

	CHECK_OK(rq_oti_for(&oti, 1u << 20, RQ_SYMBOL_SIZE_DEFAULT, LIMIT_RQ_SOURCE_SYMBOLS));
	CHECK(oti.source_blocks == 1 && oti.sub_blocks == 1 && oti.alignment == 4);
	rq_oti_encode(wire, &oti);
	CHECK(memcmp(wire, expect, RQ_OTI_LEN) == 0);
	CHECK_OK(rq_oti_decode(&back, wire));
	CHECK(back.transfer_length == oti.transfer_length && back.symbol_size == 1436 &&
	      back.source_blocks == 1 && back.sub_blocks == 1 && back.alignment == 4);
	/* 40-bit F survives the trip */
	CHECK_OK(rq_oti_for(&oti, LIMIT_FILE_BYTES / 64, 65532, 8192));
	rq_oti_encode(wire, &oti);
	CHECK_OK(rq_oti_decode(&back, wire));
	CHECK(back.transfer_length == LIMIT_FILE_BYTES / 64 && back.source_blocks == oti.source_blocks);
	/* blocks hold at most the largest K' <= the cap (8111 for 8192) */
	CHECK_OK(rq_oti_for(&oti, 8192ull * 1436, 1436, 8192));
	CHECK_EQ_U(oti.source_blocks, 2);
	CHECK_OK(rq_oti_for(&oti, 8111ull * 1436, 1436, 8192));
	CHECK_EQ_U(oti.source_blocks, 1);
	CHECK_OK(rq_oti_for(&oti, 255ull * 8111 * 1436, 1436, 8192));
	CHECK_EQ_U(oti.source_blocks, 255);
	CHECK_EQ_I(rq_oti_for(&oti, 255ull * 8111 * 1436 + 1, 1436, 8192), -EFBIG);
	CHECK_EQ_I(rq_oti_for(&oti, 0, 1436, 8192), -EINVAL);
	CHECK_EQ_I(rq_oti_for(&oti, 100, 1434, 8192), -EINVAL);
	CHECK_EQ_I(rq_oti_for(&oti, 100, 1436, 8193), -EINVAL);
}

/* Each mutation of a valid OTI that breaks the profile is refused. */
static void test_oti_hostile(void)
{
	static const struct {
		int at;
		uint8_t v;
	} bad[] = {
		{ 0, 0x01 },                /* F of 4 GiB in one block */
		{ 5, 0x01 },                /* reserved byte */
		{ 7, 0x9d },                /* T = 1437, not a multiple of 4 */
		{ 8, 0x00 },                /* Z = 0 */
		{ 8, 0xff },                /* Z = 255 > Kt */
		{ 9, 0x01 },                /* N = 257 */
		{ 10, 0x02 },               /* N = 2 */
		{ 10, 0x00 },               /* N = 0 */
		{ 11, 0x03 },               /* Al = 3 */
		{ 11, 0x10 },               /* Al = 16 */
	};
	struct rq_oti oti, keep;
	uint8_t good[RQ_OTI_LEN], wire[RQ_OTI_LEN];

	CHECK_OK(rq_oti_for(&oti, 100000, 1436, 8192));
	rq_oti_encode(good, &oti);
	memset(&keep, 0x5a, sizeof(keep));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memcpy(wire, good, RQ_OTI_LEN);
		wire[bad[i].at] = bad[i].v;
		oti = keep;
		CHECK_MSG(rq_oti_decode(&oti, wire) == -EBADMSG, "mutation %zu", i);
		CHECK(memcmp(&oti, &keep, sizeof(oti)) == 0);
	}
	/* F = 0; T = 0; blocks of more than 8192 symbols */
	memset(wire, 0, RQ_OTI_LEN);
	wire[7] = 4, wire[8] = 1, wire[10] = 1, wire[11] = 4;
	CHECK_EQ_I(rq_oti_decode(&oti, wire), -EBADMSG);
	memcpy(wire, good, RQ_OTI_LEN);
	wire[6] = wire[7] = 0;
	CHECK_EQ_I(rq_oti_decode(&oti, wire), -EBADMSG);
	oti = (struct rq_oti){ 8193ull * 4, 4, 1, 1, 4 };
	CHECK_EQ_I(rq_oti_check(&oti), -EBADMSG);
	oti.source_blocks = 2;
	CHECK_OK(rq_oti_check(&oti));
}

static void test_partition(void)
{
	struct rq_oti oti = { 10 * 100 - 37, 100, 3, 1, 4 };
	struct rq_block b;
	uint64_t next = 0;

	/* Kt = 10 over Z = 3: one block of 4, two of 3 (RFC 4.4.1.2) */
	static const uint32_t expect_k[] = { 4, 3, 3 };

	for (uint32_t sbn = 0; sbn < 3; sbn++) {
		CHECK_OK(rq_oti_block(&b, &oti, sbn));
		CHECK_EQ_U(b.source_symbols, expect_k[sbn]);
		CHECK_EQ_U(b.offset, next);
		next += b.length;
	}
	CHECK_EQ_U(b.length, 3 * 100 - 37);
	CHECK_EQ_U(next, oti.transfer_length);
	CHECK_EQ_I(rq_oti_block(&b, &oti, 3), -EBADMSG);
	/* a large object: blocks tile it exactly and respect the cap */
	CHECK_OK(rq_oti_for(&oti, 2000000007ull, 1436, 8192));
	next = 0;
	for (uint32_t sbn = 0; sbn < oti.source_blocks; sbn++) {
		CHECK_OK(rq_oti_block(&b, &oti, sbn));
		CHECK(b.offset == next && b.source_symbols <= 8111);
		CHECK(b.length <= (size_t)b.source_symbols * 1436);
		CHECK(b.length > (size_t)(b.source_symbols - 1) * 1436);
		next += b.length;
	}
	CHECK_EQ_U(next, 2000000007ull);
}

static void test_payload_id(void)
{
	uint8_t w[RQ_PAYLOAD_ID_LEN], sbn;
	uint32_t esi;

	rq_payload_id_encode(w, 0xab, 0x123456);
	CHECK(w[0] == 0xab && w[1] == 0x12 && w[2] == 0x34 && w[3] == 0x56);
	rq_payload_id_decode(&sbn, &esi, w);
	CHECK(sbn == 0xab && esi == 0x123456);
	rq_payload_id_encode(w, 1, RQ_ESI_MAX);
	rq_payload_id_decode(&sbn, &esi, w);
	CHECK(sbn == 1 && esi == RQ_ESI_MAX);
}

static void test_decoder_hostile(void)
{
	const uint32_t k = 20;
	const size_t t = 8;
	uint8_t sym[16] = { 0 }, out[20 * 8];
	struct rq_decoder *dec;
	struct rq_encoder *enc;

	CHECK_EQ_I(rq_decoder_new(&dec, 0, t), -EINVAL);
	CHECK_EQ_I(rq_decoder_new(&dec, LIMIT_RQ_SOURCE_SYMBOLS + 1, t), -EINVAL);
	CHECK_EQ_I(rq_decoder_new(&dec, k, 0), -EINVAL);
	CHECK_EQ_I(rq_decoder_new(&dec, k, LIMIT_RQ_SYMBOL_BYTES + 1), -EINVAL);
	CHECK_EQ_I(rq_encoder_new(&enc, out, sizeof(out) + 1, k, t), -EINVAL);
	CHECK_OK(rq_encoder_new(&enc, out, sizeof(out), k, t));
	CHECK_EQ_I(rq_encoder_symbol(sym, enc, RQ_ESI_MAX + 1), -EINVAL);
	rq_encoder_free(enc);

	CHECK_OK(rq_decoder_new(&dec, k, t));
	CHECK_EQ_I(rq_decoder_add(dec, RQ_ESI_MAX + 1, sym, t), -EBADMSG);
	CHECK_EQ_I(rq_decoder_add(dec, 0, sym, t - 1), -EBADMSG);
	CHECK_EQ_I(rq_decoder_add(dec, 0, sym, t + 1), -EBADMSG);
	CHECK_EQ_I(rq_decoder_add(dec, 3, sym, t), 1);
	CHECK_EQ_I(rq_decoder_add(dec, 3, sym, t), 0);
	CHECK_EQ_I(rq_decoder_add(dec, RQ_ESI_MAX, sym, t), 1);
	CHECK_EQ_I(rq_decoder_add(dec, RQ_ESI_MAX, sym, t), 0);
	CHECK_EQ_I(rq_decoder_decode(out, dec), -EAGAIN);
	/* Fill the store with junk repair symbols: bounded, never a crash. */
	for (uint32_t e = k; rq_decoder_count(dec) < k + LIMIT_RQ_EXTRA_SYMBOLS; e += 7) {
		fill(sym, t);
		CHECK(rq_decoder_add(dec, e, sym, t) == 1);
	}
	CHECK_EQ_I(rq_decoder_add(dec, 5000000, sym, t), 0); /* full: repair ignored */
	CHECK_EQ_I(rq_decoder_add(dec, 4, sym, t), 1);       /* full: source replaces */
	CHECK_EQ_I(rq_decoder_add(dec, 4, sym, t), 0);
	CHECK_EQ_U(rq_decoder_count(dec), k + LIMIT_RQ_EXTRA_SYMBOLS);
	{
		int r = rq_decoder_decode(out, dec);

		CHECK(r == 0 || r == -EAGAIN);
	}
	rq_decoder_free(dec);
	rq_decoder_free(NULL);
	rq_encoder_free(NULL);
}

/* Every allocation of encoder and decoder, failing in turn, unwinds
 * cleanly with -ENOMEM (leaks show under the sanitizer build). */
static void test_alloc_failures(void)
{
	const uint32_t k = 30;
	const size_t t = 4;
	uint8_t block[30 * 4], sym[4], out[30 * 4];
	long total;

	fill(block, sizeof(block));
	for (long n = 0;; n++) {
		struct rq_encoder *enc = NULL;
		struct rq_decoder *dec = NULL;
		int r;

		mem_fail_after(n);
		r = rq_encoder_new(&enc, block, sizeof(block), k, t);
		if (r >= 0)
			r = rq_decoder_new(&dec, k, t);
		for (uint32_t e = 3; r >= 0 && e < k + 3; e++) {
			CHECK_OK(rq_encoder_symbol(sym, enc, e));
			r = rq_decoder_add(dec, e, sym, t);
		}
		if (r >= 0)
			r = rq_decoder_decode(out, dec);
		total = mem_fail_after(-1);
		rq_encoder_free(enc);
		rq_decoder_free(dec);
		if (r == 0) {
			CHECK(memcmp(out, block, sizeof(out)) == 0);
			CHECK(total <= n);
			break;
		}
		CHECK_MSG(r == -ENOMEM, "allocation %ld: %d", n, r);
	}
}

int main(void)
{
	return t_main((struct t_case[]){
		{ "RFC tables", test_tables },
		{ "block parameters and Deg[]", test_params },
		{ "GF(256) arithmetic", test_gf256 },
		{ "SIMD symbol operations match portable ones", test_simd_matches_portable },
		{ "encoder known answer", test_known_answer },
		{ "systematic: Enc[] of source ISIs gives the source", test_systematic },
		{ "round trips with erasures", test_round_trips },
		{ "decode failure rates at K and K+2", test_decode_statistics },
		{ "OTI choice and encoding", test_oti },
		{ "OTI parser refuses values outside the profile", test_oti_hostile },
		{ "partitioning into source blocks", test_partition },
		{ "FEC payload ID", test_payload_id },
		{ "decoder bounds and hostile input", test_decoder_hostile },
		{ "allocation failures unwind", test_alloc_failures },
		{ 0 },
	});
}
