/*
 * test_spool.c — unit tests of the receiver's spool (satellite/spool*.c).
 *
 * Round trips through the spool with losses, repair symbols and restarts;
 * identity (same hash, other parameters: another folder); duplicates and
 * the per-block cap; a torn tail cut at every byte offset and a flipped
 * byte inside a record; a decode that does not hash right (nothing is
 * returned and the object starts over); and the walk that status uses.
 * Room (spool_room.c): the counted bytes equal the files' sizes (plus the
 * per-folder overhead) after appends, decodes, a reopen and removals; an
 * open object cannot be evicted; a kill in the middle of an eviction (a
 * .gone- folder half emptied, or an object folder missing some files)
 * leaves a spool that opens cleanly with the right count.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "satellite/satellite.h"
#include "satellite/spool.h"
#include "satellite/spool_format.h"
#include "tests/harness.h"

#define T 64u

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

/* An object of len random bytes cut in blocks of at most maxk symbols. */
struct obj {
	uint8_t *data;
	size_t len;
	struct sat_object_id id;
	struct rq_encoder *enc[8];
};

static void obj_make(struct obj *o, size_t len, uint32_t maxk)
{
	struct rq_block b;

	memset(o, 0, sizeof(*o));
	o->len = len;
	o->data = malloc(len);
	CHECK(o->data);
	for (size_t i = 0; i < len; i++)
		o->data[i] = (uint8_t)rng();
	sha256_buf(&o->id.sha, o->data, len);
	CHECK_OK(rq_oti_for(&o->id.oti, len, T, maxk));
	CHECK(o->id.oti.source_blocks <= 8);
	for (uint32_t s = 0; s < o->id.oti.source_blocks; s++) {
		CHECK_OK(rq_oti_block(&b, &o->id.oti, s));
		CHECK_OK(rq_encoder_new(&o->enc[s], o->data + b.offset, b.length,
					b.source_symbols, T));
	}
}

static void obj_free(struct obj *o)
{
	for (int i = 0; i < 8; i++)
		rq_encoder_free(o->enc[i]);
	free(o->data);
}

static int add(struct spool_object *so, struct obj *o, uint32_t sbn, uint32_t esi)
{
	uint8_t sym[T];

	CHECK_OK(rq_encoder_symbol(sym, o->enc[sbn], esi));
	return spool_object_add(so, sbn, esi, sym, T);
}

static char *fresh_dir(const char *name)
{
	char *d = fs_join(t_tmpdir(), name);
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	CHECK(system(cmd) == 0);
	return d;
}

/* Assembles o into a file and checks it equals the object. */
static void check_assembled(struct spool_object *so, const struct obj *o, const char *dir)
{
	AUTO_FREE char *path = fs_join(dir, "out");
	struct buf b;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	CHECK(fd >= 0);
	CHECK_OK(spool_object_assemble(so, fd));
	close(fd);
	buf_init(&b, o->len + 1);
	CHECK_OK(fs_read_file(&b, path, o->len + 1));
	CHECK_EQ_U(b.len, o->len);
	CHECK(memcmp(b.data, o->data, o->len) == 0);
	buf_release(&b);
}

/* Feeds every block, dropping about a third, with repair symbols, and a
 * restart (free and reopen) halfway through. */
static void test_round_trip_with_restart(void)
{
	AUTO_FREE char *dir = fresh_dir("rt");
	struct spool *sp;
	struct spool_object *so;
	struct spool_progress p;
	struct obj o;

	obj_make(&o, 5000, 30); /* 79 symbols: 3 blocks */
	CHECK(o.id.oti.source_blocks >= 2);
	CHECK_OK(spool_open(&sp, dir));
	CHECK_OK(spool_object_open(&so, sp, &o.id));
	for (uint32_t esi = 0; esi < 200; esi++) {
		for (uint32_t s = 0; s < o.id.oti.source_blocks; s++) {
			if (rng() % 3 == 0)
				continue;
			CHECK_OK(add(so, &o, s, esi));
			if (spool_object_block_ready(so, s)) {
				int r = spool_object_decode_block(so, s);

				CHECK(r == 0 || r == -EAGAIN);
			}
		}
		if (esi == 12) { /* a restart */
			spool_object_free(so);
			CHECK_OK(spool_object_open(&so, sp, &o.id));
		}
	}
	CHECK(spool_object_complete(so));
	spool_object_progress(&p, so);
	CHECK_EQ_U(p.held, p.needed);
	CHECK_EQ_U(p.blocks_done, p.blocks);
	check_assembled(so, &o, dir);
	/* A restart after completion still knows it is complete. */
	spool_object_free(so);
	CHECK_OK(spool_object_open(&so, sp, &o.id));
	CHECK(spool_object_complete(so));
	check_assembled(so, &o, dir);
	CHECK_OK(spool_object_remove(so));
	spool_free(sp);
	obj_free(&o);
}

