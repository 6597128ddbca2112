/*
 * sshsig.h — detached signatures in OpenSSH's "sshsig" format.
 *
 * ferry signs heads and release commits the way `ssh-keygen -Y sign` does,
 * so stock tools check them: `ssh-keygen -Y verify` for a head,
 * `git verify-commit` (gpg.format=ssh) for a release.  The format is
 * OpenSSH's PROTOCOL.sshsig.  The armored text
 *
 *     -----BEGIN SSH SIGNATURE-----
 *     base64 of the blob, wrapped at 70 columns
 *     -----END SSH SIGNATURE-----
 *
 * carries the blob (SSH strings are be32 length + bytes)
 *
 *     byte[6]  "SSHSIG"
 *     uint32   version, 1
 *     string   public key blob ("ssh-ed25519", 32-byte key)
 *     string   namespace (e.g. "ferry-head", "git")
 *     string   reserved, empty
 *     string   hash algorithm, "sha512" or "sha256"
 *     string   signature ("ssh-ed25519", 64-byte Ed25519 signature)
 *
 * and the Ed25519 signature covers
 *
 *     byte[6] "SSHSIG" || string namespace || string reserved ("")
 *            || string hash algorithm || string H(message)
 *
 * The namespace keeps a signature made for one purpose from being replayed
 * for another: a head signature never passes as a commit signature.
 *
 * ferry signs with sha512 (as ssh-keygen does) and accepts sha256 and
 * sha512.  Parsing is strict: version exactly 1, the reserved field empty,
 * no trailing bytes, canonical base64, at most LIMIT_SIGNATURE_BYTES of
 * armor.  Ed25519 signatures only.
 */
#ifndef FERRY_MANIFESTS_SSHSIG_H
#define FERRY_MANIFESTS_SSHSIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/limits.h"
#include "manifests/sshkey.h"

#define SSHSIG_ARMOR "SSH SIGNATURE"
/* The namespaces ferry signs in. */
#define SSHSIG_NS_HEAD "ferry-head"
#define SSHSIG_NS_GIT "git"

enum sshsig_hash {
	SSHSIG_SHA256,
	SSHSIG_SHA512,
};

/* What an armored signature says, before anyone checks it. */
struct sshsig_info {
	uint8_t key[ED25519_PUB_LEN];		/* who claims to have signed */
	char ns[LIMIT_SIG_NAMESPACE_BYTES + 1]; /* printable ASCII, NUL-ended */
	enum sshsig_hash hash;
	uint8_t sig[ED25519_SIG_LEN];
};

/*
 * Decodes and parses an armored signature of alen bytes (the text may end
 * with one newline after the END line, nothing more) without checking it.
 * @return 0;
 *         -EBADMSG  malformed armor or blob (truncated, trailing data,
 *                   version other than 1, empty namespace, non-empty
 *                   reserved field, signature not ssh-ed25519/64 bytes);
 *         -EKEYREJECTED  well formed but never acceptable to ferry: a key
 *                   type other than ssh-ed25519, a hash other than
 *                   sha256/sha512, a namespace that is not 1 to
 *                   LIMIT_SIG_NAMESPACE_BYTES printable ASCII characters;
 *         -EFBIG    alen > LIMIT_SIGNATURE_BYTES; -ENOMEM.
 */
int sshsig_parse(struct sshsig_info *out, const char *armored, size_t alen) FERRY_MUST_USE;

/*
 * Signs msg (n bytes) with k in namespace ns and appends the armored
 * signature, final newline included, to armored_out: byte for byte what
 * `ssh-keygen -Y sign -n NS -f KEY` writes for the same key and message.
 * ns is 1 to LIMIT_SIG_NAMESPACE_BYTES printable ASCII characters
 * without blanks.
 * @return 0, -EINVAL for a bad namespace, buf errors.  On failure
 *         armored_out keeps its old length.
 */
int sshsig_sign(struct buf *armored_out, const struct ssh_privkey *k, const char *ns,
		const void *msg, size_t n) FERRY_MUST_USE;

/*
 * Checks that the armored signature (alen bytes) is a valid signature of
 * msg (n bytes) in namespace ns by one of the ntrusted keys in trusted.
 * On success *which_out is the index of that key.
 * @return 0;
 *         -EKEYREJECTED  the detail says which: another namespace, a key
 *                   not in trusted (named by fingerprint), or a signature
 *                   that does not match msg; also the -EKEYREJECTED cases
 *                   of sshsig_parse();
 *         -EBADMSG  malformed armor or blob; -EFBIG; -ENOMEM.
 * Checks happen in that order: parse, namespace, trust, cryptography.
 */
int sshsig_verify(size_t *which_out, const struct ssh_pubkey *trusted, size_t ntrusted,
		  const char *ns, const char *armored, size_t alen, const void *msg,
		  size_t n) FERRY_MUST_USE;

#endif
