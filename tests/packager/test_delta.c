/*
 * test_delta.c — deltas: zstd patch-from frames made and applied through
 * the codec, the keep-or-drop rule, delta pack entries, and the strict
 * meta/deltas parser (table of malformed lists).
 */
#include <stdlib.h>

#include "core/buf.h"
#include "core/bytes.h"
#include "core/codec_text.h"
#include "core/limits.h"
#include "core/mem.h"
#include "packager/codec.h"
#include "packager/delta.h"
#include "packager/pack.h"
#include "tests/harness.h"

#define TEXT_LEN (300u << 10)

static struct codec *the_codec(void)
{
	static struct codec *c;

	if (!c && codec_new(&c, CODEC_LEVEL_DEFAULT) < 0)
		abort();
	return c;
}

/* Text-like bytes that zstd cannot shrink much on their own: words drawn
 * by a fixed pseudo-random sequence. */
static uint8_t *make_text(size_t n, uint32_t seed)
{
	static const char *words[] = {"philosophy ", "reason ",	   "the ",   "of ",
				      "virtue ",     "knowledge ", "\n",     "is ",
				      "and ",	     "Kant ",	   "Hume ",  "experience ",
				      "a ",	     "mind ",	   "world ", "truth "};
	uint8_t *p = malloc(n);
	size_t i = 0;

	while (i < n) {
		const char *w;

		seed = seed * 1103515245u + 12345u;
		w = words[(seed >> 16) % 16];
		for (size_t k = 0; w[k] && i < n; k++)
			p[i++] = (uint8_t)w[k];
		if (((seed >> 8) & 7) == 0 && i < n)
			p[i++] = (uint8_t)('0' + (seed >> 20) % 10);
	}
	return p;
}

/* An erratum: a few short edits spread through the text. */
static uint8_t *make_erratum(const uint8_t *base, size_t n)
{
	uint8_t *t = malloc(n);

	memcpy(t, base, n);
	for (size_t off = 1000; off + 20 < n; off += n / 7)
		memcpy(t + off, "[corrected]", 11);
	return t;
}

static void test_round_trip(void)
{
	AUTO_FREE uint8_t *base = make_text(TEXT_LEN, 1);
	AUTO_FREE uint8_t *target = make_erratum(base, TEXT_LEN);
	AUTO_FREE uint8_t *frame = malloc(TEXT_LEN);
	AUTO_FREE uint8_t *out = malloc(TEXT_LEN);
	size_t len = 0, plain = 0;

	CHECK_OK(codec_delta_compress(&len, the_codec(), frame, TEXT_LEN, base, TEXT_LEN, target,
				      TEXT_LEN, CODEC_DELTA_LEVEL_DEFAULT));
	/* Against its base the erratum costs a few hundred bytes; alone, tens
	 * of kilobytes. */
	CHECK_OK(codec_compress(&plain, the_codec(), out, TEXT_LEN, target, TEXT_LEN));
	CHECK_MSG(len * 20 < plain, "delta %zu, plain frame %zu", len, plain);
	CHECK_OK(codec_delta_check(frame, len, TEXT_LEN));
	CHECK_OK(codec_delta_apply(the_codec(), out, TEXT_LEN, base, TEXT_LEN, frame, len));
	CHECK(memcmp(out, target, TEXT_LEN) == 0);
	/* The codec's plain decoder still works after a delta. */
	CHECK_OK(codec_compress(&plain, the_codec(), out, TEXT_LEN, base, 4096));
	{
		uint8_t back[4096];

		CHECK_OK(codec_decompress(the_codec(), back, sizeof(back), out, plain));
		CHECK(memcmp(back, base, sizeof(back)) == 0);
	}
}

static void test_apply_refuses(void)
{
	AUTO_FREE uint8_t *base = make_text(TEXT_LEN, 2);
	AUTO_FREE uint8_t *target = make_erratum(base, TEXT_LEN);
	AUTO_FREE uint8_t *other = make_text(TEXT_LEN, 3);
	AUTO_FREE uint8_t *frame = malloc(TEXT_LEN);
	AUTO_FREE uint8_t *out = malloc(TEXT_LEN);
	size_t len = 0;
	int r;

	CHECK_OK(codec_delta_compress(&len, the_codec(), frame, TEXT_LEN, base, TEXT_LEN, target,
				      TEXT_LEN, 3));
	/* Another size than recorded, a cut frame, trailing bytes. */
	CHECK_EQ_I(codec_delta_apply(the_codec(), out, TEXT_LEN - 1, base, TEXT_LEN, frame, len),
		   -EBADMSG);
	CHECK_EQ_I(codec_delta_apply(the_codec(), out, TEXT_LEN, base, TEXT_LEN, frame, len - 1),
		   -EBADMSG);
	CHECK_EQ_I(codec_delta_apply(the_codec(), out, TEXT_LEN, base, TEXT_LEN, frame, 3),
		   -EBADMSG);
	CHECK_EQ_I(codec_delta_check(frame, len, TEXT_LEN + 1), -EBADMSG);
	/* A wrong base: refused or other bytes; never the target. */
	r = codec_delta_apply(the_codec(), out, TEXT_LEN, other, TEXT_LEN, frame, len);
	CHECK(r == -EBADMSG || (r == 0 && memcmp(out, target, TEXT_LEN) != 0));
	/* A flipped bit in the frame's body: refused or other bytes. */
	frame[len / 2] ^= 0x10;
	r = codec_delta_apply(the_codec(), out, TEXT_LEN, base, TEXT_LEN, frame, len);
	CHECK(r == -EBADMSG || (r == 0 && memcmp(out, target, TEXT_LEN) != 0));
	CHECK_EQ_I(codec_delta_apply(the_codec(), out, LIMIT_DELTA_FILE_BYTES + 1u, base, TEXT_LEN,
				     frame, len),
		   -EFBIG);
}

