/*
 * pack_list.h — packs/list, the table of contents of a repository's packs.
 *
 * Plain HTTP cannot list a folder, and a school store's packs are not the
 * publisher's (the school writes its own as chunks arrive), so every
 * repository keeps one small text file naming the packs it holds:
 *
 *     <64 hex pack name> <pack size in bytes>      one line per pack, sorted
 *
 * It is a hint, never trusted: a client fetches a listed pack's .idx,
 * checks it names that pack, and verifies every chunk it takes by ID.
 * pack_list_write() rebuilds it from the packs present (a pack counts once
 * its .idx exists, the writer's commit point) and replaces it atomically.
 */
#ifndef FERRY_PACKAGER_PACK_LIST_H
#define FERRY_PACKAGER_PACK_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "core/crypto.h"
#include "core/err.h"

#define PACK_LIST_FILE "list"
#define PACK_LIST_MAX_BYTES (64u << 20) /* about 800,000 packs, 50 TiB */

/* Rewrites packs_dir/list from the packs under packs_dir. */
int pack_list_write(const char *packs_dir) FERRY_MUST_USE;

/* Parses a list, calling fn per pack; -EBADMSG on a malformed line. */
int pack_list_parse(const void *text, size_t n,
		    int (*fn)(const struct sha256 *name, uint64_t size, void *ctx),
		    void *ctx) FERRY_MUST_USE;

#endif
