/*
 * test_pack.c — packs end to end: writing and reading back by byte range,
 * index lookups, the cap, refusals (empty, duplicate, malformed entries),
 * crash safety (no file left by an unfinished or failed writer), strict
 * index parsing, and pack_verify() catching a flipped bit anywhere in a
 * pack or its .idx, a truncation, a lone pack, a chunk that lies about its
 * ID; plus allocation failure in the writer, the index parser and the
 * verifier.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/bytes.h"
#include "core/codec_text.h"
#include "core/fsx.h"
#include "core/mem.h"
#include "packager/pack.h"
#include "tests/harness.h"

/* ---- fixtures ----------------------------------------------------------- */

struct chunk {
	uint8_t *raw;
	size_t len;
	struct sha256 id;
};

struct chunks {
	struct chunk *c;
	size_t n;
};

static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* n chunks of 1..max_len bytes: a third random (stored raw), a third text
 * (zstd), a third runs of one byte (zstd). */
static struct chunks make_chunks(size_t n, size_t max_len, uint64_t seed)
{
	static const char *words[] = {"lesson ", "grade ", "ferry ", "math ", "the ", "\n"};
	struct chunks cs = {mem_calloc(n, sizeof(struct chunk)), n};

	CHECK(cs.c);
	rng_state = seed * 0x9E3779B97F4A7C15ull + 1;
	for (size_t i = 0; i < n; i++) {
		struct chunk *c = &cs.c[i];

		c->len = 1 + (size_t)(rng() % max_len);
		c->raw = mem_alloc(c->len);
		CHECK(c->raw);
		for (size_t j = 0; j < c->len;) {
			if (i % 3 == 0) {
				c->raw[j++] = (uint8_t)rng();
			} else if (i % 3 == 1) {
				const char *w = words[rng() % ARRAY_SIZE(words)];

				for (; *w && j < c->len; w++)
					c->raw[j++] = (uint8_t)*w;
			} else {
				c->raw[j] = (uint8_t)(i + j / 512);
				j++;
			}
		}
		sha256_buf(&c->id, c->raw, c->len);
	}
	return cs;
}

static void free_chunks(struct chunks *cs)
{
	for (size_t i = 0; i < cs->n; i++)
		mem_free(cs->c[i].raw);
	mem_free(cs->c);
}

static struct codec *codec;

static struct codec *the_codec(void)
{
	if (!codec)
		CHECK_OK(codec_new(&codec, CODEC_LEVEL_DEFAULT));
	return codec;
}

/* Encodes and adds one chunk; returns pack_writer_add()'s result.  The
 * scratch buffer is the test's own (malloc), so allocation-failure runs
 * fail only the library's allocations. */
static int add_chunk(struct pack_writer *w, const struct chunk *c, uint8_t *type_out)
{
	uint8_t *scratch = malloc(c->len);
	const uint8_t *stored;
	size_t stored_len;
	uint8_t type = 0;
	int r;

	CHECK(scratch);
	r = pack_chunk_encode(&type, &stored, &stored_len, the_codec(), scratch, c->len, c->raw,
			      c->len);
	if (r >= 0)
		r = pack_writer_add(w, &c->id, type, stored, stored_len, (uint32_t)c->len);
	free(scratch);
	if (type_out)
		*type_out = type;
	return r;
}

struct packed {
	char dir[512];
	char pack[700];
	char idx[700];
	struct sha256 name;
	uint64_t size;
};

static void packed_paths(struct packed *p)
{
	char *s = NULL;

	CHECK_OK(pack_path_make(&s, p->dir, &p->name, PACK_SUFFIX));
	snprintf(p->pack, sizeof(p->pack), "%s", s);
	mem_free(s);
	CHECK_OK(pack_path_make(&s, p->dir, &p->name, PACK_IDX_SUFFIX));
	snprintf(p->idx, sizeof(p->idx), "%s", s);
	mem_free(s);
}

/* Writes all of cs into one pack under <tmp>/<sub>. */
static struct packed write_pack(const char *sub, const struct chunks *cs, uint64_t max)
{
	struct packed p;
	struct pack_writer *w = NULL;

	snprintf(p.dir, sizeof(p.dir), "%s/%s", t_tmpdir(), sub);
	CHECK_OK(pack_writer_new(&w, p.dir, max));
	for (size_t i = 0; i < cs->n; i++)
		CHECK_OK(add_chunk(w, &cs->c[i], NULL));
	CHECK_EQ_U(pack_writer_count(w), cs->n);
	CHECK_OK(pack_writer_finish(w, &p.name, &p.size));
	pack_writer_free(w);
	packed_paths(&p);
	return p;
}

static void read_all(struct buf *b, const char *path)
{
	buf_init(b, 1u << 30);
	CHECK_OK(fs_read_file(b, path, (1u << 30) - (1u << 20)));
}

static void write_all(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	CHECK_MSG(f, "cannot write %s", path);
	CHECK(n == 0 || fwrite(p, 1, n, f) == n);
	CHECK(fclose(f) == 0);
}

/* Counts regular files under dir (recursively): all of them, and those
 * named like a temporary, a pack and an index. */
struct census {
	size_t files, tmps, packs, idxs;
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void census_take(struct census *c, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[1024];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		CHECK(lstat(path, &st) == 0);
		if (S_ISDIR(st.st_mode)) {
			census_take(c, path);
			continue;
		}
		c->files++;
		c->tmps += strstr(e->d_name, ".tmp-") != NULL;
		c->packs += ends_with(e->d_name, PACK_SUFFIX);
		c->idxs += ends_with(e->d_name, PACK_IDX_SUFFIX);
	}
	closedir(d);
}

static size_t count_files(const char *dir, size_t *tmps)
{
	struct census c = {0};

	census_take(&c, dir);
	*tmps += c.tmps;
	return c.files;
}

/* Problem lines collected by pack_verify(). */
struct lines {
	struct buf b;
	size_t n;
};

static int collect(const char *line, void *ctx)
{
	struct lines *l = ctx;

	l->n++;
	if (buf_append_str(&l->b, line) < 0 || buf_append_byte(&l->b, '\n') < 0)
		return -ENOMEM;
	return 0;
}

static int verify(struct lines *l, uint64_t *good, const char *pack, const char *idx)
{
	buf_init(&l->b, 1u << 20);
	l->n = 0;
	return pack_verify(good, pack, idx, collect, l);
}

/* ---- writing and reading ------------------------------------------------ */