static void test_make_rule(void)
{
	AUTO_FREE uint8_t *base = make_text(TEXT_LEN, 4);
	AUTO_FREE uint8_t *target = make_erratum(base, TEXT_LEN);
	AUTO_FREE uint8_t *other = make_text(TEXT_LEN, 5);
	struct buf out;
	size_t cap = 0;

	buf_init(&out, LIMIT_DELTA_BYTES + 1);
	/* Worth it against 100 KB of chunks. */
	CHECK_EQ_I(delta_make(&out, the_codec(), base, TEXT_LEN, target, TEXT_LEN, 100000, 19), 1);
	CHECK(out.len > 0 && out.len < 2000);
	cap = out.len;
	/* Not worth it when the chunks cost about as much as the delta. */
	CHECK_EQ_I(delta_make(&out, the_codec(), base, TEXT_LEN, target, TEXT_LEN,
			      (cap + PACK_ENTRY_HEADER_LEN) * 100 / DELTA_KEEP_PCT - 2, 19),
		   0);
	CHECK_EQ_I(delta_make(&out, the_codec(), base, TEXT_LEN, target, TEXT_LEN, 0, 19), 0);
	/* Unrelated versions: the delta is no better than compressing alone. */
	CHECK_EQ_I(delta_make(&out, the_codec(), base, TEXT_LEN, other, TEXT_LEN, 2000, 19), 0);
	CHECK_EQ_I(delta_make(&out, the_codec(), base, TEXT_LEN, target, TEXT_LEN, 100000, 0),
		   -EINVAL);
	buf_release(&out);
}

static void test_chunk_cost(void)
{
	struct chunk_ref t[4] = {
	    {{{1}}, 100, 50}, {{{2}}, 100, 60}, {{{1}}, 100, 50}, {{{3}}, 100, 70}};
	struct chunk_ref b[2] = {{{{3}}, 100, 70}, {{{9}}, 100, 10}};

	/* Chunks 1 (once) and 2 are missing; 3 is in the base. */
	CHECK_EQ_U(delta_chunk_cost(t, 4, b, 2), 2 * PACK_ENTRY_HEADER_LEN + 50 + 60);
	CHECK_EQ_U(delta_chunk_cost(t, 4, NULL, 0), 3 * PACK_ENTRY_HEADER_LEN + 50 + 60 + 70);
	CHECK_EQ_U(delta_chunk_cost(b, 2, b, 2), 0);
}

static void test_entry(void)
{
	AUTO_FREE uint8_t *base = make_text(TEXT_LEN, 6);
	AUTO_FREE uint8_t *target = make_erratum(base, TEXT_LEN);
	AUTO_FREE uint8_t *frame = malloc(TEXT_LEN);
	struct pack_entry e = {.type = PACK_ENTRY_DELTA, .raw_len = TEXT_LEN};
	size_t len = 0;

	CHECK_OK(codec_delta_compress(&len, the_codec(), frame, TEXT_LEN, base, TEXT_LEN, target,
				      TEXT_LEN, 19));
	e.stored_len = (uint32_t)len;
	sha256_buf(&e.id, frame, len);
	CHECK_OK(pack_entry_validate(&e));
	CHECK_OK(pack_delta_check(&e, frame));
	CHECK_EQ_I(pack_entry_decode(target, TEXT_LEN, &e, frame, the_codec()), -EINVAL);
	frame[len - 1] ^= 1; /* the ID is the hash of the stored bytes */
	CHECK_EQ_I(pack_delta_check(&e, frame), -EBADMSG);
	frame[len - 1] ^= 1;
	e.raw_len = TEXT_LEN + 1; /* the frame records another size */
	sha256_buf(&e.id, frame, len);
	CHECK_EQ_I(pack_delta_check(&e, frame), -EBADMSG);
	e.raw_len = LIMIT_DELTA_FILE_BYTES + 1u;
	CHECK_EQ_I(pack_entry_validate(&e), -EBADMSG);
}

/* ---- meta/deltas --------------------------------------------------------- */

