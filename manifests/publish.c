/*
 * publish.c — the next release of a channel (see publish.h).
 */
#include "manifests/publish.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/codec_text.h"
#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "manifests/catalog.h"
#include "manifests/head.h"
#include "manifests/mgit.h"
#include "manifests/pointer.h"
#include "manifests/publish_delta.h"
#include "manifests/repo.h"
#include "manifests/sshsig.h"
#include "manifests/thin.h"
#include "packager/pack.h"
#include "packager/pack_list.h"

#define COMMIT_NAME "ferry"
#define COMMIT_EMAIL "ferry@localhost"

struct publish {
	const struct mf_publish_opts *o;
	struct mf_publish_result *res;
	struct mf_repo *repo;
	struct ssh_privkey key;
	struct mgit *git;
	struct mgit_tree *tree;
	struct buf scratch;
	struct mf_head prev;
	bool has_prev;
	struct mf_deltas *deltas;
};

static int put_blob_oid(struct mgit_oid *oid, struct publish *p, const char *path,
			const void *data, size_t n)
{
	int r = mgit_blob_write(oid, p->git, data, n);

	return r < 0 ? r : mgit_tree_put(p->tree, path, oid);
}

static int put_blob(struct publish *p, const char *path, const void *data, size_t n)
{
	struct mgit_oid oid;

	return put_blob_oid(&oid, p, path, data, n);
}

/* pack_run's file callback: one pointer blob per file, under files/. */
static int on_file(const char *path, const struct pack_file *f, void *ctx)
{
	struct publish *p = ctx;
	struct mf_pointer ptr = { .size = f->size, .hash = f->hash, .nchunks = f->nchunks,
				  .chunks = (struct chunk_ref *)f->chunks };
	AUTO_FREE char *gitpath = fs_join("files", path);
	struct mgit_oid blob;
	int r;

	if (!gitpath)
		return -ENOMEM;
	buf_reset(&p->scratch);
	r = mf_pointer_format(&p->scratch, &ptr);
	if (r == 0)
		r = put_blob_oid(&blob, p, gitpath, p->scratch.data, p->scratch.len);
	if (r == 0)
		r = mf_deltas_file(p->deltas, path, &blob, f);
	if (r < 0)
		return err_keep(r, "%s: cannot record", path);
	p->res->files++;
	p->res->size += f->size;
	return 0;
}

static int on_skip(const char *path, const char *why, void *ctx)
{
	struct publish *p = ctx;

	if (p->o->strict)
		return err_set(-EINVAL, "%s: %s (refused with --strict)", path, why);
	return p->o->skip ? p->o->skip(path, why, p->o->ctx) : 0;
}

static void on_progress(const struct pack_stats *s, void *ctx)
{
	struct publish *p = ctx;

	if (p->o->progress)
		p->o->progress(s, p->o->ctx);
}

/* meta/packs: "<64 hex> <bytes>" per pack, sorted. */
static int put_pack_list(struct publish *p, const struct pack_result *pr)
{
	AUTO_FREE char *packs_dir = mf_repo_path(p->repo, REPO_PACKS_DIR);
	int r = packs_dir ? 0 : -ENOMEM;

	buf_reset(&p->scratch);
	for (size_t i = 0; r == 0 && i < pr->npacks; i++) {
		AUTO_FREE char *path = NULL;
		char hex[2 * SHA256_LEN + 1];
		uint64_t size = 0;

		r = pack_path_make(&path, packs_dir, &pr->packs[i], PACK_SUFFIX);
		if (r == 0)
			r = fs_file_size(&size, path);
		hex_encode(hex, pr->packs[i].b, SHA256_LEN);
		if (r == 0)
			r = buf_printf(&p->scratch, "%s %llu\n", hex, (unsigned long long)size);
	}
	p->res->npacks = pr->npacks;
	p->res->stored = pr->packs_bytes;
	return r < 0 ? r : put_blob(p, "meta/packs", p->scratch.data, p->scratch.len);
}

static int put_catalog(struct publish *p)
{
	struct buf b;
	int r;

	if (!p->o->meta_path)
		return 0;
	buf_init(&b, LIMIT_CATALOG_BYTES);
	r = fs_read_file(&b, p->o->meta_path, LIMIT_CATALOG_BYTES);
	if (r == 0)
		r = mf_catalog_parse(b.data, b.len, NULL, NULL);
	if (r == 0)
		r = put_blob(p, "meta/catalog.tsv", b.data, b.len);
	else
		r = err_set(r, "%s: %s", p->o->meta_path, err_detail());
	buf_release(&b);
	return r;
}

