/*
 * cmd_status.c — `ferry status STORE`: what is installed and how old it
 * is, what is pending and how many bytes it still needs, the last runs
 * with their outcome, and the disk the store uses.
 */
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "cmd/commands.h"
#include "sync/store.h"

struct status {
	struct cli *c;
	time_t now;
	uint64_t pack_bytes;
};

static void age(char *out, size_t n, int64_t then, time_t now)
{
	int64_t d = (int64_t)now - then;

	if (then <= 0)
		snprintf(out, n, "unknown");
	else if (d < 0)
		snprintf(out, n, "from the future (clock?)");
	else if (d < 3600)
		snprintf(out, n, "%lld min", (long long)(d / 60));
	else if (d < 86400 * 2)
		snprintf(out, n, "%lld h", (long long)(d / 3600));
	else
		snprintf(out, n, "%lld days", (long long)(d / 86400));
}

static int on_channel(const struct db_channel *ch, void *ctx)
{
	struct status *s = ctx;
	char a[32], sz[32];

	age(a, sizeof(a), ch->head_time, s->now);
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
		jw_key(&s->c->w, "installed");
		jw_i64(&s->c->w, ch->installed_time);
		jw_key(&s->c->w, "files");
		jw_u64(&s->c->w, ch->files);
		jw_key(&s->c->w, "bytes");
		jw_u64(&s->c->w, ch->bytes);
		jw_obj_end(&s->c->w);
	} else {
		printf("  %-32s release %llu, published %s ago, %llu files, %s\n", ch->name,
		       (unsigned long long)ch->version, a, (unsigned long long)ch->files, sz);
	}
	return 0;
}

static int on_pending(const struct db_pending *p, void *ctx)
{
	struct status *s = ctx;
	char m[32], t[32];

	cli_size(m, sizeof(m), p->bytes_missing);
	cli_size(t, sizeof(t), p->bytes_total);
	if (s->c->json) {
		jw_obj_begin(&s->c->w);
		jw_key(&s->c->w, "channel");
		jw_str(&s->c->w, p->channel);
		jw_key(&s->c->w, "version");
		jw_u64(&s->c->w, p->version);
		jw_key(&s->c->w, "bytes_missing");
		jw_u64(&s->c->w, p->bytes_missing);
		jw_key(&s->c->w, "bytes_total");
		jw_u64(&s->c->w, p->bytes_total);
		jw_obj_end(&s->c->w);
	} else {
		printf("  %-32s release %llu: %s of %s still missing\n", p->channel,
		       (unsigned long long)p->version, m, t);
	}
	return 0;
}

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

int cmd_status(struct cli *c, int argc, char **argv)
{
	struct status s = { .c = c, .now = time(NULL) };
	struct store *st = NULL;
	const char *root = NULL;
	struct statvfs vfs;
	char used[32], avail[32];
	int r;

	if (cli_one_path(c, argc, argv, &root) != 0)
		return EXIT_USAGE;
	r = store_open(&st, root);
	if (r < 0)
		return cli_fail(r, "status %s", root);
	if (c->json) {
		jw_obj_begin(&c->w);
		jw_key(&c->w, "installed");
		jw_arr_begin(&c->w);
	} else {
		printf("installed:\n");
	}
	r = db_channel_foreach(st->db, on_channel, &s);
	if (c->json) {
		jw_arr_end(&c->w);
		jw_key(&c->w, "pending");
		jw_arr_begin(&c->w);
	} else {
		printf("pending:\n");
	}
	if (r == 0)
		r = db_pending_foreach(st->db, on_pending, &s);
	if (c->json) {
		jw_arr_end(&c->w);
		jw_key(&c->w, "runs");
		jw_arr_begin(&c->w);
	} else {
		printf("last runs:\n");
	}
	if (r == 0)
		r = db_run_foreach_recent(st->db, 5, on_run, &s);
	if (r == 0)
		r = db_pack_foreach(st->db, on_pack, &s);
	cli_size(used, sizeof(used), s.pack_bytes);
	if (statvfs(root, &vfs) == 0)
		cli_size(avail, sizeof(avail), (uint64_t)vfs.f_bavail * vfs.f_frsize);
	else
		snprintf(avail, sizeof(avail), "unknown");
	if (c->json) {
		jw_arr_end(&c->w);
		jw_key(&c->w, "pack_bytes");
		jw_u64(&c->w, s.pack_bytes);
		jw_obj_end(&c->w);
	} else {
		printf("disk: %s in packs, %s free\n", used, avail);
	}
	store_close(st);
	return r < 0 ? cli_fail(r, "status %s", root) : EXIT_DONE;
}
