/*
 * pointer.c — formatting and strict parsing of file pointers (pointer.h).
 */
#include "manifests/pointer.h"

#include <string.h>

#include "core/codec_text.h"
#include "core/limits.h"
#include "core/mem.h"
#include "core/textline.h"

void mf_pointer_init(struct mf_pointer *p)
{
	memset(p, 0, sizeof(*p));
}

void mf_pointer_release(struct mf_pointer *p)
{
	mem_free(p->chunks);
	mf_pointer_init(p);
}

int mf_pointer_add(struct mf_pointer *p, const struct sha256 *id, uint32_t raw_len,
		   uint32_t stored_len)
{
	if (p->nchunks == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16, bytes;
		struct chunk_ref *g;

		if (cap > LIMIT_POINTER_CHUNKS)
			cap = LIMIT_POINTER_CHUNKS;
		if (p->nchunks >= cap)
			return err_set(-EFBIG, "file has more than %u chunks", LIMIT_POINTER_CHUNKS);
		if (!mem_mul_ok(&bytes, cap, sizeof(*g)))
			return -ENOMEM;
		g = mem_realloc(p->chunks, bytes);
		if (!g)
			return -ENOMEM;
		p->chunks = g;
		p->cap = cap;
	}
	p->chunks[p->nchunks].id = *id;
	p->chunks[p->nchunks].raw_len = raw_len;
	p->chunks[p->nchunks].stored_len = stored_len;
	p->nchunks++;
	return 0;
}

uint64_t mf_pointer_stored(const struct mf_pointer *p)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < p->nchunks; i++)
		sum += p->chunks[i].stored_len;
	return sum;
}

int mf_pointer_format(struct buf *out, const struct mf_pointer *p)
{
	char hex[2 * SHA256_LEN + 1];
	int r;

	hex_encode(hex, p->hash.b, SHA256_LEN);
	r = buf_printf(out, "ferry-pointer 1\nsize %llu\nsha256 %s\nchunks %zu\n",
		       (unsigned long long)p->size, hex, p->nchunks);
	for (size_t i = 0; i < p->nchunks && r == 0; i++) {
		hex_encode(hex, p->chunks[i].id.b, SHA256_LEN);
		r = buf_printf(out, "%s %u %u\n", hex, p->chunks[i].raw_len,
			       p->chunks[i].stored_len);
	}
	return r;
}

static int parse_chunk_line(struct mf_pointer *p, struct textline *t)
{
	struct sha256 id;
	uint64_t raw, stored;
	const char *w;
	size_t wlen;

	if (!textline_word(t, &w, &wlen) || hex_decode(id.b, SHA256_LEN, w, wlen) < 0)
		return err_set(-EBADMSG, "pointer: bad chunk id on line %u", t->lineno);
	if (textline_u64(t, &raw) < 0 || textline_u64(t, &stored) < 0 || !textline_end(t))
		return err_set(-EBADMSG, "pointer: bad chunk lengths on line %u", t->lineno);
	if (raw == 0 || raw > LIMIT_CHUNK_MAX || stored == 0 || stored > LIMIT_CHUNK_MAX + 4096)
		return err_set(-EBADMSG, "pointer: chunk length out of range on line %u", t->lineno);
	return mf_pointer_add(p, &id, (uint32_t)raw, (uint32_t)stored);
}

static int parse_body(struct mf_pointer *p, struct textline *t)
{
	uint64_t count, sum = 0;
	const char *w;
	size_t wlen;
	int r;

	if (textline_expect(t, "ferry-pointer") < 0 || textline_u64(t, &count) < 0 || count != 1 ||
	    !textline_end(t))
		return err_set(-EBADMSG, "pointer: not a ferry pointer (version 1)");
	if (textline_key_u64(t, "size", &p->size) < 0 || p->size > LIMIT_FILE_BYTES)
		return err_set(-EBADMSG, "pointer: bad or oversized size line");
	if (!textline_next(t) || textline_expect(t, "sha256") < 0 || !textline_word(t, &w, &wlen) ||
	    hex_decode(p->hash.b, SHA256_LEN, w, wlen) < 0 || !textline_end(t))
		return err_set(-EBADMSG, "pointer: bad sha256 line");
	if (textline_key_u64(t, "chunks", &count) < 0 || count > LIMIT_POINTER_CHUNKS)
		return err_set(-EBADMSG, "pointer: bad chunk count");
	for (uint64_t i = 0; i < count; i++) {
		if (!textline_next(t))
			return err_set(-EBADMSG, "pointer: %llu chunks promised, fewer given",
				       (unsigned long long)count);
		r = parse_chunk_line(p, t);
		if (r < 0)
			return r;
		sum += p->chunks[i].raw_len;
	}
	if (textline_next(t))
		return err_set(-EBADMSG, "pointer: trailing data after the chunk list");
	if (sum != p->size)
		return err_set(-EBADMSG, "pointer: chunk lengths add up to %llu, size says %llu",
			       (unsigned long long)sum, (unsigned long long)p->size);
	return 0;
}

int mf_pointer_parse(struct mf_pointer *out, const void *text, size_t n)
{
	struct textline t;
	int r;

	mf_pointer_init(out);
	if (n > LIMIT_POINTER_BYTES)
		return err_set(-EFBIG, "pointer: %zu bytes, over the limit", n);
	textline_init(&t, text, n);
	if (!textline_next(&t))
		return err_set(-EBADMSG, "pointer: empty");
	r = parse_body(out, &t);
	if (r < 0)
		mf_pointer_release(out);
	return r;
}
