/*
 * pack_run.h — turning a content folder into chunks in packs.
 *
 * pack_run() walks a folder in tree order, cuts every file into chunks,
 * names each by its SHA-256, skips chunks the repository already holds
 * (the chunk table) or that appeared earlier in the run, compresses the
 * rest and writes them into size-capped packs in tree order.  For every
 * file, in tree order, it reports size, whole-file SHA-256 and chunk list
 * through the file callback, from which the caller writes pointers.
 *
 * Both cores stay busy: the calling thread reads files, cuts chunks and
 * hashes whole files; worker threads hash chunks, look them up and
 * compress; the calling thread then writes finished chunks in order.  A
 * fixed ring of slots bounds memory (about 2 x max chunk size per slot)
 * whatever the folder's size.
 *
 * Nothing here is visible to readers of the repository until the caller
 * publishes a release naming the new packs: packs are complete, fsynced
 * files before pack_run() returns, and the chunk table is merged last.
 */
#ifndef FERRY_PACKAGER_PACK_RUN_H
#define FERRY_PACKAGER_PACK_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/crypto.h"
#include "core/err.h"
#include "packager/chunk_ref.h"
#include "packager/chunker.h"

struct pack_file {
	uint64_t size;
	struct sha256 hash;
	size_t nchunks;
	const struct chunk_ref *chunks; /* valid during the callback */
};

struct pack_stats {
	uint64_t files_total; /* from a first pass over the tree */
	uint64_t bytes_total;
	uint64_t files_done;
	uint64_t bytes_read;
	uint64_t chunks;        /* chunk references in the release */
	uint64_t chunks_new;    /* chunks written to new packs */
	uint64_t bytes_new_raw; /* their raw bytes */
	uint64_t bytes_stored;  /* their stored (compressed or raw) bytes */
	uint64_t chunks_raw;    /* new chunks stored uncompressed */
	uint64_t packs_new;
	uint64_t skipped;       /* entries left out (symlinks, devices, ...) */
	double seconds;
};

struct pack_run_opts {
	const char *src_dir;
	const char *packs_dir;  /* the repository's packs/ */
	const char *table_path; /* the repository's chunk table */
	struct chunker_params chunker;
	int level;              /* zstd level */
	uint64_t pack_max;      /* bytes per pack */
	unsigned workers;       /* compression threads; 0 = 2 */
	/* Called in tree order once per file.  < 0 stops the run. */
	int (*file)(const char *path, const struct pack_file *f, void *ctx);
	/* Called for each entry left out; < 0 stops the run (--strict). */
	int (*skip)(const char *path, const char *why, void *ctx);
	/* Called from the calling thread a few times a second, and at the end. */
	void (*progress)(const struct pack_stats *s, void *ctx);
	void *ctx;
};

struct pack_result {
	struct pack_stats stats;
	/* Every pack holding a chunk of the release (old and new), sorted. */
	struct sha256 *packs;
	size_t npacks;
	uint64_t packs_bytes; /* their total size, what a fresh school fetches */
	/* The packs this run wrote. */
	struct sha256 *new_packs;
	size_t nnew;
};

int pack_run(struct pack_result *out, const struct pack_run_opts *o) FERRY_MUST_USE;
void pack_result_release(struct pack_result *r);

#endif
