/*
 * plan.c — missing chunks, where they are, and how to read them
 * (see plan.h).
 */
#include "sync/plan.h"

#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "core/mem.h"
#include "manifests/catalog.h"
#include "manifests/pointer.h"

void plan_init(struct plan *p)
{
	const char *knob = getenv("FERRY_PLAN_BATCH");
	unsigned long v = knob ? strtoul(knob, NULL, 10) : 0;

	memset(p, 0, sizeof(*p));
	p->batch_max = v >= 1 && v <= PLAN_BATCH_CHUNKS ? (size_t)v : PLAN_BATCH_CHUNKS;
}

void plan_release(struct plan *p)
{
	mem_free(p->chunks);
	mem_free(p->order);
	mem_free(p->reqs);
	plan_init(p);
}

struct build {
	struct plan *p;
	struct store *st;
	const char *const *filters;
	struct buf blob;
};

/* Path filters are the store's rule (store_filter_match): "a/b" takes
 * "a/b" and what is under "a/b/", never "a/bc". */
static bool wanted_path(const char *path, const char *const *filters)
{
	return !filters || !filters[0] || store_filter_match(filters, path);
}

/* Lists a chunk the store lacks; one listed already counts once. */
static int add_chunk(struct plan *p, const struct chunk_ref *c)
{
	int r = db_plan_add(p->st->db, &c->id, c->raw_len, c->stored_len);

	if (r <= 0)
		return r;
	p->total++;
	p->raw_bytes += c->raw_len;
	p->stored_bytes += c->stored_len;
	return 0;
}

static int on_changed(const char *path, const struct mgit_oid *old_blob,
		      const struct mgit_oid *new_blob, void *ctx)
{
	struct build *b = ctx;
	const char *rel = path + strlen("files/");
	struct mf_pointer ptr;
	int r;

	if (!new_blob || !wanted_path(rel, b->filters))
		return 0;
	r = mf_path_check(rel, strlen(rel));
	if (r < 0)
		return err_set(-EBADMSG, "release: %s", err_detail());
	buf_reset(&b->blob);
	r = mgit_blob_read(&b->blob, b->st->git, new_blob, LIMIT_POINTER_BYTES);
	if (r == 0)
		r = mf_pointer_parse(&ptr, b->blob.data, b->blob.len);
	if (r < 0)
		return err_set(r, "release: %s: %s", rel, err_detail());
	b->p->files++;
	for (size_t i = 0; r == 0 && i < ptr.nchunks; i++) {
		if (db_chunk_find(NULL, b->st->db, &ptr.chunks[i].id) == 0)
			continue;
		r = add_chunk(b->p, &ptr.chunks[i]);
	}
	mf_pointer_release(&ptr);
	return r;
}

static int by_id(const void *a, const void *b)
{
	return memcmp(((const struct plan_chunk *)a)->id.b, ((const struct plan_chunk *)b)->id.b,
		      SHA256_LEN);
}

int plan_build(struct plan *p, struct store *st, const struct mgit_oid *old_tree,
	       const struct mgit_oid *new_tree, const char *const *filters)
{
	struct build b = { .p = p, .st = st, .filters = filters };
	int r;

	p->st = st;
	buf_init(&b.blob, LIMIT_POINTER_BYTES);
	r = db_plan_reset(st->db);
	/* One transaction around the lookups and the list: SQLite then
	 * takes its lock once, not once per chunk. */
	if (r == 0)
		r = db_begin(st->db);
	if (r == 0)
		r = mgit_tree_diff(st->git, old_tree, new_tree, "files", on_changed, &b);
	if (r == 0)
		r = db_commit(st->db); /* only the temporary list was written */
	if (r < 0 && db_in_transaction(st->db))
		(void)db_rollback(st->db);
	buf_release(&b.blob);
	return r;
}

static int add_to_batch(const struct db_plan_chunk *c, void *ctx)
{
	struct plan *p = ctx;

	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 1024, bytes;
		struct plan_chunk *g;

		if (cap > p->batch_max)
			cap = p->batch_max;
		if (!mem_mul_ok(&bytes, cap, sizeof(*g)))
			return -ENOMEM;
		g = mem_realloc(p->chunks, bytes);
		if (!g)
			return -ENOMEM;
		p->chunks = g;
		p->cap = cap;
	}
	memset(&p->chunks[p->n], 0, sizeof(p->chunks[p->n]));
	p->chunks[p->n].id = c->id;
	p->chunks[p->n].raw_len = c->raw_len;
	p->chunks[p->n].stored_len = c->stored_len;
	p->chunks[p->n].source = -1;
	p->n++;
	p->next_seq = c->seq;
	return 0;
}

int plan_next_batch(struct plan *p)
{
	int r;

	p->n = 0;
	p->nreqs = 0;
	p->unlocated = 0;
	if (!p->st)
		return 0;
	r = db_plan_next_foreach(p->st->db, p->next_seq, p->batch_max, add_to_batch, p);
	if (r < 0)
		return r;
	if (p->n == 0) {
		p->next_seq = 0;
		return 0;
	}
	p->batches++;
	qsort(p->chunks, p->n, sizeof(*p->chunks), by_id);
	return (int)p->n;
}

