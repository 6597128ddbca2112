/*
 * satellite.h — ferry's one-way satellite broadcast: the public API of the
 * satellite/ module.
 *
 * The module has two parts.  The FEC part (below) is RaptorQ exactly as
 * RFC 6330 specifies it, in the profile of DESIGN section 7: no sub-blocks
 * (N = 1), alignment 4, symbol size T up to 65532 bytes (1436 by default),
 * 1 to 8192 source symbols per block and at most 255 blocks per object.
 * The carousel (sender schedule, receiver spool) builds on it.
 *
 * Errors follow core/err.h: -EINVAL for a caller's mistake, -EBADMSG for
 * bytes from the wire that break the format or the profile, -EFBIG when
 * an object is too large for the profile, -ENOMEM, and -EAGAIN from the
 * decoder when it needs more symbols.
 */
#ifndef FERRY_SATELLITE_SATELLITE_H
#define FERRY_SATELLITE_SATELLITE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* ======================================================================
 * FEC: RaptorQ (RFC 6330)
 * ====================================================================== */

#define RQ_OTI_LEN 12             /* FEC Object Transmission Information */
#define RQ_PAYLOAD_ID_LEN 4       /* FEC Payload ID: SBN (8 bits), ESI (24) */
#define RQ_ESI_MAX 0xffffffu      /* largest encoding symbol ID */
#define RQ_ALIGNMENT 4u           /* Al of our profile */
#define RQ_SYMBOL_SIZE_DEFAULT 1436u /* fits a 1500-byte MTU with IPv4+UDP+36 */

/* The code's parameters for one object (RFC 6330 section 3.3): F, T, Z, N
 * and Al.  Travels in every packet (rq_oti_encode()). */
struct rq_oti {
	uint64_t transfer_length; /* F: object bytes, 1 .. 2^40 */
	uint16_t symbol_size;     /* T: a multiple of alignment */
	uint8_t source_blocks;    /* Z: 1 .. 255 */
	uint16_t sub_blocks;      /* N: always 1 in our profile */
	uint8_t alignment;        /* Al: 4 from rq_oti_for() */
};

/* Where source block sbn lies in the object, and its K. */
struct rq_block {
	uint64_t offset;         /* first byte of the block in the object */
	size_t length;           /* bytes of the object in the block (the last
				  * block may be short; the encoder pads it) */
	uint32_t source_symbols; /* K: ceil(length / T) except for padding */
};

/* Chooses the parameters for sending length bytes in symbols of
 * symbol_size bytes (a multiple of 4, at most 65532), with blocks of at
 * most max_source_symbols (1..8192; 8192 is the profile's maximum, and Z
 * follows RFC 6330 section 4.3 with KL the largest K' of Table 2 not above
 * it).  -EINVAL for bad arguments, -EFBIG when more than 255 blocks would
 * be needed. */
int rq_oti_for(struct rq_oti *out, uint64_t length, size_t symbol_size,
	       uint32_t max_source_symbols) FERRY_MUST_USE;

/* 0 if oti lies within the profile, else -EBADMSG with a detail: F of 0 or
 * over 1 TiB, Al not 1, 2, 4 or 8, T of 0, over 65532 or not a multiple of
 * Al, N other than 1, Z of 0 or above the number of symbols, or blocks of
 * more than 8192 symbols. */
int rq_oti_check(const struct rq_oti *oti) FERRY_MUST_USE;

/* The 12 bytes of RFC 6330 3.3.2-3.3.3, big-endian: F (40 bits), reserved
 * (8 bits, zero), T (16); Z (8), N (16), Al (8).  oti must pass
 * rq_oti_check(). */
void rq_oti_encode(uint8_t out[RQ_OTI_LEN], const struct rq_oti *oti);

/* Parses 12 bytes from the wire; -EBADMSG (out untouched) if the reserved
 * byte is not zero or the values fail rq_oti_check(). */
int rq_oti_decode(struct rq_oti *out, const uint8_t in[RQ_OTI_LEN]) FERRY_MUST_USE;

