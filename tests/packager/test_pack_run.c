/*
 * test_pack_run.c — the packing pipeline end to end on a small tree:
 * every file's chunk list reassembles the file from the packs, a second run
 * over the same tree stores nothing, the packs verify, a cap splits packs,
 * duplicates within a run are stored once.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fsx.h"
#include "core/mem.h"
#include "packager/codec.h"
#include "packager/pack.h"
#include "packager/pack_run.h"
#include "tests/harness.h"

struct seen {
	char *paths[64];
	struct pack_file files[64];
	struct chunk_ref *chunks[64];
	size_t n;
};

static int on_file(const char *path, const struct pack_file *f, void *ctx)
{
	struct seen *s = ctx;

	CHECK(s->n < 64);
	s->paths[s->n] = mem_strdup(path);
	s->files[s->n] = *f;
	s->chunks[s->n] = f->nchunks ? mem_dup(f->chunks, f->nchunks * sizeof(*f->chunks)) : NULL;
	s->n++;
	return 0;
}

static void seen_release(struct seen *s)
{
	for (size_t i = 0; i < s->n; i++) {
		mem_free(s->paths[i]);
		mem_free(s->chunks[i]);
	}
	s->n = 0;
}

static void write_file(const char *dir, const char *rel, size_t n, unsigned seed, bool text)
{
	AUTO_FREE char *p = fs_join(dir, rel);
	AUTO_FREE uint8_t *b = mem_alloc(n + 1);

	srand(seed);
	for (size_t i = 0; i < n; i++)
		b[i] = text ? (uint8_t)("abc def\n"[rand() % 8]) : (uint8_t)rand();
	CHECK_OK(fs_mkdir_parents(p, 0755));
	CHECK_OK(fs_write_atomic(p, b, n));
}

static void make_tree(const char *dir)
{
	write_file(dir, "七年级/数学/1.1 正数和负数.mp4", 900000, 1, false);
	write_file(dir, "七年级/数学/notes.txt", 300000, 2, true);
	write_file(dir, "七年级/数学/lecture.mp4", 600000, 5, false);
	write_file(dir, "八年级/copy.mp4", 900000, 1, false); /* a duplicate */
	write_file(dir, "empty", 0, 3, false);
	write_file(dir, "small.css", 100, 4, true);
}

/* Finds a chunk in the packs under dir and appends its raw bytes. */
static void read_chunk(struct buf *out, const char *packs, const struct sha256 *packs_list,
		       size_t npacks, const struct chunk_ref *c, struct codec *codec)
{
	for (size_t i = 0; i < npacks; i++) {
		AUTO_FREE char *ip = NULL, *pp = NULL;
		struct pack_index *idx;
		struct pack_entry e;
		AUTO_FREE uint8_t *raw = NULL, *stored = NULL;
		AUTO_CLOSE int fd = -1;

		CHECK_OK(pack_path_make(&ip, packs, &packs_list[i], PACK_IDX_SUFFIX));
		CHECK_OK(pack_path_make(&pp, packs, &packs_list[i], PACK_SUFFIX));
		CHECK_OK(pack_index_load(&idx, ip));
		if (pack_index_find(&e, idx, &c->id) < 0) {
			pack_index_free(idx);
			continue;
		}
		pack_index_free(idx);
		CHECK_EQ_U(e.raw_len, c->raw_len);
		CHECK_EQ_U(e.stored_len, c->stored_len);
		raw = mem_alloc(e.raw_len);
		stored = mem_alloc(e.stored_len);
		fd = open(pp, O_RDONLY);
		CHECK(fd >= 0);
		CHECK_OK(fs_pread_all(fd, stored, e.stored_len, e.offset + PACK_ENTRY_HEADER_LEN));
		CHECK_OK(pack_entry_decode(raw, e.raw_len, &e, stored, codec));
		CHECK_OK(buf_append(out, raw, e.raw_len));
		return;
	}
	CHECK_MSG(false, "chunk not found in any pack");
}

static void run(struct pack_result *res, struct seen *s, const char *src, const char *dir,
		uint64_t cap)
{
	AUTO_FREE char *packs = fs_join(dir, "packs");
	AUTO_FREE char *table = fs_join(dir, "chunks.tbl");
	struct pack_run_opts o = { .src_dir = src, .packs_dir = packs, .table_path = table,
				   .level = 3, .pack_max = cap, .file = on_file, .ctx = s };

	chunker_params_default(&o.chunker);
	o.chunker.min = 4096;
	o.chunker.avg = 16384;
	o.chunker.max = 65536;
	CHECK_OK(pack_run(res, &o));
}

