/*
 * git_libgit2_thin.c — mgit_thin_pack_write() (see mgit.h): one release
 * as a *thin* git pack against the release before it.
 *
 * The objects are those a walk of the new release's tree meets that the
 * base release's tree does not hold anywhere (unchanged subtrees are
 * skipped whole; a moved file's pointer is not sent again), plus the
 * commit.  Each tree and blob that replaces
 * one at the same path is written as a REF_DELTA against it when the delta
 * is less than half the object; the rest are whole.  The delta is git's
 * format: the base and result sizes as little-endian base-128 numbers,
 * then instructions, "copy len bytes from base offset" (a byte with the top
 * bit set, then the offset and length bytes it flags) or "insert the next
 * 1-127 bytes".  Copies are found with a hash of every 16-byte window of
 * the base: a tree of a large flat folder with one changed entry becomes a
 * copy, a 20-byte insert and a copy.
 *
 * Bases are not in the pack: only a repository that holds them can
 * complete it (mgit_pack_import_thin(), or `git index-pack --fix-thin`).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "manifests/git_libgit2_int.h"

#define WINDOW 16u
#define TABLE_BITS_MAX 20u
#define PACK_REF_DELTA 7u
#define MAX_DEPTH 256u

struct thin_obj {
	struct mgit_oid id, base;
	enum mgit_kind kind;
	bool has_base;
};

struct thin {
	struct mgit *g;
	struct thin_obj *v;
	size_t n, cap;
	struct mgit_oid *have; /* every tree and blob of the base release, sorted */
	size_t nhave, caphave;
};

static int thin_add(struct thin *t, const struct mgit_oid *id, enum mgit_kind kind,
		    const struct mgit_oid *base)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		struct thin_obj *v;

		if (cap > LIMIT_GIT_PACK_OBJECTS)
			return err_set(-EFBIG, "a thin pack of more than %u objects",
				       LIMIT_GIT_PACK_OBJECTS);
		v = mem_realloc(t->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n] = (struct thin_obj){ .id = *id, .kind = kind, .has_base = base != NULL };
	if (base)
		t->v[t->n].base = *base;
	t->n++;
	return 0;
}

/* One entry of a raw tree: "<mode> <name>\0<20-byte id>". */
struct tree_ent {
	const char *name;
	size_t nlen;
	bool is_dir;
	struct mgit_oid id;
};

static int tree_next(struct tree_ent *e, const struct buf *t, size_t *at)
{
	const uint8_t *p = t->data + *at, *end = t->data + t->len, *sp, *nul;

	if (p >= end)
		return 0;
	sp = memchr(p, ' ', (size_t)(end - p));
	nul = sp ? memchr(sp, 0, (size_t)(end - sp)) : NULL;
	if (!sp || !nul || (size_t)(end - nul) < 1 + MGIT_OID_LEN)
		return err_set(-EBADMSG, "a malformed tree entry");
	e->is_dir = sp - p == 5 && memcmp(p, "40000", 5) == 0;
	e->name = (const char *)sp + 1;
	e->nlen = (size_t)(nul - sp - 1);
	memcpy(e->id.id, nul + 1, MGIT_OID_LEN);
	*at = (size_t)(nul + 1 + MGIT_OID_LEN - t->data);
	return 1;
}

/* The entry of old named like e, if any.  Both trees are in git's order,
 * so the search starts at *cursor (just past the last match) and wraps:
 * one pass over old for a tree whose entries all match. */
static bool tree_find(struct tree_ent *out, const struct buf *old, size_t *cursor,
		      const struct tree_ent *e)
{
	struct tree_ent o;

	for (int pass = 0; old && pass < 2; pass++) {
		size_t at = pass ? 0 : *cursor, stop = pass ? *cursor : old->len;

		while (at < stop && tree_next(&o, old, &at) > 0) {
			if (o.nlen == e->nlen && memcmp(o.name, e->name, e->nlen) == 0) {
				*out = o;
				*cursor = at;
				return true;
			}
		}
	}
	return false;
}

static int oid_cmp(const void *a, const void *b)
{
	return memcmp(a, b, MGIT_OID_LEN);
}

/* Every object below tree (the base release): a school holding the base
 * has them all, wherever they moved to in the new release. */
