/*
 * source.c — what a sync run learns from one source (see source.h).
 */
#include "sync/source.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/codec_text.h"
#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "core/textline.h"
#include "manifests/repo.h"
#include "manifests/sshsig.h"
#include "manifests/thin.h"
#include "packager/pack_list.h"

#define GIT_PACK_MAX_BYTES (512u << 20)
#define GIT_PACKS_LIST_MAX (4u << 20)

struct count_sink {
	struct source *s;
	transport_sink_fn inner;
	void *ctx;
};

static int counting_sink(const void *p, size_t n, void *ctx)
{
	struct count_sink *c = ctx;

	c->s->bytes_read += n;
	return c->inner(p, n, c->ctx);
}

static int fetch(struct source *s, const char *path, struct buf *out, size_t max)
{
	int r = transport_fetch(s->t, path, out, max);

	if (r == 0)
		s->bytes_read += out->len;
	return r;
}

int source_open(struct source *s, const char *url, const struct transport_opts *o)
{
	memset(s, 0, sizeof(*s));
	s->url = mem_strdup(url);
	if (!s->url)
		return -ENOMEM;
	return transport_open(&s->t, url, o);
}

void source_close(struct source *s)
{
	mem_free(s->packs);
	mem_free(s->idx_cache);
	transport_close(s->t);
	mem_free(s->url);
	memset(s, 0, sizeof(*s));
}

int source_check_config(struct source *s, struct store *st)
{
	struct buf cfg, sig;
	struct repo_config theirs;
	size_t which;
	int r;

	buf_init(&cfg, LIMIT_CONFIG_BYTES);
	buf_init(&sig, LIMIT_SIGNATURE_BYTES);
	r = fetch(s, REPO_CONFIG_FILE, &cfg, LIMIT_CONFIG_BYTES);
	if (r == 0)
		r = fetch(s, REPO_CONFIG_SIG_FILE, &sig, LIMIT_SIGNATURE_BYTES);
	if (r == -ENOENT)
		r = err_set(-ENOENT, "%s: not a ferry repository, or not yet published", s->url);
	if (r == 0 && sshsig_verify(&which, st->keys, st->nkeys, REPO_CONFIG_NAMESPACE,
				    buf_str(&sig), sig.len, cfg.data, cfg.len) < 0)
		r = err_set(-EKEYREJECTED, "%s: ferry.json: %s", s->url, err_detail());
	if (r == 0 && !st->has_config)
		r = store_adopt_config(st, cfg.data, cfg.len, sig.data, sig.len);
	else if (r == 0) {
		r = repo_config_parse(&theirs, cfg.data, cfg.len);
		if (r == 0 && strcmp(theirs.id, st->cfg.id) != 0)
			r = err_set(-EKEYREJECTED, "%s: holds repository %s, not this store's %s",
				    s->url, theirs.id, st->cfg.id);
		if (r == 0 || r == -EKEYREJECTED)
			repo_config_release(&theirs);
	}
	buf_release(&cfg);
	buf_release(&sig);
	s->usable = r == 0;
	return r;
}

int source_fetch_head(struct buf *out, struct source *s, const char *channel)
{
	AUTO_FREE char *path = fs_join(REPO_HEADS_DIR, channel);

	if (!path)
		return -ENOMEM;
	buf_reset(out);
	return fetch(s, path, out, LIMIT_HEAD_BYTES);
}

/* Where a fetched git pack waits, inside the store, until it imports: a
 * pack whose objects refer to one not yet imported is retried in a later
 * pass from this copy, never fetched again.  Emptied at the start and end
 * of every import run. */
#define GIT_PACK_CACHE "cache/git"

static char *cached_pack(struct store *st, const char *prefix, const char *name)
{
	char rel[sizeof(GIT_PACK_CACHE) + 16 + MGIT_PACK_NAME_MAX];

	snprintf(rel, sizeof(rel), "%s/%s%s", GIT_PACK_CACHE, prefix, name);
	return store_path(st, rel);
}

