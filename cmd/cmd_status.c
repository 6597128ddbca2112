/*
 * cmd_status.c — `ferry status STORE [--json]`: what the store subscribes
 * to (channels and their path filters), what is installed and how old it
 * is, what is pending and how much of it is still missing, the last runs
 * with their outcome, and the disk the store uses.
 *
 * What is missing is counted afresh from the store, not remembered: each
 * pending release's files under the subscription are walked and every
 * chunk looked up, so the figures are what the next run would still have
 * to fetch (files, chunks, and their stored bytes, each chunk once).
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include "cmd/commands.h"
#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "sync/store.h"

/* A release published longer ago than this is called stale. */
#define STATUS_STALE_DAYS 30

struct status {
	struct cli *c;
	struct store *st;
	time_t now;
	uint64_t pack_bytes;
};

static void age(char *out, size_t n, int64_t then, time_t now)
{
	int64_t d = (int64_t)now - then;

	if (then <= 0)
		snprintf(out, n, "at an unknown time");
	else if (d < 0)
		snprintf(out, n, "in the future (check the clock)");
	else if (d < 3600)
		snprintf(out, n, "%lld min ago", (long long)(d / 60));
	else if (d < 86400 * 2)
		snprintf(out, n, "%lld h ago", (long long)(d / 3600));
	else
		snprintf(out, n, "%lld days ago%s", (long long)(d / 86400),
			 d >= 86400LL * STATUS_STALE_DAYS ? " (stale: no newer release has reached "
							    "this store)" : "");
}

static void json_filters(struct jw *w, const char *key, char *const *f)
{
	jw_key(w, key);
	if (!f) {
		jw_null(w);
		return;
	}
	jw_arr_begin(w);
	for (size_t i = 0; f[i]; i++)
		jw_str(w, f[i]);
	jw_arr_end(w);
}

/* ---- subscriptions ------------------------------------------------------ */

struct names {
	char (*v)[LIMIT_CHANNEL_BYTES + 1];
	size_t n;
};

static int on_sub(const struct db_subscription *s, void *ctx)
{
	struct names *l = ctx;

	if (l->n && strcmp(l->v[l->n - 1], s->channel) == 0)
		return 0; /* walked by channel: one entry each */
	if (l->n == 256)
		return 0;
	snprintf(l->v[l->n++], sizeof(l->v[0]), "%s", s->channel);
	return 0;
}

static int subscriptions(struct status *s)
{
	struct names l = { .v = mem_calloc(256, sizeof(*l.v)) };
	int r = l.v ? db_subscription_foreach(s->st->db, on_sub, &l) : -ENOMEM;

	for (size_t i = 0; r == 0 && i < l.n; i++) {
		char **f = NULL;

		r = store_subscription_get(&f, s->st, l.v[i]);
		if (r < 0)
			break;
		if (s->c->json) {
			jw_obj_begin(&s->c->w);
			jw_key(&s->c->w, "channel");
			jw_str(&s->c->w, l.v[i]);
			json_filters(&s->c->w, "filters", f);
			jw_obj_end(&s->c->w);
		} else {
			AUTO_FREE char *text = store_filters_text((const char *const *)f);

			printf("  %-32s %s\n", l.v[i], text ? text : "?");
		}
		store_filters_free(f);
	}
	if (r == 0 && l.n == 0 && !s->c->json)
		printf("  nothing yet (ferry sync STORE --channel NAME [--only PREFIX])\n");
	mem_free(l.v);
	return r;
}

/* ---- installed ---------------------------------------------------------- */

