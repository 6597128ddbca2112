/*
 * rq_encode.c — the RaptorQ encoder for one source block (RFC 6330 5.3).
 *
 * rq_encoder_new() copies the block into K symbols of T bytes (the last one
 * zero-padded), adds the K' - K padding symbols implicitly, and solves for
 * the L intermediate symbols once.  Every encoding symbol is then cheap:
 * a source symbol is a copy, a repair symbol the XOR of the few
 * intermediate symbols Tuple[K', ISI] names.  The encoder never changes
 * after creation, so several threads may ask it for symbols at once.
 */
#include <string.h>

#include "core/limits.h"
#include "core/mem.h"
#include "satellite/rq_int.h"
#include "satellite/satellite.h"

struct rq_encoder {
	struct rq_params p;
	size_t t;
	uint8_t *src; /* K symbols */
	uint8_t *c;   /* L intermediate symbols */
};

static int encoder_solve(struct rq_encoder *e)
{
	const struct rq_params *p = &e->p;
	AUTO_FREE uint32_t *isi = mem_alloc(p->kp * sizeof(*isi));
	AUTO_FREE const uint8_t **sym = mem_alloc(p->kp * sizeof(*sym));
	int r;

	if (!isi || !sym)
		return -ENOMEM;
	for (uint32_t i = 0; i < p->kp; i++) {
		isi[i] = i;
		sym[i] = i < p->k ? e->src + (size_t)i * e->t : NULL;
	}
	r = rq_solve(e->c, p, e->t, isi, sym, p->kp);
	/* Table 2's J(K') makes these K' rows solvable by construction. */
	if (r == -EAGAIN)
		return err_set(-EPROTO, "raptorq: systematic rows of K'=%u are singular", p->kp);
	return r;
}

int rq_encoder_new(struct rq_encoder **out, const void *block, size_t len, uint32_t k,
		   size_t symbol_size)
{
	struct rq_encoder *e;
	size_t total, lsize;
	int r;

	*out = NULL;
	if (symbol_size == 0 || symbol_size > LIMIT_RQ_SYMBOL_BYTES)
		return err_set(-EINVAL, "raptorq: symbol size %zu", symbol_size);
	e = mem_calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	r = rq_params_init(&e->p, k);
	if (r < 0)
		goto fail;
	e->t = symbol_size;
	if (!mem_mul_ok(&total, k, symbol_size) || len > total) {
		r = err_set(-EINVAL, "raptorq: %zu bytes do not fit %u symbols of %zu", len, k,
			    symbol_size);
		goto fail;
	}
	r = -ENOMEM;
	e->src = mem_calloc(total, 1);
	if (!mem_mul_ok(&lsize, e->p.l, symbol_size) || !e->src)
		goto fail;
	e->c = mem_alloc(lsize);
	if (!e->c)
		goto fail;
	if (len)
		memcpy(e->src, block, len);
	r = encoder_solve(e);
	if (r < 0)
		goto fail;
	*out = e;
	return 0;
fail:
	rq_encoder_free(e);
	return r;
}

int rq_encoder_symbol(uint8_t *out, const struct rq_encoder *enc, uint32_t esi)
{
	const struct rq_params *p = &enc->p;

	if (esi > RQ_ESI_MAX)
		return err_set(-EINVAL, "raptorq: ESI %u out of range", esi);
	if (esi < p->k)
		memcpy(out, enc->src + (size_t)esi * enc->t, enc->t);
	else
		rq_lt_encode(out, p, enc->c, enc->t, esi + (p->kp - p->k));
	return 0;
}

uint32_t rq_encoder_source_symbols(const struct rq_encoder *enc)
{
	return enc->p.k;
}

size_t rq_encoder_symbol_size(const struct rq_encoder *enc)
{
	return enc->t;
}

void rq_encoder_free(struct rq_encoder *enc)
{
	if (!enc)
		return;
	mem_free(enc->src);
	mem_free(enc->c);
	mem_free(enc);
}
