/*
 * rq_gf256.c — GF(256) arithmetic and whole-symbol operations for RaptorQ.
 *
 * RFC 6330 section 5.7 works in the field of 256 elements built on the
 * polynomial x^8 + x^4 + x^3 + x^2 + 1 with alpha = 2.  Its OCT_EXP and
 * OCT_LOG tables are generated here once (they follow from the
 * polynomial) rather than entered by hand; the unit test checks entries.
 *
 * Nearly all decoding time is spent in four symbol operations: XOR of two
 * symbols, "dst ^= c * src", scaling, and "dst = alpha*dst ^ src" (the
 * HDPC rows' Horner step).  Each exists in portable C and, chosen at run
 * time with __builtin_cpu_supports(), in SSSE3 and AVX2 versions that
 * multiply with split-nibble tables (PSHUFB).  All give the same bytes:
 * the arithmetic is exact, and test_rq compares them on random data.
 */
#include <pthread.h>
#include <string.h>

#include <immintrin.h>

#include "satellite/rq_int.h"

/* Sources combined per pass by rq_sym_xor_many(). */
#define RQ_XOR_MANY_MAX 16

static uint8_t gf_exp[512];
static uint8_t gf_log[256];
static uint8_t gf_mul_tab[256][256];
static pthread_once_t gf_once = PTHREAD_ONCE_INIT;

static void gf_build(void)
{
	unsigned x = 1;

	for (int i = 0; i < 255; i++) {
		gf_exp[i] = (uint8_t)x;
		gf_log[x] = (uint8_t)i;
		x <<= 1;
		if (x & 0x100)
			x ^= 0x11d;
	}
	for (int i = 255; i < 512; i++)
		gf_exp[i] = gf_exp[i - 255];
	for (int a = 1; a < 256; a++)
		for (int b = 1; b < 256; b++)
			gf_mul_tab[a][b] = gf_exp[gf_log[a] + gf_log[b]];
}

static void gf_init(void)
{
	(void)pthread_once(&gf_once, gf_build);
}

uint8_t rq_gf_mul(uint8_t a, uint8_t b)
{
	gf_init();
	return gf_mul_tab[a][b];
}

uint8_t rq_gf_inv(uint8_t a)
{
	gf_init();
	return gf_exp[255 - gf_log[a]];
}

uint8_t rq_gf_exp(uint32_t i)
{
	gf_init();
	return gf_exp[i % 255];
}

/* ---- portable versions ---- */

static void xor_portable(uint8_t *dst, const uint8_t *src, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t a, b;

		memcpy(&a, dst + i, 8);
		memcpy(&b, src + i, 8);
		a ^= b;
		memcpy(dst + i, &a, 8);
	}
	for (; i < n; i++)
		dst[i] ^= src[i];
}

/* dst = src[0] ^ ... ^ src[ns-1], or dst ^= all of them when acc. */
static void xor_many_portable(uint8_t *dst, const uint8_t *const *src, size_t ns, size_t n,
			      int acc_dst)
{
	size_t i = 0;

	if (acc_dst) {
		for (size_t k = 0; k < ns; k++)
			xor_portable(dst, src[k], n);
		return;
	}
	for (; i + 8 <= n; i += 8) {
		uint64_t acc, x;

		memcpy(&acc, src[0] + i, 8);
		for (size_t k = 1; k < ns; k++) {
			memcpy(&x, src[k] + i, 8);
			acc ^= x;
		}
		memcpy(dst + i, &acc, 8);
	}
	for (; i < n; i++) {
		uint8_t acc = src[0][i];

		for (size_t k = 1; k < ns; k++)
			acc ^= src[k][i];
		dst[i] = acc;
	}
}

static void muladd_portable(uint8_t *dst, const uint8_t *src, uint8_t c, size_t n)
{
	const uint8_t *m = gf_mul_tab[c];

	for (size_t i = 0; i < n; i++)
		dst[i] ^= m[src[i]];
}

static void scale_portable(uint8_t *dst, uint8_t c, size_t n)
{
	const uint8_t *m = gf_mul_tab[c];

	for (size_t i = 0; i < n; i++)
		dst[i] = m[dst[i]];
}

/* alpha*x on eight bytes at once: shift each byte left, and reduce the
 * bytes whose top bit fell out by the low byte of the polynomial. */
static inline uint64_t mul2_swar(uint64_t x)
{
	uint64_t hi = x & 0x8080808080808080ull;

	return ((x & 0x7f7f7f7f7f7f7f7full) << 1) ^ ((hi >> 7) * 0x1d);
}

