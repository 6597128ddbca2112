/*
 * git_libgit2_util.c — small shared pieces of the manifest repository: sets
 * of object IDs, lists of names, git's pack file names, the private
 * directories packs are indexed in, and file comparison.  No libgit2 here
 * (git_libgit2_int.h says who uses what).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/codec_text.h"
#include "core/fsx.h"
#include "core/mem.h"
#include "manifests/git_libgit2_int.h"

#define IO_BLOCK (64u << 10)

const char *mgit_kind_name(enum mgit_kind kind)
{
	switch (kind) {
	case MGIT_KIND_COMMIT:
		return "commit";
	case MGIT_KIND_TREE:
		return "tree";
	case MGIT_KIND_BLOB:
		return "blob";
	case MGIT_KIND_TAG:
		return "tag";
	}
	return "object";
}

int mgit_err_wrap(int code, const char *fmt, ...)
{
	char detail[512], prefix[512];
	va_list ap;

	snprintf(detail, sizeof(detail), "%s", err_detail());
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	return err_set(code, "%s: %s", prefix, detail);
}

void mgit_oidset_init(struct mgit_oidset *s)
{
	memset(s, 0, sizeof(*s));
}

void mgit_oidset_release(struct mgit_oidset *s)
{
	mem_free(s->ids);
	mem_free(s->slots);
	mgit_oidset_init(s);
}

static uint32_t oid_hash(const struct mgit_oid *id)
{
	return get_le32(id->id);
}

/* The slot holding id, or the empty slot where it would go. */
static uint32_t *oidset_slot(const struct mgit_oidset *s, const struct mgit_oid *id)
{
	uint32_t mask = s->nslots - 1;

	for (uint32_t i = oid_hash(id) & mask;; i = (i + 1) & mask) {
		uint32_t *slot = &s->slots[i];

		if (!*slot || mgit_oid_eq(&s->ids[*slot - 1], id))
			return slot;
	}
}

bool mgit_oidset_has(const struct mgit_oidset *s, const struct mgit_oid *id)
{
	return s->nslots && *oidset_slot(s, id) != 0;
}

/* Makes room for one more ID (at under 50% table load). */
int mgit_oidset_reserve(struct mgit_oidset *s)
{
	if (s->count == UINT32_MAX - 1)
		return err_set(-EFBIG, "too many objects in one set");
	if (s->count == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 1024;
		struct mgit_oid *ids = mem_realloc(s->ids, (size_t)cap * sizeof(*ids));

		if (!ids)
			return -ENOMEM;
		s->ids = ids;
		s->cap = cap;
	}
	if ((uint64_t)(s->count + 1) * 2 > s->nslots) {
		uint32_t n = s->nslots ? s->nslots * 2 : 2048;
		uint32_t *old = s->slots;

		s->slots = mem_calloc(n, sizeof(*s->slots));
		if (!s->slots) {
			s->slots = old;
			return -ENOMEM;
		}
		s->nslots = n;
		for (uint32_t i = 0; i < s->count; i++)
			*oidset_slot(s, &s->ids[i]) = i + 1;
		mem_free(old);
	}
	return 0;
}

int mgit_oidset_add(struct mgit_oidset *s, const struct mgit_oid *id)
{
	uint32_t *slot;
	int r;

	if (mgit_oidset_has(s, id))
		return 0;
	r = mgit_oidset_reserve(s);
	if (r < 0)
		return r;
	slot = oidset_slot(s, id);
	s->ids[s->count++] = *id;
	*slot = s->count;
	return 1;
}

/* ---- names ---- */

void mgit_strv_release(struct mgit_strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		mem_free(s->v[i]);
	mem_free(s->v);
	memset(s, 0, sizeof(*s));
}

int mgit_strv_push(struct mgit_strv *s, const char *str)
{
	char *copy;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16, bytes;
		char **v;

		if (!mem_mul_ok(&bytes, cap, sizeof(*v)) || !(v = mem_realloc(s->v, bytes)))
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	copy = mem_strdup(str);
	if (!copy)
		return -ENOMEM;
	s->v[s->n++] = copy;
	return 0;
}

int mgit_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir, sorted (none if dir does not exist). */
int mgit_dir_list(struct mgit_strv *out, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0 : err_set(-errno, "%s: %s", dir, strerror(errno));
	while (r >= 0 && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			r = mgit_strv_push(out, e->d_name);
	}
	closedir(d);
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), mgit_str_cmp);
	return r;
}

