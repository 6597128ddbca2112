/*
 * db_sqlite_plan.c — the plan's list of missing chunks, as a table of
 * SQLite's temporary database (see "plan" in db.h).
 *
 * temp.plan_missing is created on first use by each handle and never
 * appears in sqlite_schema, so the store's schema check (exactly ferry's
 * tables) is not concerned.  Its pages go through a cache of
 * DB_PLAN_CACHE_BYTES and spill to SQLite's temporary file: the list may
 * hold millions of rows at constant memory.  The temporary file is put
 * beside the store database (PRAGMA temp_store_directory), not in /tmp,
 * which is often a tmpfs — memory again.  SQLite unlinks it as soon as it
 * is opened, so nothing is left in the store.
 */
#include "sync/db_sqlite_int.h"

#include <stdio.h>
#include <string.h>

#include "core/limits.h"
#include "core/mem.h"

#define DB_PLAN_CACHE_BYTES (4u << 20)

/* Points SQLite's temporary files at the database's own folder: best
 * effort (SQLite's default folder otherwise). */
static void temp_beside(struct db *db)
{
	const char *slash = strrchr(db->path, '/');
	size_t n = slash ? (size_t)(slash - db->path) : 0, k = 0, bytes;
	AUTO_FREE char *sql = NULL;
	static const char head[] = "PRAGMA temp_store_directory = '";

	if (n == 0 || !mem_mul_ok(&bytes, n, 2) || !mem_add_ok(&bytes, bytes, sizeof(head) + 2))
		return;
	sql = mem_alloc(bytes);
	if (!sql)
		return;
	memcpy(sql, head, sizeof(head) - 1);
	k = sizeof(head) - 1;
	for (size_t i = 0; i < n; i++) {
		if (db->path[i] == '\'')
			sql[k++] = '\'';
		sql[k++] = db->path[i];
	}
	sql[k++] = '\'';
	sql[k] = '\0';
	if (db_exec_sql(db, sql) < 0)
		err_clear();
}

int db_plan_reset(struct db *db)
{
	char sql[256];
	int r;

	temp_beside(db);

	snprintf(sql, sizeof(sql),
		 "PRAGMA temp.cache_size = -%u;"
		 "CREATE TEMP TABLE IF NOT EXISTS plan_missing("
		 "seq INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE,"
		 " raw INTEGER NOT NULL, stored INTEGER NOT NULL)",
		 DB_PLAN_CACHE_BYTES >> 10);
	r = db_exec_sql(db, sql);
	if (r >= 0)
		r = db_st_exec(db, ST_PLAN_CLEAR, NULL, 0);
	return r < 0 ? r : 0;
}

int db_plan_add(struct db *db, const struct sha256 *id, uint32_t raw_len, uint32_t stored_len)
{
	return db_st_exec(db, ST_PLAN_ADD, VALS(v_hash(id), v_int(raw_len), v_int(stored_len)));
}

static int row_plan(struct db_plan_chunk *c, struct sqlite3_stmt *s)
{
	uint64_t raw = 0, stored = 0;
	int r = db_col_int(&c->seq, s, 0);

	if (r >= 0)
		r = db_col_hash(&c->id, s, 1);
	if (r >= 0)
		r = db_col_uint(&raw, s, 2, LIMIT_CHUNK_MAX);
	if (r >= 0)
		r = db_col_uint(&stored, s, 3, UINT32_MAX);
	c->raw_len = (uint32_t)raw;
	c->stored_len = (uint32_t)stored;
	return r < 0 ? r : 0;
}

int db_plan_get(struct db_plan_chunk *out, struct db *db, const struct sha256 *id)
{
	AUTO_RESET struct sqlite3_stmt *s = NULL;
	struct db_plan_chunk c;
	int r = db_st_query(&s, db, ST_PLAN_GET, VALS(v_hash(id)));

	if (r >= 0)
		r = db_st_step(db, s);
	if (r == 0)
		return -ENOENT;
	if (r > 0)
		r = row_plan(&c, s);
	if (r >= 0 && out)
		*out = c;
	return r < 0 ? r : 0;
}

static int emit_plan(struct sqlite3_stmt *s, const struct walk *w)
{
	struct db_plan_chunk c;
	int r = row_plan(&c, s);

	return r < 0 ? r : ((db_plan_fn)w->fn)(&c, w->ctx);
}

int db_plan_next_foreach(struct db *db, int64_t after, size_t limit, db_plan_fn cb, void *ctx)
{
	struct walk w = { (void (*)(void))cb, ctx };

	if (limit > INT64_MAX)
		limit = INT64_MAX;
	return db_st_walk(db, ST_PLAN_NEXT, VALS(v_int(after), v_int((int64_t)limit)), emit_plan,
			  &w);
}

int db_plan_left(uint64_t *chunks_out, uint64_t *stored_out, struct db *db)
{
	AUTO_RESET struct sqlite3_stmt *s = NULL;
	int r = db_st_query(&s, db, ST_PLAN_LEFT, NULL, 0);

	if (r >= 0)
		r = db_st_step(db, s);
	if (r == 0)
		return err_set(-EIO, "%s: count returned no row", db->path);
	if (r > 0)
		r = db_col_uint(chunks_out, s, 0, DB_U64_MAX);
	if (r >= 0)
		r = db_col_uint(stored_out, s, 1, DB_U64_MAX);
	return r < 0 ? r : 0;
}
