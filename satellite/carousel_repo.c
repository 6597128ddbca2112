/*
 * carousel_repo.c — the repository as the carousel sees it: which files go
 * out, in which order, with which SHA-256.
 *
 * Order (carousel.h): the meta files (ferry.json, ferry.json.sig, heads/,
 * packs/list), then manifests.git/, then the content packs: those of the
 * channels named with --first (carousel_prio.c) first, the rest newest first by
 * modification time (packs/list is sorted by name and carries no age; the
 * sender knows nothing of subscriptions, so "most subscribed" is not
 * used), each .idx before its .pack.  Symbolic links and special files are
 * never sent.  A rescan reuses the previous scan's hash of a file whose
 * path, size, mtime and inode are unchanged, so a carousel over a large
 * repository does not reread it between passes.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/codec_text.h"
#include "core/crypto.h"
#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "satellite/carousel.h"
#include "satellite/flute.h"

#define META_IN_MEMORY (1u << 20) /* meta files up to this size are kept */
#define HASH_CHUNK (1u << 20)

struct entry {
	char *path;
	struct stat st;
	int rank; /* 0..3 meta, 10 manifests, 20 packs */
	int prio; /* packs: the named channel's place, or INT_MAX */
};

struct list {
	struct entry *v;
	size_t n, cap;
};

static int list_add(struct list *l, const char *path, const struct stat *st, int rank)
{
	if (l->n >= FLUTE_FDT_MAX_FILES)
		return err_set(-EFBIG, "repository: more than %u files to send", FLUTE_FDT_MAX_FILES);
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		void *p = mem_realloc(l->v, cap * sizeof(*l->v));

		if (!p)
			return -ENOMEM;
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n].path = mem_strdup(path);
	if (!l->v[l->n].path)
		return -ENOMEM;
	l->v[l->n].st = *st;
	l->v[l->n].rank = rank;
	l->v[l->n].prio = INT_MAX;
	l->n++;
	return 0;
}

static bool skipped_in_manifests(const char *rel)
{
	static const char *const skip[] = { "manifests.git/hooks/", "manifests.git/logs/" };

	for (size_t i = 0; i < ARRAY_SIZE(skip); i++)
		if (strncmp(rel, skip[i], strlen(skip[i])) == 0)
			return true;
	return strcmp(rel, "manifests.git/description") == 0 ||
	       strcmp(rel, "manifests.git/info/exclude") == 0;
}

static bool is_pack_file(const char *rel)
{
	size_t n = strlen(rel);

	return (n > 5 && strcmp(rel + n - 5, ".pack") == 0) ||
	       (n > 4 && strcmp(rel + n - 4, ".idx") == 0);
}

/* Adds the regular files under root/rel (a file or a folder). */
static int walk(struct list *l, const char *root, const char *rel, int rank, unsigned depth)
{
	AUTO_FREE char *full = fs_join(root, rel);
	struct stat st;
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (!full)
		return -ENOMEM;
	if (lstat(full, &st) < 0)
		return errno == ENOENT ? 0 : err_set(-errno, "%s: %s", full, strerror(errno));
	if (S_ISREG(st.st_mode)) {
		if (rank == 10 && skipped_in_manifests(rel))
			return 0;
		if (rank == 20 && !is_pack_file(rel))
			return 0;
		return list_add(l, rel, &st, rank);
	}
	if (!S_ISDIR(st.st_mode) || depth >= LIMIT_PATH_DEPTH)
		return 0;
	d = opendir(full);
	if (!d)
		return err_set(-errno, "%s: %s", full, strerror(errno));
	while (rc == 0 && (e = readdir(d))) {
		AUTO_FREE char *sub = NULL;

		if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		if (strstr(e->d_name, ".tmp") || e->d_name[0] == '.')
			continue; /* a writer's temporary file */
		sub = fs_join(rel, e->d_name);
		rc = sub ? walk(l, root, sub, rank, depth + 1) : -ENOMEM;
	}
	closedir(d);
	return rc;
}

static int by_order(const void *x, const void *y)
{
	const struct entry *a = x, *b = y;

	if (a->rank != b->rank)
		return a->rank - b->rank;
	if (a->rank == 20) {
		/* newest pack first; a pair shares its stem; .idx before .pack */
		size_t la = strrchr(a->path, '.') - a->path, lb = strrchr(b->path, '.') - b->path;
		int64_t ta = (int64_t)a->st.st_mtim.tv_sec, tb = (int64_t)b->st.st_mtim.tv_sec;
		int c;

		if (la == lb && strncmp(a->path, b->path, la) == 0)
			return strcmp(a->path + la, b->path + lb) < 0 ? -1 : 1; /* .idx < .pack */
		if (a->prio != b->prio)
			return a->prio < b->prio ? -1 : 1;
		if (ta != tb)
			return ta > tb ? -1 : 1;
		c = strncmp(a->path, b->path, la < lb ? la : lb);
		return c ? c : (la < lb ? -1 : 1);
	}
	return strcmp(a->path, b->path);
}

/* The previous scan's entry for e if unchanged; hint is where it most
 * likely is (the same index: orders rarely change). */
static const struct sat_file *find_prev(const struct sat_repo *prev, const struct entry *e,
					size_t hint)
{
	if (!prev)
		return NULL;
	for (size_t k = 0; k < prev->n; k++) {
		const struct sat_file *f = &prev->files[(hint + k) % prev->n];

		if (strcmp(f->path, e->path) == 0)
			return f->length == (uint64_t)e->st.st_size && f->ino == e->st.st_ino &&
					       f->mtime_ns == (uint64_t)e->st.st_mtim.tv_sec * 1000000000u +
								      (uint64_t)e->st.st_mtim.tv_nsec
				       ? f
				       : NULL;
	}
	return NULL;
}

