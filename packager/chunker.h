/*
 * chunker.h — content-defined chunking (FastCDC with normalized chunking).
 *
 * A file is cut where a rolling "gear" hash of the last bytes matches a
 * mask, so an insertion early in a file moves only the cuts near it and
 * every later chunk keeps its identity (and is not stored or sent again).
 *
 * FastCDC (Xia et al., USENIX ATC 2016) with normalization level nl: before
 * the average size the mask has log2(avg)+nl one-bits (cuts are rare),
 * after it log2(avg)-nl (cuts are likely), which pulls sizes towards the
 * average; nothing is cut before min, everything at max.  The parameters
 * and the gear table's seed are part of the repository format: two
 * publishers with the same parameters cut the same bytes the same way.
 * They are recorded in ferry.json (see docs/format.md).
 *
 * The cutter is a pure function over a buffer: the caller keeps at least
 * max bytes buffered (or everything up to end of file) and asks where the
 * next chunk ends.
 */
#ifndef FERRY_PACKAGER_CHUNKER_H
#define FERRY_PACKAGER_CHUNKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define CHUNKER_DEFAULT_MIN (16u << 10)
#define CHUNKER_DEFAULT_AVG (64u << 10)
#define CHUNKER_DEFAULT_MAX (256u << 10)
#define CHUNKER_DEFAULT_NORMALIZATION 2u
#define CHUNKER_DEFAULT_SEED UINT64_C(0x6665727279636463) /* "ferrycdc" */

struct chunker_params {
	uint32_t min;
	uint32_t avg; /* a power of two */
	uint32_t max;
	uint32_t normalization;
	uint64_t seed;
};

struct chunker {
	struct chunker_params p;
	uint64_t mask_small; /* used before avg: more bits, harder to match */
	uint64_t mask_large; /* used after avg: fewer bits */
	uint64_t gear[256];
};

/* The defaults of a new repository. */
void chunker_params_default(struct chunker_params *out);

/* Checks bounds (min >= 1 KiB, min < avg < max <= LIMIT_CHUNK_MAX, avg a
 * power of two, normalization <= 4) and builds the tables. -EINVAL with a
 * detail line if the parameters are unusable. */
int chunker_init(struct chunker *c, const struct chunker_params *p) FERRY_MUST_USE;

/* Length of the chunk that starts at p, given n buffered bytes.  Returns 0
 * when more data is needed to decide (n < max and !eof).  At eof the last
 * chunk may be shorter than min. */
size_t chunker_next(const struct chunker *c, const uint8_t *p, size_t n, bool eof);

#endif
