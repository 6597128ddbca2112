/*
 * codec_zstd.c — the zstd adapter behind codec.h, and the only file that
 * includes zstd.h.
 *
 * It turns zstd's size_t error codes into ferry's negative errnos (with
 * zstd's own error name as the detail line), routes zstd's allocations
 * through mem_*() so allocation-failure tests reach inside the library, and
 * checks a frame's shape before decoding it: the magic, exactly one frame
 * spanning the input, and a content size equal to what the caller expects.
 *
 * ZSTD_STATIC_LINKING_ONLY is defined for one reason: the custom-allocator
 * constructors ZSTD_createCCtx_advanced/ZSTD_createDCtx_advanced.  Their
 * signatures and struct ZSTD_customMem have not changed since zstd 1.0, and
 * Debian's shared libzstd exports them.
 *
 * Decoding uses the one-shot ZSTD_decompressDCtx() into the caller's flat
 * raw_len buffer, which needs no window buffer: a frame header claiming a
 * huge window makes the decoder allocate nothing more.
 */
#define ZSTD_STATIC_LINKING_ONLY
#include "packager/codec.h"

#include <assert.h>
#include <stdint.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "core/bytes.h"
#include "core/limits.h"
#include "core/mem.h"

struct codec {
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
};

static void *codec_zalloc(void *opaque, size_t size)
{
	(void)opaque;
	return mem_alloc(size);
}

static void codec_zfree(void *opaque, void *p)
{
	(void)opaque;
	mem_free(p);
}

static const ZSTD_customMem codec_mem = {codec_zalloc, codec_zfree, NULL};

/* Translates a zstd error code.  While decoding, everything but memory
 * exhaustion means the frame is bad. */
static int codec_error(size_t code, bool decoding)
{
	const char *name = ZSTD_getErrorName(code);
	ZSTD_ErrorCode e = ZSTD_getErrorCode(code);

	if (e == ZSTD_error_memory_allocation)
		return err_set(-ENOMEM, "zstd: %s", name);
	if (decoding)
		return err_set(-EBADMSG, "zstd frame: %s", name);
	if (e == ZSTD_error_dstSize_tooSmall)
		return err_set(-ENOSPC, "zstd: %s", name);
	return err_set(-EINVAL, "zstd: %s", name);
}

static int codec_set(ZSTD_CCtx *cctx, ZSTD_cParameter p, int value)
{
	size_t r = ZSTD_CCtx_setParameter(cctx, p, value);

	return ZSTD_isError(r) ? codec_error(r, false) : 0;
}

void codec_free(struct codec *c)
{
	if (!c)
		return;
	ZSTD_freeCCtx(c->cctx);
	ZSTD_freeDCtx(c->dctx);
	mem_free(c);
}

int codec_new(struct codec **out, int level)
{
	struct codec *c;
	int r;

	if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel() || level == 0)
		return err_set(-EINVAL, "zstd level %d is outside %d..%d (0 excluded)", level,
			       ZSTD_minCLevel(), ZSTD_maxCLevel());
	c = mem_calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->cctx = ZSTD_createCCtx_advanced(codec_mem);
	c->dctx = ZSTD_createDCtx_advanced(codec_mem);
	if (!c->cctx || !c->dctx) {
		codec_free(c);
		return err_set(-ENOMEM, "zstd: cannot allocate a context");
	}
	/* Sticky parameters: every frame carries its content size (the
	 * reader's bound) and no checksum (the chunk ID is the check). */
	r = codec_set(c->cctx, ZSTD_c_compressionLevel, level);
	if (r >= 0)
		r = codec_set(c->cctx, ZSTD_c_contentSizeFlag, 1);
	if (r >= 0)
		r = codec_set(c->cctx, ZSTD_c_checksumFlag, 0);
	if (r >= 0)
		r = codec_set(c->cctx, ZSTD_c_dictIDFlag, 0);
	if (r < 0) {
		codec_free(c);
		return r;
	}
	*out = c;
	return 0;
}

