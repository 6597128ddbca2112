/*
 * db_sqlite_schema.c — the store database's schema: its text, its check
 * at every open, and the migrations that bring an older file up to date.
 *
 * The list below is both what ferry creates and what it accepts: at every
 * open sqlite_schema must hold exactly these objects, with exactly this
 * SQL, so a planted trigger or view, a dropped index or a changed column
 * is refused before any statement runs.  The file's identity is
 * PRAGMA application_id (DB_APPLICATION_ID) and its schema version
 * PRAGMA user_version; migrations[v] takes version v to v + 1 under the
 * write lock, in one transaction with the version bump, so a crash
 * leaves either the old schema or the new one.  docs/store-db.md explains
 * each table.
 */
#include "sync/db_sqlite_int.h"

#include <stdio.h>

#include "core/limits.h"
#include "core/mem.h"

/* ---- schema ------------------------------------------------------------- */

/* Each CREATE text is compared byte for byte with sqlite_schema at open:
 * never reformat one without a migration (docs/store-db.md). */
#define SQL_META                                                               \
	"CREATE TABLE meta(\n"                                                 \
	"\tkey TEXT PRIMARY KEY NOT NULL,\n"                                   \
	"\tvalue TEXT NOT NULL\n"                                              \
	") STRICT, WITHOUT ROWID"
#define SQL_PACKS                                                              \
	"CREATE TABLE packs(\n"                                                \
	"\tid INTEGER PRIMARY KEY AUTOINCREMENT,\n"                            \
	"\tname BLOB NOT NULL UNIQUE,\n"                                       \
	"\tsize INTEGER NOT NULL,\n"                                           \
	"\tchunks INTEGER NOT NULL,\n"                                         \
	"\tadded INTEGER NOT NULL\n"                                           \
	") STRICT"
#define SQL_CHUNKS                                                             \
	"CREATE TABLE chunks(\n"                                               \
	"\tid BLOB PRIMARY KEY NOT NULL,\n"                                    \
	"\tpack INTEGER NOT NULL REFERENCES packs(id) ON DELETE CASCADE,\n"    \
	"\toff INTEGER NOT NULL,\n"                                            \
	"\tstored INTEGER NOT NULL,\n"                                         \
	"\traw INTEGER NOT NULL,\n"                                            \
	"\ttype INTEGER NOT NULL\n"                                            \
	") STRICT, WITHOUT ROWID"
#define SQL_CHUNKS_PACK "CREATE INDEX chunks_pack ON chunks(pack)"
#define SQL_CHANNELS                                                           \
	"CREATE TABLE channels(\n"                                             \
	"\tname TEXT NOT NULL UNIQUE,\n"                                       \
	"\tversion INTEGER NOT NULL,\n"                                        \
	"\tcommit_hex TEXT NOT NULL,\n"                                        \
	"\thead BLOB NOT NULL,\n"                                              \
	"\thead_time INTEGER NOT NULL,\n"                                      \
	"\tinstalled INTEGER NOT NULL,\n"                                      \
	"\tfiles INTEGER NOT NULL,\n"                                          \
	"\tbytes INTEGER NOT NULL\n"                                           \
	") STRICT"
#define SQL_SEEN                                                               \
	"CREATE TABLE channels_seen(\n"                                        \
	"\tname TEXT PRIMARY KEY NOT NULL,\n"                                  \
	"\tversion INTEGER NOT NULL\n"                                         \
	") STRICT, WITHOUT ROWID"
#define SQL_PENDING                                                            \
	"CREATE TABLE pending(\n"                                              \
	"\tchannel TEXT PRIMARY KEY NOT NULL,\n"                               \
	"\tversion INTEGER NOT NULL,\n"                                        \
	"\tcommit_hex TEXT NOT NULL,\n"                                        \
	"\tbytes_total INTEGER NOT NULL,\n"                                    \
	"\tbytes_missing INTEGER NOT NULL,\n"                                  \
	"\tupdated INTEGER NOT NULL\n"                                         \
	") STRICT, WITHOUT ROWID"
#define SQL_SUBSCRIPTIONS                                                      \
	"CREATE TABLE subscriptions(\n"                                        \
	"\tchannel TEXT NOT NULL,\n"                                           \
	"\tpath TEXT NOT NULL,\n"                                              \
	"\tPRIMARY KEY(channel, path)\n"                                       \
	") STRICT, WITHOUT ROWID"
