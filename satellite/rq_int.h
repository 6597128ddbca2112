/*
 * rq_int.h — internals of the RaptorQ codec (RFC 6330), shared by the
 * satellite/rq_*.c files and by the unit tests.  Nothing here is API.
 *
 * The codec is split by concept, each file building on the ones above it:
 *
 *   rq_tables.c   the RFC's constant tables (Table 2, V0..V3, Table 1)
 *   rq_gf256.c    GF(256) arithmetic and whole-symbol operations, with
 *                 SSSE3/AVX2 versions that give the same bytes as the
 *                 portable code
 *   rq_tuple.c    per-block parameters (K', S, H, W, L, P, P1) and the
 *                 generators Rand[], Deg[], Tuple[] of section 5.3.5
 *   rq_precode.c  the binary rows of the constraint matrix A (LDPC rows and
 *                 one LT row per encoding symbol) and the HDPC structure
 *   rq_solve.c    recovery of the L intermediate symbols from A·C = D by
 *                 inactivation decoding; the LT encoder Enc[]
 *   rq_encode.c   the public encoder
 *   rq_decode.c   the public decoder and its symbol store
 *   rq_oti.c      object partitioning, FEC OTI and payload ID encodings
 *
 * Names follow the RFC where they are the RFC's: K' is kp, ISI an internal
 * symbol index (ESI for source symbols, ESI + K' - K for repair symbols).
 */
#ifndef FERRY_SATELLITE_RQ_INT_H
#define FERRY_SATELLITE_RQ_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* ---- tables (rq_tables.c) ---- */

struct rq_sys_row {
	uint16_t kp, j, s, h, w;
};

#define RQ_SYS_ROWS 477
#define RQ_DEG_ROWS 31
extern const struct rq_sys_row rq_sys_table[RQ_SYS_ROWS];
extern const uint32_t rq_v0[256], rq_v1[256], rq_v2[256], rq_v3[256];
extern const uint32_t rq_deg_table[RQ_DEG_ROWS];

/* ---- block parameters and generators (rq_tuple.c) ---- */

/* Everything section 5.3.3.3 derives from K for one source block. */
struct rq_params {
	uint32_t k;  /* source symbols */
	uint32_t kp; /* K': padded count, a row of Table 2 */
	uint32_t j;  /* J(K'), systematic index */
	uint32_t s;  /* LDPC symbols */
	uint32_t h;  /* HDPC symbols */
	uint32_t w;  /* LT symbols */
	uint32_t l;  /* intermediate symbols: K' + S + H */
	uint32_t p;  /* permanently inactivated symbols: L - W */
	uint32_t p1; /* smallest prime >= P */
	uint32_t b;  /* W - S */
};

/* Fills out for 1 <= k <= LIMIT_RQ_SOURCE_SYMBOLS; -EINVAL otherwise. */
int rq_params_init(struct rq_params *out, uint32_t k) FERRY_MUST_USE;

struct rq_tuple {
	uint32_t d, a, b, d1, a1, b1;
};

/* Rand[y, i, m] of section 5.3.5.1; m > 0. */
uint32_t rq_gen_rand(uint32_t y, uint32_t i, uint32_t m);
/* Deg[v] of section 5.3.5.2 for v < 2^20. */
uint32_t rq_gen_deg(uint32_t v, uint32_t w);
/* Tuple[K', X] of section 5.3.5.4 for internal symbol index x. */
void rq_gen_tuple(struct rq_tuple *out, const struct rq_params *p, uint32_t x);

/* Sorts v[0..n) and drops pairs of equal entries (x + x = 0 over GF(2));
 * returns the new count. */
size_t rq_cols_cancel(uint32_t *v, size_t n);

/* The most columns an LT row can touch: Deg[] <= 30, d1 <= 3. */
#define RQ_LT_MAX_COLS 33
/* Writes the columns of intermediate symbols XORed by Enc[K', C, Tuple[K',
 * isi]] into out (room for RQ_LT_MAX_COLS), sorted ascending, a column
 * appearing twice cancelled; returns their count. */
