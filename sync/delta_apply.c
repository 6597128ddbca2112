/*
 * delta_apply.c — fetching, checking and applying the deltas a plan chose,
 * and storing the chunks they produce (see plan_delta.h).
 *
 * Every byte is checked before it is stored: the delta entry against its
 * ID (the hash of its bytes), the base rebuilt from the store against its
 * whole-file hash, the result against the target's whole-file hash and
 * every chunk against its ID.  Chunks are stored the way fetch.c stores
 * them — appended to a pack of the store's own, which is finished and
 * entered into the database in one transaction every FETCH_BATCH_BYTES —
 * so a power cut loses at most the batch in flight.
 *
 * A delta read the link cuts (a reset, a truncated body, a stall) is not
 * dropped: the bytes that arrived stay in the entry buffer and the next
 * attempt asks only for the rest, with fetch.c's rules — an attempt that
 * brought bytes resets the count of failures in a row, a wait of
 * fetch_backoff_sleep() between attempts, FETCH_ATTEMPTS failures in a row
 * without progress give the delta up, and the delta phase retries at most
 * FETCH_MAX_RETRIES times (its own budget: fetch_plan()'s starts after it).
 * Nothing is retried on -ENOMEM, -ENOSPC, -ECANCELED (should_stop),
 * -EKEYREJECTED or bad bytes.  Only a delta given up falls back to its
 * chunks; a source whose delta reads were given up is asked for no more
 * deltas in this run (each would cost the same waits for nothing).
 */
#include "sync/plan_delta.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/codec_text.h"
#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "manifests/repo.h"
#include "packager/codec.h"
#include "packager/pack_list.h"
#include "sync/fetch.h"

struct applier {
	struct plan_deltas *pd;
	struct plan *p;
	struct store *st;
	struct source *src;
	struct delta_apply_stats *stats;
	void (*log)(const char *line, void *ctx);
	void *ctx;
	struct codec *codec;
	struct buf entry, base, target; /* entry: the delta's, while it is applied */
	uint8_t *store_entry;		/* one entry read from the store */
	uint8_t *stored;		/* one chunk's frame */
	uint8_t *raw;			/* one chunk read from the store */
	int pack_fd;
	int64_t pack_id;
	struct pack_writer *pw;
	uint64_t batch_bytes;
	bool (*should_stop)(void *ctx);
	size_t want;	  /* the stored length of the delta being read */
	unsigned retries; /* this phase's, at most FETCH_MAX_RETRIES */
	uint64_t jitter;  /* backoff state (fetch_backoff_sleep) */
	bool *gave_up;	  /* per source: its delta reads failed for good */
};

static void say(struct applier *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct applier *a, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!a->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	a->log(line, a->ctx);
}

/* ---- storing chunks (fetch.c's rules) ------------------------------------ */

static int commit_batch(struct applier *a)
{
	a->batch_bytes = 0;
	return store_pack_commit(a->st, &a->pw);
}

static int store_chunk(struct applier *a, const struct sha256 *id, const uint8_t *raw,
		       uint32_t raw_len)
{
	const uint8_t *payload;
	size_t stored_len;
	uint8_t type;
	int r = pack_chunk_encode(&type, &payload, &stored_len, a->codec, a->stored,
				  LIMIT_CHUNK_MAX, raw, raw_len);

	if (r < 0)
		return r;
	if (a->pw && !pack_writer_fits(a->pw, stored_len)) {
		r = commit_batch(a);
		if (r < 0)
			return r;
	}
	if (!a->pw) {
		AUTO_FREE char *packs = store_path(a->st, REPO_PACKS_DIR);

		r = packs ? pack_writer_new(&a->pw, packs, 0) : -ENOMEM;
		if (r < 0)
			return r;
	}
	r = pack_writer_add(a->pw, id, type, payload, stored_len, raw_len);
	if (r == -EEXIST) { /* the same chunk twice among this batch's deltas */
		err_clear();
		return 0;
	}
	if (r < 0)
		return r;
	a->stats->chunks++;
	a->stats->bytes_written += stored_len;
	a->batch_bytes += stored_len;
	return a->batch_bytes >= FETCH_BATCH_BYTES ? commit_batch(a) : 0;
}

