/*
 * bytes.h — fixed-width integer encoding for on-disk and on-wire formats.
 *
 * ferry's own formats are little-endian; SSH wire strings and FLUTE/LCT
 * headers are big-endian (network order).  A bounded reader (struct rd)
 * walks a byte range and fails with -EBADMSG instead of reading past it.
 */
#ifndef FERRY_CORE_BYTES_H
#define FERRY_CORE_BYTES_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t get_le32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static inline uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* A bounded reader over [p, p+len). Every getter fails once past the end
 * and stays failed, so a parser can check rd.ok once at the end. */
struct rd {
	const uint8_t *p;
	size_t len;
	size_t off;
	bool ok;
};

static inline void rd_init(struct rd *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
	r->ok = true;
}

static inline const uint8_t *rd_take(struct rd *r, size_t n)
{
	const uint8_t *q;

	if (!r->ok || n > r->len - r->off) {
		r->ok = false;
		return NULL;
	}
	q = r->p + r->off;
	r->off += n;
	return q;
}

static inline uint32_t rd_be32(struct rd *r)
{
	const uint8_t *q = rd_take(r, 4);

	return q ? get_be32(q) : 0;
}

static inline uint32_t rd_le32(struct rd *r)
{
	const uint8_t *q = rd_take(r, 4);

	return q ? get_le32(q) : 0;
}

static inline uint64_t rd_le64(struct rd *r)
{
	const uint8_t *q = rd_take(r, 8);

	return q ? get_le64(q) : 0;
}

/* SSH "string": be32 length then bytes; returns a pointer into the input. */
static inline const uint8_t *rd_sshstr(struct rd *r, size_t *len)
{
	uint32_t n = rd_be32(r);
	const uint8_t *q = rd_take(r, n);

	*len = q ? n : 0;
	return q;
}

static inline size_t rd_left(const struct rd *r)
{
	return r->ok ? r->len - r->off : 0;
}

#endif
