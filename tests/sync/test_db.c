/*
 * test_db.c — the school store's database (sync/db.h).
 *
 * One data set (the tables below) is written into every table and read
 * back: in the same handle, after a reopen, through a second connection,
 * and not at all after a rollback.  Then the hostile cases: a file that is
 * not a store, truncated, overwritten or planted with foreign objects; two
 * processes writing at once; a process killed after a commit; every
 * allocation failing in turn.  Last, the measurement the design asks for:
 * a million chunk rows inserted in batches and looked up at random, with
 * times and peak memory printed as '#' lines (nothing asserted on time).
 *
 * This test reaches past the adapter with sqlite3.h only to plant objects
 * and values in a file, as a damaged disk, an attacker or a buggy tool
 * would.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "packager/pack_format.h"
#include "sync/db.h"
#include "tests/harness.h"

/* ---- helpers ------------------------------------------------------------ */

static char *db_path(const char *name)
{
	char *p = fs_join(t_tmpdir(), name);

	CHECK(p != NULL);
	return p;
}

static void db_remove_files(const char *path)
{
	char side[600];

	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
}

static struct db *open_fresh(const char *path)
{
	struct db *db;

	db_remove_files(path);
	CHECK_OK(db_open(&db, path, true));
	return db;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct sha256 hash_of(const char *s, uint32_t n)
{
	struct buf b;
	struct sha256 h;

	buf_init(&b, 1024);
	CHECK_OK(buf_printf(&b, "%s/%u", s, n));
	sha256_buf(&h, b.data, b.len);
	buf_release(&b);
	return h;
}

/* A chunk entry that follows the pack format's rules. */
static struct db_chunk chunk_make(uint32_t i, int64_t pack)
{
	struct db_chunk c = { .pack = pack, .offset = PACK_HEADER_LEN + 1000ull * i };

	c.id = hash_of("chunk", i);
	c.raw_len = 16384 + i;
	c.type = i % 3 ? PACK_ENTRY_ZSTD : PACK_ENTRY_RAW;
	c.stored_len = c.type == PACK_ENTRY_RAW ? c.raw_len : 900 + i;
	return c;
}

static bool chunk_eq(const struct db_chunk *a, const struct db_chunk *b)
{
	return memcmp(a->id.b, b->id.b, SHA256_LEN) == 0 && a->pack == b->pack &&
	       a->offset == b->offset && a->stored_len == b->stored_len &&
	       a->raw_len == b->raw_len && a->type == b->type;
}

/* Walk callbacks that only count rows, one per row type. */
#define COUNTER(name, type)                                                    \
	static int name(type row, void *ctx)                                   \
	{                                                                      \
		(*(unsigned *)ctx)++;                                          \
		return 0;                                                      \
	}
COUNTER(count_chunks, const struct db_chunk *)
COUNTER(count_packs, const struct db_pack *)
COUNTER(count_channels, const struct db_channel *)
COUNTER(count_pending, const struct db_pending *)
COUNTER(count_subs, const struct db_subscription *)
COUNTER(count_sources, const struct db_source *)
COUNTER(count_trust, const char *)
COUNTER(count_remote, const struct db_remote_pack *)
COUNTER(count_runs, const struct db_run *)

/* ---- the data set ------------------------------------------------------- */

#define N_PACKS 3u
#define N_CHUNKS 120u

/* Names in the scripts of the catalog: they must come back byte for byte. */
static const char *const channel_names[] = {
	"renjiao/grade7/math",
	"人教版/七年级/数学",
	"བོད་ཡིག/སློབ་ཚན།",
	"ئۇيغۇرچە/تىل-ئەدەبىيات",
	"ᠮᠣᠩᠭᠣᠯ/ᠬᠡᠯᠡ",
};

static const struct {
	const char *channel;
	const char *path;
} subs[] = {
	{ "renjiao/grade7/math", NULL },
	{ "renjiao/grade7/math", "七年级/" },
	{ "ئۇيغۇرچە/تىل-ئەدەبىيات", "ئۇيغۇرچە/" },
};

static const struct {
	const char *url;
	int32_t priority;
	const char *label;
} sources[] = {
	{ "https://county.example.cn/ferry/", 30, "县资源中心" },
	{ "/media/usb0/ferry", 10, NULL },
	{ "sftp://mirror@[2001:db8::5]/srv/ferry", 20, "CERNET2 mirror" },
	{ "file:///srv/drop/ferry", 10, "drop folder" },
};

/* sources[] in the order db_source_foreach() must give. */
static const unsigned source_order[] = { 1, 3, 2, 0 };

static const char *const trust_lines[] = {
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBnlUd5fVn4JyjNbULyDhpGf6kqy3fg9o3Ew5mfNbG8C county",
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOZ1b3rG3t0y2cT2LwT8Zl0s4Q9d7CwB4yZ2x8uB2n7K 省中心 root",
};

static const struct {
	const char *key;
	const char *value;
} metas[] = {
	{ "store-id", "7f3c9a0e5b6d4c2a8e1f0a9b8c7d6e5f" },
	{ "chunker", "fastcdc min=16384 avg=65536 max=262144" },
	{ "window", "01:00-06:00" },
	{ "note", "" },
};

static struct db_channel channel_make(unsigned i, uint8_t *head, size_t head_len)
{
	struct db_channel c = { .name = channel_names[i], .version = 10 + i };

	snprintf(c.commit, sizeof(c.commit), "%040x", 0xabc0 + i);
	for (size_t k = 0; k < head_len; k++)
		head[k] = (uint8_t)(k * 7 + i); /* NULs included */
	c.head = head;
	c.head_len = head_len;
	c.head_time = 1700000000 + i;
	c.installed_time = 1700000100 + i;
	c.files = 1000 + i;
	c.bytes = (5ull << 30) + i;
	return c;
}

static size_t head_len_of(unsigned i)
{
	return i == 0 ? LIMIT_HEAD_BYTES : 300 + i;
}

static struct db_pending pending_make(unsigned i)
{
	struct db_pending p = { .channel = channel_names[i], .version = 20 + i };

	snprintf(p.commit, sizeof(p.commit), "%040x", 0xdef0 + i);
	p.bytes_total = 1000000 + i;
	p.bytes_missing = 400000 + i;
	p.updated = 1700000200 + i;
	return p;
}

static void fill(struct db *db, int64_t packs[N_PACKS])
{
	static uint8_t head[LIMIT_HEAD_BYTES];
	int64_t run;

	for (unsigned i = 0; i < N_PACKS; i++) {
		struct sha256 name = hash_of("pack", i);

		CHECK_EQ_I(db_pack_add(&packs[i], db, &name, (64ull << 20) - i, N_CHUNKS / N_PACKS,
				       1700000000 + i),
			   1);
	}
	for (unsigned i = 0; i < N_CHUNKS; i++) {
		struct db_chunk c = chunk_make(i, packs[i % N_PACKS]);

		CHECK_EQ_I(db_chunk_add(db, &c), 1);
	}
	for (unsigned i = 0; i < ARRAY_SIZE(channel_names); i++) {
		struct db_channel c = channel_make(i, head, head_len_of(i));

		CHECK_OK(db_channel_put(db, &c));
	}
	CHECK_EQ_I(db_channel_seen_put(db, "never/installed", 77), 1);
	for (unsigned i = 0; i < 2; i++) {
		struct db_pending p = pending_make(i);

		CHECK_OK(db_pending_put(db, &p));
	}
	for (unsigned i = 0; i < ARRAY_SIZE(subs); i++)
		CHECK_EQ_I(db_subscription_add(db, subs[i].channel, subs[i].path), 1);
	for (unsigned i = 0; i < ARRAY_SIZE(sources); i++)
		CHECK_OK(db_source_add(db, sources[i].url, sources[i].priority, sources[i].label));
	for (unsigned i = 0; i < ARRAY_SIZE(trust_lines); i++)
		CHECK_EQ_I(db_trust_add(db, trust_lines[i]), 1);
	for (unsigned i = 0; i < 4; i++) {
		struct db_remote_pack p = { .source = sources[i % 2].url,
					    .name = hash_of("remote", i),
					    .size = 1000 * (i + 1),
					    .have_idx = i % 2 == 0 };

		CHECK_OK(db_remote_pack_add(db, &p));
	}
	for (unsigned i = 0; i < 3; i++) {
		struct db_run r = { .ended = 1700001000 + i,
				    .outcome = i == 1 ? "partial" : "done",
				    .bytes_read = 100 * i,
				    .bytes_written = 200 * i,
				    .chunks_stored = 3 * i,
				    .reason = i == 1 ? "time window closed at 06:00" : NULL };

		CHECK_OK(db_run_begin(&run, db, 1700000500 + i));
		CHECK_EQ_I(run, i + 1);
		if (i < 2) /* the last run never ends: killed */
			CHECK_OK(db_run_end(db, run, &r));
	}
	for (unsigned i = 0; i < ARRAY_SIZE(metas); i++)
		CHECK_OK(db_meta_put(db, metas[i].key, metas[i].value));
}

/* Walk callbacks that check rows against the data set. */

#define CHECK_OPT_STR(got, want)                                               \
	do {                                                                   \
		if (want)                                                      \
			CHECK_STR(got, want);                                  \
		else                                                           \
			CHECK((got) == NULL);                                  \
	} while (0)

struct seen {
	unsigned n;
	const int64_t *packs;
};

static int check_pack_row(const struct db_pack *p, void *ctx)
{
	struct seen *s = ctx;
	struct sha256 name = hash_of("pack", s->n);

	CHECK(p->id == s->packs[s->n]);
	CHECK(memcmp(p->name.b, name.b, SHA256_LEN) == 0);
	CHECK_EQ_U(p->size, (64ull << 20) - s->n);
	CHECK_EQ_U(p->chunks, N_CHUNKS / N_PACKS);
	CHECK_EQ_I(p->added, 1700000000 + s->n);
	s->n++;
	return 0;
}

static int check_chunk_row(const struct db_chunk *c, void *ctx)
{
	struct seen *s = ctx;
	struct db_chunk want;
	unsigned i;

	/* Which of ours is it? */
	for (i = 0; i < N_CHUNKS; i++) {
		want = chunk_make(i, s->packs[i % N_PACKS]);
		if (memcmp(want.id.b, c->id.b, SHA256_LEN) == 0)
			break;
	}
	CHECK(i < N_CHUNKS);
	CHECK(chunk_eq(c, &want));
	s->n++;
	return 0;
}

static int check_channel_row(const struct db_channel *c, void *ctx)
{
	static uint8_t head[LIMIT_HEAD_BYTES];
	unsigned *n = ctx;
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(channel_names); i++)
		if (strcmp(channel_names[i], c->name) == 0)
			break;
	CHECK(i < ARRAY_SIZE(channel_names));
	struct db_channel want = channel_make(i, head, head_len_of(i));