static int base_collect(struct thin *t, const struct mgit_oid *tree, unsigned depth)
{
	struct buf b;
	struct tree_ent e;
	size_t at = 0;
	int r, more;

	if (depth > MAX_DEPTH)
		return err_set(-EFBIG, "trees nested more than %u deep", MAX_DEPTH);
	buf_init(&b, LIMIT_GIT_TREE_BYTES);
	r = mgit_obj_read(&b, t->g, tree, MGIT_KIND_TREE, LIMIT_GIT_TREE_BYTES);
	while (r >= 0 && (more = tree_next(&e, &b, &at)) != 0) {
		if (more < 0) {
			r = more;
			break;
		}
		if (t->nhave == t->caphave) {
			size_t cap = t->caphave ? 2 * t->caphave : 256;
			struct mgit_oid *v = cap <= LIMIT_GIT_PACK_OBJECTS ? mem_realloc(t->have, cap * sizeof(*v)) : NULL;

			if (!v) {
				r = cap <= LIMIT_GIT_PACK_OBJECTS ? -ENOMEM
								   : err_set(-EFBIG, "a base release of too many objects");
				break;
			}
			t->have = v;
			t->caphave = cap;
		}
		t->have[t->nhave++] = e.id;
		if (e.is_dir)
			r = base_collect(t, &e.id, depth + 1);
	}
	buf_release(&b);
	return r;
}

static bool base_has(const struct thin *t, const struct mgit_oid *id)
{
	return t->nhave && bsearch(id, t->have, t->nhave, sizeof(*t->have), oid_cmp);
}

/* Adds what tree holds that old_tree (NULL: nothing) does not at the same
 * paths, then tree itself against old_tree. */
static int thin_walk(struct thin *t, const struct mgit_oid *tree, const struct mgit_oid *old_tree,
		     unsigned depth)
{
	struct buf nb, ob;
	struct tree_ent e, o;
	size_t at = 0, cursor = 0;
	int r, more;

	if (depth > MAX_DEPTH)
		return err_set(-EFBIG, "trees nested more than %u deep", MAX_DEPTH);
	buf_init(&nb, LIMIT_GIT_TREE_BYTES);
	buf_init(&ob, LIMIT_GIT_TREE_BYTES);
	r = mgit_obj_read(&nb, t->g, tree, MGIT_KIND_TREE, LIMIT_GIT_TREE_BYTES);
	if (r >= 0 && old_tree)
		r = mgit_obj_read(&ob, t->g, old_tree, MGIT_KIND_TREE, LIMIT_GIT_TREE_BYTES);
	while (r >= 0 && (more = tree_next(&e, &nb, &at)) != 0) {
		bool had;

		if (more < 0) {
			r = more;
			break;
		}
		had = tree_find(&o, old_tree ? &ob : NULL, &cursor, &e);
		if ((had && mgit_oid_eq(&o.id, &e.id)) || base_has(t, &e.id))
			continue;
		had = had && o.is_dir == e.is_dir;
		if (e.is_dir)
			r = thin_walk(t, &e.id, had ? &o.id : NULL, depth + 1);
		else
			r = thin_add(t, &e.id, MGIT_KIND_BLOB, had ? &o.id : NULL);
	}
	buf_release(&nb);
	buf_release(&ob);
	return r < 0 ? r : thin_add(t, tree, MGIT_KIND_TREE, old_tree);
}

static int by_id(const void *a, const void *b)
{
	return memcmp(((const struct thin_obj *)a)->id.id, ((const struct thin_obj *)b)->id.id,
		      MGIT_OID_LEN);
}

/* ---- git's delta format ------------------------------------------------ */

static int put_size(struct buf *out, uint64_t n)
{
	int r;

	do {
		uint8_t c = n & 0x7f;

		n >>= 7;
		r = buf_append_byte(out, (uint8_t)(c | (n ? 0x80 : 0)));
	} while (r >= 0 && n);
	return r;
}

static int put_insert(struct buf *out, const uint8_t *p, size_t n)
{
	int r = 0;

	while (r >= 0 && n) {
		size_t k = n > 127 ? 127 : n;

		r = buf_append_byte(out, (uint8_t)k);
		if (r >= 0)
			r = buf_append(out, p, k);
		p += k;
		n -= k;
	}
	return r;
}

