/*
 * gen_content_formats.h — the bytes of gen_content's sample files.
 *
 * Private to tests/tools/gen_content.c, which decides what files exist; this
 * part decides what is in them.  A tool is built from one .c file
 * (tests/module.mk), so the second half of the tool lives here as static
 * functions rather than in a second object file.
 *
 *   randomness  splitmix64 derives seeds, xoshiro256** makes the stream;
 *               bytes are taken little-endian, so output is the same on any
 *               machine.
 *   text        lines of words from gen_content_catalog.h: Chinese, or
 *               bilingual for Tibetan, Uyghur and Mongolian; zstd -3 shrinks
 *               it about 4x, about like real lesson text.
 *   struct out  writes one file of exactly its planned size through a 1 MiB
 *               buffer (or into memory when errata must be applied); bytes
 *               past the size are dropped, so a writer may overshoot a tiny
 *               file safely.
 *   formats     MP4, PDF, EPUB (zip), PNG, JPEG, HTML, CSS, JS and plain
 *               text lookalikes: real magic numbers and framing around
 *               pseudo-random payload (incompressible) or text (compressible).
 *               They are not meant to open in a viewer.
 */
#ifndef FERRY_TESTS_TOOLS_GEN_CONTENT_FORMATS_H
#define FERRY_TESTS_TOOLS_GEN_CONTENT_FORMATS_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/bytes.h"
#include "core/fsx.h"
#include "core/mem.h"
#include "tests/tools/gen_content_catalog.h"

#define GEN_IO_BYTES (1u << 20)            /* write buffer */
#define GEN_LINE 512                       /* longest generated text line */

/* ---- deterministic randomness: splitmix64 seeding, xoshiro256** stream ---- */

struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A hash of a pair, for deriving independent seeds from (seed, what). */
static uint64_t mix2(uint64_t a, uint64_t b)
{
	uint64_t x = a;

	x = splitmix64(&x) ^ b;
	return splitmix64(&x);
}

static void rng_seed(struct rng *r, uint64_t key)
{
	uint64_t x = key;

	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl64(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return out;
}

/* Uniform in [0, n) by multiply-high; n > 0. */
static inline uint64_t rng_below(struct rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)rng_next(r) * n) >> 64);
}

static inline uint64_t rng_range(struct rng *r, uint64_t lo, uint64_t hi)
{
	return lo + rng_below(r, hi - lo + 1);
}

/* Little-endian byte order so the bytes are the same on any machine. */
static void rng_fill(struct rng *r, uint8_t *p, size_t n)
{
	uint8_t last[8];

	for (; n >= 8; p += 8, n -= 8)
		put_le64(p, rng_next(r));
	if (n) {
		put_le64(last, rng_next(r));
		memcpy(p, last, n);
	}
}

/* Minority-language text mixes native words (space-separated) with Chinese:
 * the platform's courseware for these regions is bilingual. */
static const struct word *pick_word(struct rng *r, unsigned script, bool *native)
{
	uint64_t x = rng_next(r);

	*native = script != SC_ZH && (x & 1);
	x >>= 1;
	if (!*native)
		return &w_zh[x % ARRAY_SIZE(w_zh)];
	if (script == SC_BO)
		return &w_bo[x % ARRAY_SIZE(w_bo)];
	if (script == SC_UG)
		return &w_ug[x % ARRAY_SIZE(w_ug)];
	return &w_mn[x % ARRAY_SIZE(w_mn)];
}

/* One line of text ending in '\n', at most cap bytes (cap >= 1).  With
 * exact it is exactly cap bytes long (padded with spaces), which is how a
 * generator lands on a file's planned size without splitting a character. */
static size_t text_line(uint8_t *dst, size_t cap, struct rng *r, unsigned script, bool exact)
{
	size_t len = 0, want = exact ? cap : 24 + rng_below(r, 200);

	if (want > cap)
		want = cap;
	for (;;) {
		bool native;
		const struct word *w = pick_word(r, script, &native);
		uint64_t x;

		if (len + w->n + 1 + 3 + 1 > want)
			break;
		memcpy(dst + len, w->s, w->n);
		len += w->n;
		if (native)
			dst[len++] = ' ';
		x = rng_next(r) & 15;
		if (x < 2) {
			memcpy(dst + len, x ? "，" : "。", 3);
			len += 3;
		}
	}
	while (exact && len + 1 < want)
		dst[len++] = ' ';
	dst[len++] = '\n';
	return len;
}

/* ---- output: a file of exactly the planned size, to disk or to memory ---- */

