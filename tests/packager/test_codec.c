/*
 * test_codec.c — the zstd adapter: round trips, the frame's shape, the
 * zstd CLI as an independent decoder and encoder, refusal of malformed or
 * mis-sized frames, the raw-storage rule, and allocation failure inside
 * zstd.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/bytes.h"
#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "packager/codec.h"
#include "tests/harness.h"

enum kind { TEXT, RANDOM, ZEROS };

static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Fills p with n bytes of the given kind, reproducibly from seed. */
static void fill(uint8_t *p, size_t n, enum kind k, uint64_t seed)
{
	static const char *words[] = {"ferry ",	   "school ",  "county ", "lesson ",
				      "grade ",	   "math ",    "the ",	  "of ",
				      "textbook ", "chapter ", "\n"};
	size_t i = 0;

	rng_state = seed * 2654435761u + 1;
	while (i < n) {
		if (k == ZEROS) {
			p[i++] = 0;
		} else if (k == RANDOM) {
			p[i++] = (uint8_t)rng();
		} else {
			const char *w = words[rng() % ARRAY_SIZE(words)];

			for (; *w && i < n; w++)
				p[i++] = (uint8_t)*w;
		}
	}
}

static struct codec *new_codec(void)
{
	struct codec *c = NULL;

	CHECK_OK(codec_new(&c, CODEC_LEVEL_DEFAULT));
	return c;
}

/* Compresses src into a fresh buffer; caller frees. */
static uint8_t *compress(size_t *len, struct codec *c, const uint8_t *src, size_t n)
{
	size_t cap = codec_compress_bound(n);
	uint8_t *dst = mem_alloc(cap);

	CHECK(dst);
	CHECK_OK(codec_compress(len, c, dst, cap, src, n));
	CHECK(*len <= cap);
	return dst;
}

static void test_round_trip(void)
{
	static const size_t sizes[] = {1, 2, 100, 4096, 65536, 256u << 10, LIMIT_CHUNK_MAX};
	struct codec *c = new_codec();

	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
		for (int k = TEXT; k <= ZEROS; k++) {
			size_t n = sizes[s], len = 0;
			uint8_t *src = mem_alloc(n), *out = mem_alloc(n), *frame;

			CHECK(src && out);
			fill(src, n, (enum kind)k, s + 1);
			frame = compress(&len, c, src, n);
			memset(out, 0xAA, n);
			CHECK_OK(codec_decompress(c, out, n, frame, len));
			CHECK_MSG(memcmp(src, out, n) == 0, "size %zu kind %d", n, k);
			if (k != RANDOM && n >= 4096)
				CHECK_MSG(len < n / 2, "size %zu kind %d: frame %zu", n, k, len);
			mem_free(src);
			mem_free(out);
			mem_free(frame);
		}
	}
	codec_free(c);
}

/* RFC 8878 section 3.1.1.1.1: the frame header descriptor. */
static void test_frame_shape(void)
{
	struct codec *c = new_codec();
	static const size_t sizes[] = {1, 200, 70000, 300000};

	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
		uint8_t *src = mem_alloc(sizes[s]), *frame;
		size_t len = 0;
		uint8_t fhd;

		fill(src, sizes[s], TEXT, 7);
		frame = compress(&len, c, src, sizes[s]);
		CHECK(len > 5);
		CHECK_EQ_U(get_le32(frame), 0xFD2FB528u);
		fhd = frame[4];
		CHECK_MSG(fhd >> 6 != 0 || (fhd & 0x20), "no content size: FHD %#x", fhd);
		CHECK_MSG((fhd & 0x04) == 0, "checksum flag set: FHD %#x", fhd);
		CHECK_MSG((fhd & 0x03) == 0, "dictionary ID present: FHD %#x", fhd);
		mem_free(src);
		mem_free(frame);
	}
	codec_free(c);
}

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	CHECK(f);
	CHECK(fwrite(p, 1, n, f) == n);
	CHECK(fclose(f) == 0);
}

