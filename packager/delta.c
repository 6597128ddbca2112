/*
 * delta.c — meta/deltas (parse, format, find) and the publisher's side of
 * making one delta (see delta.h).
 */
#include "packager/delta.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/codec_text.h"
#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "core/textline.h"
#include "packager/pack.h"

void delta_list_init(struct delta_list *l)
{
	memset(l, 0, sizeof(*l));
}

void delta_list_release(struct delta_list *l)
{
	mem_free(l->recs);
	delta_list_init(l);
}

int delta_list_add(struct delta_list *l, const struct delta_rec *r)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64, bytes;
		struct delta_rec *g;

		if (l->n >= LIMIT_DELTA_RECORDS)
			return err_set(-EFBIG, "meta/deltas: more than %u deltas",
				       LIMIT_DELTA_RECORDS);
		if (cap > LIMIT_DELTA_RECORDS)
			cap = LIMIT_DELTA_RECORDS;
		if (!mem_mul_ok(&bytes, cap, sizeof(*g)))
			return -ENOMEM;
		g = mem_realloc(l->recs, bytes);
		if (!g)
			return -ENOMEM;
		l->recs = g;
		l->cap = cap;
	}
	l->recs[l->n++] = *r;
	return 0;
}

static int pair_cmp(const struct sha256 *tb, const struct sha256 *bb, const struct delta_rec *r)
{
	int c = memcmp(tb->b, r->target.b, SHA256_LEN);

	return c ? c : memcmp(bb->b, r->base.b, SHA256_LEN);
}

static int rec_cmp(const void *a, const void *b)
{
	const struct delta_rec *x = a;

	return pair_cmp(&x->target, &x->base, b);
}

void delta_list_sort(struct delta_list *l)
{
	size_t k = 0;

	/* A stable order for duplicates is not needed: duplicates of a pair
	 * name the same two files, and any of their deltas will do. */
	if (l->n > 1)
		qsort(l->recs, l->n, sizeof(*l->recs), rec_cmp);
	for (size_t i = 0; i < l->n; i++) {
		if (k && rec_cmp(&l->recs[k - 1], &l->recs[i]) == 0)
			continue;
		l->recs[k++] = l->recs[i];
	}
	l->n = k;
}