/* ---- the base, from the store ------------------------------------------- */

static int read_store_chunk(struct applier *a, const struct chunk_ref *ref)
{
	struct db_chunk ch;
	struct pack_entry e;
	const uint8_t *payload;
	int r = db_chunk_find(&ch, a->st->db, &ref->id);

	if (r == 0 && ch.pack != a->pack_id) {
		AUTO_FREE char *packs = store_path(a->st, REPO_PACKS_DIR);
		AUTO_FREE char *path = NULL;
		struct db_pack p;

		r = db_pack_get(&p, a->st->db, ch.pack);
		if (r == 0)
			r = packs ? pack_path_make(&path, packs, &p.name, PACK_SUFFIX) : -ENOMEM;
		if (r == 0) {
			if (a->pack_fd >= 0)
				close(a->pack_fd);
			a->pack_fd = open(path, O_RDONLY | O_CLOEXEC);
			a->pack_id = a->pack_fd >= 0 ? ch.pack : -1;
			r = a->pack_fd >= 0 ? 0 : err_set(-errno, "%s: cannot open", path);
		}
	}
	if (r == 0 && (ch.raw_len != ref->raw_len || ch.stored_len > LIMIT_CHUNK_MAX))
		r = err_set(-EBADMSG, "the store's index disagrees with the release");
	if (r == 0)
		r = fs_pread_all(a->pack_fd, a->store_entry, PACK_ENTRY_HEADER_LEN + ch.stored_len,
				 ch.offset);
	if (r == 0)
		r = pack_entry_parse(&e, &payload, a->store_entry,
				     PACK_ENTRY_HEADER_LEN + ch.stored_len);
	if (r >= 0 && memcmp(e.id.b, ref->id.b, SHA256_LEN) != 0)
		r = err_set(-EBADMSG, "a store entry is not the chunk its index names");
	if (r >= 0)
		r = pack_entry_decode(a->raw, LIMIT_CHUNK_MAX, &e, payload, a->codec);
	if (r >= 0)
		r = buf_append(&a->base, a->raw, e.raw_len);
	return r < 0 ? r : 0;
}

static int rebuild_base(struct applier *a, const struct mf_pointer *p)
{
	struct sha256 got;
	int r = 0;

	buf_reset(&a->base);
	if (p->size > LIMIT_DELTA_FILE_BYTES)
		return err_set(-EFBIG, "base of %llu bytes", (unsigned long long)p->size);
	for (size_t i = 0; r == 0 && i < p->nchunks; i++)
		r = read_store_chunk(a, &p->chunks[i]);
	if (r < 0)
		return r;
	sha256_buf(&got, a->base.data, a->base.len);
	if (a->base.len != p->size || memcmp(got.b, p->hash.b, SHA256_LEN) != 0)
		return err_set(-EBADMSG, "the older version rebuilt from the store does not match "
					 "its hash");
	return 0;
}

/* ---- the delta, from the source ----------------------------------------- */

/* Appends what arrives, refusing bytes past the delta's stored length. */
static int entry_sink(const void *p, size_t n, void *ctx)
{
	struct applier *a = ctx;

	if (n > a->want - a->entry.len)
		return err_set(-EBADMSG, "the source sent more than the delta's length");
	return buf_append(&a->entry, p, n);
}

/* True for a failure of the link, which a retry may mend: not one of the
 * store's, a stop, a refused source, or bytes that are wrong rather than
 * missing. */
static bool link_failure(int r)
{
	return r != -ENOMEM && r != -ENOSPC && r != -ECANCELED && r != -EKEYREJECTED &&
	       r != -EBADMSG;
}

static bool stopping(struct applier *a)
{
	return a->should_stop && a->should_stop(a->ctx);
}

/* Reads the delta's stored bytes into a->entry, keeping what arrived when
 * the link fails and asking only for the rest (fetch.c's rules: see the
 * header comment).  0, -ECANCELED when the run is to stop, or the last
 * error of the read. */