static void test_identity_and_refusals(void)
{
	AUTO_FREE char *dir = fresh_dir("id");
	char name[SPOOL_ID_NAME_LEN + 1];
	struct sat_object_id id2, parsed;
	struct spool *sp;
	struct spool_object *a, *b;
	struct spool_progress p;
	uint8_t sym[T] = { 0 };
	struct obj o;

	obj_make(&o, 1000, 64);
	CHECK_OK(spool_open(&sp, dir));
	CHECK_OK(spool_object_open(&a, sp, &o.id));
	id2 = o.id;
	id2.oti.symbol_size = 32; /* same bytes, other parameters */
	CHECK_OK(spool_object_open(&b, sp, &id2));
	CHECK_EQ_I(add(a, &o, 0, 3), 1);
	CHECK_EQ_I(add(a, &o, 0, 3), 0); /* duplicate */
	CHECK_EQ_I(spool_object_add(a, 1, 0, sym, T), -EBADMSG);
	CHECK_EQ_I(spool_object_add(a, 0, RQ_ESI_MAX + 1, sym, T), -EBADMSG);
	CHECK_EQ_I(spool_object_add(a, 0, 0, sym, T - 4), -EBADMSG);
	spool_object_progress(&p, b);
	CHECK_EQ_U(p.held, 0);
	spool_object_progress(&p, a);
	CHECK_EQ_U(p.held, 1);
	/* The cap: K + LIMIT_RQ_EXTRA_SYMBOLS symbols, then no more. */
	for (uint32_t esi = 100; esi < 100 + p.needed + LIMIT_RQ_EXTRA_SYMBOLS; esi++)
		CHECK(add(a, &o, 0, esi) >= 0);
	CHECK_EQ_I(add(a, &o, 0, 5000), 0);
	spool_id_name(name, &o.id);
	CHECK_OK(spool_id_parse(&parsed, name));
	CHECK(memcmp(&parsed.sha, &o.id.sha, sizeof(parsed.sha)) == 0);
	CHECK_EQ_U(parsed.oti.transfer_length, o.id.oti.transfer_length);
	name[3] = 'X';
	CHECK_EQ_I(spool_id_parse(&parsed, name), -EBADMSG);
	spool_object_free(a);
	spool_object_free(b);
	spool_free(sp);
	obj_free(&o);
}

/* Truncates the block file at every byte offset and checks the reader
 * keeps exactly the whole records before the cut, then still completes. */
