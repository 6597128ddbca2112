/*
 * fuzz_catalog.c — the catalog sidecar parser over arbitrary bytes.
 */
#include <stdint.h>

#include "manifests/catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int row(const struct mf_catalog_row *r, void *ctx)
{
	size_t *sum = ctx;

	for (int i = 0; i < CATALOG_FIELDS; i++)
		*sum += r->len[i];
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t sum = 0;

	if (mf_catalog_parse(data, size, row, &sum) < 0)
		return 0;
	return 0;
}