static int sign_commit(struct buf *out, const void *payload, size_t len, void *ctx)
{
	struct publish *p = ctx;

	return sshsig_sign(out, &p->key, "git", payload, len);
}

static int commit_message(struct buf *out, const struct publish *p, uint64_t version)
{
	const char *msg = p->o->message ? p->o->message : "";

	if (!msg[0])
		return buf_printf(out, "%s release %llu\n\nFerry-Channel: %s\nFerry-Version: %llu\n",
				  p->o->channel, (unsigned long long)version, p->o->channel,
				  (unsigned long long)version);
	return buf_printf(out, "%s\n\nFerry-Channel: %s\nFerry-Version: %llu\n", msg,
			  p->o->channel, (unsigned long long)version);
}

/* Is the new tree the same as the one the current head names? */
static int same_as_prev(bool *same, struct publish *p, const struct mgit_oid *tree)
{
	struct mgit_commit c;
	struct mgit_oid prev;
	int r;

	*same = false;
	if (!p->has_prev)
		return 0;
	memcpy(prev.id, p->prev.commit, MGIT_OID_LEN);
	r = mgit_commit_read(&c, p->git, &prev);
	if (r == 0)
		*same = memcmp(c.tree.id, tree->id, MGIT_OID_LEN) == 0;
	mgit_commit_release(&c);
	return r;
}

static int write_head(struct publish *p, const struct mgit_oid *commit, uint64_t version)
{
	AUTO_FREE char *rel = fs_join(REPO_HEADS_DIR, p->o->channel);
	AUTO_FREE char *path = rel ? mf_repo_path(p->repo, rel) : NULL;
	struct mf_head h = { 0 };
	int r;

	if (!path)
		return -ENOMEM;
	r = hex_decode(h.repo, sizeof(h.repo), p->repo->cfg.id, strlen(p->repo->cfg.id));
	if (r < 0)
		return err_set(-EBADMSG, "ferry.json: bad repository id");
	snprintf(h.channel, sizeof(h.channel), "%s", p->o->channel);
	h.version = version;
	memcpy(h.commit, commit->id, MGIT_OID_LEN);
	h.time = (uint64_t)time(NULL);
	h.expires = p->o->expires;
	h.files = p->res->files;
	h.size = p->res->size;
	h.stored = p->res->stored;
	snprintf(h.git_pack, sizeof(h.git_pack), "%s", p->res->git_pack);
	buf_reset(&p->scratch);
	r = mf_head_sign(&p->scratch, &h, &p->key);
	if (r == 0)
		r = fs_mkdir_parents(path, 0755);
	if (r == 0)
		r = fs_write_atomic(path, p->scratch.data, p->scratch.len);
	p->res->meta_bytes += p->scratch.len;
	return r;
}

/* Commit, git packfile, ref and info files, head — in that order. */
static int record(struct publish *p, const struct pack_result *pr)
{
	AUTO_FREE char *ref = fs_join("refs/heads", p->o->channel);
	AUTO_FREE char *gitpack = NULL;
	struct mgit_oid tree, commit, parent, oldref;
	uint64_t version = p->has_prev ? p->prev.version + 1 : 1;
	bool same = false, has_ref;
	struct buf msg;
	int r;

	if (!ref)
		return -ENOMEM;
	r = put_pack_list(p, pr);
	if (r == 0)
		r = put_catalog(p);
	if (r == 0)
		r = mgit_tree_write(&tree, p->tree);
	if (r == 0)
		r = same_as_prev(&same, p, &tree);
	if (r < 0)
		return r;
	if (same) {
		p->res->unchanged = true;
		p->res->version = p->prev.version;
		hex_encode(p->res->commit, p->prev.commit, MGIT_OID_LEN);
		return 0;
	}
	memcpy(parent.id, p->prev.commit, MGIT_OID_LEN);
	buf_init(&msg, 64 << 10);
	r = commit_message(&msg, p, version);
	if (r == 0)
		r = mgit_commit_create(&commit, p->git, &tree, p->has_prev ? &parent : NULL,
				       COMMIT_NAME, COMMIT_EMAIL, (int64_t)time(NULL),
				       buf_str(&msg), sign_commit, p);
	buf_release(&msg);
	if (r == 0)
		r = mgit_flush(p->res->git_pack, sizeof(p->res->git_pack), p->git);
	if (r < 0)
		return r;
	/* The thin pack against the previous release (manifests/thin.h) is an
	 * extra: without it schools fetch the full pack. */
	if (p->has_prev && p->res->git_pack[0] &&
	    thin_publish(p->repo->root, p->git, p->res->git_pack, &commit, &parent) < 0)
		err_clear();
	has_ref = mgit_ref_read(&oldref, p->git, ref) == 0;
	r = mgit_ref_update(p->git, ref, &commit, has_ref ? &oldref : NULL);
	if (r == 0)
		r = mgit_server_info_update(p->git);
	if (r == 0)
		r = write_head(p, &commit, version);
	if (r < 0)
		return r;
	p->res->version = version;
	mgit_oid_fmt(p->res->commit, &commit);
	gitpack = fs_join(REPO_GIT_DIR "/objects/pack", p->res->git_pack);
	if (gitpack) {
		AUTO_FREE char *full = mf_repo_path(p->repo, gitpack);
		uint64_t size = 0;

		if (full && fs_file_size(&size, full) == 0)
			p->res->meta_bytes += size;
	}
	return 0;
}

