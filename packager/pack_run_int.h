/*
 * pack_run_int.h — internals shared by the files of the packing pipeline:
 * the set of chunks new in this run (chunk_set.c) and the ring of slots
 * that carries chunks from the reader to the compressors and back to the
 * writer (pack_ring.c).  See pack_run.h for the whole picture.
 */
#ifndef FERRY_PACKAGER_PACK_RUN_INT_H
#define FERRY_PACKAGER_PACK_RUN_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "packager/chunk_table.h"

/* --- chunk_set: chunks written by this run (open addressing). --- */

struct chunk_set {
	struct chunk_rec *recs; /* rec.pack = ordinal of the run's pack */
	uint8_t *used;
	size_t cap, count;
	pthread_rwlock_t lock; /* workers read, the writer inserts */
};

int chunk_set_init(struct chunk_set *s) FERRY_MUST_USE;
void chunk_set_release(struct chunk_set *s);
/* Thread-safe lookup: 0 and *out if present, -ENOENT if not. */
int chunk_set_find(struct chunk_set *s, const struct sha256 *id, struct chunk_rec *out);
int chunk_set_add(struct chunk_set *s, const struct chunk_rec *rec) FERRY_MUST_USE;
/* The records sorted by ID, in a fresh array (caller frees). */
int chunk_set_sorted(struct chunk_rec **out, struct chunk_set *s) FERRY_MUST_USE;

/* --- pack_ring: slots between reader, compressors and writer. --- */

enum slot_state { SLOT_FREE, SLOT_READY, SLOT_BUSY, SLOT_DONE };

enum slot_found { FOUND_NEW, FOUND_TABLE, FOUND_RUN };

struct slot {
	enum slot_state state;
	uint8_t *raw;
	uint32_t raw_len; /* 0: a marker for an empty file */
	bool last_in_file;
	uint8_t *stored;         /* scratch for the compressed frame */
	const uint8_t *payload;  /* what goes into the pack: stored or raw */
	uint32_t stored_len;
	uint8_t type;
	struct sha256 id;
	enum slot_found found;
	struct chunk_rec rec; /* when found */
	int err;
};

struct pack_ring;

struct ring_lookup {
	const struct chunk_table *table;
	struct chunk_set *set;
	int level;
};

int pack_ring_new(struct pack_ring **out, unsigned nslots, unsigned workers, size_t max_chunk,
		  const struct ring_lookup *lookup) FERRY_MUST_USE;
/* Stops the workers and frees everything (NULL-safe). */
void pack_ring_free(struct pack_ring *r);
/* Producer: the next free slot, or NULL if the ring is full (drain first). */
struct slot *pack_ring_claim(struct pack_ring *r);
/* Producer: hands a filled slot to the workers. */
void pack_ring_submit(struct pack_ring *r, struct slot *s);
/* Writer: the oldest slot if it is finished, waiting for it if wait is
 * true; NULL if the ring is empty (or not finished and !wait). */
struct slot *pack_ring_oldest(struct pack_ring *r, bool wait);
/* Writer: returns the oldest slot to the free list. */
void pack_ring_release_oldest(struct pack_ring *r);

#endif
