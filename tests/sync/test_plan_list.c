/*
 * test_plan_list.c — the plan's list of missing chunks (db_plan_* in
 * sync/db.h): each chunk once, walked in the order added in bounded
 * batches that skip chunks stored meanwhile, counted exactly; emptied by
 * a reset; invisible to the store's own check.
 */
#include <unistd.h>

#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "packager/pack_format.h"
#include "sync/db.h"
#include "tests/harness.h"

#define N 5000u

static struct sha256 id_of(uint32_t i)
{
	struct sha256 h;
	uint8_t b[4] = { (uint8_t)i, (uint8_t)(i >> 8), (uint8_t)(i >> 16), 7 };

	sha256_buf(&h, b, sizeof(b));
	return h;
}

static struct db *open_fresh(void)
{
	AUTO_FREE char *path = fs_join(t_tmpdir(), "plan.db");
	struct db *db;

	CHECK(path != NULL);
	unlink(path);
	CHECK_OK(db_open(&db, path, true));
	return db;
}

struct walk {
	int64_t last;
	size_t n;
	uint64_t stored;
	bool in_order;
	bool saw_stored; /* a chunk the chunks table holds came back */
};

static int on_row(const struct db_plan_chunk *c, void *ctx)
{
	struct walk *w = ctx;
	uint32_t i = (uint32_t)(c->seq - 1);
	struct sha256 want = id_of(i);

	w->in_order &= c->seq > w->last && memcmp(want.b, c->id.b, SHA256_LEN) == 0 &&
		       c->raw_len == 1000 + i % 7 && c->stored_len == 500 + i % 5;
	w->saw_stored |= i % 3 == 0 && i < 600;
	w->last = c->seq;
	w->n++;
	w->stored += c->stored_len;
	return 0;
}

static void test_list_batches_and_counts(void)
{
	struct db *db = open_fresh();
	struct walk w = { .in_order = true };
	uint64_t left, bytes, want_bytes = 0, want_left = 0;
	int64_t pack;
	size_t batches = 0, total = 0;

	CHECK_OK(db_plan_reset(db));
	CHECK_OK(db_begin(db));
	for (uint32_t i = 0; i < N; i++) {
		struct sha256 id = id_of(i);

		CHECK_EQ_I(db_plan_add(db, &id, 1000 + i % 7, 500 + i % 5), 1);
		want_bytes += 500 + i % 5;
	}
	for (uint32_t i = 0; i < N; i += 10) { /* listed again: counted once */
		struct sha256 id = id_of(i);

		CHECK_EQ_I(db_plan_add(db, &id, 1000 + i % 7, 500 + i % 5), 0);
	}
	CHECK_OK(db_commit(db));
	CHECK_OK(db_plan_left(&left, &bytes, db));
	CHECK_EQ_U(left, N);
	CHECK_EQ_U(bytes, want_bytes);

	/* Every third of the first 600 gets stored: no batch returns it. */
	CHECK_OK(db_begin(db));
	CHECK_OK(db_pack_add(&pack, db, &(struct sha256){ { 9 } }, PACK_MIN_BYTES, 200, 1));
	for (uint32_t i = 0; i < 600; i += 3) {
		struct db_chunk c = { .id = id_of(i), .pack = pack, .offset = PACK_HEADER_LEN,
				      .stored_len = 1000 + i % 7, .raw_len = 1000 + i % 7,
				      .type = PACK_ENTRY_RAW };

		CHECK_EQ_I(db_chunk_add(db, &c), 1);
		want_bytes -= 500 + i % 5;
	}
	CHECK_OK(db_commit(db));
	want_left = N - 200;
	CHECK_OK(db_plan_left(&left, &bytes, db));
	CHECK_EQ_U(left, want_left);
	CHECK_EQ_U(bytes, want_bytes);

	/* Batches of at most 700, in order, each chunk once. */
	for (;;) {
		size_t before = w.n;

		CHECK_OK(db_plan_next_foreach(db, w.last, 700, on_row, &w));
		if (w.n == before)
			break;
		CHECK(w.n - before <= 700);
		batches++;
	}
	total = w.n;
	CHECK(w.in_order);
	CHECK(!w.saw_stored);
	CHECK_EQ_U(total, want_left);
	CHECK_EQ_U(w.stored, want_bytes);
	CHECK_EQ_U(batches, (want_left + 699) / 700);

	{
		struct db_plan_chunk c;
		struct sha256 id = id_of(4321), none = id_of(N + 1);

		CHECK_OK(db_plan_get(&c, db, &id));
		CHECK_EQ_I(c.seq, 4322);
		CHECK_EQ_I(db_plan_get(NULL, db, &none), -ENOENT);
	}
	/* The list is no table of the store's: its check still passes. */
	CHECK_OK(db_check(db, NULL, NULL));
	/* A reset empties it. */
	CHECK_OK(db_plan_reset(db));
	CHECK_OK(db_plan_left(&left, &bytes, db));
	CHECK_EQ_U(left, 0);
	CHECK_EQ_U(bytes, 0);
	db_close(db);
}

int main(void)
{
	return t_main((struct t_case[]){
		{ "the plan list: once each, bounded batches in order, exact counts",
		  test_list_batches_and_counts },
		{ 0 } });
}
