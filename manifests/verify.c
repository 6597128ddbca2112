/*
 * verify.c — `ferry verify` for a repository (see verify.h): config,
 * manifest git repository, heads and their releases, chunk table.
 */
#include "manifests/verify.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/codec_text.h"
#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "core/textline.h"
#include "manifests/head.h"
#include "manifests/mgit.h"
#include "manifests/pointer.h"
#include "manifests/repo.h"
#include "manifests/sshsig.h"
#include "manifests/verify_int.h"
#include "packager/chunk_table.h"
#include "packager/pack_list.h"

/* What one release check carries along. */
struct rel {
	struct vfy *v;
	bool any_pack;             /* a school store: chunks may be in any pack */
	struct mgit *git;
	const char *channel;
	struct pack_index **packs; /* the release's packs */
	size_t npacks;
	uint64_t files, size;
	struct buf blob;
};

static void check_config_sig(struct vfy *v, struct mf_repo *repo)
{
	AUTO_FREE char *cfg = mf_repo_path(repo, REPO_CONFIG_FILE);
	AUTO_FREE char *sig = mf_repo_path(repo, REPO_CONFIG_SIG_FILE);
	struct buf body, s;
	size_t which;

	buf_init(&body, LIMIT_CONFIG_BYTES);
	buf_init(&s, LIMIT_HEAD_BYTES);
	if (!cfg || !sig || fs_read_file(&body, cfg, LIMIT_CONFIG_BYTES) < 0)
		vfy_report(v, "ferry.json: unreadable");
	else if (!fs_exists(sig))
		; /* unsigned until the first publish; heads are checked on their own */
	else if (fs_read_file(&s, sig, LIMIT_HEAD_BYTES) < 0 ||
		 sshsig_verify(&which, repo->keys, repo->nkeys, REPO_CONFIG_NAMESPACE, buf_str(&s),
			       s.len, body.data, body.len) < 0)
		vfy_report(v, "ferry.json.sig: %s", err_detail());
	buf_release(&body);
	buf_release(&s);
}

static bool chunk_in_release(struct rel *rl, const struct chunk_ref *c)
{
	struct pack_index **packs = rl->any_pack ? rl->v->idx : rl->packs;
	size_t n = rl->any_pack ? rl->v->nidx : rl->npacks;

	for (size_t i = 0; i < n; i++) {
		struct pack_entry e;

		if (pack_index_find(&e, packs[i], &c->id) == 0)
			return e.raw_len == c->raw_len && e.stored_len == c->stored_len;
	}
	return false;
}

static int check_pointer(const char *path, const struct mgit_oid *blob, void *ctx)
{
	struct rel *rl = ctx;
	struct mf_pointer p;
	char hex[2 * SHA256_LEN + 1];
	bool held;

	buf_reset(&rl->blob);
	if (mgit_blob_read(&rl->blob, rl->git, blob, LIMIT_POINTER_BYTES) < 0 ||
	    mf_pointer_parse(&p, rl->blob.data, rl->blob.len) < 0) {
		vfy_report(rl->v, "%s: %s: %s", rl->channel, path, err_detail());
		return 0;
	}
	/* A narrowed store holds no chunks of files outside its filters. */
	held = !rl->v->held || rl->v->held(rl->channel, path + strlen("files/"), rl->v->held_ctx);
	for (size_t i = 0; held && i < p.nchunks; i++) {
		if (chunk_in_release(rl, &p.chunks[i]))
			continue;
		hex_encode(hex, p.chunks[i].id.b, SHA256_LEN);
		vfy_report(rl->v, "%s: %s: chunk %s is in none of the release's packs", rl->channel,
			   path, hex);
		break;
	}
	rl->files++;
	rl->size += p.size;
	rl->v->stats->files++;
	mf_pointer_release(&p);
	return 0;
}

/* meta/packs: every listed pack present, with its size; returns the sum. */
static uint64_t check_pack_list(struct rel *rl, const struct mgit_oid *tree)
{
	struct mgit_oid blob;
	struct textline t;
	uint64_t total = 0;

	buf_reset(&rl->blob);
	if (mgit_tree_get(&blob, rl->git, tree, "meta/packs") < 0 ||
	    mgit_blob_read(&rl->blob, rl->git, &blob, LIMIT_POINTER_BYTES) < 0) {
		vfy_report(rl->v, "%s: release has no readable meta/packs", rl->channel);
		return 0;
	}
	textline_init(&t, rl->blob.data, rl->blob.len);
	while (textline_next(&t)) {
		struct sha256 name;
		const char *w;
		size_t wlen;
		uint64_t size;
		struct pack_index *idx;

		if (!textline_word(&t, &w, &wlen) || hex_decode(name.b, SHA256_LEN, w, wlen) < 0 ||
		    textline_u64(&t, &size) < 0 || !textline_end(&t)) {
			vfy_report(rl->v, "%s: meta/packs line %u is malformed", rl->channel, t.lineno);
			continue;
		}
		total += size;
		idx = vfy_index(rl->v, &name);
		if (rl->any_pack)
			continue; /* a store holds its own packs, not the publisher's */
		if (!idx || pack_index_pack_size(idx) != size) {
			vfy_report(rl->v, "%s: pack %.*s listed by the release is missing or differs",
				   rl->channel, (int)wlen, w);
			continue;
		}
		rl->packs[rl->npacks++] = idx;
	}
	if (t.bad)
		vfy_report(rl->v, "%s: meta/packs is malformed", rl->channel);
	return total;
}

