/*
 * rq_solve.c — recovering RaptorQ's intermediate symbols: solving A·C = D.
 *
 * Both ends solve the same system: the encoder with the K' rows of its
 * source and padding symbols, the decoder with whatever rows arrived.  When
 * A has full column rank the solution is unique, so any elimination order
 * yields the bytes the RFC's section 5.4.2 algorithm yields; when it does
 * not, every method fails alike and the caller must wait for more symbols.
 *
 * The method is inactivation decoding, organised so that symbols (T bytes
 * each) are touched as little as possible:
 *
 *  1. Plan (binary rows only, no symbol work).  Greedy peeling: take a row
 *     with the fewest still-active columns; keep one of them as that row's
 *     pivot, inactivate the others.  The P PI columns are inactive from
 *     the start and the HDPC rows take no part, as in the RFC.  The pivot
 *     rows then form a triangular system over the pivot columns, plus
 *     dense dependencies on the u inactive columns.
 *  2. Forward pass.  For each pivot in order, C[pivot] = D[row] + the
 *     earlier pivots in the row, treating inactive symbols as zero; a bit
 *     vector records which inactive symbols really belong in it.
 *  3. Dense system.  Rows left out of the plan, plus the H HDPC rows, are
 *     reduced to equations over the u inactive symbols alone (HDPC rows by
 *     a Horner scheme: MT·GAMMA applied without forming GAMMA), solved by
 *     Gauss-Jordan elimination over GF(256) on the coefficients first; the
 *     recorded row operations are then replayed on the symbols of the rows
 *     that became pivots only.
 *  4. Back pass.  With the inactive symbols known, the forward pass runs
 *     again with them included, giving every pivot symbol its final value.
 */
#include <string.h>

#include "core/mem.h"
#include "satellite/rq_int.h"

#define NONE UINT32_MAX
#define ACTIVE (-1)
#define INACTIVE(q) (-(int32_t)(q)-2)
#define INACTIVE_INDEX(st) ((uint32_t)(-(st)-2))

struct solver {
	const struct rq_params *p;
	size_t t;
	uint8_t *c; /* L intermediate symbols, the output */
	const uint8_t *const *sym;
	struct rq_rows rows;
	int32_t *state; /* per column: pivot step (>= 0), ACTIVE or INACTIVE(q) */
	uint32_t *piv_row, *piv_col, npiv;
	uint32_t *inact, ninact;
	uint8_t *done; /* per binary row: used as a pivot */
	const uint8_t **srcs; /* scratch: the sources of one row's symbol */
	/* planning: column -> rows for the W LT columns, and degree buckets */
	uint32_t *cstart, *crows;
	uint32_t *deg, *next, *prev, *head, maxdeg;
	/* forward pass: per pivot, which inactive symbols it depends on */
	uint64_t *mbits;
	size_t nw;
	/* dense system: source row (binary row, or rows.n + i for HDPC row i) */
	uint32_t ndense, *dense_src;
	uint8_t *coef; /* ndense x ninact */
	uint32_t *piv_dense; /* per inactive column: its pivot dense row */
	uint32_t *dense_col; /* per dense row: the column it pivots, or NONE */
	struct dense_op *ops;
	size_t nops;
};

struct dense_op {
	uint32_t dst, src; /* dst == src: scale */
	uint8_t c;
};

static __thread struct rq_solve_stats last_stats;

void rq_solve_last_stats(struct rq_solve_stats *out)
{
	*out = last_stats;
}

static const uint8_t *row_data(const struct solver *s, uint32_t r)
{
	return r < s->p->s ? NULL : s->sym[r - s->p->s];
}

static void bucket_unlink(struct solver *s, uint32_t r)
{
	if (s->prev[r] != NONE)
		s->next[s->prev[r]] = s->next[r];
	else
		s->head[s->deg[r]] = s->next[r];
	if (s->next[r] != NONE)
		s->prev[s->next[r]] = s->prev[r];
}

static void bucket_link(struct solver *s, uint32_t r)
{
	s->prev[r] = NONE;
	s->next[r] = s->head[s->deg[r]];
	if (s->next[r] != NONE)
		s->prev[s->next[r]] = r;
	s->head[s->deg[r]] = r;
}

/* Column c stops being active: rows still in play lose one degree. */
static void column_retire(struct solver *s, uint32_t c)
{
	for (uint32_t i = s->cstart[c]; i < s->cstart[c + 1]; i++) {
		uint32_t r = s->crows[i];

		if (s->done[r])
			continue;
		bucket_unlink(s, r);
		s->deg[r]--;
		bucket_link(s, r);
	}
}

