/*
 * fuzz_sshsig.c — an armored sshsig signature from anywhere: the armor
 * decoder, the blob parser and the verifier.
 *
 * Checked beyond sanitizer cleanliness: a parsed namespace is 1 to
 * LIMIT_SIG_NAMESPACE_BYTES bytes and NUL-ended, the verifier returns
 * only its documented codes, and a signature that verifies was made by
 * the one trusted key in namespace "file" over FUZZ_MESSAGE.
 *
 * The trusted key is derived from the seed 01 02 ... 20 (hex).  The
 * corpus holds signatures by that key from ferry and from
 * `ssh-keygen -Y sign` (sha512 and sha256, LF and CRLF), and damaged or
 * foreign ones: another namespace, message or key type (RSA), blob
 * version 2, a reserved field, trailing or missing bytes, an unknown hash,
 * broken armor, empty and binary input.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "manifests/sshsig.h"

#define FUZZ_MESSAGE "ferry fuzz message\n"
#define FUZZ_NAMESPACE "file"

static struct ssh_pubkey trusted;
static bool trusted_ready;

static void trusted_init(void)
{
	uint8_t seed[ED25519_SEED_LEN];

	trusted_ready = true;
	for (int i = 0; i < ED25519_SEED_LEN; i++)
		seed[i] = (uint8_t)(i + 1);
	if (ed25519_public_from_seed(trusted.key, seed) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct sshsig_info info;
	size_t which = 99, nl;
	int e;

	if (!trusted_ready)
		trusted_init();
	if (sshsig_parse(&info, text, size) == 0) {
		nl = strnlen(info.ns, sizeof(info.ns));
		if (nl == 0 || nl == sizeof(info.ns))
			abort();
	}
	e = sshsig_verify(&which, &trusted, 1, FUZZ_NAMESPACE, text, size, FUZZ_MESSAGE,
			  strlen(FUZZ_MESSAGE));
	if (e == 0 && which != 0)
		abort();
	if (e != 0 && e != -EBADMSG && e != -EKEYREJECTED && e != -EFBIG && e != -ENOMEM)
		abort();
	return 0;
}
