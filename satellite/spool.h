/*
 * spool.h — the satellite receiver's crash-safe store of received symbols.
 *
 * A receiver may hear a file over days, through rain fades, power cuts and
 * restarts.  The spool keeps every useful symbol on disk, keyed by the
 * object's identity (SHA-256 + length + RaptorQ OTI, never the TOI, which
 * a sender may reuse), and knows per block how many symbols it holds and
 * how many it needs.  The layout is in spool_format.h: append-only files
 * with a checksum per record, so a SIGKILL or a power cut loses at most a
 * torn tail and never gives a wrong symbol.
 *
 * Memory is bounded: per block, only the sorted list of ESIs held (at most
 * K + LIMIT_RQ_EXTRA_SYMBOLS of them, more are ignored); symbols stay on
 * disk until the block is decoded, which reads one block into one RaptorQ
 * decoder.  Decoded blocks are written whole and atomically; when every
 * block is decoded, spool_object_assemble() streams them out and checks the
 * object's SHA-256.
 *
 *     struct spool *sp;            spool_open(&sp, "/var/lib/ferry/spool")
 *     struct spool_object *o;      spool_object_open(&o, sp, &id)
 *     spool_object_add(o, sbn, esi, sym, len);       1 kept, 0 ignored
 *     if (spool_object_block_ready(o, sbn)) spool_object_decode_block(o, sbn);
 *     if (spool_object_complete(o)) spool_object_assemble(o, fd);
 *     spool_object_remove(o) once the file is placed; spool_free(sp).
 *
 * Room (spool_room.c): the spool counts the bytes its object folders hold
 * (every file it writes, plus SPOOL_OBJECT_OVERHEAD per folder for the
 * folder itself) and keeps that count, per object, in a
 * catalog built on open from the files' sizes.  It enforces no cap itself:
 * the receiver asks spool_object_add_cost() before adding a symbol and
 * evicts whole objects (spool_evict()) to make room.  An eviction renames
 * the folder to .gone-<name> first, then deletes it: a kill at any point
 * leaves either the whole object or a .gone- folder, which the next
 * spool_open() deletes.
 *
 * Everything in the spool is treated as hostile on open (it is read back
 * from a disk that lost power): sizes are bounded, bad files discarded.
 * Errors: -EBADMSG for bytes that break the format or a hash, -EINVAL for
 * a caller's mistake, -ENOMEM, -EIO and friends from the file system.
 */
#ifndef FERRY_SATELLITE_SPOOL_H
#define FERRY_SATELLITE_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/crypto.h"
#include "core/err.h"
#include "satellite/satellite.h"

/* What identifies an object: its hash, its length, and how it is coded. */
struct sat_object_id {
	struct sha256 sha;
	struct rq_oti oti; /* oti.transfer_length is the object's length */
};

/* Hex SHA-256, '-', hex OTI: the object's folder name. */
#define SPOOL_ID_NAME_LEN (2 * SHA256_LEN + 1 + 2 * RQ_OTI_LEN)

/* Writes the folder name of id into out (SPOOL_ID_NAME_LEN + 1 bytes). */
void spool_id_name(char *out, const struct sat_object_id *id);

/* Parses a folder name; -EBADMSG if it is not one (or its OTI is outside
 * the profile). */
int spool_id_parse(struct sat_object_id *out, const char *name) FERRY_MUST_USE;

struct spool;

/* Opens (creating if needed) the spool folder dir.  Free with spool_free. */
int spool_open(struct spool **out, const char *dir) FERRY_MUST_USE;
void spool_free(struct spool *sp);
const char *spool_dir(const struct spool *sp);

struct spool_object;

/* Opens the object id, reading back what an earlier run spooled (torn
 * tails cut, mismatched files discarded).  id->oti must pass
 * rq_oti_check().  Free with spool_object_free (keeps the files) or
 * spool_object_remove (deletes them). */
int spool_object_open(struct spool_object **out, struct spool *sp,
		      const struct sat_object_id *id) FERRY_MUST_USE;
void spool_object_free(struct spool_object *o);
const struct sat_object_id *spool_object_id(const struct spool_object *o);

/* Records the Content-Location announced for the object (for status). */
int spool_object_set_name(struct spool_object *o, const char *name) FERRY_MUST_USE;

/* Appends symbol esi of block sbn.  Returns 1 if kept, 0 if not needed (a
 * duplicate, a block already decoded or already holding K + extra
 * symbols); -EBADMSG if sbn, esi or len do not fit the object. */
int spool_object_add(struct spool_object *o, uint32_t sbn, uint32_t esi, const void *sym,
		     size_t len) FERRY_MUST_USE;

