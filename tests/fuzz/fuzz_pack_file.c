/*
 * fuzz_pack_file.c — pack_verify() over an arbitrary pack and .idx.
 *
 * Input: one mode byte, a u32 (little-endian) length L, L bytes of .idx,
 * and the rest is the pack.  Mode bits steer the fuzzer past checks it
 * cannot forge:
 *   1  recompute the .idx's trailing SHA-256
 *   2  first write the pack's real size and SHA-256 into the .idx header
 *   4  name the pack file by its SHA-256 (else "x.pack")
 *   8  write no .idx at all (a lone pack)
 * The two files go to a private folder under $TMPDIR (or /tmp).  The verdict must agree
 * with the callback: 0 exactly when no problem line was reported.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/codec_text.h"
#include "core/crypto.h"
#include "packager/pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[512];

static void remove_dir(void)
{
	(void)rmdir(dir);
}

static int count_line(const char *line, void *ctx)
{
	(void)line;
	(*(unsigned *)ctx)++;
	return 0;
}

/* Plain writes: durability is not under test, and fsync would make the
 * fuzzer a hundred times slower. */
static void put(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0)
		abort();
}

static void prepare_idx(uint8_t *idx, size_t n, const uint8_t *pack, size_t pack_len, unsigned mode)
{
	if ((mode & 2) && n >= PACK_IDX_HEADER_LEN) {
		sha256_buf((struct sha256 *)(idx + PACK_IDX_NAME_OFF), pack, pack_len);
		put_le64(idx + PACK_IDX_PACK_SIZE_OFF, pack_len);
	}
	if ((mode & 1) && n >= SHA256_LEN)
		sha256_buf((struct sha256 *)(idx + n - SHA256_LEN), idx, n - SHA256_LEN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char pack_path[700], idx_path[700], hex[2 * SHA256_LEN + 1] = "x";
	const uint8_t *pack;
	uint8_t *idx;
	size_t idx_len, pack_len;
	unsigned mode, lines = 0;
	uint64_t good = 0;
	struct sha256 name;
	int r;

	if (!dir[0]) {
		const char *tmp = getenv("TMPDIR");

		snprintf(dir, sizeof(dir), "%s/fuzz-pack-file-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(dir))
			abort();
		atexit(remove_dir);
	}
	if (size < 5)
		return 0;
	mode = data[0];
	idx_len = get_le32(data + 1);
	if (idx_len > size - 5)
		idx_len = size - 5;
	pack = data + 5 + idx_len;
	pack_len = size - 5 - idx_len;
	idx = malloc(idx_len + 1);
	if (!idx)
		return 0;
	memcpy(idx, data + 5, idx_len);
	prepare_idx(idx, idx_len, pack, pack_len, mode);
	sha256_buf(&name, pack, pack_len);
	if (mode & 4)
		hex_encode(hex, name.b, SHA256_LEN);
	snprintf(pack_path, sizeof(pack_path), "%s/%s.pack", dir, hex);
	snprintf(idx_path, sizeof(idx_path), "%s/%s.idx", dir, hex);
	put(pack_path, pack, pack_len);
	if (!(mode & 8))
		put(idx_path, idx, idx_len);
	r = pack_verify(&good, pack_path, idx_path, count_line, &lines);
	if ((r == 0) != (lines == 0) || (r < 0 && r != -EBADMSG))
		abort();
	(void)unlink(pack_path);
	(void)unlink(idx_path);
	free(idx);
	return 0;
}