static void check_release(struct vfy *v, struct mf_repo *repo, struct mgit *git,
			  const struct mf_head *h)
{
	AUTO_FREE char *db = mf_repo_path(repo, "store.db");
	/* A USB stick written by `ferry usb export` (sync/usb.h) may carry a
	 * store's packs, not the publisher's: like a store, any pack will do. */
	AUTO_FREE char *usb = mf_repo_path(repo, "ferry-usb.json");
	struct rel rl = { .v = v, .git = git, .channel = h->channel,
			  .any_pack = (db && fs_exists(db)) || (usb && fs_exists(usb)) };
	struct mgit_commit c = { 0 };
	struct mgit_oid id;
	uint64_t stored;
	size_t which;

	memcpy(id.id, h->commit, MGIT_OID_LEN);
	if (mgit_commit_read(&c, git, &id) < 0) {
		vfy_report(v, "%s: release commit: %s", h->channel, err_detail());
		goto out;
	}
	if (!c.signature || sshsig_verify(&which, repo->keys, repo->nkeys, "git", c.signature,
					  c.signature_len, c.payload, c.payload_len) < 0)
		vfy_report(v, "%s: release commit signature: %s", h->channel,
			   c.signature ? err_detail() : "unsigned");
	rl.packs = mem_calloc(v->nidx + 1, sizeof(*rl.packs));
	buf_init(&rl.blob, LIMIT_POINTER_BYTES);
	if (!rl.packs)
		goto out;
	stored = check_pack_list(&rl, &c.tree);
	vfy_check_deltas(v, git, h->channel, &c.tree, rl.packs, rl.npacks, rl.any_pack);
	if (mgit_tree_walk(git, &c.tree, "files", check_pointer, &rl) < 0)
		vfy_report(v, "%s: release tree: %s", h->channel, err_detail());
	if (rl.files != h->files || rl.size != h->size || stored != h->stored)
		vfy_report(v, "%s: head totals (%llu files, %llu bytes, %llu stored) differ from "
			      "the release (%llu, %llu, %llu)",
			   h->channel, (unsigned long long)h->files, (unsigned long long)h->size,
			   (unsigned long long)h->stored, (unsigned long long)rl.files,
			   (unsigned long long)rl.size, (unsigned long long)stored);
out:
	mgit_commit_release(&c);
	buf_release(&rl.blob);
	mem_free(rl.packs);
}

static void check_head(struct vfy *v, struct mf_repo *repo, struct mgit *git, const char *channel)
{
	struct mf_head h;
	char id[REPO_ID_HEX + 1];

	v->stats->heads++;
	if (mf_repo_head_read(&h, repo, channel) < 0) {
		vfy_report(v, "%s", err_detail());
		return;
	}
	hex_encode(id, h.repo, sizeof(h.repo));
	if (strcmp(h.channel, channel) != 0)
		vfy_report(v, "heads/%s: names channel %s", channel, h.channel);
	else if (strcmp(id, repo->cfg.id) != 0)
		vfy_report(v, "heads/%s: belongs to another repository (%s)", channel, id);
	else if (git)
		check_release(v, repo, git, &h);
}