	CHECK_EQ_U(c->version, want.version);
	CHECK_STR(c->commit, want.commit);
	CHECK_EQ_U(c->head_len, want.head_len);
	CHECK(memcmp(c->head, want.head, want.head_len) == 0);
	CHECK_EQ_I(c->head_time, want.head_time);
	CHECK_EQ_I(c->installed_time, want.installed_time);
	CHECK_EQ_U(c->files, want.files);
	CHECK_EQ_U(c->bytes, want.bytes);
	(*n)++;
	return 0;
}

static int check_pending_row(const struct db_pending *p, void *ctx)
{
	unsigned *n = ctx;
	unsigned i = strcmp(p->channel, channel_names[0]) == 0 ? 0 : 1;
	struct db_pending want = pending_make(i);

	CHECK_STR(p->channel, want.channel);
	CHECK_EQ_U(p->version, want.version);
	CHECK_STR(p->commit, want.commit);
	CHECK_EQ_U(p->bytes_total, want.bytes_total);
	CHECK_EQ_U(p->bytes_missing, want.bytes_missing);
	CHECK_EQ_I(p->updated, want.updated);
	(*n)++;
	return 0;
}

static int check_sub_row(const struct db_subscription *x, void *ctx)
{
	unsigned *n = ctx;

	/* subs[] is in byte order of channel, then path (whole channel first). */
	CHECK(*n < ARRAY_SIZE(subs));
	CHECK_STR(x->channel, subs[*n].channel);
	CHECK_OPT_STR(x->path, subs[*n].path);
	(*n)++;
	return 0;
}

static int check_source_row(const struct db_source *x, void *ctx)
{
	unsigned *n = ctx;
	unsigned i;

	CHECK(*n < ARRAY_SIZE(source_order));
	i = source_order[*n];
	CHECK_STR(x->url, sources[i].url);
	CHECK_EQ_I(x->priority, sources[i].priority);
	CHECK_OPT_STR(x->label, sources[i].label);
	(*n)++;
	return 0;
}

static int check_trust_row(const char *line, void *ctx)
{
	unsigned *n = ctx;

	CHECK(*n < ARRAY_SIZE(trust_lines));
	CHECK_STR(line, trust_lines[*n]);
	(*n)++;
	return 0;
}

static int check_remote_row(const struct db_remote_pack *p, void *ctx)
{
	unsigned *n = ctx;
	unsigned i;

	for (i = 0; i < 4; i++) {
		struct sha256 name = hash_of("remote", i);

		if (memcmp(name.b, p->name.b, SHA256_LEN) == 0)
			break;
	}
	CHECK(i < 4);
	CHECK_STR(p->source, sources[i % 2].url);
	CHECK_EQ_U(p->size, 1000 * (i + 1));
	CHECK(p->have_idx == (i % 2 == 0));
	(*n)++;
	return 0;
}

static int check_run_row(const struct db_run *r, void *ctx)
{
	unsigned *n = ctx;
	int64_t i = 2 - (int64_t)*n; /* newest first */

	CHECK_EQ_I(r->id, i + 1);
	CHECK_EQ_I(r->started, 1700000500 + i);
	if (i == 2) {
		CHECK(r->outcome == NULL);
		CHECK_EQ_I(r->ended, 0);
	} else {
		CHECK_STR(r->outcome, i == 1 ? "partial" : "done");
		CHECK_EQ_I(r->ended, 1700001000 + i);
		CHECK_EQ_U(r->bytes_read, 100 * i);
		CHECK_EQ_U(r->bytes_written, 200 * i);
		CHECK_EQ_U(r->chunks_stored, 3 * i);
		CHECK_OPT_STR(r->reason, i == 1 ? "time window closed at 06:00" : NULL);
	}
	(*n)++;
	return 0;
}

static void verify_packs_and_chunks(struct db *db, const int64_t packs[N_PACKS])
{
	struct seen s = { 0, packs };
	uint64_t u;

	CHECK_OK(db_pack_foreach(db, check_pack_row, &s));
	CHECK_EQ_U(s.n, N_PACKS);
	CHECK_OK(db_chunk_count(&u, db));
	CHECK_EQ_U(u, N_CHUNKS);
	for (unsigned i = 0; i < N_CHUNKS; i++) {
		struct db_chunk want = chunk_make(i, packs[i % N_PACKS]), got;

		CHECK_OK(db_chunk_find(&got, db, &want.id));
		CHECK(chunk_eq(&got, &want));
	}
	s.n = 0;
	CHECK_OK(db_chunks_of_pack_foreach(db, packs[1], check_chunk_row, &s));
	CHECK_EQ_U(s.n, N_CHUNKS / N_PACKS);
}

static void verify_full(struct db *db, const int64_t packs[N_PACKS])
{
	unsigned n = 0;
	uint64_t u;

	verify_packs_and_chunks(db, packs);
	for (unsigned i = 0; i < ARRAY_SIZE(channel_names); i++) {
		struct db_channel got;

		CHECK_OK(db_channel_get(&got, db, channel_names[i]));
		CHECK(got.name == channel_names[i]);
		check_channel_row(&got, &n);
		db_channel_release(&got);
		CHECK_OK(db_channel_seen_get(&u, db, channel_names[i]));
		CHECK_EQ_U(u, 10 + i);
	}
	CHECK_OK(db_channel_foreach(db, check_channel_row, &n));
	CHECK_EQ_U(n, 2 * ARRAY_SIZE(channel_names));
	CHECK_OK(db_channel_seen_get(&u, db, "never/installed"));
	CHECK_EQ_U(u, 77);
	n = 0;
	for (unsigned i = 0; i < 2; i++) {
		struct db_pending got;

		CHECK_OK(db_pending_get(&got, db, channel_names[i]));
		CHECK(got.channel == channel_names[i]);
		check_pending_row(&got, &n);
	}
	CHECK_OK(db_pending_foreach(db, check_pending_row, &n));
	CHECK_EQ_U(n, 4);
	n = 0;
	CHECK_OK(db_subscription_foreach(db, check_sub_row, &n));
	CHECK_EQ_U(n, ARRAY_SIZE(subs));
	n = 0;
	CHECK_OK(db_source_foreach(db, check_source_row, &n));
	CHECK_EQ_U(n, ARRAY_SIZE(sources));
	n = 0;
	CHECK_OK(db_trust_foreach(db, check_trust_row, &n));
	CHECK_EQ_U(n, ARRAY_SIZE(trust_lines));
	n = 0;
	CHECK_OK(db_remote_pack_foreach(db, sources[0].url, check_remote_row, &n));
	CHECK_OK(db_remote_pack_foreach(db, sources[1].url, check_remote_row, &n));
	CHECK_EQ_U(n, 4);
	n = 0;
	CHECK_OK(db_run_foreach_recent(db, 10, check_run_row, &n));
	CHECK_EQ_U(n, 3);
	for (unsigned i = 0; i < ARRAY_SIZE(metas); i++) {
		AUTO_FREE char *v = NULL;

		CHECK_OK(db_meta_get(&v, db, metas[i].key));
		CHECK_STR(v, metas[i].value);
	}
}

