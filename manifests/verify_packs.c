/*
 * verify_packs.c — the pack half of `ferry verify`: every pack and index
 * in packs/, loaded into a table of indexes that the release checks then
 * use to find chunks.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fsx.h"
#include "core/mem.h"
#include "manifests/verify_int.h"
#include "packager/pack.h"

void vfy_report(struct vfy *v, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	v->stats->problems++;
	if (v->problem)
		(void)v->problem(line, v->ctx);
}

static int add_index(struct vfy *v, struct pack_index *idx)
{
	if (v->nidx == v->capidx) {
		size_t cap = v->capidx ? v->capidx * 2 : 64;
		struct pack_index **g = mem_realloc(v->idx, cap * sizeof(*g));

		if (!g)
			return -ENOMEM;
		v->idx = g;
		v->capidx = cap;
	}
	v->idx[v->nidx++] = idx;
	return 0;
}

static int problem_line(const char *line, void *ctx)
{
	struct vfy *v = ctx;

	vfy_report(v, "%s", line);
	return 0;
}

static int check_pack(struct vfy *v, const char *dir, const char *name)
{
	AUTO_FREE char *pack = fs_join(dir, name);
	AUTO_FREE char *idxpath = NULL;
	struct pack_index *idx = NULL;
	struct sha256 id;
	uint64_t chunks = 0;
	int r;

	if (!pack)
		return -ENOMEM;
	if (pack_name_from_path(&id, pack, PACK_SUFFIX) < 0)
		return 0; /* temporaries and strangers are not packs */
	r = pack_path_make(&idxpath, v->packs_dir, &id, PACK_IDX_SUFFIX);
	if (r < 0)
		return r;
	/* A pack without its index is debris from a publisher killed between
	 * the two renames: nothing refers to it (a release that did would
	 * fail its own check below). */
	if (!fs_exists(idxpath))
		return 0;
	r = pack_verify(&chunks, pack, idxpath, problem_line, v);
	v->stats->packs++;
	v->stats->chunks += chunks;
	if (r < 0 && r != -EBADMSG)
		vfy_report(v, "%s: %s", pack, err_text(r));
	if (pack_index_load(&idx, idxpath) == 0)
		return add_index(v, idx);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	const struct pack_index *x = *(struct pack_index *const *)a;
	const struct pack_index *y = *(struct pack_index *const *)b;

	return memcmp(pack_index_name(x)->b, pack_index_name(y)->b, SHA256_LEN);
}

int vfy_packs(struct vfy *v, const char *packs_dir)
{
	DIR *top = opendir(packs_dir);
	struct dirent *e;
	int r = 0;

	v->packs_dir = packs_dir;
	if (!top) {
		vfy_report(v, "%s: missing", packs_dir);
		return 0;
	}
	while (r == 0 && (e = readdir(top))) {
		AUTO_FREE char *sub = NULL;
		DIR *d;
		struct dirent *f;

		if (strlen(e->d_name) != 2)
			continue;
		sub = fs_join(packs_dir, e->d_name);
		d = sub ? opendir(sub) : NULL;
		if (!d)
			continue;
		while (r == 0 && (f = readdir(d)))
			if (f->d_name[0] != '.')
				r = check_pack(v, sub, f->d_name);
		closedir(d);
	}
	closedir(top);
	if (v->nidx)
		qsort(v->idx, v->nidx, sizeof(*v->idx), by_name);
	return r;
}

struct pack_index *vfy_index(struct vfy *v, const struct sha256 *name)
{
	size_t lo = 0, hi = v->nidx;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(name->b, pack_index_name(v->idx[mid])->b, SHA256_LEN);

		if (c == 0)
			return v->idx[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

void vfy_release(struct vfy *v)
{
	for (size_t i = 0; i < v->nidx; i++)
		pack_index_free(v->idx[i]);
	mem_free(v->idx);
}