static int read_delta(struct applier *a, const struct plan_delta *d, const char *hex)
{
	struct source *src = &a->src[d->source];
	uint64_t at = d->at.offset + PACK_ENTRY_HEADER_LEN;
	unsigned fails = 0;
	int r;

	buf_reset(&a->entry);
	a->want = d->at.stored_len;
	for (;;) {
		size_t had = a->entry.len;

		r = source_read_pack(src, d->pack, at + had, a->want - had, entry_sink, a);
		if (r == 0 && a->entry.len < a->want)
			r = err_set(-EPIPE, "the read ended after %zu of %zu bytes", a->entry.len,
				    a->want);
		if (r == 0 || !link_failure(r))
			return r;
		fails = a->entry.len > had ? 0 : fails + 1;
		if (fails == FETCH_ATTEMPTS || a->retries == FETCH_MAX_RETRIES) {
			a->gave_up[d->source] = true;
			return r;
		}
		if (stopping(a))
			return -ECANCELED;
		a->retries++;
		say(a, "%s: delta %.16s: %s; retrying from byte %llu (%u in a row, %u this run)",
		    src->url, hex, err_text(r), (unsigned long long)(at + a->entry.len), fails + 1,
		    a->retries);
		err_clear();
		fetch_backoff_sleep(&a->jitter, fails);
	}
}

/* Reads only the delta's stored bytes, [offset + 44, offset + 44 +
 * stored_len): its type and sizes come from the index (checked against the
 * signed meta/deltas when it was chosen) and its bytes are checked against
 * its ID, so the entry header would add nothing but 44 bytes per delta. */
static int fetch_delta(struct applier *a, const struct plan_delta *d, const char *hex,
		       const uint8_t **payload)
{
	int r = 0;

	if (d->at.type != PACK_ENTRY_DELTA || d->at.raw_len != d->target.size ||
	    memcmp(d->at.id.b, d->id.b, SHA256_LEN) != 0 || d->at.stored_len > LIMIT_DELTA_BYTES)
		r = err_set(-EBADMSG, "the source's index does not list the delta as chosen");
	if (r == 0)
		r = read_delta(a, d, hex);
	if (r == 0)
		r = pack_delta_check(&d->at, a->entry.data);
	*payload = a->entry.data;
	return r;
}

/* ---- applying ------------------------------------------------------------ */

/* Cuts the target at its chunk lengths and checks every chunk; nothing is
 * stored unless the whole file verifies. */
static int check_target(struct applier *a, const struct mf_pointer *t)
{
	struct sha256 got;
	uint64_t off = 0;

	sha256_buf(&got, a->target.data, t->size);
	if (memcmp(got.b, t->hash.b, SHA256_LEN) != 0)
		return err_set(-EBADMSG, "the patched file does not match its release hash");
	for (size_t i = 0; i < t->nchunks; i++) {
		if (t->chunks[i].raw_len > t->size - off)
			return err_set(-EBADMSG, "chunk lengths run past the file");
		sha256_buf(&got, a->target.data + off, t->chunks[i].raw_len);
		if (memcmp(got.b, t->chunks[i].id.b, SHA256_LEN) != 0)
			return err_set(-EBADMSG,
				       "a chunk of the patched file does not match its ID");
		off += t->chunks[i].raw_len;
	}
	return off == t->size ? 0 : err_set(-EBADMSG, "chunk lengths do not add up to the file");
}

/* Stores the target's chunks the store lacks and marks them done. */
static int store_target(struct applier *a, const struct mf_pointer *t)
{
	uint64_t off = 0;
	int r = 0;

	for (size_t i = 0; r == 0 && i < t->nchunks; i++) {
		const struct chunk_ref *c = &t->chunks[i];
		struct plan_chunk *pc = plan_find(a->p, &c->id);

		if (db_chunk_find(NULL, a->st->db, &c->id) < 0 && !(pc && pc->done))
			r = store_chunk(a, &c->id, a->target.data + off, c->raw_len);
		if (r == 0 && pc)
			pc->done = true;
		off += c->raw_len;
	}
	return r;
}

