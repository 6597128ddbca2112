/*
 * repo.c — creating, opening and locking a repository (see repo.h).
 */
#include "manifests/repo.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "manifests/head.h"
#include "manifests/mgit.h"
#include "manifests/sshsig.h"
#include "packager/pack_list.h"

char *mf_repo_path(const struct mf_repo *r, const char *rel)
{
	return fs_join(r->root, rel);
}

static bool dir_is_empty_or_missing(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	bool empty = true;

	if (!d)
		return errno == ENOENT;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = false;
	closedir(d);
	return empty;
}

static int make_dirs(const char *root)
{
	static const char *const dirs[] = { REPO_HEADS_DIR, REPO_PACKS_DIR, REPO_LOCAL_DIR };

	return fs_mkdirs_under(root, dirs, ARRAY_SIZE(dirs));
}

static int write_config(const char *root, const struct repo_config *cfg)
{
	AUTO_FREE char *path = fs_join(root, REPO_CONFIG_FILE);
	struct buf b;
	int r;

	if (!path)
		return -ENOMEM;
	buf_init(&b, LIMIT_CONFIG_BYTES);
	r = repo_config_format(&b, cfg);
	if (r == 0)
		r = fs_write_atomic(path, b.data, b.len);
	buf_release(&b);
	return r;
}

static int add_keys(struct repo_config *cfg, const char *const *paths, size_t n)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++) {
		struct buf line;

		buf_init(&line, 4096);
		r = sshkey_public_file_line(&line, paths[i]);
		if (r == 0)
			r = repo_config_add_key(cfg, buf_str(&line));
		buf_release(&line);
	}
	return r;
}

int mf_repo_init(const char *root, const char *const *pubkey_paths, size_t n)
{
	AUTO_FREE char *git = fs_join(root, REPO_GIT_DIR);
	struct repo_config cfg;
	struct mgit *g = NULL;
	int r;

	if (n == 0)
		return err_set(-EINVAL, "a repository needs at least one --key");
	if (!git)
		return -ENOMEM;
	if (!dir_is_empty_or_missing(root))
		return err_set(-EEXIST, "%s is not empty; a repository is created in a new folder",
			       root);
	r = repo_config_new(&cfg);
	if (r < 0)
		return r;
	r = add_keys(&cfg, pubkey_paths, n);
	if (r == 0)
		r = make_dirs(root);
	if (r == 0)
		r = mgit_init(&g, git);
	if (r == 0) {
		AUTO_FREE char *packs = fs_join(root, REPO_PACKS_DIR);

		r = packs ? pack_list_write(packs) : -ENOMEM;
	}
	mgit_free(g);
	/* ferry.json last: its presence marks a complete repository. */
	if (r == 0)
		r = write_config(root, &cfg);
	repo_config_release(&cfg);
	return r;
}

void mf_repo_close(struct mf_repo *r)
{
	if (!r)
		return;
	if (r->lock_fd >= 0)
		close(r->lock_fd);
	repo_config_release(&r->cfg);
	mem_free(r->root);
	mem_free(r);
}

static int load(struct mf_repo *r)
{
	AUTO_FREE char *path = mf_repo_path(r, REPO_CONFIG_FILE);
	struct buf b;
	int e;

	if (!path)
		return -ENOMEM;
	buf_init(&b, LIMIT_CONFIG_BYTES);
	e = fs_read_file(&b, path, LIMIT_CONFIG_BYTES);
	if (e == -ENOENT)
		e = err_set(-ENOENT, "%s is not a ferry repository (no %s)", r->root,
			    REPO_CONFIG_FILE);
	if (e == 0)
		e = repo_config_parse(&r->cfg, b.data, b.len);
	buf_release(&b);
	for (size_t i = 0; e == 0 && i < r->cfg.nkeys; i++)
		e = sshkey_parse_public(&r->keys[i], r->cfg.keys[i], strlen(r->cfg.keys[i]));
	if (e < 0)
		return e;
	r->nkeys = r->cfg.nkeys;
	return 0;
}

int mf_repo_open(struct mf_repo **out, const char *root)
{
	struct mf_repo *r = mem_calloc(1, sizeof(*r));
	int e;

	if (!r)
		return -ENOMEM;
	r->lock_fd = -1;
	r->root = mem_strdup(root);
	e = r->root ? load(r) : -ENOMEM;
	if (e < 0) {
		mf_repo_close(r);
		return e;
	}
	*out = r;
	return 0;
}

int mf_repo_lock(struct mf_repo *r, bool wait)
{
	AUTO_FREE char *path = mf_repo_path(r, REPO_LOCK_FILE);
	int e;

	if (!path)
		return -ENOMEM;
	e = fs_mkdir_parents(path, 0755);
	if (e == 0)
		e = fs_lock(&r->lock_fd, path, wait);
	if (e == -EWOULDBLOCK)
		return err_set(e, "another ferry pack is publishing to %s; wait for it to finish, "
				  "or pass --wait", r->root);
	return e;
}

int mf_repo_key_index(const struct mf_repo *r, const struct ssh_pubkey *key)
{
	for (size_t i = 0; i < r->nkeys; i++)
		if (sshkey_public_equal(&r->keys[i], key))
			return (int)i;
	return err_set(-EKEYREJECTED, "this key is not one of the repository's keys (ferry.json)");
}

int mf_repo_sign_config(struct mf_repo *r, const struct ssh_privkey *k)
{
	AUTO_FREE char *cfg = mf_repo_path(r, REPO_CONFIG_FILE);
	AUTO_FREE char *sig = mf_repo_path(r, REPO_CONFIG_SIG_FILE);
	struct buf body, s;
	size_t which;
	int e;

	if (!cfg || !sig)
		return -ENOMEM;
	buf_init(&body, LIMIT_CONFIG_BYTES);
	buf_init(&s, LIMIT_HEAD_BYTES);
	e = fs_read_file(&body, cfg, LIMIT_CONFIG_BYTES);
	if (e == 0 && fs_read_file(&s, sig, LIMIT_HEAD_BYTES) == 0 &&
	    sshsig_verify(&which, r->keys, r->nkeys, REPO_CONFIG_NAMESPACE, buf_str(&s), s.len,
			  body.data, body.len) == 0)
		goto out;
	buf_reset(&s);
	if (e == 0)
		e = sshsig_sign(&s, k, REPO_CONFIG_NAMESPACE, body.data, body.len);
	if (e == 0)
		e = fs_write_atomic(sig, s.data, s.len);
out:
	buf_release(&body);
	buf_release(&s);
	return e;
}

int mf_repo_head_read(struct mf_head *out, const struct mf_repo *r, const char *channel)
{
	AUTO_FREE char *rel = fs_join(REPO_HEADS_DIR, channel);
	AUTO_FREE char *path = rel ? mf_repo_path(r, rel) : NULL;
	struct buf b;
	size_t which;
	int e;

	if (!path)
		return -ENOMEM;
	buf_init(&b, LIMIT_HEAD_BYTES);
	e = fs_read_file(&b, path, LIMIT_HEAD_BYTES);
	if (e == -ENOENT) {
		buf_release(&b);
		return -ENOENT;
	}
	if (e == 0)
		e = mf_head_verify(out, &which, b.data, b.len, r->keys, r->nkeys);
	if (e < 0)
		e = err_set(e, "heads/%s: %s", channel, err_detail());
	buf_release(&b);
	return e;
}