static void column_inactivate(struct solver *s, uint32_t c)
{
	s->state[c] = INACTIVE(s->ninact);
	s->inact[s->ninact++] = c;
}

static int plan_alloc(struct solver *s)
{
	const struct rq_params *p = s->p;
	uint32_t n = s->rows.n;

	s->state = mem_alloc(p->l * sizeof(*s->state));
	s->piv_row = mem_alloc(p->l * sizeof(*s->piv_row));
	s->piv_col = mem_alloc(p->l * sizeof(*s->piv_col));
	s->inact = mem_alloc(p->l * sizeof(*s->inact));
	s->done = mem_calloc(n, 1);
	s->cstart = mem_calloc((size_t)p->w + 1, sizeof(*s->cstart));
	s->crows = mem_alloc(((size_t)s->rows.start[n] + 1) * sizeof(*s->crows));
	s->deg = mem_calloc(n, sizeof(*s->deg));
	s->next = mem_alloc(n * sizeof(*s->next));
	s->prev = mem_alloc(n * sizeof(*s->prev));
	if (!s->state || !s->piv_row || !s->piv_col || !s->inact || !s->done || !s->cstart ||
	    !s->crows || !s->deg || !s->next || !s->prev)
		return -ENOMEM;
	return 0;
}

/* Column adjacency and initial degrees over the W LT columns. */
static int plan_index(struct solver *s)
{
	const struct rq_params *p = s->p;
	const struct rq_rows *rw = &s->rows;

	for (uint32_t r = 0; r < rw->n; r++) {
		for (uint32_t i = rw->start[r]; i < rw->start[r + 1]; i++) {
			uint32_t c = rw->cols[i];

			if (c < p->w) {
				s->cstart[c + 1]++;
				s->deg[r]++;
			}
		}
		if (s->deg[r] > s->maxdeg)
			s->maxdeg = s->deg[r];
	}
	for (uint32_t c = 0; c < p->w; c++)
		s->cstart[c + 1] += s->cstart[c];
	{
		uint32_t longest = 0;

		for (uint32_t r = 0; r < rw->n; r++)
			if (rw->start[r + 1] - rw->start[r] > longest)
				longest = rw->start[r + 1] - rw->start[r];
		s->srcs = mem_alloc(((size_t)longest + 1) * sizeof(*s->srcs));
		if (!s->srcs)
			return -ENOMEM;
	}
	{
		AUTO_FREE uint32_t *fill = mem_dup(s->cstart, (size_t)p->w * sizeof(*fill));

		if (!fill)
			return -ENOMEM;
		for (uint32_t r = 0; r < rw->n; r++)
			for (uint32_t i = rw->start[r]; i < rw->start[r + 1]; i++)
				if (rw->cols[i] < p->w)
					s->crows[fill[rw->cols[i]]++] = r;
	}
	s->head = mem_alloc(((size_t)s->maxdeg + 1) * sizeof(*s->head));
	if (!s->head)
		return -ENOMEM;
	for (uint32_t d = 0; d <= s->maxdeg; d++)
		s->head[d] = NONE;
	for (uint32_t r = rw->n; r-- > 0;)
		bucket_link(s, r);
	for (uint32_t c = 0; c < p->l; c++)
		s->state[c] = ACTIVE;
	for (uint32_t c = p->w; c < p->l; c++)
		column_inactivate(s, c);
	return 0;
}

/* Takes row r as the pivot row of one of its active columns. */
static void plan_take(struct solver *s, uint32_t r)
{
	const struct rq_rows *rw = &s->rows;
	uint32_t pivot = NONE, best = 0;

	bucket_unlink(s, r);
	s->done[r] = 1;
	/* Keep the active column that covers the most other rows: retiring it
	 * costs nothing and lowers the most degrees; the rest are inactivated. */
	for (uint32_t i = rw->start[r]; i < rw->start[r + 1]; i++) {
		uint32_t c = rw->cols[i], cover;

		if (c >= s->p->w || s->state[c] != ACTIVE)
			continue;
		cover = s->cstart[c + 1] - s->cstart[c];
		if (pivot == NONE || cover > best) {
			pivot = c;
			best = cover;
		}
	}
	for (uint32_t i = rw->start[r]; i < rw->start[r + 1]; i++) {
		uint32_t c = rw->cols[i];

		if (c == pivot || c >= s->p->w || s->state[c] != ACTIVE)
			continue;
		column_inactivate(s, c);
		column_retire(s, c);
	}
	s->state[pivot] = (int32_t)s->npiv;
	s->piv_row[s->npiv] = r;
	s->piv_col[s->npiv++] = pivot;
	column_retire(s, pivot);
}

