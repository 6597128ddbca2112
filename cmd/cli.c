/*
 * cli.c — shared command-line plumbing (see cli.h).
 */
#include "cmd/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"

int cli_exit_code(int err)
{
	switch (err) {
	case -EKEYREJECTED:
	case -EBADMSG:
		return EXIT_TRUST;
	case -EHOSTUNREACH:
	case -ENETUNREACH:
	case -ECONNREFUSED:
		return EXIT_UNREACHABLE;
	case -EINVAL:
		return EXIT_ERROR;
	default:
		return EXIT_ERROR;
	}
}

int cli_fail(int err, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("ferry: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", err_text(err));
	return cli_exit_code(err);
}

int cli_usage(const char *usage)
{
	fprintf(stderr, "ferry: usage: ferry %s\n", usage);
	return EXIT_USAGE;
}

bool cli_common_option(struct cli *c, const char *arg)
{
	if (strcmp(arg, "--json") == 0) {
		c->json = true;
		c->progress = false;
		return true;
	}
	if (strcmp(arg, "--quiet") == 0 || strcmp(arg, "-q") == 0) {
		c->quiet = true;
		c->progress = false;
		return true;
	}
	return false;
}

int cli_one_path(struct cli *c, int argc, char **argv, const char **path)
{
	*path = NULL;
	for (int i = 1; i < argc; i++) {
		if (cli_common_option(c, argv[i]))
			continue;
		if (argv[i][0] == '-' || *path)
			return EXIT_USAGE;
		*path = argv[i];
	}
	return *path ? 0 : EXIT_USAGE;
}

void cli_finish(struct cli *c)
{
	cli_progress_end(c);
	if (c->json && c->out.len) {
		fwrite(c->out.data, 1, c->out.len, stdout);
		fputc('\n', stdout);
	}
	fflush(stdout);
	buf_release(&c->out);
}

void cli_progress(struct cli *c, const char *label, double fraction, const char *text)
{
	char bar[31];
	int fill;

	if (!c->progress)
		return;
	if (fraction < 0)
		fraction = 0;
	if (fraction > 1)
		fraction = 1;
	fill = (int)(fraction * 30);
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, ' ', (size_t)(30 - fill));
	bar[30] = '\0';
	fprintf(stderr, "\r\033[K%s [%s] %3d%% %s", label, bar, (int)(fraction * 100), text);
	fflush(stderr);
}

void cli_progress_end(struct cli *c)
{
	if (c->progress) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
}

void cli_size(char *out, size_t cap, uint64_t bytes)
{
	static const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, cap, "%llu B", (unsigned long long)bytes);
	else
		snprintf(out, cap, "%.1f %s", v, unit[u]);
}

int cli_parse_rate(uint64_t *bytes_per_s, const char *s)
{
	static const struct {
		const char *suffix;
		uint64_t mul, div;
	} units[] = {
		{ "", 1, 1 },           { "K", 1024, 1 },          { "M", 1 << 20, 1 },
		{ "G", 1 << 30, 1 },    { "kbit", 1000, 8 },       { "mbit", 1000000, 8 },
		{ "gbit", 1000000000, 8 },
	};
	char *end;
	unsigned long long v;

	if (!s[0] || s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || v == 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) != 0)
			continue;
		if (v > UINT64_MAX / units[i].mul)
			return -EINVAL;
		*bytes_per_s = v * units[i].mul / units[i].div;
		return *bytes_per_s ? 0 : -EINVAL;
	}
	return -EINVAL;
}

int cli_parse_size(uint64_t *out, const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	unsigned shift = 0;

	if (end == s || s[0] == '-')
		return -EINVAL;
	switch (*end) {
	case 'K':
	case 'k':
		shift = 10;
		end++;
		break;
	case 'M':
	case 'm':
		shift = 20;
		end++;
		break;
	case 'G':
	case 'g':
		shift = 30;
		end++;
		break;
	case 'T':
	case 't':
		shift = 40;
		end++;
		break;
	default:
		break;
	}
	if (*end == 'i' || *end == 'B')
		end += *end == 'i' ? (end[1] == 'B' ? 2 : 1) : 1;
	if (*end || v == 0 || v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

int cli_parse_count(uint64_t *out, const char *s, uint64_t max)
{
	char *end;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}
