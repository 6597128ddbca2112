/*
 * pack_verify.c — checks a pack and its .idx from end to end.
 *
 * The check is built to be run over a whole store (ferry verify) and over
 * whatever arrived on a stick, so it reads each pack exactly once, front to
 * back, feeding the file's SHA-256 as it goes, and holds at most one entry
 * and its decoded chunk at a time besides the index.  The index comes from
 * the .idx when that is sound, else from the pack's own tail, so a lone
 * .pack (a crash between the two renames, or a half-copied stick) still
 * has every chunk checked.
 *
 * It reports rather than stops: each problem is one line through the
 * caller's callback, and the walk goes on, so a single run lists everything
 * wrong with a pack.  Only what prevents checking at all (the pack cannot
 * be opened or read, memory runs out) ends it early with an error.
 */
#include "packager/pack.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/codec_text.h"
#include "core/fsx.h"
#include "core/mem.h"

/* Granularity of the sequential read outside entries. */
#define VERIFY_READ_BYTES (64u << 10)

struct verify {
	int (*problem)(const char *line, void *ctx);
	void *ctx;
	unsigned long problems;
	int fd;
	uint64_t size;
	uint64_t pos; /* bytes read and hashed so far */
	struct sha256_ctx *hash;
	struct codec *codec;
	uint8_t *buf; /* one entry, or a slice of the rest */
	size_t buf_cap;
	uint8_t *raw; /* one decoded chunk */
	size_t raw_cap;
	uint64_t good;
	bool idx_matches; /* the .idx names this pack and its size */
};

/* Reports one problem; returns the callback's negative value to stop. */
static int FERRY_PRINTF(2, 3) report(struct verify *v, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int r;

	v->problems++;
	if (!v->problem)
		return 0;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	r = v->problem(line, v->ctx);
	return r < 0 ? r : 0;
}

static const char *short_hex(char out[2 * SHA256_LEN + 1], const struct sha256 *id)
{
	hex_encode(out, id->b, SHA256_LEN);
	out[16] = '\0';
	return out;
}

/* Reads the next n bytes of the pack into dst and hashes them. */
static int verify_read(struct verify *v, uint8_t *dst, size_t n)
{
	int r = fs_pread_all(v->fd, dst, n, v->pos);

	if (r < 0)
		return err_set(r, "pack: cannot read %zu bytes at %llu: %s", n,
			       (unsigned long long)v->pos, strerror(-r));
	sha256_ctx_update(v->hash, dst, n);
	v->pos += n;
	return 0;
}

static int verify_load_idx(struct verify *v, struct pack_index **out, const char *idx_path,
			   const struct sha256 *name)
{
	char hex[2 * SHA256_LEN + 1];
	struct pack_index *idx = NULL;
	int r = pack_index_load(&idx, idx_path);

	if (r == -ENOMEM)
		return r;
	if (r == -ENOENT)
		return report(v, ".idx is missing: a lone pack");
	if (r < 0)
		return report(v, ".idx unusable: %s", err_detail());
	*out = idx;
	v->idx_matches = false;
	if (name && memcmp(pack_index_name(idx)->b, name->b, SHA256_LEN) != 0)
		return report(v, ".idx belongs to another pack (%s...)",
			      short_hex(hex, pack_index_name(idx)));
	if (pack_index_pack_size(idx) != v->size)
		return report(v, "pack is %llu bytes, its .idx says %llu",
			      (unsigned long long)v->size,
			      (unsigned long long)pack_index_pack_size(idx));
	v->idx_matches = true;
	return 0;
}

