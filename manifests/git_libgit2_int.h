/*
 * git_libgit2_int.h — what the files of the manifest repository share.
 *
 * The API is manifests/mgit.h.  It is implemented by five files:
 *
 *   git_libgit2.c         the libgit2 adapter, the only file that includes
 *                         git2 headers: opening, raw objects, writing and
 *                         importing packs, refs, info/refs
 *   git_libgit2_tree.c    path rules, the bottom-up tree builder, strict
 *                         tree parsing, walk and diff
 *   git_libgit2_commit.c  the commit format, signing, strict parsing
 *   git_libgit2_verify.c  mgit_verify()
 *   git_libgit2_util.c    ID sets, name lists, pack file names, private
 *                         directories, file comparison
 *
 * The last four reach the repository only through the calls below; the
 * libgit2 types in struct mgit are opaque to them.  Nothing here is for use
 * outside manifests/git_libgit2*.c.
 */
#ifndef FERRY_MANIFESTS_GIT_LIBGIT2_INT_H
#define FERRY_MANIFESTS_GIT_LIBGIT2_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "manifests/mgit.h"

/* ---- sets of object IDs ----------------------------------------------- */

/*
 * A set of object IDs that also remembers their insertion order (ids[]):
 * open addressing over a power-of-two table of 1-based indexes into ids.
 */
struct mgit_oidset {
	struct mgit_oid *ids;
	uint32_t count;
	uint32_t cap; /* room in ids */
	uint32_t *slots;
	uint32_t nslots; /* a power of two, or 0 */
};

void mgit_oidset_init(struct mgit_oidset *s);
void mgit_oidset_release(struct mgit_oidset *s);
/* Makes room for one more ID, so a following add cannot fail. */
int mgit_oidset_reserve(struct mgit_oidset *s) FERRY_MUST_USE;
/* 1 if added, 0 if already there, -ENOMEM/-EFBIG. */
int mgit_oidset_add(struct mgit_oidset *s, const struct mgit_oid *id) FERRY_MUST_USE;
bool mgit_oidset_has(const struct mgit_oidset *s, const struct mgit_oid *id);

/* ---- the handle ------------------------------------------------------- */

struct git_repository;
struct git_odb;
struct git_odb_backend;

struct mgit {
	struct git_repository *repo;
	struct git_odb *odb;
	struct git_odb_backend *mempack; /* owned by odb */
	struct mgit_oidset pending;	 /* objects in the mempack, in write order */
	char *gitdir;			 /* without a trailing '/' */
	char *objdir;			 /* gitdir/objects */
	char *packdir;			 /* gitdir/objects/pack */
};

/* Git's own object type numbers. */
enum mgit_kind {
	MGIT_KIND_COMMIT = 1,
	MGIT_KIND_TREE = 2,
	MGIT_KIND_BLOB = 3,
	MGIT_KIND_TAG = 4,
};

/* "commit", "tree", "blob", "tag" or "object". */
const char *mgit_kind_name(enum mgit_kind kind);

/* err_set(code, "<fmt...>: <the detail recorded so far>"). */
int mgit_err_wrap(int code, const char *fmt, ...) FERRY_PRINTF(2, 3);

/* ---- objects (git_libgit2.c) ------------------------------------------ */

/* Stores an object in memory until the next flush; *out is its ID.  An
 * object already pending or packed is not stored twice. */
int mgit_obj_write(struct mgit_oid *out, struct mgit *g, enum mgit_kind kind, const void *p,
		   size_t n) FERRY_MUST_USE;
/* Appends the object's bytes to out after checking that it exists
 * (-ENOENT), is of kind (-EBADMSG), is at most max bytes (-EFBIG, before
 * reading) and hashes to id (-EBADMSG). */
int mgit_obj_read(struct buf *out, struct mgit *g, const struct mgit_oid *id, enum mgit_kind kind,
		  size_t max) FERRY_MUST_USE;
/* True if id is packed or pending.  */
bool mgit_obj_exists(struct mgit *g, const struct mgit_oid *id);
/* Kind and size of an object without reading it; -ENOENT if absent. */
int mgit_obj_stat(enum mgit_kind *kind, size_t *size, struct mgit *g,
		  const struct mgit_oid *id) FERRY_MUST_USE;
/* 0 if id exists and is of kind; else -ENOENT or -EINVAL, the detail
 * starting with role ("commit tree"). */
int mgit_obj_expect(struct mgit *g, const struct mgit_oid *id, enum mgit_kind kind,
		    const char *role) FERRY_MUST_USE;
/* Appends p as one zlib stream (best compression) to out: a pack entry's
 * body. */