/* Every table holds nothing. */
static void verify_empty(struct db *db)
{
	unsigned n = 0;
	uint64_t u;

	CHECK_OK(db_chunk_count(&u, db));
	CHECK_EQ_U(u, 0);
	CHECK_OK(db_pack_foreach(db, count_packs, &n));
	CHECK_OK(db_channel_foreach(db, count_channels, &n));
	CHECK(db_channel_seen_get(&u, db, channel_names[0]) == -ENOENT);
	CHECK_OK(db_pending_foreach(db, count_pending, &n));
	CHECK_OK(db_subscription_foreach(db, count_subs, &n));
	CHECK_OK(db_source_foreach(db, count_sources, &n));
	CHECK_OK(db_trust_foreach(db, count_trust, &n));
	CHECK_OK(db_remote_pack_foreach(db, sources[0].url, count_remote, &n));
	CHECK_OK(db_run_foreach_recent(db, 100, count_runs, &n));
	CHECK_EQ_U(n, 0);
	for (unsigned i = 0; i < ARRAY_SIZE(metas); i++) {
		AUTO_FREE char *v = NULL;

		CHECK(db_meta_get(&v, db, metas[i].key) == -ENOENT);
	}
}

static int count_problem(const char *line, void *ctx)
{
	(*(unsigned *)ctx)++;
	return 0;
}

static void check_sound(struct db *db)
{
	unsigned problems = 0;

	CHECK_OK(db_check(db, count_problem, &problems));
	CHECK_EQ_U(problems, 0);
}

static void read_header(uint8_t h[100], const char *path)
{
	AUTO_CLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);

	CHECK(fd >= 0);
	CHECK_OK(fs_pread_all(fd, h, 100, 0));
}

static void write_at(const char *path, uint64_t off, const void *p, size_t n)
{
	AUTO_CLOSE int fd = open(path, O_WRONLY | O_CLOEXEC);

	CHECK(fd >= 0);
	CHECK(pwrite(fd, p, n, (off_t)off) == (ssize_t)n);
}

/* ---- round trips -------------------------------------------------------- */

static void test_every_table_round_trips(void)
{
	AUTO_FREE char *path = db_path("round.db");
	struct db *db = open_fresh(path);
	int64_t packs[N_PACKS];
	uint8_t h[100];

	fill(db, packs);
	verify_full(db, packs);
	check_sound(db);
	db_close(db);
	/* The file itself says what it is: WAL (18, 19), version, ferry's id. */
	read_header(h, path);
	CHECK(memcmp(h, "SQLite format 3", 16) == 0);
	CHECK_EQ_U(h[18], 2);
	CHECK_EQ_U(h[19], 2);
	CHECK_EQ_U(get_be32(h + 60), DB_SCHEMA_VERSION);
	CHECK_EQ_U(get_be32(h + 68), DB_APPLICATION_ID);
	CHECK_OK(db_open(&db, path, false));
	verify_full(db, packs);
	check_sound(db);
	db_close(db);
	db_close(NULL);
}

static void test_missing_file(void)
{
	AUTO_FREE char *path = db_path("absent.db");
	struct db *db = (struct db *)1;

	db_remove_files(path);
	CHECK(db_open(&db, path, false) == -ENOENT);
	CHECK(db == NULL);
	CHECK(!fs_exists(path));
}

static void test_chunks_and_packs(void)
{
	AUTO_FREE char *path = db_path("chunks.db");
	struct db *db = open_fresh(path);
	struct db_chunk c, got;
	struct db_pack p;
	struct sha256 name = hash_of("pack", 9);
	int64_t a, b, again;
	uint64_t n;
	unsigned walked = 0;

	CHECK_EQ_I(db_pack_add(&a, db, &name, 1000, 2, 5), 1);
	CHECK_EQ_I(db_pack_add(&again, db, &name, 999, 1, 6), 0); /* kept as it was */
	CHECK_EQ_I(again, a);
	CHECK_OK(db_pack_by_name(&p, db, &name));
	CHECK_EQ_U(p.size, 1000);
	CHECK_EQ_I(p.added, 5);
	CHECK_OK(db_pack_get(&p, db, a));
	CHECK(memcmp(p.name.b, name.b, SHA256_LEN) == 0);
	CHECK(db_pack_get(&p, db, a + 100) == -ENOENT);
	name = hash_of("pack", 10);
	CHECK(db_pack_by_name(&p, db, &name) == -ENOENT);
	CHECK_EQ_I(db_pack_add(&b, db, &name, 2000, 1, 7), 1);
	CHECK(b > a);

	/* The first copy of a chunk wins; a second is not an error. */
	c = chunk_make(1, a);
	CHECK_EQ_I(db_chunk_add(db, &c), 1);
	got = chunk_make(1, b);
	CHECK_EQ_I(db_chunk_add(db, &got), 0);
	CHECK_OK(db_chunk_find(&got, db, &c.id));
	CHECK(chunk_eq(&got, &c));
	CHECK_OK(db_chunk_find(NULL, db, &c.id));
	c = chunk_make(2, b);
	CHECK_EQ_I(db_chunk_add(db, &c), 1);
	c = chunk_make(3, a);
	CHECK_EQ_I(db_chunk_add(db, &c), 1);
	CHECK_OK(db_chunk_count(&n, db));
	CHECK_EQ_U(n, 3);
	/* A chunk of a pack the store does not have is refused. */
	c = chunk_make(4, b + 50);
	CHECK(db_chunk_add(db, &c) == -ENOENT);
	c = chunk_make(5, a);
	CHECK(db_chunk_find(&got, db, &c.id) == -ENOENT);
	CHECK(db_chunk_remove(db, &c.id) == -ENOENT);
	c = chunk_make(3, a);
	CHECK_OK(db_chunk_remove(db, &c.id));
	CHECK(db_chunk_find(NULL, db, &c.id) == -ENOENT);
	CHECK_OK(db_chunks_of_pack_foreach(db, a, count_chunks, &walked));
	CHECK_EQ_U(walked, 1);

	/* Removing a pack forgets its chunks, and its id is never reused. */
	CHECK_OK(db_pack_remove(db, b));
	CHECK(db_pack_remove(db, b) == -ENOENT);
	c = chunk_make(2, b);
	CHECK(db_chunk_find(NULL, db, &c.id) == -ENOENT);
	CHECK_OK(db_chunk_count(&n, db));
	CHECK_EQ_U(n, 1);
	name = hash_of("pack", 11);
	CHECK_EQ_I(db_pack_add(&again, db, &name, 10, 1, 8), 1);
	CHECK(again > b);
	check_sound(db);
	db_close(db);
}

