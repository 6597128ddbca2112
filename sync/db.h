/*
 * db.h — the school store's database: what the store holds, and what it is
 * doing.
 *
 * A school's store is a directory that is itself a ferry repository (packs,
 * heads, manifests.git) plus one SQLite database beside them, store.db,
 * which answers the questions a sync asks thousands of times a second (is
 * this chunk here, and where?) and keeps the small state a run leaves for
 * the next one: installed releases, the highest version ever seen per
 * channel, the release being fetched, subscriptions, sources, trusted keys,
 * a cache of what each source offers, the log of runs, and settings.  The
 * schema, and why it is shaped so, is in docs/store-db.md.
 *
 * sync/db_sqlite.c is the only file in ferry that includes sqlite3.h
 * (db_sqlite_schema.c and db_sqlite_tables.c complete the adapter through
 * db_sqlite_int.h).  It translates SQLite's errors into the codes of
 * core/err.h and leaves one line of detail with err_set():
 *
 *   -EBUSY     another process holds the write lock past the busy timeout
 *   -EBADMSG   the file is not a ferry store database, or is damaged
 *   -ENOTSUP   the database was written by a newer ferry (schema version)
 *   -ENOSPC    the disk is full
 *   -ENOMEM    allocation failed
 *   -EEXIST    a uniqueness rule was broken
 *   -ENOENT    the row asked for does not exist, or a row refers to a
 *              missing one (a chunk of an unknown pack)
 *   -EFBIG     a string or number is past its limit (core/limits.h)
 *   -EINVAL    an argument breaks a rule written below
 *   -EIO       anything else (the file system failed)
 *
 * A lookup that finds nothing returns a bare -ENOENT, without detail: the
 * caller knows what it asked for, and absent chunks are a hot path.
 *
 * Durability.  The database runs in WAL mode with synchronous=FULL: when
 * db_commit() (or a call outside a transaction) returns 0, the change
 * survives a power cut.  Bulk writers (a sync storing chunks) wrap each
 * batch in db_begin()/db_commit(): one fsync per batch instead of per row.
 *
 * Memory.  The page cache is bounded (DB_CACHE_BYTES) and memory mapping
 * is off, so the database stays on disk however large the catalog: a 1 GB
 * school box indexes the ≈16 million chunks of a 1 TB catalog.  SQLite
 * allocates through core/mem.h's wrappers, so mem_fail_after() reaches
 * into it too.
 *
 * Concurrency.  Several processes may open one store: readers never wait;
 * a writer that finds another's write transaction open waits up to the
 * busy timeout (DB_BUSY_TIMEOUT_MS, see db_busy_timeout_set()) and then
 * fails with -EBUSY.  A struct db belongs to one thread at a time, and a
 * process that forks must not use a handle opened before the fork in the
 * child: the child opens its own.
 *
 * Values.  Strings are NUL-terminated UTF-8 (channel names and paths in
 * any script), stored and returned byte for byte; every one has a bound
 * from core/limits.h, checked on the way in (-EFBIG) and on the way out.
 * Unsigned numbers must not exceed DB_U64_MAX (SQLite integers are
 * signed) and fail with -EFBIG if they do.  Times are Unix seconds chosen
 * by the caller.  Everything read back from the file is validated, and a
 * value that breaks a rule is reported as -EBADMSG, never passed on.
 *
 * Ownership.  Functions named *_get fill a caller-owned struct; where it
 * holds heap memory the struct has a *_release function (db_channel).  A
 * string field that names the row asked for points at the caller's own
 * argument.  The structs and strings handed to a *_foreach callback are
 * borrowed: valid only during that call, copy what must outlive it.
 *
 * Walks.  A *_foreach calls cb once per row, in the order stated.  cb
 * returns 0 to go on; any other value stops the walk and is returned by
 * it.  cb may call other db functions on the same handle (reads, writes,
 * db_commit()), but must not start the same walk again.  Rows that cb
 * adds or removes in the table being walked may or may not be visited.
 *
 * Transactions.  Every function may be called inside or outside a
 * transaction; outside one, each call is its own (functions that write
 * several rows do so atomically either way).  Nesting is not supported.
 */
#ifndef FERRY_SYNC_DB_H
#define FERRY_SYNC_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/crypto.h"
#include "core/err.h"