static void test_zstd_cli_decodes(void)
{
	char in[600], out[600], cmd[1400];
	size_t n = 300000, len = 0;
	uint8_t *src = mem_alloc(n), *frame;
	struct codec *c = new_codec();
	struct buf b;

	fill(src, n, TEXT, 3);
	frame = compress(&len, c, src, n);
	snprintf(in, sizeof(in), "%s/chunk.zst", t_tmpdir());
	snprintf(out, sizeof(out), "%s/chunk", t_tmpdir());
	write_file(in, frame, len);
	snprintf(cmd, sizeof(cmd), "zstd -q -d -f -o '%s' '%s'", out, in);
	CHECK_EQ_I(system(cmd), 0);
	buf_init(&b, 2 * n);
	CHECK_OK(fs_read_file(&b, out, n + 1));
	CHECK_EQ_U(b.len, n);
	CHECK(memcmp(b.data, src, n) == 0);
	buf_release(&b);
	mem_free(src);
	mem_free(frame);
	codec_free(c);
}

/* Frames made by the CLI: with a content size (a file input) they decode;
 * from a pipe (no content size) they are refused. */
static void test_cli_frames(void)
{
	char raw[600], zst[600], cmd[1400];
	size_t n = 100000;
	uint8_t *src = mem_alloc(n), *out = mem_alloc(n);
	struct codec *c = new_codec();
	struct buf b;

	fill(src, n, TEXT, 4);
	snprintf(raw, sizeof(raw), "%s/cli-in", t_tmpdir());
	snprintf(zst, sizeof(zst), "%s/cli-in.zst", t_tmpdir());
	write_file(raw, src, n);
	snprintf(cmd, sizeof(cmd), "zstd -q -f -19 -o '%s' '%s'", zst, raw);
	CHECK_EQ_I(system(cmd), 0);
	buf_init(&b, 2 * n);
	CHECK_OK(fs_read_file(&b, zst, 2 * n));
	CHECK_OK(codec_decompress(c, out, n, b.data, b.len));
	CHECK(memcmp(out, src, n) == 0);
	buf_reset(&b);
	snprintf(cmd, sizeof(cmd), "cat '%s' | zstd -q -c > '%s'", raw, zst);
	CHECK_EQ_I(system(cmd), 0);
	CHECK_OK(fs_read_file(&b, zst, 2 * n));
	CHECK_EQ_I(codec_decompress(c, out, n, b.data, b.len), -EBADMSG);
	buf_release(&b);
	mem_free(src);
	mem_free(out);
	codec_free(c);
}

/* Hand-made frames (RFC 8878): one raw block holding "abc". */
static const uint8_t frame_abc[] = {0x28, 0xB5, 0x2F, 0xFD, 0x20, 0x03,
				    0x19, 0x00, 0x00, 'a',  'b',  'c'};
static const uint8_t frame_abc_no_size[] = {0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x00,
					    0x19, 0x00, 0x00, 'a',  'b',  'c'};
/* Declares 5 bytes, produces 3; declares 2, produces 3. */
static const uint8_t frame_short[] = {0x28, 0xB5, 0x2F, 0xFD, 0x20, 0x05,
				      0x19, 0x00, 0x00, 'a',  'b',  'c'};
static const uint8_t frame_long[] = {0x28, 0xB5, 0x2F, 0xFD, 0x20, 0x02,
				     0x19, 0x00, 0x00, 'a',  'b',  'c'};
/* A skippable frame (magic 0x184D2A50, 4 bytes of payload). */
static const uint8_t skippable[] = {0x50, 0x2A, 0x4D, 0x18, 0x04, 0x00, 0x00, 0x00, 1, 2, 3, 4};

static void test_handmade_frames(void)
{
	struct codec *c = new_codec();
	uint8_t out[8];

	CHECK_OK(codec_decompress(c, out, 3, frame_abc, sizeof(frame_abc)));
	CHECK(memcmp(out, "abc", 3) == 0);
	CHECK_EQ_I(codec_decompress(c, out, 3, frame_abc_no_size, sizeof(frame_abc_no_size)),
		   -EBADMSG);
	CHECK_EQ_I(codec_decompress(c, out, 5, frame_short, sizeof(frame_short)), -EBADMSG);
	CHECK_EQ_I(codec_decompress(c, out, 2, frame_long, sizeof(frame_long)), -EBADMSG);
	CHECK_EQ_I(codec_decompress(c, out, 0, skippable, sizeof(skippable)), -EBADMSG);
	CHECK_EQ_I(codec_decompress(c, out, 4, skippable, sizeof(skippable)), -EBADMSG);
	codec_free(c);
}

