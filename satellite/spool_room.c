/*
 * spool_room.c — what the spool holds on disk: a catalog of its object
 * folders with the bytes each takes and how far each got, kept in step by
 * every append, decode and removal, and the crash-safe removal of a whole
 * object.  The cap itself is the receiver's policy (carousel_recv_room.c);
 * spool.h describes the accounting.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fsx.h"
#include "core/mem.h"
#include "satellite/spool_format.h"
#include "satellite/spool_int.h"

static bool id_eq(const struct sat_object_id *a, const struct sat_object_id *b)
{
	return memcmp(a->sha.b, b->sha.b, SHA256_LEN) == 0 &&
	       a->oti.transfer_length == b->oti.transfer_length &&
	       a->oti.symbol_size == b->oti.symbol_size &&
	       a->oti.source_blocks == b->oti.source_blocks &&
	       a->oti.sub_blocks == b->oti.sub_blocks && a->oti.alignment == b->oti.alignment;
}

uint64_t spool_used(const struct spool *sp)
{
	return sp->used;
}

size_t spool_count(const struct spool *sp)
{
	return sp->ncat;
}

struct spool_info *spool_info_at(struct spool *sp, size_t i)
{
	return i < sp->ncat ? sp->cat[i] : NULL;
}

struct spool_info *spool_find(struct spool *sp, const struct sat_object_id *id)
{
	for (size_t i = 0; i < sp->ncat; i++)
		if (id_eq(&sp->cat[i]->id, id))
			return sp->cat[i];
	return NULL;
}

struct spool_info *spool_object_info(struct spool_object *o)
{
	return o->info;
}

static struct spool_info *cat_add(struct spool *sp, const struct sat_object_id *id)
{
	struct spool_info *info;

	if (sp->ncat == sp->capcat) {
		size_t cap = sp->capcat ? sp->capcat * 2 : 16;
		struct spool_info **n = mem_realloc(sp->cat, cap * sizeof(*n));

		if (!n)
			return NULL;
		sp->cat = n;
		sp->capcat = cap;
	}
	info = mem_calloc(1, sizeof(*info));
	if (!info)
		return NULL;
	info->id = *id;
	info->need = spool_object_need(&id->oti);
	sp->cat[sp->ncat++] = info;
	return info;
}

void spool_catalog_drop(struct spool *sp, struct spool_info *info)
{
	for (size_t i = 0; i < sp->ncat; i++) {
		if (sp->cat[i] != info)
			continue;
		sp->used -= info->bytes;
		sp->cat[i] = sp->cat[--sp->ncat];
		mem_free(info);
		return;
	}
}

void spool_catalog_free(struct spool *sp)
{
	for (size_t i = 0; i < sp->ncat; i++)
		mem_free(sp->cat[i]);
	mem_free(sp->cat);
	sp->cat = NULL;
	sp->ncat = sp->capcat = 0;
	sp->used = 0;
}

static uint64_t size_of(const char *path)
{
	uint64_t n;

	return path && fs_file_size(&n, path) == 0 ? n : 0;
}

/* The bytes of o's files, and (from the sizes alone) the symbols held. */
static uint64_t files_bytes(const struct spool_object *o, uint64_t *held)
{
	uint64_t rec = SPOOL_RECORD_OVERHEAD + o->id.oti.symbol_size, total;
	AUTO_FREE char *name = fs_join(o->dir, "name");

	total = SPOOL_OBJECT_OVERHEAD + size_of(name);
	*held = 0;
	for (uint32_t i = 0; i < o->nblocks; i++) {
		const struct spool_block *b = &o->blocks[i];
		AUTO_FREE char *dec = spool_block_path(o, i, "dec");
		AUTO_FREE char *sym = spool_block_path(o, i, "sym");
		uint64_t d = size_of(dec), s = size_of(sym), n;

		total += d + s;
		if (d == b->length && d) {
			*held += b->k;
		} else if (s > SPOOL_HEADER_LEN) {
			n = (s - SPOOL_HEADER_LEN) / rec;
			*held += n < b->k ? n : b->k;
		}
	}
	return total;
}

void spool_object_recount(struct spool_object *o)
{
	struct spool_info *info = o->info;
	struct spool_progress p;
	uint64_t held;

	if (!info)
		return;
	o->sp->used -= info->bytes;
	info->bytes = files_bytes(o, &held);
	o->sp->used += info->bytes;
	spool_object_progress(&p, o);
	info->held = p.held;
	info->needed = p.needed;
}

void spool_object_grow(struct spool_object *o, uint64_t bytes, uint64_t held)
{
	if (!o->info)
		return;
	o->info->bytes += bytes;
	o->info->held += held;
	o->sp->used += bytes;
}

int spool_object_attach(struct spool_object *o)
{
	struct spool_info *info = spool_find(o->sp, &o->id);

	if (!info && !(info = cat_add(o->sp, &o->id)))
		return -ENOMEM;
	info->open = true;
	o->info = info;
	spool_object_recount(o);
	return 0;
}

bool spool_object_wants(const struct spool_object *o, uint32_t sbn, uint32_t esi)
{
	const struct spool_block *b;
	uint32_t pos;

	if (sbn >= o->nblocks || esi > RQ_ESI_MAX)
		return false;
	b = &o->blocks[sbn];
	if (b->done || b->nesi >= spool_block_cap(b))
		return false;
	return !spool_esi_find(b, esi, &pos);
}

