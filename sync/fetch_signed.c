/*
 * fetch_signed.c — the packs a release's signature vouches for.
 *
 * A release is a signed commit whose tree holds meta/packs, one line
 * "<64 hex pack name> <pack bytes>" per pack holding a chunk of the
 * release (docs/format.md).  A pack's name is the SHA-256 of its bytes, so
 * once the commit's signature is checked (sync_run.c does that before a
 * plan is made), a pack whose bytes hash to a name on this list, and whose
 * size is the listed size, is byte for byte the pack the publisher made:
 * fetch_adopt.c then takes it on that one hash instead of decoding and
 * hashing each of its chunks.
 *
 * The list is read from the store's manifest repository through mgit.h,
 * bounded (LIMIT_POINTER_BYTES, as `ferry verify` reads it) and parsed
 * strictly (pack_list_parse, the same line format as packs/list).  A
 * release without meta/packs, or with one that does not parse, vouches for
 * no pack: every pack is then verified entry by entry, as before.
 */
#include "sync/fetch_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "core/mem.h"
#include "packager/pack_list.h"

#define SIGNED_PACKS_PATH "meta/packs"

static int add(const struct sha256 *name, uint64_t size, void *ctx)
{
	struct signed_packs *s = ctx;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct signed_pack *v = mem_realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = (struct signed_pack){ .name = *name, .size = size };
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return memcmp(((const struct signed_pack *)a)->name.b,
		      ((const struct signed_pack *)b)->name.b, SHA256_LEN);
}

int signed_packs_load(struct signed_packs *s, struct mgit *g, const struct mgit_oid *tree)
{
	struct mgit_oid blob;
	struct buf b;
	int r;

	s->n = 0;
	r = mgit_tree_get(&blob, g, tree, SIGNED_PACKS_PATH);
	if (r == -ENOENT)
		return 0;
	buf_init(&b, LIMIT_POINTER_BYTES);
	if (r == 0)
		r = mgit_blob_read(&b, g, &blob, LIMIT_POINTER_BYTES);
	if (r == 0)
		r = pack_list_parse(b.data, b.len, add, s);
	buf_release(&b);
	if (r < 0) {
		s->n = 0;
		return r;
	}
	/* Sorted by the publisher; sorted again here so a lookup never
	 * depends on that. */
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), by_name);
	return 0;
}

bool signed_packs_has(const struct signed_packs *s, const struct sha256 *name, uint64_t size)
{
	struct signed_pack key = { .name = *name };
	const struct signed_pack *hit;

	if (!s->n)
		return false;
	hit = bsearch(&key, s->v, s->n, sizeof(*s->v), by_name);
	return hit && hit->size == size;
}

void signed_packs_release(struct signed_packs *s)
{
	mem_free(s->v);
	*s = (struct signed_packs){ 0 };
}