/* Fetches rel into the cache file dest unless it is there already. */
static int fetch_cached(struct source *s, const char *rel, const char *dest)
{
	AUTO_FREE char *tmp = NULL;
	struct buf b;
	int fd, r;

	if (fs_exists(dest))
		return 0;
	buf_init(&b, GIT_PACK_MAX_BYTES);
	r = fetch(s, rel, &b, GIT_PACK_MAX_BYTES);
	if (r == 0)
		r = fs_mkdir_parents(dest, 0755);
	if (r == 0)
		r = fs_tmp_open(&fd, &tmp, dest);
	if (r == 0) {
		r = fs_write_all(fd, b.data, b.len);
		if (r == 0)
			r = fs_tmp_commit(fd, tmp, dest);
		else
			fs_tmp_abort(fd, tmp);
	}
	buf_release(&b);
	return r;
}

/* What a source offers besides one full pack (manifests/thin.h). */
struct thin_info {
	enum { THIN_UNKNOWN, THIN_YES, THIN_NO } state;
	struct mgit_oid base, commit;
};

#define THIN_MARKS "local/git-thin"

static char *thin_mark(struct store *st, const char *name)
{
	AUTO_FREE char *rel = fs_join(THIN_MARKS, name);

	return rel ? store_path(st, rel) : NULL;
}

/* Learns (once per run) whether the source has a thin pack for name. */
static void thin_learn(struct source *s, struct thin_info *ti, const char *name)
{
	char rel[sizeof(THIN_DIR) + MGIT_PACK_NAME_MAX + 8];
	struct buf b;
	size_t n = strlen(name);

	if (ti->state != THIN_UNKNOWN)
		return;
	ti->state = THIN_NO;
	if (n < 5 || n >= MGIT_PACK_NAME_MAX)
		return;
	snprintf(rel, sizeof(rel), "%s/%.*s%s", THIN_DIR, (int)(n - 5), name, THIN_BASE_SUFFIX);
	buf_init(&b, THIN_BASE_BYTES);
	if (fetch(s, rel, &b, THIN_BASE_BYTES) == 0 &&
	    thin_base_parse(&ti->base, &ti->commit, b.data, b.len) == 0)
		ti->state = THIN_YES;
	else
		err_clear(); /* none, or unusable: the full pack */
	buf_release(&b);
}

/* 0 imported through the thin pack, 1 deferred (its base may come from
 * another pack of this run), < 0 use the full pack. */
static int import_thin(struct source *s, struct store *st, struct thin_info *ti,
		       const char *name, bool full_ok)
{
	AUTO_FREE char *rel = fs_join(THIN_DIR, name);
	AUTO_FREE char *dest = cached_pack(st, "thin-", name);
	AUTO_FREE char *mark = thin_mark(st, name);
	char got[MGIT_PACK_NAME_MAX];
	int r;

	if (!rel || !dest || !mark)
		return -ENOMEM;
	thin_learn(s, ti, name);
	if (ti->state != THIN_YES)
		return -ENOENT;
	if (!mgit_object_exists(st->git, &ti->base))
		return full_ok ? -ENOENT : 1;
	r = fetch_cached(s, rel, dest);
	if (r == 0)
		r = mgit_pack_import_thin(got, sizeof(got), st->git, dest);
	(void)unlink(dest);
	if (r == 0 && !mgit_object_exists(st->git, &ti->commit))
		r = -EBADMSG;
	if (r == 0 && fs_mkdir_parents(mark, 0755) == 0 && fs_write_atomic(mark, "", 0) == 0)
		return 0;
	err_clear();
	ti->state = THIN_NO; /* the full pack, then */
	return r == -ENOMEM ? r : -EBADMSG;
}

/* Copies one git packfile from the source into the store's cache (once per
 * run) and hands it to libgit2's indexer, which checks every object — or
 * its thin version, when the store holds the release it is made against.
 * Returns 1 if deferred to a later pass. */
static int import_one(struct source *s, struct store *st, struct thin_info *ti,
		      const char *name, bool full_ok)
{
	AUTO_FREE char *rel = fs_join(REPO_GIT_DIR "/objects/pack", name);
	AUTO_FREE char *have = rel ? store_path(st, rel) : NULL;
	AUTO_FREE char *dest = cached_pack(st, "", name);
	AUTO_FREE char *mark = thin_mark(st, name);
	char got[MGIT_PACK_NAME_MAX];
	int r;

	if (!rel || !have || !dest || !mark)
		return -ENOMEM;
	if (fs_exists(have) || fs_exists(mark))
		return 0;
	r = import_thin(s, st, ti, name, full_ok);
	if (r >= 0 || r == -ENOMEM)
		return r;
	r = fetch_cached(s, rel, dest);
	if (r == 0)
		r = mgit_pack_import(got, sizeof(got), st->git, dest);
	if (r == 0)
		(void)unlink(dest);
	if (r < 0)
		return err_set(r, "%s: manifest pack %s: %s", s->url, name, err_detail());
	return 0;
}

