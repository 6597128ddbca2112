/*
 * test_flute.c — unit tests of the FLUTE/ALC/LCT packet (satellite/flute.h).
 *
 * A pinned encoding of one packet, field by field against the RFC layout;
 * round trips of content and FDT packets; and the parser's refusals:
 * wrong version, codepoint, foreign TSI, absurd OTI, missing or doubled
 * extensions, truncation at every length, trailing junk.  Every mutation
 * of a valid packet either parses to a packet that re-encodes identically
 * or is refused.
 */
#include <string.h>

#include "core/bytes.h"
#include "core/mem.h"
#include "satellite/flute.h"
#include "tests/harness.h"

static uint8_t sym[LIMIT_RQ_SYMBOL_BYTES];

static void make(struct flute_packet *p, uint32_t toi, uint64_t f, uint16_t t)
{
	memset(p, 0, sizeof(*p));
	p->tsi = 0x01020304;
	p->toi = toi;
	CHECK_OK(rq_oti_for(&p->oti, f, t, 8192));
	p->sbn = 0;
	p->esi = 0x00abcdef;
	p->fdt_instance = 0x12345;
	for (size_t i = 0; i < t; i++)
		sym[i] = (uint8_t)(i * 7 + 1);
	p->symbol = sym;
}

static void test_layout(void)
{
	struct flute_packet p;
	uint8_t buf[FLUTE_PACKET_MAX];
	size_t n;

	make(&p, 0x0a0b0c0d, 100000, 1436);
	p.close_object = true;
	CHECK_OK(flute_packet_encode(buf, sizeof(buf), &n, &p));
	CHECK_EQ_U(n, 36 + 1436);
	CHECK_EQ_U(buf[0] >> 4, 1);          /* V */
	CHECK_EQ_U(buf[0] & 0xf, 0);         /* C, PSI */
	CHECK_EQ_U(buf[1], 0x80 | 0x20 | 1); /* S=1, O=1, H=0, Res, A=0, B=1 */
	CHECK_EQ_U(buf[2], 8);               /* HDR_LEN: 32 bytes */
	CHECK_EQ_U(buf[3], 6);               /* codepoint */
	CHECK_EQ_U(get_be32(buf + 4), 0);
	CHECK_EQ_U(get_be32(buf + 8), 0x01020304);
	CHECK_EQ_U(get_be32(buf + 12), 0x0a0b0c0d);
	CHECK_EQ_U(buf[16], 64);
	CHECK_EQ_U(buf[17], 4);
	/* F = 100000 in 40 bits, reserved, T = 1436, Z = 1, N = 1, Al = 4 */
	static const uint8_t oti[] = { 0, 0, 0x01, 0x86, 0xa0, 0, 0x05, 0x9c, 1, 0, 1, 4, 0, 0 };
	CHECK(memcmp(buf + 18, oti, sizeof(oti)) == 0);
	CHECK_EQ_U(get_be32(buf + 32), 0x00abcdef); /* SBN 0, ESI */
	CHECK(memcmp(buf + 36, sym, 1436) == 0);

	make(&p, 0, 5000, 1432);
	CHECK_OK(flute_packet_encode(buf, sizeof(buf), &n, &p));
	CHECK_EQ_U(n, 40 + 1432);
	CHECK_EQ_U(buf[2], 9);
	CHECK_EQ_U(get_be32(buf + 32), 192u << 24 | 2u << 20 | 0x12345);
}

