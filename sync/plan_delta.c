/*
 * plan_delta.c — choosing deltas for a school's plan (see plan_delta.h).
 */
#include "sync/plan_delta.h"

#include <string.h>

#include "core/limits.h"
#include "core/mem.h"
#include "manifests/catalog.h"
#include "manifests/release_deltas.h"
#include "packager/delta.h"

void plan_deltas_init(struct plan_deltas *pd)
{
	memset(pd, 0, sizeof(*pd));
}

void plan_deltas_release(struct plan_deltas *pd)
{
	for (size_t i = 0; i < pd->n; i++) {
		mf_pointer_release(&pd->d[i].base);
		mf_pointer_release(&pd->d[i].target);
	}
	mem_free(pd->d);
	plan_deltas_init(pd);
}

struct choose {
	struct plan_deltas *pd;
	struct store *st;
	const char *const *filters;
	struct source *src;
	size_t nsrc;
	struct delta_list list;
	struct buf blob;
};

static int read_pointer(struct mf_pointer *out, struct choose *c, const struct mgit_oid *blob)
{
	int r;

	buf_reset(&c->blob);
	r = mgit_blob_read(&c->blob, c->st->git, blob, LIMIT_POINTER_BYTES);
	return r < 0 ? r : mf_pointer_parse(out, c->blob.data, c->blob.len);
}

/* True if every chunk of p is in the store. */
static bool in_store(struct choose *c, const struct mf_pointer *p)
{
	for (size_t i = 0; i < p->nchunks; i++)
		if (db_chunk_find(NULL, c->st->db, &p->chunks[i].id) < 0)
			return false;
	return true;
}

/* Stored bytes (entry headers included) of p's chunks the store lacks,
 * and the same without headers (what plan.h counts). */
static uint64_t missing_cost(struct choose *c, const struct mf_pointer *p, uint64_t *plain)
{
	uint64_t cost = 0;

	*plain = 0;
	for (size_t i = 0; i < p->nchunks; i++) {
		if (db_chunk_find(NULL, c->st->db, &p->chunks[i].id) == 0)
			continue;
		cost += PACK_ENTRY_HEADER_LEN + (uint64_t)p->chunks[i].stored_len;
		*plain += p->chunks[i].stored_len;
	}
	return cost;
}

static int push(struct plan_deltas *pd, struct plan_delta *d)
{
	if (pd->n == pd->cap) {
		size_t cap = pd->cap ? 2 * pd->cap : 16;
		struct plan_delta *g = mem_realloc(pd->d, cap * sizeof(*g));

		if (!g)
			return -ENOMEM;
		pd->d = g;
		pd->cap = cap;
	}
	pd->d[pd->n++] = *d;
	return 0;
}

static int on_changed(const char *path, const struct mgit_oid *old_blob,
		      const struct mgit_oid *new_blob, void *ctx)
{
	struct choose *c = ctx;
	const char *rel = path + strlen("files/");
	struct plan_delta d = {.source = -1};
	const struct delta_rec *rec;
	uint64_t cost, plain;
	int r;

	if (!old_blob || !new_blob || !store_filter_match(c->filters, rel))
		return 0;
	r = mf_path_check(rel, strlen(rel));
	if (r < 0)
		return err_set(-EBADMSG, "release: %s", err_detail());
	r = read_pointer(&d.target, c, new_blob);
	if (r == 0)
		r = read_pointer(&d.base, c, old_blob);
	if (r < 0) {
		mf_pointer_release(&d.target);
		return err_set(r, "release: %s: %s", rel, err_detail());
	}
	rec = delta_list_find(&c->list, &d.base.hash, &d.target.hash);
	r = 0;
	if (rec && rec->target_size == d.target.size && in_store(c, &d.base)) {
		cost = missing_cost(c, &d.target, &plain);
		if ((uint64_t)rec->size < cost) { /* only its bytes are read */
			d.id = rec->id;
			d.size = rec->size;
			d.chunk_bytes = plain;
			r = push(c->pd, &d);
			if (r == 0) {
				c->pd->delta_bytes += rec->size;
				c->pd->replaced_bytes += plain;
				return 0; /* the pointers now belong to pd */
			}
		}
	}
	mf_pointer_release(&d.base);
	mf_pointer_release(&d.target);
	return r;
}

struct delta_locating {
	struct plan_deltas *pd;
	size_t left;
};

static int locate_in(const struct pack_index *idx, size_t source, const struct sha256 *pack,
		     void *ctx)
{
	struct delta_locating *l = ctx;

	for (size_t i = 0; i < l->pd->n; i++) {
		struct plan_delta *d = &l->pd->d[i];
		struct pack_entry e;

		if (d->source >= 0 || pack_index_find(&e, idx, &d->id) < 0 ||
		    e.type != PACK_ENTRY_DELTA || e.stored_len != d->size ||
		    e.raw_len != d->target.size)
			continue;
		d->source = (int32_t)source;
		d->pack = pack;
		d->at = e;
		l->left--;
	}
	return l->left == 0;
}

/* Finds each chosen delta's entry in the usable sources, cheapest source
 * first, one pack index in memory at a time; a delta no source offers is
 * dropped (its chunks are fetched as usual). */
static int locate_all(struct plan_deltas *pd, struct source *src, size_t nsrc)
{
	struct delta_locating l = { .pd = pd, .left = pd->n };
	size_t kept = 0;
	int r = l.left ? source_each_index(src, nsrc, locate_in, &l) : 0;

	if (r < 0)
		return r;
	for (size_t i = 0; i < pd->n; i++) {
		struct plan_delta *d = &pd->d[i];

		if (d->source >= 0) {
			pd->d[kept++] = *d;
			continue;
		}
		pd->delta_bytes -= d->size;
		pd->replaced_bytes -= d->chunk_bytes;
		mf_pointer_release(&d->base);
		mf_pointer_release(&d->target);
	}
	pd->n = kept;
	return 0;
}

int plan_deltas_choose(struct plan_deltas *pd, const struct plan *p, struct store *st,
		       const struct mgit_oid *old_tree, const struct mgit_oid *new_tree,
		       const char *const *filters, struct source *src, size_t nsrc)
{
	struct choose c = {.pd = pd, .st = st, .filters = filters, .src = src, .nsrc = nsrc};
	int r;

	if (!old_tree || p->total == 0)
		return 0;
	buf_init(&c.blob, LIMIT_POINTER_BYTES);
	r = mf_release_deltas_read(&c.list, st->git, new_tree, NULL, NULL);
	if (r < 0)
		r = err_set(r, "release: %s", err_detail());
	if (r == 0 && c.list.n)
		r = mgit_tree_diff(st->git, old_tree, new_tree, "files", on_changed, &c);
	if (r == 0)
		r = locate_all(pd, src, nsrc);
	delta_list_release(&c.list);
	buf_release(&c.blob);
	return r;
}
