/*
 * publish_delta.c — which deltas a new release offers, and making the new
 * ones (see publish_delta.h).
 *
 * Memory: the previous `depth` release trees are only named (their oids);
 * per file, one pointer blob of each is read while the file is reported.
 * Pairs still to be made keep both chunk lists until mf_deltas_finish(),
 * which holds at most two files of max_file bytes and one delta at once.
 */
#include "manifests/publish_delta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "manifests/pointer.h"
#include "manifests/release_deltas.h"
#include "packager/delta.h"
#include "packager/pack.h"

/* A pair still to be made: old and new chunk lists. */
struct want {
	struct mf_pointer base, target;
};

struct mf_deltas {
	struct mgit *git;
	bool off;
	unsigned depth;
	int level;
	uint64_t max_file;
	struct mgit_oid trees[LIMIT_DELTA_BLOBS]; /* previous releases, newest first */
	unsigned ntrees;
	uint64_t version; /* of the new release */
	struct {	  /* the previous release's meta/deltas/ blobs */
		uint64_t version;
		struct mgit_oid blob;
	} blobs[LIMIT_DELTA_BLOBS];
	unsigned nblobs;
	struct delta_list list; /* deltas this release makes, then lists */
	struct want *wants;
	size_t nwants, capwants;
	uint64_t changed; /* files whose pointer differs from prev */
	struct buf blob;
};

void mf_deltas_free(struct mf_deltas *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nwants; i++) {
		mf_pointer_release(&d->wants[i].base);
		mf_pointer_release(&d->wants[i].target);
	}
	mem_free(d->wants);
	delta_list_release(&d->list);
	buf_release(&d->blob);
	mem_free(d);
}

static int keep_blob(uint64_t version, const struct mgit_oid *blob, void *ctx)
{
	struct mf_deltas *d = ctx;

	if (d->nblobs == LIMIT_DELTA_BLOBS)
		return err_set(-EFBIG, "more than %u delta lists", LIMIT_DELTA_BLOBS);
	d->blobs[d->nblobs].version = version;
	d->blobs[d->nblobs].blob = *blob;
	d->nblobs++;
	return 0;
}

/* Reads the previous release's trees (depth of them) and the names of its
 * meta/deltas/ blobs. */
static int load_history(struct mf_deltas *d, const struct mgit_oid *prev)
{
	struct mgit_oid at = *prev;
	struct delta_list l;
	int r = 0;

	while (d->ntrees < d->depth) {
		struct mgit_commit c;
		bool more;

		r = mgit_commit_read(&c, d->git, &at);
		if (r < 0)
			return r;
		d->trees[d->ntrees++] = c.tree;
		more = c.has_parent;
		at = c.parent;
		mgit_commit_release(&c);
		if (!more)
			break;
	}
	r = mf_release_deltas_read(&l, d->git, &d->trees[0], keep_blob, d);
	delta_list_release(&l);
	return r < 0 ? err_keep(r, "the previous release's deltas") : 0;
}

int mf_deltas_new(struct mf_deltas **out, struct mgit *git, const struct mgit_oid *prev,
		  uint64_t version, const struct mf_publish_opts *o)
{
	struct mf_deltas *d = mem_calloc(1, sizeof(*d));
	int r = 0;

	if (!d)
		return -ENOMEM;
	d->git = git;
	d->version = version;
	d->off = o->no_deltas || !prev;
	d->depth = o->delta_depth ? o->delta_depth : DELTA_DEPTH_DEFAULT;
	d->level = o->delta_level ? o->delta_level : CODEC_DELTA_LEVEL_DEFAULT;
	d->max_file = o->delta_max ? o->delta_max : DELTA_MAX_FILE_DEFAULT;
	buf_init(&d->blob, LIMIT_DELTA_LIST_BYTES > LIMIT_POINTER_BYTES ? LIMIT_DELTA_LIST_BYTES
									: LIMIT_POINTER_BYTES);
	delta_list_init(&d->list);
	if (d->depth > LIMIT_DELTA_BLOBS - 1)
		r = err_set(-EINVAL, "delta depth %u is over %u releases", d->depth,
			    LIMIT_DELTA_BLOBS - 1);
	if (r == 0 && d->max_file > LIMIT_DELTA_FILE_BYTES)
		r = err_set(-EINVAL, "delta maximum file size is over %u bytes",
			    LIMIT_DELTA_FILE_BYTES);
	if (r == 0 && !d->off)
		r = load_history(d, prev);
	if (r < 0) {
		mf_deltas_free(d);
		return r;
	}
	*out = d;
	return 0;
}

