/*
 * rq_tuple.c — block parameters and the RaptorQ generators.
 *
 * From the number K of source symbols in a block, section 5.3.3.3 derives
 * K' (the first row of Table 2 with K' >= K), S, H, W and from them L, P,
 * P1 and B.  Section 5.3.5 then defines the deterministic generators that
 * both ends must reproduce bit for bit: Rand[y, i, m] mixes the four V
 * tables, Deg[v] maps a 20-bit value to an LT degree, and Tuple[K', X]
 * gives the (d, a, b, d1, a1, b1) that pick which intermediate symbols an
 * encoding symbol XORs together (Enc[], section 5.3.5.3).
 */
#include "core/limits.h"
#include "satellite/rq_int.h"

static bool is_prime(uint32_t n)
{
	if (n < 2)
		return false;
	for (uint32_t q = 2; q * q <= n; q++)
		if (n % q == 0)
			return false;
	return true;
}

int rq_params_init(struct rq_params *out, uint32_t k)
{
	const struct rq_sys_row *row = NULL;

	if (k == 0 || k > LIMIT_RQ_SOURCE_SYMBOLS)
		return err_set(-EINVAL, "raptorq: %u source symbols (1..%u)", k,
			       LIMIT_RQ_SOURCE_SYMBOLS);
	for (size_t i = 0; i < RQ_SYS_ROWS; i++) {
		if (rq_sys_table[i].kp >= k) {
			row = &rq_sys_table[i];
			break;
		}
	}
	/* LIMIT_RQ_SOURCE_SYMBOLS lies far below the last row (56403). */
	out->k = k;
	out->kp = row->kp;
	out->j = row->j;
	out->s = row->s;
	out->h = row->h;
	out->w = row->w;
	out->l = out->kp + out->s + out->h;
	out->p = out->l - out->w;
	out->p1 = out->p;
	while (!is_prime(out->p1))
		out->p1++;
	out->b = out->w - out->s;
	return 0;
}

uint32_t rq_gen_rand(uint32_t y, uint32_t i, uint32_t m)
{
	uint32_t x0 = (y + i) & 0xff;
	uint32_t x1 = ((y >> 8) + i) & 0xff;
	uint32_t x2 = ((y >> 16) + i) & 0xff;
	uint32_t x3 = ((y >> 24) + i) & 0xff;

	return (rq_v0[x0] ^ rq_v1[x1] ^ rq_v2[x2] ^ rq_v3[x3]) % m;
}

uint32_t rq_gen_deg(uint32_t v, uint32_t w)
{
	uint32_t d = 1;

	while (d < RQ_DEG_ROWS - 1 && v >= rq_deg_table[d])
		d++;
	return d < w - 2 ? d : w - 2;
}

void rq_gen_tuple(struct rq_tuple *out, const struct rq_params *p, uint32_t x)
{
	uint32_t a = 53591 + p->j * 997;
	uint32_t b, y, v;

	if (a % 2 == 0)
		a++;
	b = 10267 * (p->j + 1);
	y = b + x * a; /* mod 2^32 by unsigned wrap-around */
	v = rq_gen_rand(y, 0, 1u << 20);
	out->d = rq_gen_deg(v, p->w);
	out->a = 1 + rq_gen_rand(y, 1, p->w - 1);
	out->b = rq_gen_rand(y, 2, p->w);
	out->d1 = out->d < 4 ? 2 + rq_gen_rand(x, 3, 2) : 2;
	out->a1 = 1 + rq_gen_rand(x, 4, p->p1 - 1);
	out->b1 = rq_gen_rand(x, 5, p->p1);
}

static void sort_u32(uint32_t *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		uint32_t x = v[i];
		size_t j = i;

		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

size_t rq_cols_cancel(uint32_t *v, size_t n)
{
	size_t m = 0;

	sort_u32(v, n);
	for (size_t i = 0; i < n;) {
		if (i + 1 < n && v[i] == v[i + 1]) {
			i += 2;
			continue;
		}
		v[m++] = v[i++];
	}
	return m;
}

size_t rq_lt_cols(uint32_t *out, const struct rq_params *p, uint32_t isi)
{
	struct rq_tuple t;
	uint32_t b, b1;
	size_t n = 0;

	rq_gen_tuple(&t, p, isi);
	b = t.b;
	out[n++] = b;
	for (uint32_t j = 1; j < t.d; j++) {
		b = (b + t.a) % p->w;
		out[n++] = b;
	}
	b1 = t.b1;
	while (b1 >= p->p)
		b1 = (b1 + t.a1) % p->p1;
	out[n++] = p->w + b1;
	for (uint32_t j = 1; j < t.d1; j++) {
		b1 = (b1 + t.a1) % p->p1;
		while (b1 >= p->p)
			b1 = (b1 + t.a1) % p->p1;
		out[n++] = p->w + b1;
	}
	return rq_cols_cancel(out, n);
}
