/*
 * fetch.c — reading planned ranges, verifying and storing chunks
 * (see fetch.h).
 */
#include "sync/fetch.h"
#include "sync/fetch_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/codec_text.h"
#include "core/limits.h"
#include "core/mem.h"
#include "manifests/repo.h"
#include "packager/codec.h"
#include "packager/pack_format.h"
#include "packager/pack_list.h"

/* The state of one request's byte stream. */
struct stream {
	struct fetch *f;
	const struct plan_request *rq;
	uint64_t pos;   /* pack offset of the next byte to arrive */
	size_t next;    /* next wanted chunk, within the request */
	struct buf entry;
	int bad;        /* a chunk failed verification */
};

void fetch_progress(struct fetch *f)
{
	if (f->o && f->o->progress)
		f->o->progress(f->done_bytes, f->total_bytes, f->o->ctx);
}

void fetch_log(struct fetch *f, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!f->o || !f->o->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	f->o->log(line, f->o->ctx);
}

/* Finishes the pack being written and records its chunks: data first
 * (fsync, rename), then the index in one transaction. */
static int commit_batch(struct fetch *f)
{
	f->batch_bytes = 0;
	return store_pack_commit(f->st, &f->pw);
}

bool fetch_stopping(struct fetch *f)
{
	return f->o && f->o->should_stop && f->o->should_stop(f->o->ctx);
}

static int store_chunk(struct fetch *f, const struct pack_entry *e, const uint8_t *payload)
{
	AUTO_FREE char *packs = NULL;
	int r;

	if (f->pw && !pack_writer_fits(f->pw, e->stored_len)) {
		r = commit_batch(f);
		if (r < 0)
			return r;
	}
	if (!f->pw) {
		packs = store_path(f->st, REPO_PACKS_DIR);
		r = packs ? pack_writer_new(&f->pw, packs, 0) : -ENOMEM;
		if (r < 0)
			return r;
	}
	r = pack_writer_add(f->pw, &e->id, e->type, payload, e->stored_len, e->raw_len);
	if (r < 0)
		return r;
	f->stats->chunks++;
	f->stats->bytes_written += e->stored_len;
	f->batch_bytes += e->stored_len;
	if (f->batch_bytes >= FETCH_BATCH_BYTES)
		return commit_batch(f);
	return 0;
}

/* One whole entry has arrived for chunk c: check, decode, verify, store. */
static int take_entry(struct stream *s, struct plan_chunk *c)
{
	struct fetch *f = s->f;
	struct pack_entry e;
	const uint8_t *payload;
	char hex[2 * SHA256_LEN + 1];
	int r = pack_entry_parse(&e, &payload, s->entry.data, s->entry.len);

	if (r >= 0 && (memcmp(e.id.b, c->id.b, SHA256_LEN) != 0 || e.raw_len != c->raw_len))
		r = -EBADMSG;
	if (r >= 0)
		r = pack_entry_decode(f->raw, LIMIT_CHUNK_MAX, &e, payload, f->codec);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		hex_encode(hex, c->id.b, SHA256_LEN);
		fetch_log(f, "%s served a chunk that does not verify (%.16s…): not using it again",
		      f->src[c->source].url, hex);
		f->stats->bad_chunks++;
		s->bad = -EBADMSG;
		return -EBADMSG;
	}
	r = store_chunk(f, &e, payload);
	if (r < 0)
		return r;
	c->done = true;
	f->done_bytes += c->stored_len;
	fetch_progress(f);
	/* Just committed a batch (or wrote nothing yet): a clean place to stop. */
	if (f->batch_bytes == 0 && fetch_stopping(f))
		return err_set(-ECANCELED, "stopped at a batch boundary");
	return 0;
}

