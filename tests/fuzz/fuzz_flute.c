/*
 * fuzz_flute.c — fuzz target for the FLUTE/ALC/LCT packet parser.
 *
 * The input is one datagram, parsed for TSI 0x01020304 (the corpus's
 * session).  A packet the parser accepts must encode back to a packet that
 * parses to the same fields and the same symbol; a refusal must leave a
 * detail.  Nothing may crash or read outside the input.
 */
#include <stdlib.h>
#include <string.h>

#include "satellite/flute.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t again[FLUTE_PACKET_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct flute_packet p, q;
	size_t n;
	int rc;

	err_clear();
	rc = flute_packet_parse(&p, data, size, 0x01020304);
	if (rc < 0) {
		if ((rc != -EBADMSG && rc != -ESRCH) || !err_detail()[0])
			abort();
		return 0;
	}
	if (p.symbol < data || p.symbol + p.oti.symbol_size != data + size)
		abort();
	if (flute_packet_encode(again, sizeof(again), &n, &p) < 0)
		abort();
	if (flute_packet_parse(&q, again, n, 0x01020304) < 0)
		abort();
	if (q.tsi != p.tsi || q.toi != p.toi || q.sbn != p.sbn || q.esi != p.esi ||
	    q.fdt_instance != p.fdt_instance || q.close_object != p.close_object ||
	    q.close_session != p.close_session ||
	    memcmp(&q.oti, &p.oti, sizeof(q.oti)) != 0 ||
	    memcmp(q.symbol, p.symbol, p.oti.symbol_size) != 0)
		abort();
	return 0;
}