/* The schema this ferry writes; PRAGMA user_version in the file. */
#define DB_SCHEMA_VERSION 1
/* PRAGMA application_id: "FRRY".  A database without it is not a store. */
#define DB_APPLICATION_ID 0x46525259
#define DB_BUSY_TIMEOUT_MS 5000u
#define DB_CACHE_BYTES (8u << 20)
/* The largest unsigned value a column holds (SQLite integers are signed). */
#define DB_U64_MAX ((uint64_t)INT64_MAX)
/* A release commit ID as text: 40 lowercase hex digits. */
#define DB_COMMIT_HEX_LEN 40

struct db;

/* ---- the handle --------------------------------------------------------- */

/*
 * Opens the store database at path.  With create, a missing or empty file
 * is created and given the current schema; without it a missing file is
 * -ENOENT.  An older schema is migrated to DB_SCHEMA_VERSION in one
 * transaction; a newer one is refused with -ENOTSUP.  A file that is not
 * SQLite, whose application_id is not DB_APPLICATION_ID, or whose schema
 * holds anything but ferry's own tables and indexes, exactly as ferry wrote
 * them, is refused with -EBADMSG.  Opening does not read every page: damage
 * deeper in the file shows up as -EBADMSG from the call that meets it, and
 * db_check() finds all of it.
 * On success *out is the caller's; close it with db_close().
 */
int db_open(struct db **out, const char *path, bool create) FERRY_MUST_USE;

/* Closes the handle, rolling back a transaction left open.  Accepts NULL. */
void db_close(struct db *db);

/* How long a writer waits for another process's write lock before -EBUSY;
 * 0 fails at once. */
void db_busy_timeout_set(struct db *db, unsigned ms);

/* Called by db_check() with one line per problem found. */
typedef int (*db_problem_fn)(const char *problem, void *ctx);

/*
 * Checks the whole file (PRAGMA integrity_check, then every foreign key)
 * and reports each problem to cb, if cb is not NULL.  Reads every page: on
 * a large store this takes minutes; `ferry verify STORE` runs it.
 * @return 0 if the database is sound, -EBADMSG if problems were reported,
 *         cb's non-zero return if cb stopped the check, or another error.
 */
int db_check(struct db *db, db_problem_fn cb, void *ctx) FERRY_MUST_USE;

/* Memory SQLite uses: this handle's page cache, and the whole process's
 * SQLite heap now and at its peak. */
struct db_stats {
	uint64_t cache_bytes;
	uint64_t heap_bytes;
	uint64_t heap_peak;
};

void db_stats_get(struct db_stats *out, struct db *db);

/* ---- transactions ------------------------------------------------------- */

/*
 * db_begin() takes the write lock at once (waiting up to the busy timeout,
 * then -EBUSY), so a transaction never fails half way for want of it.
 * db_commit() makes everything since db_begin() durable.  If a call inside
 * the transaction fails, or db_commit() does, SQLite may already have
 * rolled it back; either way the caller ends it with db_rollback(), which
 * is safe to call when no transaction is open.  db_begin() inside an open
 * transaction is a programmer error.  db_rollback() fails only when the
 * file system does, which a caller already unwinding an error may ignore:
 * it is not marked FERRY_MUST_USE, so `(void)db_rollback(db);` compiles.
 */
int db_begin(struct db *db) FERRY_MUST_USE;
int db_commit(struct db *db) FERRY_MUST_USE;
int db_rollback(struct db *db);
bool db_in_transaction(struct db *db);

/* ---- chunks: where each chunk of the local packs lies ------------------- */

/* One entry of a local pack.  The entry fields follow the pack format's
 * rules (pack_entry_validate() in packager/pack.h); pack is a db_pack id. */
struct db_chunk {
	struct sha256 id;
	int64_t pack;
	uint64_t offset;
	uint32_t stored_len;
	uint32_t raw_len;
	uint8_t type;
};

/* Looks a chunk up by ID; out may be NULL to test presence.  -ENOENT. */
int db_chunk_find(struct db_chunk *out, struct db *db, const struct sha256 *id) FERRY_MUST_USE;

