/*
 * chunk_table.c — the sorted on-disk chunk table (see chunk_table.h).
 */
#define _GNU_SOURCE
#include "packager/chunk_table.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"

#define HEADER_BYTES 24u
#define MAX_PACKS (1u << 24)
#define MERGE_BATCH 4096u

struct chunk_table {
	int fd;
	uint32_t npacks;
	uint64_t nrecs;
	struct sha256 *packs;
	uint32_t *fanout;
	uint64_t recs_off;
};

int chunk_rec_cmp(const void *a, const void *b)
{
	return memcmp(((const struct chunk_rec *)a)->id.b, ((const struct chunk_rec *)b)->id.b,
		      SHA256_LEN);
}

static void rec_decode(struct chunk_rec *r, const uint8_t *p)
{
	memcpy(r->id.b, p, SHA256_LEN);
	r->pack = get_le32(p + 32);
	r->stored_len = get_le32(p + 36);
	r->raw_len = get_le32(p + 40);
	r->type = p[44];
}

static void rec_encode(uint8_t *p, const struct chunk_rec *r)
{
	memcpy(p, r->id.b, SHA256_LEN);
	put_le32(p + 32, r->pack);
	put_le32(p + 36, r->stored_len);
	put_le32(p + 40, r->raw_len);
	p[44] = r->type;
	p[45] = p[46] = p[47] = 0;
}

void chunk_table_free(struct chunk_table *t)
{
	if (!t)
		return;
	if (t->fd >= 0)
		close(t->fd);
	mem_free(t->packs);
	mem_free(t->fanout);
	mem_free(t);
}

static int load(struct chunk_table *t, const char *path)
{
	uint8_t h[HEADER_BYTES];
	AUTO_FREE uint8_t *fan = NULL;
	struct stat st;
	uint64_t want;
	int r;

	if (fstat(t->fd, &st) < 0)
		return -errno;
	r = fs_pread_all(t->fd, h, sizeof(h), 0);
	if (r < 0 || memcmp(h, CHUNK_TABLE_MAGIC, 8) != 0 || get_le32(h + 8) != CHUNK_TABLE_VERSION)
		return err_set(-EBADMSG, "%s: not a chunk table", path);
	t->npacks = get_le32(h + 12);
	t->nrecs = get_le64(h + 16);
	if (t->npacks > MAX_PACKS || t->nrecs > ((uint64_t)1 << 40))
		return err_set(-EBADMSG, "%s: implausible counts", path);
	t->recs_off = HEADER_BYTES + (uint64_t)t->npacks * SHA256_LEN + CHUNK_TABLE_FANOUT * 4ull;
	want = t->recs_off + t->nrecs * CHUNK_TABLE_REC_BYTES;
	if ((uint64_t)st.st_size != want)
		return err_set(-EBADMSG, "%s: size does not match its counts", path);
	t->packs = mem_calloc(t->npacks ? t->npacks : 1, sizeof(*t->packs));
	t->fanout = mem_calloc(CHUNK_TABLE_FANOUT, sizeof(uint32_t));
	fan = mem_alloc(CHUNK_TABLE_FANOUT * 4);
	if (!t->packs || !t->fanout || !fan)
		return -ENOMEM;
	r = fs_pread_all(t->fd, t->packs, (size_t)t->npacks * SHA256_LEN, HEADER_BYTES);
	if (r == 0)
		r = fs_pread_all(t->fd, fan, CHUNK_TABLE_FANOUT * 4,
				 HEADER_BYTES + (uint64_t)t->npacks * SHA256_LEN);
	if (r < 0)
		return r;
	for (uint32_t i = 0; i < CHUNK_TABLE_FANOUT; i++) {
		t->fanout[i] = get_le32(fan + 4 * i);
		if ((i && t->fanout[i] < t->fanout[i - 1]) || t->fanout[i] > t->nrecs)
			return err_set(-EBADMSG, "%s: fanout is not monotonic", path);
	}
	if (t->fanout[CHUNK_TABLE_FANOUT - 1] != t->nrecs)
		return err_set(-EBADMSG, "%s: fanout does not cover every record", path);
	return 0;
}

