/*
 * test_carousel.c — unit tests of the carousel sender's parts
 * (satellite/carousel.h): the ESI plan, the schedule (counts per pass,
 * fresh symbols, interleaving, memory groups, meta rounds, the repeating
 * baseline, carried-over passes), the symbol source (source symbols are
 * the file's bytes, repair symbols decode it, a changed file is refused)
 * and the repository scan (order, what is left out, rescans).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/codec_text.h"
#include "core/fsx.h"
#include "core/mem.h"
#include "satellite/carousel.h"
#include "tests/harness.h"

static void test_esi(void)
{
	static uint8_t seen[(RQ_ESI_MAX + 1) / 8];
	const uint32_t k = 1000;
	uint64_t wraps = (RQ_ESI_MAX + 1 - k) / k;

	CHECK_EQ_U(sat_esi(k, 0, 5), 5);
	CHECK_EQ_U(sat_esi(k, 1, 0), k);
	CHECK_EQ_U(sat_esi(k, 2, 7), 2 * k + 7);
	memset(seen, 0, sizeof(seen));
	for (uint64_t p = 1; p <= wraps; p++)
		for (uint32_t j = 0; j < k; j++) {
			uint32_t e = sat_esi(k, p, j);

			CHECK(e >= k && e <= RQ_ESI_MAX);
			CHECK_MSG(!(seen[e / 8] & (1u << (e % 8))), "ESI %u repeats at pass %llu", e,
				  (unsigned long long)p);
			seen[e / 8] |= (uint8_t)(1u << (e % 8));
		}
	/* past the ESI space: wraps onto the repair range, never below K */
	CHECK_EQ_U(sat_esi(k, wraps + 2, 0), k + ((wraps + 1) * k) % (RQ_ESI_MAX + 1 - k));
	CHECK(sat_esi(8192, 1ull << 40, 8191) >= 8192);
}

static struct sat_sched_object obj(uint64_t len, uint16_t t, enum sat_class cls)
{
	struct sat_sched_object o = { .cls = cls };

	CHECK_OK(rq_oti_for(&o.oti, len, t, 64)); /* small blocks: several per object */
	return o;
}

/* Runs one pass; counts[obj][sbn] symbols, and checks each is fresh. */
struct tally {
	uint32_t count[4][8];
	uint32_t meta_gap_max, bulk, total;
	uint32_t first_esi[4][8];
	struct sat_sched_sym seq[4096];
};

static void one_pass(struct sat_sched *s, struct tally *t)
{
	struct sat_sched_sym y;
	uint32_t gap = 0;

	memset(t, 0, sizeof(*t));
	while (sat_sched_next(s, &y) == 1) {
		CHECK(t->total < ARRAY_SIZE(t->seq));
		t->seq[t->total++] = y;
		if (t->count[y.object][y.sbn]++ == 0)
			t->first_esi[y.object][y.sbn] = y.esi;
		if (y.object == 0) {
			gap = 0;
		} else {
			t->bulk++;
			if (++gap > t->meta_gap_max)
				t->meta_gap_max = gap;
		}
	}
}