/* Records a chunk.  An ID already recorded keeps its row (the first copy
 * stored wins).  @return 1 if added, 0 if already present; -EINVAL if the
 * entry breaks the pack format's rules, -ENOENT if c->pack is not a pack. */
int db_chunk_add(struct db *db, const struct db_chunk *c) FERRY_MUST_USE;

/* Forgets one chunk (gc).  -ENOENT if it was not recorded. */
int db_chunk_remove(struct db *db, const struct sha256 *id) FERRY_MUST_USE;

/* Counts the recorded chunks.  Walks the smallest index: O(n), about a
 * second per few million rows, for status and verify, not hot paths. */
int db_chunk_count(uint64_t *out, struct db *db) FERRY_MUST_USE;

typedef int (*db_chunk_fn)(const struct db_chunk *c, void *ctx);

/* Walks the chunks recorded in one pack, in ID order. */
int db_chunks_of_pack_foreach(struct db *db, int64_t pack, db_chunk_fn cb,
			      void *ctx) FERRY_MUST_USE;

/* ---- packs: the local pack files ---------------------------------------- */

struct db_pack {
	int64_t id;         /* assigned by db_pack_add(), never reused */
	struct sha256 name; /* SHA-256 of the pack file */
	uint64_t size;
	uint64_t chunks;
	int64_t added;
};

/* Records a local pack and sets *id_out to its id.  A name already
 * recorded keeps its row and *id_out is set to that row's id.
 * @return 1 if added, 0 if already present. */
int db_pack_add(int64_t *id_out, struct db *db, const struct sha256 *name, uint64_t size,
		uint64_t chunks, int64_t now) FERRY_MUST_USE;

/* -ENOENT if there is no such pack. */
int db_pack_get(struct db_pack *out, struct db *db, int64_t id) FERRY_MUST_USE;
int db_pack_by_name(struct db_pack *out, struct db *db, const struct sha256 *name) FERRY_MUST_USE;

typedef int (*db_pack_fn)(const struct db_pack *p, void *ctx);

/* Walks the packs in the order they were added. */
int db_pack_foreach(struct db *db, db_pack_fn cb, void *ctx) FERRY_MUST_USE;

/* Forgets a pack and every chunk recorded in it (gc, after the file is
 * gone).  -ENOENT if there is no such pack. */
int db_pack_remove(struct db *db, int64_t id) FERRY_MUST_USE;

/* ---- channels: what is installed, and the highest version seen ---------- */

/*
 * The installed state of one channel.  head is the signed head file as
 * installed (at most LIMIT_HEAD_BYTES); commit the release commit ID;
 * head_time the time the head states; installed_time when it was
 * installed; files and bytes the size of the release (as subscribed).
 * name is at most LIMIT_CHANNEL_BYTES.
 */
struct db_channel {
	const char *name;
	uint64_t version;
	char commit[DB_COMMIT_HEX_LEN + 1];
	uint8_t *head;
	size_t head_len;
	int64_t head_time;
	int64_t installed_time;
	uint64_t files;
	uint64_t bytes;
};

/* Fills *out for channel name: out->name points at name and out->head is
 * owned by *out, freed with db_channel_release().  -ENOENT if the channel
 * has nothing installed (*out then needs no release). */
int db_channel_get(struct db_channel *out, struct db *db, const char *name) FERRY_MUST_USE;

/* Frees what db_channel_get() allocated.  Accepts NULL and a zeroed struct. */
void db_channel_release(struct db_channel *c);

/* Records c as the installed state of c->name, replacing the old one, and
 * raises the channel's seen version to c->version if it was lower (both or
 * neither).  A version lower than the installed one is accepted here: the
 * rollback policy is the caller's, with db_channel_seen_get(). */
int db_channel_put(struct db *db, const struct db_channel *c) FERRY_MUST_USE;

/* Forgets the installed state of a channel (the seen version stays).
 * -ENOENT if nothing was installed. */
int db_channel_remove(struct db *db, const char *name) FERRY_MUST_USE;

typedef int (*db_channel_fn)(const struct db_channel *c, void *ctx);

/* Walks the installed channels in byte order of their names. */
int db_channel_foreach(struct db *db, db_channel_fn cb, void *ctx) FERRY_MUST_USE;

