/*
 * cmd_store.c — `ferry store init STORE --trust KEY.pub [--trust KEY2.pub]...`,
 *               `ferry store subscribe|unsubscribe STORE CHANNEL [--only PREFIX]...`
 */
#include <stdio.h>
#include <string.h>

#include "cmd/commands.h"
#include "core/mem.h"
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

/*
 * `ferry store subscribe STORE CHANNEL [--only PREFIX]...` sets what the
 * store takes of CHANNEL: the whole channel, or only those path prefixes
 * (replacing earlier ones).  `ferry store unsubscribe STORE CHANNEL`
 * drops the channel; with --only it removes just those prefixes.  The
 * next `ferry sync` (no arguments needed) fetches what a widened filter
 * newly includes; checkout, verify and gc follow once it is installed.
 */
static int subscription(struct cli *c, int argc, char **argv, bool add)
{
	const char *pos[2], *only[64];
	struct store *st = NULL;
	char **now = NULL;
	AUTO_FREE char *text = NULL;
	size_t n = 0;
	int np = 0, r;

	for (int i = 1; i < argc; i++) {
		if (cli_common_option(c, argv[i]))
			continue;
		if (strcmp(argv[i], "--only") == 0 && i + 1 < argc && n < 64)
			only[n++] = argv[++i];
		else if (argv[i][0] != '-' && np < 2)
			pos[np++] = argv[i];
		else
			return EXIT_USAGE;
	}
	if (np != 2)
		return EXIT_USAGE;
	r = store_open(&st, pos[0]);
	if (r == 0)
		r = add ? store_subscribe(st, pos[1], only, n) : store_unsubscribe(st, pos[1], only, n);
	if (r == 0) {
		r = store_subscription_get(&now, st, pos[1]);
		if (r == -ENOENT)
			r = 0;
		else if (r == 0)
			text = store_filters_text((const char *const *)now);
	}
	store_close(st);
	if (r < 0) {
		store_filters_free(now);
		return cli_fail(r, "store %s %s", add ? "subscribe" : "unsubscribe", pos[1]);
	}
	if (c->json) {
		jw_obj_begin(&c->w);
		jw_key(&c->w, "channel");
		jw_str(&c->w, pos[1]);
		jw_key(&c->w, "subscribed");
		jw_bool(&c->w, text != NULL);
		jw_key(&c->w, "filters");
		jw_arr_begin(&c->w);
		for (size_t i = 0; now && now[i]; i++)
			jw_str(&c->w, now[i]);
		jw_arr_end(&c->w);
		jw_obj_end(&c->w);
	} else if (!c->quiet) {
		if (text)
			printf("%s: subscribed to %s; the next ferry sync brings it in\n", pos[1], text);
		else
			printf("%s: no longer subscribed; ferry gc frees its chunks\n", pos[1]);
	}
	store_filters_free(now);
	return EXIT_DONE;
}

int cmd_store_subscribe(struct cli *c, int argc, char **argv)
{
	return subscription(c, argc, argv, true);
}

int cmd_store_unsubscribe(struct cli *c, int argc, char **argv)
{
	return subscription(c, argc, argv, false);
}