/* Fetches one entry as a byte range of the pack file and decodes it. */
static void check_entry(int fd, const struct pack_entry *e, const struct chunk *c)
{
	size_t len = PACK_ENTRY_HEADER_LEN + e->stored_len;
	uint8_t *bytes = mem_alloc(len + 1), *raw = mem_alloc(c->len);
	const uint8_t *payload = NULL;
	struct pack_entry h;

	CHECK(bytes && raw);
	CHECK_OK(fs_pread_all(fd, bytes, len, e->offset));
	CHECK_EQ_I(pack_entry_parse(&h, &payload, bytes, len), (long long)len);
	CHECK(memcmp(h.id.b, c->id.b, SHA256_LEN) == 0);
	CHECK_EQ_U(h.raw_len, c->len);
	CHECK_EQ_U(h.type, e->type);
	CHECK(payload == bytes + PACK_ENTRY_HEADER_LEN);
	CHECK_OK(pack_entry_decode(raw, c->len, &h, payload, the_codec()));
	CHECK(memcmp(raw, c->raw, c->len) == 0);
	/* more bytes after the entry are fine; one fewer is not */
	CHECK_EQ_I(pack_entry_parse(&h, &payload, bytes, len + 1), (long long)len);
	CHECK_EQ_I(pack_entry_parse(&h, &payload, bytes, len - 1), -EBADMSG);
	mem_free(bytes);
	mem_free(raw);
}

static void test_round_trip(void)
{
	struct chunks cs = make_chunks(300, 20000, 1);
	struct packed p = write_pack("rt", &cs, 0);
	struct pack_index *idx = NULL;
	size_t types[4] = {0}, tmps = 0;
	struct sha256 sum;
	struct lines l;
	uint64_t good = 0;
	struct buf b;
	int fd;

	read_all(&b, p.pack);
	CHECK_EQ_U(b.len, p.size);
	sha256_buf(&sum, b.data, b.len);
	CHECK(memcmp(sum.b, p.name.b, SHA256_LEN) == 0);
	CHECK(memcmp(b.data, PACK_MAGIC, PACK_MAGIC_LEN) == 0);
	CHECK(memcmp(b.data + b.len - PACK_MAGIC_LEN, PACK_END_MAGIC, PACK_MAGIC_LEN) == 0);
	buf_release(&b);
	CHECK_EQ_U(count_files(p.dir, &tmps), 2);
	CHECK_EQ_U(tmps, 0);
	CHECK_OK(pack_index_load(&idx, p.idx));
	CHECK_EQ_U(pack_index_count(idx), cs.n);
	CHECK_EQ_U(pack_index_pack_size(idx), p.size);
	CHECK(memcmp(pack_index_name(idx)->b, p.name.b, SHA256_LEN) == 0);
	fd = open(p.pack, O_RDONLY);
	CHECK(fd >= 0);
	for (size_t i = 0; i < cs.n; i++) {
		struct pack_entry e;

		CHECK_OK(pack_index_find(&e, idx, &cs.c[i].id));
		types[e.type & 3]++;
		CHECK_EQ_U(e.raw_len, cs.c[i].len);
		check_entry(fd, &e, &cs.c[i]);
	}
	close(fd);
	CHECK_MSG(types[PACK_ENTRY_ZSTD] > 100 && types[PACK_ENTRY_RAW] >= 90, "zstd %zu raw %zu",
		  types[PACK_ENTRY_ZSTD], types[PACK_ENTRY_RAW]);
	CHECK_OK(verify(&l, &good, p.pack, p.idx));
	CHECK_EQ_U(l.n, 0);
	CHECK_EQ_U(good, cs.n);
	buf_release(&l.b);
	pack_index_free(idx);
	free_chunks(&cs);
}

static void test_lookups(void)
{
	struct chunks cs = make_chunks(200, 3000, 2);
	struct packed p = write_pack("lookup", &cs, 0);
	struct pack_index *idx = NULL;
	struct pack_entry e, prev;
	struct sha256 missing;
	uint64_t pos = PACK_HEADER_LEN;

	CHECK_OK(pack_index_load(&idx, p.idx));
	for (size_t i = 0; i < pack_index_count(idx); i++) {
		pack_index_get(&e, idx, i);
		if (i)
			CHECK(memcmp(prev.id.b, e.id.b, SHA256_LEN) < 0);
		prev = e;
	}
	/* file order is write order, and the entries tile the pack */
	for (size_t k = 0; k < pack_index_count(idx); k++) {
		pack_index_get_by_offset(&e, idx, k);
		CHECK(memcmp(e.id.b, cs.c[k].id.b, SHA256_LEN) == 0);
		CHECK_EQ_U(e.offset, pos);
		pos += PACK_ENTRY_HEADER_LEN + e.stored_len;
	}
	CHECK_EQ_U(pos + cs.n * PACK_RECORD_LEN + PACK_FOOTER_LEN, p.size);
	for (size_t i = 0; i < cs.n; i++) {
		CHECK_OK(pack_index_find(&e, idx, &cs.c[i].id));
		CHECK(memcmp(e.id.b, cs.c[i].id.b, SHA256_LEN) == 0);
	}
	pack_index_get(&e, idx, 0);
	missing = e.id;
	missing.b[SHA256_LEN - 1] ^= 1;
	CHECK_EQ_I(pack_index_find(&e, idx, &missing), -ENOENT);
	memset(missing.b, 0, SHA256_LEN);
	CHECK_EQ_I(pack_index_find(&e, idx, &missing), -ENOENT);
	memset(missing.b, 0xff, SHA256_LEN);
	CHECK_EQ_I(pack_index_find(&e, idx, &missing), -ENOENT);
	pack_index_free(idx);
	free_chunks(&cs);
}

