/*
 * mgit.h — the manifest repository: releases as git commits, through libgit2.
 *
 * A ferry repository keeps its releases in a bare git repository,
 * manifests.git/.  Each release is one commit whose tree mirrors the content
 * tree: every content file is a small "pointer" blob, beside a few metadata
 * blobs (meta/packs, ...).  Each channel is one branch
 * (refs/heads/renjiao/grade7/math).  This header is the whole interface to
 * that repository; manifests/git_libgit2.c is the only file in ferry that
 * talks to libgit2, and docs/manifests-git.md explains the layout and why.
 *
 * The repository is always clonable by stock git, from a folder or over
 * plain ("dumb") HTTP, and always packed:
 *
 *   - New objects (blobs, trees, commits) are held in memory until
 *     mgit_flush(), which writes exactly those objects as ONE packfile plus
 *     its index into objects/pack/ (temporary names, fsync, rename, fsync of
 *     the directory).  One release = one flush = one pack.  There are never
 *     loose objects.  mgit_free() without a flush discards them.
 *   - A ref may only point at a flushed commit; info/refs,
 *     objects/info/packs and HEAD are rewritten (atomically) whenever refs
 *     or packs change, so plain HTTP clients always see a consistent set.
 *
 * Usage, publishing one release:
 *
 *     struct mgit *g;  struct mgit_tree *t;  struct mgit_oid blob, tree, c, old;
 *     r = mgit_init(&g, "repo/manifests.git");
 *     r = mgit_blob_write(&blob, g, pointer_text, len);
 *     r = mgit_tree_new(&t, g);
 *     r = mgit_tree_put(t, "files/七年级/数学/1.1 正数和负数.mp4", &blob);   (many)
 *     r = mgit_tree_write(&tree, t);  mgit_tree_free(t);
 *     r = mgit_commit_create(&c, g, &tree, &old, "County", "c@x.cn", now, msg, sign, key);
 *     r = mgit_flush(pack, sizeof(pack), g);
 *     r = mgit_ref_update(g, "refs/heads/renjiao/grade7/math", &c, &old);
 *     mgit_free(g);
 *
 * (old is the channel's current commit from mgit_ref_read(); a channel's
 * first release passes NULL for both the parent and the expected ref.)
 * A school instead mgit_pack_import()s the publisher's packs, checks the
 * commit and its signature with mgit_commit_read(), and reads trees with
 * mgit_tree_diff() against the release it has.
 *
 * Errors: every fallible function returns >= 0 on success or a negative
 * errno, with one line of detail left by err_set() (core/err.h):
 *
 *   -ENOENT        the object, ref, path or repository does not exist
 *   -EBADMSG       corrupt data: a hash mismatch, a malformed object or pack,
 *                  a forbidden tree entry (symlink, submodule, bad name)
 *   -EFBIG         a size limit of core/limits.h was exceeded
 *   -EEXIST        duplicate path in a tree builder
 *   -ENOTDIR       a path needs a directory where there is a file
 *   -EISDIR        a path names a directory where a file is wanted
 *   -EAGAIN        a ref moved under a compare-and-swap, or is locked
 *   -EINVAL        a bad path, ref name, identity or argument
 *   -ENOMEM        out of memory
 *   -EIO           the file system failed
 *
 * Errors returned by caller-supplied callbacks are passed through unchanged.
 *
 * Threads: a struct mgit and everything made from it belong to one thread
 * at a time.  Several handles (in one process or many) may use the same
 * repository: packs are content-named and refs are compare-and-swapped.
 */
#ifndef FERRY_MANIFESTS_MGIT_H
#define FERRY_MANIFESTS_MGIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"

#define MGIT_OID_LEN 20
#define MGIT_OID_HEX 40
/* Room for "pack-<40 hex>.pack" and its NUL. */
#define MGIT_PACK_NAME_MAX 51

/* A git object ID (SHA-1 of the object, as git computes it). */
struct mgit_oid {
	uint8_t id[MGIT_OID_LEN];
};

/* Writes 40 lowercase hex digits and a NUL. */
void mgit_oid_fmt(char out[MGIT_OID_HEX + 1], const struct mgit_oid *id);
/* s must be exactly 40 hex digits (either case) and its NUL; -EBADMSG
 * otherwise. */
int mgit_oid_parse(struct mgit_oid *out, const char *s) FERRY_MUST_USE;

static inline bool mgit_oid_eq(const struct mgit_oid *a, const struct mgit_oid *b)
{
	return memcmp(a->id, b->id, MGIT_OID_LEN) == 0;
}

