/*
 * sat_recv_bench.c — how fast the satellite receiver takes packets in:
 * parse, spool to disk, decode each block, hash, check and place.
 *
 *   sat_recv_bench DIR MEGABYTES LOSS_PERCENT [SEED]
 *
 * Builds one content-addressed pack of MEGABYTES random bytes, codes it as
 * `ferry sat send` would (T = 1436, blocks of up to 8192 symbols), drops
 * LOSS_PERCENT of the packets at random, sends repair symbols until every
 * block has K + 2, and keeps every packet in memory.  Then it times
 * feeding them to a fresh receiver (spool and drop under DIR) and prints
 *
 *   bytes B packets P seconds S placed N
 *
 * N must be 1 (the pack placed, hash checked); the tool fails otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/codec_text.h"
#include "core/crypto.h"
#include "core/fsx.h"
#include "core/mem.h"
#include "satellite/carousel_recv.h"
#include "satellite/flute.h"

struct pkts {
	uint8_t *p;
	size_t *len;
	size_t n, cap, bytes;
};

static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static void push(struct pkts *k, const struct flute_packet *p)
{
	size_t n;

	if (k->n == k->cap) {
		k->cap = k->cap ? 2 * k->cap : 1024;
		k->p = realloc(k->p, k->cap * FLUTE_PACKET_MAX);
		k->len = realloc(k->len, k->cap * sizeof(*k->len));
		if (!k->p || !k->len)
			exit(1);
	}
	if (flute_packet_encode(k->p + k->n * FLUTE_PACKET_MAX, FLUTE_PACKET_MAX, &n, p) < 0)
		exit(1);
	k->len[k->n++] = n;
	k->bytes += n;
}

/* Packets of one object: source symbols then repair, each lost with
 * probability loss/100, until every block has K + 2 delivered. */
static void code_object(struct pkts *k, const uint8_t *data, size_t len, uint32_t toi,
			unsigned loss, uint32_t fdt)
{
	struct flute_packet p = { .toi = toi, .fdt_instance = fdt };
	static uint8_t sym[LIMIT_RQ_SYMBOL_BYTES];
	struct rq_encoder *enc;
	struct rq_block b;

	if (rq_oti_for(&p.oti, len, toi ? RQ_SYMBOL_SIZE_DEFAULT : RQ_SYMBOL_SIZE_DEFAULT - 4,
		       LIMIT_RQ_SOURCE_SYMBOLS) < 0)
		exit(1);
	for (uint32_t s = 0; s < p.oti.source_blocks; s++) {
		uint32_t got = 0;

		if (rq_oti_block(&b, &p.oti, s) < 0 ||
		    rq_encoder_new(&enc, data + b.offset, b.length, b.source_symbols,
				   p.oti.symbol_size) < 0)
			exit(1);
		for (uint32_t esi = 0; got < b.source_symbols + 2; esi++) {
			if (rng() % 100 < loss)
				continue;
			if (rq_encoder_symbol(sym, enc, esi) < 0)
				exit(1);
			p.sbn = (uint8_t)s;
			p.esi = esi;
			p.symbol = sym;
			push(k, &p);
			got++;
		}
		rq_encoder_free(enc);
	}
}

int main(int argc, char **argv)
{
	struct pkts k = { 0 };
	struct flute_fdt fdt;
	struct sat_recv *rx;
	struct buf xml;
	struct sha256 h;
	struct timespec t0, t1;
	char hex[65], loc[100];
	uint8_t *data;
	size_t len, listed, placed;

	if (argc < 4)
		return fprintf(stderr, "usage: sat_recv_bench DIR MEGABYTES LOSS_PERCENT [SEED]\n"), 2;
	len = (size_t)atof(argv[2]) * 1000000;
	rng_state = argc > 4 ? strtoull(argv[4], NULL, 10) * 2654435761ull + 1 : 88172645463325252ull;
	data = malloc(len);
	if (!data || !len)
		return 1;
	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)rng();
	sha256_buf(&h, data, len);
	hex_encode(hex, h.b, 32);
	snprintf(loc, sizeof(loc), "packs/%.2s/%s.pack", hex, hex);
	flute_fdt_init(&fdt);
	buf_init(&xml, FLUTE_FDT_MAX_BYTES);
	if (flute_fdt_add(&fdt, 1, loc, len, h.b) < 0 || flute_fdt_write(&xml, &fdt) < 0)
		return 1;
	code_object(&k, xml.data, xml.len, 0, 0, 1);
	code_object(&k, data, len, 1, (unsigned)atoi(argv[3]), 1);
	AUTO_FREE char *spool = fs_join(argv[1], "spool"), *drop = fs_join(argv[1], "drop");
	struct sat_recv_opts o = { .spool_dir = spool, .drop_dir = drop };

	if (sat_recv_new(&rx, &o) < 0)
		return fprintf(stderr, "sat_recv_bench: %s\n", err_detail()), 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < k.n; i++)
		if (sat_recv_packet(rx, k.p + i * FLUTE_PACKET_MAX, k.len[i]) < 0)
			return fprintf(stderr, "sat_recv_bench: %s\n", err_detail()), 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	sat_recv_files(rx, &listed, &placed);
	printf("bytes %zu packets %zu seconds %.3f placed %zu\n", len, k.n,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, placed);
	sat_recv_free(rx);
	flute_fdt_release(&fdt);
	buf_release(&xml);
	free(k.p);
	free(k.len);
	free(data);
	return placed == 1 ? 0 : 1;
}
