/*
 * thin.h — thin manifest packs beside the full ones (docs/manifests-git.md,
 * "Thin packs").
 *
 * For a release whose channel had a release before, `ferry pack` writes,
 * besides the full pack objects/pack/pack-<h>.pack, two files under
 * manifests.git/thin/ (outside objects/: a repository must hold no thin
 * pack, and stock git never looks there):
 *
 *   thin/pack-<h>.pack   the release as a thin pack against the previous
 *                        release of its channel (mgit_thin_pack_write())
 *   thin/pack-<h>.base   one line: "<base commit hex> <release commit hex>\n"
 *
 * A school missing pack-<h>.pack that holds the base commit fetches these
 * instead, imports with mgit_pack_import_thin(), and counts the full pack
 * as had once the release commit is present (its import checked that
 * everything the commit reaches is).  Best effort on both sides: no thin
 * files, or any failure with them, means the full pack.
 */
#ifndef FERRY_MANIFESTS_THIN_H
#define FERRY_MANIFESTS_THIN_H

#include <stddef.h>

#include "core/err.h"
#include "manifests/mgit.h"

#define THIN_DIR "manifests.git/thin"
#define THIN_BASE_SUFFIX ".base"
#define THIN_BASE_BYTES (2 * MGIT_OID_HEX + 2)

/* Writes thin/<pack>.pack then thin/<pack>.base under gitdir's repository
 * (repo_root is the ferry repository; pack is "pack-<h>.pack"). */
int thin_publish(const char *repo_root, struct mgit *g, const char *pack,
		 const struct mgit_oid *commit, const struct mgit_oid *base) FERRY_MUST_USE;

/* Parses a .base file's bytes.  -EBADMSG if malformed. */
int thin_base_parse(struct mgit_oid *base, struct mgit_oid *commit, const void *p,
		    size_t n) FERRY_MUST_USE;

#endif