static int on_channel(const struct db_channel *ch, void *ctx)
{
	struct status *s = ctx;
	char pub[96], inst[96], sz[32];
	char **f = NULL, **want = NULL;
	struct store_scan sc = { 0 };
	bool changed = false, subscribed = false;
	int r = store_installed_filters_get(&f, s->st, ch->name);

	if (r == 0) {
		r = store_subscription_get(&want, s->st, ch->name);
		subscribed = r == 0;
		r = r == -ENOENT ? 0 : r;
	}
	/* A changed subscription: what the next sync still has to bring. */
	changed = subscribed && !store_filters_equal((const char *const *)f,
						     (const char *const *)want);
	if (r == 0 && changed)
		r = store_release_scan(&sc, s->st, ch->commit, (const char *const *)want);
	if (r < 0) {
		store_filters_free(f);
		store_filters_free(want);
		return r;
	}
	age(pub, sizeof(pub), ch->head_time, s->now);
	age(inst, sizeof(inst), ch->installed_time, s->now);
	cli_size(sz, sizeof(sz), ch->bytes);
	if (s->c->json) {
		jw_obj_begin(&s->c->w);
		jw_key(&s->c->w, "channel");
		jw_str(&s->c->w, ch->name);
		jw_key(&s->c->w, "version");
		jw_u64(&s->c->w, ch->version);
		jw_key(&s->c->w, "commit");
		jw_str(&s->c->w, ch->commit);
		jw_key(&s->c->w, "published");
		jw_i64(&s->c->w, ch->head_time);
		jw_key(&s->c->w, "age_seconds");
		jw_i64(&s->c->w, ch->head_time > 0 ? (int64_t)s->now - ch->head_time : -1);
		jw_key(&s->c->w, "stale");
		jw_bool(&s->c->w, ch->head_time > 0 &&
				  (int64_t)s->now - ch->head_time >= 86400LL * STATUS_STALE_DAYS);
		jw_key(&s->c->w, "installed");
		jw_i64(&s->c->w, ch->installed_time);
		jw_key(&s->c->w, "files");
		jw_u64(&s->c->w, ch->files);
		jw_key(&s->c->w, "bytes");
		jw_u64(&s->c->w, ch->bytes);
		json_filters(&s->c->w, "filters", f);
		if (changed) {
			json_filters(&s->c->w, "subscription", want);
			jw_key(&s->c->w, "subscription_files_missing");
			jw_u64(&s->c->w, sc.missing_files);
			jw_key(&s->c->w, "subscription_bytes_missing");
			jw_u64(&s->c->w, sc.missing_bytes);
		}
		jw_obj_end(&s->c->w);
	} else {
		printf("  %-32s release %llu, published %s, installed %s\n", ch->name,
		       (unsigned long long)ch->version, pub, inst);
		printf("    %llu files, %s", (unsigned long long)ch->files, sz);
		if (f) {
			AUTO_FREE char *text = store_filters_text((const char *const *)f);

			printf(" (only %s)", text ? text : "?");
		}
		printf("\n");
		if (changed) {
			AUTO_FREE char *text = store_filters_text((const char *const *)want);

			cli_size(sz, sizeof(sz), sc.missing_bytes);
			printf("    the subscription now asks for %s: %llu files (%s) not yet in the "
			       "store; the next ferry sync brings them\n", text ? text : "?",
			       (unsigned long long)sc.missing_files, sz);
		}
	}
	store_filters_free(f);
	store_filters_free(want);
	return 0;
}

/* ---- pending ------------------------------------------------------------ */

static int on_pending(const struct db_pending *p, void *ctx)
{
	struct status *s = ctx;
	struct store_scan sc;
	char m[32], t[32];
	char **f = NULL;
	int r = store_subscription_get(&f, s->st, p->channel);

	if (r == -ENOENT)
		return 0; /* unsubscribed: the next sync will not continue it */
	if (r == 0)
		r = store_release_scan(&sc, s->st, p->commit, (const char *const *)f);
	store_filters_free(f);
	if (r < 0)
		return r;
	cli_size(m, sizeof(m), sc.missing_bytes);
	cli_size(t, sizeof(t), sc.bytes);
	if (s->c->json) {
		jw_obj_begin(&s->c->w);
		jw_key(&s->c->w, "channel");
		jw_str(&s->c->w, p->channel);
		jw_key(&s->c->w, "version");
		jw_u64(&s->c->w, p->version);
		jw_key(&s->c->w, "bytes_missing");
		jw_u64(&s->c->w, sc.missing_bytes);
		jw_key(&s->c->w, "files_missing");
		jw_u64(&s->c->w, sc.missing_files);
		jw_key(&s->c->w, "chunks_missing");
		jw_u64(&s->c->w, sc.missing_chunks);
		jw_key(&s->c->w, "files");
		jw_u64(&s->c->w, sc.files);
		jw_key(&s->c->w, "bytes");
		jw_u64(&s->c->w, sc.bytes);
		jw_key(&s->c->w, "approximate");
		jw_bool(&s->c->w, sc.approximate);
		jw_key(&s->c->w, "bytes_total");
		jw_u64(&s->c->w, p->bytes_total);
		jw_key(&s->c->w, "updated");
		jw_i64(&s->c->w, p->updated);
		jw_obj_end(&s->c->w);
	} else {
		printf("  %-32s release %llu: %s%s in %llu of its %llu files (%s) still missing\n",
		       p->channel, (unsigned long long)p->version, sc.approximate ? "at most " : "", m,
		       (unsigned long long)sc.missing_files, (unsigned long long)sc.files, t);
	}
	return 0;
}

/* ---- runs and disk ------------------------------------------------------ */