static int add_want(struct mf_deltas *d, struct mf_pointer *base, const struct pack_file *f)
{
	struct want *w;
	int r = 0;

	if (d->nwants == d->capwants) {
		size_t cap = d->capwants ? 2 * d->capwants : 16;

		w = mem_realloc(d->wants, cap * sizeof(*w));
		if (!w)
			return -ENOMEM;
		d->wants = w;
		d->capwants = cap;
	}
	w = &d->wants[d->nwants];
	mf_pointer_init(&w->target);
	w->target.size = f->size;
	w->target.hash = f->hash;
	for (size_t i = 0; r == 0 && i < f->nchunks; i++)
		r = mf_pointer_add(&w->target, &f->chunks[i].id, f->chunks[i].raw_len,
				   f->chunks[i].stored_len);
	if (r < 0) {
		mf_pointer_release(&w->target);
		return r;
	}
	w->base = *base; /* taken over */
	mf_pointer_init(base);
	d->nwants++;
	return 0;
}

/* Was (base, target) already wanted by an earlier path? */
static bool wanted(const struct mf_deltas *d, const struct sha256 *base, const struct sha256 *t)
{
	for (size_t i = d->nwants; i-- > 0;)
		if (memcmp(d->wants[i].base.hash.b, base->b, SHA256_LEN) == 0 &&
		    memcmp(d->wants[i].target.hash.b, t->b, SHA256_LEN) == 0)
			return true;
	return false;
}

int mf_deltas_file(struct mf_deltas *d, const char *path, const struct mgit_oid *blob,
		   const struct pack_file *f)
{
	AUTO_FREE char *gitpath = NULL;
	struct mgit_oid old;
	int r = 0;

	if (d->off)
		return 0;
	gitpath = fs_join("files", path);
	if (!gitpath)
		return -ENOMEM;
	/* Deltas are made once, by the release in which the file changes;
	 * later releases carry that release's blob over. */
	if (mgit_tree_get(&old, d->git, &d->trees[0], gitpath) == 0 && mgit_oid_eq(&old, blob))
		return 0;
	err_clear();
	d->changed++;
	for (unsigned k = 0; r == 0 && k < d->ntrees; k++) {
		struct mf_pointer base;

		if (mgit_tree_get(&old, d->git, &d->trees[k], gitpath) < 0) {
			err_clear();
			continue; /* the path is newer than that release */
		}
		if (mgit_oid_eq(&old, blob))
			continue;
		buf_reset(&d->blob);
		r = mgit_blob_read(&d->blob, d->git, &old, LIMIT_POINTER_BYTES);
		if (r == 0)
			r = mf_pointer_parse(&base, d->blob.data, d->blob.len);
		if (r < 0)
			return err_keep(r, "%s: an earlier release's pointer", path);
		if (memcmp(base.hash.b, f->hash.b, SHA256_LEN) != 0 && base.size && f->size &&
		    base.size <= d->max_file && f->size <= d->max_file &&
		    !wanted(d, &base.hash, &f->hash))
			r = add_want(d, &base, f);
		mf_pointer_release(&base);
	}
	return r;
}

/* ---- making the new deltas ---------------------------------------------- */

struct maker {
	struct mf_deltas *d;
	const char *packs_dir;
	struct chunk_table *table;
	struct delta_reader *reader;
	struct codec *codec;
	struct pack_writer *pw;
	struct sha256 *new_packs;
	size_t nnew, capnew;
	struct chunk_rec *recs; /* new entries for the chunk table */
	size_t nrecs, caprecs;
	struct buf base, target, frame;
	struct mf_publish_result *res;
};

static int finish_pack(struct maker *m)
{
	struct sha256 name;
	uint64_t size;
	int r;

	if (!m->pw)
		return 0;
	if (m->nnew == m->capnew) {
		size_t cap = m->capnew ? 2 * m->capnew : 4;
		struct sha256 *g = mem_realloc(m->new_packs, cap * sizeof(*g));

		if (!g)
			return -ENOMEM;
		m->new_packs = g;
		m->capnew = cap;
	}
	r = pack_writer_finish(m->pw, &name, &size);
	pack_writer_free(m->pw);
	m->pw = NULL;
	if (r < 0)
		return r;
	m->new_packs[m->nnew++] = name;
	return 0;
}