uint64_t spool_object_add_cost(const struct spool_object *o, uint32_t sbn)
{
	uint64_t cost = SPOOL_RECORD_OVERHEAD + o->id.oti.symbol_size;
	const struct spool_block *b;

	if (sbn >= o->nblocks)
		return cost;
	b = &o->blocks[sbn];
	/* A block without symbols may have no file yet: count its header
	 * (over-counting by 72 bytes when a bare header is left is safe). */
	if (b->nesi == 0)
		cost += SPOOL_HEADER_LEN;
	/* The symbol that lets the block decode: its decoded bytes are
	 * written before its symbols are deleted. */
	if (!b->done && b->nesi + 1 >= b->k)
		cost += b->length;
	return cost;
}

uint64_t spool_new_object_cost(const struct rq_oti *oti)
{
	/* The folder, its name file (within the overhead's block), one block's
	 * header and one record. */
	return SPOOL_OBJECT_OVERHEAD + SPOOL_HEADER_LEN + SPOOL_RECORD_OVERHEAD + oti->symbol_size;
}

uint64_t spool_object_need(const struct rq_oti *oti)
{
	uint64_t rec = SPOOL_RECORD_OVERHEAD + oti->symbol_size, total = SPOOL_OBJECT_OVERHEAD;
	uint64_t largest = 0;
	struct rq_block b;

	for (uint32_t i = 0; i < oti->source_blocks; i++) {
		if (rq_oti_block(&b, oti, i) < 0)
			return UINT64_MAX;
		total += SPOOL_HEADER_LEN + (b.source_symbols + 2ull) * rec;
		if (b.length > largest)
			largest = b.length;
	}
	return total + largest;
}

/* Deletes the plain files in path, then path. */
static int remove_flat(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;

	if (!d && errno == ENOTDIR)
		return unlink(path) < 0 ? -errno : 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			(void)unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	return rmdir(path) < 0 && errno != ENOENT ? -errno : 0;
}

int spool_dir_remove(struct spool *sp, const char *dir)
{
	const char *base = strrchr(dir, '/');
	AUTO_FREE char *gone = NULL;
	char name[SPOOL_ID_NAME_LEN + sizeof(SPOOL_GONE_PREFIX) + 1];
	int r;

	base = base ? base + 1 : dir;
	snprintf(name, sizeof(name), SPOOL_GONE_PREFIX "%s", base);
	gone = fs_join(sp->dir, name);
	if (!gone)
		return -ENOMEM;
	/* One rename makes the object vanish whole; what is left of a kill
	 * after it is a .gone- folder that spool_open() deletes. */
	if (rename(dir, gone) < 0)
		return errno == ENOENT ? 0 : err_set(-errno, "spool: %s: %s", dir, strerror(errno));
	r = fs_fsync_dir(sp->dir);
	if (r == 0)
		r = remove_flat(gone);
	return r < 0 ? err_set(r, "spool: %s: %s", gone, strerror(-r)) : 0;
}

int spool_evict(struct spool *sp, size_t i)
{
	char name[SPOOL_ID_NAME_LEN + 1];
	AUTO_FREE char *dir = NULL;
	struct spool_info *info;
	int r;

	if (i >= sp->ncat)
		return -EINVAL;
	info = sp->cat[i];
	if (info->open)
		return -EBUSY;
	spool_id_name(name, &info->id);
	dir = fs_join(sp->dir, name);
	if (!dir)
		return -ENOMEM;
	r = spool_dir_remove(sp, dir);
	if (r == 0)
		spool_catalog_drop(sp, info);
	return r;
}

/* Adds the folder dname to the catalog if it names an object. */
static int load_one(struct spool *sp, const char *dname)
{
	struct sat_object_id id;
	struct spool_object *o;
	struct spool_info *info;
	AUTO_FREE char *path = fs_join(sp->dir, dname);
	struct stat st;
	uint64_t held;
	int r;

	if (!path)
		return -ENOMEM;
	if (spool_id_parse(&id, dname) < 0 || rq_oti_check(&id.oti) < 0 ||
	    lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	r = spool_object_alloc(&o, sp, &id);
	if (r < 0)
		return r == -ENOMEM ? r : 0;
	info = cat_add(sp, &id);
	if (!info) {
		spool_object_free(o);
		return -ENOMEM;
	}
	info->bytes = files_bytes(o, &held);
	info->held = held;
	for (uint32_t i = 0; i < o->nblocks; i++)
		info->needed += o->blocks[i].k;
	sp->used += info->bytes;
	spool_object_free(o);
	return 0;
}

int spool_catalog_load(struct spool *sp)
{
	DIR *d = opendir(sp->dir);
	struct dirent *e;
	int r = 0;

	if (!d)
		return err_set(-errno, "spool: %s: %s", sp->dir, strerror(errno));
	while (r == 0 && (e = readdir(d))) {
		if (strncmp(e->d_name, SPOOL_GONE_PREFIX, strlen(SPOOL_GONE_PREFIX)) == 0) {
			AUTO_FREE char *gone = fs_join(sp->dir, e->d_name);

			/* An eviction a kill interrupted: finish it.  Whatever
			 * else is in there (not ours) is left, never fatal. */
			if (!gone)
				r = -ENOMEM;
			else
				(void)remove_flat(gone);
			continue;
		}
		r = load_one(sp, e->d_name);
	}
	closedir(d);
	return r;
}