static void test_malformed(void)
{
	struct codec *c = new_codec();
	size_t n = 50000, len = 0;
	uint8_t *src = mem_alloc(n), *out = mem_alloc(n + 16), *frame, *two;
	static const size_t cuts[] = {0, 3, 4, 5, 8, 100};

	fill(src, n, TEXT, 5);
	frame = compress(&len, c, src, n);
	CHECK_EQ_I(codec_decompress(c, out, n - 1, frame, len), -EBADMSG);
	CHECK_EQ_I(codec_decompress(c, out, n + 1, frame, len), -EBADMSG);
	CHECK_EQ_I(codec_decompress(c, out, n, frame, len - 1), -EBADMSG);
	CHECK_EQ_I(codec_decompress(c, out, n, frame, len / 2), -EBADMSG);
	for (size_t i = 0; i < ARRAY_SIZE(cuts); i++)
		CHECK_EQ_I(codec_decompress(c, out, n, frame, cuts[i]), -EBADMSG);
	/* trailing bytes: the frame twice, or the frame and a skippable one */
	two = mem_alloc(2 * len + sizeof(skippable));
	memcpy(two, frame, len);
	memcpy(two + len, frame, len);
	CHECK_EQ_I(codec_decompress(c, out, n, two, 2 * len), -EBADMSG);
	CHECK_EQ_I(codec_decompress(c, out, 2 * n, two, 2 * len), -EBADMSG);
	memcpy(two + len, skippable, sizeof(skippable));
	CHECK_EQ_I(codec_decompress(c, out, n, two, len + sizeof(skippable)), -EBADMSG);
	memcpy(two, skippable, sizeof(skippable));
	memcpy(two + sizeof(skippable), frame, len);
	CHECK_EQ_I(codec_decompress(c, out, n, two, len + sizeof(skippable)), -EBADMSG);
	frame[0] ^= 1;
	CHECK_EQ_I(codec_decompress(c, out, n, frame, len), -EBADMSG);
	/* still usable after all that */
	frame[0] ^= 1;
	CHECK_OK(codec_decompress(c, out, n, frame, len));
	CHECK(memcmp(out, src, n) == 0);
	mem_free(src);
	mem_free(out);
	mem_free(frame);
	mem_free(two);
	codec_free(c);
}

static void test_storage_rule(void)
{
	static const struct {
		size_t raw, frame;
		bool keep;
	} cases[] = {
	    {100, 97, true},
	    {100, 98, false},
	    {1000, 970, true},
	    {1000, 971, false},
	    {10, 9, true},
	    {10, 10, false},
	    {0, 0, false},
	    {1, 1, false},
	    {65536, 63570, true},
	    {65536, 63571, false},
	    {SIZE_MAX, SIZE_MAX - 553402322211286548u, true},
	    {SIZE_MAX, SIZE_MAX - 553402322211286547u, false},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		CHECK_MSG(codec_saves_enough(cases[i].raw, cases[i].frame) == cases[i].keep,
			  "case %zu: %zu -> %zu", i, cases[i].raw, cases[i].frame);
}

static void test_choose(void)
{
	struct codec *c = new_codec();
	size_t n = 200000, len = 0;
	uint8_t *src = mem_alloc(n), *dst = mem_alloc(n), *out = mem_alloc(n);

	fill(src, n, TEXT, 8);
	CHECK_EQ_I(codec_choose(&len, c, dst, n, src, n), CODEC_FRAME);
	CHECK(codec_saves_enough(n, len));
	CHECK_OK(codec_decompress(c, out, n, dst, len));
	CHECK(memcmp(out, src, n) == 0);
	fill(src, n, RANDOM, 8);
	CHECK_EQ_I(codec_choose(&len, c, dst, n, src, n), CODEC_RAW);
	CHECK_EQ_I(codec_choose(&len, c, dst, n, src, 1), CODEC_RAW);
	/* random with a compressible tail: zstd saves ~2 %, under the rule */
	fill(src + n - n / 50, n / 50, ZEROS, 0);
	CHECK_EQ_I(codec_choose(&len, c, dst, n, src, n), CODEC_RAW);
	/* ~5 % zeros: saved, and kept */
	fill(src + n - n / 20, n / 20, ZEROS, 0);
	CHECK_EQ_I(codec_choose(&len, c, dst, n, src, n), CODEC_FRAME);
	CHECK_OK(codec_decompress(c, out, n, dst, len));
	CHECK(memcmp(out, src, n) == 0);
	mem_free(src);
	mem_free(dst);
	mem_free(out);
	codec_free(c);
}

static void test_levels(void)
{
	static const int bad[] = {0, 23, 1000, -200000};
	static const int good[] = {1, 3, 19, -5};
	struct codec *c = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK_EQ_I(codec_new(&c, bad[i]), -EINVAL);
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		uint8_t src[1000], out[1000], *frame;
		size_t len = 0;

		CHECK_OK(codec_new(&c, good[i]));
		fill(src, sizeof(src), TEXT, 9);
		frame = compress(&len, c, src, sizeof(src));
		CHECK_OK(codec_decompress(c, out, sizeof(out), frame, len));
		CHECK(memcmp(src, out, sizeof(src)) == 0);
		mem_free(frame);
		codec_free(c);
	}
	codec_free(NULL);
}

