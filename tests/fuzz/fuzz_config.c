/*
 * fuzz_config.c — ferry.conf's parser over arbitrary bytes.  What it
 * accepts must hold together: sources sorted by priority, every value a
 * non-empty string inside the parser's own copy with no control
 * characters and no surrounding blanks, line numbers within the file, and
 * the same text parsed again gives the same result.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sync/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_value(const struct sync_config *c, const char *v, unsigned line, size_t lines)
{
	size_t n;

	if (!v) {
		if (line)
			abort();
		return;
	}
	n = strlen(v);
	if (v < c->text || n == 0 || line == 0 || line > lines || v[0] == ' ' || v[n - 1] == ' ')
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 && v[i] != '\t')
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sync_config a, b;
	size_t lines = 1;

	if (sync_config_parse(&a, "fuzz.conf", (const char *)data, size) < 0)
		return 0;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	const struct sync_config_value *vals[] = { &a.store, &a.bwlimit, &a.window, &a.deadline,
						   &a.ca, &a.known_hosts, &a.identity };
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		check_value(&a, vals[i]->value, vals[i]->line, lines);
	for (size_t i = 0; i < a.nsources; i++) {
		check_value(&a, a.sources[i].location, a.sources[i].line, lines);
		if (i && a.sources[i - 1].priority > a.sources[i].priority)
			abort();
	}
	for (size_t i = 0; i < a.nsubs; i++) {
		check_value(&a, a.subs[i].channel, a.subs[i].line, lines);
		if (a.subs[i].path)
			check_value(&a, a.subs[i].path, a.subs[i].line, lines);
	}
	if (sync_config_parse(&b, "fuzz.conf", (const char *)data, size) < 0 ||
	    b.nsources != a.nsources || b.nsubs != a.nsubs)
		abort();
	for (size_t i = 0; i < a.nsources; i++)
		if (strcmp(a.sources[i].location, b.sources[i].location) != 0 ||
		    a.sources[i].line != b.sources[i].line)
			abort();
	sync_config_release(&a);
	sync_config_release(&b);
	return 0;
}