static int on_run(const struct db_run *r, void *ctx)
{
	struct status *s = ctx;
	char when[32], rd[32], wr[32];
	struct tm tm;
	time_t t = (time_t)r->started;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
	cli_size(rd, sizeof(rd), r->bytes_read);
	cli_size(wr, sizeof(wr), r->bytes_written);
	if (s->c->json) {
		jw_obj_begin(&s->c->w);
		jw_key(&s->c->w, "started");
		jw_i64(&s->c->w, r->started);
		jw_key(&s->c->w, "ended");
		jw_i64(&s->c->w, r->ended);
		jw_key(&s->c->w, "outcome");
		jw_str(&s->c->w, r->outcome ? r->outcome : "running or killed");
		jw_key(&s->c->w, "bytes_read");
		jw_u64(&s->c->w, r->bytes_read);
		jw_key(&s->c->w, "bytes_written");
		jw_u64(&s->c->w, r->bytes_written);
		jw_key(&s->c->w, "chunks_stored");
		jw_u64(&s->c->w, r->chunks_stored);
		jw_key(&s->c->w, "reason");
		jw_str(&s->c->w, r->reason ? r->reason : "");
		jw_obj_end(&s->c->w);
	} else {
		printf("  %s UTC  %-8s read %s, stored %s, %llds%s%s\n", when,
		       r->outcome ? r->outcome : "killed", rd, wr,
		       (long long)(r->ended > r->started ? r->ended - r->started : 0),
		       r->reason && r->reason[0] ? "  " : "", r->reason ? r->reason : "");
	}
	return 0;
}

static int on_pack(const struct db_pack *p, void *ctx)
{
	((struct status *)ctx)->pack_bytes += p->size;
	return 0;
}

/* The database and its write-ahead log. */
static uint64_t db_bytes(const char *root)
{
	static const char *const names[] = { STORE_DB_FILE, STORE_DB_FILE "-wal" };
	uint64_t total = 0;

	for (size_t i = 0; i < 2; i++) {
		AUTO_FREE char *p = fs_join(root, names[i]);
		struct stat st;

		if (p && stat(p, &st) == 0)
			total += (uint64_t)st.st_size;
	}
	return total;
}

/* Opens the next section: a JSON array under key, or a heading. */
static void section(struct cli *c, const char *key, const char *heading, bool first)
{
	if (c->json) {
		if (!first)
			jw_arr_end(&c->w);
		jw_key(&c->w, key);
		jw_arr_begin(&c->w);
	} else {
		printf("%s\n", heading);
	}
}

static void disk(struct status *s, const char *root)
{
	struct statvfs vfs;
	uint64_t dbb = db_bytes(root), free_bytes = 0;
	bool known = statvfs(root, &vfs) == 0;
	char used[32], dbs[32], avail[32];

	if (known)
		free_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	cli_size(used, sizeof(used), s->pack_bytes);
	cli_size(dbs, sizeof(dbs), dbb);
	cli_size(avail, sizeof(avail), free_bytes);
	if (s->c->json) {
		jw_arr_end(&s->c->w);
		jw_key(&s->c->w, "pack_bytes");
		jw_u64(&s->c->w, s->pack_bytes);
		jw_key(&s->c->w, "db_bytes");
		jw_u64(&s->c->w, dbb);
		jw_key(&s->c->w, "disk_free");
		if (known)
			jw_u64(&s->c->w, free_bytes);
		else
			jw_null(&s->c->w);
		jw_obj_end(&s->c->w);
	} else {
		printf("disk: %s in packs, %s database, %s free\n", used, dbs,
		       known ? avail : "unknown");
	}
}

int cmd_status(struct cli *c, int argc, char **argv)
{
	struct status s = { .c = c, .now = time(NULL) };
	const char *root = NULL;
	int r;

	if (cli_one_path(c, argc, argv, &root) != 0)
		return EXIT_USAGE;
	r = store_open(&s.st, root);
	if (r < 0)
		return cli_fail(r, "status %s", root);
	if (c->json)
		jw_obj_begin(&c->w);
	section(c, "subscribed", "subscribed:", true);
	r = subscriptions(&s);
	section(c, "installed", "installed:", false);
	if (r == 0)
		r = db_channel_foreach(s.st->db, on_channel, &s);
	section(c, "pending", "pending:", false);
	if (r == 0)
		r = db_pending_foreach(s.st->db, on_pending, &s);
	section(c, "runs", "last runs:", false);
	if (r == 0)
		r = db_run_foreach_recent(s.st->db, 5, on_run, &s);
	if (r == 0)
		r = db_pack_foreach(s.st->db, on_pack, &s);
	if (r == 0) {
		AUTO_FREE char *spool = fs_join(root, "local/sat/spool");

		if (spool && fs_exists(spool)) {
			section(c, "satellite", "satellite (files being received):", false);
			r = sat_status_files(c, root);
			section(c, "satellite_spool", "satellite spool:", false);
			if (r == 0)
				r = sat_status_room(c, root);
		}
	}
	disk(&s, root);
	store_close(s.st);
	return r < 0 ? cli_fail(r, "status %s", root) : EXIT_DONE;
}