static void mul2add_portable(uint8_t *dst, const uint8_t *src, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t a, b = 0;

		memcpy(&a, dst + i, 8);
		if (src)
			memcpy(&b, src + i, 8);
		a = mul2_swar(a) ^ b;
		memcpy(dst + i, &a, 8);
	}
	for (; i < n; i++)
		dst[i] = gf_mul_tab[2][dst[i]] ^ (src ? src[i] : 0);
}

/* Split-nibble tables: c*x = lo[x & 15] ^ hi[x >> 4]. */
static void nibble_tables(uint8_t lo[16], uint8_t hi[16], uint8_t c)
{
	for (int i = 0; i < 16; i++) {
		lo[i] = gf_mul_tab[c][i];
		hi[i] = gf_mul_tab[c][i << 4];
	}
}

/* ---- SSSE3 ---- */

__attribute__((target("ssse3"))) static void xor_ssse3(uint8_t *dst, const uint8_t *src, size_t n)
{
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		__m128i a = _mm_loadu_si128((const __m128i *)(dst + i));
		__m128i b = _mm_loadu_si128((const __m128i *)(src + i));

		_mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(a, b));
	}
	xor_portable(dst + i, src + i, n - i);
}

__attribute__((target("ssse3"))) static void xor_many_ssse3(uint8_t *dst,
							      const uint8_t *const *src,
							      size_t ns, size_t n, int acc_dst)
{
	size_t i = 0, k0 = acc_dst ? 0 : 1;

	for (; i + 16 <= n; i += 16) {
		__m128i acc = _mm_loadu_si128((const __m128i *)((acc_dst ? dst : src[0]) + i));

		for (size_t k = k0; k < ns; k++)
			acc = _mm_xor_si128(acc, _mm_loadu_si128((const __m128i *)(src[k] + i)));
		_mm_storeu_si128((__m128i *)(dst + i), acc);
	}
	if (i < n) {
		const uint8_t *rest[RQ_XOR_MANY_MAX];

		for (size_t k = 0; k < ns; k++)
			rest[k] = src[k] + i;
		xor_many_portable(dst + i, rest, ns, n - i, acc_dst);
	}
}

__attribute__((target("ssse3"))) static void mul_ssse3(uint8_t *dst, const uint8_t *src,
							uint8_t c, size_t n, int add)
{
	uint8_t lo8[16], hi8[16];
	size_t i = 0;

	nibble_tables(lo8, hi8, c);
	__m128i lo = _mm_loadu_si128((const __m128i *)lo8);
	__m128i hi = _mm_loadu_si128((const __m128i *)hi8);
	__m128i mask = _mm_set1_epi8(0x0f);

	for (; i + 16 <= n; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(src + i));
		__m128i l = _mm_shuffle_epi8(lo, _mm_and_si128(x, mask));
		__m128i h = _mm_shuffle_epi8(hi, _mm_and_si128(_mm_srli_epi64(x, 4), mask));
		__m128i r = _mm_xor_si128(l, h);

		if (add)
			r = _mm_xor_si128(r, _mm_loadu_si128((const __m128i *)(dst + i)));
		_mm_storeu_si128((__m128i *)(dst + i), r);
	}
	for (; i < n; i++)
		dst[i] = (uint8_t)(gf_mul_tab[c][src[i]] ^ (add ? dst[i] : 0));
}

__attribute__((target("ssse3"))) static void muladd_ssse3(uint8_t *dst, const uint8_t *src,
							   uint8_t c, size_t n)
{
	mul_ssse3(dst, src, c, n, 1);
}

__attribute__((target("ssse3"))) static void scale_ssse3(uint8_t *dst, uint8_t c, size_t n)
{
	mul_ssse3(dst, dst, c, n, 0);
}

__attribute__((target("ssse3"))) static void mul2add_ssse3(uint8_t *dst, const uint8_t *src,
							    size_t n)
{
	__m128i poly = _mm_set1_epi8(0x1d), zero = _mm_setzero_si128();
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(dst + i));
		__m128i top = _mm_cmpgt_epi8(zero, x);
		__m128i r = _mm_xor_si128(_mm_add_epi8(x, x), _mm_and_si128(top, poly));

		if (src)
			r = _mm_xor_si128(r, _mm_loadu_si128((const __m128i *)(src + i)));
		_mm_storeu_si128((__m128i *)(dst + i), r);
	}
	mul2add_portable(dst + i, src ? src + i : NULL, n - i);
}

/* ---- AVX2 ---- */

