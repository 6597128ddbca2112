/*
 * cmd_pack.c — `ferry pack REPO CHANNEL DIR --key KEY [--meta FILE]
 *              [--message TEXT] [--strict] [--wait] [--expires DAYS]
 *              [--no-deltas] [--delta-depth N] [--delta-level N]
 *              [--delta-max BYTES]`
 *
 * Publishes DIR as the next release of CHANNEL: a progress bar on a
 * terminal (files, bytes, rate, ETA), then a summary a county admin can
 * read, or one JSON document with --json.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/commands.h"
#include "manifests/publish.h"

struct pack_ui {
	struct cli *c;
	uint64_t skipped_shown;
};

static void on_progress(const struct pack_stats *s, void *ctx)
{
	struct pack_ui *ui = ctx;
	char done[32], total[32], rate[32], text[160];
	double frac = s->bytes_total ? (double)s->bytes_read / (double)s->bytes_total : 0;
	double bps = s->seconds > 0 ? (double)s->bytes_read / s->seconds : 0;
	double eta = bps > 0 ? (double)(s->bytes_total - s->bytes_read) / bps : 0;

	cli_size(done, sizeof(done), s->bytes_read);
	cli_size(total, sizeof(total), s->bytes_total);
	cli_size(rate, sizeof(rate), (uint64_t)bps);
	snprintf(text, sizeof(text), "%llu/%llu files  %s/%s  %s/s  ETA %ds",
		 (unsigned long long)s->files_done, (unsigned long long)s->files_total, done, total,
		 rate, (int)eta);
	cli_progress(ui->c, "packing", frac, text);
}

static int on_skip(const char *path, const char *why, void *ctx)
{
	struct pack_ui *ui = ctx;

	cli_progress_end(ui->c);
	fprintf(stderr, "ferry: skipped %s: %s\n", path, why);
	ui->skipped_shown++;
	return 0;
}

static void print_json(struct cli *c, const struct mf_publish_opts *o,
		       const struct mf_publish_result *r)
{
	const struct pack_stats *s = &r->stats;
	struct jw *w = &c->w;

	jw_obj_begin(w);
	jw_key(w, "channel");
	jw_str(w, o->channel);
	jw_key(w, "unchanged");
	jw_bool(w, r->unchanged);
	jw_key(w, "version");
	jw_u64(w, r->version);
	jw_key(w, "commit");
	jw_str(w, r->commit);
	jw_key(w, "files");
	jw_u64(w, s->files_done);
	jw_key(w, "bytes_in");
	jw_u64(w, s->bytes_read);
	jw_key(w, "chunks");
	jw_u64(w, s->chunks);
	jw_key(w, "new_chunks");
	jw_u64(w, s->chunks_new);
	jw_key(w, "new_raw_bytes");
	jw_u64(w, s->bytes_new_raw);
	jw_key(w, "new_stored_bytes");
	jw_u64(w, s->bytes_stored);
	jw_key(w, "new_packs");
	jw_u64(w, s->packs_new);
	jw_key(w, "release_packs");
	jw_u64(w, r->npacks);
	jw_key(w, "release_stored_bytes");
	jw_u64(w, r->stored);
	jw_key(w, "metadata_bytes");
	jw_u64(w, r->meta_bytes);
	jw_key(w, "deltas");
	jw_u64(w, r->deltas);
	jw_key(w, "delta_bytes");
	jw_u64(w, r->delta_bytes);
	jw_key(w, "new_deltas");
	jw_u64(w, r->deltas_new);
	jw_key(w, "new_delta_bytes");
	jw_u64(w, r->deltas_new_bytes);
	jw_key(w, "delta_seconds");
	jw_double(w, r->delta_seconds);
	jw_key(w, "skipped");
	jw_u64(w, s->skipped);
	jw_key(w, "seconds");
	jw_double(w, s->seconds);
	jw_obj_end(w);
}

static void print_summary(const struct mf_publish_opts *o, const struct mf_publish_result *r)
{
	const struct pack_stats *s = &r->stats;
	char in[32], newraw[32], stored[32], total[32], rate[32];
	double dedupe = s->bytes_read ? 1.0 - (double)s->bytes_new_raw / (double)s->bytes_read : 0;
	double ratio = s->bytes_stored ? (double)s->bytes_new_raw / (double)s->bytes_stored : 1;

	cli_size(in, sizeof(in), s->bytes_read);
	cli_size(newraw, sizeof(newraw), s->bytes_new_raw);
	cli_size(stored, sizeof(stored), s->bytes_stored);
	cli_size(total, sizeof(total), r->stored);
	cli_size(rate, sizeof(rate), s->seconds > 0 ? (uint64_t)((double)s->bytes_read / s->seconds) : 0);
	if (r->unchanged)
		printf("%s: nothing changed since release %llu; nothing published\n", o->channel,
		       (unsigned long long)r->version);
	else
		printf("%s: published release %llu (commit %.12s)\n", o->channel,
		       (unsigned long long)r->version, r->commit);
	printf("  files        %llu (%s read in %.1f s, %s/s)\n", (unsigned long long)s->files_done,
	       in, s->seconds, rate);
	printf("  chunks       %llu, of which %llu new (%s)\n", (unsigned long long)s->chunks,
	       (unsigned long long)s->chunks_new, newraw);
	printf("  stored       %s in %llu new pack%s (dedupe saved %.1f%%, compression %.2fx)\n",
	       stored, (unsigned long long)s->packs_new, s->packs_new == 1 ? "" : "s",
	       100 * dedupe, ratio);
	printf("  release      %llu packs, %s for a school starting from nothing\n",
	       (unsigned long long)r->npacks, total);
	if (r->deltas || r->deltas_tried) {
		char db[32], nb[32];

		cli_size(db, sizeof(db), r->delta_bytes);
		cli_size(nb, sizeof(nb), r->deltas_new_bytes);
		printf("  deltas       %llu listed (%s), of which %llu new (%s; %llu tried, %.1f s)\n",
		       (unsigned long long)r->deltas, db, (unsigned long long)r->deltas_new, nb,
		       (unsigned long long)r->deltas_tried, r->delta_seconds);
	}
	if (s->skipped)
		printf("  skipped      %llu entries (symlinks, devices or unreadable; see above)\n",
		       (unsigned long long)s->skipped);
}

int cmd_pack(struct cli *c, int argc, char **argv)
{
	struct mf_publish_opts o = { 0 };
	struct mf_publish_result res;
	struct pack_ui ui = { .c = c };
	const char *pos[3];
	int npos = 0, r;
	uint64_t n;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has = i + 1 < argc;

		if (cli_common_option(c, a))
			continue;
		if (strcmp(a, "--key") == 0 && has)
			o.key_path = argv[++i];
		else if (strcmp(a, "--meta") == 0 && has)
			o.meta_path = argv[++i];
		else if (strcmp(a, "--message") == 0 && has)
			o.message = argv[++i];
		else if (strcmp(a, "--expires") == 0 && has && cli_parse_count(&n, argv[++i], 36500) == 0)
			o.expires = (uint64_t)time(NULL) + n * 86400;
		else if (strcmp(a, "--strict") == 0)
			o.strict = true;
		else if (strcmp(a, "--wait") == 0)
			o.wait = true;
		else if (strcmp(a, "--no-deltas") == 0)
			o.no_deltas = true;
		else if (strcmp(a, "--delta-depth") == 0 && has && cli_parse_count(&n, argv[++i], 64) == 0)
			o.delta_depth = (unsigned)n;
		else if (strcmp(a, "--delta-level") == 0 && has &&
			 cli_parse_count(&n, argv[++i], 22) == 0 && n > 0)
			o.delta_level = (int)n;
		else if (strcmp(a, "--delta-max") == 0 && has && cli_parse_size(&n, argv[++i]) == 0)
			o.delta_max = n;
		else if (a[0] != '-' && npos < 3)
			pos[npos++] = a;
		else
			return EXIT_USAGE;
	}
	if (npos != 3 || !o.key_path)
		return EXIT_USAGE;
	o.repo = pos[0];
	o.channel = pos[1];
	o.src_dir = pos[2];
	o.skip = on_skip;
	o.progress = on_progress;
	o.ctx = &ui;
	r = mf_publish(&res, &o);
	cli_progress_end(c);
	if (r < 0)
		return cli_fail(r, "pack %s", o.channel);
	if (c->json)
		print_json(c, &o, &res);
	else if (!c->quiet)
		print_summary(&o, &res);
	return EXIT_DONE;
}
