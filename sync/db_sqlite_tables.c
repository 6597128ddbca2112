/*
 * db_sqlite_tables.c — the rows of the store database (see db.h).
 *
 * One section per table, each the same few steps: check the arguments
 * against their bounds (db_arg_*), run one statement from STATEMENTS with
 * the values bound, and decode each row with db_col_*() so nothing
 * malformed reaches the caller.  Writes that touch two tables
 * (db_channel_put(), db_source_remove()) run inside one savepoint.
 */
#include "sync/db_sqlite_int.h"

#include "core/limits.h"
#include "core/mem.h"
#include "packager/pack.h"

/* ---- chunks ------------------------------------------------------------- */

static int chunk_validate(const struct db_chunk *c)
{
	struct pack_entry e = { .id = c->id,
				.offset = c->offset,
				.stored_len = c->stored_len,
				.raw_len = c->raw_len,
				.type = c->type };

	if (pack_entry_validate(&e) < 0)
		return -EBADMSG;
	if (c->offset < PACK_HEADER_LEN ||
	    c->offset > LIMIT_PACK_BYTES - PACK_ENTRY_HEADER_LEN - c->stored_len)
		return err_set(-EBADMSG, "chunk entry at offset %llu is outside any pack",
			       (unsigned long long)c->offset);
	return 0;
}

static int row_chunk(struct db_chunk *c, struct sqlite3_stmt *s)
{
	uint64_t stored, raw, type;
	int r = db_col_hash(&c->id, s, 0);

	if (r >= 0)
		r = db_col_int(&c->pack, s, 1);
	if (r >= 0)
		r = db_col_uint(&c->offset, s, 2, LIMIT_PACK_BYTES);
	if (r >= 0)
		r = db_col_uint(&stored, s, 3, UINT32_MAX);
	if (r >= 0)
		r = db_col_uint(&raw, s, 4, UINT32_MAX);
	if (r >= 0)
		r = db_col_uint(&type, s, 5, UINT8_MAX);
	if (r < 0)
		return r;
	c->stored_len = (uint32_t)stored;
	c->raw_len = (uint32_t)raw;
	c->type = (uint8_t)type;
	if (chunk_validate(c) < 0)
		return db_col_bad(s, 3);
	return 0;
}

int db_chunk_find(struct db_chunk *out, struct db *db, const struct sha256 *id)
{
	AUTO_RESET struct sqlite3_stmt *s = NULL;
	struct db_chunk c;
	int r = db_st_query(&s, db, ST_CHUNK_FIND, VALS(v_hash(id)));

	if (r >= 0)
		r = db_st_step(db, s);
	if (r == 0)
		return -ENOENT;
	if (r > 0)
		r = row_chunk(&c, s);
	if (r >= 0 && out)
		*out = c;
	return r < 0 ? r : 0;
}

int db_chunk_add(struct db *db, const struct db_chunk *c)
{
	if (chunk_validate(c) < 0)
		return -EINVAL;
	return db_st_exec(db, ST_CHUNK_ADD,
			  VALS(v_hash(&c->id), v_int(c->pack), v_u64(c->offset),
			       v_int(c->stored_len), v_int(c->raw_len), v_int(c->type)));
}

int db_chunk_remove(struct db *db, const struct sha256 *id)
{
	int r = db_st_exec(db, ST_CHUNK_REMOVE, VALS(v_hash(id)));

	return r == 0 ? -ENOENT : r < 0 ? r : 0;
}

int db_chunk_count(uint64_t *out, struct db *db)
{
	AUTO_RESET struct sqlite3_stmt *s = NULL;
	int r = db_st_query(&s, db, ST_CHUNK_COUNT, NULL, 0);

	if (r >= 0)
		r = db_st_step(db, s);
	if (r == 0)
		return err_set(-EIO, "%s: count returned no row", db->path);
	if (r > 0)
		r = db_col_uint(out, s, 0, DB_U64_MAX);
	return r < 0 ? r : 0;
}

static int emit_chunk(struct sqlite3_stmt *s, const struct walk *w)
{
	struct db_chunk c;
	int r = row_chunk(&c, s);

	return r < 0 ? r : ((db_chunk_fn)w->fn)(&c, w->ctx);
}

int db_chunks_of_pack_foreach(struct db *db, int64_t pack, db_chunk_fn cb, void *ctx)
{
	struct walk w = { (void (*)(void))cb, ctx };

	return db_st_walk(db, ST_CHUNK_OF_PACK, VALS(v_int(pack)), emit_chunk, &w);
}

