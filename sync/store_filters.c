/*
 * store_filters.c — a subscription's path filters, as asked for and as
 * installed (see store.h).
 *
 * The subscriptions table holds one row per (channel, prefix), the empty
 * prefix meaning the whole channel; this file keeps the rule that a
 * channel has either that one row or prefix rows, never both.  The filters
 * a release was installed for live in the meta table, one prefix per line,
 * written in the install's transaction.  Every prefix is checked like a
 * release path (mf_path_check) whether it comes from the command line or
 * back from the database.
 */
#define _GNU_SOURCE
#include "sync/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "manifests/catalog.h"
#include "manifests/head.h"
#include "manifests/pointer.h"
#include "manifests/repo.h"

#define FILTERS_META "filters/"
#define FILTERS_MAX 256u

int store_filter_normalize(char **out, const char *prefix)
{
	size_t n = strlen(prefix);
	char *p;

	while (n && prefix[n - 1] == '/')
		n--;
	if (n == 0)
		return err_set(-EINVAL, "path filter \"%s\" is empty; leave --only out to take "
					"the whole channel", prefix);
	if (mf_path_check(prefix, n) < 0)
		return err_set(-EINVAL, "path filter \"%s\": %s", prefix, err_detail());
	p = mem_strndup(prefix, n);
	if (!p)
		return -ENOMEM;
	*out = p;
	return 0;
}

static bool under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

bool store_filter_match(const char *const *filters, const char *path)
{
	if (!filters)
		return true;
	for (size_t i = 0; filters[i]; i++)
		if (under(path, filters[i]))
			return true;
	return false;
}

void store_filters_free(char **filters)
{
	if (!filters)
		return;
	for (size_t i = 0; filters[i]; i++)
		mem_free(filters[i]);
	mem_free(filters);
}

