/*
 * checkout.c — materializing an installed release (see checkout.h).
 */
#define _GNU_SOURCE
#include "sync/checkout.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/codec_text.h"
#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "manifests/catalog.h"
#include "manifests/pointer.h"
#include "manifests/repo.h"
#include "packager/codec.h"
#include "packager/pack.h"
#include "packager/pack_format.h"
#include "sync/store.h"

/* Beside each release folder: the commit it was built from. */
#define RELEASE_MARK ".commit"
#define KEEP_RELEASES 2

struct co {
	struct store *st;
	struct checkout_result *res;
	const char *root;      /* the new release folder being built */
	const char *prev;      /* the previous release folder, or NULL */
	struct mgit_oid prev_tree;
	bool has_prev_tree;
	struct codec *codec;
	uint8_t *raw, *stored;
	struct buf blob;
	int pack_fd;
	int64_t pack_id;
	char **filters;        /* the installed filters; NULL: everything */
};

/* Reads, checks and appends one chunk of the store to fd. */
static int write_chunk(struct co *c, int fd, const struct chunk_ref *ref)
{
	struct db_chunk ch;
	struct pack_entry e;
	const uint8_t *payload;
	int r = db_chunk_find(&ch, c->st->db, &ref->id);

	if (r == -ENOENT)
		return err_set(-ENOENT, "a chunk of this release is missing from the store; run "
					"ferry sync again");
	if (r == 0 && ch.pack != c->pack_id) {
		struct db_pack p;
		AUTO_FREE char *packs = store_path(c->st, REPO_PACKS_DIR);
		AUTO_FREE char *path = NULL;

		r = db_pack_get(&p, c->st->db, ch.pack);
		if (r == 0)
			r = packs ? pack_path_make(&path, packs, &p.name, PACK_SUFFIX) : -ENOMEM;
		if (r == 0) {
			if (c->pack_fd >= 0)
				close(c->pack_fd);
			c->pack_fd = open(path, O_RDONLY | O_CLOEXEC);
			c->pack_id = c->pack_fd >= 0 ? ch.pack : -1;
			r = c->pack_fd >= 0 ? 0 : err_set(-errno, "%s: %s", path, strerror(errno));
		}
	}
	if (r == 0 && (ch.raw_len != ref->raw_len || ch.stored_len > LIMIT_CHUNK_MAX + 64))
		r = err_set(-EBADMSG, "the store's index disagrees with the release; run ferry verify");
	if (r == 0)
		r = fs_pread_all(c->pack_fd, c->stored, PACK_ENTRY_HEADER_LEN + ch.stored_len,
				 ch.offset);
	if (r == 0)
		r = pack_entry_parse(&e, &payload, c->stored, PACK_ENTRY_HEADER_LEN + ch.stored_len);
	if (r >= 0 && memcmp(e.id.b, ref->id.b, SHA256_LEN) != 0)
		r = -EBADMSG;
	if (r >= 0)
		r = pack_entry_decode(c->raw, LIMIT_CHUNK_MAX, &e, payload, c->codec);
	if (r < 0)
		return err_keep(r, "a chunk in the store does not verify; run ferry verify");
	return fs_write_all(fd, c->raw, e.raw_len);
}

static int write_file(struct co *c, const char *dest, const struct mf_pointer *p)
{
	AUTO_FREE char *tmp = NULL;
	struct sha256_ctx *h = NULL;
	struct sha256 got;
	int fd, r;

	r = fs_tmp_open(&fd, &tmp, dest);
	if (r < 0)
		return r;
	r = sha256_ctx_new(&h);
	for (size_t i = 0; r == 0 && i < p->nchunks; i++)
		r = write_chunk(c, fd, &p->chunks[i]);
	if (r == 0) {
		/* Re-read what was written: the whole-file hash is the last check. */
		uint8_t buf[1 << 16];
		uint64_t off = 0;

		while (r == 0 && off < p->size) {
			size_t n = p->size - off < sizeof(buf) ? (size_t)(p->size - off) : sizeof(buf);

			r = fs_pread_all(fd, buf, n, off);
			sha256_ctx_update(h, buf, n);
			off += n;
		}
		sha256_ctx_final(h, &got);
		if (r == 0 && memcmp(got.b, p->hash.b, SHA256_LEN) != 0)
			r = err_set(-EBADMSG, "a rebuilt file does not match its release hash");
	}
	sha256_ctx_free(h);
	if (r < 0) {
		fs_tmp_abort(fd, tmp);
		return r;
	}
	close(fd);
	if (rename(tmp, dest) < 0) {
		r = -errno;
		(void)unlink(tmp);
		return r;
	}
	c->res->written++;
	c->res->bytes_written += p->size;
	return 0;
}