static void test_channels_and_seen_versions(void)
{
	AUTO_FREE char *path = db_path("channels.db");
	struct db *db = open_fresh(path);
	uint8_t head[64];
	struct db_channel c = channel_make(1, head, sizeof(head)), got;
	uint64_t seen;

	CHECK(db_channel_get(&got, db, c.name) == -ENOENT);
	CHECK(got.head == NULL);
	db_channel_release(&got);
	CHECK(db_channel_seen_get(&seen, db, c.name) == -ENOENT);
	c.version = 40;
	CHECK_OK(db_channel_put(db, &c));
	CHECK_OK(db_channel_seen_get(&seen, db, c.name));
	CHECK_EQ_U(seen, 40);
	/* Reinstalling an older release keeps the highest version seen. */
	c.version = 12;
	c.commit[0] = 'f';
	CHECK_OK(db_channel_put(db, &c));
	CHECK_OK(db_channel_get(&got, db, c.name));
	CHECK_EQ_U(got.version, 12);
	CHECK_EQ_U(got.commit[0], 'f');
	db_channel_release(&got);
	CHECK_OK(db_channel_seen_get(&seen, db, c.name));
	CHECK_EQ_U(seen, 40);
	CHECK_EQ_I(db_channel_seen_put(db, c.name, 39), 0);
	CHECK_EQ_I(db_channel_seen_put(db, c.name, 40), 0);
	CHECK_EQ_I(db_channel_seen_put(db, c.name, 41), 1);
	CHECK_OK(db_channel_seen_get(&seen, db, c.name));
	CHECK_EQ_U(seen, 41);
	CHECK_EQ_I(db_channel_seen_put(db, c.name, DB_U64_MAX), 1);
	CHECK_OK(db_channel_seen_get(&seen, db, c.name));
	CHECK_EQ_U(seen, DB_U64_MAX);
	/* Forgetting the install keeps the seen version. */
	CHECK_OK(db_channel_remove(db, c.name));
	CHECK(db_channel_remove(db, c.name) == -ENOENT);
	CHECK(db_channel_get(&got, db, c.name) == -ENOENT);
	CHECK_OK(db_channel_seen_get(&seen, db, c.name));
	CHECK_EQ_U(seen, DB_U64_MAX);
	/* An empty head is stored as such. */
	c.head_len = 0;
	c.head = NULL;
	CHECK_OK(db_channel_put(db, &c));
	CHECK_OK(db_channel_get(&got, db, c.name));
	CHECK_EQ_U(got.head_len, 0);
	db_channel_release(&got);
	db_close(db);
}

static void test_pending_subscriptions_trust(void)
{
	AUTO_FREE char *path = db_path("small.db");
	struct db *db = open_fresh(path);
	struct db_pending p = pending_make(0), got;
	unsigned n = 0;

	CHECK(db_pending_get(&got, db, p.channel) == -ENOENT);
	CHECK_OK(db_pending_put(db, &p));
	p.bytes_missing = 0;
	CHECK_OK(db_pending_put(db, &p)); /* replaces */
	CHECK_OK(db_pending_get(&got, db, p.channel));
	CHECK_EQ_U(got.bytes_missing, 0);
	CHECK_EQ_I(db_pending_clear(db, p.channel), 1);
	CHECK_EQ_I(db_pending_clear(db, p.channel), 0);

	CHECK_EQ_I(db_subscription_add(db, "a", NULL), 1);
	CHECK_EQ_I(db_subscription_add(db, "a", ""), 0); /* "" is the whole channel too */
	CHECK_EQ_I(db_subscription_add(db, "a", "七年级/"), 1);
	CHECK(db_subscription_remove(db, "a", "八年级/") == -ENOENT);
	CHECK_OK(db_subscription_remove(db, "a", NULL));
	CHECK_OK(db_subscription_foreach(db, count_subs, &n));
	CHECK_EQ_U(n, 1);
	CHECK_EQ_I(db_trust_add(db, trust_lines[0]), 1);
	CHECK_EQ_I(db_trust_add(db, trust_lines[0]), 0);
	CHECK_OK(db_trust_remove(db, trust_lines[0]));
	CHECK(db_trust_remove(db, trust_lines[0]) == -ENOENT);
	db_close(db);
}

static void test_sources_runs_meta(void)
{
	AUTO_FREE char *path = db_path("small2.db");
	struct db *db = open_fresh(path);
	struct db_remote_pack rp = { .source = "/media/usb0/ferry", .name = hash_of("r", 0) };
	unsigned n = 0;
	int64_t run;

	/* A source added again changes priority and label, not identity. */
	CHECK_OK(db_source_add(db, "/media/usb0/ferry", 10, "stick"));
	CHECK_OK(db_source_add(db, "https://x.example/", 5, NULL));
	CHECK_OK(db_source_add(db, "/media/usb0/ferry", 1, NULL));
	CHECK_OK(db_remote_pack_add(db, &rp));
	rp.have_idx = true;
	rp.size = 77;
	CHECK_OK(db_remote_pack_add(db, &rp)); /* updates */
	rp.name = hash_of("r", 1);
	CHECK_OK(db_remote_pack_add(db, &rp));
	n = 0;
	CHECK_OK(db_remote_pack_foreach(db, rp.source, count_remote, &n));
	CHECK_EQ_U(n, 2);
	CHECK_OK(db_source_remove(db, rp.source)); /* takes its cache along */
	CHECK(db_source_remove(db, rp.source) == -ENOENT);
	n = 0;
	CHECK_OK(db_remote_pack_foreach(db, rp.source, count_remote, &n));
	CHECK_EQ_U(n, 0);
	CHECK_OK(db_remote_pack_add(db, &rp)); /* a source not configured: still cached */
	CHECK_EQ_I(db_remote_packs_clear(db, rp.source), 1);
	CHECK_EQ_I(db_remote_packs_clear(db, rp.source), 0);
	CHECK(db_run_end(db, 99, &(struct db_run){ .outcome = "done" }) == -ENOENT);
	for (int i = 0; i < 5; i++)
		CHECK_OK(db_run_begin(&run, db, i));
	n = 0;
	CHECK_OK(db_run_foreach_recent(db, 2, count_runs, &n));
	CHECK_EQ_U(n, 2);

	CHECK_OK(db_meta_put(db, "k", "v1"));
	CHECK_OK(db_meta_put(db, "k", "v2"));
	{
		AUTO_FREE char *v = NULL;

		CHECK_OK(db_meta_get(&v, db, "k"));
		CHECK_STR(v, "v2");
	}
	CHECK_OK(db_meta_remove(db, "k"));
	CHECK(db_meta_remove(db, "k") == -ENOENT);
	db_close(db);
}

static int stop_at_second(const struct db_source *s, void *ctx)
{
	return ++*(unsigned *)ctx == 2 ? 7 : 0;
}

/* A callback may write through the same handle while a walk runs. */
static int drop_pack_chunks(const struct db_pack *p, void *ctx)
{
	struct db *db = ctx;
	struct db_chunk c = chunk_make(1000 + (uint32_t)p->id, p->id);

	return db_chunk_add(db, &c) == 1 ? 0 : -EIO;
}

static void test_walks_stop_and_nest(void)
{
	AUTO_FREE char *path = db_path("walk.db");
	struct db *db = open_fresh(path);
	int64_t packs[N_PACKS];
	unsigned n = 0;
	uint64_t u;

	fill(db, packs);
	CHECK_EQ_I(db_source_foreach(db, stop_at_second, &n), 7);
	CHECK_EQ_U(n, 2);
	CHECK_OK(db_pack_foreach(db, drop_pack_chunks, db));
	CHECK_OK(db_chunk_count(&u, db));
	CHECK_EQ_U(u, N_CHUNKS + N_PACKS);
	db_close(db);
}

/* ---- arguments ---------------------------------------------------------- */

/* LIMIT_LINE_BYTES + 1 letters: tail(n) is a string of n of them. */
static char long_text[LIMIT_LINE_BYTES + 2];

static const char *tail(size_t n)
{
	return long_text + (LIMIT_LINE_BYTES + 1 - n);
}

/* Call number which breaks one rule; bad_args[which] says how it fails. */
static int bad_call(struct db *db, unsigned which)
{
	static uint8_t head[LIMIT_HEAD_BYTES + 1];
	struct db_pending p = pending_make(0);
	struct db_chunk c = chunk_make(1, 1);
	struct db_channel ch = channel_make(0, head, sizeof(head));
	struct sha256 name = hash_of("p", 0);
	int64_t id;

	switch (which) {
	case 0:
		return db_channel_seen_put(db, tail(LIMIT_CHANNEL_BYTES + 1), 1);
	case 1:
		return db_subscription_add(db, "", NULL);
	case 2:
		return db_channel_seen_put(db, "c", DB_U64_MAX + 1);
	case 3:
		p.commit[3] = 'G';
		return db_pending_put(db, &p);
	case 4:
		p.commit[39] = '\0';
		return db_pending_put(db, &p);
	case 5:
		p.bytes_missing = p.bytes_total + 1;
		return db_pending_put(db, &p);
	case 6:
		return db_channel_put(db, &ch);
	case 7:
		c.type = 9;
		return db_chunk_add(db, &c);
	case 8:
		c.stored_len = c.raw_len + 1;
		return db_chunk_add(db, &c);
	case 9:
		c.offset = LIMIT_PACK_BYTES;
		return db_chunk_add(db, &c);
	case 10:
		return db_pack_add(&id, db, &name, LIMIT_PACK_BYTES + 1, 1, 0);
	case 11:
		return db_source_add(db, tail(LIMIT_URL_BYTES + 1), 1, NULL);
	case 12:
		return db_source_add(db, "/x", 1, tail(LIMIT_NAME_BYTES + 1));
	case 13:
		return db_trust_add(db, tail(LIMIT_LINE_BYTES + 1));
	case 14:
		return db_run_begin(&id, db, 1) < 0 ? -EIO
						      : db_run_end(db, id, &(struct db_run){ 0 });
	case 15:
		return db_meta_put(db, "k", tail(LIMIT_LINE_BYTES + 1));
	case 16:
		return db_meta_put(db, "k", NULL);
	case 17:
		return db_subscription_add(db, "c", tail(LIMIT_PATH_BYTES + 1));
	}
	return 0;
}