bool store_filters_equal(const char *const *a, const char *const *b)
{
	size_t i;

	if (!a || !b)
		return a == b;
	for (i = 0; a[i] && b[i]; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return !a[i] && !b[i];
}

char *store_filters_text(const char *const *filters)
{
	struct buf b;
	char *s;

	if (!filters)
		return mem_strdup("everything");
	buf_init(&b, LIMIT_LINE_BYTES);
	for (size_t i = 0; filters[i]; i++)
		if ((i && buf_append(&b, ", ", 2) < 0) ||
		    buf_append(&b, filters[i], strlen(filters[i])) < 0)
			break;
	s = mem_strndup(b.data ? (const char *)b.data : "", b.len);
	buf_release(&b);
	return s;
}

static int by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A filter list under construction: normalized, then sorted and pruned. */
struct flist {
	char **v;
	size_t n;
};

static int flist_add(struct flist *l, const char *prefix, bool normalize)
{
	char *p = NULL;
	int r;

	if (l->n == FILTERS_MAX)
		return err_set(-EFBIG, "a channel takes at most %u path filters", FILTERS_MAX);
	if (!l->v && !(l->v = mem_calloc(FILTERS_MAX + 1, sizeof(*l->v))))
		return -ENOMEM;
	if (normalize) {
		r = store_filter_normalize(&p, prefix);
		if (r < 0)
			return r;
	} else {
		if (mf_path_check(prefix, strlen(prefix)) < 0)
			return err_set(-EBADMSG, "the store holds a bad path filter: %s",
				       err_detail());
		if (!(p = mem_strdup(prefix)))
			return -ENOMEM;
	}
	l->v[l->n++] = p;
	return 0;
}

/* Sorts, and drops duplicates and prefixes inside another; *out takes
 * the array (NULL when empty). */
static char **flist_finish(struct flist *l)
{
	size_t k = 0;

	if (!l->v)
		return NULL;
	qsort(l->v, l->n, sizeof(*l->v), by_str);
	for (size_t i = 0; i < l->n; i++) {
		if (k && under(l->v[i], l->v[k - 1])) {
			mem_free(l->v[i]);
			continue;
		}
		l->v[k++] = l->v[i];
	}
	l->v[k] = NULL;
	return l->v;
}

struct sub_get {
	const char *channel;
	struct flist l;
	bool found, whole;
};

static int on_sub(const struct db_subscription *s, void *ctx)
{
	struct sub_get *g = ctx;

	if (strcmp(s->channel, g->channel) != 0)
		return 0;
	g->found = true;
	if (!s->path || !s->path[0]) {
		g->whole = true;
		return 0;
	}
	return flist_add(&g->l, s->path, false);
}

int store_subscription_get(char ***out, struct store *s, const char *channel)
{
	struct sub_get g = { .channel = channel };
	int r = db_subscription_foreach(s->db, on_sub, &g);

	*out = NULL;
	if (r == 0 && !g.found)
		r = -ENOENT;
	if (r < 0 || g.whole) {
		store_filters_free(g.l.v);
		return r;
	}
	*out = flist_finish(&g.l);
	return 0;
}

static int set_rows(struct store *s, const char *channel, char **old, bool had,
		    char *const *want, bool none)
{
	int r = 0;

	if (had && !old)
		r = db_subscription_remove(s->db, channel, NULL);
	for (size_t i = 0; r == 0 && old && old[i]; i++)
		r = db_subscription_remove(s->db, channel, old[i]);
	if (r == 0 && !want && !none)
		r = db_subscription_add(s->db, channel, NULL);
	for (size_t i = 0; r >= 0 && want && want[i]; i++)
		r = db_subscription_add(s->db, channel, want[i]);
	return r < 0 ? r : 0;
}

/* Replaces the rows of channel by want (NULL: the whole channel; an empty
 * array: none at all) in one transaction. */
static int replace(struct store *s, const char *channel, char *const *want, bool none)
{
	char **old = NULL;
	int r = store_subscription_get(&old, s, channel);
	bool had = r == 0;

	if (r < 0 && r != -ENOENT)
		return r;
	r = db_begin(s->db);
	if (r == 0)
		r = set_rows(s, channel, old, had, want, none);
	if (r == 0)
		r = db_commit(s->db);
	else
		(void)db_rollback(s->db);
	store_filters_free(old);
	return r;
}

int store_subscribe(struct store *s, const char *channel, const char *const *prefixes, size_t n)
{
	struct flist l = { 0 };
	char **want;
	int r = 0;

	if (!mf_channel_valid(channel))
		return err_set(-EINVAL, "\"%s\" is not a valid channel name", channel);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = flist_add(&l, prefixes[i], true);
	want = flist_finish(&l);
	if (r == 0)
		r = replace(s, channel, want, false);
	store_filters_free(want);
	return r;
}

/* Drops a whole channel: nothing of it is kept or offered any longer. */
static int drop_channel(struct store *s, const char *channel)
{
	AUTO_FREE char *key = NULL;
	AUTO_FREE char *rel = fs_join(REPO_HEADS_DIR, channel);
	AUTO_FREE char *head = rel ? store_path(s, rel) : NULL;
	int r = replace(s, channel, NULL, true);

	if (r < 0)
		return r;
	if (!head || asprintf(&key, "%s%s", FILTERS_META, channel) < 0)
		return -ENOMEM;
	r = db_begin(s->db);
	if (r == 0) {
		r = db_pending_clear(s->db, channel);
		r = r > 0 ? 0 : r;
	}
	if (r == 0) {
		r = db_channel_remove(s->db, channel);
		r = r == -ENOENT ? 0 : r;
	}
	if (r == 0) {
		r = db_meta_remove(s->db, key);
		r = r == -ENOENT ? 0 : r;
	}
	if (r == 0)
		r = db_commit(s->db);
	else
		(void)db_rollback(s->db);
	/* The head goes after the rows: a crash between leaves a head that
	 * verify still checks, never a record without its head. */
	if (r == 0 && fs_exists(head) && unlink(head) < 0)
		r = err_set(-errno, "%s: %s", head, strerror(errno));
	return r;
}

int store_unsubscribe(struct store *s, const char *channel, const char *const *prefixes,
		      size_t n)
{
	char **old = NULL;
	int r = store_subscription_get(&old, s, channel);

	if (r == -ENOENT)
		return err_set(-ENOENT, "this store does not subscribe to channel %s", channel);
	if (r == 0 && n == 0) {
		store_filters_free(old);
		return drop_channel(s, channel);
	}
	if (r == 0 && !old)
		r = err_set(-ENOENT, "channel %s is subscribed whole, without path filters; "
				     "narrow it with ferry store subscribe --only", channel);
	for (size_t i = 0; r == 0 && i < n; i++) {
		AUTO_FREE char *p = NULL;
		size_t k;

		r = store_filter_normalize(&p, prefixes[i]);
		for (k = 0; r == 0 && old[k] && strcmp(old[k], p) != 0; k++)
			;
		if (r == 0 && !old[k])
			r = err_set(-ENOENT, "channel %s has no path filter %s", channel, p);
		if (r == 0) {
			mem_free(old[k]);
			for (; old[k]; k++)
				old[k] = old[k + 1];
		}
	}
	if (r == 0 && !old[0])
		r = err_set(-EINVAL, "that would remove every path filter of %s and take the whole "
				     "channel; to drop the channel, ferry store unsubscribe STORE %s",
			    channel, channel);
	if (r == 0) /* still sorted and pruned: only entries were taken out */
		r = replace(s, channel, old, false);
	store_filters_free(old);
	return r;
}

int store_installed_filters_get(char ***out, struct store *s, const char *channel)
{
	AUTO_FREE char *key = NULL;
	AUTO_FREE char *value = NULL;
	struct flist l = { 0 };
	char *line, *save = NULL;
	int r;

	*out = NULL;
	if (asprintf(&key, "%s%s", FILTERS_META, channel) < 0)
		return -ENOMEM;
	r = db_meta_get(&value, s->db, key);
	if (r == -ENOENT)
		return 0;
	for (line = r == 0 ? strtok_r(value, "\n", &save) : NULL; r == 0 && line;
	     line = strtok_r(NULL, "\n", &save))
		r = flist_add(&l, line, false);
	if (r < 0) {
		store_filters_free(l.v);
		return r;
	}
	*out = flist_finish(&l);
	return 0;
}

int store_held_filters_get(char ***out, struct store *s, const char *channel)
{
	char **inst = NULL, **want = NULL;
	struct flist l = { 0 };
	int r = store_installed_filters_get(&inst, s, channel);

	*out = NULL;
	if (r == 0)
		r = store_subscription_get(&want, s, channel);
	if (r == -ENOENT) { /* not subscribed any longer: what was installed */
		*out = inst;
		return 0;
	}
	if (r < 0) {
		store_filters_free(inst);
		store_filters_free(want);
		return r;
	}
	if (!want || !inst) { /* one of them is the whole channel */
		*out = want ? want : inst;
		return 0;
	}
	/* Prefix sets meet where one prefix lies inside the other. */
	r = (l.v = mem_calloc(FILTERS_MAX + 1, sizeof(*l.v))) ? 0 : -ENOMEM;
	for (size_t i = 0; r == 0 && inst[i]; i++)
		for (size_t k = 0; r == 0 && want[k]; k++)
			if (under(inst[i], want[k]) || under(want[k], inst[i]))
				r = flist_add(&l, under(inst[i], want[k]) ? inst[i] : want[k], false);
	store_filters_free(inst);
	store_filters_free(want);
	if (r < 0) {
		store_filters_free(l.v);
		return r;
	}
	*out = flist_finish(&l);
	return 0;
}

int store_installed_filters_put(struct store *s, const char *channel,
				const char *const *filters)
{
	AUTO_FREE char *key = NULL;
	struct buf b;
	int r = 0;

	if (asprintf(&key, "%s%s", FILTERS_META, channel) < 0)
		return -ENOMEM;
	if (!filters || !filters[0]) {
		r = db_meta_remove(s->db, key);
		return r == -ENOENT ? 0 : r;
	}
	buf_init(&b, LIMIT_LINE_BYTES);
	for (size_t i = 0; r == 0 && filters[i]; i++) {
		if (i)
			r = buf_append(&b, "\n", 1);
		if (r == 0)
			r = buf_append(&b, filters[i], strlen(filters[i]));
	}
	if (r == 0)
		r = db_meta_put(s->db, key, buf_str(&b));
	buf_release(&b);
	return r;
}

int store_release_walk(struct store *s, const struct mgit_oid *tree, const char *const *filters,
		       mgit_walk_fn cb, void *ctx)
{
	int r = 0;

	if (!filters)
		return mgit_tree_walk(s->git, tree, "files", cb, ctx);
	for (size_t i = 0; r == 0 && filters[i]; i++) {
		AUTO_FREE char *prefix = fs_join("files", filters[i]);

		r = prefix ? mgit_tree_walk(s->git, tree, prefix, cb, ctx) : -ENOMEM;
		if (r == -ENOENT)
			r = 0; /* not in this release: nothing to take */
	}
	return r;
}

/* Missing chunks are remembered (40 bytes each) to count each once; past
 * this many distinct ones the rest are counted as met, an upper bound. */
#define SCAN_DISTINCT_MAX (1u << 20)

struct scan {
	struct store *s;
	struct store_scan *out;
	struct buf blob;
	struct chunk_ref *miss; /* missing chunks, to count each once */
	size_t n, cap;
};

static int by_chunk(const void *a, const void *b)
{
	return memcmp(((const struct chunk_ref *)a)->id.b, ((const struct chunk_ref *)b)->id.b,
		      SHA256_LEN);
}

/* Sorts and drops duplicates in place. */
static void scan_compact(struct scan *sc)
{
	size_t k = 0;

	if (sc->n)
		qsort(sc->miss, sc->n, sizeof(*sc->miss), by_chunk);
	for (size_t i = 0; i < sc->n; i++)
		if (!k || memcmp(sc->miss[i].id.b, sc->miss[k - 1].id.b, SHA256_LEN) != 0)
			sc->miss[k++] = sc->miss[i];
	sc->n = k;
}

static int scan_remember(struct scan *sc, const struct chunk_ref *c)
{
	/* Full: compact once more, and if that frees too little to be worth
	 * repeating, count the rest as met. */
	if (!sc->out->approximate && sc->n == SCAN_DISTINCT_MAX) {
		scan_compact(sc);
		sc->out->approximate = sc->n > SCAN_DISTINCT_MAX / 4 * 3;
	}
	if (sc->out->approximate) {
		sc->out->missing_chunks++;
		sc->out->missing_bytes += c->stored_len;
		return 0;
	}
	if (sc->n == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 256, bytes;
		struct chunk_ref *v;

		cap = cap > SCAN_DISTINCT_MAX ? SCAN_DISTINCT_MAX : cap;
		if (!mem_mul_ok(&bytes, cap, sizeof(*v)) || !(v = mem_realloc(sc->miss, bytes)))
			return -ENOMEM;
		sc->miss = v;
		sc->cap = cap;
	}
	sc->miss[sc->n++] = *c;
	return 0;
}

static int scan_file(const char *path, const struct mgit_oid *blob, void *ctx)
{
	struct scan *sc = ctx;
	struct mf_pointer p;
	bool missing = false;
	int r;

	buf_reset(&sc->blob);
	r = mgit_blob_read(&sc->blob, sc->s->git, blob, LIMIT_POINTER_BYTES);
	if (r == 0)
		r = mf_pointer_parse(&p, sc->blob.data, sc->blob.len);
	if (r < 0)
		return err_set(r, "%s: %s", path, err_detail());
	sc->out->files++;
	sc->out->bytes += p.size;
	for (size_t i = 0; r == 0 && i < p.nchunks; i++) {
		r = db_chunk_find(NULL, sc->s->db, &p.chunks[i].id);
		if (r != -ENOENT)
			continue;
		missing = true;
		r = scan_remember(sc, &p.chunks[i]);
	}
	sc->out->missing_files += missing;
	mf_pointer_release(&p);
	return r;
}

int store_release_scan(struct store_scan *out, struct store *s, const char *commit_hex,
		       const char *const *filters)
{
	struct scan sc = { .s = s, .out = out };
	struct mgit_commit c;
	struct mgit_oid id;
	int r;

	memset(out, 0, sizeof(*out));
	r = mgit_oid_parse(&id, commit_hex);
	if (r == 0)
		r = mgit_commit_read(&c, s->git, &id);
	if (r < 0)
		return err_set(r, "release %s: %s", commit_hex, err_detail());
	buf_init(&sc.blob, LIMIT_POINTER_BYTES);
	r = store_release_walk(s, &c.tree, filters, scan_file, &sc);
	mgit_commit_release(&c);
	buf_release(&sc.blob);
	if (r == 0)
		scan_compact(&sc);
	for (size_t i = 0; r == 0 && i < sc.n; i++) {
		out->missing_chunks++;
		out->missing_bytes += sc.miss[i].stored_len;
	}
	mem_free(sc.miss);
	return r;
}