static void test_cap(void)
{
	struct chunks cs = make_chunks(400, 4000, 3);
	const uint64_t cap = 96u << 10;
	struct pack_writer *w = NULL;
	struct packed p;
	struct lines l;
	uint64_t good = 0;
	size_t i;

	snprintf(p.dir, sizeof(p.dir), "%s/cap", t_tmpdir());
	CHECK_OK(pack_writer_new(&w, p.dir, cap));
	for (i = 0; i < cs.n; i++) {
		int r = add_chunk(w, &cs.c[i], NULL);

		if (r == -EFBIG)
			break;
		CHECK_OK(r);
	}
	CHECK_MSG(i > 10 && i < cs.n, "stopped after %zu chunks", i);
	CHECK(!pack_writer_fits(w, cs.c[i].len));
	CHECK(!pack_writer_fits(w, LIMIT_CHUNK_MAX + 1));
	CHECK_EQ_U(pack_writer_count(w), i);
	CHECK_OK(pack_writer_finish(w, &p.name, &p.size));
	pack_writer_free(w);
	CHECK(p.size <= cap);
	/* the refused chunk (stored raw at worst) really would not have fit */
	CHECK(p.size + PACK_ENTRY_HEADER_LEN + cs.c[i].len + PACK_RECORD_LEN > cap);
	packed_paths(&p);
	CHECK_OK(verify(&l, &good, p.pack, p.idx));
	CHECK_EQ_U(good, i);
	buf_release(&l.b);
	/* exactly at the boundary: room for five 100-byte raw entries */
	{
		const uint64_t exact = PACK_HEADER_LEN + PACK_FOOTER_LEN +
				       5 * (PACK_ENTRY_HEADER_LEN + 100 + PACK_RECORD_LEN);
		uint8_t raw[101] = {0};

		snprintf(p.dir, sizeof(p.dir), "%s/cap-exact", t_tmpdir());
		CHECK_OK(pack_writer_new(&w, p.dir, exact));
		for (uint8_t k = 0; k < 5; k++) {
			struct sha256 id = {{k}};

			CHECK(pack_writer_fits(w, 100));
			CHECK(k < 4 || !pack_writer_fits(w, 101));
			CHECK_OK(pack_writer_add(w, &id, PACK_ENTRY_RAW, raw, 100, 100));
		}
		CHECK(!pack_writer_fits(w, 1));
		CHECK_EQ_I(pack_writer_add(w, &(struct sha256){{9}}, PACK_ENTRY_RAW, raw, 1, 1),
			   -EFBIG);
		CHECK_OK(pack_writer_finish(w, &p.name, &p.size));
		CHECK_EQ_U(p.size, exact);
		pack_writer_free(w);
	}
	CHECK_EQ_I(pack_writer_new(&w, p.dir, PACK_MIN_BYTES - 1), -EINVAL);
	CHECK_EQ_I(pack_writer_new(&w, p.dir, LIMIT_PACK_BYTES + 1), -EFBIG);
	free_chunks(&cs);
}

static void test_empty_refused(void)
{
	struct pack_writer *w = NULL;
	struct sha256 name;
	uint64_t size;
	char dir[600];
	size_t tmps = 0;

	snprintf(dir, sizeof(dir), "%s/empty", t_tmpdir());
	CHECK_OK(pack_writer_new(&w, dir, 0));
	CHECK_EQ_I(pack_writer_finish(w, &name, &size), -EINVAL);
	CHECK_EQ_I(pack_writer_finish(w, &name, &size), -EINVAL);
	CHECK_EQ_U(count_files(dir, &tmps), 0);
	pack_writer_free(w);
	pack_writer_free(NULL);
}

static void test_duplicate_refused(void)
{
	struct chunks cs = make_chunks(10, 1000, 4);
	struct pack_writer *w = NULL;
	struct packed p;
	struct pack_index *idx = NULL;

	snprintf(p.dir, sizeof(p.dir), "%s/dup", t_tmpdir());
	CHECK_OK(pack_writer_new(&w, p.dir, 0));
	for (size_t i = 0; i < cs.n; i++)
		CHECK_OK(add_chunk(w, &cs.c[i], NULL));
	for (size_t i = 0; i < cs.n; i++)
		CHECK_EQ_I(add_chunk(w, &cs.c[i], NULL), -EEXIST);
	CHECK_EQ_U(pack_writer_count(w), cs.n);
	CHECK_OK(pack_writer_finish(w, &p.name, &p.size));
	pack_writer_free(w);
	packed_paths(&p);
	CHECK_OK(pack_index_load(&idx, p.idx));
	CHECK_EQ_U(pack_index_count(idx), cs.n);
	pack_index_free(idx);
	free_chunks(&cs);
}

/* Many entries: the writer's ID set grows and rehashes. */
static void test_many_entries(void)
{
	struct pack_writer *w = NULL;
	struct pack_index *idx = NULL;
	struct packed p;
	const size_t n = 20000;
	struct lines l;
	uint64_t good = 0;

	snprintf(p.dir, sizeof(p.dir), "%s/many", t_tmpdir());
	CHECK_OK(pack_writer_new(&w, p.dir, 0));
	for (uint32_t i = 0; i < n; i++) {
		uint8_t raw[4];
		struct sha256 id;

		put_le32(raw, i);
		sha256_buf(&id, raw, sizeof(raw));
		CHECK_OK(pack_writer_add(w, &id, PACK_ENTRY_RAW, raw, sizeof(raw), sizeof(raw)));
		if (i % 1000 == 0)
			CHECK_EQ_I(pack_writer_add(w, &id, PACK_ENTRY_RAW, raw, 4, 4), -EEXIST);
	}
	CHECK_OK(pack_writer_finish(w, &p.name, &p.size));
	pack_writer_free(w);
	packed_paths(&p);
	CHECK_OK(pack_index_load(&idx, p.idx));
	CHECK_EQ_U(pack_index_count(idx), n);
	pack_index_free(idx);
	CHECK_OK(verify(&l, &good, p.pack, p.idx));
	CHECK_EQ_U(good, n);
	buf_release(&l.b);
}

static void test_bad_entries_refused(void)
{
	static const struct {
		uint8_t type;
		size_t stored;
		uint32_t raw;
		int want;
	} cases[] = {
	    {PACK_ENTRY_DELTA, 0, 20, -EINVAL},
	    {PACK_ENTRY_DELTA, 10, 0, -EINVAL},
	    {PACK_ENTRY_DELTA, LIMIT_DELTA_BYTES + 1, 20, -EINVAL},
	    {0, 10, 10, -EINVAL},
	    {9, 10, 10, -EINVAL},
	    {PACK_ENTRY_RAW, 10, 11, -EINVAL},
	    {PACK_ENTRY_ZSTD, 10, 10, -EINVAL},
	    {PACK_ENTRY_ZSTD, 11, 10, -EINVAL},
	    {PACK_ENTRY_ZSTD, 0, 10, -EINVAL},
	    {PACK_ENTRY_RAW, 0, 0, -EINVAL},
	    {PACK_ENTRY_RAW, LIMIT_CHUNK_MAX + 1, LIMIT_CHUNK_MAX + 1, -EINVAL},
	    {PACK_ENTRY_ZSTD, 100, LIMIT_CHUNK_MAX + 1, -EINVAL},
	};
	static uint8_t bytes[LIMIT_CHUNK_MAX + 1];
	struct pack_writer *w = NULL;
	struct sha256 id = {{1}};
	char dir[600];

	snprintf(dir, sizeof(dir), "%s/bad", t_tmpdir());
	CHECK_OK(pack_writer_new(&w, dir, 0));
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		CHECK_MSG(pack_writer_add(w, &id, cases[i].type, bytes, cases[i].stored,
					  cases[i].raw) == cases[i].want,
			  "case %zu", i);
	CHECK_EQ_U(pack_writer_count(w), 0);
	/* still usable */
	CHECK_OK(pack_writer_add(w, &id, PACK_ENTRY_RAW, bytes, 5, 5));
	pack_writer_free(w);
}

