/*
 * rq_oti.c — how an object is cut into RaptorQ source blocks, and the two
 * small wire encodings that carry the code's parameters.
 *
 * A sender picks the parameters once per object (rq_oti_for()); they travel
 * in every packet as the 12-byte FEC Object Transmission Information of
 * RFC 6330 sections 3.3.2-3.3.3, and a receiver takes them from there
 * (rq_oti_decode()), never deriving them itself.  Both ends then cut the
 * object with the RFC's Partition[] function (section 4.4.1.2): Kt =
 * ceil(F/T) symbols spread over Z blocks, the first ZL of KL symbols, the
 * other ZS of KS.  Each packet names its block and symbol with the 4-byte
 * FEC Payload ID (section 3.2).
 *
 * Everything read from the wire is checked against the profile of DESIGN
 * section 7 (one sub-block, at most 255 blocks of at most 8192 symbols,
 * objects up to 1 TiB) before anyone sizes a buffer from it.
 */
#include "core/bytes.h"
#include "core/limits.h"
#include "satellite/rq_int.h"
#include "satellite/satellite.h"

/* Partition[I, J] of RFC 6330 section 4.4.1.2. */
struct partition {
	uint64_t il, is, jl, js;
};

static void partition(struct partition *out, uint64_t i, uint64_t j)
{
	out->il = (i + j - 1) / j;
	out->is = i / j;
	out->jl = i - out->is * j;
	out->js = j - out->jl;
}

static uint64_t total_symbols(const struct rq_oti *oti)
{
	return (oti->transfer_length + oti->symbol_size - 1) / oti->symbol_size;
}

/* The largest K' of Table 2 not above max, or max itself below K'=10. */
static uint32_t largest_kp(uint32_t max)
{
	uint32_t kp = max;

	for (size_t i = 0; i < RQ_SYS_ROWS && rq_sys_table[i].kp <= max; i++)
		kp = rq_sys_table[i].kp;
	return kp;
}

int rq_oti_for(struct rq_oti *out, uint64_t length, size_t symbol_size,
	       uint32_t max_source_symbols)
{
	uint64_t kt, z;

	if (length == 0 || length > LIMIT_FILE_BYTES)
		return err_set(-EINVAL, "raptorq: object of %llu bytes", (unsigned long long)length);
	if (symbol_size < RQ_ALIGNMENT || symbol_size > LIMIT_RQ_SYMBOL_BYTES ||
	    symbol_size % RQ_ALIGNMENT)
		return err_set(-EINVAL, "raptorq: symbol size %zu is not a multiple of %u up to %u",
			       symbol_size, RQ_ALIGNMENT, LIMIT_RQ_SYMBOL_BYTES);
	if (max_source_symbols == 0 || max_source_symbols > LIMIT_RQ_SOURCE_SYMBOLS)
		return err_set(-EINVAL, "raptorq: %u source symbols per block (1..%u)",
			       max_source_symbols, LIMIT_RQ_SOURCE_SYMBOLS);
	kt = (length + symbol_size - 1) / symbol_size;
	z = (kt + largest_kp(max_source_symbols) - 1) / largest_kp(max_source_symbols);
	if (z > LIMIT_RQ_SOURCE_BLOCKS)
		return err_set(-EFBIG, "raptorq: %llu bytes need %llu source blocks (at most %u)",
			       (unsigned long long)length, (unsigned long long)z,
			       LIMIT_RQ_SOURCE_BLOCKS);
	out->transfer_length = length;
	out->symbol_size = (uint16_t)symbol_size;
	out->source_blocks = (uint8_t)z;
	out->sub_blocks = 1;
	out->alignment = RQ_ALIGNMENT;
	return 0;
}

