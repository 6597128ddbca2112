/*
 * rq_bench.c — measures the RaptorQ codec: decoding failure rates and
 * throughput.  Prints Markdown for bench/fec.sh.
 *
 *   rq_bench [--quick]
 *
 * (a) Failure rate with K, K+1 and K+2 received symbols for a few K: each
 *     trial loses a random number of source symbols and replaces them with
 *     repair symbols at random ESIs; the same decoder is then asked to
 *     decode with K, K+1 and K+2 symbols.  RFC 6330 section 1 targets
 *     <= 1 %, <= 0.01 % and <= 0.0001 %.  With zero failures in n trials
 *     the 95 % upper bound on the rate is about 3/n, printed alongside.
 * (b) Throughput at T = 1436 for K = 1024 and 8192: encoder setup (the
 *     precode solve), repair symbol generation, and decoding a block with
 *     10 % of its source symbols lost and replaced by repair symbols
 *     (exactly K symbols received).  Median of several runs, in block
 *     bytes per second of the thread's CPU time (wall time for decoding
 *     too, which includes waiting for a shared machine).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/mem.h"
#include "satellite/rq_int.h"
#include "satellite/satellite.h"

static uint64_t rng_state = 0x6a09e667f3bcc909ull;

static uint32_t rng_below(uint32_t n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 32) % n;
}

/* Thread CPU time: the machine is shared, and wall time would charge us
 * for other processes; the single-threaded codec's CPU time is its cost.
 * Wall time is printed beside it for decoding. */
static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, int r)
{
	fprintf(stderr, "rq_bench: %s: %s\n", what, err_text(r));
	exit(1);
}

/* Fills esi[] with the ESIs a receiver holds: the sources minus `lost`
 * random ones, then `extra_total` distinct repair ESIs. */
static uint32_t receive_set(uint32_t *esi, uint8_t *drop, uint32_t k, uint32_t lost,
			    uint32_t repair)
{
	uint32_t n = 0, base = k + rng_below(1u << 22);

	memset(drop, 0, k);
	for (uint32_t i = 0; i < lost;) {
		uint32_t e = rng_below(k);

		i += !drop[e];
		drop[e] = 1;
	}
	for (uint32_t e = 0; e < k; e++)
		if (!drop[e])
			esi[n++] = e;
	for (uint32_t i = 0; i < repair; i++)
		esi[n++] = base + i * 3; /* distinct, scattered */
	return n;
}

