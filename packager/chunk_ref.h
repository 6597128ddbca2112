/*
 * chunk_ref.h — one chunk as a file refers to it: its ID and both lengths.
 * Shared by the packer (which produces chunk lists) and the file pointer
 * format in manifests/ (which records them).
 */
#ifndef FERRY_PACKAGER_CHUNK_REF_H
#define FERRY_PACKAGER_CHUNK_REF_H

#include <stdint.h>

#include "core/crypto.h"

struct chunk_ref {
	struct sha256 id;
	uint32_t raw_len;
	uint32_t stored_len;
};

#endif
