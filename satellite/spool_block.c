/*
 * spool_block.c — one block's symbols on disk: appending records, reading
 * them back after a crash, and decoding the block when enough are held.
 *
 * A block's .sym file only grows, one fixed-size record per symbol with
 * its own CRC-32C (spool_format.h).  Nothing is fsynced per symbol: a
 * SIGKILL loses nothing (the bytes are in the page cache) and a power cut
 * loses an unsynced tail, which the reader cuts at the first bad record.
 * What must not be lost — a decoded block — is written atomically.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/fsx.h"
#include "core/mem.h"
#include "satellite/spool_format.h"
#include "satellite/spool_int.h"

uint32_t spool_crc32c(uint32_t crc, const void *p, size_t n)
{
	static uint32_t table[256];
	const uint8_t *b = p;

	if (!table[1]) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;

			for (int j = 0; j < 8; j++)
				c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
			table[i] = c;
		}
	}
	crc = ~crc;
	for (size_t i = 0; i < n; i++)
		crc = table[(crc ^ b[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

void spool_header_encode(uint8_t *out, const struct spool_object *o, uint32_t sbn)
{
	const struct spool_block *b = &o->blocks[sbn];

	memcpy(out, SPOOL_MAGIC, 8);
	put_le32(out + 8, SPOOL_VERSION);
	put_le32(out + 12, sbn);
	put_le32(out + 16, b->k);
	put_le32(out + 20, o->id.oti.symbol_size);
	rq_oti_encode(out + 24, &o->id.oti);
	memcpy(out + 36, o->id.sha.b, SHA256_LEN);
	put_le32(out + 68, spool_crc32c(0, out, 68));
}

char *spool_block_path(const struct spool_object *o, uint32_t sbn, const char *ext)
{
	char name[32];

	snprintf(name, sizeof(name), "b%03u.%s", sbn, ext);
	return fs_join(o->dir, name);
}

static uint32_t record_crc(uint32_t esi, const uint8_t *sym, size_t t)
{
	uint8_t e[4];

	put_le32(e, esi);
	return spool_crc32c(spool_crc32c(0, e, 4), sym, t);
}

/* Position of esi in the sorted list, and whether it is there. */
bool spool_esi_find(const struct spool_block *b, uint32_t esi, uint32_t *pos)
{
	uint32_t lo = 0, hi = b->nesi;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (b->esi[mid] < esi)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return lo < b->nesi && b->esi[lo] == esi;
}

