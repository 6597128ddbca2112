/*
 * gc.c — dropping and repacking what no kept release needs (see gc.h).
 */
#define _GNU_SOURCE /* nftw */
#include "sync/gc.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "manifests/pointer.h"
#include "manifests/repo.h"
#include "packager/codec.h"
#include "packager/pack.h"
#include "packager/pack_format.h"
#include "packager/pack_list.h"
#include "sync/store.h"

struct gc {
	struct store *st;
	struct gc_result *res;
	struct sha256 *live; /* sorted, unique */
	size_t n, cap;
	struct buf blob;
	char *packs;
	size_t pending; /* releases pending for subscribed channels */
};

static int add_live(struct gc *g, const struct sha256 *id)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 4096, bytes;
		struct sha256 *v;

		if (!mem_mul_ok(&bytes, cap, sizeof(*v)) || !(v = mem_realloc(g->live, bytes)))
			return -ENOMEM;
		g->live = v;
		g->cap = cap;
	}
	g->live[g->n++] = *id;
	return 0;
}

static int on_pointer(const char *path, const struct mgit_oid *blob, void *ctx)
{
	struct gc *g = ctx;
	struct mf_pointer p;
	int r;

	buf_reset(&g->blob);
	r = mgit_blob_read(&g->blob, g->st->git, blob, LIMIT_POINTER_BYTES);
	if (r == 0)
		r = mf_pointer_parse(&p, g->blob.data, g->blob.len);
	if (r < 0)
		return err_set(r, "%s: %s", path, err_detail());
	for (size_t i = 0; r == 0 && i < p.nchunks; i++)
		r = add_live(g, &p.chunks[i].id);
	mf_pointer_release(&p);
	return r;
}

/* Keeps the files of a release that filters select (NULL: all of it). */
static int keep_release(struct gc *g, const char *commit_hex, char **filters)
{
	struct mgit_oid id;
	struct mgit_commit c;
	int r = mgit_oid_parse(&id, commit_hex);

	if (r == 0)
		r = mgit_commit_read(&c, g->st->git, &id);
	if (r < 0) {
		store_filters_free(filters);
		return err_set(r, "release %s: %s", commit_hex, err_detail());
	}
	r = store_release_walk(g->st, &c.tree, (const char *const *)filters, on_pointer, g);
	mgit_commit_release(&c);
	store_filters_free(filters);
	return r;
}

/* An installed release: what it was installed for, narrowed by the
 * subscription (store_held_filters_get). */
static int on_channel(const struct db_channel *c, void *ctx)
{
	struct gc *g = ctx;
	char **f = NULL;
	int r = store_held_filters_get(&f, g->st, c->name);

	return r < 0 ? r : keep_release(g, c->commit, f);
}

/* A release being fetched: what the subscription asks of it. */
static int on_pending(const struct db_pending *p, void *ctx)
{
	struct gc *g = ctx;
	char **f = NULL;
	int r = store_subscription_get(&f, g->st, p->channel);

	if (r == -ENOENT) /* unsubscribed since: nothing of it is wanted */
		return 0;
	return r < 0 ? r : keep_release(g, p->commit, f);
}

static int by_id(const void *a, const void *b)
{
	return memcmp(a, b, SHA256_LEN);
}

static bool is_live(const struct gc *g, const struct sha256 *id)
{
	return g->n && bsearch(id, g->live, g->n, sizeof(*g->live), by_id);
}

static int collect_live(struct gc *g)
{
	size_t k = 0;
	int r = db_channel_foreach(g->st->db, on_channel, g);

	if (r == 0)
		r = db_pending_foreach(g->st->db, on_pending, g);
	if (r < 0)
		return r;
	if (g->n)
		qsort(g->live, g->n, sizeof(*g->live), by_id);
	for (size_t i = 0; i < g->n; i++)
		if (!k || memcmp(g->live[k - 1].b, g->live[i].b, SHA256_LEN) != 0)
			g->live[k++] = g->live[i];
	g->n = k;
	g->res->live_chunks = k;
	return 0;
}

/* The packs the database knows, copied out so rows can change after. */
struct pack_list_ {
	struct db_pack *v;
	size_t n, cap;
};

static int on_pack(const struct db_pack *p, void *ctx)
{
	struct pack_list_ *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct db_pack *v = mem_realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *p;
	return 0;
}

/* The kept chunks of one pack, and how much of it they fill. */
struct pack_use {
	struct gc *g;
	struct db_chunk *kept;
	size_t n, cap;
	uint64_t kept_bytes;
};

