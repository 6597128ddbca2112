/*
 * fuzz_spool.c — fuzz target for reading a spool file back after a crash.
 *
 * The input becomes the symbol file of block 0 of a fixed object (645
 * bytes in 64-byte symbols: one block, K = 11, whose bytes are a known
 * pattern).  With a first byte of 1 the target writes a valid header
 * itself and the rest of the input are records, so mutations reach the
 * record reader; otherwise the whole input is the file, header included.
 * Opening must cut whatever is bad, never hold more than K + extra
 * symbols, and a decode and assembly must either give the exact object or
 * refuse it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "satellite/spool.h"
#include "satellite/spool_format.h"
#include "satellite/spool_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OBJ_LEN 645u
#define OBJ_T 64u

static uint8_t object[OBJ_LEN];

static char scratch_dir[64];

static void scratch_remove(void)
{
	(void)rmdir(scratch_dir);
}

static const char *scratch(void)
{
	if (!scratch_dir[0]) {
		snprintf(scratch_dir, sizeof(scratch_dir), "/tmp/fuzz_spool.XXXXXX");
		if (!mkdtemp(scratch_dir))
			abort();
		atexit(scratch_remove);
	}
	return scratch_dir;
}

static void fixed_id(struct sat_object_id *id)
{
	for (size_t i = 0; i < OBJ_LEN; i++)
		object[i] = (uint8_t)(i * 7 % 251);
	sha256_buf(&id->sha, object, OBJ_LEN);
	if (rq_oti_for(&id->oti, OBJ_LEN, OBJ_T, 64) < 0)
		abort();
}

static void write_file(const char *path, const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || fs_write_all(fd, a, na) < 0 || fs_write_all(fd, b, nb) < 0)
		abort();
	close(fd);
}

static void check_object(struct spool_object *o)
{
	struct spool_progress p;
	uint8_t back[OBJ_LEN + 1];
	char out[128];
	int r, fd;

	spool_object_progress(&p, o);
	if (p.held > p.needed || o->blocks[0].nesi > spool_block_cap(&o->blocks[0]))
		abort();
	if (spool_object_block_ready(o, 0)) {
		r = spool_object_decode_block(o, 0);
		if (r != 0 && r != -EAGAIN && r != -ENOMEM)
			abort();
	}
	if (!spool_object_complete(o))
		return;
	snprintf(out, sizeof(out), "%s/assembled", scratch());
	fd = open(out, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		abort();
	r = spool_object_assemble(o, fd);
	if (r == 0 && (pread(fd, back, sizeof(back), 0) != OBJ_LEN ||
		       memcmp(back, object, OBJ_LEN) != 0))
		abort();
	if (r < 0 && r != -EBADMSG && r != -ENOMEM)
		abort();
	close(fd);
	(void)unlink(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sat_object_id id;
	struct spool *sp;
	struct spool_object *o;
	uint8_t header[SPOOL_HEADER_LEN];
	char *sym;

	fixed_id(&id);
	if (spool_open(&sp, scratch()) < 0)
		abort();
	if (spool_object_alloc(&o, sp, &id) < 0 || fs_mkdir_p(o->dir, 0755) < 0)
		abort();
	sym = spool_block_path(o, 0, "sym");
	spool_header_encode(header, o, 0);
	if (size > 0 && data[0] == 1)
		write_file(sym, header, sizeof(header), data + 1, size - 1);
	else
		write_file(sym, data, size, NULL, 0);
	mem_free(sym);
	spool_object_free(o);
	if (spool_object_open(&o, sp, &id) == 0) {
		check_object(o);
		if (spool_object_remove(o) < 0)
			abort();
	}
	spool_free(sp);
	return 0;
}
