/*
 * test_config.c — ferry.conf's parser (sync/config.h) and the window and
 * deadline arithmetic it checks values with (sync/when.h).
 *
 * Config: a full file parses to what it says (sources sorted by priority,
 * equal ones in file order; subscriptions with and without a path; a '#'
 * inside a value kept; CRLF endings); each kind of mistake is refused with
 * the file name and the right line number in the detail; the bounds hold.
 * Times run in TZ=UTC and, for the DST case, Europe/Berlin, with `now`
 * given, so they do not depend on when the test runs.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "sync/config.h"
#include "sync/when.h"
#include "tests/harness.h"

static int parse(struct sync_config *c, const char *text)
{
	return sync_config_parse(c, "ferry.conf", text, strlen(text));
}

static void test_full_file(void)
{
	struct sync_config c;
	const char *text =
		"# a school's nightly sync\n"
		"store = /var/lib/ferry\n"
		"\n"
		"source = 50 https://county.example.cn/ferry#mirror\n"
		"  source\t=\t10 /media/ferry usb  \n"
		"source = 50 sftp://ferry@county.example.cn/srv/ferry\r\n"
		"subscribe = renjiao/grade7/math\n"
		"subscribe = renjiao/grade8/all 物理 实验/\n"
		"bwlimit = 2mbit\n"
		"window = 22:00-06:00\n"
		"deadline = 05:45\n"
		"ca = /etc/ferry/ca.pem\n"
		"known_hosts = /etc/ferry/known_hosts\n"
		"identity = /etc/ferry/id_ed25519";

	CHECK_OK(parse(&c, text));
	CHECK(strcmp(c.store.value, "/var/lib/ferry") == 0);
	CHECK_EQ_U(c.store.line, 2);
	CHECK_EQ_U(c.nsources, 3);
	CHECK(strcmp(c.sources[0].location, "/media/ferry usb") == 0);
	CHECK_EQ_U(c.sources[0].priority, 10);
	CHECK(strcmp(c.sources[1].location, "https://county.example.cn/ferry#mirror") == 0);
	CHECK(strcmp(c.sources[2].location, "sftp://ferry@county.example.cn/srv/ferry") == 0);
	CHECK_EQ_U(c.sources[2].line, 6);
	CHECK_EQ_U(c.nsubs, 2);
	CHECK(strcmp(c.subs[0].channel, "renjiao/grade7/math") == 0 && !c.subs[0].path);
	CHECK(strcmp(c.subs[1].channel, "renjiao/grade8/all") == 0);
	CHECK(strcmp(c.subs[1].path, "物理 实验") == 0);
	CHECK(strcmp(c.bwlimit.value, "2mbit") == 0);
	CHECK(strcmp(c.window.value, "22:00-06:00") == 0);
	CHECK_EQ_U(c.deadline.line, 11);
	CHECK(strcmp(c.identity.value, "/etc/ferry/id_ed25519") == 0);
	sync_config_release(&c);
	CHECK_OK(parse(&c, ""));
	CHECK(!c.store.value && c.nsources == 0);
	sync_config_release(&c);
	sync_config_release(&c); /* twice is fine */
}