#define SQL_SOURCES                                                            \
	"CREATE TABLE sources(\n"                                              \
	"\turl TEXT NOT NULL UNIQUE,\n"                                        \
	"\tpriority INTEGER NOT NULL,\n"                                       \
	"\tlabel TEXT\n"                                                       \
	") STRICT"
#define SQL_TRUST                                                              \
	"CREATE TABLE trust(\n"                                                \
	"\tline TEXT NOT NULL UNIQUE\n"                                        \
	") STRICT"
#define SQL_REMOTE_PACKS                                                       \
	"CREATE TABLE remote_packs(\n"                                         \
	"\tsource TEXT NOT NULL,\n"                                            \
	"\tname BLOB NOT NULL,\n"                                              \
	"\tsize INTEGER NOT NULL,\n"                                           \
	"\thave_idx INTEGER NOT NULL,\n"                                       \
	"\tPRIMARY KEY(source, name)\n"                                        \
	") STRICT, WITHOUT ROWID"
#define SQL_RUNS                                                               \
	"CREATE TABLE runs(\n"                                                 \
	"\tid INTEGER PRIMARY KEY AUTOINCREMENT,\n"                            \
	"\tstarted INTEGER NOT NULL,\n"                                        \
	"\tended INTEGER,\n"                                                   \
	"\toutcome TEXT,\n"                                                    \
	"\tbytes_read INTEGER NOT NULL,\n"                                     \
	"\tbytes_written INTEGER NOT NULL,\n"                                  \
	"\tchunks_stored INTEGER NOT NULL,\n"                                  \
	"\treason TEXT\n"                                                      \
	") STRICT"

/* What sqlite_schema must hold at DB_SCHEMA_VERSION, and nothing else.
 * Objects with sql NULL are made by SQLite itself for UNIQUE constraints
 * of rowid tables; sqlite_sequence comes with AUTOINCREMENT. */
struct schema_object {
	const char *type;
	const char *name;
	const char *table;
	const char *sql;
};

static const struct schema_object schema[] = {
	{ "table", "meta", "meta", SQL_META },
	{ "table", "packs", "packs", SQL_PACKS },
	{ "index", "sqlite_autoindex_packs_1", "packs", NULL },
	{ "table", "sqlite_sequence", "sqlite_sequence", "CREATE TABLE sqlite_sequence(name,seq)" },
	{ "table", "chunks", "chunks", SQL_CHUNKS },
	{ "index", "chunks_pack", "chunks", SQL_CHUNKS_PACK },
	{ "table", "channels", "channels", SQL_CHANNELS },
	{ "index", "sqlite_autoindex_channels_1", "channels", NULL },
	{ "table", "channels_seen", "channels_seen", SQL_SEEN },
	{ "table", "pending", "pending", SQL_PENDING },
	{ "table", "subscriptions", "subscriptions", SQL_SUBSCRIPTIONS },
	{ "table", "sources", "sources", SQL_SOURCES },
	{ "index", "sqlite_autoindex_sources_1", "sources", NULL },
	{ "table", "trust", "trust", SQL_TRUST },
	{ "index", "sqlite_autoindex_trust_1", "trust", NULL },
	{ "table", "remote_packs", "remote_packs", SQL_REMOTE_PACKS },
	{ "table", "runs", "runs", SQL_RUNS },
};

/* migrations[v] takes a file from schema version v to v + 1, inside one
 * transaction that also sets user_version.  Step 0 creates a store. */
static const char *const migrate_0_1[] = {
	SQL_META,     SQL_PACKS,         SQL_CHUNKS,  SQL_CHUNKS_PACK,  SQL_CHANNELS, SQL_SEEN,
	SQL_PENDING,  SQL_SUBSCRIPTIONS, SQL_SOURCES, SQL_TRUST,        SQL_REMOTE_PACKS,
	SQL_RUNS,
};

struct migration {
	const char *const *sql;
	size_t n;
};

static const struct migration migrations[DB_SCHEMA_VERSION] = {
	{ migrate_0_1, ARRAY_SIZE(migrate_0_1) },
};

/* Reads the file's application id, schema version and object count, and
 * refuses what this ferry cannot open.  *version_out 0 is an empty file. */