static void test_schedule(void)
{
	struct sat_sched_object objs[3] = {
		obj(100, 16, SAT_CLASS_META),  /* K = 7 */
		obj(1600, 16, SAT_CLASS_BULK), /* 100 symbols: 2 blocks */
		obj(500, 16, SAT_CLASS_BULK),  /* 32 symbols: 1 block */
	};
	struct sat_sched_opts opts = { .meta_every = 20 };
	struct sat_sched *s;
	struct tally t;

	CHECK_EQ_U(objs[1].oti.source_blocks, 2);
	CHECK_OK(sat_sched_new(&s, objs, 3, &opts));
	one_pass(s, &t);
	CHECK_EQ_U(sat_sched_passes(s), 1);
	CHECK_EQ_U(t.count[1][0] + t.count[1][1], 100);
	CHECK_EQ_U(t.count[2][0], 32);
	CHECK_EQ_U(t.bulk, 132);
	CHECK(t.count[0][0] >= 7 * (132 / 20));   /* a meta round every 20 bulk symbols */
	CHECK(t.meta_gap_max <= 20);
	CHECK_EQ_U(t.first_esi[1][0], 0);
	/* all three bulk blocks fit one group: they take turns */
	CHECK(t.seq[7].object == 1 && t.seq[8].object == 1 && t.seq[9].object == 2);
	CHECK(t.seq[7].sbn == 0 && t.seq[8].sbn == 1);
	/* the next pass: fresh repair symbols, all ESIs >= K */
	one_pass(s, &t);
	CHECK_EQ_U(t.first_esi[1][0], 50);
	CHECK_EQ_U(t.first_esi[2][0], 32);
	for (uint32_t i = 0; i < t.total; i++)
		if (t.seq[i].object == 2)
			CHECK(t.seq[i].esi >= 32 && t.seq[i].esi < 64);
	CHECK_EQ_U(sat_sched_object_pass(s, 1), 2);
	sat_sched_free(s);

	/* a budget of one block and one slice: blocks go one after the other */
	opts.mem_budget = 1;
	opts.slices = 1;
	CHECK_OK(sat_sched_new(&s, objs + 1, 2, &opts));
	one_pass(s, &t);
	for (uint32_t i = 0; i < 50; i++)
		CHECK(t.seq[i].object == 0 && t.seq[i].sbn == 0 && t.seq[i].esi == i);
	CHECK(t.seq[50].sbn == 1);
	sat_sched_free(s);
	/* eight slices: an eighth of each block, group after group, then the next */
	opts.slices = 8;
	CHECK_OK(sat_sched_new(&s, objs + 1, 2, &opts));
	one_pass(s, &t);
	CHECK_EQ_U(t.total, 132);
	for (uint32_t i = 0; i < 6; i++)
		CHECK(t.seq[i].object == 0 && t.seq[i].sbn == 0 && t.seq[i].esi == i);
	CHECK(t.seq[6].object == 0 && t.seq[6].sbn == 1 && t.seq[6].esi == 0);
	CHECK(t.seq[12].object == 1 && t.seq[12].esi == 0 && t.seq[16].object == 0);
	CHECK(t.seq[16].esi == 6);
	CHECK_EQ_U(t.count[0][0] + t.count[0][1], 100);
	CHECK_EQ_U(t.count[1][0], 32);
	sat_sched_free(s);

	/* the naive baseline repeats the source symbols */
	opts = (struct sat_sched_opts){ .repeat = true };
	CHECK_OK(sat_sched_new(&s, objs + 2, 1, &opts));
	one_pass(s, &t);
	one_pass(s, &t);
	CHECK_EQ_U(t.first_esi[0][0], 0);
	sat_sched_free(s);

	/* carried-over passes */
	objs[2].first_pass = 5;
	CHECK_OK(sat_sched_new(&s, objs + 2, 1, &(struct sat_sched_opts){ 0 }));
	one_pass(s, &t);
	CHECK_EQ_U(t.first_esi[0][0], sat_esi(32, 5, 0));
	sat_sched_free(s);

	/* only meta objects: each pass is one meta round */
	CHECK_OK(sat_sched_new(&s, objs, 1, &(struct sat_sched_opts){ 0 }));
	one_pass(s, &t);
	CHECK_EQ_U(t.total, 7);
	sat_sched_free(s);
	CHECK_OK(sat_sched_new(&s, objs, 0, &(struct sat_sched_opts){ 0 }));
	struct sat_sched_sym y;
	CHECK_EQ_I(sat_sched_next(s, &y), 0);
	sat_sched_free(s);
}

static void write_file(const char *path, const void *p, size_t n)
{
	CHECK_OK(fs_mkdir_parents(path, 0755));
	CHECK_OK(fs_write_atomic(path, p, n));
}