/* ---- packs -------------------------------------------------------------- */

static int row_pack(struct db_pack *p, struct sqlite3_stmt *s)
{
	int r = db_col_int(&p->id, s, 0);

	if (r >= 0)
		r = db_col_hash(&p->name, s, 1);
	if (r >= 0)
		r = db_col_uint(&p->size, s, 2, LIMIT_PACK_BYTES);
	if (r >= 0)
		r = db_col_uint(&p->chunks, s, 3, LIMIT_PACK_ENTRIES);
	if (r >= 0)
		r = db_col_int(&p->added, s, 4);
	return r;
}

static int pack_one(struct db_pack *out, struct db *db, enum st id, struct val key)
{
	AUTO_RESET struct sqlite3_stmt *s = NULL;
	struct db_pack p;
	int r = db_st_query(&s, db, id, &key, 1);

	if (r >= 0)
		r = db_st_step(db, s);
	if (r == 0)
		return -ENOENT;
	if (r > 0)
		r = row_pack(&p, s);
	if (r >= 0)
		*out = p;
	return r < 0 ? r : 0;
}

int db_pack_add(int64_t *id_out, struct db *db, const struct sha256 *name, uint64_t size,
		uint64_t chunks, int64_t now)
{
	struct db_pack p;
	int r;

	if (size > LIMIT_PACK_BYTES || chunks > LIMIT_PACK_ENTRIES)
		return err_set(-EFBIG, "pack of %llu bytes and %llu chunks is past the limits",
			       (unsigned long long)size, (unsigned long long)chunks);
	r = db_st_exec(db, ST_PACK_ADD, VALS(v_hash(name), v_u64(size), v_u64(chunks), v_int(now)));
	if (r == 1) {
		*id_out = db_last_rowid(db);
		return 1;
	}
	if (r == 0)
		r = pack_one(&p, db, ST_PACK_BY_NAME, v_hash(name));
	if (r >= 0)
		*id_out = p.id;
	return r < 0 ? r : 0;
}

int db_pack_get(struct db_pack *out, struct db *db, int64_t id)
{
	return pack_one(out, db, ST_PACK_GET, v_int(id));
}

int db_pack_by_name(struct db_pack *out, struct db *db, const struct sha256 *name)
{
	return pack_one(out, db, ST_PACK_BY_NAME, v_hash(name));
}

static int emit_pack(struct sqlite3_stmt *s, const struct walk *w)
{
	struct db_pack p;
	int r = row_pack(&p, s);

	return r < 0 ? r : ((db_pack_fn)w->fn)(&p, w->ctx);
}

int db_pack_foreach(struct db *db, db_pack_fn cb, void *ctx)
{
	struct walk w = { (void (*)(void))cb, ctx };

	return db_st_walk(db, ST_PACK_ALL, NULL, 0, emit_pack, &w);
}

int db_pack_remove(struct db *db, int64_t id)
{
	int r = db_st_exec(db, ST_PACK_REMOVE, VALS(v_int(id)));

	return r == 0 ? -ENOENT : r < 0 ? r : 0;
}

/* ---- channels ----------------------------------------------------------- */

static int arg_channel(const char *name)
{
	return db_arg_text(name, LIMIT_CHANNEL_BYTES, false, "channel name");
}

/* Reads columns 1.. of CHANNEL_COLS; head is borrowed from the row. */
static int row_channel(struct db_channel *c, struct sqlite3_stmt *s)
{
	const uint8_t *head = NULL;
	int r = db_col_uint(&c->version, s, 1, DB_U64_MAX);

	if (r >= 0)
		r = db_col_commit(c->commit, s, 2);
	if (r >= 0)
		r = db_col_blob(&head, &c->head_len, s, 3, LIMIT_HEAD_BYTES);
	if (r >= 0)
		r = db_col_int(&c->head_time, s, 4);
	if (r >= 0)
		r = db_col_int(&c->installed_time, s, 5);
	if (r >= 0)
		r = db_col_uint(&c->files, s, 6, DB_U64_MAX);
	if (r >= 0)
		r = db_col_uint(&c->bytes, s, 7, DB_U64_MAX);
	c->head = (uint8_t *)head;
	return r;
}