static int schema_state(struct db *db, int64_t *version_out, bool create)
{
	int64_t app, version, objects;
	int r = db_pragma_value(db, "PRAGMA application_id", &app, NULL, 0);

	if (r >= 0)
		r = db_pragma_value(db, "PRAGMA user_version", &version, NULL, 0);
	if (r >= 0)
		r = db_pragma_value(db, "SELECT count(*) FROM sqlite_schema", &objects, NULL, 0);
	if (r < 0)
		return r;
	if (app == 0 && version == 0 && objects == 0) {
		if (!create)
			return err_set(-EBADMSG, "%s: empty database, not a ferry store",
				       db->path);
	} else if (app != DB_APPLICATION_ID || version < 1) {
		return err_set(-EBADMSG, "%s: not a ferry store database", db->path);
	} else if (version > DB_SCHEMA_VERSION) {
		return err_set(-ENOTSUP,
			       "%s: store database schema version %lld is newer than this ferry "
			       "knows (%d): upgrade ferry",
			       db->path, (long long)version, DB_SCHEMA_VERSION);
	}
	*version_out = version;
	return 0;
}

static int migrate_locked(struct db *db, bool create)
{
	int64_t version;
	char sql[64];
	int r = schema_state(db, &version, create);

	if (r < 0 || version == DB_SCHEMA_VERSION)
		return r;
	for (; r >= 0 && version < DB_SCHEMA_VERSION; version++) {
		const struct migration *m = &migrations[version];

		for (size_t i = 0; r >= 0 && i < m->n; i++)
			r = db_exec_sql(db, m->sql[i]);
	}
	if (r >= 0) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", DB_SCHEMA_VERSION);
		r = db_exec_sql(db, sql);
	}
	if (r >= 0) {
		snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", DB_APPLICATION_ID);
		r = db_exec_sql(db, sql);
	}
	return r;
}

/* Brings the file to DB_SCHEMA_VERSION under the write lock, reading the
 * version again there: another process may have migrated it meanwhile. */
static int migrate(struct db *db, bool create)
{
	int r = db_exec_sql(db, "BEGIN IMMEDIATE");

	if (r < 0)
		return r;
	r = migrate_locked(db, create);
	if (r >= 0)
		r = db_exec_sql(db, "COMMIT");
	if (r < 0)
		db_tx_abandon(db);
	return r;
}

static int schema_match(uint64_t *seen, struct sqlite3_stmt *s, const char *path)
{
	const char *type, *name, *table, *sql;
	int r = db_col_text(&type, s, 0, LIMIT_NAME_BYTES, false);

	if (r >= 0)
		r = db_col_text(&name, s, 1, LIMIT_NAME_BYTES, false);
	if (r >= 0)
		r = db_col_text(&table, s, 2, LIMIT_NAME_BYTES, false);
	if (r >= 0)
		r = db_col_text(&sql, s, 3, LIMIT_DB_VALUE_BYTES, true);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(schema); i++) {
		const struct schema_object *o = &schema[i];

		if (strcmp(type, o->type) != 0 || strcmp(name, o->name) != 0)
			continue;
		if (strcmp(table, o->table) != 0 || (!sql) != (!o->sql) ||
		    (sql && strcmp(sql, o->sql) != 0) || (*seen & (1ull << i)))
			break;
		*seen |= 1ull << i;
		return 0;
	}
	return err_set(-EBADMSG, "%s: the schema holds %s %s that ferry did not write", path,
		       type, name);
}

/* Checks that sqlite_schema holds exactly the objects of schema[]. */
static int schema_verify(struct db *db)
{
	AUTO_RESET struct sqlite3_stmt *s = NULL;
	uint64_t seen = 0;
	int r = db_st_query(&s, db, ST_SCHEMA, NULL, 0);

	_Static_assert(ARRAY_SIZE(schema) < 64, "schema[] fits the bit mask");
	while (r >= 0 && (r = db_st_step(db, s)) == 1)
		r = schema_match(&seen, s, db->path);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(schema); i++)
		if (!(seen & (1ull << i)))
			return err_set(-EBADMSG, "%s: the schema lacks %s %s", db->path,
				       schema[i].type, schema[i].name);
	return 0;
}

int db_schema_open(struct db *db, bool create)
{
	int64_t version;
	char enc[16];
	int r = schema_state(db, &version, create);

	if (r < 0)
		return r;
	if (version < DB_SCHEMA_VERSION)
		r = migrate(db, create);
	if (r >= 0)
		r = db_pragma_value(db, "PRAGMA encoding", NULL, enc, sizeof(enc));
	if (r >= 0 && strcmp(enc, "UTF-8") != 0)
		return err_set(-EBADMSG, "%s: text encoding %s, not UTF-8", db->path, enc);
	return r < 0 ? r : schema_verify(db);
}