static void test_source(void)
{
	const size_t len = 200000, t = 64;
	AUTO_FREE uint8_t *data = mem_alloc(len);
	AUTO_FREE uint8_t *out = mem_alloc(len + 8192);
	AUTO_FREE char *path = fs_join(t_tmpdir(), "src.bin");
	struct sat_source *src;
	struct rq_oti oti;
	uint8_t sym[64];

	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)(i * 31 + (i >> 8));
	write_file(path, data, len);
	CHECK_OK(rq_oti_for(&oti, len, t, 1024));
	CHECK(oti.source_blocks >= 3);
	CHECK_OK(sat_source_new(&src, 3 * sat_encoder_bytes(1024, t) / 2)); /* one encoder */
	CHECK_OK(sat_source_add(src, &oti, NULL, path));
	CHECK_OK(sat_source_add(src, &oti, data, NULL));
	for (uint8_t sbn = 0; sbn < oti.source_blocks; sbn++) {
		struct rq_block b;
		struct rq_decoder *dec;

		CHECK_OK(rq_oti_block(&b, &oti, sbn));
		CHECK_OK(sat_source_symbol(sym, src, 0, sbn, 3));
		CHECK(memcmp(sym, data + b.offset + 3 * t, t) == 0);
		CHECK_OK(sat_source_symbol(sym, src, 1, sbn, 3));
		CHECK(memcmp(sym, data + b.offset + 3 * t, t) == 0);
		/* repair symbols only, alternating objects so the cache churns */
		CHECK_OK(rq_decoder_new(&dec, b.source_symbols, t));
		for (uint32_t e = b.source_symbols; e < b.source_symbols * 2 + 4; e++) {
			CHECK_OK(sat_source_symbol(sym, src, e & 1, sbn, e));
			CHECK_OK(rq_decoder_add(dec, e, sym, t));
		}
		CHECK_OK(rq_decoder_decode(out, dec));
		CHECK(memcmp(out, data + b.offset, b.length) == 0);
		rq_decoder_free(dec);
	}
	/* the last symbol of the object is zero-padded */
	struct rq_block last;
	CHECK_OK(rq_oti_block(&last, &oti, oti.source_blocks - 1));
	CHECK_OK(sat_source_symbol(sym, src, 0, oti.source_blocks - 1, last.source_symbols - 1));
	size_t tail = last.length - (last.source_symbols - 1) * t;
	CHECK(memcmp(sym, data + last.offset + (last.source_symbols - 1) * t, tail) == 0);
	for (size_t i = tail; i < t; i++)
		CHECK(sym[i] == 0);
	/* a file that changed under the sender */
	write_file(path, data, len - 1);
	CHECK_OK(sat_source_add(src, &oti, NULL, path));
	CHECK_EQ_I(sat_source_symbol(sym, src, 2, 0, 0), -ESTALE);
	unlink(path);
	CHECK_OK(sat_source_add(src, &oti, NULL, path));
	CHECK_EQ_I(sat_source_symbol(sym, src, 3, 0, 0), -ENOENT);
	CHECK_EQ_I(sat_source_symbol(sym, src, 9, 0, 0), -EINVAL);
	sat_source_free(src);
}

