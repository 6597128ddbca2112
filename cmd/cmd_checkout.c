/*
 * cmd_checkout.c — `ferry checkout STORE CHANNEL DIR [--rollback]`
 */
#include <stdio.h>
#include <string.h>

#include "cmd/commands.h"
#include "sync/checkout.h"

int cmd_checkout(struct cli *c, int argc, char **argv)
{
	const char *pos[3];
	struct checkout_result res;
	bool rollback = false;
	int n = 0, r;

	for (int i = 1; i < argc; i++) {
		if (cli_common_option(c, argv[i]))
			continue;
		if (strcmp(argv[i], "--rollback") == 0)
			rollback = true;
		else if (argv[i][0] != '-' && n < 3)
			pos[n++] = argv[i];
		else
			return EXIT_USAGE;
	}
	if (n != 3)
		return EXIT_USAGE;
	r = checkout_run(&res, pos[0], pos[1], pos[2], rollback);
	if (r < 0)
		return cli_fail(r, "checkout %s", pos[1]);
	if (c->json) {
		jw_obj_begin(&c->w);
		jw_key(&c->w, "channel");
		jw_str(&c->w, pos[1]);
		jw_key(&c->w, "version");
		jw_u64(&c->w, res.version);
		jw_key(&c->w, "files");
		jw_u64(&c->w, res.files);
		jw_key(&c->w, "linked");
		jw_u64(&c->w, res.linked);
		jw_key(&c->w, "written");
		jw_u64(&c->w, res.written);
		jw_key(&c->w, "target");
		jw_str(&c->w, res.target);
		jw_obj_end(&c->w);
	} else if (!c->quiet) {
		if (rollback)
			printf("%s now points at %s\n", pos[2], res.target);
		else
			printf("%s: release %llu in %s (%llu files: %llu reused, %llu written)\n",
			       pos[1], (unsigned long long)res.version, pos[2],
			       (unsigned long long)res.files, (unsigned long long)res.linked,
			       (unsigned long long)res.written);
	}
	return EXIT_DONE;
}