/* The highest version ever recorded for channel name; -ENOENT if none.
 * It survives db_channel_remove() and the install of an older release. */
int db_channel_seen_get(uint64_t *out, struct db *db, const char *name) FERRY_MUST_USE;

/* Raises the seen version of name to version; never lowers it.
 * @return 1 if raised, 0 if it already was version or higher. */
int db_channel_seen_put(struct db *db, const char *name, uint64_t version) FERRY_MUST_USE;

/* ---- pending: the release being fetched, per channel -------------------- */

struct db_pending {
	const char *channel;
	uint64_t version;
	char commit[DB_COMMIT_HEX_LEN + 1];
	uint64_t bytes_total;
	uint64_t bytes_missing; /* at most bytes_total */
	int64_t updated;
};

/* Records (or replaces) the pending release of p->channel. */
int db_pending_put(struct db *db, const struct db_pending *p) FERRY_MUST_USE;

/* out->channel points at channel.  -ENOENT if nothing is pending. */
int db_pending_get(struct db_pending *out, struct db *db, const char *channel) FERRY_MUST_USE;

/* @return 1 if a pending release was cleared, 0 if there was none. */
int db_pending_clear(struct db *db, const char *channel) FERRY_MUST_USE;

typedef int (*db_pending_fn)(const struct db_pending *p, void *ctx);

/* Walks the pending releases in byte order of channel names. */
int db_pending_foreach(struct db *db, db_pending_fn cb, void *ctx) FERRY_MUST_USE;

/* ---- subscriptions: channels, optionally narrowed to path prefixes ------ */

/* path is a prefix inside the channel's tree ("七年级/"), at most
 * LIMIT_PATH_BYTES, or NULL for the whole channel.  A channel may have
 * several. */
struct db_subscription {
	const char *channel;
	const char *path;
};

/* @return 1 if added, 0 if already present.  An empty path is NULL. */
int db_subscription_add(struct db *db, const char *channel, const char *path) FERRY_MUST_USE;

/* Removes exactly that (channel, path) pair.  -ENOENT if absent. */
int db_subscription_remove(struct db *db, const char *channel, const char *path) FERRY_MUST_USE;

typedef int (*db_subscription_fn)(const struct db_subscription *s, void *ctx);

/* Walks subscriptions by channel, then path (the whole channel first). */
int db_subscription_foreach(struct db *db, db_subscription_fn cb, void *ctx) FERRY_MUST_USE;

/* ---- sources: where to sync from, cheapest first ------------------------ */

/* url is at most LIMIT_URL_BYTES; label, at most LIMIT_NAME_BYTES, may be
 * NULL.  Lower priority is tried first. */
struct db_source {
	const char *url;
	int32_t priority;
	const char *label;
};

/* Records a source, or updates the priority and label of a known url. */
int db_source_add(struct db *db, const char *url, int32_t priority,
		  const char *label) FERRY_MUST_USE;

/* Forgets a source and its cached remote packs.  -ENOENT if unknown. */
int db_source_remove(struct db *db, const char *url) FERRY_MUST_USE;

typedef int (*db_source_fn)(const struct db_source *s, void *ctx);

/* Walks sources by priority, ties in the order they were first added. */
int db_source_foreach(struct db *db, db_source_fn cb, void *ctx) FERRY_MUST_USE;

/* ---- trust: the public keys heads and releases must be signed by -------- */

/* line is one OpenSSH public key line ("ssh-ed25519 AAAA… comment"), at
 * most LIMIT_LINE_BYTES, stored as given: parsing it is the caller's.
 * @return 1 if added, 0 if already present. */
int db_trust_add(struct db *db, const char *line) FERRY_MUST_USE;

/* -ENOENT if the line is not trusted. */
int db_trust_remove(struct db *db, const char *line) FERRY_MUST_USE;

typedef int (*db_trust_fn)(const char *line, void *ctx);

/* Walks the trusted key lines in the order they were added. */
int db_trust_foreach(struct db *db, db_trust_fn cb, void *ctx) FERRY_MUST_USE;

/* ---- remote packs: what each source offers (a cache for planning) ------- */

struct db_remote_pack {
	const char *source; /* a source URL, known or not */
	struct sha256 name;
	uint64_t size;
	bool have_idx; /* its .idx is held locally */
};