static void test_repo_scan(void)
{
	AUTO_FREE char *root = fs_join(t_tmpdir(), "repo");
	static const char *const files[] = {
		"packs/aa/aa01.pack", "packs/aa/aa01.idx", "packs/bb/bb02.pack", "packs/bb/bb02.idx",
		"packs/list", "heads/book/x", "heads/a", "ferry.json.sig", "ferry.json",
		"manifests.git/HEAD", "manifests.git/objects/pack/p.pack",
		"manifests.git/hooks/README.sample", "manifests.git/description",
		"local/chunks.tbl", "local/lock", "stray.txt", "packs/aa/.x.tmp",
	};
	static const char *const want[] = {
		"ferry.json", "ferry.json.sig", "heads/a", "heads/book/x", "packs/list",
		"manifests.git/HEAD", "manifests.git/objects/pack/p.pack",
		"packs/bb/bb02.idx", "packs/bb/bb02.pack", "packs/aa/aa01.idx", "packs/aa/aa01.pack",
	};
	struct sat_repo r, r2;

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		AUTO_FREE char *p = fs_join(root, files[i]);

		write_file(p, files[i], strlen(files[i]));
	}
	{ /* bb02 is newer than aa01 */
		AUTO_FREE char *a = fs_join(root, "packs/aa/aa01.pack");
		AUTO_FREE char *b = fs_join(root, "packs/aa/aa01.idx");
		struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };

		CHECK(utimensat(AT_FDCWD, a, old, 0) == 0 && utimensat(AT_FDCWD, b, old, 0) == 0);
	}
	CHECK_OK(sat_repo_scan(&r, root, NULL, NULL));
	CHECK_EQ_U(r.n, ARRAY_SIZE(want));
	for (size_t i = 0; i < r.n && i < ARRAY_SIZE(want); i++) {
		CHECK_STR(r.files[i].path, want[i]);
		CHECK_EQ_U(r.files[i].length, strlen(want[i]));
		CHECK_EQ_U(r.files[i].cls, i < 5 ? SAT_CLASS_META : SAT_CLASS_BULK);
	}
	CHECK(r.files[0].mem && memcmp(r.files[0].mem, "ferry.json", 10) == 0);
	CHECK_OK(sat_repo_scan(&r2, root, &r, NULL));
	CHECK(sat_repo_same(&r, &r2));
	sat_repo_release(&r2);
	{
		AUTO_FREE char *h = fs_join(root, "heads/a");

		write_file(h, "changed", 7);
	}
	CHECK_OK(sat_repo_scan(&r2, root, &r, NULL));
	CHECK(!sat_repo_same(&r, &r2));
	CHECK_EQ_U(r2.files[2].length, 7);
	sat_repo_release(&r2);
	sat_repo_release(&r);
}

/* --first: the named channels' packs before newer ones, in channel order. */
static void test_repo_prio(void)
{
	AUTO_FREE char *root = fs_join(t_tmpdir(), "repo-prio");
	char old[65], mid[65], young[65];
	char paths[6][128];
	struct sat_prio prio = { 0 };
	struct sat_prio_pack v[2];
	struct sat_repo r;
	size_t k = 0;

	memset(old, 'a', 64);
	memset(mid, 'b', 64);
	memset(young, 'c', 64);
	old[64] = mid[64] = young[64] = '\0';
	for (int i = 0; i < 3; i++) {
		const char *h = i == 0 ? old : i == 1 ? mid : young;

		for (int j = 0; j < 2; j++) {
			struct timespec t[2] = { { 1000 + i, 0 }, { 1000 + i, 0 } };
			AUTO_FREE char *p = NULL;

			snprintf(paths[k], sizeof(paths[k]), "packs/%.2s/%s.%s", h, h, j ? "pack" : "idx");
			p = fs_join(root, paths[k]);
			write_file(p, "x", 1);
			CHECK(utimensat(AT_FDCWD, p, t, 0) == 0);
			k++;
		}
	}
	/* no priority: newest first */
	CHECK_OK(sat_repo_scan(&r, root, NULL, NULL));
	CHECK(r.n == 6 && strcmp(r.files[0].path, paths[4]) == 0);
	sat_repo_release(&r);
	/* the oldest pack's channel named first, the middle one's second */
	CHECK_OK(hex_decode(v[0].name.b, SHA256_LEN, old, 64));
	v[0].rank = 0;
	CHECK_OK(hex_decode(v[1].name.b, SHA256_LEN, mid, 64));
	v[1].rank = 1;
	prio.v = v;
	prio.n = 2;
	CHECK_OK(sat_repo_scan(&r, root, NULL, &prio));
	CHECK_EQ_U(r.n, 6);
	for (size_t i = 0; i < r.n && i < 6; i++) /* old, mid, then young; .idx before .pack */
		CHECK_STR(r.files[i].path, paths[i]);
	sat_repo_release(&r);
}

int main(void)
{
	return t_main((struct t_case[]){
		{ "ESI plan: fresh until the ESI space is used, then the repair range", test_esi },
		{ "schedule: counts, freshness, interleaving, groups, meta rounds", test_schedule },
		{ "source: file bytes, repair symbols decode, changed files refused", test_source },
		{ "repository scan: order, exclusions, rescans", test_repo_scan },
		{ "repository scan: --first channels' packs first", test_repo_prio },
		{ 0 },
	});
}
