/*
 * rq_precode.c — the rows of RaptorQ's constraint matrix A.
 *
 * Section 5.3.3.4 stacks three kinds of rows over the L intermediate
 * symbols C[0..L-1]:
 *
 *   S LDPC rows   binary: each of the first B columns appears in three rows
 *                 (a circulant pattern), then an S x S identity, then two
 *                 consecutive PI columns per row;
 *   H HDPC rows   dense over GF(256): MT·GAMMA on the first K'+S columns,
 *                 then an H x H identity;
 *   one LT row    binary, per encoding symbol: the columns Enc[] XORs.
 *
 * The binary rows are built here in compressed sparse form.  The HDPC rows
 * are never materialised: rq_solve.c evaluates them with a Horner scheme,
 * for which it needs only where MT has its ones (rq_hdpc_rows()).
 */
#include <string.h>

#include "core/mem.h"
#include "satellite/rq_int.h"

void rq_hdpc_rows(uint32_t out[2], const struct rq_params *p, uint32_t c)
{
	uint32_t h1 = rq_gen_rand(c + 1, 6, p->h);

	out[0] = h1;
	out[1] = (h1 + rq_gen_rand(c + 1, 7, p->h - 1) + 1) % p->h;
}

/* Calls emit(row, col) for every entry of the LDPC rows, in a fixed order. */
#define LDPC_FOR_EACH(p, emit)                                                 \
	do {                                                                   \
		for (uint32_t i_ = 0; i_ < (p)->b; i_++) {                     \
			uint32_t a_ = 1 + i_ / (p)->s, b_ = i_ % (p)->s;       \
			emit(b_, i_);                                          \
			b_ = (b_ + a_) % (p)->s;                               \
			emit(b_, i_);                                          \
			b_ = (b_ + a_) % (p)->s;                               \
			emit(b_, i_);                                          \
		}                                                              \
		for (uint32_t i_ = 0; i_ < (p)->s; i_++) {                     \
			emit(i_, (p)->b + i_);                                 \
			emit(i_, (p)->w + i_ % (p)->p);                        \
			emit(i_, (p)->w + (i_ + 1) % (p)->p);                  \
		}                                                              \
	} while (0)

static int ldpc_build(uint32_t **out_cols, uint32_t *start, const struct rq_params *p)
{
	AUTO_FREE uint32_t *fill = mem_calloc(p->s + 1, sizeof(*fill));
	uint32_t *cols;
	size_t total = 3 * (size_t)p->b + 3 * (size_t)p->s;

	if (!fill)
		return -ENOMEM;
#define COUNT(r, c) fill[(r) + 1]++
	LDPC_FOR_EACH(p, COUNT);
#undef COUNT
	for (uint32_t r = 0; r < p->s; r++)
		fill[r + 1] += fill[r];
	cols = mem_alloc(total * sizeof(*cols));
	if (!cols)
		return -ENOMEM;
	for (uint32_t r = 0; r <= p->s; r++)
		start[r] = fill[r];
#define PUT(r, c) cols[fill[r]++] = (c)
	LDPC_FOR_EACH(p, PUT);
#undef PUT
	*out_cols = cols;
	return 0;
}

int rq_rows_build(struct rq_rows *out, const struct rq_params *p, const uint32_t *isi,
		  uint32_t n_isi)
{
	AUTO_FREE uint32_t *ldpc = NULL;
	AUTO_FREE uint32_t *start = NULL;
	AUTO_FREE uint32_t *cols = NULL;
	uint32_t n = p->s + n_isi, at = 0;
	size_t cap;
	int r;

	start = mem_alloc(((size_t)n + 1) * sizeof(*start));
	if (!start)
		return -ENOMEM;
	r = ldpc_build(&ldpc, start, p);
	if (r < 0)
		return r;
	cap = start[p->s] + (size_t)n_isi * RQ_LT_MAX_COLS;
	cols = mem_alloc(cap * sizeof(*cols));
	if (!cols)
		return -ENOMEM;
	for (uint32_t row = 0; row < p->s; row++) {
		uint32_t len = start[row + 1] - start[row];

		memcpy(cols + at, ldpc + start[row], len * sizeof(*cols));
		start[row] = at;
		at += (uint32_t)rq_cols_cancel(cols + at, len);
	}
	for (uint32_t i = 0; i < n_isi; i++) {
		start[p->s + i] = at;
		at += (uint32_t)rq_lt_cols(cols + at, p, isi[i]);
	}
	start[n] = at;
	out->n = n;
	out->start = TAKE_PTR(start);
	out->cols = TAKE_PTR(cols);
	return 0;
}

void rq_rows_release(struct rq_rows *r)
{
	mem_free(r->start);
	mem_free(r->cols);
	r->start = NULL;
	r->cols = NULL;
	r->n = 0;
}
