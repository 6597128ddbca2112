/*
 * carousel_sim.c — the carousel without sockets: drives the real schedule
 * (satellite/carousel.h), the real symbol source and the real RaptorQ
 * decoder through a simulated lossy link, and reports how many passes a
 * receiver needs to complete the repository.
 *
 *   carousel_sim REPO MODE LOSS RATE TRIALS SEED
 *     REPO    single:BYTES (one file) or multi (a realistic repository:
 *             ferry.json, its signature, heads, packs/list, an FDT-sized
 *             file, a manifests pack, five content packs and their .idx)
 *     MODE    fresh (ferry's carousel) or repeat (the same ESIs each pass)
 *     LOSS    random:PERCENT, or fade:SECONDS:PERIOD (everything lost for
 *             SECONDS every PERIOD seconds, at a random phase per trial)
 *     RATE    link bytes per second (sets packet times for fades)
 *
 * Prints one line: "passes mean MEAN min MIN max MAX trials N overhead
 * FLUTE_PCT WIRE_PCT", where a pass is the packets of one full carousel
 * pass (meta rounds included), overhead the share of FLUTE headers (and
 * of FLUTE + IPv4 + UDP headers) in the bytes on the wire.  A receiver
 * counts as complete once every block of every object decodes and matches
 * its source bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "satellite/carousel.h"
#include "satellite/flute.h"

#define T 1436u
#define MAX_OBJ 32

struct obj {
	uint8_t *data;
	uint64_t len;
	struct rq_oti oti;
	enum sat_class cls;
};

static uint64_t rs = 88172645463325252ull;

static uint64_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

static double rnd01(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}

static size_t nobj;
static struct obj objs[MAX_OBJ];

static void add(uint64_t len, enum sat_class cls)
{
	struct obj *o = &objs[nobj++];

	o->len = len;
	o->cls = cls;
	o->data = mem_alloc(len);
	if (!o->data || rq_oti_for(&o->oti, len, T, LIMIT_RQ_SOURCE_SYMBOLS) < 0) {
		fprintf(stderr, "carousel_sim: cannot make an object of %llu bytes\n",
			(unsigned long long)len);
		exit(1);
	}
	for (uint64_t i = 0; i < len; i++)
		o->data[i] = (uint8_t)rnd();
}

static void make_repo(const char *spec)
{
	if (strncmp(spec, "single:", 7) == 0) {
		add(strtoull(spec + 7, NULL, 10), SAT_CLASS_BULK);
		return;
	}
	/* meta: FDT, ferry.json, .sig, three heads, packs/list */
	static const uint64_t meta[] = { 3000, 900, 330, 620, 610, 640, 500 };
	for (size_t i = 0; i < ARRAY_SIZE(meta); i++)
		add(meta[i], SAT_CLASS_META);
	add(300000, SAT_CLASS_BULK); /* manifests.git pack + idx */
	add(20000, SAT_CLASS_BULK);
	static const uint64_t packs[] = { 16u << 20, 16u << 20, 16u << 20, 16u << 20, 5u << 20 };
	for (size_t i = 0; i < ARRAY_SIZE(packs); i++) {
		add(packs[i] / 1000, SAT_CLASS_BULK); /* .idx */
		add(packs[i], SAT_CLASS_BULK);
	}
}

struct loss {
	double random, fade, period, phase;
};

static bool lost(const struct loss *l, double t)
{
	if (l->period > 0) {
		double x = t + l->phase;

		return x - l->period * (double)(uint64_t)(x / l->period) < l->fade;
	}
	return rnd01() < l->random;
}

struct rx_block {
	struct rq_decoder *dec;
	uint32_t k, tried_at;
	bool done;
};

