/*
 * fuzz_deltas.c — what a school parses of deltas, over arbitrary bytes.
 * The first byte chooses: 'm' the rest is a meta/deltas list (anything
 * accepted must format back to the same bytes); otherwise the rest is a
 * pack entry fetched alone, and a delta entry is checked against its ID
 * and applied to a fixed base with the bounds a school uses.
 */
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "core/mem.h"
#include "packager/codec.h"
#include "packager/delta.h"
#include "packager/pack.h"

#define FUZZ_TARGET_MAX (1u << 20) /* keeps a run fast; the rules are the same */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_list(const uint8_t *data, size_t size)
{
	struct delta_list l;
	struct buf b;

	if (delta_list_parse(&l, data, size) < 0)
		return;
	buf_init(&b, LIMIT_DELTA_LIST_BYTES);
	if (delta_list_format(&b, &l) == 0 && (b.len != size || memcmp(b.data, data, size) != 0))
		abort();
	buf_release(&b);
	delta_list_release(&l);
}

static void fuzz_entry(const uint8_t *data, size_t size)
{
	static const char base[] = "the base version of a file that a school holds already\n";
	static struct codec *c;
	struct pack_entry e;
	const uint8_t *payload;
	uint8_t *out;
	int r;

	if (pack_entry_parse(&e, &payload, data, size) < 0 || e.type != PACK_ENTRY_DELTA)
		return;
	if (!c && codec_new(&c, CODEC_LEVEL_DEFAULT) < 0)
		abort();
	/* The ID check comes first at a school; apply anyway to reach the
	 * decoder with hostile frames. */
	r = pack_delta_check(&e, payload);
	if (e.raw_len > FUZZ_TARGET_MAX)
		return;
	out = mem_alloc(e.raw_len);
	if (!out)
		return;
	r = codec_delta_apply(c, out, e.raw_len, base, sizeof(base) - 1, payload, e.stored_len);
	mem_free(out);
	(void)r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] == 'm')
		fuzz_list(data + 1, size - 1);
	else
		fuzz_entry(data + 1, size - 1);
	return 0;
}