static const struct {
	const char *what;
	int want;
} bad_args[] = {
	{ "channel name past its limit", -EFBIG },
	{ "empty channel name", -EINVAL },
	{ "version above 2^63 - 1", -EFBIG },
	{ "commit with a non-hex digit", -EINVAL },
	{ "commit of 39 digits", -EINVAL },
	{ "more bytes missing than total", -EINVAL },
	{ "head past LIMIT_HEAD_BYTES", -EFBIG },
	{ "chunk of an unknown entry type", -EINVAL },
	{ "raw chunk stored longer than raw", -EINVAL },
	{ "chunk past the largest pack", -EINVAL },
	{ "pack past LIMIT_PACK_BYTES", -EFBIG },
	{ "URL past LIMIT_URL_BYTES", -EFBIG },
	{ "label past LIMIT_NAME_BYTES", -EFBIG },
	{ "key line past LIMIT_LINE_BYTES", -EFBIG },
	{ "run ended without an outcome", -EINVAL },
	{ "setting past LIMIT_LINE_BYTES", -EFBIG },
	{ "setting without a value", -EINVAL },
	{ "path filter past LIMIT_PATH_BYTES", -EFBIG },
};

static void test_bad_arguments_change_nothing(void)
{
	AUTO_FREE char *path = db_path("args.db");
	struct db *db = open_fresh(path);
	int64_t pack;
	struct sha256 name = hash_of("p", 1);
	unsigned n = 0;
	uint64_t u;

	memset(long_text, 'k', sizeof(long_text) - 1);
	CHECK_EQ_I(db_pack_add(&pack, db, &name, 100, 1, 0), 1);
	CHECK_EQ_I(pack, 1);
	for (size_t i = 0; i < ARRAY_SIZE(bad_args); i++) {
		int r = bad_call(db, (unsigned)i);

		CHECK_MSG(r == bad_args[i].want, "%s: got %d, want %d", bad_args[i].what, r,
			  bad_args[i].want);
		CHECK_MSG(err_detail()[0] != '\0', "%s: no detail", bad_args[i].what);
	}
	CHECK_OK(db_chunk_count(&u, db));
	CHECK_EQ_U(u, 0);
	CHECK_OK(db_source_foreach(db, count_sources, &n));
	CHECK_OK(db_trust_foreach(db, count_trust, &n));
	CHECK_OK(db_subscription_foreach(db, count_subs, &n));
	CHECK_OK(db_pending_foreach(db, count_pending, &n));
	CHECK_OK(db_channel_foreach(db, count_channels, &n));
	CHECK_EQ_U(n, 0);
	CHECK(db_channel_seen_get(&u, db, "c") == -ENOENT);
	db_close(db);
}

/* ---- transactions and connections --------------------------------------- */

static void test_rollback_leaves_nothing(void)
{
	AUTO_FREE char *path = db_path("rollback.db");
	struct db *db = open_fresh(path);
	int64_t packs[N_PACKS];

	CHECK(!db_in_transaction(db));
	CHECK_OK(db_begin(db));
	CHECK(db_in_transaction(db));
	fill(db, packs);
	verify_full(db, packs); /* visible inside */
	CHECK_OK(db_rollback(db));
	CHECK(!db_in_transaction(db));
	verify_empty(db);
	CHECK_OK(db_rollback(db)); /* harmless without a transaction */
	CHECK(db_commit(db) == -EINVAL);
	db_close(db);
	CHECK_OK(db_open(&db, path, false));
	verify_empty(db);
	/* A transaction left open at close is rolled back too. */
	CHECK_OK(db_begin(db));
	fill(db, packs);
	db_close(db);
	CHECK_OK(db_open(&db, path, false));
	verify_empty(db);
	check_sound(db);
	db_close(db);
}

static void test_second_connection_sees_commits(void)
{
	AUTO_FREE char *path = db_path("two.db");
	struct db *a = open_fresh(path), *b;
	int64_t packs[N_PACKS];

	CHECK_OK(db_open(&b, path, false));
	CHECK_OK(db_begin(a));
	fill(a, packs);
	verify_empty(b); /* not committed yet: b reads the old snapshot */
	CHECK_OK(db_commit(a));
	verify_full(b, packs);
	/* And the other way round, outside any transaction. */
	CHECK_OK(db_meta_put(b, "from-b", "yes"));
	{
		AUTO_FREE char *v = NULL;

		CHECK_OK(db_meta_get(&v, a, "from-b"));
		CHECK_STR(v, "yes");
	}
	db_close(b);
	db_close(a);
}

/* ---- files that are not (sound) stores ---------------------------------- */

static void test_newer_schema_is_refused(void)
{
	AUTO_FREE char *path = db_path("newer.db");
	struct db *db = open_fresh(path);
	uint8_t v[4];

	db_close(db);
	put_be32(v, DB_SCHEMA_VERSION + 1);
	write_at(path, 60, v, 4);
	CHECK(db_open(&db, path, false) == -ENOTSUP);
	CHECK(strstr(err_detail(), "newer") != NULL);
	CHECK(db_open(&db, path, true) == -ENOTSUP);
	/* A version 0 with ferry's id is not a store either. */
	put_be32(v, 0);
	write_at(path, 60, v, 4);
	CHECK(db_open(&db, path, false) == -EBADMSG);
	put_be32(v, DB_SCHEMA_VERSION);
	write_at(path, 60, v, 4);
	CHECK_OK(db_open(&db, path, false));
	db_close(db);
}

static void write_file(const char *path, const void *p, size_t n)
{
	db_remove_files(path);
	CHECK_OK(fs_write_atomic(path, p, n));
}

static void test_foreign_files_are_refused(void)
{
	AUTO_FREE char *path = db_path("foreign.db");
	static uint8_t junk[8192];
	struct db *db;
	uint8_t id[4];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 131 + 7);
	write_file(path, junk, sizeof(junk));
	CHECK(db_open(&db, path, false) == -EBADMSG);
	CHECK(db_open(&db, path, true) == -EBADMSG);
	CHECK(err_detail()[0] != '\0');
	write_file(path, "SQLite format 3\0 but not really", 32);
	CHECK(db_open(&db, path, false) == -EBADMSG);
	write_file(path, "channel renjiao\n", 16);
	CHECK(db_open(&db, path, false) == -EBADMSG);
	/* An empty file is a store only when asked to create one. */
	write_file(path, "", 0);
	CHECK(db_open(&db, path, false) == -EBADMSG);
	CHECK_OK(db_open(&db, path, true));
	db_close(db);
	/* Another program's SQLite database. */
	put_be32(id, 0x12345678);
	write_at(path, 68, id, 4);
	CHECK(db_open(&db, path, true) == -EBADMSG);
	CHECK(strstr(err_detail(), "not a ferry store") != NULL);
}

static void plant(const char *path, const char *sql)
{
	sqlite3 *h = NULL;

	CHECK(sqlite3_open(path, &h) == SQLITE_OK);
	CHECK_MSG(sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK, "%s: %s", sql,
		  sqlite3_errmsg(h));
	sqlite3_close(h);
}

static const struct {
	const char *what;
	const char *sql;
} plants[] = {
	{ "a foreign table", "CREATE TABLE evil(x)" },
	{ "a trigger", "CREATE TRIGGER t AFTER INSERT ON meta BEGIN DELETE FROM packs; END" },
	{ "a view", "CREATE VIEW v AS SELECT * FROM meta" },
	{ "a dropped index", "DROP INDEX chunks_pack" },
	{ "an added column", "ALTER TABLE runs ADD COLUMN extra TEXT" },
	{ "a renamed table", "ALTER TABLE trust RENAME TO trust2" },
	{ "an extra index", "CREATE INDEX runs_started ON runs(started)" },
};

