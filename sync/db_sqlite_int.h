/*
 * db_sqlite_int.h — what the files of the SQLite adapter share.
 *
 * The store database (db.h) is written in three files that share this
 * header: db_sqlite.c (the handle, SQLite's heap, errors, statements,
 * values and columns, transactions, the check), db_sqlite_schema.c (the
 * schema, its verification and its migrations) and db_sqlite_tables.c (the
 * rows: chunks, packs, channels, ...).  Only db_sqlite.c includes sqlite3.h
 * and calls SQLite; the other two speak SQL through the functions below,
 * where SQLite's types appear as incomplete structs.
 *
 * Every SQL text ferry runs is in STATEMENTS below, named ST_<NAME>.  A
 * statement is prepared the first time it is used and kept in the handle;
 * db_st_query() binds arguments given as struct val (v_int(), v_text(), ...)
 * and AUTO_RESET resets it at scope end, so no statement is left holding a
 * read snapshot.  Every value read back goes through a db_col_*() check,
 * which reports a value breaking its column's rule as -EBADMSG.
 */
#ifndef FERRY_SYNC_DB_SQLITE_INT_H
#define FERRY_SYNC_DB_SQLITE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/crypto.h"
#include "core/err.h"
#include "sync/db.h"

struct sqlite3;
struct sqlite3_stmt;

/* ---- statements --------------------------------------------------------- */

#define CHUNK_COLS "id, pack, off, stored, raw, type"
#define PACK_COLS "id, name, size, chunks, added"
#define CHANNEL_COLS "name, version, commit_hex, head, head_time, installed, files, bytes"
#define PENDING_COLS "channel, version, commit_hex, bytes_total, bytes_missing, updated"
#define RUN_COLS "id, started, ended, outcome, bytes_read, bytes_written, chunks_stored, reason"