/* Only the store's own failures are returned; a bad delta is dropped, an
 * unreadable one too once its retries are spent (and the source's other
 * deltas with it), and a stop leaves the delta for fetch_plan(). */
static int apply_one(struct applier *a, struct plan_delta *d)
{
	const uint8_t *payload = NULL;
	char hex[2 * SHA256_LEN + 1];
	int r;

	hex_encode(hex, d->id.b, SHA256_LEN);
	if (a->gave_up[d->source]) {
		say(a, "delta %.16s from %s dropped (%s); fetching its chunks instead", hex,
		    a->src[d->source].url, "its earlier delta reads failed");
		a->stats->failed++;
		return 0;
	}
	r = fetch_delta(a, d, hex, &payload);
	if (r == 0)
		r = rebuild_base(a, &d->base);
	if (r == 0) {
		buf_reset(&a->target);
		r = buf_reserve(&a->target, (size_t)d->target.size);
	}
	if (r == 0)
		r = codec_delta_apply(a->codec, a->target.data, (size_t)d->target.size,
				      a->base.data, a->base.len, payload, d->at.stored_len);
	if (r == 0)
		r = check_target(a, &d->target);
	if (r == -ENOMEM || r == -ENOSPC || r == -ECANCELED)
		return r;
	if (r < 0) {
		say(a, "delta %.16s from %s dropped (%s); fetching its chunks instead", hex,
		    a->src[d->source].url, err_detail());
		a->stats->failed++;
		err_clear();
		return 0;
	}
	r = store_target(a, &d->target);
	if (r < 0)
		return r;
	d->done = true;
	a->stats->applied++;
	return 0;
}

int delta_apply_plan(struct delta_apply_stats *out, struct plan_deltas *pd, struct plan *p,
		     struct store *st, struct source *src, size_t nsrc,
		     bool (*should_stop)(void *ctx), void (*log)(const char *line, void *ctx),
		     void *ctx)
{
	struct applier a = {.pd = pd,
			    .p = p,
			    .st = st,
			    .src = src,
			    .stats = out,
			    .log = log,
			    .ctx = ctx,
			    .should_stop = should_stop,
			    .pack_fd = -1,
			    .pack_id = -1};
	int r;

	memset(out, 0, sizeof(*out));
	if (pd->n == 0)
		return 0;
	buf_init(&a.entry, PACK_ENTRY_HEADER_LEN + LIMIT_DELTA_BYTES);
	buf_init(&a.base, LIMIT_DELTA_FILE_BYTES);
	buf_init(&a.target, LIMIT_DELTA_FILE_BYTES);
	a.stored = mem_alloc(LIMIT_CHUNK_MAX);
	a.raw = mem_alloc(LIMIT_CHUNK_MAX);
	a.store_entry = mem_alloc(PACK_ENTRY_HEADER_LEN + LIMIT_CHUNK_MAX);
	/* plan_find(): the plan's chunks are sorted by ID */
	a.gave_up = mem_calloc(nsrc ? nsrc : 1, sizeof(*a.gave_up));
	r = -ENOMEM;
	if (a.stored && a.raw && a.store_entry && a.gave_up)
		r = codec_new(&a.codec, CODEC_LEVEL_DEFAULT);
	for (size_t i = 0; r == 0 && i < pd->n; i++) {
		struct plan_delta *d = &pd->d[i];

		if (d->done || d->source < 0 || (size_t)d->source >= nsrc || !src[d->source].usable)
			continue;
		r = stopping(&a) ? -ECANCELED : apply_one(&a, d);
	}
	/* A stop leaves the rest to fetch_plan(), which asks should_stop too. */
	if (r == -ECANCELED) {
		err_clear();
		r = 0;
	}
	if (r == 0)
		r = commit_batch(&a);
	pack_writer_free(a.pw);
	if (a.pack_fd >= 0)
		close(a.pack_fd);
	codec_free(a.codec);
	buf_release(&a.entry);
	buf_release(&a.base);
	buf_release(&a.target);
	mem_free(a.stored);
	mem_free(a.raw);
	mem_free(a.store_entry);
	mem_free(a.gave_up);
	return r;
}
