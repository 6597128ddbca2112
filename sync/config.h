/*
 * config.h — /etc/ferry/ferry.conf: what a school's nightly `ferry sync`
 * needs, so the timer runs plain `ferry sync`.
 *
 * The format (docs/config.md has the full manual, contrib/ferry.conf.example
 * an example) is one setting per line, `key = value`.  Blank lines and
 * lines whose first non-blank character is '#' are ignored; a '#' later on
 * a line is part of the value (URLs and folder names may hold one).
 * Spaces around the key, the '=' and the value are dropped; a final "\r"
 * is dropped too (a file saved on Windows).  Keys:
 *
 *   store = /var/lib/ferry              the school store (absolute path)
 *   source = PRIORITY LOCATION          a source; lower PRIORITY (0-999999)
 *                                       is tried first, equal ones in file
 *                                       order; LOCATION (the rest of the
 *                                       line) is a URL (scheme://) or an
 *                                       absolute path.  Repeatable.
 *   subscribe = CHANNEL [PATH]          a channel, optionally narrowed to a
 *                                       path prefix (the rest of the line,
 *                                       may hold spaces).  Repeatable.
 *   bwlimit = RATE                      as `--bwlimit` (checked by the caller)
 *   window = HH:MM-HH:MM                as `--window`
 *   deadline = TIME                     as `--deadline`
 *   ca = FILE, known_hosts = FILE, identity = FILE
 *                                       as `--ca`, `--known-hosts`,
 *                                       `--identity` (absolute paths)
 *
 * Strict: an unknown key, a key given twice (other than source and
 * subscribe), a line without '=', an empty value, a control character, a
 * relative path, a bad channel name, window or deadline — each is refused
 * with -EINVAL and a detail "FILE:LINE: what is wrong".  Bounded: at most
 * SYNC_CONFIG_MAX_BYTES, lines of at most SYNC_CONFIG_MAX_LINE bytes,
 * SYNC_MAX_SOURCES sources and SYNC_CONFIG_MAX_SUBS subscriptions.
 */
#ifndef FERRY_SYNC_CONFIG_H
#define FERRY_SYNC_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "sync/sync.h"

#define SYNC_CONFIG_DEFAULT_PATH "/etc/ferry/ferry.conf"
#define SYNC_CONFIG_MAX_BYTES (256u << 10)
#define SYNC_CONFIG_MAX_LINE 4096u
#define SYNC_CONFIG_MAX_SUBS 256u

/* One setting's value and the line it came from (0: not set). */
struct sync_config_value {
	const char *value;
	unsigned line;
};

struct sync_config_source {
	const char *location;
	uint32_t priority;
	unsigned line;
};

struct sync_config_sub {
	const char *channel;
	const char *path; /* NULL: the whole channel */
	unsigned line;
};

/* Every string points into text, which the struct owns. */
struct sync_config {
	char *text;
	char *name;                   /* the file name, for messages */
	struct sync_config_value store, bwlimit, window, deadline, ca, known_hosts, identity;
	struct sync_config_source sources[SYNC_MAX_SOURCES]; /* sorted by priority */
	size_t nsources;
	struct sync_config_sub subs[SYNC_CONFIG_MAX_SUBS];
	size_t nsubs;
};

/* Parses text (len bytes, need not end in NUL; a NUL inside is refused);
 * name is used in messages.  On failure *out is left released. */
int sync_config_parse(struct sync_config *out, const char *name, const char *text,
		      size_t len) FERRY_MUST_USE;
/* Reads and parses path; -ENOENT (with a detail) when there is no such file. */
int sync_config_load(struct sync_config *out, const char *path) FERRY_MUST_USE;
/* Accepts a zeroed or released struct. */
void sync_config_release(struct sync_config *c);

#endif
