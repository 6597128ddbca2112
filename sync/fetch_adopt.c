/*
 * fetch_adopt.c — taking a source's pack whole, as it is.
 *
 * When a plan needs every chunk of a source's pack (a first import from a
 * stick, a new subject), re-packing the chunks one by one would only cost
 * time: the pack, named by the SHA-256 of its bytes, can become one of the
 * store's own packs unchanged.  A pack the release's signed list does not
 * name (see "Signed packs" below for one it does) is streamed from the
 * source in segments of about ADOPT_SEGMENT_BYTES (whole entries each)
 * and, for each segment, checked on the verify pool's threads at once:
 *
 *   - every entry: its header as the index says, its payload decoding to
 *     its raw length and hashing to its chunk ID (pack_entry_decode);
 *   - the whole pack's running SHA-256, which must end equal to its name;
 *
 * and only then appends the segment to a partial file,
 * STORE/local/partial/<name>.pack.  The pack's own header and trailing
 * index are checked against the index the plan used (pack_index_same).
 * Once the last byte is in, the file is fsynced, renamed into
 * packs/<xx>/<name>.pack, given its .idx, and its chunks are entered into
 * the database in one transaction — the same contract as fetch.h: data
 * durable first, then the index.
 *
 * Resume.  The partial file holds only bytes already verified, cut at entry
 * boundaries, so a run killed at any moment keeps all but the segment in
 * flight: the next run (from this source or any other offering the same
 * pack name) re-hashes the prefix from the local disk, cuts a torn tail
 * back to the last entry boundary, and asks the source only for the rest.
 * After a power cut the unsynced tail may hold anything; the final check
 * of the whole file against the pack's name catches that, and the file is
 * then dropped and fetched again.  A pack renamed into place whose rows
 * were not yet committed is found by its name, re-hashed locally, and
 * committed without reading the source again.
 *
 * Signed packs.  A pack whose name and size the release's signed
 * meta/packs lists (fetch_signed.c) needs no entry-by-entry check: its name
 * is the SHA-256 of its bytes and the list is under the publisher's
 * signature, so a file of that size hashing to that name IS the
 * publisher's pack, and every chunk in it is too.  whole_run() streams it in
 * ADOPT_SEGMENT_BYTES reads, each piece appended at once to the partial
 * file (a kill loses at most the piece in flight), and hashes it in
 * ADOPT_WHOLE_SEGMENT segments: the verify pool hashes segment i on one
 * thread while segment i + 1 is read and written on the other.  At the end
 * the hash must equal the name; then the pack's header and trailing index
 * are read back from the local file and must match the .idx (which came
 * from the source: the chunk rows are entered from it).  A pack that does
 * not hash to its name is deleted and its source named and not used again;
 * its chunks come from elsewhere through the ranged fetch.  Checked packs
 * wait in a small list (struct adopt_pending) and are made durable
 * together — one pass of fsyncs, then rename and .idx for each, then one
 * transaction for all their chunk rows — so the disk is waited for once
 * per batch, not once per pack.
 *
 * Resume of a signed pack: the partial file's prefix is not known to be
 * good until the last byte is hashed.  The next run re-hashes whatever is
 * there and reads only the rest; if the whole then does not match, the
 * file is dropped and the pack read once more from the start, so a damaged
 * prefix (a power cut) costs one re-read of the pack, never bad data
 * stored: nothing is renamed into packs/ or recorded before the hash of the
 * whole file matches.  Only a fresh read that does not match blames the
 * source.  The entry-by-entry path may resume such a file too: it re-hashes
 * the prefix and, like every adoption, keeps the file only if the whole
 * hashes to the name — which a prefix written here can only do if it was
 * the publisher's bytes.
 */
#define _GNU_SOURCE
#include "sync/fetch_int.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/codec_text.h"
#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "manifests/repo.h"
#include "packager/pack_format.h"
#include "packager/pack_list.h"

/* What one read from the source asks for: small, because a kill loses
 * what was read and not yet written. */
#define ADOPT_SEGMENT_BYTES (256u << 10)
#define ADOPT_PARTIAL_DIR STORE_PARTIAL_DIR
#define ADOPT_LOCAL_PIECE (1u << 20)
/* A signed pack is hashed in segments this large on one core while the
 * next segment is read and written on the other. */
#define ADOPT_WHOLE_SEGMENT (4u << 20)

