/*
 * rq_decode.c — the RaptorQ decoder for one source block (RFC 6330 5.4).
 *
 * The decoder collects encoding symbols in a store of fixed capacity,
 * K + LIMIT_RQ_EXTRA_SYMBOLS, allocated up front: its memory is bounded
 * whatever arrives.  Policy (also in satellite.h):
 *
 *   - a symbol whose ESI is already held is ignored;
 *   - while there is room, every new symbol is kept;
 *   - when full, a new source symbol replaces a held repair symbol (source
 *     symbols make decoding cheaper), a new repair symbol is ignored.
 *
 * Duplicate source ESIs are found in a bitmap; repair ESIs in a small
 * open-addressing set that only grows (a replaced repair symbol stays
 * "seen", which merely ignores a later copy of it).
 *
 * rq_decoder_decode() copies the block straight out when all K source
 * symbols are held; otherwise it solves for the intermediate symbols from
 * every held symbol plus the K' - K known zero padding symbols, and
 * regenerates only the missing source symbols.
 */
#include <string.h>

#include "core/limits.h"
#include "core/mem.h"
#include "satellite/rq_int.h"
#include "satellite/satellite.h"

struct rq_decoder {
	struct rq_params p;
	size_t t;
	uint32_t cap, n;
	uint32_t *esi;  /* per slot */
	uint8_t *store; /* cap symbols */
	uint8_t *have;  /* per source ESI: slot + 1, or 0 */
	uint32_t *seen; /* repair ESIs held or once held, UINT32_MAX = empty */
	uint32_t seen_mask;
	uint32_t nsrc;
};

int rq_decoder_new(struct rq_decoder **out, uint32_t k, size_t symbol_size)
{
	AUTO_FREE struct rq_decoder *d = NULL;
	size_t bytes;
	uint32_t seen = 1;
	int r;

	*out = NULL;
	if (symbol_size == 0 || symbol_size > LIMIT_RQ_SYMBOL_BYTES)
		return err_set(-EINVAL, "raptorq: symbol size %zu", symbol_size);
	d = mem_calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	r = rq_params_init(&d->p, k);
	if (r < 0)
		return r;
	d->t = symbol_size;
	d->cap = k + LIMIT_RQ_EXTRA_SYMBOLS;
	while (seen < 2 * d->cap)
		seen <<= 1;
	d->seen_mask = seen - 1;
	d->esi = mem_alloc(d->cap * sizeof(*d->esi));
	d->have = mem_calloc(k, 1);
	d->seen = mem_alloc(seen * sizeof(*d->seen));
	if (!mem_mul_ok(&bytes, d->cap, symbol_size) || !d->esi || !d->have || !d->seen ||
	    !(d->store = mem_alloc(bytes))) {
		rq_decoder_free(TAKE_PTR(d));
		return -ENOMEM;
	}
	memset(d->seen, 0xff, seen * sizeof(*d->seen));
	*out = TAKE_PTR(d);
	return 0;
}

/* Marks repair ESI esi as seen; false if it already was. */
static bool seen_insert(struct rq_decoder *d, uint32_t esi)
{
	uint32_t h = (esi * 2654435761u) & d->seen_mask;

	while (d->seen[h] != UINT32_MAX) {
		if (d->seen[h] == esi)
			return false;
		h = (h + 1) & d->seen_mask;
	}
	d->seen[h] = esi;
	return true;
}

/* A slot for a new source symbol when the store is full: the last slot
 * holding a repair symbol, or UINT32_MAX if every slot holds a source
 * symbol (impossible: there are more slots than source symbols). */
static uint32_t slot_for_source(const struct rq_decoder *d)
{
	for (uint32_t i = d->n; i-- > 0;)
		if (d->esi[i] >= d->p.k)
			return i;
	return UINT32_MAX;
}

int rq_decoder_add(struct rq_decoder *dec, uint32_t esi, const void *sym, size_t len)
{
	uint32_t slot;

	if (esi > RQ_ESI_MAX)
		return err_set(-EBADMSG, "raptorq: ESI %u out of range", esi);
	if (len != dec->t)
		return err_set(-EBADMSG, "raptorq: symbol of %zu bytes, expected %zu", len, dec->t);
	if (esi < dec->p.k) {
		if (dec->have[esi])
			return 0;
		slot = dec->n < dec->cap ? dec->n++ : slot_for_source(dec);
		if (slot == UINT32_MAX)
			return 0;
		dec->have[esi] = 1;
		dec->nsrc++;
	} else {
		if (dec->n == dec->cap || !seen_insert(dec, esi))
			return 0;
		slot = dec->n++;
	}
	dec->esi[slot] = esi;
	memcpy(dec->store + (size_t)slot * dec->t, sym, dec->t);
	return 1;
}

uint32_t rq_decoder_count(const struct rq_decoder *dec)
{
	return dec->n;
}

static void copy_sources(uint8_t *out, const struct rq_decoder *d)
{
	for (uint32_t i = 0; i < d->n; i++)
		if (d->esi[i] < d->p.k)
			memcpy(out + (size_t)d->esi[i] * d->t, d->store + (size_t)i * d->t, d->t);
}

static int decode_solve(uint8_t *out, const struct rq_decoder *d)
{
	const struct rq_params *p = &d->p;
	uint32_t n = d->n + (p->kp - p->k);
	AUTO_FREE uint32_t *isi = mem_alloc(n * sizeof(*isi));
	AUTO_FREE const uint8_t **sym = mem_alloc(n * sizeof(*sym));
	AUTO_FREE uint8_t *c = NULL;
	size_t lsize = (size_t)p->l * d->t;
	int r;

	if (!isi || !sym || !(c = mem_alloc(lsize)))
		return -ENOMEM;
	for (uint32_t i = 0; i < d->n; i++) {
		isi[i] = d->esi[i] < p->k ? d->esi[i] : d->esi[i] + (p->kp - p->k);
		sym[i] = d->store + (size_t)i * d->t;
	}
	for (uint32_t i = d->n; i < n; i++) {
		isi[i] = p->k + (i - d->n);
		sym[i] = NULL;
	}
	r = rq_solve(c, p, d->t, isi, sym, n);
	if (r < 0)
		return r;
	for (uint32_t e = 0; e < p->k; e++)
		if (!d->have[e])
			rq_lt_encode(out + (size_t)e * d->t, p, c, d->t, e);
	copy_sources(out, d);
	return 0;
}

int rq_decoder_decode(uint8_t *out, const struct rq_decoder *dec)
{
	if (dec->n < dec->p.k)
		return -EAGAIN;
	if (dec->nsrc == dec->p.k) {
		copy_sources(out, dec);
		return 0;
	}
	return decode_solve(out, dec);
}

void rq_decoder_free(struct rq_decoder *dec)
{
	if (!dec)
		return;
	mem_free(dec->esi);
	mem_free(dec->store);
	mem_free(dec->have);
	mem_free(dec->seen);
	mem_free(dec);
}
