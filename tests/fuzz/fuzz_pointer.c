/*
 * fuzz_pointer.c — the file pointer parser, over arbitrary bytes.
 * Anything it accepts must format back to the same bytes (canonical form).
 */
#include <stdlib.h>
#include <string.h>

#include "manifests/pointer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mf_pointer p;
	struct buf b;

	if (mf_pointer_parse(&p, data, size) < 0)
		return 0;
	buf_init(&b, 64u << 20);
	if (mf_pointer_format(&b, &p) == 0 && (b.len != size || memcmp(b.data, data, size) != 0))
		abort();
	buf_release(&b);
	mf_pointer_release(&p);
	return 0;
}
