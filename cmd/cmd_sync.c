/*
 * cmd_sync.c — `ferry sync STORE --source SRC... [--channel NAME]...
 *              [--dry-run] [--wait] [--no-deltas] [--ca FILE]
 *              [--known-hosts FILE] [--identity KEY]`
 *
 * Logs one line per event (journal-friendly); a progress bar only on a
 * terminal; a summary per channel; exit 0 done, 3 partial, 4 refused,
 * 5 no source reachable.
 */
#include <stdio.h>
#include <string.h>

#include "cmd/commands.h"
#include "sync/sync.h"

#define MAX_ARGS 64

static void on_log(const char *line, void *ctx)
{
	struct cli *c = ctx;

	cli_progress_end(c);
	fprintf(stderr, "ferry: %s\n", line);
}

static void on_progress(uint64_t done, uint64_t total, void *ctx)
{
	struct cli *c = ctx;
	char a[32], b[32], text[96];

	cli_size(a, sizeof(a), done);
	cli_size(b, sizeof(b), total);
	snprintf(text, sizeof(text), "%s of %s", a, b);
	cli_progress(c, "fetching", total ? (double)done / (double)total : 1, text);
}

static const char *state_name(enum sync_state s)
{
	static const char *names[] = { "up-to-date", "installed", "partial", "planned",
				       "no-head", "refused" };

	return names[s];
}

static void report(struct cli *c, const struct sync_result *res, bool dry)
{
	char a[32], b[32];

	if (c->json) {
		jw_obj_begin(&c->w);
		jw_key(&c->w, "channels");
		jw_arr_begin(&c->w);
		for (size_t i = 0; i < res->nchannels; i++) {
			const struct sync_channel *ch = &res->channels[i];

			jw_obj_begin(&c->w);
			jw_key(&c->w, "channel");
			jw_str(&c->w, ch->name);
			jw_key(&c->w, "state");
			jw_str(&c->w, state_name(ch->state));
			jw_key(&c->w, "version");
			jw_u64(&c->w, ch->version);
			jw_key(&c->w, "files");
			jw_u64(&c->w, ch->files);
			jw_key(&c->w, "missing_chunks");
			jw_u64(&c->w, ch->missing_chunks);
			jw_key(&c->w, "fetch_bytes");
			jw_u64(&c->w, ch->fetch_bytes);
			jw_key(&c->w, "write_bytes");
			jw_u64(&c->w, ch->raw_bytes);
			jw_key(&c->w, "unavailable_chunks");
			jw_u64(&c->w, ch->unlocated);
			jw_key(&c->w, "deltas");
			jw_u64(&c->w, ch->deltas);
			jw_key(&c->w, "delta_bytes");
			jw_u64(&c->w, ch->delta_bytes);
			jw_key(&c->w, "delta_saved_bytes");
			jw_u64(&c->w, ch->delta_saved);
			jw_key(&c->w, "deltas_applied");
			jw_u64(&c->w, ch->deltas_applied);
			jw_key(&c->w, "deltas_failed");
			jw_u64(&c->w, ch->deltas_failed);
			jw_key(&c->w, "reason");
			jw_str(&c->w, ch->reason);
			jw_obj_end(&c->w);
		}
		jw_arr_end(&c->w);
		jw_key(&c->w, "bytes_read");
		jw_u64(&c->w, res->bytes_read);
		jw_key(&c->w, "bytes_written");
		jw_u64(&c->w, res->bytes_written);
		jw_key(&c->w, "disk_free");
		jw_u64(&c->w, res->disk_free);
		jw_obj_end(&c->w);
		return;
	}
	if (c->quiet)
		return;
	for (size_t i = 0; i < res->nchannels; i++) {
		const struct sync_channel *ch = &res->channels[i];

		cli_size(a, sizeof(a), ch->fetch_bytes);
		cli_size(b, sizeof(b), ch->raw_bytes);
		if (!dry) {
			printf("%s: %s, release %llu%s%s\n", ch->name, state_name(ch->state),
			       (unsigned long long)ch->version, ch->reason[0] ? ": " : "", ch->reason);
			continue;
		}
		printf("%s: release %llu would read %s and write %s (%llu files, %llu chunks%s)\n",
		       ch->name, (unsigned long long)ch->version, a, b, (unsigned long long)ch->files,
		       (unsigned long long)ch->missing_chunks,
		       ch->unlocated ? ", some offered by no source" : "");
		if (ch->deltas) {
			cli_size(a, sizeof(a), ch->delta_bytes);
			cli_size(b, sizeof(b), ch->delta_saved);
			printf("%s: %llu files by delta (%s of deltas), reading %s less\n", ch->name,
			       (unsigned long long)ch->deltas, a, b);
		}
	}
	cli_size(a, sizeof(a), res->bytes_read);
	cli_size(b, sizeof(b), res->bytes_written);
	printf("read %s from sources, stored %s\n", a, b);
}

int cmd_sync(struct cli *c, int argc, char **argv)
{
	const char *sources[MAX_ARGS], *channels[MAX_ARGS];
	struct sync_opts o = { 0 };
	struct sync_result res;
	size_t ns = 0, nc = 0;
	int r;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has = i + 1 < argc;

		if (cli_common_option(c, a))
			continue;
		if (strcmp(a, "--source") == 0 && has && ns < MAX_ARGS)
			sources[ns++] = argv[++i];
		else if (strcmp(a, "--channel") == 0 && has && nc < MAX_ARGS)
			channels[nc++] = argv[++i];
		else if (strcmp(a, "--ca") == 0 && has)
			o.topts.ca_file = argv[++i];
		else if (strcmp(a, "--known-hosts") == 0 && has)
			o.topts.known_hosts = argv[++i];
		else if (strcmp(a, "--identity") == 0 && has)
			o.topts.identity = argv[++i];
		else if (strcmp(a, "--dry-run") == 0)
			o.dry_run = true;
		else if (strcmp(a, "--wait") == 0)
			o.wait = true;
		else if (strcmp(a, "--no-deltas") == 0)
			o.no_deltas = true;
		else if (a[0] != '-' && !o.store)
			o.store = a;
		else
			return EXIT_USAGE;
	}
	if (!o.store)
		return EXIT_USAGE;
	o.sources = ns ? sources : NULL;
	o.nsources = ns;
	o.channels = channels;
	o.nchannels = nc;
	o.log = on_log;
	o.progress = on_progress;
	o.ctx = c;
	r = sync_run(&res, &o);
	cli_progress_end(c);
	report(c, &res, o.dry_run);
	if (r == -EAGAIN) {
		if (!c->json)
			fprintf(stderr, "ferry: sync: partial progress; run ferry sync again to continue\n");
		return EXIT_PARTIAL;
	}
	if (r == -EHOSTUNREACH) {
		cli_fail(r, "sync %s", o.store);
		return EXIT_UNREACHABLE;
	}
	if (r == -EKEYREJECTED) {
		cli_fail(r, "sync %s", o.store);
		return EXIT_TRUST;
	}
	if (r < 0)
		return cli_fail(r, "sync %s", o.store);
	return EXIT_DONE;
}
