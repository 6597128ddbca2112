/*
 * store.c — creating and opening a school store (see store.h).
 */
#include "sync/store.h"

#include <dirent.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/fsx.h"
#include "core/limits.h"
#include "core/mem.h"
#include "manifests/repo.h"
#include "packager/pack.h"
#include "packager/pack_list.h"

char *store_path(const struct store *s, const char *rel)
{
	return fs_join(s->root, rel);
}

static int make_layout(const char *root)
{
	static const char *const dirs[] = { REPO_HEADS_DIR, REPO_PACKS_DIR, REPO_LOCAL_DIR,
					    STORE_IDX_CACHE };

	return fs_mkdirs_under(root, dirs, ARRAY_SIZE(dirs));
}

static int add_trust(struct db *db, const char *const *paths, size_t n)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++) {
		struct buf line;

		buf_init(&line, 4096);
		r = sshkey_public_file_line(&line, paths[i]);
		if (r == 0)
			r = db_trust_add(db, buf_str(&line));
		r = r > 0 ? 0 : r; /* 1: added, 0: already trusted */
		buf_release(&line);
	}
	return r;
}

int store_init(const char *root, const char *const *trust_paths, size_t n)
{
	AUTO_FREE char *dbpath = fs_join(root, STORE_DB_FILE);
	AUTO_FREE char *git = fs_join(root, REPO_GIT_DIR);
	AUTO_FREE char *packs = fs_join(root, REPO_PACKS_DIR);
	struct db *db = NULL;
	struct mgit *g = NULL;
	int r;

	if (!dbpath || !git || !packs)
		return -ENOMEM;
	if (n == 0)
		return err_set(-EINVAL, "a store needs at least one --trust key");
	if (fs_exists(dbpath))
		return err_set(-EEXIST, "%s is already a store", root);
	r = make_layout(root);
	if (r == 0)
		r = mgit_init(&g, git);
	mgit_free(g);
	if (r == 0)
		r = pack_list_write(packs);
	if (r == 0)
		r = db_open(&db, dbpath, true);
	if (r == 0)
		r = add_trust(db, trust_paths, n);
	db_close(db);
	return r;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	mgit_free(s->git);
	db_close(s->db);
	if (s->has_config)
		repo_config_release(&s->cfg);
	mem_free(s->root);
	mem_free(s);
}

static int load_key(const char *line, void *ctx)
{
	struct store *s = ctx;

	if (s->nkeys == STORE_MAX_KEYS)
		return err_set(-EFBIG, "a store trusts at most %d keys", STORE_MAX_KEYS);
	return sshkey_parse_public(&s->keys[s->nkeys++], line, strlen(line));
}

static int load_config(struct store *s)
{
	AUTO_FREE char *path = store_path(s, REPO_CONFIG_FILE);
	struct buf b;
	int r;

	if (!path)
		return -ENOMEM;
	if (!fs_exists(path))
		return 0;
	buf_init(&b, LIMIT_CONFIG_BYTES);
	r = fs_read_file(&b, path, LIMIT_CONFIG_BYTES);
	if (r == 0)
		r = repo_config_parse(&s->cfg, b.data, b.len);
	buf_release(&b);
	s->has_config = r == 0;
	return r;
}

int store_open(struct store **out, const char *root)
{
	struct store *s = mem_calloc(1, sizeof(*s));
	AUTO_FREE char *dbpath = fs_join(root, STORE_DB_FILE);
	AUTO_FREE char *git = fs_join(root, REPO_GIT_DIR);
	int r;

	if (!s || !dbpath || !git) {
		mem_free(s);
		return -ENOMEM;
	}
	s->lock_fd = -1;
	s->root = mem_strdup(root);
	if (!fs_exists(dbpath))
		r = err_set(-ENOENT, "%s is not a ferry store (run ferry store init first)", root);
	else
		r = s->root ? db_open(&s->db, dbpath, false) : -ENOMEM;
	if (r == 0)
		r = db_trust_foreach(s->db, load_key, s);
	if (r == 0)
		r = mgit_open(&s->git, git);
	if (r == 0)
		r = load_config(s);
	if (r < 0) {
		store_close(s);
		return r;
	}
	*out = s;
	return 0;
}

int store_lock(struct store *s, bool wait)
{
	AUTO_FREE char *path = store_path(s, REPO_LOCK_FILE);
	int r;

	if (!path)
		return -ENOMEM;
	r = fs_lock(&s->lock_fd, path, wait);
	if (r == -EWOULDBLOCK)
		return err_set(r, "another ferry run (sync, checkout or gc) is using %s; wait for "
				  "it to finish, or pass --wait", s->root);
	return r;
}

int store_adopt_config(struct store *s, const void *cfg, size_t n, const void *sig, size_t siglen)
{
	AUTO_FREE char *path = store_path(s, REPO_CONFIG_FILE);
	AUTO_FREE char *sigpath = store_path(s, REPO_CONFIG_SIG_FILE);
	int r;

	if (!path || !sigpath)
		return -ENOMEM;
	if (s->has_config)
		repo_config_release(&s->cfg);
	s->has_config = false;
	r = repo_config_parse(&s->cfg, cfg, n);
	if (r < 0)
		return r;
	s->has_config = true;
	r = fs_write_atomic(sigpath, sig, siglen);
	return r < 0 ? r : fs_write_atomic(path, cfg, n);
}

int store_pack_commit(struct store *s, struct pack_writer **pw)
{
	AUTO_FREE char *packs = store_path(s, REPO_PACKS_DIR);
	AUTO_FREE char *idxpath = NULL;
	struct pack_index *idx = NULL;
	struct sha256 name;
	uint64_t size;
	int64_t id;
	int r;

	if (!*pw)
		return 0;
	r = packs ? pack_writer_finish(*pw, &name, &size) : -ENOMEM;
	pack_writer_free(*pw);
	*pw = NULL;
	if (r == 0)
		r = pack_path_make(&idxpath, packs, &name, PACK_IDX_SUFFIX);
	if (r == 0)
		r = pack_index_load(&idx, idxpath);
	if (r == 0)
		r = db_begin(s->db);
	if (r == 0)
		r = db_pack_add(&id, s->db, &name, size, pack_index_count(idx), time(NULL));
	if (r > 0)
		r = 0;
	for (size_t i = 0; r == 0 && i < pack_index_count(idx); i++) {
		struct pack_entry e;
		struct db_chunk c;

		pack_index_get(&e, idx, i);
		c = (struct db_chunk){ .id = e.id, .pack = id, .offset = e.offset,
				       .stored_len = e.stored_len, .raw_len = e.raw_len,
				       .type = e.type };
		r = db_chunk_add(s->db, &c);
		r = r > 0 ? 0 : r; /* 1: added, 0: already there */
	}
	if (r == 0)
		r = db_commit(s->db);
	else if (db_in_transaction(s->db))
		(void)db_rollback(s->db);
	pack_index_free(idx);
	return r < 0 ? r : pack_list_write(packs);
}