static void test_planted_schema_is_refused(void)
{
	AUTO_FREE char *path = db_path("planted.db");

	for (size_t i = 0; i < ARRAY_SIZE(plants); i++) {
		struct db *db = open_fresh(path);

		db_close(db);
		plant(path, plants[i].sql);
		CHECK_MSG(db_open(&db, path, false) == -EBADMSG, "%s was accepted",
			  plants[i].what);
		CHECK_MSG(strstr(err_detail(), "schema") != NULL, "%s: %s", plants[i].what,
			  err_detail());
	}
}

/* A store with enough rows to span many pages. */
static void fill_big(const char *path, unsigned chunks)
{
	struct db *db = open_fresh(path);
	struct sha256 name = hash_of("big", 0);
	int64_t pack;

	CHECK_EQ_I(db_pack_add(&pack, db, &name, 1 << 20, chunks, 0), 1);
	CHECK_OK(db_begin(db));
	for (unsigned i = 0; i < chunks; i++) {
		struct db_chunk c = chunk_make(i, pack);

		CHECK_EQ_I(db_chunk_add(db, &c), 1);
	}
	CHECK_OK(db_commit(db));
	db_close(db);
}

/* Reads every table through the API; @return the first error, or 0. */
static int read_everything(struct db *db)
{
	struct db_channel ch;
	unsigned n = 0;
	uint64_t u;
	char *v = NULL;
	int r = db_chunk_count(&u, db);

	for (unsigned i = 0; i < 3000 && r >= 0; i++) {
		struct db_chunk want = chunk_make(i, 1);

		r = db_chunk_find(NULL, db, &want.id);
		r = r == -ENOENT ? 0 : r;
	}
	r = r < 0 ? r : db_chunks_of_pack_foreach(db, 1, count_chunks, &n);
	r = r < 0 ? r : db_pack_foreach(db, count_packs, &n);
	r = r < 0 ? r : db_channel_foreach(db, count_channels, &n);
	r = r < 0 ? r : db_pending_foreach(db, count_pending, &n);
	r = r < 0 ? r : db_subscription_foreach(db, count_subs, &n);
	r = r < 0 ? r : db_source_foreach(db, count_sources, &n);
	r = r < 0 ? r : db_trust_foreach(db, count_trust, &n);
	r = r < 0 ? r : db_remote_pack_foreach(db, sources[0].url, count_remote, &n);
	r = r < 0 ? r : db_run_foreach_recent(db, 10, count_runs, &n);
	if (r >= 0 && db_channel_get(&ch, db, channel_names[2]) >= 0)
		db_channel_release(&ch);
	if (r >= 0 && (r = db_meta_get(&v, db, metas[0].key)) >= 0)
		mem_free(v);
	return r < 0 ? r : 0;
}

/* Rows a damaged file or a careless hand could hold, each breaking the
 * rule of one column; STRICT tables let every one of them be written. */
static const struct {
	const char *what;
	const char *sql;
} bad_rows[] = {
	{ "a chunk ID of 31 bytes", "UPDATE chunks SET id = substr(id, 1, 31)" },
	{ "a raw chunk stored longer than raw", "UPDATE chunks SET stored = raw + 1" },
	{ "a negative pack size", "UPDATE packs SET size = -1" },
	{ "an uppercase commit", "UPDATE channels SET commit_hex = upper(commit_hex)" },
	{ "a head past 64 KiB", "UPDATE channels SET head = zeroblob(65537)" },
	{ "a NUL inside a URL", "UPDATE sources SET url = url || char(0) || 'x'" },
	{ "more bytes missing than total", "UPDATE pending SET bytes_missing = bytes_total + 1" },
	{ "have_idx of 2", "UPDATE remote_packs SET have_idx = 2" },
	{ "an empty key line", "UPDATE trust SET line = '' WHERE rowid = 1" },
	{ "a negative run counter", "UPDATE runs SET bytes_read = -1" },
	{ "a priority past 32 bits", "UPDATE sources SET priority = 4294967296" },
	{ "a NUL inside a setting", "UPDATE meta SET value = 'x' || char(0) WHERE key = 'store-id'" },
};

static void test_malformed_rows_are_refused(void)
{
	AUTO_FREE char *path = db_path("badrows.db");
	struct db *db;
	int64_t packs[N_PACKS];

	db = open_fresh(path);
	fill(db, packs);
	CHECK_OK(read_everything(db));
	db_close(db);
	for (size_t i = 0; i < ARRAY_SIZE(bad_rows); i++) {
		db = open_fresh(path);
		fill(db, packs);
		db_close(db);
		plant(path, bad_rows[i].sql);
		CHECK_OK(db_open(&db, path, false));
		CHECK_MSG(read_everything(db) == -EBADMSG, "%s was read", bad_rows[i].what);
		CHECK_MSG(strstr(err_detail(), "malformed value in column"), "%s: %s",
			  bad_rows[i].what, err_detail());
		db_close(db);
	}
}

static void test_truncated_store_is_refused(void)
{
	AUTO_FREE char *path = db_path("trunc.db");
	uint64_t size;
	struct db *db;

	fill_big(path, 3000);
	CHECK_OK(fs_file_size(&size, path));
	CHECK(size > 64 * 4096);
	for (uint64_t keep = size - 4096; keep >= 4096; keep /= 2) {
		CHECK(truncate(path, (off_t)keep) == 0);
		CHECK_MSG(db_open(&db, path, false) == -EBADMSG, "truncated to %llu opened",
			  (unsigned long long)keep);
	}
	CHECK(truncate(path, 100) == 0);
	CHECK(db_open(&db, path, false) == -EBADMSG);
}

static void test_garbage_pages_are_found(void)
{
	AUTO_FREE char *path = db_path("garbage.db");
	static uint8_t junk[4096];
	uint64_t size;
	struct db *db;
	unsigned problems = 0;

	fill_big(path, 3000);
	CHECK_OK(fs_file_size(&size, path));
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 37 + 11);
	/* Pages deep in the chunk index; page 1 (the schema) stays sound. */
	for (uint64_t off = 8 * 4096; off < size; off += 16 * 4096)
		write_at(path, off, junk, sizeof(junk));
	CHECK_OK(db_open(&db, path, false));
	CHECK(read_everything(db) == -EBADMSG);
	CHECK(db_check(db, count_problem, &problems) == -EBADMSG);
	CHECK(problems > 0);
	db_close(db);
	/* Garbage over the schema page is refused at open. */
	write_at(path, 100, junk, sizeof(junk) - 100);
	CHECK(db_open(&db, path, false) == -EBADMSG);
}

/* ---- processes ---------------------------------------------------------- */

/*
 * SQLite keeps per-process bookkeeping of the locks its connections hold;
 * a child forked while the parent has the file open inherits a copy that
 * no longer matches the kernel's locks.  So, like two ferry processes, the
 * parent holds no connection to the file while it forks: every writer
 * here is a child with its own.
 */

/* Runs fn in a child; it never returns into the harness.  fn's return is
 * the child's exit status.  A child left waiting by a parent whose CHECK
 * failed dies of SIGALRM instead of hanging the run. */
static pid_t in_child(int (*fn)(const char *path, void *ctx), const char *path, void *ctx)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(60);
		_exit(fn(path, ctx));
	}
	return pid;
}

static int wait_child(pid_t pid)
{
	int status;

	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK_MSG(WIFEXITED(status), "child died with status %#x", status);
	return WEXITSTATUS(status);
}

struct lock_holder {
	int locked[2];  /* holder -> parent: "I hold the write lock" */
	int release[2]; /* parent -> holder: "commit now" */
};

/* Child: takes the write lock, says so, and holds it until told. */
static int hold_lock(const char *path, void *ctx)
{
	struct lock_holder *h = ctx;
	struct db *db;
	char c;
	int r;

	if (db_open(&db, path, false) < 0)
		return 10;
	r = db_begin(db);
	if (r == 0)
		r = db_meta_put(db, "holder", "held the lock");
	if (r < 0 || write(h->locked[1], "L", 1) != 1 || read(h->release[0], &c, 1) != 1)
		return 11;
	r = db_commit(db);
	db_close(db);
	return r == 0 ? 0 : 12;
}

struct busy_report {
	int begin;
	int put;
	double waited;
};

