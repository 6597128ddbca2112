/*
 * test_chunk_table.c — the publisher's sorted chunk table.
 */
#include <stdlib.h>

#include "core/fsx.h"
#include "core/mem.h"
#include "packager/chunk_table.h"
#include "tests/harness.h"

static void make_recs(struct chunk_rec *r, size_t n, uint32_t seed, uint32_t pack)
{
	for (size_t i = 0; i < n; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		sha256_buf(&r[i].id, &(uint32_t[2]){ seed, (uint32_t)i }, 8);
		r[i].pack = pack;
		r[i].stored_len = 100 + (uint32_t)i;
		r[i].raw_len = 200 + (uint32_t)i;
		r[i].type = 1;
	}
	qsort(r, n, sizeof(*r), chunk_rec_cmp);
}

static void test_merge_and_find(void)
{
	AUTO_FREE char *path = fs_join(t_tmpdir(), "chunks.tbl");
	struct chunk_table *t;
	struct chunk_rec a[500], b[300], got;
	struct sha256 packs[2];

	memset(packs, 7, sizeof(packs));
	make_recs(a, 500, 1, 0);
	make_recs(b, 300, 2, 1);
	CHECK_OK(chunk_table_open(&t, path)); /* missing: empty */
	CHECK_EQ_U(chunk_table_count(t), 0);
	CHECK(chunk_table_find(t, &a[0].id, &got) == -ENOENT);
	CHECK_OK(chunk_table_merge(path, t, packs, 1, a, 500));
	chunk_table_free(t);
	CHECK_OK(chunk_table_open(&t, path));
	CHECK_OK(chunk_table_merge(path, t, packs + 1, 1, b, 300));
	chunk_table_free(t);
	CHECK_OK(chunk_table_open(&t, path));
	CHECK_EQ_U(chunk_table_count(t), 800);
	CHECK_EQ_U(chunk_table_pack_count(t), 2);
	for (size_t i = 0; i < 500; i++) {
		CHECK_OK(chunk_table_find(t, &a[i].id, &got));
		CHECK_EQ_U(got.pack, 0);
		CHECK_EQ_U(got.stored_len, a[i].stored_len);
	}
	for (size_t i = 0; i < 300; i++) {
		CHECK_OK(chunk_table_find(t, &b[i].id, &got));
		CHECK_EQ_U(got.pack, 1);
		CHECK_EQ_U(got.raw_len, b[i].raw_len);
	}
	make_recs(a, 10, 3, 0);
	for (size_t i = 0; i < 10; i++)
		CHECK(chunk_table_find(t, &a[i].id, &got) == -ENOENT);
	/* A record already present is refused rather than duplicated. */
	make_recs(a, 5, 1, 0);
	CHECK(chunk_table_merge(path, t, NULL, 0, a, 1) < 0);
	chunk_table_free(t);
}

static void test_damaged_file(void)
{
	AUTO_FREE char *path = fs_join(t_tmpdir(), "bad.tbl");
	struct chunk_table *t;

	CHECK_OK(fs_write_atomic(path, "FRYCTBL1garbage", 15));
	CHECK(chunk_table_open(&t, path) == -EBADMSG);
}

int main(void)
{
	return t_main((struct t_case[]){
		{ "merged records are found, absent ones not", test_merge_and_find },
		{ "a damaged table is refused", test_damaged_file },
		{ 0 } });
}