int chunk_table_open(struct chunk_table **out, const char *path)
{
	struct chunk_table *t = mem_calloc(1, sizeof(*t));
	int r;

	if (!t)
		return -ENOMEM;
	t->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (t->fd < 0 && errno == ENOENT) {
		t->fanout = mem_calloc(CHUNK_TABLE_FANOUT, sizeof(uint32_t));
		t->packs = mem_calloc(1, sizeof(*t->packs));
		if (!t->fanout || !t->packs) {
			chunk_table_free(t);
			return -ENOMEM;
		}
		*out = t;
		return 0;
	}
	if (t->fd < 0) {
		r = err_set(-errno, "%s: %s", path, strerror(errno));
		chunk_table_free(t);
		return r;
	}
	r = load(t, path);
	if (r < 0) {
		chunk_table_free(t);
		return r;
	}
	*out = t;
	return 0;
}

uint32_t chunk_table_pack_count(const struct chunk_table *t)
{
	return t->npacks;
}

const struct sha256 *chunk_table_pack_name(const struct chunk_table *t, uint32_t i)
{
	return i < t->npacks ? &t->packs[i] : NULL;
}

uint64_t chunk_table_count(const struct chunk_table *t)
{
	return t->nrecs;
}

int chunk_table_find(const struct chunk_table *t, const struct sha256 *id, struct chunk_rec *out)
{
	uint32_t b = (uint32_t)id->b[0] << 8 | id->b[1];
	uint64_t lo = b ? t->fanout[b - 1] : 0, hi = t->fanout[b];
	uint8_t rec[CHUNK_TABLE_REC_BYTES];

	/* Binary search inside the bucket, one record per probe: buckets
	 * hold a few records even at millions of chunks. */
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		int c, r = fs_pread_all(t->fd, rec, sizeof(rec),
					t->recs_off + mid * CHUNK_TABLE_REC_BYTES);

		if (r < 0)
			return r;
		c = memcmp(id->b, rec, SHA256_LEN);
		if (c == 0) {
			rec_decode(out, rec);
			if (out->pack >= t->npacks)
				return err_set(-EBADMSG, "chunk table names a pack it does not list");
			return 0;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -ENOENT;
}

int chunk_table_foreach(const struct chunk_table *t,
			int (*fn)(const struct chunk_rec *rec, void *ctx), void *ctx)
{
	AUTO_FREE uint8_t *batch = mem_alloc(MERGE_BATCH * CHUNK_TABLE_REC_BYTES);

	if (!batch)
		return -ENOMEM;
	for (uint64_t i = 0; i < t->nrecs;) {
		size_t n = t->nrecs - i < MERGE_BATCH ? (size_t)(t->nrecs - i) : MERGE_BATCH;
		int r = fs_pread_all(t->fd, batch, n * CHUNK_TABLE_REC_BYTES,
				     t->recs_off + i * CHUNK_TABLE_REC_BYTES);

		if (r < 0)
			return r;
		for (size_t k = 0; k < n; k++) {
			struct chunk_rec rec;

			rec_decode(&rec, batch + k * CHUNK_TABLE_REC_BYTES);
			r = fn(&rec, ctx);
			if (r < 0)
				return r;
		}
		i += n;
	}
	return 0;
}

/* Merge writer state: buffered output and the fanout being counted. */
struct merge {
	int fd;
	uint8_t *out;
	size_t used;
	uint32_t *fanout;
	uint64_t count;
	const struct chunk_rec *recs;
	size_t nrecs, next;
	uint8_t last[SHA256_LEN];
};

static int emit(struct merge *m, const struct chunk_rec *rec)
{
	int r;

	if (m->count && memcmp(rec->id.b, m->last, SHA256_LEN) <= 0)
		return err_set(-EINVAL, "chunk table merge: records out of order or duplicated");
	memcpy(m->last, rec->id.b, SHA256_LEN);
	rec_encode(m->out + m->used, rec);
	m->used += CHUNK_TABLE_REC_BYTES;
	m->fanout[(uint32_t)rec->id.b[0] << 8 | rec->id.b[1]]++;
	m->count++;
	if (m->used == MERGE_BATCH * CHUNK_TABLE_REC_BYTES) {
		r = fs_write_all(m->fd, m->out, m->used);
		if (r < 0)
			return r;
		m->used = 0;
	}
	return 0;
}

static int merge_old(const struct chunk_rec *rec, void *ctx)
{
	struct merge *m = ctx;
	int r;

	while (m->next < m->nrecs && chunk_rec_cmp(&m->recs[m->next], rec) < 0) {
		r = emit(m, &m->recs[m->next++]);
		if (r < 0)
			return r;
	}
	return emit(m, rec);
}

static int write_head(int fd, uint32_t npacks, uint64_t nrecs, const struct chunk_table *old,
		      const struct sha256 *new_packs, size_t nnew)
{
	uint8_t h[HEADER_BYTES];
	int r;

	memcpy(h, CHUNK_TABLE_MAGIC, 8);
	put_le32(h + 8, CHUNK_TABLE_VERSION);
	put_le32(h + 12, npacks);
	put_le64(h + 16, nrecs);
	r = fs_write_all(fd, h, sizeof(h));
	if (r == 0 && old->npacks)
		r = fs_write_all(fd, old->packs, (size_t)old->npacks * SHA256_LEN);
	if (r == 0 && nnew)
		r = fs_write_all(fd, new_packs, nnew * SHA256_LEN);
	return r;
}

static int merge_body(struct merge *m, const struct chunk_table *old, uint64_t fan_off)
{
	AUTO_FREE uint8_t *fan = mem_alloc(CHUNK_TABLE_FANOUT * 4);
	uint32_t sum = 0;
	int r;

	if (!fan)
		return -ENOMEM;
	/* Leave room for the fanout; it is known only at the end. */
	memset(fan, 0, CHUNK_TABLE_FANOUT * 4);
	r = fs_write_all(m->fd, fan, CHUNK_TABLE_FANOUT * 4);
	if (r == 0)
		r = chunk_table_foreach(old, merge_old, m);
	while (r == 0 && m->next < m->nrecs)
		r = emit(m, &m->recs[m->next++]);
	if (r == 0 && m->used)
		r = fs_write_all(m->fd, m->out, m->used);
	if (r < 0)
		return r;
	for (uint32_t i = 0; i < CHUNK_TABLE_FANOUT; i++) {
		sum += m->fanout[i];
		put_le32(fan + 4 * i, sum);
	}
	if (pwrite(m->fd, fan, CHUNK_TABLE_FANOUT * 4, (off_t)fan_off) != CHUNK_TABLE_FANOUT * 4)
		return -EIO;
	return 0;
}

int chunk_table_merge(const char *path, const struct chunk_table *old,
		      const struct sha256 *new_packs, size_t nnew, const struct chunk_rec *recs,
		      size_t nrecs)
{
	struct merge m = { .fd = -1, .recs = recs, .nrecs = nrecs };
	AUTO_FREE char *tmp = NULL;
	uint64_t total = old->nrecs + nrecs;
	uint32_t npacks;
	int r;

	if (old->npacks + nnew > MAX_PACKS)
		return err_set(-EFBIG, "chunk table: too many packs");
	npacks = old->npacks + (uint32_t)nnew;
	m.out = mem_alloc(MERGE_BATCH * CHUNK_TABLE_REC_BYTES);
	m.fanout = mem_calloc(CHUNK_TABLE_FANOUT, sizeof(uint32_t));
	r = m.out && m.fanout ? 0 : -ENOMEM;
	if (r == 0)
		r = fs_tmp_open(&m.fd, &tmp, path);
	if (r == 0)
		r = write_head(m.fd, npacks, total, old, new_packs, nnew);
	if (r == 0)
		r = merge_body(&m, old, HEADER_BYTES + (uint64_t)npacks * SHA256_LEN);
	if (r == 0 && m.count != total)
		r = err_set(-EINVAL, "chunk table merge: duplicate records");
	if (r == 0) {
		r = fs_tmp_commit(m.fd, tmp, path);
		m.fd = -1;
	}
	if (m.fd >= 0)
		fs_tmp_abort(m.fd, tmp);
	mem_free(m.out);
	mem_free(m.fanout);
	return r;
}