#define STATEMENTS(X)                                                                              \
	X(BEGIN, "BEGIN IMMEDIATE")                                                                \
	X(COMMIT, "COMMIT")                                                                        \
	X(ROLLBACK, "ROLLBACK")                                                                    \
	X(OP_BEGIN, "SAVEPOINT db_op")                                                             \
	X(OP_RELEASE, "RELEASE db_op")                                                             \
	X(OP_ROLLBACK, "ROLLBACK TO db_op")                                                        \
	X(SCHEMA, "SELECT type, name, tbl_name, sql FROM sqlite_schema")                           \
	X(INTEGRITY, "PRAGMA integrity_check")                                                     \
	X(FK_CHECK, "PRAGMA foreign_key_check")                                                    \
	X(META_GET, "SELECT value FROM meta WHERE key = ?1")                                       \
	X(META_PUT, "INSERT INTO meta(key, value) VALUES(?1, ?2)"                                  \
		    " ON CONFLICT(key) DO UPDATE SET value = excluded.value")                      \
	X(META_REMOVE, "DELETE FROM meta WHERE key = ?1")                                          \
	X(PACK_ADD, "INSERT INTO packs(name, size, chunks, added) VALUES(?1, ?2, ?3, ?4)"          \
		    " ON CONFLICT(name) DO NOTHING")                                               \
	X(PACK_GET, "SELECT " PACK_COLS " FROM packs WHERE id = ?1")                               \
	X(PACK_BY_NAME, "SELECT " PACK_COLS " FROM packs WHERE name = ?1")                         \
	X(PACK_ALL, "SELECT " PACK_COLS " FROM packs ORDER BY id")                                 \
	X(PACK_REMOVE, "DELETE FROM packs WHERE id = ?1")                                          \
	X(CHUNK_FIND, "SELECT " CHUNK_COLS " FROM chunks WHERE id = ?1")                           \
	X(CHUNK_ADD, "INSERT INTO chunks(" CHUNK_COLS ") VALUES(?1, ?2, ?3, ?4, ?5, ?6)"           \
		     " ON CONFLICT(id) DO NOTHING")                                                \
	X(CHUNK_REMOVE, "DELETE FROM chunks WHERE id = ?1")                                        \
	X(CHUNK_COUNT, "SELECT count(*) FROM chunks")                                              \
	X(CHUNK_OF_PACK, "SELECT " CHUNK_COLS " FROM chunks WHERE pack = ?1 ORDER BY id")          \
	X(CHANNEL_GET, "SELECT " CHANNEL_COLS " FROM channels WHERE name = ?1")                    \
	X(CHANNEL_PUT, "INSERT INTO channels(" CHANNEL_COLS ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)" \
		       " ON CONFLICT(name) DO UPDATE SET version = excluded.version,"              \
		       " commit_hex = excluded.commit_hex, head = excluded.head,"                  \
		       " head_time = excluded.head_time, installed = excluded.installed,"          \
		       " files = excluded.files, bytes = excluded.bytes")                          \
	X(CHANNEL_ALL, "SELECT " CHANNEL_COLS " FROM channels ORDER BY name")                      \
	X(CHANNEL_REMOVE, "DELETE FROM channels WHERE name = ?1")                                  \
	X(SEEN_GET, "SELECT version FROM channels_seen WHERE name = ?1")                           \
	X(SEEN_PUT, "INSERT INTO channels_seen(name, version) VALUES(?1, ?2)"                      \
		    " ON CONFLICT(name) DO UPDATE SET version = excluded.version"                  \
		    " WHERE excluded.version > channels_seen.version")                             \
	X(PENDING_GET, "SELECT " PENDING_COLS " FROM pending WHERE channel = ?1")                  \
	X(PENDING_PUT, "INSERT OR REPLACE INTO pending(" PENDING_COLS ")"                          \
		       " VALUES(?1, ?2, ?3, ?4, ?5, ?6)")                                          \
	X(PENDING_CLEAR, "DELETE FROM pending WHERE channel = ?1")                                 \
	X(PENDING_ALL, "SELECT " PENDING_COLS " FROM pending ORDER BY channel")                    \
	X(SUB_ADD, "INSERT INTO subscriptions(channel, path) VALUES(?1, ?2)"                       \
		   " ON CONFLICT DO NOTHING")                                                      \
	X(SUB_REMOVE, "DELETE FROM subscriptions WHERE channel = ?1 AND path = ?2")                \
	X(SUB_ALL, "SELECT channel, path FROM subscriptions ORDER BY channel, path")               \
	X(SOURCE_ADD, "INSERT INTO sources(url, priority, label) VALUES(?1, ?2, ?3)"               \
		      " ON CONFLICT(url) DO UPDATE SET priority = excluded.priority,"              \
		      " label = excluded.label")                                                   \
	X(SOURCE_REMOVE, "DELETE FROM sources WHERE url = ?1")                                     \
	X(SOURCE_ALL, "SELECT url, priority, label FROM sources ORDER BY priority, rowid")         \
	X(TRUST_ADD, "INSERT INTO trust(line) VALUES(?1) ON CONFLICT DO NOTHING")                  \
	X(TRUST_REMOVE, "DELETE FROM trust WHERE line = ?1")                                       \
	X(TRUST_ALL, "SELECT line FROM trust ORDER BY rowid")                                      \
	X(RPACK_ADD, "INSERT INTO remote_packs(source, name, size, have_idx) VALUES(?1, ?2, ?3, ?4)" \
		     " ON CONFLICT(source, name) DO UPDATE SET size = excluded.size,"              \
		     " have_idx = excluded.have_idx")                                              \
	X(RPACK_ALL, "SELECT source, name, size, have_idx FROM remote_packs"                       \
		     " WHERE source = ?1 ORDER BY name")                                           \
	X(RPACK_CLEAR, "DELETE FROM remote_packs WHERE source = ?1")                               \
	X(RUN_BEGIN, "INSERT INTO runs(started, bytes_read, bytes_written, chunks_stored)"         \
		     " VALUES(?1, 0, 0, 0)")                                                       \
	X(RUN_END, "UPDATE runs SET ended = ?2, outcome = ?3, bytes_read = ?4,"                    \
		   " bytes_written = ?5, chunks_stored = ?6, reason = ?7 WHERE id = ?1")           \
	X(RUN_RECENT, "SELECT " RUN_COLS " FROM runs ORDER BY id DESC LIMIT ?1")                \
	X(PLAN_CLEAR, "DELETE FROM temp.plan_missing")                                             \
	X(PLAN_ADD, "INSERT INTO temp.plan_missing(id, raw, stored) VALUES(?1, ?2, ?3)"            \
		    " ON CONFLICT(id) DO NOTHING")                                                 \
	X(PLAN_GET, "SELECT seq, id, raw, stored FROM temp.plan_missing WHERE id = ?1")            \
	X(PLAN_NEXT, "SELECT m.seq, m.id, m.raw, m.stored FROM temp.plan_missing m"                \
		     " WHERE m.seq > ?1 AND NOT EXISTS (SELECT 1 FROM main.chunks c"               \
		     " WHERE c.id = m.id) ORDER BY m.seq LIMIT ?2")                                \
	X(PLAN_LEFT, "SELECT count(*), coalesce(sum(m.stored), 0) FROM temp.plan_missing m"        \
		     " WHERE NOT EXISTS (SELECT 1 FROM main.chunks c WHERE c.id = m.id)")