int db_channel_get(struct db_channel *out, struct db *db, const char *name)
{
	AUTO_RESET struct sqlite3_stmt *s = NULL;
	struct db_channel c = { .name = name };
	int r = arg_channel(name);

	memset(out, 0, sizeof(*out));
	if (r >= 0)
		r = db_st_query(&s, db, ST_CHANNEL_GET, VALS(v_text(name)));
	if (r >= 0)
		r = db_st_step(db, s);
	if (r == 0)
		return -ENOENT;
	if (r > 0)
		r = row_channel(&c, s);
	if (r < 0)
		return r;
	c.head = mem_dup(c.head, c.head_len);
	if (!c.head)
		return -ENOMEM;
	*out = c;
	return 0;
}

void db_channel_release(struct db_channel *c)
{
	if (!c)
		return;
	mem_free(c->head);
	c->head = NULL;
	c->head_len = 0;
}

static int channel_validate(const struct db_channel *c)
{
	int r = arg_channel(c->name);

	if (r >= 0)
		r = db_arg_u64(c->version, "version");
	if (r >= 0)
		r = db_arg_commit(c->commit);
	if (r >= 0 && c->head_len > LIMIT_HEAD_BYTES)
		r = err_set(-EFBIG, "head of %zu bytes is past %u", c->head_len, LIMIT_HEAD_BYTES);
	if (r >= 0 && !c->head && c->head_len)
		r = err_set(-EINVAL, "head bytes missing");
	if (r >= 0)
		r = db_arg_u64(c->files, "file count");
	if (r >= 0)
		r = db_arg_u64(c->bytes, "byte count");
	return r;
}

int db_channel_put(struct db *db, const struct db_channel *c)
{
	int r = channel_validate(c);

	if (r < 0)
		return r;
	r = db_op_begin(db);
	if (r < 0)
		return r;
	r = db_st_exec(db, ST_CHANNEL_PUT,
		       VALS(v_text(c->name), v_u64(c->version), v_text(c->commit),
			    v_blob(c->head, c->head_len), v_int(c->head_time),
			    v_int(c->installed_time), v_u64(c->files), v_u64(c->bytes)));
	if (r >= 0)
		r = db_st_exec(db, ST_SEEN_PUT, VALS(v_text(c->name), v_u64(c->version)));
	return db_op_end(db, r < 0 ? r : 0);
}

int db_channel_remove(struct db *db, const char *name)
{
	int r = arg_channel(name);

	if (r >= 0)
		r = db_st_exec(db, ST_CHANNEL_REMOVE, VALS(v_text(name)));
	return r == 0 ? -ENOENT : r < 0 ? r : 0;
}

static int emit_channel(struct sqlite3_stmt *s, const struct walk *w)
{
	struct db_channel c;
	int r = db_col_text(&c.name, s, 0, LIMIT_CHANNEL_BYTES, false);

	if (r >= 0)
		r = row_channel(&c, s);
	return r < 0 ? r : ((db_channel_fn)w->fn)(&c, w->ctx);
}

int db_channel_foreach(struct db *db, db_channel_fn cb, void *ctx)
{
	struct walk w = { (void (*)(void))cb, ctx };

	return db_st_walk(db, ST_CHANNEL_ALL, NULL, 0, emit_channel, &w);
}

int db_channel_seen_get(uint64_t *out, struct db *db, const char *name)
{
	AUTO_RESET struct sqlite3_stmt *s = NULL;
	int r = arg_channel(name);

	if (r >= 0)
		r = db_st_query(&s, db, ST_SEEN_GET, VALS(v_text(name)));
	if (r >= 0)
		r = db_st_step(db, s);
	if (r == 0)
		return -ENOENT;
	if (r > 0)
		r = db_col_uint(out, s, 0, DB_U64_MAX);
	return r < 0 ? r : 0;
}

int db_channel_seen_put(struct db *db, const char *name, uint64_t version)
{
	int r = arg_channel(name);

	if (r >= 0)
		r = db_arg_u64(version, "version");
	if (r >= 0)
		r = db_st_exec(db, ST_SEEN_PUT, VALS(v_text(name), v_u64(version)));
	return r < 0 ? r : r > 0;
}

/* ---- pending ------------------------------------------------------------ */

static int row_pending(struct db_pending *p, struct sqlite3_stmt *s)
{
	int r = db_col_uint(&p->version, s, 1, DB_U64_MAX);

	if (r >= 0)
		r = db_col_commit(p->commit, s, 2);
	if (r >= 0)
		r = db_col_uint(&p->bytes_total, s, 3, DB_U64_MAX);
	if (r >= 0)
		r = db_col_uint(&p->bytes_missing, s, 4, p->bytes_total);
	if (r >= 0)
		r = db_col_int(&p->updated, s, 5);
	return r;
}