static void test_round_trip(void)
{
	static const uint32_t tois[] = { 0, 1, 77, 0xffffffffu };
	struct flute_packet p, q;
	uint8_t buf[FLUTE_PACKET_MAX];
	size_t n;

	for (size_t i = 0; i < ARRAY_SIZE(tois); i++) {
		make(&p, tois[i], 30u << 20, 1436);
		CHECK(p.oti.source_blocks > 1);
		p.sbn = (uint8_t)(p.oti.source_blocks - 1);
		p.close_session = i & 1;
		CHECK_OK(flute_packet_encode(buf, sizeof(buf), &n, &p));
		CHECK_OK(flute_packet_parse(&q, buf, n, p.tsi));
		CHECK_EQ_U(q.tsi, p.tsi);
		CHECK_EQ_U(q.toi, p.toi);
		CHECK_EQ_U(q.sbn, p.sbn);
		CHECK_EQ_U(q.esi, p.esi);
		CHECK_EQ_U(q.close_session, p.close_session);
		CHECK_EQ_U(q.close_object, false);
		CHECK_EQ_U(q.oti.transfer_length, p.oti.transfer_length);
		CHECK_EQ_U(q.oti.symbol_size, 1436);
		CHECK_EQ_U(q.oti.source_blocks, p.oti.source_blocks);
		CHECK_EQ_U(q.fdt_instance, tois[i] == 0 ? 0x12345 : 0);
		CHECK(q.symbol == buf + n - 1436);
	}
}

static void test_encode_refusals(void)
{
	struct flute_packet p;
	uint8_t buf[FLUTE_PACKET_MAX];
	size_t n;

	make(&p, 5, 1000, 64);
	CHECK_EQ_I(flute_packet_encode(buf, 36 + 63, &n, &p), -EINVAL);
	p.sbn = 1;
	CHECK_EQ_I(flute_packet_encode(buf, sizeof(buf), &n, &p), -EINVAL);
	p.sbn = 0;
	p.esi = RQ_ESI_MAX + 1;
	CHECK_EQ_I(flute_packet_encode(buf, sizeof(buf), &n, &p), -EINVAL);
	p.esi = 0;
	p.oti.sub_blocks = 2;
	CHECK_EQ_I(flute_packet_encode(buf, sizeof(buf), &n, &p), -EINVAL);
}

/* Encodes a valid content packet of T = 64 into buf. */
static size_t valid(uint8_t *buf, uint32_t toi)
{
	struct flute_packet p;
	size_t n;

	make(&p, toi, 1000, 64);
	CHECK_OK(flute_packet_encode(buf, FLUTE_PACKET_MAX, &n, &p));
	return n;
}

static void expect(const uint8_t *buf, size_t n, int code, const char *detail)
{
	struct flute_packet q;
	int rc = flute_packet_parse(&q, buf, n, 0x01020304);

	CHECK_MSG(rc == code, "got %d (%s), want %d", rc, err_detail(), code);
	CHECK_MSG(strstr(err_detail(), detail), "detail \"%s\" lacks \"%s\"", err_detail(), detail);
}

