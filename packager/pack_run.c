/*
 * pack_run.c — the packing run: reader, in-order writer, bookkeeping.
 *
 * The calling thread alternates between two roles.  As reader it fills a
 * buffer from the current file, hashes the whole file and cuts chunks into
 * ring slots.  Whenever the ring is full, and at the end, it becomes the
 * writer: it takes finished slots oldest first, appends new chunks to the
 * current pack (starting a new pack when the cap is reached), records
 * where every chunk lives, and completes each file's chunk list for the
 * file callback.  See pack_run.h.
 */
#define _GNU_SOURCE
#include "packager/pack_run.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/codec_text.h"
#include "core/fsx.h"
#include "core/mem.h"
#include "packager/pack.h"
#include "packager/pack_format.h"
#include "packager/pack_run_int.h"
#include "packager/tree_walk.h"

#define READ_BUF_BYTES (4u << 20)
#define RING_SLOTS 64u
#define PROGRESS_NS 200000000LL

/* A file read but not yet completed by the writer (a FIFO). */
struct pending {
	char *path;
	uint64_t size;
	struct sha256 hash;
	struct pending *next;
};

struct run {
	const struct pack_run_opts *o;
	struct chunker chunker;
	struct chunk_table *table;
	struct chunk_set set;
	struct pack_ring *ring;
	struct pack_writer *pw;
	struct sha256_ctx *file_hash;
	uint8_t *buf;
	struct pending *first, *last;
	struct chunk_ref *refs; /* chunk list of the file being completed */
	size_t nrefs, caprefs;
	uint8_t *old_used;      /* table packs the release needs */
	struct sha256 *new_packs;
	size_t nnew, capnew;
	struct pack_stats st;
	struct timespec t0;
	long long last_progress;
};

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void progress(struct run *r, bool force)
{
	long long t = now_ns();

	if (!r->o->progress || (!force && t - r->last_progress < PROGRESS_NS))
		return;
	r->last_progress = t;
	r->st.seconds = (double)(t - (r->t0.tv_sec * 1000000000LL + r->t0.tv_nsec)) / 1e9;
	r->o->progress(&r->st, r->o->ctx);
}

static int add_ref(struct run *r, const struct slot *s, uint32_t stored_len)
{
	if (r->nrefs == r->caprefs) {
		size_t cap = r->caprefs ? r->caprefs * 2 : 256;
		struct chunk_ref *g = mem_realloc(r->refs, cap * sizeof(*g));

		if (!g)
			return -ENOMEM;
		r->refs = g;
		r->caprefs = cap;
	}
	r->refs[r->nrefs].id = s->id;
	r->refs[r->nrefs].raw_len = s->raw_len;
	r->refs[r->nrefs].stored_len = stored_len;
	r->nrefs++;
	r->st.chunks++;
	return 0;
}

static int finish_pack(struct run *r)
{
	uint64_t size;
	int e;

	if (!r->pw)
		return 0;
	if (r->nnew == r->capnew) {
		size_t cap = r->capnew ? r->capnew * 2 : 16;
		struct sha256 *g = mem_realloc(r->new_packs, cap * sizeof(*g));

		if (!g)
			return -ENOMEM;
		r->new_packs = g;
		r->capnew = cap;
	}
	e = pack_writer_finish(r->pw, &r->new_packs[r->nnew], &size);
	pack_writer_free(r->pw);
	r->pw = NULL;
	if (e < 0)
		return e;
	r->nnew++;
	r->st.packs_new++;
	return 0;
}

/* Stores a new chunk in the current pack (opening one if needed). */
static int store_new(struct run *r, struct slot *s)
{
	struct chunk_rec rec = { .id = s->id, .stored_len = s->stored_len,
				 .raw_len = s->raw_len, .type = s->type };
	int e;

	if (r->pw && !pack_writer_fits(r->pw, s->stored_len)) {
		e = finish_pack(r);
		if (e < 0)
			return e;
	}
	if (!r->pw) {
		e = pack_writer_new(&r->pw, r->o->packs_dir, r->o->pack_max);
		if (e < 0)
			return e;
	}
	e = pack_writer_add(r->pw, &s->id, s->type, s->payload, s->stored_len, s->raw_len);
	if (e < 0)
		return e;
	rec.pack = (uint32_t)r->nnew; /* the pack being written */
	r->st.chunks_new++;
	r->st.bytes_new_raw += s->raw_len;
	r->st.bytes_stored += s->stored_len;
	if (s->type == PACK_ENTRY_RAW)
		r->st.chunks_raw++;
	return chunk_set_add(&r->set, &rec);
}

static int complete_file(struct run *r)
{
	struct pending *p = r->first;
	struct pack_file f = { .size = p->size, .hash = p->hash, .nchunks = r->nrefs,
			       .chunks = r->refs };
	int e = r->o->file ? r->o->file(p->path, &f, r->o->ctx) : 0;

	r->first = p->next;
	if (!r->first)
		r->last = NULL;
	mem_free(p->path);
	mem_free(p);
	r->nrefs = 0;
	r->st.files_done++;
	return e;
}