/* Walks heads/ recursively; a channel's name is its path under heads/. */
static int walk_heads(struct vfy *v, struct mf_repo *repo, struct mgit *git, const char *rel)
{
	AUTO_FREE char *dir = mf_repo_path(repo, rel);
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *e;
	int r = 0;

	if (!d)
		return 0;
	while (r == 0 && (e = readdir(d))) {
		AUTO_FREE char *sub = NULL, *full = NULL;
		struct stat st;

		if (e->d_name[0] == '.' || strstr(e->d_name, ".tmp-"))
			continue;
		sub = fs_join(rel, e->d_name);
		full = sub ? mf_repo_path(repo, sub) : NULL;
		if (!full) {
			r = -ENOMEM;
			break;
		}
		if (stat(full, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			r = walk_heads(v, repo, git, sub);
		else
			check_head(v, repo, git, sub + strlen(REPO_HEADS_DIR) + 1);
	}
	closedir(d);
	return r;
}

struct table_check {
	struct vfy *v;
	const struct chunk_table *t;
	uint64_t bad;
};

static int check_table_rec(const struct chunk_rec *rec, void *ctx)
{
	struct table_check *tc = ctx;
	struct pack_index *idx = vfy_index(tc->v, chunk_table_pack_name(tc->t, rec->pack));
	struct pack_entry e;

	if (!idx || pack_index_find(&e, idx, &rec->id) < 0 || e.stored_len != rec->stored_len ||
	    e.raw_len != rec->raw_len)
		tc->bad++;
	return 0;
}

static void check_table(struct vfy *v, struct mf_repo *repo)
{
	AUTO_FREE char *path = mf_repo_path(repo, REPO_TABLE_FILE);
	struct chunk_table *t = NULL;
	struct table_check tc = { .v = v };

	if (!path || !fs_exists(path))
		return;
	if (chunk_table_open(&t, path) < 0) {
		vfy_report(v, "%s: %s (remove it; the next ferry pack rebuilds it)", REPO_TABLE_FILE,
			   err_detail());
		return;
	}
	tc.t = t;
	if (chunk_table_foreach(t, check_table_rec, &tc) < 0 || tc.bad)
		vfy_report(v, "%s: %llu records disagree with the packs", REPO_TABLE_FILE,
			   (unsigned long long)tc.bad);
	chunk_table_free(t);
}

static int problem_line_git(const char *line, void *ctx)
{
	vfy_report(ctx, "manifests.git: %s", line);
	return 0;
}

static int listed_pack(const struct sha256 *name, uint64_t size, void *ctx)
{
	struct vfy *v = ctx;
	struct pack_index *idx = vfy_index(v, name);
	char hex[2 * SHA256_LEN + 1];

	if (!idx || pack_index_pack_size(idx) != size) {
		hex_encode(hex, name->b, SHA256_LEN);
		vfy_report(v, "packs/list: pack %s is listed but missing or of another size", hex);
	}
	return 0;
}

/* packs/list may miss packs (a publisher killed before rewriting it), but
 * every pack it lists must be there: mirrors serve from it. */
static void check_pack_list_file(struct vfy *v, struct mf_repo *repo)
{
	AUTO_FREE char *path = mf_repo_path(repo, REPO_PACKS_DIR "/" PACK_LIST_FILE);
	struct buf b;

	buf_init(&b, PACK_LIST_MAX_BYTES);
	if (!path || fs_read_file(&b, path, PACK_LIST_MAX_BYTES) < 0 ||
	    pack_list_parse(b.data, b.len, listed_pack, v) < 0)
		vfy_report(v, "packs/list: %s", err_detail());
	buf_release(&b);
}

int mf_verify_repo(struct mf_verify_stats *out, const char *root,
		   int (*problem)(const char *line, void *ctx), void *ctx)
{
	return mf_verify_store(out, root, NULL, NULL, problem, ctx);
}

int mf_verify_store(struct mf_verify_stats *out, const char *root, mf_verify_held_fn held,
		    void *held_ctx, int (*problem)(const char *line, void *ctx), void *ctx)
{
	struct vfy v = { .stats = out, .problem = problem, .ctx = ctx, .held = held,
			 .held_ctx = held_ctx };
	struct mf_repo *repo = NULL;
	struct mgit *git = NULL;
	AUTO_FREE char *packs = NULL, *gitdir = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	r = mf_repo_open(&repo, root);
	if (r < 0) {
		vfy_report(&v, "%s", err_text(r));
		return r == -ENOENT ? r : -EBADMSG;
	}
	check_config_sig(&v, repo);
	packs = mf_repo_path(repo, REPO_PACKS_DIR);
	gitdir = mf_repo_path(repo, REPO_GIT_DIR);
	r = packs && gitdir ? vfy_packs(&v, packs) : -ENOMEM;
	if (r == 0 && mgit_open(&git, gitdir) < 0)
		vfy_report(&v, "manifests.git: %s", err_detail());
	else if (r == 0 && mgit_verify(git, problem_line_git, &v) < 0 && v.stats->problems == 0)
		vfy_report(&v, "manifests.git: %s", err_detail());
	if (r == 0)
		check_pack_list_file(&v, repo);
	if (r == 0)
		r = walk_heads(&v, repo, git, REPO_HEADS_DIR);
	if (r == 0)
		check_table(&v, repo);
	mgit_free(git);
	mf_repo_close(repo);
	vfy_release(&v);
	if (r < 0)
		return r;
	return out->problems ? -EBADMSG : 0;
}
