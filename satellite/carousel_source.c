/*
 * carousel_source.c — the bytes of the symbols the schedule asks for.
 *
 * A source symbol (ESI < K) is read straight from the object: memory, or
 * pread() of T bytes from the file, zero-padded past the block.  A repair
 * symbol needs the block's encoder; encoders live in a small cache of at
 * most mem_budget bytes, least recently used first out, so a 64 MiB pack
 * never sits in memory beyond the blocks of the current group.  Building
 * an encoder reads its block (at most K*T bytes) into a buffer freed as
 * soon as the encoder has copied it.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"
#include "satellite/carousel.h"

#define MAX_CACHED 256

struct src_obj {
	struct rq_oti oti;
	uint8_t *mem;  /* or */
	char *path;
};

struct cached {
	uint32_t obj;
	uint8_t sbn;
	struct rq_encoder *enc;
	size_t bytes;
	uint64_t used;
};

struct sat_source {
	struct src_obj *objs;
	uint32_t n, cap;
	struct cached cache[MAX_CACHED];
	size_t ncached, bytes, budget;
	uint64_t clock;
	int fd;          /* the file last read, kept open */
	uint32_t fd_obj;
};

int sat_source_new(struct sat_source **out, size_t mem_budget)
{
	struct sat_source *s = mem_calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->budget = mem_budget ? mem_budget : 64u << 20;
	s->fd = -1;
	*out = s;
	return 0;
}

int sat_source_add(struct sat_source *src, const struct rq_oti *oti, const void *mem,
		   const char *path)
{
	struct src_obj *o;

	if (rq_oti_check(oti) < 0 || (!mem && !path))
		return err_set(-EINVAL, "carousel source: bad object");
	if (src->n == src->cap) {
		uint32_t cap = src->cap ? src->cap * 2 : 64;
		void *p = mem_realloc(src->objs, cap * sizeof(*src->objs));

		if (!p)
			return -ENOMEM;
		src->objs = p;
		src->cap = cap;
	}
	o = &src->objs[src->n];
	memset(o, 0, sizeof(*o));
	o->oti = *oti;
	if (mem)
		o->mem = mem_dup(mem, (size_t)oti->transfer_length);
	else
		o->path = mem_strdup(path);
	if (!o->mem && !o->path)
		return -ENOMEM;
	src->n++;
	return 0;
}

uint32_t sat_source_count(const struct sat_source *src)
{
	return src->n;
}

static int open_obj(struct sat_source *src, uint32_t i)
{
	struct src_obj *o = &src->objs[i];
	struct stat st;

	if (src->fd >= 0 && src->fd_obj == i)
		return 0;
	if (src->fd >= 0)
		close(src->fd);
	src->fd = open(o->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (src->fd < 0)
		return err_set(-errno, "%s: %s", o->path, strerror(errno));
	src->fd_obj = i;
	if (fstat(src->fd, &st) < 0 || (uint64_t)st.st_size != o->oti.transfer_length) {
		close(src->fd);
		src->fd = -1;
		return err_set(-ESTALE, "%s: changed since it was listed", o->path);
	}
	return 0;
}

/* Reads len bytes at off of object i into out. */
static int read_obj(struct sat_source *src, uint32_t i, uint8_t *out, uint64_t off, size_t len)
{
	struct src_obj *o = &src->objs[i];
	size_t got = 0;
	int rc;

	if (o->mem) {
		memcpy(out, o->mem + off, len);
		return 0;
	}
	rc = open_obj(src, i);
	if (rc < 0)
		return rc;
	while (got < len) {
		ssize_t r = pread(src->fd, out + got, len - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			close(src->fd);
			src->fd = -1;
			return err_set(r < 0 ? -errno : -ESTALE, "%s: cannot read at %llu", o->path,
				       (unsigned long long)(off + got));
		}
		got += (size_t)r;
	}
	return 0;
}

static void evict(struct sat_source *src, size_t c)
{
	src->bytes -= src->cache[c].bytes;
	rq_encoder_free(src->cache[c].enc);
	src->cache[c] = src->cache[--src->ncached];
}

static int get_encoder(const struct rq_encoder **out, struct sat_source *src, uint32_t i,
		       uint8_t sbn, const struct rq_block *b)
{
	size_t t = src->objs[i].oti.symbol_size, need = sat_encoder_bytes(b->source_symbols, t);
	AUTO_FREE uint8_t *block = NULL;
	struct cached *c;
	int rc;

	for (size_t k = 0; k < src->ncached; k++)
		if (src->cache[k].obj == i && src->cache[k].sbn == sbn) {
			src->cache[k].used = ++src->clock;
			*out = src->cache[k].enc;
			return 0;
		}
	while (src->ncached && (src->ncached == MAX_CACHED || src->bytes + need > src->budget)) {
		size_t lru = 0;

		for (size_t k = 1; k < src->ncached; k++)
			if (src->cache[k].used < src->cache[lru].used)
				lru = k;
		evict(src, lru);
	}
	block = mem_alloc(b->length ? b->length : 1);
	if (!block)
		return -ENOMEM;
	rc = read_obj(src, i, block, b->offset, b->length);
	if (rc < 0)
		return rc;
	c = &src->cache[src->ncached];
	rc = rq_encoder_new(&c->enc, block, b->length, b->source_symbols, t);
	if (rc < 0)
		return rc;
	c->obj = i;
	c->sbn = sbn;
	c->bytes = need;
	c->used = ++src->clock;
	src->bytes += need;
	src->ncached++;
	*out = c->enc;
	return 0;
}

int sat_source_symbol(uint8_t *out, struct sat_source *src, uint32_t i, uint8_t sbn, uint32_t esi)
{
	const struct rq_encoder *enc;
	struct rq_block b;
	size_t t;
	int rc;

	if (i >= src->n || rq_oti_block(&b, &src->objs[i].oti, sbn) < 0)
		return err_set(-EINVAL, "carousel source: no object %u block %u", i, sbn);
	t = src->objs[i].oti.symbol_size;
	if (esi < b.source_symbols) {
		uint64_t at = (uint64_t)esi * t;
		size_t len = at >= b.length ? 0 : b.length - at < t ? (size_t)(b.length - at) : t;

		memset(out + len, 0, t - len);
		return read_obj(src, i, out, b.offset + at, len);
	}
	rc = get_encoder(&enc, src, i, sbn, &b);
	if (rc < 0)
		return rc;
	return rq_encoder_symbol(out, enc, esi);
}

void sat_source_free(struct sat_source *src)
{
	if (!src)
		return;
	while (src->ncached)
		evict(src, src->ncached - 1);
	for (uint32_t i = 0; i < src->n; i++) {
		mem_free(src->objs[i].mem);
		mem_free(src->objs[i].path);
	}
	mem_free(src->objs);
	if (src->fd >= 0)
		close(src->fd);
	mem_free(src);
}
