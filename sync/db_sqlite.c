/*
 * db_sqlite.c — the store database's handle on SQLite (see db.h, and
 * db_sqlite_int.h for how the adapter's three files divide the work).
 *
 * This file owns the connection and the rules every row obeys.  It routes
 * SQLite's heap through core/mem.h, so tests can fail SQLite's allocations
 * as they fail ours.  It turns SQLite's result codes into negative errnos,
 * here and nowhere else.  It prepares each statement once and keeps it in
 * the handle, checks every argument against its bound before binding, and
 * every column for type, range and length before a value leaves the
 * adapter.  And it opens: the settings that make the database durable
 * (WAL, synchronous=FULL) and small in memory (a bounded page cache, no
 * mmap), and the defensive ones that keep a damaged or planted file from
 * running anything (the schema itself is checked in db_sqlite_schema.c).
 */
#define _GNU_SOURCE
#include "sync/db_sqlite_int.h"

#include <assert.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>

#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"

#define AS_SQL(name, sql) sql,
static const char *const st_sql[ST_COUNT] = { STATEMENTS(AS_SQL) };

/* After a checkpoint the WAL file is cut back to this size, so one large
 * batch does not leave a large file behind. */
#define WAL_KEEP_BYTES (64u << 20)

/* ---- SQLite's heap through core/mem.h ----------------------------------- */

/* SQLite asks each block's size back, so every block carries it in front;
 * 16 bytes keep the malloc alignment. */
#define SQ_HDR 16u

static void *sq_mem_alloc(int n)
{
	uint8_t *p;

	if (n <= 0 || (size_t)n > SIZE_MAX - SQ_HDR)
		return NULL;
	p = mem_alloc((size_t)n + SQ_HDR);
	if (!p)
		return NULL;
	memcpy(p, &n, sizeof(n));
	return p + SQ_HDR;
}

static void sq_mem_free(void *p)
{
	if (p)
		mem_free((uint8_t *)p - SQ_HDR);
}

static void *sq_mem_realloc(void *p, int n)
{
	uint8_t *q;

	if (!p)
		return sq_mem_alloc(n);
	if (n <= 0)
		return NULL;
	q = mem_realloc((uint8_t *)p - SQ_HDR, (size_t)n + SQ_HDR);
	if (!q)
		return NULL;
	memcpy(q, &n, sizeof(n));
	return q + SQ_HDR;
}

static int sq_mem_size(void *p)
{
	int n = 0;

	if (p)
		memcpy(&n, (uint8_t *)p - SQ_HDR, sizeof(n));
	return n;
}

static int sq_mem_roundup(int n)
{
	return n <= INT32_MAX - 7 ? (n + 7) & ~7 : n;
}

static int sq_mem_init(void *unused)
{
	return SQLITE_OK;
}

static void sq_mem_shutdown(void *unused)
{
}

static const sqlite3_mem_methods sq_mem = {
	sq_mem_alloc, sq_mem_free,     sq_mem_realloc, sq_mem_size, sq_mem_roundup,
	sq_mem_init,  sq_mem_shutdown, NULL,
};

static pthread_once_t sq_once = PTHREAD_ONCE_INIT;

/* Must run before SQLite initializes.  If someone else in the process
 * initialized it first, sqlite3_config() refuses and SQLite keeps its own
 * malloc: everything still works, only injection does not reach it. */
static void sq_setup(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MALLOC, &sq_mem);
}

/* ---- errors and arguments ---------------------------------------------- */

static int sq_errno(int rc)
{
	switch (rc) {
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return -ENOENT;
	case SQLITE_IOERR_NOMEM:
		return -ENOMEM;
	case SQLITE_IOERR_CORRUPTFS:
		return -EBADMSG;
	}
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_TOOBIG:
		return -EFBIG;
	default:
		return -EIO;
	}
}

int db_fail(struct db *db, int rc)
{
	const char *why = db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc);

	return err_set(sq_errno(rc), "%s: %s", db->path, why);
}