/*
 * Paths inside a release tree are UTF-8 (checked strictly: no overlong
 * forms or surrogates), '/'-separated, with no leading or trailing '/', no
 * empty, "." or ".." segment, no '\\' or control character, no segment that
 * git or a Windows/macOS file system would take for ".git" (".GIT",
 * ".git.", "git~1", ".g\u200cit", ...), at most LIMIT_PATH_BYTES bytes,
 * LIMIT_NAME_BYTES per segment and LIMIT_PATH_DEPTH segments: the names
 * packager/tree_walk.h accepts, minus what git cannot hold.  Names in any
 * script pass unchanged.  0 if path is acceptable, else -EINVAL with the
 * reason.  The tree builder, mgit_tree_get() and the walkers apply this to
 * every name, including names read from a hostile repository (reported
 * there as -EBADMSG).
 */
int mgit_path_check(const char *path) FERRY_MUST_USE;

/* ---- the repository handle ------------------------------------------ */

struct mgit;

/* Opens the bare repository at gitdir, creating it (and its parents) if
 * gitdir is absent or an empty directory.  -EEXIST if gitdir is a non-empty
 * directory that is not a bare git repository.  Free with mgit_free(). */
int mgit_init(struct mgit **out, const char *gitdir) FERRY_MUST_USE;
/* Opens an existing bare repository; -ENOENT if there is none at gitdir. */
int mgit_open(struct mgit **out, const char *gitdir) FERRY_MUST_USE;
/* Closes the repository and discards unflushed objects.  Accepts NULL. */
void mgit_free(struct mgit *g);

/* Number of objects written since the last flush (held in memory). */
size_t mgit_pending(const struct mgit *g);

/* ---- blobs ------------------------------------------------------------ */

/* Stores n bytes as a blob (pending until mgit_flush()); *out is its ID.
 * Writing a blob that already exists costs a hash and a lookup. */
int mgit_blob_write(struct mgit_oid *out, struct mgit *g, const void *p, size_t n) FERRY_MUST_USE;
/* Appends the blob's bytes to out.  -EFBIG if the blob is larger than max
 * (checked before anything is read), -EBADMSG if id names another kind of
 * object or its bytes do not hash to id, -ENOENT if it is absent. */
int mgit_blob_read(struct buf *out, struct mgit *g, const struct mgit_oid *id,
		   size_t max) FERRY_MUST_USE;
/* True if the object is in the repository (packed or pending). */
bool mgit_object_exists(struct mgit *g, const struct mgit_oid *id);

/* ---- building a tree -------------------------------------------------- */

/*
 * A tree builder collects (path, blob) pairs in any order and writes the
 * whole nested tree at once: it sorts once and builds every directory
 * bottom-up, so 100,000 entries cost well under a second.  The builder
 * keeps a pointer to g, which must outlive it.  It may be written several
 * times and keeps its entries.
 */
struct mgit_tree;

int mgit_tree_new(struct mgit_tree **out, struct mgit *g) FERRY_MUST_USE;
/* Adds a file.  path is checked (mgit_path_check) and copied; blob must
 * exist (-ENOENT).  -EEXIST if path was already put; -ENOTDIR if one of
 * its parents was put as a file ("a" then "a/b"); -EISDIR if path is
 * already a directory ("a/b" then "a").  A failed put changes nothing.
 * -EFBIG past LIMIT_GIT_TREE_ENTRIES. */
int mgit_tree_put(struct mgit_tree *t, const char *path,
		  const struct mgit_oid *blob) FERRY_MUST_USE;
/* Number of files put so far. */
size_t mgit_tree_count(const struct mgit_tree *t);
/* Writes every directory as a tree object (pending until mgit_flush());
 * *out is the root tree.  An empty builder writes the empty tree. */
int mgit_tree_write(struct mgit_oid *out, struct mgit_tree *t) FERRY_MUST_USE;
/* Accepts NULL. */
void mgit_tree_free(struct mgit_tree *t);

/* ---- reading trees ---------------------------------------------------- */

/*
 * Release trees hold only plain files (mode 100644) and directories
 * (040000).  Anything else met while reading — a symlink, a submodule, an
 * executable, a bad or duplicate name, entries out of order — is corrupt
 * data: -EBADMSG naming the path.  A prefix ("" or NULL for the whole tree)
 * is a path as mgit_path_check() accepts.  Paths given to callbacks are the
 * full paths from the root, valid only during the call.
 *
 * Callbacks return 0 to go on; anything else stops the walk and is
 * returned as it is (so a callback may stop early with a positive value).
 */
typedef int (*mgit_walk_fn)(const char *path, const struct mgit_oid *blob, void *ctx);
typedef int (*mgit_diff_fn)(const char *path, const struct mgit_oid *old_blob,
			    const struct mgit_oid *new_blob, void *ctx);

