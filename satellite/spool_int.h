/*
 * spool_int.h — what spool.c and spool_block.c share: the in-memory state
 * of an open object.  Not part of the module's API.
 */
#ifndef FERRY_SATELLITE_SPOOL_INT_H
#define FERRY_SATELLITE_SPOOL_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/limits.h"
#include "satellite/spool.h"

struct spool {
	char *dir;
	struct spool_info **cat; /* every object folder, see spool_room.c */
	size_t ncat, capcat;
	uint64_t used;           /* sum of cat[i]->bytes */
};

struct spool_block {
	uint64_t offset;    /* in the object */
	size_t length;      /* bytes of the object in the block */
	uint32_t k;         /* source symbols */
	bool done;          /* b<sbn>.dec holds it */
	uint32_t *esi;      /* sorted ESIs held in b<sbn>.sym */
	uint32_t nesi, cap;
	uint32_t tried_at;  /* nesi at the last failed decode, 0 if none */
};

struct spool_object {
	struct spool *sp;
	struct sat_object_id id;
	char *dir;                 /* SPOOL/<name> */
	struct spool_block *blocks;
	uint32_t nblocks;
	int fd;                    /* open .sym of block fd_sbn, or -1 */
	uint32_t fd_sbn;
	struct spool_info *info;   /* in sp->cat */
};

/* Most symbols a block keeps. */
static inline uint32_t spool_block_cap(const struct spool_block *b)
{
	return b->k + LIMIT_RQ_EXTRA_SYMBOLS;
}

/* Whether block b holds symbol esi; *pos is where it is, or would go, in
 * the sorted b->esi. */
bool spool_esi_find(const struct spool_block *b, uint32_t esi, uint32_t *pos);

uint32_t spool_crc32c(uint32_t crc, const void *p, size_t n);
void spool_header_encode(uint8_t *out, const struct spool_object *o, uint32_t sbn);
/* b<sbn>.sym / b<sbn>.dec under the object's folder; caller frees. */
char *spool_block_path(const struct spool_object *o, uint32_t sbn, const char *ext);
/* Reads back block sbn from disk; with repair, cuts a torn tail and
 * removes leftovers (the receiver), without it only reads (status). */
int spool_block_load(struct spool_object *o, uint32_t sbn, bool repair) FERRY_MUST_USE;
/* An object's in-memory state, nothing read yet. */
int spool_object_alloc(struct spool_object **out, struct spool *sp,
		       const struct sat_object_id *id) FERRY_MUST_USE;
/* Calls fn on each valid record of b<sbn>.sym; stops at the first bad one
 * and reports its offset in *good_end. */
typedef int (*spool_record_fn)(uint32_t esi, const uint8_t *sym, void *ctx);
int spool_block_scan(const struct spool_object *o, uint32_t sbn, uint64_t *good_end,
		     spool_record_fn fn, void *ctx) FERRY_MUST_USE;
void spool_object_close_fd(struct spool_object *o);

/* ---- spool_room.c ---- */
/* Builds the catalog from the folders on disk; deletes .gone- leftovers. */
int spool_catalog_load(struct spool *sp) FERRY_MUST_USE;
void spool_catalog_free(struct spool *sp);
/* Attaches o to its catalog entry (created if new) and marks it open. */
int spool_object_attach(struct spool_object *o) FERRY_MUST_USE;
/* Sets o's entry from its files' sizes and its blocks' progress. */
void spool_object_recount(struct spool_object *o);
/* Adds n bytes (and held symbols) to o's entry. */
void spool_object_grow(struct spool_object *o, uint64_t bytes, uint64_t held);
/* Forgets o's entry (its folder is gone). */
void spool_catalog_drop(struct spool *sp, struct spool_info *info);
/* Deletes folder dir: renamed to .gone-<name>, emptied, removed. */
int spool_dir_remove(struct spool *sp, const char *dir) FERRY_MUST_USE;
#define SPOOL_GONE_PREFIX ".gone-"

#endif
