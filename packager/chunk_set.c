/*
 * chunk_set.c — the set of chunks a packing run has written so far.
 *
 * Chunk IDs are SHA-256 digests, so their first eight bytes already are a
 * uniform hash; the table uses linear probing and doubles at 50 % load.
 * Memory is about 100 bytes per new chunk, bounded by the run, not the
 * repository (old chunks live in the on-disk chunk table).
 */
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/mem.h"
#include "packager/pack_run_int.h"

int chunk_set_init(struct chunk_set *s)
{
	s->cap = 1024;
	s->count = 0;
	s->recs = mem_calloc(s->cap, sizeof(*s->recs));
	s->used = mem_calloc(s->cap, 1);
	if (!s->recs || !s->used) {
		mem_free(s->recs);
		mem_free(s->used);
		s->recs = NULL;
		s->used = NULL;
		return -ENOMEM;
	}
	pthread_rwlock_init(&s->lock, NULL);
	return 0;
}

void chunk_set_release(struct chunk_set *s)
{
	mem_free(s->recs);
	mem_free(s->used);
	s->recs = NULL;
	s->used = NULL;
	pthread_rwlock_destroy(&s->lock);
}

static size_t slot_of(const struct sha256 *id, size_t cap)
{
	return (size_t)get_le64(id->b) & (cap - 1);
}

static size_t probe(const struct chunk_rec *recs, const uint8_t *used, size_t cap,
		    const struct sha256 *id)
{
	size_t i = slot_of(id, cap);

	while (used[i] && memcmp(recs[i].id.b, id->b, SHA256_LEN) != 0)
		i = (i + 1) & (cap - 1);
	return i;
}

int chunk_set_find(struct chunk_set *s, const struct sha256 *id, struct chunk_rec *out)
{
	int r = -ENOENT;
	size_t i;

	pthread_rwlock_rdlock(&s->lock);
	i = probe(s->recs, s->used, s->cap, id);
	if (s->used[i]) {
		*out = s->recs[i];
		r = 0;
	}
	pthread_rwlock_unlock(&s->lock);
	return r;
}

static int grow(struct chunk_set *s)
{
	size_t cap = s->cap * 2;
	struct chunk_rec *recs = mem_calloc(cap, sizeof(*recs));
	uint8_t *used = mem_calloc(cap, 1);

	if (!recs || !used) {
		mem_free(recs);
		mem_free(used);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->cap; i++) {
		size_t j;

		if (!s->used[i])
			continue;
		j = probe(recs, used, cap, &s->recs[i].id);
		recs[j] = s->recs[i];
		used[j] = 1;
	}
	mem_free(s->recs);
	mem_free(s->used);
	s->recs = recs;
	s->used = used;
	s->cap = cap;
	return 0;
}

int chunk_set_add(struct chunk_set *s, const struct chunk_rec *rec)
{
	int r = 0;
	size_t i;

	pthread_rwlock_wrlock(&s->lock);
	if (2 * (s->count + 1) > s->cap)
		r = grow(s);
	if (r == 0) {
		i = probe(s->recs, s->used, s->cap, &rec->id);
		if (!s->used[i]) {
			s->recs[i] = *rec;
			s->used[i] = 1;
			s->count++;
		}
	}
	pthread_rwlock_unlock(&s->lock);
	return r;
}

int chunk_set_sorted(struct chunk_rec **out, struct chunk_set *s)
{
	struct chunk_rec *v = mem_calloc(s->count ? s->count : 1, sizeof(*v));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < s->cap; i++)
		if (s->used[i])
			v[n++] = s->recs[i];
	qsort(v, n, sizeof(*v), chunk_rec_cmp);
	*out = v;
	return 0;
}
