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

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct mf_verify_stats {
	uint64_t packs, chunks, heads, files, problems;
};

int mf_verify_repo(struct mf_verify_stats *out, const char *root,
		   int (*problem)(const char *line, void *ctx), void *ctx) FERRY_MUST_USE;

/*
 * Which files of a channel's release a school store holds.  A store
 * subscribed to path prefixes only has the chunks of the files under them;
 * mf_verify_store() checks every pointer of every release as above, but
 * asks for chunks only of the files held(channel, path) accepts (path
 * relative to the release's files/).  held NULL: every file.
 */
typedef bool (*mf_verify_held_fn)(const char *channel, const char *path, void *ctx);

int mf_verify_store(struct mf_verify_stats *out, const char *root, mf_verify_held_fn held,
		    void *held_ctx, int (*problem)(const char *line, void *ctx),
		    void *ctx) FERRY_MUST_USE;

#endif