const struct delta_rec *delta_list_find(const struct delta_list *l, const struct sha256 *base,
					const struct sha256 *target)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = pair_cmp(target, base, &l->recs[mid]);

		if (c == 0)
			return &l->recs[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int delta_list_format(struct buf *out, const struct delta_list *l)
{
	int r = buf_printf(out, "%s\n", DELTA_LIST_MAGIC);

	for (size_t i = 0; r == 0 && i < l->n; i++) {
		const struct delta_rec *d = &l->recs[i];
		char b[2 * SHA256_LEN + 1], t[2 * SHA256_LEN + 1], id[2 * SHA256_LEN + 1];

		hex_encode(b, d->base.b, SHA256_LEN);
		hex_encode(t, d->target.b, SHA256_LEN);
		hex_encode(id, d->id.b, SHA256_LEN);
		r = buf_printf(out, "%s %s %s %u %u\n", b, t, id, d->size, d->target_size);
	}
	return r;
}

/* A word of exactly 64 lowercase hex digits. */
static bool hash_word(struct sha256 *out, struct textline *t)
{
	const char *w;
	size_t n;

	if (!textline_word(t, &w, &n) || n != 2 * SHA256_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((w[i] >= '0' && w[i] <= '9') || (w[i] >= 'a' && w[i] <= 'f')))
			return false;
	return hex_decode(out->b, SHA256_LEN, w, n) == 0;
}

static int parse_line(struct delta_rec *d, struct textline *t)
{
	uint64_t size, tsize;

	if (!hash_word(&d->base, t) || !hash_word(&d->target, t) || !hash_word(&d->id, t) ||
	    textline_u64(t, &size) < 0 || textline_u64(t, &tsize) < 0 || !textline_end(t))
		return err_set(-EBADMSG, "meta/deltas line %u is malformed", t->lineno);
	if (size == 0 || size > LIMIT_DELTA_BYTES || tsize == 0 || tsize > LIMIT_DELTA_FILE_BYTES)
		return err_set(-EBADMSG, "meta/deltas line %u: sizes out of range", t->lineno);
	if (memcmp(d->base.b, d->target.b, SHA256_LEN) == 0)
		return err_set(-EBADMSG, "meta/deltas line %u: base equals target", t->lineno);
	d->size = (uint32_t)size;
	d->target_size = (uint32_t)tsize;
	return 0;
}

int delta_list_parse(struct delta_list *out, const void *text, size_t n)
{
	struct textline t;
	int r = 0;

	delta_list_init(out);
	if (n > LIMIT_DELTA_LIST_BYTES)
		return err_set(-EFBIG, "meta/deltas: %zu bytes, over the %u-byte limit", n,
			       LIMIT_DELTA_LIST_BYTES);
	textline_init(&t, text, n);
	if (!textline_next(&t) || textline_expect(&t, "ferry-deltas") < 0 ||
	    textline_expect(&t, "1") < 0 || !textline_end(&t))
		return err_set(-EBADMSG, "meta/deltas: does not start with \"%s\"",
			       DELTA_LIST_MAGIC);
	while (r == 0 && textline_next(&t)) {
		struct delta_rec d;

		r = parse_line(&d, &t);
		if (r == 0 && out->n && rec_cmp(&out->recs[out->n - 1], &d) >= 0)
			r = err_set(-EBADMSG, "meta/deltas line %u: not strictly sorted", t.lineno);
		if (r == 0)
			r = delta_list_add(out, &d);
	}
	if (r == 0 && t.bad)
		r = err_set(-EBADMSG, "meta/deltas: malformed text near line %u", t.lineno);
	if (r < 0)
		delta_list_release(out);
	return r;
}

/* ---- making a delta (publisher) ------------------------------------------ */

struct delta_reader {
	const struct chunk_table *table;
	char *packs_dir;
	struct pack_index **idx; /* by the table's pack ordinal, loaded lazily */
	uint32_t npacks;
	int fd;
	uint32_t fd_pack;
	struct codec *codec;
	uint8_t *entry; /* one stored entry */
};

void delta_reader_free(struct delta_reader *dr)
{
	if (!dr)
		return;
	for (uint32_t i = 0; dr->idx && i < dr->npacks; i++)
		pack_index_free(dr->idx[i]);
	mem_free(dr->idx);
	mem_free(dr->packs_dir);
	if (dr->fd >= 0)
		close(dr->fd);
	codec_free(dr->codec);
	mem_free(dr->entry);
	mem_free(dr);
}

int delta_reader_new(struct delta_reader **out, const struct chunk_table *table,
		     const char *packs_dir)
{
	struct delta_reader *dr = mem_calloc(1, sizeof(*dr));
	int r;

	if (!dr)
		return -ENOMEM;
	dr->fd = -1;
	dr->table = table;
	dr->npacks = chunk_table_pack_count(table);
	dr->packs_dir = mem_strdup(packs_dir);
	dr->idx = mem_calloc(dr->npacks + 1, sizeof(*dr->idx));
	dr->entry = mem_alloc(PACK_ENTRY_HEADER_LEN + LIMIT_CHUNK_MAX);
	r = dr->packs_dir && dr->idx && dr->entry ? codec_new(&dr->codec, CODEC_LEVEL_DEFAULT)
						  : -ENOMEM;
	if (r < 0) {
		delta_reader_free(dr);
		return r;
	}
	*out = dr;
	return 0;
}

/* Opens pack number p of the table and loads its .idx, once. */
static int reader_pack(struct delta_reader *dr, uint32_t p)
{
	const struct sha256 *name = chunk_table_pack_name(dr->table, p);
	AUTO_FREE char *path = NULL;
	int r;

	if (!dr->idx[p]) {
		AUTO_FREE char *idx = NULL;

		r = pack_path_make(&idx, dr->packs_dir, name, PACK_IDX_SUFFIX);
		if (r == 0)
			r = pack_index_load(&dr->idx[p], idx);
		if (r < 0)
			return r;
	}
	if (dr->fd >= 0 && dr->fd_pack == p)
		return 0;
	if (dr->fd >= 0)
		close(dr->fd);
	dr->fd = -1;
	r = pack_path_make(&path, dr->packs_dir, name, PACK_SUFFIX);
	if (r < 0)
		return r;
	dr->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (dr->fd < 0)
		return err_set(-errno, "%s: cannot open", path);
	dr->fd_pack = p;
	return 0;
}

/* Appends one chunk, read from its pack, decoded and checked. */
static int read_chunk(struct buf *out, struct delta_reader *dr, const struct chunk_ref *ref)
{
	struct chunk_rec rec;
	struct pack_entry e, h;
	const uint8_t *payload;
	int r = chunk_table_find(dr->table, &ref->id, &rec);

	if (r < 0)
		return err_set(-ENOENT, "a chunk of an older version is in no pack");
	if (rec.pack >= dr->npacks || rec.raw_len != ref->raw_len)
		return err_set(-EBADMSG, "the chunk table disagrees with a pointer");
	r = reader_pack(dr, rec.pack);
	if (r == 0)
		r = pack_index_find(&e, dr->idx[rec.pack], &ref->id);
	if (r < 0)
		return err_set(r, "a chunk of an older version is not where the table says");
	if (e.type == PACK_ENTRY_DELTA || e.raw_len != ref->raw_len)
		return err_set(-EBADMSG, "a pack's index disagrees with a pointer");
	r = fs_pread_all(dr->fd, dr->entry, PACK_ENTRY_HEADER_LEN + e.stored_len, e.offset);
	if (r == 0)
		r = pack_entry_parse(&h, &payload, dr->entry, PACK_ENTRY_HEADER_LEN + e.stored_len);
	if (r >= 0)
		r = buf_reserve(out, h.raw_len);
	if (r >= 0)
		r = pack_entry_decode(out->data + out->len, h.raw_len, &h, payload, dr->codec);
	if (r >= 0 && memcmp(h.id.b, ref->id.b, SHA256_LEN) != 0)
		r = err_set(-EBADMSG, "a pack entry is not the chunk its index names");
	if (r < 0)
		return r;
	out->len += h.raw_len;
	return 0;
}

int delta_file_read(struct buf *out, struct delta_reader *dr, const struct chunk_ref *chunks,
		    size_t nchunks, uint64_t size, const struct sha256 *hash)
{
	struct sha256 got;
	int r = 0;

	buf_reset(out);
	if (size > out->max)
		return err_set(-EFBIG, "file of %llu bytes is over the %zu-byte buffer",
			       (unsigned long long)size, out->max);
	for (size_t i = 0; r == 0 && i < nchunks; i++) {
		if (out->len + chunks[i].raw_len > size)
			return err_set(-EBADMSG, "chunks add up to more than the file's size");
		r = read_chunk(out, dr, &chunks[i]);
	}
	if (r < 0)
		return r;
	sha256_buf(&got, out->data, out->len);
	if (out->len != size || memcmp(got.b, hash->b, SHA256_LEN) != 0)
		return err_set(-EBADMSG, "an older version rebuilt from the packs does not match "
					 "its hash");
	return 0;
}

static int ref_cmp(const void *a, const void *b)
{
	return memcmp(((const struct chunk_ref *)a)->id.b, ((const struct chunk_ref *)b)->id.b,
		      SHA256_LEN);
}

uint64_t delta_chunk_cost(const struct chunk_ref *target, size_t ntarget,
			  const struct chunk_ref *base, size_t nbase)
{
	AUTO_FREE struct chunk_ref *t = NULL;
	AUTO_FREE struct chunk_ref *b = NULL;
	uint64_t cost = 0;
	size_t j = 0;

	t = ntarget ? mem_dup(target, ntarget * sizeof(*t)) : NULL;
	b = nbase ? mem_dup(base, nbase * sizeof(*b)) : NULL;
	if ((ntarget && !t) || (nbase && !b))
		return UINT64_MAX; /* cannot tell: never choose a delta on this */
	if (ntarget)
		qsort(t, ntarget, sizeof(*t), ref_cmp);
	if (nbase)
		qsort(b, nbase, sizeof(*b), ref_cmp);
	for (size_t i = 0; i < ntarget; i++) {
		if (i && ref_cmp(&t[i - 1], &t[i]) == 0)
			continue;
		while (j < nbase && ref_cmp(&b[j], &t[i]) < 0)
			j++;
		if (j < nbase && ref_cmp(&b[j], &t[i]) == 0)
			continue;
		cost += PACK_ENTRY_HEADER_LEN + (uint64_t)t[i].stored_len;
	}
	return cost;
}

int delta_make(struct buf *out, struct codec *c, const void *base, size_t nbase, const void *target,
	       size_t ntarget, uint64_t chunk_cost, int level)
{
	uint64_t worth =
	    chunk_cost / 100 * DELTA_KEEP_PCT + chunk_cost % 100 * DELTA_KEEP_PCT / 100;
	size_t cap, len = 0;
	int r;

	if (worth <= PACK_ENTRY_HEADER_LEN)
		return 0;
	worth -= PACK_ENTRY_HEADER_LEN;
	cap = worth < LIMIT_DELTA_BYTES ? (size_t)worth : LIMIT_DELTA_BYTES;
	buf_reset(out);
	r = buf_reserve(out, cap);
	if (r < 0)
		return r;
	/* A frame that outgrows cap is not worth keeping: zstd stops there. */
	r = codec_delta_compress(&len, c, out->data, cap, base, nbase, target, ntarget, level);
	if (r == -ENOSPC) {
		err_clear();
		return 0;
	}
	if (r < 0)
		return r;
	out->len = len;
	return 1;
}
