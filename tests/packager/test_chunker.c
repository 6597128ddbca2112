/*
 * test_chunker.c — FastCDC cut points: checked-in vectors, bounds, and the
 * property that makes content-defined chunking worth having (an insertion
 * moves only the cuts near it).
 *
 * The vectors in tests/data/chunker_vectors.txt pin the format: if they
 * change, every repository's chunk IDs change.  Regenerate only on purpose:
 * FERRY_REGEN=1 build/debug/tests/packager/test_chunker.
 */
#include <stdlib.h>

#include "core/buf.h"
#include "core/fsx.h"
#include "core/mem.h"
#include "packager/chunker.h"
#include "tests/harness.h"

static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Random bytes, or text-like bytes (few distinct values) when text. */
static uint8_t *make_input(uint64_t seed, size_t n, bool text)
{
	uint8_t *p = mem_alloc(n);

	rng_state = seed;
	for (size_t i = 0; i < n; i++)
		p[i] = text ? (uint8_t)("etaoin shrdlu\n"[rng() % 14]) : (uint8_t)rng();
	return p;
}

/* Cuts the whole buffer, feeding it as a stream would. */
static size_t cut_all(const struct chunker *c, const uint8_t *p, size_t n, size_t *cuts, size_t cap)
{
	size_t off = 0, k = 0;

	while (off < n) {
		size_t len = chunker_next(c, p + off, n - off, true);

		CHECK(len > 0);
		if (k < cap)
			cuts[k] = off + len;
		k++;
		off += len;
	}
	return k;
}

static void test_defaults_valid(void)
{
	struct chunker_params p;
	struct chunker c;

	chunker_params_default(&p);
	CHECK_OK(chunker_init(&c, &p));
	p.avg = 60000;
	CHECK(chunker_init(&c, &p) == -EINVAL);
	chunker_params_default(&p);
	p.min = 512;
	CHECK(chunker_init(&c, &p) == -EINVAL);
	chunker_params_default(&p);
	p.max = 64u << 20;
	CHECK(chunker_init(&c, &p) == -EINVAL);
}

static void test_bounds(void)
{
	struct chunker_params p;
	struct chunker c;
	size_t n = 8u << 20, cuts[1024], k, prev = 0;
	AUTO_FREE uint8_t *in = make_input(1, n, false);

	chunker_params_default(&p);
	CHECK_OK(chunker_init(&c, &p));
	k = cut_all(&c, in, n, cuts, ARRAY_SIZE(cuts));
	CHECK(k < ARRAY_SIZE(cuts));
	for (size_t i = 0; i < k; i++) {
		size_t len = cuts[i] - prev;

		CHECK(len <= p.max);
		CHECK(i == k - 1 || len >= p.min);
		prev = cuts[i];
	}
	CHECK_EQ_U(prev, n);
	/* Normalized chunking keeps the mean near avg. */
	CHECK_MSG(n / k > p.avg * 3 / 4 && n / k < p.avg * 3 / 2, "mean %zu", n / k);
}

static void test_needs_more_data(void)
{
	struct chunker_params p;
	struct chunker c;
	AUTO_FREE uint8_t *in = make_input(2, 300000, false);

	chunker_params_default(&p);
	CHECK_OK(chunker_init(&c, &p));
	CHECK_EQ_U(chunker_next(&c, in, 100000, false), 0);
	CHECK_EQ_U(chunker_next(&c, in, 1000, true), 1000);
	CHECK(chunker_next(&c, in, 300000, false) > 0);
	/* The answer does not depend on how much lies past max. */
	CHECK_EQ_U(chunker_next(&c, in, 300000, false), chunker_next(&c, in, p.max, false));
}

static void test_insertion_is_local(void)
{
	struct chunker_params p;
	struct chunker c;
	size_t n = 4u << 20, a[512], b[512], ka, kb, same = 0;
	AUTO_FREE uint8_t *in = make_input(3, n, false);
	AUTO_FREE uint8_t *ed = mem_alloc(n + 100);

	/* Insert 100 bytes at 1 MiB. */
	memcpy(ed, in, 1u << 20);
	memset(ed + (1u << 20), 'x', 100);
	memcpy(ed + (1u << 20) + 100, in + (1u << 20), n - (1u << 20));
	chunker_params_default(&p);
	CHECK_OK(chunker_init(&c, &p));
	ka = cut_all(&c, in, n, a, 512);
	kb = cut_all(&c, ed, n + 100, b, 512);
	for (size_t i = 0, j = 0; i < ka && j < kb;) {
		size_t bj = b[j] > (1u << 20) ? b[j] - 100 : b[j];

		if (a[i] == bj) {
			same++;
			i++;
			j++;
		} else if (a[i] < bj) {
			i++;
		} else {
			j++;
		}
	}
	/* All but the one or two chunks around the edit survive. */
	CHECK_MSG(same + 3 >= ka, "only %zu of %zu cuts survived", same, ka);
}

struct vector {
	const char *name;
	uint64_t seed;
	size_t size;
	bool text;
	uint32_t min, avg, max;
};

static const struct vector vectors[] = {
	{ "random-2M-default", 11, 2u << 20, false, 16u << 10, 64u << 10, 256u << 10 },
	{ "text-1M-default", 12, 1u << 20, true, 16u << 10, 64u << 10, 256u << 10 },
	{ "random-1M-small", 13, 1u << 20, false, 2u << 10, 8u << 10, 32u << 10 },
	{ "random-100k-default", 14, 100000, false, 16u << 10, 64u << 10, 256u << 10 },
};

static void format_vector(struct buf *out, const struct vector *v)
{
	struct chunker_params p;
	struct chunker c;
	size_t cuts[4096], k;
	AUTO_FREE uint8_t *in = make_input(v->seed, v->size, v->text);

	chunker_params_default(&p);
	p.min = v->min;
	p.avg = v->avg;
	p.max = v->max;
	CHECK_OK(chunker_init(&c, &p));
	k = cut_all(&c, in, v->size, cuts, ARRAY_SIZE(cuts));
	CHECK(k <= ARRAY_SIZE(cuts));
	CHECK_OK(buf_printf(out, "%s", v->name));
	for (size_t i = 0; i < k; i++)
		CHECK_OK(buf_printf(out, " %zu", cuts[i]));
	CHECK_OK(buf_append_str(out, "\n"));
}

static void test_vectors(void)
{
	struct buf want, got;

	buf_init(&want, 1u << 20);
	buf_init(&got, 1u << 20);
	for (size_t i = 0; i < ARRAY_SIZE(vectors); i++)
		format_vector(&got, &vectors[i]);
	if (getenv("FERRY_REGEN")) {
		CHECK_OK(fs_write_atomic(t_data("chunker_vectors.txt"), got.data, got.len));
	}
	CHECK_OK(fs_read_file(&want, t_data("chunker_vectors.txt"), 1u << 20));
	CHECK_MSG(want.len == got.len && memcmp(want.data, got.data, got.len) == 0,
		  "cut points differ from tests/data/chunker_vectors.txt");
	buf_release(&want);
	buf_release(&got);
}

int main(void)
{
	return t_main((struct t_case[]){
		{ "parameters are validated", test_defaults_valid },
		{ "chunks stay within min/max and average near avg", test_bounds },
		{ "asks for more data until max or eof", test_needs_more_data },
		{ "an insertion moves only nearby cuts", test_insertion_is_local },
		{ "cut points match the checked-in vectors", test_vectors },
		{ 0 } });
}