#define AS_ENUM(name, sql) ST_##name,
enum st { STATEMENTS(AS_ENUM) ST_COUNT };

struct db {
	struct sqlite3 *h;
	char *path;
	struct sqlite3_stmt *st[ST_COUNT];
};

/* ---- values to bind ----------------------------------------------------- */

enum val_kind { VAL_NULL, VAL_INT, VAL_TEXT, VAL_BLOB };

struct val {
	enum val_kind kind;
	int64_t i;
	const void *p;
	size_t n;
};

static inline struct val v_int(int64_t i)
{
	return (struct val){ .kind = VAL_INT, .i = i };
}

/* Callers check u <= DB_U64_MAX first (arg_u64). */
static inline struct val v_u64(uint64_t u)
{
	return v_int((int64_t)u);
}

/* NULL and "" bind SQL NULL: the optional strings of db.h. */
static inline struct val v_text(const char *s)
{
	if (!s || !*s)
		return (struct val){ .kind = VAL_NULL };
	return (struct val){ .kind = VAL_TEXT, .p = s, .n = strlen(s) };
}

/* Binds "" where a NOT NULL text column holds an absent value. */
static inline struct val v_text_or_empty(const char *s)
{
	return (struct val){ .kind = VAL_TEXT, .p = s ? s : "", .n = s ? strlen(s) : 0 };
}

static inline struct val v_blob(const void *p, size_t n)
{
	return (struct val){ .kind = VAL_BLOB, .p = n ? p : "", .n = n };
}

static inline struct val v_hash(const struct sha256 *h)
{
	return v_blob(h->b, SHA256_LEN);
}

/* The argument pair (vals, count) for db_st_query() and friends:
 * db_st_exec(db, ST_X, VALS(v_int(a), v_text(b))). */
#define VALS(...)                                                                                  \
	(const struct val[]){ __VA_ARGS__ },                                                       \
		sizeof((const struct val[]){ __VA_ARGS__ }) / sizeof(struct val)

/* ---- running statements ------------------------------------------------- */

/* Records the connection's last error (rc is SQLite's result code) with
 * err_set() and returns it as a negative errno. */
int db_fail(struct db *db, int rc) FERRY_MUST_USE;

/* Hands out statement id with vals bound; reset it with AUTO_RESET. */
int db_st_query(struct sqlite3_stmt **out, struct db *db, enum st id, const struct val *v,
		size_t n) FERRY_MUST_USE;
/* @return 1 for a row, 0 when done, or an error. */
int db_st_step(struct db *db, struct sqlite3_stmt *s) FERRY_MUST_USE;
/* Runs a statement that returns no rows.  @return rows changed. */
int db_st_exec(struct db *db, enum st id, const struct val *v, size_t n) FERRY_MUST_USE;

