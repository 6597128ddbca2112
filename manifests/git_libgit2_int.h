/*
 * git_libgit2_int.h — what the two halves of the manifest repository share.
 *
 * manifests/git_libgit2.c is the libgit2 adapter proper: the only file that
 * includes git2 headers.  It stores and fetches raw objects, writes packs,
 * moves refs.  manifests/git_libgit2_objects.c holds what needs no libgit2:
 * the path rules, the bottom-up tree builder, strict parsers for trees and
 * commits read back from a possibly hostile repository, and the commit
 * format.  It reaches objects only through the mgit_obj_*() calls below.
 * Nothing here is for use outside those two files.
 */
#ifndef FERRY_MANIFESTS_GIT_LIBGIT2_INT_H
#define FERRY_MANIFESTS_GIT_LIBGIT2_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "manifests/mgit.h"

/* Git's own object type numbers. */
enum mgit_kind {
	MGIT_KIND_COMMIT = 1,
	MGIT_KIND_TREE = 2,
	MGIT_KIND_BLOB = 3,
	MGIT_KIND_TAG = 4,
};

/* err_set(code, "<fmt...>: <the detail recorded so far>"). */
int mgit_err_wrap(int code, const char *fmt, ...) FERRY_PRINTF(2, 3);

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
/* 0 if id exists and is of kind; else -ENOENT or -EINVAL, the detail
 * starting with role ("commit tree"). */
int mgit_obj_expect(struct mgit *g, const struct mgit_oid *id, enum mgit_kind kind,
		    const char *role) FERRY_MUST_USE;

/*
 * A set of object IDs that also remembers their insertion order (ids[]):
 * open addressing over a power-of-two table of 1-based indexes into ids.
 */
struct mgit_oidset {
	struct mgit_oid *ids;
	uint32_t count;
	uint32_t cap;      /* room in ids */
	uint32_t *slots;
	uint32_t nslots;   /* a power of two, or 0 */
};

void mgit_oidset_init(struct mgit_oidset *s);
void mgit_oidset_release(struct mgit_oidset *s);
/* Makes room for one more ID, so a following add cannot fail. */
int mgit_oidset_reserve(struct mgit_oidset *s) FERRY_MUST_USE;
/* 1 if added, 0 if already there, -ENOMEM/-EFBIG. */
int mgit_oidset_add(struct mgit_oidset *s, const struct mgit_oid *id) FERRY_MUST_USE;
bool mgit_oidset_has(const struct mgit_oidset *s, const struct mgit_oid *id);

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

#endif