static void test_unfinished_leaves_nothing(void)
{
	struct chunks cs = make_chunks(30, 5000, 5);
	struct pack_writer *w = NULL;
	char dir[600];
	size_t tmps = 0;

	snprintf(dir, sizeof(dir), "%s/unfinished", t_tmpdir());
	CHECK_OK(pack_writer_new(&w, dir, 0));
	for (size_t i = 0; i < cs.n; i++)
		CHECK_OK(add_chunk(w, &cs.c[i], NULL));
	CHECK_EQ_U(count_files(dir, &tmps), 1);
	CHECK_EQ_U(tmps, 1);
	pack_writer_free(w);
	tmps = 0;
	CHECK_EQ_U(count_files(dir, &tmps), 0);
	free_chunks(&cs);
}

/* A write that fails (the file-size rlimit) sticks, and nothing stays. */
static void test_write_error_sticks(void)
{
	struct chunks cs = make_chunks(60, 4000, 6);
	struct pack_writer *w = NULL;
	struct rlimit old, lim;
	struct sha256 name;
	uint64_t size;
	char dir[600];
	size_t i, tmps = 0;
	int r = 0;

	snprintf(dir, sizeof(dir), "%s/wfail", t_tmpdir());
	CHECK_OK(pack_writer_new(&w, dir, 0));
	CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	lim = old;
	lim.rlim_cur = 20000;
	signal(SIGXFSZ, SIG_IGN);
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	for (i = 0; i < cs.n && r >= 0; i++)
		r = add_chunk(w, &cs.c[i], NULL);
	CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
	CHECK_EQ_I(r, -EFBIG);
	CHECK_EQ_I(add_chunk(w, &cs.c[i], NULL), -EFBIG);
	CHECK_EQ_I(pack_writer_finish(w, &name, &size), -EFBIG);
	pack_writer_free(w);
	CHECK_EQ_U(count_files(dir, &tmps), 0);
	free_chunks(&cs);
}

static void test_deterministic(void)
{
	struct chunks cs = make_chunks(50, 3000, 7);
	struct packed a = write_pack("det-a", &cs, 0), b = write_pack("det-b", &cs, 0);
	struct buf x, y;

	CHECK(memcmp(a.name.b, b.name.b, SHA256_LEN) == 0);
	read_all(&x, a.idx);
	read_all(&y, b.idx);
	CHECK(x.len == y.len && memcmp(x.data, y.data, x.len) == 0);
	buf_release(&x);
	buf_release(&y);
	free_chunks(&cs);
}

static void test_paths(void)
{
	struct sha256 name, back;
	char *s = NULL;
	char want[200];

	for (int i = 0; i < SHA256_LEN; i++)
		name.b[i] = (uint8_t)(0xab + i);
	CHECK_OK(pack_path_make(&s, "repo/packs", &name, PACK_SUFFIX));
	snprintf(want, sizeof(want), "repo/packs/ab/");
	for (int i = 0; i < SHA256_LEN; i++)
		snprintf(want + strlen(want), 3, "%02x", name.b[i]);
	strcat(want, ".pack");
	CHECK_STR(s, want);
	CHECK_OK(pack_name_from_path(&back, s, PACK_SUFFIX));
	CHECK(memcmp(back.b, name.b, SHA256_LEN) == 0);
	CHECK_EQ_I(pack_name_from_path(&back, s, PACK_IDX_SUFFIX), -EBADMSG);
	CHECK_OK(pack_name_from_path(&back, strrchr(s, '/') + 1, PACK_SUFFIX));
	s[strlen(s) - 6] = 'A'; /* upper case is not a name */
	CHECK_EQ_I(pack_name_from_path(&back, s, PACK_SUFFIX), -EBADMSG);
	s[strlen(s) - 6] = 'g';
	CHECK_EQ_I(pack_name_from_path(&back, s, PACK_SUFFIX), -EBADMSG);
	CHECK_EQ_I(pack_name_from_path(&back, "ab.pack", PACK_SUFFIX), -EBADMSG);
	CHECK_EQ_I(pack_name_from_path(&back, "", PACK_SUFFIX), -EBADMSG);
	mem_free(s);
}

/* One entry fetched as a byte range: its payload is a frame `zstd -d`
 * reads, and `sha256sum` of the result is the chunk ID. */
static void test_zstd_cli_reads_entry(void)
{
	struct chunks cs = make_chunks(6, 30000, 8);
	struct packed p = write_pack("cli", &cs, 0);
	struct pack_index *idx = NULL;
	struct pack_entry e, h;
	const uint8_t *payload;
	char frame[700], cmd[1600], out[100] = "", hex[2 * SHA256_LEN + 1];
	uint8_t *bytes;
	FILE *f;
	int fd;

	CHECK_OK(pack_index_load(&idx, p.idx));
	for (size_t i = 0; i < pack_index_count(idx); i++) {
		pack_index_get(&e, idx, i);
		if (e.type == PACK_ENTRY_ZSTD)
			break;
	}
	CHECK_EQ_U(e.type, PACK_ENTRY_ZSTD);
	bytes = mem_alloc(PACK_ENTRY_HEADER_LEN + e.stored_len);
	fd = open(p.pack, O_RDONLY);
	CHECK_OK(fs_pread_all(fd, bytes, PACK_ENTRY_HEADER_LEN + e.stored_len, e.offset));
	close(fd);
	CHECK_OK(pack_entry_parse(&h, &payload, bytes, PACK_ENTRY_HEADER_LEN + e.stored_len));
	snprintf(frame, sizeof(frame), "%s/entry.zst", t_tmpdir());
	write_all(frame, payload, h.stored_len);
	snprintf(cmd, sizeof(cmd), "zstd -q -d -c '%s' | sha256sum", frame);
	f = popen(cmd, "r");
	CHECK(f);
	CHECK(fgets(out, sizeof(out), f));
	CHECK_EQ_I(pclose(f), 0);
	hex_encode(hex, e.id.b, SHA256_LEN);
	CHECK_MSG(strncmp(out, hex, 64) == 0, "sha256sum says %.64s", out);
	mem_free(bytes);
	pack_index_free(idx);
	free_chunks(&cs);
}

/* ---- entries ------------------------------------------------------------ */

