/*
 * main.c — ferry's entry point: finds the command and runs it.
 *
 * Commands live one per file in cmd/ (cmd_<name>.c) and are listed in
 * the table below; their names and meaning are the stable contract of
 * DESIGN §9.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cli.h"
#include "cmd/commands.h"

static const struct cli_command commands[] = {
	{ "repo", "init", cmd_repo_init, "repo init REPO --key KEY.pub [--key KEY2.pub]..." },
	{ NULL, "pack", cmd_pack,
	  "pack REPO CHANNEL DIR --key KEY [--meta FILE] [--message TEXT] [--strict] [--no-deltas] [--json]" },
	{ NULL, "verify", cmd_verify, "verify REPO|STORE [--json]" },
	{ "store", "init", cmd_store_init, "store init STORE --trust KEY.pub [--trust KEY2.pub]..." },
	{ "store", "subscribe", cmd_store_subscribe, "store subscribe STORE CHANNEL [--only PREFIX]..." },
	{ "store", "unsubscribe", cmd_store_unsubscribe,
	  "store unsubscribe STORE CHANNEL [--only PREFIX]..." },
	{ NULL, "sync", cmd_sync,
	  "sync [STORE] [--source SRC]... [--channel NAME]... [--only PREFIX]... [--dry-run] [--wait]\n"
	  "             [--ca FILE] [--known-hosts FILE] [--identity KEY]\n"
	  "             [--config FILE] [--bwlimit RATE] [--window HH:MM-HH:MM] [--deadline TIME]" },
	{ NULL, "checkout", cmd_checkout, "checkout STORE CHANNEL DIR [--rollback]" },
	{ NULL, "status", cmd_status, "status STORE [--json]" },
	{ NULL, "gc", cmd_gc, "gc STORE [--json]" },
	{ "usb", "export", cmd_usb_export,
	  "usb export SRC DEST [--channel NAME]... [--max-size SIZE] [--for REQUEST] [--json]" },
	{ "usb", "request", cmd_usb_request, "usb request STORE DEST [--json]" },
	{ "usb", "import", cmd_usb_import, "usb import STORE SRC [--channel NAME]... [--wait] [--json]" },
	{ NULL, "sat", cmd_sat, "sat send|recv|status ... (ferry sat send: see docs/satellite.md)" },
};

static void help(FILE *f)
{
	fprintf(f, "ferry — carries a resource catalog to schools over any link.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  ferry %s\n", commands[i].usage);
	fprintf(f, "\nExit codes: 0 done, 1 error, 2 usage, 3 partial (run again),\n"
		   "4 verification or trust failure, 5 no source reachable.\n");
}

int main(int argc, char **argv)
{
	struct cli c = { 0 };
	int skip, code;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		help(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_DONE;
	}
	buf_init(&c.out, 64u << 20);
	jw_init(&c.w, &c.out);
	c.progress = isatty(STDERR_FILENO);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct cli_command *k = &commands[i];

		if (k->group) {
			if (strcmp(argv[1], k->group) != 0 || argc < 3 || strcmp(argv[2], k->name) != 0)
				continue;
			skip = 2;
		} else {
			if (strcmp(argv[1], k->name) != 0)
				continue;
			skip = 1;
		}
		code = k->run(&c, argc - skip, argv + skip);
		if (code == EXIT_USAGE)
			cli_usage(k->usage);
		cli_finish(&c);
		return code;
	}
	fprintf(stderr, "ferry: unknown command \"%s\"; try ferry --help\n", argv[1]);
	buf_release(&c.out);
	return EXIT_USAGE;
}
