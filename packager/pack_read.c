/*
 * pack_read.c — the reading side of packs: names and paths, single entries
 * fetched as byte ranges, and the index (from a .idx or a pack's tail).
 *
 * Everything here parses bytes that came from a stick, a mirror or the
 * sky.  Lengths are checked before anything is allocated or touched, all
 * offset arithmetic is done in 64 bits on values already bounded by
 * LIMIT_PACK_BYTES, and a parsed index is held to every rule of
 * pack_format.h, so code that consumes a struct pack_index can trust its
 * offsets to lie inside the pack and its entries not to overlap.
 *
 * An index keeps the raw 56-byte records (sorted by ID, decoded on demand)
 * plus one u32 per entry giving file order: about 60 bytes per chunk, the
 * same as the writer.
 */
#include "packager/pack.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/bytes.h"
#include "core/codec_text.h"
#include "core/fsx.h"
#include "core/mem.h"

/* The tiling check sorts (offset << PACK_KEY_SHIFT | record number); both
 * parts must fit. */
#define PACK_KEY_SHIFT 22
_Static_assert(LIMIT_PACK_ENTRIES <= (1u << PACK_KEY_SHIFT), "record number fits the key");
_Static_assert(LIMIT_PACK_BYTES < (1ull << (64 - PACK_KEY_SHIFT)), "offset fits the key");

struct pack_index {
	struct sha256 name;
	uint64_t pack_size;
	uint64_t index_off;
	size_t count;
	uint8_t *records;    /* count * PACK_RECORD_LEN, strictly sorted by ID */
	uint32_t *by_offset; /* record numbers in file order */
};

/* ---- names and paths ---------------------------------------------------- */

int pack_path_make(char **out, const char *packs_dir, const struct sha256 *name, const char *suffix)
{
	char hex[2 * SHA256_LEN + 1];
	size_t n = strlen(packs_dir) + 4 + sizeof(hex) + strlen(suffix);
	char *p = mem_alloc(n);

	if (!p)
		return -ENOMEM;
	hex_encode(hex, name->b, SHA256_LEN);
	snprintf(p, n, "%s/%.2s/%s%s", packs_dir, hex, hex, suffix);
	*out = p;
	return 0;
}

int pack_name_from_path(struct sha256 *out, const char *path, const char *suffix)
{
	const char *base = strrchr(path, '/');
	size_t slen = strlen(suffix);

	base = base ? base + 1 : path;
	if (strlen(base) != 2 * SHA256_LEN + slen || strcmp(base + 2 * SHA256_LEN, suffix) != 0)
		return err_set(-EBADMSG, "%s: not named <sha256>%s", base, suffix);
	for (size_t i = 0; i < 2 * SHA256_LEN; i++) {
		if (!((base[i] >= '0' && base[i] <= '9') || (base[i] >= 'a' && base[i] <= 'f')))
			return err_set(-EBADMSG, "%s: not named <sha256>%s", base, suffix);
	}
	return hex_decode(out->b, SHA256_LEN, base, 2 * SHA256_LEN);
}

/* ---- entries ------------------------------------------------------------ */

int pack_entry_validate(const struct pack_entry *e)
{
	if (e->type == PACK_ENTRY_DELTA) {
		if (e->raw_len == 0 || e->raw_len > LIMIT_DELTA_FILE_BYTES)
			return err_set(-EBADMSG, "delta for a %u-byte file is outside 1..%u",
				       e->raw_len, LIMIT_DELTA_FILE_BYTES);
		if (e->stored_len == 0 || e->stored_len > LIMIT_DELTA_BYTES)
			return err_set(-EBADMSG, "delta of %u bytes is outside 1..%u",
				       e->stored_len, LIMIT_DELTA_BYTES);
		return 0;
	}
	if (e->type != PACK_ENTRY_ZSTD && e->type != PACK_ENTRY_RAW)
		return err_set(-EBADMSG, "entry type %u is not known", e->type);
	if (e->raw_len == 0 || e->raw_len > LIMIT_CHUNK_MAX)
		return err_set(-EBADMSG, "chunk of %u bytes is outside 1..%u", e->raw_len,
			       LIMIT_CHUNK_MAX);
	if (e->type == PACK_ENTRY_RAW && e->stored_len != e->raw_len)
		return err_set(-EBADMSG, "raw entry stores %u bytes of a %u-byte chunk",
			       e->stored_len, e->raw_len);
	if (e->type == PACK_ENTRY_ZSTD && (e->stored_len == 0 || e->stored_len >= e->raw_len))
		return err_set(-EBADMSG, "zstd entry of %u bytes for a %u-byte chunk",
			       e->stored_len, e->raw_len);
	return 0;
}

