/*
 * fuzz_json.c — the JSON reader over arbitrary bytes; walks what it accepts.
 */
#include "core/json_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t walk(const struct json_node *n)
{
	size_t k = 1;

	for (const struct json_node *c = n->child; c; c = c->next)
		k += walk(c);
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_doc *d;

	if (size > (1u << 20) || json_parse(&d, (const char *)data, size) < 0)
		return 0;
	(void)walk(json_root(d));
	json_free(d);
	return 0;
}
