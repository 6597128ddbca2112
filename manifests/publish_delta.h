/*
 * publish_delta.h — the deltas a new release offers (manifests' side of
 * packager/delta.h), driven by mf_publish().
 *
 * For every file of the new release and each of the channel's previous
 * `depth` releases in which that path held other content, the release
 * offers a delta from the old content to the new if one is worth it:
 *
 *   - a pair the previous release's meta/deltas already lists is carried
 *     over as it is (same delta, same pack), so a school several releases
 *     behind still finds a delta for files that changed a while ago;
 *   - a new pair, when both versions are at most max_file bytes, is made
 *     by delta_make() from the two versions read back from the
 *     publisher's packs, and kept when clearly smaller than the chunks it
 *     replaces.  New deltas go into packs of their own, entered into the
 *     chunk table like any entry (type PACK_ENTRY_DELTA).
 *
 * mf_deltas_file() is called from pack_run's file callback (tree order),
 * mf_deltas_finish() after pack_run(), when every chunk is in a pack: it
 * makes the new deltas, adds meta/deltas to the release tree and the
 * delta packs to the release's pack list.  A republished folder with no
 * file changed keeps the previous list verbatim, so it still publishes
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

/* prev is the channel's current release commit, or NULL for the first.
 * With o->no_deltas or no prev, every call below does nothing. */
int mf_deltas_new(struct mf_deltas **out, struct mgit *git, const struct mgit_oid *prev,
		  const struct mf_publish_opts *o) FERRY_MUST_USE;
void mf_deltas_free(struct mf_deltas *d);

/* One file of the new release: its path under files/, its pointer blob,
 * and what pack_run said about it. */
int mf_deltas_file(struct mf_deltas *d, const char *path, const struct mgit_oid *blob,
		   const struct pack_file *f) FERRY_MUST_USE;

/* Makes the new deltas into packs under packs_dir, merges them into the
 * chunk table at table_path, writes meta/deltas into tree, and adds every
 * pack a listed delta lives in to pr->packs (sorted, with their bytes in
 * pr->packs_bytes).  Counts go into res (deltas, delta_bytes, ...). */
int mf_deltas_finish(struct mf_deltas *d, struct mgit_tree *tree, const char *packs_dir,
		     const char *table_path, struct pack_result *pr,
		     struct mf_publish_result *res) FERRY_MUST_USE;

#endif