int pack_entry_parse(struct pack_entry *hdr_out, const uint8_t **payload_out, const void *bytes,
		     size_t n)
{
	const uint8_t *p = bytes;
	struct pack_entry e = {0};
	int r;

	if (n < PACK_ENTRY_HEADER_LEN)
		return err_set(-EBADMSG, "entry header cut short (%zu bytes)", n);
	e.type = p[PACK_EH_TYPE];
	if (p[PACK_EH_RESERVED] | p[PACK_EH_RESERVED + 1] | p[PACK_EH_RESERVED + 2])
		return err_set(-EBADMSG, "entry header: reserved bytes are not zero");
	e.stored_len = get_le32(p + PACK_EH_STORED_LEN);
	e.raw_len = get_le32(p + PACK_EH_RAW_LEN);
	memcpy(e.id.b, p + PACK_EH_ID, SHA256_LEN);
	r = pack_entry_validate(&e);
	if (r < 0)
		return r;
	if (n - PACK_ENTRY_HEADER_LEN < e.stored_len)
		return err_set(-EBADMSG, "entry cut short: %zu of %u stored bytes",
			       n - PACK_ENTRY_HEADER_LEN, e.stored_len);
	*hdr_out = e;
	*payload_out = p + PACK_ENTRY_HEADER_LEN;
	return (int)(PACK_ENTRY_HEADER_LEN + e.stored_len);
}

int pack_entry_decode(uint8_t *raw_out, size_t raw_cap, const struct pack_entry *e,
		      const uint8_t *payload, struct codec *c)
{
	struct sha256 got;
	char hex[2 * SHA256_LEN + 1];
	int r = pack_entry_validate(e);

	if (r < 0)
		return r;
	if (e->type == PACK_ENTRY_DELTA)
		return err_set(-EINVAL, "a delta entry holds no chunk (use pack_delta_check)");
	if (e->raw_len > raw_cap)
		return err_set(-EFBIG, "chunk of %u bytes exceeds the %zu-byte buffer", e->raw_len,
			       raw_cap);
	if (e->type == PACK_ENTRY_RAW) {
		memcpy(raw_out, payload, e->raw_len);
	} else {
		r = codec_decompress(c, raw_out, e->raw_len, payload, e->stored_len);
		if (r < 0)
			return r;
	}
	sha256_buf(&got, raw_out, e->raw_len);
	if (memcmp(got.b, e->id.b, SHA256_LEN) != 0) {
		hex_encode(hex, e->id.b, SHA256_LEN);
		return err_set(-EBADMSG, "chunk %.16s does not match its ID", hex);
	}
	return 0;
}

int pack_delta_check(const struct pack_entry *e, const uint8_t *payload)
{
	struct sha256 got;
	char hex[2 * SHA256_LEN + 1];
	int r = pack_entry_validate(e);

	if (r < 0)
		return r;
	if (e->type != PACK_ENTRY_DELTA)
		return err_set(-EBADMSG, "entry of type %u is not a delta", e->type);
	sha256_buf(&got, payload, e->stored_len);
	if (memcmp(got.b, e->id.b, SHA256_LEN) != 0) {
		hex_encode(hex, e->id.b, SHA256_LEN);
		return err_set(-EBADMSG, "delta %.16s does not match its ID", hex);
	}
	return codec_delta_check(payload, e->stored_len, e->raw_len);
}

/* ---- index -------------------------------------------------------------- */

static void record_decode(struct pack_entry *out, const uint8_t *p)
{
	memcpy(out->id.b, p + PACK_REC_ID, SHA256_LEN);
	out->offset = get_le64(p + PACK_REC_OFFSET);
	out->stored_len = get_le32(p + PACK_REC_STORED_LEN);
	out->raw_len = get_le32(p + PACK_REC_RAW_LEN);
	out->type = p[PACK_REC_TYPE];
}