static void test_entry_parse(void)
{
	uint8_t e[PACK_ENTRY_HEADER_LEN + 8] = {0}, raw[8];
	struct pack_entry h;
	const uint8_t *payload;

	e[PACK_EH_TYPE] = PACK_ENTRY_RAW;
	put_le32(e + PACK_EH_STORED_LEN, 8);
	put_le32(e + PACK_EH_RAW_LEN, 8);
	memcpy(e + PACK_ENTRY_HEADER_LEN, "eightbyt", 8);
	sha256_buf((struct sha256 *)(e + PACK_EH_ID), "eightbyt", 8);
	CHECK_EQ_I(pack_entry_parse(&h, &payload, e, sizeof(e)), (long long)sizeof(e));
	CHECK_EQ_U(h.offset, 0);
	CHECK_OK(pack_entry_decode(raw, sizeof(raw), &h, payload, the_codec()));
	CHECK(memcmp(raw, "eightbyt", 8) == 0);
	CHECK_EQ_I(pack_entry_decode(raw, 7, &h, payload, the_codec()), -EFBIG);
	e[PACK_ENTRY_HEADER_LEN] ^= 1; /* content no longer matches the ID */
	CHECK_OK(pack_entry_parse(&h, &payload, e, sizeof(e)));
	CHECK_EQ_I(pack_entry_decode(raw, sizeof(raw), &h, payload, the_codec()), -EBADMSG);
	e[PACK_ENTRY_HEADER_LEN] ^= 1;
	for (size_t n = 0; n < sizeof(e); n++)
		CHECK_EQ_I(pack_entry_parse(&h, &payload, e, n), -EBADMSG);
	e[PACK_EH_RESERVED + 2] = 1;
	CHECK_EQ_I(pack_entry_parse(&h, &payload, e, sizeof(e)), -EBADMSG);
	e[PACK_EH_RESERVED + 2] = 0;
	e[PACK_EH_TYPE] = PACK_ENTRY_DELTA; /* well formed, but no chunk and no frame */
	CHECK_OK(pack_entry_parse(&h, &payload, e, sizeof(e)));
	CHECK_EQ_I(pack_entry_decode(raw, sizeof(raw), &h, payload, the_codec()), -EINVAL);
	CHECK_EQ_I(pack_delta_check(&h, payload), -EBADMSG);
	e[PACK_EH_TYPE] = PACK_ENTRY_ZSTD; /* zstd entries must be smaller */
	CHECK_EQ_I(pack_entry_parse(&h, &payload, e, sizeof(e)), -EBADMSG);
	put_le32(e + PACK_EH_RAW_LEN, 9); /* a zstd entry that is no frame */
	CHECK_OK(pack_entry_parse(&h, &payload, e, sizeof(e)));
	CHECK_EQ_I(pack_entry_decode(raw, sizeof(raw), &h, payload, the_codec()), -EFBIG);
	{
		uint8_t big[16];

		CHECK_EQ_I(pack_entry_decode(big, sizeof(big), &h, payload, the_codec()), -EBADMSG);
	}
}

/* ---- index parsing ------------------------------------------------------ */

static void reseal(uint8_t *idx, size_t n)
{
	sha256_buf((struct sha256 *)(idx + n - SHA256_LEN), idx, n - SHA256_LEN);
}

enum mutation {
	M_NONE,
	M_SWAP,
	M_DUP_ID,
	M_OFFSET,
	M_STORED,
	M_TYPE4, /* type 3 is the delta; 4 is unknown */
	M_TYPE0,
	M_PADDING,
	M_SIZE_PLUS,
	M_SIZE_HUGE,
	M_VERSION,
	M_FLAGS,
	M_RESERVED,
	M_COUNT_PLUS,
	M_COUNT_HUGE,
	M_SHORTER,
	M_MAGIC,
	M_EMPTY,
	M_OFFSET_FAR,
	M_RAW_ZERO,
	M_RAW_HUGE,
	M_OFFSET_LOW,
	M_SIZE_SMALL,
	M_COUNT
};

static size_t mutate(uint8_t *x, size_t n, enum mutation m)
{
	uint8_t *r0 = x + PACK_IDX_HEADER_LEN, *r1 = r0 + PACK_RECORD_LEN, tmp[PACK_RECORD_LEN];

	switch (m) {
	case M_NONE:
		break;
	case M_SWAP:
		memcpy(tmp, r0, PACK_RECORD_LEN);
		memcpy(r0, r1, PACK_RECORD_LEN);
		memcpy(r1, tmp, PACK_RECORD_LEN);
		break;
	case M_DUP_ID:
		memcpy(r1 + PACK_REC_ID, r0 + PACK_REC_ID, SHA256_LEN);
		break;
	case M_OFFSET:
		put_le64(r0 + PACK_REC_OFFSET, get_le64(r0 + PACK_REC_OFFSET) + 1);
		break;
	case M_STORED: /* a zstd record: one byte shorter is still a legal entry */
		while (r0[PACK_REC_TYPE] != PACK_ENTRY_ZSTD)
			r0 += PACK_RECORD_LEN;
		put_le32(r0 + PACK_REC_STORED_LEN, get_le32(r0 + PACK_REC_STORED_LEN) - 1);
		break;
	case M_TYPE4:
		r0[PACK_REC_TYPE] = PACK_ENTRY_DELTA + 1;
		break;
	case M_TYPE0:
		r0[PACK_REC_TYPE] = 0;
		break;
	case M_PADDING:
		r1[PACK_RECORD_LEN - 1] = 1;
		break;
	case M_SIZE_PLUS:
		put_le64(x + PACK_IDX_PACK_SIZE_OFF, get_le64(x + PACK_IDX_PACK_SIZE_OFF) + 1);
		break;
	case M_SIZE_HUGE:
		put_le64(x + PACK_IDX_PACK_SIZE_OFF, 1ull << 32);
		break;
	case M_SIZE_SMALL:
		put_le64(x + PACK_IDX_PACK_SIZE_OFF, 100);
		break;
	case M_VERSION:
		put_le32(x + PACK_IDX_VERSION_OFF, 2);
		break;
	case M_FLAGS:
		put_le32(x + PACK_IDX_FLAGS_OFF, 1);
		break;
	case M_RESERVED:
		put_le32(x + PACK_IDX_RESERVED_OFF, 1u << 31);
		break;
	case M_COUNT_PLUS:
		put_le32(x + PACK_IDX_COUNT_OFF, get_le32(x + PACK_IDX_COUNT_OFF) + 1);
		break;
	case M_COUNT_HUGE:
		put_le32(x + PACK_IDX_COUNT_OFF, LIMIT_PACK_ENTRIES + 1);
		break;
	case M_SHORTER:
		n -= 1;
		break;
	case M_MAGIC:
		x[3] ^= 0x20;
		break;
	case M_EMPTY:
		put_le32(x + PACK_IDX_COUNT_OFF, 0);
		n = PACK_IDX_HEADER_LEN + PACK_IDX_TRAILER_LEN;
		break;
	case M_OFFSET_FAR:
		put_le64(r0 + PACK_REC_OFFSET, 1ull << 40);
		break;
	case M_OFFSET_LOW:
		put_le64(r0 + PACK_REC_OFFSET, 3);
		break;
	case M_RAW_ZERO:
		put_le32(r0 + PACK_REC_RAW_LEN, 0);
		break;
	case M_RAW_HUGE:
		put_le32(r0 + PACK_REC_RAW_LEN, LIMIT_CHUNK_MAX + 1);
		break;
	case M_COUNT:
		break;
	}
	reseal(x, n);
	return n;
}