int db_pending_put(struct db *db, const struct db_pending *p)
{
	int r = arg_channel(p->channel);

	if (r >= 0)
		r = db_arg_u64(p->version, "version");
	if (r >= 0)
		r = db_arg_commit(p->commit);
	if (r >= 0)
		r = db_arg_u64(p->bytes_total, "byte count");
	if (r >= 0 && p->bytes_missing > p->bytes_total)
		r = err_set(-EINVAL, "more bytes missing than the release has");
	if (r >= 0)
		r = db_st_exec(db, ST_PENDING_PUT,
			       VALS(v_text(p->channel), v_u64(p->version), v_text(p->commit),
				    v_u64(p->bytes_total), v_u64(p->bytes_missing),
				    v_int(p->updated)));
	return r < 0 ? r : 0;
}

int db_pending_get(struct db_pending *out, struct db *db, const char *channel)
{
	AUTO_RESET struct sqlite3_stmt *s = NULL;
	struct db_pending p = { .channel = channel };
	int r = arg_channel(channel);

	if (r >= 0)
		r = db_st_query(&s, db, ST_PENDING_GET, VALS(v_text(channel)));
	if (r >= 0)
		r = db_st_step(db, s);
	if (r == 0)
		return -ENOENT;
	if (r > 0)
		r = row_pending(&p, s);
	if (r >= 0)
		*out = p;
	return r < 0 ? r : 0;
}

int db_pending_clear(struct db *db, const char *channel)
{
	int r = arg_channel(channel);

	if (r >= 0)
		r = db_st_exec(db, ST_PENDING_CLEAR, VALS(v_text(channel)));
	return r < 0 ? r : r > 0;
}

static int emit_pending(struct sqlite3_stmt *s, const struct walk *w)
{
	struct db_pending p;
	int r = db_col_text(&p.channel, s, 0, LIMIT_CHANNEL_BYTES, false);

	if (r >= 0)
		r = row_pending(&p, s);
	return r < 0 ? r : ((db_pending_fn)w->fn)(&p, w->ctx);
}

int db_pending_foreach(struct db *db, db_pending_fn cb, void *ctx)
{
	struct walk w = { (void (*)(void))cb, ctx };

	return db_st_walk(db, ST_PENDING_ALL, NULL, 0, emit_pending, &w);
}

/* ---- subscriptions ------------------------------------------------------ */

static int arg_subscription(const char *channel, const char *path)
{
	int r = arg_channel(channel);

	return r < 0 ? r : db_arg_text(path, LIMIT_PATH_BYTES, true, "path filter");
}

int db_subscription_add(struct db *db, const char *channel, const char *path)
{
	int r = arg_subscription(channel, path);

	if (r >= 0)
		r = db_st_exec(db, ST_SUB_ADD, VALS(v_text(channel), v_text_or_empty(path)));
	return r < 0 ? r : r > 0;
}

int db_subscription_remove(struct db *db, const char *channel, const char *path)
{
	int r = arg_subscription(channel, path);

	if (r >= 0)
		r = db_st_exec(db, ST_SUB_REMOVE, VALS(v_text(channel), v_text_or_empty(path)));
	return r == 0 ? -ENOENT : r < 0 ? r : 0;
}

static int emit_subscription(struct sqlite3_stmt *s, const struct walk *w)
{
	struct db_subscription x;
	int r = db_col_text(&x.channel, s, 0, LIMIT_CHANNEL_BYTES, false);

	if (r >= 0)
		r = db_col_text(&x.path, s, 1, LIMIT_PATH_BYTES, true);
	return r < 0 ? r : ((db_subscription_fn)w->fn)(&x, w->ctx);
}

int db_subscription_foreach(struct db *db, db_subscription_fn cb, void *ctx)
{
	struct walk w = { (void (*)(void))cb, ctx };

	return db_st_walk(db, ST_SUB_ALL, NULL, 0, emit_subscription, &w);
}

/* ---- sources ------------------------------------------------------------ */

int db_source_add(struct db *db, const char *url, int32_t priority, const char *label)
{
	int r = db_arg_text(url, LIMIT_URL_BYTES, false, "source URL");

	if (r >= 0)
		r = db_arg_text(label, LIMIT_NAME_BYTES, true, "source label");
	if (r >= 0)
		r = db_st_exec(db, ST_SOURCE_ADD,
			       VALS(v_text(url), v_int(priority), v_text(label)));
	return r < 0 ? r : 0;
}