void pack_index_free(struct pack_index *idx)
{
	if (!idx)
		return;
	mem_free(idx->records);
	mem_free(idx->by_offset);
	mem_free(idx);
}

static int key_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Checks one record on its own and against its predecessor in ID order;
 * entry bounds are checked against index_off, the end of the entries. */
static int record_check(const uint8_t *p, const uint8_t *prev, uint64_t index_off, size_t i)
{
	static const uint8_t zero[7];
	struct pack_entry e;
	int r;

	record_decode(&e, p);
	if (memcmp(p + PACK_REC_PADDING, zero, sizeof(zero)) != 0)
		return err_set(-EBADMSG, "index record %zu: padding is not zero", i);
	r = pack_entry_validate(&e);
	if (r < 0) {
		char why[256];

		snprintf(why, sizeof(why), "%s", err_detail());
		return err_set(r, "index record %zu: %s", i, why);
	}
	if (prev && memcmp(prev + PACK_REC_ID, p + PACK_REC_ID, SHA256_LEN) >= 0)
		return err_set(-EBADMSG, "index record %zu: IDs not strictly sorted", i);
	if (e.offset < PACK_HEADER_LEN || e.offset > index_off ||
	    PACK_ENTRY_HEADER_LEN + (uint64_t)e.stored_len > index_off - e.offset)
		return err_set(-EBADMSG, "index record %zu: entry outside the pack", i);
	return 0;
}

/* Checks that the entries, taken in file order, tile
 * [PACK_HEADER_LEN, index_off) exactly, and records that order. */
static int index_order(struct pack_index *idx)
{
	AUTO_FREE uint64_t *keys = NULL;
	uint64_t pos = PACK_HEADER_LEN;
	struct pack_entry e;

	keys = mem_calloc(idx->count, sizeof(*keys));
	idx->by_offset = mem_calloc(idx->count, sizeof(*idx->by_offset));
	if (!keys || !idx->by_offset)
		return -ENOMEM;
	for (size_t i = 0; i < idx->count; i++) {
		record_decode(&e, idx->records + i * PACK_RECORD_LEN);
		keys[i] = e.offset << PACK_KEY_SHIFT | i;
	}
	qsort(keys, idx->count, sizeof(*keys), key_cmp);
	for (size_t k = 0; k < idx->count; k++) {
		uint32_t i = (uint32_t)(keys[k] & ((1u << PACK_KEY_SHIFT) - 1));

		record_decode(&e, idx->records + (size_t)i * PACK_RECORD_LEN);
		if (e.offset != pos)
			return err_set(-EBADMSG,
				       "index: entries leave a gap or overlap at offset %llu",
				       (unsigned long long)pos);
		pos += PACK_ENTRY_HEADER_LEN + (uint64_t)e.stored_len;
		idx->by_offset[k] = i;
	}
	if (pos != idx->index_off)
		return err_set(-EBADMSG, "index: entries end at %llu, the index starts at %llu",
			       (unsigned long long)pos, (unsigned long long)idx->index_off);
	return 0;
}