static int plan_build(struct solver *s)
{
	int r = plan_alloc(s);

	if (r < 0)
		return r;
	r = plan_index(s);
	if (r < 0)
		return r;
	for (;;) {
		uint32_t d = 1;

		while (d <= s->maxdeg && s->head[d] == NONE)
			d++;
		if (d > s->maxdeg)
			break;
		plan_take(s, s->head[d]);
	}
	/* Columns no binary row can pin down are left to the HDPC rows. */
	for (uint32_t c = 0; c < s->p->w; c++)
		if (s->state[c] == ACTIVE)
			column_inactivate(s, c);
	return 0;
}

/* Updates the forward pass's dependency bits of pivot k for column c. */
static void pivot_deps_add(struct solver *s, uint64_t *m, int32_t st)
{
	if (st >= 0) {
		const uint64_t *mj = s->mbits + (size_t)st * s->nw;

		for (size_t w = 0; w < s->nw; w++)
			m[w] ^= mj[w];
	} else {
		uint32_t q = INACTIVE_INDEX(st);

		m[q / 64] ^= 1ull << (q % 64);
	}
}

/* Forward pass (with_inactive false) and back pass (true): C[pivot] = D[row]
 * + the other columns of the row, inactive ones only in the back pass.
 * Each symbol is written once, from all its sources in one sweep. */
static void pass_pivots(struct solver *s, bool with_inactive)
{
	const struct rq_rows *rw = &s->rows;
	size_t t = s->t;

	for (uint32_t k = 0; k < s->npiv; k++) {
		uint32_t r = s->piv_row[k], c0 = s->piv_col[k];
		const uint8_t *d = row_data(s, r);
		uint64_t *m = s->mbits + (size_t)k * s->nw;
		size_t n = 0;

		if (d)
			s->srcs[n++] = d;
		for (uint32_t i = rw->start[r]; i < rw->start[r + 1]; i++) {
			uint32_t c = rw->cols[i];
			int32_t st = s->state[c];

			if (c == c0)
				continue;
			if (st >= 0 || with_inactive)
				s->srcs[n++] = s->c + (size_t)c * t;
			if (!with_inactive)
				pivot_deps_add(s, m, st);
		}
		rq_sym_xor_many(s->c + (size_t)c0 * t, s->srcs, n, t);
	}
}

/* Adds the inactive-symbol dependencies of column c, as 0/1 bytes, to v. */
static void column_deps_add(const struct solver *s, uint8_t *v, uint32_t c)
{
	int32_t st = s->state[c];

	if (st < 0) {
		v[INACTIVE_INDEX(st)] ^= 1;
		return;
	}
	const uint64_t *m = s->mbits + (size_t)st * s->nw;

	for (size_t w = 0; w < s->nw; w++) {
		uint64_t x = m[w];

		while (x) {
			v[w * 64 + (size_t)__builtin_ctzll(x)] ^= 1;
			x &= x - 1;
		}
	}
}

static int dense_alloc(struct solver *s)
{
	const struct rq_params *p = s->p;
	uint32_t nd = 0, u = s->ninact;

	for (uint32_t r = 0; r < s->rows.n; r++)
		nd += !s->done[r];
	s->ndense = nd + p->h;
	if (s->ndense < u)
		return -EAGAIN;
	s->dense_src = mem_alloc(s->ndense * sizeof(*s->dense_src));
	s->coef = mem_calloc(s->ndense, u ? u : 1);
	s->piv_dense = mem_alloc((u ? u : 1) * sizeof(*s->piv_dense));
	s->dense_col = mem_alloc(s->ndense * sizeof(*s->dense_col));
	s->ops = mem_alloc(((size_t)s->ndense * (u ? u : 1)) * sizeof(*s->ops));
	if (!s->dense_src || !s->coef || !s->piv_dense || !s->dense_col || !s->ops)
		return -ENOMEM;
	nd = 0;
	for (uint32_t r = 0; r < s->rows.n; r++)
		if (!s->done[r])
			s->dense_src[nd++] = r;
	for (uint32_t i = 0; i < p->h; i++)
		s->dense_src[nd++] = s->rows.n + i;
	for (uint32_t i = 0; i < s->ndense; i++)
		s->dense_col[i] = NONE;
	return 0;
}

