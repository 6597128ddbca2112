/*
 * fuzz_oti.c — fuzz target for the RaptorQ parameter parser and decoder.
 *
 * The first 12 bytes are a FEC Object Transmission Information.  When the
 * parser accepts it, every source block's partition is checked against
 * the object (blocks tile it exactly, none exceeds the profile).  The rest
 * of the input drives a small decoder: a byte picks K (1..40), a byte the
 * symbol size (4..64), then records of a 3-byte ESI and a symbol, whatever
 * their contents; decoding must never crash or read out of bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/limits.h"
#include "satellite/satellite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_partition(const struct rq_oti *oti)
{
	uint64_t next = 0;
	struct rq_block b;

	for (uint32_t sbn = 0; sbn < oti->source_blocks; sbn++) {
		if (rq_oti_block(&b, oti, sbn) < 0 || b.offset != next || b.source_symbols == 0 ||
		    b.source_symbols > LIMIT_RQ_SOURCE_SYMBOLS ||
		    b.length > (uint64_t)b.source_symbols * oti->symbol_size)
			abort();
		next += b.length;
	}
	if (next != oti->transfer_length || rq_oti_block(&b, oti, oti->source_blocks) != -EBADMSG)
		abort();
}

static void drive_decoder(struct rd *r)
{
	const uint8_t *kb = rd_take(r, 1), *tb = rd_take(r, 1);
	struct rq_decoder *dec;
	uint8_t *out;
	uint32_t k;
	size_t t;

	if (!kb || !tb)
		return;
	k = 1 + kb[0] % 40;
	t = 4 * (1 + tb[0] % 16);
	if (rq_decoder_new(&dec, k, t) < 0)
		abort();
	out = malloc(k * t);
	for (;;) {
		const uint8_t *e = rd_take(r, 3), *sym = rd_take(r, t);

		if (!e || !sym)
			break;
		if (rq_decoder_add(dec, (uint32_t)e[0] << 16 | e[1] << 8 | e[2], sym, t) < 0)
			abort();
	}
	if (out) {
		int rc = rq_decoder_decode(out, dec);

		if (rc != 0 && rc != -EAGAIN && rc != -ENOMEM)
			abort();
	}
	free(out);
	rq_decoder_free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rq_oti oti;
	uint8_t again[RQ_OTI_LEN];
	struct rd r;

	rd_init(&r, data, size);
	const uint8_t *head = rd_take(&r, RQ_OTI_LEN);

	if (!head)
		return 0;
	if (rq_oti_decode(&oti, head) == 0) {
		rq_oti_encode(again, &oti);
		if (memcmp(again, head, RQ_OTI_LEN) != 0)
			abort();
		check_partition(&oti);
	}
	drive_decoder(&r);
	return 0;
}