/* Packets until every block decodes, or 0 after max_packets. */
static uint64_t one_trial(struct sat_source *src, bool repeat, const struct loss *l, double rate,
			  uint64_t max_packets)
{
	struct sat_sched_object so[MAX_OBJ];
	struct rx_block *rx[MAX_OBJ];
	struct sat_sched *s;
	struct sat_sched_sym y;
	uint8_t sym[T];
	AUTO_FREE uint8_t *out = mem_alloc((size_t)LIMIT_RQ_SOURCE_SYMBOLS * T);
	size_t left = 0;
	uint64_t sent = 0;
	double t = 0;

	for (size_t i = 0; i < nobj; i++) {
		so[i] = (struct sat_sched_object){ objs[i].oti, objs[i].cls, 0 };
		rx[i] = mem_calloc(objs[i].oti.source_blocks, sizeof(**rx));
		for (uint32_t b = 0; b < objs[i].oti.source_blocks; b++) {
			struct rq_block rb;

			if (rq_oti_block(&rb, &objs[i].oti, b) < 0 ||
			    rq_decoder_new(&rx[i][b].dec, rb.source_symbols, T) < 0)
				exit(1);
			rx[i][b].k = rb.source_symbols;
			left++;
		}
	}
	if (sat_sched_new(&s, so, nobj, &(struct sat_sched_opts){ .repeat = repeat }) < 0)
		exit(1);
	while (left && sent < max_packets) {
		if (sat_sched_next(s, &y) == 0)
			continue;
		sent++;
		t += (double)(FLUTE_HEADER_LEN + T + 28) / rate;
		if (lost(l, t))
			continue;
		struct rx_block *b = &rx[y.object][y.sbn];

		if (b->done)
			continue;
		if (sat_source_symbol(sym, src, y.object, y.sbn, y.esi) < 0 ||
		    rq_decoder_add(b->dec, y.esi, sym, T) < 0)
			exit(1);
		uint32_t n = rq_decoder_count(b->dec);

		if (n < b->k || n <= b->tried_at)
			continue;
		b->tried_at = n;
		if (rq_decoder_decode(out, b->dec) == 0) {
			struct rq_block rb;

			if (rq_oti_block(&rb, &objs[y.object].oti, y.sbn) < 0 ||
			    memcmp(out, objs[y.object].data + rb.offset, rb.length) != 0) {
				fprintf(stderr, "carousel_sim: a block decoded wrong\n");
				exit(1);
			}
			b->done = true;
			rq_decoder_free(b->dec);
			b->dec = NULL;
			left--;
		}
	}
	sat_sched_free(s);
	for (size_t i = 0; i < nobj; i++) {
		for (uint32_t b = 0; b < objs[i].oti.source_blocks; b++)
			rq_decoder_free(rx[i][b].dec);
		mem_free(rx[i]);
	}
	return left ? 0 : sent;
}

int main(int argc, char **argv)
{
	struct sat_source *src;
	struct loss l = { 0 };
	double rate, sum = 0, mn = 1e9, mx = 0;
	int trials;
	bool repeat;

	if (argc != 7) {
		fprintf(stderr, "usage: carousel_sim REPO fresh|repeat LOSS RATE TRIALS SEED\n");
		return 2;
	}
	rs ^= strtoull(argv[6], NULL, 10) * 0x9e3779b97f4a7c15ull;
	make_repo(argv[1]);
	repeat = strcmp(argv[2], "repeat") == 0;
	if (strncmp(argv[3], "random:", 7) == 0)
		l.random = atof(argv[3] + 7) / 100;
	else if (sscanf(argv[3], "fade:%lf:%lf", &l.fade, &l.period) != 2)
		return 2;
	rate = atof(argv[4]);
	trials = atoi(argv[5]);
	if (sat_source_new(&src, 256u << 20) < 0)
		return 1;
	for (size_t i = 0; i < nobj; i++)
		if (sat_source_add(src, &objs[i].oti, objs[i].data, NULL) < 0)
			return 1;
	/* header overhead over one pass */
	uint64_t hdr = 0, wire = 0, packets = 0;
	{
		struct sat_sched_object so[MAX_OBJ];
		struct sat_sched *s;
		struct sat_sched_sym y;

		for (size_t i = 0; i < nobj; i++)
			so[i] = (struct sat_sched_object){ objs[i].oti, objs[i].cls, 0 };
		if (sat_sched_new(&s, so, nobj, &(struct sat_sched_opts){ 0 }) < 0)
			return 1;
		while (sat_sched_next(s, &y) == 1) {
			size_t h = y.object == 0 && objs[0].cls == SAT_CLASS_META ? FLUTE_FDT_HEADER_LEN
										  : FLUTE_HEADER_LEN;

			hdr += h;
			wire += h + T + 28;
			packets++;
		}
		sat_sched_free(s);
	}
	for (int i = 0; i < trials; i++) {
		uint64_t n;

		l.phase = rnd01() * l.period;
		n = one_trial(src, repeat, &l, rate, 40 * packets);
		if (!n) {
			fprintf(stderr, "carousel_sim: trial %d did not finish in 40 passes\n", i);
			return 1;
		}
		double p = (double)n / (double)packets;

		sum += p;
		mn = p < mn ? p : mn;
		mx = p > mx ? p : mx;
	}
	printf("passes mean %.3f min %.3f max %.3f trials %d overhead %.2f %.2f packets_per_pass %llu\n",
	       sum / trials, mn, mx, trials, 100.0 * (double)hdr / (double)wire,
	       100.0 * (double)(hdr + 28 * packets) / (double)wire, (unsigned long long)packets);
	sat_source_free(src);
	for (size_t i = 0; i < nobj; i++)
		mem_free(objs[i].data);
	return 0;
}
