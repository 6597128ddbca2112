/*
 * cmd_store.c — `ferry store init STORE --trust KEY.pub [--trust KEY2.pub]...`
 */
#include <stdio.h>
#include <string.h>

#include "cmd/commands.h"
#include "sync/store.h"

int cmd_store_init(struct cli *c, int argc, char **argv)
{
	const char *keys[STORE_MAX_KEYS], *root = NULL;
	size_t n = 0;
	int r;

	for (int i = 1; i < argc; i++) {
		if (cli_common_option(c, argv[i]))
			continue;
		if (strcmp(argv[i], "--trust") == 0 && i + 1 < argc && n < STORE_MAX_KEYS)
			keys[n++] = argv[++i];
		else if (argv[i][0] != '-' && !root)
			root = argv[i];
		else
			return EXIT_USAGE;
	}
	if (!root || n == 0)
		return EXIT_USAGE;
	r = store_init(root, keys, n);
	if (r < 0)
		return cli_fail(r, "store init %s", root);
	if (c->json) {
		jw_obj_begin(&c->w);
		jw_key(&c->w, "store");
		jw_str(&c->w, root);
		jw_key(&c->w, "trusted_keys");
		jw_u64(&c->w, n);
		jw_obj_end(&c->w);
	} else if (!c->quiet) {
		printf("created store %s trusting %zu key%s\n", root, n, n == 1 ? "" : "s");
	}
	return EXIT_DONE;
}