struct adopt {
	struct fetch *f;
	struct source *src;
	const struct pack_index *idx;
	const struct sha256 *name;
	size_t n;
	uint64_t size, index_off;
	struct sha256_ctx *sha;
	int fd;
	struct buf seg;
	uint64_t seg_off;   /* pack offset of seg.data[0] */
	size_t first;        /* the first entry (offset order) not yet settled */
	size_t take;         /* bytes of seg being settled */
	bool blame;          /* the failure is the source's */
	bool bad_data;       /* ... and it served bytes that do not verify */
	bool store_err;      /* writing into the store failed */
	bool resumed;        /* a prefix came from an earlier run */
	/* A pack the release's signed meta/packs lists (whole_run): */
	bool whole;
	uint8_t *wbuf[2];    /* ADOPT_WHOLE_SEGMENT each: one filling, one hashing */
	size_t wlen[2];
	unsigned wfill;      /* the buffer being filled */
	size_t wnext;        /* how many bytes the filling asks for */
	uint64_t wpos;       /* bytes of the pack in the partial file */
	uint64_t wcredit;    /* progress already counted for this pack */
	uint64_t wwant;      /* the stored bytes of its chunks (progress) */
	const char *at;      /* the file holding it: the partial file, or packs/ */
};

/* Signed packs whose bytes are all in and checked, waiting to be made
 * durable together: one pass of fsyncs over several packs waits for the
 * disk once, not once per pack. */
#define ADOPT_PENDING_MAX 32u
#define ADOPT_PENDING_BYTES (1ull << 30)
/* Each pending pack keeps its index in memory until it is recorded: with
 * small chunks a 64 MiB pack has tens of thousands of entries, so the
 * entries waiting are bounded too (about 4 MiB of index). */
#define ADOPT_PENDING_ENTRIES 65536u

struct adopt_pending {
	struct adopt a[ADOPT_PENDING_MAX];
	char *paths[ADOPT_PENDING_MAX][3]; /* the partial file, packs/ path, .idx */
	size_t n;
	uint64_t bytes;
	size_t entries; /* of the pending packs' indexes */
};

static uint64_t entry_off(const struct adopt *a, size_t k)
{
	struct pack_entry e;

	if (k >= a->n)
		return a->index_off;
	pack_index_get_by_offset(&e, a->idx, k);
	return e.offset;
}

/* Task 0 hashes the bytes into the pack's running hash; task i > 0
 * checks entry first + i - 1. */
static int verify_task(struct vpool_worker *w, size_t i, void *ctx)
{
	struct adopt *a = ctx;
	struct pack_entry e, h;
	const uint8_t *payload;
	char hex[2 * SHA256_LEN + 1];
	int r;

	if (i == 0) {
		sha256_ctx_update(a->sha, a->seg.data, a->take);
		return 0;
	}
	pack_index_get_by_offset(&e, a->idx, a->first + i - 1);
	r = pack_entry_parse(&h, &payload, a->seg.data + (e.offset - a->seg_off),
			     PACK_ENTRY_HEADER_LEN + (size_t)e.stored_len);
	if (r >= 0 && (memcmp(h.id.b, e.id.b, SHA256_LEN) != 0 || h.stored_len != e.stored_len ||
		       h.raw_len != e.raw_len || h.type != e.type))
		r = -EBADMSG;
	if (r >= 0)
		r = pack_entry_decode(w->raw, LIMIT_CHUNK_MAX, &h, payload, w->codec);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		hex_encode(hex, e.id.b, SHA256_LEN);
		return err_set(-EBADMSG,
			       "%s served a chunk that does not verify (%.16s…): not using it again",
			       a->src->url, hex);
	}
	return 0;
}

static bool header_ok(const uint8_t *p)
{
	return memcmp(p + PACK_HDR_MAGIC, PACK_MAGIC, PACK_MAGIC_LEN) == 0 &&
	       get_le32(p + PACK_HDR_VERSION) == PACK_VERSION && get_le32(p + PACK_HDR_FLAGS) == 0;
}

/* The pack's own index and footer (a->take bytes of seg) must say what the
 * .idx said. */
static int check_tail(struct adopt *a)
{
	struct pack_index *tail = NULL;
	int r = pack_index_parse_tail(&tail, a->seg.data, a->take, a->size, a->name);

	if (r == 0 && !pack_index_same(tail, a->idx))
		r = err_set(-EBADMSG, "%s: a pack's own index differs from its .idx", a->src->url);
	pack_index_free(tail);
	if (r == 0)
		sha256_ctx_update(a->sha, a->seg.data, a->take);
	return r;
}

/* Verifies and appends the first a->take bytes of seg, then keeps the rest
 * (an entry not yet whole) at its front. */