/* Hashes the file (and keeps it in memory if it is a small meta file). */
static int hash_file(struct sat_file *f, const char *root)
{
	AUTO_FREE char *full = fs_join(root, f->path);
	AUTO_FREE uint8_t *chunk = NULL;
	AUTO_CLOSE int fd = -1;
	struct sha256_ctx *ctx = NULL;
	struct sha256 h;
	uint64_t off = 0;
	int rc = 0;

	if (!full)
		return -ENOMEM;
	fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return err_set(-errno, "%s: %s", full, strerror(errno));
	if (f->cls == SAT_CLASS_META && f->length <= META_IN_MEMORY) {
		f->mem = mem_alloc(f->length ? (size_t)f->length : 1);
		if (!f->mem)
			return -ENOMEM;
		rc = fs_pread_all(fd, f->mem, (size_t)f->length, 0);
		if (rc < 0)
			return err_keep(rc, "%s: cannot read", full);
		sha256_buf(&h, f->mem, (size_t)f->length);
		memcpy(f->sha256, h.b, 32);
		return 0;
	}
	chunk = mem_alloc(HASH_CHUNK);
	if (!chunk || sha256_ctx_new(&ctx) < 0)
		return -ENOMEM;
	while (off < f->length && rc == 0) {
		size_t n = f->length - off < HASH_CHUNK ? (size_t)(f->length - off) : HASH_CHUNK;

		rc = fs_pread_all(fd, chunk, n, off);
		if (rc == 0)
			sha256_ctx_update(ctx, chunk, n);
		off += n;
	}
	sha256_ctx_final(ctx, &h);
	sha256_ctx_free(ctx);
	if (rc < 0)
		return err_keep(rc, "%s: cannot read", full);
	memcpy(f->sha256, h.b, 32);
	return 0;
}

static int fill(struct sat_repo *out, const char *root, const struct list *l,
		const struct sat_repo *prev)
{
	out->files = mem_calloc(l->n + 1, sizeof(*out->files));
	if (!out->files)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		const struct entry *e = &l->v[i];
		struct sat_file *f = &out->files[out->n++];
		const struct sat_file *old = find_prev(prev, e, i);
		int rc;

		f->path = mem_strdup(e->path);
		if (!f->path)
			return -ENOMEM;
		f->length = (uint64_t)e->st.st_size;
		f->cls = e->rank < 10 ? SAT_CLASS_META : SAT_CLASS_BULK;
		f->ino = e->st.st_ino;
		f->mtime_ns = (uint64_t)e->st.st_mtim.tv_sec * 1000000000u +
			      (uint64_t)e->st.st_mtim.tv_nsec;
		out->bytes += f->length;
		if (old && (!old->mem || f->cls != SAT_CLASS_META)) {
			memcpy(f->sha256, old->sha256, 32);
			continue;
		}
		rc = hash_file(f, root);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* A pack file's rank among the named channels' packs (its name is the
 * stem of packs/xx/<64 hex>.pack or .idx). */
static int pack_prio(const struct sat_prio *prio, const char *path)
{
	const char *base = strrchr(path, '/'), *dot = strrchr(path, '.');
	struct sha256 name;
	int r;

	if (!prio || !base || !dot || dot - base - 1 != 2 * SHA256_LEN ||
	    hex_decode(name.b, SHA256_LEN, base + 1, 2 * SHA256_LEN) < 0)
		return INT_MAX;
	r = sat_prio_rank(prio, &name);
	return r < 0 ? INT_MAX : r;
}

int sat_repo_scan(struct sat_repo *out, const char *root, const struct sat_repo *prev,
		  const struct sat_prio *prio)
{
	static const struct { const char *rel; int rank; } parts[] = {
		{ "ferry.json", 0 }, { "ferry.json.sig", 1 }, { "heads", 2 },
		{ "packs/list", 3 }, { "manifests.git", 10 }, { "packs", 20 },
	};
	struct list l = { 0 };
	int rc = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < ARRAY_SIZE(parts) && rc == 0; i++)
		rc = walk(&l, root, parts[i].rel, parts[i].rank, 0);
	for (size_t i = 0; rc == 0 && i < l.n; i++)
		if (l.v[i].rank == 20)
			l.v[i].prio = pack_prio(prio, l.v[i].path);
	if (rc == 0)
		qsort(l.v, l.n, sizeof(*l.v), by_order);
	if (rc == 0)
		rc = fill(out, root, &l, prev);
	for (size_t i = 0; i < l.n; i++)
		mem_free(l.v[i].path);
	mem_free(l.v);
	if (rc < 0)
		sat_repo_release(out);
	return rc;
}

bool sat_repo_same(const struct sat_repo *a, const struct sat_repo *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->files[i].path, b->files[i].path) != 0 ||
		    a->files[i].length != b->files[i].length ||
		    memcmp(a->files[i].sha256, b->files[i].sha256, 32) != 0)
			return false;
	return true;
}

void sat_repo_release(struct sat_repo *r)
{
	for (size_t i = 0; i < r->n; i++) {
		mem_free(r->files[i].path);
		mem_free(r->files[i].mem);
	}
	mem_free(r->files);
	memset(r, 0, sizeof(*r));
}