/* Hard-links dest from the previous checkout if the file is unchanged. */
static bool reuse(struct co *c, const char *rel, const struct mgit_oid *blob, const char *dest)
{
	struct mgit_oid old;
	AUTO_FREE char *gitpath = fs_join("files", rel);
	AUTO_FREE char *src = NULL;

	if (!c->prev || !c->has_prev_tree || !gitpath ||
	    mgit_tree_get(&old, c->st->git, &c->prev_tree, gitpath) < 0 ||
	    memcmp(old.id, blob->id, MGIT_OID_LEN) != 0)
		return false;
	src = fs_join(c->prev, rel);
	if (!src || link(src, dest) < 0)
		return false;
	c->res->linked++;
	return true;
}

static int on_file(const char *path, const struct mgit_oid *blob, void *ctx)
{
	struct co *c = ctx;
	const char *rel = path + strlen("files/");
	AUTO_FREE char *dest = fs_join(c->root, rel);
	struct mf_pointer p;
	int r;

	if (!dest)
		return -ENOMEM;
	r = mf_path_check(rel, strlen(rel));
	if (r < 0)
		return r;
	r = fs_mkdir_parents(dest, 0755);
	if (r < 0)
		return r;
	c->res->files++;
	if (reuse(c, rel, blob, dest))
		return 0;
	buf_reset(&c->blob);
	r = mgit_blob_read(&c->blob, c->st->git, blob, LIMIT_POINTER_BYTES);
	if (r == 0)
		r = mf_pointer_parse(&p, c->blob.data, c->blob.len);
	if (r < 0)
		return err_set(r, "%s: %s", rel, err_detail());
	r = write_file(c, dest, &p);
	mf_pointer_release(&p);
	return r < 0 ? err_keep(r, "%s", rel) : 0;
}

/* DIR's current target (a release folder), or NULL. */
static char *current_target(const char *dir)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(dir, buf, sizeof(buf) - 1);

	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return mem_strdup(buf);
}

static int switch_to(const char *dir, const char *target)
{
	AUTO_FREE char *tmp = mem_alloc(strlen(dir) + 16);
	int r;

	if (!tmp)
		return -ENOMEM;
	snprintf(tmp, strlen(dir) + 16, "%s.tmp-link", dir);
	(void)unlink(tmp);
	if (symlink(target, tmp) < 0)
		return err_set(-errno, "%s: %s", tmp, strerror(errno));
	if (rename(tmp, dir) < 0) {
		r = err_set(-errno, "%s: %s", dir, strerror(errno));
		(void)unlink(tmp);
		return r;
	}
	return fs_fsync_parent(dir);
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* Removes a release folder (only folders and regular files ferry wrote);
 * no shell, and symlinks are never followed (FTW_PHYS). */
static int rm_tree(const char *path)
{
	if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		return err_set(-errno, "%s: %s", path, strerror(errno));
	return 0;
}

/* Whether p is the release folder keep or its .commit mark (not merely a
 * name starting like it: the same release under filters has a longer one). */
static bool is_kept(const char *p, const char *keep)
{
	size_t n = keep ? strlen(keep) : 0;

	return keep && strncmp(p, keep, n) == 0 && (!p[n] || strcmp(p + n, RELEASE_MARK) == 0);
}

/* Keeps the current and previous releases; removes the rest. */
static void prune(const char *releases, const char *keep1, const char *keep2)
{
	DIR *d = opendir(releases);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		AUTO_FREE char *p = NULL;

		if (e->d_name[0] == '.')
			continue;
		p = fs_join(releases, e->d_name);
		/* A kept release keeps its folder and its .commit mark. */
		if (p && !is_kept(p, keep1) && !is_kept(p, keep2))
			(void)rm_tree(p);
	}
	closedir(d);
}

static int previous_release(char **out, const char *releases, const char *current)
{
	DIR *d = opendir(releases);
	struct dirent *e;
	char *best = NULL;

	if (!d)
		return -ENOENT;
	while ((e = readdir(d))) {
		AUTO_FREE char *p = NULL;

		if (e->d_name[0] == '.' || strstr(e->d_name, ".tmp-") || strchr(e->d_name, '.'))
			continue;
		p = fs_join(releases, e->d_name);
		if (p && (!current || strcmp(p, current)) && (!best || strcmp(p, best) > 0)) {
			mem_free(best);
			best = TAKE_PTR(p);
		}
	}
	closedir(d);
	*out = best;
	return best ? 0 : err_set(-ENOENT, "no previous release to roll back to");
}

static int build(struct co *c, struct db_channel *ch, const char *target)
{
	AUTO_FREE char *tmp = mem_alloc(strlen(target) + 8);
	AUTO_FREE char *mark = NULL;
	struct mgit_commit cm;
	struct mgit_oid id;
	int r;

	if (!tmp)
		return -ENOMEM;
	snprintf(tmp, strlen(target) + 8, "%s.tmp-b", target);
	(void)rm_tree(tmp);
	r = fs_mkdir_p(tmp, 0755);
	if (r == 0)
		r = mgit_oid_parse(&id, ch->commit);
	if (r == 0)
		r = mgit_commit_read(&cm, c->st->git, &id);
	if (r < 0)
		return r;
	c->root = tmp;
	r = store_release_walk(c->st, &cm.tree, (const char *const *)c->filters, on_file, c);
	mgit_commit_release(&cm);
	if (asprintf(&mark, "%s%s", target, RELEASE_MARK) < 0)
		mark = NULL;
	if (r == 0)
		r = mark ? fs_write_atomic(mark, ch->commit, strlen(ch->commit)) : -ENOMEM;
	if (r == 0)
		sync();
	if (r == 0 && rename(tmp, target) < 0)
		r = err_set(-errno, "%s: %s", target, strerror(errno));
	if (r < 0)
		(void)rm_tree(tmp);
	return r;
}