static int put_copy(struct buf *out, uint64_t off, uint64_t len)
{
	int r = 0;

	while (r >= 0 && len) {
		uint32_t k = len > 0xffffffu ? 0xffffffu : (uint32_t)len;
		uint8_t ins[8], op = 0x80;
		size_t n = 1;

		for (unsigned i = 0; i < 4; i++) {
			uint8_t b = (uint8_t)(off >> (8 * i));

			if (b) {
				op |= (uint8_t)(1u << i);
				ins[n++] = b;
			}
		}
		for (unsigned i = 0; i < 3; i++) {
			uint8_t b = (uint8_t)(k >> (8 * i));

			if (b) {
				op |= (uint8_t)(0x10u << i);
				ins[n++] = b;
			}
		}
		ins[0] = op;
		r = buf_append(out, ins, n);
		off += k;
		len -= k;
	}
	return r;
}

static uint32_t window_hash(const uint8_t *p, unsigned bits)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (unsigned i = 0; i < WINDOW; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return (uint32_t)(h >> (64 - bits));
}

/* out gets the delta that makes dst from src. */
static int delta_encode(struct buf *out, const uint8_t *src, size_t sn, const uint8_t *dst,
			size_t dn)
{
	uint32_t *table = NULL;
	unsigned bits = 4;
	size_t i = 0, lit = 0;
	int r = put_size(out, sn);

	if (r >= 0)
		r = put_size(out, dn);
	if (r < 0 || sn < WINDOW || dn < WINDOW || sn > UINT32_MAX - 1)
		return r < 0 ? r : put_insert(out, dst, dn);
	while (bits < TABLE_BITS_MAX && (1ull << bits) < sn)
		bits++;
	table = mem_calloc((size_t)1 << bits, sizeof(*table));
	if (!table)
		return -ENOMEM;
	for (size_t k = 0; k + WINDOW <= sn; k++)
		table[window_hash(src + k, bits)] = (uint32_t)k + 1;
	while (r >= 0 && i + WINDOW <= dn) {
		uint32_t c = table[window_hash(dst + i, bits)];
		size_t s, len;

		if (!c || memcmp(src + c - 1, dst + i, WINDOW) != 0) {
			i++;
			continue;
		}
		s = c - 1;
		len = WINDOW;
		while (s + len < sn && i + len < dn && src[s + len] == dst[i + len])
			len++;
		while (s > 0 && i > lit && src[s - 1] == dst[i - 1]) {
			s--;
			i--;
			len++;
		}
		r = put_insert(out, dst + lit, i - lit);
		if (r >= 0)
			r = put_copy(out, s, len);
		i += len;
		lit = i;
	}
	mem_free(table);
	return r < 0 ? r : put_insert(out, dst + lit, dn - lit);
}

/* ---- the pack file ------------------------------------------------------- */

struct thin_out {
	int fd;
	struct sha1_ctx *sha;
	uint64_t bytes;
};

static int out_write(struct thin_out *o, const void *p, size_t n)
{
	sha1_ctx_update(o->sha, p, n);
	o->bytes += n;
	return fs_write_all(o->fd, p, n);
}

/* Type/size header, [base id], zlib of p. */
static int out_object(struct thin_out *o, unsigned type, const struct mgit_oid *base,
		      const void *p, size_t n)
{
	uint8_t hdr[16], c = (uint8_t)((type << 4) | (n & 15));
	struct buf z;
	size_t h = 0;
	int r;

	for (size_t s = n >> 4; s; s >>= 7) {
		hdr[h++] = c | 0x80;
		c = s & 0x7f;
	}
	hdr[h++] = c;
	buf_init(&z, LIMIT_GIT_OBJECT_BYTES + (LIMIT_GIT_OBJECT_BYTES >> 8) + 64);
	r = mgit_deflate(&z, p, n);
	if (r >= 0)
		r = out_write(o, hdr, h);
	if (r >= 0 && base)
		r = out_write(o, base->id, MGIT_OID_LEN);
	if (r >= 0)
		r = out_write(o, z.data, z.len);
	buf_release(&z);
	return r;
}