static int esi_insert(struct spool_block *b, uint32_t esi, uint32_t pos)
{
	if (b->nesi == b->cap) {
		uint32_t cap = b->cap ? b->cap * 2 : 64;
		uint32_t *n;

		if (cap > spool_block_cap(b))
			cap = spool_block_cap(b);
		n = mem_realloc(b->esi, (size_t)cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		b->esi = n;
		b->cap = cap;
	}
	memmove(b->esi + pos + 1, b->esi + pos, (size_t)(b->nesi - pos) * sizeof(*b->esi));
	b->esi[pos] = esi;
	b->nesi++;
	return 0;
}

int spool_block_scan(const struct spool_object *o, uint32_t sbn, uint64_t *good_end,
		     spool_record_fn fn, void *ctx)
{
	AUTO_FREE char *path = spool_block_path(o, sbn, "sym");
	size_t t = o->id.oti.symbol_size, rec = SPOOL_RECORD_OVERHEAD + t;
	uint8_t want[SPOOL_HEADER_LEN], got[SPOOL_HEADER_LEN];
	AUTO_FREE uint8_t *r = mem_alloc(rec);
	AUTO_CLOSE int fd = -1;
	uint64_t off;
	int rc;

	*good_end = 0;
	if (!path || !r)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : err_set(-errno, "spool: %s: %s", path, strerror(errno));
	spool_header_encode(want, o, sbn);
	if (fs_pread_all(fd, got, sizeof(got), 0) < 0 || memcmp(want, got, sizeof(got)) != 0)
		return 0; /* torn or foreign header: nothing usable */
	for (off = SPOOL_HEADER_LEN;; off += rec) {
		uint32_t esi;

		if (fs_pread_all(fd, r, rec, off) < 0)
			break;
		esi = get_le32(r);
		if (esi > RQ_ESI_MAX || get_le32(r + 4) != record_crc(esi, r + 8, t))
			break;
		rc = fn(esi, r + 8, ctx);
		if (rc < 0)
			return rc;
		if (rc == 0)
			break; /* the caller refuses it: the file ends here */
	}
	*good_end = off;
	return 0;
}

static int load_one(uint32_t esi, const uint8_t *sym, void *ctx)
{
	struct spool_block *b = ctx;
	uint32_t pos;

	(void)sym;
	if (b->nesi >= spool_block_cap(b) || spool_esi_find(b, esi, &pos))
		return 0;
	return esi_insert(b, esi, pos) < 0 ? -ENOMEM : 1;
}

int spool_block_load(struct spool_object *o, uint32_t sbn, bool repair)
{
	struct spool_block *b = &o->blocks[sbn];
	AUTO_FREE char *dec = spool_block_path(o, sbn, "dec");
	AUTO_FREE char *sym = spool_block_path(o, sbn, "sym");
	uint64_t size, end;
	int r;

	if (!dec || !sym)
		return -ENOMEM;
	if (fs_file_size(&size, dec) == 0 && size == b->length) {
		b->done = true;
		if (repair)
			(void)unlink(sym);
		return 0;
	}
	if (repair)
		(void)unlink(dec);
	r = spool_block_scan(o, sbn, &end, load_one, b);
	if (r < 0 || !repair)
		return r;
	if (fs_file_size(&size, sym) == 0 && (size != end || end == 0)) {
		if (end == 0 ? unlink(sym) < 0 : truncate(sym, (off_t)end) < 0)
			return err_set(-errno, "spool: %s: %s", sym, strerror(errno));
	}
	return 0;
}

void spool_object_close_fd(struct spool_object *o)
{
	if (o->fd >= 0)
		(void)close(o->fd);
	o->fd = -1;
}

/* Opens b<sbn>.sym for appending, writing its header if it is new. */
static int open_sym(struct spool_object *o, uint32_t sbn)
{
	AUTO_FREE char *path = spool_block_path(o, sbn, "sym");
	uint8_t h[SPOOL_HEADER_LEN];
	struct stat st;
	int fd, r;

	if (o->fd >= 0 && o->fd_sbn == sbn)
		return 0;
	spool_object_close_fd(o);
	if (!path)
		return -ENOMEM;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_set(-errno, "spool: %s: %s", path, strerror(errno));
	if (fstat(fd, &st) == 0 && st.st_size == 0) {
		spool_header_encode(h, o, sbn);
		r = fs_write_all(fd, h, sizeof(h));
		if (r < 0) {
			(void)close(fd);
			(void)unlink(path);
			return err_set(r, "spool: %s: %s", path, strerror(-r));
		}
		spool_object_grow(o, SPOOL_HEADER_LEN, 0);
	}
	o->fd = fd;
	o->fd_sbn = sbn;
	return 0;
}

int spool_object_add(struct spool_object *o, uint32_t sbn, uint32_t esi, const void *sym,
		     size_t len)
{
	size_t t = o->id.oti.symbol_size;
	AUTO_FREE uint8_t *rec = NULL;
	struct spool_block *b;
	struct stat st;
	uint32_t pos;
	int r;

	if (sbn >= o->nblocks || esi > RQ_ESI_MAX || len != t)
		return err_set(-EBADMSG, "spool: symbol %u/%u of %zu bytes does not fit the object",
			       sbn, esi, len);
	b = &o->blocks[sbn];
	if (b->done || b->nesi >= spool_block_cap(b) || spool_esi_find(b, esi, &pos))
		return 0;
	rec = mem_alloc(SPOOL_RECORD_OVERHEAD + t);
	if (!rec)
		return -ENOMEM;
	r = open_sym(o, sbn);
	if (r < 0)
		return r;
	put_le32(rec, esi);
	put_le32(rec + 4, record_crc(esi, sym, t));
	memcpy(rec + 8, sym, t);
	if (fstat(o->fd, &st) < 0)
		return -errno;
	r = fs_write_all(o->fd, rec, SPOOL_RECORD_OVERHEAD + t);
	if (r < 0) {
		/* Cut a partial record so the next append starts clean. */
		(void)ftruncate(o->fd, st.st_size);
		spool_object_close_fd(o);
		return err_set(r, "spool: block %u: %s", sbn, strerror(-r));
	}
	spool_object_grow(o, SPOOL_RECORD_OVERHEAD + t, b->nesi < b->k);
	r = esi_insert(b, esi, pos);
	return r < 0 ? r : 1;
}

bool spool_object_block_ready(const struct spool_object *o, uint32_t sbn)
{
	const struct spool_block *b;

	if (sbn >= o->nblocks)
		return false;
	b = &o->blocks[sbn];
	return !b->done && b->nesi >= b->k && b->nesi > b->tried_at;
}

struct feed {
	struct rq_decoder *dec;
	size_t t;
};

static int feed_one(uint32_t esi, const uint8_t *sym, void *ctx)
{
	struct feed *f = ctx;
	int r = rq_decoder_add(f->dec, esi, sym, f->t);

	return r < 0 ? r : 1;
}

int spool_object_decode_block(struct spool_object *o, uint32_t sbn)
{
	struct spool_block *b;
	struct feed f = { NULL, o->id.oti.symbol_size };
	AUTO_FREE uint8_t *out = NULL;
	AUTO_FREE char *dec = NULL, *sym = NULL;
	uint64_t end;
	size_t n;
	int r;

	if (sbn >= o->nblocks)
		return -EINVAL;
	b = &o->blocks[sbn];
	if (b->done)
		return 0;
	if (!mem_mul_ok(&n, b->k, f.t) || !(out = mem_alloc(n)))
		return -ENOMEM;
	r = rq_decoder_new(&f.dec, b->k, f.t);
	if (r < 0)
		return r;
	spool_object_close_fd(o); /* the records just written are read back */
	r = spool_block_scan(o, sbn, &end, feed_one, &f);
	if (r == 0)
		r = rq_decoder_decode(out, f.dec);
	rq_decoder_free(f.dec);
	dec = spool_block_path(o, sbn, "dec");
	sym = spool_block_path(o, sbn, "sym");
	if (!dec || !sym)
		return -ENOMEM;
	if (r == -EAGAIN && b->nesi >= spool_block_cap(b)) {
		/* K + 64 symbols that do not determine the block: not RaptorQ's
		 * doing (odds far below 1e-20) but someone's; start it over. */
		(void)unlink(sym);
		mem_free(b->esi);
		b->esi = NULL;
		b->nesi = b->cap = b->tried_at = 0;
		spool_object_recount(o);
		return -EAGAIN;
	}
	if (r == -EAGAIN)
		b->tried_at = b->nesi;
	if (r < 0)
		return r;
	r = fs_write_atomic(dec, out, b->length);
	if (r < 0)
		return r;
	(void)unlink(sym);
	b->done = true;
	mem_free(b->esi);
	b->esi = NULL;
	b->nesi = b->cap = 0;
	spool_object_recount(o);
	return 0;
}