int db_source_remove(struct db *db, const char *url)
{
	int r = db_arg_text(url, LIMIT_URL_BYTES, false, "source URL");

	if (r >= 0)
		r = db_op_begin(db);
	if (r < 0)
		return r;
	r = db_st_exec(db, ST_SOURCE_REMOVE, VALS(v_text(url)));
	if (r == 0)
		r = -ENOENT;
	if (r >= 0)
		r = db_st_exec(db, ST_RPACK_CLEAR, VALS(v_text(url)));
	return db_op_end(db, r < 0 ? r : 0);
}

static int emit_source(struct sqlite3_stmt *s, const struct walk *w)
{
	struct db_source x;
	int64_t prio = 0;
	int r = db_col_text(&x.url, s, 0, LIMIT_URL_BYTES, false);

	if (r >= 0)
		r = db_col_int(&prio, s, 1);
	if (r >= 0 && (prio < INT32_MIN || prio > INT32_MAX))
		r = db_col_bad(s, 1);
	if (r >= 0)
		r = db_col_text(&x.label, s, 2, LIMIT_NAME_BYTES, true);
	x.priority = (int32_t)prio;
	return r < 0 ? r : ((db_source_fn)w->fn)(&x, w->ctx);
}

int db_source_foreach(struct db *db, db_source_fn cb, void *ctx)
{
	struct walk w = { (void (*)(void))cb, ctx };

	return db_st_walk(db, ST_SOURCE_ALL, NULL, 0, emit_source, &w);
}

/* ---- trust -------------------------------------------------------------- */

static int arg_key_line(const char *line)
{
	return db_arg_text(line, LIMIT_LINE_BYTES, false, "key line");
}

int db_trust_add(struct db *db, const char *line)
{
	int r = arg_key_line(line);

	if (r >= 0)
		r = db_st_exec(db, ST_TRUST_ADD, VALS(v_text(line)));
	return r < 0 ? r : r > 0;
}

int db_trust_remove(struct db *db, const char *line)
{
	int r = arg_key_line(line);

	if (r >= 0)
		r = db_st_exec(db, ST_TRUST_REMOVE, VALS(v_text(line)));
	return r == 0 ? -ENOENT : r < 0 ? r : 0;
}

static int emit_trust(struct sqlite3_stmt *s, const struct walk *w)
{
	const char *line;
	int r = db_col_text(&line, s, 0, LIMIT_LINE_BYTES, false);

	return r < 0 ? r : ((db_trust_fn)w->fn)(line, w->ctx);
}

int db_trust_foreach(struct db *db, db_trust_fn cb, void *ctx)
{
	struct walk w = { (void (*)(void))cb, ctx };

	return db_st_walk(db, ST_TRUST_ALL, NULL, 0, emit_trust, &w);
}

/* ---- remote packs ------------------------------------------------------- */

int db_remote_pack_add(struct db *db, const struct db_remote_pack *p)
{
	int r = db_arg_text(p->source, LIMIT_URL_BYTES, false, "source URL");

	if (r >= 0 && p->size > LIMIT_PACK_BYTES)
		r = err_set(-EFBIG, "remote pack of %llu bytes is past the limit",
			    (unsigned long long)p->size);
	if (r >= 0)
		r = db_st_exec(db, ST_RPACK_ADD,
			       VALS(v_text(p->source), v_hash(&p->name), v_u64(p->size),
				    v_int(p->have_idx)));
	return r < 0 ? r : 0;
}

static int emit_remote_pack(struct sqlite3_stmt *s, const struct walk *w)
{
	struct db_remote_pack p;
	uint64_t have;
	int r = db_col_text(&p.source, s, 0, LIMIT_URL_BYTES, false);

	if (r >= 0)
		r = db_col_hash(&p.name, s, 1);
	if (r >= 0)
		r = db_col_uint(&p.size, s, 2, LIMIT_PACK_BYTES);
	if (r >= 0)
		r = db_col_uint(&have, s, 3, 1);
	p.have_idx = have == 1;
	return r < 0 ? r : ((db_remote_pack_fn)w->fn)(&p, w->ctx);
}

int db_remote_pack_foreach(struct db *db, const char *source, db_remote_pack_fn cb, void *ctx)
{
	struct walk w = { (void (*)(void))cb, ctx };
	int r = db_arg_text(source, LIMIT_URL_BYTES, false, "source URL");

	return r < 0 ? r : db_st_walk(db, ST_RPACK_ALL, VALS(v_text(source)), emit_remote_pack, &w);
}

