/*
 * buf.h — a growable byte buffer with a hard cap.
 *
 * struct buf holds bytes (always NUL-terminated one past len, so text can be
 * used as a C string).  Every buffer has a maximum size set at init; growth
 * past it fails with -EFBIG instead of letting hostile input eat memory.
 *
 *     struct buf b;
 *     buf_init(&b, LIMIT_POINTER_BYTES);
 *     r = buf_append(&b, p, n);      // -ENOMEM or -EFBIG on failure
 *     ...
 *     buf_release(&b);               // frees; b is reusable after buf_init
 *
 * buf_detach() hands the bytes to the caller (free with mem_free).
 */
#ifndef FERRY_CORE_BUF_H
#define FERRY_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max;
};

void buf_init(struct buf *b, size_t max);
void buf_release(struct buf *b);
/* Keeps the allocation, sets len to 0. */
void buf_reset(struct buf *b);
int buf_reserve(struct buf *b, size_t extra) FERRY_MUST_USE;
int buf_append(struct buf *b, const void *p, size_t n) FERRY_MUST_USE;
int buf_append_str(struct buf *b, const char *s) FERRY_MUST_USE;
int buf_append_byte(struct buf *b, uint8_t c) FERRY_MUST_USE;
int buf_printf(struct buf *b, const char *fmt, ...) FERRY_MUST_USE FERRY_PRINTF(2, 3);
int buf_append_le32(struct buf *b, uint32_t v) FERRY_MUST_USE;
int buf_append_le64(struct buf *b, uint64_t v) FERRY_MUST_USE;
/* Big-endian u32, as SSH wire strings use. */
int buf_append_be32(struct buf *b, uint32_t v) FERRY_MUST_USE;
/* SSH "string": be32 length then bytes. */
int buf_append_sshstr(struct buf *b, const void *p, size_t n) FERRY_MUST_USE;
/* Returns the bytes (caller frees with mem_free) and resets b to empty. */
uint8_t *buf_detach(struct buf *b, size_t *len_out);
/* The contents as a C string (never NULL). */
const char *buf_str(const struct buf *b);

#endif