/* Parses the pack's own index from its tail (random access, not hashed). */
static int verify_load_own(struct verify *v, struct pack_index **out, const struct sha256 *name)
{
	AUTO_FREE uint8_t *tail = NULL;
	uint8_t ft[PACK_FOOTER_LEN];
	uint64_t tail_len;
	int r;

	if (v->size < PACK_MIN_BYTES)
		return report(v, "pack of %llu bytes is too short to be one",
			      (unsigned long long)v->size);
	r = fs_pread_all(v->fd, ft, sizeof(ft), v->size - sizeof(ft));
	if (r < 0)
		return err_set(r, "pack: cannot read its footer: %s", strerror(-r));
	r = pack_footer_parse(&tail_len, ft, sizeof(ft), v->size);
	if (r < 0)
		return r == -ENOMEM ? r : report(v, "%s", err_detail());
	tail = mem_alloc(tail_len);
	if (!tail)
		return -ENOMEM;
	r = fs_pread_all(v->fd, tail, tail_len, v->size - tail_len);
	if (r < 0)
		return err_set(r, "pack: cannot read its index: %s", strerror(-r));
	r = pack_index_parse_tail(out, tail, tail_len, v->size, name);
	if (r < 0)
		return r == -ENOMEM ? r : report(v, "pack index: %s", err_detail());
	return 0;
}

static int verify_header(struct verify *v)
{
	uint8_t h[PACK_HEADER_LEN];
	int r;

	if (v->size < PACK_HEADER_LEN)
		return 0; /* already reported as too short */
	r = verify_read(v, h, sizeof(h));
	if (r < 0)
		return r;
	if (memcmp(h + PACK_HDR_MAGIC, PACK_MAGIC, PACK_MAGIC_LEN) != 0)
		return report(v, "header: bad magic");
	if (get_le32(h + PACK_HDR_VERSION) != PACK_VERSION)
		return report(v, "header: version %u is not supported",
			      get_le32(h + PACK_HDR_VERSION));
	if (get_le32(h + PACK_HDR_FLAGS) != 0)
		return report(v, "header: unknown flags set");
	return 0;
}

/* Checks the entry the index places at v->pos. */
static int verify_entry(struct verify *v, const struct pack_entry *e)
{
	char hex[2 * SHA256_LEN + 1];
	size_t len = PACK_ENTRY_HEADER_LEN + e->stored_len;
	unsigned long long off = e->offset;
	struct pack_entry h;
	const uint8_t *payload;
	int r;

	short_hex(hex, &e->id);
	if (off + len > v->size)
		return report(v, "entry at %llu (chunk %s...): past the end of the pack", off, hex);
	r = verify_read(v, v->buf, len);
	if (r < 0)
		return r;
	r = pack_entry_parse(&h, &payload, v->buf, len);
	if (r < 0)
		return report(v, "entry at %llu (chunk %s...): %s", off, hex, err_detail());
	if ((size_t)r != len || h.type != e->type || h.raw_len != e->raw_len ||
	    memcmp(h.id.b, e->id.b, SHA256_LEN) != 0)
		return report(v, "entry at %llu (chunk %s...): header differs from the index", off,
			      hex);
	if (e->type == PACK_ENTRY_DELTA)
		r = pack_delta_check(e, payload); /* its base is another file */
	else
		r = pack_entry_decode(v->raw, v->raw_cap, e, payload, v->codec);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return report(v, "entry at %llu (chunk %s...): %s", off, hex, err_detail());
	v->good++;
	return 0;
}

/* Sizes the buffers for the largest entry of idx (or none). */
static int verify_buffers(struct verify *v, const struct pack_index *idx)
{
	size_t stored = 0, raw = 1;
	struct pack_entry e;

	for (size_t i = 0; idx && i < pack_index_count(idx); i++) {
		pack_index_get(&e, idx, i);
		stored = e.stored_len > stored ? e.stored_len : stored;
		if (e.type != PACK_ENTRY_DELTA) /* a delta's raw_len is a file's */
			raw = e.raw_len > raw ? e.raw_len : raw;
	}
	v->buf_cap = PACK_ENTRY_HEADER_LEN + stored;
	if (v->buf_cap < VERIFY_READ_BYTES)
		v->buf_cap = VERIFY_READ_BYTES;
	v->raw_cap = raw;
	v->buf = mem_alloc(v->buf_cap);
	v->raw = mem_alloc(v->raw_cap);
	return v->buf && v->raw ? 0 : -ENOMEM;
}