void db_st_resetp(struct sqlite3_stmt **sp);
/* A statement in use is reset at scope end: a statement left stepping
 * would hold a read snapshot open and stall WAL checkpoints. */
#define AUTO_RESET __attribute__((cleanup(db_st_resetp)))

/* A callback and its context, carried through db_st_walk() to the row
 * emitter that decodes a row and calls it with the right type. */
struct walk {
	void (*fn)(void);
	void *ctx;
};

typedef int (*emit_fn)(struct sqlite3_stmt *s, const struct walk *w);

/* Steps through every row, calling emit; stops at emit's non-zero return. */
int db_st_walk(struct db *db, enum st id, const struct val *v, size_t n, emit_fn emit,
	       const struct walk *w) FERRY_MUST_USE;

/* Several statements as one change: a savepoint nests inside the caller's
 * transaction, or is one of its own outside.  db_op_end(db, r) releases it
 * if r >= 0, else rolls it back; it returns r, or the release's error. */
int db_op_begin(struct db *db) FERRY_MUST_USE;
int db_op_end(struct db *db, int r) FERRY_MUST_USE;

/* Rolls back an open transaction, if any, keeping the detail of the error
 * being unwound. */
void db_tx_abandon(struct db *db);

/* The rowid of the last row this handle inserted. */
int64_t db_last_rowid(struct db *db);

/* One-shot SQL written in this adapter (never from outside), for open. */
int db_exec_sql(struct db *db, const char *sql) FERRY_MUST_USE;
/* Runs sql and reads column 0 of its first row into *int_out and/or
 * text_out (either may be NULL). */
int db_pragma_value(struct db *db, const char *sql, int64_t *int_out, char *text_out,
		    size_t text_cap) FERRY_MUST_USE;

/* ---- arguments and columns ---------------------------------------------- */

/* A string of 1..max bytes; with optional, NULL and "" pass too.  -EINVAL
 * for a missing one, -EFBIG past max; what names it in the detail. */
int db_arg_text(const char *s, size_t max, bool optional, const char *what) FERRY_MUST_USE;
/* -EFBIG above DB_U64_MAX. */
int db_arg_u64(uint64_t v, const char *what) FERRY_MUST_USE;
/* -EINVAL unless DB_COMMIT_HEX_LEN lowercase hex digits. */
int db_arg_commit(const char *s) FERRY_MUST_USE;

/* Column readers: -EBADMSG (with the column named) for a value of the
 * wrong type, range or length.  Pointers are borrowed from the row. */
int db_col_bad(struct sqlite3_stmt *s, int i) FERRY_MUST_USE;
bool db_col_null(struct sqlite3_stmt *s, int i);
int db_col_int(int64_t *out, struct sqlite3_stmt *s, int i) FERRY_MUST_USE;
/* An integer in [0, max]. */
int db_col_uint(uint64_t *out, struct sqlite3_stmt *s, int i, uint64_t max) FERRY_MUST_USE;
int db_col_hash(struct sha256 *out, struct sqlite3_stmt *s, int i) FERRY_MUST_USE;
int db_col_blob(const uint8_t **out, size_t *len_out, struct sqlite3_stmt *s, int i,
		size_t max) FERRY_MUST_USE;
/* Text of 1..max bytes without NULs; with nullable, NULL and "" give NULL. */
int db_col_text(const char **out, struct sqlite3_stmt *s, int i, size_t max,
		bool nullable) FERRY_MUST_USE;
/* DB_COMMIT_HEX_LEN lowercase hex digits into out[DB_COMMIT_HEX_LEN + 1]. */
int db_col_commit(char *out, struct sqlite3_stmt *s, int i) FERRY_MUST_USE;

/* ---- schema (db_sqlite_schema.c) ---------------------------------------- */

/* Checks the file's identity and version, creates or migrates its schema
 * (create allows an empty file to become a store), checks the text
 * encoding and that the schema is exactly ferry's. */
int db_schema_open(struct db *db, bool create) FERRY_MUST_USE;

#endif