static int prepare(struct publish *p)
{
	AUTO_FREE char *git = NULL;
	struct ssh_pubkey pub;
	int r;

	if (!mf_channel_valid(p->o->channel))
		return err_set(-EINVAL, "\"%s\" is not a valid channel name (lower-case letters, "
				  "digits, '.', '_', '-' in segments separated by '/')",
			       p->o->channel);
	r = mf_repo_open(&p->repo, p->o->repo);
	if (r == 0)
		r = sshkey_load_private(&p->key, p->o->key_path);
	if (r < 0)
		return r;
	sshkey_public_from_private(&pub, &p->key);
	r = mf_repo_key_index(p->repo, &pub);
	if (r == 0)
		r = mf_repo_lock(p->repo, p->o->wait);
	if (r == 0)
		r = mf_repo_sign_config(p->repo, &p->key);
	if (r < 0)
		return r;
	r = mf_repo_head_read(&p->prev, p->repo, p->o->channel);
	p->has_prev = r == 0;
	if (r < 0 && r != -ENOENT)
		return r;
	git = mf_repo_path(p->repo, REPO_GIT_DIR);
	r = git ? mgit_open(&p->git, git) : -ENOMEM;
	if (r == 0)
		r = mgit_tree_new(&p->tree, p->git);
	if (r == 0) {
		struct mgit_oid prev;

		memcpy(prev.id, p->prev.commit, MGIT_OID_LEN);
		r = mf_deltas_new(&p->deltas, p->git, p->has_prev ? &prev : NULL,
				  p->has_prev ? p->prev.version + 1 : 1, p->o);
	}
	return r;
}

int mf_publish(struct mf_publish_result *out, const struct mf_publish_opts *o)
{
	struct publish p = { .o = o, .res = out };
	struct pack_result pr = { 0 };
	AUTO_FREE char *packs = NULL, *table = NULL;
	struct pack_run_opts po;
	int r;

	memset(out, 0, sizeof(*out));
	buf_init(&p.scratch, LIMIT_POINTER_BYTES);
	r = prepare(&p);
	if (r < 0)
		goto out;
	packs = mf_repo_path(p.repo, REPO_PACKS_DIR);
	table = mf_repo_path(p.repo, REPO_TABLE_FILE);
	if (!packs || !table) {
		r = -ENOMEM;
		goto out;
	}
	po = (struct pack_run_opts){ .src_dir = o->src_dir, .packs_dir = packs,
				     .table_path = table, .chunker = p.repo->cfg.chunker,
				     .level = p.repo->cfg.level, .pack_max = p.repo->cfg.pack_max,
				     .file = on_file, .skip = on_skip, .progress = on_progress,
				     .ctx = &p };
	r = pack_run(&pr, &po);
	/* Listed before the head names them: a mirror over plain HTTP finds
	 * packs only through this list. */
	/* Deltas are made once every chunk is in a pack; their packs join the
	 * release's pack list and packs/list like any other. */
	if (r == 0)
		r = mf_deltas_finish(p.deltas, p.tree, packs, table, &pr, out);
	if (r == 0)
		r = pack_list_write(packs);
	if (r == 0) {
		out->stats = pr.stats;
		r = record(&p, &pr);
	}
out:
	pack_result_release(&pr);
	mf_deltas_free(p.deltas);
	mgit_tree_free(p.tree);
	mgit_free(p.git);
	mf_repo_close(p.repo);
	sshkey_private_clear(&p.key);
	buf_release(&p.scratch);
	return r;
}
