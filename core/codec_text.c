/*
 * codec_text.c — hex and base64 (see codec_text.h).
 */
#include "core/codec_text.h"

static const char hexdig[] = "0123456789abcdef";
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void hex_encode(char *out, const void *p, size_t n)
{
	const uint8_t *q = p;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdig[q[i] >> 4];
		out[2 * i + 1] = hexdig[q[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(void *out, size_t n, const char *s, size_t slen)
{
	uint8_t *q = out;

	if (slen != 2 * n)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EBADMSG;
		q[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int base64_encode(struct buf *out, const void *p, size_t n)
{
	const uint8_t *q = p;
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i += 3) {
		uint32_t v = (uint32_t)q[i] << 16;
		char t[4];

		if (i + 1 < n)
			v |= (uint32_t)q[i + 1] << 8;
		if (i + 2 < n)
			v |= q[i + 2];
		t[0] = b64[v >> 18 & 63];
		t[1] = b64[v >> 12 & 63];
		t[2] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		t[3] = i + 2 < n ? b64[v & 63] : '=';
		r = buf_append(out, t, 4);
	}
	return r;
}

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int base64_decode(struct buf *out, const char *s, size_t n)
{
	uint32_t acc = 0;
	int bits = 0, pad = 0, r;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int v;

		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad)
			return -EBADMSG;
		v = b64val(c);
		if (v < 0)
			return -EBADMSG;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			r = buf_append_byte(out, (uint8_t)(acc >> bits));
			if (r < 0)
				return r;
		}
	}
	if (pad > 2 || bits >= 6)
		return -EBADMSG;
	return 0;
}
