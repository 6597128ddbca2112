/*
 * cmd_sat.c — `ferry sat ...`: the satellite carousel's commands.
 *
 *   ferry sat send REPO --group ADDR:PORT --rate RATE [--ttl N] [--iface IF]
 *                  [--tsi N] [--symbol-size BYTES] [--mem BYTES]
 *                  [--first CHANNEL]... [--passes N | --duration SECONDS]
 *
 * loops REPO over UDP multicast as FLUTE packets (docs/satellite.md).  On a
 * terminal it redraws one progress line; otherwise it prints one line per
 * event (start, each pass, a changed repository) and a status line a
 * minute, which suits a journal.  SIGINT or SIGTERM stop it cleanly.
 * Each subcommand is one line of the table below.
 *
 * --first CHANNEL (repeatable, most-subscribed first): the packs of those
 * channels' current releases go on the air before the other packs.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "satellite/carousel.h"

#define SEND_USAGE                                                                     \
	"sat send REPO --group ADDR:PORT --rate RATE [--ttl N] [--iface IF] [--tsi N]\n" \
	"             [--symbol-size BYTES] [--mem BYTES] [--first CHANNEL]...\n"      \
	"             [--passes N | --duration S]"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct send_ui {
	struct cli *c;
	const struct sat_send_opts *o;
	double last_line;
};

static void status_text(char *out, size_t cap, const struct sat_send_stats *st)
{
	char sent[32], rate[32];

	cli_size(sent, sizeof(sent), st->wire_bytes);
	cli_size(rate, sizeof(rate), st->seconds > 0 ? (uint64_t)(st->wire_bytes / st->seconds) : 0);
	snprintf(out, cap, "%llu passes done, %llu packets, %s sent, %s/s, FDT %u, %zu files",
		 (unsigned long long)st->passes, (unsigned long long)st->packets, sent, rate,
		 st->fdt_instance, st->files);
}

static int send_progress(void *ctx, const struct sat_send_stats *st, const char *event)
{
	struct send_ui *ui = ctx;
	char text[200];

	if (stop_requested)
		return -1;
	if (ui->c->quiet)
		return 0; /* with --json the lines still go to stderr */
	status_text(text, sizeof(text), st);
	if (ui->c->progress) {
		double f = 0;

		if (ui->o->passes)
			f = (double)st->passes / (double)ui->o->passes;
		else if (ui->o->duration > 0)
			f = st->seconds / ui->o->duration;
		if (event) {
			cli_progress_end(ui->c);
			fprintf(stderr, "ferry sat send: %s\n", event);
		}
		cli_progress(ui->c, "sat send", f > 1 ? 1 : f, text);
	} else if (event || st->seconds - ui->last_line >= 60) {
		fprintf(stderr, "ferry sat send: %s%s%s\n", event ? event : "", event ? "; " : "",
			text);
		ui->last_line = st->seconds;
	}
	return 0;
}