/* Drops the cached copies of the listed packs. */
static void forget_cached(struct store *st, char (*names)[MGIT_PACK_NAME_MAX], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		AUTO_FREE char *p = cached_pack(st, "", names[i]);
		AUTO_FREE char *t = cached_pack(st, "thin-", names[i]);

		if (p)
			(void)unlink(p);
		if (t)
			(void)unlink(t);
	}
}

/* The pack names listed in objects/info/packs ("P pack-<40 hex>.pack"). */
static int git_pack_names(char (**out)[MGIT_PACK_NAME_MAX], size_t *n, const struct buf *list)
{
	struct textline t;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	textline_init(&t, list->data, list->len);
	while (textline_next(&t)) {
		const char *w, *name;
		size_t wlen, nlen;

		if (!textline_word(&t, &w, &wlen))
			continue; /* the blank line that ends the list */
		if (wlen != 1 || w[0] != 'P' || !textline_word(&t, &name, &nlen) ||
		    nlen != MGIT_PACK_NAME_MAX - 1 || memcmp(name, "pack-", 5) != 0 ||
		    strspn(name + 5, "0123456789abcdef") != 40 || memcmp(name + 45, ".pack", 5))
			continue;
		if (*n == cap) {
			char(*g)[MGIT_PACK_NAME_MAX] = mem_realloc(*out, (cap = cap ? 2 * cap : 16) *
									      sizeof(**out));

			if (!g)
				return -ENOMEM;
			*out = g;
		}
		memcpy((*out)[*n], name, nlen);
		(*out)[*n][nlen] = '\0';
		(*n)++;
	}
	return 0;
}

int source_import_git(struct source *s, struct store *st)
{
	char(*names)[MGIT_PACK_NAME_MAX] = NULL;
	AUTO_FREE bool *done = NULL;
	AUTO_FREE struct thin_info *ti = NULL;
	size_t n = 0, left;
	struct buf list;
	bool full_ok = false;
	int r, last = 0;

	buf_init(&list, GIT_PACKS_LIST_MAX);
	r = fetch(s, REPO_GIT_DIR "/objects/info/packs", &list, GIT_PACKS_LIST_MAX);
	if (r == 0)
		r = git_pack_names(&names, &n, &list);
	buf_release(&list);
	done = mem_calloc(n + 1, sizeof(*done));
	ti = mem_calloc(n + 1, sizeof(*ti));
	if (r == 0 && (!done || !ti))
		r = -ENOMEM;
	if (r == 0)
		forget_cached(st, names, n);
	/* A release's pack refers to objects of earlier ones, and the list is
	 * in no particular order: import in passes until nothing more goes.
	 * A thin pack whose base is not here yet waits for a later pass; only
	 * when a pass moves nothing does its full pack go instead. */
	for (left = n; r == 0 && left;) {
		size_t before = left;
		bool deferred = false;

		for (size_t i = 0; i < n && r != -ENOMEM; i++) {
			int e;

			if (done[i])
				continue;
			e = import_one(s, st, &ti[i], names[i], full_ok);
			if (e == 0) {
				done[i] = true;
				left--;
			} else if (e == 1) {
				deferred = true;
			} else if (e == -ENOMEM) {
				r = e;
			} else {
				last = e;
			}
		}
		if (r == 0 && left == before) {
			if (deferred && !full_ok)
				full_ok = true;
			else
				r = last ? last : err_set(-EBADMSG, "%s: manifest packs do not import", s->url);
		} else {
			full_ok = false;
		}
	}
	forget_cached(st, names, n);
	mem_free(names);
	return r;
}

static int add_pack(const struct sha256 *name, uint64_t size, void *ctx)
{
	struct source *s = ctx;

	if (s->npacks == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		struct source_pack *g = mem_realloc(s->packs, cap * sizeof(*g));

		if (!g)
			return -ENOMEM;
		s->packs = g;
		s->cap = cap;
	}
	s->packs[s->npacks++] = (struct source_pack){ .name = *name, .size = size };
	return 0;
}