/* Builds an index from count records for a pack of pack_size bytes. */
static int index_build(struct pack_index **out, const uint8_t *records, size_t count,
		       uint64_t pack_size, const struct sha256 *name)
{
	struct pack_index *idx;
	uint64_t tail = (uint64_t)count * PACK_RECORD_LEN + PACK_FOOTER_LEN;
	int r;

	if (pack_size > LIMIT_PACK_BYTES)
		return err_set(-EFBIG, "pack of %llu bytes is over the %llu-byte limit",
			       (unsigned long long)pack_size, (unsigned long long)LIMIT_PACK_BYTES);
	if (count == 0)
		return err_set(-EBADMSG, "index: pack has no entries");
	if (count > LIMIT_PACK_ENTRIES)
		return err_set(-EFBIG, "index: %zu entries, more than the limit of %u", count,
			       LIMIT_PACK_ENTRIES);
	if (pack_size < PACK_HEADER_LEN + tail)
		return err_set(-EBADMSG, "index: %zu entries cannot fit a %llu-byte pack", count,
			       (unsigned long long)pack_size);
	idx = mem_calloc(1, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	if (name)
		idx->name = *name;
	idx->pack_size = pack_size;
	idx->index_off = pack_size - tail;
	idx->count = count;
	idx->records = mem_dup(records, count * PACK_RECORD_LEN);
	r = idx->records ? 0 : -ENOMEM;
	for (size_t i = 0; r >= 0 && i < count; i++)
		r = record_check(records + i * PACK_RECORD_LEN,
				 i ? records + (i - 1) * PACK_RECORD_LEN : NULL, idx->index_off, i);
	if (r >= 0)
		r = index_order(idx);
	if (r < 0) {
		pack_index_free(idx);
		return r;
	}
	*out = idx;
	return 0;
}

int pack_index_parse(struct pack_index **out, const void *idx_bytes, size_t n)
{
	const uint8_t *p = idx_bytes;
	struct sha256 name, sum;
	uint64_t count;

	if (n < PACK_IDX_HEADER_LEN + PACK_IDX_TRAILER_LEN)
		return err_set(-EBADMSG, ".idx: %zu bytes is too short", n);
	if (memcmp(p + PACK_IDX_MAGIC_OFF, PACK_IDX_MAGIC, PACK_MAGIC_LEN) != 0)
		return err_set(-EBADMSG, ".idx: bad magic");
	if (get_le32(p + PACK_IDX_VERSION_OFF) != PACK_IDX_VERSION)
		return err_set(-EBADMSG, ".idx: version %u is not supported",
			       get_le32(p + PACK_IDX_VERSION_OFF));
	if (get_le32(p + PACK_IDX_FLAGS_OFF) != 0 || get_le32(p + PACK_IDX_RESERVED_OFF) != 0)
		return err_set(-EBADMSG, ".idx: unknown flags or reserved bits set");
	count = get_le32(p + PACK_IDX_COUNT_OFF);
	if (count > LIMIT_PACK_ENTRIES)
		return err_set(-EFBIG, ".idx: %llu entries, more than the limit of %u",
			       (unsigned long long)count, LIMIT_PACK_ENTRIES);
	if (n != PACK_IDX_HEADER_LEN + count * PACK_RECORD_LEN + PACK_IDX_TRAILER_LEN)
		return err_set(-EBADMSG, ".idx: %zu bytes do not hold %llu records", n,
			       (unsigned long long)count);
	sha256_buf(&sum, p, n - PACK_IDX_TRAILER_LEN);
	if (memcmp(sum.b, p + n - PACK_IDX_TRAILER_LEN, SHA256_LEN) != 0)
		return err_set(-EBADMSG, ".idx: trailing hash does not match its contents");
	memcpy(name.b, p + PACK_IDX_NAME_OFF, SHA256_LEN);
	return index_build(out, p + PACK_IDX_HEADER_LEN, (size_t)count,
			   get_le64(p + PACK_IDX_PACK_SIZE_OFF), &name);
}

int pack_index_load(struct pack_index **out, const char *idx_path)
{
	struct buf b;
	int r;

	/* fs_read_file() reserves 64 KiB at a time, so the buffer's own cap
	 * sits that far above the file limit it enforces. */
	buf_init(&b, PACK_IDX_MAX_BYTES + (64u << 10));
	r = fs_read_file(&b, idx_path, PACK_IDX_MAX_BYTES);
	if (r >= 0) {
		r = pack_index_parse(out, b.data, b.len);
		if (r < 0) {
			char why[256];

			snprintf(why, sizeof(why), "%s", err_detail());
			(void)err_set(r, "%s: %s", idx_path, why);
		}
	}
	buf_release(&b);
	return r;
}

int pack_footer_parse(uint64_t *tail_len_out, const void *footer, size_t n, uint64_t pack_size)
{
	const uint8_t *p = footer;
	uint64_t index_off, count, tail;

	if (pack_size > LIMIT_PACK_BYTES)
		return err_set(-EFBIG, "pack of %llu bytes is over the %llu-byte limit",
			       (unsigned long long)pack_size, (unsigned long long)LIMIT_PACK_BYTES);
	if (n != PACK_FOOTER_LEN || pack_size < PACK_MIN_BYTES)
		return err_set(-EBADMSG, "pack footer: too short");
	if (memcmp(p + PACK_FT_MAGIC, PACK_END_MAGIC, PACK_MAGIC_LEN) != 0)
		return err_set(-EBADMSG, "pack footer: bad end magic (truncated pack?)");
	if (get_le32(p + PACK_FT_RESERVED) != 0)
		return err_set(-EBADMSG, "pack footer: reserved bits set");
	index_off = get_le64(p + PACK_FT_INDEX_OFFSET);
	count = get_le32(p + PACK_FT_COUNT);
	if (count == 0 || count > LIMIT_PACK_ENTRIES)
		return err_set(-EBADMSG, "pack footer: %llu entries", (unsigned long long)count);
	tail = count * PACK_RECORD_LEN + PACK_FOOTER_LEN;
	if (index_off < PACK_HEADER_LEN || index_off > pack_size || pack_size - index_off != tail)
		return err_set(-EBADMSG, "pack footer: index offset %llu does not fit",
			       (unsigned long long)index_off);
	*tail_len_out = tail;
	return 0;
}

int pack_index_parse_tail(struct pack_index **out, const void *tail, size_t n, uint64_t pack_size,
			  const struct sha256 *name)
{
	const uint8_t *p = tail;
	uint64_t want;
	int r;

	if (n < PACK_FOOTER_LEN)
		return err_set(-EBADMSG, "pack footer: too short");
	r = pack_footer_parse(&want, p + n - PACK_FOOTER_LEN, PACK_FOOTER_LEN, pack_size);
	if (r < 0)
		return r;
	if (n != want)
		return err_set(-EBADMSG, "pack tail: %zu bytes, the footer says %llu", n,
			       (unsigned long long)want);
	return index_build(out, p, (n - PACK_FOOTER_LEN) / PACK_RECORD_LEN, pack_size, name);
}

int pack_index_encode(struct buf *out, const struct pack_index *idx)
{
	size_t start = out->len, records = idx->count * PACK_RECORD_LEN;
	uint8_t *h;
	struct sha256 sum;
	int r;

	r = buf_reserve(out, PACK_IDX_HEADER_LEN + records + PACK_IDX_TRAILER_LEN);
	if (r < 0)
		return r;
	h = out->data + start;
	memset(h, 0, PACK_IDX_HEADER_LEN);
	memcpy(h + PACK_IDX_MAGIC_OFF, PACK_IDX_MAGIC, PACK_MAGIC_LEN);
	put_le32(h + PACK_IDX_VERSION_OFF, PACK_IDX_VERSION);
	put_le64(h + PACK_IDX_PACK_SIZE_OFF, idx->pack_size);
	memcpy(h + PACK_IDX_NAME_OFF, idx->name.b, SHA256_LEN);
	put_le32(h + PACK_IDX_COUNT_OFF, (uint32_t)idx->count);
	memcpy(h + PACK_IDX_HEADER_LEN, idx->records, records);
	sha256_buf(&sum, h, PACK_IDX_HEADER_LEN + records);
	memcpy(h + PACK_IDX_HEADER_LEN + records, sum.b, SHA256_LEN);
	out->len += PACK_IDX_HEADER_LEN + records + PACK_IDX_TRAILER_LEN;
	out->data[out->len] = 0;
	return 0;
}

size_t pack_index_count(const struct pack_index *idx)
{
	return idx->count;
}

const struct sha256 *pack_index_name(const struct pack_index *idx)
{
	return &idx->name;
}

uint64_t pack_index_pack_size(const struct pack_index *idx)
{
	return idx->pack_size;
}

void pack_index_get(struct pack_entry *out, const struct pack_index *idx, size_t i)
{
	assert(i < idx->count);
	record_decode(out, idx->records + i * PACK_RECORD_LEN);
}

void pack_index_get_by_offset(struct pack_entry *out, const struct pack_index *idx, size_t k)
{
	assert(k < idx->count);
	record_decode(out, idx->records + (size_t)idx->by_offset[k] * PACK_RECORD_LEN);
}

int pack_index_find(struct pack_entry *out, const struct pack_index *idx, const struct sha256 *id)
{
	size_t lo = 0, hi = idx->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c =
		    memcmp(id->b, idx->records + mid * PACK_RECORD_LEN + PACK_REC_ID, SHA256_LEN);

		if (c == 0) {
			record_decode(out, idx->records + mid * PACK_RECORD_LEN);
			return 0;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -ENOENT;
}

bool pack_index_same(const struct pack_index *a, const struct pack_index *b)
{
	return a->count == b->count && a->pack_size == b->pack_size &&
	       memcmp(a->records, b->records, a->count * PACK_RECORD_LEN) == 0;
}
