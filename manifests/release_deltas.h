/*
 * release_deltas.h — reading the deltas a release offers.
 *
 * A release keeps its deltas as small blobs under meta/deltas/, one per
 * release that made them, named by that release's version in decimal:
 *
 *     meta/deltas/7     deltas made by release 7 (targets: files that
 *                       changed in 7; bases: their versions in 4..6)
 *     meta/deltas/9     ... made by release 9
 *
 * each in the meta/deltas text format of packager/delta.h.  A release
 * carries the previous releases' blobs over unchanged for `depth` releases
 * (same git objects, so they cost nothing to send again), and adds one
 * blob for the deltas it made itself: the signed metadata a school fetches
 * for an update grows by the new deltas only, never by the whole list.
 *
 * mf_release_deltas_read() merges every blob into one sorted list.  Names
 * must be canonical decimal versions; at most LIMIT_DELTA_BLOBS blobs and
 * LIMIT_DELTA_RECORDS records in all; each blob is parsed strictly.
 */
#ifndef FERRY_MANIFESTS_RELEASE_DELTAS_H
#define FERRY_MANIFESTS_RELEASE_DELTAS_H

#include <stdint.h>

#include "core/err.h"
#include "manifests/mgit.h"
#include "packager/delta.h"

#define RELEASE_DELTAS_DIR "meta/deltas"

/* Fills out (initialised by the call) with the release tree's deltas,
 * sorted; a release without meta/deltas gives an empty list.  -EBADMSG
 * (detail names the blob), -EFBIG, -ENOMEM.  If each is not NULL it is
 * called for every blob with its version and ID (how the publisher
 * carries blobs over). */
int mf_release_deltas_read(struct delta_list *out, struct mgit *git, const struct mgit_oid *tree,
			   int (*each)(uint64_t version, const struct mgit_oid *blob, void *ctx),
			   void *ctx) FERRY_MUST_USE;

#endif
