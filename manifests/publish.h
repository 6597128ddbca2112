/*
 * publish.h — making the next release of a channel (`ferry pack`).
 *
 * mf_publish() packs a folder into the repository's packs (packager's
 * pack_run), writes one pointer blob per file into a git tree under
 * files/, adds meta/packs (every pack the release needs, with its size)
 * and meta/catalog.tsv (the --meta sidecar, validated), commits it signed
 * with the publisher's key on top of the channel's current release, and
 * publishes a signed head with the next version.
 *
 * Durability order: packs and chunk table, then the release's git
 * packfile, then the branch ref and git's info/ files, then the head.
 * The head is the announcement; whatever a killed publisher leaves before
 * it is unreferenced and harmless, and the previous head still names a
 * complete release.  A folder whose content equals the current release
 * publishes nothing (result.unchanged).
 */
#ifndef FERRY_MANIFESTS_PUBLISH_H
#define FERRY_MANIFESTS_PUBLISH_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "packager/pack_run.h"

struct mf_publish_opts {
	const char *repo;
	const char *channel;
	const char *src_dir;
	const char *key_path;  /* OpenSSH ed25519 private key */
	const char *meta_path; /* catalog sidecar, or NULL */
	const char *message;   /* or NULL */
	bool strict;           /* refuse symlinks, devices, unreadable files */
	bool wait;             /* wait for another publisher's lock */
	uint64_t expires;      /* head expiry (unix seconds), 0 = never */
	/* Deltas (publish_delta.h): off, or how many releases back a base may
	 * come from (0 = DELTA_DEPTH_DEFAULT), the zstd level (0 =
	 * CODEC_DELTA_LEVEL_DEFAULT), the largest file (0 =
	 * DELTA_MAX_FILE_DEFAULT, at most LIMIT_DELTA_FILE_BYTES). */
	bool no_deltas;
	unsigned delta_depth;
	int delta_level;
	uint64_t delta_max;
	int (*skip)(const char *path, const char *why, void *ctx);
	void (*progress)(const struct pack_stats *s, void *ctx);
	void *ctx;
};

struct mf_publish_result {
	struct pack_stats stats;
	bool unchanged;       /* content equals the current release */
	uint64_t version;
	char commit[41];
	char git_pack[51];  /* "pack-<40 hex>.pack" */
	uint64_t files;
	uint64_t size;        /* bytes of all files */
	uint64_t stored;      /* bytes of every pack the release needs */
	uint64_t npacks;
	uint64_t meta_bytes;  /* the release's git packfile + head */
	uint64_t deltas;      /* deltas the release lists (meta/deltas) */
	uint64_t delta_bytes; /* their stored bytes */
	uint64_t deltas_new;  /* made by this run */
	uint64_t deltas_new_bytes;
	uint64_t deltas_tried; /* pairs compressed, kept or not */
	double delta_seconds; /* time spent making deltas */
};

int mf_publish(struct mf_publish_result *out, const struct mf_publish_opts *o) FERRY_MUST_USE;

#endif
