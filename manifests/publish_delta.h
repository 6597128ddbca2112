/*
 * publish_delta.h — the deltas a new release offers (manifests' side of
 * packager/delta.h), driven by mf_publish().
 *
 * For every file that changed since the previous release, and each of the
 * channel's previous `depth` releases in which that path held other
 * content, the release makes a delta from the old content to the new one
 * when both are at most max_file bytes and the delta is worth it
 * (delta_make(): clearly smaller than the chunks it replaces), reading
 * both versions back from the publisher's packs.  New deltas go into packs
 * of their own, entered into the chunk table like any entry (type
 * PACK_ENTRY_DELTA), and are listed in the release's own blob
 * meta/deltas/<version> (release_deltas.h).  The blobs of the previous
 * depth - 1 releases are carried over as they are, so a school several
 * releases behind still finds deltas for files that changed a while ago,
 * and an update's metadata grows only by the deltas it made.
 *
 * mf_deltas_file() is called from pack_run's file callback (tree order),
 * mf_deltas_finish() after pack_run(), when every chunk is in a pack: it
 * makes the new deltas, adds the meta/deltas/ blobs to the release tree
 * and the delta packs to the release's pack list.  A republished folder
 * with no file changed keeps every previous blob, so it still publishes
 * nothing.
 */
#ifndef FERRY_MANIFESTS_PUBLISH_DELTA_H
#define FERRY_MANIFESTS_PUBLISH_DELTA_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "manifests/mgit.h"
#include "manifests/publish.h"
#include "packager/pack_run.h"

struct mf_deltas;

/* prev is the channel's current release commit, or NULL for the first;
 * version the new release's.  With o->no_deltas or no prev, every call
 * below does nothing. */
int mf_deltas_new(struct mf_deltas **out, struct mgit *git, const struct mgit_oid *prev,
		  uint64_t version, const struct mf_publish_opts *o) FERRY_MUST_USE;
void mf_deltas_free(struct mf_deltas *d);

/* One file of the new release: its path under files/, its pointer blob,
 * and what pack_run said about it. */
int mf_deltas_file(struct mf_deltas *d, const char *path, const struct mgit_oid *blob,
		   const struct pack_file *f) FERRY_MUST_USE;

/* Makes the new deltas into packs under packs_dir, merges them into the
 * chunk table at table_path, writes meta/deltas/ into tree, and adds every
 * pack a listed delta lives in to pr->packs (sorted, with their bytes in
 * pr->packs_bytes).  Counts go into res (deltas, delta_bytes, ...). */
int mf_deltas_finish(struct mf_deltas *d, struct mgit_tree *tree, const char *packs_dir,
		     const char *table_path, struct pack_result *pr,
		     struct mf_publish_result *res) FERRY_MUST_USE;

#endif
