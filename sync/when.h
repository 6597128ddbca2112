/*
 * when.h — the times a sync run keeps to: `--window HH:MM-HH:MM` and
 * `--deadline TIME`.
 *
 * A window is a stretch of local wall-clock time repeated every day, such
 * as "22:00-06:00" (it may wrap midnight; start and end are different).  A
 * run may start only inside it and stops cleanly when it ends.  A deadline
 * is one moment, written
 *   HH:MM                         the next time the local clock shows it
 *                                 (today if still ahead, else tomorrow)
 *   SECONDS                       that many seconds from now ("5400")
 *   YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM]
 *                                 ISO 8601: local time, UTC with Z, or
 *                                 with the offset given ('T' or ' ')
 *
 * Everything is computed from a `now` the caller passes (time() seconds),
 * so tests can pretend it is any time of day; local time follows TZ.
 * Parsers are strict: anything else is -EINVAL with a detail naming the
 * text.  Pure functions, no state, thread-safe (localtime_r, mktime).
 */
#ifndef FERRY_SYNC_WHEN_H
#define FERRY_SYNC_WHEN_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct sync_window {
	unsigned start, end; /* minutes after local midnight, 0..1439, start != end */
};

/* Parses "HH:MM-HH:MM". */
int sync_window_parse(struct sync_window *out, const char *s) FERRY_MUST_USE;

/* Is now inside w?  When inside, *edge is when this stretch of the window
 * ends; when outside, when it next opens.  Cannot fail. */
bool sync_window_at(int64_t *edge, const struct sync_window *w, int64_t now);

/* Parses a deadline (see above) relative to now into *out (time()). */
int sync_deadline_parse(int64_t *out, const char *s, int64_t now) FERRY_MUST_USE;

/* Parses only the ISO 8601 form (used for FERRY_NOW in tests, too). */
int sync_time_parse_iso(int64_t *out, const char *s) FERRY_MUST_USE;

#endif
