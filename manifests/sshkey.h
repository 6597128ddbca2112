/*
 * sshkey.h — OpenSSH Ed25519 keys: the ".pub" line, the unencrypted
 * "openssh-key-v1" private key file, and the SSH wire form both share.
 *
 * County admins already hold keys made by `ssh-keygen -t ed25519`; ferry
 * signs with those and nothing else.  Any other key type (RSA, ECDSA, DSA,
 * FIDO "sk-" keys, certificates) is refused with -ENOTSUP and the detail
 * "only ssh-ed25519 keys are supported".
 *
 * A public key file holds one line, "ssh-ed25519 BASE64 [comment]", where
 * BASE64 encodes the key blob
 *
 *     string "ssh-ed25519"    (SSH string: be32 length, then bytes)
 *     string key              (32 bytes)
 *
 * A private key file is the base64 armor of OpenSSH's PROTOCOL.key layout
 * (magic "openssh-key-v1\0", cipher, KDF, one public blob, one private
 * section with two equal check-ints, the key, a comment and padding
 * 1, 2, 3, ...).  Only cipher "none" is read: a passphrase-protected key is
 * refused with -ENOTSUP and a detail telling the admin how to make an
 * unencrypted copy for the signing machine.
 *
 * Secrets: struct ssh_privkey holds the 32-byte seed.  Every buffer that
 * held seed bytes (file text, decoded blob) is wiped with explicit_bzero()
 * before it is freed, and a failed load leaves *out zeroed.  A caller
 * wipes its own copy with sshkey_private_clear() when done.
 *
 * All functions are pure parsers or formatters except the two *_load_*()
 * ones, which read one bounded file (LIMIT_KEY_FILE_BYTES).
 */
#ifndef FERRY_MANIFESTS_SSHKEY_H
#define FERRY_MANIFESTS_SSHKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "core/err.h"

#define SSHKEY_TYPE_ED25519 "ssh-ed25519"
/* Longest comment kept from a .pub line (bytes, without the NUL). */
#define SSHKEY_COMMENT_MAX 127
/* "SHA256:" + 43 base64 characters + NUL. */
#define SSHKEY_FINGERPRINT_LEN 51
/* Size of an Ed25519 public key blob: 4 + 11 + 4 + 32. */
#define SSHKEY_BLOB_LEN 51
/* Armor labels, as in "-----BEGIN <label>-----". */
#define SSHKEY_ARMOR_PRIVATE "OPENSSH PRIVATE KEY"

struct ssh_pubkey {
	uint8_t key[ED25519_PUB_LEN];
	/* UTF-8 text without control characters; "" when there is none. */
	char comment[SSHKEY_COMMENT_MAX + 1];
};

struct ssh_privkey {
	uint8_t seed[ED25519_SEED_LEN];
	uint8_t pub[ED25519_PUB_LEN];
};

/*
 * Parses one public key line "ssh-ed25519 BASE64 [comment]" of len bytes
 * (a final "\n" or "\r\n" is allowed; blanks around fields are skipped).
 * @return 0, -ENOTSUP for another key type, -EFBIG for a comment longer
 *         than SSHKEY_COMMENT_MAX, -EBADMSG for anything malformed
 *         (including a blob whose type differs from the line's).
 */
int sshkey_parse_public(struct ssh_pubkey *out, const char *text, size_t len) FERRY_MUST_USE;

/* Reads and parses a ".pub" file.  Errors as sshkey_parse_public(), plus
 * the file's own (-ENOENT, -EFBIG past LIMIT_KEY_FILE_BYTES, ...). */
int sshkey_load_public(struct ssh_pubkey *out, const char *path) FERRY_MUST_USE;

/*
 * Parses the text of an unencrypted OpenSSH private key file.
 * Checks the armor, magic, cipher/KDF "none", exactly one key, the two
 * check-ints, the key type, that both copies of the public key agree and
 * that they are the one the seed derives, and the padding.
 * @return 0, -ENOTSUP for a passphrase-protected key or another key type,
 *         -EBADMSG for anything malformed or inconsistent.  On failure
 *         *out is zeroed.
 */
int sshkey_parse_private(struct ssh_privkey *out, const char *text, size_t len) FERRY_MUST_USE;

/* Reads and parses a private key file; errors as sshkey_parse_private()
 * plus the file's own.  The file's bytes are wiped from memory after. */
int sshkey_load_private(struct ssh_privkey *out, const char *path) FERRY_MUST_USE;

/* Wipes the seed (explicit_bzero, not optimized away).  Accepts NULL. */
void sshkey_private_clear(struct ssh_privkey *k);

/* The public half of k, with an empty comment. */
void sshkey_public_from_private(struct ssh_pubkey *out, const struct ssh_privkey *k);

bool sshkey_public_equal(const struct ssh_pubkey *a, const struct ssh_pubkey *b);

/*
 * Appends "ssh-ed25519 BASE64" and, if k has one, " comment" to out: the
 * line of a .pub file or of an allowed_signers entry, without newline.
 * @return 0, -EINVAL if the comment holds a control character, or
 *         buf errors.
 */
int sshkey_format_public(struct buf *out, const struct ssh_pubkey *k) FERRY_MUST_USE;

/* Loads an ed25519 .pub file and appends its canonical line
 * ("ssh-ed25519 AAAA… comment") to out; the detail names the file when it
 * is not such a key.  Used wherever keys given on the command line are
 * recorded (ferry.json, a store's trusted keys). */
int sshkey_public_file_line(struct buf *out, const char *path) FERRY_MUST_USE;

/* Writes the "SHA256:..." fingerprint `ssh-keygen -l` prints (base64 of
 * the SHA-256 of the key blob, no padding).  @return 0 or -ENOMEM. */
int sshkey_fingerprint(char out[SSHKEY_FINGERPRINT_LEN], const struct ssh_pubkey *k) FERRY_MUST_USE;

/* The wire form: appends the SSHKEY_BLOB_LEN-byte blob of key to out. */
int sshkey_blob_append(struct buf *out, const uint8_t key[ED25519_PUB_LEN]) FERRY_MUST_USE;

/* Parses a key blob of exactly n bytes.  @return 0, -ENOTSUP (detail
 * names the type) for a well-formed blob of another type, -EBADMSG. */
int sshkey_blob_parse(uint8_t key_out[ED25519_PUB_LEN], const void *blob, size_t n) FERRY_MUST_USE;

/*
 * OpenSSH's armor, shared by private keys and signatures:
 *
 *     -----BEGIN <label>-----
 *     base64, wrapped at 70 columns
 *     -----END <label>-----
 *
 * sshkey_armor_encode() appends exactly what ssh-keygen writes, final
 * newline included.  sshkey_armor_decode() appends the decoded bytes to
 * out and is strict: the text starts with the BEGIN line, every line ends
 * with "\n" or "\r\n", base64 lines hold 1 to 76 characters of the
 * alphabet, padding only at the very end, the encoding is canonical, and
 * nothing but one line end may follow the END line.  out is reserved once
 * up front, so decoded secrets are never left behind by a reallocation.
 * @return 0, -EBADMSG, or buf errors (-EFBIG past out's cap, -ENOMEM).
 */
int sshkey_armor_encode(struct buf *out, const char *label, const void *p, size_t n) FERRY_MUST_USE;
int sshkey_armor_decode(struct buf *out, const char *label, const char *text,
			size_t len) FERRY_MUST_USE;

#endif
