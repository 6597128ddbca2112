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
 *     local/partial/<xx>/<hash>.pack
 *                                 packs being adopted whole, verified bytes
 *                                 so far (sync/fetch_adopt.c); kept while a
 *                                 release is pending, removed by gc after
 *
 * The store is itself a valid repository: `ferry verify` checks it, and
 * another store or a USB export can use it as a source.
 *
 * Path filters (sync/store_filters.c).  A subscription is a channel, whole
 * or narrowed to path prefixes inside its tree ("七年级", "modules/m1").
 * A prefix names a folder or a file: "a/b" takes "a/b" and everything
 * under "a/b/", never "a/bc".  Two sets are kept per channel:
 *   - the subscription (the subscriptions table): what the admin asked
 *     for; the next sync plans against it;
 *   - the installed filters (meta "filters/<channel>"): what the installed
 *     release was completed for.  Checkout builds, verify checks and gc
 *     keeps these, narrowed by the subscription (store_held_filters_get),
 *     so narrowing takes effect at once and widening asks nothing of the
 *     store until a sync has fetched the newly included files.
 * Filters are NULL-terminated arrays of normalized prefixes (no leading or
 * trailing '/', checked like release paths, none inside another, sorted);
 * a NULL array means the whole channel.
 */
#ifndef FERRY_SYNC_STORE_H
#define FERRY_SYNC_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "manifests/mgit.h"

/* Packs being adopted whole: see the layout above. */
#define STORE_PARTIAL_DIR "local/partial"
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

/* Finishes the pack *pw is writing into the store's packs/ and records its
 * chunks: data first (the writer fsyncs and renames), then every chunk in
 * one database transaction, then packs/list.  *pw is freed and set to
 * NULL whatever happens; with *pw NULL this does nothing.  Used by every
 * writer of store packs (fetch.c, delta_apply.c). */
struct pack_writer;
int store_pack_commit(struct store *s, struct pack_writer **pw) FERRY_MUST_USE;

/* ---- path filters (store_filters.c) ------------------------------------ */

/* Prefix: normalized copy of a prefix typed by a user (a trailing '/' is
 * dropped); -EINVAL, with a sentence, if it is not a valid release path. */
int store_filter_normalize(char **out, const char *prefix) FERRY_MUST_USE;

/* Whether path (relative to the release's files/) is inside filters. */
bool store_filter_match(const char *const *filters, const char *path);

/* Frees a filter array (accepts NULL). */
void store_filters_free(char **filters);

/* Whether two filter arrays select the same files (both normalized). */
bool store_filters_equal(const char *const *a, const char *const *b);

/* Filters as one line for people: "modules, media" or "everything". */
char *store_filters_text(const char *const *filters);

/* The subscription of channel: *out is NULL (whole channel) or an array
 * freed with store_filters_free().  -ENOENT if channel is not subscribed. */
int store_subscription_get(char ***out, struct store *s, const char *channel) FERRY_MUST_USE;

/* Sets the subscription of channel to exactly prefixes (n == 0: the whole
 * channel), replacing what it was, in one transaction.  Prefixes are
 * normalized; one inside another is dropped. */
int store_subscribe(struct store *s, const char *channel, const char *const *prefixes,
		    size_t n) FERRY_MUST_USE;

/* With n == 0 drops the channel: its subscription, pending and installed
 * records and its head in the store (the seen version stays, so rollback
 * protection survives); gc then frees its chunks.  With prefixes, removes
 * just those from the channel's filters; removing the last one is refused
 * (that would widen the subscription to the whole channel).  -ENOENT with
 * a sentence if the channel or a prefix is not subscribed. */
int store_unsubscribe(struct store *s, const char *channel, const char *const *prefixes,
		      size_t n) FERRY_MUST_USE;

/* The filters the installed release of channel was completed for (NULL:
 * the whole channel, also for a channel installed before filters). */
int store_installed_filters_get(char ***out, struct store *s, const char *channel) FERRY_MUST_USE;
/* What the store holds of channel's installed release and still wants:
 * the installed filters narrowed by the subscription (an array that may
 * be empty: nothing), so narrowing a subscription takes effect at once in
 * checkout, verify and gc, while widening waits for a sync. */
int store_held_filters_get(char ***out, struct store *s, const char *channel) FERRY_MUST_USE;

/* Records them; call inside the install transaction. */
int store_installed_filters_put(struct store *s, const char *channel,
				const char *const *filters) FERRY_MUST_USE;

/* Calls cb for every file of tree under files/ that filters select, as
 * mgit_tree_walk() does (path is the full path, "files/..."). */
int store_release_walk(struct store *s, const struct mgit_oid *tree, const char *const *filters,
		       mgit_walk_fn cb, void *ctx) FERRY_MUST_USE;

/* What a release, restricted to filters, holds and still lacks in the
 * store.  missing_bytes counts the stored (compressed) size of each
 * missing chunk once, as a sync fetches it.  Memory is bounded (about
 * 40 MB): past a million distinct missing chunks, further ones are counted
 * as often as files use them and approximate is set (an upper bound). */
struct store_scan {
	uint64_t files, bytes;
	uint64_t missing_files, missing_chunks, missing_bytes;
	bool approximate;
};

int store_release_scan(struct store_scan *out, struct store *s, const char *commit_hex,
		       const char *const *filters) FERRY_MUST_USE;

#endif