static void test_torn_tail_every_offset(void)
{
	AUTO_FREE char *dir = fresh_dir("torn");
	AUTO_FREE char *sym = NULL;
	char name[SPOOL_ID_NAME_LEN + 1], rel[200];
	const size_t rec = SPOOL_RECORD_OVERHEAD + T;
	struct spool *sp;
	struct spool_object *so;
	struct spool_progress p;
	struct buf full;
	struct obj o;
	uint64_t size;

	obj_make(&o, 20 * T, 64); /* one block, K = 20 */
	CHECK_OK(spool_open(&sp, dir));
	CHECK_OK(spool_object_open(&so, sp, &o.id));
	for (uint32_t esi = 0; esi < 6; esi++)
		CHECK_EQ_I(add(so, &o, 0, esi * 7), 1);
	spool_object_free(so);
	spool_id_name(name, &o.id);
	snprintf(rel, sizeof(rel), "%s/b000.sym", name);
	sym = fs_join(dir, rel);
	buf_init(&full, 1 << 20);
	CHECK_OK(fs_read_file(&full, sym, 1 << 20));
	CHECK_EQ_U(full.len, SPOOL_HEADER_LEN + 6 * rec);
	for (size_t cut = 0; cut <= full.len; cut++) {
		size_t whole = cut < SPOOL_HEADER_LEN ? 0 : (cut - SPOOL_HEADER_LEN) / rec;

		CHECK_OK(fs_write_atomic(sym, full.data, cut));
		CHECK_OK(spool_object_open(&so, sp, &o.id));
		spool_object_progress(&p, so);
		CHECK_EQ_U(p.held, whole);
		if (cut < SPOOL_HEADER_LEN)
			CHECK(!fs_exists(sym));
		else
			CHECK(fs_file_size(&size, sym) == 0 &&
			      size == SPOOL_HEADER_LEN + whole * rec);
		/* Appending after the cut gives records a restart reads back. */
		CHECK_EQ_I(add(so, &o, 0, 1000), 1);
		spool_object_free(so);
		CHECK_OK(spool_object_open(&so, sp, &o.id));
		spool_object_progress(&p, so);
		CHECK_EQ_U(p.held, whole + 1);
		spool_object_free(so);
	}
	/* A flipped byte inside record 3 ends the file there. */
	full.data[SPOOL_HEADER_LEN + 3 * rec + 20] ^= 0x40;
	CHECK_OK(fs_write_atomic(sym, full.data, full.len));
	CHECK_OK(spool_object_open(&so, sp, &o.id));
	spool_object_progress(&p, so);
	CHECK_EQ_U(p.held, 3);
	for (uint32_t esi = 0; esi < 30 && !spool_object_complete(so); esi++) {
		CHECK(add(so, &o, 0, 20 + esi) >= 0);
		if (spool_object_block_ready(so, 0))
			CHECK(spool_object_decode_block(so, 0) != -ENOMEM);
	}
	CHECK(spool_object_complete(so));
	check_assembled(so, &o, dir);
	spool_object_free(so);
	buf_release(&full);
	spool_free(sp);
	obj_free(&o);
}

/* Symbols of other bytes under a claimed hash: the decode does not hash
 * right, nothing is returned, and the object starts over empty. */
static void test_hash_mismatch(void)
{
	AUTO_FREE char *dir = fresh_dir("bad");
	struct spool *sp;
	struct spool_object *so;
	struct spool_progress p;
	struct obj o;
	int fd;

	obj_make(&o, 10 * T, 64);
	o.id.sha.b[0] ^= 1; /* the file table lied */
	CHECK_OK(spool_open(&sp, dir));
	CHECK_OK(spool_object_open(&so, sp, &o.id));
	for (uint32_t esi = 0; esi < 10; esi++)
		CHECK_EQ_I(add(so, &o, 0, esi), 1);
	CHECK(spool_object_block_ready(so, 0));
	CHECK_OK(spool_object_decode_block(so, 0));
	CHECK(spool_object_complete(so));
	fd = open("/dev/null", O_WRONLY);
	CHECK_EQ_I(spool_object_assemble(so, fd), -EBADMSG);
	close(fd);
	CHECK(!spool_object_complete(so));
	spool_object_progress(&p, so);
	CHECK_EQ_U(p.held, 0);
	spool_object_free(so);
	spool_free(sp);
	obj_free(&o);
}

struct seen {
	int n;
	uint64_t held;
	char name[64];
};

static int walk_fn(const struct sat_object_id *id, const char *name,
		   const struct spool_progress *p, void *ctx)
{
	struct seen *s = ctx;

	(void)id;
	s->n++;
	s->held += p->held;
	snprintf(s->name, sizeof(s->name), "%s", name);
	return 0;
}