size_t codec_compress_bound(size_t n)
{
	return ZSTD_compressBound(n);
}

int codec_compress(size_t *out_len, struct codec *c, void *dst, size_t cap, const void *src,
		   size_t n)
{
	size_t r = ZSTD_compress2(c->cctx, dst, cap, src, n);

	/* ZSTD_compress2() starts a new frame every call, so a failed one
	 * leaves nothing behind in the context. */
	if (ZSTD_isError(r))
		return codec_error(r, false);
	*out_len = r;
	return 0;
}

/* The frame's shape: magic, a header recording raw_len, exactly n bytes. */
static int codec_frame_shape(const void *src, size_t n, size_t raw_len)
{
	unsigned long long declared;
	size_t r;

	if (n < 4 || get_le32(src) != ZSTD_MAGICNUMBER)
		return err_set(-EBADMSG, "zstd frame: bad magic");
	declared = ZSTD_getFrameContentSize(src, n);
	if (declared == ZSTD_CONTENTSIZE_ERROR)
		return err_set(-EBADMSG, "zstd frame: bad frame header");
	if (declared == ZSTD_CONTENTSIZE_UNKNOWN)
		return err_set(-EBADMSG, "zstd frame: content size not recorded");
	if (declared != raw_len)
		return err_set(-EBADMSG, "zstd frame: holds %llu bytes, expected %zu", declared,
			       raw_len);
	r = ZSTD_findFrameCompressedSize(src, n);
	if (ZSTD_isError(r))
		return codec_error(r, true);
	if (r != n)
		return err_set(-EBADMSG, "zstd frame: %zu bytes after the frame", n - r);
	return 0;
}

int codec_decompress(struct codec *c, void *dst, size_t raw_len, const void *src, size_t n)
{
	int e = codec_frame_shape(src, n, raw_len);
	size_t r;

	if (e < 0)
		return e;
	r = ZSTD_decompressDCtx(c->dctx, dst, raw_len, src, n);
	if (ZSTD_isError(r))
		return codec_error(r, true);
	if (r != raw_len)
		return err_set(-EBADMSG, "zstd frame: produced %zu bytes, expected %zu", r,
			       raw_len);
	return 0;
}

/* The fewest bytes a frame must save: CODEC_MIN_SAVING_PCT percent of
 * raw_len rounded down (computed without overflow), and at least one. */
static size_t codec_min_saving(size_t raw_len)
{
	size_t s =
	    raw_len / 100 * CODEC_MIN_SAVING_PCT + raw_len % 100 * CODEC_MIN_SAVING_PCT / 100;

	return s ? s : 1;
}

bool codec_saves_enough(size_t raw_len, size_t frame_len)
{
	return frame_len < raw_len && raw_len - frame_len >= codec_min_saving(raw_len);
}

int codec_choose(size_t *out_len, struct codec *c, void *dst, size_t cap, const void *src, size_t n)
{
	size_t saving = codec_min_saving(n), limit, len = 0;
	int r;

	assert(cap >= n);
	if (n <= saving)
		return CODEC_RAW;
	/* Room for exactly the largest frame worth keeping: zstd gives up
	 * with dstSize_tooSmall as soon as the frame outgrows it. */
	limit = n - saving;
	r = codec_compress(&len, c, dst, limit, src, n);
	if (r == -ENOSPC) {
		err_clear();
		return CODEC_RAW;
	}
	if (r < 0)
		return r;
	*out_len = len;
	return CODEC_FRAME;
}

/* ---- deltas ------------------------------------------------------------- */

/* The window that covers base and target together, as `zstd --patch-from`
 * sizes it: the smallest power of two holding both. */
static int codec_delta_wlog(size_t total)
{
	int wlog = ZSTD_WINDOWLOG_MIN;

	while (wlog < ZSTD_WINDOWLOG_MAX && ((size_t)1 << wlog) < total)
		wlog++;
	return wlog;
}