/* The blob at path in tree.  -ENOENT if absent (or a parent is a file),
 * -EISDIR if path is a directory. */
int mgit_tree_get(struct mgit_oid *blob_out, struct mgit *g, const struct mgit_oid *tree,
		  const char *path) FERRY_MUST_USE;
/* Calls cb for every file under prefix, recursively, in byte order of the
 * full path (which is git's tree order).  -ENOENT if prefix is absent; a
 * prefix naming a file reports that one file. */
int mgit_tree_walk(struct mgit *g, const struct mgit_oid *tree, const char *prefix, mgit_walk_fn cb,
		   void *ctx) FERRY_MUST_USE;
/* Calls cb for every file under prefix that differs between old_tree (NULL:
 * the empty tree) and new_tree, in byte order of the path: old_blob NULL
 * for an added file, new_blob NULL for a removed one.  Subtrees with equal
 * IDs are skipped without being read.  A prefix absent on one side counts
 * as empty there. */
int mgit_tree_diff(struct mgit *g, const struct mgit_oid *old_tree, const struct mgit_oid *new_tree,
		   const char *prefix, mgit_diff_fn cb, void *ctx) FERRY_MUST_USE;

/* ---- commits ---------------------------------------------------------- */

/*
 * Signs a commit: receives the exact bytes of the unsigned commit object
 * and appends an armored signature ("-----BEGIN SSH SIGNATURE-----\n...")
 * to armored_out, which is empty and capped at LIMIT_SIGNATURE_BYTES.
 * Returns 0, or a negative errno that mgit_commit_create() returns as is.
 */
typedef int (*mgit_sign_fn)(struct buf *armored_out, const void *payload, size_t len, void *ctx);

/*
 * Writes a commit of tree (which must exist) with parent (NULL: a root
 * commit; else it must exist and be a commit), author and committer both
 * "name <email>" at when (seconds since 1970, UTC), and message as given
 * (conventionally ending in '\n').  name and email must be non-empty,
 * without '<', '>', control characters, or leading/trailing spaces.
 *
 * With sign non-NULL, the signature goes into a "gpgsig" header exactly as
 * `git commit -S` puts it there (first line after "gpgsig ", the others
 * indented by one space), so that `git verify-commit` checks it; a final
 * '\n' is added to the text if it lacks one.  The text must not be empty
 * nor contain NUL or '\r'.  With sign NULL the commit is unsigned.
 * The commit is pending until mgit_flush().
 */
int mgit_commit_create(struct mgit_oid *out, struct mgit *g, const struct mgit_oid *tree,
		       const struct mgit_oid *parent, const char *name, const char *email,
		       int64_t when, const char *message, mgit_sign_fn sign,
		       void *ctx) FERRY_MUST_USE;

/* A parsed commit.  Filled by mgit_commit_read(), which owns the strings
 * until mgit_commit_release(). */
struct mgit_commit {
	struct mgit_oid tree;
	struct mgit_oid parent; /* the first parent, if has_parent */
	bool has_parent;
	unsigned parent_count; /* releases have 0 or 1 */
	int64_t time;	       /* committer time, seconds since 1970 */
	char *message;	       /* NUL-terminated, as stored */
	/* The gpgsig header's value with the continuation indent removed,
	 * each line ending in '\n' (what `git verify-commit` checks), or NULL
	 * if the commit is unsigned. */
	char *signature;
	size_t signature_len;
	/* The commit object without its gpgsig header: the bytes that were
	 * signed.  Always set (for an unsigned commit, the whole object). */
	uint8_t *payload;
	size_t payload_len;
};

/* Reads and parses a commit, strictly: -EBADMSG if the object is not a
 * well-formed commit or does not hash to id, -EFBIG past
 * LIMIT_GIT_COMMIT_BYTES.  Release *out with mgit_commit_release() (also
 * after a failure, where it is left empty). */
int mgit_commit_read(struct mgit_commit *out, struct mgit *g,
		     const struct mgit_oid *id) FERRY_MUST_USE;
/* Frees what mgit_commit_read() filled; the struct may be read again. */
void mgit_commit_release(struct mgit_commit *c);

/* ---- packs ------------------------------------------------------------ */

/*
 * Writes every object created since the last flush as one packfile and its
 * index into objects/pack/, durably, then forgets them from memory and
 * updates objects/info/packs.  name_out (cap >= MGIT_PACK_NAME_MAX)
 * receives "pack-<40 hex>.pack", or "" if nothing was pending (server
 * info is still brought up to date then).  After a failure nothing is
 * lost: the objects stay pending and a later flush writes them.
 */
int mgit_flush(char *name_out, size_t cap, struct mgit *g) FERRY_MUST_USE;

