/*
 * sync_control.c — ferry.conf and the run-control options of `ferry sync`
 * (see sync_control.h).
 *
 * Times: windows and deadlines are decided against "now" (FERRY_NOW in
 * tests), and the stop time handed to sync_run() is moved back onto the
 * real clock by the same offset, so a test can start a run "at 05:59:58"
 * and watch it stop two real seconds later.
 */
#include "cmd/sync_control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cli.h"
#include "sync/store.h"
#include "sync/when.h"

static int load_config(struct sync_control *ctl)
{
	const char *path = ctl->config ? ctl->config : getenv("FERRY_CONFIG");
	bool named = path && path[0];
	int r;

	if (!named)
		path = SYNC_CONFIG_DEFAULT_PATH;
	r = sync_config_load(&ctl->cfg, path);
	if (r == -ENOENT && !named) {
		err_clear();
		return EXIT_DONE;
	}
	return r < 0 ? cli_fail(r, "sync: configuration") : EXIT_DONE;
}

static void fmt_local(char *out, size_t cap, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	localtime_r(&tt, &tm);
	strftime(out, cap, "%Y-%m-%d %H:%M", &tm);
}

/* "where the value came from", for messages. */
static const char *origin(char *buf, size_t cap, const struct sync_config *cfg,
			  const struct sync_config_value *v, const char *cli_value, const char *opt)
{
	if (cli_value)
		snprintf(buf, cap, "%s", opt);
	else
		snprintf(buf, cap, "%s:%u", cfg->name, v->line);
	return buf;
}

/* Window and deadline into o->stop_at, or EXIT_PARTIAL when the run may
 * not start now. */
static int times(struct sync_control *ctl, struct sync_opts *o)
{
	const char *window = ctl->window ? ctl->window : ctl->cfg.window.value;
	const char *deadline = ctl->deadline ? ctl->deadline : ctl->cfg.deadline.value;
	const char *fake = getenv("FERRY_NOW");
	int64_t real = (int64_t)time(NULL), now = real, stop = 0, edge, t;
	char when[32], from[300];
	struct sync_window w;
	int r;

	if (fake && fake[0] && (r = sync_time_parse_iso(&now, fake)) < 0)
		return cli_fail(r, "sync: FERRY_NOW");
	if (window) {
		r = sync_window_parse(&w, window);
		if (r < 0)
			return cli_fail(r, "sync: %s", origin(from, sizeof(from), &ctl->cfg,
							      &ctl->cfg.window, ctl->window, "--window"));
		if (!sync_window_at(&edge, &w, now)) {
			fmt_local(when, sizeof(when), edge);
			snprintf(ctl->reason, sizeof(ctl->reason),
				 "outside the window %s (it opens at %s); nothing done", window, when);
			fprintf(stderr, "ferry: sync: %s\n", ctl->reason);
			return EXIT_PARTIAL;
		}
		stop = edge;
		snprintf(ctl->reason, sizeof(ctl->reason), "the window %s ended", window);
	}
	if (deadline) {
		r = sync_deadline_parse(&t, deadline, now);
		if (r < 0)
			return cli_fail(r, "sync: %s", origin(from, sizeof(from), &ctl->cfg,
							      &ctl->cfg.deadline, ctl->deadline, "--deadline"));
		if (t <= now) {
			fmt_local(when, sizeof(when), t);
			snprintf(ctl->reason, sizeof(ctl->reason),
				 "the deadline %s (%s) has passed; nothing done", deadline, when);
			fprintf(stderr, "ferry: sync: %s\n", ctl->reason);
			return EXIT_PARTIAL;
		}
		if (!stop || t < stop) {
			stop = t;
			snprintf(ctl->reason, sizeof(ctl->reason), "the deadline %s came", deadline);
		}
	}
	if (stop) {
		o->stop_at = stop - (now - real);
		o->stop_reason = ctl->reason;
	}
	return EXIT_DONE;
}