static void test_index_rejects(void)
{
	struct chunks cs = make_chunks(5, 2000, 9);
	struct packed p = write_pack("rej", &cs, 0);
	struct pack_index *idx = NULL;
	struct pack_entry e;
	struct buf orig;
	uint8_t *x;

	read_all(&orig, p.idx);
	x = mem_alloc(orig.len);
	for (int m = M_NONE; m < M_COUNT; m++) {
		size_t n;
		int want = m == M_NONE				     ? 0
			   : (m == M_SIZE_HUGE || m == M_COUNT_HUGE) ? -EFBIG
								     : -EBADMSG;
		int r;

		memcpy(x, orig.data, orig.len);
		n = mutate(x, orig.len, (enum mutation)m);
		idx = NULL;
		r = pack_index_parse(&idx, x, n);
		CHECK_MSG(r == want, "mutation %d: %d (%s)", m, r, err_detail());
		if (r >= 0) {
			CHECK_EQ_U(pack_index_count(idx), cs.n);
			CHECK_OK(pack_index_find(&e, idx, &cs.c[0].id));
		}
		pack_index_free(idx);
	}
	/* unsealed: any change fails the trailing hash */
	memcpy(x, orig.data, orig.len);
	x[PACK_IDX_HEADER_LEN + 40] ^= 4;
	CHECK_EQ_I(pack_index_parse(&idx, x, orig.len), -EBADMSG);
	CHECK_EQ_I(pack_index_parse(&idx, x, 0), -EBADMSG);
	mem_free(x);
	buf_release(&orig);
	free_chunks(&cs);
}

static void test_tail(void)
{
	struct chunks cs = make_chunks(40, 3000, 10);
	struct packed p = write_pack("tail", &cs, 0);
	struct pack_index *idx = NULL, *own = NULL;
	uint64_t tail_len = 0;
	struct buf b;
	uint8_t *t, ft[PACK_FOOTER_LEN];

	read_all(&b, p.pack);
	t = b.data + b.len - PACK_FOOTER_LEN;
	CHECK_OK(pack_footer_parse(&tail_len, t, PACK_FOOTER_LEN, b.len));
	CHECK_EQ_U(tail_len, cs.n * PACK_RECORD_LEN + PACK_FOOTER_LEN);
	CHECK_OK(pack_index_parse_tail(&own, b.data + b.len - tail_len, tail_len, b.len, &p.name));
	CHECK_OK(pack_index_load(&idx, p.idx));
	CHECK(pack_index_same(idx, own));
	CHECK(memcmp(pack_index_name(own)->b, p.name.b, SHA256_LEN) == 0);
	/* a lone pack's .idx rebuilt from its tail is the writer's, byte for byte */
	{
		struct buf enc, orig;

		buf_init(&enc, 1u << 20);
		CHECK_OK(pack_index_encode(&enc, own));
		read_all(&orig, p.idx);
		CHECK_EQ_U(enc.len, orig.len);
		CHECK(memcmp(enc.data, orig.data, orig.len) == 0);
		buf_release(&orig);
		buf_reset(&enc);
		enc.max = 100;
		CHECK_EQ_I(pack_index_encode(&enc, own), -EFBIG);
		buf_release(&enc);
	}
	pack_index_free(own);
	CHECK_EQ_I(pack_footer_parse(&tail_len, t, PACK_FOOTER_LEN, b.len + 1), -EBADMSG);
	CHECK_EQ_I(pack_footer_parse(&tail_len, t, PACK_FOOTER_LEN - 1, b.len), -EBADMSG);
	CHECK_EQ_I(pack_footer_parse(&tail_len, t, PACK_FOOTER_LEN, 1ull << 32), -EFBIG);
	for (size_t i = 0; i < PACK_FOOTER_LEN; i++) {
		memcpy(ft, t, sizeof(ft));
		ft[i] ^= (uint8_t)(1u << (i % 8));
		CHECK_MSG(pack_footer_parse(&tail_len, ft, sizeof(ft), b.len) == -EBADMSG,
			  "footer byte %zu", i);
	}
	CHECK_EQ_I(
	    pack_index_parse_tail(&own, b.data + b.len - tail_len + 1, tail_len - 1, b.len, NULL),
	    -EBADMSG);
	pack_index_free(idx);
	buf_release(&b);
	free_chunks(&cs);
}

/* ---- verification ------------------------------------------------------- */

struct victim {
	struct packed p;
	size_t n;
	uint64_t index_off;
	struct buf pack, idx;
	char mpack[700], midx[700];
};

static struct victim make_victim(const char *sub, size_t n)
{
	struct chunks cs = make_chunks(n, 400, 11);
	struct victim v = {.p = write_pack(sub, &cs, 0), .n = n};
	char mdir[600];

	free_chunks(&cs);
	read_all(&v.pack, v.p.pack);
	read_all(&v.idx, v.p.idx);
	v.index_off = get_le64(v.pack.data + v.pack.len - PACK_FOOTER_LEN);
	snprintf(mdir, sizeof(mdir), "%s/%s-mut", t_tmpdir(), sub);
	CHECK_OK(fs_mkdir_p(mdir, 0755));
	snprintf(v.mpack, sizeof(v.mpack), "%s/%s", mdir, strrchr(v.p.pack, '/') + 1);
	snprintf(v.midx, sizeof(v.midx), "%s/%s", mdir, strrchr(v.p.idx, '/') + 1);
	return v;
}

static void free_victim(struct victim *v)
{
	buf_release(&v->pack);
	buf_release(&v->idx);
}

static bool has_line(const char *lines, const char *prefix)
{
	for (const char *l = lines; *l; l = strchr(l, '\n') + 1) {
		if (strncmp(l, prefix, strlen(prefix)) == 0)
			return true;
	}
	return false;
}

/* Whether the problem lines name the region of the pack where byte pos
 * was flipped. */
static bool names_region(const char *lines, const struct victim *v, size_t pos)
{
	if (pos < PACK_HEADER_LEN)
		return has_line(lines, "header: ");
	if (pos < v->index_off)
		return has_line(lines, "entry at ");
	if (pos < v->pack.len - PACK_FOOTER_LEN)
		return has_line(lines, "the pack's own index differs") ||
		       has_line(lines, "pack index: ");
	return has_line(lines, "pack footer: ");
}