static int on_chunk(const struct db_chunk *c, void *ctx)
{
	struct pack_use *u = ctx;

	if (!is_live(u->g, &c->id))
		return 0;
	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 256;
		struct db_chunk *v = mem_realloc(u->kept, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		u->kept = v;
		u->cap = cap;
	}
	u->kept[u->n++] = *c;
	u->kept_bytes += PACK_ENTRY_HEADER_LEN + c->stored_len;
	return 0;
}

static void unlink_pack(struct gc *g, const struct sha256 *name)
{
	AUTO_FREE char *p = NULL, *x = NULL;

	if (pack_path_make(&p, g->packs, name, PACK_SUFFIX) == 0)
		(void)unlink(p);
	if (pack_path_make(&x, g->packs, name, PACK_IDX_SUFFIX) == 0)
		(void)unlink(x);
}

/* Copies the kept chunks of old into a new pack, verifying each again. */
static int write_new_pack(struct sha256 *name, uint64_t *size, struct gc *g,
			  const struct db_pack *old, const struct pack_use *u)
{
	AUTO_FREE char *path = NULL;
	AUTO_FREE uint8_t *raw = mem_alloc(LIMIT_CHUNK_MAX);
	AUTO_FREE uint8_t *entry = mem_alloc(PACK_ENTRY_HEADER_LEN + LIMIT_CHUNK_MAX + 64);
	AUTO_CLOSE int fd = -1;
	struct pack_writer *w = NULL;
	struct codec *codec = NULL;
	int r = raw && entry ? pack_path_make(&path, g->packs, &old->name, PACK_SUFFIX) : -ENOMEM;

	if (r == 0 && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		r = err_set(-errno, "%s: %s", path, strerror(errno));
	if (r == 0)
		r = codec_new(&codec, 3);
	if (r == 0)
		r = pack_writer_new(&w, g->packs, 0);
	for (size_t i = 0; r == 0 && i < u->n; i++) {
		const struct db_chunk *c = &u->kept[i];
		size_t len = PACK_ENTRY_HEADER_LEN + c->stored_len;
		struct pack_entry e;
		const uint8_t *payload;

		r = c->stored_len <= LIMIT_CHUNK_MAX + 64 ? fs_pread_all(fd, entry, len, c->offset)
							   : -EBADMSG;
		if (r == 0)
			r = pack_entry_parse(&e, &payload, entry, len);
		if (r >= 0 && memcmp(e.id.b, c->id.b, SHA256_LEN) != 0)
			r = -EBADMSG;
		if (r >= 0)
			r = pack_entry_decode(raw, LIMIT_CHUNK_MAX, &e, payload, codec);
		if (r >= 0)
			r = pack_writer_add(w, &e.id, e.type, payload, e.stored_len, e.raw_len);
		if (r < 0)
			r = err_keep(r, "a kept chunk in the store does not verify; run ferry verify");
	}
	if (r == 0)
		r = pack_writer_finish(w, name, size);
	pack_writer_free(w);
	codec_free(codec);
	return r;
}

/* One transaction: forget old, record new (if any) with its chunks. */
static int swap_rows(struct gc *g, const struct db_pack *old, const struct sha256 *name,
		     uint64_t size)
{
	AUTO_FREE char *idxpath = NULL;
	struct pack_index *idx = NULL;
	int64_t id;
	int r = 0;

	if (name)
		r = pack_path_make(&idxpath, g->packs, name, PACK_IDX_SUFFIX);
	if (r == 0 && name)
		r = pack_index_load(&idx, idxpath);
	if (r == 0)
		r = db_begin(g->st->db);
	if (r == 0)
		r = db_pack_remove(g->st->db, old->id);
	if (r == 0 && name) {
		r = db_pack_add(&id, g->st->db, name, size, pack_index_count(idx), time(NULL));
		r = r > 0 ? 0 : r;
	}
	for (size_t i = 0; r == 0 && idx && i < pack_index_count(idx); i++) {
		struct pack_entry e;
		struct db_chunk c;

		pack_index_get(&e, idx, i);
		c = (struct db_chunk){ .id = e.id, .pack = id, .offset = e.offset,
				       .stored_len = e.stored_len, .raw_len = e.raw_len,
				       .type = e.type };
		r = db_chunk_add(g->st->db, &c);
		r = r > 0 ? 0 : r;
	}
	if (r == 0)
		r = db_commit(g->st->db);
	else if (db_in_transaction(g->st->db))
		(void)db_rollback(g->st->db);
	pack_index_free(idx);
	return r;
}

static int one_pack(struct gc *g, const struct db_pack *p)
{
	struct pack_use u = { .g = g };
	struct sha256 name;
	uint64_t size = 0;
	int r = db_chunks_of_pack_foreach(g->st->db, p->id, on_chunk, &u);

	g->res->bytes_before += p->size;
	if (r == 0 && u.n && u.kept_bytes * 100 >= GC_REPACK_PCT * p->size) {
		g->res->bytes_after += p->size; /* mostly kept: leave it */
	} else if (r == 0) {
		if (u.n)
			r = write_new_pack(&name, &size, g, p, &u);
		if (r == 0)
			r = swap_rows(g, p, u.n ? &name : NULL, size);
		if (r == 0) {
			unlink_pack(g, &p->name);
			g->res->bytes_after += size;
			if (u.n)
				g->res->packs_repacked++;
			else
				g->res->packs_removed++;
		}
	}
	mem_free(u.kept);
	return r;
}

/* Pack files no database row names: a crash between a gc transaction and
 * its unlink, or a sync killed between finishing a batch's pack and
 * committing its rows.  Under the store lock nothing else writes packs. */
static int sweep_orphans(struct gc *g)
{
	DIR *top;
	struct dirent *e;
	int r = fs_tmp_sweep(g->packs); /* pack writers' temporaries */

	if (r < 0)
		return r;
	top = opendir(g->packs);
	if (!top)
		return 0;
	while ((e = readdir(top))) {
		AUTO_FREE char *sub = NULL;
		DIR *d;
		struct dirent *f;

		if (strlen(e->d_name) != 2 || strspn(e->d_name, "0123456789abcdef") != 2)
			continue;
		sub = fs_join(g->packs, e->d_name);
		d = sub ? opendir(sub) : NULL;
		if (!d)
			continue;
		while ((f = readdir(d))) {
			AUTO_FREE char *path = fs_join(sub, f->d_name);
			struct sha256 name;
			struct db_pack p;

			if (!path || pack_name_from_path(&name, path, PACK_SUFFIX) < 0)
				continue;
			if (db_pack_by_name(&p, g->st->db, &name) == -ENOENT)
				unlink_pack(g, &name);
		}
		closedir(d);
	}
	closedir(top);
	return 0;
}

/* Counts releases pending for channels still subscribed. */
static int count_pending(const struct db_pending *p, void *ctx)
{
	struct gc *g = ctx;
	char **f = NULL;
	int r = store_subscription_get(&f, g->st, p->channel);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	store_filters_free(f);
	g->pending++;
	return 0;
}

/* nftw() takes no context: the result being counted, and the first error. */
static struct gc_result *partial_res;
static int partial_err;

static int rm_partial(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)f;
	if (flag != FTW_F)
		return 0;
	if (unlink(path) < 0) {
		partial_err = err_set(-errno, "%s: %s", path, strerror(errno));
		return 1;
	}
	partial_res->partial_removed++;
	partial_res->partial_bytes += (uint64_t)st->st_size;
	return 0;
}

