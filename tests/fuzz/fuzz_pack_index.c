/*
 * fuzz_pack_index.c — the .idx parser and the pack-tail parser over
 * arbitrary bytes.
 *
 * Each input is parsed three ways: as a .idx file as it is; as a .idx
 * whose trailing SHA-256 is recomputed first (so mutations reach the
 * record checks instead of all dying at the hash); and as a pack's tail
 * (index and footer) for the pack size its footer implies.  Whatever
 * parses must then keep the promises pack.h makes: every record found by
 * its own ID, IDs strictly sorted, entries tiling the pack in file order.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/crypto.h"
#include "packager/pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_index(const struct pack_index *idx)
{
	uint64_t pos = PACK_HEADER_LEN;
	struct pack_entry e, f, prev;
	size_t n = pack_index_count(idx);

	for (size_t i = 0; i < n; i++) {
		pack_index_get(&e, idx, i);
		if (pack_index_find(&f, idx, &e.id) != 0 || memcmp(&f.id, &e.id, SHA256_LEN) != 0 ||
		    f.offset != e.offset || pack_entry_validate(&e) != 0)
			abort();
		if (i && memcmp(prev.id.b, e.id.b, SHA256_LEN) >= 0)
			abort();
		prev = e;
	}
	for (size_t k = 0; k < n; k++) {
		pack_index_get_by_offset(&e, idx, k);
		if (e.offset != pos)
			abort();
		pos += PACK_ENTRY_HEADER_LEN + e.stored_len;
	}
	if (pos + n * PACK_RECORD_LEN + PACK_FOOTER_LEN != pack_index_pack_size(idx))
		abort();
}

static void parse_idx(const uint8_t *p, size_t n)
{
	struct pack_index *idx = NULL;

	if (pack_index_parse(&idx, p, n) < 0)
		return;
	check_index(idx);
	pack_index_free(idx);
}

static void parse_tail(const uint8_t *p, size_t n)
{
	struct pack_index *idx = NULL;
	uint64_t size;

	if (n < PACK_FOOTER_LEN)
		return;
	size = get_le64(p + n - PACK_FOOTER_LEN + PACK_FT_INDEX_OFFSET) + n;
	if (pack_index_parse_tail(&idx, p, n, size, NULL) < 0)
		return;
	check_index(idx);
	pack_index_free(idx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	parse_idx(data, size);
	parse_tail(data, size);
	if (size < PACK_IDX_HEADER_LEN + PACK_IDX_TRAILER_LEN)
		return 0;
	copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	sha256_buf((struct sha256 *)(copy + size - SHA256_LEN), copy, size - SHA256_LEN);
	parse_idx(copy, size);
	free(copy);
	return 0;
}
