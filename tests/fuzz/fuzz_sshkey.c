/*
 * fuzz_sshkey.c — a key file from anywhere: the public key line parser,
 * the private key file parser and the armor decoder beneath it.
 *
 * Checked beyond sanitizer cleanliness: a public key that parses formats
 * to a line that parses back to the same key and comment; a private key
 * that parses holds a seed that derives its public key; a private key
 * that fails leaves no byte of *out set.
 *
 * The corpus holds ssh-keygen's own files (Ed25519 public with a UTF-8
 * comment and private, passphrase-protected, RSA, ECDSA, RSA as PEM), a
 * private key built from the seed 01 02 ... 20 (hex) and damaged copies
 * of it (check-ints differ, blob cut, armor cut, CRLF), public lines with
 * CRLF, no comment, cut base64, and empty and random input.  Every key in
 * it was made for this corpus only.
 */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "manifests/sshkey.h"

static void public_round_trip(const struct ssh_pubkey *k)
{
	struct ssh_pubkey again;
	char fp[SSHKEY_FINGERPRINT_LEN];
	struct buf line;

	buf_init(&line, 4096);
	if (sshkey_format_public(&line, k) < 0 ||
	    sshkey_parse_public(&again, (const char *)line.data, line.len) < 0 ||
	    memcmp(&again, k, sizeof(again)) != 0 || sshkey_fingerprint(fp, k) < 0 ||
	    strncmp(fp, "SHA256:", 7) != 0)
		abort();
	buf_release(&line);
}

static void private_checked(const uint8_t *data, size_t size)
{
	struct ssh_privkey k;
	uint8_t derived[ED25519_PUB_LEN];

	memset(&k, 0x5a, sizeof(k));
	if (sshkey_parse_private(&k, (const char *)data, size) == 0) {
		if (ed25519_public_from_seed(derived, k.seed) < 0 ||
		    memcmp(derived, k.pub, sizeof(derived)) != 0)
			abort();
	} else {
		for (size_t i = 0; i < sizeof(k); i++) {
			if (((const uint8_t *)&k)[i] != 0)
				abort();
		}
	}
	sshkey_private_clear(&k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ssh_pubkey pub;

	/* Comments are compared whole, so start from a clean struct. */
	memset(&pub, 0, sizeof(pub));
	if (sshkey_parse_public(&pub, (const char *)data, size) == 0)
		public_round_trip(&pub);
	private_checked(data, size);
	return 0;
}