static int settle(struct adopt *a, size_t upto)
{
	int r;

	if (a->seg_off == 0 && !header_ok(a->seg.data)) {
		a->bad_data = true;
		return err_set(-EBADMSG, "%s: a pack's header is not a ferry pack's", a->src->url);
	}
	if (a->first < a->n) {
		r = vpool_run(a->f->pool, upto - a->first + 1, verify_task, a);
		for (size_t i = a->first; r == 0 && i < upto; i++) {
			struct pack_entry e;

			pack_index_get_by_offset(&e, a->idx, i);
			a->f->done_bytes += e.stored_len;
		}
	} else {
		r = check_tail(a);
	}
	a->bad_data = r == -EBADMSG;
	if (r == 0) {
		r = fs_write_all(a->fd, a->seg.data, a->take);
		a->store_err = r < 0;
	}
	if (r < 0)
		return r;
	/* Start writeback now: the fsync at the end then has little left. */
	(void)sync_file_range(a->fd, (off_t)a->seg_off, (off_t)a->take, SYNC_FILE_RANGE_WRITE);
	memmove(a->seg.data, a->seg.data + a->take, a->seg.len - a->take);
	a->seg.len -= a->take;
	a->seg_off += a->take;
	a->first = upto;
	fetch_progress(a->f);
	return 0;
}

/* Bytes arrive in order from a->seg_off + a->seg.len on; every whole
 * entry is checked and written as soon as the piece completing it is in,
 * so a kill loses at most one piece and one partial entry. */
static int sink_stream(const void *p, size_t n, void *ctx)
{
	struct adopt *a = ctx;
	uint64_t have;
	size_t k;
	int r = buf_append(&a->seg, p, n);

	if (r < 0)
		return r;
	have = a->seg_off + a->seg.len;
	for (k = a->first; k < a->n && entry_off(a, k + 1) <= have; k++)
		;
	if (k > a->first) {
		a->take = (size_t)(entry_off(a, k) - a->seg_off);
		r = settle(a, k);
		if (r < 0)
			return r;
	}
	if (a->first == a->n && have >= a->size && a->seg_off < a->size) {
		a->take = (size_t)(a->size - a->seg_off);
		return settle(a, a->n);
	}
	return 0;
}

/* Streams the pack from byte pos (an entry boundary) to its end, in reads
 * of ADOPT_SEGMENT_BYTES; a failed read keeps what it delivered, and the
 * next asks for what follows. */
static int copy_rest(struct adopt *a, uint64_t pos, size_t k)
{
	unsigned failures = 0;
	int r = 0;

	a->seg_off = pos;
	a->first = k;
	buf_reset(&a->seg);
	while (a->seg_off < a->size) {
		uint64_t from = a->seg_off + a->seg.len;
		uint64_t len = a->size - from < ADOPT_SEGMENT_BYTES ? a->size - from
								     : ADOPT_SEGMENT_BYTES;

		if (len == 0) {
			r = err_set(-EBADMSG, "%s: a pack read ended early", a->src->url);
			break;
		}
		/* Between segments is a clean place to stop: what arrived is
		 * verified and stays in local/partial for the next run. */
		if (fetch_stopping(a->f)) {
			r = err_set(-ECANCELED, "stopped between reads");
			break;
		}
		r = source_read_pack(a->src, a->name, from, len, sink_stream, a);
		if (r == 0)
			continue;
		if (a->bad_data || a->store_err || r == -ENOMEM || r == -EKEYREJECTED ||
		    r == -EBADMSG || r == -ENOSPC)
			break;
		/* as fetch.c: an attempt that brought bytes resets the count */
		failures = a->seg_off + a->seg.len > from ? 0 : failures + 1;
		if (failures == FETCH_ATTEMPTS || a->f->retries == FETCH_MAX_RETRIES)
			break;
		a->f->retries++;
		fetch_log(a->f, "%s: %s; retrying from byte %llu (%u in a row, %u this run)",
			  a->src->url, err_text(r), (unsigned long long)(a->seg_off + a->seg.len),
			  failures + 1, a->f->retries);
		fetch_backoff(a->f, failures);
	}
	if (r < 0 && !a->store_err && r != -ENOMEM && r != -ENOSPC && r != -ECANCELED)
		a->blame = true;
	return r;
}

/* Hashes the first len bytes of the local file fd into a->sha. */
static int rehash(struct adopt *a, int fd, uint64_t len)
{
	AUTO_FREE uint8_t *b = len ? mem_alloc(ADOPT_LOCAL_PIECE) : NULL;

	if (len && !b)
		return -ENOMEM;
	for (uint64_t off = 0; off < len;) {
		size_t want = len - off < ADOPT_LOCAL_PIECE ? (size_t)(len - off) : ADOPT_LOCAL_PIECE;
		int r = fs_pread_all(fd, b, want, off);

		if (r < 0)
			return r;
		sha256_ctx_update(a->sha, b, want);
		off += want;
	}
	return 0;
}

