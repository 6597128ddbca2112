/*
 * codec.h — how a chunk's bytes are compressed: one standard zstd frame.
 *
 * Every compressed chunk in a pack is a complete zstd frame (RFC 8878) with
 * its content size in the frame header and no content checksum (the chunk's
 * SHA-256 ID is the check), so `zstd -d` reads a stored chunk as it is.  A
 * chunk that zstd cannot shrink by at least CODEC_MIN_SAVING_PCT percent
 * (video, JPEG, zip) is stored raw: decoding it costs nothing and the few
 * bytes zstd would save are not worth a decoder pass on every read.
 *
 * A struct codec holds one reusable zstd compression context and one
 * decompression context.  It is not thread-safe: give each thread its own.
 * zstd's allocations go through mem_*(), so tests can make them fail.
 *
 * Decoding is bounded by the caller's raw_len, which comes from signed or
 * indexed metadata: a frame that claims or produces any other size is
 * refused before and during decompression, so a hostile frame can neither
 * overrun the buffer nor make the decoder allocate more.
 *
 * packager/codec_zstd.c is the only file in ferry that includes zstd.h.
 * Deltas (a frame compressed against an earlier version of the file, the
 * `zstd --patch-from` idea, ZSTD_CCtx_refPrefix) have their own functions
 * at the end: codec_delta_compress() and codec_delta_apply().
 */
#ifndef FERRY_PACKAGER_CODEC_H
#define FERRY_PACKAGER_CODEC_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

/* Keep a frame only if it is at least this many percent smaller than the
 * raw chunk; otherwise store the chunk raw. */
#define CODEC_MIN_SAVING_PCT 3u

/* zstd's own default level: ~200 MB/s per core on text, a good ratio. */
#define CODEC_LEVEL_DEFAULT 3

/* codec_choose() results. */
#define CODEC_RAW 0
#define CODEC_FRAME 1

struct codec;

/* Creates a codec compressing at level (zstd's range, negative levels are
 * its fast modes).  Free with codec_free().  -EINVAL for a level zstd does
 * not have, -ENOMEM. */
int codec_new(struct codec **out, int level) FERRY_MUST_USE;

/* Accepts NULL. */
void codec_free(struct codec *c);

/* The largest frame codec_compress() can produce for n input bytes. */
size_t codec_compress_bound(size_t n);

/* Compresses src[0..n) into one frame in dst[0..cap); *out_len receives
 * its size.  -ENOSPC if the frame does not fit in cap (a cap of
 * codec_compress_bound(n) always fits), -ENOMEM. */
int codec_compress(size_t *out_len, struct codec *c, void *dst, size_t cap, const void *src,
		   size_t n) FERRY_MUST_USE;

/* Decompresses src[0..n), which must be exactly one zstd frame recording
 * content size raw_len, into dst[0..raw_len).  Writes at most raw_len
 * bytes.  -EBADMSG for anything else: not a frame, no or another content
 * size, trailing bytes, a corrupt or truncated frame.  -ENOMEM. */
int codec_decompress(struct codec *c, void *dst, size_t raw_len, const void *src,
		     size_t n) FERRY_MUST_USE;

/* The storage rule: true when a frame of frame_len bytes saves at least
 * CODEC_MIN_SAVING_PCT percent of raw_len (and at least one byte). */
bool codec_saves_enough(size_t raw_len, size_t frame_len);

/* Compresses src[0..n) and applies codec_saves_enough(): returns
 * CODEC_FRAME with the frame in dst[0..*out_len), or CODEC_RAW when the
 * chunk should be stored as it is (dst then holds nothing useful).  cap
 * must be at least n (asserted): zstd gets room for exactly the largest
 * frame worth keeping, and gives up as soon as the frame outgrows it.
 * -ENOMEM. */
int codec_choose(size_t *out_len, struct codec *c, void *dst, size_t cap, const void *src,
		 size_t n) FERRY_MUST_USE;

/* ---- deltas -------------------------------------------------------------
 *
 * A delta is one standard zstd frame of the new version of a file,
 * compressed with the old version (the base) as a raw-content prefix: what
 * `zstd --patch-from=BASE` makes, and `zstd -d --patch-from=BASE` reads.
 * Its window is sized to cover base and target together (long-distance
 * matching on above 128 MiB), so memory on both sides is about
 * base + target plus zstd's tables; callers bound both by
 * LIMIT_DELTA_FILE_BYTES and their own, smaller, configured maximum.
 * Frames carry their content size and no checksum (the whole-file SHA-256
 * and every chunk ID are the checks).
 */

/* Level used for deltas unless configured otherwise: they are made once at
 * the county and read by every school, so a slow, strong level pays. */
#define CODEC_DELTA_LEVEL_DEFAULT 19

/* Compresses target[0..n) against base[0..nbase) at level into dst[0..cap);
 * *out_len receives the frame's size.  -ENOSPC if it does not fit in cap
 * (how a caller says "only if smaller than cap"), -EFBIG if base or target
 * is over LIMIT_DELTA_FILE_BYTES, -EINVAL for a bad level, -ENOMEM.  Uses
 * a context of its own (c is only the allocator's home). */
int codec_delta_compress(size_t *out_len, struct codec *c, void *dst, size_t cap,
			 const void *base, size_t nbase, const void *target, size_t n,
			 int level) FERRY_MUST_USE;

/* Applies the delta frame src[0..n) to base[0..nbase), writing exactly
 * raw_len bytes into dst.  Same shape checks as codec_decompress() (one
 * frame, recorded content size equal to raw_len, nothing after it);
 * -EBADMSG for anything else, -EFBIG if raw_len or nbase is over
 * LIMIT_DELTA_FILE_BYTES, -ENOMEM. */
int codec_delta_apply(struct codec *c, void *dst, size_t raw_len, const void *base, size_t nbase,
		      const void *src, size_t n) FERRY_MUST_USE;

/* Checks only a delta frame's header: a zstd frame recording content size
 * raw_len (what `ferry verify` can check without the base).  -EBADMSG. */
int codec_delta_check(const void *src, size_t n, size_t raw_len) FERRY_MUST_USE;

#endif
