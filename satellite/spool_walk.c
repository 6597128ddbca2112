/*
 * spool_walk.c — reading a spool out: a complete object streamed to a file
 * with its hash checked, and every object's progress for status.
 */
#include <dirent.h>
#include <string.h>

#include "core/buf.h"
#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "satellite/spool_int.h"

/* Appends block sbn's decoded bytes to fd and the hash. */
static int copy_block(struct spool_object *o, uint32_t sbn, int fd, struct sha256_ctx *h)
{
	AUTO_FREE char *path = spool_block_path(o, sbn, "dec");
	struct buf b;
	int r;

	if (!path)
		return -ENOMEM;
	buf_init(&b, o->blocks[sbn].length);
	r = fs_read_file(&b, path, o->blocks[sbn].length);
	if (r == 0 && b.len != o->blocks[sbn].length)
		r = err_set(-EBADMSG, "spool: %s: %zu bytes, block has %zu", path, b.len,
			    o->blocks[sbn].length);
	if (r == 0) {
		sha256_ctx_update(h, b.data, b.len);
		r = fs_write_all(fd, b.data, b.len);
	}
	buf_release(&b);
	return r;
}

int spool_object_assemble(struct spool_object *o, int fd)
{
	struct sha256_ctx *h;
	struct sha256 got;
	int r;

	if (!spool_object_complete(o))
		return err_set(-EINVAL, "spool: object is not complete");
	r = sha256_ctx_new(&h);
	if (r < 0)
		return r;
	for (uint32_t i = 0; r == 0 && i < o->nblocks; i++)
		r = copy_block(o, i, fd, h);
	sha256_ctx_final(h, &got);
	sha256_ctx_free(h);
	if (r < 0)
		return r;
	if (memcmp(got.b, o->id.sha.b, SHA256_LEN) != 0) {
		r = spool_object_reset(o);
		(void)r;
		return err_set(-EBADMSG, "decoded object does not match its SHA-256");
	}
	return 0;
}

static int walk_one(struct spool *sp, const char *dname, spool_walk_fn fn, void *ctx)
{
	struct sat_object_id id;
	struct spool_object *o;
	struct spool_progress p;
	AUTO_FREE char *namefile = NULL;
	struct buf name;
	int r = 0;

	if (spool_id_parse(&id, dname) < 0)
		return 0;
	if (spool_object_alloc(&o, sp, &id) < 0)
		return 0;
	for (uint32_t i = 0; r == 0 && i < o->nblocks; i++)
		r = spool_block_load(o, i, false);
	if (r < 0) {
		spool_object_free(o);
		return 0;
	}
	spool_object_progress(&p, o);
	namefile = fs_join(o->dir, "name");
	buf_init(&name, LIMIT_PATH_BYTES);
	if (namefile && fs_read_file(&name, namefile, LIMIT_PATH_BYTES) < 0)
		buf_reset(&name);
	r = fn(&id, name.data ? (const char *)name.data : "", &p, ctx);
	buf_release(&name);
	spool_object_free(o);
	return r;
}

int spool_walk(struct spool *sp, spool_walk_fn fn, void *ctx)
{
	DIR *d = opendir(sp->dir);
	struct dirent *e;
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0 : err_set(-errno, "spool: %s: %s", sp->dir, strerror(errno));
	while (r >= 0 && (e = readdir(d)))
		r = walk_one(sp, e->d_name, fn, ctx);
	closedir(d);
	return r < 0 ? r : 0;
}
