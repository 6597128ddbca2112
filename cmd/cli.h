/*
 * cli.h — what every ferry command shares: exit codes, one-line errors,
 * `--json` output, progress bars on terminals only, option parsing.
 *
 * Exit codes are part of the command-line contract (DESIGN §9):
 *   0 done, 1 error, 2 usage, 3 partial progress (run again),
 *   4 verification or trust failure, 5 no source reachable.
 *
 * Errors print once, as "ferry: <what>: <why>", where <why> is the detail
 * line the library left with err_set().  Nothing else in ferry prints.
 */
#ifndef FERRY_CMD_CLI_H
#define FERRY_CMD_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/json_write.h"

enum {
	EXIT_DONE = 0,
	EXIT_ERROR = 1,
	EXIT_USAGE = 2,
	EXIT_PARTIAL = 3,
	EXIT_TRUST = 4,
	EXIT_UNREACHABLE = 5,
};

struct cli {
	bool json;     /* --json: one JSON document on stdout */
	bool quiet;    /* --quiet: no progress, no summary */
	bool progress; /* stderr is a terminal and not --json/--quiet */
	struct buf out;
	struct jw w;   /* writer over out, for --json */
};

/* A command: argv[0] is the command's own name ("pack", "init", ...). */
struct cli_command {
	const char *group; /* "repo", "store", "usb", "sat" or NULL */
	const char *name;
	int (*run)(struct cli *c, int argc, char **argv);
	const char *usage;
};

/* Prints "ferry: <what>: <why>" (why from the error detail) and returns
 * the exit code that fits the error. */
int cli_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "ferry: usage: ..." and returns EXIT_USAGE. */
int cli_usage(const char *usage);
/* The exit code for a negative errno. */
int cli_exit_code(int err);

/* Recognises the options every command takes (--json, --quiet); returns
 * true if argv[i] was one. */
bool cli_common_option(struct cli *c, const char *arg);

/* For commands taking exactly one path and the common options: sets *path
 * or returns EXIT_USAGE (else 0). */
int cli_one_path(struct cli *c, int argc, char **argv, const char **path);

/* Writes the JSON document (if --json) and releases c. */
void cli_finish(struct cli *c);

/* Progress line on stderr (only when c->progress): "label [####    ] 42%
 * text", redrawn in place.  cli_progress_end() clears it. */
void cli_progress(struct cli *c, const char *label, double fraction, const char *text);
void cli_progress_end(struct cli *c);

/* Human sizes and rates: "1.5 GiB", "12.0 MiB/s". */
void cli_size(char *out, size_t cap, uint64_t bytes);

/* RATE: bytes/s with optional K, M, G (powers of 1024), or bits/s with
 * kbit, mbit, gbit.  -EINVAL on anything else. */
int cli_parse_rate(uint64_t *bytes_per_s, const char *s);
/* SIZE: bytes, optionally with K, M, G or T (powers of 1024; "KiB", "MB"
 * spellings accepted), more than 0.  -EINVAL on anything else. */
int cli_parse_size(uint64_t *bytes, const char *s);
/* A plain decimal number no larger than max.  -EINVAL on anything else. */
int cli_parse_count(uint64_t *out, const char *s, uint64_t max);

#endif