int db_arg_text(const char *s, size_t max, bool optional, const char *what)
{
	if (!s || !*s)
		return optional ? 0 : err_set(-EINVAL, "%s is empty", what);
	if (strnlen(s, max + 1) > max)
		return err_set(-EFBIG, "%s is longer than %zu bytes", what, max);
	return 0;
}

int db_arg_u64(uint64_t v, const char *what)
{
	if (v > DB_U64_MAX)
		return err_set(-EFBIG, "%s %llu is too large for the store", what,
			       (unsigned long long)v);
	return 0;
}

static bool commit_valid(const char *s, size_t n)
{
	if (n != DB_COMMIT_HEX_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int db_arg_commit(const char *s)
{
	if (!commit_valid(s, strnlen(s, DB_COMMIT_HEX_LEN + 1)))
		return err_set(-EINVAL, "commit \"%.48s\" is not %d lowercase hex digits", s,
			       DB_COMMIT_HEX_LEN);
	return 0;
}

/* ---- running statements ------------------------------------------------- */

void db_st_resetp(sqlite3_stmt **sp)
{
	if (*sp)
		(void)sqlite3_reset(*sp);
}

/* Hands out statement id, prepared once per handle, with vals bound. */
int db_st_query(sqlite3_stmt **out, struct db *db, enum st id, const struct val *v, size_t n)
{
	sqlite3_stmt *s = db->st[id];
	int rc = SQLITE_OK;

	if (!s) {
		rc = sqlite3_prepare_v3(db->h, st_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
		if (rc != SQLITE_OK)
			return db_fail(db, rc);
		db->st[id] = s;
	}
	/* The same walk started again from its own callback (see db.h). */
	assert(!sqlite3_stmt_busy(s));
	for (size_t i = 0; i < n && rc == SQLITE_OK; i++) {
		int k = (int)i + 1;

		switch (v[i].kind) {
		case VAL_NULL:
			rc = sqlite3_bind_null(s, k);
			break;
		case VAL_INT:
			rc = sqlite3_bind_int64(s, k, v[i].i);
			break;
		case VAL_TEXT:
			rc = sqlite3_bind_text(s, k, v[i].p, (int)v[i].n, SQLITE_STATIC);
			break;
		case VAL_BLOB:
			rc = sqlite3_bind_blob(s, k, v[i].p, (int)v[i].n, SQLITE_STATIC);
			break;
		}
	}
	if (rc != SQLITE_OK)
		return db_fail(db, rc);
	*out = s;
	return 0;
}

/* @return 1 for a row, 0 when done, or an error. */
int db_st_step(struct db *db, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return db_fail(db, rc);
}

/* Runs a statement that returns no rows.  @return rows changed. */
int db_st_exec(struct db *db, enum st id, const struct val *v, size_t n)
{
	AUTO_RESET sqlite3_stmt *s = NULL;
	int r = db_st_query(&s, db, id, v, n);

	if (r >= 0)
		r = db_st_step(db, s);
	if (r > 0)
		r = 0;
	return r < 0 ? r : sqlite3_changes(db->h);
}

/* Runs a statement for its side effect on an error path, leaving the
 * detail of the error being returned in place. */
static void st_quiet(struct db *db, enum st id)
{
	sqlite3_stmt *s = db->st[id];

	if (s || sqlite3_prepare_v3(db->h, st_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s,
				    NULL) == SQLITE_OK) {
		db->st[id] = s;
		(void)sqlite3_step(s);
		(void)sqlite3_reset(s);
	}
}

int db_st_walk(struct db *db, enum st id, const struct val *v, size_t n, emit_fn emit,
	       const struct walk *w)
{
	AUTO_RESET sqlite3_stmt *s = NULL;
	int r = db_st_query(&s, db, id, v, n);

	while (r >= 0) {
		r = db_st_step(db, s);
		if (r <= 0)
			return r;
		r = emit(s, w);
		if (r != 0)
			return r;
	}
	return r;
}

/* Several statements as one change: a savepoint nests inside the caller's
 * transaction, or is one of its own outside. */
int db_op_begin(struct db *db)
{
	return db_st_exec(db, ST_OP_BEGIN, NULL, 0);
}

int db_op_end(struct db *db, int r)
{
	if (r >= 0) {
		int q = db_st_exec(db, ST_OP_RELEASE, NULL, 0);

		if (q >= 0)
			return r;
		r = q;
	}
	/* SQLite may have rolled everything back already; then these fail
	 * harmlessly. */
	st_quiet(db, ST_OP_ROLLBACK);
	st_quiet(db, ST_OP_RELEASE);
	return r;
}

void db_tx_abandon(struct db *db)
{
	if (!sqlite3_get_autocommit(db->h))
		st_quiet(db, ST_ROLLBACK);
}

int64_t db_last_rowid(struct db *db)
{
	return sqlite3_last_insert_rowid(db->h);
}

/* ---- reading columns ---------------------------------------------------- */

int db_col_bad(sqlite3_stmt *s, int i)
{
	const char *name = sqlite3_column_name(s, i);

	return err_set(-EBADMSG, "%s: malformed value in column %s",
		       sqlite3_db_filename(sqlite3_db_handle(s), "main"), name ? name : "?");
}

bool db_col_null(sqlite3_stmt *s, int i)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL;
}

int db_col_int(int64_t *out, sqlite3_stmt *s, int i)
{
	if (sqlite3_column_type(s, i) != SQLITE_INTEGER)
		return db_col_bad(s, i);
	*out = sqlite3_column_int64(s, i);
	return 0;
}

/* An integer in [0, max]. */
int db_col_uint(uint64_t *out, sqlite3_stmt *s, int i, uint64_t max)
{
	int64_t v = 0;

	if (db_col_int(&v, s, i) < 0 || v < 0 || (uint64_t)v > max)
		return db_col_bad(s, i);
	*out = (uint64_t)v;
	return 0;
}

int db_col_hash(struct sha256 *out, sqlite3_stmt *s, int i)
{
	const void *p;

	if (sqlite3_column_type(s, i) != SQLITE_BLOB)
		return db_col_bad(s, i);
	p = sqlite3_column_blob(s, i);
	if (!p || sqlite3_column_bytes(s, i) != SHA256_LEN)
		return db_col_bad(s, i);
	memcpy(out->b, p, SHA256_LEN);
	return 0;
}

int db_col_blob(const uint8_t **out, size_t *len_out, sqlite3_stmt *s, int i, size_t max)
{
	const void *p;
	int n;

	if (sqlite3_column_type(s, i) != SQLITE_BLOB)
		return db_col_bad(s, i);
	p = sqlite3_column_blob(s, i);
	n = sqlite3_column_bytes(s, i);
	if (n < 0 || (size_t)n > max || (n > 0 && !p))
		return db_col_bad(s, i);
	*out = n ? p : (const uint8_t *)"";
	*len_out = (size_t)n;
	return 0;
}

/* Text of 1..max bytes without NULs; with nullable, NULL and "" give NULL. */
int db_col_text(const char **out, sqlite3_stmt *s, int i, size_t max, bool nullable)
{
	const char *p;
	int n;

	*out = NULL;
	if (nullable && sqlite3_column_type(s, i) == SQLITE_NULL)
		return 0;
	if (sqlite3_column_type(s, i) != SQLITE_TEXT)
		return db_col_bad(s, i);
	p = (const char *)sqlite3_column_text(s, i);
	n = sqlite3_column_bytes(s, i);
	if (!p) /* text always has a pointer: this is SQLite out of memory */
		return err_set(-ENOMEM, "out of memory reading the store database");
	if (n < 0 || (size_t)n > max || strlen(p) != (size_t)n || (n == 0 && !nullable))
		return db_col_bad(s, i);
	*out = n ? p : NULL;
	return 0;
}

int db_col_commit(char *out, sqlite3_stmt *s, int i)
{
	const char *p;
	int r = db_col_text(&p, s, i, DB_COMMIT_HEX_LEN, false);

	if (r < 0)
		return r;
	if (!commit_valid(p, strlen(p)))
		return db_col_bad(s, i);
	memcpy(out, p, DB_COMMIT_HEX_LEN + 1);
	return 0;
}

/* ---- opening: settings, version, schema --------------------------------- */

/* Runs a statement written here (never from outside) that yields one
 * value, for the pragmas of open. */
int db_pragma_value(struct db *db, const char *sql, int64_t *int_out, char *text_out,
		    size_t text_cap)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db->h, sql, -1, &s, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW && int_out)
			*int_out = sqlite3_column_int64(s, 0);
		if (rc == SQLITE_ROW && text_out) {
			const unsigned char *t = sqlite3_column_text(s, 0);

			snprintf(text_out, text_cap, "%s", t ? (const char *)t : "");
		}
		if (rc == SQLITE_ROW || rc == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK) {
		int r = db_fail(db, rc);

		sqlite3_finalize(s);
		return r;
	}
	sqlite3_finalize(s);
	return 0;
}