static void rec_fill(struct delta_rec *d, uint8_t b, uint8_t t, uint32_t size)
{
	memset(d, 0, sizeof(*d));
	memset(d->base.b, b, SHA256_LEN);
	memset(d->target.b, t, SHA256_LEN);
	memset(d->id.b, (uint8_t)(b ^ t ^ 0x5a), SHA256_LEN);
	d->size = size;
	d->target_size = 4 * size;
}

static void test_list_round_trip(void)
{
	struct delta_list l, back;
	struct delta_rec d;
	struct buf text;

	delta_list_init(&l);
	buf_init(&text, 1 << 20);
	rec_fill(&d, 0x22, 0x30, 10);
	CHECK_OK(delta_list_add(&l, &d));
	rec_fill(&d, 0x11, 0x30, 20);
	CHECK_OK(delta_list_add(&l, &d));
	rec_fill(&d, 0x11, 0x20, 30);
	CHECK_OK(delta_list_add(&l, &d));
	CHECK_OK(delta_list_add(&l, &d)); /* a duplicate pair, dropped */
	delta_list_sort(&l);
	CHECK_EQ_U(l.n, 3);
	CHECK_OK(delta_list_format(&text, &l));
	CHECK_OK(delta_list_parse(&back, text.data, text.len));
	CHECK_EQ_U(back.n, 3);
	CHECK(memcmp(back.recs, l.recs, 3 * sizeof(*l.recs)) == 0);
	rec_fill(&d, 0x11, 0x30, 0);
	CHECK(delta_list_find(&back, &d.base, &d.target) != NULL);
	CHECK_EQ_U(delta_list_find(&back, &d.base, &d.target)->size, 20);
	CHECK(delta_list_find(&back, &d.target, &d.base) == NULL);
	delta_list_release(&back);
	delta_list_release(&l);
	buf_release(&text);
}

#define H(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define HA H("aa")
#define HB H("bb")
#define HC H("cc")

static void test_list_rejects(void)
{
	static const char *bad[] = {
	    "",
	    "ferry-deltas 2\n",
	    "ferry-deltas 1",
	    "ferry-deltas  1\n",
	    "ferry-deltas 1\n" HA " " HB " " HC " 10 20",	   /* no final LF */
	    "ferry-deltas 1\n" HA " " HB " " HC " 10\n",	   /* a field short */
	    "ferry-deltas 1\n" HA " " HB " " HC " 10 20 30\n",	   /* one too many */
	    "ferry-deltas 1\n" HA " " HB " " HC " 0 20\n",	   /* empty delta */
	    "ferry-deltas 1\n" HA " " HB " " HC " 10 0\n",	   /* empty target */
	    "ferry-deltas 1\n" HA " " HB " " HC " 4194305 20\n",   /* over LIMIT_DELTA_BYTES */
	    "ferry-deltas 1\n" HA " " HB " " HC " 10 268435457\n", /* over the file limit */
	    "ferry-deltas 1\n" HA " " HB " " HC " 010 20\n",	   /* leading zero */
	    "ferry-deltas 1\n" HA " " HA " " HC " 10 20\n",	   /* base is the target */
	    "ferry-deltas 1\n" H("AA") " " HB " " HC " 10 20\n",   /* upper case */
	    "ferry-deltas 1\n" HA " " HB " " HC "0 10 20\n",	   /* a long hash */
	    "ferry-deltas 1\n" HA " " HB " " HC " 10 20\r\n",
	    "ferry-deltas 1\n" HA " " HB " " HC " 10 20\n" HA " " HB " " HC " 10 20\n", /* dup */
	    "ferry-deltas 1\n" HB " " HC " " HA " 10 20\n" HA " " HB " " HC " 10 20\n", /* order */
	};
	struct delta_list l;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = delta_list_parse(&l, bad[i], strlen(bad[i]));

		CHECK_MSG(r == -EBADMSG, "case %zu: %d", i, r);
		CHECK_EQ_U(l.n, 0);
	}
	CHECK_OK(delta_list_parse(&l, "ferry-deltas 1\n" HA " " HB " " HC " 10 20\n",
				  strlen("ferry-deltas 1\n" HA " " HB " " HC " 10 20\n")));
	CHECK_EQ_U(l.n, 1);
	delta_list_release(&l);
}

int main(void)
{
	int r = t_main((struct t_case[]){
	    {"delta round trip: an erratum costs a fraction of the file", test_round_trip},
	    {"delta apply refuses wrong sizes, cut frames; a wrong base never gives the target",
	     test_apply_refuses},
	    {"delta kept only when clearly smaller than the chunks", test_make_rule},
	    {"chunk cost counts missing chunks once, with headers", test_chunk_cost},
	    {"delta pack entries: ID is the hash of the stored bytes", test_entry},
	    {"meta/deltas: sort, format, parse, find", test_list_round_trip},
	    {"meta/deltas: every malformed list refused", test_list_rejects},
	    {0},
	});

	codec_free(the_codec());
	return r;
}