static int write_slot(struct run *r, struct slot *s)
{
	struct chunk_rec rec;
	int e = s->err;

	if (e < 0)
		return e;
	if (s->raw_len) {
		if (s->found == FOUND_NEW && chunk_set_find(&r->set, &s->id, &rec) == 0) {
			s->found = FOUND_RUN;
			s->rec = rec;
		}
		if (s->found == FOUND_NEW)
			e = store_new(r, s);
		else if (s->found == FOUND_TABLE)
			r->old_used[s->rec.pack] = 1;
		if (e == 0)
			e = add_ref(r, s, s->found == FOUND_NEW ? s->stored_len : s->rec.stored_len);
	}
	if (e == 0 && s->last_in_file)
		e = complete_file(r);
	return e;
}

/* Writes the oldest slot if it is finished (waiting for it if wait);
 * returns 1 if one was written, 0 if none. */
static int drain_one(struct run *r, bool wait)
{
	struct slot *s = pack_ring_oldest(r->ring, wait);
	int e;

	if (!s)
		return 0;
	e = write_slot(r, s);
	pack_ring_release_oldest(r->ring);
	return e < 0 ? e : 1;
}

/* Writes finished slots in order.  With all, waits until everything
 * submitted is written (the end of the run); without, waits for the
 * oldest only and takes whatever else is already done, so the reader
 * goes back to reading while the workers stay busy. */
static int drain(struct run *r, bool all)
{
	int e = drain_one(r, true);

	while (e > 0)
		e = drain_one(r, all);
	progress(r, false);
	return e;
}

static int submit(struct run *r, const uint8_t *p, size_t n, bool last)
{
	struct slot *s;
	int e;

	while (!(s = pack_ring_claim(r->ring))) {
		e = drain(r, false);
		if (e < 0)
			return e;
	}
	if (n)
		memcpy(s->raw, p, n);
	s->raw_len = (uint32_t)n;
	s->last_in_file = last;
	pack_ring_submit(r->ring, s);
	return 0;
}

static int queue_file(struct run *r, const char *path)
{
	struct pending *p = mem_calloc(1, sizeof(*p));

	if (!p || !(p->path = mem_strdup(path))) {
		mem_free(p);
		return -ENOMEM;
	}
	if (r->last)
		r->last->next = p;
	else
		r->first = p;
	r->last = p;
	return 0;
}

/* Reads one file, cutting and submitting its chunks. */
static int read_file(struct run *r, int fd, const char *path)
{
	size_t have = 0, off = 0;
	bool eof = false;
	int e;

	for (;;) {
		size_t len;

		while (!eof && have - off < r->chunker.p.max) {
			ssize_t n;

			if (off) {
				memmove(r->buf, r->buf + off, have - off);
				have -= off;
				off = 0;
			}
			n = read(fd, r->buf + have, READ_BUF_BYTES - have);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return err_set(-errno, "%s: %s", path, strerror(errno));
			if (n == 0)
				eof = true;
			sha256_ctx_update(r->file_hash, r->buf + have, (size_t)n);
			have += (size_t)n;
			r->last->size += (uint64_t)n;
			r->st.bytes_read += (uint64_t)n;
		}
		len = chunker_next(&r->chunker, r->buf + off, have - off, eof);
		if (len == 0)
			break;
		if (eof && off + len == have)
			sha256_ctx_final(r->file_hash, &r->last->hash);
		e = submit(r, r->buf + off, len, eof && off + len == have);
		if (e < 0)
			return e;
		off += len;
		if (eof && off == have)
			return 0;
	}
	/* An empty file: one marker slot so it completes in order. */
	sha256_ctx_final(r->file_hash, &r->last->hash);
	return submit(r, NULL, 0, true);
}

static int on_file(int dirfd, const char *name, const char *path, uint64_t size, void *ctx)
{
	struct run *r = ctx;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int e;

	if (fd < 0)
		return r->o->skip ? r->o->skip(path, strerror(errno), r->o->ctx) : 0;
	e = queue_file(r, path);
	if (e == 0)
		e = read_file(r, fd, path);
	close(fd);
	return e;
}

static int on_skip(const char *path, const char *why, void *ctx)
{
	struct run *r = ctx;

	r->st.skipped++;
	return r->o->skip ? r->o->skip(path, why, r->o->ctx) : 0;
}

static int count_file(int dirfd, const char *name, const char *path, uint64_t size, void *ctx)
{
	struct pack_stats *st = ctx;

	st->files_total++;
	st->bytes_total += size;
	return 0;
}

static int count_skip(const char *path, const char *why, void *ctx)
{
	return 0;
}

/* Path of a pack (or its index) under packs_dir; caller frees. */
static char *pack_file_path(const char *packs_dir, const struct sha256 *name, const char *ext)
{
	char *p = NULL;

	if (pack_path_make(&p, packs_dir, name, ext) < 0)
		return NULL;
	return p;
}

