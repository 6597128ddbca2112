/*
 * checkout.h — `ferry checkout STORE CHANNEL DIR`: plain files for a web
 * server or a file share.
 *
 * The installed release is built beside the current one, in
 * DIR.releases/<version>-<commit>/, then DIR (a symlink) is switched to it
 * with one rename, so students never see a half-updated tree.  Files whose
 * pointer is unchanged since the previous checkout are hard-linked from
 * it (copied where links are impossible); the others are written from the
 * store's chunks, each chunk verified by ID and each file by its SHA-256.
 * The previous release stays for `--rollback`; older ones are removed.
 */
#ifndef FERRY_SYNC_CHECKOUT_H
#define FERRY_SYNC_CHECKOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct checkout_result {
	uint64_t version;
	uint64_t files;
	uint64_t linked;   /* reused from the previous checkout */
	uint64_t written;  /* built from chunks */
	uint64_t bytes_written;
	char target[4096]; /* what DIR now points at */
};

int checkout_run(struct checkout_result *out, const char *store, const char *channel,
		 const char *dir, bool rollback) FERRY_MUST_USE;

#endif