__attribute__((target("avx2"))) static void xor_avx2(uint8_t *dst, const uint8_t *src, size_t n)
{
	size_t i = 0;

	for (; i + 64 <= n; i += 64) {
		__m256i a0 = _mm256_loadu_si256((const __m256i *)(dst + i));
		__m256i a1 = _mm256_loadu_si256((const __m256i *)(dst + i + 32));
		__m256i b0 = _mm256_loadu_si256((const __m256i *)(src + i));
		__m256i b1 = _mm256_loadu_si256((const __m256i *)(src + i + 32));

		_mm256_storeu_si256((__m256i *)(dst + i), _mm256_xor_si256(a0, b0));
		_mm256_storeu_si256((__m256i *)(dst + i + 32), _mm256_xor_si256(a1, b1));
	}
	for (; i + 32 <= n; i += 32) {
		__m256i a = _mm256_loadu_si256((const __m256i *)(dst + i));
		__m256i b = _mm256_loadu_si256((const __m256i *)(src + i));

		_mm256_storeu_si256((__m256i *)(dst + i), _mm256_xor_si256(a, b));
	}
	xor_portable(dst + i, src + i, n - i);
}

/* Four 32-byte accumulators per pass over the sources. */
__attribute__((target("avx2"))) static void xor_many_avx2(uint8_t *dst, const uint8_t *const *src,
							   size_t ns, size_t n, int acc_dst)
{
	size_t i = 0, k0 = acc_dst ? 0 : 1;

	for (; i + 128 <= n; i += 128) {
		const __m256i *p = (const __m256i *)((acc_dst ? dst : src[0]) + i);
		__m256i a0 = _mm256_loadu_si256(p), a1 = _mm256_loadu_si256(p + 1);
		__m256i a2 = _mm256_loadu_si256(p + 2), a3 = _mm256_loadu_si256(p + 3);

		for (size_t k = k0; k < ns; k++) {
			p = (const __m256i *)(src[k] + i);
			a0 = _mm256_xor_si256(a0, _mm256_loadu_si256(p));
			a1 = _mm256_xor_si256(a1, _mm256_loadu_si256(p + 1));
			a2 = _mm256_xor_si256(a2, _mm256_loadu_si256(p + 2));
			a3 = _mm256_xor_si256(a3, _mm256_loadu_si256(p + 3));
		}
		__m256i *q = (__m256i *)(dst + i);

		_mm256_storeu_si256(q, a0);
		_mm256_storeu_si256(q + 1, a1);
		_mm256_storeu_si256(q + 2, a2);
		_mm256_storeu_si256(q + 3, a3);
	}
	for (; i + 32 <= n; i += 32) {
		__m256i acc = _mm256_loadu_si256((const __m256i *)((acc_dst ? dst : src[0]) + i));

		for (size_t k = k0; k < ns; k++)
			acc = _mm256_xor_si256(acc, _mm256_loadu_si256((const __m256i *)(src[k] + i)));
		_mm256_storeu_si256((__m256i *)(dst + i), acc);
	}
	if (i < n) {
		const uint8_t *rest[RQ_XOR_MANY_MAX];

		for (size_t k = 0; k < ns; k++)
			rest[k] = src[k] + i;
		xor_many_portable(dst + i, rest, ns, n - i, acc_dst);
	}
}

__attribute__((target("avx2"))) static void mul_avx2(uint8_t *dst, const uint8_t *src, uint8_t c,
						      size_t n, int add)
{
	uint8_t lo8[16], hi8[16];
	size_t i = 0;

	nibble_tables(lo8, hi8, c);
	__m256i lo = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)lo8));
	__m256i hi = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)hi8));
	__m256i mask = _mm256_set1_epi8(0x0f);

	for (; i + 32 <= n; i += 32) {
		__m256i x = _mm256_loadu_si256((const __m256i *)(src + i));
		__m256i l = _mm256_shuffle_epi8(lo, _mm256_and_si256(x, mask));
		__m256i h = _mm256_shuffle_epi8(hi, _mm256_and_si256(_mm256_srli_epi64(x, 4), mask));
		__m256i r = _mm256_xor_si256(l, h);

		if (add)
			r = _mm256_xor_si256(r, _mm256_loadu_si256((const __m256i *)(dst + i)));
		_mm256_storeu_si256((__m256i *)(dst + i), r);
	}
	for (; i < n; i++)
		dst[i] = (uint8_t)(gf_mul_tab[c][src[i]] ^ (add ? dst[i] : 0));
}

