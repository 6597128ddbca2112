/*
 * sync.h — `ferry sync`: bring a store up to the newest signed release of
 * every channel it subscribes to, from whatever sources it has.
 *
 * For each channel: ask every source (cheapest first) for its head, keep
 * the newest one the trust policy accepts (trust.h), import the manifest
 * git objects, check the release commit's signature, plan the missing
 * chunks (plan.h), fetch them (fetch.h), and once every chunk is present
 * install the release: the verified head is written into the store, the
 * database records the version, and the branch ref moves.  A release that
 * could not be completed stays pending; the next run continues it.
 *
 * Outcomes map to exit codes: done 0, partial 3 (run again), trust 4 (a
 * source offered something refused), unreachable 5 (no source answered).
 *
 * Run control.  bwlimit caps the bytes per second of every transfer of the
 * run together (one token bucket, sync/ratelimit.h, shared by all sources
 * through transport_opts.limit).  stop_at is a wall-clock time (as time()
 * counts) at which the run stops cleanly: checked before each channel,
 * each request and after each committed batch (fetch.h), so what was
 * verified stays; the channels left are partial with stop_reason as their
 * reason, and the run is partial (-EAGAIN).  Whether a run may start at
 * all (a window, a deadline already past) is the caller's to decide.
 *
 * Log lines (o->log, one per event, no terminal control): the start, the
 * source each release comes from, retries and sources given up (fetch.h),
 * installs, and the outcome with bytes, duration and reason.
 */
#ifndef FERRY_SYNC_SYNC_H
#define FERRY_SYNC_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "sync/transport.h"

#define SYNC_MAX_SOURCES 16
#define SYNC_MAX_CHANNELS 64

enum sync_state {
	SYNC_UP_TO_DATE,
	SYNC_INSTALLED,
	SYNC_PARTIAL,
	SYNC_PLANNED,    /* --dry-run */
	SYNC_NO_HEAD,    /* no source offers this channel */
	SYNC_REFUSED,    /* what sources offered was refused */
};

struct sync_channel {
	char name[256];
	enum sync_state state;
	uint64_t version;       /* installed (or planned) version */
	uint64_t files;         /* files changed in the plan */
	uint64_t missing_chunks;
	uint64_t fetch_bytes;   /* stored bytes the plan reads */
	uint64_t raw_bytes;     /* bytes the plan writes */
	uint64_t unlocated;     /* chunks no source offers */
	uint64_t deltas;        /* files planned through a delta (plan_delta.h) */
	uint64_t delta_bytes;   /* the deltas' stored bytes */
	uint64_t delta_saved;   /* fetch_bytes minus what the plan reads with deltas */
	uint64_t deltas_applied;
	uint64_t deltas_failed; /* dropped; their chunks were fetched instead */
	unsigned batches;       /* plan batches (at most PLAN_BATCH_CHUNKS each) */
	char reason[512];
};

struct sync_opts {
	const char *store;
	const char *const *sources; /* NULL: the store's configured sources */
	size_t nsources;
	const char *const *channels; /* added to the subscriptions */
	size_t nchannels;
	const char *const *filters;  /* NULL-terminated path prefixes, or NULL */
	bool dry_run;
	bool wait;
	uint64_t bwlimit;          /* bytes per second, all transfers; 0 = none */
	int64_t stop_at;           /* time() at which to stop cleanly; 0 = never */
	const char *stop_reason;   /* why, one line ("the window 22:00-06:00 ended") */
	bool no_deltas;            /* fetch chunks only, ignoring the release's deltas */
	struct transport_opts topts; /* .limit is set by sync_run() */
	void (*log)(const char *line, void *ctx);
	void (*progress)(uint64_t done, uint64_t total, void *ctx);
	void *ctx;
};

struct sync_result {
	struct sync_channel channels[SYNC_MAX_CHANNELS];
	size_t nchannels;
	uint64_t bytes_read;
	uint64_t bytes_written;
	uint64_t chunks;
	uint64_t sources_usable;
	uint64_t disk_free;
	bool trust_failure;
	bool stopped;              /* stop_at came before the work was done */
};

/* Returns 0 when every channel is up to date, -EAGAIN when something is
 * left for the next run (partial), -EKEYREJECTED when a source offered
 * something refused, -EHOSTUNREACH when no source could be used; other
 * negative errnos for the store's own failures. */
int sync_run(struct sync_result *out, const struct sync_opts *o) FERRY_MUST_USE;

#endif
