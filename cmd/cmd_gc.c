/*
 * cmd_gc.c — `ferry gc STORE`: drop chunks and packs no kept release needs.
 */
#include <stdio.h>

#include "cmd/commands.h"
#include "sync/gc.h"

int cmd_gc(struct cli *c, int argc, char **argv)
{
	struct gc_result res;
	const char *root;
	char before[32], after[32];
	int r;

	if (cli_one_path(c, argc, argv, &root) != 0)
		return EXIT_USAGE;
	r = gc_run(&res, root);
	if (r < 0)
		return cli_fail(r, "gc %s", root);
	if (c->json) {
		jw_obj_begin(&c->w);
		jw_key(&c->w, "live_chunks");
		jw_u64(&c->w, res.live_chunks);
		jw_key(&c->w, "packs_removed");
		jw_u64(&c->w, res.packs_removed);
		jw_key(&c->w, "packs_repacked");
		jw_u64(&c->w, res.packs_repacked);
		jw_key(&c->w, "bytes_before");
		jw_u64(&c->w, res.bytes_before);
		jw_key(&c->w, "bytes_after");
		jw_u64(&c->w, res.bytes_after);
		jw_key(&c->w, "partial_removed");
		jw_u64(&c->w, res.partial_removed);
		jw_key(&c->w, "partial_bytes");
		jw_u64(&c->w, res.partial_bytes);
		jw_obj_end(&c->w);
	} else if (!c->quiet) {
		cli_size(before, sizeof(before), res.bytes_before);
		cli_size(after, sizeof(after), res.bytes_after);
		printf("packs: %s before, %s after (%llu removed, %llu repacked; %llu chunks kept)\n",
		       before, after, (unsigned long long)res.packs_removed,
		       (unsigned long long)res.packs_repacked, (unsigned long long)res.live_chunks);
		if (res.partial_removed) {
			cli_size(before, sizeof(before), res.partial_bytes);
			printf("partly fetched packs no release waits for: %llu removed (%s)\n",
			       (unsigned long long)res.partial_removed, before);
		}
	}
	return EXIT_DONE;
}
