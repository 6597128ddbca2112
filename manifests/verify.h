/*
 * verify.h — `ferry verify`: is this repository sound?
 *
 * Checks everything a school or mirror would rely on, and reports each
 * problem as one line through a callback:
 *   - ferry.json parses, and ferry.json.sig verifies against its keys;
 *   - every pack hashes to its name and every chunk in it decodes to its
 *     ID; every .idx matches its pack; no .idx without a pack;
 *   - every object of manifests.git hashes right;
 *   - every head is signed by a root key, names its own channel and this
 *     repository, and its commit exists and carries a valid signature;
 *   - every pointer of every head's release parses, and each of its
 *     chunks is in a pack the release lists, with the same lengths; the
 *     head's totals match the release;
 *   - the publisher's chunk table (if any) agrees with the packs.
 * Returns 0 if nothing was found, -EBADMSG if anything was.
 */
#ifndef FERRY_MANIFESTS_VERIFY_H
#define FERRY_MANIFESTS_VERIFY_H

#include <stdint.h>

#include "core/err.h"

struct mf_verify_stats {
	uint64_t packs, chunks, heads, files, problems;
};

int mf_verify_repo(struct mf_verify_stats *out, const char *root,
		   int (*problem)(const char *line, void *ctx), void *ctx) FERRY_MUST_USE;

#endif