/* The single pass: header, entries in file order, then the rest. */
static int verify_stream(struct verify *v, const struct pack_index *ref)
{
	struct pack_entry e;
	int r = verify_header(v);

	if (r < 0)
		return r;
	for (size_t k = 0; ref && k < pack_index_count(ref); k++) {
		pack_index_get_by_offset(&e, ref, k);
		if (e.offset != v->pos)
			break; /* only after an entry past the end: reported */
		r = verify_entry(v, &e);
		if (r < 0)
			return r;
	}
	if (!ref) {
		r = report(v, "entries not checked: no sound index");
		if (r < 0)
			return r;
	}
	while (v->pos < v->size) {
		size_t n = v->size - v->pos < v->buf_cap ? (size_t)(v->size - v->pos) : v->buf_cap;

		r = verify_read(v, v->buf, n);
		if (r < 0)
			return r;
	}
	return 0;
}

static int verify_name(struct verify *v, const struct sha256 *name, const struct pack_index *idx)
{
	char hex[2 * SHA256_LEN + 1];
	struct sha256 sum;

	sha256_ctx_final(v->hash, &sum);
	if (!name && idx)
		name = pack_index_name(idx);
	if (name && memcmp(sum.b, name->b, SHA256_LEN) != 0)
		return report(v, "content hash %s... does not match the pack's name",
			      short_hex(hex, &sum));
	return 0;
}

/* Everything after opening the pack.  The entries are walked by the .idx
 * when it matches the pack, else by the pack's own index, else (a pack
 * whose tail is gone) by whatever .idx there is, to salvage what can be. */
static int verify_run(struct verify *v, const char *pack_path, const char *idx_path)
{
	struct pack_index *idx = NULL, *own = NULL, *ref;
	struct sha256 name;
	bool named;
	int r;

	named = pack_name_from_path(&name, pack_path, PACK_SUFFIX) >= 0;
	r = named ? 0 : report(v, "file name is not <sha256>%s", PACK_SUFFIX);
	if (r >= 0)
		r = verify_load_idx(v, &idx, idx_path, named ? &name : NULL);
	if (r >= 0)
		r = verify_load_own(v, &own, named ? &name : NULL);
	if (r >= 0 && idx && own && !pack_index_same(idx, own))
		r = report(v, "the pack's own index differs from its .idx");
	ref = v->idx_matches ? idx : own ? own : idx;
	if (r >= 0)
		r = verify_buffers(v, ref);
	if (r >= 0)
		r = verify_stream(v, ref);
	if (r >= 0)
		r = verify_name(v, named ? &name : NULL, idx);
	pack_index_free(idx);
	pack_index_free(own);
	return r;
}

int pack_verify(uint64_t *chunks_out, const char *pack_path, const char *idx_path,
		int (*problem)(const char *line, void *ctx), void *ctx)
{
	struct verify v = {.problem = problem, .ctx = ctx};
	AUTO_CLOSE int fd = open(pack_path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int r;

	if (fd < 0)
		return err_set(-errno, "%s: %s", pack_path, strerror(errno));
	if (fstat(fd, &st) < 0)
		return err_set(-errno, "%s: %s", pack_path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return err_set(-EINVAL, "%s: not a regular file", pack_path);
	v.fd = fd;
	v.size = (uint64_t)st.st_size;
	r = sha256_ctx_new(&v.hash);
	if (r >= 0)
		r = codec_new(&v.codec, CODEC_LEVEL_DEFAULT);
	if (r >= 0)
		r = verify_run(&v, pack_path, idx_path);
	sha256_ctx_free(v.hash);
	codec_free(v.codec);
	mem_free(v.buf);
	mem_free(v.raw);
	if (chunks_out)
		*chunks_out = v.good;
	if (r < 0)
		return r;
	if (v.problems)
		return err_set(-EBADMSG, "%s: %lu problem%s", pack_path, v.problems,
			       v.problems == 1 ? "" : "s");
	return 0;
}