/* The commit a release folder was built from, as its tree. */
static void previous_tree(struct co *c)
{
	AUTO_FREE char *mark = NULL;
	struct buf b;
	struct mgit_oid id;
	struct mgit_commit cm;

	if (!c->prev || asprintf(&mark, "%s%s", c->prev, RELEASE_MARK) < 0)
		return;
	buf_init(&b, 64);
	if (mark && fs_read_file(&b, mark, 64) == 0 && mgit_oid_parse(&id, buf_str(&b)) == 0 &&
	    mgit_commit_read(&cm, c->st->git, &id) == 0) {
		c->prev_tree = cm.tree;
		c->has_prev_tree = true;
		mgit_commit_release(&cm);
	}
	buf_release(&b);
}

/* releases/<version>-<commit>, and for a narrowed install "-f" and a
 * digest of its filters: the same release under other filters is another
 * tree, built beside the current one like a new release. */
static int release_folder(char **out, const char *releases, const struct db_channel *ch,
			  const char *const *filters)
{
	AUTO_FREE char *text = NULL;
	struct sha256 d;
	char hex[2 * SHA256_LEN + 1] = "";

	if (filters) {
		struct buf b;
		int r = 0;

		buf_init(&b, LIMIT_LINE_BYTES);
		for (size_t i = 0; r == 0 && filters[i]; i++)
			r = buf_append(&b, filters[i], strlen(filters[i]) + 1);
		sha256_buf(&d, b.data, b.len);
		buf_release(&b);
		if (r < 0)
			return r;
		hex_encode(hex, d.b, SHA256_LEN);
	}
	if (asprintf(out, "%s/%020llu-%.12s%s%.12s", releases, (unsigned long long)ch->version,
		     ch->commit, filters ? "-f" : "", hex) < 0)
		return -ENOMEM;
	return 0;
}

int checkout_run(struct checkout_result *out, const char *store, const char *channel,
		 const char *dir, bool rollback)
{
	struct co c = { .res = out, .pack_fd = -1, .pack_id = -1 };
	struct db_channel ch = { 0 };
	AUTO_FREE char *releases = mem_alloc(strlen(dir) + 16);
	AUTO_FREE char *cur = current_target(dir);
	AUTO_FREE char *target = NULL;
	struct stat st;
	int r;

	memset(out, 0, sizeof(*out));
	if (!releases)
		return -ENOMEM;
	snprintf(releases, strlen(dir) + 16, "%s.releases", dir);
	if (lstat(dir, &st) == 0 && !S_ISLNK(st.st_mode))
		return err_set(-EEXIST, "%s exists and is not a ferry checkout (a symlink); "
					"choose another folder", dir);
	r = store_open(&c.st, store);
	if (r == 0)
		r = store_lock(c.st, true);
	if (r == 0)
		r = db_channel_get(&ch, c.st->db, channel);
	if (r == -ENOENT)
		r = err_set(-ENOENT, "channel %s has no installed release in %s; run ferry sync",
			    channel, store);
	if (r == 0)
		r = store_held_filters_get(&c.filters, c.st, channel);
	if (r < 0)
		goto out;
	out->version = ch.version;
	if (rollback) {
		r = previous_release(&target, releases, cur);
		if (r == 0)
			r = switch_to(dir, target);
		goto done;
	}
	r = fs_mkdir_p(releases, 0755);
	if (r == 0)
		r = release_folder(&target, releases, &ch, (const char *const *)c.filters);
	if (r < 0)
		goto out;
	c.prev = cur;
	previous_tree(&c);
	c.raw = mem_alloc(LIMIT_CHUNK_MAX);
	c.stored = mem_alloc(PACK_ENTRY_HEADER_LEN + LIMIT_CHUNK_MAX + 64);
	buf_init(&c.blob, LIMIT_POINTER_BYTES);
	r = c.raw && c.stored ? codec_new(&c.codec, 3) : -ENOMEM;
	if (r == 0 && !fs_exists(target))
		r = build(&c, &ch, target);
	if (r == 0)
		r = switch_to(dir, target);
	if (r == 0)
		prune(releases, target, cur);
	buf_release(&c.blob);
done:
	if (r == 0 && target)
		snprintf(out->target, sizeof(out->target), "%s", target);
out:
	if (c.pack_fd >= 0)
		close(c.pack_fd);
	codec_free(c.codec);
	mem_free(c.raw);
	mem_free(c.stored);
	db_channel_release(&ch);
	store_filters_free(c.filters);
	store_close(c.st);
	return r;
}