static int store_delta(struct maker *m, const struct sha256 *id, uint32_t target_size)
{
	size_t n = m->frame.len;
	int r;

	if (m->pw && !pack_writer_fits(m->pw, n)) {
		r = finish_pack(m);
		if (r < 0)
			return r;
	}
	if (!m->pw) {
		r = pack_writer_new(&m->pw, m->packs_dir, 0);
		if (r < 0)
			return r;
	}
	r = pack_writer_add(m->pw, id, PACK_ENTRY_DELTA, m->frame.data, n, target_size);
	if (r == -EEXIST) { /* the same delta twice in this run */
		err_clear();
		return 0;
	}
	if (r < 0)
		return r;
	if (m->nrecs == m->caprecs) {
		size_t cap = m->caprecs ? 2 * m->caprecs : 64;
		struct chunk_rec *g = mem_realloc(m->recs, cap * sizeof(*g));

		if (!g)
			return -ENOMEM;
		m->recs = g;
		m->caprecs = cap;
	}
	m->recs[m->nrecs++] =
	    (struct chunk_rec){.id = *id,
			       .pack = chunk_table_pack_count(m->table) + (uint32_t)m->nnew,
			       .stored_len = (uint32_t)n,
			       .raw_len = target_size,
			       .type = PACK_ENTRY_DELTA};
	m->res->deltas_new++;
	m->res->deltas_new_bytes += n;
	return 0;
}

/* Makes one wanted pair's delta, if worth it, and lists it. */
static int make_one(struct maker *m, const struct want *w)
{
	struct delta_rec rec = {.base = w->base.hash,
				.target = w->target.hash,
				.target_size = (uint32_t)w->target.size};
	struct chunk_rec found;
	uint64_t cost =
	    delta_chunk_cost(w->target.chunks, w->target.nchunks, w->base.chunks, w->base.nchunks);
	int r;

	r = delta_file_read(&m->base, m->reader, w->base.chunks, w->base.nchunks, w->base.size,
			    &w->base.hash);
	if (r == -ENOENT) { /* the old version's chunks are gone: no delta */
		err_clear();
		return 0;
	}
	if (r == 0)
		r = delta_file_read(&m->target, m->reader, w->target.chunks, w->target.nchunks,
				    w->target.size, &w->target.hash);
	if (r == 0)
		r = delta_make(&m->frame, m->codec, m->base.data, m->base.len, m->target.data,
			       m->target.len, cost, m->d->level);
	m->res->deltas_tried++;
	if (r <= 0)
		return r;
	sha256_buf(&rec.id, m->frame.data, m->frame.len);
	rec.size = (uint32_t)m->frame.len;
	/* Already in a pack (a run that stopped before publishing)? */
	if (chunk_table_find(m->table, &rec.id, &found) < 0)
		r = store_delta(m, &rec.id, rec.target_size);
	return r < 0 ? r : delta_list_add(&m->d->list, &rec);
}

static int merge_recs(struct maker *m, const char *table_path)
{
	if (m->nrecs == 0)
		return 0;
	qsort(m->recs, m->nrecs, sizeof(*m->recs), chunk_rec_cmp);
	return chunk_table_merge(table_path, m->table, m->new_packs, m->nnew, m->recs, m->nrecs);
}

static int by_name(const void *a, const void *b)
{
	return memcmp(a, b, SHA256_LEN);
}

/* Adds the packs of every listed delta to the release's packs. */
static int add_packs(const struct delta_list *list, const char *table_path, const char *packs_dir,
		     struct pack_result *pr)
{
	struct chunk_table *t = NULL;
	int r = chunk_table_open(&t, table_path);

	for (size_t i = 0; r == 0 && i < list->n; i++) {
		struct chunk_rec rec;
		const struct sha256 *name;
		struct sha256 *g;
		AUTO_FREE char *path = NULL;
		uint64_t size = 0;

		if (chunk_table_find(t, &list->recs[i].id, &rec) < 0 ||
		    rec.type != PACK_ENTRY_DELTA) {
			r = err_set(-ENOENT, "a delta the release lists is in no pack");
			break;
		}
		name = chunk_table_pack_name(t, rec.pack);
		if (pr->npacks && bsearch(name, pr->packs, pr->npacks, sizeof(*pr->packs), by_name))
			continue;
		r = pack_path_make(&path, packs_dir, name, PACK_SUFFIX);
		if (r == 0)
			r = fs_file_size(&size, path);
		if (r < 0)
			break;
		g = mem_realloc(pr->packs, (pr->npacks + 1) * sizeof(*g));
		if (!g) {
			r = -ENOMEM;
			break;
		}
		pr->packs = g;
		pr->packs[pr->npacks++] = *name;
		pr->packs_bytes += size;
		qsort(pr->packs, pr->npacks, sizeof(*pr->packs), by_name);
	}
	chunk_table_free(t);
	return r;
}

