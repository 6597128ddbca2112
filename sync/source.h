/*
 * source.h — one place a school can pull from, as the sync run sees it.
 *
 * A source is a transport plus what the run learned from it: whether its
 * ferry.json is this store's repository (signed by a trusted key), and the
 * indexes of the packs it offers (packs/list, else a folder listing; each
 * .idx fetched once, checked to name its pack, and cached in the store by
 * pack name — immutable, so never fetched again).  Nothing here trusts the
 * source: heads go through trust.h, chunks are verified by ID on arrival.
 */
#ifndef FERRY_SYNC_SOURCE_H
#define FERRY_SYNC_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"
#include "packager/pack.h"
#include "sync/store.h"
#include "sync/transport.h"

struct source {
	char *url;
	struct transport *t;
	bool usable;                /* reachable and of this repository */
	struct pack_index **packs;  /* the packs it offers */
	size_t npacks, cap;
	uint64_t bytes_read;        /* everything read from it this run */
};

int source_open(struct source *s, const char *url, const struct transport_opts *o) FERRY_MUST_USE;
void source_close(struct source *s);

/* Fetches and checks ferry.json and its signature; a store without a
 * config adopts it, one with a config requires the same repository. */
int source_check_config(struct source *s, struct store *st) FERRY_MUST_USE;

/* Fetches heads/<channel> into out (bounded). -ENOENT if absent. */
int source_fetch_head(struct buf *out, struct source *s, const char *channel) FERRY_MUST_USE;

/* Imports the manifest git packs the store lacks
 * (manifests.git/objects/info/packs). */
int source_import_git(struct source *s, struct store *st) FERRY_MUST_USE;

/* Loads the indexes of the source's packs (fetching what the cache lacks). */
int source_load_packs(struct source *s, struct store *st) FERRY_MUST_USE;

/* Reads bytes [off, off+len) of one of the source's packs into sink. */
int source_read_pack(struct source *s, const struct sha256 *pack, uint64_t off, uint64_t len,
		     transport_sink_fn sink, void *ctx) FERRY_MUST_USE;

#endif