/* Coefficients of the HDPC rows over the inactive columns.  Row i of
 * MT·GAMMA weighs column j by sum_{k >= j} MT[i][k] alpha^(k-j), so with
 * z_k = alpha z_{k-1} + x_k the row equals sum_k MT[i][k] z_k. */
static int dense_hdpc_coef(struct solver *s, uint8_t *hd)
{
	const struct rq_params *p = s->p;
	uint32_t u = s->ninact, last = p->kp + p->s - 1;
	AUTO_FREE uint8_t *z = mem_calloc(u, 1);

	if (!z)
		return -ENOMEM;
	for (uint32_t j = 0; j <= last; j++) {
		rq_sym_mul2add(z, NULL, u);
		column_deps_add(s, z, j);
		if (j < last) {
			uint32_t h[2];

			rq_hdpc_rows(h, p, j);
			rq_sym_xor(hd + (size_t)h[0] * u, z, u);
			rq_sym_xor(hd + (size_t)h[1] * u, z, u);
		} else {
			for (uint32_t i = 0; i < p->h; i++)
				rq_sym_muladd(hd + (size_t)i * u, z, rq_gf_exp(i), u);
		}
	}
	for (uint32_t i = 0; i < p->h; i++)
		column_deps_add(s, hd + (size_t)i * u, p->kp + p->s + i);
	return 0;
}

static int dense_coef(struct solver *s)
{
	const struct rq_rows *rw = &s->rows;
	uint32_t u = s->ninact, nd = s->ndense - s->p->h;

	for (uint32_t k = 0; k < nd; k++) {
		uint32_t r = s->dense_src[k];
		uint8_t *v = s->coef + (size_t)k * u;

		for (uint32_t i = rw->start[r]; i < rw->start[r + 1]; i++)
			column_deps_add(s, v, rw->cols[i]);
	}
	return dense_hdpc_coef(s, s->coef + (size_t)nd * u);
}

/* Gauss-Jordan over GF(256) on the coefficients, recording each row
 * operation.  -EAGAIN when the inactive columns are not determined. */
static int dense_eliminate(struct solver *s)
{
	uint32_t u = s->ninact;

	for (uint32_t q = 0; q < u; q++) {
		uint32_t pr = NONE;
		uint8_t *prow;

		for (uint32_t k = 0; k < s->ndense && pr == NONE; k++)
			if (s->dense_col[k] == NONE && s->coef[(size_t)k * u + q])
				pr = k;
		if (pr == NONE)
			return -EAGAIN;
		s->dense_col[pr] = q;
		s->piv_dense[q] = pr;
		prow = s->coef + (size_t)pr * u;
		if (prow[q] != 1) {
			uint8_t inv = rq_gf_inv(prow[q]);

			rq_sym_scale(prow + q, inv, u - q);
			s->ops[s->nops++] = (struct dense_op){ pr, pr, inv };
		}
		for (uint32_t k = 0; k < s->ndense; k++) {
			uint8_t *row = s->coef + (size_t)k * u;
			uint8_t f = row[q];

			if (k == pr || !f)
				continue;
			rq_sym_muladd(row + q, prow + q, f, u - q);
			s->ops[s->nops++] = (struct dense_op){ k, pr, f };
		}
	}
	return 0;
}

static uint8_t *dense_sym(struct solver *s, uint32_t k)
{
	return s->c + (size_t)s->inact[s->dense_col[k]] * s->t;
}

/* Right-hand side of binary dense row k: D[row] + its pivot columns. */
static void dense_rhs_binary(struct solver *s, uint32_t k)
{
	const struct rq_rows *rw = &s->rows;
	uint32_t r = s->dense_src[k];
	const uint8_t *d = row_data(s, r);
	size_t n = 0;

	if (d)
		s->srcs[n++] = d;
	for (uint32_t i = rw->start[r]; i < rw->start[r + 1]; i++)
		if (s->state[rw->cols[i]] >= 0)
			s->srcs[n++] = s->c + (size_t)rw->cols[i] * s->t;
	rq_sym_xor_many(dense_sym(s, k), s->srcs, n, s->t);
}