static void test_compress_no_room(void)
{
	struct codec *c = new_codec();
	uint8_t src[5000], dst[64];
	size_t len = 0;

	fill(src, sizeof(src), RANDOM, 10);
	CHECK_EQ_I(codec_compress(&len, c, dst, sizeof(dst), src, sizeof(src)), -ENOSPC);
	codec_free(c);
}

/* Every allocation, zstd's included, fails in turn; each failure must
 * come back as -ENOMEM and leak nothing (LeakSanitizer checks). */
static void test_alloc_failure(void)
{
	size_t n = 100000;
	uint8_t *src = malloc(n), *dst = malloc(codec_compress_bound(n)), *out = malloc(n);
	long fail;
	int r = -1;

	fill(src, n, TEXT, 11);
	for (fail = 0; fail < 1000 && r < 0; fail++) {
		struct codec *c = NULL;
		size_t len = 0;

		mem_fail_after(fail);
		r = codec_new(&c, CODEC_LEVEL_DEFAULT);
		if (r >= 0)
			r = codec_compress(&len, c, dst, codec_compress_bound(n), src, n);
		if (r >= 0)
			r = codec_decompress(c, out, n, dst, len);
		codec_free(c);
		mem_fail_after(-1);
		CHECK_MSG(r >= 0 || r == -ENOMEM, "failing allocation %ld: %d", fail, r);
	}
	CHECK_OK(r);
	/* codec, both contexts and the compression workspace: more than the
	 * one allocation codec_new() makes itself, so zstd's go through
	 * mem_*() too */
	CHECK_MSG(fail > 4, "only %ld allocations seen", fail - 1);
	CHECK(memcmp(src, out, n) == 0);
	free(src);
	free(dst);
	free(out);
}

int main(void)
{
	return t_main((struct t_case[]){
	    {"round trip of text, random and zeros at edge sizes", test_round_trip},
	    {"frame records content size, no checksum, no dictionary", test_frame_shape},
	    {"zstd CLI decodes a frame to the original bytes", test_zstd_cli_decodes},
	    {"CLI frames: decoded with content size, refused without", test_cli_frames},
	    {"hand-made frames: size must be declared and exact", test_handmade_frames},
	    {"malformed, truncated, mis-sized and trailing frames refused", test_malformed},
	    {"storage rule: keep a frame saving at least 3 %", test_storage_rule},
	    {"choose: text framed, random and near-random raw", test_choose},
	    {"compression levels outside zstd's range refused", test_levels},
	    {"compress into too small a buffer: -ENOSPC", test_compress_no_room},
	    {"allocation failure inside zstd: -ENOMEM, no leak", test_alloc_failure},
	    {0},
	});
}
