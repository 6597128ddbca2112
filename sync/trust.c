/*
 * trust.c — the school's acceptance policy for heads and releases
 * (see trust.h).
 */
#include "sync/trust.h"

#include <string.h>

#include "core/codec_text.h"
#include "manifests/sshsig.h"

int trust_head_check(struct mf_head *out, enum trust_verdict *verdict,
		     const struct trust_ctx *t, const char *source, const char *channel,
		     const void *file, size_t n)
{
	char id[2 * MF_HEAD_REPO_ID_LEN + 1];
	size_t which;
	int r;

	r = mf_head_verify(out, &which, file, n, t->keys, t->nkeys);
	if (r < 0)
		return err_set(r == -EKEYREJECTED ? r : -EBADMSG, "%s: heads/%s: %s", source,
			       channel, err_detail());
	if (strcmp(out->channel, channel) != 0)
		return err_set(-EKEYREJECTED, "%s: heads/%s: signed for channel %s instead",
			       source, channel, out->channel);
	hex_encode(id, out->repo, sizeof(out->repo));
	if (t->repo_id && strcmp(id, t->repo_id) != 0)
		return err_set(-EKEYREJECTED, "%s: heads/%s: belongs to repository %s, not this "
					      "store's %s", source, channel, id, t->repo_id);
	if (out->version < t->seen)
		return err_set(-EKEYREJECTED, "%s: heads/%s: version %llu is older than version "
					      "%llu already seen: a rolled-back head, refused",
			       source, channel, (unsigned long long)out->version,
			       (unsigned long long)t->seen);
	if (out->version == t->installed)
		*verdict = TRUST_CURRENT;
	else if (out->version < t->installed)
		*verdict = TRUST_OLDER;
	else
		*verdict = TRUST_NEWER;
	return 0;
}

int trust_commit_check(const struct trust_ctx *t, const char *source, const char *channel,
		       const char *signature, size_t siglen, const void *payload, size_t n)
{
	size_t which;
	int r;

	if (!signature)
		return err_set(-EKEYREJECTED, "%s: release of %s is not signed", source, channel);
	r = sshsig_verify(&which, t->keys, t->nkeys, "git", signature, siglen, payload, n);
	if (r < 0)
		return err_set(-EKEYREJECTED, "%s: release of %s: %s", source, channel,
			       err_detail());
	return 0;
}