static void test_walk(void)
{
	AUTO_FREE char *dir = fresh_dir("walk");
	AUTO_FREE char *junk = NULL;
	struct spool *sp;
	struct spool_object *so;
	struct seen s = { 0 };
	struct obj o;

	obj_make(&o, 3000, 64);
	CHECK_OK(spool_open(&sp, dir));
	junk = fs_join(dir, "not-an-object");
	CHECK_OK(fs_mkdir_p(junk, 0755));
	CHECK_OK(spool_object_open(&so, sp, &o.id));
	CHECK_OK(spool_object_set_name(so, "packs/ab/abcd.pack"));
	for (uint32_t esi = 0; esi < 7; esi++)
		CHECK_EQ_I(add(so, &o, 0, esi), 1);
	CHECK_OK(spool_walk(sp, walk_fn, &s));
	CHECK_EQ_I(s.n, 1);
	CHECK_EQ_U(s.held, 7);
	CHECK_STR(s.name, "packs/ab/abcd.pack");
	spool_object_free(so);
	spool_free(sp);
	obj_free(&o);
}

/* What the object folders of dir really hold: file sizes plus
 * SPOOL_OBJECT_OVERHEAD per folder whose name is an identity. */
static uint64_t disk_bytes(const char *dir, size_t *folders)
{
	char cmd[4400], line[256];
	uint64_t total = 0;
	FILE *f;

	*folders = 0;
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && for d in *-*; do [ -d \"$d\" ] || continue; echo D; "
		 "find \"$d\" -type f -printf 'F %%s\\n'; done",
		 dir);
	f = popen(cmd, "r");
	CHECK(f);
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == 'D') {
			(*folders)++;
			total += SPOOL_OBJECT_OVERHEAD;
		} else if (line[0] == 'F') {
			total += strtoull(line + 2, NULL, 10);
		}
	}
	pclose(f);
	return total;
}

static void check_count(struct spool *sp, const char *dir, size_t objects)
{
	size_t folders;
	uint64_t disk = disk_bytes(dir, &folders);

	CHECK_EQ_U(folders, objects);
	CHECK_EQ_U(spool_count(sp), objects);
	CHECK_EQ_U(spool_used(sp), disk);
}

static void test_room_accounting(void)
{
	AUTO_FREE char *dir = fresh_dir("room");
	struct spool *sp;
	struct spool_object *a, *b;
	struct spool_progress p;
	struct obj oa, ob;
	uint64_t before;

	obj_make(&oa, 5000, 40); /* 79 symbols: 2 blocks */
	obj_make(&ob, 3000, 64);
	CHECK_OK(spool_open(&sp, dir));
	check_count(sp, dir, 0);
	CHECK_EQ_U(spool_used(sp), 0);
	CHECK_OK(spool_object_open(&a, sp, &oa.id));
	CHECK_OK(spool_object_set_name(a, "packs/aa/a.pack"));
	check_count(sp, dir, 1);
	/* Each kept symbol costs what add_cost said, no more. */
	for (uint32_t esi = 0; esi < 30; esi++) {
		uint64_t cost = spool_object_add_cost(a, 0);

		before = spool_used(sp);
		CHECK(spool_object_wants(a, 0, esi));
		CHECK_EQ_I(add(a, &oa, 0, esi), 1);
		CHECK(spool_used(sp) - before <= cost);
		CHECK(!spool_object_wants(a, 0, esi)); /* a duplicate now */
	}
	check_count(sp, dir, 1);
	spool_object_progress(&p, a);
	CHECK_EQ_U(spool_object_info(a)->held, p.held);
	CHECK(p.held >= 20);
	CHECK_OK(spool_object_open(&b, sp, &ob.id));
	for (uint32_t esi = 0; esi < 10; esi++)
		CHECK_EQ_I(add(b, &ob, 0, esi), 1);
	check_count(sp, dir, 2);
	/* Decoding block 0 of a: its symbols go, its bytes come. */
	for (uint32_t esi = 30; esi < 60; esi++)
		CHECK(add(a, &oa, 0, esi) >= 0);
	CHECK(spool_object_block_ready(a, 0));
	CHECK_OK(spool_object_decode_block(a, 0));
	check_count(sp, dir, 2);
	spool_object_progress(&p, a);
	CHECK_EQ_U(spool_object_info(a)->held, p.held);
	/* An open object cannot be evicted. */
	for (size_t i = 0; i < spool_count(sp); i++)
		CHECK_EQ_I(spool_evict(sp, i), -EBUSY);
	spool_object_free(a);
	spool_object_free(b);
	/* Reopened: the catalog built from the sizes equals the live count. */
	before = spool_used(sp);
	spool_free(sp);
	CHECK_OK(spool_open(&sp, dir));
	CHECK_EQ_U(spool_used(sp), before);
	CHECK_EQ_U(spool_find(sp, &oa.id)->held, p.held);
	check_count(sp, dir, 2);
	/* Evicting one leaves the other and a count that matches. */
	for (size_t i = 0; i < spool_count(sp); i++)
		if (spool_info_at(sp, i) == spool_find(sp, &ob.id))
			CHECK_OK(spool_evict(sp, i));
	CHECK(!spool_find(sp, &ob.id));
	check_count(sp, dir, 1);
	/* Removing the last: nothing counted. */
	CHECK_OK(spool_object_open(&a, sp, &oa.id));
	CHECK_OK(spool_object_remove(a));
	check_count(sp, dir, 0);
	CHECK_EQ_U(spool_used(sp), 0);
	spool_free(sp);
	obj_free(&oa);
	obj_free(&ob);
}