static void test_verify_flips_pack(void)
{
	struct victim v = make_victim("flip", 5);
	struct lines l;
	uint64_t good;

	write_all(v.midx, v.idx.data, v.idx.len);
	CHECK_OK(verify(&l, &good, v.p.pack, v.p.idx));
	buf_release(&l.b);
	for (size_t pos = 0; pos < v.pack.len; pos++) {
		uint8_t bit = (uint8_t)(1u << (pos % 8));
		bool in_entry = pos >= PACK_HEADER_LEN && pos < v.index_off;
		int r;

		v.pack.data[pos] ^= bit;
		write_all(v.mpack, v.pack.data, v.pack.len);
		v.pack.data[pos] ^= bit;
		good = 0;
		r = verify(&l, &good, v.mpack, v.midx);
		CHECK_MSG(r == -EBADMSG, "byte %zu: %d", pos, r);
		CHECK_MSG(strstr(buf_str(&l.b), "does not match the pack's name"), "byte %zu:\n%s",
			  pos, buf_str(&l.b));
		CHECK_MSG(names_region(buf_str(&l.b), &v, pos), "byte %zu:\n%s", pos,
			  buf_str(&l.b));
		CHECK_MSG(good == (in_entry ? v.n - 1 : v.n), "byte %zu: %llu sound", pos,
			  (unsigned long long)good);
		buf_release(&l.b);
	}
	free_victim(&v);
}

static void test_verify_flips_idx(void)
{
	struct victim v = make_victim("flipidx", 5);
	struct lines l;
	uint64_t good;

	write_all(v.mpack, v.pack.data, v.pack.len);
	for (size_t pos = 0; pos < v.idx.len; pos++) {
		uint8_t bit = (uint8_t)(1u << (pos % 8));
		int r;

		v.idx.data[pos] ^= bit;
		write_all(v.midx, v.idx.data, v.idx.len);
		v.idx.data[pos] ^= bit;
		good = 0;
		r = verify(&l, &good, v.mpack, v.midx);
		CHECK_MSG(r == -EBADMSG, "byte %zu: %d", pos, r);
		CHECK_MSG(l.n == 1 && strstr(buf_str(&l.b), ".idx unusable: "), "byte %zu:\n%s",
			  pos, buf_str(&l.b));
		CHECK_EQ_U(good, v.n); /* checked by the pack's own index */
		buf_release(&l.b);
	}
	free_victim(&v);
}

static void test_verify_truncated(void)
{
	struct victim v = make_victim("trunc", 6);
	size_t cuts[] = {
	    0, 1, 15, 16, 17, 100, v.index_off, v.pack.len - PACK_FOOTER_LEN, v.pack.len - 1};
	struct lines l;
	uint64_t good;

	write_all(v.midx, v.idx.data, v.idx.len);
	for (size_t i = 0; i < ARRAY_SIZE(cuts); i++) {
		write_all(v.mpack, v.pack.data, cuts[i]);
		CHECK_MSG(verify(&l, &good, v.mpack, v.midx) == -EBADMSG, "cut at %zu", cuts[i]);
		CHECK(strstr(buf_str(&l.b), "its .idx says"));
		CHECK(good < v.n || cuts[i] >= v.index_off);
		buf_release(&l.b);
	}
	/* and one byte too many */
	write_all(v.mpack, v.pack.data, v.pack.len);
	CHECK_EQ_I(buf_append_byte(&v.pack, 0), 0);
	write_all(v.mpack, v.pack.data, v.pack.len);
	CHECK_EQ_I(verify(&l, &good, v.mpack, v.midx), -EBADMSG);
	CHECK_EQ_U(good, v.n);
	buf_release(&l.b);
	free_victim(&v);
}

static void test_verify_lone_and_misnamed(void)
{
	struct victim v = make_victim("lone", 4);
	struct victim o = make_victim("other", 3);
	char path[800];
	struct lines l;
	uint64_t good = 0;

	/* a lone pack: one problem, and every chunk still checked */
	write_all(v.mpack, v.pack.data, v.pack.len);
	CHECK_EQ_I(verify(&l, &good, v.mpack, v.midx), -EBADMSG);
	CHECK_MSG(l.n == 1 && has_line(buf_str(&l.b), ".idx is missing"), "%s", buf_str(&l.b));
	CHECK_EQ_U(good, v.n);
	buf_release(&l.b);
	/* the .idx of another pack */
	write_all(v.midx, o.idx.data, o.idx.len);
	CHECK_EQ_I(verify(&l, &good, v.mpack, v.midx), -EBADMSG);
	CHECK_MSG(strstr(buf_str(&l.b), "belongs to another pack"), "%s", buf_str(&l.b));
	CHECK_EQ_U(good, v.n);
	buf_release(&l.b);
	/* a pack under a name that is not its hash, or not a hash at all */
	write_all(v.midx, v.idx.data, v.idx.len);
	snprintf(path, sizeof(path), "%s", v.mpack);
	memcpy(strrchr(path, '/') + 1, strrchr(o.mpack, '/') + 1, 64);
	write_all(path, v.pack.data, v.pack.len);
	CHECK_EQ_I(verify(&l, &good, path, v.midx), -EBADMSG);
	CHECK(strstr(buf_str(&l.b), "does not match the pack's name"));
	CHECK(strstr(buf_str(&l.b), "belongs to another pack"));
	buf_release(&l.b);
	snprintf(path, sizeof(path), "%s/lone-mut/x.pack", t_tmpdir());
	write_all(path, v.pack.data, v.pack.len);
	CHECK_EQ_I(verify(&l, &good, path, v.midx), -EBADMSG);
	CHECK_MSG(l.n == 1 && strstr(buf_str(&l.b), "file name"), "%s", buf_str(&l.b));
	buf_release(&l.b);
	/* no pack at all is an error, not a problem line */
	snprintf(path, sizeof(path), "%s/lone-mut/missing.pack", t_tmpdir());
	CHECK_EQ_I(verify(&l, &good, path, v.midx), -ENOENT);
	buf_release(&l.b);
	free_victim(&v);
	free_victim(&o);
}

/* The writer trusts its caller: a chunk filed under a wrong ID makes a
 * pack whose name, index and layout are all consistent, and only the
 * decode check catches it. */