int codec_delta_compress(size_t *out_len, struct codec *c, void *dst, size_t cap,
			 const void *base, size_t nbase, const void *target, size_t n, int level)
{
	ZSTD_CCtx *cctx;
	int wlog, r;
	size_t z;

	(void)c;
	if (nbase > LIMIT_DELTA_FILE_BYTES || n > LIMIT_DELTA_FILE_BYTES)
		return err_set(-EFBIG, "delta: base or target over %u bytes", LIMIT_DELTA_FILE_BYTES);
	if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel() || level == 0)
		return err_set(-EINVAL, "zstd level %d is outside %d..%d (0 excluded)", level,
			       ZSTD_minCLevel(), ZSTD_maxCLevel());
	cctx = ZSTD_createCCtx_advanced(codec_mem);
	if (!cctx)
		return err_set(-ENOMEM, "zstd: cannot allocate a context");
	wlog = codec_delta_wlog(nbase + n);
	r = codec_set(cctx, ZSTD_c_compressionLevel, level);
	if (r >= 0)
		r = codec_set(cctx, ZSTD_c_contentSizeFlag, 1);
	if (r >= 0)
		r = codec_set(cctx, ZSTD_c_checksumFlag, 0);
	if (r >= 0)
		r = codec_set(cctx, ZSTD_c_dictIDFlag, 0);
	if (r >= 0)
		r = codec_set(cctx, ZSTD_c_windowLog, wlog);
	if (r >= 0 && wlog > 27)
		r = codec_set(cctx, ZSTD_c_enableLongDistanceMatching, 1);
	if (r >= 0 && nbase) {
		z = ZSTD_CCtx_refPrefix(cctx, base, nbase);
		r = ZSTD_isError(z) ? codec_error(z, false) : 0;
	}
	if (r >= 0) {
		z = ZSTD_compress2(cctx, dst, cap, target, n);
		if (ZSTD_isError(z))
			r = codec_error(z, false);
		else
			*out_len = z;
	}
	ZSTD_freeCCtx(cctx);
	return r;
}


int codec_delta_check(const void *src, size_t n, size_t raw_len)
{
	return codec_frame_shape(src, n, raw_len);
}

int codec_delta_apply(struct codec *c, void *dst, size_t raw_len, const void *base, size_t nbase,
		      const void *src, size_t n)
{
	size_t z;
	int r;

	if (nbase > LIMIT_DELTA_FILE_BYTES || raw_len > LIMIT_DELTA_FILE_BYTES)
		return err_set(-EFBIG, "delta: base or target over %u bytes", LIMIT_DELTA_FILE_BYTES);
	r = codec_frame_shape(src, n, raw_len);
	if (r < 0)
		return r;
	/* One-shot into the flat raw_len buffer: the window is dst itself plus
	 * the prefix, so the frame's claimed window allocates nothing. */
	z = ZSTD_DCtx_reset(c->dctx, ZSTD_reset_session_and_parameters);
	if (!ZSTD_isError(z))
		z = ZSTD_DCtx_setParameter(c->dctx, ZSTD_d_windowLogMax, ZSTD_WINDOWLOG_MAX);
	if (!ZSTD_isError(z) && nbase)
		z = ZSTD_DCtx_refPrefix(c->dctx, base, nbase);
	if (!ZSTD_isError(z))
		z = ZSTD_decompressDCtx(c->dctx, dst, raw_len, src, n);
	/* Leave the context as codec_decompress() expects it. */
	(void)ZSTD_DCtx_reset(c->dctx, ZSTD_reset_session_and_parameters);
	if (ZSTD_isError(z))
		return codec_error(z, true);
	if (z != raw_len)
		return err_set(-EBADMSG, "delta: produced %zu bytes, expected %zu", z, raw_len);
	return 0;
}