static int make_all(struct maker *m, const char *table_path)
{
	struct mf_deltas *d = m->d;
	int r = chunk_table_open(&m->table, table_path);

	buf_init(&m->base, (size_t)d->max_file);
	buf_init(&m->target, (size_t)d->max_file);
	buf_init(&m->frame, LIMIT_DELTA_BYTES + 1);
	if (r == 0)
		r = delta_reader_new(&m->reader, m->table, m->packs_dir);
	if (r == 0)
		r = codec_new(&m->codec, CODEC_LEVEL_DEFAULT);
	for (size_t i = 0; r == 0 && i < d->nwants; i++)
		r = make_one(m, &d->wants[i]);
	if (r == 0)
		r = finish_pack(m);
	if (r == 0)
		r = merge_recs(m, table_path);
	pack_writer_free(m->pw);
	codec_free(m->codec);
	delta_reader_free(m->reader);
	chunk_table_free(m->table);
	buf_release(&m->base);
	buf_release(&m->target);
	buf_release(&m->frame);
	mem_free(m->new_packs);
	mem_free(m->recs);
	return r;
}

/* Lists a carried-over blob: its tree entry and its records. */
static int carry_blob(struct mf_deltas *d, struct mgit_tree *tree, struct delta_list *listed,
		      uint64_t version, const struct mgit_oid *blob)
{
	char name[64];
	struct delta_list l;
	int r;

	snprintf(name, sizeof(name), RELEASE_DELTAS_DIR "/%llu", (unsigned long long)version);
	buf_reset(&d->blob);
	r = mgit_blob_read(&d->blob, d->git, blob, LIMIT_DELTA_LIST_BYTES);
	if (r == 0)
		r = delta_list_parse(&l, d->blob.data, d->blob.len);
	if (r < 0)
		return r;
	for (size_t i = 0; r == 0 && i < l.n; i++)
		r = delta_list_add(listed, &l.recs[i]);
	delta_list_release(&l);
	return r < 0 ? r : mgit_tree_put(tree, name, blob);
}

/* This release's own blob, if it made any delta. */
static int put_new_blob(struct mf_deltas *d, struct mgit_tree *tree, struct delta_list *listed)
{
	char name[64];
	struct mgit_oid oid;
	int r = 0;

	if (d->list.n == 0)
		return 0;
	delta_list_sort(&d->list);
	snprintf(name, sizeof(name), RELEASE_DELTAS_DIR "/%llu", (unsigned long long)d->version);
	buf_reset(&d->blob);
	r = delta_list_format(&d->blob, &d->list);
	if (r == 0)
		r = mgit_blob_write(&oid, d->git, d->blob.data, d->blob.len);
	for (size_t i = 0; r == 0 && i < d->list.n; i++)
		r = delta_list_add(listed, &d->list.recs[i]);
	return r < 0 ? r : mgit_tree_put(tree, name, &oid);
}

int mf_deltas_finish(struct mf_deltas *d, struct mgit_tree *tree, const char *packs_dir,
		     const char *table_path, struct pack_result *pr, struct mf_publish_result *res)
{
	struct maker m = {.d = d, .packs_dir = packs_dir, .res = res};
	struct delta_list listed;
	struct timespec t0, t1;
	int r = 0;

	if (d->off)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	delta_list_init(&listed);
	if (d->changed)
		r = make_all(&m, table_path);
	if (r == 0)
		r = put_new_blob(d, tree, &listed);
	/* Blobs of the last depth releases are carried over as they are (all
	 * of them when nothing changed, so the tree stays the same). */
	for (unsigned i = 0; r == 0 && i < d->nblobs; i++)
		if (!d->changed || d->version - d->blobs[i].version < d->depth)
			r = carry_blob(d, tree, &listed, d->blobs[i].version, &d->blobs[i].blob);
	delta_list_sort(&listed);
	if (r == 0 && listed.n)
		r = add_packs(&listed, table_path, packs_dir, pr);
	for (size_t i = 0; i < listed.n; i++) {
		res->deltas++;
		res->delta_bytes += listed.recs[i].size;
	}
	delta_list_release(&listed);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	res->delta_seconds =
	    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return r;
}
