/*
 * fuzz_head.c — a head file from anywhere: the body parser and the
 * signed-file verifier.
 *
 * Beyond "no crash, no leak, no sanitizer report", two properties are
 * checked: a body that parses formats back to exactly the same bytes (the
 * format has one spelling per head), and a file that verifies was signed
 * by the one trusted key over a body that is that head's formatting.
 *
 * The trusted key is derived from the seed 01 02 ... 20 (hex).  The
 * corpus holds heads signed with it (valid, and then damaged: a field
 * changed, signed in namespace "git", signed by another key, truncated,
 * followed by junk), bare bodies (valid, at the number limits, and each
 * breaking one rule), and non-heads (empty, binary).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "manifests/head.h"

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

/* Formats h and checks the result against the first len bytes of data. */
static void format_matches(const struct mf_head *h, const uint8_t *data, size_t size, bool whole)
{
	struct buf out;

	buf_init(&out, LIMIT_HEAD_BYTES);
	if (mf_head_format(&out, h) < 0 || out.len > size || (whole && out.len != size) ||
	    memcmp(out.data, data, out.len) != 0)
		abort();
	buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mf_head h;
	size_t signer = 99;

	if (!trusted_ready)
		trusted_init();
	if (mf_head_parse(&h, data, size) == 0)
		format_matches(&h, data, size, true);
	if (mf_head_verify(&h, &signer, data, size, &trusted, 1) == 0) {
		if (signer != 0)
			abort();
		format_matches(&h, data, size, false);
	}
	return 0;
}