/* The largest entry boundary at or below size; *k the entry starting there. */
static uint64_t resume_point(const struct adopt *a, uint64_t size, size_t *k)
{
	size_t lo = 0, hi = a->n;

	*k = a->n;
	if (size >= a->size)
		return a->size;
	if (size >= a->index_off)
		return a->index_off;
	if (size < PACK_HEADER_LEN) {
		*k = 0;
		return 0;
	}
	while (lo + 1 < hi) { /* entry_off(lo) <= size < entry_off(hi) */
		size_t mid = lo + (hi - lo) / 2;

		if (entry_off(a, mid) <= size)
			lo = mid;
		else
			hi = mid;
	}
	*k = lo;
	return entry_off(a, lo);
}

/* Enters the pack and its chunks into the database, inside the caller's
 * transaction. */
static int record_rows(struct adopt *a)
{
	struct db *db = a->f->st->db;
	int64_t id;
	int r = db_pack_add(&id, db, a->name, a->size, a->n, time(NULL));

	r = r > 0 ? 0 : r;
	for (size_t k = 0; r == 0 && k < a->n; k++) {
		struct pack_entry e;
		struct db_chunk c;

		pack_index_get_by_offset(&e, a->idx, k);
		c = (struct db_chunk){ .id = e.id, .pack = id, .offset = e.offset,
				       .stored_len = e.stored_len, .raw_len = e.raw_len,
				       .type = e.type };
		r = db_chunk_add(db, &c);
		r = r > 0 ? 0 : r;
	}
	return r;
}

/* Enters the packs a[0..n) and their chunks in one transaction. */
static int record(struct adopt *a, size_t n)
{
	struct db *db = a->f->st->db;
	int r = db_begin(db);

	for (size_t i = 0; r == 0 && i < n; i++)
		r = record_rows(&a[i]);
	if (r == 0)
		r = db_commit(db);
	else if (db_in_transaction(db))
		(void)db_rollback(db);
	return r;
}

/* The running hash of the whole file against the pack's name. */
static bool name_matches(struct adopt *a)
{
	struct sha256 got;

	sha256_ctx_final(a->sha, &got);
	return memcmp(got.b, a->name->b, SHA256_LEN) == 0;
}

/* The file at path holds the whole pack, its name checked: make it
 * durable and put it and its .idx in place (not yet recorded). */
static int place_files(struct adopt *a, const char *path, const char *final, const char *idxpath)
{
	struct buf ib;
	int r;

	if (fsync(a->fd) < 0)
		return err_set(-errno, "%s: %s", path, strerror(errno));
	r = fs_mkdir_parents(final, 0755);
	if (r == 0 && strcmp(path, final) != 0 && rename(path, final) < 0)
		r = err_set(-errno, "%s: %s", final, strerror(errno));
	/* No fsync of the folder here: the .idx beside the pack is written
	 * atomically just after, which fsyncs that same folder and so makes
	 * the rename durable too, before anything is recorded. */
	buf_init(&ib, PACK_IDX_MAX_BYTES);
	if (r == 0)
		r = pack_index_encode(&ib, a->idx);
	if (r == 0)
		r = fs_write_atomic(idxpath, ib.data, ib.len);
	buf_release(&ib);
	return r;
}

/* The same, and recorded in its own transaction. */
static int place(struct adopt *a, const char *path, const char *final, const char *idxpath)
{
	int r = place_files(a, path, final, idxpath);

	return r == 0 ? record(a, 1) : r;
}

/* The file at path holds the whole pack: check its name, put it and its
 * .idx in place, record it. */
static int install(struct adopt *a, const char *path, const char *final, const char *idxpath)
{
	if (!name_matches(a)) {
		(void)unlink(path);
		/* A prefix kept from a run cut by a power failure may be what
		 * is damaged: then the source is not to blame. */
		a->bad_data = !a->resumed;
		return err_set(-EBADMSG, "%s: a pack's bytes do not match its name", a->src->url);
	}
	return place(a, path, final, idxpath);
}

/* Opens the file to continue: a pack already in place but unrecorded, or
 * the partial file.  Sets *path to the one opened. */