struct out {
	int fd;
	struct buf *mem;  /* when set, bytes go here (files that carry errata) */
	uint8_t *io;      /* GEN_IO_BYTES staging buffer for fd output */
	size_t fill;
	uint64_t left;    /* bytes this file may still take; more is dropped */
	uint64_t noise;   /* incompressible bytes written, for --verbose */
	int err;
};

static void out_flush(struct out *o)
{
	int r;

	if (o->mem || !o->fill)
		return;
	r = fs_write_all(o->fd, o->io, o->fill);
	if (r < 0 && !o->err)
		o->err = r;
	o->fill = 0;
}

static void out_put(struct out *o, const void *p, size_t n)
{
	const uint8_t *q = p;

	if (n > o->left)
		n = (size_t)o->left;
	o->left -= n;
	if (o->mem) {
		int r = o->err ? 0 : buf_append(o->mem, q, n);

		if (r < 0)
			o->err = r;
		return;
	}
	while (n) {
		size_t k = GEN_IO_BYTES - o->fill < n ? GEN_IO_BYTES - o->fill : n;

		memcpy(o->io + o->fill, q, k);
		o->fill += k;
		q += k;
		n -= k;
		if (o->fill == GEN_IO_BYTES)
			out_flush(o);
	}
}

static void out_str(struct out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

static void out_fmt(struct out *o, const char *fmt, ...) FERRY_PRINTF(2, 3);
static void out_fmt(struct out *o, const char *fmt, ...)
{
	char tmp[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		out_put(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Pseudo-random bytes: what zstd cannot compress (video, JPEG, zip data). */
static void out_noise(struct out *o, struct rng *r, uint64_t n)
{
	uint8_t tmp[4096];

	if (n > o->left)
		n = o->left;
	o->noise += n;
	while (n) {
		size_t k;

		if (o->mem) {
			k = n < sizeof(tmp) ? (size_t)n : sizeof(tmp);
			rng_fill(r, tmp, k);
			out_put(o, tmp, k);
		} else {
			k = GEN_IO_BYTES - o->fill < n ? GEN_IO_BYTES - o->fill : (size_t)n;
			rng_fill(r, o->io + o->fill, k);
			o->fill += k;
			o->left -= k;
			if (o->fill == GEN_IO_BYTES)
				out_flush(o);
		}
		n -= k;
	}
}

/* Exactly n bytes of text (fewer if the file ends first). */
static void out_text(struct out *o, struct rng *r, uint64_t n, unsigned script)
{
	uint8_t line[GEN_LINE];

	if (n > o->left)
		n = o->left;
	while (n) {
		bool last = n <= GEN_LINE;
		size_t len = text_line(line, last ? (size_t)n : GEN_LINE, r, script, last);

		out_put(o, line, len);
		n -= len;
	}
}

/* Fills the file with text up to `keep` bytes before its end. */
static void out_text_until(struct out *o, struct rng *r, uint64_t keep, unsigned script)
{
	if (o->left > keep)
		out_text(o, r, o->left - keep, script);
}

/* An ISO base media file: ftyp, then one mdat box of pseudo-random "video". */
static void gen_video(struct out *o, struct rng *r)
{
	static const uint8_t ftyp[32] = { 0, 0, 0, 32, 'f', 't', 'y', 'p', 'i', 's', 'o', 'm',
					  0, 0, 2, 0, 'i', 's', 'o', 'm', 'i', 's', 'o', '2',
					  'a', 'v', 'c', '1', 'm', 'p', '4', '1' };
	uint8_t box[16];
	uint64_t rest;

	out_put(o, ftyp, sizeof(ftyp));
	rest = o->left;
	if (rest <= UINT32_MAX) {
		put_be32(box, (uint32_t)rest);
		memcpy(box + 4, "mdat", 4);
		out_put(o, box, 8);
	} else {
		put_be32(box, 1);
		memcpy(box + 4, "mdat", 4);
		put_be32(box + 8, (uint32_t)(rest >> 32));
		put_be32(box + 12, (uint32_t)rest);
		out_put(o, box, 16);
	}
	out_noise(o, r, o->left);
}

/* PDF-like: text content streams (compressible) interleaved with DCT image
 * streams (incompressible), then a trailer; `images` bytes are image data. */
static void gen_pdf(struct out *o, struct rng *r, uint64_t images, unsigned script)
{
	static const char tail[] = "trailer\n<< /Root 1 0 R >>\nstartxref\n0\n%%EOF\n";
	const size_t keep = sizeof(tail) - 1;
	uint64_t img = images;
	unsigned obj = 3;

	out_fmt(o, "%%PDF-1.7\n%%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
		   "2 0 obj\n<< /Type /Pages /Count 1 >>\nendobj\n");
	while (o->left > keep + 256) {
		uint64_t room = o->left - keep - 256, text = room > img ? room - img : 0, n;

		if (img && rng_below(r, text + img) < img) {
			n = rng_range(r, 16 << 10, 256 << 10);
			n = n > img ? img : n;
			n = n > room ? room : n;
			out_fmt(o, "%u 0 obj\n<< /Type /XObject /Subtype /Image /Width %u /Height %u "
				   "/Filter /DCTDecode /Length %" PRIu64 " >>\nstream\n",
				obj++, 320 + (unsigned)rng_below(r, 960), 240 + (unsigned)rng_below(r, 720), n);
			out_noise(o, r, n);
			img -= n;
		} else {
			n = rng_range(r, 4 << 10, 32 << 10);
			n = n > text ? text : n;
			out_fmt(o, "%u 0 obj\n<< /Length %" PRIu64 " >>\nstream\nBT\n", obj++, n + 3);
			out_text(o, r, n, script);
		}
		out_str(o, "\nendstream\nendobj\n");
	}
	out_text_until(o, r, keep, script);
	out_put(o, tail, keep);
}

struct zip_entry {
	char name[40];
	uint32_t off, len, crc;
	uint16_t method;
};

/* A zip local header (central false) or central directory record. */
static void zip_header(struct out *o, const struct zip_entry *e, bool central)
{
	uint8_t h[46] = { 0 };
	size_t nl = strlen(e->name), b = central ? 2 : 0;

	put_le32(h, central ? 0x02014b50 : 0x04034b50);
	put_le16(h + 4, 20);
	put_le16(h + 4 + b, 20);
	put_le16(h + 8 + b, e->method);
	put_le16(h + 10 + b, 0x6000);            /* 12:00 */
	put_le16(h + 12 + b, 0x5921);            /* 2024-09-01 */
	put_le32(h + 14 + b, e->crc);
	put_le32(h + 18 + b, e->len);
	put_le32(h + 22 + b, e->method ? e->len + e->len / 3 : e->len);
	put_le16(h + 26 + b, (uint16_t)nl);
	if (central)
		put_le32(h + 42, e->off);
	out_put(o, h, central ? 46 : 30);
	out_put(o, e->name, nl);
}

/* EPUB-like: a zip whose members after "mimetype" are pseudo-random
 * "deflated" data, so nearly all of it is incompressible. */
static void gen_epub(struct out *o, struct rng *r)
{
	static const char mime[] = "application/epub+zip";
	struct zip_entry e[12];
	unsigned n = (unsigned)rng_range(r, 4, ARRAY_SIZE(e));
	uint64_t over = 22 + sizeof(mime) - 1, data;
	uint32_t at = 0, cd = 0;
	uint8_t end[22] = { 0 };

	for (unsigned i = 0; i < n; i++) {
		if (i < 2)
			snprintf(e[i].name, sizeof(e[i].name), "%s", i ? "META-INF/container.xml" : "mimetype");
		else if (i % 2)
			snprintf(e[i].name, sizeof(e[i].name), "OEBPS/Images/img%02u.jpg", i);
		else
			snprintf(e[i].name, sizeof(e[i].name), "OEBPS/Text/ch%02u.xhtml", i);
		e[i].method = i ? 8 : 0;
		e[i].crc = (uint32_t)rng_next(r);
		over += 76 + 2 * strlen(e[i].name);
	}
	data = o->left > over ? o->left - over : 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t len = i == 0 ? sizeof(mime) - 1 : data / (n - 1) + (i == n - 1 ? data % (n - 1) : 0);

		e[i].off = at;
		e[i].len = (uint32_t)len;
		zip_header(o, &e[i], false);
		if (i == 0)
			out_put(o, mime, (size_t)len);
		else
			out_noise(o, r, len);
		at += (uint32_t)(30 + strlen(e[i].name) + len);
	}
	for (unsigned i = 0; i < n; i++) {
		zip_header(o, &e[i], true);
		cd += (uint32_t)(46 + strlen(e[i].name));
	}
	put_le32(end, 0x06054b50);
	put_le16(end + 8, (uint16_t)n);
	put_le16(end + 10, (uint16_t)n);
	put_le32(end + 12, cd);
	put_le32(end + 16, at);
	out_put(o, end, sizeof(end));
}

/* A PNG: signature, IHDR, one IDAT of pseudo-random "pixels", IEND. */
static void gen_png(struct out *o, struct rng *r)
{
	static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	static const uint8_t iend[12] = { 0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82 };
	uint8_t h[25] = { 0 };
	uint64_t idat;

	out_put(o, sig, sizeof(sig));
	put_be32(h, 13);
	memcpy(h + 4, "IHDR", 4);
	put_be32(h + 8, 64 + (uint32_t)rng_below(r, 960));
	put_be32(h + 12, 64 + (uint32_t)rng_below(r, 720));
	h[16] = 8; /* bit depth */
	h[17] = 2; /* truecolour */
	put_be32(h + 21, (uint32_t)rng_next(r));
	out_put(o, h, sizeof(h));
	idat = o->left > 24 ? o->left - 24 : 0;
	put_be32(h, (uint32_t)idat);
	memcpy(h + 4, "IDAT", 4);
	out_put(o, h, 8);
	out_noise(o, r, idat);
	put_be32(h, (uint32_t)rng_next(r));
	out_put(o, h, 4);
	out_put(o, iend, sizeof(iend));
}

/* A JPEG: SOI, a JFIF APP0 segment, pseudo-random scan data, EOI. */
static void gen_jpg(struct out *o, struct rng *r)
{
	static const uint8_t head[20] = { 0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F',
					  0, 1, 1, 0, 0, 72, 0, 72, 0, 0 };
	static const uint8_t eoi[2] = { 0xff, 0xd9 };

	out_put(o, head, sizeof(head));
	out_noise(o, r, o->left > 2 ? o->left - 2 : 0);
	out_put(o, eoi, sizeof(eoi));
}

/* Spaces then a newline up to the end of the file. */
static void out_pad(struct out *o)
{
	static const char spaces[64] = "                                                               ";

	while (o->left > 1)
		out_put(o, spaces, o->left - 1 < sizeof(spaces) ? (size_t)o->left - 1 : sizeof(spaces));
	out_put(o, "\n", 1);
}

static void gen_html(struct out *o, struct rng *r, const char *title, unsigned script)
{
	static const char tail[] = "</body>\n</html>\n";
	const size_t keep = sizeof(tail) - 1;
	uint8_t line[GEN_LINE];

	out_fmt(o, "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
		   "<title>%s</title>\n<link rel=\"stylesheet\" href=\"css/style.css\">\n"
		   "<script src=\"js/player.js\"></script>\n<script src=\"js/lesson.js\"></script>\n"
		   "</head>\n<body>\n<img class=\"logo\" src=\"images/logo.png\" alt=\"\">\n<h1>%s</h1>\n",
		title, title);
	while (o->left > keep + GEN_LINE + 16) {
		size_t n = text_line(line, GEN_LINE, r, script, false);

		out_str(o, rng_below(r, 8) ? "<p>" : "<p class=\"key\"><img src=\"images/fig1.png\" alt=\"\">");
		out_put(o, line, n - 1);
		out_str(o, "</p>\n");
	}
	out_text_until(o, r, keep, script);
	out_put(o, tail, keep);
}

static void gen_css(struct out *o, struct rng *r)
{
	static const char *const props[] = { "margin", "padding", "border-width", "line-height" };

	while (o->left > 160)
		out_fmt(o, ".c%04x {\n  %s: %upx %upx;\n  color: #%06x;\n  font-size: %upx;\n}\n",
			(unsigned)rng_below(r, 0x10000), props[rng_below(r, ARRAY_SIZE(props))],
			(unsigned)rng_below(r, 32), (unsigned)rng_below(r, 32),
			(unsigned)rng_below(r, 8) * 0x202020u, 12 + (unsigned)rng_below(r, 12));
	out_pad(o);
}

static void gen_js(struct out *o, struct rng *r)
{
	uint8_t line[GEN_LINE];

	while (o->left > GEN_LINE + 64) {
		unsigned k = (unsigned)rng_below(r, 1000);
		size_t n;

		if (rng_below(r, 2)) {
			out_fmt(o, "function step%u(el, t) {\n  el.style.opacity = Math.min(1, t / %u);\n"
				   "  return t + %u;\n}\n", k, 100 + k, k % 17);
			continue;
		}
		n = text_line(line, 160, r, SC_ZH, false);
		out_fmt(o, "var label%u = \"%.*s\";\n", k, (int)(n - 1), (const char *)line);
	}
	out_pad(o);
}

#endif