/* True when block sbn is not decoded, holds at least K symbols, and has
 * gained a symbol since the last failed decode. */
bool spool_object_block_ready(const struct spool_object *o, uint32_t sbn);

/* Decodes block sbn from its spooled symbols and stores the result.
 * 0 done; -EAGAIN if more symbols are needed (a block that holds its
 * K + LIMIT_RQ_EXTRA_SYMBOLS and still does not decode is emptied, so it
 * can never be stuck full). */
int spool_object_decode_block(struct spool_object *o, uint32_t sbn) FERRY_MUST_USE;

/* Every block decoded. */
bool spool_object_complete(const struct spool_object *o);

/* Writes the whole object to fd (from its current offset), checking its
 * length and SHA-256 against the identity.  On a mismatch returns -EBADMSG
 * and resets the object (its decoded blocks were built from bad symbols). */
int spool_object_assemble(struct spool_object *o, int fd) FERRY_MUST_USE;

/* Forgets everything spooled for the object; it stays open and empty. */
int spool_object_reset(struct spool_object *o) FERRY_MUST_USE;

/* Deletes the object's folder and frees o (accepts NULL). */
int spool_object_remove(struct spool_object *o);

/* Progress of one object. */
struct spool_progress {
	uint64_t held;        /* symbols held, counting a decoded block as K */
	uint64_t needed;      /* source symbols of all blocks (sum of K) */
	uint32_t blocks;      /* Z */
	uint32_t blocks_done; /* decoded */
};
void spool_object_progress(struct spool_progress *out, const struct spool_object *o);

/* Calls fn for every object in the spool, with its identity, the name last
 * announced ("" if none) and its progress.  Objects whose folder cannot be
 * read are skipped.  Stops and returns fn's value if it is negative. */
typedef int (*spool_walk_fn)(const struct sat_object_id *id, const char *name,
			     const struct spool_progress *p, void *ctx);
int spool_walk(struct spool *sp, spool_walk_fn fn, void *ctx) FERRY_MUST_USE;

/* ---- room: the catalog of objects and their bytes (spool_room.c) ---- */

/* Counted per object folder beside its files: the folder's own block (a
 * file system gives a folder at least one 4 KiB block). */
#define SPOOL_OBJECT_OVERHEAD 4096u

/* One object in the spool, open or not. */
struct spool_info {
	struct sat_object_id id;
	uint64_t bytes;       /* its files + SPOOL_OBJECT_OVERHEAD */
	uint64_t held, needed; /* as in struct spool_progress */
	uint64_t need;        /* spool_object_need() of its OTI */
	bool open;            /* a struct spool_object has it open */
	/* The receiver's bookkeeping, in memory only (fresh on every open):
	 * whether the file table in use lists the object, and how many file
	 * tables have been heard since one last did. */
	bool announced;
	uint32_t unseen;
};

/* Bytes the spool's object folders hold, as counted. */
uint64_t spool_used(const struct spool *sp);
/* Objects in the catalog, and the i-th (0 <= i < count; the order changes
 * on eviction). */
size_t spool_count(const struct spool *sp);
struct spool_info *spool_info_at(struct spool *sp, size_t i);
/* The catalog entry of id, or NULL if the spool holds nothing for it. */
struct spool_info *spool_find(struct spool *sp, const struct sat_object_id *id);
/* The open object's catalog entry. */
struct spool_info *spool_object_info(struct spool_object *o);

/* Whether spool_object_add(o, sbn, esi, ...) would keep the symbol. */
bool spool_object_wants(const struct spool_object *o, uint32_t sbn, uint32_t esi);
/* Bytes that keeping one more symbol in block sbn takes at most (a record,
 * the file's header if the block has no file yet, and the decoded block
 * if the symbol lets it decode: that is written before the symbols go). */
uint64_t spool_object_add_cost(const struct spool_object *o, uint32_t sbn);
/* Bytes a new object takes before its first symbol. */
uint64_t spool_new_object_cost(const struct rq_oti *oti);
/* Most bytes an object takes on its way to complete, as long as no block
 * holds more than K + 2 symbols (a decode fails that rarely): per block
 * its header and K + 2 records, the largest block once more (decoded while
 * its symbols are still there), and the folder.  Not counting the name. */
uint64_t spool_object_need(const struct rq_oti *oti);

/* Deletes the catalog's i-th object (crash-safe, see above).  -EBUSY if it
 * is open: close it first. */
int spool_evict(struct spool *sp, size_t i) FERRY_MUST_USE;

#endif