/* Records (or updates) that p->source offers pack p->name. */
int db_remote_pack_add(struct db *db, const struct db_remote_pack *p) FERRY_MUST_USE;

typedef int (*db_remote_pack_fn)(const struct db_remote_pack *p, void *ctx);

/* Walks the packs cached for one source, in name order. */
int db_remote_pack_foreach(struct db *db, const char *source, db_remote_pack_fn cb,
			   void *ctx) FERRY_MUST_USE;

/* Forgets everything cached for source.  @return the number of rows. */
int db_remote_packs_clear(struct db *db, const char *source) FERRY_MUST_USE;

/* ---- runs: the log of sync runs ----------------------------------------- */

/*
 * One run.  outcome is a word: "done", "partial", "error", "trust",
 * "unreachable" (at most LIMIT_NAME_BYTES); reason one line of detail (at
 * most LIMIT_LINE_BYTES) or NULL.  A run that has begun and not ended
 * (still going, or killed) has ended 0 and outcome NULL.
 */
struct db_run {
	int64_t id;
	int64_t started;
	int64_t ended;
	const char *outcome;
	uint64_t bytes_read;
	uint64_t bytes_written;
	uint64_t chunks_stored;
	const char *reason;
};

/* Starts a run at time now; *id_out is its id (ids only grow). */
int db_run_begin(int64_t *id_out, struct db *db, int64_t now) FERRY_MUST_USE;

/* Ends run id with r's ended, outcome (required), counters and reason;
 * r->id and r->started are ignored.  -ENOENT if there is no such run. */
int db_run_end(struct db *db, int64_t id, const struct db_run *r) FERRY_MUST_USE;

typedef int (*db_run_fn)(const struct db_run *r, void *ctx);

/* Walks at most limit runs, newest first. */
int db_run_foreach_recent(struct db *db, unsigned limit, db_run_fn cb, void *ctx) FERRY_MUST_USE;

/* ---- plan: the chunks a sync still needs (a temporary table) ------------ */

/* The list plan_build() fills (sync/plan.h): each chunk a release needs and
 * the store lacked, once, numbered in the order it was added.  It lives in
 * SQLite's temporary database (a file of its own, paged through a bounded
 * cache), so a release of millions of chunks costs no more memory than one
 * of a few; it disappears with the handle. */
struct db_plan_chunk {
	int64_t seq; /* 1, 2, ... in the order added */
	struct sha256 id;
	uint32_t raw_len;
	uint32_t stored_len;
};

/* Creates the list if this handle has none yet, and empties it. */
int db_plan_reset(struct db *db) FERRY_MUST_USE;

/* Adds a chunk.  @return 1 if added, 0 if already listed. */
int db_plan_add(struct db *db, const struct sha256 *id, uint32_t raw_len,
		uint32_t stored_len) FERRY_MUST_USE;

/* Looks a listed chunk up by ID; out may be NULL.  -ENOENT. */
int db_plan_get(struct db_plan_chunk *out, struct db *db, const struct sha256 *id) FERRY_MUST_USE;

typedef int (*db_plan_fn)(const struct db_plan_chunk *c, void *ctx);

/* Walks, in seq order, at most limit listed chunks with seq > after that
 * the chunks table does not hold (yet). */
int db_plan_next_foreach(struct db *db, int64_t after, size_t limit, db_plan_fn cb,
			 void *ctx) FERRY_MUST_USE;

/* How many listed chunks the chunks table still lacks, and their stored
 * bytes. */
int db_plan_left(uint64_t *chunks_out, uint64_t *stored_out, struct db *db) FERRY_MUST_USE;

/* ---- meta: settings and facts about the store --------------------------- */

/* key is at most LIMIT_NAME_BYTES, value at most LIMIT_LINE_BYTES.
 * db_meta_get() sets *out to a copy the caller frees with mem_free();
 * -ENOENT if the key is not set. */
int db_meta_get(char **out, struct db *db, const char *key) FERRY_MUST_USE;
int db_meta_put(struct db *db, const char *key, const char *value) FERRY_MUST_USE;
/* -ENOENT if the key is not set. */
int db_meta_remove(struct db *db, const char *key) FERRY_MUST_USE;

#endif