/* A kill in the middle of an eviction, both ways it can look. */
static void test_room_kill_mid_eviction(void)
{
	AUTO_FREE char *dir = fresh_dir("roomkill");
	char na[SPOOL_ID_NAME_LEN + 1], nb[SPOOL_ID_NAME_LEN + 1], path[4300], cmd[9000];
	struct spool *sp;
	struct spool_object *a, *b;
	struct obj oa, ob;

	obj_make(&oa, 5000, 40);
	obj_make(&ob, 5000, 40);
	CHECK_OK(spool_open(&sp, dir));
	CHECK_OK(spool_object_open(&a, sp, &oa.id));
	CHECK_OK(spool_object_open(&b, sp, &ob.id));
	CHECK_OK(spool_object_set_name(a, "packs/aa/a.pack"));
	CHECK_OK(spool_object_set_name(b, "packs/bb/b.pack"));
	for (uint32_t esi = 0; esi < 20; esi++) {
		CHECK_EQ_I(add(a, &oa, 0, esi), 1);
		CHECK_EQ_I(add(a, &oa, 1, esi), 1);
		CHECK_EQ_I(add(b, &ob, 0, esi), 1);
		CHECK_EQ_I(add(b, &ob, 1, esi), 1);
	}
	spool_object_free(a);
	spool_object_free(b);
	spool_free(sp);
	spool_id_name(na, &oa.id);
	spool_id_name(nb, &ob.id);
	/* a: killed after the rename, with one file deleted; b: a folder
	 * some files of which are gone (name, block 1). */
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && mv %s .gone-%s && rm .gone-%s/b000.sym && rm %s/name %s/b001.sym "
		 "&& : > .gone-stray",
		 dir, na, na, na, nb, nb);
	CHECK(system(cmd) == 0);
	CHECK_OK(spool_open(&sp, dir));
	snprintf(path, sizeof(path), "%s/.gone-%s", dir, na);
	CHECK(!fs_exists(path));
	snprintf(path, sizeof(path), "%s/.gone-stray", dir);
	CHECK(!fs_exists(path));
	CHECK(!spool_find(sp, &oa.id));
	CHECK(spool_find(sp, &ob.id));
	CHECK_EQ_U(spool_find(sp, &ob.id)->held, 20);
	check_count(sp, dir, 1);
	/* b opens cleanly and still takes symbols. */
	CHECK_OK(spool_object_open(&b, sp, &ob.id));
	CHECK_EQ_I(add(b, &ob, 1, 0), 1);
	check_count(sp, dir, 1);
	spool_object_free(b);
	spool_free(sp);
	obj_free(&oa);
	obj_free(&ob);
}

int main(void)
{
	return t_main((struct t_case[]){
		{ "round trip with losses, repair symbols and a restart",
		  test_round_trip_with_restart },
		{ "identity, duplicates, the cap and refusals", test_identity_and_refusals },
		{ "torn tail at every byte offset; a flipped byte", test_torn_tail_every_offset },
		{ "a decode that does not hash right", test_hash_mismatch },
		{ "walk for status", test_walk },
		{ "room: bytes counted as on disk, through decode, reopen and eviction",
		  test_room_accounting },
		{ "room: a kill mid-eviction leaves a spool that opens cleanly",
		  test_room_kill_mid_eviction },
		{ 0 } });
}