static void test_refusals(void)
{
	static const struct {
		const char *text, *detail;
	} cases[] = {
		{ "store = /a\nstore = /b\n", "ferry.conf:2: store is set twice (first on line 1)" },
		{ "\n\nbwlmit = 1M\n", "ferry.conf:3: unknown key \"bwlmit\"" },
		{ "store /var/lib/ferry\n", "ferry.conf:1: not \"key = value\"" },
		{ "store =\n", "ferry.conf:1: store has no value" },
		{ "Store = /a\n", "ferry.conf:1: \"Store\" is not a key" },
		{ "= /a\n", "ferry.conf:1: \"\" is not a key" },
		{ "store = var/lib\n", "ferry.conf:1: store: \"var/lib\" is not an absolute path" },
		{ "source = https://x\n", "ferry.conf:1: source: \"https://x\" is not PRIORITY" },
		{ "source = 1234567 /a\n", "ferry.conf:1: source: \"1234567 /a\" is not PRIORITY" },
		{ "source = 5 media/usb\n", "ferry.conf:1: source: \"media/usb\" is neither a URL" },
		{ "subscribe = ../x\n", "ferry.conf:1: subscribe: \"../x\" is not a valid channel" },
		{ "subscribe = a/b ../up\n", "ferry.conf:1: subscribe: path \"../up\" is refused" },
		{ "window = 22:00-22:00\n", "ferry.conf:1: window \"22:00-22:00\": starts where" },
		{ "window = 24:00-06:00\n", "ferry.conf:1: window \"24:00-06:00\": not HH:MM-HH:MM" },
		{ "deadline = soon\n", "ferry.conf:1: deadline \"soon\": not HH:MM" },
		{ "ca = /x\x01y\n", "ferry.conf:1: a control character (byte 0x01)" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sync_config c;
		int r = parse(&c, cases[i].text);

		CHECK_MSG(r == -EINVAL, "case %zu: %d", i, r);
		CHECK_MSG(strncmp(err_detail(), cases[i].detail, strlen(cases[i].detail)) == 0,
			  "case %zu: detail \"%s\"", i, err_detail());
		CHECK(c.text == NULL && c.name == NULL); /* released on failure */
	}
}

static void test_bounds(void)
{
	struct sync_config c;
	struct buf b;
	char line[64];

	/* A NUL inside, and a file over the limit. */
	CHECK_EQ_I(sync_config_parse(&c, "f", "store = /a\0b\n", 13), -EINVAL);
	buf_init(&b, 2 * SYNC_CONFIG_MAX_BYTES);
	for (size_t i = 0; b.len <= SYNC_CONFIG_MAX_BYTES; i++)
		CHECK_OK(buf_append(&b, "# comment comment comment\n", 26));
	CHECK_EQ_I(sync_config_parse(&c, "f", (const char *)b.data, b.len), -EFBIG);
	/* A line over the limit. */
	buf_reset(&b);
	CHECK_OK(buf_append(&b, "store = /", 9));
	for (unsigned i = 0; i < SYNC_CONFIG_MAX_LINE; i++)
		CHECK_OK(buf_append(&b, "a", 1));
	CHECK_EQ_I(sync_config_parse(&c, "f", (const char *)b.data, b.len), -EINVAL);
	CHECK(strstr(err_detail(), "f:1: a line longer than") != NULL);
	/* One source more than SYNC_MAX_SOURCES. */
	buf_reset(&b);
	for (unsigned i = 0; i <= SYNC_MAX_SOURCES; i++) {
		int n = snprintf(line, sizeof(line), "source = %u /src/%u\n", i, i);

		CHECK_OK(buf_append(&b, line, (size_t)n));
	}
	CHECK_EQ_I(sync_config_parse(&c, "f", (const char *)b.data, b.len), -EINVAL);
	CHECK(strstr(err_detail(), "more than 16 sources") != NULL);
	buf_release(&b);
}

static void test_load(void)
{
	struct sync_config c;
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/ferry.conf", t_tmpdir());
	CHECK_EQ_I(sync_config_load(&c, path), -ENOENT);
	CHECK(strstr(err_detail(), "no such configuration file") != NULL);
	f = fopen(path, "w");
	CHECK(f);
	fputs("store = /srv/school\nwindow = 9:00-17:00\n", f);
	fclose(f);
	CHECK_EQ_I(sync_config_load(&c, path), -EINVAL);
	CHECK(strstr(err_detail(), "ferry.conf:2: window") != NULL);
}

static int64_t utc(const char *iso)
{
	int64_t t;

	if (sync_time_parse_iso(&t, iso) < 0)
		t_fail(__FILE__, __LINE__, "%s: %s", iso, err_detail());
	return t;
}

static void test_window(void)
{
	struct sync_window w;
	int64_t edge;

	setenv("TZ", "UTC", 1);
	tzset();
	CHECK_OK(sync_window_parse(&w, "22:00-06:00"));
	CHECK_EQ_U(w.start, 22 * 60);
	CHECK_EQ_U(w.end, 6 * 60);
	/* Outside, at noon: opens tonight. */
	CHECK(!sync_window_at(&edge, &w, utc("2026-11-29T12:00Z")));
	CHECK_EQ_I(edge, utc("2026-11-29T22:00Z"));
	/* Inside before midnight: ends tomorrow morning; after: this morning. */
	CHECK(sync_window_at(&edge, &w, utc("2026-11-29T23:30Z")));
	CHECK_EQ_I(edge, utc("2026-11-30T06:00Z"));
	CHECK(sync_window_at(&edge, &w, utc("2026-11-30T05:59:59Z")));
	CHECK_EQ_I(edge, utc("2026-11-30T06:00Z"));
	/* The end is outside, the start inside. */
	CHECK(!sync_window_at(&edge, &w, utc("2026-11-30T06:00Z")));
	CHECK(sync_window_at(&edge, &w, utc("2026-11-30T22:00Z")));
	/* A window within one day. */
	CHECK_OK(sync_window_parse(&w, "01:30-04:00"));
	CHECK(!sync_window_at(&edge, &w, utc("2026-11-29T04:00Z")));
	CHECK_EQ_I(edge, utc("2026-11-30T01:30Z"));
	CHECK(sync_window_at(&edge, &w, utc("2026-11-29T01:30Z")));
	CHECK_EQ_I(edge, utc("2026-11-29T04:00Z"));
	CHECK_EQ_I(sync_window_parse(&w, "22:00"), -EINVAL);
	CHECK_EQ_I(sync_window_parse(&w, "22:00-6:00"), -EINVAL);
	CHECK_EQ_I(sync_window_parse(&w, "22:00-06:60"), -EINVAL);
	CHECK_EQ_I(sync_window_parse(&w, " 22:00-06:00"), -EINVAL);
	CHECK_EQ_I(sync_window_parse(&w, "22:00-06:00x"), -EINVAL);
	CHECK_EQ_I(sync_window_parse(&w, "+2:00-06:00"), -EINVAL);
}

static void test_deadline(void)
{
	int64_t now, t;

	setenv("TZ", "UTC", 1);
	tzset();
	now = utc("2026-11-29T12:00Z");
	CHECK_OK(sync_deadline_parse(&t, "5400", now));
	CHECK_EQ_I(t, now + 5400);
	CHECK_OK(sync_deadline_parse(&t, "13:15", now));
	CHECK_EQ_I(t, utc("2026-11-29T13:15Z"));
	CHECK_OK(sync_deadline_parse(&t, "12:00", now)); /* now is not ahead: tomorrow */
	CHECK_EQ_I(t, utc("2026-11-30T12:00Z"));
	CHECK_OK(sync_deadline_parse(&t, "2026-11-29T14:00:30+02:00", now));
	CHECK_EQ_I(t, utc("2026-11-29T12:00:30Z"));
	CHECK_OK(sync_deadline_parse(&t, "2026-11-29 14:00", now));
	CHECK_EQ_I(t, utc("2026-11-29T14:00Z"));
	CHECK_EQ_I(sync_deadline_parse(&t, "-5", now), -EINVAL);
	CHECK_EQ_I(sync_deadline_parse(&t, "1234567890", now), -EINVAL);
	CHECK_EQ_I(sync_deadline_parse(&t, "5:00", now), -EINVAL);
	CHECK_EQ_I(sync_deadline_parse(&t, "2026-13-01T00:00", now), -EINVAL);
	CHECK_EQ_I(sync_deadline_parse(&t, "2026-11-29T14:00+2", now), -EINVAL);
	CHECK_EQ_I(sync_deadline_parse(&t, "", now), -EINVAL);
}

/* Local time means the wall clock: across the autumn DST change a
 * 22:00-06:00 window lasts nine hours of real time. */
static void test_dst(void)
{
	struct sync_window w;
	int64_t edge;

	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	CHECK_OK(sync_window_parse(&w, "22:00-06:00"));
	/* 2026-10-24 22:30 CEST (UTC+2) = 20:30Z; the clocks go back at 03:00
	 * on the 25th; 06:00 CET is 05:00Z. */
	CHECK(sync_window_at(&edge, &w, utc("2026-10-24T20:30Z")));
	CHECK_EQ_I(edge, utc("2026-10-25T05:00Z"));
	setenv("TZ", "UTC", 1);
	tzset();
}

int main(void)
{
	return t_main((struct t_case[]){
		{ "a full ferry.conf", test_full_file },
		{ "each mistake named with its line", test_refusals },
		{ "bounds: NUL, size, line length, sources", test_bounds },
		{ "loading a file", test_load },
		{ "windows, wrapping midnight", test_window },
		{ "deadlines in all three forms", test_deadline },
		{ "windows follow the wall clock across DST", test_dst },
		{ 0 } });
}
