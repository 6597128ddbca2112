/*
 * trust.h — may a school install this head?  (DESIGN §6, after TUF)
 *
 * A head from a source is accepted only if all of these hold; each
 * refusal is one sentence naming the source and the reason, and the run
 * exits 4:
 *   - it is signed (sshsig, namespace ferry-head) by a key the store trusts;
 *   - it names the channel it was fetched for, and this store's repository
 *     (mix-and-match: a head of another repository or channel is refused);
 *   - its version is higher than the one installed, and not lower than
 *     the highest version ever seen for the channel (rollback);
 *   - it has not expired — unless it is still newer than what is installed:
 *     a USB-only school may install a months-old release, and `status`
 *     says how old it is (freeze policy).  The clock is not trusted further
 *     than that: an expired head never replaces a newer one.
 * The commit the head names must then exist, carry a valid signature by a
 * trusted key, and bind the release's pointers (checked when fetched).
 */
#ifndef FERRY_SYNC_TRUST_H
#define FERRY_SYNC_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "manifests/head.h"
#include "manifests/sshkey.h"

enum trust_verdict {
	TRUST_NEWER,     /* install it */
	TRUST_CURRENT,   /* the installed release: nothing to do */
	TRUST_OLDER,     /* older than installed: ignore quietly */
};

struct trust_ctx {
	const struct ssh_pubkey *keys;
	size_t nkeys;
	const char *repo_id;    /* 32 hex, the store's repository */
	uint64_t installed;     /* installed version, 0 if none */
	uint64_t seen;          /* highest version ever seen, 0 if none */
	int64_t now;
};

/* Checks a head file fetched for channel from source.  On success *out is
 * the head and *verdict says what to do; -EKEYREJECTED or -EBADMSG (with a
 * detail line naming source, file and reason) when it must be refused. */
int trust_head_check(struct mf_head *out, enum trust_verdict *verdict,
		     const struct trust_ctx *t, const char *source, const char *channel,
		     const void *file, size_t n) FERRY_MUST_USE;

/* Checks a release commit's signature against the trusted keys. */
int trust_commit_check(const struct trust_ctx *t, const char *source, const char *channel,
		       const char *signature, size_t siglen, const void *payload,
		       size_t n) FERRY_MUST_USE;

#endif
