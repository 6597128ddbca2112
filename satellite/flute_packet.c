/*
 * flute_packet.c — encodes and strictly parses one FLUTE/ALC/LCT packet
 * with a RaptorQ symbol.  The layout is drawn in flute.h.
 *
 * The parser reads every field through a bounded reader and checks each
 * length before it is used: the LCT header length against the datagram,
 * every header extension against the LCT header, the symbol against T.
 * It never allocates.
 */
#include <string.h>

#include "core/bytes.h"
#include "satellite/flute.h"

#define LCT_FTI_HEL 4u   /* EXT_FTI: 16 bytes = 4 words */
#define LCT_FIXED_LEN 8u /* first word + a 32-bit CCI */

size_t flute_packet_size(const struct flute_packet *p)
{
	size_t hdr = p->toi == FLUTE_FDT_TOI ? FLUTE_FDT_HEADER_LEN : FLUTE_HEADER_LEN;

	return hdr + p->oti.symbol_size;
}

int flute_packet_encode(uint8_t *out, size_t cap, size_t *out_len, const struct flute_packet *p)
{
	bool fdt = p->toi == FLUTE_FDT_TOI;
	size_t hdr = fdt ? FLUTE_FDT_HEADER_LEN : FLUTE_HEADER_LEN;
	size_t n = flute_packet_size(p);
	uint32_t w0;
	uint8_t *q = out;

	if (rq_oti_check(&p->oti) < 0)
		return err_set(-EINVAL, "flute packet: OTI outside the profile");
	if (p->sbn >= p->oti.source_blocks)
		return err_set(-EINVAL, "flute packet: SBN %u not below Z %u", p->sbn,
			       p->oti.source_blocks);
	if (p->esi > RQ_ESI_MAX || (fdt && p->fdt_instance > FLUTE_FDT_INSTANCE_MAX))
		return err_set(-EINVAL, "flute packet: ESI or FDT instance too large");
	if (cap < n)
		return err_set(-EINVAL, "flute packet: %zu bytes do not fit %zu", n, cap);

	/* V | C=0 | PSI=0 | S=1 | O=1 | H=0 | Res=0 | A | B | HDR_LEN | CP */
	w0 = FLUTE_LCT_VERSION << 28 | 1u << 23 | 1u << 21 | (p->close_session ? 1u << 17 : 0) |
	     (p->close_object ? 1u << 16 : 0) | (uint32_t)((hdr - RQ_PAYLOAD_ID_LEN) / 4) << 8 |
	     FLUTE_CODEPOINT;
	put_be32(q, w0);
	put_be32(q + 4, 0); /* CCI */
	put_be32(q + 8, p->tsi);
	put_be32(q + 12, p->toi);
	q += 16;
	q[0] = FLUTE_HET_FTI;
	q[1] = LCT_FTI_HEL;
	rq_oti_encode(q + 2, &p->oti);
	q[14] = 0;
	q[15] = 0;
	q += 16;
	if (fdt) {
		put_be32(q, FLUTE_HET_FDT << 24 | FLUTE_FDT_VERSION << 20 | p->fdt_instance);
		q += 4;
	}
	rq_payload_id_encode(q, p->sbn, p->esi);
	q += RQ_PAYLOAD_ID_LEN;
	memcpy(q, p->symbol, p->oti.symbol_size);
	*out_len = n;
	return 0;
}

/* Reads a big-endian field of n bytes (0..8) as an integer. */
static uint64_t take_be(struct rd *r, size_t n)
{
	const uint8_t *q = rd_take(r, n);
	uint64_t v = 0;

	for (size_t i = 0; q && i < n; i++)
		v = v << 8 | q[i];
	return v;
}

/* EXT_FTI: HEL must be 4 and the two padding bytes zero. */
static int parse_fti(struct flute_packet *out, const uint8_t *ext, size_t len)
{
	int rc;

	if (len != LCT_FTI_HEL * 4)
		return err_set(-EBADMSG, "flute packet: EXT_FTI of %zu bytes, want 16", len);
	if (ext[14] != 0 || ext[15] != 0)
		return err_set(-EBADMSG, "flute packet: EXT_FTI padding not zero");
	rc = rq_oti_decode(&out->oti, ext + 2);
	if (rc < 0)
		return err_keep(rc, "flute packet: EXT_FTI OTI outside the profile");
	return 0;
}

/* Walks the header extensions in [ext, ext+len): EXT_FTI exactly once,
 * EXT_FDT at most once, others skipped. */