/* A run that fails removes the packs it wrote: nothing refers to them. */
static void remove_new_packs(struct run *r)
{
	for (size_t i = 0; i < r->nnew; i++) {
		AUTO_FREE char *p = pack_file_path(r->o->packs_dir, &r->new_packs[i], ".pack");
		AUTO_FREE char *x = pack_file_path(r->o->packs_dir, &r->new_packs[i], ".idx");

		if (p)
			(void)unlink(p);
		if (x)
			(void)unlink(x);
	}
}

static int by_name(const void *a, const void *b)
{
	return memcmp(a, b, SHA256_LEN);
}

/* Fills out->packs with every pack the release uses, and their size. */
static int collect_packs(struct run *r, struct pack_result *out)
{
	uint32_t nold = chunk_table_pack_count(r->table);
	size_t n = 0;

	out->packs = mem_calloc(nold + r->nnew + 1, sizeof(*out->packs));
	if (!out->packs)
		return -ENOMEM;
	for (uint32_t i = 0; i < nold; i++)
		if (r->old_used[i])
			out->packs[n++] = *chunk_table_pack_name(r->table, i);
	if (r->nnew)
		memcpy(out->packs + n, r->new_packs, r->nnew * sizeof(*r->new_packs));
	n += r->nnew;
	qsort(out->packs, n, sizeof(*out->packs), by_name);
	out->npacks = n;
	for (size_t i = 0; i < n; i++) {
		AUTO_FREE char *p = pack_file_path(r->o->packs_dir, &out->packs[i], ".pack");
		uint64_t size;
		int e = p ? fs_file_size(&size, p) : -ENOMEM;

		if (e < 0)
			return err_set(e, "a pack the release needs is missing: %s", p ? p : "?");
		out->packs_bytes += size;
	}
	return 0;
}

static int merge_table(struct run *r)
{
	AUTO_FREE struct chunk_rec *recs = NULL;
	uint32_t base = chunk_table_pack_count(r->table);
	int e = chunk_set_sorted(&recs, &r->set);

	if (e < 0)
		return e;
	for (size_t i = 0; i < r->set.count; i++)
		recs[i].pack += base;
	if (r->set.count == 0 && r->nnew == 0)
		return 0;
	return chunk_table_merge(r->o->table_path, r->table, r->new_packs, r->nnew, recs,
				 r->set.count);
}

static int setup(struct run *r, const struct pack_run_opts *o)
{
	struct ring_lookup lookup;
	uint32_t nold;
	int e;

	r->o = o;
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	e = chunker_init(&r->chunker, &o->chunker);
	if (e == 0)
		e = chunk_table_open(&r->table, o->table_path);
	if (e < 0)
		return e;
	nold = chunk_table_pack_count(r->table);
	r->old_used = mem_calloc(nold + 1, 1);
	r->buf = mem_alloc(READ_BUF_BYTES);
	if (!r->old_used || !r->buf)
		return -ENOMEM;
	e = sha256_ctx_new(&r->file_hash);
	if (e == 0)
		e = chunk_set_init(&r->set);
	if (e < 0)
		return e;
	lookup = (struct ring_lookup){ .table = r->table, .set = &r->set, .level = o->level };
	return pack_ring_new(&r->ring, RING_SLOTS, o->workers ? o->workers : 2, o->chunker.max,
			     &lookup);
}

static void teardown(struct run *r)
{
	pack_ring_free(r->ring); /* joins the workers before the set goes */
	pack_writer_free(r->pw);
	if (r->set.recs)
		chunk_set_release(&r->set);
	chunk_table_free(r->table);
	sha256_ctx_free(r->file_hash);
	while (r->first) {
		struct pending *p = r->first;

		r->first = p->next;
		mem_free(p->path);
		mem_free(p);
	}
	mem_free(r->buf);
	mem_free(r->refs);
	mem_free(r->old_used);
}

int pack_run(struct pack_result *out, const struct pack_run_opts *o)
{
	static const struct tree_walk_ops count_ops = { count_file, count_skip };
	static const struct tree_walk_ops ops = { on_file, on_skip };
	struct run r = { 0 };
	int e;

	memset(out, 0, sizeof(*out));
	e = setup(&r, o);
	if (e == 0)
		e = tree_walk(o->src_dir, &count_ops, &r.st);
	if (e == 0)
		e = tree_walk(o->src_dir, &ops, &r);
	if (e == 0)
		e = drain(&r, true);
	if (e == 0)
		e = finish_pack(&r);
	if (e == 0)
		e = collect_packs(&r, out);
	if (e == 0)
		e = merge_table(&r);
	if (e < 0) {
		pack_writer_free(r.pw);
		r.pw = NULL;
		pack_ring_free(r.ring);
		r.ring = NULL;
		remove_new_packs(&r);
		pack_result_release(out);
		mem_free(r.new_packs);
	} else {
		progress(&r, true);
		out->stats = r.st;
		out->new_packs = r.new_packs;
		out->nnew = r.nnew;
	}
	teardown(&r);
	return e;
}

void pack_result_release(struct pack_result *r)
{
	mem_free(r->packs);
	mem_free(r->new_packs);
	memset(r, 0, sizeof(*r));
}