int mgit_deflate(struct buf *out, const void *p, size_t n) FERRY_MUST_USE;
/* Makes packs added to objects/pack by others visible. */
int mgit_odb_refresh(struct mgit *g) FERRY_MUST_USE;

/* ---- packs, refs and server info (git_libgit2.c) ---------------------- */

/* Indexes the pack at pack_path into dir (no size limit: for packs already
 * installed); hex (41 bytes) gets the hash that names it. */
int mgit_pack_reindex(char *hex, const char *dir, const char *pack_path) FERRY_MUST_USE;

struct mgit_refent {
	char *name;
	struct mgit_oid id;
};

/* A list of refs, as mgit_refs_collect() fills it: sorted by name. */
struct mgit_refv {
	struct mgit_refent *v;
	size_t n, cap;
};

void mgit_refv_release(struct mgit_refv *rv);
int mgit_refv_push(struct mgit_refv *rv, const char *name,
		   const struct mgit_oid *id) FERRY_MUST_USE;
void mgit_refv_sort(struct mgit_refv *rv);
/* Every direct ref, sorted by name. */
int mgit_refs_collect(struct mgit_refv *out, struct mgit *g) FERRY_MUST_USE;
/* HEAD's target ref name (caller frees), or NULL in *out if HEAD is
 * detached. */
int mgit_head_target(char **out, struct mgit *g) FERRY_MUST_USE;

/* info/refs and objects/info/packs as they should read; mgit_info_path[i]
 * is out[i]'s path under the gitdir. */
extern const char *const mgit_info_path[2];
int mgit_server_info_render(struct buf out[2], struct mgit *g) FERRY_MUST_USE;

/* ---- trees and commits (git_libgit2_tree.c, git_libgit2_commit.c) ------- */

/* Parses a commit object held in memory, as mgit_commit_read() does;
 * release *out with mgit_commit_release(). */
int mgit_commit_parse(struct mgit_commit *out, const void *p, size_t n) FERRY_MUST_USE;
/* Parses a tree object held in memory strictly (what the walkers accept)
 * and calls fn for each entry; a non-zero return from fn stops and is
 * returned. */
int mgit_tree_parse_each(const void *p, size_t n,
			 int (*fn)(const struct mgit_oid *id, bool is_dir, void *ctx),
			 void *ctx) FERRY_MUST_USE;
/*
 * For mgit_verify(): checks that tree, and every tree and blob below it
 * that is not yet in seen, exists and is well formed, adding each checked
 * tree to seen.  Each finding goes to problem (the walk goes on past
 * missing objects); *found is set when one was reported.  Returns 0, or
 * what problem returned if non-zero, or an error that stopped the walk.
 */
int mgit_tree_reach(struct mgit *g, const struct mgit_oid *tree, struct mgit_oidset *seen,
		    mgit_problem_fn problem, void *ctx, bool *found) FERRY_MUST_USE;

/* ---- files and names (git_libgit2_util.c) ----------------------------- */

/* A list of strings. */
struct mgit_strv {
	char **v;
	size_t n, cap;
};

void mgit_strv_release(struct mgit_strv *s);
int mgit_strv_push(struct mgit_strv *s, const char *str) FERRY_MUST_USE;
/* strcmp() for qsort()/bsearch() over char *. */
int mgit_str_cmp(const void *a, const void *b);
/* Appends the names in dir, sorted (none if dir does not exist). */
int mgit_dir_list(struct mgit_strv *out, const char *dir) FERRY_MUST_USE;
bool mgit_has_suffix(const char *s, const char *suffix);

/* Is name "pack-<40 lowercase hex><ext>"?  If so hex (41 bytes) gets the
 * hash. */
bool mgit_pack_name_parse(char *hex, const char *name, const char *ext);
/* dir/pack-<hex><ext>; caller frees; NULL on allocation failure. */
char *mgit_pack_path(const char *dir, const char *hex, const char *ext);

/* A private directory objects/incoming-XXXXXX for the indexer, on the same
 * file system as objects/pack so renames are atomic.  Remove it (and what
 * is in it) with mgit_staging_remove(), which also frees the name and
 * accepts NULL. */
int mgit_staging_new(char **out, const char *objdir) FERRY_MUST_USE;
void mgit_staging_remove(char *dir);

int mgit_file_sync(const char *path) FERRY_MUST_USE;
/* Does the file hold exactly b?  (A missing file does not.) */
bool mgit_file_holds(const char *path, const struct buf *b);
/* Compares two files; *at gets the first differing offset. */
int mgit_files_compare(bool *same, uint64_t *at, const char *a, const char *b) FERRY_MUST_USE;

#endif
