/*
 * crypto_openssl.c — the OpenSSL adapter (see crypto.h).
 *
 * SHA-256 is fetched once per process (EVP_MD_fetch) rather than per call:
 * OpenSSL 3's implicit fetch on every EVP_Digest costs more than hashing a
 * small chunk.
 */
#include "core/crypto.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>

static EVP_MD *md_sha256;
static EVP_MD *md_sha512;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_fetch(void)
{
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	md_sha512 = EVP_MD_fetch(NULL, "SHA512", NULL);
}

static const EVP_MD *sha256_md(void)
{
	pthread_once(&md_once, md_fetch);
	return md_sha256;
}

void sha256_buf(struct sha256 *out, const void *p, size_t n)
{
	unsigned int len = 0;

	EVP_Digest(p, n, out->b, &len, sha256_md(), NULL);
}

void sha512_buf(uint8_t out[SHA512_LEN], const void *p, size_t n)
{
	unsigned int len = 0;

	pthread_once(&md_once, md_fetch);
	EVP_Digest(p, n, out, &len, md_sha512, NULL);
}

struct sha256_ctx {
	EVP_MD_CTX *md;
};

int sha256_ctx_new(struct sha256_ctx **out)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (!md)
		return -ENOMEM;
	if (EVP_DigestInit_ex(md, sha256_md(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return -ENOMEM;
	}
	*out = (struct sha256_ctx *)md;
	return 0;
}

void sha256_ctx_update(struct sha256_ctx *c, const void *p, size_t n)
{
	EVP_DigestUpdate((EVP_MD_CTX *)c, p, n);
}

void sha256_ctx_final(struct sha256_ctx *c, struct sha256 *out)
{
	unsigned int len = 0;

	EVP_DigestFinal_ex((EVP_MD_CTX *)c, out->b, &len);
	EVP_DigestInit_ex((EVP_MD_CTX *)c, sha256_md(), NULL);
}

void sha256_ctx_free(struct sha256_ctx *c)
{
	EVP_MD_CTX_free((EVP_MD_CTX *)c);
}

int ed25519_public_from_seed(uint8_t pub[ED25519_PUB_LEN], const uint8_t seed[ED25519_SEED_LEN])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, ED25519_SEED_LEN);
	size_t len = ED25519_PUB_LEN;
	int ok;

	if (!k)
		return err_set(-EINVAL, "not an Ed25519 private key");
	ok = EVP_PKEY_get_raw_public_key(k, pub, &len) == 1 && len == ED25519_PUB_LEN;
	EVP_PKEY_free(k);
	return ok ? 0 : err_set(-EINVAL, "cannot derive Ed25519 public key");
}

int ed25519_sign(uint8_t sig[ED25519_SIG_LEN], const uint8_t seed[ED25519_SEED_LEN],
		 const void *msg, size_t n)
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, ED25519_SEED_LEN);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t len = ED25519_SIG_LEN;
	int r = -ENOMEM;

	if (k && md && EVP_DigestSignInit(md, NULL, NULL, NULL, k) == 1 &&
	    EVP_DigestSign(md, sig, &len, msg, n) == 1 && len == ED25519_SIG_LEN)
		r = 0;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return r < 0 ? err_set(r, "Ed25519 signing failed") : 0;
}

int ed25519_verify(const uint8_t pub[ED25519_PUB_LEN], const uint8_t sig[ED25519_SIG_LEN],
		   const void *msg, size_t n)
{
	EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, ED25519_PUB_LEN);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int r = -EKEYREJECTED;

	if (!k || !md)
		r = -ENOMEM;
	else if (EVP_DigestVerifyInit(md, NULL, NULL, NULL, k) == 1 &&
		 EVP_DigestVerify(md, sig, ED25519_SIG_LEN, msg, n) == 1)
		r = 0;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return r;
}

int crypto_random(void *p, size_t n)
{
	if (n > INT32_MAX || RAND_bytes(p, (int)n) != 1)
		return err_set(-EIO, "no randomness available");
	return 0;
}

int sha1_ctx_new(struct sha1_ctx **out)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (!md)
		return -ENOMEM;
	if (EVP_DigestInit_ex(md, EVP_sha1(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return -ENOMEM;
	}
	*out = (struct sha1_ctx *)md;
	return 0;
}

void sha1_ctx_update(struct sha1_ctx *c, const void *p, size_t n)
{
	EVP_DigestUpdate((EVP_MD_CTX *)c, p, n);
}

void sha1_ctx_final(struct sha1_ctx *c, uint8_t out[SHA1_LEN])
{
	unsigned int len = 0;

	EVP_DigestFinal_ex((EVP_MD_CTX *)c, out, &len);
	EVP_DigestInit_ex((EVP_MD_CTX *)c, EVP_sha1(), NULL);
}

void sha1_ctx_free(struct sha1_ctx *c)
{
	EVP_MD_CTX_free((EVP_MD_CTX *)c);
}
