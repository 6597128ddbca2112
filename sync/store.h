/*
 * store.h — a school's store: the local repository and its database.
 *
 *     ferry.json, ferry.json.sig  the repository's config, copied from the
 *                                 first source whose signature verified
 *     heads/<channel>             installed heads (verified copies)
 *     manifests.git/              the releases' git objects
 *     packs/<xx>/<hash>.pack/.idx the school's own packs of verified chunks
 *     packs/list                  so another school can sync from this one
 *     store.db                    SQLite (sync/db.h): chunk index, installed
 *                                 releases, subscriptions, sources, runs
 *     cache/idx/<hash>.idx        indexes of sources' packs (immutable)
 *     local/lock                  one sync, checkout or gc at a time
 *
 * The store is itself a valid repository: `ferry verify` checks it, and
 * another store or a USB export can use it as a source.
 */
#ifndef FERRY_SYNC_STORE_H
#define FERRY_SYNC_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "manifests/mgit.h"
#include "manifests/repo_config.h"
#include "manifests/sshkey.h"
#include "sync/db.h"

#define STORE_DB_FILE "store.db"
#define STORE_IDX_CACHE "cache/idx"
#define STORE_MAX_KEYS 16

struct store {
	char *root;
	struct db *db;
	struct mgit *git;
	struct ssh_pubkey keys[STORE_MAX_KEYS];
	size_t nkeys;
	bool has_config;           /* ferry.json adopted from a source */
	struct repo_config cfg;
	int lock_fd;
};

/* Creates a store at root trusting the given ed25519 public keys. */
int store_init(const char *root, const char *const *trust_paths, size_t n) FERRY_MUST_USE;
int store_open(struct store **out, const char *root) FERRY_MUST_USE;
void store_close(struct store *s);
/* One writer at a time; with wait false a busy store fails at once with a
 * sentence saying another ferry run holds it. */
int store_lock(struct store *s, bool wait) FERRY_MUST_USE;
/* root/rel; caller frees. */
char *store_path(const struct store *s, const char *rel);
/* Adopts a verified ferry.json (its bytes and signature) as the store's. */
int store_adopt_config(struct store *s, const void *cfg, size_t n, const void *sig,
		       size_t siglen) FERRY_MUST_USE;

#endif