static void test_round_trip_and_dedupe(void)
{
	AUTO_FREE char *src = fs_join(t_tmpdir(), "src1");
	AUTO_FREE char *dir = fs_join(t_tmpdir(), "repo1");
	AUTO_FREE char *packs = fs_join(dir, "packs");
	struct pack_result res, again;
	struct seen s = { 0 };
	struct codec *codec;

	make_tree(src);
	run(&res, &s, src, dir, 0);
	CHECK_EQ_U(s.n, 6);
	CHECK_STR(s.paths[0], "empty"); /* byte order of names, depth first */
	CHECK_EQ_U(s.files[0].nchunks, 0);
	CHECK(res.stats.chunks_new < res.stats.chunks); /* the copy was deduped */
	CHECK(res.stats.chunks_raw > 0);                /* random data stored raw */
	CHECK_OK(codec_new(&codec, 3));
	for (size_t i = 0; i < s.n; i++) {
		AUTO_FREE char *p = fs_join(src, s.paths[i]);
		struct buf want, got;
		struct sha256 h;

		buf_init(&want, 1 << 24);
		buf_init(&got, 1 << 24);
		CHECK_OK(fs_read_file(&want, p, 1 << 24));
		for (size_t k = 0; k < s.files[i].nchunks; k++)
			read_chunk(&got, packs, res.packs, res.npacks, &s.chunks[i][k], codec);
		CHECK_EQ_U(got.len, want.len);
		CHECK(want.len == 0 || memcmp(got.data, want.data, want.len) == 0);
		sha256_buf(&h, want.data ? want.data : (uint8_t *)"", want.len);
		CHECK(memcmp(h.b, s.files[i].hash.b, SHA256_LEN) == 0);
		buf_release(&want);
		buf_release(&got);
	}
	codec_free(codec);
	for (size_t i = 0; i < res.nnew; i++) {
		AUTO_FREE char *pp = NULL, *ip = NULL;
		uint64_t n;

		CHECK_OK(pack_path_make(&pp, packs, &res.new_packs[i], PACK_SUFFIX));
		CHECK_OK(pack_path_make(&ip, packs, &res.new_packs[i], PACK_IDX_SUFFIX));
		CHECK_OK(pack_verify(&n, pp, ip, NULL, NULL));
	}
	seen_release(&s);
	run(&again, &s, src, dir, 0);
	CHECK_EQ_U(again.stats.chunks_new, 0);
	CHECK_EQ_U(again.nnew, 0);
	CHECK_EQ_U(again.npacks, res.npacks);
	seen_release(&s);
	pack_result_release(&res);
	pack_result_release(&again);
}

static void test_cap_splits_packs(void)
{
	AUTO_FREE char *src = fs_join(t_tmpdir(), "src2");
	AUTO_FREE char *dir = fs_join(t_tmpdir(), "repo2");
	struct pack_result res;
	struct seen s = { 0 };

	make_tree(src);
	run(&res, &s, src, dir, 1u << 20);
	CHECK(res.nnew >= 2);
	seen_release(&s);
	pack_result_release(&res);
}

static void test_allocation_failures(void)
{
	AUTO_FREE char *src = fs_join(t_tmpdir(), "src3");
	struct pack_result res;
	struct seen s = { 0 };
	long n;

	make_tree(src);
	mem_fail_after(-1);
	{
		AUTO_FREE char *dir = fs_join(t_tmpdir(), "repo3");

		run(&res, &s, src, dir, 0);
		pack_result_release(&res);
		seen_release(&s);
	}
	n = mem_fail_after(-1);
	/* A sample of failure points (all of them would take minutes). */
	for (long i = 0; i < n; i += n / 40 + 1) {
		char name[32];
		AUTO_FREE char *dir = NULL, *packs = NULL, *table = NULL;
		struct pack_run_opts o = { .src_dir = src, .level = 3, .file = on_file, .ctx = &s };
		int r;

		snprintf(name, sizeof(name), "fail%ld", i);
		dir = fs_join(t_tmpdir(), name);
		packs = fs_join(dir, "packs");
		table = fs_join(dir, "chunks.tbl");
		o.packs_dir = packs;
		o.table_path = table;
		chunker_params_default(&o.chunker);
		mem_fail_after(i);
		r = pack_run(&res, &o);
		mem_fail_after(-1);
		seen_release(&s);
		if (r == 0)
			pack_result_release(&res);
		else
			CHECK(r == -ENOMEM || r == -EAGAIN);
	}
}

int main(void)
{
	return t_main((struct t_case[]){
		{ "chunk lists reassemble every file; a second run stores nothing",
		  test_round_trip_and_dedupe },
		{ "the pack cap splits packs", test_cap_splits_packs },
		{ "allocation failures unwind without leaks", test_allocation_failures },
		{ 0 } });
}
