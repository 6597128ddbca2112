/*
 * repo.h — a ferry repository on disk: create, open, lock, find its parts.
 *
 *     ferry.json, ferry.json.sig   what the repository is, signed
 *     heads/<channel>              signed heads, the only mutable names
 *     manifests.git/               releases, as signed git commits
 *     packs/<xx>/<hash>.pack/.idx  chunks
 *     local/                       this publisher's lock and chunk table;
 *                                  never exported or served
 *
 * A repository trusts the root keys listed in ferry.json.  Opening one
 * parses ferry.json and those keys; it does not check ferry.json.sig
 * (verification and the school side do).
 */
#ifndef FERRY_MANIFESTS_REPO_H
#define FERRY_MANIFESTS_REPO_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "manifests/repo_config.h"
#include "manifests/sshkey.h"

#define REPO_CONFIG_FILE "ferry.json"
#define REPO_CONFIG_SIG_FILE "ferry.json.sig"
#define REPO_CONFIG_NAMESPACE "ferry-repo"
#define REPO_HEADS_DIR "heads"
#define REPO_GIT_DIR "manifests.git"
#define REPO_PACKS_DIR "packs"
#define REPO_LOCAL_DIR "local"
#define REPO_LOCK_FILE "local/lock"
#define REPO_TABLE_FILE "local/chunks.tbl"

struct mf_repo {
	char *root;
	struct repo_config cfg;
	struct ssh_pubkey keys[REPO_MAX_KEYS];
	size_t nkeys;
	int lock_fd;
};

/* Creates a repository at root (an empty or missing folder) trusting the
 * given public keys (OpenSSH ed25519 .pub files). */
int mf_repo_init(const char *root, const char *const *pubkey_paths, size_t n) FERRY_MUST_USE;

/* Opens an existing repository (NULL-safe mf_repo_close() after). */
int mf_repo_open(struct mf_repo **out, const char *root) FERRY_MUST_USE;
void mf_repo_close(struct mf_repo *r);

/* Takes the publisher lock; with wait false a busy lock fails at once
 * with -EWOULDBLOCK and a detail line a person can act on. */
int mf_repo_lock(struct mf_repo *r, bool wait) FERRY_MUST_USE;

/* root/rel, caller frees. */
char *mf_repo_path(const struct mf_repo *r, const char *rel);

/* The index of key in the repository's root keys, or -EKEYREJECTED. */
int mf_repo_key_index(const struct mf_repo *r, const struct ssh_pubkey *key) FERRY_MUST_USE;

/* Signs ferry.json with k unless ferry.json.sig already verifies. */
int mf_repo_sign_config(struct mf_repo *r, const struct ssh_privkey *k) FERRY_MUST_USE;

/* Reads and verifies heads/<channel> against the root keys; -ENOENT if
 * the channel has no head yet. */
struct mf_head;
int mf_repo_head_read(struct mf_head *out, const struct mf_repo *r,
		      const char *channel) FERRY_MUST_USE;

#endif
