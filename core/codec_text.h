/*
 * codec_text.h — hex and base64, for IDs in text formats and for the
 * armored signatures OpenSSH writes.
 */
#ifndef FERRY_CORE_CODEC_TEXT_H
#define FERRY_CORE_CODEC_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

/* Writes 2n lowercase hex digits and a NUL into out (2n+1 bytes). */
void hex_encode(char *out, const void *p, size_t n);
/* Decodes exactly 2n hex digits from s (either case); -EBADMSG otherwise. */
int hex_decode(void *out, size_t n, const char *s, size_t slen) FERRY_MUST_USE;

/* Standard base64 with padding, no line breaks. */
int base64_encode(struct buf *out, const void *p, size_t n) FERRY_MUST_USE;
/* Decodes, skipping ASCII whitespace; -EBADMSG on anything else invalid. */
int base64_decode(struct buf *out, const char *s, size_t n) FERRY_MUST_USE;

#endif