static int open_target(struct adopt *a, const char **path, const char *part, const char *final)
{
	struct stat st;
	int r;

	a->fd = open(final, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (a->fd >= 0 && fstat(a->fd, &st) == 0 && (uint64_t)st.st_size == a->size) {
		*path = final;
		return 0;
	}
	if (a->fd >= 0) {
		close(a->fd);
		(void)unlink(final);
	}
	*path = part;
	r = fs_mkdir_parents(part, 0755);
	if (r < 0)
		return r;
	a->fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (a->fd < 0)
		return err_set(-errno, "%s: %s", part, strerror(errno));
	return 0;
}

/* ---- packs the signed meta/packs lists ---------------------------------- */

/* Receives a signed pack's bytes: each piece goes to the partial file at
 * once (a kill loses at most the piece in flight) and is kept for the
 * hashing thread. */
static int whole_sink(const void *p, size_t n, void *ctx)
{
	struct adopt *a = ctx;
	size_t *len = &a->wlen[a->wfill];
	int r;

	if (n > ADOPT_WHOLE_SEGMENT - *len)
		return err_set(-EPROTO, "%s: a read delivered more than was asked", a->src->url);
	r = fs_write_all(a->fd, p, n);
	if (r < 0) {
		a->store_err = true;
		return r;
	}
	memcpy(a->wbuf[a->wfill] + *len, p, n);
	*len += n;
	a->wpos += n;
	return 0;
}

/* Fills buffer a->wfill with the next a->wnext bytes of the pack, in reads
 * of ADOPT_SEGMENT_BYTES, retrying a failing link as copy_rest() does. */
static int whole_fill(struct adopt *a)
{
	uint64_t start = a->wpos, end = a->wpos + a->wnext;
	unsigned failures = 0;

	a->wlen[a->wfill] = 0;
	while (a->wpos < end) {
		uint64_t from = a->wpos;
		uint64_t len = end - from < ADOPT_SEGMENT_BYTES ? end - from : ADOPT_SEGMENT_BYTES;
		int r;

		if (fetch_stopping(a->f))
			return err_set(-ECANCELED, "stopped between reads");
		r = source_read_pack(a->src, a->name, from, len, whole_sink, a);
		if (r == 0 && a->wpos == from)
			r = err_set(-EBADMSG, "%s: a pack read ended early", a->src->url);
		if (r == 0) {
			failures = 0;
			continue;
		}
		if (a->store_err || r == -ENOMEM || r == -EKEYREJECTED || r == -EBADMSG ||
		    r == -ENOSPC || r == -EPROTO)
			return r;
		failures = a->wpos > from ? 0 : failures + 1;
		if (failures == FETCH_ATTEMPTS || a->f->retries == FETCH_MAX_RETRIES)
			return r;
		a->f->retries++;
		fetch_log(a->f, "%s: %s; retrying from byte %llu (%u in a row, %u this run)",
			  a->src->url, err_text(r), (unsigned long long)a->wpos, failures + 1,
			  a->f->retries);
		fetch_backoff(a->f, failures);
	}
	/* Start writeback now: the fsync at the end then has little left. */
	(void)sync_file_range(a->fd, (off_t)start, (off_t)(end - start), SYNC_FILE_RANGE_WRITE);
	return 0;
}

/* Task 0 hashes the buffer filled last; task 1 fills the other. */
static int whole_task(struct vpool_worker *w, size_t i, void *ctx)
{
	struct adopt *a = ctx;
	unsigned done = a->wfill ^ 1u;

	(void)w;
	if (i == 0) {
		sha256_ctx_update(a->sha, a->wbuf[done], a->wlen[done]);
		return 0;
	}
	return whole_fill(a);
}

static size_t whole_next(const struct adopt *a)
{
	uint64_t left = a->size - a->wpos;

	return left < ADOPT_WHOLE_SEGMENT ? (size_t)left : ADOPT_WHOLE_SEGMENT;
}

/* Counts the bytes now in the partial file as progress, in proportion to
 * the chunks' stored bytes the plan expects from this pack. */
static void whole_progress(struct adopt *a)
{
	uint64_t want = a->wwant, credit;

	credit = a->size ? (uint64_t)((double)want * (double)a->wpos / (double)a->size) : want;
	if (credit > a->wcredit) {
		a->f->done_bytes += credit - a->wcredit;
		a->wcredit = credit;
	}
	fetch_progress(a->f);
}

/* Streams the pack from a->wpos to its end into the partial file and the
 * running hash: segment i is hashed on one thread while segment i + 1 is
 * read and written on another. */
static int whole_copy(struct adopt *a)
{
	int r;

	a->wfill = 0;
	a->wlen[0] = a->wlen[1] = 0;
	a->wnext = whole_next(a);
	r = whole_fill(a);
	while (r == 0) {
		a->wfill ^= 1u;
		a->wnext = whole_next(a);
		whole_progress(a);
		if (a->wnext == 0) {
			unsigned done = a->wfill ^ 1u;

			sha256_ctx_update(a->sha, a->wbuf[done], a->wlen[done]);
			break;
		}
		r = vpool_run(a->f->pool, 2, whole_task, a);
	}
	if (r < 0 && !a->store_err && r != -ENOMEM && r != -ENOSPC && r != -ECANCELED)
		a->blame = true;
	return r;
}

/* The pack's header, and its own index and footer against the .idx the
 * chunks will be recorded from, read back from the local file: the hash
 * proved the bytes are the publisher's, but the .idx came from the source. */
static int whole_check_structure(struct adopt *a)
{
	uint8_t hdr[PACK_HEADER_LEN];
	size_t tail_len = (size_t)(a->size - a->index_off);
	AUTO_FREE uint8_t *tail = mem_alloc(tail_len);
	struct pack_index *own = NULL;
	int r;

	if (!tail)
		return -ENOMEM;
	r = fs_pread_all(a->fd, hdr, sizeof(hdr), 0);
	if (r == 0)
		r = fs_pread_all(a->fd, tail, tail_len, a->index_off);
	if (r < 0) {
		a->store_err = true;
		return r;
	}
	if (!header_ok(hdr))
		r = err_set(-EBADMSG, "%s: a signed pack's header is not a ferry pack's",
			    a->src->url);
	if (r == 0)
		r = pack_index_parse_tail(&own, tail, tail_len, a->size, a->name);
	if (r == 0 && !pack_index_same(own, a->idx))
		r = err_set(-EBADMSG, "%s: a pack's own index differs from its .idx", a->src->url);
	pack_index_free(own);
	a->bad_data = r == -EBADMSG;
	return r;
}

/* Opens (or reopens, after the file was dropped) the partial file of a
 * signed pack; *pos is where its bytes end. */
static int whole_open(struct adopt *a, const char **path, const char *part, const char *final,
		      uint64_t *pos)
{
	struct stat st;
	int r = open_target(a, path, part, final);

	if (r == 0 && fstat(a->fd, &st) < 0)
		r = err_set(-errno, "%s: %s", *path, strerror(errno));
	if (r < 0)
		return r;
	*pos = (uint64_t)st.st_size < a->size ? (uint64_t)st.st_size : a->size;
	return 0;
}

/*
 * Adopts a pack the signed meta/packs lists, on one hash of its bytes.  A
 * prefix left by an earlier run is re-hashed from the local disk and only
 * the rest read; it is not known to be good until the last byte is hashed,
 * so when the whole does not match the name after a resume, the file is
 * dropped and the pack read once more from the start (a damaged prefix
 * costs one re-read); only a fresh read that does not match blames the
 * source.  Nothing is renamed into packs/ or recorded before the match.
 */
static int whole_run(struct adopt *a, const char *part, const char *final)
{
	const char *path = part;
	uint64_t pos;
	int r = whole_open(a, &path, part, final, &pos);

	for (unsigned attempt = 0; r == 0; attempt++) {
		a->resumed = pos > 0;
		a->wpos = pos;
		sha256_ctx_free(a->sha);
		a->sha = NULL;
		r = sha256_ctx_new(&a->sha);
		if (r == 0 && (ftruncate(a->fd, (off_t)pos) < 0 || lseek(a->fd, (off_t)pos, SEEK_SET) < 0))
			r = err_set(-errno, "%s: %s", path, strerror(errno));
		if (r == 0)
			r = rehash(a, a->fd, pos);
		if (r == 0 && pos < a->size)
			r = whole_copy(a);
		if (r < 0 || name_matches(a))
			break;
		(void)unlink(path);
		if (!a->resumed || attempt > 0) {
			char hex[2 * SHA256_LEN + 1];

			hex_encode(hex, a->name->b, SHA256_LEN);
			a->bad_data = true;
			return err_set(-EBADMSG,
				       "%s served pack %.16s… that does not verify (its bytes do not "
				       "hash to the name the release's signature lists): not using it "
				       "again",
				       a->src->url, hex);
		}
		fetch_log(a->f, "%s: a partial pack kept from an earlier run does not hash to its "
				"name; it is dropped and the pack fetched again", path);
		close(a->fd);
		a->fd = -1;
		r = whole_open(a, &path, part, final, &pos);
	}
	if (r == 0) {
		r = whole_check_structure(a);
		if (r == -EBADMSG)
			(void)unlink(path);
	}
	a->at = path;
	return r;
}

static int adopt_run(struct adopt *a, const char *part, const char *final, const char *idxpath)
{
	const char *path = part;
	struct stat st;
	uint64_t pos;
	size_t k;
	int r = sha256_ctx_new(&a->sha);

	if (r == 0)
		r = open_target(a, &path, part, final);
	if (r == 0 && fstat(a->fd, &st) < 0)
		r = -errno;
	if (r < 0)
		return r;
	pos = resume_point(a, (uint64_t)st.st_size, &k);
	a->resumed = pos > 0;
	if (ftruncate(a->fd, (off_t)pos) < 0 || lseek(a->fd, (off_t)pos, SEEK_SET) < 0)
		return err_set(-errno, "%s: %s", path, strerror(errno));
	r = rehash(a, a->fd, pos);
	if (r == 0 && pos < a->size)
		r = copy_rest(a, pos, k);
	if (r == 0)
		r = install(a, path, final, idxpath);
	return r;
}

/* Makes every pending pack durable (one pass of fsyncs), puts each in
 * place, then records them all in one transaction.  If anything fails,
 * the chunks stay unrecorded and the plan's batches fetch them (a pack
 * already in place but unrecorded is found by its name next time and
 * re-hashed locally).  Returns the first store error. */
static int pending_flush(struct fetch *f, struct adopt_pending *ps)
{
	AUTO_FREE char *packs = store_path(f->st, REPO_PACKS_DIR);
	int r = packs ? 0 : -ENOMEM;

	for (size_t i = 0; r == 0 && i < ps->n; i++)
		if (fsync(ps->a[i].fd) < 0)
			r = err_set(-errno, "%s: %s", ps->a[i].at, strerror(errno));
	for (size_t i = 0; r == 0 && i < ps->n; i++)
		r = place_files(&ps->a[i], ps->a[i].at, ps->paths[i][1], ps->paths[i][2]);
	if (r == 0 && ps->n)
		r = record(ps->a, ps->n);
	for (size_t i = 0; i < ps->n; i++) {
		struct adopt *a = &ps->a[i];

		if (r == 0) {
			f->stats->chunks += a->n;
			f->stats->bytes_written += a->size;
		}
		close(a->fd);
		pack_index_free((struct pack_index *)a->idx);
		for (size_t j = 0; j < 3; j++)
			mem_free(ps->paths[i][j]);
	}
	if (r == 0 && ps->n)
		r = pack_list_write(packs);
	ps->n = 0;
	ps->bytes = 0;
	ps->entries = 0;
	return r;
}

/* Takes over a checked signed pack (its file, its index and paths) until
 * the next flush.  Its chunks are not in the database meanwhile: the
 * caller flushes before it looks at another source, and skips a pack of
 * the same name already pending. */
static int pending_add(struct fetch *f, struct adopt_pending *ps, struct adopt *a, char **part,
		       char **final, char **idxpath)
{
	size_t i = ps->n++;

	ps->a[i] = *a;
	ps->paths[i][0] = *part;
	ps->paths[i][1] = *final;
	ps->paths[i][2] = *idxpath;
	*part = *final = *idxpath = NULL;
	a->fd = -1;
	a->idx = NULL;
	ps->bytes += a->size;
	ps->entries += a->n;
	if (ps->n == ADOPT_PENDING_MAX || ps->bytes >= ADOPT_PENDING_BYTES ||
	    ps->entries >= ADOPT_PENDING_ENTRIES)
		return pending_flush(f, ps);
	return 0;
}

/* After an adoption failed with r: a source's failure is logged (and the
 * source given up where it served bad data or its link died), and 0
 * returned, the chunks left to the ranged fetch; the store's own failures
 * are returned. */
static int adopt_failed(struct fetch *f, struct source *src, const struct adopt *a, int r)
{
	if (a->bad_data) {
		f->stats->bad_chunks++;
		fetch_log(f, "%s", err_detail());
		src->usable = false;
		return 0;
	}
	if (a->blame && (r == -ENOENT || r == -EBADMSG)) {
		/* A pack missing or cut short (a half-copied stick): the
		 * prefix stays in local/partial, the rest of the source still
		 * counts. */
		fetch_log(f, "%s; taking what else it offers", err_detail());
		return 0;
	}
	if (a->blame) {
		fetch_log(f, "%s: %s; giving up on it for this run; trying other sources", src->url,
			  err_detail());
		src->usable = false;
		return 0;
	}
	if (r == -EBADMSG) {
		fetch_log(f, "%s; it will be fetched again", err_detail());
		return 0;
	}
	return r;
}

static bool pending_has(const struct adopt_pending *ps, const struct sha256 *name)
{
	for (size_t i = 0; i < ps->n; i++)
		if (memcmp(ps->a[i].name->b, name->b, SHA256_LEN) == 0)
			return true;
	return false;
}

/* adopt_pack() without the ownership: *idxp moves into ps (and is set to
 * NULL) when the pack becomes pending. */
static int adopt_one(struct fetch *f, struct adopt_pending *ps, struct source *src,
		     struct pack_index **idxp)
{
	struct pack_index *idx = *idxp;
	struct adopt a = { .f = f, .src = src, .idx = idx, .name = pack_index_name(idx),
			   .n = pack_index_count(idx), .size = pack_index_pack_size(idx), .fd = -1 };
	AUTO_FREE char *packs = store_path(f->st, REPO_PACKS_DIR);
	AUTO_FREE char *pdir = store_path(f->st, ADOPT_PARTIAL_DIR);
	AUTO_FREE char *part = NULL, *final = NULL, *idxpath = NULL;
	int r;

	a.index_off = a.size - PACK_FOOTER_LEN - (uint64_t)a.n * PACK_RECORD_LEN;
	if (!packs || !pdir)
		return -ENOMEM;
	/* The decision: the release needs every chunk, the store has none. */
	r = plan_wants_pack(f->p, idx);
	if (r <= 0)
		return r;
	r = pack_path_make(&part, pdir, a.name, PACK_SUFFIX);
	if (r == 0)
		r = pack_path_make(&final, packs, a.name, PACK_SUFFIX);
	if (r == 0)
		r = pack_path_make(&idxpath, packs, a.name, PACK_IDX_SUFFIX);
	buf_init(&a.seg, ADOPT_SEGMENT_BYTES + PACK_HEADER_LEN + PACK_ENTRY_HEADER_LEN +
				 LIMIT_CHUNK_MAX + PACK_IDX_MAX_BYTES);
	a.whole = signed_packs_has(&f->signed_packs, a.name, a.size);
	for (size_t k = 0; a.whole && k < a.n; k++) {
		struct pack_entry e;

		pack_index_get(&e, idx, k);
		a.wwant += e.stored_len;
	}
	if (r == 0 && a.whole) {
		a.wbuf[0] = mem_alloc(ADOPT_WHOLE_SEGMENT);
		a.wbuf[1] = mem_alloc(ADOPT_WHOLE_SEGMENT);
		r = a.wbuf[0] && a.wbuf[1] ? 0 : -ENOMEM;
	}
	if (r == 0)
		r = a.whole ? whole_run(&a, part, final) : adopt_run(&a, part, final, idxpath);
	if (r == 0 && a.whole) {
		/* a.at points into part or final, which move with it */
		sha256_ctx_free(a.sha);
		buf_release(&a.seg);
		mem_free(a.wbuf[0]);
		mem_free(a.wbuf[1]);
		a.sha = NULL;
		a.wbuf[0] = a.wbuf[1] = NULL;
		*idxp = NULL; /* ps owns it from here, flushed or not */
		return pending_add(f, ps, &a, &part, &final, &idxpath);
	}
	if (a.fd >= 0)
		close(a.fd);
	sha256_ctx_free(a.sha);
	buf_release(&a.seg);
	mem_free(a.wbuf[0]);
	mem_free(a.wbuf[1]);
	if (r == 0) {
		/* Its chunks are stored now: no batch of the plan holds them. */
		f->stats->chunks += a.n;
		f->stats->bytes_written += a.size;
		r = pack_list_write(packs);
	} else {
		r = adopt_failed(f, src, &a, r);
	}
	return r;
}

/* Adopts one pack the plan wholly needs; takes idx (kept while the pack is
 * pending, else freed).  Store failures are returned; a source's failure
 * is logged, makes it unusable, and returns 0. */
static int adopt_pack(struct fetch *f, struct adopt_pending *ps, struct source *src,
		      struct pack_index *idx)
{
	int r = pending_has(ps, pack_index_name(idx)) ? 0 : adopt_one(f, ps, src, &idx);

	pack_index_free(idx);
	return r;
}

int fetch_adopt_packs(struct fetch *f)
{
	AUTO_FREE struct adopt_pending *ps = mem_calloc(1, sizeof(*ps));
	int r = ps ? 0 : -ENOMEM, e;

	if (r < 0)
		return r;

	if (f->o->release_tree) {
		r = signed_packs_load(&f->signed_packs, f->st->git, f->o->release_tree);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			fetch_log(f, "%s; every pack is verified chunk by chunk", err_detail());
		r = 0;
	}

	/* One pack index loaded at a time (a pending pack keeps its own until
	 * it is recorded). */
	for (size_t s = 0; r == 0 && s < f->nsrc; s++) {
		for (size_t k = 0; r == 0 && k < f->src[s].npacks && f->src[s].usable; k++) {
			struct pack_index *idx = NULL;

			r = source_pack_index(&idx, &f->src[s], k);
			if (r == 0)
				r = adopt_pack(f, ps, &f->src[s], idx);
			else if (r != -ENOMEM)
				r = 0; /* a missing or broken index costs only that pack */
		}
		/* Recorded before the next source is asked: its packs may hold
		 * the same chunks under other names. */
		e = pending_flush(f, ps);
		r = r < 0 ? r : e;
	}
	signed_packs_release(&f->signed_packs);
	return r;
}