/*
 * Installs a packfile that came from outside (a publisher's release pack
 * fetched by a school): indexes it with libgit2 in a private directory,
 * which checks every object's hash and the pack's checksum, checks that
 * every object its commits and trees name is in the pack or already on
 * disk, then moves .pack and .idx into objects/pack/ (pack first) and
 * updates objects/info/packs.  Importing a pack that is already there
 * succeeds.  -EFBIG over LIMIT_GIT_PACK_BYTES, -EBADMSG if it is corrupt
 * or incomplete; on failure nothing is installed.  name_out as for
 * mgit_flush().
 */
int mgit_pack_import(char *name_out, size_t cap, struct mgit *g,
		     const char *pack_path) FERRY_MUST_USE;

/*
 * mgit_pack_import() of a *thin* pack: one whose deltas (REF_DELTA) may
 * name bases that are not in the pack but already in this repository (a
 * release's trees and meta/ blobs as deltas against the previous
 * release's).  libgit2's indexer reads those bases from the object
 * database and appends them, so the pack installed is complete; its name
 * (name_out) is that of the completed pack, not of the file given.  A base
 * that is nowhere gives -EBADMSG and installs nothing.  A pack that is not
 * thin imports exactly as with mgit_pack_import().
 */
int mgit_pack_import_thin(char *name_out, size_t cap, struct mgit *g,
			  const char *pack_path) FERRY_MUST_USE;

/*
 * Writes release `commit` as a thin pack against release `base_commit`
 * (both in this repository) at path, atomically: the commit, and every
 * tree and blob of its tree that the base's tree does not hold at the same
 * path; a tree or blob replacing one at the same path goes as a delta
 * against it when that is less than half its size.  The bases are not in
 * the file: only a repository holding base_commit's objects can import it
 * (mgit_pack_import_thin()).  `ferry pack` publishes one per release
 * beside the full pack (manifests/thin.h; docs/manifests-git.md).
 */
struct mgit_thin_stats {
	uint64_t objects, deltas, bytes;
};
int mgit_thin_pack_write(struct mgit_thin_stats *stats, struct mgit *g,
			 const struct mgit_oid *commit, const struct mgit_oid *base_commit,
			 const char *path) FERRY_MUST_USE;

/* ---- refs ------------------------------------------------------------- */

/* A ref name is a full git ref name under "refs/" ("refs/heads/<channel>")
 * that git accepts, at most LIMIT_GIT_REFNAME_BYTES bytes. */

/* The commit refname points at; -ENOENT if it does not exist. */
int mgit_ref_read(struct mgit_oid *out, struct mgit *g, const char *refname) FERRY_MUST_USE;
/*
 * Compare-and-swap: sets refname to new_id if it currently points at
 * expected_old, or does not exist when expected_old is NULL; -EAGAIN if it
 * moved (or another writer holds its lock).  new_id must be a flushed
 * commit (-EINVAL if it is still pending, -ENOENT if absent).  The ref is
 * written with fsync; then HEAD is pointed at this branch if HEAD's branch
 * does not exist yet, and info/refs is rewritten.
 */
int mgit_ref_update(struct mgit *g, const char *refname, const struct mgit_oid *new_id,
		    const struct mgit_oid *expected_old) FERRY_MUST_USE;
/* Calls cb for every ref (symbolic refs such as HEAD excepted), in byte
 * order of the name.  A non-zero return from cb stops and is returned. */
typedef int (*mgit_ref_fn)(const char *refname, const struct mgit_oid *id, void *ctx);
int mgit_refs_list(struct mgit *g, mgit_ref_fn cb, void *ctx) FERRY_MUST_USE;
/* Rewrites info/refs and objects/info/packs (what `git update-server-info`
 * does) where they differ from the repository's state.  mgit_flush(),
 * mgit_pack_import() and mgit_ref_update() already call it. */
int mgit_server_info_update(struct mgit *g) FERRY_MUST_USE;

/* ---- checking --------------------------------------------------------- */

/*
 * Checks the whole repository: re-indexes every pack and compares the
 * result with its .idx byte for byte (so any changed byte in a pack or an
 * index is found), reports loose objects, stray index files, refs that do
 * not name commits, commits, trees or blobs reachable from a ref that are
 * missing or malformed, a HEAD naming no branch, and stale info/refs or
 * objects/info/packs.  Each finding is one line given to problem (which may
 * be NULL; a non-zero return stops the check and is returned).  Returns 0
 * if all is sound, -EBADMSG if anything was reported.  Unflushed objects
 * are not considered.
 */
typedef int (*mgit_problem_fn)(const char *line, void *ctx);
int mgit_verify(struct mgit *g, mgit_problem_fn problem, void *ctx) FERRY_MUST_USE;

#endif