/* Child: tries to write while another holds the write lock. */
static int try_write(const char *path, void *ctx)
{
	int *fds = ctx;
	struct busy_report rep;
	struct db *db;
	double t0;

	if (db_open(&db, path, false) < 0)
		return 10;
	db_busy_timeout_set(db, 300);
	t0 = now_s();
	rep.begin = db_begin(db);
	rep.waited = now_s() - t0;
	db_busy_timeout_set(db, 0);
	rep.put = db_meta_put(db, "child", "was here");
	db_close(db);
	return write(fds[1], &rep, sizeof(rep)) == sizeof(rep) ? 0 : 11;
}

/* Child: waits for the lock with the default timeout, then writes. */
static int wait_and_write(const char *path, void *ctx)
{
	struct db *db;
	int r;

	if (db_open(&db, path, false) < 0)
		return 10;
	r = db_begin(db);
	if (r == 0)
		r = db_meta_put(db, "child", "waited");
	if (r == 0)
		r = db_commit(db);
	db_close(db);
	return r == 0 ? 0 : 12;
}

static void test_writer_waits_then_busy(void)
{
	AUTO_FREE char *path = db_path("busy.db");
	struct lock_holder h;
	struct busy_report rep;
	struct db *db = open_fresh(path);
	int fds[2];
	pid_t holder, pid;
	char c;

	db_close(db);
	CHECK(pipe(h.locked) == 0 && pipe(h.release) == 0 && pipe(fds) == 0);
	holder = in_child(hold_lock, path, &h);
	CHECK(read(h.locked[0], &c, 1) == 1);
	pid = in_child(try_write, path, fds);
	CHECK_EQ_I(wait_child(pid), 0);
	CHECK(read(fds[0], &rep, sizeof(rep)) == sizeof(rep));
	CHECK_EQ_I(rep.begin, -EBUSY);
	CHECK_EQ_I(rep.put, -EBUSY);
	CHECK_MSG(rep.waited >= 0.25, "gave up after %.3f s, not the 0.3 s timeout", rep.waited);
	/* With the default timeout the next writer waits its turn. */
	pid = in_child(wait_and_write, path, NULL);
	usleep(300 * 1000);
	CHECK(write(h.release[1], "R", 1) == 1);
	CHECK_EQ_I(wait_child(holder), 0);
	CHECK_EQ_I(wait_child(pid), 0);
	for (int i = 0; i < 2; i++) {
		close(h.locked[i]);
		close(h.release[i]);
		close(fds[i]);
	}
	CHECK_OK(db_open(&db, path, false));
	{
		AUTO_FREE char *v = NULL, *w = NULL;

		CHECK_OK(db_meta_get(&v, db, "child"));
		CHECK_STR(v, "waited");
		CHECK_OK(db_meta_get(&w, db, "holder"));
	}
	check_sound(db);
	db_close(db);
}

#define WRITER_TX 20u
#define WRITER_ROWS 100u

struct writer {
	int go; /* read end of the start pipe */
	unsigned who;
};

/* Child: many small transactions and single writes, racing the other. */
static int race_writer(const char *path, void *ctx)
{
	struct writer *w = ctx;
	struct db *db;
	char c, key[32];

	if (read(w->go, &c, 1) != 1 || db_open(&db, path, false) < 0)
		return 10;
	snprintf(key, sizeof(key), "writer-%u", w->who);
	for (unsigned t = 0; t < WRITER_TX; t++) {
		int r = db_begin(db);

		for (unsigned i = 0; r >= 0 && i < WRITER_ROWS; i++) {
			struct db_chunk ch = chunk_make(w->who * 100000 + t * WRITER_ROWS + i, 1);

			r = db_chunk_add(db, &ch);
		}
		if (r >= 0)
			r = db_commit(db);
		if (r >= 0)
			r = db_meta_put(db, key, "busy");
		if (r >= 0)
			r = db_source_add(db, key, (int32_t)t, NULL);
		if (r < 0) {
			db_close(db);
			return r == -EBUSY ? 20 : 21;
		}
	}
	db_close(db);
	return 0;
}

static void test_two_writers_race(void)
{
	AUTO_FREE char *path = db_path("race.db");
	struct db *db = open_fresh(path);
	struct sha256 name = hash_of("race", 0);
	struct writer w[2];
	int go[2];
	pid_t pid[2];
	int64_t pack;
	uint64_t n;
	unsigned n_sources = 0;

	CHECK_EQ_I(db_pack_add(&pack, db, &name, 1000, 1, 0), 1);
	CHECK_EQ_I(pack, 1);
	db_close(db);
	CHECK(pipe(go) == 0);
	for (unsigned i = 0; i < 2; i++) {
		w[i] = (struct writer){ go[0], i + 1 };
		pid[i] = in_child(race_writer, path, &w[i]);
	}
	CHECK(write(go[1], "gg", 2) == 2);
	for (unsigned i = 0; i < 2; i++)
		CHECK_EQ_I(wait_child(pid[i]), 0);
	close(go[0]);
	close(go[1]);
	CHECK_OK(db_open(&db, path, false));
	CHECK_OK(db_chunk_count(&n, db));
	CHECK_EQ_U(n, 2 * WRITER_TX * WRITER_ROWS);
	CHECK_OK(db_source_foreach(db, count_sources, &n_sources));
	CHECK_EQ_U(n_sources, 2);
	check_sound(db);
	db_close(db);
}

/* Child: commits one batch, leaves a second open, and is killed. */
static int commit_then_die(const char *path, void *ctx)
{
	struct db *db;
	int r;

	if (db_open(&db, path, false) < 0)
		return 10;
	for (unsigned t = 0; t < 2; t++) {
		r = db_begin(db);
		for (unsigned i = 0; r >= 0 && i < 1000; i++) {
			struct db_chunk c = chunk_make(t * 1000 + i, 1);

			r = db_chunk_add(db, &c);
		}
		if (r >= 0 && t == 0)
			r = db_commit(db);
		if (r < 0)
			return 11;
	}
	raise(SIGKILL);
	return 12;
}

static void test_killed_writer_keeps_commits(void)
{
	AUTO_FREE char *path = db_path("killed.db");
	struct db *db = open_fresh(path);
	struct sha256 name = hash_of("killed", 0);
	int64_t pack;
	uint64_t n;
	pid_t pid;
	int status;

	CHECK_EQ_I(db_pack_add(&pack, db, &name, 1000, 1, 0), 1);
	db_close(db);
	pid = in_child(commit_then_die, path, NULL);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %#x",
		  status);
	CHECK_OK(db_open(&db, path, false));
	CHECK_OK(db_chunk_count(&n, db));
	CHECK_EQ_U(n, 1000);
	check_sound(db);
	db_close(db);
}

/* ---- allocation failures ------------------------------------------------ */

/* The inputs of alloc_scenario(), made before any allocation may fail. */
struct alloc_input {
	struct sha256 name;
	struct db_chunk chunks[3];
	struct db_channel channel;
	uint8_t head[100];
};

/* Everything a short sync does, on a fresh file; no CHECK in here, so a
 * failure returns with injection still to be turned off by the caller. */
static int alloc_scenario(const char *path, struct alloc_input *in)
{
	struct db *db = NULL;
	struct db_channel got = { 0 };
	char *v = NULL;
	int64_t pack = 0, run;
	int r = db_open(&db, path, true);

	if (r >= 0)
		r = db_begin(db);
	if (r >= 0)
		r = db_pack_add(&pack, db, &in->name, 100, 3, 0);
	for (unsigned i = 0; r >= 0 && i < 3; i++) {
		in->chunks[i].pack = pack;
		r = db_chunk_add(db, &in->chunks[i]);
	}
	if (r >= 0)
		r = db_commit(db);
	if (r < 0 && db)
		(void)db_rollback(db);
	if (r >= 0)
		r = db_channel_put(db, &in->channel);
	if (r >= 0)
		r = db_channel_get(&got, db, in->channel.name);
	db_channel_release(&got);
	if (r >= 0)
		r = db_source_add(db, "/media/usb0", 1, "stick");
	if (r >= 0)
		r = db_run_begin(&run, db, 1);
	if (r >= 0)
		r = db_meta_put(db, "k", "v");
	if (r >= 0)
		r = db_meta_get(&v, db, "k");
	mem_free(v);
	if (r >= 0)
		r = db_chunk_find(NULL, db, &in->chunks[2].id);
	db_close(db);
	return r < 0 ? r : 0;
}

/* Thousands of fresh stores, each fsynced a few times: on tmpfs when the
 * machine has one, since what is tested here is not the disk. */