/* Right-hand sides of the dense rows that became pivots, written straight
 * into the symbol of the inactive column each one determines.  The HDPC
 * rows take the same Horner scheme as their coefficients. */
static int dense_rhs(struct solver *s)
{
	const struct rq_params *p = s->p;
	uint32_t nd = s->ndense - p->h, last = p->kp + p->s - 1;
	size_t t = s->t;
	AUTO_FREE uint8_t *z = mem_calloc(t, 1);

	if (!z)
		return -ENOMEM;
	for (uint32_t k = 0; k < s->ndense; k++) {
		if (s->dense_col[k] == NONE)
			continue;
		if (k < nd)
			dense_rhs_binary(s, k);
		else
			memset(dense_sym(s, k), 0, t);
	}
	for (uint32_t j = 0; j <= last; j++) {
		rq_sym_mul2add(z, s->state[j] >= 0 ? s->c + (size_t)j * t : NULL, t);
		if (j < last) {
			uint32_t h[2];

			rq_hdpc_rows(h, p, j);
			for (int e = 0; e < 2; e++)
				if (s->dense_col[nd + h[e]] != NONE)
					rq_sym_xor(dense_sym(s, nd + h[e]), z, t);
		} else {
			for (uint32_t i = 0; i < p->h; i++)
				if (s->dense_col[nd + i] != NONE)
					rq_sym_muladd(dense_sym(s, nd + i), z, rq_gf_exp(i), t);
		}
	}
	return 0;
}

static void dense_replay(struct solver *s)
{
	for (size_t i = 0; i < s->nops; i++) {
		const struct dense_op *op = &s->ops[i];

		if (s->dense_col[op->dst] == NONE)
			continue; /* a surplus row: never a source, never needed */
		if (op->dst == op->src)
			rq_sym_scale(dense_sym(s, op->dst), op->c, s->t);
		else
			rq_sym_muladd(dense_sym(s, op->dst), dense_sym(s, op->src), op->c, s->t);
	}
}

static void solver_release(struct solver *s)
{
	rq_rows_release(&s->rows);
	mem_free(s->state);
	mem_free(s->piv_row);
	mem_free(s->piv_col);
	mem_free(s->inact);
	mem_free(s->done);
	mem_free(s->srcs);
	mem_free(s->cstart);
	mem_free(s->crows);
	mem_free(s->deg);
	mem_free(s->next);
	mem_free(s->prev);
	mem_free(s->head);
	mem_free(s->mbits);
	mem_free(s->dense_src);
	mem_free(s->coef);
	mem_free(s->piv_dense);
	mem_free(s->dense_col);
	mem_free(s->ops);
}

static int solve_run(struct solver *s)
{
	int r = plan_build(s);

	if (r < 0)
		return r;
	s->nw = (s->ninact + 63) / 64;
	s->mbits = mem_calloc((size_t)s->npiv * s->nw + 1, sizeof(*s->mbits));
	if (!s->mbits)
		return -ENOMEM;
	pass_pivots(s, false);
	r = dense_alloc(s);
	last_stats.inactive = s->ninact;
	last_stats.dense_rows = s->ndense;
	if (r < 0)
		return r;
	r = dense_coef(s);
	if (r < 0)
		return r;
	r = dense_eliminate(s);
	if (r < 0)
		return r;
	r = dense_rhs(s);
	if (r < 0)
		return r;
	dense_replay(s);
	pass_pivots(s, true);
	return 0;
}

int rq_solve(uint8_t *out, const struct rq_params *p, size_t t, const uint32_t *isi,
	     const uint8_t *const *sym, uint32_t n)
{
	struct solver s = { .p = p, .t = t, .c = out, .sym = sym };
	int r;

	memset(&last_stats, 0, sizeof(last_stats));
	if ((uint64_t)n + p->s + p->h < p->l)
		return -EAGAIN;
	r = rq_rows_build(&s.rows, p, isi, n);
	if (r >= 0)
		r = solve_run(&s);
	solver_release(&s);
	return r;
}

void rq_lt_encode(uint8_t *out, const struct rq_params *p, const uint8_t *c, size_t t,
		  uint32_t isi)
{
	uint32_t cols[RQ_LT_MAX_COLS];
	const uint8_t *srcs[RQ_LT_MAX_COLS];
	size_t n = rq_lt_cols(cols, p, isi);

	for (size_t i = 0; i < n; i++)
		srcs[i] = c + (size_t)cols[i] * t;
	rq_sym_xor_many(out, srcs, n, t);
}