static int stream_sink(const void *data, size_t n, void *ctx)
{
	struct stream *s = ctx;
	const uint8_t *p = data;

	while (n) {
		struct plan_chunk *c;
		uint64_t start, end;
		size_t take;
		int r;

		if (s->next == s->rq->count) {
			s->pos += n; /* coalesced tail: read past, unused */
			return 0;
		}
		c = &s->f->p->chunks[s->f->p->order[s->rq->first + s->next]];
		start = c->at.offset;
		end = start + PACK_ENTRY_HEADER_LEN + c->at.stored_len;
		if (s->pos < start) {
			take = start - s->pos < n ? (size_t)(start - s->pos) : n;
		} else {
			take = end - s->pos < n ? (size_t)(end - s->pos) : n;
			r = buf_append(&s->entry, p, take);
			if (r < 0)
				return r;
		}
		s->pos += take;
		p += take;
		n -= take;
		if (s->pos == end) {
			r = c->done ? 0 : take_entry(s, c);
			buf_reset(&s->entry);
			s->next++;
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Sleeps FETCH_BACKOFF_MS << fails, times [0.5, 1.5) from *jitter. */
void fetch_backoff_sleep(uint64_t *jitter, unsigned fails)
{
	uint64_t ms = (uint64_t)FETCH_BACKOFF_MS << (fails < 8 ? fails : 8);
	struct timespec ts;

	if (!*jitter) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		*jitter = ((uint64_t)ts.tv_nsec << 16 ^ (uint64_t)getpid()) | 1;
	}
	*jitter ^= *jitter << 13;
	*jitter ^= *jitter >> 7;
	*jitter ^= *jitter << 17;
	ms = ms / 2 + *jitter % ms;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void fetch_backoff(struct fetch *f, unsigned fails)
{
	fetch_backoff_sleep(&f->jitter, fails);
}

/* Where the next attempt starts: inside the entry in flight when part of
 * it arrived (the stream keeps those bytes), else at the next wanted
 * entry. */
static uint64_t resume_at(struct stream *s)
{
	uint64_t start = s->f->p->chunks[s->f->p->order[s->rq->first + s->next]].at.offset;

	if (s->pos > start && s->entry.len == s->pos - start)
		return s->pos;
	buf_reset(&s->entry);
	s->pos = start;
	return start;
}

/* Reads one request; on a link failure, asks again for what is left. */
static int run_request(struct fetch *f, const struct plan_request *rq)
{
	struct source *src = &f->src[rq->source];
	struct stream s = { .f = f, .rq = rq, .pos = rq->off };
	unsigned fails = 0;
	int r = -EIO;

	buf_init(&s.entry, PACK_ENTRY_HEADER_LEN + LIMIT_CHUNK_MAX + 64);
	while (src->usable) {
		uint64_t off;

		while (s.next < rq->count &&
		       f->p->chunks[f->p->order[rq->first + s.next]].done)
			s.next++;
		if (s.next == rq->count) {
			r = 0;
			break;
		}
		off = resume_at(&s);
		r = source_read_pack(src, rq->pack, off, rq->off + rq->len - off, stream_sink, &s);
		if (r == 0 || s.bad || r == -ENOMEM || r == -EKEYREJECTED || r == -ENOSPC ||
		    r == -ECANCELED)
			break;
		fails = s.pos > off ? 0 : fails + 1;
		if (fails == FETCH_ATTEMPTS || f->retries == FETCH_MAX_RETRIES)
			break;
		f->retries++;
		fetch_log(f, "%s: %s; retrying from byte %llu (%u in a row, %u this run)", src->url,
		      err_text(r), (unsigned long long)s.pos, fails + 1, f->retries);
		fetch_backoff(f, fails);
	}
	if (s.bad)
		src->usable = false;
	else if (r < 0 && r != -ENOMEM && r != -ENOSPC && r != -ECANCELED) {
		fetch_log(f, "%s: giving up on it for this run; trying other sources", src->url);
		src->usable = false;
	}
	buf_release(&s.entry);
	return r;
}

/* One batch of the plan: each round reads what is located; chunks a
 * failing source kept are located again among the sources still usable. */
static int fetch_batch(struct fetch *f)
{
	struct plan *p = f->p;
	int r = 0;

	for (unsigned round = 0; r == 0 && round <= f->nsrc; round++) {
		r = plan_locate(p, f->src, f->nsrc);
		if (r == 0 && round == 0) {
			f->stats->unlocated += p->unlocated;
			fetch_log(f, "plan: batch %u: %zu chunks, %llu offered by no source",
				  p->batches, p->n, (unsigned long long)p->unlocated);
		}
		if (r == 0)
			r = plan_requests(p);
		if (r < 0 || p->nreqs == 0)
			break;
		for (size_t i = 0; r == 0 && i < p->nreqs; i++) {
			int e = fetch_stopping(f) ? -ECANCELED : run_request(f, &p->reqs[i]);

			/* Link and source failures are handled by the next round;
			 * only the store's own failures, or a stop, end the run. */
			if (e == -ENOMEM || e == -ENOSPC || e == -ECANCELED)
				r = e;
		}
	}
	return r;
}

int fetch_plan(struct fetch_stats *out, struct plan *p, struct store *st, struct source *src,
	       size_t nsrc, const struct fetch_opts *o)
{
	struct fetch f = { .p = p, .st = st, .src = src, .nsrc = nsrc, .o = o, .stats = out };
	int r;

	memset(out, 0, sizeof(*out));
	f.raw = mem_alloc(LIMIT_CHUNK_MAX);
	r = f.raw ? codec_new(&f.codec, 3) : -ENOMEM;
	if (r == 0)
		r = vpool_new(&f.pool, 0);
	f.total_bytes = p->stored_bytes;
	/* Whole packs first: they are copied as they are, not re-packed. */
	if (r == 0 && p->total)
		r = fetch_adopt_packs(&f);
	/* Then the rest, a batch at a time; a chunk stored meanwhile is in no
	 * later batch. */
	p->next_seq = 0;
	while (r == 0) {
		if (fetch_stopping(&f)) {
			r = -ECANCELED;
			break;
		}
		r = plan_next_batch(p);
		if (r <= 0)
			break;
		out->batches++;
		r = fetch_batch(&f);
	}
	if (r == 0 || r == -ECANCELED) {
		int e = commit_batch(&f);

		if (e == 0)
			e = db_plan_left(&out->missing_chunks, &out->missing_bytes, st->db);
		r = e < 0 ? e : r;
	}
	pack_writer_free(f.pw);
	vpool_free(f.pool);
	codec_free(f.codec);
	mem_free(f.raw);
	return r;
}
