/*
 * source.h — one place a school can pull from, as the sync run sees it.
 *
 * A source is a transport plus what the run learned from it: whether its
 * ferry.json is this store's repository (signed by a trusted key), and the
 * indexes of the packs it offers (packs/list, else a folder listing; each
 * .idx fetched once, checked to name its pack, and cached in the store by
 * pack name — immutable, so never fetched again).  Nothing here trusts the
 * source: heads go through trust.h, chunks are verified by ID on arrival.
 *
 * Memory.  A source holds its packs' names and sizes only; an index is
 * read from the cache when asked for (source_pack_index()) and freed by
 * its user, so a catalog of millions of chunks never has all its indexes
 * in memory at once.
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

struct source_pack {
	struct sha256 name;
	uint64_t size;
	bool broken;                /* its index could not be had this run */
};

struct source {
	char *url;
	struct transport *t;
	bool usable;                /* reachable and of this repository */
	struct source_pack *packs;  /* the packs it offers */
	size_t npacks, cap;
	char *idx_cache;            /* the store's cache of .idx files */
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

/* Reads the list of the source's packs (names and sizes). */
int source_load_packs(struct source *s, struct store *st) FERRY_MUST_USE;

/* The index of pack k of the list: from the store's cache, else fetched,
 * checked to name that pack, and cached.  The caller frees *out with
 * pack_index_free().  A pack whose index cannot be had is marked broken
 * and not asked for again this run (-ENOENT then). */
int source_pack_index(struct pack_index **out, struct source *s, size_t k) FERRY_MUST_USE;

/* Calls cb with every pack index of the usable sources, cheapest source
 * first and each in its list's order, one index in memory at a time (a
 * pack whose index cannot be had is skipped).  cb returns < 0 to fail,
 * 1 to stop early, 0 to go on.  Returns 0 or the first error. */
typedef int (*source_index_fn)(const struct pack_index *idx, size_t source,
			       const struct sha256 *pack, void *ctx);
int source_each_index(struct source *src, size_t nsrc, source_index_fn cb,
		      void *ctx) FERRY_MUST_USE;

/* Reads bytes [off, off+len) of one of the source's packs into sink. */
int source_read_pack(struct source *s, const struct sha256 *pack, uint64_t off, uint64_t len,
		     transport_sink_fn sink, void *ctx) FERRY_MUST_USE;

#endif