static void failure_rates(uint32_t k, unsigned trials)
{
	const size_t t = 4; /* the rate does not depend on T */
	AUTO_FREE uint8_t *block = mem_alloc(k * t), *out = mem_alloc(k * t);
	AUTO_FREE uint8_t *sym = mem_alloc(t), *drop = mem_alloc(k);
	AUTO_FREE uint32_t *esi = mem_alloc((k + 2) * sizeof(*esi));
	struct rq_encoder *enc;
	unsigned fail[3] = { 0, 0, 0 };
	int r;

	if (!block || !out || !sym || !drop || !esi)
		die("alloc", -ENOMEM);
	for (size_t i = 0; i < k * t; i++)
		block[i] = (uint8_t)rng_below(256);
	if ((r = rq_encoder_new(&enc, block, k * t, k, t)) < 0)
		die("encoder", r);
	for (unsigned n = 0; n < trials; n++) {
		uint32_t lost = 1 + rng_below(k);
		uint32_t m = receive_set(esi, drop, k, lost, lost + 2);
		struct rq_decoder *dec;

		if ((r = rq_decoder_new(&dec, k, t)) < 0)
			die("decoder", r);
		for (uint32_t i = 0; i < m; i++) {
			if ((r = rq_encoder_symbol(sym, enc, esi[i])) < 0 ||
			    (r = rq_decoder_add(dec, esi[i], sym, t)) < 0)
				die("symbol", r);
			if (rq_decoder_count(dec) < k)
				continue;
			r = rq_decoder_decode(out, dec);
			if (r < 0 && r != -EAGAIN)
				die("decode", r);
			if (r == 0 && memcmp(out, block, k * t) != 0)
				die("decode gave wrong bytes", -EBADMSG);
			fail[rq_decoder_count(dec) - k] += r != 0;
		}
		rq_decoder_free(dec);
	}
	rq_encoder_free(enc);
	printf("| %u | %u | %u (%.3f %%) | %u (%.4f %%) | %u (%.5f %%) | %.4f %% |\n", k, trials,
	       fail[0], 100.0 * fail[0] / trials, fail[1], 100.0 * fail[1] / trials, fail[2],
	       100.0 * fail[2] / trials, 300.0 / trials);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void throughput(uint32_t k, int runs)
{
	const size_t t = RQ_SYMBOL_SIZE_DEFAULT;
	size_t bytes = (size_t)k * t;
	AUTO_FREE uint8_t *block = mem_alloc(bytes), *out = mem_alloc(bytes);
	AUTO_FREE uint8_t *sym = mem_alloc(t), *drop = mem_alloc(k);
	AUTO_FREE uint32_t *esi = mem_alloc((k + 2) * sizeof(*esi));
	double t_enc[32], t_rep[32], t_dec[32], w_dec[32];
	struct rq_solve_stats st = { 0, 0 };
	int r;

	if (!block || !out || !sym || !drop || !esi)
		die("alloc", -ENOMEM);
	for (size_t i = 0; i < bytes; i++)
		block[i] = (uint8_t)rng_below(256);
	for (int run = 0; run < runs; run++) {
		struct rq_encoder *enc;
		struct rq_decoder *dec;
		uint32_t lost = k / 10, m;
		double t0 = now();

		if ((r = rq_encoder_new(&enc, block, bytes, k, t)) < 0)
			die("encoder", r);
		t_enc[run] = now() - t0;
		t0 = now();
		for (uint32_t i = 0; i < k; i++)
			if ((r = rq_encoder_symbol(out + (size_t)i * t, enc, k + i)) < 0)
				die("repair", r);
		t_rep[run] = now() - t0;
		if ((r = rq_decoder_new(&dec, k, t)) < 0)
			die("decoder", r);
		do {
			m = receive_set(esi, drop, k, lost, lost);
			for (uint32_t i = 0; i < m; i++) {
				if ((r = rq_encoder_symbol(sym, enc, esi[i])) < 0 ||
				    (r = rq_decoder_add(dec, esi[i], sym, t)) < 0)
					die("symbol", r);
			}
			double w0 = wall();

			t0 = now();
			r = rq_decoder_decode(out, dec);
			t_dec[run] = now() - t0;
			w_dec[run] = wall() - w0;
			rq_solve_last_stats(&st);
			if (r == -EAGAIN) { /* rare: start again with another set */
				rq_decoder_free(dec);
				if ((r = rq_decoder_new(&dec, k, t)) < 0)
					die("decoder", r);
				r = -EAGAIN;
			}
		} while (r == -EAGAIN);
		if (r < 0 || memcmp(out, block, bytes) != 0)
			die("decode", r < 0 ? r : -EBADMSG);
		rq_decoder_free(dec);
		rq_encoder_free(enc);
	}
	double mb = (double)bytes / 1e6;

	printf("| %u | %.2f | %.0f MB/s | %.0f MB/s | %.0f MB/s | %.0f MB/s | %u |\n", k, mb,
	       mb / median(t_enc, runs), mb / median(t_rep, runs), mb / median(t_dec, runs),
	       mb / median(w_dec, runs), st.inactive);
}

int main(int argc, char **argv)
{
	bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	static const char *simd[] = { "portable", "SSSE3", "AVX2" };

	printf("Symbol operations: %s.\n\n", simd[rq_simd_select(RQ_SIMD_AVX2)]);
	printf("Decoding failures (random source losses replaced by repair symbols at random "
	       "ESIs; the K+1 and K+2 attempts extend the K set):\n\n");
	printf("| K | trials | fail at K | fail at K+1 | fail at K+2 | 95 %% bound if 0 |\n");
	printf("| ---: | ---: | ---: | ---: | ---: | ---: |\n");
	failure_rates(10, quick ? 2000 : 500000);
	failure_rates(100, quick ? 500 : 20000);
	failure_rates(1024, quick ? 100 : 2000);
	printf("\nThroughput, T = %u bytes, one thread, MB/s of block per CPU second (median); "
	       "decode: 10 %% of the sources lost, exactly K symbols received:\n\n",
	       RQ_SYMBOL_SIZE_DEFAULT);
	printf("| K | block MB | encoder setup | repair symbols | decode | decode (wall) | "
	       "inactivated |\n");
	printf("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
	throughput(1024, quick ? 5 : 21);
	throughput(8192, quick ? 3 : 7);
	return 0;
}