int db_exec_sql(struct db *db, const char *sql)
{
	int rc = sqlite3_exec(db->h, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : db_fail(db, rc);
}

static int open_connection(struct db *db, bool create)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_NOMUTEX;
	char mode[16], sql[256];
	int rc, r;

	rc = sqlite3_open_v2(db->path, &db->h, flags | (create ? SQLITE_OPEN_CREATE : 0), NULL);
	if (!db->h)
		return err_set(-ENOMEM, "%s: out of memory opening the store database", db->path);
	if (rc != SQLITE_OK)
		return db_fail(db, rc);
	sqlite3_busy_timeout(db->h, (int)DB_BUSY_TIMEOUT_MS);
	sqlite3_limit(db->h, SQLITE_LIMIT_LENGTH, (int)LIMIT_DB_VALUE_BYTES);
	sqlite3_limit(db->h, SQLITE_LIMIT_ATTACHED, 0);
	/* A damaged or planted file must not be able to run anything. */
	sqlite3_db_config(db->h, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db->h, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(db->h, SQLITE_DBCONFIG_ENABLE_VIEW, 0, NULL);
	/* Durable commits, enforced references, cells checked as they are
	 * read, and memory bounded: the cache in KiB, no mapping. */
	snprintf(sql, sizeof(sql),
		 "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;"
		 "PRAGMA cell_size_check = ON; PRAGMA mmap_size = 0;"
		 "PRAGMA cache_size = -%u; PRAGMA journal_size_limit = %u",
		 DB_CACHE_BYTES >> 10, WAL_KEEP_BYTES);
	r = db_exec_sql(db, sql);
	/* The first statement that reads the file: a file that is not SQLite
	 * fails here (SQLITE_NOTADB). */
	if (r >= 0)
		r = db_pragma_value(db, "PRAGMA journal_mode = WAL", NULL, mode, sizeof(mode));
	if (r >= 0 && strcmp(mode, "wal") != 0)
		r = err_set(-EIO, "%s: cannot use WAL mode here (journal mode %s)", db->path, mode);
	return r;
}

int db_open(struct db **out, const char *path, bool create)
{
	struct db *db;
	int r;

	*out = NULL;
	if (!create && !fs_exists(path))
		return err_set(-ENOENT, "%s: no store database", path);
	(void)pthread_once(&sq_once, sq_setup);
	db = mem_calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	db->path = mem_strdup(path);
	if (!db->path) {
		mem_free(db);
		return -ENOMEM;
	}
	r = open_connection(db, create);
	if (r >= 0)
		r = db_schema_open(db, create);
	if (r < 0) {
		db_close(db);
		return r;
	}
	*out = db;
	return 0;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(db->st[i]);
	/* Rolls back an open transaction; the last connection checkpoints
	 * the WAL into the file. */
	(void)sqlite3_close_v2(db->h);
	mem_free(db->path);
	mem_free(db);
}

void db_busy_timeout_set(struct db *db, unsigned ms)
{
	sqlite3_busy_timeout(db->h, ms > INT32_MAX ? INT32_MAX : (int)ms);
}

void db_stats_get(struct db_stats *out, struct db *db)
{
	int cur = 0, hi = 0;
	sqlite3_int64 now = 0, peak = 0;

	sqlite3_db_status(db->h, SQLITE_DBSTATUS_CACHE_USED, &cur, &hi, 0);
	sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &now, &peak, 0);
	out->cache_bytes = cur > 0 ? (uint64_t)cur : 0;
	out->heap_bytes = now > 0 ? (uint64_t)now : 0;
	out->heap_peak = peak > 0 ? (uint64_t)peak : 0;
}