/* Part-adopted packs, once no release is pending (see gc.h). */
static int sweep_partials(struct gc *g)
{
	AUTO_FREE char *dir = store_path(g->st, STORE_PARTIAL_DIR);
	int r;

	if (!dir)
		return -ENOMEM;
	g->pending = 0;
	r = db_pending_foreach(g->st->db, count_pending, g);
	if (r < 0 || g->pending || !fs_exists(dir))
		return r;
	partial_res = g->res;
	partial_err = 0;
	r = nftw(dir, rm_partial, 8, FTW_PHYS);
	partial_res = NULL;
	if (r == 1)
		return partial_err;
	return r < 0 ? err_set(-errno, "%s: %s", dir, strerror(errno)) : 0;
}

int gc_run(struct gc_result *out, const char *store)
{
	struct gc g = { .res = out };
	struct pack_list_ packs = { 0 };
	int r;

	memset(out, 0, sizeof(*out));
	buf_init(&g.blob, LIMIT_POINTER_BYTES);
	r = store_open(&g.st, store);
	if (r == 0)
		r = store_lock(g.st, false);
	if (r == 0)
		r = (g.packs = store_path(g.st, REPO_PACKS_DIR)) ? 0 : -ENOMEM;
	if (r == 0)
		r = collect_live(&g);
	if (r == 0)
		r = sweep_orphans(&g);
	if (r == 0)
		r = sweep_partials(&g);
	if (r == 0)
		r = db_pack_foreach(g.st->db, on_pack, &packs);
	for (size_t i = 0; r == 0 && i < packs.n; i++)
		r = one_pack(&g, &packs.v[i]);
	if (r == 0)
		r = pack_list_write(g.packs);
	mem_free(packs.v);
	mem_free(g.live);
	mem_free(g.packs);
	buf_release(&g.blob);
	store_close(g.st);
	return r;
}