int plan_wants_pack(struct plan *p, const struct pack_index *idx)
{
	struct db *db = p->st->db;
	bool own = !db_in_transaction(db);
	int r = own ? db_begin(db) : 0;
	int want = pack_index_count(idx) > 0;

	for (size_t k = 0; r == 0 && want && k < pack_index_count(idx); k++) {
		struct db_plan_chunk c;
		struct pack_entry e;

		pack_index_get(&e, idx, k);
		r = db_plan_get(&c, db, &e.id);
		if (r == -ENOENT || (r == 0 && c.raw_len != e.raw_len)) {
			want = 0; /* the release does not need this one */
			r = 0;
		} else if (r == 0) {
			r = db_chunk_find(NULL, db, &e.id);
			want = r == -ENOENT; /* not stored meanwhile */
			r = r == -ENOENT ? 0 : r;
		}
	}
	if (own && db_in_transaction(db))
		(void)db_rollback(db); /* nothing was written */
	return r < 0 ? r : want;
}

struct plan_chunk *plan_find(struct plan *p, const struct sha256 *id)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(id->b, p->chunks[mid].id.b, SHA256_LEN);

		if (c == 0)
			return &p->chunks[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Finds, in one pack's index, the batch's chunks not located yet. */
static size_t locate_in(struct plan *p, const struct pack_index *idx, int32_t source,
			const struct sha256 *pack)
{
	size_t found = 0;

	for (size_t i = 0; i < p->n; i++) {
		struct plan_chunk *c = &p->chunks[i];
		struct pack_entry e;

		if (c->done || c->source >= 0 || pack_index_find(&e, idx, &c->id) < 0 ||
		    e.raw_len != c->raw_len)
			continue;
		c->source = source;
		c->at = e;
		c->pack = pack;
		found++;
	}
	return found;
}

struct locating {
	struct plan *p;
	size_t left;
};

static int locate_pack(const struct pack_index *idx, size_t source, const struct sha256 *pack,
		       void *ctx)
{
	struct locating *l = ctx;

	l->left -= locate_in(l->p, idx, (int32_t)source, pack);
	return l->left == 0;
}

/* Source by source, cheapest first, and within one pack by pack, in its
 * list's order: a chunk goes to the first pack found to hold it.  Only
 * one pack index is in memory at a time. */
int plan_locate(struct plan *p, struct source *src, size_t nsrc)
{
	struct locating l = { .p = p };
	int r;

	for (size_t i = 0; i < p->n; i++) {
		p->chunks[i].source = -1;
		l.left += !p->chunks[i].done;
	}
	r = l.left ? source_each_index(src, nsrc, locate_pack, &l) : 0;
	p->unlocated = l.left;
	return r;
}

static struct plan *sort_plan;

static int by_place(const void *a, const void *b)
{
	const struct plan_chunk *x = &sort_plan->chunks[*(const size_t *)a];
	const struct plan_chunk *y = &sort_plan->chunks[*(const size_t *)b];
	int c;

	if (x->source != y->source)
		return x->source < y->source ? -1 : 1;
	c = memcmp(x->pack->b, y->pack->b, SHA256_LEN);
	if (c)
		return c;
	return x->at.offset < y->at.offset ? -1 : x->at.offset > y->at.offset;
}

static int push_req(struct plan *p, size_t *cap, const struct plan_request *rq)
{
	if (p->nreqs == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct plan_request *g = mem_realloc(p->reqs, c * sizeof(*g));

		if (!g)
			return -ENOMEM;
		p->reqs = g;
		*cap = c;
	}
	p->reqs[p->nreqs++] = *rq;
	return 0;
}

static uint64_t entry_end(const struct plan_chunk *c)
{
	return c->at.offset + PACK_ENTRY_HEADER_LEN + c->at.stored_len;
}

int plan_requests(struct plan *p)
{
	size_t n = 0, cap = 0;
	int r = 0;

	mem_free(p->order);
	mem_free(p->reqs);
	p->reqs = NULL;
	p->nreqs = 0;
	p->order = mem_calloc(p->n + 1, sizeof(*p->order));
	if (!p->order)
		return -ENOMEM;
	for (size_t i = 0; i < p->n; i++)
		if (p->chunks[i].source >= 0)
			p->order[n++] = i;
	sort_plan = p;
	qsort(p->order, n, sizeof(*p->order), by_place);
	for (size_t i = 0; i < n && r == 0;) {
		const struct plan_chunk *c = &p->chunks[p->order[i]];
		struct plan_request rq = { .source = c->source, .pack = c->pack,
					   .off = c->at.offset, .first = i };
		uint64_t end = entry_end(c);
		size_t j = i + 1;

		/* A chunk already made (from a delta, plan_delta.h) is never read:
		 * no request starts at it or reaches across it. */
		if (c->done) {
			i++;
			continue;
		}
		/* Neighbours join the request while the gap before each costs
		 * less than a request of its own.  No "most of the span is
		 * needed" rule: what lies between wanted entries may be what
		 * the store already holds (a delta's chunks, an earlier
		 * release's), and on a weak link it is read for nothing. */
		while (j < n) {
			const struct plan_chunk *d = &p->chunks[p->order[j]];

			if (d->source != c->source || d->pack != c->pack || d->done ||
			    d->at.offset > end + PLAN_GAP_BYTES)
				break;
			end = entry_end(d);
			j++;
		}
		rq.len = end - rq.off;
		rq.count = j - i;
		r = push_req(p, &cap, &rq);
		i = j;
	}
	return r;
}
