/*
 * cmd_repo.c — `ferry repo init REPO --key KEY.pub [--key KEY2.pub]...`
 */
#include <stdio.h>
#include <string.h>

#include "cmd/commands.h"
#include "manifests/repo.h"

#define MAX_KEYS 16

int cmd_repo_init(struct cli *c, int argc, char **argv)
{
	const char *keys[MAX_KEYS], *root = NULL;
	size_t nkeys = 0;
	int r;

	for (int i = 1; i < argc; i++) {
		if (cli_common_option(c, argv[i]))
			continue;
		if (strcmp(argv[i], "--key") == 0 && i + 1 < argc && nkeys < MAX_KEYS)
			keys[nkeys++] = argv[++i];
		else if (argv[i][0] != '-' && !root)
			root = argv[i];
		else
			return EXIT_USAGE;
	}
	if (!root || nkeys == 0)
		return EXIT_USAGE;
	r = mf_repo_init(root, keys, nkeys);
	if (r < 0)
		return cli_fail(r, "repo init %s", root);
	if (c->json) {
		jw_obj_begin(&c->w);
		jw_key(&c->w, "repository");
		jw_str(&c->w, root);
		jw_key(&c->w, "keys");
		jw_u64(&c->w, nkeys);
		jw_obj_end(&c->w);
	} else if (!c->quiet) {
		printf("created repository %s trusting %zu key%s\n", root, nkeys, nkeys == 1 ? "" : "s");
	}
	return EXIT_DONE;
}