int db_remote_packs_clear(struct db *db, const char *source)
{
	int r = db_arg_text(source, LIMIT_URL_BYTES, false, "source URL");

	return r < 0 ? r : db_st_exec(db, ST_RPACK_CLEAR, VALS(v_text(source)));
}

/* ---- runs --------------------------------------------------------------- */

int db_run_begin(int64_t *id_out, struct db *db, int64_t now)
{
	int r = db_st_exec(db, ST_RUN_BEGIN, VALS(v_int(now)));

	if (r < 0)
		return r;
	*id_out = db_last_rowid(db);
	return 0;
}

int db_run_end(struct db *db, int64_t id, const struct db_run *x)
{
	int r = db_arg_text(x->outcome, LIMIT_NAME_BYTES, false, "run outcome");

	if (r >= 0)
		r = db_arg_text(x->reason, LIMIT_LINE_BYTES, true, "run reason");
	if (r >= 0)
		r = db_arg_u64(x->bytes_read, "byte count");
	if (r >= 0)
		r = db_arg_u64(x->bytes_written, "byte count");
	if (r >= 0)
		r = db_arg_u64(x->chunks_stored, "chunk count");
	if (r >= 0)
		r = db_st_exec(db, ST_RUN_END,
			       VALS(v_int(id), v_int(x->ended), v_text(x->outcome),
				    v_u64(x->bytes_read), v_u64(x->bytes_written),
				    v_u64(x->chunks_stored), v_text(x->reason)));
	return r == 0 ? -ENOENT : r < 0 ? r : 0;
}

static int emit_run(struct sqlite3_stmt *s, const struct walk *w)
{
	struct db_run x = { 0 };
	int r = db_col_int(&x.id, s, 0);

	if (r >= 0)
		r = db_col_int(&x.started, s, 1);
	if (r >= 0 && !db_col_null(s, 2))
		r = db_col_int(&x.ended, s, 2);
	if (r >= 0)
		r = db_col_text(&x.outcome, s, 3, LIMIT_NAME_BYTES, true);
	if (r >= 0)
		r = db_col_uint(&x.bytes_read, s, 4, DB_U64_MAX);
	if (r >= 0)
		r = db_col_uint(&x.bytes_written, s, 5, DB_U64_MAX);
	if (r >= 0)
		r = db_col_uint(&x.chunks_stored, s, 6, DB_U64_MAX);
	if (r >= 0)
		r = db_col_text(&x.reason, s, 7, LIMIT_LINE_BYTES, true);
	return r < 0 ? r : ((db_run_fn)w->fn)(&x, w->ctx);
}

int db_run_foreach_recent(struct db *db, unsigned limit, db_run_fn cb, void *ctx)
{
	struct walk w = { (void (*)(void))cb, ctx };

	return db_st_walk(db, ST_RUN_RECENT, VALS(v_int(limit)), emit_run, &w);
}

/* ---- meta --------------------------------------------------------------- */

static int arg_key(const char *key)
{
	return db_arg_text(key, LIMIT_NAME_BYTES, false, "setting name");
}

int db_meta_get(char **out, struct db *db, const char *key)
{
	AUTO_RESET struct sqlite3_stmt *s = NULL;
	const char *v;
	int r = arg_key(key);

	*out = NULL;
	if (r >= 0)
		r = db_st_query(&s, db, ST_META_GET, VALS(v_text(key)));
	if (r >= 0)
		r = db_st_step(db, s);
	if (r == 0)
		return -ENOENT;
	if (r > 0)
		r = db_col_text(&v, s, 0, LIMIT_LINE_BYTES, true);
	if (r < 0)
		return r;
	*out = mem_strdup(v ? v : "");
	return *out ? 0 : -ENOMEM;
}

int db_meta_put(struct db *db, const char *key, const char *value)
{
	int r = arg_key(key);

	if (r >= 0 && !value)
		r = err_set(-EINVAL, "setting %s has no value", key);
	if (r >= 0)
		r = db_arg_text(value, LIMIT_LINE_BYTES, true, "setting value");
	if (r >= 0)
		r = db_st_exec(db, ST_META_PUT, VALS(v_text(key), v_text_or_empty(value)));
	return r < 0 ? r : 0;
}

int db_meta_remove(struct db *db, const char *key)
{
	int r = arg_key(key);

	if (r >= 0)
		r = db_st_exec(db, ST_META_REMOVE, VALS(v_text(key)));
	return r == 0 ? -ENOENT : r < 0 ? r : 0;
}
