/*
 * head.h — the signed head of a channel: the one mutable name in a
 * repository.
 *
 * Each channel has one text file, heads/<channel>, holding the head body
 * followed directly by the armored sshsig signature of the body (namespace
 * "ferry-head"), so that one atomic rename publishes both.  The body is
 * exactly these eleven lines, in this order, each ended by LF; numbers are
 * decimal without leading zeros, IDs lowercase hex:
 *
 *     ferry-head 1
 *     repo <32 hex: repository id>
 *     channel <channel name, see mf_channel_valid()>
 *     version <u64 >= 1, strictly increasing per channel>
 *     commit <40 hex: release commit id>
 *     time <unix seconds when published>
 *     expires <unix seconds after time, or 0 for never>
 *     files <number of files in the release>
 *     size <total bytes of the release's files>
 *     stored <bytes of all packs the release needs>
 *     git-pack pack-<40 hex>.pack
 *     -----BEGIN SSH SIGNATURE-----
 *     ...
 *     -----END SSH SIGNATURE-----
 *
 * A stock tool checks a head without ferry: split it at the BEGIN line and
 * run `ssh-keygen -Y verify -n ferry-head` (docs/signatures.md).
 *
 * What a valid head does not prove, and the caller must check: that its
 * channel is the one that was asked for (a genuine head of channel A
 * served as heads/B), that its version is not older than the one installed
 * (rollback), and that it has not expired (freeze).  The sync policy owns
 * the clock and the remembered versions.
 */
#ifndef FERRY_MANIFESTS_HEAD_H
#define FERRY_MANIFESTS_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/limits.h"
#include "manifests/sshkey.h"

#define MF_HEAD_FORMAT_VERSION 1
#define MF_HEAD_REPO_ID_LEN 16
#define MF_HEAD_COMMIT_LEN 20
/* "pack-" + 40 hex + ".pack" */
#define MF_HEAD_GIT_PACK_LEN 50

struct mf_head {
	uint8_t repo[MF_HEAD_REPO_ID_LEN];
	char channel[LIMIT_CHANNEL_BYTES + 1];
	uint64_t version;
	uint8_t commit[MF_HEAD_COMMIT_LEN];
	uint64_t time;
	uint64_t expires;
	uint64_t files;
	uint64_t size;
	uint64_t stored;
	char git_pack[MF_HEAD_GIT_PACK_LEN + 1];
};

/*
 * A channel name is what both git (refs/heads/<name>) and a FAT32 stick
 * (heads/<name>) accept: segments of [a-z0-9._-] separated by single '/',
 * at most LIMIT_CHANNEL_BYTES in all; no segment empty, starting with '.',
 * ending with '.' (Windows drops a trailing dot) or ".lock" (git refuses
 * it), and none a Windows device name (con, prn, aux, nul, com1-9,
 * lpt1-9, also with an extension).  NULL is not valid.
 */
bool mf_channel_valid(const char *name);

/*
 * Appends the body of h to out.
 * @return 0, -EINVAL if h breaks a rule of the format (channel or pack
 *         name invalid, version 0, expires not after time), buf errors.
 *         On failure out keeps its old length.
 */
int mf_head_format(struct buf *out, const struct mf_head *h) FERRY_MUST_USE;

/*
 * Parses a head body of exactly n bytes: the eleven lines, nothing before
 * or after, every rule above.  @return 0, -EFBIG past LIMIT_HEAD_BYTES,
 * -EBADMSG otherwise (the detail names the line).
 */
int mf_head_parse(struct mf_head *out, const void *p, size_t n) FERRY_MUST_USE;

/* Appends a whole head file (body then signature by k) to file_out.
 * @return 0 or the errors of mf_head_format() and sshsig_sign(). */
int mf_head_sign(struct buf *file_out, const struct mf_head *h,
		 const struct ssh_privkey *k) FERRY_MUST_USE;

/*
 * Checks a head file of n bytes: splits it at the signature's BEGIN line,
 * verifies the signature over the body (namespace "ferry-head") against
 * the ntrusted keys in trusted, then parses the body.  On success *out is
 * the head and *signer_out the index of the key that signed.
 * @return 0, -EKEYREJECTED (bad, untrusted or wrong-namespace signature),
 *         -EBADMSG (no signature, malformed signature or body), -EFBIG
 *         (more than LIMIT_HEAD_BYTES), -ENOMEM.
 */
int mf_head_verify(struct mf_head *out, size_t *signer_out, const void *file, size_t n,
		   const struct ssh_pubkey *trusted, size_t ntrusted) FERRY_MUST_USE;

#endif