static void test_verify_lying_chunk(void)
{
	struct chunks cs = make_chunks(6, 2000, 12);
	struct pack_writer *w = NULL;
	struct packed p;
	struct lines l;
	uint64_t good = 0;

	cs.c[4].id.b[0] ^= 0x80;
	snprintf(p.dir, sizeof(p.dir), "%s/liar", t_tmpdir());
	CHECK_OK(pack_writer_new(&w, p.dir, 0));
	for (size_t i = 0; i < cs.n; i++)
		CHECK_OK(add_chunk(w, &cs.c[i], NULL));
	CHECK_OK(pack_writer_finish(w, &p.name, &p.size));
	pack_writer_free(w);
	packed_paths(&p);
	CHECK_EQ_I(verify(&l, &good, p.pack, p.idx), -EBADMSG);
	CHECK_MSG(l.n == 1 && strstr(buf_str(&l.b), "does not match its ID"), "%s", buf_str(&l.b));
	CHECK_EQ_U(good, cs.n - 1);
	buf_release(&l.b);
	/* without a callback, the verdict alone */
	CHECK_EQ_I(pack_verify(&good, p.pack, p.idx, NULL, NULL), -EBADMSG);
	free_chunks(&cs);
}

static int stop_at_first(const char *line, void *ctx)
{
	(*(int *)ctx)++;
	return -ECANCELED;
}

static void test_verify_stop(void)
{
	struct victim v = make_victim("stop", 4);
	uint64_t good;
	int calls = 0;

	v.pack.data[0] ^= 1;
	v.pack.data[v.index_off - 1] ^= 1;
	write_all(v.mpack, v.pack.data, v.pack.len);
	write_all(v.midx, v.idx.data, v.idx.len);
	CHECK_EQ_I(pack_verify(&good, v.mpack, v.midx, stop_at_first, &calls), -ECANCELED);
	CHECK_EQ_I(calls, 1);
	free_victim(&v);
}

/* ---- allocation failure ------------------------------------------------- */

static void test_alloc_failure_writer(void)
{
	struct chunks cs = make_chunks(40, 3000, 13);
	long fail;
	int r = -1;

	(void)the_codec();
	for (fail = 0; fail < 10000 && r < 0; fail++) {
		struct pack_writer *w = NULL;
		struct sha256 name;
		uint64_t size;
		char dir[600];
		struct census c;

		snprintf(dir, sizeof(dir), "%s/alloc-%ld", t_tmpdir(), fail);
		mem_fail_after(fail);
		r = pack_writer_new(&w, dir, 0);
		for (size_t i = 0; r >= 0 && i < cs.n; i++)
			r = add_chunk(w, &cs.c[i], NULL);
		if (r >= 0)
			r = pack_writer_finish(w, &name, &size);
		mem_fail_after(-1);
		pack_writer_free(w);
		CHECK_MSG(r >= 0 || r == -ENOMEM, "failing allocation %ld: %d", fail, r);
		c = (struct census){0};
		census_take(&c, dir);
		CHECK_EQ_U(c.tmps, 0);
		/* a failure may leave a lone pack (or both, when only the final
		 * directory fsync failed), never a .idx without its pack */
		CHECK_MSG(c.idxs <= c.packs && c.packs <= 1 && c.files == c.packs + c.idxs,
			  "failing allocation %ld: %zu packs, %zu indexes", fail, c.packs, c.idxs);
	}
	CHECK_OK(r);
	CHECK(fail > 5);
	free_chunks(&cs);
}

static void test_alloc_failure_reader(void)
{
	struct chunks cs = make_chunks(30, 3000, 14);
	struct packed p = write_pack("alloc-read", &cs, 0);
	struct buf b;
	long fail;
	int r = -1;

	read_all(&b, p.idx);
	for (fail = 0; r < 0; fail++) {
		struct pack_index *idx = NULL;

		mem_fail_after(fail);
		r = pack_index_parse(&idx, b.data, b.len);
		mem_fail_after(-1);
		CHECK_MSG(r >= 0 || r == -ENOMEM, "parse, failing allocation %ld: %d", fail, r);
		pack_index_free(idx);
	}
	CHECK(fail > 2);
	for (r = -1, fail = 0; r < 0; fail++) {
		struct pack_index *idx = NULL;

		mem_fail_after(fail);
		r = pack_index_load(&idx, p.idx);
		mem_fail_after(-1);
		CHECK_MSG(r >= 0 || r == -ENOMEM, "load, failing allocation %ld: %d", fail, r);
		pack_index_free(idx);
	}
	for (r = -1, fail = 0; r < 0; fail++) {
		uint64_t good = 0;
		int calls = 0;

		mem_fail_after(fail);
		r = pack_verify(&good, p.pack, p.idx, stop_at_first, &calls);
		mem_fail_after(-1);
		CHECK_MSG(r >= 0 || r == -ENOMEM, "verify, failing allocation %ld: %d", fail, r);
		CHECK_EQ_I(calls, 0); /* memory trouble is never reported as corruption */
	}
	CHECK(fail > 5);
	buf_release(&b);
	free_chunks(&cs);
}

int main(void)
{
	int r = t_main((struct t_case[]){
	    {"round trip: 300 mixed chunks by byte range, verified", test_round_trip},
	    {"index: sorted, file order, lookups, misses", test_lookups},
	    {"cap: entries refused once the pack would exceed it", test_cap},
	    {"empty pack refused, nothing left behind", test_empty_refused},
	    {"duplicate chunk refused with -EEXIST", test_duplicate_refused},
	    {"20000 entries: ID set grows, all indexed", test_many_entries},
	    {"malformed entries refused by the writer", test_bad_entries_refused},
	    {"unfinished writer leaves no file", test_unfinished_leaves_nothing},
	    {"failed write sticks and leaves no file", test_write_error_sticks},
	    {"same chunks, same order: same pack name", test_deterministic},
	    {"paths and names", test_paths},
	    {"zstd -d and sha256sum check an entry fetched alone", test_zstd_cli_reads_entry},
	    {"entry parse and decode: bounds, reserved, ID check", test_entry_parse},
	    {"index parser refuses every broken rule", test_index_rejects},
	    {"pack tail parses to the same index as the .idx", test_tail},
	    {"verify: a flipped bit anywhere in the pack", test_verify_flips_pack},
	    {"verify: a flipped bit anywhere in the .idx", test_verify_flips_idx},
	    {"verify: truncated and extended packs", test_verify_truncated},
	    {"verify: lone pack, foreign .idx, wrong file name", test_verify_lone_and_misnamed},
	    {"verify: a chunk filed under a wrong ID", test_verify_lying_chunk},
	    {"verify: the callback can stop the check", test_verify_stop},
	    {"allocation failure in the writer", test_alloc_failure_writer},
	    {"allocation failure in the index parser and verifier", test_alloc_failure_reader},
	    {0},
	});

	codec_free(codec);
	return r;
}
