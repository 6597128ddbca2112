/*
 * sshsig.c — making and checking sshsig signatures (see sshsig.h).
 *
 * The blob is read with the bounded struct rd: every field is an SSH
 * string whose length is checked against what is left before it is used.
 * Structure is checked before meaning, so a mangled blob is -EBADMSG
 * whatever else is wrong with it, and meaning before cryptography, so an
 * error names the most useful cause (wrong namespace, unknown signer)
 * rather than "bad signature".
 */
#include "manifests/sshsig.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/bytes.h"

#define SSHSIG_MAGIC "SSHSIG"
#define SSHSIG_MAGIC_LEN 6
#define SSHSIG_VERSION 1
#define KEY_TYPE_LEN (sizeof(SSHKEY_TYPE_ED25519) - 1)
/* The signature string: "ssh-ed25519" and 64 bytes, each an SSH string. */
#define SIG_BLOB_LEN (4 + KEY_TYPE_LEN + 4 + ED25519_SIG_LEN)
/* Room for a blob or the signed data ferry builds (namespace bounded). */
#define BLOB_ROOM 512

static const char *const hash_names[] = {
    [SSHSIG_SHA256] = "sha256",
    [SSHSIG_SHA512] = "sha512",
};

static void buf_releasep(struct buf *b)
{
	buf_release(b);
}

#define AUTO_BUF __attribute__((cleanup(buf_releasep)))

static bool bytes_are(const uint8_t *p, size_t n, const char *s)
{
	return p && n == strlen(s) && memcmp(p, s, n) == 0;
}

static bool ns_bytes_ok(const uint8_t *p, size_t n)
{
	if (n == 0 || n > LIMIT_SIG_NAMESPACE_BYTES)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] <= 0x20 || p[i] >= 0x7f)
			return false;
	}
	return true;
}

/* The signature field: string "ssh-ed25519", string 64 bytes. */
static int sig_field_parse(uint8_t sig[ED25519_SIG_LEN], const uint8_t *p, size_t n)
{
	const uint8_t *type, *s;
	size_t tl, sl;
	struct rd r;

	rd_init(&r, p, n);
	type = rd_sshstr(&r, &tl);
	s = rd_sshstr(&r, &sl);
	if (!r.ok || rd_left(&r) != 0 || !bytes_are(type, tl, SSHKEY_TYPE_ED25519) ||
	    sl != ED25519_SIG_LEN)
		return err_set(-EBADMSG, "SSH signature holds a malformed ssh-ed25519 signature");
	memcpy(sig, s, ED25519_SIG_LEN);
	return 0;
}

static int hash_parse(enum sshsig_hash *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < sizeof(hash_names) / sizeof(hash_names[0]); i++) {
		if (bytes_are(p, n, hash_names[i])) {
			*out = (enum sshsig_hash)i;
			return 0;
		}
	}
	return err_set(-EKEYREJECTED, "SSH signature uses a hash other than sha256 or sha512");
}

/* Checks the meaning of fields whose structure blob_parse() has read. */
static int blob_fields(struct sshsig_info *out, const uint8_t *key, size_t kl, const uint8_t *ns,
		       size_t nl, const uint8_t *hash, size_t hl, const uint8_t *sig, size_t sl)
{
	int e;

	if (nl == 0 || memchr(ns, '\0', nl))
		return err_set(-EBADMSG, "SSH signature has an empty or broken namespace");
	/* The key first: an RSA signature is foreign, not malformed. */
	e = sshkey_blob_parse(out->key, key, kl);
	if (e == -ENOTSUP)
		return err_set(-EKEYREJECTED, "SSH signature made with a key that is not "
					      "ssh-ed25519; only ssh-ed25519 keys are supported");
	if (e < 0)
		return e;
	e = sig_field_parse(out->sig, sig, sl);
	if (e < 0)
		return e;
	e = hash_parse(&out->hash, hash, hl);
	if (e < 0)
		return e;
	if (!ns_bytes_ok(ns, nl))
		return err_set(-EKEYREJECTED, "SSH signature is for a namespace ferry never uses");
	memcpy(out->ns, ns, nl);
	out->ns[nl] = '\0';
	return 0;
}

