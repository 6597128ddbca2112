/*
 * crypto.h — hashing, signatures and randomness: the OpenSSL adapter.
 *
 * core/crypto_openssl.c is the only file in ferry that includes OpenSSL.
 * It lives in core/ (the one place core reaches past libc) because every
 * layer hashes: the packer names chunks, the school verifies them, the
 * satellite receiver checks files.  Hashes go through OpenSSL's EVP, which
 * uses the CPU's SHA extensions where present.
 *
 * Ed25519 keys here are raw: a 32-byte seed (private) and a 32-byte public
 * key.  OpenSSH key files and the sshsig envelope are parsed above this, in
 * manifests/.
 */
#ifndef FERRY_CORE_CRYPTO_H
#define FERRY_CORE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define SHA256_LEN 32
#define SHA512_LEN 64
#define ED25519_PUB_LEN 32
#define ED25519_SEED_LEN 32
#define ED25519_SIG_LEN 64

struct sha256 {
	uint8_t b[SHA256_LEN];
};

/* One-shot SHA-256; never fails short of memory exhaustion in OpenSSL,
 * which aborts the process (there is nothing sensible to return). */
void sha256_buf(struct sha256 *out, const void *p, size_t n);
void sha512_buf(uint8_t out[SHA512_LEN], const void *p, size_t n);

/* Streaming SHA-256 for whole files. */
struct sha256_ctx;
int sha256_ctx_new(struct sha256_ctx **out) FERRY_MUST_USE;
void sha256_ctx_update(struct sha256_ctx *c, const void *p, size_t n);
/* Writes the digest and resets c for reuse. */
void sha256_ctx_final(struct sha256_ctx *c, struct sha256 *out);
void sha256_ctx_free(struct sha256_ctx *c);

int ed25519_public_from_seed(uint8_t pub[ED25519_PUB_LEN],
			     const uint8_t seed[ED25519_SEED_LEN]) FERRY_MUST_USE;
int ed25519_sign(uint8_t sig[ED25519_SIG_LEN], const uint8_t seed[ED25519_SEED_LEN],
		 const void *msg, size_t n) FERRY_MUST_USE;
/* 0 if sig is a valid signature of msg by pub, -EKEYREJECTED if not. */
int ed25519_verify(const uint8_t pub[ED25519_PUB_LEN], const uint8_t sig[ED25519_SIG_LEN],
		   const void *msg, size_t n) FERRY_MUST_USE;

int crypto_random(void *p, size_t n) FERRY_MUST_USE;

/* Streaming SHA-1, only because git's formats use it (the trailer of a
 * git packfile, written by manifests/git_libgit2.c); ferry trusts nothing
 * on SHA-1 alone.  Same shape as sha256_ctx. */
#define SHA1_LEN 20
struct sha1_ctx;
int sha1_ctx_new(struct sha1_ctx **out) FERRY_MUST_USE;
void sha1_ctx_update(struct sha1_ctx *c, const void *p, size_t n);
/* Writes the digest and resets c for reuse. */
void sha1_ctx_final(struct sha1_ctx *c, uint8_t out[SHA1_LEN]);
void sha1_ctx_free(struct sha1_ctx *c);

#endif
