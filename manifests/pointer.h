/*
 * pointer.h — the file pointer: what a release says about one file.
 *
 * A release's git tree holds, for every content file, a small text blob
 * instead of the file (the git-LFS idea: git carries pointers, packs carry
 * bytes).  It gives the file's size, its whole-file SHA-256, and its chunk
 * list — ID, raw length and stored (compressed) length of each — so a school
 * knows the exact cost of a file before it fetches a byte, and can check
 * every chunk and the whole file after.
 *
 *     ferry-pointer 1
 *     size 1234567
 *     sha256 <64 hex>
 *     chunks 2
 *     <64 hex chunk id> <raw length> <stored length>
 *     <64 hex chunk id> <raw length> <stored length>
 *
 * Text so that `git diff` of two releases reads sensibly.  The parser is
 * strict (fixed order, decimal without leading zeros, lengths that add up
 * to size, each within LIMIT_CHUNK_MAX, at most LIMIT_POINTER_CHUNKS
 * chunks) because pointers come from mirrors and sticks.
 */
#ifndef FERRY_MANIFESTS_POINTER_H
#define FERRY_MANIFESTS_POINTER_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "core/err.h"
#include "packager/chunk_ref.h"


struct mf_pointer {
	uint64_t size;
	struct sha256 hash;
	size_t nchunks;
	struct chunk_ref *chunks; /* owned; freed by mf_pointer_release */
	size_t cap;
};

void mf_pointer_init(struct mf_pointer *p);
void mf_pointer_release(struct mf_pointer *p);
/* Appends a chunk (growing the array). */
int mf_pointer_add(struct mf_pointer *p, const struct sha256 *id, uint32_t raw_len,
		   uint32_t stored_len) FERRY_MUST_USE;
int mf_pointer_format(struct buf *out, const struct mf_pointer *p) FERRY_MUST_USE;
/* Parses into a fresh pointer (mf_pointer_init'ed by the call); on error
 * out is left empty.  -EBADMSG with a detail line for malformed input. */
int mf_pointer_parse(struct mf_pointer *out, const void *text, size_t n) FERRY_MUST_USE;
/* Sum of stored lengths: the bytes a school fetches for this file alone. */
uint64_t mf_pointer_stored(const struct mf_pointer *p);

#endif