static int blob_parse(struct sshsig_info *out, const uint8_t *p, size_t n)
{
	const uint8_t *magic, *key, *ns, *reserved, *hash, *sig;
	size_t kl, nl, rl, hl, sl;
	uint32_t version;
	struct rd r;

	rd_init(&r, p, n);
	magic = rd_take(&r, SSHSIG_MAGIC_LEN);
	if (!magic || memcmp(magic, SSHSIG_MAGIC, SSHSIG_MAGIC_LEN) != 0)
		return err_set(-EBADMSG, "not an SSH signature (no SSHSIG magic)");
	version = rd_be32(&r);
	key = rd_sshstr(&r, &kl);
	ns = rd_sshstr(&r, &nl);
	reserved = rd_sshstr(&r, &rl);
	hash = rd_sshstr(&r, &hl);
	sig = rd_sshstr(&r, &sl);
	if (!r.ok)
		return err_set(-EBADMSG, "SSH signature is truncated");
	if (rd_left(&r) != 0)
		return err_set(-EBADMSG, "SSH signature has trailing data");
	if (version != SSHSIG_VERSION)
		return err_set(-EBADMSG, "SSH signature version %u is not supported", version);
	(void)reserved;
	if (rl != 0)
		return err_set(-EBADMSG, "SSH signature has a non-empty reserved field");
	return blob_fields(out, key, kl, ns, nl, hash, hl, sig, sl);
}

int sshsig_parse(struct sshsig_info *out, const char *armored, size_t alen)
{
	AUTO_BUF struct buf blob = {0};
	int e;

	memset(out, 0, sizeof(*out));
	if (alen > LIMIT_SIGNATURE_BYTES)
		return err_set(-EFBIG, "SSH signature larger than %u bytes", LIMIT_SIGNATURE_BYTES);
	buf_init(&blob, LIMIT_SIGNATURE_BYTES);
	e = sshkey_armor_decode(&blob, SSHSIG_ARMOR, armored, alen);
	if (e == -EBADMSG) {
		char d[256];

		snprintf(d, sizeof(d), "%s", err_detail());
		return err_set(e, "SSH signature: %s", d);
	}
	if (e < 0)
		return e;
	return blob_parse(out, blob.data, blob.len);
}

/* "SSHSIG" || string ns || string "" || string hash name || string digest */
static int signed_data(struct buf *out, const char *ns, enum sshsig_hash hash, const void *msg,
		       size_t n)
{
	uint8_t digest[SHA512_LEN];
	size_t dlen;
	int e;

	if (hash == SSHSIG_SHA256) {
		struct sha256 h;

		sha256_buf(&h, msg, n);
		memcpy(digest, h.b, SHA256_LEN);
		dlen = SHA256_LEN;
	} else {
		sha512_buf(digest, msg, n);
		dlen = SHA512_LEN;
	}
	e = buf_append(out, SSHSIG_MAGIC, SSHSIG_MAGIC_LEN);
	if (e >= 0)
		e = buf_append_sshstr(out, ns, strlen(ns));
	if (e >= 0)
		e = buf_append_sshstr(out, "", 0);
	if (e >= 0)
		e = buf_append_sshstr(out, hash_names[hash], strlen(hash_names[hash]));
	if (e >= 0)
		e = buf_append_sshstr(out, digest, dlen);
	return e;
}

