/*
 * fuzz_repo_config.c — ferry.json's parser over arbitrary bytes.  What it
 * accepts must format back to a document it accepts again, with the same
 * repository id, chunker and keys.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manifests/repo_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct repo_config a, b;
	struct buf out;

	if (repo_config_parse(&a, data, size) < 0)
		return 0;
	buf_init(&out, 1u << 20);
	if (repo_config_format(&out, &a) < 0 || repo_config_parse(&b, out.data, out.len) < 0)
		abort();
	if (strcmp(a.id, b.id) != 0 || memcmp(&a.chunker, &b.chunker, sizeof(a.chunker)) != 0 ||
	    a.nkeys != b.nkeys)
		abort();
	repo_config_release(&a);
	repo_config_release(&b);
	buf_release(&out);
	return 0;
}
