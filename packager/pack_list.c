/*
 * pack_list.c — writing and parsing packs/list (see pack_list.h).
 */
#include "packager/pack_list.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/codec_text.h"
#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "core/textline.h"
#include "packager/pack.h"

struct entry {
	struct sha256 name;
	uint64_t size;
};

struct collect {
	struct entry *v;
	size_t n, cap;
};

static int add(struct collect *c, const struct sha256 *name, uint64_t size)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct entry *g = mem_realloc(c->v, cap * sizeof(*g));

		if (!g)
			return -ENOMEM;
		c->v = g;
		c->cap = cap;
	}
	c->v[c->n].name = *name;
	c->v[c->n].size = size;
	c->n++;
	return 0;
}

static int scan_sub(struct collect *c, const char *packs_dir, const char *sub)
{
	AUTO_FREE char *dir = fs_join(packs_dir, sub);
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *e;
	int r = 0;

	if (!d)
		return dir ? 0 : -ENOMEM;
	while (r == 0 && (e = readdir(d))) {
		AUTO_FREE char *path = fs_join(dir, e->d_name);
		AUTO_FREE char *idx = NULL;
		struct sha256 name;
		uint64_t size;

		if (!path) {
			r = -ENOMEM;
			break;
		}
		if (pack_name_from_path(&name, path, PACK_SUFFIX) < 0)
			continue;
		r = pack_path_make(&idx, packs_dir, &name, PACK_IDX_SUFFIX);
		if (r == 0 && fs_exists(idx) && fs_file_size(&size, path) == 0)
			r = add(c, &name, size);
	}
	closedir(d);
	return r;
}

static int by_name(const void *a, const void *b)
{
	return memcmp(a, b, SHA256_LEN);
}

int pack_list_write(const char *packs_dir)
{
	AUTO_FREE char *path = fs_join(packs_dir, PACK_LIST_FILE);
	struct collect c = { 0 };
	struct buf out;
	DIR *d = opendir(packs_dir);
	struct dirent *e;
	int r = 0;

	if (!path || !d) {
		if (d)
			closedir(d);
		return path ? err_set(-errno, "%s: %s", packs_dir, strerror(errno)) : -ENOMEM;
	}
	while (r == 0 && (e = readdir(d)))
		if (strlen(e->d_name) == 2 && strspn(e->d_name, "0123456789abcdef") == 2)
			r = scan_sub(&c, packs_dir, e->d_name);
	closedir(d);
	buf_init(&out, PACK_LIST_MAX_BYTES);
	if (c.n)
		qsort(c.v, c.n, sizeof(*c.v), by_name);
	for (size_t i = 0; r == 0 && i < c.n; i++) {
		char hex[2 * SHA256_LEN + 1];

		hex_encode(hex, c.v[i].name.b, SHA256_LEN);
		r = buf_printf(&out, "%s %llu\n", hex, (unsigned long long)c.v[i].size);
	}
	if (r == 0)
		r = fs_write_atomic(path, out.data ? out.data : (uint8_t *)"", out.len);
	buf_release(&out);
	mem_free(c.v);
	return r;
}

int pack_list_parse(const void *text, size_t n,
		    int (*fn)(const struct sha256 *name, uint64_t size, void *ctx), void *ctx)
{
	struct textline t;

	if (n > PACK_LIST_MAX_BYTES)
		return err_set(-EFBIG, "packs/list: too large");
	textline_init(&t, text, n);
	while (textline_next(&t)) {
		struct sha256 name;
		const char *w;
		size_t wlen;
		uint64_t size;
		int r;

		if (!textline_word(&t, &w, &wlen) || hex_decode(name.b, SHA256_LEN, w, wlen) < 0 ||
		    textline_u64(&t, &size) < 0 || !textline_end(&t) || size > LIMIT_PACK_BYTES)
			return err_set(-EBADMSG, "packs/list: line %u is malformed", t.lineno);
		r = fn(&name, size, ctx);
		if (r < 0)
			return r;
	}
	if (t.bad)
		return err_set(-EBADMSG, "packs/list: malformed (NUL, CR or no final newline)");
	return 0;
}