static int blob_build(struct buf *out, const struct ssh_privkey *k, const char *ns,
		      const uint8_t sig[ED25519_SIG_LEN])
{
	uint8_t sigfield[SIG_BLOB_LEN];
	int e;

	put_be32(sigfield, KEY_TYPE_LEN);
	memcpy(sigfield + 4, SSHKEY_TYPE_ED25519, KEY_TYPE_LEN);
	put_be32(sigfield + 4 + KEY_TYPE_LEN, ED25519_SIG_LEN);
	memcpy(sigfield + 8 + KEY_TYPE_LEN, sig, ED25519_SIG_LEN);
	e = buf_append(out, SSHSIG_MAGIC, SSHSIG_MAGIC_LEN);
	if (e >= 0)
		e = buf_append_be32(out, SSHSIG_VERSION);
	if (e >= 0)
		e = buf_append_be32(out, SSHKEY_BLOB_LEN);
	if (e >= 0)
		e = sshkey_blob_append(out, k->pub);
	if (e >= 0)
		e = buf_append_sshstr(out, ns, strlen(ns));
	if (e >= 0)
		e = buf_append_sshstr(out, "", 0);
	if (e >= 0)
		e = buf_append_sshstr(out, hash_names[SSHSIG_SHA512],
				      strlen(hash_names[SSHSIG_SHA512]));
	if (e >= 0)
		e = buf_append_sshstr(out, sigfield, sizeof(sigfield));
	return e;
}

int sshsig_sign(struct buf *armored_out, const struct ssh_privkey *k, const char *ns,
		const void *msg, size_t n)
{
	AUTO_BUF struct buf data = {0};
	AUTO_BUF struct buf blob = {0};
	uint8_t sig[ED25519_SIG_LEN];
	int e;

	if (!ns_bytes_ok((const uint8_t *)ns, strlen(ns)))
		return err_set(-EINVAL,
			       "signature namespace \"%s\" is not 1 to %u printable "
			       "characters",
			       ns, LIMIT_SIG_NAMESPACE_BYTES);
	buf_init(&data, BLOB_ROOM);
	buf_init(&blob, BLOB_ROOM);
	e = signed_data(&data, ns, SSHSIG_SHA512, msg, n);
	if (e >= 0)
		e = ed25519_sign(sig, k->seed, data.data, data.len);
	if (e >= 0)
		e = blob_build(&blob, k, ns, sig);
	if (e >= 0)
		e = sshkey_armor_encode(armored_out, SSHSIG_ARMOR, blob.data, blob.len);
	return e;
}

static int untrusted(const uint8_t key[ED25519_PUB_LEN])
{
	char fp[SSHKEY_FINGERPRINT_LEN];
	struct ssh_pubkey k = {0};

	memcpy(k.key, key, ED25519_PUB_LEN);
	if (sshkey_fingerprint(fp, &k) < 0)
		return -ENOMEM;
	return err_set(-EKEYREJECTED, "signed by ED25519 key %s, which is not trusted", fp);
}

int sshsig_verify(size_t *which_out, const struct ssh_pubkey *trusted, size_t ntrusted,
		  const char *ns, const char *armored, size_t alen, const void *msg, size_t n)
{
	AUTO_BUF struct buf data = {0};
	struct sshsig_info info;
	size_t which = ntrusted;
	int e;

	assert(ns_bytes_ok((const uint8_t *)ns, strlen(ns)));
	e = sshsig_parse(&info, armored, alen);
	if (e < 0)
		return e;
	if (strcmp(info.ns, ns) != 0)
		return err_set(-EKEYREJECTED, "signature is for namespace \"%s\", not \"%s\"",
			       info.ns, ns);
	for (size_t i = 0; i < ntrusted && which == ntrusted; i++) {
		if (memcmp(trusted[i].key, info.key, ED25519_PUB_LEN) == 0)
			which = i;
	}
	if (which == ntrusted)
		return untrusted(info.key);
	buf_init(&data, BLOB_ROOM);
	e = signed_data(&data, ns, info.hash, msg, n);
	if (e < 0)
		return e;
	e = ed25519_verify(trusted[which].key, info.sig, data.data, data.len);
	if (e == -EKEYREJECTED)
		return err_set(e, "signature does not match the signed data");
	if (e < 0)
		return e;
	*which_out = which;
	return 0;
}