bool mgit_has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* "pack-<40 hex>.pack" or ".idx" -> true, and hex (41 bytes) gets the hash. */
bool mgit_pack_name_parse(char *hex, const char *name, const char *ext)
{
	struct mgit_oid id;

	if (strlen(name) != 5 + MGIT_OID_HEX + strlen(ext) || strncmp(name, "pack-", 5) ||
	    strcmp(name + 5 + MGIT_OID_HEX, ext))
		return false;
	memcpy(hex, name + 5, MGIT_OID_HEX);
	hex[MGIT_OID_HEX] = '\0';
	if (hex_decode(id.id, MGIT_OID_LEN, hex, MGIT_OID_HEX) < 0)
		return false;
	for (int i = 0; i < MGIT_OID_HEX; i++) {
		if (hex[i] >= 'A' && hex[i] <= 'F')
			return false;
	}
	return true;
}

char *mgit_pack_path(const char *dir, const char *hex, const char *ext)
{
	char name[5 + MGIT_OID_HEX + 8];

	snprintf(name, sizeof(name), "pack-%s%s", hex, ext);
	return fs_join(dir, name);
}

int mgit_file_sync(const char *path)
{
	AUTO_CLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0)
		return err_set(-errno, "%s: %s", path, strerror(errno));
	return 0;
}

/* A private directory, objects/incoming-XXXXXX, where the indexer writes;
 * it is on the same file system as objects/pack, so renames are atomic. */
int mgit_staging_new(char **out, const char *objdir)
{
	char *dir = fs_join(objdir, "incoming-XXXXXX");
	int r;

	if (!dir)
		return -ENOMEM;
	if (!mkdtemp(dir)) {
		r = err_set(-errno, "%s: %s", dir, strerror(errno));
		mem_free(dir);
		return r;
	}
	*out = dir;
	return 0;
}

void mgit_staging_remove(char *dir)
{
	DIR *d;
	struct dirent *e;

	if (!dir)
		return;
	d = opendir(dir);
	while (d && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			(void)unlinkat(dirfd(d), e->d_name, 0);
	}
	if (d)
		closedir(d);
	(void)rmdir(dir);
	mem_free(dir);
}

/* Does the file hold exactly b?  (A missing file does not.) */
bool mgit_file_holds(const char *path, const struct buf *b)
{
	struct buf cur;
	bool same;

	/* fs_read_file() asks for max + 1 bytes of room on each pass. */
	buf_init(&cur, 2 * (b->len + 1) + 64);
	same = fs_read_file(&cur, path, b->len + 1) >= 0 && cur.len == b->len &&
	       (b->len == 0 || memcmp(cur.data, b->data, b->len) == 0);
	buf_release(&cur);
	return same;
}

/* Compares two files; *at gets the first differing offset. */
int mgit_files_compare(bool *same, uint64_t *at, const char *a, const char *b)
{
	AUTO_CLOSE int fa = open(a, O_RDONLY | O_CLOEXEC);
	AUTO_CLOSE int fb = open(b, O_RDONLY | O_CLOEXEC);
	AUTO_FREE uint8_t *x = mem_alloc(2 * (size_t)IO_BLOCK);
	uint64_t off = 0;

	if (fa < 0 || fb < 0)
		return err_set(-errno, "%s: %s", fa < 0 ? a : b, strerror(errno));
	if (!x)
		return -ENOMEM;
	for (;;) {
		ssize_t na = read(fa, x, IO_BLOCK), nb = read(fb, x + IO_BLOCK, IO_BLOCK);
		size_t m;

		if (na < 0 || nb < 0)
			return err_set(-EIO, "reading %s or %s: %s", a, b, strerror(errno));
		m = (size_t)(na < nb ? na : nb);
		for (size_t i = 0; i < m; i++) {
			if (x[i] != x[IO_BLOCK + i]) {
				*same = false;
				*at = off + i;
				return 0;
			}
		}
		if (na != nb || na == 0) {
			*same = na == nb;
			*at = off + m;
			return 0;
		}
		off += (uint64_t)na;
	}
}

/* ---- ref lists ---- */

void mgit_refv_release(struct mgit_refv *rv)
{
	for (size_t i = 0; i < rv->n; i++)
		mem_free(rv->v[i].name);
	mem_free(rv->v);
	memset(rv, 0, sizeof(*rv));
}

int mgit_refv_push(struct mgit_refv *rv, const char *name, const struct mgit_oid *id)
{
	if (rv->n == rv->cap) {
		size_t cap = rv->cap ? rv->cap * 2 : 16, bytes;
		struct mgit_refent *v;

		if (!mem_mul_ok(&bytes, cap, sizeof(*v)) || !(v = mem_realloc(rv->v, bytes)))
			return -ENOMEM;
		rv->v = v;
		rv->cap = cap;
	}
	rv->v[rv->n].name = mem_strdup(name);
	if (!rv->v[rv->n].name)
		return -ENOMEM;
	rv->v[rv->n++].id = *id;
	return 0;
}

static int refent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mgit_refent *)a)->name, ((const struct mgit_refent *)b)->name);
}

void mgit_refv_sort(struct mgit_refv *rv)
{
	if (rv->n > 1)
		qsort(rv->v, rv->n, sizeof(*rv->v), refent_cmp);
}