int source_load_packs(struct source *s, struct store *st)
{
	struct buf list;
	int r;

	mem_free(s->idx_cache);
	s->npacks = 0;
	s->idx_cache = store_path(st, STORE_IDX_CACHE);
	if (!s->idx_cache)
		return -ENOMEM;
	buf_init(&list, PACK_LIST_MAX_BYTES);
	r = fetch(s, REPO_PACKS_DIR "/" PACK_LIST_FILE, &list, PACK_LIST_MAX_BYTES);
	if (r == 0)
		r = pack_list_parse(list.data, list.len, add_pack, s);
	buf_release(&list);
	if (r < 0 && r != -ENOMEM)
		r = err_set(r, "%s: packs/list: %s", s->url, err_detail());
	return r;
}

static bool index_is(const struct pack_index *idx, const struct source_pack *p)
{
	return memcmp(pack_index_name(idx)->b, p->name.b, SHA256_LEN) == 0 &&
	       pack_index_pack_size(idx) == p->size;
}

/* Fetches pack p's index from the source, checks it, caches it. */
static int fetch_index(struct pack_index **out, struct source *s, const struct source_pack *p,
		       const char *cached)
{
	AUTO_FREE char *remote = NULL;
	struct pack_index *idx = NULL;
	struct buf b;
	int r = pack_path_make(&remote, REPO_PACKS_DIR, &p->name, PACK_IDX_SUFFIX);

	if (r < 0)
		return r;
	buf_init(&b, PACK_IDX_MAX_BYTES);
	r = fetch(s, remote, &b, PACK_IDX_MAX_BYTES);
	if (r == 0)
		r = pack_index_parse(&idx, b.data, b.len);
	if (r == 0 && !index_is(idx, p))
		r = err_set(-EBADMSG, "%s: %s names another pack", s->url, remote);
	if (r == 0 && fs_mkdir_parents(cached, 0755) == 0)
		if (fs_write_atomic(cached, b.data, b.len) < 0)
			err_clear(); /* a cache: best effort */
	buf_release(&b);
	if (r < 0) {
		pack_index_free(idx);
		return r;
	}
	*out = idx;
	return 0;
}

int source_pack_index(struct pack_index **out, struct source *s, size_t k)
{
	struct source_pack *p = &s->packs[k];
	AUTO_FREE char *cached = NULL;
	struct pack_index *idx = NULL;
	int r;

	*out = NULL;
	if (p->broken)
		return -ENOENT;
	r = pack_path_make(&cached, s->idx_cache, &p->name, PACK_IDX_SUFFIX);
	if (r < 0)
		return r;
	if (pack_index_load(&idx, cached) == 0 && index_is(idx, p)) {
		*out = idx;
		return 0;
	}
	pack_index_free(idx);
	err_clear();
	r = fetch_index(out, s, p, cached);
	if (r < 0 && r != -ENOMEM)
		p->broken = true;
	return r;
}

int source_each_index(struct source *src, size_t nsrc, source_index_fn cb, void *ctx)
{
	int r = 0;

	for (size_t s = 0; s < nsrc && r == 0; s++) {
		for (size_t k = 0; src[s].usable && k < src[s].npacks && r == 0; k++) {
			struct pack_index *idx = NULL;

			r = source_pack_index(&idx, &src[s], k);
			if (r < 0 && r != -ENOMEM) {
				r = 0; /* a missing or broken index costs only that pack */
				continue;
			}
			if (r == 0)
				r = cb(idx, s, &src[s].packs[k].name, ctx);
			pack_index_free(idx);
		}
	}
	return r < 0 ? r : 0;
}

int source_read_pack(struct source *s, const struct sha256 *pack, uint64_t off, uint64_t len,
		     transport_sink_fn sink, void *ctx)
{
	AUTO_FREE char *path = NULL;
	struct count_sink c = { .s = s, .inner = sink, .ctx = ctx };
	int r = pack_path_make(&path, REPO_PACKS_DIR, pack, PACK_SUFFIX);

	return r < 0 ? r : transport_read(s->t, path, off, len, counting_sink, &c);
}
