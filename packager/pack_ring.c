/*
 * pack_ring.c — the ring of slots between the reader, the compressors and
 * the in-order writer of a packing run.
 *
 * The reader claims slots in order and submits them; workers take
 * submitted slots in order, hash the chunk, look it up (chunk table, then
 * the run's own set) and compress only what is new; the writer consumes
 * slots strictly in the order they were claimed, so packs and pointers
 * come out in tree order however the workers interleave.  One mutex and
 * two condition variables; the expensive work happens outside the lock.
 */
#include <string.h>

#include "core/mem.h"
#include "packager/codec.h"
#include "packager/pack.h"
#include "packager/pack_run_int.h"

struct pack_ring {
	struct slot *slots;
	unsigned n;
	uint64_t head; /* next to claim */
	uint64_t work; /* next for a worker */
	uint64_t tail; /* oldest not yet released */
	pthread_mutex_t mu;
	pthread_cond_t has_work;
	pthread_cond_t has_done;
	bool stop;
	pthread_t *threads;
	unsigned nthreads;
	struct ring_lookup lookup;
	size_t stored_cap;
};

static void work_one(struct pack_ring *r, struct codec *codec, struct slot *s)
{
	size_t len = 0;
	int e;

	if (s->raw_len == 0)
		return;
	sha256_buf(&s->id, s->raw, s->raw_len);
	s->found = FOUND_NEW;
	e = chunk_table_find(r->lookup.table, &s->id, &s->rec);
	if (e == 0) {
		s->found = FOUND_TABLE;
		return;
	}
	if (e != -ENOENT) {
		s->err = e;
		return;
	}
	if (chunk_set_find(r->lookup.set, &s->id, &s->rec) == 0) {
		s->found = FOUND_RUN;
		return;
	}
	e = pack_chunk_encode(&s->type, &s->payload, &len, codec, s->stored, r->stored_cap, s->raw,
			      s->raw_len);
	if (e < 0) {
		s->err = e;
		return;
	}
	s->stored_len = (uint32_t)len;
}

static void *worker(void *arg)
{
	struct pack_ring *r = arg;
	struct codec *codec = NULL;
	int init = codec_new(&codec, r->lookup.level);

	pthread_mutex_lock(&r->mu);
	for (;;) {
		struct slot *s;

		while (!r->stop && r->work == r->head)
			pthread_cond_wait(&r->has_work, &r->mu);
		if (r->stop)
			break;
		s = &r->slots[r->work++ % r->n];
		s->state = SLOT_BUSY;
		pthread_mutex_unlock(&r->mu);
		if (init < 0)
			s->err = init;
		else
			work_one(r, codec, s);
		pthread_mutex_lock(&r->mu);
		s->state = SLOT_DONE;
		pthread_cond_broadcast(&r->has_done);
	}
	pthread_mutex_unlock(&r->mu);
	codec_free(codec);
	return NULL;
}

void pack_ring_free(struct pack_ring *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_broadcast(&r->has_work);
	pthread_mutex_unlock(&r->mu);
	for (unsigned i = 0; i < r->nthreads; i++)
		pthread_join(r->threads[i], NULL);
	for (unsigned i = 0; r->slots && i < r->n; i++) {
		mem_free(r->slots[i].raw);
		mem_free(r->slots[i].stored);
	}
	mem_free(r->slots);
	mem_free(r->threads);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->has_work);
	pthread_cond_destroy(&r->has_done);
	mem_free(r);
}

int pack_ring_new(struct pack_ring **out, unsigned nslots, unsigned workers, size_t max_chunk,
		  const struct ring_lookup *lookup)
{
	struct pack_ring *r = mem_calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->has_work, NULL);
	pthread_cond_init(&r->has_done, NULL);
	r->n = nslots;
	r->lookup = *lookup;
	r->stored_cap = max_chunk;
	r->slots = mem_calloc(nslots, sizeof(*r->slots));
	r->threads = mem_calloc(workers, sizeof(*r->threads));
	if (!r->slots || !r->threads)
		goto nomem;
	for (unsigned i = 0; i < nslots; i++) {
		r->slots[i].raw = mem_alloc(max_chunk);
		r->slots[i].stored = mem_alloc(r->stored_cap);
		if (!r->slots[i].raw || !r->slots[i].stored)
			goto nomem;
	}
	for (unsigned i = 0; i < workers; i++) {
		if (pthread_create(&r->threads[i], NULL, worker, r) != 0) {
			pack_ring_free(r);
			return err_set(-EAGAIN, "cannot start a compression thread");
		}
		r->nthreads++;
	}
	*out = r;
	return 0;
nomem:
	pack_ring_free(r);
	return -ENOMEM;
}

struct slot *pack_ring_claim(struct pack_ring *r)
{
	struct slot *s;

	if (r->head - r->tail == r->n)
		return NULL;
	s = &r->slots[r->head % r->n];
	s->raw_len = 0;
	s->stored_len = 0;
	s->last_in_file = false;
	s->err = 0;
	s->found = FOUND_NEW;
	return s;
}

void pack_ring_submit(struct pack_ring *r, struct slot *s)
{
	pthread_mutex_lock(&r->mu);
	s->state = SLOT_READY;
	r->head++;
	pthread_cond_signal(&r->has_work);
	pthread_mutex_unlock(&r->mu);
}

struct slot *pack_ring_oldest(struct pack_ring *r, bool wait)
{
	struct slot *s = NULL;

	pthread_mutex_lock(&r->mu);
	while (r->tail < r->head) {
		s = &r->slots[r->tail % r->n];
		if (s->state == SLOT_DONE || !wait)
			break;
		pthread_cond_wait(&r->has_done, &r->mu);
	}
	if (r->tail == r->head || (s && s->state != SLOT_DONE))
		s = NULL;
	pthread_mutex_unlock(&r->mu);
	return s;
}

void pack_ring_release_oldest(struct pack_ring *r)
{
	pthread_mutex_lock(&r->mu);
	r->slots[r->tail % r->n].state = SLOT_FREE;
	r->tail++;
	pthread_mutex_unlock(&r->mu);
}