int rq_oti_check(const struct rq_oti *oti)
{
	uint64_t kt;

	if (oti->transfer_length == 0 || oti->transfer_length > LIMIT_FILE_BYTES)
		return err_set(-EBADMSG, "raptorq OTI: transfer length %llu",
			       (unsigned long long)oti->transfer_length);
	if (oti->alignment == 0 || oti->alignment > 8 ||
	    (oti->alignment & (oti->alignment - 1)))
		return err_set(-EBADMSG, "raptorq OTI: alignment %u", oti->alignment);
	if (oti->symbol_size == 0 || oti->symbol_size > LIMIT_RQ_SYMBOL_BYTES ||
	    oti->symbol_size % oti->alignment)
		return err_set(-EBADMSG, "raptorq OTI: symbol size %u with alignment %u",
			       oti->symbol_size, oti->alignment);
	if (oti->sub_blocks != 1)
		return err_set(-EBADMSG, "raptorq OTI: %u sub-blocks (only 1 supported)",
			       oti->sub_blocks);
	kt = total_symbols(oti);
	if (oti->source_blocks == 0 || oti->source_blocks > kt)
		return err_set(-EBADMSG, "raptorq OTI: %u source blocks for %llu symbols",
			       oti->source_blocks, (unsigned long long)kt);
	if ((kt + oti->source_blocks - 1) / oti->source_blocks > LIMIT_RQ_SOURCE_SYMBOLS)
		return err_set(-EBADMSG, "raptorq OTI: blocks of over %u symbols",
			       LIMIT_RQ_SOURCE_SYMBOLS);
	return 0;
}

void rq_oti_encode(uint8_t out[RQ_OTI_LEN], const struct rq_oti *oti)
{
	uint64_t f = oti->transfer_length;

	for (int i = 0; i < 5; i++)
		out[i] = (uint8_t)(f >> (32 - 8 * i));
	out[5] = 0;
	put_be16(out + 6, oti->symbol_size);
	out[8] = oti->source_blocks;
	put_be16(out + 9, oti->sub_blocks);
	out[11] = oti->alignment;
}

int rq_oti_decode(struct rq_oti *out, const uint8_t in[RQ_OTI_LEN])
{
	struct rq_oti o;
	uint64_t f = 0;

	for (int i = 0; i < 5; i++)
		f = (f << 8) | in[i];
	if (in[5] != 0)
		return err_set(-EBADMSG, "raptorq OTI: reserved byte is %u", in[5]);
	o.transfer_length = f;
	o.symbol_size = get_be16(in + 6);
	o.source_blocks = in[8];
	o.sub_blocks = get_be16(in + 9);
	o.alignment = in[11];
	int r = rq_oti_check(&o);

	if (r < 0)
		return r;
	*out = o;
	return 0;
}

int rq_oti_block(struct rq_block *out, const struct rq_oti *oti, uint32_t sbn)
{
	struct partition pt;
	uint64_t first, end;
	int r = rq_oti_check(oti);

	if (r < 0)
		return r;
	if (sbn >= oti->source_blocks)
		return err_set(-EBADMSG, "raptorq: source block %u of %u", sbn, oti->source_blocks);
	partition(&pt, total_symbols(oti), oti->source_blocks);
	if (sbn < pt.jl)
		first = sbn * pt.il;
	else
		first = pt.jl * pt.il + (sbn - pt.jl) * pt.is;
	out->source_symbols = (uint32_t)(sbn < pt.jl ? pt.il : pt.is);
	out->offset = first * oti->symbol_size;
	end = out->offset + (uint64_t)out->source_symbols * oti->symbol_size;
	if (end > oti->transfer_length)
		end = oti->transfer_length;
	out->length = (size_t)(end - out->offset);
	return 0;
}

void rq_payload_id_encode(uint8_t out[RQ_PAYLOAD_ID_LEN], uint8_t sbn, uint32_t esi)
{
	put_be32(out, ((uint32_t)sbn << 24) | (esi & RQ_ESI_MAX));
}

void rq_payload_id_decode(uint8_t *sbn, uint32_t *esi, const uint8_t in[RQ_PAYLOAD_ID_LEN])
{
	uint32_t v = get_be32(in);

	*sbn = (uint8_t)(v >> 24);
	*esi = v & RQ_ESI_MAX;
}