/* Offset, length and K of source block sbn, by the RFC's Partition[]
 * (section 4.4.1.2).  -EBADMSG if oti is outside the profile or sbn is not
 * below Z. */
int rq_oti_block(struct rq_block *out, const struct rq_oti *oti, uint32_t sbn) FERRY_MUST_USE;

/* FEC Payload ID (RFC 6330 3.2): SBN then ESI, big-endian.  esi is taken
 * modulo 2^24. */
void rq_payload_id_encode(uint8_t out[RQ_PAYLOAD_ID_LEN], uint8_t sbn, uint32_t esi);
void rq_payload_id_decode(uint8_t *sbn, uint32_t *esi, const uint8_t in[RQ_PAYLOAD_ID_LEN]);

/* ---- encoder for one source block ----
 *
 * rq_encoder_new() takes a block of len <= K*T bytes (copied; the caller
 * keeps its buffer), pads it with zeros to K symbols and computes the
 * intermediate symbols: the cost of roughly one decode.  K is 1..8192, T
 * (symbol_size) 1..65532.  On success *out owns about (2K + 250) * T bytes,
 * freed with rq_encoder_free().  -EINVAL for bad arguments, -ENOMEM. */
struct rq_encoder;
int rq_encoder_new(struct rq_encoder **out, const void *block, size_t len, uint32_t k,
		   size_t symbol_size) FERRY_MUST_USE;

/* Writes encoding symbol esi (T bytes) to out: ESI < K gives the source
 * symbols, ESI >= K repair symbols, each a fresh combination.  -EINVAL if
 * esi exceeds RQ_ESI_MAX.  Does not modify enc: threads may share it. */
int rq_encoder_symbol(uint8_t *out, const struct rq_encoder *enc, uint32_t esi) FERRY_MUST_USE;

uint32_t rq_encoder_source_symbols(const struct rq_encoder *enc);
size_t rq_encoder_symbol_size(const struct rq_encoder *enc);

/* Accepts NULL. */
void rq_encoder_free(struct rq_encoder *enc);

/* ---- decoder for one source block ----
 *
 * A decoder holds at most K + LIMIT_RQ_EXTRA_SYMBOLS (core/limits.h)
 * symbols, allocated by rq_decoder_new(): memory is bounded whatever
 * arrives.  A symbol whose ESI it already holds is ignored; when the store
 * is full, a new source symbol replaces a repair symbol and a new repair
 * symbol is ignored.  Decoding succeeds with overwhelming probability once
 * K + 2 distinct symbols are held (and usually with K).
 *
 * rq_decoder_new(): K is 1..8192, symbol_size 1..65532; free with
 * rq_decoder_free().  -EINVAL for bad arguments, -ENOMEM. */
struct rq_decoder;
int rq_decoder_new(struct rq_decoder **out, uint32_t k, size_t symbol_size) FERRY_MUST_USE;

/* Offers encoding symbol esi of len bytes (copied).  Returns 1 if kept, 0
 * if ignored (duplicate, or store full), -EBADMSG if esi exceeds
 * RQ_ESI_MAX or len is not the symbol size. */
int rq_decoder_add(struct rq_decoder *dec, uint32_t esi, const void *sym,
		   size_t len) FERRY_MUST_USE;

/* Symbols held. */
uint32_t rq_decoder_count(const struct rq_decoder *dec);

/* Recovers the block into out (K*T bytes; the caller trims the padding of
 * a short last block).  0 on success; -EAGAIN if the symbols held do not
 * determine the block yet (add more and call again); -ENOMEM.  The decoder
 * is unchanged and may be asked again.  As with any erasure code, symbols
 * corrupted in transit give a wrong block: verify its hash. */
int rq_decoder_decode(uint8_t *out, const struct rq_decoder *dec) FERRY_MUST_USE;

/* Accepts NULL. */
void rq_decoder_free(struct rq_decoder *dec);

#endif