__attribute__((target("avx2"))) static void muladd_avx2(uint8_t *dst, const uint8_t *src,
							 uint8_t c, size_t n)
{
	mul_avx2(dst, src, c, n, 1);
}

__attribute__((target("avx2"))) static void scale_avx2(uint8_t *dst, uint8_t c, size_t n)
{
	mul_avx2(dst, dst, c, n, 0);
}

__attribute__((target("avx2"))) static void mul2add_avx2(uint8_t *dst, const uint8_t *src,
							  size_t n)
{
	__m256i poly = _mm256_set1_epi8(0x1d), zero = _mm256_setzero_si256();
	size_t i = 0;

	for (; i + 32 <= n; i += 32) {
		__m256i x = _mm256_loadu_si256((const __m256i *)(dst + i));
		__m256i top = _mm256_cmpgt_epi8(zero, x);
		__m256i r = _mm256_xor_si256(_mm256_add_epi8(x, x), _mm256_and_si256(top, poly));

		if (src)
			r = _mm256_xor_si256(r, _mm256_loadu_si256((const __m256i *)(src + i)));
		_mm256_storeu_si256((__m256i *)(dst + i), r);
	}
	mul2add_portable(dst + i, src ? src + i : NULL, n - i);
}

/* ---- dispatch ---- */

struct sym_ops {
	void (*xor_)(uint8_t *, const uint8_t *, size_t);
	void (*xor_many)(uint8_t *, const uint8_t *const *, size_t, size_t, int);
	void (*muladd)(uint8_t *, const uint8_t *, uint8_t, size_t);
	void (*scale)(uint8_t *, uint8_t, size_t);
	void (*mul2add)(uint8_t *, const uint8_t *, size_t);
};

static const struct sym_ops ops_table[] = {
	[RQ_SIMD_PORTABLE] = { xor_portable, xor_many_portable, muladd_portable, scale_portable, mul2add_portable },
	[RQ_SIMD_SSSE3] = { xor_ssse3, xor_many_ssse3, muladd_ssse3, scale_ssse3, mul2add_ssse3 },
	[RQ_SIMD_AVX2] = { xor_avx2, xor_many_avx2, muladd_avx2, scale_avx2, mul2add_avx2 },
};

static const struct sym_ops *ops;
static pthread_once_t ops_once = PTHREAD_ONCE_INIT;

enum rq_simd rq_simd_select(enum rq_simd want)
{
	enum rq_simd level = RQ_SIMD_PORTABLE;

	gf_init();
	__builtin_cpu_init();
	if (want >= RQ_SIMD_SSSE3 && __builtin_cpu_supports("ssse3"))
		level = RQ_SIMD_SSSE3;
	if (want >= RQ_SIMD_AVX2 && __builtin_cpu_supports("avx2"))
		level = RQ_SIMD_AVX2;
	ops = &ops_table[level];
	return level;
}

static void ops_default(void)
{
	(void)rq_simd_select(RQ_SIMD_AVX2);
}

static inline const struct sym_ops *sym_ops(void)
{
	if (__builtin_expect(ops == NULL, 0))
		(void)pthread_once(&ops_once, ops_default);
	return ops;
}

void rq_sym_xor(uint8_t *dst, const uint8_t *src, size_t n)
{
	sym_ops()->xor_(dst, src, n);
}

void rq_sym_xor_many(uint8_t *dst, const uint8_t *const *src, size_t nsrc, size_t n)
{
	const struct sym_ops *o = sym_ops();
	int acc = 0;

	if (nsrc == 0) {
		memset(dst, 0, n);
		return;
	}
	while (nsrc > 0) {
		size_t m = nsrc < RQ_XOR_MANY_MAX ? nsrc : RQ_XOR_MANY_MAX;

		o->xor_many(dst, src, m, n, acc);
		src += m;
		nsrc -= m;
		acc = 1;
	}
}

void rq_sym_muladd(uint8_t *dst, const uint8_t *src, uint8_t c, size_t n)
{
	if (c == 0)
		return;
	if (c == 1)
		sym_ops()->xor_(dst, src, n);
	else
		sym_ops()->muladd(dst, src, c, n);
}

void rq_sym_scale(uint8_t *dst, uint8_t c, size_t n)
{
	if (c == 1)
		return;
	if (c == 0)
		memset(dst, 0, n);
	else
		sym_ops()->scale(dst, c, n);
}

void rq_sym_mul2add(uint8_t *dst, const uint8_t *src, size_t n)
{
	sym_ops()->mul2add(dst, src, n);
}