static int parse_extensions(struct flute_packet *out, bool *has_fdt, const uint8_t *ext, size_t len)
{
	bool has_fti = false;
	size_t off = 0;
	int rc;

	*has_fdt = false;
	while (off < len) {
		uint8_t het = ext[off];
		size_t elen;

		if (het >= 128) {
			elen = 4;
		} else {
			if (len - off < 2)
				return err_set(-EBADMSG, "flute packet: header extension cut short");
			elen = (size_t)ext[off + 1] * 4;
			if (elen == 0)
				return err_set(-EBADMSG, "flute packet: header extension %u of length 0",
					       het);
		}
		if (elen > len - off)
			return err_set(-EBADMSG, "flute packet: header extension %u overruns the header",
				       het);
		if (het == FLUTE_HET_FTI) {
			if (has_fti)
				return err_set(-EBADMSG, "flute packet: EXT_FTI twice");
			rc = parse_fti(out, ext + off, elen);
			if (rc < 0)
				return rc;
			has_fti = true;
		} else if (het == FLUTE_HET_FDT) {
			uint32_t w = get_be32(ext + off);

			if (*has_fdt)
				return err_set(-EBADMSG, "flute packet: EXT_FDT twice");
			if ((w >> 20 & 0xf) != FLUTE_FDT_VERSION)
				return err_set(-EBADMSG, "flute packet: EXT_FDT version %u, want 2",
					       w >> 20 & 0xf);
			out->fdt_instance = w & FLUTE_FDT_INSTANCE_MAX;
			*has_fdt = true;
		}
		off += elen;
	}
	if (!has_fti)
		return err_set(-EBADMSG, "flute packet: no EXT_FTI");
	return 0;
}

int flute_packet_parse(struct flute_packet *out, const void *buf, size_t len, uint32_t tsi)
{
	const uint8_t *p = buf;
	struct rd r;
	uint32_t w0, v, c, s, o, h, cp;
	size_t hdr_len, tsi_len, toi_len;
	uint64_t got_tsi, got_toi;
	bool has_fdt;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len < LCT_FIXED_LEN)
		return err_set(-EBADMSG, "flute packet: %zu bytes, too short for LCT", len);
	w0 = get_be32(p);
	v = w0 >> 28;
	c = w0 >> 26 & 3;
	s = w0 >> 23 & 1;
	o = w0 >> 21 & 3;
	h = w0 >> 20 & 1;
	hdr_len = (size_t)(w0 >> 8 & 0xff) * 4;
	cp = w0 & 0xff;
	if (v != FLUTE_LCT_VERSION)
		return err_set(-EBADMSG, "flute packet: LCT version %u, want 1", v);
	tsi_len = 4 * s + 2 * h;
	toi_len = 4 * o + 2 * h;
	if (tsi_len == 0 || tsi_len > 4 || toi_len == 0 || toi_len > 4)
		return err_set(-EBADMSG, "flute packet: TSI of %zu or TOI of %zu bytes, want 2..4",
			       tsi_len, toi_len);
	if (hdr_len > len)
		return err_set(-EBADMSG, "flute packet: LCT header of %zu bytes in %zu", hdr_len, len);
	rd_init(&r, p, hdr_len);
	(void)rd_take(&r, 4);
	(void)rd_take(&r, 4 * (c + 1)); /* CCI */
	got_tsi = take_be(&r, tsi_len);
	got_toi = take_be(&r, toi_len);
	if (!r.ok)
		return err_set(-EBADMSG, "flute packet: LCT header length %zu too small", hdr_len);
	if (got_tsi != tsi)
		return err_set(-ESRCH, "flute packet: foreign TSI %llu", (unsigned long long)got_tsi);
	if (cp != FLUTE_CODEPOINT)
		return err_set(-EBADMSG, "flute packet: codepoint %u, want 6 (RaptorQ)", cp);
	out->tsi = (uint32_t)got_tsi;
	out->toi = (uint32_t)got_toi;
	out->close_session = w0 >> 17 & 1;
	out->close_object = w0 >> 16 & 1;
	rc = parse_extensions(out, &has_fdt, p + r.off, hdr_len - r.off);
	if (rc < 0)
		return rc;
	if (has_fdt != (out->toi == FLUTE_FDT_TOI))
		return err_set(-EBADMSG, has_fdt ? "flute packet: EXT_FDT in TOI %u"
						 : "flute packet: TOI %u without EXT_FDT",
			       out->toi);
	if (len - hdr_len < RQ_PAYLOAD_ID_LEN)
		return err_set(-EBADMSG, "flute packet: no FEC payload ID");
	rq_payload_id_decode(&out->sbn, &out->esi, p + hdr_len);
	if (out->sbn >= out->oti.source_blocks)
		return err_set(-EBADMSG, "flute packet: SBN %u not below Z %u", out->sbn,
			       out->oti.source_blocks);
	if (len - hdr_len - RQ_PAYLOAD_ID_LEN != out->oti.symbol_size)
		return err_set(-EBADMSG, "flute packet: %zu payload bytes, want one symbol of %u",
			       len - hdr_len - RQ_PAYLOAD_ID_LEN, out->oti.symbol_size);
	out->symbol = p + hdr_len + RQ_PAYLOAD_ID_LEN;
	return 0;
}
