/*
 * chunker.c — FastCDC cut-point search (see chunker.h).
 *
 * The gear hash shifts left one bit per byte, so its top bits depend on
 * the most recent 64 bytes; the masks therefore select high bits.  Only
 * the top 48 bits are used, so every tested bit has seen at least 16 bytes.
 */
#include "packager/chunker.h"

#include "core/limits.h"

void chunker_params_default(struct chunker_params *out)
{
	out->min = CHUNKER_DEFAULT_MIN;
	out->avg = CHUNKER_DEFAULT_AVG;
	out->max = CHUNKER_DEFAULT_MAX;
	out->normalization = CHUNKER_DEFAULT_NORMALIZATION;
	out->seed = CHUNKER_DEFAULT_SEED;
}

/* splitmix64: a fixed, documented way to expand the seed into the table. */
static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* A mask of `bits` one-bits spread evenly over the top 48 bits. */
static uint64_t spread_mask(unsigned bits)
{
	uint64_t m = 0;

	for (unsigned i = 0; i < bits; i++)
		m |= UINT64_C(1) << (63 - (i * 48) / bits);
	return m;
}

static unsigned log2_exact(uint32_t v)
{
	unsigned n = 0;

	while ((UINT32_C(1) << n) < v)
		n++;
	return n;
}

int chunker_init(struct chunker *c, const struct chunker_params *p)
{
	uint64_t s = p->seed;
	unsigned bits;

	if (p->min < LIMIT_CHUNK_MIN_FLOOR || p->min >= p->avg || p->avg >= p->max ||
	    p->max > LIMIT_CHUNK_MAX || (p->avg & (p->avg - 1)) != 0 || p->normalization > 4)
		return err_set(-EINVAL,
			       "chunker parameters min %u avg %u max %u normalization %u are unusable",
			       p->min, p->avg, p->max, p->normalization);
	bits = log2_exact(p->avg);
	if (bits < p->normalization + 4 || bits + p->normalization > 40)
		return err_set(-EINVAL, "chunker average %u is out of range", p->avg);
	c->p = *p;
	c->mask_small = spread_mask(bits + p->normalization);
	c->mask_large = spread_mask(bits - p->normalization);
	for (int i = 0; i < 256; i++)
		c->gear[i] = splitmix64(&s);
	return 0;
}

size_t chunker_next(const struct chunker *c, const uint8_t *p, size_t n, bool eof)
{
	const uint64_t *gear = c->gear;
	size_t normal = c->p.avg, end = n, i;
	uint64_t h = 0;

	if (n <= c->p.min)
		return eof ? n : 0;
	if (n < c->p.max && !eof)
		return 0;
	if (end > c->p.max)
		end = c->p.max;
	if (normal > end)
		normal = end;
	/* The min bytes are skipped, but the hash must have seen the 64 bytes
	 * before the first candidate so cuts do not depend on where min falls. */
	for (i = c->p.min - 64; i < c->p.min; i++)
		h = (h << 1) + gear[p[i]];
	for (; i < normal; i++) {
		h = (h << 1) + gear[p[i]];
		if (!(h & c->mask_small))
			return i + 1;
	}
	for (; i < end; i++) {
		h = (h << 1) + gear[p[i]];
		if (!(h & c->mask_large))
			return i + 1;
	}
	return end;
}