size_t rq_lt_cols(uint32_t *out, const struct rq_params *p, uint32_t isi);

/* ---- GF(256) and symbols (rq_gf256.c) ---- */

/* GF(256) with the RFC's polynomial x^8 + x^4 + x^3 + x^2 + 1, alpha = 2. */
uint8_t rq_gf_mul(uint8_t a, uint8_t b);
uint8_t rq_gf_inv(uint8_t a); /* a != 0 */
uint8_t rq_gf_exp(uint32_t i); /* alpha^i */

/* Whole-symbol operations on n bytes; dst and src do not overlap. */
void rq_sym_xor(uint8_t *dst, const uint8_t *src, size_t n);          /* dst ^= src */
/* dst = src[0] ^ ... ^ src[nsrc-1] in one pass (zero when nsrc is 0); no
 * src may alias dst. */
void rq_sym_xor_many(uint8_t *dst, const uint8_t *const *src, size_t nsrc, size_t n);
void rq_sym_muladd(uint8_t *dst, const uint8_t *src, uint8_t c, size_t n); /* dst ^= c*src */
void rq_sym_scale(uint8_t *dst, uint8_t c, size_t n);                 /* dst = c*dst */
/* dst = alpha*dst ^ src, or dst = alpha*dst when src is NULL. */
void rq_sym_mul2add(uint8_t *dst, const uint8_t *src, size_t n);

enum rq_simd {
	RQ_SIMD_PORTABLE = 0,
	RQ_SIMD_SSSE3 = 1,
	RQ_SIMD_AVX2 = 2,
};
/* Selects the fastest implementation the CPU supports, at most want, and
 * returns the one in use.  Called once implicitly; tests call it to
 * compare the implementations.  Not thread-safe against concurrent
 * codec use. */
enum rq_simd rq_simd_select(enum rq_simd want);

/* ---- constraint matrix rows (rq_precode.c) ---- */

/* The binary rows of A in compressed form: row r holds the sorted columns
 * cols[start[r] .. start[r+1]).  Rows 0..S-1 are the LDPC rows, row S+i is
 * the LT row of internal symbol index isi[i].  The H HDPC rows are dense
 * over GF(256) and described by rq_hdpc_rows() instead. */
struct rq_rows {
	uint32_t n;
	uint32_t *start;
	uint32_t *cols;
};

int rq_rows_build(struct rq_rows *out, const struct rq_params *p, const uint32_t *isi,
		  uint32_t n_isi) FERRY_MUST_USE;
void rq_rows_release(struct rq_rows *r);

/* The HDPC rows are G_HDPC = MT·GAMMA (section 5.3.3.3).  Column c < K'+S-1
 * of MT has ones in exactly two rows, written to out[0] and out[1]; its
 * last column is alpha^i in row i. */
void rq_hdpc_rows(uint32_t out[2], const struct rq_params *p, uint32_t c);

/* ---- solving and LT encoding (rq_solve.c) ---- */

/* Recovers the L intermediate symbols (out, L*t bytes) from n encoding
 * symbols: isi[i] and its t bytes sym[i], or the zero symbol when sym[i]
 * is NULL (padding symbols).  isi[] holds no duplicates.  Returns 0, or
 * -EAGAIN when these symbols do not determine the block (the constraint
 * matrix has rank below L), or -ENOMEM. */
int rq_solve(uint8_t *out, const struct rq_params *p, size_t t, const uint32_t *isi,
	     const uint8_t *const *sym, uint32_t n) FERRY_MUST_USE;

/* Enc[K', C, Tuple[K', isi]]: writes encoding symbol isi (t bytes) computed
 * from the intermediate symbols c. */
void rq_lt_encode(uint8_t *out, const struct rq_params *p, const uint8_t *c, size_t t,
		  uint32_t isi);

/* Phase-1 statistics of the last rq_solve() on this thread, for the
 * benchmark and tests: columns inactivated (including the P permanent
 * ones) and rows left to the dense system. */
struct rq_solve_stats {
	uint32_t inactive;
	uint32_t dense_rows;
};
void rq_solve_last_stats(struct rq_solve_stats *out);

#endif
