/*
 * fuzz_pack_entry.c — the entry parser and decoder over arbitrary bytes,
 * as a school meets them: a byte range fetched from a mirror that may hold
 * one entry or several back to back (a coalesced range request).
 *
 * Entries are walked until one fails to parse; each parsed entry is
 * decoded into a LIMIT_CHUNK_MAX buffer.  Decoding must never succeed for
 * bytes that do not hash to the entry's ID, so a success is re-checked
 * here independently.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "packager/pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct codec *codec;
static uint8_t raw[LIMIT_CHUNK_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	if (!codec && codec_new(&codec, CODEC_LEVEL_DEFAULT) < 0)
		abort();
	while (off < size) {
		struct pack_entry e;
		const uint8_t *payload;
		struct sha256 sum;
		int n = pack_entry_parse(&e, &payload, data + off, size - off);

		if (n < 0)
			break;
		if ((size_t)n > size - off || payload != data + off + PACK_ENTRY_HEADER_LEN)
			abort();
		if (pack_entry_decode(raw, sizeof(raw), &e, payload, codec) == 0) {
			sha256_buf(&sum, raw, e.raw_len);
			if (memcmp(sum.b, e.id.b, SHA256_LEN) != 0)
				abort();
		}
		off += (size_t)n;
	}
	return 0;
}