/* ---- check -------------------------------------------------------------- */

struct problems {
	db_problem_fn cb;
	void *ctx;
	unsigned n;
	int stop; /* cb's non-zero return */
};

static int problem(struct problems *p, const char *line)
{
	p->n++;
	if (p->cb && !p->stop)
		p->stop = p->cb(line, p->ctx);
	return p->stop;
}

static int emit_integrity(sqlite3_stmt *s, const struct walk *w)
{
	const char *line = (const char *)sqlite3_column_text(s, 0);

	if (line && strcmp(line, "ok") == 0)
		return 0;
	return problem(w->ctx, line ? line : "integrity check: unreadable result");
}

static int emit_fk(sqlite3_stmt *s, const struct walk *w)
{
	const char *table = (const char *)sqlite3_column_text(s, 0);
	const char *parent = (const char *)sqlite3_column_text(s, 2);
	char line[160];

	snprintf(line, sizeof(line), "a row of %s refers to a missing row of %s",
		 table ? table : "?", parent ? parent : "?");
	return problem(w->ctx, line);
}

int db_check(struct db *db, db_problem_fn cb, void *ctx)
{
	struct problems p = { cb, ctx, 0, 0 };
	struct walk w = { NULL, &p };
	int r = db_st_walk(db, ST_INTEGRITY, NULL, 0, emit_integrity, &w);

	if (r == 0)
		r = db_st_walk(db, ST_FK_CHECK, NULL, 0, emit_fk, &w);
	if (p.stop)
		return p.stop;
	if (r == -EBADMSG) {
		/* SQLite gave up part way: that is a problem too. */
		if (problem(&p, err_detail()))
			return p.stop;
	} else if (r < 0) {
		return r;
	}
	return p.n ? err_set(-EBADMSG, "%s: %u problem%s found", db->path, p.n,
			     p.n == 1 ? "" : "s")
		   : 0;
}

/* ---- transactions ------------------------------------------------------- */

bool db_in_transaction(struct db *db)
{
	return !sqlite3_get_autocommit(db->h);
}

int db_begin(struct db *db)
{
	int r;

	assert(!db_in_transaction(db));
	r = db_st_exec(db, ST_BEGIN, NULL, 0);
	return r < 0 ? r : 0;
}

int db_commit(struct db *db)
{
	int r;

	if (!db_in_transaction(db))
		return err_set(-EINVAL, "%s: commit without a transaction (rolled back?)",
			       db->path);
	r = db_st_exec(db, ST_COMMIT, NULL, 0);
	return r < 0 ? r : 0;
}

int db_rollback(struct db *db)
{
	int r;

	if (!db_in_transaction(db))
		return 0;
	r = db_st_exec(db, ST_ROLLBACK, NULL, 0);
	return r < 0 ? r : 0;
}
