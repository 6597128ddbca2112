/*
 * tree_walk.h — walking a content folder in a deterministic order.
 *
 * The packer sees a folder the same way every time: depth first, entries
 * of each directory sorted by the bytes of their names (so UTF-8 names in
 * any script sort the same on every machine and locale).  Only regular
 * files and directories are content.  Symlinks, devices, sockets, FIFOs and
 * unreadable entries are reported through the skip callback and left out
 * (the caller refuses them instead under --strict); nothing is ever
 * followed out of the tree (every open is relative to its parent directory
 * with O_NOFOLLOW).
 *
 * Paths handed to callbacks are relative to the root, '/'-separated, and
 * valid only during the call.  Memory is bounded by the depth of the tree
 * times the size of one directory listing, not by the number of files.
 */
#ifndef FERRY_PACKAGER_TREE_WALK_H
#define FERRY_PACKAGER_TREE_WALK_H

#include <stdint.h>

#include "core/err.h"

struct tree_walk_ops {
	/* A regular file: dirfd is open on its directory, name is its entry
	 * there, path its path from the root.  Return < 0 to stop the walk. */
	int (*file)(int dirfd, const char *name, const char *path, uint64_t size, void *ctx);
	/* An entry left out, with the reason ("symbolic link", "device", ...).
	 * Return < 0 to stop the walk (--strict). */
	int (*skip)(const char *path, const char *why, void *ctx);
};

/* Walks root.  Returns 0, the first negative value a callback returned,
 * or a negative errno (with a detail line) if root cannot be read. */
int tree_walk(const char *root, const struct tree_walk_ops *ops, void *ctx) FERRY_MUST_USE;

/* Is name acceptable as one path component in a release?  Refuses "",
 * ".", "..", names with '/', NUL or control characters, and names longer
 * than LIMIT_NAME_BYTES, and names that are not valid UTF-8. */
int tree_name_check(const char *name) FERRY_MUST_USE;

#endif