static int merge(struct sync_control *ctl, struct sync_opts *o)
{
	const struct sync_config *cfg = &ctl->cfg;
	const char *rate = ctl->bwlimit ? ctl->bwlimit : cfg->bwlimit.value;
	char from[300];
	size_t nc = o->nchannels;

	if (!o->store)
		o->store = cfg->store.value;
	if (!o->nsources && cfg->nsources) {
		for (size_t i = 0; i < cfg->nsources; i++)
			ctl->sources[i] = cfg->sources[i].location;
		o->sources = ctl->sources;
		o->nsources = cfg->nsources;
	}
	/* --only narrows the command's own --channel names; the configured
	 * channels are then left to what the store already keeps. */
	for (size_t i = 0; i < cfg->nsubs && !o->filters; i++) {
		bool seen = false;

		for (size_t j = 0; j < nc && !seen; j++)
			seen = strcmp(j < o->nchannels ? o->channels[j] : ctl->channels[j],
				      cfg->subs[i].channel) == 0;
		if (seen)
			continue;
		if (nc == SYNC_MAX_CHANNELS)
			break;
		ctl->channels[nc++] = cfg->subs[i].channel;
	}
	if (nc > o->nchannels) {
		for (size_t i = 0; i < o->nchannels; i++)
			ctl->channels[i] = o->channels[i];
		o->channels = ctl->channels;
		o->nchannels = nc;
	}
	if (rate && cli_parse_rate(&o->bwlimit, rate) < 0) {
		fprintf(stderr, "ferry: sync: %s: bwlimit \"%s\" is not a rate (e.g. 512K, 2mbit)\n",
			origin(from, sizeof(from), cfg, &cfg->bwlimit, ctl->bwlimit, "--bwlimit"), rate);
		return EXIT_USAGE;
	}
	if (!o->topts.ca_file)
		o->topts.ca_file = cfg->ca.value;
	if (!o->topts.known_hosts)
		o->topts.known_hosts = cfg->known_hosts.value;
	if (!o->topts.identity)
		o->topts.identity = cfg->identity.value;
	return EXIT_DONE;
}

/*
 * `subscribe = CHANNEL PATH` lines set that channel's filters in the store
 * to exactly the configured paths before the run (a channel named without
 * a path keeps whatever the store has: `ferry store subscribe` widens it).
 * A dry run changes nothing, so it plans with the store's filters.
 */
static int config_filters(struct sync_control *ctl, const struct sync_opts *o)
{
	const struct sync_config *cfg = &ctl->cfg;
	struct store *st = NULL;
	const char *paths[SYNC_CONFIG_MAX_SUBS];
	int r = 0;

	if (o->dry_run || o->filters)
		return EXIT_DONE;
	for (size_t i = 0; i < cfg->nsubs && r == 0; i++) {
		const char *ch = cfg->subs[i].channel;
		size_t n = 0;
		bool first = true;

		for (size_t j = 0; j < cfg->nsubs; j++) {
			if (strcmp(cfg->subs[j].channel, ch) != 0)
				continue;
			first = first && j >= i;
			if (cfg->subs[j].path)
				paths[n++] = cfg->subs[j].path;
		}
		if (!first || n == 0)
			continue;
		if (!st)
			r = store_open(&st, o->store);
		if (r == 0)
			r = store_subscribe(st, ch, paths, n);
	}
	store_close(st);
	return r < 0 ? cli_fail(r, "sync: %s: subscriptions", cfg->name) : EXIT_DONE;
}

int sync_control_apply(struct sync_control *ctl, struct sync_opts *o)
{
	int code = load_config(ctl);

	if (code == EXIT_DONE)
		code = merge(ctl, o);
	if (code == EXIT_DONE && !o->store) {
		fprintf(stderr, "ferry: sync: no STORE given and no \"store =\" in the "
				"configuration\n");
		return EXIT_USAGE;
	}
	if (code == EXIT_DONE)
		code = config_filters(ctl, o);
	if (code == EXIT_DONE && !o->dry_run)
		code = times(ctl, o);
	return code;
}

void sync_control_release(struct sync_control *ctl)
{
	sync_config_release(&ctl->cfg);
}