static void test_parse_refusals(void)
{
	uint8_t buf[FLUTE_PACKET_MAX], b2[FLUTE_PACKET_MAX];
	struct flute_packet q;
	size_t n = valid(buf, 9);

	memcpy(b2, buf, n);
	b2[0] = 0x20;
	expect(b2, n, -EBADMSG, "LCT version 2");
	memcpy(b2, buf, n);
	b2[3] = 5;
	expect(b2, n, -EBADMSG, "codepoint 5");
	memcpy(b2, buf, n);
	b2[11] ^= 1;
	expect(b2, n, -ESRCH, "foreign TSI");
	memcpy(b2, buf, n);
	b2[16] = 65; /* no EXT_FTI any more: an unknown extension of 4 words */
	expect(b2, n, -EBADMSG, "no EXT_FTI");
	memcpy(b2, buf, n);
	b2[17] = 3;
	expect(b2, n, -EBADMSG, "EXT_FTI of 12 bytes");
	memcpy(b2, buf, n);
	b2[17] = 0;
	expect(b2, n, -EBADMSG, "length 0");
	memcpy(b2, buf, n);
	b2[17] = 5;
	expect(b2, n, -EBADMSG, "overruns");
	memcpy(b2, buf, n);
	b2[31] = 1;
	expect(b2, n, -EBADMSG, "padding");
	memcpy(b2, buf, n);
	b2[24] = 0x05; /* T = 1346, not a multiple of Al */
	b2[25] = 0x42;
	expect(b2, n, -EBADMSG, "");
	memcpy(b2, buf, n);
	b2[26] = 2; /* Z = 2 with F = 1000 and T = 64: fine, but N = 0 */
	b2[27] = 0;
	b2[28] = 0;
	expect(b2, n, -EBADMSG, "");
	memcpy(b2, buf, n);
	b2[32] = 1; /* SBN 1 with Z = 1 */
	expect(b2, n, -EBADMSG, "SBN 1 not below Z 1");
	memcpy(b2, buf, n);
	b2[2] = 200;
	expect(b2, n, -EBADMSG, "LCT header of 800 bytes");
	memcpy(b2, buf, n);
	b2[2] = 3;
	expect(b2, n, -EBADMSG, "too small");
	memcpy(b2, buf, n);
	b2[1] |= 0x40; /* O = 3: 96-bit TOI */
	expect(b2, n, -EBADMSG, "TOI of 12 bytes");
	/* EXT_FDT outside TOI 0, and TOI 0 without EXT_FDT */
	memcpy(b2, buf, n);
	b2[15] = 0;
	expect(b2, n, -EBADMSG, "TOI 0 without EXT_FDT");
	n = valid(buf, 0);
	memcpy(b2, buf, n);
	b2[15] = 1;
	expect(b2, n, -EBADMSG, "EXT_FDT in TOI 1");
	memcpy(b2, buf, n);
	b2[33] = 0x30;
	expect(b2, n, -EBADMSG, "EXT_FDT version 3");
	/* truncation at every length, and trailing junk */
	for (size_t cut = 0; cut < n; cut++) {
		CHECK_MSG(flute_packet_parse(&q, buf, cut, 0x01020304) == -EBADMSG, "cut at %zu",
			  cut);
	}
	memcpy(b2, buf, n);
	b2[n] = 0;
	expect(b2, n + 1, -EBADMSG, "65 payload bytes");
	CHECK_OK(flute_packet_parse(&q, buf, n, 0x01020304));
}

/* Every single-byte change of a valid packet parses to something that
 * encodes back to the same bytes, or is refused. */
static void test_mutations(void)
{
	uint8_t buf[FLUTE_PACKET_MAX], b2[FLUTE_PACKET_MAX], b3[FLUTE_PACKET_MAX];
	static const uint8_t vals[] = { 0, 1, 2, 0x40, 0x7f, 0x80, 0xc0, 0xff };

	for (uint32_t toi = 0; toi < 2; toi++) {
		size_t n = valid(buf, toi);

		for (size_t i = 0; i < n - 64; i++) {
			for (size_t v = 0; v < ARRAY_SIZE(vals); v++) {
				struct flute_packet q;
				size_t m;

				memcpy(b2, buf, n);
				b2[i] = vals[v];
				if (flute_packet_parse(&q, b2, n, 0x01020304) < 0)
					continue;
				CHECK_OK(flute_packet_encode(b3, sizeof(b3), &m, &q));
				/* PSI, Res bits and CCI are not kept */
				b2[0] &= 0xf0;
				b2[1] &= ~0x0c;
				memset(b2 + 4, 0, 4);
				CHECK_MSG(m == n && memcmp(b3, b2, n) == 0, "byte %zu = %u", i,
					  vals[v]);
			}
		}
	}
}

int main(void)
{
	return t_main((struct t_case[]){
		{ "packet layout field by field", test_layout },
		{ "round trips, content and FDT packets", test_round_trip },
		{ "encoder refuses bad packets", test_encode_refusals },
		{ "parser refuses hostile packets with a clear detail", test_parse_refusals },
		{ "single-byte mutations parse back or are refused", test_mutations },
		{ 0 },
	});
}
