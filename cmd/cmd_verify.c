/*
 * cmd_verify.c — `ferry verify REPO|STORE`: exit 0 only if sound; every
 * problem on its own line.
 */
#include <stdio.h>
#include <string.h>

#include "cmd/commands.h"
#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "manifests/verify.h"
#include "sync/store.h"

struct verify_ui {
	struct cli *c;
};

/* A school store's installed filters per channel, for mf_verify_store(). */
struct held {
	char name[LIMIT_CHANNEL_BYTES + 1];
	char **filters;
};

struct held_set {
	struct store *st;
	struct held v[64];
	size_t n;
	int err;
};

static int on_installed(const struct db_channel *ch, void *ctx)
{
	struct held_set *h = ctx;

	if (h->n == sizeof(h->v) / sizeof(h->v[0]))
		return 0;
	snprintf(h->v[h->n].name, sizeof(h->v[0].name), "%s", ch->name);
	return store_held_filters_get(&h->v[h->n++].filters, h->st, ch->name);
}

static bool store_holds(const char *channel, const char *path, void *ctx)
{
	struct held_set *h = ctx;

	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->v[i].name, channel) == 0)
			return store_filter_match((const char *const *)h->v[i].filters, path);
	return true; /* a head the database does not know: check all of it */
}

/* Loads the filters if root is a school store; false if it is not one. */
static bool load_held(struct held_set *h, const char *root)
{
	AUTO_FREE char *dbpath = fs_join(root, STORE_DB_FILE);

	if (!dbpath || !fs_exists(dbpath) || store_open(&h->st, root) < 0)
		return false;
	h->err = db_channel_foreach(h->st->db, on_installed, h);
	store_close(h->st);
	h->st = NULL;
	return true;
}

static void free_held(struct held_set *h)
{
	for (size_t i = 0; i < h->n; i++)
		store_filters_free(h->v[i].filters);
}

static int on_problem(const char *line, void *ctx)
{
	struct verify_ui *ui = ctx;

	if (ui->c->json) {
		jw_str(&ui->c->w, line);
		return 0;
	}
	fprintf(stderr, "ferry: verify: %s\n", line);
	return 0;
}

static int db_problem(const char *line, void *ctx)
{
	return on_problem(line, ctx);
}

/* A store before its first sync has no ferry.json: nothing to check but
 * its database. */
static bool store_is_empty(const char *root)
{
	AUTO_FREE char *dbpath = fs_join(root, STORE_DB_FILE);
	AUTO_FREE char *cfg = fs_join(root, "ferry.json");

	return dbpath && cfg && fs_exists(dbpath) && !fs_exists(cfg);
}

/* A school store also has its database: SQLite's own integrity check. */
static int verify_store_db(struct cli *c, const char *root, struct verify_ui *ui,
			   struct mf_verify_stats *st)
{
	AUTO_FREE char *dbpath = fs_join(root, STORE_DB_FILE);
	struct store *s = NULL;
	int r;

	if (!dbpath || !fs_exists(dbpath))
		return 0;
	r = store_open(&s, root);
	if (r == 0)
		r = db_check(s->db, db_problem, ui);
	if (r < 0) {
		st->problems++;
		on_problem(err_detail(), ui);
		r = -EBADMSG;
	}
	store_close(s);
	return r;
}

int cmd_verify(struct cli *c, int argc, char **argv)
{
	struct mf_verify_stats st = { 0 };
	struct verify_ui ui = { .c = c };
	struct held_set held = { 0 };
	const char *root = NULL;
	int r;

	if (cli_one_path(c, argc, argv, &root) != 0)
		return EXIT_USAGE;
	if (c->json) {
		jw_obj_begin(&c->w);
		jw_key(&c->w, "problems");
		jw_arr_begin(&c->w);
	}
	if (store_is_empty(root))
		r = 0; /* a store that has synced nothing yet: only its database */
	else if (load_held(&held, root))
		r = held.err < 0 ? held.err
				 : mf_verify_store(&st, root, store_holds, &held, on_problem, &ui);
	else
		r = mf_verify_repo(&st, root, on_problem, &ui);
	free_held(&held);
	if (r == 0 || r == -EBADMSG) {
		int e = verify_store_db(c, root, &ui, &st);

		r = e < 0 ? e : r;
	}
	if (c->json) {
		jw_arr_end(&c->w);
		jw_key(&c->w, "sound");
		jw_bool(&c->w, r == 0);
		jw_key(&c->w, "packs");
		jw_u64(&c->w, st.packs);
		jw_key(&c->w, "chunks");
		jw_u64(&c->w, st.chunks);
		jw_key(&c->w, "heads");
		jw_u64(&c->w, st.heads);
		jw_key(&c->w, "files");
		jw_u64(&c->w, st.files);
		jw_obj_end(&c->w);
	}
	if (r == -EBADMSG) {
		if (!c->json)
			fprintf(stderr, "ferry: verify %s: %llu problem%s found\n", root,
				(unsigned long long)st.problems, st.problems == 1 ? "" : "s");
		return EXIT_TRUST;
	}
	if (r < 0)
		return c->json ? EXIT_ERROR : cli_fail(r, "verify %s", root);
	if (!c->json && !c->quiet)
		printf("%s is sound: %llu packs, %llu chunks, %llu heads, %llu files checked\n", root,
		       (unsigned long long)st.packs, (unsigned long long)st.chunks,
		       (unsigned long long)st.heads, (unsigned long long)st.files);
	return EXIT_DONE;
}
