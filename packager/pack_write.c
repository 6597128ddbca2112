/*
 * pack_write.c — streams chunks into a new pack and publishes it.
 *
 * The pack's bytes go straight to a temporary file beside the packs folder
 * and through a running SHA-256; memory holds only the entries' index
 * records (struct pack_entry, in write order) and a small hash set over
 * their IDs that refuses duplicates as they arrive.  Finishing sorts the
 * records by ID, appends them and the footer, and only then knows the
 * pack's name, hence its final folder: the pack is fsynced and renamed
 * into packs/<xx>/, and its .idx written atomically after it (the .idx is
 * the commit point; see pack.h for what a crash leaves behind).
 *
 * The hash set maps an ID to its slot with a random odd multiplier chosen
 * per writer, so content crafted to make IDs agree in some bits cannot
 * pile entries into one probe chain.
 */
#define _GNU_SOURCE
#include "packager/pack.h"

#include <fcntl.h>
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/fsx.h"
#include "core/mem.h"

#define WRITER_MIN_SLOTS_LOG 6

#define WRITEBACK_STEP (8ull << 20)

struct pack_writer {
	char *dir;
	char *tmp; /* the temporary pack, NULL once renamed or removed */
	int fd;
	uint64_t max_bytes;
	uint64_t size; /* bytes written so far */
	struct sha256_ctx *hash;
	struct pack_entry *ents; /* in write order */
	size_t count;
	size_t cap;
	uint32_t *slots;    /* entry number + 1, or 0 for an empty slot */
	unsigned slots_log; /* the set has 1 << slots_log slots */
	uint64_t mult;	    /* odd multiplier of the slot hash */
	int error;	    /* sticky: a failed write, or -EINVAL once finished */
};

void pack_writer_free(struct pack_writer *w)
{
	if (!w)
		return;
	if (w->tmp)
		fs_tmp_abort(w->fd, w->tmp);
	mem_free(w->tmp);
	mem_free(w->dir);
	sha256_ctx_free(w->hash);
	mem_free(w->ents);
	mem_free(w->slots);
	mem_free(w);
}

/* Appends to the pack and its running hash; a failure sticks. */
static int writer_write(struct pack_writer *w, const void *p, size_t n)
{
	int r = fs_write_all(w->fd, p, n);

	if (r < 0) {
		w->error = err_set(r, "%s: %s", w->tmp, strerror(-r));
		return r;
	}
	sha256_ctx_update(w->hash, p, n);
	/* Start writing back each finished 8 MiB now, so the fsync at the end
	 * of the pack waits for little instead of stalling the packer.  Only
	 * advice: where it is unsupported, fsync does all the work later. */
	if ((w->size + n) / WRITEBACK_STEP != w->size / WRITEBACK_STEP) {
		uint64_t end = (w->size + n) / WRITEBACK_STEP * WRITEBACK_STEP;

		(void)sync_file_range(w->fd, (off_t)(end - WRITEBACK_STEP), (off_t)WRITEBACK_STEP,
				      SYNC_FILE_RANGE_WRITE);
	}
	w->size += n;
	return 0;
}

int pack_writer_new(struct pack_writer **out, const char *packs_dir, uint64_t max_bytes)
{
	AUTO_FREE char *base = NULL;
	struct pack_writer *w;
	uint8_t hdr[PACK_HEADER_LEN] = {0};
	int r;

	if (max_bytes == 0)
		max_bytes = LIMIT_PACK_DEFAULT_BYTES;
	if (max_bytes > LIMIT_PACK_BYTES)
		return err_set(-EFBIG, "pack cap %llu is over the %llu-byte limit",
			       (unsigned long long)max_bytes, (unsigned long long)LIMIT_PACK_BYTES);
	if (max_bytes < PACK_MIN_BYTES)
		return err_set(-EINVAL, "pack cap %llu is below %u bytes",
			       (unsigned long long)max_bytes, (unsigned)PACK_MIN_BYTES);
	w = mem_calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = -1;
	w->max_bytes = max_bytes;
	w->dir = mem_strdup(packs_dir);
	base = fs_join(packs_dir, "pack");
	r = w->dir && base ? 0 : -ENOMEM;
	if (r >= 0)
		r = crypto_random(&w->mult, sizeof(w->mult));
	w->mult |= 1;
	if (r >= 0)
		r = sha256_ctx_new(&w->hash);
	if (r >= 0)
		r = fs_mkdir_p(packs_dir, 0755);
	if (r >= 0)
		r = fs_tmp_open(&w->fd, &w->tmp, base);
	memcpy(hdr + PACK_HDR_MAGIC, PACK_MAGIC, PACK_MAGIC_LEN);
	put_le32(hdr + PACK_HDR_VERSION, PACK_VERSION);
	put_le32(hdr + PACK_HDR_FLAGS, 0);
	if (r >= 0)
		r = writer_write(w, hdr, sizeof(hdr));
	if (r < 0) {
		pack_writer_free(w);
		return r;
	}
	*out = w;
	return 0;
}

