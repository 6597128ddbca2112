/*
 * fuzz_pack_list.c — the packs/list parser over arbitrary bytes.
 */
#include <stdint.h>

#include "packager/pack_list.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(const struct sha256 *name, uint64_t size, void *ctx)
{
	(*(uint64_t *)ctx) += size;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t total = 0;

	if (pack_list_parse(data, size, count, &total) < 0)
		return 0;
	return 0;
}