static char *alloc_path(void)
{
	char name[64];
	char *p;

	if (access("/dev/shm", W_OK) != 0)
		return db_path("alloc.db");
	snprintf(name, sizeof(name), "ferry-test-db-%d.db", (int)getpid());
	p = fs_join("/dev/shm", name);
	CHECK(p != NULL);
	return p;
}

/* After a failed run, what is on disk is either an empty database (the
 * schema was never committed: db_open() with create finishes the job) or
 * a store that opens and is sound. */
static void check_left_behind(const char *path, long n, int r)
{
	struct db *db;
	uint64_t size = 0;
	int q;

	if (fs_file_size(&size, path) < 0 || size == 0)
		return;
	q = db_open(&db, path, false);
	if (q == -EBADMSG && strstr(err_detail(), "empty database"))
		return;
	CHECK_MSG(q == 0, "after failure %ld (%d): %s", n, r, err_detail());
	check_sound(db);
	db_close(db);
}

static void test_allocation_failures_unwind(void)
{
	AUTO_FREE char *path = alloc_path();
	struct alloc_input in;
	unsigned failures = 0, nomem = 0;
	long n;

	in.name = hash_of("alloc", 0);
	for (unsigned i = 0; i < 3; i++)
		in.chunks[i] = chunk_make(i, 0);
	in.channel = channel_make(0, in.head, sizeof(in.head));
	for (n = 0; n < 20000; n++) {
		int r;

		db_remove_files(path);
		mem_fail_after(n);
		r = alloc_scenario(path, &in);
		mem_fail_after(-1);
		if (r == 0)
			break;
		failures++;
		nomem += r == -ENOMEM;
		check_left_behind(path, n, r);
	}
	db_remove_files(path);
	CHECK(n < 20000);
	CHECK(failures > 100); /* injection reached into SQLite's own allocations */
	CHECK_MSG(nomem * 10 >= failures * 9, "%u of %u failures were -ENOMEM", nomem, failures);
	printf("# db: %u allocation failures injected, %u reported as -ENOMEM\n", failures, nomem);
}

/* ---- a million chunks --------------------------------------------------- */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static struct sha256 bench_id(uint64_t i, uint64_t salt)
{
	uint64_t s = i * 4 + salt;
	struct sha256 h;

	for (unsigned k = 0; k < 4; k++) {
		uint64_t v = splitmix(&s);

		memcpy(h.b + 8 * k, &v, 8);
	}
	return h;
}

#define BENCH_BATCH 10000u
#define BENCH_PER_PACK 1000u
#define BENCH_LOOKUPS 100000u

static unsigned long bench_rows(void)
{
	const char *s = getenv("FERRY_DB_BENCH_ROWS");
	unsigned long n = s ? strtoul(s, NULL, 10) : 1000000ul;

	return n < BENCH_BATCH ? BENCH_BATCH : n - n % BENCH_BATCH;
}

static double bench_insert(struct db *db, unsigned long rows, double *last_batch)
{
	double t0 = now_s(), tb = t0;
	int64_t pack = 0;

	for (unsigned long i = 0; i < rows; i++) {
		struct db_chunk c = { .id = bench_id(i, 1), .type = PACK_ENTRY_ZSTD };

		if (i % BENCH_BATCH == 0) {
			tb = now_s();
			CHECK_OK(db_begin(db));
		}
		if (i % BENCH_PER_PACK == 0) {
			struct sha256 name = bench_id(i, 7);

			CHECK_EQ_I(db_pack_add(&pack, db, &name, 64u << 20, BENCH_PER_PACK, 0), 1);
		}
		c.pack = pack;
		c.offset = PACK_HEADER_LEN + (i % BENCH_PER_PACK) * 60000ull;
		c.raw_len = 65536;
		c.stored_len = 40000 + (uint32_t)(i % 1000);
		CHECK_EQ_I(db_chunk_add(db, &c), 1);
		if (i % BENCH_BATCH == BENCH_BATCH - 1)
			CHECK_OK(db_commit(db));
	}
	*last_batch = now_s() - tb;
	return now_s() - t0;
}

static double bench_lookup(struct db *db, unsigned long rows, bool present)
{
	uint64_t s = present ? 42 : 43;
	double t0 = now_s();

	for (unsigned i = 0; i < BENCH_LOOKUPS; i++) {
		uint64_t k = splitmix(&s) % rows;
		struct db_chunk c;

		if (present) {
			struct sha256 id = bench_id(k, 1);

			CHECK_OK(db_chunk_find(&c, db, &id));
			CHECK_EQ_U(c.offset, PACK_HEADER_LEN + (k % BENCH_PER_PACK) * 60000ull);
		} else {
			struct sha256 id = bench_id(k, 3);

			CHECK(db_chunk_find(&c, db, &id) == -ENOENT);
		}
	}
	return now_s() - t0;
}

static void test_million_chunks(void)
{
	AUTO_FREE char *path = db_path("bench.db");
	unsigned long rows = bench_rows();
	struct db *db = open_fresh(path);
	struct db_stats st;
	struct rusage ru;
	double ins, last, hit, miss, cnt;
	uint64_t n, size;

	ins = bench_insert(db, rows, &last);
	cnt = now_s();
	CHECK_OK(db_chunk_count(&n, db));
	cnt = now_s() - cnt;
	CHECK_EQ_U(n, rows);
	hit = bench_lookup(db, rows, true);
	miss = bench_lookup(db, rows, false);
	db_stats_get(&st, db);
	db_close(db);
	CHECK_OK(fs_file_size(&size, path));
	CHECK(getrusage(RUSAGE_SELF, &ru) == 0);
	printf("# db bench: %lu chunks in %lu transactions of %u: %.2f s (%.2f us/chunk; "
	       "last batch %.3f s)\n",
	       rows, rows / BENCH_BATCH, BENCH_BATCH, ins, ins * 1e6 / (double)rows, last);
	printf("# db bench: %u random lookups: present %.2f s (%.2f us each), absent %.2f s "
	       "(%.2f us each)\n",
	       BENCH_LOOKUPS, hit, hit * 1e6 / BENCH_LOOKUPS, miss, miss * 1e6 / BENCH_LOOKUPS);
	printf("# db bench: count %.3f s; file %.1f MiB (%.1f bytes/chunk); SQLite heap peak "
	       "%.1f MiB, page cache %.1f MiB; process peak RSS %.1f MiB\n",
	       cnt, (double)size / 1048576.0, (double)size / (double)rows,
	       (double)st.heap_peak / 1048576.0, (double)st.cache_bytes / 1048576.0,
	       (double)ru.ru_maxrss / 1024.0);
	/* Memory stays bounded however many rows: the page cache at its cap. */
	CHECK(st.cache_bytes <= DB_CACHE_BYTES + (1u << 20));
	CHECK(st.heap_peak <= 4u * DB_CACHE_BYTES);
	db_remove_files(path);
}

int main(void)
{
	return t_main((struct t_case[]){
		{ "every table round-trips, and survives close and reopen",
		  test_every_table_round_trips },
		{ "a missing file is -ENOENT unless created", test_missing_file },
		{ "chunks and packs: first copy wins, gc removes", test_chunks_and_packs },
		{ "channels: the seen version only goes up", test_channels_and_seen_versions },
		{ "pending, subscriptions, trust", test_pending_subscriptions_trust },
		{ "sources and their cache, runs, meta", test_sources_runs_meta },
		{ "walks stop on request and allow writes", test_walks_stop_and_nest },
		{ "bad arguments are refused and change nothing",
		  test_bad_arguments_change_nothing },
		{ "a rolled back transaction leaves nothing", test_rollback_leaves_nothing },
		{ "a second connection sees committed data only",
		  test_second_connection_sees_commits },
		{ "a newer schema version is refused", test_newer_schema_is_refused },
		{ "files that are not stores are refused", test_foreign_files_are_refused },
		{ "a planted or altered schema is refused", test_planted_schema_is_refused },
		{ "rows breaking a column's rule are -EBADMSG", test_malformed_rows_are_refused },
		{ "a truncated store is refused", test_truncated_store_is_refused },
		{ "garbage pages give -EBADMSG and db_check finds them",
		  test_garbage_pages_are_found },
		{ "a second writer waits, then gets -EBUSY", test_writer_waits_then_busy },
		{ "two processes writing at once both land", test_two_writers_race },
		{ "a writer killed after a commit keeps it", test_killed_writer_keeps_commits },
		{ "every allocation failure unwinds cleanly", test_allocation_failures_unwind },
		{ "a million chunks: insert and lookup (measured)", test_million_chunks },
		{ 0 } });
}
