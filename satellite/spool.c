/*
 * spool.c — the spool's folders: naming objects by identity, opening an
 * object and reading back its blocks, assembling a complete object with
 * its hash checked, and walking the spool for `ferry sat status`.
 * The per-block records are in spool_block.c; the layout in
 * spool_format.h.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/codec_text.h"
#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "satellite/spool_int.h"

void spool_id_name(char *out, const struct sat_object_id *id)
{
	uint8_t oti[RQ_OTI_LEN];

	rq_oti_encode(oti, &id->oti);
	hex_encode(out, id->sha.b, SHA256_LEN);
	out[2 * SHA256_LEN] = '-';
	hex_encode(out + 2 * SHA256_LEN + 1, oti, RQ_OTI_LEN);
}

int spool_id_parse(struct sat_object_id *out, const char *name)
{
	uint8_t oti[RQ_OTI_LEN];

	/* Lowercase only: one identity, one folder name. */
	if (strlen(name) != SPOOL_ID_NAME_LEN || name[2 * SHA256_LEN] != '-' ||
	    strspn(name, "0123456789abcdef-") != SPOOL_ID_NAME_LEN ||
	    hex_decode(out->sha.b, SHA256_LEN, name, 2 * SHA256_LEN) < 0 ||
	    hex_decode(oti, RQ_OTI_LEN, name + 2 * SHA256_LEN + 1, 2 * RQ_OTI_LEN) < 0)
		return -EBADMSG;
	return rq_oti_decode(&out->oti, oti);
}

int spool_open(struct spool **out, const char *dir)
{
	struct spool *sp;
	int r;

	r = fs_mkdir_p(dir, 0755);
	if (r < 0)
		return err_keep(r, "spool: %s: %s", dir, strerror(-r));
	sp = mem_calloc(1, sizeof(*sp));
	if (!sp || !(sp->dir = mem_strdup(dir))) {
		mem_free(sp);
		return -ENOMEM;
	}
	r = spool_catalog_load(sp);
	if (r < 0) {
		spool_free(sp);
		return r;
	}
	*out = sp;
	return 0;
}

void spool_free(struct spool *sp)
{
	if (!sp)
		return;
	spool_catalog_free(sp);
	mem_free(sp->dir);
	mem_free(sp);
}

const char *spool_dir(const struct spool *sp)
{
	return sp->dir;
}

void spool_object_free(struct spool_object *o)
{
	if (!o)
		return;
	if (o->info)
		o->info->open = false;
	spool_object_close_fd(o);
	for (uint32_t i = 0; o->blocks && i < o->nblocks; i++)
		mem_free(o->blocks[i].esi);
	mem_free(o->blocks);
	mem_free(o->dir);
	mem_free(o);
}

const struct sat_object_id *spool_object_id(const struct spool_object *o)
{
	return &o->id;
}

int spool_object_alloc(struct spool_object **out, struct spool *sp,
		       const struct sat_object_id *id)
{
	struct spool_object *o = mem_calloc(1, sizeof(*o));
	char name[SPOOL_ID_NAME_LEN + 1];
	struct rq_block rb;
	int r;

	if (!o)
		return -ENOMEM;
	o->fd = -1;
	o->sp = sp;
	o->id = *id;
	o->nblocks = id->oti.source_blocks;
	spool_id_name(name, id);
	o->dir = fs_join(sp->dir, name);
	o->blocks = mem_calloc(o->nblocks, sizeof(*o->blocks));
	if (!o->dir || !o->blocks) {
		spool_object_free(o);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < o->nblocks; i++) {
		r = rq_oti_block(&rb, &id->oti, i);
		if (r < 0) {
			spool_object_free(o);
			return r;
		}
		o->blocks[i].offset = rb.offset;
		o->blocks[i].length = rb.length;
		o->blocks[i].k = rb.source_symbols;
	}
	*out = o;
	return 0;
}

int spool_object_open(struct spool_object **out, struct spool *sp,
		      const struct sat_object_id *id)
{
	struct spool_object *o;
	int r;

	r = rq_oti_check(&id->oti);
	if (r < 0)
		return r;
	r = spool_object_alloc(&o, sp, id);
	if (r < 0)
		return r;
	r = fs_mkdir_p(o->dir, 0755);
	if (r == 0)
		r = fs_tmp_sweep(o->dir);
	for (uint32_t i = 0; r == 0 && i < o->nblocks; i++)
		r = spool_block_load(o, i, true);
	if (r == 0)
		r = spool_object_attach(o);
	if (r < 0) {
		spool_object_free(o);
		return err_keep(r, "spool: %s: %s", sp->dir, strerror(-r));
	}
	*out = o;
	return 0;
}

int spool_object_set_name(struct spool_object *o, const char *name)
{
	AUTO_FREE char *path = fs_join(o->dir, "name");
	struct buf old;
	int r;

	if (!path)
		return -ENOMEM;
	buf_init(&old, LIMIT_PATH_BYTES);
	r = fs_read_file(&old, path, LIMIT_PATH_BYTES);
	if (r == 0 && old.len == strlen(name) && memcmp(old.data, name, old.len) == 0) {
		buf_release(&old);
		return 0;
	}
	buf_release(&old);
	r = fs_write_atomic(path, name, strlen(name));
	spool_object_recount(o);
	return r;
}

bool spool_object_complete(const struct spool_object *o)
{
	for (uint32_t i = 0; i < o->nblocks; i++)
		if (!o->blocks[i].done)
			return false;
	return true;
}

void spool_object_progress(struct spool_progress *out, const struct spool_object *o)
{
	memset(out, 0, sizeof(*out));
	out->blocks = o->nblocks;
	for (uint32_t i = 0; i < o->nblocks; i++) {
		const struct spool_block *b = &o->blocks[i];
		uint32_t held = b->done ? b->k : b->nesi < b->k ? b->nesi : b->k;

		out->held += held;
		out->needed += b->k;
		out->blocks_done += b->done;
	}
}

/* Removes the files of the object's folder (not the folder). */
static int clear_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			(void)unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	return 0;
}

int spool_object_reset(struct spool_object *o)
{
	int r;

	spool_object_close_fd(o);
	for (uint32_t i = 0; i < o->nblocks; i++) {
		struct spool_block *b = &o->blocks[i];

		mem_free(b->esi);
		b->esi = NULL;
		b->nesi = b->cap = b->tried_at = 0;
		b->done = false;
	}
	r = clear_dir(o->dir);
	spool_object_recount(o);
	return r;
}

int spool_object_remove(struct spool_object *o)
{
	int r;

	if (!o)
		return 0;
	spool_object_close_fd(o);
	r = spool_dir_remove(o->sp, o->dir);
	if (r == 0 && o->info) {
		spool_catalog_drop(o->sp, o->info);
		o->info = NULL;
	}
	spool_object_free(o);
	return r;
}