static int out_entry(struct thin_out *o, struct mgit *g, const struct thin_obj *e, uint64_t *deltas)
{
	struct buf obj, base, delta;
	int r;

	buf_init(&obj, LIMIT_GIT_OBJECT_BYTES);
	buf_init(&base, LIMIT_GIT_OBJECT_BYTES);
	buf_init(&delta, LIMIT_GIT_OBJECT_BYTES);
	r = mgit_obj_read(&obj, g, &e->id, e->kind, LIMIT_GIT_OBJECT_BYTES);
	if (r >= 0 && e->has_base)
		r = mgit_obj_read(&base, g, &e->base, e->kind, LIMIT_GIT_OBJECT_BYTES);
	if (r >= 0 && e->has_base)
		r = delta_encode(&delta, base.data, base.len, obj.data, obj.len);
	if (r >= 0 && e->has_base && delta.len * 2 < obj.len) {
		r = out_object(o, PACK_REF_DELTA, &e->base, delta.data, delta.len);
		*deltas += r >= 0;
	} else if (r >= 0) {
		r = out_object(o, (unsigned)e->kind, NULL, obj.data, obj.len);
	}
	buf_release(&obj);
	buf_release(&base);
	buf_release(&delta);
	return r;
}

int mgit_thin_pack_write(struct mgit_thin_stats *stats, struct mgit *g,
			 const struct mgit_oid *commit, const struct mgit_oid *base_commit,
			 const char *path)
{
	struct thin t = { .g = g };
	struct thin_out o = { .fd = -1 };
	struct mgit_commit c = { 0 }, b = { 0 };
	struct thin_obj top = { .id = *commit, .kind = MGIT_KIND_COMMIT };
	uint8_t head[12] = { 'P', 'A', 'C', 'K', 0, 0, 0, 2 }, trailer[SHA1_LEN];
	char *tmp = NULL;
	size_t kept = 0;
	uint64_t deltas = 0;
	int r;

	memset(stats, 0, sizeof(*stats));
	r = mgit_commit_read(&c, g, commit);
	if (r >= 0) {
		r = mgit_commit_read(&b, g, base_commit);
		if (r >= 0)
			r = base_collect(&t, &b.tree, 0);
		if (r >= 0) {
			qsort(t.have, t.nhave, sizeof(*t.have), oid_cmp);
			r = thin_walk(&t, &c.tree, &b.tree, 0);
		}
		mgit_commit_release(&b);
		mgit_commit_release(&c);
	}
	/* An object met twice (two folders alike) goes once. */
	if (r >= 0 && t.n) {
		qsort(t.v, t.n, sizeof(*t.v), by_id);
		for (size_t i = 0; i < t.n; i++)
			if (!kept || !mgit_oid_eq(&t.v[kept - 1].id, &t.v[i].id))
				t.v[kept++] = t.v[i];
	}
	if (r >= 0)
		r = sha1_ctx_new(&o.sha);
	if (r >= 0)
		r = fs_tmp_open(&o.fd, &tmp, path);
	if (r >= 0) {
		uint32_t n = (uint32_t)kept + 1;

		head[8] = (uint8_t)(n >> 24);
		head[9] = (uint8_t)(n >> 16);
		head[10] = (uint8_t)(n >> 8);
		head[11] = (uint8_t)n;
		r = out_write(&o, head, sizeof(head));
		if (r >= 0)
			r = out_entry(&o, g, &top, &deltas);
		for (size_t i = 0; r >= 0 && i < kept; i++)
			r = out_entry(&o, g, &t.v[i], &deltas);
		if (r >= 0) {
			sha1_ctx_final(o.sha, trailer);
			r = fs_write_all(o.fd, trailer, sizeof(trailer));
			o.bytes += sizeof(trailer);
		}
		if (r >= 0)
			r = fs_tmp_commit(o.fd, tmp, path);
		else
			fs_tmp_abort(o.fd, tmp);
	}
	if (r >= 0) {
		stats->objects = kept + 1;
		stats->deltas = deltas;
		stats->bytes = o.bytes;
	}
	mem_free(tmp);
	sha1_ctx_free(o.sha);
	mem_free(t.v);
	mem_free(t.have);
	return r;
}