static int parse_u64(uint64_t *out, const char *s, uint64_t max)
{
	char *end;
	unsigned long long v;

	if (!s || s[0] < '0' || s[0] > '9')
		return -EINVAL;
	v = strtoull(s, &end, 10);
	if (*end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int cmd_sat_send(struct cli *c, int argc, char **argv)
{
	struct sat_send_opts o = { 0 };
	struct sat_send_stats st;
	struct send_ui ui = { c, &o, 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	uint64_t v;
	const char *group = NULL, *first[SAT_SEND_MAX_FIRST];
	int r;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (cli_common_option(c, a))
			continue;
		if (a[0] != '-') {
			if (o.repo)
				return EXIT_USAGE;
			o.repo = a;
			continue;
		}
		if (!val)
			return EXIT_USAGE;
		i++;
		if (strcmp(a, "--group") == 0)
			group = val;
		else if (strcmp(a, "--rate") == 0) {
			if (cli_parse_rate(&o.rate, val) < 0 || o.rate == 0)
				return cli_fail(-EINVAL, "--rate %s: want bytes/s (K, M, G) or kbit, mbit, gbit", val);
		} else if (strcmp(a, "--ttl") == 0 && parse_u64(&v, val, 255) == 0)
			o.ttl = (int)v;
		else if (strcmp(a, "--iface") == 0)
			o.iface = val;
		else if (strcmp(a, "--tsi") == 0 && parse_u64(&v, val, UINT32_MAX) == 0)
			o.tsi = (uint32_t)v;
		else if (strcmp(a, "--symbol-size") == 0 && parse_u64(&v, val, 65532) == 0)
			o.symbol_size = (size_t)v;
		else if (strcmp(a, "--mem") == 0 && cli_parse_rate(&v, val) == 0)
			o.mem_budget = (size_t)v;
		else if (strcmp(a, "--passes") == 0 && parse_u64(&v, val, UINT64_MAX) == 0)
			o.passes = v;
		else if (strcmp(a, "--duration") == 0 && parse_u64(&v, val, 100u * 365 * 86400) == 0)
			o.duration = (double)v;
		else if (strcmp(a, "--first") == 0 && o.nfirst < SAT_SEND_MAX_FIRST)
			first[o.nfirst++] = val;
		else
			return EXIT_USAGE;
	}
	if (!o.repo || !group || !o.rate)
		return EXIT_USAGE;
	o.first = first;
	if (o.symbol_size && (o.symbol_size < 8 || o.symbol_size % 4))
		return cli_fail(-EINVAL, "--symbol-size %zu: want a multiple of 4, 8 to 65532",
				o.symbol_size);
	r = sat_addr_parse(&o, group);
	if (r < 0)
		return cli_fail(r, "sat send");
	o.progress = send_progress;
	o.ctx = &ui;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	r = sat_send_run(&o, &st);
	cli_progress_end(c);
	if (r < 0)
		return cli_fail(r, "sat send %s", o.repo);
	if (c->json) {
		jw_obj_begin(&c->w);
		jw_key(&c->w, "packets");
		jw_u64(&c->w, st.packets);
		jw_key(&c->w, "wire_bytes");
		jw_u64(&c->w, st.wire_bytes);
		jw_key(&c->w, "header_bytes");
		jw_u64(&c->w, st.header_bytes);
		jw_key(&c->w, "passes");
		jw_u64(&c->w, st.passes);
		jw_key(&c->w, "send_errors");
		jw_u64(&c->w, st.send_errors);
		jw_key(&c->w, "seconds");
		jw_double(&c->w, st.seconds);
		jw_key(&c->w, "files");
		jw_u64(&c->w, st.files);
		jw_key(&c->w, "repo_bytes");
		jw_u64(&c->w, st.repo_bytes);
		jw_key(&c->w, "fdt_instance");
		jw_u64(&c->w, st.fdt_instance);
		jw_obj_end(&c->w);
	} else if (!c->quiet) {
		char text[200];

		status_text(text, sizeof(text), &st);
		fprintf(stderr, "ferry sat send: stopped after %.1f s; %s\n", st.seconds, text);
	}
	return EXIT_DONE;
}

static const struct {
	const char *name;
	int (*run)(struct cli *c, int argc, char **argv);
	const char *usage;
} sat_commands[] = {
	{ "send", cmd_sat_send, SEND_USAGE },
	{ "recv", cmd_sat_recv, SAT_RECV_USAGE },
	{ "status", cmd_sat_status, SAT_STATUS_USAGE },
};

int cmd_sat(struct cli *c, int argc, char **argv)
{
	for (size_t i = 0; argc >= 2 && i < sizeof(sat_commands) / sizeof(sat_commands[0]); i++) {
		if (strcmp(argv[1], sat_commands[i].name) != 0)
			continue;
		int code = sat_commands[i].run(c, argc - 1, argv + 1);

		if (code == EXIT_USAGE)
			cli_usage(sat_commands[i].usage);
		return code;
	}
	return EXIT_USAGE;
}
