/*
 * cmd_sync.c — `ferry sync [STORE] [--source SRC]... [--channel NAME]...
 *              [--only PREFIX]... [--dry-run] [--wait] [--no-deltas] [--ca FILE]
 *              [--known-hosts FILE] [--identity KEY]
 *              [--config FILE] [--bwlimit RATE] [--window HH:MM-HH:MM]
 *              [--deadline TIME]`
 *
 * Logs one line per event (journal-friendly); a progress bar only on a
 * terminal, else a "fetched" line every SYNC_LOG_STEP bytes; a summary per
 * channel; exit 0 done, 3 partial (also: outside the window, deadline
 * reached), 4 refused, 5 no source reachable.  ferry.conf and the
 * run-control options: cmd/sync_control.h.
 *
 * --only PREFIX (repeatable) narrows every --channel of the command to
 * those path prefixes, replacing its earlier filters; the store keeps
 * them, so later runs need no arguments (see docs/sync.md).
 */
#include <stdio.h>
#include <string.h>

#include "cmd/commands.h"
#include "cmd/sync_control.h"
#include "sync/sync.h"

#define MAX_ARGS 64
#define SYNC_LOG_STEP (64ull << 20)

/* The callbacks' context: the cli, and when the next "fetched" line is due
 * off a terminal. */
struct sync_ui {
	struct cli *c;
	uint64_t next_line;
};

static void on_log(const char *line, void *ctx)
{
	struct cli *c = ((struct sync_ui *)ctx)->c;

	cli_progress_end(c);
	fprintf(stderr, "ferry: %s\n", line);
}

static void on_progress(uint64_t done, uint64_t total, void *ctx)
{
	struct sync_ui *ui = ctx;
	struct cli *c = ui->c;
	char a[32], b[32], text[96];

	cli_size(a, sizeof(a), done);
	cli_size(b, sizeof(b), total);
	snprintf(text, sizeof(text), "%s of %s", a, b);
	if (c->progress) {
		cli_progress(c, "fetching", total ? (double)done / (double)total : 1, text);
	} else if (!c->json && !c->quiet && (done >= ui->next_line || done == total)) {
		/* Off a terminal (the journal): a line now and then, no bar. */
		fprintf(stderr, "ferry: fetched and verified %s\n", text);
		ui->next_line = done - done % SYNC_LOG_STEP + SYNC_LOG_STEP;
	}
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
			jw_key(&c->w, "batches");
			jw_u64(&c->w, ch->batches);
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

static int exit_code(int r, const char *store, bool json)
{
	if (r == -EAGAIN) {
		if (!json)
			fprintf(stderr, "ferry: sync: partial progress; run ferry sync again to continue\n");
		return EXIT_PARTIAL;
	}
	if (r == -EHOSTUNREACH) {
		cli_fail(r, "sync %s", store);
		return EXIT_UNREACHABLE;
	}
	if (r == -EKEYREJECTED) {
		cli_fail(r, "sync %s", store);
		return EXIT_TRUST;
	}
	if (r < 0)
		return cli_fail(r, "sync %s", store);
	return EXIT_DONE;
}

int cmd_sync(struct cli *c, int argc, char **argv)
{
	const char *sources[MAX_ARGS], *channels[MAX_ARGS], *only[MAX_ARGS + 1];
	struct sync_opts o = { 0 };
	struct sync_control ctl = { 0 };
	struct sync_ui ui = { .c = c };
	struct sync_result res;
	size_t ns = 0, nc = 0, no = 0;
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
		else if (strcmp(a, "--only") == 0 && has && no < MAX_ARGS)
			only[no++] = argv[++i];
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
		else if (strcmp(a, "--config") == 0 && has)
			ctl.config = argv[++i];
		else if (strcmp(a, "--bwlimit") == 0 && has)
			ctl.bwlimit = argv[++i];
		else if (strcmp(a, "--window") == 0 && has)
			ctl.window = argv[++i];
		else if (strcmp(a, "--deadline") == 0 && has)
			ctl.deadline = argv[++i];
		else if (strcmp(a, "--no-deltas") == 0)
			o.no_deltas = true;
		else if (a[0] != '-' && !o.store)
			o.store = a;
		else
			return EXIT_USAGE;
	}
	if (no && !nc) {
		fprintf(stderr, "ferry: sync: --only narrows a --channel; name the channel\n");
		return EXIT_USAGE;
	}
	only[no] = NULL;
	o.filters = no ? only : NULL;
	o.sources = ns ? sources : NULL;
	o.nsources = ns;
	o.channels = channels;
	o.nchannels = nc;
	r = sync_control_apply(&ctl, &o);
	if (r != EXIT_DONE) {
		if (r == EXIT_PARTIAL && c->json) {
			jw_obj_begin(&c->w);
			jw_key(&c->w, "channels");
			jw_arr_begin(&c->w);
			jw_arr_end(&c->w);
			jw_key(&c->w, "not_started");
			jw_str(&c->w, ctl.reason);
			jw_obj_end(&c->w);
		}
		sync_control_release(&ctl);
		return r;
	}
	o.log = on_log;
	o.progress = on_progress;
	o.ctx = &ui;
	r = sync_run(&res, &o);
	cli_progress_end(c);
	report(c, &res, o.dry_run);
	r = exit_code(r, o.store, c->json);
	sync_control_release(&ctl); /* o.store may point into it */
	return r;
}
