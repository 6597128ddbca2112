/*
 * fuzz_db_open.c — the store database opened from arbitrary bytes.
 *
 * A store.db damaged by a power cut, a failing disk or a careless hand
 * must give a clean error, never a crash.  The input becomes the database
 * file; if it opens, every table is read through its walks and lookups,
 * a few rows are written, and the whole file is checked.  Whatever the
 * bytes, each call must return 0 or a negative errno, and every string a
 * walk hands out must be readable to its NUL.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fsx.h"
#include "core/mem.h"
#include "packager/pack_format.h"
#include "sync/db.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char db_file[128];
static volatile size_t sink; /* keeps the reads from being optimized away */

static void remove_files(void)
{
	char side[160];

	unlink(db_file);
	snprintf(side, sizeof(side), "%s-wal", db_file);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", db_file);
	unlink(side);
}

static int write_input(const uint8_t *data, size_t size)
{
	int fd, r;

	if (!db_file[0])
		snprintf(db_file, sizeof(db_file), "%s/ferry-fuzz-db-%d.db",
			 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
	remove_files();
	fd = open(db_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort(); /* the harness's own trouble, not the input's */
	r = fs_write_all(fd, data, size);
	close(fd);
	return r;
}

/* Reads every byte of each string handed out, so ASan sees a bad one. */
static size_t touch(const char *s)
{
	return s ? strlen(s) : 0;
}

static int on_chunk(const struct db_chunk *c, void *ctx)
{
	*(size_t *)ctx += c->raw_len;
	return 0;
}

static int on_pack(const struct db_pack *p, void *ctx)
{
	*(size_t *)ctx += (size_t)p->chunks;
	return 0;
}

static int on_channel(const struct db_channel *c, void *ctx)
{
	*(size_t *)ctx += touch(c->name) + touch(c->commit) + (c->head_len ? c->head[0] : 0);
	return 0;
}

static int on_pending(const struct db_pending *p, void *ctx)
{
	*(size_t *)ctx += touch(p->channel) + touch(p->commit);
	return 0;
}

static int on_subscription(const struct db_subscription *s, void *ctx)
{
	*(size_t *)ctx += touch(s->channel) + touch(s->path);
	return 0;
}

static int on_source(const struct db_source *s, void *ctx)
{
	*(size_t *)ctx += touch(s->url) + touch(s->label);
	return 0;
}

static int on_trust(const char *line, void *ctx)
{
	*(size_t *)ctx += touch(line);
	return 0;
}

static int on_remote_pack(const struct db_remote_pack *p, void *ctx)
{
	*(size_t *)ctx += touch(p->source) + p->have_idx;
	return 0;
}

static int on_run(const struct db_run *r, void *ctx)
{
	*(size_t *)ctx += touch(r->outcome) + touch(r->reason);
	return 0;
}

static int on_problem(const char *line, void *ctx)
{
	*(size_t *)ctx += touch(line);
	return 0;
}

static void read_all(struct db *db, size_t *sum)
{
	struct db_chunk c;
	struct db_pack p;
	struct db_channel ch;
	struct db_pending pe;
	struct sha256 id;
	char *v = NULL;
	uint64_t u;

	memset(id.b, 0xab, sizeof(id.b));
	(void)!db_chunk_count(&u, db);
	(void)!db_chunk_find(&c, db, &id);
	(void)!db_chunks_of_pack_foreach(db, 1, on_chunk, sum);
	(void)!db_pack_foreach(db, on_pack, sum);
	(void)!db_pack_get(&p, db, 1);
	(void)!db_pack_by_name(&p, db, &id);
	(void)!db_channel_foreach(db, on_channel, sum);
	if (db_channel_get(&ch, db, "renjiao/grade7/math") == 0)
		*sum += ch.head_len;
	db_channel_release(&ch);
	(void)!db_channel_seen_get(&u, db, "renjiao/grade7/math");
	(void)!db_pending_get(&pe, db, "renjiao/grade7/math");
	(void)!db_pending_foreach(db, on_pending, sum);
	(void)!db_subscription_foreach(db, on_subscription, sum);
	(void)!db_source_foreach(db, on_source, sum);
	(void)!db_trust_foreach(db, on_trust, sum);
	(void)!db_remote_pack_foreach(db, "/media/usb0/ferry", on_remote_pack, sum);
	(void)!db_run_foreach_recent(db, 20, on_run, sum);
	if (db_meta_get(&v, db, "store-id") == 0)
		*sum += touch(v);
	mem_free(v);
}

static void write_some(struct db *db)
{
	struct db_chunk c = { .pack = 1,
			      .offset = PACK_HEADER_LEN,
			      .stored_len = 100,
			      .raw_len = 100,
			      .type = PACK_ENTRY_RAW };
	int64_t id;

	memset(c.id.b, 0xcd, sizeof(c.id.b));
	(void)!db_chunk_add(db, &c);
	(void)!db_meta_put(db, "fuzz", "was here");
	(void)!db_subscription_add(db, "renjiao/grade7/math", "七年级/");
	if (db_run_begin(&id, db, 1) == 0)
		(void)!db_run_end(db, id, &(struct db_run){ .outcome = "done" });
	(void)!db_pack_remove(db, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct db *db;
	size_t sum = 0;

	if (write_input(data, size) < 0)
		abort();
	if (db_open(&db, db_file, false) == 0) {
		read_all(db, &sum);
		write_some(db);
		read_all(db, &sum);
		(void)!db_check(db, on_problem, &sum);
		db_close(db);
	}
	remove_files();
	sink = sum;
	return 0;
}