bool pack_writer_fits(const struct pack_writer *w, size_t stored_len)
{
	uint64_t after;

	if (stored_len > LIMIT_CHUNK_MAX || w->count >= LIMIT_PACK_ENTRIES)
		return false;
	/* Everything is bounded far below 2^64: size <= max_bytes < 2^32. */
	after = w->size + PACK_ENTRY_HEADER_LEN + stored_len +
		(uint64_t)(w->count + 1) * PACK_RECORD_LEN + PACK_FOOTER_LEN;
	return after <= w->max_bytes;
}

size_t pack_writer_count(const struct pack_writer *w)
{
	return w->count;
}

/* The slot holding id, or the empty slot where it would go. */
static size_t slot_find(const struct pack_writer *w, const struct sha256 *id)
{
	size_t mask = ((size_t)1 << w->slots_log) - 1;
	size_t s = (size_t)((get_le64(id->b) * w->mult) >> (64 - w->slots_log));

	while (w->slots[s] && memcmp(w->ents[w->slots[s] - 1].id.b, id->b, SHA256_LEN) != 0)
		s = (s + 1) & mask;
	return s;
}

/* Makes room for one more entry: the record array and a set kept at most
 * half full.  On failure the writer is unchanged. */
static int writer_grow(struct pack_writer *w)
{
	if (w->count == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 64;
		struct pack_entry *e;

		if (cap > LIMIT_PACK_ENTRIES)
			cap = LIMIT_PACK_ENTRIES;
		e = mem_realloc(w->ents, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		w->ents = e;
		w->cap = cap;
	}
	if (!w->slots || 2 * (w->count + 1) > ((size_t)1 << w->slots_log)) {
		unsigned log = w->slots ? w->slots_log + 1 : WRITER_MIN_SLOTS_LOG;
		uint32_t *old = w->slots;

		w->slots = mem_calloc((size_t)1 << log, sizeof(*w->slots));
		if (!w->slots) {
			w->slots = old;
			return -ENOMEM;
		}
		w->slots_log = log;
		for (size_t i = 0; i < w->count; i++)
			w->slots[slot_find(w, &w->ents[i].id)] = (uint32_t)(i + 1);
		mem_free(old);
	}
	return 0;
}

int pack_writer_add(struct pack_writer *w, const struct sha256 *id, uint8_t type,
		    const void *stored, size_t stored_len, uint32_t raw_len)
{
	uint8_t hdr[PACK_ENTRY_HEADER_LEN] = {0};
	struct pack_entry e = {.id = *id, .offset = w->size, .raw_len = raw_len, .type = type};
	size_t s;
	int r;

	if (w->error)
		return w->error;
	if (stored_len > LIMIT_CHUNK_MAX)
		return err_set(-EINVAL, "entry of %zu stored bytes", stored_len);
	e.stored_len = (uint32_t)stored_len;
	if (pack_entry_validate(&e) < 0)
		return err_set(-EINVAL, "pack entry refused: type %u, %zu stored, %u raw bytes",
			       type, stored_len, raw_len);
	if (!pack_writer_fits(w, stored_len))
		return err_set(-EFBIG, "pack entry does not fit under the %llu-byte cap",
			       (unsigned long long)w->max_bytes);
	r = writer_grow(w);
	if (r < 0)
		return r;
	s = slot_find(w, id);
	if (w->slots[s])
		return err_set(-EEXIST, "chunk already in this pack");
	hdr[PACK_EH_TYPE] = type;
	put_le32(hdr + PACK_EH_STORED_LEN, e.stored_len);
	put_le32(hdr + PACK_EH_RAW_LEN, raw_len);
	memcpy(hdr + PACK_EH_ID, id->b, SHA256_LEN);
	r = writer_write(w, hdr, sizeof(hdr));
	if (r >= 0)
		r = writer_write(w, stored, stored_len);
	if (r < 0)
		return r;
	w->ents[w->count] = e;
	w->slots[s] = (uint32_t)(++w->count);
	return 0;
}

static int entry_id_cmp(const void *a, const void *b)
{
	return memcmp(((const struct pack_entry *)a)->id.b, ((const struct pack_entry *)b)->id.b,
		      SHA256_LEN);
}

/* Sorts the records, encodes them into the .idx image idx (whose header
 * and trailer are filled in later), and appends them and the footer to
 * the pack; *name_out receives the pack's name. */
static int writer_write_index(struct pack_writer *w, uint8_t *idx, struct sha256 *name_out)
{
	uint8_t *rec = idx + PACK_IDX_HEADER_LEN;
	uint8_t ft[PACK_FOOTER_LEN] = {0};
	uint64_t index_off = w->size;
	int r;

	qsort(w->ents, w->count, sizeof(*w->ents), entry_id_cmp);
	for (size_t i = 0; i < w->count; i++, rec += PACK_RECORD_LEN) {
		const struct pack_entry *e = &w->ents[i];

		memset(rec, 0, PACK_RECORD_LEN);
		memcpy(rec + PACK_REC_ID, e->id.b, SHA256_LEN);
		put_le64(rec + PACK_REC_OFFSET, e->offset);
		put_le32(rec + PACK_REC_STORED_LEN, e->stored_len);
		put_le32(rec + PACK_REC_RAW_LEN, e->raw_len);
		rec[PACK_REC_TYPE] = e->type;
	}
	put_le64(ft + PACK_FT_INDEX_OFFSET, index_off);
	put_le32(ft + PACK_FT_COUNT, (uint32_t)w->count);
	memcpy(ft + PACK_FT_MAGIC, PACK_END_MAGIC, PACK_MAGIC_LEN);
	r = writer_write(w, idx + PACK_IDX_HEADER_LEN, w->count * PACK_RECORD_LEN);
	if (r >= 0)
		r = writer_write(w, ft, sizeof(ft));
	if (r < 0)
		return r;
	sha256_ctx_final(w->hash, name_out);
	return 0;
}

static void idx_seal(uint8_t *idx, size_t len, const struct sha256 *name, uint64_t pack_size,
		     size_t count)
{
	struct sha256 sum;

	memcpy(idx + PACK_IDX_MAGIC_OFF, PACK_IDX_MAGIC, PACK_MAGIC_LEN);
	put_le32(idx + PACK_IDX_VERSION_OFF, PACK_IDX_VERSION);
	put_le32(idx + PACK_IDX_FLAGS_OFF, 0);
	put_le64(idx + PACK_IDX_PACK_SIZE_OFF, pack_size);
	memcpy(idx + PACK_IDX_NAME_OFF, name->b, SHA256_LEN);
	put_le32(idx + PACK_IDX_COUNT_OFF, (uint32_t)count);
	put_le32(idx + PACK_IDX_RESERVED_OFF, 0);
	sha256_buf(&sum, idx, len - PACK_IDX_TRAILER_LEN);
	memcpy(idx + len - PACK_IDX_TRAILER_LEN, sum.b, SHA256_LEN);
}

/* Renames the finished pack into packs/<xx>/ and then writes its .idx. */
static int writer_publish(struct pack_writer *w, const struct sha256 *name, const uint8_t *idx,
			  size_t idx_len)
{
	AUTO_FREE char *pack_path = NULL;
	AUTO_FREE char *idx_path = NULL;
	int r;

	r = pack_path_make(&pack_path, w->dir, name, PACK_SUFFIX);
	if (r >= 0)
		r = pack_path_make(&idx_path, w->dir, name, PACK_IDX_SUFFIX);
	if (r >= 0)
		r = fs_mkdir_parents(pack_path, 0755);
	/* The <xx> folder may be new: make its entry durable too. */
	if (r >= 0)
		r = fs_fsync_dir(w->dir);
	if (r < 0)
		return r;
	r = fs_tmp_commit(w->fd, w->tmp, pack_path);
	w->fd = -1;
	mem_free(w->tmp);
	w->tmp = NULL;
	if (r < 0)
		return r;
	return fs_write_atomic(idx_path, idx, idx_len);
}

/* Builds the index and .idx image and publishes both. */
static int writer_finish(struct pack_writer *w, struct sha256 *name_out)
{
	AUTO_FREE uint8_t *idx = NULL;
	size_t idx_len;
	int r;

	if (w->count == 0)
		return err_set(-EINVAL, "a pack needs at least one entry");
	idx_len = PACK_IDX_HEADER_LEN + w->count * PACK_RECORD_LEN + PACK_IDX_TRAILER_LEN;
	idx = mem_alloc(idx_len);
	if (!idx)
		return -ENOMEM;
	r = writer_write_index(w, idx, name_out);
	if (r < 0)
		return r;
	assert(w->size <= w->max_bytes);
	idx_seal(idx, idx_len, name_out, w->size, w->count);
	return writer_publish(w, name_out, idx, idx_len);
}

int pack_writer_finish(struct pack_writer *w, struct sha256 *name_out, uint64_t *size_out)
{
	struct sha256 name;
	int r;

	if (w->error)
		return w->error;
	r = writer_finish(w, &name);
	w->error = -EINVAL;
	if (w->tmp) {
		fs_tmp_abort(w->fd, w->tmp);
		mem_free(w->tmp);
		w->tmp = NULL;
		w->fd = -1;
	}
	if (r < 0)
		return r;
	*name_out = name;
	*size_out = w->size;
	return 0;
}

int pack_chunk_encode(uint8_t *type_out, const uint8_t **stored_out, size_t *stored_len_out,
		      struct codec *c, uint8_t *scratch, size_t scratch_cap, const void *raw,
		      size_t raw_len)
{
	size_t len = 0;
	int r;

	if (raw_len == 0 || raw_len > LIMIT_CHUNK_MAX)
		return err_set(-EFBIG, "chunk of %zu bytes is outside 1..%u", raw_len,
			       LIMIT_CHUNK_MAX);
	r = codec_choose(&len, c, scratch, scratch_cap, raw, raw_len);
	if (r < 0)
		return r;
	if (r == CODEC_FRAME) {
		*type_out = PACK_ENTRY_ZSTD;
		*stored_out = scratch;
		*stored_len_out = len;
	} else {
		*type_out = PACK_ENTRY_RAW;
		*stored_out = raw;
		*stored_len_out = raw_len;
	}
	return 0;
}
